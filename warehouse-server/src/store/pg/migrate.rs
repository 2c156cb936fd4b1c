//! The PostgreSQL schema: `migrations/postgres/NNNN_*.sql`, the same
//! numbers as SQLite's (`store::MIGRATIONS`), applied in order at start and
//! recorded in `schema_migrations` like the SQLite migrator does. Each
//! migration is one transaction; a transaction-scoped advisory lock makes
//! replicas that start together apply each one once (the second waits,
//! then finds it recorded).

use tokio_postgres::Client;

use crate::error::{AppError, AppResult};

/// Schema migrations for PostgreSQL; never edit one that has shipped, add
/// a new file (and its SQLite twin with the same number).
pub const PG_MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_ingest_indexes.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_workflows.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_desk_scans.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_asset_summary.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_asset_photos.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/postgres/0007_keyed_chain.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/postgres/0008_login_throttle.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/postgres/0009_daemons.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/postgres/0010_reader_health.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/postgres/0011_manual_entry.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/postgres/0012_over_budget_stage.sql"),
    ),
    (
        13,
        include_str!("../../../migrations/postgres/0013_regions.sql"),
    ),
    (
        14,
        include_str!("../../../migrations/postgres/0014_scoped_roles.sql"),
    ),
    (
        15,
        include_str!("../../../migrations/postgres/0015_money_rules.sql"),
    ),
    (
        16,
        include_str!("../../../migrations/postgres/0016_central_purchasing.sql"),
    ),
    (
        17,
        include_str!("../../../migrations/postgres/0017_request_lines.sql"),
    ),
    (
        18,
        include_str!("../../../migrations/postgres/0018_kits.sql"),
    ),
    (
        19,
        include_str!("../../../migrations/postgres/0019_rentals.sql"),
    ),
    (
        20,
        include_str!("../../../migrations/postgres/0020_acquisitions.sql"),
    ),
    (
        21,
        include_str!("../../../migrations/postgres/0021_epcis.sql"),
    ),
    (
        22,
        include_str!("../../../migrations/postgres/0022_idle_findings.sql"),
    ),
    (
        23,
        include_str!("../../../migrations/postgres/0023_inspections.sql"),
    ),
    (
        24,
        include_str!("../../../migrations/postgres/0024_auditors.sql"),
    ),
];

/// Any number for `pg_advisory_xact_lock`, fixed: "migrations of this
/// schema" ("WHMIGRAT" in ASCII).
const MIGRATION_LOCK: i64 = 0x5748_4D49_4752_4154;

pub(crate) fn pg_error(what: &str, e: tokio_postgres::Error) -> AppError {
    AppError::internal(format!("PostgreSQL, {what}: {}", pg_detail(&e)))
}

