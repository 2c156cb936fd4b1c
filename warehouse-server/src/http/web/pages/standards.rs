//! Configuration standards (配置标准): the administrator's forms (a
//! category's standard, a unit's staff count; shown on the admin page by
//! [`standards_section`]) and the over-standard requests page.

use super::*;

/// The admin page's section: every standard, and the two forms.
pub(super) fn standards_section(
    w: &Web,
    standards: &[crate::standards::Standard],
    cats: &[crate::register::Category],
    units: &[crate::register::Unit],
) -> Markup {
    let cat_name = |id: i64| {
        cats.iter()
            .find(|c| c.id == id)
            .map_or(String::new(), |c| format!("{} {}", c.code, c.name))
    };
    let num = |v: Option<i64>| v.map_or("—".to_owned(), |n| n.to_string());
    html! {
        div {
            h2 { (w.t("standards")) }
            p { a href="/reports/over-standard" { (w.t("over_standard_report")) } }
            div.scroll { table data-test="standards" {
                thead { tr { th { (w.t("category")) } th { (w.t("per_unit")) } th { (w.t("per_staff")) } th { (w.t("price_ceiling")) } } }
                tbody { @for s in standards { tr {
                    td { (cat_name(s.category_id)) } td { (num(s.per_unit)) } td { (num(s.per_staff)) }
                    td { (s.price_ceiling_fen.map_or("—".to_owned(), yuan)) }
                } } }
            } }
            form.stack method="post" action="/admin/standards" {
                (csrf_field(w))
                label { (w.t("category")) select name="category_id" { @for c in cats { option value=(c.id) { (c.code) " " (c.name) } } } }
                label { (w.t("per_unit")) input name="per_unit" inputmode="numeric"; }
                label { (w.t("per_staff")) input name="per_staff" inputmode="numeric"; }
                label { (w.t("price_ceiling")) input name="price_ceiling" inputmode="decimal"; }
                button type="submit" data-test="save-standard" { (w.t("save")) }
            }
            form.stack method="post" action="/admin/staff-count" {
                (csrf_field(w))
                label { (w.t("unit")) select name="unit_id" { @for u in units { option value=(u.id) { (u.name) } } } }
                label { (w.t("staff_count")) input name="staff_count" inputmode="numeric" required; }
                button type="submit" data-test="save-staff-count" { (w.t("save")) }
            }
        }
    }
}

pub(super) async fn admin_standard(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let Some(category) = tryp!(w, get_i64(&f, "category_id")) else {
        return fail(&w, required("category_id"));
    };
    let ceiling = match text(&f, "price_ceiling") {
        Some(v) => Some(tryp!(w, parse_yuan("price_ceiling", &v))),
        None => None,
    };
    let n = crate::standards::NewStandard {
        per_unit: tryp!(w, get_i64(&f, "per_unit")),
        per_staff: tryp!(w, get_i64(&f, "per_staff")),
        price_ceiling_fen: ceiling,
    };
    tryp!(w, st.store.set_standard(w.ctx.clone(), category, n).await);
    see_other_with("/admin", Done::Saved)
}

pub(super) async fn admin_staff_count(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let Some(unit) = tryp!(w, get_i64(&f, "unit_id")) else {
        return fail(&w, required("unit_id"));
    };
    let Some(n) = tryp!(w, get_i64(&f, "staff_count")) else {
        return fail(&w, required("staff_count"));
    };
    tryp!(w, st.store.set_staff_count(w.ctx.clone(), unit, n).await);
    see_other_with("/admin", Done::Saved)
}

/// 超标准申请: each request beyond the standard with its numbers and the
/// agency head's extra approval (who, when) or that it waits for it.
pub(super) async fn over_standard_page(State(st): State<AppState>, w: Web) -> Response {
    let rows = tryp!(
        w,
        st.store
            .over_standard_requests(w.ctx.actor.clone(), false)
            .await
    );
    let mut q = NameQuery::default();
    for r in &rows {
        q.unit(r.unit_id);
        for e in &r.excesses {
            q.category(Some(e.category_id));
        }
        if let Some(by) = &r.approved_by {
            words::ask_who(&mut q, by);
        }
    }
    let names = tryp!(w, st.store.names(q).await);
    let num = |v: Option<i64>| v.map_or("—".to_owned(), |n| n.to_string());
    let money = |v: Option<i64>| v.map_or("—".to_owned(), yuan);
    let body = html! {
        @if rows.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="over-standard" {
                thead { tr {
                    th { (w.t("request")) } th { (w.t("unit")) } th { (w.t("stage")) } th { (w.t("category")) }
                    th { (w.t("os_held")) } th { (w.t("os_asked")) } th { (w.t("os_limit")) }
                    th { (w.t("os_price")) } th { (w.t("os_ceiling")) } th { (w.t("approve_over_standard")) }
                } }
                tbody { @for r in &rows { @for e in &r.excesses { tr {
                    td { a href=(format!("/requests/{}", r.request_id)) { (w.t("request_no").replace("{n}", &r.request_id.to_string())) } " " (w.tv(&r.kind)) }
                    td { (r.unit_id.map(|u| words::unit(w.lang, &names, u)).unwrap_or_default()) }
                    td { (w.tv(&r.stage)) }
                    td { (words::category(w.lang, &names, e.category_id)) }
                    td { (e.held) } td { (e.asked) } td { (num(e.limit)) }
                    td { (money(e.price_fen)) } td { (money(e.ceiling_fen)) }
                    td {
                        @if let (Some(by), Some(at)) = (&r.approved_by, &r.approved_at) {
                            (words::person(w.lang, &names, by)) " " (when(at))
                        } @else if r.awaiting.is_some() { (w.t("os_waiting")) } @else { "—" }
                    }
                } } } }
            } }
        }
    };
    layout(&w, w.t("over_standard_report"), body)
}
