//! Idle findings (闲置问责): a unit's findings with an answer form each
//! (explain, list, hand in) and its marks of unused assets; the agency's
//! view of every finding in reach, escalated ones first, with the reclaim
//! order, the rules and a scan on demand. One finding's page shows its
//! whole record. Every action is the API's store call.

use super::*;
use crate::idle_rules::{Answer, IdleFinding, IdleRules, MustAct, ReclaimOrder, UsageMark};
use crate::store::idle_findings::FindingQuery;

fn status(w: &Web, f: &IdleFinding) -> Markup {
    match (f.must_act, f.outcome) {
        (Some(MustAct::Agency), _) => {
            html! { span.badge.s-lost data-test="finding-escalated" { (w.t("if_act_agency")) } }
        }
        (Some(MustAct::Unit), _) => html! { span.badge.s-on_loan { (w.t("if_act_unit")) } },
        (Some(MustAct::Keepers), _) => html! { span.badge.s-on_loan { (w.t("if_act_keepers")) } },
        (None, Some(o)) => {
            html! { span.badge.s-in_stock { (w.t(&format!("if_out_{}", o.as_str()))) } }
        }
        (None, None) => html! {},
    }
}

fn holder_name(w: &Web, f: &IdleFinding) -> String {
    f.unit.clone().unwrap_or_else(|| w.t("if_stock").to_owned())
}

fn day(d: &chrono::DateTime<chrono::Utc>) -> String {
    crate::time::shanghai(*d).format("%Y-%m-%d").to_string()
}

/// The answer form of an open finding, for those who may answer it.
fn answer_form(w: &Web, f: &IdleFinding) -> Markup {
    let held = f.unit_id.is_some() && f.rule != crate::idle_rules::IdleRule::OverdueLoan;
    html! {
        form.stack method="post" action=(format!("/idle-findings/{}/answer", f.id)) data-test="answer-finding" {
            (csrf_field(w))
            label { (w.t("if_answer"))
                select name="action" {
                    option value="explain" { (w.t("if_explain")) }
                    @if held {
                        option value="list" { (w.t("if_list")) }
                        option value="hand_in" { (w.t("if_hand_in")) }
                    }
                }
            }
            label { (w.t("if_answer_text")) textarea name="text" rows="2" {} }
            button type="submit" { (w.t("submit")) }
        }
    }
}

fn reclaim_form(w: &Web, f: &IdleFinding) -> Markup {
    html! {
        form.stack method="post" action=(format!("/idle-findings/{}/reclaim", f.id)) data-test="order-reclaim" {
            (csrf_field(w))
            label { (w.t("if_reclaim_reason")) textarea name="reason" rows="2" required {} }
            button type="submit" { (w.t("if_reclaim")) }
        }
    }
}

fn may(w: &Web, action: Action, f: &IdleFinding) -> bool {
    authorize(&w.ctx.actor, action, Scope::held(f.unit_id, f.region_id)).is_ok()
}

fn findings_table(w: &Web, list: &[&IdleFinding], actions: bool) -> Markup {
    html! {
        div.scroll { table data-test=(if actions { "open-findings" } else { "closed-findings" }) {
            thead { tr {
                th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("unit")) }
                th { (w.t("if_rule")) } th { (w.t("if_days")) } th { (w.t("rc_value_fen")) }
                th { (w.t("if_due")) } th { (w.t("if_status")) }
                @if actions { th { (w.t("if_answer")) } }
            } }
            tbody { @for f in list {
                tr data-finding=(f.id) {
                    td { a href=(format!("/idle-findings/{}", f.id)) { (f.asset_number) } }
                    td { (f.asset_name) }
                    td { (holder_name(w, f)) }
                    td { (w.t(&format!("if_rule_{}", f.rule.as_str()))) }
                    td { (f.days_idle) }
                    td { (yuan(f.value_fen)) }
                    td { (day(&f.due_at)) }
                    td { (status(w, f)) }
                    @if actions { td {
                        @if may(w, Action::AnswerIdleFinding, f) { (answer_form(w, f)) }
                        @if f.unit_id.is_some() && may(w, Action::OrderReclaim, f)
                            && f.rule != crate::idle_rules::IdleRule::OverdueLoan {
                            (reclaim_form(w, f))
                        }
                    } }
                }
            } }
        } }
    }
}

