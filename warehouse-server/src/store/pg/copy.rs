//! `admin migrate`: a SQLite deployment copied into a new, empty
//! PostgreSQL database in one transaction, so a failure leaves the target
//! empty. Tables, columns and types come from the two catalogs (PostgreSQL's
//! after its migrations), so a new table or column is copied without a
//! change here, and a table or column on one side only stops the copy.
//! Rows go in by binary COPY in primary-key order, each value converted to
//! its target column's type; before commit every table's row count and
//! content digest must equal the source's.
//!
//! Not copied: `sessions` (everyone signs in again) and `login_failures`
//! (failed-login counters, which expire anyway); `schema_migrations` is the
//! target's own. The lockout audit trail (`login_lockouts`) is copied.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{pin_mut, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, Statement, Transaction};

use super::migrate::{run_migrations, PG_MIGRATIONS};
use crate::events::{ChainKey, KeyFileError};

/// Tables whose rows stay behind: login sessions and failed-login counters.
pub const NOT_COPIED: &[&str] = &["sessions", "login_failures"];

/// Each side keeps its own record of applied migrations.
const OWN_TABLE: &str = "schema_migrations";

/// Rows handed from the SQLite reader to the COPY at a time.
const BATCH_ROWS: usize = 1024;

/// How long to wait for PostgreSQL when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a migration stopped. Nothing is committed to the target in any case.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("source database {0} does not exist")]
    SourceMissing(PathBuf),
    #[error("{path} is not a warehouse database: {why}")]
    NotAWarehouse { path: PathBuf, why: String },
    #[error("{path} is at schema version {found} but this warehouse-server's newest is {known}: {advice}")]
    SchemaVersion {
        path: PathBuf,
        found: i64,
        known: i64,
        advice: &'static str,
    },
    #[error(transparent)]
    ChainKey(#[from] KeyFileError),
    #[error(
        "the event chain of {path} does not verify, so it is not copied: {problem} \
         (`admin verify-log` shows the same)"
    )]
    SourceChainBroken { path: PathBuf, problem: String },
    #[error("reading {path}, {what}: {detail}")]
    Source {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("`{url}` is not a PostgreSQL connection URL: {detail}")]
    BadUrl { url: String, detail: String },
    #[error("cannot connect to PostgreSQL at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("PostgreSQL at {url}, {what}: {detail}")]
    Target {
        url: String,
        what: String,
        detail: String,
    },
    #[error(
        "the target database is not empty: table {table} has {rows} rows; migrate only into \
         a new, empty database (nothing was changed)"
    )]
    TargetNotEmpty { table: String, rows: i64 },
    #[error("table {table} is in the {side} database only; both must be at the same schema")]
    TableOnOneSide { table: String, side: &'static str },
    #[error(
        "column {table}.{column} is in the {side} database only; both must be at the same schema"
    )]
    ColumnOnOneSide {
        table: String,
        column: String,
        side: &'static str,
    },
    #[error("column {table}.{column} has PostgreSQL type {ty}, which the copy cannot write")]
    UnsupportedType {
        table: String,
        column: String,
        ty: String,
    },
    #[error("{table}.{column} of the row with {key}: {problem}; nothing was committed")]
    Value {
        table: String,
        column: String,
        key: String,
        problem: String,
    },
    #[error("the foreign keys among the tables {0} form a cycle, so no order copies them")]
    ForeignKeyCycle(String),
    #[error("table {table} did not arrive intact: {what}; nothing was committed")]
    Mismatch { table: String, what: String },
    #[error("{0}")]
    Internal(String),
}

/// One copied table: its rows and the digest both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    /// SHA-256 over every column of every row in primary-key order.
    pub digest: [u8; 32],
}

/// What a migration copied (in copy order) and left behind.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub tables: Vec<TableCopy>,
    /// Tables of [`NOT_COPIED`] with their row counts in the source.
    pub not_copied: Vec<(String, u64)>,
}

