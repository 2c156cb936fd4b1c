//! Lifecycle workflows end to end: each request kind driven through every
//! step by the right role over HTTP, then the assets' states, the event log
//! and the reports checked.

use anyhow::{anyhow, bail, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// A world with a second unit's staff and `n` tagged in-stock chairs.
pub struct Flow {
    pub w: World,
    pub staff_b: String,
    pub chairs: i64,
    /// (asset id, EPC) of the in-stock chairs.
    pub stock: Vec<(i64, String)>,
}

impl Flow {
    pub async fn new(n: usize) -> Result<Self> {
        let w = World::new().await?;
        let s = &w.server;
        s.post_ok(
            "/api/v1/users",
            &w.admin,
            json!({"username": "staff_b", "password": PASSWORD, "role": "unit_staff", "unit_id": w.unit_b}),
            201,
        )
        .await?;
        let staff_b = s.login("staff_b", PASSWORD).await?;
        let chairs = id(&s
            .post_ok(
                "/api/v1/categories",
                &w.admin,
                json!({"code": "0201", "name": "椅子"}),
                201,
            )
            .await?)?;
        let mut stock = Vec::new();
        for i in 0..n {
            let a = id(&s
                .post_ok(
                    "/api/v1/assets",
                    &w.admin,
                    json!({"asset_number": format!("{}", 30_001 + i), "name": "会议椅",
                        "category_id": chairs, "original_value_fen": 32000,
                        "holder_location_id": w.loc_1}),
                    201,
                )
                .await?)?;
            let epc = w.tag(a).await?;
            stock.push((a, epc));
        }
        Ok(Self {
            w,
            staff_b,
            chairs,
            stock,
        })
    }

    pub fn s(&self) -> &Server {
        &self.w.server
    }

    /// POSTs a request; must be 201.
    pub async fn file(&self, token: &str, body: Value) -> Result<Value> {
        self.s().post_ok("/api/v1/requests", token, body, 201).await
    }

    /// Takes a step; returns status and body.
    pub async fn step(&self, token: &str, req: i64, body: Value) -> Result<(StatusCode, Value)> {
        self.s()
            .post(&format!("/api/v1/requests/{req}/steps"), token, body)
            .await
    }

    /// A step that must succeed for `token`; first every other role (and
    /// the other unit) tries the same step and must be refused with 403,
    /// changing nothing.
    pub async fn ok(&self, token: &str, req: i64, body: Value) -> Result<Value> {
        let w = &self.w;
        // Appraisal may be recorded by a keeper or an approver.
        let shared = body["action"] == "appraise";
        let before = self.snapshot(req).await?;
        for other in [
            &w.admin,
            &w.approver,
            &w.finance,
            &w.keeper,
            &w.staff_a,
            &self.staff_b,
        ] {
            if other == token || (shared && (other == &w.keeper || other == &w.approver)) {
                continue;
            }
            let (st, e) = self.step(other, req, body.clone()).await?;
            if st != StatusCode::FORBIDDEN {
                bail!("{body} on request {req} by a wrong role: expected 403, got {st} {e}");
            }
        }
        if self.snapshot(req).await? != before {
            bail!("refused steps changed request {req}");
        }
        let (st, v) = self.step(token, req, body.clone()).await?;
        if st != StatusCode::OK {
            bail!("step {body} on request {req}: {st} {v}");
        }
        Ok(v)
    }

    pub async fn asset(&self, id: i64) -> Result<Value> {
        let v = self
            .s()
            .get_ok(&format!("/api/v1/assets/{id}"), &self.w.admin)
            .await?;
        Ok(if v["asset"].is_object() {
            v["asset"].clone()
        } else {
            v
        })
    }

    pub async fn state(&self, id: i64) -> Result<String> {
        Ok(self.asset(id).await?["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn timeline_actions(&self, id: i64) -> Result<Vec<String>> {
        let v = self
            .s()
            .get_ok(&format!("/api/v1/assets/{id}"), &self.w.admin)
            .await?;
        let events = v["timeline"]
            .as_array()
            .ok_or_else(|| anyhow!("no timeline in {v}"))?;
        Ok(events
            .iter()
            .filter_map(|e| e["action"].as_str().map(str::to_owned))
            .collect())
    }

    pub async fn report(&self, name: &str) -> Result<Value> {
        self.s()
            .get_ok(&format!("/api/v1/reports/{name}"), &self.w.approver)
            .await
    }

    /// Stage and number of steps of a request, to show nothing changed.
    pub async fn snapshot(&self, id: i64) -> Result<(Value, Option<usize>)> {
        let v = self
            .s()
            .get_ok(&format!("/api/v1/requests/{id}"), &self.w.admin)
            .await?;
        Ok((v["stage"].clone(), v["steps"].as_array().map(Vec::len)))
    }

    pub async fn verify_log(&self) -> Result<()> {
        let v = self
            .s()
            .get_ok("/api/v1/events/verify", &self.w.admin)
            .await?;
        if v["ok"] != json!(true) {
            bail!("event log broken: {v}");
        }
        Ok(())
    }
}

pub fn rid(v: &Value) -> Result<i64> {
    v["id"]
        .as_i64()
        .or(v["request"]["id"].as_i64())
        .ok_or_else(|| anyhow!("no request id in {v}"))
}

pub fn stage(v: &Value) -> &str {
    v["request"]["stage"]
        .as_str()
        .or(v["stage"].as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn loan_for_an_event_goes_out_and_comes_back_with_a_damage_case() -> Result<()> {
    let f = Flow::new(5).await?;
    let w = &f.w;
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": 3,
                "reason": "年终表彰大会", "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    let id = rid(&loan)?;
    assert_eq!(stage(&loan), "approval");
    assert_eq!(loan["awaiting"], "approver");
    // The approver's inbox holds it; the keeper's does not yet.
    let inbox = f.s().get_ok("/api/v1/inbox", &w.approver).await?;
    assert!(inbox["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|r| r["id"] == id)));
    let inbox = f.s().get_ok("/api/v1/inbox", &w.keeper).await?;
    assert!(!inbox["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|r| r["id"] == id)));

    let v = f
        .ok(
            &w.approver,
            id,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");

    // Desk scan: three chairs, one desk (wrong category) and a foreign tag.
    let desk_epc = w.tag(w.asset_wh).await?;
    let scanned: Vec<String> = f.stock[..3]
        .iter()
        .map(|(_, e)| e.clone())
        .chain([desk_epc.clone(), "E2801170000002AB12345678".into()])
        .collect();
    let dry = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": scanned, "dry_run": true}),
        )
        .await?;
    assert_eq!(dry["scan"]["matched"].as_array().map(Vec::len), Some(3));
    assert_eq!(dry["scan"]["extras"].as_array().map(Vec::len), Some(2));
    assert_eq!(dry["scan"]["committed"], false);
    assert_eq!(
        f.state(f.stock[0].0).await?,
        "in_stock",
        "dry run changed nothing"
    );

    // First scan only two chairs: shortfall of one, stage stays.
    let two: Vec<&String> = f.stock[..2].iter().map(|(_, e)| e).collect();
    let v = f
        .ok(&w.keeper, id, json!({"action": "check_out", "epcs": two}))
        .await?;
    assert_eq!(v["scan"]["shortfall"], 1);
    assert_eq!(stage(&v), "checkout");
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": [f.stock[0].1, f.stock[2].1]}),
        )
        .await?;
    assert_eq!(v["scan"]["matched"], json!([f.stock[2].0]));
    assert_eq!(
        v["scan"]["extras"][0]["reason"],
        "already checked out for this request"
    );
    assert_eq!(stage(&v), "receipt");
    assert_eq!(f.state(f.stock[0].0).await?, "in_transit");

    // Through the gate: checked-out chairs pass, an in-stock one alarms.
    let gate_batch = batch(
        "gate-1",
        1,
        vec![
            obs(&f.stock[0].1, "gate-1", "added"),
            obs(&f.stock[4].1, "gate-1", "added"),
        ],
    );
    f.s()
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            gate_batch,
            200,
        )
        .await?;
    let alarms = f.s().get_ok("/api/v1/alarms", &w.keeper).await?;
    let alarmed: Vec<i64> = alarms["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["asset_id"].as_i64())
        .collect();
    assert_eq!(alarmed, vec![f.stock[4].0]);

    let v = f
        .ok(&w.staff_a, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(stage(&v), "on_loan");
    let a0 = f.asset(f.stock[0].0).await?;
    assert_eq!(a0["state"], "on_loan");
    assert_eq!(a0["holder_unit_id"], w.unit_a);

    // Time passes: the due date is behind us, and the loan is overdue.
    backdate_loan(&w.server.db, id, "2026-01-05", "2026-01-06")?;
    let overdue = f.s().get_ok("/api/v1/loans/overdue", &w.keeper).await?;
    assert_eq!(overdue["total"], 1);
    assert_eq!(overdue["items"][0]["overdue"], true);
    let loans = f.report("loans").await?;
    assert_eq!(loans["totals"]["items_out"], 3);
    assert_eq!(loans["totals"]["overdue"], 1);

    // Partial return, one chair damaged: a damage case opens.
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "return_items", "items": [
                {"epc": f.stock[0].1, "condition": "good"},
                {"asset_id": f.stock[1].0, "condition": "damaged", "note": "椅腿断裂"}]}),
        )
        .await?;
    assert_eq!(stage(&v), "on_loan");
    let damage = v["opened"][0]
        .as_i64()
        .ok_or_else(|| anyhow!("no damage case in {v}"))?;
    let d = f
        .s()
        .get_ok(&format!("/api/v1/requests/{damage}"), &w.finance)
        .await?;
    assert_eq!(d["kind"], "damage");
    assert_eq!(d["stage"], "cause");
    assert_eq!(d["unit_id"], w.unit_a);
    let a1 = f.asset(f.stock[1].0).await?;
    assert_eq!(
        (a1["state"].as_str(), a1["condition"].as_str()),
        (Some("in_stock"), Some("damaged"))
    );
    assert_eq!(a1["holder_location_id"], w.loc_1);

    // Returning something not on this loan names it.
    let (st, e) = f
        .step(
            &w.keeper,
            id,
            json!({"action": "return_items", "items": [{"asset_id": f.stock[4].0, "condition": "good"}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "items[0]");

    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "return_items", "location_id": w.loc_2,
                "items": [{"epc": f.stock[2].1, "condition": "worn"}]}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(f.asset(f.stock[2].0).await?["holder_location_id"], w.loc_2);
    let overdue = f.s().get_ok("/api/v1/loans/overdue", &w.keeper).await?;
    assert_eq!(overdue["total"], 0);

    let actions = f.timeline_actions(f.stock[1].0).await?;
    for a in ["check_out", "confirm_loan", "return", "damage_reported"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    let steps: Vec<&str> = v["request"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "submit",
            "approve",
            "check_out",
            "check_out",
            "confirm_receipt",
            "return_items",
            "return_items"
        ]
    );
    f.verify_log().await
}

#[tokio::test]
async fn purchase_goes_through_finance_procurement_receiving_and_allocation() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let p = f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": 4,
                "budget_fen": 200000, "reason": "新办公室", "needed_by": "2099-12-31"}),
        )
        .await?;
    let id = rid(&p)?;
    let m = f
        .s()
        .get_ok(&format!("/api/v1/requests/{id}/matches"), &w.approver)
        .await?;
    assert_eq!(m["in_stock"], json!([]));
    f.ok(&w.approver, id, json!({"action": "approve"})).await?;
    let v = f
        .ok(
            &w.finance,
            id,
            json!({"action": "approve", "comment": "预算内"}),
        )
        .await?;
    assert_eq!(stage(&v), "procurement");
    let v = f
        .ok(
            &w.approver,
            id,
            json!({"action": "procure", "supplier": "某某家具公司", "contract_number": "ZC-2026-017",
                "unit_price_fen": 45000, "purchased_on": "2026-11-20"}),
        )
        .await?;
    assert_eq!(v["request"]["spent_fen"], 180000);
    assert_eq!(v["request"]["savings_fen"], 20000);
    assert_eq!(stage(&v), "receiving");

    // Count check: three arrived of four.
    let (st, e) = f
        .step(
            &w.keeper,
            id,
            json!({"action": "receive", "location_id": w.loc_1, "received": 3}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "received");
    // More than were bought: the range named is the quantity bought.
    let (st, e) = f
        .step(
            &w.keeper,
            id,
            json!({"action": "receive", "location_id": w.loc_1, "received": 5}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "received");
    assert_eq!(e["error"]["message"], "received must be 1..=4");
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "receive", "location_id": w.loc_1, "received": 4, "name": "会议椅",
                "asset_numbers": ["40001", "40002", "40003", "40004"]}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    let new_ids: Vec<i64> = v["request"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["asset_id"].as_i64())
        .collect();
    assert_eq!(new_ids.len(), 4);
    let a = f.asset(new_ids[0]).await?;
    assert_eq!(a["original_value_fen"], 45000);
    assert_eq!(a["state"], "in_stock");
    assert!(a["batch_id"].as_i64().is_some());
    // Tags commissioned at receiving, then the desk scan.
    let mut epcs = Vec::new();
    for a in &new_ids {
        epcs.push(w.tag(*a).await?);
    }
    let v = f
        .ok(&w.keeper, id, json!({"action": "check_out", "epcs": epcs}))
        .await?;
    assert_eq!(stage(&v), "receipt");
    // Another unit cannot confirm (or see) it.
    let (st, _) = f
        .step(&f.staff_b, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let v = f
        .ok(&w.staff_a, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(stage(&v), "completed");
    let a = f.asset(new_ids[3]).await?;
    assert_eq!(
        (a["state"].as_str(), a["holder_unit_id"].as_i64()),
        (Some("allocated"), Some(w.unit_a))
    );

    let r = f.report("procurement").await?;
    assert_eq!(r["totals"]["savings_fen"], 20000);
    assert_eq!(r["rows"][0][1], "ZC-2026-017");
    let csv = f
        .s()
        .http
        .get(format!(
            "{}/api/v1/reports/procurement?format=csv",
            f.s().base
        ))
        .bearer_auth(&w.finance)
        .send()
        .await?;
    assert_eq!(csv.status(), StatusCode::OK);
    let body = csv.bytes().await?;
    assert!(body.starts_with(b"\xEF\xBB\xBFrequest_id,batch_code"));
    f.verify_log().await
}

#[tokio::test]
async fn purchase_fulfilled_from_stock_and_an_idle_listing_instead() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    // Unit B lists a chair it holds as idle.
    let held_b = id(&f
        .s()
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": "50001", "name": "会议椅", "category_id": f.chairs,
                "original_value_fen": 30000, "holder_unit_id": w.unit_b}),
            201,
        )
        .await?)?;
    f.s()
        .post_ok(
            &format!("/api/v1/assets/{held_b}/idle-listing"),
            &f.staff_b,
            json!({"notes": "九成新"}),
            200,
        )
        .await?;
    let p = f
        .file(
            &w.staff_a,
            json!({"kind": "purchase", "category_id": f.chairs, "quantity": 2,
                "budget_fen": 100000, "reason": "补充"}),
        )
        .await?;
    let id = rid(&p)?;
    let m = f
        .s()
        .get_ok(&format!("/api/v1/requests/{id}/matches"), &w.approver)
        .await?;
    assert_eq!(m["in_stock"], json!([f.stock[0].0, f.stock[1].0]));
    assert_eq!(m["listed_idle"], json!([held_b]));
    let v = f
        .ok(
            &w.approver,
            id,
            json!({"action": "fulfil", "asset_ids": [f.stock[0].0, held_b], "comment": "调剂优先"}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    // The listing moved at once; the in-stock chair waits for the desk.
    let b = f.asset(held_b).await?;
    assert_eq!(
        (b["state"].as_str(), b["holder_unit_id"].as_i64()),
        (Some("allocated"), Some(w.unit_a))
    );
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": [f.stock[0].1]}),
        )
        .await?;
    assert_eq!(stage(&v), "receipt");
    f.ok(&w.staff_a, id, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(f.state(f.stock[0].0).await?, "allocated");
    f.verify_log().await
}

#[tokio::test]
async fn rejection_and_withdrawal_release_what_was_held() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let a = f.stock[0].0;
    let req = |due: &str| json!({"kind": "loan", "asset_ids": [a], "reason": "培训", "loan_start": "2099-12-01", "loan_due": due});
    let first = rid(&f.file(&w.staff_a, req("2099-12-03")).await?)?;
    // The asset is held by the first request.
    let (st, e) = f
        .s()
        .post("/api/v1/requests", &w.staff_a, req("2099-12-04"))
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(&format!("request {first}"))));
    // A reason is required to reject.
    let (st, e) = f
        .step(
            &w.approver,
            first,
            json!({"action": "reject", "comment": " "}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let v = f
        .ok(
            &w.approver,
            first,
            json!({"action": "reject", "comment": "库存另有安排"}),
        )
        .await?;
    assert_eq!(stage(&v), "rejected");
    assert_eq!(v["request"]["steps"][1]["comment"], "库存另有安排");
    // Released: a new request may hold it; the applicant withdraws it.
    let second = rid(&f.file(&w.staff_a, req("2099-12-04")).await?)?;
    let (st, _) = f
        .step(&w.approver, second, json!({"action": "withdraw"}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let v = f
        .ok(
            &w.staff_a,
            second,
            json!({"action": "withdraw", "comment": "活动取消"}),
        )
        .await?;
    assert_eq!(stage(&v), "withdrawn");
    // After a decision, withdrawal is a wrong-stage 409 naming the stage.
    let third = rid(&f.file(&w.staff_a, req("2099-12-05")).await?)?;
    f.ok(&w.approver, third, json!({"action": "approve"}))
        .await?;
    let (st, e) = f
        .step(&w.staff_a, third, json!({"action": "withdraw"}))
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stage checkout")),
        "{e}"
    );
    assert_eq!(f.state(a).await?, "in_stock");
    f.verify_log().await
}

#[tokio::test]
async fn virtual_warehouse_transfer_changes_the_holder_without_the_warehouse() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let a = w.asset_a; // held by unit A
                       // Unit B cannot see unit A's asset…
    let (st, _) = f
        .s()
        .get(&format!("/api/v1/assets/{a}"), &f.staff_b)
        .await?;
    assert!(
        st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND,
        "{st}"
    );
    // …nor list it; unit A can.
    let (st, _) = f
        .s()
        .post(
            &format!("/api/v1/assets/{a}/idle-listing"),
            &f.staff_b,
            json!({}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    f.s()
        .post_ok(
            &format!("/api/v1/assets/{a}/idle-listing"),
            &w.staff_a,
            json!({"notes": "会议室撤并，闲置办公桌"}),
            200,
        )
        .await?;
    let vw = f
        .s()
        .get_ok("/api/v1/virtual-warehouse", &f.staff_b)
        .await?;
    assert_eq!(vw["total"], 1);
    assert_eq!(vw["items"][0]["asset_id"], a);
    assert_eq!(vw["items"][0]["unit_name"], "单位A");
    // Unit A cannot ask for its own item; unit B asks.
    let (st, _) = f
        .s()
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "transfer", "asset_ids": [a]}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let t = rid(&f
        .file(
            &f.staff_b,
            json!({"kind": "transfer", "asset_ids": [a], "reason": "新设科室"}),
        )
        .await?)?;
    // The holder sees the request asking for its item but cannot decide it.
    let v = f
        .s()
        .get_ok(&format!("/api/v1/requests/{t}"), &w.staff_a)
        .await?;
    assert_eq!(v["other_unit_id"], w.unit_a);
    let (st, _) = f
        .s()
        .call(
            Method::DELETE,
            &format!("/api/v1/assets/{a}/idle-listing"),
            Some(&w.staff_a),
            None,
        )
        .await?;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a listing asked for cannot be withdrawn"
    );
    let v = f.ok(&w.approver, t, json!({"action": "approve"})).await?;
    assert_eq!(stage(&v), "completed");
    let asset = f.asset(a).await?;
    assert_eq!(
        (asset["state"].as_str(), asset["holder_unit_id"].as_i64()),
        (Some("allocated"), Some(w.unit_b))
    );
    let vw = f
        .s()
        .get_ok("/api/v1/virtual-warehouse", &f.staff_b)
        .await?;
    assert_eq!(vw["total"], 0);
    let actions = f.timeline_actions(a).await?;
    assert!(
        actions.ends_with(&["list_idle".into(), "requested".into(), "transfer".into()]),
        "{actions:?}"
    );
    f.verify_log().await
}

#[tokio::test]
async fn intake_is_received_by_scanning() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let epc = w.tag(w.asset_a).await?;
    let i = rid(&f
        .file(
            &w.staff_a,
            json!({"kind": "intake", "asset_ids": [w.asset_a], "reason": "临时机构撤销"}),
        )
        .await?)?;
    f.ok(&w.approver, i, json!({"action": "approve"})).await?;
    let v = f
        .ok(
            &w.keeper,
            i,
            json!({"action": "receive", "location_id": w.loc_2, "epcs": [epc, "300833B2DDD9014000000001"]}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(
        v["scan"]["extras"][0]["reason"],
        "unknown tag (not in the register)"
    );
    let a = f.asset(w.asset_a).await?;
    assert_eq!(
        (a["state"].as_str(), a["holder_location_id"].as_i64()),
        (Some("in_stock"), Some(w.loc_2))
    );
    f.verify_log().await
}

#[tokio::test]
async fn auction_disposal_ends_with_proceeds_in_the_treasury() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let items = [f.stock[0].0, f.stock[1].0];
    let d = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": items, "disposal_method": "auction", "reason": "超过使用年限"}),
        )
        .await?)?;
    assert_eq!(f.state(items[0]).await?, "disposal_pending");
    // Held for disposal: not lendable.
    let (st, _) = f
        .s()
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [items[0]], "loan_start": "2099-12-01", "loan_due": "2099-12-02"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    // Attach the appraisal report: a PDF is taken, HTML is not.
    let url = format!(
        "{}/api/v1/requests/{d}/documents?filename=评估报告.pdf",
        f.s().base
    );
    let up = f
        .s()
        .http
        .post(&url)
        .bearer_auth(&w.keeper)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 appraisal".to_vec())
        .send()
        .await?;
    assert_eq!(up.status(), StatusCode::CREATED);
    let doc: Value = up.json().await?;
    let bad = f
        .s()
        .http
        .post(&url)
        .bearer_auth(&w.keeper)
        .header("content-type", "text/html")
        .body(b"<script>".to_vec())
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let lying = f
        .s()
        .http
        .post(&url)
        .bearer_auth(&w.keeper)
        .header("content-type", "image/png")
        .body(b"%PDF-1.4 not a png".to_vec())
        .send()
        .await?;
    assert_eq!(lying.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let big = f
        .s()
        .http
        .post(&url)
        .bearer_auth(&w.keeper)
        .header("content-type", "application/pdf")
        .body([b"%PDF-".as_slice(), &vec![b'x'; 5 * 1024 * 1024]].concat())
        .send()
        .await?;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let got = f
        .s()
        .http
        .get(format!("{}/api/v1/documents/{}", f.s().base, doc["id"]))
        .bearer_auth(&w.finance)
        .send()
        .await?;
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert!(got.headers()["content-disposition"]
        .to_str()?
        .starts_with("attachment"));
    assert_eq!(got.bytes().await?.as_ref(), b"%PDF-1.4 appraisal");

    // Approval before appraisal is the wrong stage.
    let (st, _) = f.step(&w.approver, d, json!({"action": "approve"})).await?;
    assert_eq!(st, StatusCode::CONFLICT);
    f.ok(
        &w.keeper,
        d,
        json!({"action": "appraise", "appraised_value_fen": 20000, "appraiser": "某评估事务所", "report_ref": "PG-2026-88"}),
    )
    .await?;
    f.ok(&w.approver, d, json!({"action": "approve"})).await?;
    let v = f.ok(&w.finance, d, json!({"action": "approve"})).await?;
    assert_eq!(stage(&v), "sale");
    f.ok(
        &w.approver,
        d,
        json!({"action": "record_sale", "hammer_price_fen": 26500, "buyer": "张三"}),
    )
    .await?;
    let (st, e) = f
        .step(
            &w.finance,
            d,
            json!({"action": "confirm_remittance", "amount_fen": 20000, "treasury_ref": "JK-1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let v = f
        .ok(&w.finance, d, json!({"action": "confirm_remittance", "amount_fen": 26500, "treasury_ref": "JK-2026-301"}))
        .await?;
    assert_eq!(stage(&v), "completed");
    for a in items {
        assert_eq!(f.state(a).await?, "disposed");
    }
    let r = f.report("disposals").await?;
    assert_eq!(r["totals"]["remitted_fen"], 26500);
    assert_eq!(r["totals"]["assets_disposed"], 2);

    // A scrap disposal ends at finance; a rejected one goes back.
    let s = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": [f.stock[2].0], "disposal_method": "scrap"}),
        )
        .await?)?;
    f.ok(&w.keeper, s, json!({"action": "appraise", "appraised_value_fen": 0, "appraiser": "仓管", "report_ref": "BF-1"}))
        .await?;
    let v = f
        .ok(
            &w.approver,
            s,
            json!({"action": "reject", "comment": "尚可使用"}),
        )
        .await?;
    assert_eq!(stage(&v), "rejected");
    assert_eq!(f.state(f.stock[2].0).await?, "in_stock");
    f.verify_log().await
}

#[tokio::test]
async fn damage_and_loss_end_in_compensation_or_write_off() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    // Unit A reports its desk lost: human cause, compensation at original value.
    let lost = rid(&f
        .file(&w.staff_a, json!({"kind": "damage", "asset_ids": [w.asset_a], "loss": true, "reason": "搬迁中遗失"}))
        .await?)?;
    let v = f
        .ok(&w.approver, lost, json!({"action": "decide_cause", "cause": "human", "responsible": "单位A 李四", "remedy": "compensate"}))
        .await?;
    assert_eq!(v["request"]["compensation_fen"], 150000);
    assert_eq!(f.state(w.asset_a).await?, "lost");
    let (st, _) = f
        .step(
            &w.approver,
            lost,
            json!({"action": "confirm_payment", "amount_fen": 150000}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let owed = f.report("compensation").await?;
    assert_eq!(owed["totals"]["outstanding_fen"], 150000);
    f.ok(
        &w.finance,
        lost,
        json!({"action": "confirm_payment", "amount_fen": 150000, "receipt_ref": "SK-9"}),
    )
    .await?;
    assert_eq!(f.state(w.asset_a).await?, "disposed");

    // A keeper reports a damaged chair: repair at the party's cost.
    let dmg = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "damage", "asset_ids": [f.stock[0].0], "reason": "扶手开裂"}),
        )
        .await?)?;
    let (st, e) = f
        .step(&w.approver, dmg, json!({"action": "decide_cause", "cause": "human", "responsible": "外借单位", "remedy": "repair"}))
        .await?;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_fen"))
    );
    f.ok(&w.approver, dmg, json!({"action": "decide_cause", "cause": "human", "responsible": "外借单位", "remedy": "repair", "amount_fen": 8000}))
        .await?;
    assert_eq!(f.state(f.stock[0].0).await?, "under_repair");
    f.ok(
        &w.finance,
        dmg,
        json!({"action": "confirm_payment", "amount_fen": 8000}),
    )
    .await?;
    let a = f
        .s()
        .post_ok(
            &format!("/api/v1/assets/{}/repaired", f.stock[0].0),
            &w.keeper,
            json!({"comment": "已修复"}),
            200,
        )
        .await?;
    assert_eq!(
        (a["state"].as_str(), a["condition"].as_str()),
        (Some("in_stock"), Some("good"))
    );

    // Natural wear: written off through scrapping.
    let wear = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "damage", "asset_ids": [f.stock[1].0], "reason": "自然老化"}),
        )
        .await?)?;
    f.ok(
        &w.approver,
        wear,
        json!({"action": "decide_cause", "cause": "natural"}),
    )
    .await?;
    assert_eq!(f.state(f.stock[1].0).await?, "disposal_pending");
    f.ok(
        &w.finance,
        wear,
        json!({"action": "confirm_payment", "amount_fen": 0}),
    )
    .await?;
    assert_eq!(f.state(f.stock[1].0).await?, "disposed");

    let c = f.report("compensation").await?;
    assert_eq!(c["totals"]["owed_fen"], 158000);
    assert_eq!(c["totals"]["paid_fen"], 158000);
    assert_eq!(c["totals"]["outstanding_fen"], 0);
    f.verify_log().await
}

