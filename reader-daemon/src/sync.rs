//! Sending journalled batches to the server, exactly once.
//!
//! The decisions live in sans-IO pieces tested without a network:
//! [`Backoff`] (exponential with jitter; the caller supplies the random
//! number), [`classify`] (what an HTTP answer means for the batch) and,
//! with several server URLs, [`crate::servers::Round`] (try the next URL at
//! once, back off once per round). The async [`run`] loop only moves bytes:
//! take the next batch from the journal, POST it to the current URL, hand
//! the acknowledgement back to the journal. One batch is in flight at a
//! time, in sequence order, so the server's high-water mark is never passed
//! by a later batch while an earlier one is still unapplied — whichever
//! replica takes it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use shared::sync::{BatchAck, ObservationBatch, OBSERVATIONS_PATH};
use tokio::sync::{watch, Notify};

use crate::journal::{Journal, JournalError};
use crate::servers::{Round, Servers};

/// Exponential back-off with "equal jitter": the n-th consecutive failure
/// waits between half and all of `min(max, base · 2ⁿ)`, so retries from many
/// daemons spread out but never hammer a recovering server at once.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// Records a failure; returns how long to wait before the next attempt.
    /// `unit` is a random number in `0.0..=1.0`.
    pub fn failed(&mut self, unit: f64) -> Duration {
        let exp = self.failures.min(30);
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Records a success: the next failure starts from `base` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// What one HTTP exchange means for the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server holds the batch (now or before): forget through the mark.
    Acked(BatchAck),
    /// Keep the batch and try again later; `loud` when an operator must act
    /// (token refused, batch refused), not just a server that is away;
    /// `auth` when the server refused the token itself (401); `elsewhere`
    /// when another replica may answer differently (no connection, a
    /// timeout, a 5xx): the next server URL is tried.
    Retry {
        reason: String,
        loud: bool,
        auth: bool,
        elsewhere: bool,
    },
}

/// Interprets an HTTP status and body. Nothing but a well-formed ack lets
/// a batch go: a refused batch is kept (and logged loudly) rather than lost.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    match status {
        200..=299 => match serde_json::from_slice::<BatchAck>(body) {
            Ok(ack) => Outcome::Acked(ack),
            Err(e) => Outcome::Retry {
                reason: format!(
                    "server answered {status} without a batch ack ({e}): {}",
                    text()
                ),
                loud: true,
                auth: false,
                elsewhere: false,
            },
        },
        401 | 403 => Outcome::Retry {
            reason: format!(
                "server refused the reader token ({status}): check server.token in the config: {}",
                text()
            ),
            loud: true,
            auth: status == 401,
            elsewhere: false,
        },
        400 | 404 | 409 | 413 | 422 => Outcome::Retry {
            reason: format!("server refused the batch ({status}): {}", text()),
            loud: true,
            auth: false,
            elsewhere: false,
        },
        _ => Outcome::Retry {
            reason: format!("server answered {status}: {}", text()),
            loud: false,
            auth: false,
            elsewhere: (500..=599).contains(&status),
        },
    }
}

/// The sync task's state, as shown by `status` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncStatus {
    pub last_success: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub batches_acked: u64,
    pub observations_acked: u64,
    pub requests: u64,
    /// Acknowledgements the journal refused because they named a sequence
    /// above the batch sent ([`crate::journal::AckAboveSent`]): someone else
    /// posts under this daemon's id. Any at all needs an operator.
    #[serde(default)]
    pub acks_refused: u64,
    /// Read-to-ack latency of the last acknowledged batch's newest
    /// observation, ms.
    pub last_latency_ms: Option<i64>,
    /// Times the server refused this daemon's token (401, on a batch or a
    /// health report) since it started.
    #[serde(default)]
    pub auth_failures: u64,
    /// True while the server's last answer (batch or health report) was a
    /// token refusal; `status` then exits non-zero.
    #[serde(default)]
    pub auth_failing: bool,
    /// When the current run of refusals began.
    #[serde(default)]
    pub auth_failing_since: Option<DateTime<Utc>>,
    /// The last health report the server accepted.
    #[serde(default)]
    pub last_health_report: Option<DateTime<Utc>>,
    /// When a refusal was last logged (the log is rate-limited).
    #[serde(skip)]
    pub auth_logged_at: Option<DateTime<Utc>>,
}