/// Copies the SQLite database `from` (opened read-only; its event chain
/// must verify under the key in `chain_key_path`) into the empty
/// PostgreSQL database at `url`, migrating its schema first. See the
/// module comment.
pub async fn copy_from_sqlite(
    from: &Path,
    url: &str,
    chain_key_path: &Path,
) -> Result<CopyReport, CopyError> {
    let source = Source::open(from)?;
    let key = ChainKey::read(chain_key_path)?;
    let (source, ()) = on_source(source, {
        let key = key.clone();
        move |s| s.verify_chain(&key)
    })
    .await?;

    let shown = redact_url(url);
    let mut client = connect(url, &shown).await?;
    let target_err = |what: &str| {
        let url = shown.clone();
        let what = what.to_owned();
        move |e: tokio_postgres::Error| CopyError::Target {
            url,
            what,
            detail: pg_detail(&e),
        }
    };
    run_migrations(&mut client, PG_MIGRATIONS)
        .await
        .map_err(|e| CopyError::Target {
            url: shown.clone(),
            what: "applying the schema".into(),
            detail: e.to_string(),
        })?;
    let target = TargetShape::read(&client)
        .await
        .map_err(target_err("reading the schema"))?;

    let copied: BTreeSet<String> = target
        .tables
        .keys()
        .filter(|t| *t != OWN_TABLE && !NOT_COPIED.contains(&t.as_str()))
        .cloned()
        .collect();
    let order = copy_order(&copied, &target.foreign_keys)?;
    for table in order
        .iter()
        .chain(target.tables.keys().filter(|t| !copied.contains(*t)))
        .filter(|t| *t != OWN_TABLE)
    {
        let rows: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", quote(table)), &[])
            .await
            .map_err(target_err(&format!("counting the rows of {table}")))?
            .get(0);
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty {
                table: table.clone(),
                rows,
            });
        }
    }

    let (source, source_tables) = on_source(source, |s| s.shape()).await?;
    compare_shapes(&source_tables, &target)?;
    let names: Vec<String> = order
        .iter()
        .cloned()
        .chain(
            NOT_COPIED
                .iter()
                .filter(|t| source_tables.contains_key(**t))
                .map(|t| (*t).to_owned()),
        )
        .collect();
    let (mut source, counts) = on_source(source, move |s| {
        names
            .iter()
            .map(|t| Ok((t.clone(), s.count(t)?)))
            .collect::<Result<BTreeMap<String, u64>, CopyError>>()
    })
    .await?;

    let tx = client
        .transaction()
        .await
        .map_err(target_err("beginning the copy"))?;
    // The source's rows are copied as they are, derived ones (the asset
    // summary) included, so the triggers that derive rows stay off until
    // every table is in; foreign keys are still checked.
    for table in &order {
        tx.batch_execute(&format!(
            "ALTER TABLE {} DISABLE TRIGGER USER",
            quote(table)
        ))
        .await
        .map_err(target_err(&format!("pausing the triggers of {table}")))?;
    }
    let mut report = CopyReport::default();
    let mut plans = Vec::new();
    for table in &order {
        let (plan, select) = TablePlan::prepare(&tx, table, &target.tables[table])
            .await
            .map_err(|e| e.at(&shown))?;
        let plan = Arc::new(plan);
        let rows = counts.get(table).copied().unwrap_or(0);
        let (s, sent) = copy_table(&tx, source, Arc::clone(&plan), rows)
            .await
            .map_err(|e| e.at(&shown))?;
        source = s;
        report.tables.push(TableCopy {
            table: table.clone(),
            rows: sent.rows,
            digest: sent.digest,
        });
        if sent.rows != rows {
            return Err(CopyError::Mismatch {
                table: table.clone(),
                what: format!("{rows} rows counted in the source but {} read", sent.rows),
            });
        }
        plans.push((plan, select));
    }
    drop(source);

    for ((plan, select), copy) in plans.iter().zip(&report.tables) {
        let arrived = target_digest(&tx, plan, select)
            .await
            .map_err(|e| e.at(&shown))?;
        if arrived.rows != copy.rows {
            return Err(CopyError::Mismatch {
                table: plan.name.clone(),
                what: format!(
                    "{} rows in the source, {} in PostgreSQL",
                    copy.rows, arrived.rows
                ),
            });
        }
        if arrived.digest != copy.digest {
            return Err(CopyError::Mismatch {
                table: plan.name.clone(),
                what: format!(
                    "content digest {} in the source, {} in PostgreSQL",
                    shared::hex::Hex(&copy.digest),
                    shared::hex::Hex(&arrived.digest)
                ),
            });
        }
    }
    for table in &order {
        for column in &target.tables[table].identity {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), \
                     COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
                    c = quote(column),
                    t = quote(table)
                ),
                &[&quote(table), column],
            )
            .await
            .map_err(target_err(&format!("moving the id sequence of {table}")))?;
        }
        tx.batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER USER", quote(table)))
            .await
            .map_err(target_err(&format!("restoring the triggers of {table}")))?;
    }
    tx.commit()
        .await
        .map_err(target_err("committing the copy"))?;

    verify_target_chain(url, &key).await?;
    report.not_copied = NOT_COPIED
        .iter()
        .filter_map(|t| counts.get(*t).map(|n| ((*t).to_owned(), *n)))
        .collect();
    Ok(report)
}

