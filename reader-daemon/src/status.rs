//! What a running daemon says about itself: a JSON status (file and
//! `GET /status`) and Prometheus metrics (`GET /metrics`), both on a
//! loopback port. `reader-daemon status` reads them back.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::journal::JournalStats;
use crate::reader::ReaderHealth;
use crate::servers::{Servers, ServersReport};
use crate::sync::SyncStatus;

/// Everything `status` shows, as one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub daemon_id: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where `/metrics` and `/status` answer.
    pub metrics_addr: Option<SocketAddr>,
    pub readers: Vec<ReaderHealth>,
    pub journal: JournalStats,
    pub sync: SyncStatus,
    /// The server URLs, which one is current, each one's last error, and
    /// the fail-overs between them.
    #[serde(default)]
    pub servers: ServersReport,
    /// Observations committed to the journal by this run.
    pub observations_committed: u64,
}

/// The live state the status tasks sample.
#[derive(Debug)]
pub struct Live {
    pub daemon_id: String,
    pub started_at: DateTime<Utc>,
    pub readers: Vec<Arc<Mutex<ReaderHealth>>>,
    pub sync: Arc<Mutex<SyncStatus>>,
    pub servers: Arc<Servers>,
    pub journal: Mutex<JournalStats>,
    pub observations_committed: std::sync::atomic::AtomicU64,
    pub metrics_addr: Mutex<Option<SocketAddr>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    pub fn report(&self) -> StatusReport {
        StatusReport {
            daemon_id: self.daemon_id.clone(),
            pid: std::process::id(),
            started_at: self.started_at,
            updated_at: Utc::now(),
            metrics_addr: *lock(&self.metrics_addr),
            readers: self.readers.iter().map(|r| lock(r).clone()).collect(),
            journal: lock(&self.journal).clone(),
            sync: lock(&self.sync).clone(),
            servers: self.servers.report(),
            observations_committed: self
                .observations_committed
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// Writes the status file atomically (temp file + rename).
pub fn write_file(path: &Path, report: &StatusReport) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

/// Prometheus text exposition of a report.
pub fn render_metrics(r: &StatusReport) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(4096);
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(s, "{name}{labels} {v}");
        }
    };
    let per_reader = |f: &dyn Fn(&ReaderHealth) -> f64| -> Vec<(String, f64)> {
        r.readers
            .iter()
            .map(|h| (format!("{{reader=\"{}\"}}", escape(&h.name)), f(h)))
            .collect()
    };
    let one = |v: f64| vec![(String::new(), v)];
    family(
        "reader_daemon_reader_up",
        "gauge",
        "1 while the reader's inventory runs.",
        per_reader(&|h| f64::from(u8::from(h.state == crate::reader::LinkState::Running))),
    );
    family(
        "reader_daemon_reads_total",
        "counter",
        "Tag reports decoded.",
        per_reader(&|h| h.reads_total as f64),
    );
    family(
        "reader_daemon_reads_per_second",
        "gauge",
        "Tag reports per second over the last second.",
        per_reader(&|h| h.reads_per_s),
    );
    family(
        "reader_daemon_skipped_bytes_total",
        "counter",
        "Bytes skipped while resynchronising after noise.",
        per_reader(&|h| h.skipped_bytes as f64),
    );
    family(
        "reader_daemon_reconnects_total",
        "counter",
        "Times the serial port was reopened.",
        per_reader(&|h| h.reconnects as f64),
    );
    let j = &r.journal;
    family(
        "reader_daemon_journal_backlog",
        "gauge",
        "Observations journalled and not yet acknowledged.",
        one(j.backlog as f64),
    );
    family(
        "reader_daemon_journal_fill_ratio",
        "gauge",
        "Backlog over the journal's bound.",
        one(j.fill),
    );
    family(
        "reader_daemon_journal_committed_total",
        "counter",
        "Observations ever committed to the journal.",
        one(j.committed_total as f64),
    );
    family(
        "reader_daemon_journal_dropped_total",
        "counter",
        "Observations dropped because the journal was full.",
        one(j.dropped_total as f64),
    );
    family(
        "reader_daemon_sync_acked_total",
        "counter",
        "Observations the server acknowledged.",
        one(j.acked_total as f64),
    );
    family(
        "reader_daemon_sync_applied_through",
        "gauge",
        "Highest batch sequence the server acknowledged.",
        one(j.applied_through as f64),
    );
    let sy = &r.sync;
    family(
        "reader_daemon_sync_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last acknowledged batch (0: none yet).",
        one(sy.last_success.map(|t| t.timestamp() as f64).unwrap_or(0.0)),
    );
    family(
        "reader_daemon_sync_consecutive_failures",
        "gauge",
        "Failed sync attempts since the last success.",
        one(f64::from(sy.consecutive_failures)),
    );
    family(
        "reader_daemon_sync_acks_refused_total",
        "counter",
        "Acknowledgements refused for naming a sequence above the batch sent (someone else posts under this daemon id).",
        one(sy.acks_refused as f64),
    );
    family(
        "reader_daemon_sync_auth_failures_total",
        "counter",
        "Times the server refused this daemon's token (401) on a batch or a health report.",
        one(sy.auth_failures as f64),
    );
    family(
        "reader_daemon_sync_auth_failing",
        "gauge",
        "1 while the server's last answer was a token refusal (reads pile up in the journal).",
        one(f64::from(u8::from(sy.auth_failing))),
    );
    family(
        "reader_daemon_sync_requests_total",
        "counter",
        "Batch POSTs made.",
        one(sy.requests as f64),
    );
    let per_server = |f: &dyn Fn(&crate::servers::ServerHealth) -> f64| -> Vec<(String, f64)> {
        r.servers
            .urls
            .iter()
            .map(|h| (format!("{{url=\"{}\"}}", escape(&h.url)), f(h)))
            .collect()
    };
    family(
        "reader_daemon_server_current",
        "gauge",
        "1 for the server URL requests go to now.",
        per_server(&|h| f64::from(u8::from(h.current))),
    );
    family(
        "reader_daemon_server_errors_total",
        "counter",
        "Failed requests (batches, health reports) per server URL.",
        per_server(&|h| h.errors as f64),
    );
    family(
        "reader_daemon_sync_failovers_total",
        "counter",
        "Times the daemon moved to the next server URL (one unreachable, timed out or answered 5xx).",
        one(r.servers.failovers as f64),
    );
    family(
        "reader_daemon_sync_last_latency_seconds",
        "gauge",
        "Read-to-acknowledgement time of the last batch's newest observation.",
        one(sy
            .last_latency_ms
            .map(|ms| ms as f64 / 1000.0)
            .unwrap_or(0.0)),
    );
    s
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The loopback HTTP endpoint.
pub fn router(live: Arc<Live>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(live)
}

async fn metrics(State(live): State<Arc<Live>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&live.report()),
    )
}

