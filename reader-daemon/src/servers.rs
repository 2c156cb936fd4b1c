//! Several server URLs (`server.urls`: replicas of one deployment, over one
//! database) and the rule for moving between them.
//!
//! Stay with the last URL that worked. An attempt that fails in a way
//! another replica may not share — no connection, a timeout, a 5xx — moves
//! the choice to the next URL (round robin) and is retried there at once;
//! only when a whole round of URLs has failed does the caller wait its usual
//! back-off, so a deployment that is down entirely gets no hot loop. A
//! refusal (401, 403, 422, …) would be the same elsewhere: the choice stays
//! and the caller backs off as before. Exactly-once does not depend on which
//! replica answers: a retry elsewhere is the same batch with the same
//! sequence, and the high-water mark in the shared database decides.
//!
//! [`Round`] is the pure rule; [`Servers`] is the one choice the sync loop,
//! the health reports and the operator commands share, with each URL's last
//! success and error for `status` and `/metrics`.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When to wait: counts the failures of the current round of URLs (pure).
#[derive(Debug, Clone)]
pub struct Round {
    urls: usize,
    failed: usize,
}

impl Round {
    pub fn new(urls: usize) -> Self {
        Self {
            urls: urls.max(1),
            failed: 0,
        }
    }

    /// Records a failed attempt; true when the caller should now wait its
    /// back-off. `elsewhere`: another URL may answer differently (the choice
    /// moved on), so the caller waits only once every URL of the round has
    /// failed; a refusal that would be the same anywhere waits at once.
    pub fn failed(&mut self, elsewhere: bool) -> bool {
        if elsewhere {
            self.failed += 1;
            if self.failed < self.urls {
                return false;
            }
        }
        self.failed = 0;
        true
    }

    /// A success ends the round.
    pub fn succeeded(&mut self) {
        self.failed = 0;
    }
}

/// The URL after `at` among `len`, round robin.
pub fn next_after(at: usize, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (at + 1) % len
    }
}

/// One URL as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerHealth {
    pub url: String,
    /// The URL the next request goes to.
    pub current: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failed requests to this URL since the daemon started.
    pub errors: u64,
}

/// A move of the choice from one URL to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedOver {
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    /// Why `from` was left.
    pub reason: String,
}

/// The URLs and the choice, as `status` shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServersReport {
    pub urls: Vec<ServerHealth>,
    /// Times the choice moved to another URL since the daemon started.
    pub failovers: u64,
    pub last_failover: Option<FailedOver>,
}

impl ServersReport {
    /// The URL requests go to now.
    pub fn current(&self) -> Option<&str> {
        self.urls.iter().find(|u| u.current).map(|u| u.url.as_str())
    }
}

#[derive(Debug)]
struct Choice {
    current: usize,
    failovers: u64,
    last_failover: Option<FailedOver>,
    health: Vec<ServerHealth>,
}

/// The server URLs and which one requests go to; shared (behind an `Arc`)
/// by every task of one process, so a URL found dead by one is left by all.
#[derive(Debug)]
pub struct Servers {
    urls: Vec<String>,
    choice: Mutex<Choice>,
}

impl Servers {
    /// The URLs in the order they are tried (the config's `server.urls`, or
    /// its one `server.url`); the first is current.
    pub fn new(urls: Vec<String>) -> Self {
        let urls: Vec<String> = urls
            .into_iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        let health = urls
            .iter()
            .map(|u| ServerHealth {
                url: u.clone(),
                ..ServerHealth::default()
            })
            .collect();
        Self {
            urls,
            choice: Mutex::new(Choice {
                current: 0,
                failovers: 0,
                last_failover: None,
                health,
            }),
        }
    }

    fn choice(&self) -> std::sync::MutexGuard<'_, Choice> {
        self.choice.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// The URL requests go to now (its index and base URL, no trailing
    /// slash); `None` only for an empty list.
    pub fn current(&self) -> Option<(usize, &str)> {
        let at = self.choice().current;
        self.urls.get(at).map(|u| (at, u.as_str()))
    }

    /// A request to URL `at` was answered (even with a refusal: the server
    /// is there): it stays the choice, or becomes it.
    pub fn worked(&self, at: usize, now: DateTime<Utc>) {
        let mut c = self.choice();
        if at < self.urls.len() {
            c.current = at;
        }
        if let Some(h) = c.health.get_mut(at) {
            h.last_success = Some(now);
        }
    }

