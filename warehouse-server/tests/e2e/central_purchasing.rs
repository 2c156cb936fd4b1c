//! Central purchasing (集中采购) and purchases for the warehouse's stock,
//! end to end: three units' purchases bought under one contract, each
//! received and allocated on its own; a contract number another
//! procurement has is refused; a request not at procurement stops the
//! whole combine; the agency buys for its own stock and the goods stay in
//! the warehouse.

use anyhow::{bail, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::{rid, stage, Flow};

/// A step that must succeed; returns the step's answer.
async fn step_ok(f: &Flow, token: &str, req: i64, body: Value) -> Result<Value> {
    let (st, v) = f.step(token, req, body.clone()).await?;
    if st != StatusCode::OK {
        bail!("step {body} on request {req}: {st} {v}");
    }
    Ok(v)
}

/// Files a purchase as `token` and takes it through the approver and
/// finance, to the stage `procurement`.
async fn approved_purchase(f: &Flow, token: &str, quantity: i64, budget_fen: i64) -> Result<i64> {
    let w = &f.w;
    let id = rid(&f
        .file(
            token,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": quantity,
                "budget_fen": budget_fen, "reason": "会议室配置"}),
        )
        .await?)?;
    step_ok(f, &w.approver, id, json!({"action": "approve"})).await?;
    let v = step_ok(f, &w.finance, id, json!({"action": "approve"})).await?;
    assert_eq!(stage(&v), "procurement");
    Ok(id)
}

async fn request(f: &Flow, id: i64) -> Result<Value> {
    f.s()
        .get_ok(&format!("/api/v1/requests/{id}"), &f.w.admin)
        .await
}

