//! Exit-gate alarms (出口报警): the one rule deciding when a sighting at a
//! gate reader is an asset leaving without an approved check-out.

use shared::sync::ObservationKind;

use crate::register::ReaderRole;

/// An alarm is raised when a known asset is seen (or appears) at a gate
/// reader and its check-out is not approved. `removed` reports that a tag
/// left the field, already covered by its earlier `added`/`seen`. Unknown
/// EPCs never alarm (they are foreign sightings). `checkout_approved` is
/// derived from the asset's state by the state machine
/// ([`crate::lifecycle::may_pass_gate`]): a keeper's check-out of an
/// approved allocation or loan moves the asset to `in_transit`, which may
/// leave; stock, items held for disposal and lost items may not. A keeper
/// can still issue a one-off pass (`PUT /assets/{id}/checkout-approval`),
/// recorded in the event log; the next state change resets it.
pub fn raises_alarm(reader: ReaderRole, kind: ObservationKind, checkout_approved: bool) -> bool {
    reader == ReaderRole::Gate && kind != ObservationKind::Removed && !checkout_approved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unapproved_assets_passing_a_gate_alarm() {
        use ObservationKind::*;
        assert!(raises_alarm(ReaderRole::Gate, Added, false));
        assert!(raises_alarm(ReaderRole::Gate, Seen, false));
        assert!(!raises_alarm(ReaderRole::Gate, Removed, false));
        assert!(!raises_alarm(ReaderRole::Gate, Added, true));
        assert!(!raises_alarm(ReaderRole::Desk, Added, false));
        assert!(!raises_alarm(ReaderRole::Handheld, Seen, false));
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
}

/// A keeper's acknowledgement.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    pub comment: String,
}
