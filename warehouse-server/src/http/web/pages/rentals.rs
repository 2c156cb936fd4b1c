//! Rentals (管理+租用) for keepers: the open rentals with their items, a
//! form to record one as its items arrive (one line per item:
//! description and temporary tag), desk scans out and back, and the
//! return to the supplier. Everything goes through the same store calls
//! as the API.

use super::*;
use crate::money::{fen_to_yuan, parse_yuan};
use crate::rentals::{NewRental, NewRentalItem, Rental, RentalMove, RentalScan};

fn may_rent(w: &Web) -> bool {
    authorize(&w.ctx.actor, Action::UpdateAsset, Scope::Warehouse).is_ok()
}

fn status_counts(r: &Rental) -> String {
    let n = |s: &str| r.items.iter().filter(|i| i.status == s).count();
    format!(
        "{}/{}/{}/{}",
        n("received"),
        n("out"),
        n("back"),
        n("returned")
    )
}

pub(super) async fn rentals_page(State(st): State<AppState>, w: Web) -> Response {
    render_rentals(&st, &w, &Form::new(), None).await
}

async fn render_rentals(st: &AppState, w: &Web, values: &Form, err: Option<&AppError>) -> Response {
    let rentals = tryp!(w, st.store.rentals(None, false).await);
    let suppliers = tryp!(w, st.store.suppliers().await);
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let body = html! {
        p.notice role="note" { (w.t("rental_rule")) }
        @if rentals.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="rentals" {
                thead { tr {
                    th { (w.t("rc_rental_contract")) } th { (w.t("supplier_name")) } th { (w.t("rc_event")) }
                    th { (w.t("rental_window")) } th { (w.t("rc_rental_cost_fen")) }
                    th { (w.t("rental_counts")) } th {}
                } }
                tbody { @for r in &rentals {
                    tr data-test="rental" {
                        td { (r.contract_number) }
                        td { (r.supplier) }
                        td { @if let Some(q) = r.request_id {
                            a href=(format!("/requests/{q}")) { (r.event.clone().unwrap_or_else(|| w.t("request").to_owned())) }
                        } }
                        td { (r.starts) " – " (r.ends) }
                        td.num { (fen_to_yuan(r.cost_fen)) }
                        td { (status_counts(r)) }
                        td { @if r.status == "open" && may_rent(w) {
                            @for (action, word) in [("check-out", "rental_out"), ("return", "rental_back")] {
                                form.inline method="post" action=(format!("/rentals/{}/{action}", r.id)) {
                                    (csrf_field(w))
                                    input name="epcs" placeholder=(w.t("rental_epcs")) aria-label=(w.t("rental_epcs"));
                                    button type="submit" { (w.t(word)) }
                                }
                            }
                            form.inline method="post" action=(format!("/rentals/{}/return-to-supplier", r.id)) {
                                (csrf_field(w))
                                button type="submit" { (w.t("rental_to_supplier")) }
                            }
                        } @else if r.status != "open" { (w.t("rental_closed")) } }
                    }
                } }
            } }
        }
        @if may_rent(w) {
            h2 { (w.t("new_rental")) }
            (form_error(w.lang, err, &["supplier_id", "supplier", "request_id", "contract_number", "starts", "ends", "cost_fen", "items", "epcs"]))
            form.stack method="post" action="/rentals" novalidate data-test="new-rental" {
                (csrf_field(w))
                label { (w.t("supplier_name"))
                    input name="supplier" list="suppliers" value=(v("supplier")) required;
                    datalist id="suppliers" { @for s in &suppliers { option value=(s.name) {} } }
                    (field_error(w.lang, err, "supplier_id"))
                }
                label { (w.t("rental_request")) input type="number" min="1" name="request_id" value=(v("request_id")); (field_error(w.lang, err, "request_id")) }
                label { (w.t("rc_rental_contract")) input name="contract_number" value=(v("contract_number")); (field_error(w.lang, err, "contract_number")) }
                label { (w.t("rc_starts")) input type="date" name="starts" value=(v("starts")); (field_error(w.lang, err, "starts")) }
                label { (w.t("rc_ends")) input type="date" name="ends" value=(v("ends")); (field_error(w.lang, err, "ends")) }
                label { (w.t("rc_rental_cost_fen")) input name="cost" inputmode="decimal" value=(v("cost")); (field_error(w.lang, err, "cost_fen")) }
                label { (w.t("rental_items"))
                    textarea name="items" rows="4" placeholder="折叠椅,E2801170ABCD000000000000" { (v("items")) }
                    (field_error(w.lang, err, "items"))
                }
                button type="submit" { (w.t("submit")) }
            }
        }
    };
    let mut resp = layout(w, w.t("rentals"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

/// The items box: one line per item, "description, EPC" (a comma, a
/// Chinese comma or a tab between).
fn rental_items(text: &str) -> Vec<NewRentalItem> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (d, e) = l.rsplit_once([',', '，', '\t']).unwrap_or(("", l));
            NewRentalItem {
                description: d.trim().to_owned(),
                category_id: None,
                epc: e.trim().to_owned(),
            }
        })
        .collect()
}

pub(super) async fn rental_create(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let made = async {
        // The supplier by name: a new name registers the supplier.
        let name = f
            .get("supplier")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let known = st.store.suppliers().await?;
        let supplier_id = match known.iter().find(|s| s.name == name) {
            Some(s) => s.id,
            None => {
                st.store
                    .create_supplier(
                        w.ctx.clone(),
                        crate::rentals::NewSupplier {
                            name,
                            contact: None,
                            phone: None,
                            notes: None,
                        },
                    )
                    .await
                    .map_err(|e| e.with_field("supplier_id"))?
                    .id
            }
        };
        let cost = parse_yuan("cost_fen", f.get("cost").map(String::as_str).unwrap_or(""))?;
        st.store
            .create_rental(
                w.ctx.clone(),
                NewRental {
                    supplier_id,
                    request_id: get_i64(&f, "request_id")?,
                    contract_number: f.get("contract_number").cloned().unwrap_or_default(),
                    starts: f.get("starts").cloned().unwrap_or_default(),
                    ends: f.get("ends").cloned().unwrap_or_default(),
                    cost_fen: cost,
                    items: rental_items(f.get("items").map(String::as_str).unwrap_or("")),
                },
            )
            .await
    }
    .await;
    match made {
        Ok(_) => see_other_with("/rentals", Done::Saved),
        Err(e) => render_rentals(&st, &w, &f, Some(&e)).await,
    }
}

pub(super) async fn rental_action(
    State(st): State<AppState>,
    w: Web,
    Path((id, action)): Path<(i64, String)>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let epcs: Vec<String> = f
        .get("epcs")
        .map(|s| {
            s.split([',', '，', ' ', '\n'])
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let done = match action.as_str() {
        "check-out" => {
            st.store
                .move_rental_items(w.ctx.clone(), id, RentalMove::Out, RentalScan { epcs })
                .await
        }
        "return" => {
            st.store
                .move_rental_items(w.ctx.clone(), id, RentalMove::Back, RentalScan { epcs })
                .await
        }
        "return-to-supplier" => st.store.return_rental(w.ctx.clone(), id).await,
        other => Err(AppError::not_found("page", other)),
    };
    match done {
        Ok(_) => see_other_with("/rentals", Done::Saved),
        Err(e) => render_rentals(&st, &w, &Form::new(), Some(&e)).await,
    }
}
