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
