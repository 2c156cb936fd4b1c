//! Gate alarms.

use super::*;

pub(super) async fn alarms(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAlarms, Scope::Global)
    );
    let page = tryp!(w, st.store.list_alarms(None, 1, 200).await);
    let can_ack = authorize(&w.ctx.actor, Action::HandleAlarm, Scope::Global).is_ok();
    let body = html! {
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            table { tbody {
                @for a in &page.items {
                    tr {
                        td { (when(&a.raised_at)) } td { (a.asset_number) " " (a.asset_name) } td.mono { (a.epc) }
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
            } }
        }
    };
    layout(&w, w.t("alarms"), body)
}

pub(super) async fn alarm_ack(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
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
    see_other("/alarms")
}
