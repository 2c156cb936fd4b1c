//! Batch ingest on PostgreSQL, with the rules of the SQLite one
//! (`store::ingest`): a batch applies once per (daemon, sequence) above
//! the daemon's high-water mark, sightings keep the bound asset (NULL:
//! foreign), each seen asset's last-seen moves to its latest sighting,
//! open stock-takes of the reader (or the one named) get a scan.
//!
//! Exactly once under concurrency: one upsert creates the daemon's
//! `sync_daemons` row if absent and otherwise "updates" it to itself,
//! which takes its row lock and returns the latest committed mark; the
//! second of two transactions applying the same batch waits on that lock
//! and then reads the first one's mark, so it acknowledges without
//! applying.
//!
//! The observations go in by binary COPY into a temporary staging table;
//! every other statement is portable SQL rendered by [`dialect`], except
//! the staging table's own DDL/TRUNCATE. Round trips are what a batch
//! costs here (the writers' lock is held across them): statements are
//! prepared once per connection (`cache`), and the ones that need no
//! answer before the next are sent together (tokio-postgres pipelines
//! requests issued at once on one connection).
//!
//! Not yet here: gate alarms. A batch with a sighting from a gate reader
//! is refused (nothing applied) rather than applied without its alarms.

use std::cell::RefCell;
use std::collections::HashMap;

use futures_util::future::{try_join3, try_join4};
use futures_util::pin_mut;
use shared::sync::{decide, BatchDecision, ObservationBatch};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, Transaction};

use super::migrate::pg_error;
use crate::error::{AppError, AppResult, Reason};
use crate::store::dialect::{render, Dialect};
use crate::store::ingest::{IngestOutcome, RECENT_LAST_SEEN_ROWS};

/// `sql` (portable) rendered for PostgreSQL.
fn pg(sql: &str) -> AppResult<String> {
    render(sql, Dialect::Postgres)
        .map(|s| s.into_owned())
        .map_err(|e| AppError::internal(e.to_string()))
}

const STAGE: &str = "CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage (
        ord BIGINT NOT NULL, epc BYTEA NOT NULL, reader_id BIGINT NOT NULL,
        antenna BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        count BIGINT NOT NULL, peak_rssi BIGINT, kind TEXT NOT NULL, stocktake_id BIGINT
    ) ON COMMIT DELETE ROWS";

const STAGE_COPY: &str = "COPY ingest_stage (ord, epc, reader_id, antenna, first_seen, \
    last_seen, count, peak_rssi, kind, stocktake_id) FROM STDIN (FORMAT binary)";

const STAGE_TYPES: [Type; 10] = [
    Type::INT8,
    Type::BYTEA,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
];

/// The daemon's mark, locked: created if absent (0: nothing applied;
/// sequences start at 1), else set to itself, which locks the row and
/// answers the latest committed mark (READ COMMITTED's `ON CONFLICT`).
const MARK_TAKE: &str = "INSERT INTO sync_daemons (daemon_id, applied_through, updated_at)
    VALUES (?1, 0, ?2) ON CONFLICT (daemon_id) DO UPDATE SET daemon_id = excluded.daemon_id
    RETURNING applied_through";

const MARK_SET: &str =
    "UPDATE sync_daemons SET applied_through = ?2, updated_at = ?3 WHERE daemon_id = ?1";

