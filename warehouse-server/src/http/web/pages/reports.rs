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
    /// `region`: one row per region; `unit`: one row per unit.
    by: Option<String>,
    /// The period: `from`/`to` days, or `year`, or `quarter` (2025Q3).
    from: Option<String>,
    to: Option<String>,
    year: Option<String>,
    quarter: Option<String>,
    /// Filters by id; empty: all.
    unit: Option<String>,
    category: Option<String>,
    warehouse: Option<String>,
    /// `xlsx`: the export as a workbook (else CSV).
    format: Option<String>,
}

/// An id from a filter of the report form; empty: none.
fn id_param(field: &str, v: Option<&str>) -> Result<Option<i64>, AppError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            AppError::from(Reason::BadId {
                field: field.into(),
                value: s.into(),
            })
        }),
    }
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

    fn by_unit(&self) -> bool {
        self.by.as_deref() == Some("unit")
    }

    /// The period, unit, category and warehouse choices as query pairs.
    fn filters(&self) -> Vec<(&'static str, &str)> {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("year", &self.year),
            ("quarter", &self.quarter),
            ("unit", &self.unit),
            ("category", &self.category),
            ("warehouse", &self.warehouse),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (k, v))
        })
        .collect()
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
        if self.by_unit() {
            s.push_str("&by=unit");
        }
        for (k, v) in self.filters() {
            s.push_str(&format!("&{k}={}", crate::http::respond::percent_encode(v)));
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
        by_unit: q.by_unit(),
        period: crate::store::parse_period(
            q.from.as_deref(),
            q.to.as_deref(),
            q.year.as_deref(),
            q.quarter.as_deref(),
        )?,
        unit: id_param("unit", q.unit.as_deref())?,
        category: id_param("category", q.category.as_deref())?,
        warehouse: id_param("warehouse", q.warehouse.as_deref())?,
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
    let units = tryp!(w, st.store.list_units(1, 500).await).items;
    let categories = tryp!(w, st.store.list_categories(1, 500).await).items;
    let warehouses = tryp!(w, st.store.list_warehouses(1, 500).await).items;
    let chosen = q.region().ok().flatten();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let picked =
        |o: &Option<String>, id: i64| o.as_deref().map(str::trim) == Some(id.to_string().as_str());
    let dated = crate::store::date_of(&name);
    let body = html! {
        nav.tabs { @for (n, _) in crate::store::REPORTS {
            a href=(q.link("/reports", n)) class=@if *n == name { "on" } { (crate::reports::title(w.lang, n)) }
        }
            // 超标准申请 (配置标准): its own page, beside the reports.
            a href="/reports/over-standard" data-test="over-standard-report" { (w.t("over_standard_report")) }
        }
        form.filters method="get" action="/reports" data-test="report-filters" {
            input type="hidden" name="name" value=(name);
            @if !regions.is_empty() { (region_select(&w, &regions, chosen)) }
            @if dated.is_some() {
                label { (w.t("rp_from")) " " input type="date" name="from" value=(v(&q.from)); }
                label { (w.t("rp_to")) " " input type="date" name="to" value=(v(&q.to)); }
                label { (w.t("rp_year")) " " input type="text" name="year" size="5" inputmode="numeric" placeholder="2025" value=(v(&q.year)); }
                label { (w.t("rp_quarter")) " " input type="text" name="quarter" size="7" placeholder="2025Q3" value=(v(&q.quarter)); }
            }
            select name="unit" aria-label=(w.t("unit")) {
                option value="" { (w.t("unit")) (w.lang.colon()) (w.t("all")) }
                @for u in &units { option value=(u.id) selected[picked(&q.unit, u.id)] { (u.name) } }
            }
            select name="category" aria-label=(w.t("category")) {
                option value="" { (w.t("category")) (w.lang.colon()) (w.t("all")) }
                @for c in &categories { option value=(c.id) selected[picked(&q.category, c.id)] { (c.name) } }
            }
            select name="warehouse" aria-label=(w.t("rp_warehouse")) {
                option value="" { (w.t("rp_warehouse")) (w.lang.colon()) (w.t("all")) }
                @for h in &warehouses { option value=(h.id) selected[picked(&q.warehouse, h.id)] { (h.name) } }
            }
            select name="by" aria-label=(w.t("rp_by")) {
                option value="" { (w.t("rp_by_none")) }
                @if !regions.is_empty() { option value="region" selected[q.by_region()] { (w.t("by_region")) } }
                option value="unit" selected[q.by_unit()] { (w.t("rp_by_unit")) }
            }
            button type="submit" { (w.t("search")) }
        }
        p.hint data-test="report-dated" {
            @match dated {
                Some(d) => { (w.t("rp_dated_by")) (w.lang.colon()) (w.t(&format!("rp_date_{d}"))) }
                None => { (w.t("rp_snapshot")) }
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
