//! Requests, their steps and what the steps do to assets. Every change of
//! an asset's state goes through [`move_asset`], which asks the state
//! machine ([`crate::lifecycle::transition`]) and appends the event in the
//! same transaction; every step is checked by [`crate::workflow::step`].

mod cases;
mod desk;
mod documents;
mod filing;
mod findings;
mod idle;
mod kits;
pub mod lines;
mod moves;
mod photos;
mod procurement;
mod queries;
pub(crate) mod reserve;
mod steps;
mod stock;
mod tools;

use crate::store::db::{Db, OptionalExtension};
use serde_json::json;

use super::assets::{asset_ref, get_asset, insert_asset};
use super::events::{append, append_step, NewEvent, NewStep};
use super::register::require_exists;
use super::Store;
use crate::error::{AppError, AppResult, Eligibility, Reason};
use crate::input::{optional_text, parse_date, required_text};
use crate::lifecycle::{self, AssetAction};
use crate::money::amount;
use crate::paging::{Page, Paging};
use crate::policy::{authorize, Action, Actor, Ctx, Role, Scope};
use crate::register::*;
use crate::time::{now_ms, shanghai_today, ts};
use crate::workflow::*;
use cases::open_residual_disposal;
use documents::*;
use kits::{kit_assets, kit_members_held, kit_whole};
use lines::*;
use moves::*;
use queries::*;
use stock::*;

pub(crate) use cases::open_case;
pub use desk::{DeskEntry, PickLine, PickList};
pub use documents::Document;
pub use findings::UnusedMark;
pub use idle::{Listing, REUSE_REACH_KEY};
pub(crate) use moves::{move_asset, Move};
pub use queries::{PurchaseMatches, RequestQuery};
pub use reserve::{Availability, BookingView, MAX_AVAILABILITY_DAYS};
pub use tools::{FieldAsset, FieldPlan, SampleAsset, StockLocation, WaitingCheckout};

fn role_of(actor: &Actor) -> AppResult<Role> {
    match actor {
        Actor::User { role, .. } => Ok(*role),
        _ => Err(Reason::PeopleOnly.into()),
    }
}

fn unit_of(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User { unit_id, .. } => *unit_id,
        _ => None,
    }
}

fn user_id(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User { id, .. } => Some(*id),
        _ => None,
    }
}

/// The row of a request, as the step logic needs it.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    kind: RequestKind,
    stage: Stage,
    unit_id: Option<i64>,
    other_unit_id: Option<i64>,
    applicant_user_id: Option<i64>,
    category_id: Option<i64>,
    quantity: Option<i64>,
    budget_fen: Option<i64>,
    method: Option<DisposalMethod>,
    loss: bool,
    cause: Option<Cause>,
    remedy: Option<Remedy>,
    spent_fen: Option<i64>,
    hammer_fen: Option<i64>,
    fees_fen: Option<i64>,
    compensation_fen: Option<i64>,
    batch_id: Option<i64>,
    region_id: Option<i64>,
    destination: Destination,
    /// The region of `other_unit_id` (the other side of a transfer).
    other_region_id: Option<i64>,
    /// The region of the warehouse the request's named items are in (a
    /// loan or allocation of another region's stock).
    stock_region_id: Option<i64>,
    /// The damage case a residual-value disposal comes from.
    origin_request_id: Option<i64>,
}

