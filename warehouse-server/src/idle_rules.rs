//! Idle detection (闲置发现): the agency's rules and the one decision of
//! which rule an asset breaks and for how many days. Pure: the store
//! gathers each asset's facts, asks [`judge`], and records the answer as
//! findings (`store::idle_findings`), one open finding per asset and rule.
//!
//! The rules:
//! - `unseen_held`: held by a unit and not read by any reader or
//!   stock-take for `held_unseen_days` (last seen as the asset page shows
//!   it, `asset_last_seen` and `asset_last_seen_recent`; never read:
//!   counted from its registration);
//! - `unseen_stock`: the same for warehouse stock, `stock_unseen_days`;
//! - `overdue_loan`: out on a loan past its due date (the one overdue rule,
//!   [`crate::workflow::loan_overdue`]); days idle are days overdue;
//! - `listed_untaken`: listed idle in the virtual warehouse for
//!   `listed_days` without a taker;
//! - `marked_unused`: held, and marked unused by its unit (闲置标记) for
//!   `unused_days`.
//!
//! A rule whose days are `None` is off. Assets lost or disposed of break
//! no rule; a listed asset breaks only the listing rule (its unit has
//! already offered it).
//!
//! Accountability (问责): a finding goes to the unit that must act (the
//! holder; an overdue loan's borrower; the keepers for warehouse stock)
//! with `answer_days` to answer — explain, list it in the virtual
//! warehouse or hand it in. Unanswered past its deadline it escalates to
//! the agency ([`escalates`]), which may order a reclaim (收回). An
//! explanation answers for the idle time up to it: the same asset is not
//! raised under the same rule again for the rule's own days
//! ([`explanation_holds`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppResult, Reason};
use crate::workflow::{loan_overdue, Stage};

/// One day in milliseconds (days idle are whole days since a time).
pub const DAY_MS: i64 = 86_400_000;

/// Most days a rule may name (a century).
pub const MAX_DAYS: i64 = 36_500;

/// The rules a finding can be raised under.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IdleRule {
    UnseenHeld,
    UnseenStock,
    OverdueLoan,
    ListedUntaken,
    MarkedUnused,
}

