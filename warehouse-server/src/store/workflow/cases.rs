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

/// 残值评估 — the disposal a damage case opens when its damaged items
/// were compensated: the items (already `disposal_pending`, held by the
/// case) pass to a disposal at its first stage, appraisal, for the case's
/// unit and region. It is opened as a scrap; the appraisal may send it to
/// auction. Should it be rejected, the items go back to where they were
/// before the case.
pub(super) fn open_residual_disposal(
    tx: &Db<'_>,
    ctx: &Ctx,
    case: &Row,
    items: &[HeldItem],
) -> AppResult<i64> {
    let now = now_ms();
    let reason = format!("损坏案件（编号 {}）已赔偿，残值评估后处置", case.id);
    tx.prepare_cached(
        "INSERT INTO requests (kind, stage, unit_id, applicant, applicant_user_id, quantity,
             reason, disposal_method, loss, created_at, updated_at, region_id,
             origin_request_id)
         VALUES ('disposal', 'appraisal', ?1, ?2, ?3, ?4, ?5, 'scrap', 0, ?6, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        case.unit_id,
        ctx.actor.label(),
        user_id(&ctx.actor),
        items.len() as i64,
        reason,
        now,
        case.region_id,
        case.id
    ])?;
    let id = tx.last_insert_rowid()?;
    // One line: the named items (as every request's lines hold them).
    tx.prepare_cached(
        "INSERT INTO request_lines (request_id, line_no, category_id, quantity, notes)
         VALUES (?1, 1, NULL, ?2, NULL)",
    )?
    .execute((id, items.len() as i64))?;
    for (asset, _, prev, _) in items {
        hold_item(tx, id, *asset, "requested", *prev, 1)?;
        let a = get_asset(tx, *asset)?;
        note_event(
            tx,
            ctx,
            &a,
            "residual_appraisal",
            Some(reason.clone()),
            json!({ "request": id, "damage_case": case.id }),
        )?;
    }
    record_step(
        tx,
        ctx,
        id,
        Stage::Appraisal,
        "submit",
        Some(&reason),
        json!({ "damage_case": case.id }),
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