    /// A request to URL `at` failed with `reason`. With `elsewhere` (no
    /// connection, a timeout, a 5xx) the choice moves to the next URL —
    /// unless another task moved it already — and the new choice is
    /// returned; otherwise only the error is recorded.
    pub fn failed(
        &self,
        at: usize,
        reason: &str,
        elsewhere: bool,
        now: DateTime<Utc>,
    ) -> Option<usize> {
        let mut c = self.choice();
        if let Some(h) = c.health.get_mut(at) {
            h.last_error = Some(reason.to_owned());
            h.last_error_at = Some(now);
            h.errors += 1;
        }
        if !elsewhere || self.urls.len() < 2 || c.current != at {
            return None;
        }
        let to = next_after(at, self.urls.len());
        c.current = to;
        c.failovers += 1;
        c.last_failover = Some(FailedOver {
            at: now,
            from: self.urls[at].clone(),
            to: self.urls[to].clone(),
            reason: reason.to_owned(),
        });
        tracing::warn!(
            from = %self.urls[at],
            to = %self.urls[to],
            "failing over to the next server: {reason}"
        );
        Some(to)
    }

    pub fn report(&self) -> ServersReport {
        let c = self.choice();
        ServersReport {
            urls: c
                .health
                .iter()
                .enumerate()
                .map(|(i, h)| ServerHealth {
                    current: i == c.current,
                    ..h.clone()
                })
                .collect(),
            failovers: c.failovers,
            last_failover: c.last_failover.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_waits_once_every_url_failed_and_a_refusal_waits_at_once() {
        let mut r = Round::new(3);
        // Server away: the next two URLs are tried at once, then wait.
        assert!(!r.failed(true));
        assert!(!r.failed(true));
        assert!(r.failed(true));
        // … and the next round the same: one wait per round, no hot loop.
        assert!(!r.failed(true));
        assert!(!r.failed(true));
        assert!(r.failed(true));
        // A refusal (401, 422) would be the same elsewhere: wait now.
        assert!(r.failed(false));
        // It also ends the round.
        assert!(!r.failed(true));
        assert!(r.failed(false));
        // A success starts a fresh round.
        assert!(!r.failed(true));
        r.succeeded();
        assert!(!r.failed(true));
        assert!(!r.failed(true));
        assert!(r.failed(true));
        // One URL: every failure is a whole round (the old behaviour).
        let mut one = Round::new(1);
        assert!(one.failed(true) && one.failed(true) && one.failed(false));
    }

    #[test]
    fn the_choice_is_sticky_and_moves_round_robin_once_per_failure() {
        let t = Utc::now();
        let s = Servers::new(vec![
            "http://a/".into(),
            "http://b".into(),
            "http://c".into(),
        ]);
        assert_eq!(s.current(), Some((0, "http://a")));
        // A refusal does not move it.
        assert_eq!(s.failed(0, "401", false, t), None);
        assert_eq!(s.current(), Some((0, "http://a")));
        // A dead server does.
        assert_eq!(s.failed(0, "connection refused", true, t), Some(1));
        // Another task that failed on `a` too does not skip `b`.
        assert_eq!(s.failed(0, "connection refused", true, t), None);
        assert_eq!(s.current(), Some((1, "http://b")));
        assert_eq!(s.failed(1, "503", true, t), Some(2));
        assert_eq!(s.failed(2, "timeout", true, t), Some(0));
        // `a` answers again: it stays the choice while it works.
        s.worked(0, t);
        assert_eq!(s.current(), Some((0, "http://a")));
        // A health report that got through to `c` makes `c` the choice.
        s.worked(2, t);
        assert_eq!(s.current(), Some((2, "http://c")));
        let r = s.report();
        assert_eq!(r.failovers, 3);
        assert_eq!(r.current(), Some("http://c"));
        assert_eq!(r.urls[0].errors, 3);
        assert_eq!(r.urls[0].last_error.as_deref(), Some("connection refused"));
        assert_eq!(r.urls[1].last_error.as_deref(), Some("503"));
        assert!(r.urls[1].last_success.is_none());
        let last = r.last_failover.as_ref().map(|f| (&*f.from, &*f.to));
        assert_eq!(last, Some(("http://c", "http://a")));
    }

    #[test]
    fn one_url_never_fails_over() {
        let s = Servers::new(vec!["https://only".into()]);
        assert_eq!(s.failed(0, "down", true, Utc::now()), None);
        assert_eq!(s.current(), Some((0, "https://only")));
        assert_eq!(s.report().failovers, 0);
        assert_eq!(next_after(0, 0), 0);
        assert_eq!(Servers::new(Vec::new()).current(), None);
    }
}
