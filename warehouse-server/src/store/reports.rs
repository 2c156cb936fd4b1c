//! Management reports (统计报表): tables computed in SQL from the register
//! and the requests, served as JSON and as Excel-compatible CSV. Every
//! report covers a set of regions (三级联网: a region and those below it,
//! limited to the reader's reach) and can cut its rows by region.
//!
//! An asset belongs to the region of its holder unit, or of the warehouse
//! its location is in; a request to the region it was filed in.

use crate::store::db::Db;
use crate::store::dialect::Dialect;
use serde_json::{json, Value};

use super::Store;
use crate::error::{AppError, AppResult};
use crate::spreadsheet::Sheet;
use crate::time::SHANGHAI_OFFSET_SECS;

/// A report: named columns and rows of values, with totals where they add.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    pub name: String,
    /// Chinese title for people.
    pub title: String,
    pub columns: Vec<String>,
    /// Each row is an array of cells in `columns` order: numbers, text or
    /// null.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub rows: Vec<Vec<Value>>,
    #[schema(value_type = Object)]
    pub totals: Value,
}

/// Every report's name and Chinese title.
pub const REPORTS: &[(&str, &str)] = &[
    ("assets-by-state", "资产状态与持有分布"),
    ("utilisation", "分类使用率与闲置率"),
    ("loans", "未归还及逾期借用"),
    ("requests", "申请环节与时长"),
    ("procurement", "集中采购节约资金"),
    ("contracts", "采购合同"),
    ("disposals", "处置收入上缴"),
    ("compensation", "损坏赔偿应收与实收"),
    ("rentals", "活动租用费用"),
    ("activity", "活动保障统计"),
];

/// What a report covers: which regions, and whether its rows are cut by
/// region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportScope {
    /// The regions the reader reaches (`policy::regions_in_reach`; `None`:
    /// the whole network, regions or none).
    pub reach: Option<Vec<i64>>,
    /// The region asked for: its figures and those of every region below
    /// it. Outside the reach it does not exist (404).
    pub region: Option<i64>,
    /// Rows per region (`by=region`): each row starts with the region's id
    /// and name (its own region, not rolled up), so the rows of a city add
    /// up to the city's report.
    pub by_region: bool,
}

impl ReportScope {
    /// The whole network, one table (the command line, the simulator).
    pub fn network() -> Self {
        Self::default()
    }
}

/// The regions `scope` covers (`None`: no limit). A region the reach does
/// not hold answers exactly as one that does not exist.
pub(crate) fn covered_regions(c: &Db<'_>, scope: &ReportScope) -> AppResult<Option<Vec<i64>>> {
    let Some(id) = scope.region else {
        return Ok(scope.reach.clone());
    };
    if scope.reach.as_ref().is_some_and(|r| !r.contains(&id)) {
        return Err(AppError::not_found("region", id));
    }
    let below = super::register::region_and_below(c, id)?;
    if below.is_empty() {
        return Err(AppError::not_found("region", id));
    }
    Ok(Some(match &scope.reach {
        None => below,
        Some(reach) => below.into_iter().filter(|r| reach.contains(r)).collect(),
    }))
}

/// ` AND {expr} IN (…)` for a covered set of regions; nothing for none.
fn within(expr: &str, regions: &Option<Vec<i64>>) -> String {
    match regions {
        None => String::new(),
        Some(ids) => format!(" AND {expr} IN ({})", super::assets::id_list(ids)),
    }
}

/// The region an asset summary row (`s`) is in: its unit's, else its
/// warehouse's (`u`, `w` joined).
const SUMMARY_REGION: &str = "COALESCE(u.region_id, w.region_id)";
const SUMMARY_HOLDERS: &str = "LEFT JOIN units u ON u.id = s.unit_id
                 LEFT JOIN locations l ON l.id = s.location_id
                 LEFT JOIN warehouses w ON w.id = l.warehouse_id";

