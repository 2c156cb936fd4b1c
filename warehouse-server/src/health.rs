//! Reader and daemon health: what `GET /api/v1/health/readers` answers and
//! the pages show. The rule that turns "last heard of" times into a status
//! is here ([`daemon_status`], [`reader_status`]), pure; the rows come from
//! [`crate::store`] (`daemon_health`, `reader_health`, `sync_daemons`).
//!
//! A daemon is heard of by its health reports (`POST
//! /api/v1/daemons/{id}/health`, every few seconds) and by every batch the
//! server applies. Statuses:
//!
//! - `offline` — nothing heard from the daemon for `offline_after`, or it
//!   says the reader's serial link is down;
//! - `auth_failing` — nothing accepted from the daemon for `offline_after`,
//!   but the server refused a token sent on its behalf within that window
//!   (a revoked or wrong token; a second run against an old server). Only
//!   ever shown instead of `offline`, so refused requests from anyone cannot
//!   make a daemon that is heard from look broken;
//! - `stale` — the daemon is heard from and the reader is up, but it has
//!   read no tag for `stale_after` (or it never reported the reader);
//! - `ok` — otherwise.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use shared::sync::{DaemonHealth, MAX_READERS_PER_HEALTH};

use crate::error::{AppResult, Reason};
use crate::policy::Actor;
use crate::register::ReaderRole;
use crate::time::ts;

/// How old "last heard" may be, milliseconds (from the config's
/// `health_stale_after_secs` and `health_offline_after_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub stale_after_ms: i64,
    pub offline_after_ms: i64,
}

impl Thresholds {
    pub fn from_secs(stale_after: u64, offline_after: u64) -> Self {
        let ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Self {
            stale_after_ms: ms(stale_after),
            offline_after_ms: ms(offline_after),
        }
    }
}

/// A reader's (or a daemon's) health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Stale,
    Offline,
    AuthFailing,
}

impl HealthStatus {
    pub const ALL: [Self; 4] = [Self::Ok, Self::Stale, Self::Offline, Self::AuthFailing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Stale => "stale",
            Self::Offline => "offline",
            Self::AuthFailing => "auth_failing",
        }
    }
}

/// True if `at` is at most `window` ms before `now`.
fn within(now: i64, at: Option<i64>, window: i64) -> bool {
    at.is_some_and(|t| now.saturating_sub(t) <= window)
}

/// The daemon's status: `ok` while heard of within `offline_after`;
/// otherwise `auth_failing` if a token sent on its behalf was refused within
/// that window and after the last contact, else `offline`.
pub fn daemon_status(
    now: i64,
    last_contact: Option<i64>,
    refused_last_at: Option<i64>,
    th: Thresholds,
) -> HealthStatus {
    if within(now, last_contact, th.offline_after_ms) {
        return HealthStatus::Ok;
    }
    let refused_since_contact = match (refused_last_at, last_contact) {
        (Some(r), Some(c)) => r > c,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if refused_since_contact && within(now, refused_last_at, th.offline_after_ms) {
        HealthStatus::AuthFailing
    } else {
        HealthStatus::Offline
    }
}

/// What the daemon last reported about one reader, in server time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReaderSeen {
    pub reported_at: i64,
    pub connected: bool,
    pub last_read_at: Option<i64>,
}

/// A reader's status given its daemon's and the daemon's last report on it.
/// A report older than `offline_after` counts as none.
pub fn reader_status(
    now: i64,
    daemon: HealthStatus,
    seen: Option<ReaderSeen>,
    th: Thresholds,
) -> HealthStatus {
    if daemon != HealthStatus::Ok {
        return daemon;
    }
    let Some(seen) = seen.filter(|s| within(now, Some(s.reported_at), th.offline_after_ms)) else {
        return HealthStatus::Stale;
    };
    if !seen.connected {
        HealthStatus::Offline
    } else if within(now, seen.last_read_at, th.stale_after_ms) {
        HealthStatus::Ok
    } else {
        HealthStatus::Stale
    }
}

