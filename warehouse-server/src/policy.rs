//! Who may do what to which unit's assets — the one place that decides.
//!
//! Handlers ask [`authorize`] before touching anything; listings use
//! [`asset_visibility`], which is the same rule for [`Action::ViewAsset`]
//! expressed as a filter. A unit's staff never see another unit's assets
//! (the virtual warehouse, a later issue, is the only window).

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
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::Approver,
        Role::Finance,
        Role::Keeper,
        Role::UnitStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Approver => "approver",
            Self::Finance => "finance",
            Self::Keeper => "keeper",
            Self::UnitStaff => "unit_staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "administrator" => Self::Administrator,
            "approver" => Self::Approver,
            "finance" => Self::Finance,
            "keeper" => Self::Keeper,
            "unit_staff" => Self::UnitStaff,
            _ => return None,
        })
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
}

/// Whose assets an action touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Held by this unit.
    Unit(i64),
    /// In a warehouse location (the physical warehouse's stock).
    Warehouse,
    /// Not about any one asset.
    Global,
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

/// The roles whose people may take `action` in `scope` (unit staff: of
/// the unit in scope); what a refusal names and what pages offer.
pub fn roles_allowed(action: Action, scope: Scope) -> Vec<Role> {
    let unit_id = match scope {
        Scope::Unit(u) => Some(u),
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
            };
            allowed(&person, action, scope)
        })
        .collect()
}

fn allowed(actor: &Actor, action: Action, scope: Scope) -> bool {
    use Action::*;
    let (role, unit) = match actor {
        Actor::System => return true,
        Actor::Daemon { .. } => {
            return matches!(action, IngestObservations | CommissionTag | ReportHealth)
        }
        Actor::User { role, unit_id, .. } => (*role, *unit_id),
    };
    match role {
        Role::Administrator => !matches!(
            action,
            IngestObservations
                | FileRequest
                | ActOnRequest
                | ListIdle
                | GrantEmergencyPass
                | ReportHealth
        ),
        Role::Keeper => matches!(
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
            ) || (role == Role::Approver && action == GrantEmergencyPass)
        }
        Role::UnitStaff => match action {
            ViewRegister => true,
            // The warehouse's own stock is the catalogue units borrow from.
            ViewAsset => match scope {
                Scope::Unit(u) => unit == Some(u),
                Scope::Warehouse => true,
                Scope::Global => false,
            },
            UpdateAsset | FileRequest | ViewRequests | ActOnRequest | ListIdle => {
                matches!(scope, Scope::Unit(u) if unit == Some(u))
            }
            BrowseVirtualWarehouse => true,
            _ => false,
        },
    }
}

/// Which assets an actor may see in listings and exports; the filter form
/// of `authorize(actor, ViewAsset, …)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Own unit's assets plus warehouse stock.
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
        a if allowed(a, Action::ViewAsset, Scope::Unit(i64::MIN)) => Visibility::All,
        _ => Visibility::Nothing,
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
        }
    }

    #[test]
    fn unit_staff_stay_in_their_unit() {
        let staff = user(Role::UnitStaff, Some(7));
        assert!(authorize(&staff, Action::ViewAsset, Scope::Unit(7)).is_ok());
        assert!(authorize(&staff, Action::ViewAsset, Scope::Unit(8)).is_err());
        assert!(authorize(&staff, Action::UpdateAsset, Scope::Unit(7)).is_ok());
        assert!(authorize(&staff, Action::UpdateAsset, Scope::Unit(8)).is_err());
        assert!(authorize(&staff, Action::UpdateAsset, Scope::Warehouse).is_err());
        assert!(authorize(&staff, Action::CommissionTag, Scope::Unit(7)).is_err());
        assert_eq!(asset_visibility(&staff), Visibility::UnitAndWarehouse(7));
    }

    #[test]
    fn refusals_know_who_may() {
        use Role::*;
        assert_eq!(
            roles_allowed(Action::ViewReports, Scope::Global),
            [Administrator, Approver, Finance, Keeper]
        );
        assert_eq!(
            roles_allowed(Action::FileRequest, Scope::Unit(7)),
            [Keeper, UnitStaff]
        );
        let staff = user(UnitStaff, Some(7));
        let e = authorize(&staff, Action::ViewReports, Scope::Global).err();
        assert_eq!(
            e.map(|e| e.text(crate::i18n::Lang::Zh)).as_deref(),
            Some("查看报表需要系统管理员、审批人、财政或仓管员的权限")
        );
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
