//! The one writer of `assets.state`: every state change of an asset goes
//! through [`move_asset`], which asks the state machine
//! ([`crate::lifecycle::transition`]) and appends the event in the caller's
//! transaction.

use super::*;

/// Where a moved asset ends up and why.
#[derive(Debug, Default)]
pub(crate) struct Move {
    pub request: Option<i64>,
    pub to_unit: Option<i64>,
    pub to_location: Option<i64>,
    pub condition: Option<Condition>,
    pub released_to: Option<AssetState>,
    pub reason: Option<String>,
}

pub(super) fn place_of(unit: Option<i64>, location: Option<i64>) -> Option<String> {
    location
        .map(|l| format!("location:{l}"))
        .or(unit.map(|u| format!("unit:{u}")))
}

/// The one path that changes an asset's state.
pub(crate) fn move_asset(
    tx: &Db<'_>,
    ctx: &Ctx,
    asset_id: i64,
    action: AssetAction,
    mv: Move,
) -> AppResult<Asset> {
    let a = get_asset(tx, asset_id)?;
    let to = lifecycle::transition(
        a.state,
        action,
        &ctx.actor,
        a.holder_unit_id.is_some(),
        mv.released_to,
    )
    .map_err(|r| r.into_error(a.asset_ref()))?;
    let (unit, location) = match (mv.to_unit, mv.to_location) {
        (Some(u), _) => (Some(u), None),
        (None, Some(l)) => (None, Some(l)),
        (None, None) => (a.holder_unit_id, a.holder_location_id),
    };
    let condition = mv.condition.unwrap_or(a.condition);
    tx.prepare_cached(
        "UPDATE assets SET state = ?1, holder_unit_id = ?2, holder_location_id = ?3,
             condition = ?4, checkout_approved = ?5, updated_at = ?6 WHERE id = ?7",
    )?
    .execute(rusqlite::params![
        to.as_str(),
        unit,
        location,
        condition.as_str(),
        lifecycle::may_pass_gate(to),
        now_ms(),
        asset_id
    ])?;
    // A unit's mark "unused" (闲置标记) is about the asset as that unit
    // holds it: a move to another state or holder ends it.
    if to != AssetState::Allocated || unit != a.holder_unit_id {
        tx.prepare_cached("DELETE FROM asset_unused_marks WHERE asset_id = ?1")?
            .execute([asset_id])?;
    }
    let mut details = json!({ "from": a.state.as_str(), "to": to.as_str() });
    if let Some(r) = mv.request {
        details["request"] = json!(r);
    }
    if unit != a.holder_unit_id || location != a.holder_location_id {
        details["holder"] = json!({ "unit_id": unit, "location_id": location });
    }
    if condition != a.condition {
        details["condition"] = json!(condition.as_str());
    }
    append(
        tx,
        ctx,
        NewEvent {
            asset_id,
            action: action.as_str(),
            place: place_of(unit, location),
            reason: mv.reason,
            details,
        },
    )?;
    get_asset(tx, asset_id)
}

/// Appends an event that changes no state (a request step naming the asset).
pub(super) fn note_event(
    tx: &Db<'_>,
    ctx: &Ctx,
    a: &Asset,
    action: &str,
    reason: Option<String>,
    details: serde_json::Value,
) -> AppResult<()> {
    append(
        tx,
        ctx,
        NewEvent {
            asset_id: a.id,
            action,
            place: place_of(a.holder_unit_id, a.holder_location_id),
            reason,
            details,
        },
    )?;
    Ok(())
}
