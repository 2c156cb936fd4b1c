//! What the checks a clerk expects show on pages: stock against a request
//! by category (a warning after filing, the shortfall for the approver
//! and in the inbox), and a purchase's savings or overspending. The rules
//! are in `workflow`; these only say their figures.

use super::*;

/// Above a request served by category: enough in stock, or how short.
pub(super) fn stock_note(w: &Web, r: &Request) -> Markup {
    let Some(s) = r.stock else { return html! {} };
    let fill = |key: &str| {
        w.t(key)
            .replace("{asked}", &s.asked.to_string())
            .replace("{in_stock}", &s.in_stock.to_string())
            .replace("{short}", &s.short_by.to_string())
    };
    html! {
        @if s.is_short() {
            p.warning role="alert" data-test="short-of-stock" { (fill("short_of_stock_note")) }
        } @else {
            p.note data-test="stock-ok" { (fill("stock_ok_note")) }
        }
    }
}

/// In a list of requests: a badge on one short of stock.
pub(super) fn stock_badge(w: &Web, r: &Request) -> Markup {
    match r.stock {
        Some(s) if s.is_short() => html! {
            " " span.badge.s-lost data-test="short-badge" {
                (w.t("short_badge").replace("{n}", &s.short_by.to_string()))
            }
        },
        _ => html! {},
    }
}

/// A purchase's savings, or what it overspent: never negative savings.
pub(super) fn spending_rows(w: &Web, r: &Request) -> Markup {
    html! {
        @if let Some(saved) = r.savings_fen {
            dt { (w.t("savings")) } dd data-test="savings" { (yuan(saved)) }
        }
        @if let Some(over) = r.overspent_fen {
            dt { (w.t("overspent")) } dd.overspent data-test="overspent" { (yuan(over)) }
        }
    }
}

/// At the stage `over_budget`: what finance is asked to decide.
pub(super) fn over_budget_note(w: &Web, r: &Request) -> Markup {
    if r.stage != Stage::OverBudget {
        return html! {};
    }
    let (budget, spent) = (r.budget_fen.unwrap_or(0), r.spent_fen.unwrap_or(0));
    let text = w
        .t("over_budget_note")
        .replace("{spent}", &yuan(spent))
        .replace("{budget}", &yuan(budget))
        .replace("{over}", &yuan(spent.saturating_sub(budget)));
    html! { p.warning role="alert" data-test="over-budget" { (text) } }
}
