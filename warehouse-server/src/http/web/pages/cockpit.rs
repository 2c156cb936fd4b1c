//! The cockpit page (驾驶舱): the network's figures per region, each row
//! a region below the one shown (rolled up) with a link that drills down
//! to it, and the shown region's own figures (本级) first. Everything is
//! read by `Store::cockpit`, the same call as `GET /api/v1/cockpit`.

use super::*;
use crate::cockpit::{CockpitRow, Figures};
use crate::money::fen_to_yuan;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct CockpitQuery {
    region: Option<String>,
}

fn row_name(w: &Web, r: &CockpitRow) -> String {
    match (&r.region, r.own) {
        (None, _) => w.t("no_region").to_owned(),
        (Some(g), true) => format!("{}{}", g.name, w.lang.parens(w.t("own_level"))),
        (Some(g), false) => g.name.clone(),
    }
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%"))
}

/// The figures' cells, in the order of `HEADINGS`.
fn cells(f: &Figures) -> Vec<String> {
    vec![
        f.assets.to_string(),
        fen_to_yuan(f.value_fen),
        pct(f.idle_pct),
        f.reused.to_string(),
        fen_to_yuan(f.saved_fen),
        f.loans_out.to_string(),
        f.loan_items_out.to_string(),
        f.loans_overdue.to_string(),
        f.disposals.to_string(),
        f.assets_disposed.to_string(),
        fen_to_yuan(f.proceeds_fen),
        f.open_requests.under_7_days.to_string(),
        f.open_requests.from_7_to_30_days.to_string(),
        f.open_requests.over_30_days.to_string(),
    ]
}

const HEADINGS: &[&str] = &[
    "ck_assets",
    "ck_value",
    "ck_idle_pct",
    "ck_reused",
    "ck_saved",
    "ck_loans_out",
    "ck_loan_items",
    "ck_overdue",
    "ck_disposals",
    "ck_disposed",
    "ck_proceeds",
    "ck_open_7",
    "ck_open_30",
    "ck_open_old",
];

pub(super) async fn cockpit(
    State(st): State<AppState>,
    w: Web,
    Query(q): Query<CockpitQuery>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewReports, Scope::Global)
    );
    let region = tryp!(w, super::reports::region_param(q.region.as_deref()));
    let reach = crate::policy::regions_in_reach(&w.ctx.actor);
    let network = reach.is_none();
    let c = tryp!(
        w,
        st.store
            .cockpit(reach, crate::policy::home_region(&w.ctx.actor), region)
            .await
    );
    let here = c
        .region
        .as_ref()
        .map_or_else(|| w.t("whole_network").to_owned(), |r| r.name.clone());
    // Every state any row holds, in the lifecycle's order.
    let states: Vec<&str> = AssetState::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| c.total.by_state.contains_key(*s))
        .collect();
    let total = &c.total;
    let body = html! {
        nav.crumbs data-test="crumbs" {
            @if network {
                @if c.region.is_some() { a href="/cockpit" { (w.t("whole_network")) } " › " }
            }
            @for p in &c.path {
                a href=(format!("/cockpit?region={}", p.id)) data-test="up" { (p.name) } " › "
            }
            strong { (here) }
            " · "
            a href=(c.region.as_ref().map_or_else(|| "/reports".to_owned(), |r| format!("/reports?region={}", r.id))) data-test="cockpit-reports" { (w.t("reports")) }
        }
        dl.tiles data-test="tiles" {
            div { dt { (w.t("ck_assets")) } dd { (total.assets) } }
            div { dt { (w.t("ck_value")) } dd { (fen_to_yuan(total.value_fen)) } }
            div { dt { (w.t("ck_idle_pct")) } dd { (pct(total.idle_pct)) } }
            div { dt { (w.t("ck_saved")) } dd { (fen_to_yuan(total.saved_fen)) } }
            div { dt { (w.t("ck_loans_out")) } dd { (total.loans_out) } }
            div { dt { (w.t("ck_proceeds")) } dd { (fen_to_yuan(total.proceeds_fen)) } }
        }
        @if c.rows.is_empty() { p.empty { (w.t("empty")) } }
        div.scroll { table.report.cockpit data-test="cockpit" {
            thead { tr {
                th { (w.t("region")) }
                @for h in HEADINGS { th { (w.t(h)) } }
            } }
            tbody { @for r in &c.rows {
                tr data-region=(r.region.as_ref().map_or(0, |g| g.id)) {
                    td {
                        @match (&r.region, r.drillable) {
                            (Some(g), true) => { a href=(format!("/cockpit?region={}", g.id)) data-test="drill" { (row_name(&w, r)) } }
                            _ => { (row_name(&w, r)) }
                        }
                    }
                    @for v in cells(&r.figures) { td { (v) } }
                }
            } }
            tfoot { tr.totals data-test="totals" {
                td { (w.t("rc_total_row")) }
                @for v in cells(total) { td { (v) } }
            } }
        } }
        h2 { (w.t("ck_states")) }
        div.scroll { table.report data-test="cockpit-states" {
            thead { tr {
                th { (w.t("region")) }
                @for s in &states { th { (w.tv(s)) (w.lang.parens(w.t("ck_count_value"))) } }
            } }
            tbody { @for r in &c.rows {
                tr {
                    td { (row_name(&w, r)) }
                    @for s in &states {
                        td { @if let Some(n) = r.figures.by_state.get(*s) { (n.count) " / " (fen_to_yuan(n.value_fen)) } @else { "0" } }
                    }
                }
            } }
            tfoot { tr.totals {
                td { (w.t("rc_total_row")) }
                @for s in &states {
                    td { @if let Some(n) = total.by_state.get(*s) { (n.count) " / " (fen_to_yuan(n.value_fen)) } }
                }
            } }
        } }
    };
    layout(&w, &format!("{} · {here}", w.t("cockpit")), body)
}
