//! The asset state machine: the one function deciding which state an asset
//! moves to when someone does something to it. Every path that changes an
//! asset's state (requests, desk scans, stock-take resolutions, the
//! virtual warehouse) calls [`transition`] through the store's single
//! `move_asset`, which also appends the event in the same transaction.

use serde::Serialize;

use crate::error::AppError;
use crate::policy::{Actor, Role};
use crate::register::AssetState;

/// Everything that moves an asset between states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetAction {
    /// Keeper checks an asset out at the desk for an approved request.
    CheckOut,
    /// The receiving unit confirms an allocation (or fulfilled purchase).
    ConfirmAllocation,
    /// The borrowing unit confirms a loan's items arrived.
    ConfirmLoan,
    /// Keeper scans a lent asset back in.
    Return,
    /// The holding unit offers an idle asset in the virtual warehouse.
    ListIdle,
    /// The holding unit takes its listing back.
    Unlist,
    /// An approved virtual-warehouse transfer: the holder changes.
    Transfer,
    /// Keeper receives an item a unit hands in (intake).
    HandIn,
    /// A disposal request holds the asset.
    HoldForDisposal,
    /// The disposal was rejected or withdrawn: back where it was.
    ReleaseDisposal,
    /// Scrapped, auctioned, transferred out or written off: terminal.
    Dispose,
    /// Reported lost (damage-and-loss case, stock-take).
    MarkLost,
    /// A lost asset turned up again and is back in the warehouse.
    Found,
    /// A damage case decided it is repaired at the responsible party's cost.
    StartRepair,
    /// Keeper records the repair done.
    FinishRepair,
}

impl AssetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckOut => "check_out",
            Self::ConfirmAllocation => "confirm_allocation",
            Self::ConfirmLoan => "confirm_loan",
            Self::Return => "return",
            Self::ListIdle => "list_idle",
            Self::Unlist => "unlist",
            Self::Transfer => "transfer",
            Self::HandIn => "hand_in",
            Self::HoldForDisposal => "hold_for_disposal",
            Self::ReleaseDisposal => "release_disposal",
            Self::Dispose => "dispose",
            Self::MarkLost => "mark_lost",
            Self::Found => "found",
            Self::StartRepair => "start_repair",
            Self::FinishRepair => "finish_repair",
        }
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The action does not apply in the asset's current state (409).
    WrongState {
        state: AssetState,
        action: AssetAction,
        expected: &'static [AssetState],
    },
    /// The actor's role may not do this (403).
    WrongRole { action: AssetAction },
}

impl Refusal {
    /// The HTTP-facing error, naming the asset and its state.
    pub fn into_error(self, asset: crate::error::AssetRef) -> AppError {
        match self {
            Refusal::WrongState {
                state,
                action,
                expected,
            } => crate::error::Reason::WrongState {
                asset,
                state: state.as_str().into(),
                action: action.as_str().into(),
                expected: expected.iter().map(|s| s.as_str().to_owned()).collect(),
            }
            .into(),
            Refusal::WrongRole { action } => crate::error::Reason::RoleMayNot {
                asset,
                action: action.as_str().into(),
            }
            .into(),
        }
    }
}

use AssetState::*;

/// States an asset may be in for `action`, and where it goes. `HoldFor…`
/// and `Release…` depend on where the asset is held, see [`transition`].
fn rule(action: AssetAction) -> (&'static [AssetState], Option<AssetState>) {
    use AssetAction as A;
    match action {
        A::CheckOut => (&[InStock], Some(InTransit)),
        A::ConfirmAllocation => (&[InTransit], Some(Allocated)),
        A::ConfirmLoan => (&[InTransit], Some(OnLoan)),
        A::Return => (&[OnLoan], Some(InStock)),
        A::ListIdle => (&[Allocated], Some(ListedIdle)),
        A::Unlist => (&[ListedIdle], Some(Allocated)),
        A::Transfer => (&[ListedIdle], Some(Allocated)),
        A::HandIn => (&[Allocated, ListedIdle], Some(InStock)),
        A::HoldForDisposal => (
            &[InStock, Allocated, ListedIdle, UnderRepair, Lost],
            Some(DisposalPending),
        ),
        // Back to the state recorded when the hold began (checked by caller).
        A::ReleaseDisposal => (&[DisposalPending], None),
        A::Dispose => (&[DisposalPending, Lost], Some(Disposed)),
        A::MarkLost => (
            &[
                InStock,
                Allocated,
                OnLoan,
                InTransit,
                ListedIdle,
                UnderRepair,
            ],
            Some(Lost),
        ),
        A::Found => (&[Lost], Some(InStock)),
        A::StartRepair => (&[InStock, Allocated, OnLoan], Some(UnderRepair)),
        // Back to its holder: in stock, or allocated to the holding unit.
        A::FinishRepair => (&[UnderRepair], None),
    }
}

/// Roles that may perform an action. Request-driven actions list the roles
/// whose request steps cause them (the request's own chain decides which
/// step is whose; this is the backstop).
fn roles(action: AssetAction) -> &'static [Role] {
    use AssetAction as A;
    use Role::*;
    match action {
        A::CheckOut | A::Return | A::HandIn | A::Found | A::FinishRepair => &[Keeper],
        A::ConfirmAllocation | A::ConfirmLoan => &[UnitStaff, Approver],
        A::ListIdle | A::Unlist => &[UnitStaff],
        A::Transfer => &[Approver],
        A::HoldForDisposal => &[UnitStaff, Keeper, Approver],
        A::ReleaseDisposal => &[UnitStaff, Keeper, Approver, Finance],
        A::Dispose => &[Finance],
        A::MarkLost => &[UnitStaff, Keeper, Approver],
        A::StartRepair => &[Approver],
    }
}

