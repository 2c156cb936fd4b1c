//! Taking a step on a request: the chain table ([`crate::workflow::step`])
//! says whether it may be taken and what comes next; one function per
//! step says what it does to the request and its assets.

use super::*;
use crate::error::in_range;

// ---------------------------------------------------------------------------
// Taking a step.

pub(super) struct Effects {
    next: Stage,
    details: serde_json::Value,
    scan: Option<ScanMatch>,
    opened: Vec<i64>,
    /// A dry run changes nothing and records no step.
    dry_run: bool,
}

pub(super) fn resolve_scans(tx: &Db<'_>, epcs: &[String]) -> AppResult<Scans> {
    if epcs.len() > 10_000 {
        return Err(Reason::TooMany {
            field: "epcs".into(),
            max: 10_000,
            given: None,
        }
        .into());
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
            None => extras.push(Extra::new(norm, None, ExtraWhy::UnknownTag)),
        }
    }
    Ok((known, extras))
}

pub(super) fn check_out(
    tx: &Db<'_>,
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
            Some(ExtraWhy::NotPartOfRequest)
        } else if holder == Some(r.id) && !reserved.contains(&asset_id) {
            Some(ExtraWhy::AlreadyOut)
        } else if let Some(other) = holder.filter(|h| *h != r.id) {
            Some(ExtraWhy::HeldBy { request_id: other })
        } else if a.state != AssetState::InStock {
            Some(ExtraWhy::NotInStock { state: a.state })
        } else if !specific && Some(a.category_id) != r.category_id {
            Some(ExtraWhy::WrongCategory)
        } else if needed <= 0 {
            Some(ExtraWhy::MoreThanNeeded)
        } else {
            None
        };
        match why {
            Some(why) => extras.push(Extra::new(epc, Some(asset_id), why)),
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
            return Err(Reason::NoScanFits {
                scanned: epcs.len(),
                request_id: r.id,
            }
            .into());
        }
        kit_whole(tx, &kit_members_held(tx, r.id, "requested")?, &matched)?;
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

/// What one step works with: the transaction, who acts (and as which
/// role), the request as it stands, the stage the chain table says comes
/// next, and the step's comment (the reason recorded on moved assets).
pub(super) struct Step<'a, 't> {
    tx: &'a Db<'t>,
    ctx: &'a Ctx,
    r: &'a Row,
    role: Role,
    next: Stage,
    reason: Option<String>,
}

impl Step<'_, '_> {
    /// A move made by this step of this request.
    fn mv(&self) -> Move {
        Move {
            request: Some(self.r.id),
            reason: self.reason.clone(),
            ..Move::default()
        }
    }

    /// The step's default outcome: on to the next stage, nothing more.
    fn effects(&self) -> Effects {
        Effects {
            next: self.next,
            details: json!({}),
            scan: None,
            opened: Vec::new(),
            dry_run: false,
        }
    }
}

/// Checks the step against the chain table, then does what it does.
pub(super) fn apply(tx: &Db<'_>, ctx: &Ctx, r: &Row, body: &StepBody) -> AppResult<Effects> {
    let role = role_of(&ctx.actor)?;
    let action = body.kind();
    let route = Route {
        method: r.method,
        over_budget: match body {
            StepBody::Procure { unit_price_fen, .. } => {
                over_budget(r.budget_fen, r.quantity, *unit_price_fen)
            }
            _ => false,
        },
    };
    let next = step(r.kind, r.stage, action, role, route)
        .map_err(|e| e.into_error(r.id, r.kind, r.stage, action))?;
    body.check()?;
    let s = &Step {
        tx,
        ctx,
        r,
        role,
        next,
        reason: body.comment().map(str::to_owned),
    };
    match body {
        StepBody::Withdraw { .. } => withdraw(s),
        StepBody::Reject { comment } => reject(s, comment),
        StepBody::Approve { .. } => approve(s),
        StepBody::Fulfil { asset_ids, .. } => fulfil(s, asset_ids),
        StepBody::Procure {
            supplier,
            contract_number,
            unit_price_fen,
            purchased_on,
            ..
        } => procure(s, supplier, contract_number, unit_price_fen, purchased_on),
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
            require_exists(s.tx, "locations", "location_id", *location_id)?;
            if r.kind == RequestKind::Purchase {
                receive_purchase(
                    s,
                    location_id,
                    received,
                    asset_numbers,
                    name,
                    model,
                    accept_shortfall,
                )
            } else {
                receive_intake(s, location_id, epcs, asset_ids, accept_shortfall)
            }
        }
        StepBody::CheckOut {
            epcs,
            dry_run: dry,
            accept_shortfall,
            ..
        } => scan_out(s, epcs, dry, accept_shortfall),
        StepBody::ConfirmReceipt { .. } => confirm_receipt(s),
        StepBody::ReturnItems {
            items, location_id, ..
        } => return_items(s, items, location_id),
        StepBody::Appraise {
            appraised_value_fen,
            appraiser,
            report_ref,
            ..
        } => appraise(s, appraised_value_fen, appraiser, report_ref),
        StepBody::RecordSale {
            hammer_price_fen,
            buyer,
            ..
        } => record_sale(s, hammer_price_fen, buyer),
        StepBody::ConfirmRemittance {
            amount_fen,
            treasury_ref,
            ..
        } => confirm_remittance(s, amount_fen, treasury_ref),
        StepBody::DecideCause {
            cause,
            responsible,
            remedy,
            amount_fen,
            ..
        } => decide_cause(s, cause, responsible, remedy, amount_fen),
        StepBody::ConfirmPayment {
            amount_fen,
            receipt_ref,
            ..
        } => confirm_payment(s, amount_fen, receipt_ref),
    }
}

