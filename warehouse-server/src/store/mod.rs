//! Storage: the one module that speaks SQL. Everything above it calls the
//! async methods of [`Store`], which are the storage interface (a
//! PostgreSQL implementation provides the same methods; when it lands the
//! method set becomes a trait). SQLite work runs on tokio's blocking pool:
//! one writer connection (SQLite allows one writer; every operation is one
//! IMMEDIATE transaction, so a failure changes nothing) and a small pool of
//! read connections (WAL lets them read while the writer writes).

mod accounts;
pub(crate) mod acquisitions;
mod assets;
mod audit;
mod cockpit;
mod daemons;
pub(crate) mod db;
pub mod dialect;
mod epcis;
mod events;
mod health;
pub(crate) mod idle_findings;
mod import;
mod ingest;
pub(crate) mod manual;
mod names;
mod paging;
pub mod pg;
pub(crate) mod pool;
mod register;
mod rentals;
mod reports;
mod standards;
mod stocktake;
mod throttle;
mod warnings;
mod workflow;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub(crate) use db::Db;

use crate::error::{AppError, AppResult, Reason};

pub use accounts::AuthenticatedSession;
pub use assets::BulkAsset;
pub use import::ImportOptions;
pub use ingest::{apply_batch, validate_batch, ForeignSighting, IngestOutcome};
pub use names::{split_numbers, AssetName, LocationName, NameQuery, Names};
pub use reports::*;
pub use workflow::UnusedMark;
pub use workflow::{
    Availability, BookingView, DeskEntry, Document, FieldAsset, FieldPlan, Listing, PickLine,
    PickList, PurchaseMatches, RequestQuery, SampleAsset, StockLocation, WaitingCheckout,
    MAX_AVAILABILITY_DAYS, REUSE_REACH_KEY,
};

/// Schema migrations, applied in order at start; never edit one that has
/// shipped, add a new file.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_ingest_indexes.sql")),
    (3, include_str!("../../migrations/0003_workflows.sql")),
    (4, include_str!("../../migrations/0004_desk_scans.sql")),
    (5, include_str!("../../migrations/0005_asset_summary.sql")),
    (6, include_str!("../../migrations/0006_asset_photos.sql")),
    (7, include_str!("../../migrations/0007_keyed_chain.sql")),
    (8, include_str!("../../migrations/0008_login_throttle.sql")),
    (9, include_str!("../../migrations/0009_daemons.sql")),
    (10, include_str!("../../migrations/0010_reader_health.sql")),
    (11, include_str!("../../migrations/0011_manual_entry.sql")),
    (
        12,
        include_str!("../../migrations/0012_over_budget_stage.sql"),
    ),
    (13, include_str!("../../migrations/0013_regions.sql")),
    (14, include_str!("../../migrations/0014_scoped_roles.sql")),
    (15, include_str!("../../migrations/0015_money_rules.sql")),
    (
        16,
        include_str!("../../migrations/0016_central_purchasing.sql"),
    ),
    (17, include_str!("../../migrations/0017_request_lines.sql")),
    (18, include_str!("../../migrations/0018_kits.sql")),
    (19, include_str!("../../migrations/0019_rentals.sql")),
    (20, include_str!("../../migrations/0020_acquisitions.sql")),
    (21, include_str!("../../migrations/0021_epcis.sql")),
    (22, include_str!("../../migrations/0022_idle_findings.sql")),
    (23, include_str!("../../migrations/0023_inspections.sql")),
    (24, include_str!("../../migrations/0024_auditors.sql")),
];

/// The SQLite backend: one writer, a pool of readers.
#[derive(Debug)]
struct Lite {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: pool::Pool<Connection>,
}

/// Reads open at most this many times `read_connections` connections at
/// once under load; further reads wait (`store::pool`).
pub(crate) const READ_BURST: usize = 4;

#[derive(Debug)]
enum Backend {
    Lite(Lite),
    Pg(Box<pg::PgBackend>),
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    /// Keys the event chain.
    chain_key: crate::events::ChainKey,
    /// The ingest group committer's queue, started by the first batch
    /// (`ingest::Committer`).
    ingest: ingest::Committer,
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// SQLite's busy handler: while another process (a second replica, an
/// `admin` command) holds the write lock, retry every 200 µs for the first
/// 10 ms, then every millisecond, giving up (`database is locked`) after
/// about 10 s. SQLite's own `busy_timeout` backs off to 100 ms sleeps, so
/// two replicas sharing a file mostly slept (docs/performance.md).
fn wait_for_lock(tries: i32) -> bool {
    const QUICK: i32 = 50;
    const TRIES: i32 = QUICK + 9_990;
    if tries >= TRIES {
        return false;
    }
    let pause = if tries < QUICK { 200 } else { 1_000 };
    std::thread::sleep(std::time::Duration::from_micros(pause));
    true
}

fn configure(conn: &Connection) -> AppResult<()> {
    conn.busy_handler(Some(wait_for_lock))?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -262144;
         PRAGMA mmap_size = 2147483648;
         PRAGMA wal_autocheckpoint = 16384;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(())
}

fn open_connection(path: &Path) -> AppResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| AppError::internal(format!("opening database {}: {e}", path.display())))?;
    configure(&conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> AppResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(AppError::internal(format!(
            "database refused WAL journal mode (got {mode})"
        )));
    }
    run_migrations(conn, MIGRATIONS)
}

