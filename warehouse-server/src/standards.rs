//! Configuration standards (配置标准): per category, how many a unit may
//! hold — an absolute count, or so many per staff member with the unit's
//! staff count — and the most one item may cost. A purchase or allocation
//! asking beyond the standard is flagged with its numbers at filing and
//! waits at approval for the agency head's extra, recorded approval
//! (`workflow::step`, `approve_over_standard`). The rule is [`excess`];
//! the store feeds it what a request asks and what the unit holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppResult, Reason};

/// One category's standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Standard {
    pub category_id: i64,
    /// At most this many per unit …
    pub per_unit: Option<i64>,
    /// … or this many per staff member (the unit's `staff_count`).
    pub per_staff: Option<i64>,
    /// The most one item may cost (fen).
    pub price_ceiling_fen: Option<i64>,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// What an administrator sets for a category (all empty: no standard).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStandard {
    pub per_unit: Option<i64>,
    pub per_staff: Option<i64>,
    pub price_ceiling_fen: Option<i64>,
}

impl NewStandard {
    /// Counts are whole and not negative, the ceiling an amount, and a
    /// unit is limited one way (by count or per staff member).
    pub fn check(&self) -> AppResult<()> {
        for (field, v) in [
            ("per_unit", self.per_unit),
            ("per_staff", self.per_staff),
            ("price_ceiling_fen", self.price_ceiling_fen),
        ] {
            if let Some(v) = v {
                if v < 0 {
                    return Err(Reason::Negative {
                        field: field.into(),
                    }
                    .into());
                }
            }
        }
        if self.per_unit.is_some() && self.per_staff.is_some() {
            return Err(Reason::StandardOneLimit.into());
        }
        Ok(())
    }
}

/// A unit's staff count, set by an administrator.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCount {
    pub staff_count: i64,
}

/// Where a request goes beyond a category's standard, with the numbers the
/// check used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Excess {
    pub category_id: i64,
    /// What the unit holds of the category when it asked.
    pub held: i64,
    /// What the request asks of it.
    pub asked: i64,
    /// The unit's limit (per unit, or per staff member × staff count).
    pub limit: Option<i64>,
    pub ceiling_fen: Option<i64>,
    /// The item price checked against the ceiling (a purchase's budget per
    /// item asked).
    pub price_fen: Option<i64>,
}

/// A unit's limit of a category: the count per unit, or per staff member
/// times the staff count (a unit whose staff count is not recorded counts
/// as none, so a per-staff standard flags its every request).
pub fn limit(s: &Standard, staff_count: Option<i64>) -> Option<i64> {
    match (s.per_unit, s.per_staff) {
        (Some(n), _) => Some(n),
        (None, Some(per)) => Some(per.saturating_mul(staff_count.unwrap_or(0))),
        (None, None) => None,
    }
}

/// The rule: a request is beyond the standard when what the unit holds
/// plus what it asks exceeds its limit, or the item price exceeds the
/// ceiling. `None`: within the standard.
pub fn excess(
    s: &Standard,
    staff_count: Option<i64>,
    held: i64,
    asked: i64,
    price_fen: Option<i64>,
) -> Option<Excess> {
    let limit = limit(s, staff_count);
    let over_count = limit.is_some_and(|l| held.saturating_add(asked) > l);
    let over_price = matches!((price_fen, s.price_ceiling_fen), (Some(p), Some(c)) if p > c);
    (over_count || over_price).then_some(Excess {
        category_id: s.category_id,
        held,
        asked,
        limit,
        ceiling_fen: s.price_ceiling_fen,
        price_fen,
    })
}

/// An over-standard request as the report and the warnings list it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverStandard {
    pub request_id: i64,
    /// `purchase` or `allocation`.
    pub kind: String,
    pub stage: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub excesses: Vec<Excess>,
    /// The agency head's extra approval: who and when (none yet: waiting).
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Who must act while it waits: the agency head (`agency_head`).
    pub awaiting: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std(per_unit: Option<i64>, per_staff: Option<i64>, ceiling: Option<i64>) -> Standard {
        Standard {
            category_id: 1,
            per_unit,
            per_staff,
            price_ceiling_fen: ceiling,
            set_by: "user:admin".into(),
            set_at: Utc::now(),
        }
    }

    #[test]
    fn held_plus_asked_beyond_the_limit_is_over() {
        let s = std(Some(10), None, None);
        assert_eq!(excess(&s, None, 8, 2, None), None);
        let e = excess(&s, None, 8, 3, None).map(|e| (e.held, e.asked, e.limit));
        assert_eq!(e, Some((8, 3, Some(10))));
    }

    #[test]
    fn per_staff_limits_use_the_staff_count() {
        let s = std(None, Some(2), None);
        assert_eq!(limit(&s, Some(5)), Some(10));
        assert_eq!(excess(&s, Some(5), 4, 6, None), None);
        assert!(excess(&s, Some(5), 4, 7, None).is_some());
        // No staff count recorded: no allowance.
        assert!(excess(&s, None, 0, 1, None).is_some());
    }

    #[test]
    fn a_price_above_the_ceiling_is_over_whatever_the_count() {
        let s = std(None, None, Some(300_000));
        assert_eq!(excess(&s, None, 0, 1, Some(300_000)), None);
        let e = excess(&s, None, 0, 1, Some(300_001));
        assert_eq!(e.and_then(|e| e.price_fen), Some(300_001));
        assert_eq!(excess(&s, None, 0, 1, None), None);
    }

    #[test]
    fn one_way_of_limiting_a_unit() {
        let both = NewStandard {
            per_unit: Some(1),
            per_staff: Some(1),
            price_ceiling_fen: None,
        };
        assert!(both.check().is_err());
        let negative = NewStandard {
            per_unit: Some(-1),
            ..NewStandard::default()
        };
        assert!(negative.check().is_err());
    }
}
