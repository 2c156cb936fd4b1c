//! The desk: check-outs and returns filled by the desk reader's scans, or
//! by asset numbers a keeper types when a tag will not read (手工录入); the
//! desk readers' health beside them, and the pick list of what to fetch.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DeskQuery {
    reader: Option<i64>,
    /// Unix ms: scans from this moment count (set when scanning starts).
    since: Option<i64>,
}

/// Reader 0: no reader at the desk, only typed entries.
const NO_READER: i64 = 0;

pub(super) struct DeskView {
    /// (EPC, asset, mark) — the mark says whether it fits, and "手工录入"
    /// for a typed entry.
    scans: Vec<(String, Option<i64>, String)>,
    matched: usize,
    extras: usize,
    shortfall: i64,
}

pub(super) async fn desk_view(
    st: &AppState,
    w: &Web,
    id: i64,
    reader: i64,
    since: i64,
) -> Result<DeskView, AppError> {
    let r = st.store.request(w.ctx.actor.clone(), id).await?;
    let entries = st.store.desk_entries(id, reader, since).await?;
    let typed = |epc: &str, mark: String| match entries
        .iter()
        .find(|e| e.epc == epc)
        .and_then(|e| e.entered_by.as_ref())
    {
        Some(_) => format!("{mark} · {}", w.t("manual_entry")),
        None => mark,
    };
    let epcs: Vec<(String, Option<i64>)> = entries
        .iter()
        .map(|e| (e.epc.clone(), e.asset_id))
        .collect();
    if r.stage == Stage::OnLoan {
        // Returns: which scanned items are out on this loan.
        let out: Vec<&crate::workflow::RequestItem> =
            r.items.iter().filter(|i| i.status == "received").collect();
        let mut scans = Vec::new();
        let mut matched = 0;
        for (epc, asset) in &epcs {
            let ok = asset.is_some_and(|a| out.iter().any(|i| i.asset_id == a));
            if ok {
                matched += 1;
            }
            scans.push((
                epc.clone(),
                *asset,
                typed(epc, if ok { "✓".into() } else { "—".into() }),
            ));
        }
        return Ok(DeskView {
            shortfall: out.len() as i64 - matched as i64,
            extras: scans.len() - matched,
            matched,
            scans,
        });
    }
    let dry = StepBody::CheckOut {
        epcs: epcs.iter().map(|(e, _)| e.clone()).collect(),
        dry_run: true,
        accept_shortfall: false,
        comment: None,
    };
    let out = if epcs.is_empty() {
        None
    } else {
        st.store.take_step(w.ctx.clone(), id, dry).await?.scan
    };
    let mut scans = Vec::new();
    let (mut matched, mut extras) = (0, 0);
    let shortfall = match &out {
        Some(m) => {
            for (epc, asset) in &epcs {
                let why = m
                    .extras
                    .iter()
                    .find(|x| &x.epc == epc)
                    .map(|x| words::extra_why(w.lang, &x.why));
                if why.is_none() {
                    matched += 1;
                } else {
                    extras += 1;
                }
                scans.push((
                    epc.clone(),
                    *asset,
                    typed(epc, why.unwrap_or_else(|| "✓".into())),
                ));
            }
            m.shortfall
        }
        None => r.quantity.unwrap_or(r.items.len() as i64),
    };
    Ok(DeskView {
        scans,
        matched,
        extras,
        shortfall,
    })
}

pub(super) async fn desk_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
) -> Response {
    desk_render(&st, &w, id, &q, None).await
}

/// Whether a reader is heard from: its daemon reports and the reader is
/// connected (reading or idle). Offline, refused or never heard: not.
fn reporting(s: crate::health::HealthStatus) -> bool {
    matches!(
        s,
        crate::health::HealthStatus::Ok | crate::health::HealthStatus::Stale
    )
}

