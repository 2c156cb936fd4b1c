//! Writing an asset's tag (赋码) from the web: where "未写标签" shows, a
//! keeper comes here, has the EPC allocated (`Store::commission_tag`, the
//! same as the API), writes it with any writer, and confirms — by laying
//! the tag on the desk reader (the server looks for the EPC among the desk
//! scans since it was allocated) or by typing the EPC read back. The
//! daemon's `reader-daemon commission` does all three in one go.

use super::*;

/// The tag page; `err` with what was typed re-renders a refused form.
async fn tag_render(st: &AppState, w: &Web, id: i64, err: Option<(&str, &AppError)>) -> Response {
    let w = w.clone();
    let a = tryp!(w, st.store.asset(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::ViewAsset, a.scope()));
    let can_write = authorize(&w.ctx.actor, Action::CommissionTag, a.scope()).is_ok();
    let pending = tryp!(w, st.store.pending_commission(id).await);
    let body = html! {
        p { a href=(format!("/assets/{id}")) { "← " (a.asset_number) " " (a.name) } }
        dl {
            dt { (w.t("asset_number")) } dd { (a.asset_number) }
            dt { (w.t("name")) } dd { (a.name) }
            dt { (w.t("epc")) } dd.mono data-test="current-epc" {
                @match &a.epc { Some(e) => { (e) }, None => { span.badge.s-lost { (w.t("no_tag")) } } }
            }
        }
        (form_error(w.lang, err.map(|e| e.1), &["epc"]))
        @if !can_write {
            p.hint { (w.t("tag_keepers_only")) }
        } @else if let Some((_, epc, _)) = &pending {
            @let hex = shared::hex::Hex(epc).to_string();
            @let uri = shared::epc::decode(epc).tag_uri().to_string();
            h2 { (w.t("tag_to_write")) }
            p.tag-epc { strong.mono data-test="epc-to-write" { (hex) } br; span.mono.hint { (uri) } }
            ol.steps-list {
                li { (w.t("tag_step_write")) }
                li { (w.t("tag_step_confirm")) }
            }
            form.inline method="post" action=(format!("/assets/{id}/tag/confirm")) {
                (csrf_field(&w))
                input type="hidden" name="from_desk" value="1";
                button type="submit" data-test="confirm-from-desk" { (w.t("tag_confirm_desk")) }
            }
            form.stack method="post" action=(format!("/assets/{id}/tag/confirm")) {
                (csrf_field(&w))
                label { (w.t("tag_read_back"))
                    input.mono name="epc" required autocomplete="off" value=(err.map_or("", |e| e.0)) data-test="typed-epc";
                    (field_error(w.lang, err.map(|e| e.1), "epc"))
                }
                button type="submit" data-test="confirm-typed" { (w.t("tag_confirm_typed")) }
            }
            form.inline method="post" action=(format!("/assets/{id}/tag")) {
                (csrf_field(&w))
                button.link type="submit" { (w.t("tag_allocate_again")) }
            }
        } @else {
            p { (if a.epc.is_some() { w.t("tag_rewrite_hint") } else { w.t("tag_start_hint") }) }
            form.inline method="post" action=(format!("/assets/{id}/tag")) {
                (csrf_field(&w))
                button type="submit" data-test="allocate-epc" { (w.t("tag_allocate")) }
            }
        }
        @if can_write {
            h2 { (w.t("tag_with_daemon")) }
            p.hint { (w.t("tag_daemon_hint")) }
            pre.mono { "reader-daemon commission --config daemon.toml --reader <" (w.t("health_reader")) "> --asset " (id) }
        }
    };
    let resp = layout(
        &w,
        &format!("{} · {}", w.t("write_tag"), a.asset_number),
        body,
    );
    match err {
        Some((_, e)) => {
            let mut resp = resp;
            *resp.status_mut() = crate::http::error::status_of(e.kind);
            resp
        }
        None => resp,
    }
}

pub(super) async fn tag_page(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    tag_render(&st, &w, id, None).await
}

/// Allocates the EPC to write (again: the earlier one is superseded).
pub(super) async fn tag_start(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    let a = tryp!(w, st.store.asset(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::CommissionTag, a.scope()));
    tryp!(w, st.store.commission_tag(w.ctx.clone(), id).await);
    see_other(&format!("/assets/{id}/tag"))
}

/// Binds the written tag: the EPC typed back, or the one the desk reader
/// has read since it was allocated.
pub(super) async fn tag_confirm(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let a = tryp!(w, st.store.asset(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::CommissionTag, a.scope()));
    let f = form(&body);
    let typed = f.get("epc").cloned().unwrap_or_default();
    let Some((commission, epc, since)) = tryp!(w, st.store.pending_commission(id).await) else {
        return see_other(&format!("/assets/{id}/tag"));
    };
    let written = if f.contains_key("from_desk") {
        if tryp!(w, st.store.desk_reader_saw(epc.clone(), since).await).is_none() {
            let e = AppError::from(Reason::TagNotAtDesk {
                epc: shared::hex::Hex(&epc).to_string(),
            });
            return tag_render(&st, &w, id, Some(("", &e))).await;
        }
        epc
    } else {
        let clean: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        match shared::hex::decode(&clean) {
            Ok(b) if !clean.is_empty() => b,
            Ok(_) => {
                let e = AppError::from(Reason::Required {
                    field: "epc".into(),
                });
                return tag_render(&st, &w, id, Some((&typed, &e))).await;
            }
            Err(err) => {
                let e = AppError::from(Reason::NotHex {
                    field: "epc".into(),
                    value: typed.clone(),
                    detail: err.to_string(),
                });
                return tag_render(&st, &w, id, Some((&typed, &e))).await;
            }
        }
    };
    match st
        .store
        .confirm_commission(w.ctx.clone(), commission, written)
        .await
    {
        Ok(_) => see_other_with(&format!("/assets/{id}"), Done::TagWritten),
        Err(e) if e.field.as_deref() == Some("epc") || e.kind == ErrorKind::Conflict => {
            tag_render(&st, &w, id, Some((&typed, &e))).await
        }
        Err(e) => fail(&w, e),
    }
}
