//! Multi-line requests (一张申请多行, issue 16): a loan of chairs, tables
//! and a named projector in one request, filed, approved, checked out
//! line by line at the desk (a line is never over-filled), confirmed and
//! returned; a purchase of two lines priced and received per line; bad
//! lines named by their path; the filing page's rows and "添加一行".

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::{rid, stage, Flow};

/// An in-stock asset of `category` on shelf A01, tagged: (id, EPC).
async fn tagged(f: &Flow, number: &str, name: &str, category: i64) -> Result<(i64, String)> {
    let w = &f.w;
    let a = id(&f
        .s()
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": number, "name": name, "category_id": category,
                "original_value_fen": 50000, "holder_location_id": w.loc_1}),
            201,
        )
        .await?)?;
    Ok((a, w.tag(a).await?))
}

/// The lines of a request (or of a step's answer).
fn lines(v: &Value) -> Vec<Value> {
    let r = if v["request"].is_object() {
        &v["request"]
    } else {
        v
    };
    r["lines"].as_array().cloned().unwrap_or_default()
}

/// (line_no, checked_out, returned) of every line.
fn progress(v: &Value) -> Vec<(i64, i64, i64)> {
    lines(v)
        .iter()
        .map(|l| {
            (
                l["line_no"].as_i64().unwrap_or(-1),
                l["checked_out"].as_i64().unwrap_or(-1),
                l["returned"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_loan_of_three_lines_goes_out_line_by_line_and_comes_back() -> Result<()> {
    // Five chairs in stock; the loan asks four.
    let f = Flow::new(5).await?;
    let w = &f.w;
    let tables = w.category;
    let t1 = tagged(&f, "50001", "会议桌", tables).await?;
    let t2 = tagged(&f, "50002", "会议桌", tables).await?;
    let projectors = id(&f
        .s()
        .post_ok(
            "/api/v1/categories",
            &w.admin,
            json!({"code": "0301", "name": "投影仪"}),
            201,
        )
        .await?)?;
    let projector = tagged(&f, "60001", "投影仪", projectors).await?;

    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "reason": "年终表彰大会", "event": "2099 年表彰大会",
            "loan_start": "2099-01-05", "loan_due": "2099-01-06",
            "lines": [
                {"category_id": f.chairs, "quantity": 4, "notes": "主席台"},
                {"category_id": tables, "quantity": 2},
                {"asset_ids": [projector.0], "notes": "带遥控器"},
            ]}),
        )
        .await?;
    let id = rid(&loan)?;
    assert_eq!(loan["event"], "2099 年表彰大会");
    let ls = lines(&loan);
    assert_eq!(ls.len(), 3);
    assert_eq!(
        (
            ls[0]["category_id"].as_i64(),
            ls[0]["quantity"].as_i64(),
            ls[0]["notes"].as_str()
        ),
        (Some(f.chairs), Some(4), Some("主席台"))
    );
    assert_eq!(ls[2]["category_id"], Value::Null);
    assert_eq!(ls[2]["items"], json!([projector.0]));
    // Each line by category carries its stock check.
    assert_eq!(ls[0]["stock"]["in_stock"], 5);
    // (The world's own desk is a third table in stock.)
    assert_eq!(ls[1]["stock"]["in_stock"], 3);
    // The named projector is held from filing, on line 3.
    assert_eq!(loan["items"][0]["line_no"], 3);

    f.ok(&w.approver, id, json!({"action": "approve"})).await?;

    // First scan: three chairs and the projector. The lines still short
    // are named with what each lacks.
    let chairs: Vec<String> = f.stock.iter().map(|(_, e)| e.clone()).collect();
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": [chairs[0], chairs[1], chairs[2], projector.1]}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    assert_eq!(v["scan"]["shortfall"], 3);
    assert_eq!(
        v["scan"]["short_lines"],
        json!([{"line_no": 1, "short_by": 1}, {"line_no": 2, "short_by": 2}])
    );
    assert_eq!(progress(&v), vec![(1, 3, 0), (2, 0, 0), (3, 1, 0)]);

    // Second scan: the fourth and a fifth chair, both tables. The fifth
    // chair would over-fill line 1: refused naming its tag and the line;
    // the rest goes out and the check-out is complete.
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": [chairs[3], chairs[4], t1.1, t2.1]}),
        )
        .await?;
    assert_eq!(stage(&v), "receipt", "{v}");
    let extras = v["scan"]["extras"].as_array().cloned().unwrap_or_default();
    assert_eq!(extras.len(), 1, "{v}");
    assert_eq!(extras[0]["epc"], chairs[4].to_ascii_uppercase());
    assert_eq!(extras[0]["why"]["code"], "more_than_needed");
    assert_eq!(extras[0]["line_no"], 1);
    assert_eq!(f.state(f.stock[4].0).await?, "in_stock");
    assert_eq!(f.state(t2.0).await?, "in_transit");
    assert_eq!(progress(&v), vec![(1, 4, 0), (2, 2, 0), (3, 1, 0)]);
    // Every item knows its line.
    let line_of = |v: &Value, asset: i64| {
        v["request"]["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["asset_id"] == asset))
            .and_then(|i| i["line_no"].as_i64())
    };
    assert_eq!(line_of(&v, t1.0), Some(2));
    assert_eq!(line_of(&v, f.stock[0].0), Some(1));

    let v = f
        .ok(&w.staff_a, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(stage(&v), "on_loan");

    // The tables come back first: still on loan, line 2 returned.
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "return_items", "items": [
                {"epc": t1.1, "condition": "good"}, {"asset_id": t2.0, "condition": "good"}]}),
        )
        .await?;
    assert_eq!(stage(&v), "on_loan");
    assert_eq!(progress(&v), vec![(1, 4, 0), (2, 2, 2), (3, 1, 0)]);
    // Then the rest: the loan is completed when every line is back.
    let rest: Vec<Value> = f.stock[..4]
        .iter()
        .map(|(a, _)| json!({"asset_id": a, "condition": "good"}))
        .chain([json!({"asset_id": projector.0, "condition": "good"})])
        .collect();
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "return_items", "items": rest}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(progress(&v), vec![(1, 4, 4), (2, 2, 2), (3, 1, 1)]);
    assert_eq!(f.state(projector.0).await?, "in_stock");

    // The request page shows the lines and the event; its English variant
    // has no Chinese in the table's words.
    let c = client()?;
    let session = w.keeper.clone();
    let (status, html, _) = page(&c, &f.s().base, &format!("/requests/{id}"), &session, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    for word in [
        "申请明细",
        "已出库",
        "已归还",
        "2099 年表彰大会",
        "主席台",
        "投影仪",
        "60001",
    ] {
        ensure!(html.contains(word), "request page lacks {word}");
    }
    f.verify_log().await
}

