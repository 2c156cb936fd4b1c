//! Manual entry (手工录入): a keeper types the asset number printed in the
//! register when a tag will not read. The entry counts as a read of the
//! asset's tag at the desk or in a stock-take (those files record it);
//! here are the two things every entry shares: finding the asset by the
//! number typed, and the `manual_entry` event that chains who typed what.

use crate::store::db::{Db, OptionalExtension};
use serde_json::json;

use super::events::{append, NewEvent};
use crate::error::{AppResult, Reason};
use crate::input::required_text;
use crate::policy::Ctx;

/// The event action of a typed entry (its words: i18n `manual_entry`).
pub const MANUAL_ENTRY: &str = "manual_entry";

/// An asset found by the number a keeper typed.
#[derive(Debug, Clone)]
pub struct TypedAsset {
    pub id: i64,
    pub asset_number: String,
    pub name: String,
    /// Its active tag, which the entry stands for.
    pub epc: Vec<u8>,
}

/// The asset whose number is `typed` (trimmed), with its active tag.
/// Unknown numbers and untagged assets are refused naming `field`.
pub(crate) fn typed_asset(c: &Db<'_>, field: &str, typed: &str) -> AppResult<TypedAsset> {
    let number = required_text(field, typed, 64)?;
    let row: Option<(i64, String, String, Option<Vec<u8>>)> = c
        .prepare_cached(
            "SELECT a.id, a.asset_number, a.name, t.epc FROM assets a
             LEFT JOIN tags t ON t.asset_id = a.id AND t.unbound_at IS NULL
             WHERE a.asset_number = ?1",
        )?
        .query_row([&number], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((id, asset_number, name, epc)) = row else {
        return Err(Reason::UnknownAssetNumber {
            field: field.into(),
            value: number,
        }
        .into());
    };
    let Some(epc) = epc else {
        return Err(Reason::AssetUntagged {
            field: field.into(),
            asset_id: id,
            asset_number,
        }
        .into());
    };
    Ok(TypedAsset {
        id,
        asset_number,
        name,
        epc,
    })
}

/// Chains the entry: who typed which number, where (`place`, e.g.
/// `request:7` or `stocktake:3`). Not a change of the asset: its state
/// and holder stay as they are.
pub(crate) fn record_entry(tx: &Db<'_>, ctx: &Ctx, a: &TypedAsset, place: String) -> AppResult<()> {
    append(
        tx,
        ctx,
        NewEvent {
            asset_id: a.id,
            action: MANUAL_ENTRY,
            place: Some(place),
            reason: None,
            details: json!({
                "asset_number": a.asset_number,
                "epc": shared::hex::Hex(&a.epc).to_string(),
            }),
        },
    )?;
    Ok(())
}
