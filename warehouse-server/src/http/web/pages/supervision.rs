//! Supervision pages: the warnings (预警) of the person's reach, counts per
//! kind on top; the audit log (审计日志) with the trail export.

use super::*;
use crate::warnings::{Warning, WarningKind};

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct WarningFilter {
    kind: Option<String>,
}

/// Who must act, in words: the role, then the unit, or the region, or
/// the whole network.
fn who_acts(w: &Web, x: &Warning) -> String {
    let who = &x.who_acts;
    let place = who
        .unit_name
        .clone()
        .or_else(|| who.region_name.clone())
        .unwrap_or_else(|| w.t("w_network").to_owned());
    format!("{}（{place}）", w.tv(who.role.as_str()))
}

fn subject_cell(w: &Web, x: &Warning) -> Markup {
    let word = w.t(&format!("sk_{}", x.subject.kind.as_str())).to_owned();
    let label = format!("{word} {}", x.subject.label);
    html! {
        @match x.link() {
            Some(href) => a href=(href) { (label) },
            None => (label),
        }
    }
}

pub(super) async fn warnings_page(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<WarningFilter>,
) -> Response {
    let kind = tryp!(w, crate::warnings::kind_asked(f.kind.as_deref()));
    let all = tryp!(w, st.store.open_warnings().await);
    let board = crate::warnings::board(all, &w.ctx.actor, kind);
    let body = html! {
        section.cards data-test="warning-counts" {
            a.card href="/warnings" {
                strong data-test="count-all" { (board.counts.iter().map(|c| c.count).sum::<i64>()) }
                span { (w.t("all")) @if kind.is_none() { " ✓" } }
            }
            @for c in &board.counts {
                a.card href=(format!("/warnings?kind={}", c.kind.as_str()))
                    class=@if c.count > 0 { "warn" }
                    data-test=(format!("count-{}", c.kind.as_str())) {
                    strong { (c.count) }
                    span { (w.t(&format!("wk_{}", c.kind.as_str()))) @if kind == Some(c.kind) { " ✓" } }
                }
            }
        }
        @if board.items.is_empty() { p.empty data-test="no-warnings" { (w.t("no_warnings")) } } @else {
            div.scroll { table data-test="warnings" {
                thead { tr {
                    th { (w.t("w_kind")) } th { (w.t("w_subject")) } th { (w.t("w_since")) }
                    th { (w.t("w_value")) } th { (w.t("w_note")) } th { (w.t("w_who")) }
                } }
                tbody {
                @for x in &board.items {
                    tr data-kind=(x.kind.as_str()) class=@if x.kind == WarningKind::ChainBroken { "overdue" } {
                        td { span.badge.s-lost { (w.t(&format!("wk_{}", x.kind.as_str()))) } }
                        td { (subject_cell(&w, x)) }
                        td { (when(&x.since)) }
                        td.num { @if let Some(v) = x.value_fen { (yuan(v)) } }
                        td { (x.note.clone().unwrap_or_default()) }
                        td data-test="who-acts" { (who_acts(&w, x)) }
                    }
                }
            } } }
        }
    };
    layout(&w, w.t("warnings"), body)
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AuditFilter {
    username: Option<String>,
    page: Option<i64>,
}

pub(super) async fn audit_log_page(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<AuditFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAuditLog, Scope::Global)
    );
    let who = f.username.clone().filter(|u| !u.trim().is_empty());
    let page = tryp!(
        w,
        st.store
            .audit_reads(who.clone(), (f.page.unwrap_or(1).max(1), 50))
            .await
    );
    let can_export = authorize(&w.ctx.actor, Action::ExportTrail, Scope::Global).is_ok();
    let body = html! {
        @if can_export {
            form.filters method="get" action="/audit-log/trail" data-test="trail-form" {
                h2 { (w.t("trail_export")) }
                label { (w.t("trail_asset")) " " input name="asset_id" inputmode="numeric"; }
                label { (w.t("trail_unit")) " " input name="unit_id" inputmode="numeric"; }
                label { (w.t("rp_from")) " " input type="date" name="from"; }
                label { (w.t("rp_to")) " " input type="date" name="to"; }
                button type="submit" { (w.t("export_xlsx")) }
            }
        }
        (search_box(&w, "/audit-log", who.as_deref(), w.t("ar_who"), &[]))
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="audit-reads" {
                thead { tr {
                    th { (w.t("ar_at")) } th { (w.t("ar_who")) } th { (w.t("ar_path")) } th { (w.t("w_subject")) }
                } }
                tbody {
                @for r in &page.items {
                    tr {
                        td { (when(&r.at)) }
                        td { (r.username) }
                        td.mono { (r.path) }
                        td.mono { (r.subject.clone().unwrap_or_default()) }
                    }
                }
            } } }
        }
        (pager(&w, &page, |p| list_url("/audit-log", &[("username", who.as_deref())], p)))
    };
    layout(&w, w.t("audit_log"), body)
}

/// The trail form's fields as typed (blank: not given).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct TrailForm {
    asset_id: Option<String>,
    unit_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn blank_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn id_field(field: &str, v: Option<String>) -> Result<Option<i64>, AppError> {
    match blank_none(v) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            Reason::NotWholeNumber {
                field: field.into(),
                value: s,
            }
            .into()
        }),
    }
}

pub(super) async fn audit_trail_export(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<TrailForm>,
) -> Response {
    let q = crate::audit::TrailQuery {
        asset_id: tryp!(w, id_field("asset_id", f.asset_id)),
        unit_id: tryp!(w, id_field("unit_id", f.unit_id)),
        from: blank_none(f.from),
        to: blank_none(f.to),
    };
    let (file, data) = tryp!(
        w,
        crate::audit::export_trail(&st.store, &w.ctx.actor, &q).await
    );
    crate::http::respond::attachment(
        &file,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        data,
    )
}