/// A refusal is logged at most this often (each one is counted).
pub const AUTH_LOG_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

impl SyncStatus {
    /// Records a token refusal at `now`; true if it should be logged now
    /// (at most once per [`AUTH_LOG_EVERY`]).
    pub fn auth_refused(&mut self, now: DateTime<Utc>) -> bool {
        self.auth_failures += 1;
        if !self.auth_failing {
            self.auth_failing = true;
            self.auth_failing_since = Some(now);
        }
        let due = self
            .auth_logged_at
            .is_none_or(|t| now - t >= AUTH_LOG_EVERY);
        if due {
            self.auth_logged_at = Some(now);
        }
        due
    }

    /// The server accepted the token: the run of refusals is over.
    pub fn auth_accepted(&mut self) {
        self.auth_failing = false;
        self.auth_failing_since = None;
    }

    /// The operator's line while refused: "server refused our token (401)
    /// 17 times since 18:02:11 UTC; reads are piling up: 39,112 waiting".
    pub fn auth_message(&self, backlog: u64) -> String {
        format!(
            "server refused our token (401) {} times since {}; reads are piling up: {} waiting \
             — check server.token (rotated or revoked?) and server.url (the right server?)",
            self.auth_failures,
            self.auth_failing_since
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "start".into()),
            grouped(backlog)
        )
    }
}

/// 39112 → "39,112".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How the sync loop is set up (the server URLs are [`Servers`], shared
/// with the health reports).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub token: String,
    pub daemon_id: String,
    pub batch_max: usize,
    pub batch_max_age: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub request_timeout: Duration,
}

/// Builds the HTTP client (rustls, no system OpenSSL).
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

/// POSTs one batch to the server at `base` and classifies the answer.
pub async fn post_batch(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    batch: &ObservationBatch,
) -> Outcome {
    let url = format!("{}{}", base.trim_end_matches('/'), OBSERVATIONS_PATH);
    let response = client
        .post(&url)
        .bearer_auth(token)
        .json(batch)
        .send()
        .await;
    match response {
        Err(e) => Outcome::Retry {
            reason: format!("cannot reach {url}: {}", error_chain(&e)),
            loud: false,
            auth: false,
            elsewhere: true,
        },
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(body) => classify(status, &body),
                Err(e) => Outcome::Retry {
                    reason: format!("reading the answer from {url}: {}", error_chain(&e)),
                    loud: false,
                    auth: false,
                    elsewhere: true,
                },
            }
        }
    }
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

async fn with_journal<T: Send + 'static>(
    journal: &Arc<Mutex<Journal>>,
    f: impl FnOnce(&mut Journal) -> T + Send + 'static,
) -> Option<T> {
    let journal = journal.clone();
    tokio::task::spawn_blocking(move || {
        let mut j = journal.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut j)
    })
    .await
    .ok()
}