/// The applicant takes the request back; whatever it holds is released.
fn withdraw(s: &Step<'_, '_>) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let fx = s.effects();
    let mine = r.applicant_user_id.is_some() && r.applicant_user_id == user_id(&ctx.actor);
    let same_unit = s.role == Role::UnitStaff && r.unit_id == unit_of(&ctx.actor);
    if !(mine || same_unit) {
        return Err(Reason::ApplicantOnly { request_id: r.id }.into());
    }
    release_all(tx, ctx, r, s.reason.clone())?;
    Ok(fx)
}

/// An approver says no (with a reason); whatever it holds is released.
fn reject(s: &Step<'_, '_>, comment: &str) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let fx = s.effects();
    step_text("comment", comment)?;
    release_all(tx, ctx, r, s.reason.clone())?;
    Ok(fx)
}

/// An approver says yes; a transfer moves its items, a final disposal approval disposes them.
fn approve(s: &Step<'_, '_>) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    approval_in_stock(tx, r)?;
    if r.stage == Stage::OverBudget {
        // Finance's approval of the overspending is recorded with its
        // reason and figures (who and when are the step's own).
        step_text("comment", s.reason.as_deref().unwrap_or(""))?;
        let budget = r.budget_fen.unwrap_or(0);
        let spent = r.spent_fen.unwrap_or(0);
        fx.details = json!({ "budget_fen": budget, "spent_fen": spent,
            "overspent_fen": spent.saturating_sub(budget) });
    }
    if let Some(giving) = giving_side(r) {
        // Across regions both sides approve: the giving region lets the
        // item go, the receiving region takes it on its register. Each
        // approval is a step naming its side(s); the move waits for both.
        let mut sides: Vec<&str> = Vec::new();
        if authorize(&ctx.actor, Action::ActOnRequest, giving).is_ok() {
            sides.push("giving");
        }
        if authorize(&ctx.actor, Action::ActOnRequest, scope_of(r)).is_ok() {
            sides.push("receiving");
        }
        let before = approved_sides(tx, r.id)?;
        if let Some(side) = sides.iter().find(|s| before.iter().any(|b| b == *s)) {
            if sides.iter().all(|s| before.iter().any(|b| b == s)) {
                return Err(Reason::SideApproved {
                    side: (*side).to_owned(),
                }
                .into());
            }
        }
        let both = ["giving", "receiving"]
            .iter()
            .all(|s| sides.contains(s) || before.iter().any(|b| b == s));
        fx.details = json!({ "sides": sides });
        if !both {
            fx.next = Stage::Approval;
            return Ok(fx);
        }
    }
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
                    ..s.mv()
                },
            )?;
            set_item(tx, r.id, asset, "done", false)?;
        }
    }
    if r.kind == RequestKind::Disposal && s.next == Stage::Completed {
        for (asset, _, _, _) in active_items(tx, r.id)? {
            move_asset(tx, ctx, asset, AssetAction::Dispose, s.mv())?;
            set_item(tx, r.id, asset, "done", false)?;
        }
    }
    Ok(fx)
}

