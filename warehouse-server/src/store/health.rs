//! Daemon and reader health: the daemon's reports, the tokens refused on a
//! daemon's behalf, and the rows `crate::health` classifies.

use crate::store::db::OptionalExtension;
use shared::sync::DaemonHealth;

use super::Store;
use crate::error::AppResult;
use crate::health::{build_view, DaemonRow, ReaderHealthView, ReaderRow, ReaderSeen, Thresholds};
use crate::register::ReaderRole;
use crate::time::now_ms;

/// Longest error text kept from a report; longer ones are cut (a report is
/// never refused for a long error message).
const MAX_ERROR_CHARS: usize = 500;

/// Refused tokens are counted at most once a second per daemon, so a flood
/// of bad requests costs the writer one row update a second.
const REFUSAL_EVERY_MS: i64 = 1_000;

fn cut(s: Option<String>) -> Option<String> {
    s.map(|s| s.chars().take(MAX_ERROR_CHARS).collect())
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Keeps a daemon's health report (the latest wins), checked first by
    /// `health::check_report`. `daemon` is the reporting daemon's row id;
    /// a reader name not bound to it is skipped. Times are shifted into
    /// server time by `now - sent_at`.
    pub async fn record_daemon_health(&self, daemon: i64, report: DaemonHealth) -> AppResult<()> {
        self.write(move |tx| {
            let now = now_ms();
            let skew = now.saturating_sub(report.sent_at.timestamp_millis());
            let server_time =
                |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis().saturating_add(skew);
            tx.prepare_cached(
                "INSERT INTO daemon_health (daemon, reported_at, started_at, backlog, dropped_total,
                     auth_failures, sync_failures, last_sync_success, last_error, refused,
                     refused_first_at, refused_last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, NULL, NULL)
                 ON CONFLICT (daemon) DO UPDATE SET reported_at = excluded.reported_at,
                     started_at = excluded.started_at, backlog = excluded.backlog,
                     dropped_total = excluded.dropped_total, auth_failures = excluded.auth_failures,
                     sync_failures = excluded.sync_failures,
                     last_sync_success = excluded.last_sync_success,
                     last_error = excluded.last_error, refused = 0, refused_first_at = NULL",
            )?
            .execute(rusqlite::params![
                daemon,
                now,
                server_time(report.started_at),
                as_i64(report.backlog),
                as_i64(report.dropped_total),
                as_i64(report.auth_failures),
                i64::from(report.sync_failures),
                report.last_sync_success.map(server_time),
                cut(report.last_error),
            ])?;
            for r in report.readers {
                tx.prepare_cached(
                    "INSERT INTO reader_health (reader, reported_at, connected, last_read_at,
                         reads_per_s, reads_total, errors, last_error)
                     SELECT id, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM readers
                     WHERE daemon = ?1 AND name = ?2
                     ON CONFLICT (reader) DO UPDATE SET reported_at = excluded.reported_at,
                         connected = excluded.connected, last_read_at = excluded.last_read_at,
                         reads_per_s = excluded.reads_per_s, reads_total = excluded.reads_total,
                         errors = excluded.errors, last_error = excluded.last_error",
                )?
                .execute(rusqlite::params![
                    daemon,
                    r.name,
                    now,
                    r.connected,
                    r.last_read_at.map(server_time),
                    if r.reads_per_s.is_finite() {
                        r.reads_per_s.max(0.0)
                    } else {
                        0.0
                    },
                    as_i64(r.reads_total),
                    as_i64(r.errors),
                    cut(r.last_error),
                ])?;
            }
            Ok(())
        })
        .await
    }

    /// Counts a refused token on behalf of `daemon_id` (a health report
    /// whose bearer token the server did not accept). Only registered ids
    /// are counted, at most once a second each: a read decides, so a flood
    /// of refused requests does not queue on the writer.
    pub async fn record_refused_token(&self, daemon_id: String) -> AppResult<()> {
        let now = now_ms();
        let id = daemon_id.clone();
        let due: bool = self
            .read(move |c| {
                let row: Option<Option<i64>> = c
                    .prepare_cached(
                        "SELECT h.refused_last_at FROM daemons d
                         LEFT JOIN daemon_health h ON h.daemon = d.id WHERE d.daemon_id = ?1",
                    )?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                Ok(match row {
                    None => false,
                    Some(last) => last.is_none_or(|t| now.saturating_sub(t) >= REFUSAL_EVERY_MS),
                })
            })
            .await?;
        if !due {
            return Ok(());
        }
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO daemon_health (daemon, refused, refused_first_at, refused_last_at)
                 SELECT id, 1, ?2, ?2 FROM daemons WHERE daemon_id = ?1
                 ON CONFLICT (daemon) DO UPDATE SET refused = daemon_health.refused + 1,
                     refused_first_at = coalesce(daemon_health.refused_first_at,
                                                 excluded.refused_first_at),
                     refused_last_at = excluded.refused_last_at",
            )?
            .execute(rusqlite::params![daemon_id, now])?;
            Ok(())
        })
        .await
    }

    /// Every daemon's health with its readers (of `role`, if given),
    /// classified at the current time.
    pub async fn reader_health(
        &self,
        th: Thresholds,
        role: Option<ReaderRole>,
    ) -> AppResult<ReaderHealthView> {
        self.read(move |c| {
            let now = now_ms();
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.daemon_id, d.revoked_at, h.reported_at,
                     (SELECT max(s.updated_at) FROM sync_daemons s
                      WHERE s.daemon_id = d.daemon_id
                         OR substr(s.daemon_id, 1, length(d.daemon_id) + 1) = d.daemon_id || ':'),
                     coalesce(h.backlog, 0), coalesce(h.dropped_total, 0),
                     coalesce(h.auth_failures, 0), coalesce(h.sync_failures, 0),
                     h.last_sync_success, h.last_error, coalesce(h.refused, 0),
                     h.refused_first_at, h.refused_last_at
                 FROM daemons d LEFT JOIN daemon_health h ON h.daemon = d.id
                 ORDER BY d.daemon_id",
            )?;
            let daemons = stmt
                .query_map((), |r| {
                    Ok(DaemonRow {
                        id: r.get(0)?,
                        daemon_id: r.get(1)?,
                        revoked_at: r.get(2)?,
                        reported_at: r.get(3)?,
                        last_batch_at: r.get(4)?,
                        backlog: r.get(5)?,
                        dropped_total: r.get(6)?,
                        auth_failures: r.get(7)?,
                        sync_failures: r.get(8)?,
                        last_sync_success: r.get(9)?,
                        last_error: r.get(10)?,
                        refused: r.get(11)?,
                        refused_first_at: r.get(12)?,
                        refused_last_at: r.get(13)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT r.id, r.daemon, r.name, r.role, r.location_id, h.reported_at,
                     h.connected, h.last_read_at, coalesce(h.reads_per_s, 0),
                     coalesce(h.reads_total, 0), coalesce(h.errors, 0), h.last_error
                 FROM readers r LEFT JOIN reader_health h ON h.reader = r.id
                 WHERE r.daemon IS NOT NULL ORDER BY r.name",
            )?;
            let readers = stmt
                .query_map((), |r| {
                    let role: String = r.get(3)?;
                    let reported_at: Option<i64> = r.get(5)?;
                    let connected: Option<bool> = r.get(6)?;
                    let last_read_at: Option<i64> = r.get(7)?;
                    Ok(ReaderRow {
                        id: r.get(0)?,
                        daemon: r.get(1)?,
                        name: r.get(2)?,
                        role: ReaderRole::parse(&role).unwrap_or(ReaderRole::Desk),
                        location_id: r.get(4)?,
                        seen: reported_at.map(|reported_at| ReaderSeen {
                            reported_at,
                            connected: connected.unwrap_or(false),
                            last_read_at,
                        }),
                        reads_per_s: r.get(8)?,
                        reads_total: r.get(9)?,
                        errors: r.get(10)?,
                        last_error: r.get(11)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(build_view(now, th, daemons, readers, role))
        })
        .await
    }
}
