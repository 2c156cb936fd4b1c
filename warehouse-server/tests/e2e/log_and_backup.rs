//! The hash-chained event log catches an edited row; backup and restore.

use anyhow::{ensure, Result};
use serde_json::json;

use crate::support::*;

/// SQL that removes the append-only guard `trigger` of `asset_events`,
/// as a forger with the database's password would.
pub(crate) fn drop_guard(trigger: &str) -> String {
    if test_support::on_postgres() {
        format!("DROP TRIGGER {trigger} ON asset_events;")
    } else {
        format!("DROP TRIGGER {trigger};")
    }
}

#[tokio::test]
async fn verify_log_catches_an_edited_row() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    w.tag(w.asset_wh).await?;
    let v = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checked"], 4);
    ensure!(cli_ok(&s.db, &["admin", "verify-log"])?.contains("\"ok\": true"));

    // The table refuses edits through SQL...
    ensure!(
        test_support::db_execute(&s.db, "UPDATE asset_events SET reason = 'x' WHERE seq = 2")
            .is_err()
    );
    // ...so a forger drops the guard first. The chain still notices.
    test_support::db_execute(
        &s.db,
        &format!(
            "{} UPDATE asset_events SET details = '{{\"name\":\"forged\"}}' WHERE seq = 2;",
            drop_guard("asset_events_no_update")
        ),
    )?;
    let v = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_seq"], 2);
    assert_eq!(v["checked"], 1);
    let out = cli(&s.db, &["admin", "verify-log"])?;
    assert_eq!(out.status.code(), Some(1));
    ensure!(String::from_utf8_lossy(&out.stdout).contains("\"first_broken_seq\": 2"));
    // Only auditors may ask.
    let (st, _) = s.get("/api/v1/events/verify", &w.staff_a).await?;
    assert_eq!(st.as_u16(), 403);
    Ok(())
}

#[tokio::test]
async fn verify_log_catches_removed_rows() -> Result<()> {
    let w = World::new().await?;
    let db = &w.server.db;
    test_support::db_execute(
        db,
        &format!(
            "{} DELETE FROM asset_events WHERE seq = 2;",
            drop_guard("asset_events_no_delete")
        ),
    )?;
    let v = w.server.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(
        (v["ok"].as_bool(), v["first_broken_seq"].as_i64()),
        (Some(false), Some(3))
    );
    test_support::db_execute(db, "DELETE FROM asset_events WHERE seq >= 2;")?;
    let v = w.server.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(
        v["ok"], false,
        "tail truncation is caught by the recorded head: {v}"
    );
    Ok(())
}

#[tokio::test]
async fn backup_while_serving_and_restore() -> Result<()> {
    if sqlite_only("`admin backup` copies a SQLite file; PostgreSQL is backed up with pg_dump") {
        return Ok(());
    }
    let w = World::new().await?;
    let s = &w.server;
    let backup = s.dir.path().join("backup.db");
    let out = cli_ok(
        &s.db,
        &["admin", "backup", "--to", &backup.to_string_lossy()],
    )?;
    ensure!(out.contains("backup written"));
    // A second backup to the same file is refused rather than overwriting.
    ensure!(!cli(
        &s.db,
        &["admin", "backup", "--to", &backup.to_string_lossy()]
    )?
    .status
    .success());
    // Changes after the backup are not in it.
    s.post_ok(
        "/api/v1/units",
        &w.admin,
        json!({"name": "after backup"}),
        201,
    )
    .await?;

    let restore_dir = tempfile::tempdir()?;
    let restored = restore_dir.path().join("restored.db");
    std::fs::copy(&backup, &restored)?;
    // The chain key is not in the backup: restoring needs it too.
    let out = cli(&restored, &["serve", "--listen", "127.0.0.1:0"])?;
    ensure!(!out.status.success());
    ensure!(String::from_utf8_lossy(&out.stderr).contains("chain key file"));
    std::fs::copy(chain_key_file(&s.db), chain_key_file(&restored))?;
    let r = Server::start_on(restore_dir, restored)?;
    let admin = r.login(ADMIN, PASSWORD).await?;
    let units = r.get_ok("/api/v1/units", &admin).await?;
    assert_eq!(units["total"], 2);
    let assets = r.get_ok("/api/v1/assets", &admin).await?;
    assert_eq!(assets["total"], 3);
    let v = r.get_ok("/api/v1/events/verify", &admin).await?;
    assert_eq!(v["ok"], true);
    // Keepers' sessions were in the backup too.
    r.get_ok("/api/v1/auth/me", &w.keeper).await?;
    Ok(())
}