/// Checks the keyed chain of events and request steps in the PostgreSQL
/// database at `url` under `chain_key`, by the same verifier the server's
/// `admin verify-log` runs (through the backend-neutral store).
pub async fn verify_target_chain(url: &str, chain_key: &ChainKey) -> Result<(), CopyError> {
    let url = url.to_owned();
    let key = chain_key.clone();
    let shown = redact_url(&url);
    let target = |what: &str, detail: String| CopyError::Target {
        url: shown.clone(),
        what: what.to_owned(),
        detail,
    };
    let verified = tokio::task::spawn_blocking(move || {
        let store = crate::store::Store::open(std::path::Path::new(&url), 1, key.clone())?;
        store.read_blocking(|c| crate::store::events::verify(c, &key, None))
    })
    .await
    .map_err(|e| target("verifying the chain on arrival", e.to_string()))?
    .map_err(|e| target("verifying the chain on arrival", e.to_string()))?;
    if verified.ok {
        Ok(())
    } else {
        Err(target(
            "verifying the chain on arrival",
            format!(
                "the copied chain does not verify: {} (the copy is committed; \
                 drop the database and investigate before serving it)",
                verified.problem.unwrap_or_default()
            ),
        ))
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut shown = url.to_owned();
    if let Some(scheme_end) = url.find("://").map(|i| i + 3) {
        let rest = &url[scheme_end..];
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                shown = format!(
                    "{}***{}",
                    &url[..scheme_end + colon + 1],
                    &url[scheme_end + at..]
                );
            }
        }
    }
    // `?password=…` in a URL, `password=…` in key=value form.
    let mut out = String::with_capacity(shown.len());
    let mut rest = shown.as_str();
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let value_start = i + "password=".len();
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        let value = &rest[value_start..];
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |k| k + 2)
        } else {
            value.find(['&', ' ']).unwrap_or(value.len())
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// `"name"`, quoted for SQL on either side.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL error with the server's message when there is one.
fn pg_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

async fn connect(url: &str, shown: &str) -> Result<Client, CopyError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| CopyError::BadUrl {
        url: shown.to_owned(),
        detail: pg_detail(&e),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| CopyError::Connect {
            url: shown.to_owned(),
            detail: pg_detail(&e),
        })?;
    let shown = shown.to_owned();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(url = %shown, "PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

/// An error from the target side of one table, before the URL is known
/// to the code that hit it.
#[derive(Debug)]
enum TableError {
    Copy(CopyError),
    Pg {
        what: String,
        e: tokio_postgres::Error,
    },
}

impl TableError {
    fn pg(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let what = what.into();
        move |e| Self::Pg { what, e }
    }

    fn at(self, url: &str) -> CopyError {
        match self {
            Self::Copy(e) => e,
            Self::Pg { what, e } => CopyError::Target {
                url: url.to_owned(),
                what,
                detail: pg_detail(&e),
            },
        }
    }
}

impl From<CopyError> for TableError {
    fn from(e: CopyError) -> Self {
        Self::Copy(e)
    }
}

/// Runs `f` on the source off the async runtime and hands the source back.
async fn on_source<T, F>(source: Source, f: F) -> Result<(Source, T), CopyError>
where
    T: Send + 'static,
    F: FnOnce(&Source) -> Result<T, CopyError> + Send + 'static,
{
    let (source, out) = tokio::task::spawn_blocking(move || {
        let out = f(&source);
        (source, out)
    })
    .await
    .map_err(|e| CopyError::Internal(format!("the SQLite reader stopped: {e}")))?;
    Ok((source, out?))
}

/// The SQLite file, read-only, inside one read transaction: everything
/// read from it (the chain check, the counts, the rows) is one snapshot,
/// even if a server is still writing to it.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    conn: Connection,
}

impl Source {
    fn open(path: &Path) -> Result<Self, CopyError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CopyError::SourceMissing(path.to_owned()))
            }
            Err(e) => {
                return Err(CopyError::Source {
                    path: path.to_owned(),
                    what: "looking at the file".into(),
                    detail: e.to_string(),
                })
            }
            Ok(m) if !m.is_file() => {
                return Err(CopyError::NotAWarehouse {
                    path: path.to_owned(),
                    why: "it is not a file".into(),
                })
            }
            Ok(_) => {}
        }
        let not_warehouse = |e: rusqlite::Error| CopyError::NotAWarehouse {
            path: path.to_owned(),
            why: e.to_string(),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(not_warehouse)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(not_warehouse)?;
        conn.execute_batch("BEGIN DEFERRED")
            .map_err(not_warehouse)?;
        let has_migrations: bool = conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [OWN_TABLE],
                |r| r.get(0),
            )
            .map_err(not_warehouse)?;
        if !has_migrations {
            return Err(CopyError::NotAWarehouse {
                path: path.to_owned(),
                why: format!("it has no {OWN_TABLE} table"),
            });
        }
        let found: i64 = conn
            .query_row(
                &format!("SELECT COALESCE(MAX(version), 0) FROM {OWN_TABLE}"),
                [],
                |r| r.get(0),
            )
            .map_err(not_warehouse)?;
        let known = crate::store::MIGRATIONS.last().map_or(0, |m| m.0);
        if found != known {
            return Err(CopyError::SchemaVersion {
                path: path.to_owned(),
                found,
                known,
                advice: if found < known {
                    "run this warehouse-server on it once (e.g. `warehouse-server --db FILE \
                     admin verify-log`), which brings its schema up to date, then migrate"
                } else {
                    "it was written by a newer warehouse-server; migrate with that version"
                },
            });
        }
        Ok(Self {
            path: path.to_owned(),
            conn,
        })
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> CopyError + '_ {
        let what = what.into();
        move |e| CopyError::Source {
            path: self.path.clone(),
            what,
            detail: e.to_string(),
        }
    }

    fn verify_chain(&self, key: &ChainKey) -> Result<(), CopyError> {
        let v = crate::store::events::verify(
            &crate::store::Db::Lite {
                conn: &self.conn,
                key,
            },
            key,
            None,
        )
        .map_err(|e| CopyError::Source {
            path: self.path.clone(),
            what: "verifying the event chain".into(),
            detail: e.to_string(),
        })?;
        if v.ok {
            Ok(())
        } else {
            Err(CopyError::SourceChainBroken {
                path: self.path.clone(),
                problem: v.problem.unwrap_or_else(|| "no reason given".into()),
            })
        }
    }

    /// Table → column names.
    fn shape(&self) -> Result<BTreeMap<String, BTreeSet<String>>, CopyError> {
        let read = || -> rusqlite::Result<BTreeMap<String, BTreeSet<String>>> {
            let tables: Vec<String> = self
                .conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%'",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut shape = BTreeMap::new();
            let mut columns = self
                .conn
                .prepare("SELECT name FROM pragma_table_info(?1)")?;
            for t in tables {
                let cols = columns
                    .query_map([&t], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                shape.insert(t, cols);
            }
            Ok(shape)
        };
        read().map_err(self.err("reading its tables"))
    }

    fn count(&self, table: &str) -> Result<u64, CopyError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {}", quote(table)), [], |r| {
                r.get(0)
            })
            .map_err(self.err(format!("counting the rows of {table}")))?;
        Ok(n.unsigned_abs())
    }

    /// Sends the rows of `plan`'s table in key order, converted, in batches;
    /// returns how many and their digest.
    fn stream(
        &self,
        plan: &TablePlan,
        out: &mpsc::Sender<Vec<Vec<Cell>>>,
    ) -> Result<Digested, CopyError> {
        let read_err = || self.err(format!("reading the rows of {}", plan.name));
        let mut stmt = self
            .conn
            .prepare(&plan.sqlite_select())
            .map_err(read_err())?;
        let mut rows = stmt.query([]).map_err(read_err())?;
        let mut digest = TableDigest::default();
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut n = 0u64;
        let stopped = || CopyError::Internal("the PostgreSQL side of the copy stopped".into());
        while let Some(row) = rows.next().map_err(read_err())? {
            n += 1;
            let mut cells = Vec::with_capacity(plan.columns.len());
            for (i, column) in plan.columns.iter().enumerate() {
                let value = row.get_ref(i).map_err(read_err())?;
                let cell = convert(value, column.kind).map_err(|problem| CopyError::Value {
                    table: plan.name.clone(),
                    column: column.name.clone(),
                    key: plan.describe_key(row, n),
                    problem,
                })?;
                cells.push(cell);
            }
            digest.row(&cells);
            batch.push(cells);
            if batch.len() == BATCH_ROWS {
                out.blocking_send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH_ROWS),
                ))
                .map_err(|_| stopped())?;
            }
        }
        if !batch.is_empty() {
            out.blocking_send(batch).map_err(|_| stopped())?;
        }
        Ok(Digested {
            rows: n,
            digest: digest.finish(),
        })
    }
}

