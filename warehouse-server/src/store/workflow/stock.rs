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

/// The stock check of a request served by category, if it is one.
pub(super) fn attach_stock(c: &Db<'_>, req: &mut Request) -> AppResult<()> {
    req.stock = match served_by_category(
        req.kind,
        req.stage,
        req.category_id,
        req.quantity,
        !req.items.is_empty() || request_names_items(c, req.id)?,
    ) {
        Some((category, asked)) => Some(StockCheck::new(category, asked, free_stock(c, category)?)),
        None => None,
    };
    Ok(())
}

/// Whether a request names items (listings read requests without them).
fn request_names_items(c: &Db<'_>, id: i64) -> AppResult<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS(SELECT 1 FROM request_items WHERE request_id = ?1)")?
            .query_row([id], |r| r.get(0))?,
    )
}

/// Refuses the approval of a request by category while its category is
/// short of stock.
pub(super) fn approval_in_stock(tx: &Db<'_>, r: &Row) -> AppResult<()> {
    let names_items = request_names_items(tx, r.id)?;
    let Some((category, asked)) =
        served_by_category(r.kind, r.stage, r.category_id, r.quantity, names_items)
    else {
        return Ok(());
    };
    let check = StockCheck::new(category, asked, free_stock(tx, category)?);
    if !check.is_short() {
        return Ok(());
    }
    let name: String = tx
        .prepare_cached("SELECT name FROM categories WHERE id = ?1")?
        .query_row([category], |r| r.get(0))
        .optional()?
        .unwrap_or_default();
    check.approvable(r.id, &name)
}
