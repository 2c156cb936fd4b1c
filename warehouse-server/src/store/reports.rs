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
use crate::error::{AppError, AppResult, Reason};
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
    /// The period the figures cover (null: all time, or a snapshot).
    pub period: Option<Period>,
    /// The date this report's period filters on: `loan_start`, `filed`,
    /// `purchased_on`, `rental_starts`, `first_check_out`, `remitted`;
    /// null: the report is a snapshot of now and takes no period.
    pub dated_by: Option<String>,
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
    ("idle", "闲置资产问责"),
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
    /// Rows per unit (`by=unit`): each row starts with `row_unit_id` and
    /// `row_unit` (the asset's holder unit, the request's unit; none for
    /// stock in a warehouse), so the rows add up to the report.
    pub by_unit: bool,
    /// The period (Asia/Shanghai days, both ends included); each report
    /// filters on its own date ([`date_of`]); the stock reports are
    /// snapshots and take none.
    pub period: Option<Period>,
    /// Only this unit's assets or requests.
    pub unit: Option<i64>,
    /// Only this category (a request: any of its lines).
    pub category: Option<i64>,
    /// Only this warehouse's stock (a request: items taken from it).
    pub warehouse: Option<i64>,
}

impl ReportScope {
    /// The whole network, one table (the command line, the simulator).
    pub fn network() -> Self {
        Self::default()
    }
}

/// A report period: from the first day to the last, both included, as
/// days in Asia/Shanghai.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Period {
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
}

impl Period {
    /// Unix milliseconds of the first instant of `from` and of the day
    /// after `to`, in Asia/Shanghai.
    pub(crate) fn bounds_ms(&self) -> (i64, i64) {
        let start = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis() - SHANGHAI_OFFSET_SECS * 1000)
                .unwrap_or(0)
        };
        let after = self.to.succ_opt().unwrap_or(self.to);
        (start(self.from), start(after))
    }
}

/// The period a report query asks for: `from`/`to` (`YYYY-MM-DD`, either
/// may be left out: from the first record, to today), or `year=2025`, or
/// `quarter=2025Q3`; one of the three at most. `None`: all time.
pub fn parse_period(
    from: Option<&str>,
    to: Option<&str>,
    year: Option<&str>,
    quarter: Option<&str>,
) -> AppResult<Option<Period>> {
    use chrono::NaiveDate;
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let (from, to, year, quarter) = (given(from), given(to), given(year), given(quarter));
    let day = |field: &str, v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            AppError::from(Reason::BadPeriod {
                field: field.into(),
                value: v.into(),
            })
        })
    };
    let bad = |field: &str, v: &str| {
        AppError::from(Reason::BadPeriod {
            field: field.into(),
            value: v.into(),
        })
    };
    let year_of = |field: &str, v: &str| -> AppResult<i32> {
        match v.parse::<i32>() {
            Ok(y) if v.len() == 4 && (1900..=9999).contains(&y) => Ok(y),
            _ => Err(bad(field, v)),
        }
    };
    let twice = |field: &str| {
        AppError::from(Reason::PeriodTwice {
            field: field.into(),
        })
    };
    if let Some(y) = year {
        if quarter.is_some() {
            return Err(twice("quarter"));
        }
        if from.is_some() || to.is_some() {
            return Err(twice("year"));
        }
        let y = year_of("year", y)?;
        let (Some(a), Some(b)) = (
            NaiveDate::from_ymd_opt(y, 1, 1),
            NaiveDate::from_ymd_opt(y, 12, 31),
        ) else {
            return Err(bad("year", &y.to_string()));
        };
        return Ok(Some(Period { from: a, to: b }));
    }
    if let Some(q) = quarter {
        if from.is_some() || to.is_some() {
            return Err(twice("quarter"));
        }
        let upper = q.to_ascii_uppercase();
        let (y, n) = upper.split_once('Q').ok_or_else(|| bad("quarter", q))?;
        let y = year_of("quarter", y).map_err(|_| bad("quarter", q))?;
        let n: u32 = match n {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            "4" => 4,
            _ => return Err(bad("quarter", q)),
        };
        let first = NaiveDate::from_ymd_opt(y, 3 * n - 2, 1).ok_or_else(|| bad("quarter", q))?;
        let next = if n == 4 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, 3 * n + 1, 1)
        };
        let last = next
            .and_then(|d| d.pred_opt())
            .ok_or_else(|| bad("quarter", q))?;
        return Ok(Some(Period {
            from: first,
            to: last,
        }));
    }
    if from.is_none() && to.is_none() {
        return Ok(None);
    }
    let a = match from {
        Some(v) => day("from", v)?,
        None => NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
    };
    let b = match to {
        Some(v) => day("to", v)?,
        None => NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
    };
    if b < a {
        return Err(Reason::PeriodBackwards {
            from: a.to_string(),
            to: b.to_string(),
        }
        .into());
    }
    Ok(Some(Period { from: a, to: b }))
}

