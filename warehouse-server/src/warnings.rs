//! Warnings (预警, 动态监督预警): what is wrong now and who must act on it.
//! A warning is plain data — its kind, its subject, since when, the value
//! at stake where there is one, and the role (with the unit or region)
//! that must act. The store reads each source (`store::warnings`, one
//! function per kind); which warnings a person sees ([`visible`], the
//! policy's `ViewWarnings` on the warning's scope), their order and the
//! counts per kind ([`board`]) are decided here, pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppResult, Reason};
use crate::input::string_enum;
use crate::policy::{authorize, Action, Actor, Role, Scope};

string_enum! {
    /// What kind of warning, most urgent first (the board's order).
    WarningKind {
        /// 事件链校验失败 — the last verification of the event chain failed.
        ChainBroken = "chain_broken",
        /// 出口报警 — an asset left through a gate without an approved
        /// check-out, and nobody has answered the alarm.
        GateAlarm = "gate_alarm",
        /// 盘亏待处理 — a loss case (an asset a stock-take did not find, or
        /// reported lost) still open.
        LossCase = "loss_case",
        /// 盘点短缺未处理 — a stock-take closed with missing items nobody
        /// resolved (no loss case opened, not set aside).
        StocktakeMissing = "stocktake_missing",
        /// 借用逾期 — a loan past its due date with items still out.
        OverdueLoan = "overdue_loan",
        /// 闲置问责 — an idle finding (source: the idle-findings work).
        IdleFinding = "idle_finding",
        /// 超标准配置 — a request beyond the configuration standard
        /// (source: the configuration-standards work).
        OverStandard = "over_standard",
    }
}

string_enum! {
    /// What a warning is about.
    SubjectKind {
        Asset = "asset",
        Request = "request",
        Unit = "unit",
        Stocktake = "stocktake",
        Reader = "reader",
        /// The event chain as a whole.
        Chain = "chain",
    }
}

/// The kinds' API names, for the refusal of an unknown one (the same as
/// `WarningKind::ALL`, checked by a test).
pub const KIND_NAMES: &[&str] = &[
    "chain_broken",
    "gate_alarm",
    "loss_case",
    "stocktake_missing",
    "overdue_loan",
    "idle_finding",
    "over_standard",
];

/// The kind a filter asks for (none: every kind), or 422 naming `kind`
/// and the kinds there are.
pub fn kind_asked(kind: Option<&str>) -> AppResult<Option<WarningKind>> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => WarningKind::parse(k).map(Some).ok_or_else(|| {
            Reason::NotOneOf {
                field: "kind".into(),
                value: k.into(),
                allowed: KIND_NAMES,
            }
            .into()
        }),
    }
}

/// What a warning is about: the kind of thing, its id, and how people
/// name it (an asset number, a request number, a reader's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: Option<i64>,
    pub label: String,
}

/// Who must act: a role, in a unit (unit staff) or a region (everyone
/// else; none: the whole network's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WhoActs {
    pub role: Role,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub region_id: Option<i64>,
    pub region_name: Option<String>,
}

/// One open warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Warning {
    pub kind: WarningKind,
    pub subject: Subject,
    /// Since when it holds: the alarm raised, the loan's due date, the
    /// case filed, the verification run.
    pub since: DateTime<Utc>,
    /// The value at stake in fen (original value of the assets concerned),
    /// where one applies.
    pub value_fen: Option<i64>,
    /// A fact people read with it: the reader that raised an alarm, the
    /// case's stage, the first broken entry.
    pub note: Option<String>,
    /// The unit and region the warning belongs to: who may see it.
    pub unit_id: Option<i64>,
    pub region_id: Option<i64>,
    pub who_acts: WhoActs,
}

impl Warning {
    /// The scope the warning is seen in: its unit's, its region's stock,
    /// or (the chain) the whole network's.
    pub fn scope(&self) -> Scope {
        match self.kind {
            WarningKind::ChainBroken => Scope::Global,
            _ => Scope::held(self.unit_id, self.region_id),
        }
    }

    /// The page that shows its subject.
    pub fn link(&self) -> Option<String> {
        let id = self.subject.id?;
        Some(match self.subject.kind {
            SubjectKind::Asset => format!("/assets/{id}"),
            SubjectKind::Request => format!("/requests/{id}"),
            SubjectKind::Stocktake => format!("/stocktakes/{id}"),
            SubjectKind::Unit | SubjectKind::Reader | SubjectKind::Chain => return None,
        })
    }
}

/// Whether `actor` sees `w`: the policy's rule for [`Action::ViewWarnings`]
/// on the warning's scope (regions in reach; unit staff their own unit).
pub fn visible(actor: &Actor, w: &Warning) -> bool {
    authorize(actor, Action::ViewWarnings, w.scope()).is_ok()
}

/// How many warnings of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: WarningKind,
    pub count: i64,
}

