//! Several `serve` processes on one database are peers (issue 14): a
//! session made on one works on the other, a daemon's batch that reaches
//! both (a retry that lands elsewhere) is applied once, and of fifty
//! borrowers of one asset spread over both replicas exactly one wins. Runs
//! on SQLite (two processes on one WAL file) and, under
//! `WAREHOUSE_TEST_BACKEND=postgres`, on PostgreSQL.

use anyhow::{bail, Result};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn two_replicas_share_sessions_apply_each_batch_once_and_let_one_borrower_win() -> Result<()>
{
    let w = World::new().await?;
    let a = &w.server;
    let mut replica = a.process.replica("b")?;
    let b = test_support::Api::new(replica.start()?)?;

    // The administrator's session from A is a row: B knows it.
    let units = b.get_ok("/api/v1/units", &w.admin).await?;
    assert_eq!(units["total"], 2, "{units}");

    // Each batch is posted to both replicas at once, as a daemon whose
    // answer was lost retries on the other URL: applied exactly once.
    let epc = w.tag(w.asset_wh).await?;
    const BATCHES: u64 = 12;
    for seq in 1..=BATCHES {
        let body = batch(
            "handheld-1",
            seq,
            vec![
                obs(&epc, "handheld-1", "seen"),
                obs(&format!("E28011606000{seq:02}"), "handheld-1", "seen"),
            ],
        );
        let (x, y) = tokio::join!(
            a.post_ok(
                "/api/v1/readers/observations",
                &w.handheld_token,
                body.clone(),
                200
            ),
            b.post_ok("/api/v1/readers/observations", &w.handheld_token, body, 200),
        );
        let (x, y) = (x?, y?);
        let applied = [&x, &y].iter().filter(|ack| ack["applied"] == true).count();
        assert_eq!(applied, 1, "batch {seq}: {x} / {y}");
        assert_eq!(
            (x["applied_through"].as_u64(), y["applied_through"].as_u64()),
            (Some(seq), Some(seq))
        );
    }
    let rows = test_support::db_scalar(&a.db, "SELECT count(*) FROM sightings")?;
    assert_eq!(
        rows,
        Some(2 * BATCHES as i64),
        "each batch's two sightings, once"
    );
    // What one replica stored, the other shows.
    let foreign = b.get_ok("/api/v1/sightings/foreign", &w.keeper).await?;
    assert_eq!(foreign["total"], BATCHES);

    // Fifty borrowers of one asset, alternating replicas: one wins.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (http, base) = if i % 2 == 0 {
            (a.http.clone(), a.base.clone())
        } else {
            (b.http.clone(), b.base.clone())
        };
        let token = w.staff_a.clone();
        let asset = w.asset_wh;
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/api/v1/requests"))
                .bearer_auth(token)
                .json(
                    &json!({"kind": "loan", "asset_ids": [asset], "reason": format!("活动{i}"),
                    "loan_start": "2099-12-01", "loan_due": "2099-12-02"}),
                )
                .send()
                .await?;
            anyhow::Ok(r.status())
        }));
    }
    let (mut won, mut conflict) = (0, 0);
    for t in tasks {
        match t.await?? {
            StatusCode::CREATED => won += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => bail!("unexpected {other}"),
        }
    }
    assert_eq!((won, conflict), (1, 49));
    replica.kill();
    Ok(())
}
