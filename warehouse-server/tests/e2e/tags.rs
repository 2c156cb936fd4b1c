//! Tag commissioning: GIAI-96 (GIAI-202 for other asset numbers) from the
//! company prefix and asset number, confirmation by the daemon, re-tagging
//! with history.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn commission_confirm_and_retag() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = s
        .post_ok(
            &format!("/api/v1/assets/{}/tag/commission", w.asset_wh),
            &w.keeper,
            json!({}),
            201,
        )
        .await?;
    assert_eq!(
        c["tag_uri"],
        format!("urn:epc:tag:giai-96:0.{COMPANY_PREFIX}.1003")
    );
    let epc = c["epc"].as_str().unwrap_or_default().to_owned();
    assert_eq!(epc.len(), 24);
    assert!(epc.starts_with("34"), "GIAI-96 header: {epc}");
    let cid = c["commission_id"].as_i64().unwrap_or_default();

    // Not bound until confirmed; a wrong EPC read back is refused.
    let (st, _) = s
        .get(&format!("/api/v1/assets/by-epc/{epc}"), &w.keeper)
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = s
        .post(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &w.handheld_token,
            json!({"epc": "3400"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let asset = s
        .post_ok(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &w.handheld_token,
            json!({"epc": epc}),
            200,
        )
        .await?;
    assert_eq!(asset["epc"], epc.as_str());
    let (st, _) = s
        .post(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &w.handheld_token,
            json!({"epc": epc}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "confirming twice");
    let found = s
        .get_ok(
            &format!("/api/v1/assets/by-epc/{}", epc.to_lowercase()),
            &w.keeper,
        )
        .await?;
    assert_eq!(found["id"], w.asset_wh);
    let page = s
        .get_ok(&format!("/api/v1/assets?epc={epc}"), &w.keeper)
        .await?;
    assert_eq!(page["total"], 1);

    // Damaged tag: re-tag; the old binding stays as history.
    let epc2 = w.tag(w.asset_wh).await?;
    assert_eq!(epc2, epc, "same GIAI for the same asset");
    let detail = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    let tags = detail["tags"].as_array().cloned().unwrap_or_default();
    assert_eq!(tags.len(), 2);
    assert!(tags[0]["unbound_at"].is_string() && tags[1]["unbound_at"].is_null());
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["registered", "tag_bound", "retagged"]);
    assert_eq!(detail["timeline"][1]["actor"], "reader:handheld-1");

    Ok(())
}

#[tokio::test]
async fn alphanumeric_asset_number_gets_giai202() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let asset = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.keeper,
            json!({
                "asset_number": "GZ-2024-A17", "name": "会议桌", "category_id": w.category,
                "original_value_fen": 260000, "holder_location_id": w.loc_1,
            }),
            201,
        )
        .await?)?;
    let c = s
        .post_ok(
            &format!("/api/v1/assets/{asset}/tag/commission"),
            &w.keeper,
            json!({}),
            201,
        )
        .await?;
    assert_eq!(
        c["tag_uri"],
        format!("urn:epc:tag:giai-202:0.{COMPANY_PREFIX}.GZ-2024-A17")
    );
    assert_eq!(
        c["id_uri"],
        format!("urn:epc:id:giai:{COMPANY_PREFIX}.GZ-2024-A17")
    );
    let epc = c["epc"].as_str().unwrap_or_default().to_owned();
    assert_eq!(epc.len(), 52, "202 bits in 13 words: {epc}");
    assert!(epc.starts_with("38"), "GIAI-202 header: {epc}");
    let cid = c["commission_id"].as_i64().unwrap_or_default();
    let bound = s
        .post_ok(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &w.handheld_token,
            json!({"epc": epc}),
            200,
        )
        .await?;
    assert_eq!(bound["epc"], epc.as_str());
    let found = s
        .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &w.keeper)
        .await?;
    assert_eq!(found["id"], asset);

    // An asset number longer than GIAI-202 holds is refused by name.
    let odd = s
        .post_ok(
            "/api/v1/assets",
            &w.keeper,
            json!({
                "asset_number": "A".repeat(40), "name": "x", "category_id": w.category,
                "original_value_fen": 1, "holder_location_id": w.loc_1,
            }),
            201,
        )
        .await?;
    let (st, body) = s
        .post(
            &format!("/api/v1/assets/{}/tag/commission", id(&odd)?),
            &w.keeper,
            json!({}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "asset_number");
    Ok(())
}
