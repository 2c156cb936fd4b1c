//! Scan ingest: exactly once per (daemon, sequence), last-seen, foreign
//! sightings, exit-gate alarms.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn repeated_batch_is_applied_once() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    let b1 = batch(
        "handheld-1",
        1,
        vec![
            obs(&epc, "handheld-1", "added"),
            obs("E2801160600002", "handheld-1", "seen"),
        ],
    );
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.handheld_token,
            b1.clone(),
            200,
        )
        .await?;
    assert_eq!(ack["applied"], true);
    assert_eq!(ack["applied_through"], 1);
    assert_eq!(ack["known"], 1);
    assert_eq!(ack["foreign"], 1);
    // The daemon did not hear the answer and retries: acknowledged, not reapplied.
    let ack = s
        .post_ok("/api/v1/readers/observations", &w.handheld_token, b1, 200)
        .await?;
    assert_eq!(ack["applied"], false);
    assert_eq!(ack["applied_through"], 1);
    // The unknown EPC was kept as a foreign sighting, once.
    let foreign = s.get_ok("/api/v1/sightings/foreign", &w.keeper).await?;
    assert_eq!(foreign["total"], 1);
    assert_eq!(foreign["items"][0]["epc"], "E2801160600002");
    assert_eq!(foreign["items"][0]["daemon_id"], "handheld-1");
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.handheld_token,
            batch("handheld-1", 3, vec![obs(&epc, "handheld-1", "seen")]),
            200,
        )
        .await?;
    assert_eq!(ack["applied_through"], 3);
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.handheld_token,
            batch("handheld-1", 2, vec![]),
            200,
        )
        .await?;
    assert_eq!(
        (ack["applied"].as_bool(), ack["applied_through"].as_i64()),
        (Some(false), Some(3))
    );
    // Another daemon has its own sequence space.
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![]),
            200,
        )
        .await?;
    assert_eq!(ack["applied"], true);

    let asset = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    assert_eq!(asset["asset"]["last_seen_at"], "2026-11-01T08:00:02Z");
    assert_eq!(asset["asset"]["last_seen_reader_id"], w.handheld);

    // Readers without a token, and people, cannot send batches.
    let (st, _) = s
        .post(
            "/api/v1/readers/observations",
            "whr_nope",
            batch("d", 1, vec![]),
        )
        .await?;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn gate_alarm_raised_listed_and_acknowledged() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let leaving = w.tag(w.asset_wh).await?;
    let approved = w.tag(w.asset_a).await?;
    // asset_a is allocated to unit A: its state lets it pass (an in-stock
    // asset needs an approved check-out or an approver's emergency pass:
    // security_chain.rs).
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch(
                "gate-1",
                1,
                vec![
                    obs(&leaving, "gate-1", "added"),
                    obs(&leaving, "gate-1", "seen"),
                    obs(&approved, "gate-1", "added"),
                    obs("3000DEADBEEF", "gate-1", "added"),
                ],
            ),
            200,
        )
        .await?;
    assert_eq!(ack["alarms_raised"], 1);
    let alarms = s.get_ok("/api/v1/alarms?status=open", &w.keeper).await?;
    assert_eq!(alarms["total"], 1);
    let alarm = &alarms["items"][0];
    assert_eq!(alarm["asset_id"], w.asset_wh);
    assert_eq!(alarm["sightings"], 2);
    let aid = id(alarm)?;
    // Acknowledging needs a comment and a keeper.
    let (st, body) = s
        .post(
            &format!("/api/v1/alarms/{aid}/acknowledge"),
            &w.keeper,
            json!({"comment": " "}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _) = s
        .post(
            &format!("/api/v1/alarms/{aid}/acknowledge"),
            &w.finance,
            json!({"comment": "x"}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .post(
            &format!("/api/v1/alarms/{aid}/acknowledge"),
            &w.keeper,
            json!({"comment": "维修外送，已补单"}),
        )
        .await?;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .post(
            &format!("/api/v1/alarms/{aid}/acknowledge"),
            &w.keeper,
            json!({"comment": "again"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = s
        .post(
            "/api/v1/alarms/999/acknowledge",
            &w.keeper,
            json!({"comment": "x"}),
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let alarms = s
        .get_ok("/api/v1/alarms?status=acknowledged", &w.keeper)
        .await?;
    assert_eq!(alarms["items"][0]["comment"], "维修外送，已补单");
    let detail = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "registered",
            "tag_bound",
            "gate_alarm",
            "gate_alarm_acknowledged"
        ]
    );
    Ok(())
}
