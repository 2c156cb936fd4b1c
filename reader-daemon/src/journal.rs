//! The durable journal: every observation is committed to SQLite before it
//! counts as seen, batches get their sequence numbers here durably, and a
//! batch is forgotten only once the server acknowledged it.
//!
//! Invariants (each kept by one transaction):
//! - an observation is either pending (no batch yet) or belongs to exactly
//!   one batch; a batch's content never changes once it has a sequence, so a
//!   retry after a crash resends the same observations under the same
//!   sequence and the server's `(daemon, sequence)` check makes it harmless;
//! - sequences only grow (`last_seq` in `meta` is never lowered);
//! - the journal holds at most `max_observations`; past that the oldest
//!   unsent observations are dropped and the drop is recorded in `dropped`.
//!
//! WAL with `synchronous = FULL`: the WAL is fsynced at every commit, so a
//! committed observation survives power loss as well as `kill -9`. Commits
//! are few (one per event cycle per reader, one per batch), so the fsync
//! costs little; `NORMAL` would be safe against process crashes only.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use shared::sync::{BatchAck, Observation, ObservationBatch, ObservationKind};
use shared::tag::EpcBytes;

/// Why the journal could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("journal: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("journal holds a corrupt row (observation {id}): {detail}")]
    Corrupt { id: i64, detail: String },
    /// The next batch would need a sequence above [`MAX_SEQUENCE`].
    #[error(
        "journal: no sequence left after {last}: the server takes sequences up to {MAX_SEQUENCE}; \
         move this journal aside and start the daemon under a new daemon.id"
    )]
    SequencesExhausted { last: u64 },
    #[error(transparent)]
    AckAboveSent(#[from] AckAboveSent),
}

/// Highest batch sequence: the server (and this journal's SQLite columns)
/// store sequences as signed 64-bit integers.
pub const MAX_SEQUENCE: u64 = i64::MAX as u64;

/// An acknowledgement naming a mark above the batch it answers. Batches go
/// one at a time in sequence order, so the batch answered is the highest
/// this daemon has sent: a higher mark was set by someone else posting
/// under this daemon's id (a forged or copied token), or this journal
/// replaced one whose batches the server already has. Forgetting up to it
/// would delete batches the server never applied, so the journal refuses
/// it and keeps everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "server acknowledged through sequence {applied_through}, above batch {sent}, the highest \
     this daemon has sent: another client is posting under this daemon.id, or this journal \
     replaced an older one; nothing was deleted. Check the server's readers and tokens, or give \
     this daemon a new daemon.id"
)]
pub struct AckAboveSent {
    pub sent: u64,
    pub applied_through: u64,
}

impl AckAboveSent {
    /// The rule: an ack of batch `sent` may name at most `sent` (and never
    /// more than a sequence can be).
    pub fn check(sent: u64, ack: BatchAck) -> Result<(), Self> {
        if ack.applied_through > sent.min(MAX_SEQUENCE) {
            return Err(Self {
                sent,
                applied_through: ack.applied_through,
            });
        }
        Ok(())
    }
}

/// Size limits of the journal.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_observations: u64,
    pub warn_fraction: f64,
}

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    pub committed: u64,
    /// Old observations dropped to make room (recorded in `dropped`).
    pub dropped: u64,
}

