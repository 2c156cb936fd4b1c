//! Assets, their tags and their commissioning. Every change appends an
//! event in the same transaction.

use crate::store::db::{Db, OptionalExtension};
use serde_json::json;

use super::events::{append, timeline, NewEvent};
use super::register::require_exists;
use super::{paging, Store};
use crate::error::{AppError, AppResult, Reason};
use crate::gate::{EmergencyPass, EmergencyPassRequest};
use crate::input::{optional_text, required_text};
use crate::money::fen_to_yuan;
use crate::paging::{Page, Paging};
use crate::policy::{Ctx, Visibility};
use crate::register::*;
use crate::spreadsheet::Sheet;
use crate::time::{now_ms, ts};

pub(crate) const ASSET_COLUMNS: &str = "a.id, a.asset_number, a.name, a.category_id, a.model,
    a.original_value_fen, a.purchase_date, a.funding_source, a.batch_id, a.holder_location_id,
    a.holder_unit_id, a.custodian, a.state, a.condition, a.notes, a.checkout_approved,
    (SELECT t.epc FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL),
    (SELECT max(seen_at) FROM (SELECT seen_at FROM asset_last_seen WHERE asset_id = a.id
        UNION ALL SELECT seen_at FROM asset_last_seen_recent WHERE asset_id = a.id) AS ls),
    (SELECT reader_id FROM (SELECT seen_at, reader_id, 0 AS newer FROM asset_last_seen
            WHERE asset_id = a.id
        UNION ALL SELECT seen_at, reader_id, 1 FROM asset_last_seen_recent WHERE asset_id = a.id) AS lr
        ORDER BY seen_at DESC, newer DESC LIMIT 1),
    a.created_at, a.updated_at,
    COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
        (SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
          WHERE l.id = a.holder_location_id)),
    a.source, a.acquisition_id";

