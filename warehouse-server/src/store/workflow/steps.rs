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

/// Matches the desk's scans to the request's lines: a named asset fills
/// its own line, any other in-stock asset the first line asking its
/// category that still needs one; a line is never over-filled (the extra
/// item is refused naming the line). Done when every line is filled, or
/// when the keeper accepts the shortfall (the short lines are reported).
pub(super) fn check_out(
    tx: &Db<'_>,
    ctx: &Ctx,
    r: &Row,
    epcs: &[String],
    dry_run: bool,
    accept_shortfall: bool,
) -> AppResult<(ScanMatch, bool)> {
    let (known, mut extras) = resolve_scans(tx, epcs)?;
    let lines = lines_of(tx, r.id)?;
    let mut needed: Vec<i64> = lines.iter().map(Line::still_needed).collect();
    // A loan's rented items (管理+租用) go out under their rental: the
    // lines of their category need that many fewer from stock, the same
    // count the approval's reservation check took off (`reserve`).
    if r.kind == RequestKind::Loan {
        if let Some((first, last)) = reserve::window_of(tx, r.id)? {
            for (category, mut rented) in reserve::rented_for(tx, r.id, first, last)? {
                for (i, l) in lines.iter().enumerate() {
                    if l.by_category() && l.category_id == Some(category) && rented > 0 {
                        let take = rented.min(needed[i]);
                        needed[i] -= take;
                        rented -= take;
                    }
                }
            }
        }
    }
    let by_category = lines.iter().any(Line::by_category);
    let mut matched: Vec<(i64, i64)> = Vec::new();
    for (epc, asset_id) in known {
        let a = get_asset(tx, asset_id)?;
        let holder = holding_request(tx, asset_id)?;
        let named = lines.iter().position(|l| l.named.contains(&asset_id));
        let of_category: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].by_category() && lines[i].category_id == Some(a.category_id))
            .collect();
        let line = named.or_else(|| of_category.iter().copied().find(|&i| needed[i] > 0));
        let mut full_line = None;
        let why = if named.is_none() && !by_category {
            Some(ExtraWhy::NotPartOfRequest)
        } else if holder == Some(r.id) && named.is_none() {
            Some(ExtraWhy::AlreadyOut)
        } else if let Some(other) = holder.filter(|h| *h != r.id) {
            Some(ExtraWhy::HeldBy { request_id: other })
        } else if a.state != AssetState::InStock {
            Some(ExtraWhy::NotInStock { state: a.state })
        } else if named.is_none() && of_category.is_empty() {
            Some(ExtraWhy::WrongCategory)
        } else if line.is_none_or(|i| needed[i] <= 0) {
            full_line = line.or(of_category.first().copied());
            Some(ExtraWhy::MoreThanNeeded)
        } else {
            None
        };
        match (why, line) {
            (None, Some(i)) => {
                needed[i] -= 1;
                matched.push((asset_id, lines[i].line_no));
            }
            (why, _) => {
                let mut extra =
                    Extra::new(epc, Some(asset_id), why.unwrap_or(ExtraWhy::MoreThanNeeded));
                extra.line_no = full_line.map(|i| lines[i].line_no);
                extras.push(extra);
            }
        }
    }
    let short_lines: Vec<ShortLine> = lines
        .iter()
        .zip(&needed)
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| ShortLine {
            line_no: l.line_no,
            short_by: *n,
        })
        .collect();
    let shortfall = short_lines.iter().map(|s| s.short_by).sum::<i64>();
    let committed = !dry_run && !matched.is_empty();
    if !dry_run {
        if matched.is_empty() {
            return Err(Reason::NoScanFits {
                scanned: epcs.len(),
                request_id: r.id,
            }
            .into());
        }
        let moving: Vec<i64> = matched.iter().map(|m| m.0).collect();
        kit_whole(tx, &kit_members_held(tx, r.id, "requested")?, &moving)?;
        for &(asset_id, line_no) in &matched {
            let from = get_asset(tx, asset_id)?.holder_location_id;
            hold_item(tx, r.id, asset_id, "checked_out", None, line_no)?;
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
            matched: matched.iter().map(|m| m.0).collect(),
            extras,
            shortfall,
            short_lines,
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
/// `batch` is the procurement batch a combined procurement already
/// recorded (its `procure` steps share it); `None` for every other step.
pub(super) fn apply(
    tx: &Db<'_>,
    ctx: &Ctx,
    r: &Row,
    body: &StepBody,
    batch: Option<i64>,
) -> AppResult<Effects> {
    let role = role_of(&ctx.actor)?;
    let action = body.kind();
    let route = Route {
        method: r.method,
        over_budget: match body {
            // A price that cannot be read is refused by the step itself.
            StepBody::Procure {
                unit_price_fen,
                line_prices,
                ..
            } => match line_prices_of(tx, r, unit_price_fen, line_prices) {
                Ok(prices) => over_budget(r.budget_fen, lines_total(&prices)),
                Err(_) => false,
            },
            _ => false,
        },
        to_warehouse: r.destination == Destination::Warehouse,
        awaiting_standard: r.stage == Stage::Approval
            && !crate::store::standards::excesses_of(tx, r.id)?.is_empty()
            && tx.query_row(
                "SELECT standard_approved_at IS NULL FROM requests WHERE id = ?1",
                [r.id],
                |row| row.get::<_, bool>(0),
            )?,
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
            line_prices,
            purchased_on,
            ..
        } => procure(
            s,
            supplier,
            contract_number,
            unit_price_fen,
            line_prices,
            purchased_on,
            batch,
        ),
        StepBody::Receive {
            location_id,
            received,
            received_lines,
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
                    received_lines,
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
            disposal_method,
            ..
        } => appraise(
            s,
            appraised_value_fen,
            appraiser,
            report_ref,
            disposal_method,
        ),
        StepBody::RecordSale {
            hammer_price_fen,
            buyer,
            fees_fen,
            fees_document_id,
            ..
        } => record_sale(s, hammer_price_fen, buyer, fees_fen, fees_document_id),
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
            amount_reason,
            ..
        } => decide_cause(s, cause, responsible, remedy, amount_fen, amount_reason),
        StepBody::ConfirmPayment {
            amount_fen,
            receipt_ref,
            ..
        } => confirm_payment(s, amount_fen, receipt_ref),
        StepBody::Extend { new_due, .. } => extend(s, new_due),
        StepBody::ApproveOverStandard { .. } => {
            let mut fx = s.effects();
            fx.details = crate::store::standards::approve_over_standard(tx, ctx, r.id)?;
            Ok(fx)
        }
    }
}

