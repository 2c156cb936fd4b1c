//! PostgreSQL (issue 14): `serve` and `admin` take a `postgres://` URL
//! (the whole e2e suite also runs on PostgreSQL under
//! `WAREHOUSE_TEST_BACKEND=postgres`); a server that is not there, or a
//! URL that is not one, is refused with a message naming it (password
//! hidden), and nothing is written.

use anyhow::{ensure, Result};
use serde_json::json;

use crate::support::*;

/// A fresh PostgreSQL database, initialised, served, used, verified.
#[tokio::test]
async fn a_postgres_database_is_initialised_served_and_verified() -> Result<()> {
    let pg = test_support::PgDatabase::create()?;
    let dir = tempfile::tempdir()?;
    let db = std::path::PathBuf::from(pg.url());
    let key = dir.path().join("pg.chainkey");
    let run = |args: &[&str]| -> Result<std::process::Output> {
        Ok(
            std::process::Command::new(test_support::workspace_bin("warehouse-server")?)
                .arg("--db")
                .arg(&db)
                .args(args)
                .env("WAREHOUSE_CHAIN_KEY_FILE", &key)
                .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
                .env("WAREHOUSE_LOG", "warn")
                .env_remove("WAREHOUSE_CONFIG")
                .output()?,
        )
    };
    let init = run(&[
        "admin",
        "init",
        "--admin-username",
        ADMIN,
        "--admin-password",
        PASSWORD,
        "--org-name",
        "省公物仓",
        "--company-prefix",
        COMPANY_PREFIX,
    ])?;
    ensure!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    ensure!(key.exists(), "admin init wrote no chain key");
    let mut server = test_support::WarehouseServer::on(db.clone())
        .env("WAREHOUSE_CHAIN_KEY_FILE", &key.to_string_lossy());
    let base = server.start()?.to_owned();
    let api = test_support::Api::new(&base)?;
    let admin = api.login(ADMIN, PASSWORD).await?;
    let unit = id(&api
        .post_ok("/api/v1/units", &admin, json!({"name": "县财政局"}), 201)
        .await?)?;
    let got = api.get_ok(&format!("/api/v1/units/{unit}"), &admin).await?;
    assert_eq!(got["name"], "县财政局");
    // The tables are PostgreSQL's own.
    let n = test_support::db_scalar(&db, "SELECT count(*) FROM units WHERE name = '县财政局'")?;
    assert_eq!(n, Some(1));
    let verify = run(&["admin", "verify-log"])?;
    ensure!(
        verify.status.success() && String::from_utf8_lossy(&verify.stdout).contains("\"ok\": true"),
        "{} {}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    server.kill();
    Ok(())
}

/// A closed port and a malformed URL: refused, naming the server without
/// its password; nothing is created where the command ran.
#[test]
fn an_unreachable_or_malformed_postgres_url_is_refused_clearly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let keys = tempfile::tempdir()?;
    let port = test_support::free_port()?;
    for (url, expect) in [
        (
            format!("postgres://postgres:hunter2@127.0.0.1:{port}/warehouse"),
            "cannot connect to PostgreSQL at",
        ),
        (
            "postgres://postgres:hunter2@127.0.0.1:notaport/warehouse".to_owned(),
            "cannot connect to PostgreSQL at",
        ),
    ] {
        let out = std::process::Command::new(test_support::workspace_bin("warehouse-server")?)
            .current_dir(dir.path())
            .arg("--db")
            .arg(&url)
            .args([
                "admin",
                "init",
                "--admin-username",
                ADMIN,
                "--admin-password",
                PASSWORD,
                "--org-name",
                "x",
                "--company-prefix",
                COMPANY_PREFIX,
            ])
            .env("WAREHOUSE_CHAIN_KEY_FILE", keys.path().join("k"))
            .env("WAREHOUSE_LOG", "warn")
            .env_remove("WAREHOUSE_CONFIG")
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(!out.status.success(), "{url}: succeeded");
        ensure!(stderr.contains(expect), "{url}: {stderr}");
        ensure!(
            !stderr.contains("hunter2"),
            "{url}: password shown: {stderr}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    ensure!(left.is_empty(), "files appeared: {left:?}");
    Ok(())
}
