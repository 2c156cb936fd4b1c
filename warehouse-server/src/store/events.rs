//! Appending to and verifying the keyed chain of asset events and request
//! steps. The chain head (last seq and hash) is kept in `settings` so
//! truncating the tail is detected as well as edits and removals; an
//! exported [`SignedHead`] catches a rewritten head. The chain key lives in
//! the writer connection's TEMP schema (memory only, never the file), so
//! every append inside any transaction can seal without carrying it.

use std::collections::HashMap;

use crate::store::db::{Db, OptionalExtension};

use super::Store;
use crate::error::{AppError, AppResult, Reason};
use crate::events::{
    entry_hash, legacy_event_hash, replay, ChainKey, Chained, Event, Replayed, SignedHead,
    StepEntry, Verification, Verifier, GENESIS,
};
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

/// A request step to record; the rest comes from the context.
#[derive(Debug)]
pub(crate) struct NewStep<'a> {
    pub request_id: i64,
    pub stage: &'a str,
    pub action: &'a str,
    pub comment: Option<String>,
    pub details: serde_json::Value,
}

/// The recorded head: (last seq, its hash).
fn head(conn: &Db<'_>) -> AppResult<(i64, Vec<u8>)> {
    let head: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([HEAD_KEY], |r| r.get(0))
        .optional()?;
    let Some(head) = head else {
        return Ok((0, GENESIS.to_vec()));
    };
    let malformed =
        || AppError::internal(format!("the chain head `{head}` in settings is malformed"));
    let (seq, hash) = head.split_once(':').ok_or_else(malformed)?;
    Ok((
        seq.parse().map_err(|_| malformed())?,
        shared::hex::decode(hash).map_err(|_| malformed())?,
    ))
}

/// Where the next entry goes: the key to seal it with, its seq, and the
/// hash it links to.
fn next_link(tx: &Db<'_>) -> AppResult<(ChainKey, i64, Vec<u8>)> {
    let (last_seq, prev_hash) = head(tx)?;
    Ok((tx.chain_key().clone(), last_seq + 1, prev_hash))
}

fn set_head(tx: &Db<'_>, seq: i64, hash: &[u8]) -> AppResult<()> {
    tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute((HEAD_KEY, format!("{seq}:{}", shared::hex::Hex(hash))))?;
    Ok(())
}

