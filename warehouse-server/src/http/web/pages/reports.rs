//! Reports.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReportQuery {
    name: Option<String>,
}

pub(super) async fn reports(
    State(st): State<AppState>,
    w: Web,
    Query(q): Query<ReportQuery>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewReports, Scope::Global)
    );
    let name = q.name.unwrap_or_else(|| "assets-by-state".into());
    let r = tryp!(w, st.store.report(name.clone()).await);
    let body = html! {
        nav.tabs { @for (n, title) in crate::store::REPORTS { a href=(format!("/reports?name={n}")) class=@if *n == name { "on" } { (title) } } }
        p { a href=(format!("/api/v1/reports/{name}?format=csv")) { (w.t("export_csv")) } }
        table {
            thead { tr { @for c in &r.columns { th { (c) } } } }
            tbody { @for row in &r.rows { tr { @for v in row { td { (match v { Value::String(s) => w.tv(s), Value::Null => String::new(), o => o.to_string() }) } } } } }
        }
        p { (r.totals.to_string()) }
    };
    layout(&w, &r.title, body)
}