/// What a health report must be before it is kept: sent by the daemon the
/// path names (`path_id`) under its own id, naming only its readers (403
/// `not_bound` naming `daemon_id` or `readers[i].name`), at most
/// [`MAX_READERS_PER_HEALTH`] of them (422). Anyone but a daemon is refused
/// earlier, by `policy::authorize`.
pub fn check_report(actor: &Actor, path_id: &str, report: &DaemonHealth) -> AppResult<()> {
    let Actor::Daemon {
        daemon_id: own,
        readers,
        ..
    } = actor
    else {
        return Err(Reason::NotAllowed {
            actor: actor.label(),
            action: "ReportHealth".into(),
            roles: Vec::new(),
        }
        .into());
    };
    for claimed in [path_id, report.daemon_id.as_str()] {
        if claimed != own {
            return Err(Reason::ForeignDaemon {
                own: own.clone(),
                claimed: claimed.to_owned(),
            }
            .into());
        }
    }
    if report.readers.len() > MAX_READERS_PER_HEALTH {
        return Err(Reason::TooMany {
            field: "readers".into(),
            max: MAX_READERS_PER_HEALTH,
            given: Some(report.readers.len()),
        }
        .into());
    }
    if let Some((i, r)) = report
        .readers
        .iter()
        .enumerate()
        .find(|(_, r)| !readers.contains(&r.name))
    {
        return Err(Reason::ReaderNotBound {
            field: format!("readers[{i}].name"),
            reader: r.name.clone(),
            daemon: own.clone(),
            readers: readers.clone(),
        }
        .into());
    }
    Ok(())
}

/// `GET /api/v1/health/readers`: every daemon's health with its readers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReaderHealthView {
    /// Server time the statuses were computed at.
    pub generated_at: DateTime<Utc>,
    pub stale_after_secs: u64,
    pub offline_after_secs: u64,
    /// Readers per status (after the `role` filter).
    pub counts: StatusCounts,
    pub daemons: Vec<DaemonHealthView>,
}

impl ReaderHealthView {
    /// The readers, each with its daemon, in the view's order.
    pub fn readers(&self) -> impl Iterator<Item = (&DaemonHealthView, &ReaderHealthRow)> {
        self.daemons
            .iter()
            .flat_map(|d| d.readers.iter().map(move |r| (d, r)))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusCounts {
    pub ok: u64,
    pub stale: u64,
    pub offline: u64,
    pub auth_failing: u64,
}

impl StatusCounts {
    pub fn add(&mut self, s: HealthStatus) {
        let n = match s {
            HealthStatus::Ok => &mut self.ok,
            HealthStatus::Stale => &mut self.stale,
            HealthStatus::Offline => &mut self.offline,
            HealthStatus::AuthFailing => &mut self.auth_failing,
        };
        *n += 1;
    }
}

/// One daemon: when it was last heard of, what it last said, and its readers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DaemonHealthView {
    pub daemon_id: String,
    pub status: HealthStatus,
    /// Its token is revoked (shown only while someone still uses it).
    pub revoked: bool,
    /// The later of the last health report and the last batch applied.
    pub last_contact: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub last_batch_at: Option<DateTime<Utc>>,
    /// Observations waiting in its journal, as last reported.
    pub backlog: u64,
    pub dropped_total: u64,
    /// Token refusals the daemon counted since it started (as last reported).
    pub auth_failures: u64,
    /// Health reports naming this daemon whose token the server refused since
    /// its last accepted report (at most one counted per second).
    pub refused_tokens: u64,
    pub refused_since: Option<DateTime<Utc>>,
    pub last_refused_at: Option<DateTime<Utc>>,
    pub sync_failures: u32,
    pub last_sync_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub readers: Vec<ReaderHealthRow>,
}

/// One reader's health.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReaderHealthRow {
    pub reader_id: i64,
    pub name: String,
    pub role: ReaderRole,
    pub location_id: Option<i64>,
    pub status: HealthStatus,
    /// The serial link, as last reported (absent: never reported).
    pub connected: Option<bool>,
    pub last_read_at: Option<DateTime<Utc>>,
    pub reads_per_s: f64,
    pub reads_total: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
}

/// `?role=desk`: only readers of one role.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HealthQuery {
    pub role: Option<ReaderRole>,
}

/// A daemon's stored rows before classification (the store fills it).
#[derive(Debug, Clone, Default)]
pub struct DaemonRow {
    pub id: i64,
    pub daemon_id: String,
    pub revoked_at: Option<i64>,
    pub reported_at: Option<i64>,
    pub last_batch_at: Option<i64>,
    pub backlog: i64,
    pub dropped_total: i64,
    pub auth_failures: i64,
    pub sync_failures: i64,
    pub last_sync_success: Option<i64>,
    pub last_error: Option<String>,
    pub refused: i64,
    pub refused_first_at: Option<i64>,
    pub refused_last_at: Option<i64>,
}