/// Appends one event inside the caller's transaction.
pub(crate) fn append(tx: &Db<'_>, ctx: &Ctx, new: NewEvent<'_>) -> AppResult<Event> {
    let (key, seq, prev_hash) = next_link(tx)?;
    let mut e = Event {
        seq,
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
    e.hash = entry_hash(&key, &e.prev_hash, &e).to_vec();
    set_head(tx, seq, &e.hash)?;
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
    Ok(e)
}

/// Records one request step as the chain's next entry, inside the caller's
/// transaction: the one place request steps are inserted.
pub(crate) fn append_step(tx: &Db<'_>, ctx: &Ctx, new: NewStep<'_>) -> AppResult<()> {
    let (key, seq, prev_hash) = next_link(tx)?;
    let mut s = StepEntry {
        seq: Some(seq),
        id: 0,
        request_id: new.request_id,
        stage: new.stage.to_owned(),
        action: new.action.to_owned(),
        actor: ctx.actor.label(),
        at: now_ms(),
        comment: new.comment,
        details: new.details.to_string(),
        prev_hash,
        hash: Vec::new(),
    };
    s.hash = entry_hash(&key, &s.prev_hash, &s).to_vec();
    set_head(tx, seq, &s.hash)?;
    tx.prepare_cached(
        "INSERT INTO request_steps
             (request_id, stage, action, actor, at, comment, details, seq, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(rusqlite::params![
        s.request_id,
        s.stage,
        s.action,
        s.actor,
        s.at,
        s.comment,
        s.details,
        s.seq,
        s.prev_hash,
        s.hash
    ])?;
    Ok(())
}

fn row_to_event(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Event> {
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

pub(crate) fn timeline(conn: &Db<'_>, asset_id: i64) -> AppResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM asset_events WHERE asset_id = ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map([asset_id], row_to_event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every asset as its events tell it.
pub(crate) fn replay_assets(conn: &Db<'_>) -> AppResult<HashMap<i64, Replayed>> {
    let mut assets = HashMap::new();
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM asset_events ORDER BY seq"))?;
    let mut rows = stmt.query(())?;
    while let Some(row) = rows.next()? {
        replay(&mut assets, &row_to_event(&row)?);
    }
    Ok(assets)
}

/// One row of the merged walk over both tables, in chain order.
enum Entry {
    Event(Event),
    Step(StepEntry),
}

/// Events and request steps, merged by seq; steps outside the chain
/// (NULL seq) come first, so they are reported.
macro_rules! steps_select {
    () => {
        "SELECT 1, seq, request_id, at, actor, NULL, action, comment, NULL, details,
                prev_hash, hash, stage, id
           FROM request_steps"
    };
}

const CHAIN: &str = concat!(
    "SELECT 0, seq, asset_id, at, actor, place, action, reason, request_id, details,
            prev_hash, hash, NULL, NULL
       FROM asset_events
     UNION ALL ",
    steps_select!(),
    " ORDER BY 2"
);

/// Request steps in the column layout of [`CHAIN`].
const CHAIN_STEPS: &str = steps_select!();

/// Checks that `key` seals the chain's last entry, so a server started
/// with the wrong key file refuses to start instead of appending entries
/// no verifier can link. One row read, whatever the chain's length.
pub(crate) fn check_key(conn: &Db<'_>, key: &ChainKey) -> AppResult<()> {
    let (seq, _) = head(conn)?;
    if seq == 0 {
        return Ok(());
    }
    let sql = format!(
        "SELECT * FROM (SELECT 0, seq, asset_id, at, actor, place, action, reason, request_id,
                details, prev_hash, hash, NULL, NULL FROM asset_events WHERE seq = ?1
              UNION ALL {} WHERE seq = ?1) AS e",
        CHAIN_STEPS
    );
    let entry = conn
        .prepare(&sql)?
        .query_row([seq], row_to_entry)
        .optional()?;
    let sealed = match &entry {
        // A missing last entry is the verifier's to report, not a key problem.
        None => return Ok(()),
        Some(Entry::Event(e)) => entry_hash(key, &e.prev_hash, e)[..] == e.hash[..],
        Some(Entry::Step(s)) => entry_hash(key, &s.prev_hash, s)[..] == s.hash[..],
    };
    if sealed {
        Ok(())
    } else {
        Err(AppError::internal(format!(
            "the chain key does not seal the chain's last entry ({seq}): this is not the key \
             file this database was chained with (see `chain_key_file`; `admin rekey-chain` \
             changes keys)"
        )))
    }
}

fn row_to_entry(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Entry> {
    let kind: i64 = r.get(0)?;
    if kind == 0 {
        return Ok(Entry::Event(Event {
            seq: r.get(1)?,
            asset_id: r.get(2)?,
            at: r.get(3)?,
            actor: r.get(4)?,
            place: r.get(5)?,
            action: r.get(6)?,
            reason: r.get(7)?,
            request_id: r.get(8)?,
            details: r.get(9)?,
            prev_hash: r.get(10)?,
            hash: r.get(11)?,
        }));
    }
    Ok(Entry::Step(StepEntry {
        seq: r.get(1)?,
        request_id: r.get(2)?,
        at: r.get(3)?,
        actor: r.get(4)?,
        action: r.get(6)?,
        comment: r.get(7)?,
        details: r.get(9)?,
        prev_hash: r.get::<_, Option<Vec<u8>>>(10)?.unwrap_or_default(),
        hash: r.get::<_, Option<Vec<u8>>>(11)?.unwrap_or_default(),
        stage: r.get(12)?,
        id: r.get(13)?,
    }))
}

/// Checks, in order: every link of the chain under `key`; that the chain
/// reaches its recorded head; that it contains and extends `against` (an
/// exported head); that every asset's register row shows the state and
/// holder its events tell.
pub(crate) fn verify(
    conn: &Db<'_>,
    key: &ChainKey,
    against: Option<&SignedHead>,
) -> AppResult<Verification> {
    let pinned = match against.map(|h| h.open(key)).transpose() {
        Ok(p) => p,
        Err(problem) => return Ok(Verification::broken(None, problem)),
    };
    let mut v = Verifier::new(key);
    let mut assets = HashMap::new();
    let mut pinned_seen = pinned.as_ref().is_some_and(|(seq, _)| *seq == 0);
    {
        let mut stmt = conn.prepare(CHAIN)?;
        let mut rows = stmt.query(())?;
        while let Some(row) = rows.next()? {
            let entry = row_to_entry(&row)?;
            let fed = match &entry {
                Entry::Event(e) => v.feed(e),
                Entry::Step(s) => v.feed(s),
            };
            if !fed {
                return Ok(v.finish());
            }
            if let Entry::Event(e) = &entry {
                replay(&mut assets, e);
            }
            if let Some((seq, hash)) = &pinned {
                let (tip_seq, tip_hash) = v.tip();
                if tip_seq == *seq {
                    if tip_hash != hash.as_slice() {
                        return Ok(Verification::broken(
                            Some(*seq),
                            format!(
                                "entry {seq} no longer has the hash of the exported head: \
                                 the chain was rebuilt from there on"
                            ),
                        ));
                    }
                    pinned_seen = true;
                }
            }
        }
    }
    let (last_seq, last_hash) = {
        let (s, h) = v.tip();
        (s, h.to_vec())
    };
    let (head_seq, head_hash) = head(conn)?;
    if (last_seq, last_hash.as_slice()) != (head_seq, head_hash.as_slice()) {
        return Ok(Verification {
            checked: v.finish().checked,
            ..Verification::broken(
                Some(last_seq + 1),
                format!(
                    "the chain ends at entry {last_seq} but its recorded head is entry \
                     {head_seq}: rows were removed from the end, or the head was edited"
                ),
            )
        });
    }
    if let (Some((seq, _)), false) = (&pinned, pinned_seen) {
        return Ok(Verification {
            checked: v.finish().checked,
            ..Verification::broken(
                Some(last_seq + 1),
                format!(
                    "the chain ends at entry {last_seq}, before the exported head's entry \
                     {seq}: entries were removed and the head rewritten"
                ),
            )
        });
    }
    let result = v.finish();
    if let Some((asset_id, problem)) = register_disagrees(conn, &assets)? {
        return Ok(Verification {
            checked: result.checked,
            broken_asset_id: Some(asset_id),
            ..Verification::broken(None, problem)
        });
    }
    Ok(result)
}

/// The first asset whose register row is not what its events tell.
fn register_disagrees(
    conn: &Db<'_>,
    replayed: &HashMap<i64, Replayed>,
) -> AppResult<Option<(i64, String)>> {
    let mut stmt = conn
        .prepare("SELECT id, state, holder_unit_id, holder_location_id FROM assets ORDER BY id")?;
    let mut rows = stmt.query(())?;
    let none = Replayed::default();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let row = Replayed {
            state: Some(r.get(1)?),
            unit_id: r.get(2)?,
            location_id: r.get(3)?,
        };
        let told = replayed.get(&id).unwrap_or(&none);
        let show = |a: &Replayed| {
            format!(
                "state {}, unit {}, location {}",
                a.state.as_deref().unwrap_or("-"),
                a.unit_id.map_or("-".into(), |u| u.to_string()),
                a.location_id.map_or("-".into(), |l| l.to_string()),
            )
        };
        if *told != row {
            return Ok(Some((
                id,
                format!(
                    "asset {id}: the register shows {} but its events tell {} \
                     (the assets table was changed outside the chain)",
                    show(&row),
                    show(told)
                ),
            )));
        }
    }
    Ok(None)
}

/// The current head, signed, once the whole database verifies.
pub(crate) fn export_head(conn: &Db<'_>, key: &ChainKey) -> AppResult<SignedHead> {
    let v = verify(conn, key, None)?;
    if !v.ok {
        return Err(Reason::HeadNotExported {
            problem: v.problem.unwrap_or_default(),
        }
        .into());
    }
    let (seq, hash) = head(conn)?;
    Ok(SignedHead::sign(key, seq, &hash, chrono::Utc::now()))
}

/// The append-only guards as migrations 0001 and 0003 create them;
/// [`rekey`] lifts them for its one transaction and puts them back.
const GUARDS: [(&str, &str, &str); 4] = [
    ("asset_events_no_update", "UPDATE", "asset_events"),
    ("asset_events_no_delete", "DELETE", "asset_events"),
    ("request_steps_no_update", "UPDATE", "request_steps"),
    ("request_steps_no_delete", "DELETE", "request_steps"),
];

/// What `admin rekey-chain` sealed.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Rekeyed {
    pub events: u64,
    pub steps: u64,
}

/// Seals a database from before migration 0007 under `key`: checks its
/// unkeyed chain link by link and against its head (refusing a broken
/// one, which must be investigated, not blessed), recomputes every link
/// with the key and appends the request steps recorded before keying.
fn rekey(tx: &Db<'_>, key: &ChainKey) -> AppResult<Rekeyed> {
    if verify(tx, key, None)?.ok {
        return Err(Reason::NothingToRekey.into());
    }
    let mut events: Vec<Event> = {
        let mut stmt = tx.prepare(&format!("SELECT {COLUMNS} FROM asset_events ORDER BY seq"))?;
        let rows = stmt.query_map((), row_to_event)?;
        rows.collect::<Result<_, _>>()?
    };
    let mut prev = GENESIS.to_vec();
    for (e, want_seq) in events.iter().zip(1..) {
        if e.seq != want_seq || e.prev_hash != prev || legacy_event_hash(&prev, e)[..] != e.hash[..]
        {
            return Err(Reason::UnkeyedChainBroken { at: e.describe() }.into());
        }
        prev = e.hash.clone();
    }
    if head(tx)? != (events.len() as i64, prev) {
        return Err(Reason::UnkeyedChainTruncated.into());
    }
    for (name, _, _) in GUARDS {
        tx.execute_batch(&format!("DROP TRIGGER IF EXISTS {name}"))?;
    }
    let mut prev = GENESIS.to_vec();
    for e in &mut events {
        e.prev_hash = prev;
        e.hash = entry_hash(key, &e.prev_hash, e).to_vec();
        tx.prepare_cached("UPDATE asset_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3")?
            .execute(rusqlite::params![e.prev_hash, e.hash, e.seq])?;
        prev = e.hash.clone();
    }
    let steps: Vec<StepEntry> = {
        let mut stmt = tx.prepare(&format!("{CHAIN_STEPS} WHERE seq IS NULL ORDER BY id"))?;
        let rows = stmt.query_map((), row_to_entry)?;
        rows.filter_map(|r| match r {
            Ok(Entry::Step(s)) => Some(Ok(s)),
            Ok(Entry::Event(_)) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?
    };
    let mut seq = events.len() as i64;
    for mut st in steps.iter().cloned() {
        seq += 1;
        st.seq = Some(seq);
        st.prev_hash = prev;
        st.hash = entry_hash(key, &st.prev_hash, &st).to_vec();
        tx.prepare_cached(
            "UPDATE request_steps SET seq = ?1, prev_hash = ?2, hash = ?3 WHERE id = ?4",
        )?
        .execute(rusqlite::params![seq, st.prev_hash, st.hash, st.id])?;
        prev = st.hash;
    }
    set_head(tx, seq, &prev)?;
    for (name, op, table) in GUARDS {
        tx.execute_batch(&format!(
            "CREATE TRIGGER {name} BEFORE {op} ON {table}
             BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
        ))?;
    }
    Ok(Rekeyed {
        events: events.len() as u64,
        steps: steps.len() as u64,
    })
}

impl Store {
    /// `admin rekey-chain`: see [`rekey`].
    pub async fn rekey_chain(&self) -> AppResult<Rekeyed> {
        let key = self.chain_key().clone();
        self.write(move |tx| rekey(tx, &key)).await
    }

    /// Refuses a chain key that does not seal the chain's last entry.
    pub async fn check_chain_key(&self) -> AppResult<()> {
        let key = self.chain_key().clone();
        self.read(move |c| check_key(c, &key)).await
    }

    /// Walks the whole chain and the register; reports the first problem.
    pub async fn verify_log(&self) -> AppResult<Verification> {
        self.verify_log_against(None).await
    }

    /// [`Store::verify_log`], also requiring the chain to contain and extend
    /// an exported head.
    pub async fn verify_log_against(&self, head: Option<SignedHead>) -> AppResult<Verification> {
        let key = self.chain_key().clone();
        self.read(move |c| verify(c, &key, head.as_ref())).await
    }

    /// The signed head to keep outside the database (`admin export-head`).
    pub async fn export_head(&self) -> AppResult<SignedHead> {
        let key = self.chain_key().clone();
        self.read(move |c| export_head(c, &key)).await
    }
}
