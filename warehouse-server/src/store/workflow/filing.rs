//! Filing a request: checks what the applicant sent and puts the asked-for
//! assets under the request.

use super::*;

// ---------------------------------------------------------------------------
// Filing a request.

pub(super) fn create_blocking(
    tx: &Db<'_>,
    ctx: &Ctx,
    new: NewRequest,
    today: &str,
) -> AppResult<i64> {
    file(tx, ctx, new, today, Action::FileRequest)
}

/// 收回 — the agency's reclaim order files an intake of `asset` on its
/// holding unit's behalf (the approver files; `OrderReclaim` is checked
/// where filing checks `FileRequest`). The caller approves it at once, so
/// the unit has no step to refuse it with.
pub(super) fn file_reclaim(
    tx: &Db<'_>,
    ctx: &Ctx,
    unit: i64,
    asset: i64,
    reason: &str,
) -> AppResult<i64> {
    let new = NewRequest {
        kind: RequestKind::Intake,
        category_id: None,
        quantity: None,
        asset_ids: Some(vec![asset]),
        kit_ids: None,
        budget_fen: None,
        reason: Some(reason.to_owned()),
        needed_by: None,
        loan_start: None,
        loan_due: None,
        disposal_method: None,
        loss: None,
        unit_id: Some(unit),
        destination: None,
        lines: None,
        event: None,
    };
    file(tx, ctx, new, &shanghai_today(), Action::OrderReclaim)
}