impl IdleRule {
    pub const ALL: [IdleRule; 5] = [
        IdleRule::UnseenHeld,
        IdleRule::UnseenStock,
        IdleRule::OverdueLoan,
        IdleRule::ListedUntaken,
        IdleRule::MarkedUnused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdleRule::UnseenHeld => "unseen_held",
            IdleRule::UnseenStock => "unseen_stock",
            IdleRule::OverdueLoan => "overdue_loan",
            IdleRule::ListedUntaken => "listed_untaken",
            IdleRule::MarkedUnused => "marked_unused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The agency's rules (stored in `idle_rules`, one row; until set, the
/// defaults). Days absent: that rule is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdleRules {
    /// Days unread before an asset held by a unit is idle.
    pub held_unseen_days: Option<i64>,
    /// Days unread before warehouse stock is idle.
    pub stock_unseen_days: Option<i64>,
    /// Days listed in the virtual warehouse without a taker.
    pub listed_days: Option<i64>,
    /// Whether loans past their due date raise findings.
    pub overdue_loans: bool,
    /// Days an asset stays marked unused by its unit before it is idle.
    pub unused_days: Option<i64>,
    /// Days the unit has to answer a finding before it escalates to the
    /// agency (absent: 15).
    #[serde(default = "default_answer_days")]
    pub answer_days: i64,
}

fn default_answer_days() -> i64 {
    15
}

impl Default for IdleRules {
    /// Half a year unread at a unit, a year in stock, three months listed.
    fn default() -> Self {
        Self {
            held_unseen_days: Some(180),
            stock_unseen_days: Some(365),
            listed_days: Some(90),
            overdue_loans: true,
            unused_days: Some(30),
            answer_days: default_answer_days(),
        }
    }
}

impl IdleRules {
    /// Refuses days below one, naming the field (negative: `Negative`).
    pub fn check(&self) -> AppResult<()> {
        for (field, days) in [
            ("held_unseen_days", self.held_unseen_days),
            ("stock_unseen_days", self.stock_unseen_days),
            ("listed_days", self.listed_days),
            ("unused_days", self.unused_days),
            ("answer_days", Some(self.answer_days)),
        ] {
            match days {
                Some(d) if d < 0 => {
                    return Err(Reason::Negative {
                        field: field.into(),
                    }
                    .into())
                }
                Some(d) if !(1..=MAX_DAYS).contains(&d) => {
                    return Err(Reason::OutOfRange {
                        field: field.into(),
                        min: 1,
                        max: MAX_DAYS,
                    }
                    .into())
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What the store knows of one asset when it scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFacts<'a> {
    /// Held by a unit (else warehouse stock).
    pub held_by_unit: bool,
    /// The lifecycle state (`assets.state`).
    pub state: &'a str,
    /// Last read by a reader or stock-take; never read: registered.
    pub last_seen_ms: i64,
    /// When it was listed in the virtual warehouse, if it is.
    pub listed_at_ms: Option<i64>,
    /// The loan it is out on: the loan's stage and due date.
    pub loan: Option<(Stage, &'a str)>,
    /// Since when its holding unit has marked it unused.
    pub unused_since_ms: Option<i64>,
}

/// A rule an asset breaks and for how many whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breach {
    pub rule: IdleRule,
    pub days: i64,
}

/// Whole days from `since_ms` to `now_ms` (0 if `since` is later).
pub fn days_between(since_ms: i64, now_ms: i64) -> i64 {
    (now_ms.saturating_sub(since_ms) / DAY_MS).max(0)
}

/// Days from the date `due` (YYYY-MM-DD) to `today`; 0 if either is not
/// a date.
fn days_past(due: &str, today: &str) -> i64 {
    match (
        NaiveDate::parse_from_str(due, "%Y-%m-%d"),
        NaiveDate::parse_from_str(today, "%Y-%m-%d"),
    ) {
        (Ok(d), Ok(t)) => (t - d).num_days().max(0),
        _ => 0,
    }
}

/// The rules `facts` breaks under `rules`, at `now_ms` (today, in
/// Asia/Shanghai, is `today`).
pub fn judge(rules: &IdleRules, facts: &AssetFacts<'_>, now_ms: i64, today: &str) -> Vec<Breach> {
    let mut out = Vec::new();
    if matches!(facts.state, "lost" | "disposed") {
        return out;
    }
    let unseen = days_between(facts.last_seen_ms, now_ms);
    let (rule, limit) = if facts.held_by_unit {
        (IdleRule::UnseenHeld, rules.held_unseen_days)
    } else {
        (IdleRule::UnseenStock, rules.stock_unseen_days)
    };
    if facts.state != "listed_idle" && limit.is_some_and(|n| unseen >= n) {
        out.push(Breach { rule, days: unseen });
    }
    if let (true, Some(since), Some(n)) = (
        facts.held_by_unit && facts.state == "allocated",
        facts.unused_since_ms,
        rules.unused_days,
    ) {
        let days = days_between(since, now_ms);
        if days >= n {
            out.push(Breach {
                rule: IdleRule::MarkedUnused,
                days,
            });
        }
    }
    if rules.overdue_loans {
        if let Some((stage, due)) = facts.loan {
            if loan_overdue(stage, Some(due), today) {
                out.push(Breach {
                    rule: IdleRule::OverdueLoan,
                    days: days_past(due, today),
                });
            }
        }
    }
    if facts.state == "listed_idle" {
        if let (Some(at), Some(n)) = (facts.listed_at_ms, rules.listed_days) {
            let days = days_between(at, now_ms);
            if days >= n {
                out.push(Breach {
                    rule: IdleRule::ListedUntaken,
                    days,
                });
            }
        }
    }
    out
}

/// Whether an explanation given at `explained_ms` still answers for
/// `rule` at `now_ms`: for the rule's own days (an overdue loan: the
/// answer days), after which the asset is judged afresh.
pub fn explanation_holds(
    rules: &IdleRules,
    rule: IdleRule,
    explained_ms: i64,
    now_ms: i64,
) -> bool {
    let days = match rule {
        IdleRule::UnseenHeld => rules.held_unseen_days,
        IdleRule::UnseenStock => rules.stock_unseen_days,
        IdleRule::ListedUntaken => rules.listed_days,
        IdleRule::MarkedUnused => rules.unused_days,
        IdleRule::OverdueLoan => Some(rules.answer_days),
    };
    days.is_some_and(|d| days_between(explained_ms, now_ms) < d)
}

/// Whether an open, unanswered finding due at `due_ms` escalates to the
/// agency at `now_ms` (the deadline itself is still in time).
pub fn escalates(due_ms: i64, now_ms: i64) -> bool {
    now_ms > due_ms
}

/// When a finding opened at `opened_ms` must be answered.
pub fn due_at(rules: &IdleRules, opened_ms: i64) -> i64 {
    opened_ms.saturating_add(rules.answer_days.saturating_mul(DAY_MS))
}

/// How a finding closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 说明 — the unit explained why (text kept).
    Explained,
    /// 发布虚拟仓 — the unit listed it in the virtual warehouse.
    Listed,
    /// 交回 — the unit handed it in (an intake request).
    HandedIn,
    /// 收回 — the agency ordered it reclaimed (an intake request the
    /// unit cannot refuse).
    Reclaimed,
    /// A scan found the asset no longer idle (seen, returned, taken).
    Resolved,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Explained,
        Outcome::Listed,
        Outcome::HandedIn,
        Outcome::Reclaimed,
        Outcome::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Explained => "explained",
            Outcome::Listed => "listed",
            Outcome::HandedIn => "handed_in",
            Outcome::Reclaimed => "reclaimed",
            Outcome::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A unit's answer to a finding (`{"action": "explain", "text": …}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// Explain why the asset is idle (≤ 1000 characters).
    Explain { text: String },
    /// List it in the virtual warehouse for another unit to take.
    List { notes: Option<String> },
    /// Hand it in to the warehouse: files an intake request.
    HandIn { reason: Option<String> },
}

/// [`Answer`] externally tagged (`{"explain": {"text": …}}`), read again
/// by `http::extract::parse_tagged` so a refused body names its field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerByName {
    Explain { text: String },
    List { notes: Option<String> },
    HandIn { reason: Option<String> },
}

impl From<AnswerByName> for Answer {
    fn from(a: AnswerByName) -> Self {
        match a {
            AnswerByName::Explain { text } => Answer::Explain { text },
            AnswerByName::List { notes } => Answer::List { notes },
            AnswerByName::HandIn { reason } => Answer::HandIn { reason },
        }
    }
}

/// The agency's reclaim order (收回令): why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimOrder {
    pub reason: String,
}

/// A unit's mark on a held asset: unused (闲置) or in use again.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageMark {
    /// `true`: not in use; `false`: in use again (the mark is removed).
    pub unused: bool,
    pub note: Option<String>,
}

/// One step taken on a finding: who, when, what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingStep {
    /// `opened`, `escalated`, `explained`, `listed`, `handed_in`,
    /// `reclaimed`, `resolved`.
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub request_id: Option<i64>,
}

