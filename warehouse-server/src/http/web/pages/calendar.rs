//! 日历/档期 — a month of days × categories: how many items are free each
//! day (none free marked), and below, the reservations and loans
//! occupying the month, each linked to its request. The counts are
//! `store::availability_all` (the rule is `crate::reserve`).

use super::*;
use crate::reserve::Hold;
use chrono::{Datelike, NaiveDate};

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct CalendarFilter {
    /// YYYY-MM (default: this month).
    month: Option<String>,
    warehouse_id: Option<String>,
    category_id: Option<String>,
}

/// The first and last day of the month `YYYY-MM`.
fn month_span(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((first, next.pred_opt()?))
}

fn id_param(field: &str, v: &Option<String>) -> Result<Option<i64>, AppError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| not_understood(field, e)),
    }
}

pub(super) async fn calendar(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<CalendarFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewRegister, Scope::Global)
    );
    let this_month = crate::time::shanghai_today()
        .get(..7)
        .unwrap_or_default()
        .to_owned();
    let month = f
        .month
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or(this_month);
    let Some((from, to)) = month_span(&month) else {
        return fail(
            &w,
            AppError::from(Reason::BadDate {
                field: "month".into(),
                value: month,
            })
            .with_field("month"),
        );
    };
    let warehouse = tryp!(w, id_param("warehouse_id", &f.warehouse_id));
    let category = tryp!(w, id_param("category_id", &f.category_id));
    let warehouses = tryp!(w, st.store.list_warehouses(1, 500).await).items;
    let mut rows = tryp!(w, st.store.availability_all(warehouse, from, to).await);
    let all_categories: Vec<(i64, String)> = rows
        .iter()
        .map(|a| (a.category_id, a.category.clone()))
        .collect();
    if let Some(c) = category {
        rows.retain(|a| a.category_id == c);
    }
    let prev = from
        .pred_opt()
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default();
    let next = to
        .succ_opt()
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default();
    let keep = |m: &str| {
        list_url(
            "/calendar",
            &[
                ("month", Some(m)),
                ("warehouse_id", f.warehouse_id.as_deref()),
                ("category_id", f.category_id.as_deref()),
            ],
            1,
        )
    };
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let body = html! {
        form.filters method="get" action="/calendar" {
            label { (w.t("cal_month")) input type="month" name="month" value=(month); }
            label { (w.t("cal_warehouse")) select name="warehouse_id" {
                option value="" { (w.t("cal_network")) }
                @for wh in &warehouses {
                    option value=(wh.id) selected[warehouse == Some(wh.id)] { (wh.name) }
                }
            } }
            label { (w.t("category")) select name="category_id" {
                option value="" { (w.t("cal_all_categories")) }
                @for (id, name) in &all_categories {
                    option value=(id) selected[category == Some(*id)] { (name) }
                }
            } }
            button type="submit" { (w.t("cal_show")) }
        }
        p {
            a href=(keep(&prev)) data-test="prev-month" { "‹ " (prev) }
            " · " strong { (month) } " · "
            a href=(keep(&next)) data-test="next-month" { (next) " ›" }
        }
        p.hint { (w.t("cal_hint")) }
        @if rows.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table.calendar data-test="calendar" {
                thead { tr {
                    th { (w.t("category")) }
                    @for d in &days {
                        th title=(d.to_string()) { (d.day()) }
                    }
                } }
                tbody {
                    @for a in &rows {
                        tr {
                            th { (a.category) }
                            @for d in &a.days {
                                @let title = format!("{} · {} {} · {} {} · {} {} · {} {}", d.date,
                                    w.t("cal_pool"), d.pool, w.t("reserved"), d.reserved,
                                    w.t("cal_out"), d.out, w.t("under_repair"), d.under_repair);
                                @if d.free == 0 {
                                    td.full data-free="0" data-date=(d.date) title=(title) { strong { "0" } }
                                } @else {
                                    td data-free=(d.free) data-date=(d.date) title=(title) { (d.free) }
                                }
                            }
                        }
                    }
                }
            } }
            h2 { (w.t("cal_bookings")) }
            table data-test="bookings" {
                thead { tr {
                    th { (w.t("category")) } th { (w.t("request")) } th { (w.t("cal_hold")) }
                    th { (w.t("quantity")) } th { (w.t("loan_start")) } th { (w.t("loan_due")) }
                } }
                tbody {
                    @for a in &rows {
                        @for b in &a.bookings {
                            tr {
                                td { (a.category) }
                                td { a href=(format!("/requests/{}", b.request_id)) { (words::request_title(w.lang, b.kind, b.request_id)) } }
                                td { @match b.hold { Hold::Reserved => (w.t("reserved")), Hold::Out => (w.t("cal_out")) } }
                                td { (b.quantity) }
                                td { (b.first) }
                                td { @match b.last { Some(l) => (l), None => (w.t("cal_until_returned")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&w, w.t("calendar"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_its_first_to_its_last_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let table = [
            ("2099-02", d("2099-02-01").zip(d("2099-02-28"))),
            ("2096-02", d("2096-02-01").zip(d("2096-02-29"))),
            ("2099-12", d("2099-12-01").zip(d("2099-12-31"))),
            ("2099-13", None),
            ("march", None),
        ];
        for (month, want) in table {
            assert_eq!(month_span(month), want, "{month}");
        }
    }
}
