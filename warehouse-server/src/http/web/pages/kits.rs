//! Kits (套装): the catalogue, making a kit from asset numbers, taking one
//! apart. Loans and allocations choose a kit on their form.

use super::*;
use crate::kits::Kit;

fn kit_status(w: &Web, k: &Kit) -> Markup {
    html! {
        @if k.available {
            span.badge.s-in_stock data-test="kit-available" { (w.t("kit_available")) }
        } @else if let Some(r) = k.held_by_request {
            a.badge.s-on_loan href=(format!("/requests/{r}")) data-test="kit-held" {
                (w.t("kit_held")) " · " (w.t("request")) "\u{a0}" (r)
            }
        } @else {
            span.badge.s-lost { (w.t("kit_unavailable")) }
        }
    }
}

pub(super) async fn kits_page(State(st): State<AppState>, w: Web) -> Response {
    render_kits(&st, &w, &Form::new(), None).await
}

async fn render_kits(st: &AppState, w: &Web, values: &Form, err: Option<&AppError>) -> Response {
    let kits = tryp!(w, st.store.kits().await);
    let may_make = authorize(&w.ctx.actor, Action::UpdateAsset, Scope::Warehouse).is_ok();
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let body = html! {
        p.notice role="note" { (w.t("kit_rule")) }
        @if kits.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="kits" {
                thead { tr {
                    th { (w.t("kit_name")) } th { (w.t("members_count")) }
                    th { (w.t("kit_assets")) } th { (w.t("kit_status")) }
                } }
                tbody { @for k in &kits {
                    tr {
                        td { a href=(format!("/kits/{}", k.id)) { (k.name) } }
                        td { (k.members.len()) }
                        td { @for (i, m) in k.members.iter().enumerate() {
                            @if i > 0 { "、" }
                            a href=(format!("/assets/{}", m.asset_id)) { (m.asset_number) } "\u{a0}" (m.name)
                        } }
                        td { (kit_status(w, k)) }
                    }
                } }
            } }
        }
        @if may_make {
            h2 { (w.t("new_kit")) }
            (form_error(w.lang, err, &["name", "asset_ids", "asset_numbers", "notes"]))
            form.stack method="post" action="/kits" novalidate data-test="new-kit" {
                (csrf_field(w))
                label { (w.t("kit_name")) input name="name" required value=(v("name")); (field_error(w.lang, err, "name")) }
                label { (w.t("kit_members"))
                    textarea name="asset_numbers" rows="3" { (v("asset_numbers")) }
                    (field_error(w.lang, err, "asset_numbers")) (field_error(w.lang, err, "asset_ids"))
                }
                label { (w.t("notes")) textarea name="notes" rows="2" { (v("notes")) } }
                button type="submit" { (w.t("submit")) }
            }
        }
    };
    let mut resp = layout(w, w.t("kits"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

pub(super) async fn kit_create(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    let f = form(&body);
    let made = async {
        let numbers = text(&f, "asset_numbers").unwrap_or_default();
        let ids = st
            .store
            .asset_ids_by_number("asset_numbers", crate::store::split_numbers(&numbers))
            .await?;
        st.store
            .create_kit(
                w.ctx.clone(),
                crate::kits::NewKit {
                    name: f.get("name").cloned().unwrap_or_default(),
                    asset_ids: ids,
                    notes: text(&f, "notes"),
                },
            )
            .await
    }
    .await;
    match made {
        Ok(k) => see_other_with(&format!("/kits/{}", k.id), Done::Saved),
        Err(e) => render_kits(&st, &w, &f, Some(&e)).await,
    }
}

pub(super) async fn kit_page(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    let k = tryp!(w, st.store.kit(id).await);
    let may_make = authorize(&w.ctx.actor, Action::UpdateAsset, Scope::Warehouse).is_ok();
    let body = html! {
        dl {
            dt { (w.t("kit_status")) } dd { (kit_status(&w, &k)) }
            @if let Some(n) = &k.notes { dt { (w.t("notes")) } dd { (n) } }
            dt { (w.t("kit_made")) } dd { (when(&k.created_at)) " · " (k.created_by) }
        }
        @if k.retired_at.is_some() { p.notice { (w.t("kit_retired")) } }
        div.scroll { table data-test="kit-members" {
            thead { tr { th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("state")) } th { (w.t("epc")) } } }
            tbody { @for m in &k.members {
                tr {
                    td { a href=(format!("/assets/{}", m.asset_id)) { (m.asset_number) } }
                    td { (m.name) }
                    td { (w.tv(m.state.as_str())) }
                    td.mono { (m.epc.clone().unwrap_or_default()) }
                }
            } }
        } }
        @if may_make && k.retired_at.is_none() && k.held_by_request.is_none() {
            form.inline method="post" action=(format!("/kits/{}/retire", k.id)) {
                (csrf_field(&w))
                button type="submit" data-test="retire-kit" { (w.t("retire_kit")) }
            }
        }
        p { a href="/kits" { (w.t("kits")) } }
    };
    layout(&w, &format!("{} · {}", w.t("kit"), k.name), body)
}

pub(super) async fn kit_retire(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    tryp!(w, st.store.retire_kit(w.ctx.clone(), id).await);
    see_other_with(&format!("/kits/{id}"), Done::Saved)
}
