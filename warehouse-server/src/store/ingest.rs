//! Scan ingest: one batch from a daemon is one transaction — sightings,
//! last-seen updates, stock-take scans, gate alarms and the daemon's
//! high-water mark commit together, so a batch is applied exactly once.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;
use shared::sync::{decide, BatchDecision, ObservationBatch, MAX_OBSERVATIONS_PER_BATCH};

use super::events::{append, NewEvent};
use super::Store;
use crate::error::{AppError, AppResult};
use crate::gate::raises_alarm;
use crate::policy::{Actor, Ctx};
use crate::register::{now_ms, ReaderRole};

/// The acknowledgement plus what the batch did.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// Highest sequence of this daemon applied (now or before).
    pub applied_through: u64,
    /// False when the batch was a repeat and nothing changed.
    pub applied: bool,
    pub known: u64,
    pub foreign: u64,
    pub alarms_raised: u64,
}

/// Checks what serde cannot: 422 naming the offending observation.
pub fn validate_batch(batch: &ObservationBatch) -> AppResult<()> {
    let id = batch.daemon_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(AppError::invalid(
            "daemon_id",
            "daemon_id must be 1–100 characters",
        ));
    }
    if batch.sequence == 0 || batch.sequence > i64::MAX as u64 {
        return Err(AppError::invalid("sequence", "sequence starts at 1"));
    }
    if batch.observations.len() > MAX_OBSERVATIONS_PER_BATCH {
        return Err(AppError::invalid(
            "observations",
            format!(
                "{} observations in one batch; at most {MAX_OBSERVATIONS_PER_BATCH}",
                batch.observations.len()
            ),
        ));
    }
    for (i, o) in batch.observations.iter().enumerate() {
        if o.epc.is_empty() {
            return Err(AppError::invalid(
                &format!("observations[{i}].epc"),
                "epc must not be empty",
            ));
        }
        if o.last_seen < o.first_seen {
            return Err(AppError::invalid(
                &format!("observations[{i}].last_seen"),
                "last_seen is before first_seen",
            ));
        }
    }
    Ok(())
}

struct ReaderInfo {
    id: i64,
    name: String,
    role: ReaderRole,
    stocktakes: Vec<i64>,
}

fn load_readers(tx: &Transaction<'_>) -> AppResult<HashMap<String, ReaderInfo>> {
    let mut readers = HashMap::new();
    let mut stmt = tx.prepare_cached("SELECT id, name, role FROM readers")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(1)?;
        let role: String = r.get(2)?;
        readers.insert(
            name.clone(),
            ReaderInfo {
                id: r.get(0)?,
                name,
                role: ReaderRole::parse(&role).unwrap_or(ReaderRole::Desk),
                stocktakes: Vec::new(),
            },
        );
    }
    let mut stmt = tx.prepare_cached(
        "SELECT r.name, s.id FROM stocktake_readers sr
         JOIN stocktakes s ON s.id = sr.stocktake_id AND s.status = 'open'
         JOIN readers r ON r.id = sr.reader_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        if let Some(info) = readers.get_mut(&name) {
            info.stocktakes.push(r.get(1)?);
        }
    }
    Ok(readers)
}