/// The PostgreSQL schema after migration.
#[derive(Debug, Default)]
struct TargetShape {
    tables: BTreeMap<String, TargetTable>,
    /// (table, table it refers to).
    foreign_keys: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct TargetTable {
    /// (name, information_schema data type), in table order.
    columns: Vec<(String, String)>,
    /// Primary key columns in key order (empty: none).
    key: Vec<String>,
    /// Identity columns, whose sequences move past the copied ids.
    identity: Vec<String>,
}

impl TargetShape {
    async fn read(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let mut shape = Self::default();
        for r in client
            .query(
                "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                        c.is_identity::text
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                 ORDER BY c.table_name, c.ordinal_position",
                &[],
            )
            .await?
        {
            let table = shape.tables.entry(r.get(0)).or_default();
            let column: String = r.get(1);
            if r.get::<_, String>(3) == "YES" {
                table.identity.push(column.clone());
            }
            table.columns.push((column, r.get(2)));
        }
        for r in client
            .query(
                "SELECT tc.table_name::text, k.column_name::text
                 FROM information_schema.table_constraints tc
                 JOIN information_schema.key_column_usage k
                   ON k.constraint_schema = tc.constraint_schema
                  AND k.constraint_name = tc.constraint_name
                  AND k.table_name = tc.table_name
                 WHERE tc.constraint_type = 'PRIMARY KEY'
                   AND tc.table_schema = current_schema()
                 ORDER BY tc.table_name, k.ordinal_position",
                &[],
            )
            .await?
        {
            if let Some(t) = shape.tables.get_mut(&r.get::<_, String>(0)) {
                t.key.push(r.get(1));
            }
        }
        shape.foreign_keys = client
            .query(
                "SELECT c.relname::text, p.relname::text FROM pg_constraint k
                 JOIN pg_class c ON c.oid = k.conrelid
                 JOIN pg_class p ON p.oid = k.confrelid
                 WHERE k.contype = 'f' AND c.relnamespace =
                     (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(shape)
    }
}

/// Every table and column on both sides, apart from each side's own
/// migrations table (a table left behind must still exist on both).
fn compare_shapes(
    source: &BTreeMap<String, BTreeSet<String>>,
    target: &TargetShape,
) -> Result<(), CopyError> {
    let one_side = |table: &str, side| CopyError::TableOnOneSide {
        table: table.to_owned(),
        side,
    };
    if let Some(t) = source
        .keys()
        .find(|t| *t != OWN_TABLE && !target.tables.contains_key(*t))
    {
        return Err(one_side(t, "SQLite"));
    }
    if let Some(t) = target
        .tables
        .keys()
        .find(|t| *t != OWN_TABLE && !source.contains_key(*t))
    {
        return Err(one_side(t, "PostgreSQL"));
    }
    for (table, spec) in &target.tables {
        let Some(lite) = source.get(table) else {
            continue;
        };
        let pg: BTreeSet<&String> = spec.columns.iter().map(|(c, _)| c).collect();
        let column_err = |column: &String, side| CopyError::ColumnOnOneSide {
            table: table.clone(),
            column: column.clone(),
            side,
        };
        if let Some(c) = lite.iter().find(|c| !pg.contains(c)) {
            return Err(column_err(c, "SQLite"));
        }
        if let Some(c) = pg.iter().find(|c| !lite.contains(**c)) {
            return Err(column_err(c, "PostgreSQL"));
        }
    }
    Ok(())
}

/// Tables in an order where each comes after those it refers to (ties by
/// name); a table referring to itself is fine, as PostgreSQL checks
/// foreign keys at the end of each COPY.
fn copy_order(
    tables: &BTreeSet<String>,
    foreign_keys: &[(String, String)],
) -> Result<Vec<String>, CopyError> {
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (table, refers_to) in foreign_keys {
        if table != refers_to && tables.contains(refers_to) {
            if let Some(n) = needs.get_mut(table.as_str()) {
                n.insert(refers_to.as_str());
            }
        }
    }
    let mut order = Vec::with_capacity(tables.len());
    while !needs.is_empty() {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(_, n)| n.is_empty())
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = needs.keys().copied().collect();
            return Err(CopyError::ForeignKeyCycle(stuck.join(", ")));
        }
        for t in &ready {
            needs.remove(t);
        }
        for n in needs.values_mut() {
            for t in &ready {
                n.remove(t);
            }
        }
        order.extend(ready.into_iter().map(str::to_owned));
    }
    Ok(order)
}

/// What the copy writes into a PostgreSQL column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int8,
    Int4,
    Int2,
    Float8,
    Text,
    Bytes,
    Bool,
}

