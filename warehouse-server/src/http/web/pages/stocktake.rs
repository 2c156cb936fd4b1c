//! Stock-takes: the list, one stock-take live, opening, resolving lines, closing.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct StockTakeFilter {
    q: Option<String>,
    page: Option<i64>,
}

pub(super) async fn stocktakes(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<StockTakeFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let page = tryp!(
        w,
        st.store
            .search_stocktakes(f.q.clone(), f.page.unwrap_or(1), 50)
            .await
    );
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse).is_ok();
    let warehouses = tryp!(w, st.store.list_warehouses(1, 100).await).items;
    let mut locations = Vec::new();
    for wh in &warehouses {
        for l in tryp!(w, st.store.list_locations(wh.id, 1, 500).await).items {
            locations.push((wh.name.clone(), l));
        }
    }
    let handhelds: Vec<_> = tryp!(w, st.store.list_readers(1, 500).await)
        .items
        .into_iter()
        .filter(|r| r.role == crate::register::ReaderRole::Handheld)
        .collect();
    let mut q = NameQuery::default();
    for s in &page.items {
        words::ask_who(&mut q, &s.opened_by);
    }
    let names = tryp!(w, st.store.names(q).await);
    let body = html! {
        @if can_run {
            form.stack method="post" action="/stocktakes" {
                (csrf_field(&w))
                label { (w.t("warehouses")) select name="warehouse_id" { @for wh in &warehouses { option value=(wh.id) { (wh.name) } } } }
                label { (w.t("location"))
                    select name="location_id" {
                        option value="" { (w.t("all")) }
                        @for (wh, l) in &locations { option value=(l.id) { (wh) " · " (l.code) " " (l.name) } }
                    }
                }
                fieldset { legend { (w.t("readers")) }
                    @for r in &handhelds { label { input type="checkbox" name="reader_id" value=(r.id) checked; (r.name) } }
                }
                button type="submit" data-test="open-stocktake" { (w.t("open_stocktake")) }
            }
        }
        (search_box(&w, "/stocktakes", f.q.as_deref(), w.t("search_stocktakes"), &[]))
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table {
                thead { tr { th { (w.t("warehouses")) } th { (w.t("state")) } th { (w.t("opened_at")) } th { (w.t("opened_by")) } } }
                tbody {
                @for s in &page.items {
                    @let wh = warehouses.iter().find(|x| x.id == s.warehouse_id).map_or(String::new(), |x| x.name.clone());
                    @let loc = s.location_id.and_then(|id| locations.iter().find(|(_, l)| l.id == id)).map(|(_, l)| format!(" · {} {}", l.code, l.name));
                    tr {
                        td { a href=(format!("/stocktakes/{}", s.id)) { (wh) (loc.unwrap_or_default()) } }
                        td { (w.tv(&s.status)) } td { (when(&s.opened_at)) }
                        td { (words::person(w.lang, &names, &s.opened_by)) }
                    }
                }
            } } }
        }
        (pager(&w, &page, |p| list_url("/stocktakes", &[("q", f.q.as_deref())], p)))
    };
    layout(&w, w.t("stocktakes"), body)
}

