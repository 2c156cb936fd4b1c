//! Kits (套装): a named set of assets — a meeting-room kit of a projector,
//! a screen and four microphones — that a loan or allocation names as one
//! and that goes out and comes back as one. The rule lives in one place,
//! [`missing_members`]: a scan at the desk (check-out or return) that moves
//! some of a kit's members must move all of them, else it is refused
//! naming the ones not scanned. Which assets a kit holds is
//! `store::workflow::kits`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::register::AssetState;

/// Most members one kit may have.
pub const MAX_MEMBERS: usize = 200;

/// A new kit: its name and the in-stock assets it is made of.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKit {
    /// Unique among kits in use, e.g. 会议室套装一号.
    pub name: String,
    /// The members (in stock, in no other kit).
    pub asset_ids: Vec<i64>,
    pub notes: Option<String>,
}

/// A kit and its members as they stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kit {
    pub id: i64,
    pub name: String,
    pub notes: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Set once the kit is taken apart; its members are free again.
    pub retired_at: Option<DateTime<Utc>>,
    pub members: Vec<KitMember>,
    /// Every member is in stock and no open request holds any: the kit
    /// can be lent now.
    pub available: bool,
    /// The open request holding the kit's members, if any.
    pub held_by_request: Option<i64>,
}

/// One member of a kit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KitMember {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    pub state: AssetState,
    /// EPC of its tag (hex), if tagged.
    pub epc: Option<String>,
}

/// Of the kit members a request still holds at `status`, the ones a scan
/// that moves `moving` leaves behind — when it moves at least one member
/// of that kit. `held` is (asset, kit) for every member of a kit that the
/// request holds at that status. Returns (kit, members left behind) per
/// kit, in the order the kits are first met; empty when every touched kit
/// moves whole.
pub fn missing_members(held: &[(i64, i64)], moving: &[i64]) -> Vec<(i64, Vec<i64>)> {
    let mut touched: Vec<i64> = Vec::new();
    for (asset, kit) in held {
        if moving.contains(asset) && !touched.contains(kit) {
            touched.push(*kit);
        }
    }
    touched
        .into_iter()
        .filter_map(|kit| {
            let left: Vec<i64> = held
                .iter()
                .filter(|(a, k)| *k == kit && !moving.contains(a))
                .map(|(a, _)| *a)
                .collect();
            (!left.is_empty()).then_some((kit, left))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kit_moves_whole_or_names_what_is_left() {
        // Kit 1: assets 10, 11, 12; kit 2: assets 20, 21; asset 30 alone.
        let held = [(10, 1), (11, 1), (12, 1), (20, 2), (21, 2)];
        type Left = Vec<(i64, Vec<i64>)>;
        let cases: &[(&[i64], Left)] = &[
            (&[10, 11, 12], vec![]),
            (&[30], vec![]),
            (&[], vec![]),
            (&[10, 11, 12, 20, 21, 30], vec![]),
            (&[10, 12], vec![(1, vec![11])]),
            (&[21, 10], vec![(1, vec![11, 12]), (2, vec![20])]),
            (&[20, 21, 11], vec![(1, vec![10, 12])]),
        ];
        for (moving, want) in cases {
            assert_eq!(&missing_members(&held, moving), want, "moving {moving:?}");
        }
    }

    #[test]
    fn members_already_moved_are_not_missing() {
        // Only what the request still holds at the status counts: a kit
        // whose other members went earlier is whole with its last one.
        let held = [(11, 1)];
        assert!(missing_members(&held, &[11]).is_empty());
    }
}