/// The date a report's period filters on: unix milliseconds, or a
/// `YYYY-MM-DD` text column.
#[derive(Clone, Copy)]
enum DateCol<'a> {
    Ms(&'a str),
    Day(&'a str),
}

/// What a report's rows are, for its filters and cuts: the SQL
/// expressions of their region, unit, category test, warehouse test and
/// date (none for a snapshot).
#[derive(Clone, Copy)]
struct Dims<'a> {
    region: &'a str,
    unit: &'a str,
    /// `{}` stands for the category id.
    category: &'a str,
    /// `{}` stands for the warehouse id.
    warehouse: &'a str,
    date: Option<DateCol<'a>>,
}

/// Rows of the trigger-kept asset summary (`s`, with `SUMMARY_HOLDERS`).
const SUMMARY: Dims<'static> = Dims {
    region: SUMMARY_REGION,
    unit: "NULLIF(s.unit_id, 0)",
    category: "s.category_id = {}",
    warehouse: "w.id = {}",
    date: None,
};

/// Rows of requests (`r`) dated by `date`.
fn requests_dated(date: DateCol<'_>) -> Dims<'_> {
    Dims {
        region: "r.region_id",
        unit: "r.unit_id",
        category: "EXISTS (SELECT 1 FROM request_lines fl WHERE fl.request_id = r.id AND fl.category_id = {})",
        warehouse: "EXISTS (SELECT 1 FROM request_items fi JOIN assets fa ON fa.id = fi.asset_id
             JOIN locations fo ON fo.id = COALESCE(fi.from_location_id, fa.holder_location_id)
             WHERE fi.request_id = r.id AND fo.warehouse_id = {})",
        date: Some(date),
    }
}