fn rules_form(w: &Web, r: &IdleRules) -> Markup {
    let n = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_default();
    html! {
        h2 { (w.t("if_rules")) }
        form.stack method="post" action="/idle-findings/rules" data-test="idle-rules" {
            (csrf_field(w))
            p.hint { (w.t("if_rule_off")) }
            label { (w.t("if_held_unseen_days")) input type="number" min="1" name="held_unseen_days" value=(n(r.held_unseen_days)); }
            label { (w.t("if_stock_unseen_days")) input type="number" min="1" name="stock_unseen_days" value=(n(r.stock_unseen_days)); }
            label { (w.t("if_listed_days")) input type="number" min="1" name="listed_days" value=(n(r.listed_days)); }
            label { (w.t("if_unused_days")) input type="number" min="1" name="unused_days" value=(n(r.unused_days)); }
            label { (w.t("if_answer_days")) input type="number" min="1" name="answer_days" value=(r.answer_days); }
            label.check { input type="checkbox" name="overdue_loans" value="1" checked[r.overdue_loans]; (w.t("if_overdue_loans")) }
            button type="submit" { (w.t("save")) }
        }
    }
}

/// The asset page's part: the asset's open findings, and for its holding
/// unit the mark unused / in use again.
pub(super) async fn asset_idle_panel(
    st: &AppState,
    w: &Web,
    a: &crate::register::Asset,
) -> Result<Markup, AppError> {
    let findings = st
        .store
        .idle_findings(
            w.ctx.clone(),
            FindingQuery {
                asset_id: Some(a.id),
                open: Some(true),
                ..FindingQuery::default()
            },
        )
        .await?;
    let may_mark = a.state == AssetState::Allocated
        && authorize(&w.ctx.actor, Action::ListIdle, a.scope()).is_ok();
    let marked = if may_mark {
        st.store
            .unused_marks(w.ctx.clone())
            .await?
            .into_iter()
            .find(|m| m.asset_id == a.id)
    } else {
        None
    };
    Ok(html! {
        @if !findings.is_empty() {
            h2 { (w.t("idle_findings")) }
            ul data-test="asset-findings" { @for f in &findings {
                li {
                    a href=(format!("/idle-findings/{}", f.id)) { (w.t(&format!("if_rule_{}", f.rule.as_str()))) }
                    " · " (f.days_idle) " · " (status(w, f))
                }
            } }
        }
        @if may_mark {
            form.inline method="post" action="/idle-findings/marks" data-test="asset-usage" {
                (csrf_field(w))
                input type="hidden" name="asset_number" value=(a.asset_number);
                input type="hidden" name="back" value=(format!("/assets/{}", a.id));
                @if let Some(m) = &marked {
                    span { (w.t("if_marked_at")) (w.lang.colon()) (day(&m.marked_at)) " " }
                    input type="hidden" name="unused" value="0";
                    button type="submit" { (w.t("if_mark_in_use")) }
                } @else {
                    input type="hidden" name="unused" value="1";
                    label { (w.t("notes")) input name="note"; }
                    button type="submit" { (w.t("if_mark_unused")) }
                }
            }
        }
    })
}

pub(super) async fn idle_findings_page(State(st): State<AppState>, w: Web) -> Response {
    render_findings(&st, &w, None).await
}