impl Kind {
    fn of(ty: &Type) -> Option<Self> {
        Some(match ty.name() {
            "int8" => Self::Int8,
            "int4" => Self::Int4,
            "int2" => Self::Int2,
            "float8" => Self::Float8,
            "text" | "varchar" | "bpchar" => Self::Text,
            "bytea" => Self::Bytes,
            "bool" => Self::Bool,
            _ => return None,
        })
    }

    fn sql_name(self) -> &'static str {
        match self {
            Self::Int8 => "BIGINT",
            Self::Int4 => "INTEGER",
            Self::Int2 => "SMALLINT",
            Self::Float8 => "DOUBLE PRECISION",
            Self::Text => "TEXT",
            Self::Bytes => "BYTEA",
            Self::Bool => "BOOLEAN",
        }
    }
}

/// One value on its way from SQLite to PostgreSQL, already of the kind
/// its target column takes.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// SQLite's `value` as a value of `kind`, or what is wrong with it. Exact
/// only: no rounding, no text parsed as a number.
fn convert(value: ValueRef<'_>, kind: Kind) -> Result<Cell, String> {
    /// The largest integer every smaller one of which a double holds exactly.
    const EXACT_IN_F64: u64 = 1 << 53;
    let out_of_range = |i: i64| format!("{i} is out of range for {}", kind.sql_name());
    match (value, kind) {
        (ValueRef::Null, _) => Ok(Cell::Null),
        (ValueRef::Integer(i), Kind::Int8) => Ok(Cell::Int(i)),
        (ValueRef::Integer(i), Kind::Int4) => i32::try_from(i)
            .map(|_| Cell::Int(i))
            .map_err(|_| out_of_range(i)),
        (ValueRef::Integer(i), Kind::Int2) => i16::try_from(i)
            .map(|_| Cell::Int(i))
            .map_err(|_| out_of_range(i)),
        (ValueRef::Integer(i), Kind::Float8) if i.unsigned_abs() <= EXACT_IN_F64 => {
            Ok(Cell::Float(i as f64))
        }
        (ValueRef::Integer(i @ (0 | 1)), Kind::Bool) => Ok(Cell::Bool(i == 1)),
        (ValueRef::Real(f), Kind::Float8) => Ok(Cell::Float(f)),
        (ValueRef::Text(bytes), Kind::Text) => {
            let text =
                std::str::from_utf8(bytes).map_err(|e| format!("the text is not UTF-8 ({e})"))?;
            if text.contains('\0') {
                return Err("the text holds a NUL character, which PostgreSQL text cannot".into());
            }
            Ok(Cell::Text(text.to_owned()))
        }
        (ValueRef::Blob(bytes), Kind::Bytes) => Ok(Cell::Bytes(bytes.to_vec())),
        (value, kind) => Err(format!(
            "SQLite holds {} where PostgreSQL's column is {}",
            describe(value),
            kind.sql_name()
        )),
    }
}

