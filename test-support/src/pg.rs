//! A fresh PostgreSQL database per test: [`PgDatabase::create`] makes a
//! database with a unique name on the server at `WAREHOUSE_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, trust auth, as
//! `scripts/test.sh` starts it) and drops it when dropped, closing any
//! connection a test left open. Create and drop run on a thread of their
//! own with a one-thread runtime, so the fixture works from plain and from
//! `#[tokio::test]` tests alike.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{anyhow, Context};

/// Where the test PostgreSQL server is, if `WAREHOUSE_TEST_PG` does not say.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server's administrative URL (any database on it; new ones are
/// created beside it).
pub fn pg_admin_url() -> String {
    std::env::var("WAREHOUSE_TEST_PG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned())
}

/// A database made for one test; dropped (with its connections) on drop.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl PgDatabase {
    /// Creates a database named `wh_test_<pid>_<n>_<time>` and returns its
    /// handle. Fails, saying where it tried, if the server is not up.
    pub fn create() -> anyhow::Result<Self> {
        let admin_url = pg_admin_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "wh_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = database_url(&admin_url, &name)?;
        // Byte-order collation, as SQLite sorts (docs/operations.md); a
        // commit need not wait for the disk in a test database (what it
        // changes is speed, not what a committed transaction sees).
        let sql =
            format!("CREATE DATABASE {name} TEMPLATE template0 LOCALE 'C.UTF-8' ENCODING 'UTF8'");
        on_own_thread(&admin_url, sql)
            .and_then(|()| {
                on_own_thread(
                    &admin_url,
                    format!("ALTER DATABASE {name} SET synchronous_commit = off"),
                )
            })
            .with_context(|| {
                format!(
                    "creating test database {name} on {admin_url} (is PostgreSQL running? \
                 scripts/test.sh starts it; WAREHOUSE_TEST_PG overrides the URL)"
                )
            })?;
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // The chain key test_support kept for a server on this database
        // (server.rs, `chain_key_file`); the log stays for a failure's
        // reader.
        let _ = std::fs::remove_file(std::env::temp_dir().join(format!("{}.chainkey", self.name)));
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = on_own_thread(&self.admin_url, sql) {
            eprintln!("warning: dropping test database {}: {e:#}", self.name);
        }
    }
}

/// `admin_url` with its database name replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base
        .find("://")
        .ok_or_else(|| anyhow!("WAREHOUSE_TEST_PG is not a postgres:// URL: {admin_url}"))?
        + 3;
    let host_part = match base[scheme_end..].find('/') {
        Some(k) => &base[..scheme_end + k],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    })
}

/// Runs `sql` (statements without parameters) on `url` from a thread
/// with its own runtime, so it works from plain and async tests alike;
/// returns the rows, each column as text (NULL: None).
fn pg_simple(url: &str, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || -> anyhow::Result<Vec<Vec<Option<String>>>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            let driver = tokio::spawn(conn);
            let mut out = Vec::new();
            for m in client.simple_query(&sql).await? {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                    out.push((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect());
                }
            }
            drop(client);
            let _ = driver.await;
            Ok(out)
        })
    })
    .join()
    .map_err(|_| anyhow!("the PostgreSQL fixture thread panicked"))?
}

fn on_own_thread(url: &str, sql: String) -> anyhow::Result<()> {
    pg_simple(url, &sql).map(drop)
}

fn is_url(db: &std::path::Path) -> bool {
    let text = db.to_string_lossy();
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Runs `sql` (statements without parameters, values written in) on the
/// database `db` names, a SQLite file or a PostgreSQL URL, for the tests
/// that change what no API may change (ageing a loan, say); returns the
/// rows the last statement changed on SQLite, 0 on PostgreSQL.
pub fn db_execute(db: &std::path::Path, sql: &str) -> anyhow::Result<u64> {
    if is_url(db) {
        pg_simple(&db.to_string_lossy(), sql)?;
        Ok(0)
    } else {
        let conn = rusqlite::Connection::open(db)?;
        conn.execute_batch(sql)?;
        Ok(conn.changes())
    }
}

/// The first column of the first row `sql` returns, as an integer (NULL
/// or no row: None), on a SQLite file or a PostgreSQL URL.
pub fn db_scalar(db: &std::path::Path, sql: &str) -> anyhow::Result<Option<i64>> {
    let rows = db_rows(db, sql)?;
    match rows.first().and_then(|r| r.first()).cloned().flatten() {
        None => Ok(None),
        Some(v) => Ok(Some(v.parse::<i64>().or_else(|_| match v.as_str() {
            "t" => Ok(1),
            "f" => Ok(0),
            _ => Err(anyhow!("{v} is not an integer")),
        })?)),
    }
}

/// Every row `sql` returns, each column as text (NULL: None), from a
/// SQLite file or a PostgreSQL URL. Write the query in SQL both accept
/// (`hex_of` gives an upper-case hex expression for a BLOB column).
pub fn db_rows(db: &std::path::Path, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    if is_url(db) {
        return pg_simple(&db.to_string_lossy(), sql);
    }
    use rusqlite::types::ValueRef;
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Real(v) => Some(v.to_string()),
                    ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Some(b.iter().map(|x| format!("{x:02X}")).collect()),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// An upper-case hex expression of BLOB/BYTEA `column` for `db`'s backend.
pub fn hex_of(db: &std::path::Path, column: &str) -> String {
    if is_url(db) {
        format!("upper(encode({column}, 'hex'))")
    } else {
        format!("hex({column})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_admin_one() -> anyhow::Result<()> {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "wh_x")?,
            "postgres://postgres@127.0.0.1:5432/wh_x"
        );
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432", "wh_x")?,
            "postgres://postgres@127.0.0.1:5432/wh_x"
        );
        assert_eq!(
            database_url("postgres://u@h/db?sslmode=disable", "wh_x")?,
            "postgres://u@h/wh_x?sslmode=disable"
        );
        assert!(database_url("127.0.0.1:5432", "wh_x").is_err());
        Ok(())
    }

    /// Needs the server `scripts/test.sh` starts: a database is there
    /// after create and gone after drop.
    #[test]
    fn a_test_database_exists_until_dropped() -> anyhow::Result<()> {
        let count = |name: &str| -> anyhow::Result<i64> {
            let admin = pg_admin_url();
            let name = name.to_owned();
            std::thread::spawn(move || -> anyhow::Result<i64> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let (client, conn) =
                        tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
                    tokio::spawn(conn);
                    let row = client
                        .query_one(
                            "SELECT count(*) FROM pg_database WHERE datname = $1",
                            &[&name],
                        )
                        .await?;
                    Ok(row.get::<_, i64>(0))
                })
            })
            .join()
            .map_err(|_| anyhow!("thread panicked"))?
        };
        let db = PgDatabase::create()?;
        let name = db.name().to_owned();
        assert_eq!(count(&name)?, 1);
        // A connection left open does not keep it alive.
        let url = db.url().to_owned();
        let held = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                client.batch_execute("CREATE TABLE t (a BIGINT)").await?;
                std::mem::forget(client);
                Ok(())
            })
        });
        held.join().map_err(|_| anyhow!("thread panicked"))??;
        drop(db);
        assert_eq!(count(&name)?, 0);
        Ok(())
    }
}