/// The batch's sightings and its last-seen moves, in one statement that
/// looks each staged EPC's bound asset up once (NULL: foreign), and
/// answers how many were bound. Last seen: one per asset per batch, its
/// latest sighting, the later observation on a tie, kept only if not
/// older than what is there. PostgreSQL's own (a data-modifying `WITH`);
/// SQLite's path does the same row by row.
const SIGHTINGS_AND_LAST_SEEN: &str = "WITH staged AS MATERIALIZED (
        SELECT s.ord, s.epc, t.asset_id, s.reader_id, s.antenna, s.first_seen, s.last_seen,
            s.count, s.peak_rssi, s.kind
        FROM ingest_stage s LEFT JOIN tags t ON t.epc = s.epc AND t.unbound_at IS NULL
    ), sighted AS (
        INSERT INTO sightings (epc, asset_id, reader_id, antenna, first_seen, last_seen, count,
            peak_rssi, kind, daemon_id, sequence)
        SELECT epc, asset_id, reader_id, antenna, first_seen, last_seen, count, peak_rssi, kind,
            $1, $2
        FROM staged ORDER BY ord
    ), latest AS (
        INSERT INTO asset_last_seen_recent (asset_id, seen_at, reader_id)
        SELECT asset_id, last_seen, reader_id FROM (
            SELECT asset_id, last_seen, reader_id, ROW_NUMBER() OVER
                (PARTITION BY asset_id ORDER BY last_seen DESC, ord DESC) AS n
            FROM staged WHERE asset_id IS NOT NULL
        ) l WHERE n = 1
        ORDER BY asset_id
        ON CONFLICT (asset_id) DO UPDATE SET seen_at = excluded.seen_at,
            reader_id = excluded.reader_id
        WHERE excluded.seen_at >= asset_last_seen_recent.seen_at
    )
    SELECT COUNT(asset_id) FROM staged";

/// Scans for the open stock-takes the reader is assigned to and for the
/// open one an observation names; a new (stock-take, EPC) takes the first
/// observation's first-seen (as SQLite's `INSERT OR IGNORE` in order), an
/// existing scan is kept.
const SCANS: &str = "INSERT INTO stocktake_scans (stocktake_id, epc, first_seen)
    SELECT st, epc, first_seen FROM (
        SELECT x.st, x.epc, x.first_seen,
            ROW_NUMBER() OVER (PARTITION BY x.st, x.epc ORDER BY x.ord) AS n
        FROM (
            SELECT sr.stocktake_id AS st, s.epc, s.first_seen, s.ord FROM ingest_stage s
            JOIN stocktake_readers sr ON sr.reader_id = s.reader_id
            JOIN stocktakes k ON k.id = sr.stocktake_id AND k.status = 'open'
            UNION ALL
            SELECT s.stocktake_id AS st, s.epc, s.first_seen, s.ord FROM ingest_stage s
            JOIN stocktakes k ON k.id = s.stocktake_id AND k.status = 'open'
        ) x
    ) firsts WHERE n = 1
    ON CONFLICT (stocktake_id, epc) DO NOTHING";

/// The readers a batch names, by an array of names (PostgreSQL's own).
const READERS: &str = "SELECT id, name, role FROM readers WHERE name = ANY($1)";

const RECENT_COUNT: &str = "SELECT COUNT(*) FROM asset_last_seen_recent";

const FOLD: &str = "INSERT INTO asset_last_seen (asset_id, seen_at, reader_id)
    SELECT asset_id, seen_at, reader_id FROM asset_last_seen_recent WHERE true
    ORDER BY asset_id
    ON CONFLICT (asset_id) DO UPDATE SET seen_at = excluded.seen_at,
        reader_id = excluded.reader_id
    WHERE excluded.seen_at >= asset_last_seen.seen_at";

const FOLD_CLEAR: &str = "DELETE FROM asset_last_seen_recent";

/// Validates (as `store::ingest::validate_batch` does for the sender's
/// rights and the fields) and applies `batch` in one transaction.
pub async fn ingest(
    client: &mut Client,
    actor: &crate::policy::Actor,
    batch: &ObservationBatch,
) -> AppResult<IngestOutcome> {
    crate::store::ingest::validate_batch(actor, batch)?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_error("beginning ingest", e))?;
    let out = apply_batch(&tx, &StatementCache::default(), batch).await?;
    fold_last_seen(&tx, RECENT_LAST_SEEN_ROWS).await?;
    tx.commit()
        .await
        .map_err(|e| pg_error("committing ingest", e))?;
    Ok(out)
}

/// A connection's prepared statements, by their text as written.
pub type StatementCache = RefCell<HashMap<String, Statement>>;

