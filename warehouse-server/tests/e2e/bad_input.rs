//! Bad input gets the right 4xx naming the problem, and changes nothing.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn asset_count(w: &World) -> Result<Value> {
    Ok(w.server.get_ok("/api/v1/assets", &w.admin).await?["total"].clone())
}

async fn raw_post(
    w: &World,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, Value)> {
    let resp = w
        .server
        .http
        .post(format!("{}{path}", w.server.base))
        .bearer_auth(&w.admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn malformed_missing_wrong_oversized_unknown() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let before = asset_count(&w).await?;

    let (st, body) = raw_post(
        &w,
        "/api/v1/assets",
        "application/json",
        b"{\"name\": ".to_vec(),
    )
    .await?;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "malformed_json");

    let (st, body) = raw_post(&w, "/api/v1/assets", "text/plain", b"{}".to_vec()).await?;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");

    let (st, body) = s
        .post(
            "/api/v1/assets",
            &w.admin,
            json!({"name": "x", "category_id": w.category,
        "original_value_fen": 1, "holder_location_id": w.loc_1}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "asset_number", "{body}");

    let (st, body) = s
        .post(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": "9", "name": "x",
        "category_id": w.category, "original_value_fen": "much", "holder_location_id": w.loc_1}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "original_value_fen", "{body}");

    let (st, body) = s.post("/api/v1/assets", &w.admin, json!({"asset_number": "9", "name": "x",
        "category_id": w.category, "original_value_fen": 1, "holder_location_id": w.loc_1, "colour": "red"})).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "colour", "{body}");

    let (st, body) = s
        .post(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": "9", "name": "x",
        "category_id": 999, "original_value_fen": 1, "holder_location_id": w.loc_1}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "category_id", "{body}");

    let (st, body) = s.post("/api/v1/assets", &w.admin, json!({"asset_number": "9", "name": "x",
        "category_id": w.category, "original_value_fen": 1, "holder_location_id": w.loc_1, "holder_unit_id": w.unit_a})).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "two holders: {body}");

    let huge = format!(
        "{{\"asset_number\": \"9\", \"name\": \"{}\"}}",
        "x".repeat(70_000)
    );
    let (st, body) = raw_post(&w, "/api/v1/assets", "application/json", huge.into_bytes()).await?;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "body_too_large");

    let (st, body) = s.get("/api/v1/assets/424242", &w.admin).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "asset 424242 not found");
    let (st, _) = s.get("/api/v1/assets/abc", &w.admin).await?;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, body) = s.get("/api/v1/assets?per_page=100000", &w.admin).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "per_page");
    assert_eq!(body["error"]["message"], "per_page must be 1..=500");
    let (st, _) = s.get("/api/v1/assets?state=melted", &w.admin).await?;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.get("/api/v1/nowhere", &w.admin).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(
            "/api/v1/warehouses/999/locations",
            &w.admin,
            json!({"code": "x", "name": "y"}),
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);

    assert_eq!(asset_count(&w).await?, before, "nothing was stored");
    Ok(())
}

#[tokio::test]
async fn bad_batches_change_nothing() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    let good = obs(&epc, "gate-1", "added");
    let mut backwards = obs(&epc, "gate-1", "added");
    backwards["last_seen"] = json!("2020-01-01T00:00:00Z");
    // A bad observation late in the batch rolls back the whole batch.
    let (st, body) = s
        .post(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![good.clone(), backwards]),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "observations[1].last_seen");
    let mut bad_epc = good.clone();
    bad_epc["epc"] = json!("XYZ");
    let (st, body) = s
        .post(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![bad_epc]),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "observations[0].epc", "{body}");
    let mut bad_kind = good.clone();
    bad_kind["kind"] = json!("teleported");
    let (st, _) = s
        .post(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![bad_kind]),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = s
        .post(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 0, vec![]),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    let alarms = s.get_ok("/api/v1/alarms", &w.keeper).await?;
    assert_eq!(alarms["total"], 0, "rejected batches raised nothing");
    // And sequence 1 is still free.
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![good]),
            200,
        )
        .await?;
    assert_eq!(ack["applied"], true);
    Ok(())
}

#[tokio::test]
async fn openapi_document_is_served() -> Result<()> {
    let w = World::new().await?;
    let resp = w
        .server
        .http
        .get(format!("{}/api/v1/openapi.json", w.server.base))
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await?;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert!(doc["paths"]["/api/v1/assets/{id}"]["get"].is_object());
    Ok(())
}
