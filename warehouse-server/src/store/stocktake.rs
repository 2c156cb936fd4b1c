//! Stock-takes and gate alarms.

use std::collections::HashMap;

use crate::store::db::{Db, OptionalExtension};
use serde_json::json;

use super::events::{append, NewEvent};
use super::manual::{record_entry, typed_asset, TypedAsset};
use super::register::require_exists;
use super::{paging, Store};
use crate::error::{AppError, AppResult, Reason};
use crate::gate::{Acknowledgement, Alarm};
use crate::input::{optional_text, required_text};
use crate::paging::Page;
use crate::policy::Ctx;
use crate::spreadsheet::Sheet;
use crate::stocktake::*;
use crate::time::{now_ms, ts};

/// An asset number typed in a stock-take (手工录入), for the page's list.
#[derive(Debug, Clone)]
pub struct ManualSighting {
    pub asset_number: String,
    pub name: String,
    /// The actor label of who typed it.
    pub entered_by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A sighting whose observation names a stock-take (a keeper's handheld
/// that joined it with `reader-daemon stocktake --session`) counts toward
/// it even if the reader is not assigned to it. Only an open stock-take
/// takes it; an unknown or closed one is ignored rather than failing the
/// batch, whose sightings stand on their own. `assigned` are the reader's
/// stock-takes, already counted by ingest.
pub(crate) fn scan_for_named(
    c: &Db<'_>,
    stocktake_id: i64,
    assigned: &[i64],
    epc: &[u8],
    first_seen_ms: i64,
) -> AppResult<()> {
    if assigned.contains(&stocktake_id) {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO stocktake_scans (stocktake_id, epc, first_seen)
         SELECT ?1, ?2, ?3 WHERE EXISTS
             (SELECT 1 FROM stocktakes WHERE id = ?1 AND status = 'open')
         ON CONFLICT DO NOTHING",
    )?
    .execute(rusqlite::params![stocktake_id, epc, first_seen_ms])?;
    Ok(())
}

fn load(c: &Db<'_>, id: i64) -> AppResult<(StockTake, Option<String>)> {
    let row = c
        .query_row(
            "SELECT id, warehouse_id, location_id, status, opened_by, opened_at, closed_by,
                    closed_at, report, unit_id, confirmed_by, confirmed_at, confirm_remark
             FROM stocktakes WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    StockTake {
                        id: r.get(0)?,
                        warehouse_id: r.get(1)?,
                        unit_id: r.get(9)?,
                        location_id: r.get(2)?,
                        status: r.get(3)?,
                        reader_ids: Vec::new(),
                        opened_by: r.get(4)?,
                        opened_at: ts(r.get(5)?),
                        closed_by: r.get(6)?,
                        closed_at: r.get::<_, Option<i64>>(7)?.map(ts),
                        confirmed_by: r.get(10)?,
                        confirmed_at: r.get::<_, Option<i64>>(11)?.map(ts),
                        confirm_remark: r.get(12)?,
                        awaiting_confirmation: false,
                    },
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    let (mut st, report) = row.ok_or_else(|| AppError::not_found("stock-take", id))?;
    st.awaiting_confirmation = st.awaits_confirmation();
    let mut stmt = c.prepare_cached(
        "SELECT reader_id FROM stocktake_readers WHERE stocktake_id = ?1 ORDER BY reader_id",
    )?;
    st.reader_ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((st, report))
}

/// The scope of what a unit holds: the unit in its region.
fn unit_scope(c: &Db<'_>, unit: i64) -> AppResult<crate::policy::Scope> {
    require_exists(c, "units", "unit_id", unit)?;
    let region: Option<i64> =
        c.query_row("SELECT region_id FROM units WHERE id = ?1", [unit], |r| {
            r.get(0)
        })?;
    Ok(crate::policy::Scope::Unit { unit, region })
}

/// See [`Store::stocktake_scope`].
fn stocktake_scope(c: &Db<'_>, id: i64) -> AppResult<crate::policy::Scope> {
    match load(c, id)?.0.unit_id {
        Some(unit) => unit_scope(c, unit),
        None => Ok(crate::policy::Scope::Warehouse),
    }
}

fn resolutions(c: &Db<'_>, id: i64) -> AppResult<HashMap<String, Resolution>> {
    let mut stmt = c.prepare_cached(
        "SELECT subject, action, comment, resolved_by, resolved_at
         FROM stocktake_resolutions WHERE stocktake_id = ?1",
    )?;
    let rows = stmt.query_map([id], |r| {
        let action: String = r.get(1)?;
        Ok((
            r.get::<_, String>(0)?,
            Resolution {
                action: ResolutionAction::parse(&action).unwrap_or(ResolutionAction::Ignore),
                comment: r.get(2)?,
                resolved_by: r.get(3)?,
                resolved_at: ts(r.get(4)?),
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Live comparison of an open stock-take (or the kept report of a closed
/// one): counts of every outcome, and the lines `q` asks for.
pub(crate) fn reconciliation(c: &Db<'_>, id: i64, q: LineQuery) -> AppResult<Reconciliation> {
    let (stocktake, report) = load(c, id)?;
    if let Some(report) = report {
        let mut rec: Reconciliation = serde_json::from_str(&report)
            .map_err(|e| AppError::internal(format!("stock-take {id} report unreadable: {e}")))?;
        // The unit's confirmation comes after the report was kept.
        rec.stocktake = stocktake;
        let lines: Vec<Line> = std::mem::take(&mut rec.lines)
            .into_iter()
            .filter(|l| q.outcome.is_none_or(|o| l.outcome == o))
            .collect();
        rec.lines_total = lines.len() as u64;
        rec.lines = match q.page {
            Some((page, per_page)) => lines
                .into_iter()
                .skip(page.saturating_sub(1).saturating_mul(per_page) as usize)
                .take(per_page as usize)
                .collect(),
            None => lines,
        };
        return Ok(rec);
    }
    let resolutions = resolutions(c, id)?;
    let (counts, mut lines) = match q.page {
        None => every_line(c, id, q.outcome, &resolutions)?,
        Some(_) => {
            let counts = counts(c, id, &resolutions)?;
            let mut lines = Vec::new();
            for (outcome, offset, limit) in windows(&counts, q) {
                group_lines(c, id, outcome, offset, limit, &mut lines)?;
            }
            (counts, lines)
        }
    };
    for line in &mut lines {
        line.resolution = resolutions.get(&subject(line)).cloned();
    }
    Ok(Reconciliation {
        stocktake,
        counts,
        lines_total: counts.lines(q.outcome),
        lines,
    })
}

/// Every outcome counted by the database: one pass over the scans (each
/// EPC looked up in the active-tag index and the expected snapshot).
fn counts(c: &Db<'_>, id: i64, resolutions: &HashMap<String, Resolution>) -> AppResult<Counts> {
    let expected: i64 = c
        .prepare_cached("SELECT count(*) FROM stocktake_expected WHERE stocktake_id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let (scanned, bound, found): (i64, i64, i64) = c
        .prepare_cached(
            "SELECT count(*), count(t.asset_id), count(e.asset_id)
             FROM stocktake_scans s
             LEFT JOIN tags t ON t.epc = s.epc AND t.unbound_at IS NULL
             LEFT JOIN stocktake_expected e ON e.stocktake_id = ?1 AND e.asset_id = t.asset_id
             WHERE s.stocktake_id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(Counts::tally(
        expected as u64,
        scanned as u64,
        bound as u64,
        found as u64,
        resolved(c, id, resolutions)?,
    ))
}

/// Every line (of one outcome, if asked), for closing and for clients
/// that take the whole list: one pass over the scans classifying each
/// (and counting), one over the snapshot for the missing, instead of the
/// four counting and listing passes a page takes.
fn every_line(
    c: &Db<'_>,
    id: i64,
    only: Option<Outcome>,
    resolutions: &HashMap<String, Resolution>,
) -> AppResult<(Counts, Vec<Line>)> {
    let expected: i64 = c
        .prepare_cached("SELECT count(*) FROM stocktake_expected WHERE stocktake_id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let wanted = |o: Outcome| only.is_none_or(|x| x == o);
    let (mut misplaced, mut foreign, mut found) = (Vec::new(), Vec::new(), Vec::new());
    let (mut scanned, mut bound) = (0, 0);
    let mut stmt = c.prepare_cached(
        "SELECT s.epc, a.id, a.asset_number, a.name, a.holder_location_id, a.holder_unit_id,
                e.asset_id IS NOT NULL, s.entered_by,
                a.id IS NOT NULL AND COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
                    (SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
                      WHERE l.id = a.holder_location_id))
                  IS DISTINCT FROM (SELECT COALESCE(w.region_id, u.region_id) FROM stocktakes st
                      LEFT JOIN warehouses w ON w.id = st.warehouse_id
                      LEFT JOIN units u ON u.id = st.unit_id WHERE st.id = ?1)
         FROM stocktake_scans s
         LEFT JOIN tags t ON t.epc = s.epc AND t.unbound_at IS NULL
         LEFT JOIN assets a ON a.id = t.asset_id
         LEFT JOIN stocktake_expected e ON e.stocktake_id = ?1 AND e.asset_id = t.asset_id
         WHERE s.stocktake_id = ?1
         ORDER BY s.epc",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        scanned += 1;
        let asset_id: Option<i64> = r.get(1)?;
        bound += u64::from(asset_id.is_some());
        let Some(outcome) = classify(asset_id.is_some(), r.get(6)?, true) else {
            continue;
        };
        let group = match outcome {
            Outcome::Found => &mut found,
            Outcome::Misplaced => &mut misplaced,
            _ => &mut foreign,
        };
        if !wanted(outcome) {
            group.push(None);
            continue;
        }
        group.push(Some(Line {
            outcome,
            epc: Some(shared::hex::Hex(&r.get::<_, Vec<u8>>(0)?).to_string()),
            asset_id,
            asset_number: r.get(2)?,
            name: r.get(3)?,
            recorded_location_id: r.get(4)?,
            recorded_unit_id: r.get(5)?,
            resolution: None,
            entered_by: r.get(7)?,
            other_region: r.get(8)?,
        }));
    }
    let counts = Counts::tally(
        expected as u64,
        scanned,
        bound,
        found.len() as u64,
        resolved(c, id, resolutions)?,
    );
    let mut lines = Vec::new();
    if wanted(Outcome::Missing) {
        group_lines(c, id, Outcome::Missing, 0, counts.missing, &mut lines)?;
    }
    lines.extend(misplaced.into_iter().chain(foreign).chain(found).flatten());
    Ok((counts, lines))
}

/// How many resolutions settle a current difference line. Resolutions are
/// a keeper's clicks (few): each is checked against the current lines
/// rather than joining on the subject text.
fn resolved(c: &Db<'_>, id: i64, resolutions: &HashMap<String, Resolution>) -> AppResult<u64> {
    let mut resolved = 0;
    for subject in resolutions.keys() {
        let outcome = if let Some(asset) = subject.strip_prefix("asset:") {
            match asset.parse() {
                Ok(asset_id) => asset_outcome(c, id, asset_id)?,
                Err(_) => None,
            }
        } else if let Some(epc) = subject.strip_prefix("epc:") {
            foreign_scan(c, id, epc)?.then_some(Outcome::Foreign)
        } else {
            None
        };
        if outcome.is_some_and(|o| o != Outcome::Found) {
            resolved += 1;
        }
    }
    Ok(resolved)
}

/// The line an asset has in a stock-take, if any.
fn asset_outcome(c: &Db<'_>, id: i64, asset_id: i64) -> AppResult<Option<Outcome>> {
    let (expected, scanned): (bool, bool) = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM stocktake_expected
                            WHERE stocktake_id = ?1 AND asset_id = ?2),
                    EXISTS (SELECT 1 FROM tags t
                            JOIN stocktake_scans s ON s.stocktake_id = ?1 AND s.epc = t.epc
                            WHERE t.asset_id = ?2 AND t.unbound_at IS NULL)",
        )?
        .query_row([id, asset_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(classify(true, expected, scanned))
}

/// Whether `epc_hex` was scanned in the stock-take and is no asset's tag.
fn foreign_scan(c: &Db<'_>, id: i64, epc_hex: &str) -> AppResult<bool> {
    let Ok(epc) = shared::hex::decode(epc_hex) else {
        return Ok(false);
    };
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM stocktake_scans s WHERE s.stocktake_id = ?1 AND s.epc = ?2
                        AND NOT EXISTS (SELECT 1 FROM tags t
                                        WHERE t.epc = s.epc AND t.unbound_at IS NULL))",
    )?
    .query_row(rusqlite::params![id, epc], |r| r.get(0))?)
}

/// Lines of one outcome, `limit` of them from `offset`: missing ones in
/// asset order, the scanned ones in EPC order.
fn group_lines(
    c: &Db<'_>,
    id: i64,
    outcome: Outcome,
    offset: u64,
    limit: u64,
    out: &mut Vec<Line>,
) -> AppResult<()> {
    const SCANNED_KNOWN: &str = "SELECT s.epc, a.id, a.asset_number, a.name, a.holder_location_id,
                a.holder_unit_id, s.entered_by,
                COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
                    (SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
                      WHERE l.id = a.holder_location_id))
                  IS DISTINCT FROM (SELECT COALESCE(w.region_id, u.region_id) FROM stocktakes st
                      LEFT JOIN warehouses w ON w.id = st.warehouse_id
                      LEFT JOIN units u ON u.id = st.unit_id WHERE st.id = ?1)
         FROM stocktake_scans s
         JOIN tags t ON t.epc = s.epc AND t.unbound_at IS NULL
         JOIN assets a ON a.id = t.asset_id
         WHERE s.stocktake_id = ?1 AND";
    const IN_SNAPSHOT: &str = "EXISTS (SELECT 1 FROM stocktake_expected e
                                WHERE e.stocktake_id = ?1 AND e.asset_id = t.asset_id)";
    let sql = match outcome {
        Outcome::Missing => "SELECT t.epc, a.id, a.asset_number, a.name, a.holder_location_id,
                    a.holder_unit_id, NULL, 1 = 0
             FROM stocktake_expected e
             JOIN assets a ON a.id = e.asset_id
             LEFT JOIN tags t ON t.asset_id = e.asset_id AND t.unbound_at IS NULL
             WHERE e.stocktake_id = ?1
               AND NOT EXISTS (SELECT 1 FROM stocktake_scans s
                               WHERE s.stocktake_id = ?1 AND s.epc = t.epc)
             ORDER BY e.asset_id LIMIT ?2 OFFSET ?3"
            .to_owned(),
        Outcome::Found => {
            format!("{SCANNED_KNOWN} {IN_SNAPSHOT} ORDER BY s.epc LIMIT ?2 OFFSET ?3")
        }
        Outcome::Misplaced => {
            format!("{SCANNED_KNOWN} NOT {IN_SNAPSHOT} ORDER BY s.epc LIMIT ?2 OFFSET ?3")
        }
        Outcome::Foreign => "SELECT s.epc, NULL, NULL, NULL, NULL, NULL, NULL, 1 = 0
             FROM stocktake_scans s
             WHERE s.stocktake_id = ?1
               AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.epc = s.epc AND t.unbound_at IS NULL)
             ORDER BY s.epc LIMIT ?2 OFFSET ?3"
            .to_owned(),
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params![id, limit, offset])?;
    while let Some(r) = rows.next()? {
        out.push(Line {
            outcome,
            epc: r
                .get::<_, Option<Vec<u8>>>(0)?
                .map(|e| shared::hex::Hex(&e).to_string()),
            asset_id: r.get(1)?,
            asset_number: r.get(2)?,
            name: r.get(3)?,
            recorded_location_id: r.get(4)?,
            recorded_unit_id: r.get(5)?,
            resolution: None,
            entered_by: r.get(6)?,
            other_region: r.get(7)?,
        });
    }
    Ok(())
}

/// The one line a resolution names, if the stock-take has it.
fn find_line(c: &Db<'_>, id: i64, r: &NewResolution) -> AppResult<Option<Line>> {
    let (outcome, asset_id, epc) = match (r.asset_id, r.epc.as_deref()) {
        (Some(asset_id), _) => match asset_outcome(c, id, asset_id)? {
            Some(o) => (o, Some(asset_id), None),
            None => return Ok(None),
        },
        (None, Some(epc)) => {
            let epc = epc.trim().to_ascii_uppercase();
            if !foreign_scan(c, id, &epc)? {
                return Ok(None);
            }
            (Outcome::Foreign, None, Some(epc))
        }
        (None, None) => return Ok(None),
    };
    let Some(asset_id) = asset_id else {
        return Ok(Some(Line {
            outcome,
            epc,
            asset_id: None,
            asset_number: None,
            name: None,
            recorded_location_id: None,
            recorded_unit_id: None,
            resolution: None,
            entered_by: None,
            other_region: false,
        }));
    };
    let line = c
        .prepare_cached(
            "SELECT t.epc, a.asset_number, a.name, a.holder_location_id, a.holder_unit_id,
                    COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
                    (SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
                      WHERE l.id = a.holder_location_id))
                  IS DISTINCT FROM (SELECT COALESCE(w.region_id, u.region_id) FROM stocktakes st
                      LEFT JOIN warehouses w ON w.id = st.warehouse_id
                      LEFT JOIN units u ON u.id = st.unit_id WHERE st.id = ?2)
             FROM assets a LEFT JOIN tags t ON t.asset_id = a.id AND t.unbound_at IS NULL
             WHERE a.id = ?1",
        )?
        .query_row([asset_id, id], |row| {
            Ok(Line {
                outcome,
                epc: row
                    .get::<_, Option<Vec<u8>>>(0)?
                    .map(|e| shared::hex::Hex(&e).to_string()),
                asset_id: Some(asset_id),
                asset_number: row.get(1)?,
                name: row.get(2)?,
                recorded_location_id: row.get(3)?,
                recorded_unit_id: row.get(4)?,
                resolution: None,
                entered_by: None,
                other_region: row.get(5)?,
            })
        })
        .optional()?;
    Ok(line)
}

/// Settles one difference line: the one place a resolution acts
/// (`relocate` moves the asset, `mark_missing` opens a loss case with the
/// holding unit as the party) and is recorded.
fn settle(
    tx: &Db<'_>,
    ctx: &Ctx,
    id: i64,
    line: &Line,
    action: ResolutionAction,
    comment: Option<String>,
) -> AppResult<()> {
    if let Some(asset_id) = line.asset_id {
        match action {
            ResolutionAction::Relocate => {
                let Some(to) = load(tx, id)?.0.location_id else {
                    return Err(Reason::RelocateNeedsLocation.into());
                };
                if line.recorded_unit_id.is_some() {
                    return Err(Reason::HeldByUnit {
                        asset: super::assets::asset_ref(tx, asset_id)?,
                    }
                    .into());
                }
                tx.execute(
                    "UPDATE assets SET holder_location_id = ?1, updated_at = ?2 WHERE id = ?3",
                    (to, now_ms(), asset_id),
                )?;
                append(
                    tx,
                    ctx,
                    NewEvent {
                        asset_id,
                        action: "relocated",
                        place: Some(format!("location:{to}")),
                        reason: comment.clone(),
                        details: json!({ "from_location_id": line.recorded_location_id, "to_location_id": to, "stocktake_id": id }),
                    },
                )?;
            }
            ResolutionAction::MarkMissing => {
                // Opens a loss case for the approver (damage and
                // loss workflow); the asset becomes `lost` when the
                // cause is decided.
                let what = if load(tx, id)?.0.unit_id.is_some() {
                    "巡检"
                } else {
                    "盘点"
                };
                super::workflow::open_case(
                    tx,
                    ctx,
                    line.recorded_unit_id,
                    asset_id,
                    true,
                    format!(
                        "{what} {id} 未盘到{}",
                        comment
                            .as_deref()
                            .map(|c| format!("：{c}"))
                            .unwrap_or_default()
                    ),
                )?;
            }
            ResolutionAction::Ignore => {}
        }
    }
    tx.execute(
        "INSERT INTO stocktake_resolutions (stocktake_id, subject, action, comment, resolved_by, resolved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (stocktake_id, subject) DO UPDATE SET action = excluded.action,
             comment = excluded.comment, resolved_by = excluded.resolved_by,
             resolved_at = excluded.resolved_at",
        (id, subject(line), action.as_str(), &comment, ctx.actor.label(), now_ms()),
    )?;
    Ok(())
}

const CSV_HEADER: [&str; 9] = [
    "outcome",
    "epc",
    "asset_number",
    "name",
    "recorded_location_id",
    "recorded_unit_id",
    "resolution",
    "comment",
    "resolved_by",
];

/// A stock-take's lines as Excel-compatible CSV ([`Sheet`]).
pub fn report_csv(r: &Reconciliation) -> AppResult<Vec<u8>> {
    let mut w = Sheet::new(CSV_HEADER)?;
    for l in &r.lines {
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        w.row([
            l.outcome.as_str().to_owned(),
            l.epc.clone().unwrap_or_default(),
            l.asset_number.clone().unwrap_or_default(),
            l.name.clone().unwrap_or_default(),
            opt(l.recorded_location_id),
            opt(l.recorded_unit_id),
            l.resolution
                .as_ref()
                .map(|x| x.action.as_str().to_owned())
                .unwrap_or_default(),
            l.resolution
                .as_ref()
                .and_then(|x| x.comment.clone())
                .unwrap_or_default(),
            l.resolution
                .as_ref()
                .map(|x| x.resolved_by.clone())
                .unwrap_or_default(),
        ])?;
    }
    w.finish()
}

impl Store {
    /// Opens a stock-take: of a warehouse (or one of its locations), or —
    /// an inspection at a unit's premises (巡检) — of what a unit holds.
    /// Either way the expected set is snapshotted here and everything
    /// after (scans, the live reconciliation, resolutions, the report) is
    /// the same machinery.
    pub async fn open_stocktake(&self, ctx: Ctx, n: NewStockTake) -> AppResult<StockTake> {
        self.write(move |tx| {
            let scope = match (n.warehouse_id, n.unit_id) {
                (Some(w), None) => {
                    require_exists(tx, "warehouses", "warehouse_id", w)?;
                    let region: Option<i64> =
                        tx.query_row("SELECT region_id FROM warehouses WHERE id = ?1", [w], |r| {
                            r.get(0)
                        })?;
                    // A keeper counts the warehouses of their own region.
                    crate::policy::Scope::Stock { region }
                }
                (None, Some(u)) => unit_scope(tx, u)?,
                _ => return Err(Reason::WarehouseOrUnit.into()),
            };
            crate::policy::authorize(&ctx.actor, crate::policy::Action::RunStockTake, scope)?;
            if let Some(l) = n.location_id {
                let wh: Option<i64> = tx
                    .query_row(
                        "SELECT warehouse_id FROM locations WHERE id = ?1",
                        [l],
                        |r| r.get(0),
                    )
                    .optional()?;
                // A unit's assets are recorded by unit, not by location.
                let Some(warehouse_id) = n.warehouse_id else {
                    return Err(Reason::BadField {
                        field: "location_id".into(),
                        detail: "an inspection counts what the unit holds, which the register \
                                 records by unit, not by location"
                            .into(),
                    }
                    .into());
                };
                if wh != Some(warehouse_id) {
                    return Err(Reason::LocationElsewhere {
                        location_id: l,
                        warehouse_id,
                    }
                    .into());
                }
            }
            if n.reader_ids.is_empty() {
                return Err(crate::error::Reason::Required {
                    field: "reader_ids".into(),
                }
                .into());
            }
            tx.execute(
                "INSERT INTO stocktakes (warehouse_id, unit_id, location_id, status, opened_by,
                                         opened_at)
                 VALUES (?1, ?2, ?3, 'open', ?4, ?5)",
                (
                    n.warehouse_id,
                    n.unit_id,
                    n.location_id,
                    ctx.actor.label(),
                    now_ms(),
                ),
            )?;
            let id = tx.last_insert_rowid()?;
            // Snapshot of what the register expects, so resolving lines
            // (relocations) does not move the goalposts.
            match (n.location_id, n.warehouse_id, n.unit_id) {
                (Some(l), _, _) => tx.execute(
                    "INSERT INTO stocktake_expected (stocktake_id, asset_id)
                     SELECT ?1, id FROM assets WHERE holder_location_id = ?2",
                    (id, l),
                )?,
                (None, Some(w), _) => tx.execute(
                    "INSERT INTO stocktake_expected (stocktake_id, asset_id)
                     SELECT ?1, a.id FROM assets a JOIN locations l ON l.id = a.holder_location_id
                     WHERE l.warehouse_id = ?2",
                    (id, w),
                )?,
                (None, None, Some(u)) => tx.execute(
                    "INSERT INTO stocktake_expected (stocktake_id, asset_id)
                     SELECT ?1, id FROM assets WHERE holder_unit_id = ?2",
                    (id, u),
                )?,
                (None, None, None) => 0,
            };
            for r in &n.reader_ids {
                require_exists(tx, "readers", "reader_ids", *r)?;
                tx.execute(
                    "INSERT INTO stocktake_readers (stocktake_id, reader_id) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                    (id, r),
                )?;
            }
            Ok(load(tx, id)?.0)
        })
        .await
    }

    /// Whose a stock-take is, for [`crate::policy::authorize`]: an
    /// inspection is its unit's (its staff see and confirm it; the keepers
    /// of its region run it); a warehouse stock-take is warehouse work.
    pub async fn stocktake_scope(&self, id: i64) -> AppResult<crate::policy::Scope> {
        self.read(move |c| stocktake_scope(c, id)).await
    }

    /// The unit's staff confirm a closed inspection's result (单位确认):
    /// who, when and their remark are kept with it.
    pub async fn confirm_inspection(
        &self,
        ctx: Ctx,
        id: i64,
        c: Confirmation,
    ) -> AppResult<StockTake> {
        let remark = optional_text("remark", c.remark.as_deref(), 1000)?;
        self.write(move |tx| {
            let st = load(tx, id)?.0;
            if st.unit_id.is_none() {
                return Err(Reason::NotAnInspection { id }.into());
            }
            crate::policy::authorize(
                &ctx.actor,
                crate::policy::Action::ConfirmInspection,
                stocktake_scope(tx, id)?,
            )?;
            if st.status == "open" {
                return Err(Reason::InspectionOpen { id }.into());
            }
            if let Some(by) = st.confirmed_by {
                return Err(Reason::InspectionConfirmed { id, by }.into());
            }
            tx.execute(
                "UPDATE stocktakes SET confirmed_by = ?1, confirmed_at = ?2, confirm_remark = ?3
                 WHERE id = ?4",
                (ctx.actor.label(), now_ms(), &remark, id),
            )?;
            Ok(load(tx, id)?.0)
        })
        .await
    }

    /// Stock-takes and inspections, latest first; `unit`: only that
    /// unit's inspections (what its staff see).
    pub async fn list_stocktakes(
        &self,
        unit: Option<i64>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<StockTake>> {
        self.search_stocktakes(None, unit, page, per_page).await
    }

    /// Stock-takes whose warehouse, location or unit name, or opener,
    /// holds `q`; `unit`: only that unit's inspections.
    pub async fn search_stocktakes(
        &self,
        q: Option<String>,
        unit: Option<i64>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<StockTake>> {
        let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        self.read(move |c| {
            let ids = paging::page(
                c,
                "s.id",
                "stocktakes s LEFT JOIN warehouses w ON w.id = s.warehouse_id
                 LEFT JOIN units u ON u.id = s.unit_id
                 LEFT JOIN locations l ON l.id = s.location_id
                 WHERE (?1 IS NULL OR instr(COALESCE(w.name, u.name), ?1) > 0
                        OR instr(COALESCE(l.name, ''), ?1) > 0
                        OR instr(s.opened_by, ?1) > 0)
                   AND (?2 IS NULL OR s.unit_id = ?2)",
                "s.id DESC",
                &[words.clone().into(), unit.into()],
                (page, per_page),
                |r| r.get::<_, i64>(0),
            )?;
            let items = ids
                .items
                .into_iter()
                .map(|id| load(c, id).map(|x| x.0))
                .collect::<AppResult<Vec<_>>>()?;
            Ok(Page {
                items,
                total: ids.total,
                total_exact: ids.total_exact,
                page,
                per_page,
            })
        })
        .await
    }

    /// The live view (or kept report): counts and the lines `q` asks for.
    pub async fn stocktake_reconciliation(
        &self,
        id: i64,
        q: LineQuery,
    ) -> AppResult<Reconciliation> {
        self.read(move |c| reconciliation(c, id, q)).await
    }

    /// Settles one line; `relocate` moves the asset (with an event).
    pub async fn resolve_stocktake_line(
        &self,
        ctx: Ctx,
        id: i64,
        r: NewResolution,
    ) -> AppResult<Reconciliation> {
        let comment = optional_text("comment", r.comment.as_deref(), 500)?;
        self.write(move |tx| {
            if load(tx, id)?.0.status != "open" {
                return Err(Reason::StocktakeClosed { id }.into());
            }
            let line = find_line(tx, id, &r)?.ok_or_else(|| {
                AppError::from(match (r.asset_id, &r.epc) {
                    (None, None) => Reason::EpcOrAssetId {
                        field: "asset_id".into(),
                    },
                    _ => Reason::NoSuchLine {
                        field: if r.asset_id.is_some() {
                            "asset_id"
                        } else {
                            "epc"
                        }
                        .into(),
                        stocktake_id: id,
                    },
                })
            })?;
            if line.outcome == Outcome::Found {
                // The page showed this line before the tag was read: it is
                // no longer a difference, whatever the keeper chose.
                return Err(Reason::LineNowFound {
                    stocktake_id: id,
                    asset_number: line.asset_number.clone().unwrap_or_default(),
                }
                .into());
            }
            if !applies_to(r.action, line.outcome) {
                return Err(Reason::ActionNotForLine {
                    action: r.action.as_str().into(),
                    outcome: line.outcome.as_str().into(),
                }
                .into());
            }
            settle(tx, &ctx, id, &line, r.action, comment.clone())?;
            reconciliation(tx, id, LineQuery::FIRST_PAGE)
        })
        .await
    }

    /// A keeper typed an asset number (手工录入) in an open stock-take: it
    /// counts as a scan of the asset's tag, marked with who typed it, and
    /// is chained as a `manual_entry` event. Returns the asset and the line
    /// it now has (found here, or misplaced).
    pub async fn stocktake_manual_entry(
        &self,
        ctx: Ctx,
        id: i64,
        typed: String,
    ) -> AppResult<(TypedAsset, Option<Outcome>)> {
        self.write(move |tx| {
            if load(tx, id)?.0.status != "open" {
                return Err(Reason::StocktakeClosed { id }.into());
            }
            let a = typed_asset(tx, "asset_number", &typed)?;
            // A tag already read stays a read: the first sighting counts.
            tx.prepare_cached(
                "INSERT INTO stocktake_scans (stocktake_id, epc, first_seen, entered_by)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )?
            .execute(rusqlite::params![id, a.epc, now_ms(), ctx.actor.label()])?;
            record_entry(tx, &ctx, &a, format!("stocktake:{id}"))?;
            let outcome = asset_outcome(tx, id, a.id)?;
            Ok((a, outcome))
        })
        .await
    }

    /// The typed entries of an open stock-take, latest first.
    pub async fn stocktake_manual_entries(&self, id: i64) -> AppResult<Vec<ManualSighting>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.asset_number, a.name, s.entered_by, s.first_seen
                 FROM stocktake_scans s
                 JOIN tags t ON t.epc = s.epc AND t.unbound_at IS NULL
                 JOIN assets a ON a.id = t.asset_id
                 WHERE s.stocktake_id = ?1 AND s.entered_by IS NOT NULL
                 ORDER BY s.first_seen DESC LIMIT 200",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(ManualSighting {
                    asset_number: r.get(0)?,
                    name: r.get(1)?,
                    entered_by: r.get(2)?,
                    at: ts(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Freezes the reconciliation as the kept report.
    /// Closing an inspection (巡检) settles every missing line nobody
    /// settled as missing, so each opens its loss case; the unit's
    /// confirmation is then awaited.
    pub async fn close_stocktake(&self, ctx: Ctx, id: i64) -> AppResult<Reconciliation> {
        self.write(move |tx| {
            let st = load(tx, id)?.0;
            if st.status != "open" {
                return Err(Reason::StocktakeClosed { id }.into());
            }
            if st.unit_id.is_some() {
                let settled = resolutions(tx, id)?;
                let mut missing = Vec::new();
                group_lines(tx, id, Outcome::Missing, 0, u64::MAX, &mut missing)?;
                for line in missing
                    .iter()
                    .filter(|l| !settled.contains_key(&subject(l)))
                {
                    settle(tx, &ctx, id, line, ResolutionAction::MarkMissing, None)?;
                }
            }
            let mut rec = reconciliation(tx, id, LineQuery::default())?;
            let now = now_ms();
            rec.stocktake.status = "closed".into();
            rec.stocktake.closed_by = Some(ctx.actor.label());
            rec.stocktake.closed_at = Some(ts(now));
            rec.stocktake.awaiting_confirmation = rec.stocktake.awaits_confirmation();
            let report = serde_json::to_string(&rec)
                .map_err(|e| AppError::internal(format!("serialising report: {e}")))?;
            tx.execute(
                "UPDATE stocktakes SET status = 'closed', closed_by = ?1, closed_at = ?2, report = ?3
                 WHERE id = ?4",
                (ctx.actor.label(), now, report, id),
            )?;
            tx.execute("DELETE FROM stocktake_scans WHERE stocktake_id = ?1", [id])?;
            tx.execute("DELETE FROM stocktake_expected WHERE stocktake_id = ?1", [id])?;
            Ok(rec)
        })
        .await
    }

    /// Alarms, of the gates of `regions` when given (a person's reach).
    pub async fn list_alarms(
        &self,
        status: Option<String>,
        regions: Option<Vec<i64>>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<Alarm>> {
        self.search_alarms(status, None, regions, page, per_page)
            .await
    }

    /// Alarms whose asset number, asset name or EPC (hex) holds `q`.
    pub async fn search_alarms(
        &self,
        status: Option<String>,
        q: Option<String>,
        regions: Option<Vec<i64>>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<Alarm>> {
        let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        self.read(move |c| {
            let status_filter = if status.is_some() {
                "WHERE g.status = ?1"
            } else {
                "WHERE ?1 IS NULL"
            };
            let hex = match c.dialect() {
                crate::store::dialect::Dialect::Sqlite => "hex(g.epc)",
                crate::store::dialect::Dialect::Postgres => "upper(encode(g.epc, 'hex'))",
            };
            // A gate is in the region of the warehouse its reader stands in.
            let in_reach = match &regions {
                None => String::new(),
                Some(ids) => format!(
                    " AND (SELECT w.region_id FROM readers rd JOIN locations l ON l.id = rd.location_id
                   JOIN warehouses w ON w.id = l.warehouse_id WHERE rd.id = g.reader_id) IN ({})",
                    crate::store::assets::id_list(ids)
                ),
            };
            let filter = format!(
                "{status_filter} AND (?2 IS NULL OR instr(a.asset_number, ?2) > 0
                    OR instr(a.name, ?2) > 0 OR instr({hex}, upper(?2)) > 0){in_reach}"
            );
            paging::page(
                c,
                "g.id, g.asset_id, a.asset_number, a.name, g.reader_id, g.epc, g.status,
                 g.raised_at, g.last_seen, g.sightings, g.acknowledged_by, g.acknowledged_at,
                 g.comment, (SELECT w.region_id FROM readers rd JOIN locations l ON l.id = rd.location_id
                   JOIN warehouses w ON w.id = l.warehouse_id WHERE rd.id = g.reader_id),
                 (SELECT w.region_id FROM readers rd JOIN locations l ON l.id = rd.location_id
                   JOIN warehouses w ON w.id = l.warehouse_id WHERE rd.id = g.reader_id) IS DISTINCT FROM
                 COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
                   (SELECT w2.region_id FROM locations l2 JOIN warehouses w2 ON w2.id = l2.warehouse_id
                     WHERE l2.id = a.holder_location_id))",
                &format!("gate_alarms g JOIN assets a ON a.id = g.asset_id {filter}"),
                "g.id DESC",
                &[status.into(), words.into()],
                (page, per_page),
                |r| {
                    let epc: Vec<u8> = r.get(5)?;
                    Ok(Alarm {
                        id: r.get(0)?,
                        asset_id: r.get(1)?,
                        asset_number: r.get(2)?,
                        asset_name: r.get(3)?,
                        reader_id: r.get(4)?,
                        epc: shared::hex::Hex(&epc).to_string(),
                        status: r.get(6)?,
                        raised_at: ts(r.get(7)?),
                        last_seen: ts(r.get(8)?),
                        sightings: r.get(9)?,
                        acknowledged_by: r.get(10)?,
                        acknowledged_at: r.get::<_, Option<i64>>(11)?.map(ts),
                        comment: r.get(12)?,
                        region_id: r.get(13)?,
                        other_region: r.get(14)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn acknowledge_alarm(
        &self,
        ctx: Ctx,
        id: i64,
        ack: Acknowledgement,
    ) -> AppResult<()> {
        let comment = required_text("comment", &ack.comment, 500)?;
        self.write(move |tx| {
            let row: Option<(i64, String, Option<i64>)> = tx
                .query_row(
                    "SELECT asset_id, status, (SELECT w.region_id FROM readers rd JOIN locations l ON l.id = rd.location_id
                   JOIN warehouses w ON w.id = l.warehouse_id WHERE rd.id = g.reader_id)
                     FROM gate_alarms g WHERE g.id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (asset_id, status, region) =
                row.ok_or_else(|| AppError::not_found("alarm", id))?;
            // The keepers of the gate's region handle its alarms.
            crate::policy::authorize(
                &ctx.actor,
                crate::policy::Action::HandleAlarm,
                crate::policy::Scope::Stock { region },
            )?;
            if status != "open" {
                return Err(Reason::AlarmAcknowledged { id }.into());
            }
            tx.execute(
                "UPDATE gate_alarms SET status = 'acknowledged', acknowledged_by = ?1,
                     acknowledged_at = ?2, comment = ?3 WHERE id = ?4",
                (ctx.actor.label(), now_ms(), &comment, id),
            )?;
            append(
                tx,
                &ctx,
                NewEvent {
                    asset_id,
                    action: "gate_alarm_acknowledged",
                    place: None,
                    reason: Some(comment),
                    details: json!({ "alarm_id": id }),
                },
            )?;
            Ok(())
        })
        .await
    }
}