pub(super) async fn stocktake_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let r = tryp!(
        w,
        st.store
            .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
            .await
    );
    let c = &r.counts;
    let open = r.stocktake.status == "open";
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse).is_ok();
    // The differences a keeper settles: missing, misplaced, foreign (first 100 each).
    let mut lines = Vec::new();
    if open && can_run {
        for outcome in [
            crate::stocktake::Outcome::Missing,
            crate::stocktake::Outcome::Misplaced,
            crate::stocktake::Outcome::Foreign,
        ] {
            let part = tryp!(
                w,
                st.store
                    .stocktake_reconciliation(
                        id,
                        LineQuery {
                            outcome: Some(outcome),
                            page: Some((1, 100)),
                        },
                    )
                    .await
            );
            lines.extend(part.lines);
        }
    }
    let body = html! {
        p.hint { (w.t("live_hint")) }
        section.cards data-live=(format!("/stocktakes/{id}/events")) {
            div.card { strong data-live-key="expected" { (c.expected) } span { (w.t("expected")) } }
            div.card { strong data-live-key="found" data-test="found" { (c.found) } span { (w.t("found")) } }
            div.card { strong data-live-key="missing" { (c.missing) } span { (w.t("missing")) } }
            div.card { strong data-live-key="misplaced" { (c.misplaced) } span { (w.t("misplaced")) } }
            div.card { strong data-live-key="foreign" { (c.foreign) } span { (w.t("foreign")) } }
        }
        progress max=(c.expected.max(1)) value=(c.found) data-live-progress {}
        p { a href=(format!("/api/v1/stocktakes/{id}/report.csv")) { (w.t("export_csv")) } }
        @if open && can_run {
            h2 { (w.t("differences")) }
            @if lines.is_empty() { p.empty { (w.t("empty")) } } @else {
                table { tbody {
                    @for l in &lines {
                        tr {
                            td { (w.t(l.outcome.as_str())) }
                            td { (l.asset_number.clone().unwrap_or_default()) " " (l.name.clone().unwrap_or_default()) }
                            td.mono { (l.epc.clone().unwrap_or_default()) }
                            td {
                                @if let Some(res) = &l.resolution {
                                    (w.t(res.action.as_str())) @if let Some(c) = &res.comment { " — " (c) }
                                } @else {
                                    form.inline method="post" action=(format!("/stocktakes/{id}/resolve")) {
                                        (csrf_field(&w))
                                        @if let Some(a) = l.asset_id { input type="hidden" name="asset_id" value=(a); }
                                        @else { input type="hidden" name="epc" value=(l.epc.clone().unwrap_or_default()); }
                                        select name="action" {
                                            @for act in [crate::stocktake::ResolutionAction::Relocate, crate::stocktake::ResolutionAction::MarkMissing, crate::stocktake::ResolutionAction::Ignore] {
                                                @if crate::stocktake::applies_to(act, l.outcome) { option value=(act.as_str()) { (w.t(act.as_str())) } }
                                            }
                                        }
                                        input name="comment" placeholder=(w.t("comment"));
                                        button type="submit" { (w.t("resolve")) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            form method="post" action=(format!("/stocktakes/{id}/close")) data-confirm=(w.t("confirm_delete")) {
                (csrf_field(&w))
                button.danger type="submit" data-test="close-stocktake" { (w.t("close_stocktake")) }
            }
        }
    };
    layout(
        &w,
        &format!(
            "{} · {}",
            w.t("stocktakes"),
            w.t("request_no").replace("{n}", &id.to_string())
        ),
        body,
    )
}

pub(super) async fn stocktake_events(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    live: LiveSlot,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let stream = futures_util::stream::unfold(st, move |st| async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let data = match st
            .store
            .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
            .await
        {
            Ok(r) => json!({
                "expected": r.counts.expected, "found": r.counts.found, "missing": r.counts.missing,
                "misplaced": r.counts.misplaced, "foreign": r.counts.foreign,
            }),
            Err(e) => json!({ "error": e.text(w.lang) }),
        };
        let ev = Event::default().event("counts").data(data.to_string());
        Some((Ok::<_, Infallible>(ev), st))
    });
    Sse::new(live.bind(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

pub(super) async fn stocktake_open(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let f: Form = pairs.iter().cloned().collect();
    let warehouse = tryp!(w, get_i64(&f, "warehouse_id"));
    let Some(warehouse_id) = warehouse else {
        return fail(&w, required("warehouse_id"));
    };
    let mut reader_ids = Vec::new();
    for (k, v) in &pairs {
        if k == "reader_id" {
            reader_ids.push(tryp!(
                w,
                v.parse::<i64>().map_err(|_| AppError::from(Reason::BadId {
                    field: "reader_id".into(),
                    value: v.clone(),
                }))
            ));
        }
    }
    let new = crate::stocktake::NewStockTake {
        warehouse_id,
        location_id: tryp!(w, get_i64(&f, "location_id")),
        reader_ids,
    };
    let opened = tryp!(w, st.store.open_stocktake(w.ctx.clone(), new).await);
    see_other_with(&format!("/stocktakes/{}", opened.id), Done::StocktakeOpened)
}

pub(super) async fn stocktake_resolve(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    let f = form(&body);
    let Some(action) = text(&f, "action")
        .as_deref()
        .and_then(crate::stocktake::ResolutionAction::parse)
    else {
        return fail(&w, required("action"));
    };
    let r = crate::stocktake::NewResolution {
        asset_id: tryp!(w, get_i64(&f, "asset_id")),
        epc: text(&f, "epc"),
        action,
        comment: text(&f, "comment"),
    };
    tryp!(
        w,
        st.store.resolve_stocktake_line(w.ctx.clone(), id, r).await
    );
    see_other_with(&format!("/stocktakes/{id}"), Done::Resolved)
}

pub(super) async fn stocktake_close(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    tryp!(w, st.store.close_stocktake(w.ctx.clone(), id).await);
    see_other_with(&format!("/stocktakes/{id}"), Done::StocktakeClosed)
}