/// The SQL pieces that cut a report by region: leading columns, the join
/// that names the region, its GROUP BY terms.
struct Cut {
    cols: String,
    join: String,
    group: String,
    /// How many leading columns the cut adds (0 or 2).
    offset: usize,
}

fn cut(by_region: bool, expr: &str) -> Cut {
    if by_region {
        Cut {
            cols: format!("{expr}, g.name, "),
            join: format!(" LEFT JOIN regions g ON g.id = {expr}"),
            group: format!("{expr}, g.name, "),
            offset: 2,
        }
    } else {
        Cut {
            cols: String::new(),
            join: String::new(),
            group: String::new(),
            offset: 0,
        }
    }
}

fn table(c: &Db<'_>, sql: &str, ncols: usize) -> AppResult<Vec<Vec<Value>>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map((), |r| {
        (0..ncols)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Real(f) => json!(f),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(b) => json!(shared::hex::Hex(b).to_string()),
                })
            })
            .collect::<rusqlite::Result<Vec<Value>>>()
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The exact total of column `col` (named `field` in the totals): every
/// value must be an integer, so a row is never dropped silently.
fn sum(rows: &[Vec<Value>], col: usize, field: &str) -> AppResult<i64> {
    let values = rows
        .iter()
        .filter_map(|r| r.get(col).filter(|v| !v.is_null()))
        .map(|v| {
            v.as_i64().ok_or_else(|| {
                AppError::internal(format!("report column {field} holds a non-integer {v}"))
            })
        })
        .collect::<AppResult<Vec<i64>>>()?;
    crate::money::total(field, values)
}