/// Which date each report's period filters on (documented in the API and
/// the user guide); `None`: a snapshot of now.
pub fn date_of(name: &str) -> Option<&'static str> {
    match name {
        "loans" => Some("loan_start"),
        "requests" | "compensation" => Some("filed"),
        "procurement" | "contracts" => Some("purchased_on"),
        "rentals" => Some("rental_starts"),
        "activity" => Some("first_check_out"),
        "disposals" => Some("remitted"),
        "idle" => Some("opened"),
        _ => None,
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

/// ` AND …` for a covered set of regions and the scope's filters (unit,
/// category, warehouse, period) over rows described by `d`; nothing when
/// nothing limits them. Ids and bounds are numbers or checked dates,
/// never text from a request.
fn within(d: &Dims<'_>, regions: &Option<Vec<i64>>, scope: &ReportScope) -> String {
    let mut s = String::new();
    if let Some(ids) = regions {
        s.push_str(&format!(
            " AND {} IN ({})",
            d.region,
            super::assets::id_list(ids)
        ));
    }
    if let Some(u) = scope.unit {
        s.push_str(&format!(" AND {} = {u}", d.unit));
    }
    if let Some(c) = scope.category {
        s.push_str(&format!(
            " AND {}",
            d.category.replace("{}", &c.to_string())
        ));
    }
    if let Some(w) = scope.warehouse {
        s.push_str(&format!(
            " AND {}",
            d.warehouse.replace("{}", &w.to_string())
        ));
    }
    match (scope.period, d.date) {
        (Some(p), Some(DateCol::Ms(e))) => {
            let (a, b) = p.bounds_ms();
            s.push_str(&format!(" AND {e} >= {a} AND {e} < {b}"));
        }
        (Some(p), Some(DateCol::Day(e))) => s.push_str(&format!(
            " AND {e} >= '{}' AND {e} <= '{}'",
            p.from.format("%Y-%m-%d"),
            p.to.format("%Y-%m-%d")
        )),
        _ => {}
    }
    s
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

fn cut(scope: &ReportScope, d: &Dims<'_>) -> Cut {
    if scope.by_region {
        let expr = d.region;
        Cut {
            cols: format!("{expr}, g.name, "),
            join: format!(" LEFT JOIN regions g ON g.id = {expr}"),
            group: format!("{expr}, g.name, "),
            offset: 2,
        }
    } else if scope.by_unit {
        let expr = d.unit;
        Cut {
            cols: format!("{expr}, gu.name, "),
            join: format!(" LEFT JOIN units gu ON gu.id = {expr}"),
            group: format!("{expr}, gu.name, "),
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
    // A filter naming nothing is refused, not answered with empty rows.
    for (table, field, id) in [
        ("units", "unit", scope.unit),
        ("categories", "category", scope.category),
        ("warehouses", "warehouse", scope.warehouse),
    ] {
        if let Some(id) = id {
            super::register::require_exists(c, table, field, id)?;
        }
    }
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
            let k = cut(scope, &SUMMARY);
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
                    within(&SUMMARY, &regions, scope),
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
            let k = cut(scope, &SUMMARY);
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
                    within(&SUMMARY, &regions, scope),
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
            let d = requests_dated(DateCol::Day("r.loan_start"));
            let k = cut(scope, &d);
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
                within(&d, &regions, scope),
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
            let d = requests_dated(DateCol::Ms("r.created_at"));
            let k = cut(scope, &d);
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
                within(&d, &regions, scope),
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
            let d = requests_dated(DateCol::Day("b.purchased_on"));
            let k = cut(scope, &d);
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
                    within(&d, &regions, scope),
                ),
                cols.len() + o,
            )?;
            // A loan or allocation served from stock or rentals falls in
            // the period of its first check-out (as in the activity report).
            let served_dims = requests_dated(DateCol::Ms("r.first_out"));
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
                 FROM (SELECT q.*, (SELECT MIN(s.at) FROM request_steps s
                                    WHERE s.request_id = q.id AND s.action = 'check_out')
                                   AS first_out
                       FROM requests q WHERE q.kind IN ('loan', 'allocation')) r{}
                 WHERE (EXISTS (SELECT 1 {served})
                        OR EXISTS (SELECT 1 FROM rentals rn WHERE rn.request_id = r.id)){}
                 ORDER BY r.id",
                    k.cols,
                    k.join,
                    within(&served_dims, &regions, scope),
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
        "contracts" => contracts(c, scope, &regions)?,
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
            let d = requests_dated(DateCol::Day("rn.starts"));
            let k = cut(scope, &d);
            let o = k.offset;
            let rows = table(
                c,
                &format!(
                    "SELECT {}rn.request_id, COALESCE(r.event, r.reason), u.name, s.name, rn.contract_number,
                        rn.starts, rn.ends,
                        (SELECT COUNT(*) FROM rental_items i WHERE i.rental_id = rn.id), rn.cost_fen
                 FROM rentals rn JOIN suppliers s ON s.id = rn.supplier_id
                 LEFT JOIN requests r ON r.id = rn.request_id
                 LEFT JOIN units u ON u.id = r.unit_id{}
                 WHERE 1 = 1{} ORDER BY rn.starts, rn.id",
                    k.cols,
                    k.join,
                    within(&d, &regions, scope),
                ),
                cols.len() + o,
            )?;
            let t = json!({ "rentals": rows.len(), "rented_items": sum(&rows, o + 7, "rented_items")?,
                "rental_cost_fen": sum(&rows, o + 8, "rental_cost_fen")? });
            (cols, rows, t)
        }
        "idle" => {
            // 闲置问责: per unit that must answer (none: warehouse stock,
            // the last row; units by id, as both backends order them),
            // the idle findings opened in the period — how many, the
            // assets' value (an asset under two rules counts in each),
            // the days idle at their last scan, and how they stand: open,
            // ever escalated, and each way they closed.
            let cols: &[&str] = &[
                "unit_id",
                "unit",
                "findings",
                "value_fen",
                "days_idle",
                "open",
                "escalated",
                "explained",
                "listed",
                "handed_in",
                "reclaimed",
                "resolved",
            ];
            let d = Dims {
                region: "f.region_id",
                unit: "f.unit_id",
                category: "a.category_id = {}",
                warehouse: "EXISTS (SELECT 1 FROM locations fl WHERE fl.id = a.holder_location_id
                     AND fl.warehouse_id = {})",
                date: Some(DateCol::Ms("f.opened_at")),
            };
            let k = cut(scope, &d);
            let o = k.offset;
            let n = |cond: &str| format!("CAST(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT)");
            let rows = table(
                c,
                &format!(
                    "SELECT {}f.unit_id, u.name, COUNT(*), CAST(SUM(f.value_fen) AS BIGINT),
                        CAST(SUM(f.days_idle) AS BIGINT), {}, {}, {}, {}, {}, {}, {}
                 FROM idle_findings f JOIN assets a ON a.id = f.asset_id
                 LEFT JOIN units u ON u.id = f.unit_id{}
                 WHERE 1 = 1{}
                 GROUP BY {}f.unit_id, u.name ORDER BY {}CASE WHEN f.unit_id IS NULL THEN 1 ELSE 0 END, f.unit_id",
                    k.cols,
                    n("f.closed_at IS NULL"),
                    n("f.escalated_at IS NOT NULL"),
                    n("f.outcome = 'explained'"),
                    n("f.outcome = 'listed'"),
                    n("f.outcome = 'handed_in'"),
                    n("f.outcome = 'reclaimed'"),
                    n("f.outcome = 'resolved'"),
                    k.join,
                    within(&d, &regions, scope),
                    k.group,
                    k.group,
                ),
                cols.len() + o,
            )?;
            let mut t = serde_json::Map::new();
            for (i, col) in cols.iter().enumerate().skip(2) {
                t.insert((*col).to_owned(), json!(sum(&rows, o + i, col)?));
            }
            (cols, rows, Value::Object(t))
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
            let d = requests_dated(DateCol::Ms("r.first_out"));
            let k = cut(scope, &d);
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
                    within(&d, &regions, scope),
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
            let d = requests_dated(DateCol::Ms("r.remitted_at"));
            let k = cut(scope, &d);
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
                    within(&d, &regions, scope),
                    group.join(", "),
                    group.join(", "),
                ),
                cols.len() + o,
            )?;
            // With a period: the items of the disposals remitted in it;
            // without: every disposed asset (scrapped ones too).
            let disposed_sql = if scope.period.is_some() {
                format!(
                    "SELECT COUNT(*) FROM request_items i JOIN requests r ON r.id = i.request_id
                     WHERE r.kind = 'disposal' AND r.remitted_at IS NOT NULL
                       AND i.status = 'done'{}",
                    within(&d, &regions, scope)
                )
            } else {
                format!(
                    "SELECT COALESCE(SUM(s.n), 0) FROM asset_summary s {SUMMARY_HOLDERS}
                     WHERE s.state = 'disposed'{}",
                    within(&SUMMARY, &regions, scope)
                )
            };
            let disposed: i64 = c.query_row(&disposed_sql, (), |r| r.get(0))?;
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
            let d = requests_dated(DateCol::Ms("r.created_at"));
            let k = cut(scope, &d);
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
                    within(&d, &regions, scope),
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
    let lead: &[&str] = if scope.by_region {
        &["region_id", "region"]
    } else if scope.by_unit {
        &["row_unit_id", "row_unit"]
    } else {
        &[]
    };
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
        period: scope.period.filter(|_| date_of(name).is_some()),
        dated_by: date_of(name).map(str::to_owned),
    })
}