#[tokio::test]
async fn a_shortfall_accepted_at_the_desk_names_the_short_lines() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    // The world's one table, tagged: the only one in stock.
    w.tag(w.asset_wh).await?;
    let r = f
        .file(
            &w.staff_a,
            json!({"kind": "allocation", "reason": "新科室", "event": "科室成立",
                "lines": [{"category_id": f.chairs, "quantity": 2},
                          {"category_id": w.category, "quantity": 1}]}),
        )
        .await?;
    let id = rid(&r)?;
    f.ok(&w.approver, id, json!({"action": "approve"})).await?;
    // The desk page shows the lines and their progress.
    let c = client()?;
    let (status, html, _) = page(
        &c,
        &f.s().base,
        &format!("/requests/{id}/desk"),
        &w.keeper,
        "",
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("data-test=\"lines\"") && html.contains("已出库"),
        "no line progress on the desk page"
    );
    // Only the chairs are found; the keeper closes the check-out short.
    let chairs: Vec<String> = f.stock.iter().map(|(_, e)| e.clone()).collect();
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": chairs, "accept_shortfall": true}),
        )
        .await?;
    assert_eq!(stage(&v), "receipt");
    assert_eq!(
        v["scan"]["short_lines"],
        json!([{"line_no": 2, "short_by": 1}])
    );
    let last = v["request"]["steps"]
        .as_array()
        .and_then(|s| s.last().cloned())
        .unwrap_or_default();
    assert_eq!(
        last["details"]["short_lines"],
        json!([{"line_no": 2, "short_by": 1}])
    );
    assert_eq!(progress(&v), vec![(1, 2, 0), (2, 0, 0)]);
    assert_eq!(f.state(w.asset_wh).await?, "in_stock");
    f.verify_log().await
}