/// The sides (`giving`, `receiving`) that have approved a transfer across
/// regions so far, from its approval steps.
fn approved_sides(tx: &Db<'_>, request_id: i64) -> AppResult<Vec<String>> {
    let details: Vec<String> = tx
        .prepare_cached(
            "SELECT details FROM request_steps
             WHERE request_id = ?1 AND action = 'approve' AND stage = 'approval'",
        )?
        .query_map([request_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut sides = Vec::new();
    for d in details {
        let v: serde_json::Value = serde_json::from_str(&d).unwrap_or_default();
        if let Some(list) = v.get("sides").and_then(|s| s.as_array()) {
            sides.extend(list.iter().filter_map(|s| s.as_str().map(str::to_owned)));
        }
    }
    Ok(sides)
}

/// The keeper names the assets that fill an allocation: in-stock ones are reserved, other units' listings are transferred at once.
fn fulfil(s: &Step<'_, '_>, asset_ids: &[i64]) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    if asset_ids.is_empty() {
        return Err(Reason::NoAssetsToFulfil.into());
    }
    let mut from_stock = 0;
    for &id in asset_ids {
        let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
        if Some(a.category_id) != r.category_id {
            return Err(Reason::WrongCategory {
                asset: a.asset_ref(),
            }
            .into());
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
                        ..s.mv()
                    },
                )?;
                set_item(tx, r.id, id, "done", false)?;
            }
            s => {
                return Err(Reason::NotEligible {
                    asset: a.asset_ref(),
                    state: s.as_str().into(),
                    rule: Eligibility::FulfilFrom,
                }
                .into())
            }
        }
    }
    if from_stock == 0 {
        fx.next = Stage::Completed;
    }
    fx.details = json!({ "asset_ids": asset_ids, "from_stock": from_stock });
    Ok(fx)
}

/// The purchase is bought: a procurement batch and the money spent.
fn procure(
    s: &Step<'_, '_>,
    supplier: &str,
    contract_number: &str,
    unit_price_fen: &i64,
    purchased_on: &Option<String>,
) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let supplier = step_text("supplier", supplier)?;
    let contract = step_text("contract_number", contract_number)?;
    let price = amount("unit_price_fen", *unit_price_fen)?;
    let purchased_on = parse_date("purchased_on", purchased_on.as_deref())?;
    let qty = r.quantity.unwrap_or(0);
    let total = price
        .checked_mul(qty)
        .and_then(|t| amount("unit_price_fen", t).ok())
        .ok_or_else(|| AppError::from(Reason::TotalTooLarge))?;
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
    let batch = tx.last_insert_rowid()?;
    tx.execute(
        "UPDATE requests SET batch_id = ?2, spent_fen = ?3 WHERE id = ?1",
        (r.id, batch, total),
    )?;
    fx.details = json!({ "batch_id": batch, "supplier": supplier, "contract_number": contract,
            "unit_price_fen": price, "total_fen": total });
    Ok(fx)
}

/// The keeper scans items out at the desk.
fn scan_out(
    s: &Step<'_, '_>,
    epcs: &[String],
    dry: &bool,
    accept_shortfall: &bool,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let (m, done) = check_out(tx, ctx, r, epcs, *dry, *accept_shortfall)?;
    if !done {
        fx.next = Stage::Checkout;
    }
    fx.dry_run = *dry;
    fx.details =
        json!({ "matched": m.matched, "extras": m.extras.len(), "shortfall": m.shortfall });
    fx.scan = Some(m);
    Ok(fx)
}

/// The unit confirms it has the checked-out items (allocated, or on loan).
fn confirm_receipt(s: &Step<'_, '_>) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
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
                ..s.mv()
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
    fx.details = json!({ "received": n });
    Ok(fx)
}

