//! The `admin` commands: init once, create-user, create-reader (token
//! printed once and usable), seed.

use anyhow::{ensure, Result};

use crate::support::*;

#[tokio::test]
async fn admin_commands() -> Result<()> {
    let s = Server::start()?;
    // init refuses to run twice.
    let again = cli(
        &s.db,
        &[
            "admin",
            "init",
            "--admin-username",
            "other",
            "--admin-password",
            PASSWORD,
            "--org-name",
            "x",
            "--company-prefix",
            COMPANY_PREFIX,
        ],
    )?;
    ensure!(!again.status.success());
    ensure!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));
    let bad = cli(
        &s.db,
        &[
            "admin",
            "create-user",
            "--username",
            "k",
            "--password",
            PASSWORD,
            "--role",
            "janitor",
        ],
    )?;
    ensure!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("janitor"));
    let staff = cli(
        &s.db,
        &[
            "admin",
            "create-user",
            "--username",
            "k",
            "--password",
            PASSWORD,
            "--role",
            "unit_staff",
        ],
    )?;
    ensure!(!staff.status.success(), "unit staff need a unit");

    cli_ok(
        &s.db,
        &[
            "admin",
            "create-user",
            "--username",
            "keeper2",
            "--password",
            PASSWORD,
            "--role",
            "keeper",
        ],
    )?;
    let keeper = s.login("keeper2", PASSWORD).await?;
    let me = s.get_ok("/api/v1/auth/me", &keeper).await?;
    assert_eq!(me["role"], "keeper");

    let token = cli_ok(
        &s.db,
        &[
            "admin",
            "create-reader",
            "--name",
            "desk-1",
            "--role",
            "desk",
            "--daemon-id",
            "desk-daemon",
        ],
    )?;
    let token = token.trim();
    ensure!(token.starts_with("whr_"), "{token}");
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            token,
            batch("desk-daemon", 1, vec![obs("E200AA", "desk-1", "seen")]),
            200,
        )
        .await?;
    assert_eq!(ack["foreign"], 1);

    let out = cli_ok(&s.db, &["admin", "seed", "--assets", "300"])?;
    ensure!(out.contains("seeded 300 assets"), "{out}");
    let admin = s.login(ADMIN, PASSWORD).await?;
    let page = s.get_ok("/api/v1/assets?per_page=1", &admin).await?;
    assert_eq!(page["total"], 300);
    // Seeded assets carry GIAI-96 tags that look up by EPC.
    let epc = page["items"][0]["epc"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(epc.starts_with("34"), "{epc}");
    let found = s
        .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &admin)
        .await?;
    assert_eq!(found["id"], page["items"][0]["id"]);
    let v = s.get_ok("/api/v1/events/verify", &admin).await?;
    assert_eq!(
        (v["ok"].as_bool(), v["checked"].as_i64()),
        (Some(true), Some(300))
    );
    // Seeding again adds more without clashing.
    cli_ok(&s.db, &["admin", "seed", "--assets", "50"])?;
    assert_eq!(
        s.get_ok("/api/v1/assets?per_page=1", &admin).await?["total"],
        350
    );
    Ok(())
}

/// A scripted year: hundreds of requests of every kind, then the hash
/// chain verifies and the reports add up (the command checks and exits 1
/// otherwise; the test reads its checks).
#[tokio::test]
async fn simulate_year_ends_with_the_chain_verifying_and_reports_adding_up() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("year.db");
    admin_init(&db)?;
    let out = cli_ok(
        &db,
        &["admin", "simulate-year", "--requests", "400", "--seed", "3"],
    )?;
    let report: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(report["ok"] == true, "year did not add up: {report}");
    let checks = report["checks"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(checks >= 7, "only {checks} checks: {report}");
    // Kits go out and come back whole in the year too.
    let kits = report["outcomes"]["loan:kit_returned"]
        .as_i64()
        .unwrap_or(0);
    ensure!(kits >= 5, "only {kits} kit loans: {report}");
    // So do events whose shortfall is rented, and purchases of several
    // units bought under one contract.
    for (outcome, least) in [
        ("loan:rented_shortfall", 5),
        ("purchase:central_completed", 5),
    ] {
        let n = report["outcomes"][outcome].as_i64().unwrap_or(0);
        ensure!(n >= least, "only {n} {outcome}: {report}");
    }
    let names: Vec<&str> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for check in [
        "rented items never in the register",
        "rental cost",
        "contracts report",
    ] {
        ensure!(
            names.iter().any(|n| n.starts_with(check)),
            "no check {check:?}: {report}"
        );
    }
    for kind in [
        "purchase",
        "allocation",
        "loan",
        "transfer",
        "intake",
        "disposal",
        "damage",
    ] {
        let n = report["requests"][kind].as_i64().unwrap_or(0);
        ensure!(n >= 10, "only {n} {kind} requests: {report}");
    }
    let rejected: i64 = report["outcomes"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with(":rejected") || k.ends_with(":withdrawn"))
        .filter_map(|(_, v)| v.as_i64())
        .sum();
    ensure!(rejected > 0, "no rejection or withdrawal: {report}");
    // The log verifies from the command line too, and the same seed's
    // people exist already.
    cli_ok(&db, &["admin", "verify-log"])?;
    let again = cli(
        &db,
        &["admin", "simulate-year", "--requests", "1", "--seed", "3"],
    )?;
    ensure!(!again.status.success());
    ensure!(String::from_utf8_lossy(&again.stderr).contains("use another --seed"));
    Ok(())
}