fn load_row(c: &Db<'_>, id: i64) -> AppResult<Row> {
    c.prepare_cached(
        "SELECT id, kind, stage, unit_id, other_unit_id, applicant_user_id, category_id,
                quantity, disposal_method, loss, cause, remedy, spent_fen, hammer_fen,
                compensation_fen, batch_id, budget_fen, region_id,
                (SELECT u.region_id FROM units u WHERE u.id = requests.other_unit_id),
                (SELECT w.region_id FROM request_items i
                   JOIN assets a ON a.id = i.asset_id
                   JOIN locations l ON l.id = COALESCE(i.from_location_id, a.holder_location_id)
                   JOIN warehouses w ON w.id = l.warehouse_id
                  WHERE i.request_id = requests.id
                  ORDER BY i.asset_id LIMIT 1),
                fees_fen, origin_request_id, destination
         FROM requests WHERE id = ?1",
    )?
    .query_row([id], |r| {
        let kind: String = r.get(1)?;
        let stage: String = r.get(2)?;
        let method: Option<String> = r.get(8)?;
        let cause: Option<String> = r.get(10)?;
        let remedy: Option<String> = r.get(11)?;
        Ok(Row {
            id: r.get(0)?,
            kind: RequestKind::parse(&kind).unwrap_or(RequestKind::Damage),
            stage: Stage::parse(&stage).unwrap_or(Stage::Rejected),
            unit_id: r.get(3)?,
            other_unit_id: r.get(4)?,
            applicant_user_id: r.get(5)?,
            category_id: r.get(6)?,
            quantity: r.get(7)?,
            budget_fen: r.get(16)?,
            method: method.as_deref().and_then(DisposalMethod::parse),
            loss: r.get(9)?,
            cause: cause.as_deref().and_then(Cause::parse),
            remedy: remedy.as_deref().and_then(Remedy::parse),
            spent_fen: r.get(12)?,
            hammer_fen: r.get(13)?,
            compensation_fen: r.get(14)?,
            batch_id: r.get(15)?,
            region_id: r.get(17)?,
            other_region_id: r.get(18)?,
            stock_region_id: r.get(19)?,
            fees_fen: r.get(20)?,
            origin_request_id: r.get(21)?,
            destination: Destination::parse(&r.get::<_, String>(22)?).unwrap_or(Destination::Unit),
        })
    })
    .optional()?
    .ok_or_else(|| AppError::not_found("request", id))
}

/// The scope a request belongs to, for [`authorize`].
fn scope_of(r: &Row) -> Scope {
    Scope::held(r.unit_id, r.region_id)
}

/// The scope of the giving side of a request across regions: for a
/// transfer, the unit whose listed item is asked for, in its region; for
/// a loan or allocation of named items, the region of the warehouse they
/// are in (whose keepers hand them out and take them back). `None` for
/// every other request (one region decides).
fn giving_side(r: &Row) -> Option<Scope> {
    match r.kind {
        RequestKind::Transfer => {
            let unit = r.other_unit_id?;
            (r.other_region_id != r.region_id).then_some(Scope::Unit {
                unit,
                region: r.other_region_id,
            })
        }
        RequestKind::Loan | RequestKind::Allocation => {
            let region = r.stock_region_id?;
            (r.region_id != Some(region)).then_some(Scope::Stock {
                region: Some(region),
            })
        }
        _ => None,
    }
}

/// May the actor act on this request: for its region, or for the giving
/// side of a transfer across regions (which both sides approve).
fn authorize_act(actor: &Actor, r: &Row) -> AppResult<()> {
    authorize(actor, Action::ActOnRequest, scope_of(r)).or_else(|refused| match giving_side(r) {
        Some(giving) => authorize(actor, Action::ActOnRequest, giving).map_err(|_| refused),
        None => Err(refused),
    })
}

/// May the actor see this request? Unit staff see their unit's requests
/// and transfers asking for their listed items.
fn may_view(actor: &Actor, r: &Row) -> bool {
    let other = r.other_unit_id.map(|unit| Scope::Unit {
        unit,
        region: r.other_region_id,
    });
    [Some(scope_of(r)), other, giving_side(r)]
        .into_iter()
        .flatten()
        .any(|scope| authorize(actor, Action::ViewRequests, scope).is_ok())
}

fn record_step(
    tx: &Db<'_>,
    ctx: &Ctx,
    id: i64,
    stage: Stage,
    action: &str,
    comment: Option<&str>,
    details: serde_json::Value,
) -> AppResult<()> {
    let comment = optional_text("comment", comment, 1000)?;
    append_step(
        tx,
        ctx,
        NewStep {
            request_id: id,
            stage: stage.as_str(),
            action,
            comment,
            details,
        },
    )
}