pub fn apply_batch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    batch: &ObservationBatch,
) -> AppResult<IngestOutcome> {
    let mark: Option<i64> = tx
        .query_row(
            "SELECT applied_through FROM sync_daemons WHERE daemon_id = ?1",
            [&batch.daemon_id],
            |r| r.get(0),
        )
        .optional()?;
    let mut out = IngestOutcome {
        applied_through: batch.sequence,
        applied: true,
        known: 0,
        foreign: 0,
        alarms_raised: 0,
    };
    if let BatchDecision::AlreadyApplied { applied_through } =
        decide(mark.map(|m| m as u64), batch.sequence)
    {
        out.applied_through = applied_through;
        out.applied = false;
        return Ok(out);
    }
    let readers = load_readers(tx)?;
    let sender = match &ctx.actor {
        Actor::Reader { name, .. } => readers.get(name),
        _ => None,
    };
    // Only gate readers need the check-out flag; the others skip the
    // asset row (a random read per observation on a large register).
    let mut lookup_gate = tx.prepare_cached(
        "SELECT t.asset_id, a.checkout_approved FROM tags t JOIN assets a ON a.id = t.asset_id
         WHERE t.epc = ?1 AND t.unbound_at IS NULL",
    )?;
    let mut lookup =
        tx.prepare_cached("SELECT asset_id, 0 FROM tags WHERE epc = ?1 AND unbound_at IS NULL")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO sightings (epc, asset_id, reader_id, antenna, first_seen, last_seen, count,
             peak_rssi, kind, daemon_id, sequence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut seen = tx.prepare_cached(
        "UPDATE assets SET last_seen_at = ?1, last_seen_reader_id = ?2
         WHERE id = ?3 AND (last_seen_at IS NULL OR last_seen_at <= ?1)",
    )?;
    let mut scan = tx.prepare_cached(
        "INSERT OR IGNORE INTO stocktake_scans (stocktake_id, epc, first_seen) VALUES (?1, ?2, ?3)",
    )?;
    let sequence = batch.sequence as i64;
    let mut last_seen: HashMap<i64, (i64, i64)> = HashMap::new();
    for o in &batch.observations {
        let Some(reader) = readers.get(&o.reader).or(sender) else {
            return Err(AppError::invalid(
                "reader",
                format!("reader `{}` is not registered", o.reader),
            ));
        };
        let epc = o.epc.as_slice();
        let first = o.first_seen.timestamp_millis();
        let last = o.last_seen.timestamp_millis();
        let stmt = if reader.role == ReaderRole::Gate {
            &mut lookup_gate
        } else {
            &mut lookup
        };
        let known: Option<(i64, bool)> = stmt
            .query_row([epc], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        insert.execute(rusqlite::params![
            epc,
            known.map(|k| k.0),
            reader.id,
            o.antenna,
            first,
            last,
            o.count,
            o.peak_rssi,
            o.kind.as_str(),
            batch.daemon_id,
            sequence
        ])?;
        for st in &reader.stocktakes {
            scan.execute(rusqlite::params![st, epc, first])?;
        }
        if let Some(st) = o.stocktake_id {
            super::stocktake::scan_for_named(tx, st, &reader.stocktakes, epc, first)?;
        }
        let Some((asset_id, approved)) = known else {
            out.foreign += 1;
            continue;
        };
        out.known += 1;
        // One last-seen update per asset per batch: the latest sighting.
        let entry = last_seen.entry(asset_id).or_insert((last, reader.id));
        if last >= entry.0 {
            *entry = (last, reader.id);
        }
        if raises_alarm(reader.role, o.kind, approved)
            && raise_alarm(tx, ctx, asset_id, reader, epc, last)?
        {
            out.alarms_raised += 1;
        }
    }
    for (asset_id, (at, reader_id)) in last_seen {
        seen.execute(rusqlite::params![at, reader_id, asset_id])?;
    }
    tx.prepare_cached(
        "INSERT INTO sync_daemons (daemon_id, applied_through, reader_id, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (daemon_id) DO UPDATE SET applied_through = excluded.applied_through,
             reader_id = excluded.reader_id, updated_at = excluded.updated_at",
    )?
    .execute(rusqlite::params![
        batch.daemon_id,
        sequence,
        sender.map(|s| s.id),
        now_ms()
    ])?;
    Ok(out)
}

/// Opens an alarm (and logs it on the asset) or, if one is already open
/// for this asset at this gate, counts the sighting. True if opened.
fn raise_alarm(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    asset_id: i64,
    reader: &ReaderInfo,
    epc: &[u8],
    at: i64,
) -> AppResult<bool> {
    let bumped = tx
        .prepare_cached(
            "UPDATE gate_alarms SET sightings = sightings + 1, last_seen = max(last_seen, ?1)
             WHERE asset_id = ?2 AND reader_id = ?3 AND status = 'open'",
        )?
        .execute(rusqlite::params![at, asset_id, reader.id])?;
    if bumped > 0 {
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO gate_alarms (asset_id, reader_id, epc, status, raised_at, last_seen, sightings)
         VALUES (?1, ?2, ?3, 'open', ?4, ?4, 1)",
    )?
    .execute(rusqlite::params![asset_id, reader.id, epc, at])?;
    let alarm_id = tx.last_insert_rowid();
    append(
        tx,
        ctx,
        NewEvent {
            asset_id,
            action: "gate_alarm",
            place: Some(format!("reader:{}", reader.name)),
            reason: Some("seen at an exit gate without an approved check-out".into()),
            details: json!({ "alarm_id": alarm_id, "epc": shared::hex::Hex(epc).to_string() }),
        },
    )?;
    Ok(true)
}

impl Store {
    /// Applies a daemon's batch at most once.
    pub async fn ingest(&self, ctx: Ctx, batch: ObservationBatch) -> AppResult<IngestOutcome> {
        validate_batch(&batch)?;
        self.write(move |tx| apply_batch(tx, &ctx, &batch)).await
    }
}

impl Store {
    /// Benchmark baseline: the same rows as `sightings`, inserted raw (one
    /// prepared INSERT per row, one transaction per batch) into a plain
    /// table without lookups, so ingest can be reported as a ratio of it.
    pub fn raw_insert_baseline_blocking(&self, batch: &ObservationBatch) -> AppResult<()> {
        self.write_blocking(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS bench_raw_sightings (
                     id INTEGER PRIMARY KEY, epc BLOB NOT NULL, asset_id INTEGER,
                     reader_id INTEGER NOT NULL, antenna INTEGER NOT NULL,
                     first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                     count INTEGER NOT NULL, peak_rssi INTEGER, kind TEXT NOT NULL,
                     daemon_id TEXT NOT NULL, sequence INTEGER NOT NULL)",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO bench_raw_sightings (epc, asset_id, reader_id, antenna, first_seen,
                     last_seen, count, peak_rssi, kind, daemon_id, sequence)
                 VALUES (?1, NULL, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for o in &batch.observations {
                insert.execute(rusqlite::params![
                    o.epc.as_slice(),
                    o.antenna,
                    o.first_seen.timestamp_millis(),
                    o.last_seen.timestamp_millis(),
                    o.count,
                    o.peak_rssi,
                    o.kind.as_str(),
                    batch.daemon_id,
                    batch.sequence as i64
                ])?;
            }
            Ok(())
        })
    }

    /// Applies a batch from the calling (blocking) thread.
    pub fn ingest_blocking(&self, ctx: &Ctx, batch: &ObservationBatch) -> AppResult<IngestOutcome> {
        validate_batch(batch)?;
        self.write_blocking(|tx| apply_batch(tx, ctx, batch))
    }
}

/// An observation of an EPC bound to no asset.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForeignSighting {
    pub id: i64,
    /// Hex.
    pub epc: String,
    pub reader_id: i64,
    pub antenna: i64,
    pub first_seen: chrono::DateTime<chrono::Utc>,
    pub last_seen: chrono::DateTime<chrono::Utc>,
    pub count: i64,
    pub peak_rssi: Option<i64>,
    pub kind: String,
    pub daemon_id: String,
}

