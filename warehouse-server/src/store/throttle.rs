//! Counts of failed logins per key, and the lockout audit trail. The rule
//! is `crate::throttle`; this file only keeps what it needs.

use crate::store::db::OptionalExtension;

use super::Store;
use crate::error::AppResult;
use crate::throttle::{lock_secs, Key, FORGET_AFTER_MS};

/// A lock that a failure just started (for the log).
#[derive(Debug, Clone)]
pub struct Lockout {
    pub key: String,
    pub failures: u32,
    pub locked_until: i64,
}

impl Store {
    /// The latest `locked_until` among `keys` (UTC ms), if any is locked at `now`.
    pub async fn login_locked_until(&self, keys: Vec<Key>, now: i64) -> AppResult<Option<i64>> {
        self.read(move |c| {
            let mut latest = None;
            let mut stmt =
                c.prepare_cached("SELECT locked_until FROM login_failures WHERE key = ?1")?;
            for key in &keys {
                let until: Option<i64> = stmt.query_row([key.stored()], |r| r.get(0)).optional()?;
                if let Some(u) = until.filter(|u| *u > now) {
                    latest = Some(latest.map_or(u, |l: i64| l.max(u)));
                }
            }
            Ok(latest)
        })
        .await
    }

    /// Counts one failure against each key; locks those past their rule's
    /// allowance and records each new lock in `login_lockouts`, in one
    /// transaction. Returns the locks started.
    pub async fn record_login_failure(&self, keys: Vec<Key>, now: i64) -> AppResult<Vec<Lockout>> {
        self.write(move |tx| {
            let mut locks = Vec::new();
            for key in &keys {
                let stored = key.stored();
                let failures: u32 = tx.query_row(
                    "INSERT INTO login_failures (key, failures, locked_until, updated_at)
                     VALUES (?1, 1, 0, ?2)
                     ON CONFLICT (key) DO UPDATE SET
                       failures = CASE WHEN login_failures.updated_at < ?2 - ?3 THEN 1
                                  ELSE login_failures.failures + 1 END,
                       updated_at = ?2
                     RETURNING failures",
                    (&stored, now, FORGET_AFTER_MS),
                    |r| r.get(0),
                )?;
                let secs = lock_secs(key.rule(), failures);
                if secs == 0 {
                    continue;
                }
                let locked_until = now.saturating_add((secs as i64).saturating_mul(1000));
                tx.execute(
                    "UPDATE login_failures SET locked_until = ?2 WHERE key = ?1",
                    (&stored, locked_until),
                )?;
                tx.execute(
                    "INSERT INTO login_lockouts (key, failures, locked_until, at)
                     VALUES (?1, ?2, ?3, ?4)",
                    (&stored, failures, locked_until, now),
                )?;
                locks.push(Lockout {
                    key: stored,
                    failures,
                    locked_until,
                });
            }
            Ok(locks)
        })
        .await
    }

    /// A successful login clears its account's count (not the address's:
    /// one good account must not buy an address more guesses).
    pub async fn clear_login_failures(&self, key: Key) -> AppResult<()> {
        self.write(move |tx| {
            tx.execute("DELETE FROM login_failures WHERE key = ?1", [key.stored()])?;
            Ok(())
        })
        .await
    }
}