/// What an asset's state becomes when `actor` does `action` to it while it
/// is `state`. `held_by_unit` tells where a repaired or released asset
/// returns (allocated to its unit, or in stock); `released_to` is the state
/// recorded when a disposal hold began.
pub fn transition(
    state: AssetState,
    action: AssetAction,
    actor: &Actor,
    held_by_unit: bool,
    released_to: Option<AssetState>,
) -> Result<AssetState, Refusal> {
    let allowed_role = match actor {
        Actor::System => true,
        Actor::Daemon { .. } => false,
        Actor::User { role, .. } => roles(action).contains(role),
    };
    if !allowed_role {
        return Err(Refusal::WrongRole { action });
    }
    let (from, to) = rule(action);
    if !from.contains(&state) {
        return Err(Refusal::WrongState {
            state,
            action,
            expected: from,
        });
    }
    let back_to_holder = if held_by_unit { Allocated } else { InStock };
    Ok(match (action, to) {
        (_, Some(to)) => to,
        (AssetAction::ReleaseDisposal, None) => match released_to {
            Some(s) if s != DisposalPending && s != Disposed => s,
            _ => back_to_holder,
        },
        (_, None) => back_to_holder,
    })
}

/// Whether an asset in this state may pass an exit gate: the "approved
/// check-out" the gate rule ([`crate::gate::raises_alarm`]) reads. Only
/// assets the warehouse holds (in stock, held for disposal, lost, under
/// repair in the warehouse) alarm; an approved check-out moves an asset to
/// `in_transit`, which may leave.
pub fn may_pass_gate(state: AssetState) -> bool {
    matches!(
        state,
        InTransit | Allocated | OnLoan | ListedIdle | Disposed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Actor {
        Actor::User {
            id: 1,
            username: "u".into(),
            role,
            unit_id: Some(1),
            reach: crate::policy::Reach::Network,
        }
    }

    #[test]
    fn loan_round_trip() {
        let keeper = user(Role::Keeper);
        let staff = user(Role::UnitStaff);
        let s = transition(InStock, AssetAction::CheckOut, &keeper, false, None);
        assert_eq!(s, Ok(InTransit));
        let s = transition(InTransit, AssetAction::ConfirmLoan, &staff, false, None);
        assert_eq!(s, Ok(OnLoan));
        let s = transition(OnLoan, AssetAction::Return, &keeper, true, None);
        assert_eq!(s, Ok(InStock));
    }

    #[test]
    fn wrong_state_names_the_state() {
        let keeper = user(Role::Keeper);
        let err = transition(OnLoan, AssetAction::CheckOut, &keeper, true, None);
        assert_eq!(
            err,
            Err(Refusal::WrongState {
                state: OnLoan,
                action: AssetAction::CheckOut,
                expected: &[InStock]
            })
        );
        let e = err
            .err()
            .map(|r| r.into_error(crate::error::AssetRef::new(7, "ZC-7")));
        assert!(e.is_some_and(|e| e.message().contains("asset ZC-7 (id 7) is on_loan")));
    }

    #[test]
    fn wrong_role_is_refused_before_state() {
        let staff = user(Role::UnitStaff);
        assert_eq!(
            transition(InStock, AssetAction::CheckOut, &staff, false, None),
            Err(Refusal::WrongRole {
                action: AssetAction::CheckOut
            })
        );
        let reader = Actor::Daemon {
            id: 1,
            daemon_id: "edge-1".into(),
            readers: vec!["gate".into()],
        };
        assert!(transition(Lost, AssetAction::Found, &reader, false, None).is_err());
    }

    #[test]
    fn disposed_is_terminal() {
        for action in [
            AssetAction::CheckOut,
            AssetAction::ConfirmAllocation,
            AssetAction::ConfirmLoan,
            AssetAction::Return,
            AssetAction::ListIdle,
            AssetAction::Unlist,
            AssetAction::Transfer,
            AssetAction::HandIn,
            AssetAction::HoldForDisposal,
            AssetAction::ReleaseDisposal,
            AssetAction::Dispose,
            AssetAction::MarkLost,
            AssetAction::Found,
            AssetAction::StartRepair,
            AssetAction::FinishRepair,
        ] {
            assert!(
                transition(Disposed, action, &Actor::System, false, None).is_err(),
                "{action:?} left `disposed`"
            );
        }
    }

    #[test]
    fn release_and_repair_return_to_the_holder() {
        let approver = user(Role::Approver);
        assert_eq!(
            transition(
                DisposalPending,
                AssetAction::ReleaseDisposal,
                &approver,
                true,
                Some(ListedIdle)
            ),
            Ok(ListedIdle)
        );
        assert_eq!(
            transition(
                DisposalPending,
                AssetAction::ReleaseDisposal,
                &approver,
                false,
                None
            ),
            Ok(InStock)
        );
        let keeper = user(Role::Keeper);
        assert_eq!(
            transition(UnderRepair, AssetAction::FinishRepair, &keeper, true, None),
            Ok(Allocated)
        );
    }

    #[test]
    fn gate_passes_follow_state() {
        assert!(may_pass_gate(InTransit));
        assert!(!may_pass_gate(InStock));
        assert!(!may_pass_gate(DisposalPending));
    }
}
