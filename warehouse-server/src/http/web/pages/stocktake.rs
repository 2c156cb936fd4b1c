//! Stock-takes: the list, one stock-take live (counts and the differences
//! list both follow the handheld's reads), typed entries (手工录入),
//! opening, resolving lines, closing.

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
    // A unit's staff see their own unit's inspections only.
    let unit = tryp!(w, crate::policy::stocktakes_listed(&w.ctx.actor));
    let page = tryp!(
        w,
        st.store
            .search_stocktakes(f.q.clone(), unit, f.page.unwrap_or(1), 50)
            .await
    );
    let units = tryp!(w, st.store.list_units(1, 500).await).items;
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse).is_ok();
    // The warehouses this person may count: those of the regions in reach.
    let reach = crate::policy::regions_in_reach(&w.ctx.actor);
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let warehouses: Vec<_> = tryp!(w, st.store.list_warehouses(1, 100).await)
        .items
        .into_iter()
        .filter(|wh| match &reach {
            None => true,
            Some(r) => wh.region_id.is_some_and(|id| r.contains(&id)),
        })
        .collect();
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
                label { (w.t("warehouses")) select name="warehouse_id" { @for wh in &warehouses { option value=(wh.id) {
                    (wh.name) @if wh.region_id.is_some() { " · " (region_name(&regions, wh.region_id)) }
                } } } }
                label { (w.t("inspect_unit"))
                    select name="unit_id" data-test="inspect-unit" {
                        option value="" { (w.t("none_warehouse_stocktake")) }
                        @for u in &units { option value=(u.id) { (u.name) } }
                    }
                }
                label { (w.t("location"))
                    select name="location_id" {
                        option value="" { (w.t("all")) }
                        @for (wh, l) in &locations { option value=(l.id) { (wh) " · " (l.code) " " (l.name) } }
                    }
                }
                fieldset { legend { (w.t("readers")) }
                    @for r in &handhelds { label { input type="checkbox" name="reader_id" value=(r.id) checked; (r.name) } }
                    @if handhelds.is_empty() {
                        p.hint data-test="no-handheld" {
                            (w.t("no_handheld"))
                            @if w.role == Role::Administrator { " " a href="/admin" { (w.t("admin")) } }
                        }
                    }
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
                    @let wh = match s.unit_id {
                        Some(u) => format!("{} · {}", w.t("inspection"), units.iter().find(|x| x.id == u).map_or(String::new(), |x| x.name.clone())),
                        None => warehouses.iter().find(|x| Some(x.id) == s.warehouse_id).map_or(String::new(), |x| x.name.clone()),
                    };
                    @let loc = s.location_id.and_then(|id| locations.iter().find(|(_, l)| l.id == id)).map(|(_, l)| format!(" · {} {}", l.code, l.name));
                    tr {
                        td { a href=(format!("/stocktakes/{}", s.id)) { (wh) (loc.unwrap_or_default()) } }
                        td { @if s.awaiting_confirmation { (w.t("awaiting_unit_confirmation")) } @else { (w.tv(&s.status)) } }
                        td { (when(&s.opened_at)) }
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
    stocktake_render(&st, &w, id, None).await
}

/// The differences a keeper settles: missing, misplaced, foreign (first
/// 100 each), as the live list shows them.
async fn difference_lines(st: &AppState, id: i64) -> Result<Vec<crate::stocktake::Line>, AppError> {
    let mut lines = Vec::new();
    for outcome in [
        crate::stocktake::Outcome::Missing,
        crate::stocktake::Outcome::Misplaced,
        crate::stocktake::Outcome::Foreign,
    ] {
        let part = st
            .store
            .stocktake_reconciliation(
                id,
                LineQuery {
                    outcome: Some(outcome),
                    page: Some((1, 100)),
                },
            )
            .await?;
        lines.extend(part.lines);
    }
    Ok(lines)
}

/// The differences list's rows, keyed by line (`data-line`): the page
/// renders them and the live stream sends them again when the counts
/// change, so a line the handheld has just found leaves the list (the
/// script keeps rows still there, with anything typed into them).
fn difference_rows(w: &Web, id: i64, lines: &[crate::stocktake::Line]) -> Markup {
    use crate::stocktake::ResolutionAction as A;
    html! {
        @for l in lines {
            tr data-line=(crate::stocktake::subject(l)) data-outcome=(l.outcome.as_str()) {
                td { (w.t(l.outcome.as_str())) }
                td {
                    (l.asset_number.clone().unwrap_or_default()) " " (l.name.clone().unwrap_or_default())
                    @if l.entered_by.is_some() { " " span.badge.manual { (w.t("manual_entry")) } }
                    @if l.other_region { " " span.badge.s-lost data-test="other-region" { (w.t("other_region")) } }
                }
                td.mono { (l.epc.clone().unwrap_or_default()) }
                td {
                    @if let Some(res) = &l.resolution {
                        (w.t(res.action.as_str())) @if let Some(c) = &res.comment { " — " (c) }
                    } @else {
                        form.inline method="post" action=(format!("/stocktakes/{id}/resolve")) {
                            (csrf_field(w))
                            @if let Some(a) = l.asset_id { input type="hidden" name="asset_id" value=(a); }
                            @else { input type="hidden" name="epc" value=(l.epc.clone().unwrap_or_default()); }
                            select name="action" {
                                @for act in [A::Relocate, A::MarkMissing, A::Ignore] {
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
    }
}

/// The live page; `typed` is an asset number just refused, shown again in
/// its box with the reason beside it.
async fn stocktake_render(
    st: &AppState,
    w: &Web,
    id: i64,
    typed: Option<(&str, &AppError)>,
) -> Response {
    let w = w.clone();
    let scope = tryp!(w, st.store.stocktake_scope(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::ViewStockTake, scope));
    let r = tryp!(
        w,
        st.store
            .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
            .await
    );
    let c = &r.counts;
    let open = r.stocktake.status == "open";
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, scope).is_ok();
    let can_confirm = r.stocktake.awaiting_confirmation
        && authorize(&w.ctx.actor, Action::ConfirmInspection, scope).is_ok();
    let lines = if open && can_run {
        tryp!(w, difference_lines(st, id).await)
    } else {
        Vec::new()
    };
    let typed_entries = if open {
        tryp!(w, st.store.stocktake_manual_entries(id).await)
    } else {
        Vec::new()
    };
    let health = if authorize(&w.ctx.actor, Action::ViewReaderHealth, Scope::Global).is_ok() {
        Some(tryp!(
            w,
            st.store
                .reader_health(
                    st.config.health_thresholds(),
                    Some(crate::register::ReaderRole::Handheld)
                )
                .await
        ))
    } else {
        None
    };
    let inspection = inspection_panel(&w, &r.stocktake, can_confirm);
    let body = html! {
        (inspection)
        p.hint { (w.t("live_hint")) }
        section.cards data-live=(format!("/stocktakes/{id}/events")) data-test="stocktake-counts" {
            div.card { strong data-live-key="expected" { (c.expected) } span { (w.t("expected")) } }
            div.card { strong data-live-key="found" data-test="found" { (c.found) } span { (w.t("found")) } }
            div.card { strong data-live-key="missing" data-test="missing" { (c.missing) } span { (w.t("missing")) } }
            div.card { strong data-live-key="misplaced" { (c.misplaced) } span { (w.t("misplaced")) } }
            div.card { strong data-live-key="foreign" { (c.foreign) } span { (w.t("foreign")) } }
        }
        progress max=(c.expected.max(1)) value=(c.found) data-live-progress {}
        @if open && can_run {
            form.manual-entry method="post" action=(format!("/stocktakes/{id}/manual")) data-test="manual-entry" {
                (csrf_field(&w))
                label { (w.t("manual_entry_label")) " "
                    input name="asset_number" required autocomplete="off"
                        value=(typed.map_or("", |t| t.0)) placeholder=(w.t("asset_number"));
                }
                " " button type="submit" data-test="manual-submit" { (w.t("manual_entry_submit")) }
                (field_error(w.lang, typed.map(|t| t.1), "asset_number"))
                (form_error(w.lang, typed.map(|t| t.1), &["asset_number"]))
            }
        }
        p { a href=(format!("/api/v1/stocktakes/{id}/report.csv")) { (w.t("export_csv")) } }
        @if open && can_run {
            h2 { (w.t("differences")) }
            p.empty data-live-empty hidden[!lines.is_empty()] { (w.t("no_differences")) }
            div.scroll { table.differences { tbody data-live-lines data-test="differences" {
                (difference_rows(&w, id, &lines))
            } } }
        }
        @if !typed_entries.is_empty() {
            h2 { (w.t("manual_entries")) }
            div.scroll { table data-test="manual-entries" {
                thead { tr { th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("entered_by")) } th { (w.t("entered_at")) } } }
                tbody {
                    @for e in &typed_entries {
                        tr {
                            td { (e.asset_number) " " span.badge.manual { (w.t("manual_entry")) } }
                            td { (e.name) }
                            td { (e.entered_by.split_once(':').map_or(e.entered_by.as_str(), |(_, n)| n)) }
                            td { (when(&e.at)) }
                        }
                    }
                }
            } }
        }
        @if let Some(h) = &health {
            (crate::http::web::health::reader_health_panel(&w, h, Some(crate::register::ReaderRole::Handheld)))
            @if h.readers().next().is_none() {
                p.hint data-test="no-handheld" { (w.t("no_handheld")) }
            }
        }
        @if open && can_run {
            form method="post" action=(format!("/stocktakes/{id}/close")) data-confirm=(w.t("confirm_delete")) {
                (csrf_field(&w))
                button.danger type="submit" data-test="close-stocktake" { (w.t("close_stocktake")) }
            }
        }
    };
    let resp = layout(
        &w,
        &format!(
            "{} · {}",
            w.t("stocktakes"),
            w.t("request_no").replace("{n}", &id.to_string())
        ),
        body,
    );
    match typed {
        Some((_, e)) => {
            let mut resp = resp;
            *resp.status_mut() = crate::http::error::status_of(e.kind);
            resp
        }
        None => resp,
    }
}

/// Live counts every 0.7 s; the differences rows (`lines`) again whenever
/// the counts change, for those who settle them.
pub(super) async fn stocktake_events(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    live: LiveSlot,
) -> Response {
    // A stock-take that cannot be read is warehouse work: the stream says
    // why in its events, as it does when one goes away while watched.
    let scope = st
        .store
        .stocktake_scope(id)
        .await
        .unwrap_or(Scope::Warehouse);
    tryp!(w, authorize(&w.ctx.actor, Action::ViewStockTake, scope));
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, scope).is_ok();
    let last: Option<crate::stocktake::Counts> = None;
    let stream = futures_util::stream::unfold((st, last), move |(st, last)| {
        let w = w.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let mut seen = last;
            let data = match st
                .store
                .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
                .await
            {
                Ok(r) => {
                    let mut data = json!({
                        "expected": r.counts.expected, "found": r.counts.found,
                        "missing": r.counts.missing, "misplaced": r.counts.misplaced,
                        "foreign": r.counts.foreign,
                    });
                    let open = r.stocktake.status == "open";
                    if can_run && open && last != Some(r.counts) {
                        match difference_lines(&st, id).await {
                            Ok(lines) => {
                                data["lines"] =
                                    json!(difference_rows(&w, id, &lines).into_string());
                                data["lines_count"] = json!(lines.len());
                                seen = Some(r.counts);
                            }
                            Err(e) => data = json!({ "error": e.text(w.lang) }),
                        }
                    }
                    data
                }
                Err(e) => json!({ "error": e.text(w.lang) }),
            };
            let ev = Event::default().event("counts").data(data.to_string());
            Some((Ok::<_, Infallible>(ev), (st, seen)))
        }
    });
    Sse::new(live.bind(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// A typed asset number in a stock-take: counted as a read (and chained),
/// then the page again; a refused number comes back in its box.
pub(super) async fn stocktake_manual(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let scope = tryp!(w, st.store.stocktake_scope(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::RunStockTake, scope));
    let f = form(&body);
    let typed = f.get("asset_number").cloned().unwrap_or_default();
    match st
        .store
        .stocktake_manual_entry(w.ctx.clone(), id, typed.clone())
        .await
    {
        Ok(_) => see_other_with(&format!("/stocktakes/{id}"), Done::Entered),
        Err(e) if e.field.as_deref() == Some("asset_number") => {
            stocktake_render(&st, &w, id, Some((&typed, &e))).await
        }
        Err(e) => fail(&w, e),
    }
}

pub(super) async fn stocktake_open(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let f: Form = pairs.iter().cloned().collect();
    // A unit chosen makes it an inspection at the unit's premises (巡检).
    let unit_id = tryp!(w, get_i64(&f, "unit_id"));
    let warehouse_id = match unit_id {
        Some(_) => None,
        None => match tryp!(w, get_i64(&f, "warehouse_id")) {
            Some(id) => Some(id),
            None => return fail(&w, required("warehouse_id")),
        },
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
        unit_id,
        location_id: match unit_id {
            Some(_) => None,
            None => tryp!(w, get_i64(&f, "location_id")),
        },
        reader_ids,
    };
    let opened = tryp!(w, st.store.open_stocktake(w.ctx.clone(), new).await);
    see_other_with(&format!("/stocktakes/{}", opened.id), Done::StocktakeOpened)
}

pub(super) async fn stocktake_resolve(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let scope = tryp!(w, st.store.stocktake_scope(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::RunStockTake, scope));
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
    let scope = tryp!(w, st.store.stocktake_scope(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::RunStockTake, scope));
    tryp!(w, st.store.close_stocktake(w.ctx.clone(), id).await);
    see_other_with(&format!("/stocktakes/{id}"), Done::StocktakeClosed)
}

/// An inspection's head: the unit, where its result stands (open,
/// awaiting the unit's confirmation, confirmed by whom and when, with the
/// remark) and, for the unit's staff, the confirmation form.
fn inspection_panel(w: &Web, s: &crate::stocktake::StockTake, can_confirm: bool) -> Markup {
    let Some(_) = s.unit_id else {
        return html! {};
    };
    html! {
        section.inspection data-test="inspection" {
            p {
                strong { (w.t("inspection")) } " · "
                @if s.awaiting_confirmation {
                    span data-test="inspection-state" { (w.t("awaiting_unit_confirmation")) }
                } @else if let (Some(by), Some(at)) = (&s.confirmed_by, &s.confirmed_at) {
                    span data-test="inspection-state" {
                        (w.t("unit_confirmed")) " · "
                        (by.split_once(':').map_or(by.as_str(), |(_, n)| n)) " · " (when(at))
                    }
                    @if let Some(r) = &s.confirm_remark { " — " (r) }
                } @else {
                    span data-test="inspection-state" { (w.tv(&s.status)) }
                }
            }
            @if can_confirm {
                form.stack method="post" action=(format!("/stocktakes/{}/confirm", s.id)) {
                    (csrf_field(w))
                    label { (w.t("remark")) input name="remark" maxlength="1000"; }
                    button type="submit" data-test="confirm-inspection" { (w.t("confirm_inspection")) }
                }
            }
        }
    }
}

/// The unit's staff confirm a closed inspection's result.
pub(super) async fn stocktake_confirm(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let c = crate::stocktake::Confirmation {
        remark: text(&f, "remark"),
    };
    tryp!(w, st.store.confirm_inspection(w.ctx.clone(), id, c).await);
    see_other_with(&format!("/stocktakes/{id}"), Done::Saved)
}
