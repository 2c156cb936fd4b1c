//! The audit log (auditors' reads, append-only) and the trail of an asset
//! or a unit over a period, read from the event chain and the request
//! steps. What a trail is and how it is written is `crate::audit`'s.

use rusqlite::types::Value;

use super::db::{params_from_iter, Db, Row};
use super::{paging, Period, Store};
use crate::audit::{AuditRead, TrailEntry, TrailOf};
use crate::error::AppResult;
use crate::paging::Page;
use crate::time::{now_ms, ts};

fn row_to_read(r: &Row<'_>) -> rusqlite::Result<AuditRead> {
    Ok(AuditRead {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        at: ts(r.get(3)?),
        method: r.get(4)?,
        path: r.get(5)?,
        subject: r.get(6)?,
    })
}

/// Entries of `sql`, whose columns are those of [`TrailEntry`] after its
/// `source`: at, seq, asset number, asset name, request id, action, actor,
/// place, note.
fn entries(
    c: &Db<'_>,
    source: &'static str,
    sql: &str,
    args: &[Value],
) -> AppResult<Vec<TrailEntry>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(TrailEntry {
            at: r.get(0)?,
            source,
            seq: r.get(1)?,
            asset_number: r.get(2)?,
            asset_name: r.get(3)?,
            request_id: r.get(4)?,
            action: r.get(5)?,
            actor: r.get(6)?,
            place: r.get(7)?,
            note: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The events a trail covers, as a condition over `e` and `?1` (the
/// asset or unit id).
fn events_of(of: TrailOf) -> &'static str {
    match of {
        TrailOf::Asset(_) => "e.asset_id = ?1",
        TrailOf::Unit(_) => {
            "e.asset_id IN (SELECT a.id FROM assets a WHERE a.holder_unit_id = ?1
             UNION SELECT i.asset_id FROM request_items i JOIN requests q ON q.id = i.request_id
                   WHERE q.unit_id = ?1 OR q.other_unit_id = ?1)"
        }
    }
}

/// The requests a trail covers, as SQL over `?1`.
fn requests_of(of: TrailOf) -> &'static str {
    match of {
        TrailOf::Asset(_) => "SELECT i.request_id FROM request_items i WHERE i.asset_id = ?1",
        TrailOf::Unit(_) => {
            "SELECT q.id FROM requests q WHERE q.unit_id = ?1 OR q.other_unit_id = ?1"
        }
    }
}

fn trail(c: &Db<'_>, of: TrailOf, period: Option<Period>) -> AppResult<Vec<TrailEntry>> {
    let id = match of {
        TrailOf::Asset(id) | TrailOf::Unit(id) => id,
    };
    let (start, end) = period.map_or((i64::MIN, i64::MAX), |p| p.bounds_ms());
    let args = [
        Value::Integer(id),
        Value::Integer(start),
        Value::Integer(end),
    ];
    let mut all = entries(
        c,
        "event",
        &format!(
            "SELECT e.at, e.seq, a.asset_number, a.name, CAST(NULL AS INTEGER), e.action, e.actor,
                    e.place, e.reason
             FROM asset_events e JOIN assets a ON a.id = e.asset_id
             WHERE {} AND e.at >= ?2 AND e.at < ?3
             ORDER BY e.seq",
            events_of(of)
        ),
        &args,
    )?;
    all.extend(entries(
        c,
        "step",
        &format!(
            "SELECT s.at, s.id, CAST(NULL AS TEXT), CAST(NULL AS TEXT), s.request_id, s.action, s.actor, s.stage, s.comment
             FROM request_steps s
             WHERE s.request_id IN ({}) AND s.at >= ?2 AND s.at < ?3
             ORDER BY s.id",
            requests_of(of)
        ),
        &args,
    )?);
    all.sort_by(|a, b| (a.at, a.source, a.seq).cmp(&(b.at, b.source, b.seq)));
    Ok(all)
}

impl Store {
    /// Records one read by an auditor.
    pub async fn record_read(
        &self,
        user_id: i64,
        username: String,
        method: String,
        path: String,
    ) -> AppResult<()> {
        let subject = crate::audit::subject_of(&path);
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO audit_reads (user_id, username, at, method, path, subject)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (user_id, username, now_ms(), method, path, subject),
            )?;
            Ok(())
        })
        .await
    }

    /// The audit log, newest first, optionally of one auditor.
    pub async fn audit_reads(
        &self,
        username: Option<String>,
        page: (i64, i64),
    ) -> AppResult<Page<AuditRead>> {
        self.read(move |c| {
            let (from, args) = match username {
                Some(u) => ("audit_reads WHERE username = ?1", vec![Value::Text(u)]),
                None => ("audit_reads", Vec::new()),
            };
            paging::page(
                c,
                "id, user_id, username, at, method, path, subject",
                from,
                "id DESC",
                &args,
                page,
                row_to_read,
            )
        })
        .await
    }

    /// The trail of an asset or a unit in `period` (all time without one),
    /// in time order.
    pub async fn trail(&self, of: TrailOf, period: Option<Period>) -> AppResult<Vec<TrailEntry>> {
        self.read(move |c| trail(c, of, period)).await
    }
}