/// An ingest statement's text: portable SQL rendered for PostgreSQL, or
/// PostgreSQL's own.
#[derive(Clone, Copy)]
enum Sql {
    Portable(&'static str),
    Postgres(&'static str),
}

/// `sql` prepared once per connection (cached under its text as written).
async fn prepared(tx: &Transaction<'_>, cache: &StatementCache, sql: Sql) -> AppResult<Statement> {
    let (Sql::Portable(key) | Sql::Postgres(key)) = sql;
    if let Some(s) = cache.borrow().get(key) {
        return Ok(s.clone());
    }
    let text = match sql {
        Sql::Portable(portable) => pg(portable)?,
        Sql::Postgres(own) => own.to_owned(),
    };
    let stmt = tx
        .prepare(&text)
        .await
        .map_err(|e| pg_error("preparing an ingest statement", e))?;
    cache.borrow_mut().insert(key.to_owned(), stmt.clone());
    Ok(stmt)
}

/// Applies `batch` inside `tx` at most once (see the module comment).
/// The batch is assumed validated. The caller folds the recent last-seen
/// rows once per transaction ([`fold_last_seen`]).
pub async fn apply_batch(
    tx: &Transaction<'_>,
    cache: &StatementCache,
    batch: &ObservationBatch,
) -> AppResult<IngestOutcome> {
    let now = crate::time::now_ms();
    let take = prepared(tx, cache, Sql::Portable(MARK_TAKE)).await?;
    // Only the readers the batch names (a fleet has a thousand).
    let readers = prepared(tx, cache, Sql::Postgres(READERS)).await?;
    let mut names: Vec<&str> = batch
        .observations
        .iter()
        .map(|o| o.reader.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    // The mark, the readers and the staging table in one round trip.
    let (mark, readers, ()) = try_join3(
        tx.query_one(&take, &[&batch.daemon_id, &now]),
        tx.query(&readers, &[&names]),
        tx.batch_execute(STAGE),
    )
    .await
    .map_err(|e| pg_error("taking the daemon's mark", e))?;
    let mark: i64 = mark.get(0);
    // 0 is "nothing applied yet": the row was just made for the lock.
    let mark = (mark > 0).then_some(mark as u64);
    let mut out = IngestOutcome {
        applied_through: batch.sequence,
        applied: true,
        known: 0,
        foreign: 0,
        alarms_raised: 0,
    };
    if let BatchDecision::AlreadyApplied { applied_through } = decide(mark, batch.sequence) {
        out.applied_through = applied_through;
        out.applied = false;
        return Ok(out);
    }

    let readers: HashMap<String, (i64, String)> = readers
        .iter()
        .map(|r| (r.get::<_, String>(1), (r.get(0), r.get(2))))
        .collect();
    let mut reader_ids = Vec::with_capacity(batch.observations.len());
    for o in &batch.observations {
        let Some((id, role)) = readers.get(&o.reader) else {
            return Err(Reason::UnknownReader {
                name: o.reader.clone(),
            }
            .into());
        };
        if role == "gate" {
            return Err(AppError::internal(format!(
                "reader `{}` is a gate: gate alarms are not yet implemented on the \
                 PostgreSQL store (issue 14); nothing of this batch was applied",
                o.reader
            )));
        }
        reader_ids.push(*id);
    }

    let sink = tx
        .copy_in(STAGE_COPY)
        .await
        .map_err(|e| pg_error("starting the COPY of sightings", e))?;
    let writer = BinaryCopyInWriter::new(sink, &STAGE_TYPES);
    pin_mut!(writer);
    for (i, (o, reader_id)) in batch.observations.iter().zip(&reader_ids).enumerate() {
        let ord = i as i64;
        let epc = o.epc.as_slice();
        let antenna = i64::from(o.antenna);
        let first = o.first_seen.timestamp_millis();
        let last = o.last_seen.timestamp_millis();
        let count = i64::from(o.count);
        let rssi = o.peak_rssi.map(i64::from);
        let kind = o.kind.as_str();
        let row: [&(dyn ToSql + Sync); 10] = [
            &ord,
            &epc,
            reader_id,
            &antenna,
            &first,
            &last,
            &count,
            &rssi,
            &kind,
            &o.stocktake_id,
        ];
        writer
            .as_mut()
            .write(&row)
            .await
            .map_err(|e| pg_error("copying sightings", e))?;
    }
    writer
        .finish()
        .await
        .map_err(|e| pg_error("finishing the COPY of sightings", e))?;

    let sequence = batch.sequence as i64;
    let (stored, scans, mark_set) = (
        prepared(tx, cache, Sql::Postgres(SIGHTINGS_AND_LAST_SEEN)).await?,
        prepared(tx, cache, Sql::Portable(SCANS)).await?,
        prepared(tx, cache, Sql::Portable(MARK_SET)).await?,
    );
    // Nothing here needs an answer before the next: one round trip. The
    // staging rows go at commit (ON COMMIT DELETE ROWS), but a later batch
    // in the same transaction must not see these: TRUNCATE, last.
    let (known, _, _, ()) = try_join4(
        tx.query_one(&stored, &[&batch.daemon_id, &sequence]),
        tx.execute(&scans, &[]),
        tx.execute(&mark_set, &[&batch.daemon_id, &sequence, &now]),
        tx.batch_execute("TRUNCATE ingest_stage"),
    )
    .await
    .map_err(|e| pg_error("storing sightings, scans, last seen and the mark", e))?;
    let known: i64 = known.get(0);
    out.known = known as u64;
    out.foreign = (batch.observations.len() as u64).saturating_sub(out.known);
    Ok(out)
}

/// As `store::ingest::fold_last_seen`: moves the recent last-seen rows
/// into `asset_last_seen` once there are at least `threshold`.
pub async fn fold_last_seen(tx: &Transaction<'_>, threshold: i64) -> AppResult<()> {
    let recent: i64 = tx
        .query_one(&pg(RECENT_COUNT)?, &[])
        .await
        .map_err(|e| pg_error("counting recent last seen", e))?
        .get(0);
    if recent < threshold.max(1) {
        return Ok(());
    }
    tx.execute(&pg(FOLD)?, &[])
        .await
        .map_err(|e| pg_error("folding last seen", e))?;
    tx.execute(&pg(FOLD_CLEAR)?, &[])
        .await
        .map_err(|e| pg_error("clearing recent last seen", e))?;
    Ok(())
}

/// Benchmark baseline: the same rows COPYed raw (binary) into a plain
/// table, no look-ups, one transaction per batch.
pub async fn raw_copy_baseline(client: &mut Client, batch: &ObservationBatch) -> AppResult<()> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_error("beginning the baseline", e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS bench_raw_sightings (
             id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, epc BYTEA NOT NULL,
             asset_id BIGINT, reader_id BIGINT NOT NULL, antenna BIGINT NOT NULL,
             first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, count BIGINT NOT NULL,
             peak_rssi BIGINT, kind TEXT NOT NULL, daemon_id TEXT NOT NULL,
             sequence BIGINT NOT NULL)",
    )
    .await
    .map_err(|e| pg_error("creating the baseline table", e))?;
    let sink = tx
        .copy_in(
            "COPY bench_raw_sightings (epc, reader_id, antenna, first_seen, last_seen, count, \
             peak_rssi, kind, daemon_id, sequence) FROM STDIN (FORMAT binary)",
        )
        .await
        .map_err(|e| pg_error("starting the baseline COPY", e))?;
    let types = [
        Type::BYTEA,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    let sequence = batch.sequence as i64;
    for o in &batch.observations {
        let epc = o.epc.as_slice();
        let one = 1i64;
        let antenna = i64::from(o.antenna);
        let first = o.first_seen.timestamp_millis();
        let last = o.last_seen.timestamp_millis();
        let count = i64::from(o.count);
        let rssi = o.peak_rssi.map(i64::from);
        let kind = o.kind.as_str();
        let row: [&(dyn ToSql + Sync); 10] = [
            &epc,
            &one,
            &antenna,
            &first,
            &last,
            &count,
            &rssi,
            &kind,
            &batch.daemon_id,
            &sequence,
        ];
        writer
            .as_mut()
            .write(&row)
            .await
            .map_err(|e| pg_error("baseline COPY", e))?;
    }
    writer
        .finish()
        .await
        .map_err(|e| pg_error("finishing the baseline COPY", e))?;
    tx.commit()
        .await
        .map_err(|e| pg_error("committing the baseline", e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