/// One finding: an asset breaking a rule, from when it was first found
/// until it no longer does.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdleFinding {
    pub id: i64,
    pub asset_id: i64,
    pub asset_number: String,
    pub asset_name: String,
    /// The holding unit (absent: warehouse stock).
    pub unit_id: Option<i64>,
    pub unit: Option<String>,
    pub region_id: Option<i64>,
    pub rule: IdleRule,
    /// Days idle at the last scan that found it open.
    pub days_idle: i64,
    /// The asset's original value, fen.
    pub value_fen: i64,
    pub opened_at: DateTime<Utc>,
    /// The unit's answer is due by then.
    pub due_at: DateTime<Utc>,
    /// When it went to the agency unanswered.
    pub escalated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub open: bool,
    /// Who must act on it now (absent once closed).
    pub must_act: Option<MustAct>,
    pub outcome: Option<Outcome>,
    /// The explanation, listing notes or hand-in reason; a reclaim's reason.
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The intake request a hand-in or reclaim filed.
    pub request_id: Option<i64>,
    /// Every step, oldest first (only in a single finding's answer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<FindingStep>,
}

/// Who must act on an open finding (for the warnings page, 预警).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MustAct {
    /// The holding (or borrowing) unit: answer by the deadline.
    Unit,
    /// The keepers: a finding about warehouse stock.
    Keepers,
    /// The agency: the deadline passed unanswered.
    Agency,
}