/// A report's columns, rows and totals.
type Table = (&'static [&'static str], Vec<Vec<Value>>, Value);

/// 采购合同 — one row per contract (procurement batch): its supplier and
/// date, the requests bought under it with their units, and the amounts
/// summed over those requests. Cut by region, a contract whose requests
/// lie in several regions is one row per region (so the rows add up).
fn contracts(c: &Db<'_>, scope: &ReportScope, regions: &Option<Vec<i64>>) -> AppResult<Table> {
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
    let d = requests_dated(DateCol::Day("b.purchased_on"));
    let k = cut(scope, &d);
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
            within(&d, regions, scope),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn field(r: AppResult<Option<Period>>) -> Option<String> {
        r.err().and_then(|e| e.field)
    }

    #[test]
    fn shortcuts_are_whole_years_and_quarters() {
        let p = |y: Option<&str>, q: Option<&str>| parse_period(None, None, y, q).ok().flatten();
        assert_eq!(
            p(Some("2024"), None),
            Some(Period {
                from: day("2024-01-01"),
                to: day("2024-12-31")
            })
        );
        assert_eq!(
            p(None, Some("2025Q3")),
            Some(Period {
                from: day("2025-07-01"),
                to: day("2025-09-30")
            })
        );
        assert_eq!(
            p(None, Some("2024q1")).map(|p| p.to),
            Some(day("2024-03-31"))
        );
        assert_eq!(
            p(None, Some("2025Q4")).map(|p| p.to),
            Some(day("2025-12-31"))
        );
        assert_eq!(parse_period(None, None, None, None).ok(), Some(None));
        assert_eq!(
            parse_period(Some(" "), Some(""), None, None).ok(),
            Some(None)
        );
    }

    #[test]
    fn bad_periods_name_their_parameter() {
        assert_eq!(
            field(parse_period(None, None, None, Some("2025Q5"))),
            Some("quarter".into())
        );
        assert_eq!(
            field(parse_period(None, None, None, Some("2025Q"))),
            Some("quarter".into())
        );
        assert_eq!(
            field(parse_period(None, None, Some("202"), None)),
            Some("year".into())
        );
        assert_eq!(
            field(parse_period(
                Some("2025-07-01"),
                Some("2025-06-30"),
                None,
                None
            )),
            Some("to".into())
        );
        assert_eq!(
            field(parse_period(Some("2025-13-01"), None, None, None)),
            Some("from".into())
        );
        assert_eq!(
            field(parse_period(Some("2025-01-01"), None, Some("2025"), None)),
            Some("year".into())
        );
        assert_eq!(
            field(parse_period(None, None, Some("2025"), Some("2025Q1"))),
            Some("quarter".into())
        );
    }

    #[test]
    fn a_period_is_whole_shanghai_days() {
        let p = Period {
            from: day("2025-01-01"),
            to: day("2025-01-01"),
        };
        // 2024-12-31 16:00 UTC is midnight in Shanghai; a day is 86.4 M ms.
        assert_eq!(p.bounds_ms(), (1_735_660_800_000, 1_735_747_200_000));
    }
}