/// A snapshot of the journal's counters, for status and metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JournalStats {
    /// Observations not yet acknowledged (pending + in flight).
    pub backlog: u64,
    /// Of those, how many are not in a batch yet.
    pub pending: u64,
    /// Batches numbered and awaiting acknowledgement.
    pub batches_in_flight: u64,
    pub last_seq: u64,
    pub applied_through: u64,
    /// Ever committed / acknowledged / dropped (survive restarts).
    pub committed_total: u64,
    pub acked_total: u64,
    pub dropped_total: u64,
    pub max_observations: u64,
    /// `backlog / max_observations`.
    pub fill: f64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS observation (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_seq   INTEGER,
    epc         BLOB    NOT NULL,
    reader      TEXT    NOT NULL,
    antenna     INTEGER NOT NULL,
    first_us    INTEGER NOT NULL,
    last_us     INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    peak_rssi   INTEGER,
    kind        TEXT    NOT NULL,
    journal_ms  INTEGER NOT NULL,
    stocktake_id INTEGER
);
CREATE INDEX IF NOT EXISTS observation_by_batch ON observation(batch_seq, id);
CREATE TABLE IF NOT EXISTS batch (
    seq          INTEGER PRIMARY KEY,
    created_ms   INTEGER NOT NULL,
    observations INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dropped (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms        INTEGER NOT NULL,
    observations INTEGER NOT NULL,
    first_us     INTEGER,
    last_us      INTEGER,
    reason       TEXT    NOT NULL
);
";

/// Journals written before observations could name a stock-take lack the
/// column; their rows name none.
fn add_stocktake_column(conn: &Connection) -> rusqlite::Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('observation') WHERE name = 'stocktake_id'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch("ALTER TABLE observation ADD COLUMN stocktake_id INTEGER")?;
    }
    Ok(())
}