pub(crate) fn row_to_asset(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Asset> {
    let state: String = r.get(12)?;
    let condition: String = r.get(13)?;
    let epc: Option<Vec<u8>> = r.get(16)?;
    Ok(Asset {
        id: r.get(0)?,
        asset_number: r.get(1)?,
        name: r.get(2)?,
        category_id: r.get(3)?,
        model: r.get(4)?,
        original_value_fen: r.get(5)?,
        purchase_date: r.get(6)?,
        funding_source: r.get(7)?,
        batch_id: r.get(8)?,
        holder_location_id: r.get(9)?,
        holder_unit_id: r.get(10)?,
        custodian: r.get(11)?,
        state: AssetState::parse(&state).unwrap_or(AssetState::Lost),
        condition: Condition::parse(&condition).unwrap_or(Condition::Good),
        notes: r.get(14)?,
        checkout_approved: r.get(15)?,
        epc: epc.map(|e| shared::hex::Hex(&e).to_string()),
        last_seen_at: r.get::<_, Option<i64>>(17)?.map(ts),
        last_seen_reader_id: r.get(18)?,
        created_at: ts(r.get(19)?),
        updated_at: ts(r.get(20)?),
        region_id: r.get(21)?,
        source: crate::acquisition::AssetSource::parse(&r.get::<_, String>(22)?)
            .unwrap_or(crate::acquisition::AssetSource::Register),
        acquisition_id: r.get(23)?,
    })
}

pub(crate) fn get_asset(conn: &Db<'_>, id: i64) -> AppResult<Asset> {
    conn.prepare_cached(&format!(
        "SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = ?1"
    ))?
    .query_row([id], row_to_asset)
    .optional()?
    .ok_or_else(|| AppError::not_found("asset", id))
}

/// How an error names the asset `id`: by its number (an id that names no
/// asset keeps only the id).
pub(crate) fn asset_ref(conn: &Db<'_>, id: i64) -> AppResult<crate::error::AssetRef> {
    let number: Option<String> = conn
        .prepare_cached("SELECT asset_number FROM assets WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(crate::error::AssetRef { id, number })
}

/// The event action of an emergency pass; the gate reads the latest one.
pub(crate) const EMERGENCY_PASS: &str = "emergency_pass";

fn holder_place(a: &Asset) -> String {
    match (a.holder_location_id, a.holder_unit_id) {
        (Some(l), _) => format!("location:{l}"),
        (_, Some(u)) => format!("unit:{u}"),
        _ => String::new(),
    }
}

/// Inserts an asset and its `registered` event.
pub(crate) fn insert_asset(
    tx: &Db<'_>,
    ctx: &Ctx,
    a: &NewAsset,
    state: AssetState,
    with_event: bool,
) -> AppResult<i64> {
    let now = now_ms();
    tx.prepare_cached(
        "INSERT INTO assets (asset_number, name, category_id, model, original_value_fen,
             purchase_date, funding_source, batch_id, holder_location_id, holder_unit_id,
             custodian, state, condition, notes, checkout_approved, created_at, updated_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17)",
    )?
    .execute(rusqlite::params![
        a.asset_number,
        a.name,
        a.category_id,
        a.model,
        a.original_value_fen,
        a.purchase_date,
        a.funding_source,
        a.batch_id,
        a.holder_location_id,
        a.holder_unit_id,
        a.custodian,
        state.as_str(),
        a.condition.unwrap_or(Condition::Good).as_str(),
        a.notes,
        crate::lifecycle::may_pass_gate(state),
        now,
        // From the purchase chain when it has a batch; an acquisition
        // sets its own source after.
        if a.batch_id.is_some() {
            "purchase"
        } else {
            "register"
        }
    ])?;
    let id = tx.last_insert_rowid()?;
    if with_event {
        append(
            tx,
            ctx,
            NewEvent {
                asset_id: id,
                action: "registered",
                place: a
                    .holder_location_id
                    .map(|l| format!("location:{l}"))
                    .or(a.holder_unit_id.map(|u| format!("unit:{u}"))),
                reason: None,
                details: json!({
                    "asset_number": a.asset_number,
                    "name": a.name,
                    "state": state.as_str(),
                    "original_value_fen": a.original_value_fen,
                }),
            },
        )?;
    }
    Ok(id)
}

/// Writes descriptive changes to an asset and appends its one `updated`
/// event listing each change (`changes`: column → [old, new]). The one
/// way an asset's description changes: `update_asset` and the register
/// import both call it. `updates`' columns are literals of the callers.
pub(crate) fn record_update(
    tx: &Db<'_>,
    ctx: &Ctx,
    old: &Asset,
    updates: &[(&'static str, rusqlite::types::Value)],
    changes: serde_json::Map<String, serde_json::Value>,
    reason: Option<String>,
) -> AppResult<()> {
    let now = now_ms();
    for (col, value) in updates {
        tx.execute(
            &format!("UPDATE assets SET {col} = ?1, updated_at = ?2 WHERE id = ?3"),
            (value, now, old.id),
        )?;
    }
    append(
        tx,
        ctx,
        NewEvent {
            asset_id: old.id,
            action: "updated",
            place: Some(holder_place(old)),
            reason,
            details: serde_json::Value::Object(changes),
        },
    )?;
    Ok(())
}

fn check_references(tx: &Db<'_>, a: &NewAsset) -> AppResult<()> {
    require_exists(tx, "categories", "category_id", a.category_id)?;
    if let Some(b) = a.batch_id {
        require_exists(tx, "procurement_batches", "batch_id", b)?;
    }
    if let Some(l) = a.holder_location_id {
        require_exists(tx, "locations", "holder_location_id", l)?;
    }
    if let Some(u) = a.holder_unit_id {
        require_exists(tx, "units", "holder_unit_id", u)?;
    }
    Ok(())
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Region ids as an SQL list (numbers from the database, never text from
/// a request); an empty list matches nothing.
pub(crate) fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// WHERE clause and arguments for a search, visibility included.
/// The regions a visibility is limited to (`None`: no limit).
fn reach_of(vis: &Visibility) -> Option<&[i64]> {
    match vis {
        Visibility::Regions(r) => Some(r),
        Visibility::All | Visibility::UnitAndWarehouse(_) => None,
        Visibility::Nothing => Some(&[]),
    }
}

/// The assets of the regions `ids`: held by their units or in their
/// warehouses.
pub(crate) fn in_regions(ids: &[i64]) -> String {
    format!(
        "(a.holder_unit_id IN (SELECT u.id FROM units u WHERE u.region_id IN ({ids}))
          OR a.holder_location_id IN (SELECT l.id FROM locations l
               JOIN warehouses w ON w.id = l.warehouse_id WHERE w.region_id IN ({ids})))",
        ids = id_list(ids)
    )
}

/// The regions a `region` filter covers (it and those below), refused
/// as not found outside what `vis` lets the caller see.
pub(crate) fn region_filter(
    c: &Db<'_>,
    region: Option<i64>,
    reach: Option<&[i64]>,
) -> AppResult<Option<Vec<i64>>> {
    let Some(r) = region else { return Ok(None) };
    let ids = super::register::region_and_below(c, r)?;
    if ids.is_empty() || reach.is_some_and(|reach| !reach.contains(&r)) {
        return Err(AppError::not_found("region", r));
    }
    Ok(Some(ids))
}

fn search_filter(
    q: &AssetQuery,
    vis: Visibility,
    regions: Option<&[i64]>,
) -> AppResult<(String, Vec<rusqlite::types::Value>)> {
    use rusqlite::types::Value;
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let arg = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("?{}", args.len())
    };
    match vis {
        Visibility::All => {}
        Visibility::Nothing => clauses.push("1 = 0".into()),
        Visibility::Regions(regions) => clauses.push(in_regions(&regions)),
        Visibility::UnitAndWarehouse(unit) => {
            let p = arg(Value::Integer(unit), &mut args);
            clauses.push(format!(
                "(a.holder_unit_id = {p} OR a.holder_location_id IS NOT NULL)"
            ));
        }
    }
    if let Some(ids) = regions {
        clauses.push(in_regions(ids));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let p = arg(Value::Text(like_escape(text)), &mut args);
        clauses.push(format!(
            "(a.name LIKE {p} ESCAPE '\\' OR a.asset_number LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(n) = &q.number {
        let p = arg(Value::Text(n.trim().to_owned()), &mut args);
        clauses.push(format!("a.asset_number = {p}"));
    }
    if let Some(epc) = &q.epc {
        let bytes = shared::hex::decode(epc.trim()).map_err(|e| {
            AppError::from(Reason::NotHex {
                field: "epc".into(),
                value: epc.clone(),
                detail: e.to_string(),
            })
        })?;
        let p = arg(Value::Blob(bytes), &mut args);
        clauses.push(format!(
            "a.id IN (SELECT asset_id FROM tags WHERE epc = {p} AND unbound_at IS NULL)"
        ));
    }
    if let Some(c) = q.category_id {
        let p = arg(Value::Integer(c), &mut args);
        clauses.push(format!("a.category_id = {p}"));
    }
    if let Some(s) = q.state {
        let p = arg(Value::Text(s.as_str().into()), &mut args);
        clauses.push(format!("a.state = {p}"));
    }
    if let Some(s) = q.source {
        let p = arg(Value::Text(s.as_str().into()), &mut args);
        clauses.push(format!("a.source = {p}"));
    }
    if let Some(u) = q.holder_unit_id {
        let p = arg(Value::Integer(u), &mut args);
        clauses.push(format!("a.holder_unit_id = {p}"));
    }
    if let Some(l) = q.holder_location_id {
        let p = arg(Value::Integer(l), &mut args);
        clauses.push(format!("a.holder_location_id = {p}"));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    Ok((filter, args))
}

/// Register columns for the CSV export, in order.
const CSV_HEADER: [&str; 17] = [
    "asset_number",
    "name",
    "category",
    "model",
    "original_value_yuan",
    "purchase_date",
    "funding_source",
    "batch",
    "holder",
    "custodian",
    "state",
    "condition",
    "epc",
    "last_seen_at",
    "notes",
    "created_at",
    "id",
];

/// Register columns of the workbook export, as the import recognises them.
const XLSX_HEADER: [&str; 12] = [
    "资产编号",
    "资产名称",
    "分类",
    "规格型号",
    "原值（元）",
    "取得日期",
    "使用单位",
    "存放地点",
    "保管人",
    "经费来源",
    "状态",
    "备注",
];

impl Store {
    /// How many assets `unit_id` holds in each state, in lifecycle order,
    /// states it holds none in left out: from `asset_summary` (kept by
    /// triggers), so exact without a scan of the register.
    pub async fn unit_assets_by_state(&self, unit_id: i64) -> AppResult<Vec<(String, i64)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT state, SUM(n) FROM asset_summary WHERE unit_id = ?1
                 GROUP BY state HAVING SUM(n) > 0",
            )?;
            let found = stmt
                .query_map([unit_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AssetState::ALL
                .iter()
                .filter_map(|s| found.iter().find(|(f, _)| f == s.as_str()).cloned())
                .collect())
        })
        .await
    }

    pub async fn create_asset(&self, ctx: Ctx, mut a: NewAsset) -> AppResult<Asset> {
        let state = a.validate()?;
        self.write(move |tx| {
            check_references(tx, &a)?;
            let id = insert_asset(tx, &ctx, &a, state, true)?;
            let asset = get_asset(tx, id)?;
            // Where it landed decides (its unit's or warehouse's region);
            // a refusal rolls the insert back.
            crate::policy::authorize(
                &ctx.actor,
                crate::policy::Action::CreateAsset,
                asset.scope(),
            )?;
            Ok(asset)
        })
        .await
    }

    pub async fn asset(&self, id: i64) -> AppResult<Asset> {
        self.read(move |c| get_asset(c, id)).await
    }

    /// The asset page: asset, tag history, timeline.
    pub async fn asset_detail(&self, id: i64) -> AppResult<AssetDetail> {
        self.read(move |c| {
            let asset = get_asset(c, id)?;
            let tags = tag_history(c, id)?;
            let timeline = timeline(c, id)?;
            Ok(AssetDetail {
                asset,
                tags,
                timeline,
            })
        })
        .await
    }

    /// The asset whose active tag has this EPC.
    pub async fn asset_by_epc(&self, epc: Vec<u8>) -> AppResult<Asset> {
        self.read(move |c| {
            let id: Option<i64> = c
                .prepare_cached("SELECT asset_id FROM tags WHERE epc = ?1 AND unbound_at IS NULL")?
                .query_row([&epc], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => get_asset(c, id),
                None => Err(AppError::not_found(
                    "asset with EPC",
                    shared::hex::Hex(&epc),
                )),
            }
        })
        .await
    }

    pub async fn search_assets(&self, q: AssetQuery, vis: Visibility) -> AppResult<Page<Asset>> {
        let (page, per_page) = Paging {
            page: q.page,
            per_page: q.per_page,
        }
        .resolve()?;
        self.read(move |c| {
            let regions = region_filter(c, q.region, reach_of(&vis))?;
            let (filter, args) = search_filter(&q, vis, regions.as_deref())?;
            // The page's ids first, then their rows: the columns' look-ups
            // (tag, last seen, region) would otherwise run for every row
            // `OFFSET` skips as well (both databases evaluate them before
            // skipping). The page is a contiguous run of the filter in id
            // order, so its rows are the filter's between its first and
            // last id.
            let ids = paging::page(
                c,
                "a.id",
                &format!("assets a {filter}"),
                "a.id",
                &args,
                (page, per_page),
                |r| r.get::<_, i64>(0),
            )?;
            let items = match (ids.items.first(), ids.items.last()) {
                (Some(&first), Some(&last)) => {
                    let n = args.len();
                    let within = format!("a.id >= ?{} AND a.id <= ?{}", n + 1, n + 2);
                    let filter = if filter.is_empty() {
                        format!("WHERE {within}")
                    } else {
                        format!("{filter} AND {within}")
                    };
                    let bounds = [
                        rusqlite::types::Value::Integer(first),
                        rusqlite::types::Value::Integer(last),
                    ];
                    c.prepare_cached(&format!(
                        "SELECT {ASSET_COLUMNS} FROM assets a {filter} ORDER BY a.id"
                    ))?
                    .query_map(
                        crate::store::db::params_from_iter(args.iter().chain(&bounds)),
                        row_to_asset,
                    )?
                    .collect::<Result<Vec<_>, _>>()?
                }
                _ => Vec::new(),
            };
            Ok(Page {
                items,
                total: ids.total,
                total_exact: ids.total_exact,
                page: ids.page,
                per_page: ids.per_page,
            })
        })
        .await
    }

    /// The register as CSV that Excel opens correctly and safely
    /// ([`Sheet`]), money in yuan with two decimals.
    pub async fn export_assets_csv(&self, q: AssetQuery, vis: Visibility) -> AppResult<Vec<u8>> {
        self.read(move |c| {
            let regions = region_filter(c, q.region, reach_of(&vis))?;
            let (filter, args) = search_filter(&q, vis, regions.as_deref())?;
            let mut w = Sheet::new(CSV_HEADER)?;
            {
                let hex = match c.dialect() {
                    crate::store::dialect::Dialect::Sqlite => "hex(t.epc)",
                    crate::store::dialect::Dialect::Postgres => "upper(encode(t.epc, 'hex'))",
                };
                let mut stmt = c.prepare(&format!(
                    "SELECT a.asset_number, a.name, c.name, a.model, a.original_value_fen,
                            a.purchase_date, a.funding_source, b.code,
                            COALESCE(w.name || '/' || l.code, u.name), a.custodian, a.state,
                            a.condition,
                            (SELECT {hex} FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL),
                            (SELECT max(seen_at) FROM (
                                SELECT seen_at FROM asset_last_seen WHERE asset_id = a.id
                                UNION ALL
                                SELECT seen_at FROM asset_last_seen_recent WHERE asset_id = a.id) AS ls),
                            a.notes, a.created_at, a.id
                     FROM assets a
                     JOIN categories c ON c.id = a.category_id
                     LEFT JOIN procurement_batches b ON b.id = a.batch_id
                     LEFT JOIN locations l ON l.id = a.holder_location_id
                     LEFT JOIN warehouses w ON w.id = l.warehouse_id
                     LEFT JOIN units u ON u.id = a.holder_unit_id
                     {filter} ORDER BY a.id"
                ))?;
                let mut rows = stmt.query(crate::store::db::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    let text = |i: usize| -> rusqlite::Result<String> {
                        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
                    };
                    let time = |i: usize| -> rusqlite::Result<String> {
                        Ok(r
                            .get::<_, Option<i64>>(i)?
                            .map(|t| ts(t).to_rfc3339())
                            .unwrap_or_default())
                    };
                    let record = [
                        text(0)?,
                        text(1)?,
                        text(2)?,
                        text(3)?,
                        fen_to_yuan(r.get(4)?),
                        text(5)?,
                        text(6)?,
                        text(7)?,
                        text(8)?,
                        text(9)?,
                        text(10)?,
                        text(11)?,
                        text(12)?,
                        time(13)?,
                        text(14)?,
                        time(15)?,
                        r.get::<_, i64>(16)?.to_string(),
                    ];
                    w.row(record)?;
                }
            }
            w.finish()
        })
        .await
    }

    /// The register as a workbook people read (and the import reads back):
    /// Chinese headings, money in yuan as numbers, dates as date cells, a
    /// totals row; same filters as the search.
    pub async fn export_assets_xlsx(&self, q: AssetQuery, vis: Visibility) -> AppResult<Vec<u8>> {
        use crate::spreadsheet::XCell;
        self.read(move |c| {
            let regions = region_filter(c, q.region, reach_of(&vis))?;
            let (filter, args) = search_filter(&q, vis, regions.as_deref())?;
            let mut stmt = c.prepare(&format!(
                "SELECT a.asset_number, a.name, c.name, a.model, a.original_value_fen,
                        a.purchase_date, u.name, l.name, a.custodian, a.funding_source,
                        a.state, a.notes
                 FROM assets a
                 JOIN categories c ON c.id = a.category_id
                 LEFT JOIN locations l ON l.id = a.holder_location_id
                 LEFT JOIN units u ON u.id = a.holder_unit_id
                 {filter} ORDER BY a.id"
            ))?;
            let mut rows = stmt.query(crate::store::db::params_from_iter(args.iter()))?;
            let mut out: Vec<Vec<XCell>> = Vec::new();
            let mut fen: Vec<i64> = Vec::new();
            while let Some(r) = rows.next()? {
                let text = |i: usize| -> rusqlite::Result<XCell> {
                    Ok(r.get::<_, Option<String>>(i)?
                        .map_or(XCell::Empty, XCell::Text))
                };
                let value: i64 = r.get(4)?;
                fen.push(value);
                let date = r
                    .get::<_, Option<String>>(5)?
                    .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                    .map_or(XCell::Empty, XCell::Date);
                let state: String = r.get(10)?;
                out.push(vec![
                    text(0)?,
                    text(1)?,
                    text(2)?,
                    text(3)?,
                    XCell::Money(value),
                    date,
                    text(6)?,
                    text(7)?,
                    text(8)?,
                    text(9)?,
                    XCell::Text(crate::i18n::tv(crate::i18n::Lang::Zh, &state)),
                    text(11)?,
                ]);
            }
            let total = crate::money::total("original_value_fen", fen)?;
            let mut totals = vec![XCell::Empty; XLSX_HEADER.len()];
            totals[0] = XCell::Text("合计".into());
            totals[1] = XCell::Text(format!("共 {} 项", out.len()));
            totals[4] = XCell::Money(total);
            let headings: Vec<String> = XLSX_HEADER.iter().map(|h| (*h).to_owned()).collect();
            crate::spreadsheet::xlsx("资产台账", &headings, &out, &[totals])
        })
        .await
    }

    /// Applies descriptive changes; one `updated` event lists old → new.
    pub async fn update_asset(&self, ctx: Ctx, id: i64, patch: AssetPatch) -> AppResult<Asset> {
        let name = match &patch.name {
            Some(n) => Some(required_text("name", n, 200)?),
            None => None,
        };
        let reason = optional_text("reason", patch.reason.as_deref(), 500)?;
        self.write(move |tx| {
            let old = get_asset(tx, id)?;
            let mut changes = serde_json::Map::new();
            let mut set = |col: &'static str, old: Option<String>, new: Option<String>| {
                if old != new {
                    changes.insert(col.into(), json!([old, new]));
                    Some((col, new))
                } else {
                    None
                }
            };
            let opt = |f: &str, v: &Option<String>, max| -> AppResult<Option<Option<String>>> {
                v.as_deref()
                    .map(|s| optional_text(f, Some(s), max))
                    .transpose()
            };
            let mut updates: Vec<(&'static str, Option<String>)> = Vec::new();
            if let Some(n) = name {
                updates.extend(set("name", Some(old.name.clone()), Some(n)));
            }
            if let Some(v) = opt("model", &patch.model, 200)? {
                updates.extend(set("model", old.model.clone(), v));
            }
            if let Some(v) = opt("custodian", &patch.custodian, 100)? {
                updates.extend(set("custodian", old.custodian.clone(), v));
            }
            if let Some(v) = opt("notes", &patch.notes, 2000)? {
                updates.extend(set("notes", old.notes.clone(), v));
            }
            if let Some(v) = opt("funding_source", &patch.funding_source, 200)? {
                updates.extend(set("funding_source", old.funding_source.clone(), v));
            }
            if let Some(c) = patch.condition {
                updates.extend(set(
                    "condition",
                    Some(old.condition.as_str().into()),
                    Some(c.as_str().into()),
                ));
            }
            if updates.is_empty() {
                return Ok(old);
            }
            let updates: Vec<(&'static str, rusqlite::types::Value)> = updates
                .into_iter()
                .map(|(col, v)| (col, v.map_or(rusqlite::types::Value::Null, Into::into)))
                .collect();
            record_update(tx, &ctx, &old, &updates, changes, reason)?;
            get_asset(tx, id)
        })
        .await
    }

    /// Records an approver's emergency pass (紧急放行) in the asset's event
    /// chain; the gate rule honours it until it expires.
    pub async fn grant_emergency_pass(
        &self,
        ctx: Ctx,
        id: i64,
        req: EmergencyPassRequest,
    ) -> AppResult<EmergencyPass> {
        let (reason, valid_ms) = req.validate()?;
        self.write(move |tx| {
            let asset = get_asset(tx, id)?;
            let expires_at = now_ms() + valid_ms;
            let e = append(
                tx,
                &ctx,
                NewEvent {
                    asset_id: id,
                    action: EMERGENCY_PASS,
                    place: Some(holder_place(&asset)),
                    reason: Some(reason.clone()),
                    details: json!({ "expires_at": expires_at }),
                },
            )?;
            Ok(EmergencyPass {
                asset_id: id,
                granted_by: e.actor,
                reason,
                granted_at: ts(e.at),
                expires_at: ts(expires_at),
            })
        })
        .await
    }

    /// Records an EPC to be written for `asset_id`; superseded any earlier
    /// pending one for the same asset.
    pub async fn start_commission(&self, ctx: Ctx, asset_id: i64, epc: Vec<u8>) -> AppResult<i64> {
        self.write(move |tx| {
            get_asset(tx, asset_id)?;
            tx.execute(
                "UPDATE tag_commissions SET status = 'superseded'
                 WHERE asset_id = ?1 AND status = 'pending'",
                [asset_id],
            )?;
            tx.execute(
                "INSERT INTO tag_commissions (asset_id, epc, status, requested_by, requested_at)
                 VALUES (?1, ?2, 'pending', ?3, ?4)",
                (asset_id, &epc, ctx.actor.label(), now_ms()),
            )?;
            Ok(tx.last_insert_rowid()?)
        })
        .await
    }

    /// Allocates the GIAI EPC an asset's tag is to carry (company prefix +
    /// asset number: GIAI-96 when the number fits, else GIAI-202) and
    /// opens its commission; a writer (the daemon's `commission`, or a
    /// keeper on the tag page) writes it and confirms. The API and the tag
    /// page both come here.
    pub async fn commission_tag(
        &self,
        ctx: Ctx,
        asset_id: i64,
    ) -> AppResult<shared::sync::Commission> {
        let asset = self.asset(asset_id).await?;
        let prefix = self
            .get_setting(crate::commission::COMPANY_PREFIX_KEY)
            .await?
            .ok_or_else(|| AppError::from(Reason::NoCompanyPrefix))?;
        let epc = crate::commission::giai_for(&prefix, &asset.asset_number)?;
        let commission_id = self
            .start_commission(ctx, asset_id, epc.bytes().to_vec())
            .await?;
        Ok(shared::sync::Commission {
            commission_id,
            asset_id,
            epc: epc.hex().to_string(),
            tag_uri: epc.tag_uri().to_string(),
            id_uri: epc.id_uri().to_string(),
        })
    }

    /// The asset's commission waiting to be written, if any: (id, EPC,
    /// requested at, unix ms).
    pub async fn pending_commission(
        &self,
        asset_id: i64,
    ) -> AppResult<Option<(i64, Vec<u8>, i64)>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT id, epc, requested_at FROM tag_commissions
                 WHERE asset_id = ?1 AND status = 'pending' ORDER BY id DESC LIMIT 1",
            )?
            .query_row([asset_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
        })
        .await
    }

    /// The daemon verified the write: bind the tag (re-tagging unbinds the
    /// old one, keeping it as history).
    pub async fn confirm_commission(
        &self,
        ctx: Ctx,
        commission_id: i64,
        written_epc: Vec<u8>,
    ) -> AppResult<Asset> {
        self.write(move |tx| {
            let row: Option<(i64, Vec<u8>, String)> = tx
                .query_row(
                    "SELECT asset_id, epc, status FROM tag_commissions WHERE id = ?1",
                    [commission_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (asset_id, epc, status) =
                row.ok_or_else(|| AppError::not_found("tag commission", commission_id))?;
            if status != "pending" {
                return Err(Reason::CommissionNotPending {
                    commission_id,
                    status,
                }
                .into());
            }
            if written_epc != epc {
                return Err(Reason::EpcMismatch {
                    written: shared::hex::Hex(&written_epc).to_string(),
                    allocated: shared::hex::Hex(&epc).to_string(),
                }
                .into());
            }
            let now = now_ms();
            let other: Option<i64> = tx
                .query_row(
                    "SELECT asset_id FROM tags WHERE epc = ?1 AND unbound_at IS NULL AND asset_id <> ?2",
                    rusqlite::params![epc, asset_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(other) = other {
                return Err(Reason::EpcBound {
                    epc: shared::hex::Hex(&epc).to_string(),
                    asset: asset_ref(tx, other)?,
                }
                .into());
            }
            let old: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT epc FROM tags WHERE asset_id = ?1 AND unbound_at IS NULL",
                    [asset_id],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "UPDATE tags SET unbound_at = ?1, unbind_reason = 'replaced by a new tag'
                 WHERE asset_id = ?2 AND unbound_at IS NULL",
                (now, asset_id),
            )?;
            tx.execute(
                "INSERT INTO tags (epc, asset_id, bound_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![epc, asset_id, now],
            )?;
            tx.execute(
                "UPDATE tag_commissions SET status = 'confirmed', confirmed_by = ?1, confirmed_at = ?2
                 WHERE id = ?3",
                (ctx.actor.label(), now, commission_id),
            )?;
            tx.execute("UPDATE assets SET updated_at = ?1 WHERE id = ?2", (now, asset_id))?;
            let asset = get_asset(tx, asset_id)?;
            append(
                tx,
                &ctx,
                NewEvent {
                    asset_id,
                    action: if old.is_some() { "retagged" } else { "tag_bound" },
                    place: Some(holder_place(&asset)),
                    reason: None,
                    details: json!({
                        "epc": shared::hex::Hex(&epc).to_string(),
                        "previous_epc": old.map(|o| shared::hex::Hex(&o).to_string()),
                        "commission_id": commission_id,
                    }),
                },
            )?;
            Ok(asset)
        })
        .await
    }
}

pub(crate) fn tag_history(c: &Db<'_>, asset_id: i64) -> AppResult<Vec<TagBinding>> {
    let mut stmt = c.prepare_cached(
        "SELECT epc, asset_id, bound_at, unbound_at, unbind_reason FROM tags
         WHERE asset_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([asset_id], |r| {
        let epc: Vec<u8> = r.get(0)?;
        Ok(TagBinding {
            epc: shared::hex::Hex(&epc).to_string(),
            asset_id: r.get(1)?,
            bound_at: ts(r.get(2)?),
            unbound_at: r.get::<_, Option<i64>>(3)?.map(ts),
            unbind_reason: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("a%b_c"), "%a\\%b\\_c%");
    }
}

/// One asset of a bulk registration, with the tag it already carries.
#[derive(Debug, Clone)]
pub struct BulkAsset {
    pub asset: NewAsset,
    pub epc: Option<Vec<u8>>,
}

impl Store {
    /// Registers many assets in one transaction (seeding, imports): each
    /// gets its `registered` event; a given EPC is bound at once.
    pub fn register_bulk_blocking(&self, ctx: &Ctx, assets: Vec<BulkAsset>) -> AppResult<usize> {
        self.write_blocking(|tx| {
            let now = now_ms();
            for mut b in assets {
                let state = b.asset.validate()?;
                let id = insert_asset(tx, ctx, &b.asset, state, true)?;
                if let Some(epc) = &b.epc {
                    tx.prepare_cached(
                        "INSERT INTO tags (epc, asset_id, bound_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(rusqlite::params![epc, id, now])?;
                }
            }
            Ok(tx.query_row("SELECT count(*) FROM assets", (), |r| r.get::<_, i64>(0))? as usize)
        })
    }

    /// Number of assets and the highest numeric asset number (for seeding).
    pub fn asset_count_blocking(&self) -> AppResult<(i64, i64)> {
        self.read_blocking(|c| {
            let numeric = match c.dialect() {
                crate::store::dialect::Dialect::Sqlite => "CAST(asset_number AS INTEGER)",
                crate::store::dialect::Dialect::Postgres => {
                    "CASE WHEN asset_number ~ '^[0-9]{1,18}$' THEN CAST(asset_number AS BIGINT) END"
                }
            };
            Ok(c.query_row(
                &format!("SELECT count(*), COALESCE(max({numeric}), 0) FROM assets"),
                (),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
    }

    /// EPCs of up to `limit` tagged assets (benchmarks).
    pub fn sample_epcs_blocking(&self, limit: i64) -> AppResult<Vec<Vec<u8>>> {
        self.read_blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT epc FROM tags WHERE unbound_at IS NULL ORDER BY asset_id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