/// Sends batches until `shutdown` turns true, to the current one of
/// `servers`. `wake` is notified when new observations are committed.
pub async fn run(
    journal: Arc<Mutex<Journal>>,
    settings: SyncSettings,
    servers: Arc<Servers>,
    status: Arc<Mutex<SyncStatus>>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match client(settings.request_timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client; sync disabled");
            return;
        }
    };
    let mut backoff = Backoff::new(settings.retry_base, settings.retry_max);
    let mut round = Round::new(servers.len());
    let mut failures: u32 = 0;
    let idle_wait = (settings.batch_max_age / 2).max(Duration::from_millis(10));
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (id, max, age) = (
            settings.daemon_id.clone(),
            settings.batch_max,
            settings.batch_max_age,
        );
        let next = with_journal(&journal, move |j| j.next_batch(&id, max, age)).await;
        let batch = match next {
            Some(Ok(Some(batch))) => batch,
            Some(Ok(None)) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(idle_wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "journal read failed");
                sleep_or_shutdown(Duration::from_secs(1), &mut shutdown).await;
                continue;
            }
            None => return,
        };
        let seq = batch.sequence;
        let newest = batch.observations.iter().map(|o| o.last_seen).max();
        let Some((at, base)) = servers.current() else {
            tracing::error!("no server URL configured; sync disabled");
            return;
        };
        let outcome = match post_batch(&client, base, &settings.token, &batch).await {
            // An ack below what was sent would resend the batch at once,
            // forever: treat it as a refusal (with back-off) instead.
            Outcome::Acked(ack) if ack.applied_through < seq => Outcome::Retry {
                reason: format!(
                    "server acknowledged through sequence {} after batch {seq} was sent",
                    ack.applied_through
                ),
                loud: true,
                auth: false,
                elsewhere: false,
            },
            other => other,
        };
        let now = Utc::now();
        // Some((reason, loud, auth, elsewhere)) when the batch stays and is
        // retried later.
        let failure = match outcome {
            Outcome::Acked(ack) => match with_journal(&journal, move |j| j.ack(seq, ack)).await {
                Some(Ok(n)) => {
                    backoff.succeeded();
                    round.succeeded();
                    failures = 0;
                    servers.worked(at, now);
                    let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
                    s.last_success = Some(now);
                    s.last_attempt = Some(now);
                    s.consecutive_failures = 0;
                    s.auth_accepted();
                    s.batches_acked += 1;
                    s.observations_acked += n;
                    s.requests += 1;
                    s.last_latency_ms = newest.map(|t| (now - t).num_milliseconds());
                    tracing::debug!(
                        sequence = seq,
                        observations = n,
                        applied = ack.applied,
                        "batch acknowledged"
                    );
                    None
                }
                Some(Err(JournalError::AckAboveSent(refused))) => {
                    status
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .acks_refused += 1;
                    Some((refused.to_string(), true, false, false))
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, sequence = seq, "cannot record the ack; the batch will be resent");
                    sleep_or_shutdown(Duration::from_secs(1), &mut shutdown).await;
                    None
                }
                None => return,
            },
            Outcome::Retry {
                reason,
                loud,
                auth,
                elsewhere,
            } => Some((reason, loud, auth, elsewhere)),
        };
        if let Some((reason, loud, auth, elsewhere)) = failure {
            servers.failed(at, &reason, elsewhere, now);
            failures = failures.saturating_add(1);
            // Another URL is tried at once; the back-off once per round.
            let wait = if round.failed(elsewhere) {
                backoff.failed(rand::thread_rng().gen_range(0.0..=1.0))
            } else {
                Duration::ZERO
            };
            let log_refusal = {
                let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
                s.last_attempt = Some(now);
                s.last_error = Some(reason.clone());
                s.consecutive_failures = failures;
                s.requests += 1;
                auth && s.auth_refused(now)
            };
            if auth {
                // Every refusal is counted; the loud line (with the backlog)
                // at most every AUTH_LOG_EVERY.
                if log_refusal {
                    log_auth_refusal(&journal, &status, &reason).await;
                }
            } else if loud {
                tracing::error!(
                    sequence = seq,
                    retry_in_ms = wait.as_millis() as u64,
                    "{reason}"
                );
            } else {
                tracing::warn!(
                    sequence = seq,
                    retry_in_ms = wait.as_millis() as u64,
                    "{reason}"
                );
            }
            if !wait.is_zero() {
                sleep_or_shutdown(wait, &mut shutdown).await;
            }
        }
    }
}