impl Store {
    /// Foreign sightings, newest first.
    pub async fn list_foreign_sightings(
        &self,
        page: i64,
        per_page: i64,
    ) -> AppResult<crate::register::Page<ForeignSighting>> {
        use crate::register::ts;
        self.read(move |c| {
            let total: i64 = c.query_row(
                "SELECT count(*) FROM sightings WHERE asset_id IS NULL",
                [],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT id, epc, reader_id, antenna, first_seen, last_seen, count, peak_rssi, kind,
                        daemon_id
                 FROM sightings WHERE asset_id IS NULL ORDER BY id DESC LIMIT ?1 OFFSET ?2",
            )?;
            let items = stmt
                .query_map([per_page, (page - 1) * per_page], |r| {
                    let epc: Vec<u8> = r.get(1)?;
                    Ok(ForeignSighting {
                        id: r.get(0)?,
                        epc: shared::hex::Hex(&epc).to_string(),
                        reader_id: r.get(2)?,
                        antenna: r.get(3)?,
                        first_seen: ts(r.get(4)?),
                        last_seen: ts(r.get(5)?),
                        count: r.get(6)?,
                        peak_rssi: r.get(7)?,
                        kind: r.get(8)?,
                        daemon_id: r.get(9)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(crate::register::Page {
                items,
                total,
                page,
                per_page,
            })
        })
        .await
    }
}