/// Loaned items come back; a damaged one opens a damage case.
fn return_items(
    s: &Step<'_, '_>,
    items: &[ReturnedItem],
    location_id: &Option<i64>,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    if items.is_empty() {
        return Err(Reason::NoItemsReturned.into());
    }
    if let Some(l) = location_id {
        require_exists(tx, "locations", "location_id", *l)?;
    }
    let out = active_items(tx, r.id)?;
    let kits_out = kit_members_held(tx, r.id, "received")?;
    let mut returned = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("items[{i}]");
        let asset = match (&item.epc, item.asset_id) {
            (Some(epc), _) => asset_by_epc(tx, epc)
                .map_err(|e| e.with_field(&field))?
                .ok_or_else(|| {
                    AppError::from(Reason::TagNotRegistered {
                        field: field.clone(),
                        epc: epc.clone(),
                    })
                })?,
            (None, Some(id)) => id,
            (None, None) => return Err(Reason::EpcOrAssetId { field }.into()),
        };
        let Some(row) = out.iter().find(|o| o.0 == asset && o.1 == "received") else {
            return Err(Reason::NotOnLoan {
                field,
                asset: asset_ref(tx, asset)?,
                request_id: r.id,
            }
            .into());
        };
        let to = location_id.or(row.3);
        let Some(to) = to else {
            return Err(Reason::Required {
                field: "location_id".into(),
            }
            .into());
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
                reason: note.clone().or(s.reason.clone()),
                ..s.mv()
            },
        )?;
        tx.execute(
            "UPDATE request_items SET status = 'returned', active = 0, return_condition = ?3,
                     returned_at = ?4 WHERE request_id = ?1 AND asset_id = ?2",
            rusqlite::params![r.id, asset, item.condition.as_str(), now_ms()],
        )?;
        if item.condition == Condition::Damaged {
            fx.opened.push(open_case(
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
    // Checked after the moves (against what was out before them): the
    // step's transaction is rolled back whole when a kit comes back
    // without one of its members.
    kit_whole(tx, &kits_out, &returned)?;
    let still_out = active_items(tx, r.id)?.len();
    if still_out > 0 {
        fx.next = Stage::OnLoan;
    }
    fx.details = json!({ "returned": returned, "still_out": still_out, "damage_cases": fx.opened });
    Ok(fx)
}

/// A disposal is appraised.
fn appraise(
    s: &Step<'_, '_>,
    appraised_value_fen: &i64,
    appraiser: &str,
    report_ref: &str,
) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("appraised_value_fen", *appraised_value_fen)?;
    let appraiser = step_text("appraiser", appraiser)?;
    let report = step_text("report_ref", report_ref)?;
    tx.execute(
        "UPDATE requests SET appraised_fen = ?2 WHERE id = ?1",
        (r.id, v),
    )?;
    fx.details = json!({ "appraised_value_fen": v, "appraiser": appraiser, "report_ref": report });
    Ok(fx)
}

/// The auction result of a disposal.
fn record_sale(s: &Step<'_, '_>, hammer_price_fen: &i64, buyer: &str) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("hammer_price_fen", *hammer_price_fen)?;
    let buyer = step_text("buyer", buyer)?;
    tx.execute(
        "UPDATE requests SET hammer_fen = ?2 WHERE id = ?1",
        (r.id, v),
    )?;
    fx.details = json!({ "hammer_price_fen": v, "buyer": buyer });
    Ok(fx)
}

/// Finance confirms the proceeds reached the treasury; the items are disposed.
fn confirm_remittance(
    s: &Step<'_, '_>,
    amount_fen: &i64,
    treasury_ref: &str,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("amount_fen", *amount_fen)?;
    let treasury = step_text("treasury_ref", treasury_ref)?;
    if Some(v) != r.hammer_fen {
        return Err(Reason::NotHammerPrice {
            hammer_fen: r.hammer_fen.unwrap_or(0),
        }
        .into());
    }
    tx.execute(
        "UPDATE requests SET remitted_fen = ?2, remitted_at = ?3 WHERE id = ?1",
        (r.id, v, now_ms()),
    )?;
    for (asset, _, _, _) in active_items(tx, r.id)? {
        move_asset(tx, ctx, asset, AssetAction::Dispose, s.mv())?;
        set_item(tx, r.id, asset, "done", false)?;
    }
    fx.details = json!({ "amount_fen": v, "treasury_ref": treasury });
    Ok(fx)
}