/// The open request holding an asset, if any.
fn holding_request(c: &Db<'_>, asset_id: i64) -> AppResult<Option<i64>> {
    Ok(
        c.prepare_cached(
            "SELECT request_id FROM request_items WHERE asset_id = ?1 AND active = 1",
        )?
        .query_row([asset_id], |r| r.get(0))
        .optional()?,
    )
}

/// Puts an asset under a request; an asset is held by at most one open
/// request (the unique index is the backstop for concurrent writers).
fn hold_item(
    tx: &Db<'_>,
    request: i64,
    asset_id: i64,
    status: &str,
    prev_state: Option<AssetState>,
    line_no: i64,
) -> AppResult<()> {
    let holder = holding_request(tx, asset_id)?;
    if let Some(other) = holder.filter(|o| *o != request) {
        return Err(Reason::AssetHeld {
            asset: asset_ref(tx, asset_id)?,
            request_id: other,
        }
        .into());
    }
    tx.prepare_cached(
        "INSERT INTO request_items (request_id, asset_id, status, active, prev_state, line_no)
         VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (request_id, asset_id) DO UPDATE SET status = excluded.status, active = 1",
    )?
    .execute(rusqlite::params![
        request,
        asset_id,
        status,
        prev_state.map(|s| s.as_str()),
        line_no
    ])?;
    Ok(())
}

fn set_item(tx: &Db<'_>, request: i64, asset_id: i64, status: &str, active: bool) -> AppResult<()> {
    tx.prepare_cached(
        "UPDATE request_items SET status = ?3, active = ?4 WHERE request_id = ?1 AND asset_id = ?2",
    )?
    .execute(rusqlite::params![request, asset_id, status, active])?;
    Ok(())
}

/// An active item: asset id, item status, state before the request held
/// it, and the location it was checked out from.
type HeldItem = (i64, String, Option<AssetState>, Option<i64>);

/// Scanned EPCs: the known ones with their asset, and the unknown ones.
type Scans = (Vec<(String, i64)>, Vec<Extra>);

/// Active items of a request with their status and recorded previous state.
fn active_items(c: &Db<'_>, request: i64) -> AppResult<Vec<HeldItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT asset_id, status, prev_state, from_location_id FROM request_items
         WHERE request_id = ?1 AND active = 1 ORDER BY asset_id",
    )?;
    let rows = stmt.query_map([request], |r| {
        let prev: Option<String> = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            prev.as_deref().and_then(AssetState::parse),
            r.get(3)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn remove_listing(tx: &Db<'_>, asset_id: i64) -> AppResult<()> {
    tx.prepare_cached("DELETE FROM idle_listings WHERE asset_id = ?1")?
        .execute([asset_id])?;
    Ok(())
}

/// EPC (hex) → asset id of the active binding.
fn asset_by_epc(c: &Db<'_>, epc_hex: &str) -> AppResult<Option<i64>> {
    let bytes = shared::hex::decode(epc_hex.trim()).map_err(|e| {
        AppError::from(Reason::NotHex {
            field: "epcs".into(),
            value: epc_hex.into(),
            detail: e.to_string(),
        })
    })?;
    Ok(
        c.prepare_cached("SELECT asset_id FROM tags WHERE epc = ?1 AND unbound_at IS NULL")?
            .query_row([bytes], |r| r.get(0))
            .optional()?,
    )
}

/// Releases everything a request holds (rejection, withdrawal, shortfall).
fn release_all(tx: &Db<'_>, ctx: &Ctx, r: &Row, reason: Option<String>) -> AppResult<()> {
    for (asset, status, prev, _) in active_items(tx, r.id)? {
        if r.kind == RequestKind::Disposal {
            move_asset(
                tx,
                ctx,
                asset,
                AssetAction::ReleaseDisposal,
                Move {
                    request: Some(r.id),
                    released_to: prev,
                    reason: reason.clone(),
                    ..Move::default()
                },
            )?;
        } else if status != "requested" {
            // Only reserved items can be released; moved ones stay with the
            // request (the chain never rejects after a check-out).
            continue;
        }
        set_item(tx, r.id, asset, "released", false)?;
    }
    Ok(())
}
