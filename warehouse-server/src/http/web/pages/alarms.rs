//! Gate alarms.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AlarmFilter {
    q: Option<String>,
    page: Option<i64>,
}

pub(super) async fn alarms(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<AlarmFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAlarms, Scope::Global)
    );
    let page = tryp!(
        w,
        st.store
            .search_alarms(
                None,
                f.q.clone(),
                crate::policy::regions_in_reach(&w.ctx.actor),
                f.page.unwrap_or(1),
                50
            )
            .await
    );
    // Without a gate reader no alarm can ever be raised: say so, and how.
    let gate_readers = tryp!(w, st.store.list_readers(1, 500).await)
        .items
        .iter()
        .filter(|r| r.role == crate::register::ReaderRole::Gate)
        .count();
    let can_ack = authorize(&w.ctx.actor, Action::HandleAlarm, Scope::Global).is_ok();
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let body = html! {
        @if gate_readers == 0 {
            p.notice role="note" data-test="no-gate-reader" {
                (w.t("no_gate_reader"))
                @if w.role == Role::Administrator { " " a href="/admin" { (w.t("admin")) } }
            }
        }
        (search_box(&w, "/alarms", f.q.as_deref(), w.t("search_alarms"), &[]))
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table {
                thead { tr {
                    th { (w.t("raised_at")) } th { (w.t("asset_number")) } th { (w.t("epc")) }
                    @if !regions.is_empty() { th { (w.t("region")) } }
                    th { (w.t("alarm_status")) } th {}
                } }
                tbody {
                @for a in &page.items {
                    tr {
                        td { (when(&a.raised_at)) }
                        td {
                            a href=(format!("/assets/{}", a.asset_id)) { (a.asset_number) } " " (a.asset_name)
                            @if a.other_region { " " span.badge.s-lost data-test="other-region" { (w.t("other_region")) } }
                        }
                        td.mono { (a.epc) }
                        @if !regions.is_empty() { td data-test="alarm-region" { (region_name(&regions, a.region_id)) } }
                        td { (w.tv(&a.status)) }
                        td { @if a.status == "open" && can_ack {
                            form.inline method="post" action=(format!("/alarms/{}/ack", a.id)) {
                                (csrf_field(&w))
                                input name="comment" required placeholder=(w.t("comment"));
                                button type="submit" { (w.t("acknowledge")) }
                            }
                        } @else { (a.comment.clone().unwrap_or_default()) } }
                    }
                }
            } } }
        }
        (pager(&w, &page, |p| list_url("/alarms", &[("q", f.q.as_deref())], p)))
    };
    layout(&w, w.t("alarms"), body)
}

pub(super) async fn alarm_ack(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::HandleAlarm, Scope::Global)
    );
    let f = form(&body);
    let comment = f.get("comment").cloned().unwrap_or_default();
    tryp!(
        w,
        st.store
            .acknowledge_alarm(w.ctx.clone(), id, crate::gate::Acknowledgement { comment })
            .await
    );
    see_other_with("/alarms", Done::AlarmHandled)
}