/// The desk page; `typed` is an asset number just refused, shown again
/// in its box with the reason beside it.
async fn desk_render(
    st: &AppState,
    w: &Web,
    id: i64,
    q: &DeskQuery,
    typed: Option<(&str, &AppError)>,
) -> Response {
    let w = w.clone();
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let readers = tryp!(w, st.store.list_readers(1, 500).await).items;
    let desks: Vec<_> = readers
        .into_iter()
        .filter(|r| r.role == crate::register::ReaderRole::Desk)
        .collect();
    let health = if authorize(&w.ctx.actor, Action::ViewReaderHealth, Scope::Global).is_ok() {
        Some(tryp!(
            w,
            st.store
                .reader_health(
                    st.config.health_thresholds(),
                    Some(crate::register::ReaderRole::Desk)
                )
                .await
        ))
    } else {
        None
    };
    let status_of = |reader: i64| {
        health
            .as_ref()
            .and_then(|h| h.readers().find(|(_, r)| r.reader_id == reader))
            .map(|(_, r)| r.status)
    };
    let mut nq = NameQuery::default();
    ask_requests(&mut nq, std::slice::from_ref(&r));
    let names = tryp!(w, st.store.names(nq).await);
    let returning = r.stage == Stage::OnLoan;
    let pick = r.stage == Stage::Checkout
        && matches!(
            r.kind,
            RequestKind::Loan | RequestKind::Allocation | RequestKind::Purchase
        );
    let body = match (q.reader, q.since) {
        (Some(reader), Some(since)) => {
            let v = tryp!(w, desk_view(st, &w, id, reader, since).await);
            let events = format!("/requests/{id}/desk/events?reader={reader}&since={since}");
            let reader_name = desks
                .iter()
                .find(|d| d.id == reader)
                .map(|d| d.name.clone());
            // Counts that stay at 0 because nothing reports must say so.
            let silent = match (&reader_name, status_of(reader)) {
                (None, _) => Some(w.t("desk_no_reader_chosen").to_owned()),
                (Some(name), Some(s)) if !reporting(s) => Some(format!(
                    "{} {name}{}{}{}{}",
                    w.t("desk_reader"),
                    w.lang.colon(),
                    crate::http::web::health::status_word(w.lang, s),
                    w.lang.stop(),
                    w.t("desk_reader_silent")
                )),
                (Some(name), None) if health.is_some() => Some(format!(
                    "{} {name}{}{}{}{}",
                    w.t("desk_reader"),
                    w.lang.colon(),
                    w.t("health_never"),
                    w.lang.stop(),
                    w.t("desk_reader_silent")
                )),
                _ => None,
            };
            html! {
                @if let Some(msg) = &silent {
                    p.error role="alert" data-test="desk-silent" { (msg) }
                } @else {
                    p.hint { (w.t("live_hint")) }
                }
                section.cards.desk-counts data-live=(events) data-test="desk-counts" {
                    div.card { strong data-live-key="scanned" data-test="scanned" { (v.scans.len()) } span { (w.t("scanned")) } }
                    div.card { strong data-live-key="matched" data-test="matched" { (v.matched) } span { (w.t("matched")) } }
                    div.card { strong data-live-key="extras" { (v.extras) } span { (w.t("extras")) } }
                    div.card { strong data-live-key="shortfall" data-test="shortfall" { (v.shortfall) } span { (w.t("shortfall")) } }
                }
                (manual_form(&w, id, reader, since, typed))
                @if returning {
                    form.stack method="post" action=(format!("/requests/{id}/desk/return")) {
                        (csrf_field(&w))
                        input type="hidden" name="reader" value=(reader);
                        input type="hidden" name="since" value=(since);
                        table { tbody data-live-rows data-conditions=(format!("good:{},worn:{},damaged:{}", w.tv("good"), w.tv("worn"), w.tv("damaged"))) {
                            @for (epc, asset, mark) in &v.scans {
                                tr {
                                    td.mono { (epc) } td { (mark) }
                                    td { @if let Some(a) = asset {
                                        select name=(format!("condition_{a}")) data-test=(format!("condition-{a}")) {
                                            @for c in ["good", "worn", "damaged"] { option value=(c) { (w.tv(c)) } }
                                        }
                                    } }
                                }
                            }
                        } }
                        button type="submit" data-test="record-returns" { (w.t("return_items")) }
                    }
                } @else {
                    form method="post" action=(format!("/requests/{id}/desk/check-out")) {
                        (csrf_field(&w))
                        input type="hidden" name="reader" value=(reader);
                        input type="hidden" name="since" value=(since);
                        label { input type="checkbox" name="accept_shortfall" value="1"; (w.t("accept_shortfall")) }
                        button type="submit" data-test="check-out" { (w.t("check_out")) }
                    }
                    div.scroll { table { tbody data-live-rows {
                        @for (epc, _, mark) in &v.scans { tr { td.mono { (epc) } td { (mark) } } }
                    } } }
                }
            }
        }
        _ => html! {
            @if desks.is_empty() {
                p.notice role="note" data-test="no-desk-reader" { (w.t("no_desk_reader")) }
            }
            form.stack method="get" action=(format!("/requests/{id}/desk")) {
                label { (w.t("desk_reader"))
                    select name="reader" {
                        @for d in &desks {
                            @let s = status_of(d.id);
                            option value=(d.id) {
                                (d.name)
                                @if let Some(s) = s { (w.lang.parens(crate::http::web::health::status_word(w.lang, s))) }
                            }
                        }
                        option value=(NO_READER) { (w.t("desk_manual_only")) }
                    }
                }
                input type="hidden" name="since" value=(crate::time::now_ms());
                button type="submit" data-test="start-scan" { (w.t("start_scan")) }
            }
        },
    };
    let body = html! {
        @if pick {
            p { a href=(format!("/requests/{id}/pick-list")) data-test="pick-list-link" { (w.t("pick_list")) } }
        }
        (body)
        // Each line's progress: how many are out and back of how many asked.
        (super::requests::lines_table(&w, &names, &r))
        @if let Some(h) = &health {
            (crate::http::web::health::reader_health_panel(&w, h, Some(crate::register::ReaderRole::Desk)))
        }
    };
    let title = if returning {
        w.t("desk_return")
    } else {
        w.t("desk")
    };
    let resp = layout(
        &w,
        &format!("{} · {}", title, words::request_title(w.lang, r.kind, r.id)),
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

/// The typed-entry box (手工录入): an asset number from the register when
/// its tag will not read.
fn manual_form(
    w: &Web,
    id: i64,
    reader: i64,
    since: i64,
    typed: Option<(&str, &AppError)>,
) -> Markup {
    html! {
        form.manual-entry method="post" action=(format!("/requests/{id}/desk/manual")) data-test="manual-entry" {
            (csrf_field(w))
            input type="hidden" name="reader" value=(reader);
            input type="hidden" name="since" value=(since);
            label { (w.t("manual_entry_label")) " "
                input name="asset_number" required autocomplete="off" inputmode="text"
                    value=(typed.map_or("", |t| t.0)) placeholder=(w.t("asset_number"));
            }
            " " button type="submit" data-test="manual-submit" { (w.t("manual_entry_submit")) }
            (field_error(w.lang, typed.map(|t| t.1), "asset_number"))
            (form_error(w.lang, typed.map(|t| t.1), &["asset_number"]))
        }
    }
}

/// A typed asset number at the desk: recorded for this request (and
/// chained), then the desk page again; refused numbers come back in the
/// box with the reason.
pub(super) async fn desk_manual(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(NO_READER);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let typed = f.get("asset_number").cloned().unwrap_or_default();
    match st
        .store
        .desk_manual_entry(w.ctx.clone(), id, typed.clone())
        .await
    {
        Ok(_) => see_other_with(
            &format!("/requests/{id}/desk?reader={reader}&since={since}"),
            Done::Entered,
        ),
        Err(e) if e.field.as_deref() == Some("asset_number") => {
            let q = DeskQuery {
                reader: Some(reader),
                since: Some(since),
            };
            desk_render(&st, &w, id, &q, Some((&typed, &e))).await
        }
        Err(e) => fail(&w, e),
    }
}

/// The pick list (拣货单): what to fetch from which shelf for a request
/// waiting at the desk; printable.
pub(super) async fn pick_list(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let p = tryp!(w, st.store.pick_list(w.ctx.actor.clone(), id).await);
    let at_desk = r.stage == Stage::Checkout;
    let body = html! {
        p.no-print {
            a href=(format!("/requests/{id}")) { "← " (w.t("request")) " #" (id) }
            @if at_desk { " · " a href=(format!("/requests/{id}/desk")) { (w.t("desk")) } }
            " · " button.link type="button" data-print { (w.t("print")) }
        }
        @if !at_desk {
            p.notice role="note" data-test="pick-not-at-desk" { (w.t("pick_not_at_desk")) }
        }
        p data-test="pick-needed" {
            (w.t("pick_needed")) " " strong { (p.needed) } " " (w.t("pieces"))
            @if !p.named { " · " (w.t("pick_suggested")) }
        }
        @if (p.lines.len() as i64) < p.needed {
            p.error role="alert" data-test="pick-short" {
                (w.t("pick_short").replace("{n}", &p.lines.len().to_string()))
            }
        }
        @if p.lines.is_empty() { p.empty { (w.t("empty")) } } @else {
            table.pick-list data-test="pick-list" {
                thead { tr {
                    th { (w.t("location")) } th { (w.t("asset_number")) } th { (w.t("name")) }
                    th { (w.t("model")) } th { (w.t("epc")) } th.check { "✓" }
                } }
                tbody {
                    @for l in &p.lines {
                        tr data-asset=(l.asset_id) {
                            td data-test="pick-location" {
                                @if let Some(code) = &l.location_code { strong { (code) } " " }
                                (l.location_name.clone().unwrap_or_default())
                                @if let Some(wh) = &l.warehouse { br; span.hint { (wh) } }
                            }
                            td { a href=(format!("/assets/{}", l.asset_id)) { (l.asset_number) } }
                            td { (l.name) }
                            td { (l.model.clone().unwrap_or_default()) }
                            td.mono { @match &l.epc { Some(e) => { (e) }, None => { (no_tag_badge(&w, l.asset_id)) } } }
                            td.check { "☐" }
                        }
                    }
                }
            }
        }
    };
    layout(
        &w,
        &format!(
            "{} · {}",
            w.t("pick_list"),
            words::request_title(w.lang, r.kind, r.id)
        ),
        body,
    )
}

/// Live desk counts: one event per second with the current view.
pub(super) async fn desk_events(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    live: LiveSlot,
) -> Response {
    let (Some(reader), Some(since)) = (q.reader, q.since) else {
        return fail(
            &w,
            required(if q.reader.is_none() {
                "reader"
            } else {
                "since"
            }),
        );
    };
    let stream = futures_util::stream::unfold((st, w), move |(st, w)| async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let data = match desk_view(&st, &w, id, reader, since).await {
            Ok(v) => json!({
                "scanned": v.scans.len(), "matched": v.matched, "extras": v.extras,
                "shortfall": v.shortfall,
                "rows": v.scans.iter().map(|(e, a, m)| json!([e, m, a])).collect::<Vec<Value>>(),
            }),
            Err(e) => json!({ "error": e.text(w.lang) }),
        };
        let ev = Event::default().event("counts").data(data.to_string());
        Some((Ok::<_, Infallible>(ev), (st, w)))
    });
    Sse::new(live.bind(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

pub(super) async fn desk_check_out(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let entries = tryp!(w, st.store.desk_entries(id, reader, since).await);
    let step = StepBody::CheckOut {
        epcs: entries.into_iter().map(|e| e.epc).collect(),
        dry_run: false,
        accept_shortfall: f.contains_key("accept_shortfall"),
        comment: None,
    };
    let out_count =
        |o: &crate::workflow::StepOutcome| o.scan.as_ref().map_or(0, |s| s.matched.len() as i64);
    match st.store.take_step(w.ctx.clone(), id, step).await {
        Ok(out) if out.request.stage == Stage::Checkout => see_other_with(
            &format!(
                "/requests/{id}/desk?reader={reader}&since={}",
                crate::time::now_ms()
            ),
            Done::CheckedOut(out_count(&out)),
        ),
        Ok(out) => see_other_with(
            &format!("/requests/{id}"),
            Done::CheckedOut(out_count(&out)),
        ),
        Err(e) => fail(&w, e),
    }
}

pub(super) async fn desk_return(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let scans = tryp!(w, st.store.desk_entries(id, reader, since).await);
    let items: Vec<Value> = scans
        .iter()
        .filter_map(|e| e.asset_id)
        .filter(|a| {
            r.items
                .iter()
                .any(|i| i.asset_id == *a && i.status == "received")
        })
        .map(|a| {
            let c = f
                .get(&format!("condition_{a}"))
                .cloned()
                .unwrap_or_else(|| "good".into());
            json!({"asset_id": a, "condition": c})
        })
        .collect();
    if items.is_empty() {
        return fail(&w, Reason::NothingScanned.into());
    }
    let step: StepBody = tryp!(
        w,
        serde_json::from_value(json!({"action": "return_items", "items": items}))
            .map_err(|e| not_understood("items", e))
    );
    tryp!(w, st.store.take_step(w.ctx.clone(), id, step).await);
    see_other_with(
        &format!("/requests/{id}"),
        Done::Returned(items.len() as i64),
    )
}
