//! The desk: check-outs and returns filled by the desk reader's scans.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DeskQuery {
    reader: Option<i64>,
    /// Unix ms: scans from this moment count (set when scanning starts).
    since: Option<i64>,
}

pub(super) struct DeskView {
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
    let epcs = st.store.desk_scans(reader, since).await?;
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
                if ok { "✓".into() } else { "—".into() },
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
                    .map(|x| x.reason.clone());
                if why.is_none() {
                    matched += 1;
                } else {
                    extras += 1;
                }
                scans.push((epc.clone(), *asset, why.unwrap_or_else(|| "✓".into())));
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
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let readers = tryp!(w, st.store.list_readers(1, 500).await).items;
    let desks: Vec<_> = readers
        .into_iter()
        .filter(|r| r.role == crate::register::ReaderRole::Desk)
        .collect();
    let returning = r.stage == Stage::OnLoan;
    let body = match (q.reader, q.since) {
        (Some(reader), Some(since)) => {
            let v = tryp!(w, desk_view(&st, &w, id, reader, since).await);
            let events = format!("/requests/{id}/desk/events?reader={reader}&since={since}");
            html! {
                p.hint { (w.t("live_hint")) }
                section.cards data-live=(events) {
                    div.card { strong data-live-key="scanned" data-test="scanned" { (v.scans.len()) } span { (w.t("scanned")) } }
                    div.card { strong data-live-key="matched" data-test="matched" { (v.matched) } span { (w.t("matched")) } }
                    div.card { strong data-live-key="extras" { (v.extras) } span { (w.t("extras")) } }
                    div.card { strong data-live-key="shortfall" data-test="shortfall" { (v.shortfall) } span { (w.t("shortfall")) } }
                }
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
                    table { tbody data-live-rows {
                        @for (epc, _, mark) in &v.scans { tr { td.mono { (epc) } td { (mark) } } }
                    } }
                }
            }
        }
        _ => html! {
            form.stack method="get" action=(format!("/requests/{id}/desk")) {
                label { (w.t("desk_reader"))
                    select name="reader" {
                        @for d in &desks { option value=(d.id) { (d.name) } }
                    }
                }
                input type="hidden" name="since" value=(crate::time::now_ms());
                button type="submit" data-test="start-scan" { (w.t("start_scan")) }
            }
        },
    };
    layout(
        &w,
        &format!(
            "{} · {}",
            w.t("desk"),
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
    body: Bytes,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let epcs = tryp!(w, st.store.desk_scans(reader, since).await);
    let step = StepBody::CheckOut {
        epcs: epcs.into_iter().map(|(e, _)| e).collect(),
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
    body: Bytes,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let scans = tryp!(w, st.store.desk_scans(reader, since).await);
    let items: Vec<Value> = scans
        .iter()
        .filter_map(|(_, a)| *a)
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
