//! The cockpit's figures (驾驶舱): each region's *own* figures, one
//! grouped query per kind of figure over the whole network (the asset
//! summary kept by triggers, not a scan of the register); the roll-up
//! and the rows are `crate::cockpit`'s.

use std::collections::HashMap;

use super::db::Db;
use super::Store;
use crate::cockpit::{Cockpit, Figures};
use crate::error::{AppError, AppResult};
use crate::register::Region;

const DAY_MS: i64 = 86_400_000;

/// Rows of `sql`: a region id (or none) then `N` integer figures.
fn by_region<const N: usize>(c: &Db<'_>, sql: &str) -> AppResult<Vec<(Option<i64>, [i64; N])>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map((), |r| {
        let mut figures = [0; N];
        for (i, f) in figures.iter_mut().enumerate() {
            *f = r.get::<_, i64>(i + 1)?;
        }
        Ok((r.get::<_, Option<i64>>(0)?, figures))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every region's own figures (`None`: what is in no region).
fn own_figures(c: &Db<'_>) -> AppResult<HashMap<Option<i64>, Figures>> {
    let mut own: HashMap<Option<i64>, Figures> = HashMap::new();
    // Assets and value by state: an asset is in its holder unit's region,
    // or its warehouse's.
    {
        let mut stmt = c.prepare(
            "SELECT COALESCE(u.region_id, w.region_id), s.state, SUM(s.n), SUM(s.value_fen)
             FROM asset_summary s
             LEFT JOIN units u ON u.id = s.unit_id
             LEFT JOIN locations l ON l.id = s.location_id
             LEFT JOIN warehouses w ON w.id = l.warehouse_id
             WHERE s.n > 0
             GROUP BY 1, 2",
        )?;
        let rows = stmt.query_map((), |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (region, state, n, value) = row?;
            own.entry(region).or_default().add_state(&state, n, value);
        }
    }
    // Re-use: assets a unit received from another unit's idle listing (a
    // completed transfer) or from stock in place of a purchase (a purchase
    // fulfilled, never bought: no batch), counted in the receiving
    // request's region at their original value.
    for (region, [n, value]) in by_region(
        c,
        "SELECT r.region_id, COUNT(*), COALESCE(SUM(a.original_value_fen), 0)
             FROM request_items i
             JOIN requests r ON r.id = i.request_id
             JOIN assets a ON a.id = i.asset_id
             WHERE i.status IN ('checked_out', 'received', 'done')
               AND ((r.kind = 'transfer' AND r.stage = 'completed')
                    OR (r.kind = 'purchase' AND r.batch_id IS NULL))
             GROUP BY 1",
    )? {
        let f = own.entry(region).or_default();
        f.reused += n;
        f.saved_fen += value;
    }
    // Loans out: as the loans report counts them (items checked out or
    // received and not yet returned).
    let today = crate::time::shanghai_today();
    for (region, [loans, overdue, items]) in by_region(
        c,
        &format!(
            "SELECT r.region_id, COUNT(*),
                    SUM(CASE WHEN r.loan_due < '{today}' THEN 1 ELSE 0 END),
                    COALESCE(SUM((SELECT COUNT(*) FROM request_items i WHERE i.request_id = r.id
                        AND i.active = 1 AND i.status IN ('checked_out', 'received'))), 0)
             FROM requests r
             WHERE r.kind = 'loan' AND r.stage IN ('receipt', 'on_loan', 'checkout')
               AND EXISTS (SELECT 1 FROM request_items i WHERE i.request_id = r.id AND i.active = 1
                        AND i.status IN ('checked_out', 'received'))
             GROUP BY 1"
        ),
    )? {
        let f = own.entry(region).or_default();
        f.loans_out += loans;
        f.loans_overdue += overdue;
        f.loan_items_out += items;
    }
    // Disposals completed and the proceeds remitted.
    for (region, [n, remitted]) in by_region(
        c,
        "SELECT region_id,
                    SUM(CASE WHEN stage = 'completed' THEN 1 ELSE 0 END),
                    COALESCE(SUM(CASE WHEN remitted_at IS NOT NULL THEN remitted_fen ELSE 0 END), 0)
             FROM requests WHERE kind = 'disposal'
             GROUP BY 1",
    )? {
        let f = own.entry(region).or_default();
        f.disposals += n;
        f.proceeds_fen += remitted;
    }
    // Open requests by age.
    let now = crate::time::now_ms();
    let (d7, d30) = (now - 7 * DAY_MS, now - 30 * DAY_MS);
    for (region, [a, b, old]) in by_region(
        c,
        &format!(
            "SELECT region_id,
                    SUM(CASE WHEN created_at > {d7} THEN 1 ELSE 0 END),
                    SUM(CASE WHEN created_at <= {d7} AND created_at > {d30} THEN 1 ELSE 0 END),
                    SUM(CASE WHEN created_at <= {d30} THEN 1 ELSE 0 END)
             FROM requests WHERE stage NOT IN ('completed', 'rejected', 'withdrawn')
             GROUP BY 1"
        ),
    )? {
        let f = own.entry(region).or_default();
        f.open_requests.under_7_days += a;
        f.open_requests.from_7_to_30_days += b;
        f.open_requests.over_30_days += old;
    }
    Ok(own)
}

impl Store {
    /// Every region of the network, in id order.
    pub async fn all_regions(&self) -> AppResult<Vec<Region>> {
        let mut all = Vec::new();
        for page in 1.. {
            let p = self.list_regions(page, 500).await?;
            let done = p.items.len() < 500;
            all.extend(p.items);
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// The cockpit of `region` for a reader reaching `reach` (`None`: the
    /// whole network) whose own region is `home`. Without `region`, a
    /// person placed in a region sees their region, a network-wide person
    /// the whole network. A region outside the reach answers exactly as
    /// one that does not exist (404).
    pub async fn cockpit(
        &self,
        reach: Option<Vec<i64>>,
        home: Option<i64>,
        region: Option<i64>,
    ) -> AppResult<Cockpit> {
        let regions = self.all_regions().await?;
        let region = match (region, &reach) {
            (Some(id), _) => Some(id),
            (None, Some(_)) => home,
            (None, None) => None,
        };
        if let Some(id) = region {
            let known = regions.iter().any(|r| r.id == id);
            if !known || reach.as_ref().is_some_and(|r| !r.contains(&id)) {
                return Err(AppError::not_found("region", id));
            }
        }
        let own = self.read(own_figures).await?;
        Ok(crate::cockpit::build(
            region,
            &regions,
            reach.as_deref(),
            &own,
        ))
    }
}