/// A SQLite value in a message.
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(f) => format!("the real {f}"),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            let short: String = text.chars().take(40).collect();
            let more = if short.len() < text.len() { "…" } else { "" };
            format!("the text `{short}{more}`")
        }
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(i) => match Kind::of(ty) {
                Some(Kind::Int4) => i32::try_from(*i)?.to_sql(ty, out),
                Some(Kind::Int2) => i16::try_from(*i)?.to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Self::Float(f) => f.to_sql(ty, out),
            Self::Text(s) => s.to_sql(ty, out),
            Self::Bytes(b) => b.as_slice().to_sql(ty, out),
            Self::Bool(b) => b.to_sql(ty, out),
        }
    }

    /// Any type: [`convert`] already made the value fit its column, and
    /// the inner `to_sql` refuses a mismatch.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// SHA-256 over cells, each tagged with its kind and, when variable,
/// its length, so no two different rows feed the same bytes.
#[derive(Default)]
struct TableDigest(Sha256);

impl std::fmt::Debug for TableDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TableDigest(…)")
    }
}

impl TableDigest {
    fn row(&mut self, cells: &[Cell]) {
        for cell in cells {
            match cell {
                Cell::Null => self.0.update([0]),
                Cell::Int(i) => {
                    self.0.update([1]);
                    self.0.update(i.to_be_bytes());
                }
                Cell::Float(f) => {
                    self.0.update([2]);
                    self.0.update(f.to_bits().to_be_bytes());
                }
                Cell::Text(s) => {
                    self.0.update([3]);
                    self.0.update((s.len() as u64).to_be_bytes());
                    self.0.update(s.as_bytes());
                }
                Cell::Bytes(b) => {
                    self.0.update([4]);
                    self.0.update((b.len() as u64).to_be_bytes());
                    self.0.update(b);
                }
                Cell::Bool(b) => self.0.update([5, u8::from(*b)]),
            }
        }
    }

    fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// Rows read and their digest.
#[derive(Debug, Clone, Copy)]
struct Digested {
    rows: u64,
    digest: [u8; 32],
}

#[derive(Debug)]
struct PlannedColumn {
    name: String,
    kind: Kind,
    ty: Type,
    /// Text: compared byte by byte on both sides.
    text: bool,
}

/// How one table is read, copied and compared.
#[derive(Debug)]
struct TablePlan {
    name: String,
    columns: Vec<PlannedColumn>,
    /// Indexes into `columns` of the primary key; empty: no key, rows are
    /// ordered by every column.
    key: Vec<usize>,
}

impl TablePlan {
    /// The plan, and the statement that reads the table back from the
    /// target in the same order (its result types are the COPY's).
    async fn prepare(
        tx: &Transaction<'_>,
        name: &str,
        spec: &TargetTable,
    ) -> Result<(Self, Statement), TableError> {
        let key: Vec<usize> = spec
            .key
            .iter()
            .filter_map(|k| spec.columns.iter().position(|(c, _)| c == k))
            .collect();
        let mut plan = Self {
            name: name.to_owned(),
            columns: spec
                .columns
                .iter()
                .map(|(c, data_type)| PlannedColumn {
                    name: c.clone(),
                    kind: Kind::Int8,
                    ty: Type::INT8,
                    text: matches!(
                        data_type.as_str(),
                        "text" | "character varying" | "character"
                    ),
                })
                .collect(),
            key,
        };
        let select = tx
            .prepare(&plan.pg_select())
            .await
            .map_err(TableError::pg(format!("reading {name} back")))?;
        for (column, result) in plan.columns.iter_mut().zip(select.columns()) {
            column.ty = result.type_().clone();
            column.kind = Kind::of(&column.ty).ok_or_else(|| CopyError::UnsupportedType {
                table: name.to_owned(),
                column: column.name.clone(),
                ty: column.ty.name().to_owned(),
            })?;
        }
        Ok((plan, select))
    }

