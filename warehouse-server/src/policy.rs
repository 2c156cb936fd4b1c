//! Who may do what to which unit's assets — the one place that decides.
//!
//! Handlers ask [`authorize`] before touching anything; listings use
//! [`asset_visibility`], which is the same rule for [`Action::ViewAsset`]
//! expressed as a filter. A unit's staff never see another unit's assets
//! (the virtual warehouse, a later issue, is the only window).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::AppResult;

/// Roles of people. Reader daemons are not people: see [`Actor::Daemon`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    /// 机关事务管理局 — the managing agency's approvers.
    Approver,
    /// 财政 — finance.
    Finance,
    /// 仓管员 — warehouse keeper.
    Keeper,
    /// 单位资产管理员 — a unit's asset staff, bound to one unit.
    UnitStaff,
    /// 审计/纪检 — audit and discipline inspection: sees everything in its
    /// reach (the event chain, request steps, the trail), changes nothing
    /// ([`refuse_writes`]), and what it reads is recorded.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Administrator,
        Role::Approver,
        Role::Finance,
        Role::Keeper,
        Role::UnitStaff,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Approver => "approver",
            Self::Finance => "finance",
            Self::Keeper => "keeper",
            Self::UnitStaff => "unit_staff",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "administrator" => Self::Administrator,
            "approver" => Self::Approver,
            "finance" => Self::Finance,
            "keeper" => Self::Keeper,
            "unit_staff" => Self::UnitStaff,
            "auditor" => Self::Auditor,
            _ => return None,
        })
    }
}

/// Where a person's role acts (三级联网): the whole network, or one
/// region together with the regions below it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Reach {
    /// Every region (and what is in none): an account not placed in a
    /// region, as every account of a single-agency deployment.
    #[default]
    Network,
    Region {
        id: i64,
        /// The regions below `id` (a city's counties), sorted.
        below: Arc<[i64]>,
    },
}

/// How a thing's region stands to an actor's [`Reach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The actor reaches the whole network.
    Network,
    /// The actor's own region.
    Same,
    /// A region below the actor's (a county of a city's approver).
    Below,
    /// Above, beside, in another branch, or in no region at all.
    Outside,
}

impl Reach {
    /// The reach of a person placed in `id`, given `id` and the regions
    /// below it (`store::register::region_and_below`).
    pub fn region(id: i64, and_below: &[i64]) -> Self {
        let mut below: Vec<i64> = and_below.iter().copied().filter(|&r| r != id).collect();
        below.sort_unstable();
        Reach::Region {
            id,
            below: below.into(),
        }
    }

    pub fn relation(&self, region: Option<i64>) -> Relation {
        match (self, region) {
            (Reach::Network, _) => Relation::Network,
            (Reach::Region { .. }, None) => Relation::Outside,
            (Reach::Region { id, below }, Some(r)) => {
                if r == *id {
                    Relation::Same
                } else if below.binary_search(&r).is_ok() {
                    Relation::Below
                } else {
                    Relation::Outside
                }
            }
        }
    }

    /// The region ids a listing is limited to (`None`: no limit).
    pub fn regions(&self) -> Option<Vec<i64>> {
        match self {
            Reach::Network => None,
            Reach::Region { id, below } => {
                let mut all = vec![*id];
                all.extend(below.iter().copied());
                Some(all)
            }
        }
    }
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
        username: String,
        role: Role,
        unit_id: Option<i64>,
        /// Where the role acts.
        reach: Reach,
    },
    /// A reader daemon (edge box) authenticated by its reader token: its
    /// registered id and the names of the readers bound to it, which are
    /// all it may speak for (`crate::daemons::may_send`).
    Daemon {
        id: i64,
        daemon_id: String,
        readers: Vec<String>,
    },
    /// The command line (`warehouse-server admin …`), trusted.
    System,
}

impl Actor {
    /// How the actor is named in the event log.
    pub fn label(&self) -> String {
        match self {
            Actor::User { username, .. } => format!("user:{username}"),
            // A token that drives one reader acts as that reader.
            Actor::Daemon {
                daemon_id, readers, ..
            } => match readers.as_slice() {
                [one] => format!("reader:{one}"),
                _ => format!("daemon:{daemon_id}"),
            },
            Actor::System => "system".into(),
        }
    }
}

