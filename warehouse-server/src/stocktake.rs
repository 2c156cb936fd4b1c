//! Stock-takes (盘点): what a keeper expects in a warehouse or location,
//! compared live with what its handheld readers scan. The rules live here
//! as plain functions ([`Outcome::of`], [`Counts::tally`], [`windows`]);
//! the store classifies rows with SQL joins that follow them (a stock-take
//! of 100,000 EPCs is counted in the database, not loaded into memory) and
//! keeps the closed report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The outcome of one line of a stock-take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Expected here and scanned.
    Found,
    /// Expected here, not scanned.
    Missing,
    /// A known asset scanned here but recorded elsewhere.
    Misplaced,
    /// An EPC bound to no asset.
    Foreign,
}

/// The order lines are listed in: differences first.
pub const LINE_ORDER: [Outcome; 4] = [
    Outcome::Missing,
    Outcome::Misplaced,
    Outcome::Foreign,
    Outcome::Found,
];

impl Outcome {
    /// The one classification rule. `bound`: the EPC (scanned or not) is
    /// an asset's active tag; `expected`: that asset is in the stock-take's
    /// snapshot; `scanned`: a reader of the stock-take saw the EPC. None:
    /// no line (an asset neither expected nor seen here).
    pub fn of(bound: bool, expected: bool, scanned: bool) -> Option<Self> {
        match (bound, expected, scanned) {
            (false, _, true) => Some(Self::Foreign),
            (false, _, false) => None,
            (true, true, true) => Some(Self::Found),
            (true, true, false) => Some(Self::Missing),
            (true, false, true) => Some(Self::Misplaced),
            (true, false, false) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::Missing => "missing",
            Self::Misplaced => "misplaced",
            Self::Foreign => "foreign",
        }
    }
}

/// How a keeper settles a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionAction {
    /// Misplaced: record the asset at the stock-take's location.
    Relocate,
    /// Missing: note it for a loss case (workflows, issue 5/6).
    MarkMissing,
    /// Accept as is (e.g. foreign tag of a visitor).
    Ignore,
}

impl ResolutionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relocate => "relocate",
            Self::MarkMissing => "mark_missing",
            Self::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relocate" => Some(Self::Relocate),
            "mark_missing" => Some(Self::MarkMissing),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }

    /// Which actions make sense for which outcome.
    pub fn applies_to(self, outcome: Outcome) -> bool {
        matches!(
            (self, outcome),
            (Self::Relocate, Outcome::Misplaced)
                | (Self::MarkMissing, Outcome::Missing)
                | (
                    Self::Ignore,
                    Outcome::Missing | Outcome::Misplaced | Outcome::Foreign
                )
        )
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStockTake {
    pub warehouse_id: i64,
    /// Narrow to one location of the warehouse.
    pub location_id: Option<i64>,
    /// Readers (handhelds) whose observations count toward it.
    pub reader_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockTake {
    pub id: i64,
    pub warehouse_id: i64,
    pub location_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    pub reader_ids: Vec<i64>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Resolution {
    pub action: ResolutionAction,
    pub comment: Option<String>,
    pub resolved_by: String,
    pub resolved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub outcome: Outcome,
    pub epc: Option<String>,
    pub asset_id: Option<i64>,
    pub asset_number: Option<String>,
    pub name: Option<String>,
    /// Where the register says the asset is.
    pub recorded_location_id: Option<i64>,
    pub recorded_unit_id: Option<i64>,
    pub resolution: Option<Resolution>,
}

impl Line {
    /// Key resolutions are stored under.
    pub fn subject(&self) -> String {
        match (self.asset_id, &self.epc) {
            (Some(a), _) => format!("asset:{a}"),
            (None, Some(e)) => format!("epc:{e}"),
            (None, None) => String::new(),
        }
    }
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
        assert_eq!(Outcome::of(true, true, true), Some(Found));
        assert_eq!(Outcome::of(true, true, false), Some(Missing));
        assert_eq!(Outcome::of(true, false, true), Some(Misplaced));
        assert_eq!(Outcome::of(false, false, true), Some(Foreign));
        assert_eq!(Outcome::of(true, false, false), None);
        assert_eq!(Outcome::of(false, false, false), None);
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
        assert!(ResolutionAction::Relocate.applies_to(Outcome::Misplaced));
        assert!(!ResolutionAction::Relocate.applies_to(Outcome::Foreign));
        assert!(!ResolutionAction::MarkMissing.applies_to(Outcome::Found));
        assert!(ResolutionAction::Ignore.applies_to(Outcome::Foreign));
    }
}