impl MustAct {
    pub fn of(open: bool, escalated: bool, unit: Option<i64>) -> Option<MustAct> {
        match (open, escalated, unit) {
            (false, _, _) => None,
            (true, true, _) => Some(MustAct::Agency),
            (true, false, Some(_)) => Some(MustAct::Unit),
            (true, false, None) => Some(MustAct::Keepers),
        }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScanSummary {
    /// Findings opened by this scan.
    pub opened: i64,
    /// Findings open before and still open.
    pub still_open: i64,
    /// Findings this scan closed (the asset seen, returned or taken).
    pub closed: i64,
    /// Findings this scan escalated to the agency (unanswered past their
    /// deadline).
    pub escalated: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 4_070_908_800_000; // 2099-01-01 00:00 UTC
    const TODAY: &str = "2099-01-01";

    fn held(last_seen_days_ago: i64) -> AssetFacts<'static> {
        AssetFacts {
            held_by_unit: true,
            state: "allocated",
            last_seen_ms: NOW - last_seen_days_ago * DAY_MS,
            listed_at_ms: None,
            loan: None,
            unused_since_ms: None,
        }
    }

    #[test]
    fn an_asset_held_unread_for_the_days_breaks_the_held_rule() {
        let rules = IdleRules::default();
        assert_eq!(judge(&rules, &held(179), NOW, TODAY), vec![]);
        assert_eq!(
            judge(&rules, &held(180), NOW, TODAY),
            vec![Breach {
                rule: IdleRule::UnseenHeld,
                days: 180
            }]
        );
    }

    #[test]
    fn stock_has_its_own_days_and_a_rule_off_raises_nothing() {
        let rules = IdleRules {
            stock_unseen_days: Some(30),
            held_unseen_days: None,
            ..IdleRules::default()
        };
        let stock = AssetFacts {
            held_by_unit: false,
            state: "in_stock",
            ..held(40)
        };
        assert_eq!(
            judge(&rules, &stock, NOW, TODAY),
            vec![Breach {
                rule: IdleRule::UnseenStock,
                days: 40
            }]
        );
        assert_eq!(judge(&rules, &held(4000), NOW, TODAY), vec![]);
    }

    #[test]
    fn lost_and_disposed_assets_are_not_idle() {
        for state in ["lost", "disposed"] {
            let f = AssetFacts {
                state,
                ..held(1000)
            };
            assert_eq!(judge(&IdleRules::default(), &f, NOW, TODAY), vec![]);
        }
    }

    #[test]
    fn an_overdue_loan_counts_days_past_its_due_date() {
        let rules = IdleRules::default();
        let out = AssetFacts {
            loan: Some((Stage::OnLoan, "2098-12-20")),
            ..held(0)
        };
        assert_eq!(
            judge(&rules, &out, NOW, TODAY),
            vec![Breach {
                rule: IdleRule::OverdueLoan,
                days: 12
            }]
        );
        // Due today is not overdue; a loan not yet on loan is not either.
        let due_today = AssetFacts {
            loan: Some((Stage::OnLoan, TODAY)),
            ..held(0)
        };
        assert_eq!(judge(&rules, &due_today, NOW, TODAY), vec![]);
        let receipt = AssetFacts {
            loan: Some((Stage::Receipt, "2098-12-20")),
            ..held(0)
        };
        assert_eq!(judge(&rules, &receipt, NOW, TODAY), vec![]);
        let off = IdleRules {
            overdue_loans: false,
            ..rules
        };
        assert_eq!(judge(&off, &out, NOW, TODAY), vec![]);
    }

    #[test]
    fn a_long_listing_breaks_the_listed_rule() {
        let rules = IdleRules {
            listed_days: Some(10),
            ..IdleRules::default()
        };
        let listed = AssetFacts {
            state: "listed_idle",
            listed_at_ms: Some(NOW - 11 * DAY_MS),
            ..held(0)
        };
        assert_eq!(
            judge(&rules, &listed, NOW, TODAY),
            vec![Breach {
                rule: IdleRule::ListedUntaken,
                days: 11
            }]
        );
        let fresh = AssetFacts {
            listed_at_ms: Some(NOW - 9 * DAY_MS),
            ..listed
        };
        assert_eq!(judge(&rules, &fresh, NOW, TODAY), vec![]);
    }

    #[test]
    fn bad_days_are_refused_naming_the_field() {
        let neg = IdleRules {
            listed_days: Some(-1),
            ..IdleRules::default()
        };
        let e = neg.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("listed_days"), "{e}");
        let zero = IdleRules {
            held_unseen_days: Some(0),
            ..IdleRules::default()
        };
        let e = zero
            .check()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("held_unseen_days"), "{e}");
        assert!(IdleRules::default().check().is_ok());
    }

    #[test]
    fn a_mark_unused_for_the_days_breaks_the_unused_rule_and_a_listing_only_its_own() {
        let rules = IdleRules::default();
        let marked = AssetFacts {
            unused_since_ms: Some(NOW - 30 * DAY_MS),
            ..held(0)
        };
        assert_eq!(
            judge(&rules, &marked, NOW, TODAY),
            vec![Breach {
                rule: IdleRule::MarkedUnused,
                days: 30
            }]
        );
        let recent = AssetFacts {
            unused_since_ms: Some(NOW - 29 * DAY_MS),
            ..held(0)
        };
        assert_eq!(judge(&rules, &recent, NOW, TODAY), vec![]);
        // Listed and unread for years: only the listing counts.
        let listed = AssetFacts {
            state: "listed_idle",
            listed_at_ms: Some(NOW - 5 * DAY_MS),
            ..held(4000)
        };
        assert_eq!(judge(&rules, &listed, NOW, TODAY), vec![]);
    }

    #[test]
    fn an_explanation_holds_for_the_rules_days_and_deadlines_escalate_after_they_pass() {
        let rules = IdleRules {
            held_unseen_days: Some(30),
            answer_days: 10,
            ..IdleRules::default()
        };
        let at = NOW - 29 * DAY_MS;
        assert!(explanation_holds(&rules, IdleRule::UnseenHeld, at, NOW));
        assert!(!explanation_holds(
            &rules,
            IdleRule::UnseenHeld,
            at - DAY_MS,
            NOW
        ));
        assert!(!explanation_holds(&rules, IdleRule::OverdueLoan, at, NOW));
        assert!(explanation_holds(
            &rules,
            IdleRule::OverdueLoan,
            NOW - 9 * DAY_MS,
            NOW
        ));
        let due = due_at(&rules, NOW);
        assert_eq!(due, NOW + 10 * DAY_MS);
        assert!(!escalates(due, due));
        assert!(escalates(due, due + 1));
    }

    #[test]
    fn rule_names_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for r in IdleRule::ALL {
            assert_eq!(IdleRule::parse(r.as_str()), Some(r));
        }
        assert_eq!(IdleRule::parse("nope"), None);
    }
}