/// Everything the API lets someone do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewAsset,
    CreateAsset,
    /// Descriptive fields: custodian, condition, notes, model…
    UpdateAsset,
    /// Let an asset through the exit gate for a while without an approved
    /// check-out (紧急放行): an approver's recorded decision.
    GrantEmergencyPass,
    CommissionTag,
    /// Units, warehouses, locations, categories, batches, users, readers.
    ManageRegister,
    /// Read the reference lists (units, categories, warehouses…).
    ViewRegister,
    RunStockTake,
    ViewStockTake,
    HandleAlarm,
    ViewAlarms,
    VerifyLog,
    /// Send observation batches (reader daemons only).
    IngestObservations,
    /// File a request (purchase, loan, disposal…) for a unit or the stock.
    FileRequest,
    /// See requests concerning a unit (or all, with `Scope::Global`).
    ViewRequests,
    /// Take a step on a request of this unit; *which* step is whose is
    /// [`crate::workflow::step`]'s table.
    ActOnRequest,
    /// Offer an idle asset in the virtual warehouse, or take it back.
    ListIdle,
    /// Browse the virtual warehouse (every unit's idle listings).
    BrowseVirtualWarehouse,
    /// Reports across all units.
    ViewReports,
    /// See reader and daemon health (keepers and administrators).
    ViewReaderHealth,
    /// Report a daemon's own health (reader daemons only).
    ReportHealth,
    /// Set the idle-detection rules and run a scan (the agency:
    /// administrators and approvers).
    SetIdleRules,
    /// Answer an idle finding (explain, list, hand in): the unit's staff
    /// for their unit's, keepers for warehouse stock's.
    AnswerIdleFinding,
    /// Order an idle asset reclaimed from its unit (收回; approvers).
    OrderReclaim,
    /// See the open warnings (预警) of a unit, a region's stock, or the
    /// whole network.
    ViewWarnings,
    /// See what auditors read (the audit log).
    ViewAuditLog,
    /// Export the trail (events and request steps) of an asset or a unit
    /// over a period.
    ExportTrail,
    /// 单位确认 — a unit's staff confirm the result of an inspection at
    /// their premises.
    ConfirmInspection,
}

/// Whose assets an action touches, and in which region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Held by this unit, which is in `region` (`None`: in no region).
    Unit { unit: i64, region: Option<i64> },
    /// A warehouse's stock (or a request for it) in `region`.
    Stock { region: Option<i64> },
    /// Warehouse stock in general: may the role work warehouses at all
    /// (a page, a list that is then limited to the actor's reach).
    Warehouse,
    /// Not about any one asset or region.
    Global,
}

impl Scope {
    /// What a holder is: the unit `unit` (in its region), or, with no
    /// unit, the warehouse stock of `region`. An asset's scope, a
    /// request's, a filing's: one rule.
    pub fn held(unit: Option<i64>, region: Option<i64>) -> Scope {
        match unit {
            Some(unit) => Scope::Unit { unit, region },
            None => Scope::Stock { region },
        }
    }

    /// The region the scope is in, if it names one.
    fn region(self) -> Option<Option<i64>> {
        match self {
            Scope::Unit { region, .. } | Scope::Stock { region } => Some(region),
            Scope::Warehouse | Scope::Global => None,
        }
    }
}

/// The rule. Returns 403 naming the action and the roles that may take
/// it when not allowed.
pub fn authorize(actor: &Actor, action: Action, scope: Scope) -> AppResult<()> {
    if allowed(actor, action, scope) {
        Ok(())
    } else {
        Err(crate::error::Reason::NotAllowed {
            actor: actor.label(),
            action: format!("{action:?}"),
            roles: roles_allowed(action, scope)
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        }
        .into())
    }
}

/// Addresses an auditor may still post to: ending their own session and
/// changing their own password touch no record anyone audits.
const SELF_SERVICE: [&str; 4] = [
    "/api/v1/auth/logout",
    "/api/v1/auth/password",
    "/logout",
    "/account/password",
];