fn build(c: &Db<'_>, name: &str, scope: &ReportScope) -> AppResult<Report> {
    let now = crate::time::now_ms();
    let today = crate::time::shanghai_today();
    let regions = covered_regions(c, scope)?;
    let by = scope.by_region;
    let (columns, rows, totals): (&[&str], Vec<Vec<Value>>, Value) = match name {
        "assets-by-state" => {
            let cols: &[&str] = &[
                "state",
                "holder_kind",
                "holder_id",
                "holder_name",
                "count",
                "value_fen",
            ];
            let k = cut(by, SUMMARY_REGION);
            let o = k.offset;
            let group: Vec<String> = (1..=4 + o).map(|i| i.to_string()).collect();
            let rows = table(
                c,
                // From the trigger-kept summary (migration 5), not a scan.
                &format!(
                    "SELECT {}s.state,
                        CASE WHEN s.unit_id <> 0 THEN 'unit' ELSE 'warehouse' END,
                        CASE WHEN s.unit_id <> 0 THEN s.unit_id ELSE w.id END,
                        COALESCE(u.name, w.name),
                        SUM(s.n), SUM(s.value_fen)
                 FROM asset_summary s
                 {SUMMARY_HOLDERS}{}
                 WHERE s.n > 0{}
                 GROUP BY {} ORDER BY {}",
                    k.cols,
                    k.join,
                    within(SUMMARY_REGION, &regions),
                    group.join(", "),
                    group[..3 + o].join(", "),
                ),
                cols.len() + o,
            )?;
            let t = json!({ "count": sum(&rows, o + 4, "count")?, "value_fen": sum(&rows, o + 5, "value_fen")? });
            (cols, rows, t)
        }
        "utilisation" => {
            let cols: &[&str] = &[
                "category_id",
                "category",
                "total",
                "in_use",
                "idle",
                "utilisation_pct",
                "idle_pct",
            ];
            let k = cut(by, SUMMARY_REGION);
            let o = k.offset;
            let rows = table(
                c,
                &format!(
                    "SELECT {}c.id, c.name, SUM(s.n),
                        SUM(CASE WHEN s.state IN ('allocated', 'on_loan', 'in_transit') THEN s.n ELSE 0 END),
                        SUM(CASE WHEN s.state IN ('in_stock', 'listed_idle') THEN s.n ELSE 0 END),
                        ROUND(100.0 * SUM(CASE WHEN s.state IN ('allocated', 'on_loan', 'in_transit') THEN s.n ELSE 0 END) / SUM(s.n), 1),
                        ROUND(100.0 * SUM(CASE WHEN s.state IN ('in_stock', 'listed_idle') THEN s.n ELSE 0 END) / SUM(s.n), 1)
                 FROM categories c JOIN asset_summary s ON s.category_id = c.id AND s.state <> 'disposed'
                 {SUMMARY_HOLDERS}{}
                 WHERE s.n > 0{}
                 GROUP BY {}c.id, c.name HAVING SUM(s.n) > 0 ORDER BY {}c.id",
                    k.cols,
                    k.join,
                    within(SUMMARY_REGION, &regions),
                    k.group,
                    k.group,
                ),
                cols.len() + o,
            )?;
            let t = json!({ "total": sum(&rows, o + 2, "total")?, "in_use": sum(&rows, o + 3, "in_use")?, "idle": sum(&rows, o + 4, "idle")? });
            (cols, rows, t)
        }
        "loans" => {
            let cols: &[&str] = &[
                "request_id",
                "unit_id",
                "unit",
                "reason",
                "loan_start",
                "loan_due",
                "items_out",
                "overdue",
                "days_overdue",
                "event",
            ];
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let days_late = match c.dialect() {
                Dialect::Sqlite => format!("julianday('{today}') - julianday(r.loan_due)"),
                Dialect::Postgres => format!("DATE '{today}' - CAST(r.loan_due AS DATE)"),
            };
            let sql = format!(
                "SELECT {}r.id, r.unit_id, u.name, r.reason, r.loan_start, r.loan_due,
                        (SELECT COUNT(*) FROM request_items i WHERE i.request_id = r.id AND i.active = 1
                            AND i.status IN ('checked_out', 'received')),
                        r.loan_due < '{today}',
                        GREATEST(0, CAST({days_late} AS INTEGER)), r.event
                 FROM requests r LEFT JOIN units u ON u.id = r.unit_id{}
                 WHERE r.kind = 'loan' AND r.stage IN ('receipt', 'on_loan', 'checkout')
                   AND EXISTS (SELECT 1 FROM request_items i WHERE i.request_id = r.id AND i.active = 1
                            AND i.status IN ('checked_out', 'received')){}
                 ORDER BY r.loan_due, r.id",
                k.cols,
                k.join,
                within("r.region_id", &regions),
            );
            let rows = table(c, &sql, cols.len() + o)?;
            let overdue = rows
                .iter()
                .filter(|r| r.get(o + 7) == Some(&json!(1)))
                .count();
            let t = json!({ "loans": rows.len(), "items_out": sum(&rows, o + 6, "items_out")?, "overdue": overdue });
            (cols, rows, t)
        }
        "requests" => {
            let cols: &[&str] = &[
                "kind",
                "stage",
                "count",
                "oldest_age_days",
                "average_age_days",
            ];
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let sql = format!(
                "SELECT {}r.kind, r.stage, COUNT(*),
                        CAST(({now} - MIN(r.created_at)) / 86400000 AS INTEGER),
                        ROUND(AVG({now} - r.created_at) / 86400000.0, 1)
                 FROM requests r{}
                 WHERE 1 = 1{}
                 GROUP BY {}r.kind, r.stage ORDER BY {}r.kind, r.stage",
                k.cols,
                k.join,
                within("r.region_id", &regions),
                k.group,
                k.group,
            );
            let rows = table(c, &sql, cols.len() + o)?;
            let t = json!({ "count": sum(&rows, o + 2, "count")? });
            (cols, rows, t)
        }
        "procurement" => {
            // Two kinds of row, one per request: each purchase bought
            // under a contract (its savings as before), then each loan or
            // allocation that served an event from stock or from rentals.
            // The comparison columns say how each was served — re-use
            // (items lent or allocated from stock, at the original value
            // they would have cost to buy), rental (items and cost of the
            // rentals linked to it) or purchase (items and what was paid) —
            // and the totals compare the three. Per request, so per event:
            // a rental's cost is per contract and contract per event, so a
            // per-category split would have to apportion it by guess.
            let cols: &[&str] = &[
                "request_id",
                "batch_code",
                "supplier",
                "quantity",
                "budget_fen",
                "spent_fen",
                "savings_fen",
                "overspent_fen",
                "unit_id",
                "event",
                "reused_items",
                "reuse_value_fen",
                "rented_items",
                "rental_cost_fen",
                "purchased_items",
                "purchase_cost_fen",
            ];
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let quantity =
                "(SELECT SUM(l.quantity) FROM request_lines l WHERE l.request_id = r.id)";
            // Savings and overspending apart: an overspent purchase never
            // reads as negative savings.
            let mut rows = table(
                c,
                &format!(
                    "SELECT {}r.id, b.code, b.supplier, {quantity},
                        r.budget_fen, r.spent_fen,
                        GREATEST(r.budget_fen - r.spent_fen, 0), GREATEST(r.spent_fen - r.budget_fen, 0),
                        r.unit_id, COALESCE(r.event, r.reason), 0, 0, 0, 0, {quantity}, r.spent_fen
                 FROM requests r JOIN procurement_batches b ON b.id = r.batch_id{}
                 WHERE r.kind = 'purchase' AND r.spent_fen IS NOT NULL{} ORDER BY r.id",
                    k.cols,
                    k.join,
                    within("r.region_id", &regions),
                ),
                cols.len() + o,
            )?;
            let served = "FROM request_items i JOIN assets a ON a.id = i.asset_id
                 WHERE i.request_id = r.id
                   AND i.status IN ('checked_out', 'received', 'returned', 'done')";
            rows.extend(table(
                c,
                &format!(
                    "SELECT {}r.id, NULL, NULL, {quantity}, NULL, NULL, NULL, NULL,
                        r.unit_id, COALESCE(r.event, r.reason),
                        (SELECT COUNT(*) {served}),
                        COALESCE((SELECT SUM(a.original_value_fen) {served}), 0),
                        (SELECT COUNT(*) FROM rental_items ri JOIN rentals rn ON rn.id = ri.rental_id
                          WHERE rn.request_id = r.id),
                        COALESCE((SELECT SUM(rn.cost_fen) FROM rentals rn WHERE rn.request_id = r.id), 0),
                        0, 0
                 FROM requests r{}
                 WHERE r.kind IN ('loan', 'allocation')
                   AND (EXISTS (SELECT 1 {served})
                        OR EXISTS (SELECT 1 FROM rentals rn WHERE rn.request_id = r.id)){}
                 ORDER BY r.id",
                    k.cols,
                    k.join,
                    within("r.region_id", &regions),
                ),
                cols.len() + o,
            )?);
            let t = json!({ "budget_fen": sum(&rows, o + 4, "budget_fen")?, "spent_fen": sum(&rows, o + 5, "spent_fen")?,
                "savings_fen": sum(&rows, o + 6, "savings_fen")?,
                "overspent_fen": sum(&rows, o + 7, "overspent_fen")?,
                "reused_items": sum(&rows, o + 10, "reused_items")?,
                "reuse_value_fen": sum(&rows, o + 11, "reuse_value_fen")?,
                "rented_items": sum(&rows, o + 12, "rented_items")?,
                "rental_cost_fen": sum(&rows, o + 13, "rental_cost_fen")?,
                "purchased_items": sum(&rows, o + 14, "purchased_items")?,
                "purchase_cost_fen": sum(&rows, o + 15, "purchase_cost_fen")? });
            (cols, rows, t)
        }
        "contracts" => contracts(c, by, &regions)?,
        "rentals" => {
            // What events rented when stock fell short (管理+租用), and
            // what it cost; rented items are in no other report.
            let cols: &[&str] = &[
                "request_id",
                "event",
                "unit",
                "supplier",
                "rental_contract",
                "starts",
                "ends",
                "rented_items",
                "rental_cost_fen",
            ];
            let k = cut(by, "q.region_id");
            let o = k.offset;
            let rows = table(
                c,
                &format!(
                    "SELECT {}rn.request_id, COALESCE(q.event, q.reason), u.name, s.name, rn.contract_number,
                        rn.starts, rn.ends,
                        (SELECT COUNT(*) FROM rental_items i WHERE i.rental_id = rn.id), rn.cost_fen
                 FROM rentals rn JOIN suppliers s ON s.id = rn.supplier_id
                 LEFT JOIN requests q ON q.id = rn.request_id
                 LEFT JOIN units u ON u.id = q.unit_id{}
                 WHERE 1 = 1{} ORDER BY rn.starts, rn.id",
                    k.cols,
                    k.join,
                    within("q.region_id", &regions),
                ),
                cols.len() + o,
            )?;
            let t = json!({ "rentals": rows.len(), "rented_items": sum(&rows, o + 7, "rented_items")?,
                "rental_cost_fen": sum(&rows, o + 8, "rental_cost_fen")? });
            (cols, rows, t)
        }
        "activity" => {
            // 活动保障 (the seed's "27批次、587余件"): per month of the
            // first check-out and per unit, the events served (distinct
            // event names; a loan or allocation without one is an event
            // of its own), the batches (loans and allocations checked
            // out) and the items lent and allocated.
            let cols: &[&str] = &[
                "month",
                "unit_id",
                "unit",
                "events",
                "batches",
                "items_lent",
                "items_allocated",
            ];
            let month = match c.dialect() {
                Dialect::Sqlite => format!(
                    "strftime('%Y-%m', r.first_out / 1000 + {SHANGHAI_OFFSET_SECS}, 'unixepoch')"
                ),
                Dialect::Postgres => format!(
                    "to_char(to_timestamp(r.first_out / 1000 + {SHANGHAI_OFFSET_SECS}) \
                     AT TIME ZONE 'UTC', 'YYYY-MM')"
                ),
            };
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let group: Vec<String> = (1..=3 + o).map(|i| i.to_string()).collect();
            let out_items = "(SELECT COUNT(*) FROM request_items i WHERE i.request_id = r.id
                               AND i.status IN ('checked_out', 'received', 'returned', 'done'))";
            let rows = table(
                c,
                &format!(
                    "SELECT {}{month}, r.unit_id, u.name,
                            COUNT(DISTINCT COALESCE(r.event, '#' || r.id)), COUNT(*),
                            SUM(CASE WHEN r.kind = 'loan' THEN {out_items} ELSE 0 END),
                            SUM(CASE WHEN r.kind = 'allocation' THEN {out_items} ELSE 0 END)
                     FROM (SELECT q.*, (SELECT MIN(s.at) FROM request_steps s
                                        WHERE s.request_id = q.id AND s.action = 'check_out')
                                       AS first_out
                           FROM requests q WHERE q.kind IN ('loan', 'allocation')) r
                     LEFT JOIN units u ON u.id = r.unit_id{}
                     WHERE r.first_out IS NOT NULL{}
                     GROUP BY {} ORDER BY {}",
                    k.cols,
                    k.join,
                    within("r.region_id", &regions),
                    group.join(", "),
                    group.join(", "),
                ),
                cols.len() + o,
            )?;
            let t = json!({ "events": sum(&rows, o + 3, "events")?,
                "batches": sum(&rows, o + 4, "batches")?,
                "items_lent": sum(&rows, o + 5, "items_lent")?,
                "items_allocated": sum(&rows, o + 6, "items_allocated")? });
            (cols, rows, t)
        }
        "disposals" => {
            // The remittance is the hammer price less the auction fees:
            // each month shows all three.
            let cols: &[&str] = &[
                "month",
                "auctions",
                "hammer_fen",
                "fees_fen",
                "remitted_fen",
            ];
            let month = match c.dialect() {
                Dialect::Sqlite => format!(
                    "strftime('%Y-%m', r.remitted_at / 1000 + {SHANGHAI_OFFSET_SECS}, 'unixepoch')"
                ),
                Dialect::Postgres => format!(
                    "to_char(to_timestamp(r.remitted_at / 1000 + {SHANGHAI_OFFSET_SECS}) \
                     AT TIME ZONE 'UTC', 'YYYY-MM')"
                ),
            };
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let group: Vec<String> = (1..=1 + o).map(|i| i.to_string()).collect();
            let rows = table(
                c,
                &format!(
                    "SELECT {}{month},
                            COUNT(*), SUM(r.hammer_fen), SUM(COALESCE(r.fees_fen, 0)),
                            SUM(r.remitted_fen)
                     FROM requests r{}
                     WHERE r.kind = 'disposal' AND r.remitted_at IS NOT NULL{}
                     GROUP BY {} ORDER BY {}",
                    k.cols,
                    k.join,
                    within("r.region_id", &regions),
                    group.join(", "),
                    group.join(", "),
                ),
                cols.len() + o,
            )?;
            let disposed: i64 = c.query_row(
                &format!(
                    "SELECT COALESCE(SUM(s.n), 0) FROM asset_summary s {SUMMARY_HOLDERS}
                     WHERE s.state = 'disposed'{}",
                    within(SUMMARY_REGION, &regions)
                ),
                (),
                |r| r.get(0),
            )?;
            let t = json!({ "auctions": sum(&rows, o + 1, "auctions")?,
                "hammer_fen": sum(&rows, o + 2, "hammer_fen")?, "fees_fen": sum(&rows, o + 3, "fees_fen")?,
                "remitted_fen": sum(&rows, o + 4, "remitted_fen")?,
                "assets_disposed": disposed });
            (cols, rows, t)
        }
        "compensation" => {
            let cols: &[&str] = &[
                "request_id",
                "unit_id",
                "cause",
                "remedy",
                "stage",
                "owed_fen",
                "paid_fen",
            ];
            let k = cut(by, "r.region_id");
            let o = k.offset;
            let rows = table(
                c,
                &format!(
                    "SELECT {}r.id, r.unit_id, r.cause, r.remedy, r.stage, r.compensation_fen,
                        COALESCE(r.compensation_paid_fen, 0)
                 FROM requests r{}
                 WHERE r.kind = 'damage' AND r.compensation_fen IS NOT NULL{} ORDER BY r.id",
                    k.cols,
                    k.join,
                    within("r.region_id", &regions),
                ),
                cols.len() + o,
            )?;
            let owed = sum(&rows, o + 5, "owed_fen")?;
            let paid = sum(&rows, o + 6, "paid_fen")?;
            let t = json!({ "owed_fen": owed, "paid_fen": paid, "outstanding_fen": owed - paid });
            (cols, rows, t)
        }
        other => {
            let names: Vec<&str> = REPORTS.iter().map(|(n, _)| *n).collect();
            return Err(AppError::not_found(
                "report",
                format!("`{other}` (reports: {})", names.join(", ")),
            ));
        }
    };
    let title = REPORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| (*t).to_owned())
        .unwrap_or_default();
    let lead: &[&str] = if by { &["region_id", "region"] } else { &[] };
    Ok(Report {
        name: name.to_owned(),
        title,
        columns: lead
            .iter()
            .chain(columns)
            .map(|s| (*s).to_owned())
            .collect(),
        rows,
        totals,
    })
}