/// What one person sees: the count of each kind they can see (every kind,
/// zero included, whatever the filter), then the warnings of the kind
/// asked (all without one), most urgent kind first, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    pub counts: Vec<KindCount>,
    pub total: i64,
    pub items: Vec<Warning>,
}

fn rank(kind: WarningKind) -> usize {
    WarningKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX)
}

/// The board of `all` for `actor`, filtered to `kind` if given.
pub fn board(all: Vec<Warning>, actor: &Actor, kind: Option<WarningKind>) -> Board {
    let mut seen: Vec<Warning> = all.into_iter().filter(|w| visible(actor, w)).collect();
    let counts = WarningKind::ALL
        .iter()
        .map(|&k| KindCount {
            kind: k,
            count: seen.iter().filter(|w| w.kind == k).count() as i64,
        })
        .collect();
    if let Some(k) = kind {
        seen.retain(|w| w.kind == k);
    }
    seen.sort_by(|a, b| {
        (rank(a.kind), a.since, a.subject.id).cmp(&(rank(b.kind), b.since, b.subject.id))
    });
    Board {
        counts,
        total: seen.len() as i64,
        items: seen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Reach;

    fn warning(kind: WarningKind, since: i64, unit: Option<i64>, region: Option<i64>) -> Warning {
        Warning {
            kind,
            subject: Subject {
                kind: SubjectKind::Asset,
                id: Some(since),
                label: format!("ZC-{since}"),
            },
            since: crate::time::ts(since),
            value_fen: Some(100),
            note: None,
            unit_id: unit,
            region_id: region,
            who_acts: WhoActs {
                role: Role::Keeper,
                unit_id: None,
                unit_name: None,
                region_id: region,
                region_name: None,
            },
        }
    }

    fn person(role: Role, unit_id: Option<i64>, reach: Reach) -> Actor {
        Actor::User {
            id: 1,
            username: "p".into(),
            role,
            unit_id,
            reach,
        }
    }

    #[test]
    fn the_board_orders_by_kind_then_age_and_counts_every_kind() {
        let all = vec![
            warning(WarningKind::OverdueLoan, 5, Some(7), None),
            warning(WarningKind::GateAlarm, 9, None, None),
            warning(WarningKind::OverdueLoan, 2, Some(7), None),
            warning(WarningKind::ChainBroken, 30, None, None),
        ];
        let admin = person(Role::Administrator, None, Reach::Network);
        let b = board(all.clone(), &admin, None);
        let order: Vec<(WarningKind, i64)> = b
            .items
            .iter()
            .map(|w| (w.kind, w.since.timestamp_millis()))
            .collect();
        assert_eq!(
            order,
            [
                (WarningKind::ChainBroken, 30),
                (WarningKind::GateAlarm, 9),
                (WarningKind::OverdueLoan, 2),
                (WarningKind::OverdueLoan, 5)
            ]
        );
        assert_eq!(b.counts.len(), WarningKind::ALL.len());
        assert_eq!(b.counts[4].count, 2);
        // A filter keeps the counts of everything.
        let only = board(all, &admin, Some(WarningKind::GateAlarm));
        assert_eq!(only.total, 1);
        assert_eq!(only.counts[4].count, 2);
    }

    #[test]
    fn kinds_are_named_as_the_api_spells_them() {
        let names: Vec<&str> = WarningKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, KIND_NAMES);
        assert_eq!(
            kind_asked(Some("gate_alarm")).ok(),
            Some(Some(WarningKind::GateAlarm))
        );
        assert_eq!(kind_asked(Some("")).ok(), Some(None));
        let e = kind_asked(Some("fire")).err();
        assert_eq!(e.and_then(|e| e.field).as_deref(), Some("kind"));
    }

    #[test]
    fn each_sees_the_warnings_of_their_reach() {
        let all = vec![
            warning(WarningKind::OverdueLoan, 1, Some(7), Some(100)),
            warning(WarningKind::OverdueLoan, 2, Some(8), Some(200)),
            warning(WarningKind::GateAlarm, 3, None, Some(100)),
            warning(WarningKind::ChainBroken, 4, None, None),
        ];
        let sees = |a: &Actor| -> Vec<i64> {
            board(all.clone(), a, None)
                .items
                .iter()
                .map(|w| w.since.timestamp_millis())
                .collect()
        };
        // Unit staff: their unit's only, never the stock's or the chain's.
        assert_eq!(sees(&person(Role::UnitStaff, Some(7), Reach::Network)), [1]);
        // A county's approver: its region's.
        let county = Reach::region(100, &[100]);
        assert_eq!(
            sees(&person(Role::Approver, None, county.clone())),
            [4, 3, 1]
        );
        // An auditor of the other county sees its own.
        let other = Reach::region(200, &[200]);
        assert_eq!(sees(&person(Role::Auditor, None, other)), [4, 2]);
        // The network sees all.
        assert_eq!(
            sees(&person(Role::Administrator, None, Reach::Network)),
            [4, 3, 1, 2]
        );
    }
}
