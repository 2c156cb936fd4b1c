//! The dashboard and the inbox.

use super::*;

pub(super) async fn dashboard(State(st): State<AppState>, w: Web) -> Response {
    let inbox = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    mine: Some(true),
                    per_page: Some(10),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let reports_ok = authorize(&w.ctx.actor, Action::ViewReports, Scope::Global).is_ok();
    let mut charts = Vec::new();
    if reports_ok {
        // The figures of the regions the person reaches.
        let scope = crate::store::ReportScope {
            reach: crate::policy::regions_in_reach(&w.ctx.actor),
            ..Default::default()
        };
        let by_state = tryp!(
            w,
            st.store
                .report("assets-by-state".into(), scope.clone())
                .await
        );
        let mut counts: Vec<(String, i64)> = Vec::new();
        for row in &by_state.rows {
            let s = row[0].as_str().unwrap_or_default();
            let n = row[4].as_i64().unwrap_or(0);
            match counts.iter_mut().find(|(k, _)| *k == w.tv(s)) {
                Some(c) => c.1 += n,
                None => counts.push((w.tv(s), n)),
            }
        }
        charts.push((w.t("assets_by_state"), bar_chart(&counts, "")));
        let util = tryp!(
            w,
            st.store.report("utilisation".into(), scope.clone()).await
        );
        let rows: Vec<(String, i64)> = util
            .rows
            .iter()
            .map(|r| {
                (
                    // Whole names: the chart sizes its label column to them.
                    r[1].as_str().unwrap_or_default().to_owned(),
                    r[5].as_f64().unwrap_or(0.0).round() as i64,
                )
            })
            .collect();
        charts.push((w.t("utilisation"), bar_chart(&rows, "%")));
        let loans = tryp!(w, st.store.report("loans".into(), scope.clone()).await);
        let out = loans.totals["items_out"].as_i64().unwrap_or(0);
        let overdue = loans.totals["overdue"].as_i64().unwrap_or(0);
        charts.push((
            w.t("loans_due"),
            bar_chart(
                &[
                    (w.t("outstanding").to_owned(), out),
                    (w.t("overdue").to_owned(), overdue),
                ],
                "",
            ),
        ));
        let disposals = tryp!(w, st.store.report("disposals".into(), scope.clone()).await);
        // Columns by name: the report also shows hammer prices and fees.
        let col = |name: &str| disposals.columns.iter().position(|c| c == name);
        let (month, remitted) = (col("month").unwrap_or(0), col("remitted_fen"));
        let rows: Vec<(String, i64)> = disposals
            .rows
            .iter()
            .map(|r| {
                (
                    r.get(month)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    remitted
                        .and_then(|i| r.get(i))
                        .and_then(|v| v.as_i64())
                        .unwrap_or(0)
                        / 100,
                )
            })
            .collect();
        charts.push((w.t("proceeds"), bar_chart(&rows, w.t("rv_yuan"))));
    } else if let Some(unit) = w.unit_id {
        // Unit staff: their own assets by state (the trigger-kept summary,
        // exact however many the unit holds).
        let counts: Vec<_> = tryp!(w, st.store.unit_assets_by_state(unit).await)
            .into_iter()
            .filter_map(|(state, n)| {
                AssetState::ALL
                    .iter()
                    .find(|s| s.as_str() == state)
                    .map(|s| (w.tv(s.as_str()), n))
            })
            .collect();
        charts.push((w.t("assets_by_state"), bar_chart(&counts, "")));
    }
    let alarms = if authorize(&w.ctx.actor, Action::ViewAlarms, Scope::Global).is_ok() {
        tryp!(
            w,
            st.store
                .list_alarms(
                    Some("open".into()),
                    crate::policy::regions_in_reach(&w.ctx.actor),
                    1,
                    1
                )
                .await
        )
        .total
    } else {
        0
    };
    // The open warnings (预警) of the person's reach, as the warnings page
    // counts them.
    let warnings =
        crate::warnings::board(tryp!(w, st.store.open_warnings().await), &w.ctx.actor, None)
            .items
            .len();
    let mut q = NameQuery::default();
    ask_requests(&mut q, &inbox.items);
    let names = tryp!(w, st.store.names(q).await);
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let body = html! {
        section.cards {
            a.card href="/inbox" data-test="inbox-count" { strong { (inbox.total) } span { (w.t("waiting_on_me")) } }
            @if alarms > 0 {
                a.card.warn href="/alarms" { strong { (alarms) } span { (w.t("open_alarms")) } }
            }
            @if warnings > 0 {
                a.card.warn href="/warnings" data-test="warnings-count" { strong { (warnings) } span { (w.t("open_warnings")) } }
            }
        }
        section.charts {
            @for (title, chart) in &charts {
                figure { figcaption { (title) } (chart) }
            }
        }
        h2 { (w.t("notifications")) " · " (w.t("waiting_on_me")) }
        (request_table(&w, &names, &regions, &inbox.items))
    };
    layout(&w, w.t("dashboard"), body)
}

/// A list of requests: number, kind, stage, unit and applicant by name.
/// `names` holds what [`ask_requests`] asked for these items.
/// Requests as a table; a region column when the network has regions
/// (`regions`: those in the person's scope, for their names).
pub(super) fn request_table(
    w: &Web,
    names: &Names,
    regions: &[crate::register::Region],
    items: &[Request],
) -> Markup {
    html! {
        @if items.is_empty() {
            p.empty { (w.t("empty")) }
        } @else {
            table data-test="requests" {
                thead { tr {
                    th { (w.t("rc_request_id")) } th { (w.t("kind")) } th { (w.t("stage")) } th { (w.t("unit")) }
                    @if !regions.is_empty() { th { (w.t("region")) } }
                    th { (w.t("applicant")) } th { (w.t("reason")) } th { (w.t("created")) }
                } }
                tbody {
                    @for r in items {
                        tr class=@if r.overdue { "overdue" } {
                            td { a href=(format!("/requests/{}", r.id)) { (r.id) } }
                            td { (w.tv(r.kind.as_str())) }
                            td { (stage_word(w, r.stage)) @if r.overdue { " " span.badge.s-lost { (w.t("overdue")) } } (stock_badge(w, r)) }
                            td { (r.unit_id.map(|u| words::unit(w.lang, names, u)).unwrap_or_default()) }
                            @if !regions.is_empty() { td data-test="request-region" { (region_name(regions, r.region_id)) } }
                            td { (words::person(w.lang, names, &r.applicant)) }
                            td {
                                // 活动名称 first: the event the items serve.
                                @if let Some(e) = &r.event { span.badge data-test="request-event" { (e) } " " }
                                (r.reason.clone().unwrap_or_default())
                            }
                            td { (when(&r.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn inbox(State(st): State<AppState>, w: Web) -> Response {
    let page = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    mine: Some(true),
                    per_page: Some(200),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let mut q = NameQuery::default();
    ask_requests(&mut q, &page.items);
    let names = tryp!(w, st.store.names(q).await);
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    // Purchases awaiting procurement may be bought together (集中采购).
    let to_procure = page
        .items
        .iter()
        .filter(|r| r.kind == RequestKind::Purchase && r.stage == Stage::Procurement)
        .count();
    let body = html! {
        @if to_procure > 0 && w.role == Role::Approver {
            p.actions { a.button href="/procurements" data-test="central-procurement" { (w.t("central_procurement")) (w.lang.parens(&to_procure.to_string())) } }
        }
        (request_table(&w, &names, &regions, &page.items))
    };
    layout(&w, w.t("inbox"), body)
}
