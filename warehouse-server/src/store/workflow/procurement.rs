//! 集中采购 — central purchasing: several approved purchase requests
//! (any units, each at stage `procurement`) bought under one contract.
//! One procurement batch is recorded, then each request takes its own
//! `procure` step through the chain table, naming the shared batch; all in
//! one transaction, so a refused request leaves everything as it was.

use super::steps::{new_batch, take};
use super::*;

fn procure_together_blocking(tx: &Db<'_>, ctx: &Ctx, p: &NewProcurement) -> AppResult<Procurement> {
    let role = role_of(&ctx.actor)?;
    let prices = p.prices()?;
    // The shared figures and every line's price, all problems at once.
    let mut problems = Vec::new();
    let supplier = step_text("supplier", &p.supplier).map_err(|e| problems.push(e));
    let contract = step_text("contract_number", &p.contract_number).map_err(|e| problems.push(e));
    let purchased_on =
        parse_date("purchased_on", p.purchased_on.as_deref()).map_err(|e| problems.push(e));
    for (i, (_, price)) in prices.iter().enumerate() {
        if let Err(e) = amount(&format!("lines[{i}].unit_price_fen"), *price) {
            problems.push(e);
        }
    }
    AppError::collect(problems)?;
    let (Ok(supplier), Ok(contract), Ok(purchased_on)) = (supplier, contract, purchased_on) else {
        return Err(Reason::Internal("procurement figures checked twice".into()).into());
    };
    // Every request in reach and at its procurement step (the chain table
    // decides, as for a single `procure`) before anything is written; the
    // first that is not is named.
    let mut rows = Vec::with_capacity(prices.len());
    let mut total: i64 = 0;
    for &(id, price) in &prices {
        let r = load_row(tx, id)?;
        if !may_view(&ctx.actor, &r) || authorize_act(&ctx.actor, &r).is_err() {
            return Err(Reason::OtherUnitsRequest { request_id: id }.into());
        }
        step(
            r.kind,
            r.stage,
            StepKind::Procure,
            role,
            Route {
                to_warehouse: r.destination == Destination::Warehouse,
                ..Route::from(r.method)
            },
        )
        .map_err(|e| e.into_error(id, r.kind, r.stage, StepKind::Procure))?;
        total = price
            .checked_mul(r.quantity.unwrap_or(0))
            .and_then(|t| total.checked_add(t))
            .and_then(|t| amount("total_fen", t).ok())
            .ok_or_else(|| AppError::from(Reason::TotalTooLarge))?;
        rows.push(r);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    let batch = new_batch(
        tx,
        &contract,
        &supplier,
        purchased_on.as_deref(),
        total,
        &format!("requests {}", ids.join(", ")),
    )?;
    for (r, &(_, price)) in rows.iter().zip(&prices) {
        let body = StepBody::Procure {
            supplier: supplier.clone(),
            contract_number: contract.clone(),
            unit_price_fen: Some(price),
            line_prices: None,
            purchased_on: purchased_on.clone(),
            comment: p.comment.clone(),
        };
        take(tx, ctx, r, &body, Some(batch))?;
    }
    Ok(Procurement {
        batch_id: batch,
        contract_number: contract,
        supplier,
        purchased_on,
        total_fen: total,
        requests: rows
            .iter()
            .map(|r| get_request(tx, r.id))
            .collect::<AppResult<_>>()?,
    })
}

impl Store {
    /// Buys several approved purchases under one contract (集中采购), in
    /// one transaction: all of them, or none.
    pub async fn procure_together(&self, ctx: Ctx, p: NewProcurement) -> AppResult<Procurement> {
        self.write(move |tx| procure_together_blocking(tx, &ctx, &p))
            .await
    }
}