async fn status(State(live): State<Arc<Live>>) -> Json<StatusReport> {
    Json(live.report())
}

/// Human rendering for `reader-daemon status`.
pub fn render_human(r: &StatusReport, stale: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if r.sync.auth_failing {
        let _ = writeln!(s, "ERROR: {}", r.sync.auth_message(r.journal.backlog));
    }
    let _ = writeln!(
        s,
        "daemon {} (pid {}), up since {}{}",
        r.daemon_id,
        r.pid,
        r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        if stale {
            format!(
                " — STALE: last update {} (is the daemon running?)",
                r.updated_at.format("%H:%M:%S")
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        s,
        "{:<16} {:<9} {:<14} {:>10} {:>8} {:>10}  last error",
        "reader", "protocol", "state", "reads", "reads/s", "reconnects"
    );
    for h in &r.readers {
        let _ = writeln!(
            s,
            "{:<16} {:<9} {:<14} {:>10} {:>8.1} {:>10}  {}",
            h.name,
            format!("{:?}", h.protocol).to_lowercase(),
            format!("{:?}", h.state).to_lowercase(),
            h.reads_total,
            h.reads_per_s,
            h.reconnects,
            h.last_error.as_deref().unwrap_or("-")
        );
    }
    let j = &r.journal;
    let _ = writeln!(
        s,
        "journal: backlog {} ({:.1}% of {}), pending {}, batches in flight {}, dropped {}",
        j.backlog,
        j.fill * 100.0,
        j.max_observations,
        j.pending,
        j.batches_in_flight,
        j.dropped_total
    );
    let sy = &r.sync;
    let _ = writeln!(
        s,
        "sync: last success {}, acked through sequence {}, failures in a row {}{}{}",
        sy.last_success
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "never".into()),
        j.applied_through,
        sy.consecutive_failures,
        if sy.acks_refused > 0 {
            format!(", acks refused (above the batch sent) {}", sy.acks_refused)
        } else {
            String::new()
        },
        sy.last_error
            .as_ref()
            .filter(|_| sy.consecutive_failures > 0)
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default()
    );
    render_servers(&mut s, &r.servers);
    s
}

/// The server lines: each URL, the current one marked, its last success
/// and last error; then the fail-overs, the last one named.
fn render_servers(s: &mut String, r: &ServersReport) {
    use std::fmt::Write;
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_else(|| "never".into())
    };
    for h in &r.urls {
        let _ = writeln!(
            s,
            "server {} {}: last success {}, errors {}{}",
            h.url,
            if h.current { "(current)" } else { "(standby)" },
            time(h.last_success),
            h.errors,
            h.last_error
                .as_ref()
                .map(|e| format!(", last error at {}: {e}", time(h.last_error_at)))
                .unwrap_or_default()
        );
    }
    if r.urls.len() > 1 || r.failovers > 0 {
        let _ = writeln!(
            s,
            "fail-overs: {}{}",
            r.failovers,
            r.last_failover
                .as_ref()
                .map(|f| format!(
                    ", last at {} from {} to {} ({})",
                    f.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    f.from,
                    f.to,
                    f.reason
                ))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProtocolKind, Role};
    use crate::reader::LinkState;

    fn report() -> StatusReport {
        StatusReport {
            daemon_id: "d1".into(),
            pid: 1,
            started_at: Utc::now(),
            updated_at: Utc::now(),
            metrics_addr: None,
            readers: vec![ReaderHealth {
                name: "gate \"1\"".into(),
                port: "/dev/x".into(),
                protocol: ProtocolKind::R2000,
                role: Role::Gate,
                location: None,
                state: LinkState::Running,
                last_error: None,
                firmware: None,
                connected_since: None,
                reconnects: 2,
                reads_total: 1234,
                skipped_bytes: 5,
                last_read: None,
                reads_per_s: 99.5,
            }],
            journal: JournalStats {
                backlog: 10,
                ..JournalStats::default()
            },
            sync: SyncStatus {
                acks_refused: 3,
                ..SyncStatus::default()
            },
            servers: ServersReport::default(),
            observations_committed: 0,
        }
    }

    #[test]
    fn metrics_are_prometheus_text_with_escaped_labels() {
        let text = render_metrics(&report());
        assert!(
            text.contains("reader_daemon_reads_total{reader=\"gate \\\"1\\\"\"} 1234"),
            "{text}"
        );
        assert!(text.contains("reader_daemon_reader_up{reader=\"gate \\\"1\\\"\"} 1"));
        assert!(text.contains("reader_daemon_journal_backlog 10"));
        assert!(text.contains("# TYPE reader_daemon_reconnects_total counter"));
        assert!(
            text.contains("reader_daemon_sync_acks_refused_total 3"),
            "{text}"
        );
    }

    #[test]
    fn status_round_trips_and_renders() -> Result<(), serde_json::Error> {
        let r = report();
        let back: StatusReport = serde_json::from_str(&serde_json::to_string(&r)?)?;
        assert_eq!(back.readers[0].reads_total, 1234);
        let text = render_human(&back, true);
        assert!(text.contains("STALE"), "{text}");
        assert!(text.contains("running"), "{text}");
        assert!(
            text.contains("acks refused (above the batch sent) 3"),
            "{text}"
        );
        assert!(!text.contains("ERROR"), "{text}");
        Ok(())
    }

    #[test]
    fn a_refused_token_is_an_error_line_and_a_metric() {
        let mut r = report();
        r.journal.backlog = 39_112;
        for _ in 0..17 {
            r.sync.auth_refused(Utc::now());
        }
        let text = render_human(&r, false);
        assert!(
            text.starts_with("ERROR: server refused our token (401) 17 times since"),
            "{text}"
        );
        assert!(
            text.contains("reads are piling up: 39,112 waiting"),
            "{text}"
        );
        let metrics = render_metrics(&r);
        assert!(
            metrics.contains("reader_daemon_sync_auth_failures_total 17"),
            "{metrics}"
        );
        assert!(
            metrics.contains("reader_daemon_sync_auth_failing 1"),
            "{metrics}"
        );
    }

    #[test]
    fn status_names_the_current_server_each_last_error_and_the_fail_over() {
        let t = Utc::now();
        let servers = Servers::new(vec![
            "http://127.0.0.1:1".into(),
            "http://127.0.0.1:2".into(),
        ]);
        servers.worked(0, t);
        servers.failed(0, "cannot reach http://127.0.0.1:1: refused", true, t);
        servers.worked(1, t);
        let mut r = report();
        r.servers = servers.report();
        let text = render_human(&r, false);
        assert!(
            text.contains("server http://127.0.0.1:1 (standby): last success")
                && text.contains("errors 1, last error at")
                && text.contains("refused"),
            "{text}"
        );
        assert!(
            text.contains("server http://127.0.0.1:2 (current)"),
            "{text}"
        );
        assert!(
            text.contains("fail-overs: 1, last at")
                && text.contains("from http://127.0.0.1:1 to http://127.0.0.1:2"),
            "{text}"
        );
        let metrics = render_metrics(&r);
        for line in [
            "reader_daemon_sync_failovers_total 1",
            "reader_daemon_server_current{url=\"http://127.0.0.1:2\"} 1",
            "reader_daemon_server_current{url=\"http://127.0.0.1:1\"} 0",
            "reader_daemon_server_errors_total{url=\"http://127.0.0.1:1\"} 1",
        ] {
            assert!(metrics.contains(line), "{line}\n{metrics}");
        }
        // A status file from before server lists still reads.
        let mut old = serde_json::to_value(&r).unwrap_or_default();
        if let Some(o) = old.as_object_mut() {
            o.remove("servers");
        }
        let back: Result<StatusReport, _> = serde_json::from_value(old);
        assert!(back.is_ok_and(|b| b.servers.urls.is_empty()));
    }
}