    fn column_list(&self) -> String {
        let names: Vec<String> = self.columns.iter().map(|c| quote(&c.name)).collect();
        names.join(", ")
    }

    /// Key columns, or every column if there is no key.
    fn order_columns(&self) -> Vec<&PlannedColumn> {
        if self.key.is_empty() {
            self.columns.iter().collect()
        } else {
            self.key.iter().map(|&i| &self.columns[i]).collect()
        }
    }

    /// NULLs first, text by bytes: SQLite's order, asked of PostgreSQL.
    fn pg_select(&self) -> String {
        let order: Vec<String> = self
            .order_columns()
            .iter()
            .map(|c| {
                let collate = if c.text { " COLLATE \"C\"" } else { "" };
                format!("{}{collate} NULLS FIRST", quote(&c.name))
            })
            .collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            self.column_list(),
            quote(&self.name),
            order.join(", ")
        )
    }

    fn sqlite_select(&self) -> String {
        let order: Vec<String> = self
            .order_columns()
            .iter()
            .map(|c| {
                let collate = if c.text { " COLLATE BINARY" } else { "" };
                format!("{}{collate}", quote(&c.name))
            })
            .collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            self.column_list(),
            quote(&self.name),
            order.join(", ")
        )
    }

    fn copy_statement(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            quote(&self.name),
            self.column_list()
        )
    }

    /// The row for a message: its key, or its place in key order.
    fn describe_key(&self, row: &rusqlite::Row<'_>, n: u64) -> String {
        if self.key.is_empty() {
            return format!("place {n} in column order");
        }
        let parts: Vec<String> = self
            .key
            .iter()
            .map(|&i| {
                let value = match row.get_ref(i) {
                    Ok(ValueRef::Integer(v)) => v.to_string(),
                    Ok(ValueRef::Text(t)) => format!("'{}'", String::from_utf8_lossy(t)),
                    Ok(ValueRef::Blob(b)) => format!("x'{}'", shared::hex::Hex(b)),
                    Ok(other) => describe(other),
                    Err(e) => e.to_string(),
                };
                format!("{} = {value}", self.columns[i].name)
            })
            .collect();
        parts.join(", ")
    }
}

/// Streams one table from the source into a binary COPY; the source
/// reads on a blocking thread while the COPY writes.
async fn copy_table(
    tx: &Transaction<'_>,
    source: Source,
    plan: Arc<TablePlan>,
    rows: u64,
) -> Result<(Source, Digested), TableError> {
    let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:40}] {pos}/{len} rows ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(plan.name.clone());
    let sink = tx
        .copy_in(&plan.copy_statement())
        .await
        .map_err(TableError::pg(format!(
            "starting the COPY of {}",
            plan.name
        )))?;
    let types: Vec<Type> = plan.columns.iter().map(|c| c.ty.clone()).collect();
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    let (sender, mut receiver) = mpsc::channel::<Vec<Vec<Cell>>>(8);
    let reading = {
        let plan = Arc::clone(&plan);
        tokio::task::spawn_blocking(move || {
            let read = source.stream(&plan, &sender);
            (source, read)
        })
    };
    while let Some(batch) = receiver.recv().await {
        for row in &batch {
            let values: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            writer
                .as_mut()
                .write(&values)
                .await
                .map_err(TableError::pg(format!("copying {}", plan.name)))?;
        }
        bar.inc(batch.len() as u64);
    }
    let (source, read) = reading
        .await
        .map_err(|e| CopyError::Internal(format!("the SQLite reader stopped: {e}")))?;
    let read = read?;
    let written = writer.finish().await.map_err(TableError::pg(format!(
        "finishing the COPY of {}",
        plan.name
    )))?;
    bar.finish_and_clear();
    if written != read.rows {
        return Err(CopyError::Mismatch {
            table: plan.name.clone(),
            what: format!("{} rows read but {written} written", read.rows),
        }
        .into());
    }
    Ok((source, read))
}

/// The table as it now stands in the target, in the source's order.
async fn target_digest(
    tx: &Transaction<'_>,
    plan: &TablePlan,
    select: &Statement,
) -> Result<Digested, TableError> {
    let what = || TableError::pg(format!("reading {} back", plan.name));
    let params: [&(dyn ToSql + Sync); 0] = [];
    let rows = tx.query_raw(select, params).await.map_err(what())?;
    pin_mut!(rows);
    let mut digest = TableDigest::default();
    let mut n = 0u64;
    let mut cells = Vec::with_capacity(plan.columns.len());
    while let Some(row) = rows.try_next().await.map_err(what())? {
        n += 1;
        cells.clear();
        for (i, column) in plan.columns.iter().enumerate() {
            cells.push(read_cell(&row, i, column.kind).map_err(what())?);
        }
        digest.row(&cells);
    }
    Ok(Digested {
        rows: n,
        digest: digest.finish(),
    })
}

