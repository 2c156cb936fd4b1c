//! A stock-take with all five outcomes, resolved, closed and exported.

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn stocktake_with_every_outcome() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // Location 1 expects asset_wh (tagged) and `missing` (never scanned);
    // asset_moved sits on location 2 in the register but is scanned on 1.
    let missing = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.keeper,
            json!({
                "asset_number": "1004", "name": "椅子", "category_id": w.category,
                "original_value_fen": 48000, "holder_location_id": w.loc_1,
            }),
            201,
        )
        .await?)?;
    let moved = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.keeper,
            json!({
                "asset_number": "1005", "name": "柜子", "category_id": w.category,
                "original_value_fen": 120000, "holder_location_id": w.loc_2,
            }),
            201,
        )
        .await?)?;
    let epc_found = w.tag(w.asset_wh).await?;
    w.tag(missing).await?;
    let epc_moved = w.tag(moved).await?;
    let foreign = "E20000172211010218905B7C";

    let st = s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({
                "warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld],
            }),
            201,
        )
        .await?;
    let sid = id(&st)?;
    // Scans before the stock-take opened do not count; these do.
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch(
            "handheld-1",
            1,
            vec![
                obs(&epc_found, "handheld-1", "added"),
                obs(&epc_moved, "handheld-1", "added"),
                obs(foreign, "handheld-1", "added"),
                obs(&epc_found, "handheld-1", "seen"),
            ],
        ),
        200,
    )
    .await?;
    let live = s
        .get_ok(&format!("/api/v1/stocktakes/{sid}"), &w.keeper)
        .await?;
    let c = &live["counts"];
    assert_eq!(
        (
            c["expected"].as_i64(),
            c["found"].as_i64(),
            c["missing"].as_i64(),
            c["misplaced"].as_i64(),
            c["foreign"].as_i64()
        ),
        (Some(2), Some(1), Some(1), Some(1), Some(1)),
        "{live}"
    );
    assert_eq!(c["unresolved"], 3);
    let outcome_of = |asset: i64| {
        live["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["asset_id"] == asset)
            .map(|l| l["outcome"].clone())
    };
    assert_eq!(outcome_of(w.asset_wh), Some(json!("found")));
    assert_eq!(outcome_of(missing), Some(json!("missing")));
    assert_eq!(outcome_of(moved), Some(json!("misplaced")));
    assert_eq!(live["lines_total"], 4);
    // Pages and outcome filters: counts stay whole, lines are the slice.
    let page = s
        .get_ok(
            &format!("/api/v1/stocktakes/{sid}?page=2&per_page=2"),
            &w.keeper,
        )
        .await?;
    let outcomes: Vec<&str> = page["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["foreign", "found"], "{page}");
    assert_eq!(
        (page["lines_total"].as_i64(), &page["counts"]),
        (Some(4), c)
    );
    let foreign_only = s
        .get_ok(
            &format!("/api/v1/stocktakes/{sid}?outcome=foreign"),
            &w.keeper,
        )
        .await?;
    assert_eq!(foreign_only["lines_total"], 1);
    assert_eq!(foreign_only["lines"][0]["epc"], foreign);
    let (code, body) = s
        .get(&format!("/api/v1/stocktakes/{sid}?outcome=lost"), &w.keeper)
        .await?;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");

    // Resolve: an action that does not fit the line is refused.
    let (code, body) = s
        .post(
            &format!("/api/v1/stocktakes/{sid}/resolutions"),
            &w.keeper,
            json!({"asset_id": missing, "action": "relocate"}),
        )
        .await?;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (code, _) = s
        .post(
            &format!("/api/v1/stocktakes/{sid}/resolutions"),
            &w.approver,
            json!({"asset_id": missing, "action": "mark_missing"}),
        )
        .await?;
    assert_eq!(code, StatusCode::FORBIDDEN);
    s.post_ok(
        &format!("/api/v1/stocktakes/{sid}/resolutions"),
        &w.keeper,
        json!({"asset_id": missing, "action": "mark_missing", "comment": "报失"}),
        200,
    )
    .await?;
    // The missing asset is now a loss case waiting on the approver.
    let inbox = s.get_ok("/api/v1/inbox", &w.approver).await?;
    // (Listings carry no items; each request's page names its asset.)
    let mut case_id = None;
    for r in inbox["items"].as_array().into_iter().flatten() {
        let id = r["id"].as_i64().unwrap_or_default();
        let full = s
            .get_ok(&format!("/api/v1/requests/{id}"), &w.approver)
            .await?;
        if full["loss"] == true && full["items"][0]["asset_id"] == missing {
            case_id = Some(id);
        }
    }
    let case_id = case_id.ok_or_else(|| anyhow::anyhow!("no loss case in {inbox}"))?;
    s.post_ok(
        &format!("/api/v1/requests/{case_id}/steps"),
        &w.approver,
        json!({"action": "decide_cause", "cause": "natural", "comment": "无责任人"}),
        200,
    )
    .await?;
    let lost = s
        .get_ok(&format!("/api/v1/assets/{missing}"), &w.keeper)
        .await?;
    assert_eq!(lost["asset"]["state"], "lost", "{lost}");
    s.post_ok(
        &format!("/api/v1/stocktakes/{sid}/resolutions"),
        &w.keeper,
        json!({"asset_id": moved, "action": "relocate", "comment": "放错货架"}),
        200,
    )
    .await?;
    let live = s
        .post_ok(
            &format!("/api/v1/stocktakes/{sid}/resolutions"),
            &w.keeper,
            json!({"epc": foreign.to_lowercase(), "action": "ignore", "comment": "访客标签"}),
            200,
        )
        .await?;
    assert_eq!(live["counts"]["unresolved"], 0);
    // Relocation moved the asset (so it now counts as found) and logged it.
    let a = s
        .get_ok(&format!("/api/v1/assets/{moved}"), &w.keeper)
        .await?;
    assert_eq!(a["asset"]["holder_location_id"], w.loc_1);
    ensure!(a["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["action"] == "relocated"));

    let closed = s
        .post_ok(
            &format!("/api/v1/stocktakes/{sid}/close"),
            &w.keeper,
            json!({}),
            200,
        )
        .await?;
    assert_eq!(closed["stocktake"]["status"], "closed");
    let (code, _) = s
        .post(
            &format!("/api/v1/stocktakes/{sid}/close"),
            &w.keeper,
            json!({}),
        )
        .await?;
    assert_eq!(code, StatusCode::CONFLICT);
    // Scans after closing change nothing; the report is kept.
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch(
            "handheld-1",
            2,
            vec![obs("E2000000000000000000FFFF", "handheld-1", "added")],
        ),
        200,
    )
    .await?;
    let kept = s
        .get_ok(&format!("/api/v1/stocktakes/{sid}"), &w.finance)
        .await?;
    assert_eq!(kept["counts"], closed["counts"]);
    let kept_missing = s
        .get_ok(
            &format!("/api/v1/stocktakes/{sid}?outcome=missing&per_page=10"),
            &w.keeper,
        )
        .await?;
    assert_eq!(kept_missing["lines_total"], 1);
    assert_eq!(kept_missing["lines"][0]["asset_id"], missing);
    assert_eq!(
        kept_missing["lines"][0]["resolution"]["action"],
        "mark_missing"
    );
    let resp = s
        .http
        .get(format!("{}/api/v1/stocktakes/{sid}/report.csv", s.base))
        .bearer_auth(&w.keeper)
        .send()
        .await?;
    let text = resp.text().await?;
    for needle in [
        "outcome,epc,asset_number",
        "missing,",
        "misplaced,",
        "foreign,",
        "found,",
        "报失",
        "relocate",
    ] {
        ensure!(text.contains(needle), "report lacks {needle}: {text}");
    }
    Ok(())
}
