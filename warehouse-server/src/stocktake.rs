//! Stock-takes (盘点): what a keeper expects in a warehouse or location,
//! compared live with what its handheld readers scan. [`reconcile`] is the
//! pure comparison; the store feeds it rows and keeps the closed report.

use std::collections::{HashMap, HashSet};

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

impl Outcome {
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
    pub unresolved: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reconciliation {
    pub stocktake: StockTake,
    pub counts: Counts,
    pub lines: Vec<Line>,
}

/// An asset the register places in the stock-take's scope.
#[derive(Debug, Clone)]
pub struct ExpectedAsset {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    pub location_id: Option<i64>,
    pub epc: Option<String>,
}

/// A scanned EPC and the asset it is bound to, if any.
#[derive(Debug, Clone)]
pub struct ScannedEpc {
    pub epc: String,
    pub asset: Option<BoundAsset>,
}

/// The asset a scanned EPC belongs to and where the register has it.
#[derive(Debug, Clone)]
pub struct BoundAsset {
    pub id: i64,
    pub asset_number: String,
    pub name: String,
    pub location_id: Option<i64>,
    pub unit_id: Option<i64>,
}

/// The comparison. Lines come out missing, misplaced, foreign, found.
pub fn reconcile(
    expected: Vec<ExpectedAsset>,
    scanned: Vec<ScannedEpc>,
    resolutions: &HashMap<String, Resolution>,
) -> (Counts, Vec<Line>) {
    let expected_ids: HashSet<i64> = expected.iter().map(|e| e.asset_id).collect();
    let mut found_ids = HashSet::new();
    let mut found = Vec::new();
    let mut misplaced = Vec::new();
    let mut foreign = Vec::new();
    for s in scanned {
        match s.asset {
            None => foreign.push(Line {
                outcome: Outcome::Foreign,
                epc: Some(s.epc),
                asset_id: None,
                asset_number: None,
                name: None,
                recorded_location_id: None,
                recorded_unit_id: None,
                resolution: None,
            }),
            Some(BoundAsset {
                id,
                asset_number: number,
                name,
                location_id: loc,
                unit_id: unit,
            }) => {
                let outcome = if expected_ids.contains(&id) {
                    found_ids.insert(id);
                    Outcome::Found
                } else {
                    Outcome::Misplaced
                };
                let line = Line {
                    outcome,
                    epc: Some(s.epc),
                    asset_id: Some(id),
                    asset_number: Some(number),
                    name: Some(name),
                    recorded_location_id: loc,
                    recorded_unit_id: unit,
                    resolution: None,
                };
                if outcome == Outcome::Found {
                    found.push(line);
                } else {
                    misplaced.push(line);
                }
            }
        }
    }
    let expected_count = expected.len() as u64;
    let missing: Vec<Line> = expected
        .into_iter()
        .filter(|e| !found_ids.contains(&e.asset_id))
        .map(|e| Line {
            outcome: Outcome::Missing,
            epc: e.epc,
            asset_id: Some(e.asset_id),
            asset_number: Some(e.asset_number),
            name: Some(e.name),
            recorded_location_id: e.location_id,
            recorded_unit_id: None,
            resolution: None,
        })
        .collect();
    let mut counts = Counts {
        expected: expected_count,
        found: found.len() as u64,
        missing: missing.len() as u64,
        misplaced: misplaced.len() as u64,
        foreign: foreign.len() as u64,
        unresolved: 0,
    };
    let mut lines: Vec<Line> = missing
        .into_iter()
        .chain(misplaced)
        .chain(foreign)
        .chain(found)
        .collect();
    for line in &mut lines {
        line.resolution = resolutions.get(&line.subject()).cloned();
        if line.outcome != Outcome::Found && line.resolution.is_none() {
            counts.unresolved += 1;
        }
    }
    (counts, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(id: i64) -> ExpectedAsset {
        ExpectedAsset {
            asset_id: id,
            asset_number: format!("{id}"),
            name: "chair".into(),
            location_id: Some(1),
            epc: Some(format!("E{id}")),
        }
    }

    fn scanned(epc: &str, asset: Option<i64>) -> ScannedEpc {
        ScannedEpc {
            epc: epc.into(),
            asset: asset.map(|id| BoundAsset {
                id,
                asset_number: format!("{id}"),
                name: "chair".into(),
                location_id: Some(2),
                unit_id: None,
            }),
        }
    }

    #[test]
    fn all_outcomes() {
        let (counts, lines) = reconcile(
            vec![expected(1), expected(2)],
            vec![
                scanned("E1", Some(1)),
                scanned("E9", Some(9)),
                scanned("FF", None),
            ],
            &HashMap::new(),
        );
        assert_eq!(
            counts,
            Counts {
                expected: 2,
                found: 1,
                missing: 1,
                misplaced: 1,
                foreign: 1,
                unresolved: 3
            }
        );
        let outcomes: Vec<_> = lines.iter().map(|l| l.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Missing,
                Outcome::Misplaced,
                Outcome::Foreign,
                Outcome::Found
            ]
        );
    }

    #[test]
    fn actions_fit_outcomes() {
        assert!(ResolutionAction::Relocate.applies_to(Outcome::Misplaced));
        assert!(!ResolutionAction::Relocate.applies_to(Outcome::Foreign));
        assert!(!ResolutionAction::MarkMissing.applies_to(Outcome::Found));
        assert!(ResolutionAction::Ignore.applies_to(Outcome::Foreign));
    }
}