fn read_cell(row: &Row, i: usize, kind: Kind) -> Result<Cell, tokio_postgres::Error> {
    Ok(match kind {
        Kind::Int8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Cell::Null, Cell::Int),
        Kind::Int4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Cell::Null, |v| Cell::Int(i64::from(v))),
        Kind::Int2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Cell::Null, |v| Cell::Int(i64::from(v))),
        Kind::Float8 => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Cell::Null, Cell::Float),
        Kind::Text => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Cell::Null, Cell::Text),
        Kind::Bytes => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Cell::Null, Cell::Bytes),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Cell::Null, Cell::Bool),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_exactly_or_say_why_not() {
        assert_eq!(
            convert(ValueRef::Integer(9_007_199_254_740_993), Kind::Int8),
            Ok(Cell::Int(9_007_199_254_740_993))
        );
        assert_eq!(convert(ValueRef::Null, Kind::Bytes), Ok(Cell::Null));
        assert_eq!(
            convert(ValueRef::Blob(&[0x30, 0xff]), Kind::Bytes),
            Ok(Cell::Bytes(vec![0x30, 0xff]))
        );
        assert_eq!(
            convert(ValueRef::Text("仓".as_bytes()), Kind::Text),
            Ok(Cell::Text("仓".into()))
        );
        assert_eq!(
            convert(ValueRef::Integer(3), Kind::Float8),
            Ok(Cell::Float(3.0))
        );
        assert_eq!(
            convert(ValueRef::Integer(1), Kind::Bool),
            Ok(Cell::Bool(true))
        );
        for (value, kind, says) in [
            (ValueRef::Text(b"12"), Kind::Int8, "the text `12`"),
            (ValueRef::Real(1.5), Kind::Int8, "the real 1.5"),
            (ValueRef::Integer(7), Kind::Text, "the integer 7"),
            (ValueRef::Blob(&[1]), Kind::Text, "a blob of 1 bytes"),
            (
                ValueRef::Integer(70_000),
                Kind::Int2,
                "out of range for SMALLINT",
            ),
            (
                ValueRef::Integer(i64::MAX),
                Kind::Float8,
                "DOUBLE PRECISION",
            ),
            (ValueRef::Integer(2), Kind::Bool, "BOOLEAN"),
            (ValueRef::Text(b"\xff"), Kind::Text, "not UTF-8"),
            (ValueRef::Text(b"a\0b"), Kind::Text, "NUL"),
        ] {
            let e = convert(value, kind).err().unwrap_or_default();
            assert!(e.contains(says), "{value:?} as {kind:?}: {e}");
        }
    }

    #[test]
    fn the_digest_tells_apart_rows_that_print_alike() {
        let digest = |rows: &[&[Cell]]| {
            let mut d = TableDigest::default();
            for r in rows {
                d.row(r);
            }
            d.finish()
        };
        let cases: [&[&[Cell]]; 5] = [
            &[&[Cell::Null]],
            &[&[Cell::Text(String::new())]],
            &[&[Cell::Bytes(Vec::new())]],
            &[&[Cell::Text("ab".into()), Cell::Text("c".into())]],
            &[&[Cell::Text("a".into()), Cell::Text("bc".into())]],
        ];
        let all: BTreeSet<[u8; 32]> = cases.iter().map(|c| digest(c)).collect();
        assert_eq!(all.len(), cases.len());
        assert_eq!(digest(cases[3]), digest(cases[3]));
    }

    #[test]
    fn tables_come_after_those_they_refer_to() -> Result<(), CopyError> {
        let tables: BTreeSet<String> = ["assets", "tags", "units", "categories", "sessions"]
            .into_iter()
            .map(String::from)
            .collect();
        let fk = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let order = copy_order(
            &tables,
            &[
                fk("tags", "assets"),
                fk("assets", "units"),
                fk("assets", "categories"),
                fk("units", "units"),
                fk("assets", "not_copied"),
            ],
        )?;
        assert_eq!(order, ["categories", "sessions", "units", "assets", "tags"]);
        let cycle = copy_order(&tables, &[fk("units", "tags"), fk("tags", "units")]);
        assert!(
            matches!(&cycle, Err(CopyError::ForeignKeyCycle(t)) if t == "tags, units"),
            "{cycle:?}"
        );
        Ok(())
    }

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "postgres://wh:s3cret@db.example:5432/warehouse",
                "postgres://wh:***@db.example:5432/warehouse",
            ),
            (
                "postgresql://wh:p%40ss@db/w?sslmode=disable",
                "postgresql://wh:***@db/w?sslmode=disable",
            ),
            (
                "postgres://postgres@127.0.0.1:5432/w",
                "postgres://postgres@127.0.0.1:5432/w",
            ),
            (
                "postgres://h/w?user=wh&password=s3cret&sslmode=disable",
                "postgres://h/w?user=wh&password=***&sslmode=disable",
            ),
            (
                "host=h user=wh password='s3 cret' dbname=w",
                "host=h user=wh password=*** dbname=w",
            ),
            ("host=h PASSWORD=x", "host=h PASSWORD=***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
