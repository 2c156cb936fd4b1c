//! The PostgreSQL backend of the store (issue 14): its schema and
//! migrator, its connections ([`PgBackend`]) and its bulk ingest. The
//! store's queries are shared with SQLite through [`super::db`] and
//! [`super::dialect`].

mod backend;
mod copy;
mod ingest;
mod migrate;

pub use backend::{without_password, PgBackend, WRITER_LOCK};

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
        }
        for path in [
            "warehouse.db",
            "/var/lib/postgres/w.db",
            "postgres",
            "./postgres:/x",
        ] {
            assert!(!is_postgres_url(Path::new(path)), "{path}");
        }
    }
}