/// The applicant takes the request back; whatever it holds is released.
fn withdraw(s: &Step<'_, '_>) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let fx = s.effects();
    let mine = r.applicant_user_id.is_some() && r.applicant_user_id == user_id(&ctx.actor);
    // A residual-value disposal was opened by its damage case, not filed
    // by the unit: only the approver's rejection ends it early.
    let same_unit = s.role == Role::UnitStaff
        && r.unit_id == unit_of(&ctx.actor)
        && r.origin_request_id.is_none();
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
    if r.kind == RequestKind::Loan {
        // A loan reserves its items for its dates: refused when some day
        // of the window has too few free (`reserve`); the stock of today
        // does not matter for a loan of next month.
        // When the dates clash and stock in hand is short too, the
        // shortage of stock is the cause to name (it waits for goods,
        // not for another loan's return).
        if let Some((first, last)) = reserve::window_of(tx, r.id)? {
            if let Err(overbooked) = reserve::check_window(tx, r.id, first, last, false) {
                approval_in_stock(tx, r)?;
                return Err(overbooked);
            }
        }
    } else {
        approval_in_stock(tx, r)?;
    }
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

/// 续借 — the approver moves a loan's return day later. The added days
/// must be free for what the loan holds (reserved or out), by the same
/// rule as its approval; the step records both days.
fn extend(s: &Step<'_, '_>, new_due: &str) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let new = parse_date("new_due", Some(new_due))?
        .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            AppError::from(Reason::Required {
                field: "new_due".into(),
            })
        })?;
    let Some((_, old)) = reserve::window_of(tx, r.id)? else {
        return Err(Reason::Required {
            field: "loan_due".into(),
        }
        .into());
    };
    if new <= old {
        return Err(Reason::DueNotLater {
            due: old.to_string(),
        }
        .into());
    }
    let from = old.succ_opt().unwrap_or(old).max(reserve::today());
    if from <= new {
        reserve::check_window(tx, r.id, from, new, true)?;
    }
    tx.prepare_cached("UPDATE requests SET loan_due = ?2 WHERE id = ?1")?
        .execute(rusqlite::params![r.id, new.to_string()])?;
    fx.details = json!({ "old_due": old.to_string(), "new_due": new.to_string() });
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
    let lines = lines_of(tx, r.id)?;
    // Each line takes at most its quantity.
    let mut room: Vec<i64> = lines
        .iter()
        .map(|l| l.quantity - l.items.len() as i64)
        .collect();
    for &id in asset_ids {
        let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
        // The asset fills the first line asking its category with room.
        let of_category: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].category_id == Some(a.category_id))
            .collect();
        if of_category.is_empty() {
            return Err(Reason::WrongCategory {
                asset: a.asset_ref(),
            }
            .into());
        }
        let Some(i) = of_category.iter().copied().find(|&i| room[i] > 0) else {
            let given = asset_ids
                .iter()
                .filter(|&&x| get_asset(tx, x).is_ok_and(|b| b.category_id == a.category_id))
                .count();
            return Err(Reason::TooMany {
                field: "asset_ids".into(),
                max: of_category
                    .iter()
                    .map(|&i| usize::try_from(lines[i].quantity).unwrap_or(0))
                    .sum(),
                given: Some(given),
            }
            .into());
        };
        room[i] -= 1;
        let line_no = lines[i].line_no;
        match a.state {
            AssetState::InStock => {
                hold_item(tx, r.id, id, "requested", Some(a.state), line_no)?;
                from_stock += 1;
            }
            AssetState::ListedIdle if a.holder_unit_id != r.unit_id => {
                hold_item(tx, r.id, id, "requested", Some(a.state), line_no)?;
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

/// Each purchase line's `(quantity, unit price)`: the line's entry in
/// `line_prices` (by `line_no`), else `unit_price_fen` (the one price of a
/// one-line purchase, or the price of every line not listed).
fn line_prices_of(
    tx: &Db<'_>,
    r: &Row,
    unit_price_fen: &Option<i64>,
    line_prices: &Option<Vec<LinePrice>>,
) -> AppResult<Vec<(i64, i64)>> {
    let lines = lines_of(tx, r.id)?;
    let listed = line_prices.as_deref().unwrap_or_default();
    for (i, p) in listed.iter().enumerate() {
        if !lines.iter().any(|l| l.line_no == p.line_no) {
            return Err(Reason::NoSuchRequestLine {
                field: format!("line_prices[{i}].line_no"),
                request_id: r.id,
                line_no: p.line_no,
            }
            .into());
        }
        amount(
            &format!("line_prices[{i}].unit_price_fen"),
            p.unit_price_fen,
        )?;
    }
    let default = match unit_price_fen {
        Some(p) => Some(amount("unit_price_fen", *p)?),
        None => None,
    };
    lines
        .iter()
        .map(|l| {
            let price = listed
                .iter()
                .find(|p| p.line_no == l.line_no)
                .map(|p| p.unit_price_fen)
                .or(default);
            match price {
                Some(p) => Ok((l.quantity, p)),
                None => Err(Reason::Required {
                    field: if lines.len() > 1 {
                        "line_prices".into()
                    } else {
                        "unit_price_fen".into()
                    },
                }
                .into()),
            }
        })
        .collect()
}

/// The purchase is bought: a procurement batch (one contract), each
/// line's unit price and the money spent (Σ unit price × quantity).
/// Alone, the step records its own batch; in a combined procurement
/// (集中采购) the batch is the shared one already recorded.
fn procure(
    s: &Step<'_, '_>,
    supplier: &str,
    contract_number: &str,
    unit_price_fen: &Option<i64>,
    line_prices: &Option<Vec<LinePrice>>,
    purchased_on: &Option<String>,
    shared: Option<i64>,
) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let supplier = step_text("supplier", supplier)?;
    let contract = step_text("contract_number", contract_number)?;
    let purchased_on = parse_date("purchased_on", purchased_on.as_deref())?;
    let prices = line_prices_of(tx, r, unit_price_fen, line_prices)?;
    let total = lines_total(&prices)
        .and_then(|t| amount("unit_price_fen", t).ok())
        .ok_or_else(|| AppError::from(Reason::TotalTooLarge))?;
    let batch = match shared {
        Some(b) => b,
        None => new_batch(
            tx,
            &contract,
            &supplier,
            purchased_on.as_deref(),
            total,
            &format!("request {}", r.id),
        )?,
    };
    tx.execute(
        "UPDATE requests SET batch_id = ?2, spent_fen = ?3 WHERE id = ?1",
        (r.id, batch, total),
    )?;
    let mut per_line = Vec::new();
    for (line, (quantity, price)) in lines_of(tx, r.id)?.iter().zip(&prices) {
        tx.execute(
            "UPDATE request_lines SET unit_price_fen = ?3 WHERE request_id = ?1 AND line_no = ?2",
            (r.id, line.line_no, *price),
        )?;
        per_line.push(json!({ "line_no": line.line_no, "unit_price_fen": price,
            "quantity": quantity, "total_fen": price * quantity }));
    }
    fx.details = json!({ "batch_id": batch, "supplier": supplier, "contract_number": contract,
            "total_fen": total, "lines": per_line });
    if let [(_, price)] = prices.as_slice() {
        fx.details["unit_price_fen"] = json!(price);
    }
    if shared.is_some() {
        fx.details["combined"] = json!(true);
    }
    Ok(fx)
}

/// Records a procurement batch: one contract, whose number no other
/// procurement may use (409 `contract_number_used` naming the batch that
/// has it; the UNIQUE index is the backstop for concurrent writers).
pub(super) fn new_batch(
    tx: &Db<'_>,
    contract: &str,
    supplier: &str,
    purchased_on: Option<&str>,
    total_fen: i64,
    notes: &str,
) -> AppResult<i64> {
    let used: Option<i64> = tx
        .prepare_cached("SELECT id FROM procurement_batches WHERE code = ?1")?
        .query_row([contract], |row| row.get(0))
        .optional()?;
    if let Some(batch_id) = used {
        return Err(Reason::ContractNumberUsed {
            contract_number: contract.to_owned(),
            batch_id,
        }
        .into());
    }
    tx.execute(
        "INSERT INTO procurement_batches (code, supplier, purchased_on, total_fen, notes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![contract, supplier, purchased_on, total_fen, notes, now_ms()],
    )
    .map_err(|e| AppError::from(e).with_field("contract_number"))?;
    Ok(tx.last_insert_rowid()?)
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
    fx.details = json!({ "matched": m.matched, "extras": m.extras.len(), "shortfall": m.shortfall,
        "short_lines": m.short_lines });
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

/// A disposal is appraised (for a residual-value disposal, 残值评估); the
/// appraisal may settle the method (a residual value worth selling goes
/// to auction).
fn appraise(
    s: &Step<'_, '_>,
    appraised_value_fen: &i64,
    appraiser: &str,
    report_ref: &str,
    method: &Option<DisposalMethod>,
) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("appraised_value_fen", *appraised_value_fen)?;
    let appraiser = step_text("appraiser", appraiser)?;
    let report = step_text("report_ref", report_ref)?;
    let method = method.or(r.method);
    tx.execute(
        "UPDATE requests SET appraised_fen = ?2, disposal_method = ?3 WHERE id = ?1",
        rusqlite::params![r.id, v, method.map(|m| m.as_str())],
    )?;
    fx.details = json!({ "appraised_value_fen": v, "appraiser": appraiser, "report_ref": report });
    if method != r.method {
        fx.details["disposal_method"] = json!(method.map(|m| m.as_str()));
    }
    Ok(fx)
}

/// The auction result of a disposal: hammer price, buyer, and the
/// auction's fees with the document attached to the request that shows
/// them. The remittance is the hammer price less the fees.
fn record_sale(
    s: &Step<'_, '_>,
    hammer_price_fen: &i64,
    buyer: &str,
    fees_fen: &Option<i64>,
    fees_document_id: &Option<i64>,
) -> AppResult<Effects> {
    let Step { tx, r, .. } = *s;
    let mut fx = s.effects();
    let v = amount("hammer_price_fen", *hammer_price_fen)?;
    let buyer = step_text("buyer", buyer)?;
    let fees = amount("fees_fen", fees_fen.unwrap_or(0))?;
    let net = net_proceeds(v, fees)?;
    let document = match fees_document_id {
        Some(doc) => Some(request_document(tx, r.id, "fees_document_id", *doc)?),
        None if fees > 0 => return Err(Reason::FeesNeedDocument { fees_fen: fees }.into()),
        None => None,
    };
    tx.execute(
        "UPDATE requests SET hammer_fen = ?2, fees_fen = ?3 WHERE id = ?1",
        (r.id, v, fees),
    )?;
    fx.details = json!({ "hammer_price_fen": v, "buyer": buyer, "fees_fen": fees,
        "net_fen": net, "fees_document_id": fees_document_id,
        "fees_document": document });
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
    check_remittance(r.hammer_fen.unwrap_or(0), r.fees_fen.unwrap_or(0), v)?;
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
    amount_reason: &Option<String>,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let items = active_items(tx, r.id)?;
    let mut compensated: Option<Compensation> = None;
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
                (Remedy::Repair, Some(a)) => amount("amount_fen", *a)?,
                (Remedy::Compensate, given) => {
                    let values = items
                        .iter()
                        .map(|(asset, _, _, _)| Ok(get_asset(tx, *asset)?.original_value_fen))
                        .collect::<AppResult<Vec<i64>>>()?;
                    let original = crate::money::total("amount_fen", values)?;
                    let c = compensation(original, *given, amount_reason.as_deref())?;
                    let owed = c.amount_fen;
                    compensated = Some(c);
                    owed
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
    if let Some(c) = compensated {
        fx.details["original_value_fen"] = json!(c.original_value_fen);
        fx.details["amount_reason"] = json!(c.reason);
    }
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
    let settled = settlement(r.cause, r.remedy, r.loss);
    let items = active_items(tx, r.id)?;
    for (asset, _, _, _) in &items {
        if settled == Settlement::WriteOff {
            move_asset(tx, ctx, *asset, AssetAction::Dispose, s.mv())?;
        }
        set_item(tx, r.id, *asset, "done", false)?;
    }
    fx.details = json!({ "amount_fen": v, "receipt_ref": receipt,
        "written_off": settled == Settlement::WriteOff });
    if settled == Settlement::ResidualAppraisal && !items.is_empty() {
        // The compensated item still has a residual value: it is appraised
        // and disposed of by a disposal of its own, not written off.
        let disposal = open_residual_disposal(tx, ctx, r, &items)?;
        fx.details["residual_disposal"] = json!(disposal);
        fx.opened.push(disposal);
    }
    Ok(fx)
}

/// Goods arrive for a purchase: the bought assets are registered in the
/// location, line by line with the line's category and unit price, and
/// held for the request (a short delivery only when accepted).
#[allow(clippy::too_many_arguments)]
fn receive_purchase(
    s: &Step<'_, '_>,
    location_id: &i64,
    received: &Option<i64>,
    received_lines: &Option<Vec<LineCount>>,
    asset_numbers: &Option<Vec<String>>,
    name: &Option<String>,
    model: &Option<String>,
    accept_shortfall: &bool,
) -> AppResult<Effects> {
    let Step { tx, ctx, r, .. } = *s;
    let mut fx = s.effects();
    let lines = lines_of(tx, r.id)?;
    // How many arrived of each line.
    let mut arrived: Vec<i64> = lines.iter().map(|l| l.quantity).collect();
    match (received, received_lines) {
        (Some(got), _) if lines.len() == 1 => {
            // At least one, at most the quantity bought.
            in_range("received", *got, 1, lines[0].quantity)?;
            arrived[0] = *got;
        }
        (Some(_), _) => {
            return Err(Reason::Required {
                field: "received_lines".into(),
            }
            .into())
        }
        (None, Some(counts)) => {
            for (i, c) in counts.iter().enumerate() {
                let Some(k) = lines.iter().position(|l| l.line_no == c.line_no) else {
                    return Err(Reason::NoSuchRequestLine {
                        field: format!("received_lines[{i}].line_no"),
                        request_id: r.id,
                        line_no: c.line_no,
                    }
                    .into());
                };
                in_range(
                    &format!("received_lines[{i}].received"),
                    c.received,
                    0,
                    lines[k].quantity,
                )?;
                arrived[k] = c.received;
            }
        }
        (None, None) => {}
    }
    let qty: i64 = lines.iter().map(|l| l.quantity).sum();
    let got: i64 = arrived.iter().sum();
    in_range("received", got, 1, qty.max(1))?;
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
    let name = match name {
        Some(n) => Some(required_text("name", n, 200)?),
        None => None,
    };
    let purchased_on: Option<String> = match r.batch_id {
        Some(b) => tx.query_row(
            "SELECT purchased_on FROM procurement_batches WHERE id = ?1",
            [b],
            |row| row.get(0),
        )?,
        None => None,
    };
    // Bought before lines had prices: the request's spending split evenly.
    let even_price = r.spent_fen.unwrap_or(0) / qty.max(1);
    let mut created = Vec::new();
    let mut per_line = Vec::new();
    let mut n: i64 = 0;
    for (line, &count) in lines.iter().zip(&arrived) {
        let category = line.category_id.unwrap_or_default();
        let cat_name: String = tx
            .query_row(
                "SELECT name FROM categories WHERE id = ?1",
                [category],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or_default();
        for _ in 0..count {
            let number = match asset_numbers {
                Some(list) => list[n as usize].clone(),
                // Numeric, so it fits a GIAI-96 tag: year, request, item.
                None => {
                    format!("{}{:06}{:04}", chrono::Utc::now().format("%Y"), r.id, n + 1)
                }
            };
            n += 1;
            let mut new = NewAsset {
                asset_number: number,
                name: name.clone().unwrap_or_else(|| cat_name.clone()),
                category_id: category,
                model: model.clone(),
                original_value_fen: line.unit_price_fen.unwrap_or(even_price),
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
            hold_item(tx, r.id, id, "requested", None, line.line_no)?;
            if s.next == Stage::Completed {
                // Bought for the warehouse (the chain ends here): the assets
                // stay in stock, free for loans and allocations.
                set_item(tx, r.id, id, "done", false)?;
            }
            created.push(id);
        }
        per_line.push(json!({ "line_no": line.line_no, "received": count,
            "expected": line.quantity }));
    }
    fx.details = json!({ "received": got, "expected": qty, "asset_ids": created,
        "lines": per_line });
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
        short_lines: Vec::new(),
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
    take(tx, ctx, &r, body, None)
}

/// Takes a checked step on a loaded request: the chain table, the step's
/// effects, the new stage and the step's record.
pub(super) fn take(
    tx: &Db<'_>,
    ctx: &Ctx,
    r: &Row,
    body: &StepBody,
    batch: Option<i64>,
) -> AppResult<(Option<ScanMatch>, Vec<i64>)> {
    let id = r.id;
    let fx = apply(tx, ctx, r, body, batch)?;
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
