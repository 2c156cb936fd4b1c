//! Stock-takes (盘点): what a keeper expects in a warehouse or location,
//! compared live with what its handheld readers scan. The rules live here
//! as plain functions ([`classify`], [`Counts::tally`], [`windows`]);
//! the store classifies rows with SQL joins that follow them (a stock-take
//! of 100,000 EPCs is counted in the database, not loaded into memory) and
//! keeps the closed report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use shared::sync::{Outcome, Resolution, ResolutionAction, StockTakeLine as Line};

/// The order lines are listed in: differences first.
pub const LINE_ORDER: [Outcome; 4] = [
    Outcome::Missing,
    Outcome::Misplaced,
    Outcome::Foreign,
    Outcome::Found,
];

/// The one classification rule. `bound`: the EPC (scanned or not) is an
/// asset's active tag; `expected`: that asset is in the stock-take's
/// snapshot; `scanned`: a reader of the stock-take saw the EPC. None: no
/// line (an asset neither expected nor seen here).
pub fn classify(bound: bool, expected: bool, scanned: bool) -> Option<Outcome> {
    match (bound, expected, scanned) {
        (false, _, true) => Some(Outcome::Foreign),
        (false, _, false) => None,
        (true, true, true) => Some(Outcome::Found),
        (true, true, false) => Some(Outcome::Missing),
        (true, false, true) => Some(Outcome::Misplaced),
        (true, false, false) => None,
    }
}

/// Which resolution actions make sense for which outcome.
pub fn applies_to(action: ResolutionAction, outcome: Outcome) -> bool {
    matches!(
        (action, outcome),
        (ResolutionAction::Relocate, Outcome::Misplaced)
            | (ResolutionAction::MarkMissing, Outcome::Missing)
            | (
                ResolutionAction::Ignore,
                Outcome::Missing | Outcome::Misplaced | Outcome::Foreign
            )
    )
}