/// The daemon's SQLite journal. One connection; callers share it behind a
/// mutex (writes are serialised by SQLite anyway).
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    limits: Limits,
    /// Rows in `observation`, kept in memory so appends need no COUNT(*).
    backlog: u64,
    warned: bool,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        add_stocktake_column(&conn).map_err(open_err)?;
        let backlog: i64 = conn
            .query_row("SELECT COUNT(*) FROM observation", [], |r| r.get(0))
            .map_err(open_err)?;
        Ok(Self {
            conn,
            limits,
            backlog: backlog.max(0) as u64,
            warned: false,
        })
    }

    fn meta(tx: &Connection, key: &str) -> rusqlite::Result<u64> {
        let v: Option<i64> = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    /// Counters and marks are SQLite integers: a value past `i64::MAX`
    /// saturates there rather than wrapping negative (and reading back 0).
    fn set_meta(tx: &Connection, key: &str, value: u64) -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, i64::try_from(value).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    fn add_meta(tx: &Connection, key: &str, delta: u64) -> rusqlite::Result<()> {
        let v = Self::meta(tx, key)?;
        Self::set_meta(tx, key, v.saturating_add(delta))
    }

    /// The sequence after the highest ever issued or acknowledged.
    fn next_sequence(tx: &Connection) -> Result<u64, JournalError> {
        let last = Self::meta(tx, "last_seq")?.max(Self::meta(tx, "applied_through")?);
        last.checked_add(1)
            .filter(|&seq| seq <= MAX_SEQUENCE)
            .ok_or(JournalError::SequencesExhausted { last })
    }

    /// Commits `observations` in one transaction, making room first if the
    /// journal is full. Once this returns `Ok`, they survive any crash.
    pub fn append(&mut self, observations: &[Observation]) -> Result<Appended, JournalError> {
        if observations.is_empty() {
            return Ok(Appended::default());
        }
        let n = observations.len() as u64;
        let tx = self.conn.transaction()?;
        let over = (self.backlog + n).saturating_sub(self.limits.max_observations);
        let dropped = if over > 0 {
            Self::make_room(&tx, over)?
        } else {
            0
        };
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO observation
                   (epc, reader, antenna, first_us, last_us, count, peak_rssi, kind, journal_ms,
                    stocktake_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let at = now_ms();
            for o in observations {
                insert.execute(params![
                    o.epc.as_slice(),
                    o.reader,
                    o.antenna,
                    o.first_seen.timestamp_micros(),
                    o.last_seen.timestamp_micros(),
                    o.count,
                    o.peak_rssi,
                    o.kind.as_str(),
                    at,
                    o.stocktake_id,
                ])?;
            }
        }
        Self::add_meta(&tx, "committed_total", n)?;
        tx.commit()?;
        self.backlog = (self.backlog + n).saturating_sub(dropped);
        self.check_fill();
        Ok(Appended {
            committed: n,
            dropped,
        })
    }

    fn check_fill(&mut self) {
        let max = self.limits.max_observations.max(1);
        let warn_at = (max as f64 * self.limits.warn_fraction) as u64;
        if self.backlog >= warn_at && !self.warned {
            self.warned = true;
            tracing::warn!(
                backlog = self.backlog,
                max_observations = max,
                "journal is {:.0}% full: the server has not acknowledged for a while; \
                 at 100% the oldest unsent observations are dropped",
                100.0 * self.backlog as f64 / max as f64
            );
        } else if self.backlog < warn_at / 2 && self.warned {
            self.warned = false;
            tracing::info!(
                backlog = self.backlog,
                "journal back below half its warning level"
            );
        }
    }

    /// Drops at least `need` of the oldest unacknowledged observations:
    /// pending ones first, then whole batches (oldest first; the gap in
    /// sequences is allowed by the server). Records what went.
    fn make_room(tx: &Transaction<'_>, need: u64) -> rusqlite::Result<u64> {
        let mut gone = 0u64;
        let (count, first, last): (i64, Option<i64>, Option<i64>) = tx.query_row(
            "SELECT COUNT(*), MIN(first_us), MAX(last_us) FROM (
               SELECT first_us, last_us FROM observation WHERE batch_seq IS NULL
               ORDER BY id LIMIT ?1)",
            [need as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if count > 0 {
            tx.execute(
                "DELETE FROM observation WHERE id IN (
                   SELECT id FROM observation WHERE batch_seq IS NULL ORDER BY id LIMIT ?1)",
                [need as i64],
            )?;
            Self::record_drop(tx, count as u64, first, last, "journal full: oldest unsent")?;
            gone += count as u64;
        }
        while gone < need {
            let oldest: Option<i64> = tx
                .query_row("SELECT MIN(seq) FROM batch", [], |r| r.get(0))
                .optional()?
                .flatten();
            let Some(seq) = oldest else { break };
            let (count, first, last): (i64, Option<i64>, Option<i64>) = tx.query_row(
                "SELECT COUNT(*), MIN(first_us), MAX(last_us) FROM observation WHERE batch_seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            tx.execute("DELETE FROM observation WHERE batch_seq = ?1", [seq])?;
            tx.execute("DELETE FROM batch WHERE seq = ?1", [seq])?;
            let reason = format!("journal full: unacknowledged batch {seq}");
            Self::record_drop(tx, count as u64, first, last, &reason)?;
            gone += count as u64;
        }
        Ok(gone)
    }

    fn record_drop(
        tx: &Transaction<'_>,
        count: u64,
        first: Option<i64>,
        last: Option<i64>,
        reason: &str,
    ) -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO dropped(at_ms, observations, first_us, last_us, reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now_ms(), count as i64, first, last, reason],
        )?;
        Self::add_meta(tx, "dropped_total", count)?;
        tracing::error!(
            observations = count,
            first_seen_us = first,
            last_seen_us = last,
            reason,
            "journal dropped observations to stay within its bound"
        );
        Ok(())
    }

    /// The batch to send next: the oldest one already numbered (a retry,
    /// possibly after a restart), else a new one made of the oldest pending
    /// observations — but only when there are `max` of them or the oldest
    /// has waited `max_age`. Numbering commits before the batch is returned.
    pub fn next_batch(
        &mut self,
        daemon_id: &str,
        max: usize,
        max_age: Duration,
    ) -> Result<Option<ObservationBatch>, JournalError> {
        let tx = self.conn.transaction()?;
        let in_flight: Option<i64> = tx
            .query_row("SELECT MIN(seq) FROM batch", [], |r| r.get(0))
            .optional()?
            .flatten();
        let seq = match in_flight {
            Some(seq) => seq as u64,
            None => {
                let (pending, oldest): (i64, Option<i64>) = tx.query_row(
                    "SELECT COUNT(*), MIN(journal_ms) FROM
                       (SELECT journal_ms FROM observation WHERE batch_seq IS NULL LIMIT ?1)",
                    [max as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let old_enough = oldest
                    .map(|ms| now_ms().saturating_sub(ms) >= max_age.as_millis() as i64)
                    .unwrap_or(false);
                if pending == 0 || (pending < max as i64 && !old_enough) {
                    return Ok(None);
                }
                let seq = Self::next_sequence(&tx)?;
                let moved = tx.execute(
                    "UPDATE observation SET batch_seq = ?1 WHERE id IN (
                       SELECT id FROM observation WHERE batch_seq IS NULL ORDER BY id LIMIT ?2)",
                    params![seq as i64, max as i64],
                )?;
                tx.execute(
                    "INSERT INTO batch(seq, created_ms, observations) VALUES (?1, ?2, ?3)",
                    params![seq as i64, now_ms(), moved as i64],
                )?;
                Self::set_meta(&tx, "last_seq", seq)?;
                seq
            }
        };
        let observations = Self::load_batch(&tx, seq)?;
        tx.commit()?;
        Ok(Some(ObservationBatch {
            daemon_id: daemon_id.to_string(),
            sequence: seq,
            observations,
        }))
    }

    fn load_batch(tx: &Connection, seq: u64) -> Result<Vec<Observation>, JournalError> {
        let mut stmt = tx.prepare_cached(
            "SELECT id, epc, reader, antenna, first_us, last_us, count, peak_rssi, kind,
                    stocktake_id
             FROM observation WHERE batch_seq = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([seq as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u8>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, u32>(6)?,
                r.get::<_, Option<i16>>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<i64>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, epc, reader, antenna, first, last, count, peak_rssi, kind, stocktake_id) =
                row?;
            let corrupt = |detail: String| JournalError::Corrupt { id, detail };
            let epc = EpcBytes::new(&epc).map_err(|e| corrupt(e.to_string()))?;
            let time = |us: i64| {
                DateTime::<Utc>::from_timestamp_micros(us)
                    .ok_or_else(|| corrupt(format!("timestamp {us} out of range")))
            };
            let kind = match kind.as_str() {
                "seen" => ObservationKind::Seen,
                "added" => ObservationKind::Added,
                "removed" => ObservationKind::Removed,
                other => return Err(corrupt(format!("unknown kind {other:?}"))),
            };
            out.push(Observation {
                epc,
                reader,
                antenna,
                first_seen: time(first)?,
                last_seen: time(last)?,
                count,
                peak_rssi,
                kind,
                stocktake_id,
            });
        }
        Ok(out)
    }

    /// Applies the server's acknowledgement of batch `sent`: forgets every
    /// batch up to `applied_through`. A mark above `sent` is refused with
    /// [`AckAboveSent`] and nothing changes. Returns observations forgotten.
    pub fn ack(&mut self, sent: u64, ack: BatchAck) -> Result<u64, JournalError> {
        AckAboveSent::check(sent, ack)?;
        let mark = ack.applied_through;
        let tx = self.conn.transaction()?;
        let forgotten = tx.execute(
            "DELETE FROM observation WHERE batch_seq IS NOT NULL AND batch_seq <= ?1",
            [mark as i64],
        )? as u64;
        tx.execute("DELETE FROM batch WHERE seq <= ?1", [mark as i64])?;
        let prev = Self::meta(&tx, "applied_through")?;
        Self::set_meta(&tx, "applied_through", prev.max(mark))?;
        Self::add_meta(&tx, "acked_total", forgotten)?;
        tx.commit()?;
        self.backlog = self.backlog.saturating_sub(forgotten);
        self.check_fill();
        Ok(forgotten)
    }

    /// Counters for status and metrics.
    pub fn stats(&self) -> Result<JournalStats, JournalError> {
        let c = &self.conn;
        let pending: i64 = c.query_row(
            "SELECT COUNT(*) FROM observation WHERE batch_seq IS NULL",
            [],
            |r| r.get(0),
        )?;
        let batches: i64 = c.query_row("SELECT COUNT(*) FROM batch", [], |r| r.get(0))?;
        let max = self.limits.max_observations;
        Ok(JournalStats {
            backlog: self.backlog,
            pending: pending.max(0) as u64,
            batches_in_flight: batches.max(0) as u64,
            last_seq: Self::meta(c, "last_seq")?,
            applied_through: Self::meta(c, "applied_through")?,
            committed_total: Self::meta(c, "committed_total")?,
            acked_total: Self::meta(c, "acked_total")?,
            dropped_total: Self::meta(c, "dropped_total")?,
            max_observations: max,
            fill: self.backlog as f64 / max.max(1) as f64,
        })
    }

    /// Checks SQLite's own integrity and the journal's invariants; returns
    /// the problems found (empty when sound). Used after crashes in tests
    /// and by operators.
    pub fn check(&self) -> Result<Vec<String>, JournalError> {
        let c = &self.conn;
        let mut problems = Vec::new();
        let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if integrity != "ok" {
            problems.push(format!("integrity_check: {integrity}"));
        }
        let orphans: i64 = c.query_row(
            "SELECT COUNT(*) FROM observation WHERE batch_seq IS NOT NULL
               AND batch_seq NOT IN (SELECT seq FROM batch)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problems.push(format!("{orphans} observations name a missing batch"));
        }
        let mismatched: i64 = c.query_row(
            "SELECT COUNT(*) FROM batch b WHERE b.observations !=
               (SELECT COUNT(*) FROM observation o WHERE o.batch_seq = b.seq)",
            [],
            |r| r.get(0),
        )?;
        if mismatched > 0 {
            problems.push(format!(
                "{mismatched} batches do not hold what they were given"
            ));
        }
        let last_seq = Self::meta(c, "last_seq")?;
        let max_batch: Option<i64> = c.query_row("SELECT MAX(seq) FROM batch", [], |r| r.get(0))?;
        if max_batch.unwrap_or(0) as u64 > last_seq {
            problems.push(format!(
                "batch {} above last_seq {last_seq}",
                max_batch.unwrap_or(0)
            ));
        }
        let applied = Self::meta(c, "applied_through")?;
        let min_batch: Option<i64> = c.query_row("SELECT MIN(seq) FROM batch", [], |r| r.get(0))?;
        if let Some(min) = min_batch {
            if (min as u64) <= applied {
                problems.push(format!(
                    "batch {min} kept although {applied} was acknowledged"
                ));
            }
        }
        let stats = self.stats()?;
        if stats.committed_total != stats.backlog + stats.acked_total + stats.dropped_total {
            problems.push(format!(
                "committed {} != backlog {} + acked {} + dropped {}",
                stats.committed_total, stats.backlog, stats.acked_total, stats.dropped_total
            ));
        }
        Ok(problems)
    }

    /// What was dropped, newest first: (at, observations, reason).
    pub fn drops(&self) -> Result<Vec<(DateTime<Utc>, u64, String)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at_ms, observations, reason FROM dropped ORDER BY id DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (ms, n, reason) = row?;
            let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
            out.push((at, n.max(0) as u64, reason));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: u64) -> Limits {
        Limits {
            max_observations: max,
            warn_fraction: 0.8,
        }
    }

    fn obs(n: u32) -> Observation {
        let mut epc = [0x30u8; 12];
        epc[8..].copy_from_slice(&n.to_be_bytes());
        let at = DateTime::<Utc>::from_timestamp_micros(1_767_225_600_000_000 + i64::from(n))
            .unwrap_or_default();
        Observation {
            epc: EpcBytes::new(&epc).unwrap_or_else(|_| unreachable!()),
            reader: "r1".into(),
            antenna: 1,
            first_seen: at,
            last_seen: at,
            count: n,
            peak_rssi: Some(-60),
            stocktake_id: None,
            kind: ObservationKind::Seen,
        }
    }

    type R = Result<(), JournalError>;

    #[test]
    fn a_named_stocktake_survives_the_journal_also_an_old_one() -> R {
        let dir = tempfile::tempdir().map_err(|e| JournalError::Corrupt {
            id: 0,
            detail: e.to_string(),
        })?;
        let path = dir.path().join("j.db");
        {
            // A journal from before the column existed, with one row.
            let c = Connection::open(&path)?;
            c.execute_batch(&SCHEMA.replace(",\n    stocktake_id INTEGER", ""))?;
            c.execute(
                "INSERT INTO observation (epc, reader, antenna, first_us, last_us, count, kind, journal_ms)
                 VALUES (x'300000000000000000000001', 'r1', 1, 1, 1, 1, 'seen', 0)",
                [],
            )?;
        }
        let mut j = Journal::open(&path, limits(1000))?;
        let mut named = obs(2);
        named.stocktake_id = Some(42);
        j.append(&[named.clone()])?;
        let b = j.next_batch("d", 10, Duration::ZERO)?;
        let b = b.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        assert_eq!(b.observations.len(), 2);
        assert_eq!(b.observations[0].stocktake_id, None);
        assert_eq!(b.observations[1], named);
        Ok(())
    }

    #[test]
    fn batches_are_numbered_durably_and_forgotten_only_after_ack() -> R {
        let dir = tempfile::tempdir().map_err(|e| JournalError::Corrupt {
            id: 0,
            detail: e.to_string(),
        })?;
        let path = dir.path().join("j.db");
        let mut j = Journal::open(&path, limits(1000))?;
        let all: Vec<Observation> = (0..25).map(obs).collect();
        j.append(&all)?;
        // 25 pending, batches of 10: three fill a batch at once.
        assert_eq!(j.next_batch("d", 100, Duration::from_secs(60))?, None);
        let b1 = j.next_batch("d", 10, Duration::from_secs(60))?;
        let b1 = b1.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        assert_eq!(b1.sequence, 1);
        assert_eq!(b1.observations, all[..10].to_vec());
        // Until acknowledged the same batch comes back, also after reopen.
        drop(j);
        let mut j = Journal::open(&path, limits(1000))?;
        let again = j.next_batch("d", 10, Duration::ZERO)?;
        assert_eq!(again.as_ref(), Some(&b1));
        assert_eq!(
            j.ack(
                1,
                BatchAck {
                    applied_through: 1,
                    applied: true
                }
            )?,
            10
        );
        let b2 = j.next_batch("d", 10, Duration::ZERO)?;
        assert_eq!(b2.as_ref().map(|b| b.sequence), Some(2));
        // A stale ack (lower mark) changes nothing.
        assert_eq!(
            j.ack(
                2,
                BatchAck {
                    applied_through: 1,
                    applied: false
                }
            )?,
            0
        );
        assert_eq!(
            j.ack(
                2,
                BatchAck {
                    applied_through: 2,
                    applied: true
                }
            )?,
            10
        );
        // The age rule sends a short batch.
        let b3 = j.next_batch("d", 10, Duration::ZERO)?;
        assert_eq!(
            b3.as_ref().map(|b| (b.sequence, b.observations.len())),
            Some((3, 5))
        );
        j.ack(
            3,
            BatchAck {
                applied_through: 3,
                applied: true,
            },
        )?;
        assert_eq!(j.next_batch("d", 10, Duration::ZERO)?, None);
        let s = j.stats()?;
        assert_eq!((s.backlog, s.committed_total, s.acked_total), (0, 25, 25));
        assert!(j.check()?.is_empty());
        Ok(())
    }

    #[test]
    fn sequences_never_go_back_even_when_everything_was_acked() -> R {
        let mut j = Journal::open(Path::new(":memory:"), limits(1000))?;
        j.append(&[obs(1)])?;
        let b = j.next_batch("d", 10, Duration::ZERO)?;
        assert_eq!(b.map(|b| b.sequence), Some(1));
        j.ack(
            1,
            BatchAck {
                applied_through: 1,
                applied: true,
            },
        )?;
        j.append(&[obs(2)])?;
        let b = j.next_batch("d", 10, Duration::ZERO)?;
        assert_eq!(b.map(|b| b.sequence), Some(2));
        Ok(())
    }

    #[test]
    fn an_ack_above_the_batch_sent_is_refused_and_the_journal_kept() -> R {
        let mut j = Journal::open(Path::new(":memory:"), limits(1000))?;
        j.append(&(0..4).map(obs).collect::<Vec<_>>())?;
        let b1 = j.next_batch("d", 2, Duration::ZERO)?;
        assert_eq!(b1.as_ref().map(|b| b.sequence), Some(1));
        // Someone posted sequence i64::MAX under this daemon's id; the
        // server now answers every batch with that mark, applied or not.
        for applied in [false, true] {
            let forged = BatchAck {
                applied_through: MAX_SEQUENCE,
                applied,
            };
            match j.ack(1, forged) {
                Err(JournalError::AckAboveSent(r)) => {
                    assert_eq!((r.sent, r.applied_through), (1, MAX_SEQUENCE));
                    let text = r.to_string();
                    assert!(text.contains("nothing was deleted"), "{text}");
                    assert!(text.contains("daemon.id"), "{text}");
                }
                other => panic!("forged ack gave {other:?}"),
            }
        }
        // Nothing forgotten, nothing renumbered: the same batch comes back.
        assert_eq!(j.next_batch("d", 2, Duration::ZERO)?, b1);
        let s = j.stats()?;
        assert_eq!((s.backlog, s.last_seq, s.applied_through), (4, 1, 0));
        // One above is as refused as i64::MAX; the batch's own mark is fine.
        let one_above = BatchAck {
            applied_through: 2,
            applied: false,
        };
        assert!(matches!(
            j.ack(1, one_above),
            Err(JournalError::AckAboveSent(_))
        ));
        let own = BatchAck {
            applied_through: 1,
            applied: true,
        };
        assert_eq!(j.ack(1, own)?, 2);
        let b2 = j.next_batch("d", 2, Duration::ZERO)?;
        assert_eq!(b2.map(|b| b.sequence), Some(2));
        assert!(j.check()?.is_empty());
        Ok(())
    }

    #[test]
    fn sequences_stop_with_a_clear_error_at_the_limit() -> R {
        let mut j = Journal::open(Path::new(":memory:"), limits(1000))?;
        Journal::set_meta(&j.conn, "last_seq", MAX_SEQUENCE - 1)?;
        j.append(&(0..4).map(obs).collect::<Vec<_>>())?;
        let last = j.next_batch("d", 2, Duration::ZERO)?;
        assert_eq!(last.map(|b| b.sequence), Some(MAX_SEQUENCE));
        j.ack(
            MAX_SEQUENCE,
            BatchAck {
                applied_through: MAX_SEQUENCE,
                applied: true,
            },
        )?;
        match j.next_batch("d", 2, Duration::ZERO) {
            Err(e @ JournalError::SequencesExhausted { last }) => {
                assert_eq!(last, MAX_SEQUENCE);
                assert!(e.to_string().contains("new daemon.id"), "{e}");
            }
            other => panic!("past the limit gave {other:?}"),
        }
        // Nothing was numbered or lost: the two observations still wait.
        let s = j.stats()?;
        assert_eq!((s.pending, s.batches_in_flight), (2, 0));
        assert!(j.check()?.is_empty());
        Ok(())
    }

    #[test]
    fn a_full_journal_drops_the_oldest_unsent_and_says_so() -> R {
        let mut j = Journal::open(Path::new(":memory:"), limits(100))?;
        j.append(&(0..60).map(obs).collect::<Vec<_>>())?;
        let b = j.next_batch("d", 50, Duration::ZERO)?;
        assert_eq!(b.map(|b| b.observations.len()), Some(50));
        // 60 held; 70 more → 30 over: the 10 pending go, then batch 1 (50).
        let out = j.append(&(60..130).map(obs).collect::<Vec<_>>())?;
        assert_eq!(
            out,
            Appended {
                committed: 70,
                dropped: 60
            }
        );
        let s = j.stats()?;
        assert_eq!(
            (s.backlog, s.dropped_total, s.batches_in_flight),
            (70, 60, 0)
        );
        let drops = j.drops()?;
        assert_eq!(drops.len(), 2);
        assert!(drops[0].2.contains("batch 1"), "{drops:?}");
        assert!(j.check()?.is_empty());
        // The next batch skips the dropped sequence.
        let b = j.next_batch("d", 50, Duration::ZERO)?;
        assert_eq!(b.map(|b| b.sequence), Some(2));
        Ok(())
    }
}
