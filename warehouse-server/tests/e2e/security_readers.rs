//! Readers bound to what they are: each attack from issue 2/8 performed
//! against the real binary, refused, and nothing stored. A reader token is
//! one daemon's; it speaks only under that daemon's id and only for that
//! daemon's readers.

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const INGEST: &str = "/api/v1/readers/observations";

/// Rows of a table in the server's database, read straight from the file.
fn rows(w: &World, table: &str) -> Result<i64> {
    Ok(
        test_support::db_scalar(&w.server.db, &format!("SELECT count(*) FROM {table}"))?
            .unwrap_or(0),
    )
}

/// Nothing any refused batch could have left behind.
fn nothing_stored(w: &World) -> Result<()> {
    for table in [
        "sightings",
        "gate_alarms",
        "desk_scans",
        "asset_last_seen_recent",
        "sync_daemons",
    ] {
        assert_eq!(rows(w, table)?, 0, "{table} after refused batches");
    }
    Ok(())
}

fn assert_not_bound(st: StatusCode, body: &Value, field: &str) {
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_bound", "{body}");
    assert_eq!(body["error"]["field"], field, "{body}");
}

#[tokio::test]
async fn a_handheld_token_cannot_speak_for_the_gate_or_the_desk() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // In stock, no approved check-out: at the gate it would raise an alarm.
    let epc = w.tag(w.asset_wh).await?;
    s.post_ok(
        "/api/v1/readers",
        &w.admin,
        json!({"name": "desk-1", "role": "desk"}),
        201,
    )
    .await?;

    // The handheld's token names the gate reader, under its own daemon id.
    let (st, body) = s
        .post(
            INGEST,
            &w.handheld_token,
            batch("handheld-1", 1, vec![obs(&epc, "gate-1", "added")]),
        )
        .await?;
    assert_not_bound(st, &body, "observations[0].reader");
    let alarms = s.get_ok("/api/v1/alarms", &w.keeper).await?;
    assert_eq!(alarms["total"], 0, "no alarm from a spoofed gate");

    // ...and the desk reader, hidden behind one of its own observations.
    let (st, body) = s
        .post(
            INGEST,
            &w.handheld_token,
            batch(
                "handheld-1",
                1,
                vec![
                    obs(&epc, "handheld-1", "seen"),
                    obs(&epc, "desk-1", "added"),
                ],
            ),
        )
        .await?;
    assert_not_bound(st, &body, "observations[1].reader");
    nothing_stored(&w)?;
    let asset = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    assert_eq!(asset["asset"]["last_seen_at"], Value::Null);

    // Its own reader under its own id still works, at sequence 1.
    let ack = s
        .post_ok(
            INGEST,
            &w.handheld_token,
            batch("handheld-1", 1, vec![obs(&epc, "handheld-1", "seen")]),
            200,
        )
        .await?;
    assert_eq!(
        (ack["applied"].as_bool(), ack["known"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(rows(&w, "desk_scans")?, 0);
    Ok(())
}

#[tokio::test]
async fn no_token_touches_another_daemons_sequence_space() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    // The gate's daemon has applied batch 1.
    let ack = s
        .post_ok(INGEST, &w.gate_token, batch("gate-1", 1, vec![]), 200)
        .await?;
    assert_eq!(ack["applied_through"], 1);

    // The handheld's token claims the gate daemon's id with the largest
    // sequence there is, and a sub-space of it.
    for daemon in ["gate-1", "gate-1:stocktake:handheld-1"] {
        let (st, body) = s
            .post(
                INGEST,
                &w.handheld_token,
                json!({"daemon_id": daemon, "sequence": i64::MAX, "observations": []}),
            )
            .await?;
        assert_not_bound(st, &body, "daemon_id");
    }
    // A sequence outside 1..=i64::MAX is 422 naming it, for anyone.
    for sequence in [json!(-1), json!(u64::MAX), json!(0)] {
        let (st, body) = s
            .post(
                INGEST,
                &w.gate_token,
                json!({"daemon_id": "gate-1", "sequence": sequence, "observations": []}),
            )
            .await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{sequence}: {body}");
        assert_eq!(body["error"]["field"], "sequence", "{body}");
    }

    // The real daemon's next batch is still applied.
    let ack = s
        .post_ok(
            INGEST,
            &w.gate_token,
            batch("gate-1", 2, vec![obs(&epc, "gate-1", "added")]),
            200,
        )
        .await?;
    assert_eq!(
        (ack["applied"].as_bool(), ack["applied_through"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(ack["alarms_raised"], 1);
    let marks = (
        test_support::db_scalar(&s.db, "SELECT count(*) FROM sync_daemons")?,
        test_support::db_scalar(
            &s.db,
            "SELECT applied_through FROM sync_daemons WHERE daemon_id = 'gate-1'",
        )?,
    );
    assert_eq!(marks, (Some(1), Some(2)));
    Ok(())
}

#[tokio::test]
async fn one_daemon_drives_its_readers_with_one_token_until_revoked() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    let loc = w.loc_1.to_string();
    let token = cli_ok(
        &s.db,
        &[
            "admin",
            "register-daemon",
            "--daemon-id",
            "edge-1",
            "--reader",
            "gate-2:gate",
            "--reader",
            &format!("desk-2:desk:{loc}"),
        ],
    )?;
    let token = token.trim();
    ensure!(token.starts_with("whr_"), "{token}");
    // Both of its readers in one batch, and its handheld sub-space.
    let ack = s
        .post_ok(
            INGEST,
            token,
            batch(
                "edge-1",
                1,
                vec![obs(&epc, "desk-2", "added"), obs(&epc, "gate-2", "added")],
            ),
            200,
        )
        .await?;
    assert_eq!(
        (ack["known"].as_i64(), ack["alarms_raised"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(rows(&w, "desk_scans")?, 1);
    s.post_ok(
        INGEST,
        token,
        batch("edge-1:stocktake:gate-2", 1, vec![]),
        200,
    )
    .await?;
    // Not the readers of another daemon.
    let (st, body) = s
        .post(
            INGEST,
            token,
            batch("edge-1", 2, vec![obs(&epc, "gate-1", "seen")]),
        )
        .await?;
    assert_not_bound(st, &body, "observations[0].reader");

    // The listing shows the daemon with its readers.
    let listed = s.get_ok("/api/v1/readers", &w.admin).await?;
    assert_eq!(listed["total"], 4);

    // Ids and reader specs the command line refuses, naming the problem.
    for (args, says) in [
        (["edge:2", "x-1:gate"], "must not contain `:`"),
        (["edge-2", "x-1:tower"], "NAME:ROLE[:LOCATION_ID]"),
        (["edge-1", "x-1:gate"], "already exists"),
    ] {
        let out = cli(
            &s.db,
            &[
                "admin",
                "register-daemon",
                "--daemon-id",
                args[0],
                "--reader",
                args[1],
            ],
        )?;
        let err = String::from_utf8_lossy(&out.stderr);
        ensure!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }

    // Revoked: the token is nobody any more.
    let out = cli_ok(&s.db, &["admin", "revoke-daemon", "--daemon-id", "edge-1"])?;
    ensure!(out.contains("revoked"), "{out}");
    let (st, body) = s.post(INGEST, token, batch("edge-1", 2, vec![])).await?;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    let (st, _) = s
        .post(
            &format!("/api/v1/tag-commissions/{}/confirm", 1),
            token,
            json!({"epc": epc}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn an_administrator_registers_a_daemon_with_one_api_call() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let body = json!({"daemon_id": "edge-9", "readers": [
        {"name": "gate-9", "role": "gate", "location_id": w.loc_1},
        {"name": "hand-9", "role": "handheld"}]});
    // Only administrators register daemons.
    let (st, _) = s.post("/api/v1/daemons", &w.keeper, body.clone()).await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let created = s
        .post_ok("/api/v1/daemons", &w.admin, body.clone(), 201)
        .await?;
    assert_eq!(created["daemon"]["daemon_id"], "edge-9");
    assert_eq!(created["daemon"]["readers"][0]["location_id"], w.loc_1);
    let token = created["token"].as_str().unwrap_or_default();
    let ack = s
        .post_ok(
            INGEST,
            token,
            batch("edge-9", 1, vec![obs("E2AA", "hand-9", "seen")]),
            200,
        )
        .await?;
    assert_eq!(ack["foreign"], 1);
    let listed = s.get_ok("/api/v1/daemons", &w.admin).await?;
    let edge = listed["items"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["daemon_id"] == "edge-9"))
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = edge["readers"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["gate-9", "hand-9"], "{listed}");
    // The World's own readers are daemons named after themselves.
    assert_eq!(listed["total"], 3, "{listed}");

    for (body, code, field) in [
        (body.clone(), 409, "daemon_id"),
        (
            json!({"daemon_id": "a:b", "readers": [{"name": "x", "role": "gate"}]}),
            422,
            "daemon_id",
        ),
        (
            json!({"daemon_id": "edge-8", "readers": []}),
            422,
            "readers",
        ),
        (
            json!({"daemon_id": "edge-8", "readers": [
                {"name": "x", "role": "gate"}, {"name": "x", "role": "desk"}]}),
            422,
            "readers[1].name",
        ),
        (
            json!({"daemon_id": "edge-8", "readers": [{"name": "gate-1", "role": "gate"}]}),
            409,
            "name",
        ),
    ] {
        let (st, err) = s.post("/api/v1/daemons", &w.admin, body).await?;
        assert_eq!(
            (st.as_u16(), err["error"]["field"].as_str()),
            (code, Some(field)),
            "{err}"
        );
    }
    // A refused registration leaves no half-registered daemon behind.
    assert_eq!(rows(&w, "daemons")?, 3);
    Ok(())
}

#[tokio::test]
async fn the_admin_page_lists_daemons_and_registers_one() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let cookie = format!("wh_session={}", w.admin);
    // Not following the 303, to see the token cookie it sets.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let csrf = form_token(&http, &s.base, &w.admin).await?;
    let post = |form: &'static str| {
        http.post(format!("{}/admin/daemons", s.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{form}&_csrf={csrf}"))
            .send()
    };
    let resp = post("daemon_id=edge-7&readers=gate-7%3Agate%0D%0Adesk-7%3Adesk").await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let token_cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("new_reader_token=whr_"))
        .map(str::to_owned);
    ensure!(token_cookie.is_some(), "no token cookie");
    // A reader line that is not NAME:ROLE is refused beside the form.
    let resp = post("daemon_id=edge-8&readers=gate-8%3Atower").await?;
    ensure!(
        resp.status() != StatusCode::SEE_OTHER,
        "a bad line was accepted"
    );
    let page = resp.text().await?;
    ensure!(page.contains("名称:角色"), "no error beside the form");

    let page = s
        .http
        .get(format!("{}/admin", s.base))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    for shown in ["edge-7", "gate-7", "desk-7", "gate-1", "handheld-1"] {
        ensure!(page.contains(shown), "{shown} not on the admin page");
    }
    ensure!(!page.contains("edge-8"), "a refused daemon is listed");
    assert_eq!(rows(&w, "daemons")?, 3);
    Ok(())
}
