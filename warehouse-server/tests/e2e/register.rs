//! Register CRUD, search with filters and pagination, CSV export.

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn crud_search_and_pagination() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // Parent units: a county under a city.
    let city = s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "市", "level": "city"}),
            201,
        )
        .await?;
    let county = s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "县", "level": "county", "parent_id": id(&city)?}),
            201,
        )
        .await?;
    assert_eq!(county["parent_id"], city["id"]);
    let units = s.get_ok("/api/v1/units?per_page=2", &w.keeper).await?;
    assert_eq!(units["total"], 4);
    assert_eq!(units["items"].as_array().map(Vec::len), Some(2));

    let batch = s
        .post_ok("/api/v1/batches", &w.admin,
            json!({"code": "2024-B1", "supplier": "供应商", "purchased_on": "2024-01-15", "total_fen": 9900000}), 201)
        .await?;
    for i in 0..12 {
        s.post_ok("/api/v1/assets", &w.keeper, json!({
            "asset_number": format!("20{i:02}"), "name": format!("投影仪 {i}"), "category_id": w.category,
            "model": "EB-X", "original_value_fen": 420000 + i, "batch_id": id(&batch)?,
            "funding_source": "财政拨款", "holder_location_id": w.loc_2, "custodian": "张三",
        }), 201).await?;
    }
    let page = s
        .get_ok("/api/v1/assets?q=投影仪&per_page=5&page=3", &w.keeper)
        .await?;
    assert_eq!(page["total"], 12);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let page = s
        .get_ok(
            &format!(
                "/api/v1/assets?holder_location_id={}&state=in_stock",
                w.loc_2
            ),
            &w.keeper,
        )
        .await?;
    assert_eq!(page["total"], 12);
    let page = s.get_ok("/api/v1/assets?number=2003", &w.keeper).await?;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["original_value_fen"], 420003);
    let page = s
        .get_ok(
            &format!("/api/v1/assets?category_id={}&state=allocated", w.category),
            &w.keeper,
        )
        .await?;
    assert_eq!(page["total"], 2, "assets of units A and B");
    let page = s.get_ok("/api/v1/assets?q=100%25", &w.keeper).await?;
    assert_eq!(page["total"], 0, "% is literal in q");

    // Update, and read it back with its timeline.
    let asset = page_first(s, "/api/v1/assets?number=2005", &w.keeper).await?;
    let (st, updated) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/assets/{asset}"),
            Some(&w.keeper),
            Some(json!({"custodian": "李四", "condition": "worn", "reason": "年检"})),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{updated}");
    assert_eq!(updated["custodian"], "李四");
    let detail = s
        .get_ok(&format!("/api/v1/assets/{asset}"), &w.keeper)
        .await?;
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["registered", "updated"]);
    assert_eq!(detail["timeline"][1]["actor"], "user:keeper");
    assert_eq!(detail["timeline"][1]["reason"], "年检");
    ensure!(detail["timeline"][1]["request_id"].is_string());

    // Duplicate asset number is a 409 naming the field.
    let (st, body) = s
        .post(
            "/api/v1/assets",
            &w.keeper,
            json!({
                "asset_number": "2005", "name": "dup", "category_id": w.category,
                "original_value_fen": 1, "holder_location_id": w.loc_2,
            }),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "asset_number");
    Ok(())
}

async fn page_first(s: &Server, path: &str, token: &str) -> Result<i64> {
    let page = s.get_ok(path, token).await?;
    id(&page["items"][0])
}

#[tokio::test]
async fn csv_export_is_excel_compatible() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    s.post_ok(
        "/api/v1/assets",
        &w.keeper,
        json!({
            "asset_number": "3001", "name": "会议桌, \"大\"", "category_id": w.category,
            "original_value_fen": 380005, "holder_location_id": w.loc_1, "notes": "两行\n备注",
        }),
        201,
    )
    .await?;
    let resp = s
        .http
        .get(format!("{}/api/v1/assets/export.csv", s.base))
        .bearer_auth(&w.keeper)
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = resp.bytes().await?;
    ensure!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let text = std::str::from_utf8(&bytes[3..])?;
    ensure!(text.starts_with("asset_number,name,category,"));
    ensure!(text.contains("\r\n"), "CRLF line ends");
    ensure!(
        text.contains("3001,\"会议桌, \"\"大\"\"\",办公桌,,3800.05,"),
        "quoted: {text}"
    );
    ensure!(text.contains("\"两行\n备注\""));
    assert_eq!(text.matches("\r\n").count(), 5, "header + 4 assets");
    // Unit staff export only what they may see.
    let resp = s
        .http
        .get(format!("{}/api/v1/assets/export.csv", s.base))
        .bearer_auth(&w.staff_a)
        .send()
        .await?;
    let text = resp.text().await?;
    ensure!(!text.contains("1002,"), "unit B's asset leaked: {text}");
    Ok(())
}