/// Every step by a wrong role is 403 and changes nothing; every step at a
/// wrong stage is 409 naming the stage.
#[tokio::test]
async fn wrong_roles_and_wrong_stages_are_refused_and_change_nothing() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let loan = rid(&f
        .file(&w.staff_a, json!({"kind": "loan", "asset_ids": [f.stock[0].0], "loan_start": "2099-12-01", "loan_due": "2099-12-02"}))
        .await?)?;
    let purchase = rid(&f
        .file(&w.staff_a, json!({"kind": "purchase", "category_id": f.chairs, "quantity": 1, "budget_fen": 1, "reason": "x"}))
        .await?)?;
    let before = (f.snapshot(loan).await?, f.snapshot(purchase).await?);
    let wrong_roles = [
        (&w.finance, loan, json!({"action": "approve"})),
        (&w.keeper, loan, json!({"action": "approve"})),
        (&w.staff_a, loan, json!({"action": "approve"})),
        (&w.admin, loan, json!({"action": "approve"})),
        (
            &w.finance,
            loan,
            json!({"action": "reject", "comment": "no"}),
        ),
        (
            &w.keeper,
            purchase,
            json!({"action": "fulfil", "asset_ids": [f.stock[0].0]}),
        ),
        (
            &w.staff_a,
            purchase,
            json!({"action": "reject", "comment": "no"}),
        ),
    ];
    for (token, id, body) in &wrong_roles {
        let (st, e) = f.step(token, *id, body.clone()).await?;
        assert_eq!(st, StatusCode::FORBIDDEN, "{body} on {id}: {e}");
        assert!(e["error"]["message"].is_string());
    }
    // Another unit's request is refused to unit B.
    let (st, _) = f
        .step(&f.staff_b, loan, json!({"action": "withdraw"}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let wrong_stages = [
        (
            &w.keeper,
            loan,
            json!({"action": "check_out", "epcs": [f.stock[0].1]}),
        ),
        (&w.staff_a, loan, json!({"action": "confirm_receipt"})),
        (
            &w.keeper,
            loan,
            json!({"action": "return_items", "items": [{"asset_id": 1, "condition": "good"}]}),
        ),
        (
            &w.finance,
            purchase,
            json!({"action": "confirm_remittance", "amount_fen": 1, "treasury_ref": "t"}),
        ),
        (
            &w.approver,
            purchase,
            json!({"action": "procure", "supplier": "s", "contract_number": "c", "unit_price_fen": 1}),
        ),
        (
            &w.approver,
            purchase,
            json!({"action": "record_sale", "hammer_price_fen": 1, "buyer": "b"}),
        ),
    ];
    for (token, id, body) in &wrong_stages {
        let (st, e) = f.step(token, *id, body.clone()).await?;
        assert_eq!(st, StatusCode::CONFLICT, "{body} on {id}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("at stage approval")),
            "{e}"
        );
    }
    assert_eq!(
        (f.snapshot(loan).await?, f.snapshot(purchase).await?),
        before
    );
    // Asset actions in a wrong state name the state.
    let (st, e) = f
        .s()
        .post(
            &format!("/api/v1/assets/{}/repaired", f.stock[0].0),
            &w.keeper,
            json!({}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is in_stock")),
        "{e}"
    );
    // Unknown actions and fields name the problem.
    let (st, e) = f
        .step(&w.approver, loan, json!({"action": "aprove"}))
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (st, e) = f
        .step(&w.approver, loan, json!({"action": "approve", "budget": 1}))
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(f.state(f.stock[0].0).await?, "in_stock");
    f.verify_log().await
}

#[tokio::test]
async fn fifty_concurrent_borrowers_of_one_asset_one_wins() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let asset = f.stock[0].0;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let http = f.s().http.clone();
        let url = format!("{}/api/v1/requests", f.s().base);
        let token = if i % 2 == 0 {
            w.staff_a.clone()
        } else {
            f.staff_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
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
    let mut won = 0;
    let mut conflict = 0;
    for t in tasks {
        match t.await?? {
            StatusCode::CREATED => won += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => bail!("unexpected {other}"),
        }
    }
    assert_eq!((won, conflict), (1, 49));
    let all = f
        .s()
        .get_ok("/api/v1/requests?kind=loan", &w.approver)
        .await?;
    assert_eq!(all["total"], 1);
    Ok(())
}

/// A request form posted with a mistake comes back with the reason in
/// Chinese: beside the field it names, or above the form when it names
/// none. The text is the reason's own, never English.
#[tokio::test]
async fn form_errors_are_shown_in_chinese_beside_their_field() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let post = |body: String| {
        s.http
            .post(format!("{}/requests/new/loan", s.base))
            .bearer_auth(&w.staff_a)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let dates = "reason=%E5%80%9F%E7%94%A8&loan_start=2099-01-05&loan_due=2099-02-05";

    // The same asset twice: blamed on the assets field.
    let page = post(format!("asset_ids={a}%2C{a}&{dates}", a = w.asset_wh)).await?;
    let html = page.text().await?;
    let beside = r#"<span class="field-error" role="alert" data-field="asset_ids">同一资产不能重复选择</span>"#;
    if !html.contains(beside) {
        bail!("no Chinese error beside asset_ids:\n{html}");
    }

    // An asset the unit already holds cannot be borrowed: a state rule,
    // no field, shown above the form with the state in Chinese.
    let page = post(format!("asset_ids={}&{dates}", w.asset_a)).await?;
    let html = page.text().await?;
    // Named by its number (资产编号 1001), not its database id.
    let above = "资产 1001 当前为「已调配」，只能申请在库的资产";
    if !html.contains(above) {
        bail!("no Chinese state error above the form:\n{html}");
    }
    if html.contains("only in-stock") {
        bail!("English error text on a Chinese page:\n{html}");
    }

    // A step form: a lost item cannot be repaired, said beside the remedy.
    let lost = rid(&s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "damage", "asset_ids": [w.asset_a], "loss": true, "reason": "搬迁中遗失"}),
            201,
        )
        .await?)?;
    let page = s
        .http
        .post(format!("{}/requests/{lost}/step", s.base))
        .bearer_auth(&w.approver)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=decide_cause&cause=human&responsible=%E5%BC%A0%E4%B8%89&remedy=repair&amount=100")
        .send()
        .await?;
    let html = page.text().await?;
    let beside = r#"<span class="field-error" role="alert" data-field="remedy">丢失的资产不能选择维修</span>"#;
    if !html.contains(beside) {
        bail!("no Chinese step error beside remedy:\n{html}");
    }
    Ok(())
}
