//! Exit-gate alarms (出口报警): the one rule deciding when a sighting at a
//! gate reader is an asset leaving without an approved check-out.

use chrono::{DateTime, Utc};
use shared::sync::ObservationKind;

use crate::error::{in_range, AppResult};
use crate::input::required_text;
use crate::register::ReaderRole;

/// What clears an asset to pass an exit gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clearance {
    /// Its state is an approved check-out
    /// ([`crate::lifecycle::may_pass_gate`]): a keeper's check-out of an
    /// approved allocation or loan moves the asset to `in_transit`, which
    /// may leave; stock, items held for disposal and lost items may not.
    pub state_may_pass: bool,
    /// Until when (unix ms) the latest emergency pass (紧急放行) an approver
    /// granted runs, if any.
    pub pass_expires_at: Option<i64>,
}

/// An alarm is raised when a known asset is seen (or appears) at a gate
/// reader at `at` (unix ms) and nothing clears it: neither its state nor an
/// emergency pass still running then. `removed` reports that a tag left the
/// field, already covered by its earlier `added`/`seen`. Unknown EPCs
/// never alarm (they are foreign sightings). There is no other way
/// through: nobody sets a flag by hand.
pub fn raises_alarm(reader: ReaderRole, kind: ObservationKind, clear: Clearance, at: i64) -> bool {
    let cleared = clear.state_may_pass || clear.pass_expires_at.is_some_and(|until| at < until);
    reader == ReaderRole::Gate && kind != ObservationKind::Removed && !cleared
}

/// Longest an emergency pass may run.
pub const MAX_PASS_MINUTES: u32 = 24 * 60;

/// An approver's emergency pass: the asset may leave without an approved
/// check-out until the pass expires. Recorded in the asset's event chain.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyPassRequest {
    /// Why it must leave now (required).
    pub reason: String,
    /// 1 to 1440 minutes from now.
    pub valid_minutes: u32,
}

impl EmergencyPassRequest {
    /// The trimmed reason and the validity in milliseconds.
    pub fn validate(&self) -> AppResult<(String, i64)> {
        let reason = required_text("reason", &self.reason, 500)?;
        in_range(
            "valid_minutes",
            i64::from(self.valid_minutes),
            1,
            i64::from(MAX_PASS_MINUTES),
        )?;
        Ok((reason, i64::from(self.valid_minutes) * 60_000))
    }
}

/// A granted emergency pass.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EmergencyPass {
    pub asset_id: i64,
    pub granted_by: String,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uncleared_assets_passing_a_gate_alarm() {
        use ObservationKind::*;
        let none = Clearance::default();
        let state = Clearance {
            state_may_pass: true,
            pass_expires_at: None,
        };
        assert!(raises_alarm(ReaderRole::Gate, Added, none, 0));
        assert!(raises_alarm(ReaderRole::Gate, Seen, none, 0));
        assert!(!raises_alarm(ReaderRole::Gate, Removed, none, 0));
        assert!(!raises_alarm(ReaderRole::Gate, Added, state, 0));
        assert!(!raises_alarm(ReaderRole::Desk, Added, none, 0));
        assert!(!raises_alarm(ReaderRole::Handheld, Seen, none, 0));
    }

    #[test]
    fn an_emergency_pass_clears_only_until_it_expires() {
        let pass = Clearance {
            state_may_pass: false,
            pass_expires_at: Some(1_000),
        };
        let gate = |at| raises_alarm(ReaderRole::Gate, ObservationKind::Added, pass, at);
        assert!(!gate(999));
        assert!(gate(1_000));
        assert!(gate(5_000));
    }

    #[test]
    fn a_pass_needs_a_reason_and_a_bounded_validity() {
        let req = |reason: &str, valid_minutes| EmergencyPassRequest {
            reason: reason.into(),
            valid_minutes,
        };
        assert!(req(" 抢修 ", 30)
            .validate()
            .is_ok_and(|(r, ms)| r == "抢修" && ms == 1_800_000));
        assert!(req(" ", 30).validate().is_err());
        assert!(req("x", 0).validate().is_err());
        assert!(req("x", MAX_PASS_MINUTES + 1).validate().is_err());
    }
}

/// A raised alarm as the API lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Alarm {
    pub id: i64,
    pub asset_id: i64,
    pub asset_number: String,
    pub asset_name: String,
    pub reader_id: i64,
    pub epc: String,
    /// `open` or `acknowledged`.
    pub status: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub last_seen: chrono::DateTime<chrono::Utc>,
    pub sightings: i64,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub comment: Option<String>,
    /// The gate's region (its warehouse's).
    pub region_id: Option<i64>,
    /// The asset belongs to another region than the gate's.
    pub other_region: bool,
}

/// A keeper's acknowledgement.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    pub comment: String,
}
