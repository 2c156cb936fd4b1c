//! Damage and loss cases opened outside a request (a damaged return, an
//! item missing at a stock-take), repairs done and lost assets found.

use super::*;

/// A damage (or, with `loss`, loss) case opened by another step: a
/// damaged return, an item missing at a stock-take.
pub(crate) fn open_case(
    tx: &Db<'_>,
    ctx: &Ctx,
    unit: Option<i64>,
    asset_id: i64,
    loss: bool,
    reason: String,
) -> AppResult<i64> {
    let now = now_ms();
    tx.prepare_cached(
        "INSERT INTO requests (kind, stage, unit_id, applicant, applicant_user_id, reason,
             loss, created_at, updated_at)
         VALUES ('damage', 'cause', ?1, ?2, ?3, ?4, ?6, ?5, ?5)",
    )?
    .execute(rusqlite::params![
        unit,
        ctx.actor.label(),
        user_id(&ctx.actor),
        reason,
        now,
        loss
    ])?;
    let id = tx.last_insert_rowid()?;
    hold_item(tx, id, asset_id, "requested", None, 1)?;
    let a = get_asset(tx, asset_id)?;
    note_event(
        tx,
        ctx,
        &a,
        if loss {
            "loss_reported"
        } else {
            "damage_reported"
        },
        Some(reason.clone()),
        json!({ "request": id }),
    )?;
    record_step(
        tx,
        ctx,
        id,
        Stage::Cause,
        "submit",
        Some(&reason),
        json!({}),
    )?;
    Ok(id)
}

impl Store {
    /// Keeper: a repair is done; the asset goes back to its holder's state.
    pub async fn finish_repair(
        &self,
        ctx: Ctx,
        asset_id: i64,
        comment: Option<String>,
    ) -> AppResult<Asset> {
        let comment = optional_text("comment", comment.as_deref(), 500)?;
        self.write(move |tx| {
            move_asset(
                tx,
                &ctx,
                asset_id,
                AssetAction::FinishRepair,
                Move {
                    condition: Some(Condition::Good),
                    reason: comment,
                    ..Move::default()
                },
            )
        })
        .await
    }

    /// Keeper: a lost asset turned up and is put back in a location.
    pub async fn found_asset(
        &self,
        ctx: Ctx,
        asset_id: i64,
        location_id: i64,
        comment: Option<String>,
    ) -> AppResult<Asset> {
        let comment = optional_text("comment", comment.as_deref(), 500)?;
        self.write(move |tx| {
            require_exists(tx, "locations", "location_id", location_id)?;
            let held = holding_request(tx, asset_id)?;
            if let Some(r) = held {
                return Err(Reason::HeldByLossCase {
                    request_id: r,
                    asset: asset_ref(tx, asset_id)?,
                }
                .into());
            }
            move_asset(
                tx,
                &ctx,
                asset_id,
                AssetAction::Found,
                Move {
                    to_location: Some(location_id),
                    reason: comment,
                    ..Move::default()
                },
            )
        })
        .await
    }
}
