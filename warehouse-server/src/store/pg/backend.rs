//! The PostgreSQL backend of [`crate::store::Store`]: connections, the
//! writers' lock shared by every replica, read snapshots.
//!
//! The store's transaction closures are synchronous (they are shared with
//! SQLite); here they run on a blocking thread and each statement blocks
//! on this backend's own small runtime, which also drives the
//! connections. One writer connection per process, as on SQLite; writers
//! of all replicas take one transaction-scoped advisory lock first, so the
//! rules that hold because SQLite has one writer (exactly-once per
//! `(daemon, sequence)`, one chain head, one winner of two steps on an
//! asset) hold across replicas.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::pool::Pool;

use tokio_postgres::{Client, NoTls, Statement};

use super::migrate::{pg_error, run_migrations, PG_MIGRATIONS};
use crate::error::{AppError, AppResult};
use crate::events::ChainKey;
use crate::store::db::{Db, PgTx};

/// Fixed key of the writers' advisory lock ("WHWRITER" in ASCII).
pub const WRITER_LOCK: i64 = 0x5748_5752_4954_4552;

/// One connection and its prepared statements.
pub struct PgConn {
    client: Client,
    cache: RefCell<HashMap<String, Statement>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

pub struct PgBackend {
    url: String,
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    writer: Mutex<PgConn>,
    readers: Pool<PgConn>,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("url", &self.url_for_display())
            .finish()
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// `url` with any password replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

async fn connect(url: &str) -> AppResult<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
        AppError::internal(format!(
            "cannot connect to PostgreSQL at {}: {}",
            without_password(url),
            super::migrate::pg_detail(&e)
        ))
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("PostgreSQL connection ended: {e}");
        }
    });
    // Nothing waits forever: a write queued behind the writers' lock for
    // a minute fails (and is retried by its sender) instead of hanging its
    // request, and a transaction left open by a stuck process is ended.
    // No JIT: the server's queries are short, and a prepared statement's
    // generic plan (a `LIMIT $1` estimated at 10 % of a 10,000,000-row
    // table) crossed `jit_above_cost`, so each register page spent ~160 ms
    // compiling a 4 ms query (docs/performance.md).
    client
        .batch_execute(
            "SET lock_timeout = '60s'; SET idle_in_transaction_session_timeout = '10min'; \
             SET jit = off",
        )
        .await
        .map_err(|e| pg_error("setting the session's timeouts", e))?;
    Ok(client)
}

/// Runs `fut` to completion on `handle` from a blocking thread.
fn block_on<F: std::future::Future>(handle: &tokio::runtime::Handle, fut: F) -> F::Output {
    handle.block_on(fut)
}

/// Runs `f`, which blocks on this backend's runtime, from any thread: on a
/// worker of a multi-thread runtime (a CLI command calling a `_blocking`
/// store method from async code) through `block_in_place`, which lets it
/// block; elsewhere (the blocking pool, plain threads) directly.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Runs `fut` on `handle` from any thread, also one of an async runtime
/// (where blocking on another runtime is not allowed): through a scoped
/// thread. For the rare calls (opening, reconnecting).
fn block_on_anywhere<F>(handle: &tokio::runtime::Handle, fut: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| match s.spawn(|| handle.block_on(fut)).join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    })
}

impl PgBackend {
    /// Connects, applies the migrations, opens the pool.
    pub fn open(url: &str, read_connections: usize) -> AppResult<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| AppError::internal(format!("starting the PostgreSQL runtime: {e}")))?;
        let handle = rt.handle().clone();
        let opened = block_on_anywhere(&handle, {
            let handle = handle.clone();
            let url = url.to_owned();
            async move {
                handle
                    .spawn(async move {
                        let mut writer = connect(&url).await?;
                        run_migrations(&mut writer, PG_MIGRATIONS).await?;
                        let mut readers = Vec::new();
                        for _ in 0..read_connections {
                            readers.push(connect(&url).await?);
                        }
                        AppResult::Ok((writer, readers))
                    })
                    .await
                    .map_err(AppError::from)?
            }
        });
        // A runtime may not be dropped on an async thread: shut it down
        // without waiting when opening fails.
        let (writer, readers) = match opened {
            Ok(conns) => conns,
            Err(e) => {
                rt.shutdown_background();
                return Err(e);
            }
        };
        let wrap = |client| PgConn {
            client,
            cache: RefCell::new(HashMap::new()),
        };
        Ok(Self {
            url: url.to_owned(),
            rt: Some(rt),
            handle,
            writer: Mutex::new(wrap(writer)),
            readers: Pool::new(
                readers.into_iter().map(wrap).collect(),
                read_connections * crate::store::READ_BURST,
            ),
        })
    }

    pub fn url_for_display(&self) -> String {
        without_password(&self.url)
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    fn new_conn(&self) -> AppResult<PgConn> {
        let url = self.url.clone();
        let h = self.handle.clone();
        let client = block_on_anywhere(&self.handle, async move {
            h.spawn(async move { connect(&url).await })
                .await
                .map_err(AppError::from)?
        })?;
        Ok(PgConn {
            client,
            cache: RefCell::new(HashMap::new()),
        })
    }

    /// One write transaction under the writers' lock.
    pub fn write<T, F>(&self, key: &ChainKey, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        blocking(|| self.write_here(key, f))
    }

    fn write_here<T, F>(&self, key: &ChainKey, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("database writer lock poisoned"))?;
        if guard.client.is_closed() {
            *guard = self.new_conn()?;
        }
        let PgConn { client, cache } = &mut *guard;
        let h = &self.handle;
        let tx = block_on(h, client.transaction()).map_err(|e| pg_error("beginning", e))?;
        block_on(
            h,
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK]),
        )
        .map_err(|e| pg_error("taking the writers' lock", e))?;
        let out = f(&Db::Pg {
            pg: PgTx {
                tx: &tx,
                rt: h,
                cache,
            },
            key,
        })?;
        block_on(h, tx.commit()).map_err(|e| pg_error("committing", e))?;
        Ok(out)
    }

    /// One read-only snapshot.
    pub fn read<T, F>(&self, key: &ChainKey, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        blocking(|| self.read_here(key, f))
    }

    fn read_here<T, F>(&self, key: &ChainKey, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        let mut conn = self.readers.take(|| self.new_conn())?;
        if conn.client.is_closed() {
            *conn = self.new_conn()?;
        }
        let PgConn { client, cache } = &mut *conn;
        let h = &self.handle;
        let tx = block_on(
            h,
            client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )
        .map_err(|e| pg_error("beginning a read", e))?;
        let out = f(&Db::Pg {
            pg: PgTx {
                tx: &tx,
                rt: h,
                cache,
            },
            key,
        });
        block_on(h, tx.commit()).map_err(|e| pg_error("ending a read", e))?;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_urls() {
        assert_eq!(
            without_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(without_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(without_password("postgres://h/db"), "postgres://h/db");
    }
}