/// A reader's stored rows before classification.
#[derive(Debug, Clone)]
pub struct ReaderRow {
    pub id: i64,
    pub daemon: i64,
    pub name: String,
    pub role: ReaderRole,
    pub location_id: Option<i64>,
    pub seen: Option<ReaderSeen>,
    pub reads_per_s: f64,
    pub reads_total: i64,
    pub errors: i64,
    pub last_error: Option<String>,
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Classifies the stored rows at `now`. Revoked daemons are left out unless
/// a token was refused on their behalf after the revocation (someone still
/// runs them); daemons with no reader of `role` are left out.
pub fn build_view(
    now: i64,
    th: Thresholds,
    daemons: Vec<DaemonRow>,
    readers: Vec<ReaderRow>,
    role: Option<ReaderRole>,
) -> ReaderHealthView {
    let mut counts = StatusCounts::default();
    let mut out = Vec::with_capacity(daemons.len());
    for d in daemons {
        if let Some(revoked) = d.revoked_at {
            if d.refused_last_at.is_none_or(|r| r <= revoked) {
                continue;
            }
        }
        let last_contact = d.reported_at.max(d.last_batch_at);
        let status = daemon_status(now, last_contact, d.refused_last_at, th);
        let rows: Vec<ReaderHealthRow> = readers
            .iter()
            .filter(|r| r.daemon == d.id && role.is_none_or(|want| r.role == want))
            .map(|r| {
                let s = reader_status(now, status, r.seen, th);
                counts.add(s);
                ReaderHealthRow {
                    reader_id: r.id,
                    name: r.name.clone(),
                    role: r.role,
                    location_id: r.location_id,
                    status: s,
                    connected: r.seen.map(|s| s.connected),
                    last_read_at: r.seen.and_then(|s| s.last_read_at).map(ts),
                    reads_per_s: r.reads_per_s,
                    reads_total: count(r.reads_total),
                    errors: count(r.errors),
                    last_error: r.last_error.clone(),
                    reported_at: r.seen.map(|s| ts(s.reported_at)),
                }
            })
            .collect();
        if rows.is_empty() && role.is_some() {
            continue;
        }
        let refused_live = d.refused > 0;
        out.push(DaemonHealthView {
            daemon_id: d.daemon_id,
            status,
            revoked: d.revoked_at.is_some(),
            last_contact: last_contact.map(ts),
            last_report_at: d.reported_at.map(ts),
            last_batch_at: d.last_batch_at.map(ts),
            backlog: count(d.backlog),
            dropped_total: count(d.dropped_total),
            auth_failures: count(d.auth_failures),
            refused_tokens: count(d.refused),
            refused_since: d.refused_first_at.filter(|_| refused_live).map(ts),
            last_refused_at: d.refused_last_at.map(ts),
            sync_failures: u32::try_from(d.sync_failures).unwrap_or(u32::MAX),
            last_sync_success: d.last_sync_success.map(ts),
            last_error: d.last_error,
            readers: rows,
        });
    }
    ReaderHealthView {
        generated_at: ts(now),
        stale_after_secs: count(th.stale_after_ms / 1000),
        offline_after_secs: count(th.offline_after_ms / 1000),
        counts,
        daemons: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: Thresholds = Thresholds {
        stale_after_ms: 30_000,
        offline_after_ms: 60_000,
    };
    const NOW: i64 = 1_000_000_000;

    #[test]
    fn a_daemon_heard_of_is_ok_and_refusals_only_rename_offline() {
        use HealthStatus::*;
        assert_eq!(daemon_status(NOW, Some(NOW - 1_000), None, TH), Ok);
        // Refused tokens cannot make a daemon that is heard of look broken.
        assert_eq!(daemon_status(NOW, Some(NOW - 1_000), Some(NOW), TH), Ok);
        assert_eq!(daemon_status(NOW, Some(NOW - 61_000), None, TH), Offline);
        assert_eq!(daemon_status(NOW, None, None, TH), Offline);
        assert_eq!(
            daemon_status(NOW, Some(NOW - 61_000), Some(NOW - 5_000), TH),
            AuthFailing
        );
        assert_eq!(daemon_status(NOW, None, Some(NOW - 5_000), TH), AuthFailing);
        // Refusals that stopped long ago: just offline.
        assert_eq!(daemon_status(NOW, None, Some(NOW - 120_000), TH), Offline);
        // A refusal before the last contact is history.
        assert_eq!(
            daemon_status(NOW, Some(NOW - 61_000), Some(NOW - 62_000), TH),
            Offline
        );
    }

    #[test]
    fn a_reader_is_ok_only_while_up_and_reading() {
        use HealthStatus::*;
        let seen = |connected, read: Option<i64>| {
            Some(ReaderSeen {
                reported_at: NOW - 2_000,
                connected,
                last_read_at: read.map(|ago| NOW - ago),
            })
        };
        assert_eq!(reader_status(NOW, Ok, seen(true, Some(1_000)), TH), Ok);
        assert_eq!(reader_status(NOW, Ok, seen(true, Some(31_000)), TH), Stale);
        assert_eq!(reader_status(NOW, Ok, seen(true, None), TH), Stale);
        assert_eq!(
            reader_status(NOW, Ok, seen(false, Some(1_000)), TH),
            Offline
        );
        assert_eq!(reader_status(NOW, Ok, None, TH), Stale);
        for d in [Offline, AuthFailing] {
            assert_eq!(reader_status(NOW, d, seen(true, Some(1_000)), TH), d);
        }
        // A report too old to trust counts as none.
        let old = Some(ReaderSeen {
            reported_at: NOW - 61_000,
            connected: true,
            last_read_at: Some(NOW - 61_000),
        });
        assert_eq!(reader_status(NOW, Ok, old, TH), Stale);
    }

    #[test]
    fn a_report_is_its_daemons_own() {
        let edge = Actor::Daemon {
            id: 1,
            daemon_id: "edge-1".into(),
            readers: vec!["desk-1".into()],
        };
        let now = chrono::Utc::now();
        let reader = |name: &str| shared::sync::ReaderReport {
            name: name.into(),
            connected: true,
            last_read_at: None,
            reads_per_s: 0.0,
            reads_total: 0,
            errors: 0,
            last_error: None,
        };
        let report = |id: &str, readers: Vec<shared::sync::ReaderReport>| DaemonHealth {
            daemon_id: id.into(),
            started_at: now,
            sent_at: now,
            backlog: 0,
            dropped_total: 0,
            auth_failures: 0,
            sync_failures: 0,
            last_sync_success: None,
            last_error: None,
            readers,
        };
        let field = |r: AppResult<()>| r.err().and_then(|e| e.field);
        assert!(check_report(&edge, "edge-1", &report("edge-1", vec![reader("desk-1")])).is_ok());
        assert_eq!(
            field(check_report(&edge, "edge-2", &report("edge-1", vec![]))),
            Some("daemon_id".into())
        );
        assert_eq!(
            field(check_report(&edge, "edge-1", &report("edge-2", vec![]))),
            Some("daemon_id".into())
        );
        assert_eq!(
            field(check_report(
                &edge,
                "edge-1",
                &report("edge-1", vec![reader("gate-9")])
            )),
            Some("readers[0].name".into())
        );
        let many = vec![reader("desk-1"); MAX_READERS_PER_HEALTH + 1];
        assert_eq!(
            field(check_report(&edge, "edge-1", &report("edge-1", many))),
            Some("readers".into())
        );
        assert!(check_report(&Actor::System, "edge-1", &report("edge-1", vec![])).is_err());
    }

    #[test]
    fn the_view_hides_quiet_revoked_daemons_and_filters_by_role() {
        let daemon = |id: i64, name: &str, revoked_at: Option<i64>, refused_last_at| DaemonRow {
            id,
            daemon_id: name.into(),
            revoked_at,
            reported_at: Some(NOW - 1_000),
            refused_last_at,
            refused: i64::from(refused_last_at.is_some()),
            ..DaemonRow::default()
        };
        let reader = |id: i64, daemon: i64, role| ReaderRow {
            id,
            daemon,
            name: format!("r{id}"),
            role,
            location_id: None,
            seen: Some(ReaderSeen {
                reported_at: NOW - 1_000,
                connected: true,
                last_read_at: Some(NOW - 500),
            }),
            reads_per_s: 12.5,
            reads_total: 100,
            errors: 0,
            last_error: None,
        };
        let daemons = vec![
            daemon(1, "edge-1", None, None),
            daemon(2, "old", Some(NOW - 50_000), None),
            daemon(3, "again", Some(NOW - 50_000), Some(NOW - 2_000)),
        ];
        let readers = vec![
            reader(1, 1, ReaderRole::Desk),
            reader(2, 1, ReaderRole::Gate),
            reader(3, 2, ReaderRole::Desk),
            reader(4, 3, ReaderRole::Gate),
        ];
        let all = build_view(NOW, TH, daemons.clone(), readers.clone(), None);
        let ids: Vec<&str> = all.daemons.iter().map(|d| d.daemon_id.as_str()).collect();
        assert_eq!(ids, ["edge-1", "again"]);
        assert_eq!(all.counts.ok, 3);
        assert_eq!(all.readers().count(), 3);
        let desks = build_view(NOW, TH, daemons, readers, Some(ReaderRole::Desk));
        assert_eq!(desks.daemons.len(), 1);
        assert_eq!(
            desks
                .readers()
                .map(|(_, r)| r.reader_id)
                .collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(desks.stale_after_secs, 30);
    }
}
