//! Requests, their steps and what the steps do to assets. Every change of
//! an asset's state goes through [`move_asset`], which asks the state
//! machine ([`crate::lifecycle::transition`]) and appends the event in the
//! same transaction; every step is checked by [`crate::workflow::step`].

use rusqlite::{Connection, OptionalExtension, Transaction};
use serde_json::json;

use super::assets::{get_asset, insert_asset};
use super::events::{append, NewEvent};
use super::register::require_exists;
use super::Store;
use crate::error::{in_range, AppError, AppResult, Reason};
use crate::lifecycle::{self, AssetAction};
use crate::policy::{authorize, Action, Actor, Ctx, Role, Scope};
use crate::register::*;
use crate::workflow::*;

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

fn place_of(unit: Option<i64>, location: Option<i64>) -> Option<String> {
    location
        .map(|l| format!("location:{l}"))
        .or(unit.map(|u| format!("unit:{u}")))
}

/// The one path that changes an asset's state.
pub(crate) fn move_asset(
    tx: &Transaction<'_>,
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
    .map_err(|r| r.into_error(asset_id))?;
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
fn note_event(
    tx: &Transaction<'_>,
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

fn role_of(actor: &Actor) -> AppResult<Role> {
    match actor {
        Actor::User { role, .. } => Ok(*role),
        _ => Err(AppError::forbidden("only people take steps on requests")),
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
    method: Option<DisposalMethod>,
    loss: bool,
    cause: Option<Cause>,
    remedy: Option<Remedy>,
    spent_fen: Option<i64>,
    hammer_fen: Option<i64>,
    compensation_fen: Option<i64>,
    batch_id: Option<i64>,
}

fn load_row(c: &Connection, id: i64) -> AppResult<Row> {
    c.prepare_cached(
        "SELECT id, kind, stage, unit_id, other_unit_id, applicant_user_id, category_id,
                quantity, disposal_method, loss, cause, remedy, spent_fen, hammer_fen,
                compensation_fen, batch_id
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
            method: method.as_deref().and_then(DisposalMethod::parse),
            loss: r.get(9)?,
            cause: cause.as_deref().and_then(Cause::parse),
            remedy: remedy.as_deref().and_then(Remedy::parse),
            spent_fen: r.get(12)?,
            hammer_fen: r.get(13)?,
            compensation_fen: r.get(14)?,
            batch_id: r.get(15)?,
        })
    })
    .optional()?
    .ok_or_else(|| AppError::not_found("request", id))
}

/// The scope a request belongs to, for [`authorize`].
fn scope_of(r: &Row) -> Scope {
    r.unit_id.map_or(Scope::Warehouse, Scope::Unit)
}

/// May the actor see this request? Unit staff see their unit's requests
/// and transfers asking for their listed items.
fn may_view(actor: &Actor, r: &Row) -> bool {
    if authorize(actor, Action::ViewRequests, Scope::Global).is_ok() {
        return true;
    }
    [r.unit_id, r.other_unit_id]
        .into_iter()
        .flatten()
        .any(|u| authorize(actor, Action::ViewRequests, Scope::Unit(u)).is_ok())
}

fn money(field: &str, v: i64) -> AppResult<i64> {
    if v < 0 {
        return Err(Reason::Negative {
            field: field.into(),
        }
        .into());
    }
    Ok(v)
}

fn record_step(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: i64,
    stage: Stage,
    action: &str,
    comment: Option<&str>,
    details: serde_json::Value,
) -> AppResult<()> {
    let comment = optional_text("comment", comment, 1000)?;
    tx.prepare_cached(
        "INSERT INTO request_steps (request_id, stage, action, actor, at, comment, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        id,
        stage.as_str(),
        action,
        ctx.actor.label(),
        now_ms(),
        comment,
        details.to_string()
    ])?;
    Ok(())
}

/// The open request holding an asset, if any.
fn holding_request(c: &Connection, asset_id: i64) -> AppResult<Option<i64>> {
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
    tx: &Transaction<'_>,
    request: i64,
    asset_id: i64,
    status: &str,
    prev_state: Option<AssetState>,
) -> AppResult<()> {
    let holder = holding_request(tx, asset_id)?;
    if let Some(other) = holder.filter(|o| *o != request) {
        return Err(AppError::new(
            crate::error::ErrorKind::Conflict,
            "asset_held",
            format!("asset {asset_id} is already held by open request {other}"),
        ));
    }
    tx.prepare_cached(
        "INSERT INTO request_items (request_id, asset_id, status, active, prev_state)
         VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (request_id, asset_id) DO UPDATE SET status = excluded.status, active = 1",
    )?
    .execute(rusqlite::params![
        request,
        asset_id,
        status,
        prev_state.map(|s| s.as_str())
    ])?;
    Ok(())
}