/// Applies the migrations not yet applied, each in its own transaction.
/// A migration may rebuild a table others refer to (SQLite cannot alter a
/// CHECK): foreign keys are off while migrating (the pragma is a no-op
/// inside a transaction) and checked before each commit.
fn run_migrations(conn: &mut Connection, migrations: &[(i64, &str)]) -> AppResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let migrated = apply_migrations(conn, migrations);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    migrated
}

fn apply_migrations(conn: &mut Connection, migrations: &[(i64, &str)]) -> AppResult<()> {
    for (version, sql) in migrations {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !done {
            tracing::info!(version, "applying schema migration");
            tx.execute_batch(sql)?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()?;
            if let Some(table) = broken {
                return Err(AppError::internal(format!(
                    "schema migration {version} leaves rows of {table} referring to nothing"
                )));
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, crate::time::now_ms()),
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) and migrates the database: a SQLite
    /// file, or a PostgreSQL database when `path` is a `postgres://` URL;
    /// `chain_key` seals and verifies its event chain.
    pub fn open(
        path: &Path,
        read_connections: usize,
        chain_key: crate::events::ChainKey,
    ) -> AppResult<Self> {
        let backend = if pg::is_postgres_url(path) {
            let url = path.to_str().unwrap_or_default().trim().to_owned();
            Backend::Pg(Box::new(pg::PgBackend::open(
                &url,
                read_connections.max(1),
            )?))
        } else {
            let mut writer = open_connection(path)?;
            migrate(&mut writer)?;
            let readers = (0..read_connections.max(1))
                .map(|_| open_connection(path))
                .collect::<AppResult<Vec<_>>>()?;
            let readers = pool::Pool::new(readers, read_connections.max(1) * READ_BURST);
            Backend::Lite(Lite {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers,
            })
        };
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                chain_key,
                ingest: ingest::Committer::default(),
            }),
        })
    }

    /// The SQLite file, or the PostgreSQL URL (without its password).
    pub fn location(&self) -> String {
        match &self.inner.backend {
            Backend::Lite(l) => l.path.display().to_string(),
            Backend::Pg(p) => p.url_for_display(),
        }
    }

    /// The SQLite file, if the store is on SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Lite(l) => Some(&l.path),
            Backend::Pg(_) => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.inner.backend, Backend::Pg(_))
    }

    pub(crate) fn chain_key(&self) -> &crate::events::ChainKey {
        &self.inner.chain_key
    }

    /// Runs `f` in one write transaction, off the async runtime. An
    /// error rolls everything back. Writers are serialised: SQLite's one
    /// writer, and on PostgreSQL a transaction-scoped advisory lock that
    /// every replica's writers take first.
    pub(crate) async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> AppResult<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write_blocking(f)).await?
    }

    /// [`Store::write`] for callers already off the runtime (CLI, bench).
    pub fn write_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        let key = &self.inner.chain_key;
        match &self.inner.backend {
            Backend::Lite(lite) => {
                let mut conn = lite
                    .writer
                    .lock()
                    .map_err(|_| AppError::internal("database writer lock poisoned"))?;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&Db::Lite { conn: &tx, key })?;
                tx.commit()?;
                Ok(out)
            }
            Backend::Pg(pg) => pg.write(key, f),
        }
    }

    /// Runs `f` on a read snapshot, off the async runtime.
    pub(crate) async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> AppResult<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read_blocking(f)).await?
    }

    pub fn read_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Db<'_>) -> AppResult<T>,
    {
        let key = &self.inner.chain_key;
        let lite = match &self.inner.backend {
            Backend::Lite(lite) => lite,
            Backend::Pg(pg) => return pg.read(key, f),
        };
        let conn = lite.readers.take(|| open_connection(&lite.path))?;
        // A read transaction gives one consistent snapshot.
        if let Err(e) = conn.execute_batch("BEGIN DEFERRED") {
            conn.discard();
            return Err(e.into());
        }
        let out = f(&Db::Lite { conn: &conn, key });
        if let Err(e) = conn.execute_batch("COMMIT") {
            // Rolled back or not, it is not handed to the next read.
            conn.discard();
            return Err(e.into());
        }
        out
    }

    /// Consistent online copy of the whole database to `dest`
    /// (SQLite's backup API; the server keeps running).
    pub async fn backup_to(&self, dest: PathBuf) -> AppResult<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.backup_blocking(&dest)).await?
    }

    pub fn backup_blocking(&self, dest: &Path) -> AppResult<()> {
        let Backend::Lite(lite) = &self.inner.backend else {
            return Err(AppError::internal(
                "backup copies a SQLite database; back up PostgreSQL with pg_dump \
                 (docs/operations.md, \"PostgreSQL\")",
            ));
        };
        if dest.exists() {
            return Err(Reason::BackupExists {
                path: dest.display().to_string(),
            }
            .into());
        }
        let src = open_connection(&lite.path)?;
        let mut out = Connection::open(dest)
            .map_err(|e| AppError::internal(format!("creating {}: {e}", dest.display())))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut out)?;
        backup.run_to_completion(1024, std::time::Duration::from_millis(0), None)?;
        drop(backup);
        let ok: String = out.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(AppError::internal(format!(
                "backup {} failed its integrity check: {ok}",
                dest.display()
            )));
        }
        Ok(())
    }

    pub async fn get_setting(&self, key: &'static str) -> AppResult<Option<String>> {
        self.read(move |c| register::get_setting(c, key)).await
    }
}