#[tokio::test]
async fn a_purchase_of_two_lines_is_priced_and_received_per_line() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let tables = w.category;
    let p = f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "budget_fen": 200000, "reason": "新会议室",
            "lines": [
                {"category_id": f.chairs, "quantity": 3},
                {"category_id": tables, "quantity": 2, "notes": "带抽屉"},
            ]}),
        )
        .await?;
    let id = rid(&p)?;
    assert_eq!(p["quantity"], 5, "the summary is the lines' total");
    f.ok(&w.approver, id, json!({"action": "approve"})).await?;
    f.ok(&w.finance, id, json!({"action": "approve"})).await?;
    // One price for two lines: each line needs its own.
    let (st, e) = f
        .step(
            &w.approver,
            id,
            json!({"action": "procure", "supplier": "某家具公司", "contract_number": "ZC-1",
                "line_prices": [{"line_no": 1, "unit_price_fen": 30000}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "line_prices");
    let (st, e) = f
        .step(
            &w.approver,
            id,
            json!({"action": "procure", "supplier": "某家具公司", "contract_number": "ZC-1",
                "line_prices": [{"line_no": 1, "unit_price_fen": 30000},
                                {"line_no": 9, "unit_price_fen": 1}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "line_prices[1].line_no");
    // On the request page: a price box per line.
    let c = client()?;
    let base = &f.s().base;
    crate::pages_words::step(
        &c,
        base,
        id,
        &w.approver,
        &[
            ("action", "procure"),
            ("supplier", "某家具公司"),
            ("contract_number", "ZC-2"),
            ("line_price_1", "300.00"),
            ("line_price_2", "400.00"),
        ],
    )
    .await?;
    let v = json!({"request": f.s().get_ok(&format!("/api/v1/requests/{id}"), &w.approver).await?});
    assert_eq!(stage(&v), "receiving");
    assert_eq!(v["request"]["spent_fen"], 170000);
    assert_eq!(v["request"]["savings_fen"], 30000);
    let ls = lines(&v);
    assert_eq!(
        ls.iter()
            .map(|l| l["total_fen"].clone())
            .collect::<Vec<_>>(),
        vec![json!(90000), json!(80000)]
    );

    let (status, html, _) = page(&c, base, &format!("/requests/{id}"), &w.keeper, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("900.00") && html.contains("800.00") && html.contains("小计"),
        "no line totals on the request page"
    );
    ensure!(
        html.contains("name=\"received_line_2\""),
        "no count box per line"
    );
    crate::pages_words::step(
        &c,
        base,
        id,
        &w.keeper,
        &[
            ("action", "receive"),
            ("location_code", "A01"),
            ("received_line_1", "3"),
            ("received_line_2", "2"),
        ],
    )
    .await?;
    let v = json!({"request": f.s().get_ok(&format!("/api/v1/requests/{id}"), &w.keeper).await?});
    assert_eq!(stage(&v), "checkout");
    let items = v["request"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 5);
    let mut epcs = Vec::new();
    for i in &items {
        let a = f.asset(i["asset_id"].as_i64().unwrap_or(-1)).await?;
        let (category, value) = if i["line_no"] == 1 {
            (f.chairs, 30000)
        } else {
            (tables, 40000)
        };
        assert_eq!(a["category_id"], category, "{i}");
        assert_eq!(a["original_value_fen"], value, "{i}");
        epcs.push(w.tag(i["asset_id"].as_i64().unwrap_or(-1)).await?);
    }
    let v = f
        .ok(&w.keeper, id, json!({"action": "check_out", "epcs": epcs}))
        .await?;
    assert_eq!(stage(&v), "receipt");
    let v = f
        .ok(&w.staff_a, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(progress(&v), vec![(1, 3, 0), (2, 2, 0)]);
    // The procurement report counts the lines' quantities.
    let r = f.report("procurement").await?;
    assert_eq!(r["rows"][0][3], 5, "{r}");
    assert_eq!(r["totals"]["savings_fen"], 30000);
    f.verify_log().await
}

#[tokio::test]
async fn a_bad_line_is_named_by_its_path_and_both_forms_are_refused() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let refused = |body: Value| {
        let f = &f;
        async move {
            let (st, e) = f.s().post("/api/v1/requests", &f.w.staff_a, body).await?;
            ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st} {e}");
            Ok::<Value, anyhow::Error>(e)
        }
    };
    let loan = |lines: Value| {
        json!({"kind": "loan", "reason": "会议", "loan_start": "2099-01-05",
            "loan_due": "2099-01-06", "lines": lines})
    };
    let e = refused(loan(json!([
        {"category_id": f.chairs, "quantity": 1},
        {"category_id": f.chairs, "quantity": 0},
    ])))
    .await?;
    assert_eq!(e["error"]["field"], "lines[1].quantity", "{e}");
    let e = refused(loan(json!([{"quantity": 2}]))).await?;
    assert_eq!(e["error"]["field"], "lines[0].category_id", "{e}");
    let mut both = loan(json!([{"category_id": f.chairs, "quantity": 1}]));
    both["category_id"] = json!(f.chairs);
    let e = refused(both).await?;
    assert_eq!(e["error"]["code"], "lines_and_shorthand", "{e}");
    let e = refused(json!({"kind": "intake", "lines": [{"asset_ids": [w.asset_a]}]})).await?;
    let problems = e["error"]["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        problems
            .iter()
            .any(|p| p["field"] == "lines"
                && p["message"] == "lines does not apply to a intake request"),
        "{e}"
    );
    let e = refused(
        json!({"kind": "purchase", "category_id": f.chairs, "quantity": 1,
        "budget_fen": 100, "reason": "x", "event": "会议"}),
    )
    .await?;
    assert_eq!(e["error"]["field"], "event", "{e}");
    let e = refused(json!({"kind": "purchase", "budget_fen": 100, "reason": "x",
        "lines": [{"asset_ids": [f.stock[0].0]}]}))
    .await?;
    assert_eq!(e["error"]["field"], "lines[0].asset_ids", "{e}");
    // Nothing was filed.
    let none = f.s().get_ok("/api/v1/requests", &w.staff_a).await?;
    assert_eq!(none["total"], 0);

    // Fulfilling a purchase from stock fills each line up to its quantity:
    // two chairs for a line of one are refused, nothing held.
    let p = f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "budget_fen": 100000, "reason": "补充",
                "lines": [{"category_id": f.chairs, "quantity": 1},
                          {"category_id": w.category, "quantity": 1}]}),
        )
        .await?;
    let id = rid(&p)?;
    let chairs: Vec<i64> = f.stock.iter().map(|(a, _)| *a).collect();
    let (st, e) = f
        .step(
            &w.approver,
            id,
            json!({"action": "fulfil", "asset_ids": chairs}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "asset_ids");
    let v = f
        .ok(
            &w.approver,
            id,
            json!({"action": "fulfil", "asset_ids": [chairs[0], w.asset_wh]}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    assert_eq!(progress(&v), vec![(1, 0, 0), (2, 0, 0)]);
    let held: Vec<(i64, i64)> = lines(&v)
        .iter()
        .map(|l| {
            (
                l["line_no"].as_i64().unwrap_or(-1),
                l["items"].as_array().map_or(0, |i| i.len() as i64),
            )
        })
        .collect();
    assert_eq!(held, vec![(1, 1), (2, 1)]);
    Ok(())
}

#[tokio::test]
async fn the_filing_page_adds_rows_and_files_several_lines() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let c = client()?;
    let base = &f.s().base;
    let session = w.staff_a.clone();
    let (status, html, _) = page(&c, base, "/requests/new/loan", &session, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("添加一行") && html.contains("活动名称"),
        "no rows on the form"
    );
    ensure!(
        !html.contains("name=\"lines[1].quantity\""),
        "two rows at first"
    );
    // 添加一行: the form comes back with a second row, what was typed kept.
    let chairs = f.chairs.to_string();
    let tables = w.category.to_string();
    let (status, html) = post_form_page(
        &c,
        base,
        "/requests/new/loan",
        &session,
        &[
            ("category_id", &chairs),
            ("quantity", "2"),
            ("line_rows", "1"),
            ("add_line", "1"),
            ("reason", "培训"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(html.contains("name=\"lines[1].quantity\""), "no second row");
    ensure!(html.contains(">培训</textarea>"), "typed reason lost");
    let none = f.s().get_ok("/api/v1/requests", &w.staff_a).await?;
    ensure!(none["total"] == 0, "adding a row filed the request");
    // A bad second row is refused beside it.
    let (status, html) = post_form_page(
        &c,
        base,
        "/requests/new/loan",
        &session,
        &[
            ("category_id", &chairs),
            ("quantity", "2"),
            ("line_rows", "2"),
            ("lines[1].category_id", &tables),
            ("lines[1].quantity", "0"),
            ("event", "培训班"),
            ("reason", "培训"),
            ("loan_start", "2099-01-05"),
            ("loan_due", "2099-01-06"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(
        html.contains("data-field=\"lines[1].quantity\""),
        "no error beside the second row"
    );
    // Both rows right: filed as two lines with the event.
    let (status, location, _) = post_form(
        &c,
        base,
        "/requests/new/loan",
        &session,
        &[
            ("category_id", &chairs),
            ("quantity", "2"),
            ("lines[0].notes", "前排"),
            ("line_rows", "2"),
            ("lines[1].category_id", &tables),
            ("lines[1].quantity", "1"),
            ("event", "培训班"),
            ("reason", "培训"),
            ("loan_start", "2099-01-05"),
            ("loan_due", "2099-01-06"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let id: i64 = location.trim_start_matches("/requests/").parse()?;
    let r = f
        .s()
        .get_ok(&format!("/api/v1/requests/{id}"), &w.staff_a)
        .await?;
    assert_eq!(r["event"], "培训班");
    let ls = lines(&r);
    assert_eq!(ls.len(), 2);
    assert_eq!(ls[0]["notes"], "前排");
    assert_eq!(ls[1]["category_id"], w.category);
    // The request list shows the event; the search finds it.
    let (status, html, _) = page(&c, base, "/requests?q=培训班", &session, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("data-test=\"request-event\">培训班<"),
        "no event in the list"
    );
    let found = f
        .s()
        .get_ok("/api/v1/requests?q=培训班", &w.staff_a)
        .await?;
    assert_eq!(found["total"], 1);
    // The English page of the request shows its lines without Chinese
    // words (data names aside).
    let (status, html, _) = page(&c, base, &format!("/requests/{id}"), &session, "lang=en").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("Lines") && html.contains("Checked out"),
        "no lines table in English"
    );
    ensure!(
        !html.contains("申请明细") && !html.contains("已归还"),
        "Chinese words on the English page"
    );
    Ok(())
}