/// The one place auditors are kept read-only: any request that is not a
/// read (`safe`: GET, HEAD, OPTIONS) by an auditor is refused with 403,
/// whatever the route, before its handler runs (the authenticated-actor
/// extractor asks this for every request that names a person).
pub fn refuse_writes(actor: &Actor, safe: bool, path: &str) -> AppResult<()> {
    match actor {
        Actor::User {
            role: Role::Auditor,
            username,
            ..
        } if !safe && !SELF_SERVICE.contains(&path) => Err(crate::error::Reason::ReadOnlyRole {
            actor: format!("user:{username}"),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Whether what `actor` reads is recorded in the audit log (auditors'
/// reads are: who watches the watchers).
pub fn reads_are_recorded(actor: &Actor) -> bool {
    matches!(
        actor,
        Actor::User {
            role: Role::Auditor,
            ..
        }
    )
}

/// The roles whose people may take `action` in `scope` (unit staff: of
/// the unit in scope); what a refusal names and what pages offer.
pub fn roles_allowed(action: Action, scope: Scope) -> Vec<Role> {
    let unit_id = match scope {
        Scope::Unit { unit, .. } => Some(unit),
        _ => None,
    };
    Role::ALL
        .into_iter()
        .filter(|&role| {
            let person = Actor::User {
                id: 0,
                username: String::new(),
                role,
                unit_id,
                reach: Reach::Network,
            };
            allowed(&person, action, scope)
        })
        .collect()
}

fn allowed(actor: &Actor, action: Action, scope: Scope) -> bool {
    use Action::*;
    let (role, unit, reach) = match actor {
        Actor::System => return true,
        Actor::Daemon { .. } => {
            return matches!(action, IngestObservations | CommissionTag | ReportHealth)
        }
        Actor::User {
            role,
            unit_id,
            reach,
            ..
        } => (*role, *unit_id, reach),
    };
    // The region: administrators, approvers and finance act in their
    // region and every region below it (a city decides for its counties);
    // keepers work their own region's warehouses only; unit staff are
    // bound to their unit, wherever it is.
    if let Some(region) = scope.region() {
        let relation = reach.relation(region);
        let in_reach = match role {
            Role::Administrator | Role::Approver | Role::Finance | Role::Auditor => {
                relation != Relation::Outside
            }
            Role::Keeper => matches!(relation, Relation::Network | Relation::Same),
            Role::UnitStaff => true,
        };
        if !in_reach {
            return false;
        }
    }
    match role {
        Role::Administrator => !matches!(
            action,
            IngestObservations
                | FileRequest
                | ActOnRequest
                | ListIdle
                | GrantEmergencyPass
                | ReportHealth
                | AnswerIdleFinding
                | OrderReclaim
                | ConfirmInspection
        ),
        Role::Keeper => {
            matches!(
                action,
                ViewAsset
                    | CreateAsset
                    | UpdateAsset
                    | CommissionTag
                    | ViewRegister
                    | RunStockTake
                    | ViewStockTake
                    | HandleAlarm
                    | ViewAlarms
                    | FileRequest
                    | ViewRequests
                    | ActOnRequest
                    | BrowseVirtualWarehouse
                    | ViewReports
                    | ViewReaderHealth
                    | ViewWarnings
            ) || (action == AnswerIdleFinding && matches!(scope, Scope::Stock { .. }))
        }
        // Sees everything in reach, changes nothing.
        Role::Auditor => matches!(
            action,
            ViewAsset
                | ViewRegister
                | ViewStockTake
                | ViewAlarms
                | VerifyLog
                | ViewRequests
                | BrowseVirtualWarehouse
                | ViewReports
                | ViewReaderHealth
                | ViewWarnings
                | ViewAuditLog
                | ExportTrail
        ),
        Role::Approver | Role::Finance => {
            matches!(
                action,
                ViewAsset
                    | ViewRegister
                    | ViewStockTake
                    | ViewAlarms
                    | VerifyLog
                    | ViewRequests
                    | ActOnRequest
                    | BrowseVirtualWarehouse
                    | ViewReports
                    | ViewWarnings
            ) || (role == Role::Approver
                && matches!(action, GrantEmergencyPass | SetIdleRules | OrderReclaim))
        }
        Role::UnitStaff => match action {
            ViewRegister => true,
            // The warehouse's own stock is the catalogue units borrow from.
            ViewAsset => match scope {
                Scope::Unit { unit: u, .. } => unit == Some(u),
                // Every warehouse's stock is the network's catalogue units
                // borrow from, in any region.
                Scope::Stock { .. } | Scope::Warehouse => true,
                Scope::Global => false,
            },
            UpdateAsset | FileRequest | ViewRequests | ActOnRequest | ListIdle
            | AnswerIdleFinding | ViewWarnings => {
                matches!(scope, Scope::Unit { unit: u, .. } if unit == Some(u))
            }
            // Inspections at their own unit's premises (巡检).
            ViewStockTake | ConfirmInspection => {
                matches!(scope, Scope::Unit { unit: u, .. } if unit == Some(u))
            }
            BrowseVirtualWarehouse => true,
            _ => false,
        },
    }
}

/// Which assets an actor may see in listings and exports; the filter form
/// of `authorize(actor, ViewAsset, …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Assets of these regions: held by their units or in their
    /// warehouses.
    Regions(Vec<i64>),
    /// Own unit's assets plus every warehouse's stock.
    UnitAndWarehouse(i64),
    Nothing,
}

pub fn asset_visibility(actor: &Actor) -> Visibility {
    match actor {
        Actor::User {
            role: Role::UnitStaff,
            unit_id: Some(u),
            ..
        } => Visibility::UnitAndWarehouse(*u),
        Actor::User {
            role: Role::UnitStaff,
            unit_id: None,
            ..
        } => Visibility::Nothing,
        Actor::User { .. } if allowed(actor, Action::ViewAsset, Scope::Warehouse) => {
            match regions_in_reach(actor) {
                None => Visibility::All,
                Some(r) => Visibility::Regions(r),
            }
        }
        a if allowed(a, Action::ViewAsset, Scope::Warehouse) => Visibility::All,
        _ => Visibility::Nothing,
    }
}

/// The regions a person's lists are limited to (`None`: all): requests,
/// reports, the virtual warehouse.
pub fn regions_in_reach(actor: &Actor) -> Option<Vec<i64>> {
    match actor {
        // Keepers work their own region's warehouses only.
        Actor::User {
            role: Role::Keeper,
            reach: Reach::Region { id, .. },
            ..
        } => Some(vec![*id]),
        Actor::User { reach, .. } => reach.regions(),
        Actor::Daemon { .. } | Actor::System => None,
    }
}

/// Which stock-takes a person lists: a unit's staff their own unit's
/// inspections (`Some(unit)`, 巡检), warehouse people every one (`None`);
/// 403 for whoever may see none.
pub fn stocktakes_listed(actor: &Actor) -> AppResult<Option<i64>> {
    match actor {
        Actor::User {
            role: Role::UnitStaff,
            unit_id: Some(unit),
            ..
        } => {
            let scope = Scope::Unit {
                unit: *unit,
                region: None,
            };
            authorize(actor, Action::ViewStockTake, scope)?;
            Ok(Some(*unit))
        }
        _ => {
            authorize(actor, Action::ViewStockTake, Scope::Warehouse)?;
            Ok(None)
        }
    }
}

/// The region a person files in (the warehouse's own stock requests):
/// their own, or none for a person reaching the whole network.
pub fn home_region(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User {
            reach: Reach::Region { id, .. },
            ..
        } => Some(*id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, unit: Option<i64>) -> Actor {
        Actor::User {
            id: 1,
            username: "u".into(),
            role,
            unit_id: unit,
            reach: Reach::Network,
        }
    }

    fn unit(u: i64) -> Scope {
        Scope::Unit {
            unit: u,
            region: None,
        }
    }

    #[test]
    fn a_units_staff_see_and_confirm_their_own_inspections_only() {
        let staff = user(Role::UnitStaff, Some(7));
        for action in [Action::ViewStockTake, Action::ConfirmInspection] {
            assert!(allowed(&staff, action, unit(7)));
            assert!(!allowed(&staff, action, unit(8)));
            assert!(!allowed(&staff, action, Scope::Warehouse));
        }
        assert!(!allowed(&staff, Action::RunStockTake, unit(7)));
        // Keepers run inspections; only the unit confirms them.
        let keeper = user(Role::Keeper, None);
        assert!(allowed(&keeper, Action::RunStockTake, unit(7)));
        for role in [Role::Keeper, Role::Administrator, Role::Approver] {
            assert!(!allowed(
                &user(role, None),
                Action::ConfirmInspection,
                unit(7)
            ));
        }
        assert_eq!(stocktakes_listed(&staff).ok(), Some(Some(7)));
        assert_eq!(stocktakes_listed(&keeper).ok(), Some(None));
    }

    #[test]
    fn unit_staff_stay_in_their_unit() {
        let staff = user(Role::UnitStaff, Some(7));
        assert!(authorize(&staff, Action::ViewAsset, unit(7)).is_ok());
        assert!(authorize(&staff, Action::ViewAsset, unit(8)).is_err());
        assert!(authorize(&staff, Action::UpdateAsset, unit(7)).is_ok());
        assert!(authorize(&staff, Action::UpdateAsset, unit(8)).is_err());
        assert!(authorize(&staff, Action::UpdateAsset, Scope::Warehouse).is_err());
        assert!(authorize(&staff, Action::CommissionTag, unit(7)).is_err());
        assert_eq!(asset_visibility(&staff), Visibility::UnitAndWarehouse(7));
    }

    /// The authorization table's region dimension. The tree: province 1;
    /// city 10 with counties 100 and 101; city 20 with county 200. Each
    /// row is one role placed in city 10 taking one action on something
    /// in its own region, a region below (county 100), its parent
    /// (province 1) and a sibling (city 20); every cell is asserted.
    #[test]
    fn the_region_decides_with_the_role_cell_by_cell() {
        use Action::*;
        let in_city = |role: Role, unit_id: Option<i64>| Actor::User {
            id: 1,
            username: "u".into(),
            role,
            unit_id,
            reach: Reach::region(10, &[10, 100, 101]),
        };
        let on_unit = |unit: i64| {
            move |region| Scope::Unit {
                unit,
                region: Some(region),
            }
        };
        let on_stock = |region| Scope::Stock {
            region: Some(region),
        };
        type Cell = (
            Role,
            Option<i64>,
            Action,
            Box<dyn Fn(i64) -> Scope>,
            [bool; 4],
        );
        //                                    same   child  parent sibling
        let table: Vec<Cell> = vec![
            (
                Role::Approver,
                None,
                ActOnRequest,
                Box::new(on_unit(9)),
                [true, true, false, false],
            ),
            (
                Role::Approver,
                None,
                ViewRequests,
                Box::new(on_stock),
                [true, true, false, false],
            ),
            (
                Role::Approver,
                None,
                GrantEmergencyPass,
                Box::new(on_stock),
                [true, true, false, false],
            ),
            (
                Role::Finance,
                None,
                ActOnRequest,
                Box::new(on_unit(9)),
                [true, true, false, false],
            ),
            (
                Role::Finance,
                None,
                ViewAsset,
                Box::new(on_stock),
                [true, true, false, false],
            ),
            (
                Role::Administrator,
                None,
                ViewAsset,
                Box::new(on_unit(9)),
                [true, true, false, false],
            ),
            (
                Role::Administrator,
                None,
                ActOnRequest,
                Box::new(on_unit(9)),
                [false, false, false, false],
            ),
            (
                Role::Keeper,
                None,
                RunStockTake,
                Box::new(on_stock),
                [true, false, false, false],
            ),
            (
                Role::Keeper,
                None,
                ActOnRequest,
                Box::new(on_stock),
                [true, false, false, false],
            ),
            (
                Role::Keeper,
                None,
                CommissionTag,
                Box::new(on_unit(9)),
                [true, false, false, false],
            ),
            // Unit staff are bound to their unit wherever it is…
            (
                Role::UnitStaff,
                Some(9),
                ViewRequests,
                Box::new(on_unit(9)),
                [true, true, true, true],
            ),
            (
                Role::UnitStaff,
                Some(9),
                ViewRequests,
                Box::new(on_unit(8)),
                [false, false, false, false],
            ),
            // …and see every warehouse's stock (the catalogue they borrow
            // from, across the network).
            (
                Role::UnitStaff,
                Some(9),
                ViewAsset,
                Box::new(on_stock),
                [true, true, true, true],
            ),
        ];
        for (role, unit, action, scope, expected) in table {
            let actor = in_city(role, unit);
            let got: Vec<bool> = [10, 100, 1, 20]
                .into_iter()
                .map(|region| authorize(&actor, action, scope(region)).is_ok())
                .collect();
            assert_eq!(
                got, expected,
                "{role:?} {action:?} (same, child, parent, sibling)"
            );
        }
        // A county's approver reaches nothing above or beside it.
        let county = Actor::User {
            id: 2,
            username: "c".into(),
            role: Role::Approver,
            unit_id: None,
            reach: Reach::region(100, &[100]),
        };
        let got: Vec<bool> = [100, 10, 101, 200]
            .into_iter()
            .map(|r| authorize(&county, ActOnRequest, on_unit(9)(r)).is_ok())
            .collect();
        assert_eq!(got, [true, false, false, false]);
        // Something in no region is the network's: only a person who
        // reaches the whole network acts on it.
        let unplaced = Scope::Unit {
            unit: 9,
            region: None,
        };
        assert!(authorize(&county, ActOnRequest, unplaced).is_err());
        assert!(authorize(&user(Role::Approver, None), ActOnRequest, unplaced).is_ok());
        assert!(authorize(&user(Role::Approver, None), ActOnRequest, on_stock(200)).is_ok());
        // Capability checks name no region: a placed keeper may still run
        // stock-takes (of its own warehouses).
        assert!(authorize(&in_city(Role::Keeper, None), RunStockTake, Scope::Warehouse).is_ok());
        assert_eq!(
            asset_visibility(&in_city(Role::Approver, None)),
            Visibility::Regions(vec![10, 100, 101])
        );
        assert_eq!(
            asset_visibility(&in_city(Role::UnitStaff, Some(9))),
            Visibility::UnitAndWarehouse(9)
        );
    }

    #[test]
    fn refusals_know_who_may() {
        use Role::*;
        assert_eq!(
            roles_allowed(Action::ViewReports, Scope::Global),
            [Administrator, Approver, Finance, Keeper, Auditor]
        );
        assert_eq!(
            roles_allowed(Action::FileRequest, unit(7)),
            [Keeper, UnitStaff]
        );
        let staff = user(UnitStaff, Some(7));
        let e = authorize(&staff, Action::ViewReports, Scope::Global).err();
        assert_eq!(
            e.map(|e| e.text(crate::i18n::Lang::Zh)).as_deref(),
            Some("查看报表需要系统管理员、审批人、财政、仓管员或审计/纪检的权限")
        );
    }

    #[test]
    fn auditors_see_their_reach_and_change_nothing() {
        use Action::*;
        let auditor = Actor::User {
            id: 3,
            username: "aud".into(),
            role: Role::Auditor,
            unit_id: None,
            reach: Reach::region(10, &[10, 100]),
        };
        let stock = |r| Scope::Stock { region: Some(r) };
        for action in [
            ViewAsset,
            ViewRequests,
            VerifyLog,
            ViewWarnings,
            ExportTrail,
        ] {
            assert!(
                authorize(&auditor, action, stock(100)).is_ok(),
                "{action:?}"
            );
            assert!(
                authorize(&auditor, action, stock(20)).is_err(),
                "{action:?}"
            );
        }
        for action in [
            CreateAsset,
            UpdateAsset,
            FileRequest,
            ActOnRequest,
            HandleAlarm,
        ] {
            assert!(
                authorize(&auditor, action, stock(10)).is_err(),
                "{action:?}"
            );
        }
        assert_eq!(
            asset_visibility(&auditor),
            Visibility::Regions(vec![10, 100])
        );
        assert!(refuse_writes(&auditor, false, "/api/v1/assets").is_err());
        assert!(refuse_writes(&auditor, true, "/api/v1/assets").is_ok());
        assert!(refuse_writes(&auditor, false, "/api/v1/auth/logout").is_ok());
        let approver = user(Role::Approver, None);
        assert!(refuse_writes(&approver, false, "/api/v1/assets").is_ok());
        assert!(reads_are_recorded(&auditor) && !reads_are_recorded(&approver));
    }

    #[test]
    fn readers_only_ingest_and_confirm() {
        let reader = Actor::Daemon {
            id: 1,
            daemon_id: "edge-1".into(),
            readers: vec!["gate".into()],
        };
        assert!(authorize(&reader, Action::IngestObservations, Scope::Global).is_ok());
        assert!(authorize(&reader, Action::ViewAsset, Scope::Warehouse).is_err());
        let admin = user(Role::Administrator, None);
        assert!(authorize(&admin, Action::IngestObservations, Scope::Global).is_err());
        assert_eq!(asset_visibility(&admin), Visibility::All);
        assert_eq!(asset_visibility(&reader), Visibility::Nothing);
    }
}

/// Who is acting and on behalf of which request: what every change needs
/// for its event.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Ctx {
    pub fn system(request_id: &str) -> Self {
        Self {
            actor: Actor::System,
            request_id: Some(request_id.to_owned()),
        }
    }
}