/// A report's columns, rows and totals.
type Table = (&'static [&'static str], Vec<Vec<Value>>, Value);

/// 采购合同 — one row per contract (procurement batch): its supplier and
/// date, the requests bought under it with their units, and the amounts
/// summed over those requests. Cut by region, a contract whose requests
/// lie in several regions is one row per region (so the rows add up).
fn contracts(c: &Db<'_>, by: bool, regions: &Option<Vec<i64>>) -> AppResult<Table> {
    const COLS: &[&str] = &[
        "contract_number",
        "supplier",
        "purchased_on",
        "requests",
        "request_ids",
        "units",
        "quantity",
        "budget_fen",
        "spent_fen",
        "savings_fen",
        "overspent_fen",
    ];
    let k = cut(by, "r.region_id");
    let o = k.offset;
    // One line per request, grouped here: the request numbers and unit
    // names are lists (no portable string aggregate across the backends).
    let lines = table(
        c,
        &format!(
            "SELECT {}b.id, b.code, b.supplier, b.purchased_on, r.id, u.name, r.quantity,
                    r.budget_fen, r.spent_fen
             FROM requests r JOIN procurement_batches b ON b.id = r.batch_id
             LEFT JOIN units u ON u.id = r.unit_id{}
             WHERE r.kind = 'purchase' AND r.spent_fen IS NOT NULL{} ORDER BY b.id, r.id",
            k.cols,
            k.join,
            within("r.region_id", regions),
        ),
        9 + o,
    )?;
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let mut rows: Vec<Vec<Value>> = Vec::new();
    // Per row: its key (region columns and batch), request ids, unit names.
    let mut keys: Vec<(Vec<Value>, Vec<String>, Vec<String>)> = Vec::new();
    for l in &lines {
        let key: Vec<Value> = l[..=o].to_vec();
        let at = match keys.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                let mut row: Vec<Value> = l[..o].to_vec();
                row.extend([l[o + 1].clone(), l[o + 2].clone(), l[o + 3].clone()]);
                row.extend([json!(0), json!(""), json!("")]);
                row.extend([json!(0), json!(0), json!(0), json!(0), json!(0)]);
                rows.push(row);
                keys.push((key, Vec::new(), Vec::new()));
                rows.len() - 1
            }
        };
        let (_, ids, units) = &mut keys[at];
        ids.push(int(&l[o + 4]).to_string());
        if let Some(name) = l[o + 5].as_str() {
            if !units.iter().any(|u| u == name) {
                units.push(name.to_owned());
            }
        }
        let (budget, spent) = (int(&l[o + 7]), int(&l[o + 8]));
        let row = &mut rows[at];
        let add = |cell: &mut Value, n: i64| *cell = json!(cell.as_i64().unwrap_or(0) + n);
        add(&mut row[o + 3], 1);
        row[o + 4] = json!(ids.join(", "));
        row[o + 5] = json!(units.join(", "));
        add(&mut row[o + 6], int(&l[o + 6]));
        add(&mut row[o + 7], budget);
        add(&mut row[o + 8], spent);
        add(&mut row[o + 9], (budget - spent).max(0));
        add(&mut row[o + 10], (spent - budget).max(0));
    }
    let t = json!({ "requests": sum(&rows, o + 3, "requests")?,
        "budget_fen": sum(&rows, o + 7, "budget_fen")?, "spent_fen": sum(&rows, o + 8, "spent_fen")?,
        "savings_fen": sum(&rows, o + 9, "savings_fen")?,
        "overspent_fen": sum(&rows, o + 10, "overspent_fen")? });
    Ok((COLS, rows, t))
}

/// A report as CSV that Excel opens safely ([`Sheet`]).
pub fn report_to_csv(r: &Report) -> AppResult<Vec<u8>> {
    let mut w = Sheet::new(&r.columns)?;
    for row in &r.rows {
        w.row(row.iter().map(|v| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))?;
    }
    w.finish()
}

impl Store {
    pub async fn report(&self, name: String, scope: ReportScope) -> AppResult<Report> {
        self.read(move |c| build(c, &name, &scope)).await
    }

    pub fn report_blocking(&self, name: &str, scope: &ReportScope) -> AppResult<Report> {
        self.read_blocking(|c| build(c, name, scope))
    }
}