/// The cause of damage or loss is decided, and what happens to the items.
fn decide_cause(
    s: &Step<'_, '_>,
    cause: &Cause,
    responsible: &Option<String>,
    remedy: &Option<Remedy>,
    amount_fen: &Option<i64>,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let items = active_items(tx, r.id)?;
    let (responsible, remedy, amount) = match cause {
        Cause::Human => {
            let who = responsible.as_deref().unwrap_or("");
            let who = step_text("responsible", who)?;
            let Some(remedy) = remedy else {
                return Err(Reason::Required {
                    field: "remedy".into(),
                }
                .into());
            };
            if r.loss && *remedy == Remedy::Repair {
                return Err(Reason::LostNotRepairable.into());
            }
            let amount = match (remedy, amount_fen) {
                (Remedy::Repair, None) => {
                    return Err(Reason::Required {
                        field: "amount_fen".into(),
                    }
                    .into())
                }
                (_, Some(a)) => amount("amount_fen", *a)?,
                (Remedy::Compensate, None) => {
                    let values = items
                        .iter()
                        .map(|(asset, _, _, _)| Ok(get_asset(tx, *asset)?.original_value_fen))
                        .collect::<AppResult<Vec<i64>>>()?;
                    crate::money::total("amount_fen", values)?
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
            move_asset(tx, ctx, *asset, action, s.mv())?;
        }
    }
    tx.execute(
        "UPDATE requests SET cause = ?2, remedy = ?3, compensation_fen = ?4 WHERE id = ?1",
        rusqlite::params![r.id, cause.as_str(), remedy.map(|m| m.as_str()), amount],
    )?;
    fx.details = json!({ "cause": cause.as_str(), "responsible": responsible,
            "remedy": remedy.map(|m| m.as_str()), "amount_fen": amount });
    Ok(fx)
}

/// Finance confirms the compensation or repair was paid.
fn confirm_payment(
    s: &Step<'_, '_>,
    amount_fen: &i64,
    receipt_ref: &Option<String>,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("amount_fen", *amount_fen)?;
    let owed = r.compensation_fen.unwrap_or(0);
    if v != owed {
        return Err(Reason::OwedAmount { owed_fen: owed }.into());
    }
    let receipt = optional_text("receipt_ref", receipt_ref.as_deref(), 200)?;
    tx.execute(
        "UPDATE requests SET compensation_paid_fen = ?2 WHERE id = ?1",
        (r.id, v),
    )?;
    let write_off = r.cause == Some(Cause::Natural) || r.remedy == Some(Remedy::Compensate);
    for (asset, _, _, _) in active_items(tx, r.id)? {
        if write_off {
            move_asset(tx, ctx, asset, AssetAction::Dispose, s.mv())?;
        }
        set_item(tx, r.id, asset, "done", false)?;
    }
    fx.details = json!({ "amount_fen": v, "receipt_ref": receipt, "written_off": write_off });
    Ok(fx)
}

/// Goods arrive for a purchase: the bought assets are registered in the
/// location and held for the request (a short delivery only when accepted).
fn receive_purchase(
    s: &Step<'_, '_>,
    location_id: &i64,
    received: &Option<i64>,
    asset_numbers: &Option<Vec<String>>,
    name: &Option<String>,
    model: &Option<String>,
    accept_shortfall: &bool,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let qty = r.quantity.unwrap_or(0);
    let got = received.unwrap_or(qty);
    // At least one, at most the quantity bought.
    in_range("received", got, 1, qty)?;
    if got < qty && !accept_shortfall {
        return Err(Reason::ShortDelivery {
            bought: qty,
            arrived: got,
        }
        .into());
    }
    if let Some(n) = asset_numbers {
        if n.len() as i64 != got {
            return Err(Reason::AssetNumberCount {
                given: n.len(),
                items: got,
            }
            .into());
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
    fx.details = json!({ "received": got, "expected": qty, "asset_ids": created });
    Ok(fx)
}

/// An intake: scans are matched to the items a unit hands in.
fn receive_intake(
    s: &Step<'_, '_>,
    location_id: &i64,
    epcs: &Option<Vec<String>>,
    asset_ids: &Option<Vec<i64>>,
    accept_shortfall: &bool,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
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
                    ..s.mv()
                },
            )?;
            set_item(tx, r.id, asset, "done", false)?;
            matched.push(asset);
        } else {
            extras.push(Extra::new(epc, Some(asset), ExtraWhy::NotHandedIn));
        }
    }
    if matched.is_empty() {
        return Err(Reason::NoneOfIntake.into());
    }
    let shortfall = items.len() as i64 - matched.len() as i64;
    if shortfall > 0 && !accept_shortfall {
        fx.next = Stage::Receiving;
    } else if shortfall > 0 {
        for (asset, _, _, _) in active_items(tx, r.id)? {
            set_item(tx, r.id, asset, "released", false)?;
        }
    }
    fx.details = json!({ "received": matched, "shortfall": shortfall });
    fx.scan = Some(ScanMatch {
        matched,
        extras,
        shortfall,
        committed: true,
    });
    Ok(fx)
}

pub(super) fn step_blocking(
    tx: &Db<'_>,
    ctx: &Ctx,
    id: i64,
    body: &StepBody,
) -> AppResult<(Option<ScanMatch>, Vec<i64>)> {
    let r = load_row(tx, id)?;
    if !may_view(&ctx.actor, &r) {
        return Err(Reason::OtherUnitsRequest { request_id: id }.into());
    }
    authorize_act(&ctx.actor, &r)?;
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

impl Store {
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
}
