//! The read connections of either backend: at most `max` open at once.
//!
//! A read takes an idle connection, opens one while fewer than `max` are
//! open, or waits for one to come back. Without the bound a burst of
//! requests opened a connection each: SQLite's page caches grew until the
//! process was killed (10 M assets, bench-fleet), and PostgreSQL refused
//! connections past its `max_connections` (the login flood test), which
//! answered 500. A request that waits longer than [`WAIT`] is answered
//! 503 with [`Reason::DatabaseBusy`].

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{AppError, AppResult, Reason};

/// How long a read waits for a connection before it is refused.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct State<C> {
    idle: Vec<C>,
    /// Connections in existence: idle plus lent out.
    open: usize,
}

#[derive(Debug)]
pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    returned: Condvar,
    max: usize,
    wait: Duration,
}

impl<C> Pool<C> {
    /// A pool holding `idle` (already open) and allowing `max` at once
    /// (at least one, and at least as many as given).
    pub(crate) fn new(idle: Vec<C>, max: usize) -> Self {
        Self::with_wait(idle, max, WAIT)
    }

    pub(crate) fn with_wait(idle: Vec<C>, max: usize, wait: Duration) -> Self {
        let max = max.max(1).max(idle.len());
        Self {
            state: Mutex::new(State {
                open: idle.len(),
                idle,
            }),
            returned: Condvar::new(),
            max,
            wait,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // A panic while holding the lock leaves the counts consistent
        // (nothing between the two updates can panic).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection: an idle one, a new one from `open` while fewer than
    /// `max` exist, or the next one given back within the wait.
    pub(crate) fn take(&self, open: impl FnOnce() -> AppResult<C>) -> AppResult<Lent<'_, C>> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Lent {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match open() {
                    Ok(conn) => Ok(Lent {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.forget_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(AppError::from(Reason::DatabaseBusy {
                    waited_secs: self.wait.as_secs(),
                }));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// One lent connection will not come back (broken or failed to open).
    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.lock().open
    }
}

/// A connection lent by a [`Pool`]; given back when dropped.
pub(crate) struct Lent<'a, C> {
    pool: &'a Pool<C>,
    conn: Option<C>,
}

impl<C> Lent<'_, C> {
    /// Drops this connection instead of giving it back (it is broken).
    pub(crate) fn discard(mut self) {
        self.conn = None;
    }
}

impl<C> Deref for Lent<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // Present until drop or discard, which consume the lend.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<C> DerefMut for Lent<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<C> Drop for Lent<'_, C> {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(conn) => {
                let mut state = self.pool.lock();
                state.idle.push(conn);
                drop(state);
                self.pool.returned.notify_one();
            }
            None => self.pool.forget_one(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn never_more_than_max_open_and_waiters_get_returned_ones() {
        let pool = Arc::new(Pool::<usize>::with_wait(vec![], 3, Duration::from_secs(10)));
        let opened = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (pool, opened, peak, busy) =
                    (pool.clone(), opened.clone(), peak.clone(), busy.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let c = pool
                            .take(|| Ok(opened.fetch_add(1, Ordering::SeqCst)))
                            .map_err(|e| e.to_string())?;
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        busy.fetch_sub(1, Ordering::SeqCst);
                        drop(c);
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().ok(), Some(Ok(())));
        }
        assert_eq!(opened.load(Ordering::SeqCst), 3, "opened only up to max");
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(pool.open_count(), 3);
    }

    #[test]
    fn a_full_pool_answers_busy_after_the_wait_and_a_failed_open_frees_its_place() {
        let pool = Pool::<u8>::with_wait(vec![], 1, Duration::from_millis(50));
        let failed = pool.take(|| Err(AppError::internal("refused")));
        assert!(failed.is_err());
        assert_eq!(pool.open_count(), 0, "the failed open gave its place back");
        let held = pool.take(|| Ok(1)).map_err(|e| e.to_string());
        assert!(held.is_ok());
        let started = Instant::now();
        let busy = pool.take(|| Ok(2)).err().map(|e| e.code);
        assert_eq!(busy, Some("database_busy"));
        assert!(started.elapsed() >= Duration::from_millis(50));
        // A discarded connection frees its place for a new one.
        if let Ok(c) = held {
            c.discard();
        }
        assert_eq!(pool.take(|| Ok(3)).map(|c| *c).ok(), Some(3));
    }
}