/// Key a line's resolution is stored under.
pub fn subject(line: &Line) -> String {
    match (line.asset_id, &line.epc) {
        (Some(a), _) => format!("asset:{a}"),
        (None, Some(e)) => format!("epc:{e}"),
        (None, None) => String::new(),
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStockTake {
    /// The warehouse counted (a warehouse stock-take) …
    pub warehouse_id: Option<i64>,
    /// … or the unit whose held assets are counted at its premises (巡检,
    /// an inspection); one of the two.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Narrow to one location of the warehouse.
    pub location_id: Option<i64>,
    /// Readers (handhelds) whose observations count toward it.
    pub reader_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockTake {
    pub id: i64,
    /// The warehouse counted; `None` for an inspection at a unit.
    pub warehouse_id: Option<i64>,
    /// 巡检: the unit whose held assets are counted at its premises.
    pub unit_id: Option<i64>,
    pub location_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    pub reader_ids: Vec<i64>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// An inspection's confirmation by the unit's staff: who, when, and
    /// what they remarked.
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirm_remark: Option<String>,
    /// A closed inspection the unit has not yet confirmed (待单位确认).
    #[serde(default)]
    pub awaiting_confirmation: bool,
}

impl StockTake {
    /// The rule of an inspection's last step: closed by the keeper, not yet
    /// confirmed by the unit.
    pub fn awaits_confirmation(&self) -> bool {
        self.unit_id.is_some() && self.status == "closed" && self.confirmed_at.is_none()
    }
}

/// The unit's confirmation of an inspection's result (单位确认).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// What the unit wants recorded with its confirmation.
    pub remark: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResolution {
    /// For found/missing/misplaced lines.
    pub asset_id: Option<i64>,
    /// For foreign lines (hex).
    pub epc: Option<String>,
    pub action: ResolutionAction,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub expected: u64,
    pub found: u64,
    pub missing: u64,
    pub misplaced: u64,
    pub foreign: u64,
    /// Lines other than found without a resolution.
    pub unresolved: u64,
}

impl Counts {
    /// Counts from what the database counts: `scanned` distinct EPCs, of
    /// which `bound` are active tags and `found` belong to expected assets;
    /// `resolved` resolutions that settle a current difference line. An
    /// asset has at most one active tag, so found EPCs are found assets.
    pub fn tally(expected: u64, scanned: u64, bound: u64, found: u64, resolved: u64) -> Self {
        let missing = expected.saturating_sub(found);
        let misplaced = bound.saturating_sub(found);
        let foreign = scanned.saturating_sub(bound);
        Self {
            expected,
            found,
            missing,
            misplaced,
            foreign,
            unresolved: (missing + misplaced + foreign).saturating_sub(resolved),
        }
    }

    pub fn of(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Found => self.found,
            Outcome::Missing => self.missing,
            Outcome::Misplaced => self.misplaced,
            Outcome::Foreign => self.foreign,
        }
    }

    /// Lines with this outcome, or all lines.
    pub fn lines(&self, outcome: Option<Outcome>) -> u64 {
        match outcome {
            Some(o) => self.of(o),
            None => LINE_ORDER.iter().map(|&o| self.of(o)).sum(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reconciliation {
    pub stocktake: StockTake,
    pub counts: Counts,
    /// In [`LINE_ORDER`]: every line, or the page (and outcome) asked for.
    pub lines: Vec<Line>,
    /// Lines matching the outcome asked for, on all pages.
    #[serde(default)]
    pub lines_total: u64,
}

/// Which lines of a stock-take to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineQuery {
    pub outcome: Option<Outcome>,
    /// (page from 1, lines per page); None: every line.
    pub page: Option<(u64, u64)>,
}

impl LineQuery {
    /// The first page, as answered after a resolution.
    pub const FIRST_PAGE: Self = Self {
        outcome: None,
        page: Some((1, 50)),
    };
    /// No lines, only the counts (live counters).
    pub const COUNTS_ONLY: Self = Self {
        outcome: None,
        page: Some((1, 0)),
    };
}

/// Where a page of lines falls in the outcome groups (listed in
/// [`LINE_ORDER`], only `query.outcome` if given): (outcome, offset within
/// the group, limit) for each group the page touches.
pub fn windows(counts: &Counts, query: LineQuery) -> Vec<(Outcome, u64, u64)> {
    let total = counts.lines(query.outcome);
    let (mut skip, mut take) = match query.page {
        Some((page, per_page)) => (page.saturating_sub(1).saturating_mul(per_page), per_page),
        None => (0, total),
    };
    let mut out = Vec::new();
    for outcome in LINE_ORDER {
        if query.outcome.is_some_and(|o| o != outcome) {
            continue;
        }
        let n = counts.of(outcome);
        if take == 0 {
            break;
        }
        if skip >= n {
            skip -= n;
            continue;
        }
        let here = take.min(n - skip);
        out.push((outcome, skip, here));
        take -= here;
        skip = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        use Outcome::*;
        assert_eq!(classify(true, true, true), Some(Found));
        assert_eq!(classify(true, true, false), Some(Missing));
        assert_eq!(classify(true, false, true), Some(Misplaced));
        assert_eq!(classify(false, false, true), Some(Foreign));
        assert_eq!(classify(true, false, false), None);
        assert_eq!(classify(false, false, false), None);
    }

    #[test]
    fn tally_of_all_outcomes() {
        // 2 expected; scanned: one of them, one asset recorded elsewhere,
        // one unknown EPC; nothing resolved yet.
        let c = Counts::tally(2, 3, 2, 1, 0);
        assert_eq!(
            c,
            Counts {
                expected: 2,
                found: 1,
                missing: 1,
                misplaced: 1,
                foreign: 1,
                unresolved: 3
            }
        );
        assert_eq!(c.lines(None), 4);
        assert_eq!(Counts::tally(2, 3, 2, 1, 3).unresolved, 0);
    }

    #[test]
    fn pages_span_groups_in_order() {
        let c = Counts {
            expected: 5,
            found: 2,
            missing: 3,
            misplaced: 1,
            foreign: 4,
            unresolved: 8,
        };
        use Outcome::*;
        let all = LineQuery::default();
        assert_eq!(
            windows(&c, all),
            [
                (Missing, 0, 3),
                (Misplaced, 0, 1),
                (Foreign, 0, 4),
                (Found, 0, 2)
            ]
        );
        let page = |p, n| LineQuery {
            outcome: None,
            page: Some((p, n)),
        };
        assert_eq!(windows(&c, page(1, 2)), [(Missing, 0, 2)]);
        assert_eq!(
            windows(&c, page(2, 3)),
            [(Misplaced, 0, 1), (Foreign, 0, 2)]
        );
        assert_eq!(windows(&c, page(4, 3)), [(Found, 1, 1)]);
        assert_eq!(windows(&c, page(5, 3)), []);
        let foreign = LineQuery {
            outcome: Some(Foreign),
            page: Some((2, 3)),
        };
        assert_eq!(windows(&c, foreign), [(Foreign, 3, 1)]);
        assert_eq!(windows(&c, LineQuery::COUNTS_ONLY), []);
    }

    #[test]
    fn actions_fit_outcomes() {
        assert!(applies_to(ResolutionAction::Relocate, Outcome::Misplaced));
        assert!(!applies_to(ResolutionAction::Relocate, Outcome::Foreign));
        assert!(!applies_to(ResolutionAction::MarkMissing, Outcome::Found));
        assert!(applies_to(ResolutionAction::Ignore, Outcome::Foreign));
    }
}