fn set_item(
    tx: &Transaction<'_>,
    request: i64,
    asset_id: i64,
    status: &str,
    active: bool,
) -> AppResult<()> {
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
fn active_items(c: &Connection, request: i64) -> AppResult<Vec<HeldItem>> {
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

fn remove_listing(tx: &Transaction<'_>, asset_id: i64) -> AppResult<()> {
    tx.prepare_cached("DELETE FROM idle_listings WHERE asset_id = ?1")?
        .execute([asset_id])?;
    Ok(())
}

/// EPC (hex) → asset id of the active binding.
fn asset_by_epc(c: &Connection, epc_hex: &str) -> AppResult<Option<i64>> {
    let bytes = shared::hex::decode(epc_hex.trim())
        .map_err(|_| AppError::invalid("epcs", format!("`{epc_hex}` is not a hex EPC")))?;
    Ok(
        c.prepare_cached("SELECT asset_id FROM tags WHERE epc = ?1 AND unbound_at IS NULL")?
            .query_row([bytes], |r| r.get(0))
            .optional()?,
    )
}

/// Releases everything a request holds (rejection, withdrawal, shortfall).
fn release_all(tx: &Transaction<'_>, ctx: &Ctx, r: &Row, reason: Option<String>) -> AppResult<()> {
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

/// A damage (or, with `loss`, loss) case opened by another step: a
/// damaged return, an item missing at a stock-take.
pub(crate) fn open_case(
    tx: &Transaction<'_>,
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
    let id = tx.last_insert_rowid();
    hold_item(tx, id, asset_id, "requested", None)?;
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

// ---------------------------------------------------------------------------
// Filing a request.

fn create_blocking(tx: &Transaction<'_>, ctx: &Ctx, new: NewRequest) -> AppResult<i64> {
    use RequestKind as K;
    let role = role_of(&ctx.actor)?;
    // Whose request: unit staff act for their unit; keepers file disposal
    // and damage reports for warehouse stock (or a named unit's damage).
    let unit = match role {
        Role::UnitStaff => {
            let own = unit_of(&ctx.actor);
            if new.unit_id.is_some() && new.unit_id != own {
                return Err(AppError::forbidden(
                    "unit staff file requests for their own unit only",
                ));
            }
            own
        }
        Role::Keeper if matches!(new.kind, K::Disposal | K::Damage) => new.unit_id,
        _ => {
            return Err(AppError::forbidden(format!(
                "{} requests are filed by unit staff{}",
                new.kind.as_str(),
                if matches!(new.kind, K::Disposal | K::Damage) {
                    " or keepers"
                } else {
                    ""
                }
            )))
        }
    };
    authorize(
        &ctx.actor,
        Action::FileRequest,
        unit.map_or(Scope::Warehouse, Scope::Unit),
    )?;
    if let Some(u) = unit {
        require_exists(tx, "units", "unit_id", u)?;
    }
    let reason = optional_text("reason", new.reason.as_deref(), 2000)?;
    let needed_by = parse_date("needed_by", new.needed_by.as_deref())?;
    let loan_start = parse_date("loan_start", new.loan_start.as_deref())?;
    let loan_due = parse_date("loan_due", new.loan_due.as_deref())?;
    let asset_ids = new.asset_ids.clone().unwrap_or_default();
    if asset_ids.len() > 5000 {
        return Err(AppError::invalid(
            "asset_ids",
            "at most 5000 assets per request",
        ));
    }
    let mut dedup = asset_ids.clone();
    dedup.sort_unstable();
    dedup.dedup();
    if dedup.len() != asset_ids.len() {
        return Err(AppError::invalid("asset_ids", "an asset is named twice"));
    }
    let need = |field: &str, present: bool| -> AppResult<()> {
        if present {
            Ok(())
        } else {
            Err(Reason::RequiredFor {
                field: field.into(),
                kind: new.kind.as_str().into(),
            }
            .into())
        }
    };
    let mut other_unit = None;
    match new.kind {
        K::Purchase => {
            need("category_id", new.category_id.is_some())?;
            need("quantity", new.quantity.is_some())?;
            need("budget_fen", new.budget_fen.is_some())?;
            need("reason", reason.is_some())?;
            if !asset_ids.is_empty() {
                return Err(AppError::invalid(
                    "asset_ids",
                    "a purchase asks for a category and quantity, not specific assets",
                ));
            }
        }
        K::Allocation | K::Loan => {
            if asset_ids.is_empty() {
                need("category_id", new.category_id.is_some())?;
                need("quantity", new.quantity.is_some())?;
            }
            if new.kind == K::Loan {
                need("loan_start", loan_start.is_some())?;
                need("loan_due", loan_due.is_some())?;
                if loan_due < loan_start {
                    return Err(Reason::DueBeforeStart.into());
                }
            }
        }
        K::Transfer | K::Intake | K::Disposal | K::Damage => {
            need("asset_ids", !asset_ids.is_empty())?;
        }
    }
    if new.kind == K::Disposal {
        need("disposal_method", new.disposal_method.is_some())?;
    }
    if new.kind == K::Damage {
        need("reason", reason.is_some())?;
    }
    if let Some(q) = new.quantity {
        in_range("quantity", q, 1, 100_000)?;
    }
    if let Some(b) = new.budget_fen {
        money("budget_fen", b)?;
    }
    if let Some(c) = new.category_id {
        require_exists(tx, "categories", "category_id", c)?;
    }
    // Check every named asset before writing anything.
    let mut assets = Vec::with_capacity(asset_ids.len());
    for &id in &asset_ids {
        let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
        let bad = |what: &str| {
            Err(AppError::new(
                crate::error::ErrorKind::Conflict,
                "wrong_state",
                format!("asset {id} is {}; {what}", a.state.as_str()),
            ))
        };
        match new.kind {
            K::Allocation | K::Loan => {
                authorize(&ctx.actor, Action::ViewAsset, a.scope())?;
                if a.state != AssetState::InStock {
                    return bad("only in-stock assets can be requested");
                }
            }
            K::Transfer => {
                if a.state != AssetState::ListedIdle {
                    return bad("only virtual-warehouse listings can be asked for");
                }
                if a.holder_unit_id == unit {
                    return Err(AppError::invalid(
                        "asset_ids",
                        format!("asset {id} is already your unit's"),
                    ));
                }
                if other_unit.is_some() && other_unit != a.holder_unit_id {
                    return Err(AppError::invalid(
                        "asset_ids",
                        "one transfer asks one unit; file one request per unit",
                    ));
                }
                other_unit = a.holder_unit_id;
            }
            K::Intake => {
                authorize(&ctx.actor, Action::FileRequest, a.scope())?;
                if !matches!(a.state, AssetState::Allocated | AssetState::ListedIdle) {
                    return bad("only items the unit holds can be handed in");
                }
            }
            K::Disposal | K::Damage => {
                let scope = a.scope();
                authorize(&ctx.actor, Action::FileRequest, scope)?;
                if role == Role::UnitStaff && scope == Scope::Warehouse {
                    return Err(AppError::forbidden(format!(
                        "asset {id} is warehouse stock; a keeper reports it"
                    )));
                }
                if a.state == AssetState::Disposed {
                    return bad("it is already disposed");
                }
            }
            K::Purchase => {}
        }
        assets.push(a);
    }
    let now = now_ms();
    tx.prepare_cached(
        "INSERT INTO requests (kind, stage, unit_id, other_unit_id, applicant, applicant_user_id,
             category_id, quantity, budget_fen, reason, needed_by, loan_start, loan_due,
             disposal_method, loss, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
    )?
    .execute(rusqlite::params![
        new.kind.as_str(),
        new.kind.first_stage().as_str(),
        unit,
        other_unit,
        ctx.actor.label(),
        user_id(&ctx.actor),
        new.category_id,
        if asset_ids.is_empty() {
            new.quantity
        } else {
            Some(asset_ids.len() as i64)
        },
        new.budget_fen,
        reason,
        needed_by,
        loan_start,
        loan_due,
        new.disposal_method.map(|m| m.as_str()),
        new.loss.unwrap_or(false),
        now
    ])?;
    let id = tx.last_insert_rowid();
    for a in &assets {
        hold_item(tx, id, a.id, "requested", Some(a.state))?;
        match new.kind {
            K::Disposal => {
                remove_listing(tx, a.id)?;
                move_asset(
                    tx,
                    ctx,
                    a.id,
                    AssetAction::HoldForDisposal,
                    Move {
                        request: Some(id),
                        reason: reason.clone(),
                        ..Move::default()
                    },
                )?;
            }
            K::Damage => note_event(
                tx,
                ctx,
                a,
                if new.loss.unwrap_or(false) {
                    "loss_reported"
                } else {
                    "damage_reported"
                },
                reason.clone(),
                json!({ "request": id }),
            )?,
            _ => note_event(
                tx,
                ctx,
                a,
                "requested",
                reason.clone(),
                json!({ "request": id, "kind": new.kind.as_str() }),
            )?,
        }
    }
    record_step(
        tx,
        ctx,
        id,
        new.kind.first_stage(),
        "submit",
        reason.as_deref(),
        json!({}),
    )?;
    Ok(id)
}

// ---------------------------------------------------------------------------
// Taking a step.

struct Effects {
    next: Stage,
    details: serde_json::Value,
    scan: Option<ScanMatch>,
    opened: Vec<i64>,
    /// A dry run changes nothing and records no step.
    dry_run: bool,
}

fn resolve_scans(tx: &Transaction<'_>, epcs: &[String]) -> AppResult<Scans> {
    if epcs.len() > 10_000 {
        return Err(AppError::invalid("epcs", "at most 10000 EPCs per scan"));
    }
    let mut known = Vec::new();
    let mut extras = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in epcs {
        let norm = e.trim().to_ascii_uppercase();
        if !seen.insert(norm.clone()) {
            continue;
        }
        match asset_by_epc(tx, &norm)? {
            Some(a) => known.push((norm, a)),
            None => extras.push(Extra {
                epc: norm,
                asset_id: None,
                reason: "unknown tag (not in the register)".into(),
            }),
        }
    }
    Ok((known, extras))
}

fn check_out(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    r: &Row,
    epcs: &[String],
    dry_run: bool,
    accept_shortfall: bool,
) -> AppResult<(ScanMatch, bool)> {
    let (known, mut extras) = resolve_scans(tx, epcs)?;
    let items = active_items(tx, r.id)?;
    let reserved: Vec<i64> = items
        .iter()
        .filter(|i| i.1 == "requested")
        .map(|i| i.0)
        .collect();
    let out_count = items.iter().filter(|i| i.1 == "checked_out").count() as i64;
    let specific = !reserved.is_empty();
    let mut needed = if specific {
        reserved.len() as i64
    } else {
        r.quantity.unwrap_or(0) - out_count
    };
    let mut matched = Vec::new();
    for (epc, asset_id) in known {
        let a = get_asset(tx, asset_id)?;
        let holder = holding_request(tx, asset_id)?;
        let why = if specific && !reserved.contains(&asset_id) {
            Some("not part of this request".to_owned())
        } else if holder == Some(r.id) && !reserved.contains(&asset_id) {
            Some("already checked out for this request".to_owned())
        } else if let Some(other) = holder.filter(|h| *h != r.id) {
            Some(format!("held by request {other}"))
        } else if a.state != AssetState::InStock {
            Some(format!("asset is {}, not in stock", a.state.as_str()))
        } else if !specific && Some(a.category_id) != r.category_id {
            Some("wrong category".to_owned())
        } else if needed <= 0 {
            Some("more items than the request needs".to_owned())
        } else {
            None
        };
        match why {
            Some(reason) => extras.push(Extra {
                epc,
                asset_id: Some(asset_id),
                reason,
            }),
            None => {
                needed -= 1;
                matched.push(asset_id);
            }
        }
    }
    let shortfall = needed.max(0);
    let committed = !dry_run && !matched.is_empty();
    if !dry_run {
        if matched.is_empty() {
            return Err(AppError::invalid(
                "epcs",
                format!(
                    "none of the {} scanned tags fits request {}",
                    epcs.len(),
                    r.id
                ),
            ));
        }
        for &asset_id in &matched {
            let from = get_asset(tx, asset_id)?.holder_location_id;
            hold_item(tx, r.id, asset_id, "checked_out", None)?;
            tx.prepare_cached(
                "UPDATE request_items SET from_location_id = ?3
                 WHERE request_id = ?1 AND asset_id = ?2",
            )?
            .execute((r.id, asset_id, from))?;
            move_asset(
                tx,
                ctx,
                asset_id,
                AssetAction::CheckOut,
                Move {
                    request: Some(r.id),
                    ..Move::default()
                },
            )?;
        }
    }
    let done = committed && (shortfall == 0 || accept_shortfall);
    if done && shortfall > 0 {
        for (asset, status, _, _) in active_items(tx, r.id)? {
            if status == "requested" {
                set_item(tx, r.id, asset, "released", false)?;
            }
        }
    }
    Ok((
        ScanMatch {
            matched,
            extras,
            shortfall,
            committed,
        },
        done,
    ))
}

fn apply(tx: &Transaction<'_>, ctx: &Ctx, r: &Row, body: &StepBody) -> AppResult<Effects> {
    let role = role_of(&ctx.actor)?;
    let action = body.kind();
    let mut next = step(r.kind, r.stage, action, role, r.method)
        .map_err(|e| e.into_error(r.id, r.kind, r.stage, action))?;
    let mut details = json!({});
    let mut scan = None;
    let mut opened = Vec::new();
    let mut dry_run = false;
    let reason = body.comment().map(str::to_owned);
    let mv = |request: i64| Move {
        request: Some(request),
        reason: reason.clone(),
        ..Move::default()
    };
    match body {
        StepBody::Withdraw { .. } => {
            let mine = r.applicant_user_id.is_some() && r.applicant_user_id == user_id(&ctx.actor);
            let same_unit = role == Role::UnitStaff && r.unit_id == unit_of(&ctx.actor);
            if !(mine || same_unit) {
                return Err(AppError::forbidden(format!(
                    "only the applicant may withdraw request {}",
                    r.id
                )));
            }
            release_all(tx, ctx, r, reason.clone())?;
        }
        StepBody::Reject { comment } => {
            required_text("comment", comment, 1000)?;
            release_all(tx, ctx, r, reason.clone())?;
        }
        StepBody::Approve { .. } => {
            if r.kind == RequestKind::Transfer {
                for (asset, _, _, _) in active_items(tx, r.id)? {
                    remove_listing(tx, asset)?;
                    move_asset(
                        tx,
                        ctx,
                        asset,
                        AssetAction::Transfer,
                        Move {
                            to_unit: r.unit_id,
                            ..mv(r.id)
                        },
                    )?;
                    set_item(tx, r.id, asset, "done", false)?;
                }
            }
            if r.kind == RequestKind::Disposal && next == Stage::Completed {
                for (asset, _, _, _) in active_items(tx, r.id)? {
                    move_asset(tx, ctx, asset, AssetAction::Dispose, mv(r.id))?;
                    set_item(tx, r.id, asset, "done", false)?;
                }
            }
        }
        StepBody::Fulfil { asset_ids, .. } => {
            if asset_ids.is_empty() {
                return Err(AppError::invalid(
                    "asset_ids",
                    "name the assets to fulfil from",
                ));
            }
            let mut from_stock = 0;
            for &id in asset_ids {
                let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
                if Some(a.category_id) != r.category_id {
                    return Err(AppError::invalid(
                        "asset_ids",
                        format!("asset {id} is not of the requested category"),
                    ));
                }
                match a.state {
                    AssetState::InStock => {
                        hold_item(tx, r.id, id, "requested", Some(a.state))?;
                        from_stock += 1;
                    }
                    AssetState::ListedIdle if a.holder_unit_id != r.unit_id => {
                        hold_item(tx, r.id, id, "requested", Some(a.state))?;
                        remove_listing(tx, id)?;
                        // The approver's decision is the transfer.
                        move_asset(
                            tx,
                            ctx,
                            id,
                            AssetAction::Transfer,
                            Move {
                                to_unit: r.unit_id,
                                ..mv(r.id)
                            },
                        )?;
                        set_item(tx, r.id, id, "done", false)?;
                    }
                    s => {
                        return Err(AppError::new(
                            crate::error::ErrorKind::Conflict,
                            "wrong_state",
                            format!(
                            "asset {id} is {}; fulfil from in-stock items or other units' listings",
                            s.as_str()
                        ),
                        ))
                    }
                }
            }
            if from_stock == 0 {
                next = Stage::Completed;
            }
            details = json!({ "asset_ids": asset_ids, "from_stock": from_stock });
        }
        StepBody::Procure {
            supplier,
            contract_number,
            unit_price_fen,
            purchased_on,
            ..
        } => {
            let supplier = required_text("supplier", supplier, 200)?;
            let contract = required_text("contract_number", contract_number, 100)?;
            let price = money("unit_price_fen", *unit_price_fen)?;
            let purchased_on = parse_date("purchased_on", purchased_on.as_deref())?;
            let qty = r.quantity.unwrap_or(0);
            let total = price.checked_mul(qty).ok_or_else(|| {
                AppError::invalid("unit_price_fen", "unit price × quantity is too large")
            })?;
            tx.execute(
                "INSERT INTO procurement_batches (code, supplier, purchased_on, total_fen, notes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    contract,
                    supplier,
                    purchased_on,
                    total,
                    format!("request {}", r.id),
                    now_ms()
                ],
            )
            .map_err(|e| AppError::from(e).with_field("contract_number"))?;
            let batch = tx.last_insert_rowid();
            tx.execute(
                "UPDATE requests SET batch_id = ?2, spent_fen = ?3 WHERE id = ?1",
                (r.id, batch, total),
            )?;
            details = json!({ "batch_id": batch, "supplier": supplier, "contract_number": contract,
                "unit_price_fen": price, "total_fen": total });
        }
        StepBody::Receive {
            location_id,
            received,
            asset_numbers,
            name,
            model,
            epcs,
            asset_ids,
            accept_shortfall,
            ..
        } => {
            require_exists(tx, "locations", "location_id", *location_id)?;
            if r.kind == RequestKind::Purchase {
                let qty = r.quantity.unwrap_or(0);
                let got = received.unwrap_or(qty);
                in_range("received", got, 1, qty)?;
                if got < qty && !accept_shortfall {
                    return Err(AppError::invalid(
                        "received",
                        format!(
                            "{qty} were bought but {got} arrived; set accept_shortfall to record a short delivery"
                        ),
                    ));
                }
                if let Some(n) = asset_numbers {
                    if n.len() as i64 != got {
                        return Err(AppError::invalid(
                            "asset_numbers",
                            format!("{} asset numbers given for {got} items", n.len()),
                        ));
                    }
                }
                let category = r.category_id.unwrap_or_default();
                let cat_name: String = tx
                    .query_row(
                        "SELECT name FROM categories WHERE id = ?1",
                        [category],
                        |row| row.get(0),
                    )
                    .optional()?
                    .unwrap_or_default();
                let name = match name {
                    Some(n) => required_text("name", n, 200)?,
                    None => cat_name,
                };
                let unit_price = r.spent_fen.unwrap_or(0) / qty.max(1);
                let purchased_on: Option<String> = match r.batch_id {
                    Some(b) => tx.query_row(
                        "SELECT purchased_on FROM procurement_batches WHERE id = ?1",
                        [b],
                        |row| row.get(0),
                    )?,
                    None => None,
                };
                let mut created = Vec::new();
                for i in 0..got {
                    let number = match asset_numbers {
                        Some(n) => n[i as usize].clone(),
                        // Numeric, so it fits a GIAI-96 tag: year, request, item.
                        None => {
                            format!("{}{:06}{:04}", chrono::Utc::now().format("%Y"), r.id, i + 1)
                        }
                    };
                    let mut new = NewAsset {
                        asset_number: number,
                        name: name.clone(),
                        category_id: category,
                        model: model.clone(),
                        original_value_fen: unit_price,
                        purchase_date: purchased_on.clone(),
                        funding_source: Some("财政拨款".into()),
                        batch_id: r.batch_id,
                        holder_location_id: Some(*location_id),
                        holder_unit_id: None,
                        custodian: None,
                        condition: Some(Condition::New),
                        notes: Some(format!("purchase request {}", r.id)),
                    };
                    new.validate().map_err(|e| {
                        if e.field.as_deref() == Some("asset_number") {
                            e.with_field("asset_numbers")
                        } else {
                            e
                        }
                    })?;
                    let id = insert_asset(tx, ctx, &new, AssetState::InStock, true)?;
                    hold_item(tx, r.id, id, "requested", None)?;
                    created.push(id);
                }
                details = json!({ "received": got, "expected": qty, "asset_ids": created });
            } else {
                // Intake: match scans to the handed-in items.
                let mut targets: Vec<(String, i64)> = Vec::new();
                let mut extras = Vec::new();
                if let Some(epcs) = epcs {
                    let (known, unknown) = resolve_scans(tx, epcs)?;
                    targets.extend(known);
                    extras.extend(unknown);
                }
                for id in asset_ids.iter().flatten() {
                    targets.push((String::new(), *id));
                }
                let items = active_items(tx, r.id)?;
                let mut matched = Vec::new();
                for (epc, asset) in targets {
                    if items.iter().any(|i| i.0 == asset) && !matched.contains(&asset) {
                        remove_listing(tx, asset)?;
                        move_asset(
                            tx,
                            ctx,
                            asset,
                            AssetAction::HandIn,
                            Move {
                                to_location: Some(*location_id),
                                ..mv(r.id)
                            },
                        )?;
                        set_item(tx, r.id, asset, "done", false)?;
                        matched.push(asset);
                    } else {
                        extras.push(Extra {
                            epc,
                            asset_id: Some(asset),
                            reason: "not handed in by this request".into(),
                        });
                    }
                }
                if matched.is_empty() {
                    return Err(AppError::invalid(
                        "epcs",
                        "none of the scanned items belongs to this intake",
                    ));
                }
                let shortfall = items.len() as i64 - matched.len() as i64;
                if shortfall > 0 && !accept_shortfall {
                    next = Stage::Receiving;
                } else if shortfall > 0 {
                    for (asset, _, _, _) in active_items(tx, r.id)? {
                        set_item(tx, r.id, asset, "released", false)?;
                    }
                }
                details = json!({ "received": matched, "shortfall": shortfall });
                scan = Some(ScanMatch {
                    matched,
                    extras,
                    shortfall,
                    committed: true,
                });
            }
        }
        StepBody::CheckOut {
            epcs,
            dry_run: dry,
            accept_shortfall,
            ..
        } => {
            let (m, done) = check_out(tx, ctx, r, epcs, *dry, *accept_shortfall)?;
            if !done {
                next = Stage::Checkout;
            }
            dry_run = *dry;
            details =
                json!({ "matched": m.matched, "extras": m.extras.len(), "shortfall": m.shortfall });
            scan = Some(m);
        }
        StepBody::ConfirmReceipt { .. } => {
            let loan = r.kind == RequestKind::Loan;
            let mut n = 0;
            for (asset, status, _, _) in active_items(tx, r.id)? {
                if status != "checked_out" {
                    continue;
                }
                move_asset(
                    tx,
                    ctx,
                    asset,
                    if loan {
                        AssetAction::ConfirmLoan
                    } else {
                        AssetAction::ConfirmAllocation
                    },
                    Move {
                        to_unit: r.unit_id,
                        ..mv(r.id)
                    },
                )?;
                set_item(
                    tx,
                    r.id,
                    asset,
                    if loan { "received" } else { "done" },
                    loan,
                )?;
                n += 1;
            }
            details = json!({ "received": n });
        }
        StepBody::ReturnItems {
            items, location_id, ..
        } => {
            if items.is_empty() {
                return Err(AppError::invalid("items", "no items returned"));
            }
            if let Some(l) = location_id {
                require_exists(tx, "locations", "location_id", *l)?;
            }
            let out = active_items(tx, r.id)?;
            let mut returned = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let field = format!("items[{i}]");
                let asset = match (&item.epc, item.asset_id) {
                    (Some(epc), _) => asset_by_epc(tx, epc)
                        .map_err(|e| e.with_field(&field))?
                        .ok_or_else(|| {
                            AppError::invalid(&field, format!("tag {epc} is not in the register"))
                        })?,
                    (None, Some(id)) => id,
                    (None, None) => {
                        return Err(AppError::invalid(&field, "give the epc or the asset_id"))
                    }
                };
                let Some(row) = out.iter().find(|o| o.0 == asset && o.1 == "received") else {
                    return Err(AppError::invalid(
                        &field,
                        format!("asset {asset} is not out on loan {}", r.id),
                    ));
                };
                let to = location_id.or(row.3);
                let Some(to) = to else {
                    return Err(AppError::invalid("location_id", "say where returns go"));
                };
                let note = optional_text("note", item.note.as_deref(), 500)?;
                move_asset(
                    tx,
                    ctx,
                    asset,
                    AssetAction::Return,
                    Move {
                        to_location: Some(to),
                        condition: Some(item.condition),
                        reason: note.clone().or(reason.clone()),
                        ..mv(r.id)
                    },
                )?;
                tx.execute(
                    "UPDATE request_items SET status = 'returned', active = 0, return_condition = ?3,
                         returned_at = ?4 WHERE request_id = ?1 AND asset_id = ?2",
                    rusqlite::params![r.id, asset, item.condition.as_str(), now_ms()],
                )?;
                if item.condition == Condition::Damaged {
                    opened.push(open_case(
                        tx,
                        ctx,
                        r.unit_id,
                        asset,
                        false,
                        format!(
                            "借用申请 {} 归还时发现损坏{}",
                            r.id,
                            note.map(|n| format!("：{n}")).unwrap_or_default()
                        ),
                    )?);
                }
                returned.push(asset);
            }
            let still_out = active_items(tx, r.id)?.len();
            if still_out > 0 {
                next = Stage::OnLoan;
            }
            details =
                json!({ "returned": returned, "still_out": still_out, "damage_cases": opened });
        }
        StepBody::Appraise {
            appraised_value_fen,
            appraiser,
            report_ref,
            ..
        } => {
            let v = money("appraised_value_fen", *appraised_value_fen)?;
            let appraiser = required_text("appraiser", appraiser, 200)?;
            let report = required_text("report_ref", report_ref, 200)?;
            tx.execute(
                "UPDATE requests SET appraised_fen = ?2 WHERE id = ?1",
                (r.id, v),
            )?;
            details =
                json!({ "appraised_value_fen": v, "appraiser": appraiser, "report_ref": report });
        }
        StepBody::RecordSale {
            hammer_price_fen,
            buyer,
            ..
        } => {
            let v = money("hammer_price_fen", *hammer_price_fen)?;
            let buyer = required_text("buyer", buyer, 200)?;
            tx.execute(
                "UPDATE requests SET hammer_fen = ?2 WHERE id = ?1",
                (r.id, v),
            )?;
            details = json!({ "hammer_price_fen": v, "buyer": buyer });
        }
        StepBody::ConfirmRemittance {
            amount_fen,
            treasury_ref,
            ..
        } => {
            let v = money("amount_fen", *amount_fen)?;
            let treasury = required_text("treasury_ref", treasury_ref, 200)?;
            if Some(v) != r.hammer_fen {
                return Err(AppError::invalid(
                    "amount_fen",
                    format!(
                        "the proceeds remitted must equal the hammer price ({} fen)",
                        r.hammer_fen.unwrap_or(0)
                    ),
                ));
            }
            tx.execute(
                "UPDATE requests SET remitted_fen = ?2, remitted_at = ?3 WHERE id = ?1",
                (r.id, v, now_ms()),
            )?;
            for (asset, _, _, _) in active_items(tx, r.id)? {
                move_asset(tx, ctx, asset, AssetAction::Dispose, mv(r.id))?;
                set_item(tx, r.id, asset, "done", false)?;
            }
            details = json!({ "amount_fen": v, "treasury_ref": treasury });
        }
        StepBody::DecideCause {
            cause,
            responsible,
            remedy,
            amount_fen,
            ..
        } => {
            let items = active_items(tx, r.id)?;
            let (responsible, remedy, amount) = match cause {
                Cause::Human => {
                    let who = responsible.as_deref().unwrap_or("");
                    let who = required_text("responsible", who, 200)?;
                    let Some(remedy) = remedy else {
                        return Err(AppError::invalid(
                            "remedy",
                            "say whether the responsible party repairs or compensates",
                        ));
                    };
                    if r.loss && *remedy == Remedy::Repair {
                        return Err(AppError::invalid(
                            "remedy",
                            "a lost item cannot be repaired",
                        ));
                    }
                    let amount = match (remedy, amount_fen) {
                        (Remedy::Repair, None) => {
                            return Err(AppError::invalid(
                                "amount_fen",
                                "the repair cost is required",
                            ))
                        }
                        (_, Some(a)) => money("amount_fen", *a)?,
                        (Remedy::Compensate, None) => {
                            let mut sum = 0i64;
                            for (asset, _, _, _) in &items {
                                sum = sum.saturating_add(get_asset(tx, *asset)?.original_value_fen);
                            }
                            sum
                        }
                    };
                    (Some(who), Some(*remedy), amount)
                }
                Cause::Natural => (None, None, 0),
            };
            for (asset, _, _, _) in &items {
                let a = get_asset(tx, *asset)?;
                let action = if r.loss {
                    (a.state != AssetState::Lost).then_some(AssetAction::MarkLost)
                } else if remedy == Some(Remedy::Repair) {
                    Some(AssetAction::StartRepair)
                } else {
                    Some(AssetAction::HoldForDisposal)
                };
                if let Some(action) = action {
                    // The approver's decision moves the asset; the state
                    // machine's roles say the approver may.
                    move_asset(tx, ctx, *asset, action, mv(r.id))?;
                }
            }
            tx.execute(
                "UPDATE requests SET cause = ?2, remedy = ?3, compensation_fen = ?4 WHERE id = ?1",
                rusqlite::params![r.id, cause.as_str(), remedy.map(|m| m.as_str()), amount],
            )?;
            details = json!({ "cause": cause.as_str(), "responsible": responsible,
                "remedy": remedy.map(|m| m.as_str()), "amount_fen": amount });
        }
        StepBody::ConfirmPayment {
            amount_fen,
            receipt_ref,
            ..
        } => {
            let v = money("amount_fen", *amount_fen)?;
            let owed = r.compensation_fen.unwrap_or(0);
            if v != owed {
                return Err(AppError::invalid(
                    "amount_fen",
                    format!("{owed} fen is owed; confirm that amount"),
                ));
            }
            let receipt = optional_text("receipt_ref", receipt_ref.as_deref(), 200)?;
            tx.execute(
                "UPDATE requests SET compensation_paid_fen = ?2 WHERE id = ?1",
                (r.id, v),
            )?;
            let write_off = r.cause == Some(Cause::Natural) || r.remedy == Some(Remedy::Compensate);
            for (asset, _, _, _) in active_items(tx, r.id)? {
                if write_off {
                    move_asset(tx, ctx, asset, AssetAction::Dispose, mv(r.id))?;
                }
                set_item(tx, r.id, asset, "done", false)?;
            }
            details = json!({ "amount_fen": v, "receipt_ref": receipt, "written_off": write_off });
        }
    }
    Ok(Effects {
        next,
        details,
        scan,
        opened,
        dry_run,
    })
}

fn step_blocking(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: i64,
    body: &StepBody,
) -> AppResult<(Option<ScanMatch>, Vec<i64>)> {
    let r = load_row(tx, id)?;
    if !may_view(&ctx.actor, &r) {
        return Err(AppError::forbidden(format!(
            "request {id} concerns another unit"
        )));
    }
    authorize(&ctx.actor, Action::ActOnRequest, scope_of(&r))?;
    let fx = apply(tx, ctx, &r, body)?;
    if fx.dry_run {
        return Ok((fx.scan, fx.opened));
    }
    let now = now_ms();
    tx.execute(
        "UPDATE requests SET stage = ?2, updated_at = ?3,
             closed_at = CASE WHEN ?4 THEN ?3 ELSE closed_at END
         WHERE id = ?1",
        rusqlite::params![id, fx.next.as_str(), now, fx.next.is_terminal()],
    )?;
    record_step(
        tx,
        ctx,
        id,
        r.stage,
        body.kind().as_str(),
        body.comment(),
        fx.details,
    )?;
    Ok((fx.scan, fx.opened))
}

// ---------------------------------------------------------------------------
// Reading requests.

const REQUEST_COLUMNS: &str = "id, kind, stage, unit_id, other_unit_id, applicant, category_id,
    quantity, budget_fen, reason, needed_by, loan_start, loan_due, disposal_method, loss,
    batch_id, spent_fen, appraised_fen, hammer_fen, remitted_fen, compensation_fen,
    compensation_paid_fen, created_at, updated_at, closed_at";

/// Today's date in Asia/Shanghai (UTC+8 all year, no daylight saving),
/// which is how due dates are meant.
fn today() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn row_to_request(r: &rusqlite::Row<'_>) -> rusqlite::Result<Request> {
    let kind: String = r.get(1)?;
    let stage: String = r.get(2)?;
    let method: Option<String> = r.get(13)?;
    let stage = Stage::parse(&stage).unwrap_or(Stage::Rejected);
    let budget: Option<i64> = r.get(8)?;
    let spent: Option<i64> = r.get(16)?;
    let loan_due: Option<String> = r.get(12)?;
    let overdue =
        stage == Stage::OnLoan && loan_due.as_deref().is_some_and(|d| d < today().as_str());
    Ok(Request {
        id: r.get(0)?,
        kind: RequestKind::parse(&kind).unwrap_or(RequestKind::Damage),
        stage,
        awaiting: stage.awaiting(),
        unit_id: r.get(3)?,
        other_unit_id: r.get(4)?,
        applicant: r.get(5)?,
        category_id: r.get(6)?,
        quantity: r.get(7)?,
        budget_fen: budget,
        reason: r.get(9)?,
        needed_by: r.get(10)?,
        loan_start: r.get(11)?,
        loan_due,
        overdue,
        disposal_method: method.as_deref().and_then(DisposalMethod::parse),
        loss: r.get(14)?,
        batch_id: r.get(15)?,
        spent_fen: spent,
        savings_fen: budget.zip(spent).map(|(b, s)| b - s),
        appraised_fen: r.get(17)?,
        hammer_fen: r.get(18)?,
        remitted_fen: r.get(19)?,
        compensation_fen: r.get(20)?,
        compensation_paid_fen: r.get(21)?,
        created_at: ts(r.get(22)?),
        updated_at: ts(r.get(23)?),
        closed_at: r.get::<_, Option<i64>>(24)?.map(ts),
        items: Vec::new(),
        steps: Vec::new(),
        documents: Vec::new(),
    })
}

fn get_request(c: &Connection, id: i64) -> AppResult<Request> {
    let mut req = c
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"
        ))?
        .query_row([id], row_to_request)
        .optional()?
        .ok_or_else(|| AppError::not_found("request", id))?;
    let mut stmt = c.prepare_cached(
        "SELECT i.asset_id, a.asset_number, a.name, i.status, a.state, i.return_condition,
                (SELECT t.epc FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL)
         FROM request_items i JOIN assets a ON a.id = i.asset_id
         WHERE i.request_id = ?1 ORDER BY i.asset_id",
    )?;
    req.items = stmt
        .query_map([id], |r| {
            let epc: Option<Vec<u8>> = r.get(6)?;
            Ok(RequestItem {
                asset_id: r.get(0)?,
                asset_number: r.get(1)?,
                name: r.get(2)?,
                status: r.get(3)?,
                asset_state: r.get(4)?,
                return_condition: r.get(5)?,
                epc: epc.map(|e| shared::hex::Hex(&e).to_string()),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT stage, action, actor, at, comment, details FROM request_steps
         WHERE request_id = ?1 ORDER BY id",
    )?;
    req.steps = stmt
        .query_map([id], |r| {
            let details: String = r.get(5)?;
            Ok(Step {
                stage: r.get(0)?,
                action: r.get(1)?,
                actor: r.get(2)?,
                at: ts(r.get(3)?),
                comment: r.get(4)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })?
        .collect::<Result<_, _>>()?;
    req.documents = list_documents(c, id)?;
    Ok(req)
}

/// Filters for request listings.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct RequestQuery {
    pub kind: Option<String>,
    pub stage: Option<String>,
    pub unit_id: Option<i64>,
    /// Only loans past due with items out.
    pub overdue: Option<bool>,
    /// Only requests waiting on the caller's role (the inbox).
    pub mine: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn list_requests(c: &Connection, actor: &Actor, q: &RequestQuery) -> AppResult<Page<Request>> {
    let (page, per_page) = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let mut filter = vec!["1 = 1".to_owned()];
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    // `sql` uses `?` for the one new argument (repeated as often as needed).
    fn arg(
        filter: &mut Vec<String>,
        args: &mut Vec<rusqlite::types::Value>,
        sql: &str,
        v: rusqlite::types::Value,
    ) {
        args.push(v);
        filter.push(sql.replace('?', &format!("?{}", args.len())));
    }
    if let Some(k) = &q.kind {
        let k = RequestKind::parse(k)
            .ok_or_else(|| AppError::invalid("kind", format!("unknown request kind `{k}`")))?;
        arg(
            &mut filter,
            &mut args,
            "kind = ?",
            k.as_str().to_owned().into(),
        );
    }
    if let Some(s) = &q.stage {
        let s = Stage::parse(s)
            .ok_or_else(|| AppError::invalid("stage", format!("unknown stage `{s}`")))?;
        arg(
            &mut filter,
            &mut args,
            "stage = ?",
            s.as_str().to_owned().into(),
        );
    }
    if let Some(u) = q.unit_id {
        arg(&mut filter, &mut args, "unit_id = ?", u.into());
    }
    if q.overdue == Some(true) {
        arg(
            &mut filter,
            &mut args,
            "stage = 'on_loan' AND loan_due < ?",
            today().into(),
        );
    }
    // Unit staff see their own unit's requests (and transfers asking them).
    if authorize(actor, Action::ViewRequests, Scope::Global).is_err() {
        let u = unit_of(actor).ok_or_else(|| AppError::forbidden("no unit"))?;
        authorize(actor, Action::ViewRequests, Scope::Unit(u))?;
        arg(
            &mut filter,
            &mut args,
            "(unit_id = ? OR other_unit_id = ?)",
            u.into(),
        );
    }
    if q.mine == Some(true) {
        let role = role_of(actor)?;
        let stages: Vec<String> = Stage::ALL
            .iter()
            .filter(|s| s.awaiting() == Some(role))
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        if stages.is_empty() {
            filter.push("0 = 1".into());
        } else {
            filter.push(format!("stage IN ({})", stages.join(", ")));
        }
        if role == Role::UnitStaff {
            let u = unit_of(actor).unwrap_or(-1);
            arg(&mut filter, &mut args, "unit_id = ?", u.into());
        }
    }
    let where_ = filter.join(" AND ");
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM requests WHERE {where_}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let n = args.len();
    let mut all = args.clone();
    all.push(per_page.into());
    all.push(((page - 1) * per_page).into());
    let mut stmt = c.prepare(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE {where_}
         ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let items = stmt
        .query_map(rusqlite::params_from_iter(all.iter()), row_to_request)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

// ---------------------------------------------------------------------------
// Documents.

fn list_documents(c: &Connection, request: i64) -> AppResult<Vec<DocumentInfo>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, request_id, filename, content_type, size, sha256, uploaded_by, uploaded_at
         FROM documents WHERE request_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([request], |r| {
        let sha: Vec<u8> = r.get(5)?;
        Ok(DocumentInfo {
            id: r.get(0)?,
            request_id: r.get(1)?,
            filename: r.get(2)?,
            content_type: r.get(3)?,
            size: r.get(4)?,
            sha256: shared::hex::Hex(&sha).to_string().to_ascii_lowercase(),
            uploaded_by: r.get(6)?,
            uploaded_at: ts(r.get(7)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A downloaded document.
#[derive(Debug)]
pub struct Document {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

// ---------------------------------------------------------------------------
// Virtual warehouse.

/// An idle asset offered by a unit.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Listing {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    pub category_id: i64,
    pub model: Option<String>,
    pub condition: Condition,
    pub original_value_fen: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub notes: Option<String>,
    pub listed_at: chrono::DateTime<chrono::Utc>,
    /// An open transfer request already asks for it.
    pub requested: bool,
    /// A photo is at `/assets/{id}/photo`.
    pub has_photo: bool,
}

impl Store {
    /// Files a request; returns it with its items and first step.
    pub async fn create_request(&self, ctx: Ctx, new: NewRequest) -> AppResult<Request> {
        self.write(move |tx| {
            let id = create_blocking(tx, &ctx, new)?;
            get_request(tx, id)
        })
        .await
    }

    pub fn create_request_blocking(&self, ctx: &Ctx, new: NewRequest) -> AppResult<i64> {
        self.write_blocking(|tx| create_blocking(tx, ctx, new))
    }

    /// Takes one step on a request, in one transaction.
    pub async fn take_step(&self, ctx: Ctx, id: i64, body: StepBody) -> AppResult<StepOutcome> {
        self.write(move |tx| {
            let (scan, opened) = step_blocking(tx, &ctx, id, &body)?;
            Ok(StepOutcome {
                request: get_request(tx, id)?,
                scan,
                opened,
            })
        })
        .await
    }

    pub fn take_step_blocking(&self, ctx: &Ctx, id: i64, body: &StepBody) -> AppResult<Vec<i64>> {
        self.write_blocking(|tx| step_blocking(tx, ctx, id, body).map(|(_, o)| o))
    }

    pub async fn request(&self, actor: Actor, id: i64) -> AppResult<Request> {
        self.read(move |c| {
            let r = load_row(c, id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", id));
            }
            get_request(c, id)
        })
        .await
    }

    pub fn request_blocking(&self, id: i64) -> AppResult<Request> {
        self.read_blocking(|c| get_request(c, id))
    }

    pub async fn requests(&self, actor: Actor, q: RequestQuery) -> AppResult<Page<Request>> {
        self.read(move |c| list_requests(c, &actor, &q)).await
    }

    /// For a purchase: in-stock items and other units' listings of the
    /// requested category, shown to the approver before buying.
    pub async fn purchase_matches(&self, actor: Actor, id: i64) -> AppResult<PurchaseMatches> {
        self.read(move |c| {
            let r = load_row(c, id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", id));
            }
            let cat = r.category_id.unwrap_or(-1);
            let ids = |sql: &str| -> AppResult<Vec<i64>> {
                let mut stmt = c.prepare_cached(sql)?;
                let rows = stmt.query_map((cat, r.unit_id.unwrap_or(-1)), |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            let in_stock = ids(
                "SELECT a.id FROM assets a WHERE a.category_id = ?1 AND a.state = 'in_stock'
                   AND ?2 = ?2
                   AND NOT EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1)
                 ORDER BY a.id LIMIT 200",
            )?;
            let listed = ids(
                "SELECT a.id FROM assets a WHERE a.category_id = ?1 AND a.state = 'listed_idle'
                   AND a.holder_unit_id <> ?2
                   AND NOT EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1)
                 ORDER BY a.id LIMIT 200",
            )?;
            Ok(PurchaseMatches {
                request_id: id,
                category_id: r.category_id,
                quantity: r.quantity,
                in_stock,
                listed_idle: listed,
            })
        })
        .await
    }

    /// Offers an idle asset in the virtual warehouse.
    pub async fn list_idle(
        &self,
        ctx: Ctx,
        asset_id: i64,
        notes: Option<String>,
    ) -> AppResult<Asset> {
        let notes = optional_text("notes", notes.as_deref(), 1000)?;
        self.write(move |tx| {
            let a = get_asset(tx, asset_id)?;
            authorize(&ctx.actor, Action::ListIdle, a.scope())?;
            let unit = a.holder_unit_id.ok_or_else(|| {
                AppError::conflict("warehouse stock is not listed; units list what they hold")
            })?;
            let moved = move_asset(
                tx,
                &ctx,
                asset_id,
                AssetAction::ListIdle,
                Move {
                    reason: notes.clone(),
                    ..Move::default()
                },
            )?;
            tx.execute(
                "INSERT INTO idle_listings (asset_id, unit_id, notes, listed_by, listed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![asset_id, unit, notes, ctx.actor.label(), now_ms()],
            )?;
            Ok(moved)
        })
        .await
    }

    /// Takes a listing back (not while a transfer request holds it).
    pub async fn unlist_idle(&self, ctx: Ctx, asset_id: i64) -> AppResult<Asset> {
        self.write(move |tx| {
            let a = get_asset(tx, asset_id)?;
            authorize(&ctx.actor, Action::ListIdle, a.scope())?;
            let held = holding_request(tx, asset_id)?;
            if let Some(r) = held {
                return Err(AppError::conflict(format!(
                    "request {r} asks for asset {asset_id}; it must be decided first"
                )));
            }
            remove_listing(tx, asset_id)?;
            move_asset(tx, &ctx, asset_id, AssetAction::Unlist, Move::default())
        })
        .await
    }

    pub async fn virtual_warehouse(
        &self,
        category_id: Option<i64>,
        paging: Paging,
    ) -> AppResult<Page<Listing>> {
        let (page, per_page) = paging.resolve()?;
        self.read(move |c| {
            let cat = category_id.unwrap_or(-1);
            let total: i64 = c.query_row(
                "SELECT COUNT(*) FROM idle_listings l JOIN assets a ON a.id = l.asset_id
                 WHERE (?1 = -1 OR a.category_id = ?1)",
                [cat],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT a.id, a.asset_number, a.name, a.category_id, a.model, a.condition,
                        a.original_value_fen, l.unit_id, u.name, l.notes, l.listed_at,
                        EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1),
                        EXISTS (SELECT 1 FROM asset_photos p WHERE p.asset_id = a.id)
                 FROM idle_listings l JOIN assets a ON a.id = l.asset_id JOIN units u ON u.id = l.unit_id
                 WHERE (?1 = -1 OR a.category_id = ?1)
                 ORDER BY l.listed_at DESC, a.id LIMIT ?2 OFFSET ?3",
            )?;
            let items = stmt
                .query_map((cat, per_page, (page - 1) * per_page), |r| {
                    let cond: String = r.get(5)?;
                    Ok(Listing {
                        asset_id: r.get(0)?,
                        asset_number: r.get(1)?,
                        name: r.get(2)?,
                        category_id: r.get(3)?,
                        model: r.get(4)?,
                        condition: Condition::parse(&cond).unwrap_or(Condition::Good),
                        original_value_fen: r.get(6)?,
                        unit_id: r.get(7)?,
                        unit_name: r.get(8)?,
                        notes: r.get(9)?,
                        listed_at: ts(r.get(10)?),
                        requested: r.get(11)?,
                        has_photo: r.get(12)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page {
                items,
                total,
                page,
                per_page,
            })
        })
        .await
    }

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
                return Err(AppError::conflict(format!(
                    "loss case {r} holds asset {asset_id}; decide it first"
                )));
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

    /// Attaches a file to a request (type and size checked by the caller
    /// with [`check_document`]).
    pub async fn add_document(
        &self,
        actor: Actor,
        request_id: i64,
        filename: String,
        content_type: String,
        data: Vec<u8>,
    ) -> AppResult<DocumentInfo> {
        use sha2::Digest;
        self.write(move |tx| {
            let r = load_row(tx, request_id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", request_id));
            }
            authorize(&actor, Action::ActOnRequest, scope_of(&r))?;
            let sha = sha2::Sha256::digest(&data).to_vec();
            tx.execute(
                "INSERT INTO documents (request_id, filename, content_type, size, sha256, data,
                     uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    request_id,
                    filename,
                    content_type,
                    data.len() as i64,
                    sha,
                    data,
                    actor.label(),
                    now_ms()
                ],
            )?;
            let id = tx.last_insert_rowid();
            list_documents(tx, request_id)?
                .into_iter()
                .find(|d| d.id == id)
                .ok_or_else(|| AppError::internal("document vanished"))
        })
        .await
    }

    pub async fn document(&self, actor: Actor, id: i64) -> AppResult<Document> {
        self.read(move |c| {
            let row: Option<(i64, String, String, Vec<u8>)> = c
                .query_row(
                    "SELECT request_id, filename, content_type, data FROM documents WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let (request, filename, content_type, data) =
                row.ok_or_else(|| AppError::not_found("document", id))?;
            let r = load_row(c, request)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("document", id));
            }
            Ok(Document {
                filename,
                content_type,
                data,
            })
        })
        .await
    }
}

/// What could fulfil a purchase instead of buying.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PurchaseMatches {
    pub request_id: i64,
    pub category_id: Option<i64>,
    pub quantity: Option<i64>,
    /// In-stock assets of the category, not held by another request.
    pub in_stock: Vec<i64>,
    /// Other units' idle listings of the category.
    pub listed_idle: Vec<i64>,
}

/// An asset picked for a simulated or scripted request.
#[derive(Debug, Clone)]
pub struct SampleAsset {
    pub id: i64,
    pub category_id: i64,
    pub holder_unit_id: Option<i64>,
    /// Active tag (hex), if tagged.
    pub epc: Option<String>,
}

impl Store {
    /// Up to `limit` assets in `state`, not held by an open request, held
    /// by `unit` (or, with `not_unit`, by anyone else); `shuffle` varies the
    /// order deterministically.
    pub fn sample_assets_blocking(
        &self,
        state: AssetState,
        unit: Option<i64>,
        not_unit: Option<i64>,
        limit: i64,
        shuffle: i64,
    ) -> AppResult<Vec<SampleAsset>> {
        self.read_blocking(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.id, a.category_id, a.holder_unit_id,
                        (SELECT t.epc FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL)
                 FROM assets a
                 WHERE a.state = ?1
                   AND (?2 IS NULL OR a.holder_unit_id = ?2)
                   AND (?3 IS NULL OR a.holder_unit_id <> ?3)
                   AND NOT EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1)
                 ORDER BY (a.id * ?5) % 1000003 LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                rusqlite::params![state.as_str(), unit, not_unit, limit, shuffle | 1],
                |r| {
                    let epc: Option<Vec<u8>> = r.get(3)?;
                    Ok(SampleAsset {
                        id: r.get(0)?,
                        category_id: r.get(1)?,
                        holder_unit_id: r.get(2)?,
                        epc: epc.map(|e| shared::hex::Hex(&e).to_string()),
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Each asset's state as the event log tells it (the `to` of its last
    /// state-changing event, or the state it was registered in), counted
    /// per state, next to the register's own counts.
    pub fn replay_states_blocking(
        &self,
    ) -> AppResult<(
        std::collections::BTreeMap<String, i64>,
        std::collections::BTreeMap<String, i64>,
    )> {
        self.read_blocking(|c| {
            let mut from_log: std::collections::HashMap<i64, String> = Default::default();
            let mut stmt = c.prepare("SELECT asset_id, details FROM asset_events ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let asset: i64 = r.get(0)?;
                let details: String = r.get(1)?;
                let v: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
                if let Some(s) = v["to"].as_str().or(v["state"].as_str()) {
                    from_log.insert(asset, s.to_owned());
                }
            }
            let mut replayed = std::collections::BTreeMap::new();
            for s in from_log.into_values() {
                *replayed.entry(s).or_insert(0) += 1;
            }
            let mut stmt = c.prepare("SELECT state, COUNT(*) FROM assets GROUP BY state")?;
            let register = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok((replayed, register))
        })
    }

    /// Sum of a numeric field over the recorded steps of one action (the
    /// request trail, to check reports against).
    pub fn step_sum_blocking(&self, action: &str, field: &str) -> AppResult<i64> {
        self.read_blocking(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(json_extract(details, '$.' || ?2)), 0)
                 FROM request_steps WHERE action = ?1",
                (action, field),
                |r| r.get(0),
            )?)
        })
    }
}

impl Store {
    /// Records what desk readers saw (by the reader name in each
    /// observation; other readers are ignored), at server receive time.
    pub async fn record_desk_scans(&self, scans: Vec<(String, Vec<u8>)>) -> AppResult<()> {
        if scans.is_empty() {
            return Ok(());
        }
        // Most batches come from gates and handhelds: find out on a read
        // connection, so they cost no second write transaction.
        let desks: Vec<String> = self
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT name FROM readers WHERE role = 'desk'")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        let scans: Vec<(String, Vec<u8>)> = scans
            .into_iter()
            .filter(|(reader, _)| desks.contains(reader))
            .collect();
        if scans.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let now = now_ms();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO desk_scans (reader_id, epc, first_seen, last_seen)
                 SELECT r.id, ?2, ?3, ?3 FROM readers r WHERE r.name = ?1 AND r.role = 'desk'
                 ON CONFLICT (reader_id, epc) DO UPDATE SET last_seen = excluded.last_seen",
            )?;
            for (reader, epc) in scans {
                stmt.execute(rusqlite::params![reader, epc, now])?;
            }
            Ok(())
        })
        .await
    }

    /// EPCs (hex) a desk reader saw since `since_ms`, with the asset each
    /// is bound to, in scan order.
    pub async fn desk_scans(
        &self,
        reader_id: i64,
        since_ms: i64,
    ) -> AppResult<Vec<(String, Option<i64>)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.epc, t.asset_id FROM desk_scans d
                 LEFT JOIN tags t ON t.epc = d.epc AND t.unbound_at IS NULL
                 WHERE d.reader_id = ?1 AND d.last_seen >= ?2
                 ORDER BY d.first_seen, d.epc LIMIT 10000",
            )?;
            let rows = stmt.query_map((reader_id, since_ms), |r| {
                let epc: Vec<u8> = r.get(0)?;
                Ok((shared::hex::Hex(&epc).to_string(), r.get(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

impl Store {
    /// Adds a photo of an asset (type and size checked by the caller with
    /// [`check_document`]); the event log records it.
    pub async fn add_asset_photo(
        &self,
        ctx: Ctx,
        asset_id: i64,
        content_type: String,
        data: Vec<u8>,
    ) -> AppResult<()> {
        self.write(move |tx| {
            let a = get_asset(tx, asset_id)?;
            authorize(&ctx.actor, Action::UpdateAsset, a.scope())?;
            tx.execute(
                "INSERT INTO asset_photos (asset_id, content_type, size, data, uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    asset_id,
                    content_type,
                    data.len() as i64,
                    data,
                    ctx.actor.label(),
                    now_ms()
                ],
            )?;
            let photo = tx.last_insert_rowid();
            note_event(
                tx,
                &ctx,
                &a,
                "photo_added",
                None,
                json!({ "photo_id": photo, "size": data.len() }),
            )
        })
        .await
    }

    /// The latest photo of an asset: (content type, bytes).
    pub async fn asset_photo(&self, asset_id: i64) -> AppResult<Option<(String, Vec<u8>)>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT content_type, data FROM asset_photos WHERE asset_id = ?1
                 ORDER BY id DESC LIMIT 1",
                [asset_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await
    }
}
