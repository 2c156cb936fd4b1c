//! Stock against what requests by category ask: the figures the applicant
//! sees after filing, the approver and keeper on the request and in the
//! inbox, and what the approval rule (`StockCheck::approvable`) is given.

use super::*;

/// In-stock items of a category that no open request holds: the
/// category's in-stock count from `asset_summary` (kept by triggers, so no
/// scan of the register) less those reserved by open requests.
pub(super) fn free_stock(c: &Db<'_>, category_id: i64) -> AppResult<i64> {
    let in_stock: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(n), 0) FROM asset_summary
             WHERE state = 'in_stock' AND category_id = ?1",
        )?
        .query_row([category_id], |r| r.get(0))?;
    let held: i64 = c
        .prepare_cached(
            "SELECT COUNT(*) FROM request_items i JOIN assets a ON a.id = i.asset_id
             WHERE i.active = 1 AND a.state = 'in_stock' AND a.category_id = ?1",
        )?
        .query_row([category_id], |r| r.get(0))?;
    Ok((in_stock - held).max(0))
}

/// The stock checks of a request served by category: one per category
/// its lines ask by category (summed over lines of the same category),
/// while it waits for approval or the desk.
pub(super) fn stock_checks(
    c: &Db<'_>,
    kind: RequestKind,
    stage: Stage,
    lines: &[Line],
) -> AppResult<Vec<StockCheck>> {
    let mut asked: Vec<(i64, i64)> = Vec::new();
    for l in lines {
        let Some((category, quantity)) = served_by_category(
            kind,
            stage,
            l.category_id,
            Some(l.quantity),
            !l.by_category(),
        ) else {
            continue;
        };
        match asked.iter_mut().find(|(c, _)| *c == category) {
            Some((_, q)) => *q += quantity,
            None => asked.push((category, quantity)),
        }
    }
    asked
        .into_iter()
        .map(|(category, quantity)| {
            Ok(StockCheck::new(
                category,
                quantity,
                free_stock(c, category)?,
            ))
        })
        .collect()
}

/// A request's lines, and its stock checks while it waits for stock: the
/// request's own `stock` is the first category short (else the first).
pub(super) fn attach_lines(c: &Db<'_>, req: &mut Request) -> AppResult<()> {
    let lines = lines_of(c, req.id)?;
    let checks = stock_checks(c, req.kind, req.stage, &lines)?;
    req.stock = checks
        .iter()
        .find(|c| c.is_short())
        .or(checks.first())
        .copied();
    req.lines = request_lines(&lines, &checks);
    Ok(())
}

/// Refuses the approval of a request by category while a category it asks
/// is short of stock.
pub(super) fn approval_in_stock(tx: &Db<'_>, r: &Row) -> AppResult<()> {
    let lines = lines_of(tx, r.id)?;
    let checks = stock_checks(tx, r.kind, r.stage, &lines)?;
    let Some(check) = checks.into_iter().find(|c| c.is_short()) else {
        return Ok(());
    };
    let name: String = tx
        .prepare_cached("SELECT name FROM categories WHERE id = ?1")?
        .query_row([check.category_id], |r| r.get(0))
        .optional()?
        .unwrap_or_default();
    check.approvable(r.id, &name)
}
