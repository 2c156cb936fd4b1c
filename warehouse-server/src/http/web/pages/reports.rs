//! Reports: each management report as people read it (headings in their
//! language, yuan, a totals row, a chart), and the same table as CSV; for
//! the regions the reader reaches, one region and those below it, or one
//! row per region.

use super::*;
use crate::reports::{for_people, PeopleReport};
use crate::store::ReportScope;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReportQuery {
    name: Option<String>,
    /// A region id, or empty for every region the reader reaches.
    region: Option<String>,
    /// `region`: one row per region.
    by: Option<String>,
    /// `xlsx`: the export as a workbook (else CSV).
    format: Option<String>,
}

/// A region id from a query (`region=`); empty: none.
pub(super) fn region_param(v: Option<&str>) -> Result<Option<i64>, AppError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            AppError::from(Reason::BadId {
                field: "region".into(),
                value: s.into(),
            })
        }),
    }
}

impl ReportQuery {
    fn region(&self) -> Result<Option<i64>, AppError> {
        region_param(self.region.as_deref())
    }

    fn by_region(&self) -> bool {
        self.by.as_deref() == Some("region")
    }

    /// The query string that shows report `name` with the same region
    /// choices.
    fn link(&self, path: &str, name: &str) -> String {
        let mut s = format!("{path}?name={name}");
        if let Some(r) = self.region.as_deref().filter(|r| !r.trim().is_empty()) {
            s.push_str(&format!(
                "&region={}",
                crate::http::respond::percent_encode(r)
            ));
        }
        if self.by_region() {
            s.push_str("&by=region");
        }
        s
    }
}

/// The report `q` names, for people in `w`'s language.
async fn people_report(
    st: &AppState,
    w: &Web,
    q: &ReportQuery,
) -> Result<(String, PeopleReport), AppError> {
    authorize(&w.ctx.actor, Action::ViewReports, Scope::Global)?;
    let name = q.name.clone().unwrap_or_else(|| "assets-by-state".into());
    let scope = ReportScope {
        reach: crate::policy::regions_in_reach(&w.ctx.actor),
        region: q.region()?,
        by_region: q.by_region(),
    };
    let r = st.store.report(name.clone(), scope).await?;
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
    let (name, r) = tryp!(w, people_report(&st, &w, &q).await);
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let chosen = q.region().ok().flatten();
    let body = html! {
        nav.tabs { @for (n, _) in crate::store::REPORTS {
            a href=(q.link("/reports", n)) class=@if *n == name { "on" } { (crate::reports::title(w.lang, n)) }
        } }
        @if !regions.is_empty() {
            form.filters method="get" action="/reports" data-test="report-region" {
                input type="hidden" name="name" value=(name);
                (region_select(&w, &regions, chosen))
                label { input type="checkbox" name="by" value="region" checked[q.by_region()]; (w.t("by_region")) }
                button type="submit" { (w.t("search")) }
            }
        }
        p {
            a href=(q.link("/reports/export", &name)) data-test="report-csv" { (w.t("export_csv")) }
            " "
            a href=(format!("{}&format=xlsx", q.link("/reports/export", &name))) data-test="report-xlsx" { (w.t("export_xlsx")) }
        }
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
    let (_, r) = tryp!(w, people_report(&st, &w, &q).await);
    if q.format.as_deref() == Some("xlsx") {
        let data = tryp!(w, r.to_xlsx());
        return crate::http::respond::attachment(
            &format!("{}.xlsx", r.title),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            data,
        );
    }
    let csv = tryp!(w, r.to_csv());
    crate::http::respond::attachment(&format!("{}.csv", r.title), "text/csv; charset=utf-8", csv)
}
