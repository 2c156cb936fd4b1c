//! Scan ingest: one batch from a daemon is one transaction — sightings,
//! last-seen updates, stock-take scans, gate alarms and the daemon's
//! high-water mark commit together, so a batch is applied exactly once.

use std::collections::HashMap;

use crate::store::db::{Db, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use shared::sync::{
    decide, BatchDecision, Observation, ObservationBatch, MAX_OBSERVATIONS_PER_BATCH,
};

use super::assets::EMERGENCY_PASS;
use super::events::{append, NewEvent};
use super::Store;
use crate::daemons::may_send;
use crate::error::{AppError, AppResult, Reason};
use crate::gate::{raises_alarm, Clearance};
use crate::lifecycle::may_pass_gate;
use crate::policy::{Actor, Ctx};
use crate::register::{AssetState, ReaderRole};
use crate::time::now_ms;

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

/// Checks what serde cannot: first that the sender may speak for this
/// daemon id and these readers (403, `daemons::may_send`), then 422 naming
/// the offending field.
pub fn validate_batch(actor: &Actor, batch: &ObservationBatch) -> AppResult<()> {
    may_send(actor, batch)?;
    let id = batch.daemon_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(Reason::Length {
            field: "daemon_id".into(),
            min: 1,
            max: 100,
        }
        .into());
    }
    if batch.sequence == 0 || batch.sequence > i64::MAX as u64 {
        return Err(Reason::OutOfRange {
            field: "sequence".into(),
            min: 1,
            max: i64::MAX,
        }
        .into());
    }
    if batch.observations.len() > MAX_OBSERVATIONS_PER_BATCH {
        return Err(Reason::TooMany {
            field: "observations".into(),
            max: MAX_OBSERVATIONS_PER_BATCH,
            given: Some(batch.observations.len()),
        }
        .into());
    }
    for (i, o) in batch.observations.iter().enumerate() {
        if o.epc.is_empty() {
            return Err(Reason::Empty {
                field: format!("observations[{i}].epc"),
            }
            .into());
        }
        if o.last_seen < o.first_seen {
            return Err(Reason::SeenBackwards {
                field: format!("observations[{i}].last_seen"),
            }
            .into());
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

/// The readers `batch` names (each looked up once, by name) with the
/// open stock-takes each is assigned to; a name not registered is absent.
/// Only these: a fleet registers a thousand readers and a batch names a
/// few, and reading every reader for every batch was a measurable share
/// of ingest.
fn load_readers(tx: &Db<'_>, batch: &ObservationBatch) -> AppResult<HashMap<String, ReaderInfo>> {
    let mut readers: HashMap<String, ReaderInfo> = HashMap::new();
    let mut by_name = tx.prepare_cached("SELECT id, role FROM readers WHERE name = ?1")?;
    let mut open = tx.prepare_cached(
        "SELECT s.id FROM stocktake_readers sr
         JOIN stocktakes s ON s.id = sr.stocktake_id AND s.status = 'open'
         WHERE sr.reader_id = ?1",
    )?;
    for o in &batch.observations {
        if readers.contains_key(&o.reader) {
            continue;
        }
        let Some((id, role)) = by_name
            .query_row([&o.reader], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        else {
            continue;
        };
        let stocktakes = open
            .query_map([id], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        readers.insert(
            o.reader.clone(),
            ReaderInfo {
                id,
                name: o.reader.clone(),
                role: ReaderRole::parse(&role).unwrap_or(ReaderRole::Desk),
                stocktakes,
            },
        );
    }
    Ok(readers)
}

pub fn apply_batch(tx: &Db<'_>, ctx: &Ctx, batch: &ObservationBatch) -> AppResult<IngestOutcome> {
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
    let readers = load_readers(tx, batch)?;
    let from = batch
        .observations
        .iter()
        .map(|o| {
            readers.get(&o.reader).ok_or_else(|| {
                AppError::from(Reason::UnknownReader {
                    name: o.reader.clone(),
                })
            })
        })
        .collect::<AppResult<Vec<&ReaderInfo>>>()?;
    let assets = bound_assets(tx, &batch.observations)?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO sightings (epc, asset_id, reader_id, antenna, first_seen, last_seen, count,
             peak_rssi, kind, daemon_id, sequence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut scan = tx.prepare_cached(
        "INSERT INTO stocktake_scans (stocktake_id, epc, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    let mut state = tx.prepare_cached("SELECT state FROM assets WHERE id = ?1")?;
    let mut pass = tx.prepare_cached(
        "SELECT details FROM asset_events
         WHERE asset_id = ?1 AND action = ?2 ORDER BY seq DESC LIMIT 1",
    )?;
    let sequence = batch.sequence as i64;
    // (asset, last seen, observation index, reader) of every known sighting.
    let mut seen: Vec<(i64, i64, usize, i64)> = Vec::with_capacity(batch.observations.len());
    for (i, ((o, reader), asset)) in batch
        .observations
        .iter()
        .zip(&from)
        .zip(&assets)
        .enumerate()
    {
        let epc = o.epc.as_slice();
        let first = o.first_seen.timestamp_millis();
        let last = o.last_seen.timestamp_millis();
        insert.execute(rusqlite::params![
            epc,
            asset,
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
        let Some(asset_id) = *asset else {
            out.foreign += 1;
            continue;
        };
        out.known += 1;
        seen.push((asset_id, last, i, reader.id));
        // Only gate readers need the asset's state and pass; the others
        // skip the wide asset row.
        if reader.role == ReaderRole::Gate {
            let state: String = state.query_row([asset_id], |r| r.get(0))?;
            let state_may_pass = AssetState::parse(&state).is_some_and(may_pass_gate);
            let pass_expires_at = if state_may_pass {
                None
            } else {
                pass.query_row((asset_id, EMERGENCY_PASS), |r| r.get::<_, String>(0))
                    .optional()?
                    .and_then(|d| pass_expiry(&d))
            };
            let clear = Clearance {
                state_may_pass,
                pass_expires_at,
            };
            if raises_alarm(reader.role, o.kind, clear, last)
                && raise_alarm(tx, ctx, asset_id, reader, epc, last)?
            {
                out.alarms_raised += 1;
            }
        }
    }
    // One last-seen update per asset per batch, the latest sighting (the
    // later observation on a tie), in key order so the B-tree is walked once.
    seen.sort_unstable();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO asset_last_seen_recent (asset_id, seen_at, reader_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (asset_id) DO UPDATE SET seen_at = excluded.seen_at,
             reader_id = excluded.reader_id
         WHERE excluded.seen_at >= asset_last_seen_recent.seen_at",
    )?;
    for (k, &(asset_id, at, _, reader_id)) in seen.iter().enumerate() {
        if seen.get(k + 1).is_some_and(|next| next.0 == asset_id) {
            continue;
        }
        upsert.execute(rusqlite::params![asset_id, at, reader_id])?;
    }
    tx.prepare_cached(
        "INSERT INTO sync_daemons (daemon_id, applied_through, updated_at)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (daemon_id) DO UPDATE SET applied_through = excluded.applied_through,
             updated_at = excluded.updated_at",
    )?
    .execute(rusqlite::params![batch.daemon_id, sequence, now_ms()])?;
    Ok(out)
}

/// Assets in `asset_last_seen_recent` at which ingest folds it into
/// `asset_last_seen`. Upserts into the small table dirty few pages; one
/// fold rewrites the large table once for ~10 batches instead of every
/// batch. The folding batch takes longer (~100,000 upserts in key order).
pub const RECENT_LAST_SEEN_ROWS: i64 = 100_000;

/// Moves recent last-seen rows into `asset_last_seen` (keeping the later
/// of the two) once there are at least `threshold` of them.
pub(crate) fn fold_last_seen(tx: &Db<'_>, threshold: i64) -> AppResult<()> {
    let recent: i64 = tx
        .prepare_cached("SELECT count(*) FROM asset_last_seen_recent")?
        .query_row((), |r| r.get(0))?;
    if recent < threshold.max(1) {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO asset_last_seen (asset_id, seen_at, reader_id)
         SELECT asset_id, seen_at, reader_id FROM asset_last_seen_recent WHERE true
         ORDER BY asset_id
         ON CONFLICT (asset_id) DO UPDATE SET seen_at = excluded.seen_at,
             reader_id = excluded.reader_id
         WHERE excluded.seen_at >= asset_last_seen.seen_at",
    )?
    .execute(())?;
    tx.prepare_cached("DELETE FROM asset_last_seen_recent")?
        .execute(())?;
    Ok(())
}

/// The asset each observation's EPC is bound to (None: foreign). Each
/// distinct EPC is looked up once, in key order, so consecutive look-ups
/// walk neighbouring index pages instead of seeking at random.
fn bound_assets(tx: &Db<'_>, obs: &[Observation]) -> AppResult<Vec<Option<i64>>> {
    let mut order: Vec<usize> = (0..obs.len()).collect();
    order.sort_unstable_by(|&a, &b| obs[a].epc.as_slice().cmp(obs[b].epc.as_slice()));
    // The covering index; left alone, SQLite picks the unique one and then
    // seeks into `tags` for asset_id.
    // (The index hint is SQLite's only; PostgreSQL plans it by itself.)
    let mut lookup = match tx.dialect() {
        crate::store::dialect::Dialect::Sqlite => tx.prepare_cached_sqlite_only(
            "SELECT asset_id FROM tags INDEXED BY tags_active_epc_asset
             WHERE epc = ?1 AND unbound_at IS NULL",
        )?,
        crate::store::dialect::Dialect::Postgres => {
            tx.prepare_cached("SELECT asset_id FROM tags WHERE epc = ?1 AND unbound_at IS NULL")?
        }
    };
    let mut assets = vec![None; obs.len()];
    let mut previous: Option<(&[u8], Option<i64>)> = None;
    for i in order {
        let epc = obs[i].epc.as_slice();
        let asset = match previous {
            Some((p, asset)) if p == epc => asset,
            _ => lookup.query_row([epc], |r| r.get(0)).optional()?,
        };
        assets[i] = asset;
        previous = Some((epc, asset));
    }
    Ok(assets)
}

/// Opens an alarm (and logs it on the asset) or, if one is already open
/// for this asset at this gate, counts the sighting. True if opened.
fn raise_alarm(
    tx: &Db<'_>,
    ctx: &Ctx,
    asset_id: i64,
    reader: &ReaderInfo,
    epc: &[u8],
    at: i64,
) -> AppResult<bool> {
    let bumped = tx
        .prepare_cached(
            "UPDATE gate_alarms SET sightings = sightings + 1, last_seen = GREATEST(last_seen, ?1)
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
    let alarm_id = tx.last_insert_rowid()?;
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

/// Applies `batch` by the backend's fastest path (the caller folds the
/// recent last-seen rows once per transaction, [`fold_last_seen`]): on
/// PostgreSQL a batch without gate sightings goes through binary COPY
/// (`pg::apply_batch_pg`, under the writers' lock this transaction
/// holds); gate sightings, which may raise alarms, and SQLite take
/// [`apply_batch`].
fn apply(tx: &Db<'_>, ctx: &Ctx, batch: &ObservationBatch) -> AppResult<IngestOutcome> {
    if let Some(pg) = tx.postgres() {
        let gates = tx
            .prepare_cached("SELECT name FROM readers WHERE role = 'gate'")?
            .query_map((), |r| r.get::<_, String>(0))?
            .collect::<Result<std::collections::HashSet<_>, _>>()?;
        if !batch.observations.iter().any(|o| gates.contains(&o.reader)) {
            return pg
                .rt
                .block_on(crate::store::pg::apply_batch_pg(pg.tx, pg.cache, batch));
        }
    }
    apply_batch(tx, ctx, batch)
}

/// A batch waiting for the group committer, and where its answer goes.
struct Job {
    ctx: Ctx,
    batch: ObservationBatch,
    reply: tokio::sync::oneshot::Sender<AppResult<IngestOutcome>>,
}

/// Group commit of ingest: each replica applies the batches that arrived
/// while its previous transaction ran together, in one write transaction
/// (one writers' lock, one commit, one fold check) instead of one each.
/// Each batch keeps its own rules and answer: it runs under a savepoint,
/// and a batch that fails (an unknown reader, say) is rolled back to it
/// and answered with its error while the others commit. A batch is
/// answered only after the commit, so an acknowledgement still means
/// stored. No waiting is added: a lone batch commits at once.
#[derive(Debug, Default)]
pub(crate) struct Committer {
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Job>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("daemon_id", &self.batch.daemon_id)
            .field("sequence", &self.batch.sequence)
            .finish()
    }
}

/// At most this many observations per group transaction: bounds how long
/// one transaction holds the writers' lock (and so read-to-visible).
pub const GROUP_MAX_OBSERVATIONS: usize = 40_000;

impl Committer {
    /// Queues `job`, starting the committer on the current runtime if it
    /// is not running (the first batch, or its runtime has gone).
    fn submit(&self, store: &Store, job: Job) -> AppResult<()> {
        let mut queue = self
            .queue
            .lock()
            .map_err(|_| AppError::internal("ingest queue lock poisoned"))?;
        let job = match queue.as_ref() {
            Some(q) => match q.send(job) {
                Ok(()) => return Ok(()),
                Err(tokio::sync::mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(commit_groups(store.clone(), rx));
        tx.send(job)
            .map_err(|_| AppError::internal("ingest committer stopped at its start"))?;
        *queue = Some(tx);
        Ok(())
    }
}

async fn commit_groups(store: Store, mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut size = first.batch.observations.len();
        let mut jobs = vec![first];
        while size < GROUP_MAX_OBSERVATIONS {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.batch.observations.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (work, replies): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| ((j.ctx, j.batch), j.reply))
            .unzip();
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.apply_group_blocking(&work)).await {
            Ok(Ok(outcomes)) => {
                for (reply, out) in replies.into_iter().zip(outcomes) {
                    // The sender may have gone (client hung up): the batch
                    // is stored all the same and its retry is a repeat.
                    let _ = reply.send(out);
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, batches = replies.len(), "ingest group rolled back");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            // The blocking task panicked: nothing was committed; each
            // waiting request answers an internal error and is retried.
            Err(e) => {
                tracing::error!(error = %e, "ingest group failed");
                for reply in replies {
                    let _ = reply.send(Err(AppError::internal("ingest group failed")));
                }
            }
        }
    }
}

impl Store {
    /// Applies a daemon's batch at most once (grouped with the batches
    /// that arrive meanwhile, see [`Committer`]).
    pub async fn ingest(&self, ctx: Ctx, batch: ObservationBatch) -> AppResult<IngestOutcome> {
        validate_batch(&ctx.actor, &batch)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.ingest.submit(self, Job { ctx, batch, reply })?;
        answer.await.map_err(|_| {
            AppError::internal(
                "the ingest committer stopped before answering; send the batch again",
            )
        })?
    }

    /// Applies validated batches in one write transaction, each under its
    /// own savepoint: one answer per batch, in order. An error of the
    /// whole (the commit) is the outer error.
    pub fn apply_group_blocking(
        &self,
        batches: &[(Ctx, ObservationBatch)],
    ) -> AppResult<Vec<AppResult<IngestOutcome>>> {
        self.write_blocking(|tx| {
            let mut outcomes = Vec::with_capacity(batches.len());
            for (ctx, batch) in batches {
                tx.execute_batch("SAVEPOINT ingest_batch")?;
                let out = apply(tx, ctx, batch);
                if out.is_err() {
                    tx.execute_batch("ROLLBACK TO SAVEPOINT ingest_batch")?;
                }
                tx.execute_batch("RELEASE SAVEPOINT ingest_batch")?;
                outcomes.push(out);
            }
            // Once per transaction, not per batch: on PostgreSQL the count
            // it starts with scans the recent rows (and their dead
            // versions), ~18 ms at 1,000 readers' load.
            fold_last_seen(tx, RECENT_LAST_SEEN_ROWS)?;
            Ok(outcomes)
        })
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
        validate_batch(&ctx.actor, batch)?;
        self.write_blocking(|tx| {
            let out = apply(tx, ctx, batch)?;
            fold_last_seen(tx, RECENT_LAST_SEEN_ROWS)?;
            Ok(out)
        })
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
    ) -> AppResult<crate::paging::Page<ForeignSighting>> {
        use crate::time::ts;
        self.read(move |c| {
            super::paging::page(
                c,
                "id, epc, reader_id, antenna, first_seen, last_seen, count, peak_rssi, kind,
                 daemon_id",
                "sightings WHERE asset_id IS NULL",
                "id DESC",
                &[],
                (page, per_page),
                |r| {
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
                },
            )
        })
        .await
    }
}

/// `expires_at` of an emergency pass event's details (unix ms).
fn pass_expiry(details: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()?
        .get("expires_at")?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The asset's last seen as the API reads it: the later of the settled
    /// and the recent row, the recent one on a tie.
    fn last_seen(store: &Store, asset_id: i64) -> AppResult<(Option<i64>, Option<i64>)> {
        store.read_blocking(|c| {
            let a = super::super::assets::get_asset(c, asset_id)?;
            Ok((
                a.last_seen_at.map(|t| t.timestamp_millis()),
                a.last_seen_reader_id,
            ))
        })
    }

    fn observation(epc: u8, reader: &str, at: i64) -> anyhow::Result<Observation> {
        use chrono::TimeZone;
        let t = chrono::Utc
            .timestamp_millis_opt(at)
            .single()
            .ok_or_else(|| anyhow::anyhow!("time"))?;
        Ok(Observation {
            epc: shared::tag::EpcBytes::new(&[epc])?,
            reader: reader.into(),
            antenna: 1,
            first_seen: t,
            last_seen: t,
            count: 1,
            peak_rssi: None,
            kind: shared::sync::ObservationKind::Seen,
            stocktake_id: None,
        })
    }

    /// A group of batches in one transaction: each is answered on its own
    /// (a bad one rolled back alone, a repeat acknowledged unapplied), on
    /// both backends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_commits_its_good_batches_and_answers_each() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let lite = Store::open(
            &dir.path().join("t.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        check_group(&lite).await?;
        let pg = test_support::PgDatabase::create()?;
        let url = pg.url().to_owned();
        let on_pg = tokio::task::spawn_blocking(move || {
            Store::open(
                std::path::Path::new(&url),
                1,
                crate::events::ChainKey::generate(),
            )
        })
        .await??;
        check_group(&on_pg).await?;
        drop(on_pg);
        Ok(())
    }

    async fn check_group(store: &Store) -> anyhow::Result<()> {
        store
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO categories (id, code, name) VALUES (1, 'c', 'c');
                 INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
                 INSERT INTO assets (id, asset_number, name, category_id, original_value_fen,
                     holder_unit_id, state, condition, created_at, updated_at)
                 VALUES (1, '1', 'a', 1, 0, 1, 'allocated', 'good', 0, 0);",
                )?;
                // Byte strings bound, not literals (the dialects differ).
                tx.execute(
                    "INSERT INTO tags (epc, asset_id, bound_at, unbound_at) VALUES (?1, 1, 0, NULL)",
                    [vec![1u8]],
                )?;
                tx.execute(
                    "INSERT INTO readers (id, name, role, token_hash, created_at)
                     VALUES (1, 'hand-1', 'handheld', ?1, 0)",
                    [vec![1u8]],
                )?;
                Ok(())
            })
            .await?;
        let ctx = Ctx::system("test");
        let batch = |daemon: &str, sequence, observations| ObservationBatch {
            daemon_id: daemon.into(),
            sequence,
            observations,
        };
        let group = vec![
            (
                ctx.clone(),
                batch(
                    "d1",
                    1,
                    vec![
                        observation(1, "hand-1", 1_000)?,
                        observation(7, "hand-1", 1_000)?,
                    ],
                ),
            ),
            // An unknown reader: this batch alone is refused.
            (
                ctx.clone(),
                batch(
                    "d2",
                    1,
                    vec![
                        observation(1, "hand-1", 2_000)?,
                        observation(1, "nobody", 2_000)?,
                    ],
                ),
            ),
            (
                ctx.clone(),
                batch("d1", 2, vec![observation(1, "hand-1", 3_000)?]),
            ),
            // The same (daemon, sequence) again in the same group: a repeat.
            (
                ctx.clone(),
                batch("d1", 2, vec![observation(1, "hand-1", 3_000)?]),
            ),
        ];
        let s = store.clone();
        let answers = tokio::task::spawn_blocking(move || s.apply_group_blocking(&group)).await??;
        let summary: Vec<_> = answers
            .iter()
            .map(|a| match a {
                Ok(o) => Ok((o.applied, o.applied_through, o.known, o.foreign)),
                Err(e) => Err(e.code),
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                Ok((true, 1, 1, 1)),
                Err("invalid"),
                Ok((true, 2, 1, 0)),
                Ok((false, 2, 0, 0)),
            ]
        );
        let (rows, marks, seen) = store
            .read(|c| {
                let rows: i64 = c.query_row("SELECT count(*) FROM sightings", (), |r| r.get(0))?;
                let marks: i64 = c.query_row(
                    "SELECT count(*) FROM sync_daemons WHERE applied_through > 0",
                    (),
                    |r| r.get(0),
                )?;
                let seen = super::super::assets::get_asset(c, 1)?
                    .last_seen_at
                    .map(|t| t.timestamp_millis());
                Ok((rows, marks, seen))
            })
            .await?;
        // d1's two batches (2 + 1 rows), nothing of d2, whose mark never moved.
        assert_eq!((rows, marks, seen), (3, 1, Some(3_000)));
        // The queue the HTTP handler uses answers the same way.
        let again = store
            .ingest(
                ctx.clone(),
                batch("d2", 1, vec![observation(1, "hand-1", 4_000)?]),
            )
            .await?;
        assert_eq!(
            (again.applied, again.applied_through, again.known),
            (true, 1, 1)
        );
        Ok(())
    }

    #[test]
    fn folding_recent_last_seen_keeps_the_latest() -> AppResult<()> {
        let dir = tempfile::tempdir().map_err(|e| AppError::internal(e.to_string()))?;
        let store = Store::open(
            &dir.path().join("t.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        store.write_blocking(|tx| {
            tx.execute_batch(
                "INSERT INTO categories (id, code, name) VALUES (1, 'c', 'c');
                 INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
                 INSERT INTO assets (id, asset_number, name, category_id, original_value_fen,
                     holder_unit_id, state, condition, created_at, updated_at)
                 VALUES (1, '1', 'a', 1, 0, 1, 'allocated', 'good', 0, 0),
                        (2, '2', 'b', 1, 0, 1, 'allocated', 'good', 0, 0),
                        (3, '3', 'c', 1, 0, 1, 'allocated', 'good', 0, 0);
                 -- 1: settled is later (an old batch arrived late); 2: recent is
                 -- later; 3: a tie, seen by another reader since.
                 INSERT INTO asset_last_seen VALUES (1, 500, 7), (2, 100, 7), (3, 300, 7);
                 INSERT INTO asset_last_seen_recent VALUES (1, 400, 8), (2, 200, 8), (3, 300, 8);",
            )?;
            Ok(())
        })?;
        let expect = [
            (1, (Some(500), Some(7))),
            (2, (Some(200), Some(8))),
            (3, (Some(300), Some(8))),
        ];
        for (asset, seen) in expect {
            assert_eq!(
                last_seen(&store, asset)?,
                seen,
                "asset {asset} before folding"
            );
        }
        // Below the threshold nothing moves; at it, everything does.
        store.write_blocking(|tx| fold_last_seen(tx, 4))?;
        let recent = |store: &Store| {
            store.read_blocking(|c| {
                Ok(
                    c.query_row("SELECT count(*) FROM asset_last_seen_recent", (), |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
        };
        assert_eq!(recent(&store)?, 3);
        store.write_blocking(|tx| fold_last_seen(tx, 3))?;
        assert_eq!(recent(&store)?, 0);
        for (asset, seen) in expect {
            assert_eq!(
                last_seen(&store, asset)?,
                seen,
                "asset {asset} after folding"
            );
        }
        Ok(())
    }
}