/// The ids of the assets a request holds or moved.
fn item_ids(r: &Value) -> Vec<i64> {
    r["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["asset_id"].as_i64())
        .collect()
}

#[tokio::test]
async fn three_units_buy_under_one_contract_and_each_gets_its_own_assets() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let s = f.s();
    let unit_c = id(&s
        .post_ok("/api/v1/units", &w.admin, json!({"name": "单位C"}), 201)
        .await?)?;
    let staff_c = s
        .add_user(&w.admin, "staff_c", "unit_staff", Some(unit_c))
        .await?;

    let a = approved_purchase(&f, &w.staff_a, 2, 100_000).await?;
    let b = approved_purchase(&f, &f.staff_b, 3, 150_000).await?;
    let c = approved_purchase(&f, &staff_c, 4, 200_000).await?;
    // One more, still waiting for the approver.
    let waiting = rid(&f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": 1,
                "budget_fen": 50_000, "reason": "备用"}),
        )
        .await?)?;
    let lines = |ids: &[(i64, i64)]| -> Value {
        json!(ids
            .iter()
            .map(|(r, p)| json!({"request_id": r, "unit_price_fen": p}))
            .collect::<Vec<_>>())
    };
    let contract = "ZC-2026-100";

    // A request not at procurement stops the whole combine, named.
    let (st, e) = s
        .post(
            "/api/v1/procurements",
            &w.approver,
            json!({"request_ids": [a, b, c, waiting], "supplier": "某某家具公司",
                "contract_number": contract, "purchased_on": "2026-11-20",
                "lines": lines(&[(a, 40_000), (b, 45_000), (c, 55_000), (waiting, 40_000)])}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "wrong_stage");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("request {waiting}")), "{message}");
    for r in [a, b, c] {
        let v = request(&f, r).await?;
        assert_eq!(v["stage"], "procurement");
        assert_eq!(v["batch_id"], Value::Null);
    }
    assert_eq!(
        f.report("contracts").await?["rows"],
        json!([]),
        "no batch was left behind"
    );
    // Only the approver procures; a missing price is named.
    let (st, _) = s
        .post(
            "/api/v1/procurements",
            &w.finance,
            json!({"request_ids": [a, b], "supplier": "某某家具公司",
                "contract_number": contract, "lines": lines(&[(a, 1), (b, 1)])}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = s
        .post(
            "/api/v1/procurements",
            &w.approver,
            json!({"request_ids": [a, b], "supplier": "某某家具公司",
                "contract_number": contract, "lines": lines(&[(a, 1)])}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "lines");

    // One contract for three units' requests; C spends over its budget
    // (4 × 550 yuan against 2,000) and goes to finance on its own.
    let p = s
        .post_ok(
            "/api/v1/procurements",
            &w.approver,
            json!({"request_ids": [a, b, c], "supplier": "某某家具公司",
                "contract_number": contract, "purchased_on": "2026-11-20",
                "lines": lines(&[(a, 40_000), (b, 45_000), (c, 55_000)]),
                "comment": "集中采购"}),
            201,
        )
        .await?;
    assert_eq!(p["contract_number"], contract);
    assert_eq!(p["total_fen"], 80_000 + 135_000 + 220_000);
    let batch = p["batch_id"].as_i64();
    assert!(batch.is_some());
    let stages: Vec<&str> = p["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["stage"].as_str())
        .collect();
    assert_eq!(stages, ["receiving", "receiving", "over_budget"]);
    for (r, spent) in [(a, 80_000), (b, 135_000), (c, 220_000)] {
        let v = request(&f, r).await?;
        assert_eq!(v["batch_id"].as_i64(), batch);
        assert_eq!(v["spent_fen"], spent);
        let last = &v["steps"][v["steps"].as_array().map_or(0, Vec::len) - 1];
        assert_eq!(last["action"], "procure");
        assert_eq!(last["details"]["contract_number"], contract);
        assert_eq!(last["details"]["batch_id"].as_i64(), batch);
    }
    step_ok(
        &f,
        &w.finance,
        c,
        json!({"action": "approve", "comment": "市场价上涨"}),
    )
    .await?;

    // Each request is received on its own, with its own count, and ends
    // with its own assets allocated to its unit.
    for (r, qty, unit, staff) in [
        (a, 2, w.unit_a, &w.staff_a),
        (b, 3, w.unit_b, &f.staff_b),
        (c, 4, unit_c, &staff_c),
    ] {
        let v = step_ok(
            &f,
            &w.keeper,
            r,
            json!({"action": "receive", "location_id": w.loc_1, "received": qty}),
        )
        .await?;
        assert_eq!(stage(&v), "checkout");
        let assets = item_ids(&v["request"]);
        assert_eq!(assets.len() as i64, qty);
        let mut epcs = Vec::new();
        for asset in &assets {
            epcs.push(w.tag(*asset).await?);
        }
        step_ok(
            &f,
            &w.keeper,
            r,
            json!({"action": "check_out", "epcs": epcs}),
        )
        .await?;
        let v = step_ok(&f, staff, r, json!({"action": "confirm_receipt"})).await?;
        assert_eq!(stage(&v), "completed");
        for asset in assets {
            let got = f.asset(asset).await?;
            assert_eq!(got["state"], "allocated");
            assert_eq!(got["holder_unit_id"].as_i64(), Some(unit));
            assert_eq!(got["batch_id"].as_i64(), batch);
        }
    }

    // The report shows one contract with its three requests and units.
    let r = f.report("contracts").await?;
    let rows = r["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{r}");
    let row = &rows[0];
    assert_eq!(row[0], contract);
    assert_eq!(row[1], "某某家具公司");
    assert_eq!(row[2], "2026-11-20");
    assert_eq!(row[3], 3);
    assert_eq!(row[4], format!("{a}, {b}, {c}"));
    assert_eq!(row[5], "单位A, 单位B, 单位C");
    assert_eq!(row[6], 9);
    assert_eq!(row[7], 450_000);
    assert_eq!(row[8], 435_000);
    assert_eq!(row[9], 20_000 + 15_000);
    assert_eq!(row[10], 20_000);
    assert_eq!(r["totals"]["spent_fen"], 435_000);
    assert_eq!(r["totals"]["requests"], 3);
    // The per-request report names each request's unit beside the
    // shared contract.
    let per_request = f.report("procurement").await?;
    let units: Vec<(Value, Value)> = per_request["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| (row[1].clone(), row[8].clone()))
        .collect();
    assert_eq!(
        units,
        [
            (json!(contract), json!(w.unit_a)),
            (json!(contract), json!(w.unit_b)),
            (json!(contract), json!(unit_c))
        ]
    );

    // Another procurement cannot reuse the contract number: neither a
    // combined one nor a single request's procure step.
    let d = approved_purchase(&f, &f.staff_b, 1, 50_000).await?;
    let e2 = approved_purchase(&f, &w.staff_a, 1, 50_000).await?;
    let (st, e) = s
        .post(
            "/api/v1/procurements",
            &w.approver,
            json!({"request_ids": [d, e2], "supplier": "另一公司",
                "contract_number": contract, "lines": lines(&[(d, 30_000), (e2, 30_000)])}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "contract_number_used");
    assert_eq!(e["error"]["field"], "contract_number");
    let (st, e) = f
        .step(
            &w.approver,
            d,
            json!({"action": "procure", "supplier": "另一公司", "contract_number": contract,
                "unit_price_fen": 30_000}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "contract_number_used");
    for r in [d, e2] {
        assert_eq!(request(&f, r).await?["stage"], "procurement");
    }
    assert_eq!(
        f.report("contracts").await?["rows"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    f.verify_log().await
}

#[tokio::test]
async fn a_stock_purchase_ends_in_the_warehouse_and_completes_at_receiving() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let body = json!({"kind": "purchase", "category_id": f.chairs, "quantity": 2,
        "budget_fen": 100_000, "reason": "仓库备货"});
    // A keeper buys for the warehouse's stock only.
    let mut for_unit = body.clone();
    for_unit["destination"] = json!("unit");
    let (st, e) = f.s().post("/api/v1/requests", &w.keeper, for_unit).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "destination");
    // Only purchases have a destination.
    let (st, e) = f
        .s()
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "allocation", "category_id": f.chairs, "quantity": 1,
                "destination": "warehouse"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "destination");

    let v = f.file(&w.keeper, body).await?;
    let id = rid(&v)?;
    assert_eq!(v["destination"], "warehouse");
    assert_eq!(v["unit_id"], Value::Null);
    // Fulfilling from stock would hand items to a unit: not for stock.
    let (st, _) = f
        .step(
            &w.approver,
            id,
            json!({"action": "fulfil", "asset_ids": [w.asset_wh]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    step_ok(&f, &w.approver, id, json!({"action": "approve"})).await?;
    step_ok(&f, &w.finance, id, json!({"action": "approve"})).await?;
    step_ok(
        &f,
        &w.approver,
        id,
        json!({"action": "procure", "supplier": "某某家具公司", "contract_number": "ZC-2026-200",
            "unit_price_fen": 45_000, "purchased_on": "2026-11-21"}),
    )
    .await?;
    let v = step_ok(
        &f,
        &w.keeper,
        id,
        json!({"action": "receive", "location_id": w.loc_2, "received": 2}),
    )
    .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(v["request"]["awaiting"], Value::Null);
    let assets = item_ids(&v["request"]);
    assert_eq!(assets.len(), 2);
    for asset in &assets {
        let a = f.asset(*asset).await?;
        assert_eq!(a["state"], "in_stock");
        assert_eq!(a["holder_location_id"].as_i64(), Some(w.loc_2));
        assert_eq!(a["holder_unit_id"], Value::Null);
    }
    // Nothing is held: the new stock is free for a loan at once.
    let statuses: Vec<&str> = v["request"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["status"].as_str())
        .collect();
    assert_eq!(statuses, ["done", "done"]);
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": assets, "reason": "表彰大会",
                "loan_start": "2099-12-01", "loan_due": "2099-12-03"}),
        )
        .await?;
    assert_eq!(loan["stage"], "approval");

    // A unit's event purchase may end in the warehouse too.
    let v = f
        .file(
            &f.staff_b,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": 1,
                "budget_fen": 50_000, "reason": "运动会", "destination": "warehouse"}),
        )
        .await?;
    let event = rid(&v)?;
    assert_eq!(v["unit_id"].as_i64(), Some(w.unit_b));
    step_ok(&f, &w.approver, event, json!({"action": "approve"})).await?;
    step_ok(&f, &w.finance, event, json!({"action": "approve"})).await?;
    step_ok(
        &f,
        &w.approver,
        event,
        json!({"action": "procure", "supplier": "某某体育用品", "contract_number": "ZC-2026-201",
            "unit_price_fen": 40_000}),
    )
    .await?;
    let v = step_ok(
        &f,
        &w.keeper,
        event,
        json!({"action": "receive", "location_id": w.loc_1}),
    )
    .await?;
    assert_eq!(stage(&v), "completed");
    let bought = item_ids(&v["request"]);
    assert_eq!(f.state(bought[0]).await?, "in_stock");
    f.verify_log().await
}

#[tokio::test]
async fn the_central_purchasing_page_buys_the_picked_requests_together() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let s = f.s();
    let a = approved_purchase(&f, &w.staff_a, 2, 100_000).await?;
    let b = approved_purchase(&f, &f.staff_b, 1, 50_000).await?;
    let c = client()?;
    let (st, html, _) = page(&c, &s.base, "/inbox", &w.approver, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("href=\"/procurements\""),
        "the inbox links the page"
    );
    let (st, html, _) = page(&c, &s.base, "/procurements", &w.approver, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("集中采购") && html.contains("合并采购"));
    assert!(
        html.contains(&format!("name=\"pick_{a}\""))
            && html.contains(&format!("name=\"pick_{b}\""))
    );
    let (_, en, _) = page(&c, &s.base, "/procurements", &w.approver, "lang=en").await?;
    let data: Vec<String> = [
        "会议室配置",
        "单位A",
        "单位B",
        test_support::ORG_NAME,
        "中文",
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    let found = test_support::chinese_outside(&crate::pages_words::visible_text(&en), &data);
    assert!(found.is_empty(), "Chinese in the English page: {found:?}");
    // An unreadable price is named and nothing is bought.
    let pick_a = format!("pick_{a}");
    let price_a = format!("price_{a}");
    let pick_b = format!("pick_{b}");
    let price_b = format!("price_{b}");
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/procurements",
        &w.approver,
        &[
            (&pick_a, "1"),
            (&price_a, "四百"),
            (&pick_b, "1"),
            (&price_b, "420"),
            ("supplier", "某某家具公司"),
            ("contract_number", "ZC-2026-300"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("单价"), "the price is named");
    assert_eq!(request(&f, a).await?["stage"], "procurement");
    let (st, location, flash) = post_form(
        &c,
        &s.base,
        "/procurements",
        &w.approver,
        &[
            (&pick_a, "1"),
            (&price_a, "400"),
            (&pick_b, "1"),
            (&price_b, "420.50"),
            ("supplier", "某某家具公司"),
            ("contract_number", "ZC-2026-300"),
            ("purchased_on", "2026-11-22"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(location, "/procurements");
    assert_eq!(flash.as_deref(), Some("flash=procured.2"));
    let (va, vb) = (request(&f, a).await?, request(&f, b).await?);
    assert_eq!(va["stage"], "receiving");
    assert_eq!(va["spent_fen"], 80_000);
    assert_eq!(vb["spent_fen"], 42_050);
    assert_eq!(va["batch_id"], vb["batch_id"]);
    Ok(())
}