/// Logs a token refusal at ERROR with the count and the backlog.
pub async fn log_auth_refusal(
    journal: &Arc<Mutex<Journal>>,
    status: &Arc<Mutex<SyncStatus>>,
    reason: &str,
) {
    let backlog = with_journal(journal, |j| j.stats().map(|s| s.backlog))
        .await
        .and_then(Result::ok)
        .unwrap_or(0);
    let line = status
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .auth_message(backlog);
    tracing::error!(answer = %reason, "{line}");
}

async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_ceiling_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(b.failed(0.0), Duration::from_millis(50));
        assert_eq!(b.failed(1.0), Duration::from_millis(200));
        assert_eq!(b.failed(0.5), Duration::from_millis(300));
        for _ in 0..50 {
            let d = b.failed(1.0);
            assert!(d <= Duration::from_secs(2), "{d:?}");
        }
        assert_eq!(b.failed(0.0), Duration::from_secs(1));
        assert_eq!(b.failures(), 54);
        b.succeeded();
        assert_eq!(b.failed(1.0), Duration::from_millis(100));
    }

    #[test]
    fn refusals_are_counted_logged_sparingly_and_cleared_by_success() {
        let mut s = SyncStatus::default();
        let t0 = Utc::now();
        assert!(s.auth_refused(t0));
        assert!(!s.auth_refused(t0 + chrono::TimeDelta::milliseconds(500)));
        assert!(s.auth_refused(t0 + chrono::TimeDelta::seconds(3)));
        assert_eq!(s.auth_failures, 3);
        assert_eq!(s.auth_failing_since, Some(t0));
        let line = s.auth_message(39_112);
        assert!(
            line.contains("refused our token (401) 3 times since")
                && line.contains("39,112 waiting"),
            "{line}"
        );
        s.auth_accepted();
        assert!(!s.auth_failing && s.auth_failing_since.is_none());
        assert_eq!(s.auth_failures, 3);
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn only_a_well_formed_ack_lets_a_batch_go() {
        assert_eq!(
            classify(200, br#"{"applied_through":7,"applied":true}"#),
            Outcome::Acked(BatchAck {
                applied_through: 7,
                applied: true
            })
        );
        assert!(matches!(
            classify(200, b"ok"),
            Outcome::Retry { loud: true, .. }
        ));
        assert!(matches!(
            classify(503, b""),
            Outcome::Retry { loud: false, .. }
        ));
        assert!(matches!(
            classify(502, b"bad gateway"),
            Outcome::Retry { loud: false, .. }
        ));
        let Outcome::Retry {
            reason,
            loud,
            auth,
            elsewhere,
        } = classify(401, b"bad token")
        else {
            unreachable!()
        };
        assert!(loud && reason.contains("server.token"), "{reason}");
        assert!(auth, "a 401 is a token refusal");
        assert!(!elsewhere, "another replica would refuse the token too");
        assert!(matches!(
            classify(403, b"not bound"),
            Outcome::Retry { auth: false, .. }
        ));
        assert!(matches!(
            classify(422, b"too big"),
            Outcome::Retry { loud: true, .. }
        ));
    }

    #[test]
    fn only_a_server_that_is_away_or_failing_sends_the_batch_elsewhere() {
        let elsewhere = |status: u16| {
            matches!(
                classify(status, b"x"),
                Outcome::Retry {
                    elsewhere: true,
                    ..
                }
            )
        };
        for status in [500, 502, 503, 504] {
            assert!(elsewhere(status), "{status}");
        }
        // The same answer on every replica: stay and back off.
        for status in [200, 400, 401, 403, 404, 409, 413, 422, 429] {
            assert!(!elsewhere(status), "{status}");
        }
    }

    #[test]
    fn with_two_urls_the_back_off_grows_once_per_round() {
        // The loop's rule: wait only when the round says so.
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut round = Round::new(2);
        let mut waits = Vec::new();
        for _ in 0..6 {
            waits.push(if round.failed(true) {
                backoff.failed(1.0)
            } else {
                Duration::ZERO
            });
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 100, 0, 200, 0, 400]);
    }
}
