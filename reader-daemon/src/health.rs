//! Health reports to the server (`POST /api/v1/daemons/{id}/health`,
//! `shared::sync::DaemonHealth`): every `sync.health_interval_ms` the
//! daemon says what its readers are doing and how much is waiting in its
//! journal, whether or not it has observations to send — a dead reader
//! sends no batches, which is exactly when the keeper needs to know.
//!
//! Reads per second are averaged over the last minute ([`RateWindow`]); a
//! 401 counts as a token refusal like a refused batch
//! ([`SyncStatus::auth_refused`]), so `status` and the log say so even when
//! there is nothing to send. Reports go to the sync's current server URL
//! ([`Servers`]); one that cannot be reached (or answers 5xx) moves the
//! choice on and the next URL is tried in the same tick, each at most once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use shared::sync::{health_path, DaemonHealth, ReaderReport};
use tokio::sync::watch;

use crate::journal::Journal;
use crate::reader::LinkState;
use crate::servers::Servers;
use crate::status::{Live, StatusReport};
use crate::sync::{self, SyncSettings};

/// How far back [`RateWindow`] averages.
pub const RATE_WINDOW: TimeDelta = TimeDelta::seconds(60);

/// Per reader, `(time, reads_total)` samples over the last [`RATE_WINDOW`]:
/// the average rate is the difference between the newest and the oldest.
#[derive(Debug, Default)]
pub struct RateWindow {
    samples: Vec<VecDeque<(DateTime<Utc>, u64)>>,
}

impl RateWindow {
    /// Adds this moment's totals (one per reader, in order) and returns
    /// each reader's reads per second over the window (0 until two samples).
    pub fn sample(&mut self, now: DateTime<Utc>, totals: &[u64]) -> Vec<f64> {
        self.samples.resize_with(totals.len(), VecDeque::new);
        self.samples
            .iter_mut()
            .zip(totals)
            .map(|(q, &total)| {
                q.push_back((now, total));
                while q.len() > 2 && q.front().is_some_and(|(t, _)| now - *t > RATE_WINDOW) {
                    q.pop_front();
                }
                match (q.front(), q.back()) {
                    (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                        let secs = (*t1 - *t0).num_milliseconds() as f64 / 1000.0;
                        n1.saturating_sub(*n0) as f64 / secs
                    }
                    _ => 0.0,
                }
            })
            .collect()
    }
}

/// The report for one moment of the daemon's status.
pub fn report(r: &StatusReport, rates: &[f64], now: DateTime<Utc>) -> DaemonHealth {
    DaemonHealth {
        daemon_id: r.daemon_id.clone(),
        started_at: r.started_at,
        sent_at: now,
        backlog: r.journal.backlog,
        dropped_total: r.journal.dropped_total,
        auth_failures: r.sync.auth_failures,
        sync_failures: r.sync.consecutive_failures,
        last_sync_success: r.sync.last_success,
        last_error: r
            .sync
            .last_error
            .clone()
            .filter(|_| r.sync.consecutive_failures > 0),
        readers: r
            .readers
            .iter()
            .zip(rates.iter().copied().chain(std::iter::repeat(0.0)))
            .map(|(h, rate)| ReaderReport {
                name: h.name.clone(),
                connected: h.state == LinkState::Running,
                last_read_at: h.last_read,
                reads_per_s: rate,
                reads_total: h.reads_total,
                errors: h.reconnects,
                last_error: h.last_error.clone(),
            })
            .collect(),
    }
}

/// Posts `body` to the current server, moving on to the next URL when one
/// is away or failing (each URL once); the URL that answered and its status.
async fn deliver(
    client: &reqwest::Client,
    servers: &Servers,
    path: &str,
    token: &str,
    body: &DaemonHealth,
) -> Option<(String, u16)> {
    for _ in 0..servers.len() {
        let (at, base) = servers.current()?;
        let url = format!("{base}{path}");
        let answer = client.post(&url).bearer_auth(token).json(body).send().await;
        let now = Utc::now();
        match answer {
            Ok(r) if !r.status().is_server_error() => {
                let code = r.status().as_u16();
                if r.status().is_success() {
                    servers.worked(at, now);
                }
                return Some((url, code));
            }
            Ok(r) => {
                let reason = format!("health report to {url}: server answered {}", r.status());
                tracing::debug!("{reason}");
                servers.failed(at, &reason, true, now);
            }
            Err(e) => {
                let reason = format!("cannot reach {url}: {}", sync::error_chain(&e));
                tracing::debug!("health report not delivered: {reason}");
                servers.failed(at, &reason, true, now);
            }
        }
    }
    None
}

/// Posts a health report every `interval` until `shutdown`.
pub async fn run(
    live: Arc<Live>,
    journal: Arc<Mutex<Journal>>,
    settings: SyncSettings,
    servers: Arc<Servers>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match sync::client(settings.request_timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client; health reports disabled");
            return;
        }
    };
    let path = health_path(&settings.daemon_id);
    let mut rates = RateWindow::default();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned_missing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = Utc::now();
        let status = live.report();
        let totals: Vec<u64> = status.readers.iter().map(|h| h.reads_total).collect();
        let body = report(&status, &rates.sample(now, &totals), now);
        let Some((url, code)) = deliver(&client, &servers, &path, &settings.token, &body).await
        else {
            continue;
        };
        match code {
            200..=299 => {
                let mut s = live.sync.lock().unwrap_or_else(|e| e.into_inner());
                s.auth_accepted();
                s.last_health_report = Some(now);
            }
            401 => {
                let log = live
                    .sync
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .auth_refused(now);
                if log {
                    sync::log_auth_refusal(&journal, &live.sync, "401 to a health report").await;
                }
            }
            // A server from before health reports: batches still flow.
            404 | 405 if !warned_missing => {
                warned_missing = true;
                tracing::warn!(%url, code, "the server takes no health reports; the keeper's pages will not show this daemon's readers");
            }
            404 | 405 => {}
            _ => tracing::warn!(%url, code, "health report refused"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_per_second_are_averaged_over_the_last_minute() {
        let t0 = Utc::now();
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        let mut w = RateWindow::default();
        assert_eq!(w.sample(at(0), &[0, 0]), [0.0, 0.0]);
        assert_eq!(w.sample(at(10), &[500, 0]), [50.0, 0.0]);
        assert_eq!(w.sample(at(20), &[1000, 30]), [50.0, 1.5]);
        // After a minute the oldest samples fall out: the reader stopped.
        w.sample(at(70), &[1000, 30]);
        assert_eq!(w.sample(at(85), &[1000, 30]), [0.0, 0.0]);
    }
}
