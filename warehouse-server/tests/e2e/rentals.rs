//! Rentals (管理+租用) end to end: an event needs more chairs than the
//! stock has; the keeper rents the shortfall from a registered supplier,
//! the rented chairs get temporary tags, go out with the event and come
//! back, go back to the supplier, and the cost shows in the report — with
//! none of them ever in the register.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::Flow;

fn code(e: &Value) -> &str {
    e["error"]["code"].as_str().unwrap_or_default()
}

/// A temporary tag's EPC (hex, 96 bits), not a GIAI of the register.
fn temp_epc(i: usize) -> String {
    format!("E2801170{:016X}", 0xABCD_0000_0000_0000u64 + i as u64)
}

async fn register_total(f: &Flow) -> Result<i64> {
    let page = f
        .s()
        .get_ok("/api/v1/assets?per_page=1", &f.w.admin)
        .await?;
    Ok(page["total"].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn a_rental_covers_a_shortfall_and_goes_back_to_its_supplier_never_in_the_register(
) -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let s = f.s();
    let before = register_total(&f).await?;
    // The event wants 5 chairs; the stock has 2.
    let loan = id(&f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": 2, "reason": "全省表彰大会",
                "loan_start": "2099-07-01", "loan_due": "2099-07-03"}),
        )
        .await?)?;
    let supplier = id(&s
        .post_ok(
            "/api/v1/suppliers",
            &w.keeper,
            json!({"name": "会展租赁公司", "contact": "王经理", "phone": "0771-1234567"}),
            201,
        )
        .await?)?;
    // Unit staff register no suppliers and record no rentals.
    let (st, _) = s
        .post(
            "/api/v1/suppliers",
            &w.staff_a,
            json!({"name": "自找供应商"}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"description": "折叠椅", "category_id": f.chairs, "epc": temp_epc(i)}))
        .collect();
    let body = json!({"supplier_id": supplier, "request_id": loan, "contract_number": "ZL-2099-018",
        "starts": "2099-07-01", "ends": "2099-07-03", "cost_fen": 45000, "items": items});
    let (st, e) = s.post("/api/v1/rentals", &w.staff_a, body.clone()).await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    // A temporary tag that is a registered asset's tag is refused, named.
    let mut clash = body.clone();
    clash["items"][1]["epc"] = json!(f.stock[0].1);
    let (st, e) = s.post("/api/v1/rentals", &w.keeper, clash).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "tag_in_use");
    assert_eq!(e["error"]["field"], "items[1].epc");
    // A window ending before it starts is refused.
    let mut backwards = body.clone();
    backwards["ends"] = json!("2099-06-30");
    let (st, e) = s.post("/api/v1/rentals", &w.keeper, backwards).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "ends");

    let rental = s
        .post_ok("/api/v1/rentals", &w.keeper, body.clone(), 201)
        .await?;
    let rid = id(&rental)?;
    assert_eq!(rental["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(rental["event"], "全省表彰大会");
    // The same tags cannot be rented twice while out of the supplier's hands.
    let mut again = body.clone();
    again["contract_number"] = json!("ZL-2099-019");
    let (st, e) = s.post("/api/v1/rentals", &w.keeper, again).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "tag_in_use");

    // Out with the event: a tag not of this rental names it; nothing moves.
    let tags: Vec<String> = (0..3).map(temp_epc).collect();
    let (st, e) = s
        .post(
            &format!("/api/v1/rentals/{rid}/check-out"),
            &w.keeper,
            json!({"epcs": [tags[0], temp_epc(9)]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "not_this_rental");
    assert_eq!(e["error"]["field"], "epcs[1]");
    let r = s
        .get_ok(&format!("/api/v1/rentals/{rid}"), &w.keeper)
        .await?;
    assert!(r["items"]
        .as_array()
        .is_some_and(|i| i.iter().all(|x| x["status"] == "received")));
    let out = s
        .post_ok(
            &format!("/api/v1/rentals/{rid}/check-out"),
            &w.keeper,
            json!({"epcs": tags}),
            200,
        )
        .await?;
    assert!(out["items"]
        .as_array()
        .is_some_and(|i| i.iter().all(|x| x["status"] == "out")));
    // Back to the supplier while out: refused naming what is out.
    let (st, e) = s
        .post(
            &format!("/api/v1/rentals/{rid}/return-to-supplier"),
            &w.keeper,
            json!({}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "rental_items_out");
    // Back from the event, then to the supplier.
    s.post_ok(
        &format!("/api/v1/rentals/{rid}/return"),
        &w.keeper,
        json!({"epcs": tags}),
        200,
    )
    .await?;
    let closed = s
        .post_ok(
            &format!("/api/v1/rentals/{rid}/return-to-supplier"),
            &w.keeper,
            json!({}),
            200,
        )
        .await?;
    assert_eq!(closed["status"], "returned");
    assert!(closed["closed_at"].is_string());
    // Closed: no more scans; the tags are free for the next rental.
    let (st, e) = s
        .post(
            &format!("/api/v1/rentals/{rid}/return"),
            &w.keeper,
            json!({"epcs": [tags[0]]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "rental_closed");

    // The register never held them; the report shows the cost per event.
    assert_eq!(register_total(&f).await?, before);
    for t in &tags {
        let (st, _) = s
            .get(&format!("/api/v1/assets/by-epc/{t}"), &w.keeper)
            .await?;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    let report = s.get_ok("/api/v1/reports/rentals", &w.approver).await?;
    assert_eq!(report["totals"]["rentals"], 1, "{report}");
    assert_eq!(report["totals"]["rented_items"], 3);
    assert_eq!(report["totals"]["rental_cost_fen"], 45000);
    assert_eq!(report["rows"][0][0], loan);
    assert_eq!(report["rows"][0][1], "全省表彰大会");
    let c = client()?;
    let (st, html, _) = page(&c, &s.base, "/reports?name=rentals", &w.approver, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("活动租用费用") && html.contains("450.00"),
        "report page"
    );
    Ok(())
}

#[tokio::test]
async fn a_keeper_records_a_rental_on_the_rentals_page_and_scans_it_out() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let s = f.s();
    let c = client()?;
    let items = format!("折叠椅,{}\n折叠椅，{}", temp_epc(1), temp_epc(2));
    // A bad tag is refused on the form, naming it; nothing is stored.
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/rentals",
        &w.keeper,
        &[
            ("supplier", "会展租赁公司"),
            ("contract_number", "ZL-1"),
            ("starts", "2099-08-01"),
            ("ends", "2099-08-02"),
            ("cost", "300.00"),
            ("items", "折叠椅,NOTHEX"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("NOTHEX"), "the bad tag is named");
    let none = s.get_ok("/api/v1/rentals", &w.keeper).await?;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (st, loc, _) = post_form(
        &c,
        &s.base,
        "/rentals",
        &w.keeper,
        &[
            ("supplier", "会展租赁公司"),
            ("contract_number", "ZL-1"),
            ("starts", "2099-08-01"),
            ("ends", "2099-08-02"),
            ("cost", "300.00"),
            ("items", items.as_str()),
        ],
    )
    .await?;
    assert_eq!((st, loc.as_str()), (StatusCode::SEE_OTHER, "/rentals"));
    let list = s.get_ok("/api/v1/rentals", &w.keeper).await?;
    let rid = list[0]["id"].as_i64().unwrap_or_default();
    assert_eq!(list[0]["cost_fen"], 30000);
    assert_eq!(list[0]["supplier"], "会展租赁公司");
    assert_eq!(list[0]["items"].as_array().map(Vec::len), Some(2));
    let tags = format!("{},{}", temp_epc(1), temp_epc(2));
    let (st, _, _) = post_form(
        &c,
        &s.base,
        &format!("/rentals/{rid}/check-out"),
        &w.keeper,
        &[("epcs", tags.as_str())],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, html, _) = page(&c, &s.base, "/rentals", &w.keeper, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("ZL-1") && html.contains("0/2/0/0"), "two out");
    Ok(())
}

/// Rented items count toward a loan's need at approval: the loan that
/// stock alone would overbook is refused; a rental that does not cover its
/// window changes nothing; one that does lets the approval pass, the
/// calendar reserves only what stock gives, and the desk checks out the
/// stock items while the rented ones go out under their rental.
#[tokio::test]
async fn a_rental_covering_the_shortfall_lets_an_overbooked_loan_be_approved() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let s = f.s();
    let loan = |token: &str, n: i64, why: &str| {
        let f = &f;
        let token = token.to_owned();
        let why = why.to_owned();
        async move {
            crate::workflows::rid(
                &f.file(
                    &token,
                    json!({"kind": "loan", "category_id": f.chairs, "quantity": n, "reason": why,
                        "loan_start": "2099-08-10", "loan_due": "2099-08-12"}),
                )
                .await?,
            )
        }
    };
    // Another event holds two of the three chairs on the same days.
    let other = loan(&w.staff_a, 2, "培训班").await?;
    f.ok(
        &w.approver,
        other,
        json!({"action": "approve", "comment": "同意"}),
    )
    .await?;
    let event = loan(&f.staff_b, 3, "新闻发布会").await?;
    let approve = json!({"action": "approve", "comment": "同意"});
    let (st, e) = f.step(&w.approver, event, approve.clone()).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "overbooked");
    assert_eq!(e["error"]["shortages"][0]["short"], 2, "{e}");

    let supplier = id(&s
        .post_ok(
            "/api/v1/suppliers",
            &w.keeper,
            json!({"name": "会务用品租赁站"}),
            201,
        )
        .await?)?;
    let rent = |n: usize, from: usize, contract: &str, starts: &str, ends: &str| {
        let items: Vec<Value> = (from..from + n)
            .map(|i| json!({"description": "折叠椅", "category_id": f.chairs, "epc": temp_epc(i)}))
            .collect();
        json!({"supplier_id": supplier, "request_id": event, "contract_number": contract,
            "starts": starts, "ends": ends, "cost_fen": 20000, "items": items})
    };
    // Two chairs rented for only part of the window count for nothing.
    let part = id(&s
        .post_ok(
            "/api/v1/rentals",
            &w.keeper,
            rent(2, 40, "ZL-2099-101", "2099-08-11", "2099-08-12"),
            201,
        )
        .await?)?;
    let (st, e) = f.step(&w.approver, event, approve.clone()).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["shortages"][0]["short"], 2, "{e}");
    s.post_ok(
        &format!("/api/v1/rentals/{part}/return-to-supplier"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    // One chair rented over the whole window: still one short.
    let one = id(&s
        .post_ok(
            "/api/v1/rentals",
            &w.keeper,
            rent(1, 50, "ZL-2099-102", "2099-08-09", "2099-08-12"),
            201,
        )
        .await?)?;
    let (st, e) = f.step(&w.approver, event, approve.clone()).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(
        (
            &e["error"]["shortages"][0]["asked"],
            &e["error"]["shortages"][0]["short"]
        ),
        (&json!(2), &json!(1)),
        "{e}"
    );
    // A second chair over the whole window: the approval passes.
    let two = id(&s
        .post_ok(
            "/api/v1/rentals",
            &w.keeper,
            rent(1, 51, "ZL-2099-103", "2099-08-10", "2099-08-12"),
            201,
        )
        .await?)?;
    let v = f.ok(&w.approver, event, approve.clone()).await?;
    assert_eq!(crate::workflows::stage(&v), "checkout");
    // The calendar reserves from stock only what the rentals do not give.
    let day = s
        .get_ok(
            &format!(
                "/api/v1/availability?category_id={}&from=2099-08-11&to=2099-08-11",
                f.chairs
            ),
            &w.keeper,
        )
        .await?;
    let d = &day["days"][0];
    assert_eq!(
        (&d["pool"], &d["reserved"], &d["free"]),
        (&json!(3), &json!(3), &json!(0)),
        "{day}"
    );
    let mine: Vec<i64> = day["bookings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["request_id"] == event)
        .filter_map(|b| b["quantity"].as_i64())
        .collect();
    assert_eq!(mine, vec![1], "{day}");

    // Extending past the rentals' end asks stock for the rented chairs
    // again: with another loan holding one chair on the 13th, three are
    // asked and two are free.
    let later = crate::workflows::rid(
        &f.file(
            &w.staff_a,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": 1, "reason": "闭幕式",
                "loan_start": "2099-08-13", "loan_due": "2099-08-14"}),
        )
        .await?,
    )?;
    f.ok(&w.approver, later, approve.clone()).await?;
    let (st, e) = f
        .step(
            &w.approver,
            event,
            json!({"action": "extend", "new_due": "2099-08-13", "comment": "活动延期"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let short = &e["error"]["shortages"][0];
    assert_eq!(
        (&short["asked"], &short["free"], &short["first_short"]),
        (&json!(3), &json!(2), &json!("2099-08-13")),
        "{e}"
    );

    // At the desk: one stock chair fills the loan, the rented two go out
    // under their rentals.
    let stock_epc = &f.stock[2].1;
    let v = f
        .ok(
            &w.keeper,
            event,
            json!({"action": "check_out", "epcs": [stock_epc]}),
        )
        .await?;
    assert_eq!(crate::workflows::stage(&v), "receipt", "{v}");
    for (rental, i) in [(one, 50), (two, 51)] {
        s.post_ok(
            &format!("/api/v1/rentals/{rental}/check-out"),
            &w.keeper,
            json!({"epcs": [temp_epc(i)]}),
            200,
        )
        .await?;
    }
    f.ok(&f.staff_b, event, json!({"action": "confirm_receipt"}))
        .await?;
    let v = f
        .ok(
            &w.keeper,
            event,
            json!({"action": "return_items", "items": [{"epc": stock_epc, "condition": "good"}]}),
        )
        .await?;
    assert_eq!(crate::workflows::stage(&v), "completed", "{v}");
    for (rental, i) in [(one, 50), (two, 51)] {
        s.post_ok(
            &format!("/api/v1/rentals/{rental}/return"),
            &w.keeper,
            json!({"epcs": [temp_epc(i)]}),
            200,
        )
        .await?;
        let closed = s
            .post_ok(
                &format!("/api/v1/rentals/{rental}/return-to-supplier"),
                &w.keeper,
                json!({}),
                200,
            )
            .await?;
        assert_eq!(closed["status"], "returned");
    }
    f.verify_log().await
}

/// The procurement report compares how events were served: re-use from
/// stock (at the items' original value), rental (at the contracts' cost)
/// and purchase (at what was paid), each figure from what the test did.
#[tokio::test]
async fn the_procurement_report_compares_reuse_rental_and_purchase_costs() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let s = f.s();
    // Re-use: a loan of the two stock chairs (320 yuan each), out at the desk.
    let loan = id(&f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": 2, "reason": "迎新晚会",
                "event": "迎新晚会", "loan_start": "2099-09-01", "loan_due": "2099-09-02"}),
        )
        .await?)?;
    f.ok(
        &w.approver,
        loan,
        json!({"action": "approve", "comment": "同意"}),
    )
    .await?;
    let epcs: Vec<&String> = f.stock.iter().map(|(_, e)| e).collect();
    f.ok(
        &w.keeper,
        loan,
        json!({"action": "check_out", "epcs": epcs}),
    )
    .await?;
    // Rental: three chairs for the same event, 450 yuan.
    let supplier = id(&s
        .post_ok(
            "/api/v1/suppliers",
            &w.keeper,
            json!({"name": "演出器材租赁"}),
            201,
        )
        .await?)?;
    let items: Vec<Value> = (60..63)
        .map(|i| json!({"description": "折叠椅", "category_id": f.chairs, "epc": temp_epc(i)}))
        .collect();
    s.post_ok(
        "/api/v1/rentals",
        &w.keeper,
        json!({"supplier_id": supplier, "request_id": loan, "contract_number": "ZL-2099-201",
            "starts": "2099-09-01", "ends": "2099-09-02", "cost_fen": 45000, "items": items}),
        201,
    )
    .await?;
    // Purchase: four chairs bought at 450 yuan each.
    let buy = id(&f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": 4,
                "budget_fen": 200000, "reason": "新办公室", "needed_by": "2099-12-31"}),
        )
        .await?)?;
    f.ok(&w.approver, buy, json!({"action": "approve"})).await?;
    f.ok(
        &w.finance,
        buy,
        json!({"action": "approve", "comment": "预算内"}),
    )
    .await?;
    f.ok(
        &w.approver,
        buy,
        json!({"action": "procure", "supplier": "某某家具公司", "contract_number": "ZC-2099-301",
            "unit_price_fen": 45000, "purchased_on": "2026-11-20"}),
    )
    .await?;

    let r = f.report("procurement").await?;
    let cols: Vec<&str> = r["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).unwrap_or(usize::MAX);
    assert_eq!(cols[..3], ["request_id", "batch_code", "supplier"], "{r}");
    let t = &r["totals"];
    assert_eq!(
        [
            &t["reused_items"],
            &t["reuse_value_fen"],
            &t["rented_items"],
            &t["rental_cost_fen"],
            &t["purchased_items"],
            &t["purchase_cost_fen"],
        ],
        [
            &json!(2),
            &json!(64000),
            &json!(3),
            &json!(45000),
            &json!(4),
            &json!(180000)
        ],
        "{r}"
    );
    assert_eq!(t["savings_fen"], 20000, "{r}");
    let rows = r["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{r}");
    // The purchase first (its contract), then the event served from stock
    // and rentals.
    assert_eq!(
        (&rows[0][0], &rows[0][1]),
        (&json!(buy), &json!("ZC-2099-301"))
    );
    assert_eq!(rows[0][at("purchased_items")], 4);
    assert_eq!(rows[0][at("reused_items")], 0);
    assert_eq!(
        (&rows[1][0], &rows[1][at("event")]),
        (&json!(loan), &json!("迎新晚会"))
    );
    assert_eq!(rows[1][at("reuse_value_fen")], 64000);
    assert_eq!(rows[1][at("rental_cost_fen")], 45000);
    assert_eq!(rows[1][at("purchase_cost_fen")], 0);
    // Cut by region, the rows add up to the same totals.
    let by = s
        .get_ok("/api/v1/reports/procurement?by=region", &w.approver)
        .await?;
    assert_eq!(by["totals"], r["totals"], "{by}");
    assert_eq!(by["rows"].as_array().map(Vec::len), Some(2), "{by}");
    // The page reads it in Chinese.
    let c = client()?;
    let (st, html, _) = page(&c, &s.base, "/reports?name=procurement", &w.approver, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("再利用资产原值（元）")
            && html.contains("640.00")
            && html.contains("1800.00"),
        "report page"
    );
    Ok(())
}
