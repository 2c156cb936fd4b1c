//! Appending to and verifying the hash-chained event log. The chain head
//! (last seq and hash) is kept in `settings` so truncating the tail is
//! detected as well as edits and removals.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::Store;
use crate::error::AppResult;
use crate::events::{event_hash, Event, Verification, Verifier, GENESIS};
use crate::policy::Ctx;
use crate::time::now_ms;

const HEAD_KEY: &str = "events.head";

/// What a change says about itself; the rest comes from the context.
#[derive(Debug)]
pub(crate) struct NewEvent<'a> {
    pub asset_id: i64,
    pub action: &'a str,
    pub place: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

fn head(conn: &Connection) -> AppResult<(i64, Vec<u8>)> {
    let head: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [HEAD_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match head.as_deref().and_then(|h| h.split_once(':')) {
        Some((seq, hash)) => (
            seq.parse().unwrap_or(0),
            shared::hex::decode(hash).unwrap_or_else(|_| GENESIS.to_vec()),
        ),
        None => (0, GENESIS.to_vec()),
    })
}

/// Appends one event inside the caller's transaction.
pub(crate) fn append(tx: &Transaction<'_>, ctx: &Ctx, new: NewEvent<'_>) -> AppResult<Event> {
    let (last_seq, prev_hash) = head(tx)?;
    let mut e = Event {
        seq: last_seq + 1,
        asset_id: new.asset_id,
        at: now_ms(),
        actor: ctx.actor.label(),
        place: new.place,
        action: new.action.to_owned(),
        reason: new.reason,
        request_id: ctx.request_id.clone(),
        details: new.details.to_string(),
        prev_hash,
        hash: Vec::new(),
    };
    e.hash = event_hash(&e.prev_hash, &e).to_vec();
    tx.prepare_cached(
        "INSERT INTO asset_events
             (seq, asset_id, at, actor, place, action, reason, request_id, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(rusqlite::params![
        e.seq,
        e.asset_id,
        e.at,
        e.actor,
        e.place,
        e.action,
        e.reason,
        e.request_id,
        e.details,
        e.prev_hash,
        e.hash
    ])?;
    tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute((HEAD_KEY, format!("{}:{}", e.seq, shared::hex::Hex(&e.hash))))?;
    Ok(e)
}

fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        asset_id: r.get(1)?,
        at: r.get(2)?,
        actor: r.get(3)?,
        place: r.get(4)?,
        action: r.get(5)?,
        reason: r.get(6)?,
        request_id: r.get(7)?,
        details: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

const COLUMNS: &str =
    "seq, asset_id, at, actor, place, action, reason, request_id, details, prev_hash, hash";

pub(crate) fn timeline(conn: &Connection, asset_id: i64) -> AppResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM asset_events WHERE asset_id = ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map([asset_id], row_to_event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn verify(conn: &Connection) -> AppResult<Verification> {
    let mut v = Verifier::default();
    let mut last: Option<(i64, Vec<u8>)> = None;
    {
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM asset_events ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let e = row_to_event(row)?;
            if !v.feed(&e) {
                return Ok(v.finish());
            }
            last = Some((e.seq, e.hash));
        }
    }
    let mut result = v.finish();
    let (head_seq, head_hash) = head(conn)?;
    let tail_ok = match &last {
        None => head_seq == 0,
        Some((seq, hash)) => *seq == head_seq && *hash == head_hash,
    };
    if !tail_ok {
        result.ok = false;
        result.first_broken_seq = Some(last.map_or(1, |(s, _)| s + 1));
        result.problem = Some(format!(
            "the log ends before its recorded head (event {head_seq}): rows were removed from the end"
        ));
    }
    Ok(result)
}

impl Store {
    /// Walks the whole chain; reports the first broken link.
    pub async fn verify_log(&self) -> AppResult<Verification> {
        self.read(verify).await
    }
}