/// Files `new`; `filing` is what the filer must be allowed: `FileRequest`
/// for an applicant, `OrderReclaim` for the agency's reclaim of an intake.
fn file(tx: &Db<'_>, ctx: &Ctx, new: NewRequest, today: &str, filing: Action) -> AppResult<i64> {
    use RequestKind as K;
    let role = role_of(&ctx.actor)?;
    let ordered = filing == Action::OrderReclaim && new.kind == K::Intake;
    if !ordered && !may_file(role, new.kind) {
        return Err(new.kind.not_filed_by());
    }
    // Whose request: unit staff act for their unit; keepers file disposal
    // and damage reports for warehouse stock (or a named unit's damage).
    let unit = match role {
        Role::UnitStaff => {
            let own = unit_of(&ctx.actor);
            if new.unit_id.is_some() && new.unit_id != own {
                return Err(Reason::OwnUnitOnly.into());
            }
            own
        }
        _ => new.unit_id,
    };
    // Where a purchase's goods end: the unit's by default; a keeper buys
    // for the warehouse's own stock only.
    let destination = match (new.kind, unit, new.destination) {
        (K::Purchase, None, None | Some(Destination::Warehouse)) => Destination::Warehouse,
        (K::Purchase, None, Some(Destination::Unit)) | (K::Purchase, Some(_), _)
            if role != Role::UnitStaff =>
        {
            return Err(Reason::KeeperBuysForStock.into())
        }
        (_, _, d) => d.unwrap_or(Destination::Unit),
    };
    // The request's region: its unit's, or for the warehouse's own stock
    // the filer's.
    let mut region = match unit {
        Some(u) => {
            require_exists(tx, "units", "unit_id", u)?;
            tx.query_row("SELECT region_id FROM units WHERE id = ?1", [u], |r| {
                r.get::<_, Option<i64>>(0)
            })?
        }
        None => crate::policy::home_region(&ctx.actor),
    };
    authorize(&ctx.actor, filing, Scope::held(unit, region))?;
    let CheckedRequest {
        reason,
        needed_by,
        loan_start,
        loan_due,
        mut asset_ids,
        mut lines,
        event,
    } = new.check_on(today)?;
    // A kit asked for is a line of its own naming each of its members.
    if let Some(kits) = &new.kit_ids {
        for (name, members) in kit_assets(tx, kits)? {
            asset_ids.extend(&members);
            lines.push(CheckedLine {
                category_id: None,
                quantity: members.len() as i64,
                asset_ids: members,
                notes: Some(format!("套装：{name}")),
            });
        }
        let mut seen = std::collections::HashSet::new();
        if !asset_ids.iter().all(|a| seen.insert(*a)) {
            return Err(Reason::AssetNamedTwice.into());
        }
    }
    let mut other_unit = None;
    if let Some(c) = new.category_id {
        require_exists(tx, "categories", "category_id", c)?;
    }
    for (i, l) in lines.iter().enumerate() {
        if let (Some(c), Some(_)) = (l.category_id, &new.lines) {
            require_exists(tx, "categories", &format!("lines[{i}].category_id"), c)?;
        }
    }
    // The line each named asset belongs to.
    let line_of = |asset: i64| -> i64 {
        lines
            .iter()
            .position(|l| l.asset_ids.contains(&asset))
            .map_or(1, |i| i as i64 + 1)
    };
    // Check every named asset before writing anything.
    let mut assets = Vec::with_capacity(asset_ids.len());
    for &id in &asset_ids {
        let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
        let bad = |rule| {
            Err(Reason::NotEligible {
                asset: a.asset_ref(),
                state: a.state.as_str().into(),
                rule,
            }
            .into())
        };
        match new.kind {
            K::Allocation | K::Loan => {
                authorize(&ctx.actor, Action::ViewAsset, a.scope())?;
                if a.state != AssetState::InStock {
                    return bad(Eligibility::InStockOnly);
                }
            }
            K::Transfer => {
                if a.state != AssetState::ListedIdle {
                    return bad(Eligibility::ListingsOnly);
                }
                if a.holder_unit_id == unit {
                    return Err(Reason::AlreadyYours {
                        asset: a.asset_ref(),
                    }
                    .into());
                }
                if other_unit.is_some() && other_unit != a.holder_unit_id {
                    return Err(Reason::TransferOneUnit.into());
                }
                other_unit = a.holder_unit_id;
            }
            K::Intake => {
                authorize(&ctx.actor, filing, a.scope())?;
                if !matches!(a.state, AssetState::Allocated | AssetState::ListedIdle) {
                    return bad(Eligibility::HeldOnly);
                }
            }
            K::Disposal | K::Damage => {
                let scope = a.scope();
                authorize(&ctx.actor, Action::FileRequest, scope)?;
                if role == Role::UnitStaff && matches!(scope, Scope::Stock { .. }) {
                    return Err(Reason::KeeperReports {
                        asset: a.asset_ref(),
                    }
                    .into());
                }
                if a.state == AssetState::Disposed {
                    return bad(Eligibility::AlreadyDisposed);
                }
            }
            K::Purchase => {}
        }
        assets.push(a);
    }
    // A request about the warehouse's own stock belongs to the region of
    // the warehouse its items are in (a network-wide keeper files for
    // every region's warehouses).
    if unit.is_none() {
        if let Some(r) = assets.iter().find_map(|a| a.region_id) {
            region = Some(r);
        }
    }
    let now = now_ms();
    // The request row keeps a summary of its lines for listings: the
    // first line's category and the total quantity (the lines are the truth).
    let summary_category = match &new.lines {
        Some(_) => lines.first().and_then(|l| l.category_id),
        None => new.category_id,
    };
    let summary_quantity =
        (!lines.is_empty()).then(|| lines.iter().map(|l| l.quantity).sum::<i64>());
    tx.prepare_cached(
        "INSERT INTO requests (kind, stage, unit_id, other_unit_id, applicant, applicant_user_id,
             category_id, quantity, budget_fen, reason, needed_by, loan_start, loan_due,
             disposal_method, loss, created_at, updated_at, region_id, event, destination)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17,
             ?18, ?19)",
    )?
    .execute(rusqlite::params![
        new.kind.as_str(),
        new.kind.first_stage().as_str(),
        unit,
        other_unit,
        ctx.actor.label(),
        user_id(&ctx.actor),
        summary_category,
        summary_quantity,
        new.budget_fen,
        reason,
        needed_by,
        loan_start,
        loan_due,
        new.disposal_method.map(|m| m.as_str()),
        new.loss.unwrap_or(false),
        now,
        region,
        event,
        destination.as_str()
    ])?;
    let id = tx.last_insert_rowid()?;
    insert_lines(tx, id, &lines)?;
    for a in &assets {
        hold_item(tx, id, a.id, "requested", Some(a.state), line_of(a.id))?;
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
    // 配置标准: beyond the standard, the approval will wait for the agency head.
    crate::store::standards::flag_request(tx, id)?;
    Ok(id)
}

impl Store {
    /// Files a request as of today (Asia/Shanghai); returns it with its
    /// items and first step.
    pub async fn create_request(&self, ctx: Ctx, new: NewRequest) -> AppResult<Request> {
        self.create_request_on(ctx, new, shanghai_today()).await
    }

    /// Files a request as on `today` (`YYYY-MM-DD`): the date a loan may
    /// not start before. `admin simulate-year` files as on its simulated
    /// date; everyone else through [`Store::create_request`].
    pub async fn create_request_on(
        &self,
        ctx: Ctx,
        new: NewRequest,
        today: String,
    ) -> AppResult<Request> {
        self.write(move |tx| {
            let id = create_blocking(tx, &ctx, new, &today)?;
            get_request(tx, id)
        })
        .await
    }

    pub fn create_request_blocking(&self, ctx: &Ctx, new: NewRequest) -> AppResult<i64> {
        self.write_blocking(|tx| create_blocking(tx, ctx, new, &shanghai_today()))
    }
}
