//! The PostgreSQL store (issue 14), built beside the SQLite one. This
//! slice has the schema and its migrator; the `Store` methods are not yet
//! implemented on it, so `serve`/`admin` refuse a `postgres://` database
//! ([`refuse_until_complete`]). Queries share their text with SQLite
//! through [`super::dialect`].

mod copy;
mod ingest;
mod migrate;

use std::path::Path;

pub use copy::{
    copy_from_sqlite, redact_url, verify_target_chain, CopyError, CopyReport, TableCopy, NOT_COPIED,
};
pub use ingest::{
    apply_batch as apply_batch_pg, fold_last_seen as fold_last_seen_pg, ingest as ingest_pg,
    raw_copy_baseline,
};
pub use migrate::{run_migrations, PG_MIGRATIONS};

/// True if `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &Path) -> bool {
    db.to_str().is_some_and(|s| {
        let s = s.trim_start();
        ["postgres://", "postgresql://"]
            .iter()
            .any(|p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p))
    })
}

/// What every command says when given a `postgres://` database before the
/// PostgreSQL store is complete.
pub const NOT_COMPLETE: &str = "the PostgreSQL store is not complete yet (issue 14): \
    this version serves and administers SQLite databases only; give --db a SQLite \
    file path (docs/operations.md, \"PostgreSQL\")";

/// Refuses a `postgres://` database with [`NOT_COMPLETE`].
pub fn refuse_until_complete(db: &Path) -> anyhow::Result<()> {
    if is_postgres_url(db) {
        anyhow::bail!("{NOT_COMPLETE}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_file_paths() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/w",
            "postgresql://h/w",
            "POSTGRES://h/w",
        ] {
            assert!(is_postgres_url(Path::new(url)), "{url}");
            assert!(refuse_until_complete(Path::new(url)).is_err());
        }
        for path in [
            "warehouse.db",
            "/var/lib/postgres/w.db",
            "postgres",
            "./postgres:/x",
        ] {
            assert!(!is_postgres_url(Path::new(path)), "{path}");
            assert!(refuse_until_complete(Path::new(path)).is_ok());
        }
    }
}