async fn render_findings(st: &AppState, w: &Web, err: Option<&AppError>) -> Response {
    let list = tryp!(
        w,
        st.store
            .idle_findings(w.ctx.clone(), FindingQuery::default())
            .await
    );
    let agency = authorize(&w.ctx.actor, Action::SetIdleRules, Scope::Global).is_ok();
    let unit_staff = matches!(
        asset_visibility(&w.ctx.actor),
        crate::policy::Visibility::UnitAndWarehouse(_)
    );
    let marks = if unit_staff {
        tryp!(w, st.store.unused_marks(w.ctx.clone()).await)
    } else {
        Vec::new()
    };
    let rules = if agency {
        Some(tryp!(w, st.store.idle_rules(w.ctx.clone()).await))
    } else {
        None
    };
    let open: Vec<&IdleFinding> = list.iter().filter(|f| f.open).collect();
    let closed: Vec<&IdleFinding> = list.iter().filter(|f| !f.open).collect();
    let body = html! {
        p.notice role="note" { (w.t("if_hint")) }
        (form_error(w.lang, err, &["text", "reason", "asset_number", "note", "held_unseen_days",
            "stock_unseen_days", "listed_days", "unused_days", "answer_days"]))
        @if authorize(&w.ctx.actor, Action::ViewReports, Scope::Global).is_ok() {
            p { a href="/reports?name=idle" data-test="idle-report" { (w.t("rt_idle")) } }
        }
        @if agency {
            form.inline method="post" action="/idle-findings/scan" {
                (csrf_field(w))
                button type="submit" data-test="scan-now" { (w.t("if_scan_now")) }
            }
        }
        h2 { (w.t("if_open_list")) }
        @if open.is_empty() { p.empty { (w.t("empty")) } } @else { (findings_table(w, &open, true)) }
        @if unit_staff {
            h2 { (w.t("if_marks")) }
            @if marks.is_empty() { p.empty { (w.t("empty")) } } @else {
                div.scroll { table data-test="unused-marks" {
                    thead { tr { th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("notes")) } th { (w.t("if_marked_at")) } th {} } }
                    tbody { @for m in &marks { tr {
                        td { a href=(format!("/assets/{}", m.asset_id)) { (m.asset_number) } }
                        td { (m.asset_name) }
                        td { (m.note.clone().unwrap_or_default()) }
                        td { (day(&m.marked_at)) }
                        td { form.inline method="post" action="/idle-findings/marks" {
                            (csrf_field(w))
                            input type="hidden" name="asset_number" value=(m.asset_number);
                            input type="hidden" name="unused" value="0";
                            button type="submit" { (w.t("if_mark_in_use")) }
                        } }
                    } } }
                } }
            }
            form.stack method="post" action="/idle-findings/marks" data-test="mark-unused" {
                (csrf_field(w))
                input type="hidden" name="unused" value="1";
                label { (w.t("asset_number")) input name="asset_number" required; (field_error(w.lang, err, "asset_number")) }
                label { (w.t("notes")) input name="note"; }
                button type="submit" { (w.t("if_mark_unused")) }
            }
        }
        @if let Some(r) = &rules { (rules_form(w, r)) }
        h2 { (w.t("if_closed_list")) }
        @if closed.is_empty() { p.empty { (w.t("empty")) } } @else { (findings_table(w, &closed, false)) }
    };
    let mut resp = layout(w, w.t("idle_findings"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

pub(super) async fn idle_finding_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    let f = tryp!(w, st.store.idle_finding(w.ctx.clone(), id).await);
    let mut q = NameQuery::default();
    for s in &f.steps {
        words::ask_who(&mut q, &s.actor);
    }
    let names = tryp!(w, st.store.names(q).await);
    let body = html! {
        dl {
            dt { (w.t("asset_number")) } dd { a href=(format!("/assets/{}", f.asset_id)) { (f.asset_number) } " " (f.asset_name) }
            dt { (w.t("unit")) } dd { (holder_name(&w, &f)) }
            dt { (w.t("if_rule")) } dd { (w.t(&format!("if_rule_{}", f.rule.as_str()))) }
            dt { (w.t("if_days")) } dd { (f.days_idle) }
            dt { (w.t("rc_value_fen")) } dd { (yuan(f.value_fen)) }
            dt { (w.t("if_due")) } dd { (day(&f.due_at)) }
            dt { (w.t("if_status")) } dd { (status(&w, &f)) }
            @if let Some(a) = &f.answer { dt { (w.t("if_answered")) } dd { (a) } }
            @if let Some(r) = f.request_id {
                dt { (w.t("request")) } dd { a href=(format!("/requests/{r}")) { (words::request_ref(w.lang, r)) } }
            }
        }
        h2 { (w.t("if_steps")) }
        ol data-test="finding-steps" { @for s in &f.steps {
            li {
                (when(&s.at)) " " (words::person(w.lang, &names, &s.actor)) " "
                (w.t(&format!("if_step_{}", s.action)))
                @if let Some(n) = &s.note { (w.lang.colon()) (n) }
            }
        } }
        @if f.open {
            @if may(&w, Action::AnswerIdleFinding, &f) { (answer_form(&w, &f)) }
            @if f.unit_id.is_some() && may(&w, Action::OrderReclaim, &f)
                && f.rule != crate::idle_rules::IdleRule::OverdueLoan {
                (reclaim_form(&w, &f))
            }
        }
        p { a href="/idle-findings" { (w.t("idle_findings")) } }
    };
    layout(
        &w,
        &format!("{} · {}", w.t("if_finding"), f.asset_number),
        body,
    )
}

pub(super) async fn idle_finding_answer(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let text_of = || text(&f, "text");
    let answer = match f.get("action").map(String::as_str) {
        Some("list") => Answer::List { notes: text_of() },
        Some("hand_in") => Answer::HandIn { reason: text_of() },
        _ => Answer::Explain {
            text: text_of().unwrap_or_default(),
        },
    };
    match st
        .store
        .answer_idle_finding(w.ctx.clone(), id, answer)
        .await
    {
        Ok(_) => see_other_with(&format!("/idle-findings/{id}"), Done::Saved),
        Err(e) => render_findings(&st, &w, Some(&e)).await,
    }
}

pub(super) async fn idle_finding_reclaim(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let order = ReclaimOrder {
        reason: text(&f, "reason").unwrap_or_default(),
    };
    match st.store.order_reclaim(w.ctx.clone(), id, order).await {
        Ok(_) => see_other_with(&format!("/idle-findings/{id}"), Done::Saved),
        Err(e) => render_findings(&st, &w, Some(&e)).await,
    }
}

pub(super) async fn idle_scan(State(st): State<AppState>, w: Web) -> Response {
    tryp!(w, st.store.scan_idle(w.ctx.clone()).await);
    see_other_with("/idle-findings", Done::Saved)
}

pub(super) async fn idle_mark(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    let f = form(&body);
    let marked = async {
        let number = text(&f, "asset_number").ok_or_else(|| required("asset_number"))?;
        let ids = st
            .store
            .asset_ids_by_number("asset_number", vec![number])
            .await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| required("asset_number"))?;
        st.store
            .mark_usage(
                w.ctx.clone(),
                id,
                UsageMark {
                    unused: f.get("unused").map(String::as_str) != Some("0"),
                    note: text(&f, "note"),
                },
            )
            .await
    }
    .await;
    // Back to the asset page the form was on, or the findings page.
    let back = f
        .get("back")
        .filter(|b| {
            b.strip_prefix("/assets/")
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        })
        .map_or("/idle-findings", String::as_str);
    match marked {
        Ok(_) => see_other_with(back, Done::Saved),
        Err(e) => render_findings(&st, &w, Some(&e)).await,
    }
}

