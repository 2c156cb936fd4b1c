//! Reports: each management report as people read it (headings in their
//! language, yuan, a totals row, a chart), and the same table as CSV.

use super::*;
use crate::reports::{for_people, PeopleReport};

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReportQuery {
    name: Option<String>,
}

/// The report `q` names, for people in `w`'s language.
async fn people_report(
    st: &AppState,
    w: &Web,
    q: ReportQuery,
) -> Result<(String, PeopleReport), AppError> {
    authorize(&w.ctx.actor, Action::ViewReports, Scope::Global)?;
    let name = q.name.unwrap_or_else(|| "assets-by-state".into());
    let r = st.store.report(name.clone()).await?;
    let units = st
        .store
        .list_units(1, 500)
        .await?
        .items
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    Ok((name, for_people(&r, w.lang, &units)))
}

pub(super) async fn reports(
    State(st): State<AppState>,
    w: Web,
    Query(q): Query<ReportQuery>,
) -> Response {
    let (name, r) = tryp!(w, people_report(&st, &w, q).await);
    let body = html! {
        nav.tabs { @for (n, _) in crate::store::REPORTS {
            a href=(format!("/reports?name={n}")) class=@if *n == name { "on" } { (crate::reports::title(w.lang, n)) }
        } }
        p { a href=(format!("/reports/export?name={name}")) data-test="report-csv" { (w.t("export_csv")) } }
        @if let Some((bars, unit)) = &r.chart {
            @if !bars.is_empty() { figure.report-chart { (bar_chart(bars, unit)) } }
        }
        @if r.rows.is_empty() { p.empty { (w.t("empty")) } }
        div.scroll { table.report data-test="report" {
            thead { tr { @for h in &r.headings { th { (h) } } } }
            tbody { @for row in &r.rows { tr { @for v in row { td { (v) } } } } }
            tfoot { tr.totals data-test="totals" { @for v in &r.totals { td { (v) } } } }
        } }
        @if !r.other_totals.is_empty() {
            dl.totals data-test="other-totals" { @for (k, v) in &r.other_totals { dt { (k) } dd { (v) } } }
        }
    };
    layout(&w, &r.title, body)
}

/// The report as CSV, in the reader's language: same headings, yuan, totals.
pub(super) async fn report_export(
    State(st): State<AppState>,
    w: Web,
    Query(q): Query<ReportQuery>,
) -> Response {
    let (_, r) = tryp!(w, people_report(&st, &w, q).await);
    let csv = tryp!(w, r.to_csv());
    crate::http::respond::attachment(&format!("{}.csv", r.title), "text/csv; charset=utf-8", csv)
}
