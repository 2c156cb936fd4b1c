//! Exports that a spreadsheet cannot turn into formulas, money with one
//! upper bound and exact totals, page numbers that cannot wrap, and errors
//! that always carry the `{"error": …}` body.

use anyhow::Result;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

/// `warehouse_server::money::MAX_FEN`: 10^15 fen.
const MAX_FEN: i64 = 1_000_000_000_000_000;

#[tokio::test]
async fn csv_exports_neutralise_formulas() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let formula = "=HYPERLINK(\"http://evil.example/\",\"点击\")";
    s.post_ok(
        "/api/v1/assets",
        &w.admin,
        json!({"asset_number": "2001", "name": "@SUM(A1)", "category_id": w.category,
            "original_value_fen": 100, "holder_location_id": w.loc_1, "custodian": formula}),
        201,
    )
    .await?;
    let (st, csv) = s.get("/api/v1/assets/export.csv", &w.admin).await?;
    assert_eq!(st, StatusCode::OK);
    let text = csv.as_str().unwrap_or_default();
    // The cell is quoted (it holds quotes) and starts with an apostrophe.
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"点击\"\")\""),
        "{text}"
    );
    assert!(text.contains(",'@SUM(A1),"), "{text}");
    assert!(!text.contains(",=HYPERLINK"), "{text}");
    Ok(())
}

#[tokio::test]
async fn money_is_bounded_and_report_totals_exact() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let asset = |number: &str, fen: i64| {
        json!({"asset_number": number, "name": "服务器", "category_id": w.category,
            "original_value_fen": fen, "holder_location_id": w.loc_1})
    };
    for n in ["3001", "3002"] {
        s.post_ok("/api/v1/assets", &w.admin, asset(n, MAX_FEN), 201)
            .await?;
    }
    for over in [MAX_FEN + 1, i64::MAX] {
        let (st, body) = s
            .post("/api/v1/assets", &w.admin, asset("3003", over))
            .await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "original_value_fen", "{body}");
    }
    let (st, body) = s
        .post(
            "/api/v1/batches",
            &w.admin,
            json!({"code": "B-1", "total_fen": MAX_FEN + 1}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "total_fen", "{body}");

    let report = s
        .get_ok("/api/v1/reports/assets-by-state", &w.admin)
        .await?;
    // World registers three assets at 1,500 yuan each; one sits in the
    // warehouse with the two at the bound.
    let expected = 2 * MAX_FEN + 3 * 150_000;
    assert_eq!(
        report["totals"]["value_fen"].as_i64(),
        Some(expected),
        "{report}"
    );
    let rows = report["rows"].as_array().map(Vec::len).unwrap_or(0);
    assert!(rows >= 2, "{report}");
    let (st, csv) = s
        .get("/api/v1/reports/assets-by-state?format=csv", &w.admin)
        .await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        csv.as_str()
            .unwrap_or_default()
            .contains(&(2 * MAX_FEN + 150_000).to_string()),
        "{csv}"
    );
    Ok(())
}

#[tokio::test]
async fn absurd_pages_are_refused_by_name() -> Result<()> {
    let w = World::new().await?;
    let (st, body) = w
        .server
        .get("/api/v1/assets?page=9223372036854775807", &w.admin)
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "page", "{body}");
    Ok(())
}

#[tokio::test]
async fn wrong_method_answers_405_with_the_error_body() -> Result<()> {
    let w = World::new().await?;
    let (st, body) = w
        .server
        .call(Method::DELETE, "/api/v1/units", Some(&w.admin), None)
        .await?;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    Ok(())
}

#[tokio::test]
async fn step_body_errors_name_the_field() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let cases = [
        (json!({"action": "approve", "comment": 42}), "comment"),
        (json!({"action": "reject"}), "comment"),
        (json!({"action": "approve", "bogus": 1}), "bogus"),
        (
            json!({"action": "return_items", "items": [{"asset_id": "x", "condition": "good"}]}),
            "items[0].asset_id",
        ),
        (
            json!({"action": "record_sale", "hammer_price_fen": "1", "buyer": "b"}),
            "hammer_price_fen",
        ),
    ];
    for (body, field) in cases {
        let (st, answer) = s
            .post("/api/v1/requests/1/steps", &w.admin, body.clone())
            .await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {answer}");
        assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
    }
    Ok(())
}