pub use manual::TypedAsset;
pub use stocktake::{report_csv, ManualSighting};

#[cfg(test)]
mod tests {
    use super::*;

    /// A database made before auditors keeps its people and their
    /// sessions through the rebuild of `users`, and then takes the role;
    /// the audit log refuses edits.
    #[test]
    fn the_auditors_migration_keeps_users_and_their_sessions() -> AppResult<()> {
        let mut conn = Connection::open_in_memory()?;
        let before: Vec<(i64, &str)> = MIGRATIONS.iter().copied().filter(|m| m.0 < 24).collect();
        run_migrations(&mut conn, &before)?;
        conn.execute_batch(
            "INSERT INTO users (id, username, display_name, password_hash, role, created_at)
                 VALUES (5, 'aud', '审计', 'x', 'approver', 1);
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                 VALUES (x'01', 5, 1, 2);",
        )?;
        assert!(conn
            .execute("UPDATE users SET role = 'auditor' WHERE id = 5", [])
            .is_err());
        run_migrations(&mut conn, MIGRATIONS)?;
        conn.execute("UPDATE users SET role = 'auditor' WHERE id = 5", [])?;
        let sessions: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE u.username = 'aud'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(sessions, 1);
        // Sessions still refer to users: an orphan is refused.
        assert!(conn
            .execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                 VALUES (x'02', 99, 1, 2)",
                [],
            )
            .is_err());
        conn.execute(
            "INSERT INTO audit_reads (user_id, username, at, method, path)
             VALUES (5, 'aud', 1, 'GET', '/api/v1/assets')",
            [],
        )?;
        assert!(conn.execute("DELETE FROM audit_reads", []).is_err());
        assert!(conn
            .execute("UPDATE audit_reads SET path = '/'", [])
            .is_err());
        Ok(())
    }

    /// A database made before the stage `over_budget` keeps its requests
    /// and their steps through the rebuild of `requests`, and then takes
    /// the new stage.
    #[test]
    fn the_over_budget_migration_keeps_requests_and_their_steps() -> AppResult<()> {
        let mut conn = Connection::open_in_memory()?;
        let before: Vec<(i64, &str)> = MIGRATIONS.iter().copied().filter(|m| m.0 < 12).collect();
        run_migrations(&mut conn, &before)?;
        conn.execute_batch(
            "INSERT INTO requests (id, kind, stage, applicant, budget_fen, created_at, updated_at)
                 VALUES (7, 'purchase', 'procurement', 'user:u', 1500000, 1, 1);
             INSERT INTO request_steps (request_id, stage, action, actor, at)
                 VALUES (7, 'approval', 'submit', 'user:u', 1);",
        )?;
        assert!(conn
            .execute("UPDATE requests SET stage = 'over_budget' WHERE id = 7", [])
            .is_err());
        run_migrations(&mut conn, MIGRATIONS)?;
        conn.execute("UPDATE requests SET stage = 'over_budget' WHERE id = 7", [])?;
        let (budget, steps): (i64, i64) = conn.query_row(
            "SELECT budget_fen, (SELECT COUNT(*) FROM request_steps WHERE request_id = r.id)
             FROM requests r WHERE id = 7",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        assert_eq!((budget, steps), (1_500_000, 1));
        // The steps still refer to requests: an orphan is refused.
        assert!(conn
            .execute(
                "INSERT INTO request_steps (request_id, stage, action, actor, at)
                 VALUES (99, 'approval', 'submit', 'user:u', 1)",
                [],
            )
            .is_err());
        Ok(())
    }
}