/// An error's text with the server's own message: tokio-postgres shows a
/// server-side error as just "db error".
pub(crate) fn pg_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Applies the migrations of `migrations` not yet applied, each in its own
/// transaction; returns the versions it applied.
pub async fn run_migrations(
    client: &mut Client,
    migrations: &[(i64, &str)],
) -> AppResult<Vec<i64>> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .or_else(|e| {
            // Two replicas creating it at once: one wins, the other sees
            // a duplicate type/relation; the table is there either way.
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Ok(())
            } else {
                Err(pg_error("creating schema_migrations", e))
            }
        })?;
    let mut applied = Vec::new();
    for (version, sql) in migrations {
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg_error("beginning a migration", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| pg_error("locking migrations", e))?;
        let done: bool = tx
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = $1)",
                &[version],
            )
            .await
            .map_err(|e| pg_error("reading schema_migrations", e))?
            .get(0);
        if !done {
            tracing::info!(version, "applying PostgreSQL schema migration");
            tx.batch_execute(sql)
                .await
                .map_err(|e| pg_error(&format!("schema migration {version}"), e))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &crate::time::now_ms()],
            )
            .await
            .map_err(|e| pg_error("recording a migration", e))?;
            applied.push(*version);
        }
        tx.commit()
            .await
            .map_err(|e| pg_error(&format!("committing schema migration {version}"), e))?;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;

    async fn connect(url: &str) -> anyhow::Result<Client> {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok(client)
    }

    /// Tables → columns → (PostgreSQL type the SQLite one maps to, NOT
    /// NULL), and index names, of a freshly migrated SQLite file.
    fn sqlite_schema() -> anyhow::Result<(Columns, BTreeSet<String>, BTreeSet<String>)> {
        let dir = tempfile::tempdir()?;
        let store = crate::store::Store::open(
            &dir.path().join("s.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        let schema = store.read_blocking(|c| {
            let c = c
                .sqlite()
                .ok_or_else(|| AppError::internal("a SQLite store was opened"))?;
            let mut tables = Columns::new();
            let names: Vec<String> = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%'",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for t in names {
                let cols: Vec<(String, String, bool, i64)> = c
                    .prepare(&format!("PRAGMA table_info({t})"))?
                    .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))?
                    .collect::<Result<_, _>>()?;
                let mut m = BTreeMap::new();
                for (name, ty, notnull, pk) in cols {
                    let pg = match ty.to_ascii_uppercase().as_str() {
                        "INTEGER" => "bigint",
                        "TEXT" => "text",
                        "BLOB" => "bytea",
                        "REAL" => "double precision",
                        other => {
                            return Err(AppError::internal(format!(
                                "{t}.{name}: SQLite type {other} has no PostgreSQL mapping"
                            )))
                        }
                    };
                    // A primary key column is NOT NULL on PostgreSQL (and an
                    // INTEGER PRIMARY KEY on SQLite is the row id).
                    m.insert(name, (pg.to_owned(), notnull || pk > 0));
                }
                tables.insert(t, m);
            }
            let indexes = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'index'
                     AND name NOT LIKE 'sqlite_autoindex_%'",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let triggers = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((tables, indexes, triggers))
        })?;
        Ok(schema)
    }

    async fn pg_schema(
        client: &Client,
    ) -> anyhow::Result<(Columns, BTreeSet<String>, BTreeSet<String>)> {
        let mut tables = Columns::new();
        for r in client
            .query(
                "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'",
                &[],
            )
            .await?
        {
            let nullable: String = r.get(3);
            tables
                .entry(r.get(0))
                .or_default()
                .insert(r.get(1), (r.get(2), nullable == "NO"));
        }
        let indexes = client
            .query(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
                 AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let triggers = client
            .query(
                "SELECT DISTINCT trigger_name FROM information_schema.triggers
                 WHERE trigger_schema = current_schema()",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok((tables, indexes, triggers))
    }

    /// Every migration applies to a fresh PostgreSQL database, and every
    /// SQLite table, column (type and NOT NULL), index and trigger has its
    /// counterpart there, and nothing more (PostgreSQL adds only triggers
    /// refusing TRUNCATE on the append-only tables).
    #[tokio::test]
    async fn the_postgres_schema_matches_sqlite_table_for_table() -> anyhow::Result<()> {
        let db = test_support::PgDatabase::create()?;
        let mut client = connect(db.url()).await?;
        let applied = run_migrations(&mut client, PG_MIGRATIONS).await?;
        // Every migration, in order (numbers are unique, not always
        // consecutive while branches are merged).
        assert_eq!(
            applied,
            PG_MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>()
        );
        // The same numbers as SQLite's, in order.
        let lite: Vec<i64> = crate::store::MIGRATIONS.iter().map(|m| m.0).collect();
        let pg: Vec<i64> = PG_MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(pg, lite);

        let (lite_tables, lite_indexes, lite_triggers) = sqlite_schema()?;
        let (pg_tables, pg_indexes, pg_triggers) = pg_schema(&client).await?;
        let names = |t: &Columns| t.keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(names(&pg_tables), names(&lite_tables), "tables");
        for (table, cols) in &lite_tables {
            assert_eq!(pg_tables.get(table), Some(cols), "columns of {table}");
        }
        assert_eq!(pg_indexes, lite_indexes, "indexes");
        let extra: BTreeSet<String> = pg_triggers.difference(&lite_triggers).cloned().collect();
        assert!(
            lite_triggers.is_subset(&pg_triggers),
            "triggers missing on PostgreSQL: {:?}",
            lite_triggers.difference(&pg_triggers).collect::<Vec<_>>()
        );
        assert!(
            extra
                .iter()
                .all(|t| t.ends_with("_no_truncate") || t.ends_with("_t")),
            "unexpected PostgreSQL triggers: {extra:?}"
        );

        // Applied again (a restart, or a second replica): nothing to do.
        assert_eq!(
            run_migrations(&mut client, PG_MIGRATIONS).await?,
            Vec::<i64>::new()
        );
        Ok(())
    }

    /// The rules the schema carries hold on PostgreSQL too: append-only
    /// tables refuse changes, the summary triggers count, the new stage is
    /// accepted and an unknown one refused, money and EPC bytes round-trip.
    #[tokio::test]
    async fn the_postgres_schema_keeps_the_rules() -> anyhow::Result<()> {
        let db = test_support::PgDatabase::create()?;
        let mut client = connect(db.url()).await?;
        run_migrations(&mut client, PG_MIGRATIONS).await?;
        client
            .batch_execute(
                "INSERT INTO categories (id, code, name) VALUES (1, 'c', 'c');
                 INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
                 INSERT INTO assets (asset_number, name, category_id, original_value_fen,
                     holder_unit_id, state, condition, created_at, updated_at)
                 VALUES ('1', 'a', 1, 9007199254740993, 1, 'allocated', 'good', 0, 0);
                 INSERT INTO asset_events (seq, asset_id, at, actor, action, details,
                     prev_hash, hash)
                 VALUES (1, 1, 0, 'user:a', 'registered', '{}', '\\x00', '\\x01ff');",
            )
            .await?;
        for refused in [
            "UPDATE asset_events SET actor = 'x'",
            "DELETE FROM asset_events",
            "TRUNCATE asset_events",
        ] {
            let e = client.batch_execute(refused).await.err();
            assert!(
                e.as_ref()
                    .is_some_and(|e| format!("{e:?}").contains("append-only")),
                "{refused}: {e:?}"
            );
        }
        let row = client
            .query_one(
                "SELECT n, value_fen FROM asset_summary WHERE state = 'allocated'",
                &[],
            )
            .await?;
        assert_eq!(
            (row.get::<_, i64>(0), row.get::<_, i64>(1)),
            (1, 9_007_199_254_740_993)
        );
        client
            .batch_execute("UPDATE assets SET state = 'on_loan' WHERE id = 1")
            .await?;
        let moved = client
            .query(
                "SELECT state, n FROM asset_summary WHERE n <> 0 ORDER BY state",
                &[],
            )
            .await?;
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].get::<_, String>(0), "on_loan");
        let hash: Vec<u8> = client
            .query_one("SELECT hash FROM asset_events WHERE seq = 1", &[])
            .await?
            .get(0);
        assert_eq!(hash, vec![0x01, 0xff]);
        client
            .batch_execute(
                "INSERT INTO requests (kind, stage, applicant, created_at, updated_at)
                 VALUES ('purchase', 'over_budget', 'user:u', 0, 0)",
            )
            .await?;
        assert!(client
            .batch_execute(
                "INSERT INTO requests (kind, stage, applicant, created_at, updated_at)
                 VALUES ('purchase', 'nowhere', 'user:u', 0, 0)",
            )
            .await
            .is_err());
        Ok(())
    }
}