pub(super) async fn idle_rules_save(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let saved = async {
        let rules = IdleRules {
            held_unseen_days: get_i64(&f, "held_unseen_days")?,
            stock_unseen_days: get_i64(&f, "stock_unseen_days")?,
            listed_days: get_i64(&f, "listed_days")?,
            unused_days: get_i64(&f, "unused_days")?,
            answer_days: get_i64(&f, "answer_days")?.ok_or_else(|| required("answer_days"))?,
            overdue_loans: f.contains_key("overdue_loans"),
        };
        st.store.set_idle_rules(w.ctx.clone(), rules).await
    }
    .await;
    match saved {
        Ok(_) => see_other_with("/idle-findings", Done::Saved),
        Err(e) => render_findings(&st, &w, Some(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::{t, Lang};
    use crate::idle_rules::{IdleRule, Outcome};

    /// Every rule, outcome and step a page shows has its words.
    #[test]
    fn every_rule_outcome_and_step_has_words() {
        let mut keys: Vec<String> = IdleRule::ALL
            .iter()
            .map(|r| format!("if_rule_{}", r.as_str()))
            .collect();
        for o in Outcome::ALL {
            keys.push(format!("if_out_{}", o.as_str()));
            keys.push(format!("if_step_{}", o.as_str()));
        }
        keys.push("if_step_opened".into());
        keys.push("if_step_escalated".into());
        for k in keys {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(t(lang, &k), "?", "{k} has no word");
            }
        }
    }
}
