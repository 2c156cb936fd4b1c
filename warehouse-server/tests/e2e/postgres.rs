//! PostgreSQL (issue 14), first slice: the store is not wired yet, so
//! `serve`, `admin` and the benches refuse a `postgres://` database with a
//! message saying so, and touch nothing (no SQLite file named like the URL
//! appears, no chain key is written).

use std::path::Path;

use anyhow::{ensure, Result};

use crate::support::*;

#[test]
fn a_postgres_database_is_refused_with_a_clear_message() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let before: Vec<_> = std::fs::read_dir(dir.path())?.collect();
    for url in [
        "postgres://postgres@127.0.0.1:5432/warehouse",
        "postgresql://postgres@127.0.0.1/warehouse",
    ] {
        for args in [
            &["serve", "--listen", "127.0.0.1:0"][..],
            &[
                "admin",
                "init",
                "--admin-username",
                "admin",
                "--admin-password",
                PASSWORD,
                "--org-name",
                "x",
                "--company-prefix",
                COMPANY_PREFIX,
            ][..],
            &["admin", "verify-log"][..],
        ] {
            let mut cmd =
                std::process::Command::new(test_support::workspace_bin("warehouse-server")?);
            cmd.current_dir(dir.path())
                .arg("--db")
                .arg(url)
                .args(args)
                .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
                .env("WAREHOUSE_LOG", "warn")
                .env_remove("WAREHOUSE_CONFIG");
            let out = cmd.output()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            ensure!(!out.status.success(), "{url} {args:?} succeeded: {stderr}");
            ensure!(
                stderr.contains("PostgreSQL store is not complete yet"),
                "{url} {args:?}: {stderr}"
            );
        }
    }
    // Nothing was created where the commands ran (no file named like the
    // URL, no chain key).
    let after: Vec<_> = std::fs::read_dir(dir.path())?.collect();
    ensure!(
        before.len() == after.len(),
        "files appeared: {:?}",
        std::fs::read_dir(dir.path())?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect::<Vec<_>>()
    );
    ensure!(!Path::new("postgres:").exists());
    Ok(())
}
