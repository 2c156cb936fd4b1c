//! Idle detection (闲置发现) end to end: the agency sets the rules, a scan
//! records findings (an asset no reader has seen for the days, an overdue
//! loan, a long idle listing), a re-scan does not duplicate them, a read
//! closes one, and a unit's staff see only their own unit's. Time passes
//! the way `support::backdate_loan` makes it: dates are moved back in the
//! database (the server has no settable clock); the scan is called over
//! HTTP, never left to the daily timer.

use anyhow::{anyhow, Result};
use chrono::{NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::{rid, stage, Flow};

const DAY_MS: i64 = 86_400_000;

async fn put_rules(s: &Server, token: &str, body: Value) -> Result<(StatusCode, Value)> {
    s.call(Method::PUT, "/api/v1/idle-rules", Some(token), Some(body))
        .await
}

async fn scan(s: &Server, token: &str) -> Result<Value> {
    s.post_ok("/api/v1/idle-findings/scan", token, json!({}), 200)
        .await
}

async fn findings(s: &Server, token: &str, query: &str) -> Result<Vec<Value>> {
    let v = s
        .get_ok(&format!("/api/v1/idle-findings{query}"), token)
        .await?;
    v.as_array()
        .cloned()
        .ok_or_else(|| anyhow!("findings are not a list: {v}"))
}

/// (asset, rule) of each finding, sorted.
fn keys(list: &[Value]) -> Vec<(i64, String)> {
    let mut k: Vec<(i64, String)> = list
        .iter()
        .map(|f| {
            (
                f["asset_id"].as_i64().unwrap_or(-1),
                f["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    k.sort();
    k
}

/// A read of `epc` by `reader` just now (`support::obs` is dated in the past).
fn read_now(epc: &str, reader: &str) -> Value {
    let mut o = obs(epc, reader, "seen");
    let now = Utc::now();
    o["first_seen"] = json!((now - chrono::TimeDelta::seconds(2)).to_rfc3339());
    o["last_seen"] = json!(now.to_rfc3339());
    o
}

/// Moves a time column of one row back by `days`.
fn age(s: &Server, table: &str, column: &str, key: &str, id: i64, days: i64) -> Result<()> {
    test_support::db_execute(
        &s.db,
        &format!(
            "UPDATE {table} SET {column} = {column} - {} WHERE {key} = {id}",
            days * DAY_MS
        ),
    )?;
    Ok(())
}

#[tokio::test]
async fn unseen_overdue_and_long_listed_assets_raise_findings_once_and_a_read_closes_one(
) -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let s = f.s();

    // The rules: defaults until set; bad days are refused naming the field.
    let rules = s.get_ok("/api/v1/idle-rules", &w.staff_a).await?;
    assert_eq!(rules["held_unseen_days"], 180);
    let (st, e) = put_rules(
        s,
        &w.admin,
        json!({"held_unseen_days": -5, "stock_unseen_days": 365, "listed_days": 10,
            "overdue_loans": true}),
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "held_unseen_days", "{e}");
    let (st, e) = put_rules(
        s,
        &w.approver,
        json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 0,
            "overdue_loans": true}),
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "listed_days", "{e}");
    let good = json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 10,
        "overdue_loans": true, "unused_days": 20, "answer_days": 10});
    let (st, _) = put_rules(s, &w.staff_a, good.clone()).await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "unit staff do not set the rules");
    let (st, _) = put_rules(s, &w.keeper, good.clone()).await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "keepers do not set the rules");
    let (st, v) = put_rules(s, &w.approver, good.clone()).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(s.get_ok("/api/v1/idle-rules", &w.admin).await?, good);
    let (st, _) = s
        .post("/api/v1/idle-findings/scan", &w.staff_a, json!({}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "unit staff do not run scans");

    // Nothing is idle yet: every asset was registered just now.
    let v = scan(s, &w.admin).await?;
    assert_eq!(
        v,
        json!({"opened": 0, "still_open": 0, "closed": 0, "escalated": 0})
    );

    // Unit A's desk has not been read for 40 days (never: registered 40
    // days ago); the rule says 30.
    age(s, "assets", "created_at", "id", w.asset_a, 40)?;
    let v = scan(s, &w.approver).await?;
    assert_eq!(v["opened"], 1, "{v}");
    let open = findings(s, &w.admin, "?open=true").await?;
    assert_eq!(keys(&open), vec![(w.asset_a, "unseen_held".to_owned())]);
    assert_eq!(open[0]["unit_id"], w.unit_a);
    assert_eq!(open[0]["days_idle"], 40);
    assert_eq!(open[0]["value_fen"], 150000);
    assert_eq!(open[0]["open"], true);
    // A re-scan finds the same and records nothing new.
    let v = scan(s, &w.admin).await?;
    assert_eq!(
        v,
        json!({"opened": 0, "still_open": 1, "closed": 0, "escalated": 0})
    );
    assert_eq!(findings(s, &w.admin, "").await?.len(), 1);

    // Unit A's staff see it; unit B's see nothing and may not ask for A's.
    assert_eq!(keys(&findings(s, &w.staff_a, "").await?), keys(&open));
    assert!(findings(s, &f.staff_b, "").await?.is_empty());
    let (st, _) = s
        .get(
            &format!("/api/v1/idle-findings?unit_id={}", w.unit_a),
            &f.staff_b,
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = s
        .get("/api/v1/idle-findings?rule=forgotten", &w.admin)
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "rule", "{e}");

    // A handheld reads the desk: the next scan closes the finding.
    let epc = w.tag(w.asset_a).await?;
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch("handheld-1", 1, vec![read_now(&epc, "handheld-1")]),
        200,
    )
    .await?;
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["closed"], 1, "{v}");
    assert!(findings(s, &w.admin, "?open=true").await?.is_empty());
    let closed = findings(s, &w.admin, "?open=false").await?;
    assert_eq!(keys(&closed), vec![(w.asset_a, "unseen_held".to_owned())]);
    assert!(closed[0]["closed_at"].is_string(), "{}", closed[0]);

    // A loan to unit A, out and past its due date: the borrower's finding.
    let (chair, chair_epc) = f.stock[0].clone();
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": 1,
                "reason": "调研活动", "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    let id = rid(&loan)?;
    for (token, body) in [
        (&w.approver, json!({"action": "approve", "comment": "同意"})),
        (
            &w.keeper,
            json!({"action": "check_out", "epcs": [chair_epc]}),
        ),
        (&w.staff_a, json!({"action": "confirm_receipt"})),
    ] {
        let (st, v) = f.step(token, id, body.clone()).await?;
        assert_eq!(st, StatusCode::OK, "{body}: {v}");
    }
    let (_, v) = s.get(&format!("/api/v1/requests/{id}"), &w.admin).await?;
    assert_eq!(stage(&v), "on_loan");
    backdate_loan(&s.db, id, "2026-01-05", "2026-01-06")?;

    // Unit B lists its desk in the virtual warehouse; 11 days pass untaken.
    s.post_ok(
        &format!("/api/v1/assets/{}/idle-listing", w.asset_b),
        &f.staff_b,
        json!({"notes": "九成新"}),
        200,
    )
    .await?;
    age(s, "idle_listings", "listed_at", "asset_id", w.asset_b, 11)?;

    let v = scan(s, &w.admin).await?;
    assert_eq!(v["opened"], 2, "{v}");
    let open = findings(s, &w.admin, "?open=true").await?;
    let mut expected = vec![
        (w.asset_b, "listed_untaken".to_owned()),
        (chair, "overdue_loan".to_owned()),
    ];
    expected.sort();
    assert_eq!(keys(&open), expected);
    let today = (Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let due = NaiveDate::from_ymd_opt(2026, 1, 6).ok_or_else(|| anyhow!("bad date"))?;
    let overdue = findings(s, &w.admin, "?rule=overdue_loan").await?;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["unit_id"], w.unit_a);
    assert_eq!(overdue[0]["days_idle"], (today - due).num_days());
    assert_eq!(overdue[0]["value_fen"], 32000);
    let listed = findings(s, &f.staff_b, "?open=true").await?;
    assert_eq!(
        keys(&listed),
        vec![(w.asset_b, "listed_untaken".to_owned())]
    );
    assert_eq!(listed[0]["days_idle"], 11);
    // Unit A's staff see their overdue loan and their closed finding, not B's listing.
    let mine = findings(s, &w.staff_a, "").await?;
    assert!(mine.iter().all(|f| f["unit_id"] == w.unit_a), "{mine:?}");
    assert_eq!(mine.len(), 2);

    // Unlisting (the unit takes it back into use) closes the listing's finding.
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/assets/{}/idle-listing", w.asset_b),
            Some(&f.staff_b),
            None,
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let v = scan(s, &w.admin).await?;
    assert_eq!(
        v,
        json!({"opened": 0, "still_open": 1, "closed": 1, "escalated": 0})
    );
    Ok(())
}

/// A desk held by `unit`, registered `days` ago and never read since.
async fn held_unseen(w: &World, number: &str, unit: i64, days: i64) -> Result<i64> {
    let s = &w.server;
    let a = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": number, "name": format!("桌子 {number}"),
                "category_id": w.category, "original_value_fen": 80000,
                "purchase_date": "2024-03-01", "holder_unit_id": unit}),
            201,
        )
        .await?)?;
    age(s, "assets", "created_at", "id", a, days)?;
    Ok(a)
}

async fn finding(s: &Server, token: &str, id: i64) -> Result<Value> {
    s.get_ok(&format!("/api/v1/idle-findings/{id}"), token)
        .await
}

/// The open finding of `asset` under `rule` (there must be exactly one).
async fn open_finding_of(s: &Server, token: &str, asset: i64, rule: &str) -> Result<Value> {
    let list = findings(s, token, &format!("?open=true&rule={rule}")).await?;
    let mine: Vec<&Value> = list.iter().filter(|f| f["asset_id"] == asset).collect();
    match mine.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(anyhow!(
            "asset {asset}: {} open {rule} findings",
            mine.len()
        )),
    }
}

fn step_actions(f: &Value) -> Vec<String> {
    f["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn answer(s: &Server, token: &str, id: i64, body: Value) -> Result<(StatusCode, Value)> {
    s.post(&format!("/api/v1/idle-findings/{id}/answer"), token, body)
        .await
}

#[tokio::test]
async fn an_ignored_finding_escalates_and_the_agencys_reclaim_brings_the_asset_back_with_its_trail(
) -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let s = f.s();
    put_rules(
        s,
        &w.approver,
        json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 10,
            "overdue_loans": true, "unused_days": 20, "answer_days": 10}),
    )
    .await?;
    // Unit A's desk has not been read for 40 days.
    age(s, "assets", "created_at", "id", w.asset_a, 40)?;
    let epc = w.tag(w.asset_a).await?;
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["opened"], 1, "{v}");
    let open = open_finding_of(s, &w.staff_a, w.asset_a, "unseen_held").await?;
    let fid = open["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no id: {open}"))?;
    assert_eq!(open["must_act"], "unit", "{open}");
    let opened = chrono::DateTime::parse_from_rfc3339(open["opened_at"].as_str().unwrap_or(""))?;
    let due = chrono::DateTime::parse_from_rfc3339(open["due_at"].as_str().unwrap_or(""))?;
    assert_eq!((due - opened).num_days(), 10, "{open}");
    // The warnings board (预警) lists it for unit A's staff to answer.
    let idle_warning = |board: &Value| -> Option<Value> {
        board["items"].as_array().and_then(|v| {
            v.iter()
                .find(|x| x["kind"] == "idle_finding" && x["subject"]["id"] == w.asset_a)
                .cloned()
        })
    };
    let board = s.get_ok("/api/v1/warnings", &w.staff_a).await?;
    let warning = idle_warning(&board).ok_or_else(|| anyhow!("no idle warning: {board}"))?;
    assert_eq!(warning["who_acts"]["role"], "unit_staff", "{warning}");
    assert_eq!(warning["who_acts"]["unit_id"], w.unit_a, "{warning}");
    assert_eq!(warning["value_fen"], open["value_fen"], "{warning}");
    let board = s.get_ok("/api/v1/warnings", &f.staff_b).await?;
    assert!(idle_warning(&board).is_none(), "unit B sees A's: {board}");

    // Unit B's staff can neither see nor answer it.
    let (st, _) = s
        .get(&format!("/api/v1/idle-findings/{fid}"), &f.staff_b)
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = answer(
        s,
        &f.staff_b,
        fid,
        json!({"action": "explain", "text": "不是我们的"}),
    )
    .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Within the deadline nothing escalates.
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["escalated"], 0, "{v}");
    // Unit A lets the deadline pass (11 days).
    age(s, "idle_findings", "due_at", "id", fid, 11)?;
    // The daily scan's command-line twin escalates it.
    let v: Value = serde_json::from_str(&s.process.admin(&["scan-idle"])?)?;
    assert_eq!(v["escalated"], 1, "{v}");
    let esc = finding(s, &w.approver, fid).await?;
    assert_eq!(esc["must_act"], "agency", "{esc}");
    assert!(esc["escalated_at"].is_string(), "{esc}");
    assert_eq!(step_actions(&esc), ["opened", "escalated"]);
    assert_eq!(esc["steps"][1]["actor"], "system", "{esc}");
    // Escalated, the warning now waits for the agency's approvers.
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    let warning = idle_warning(&board).ok_or_else(|| anyhow!("no idle warning: {board}"))?;
    assert_eq!(warning["who_acts"]["role"], "approver", "{warning}");
    // A re-scan does not escalate it twice.
    assert_eq!(scan(s, &w.admin).await?["escalated"], 0);

    // Only the agency's approvers order a reclaim, with a reason.
    for token in [&w.staff_a, &w.keeper, &w.finance, &f.staff_b] {
        let (st, e) = s
            .post(
                &format!("/api/v1/idle-findings/{fid}/reclaim"),
                token,
                json!({"reason": "收回"}),
            )
            .await?;
        assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    }
    let (st, e) = s
        .post(
            &format!("/api/v1/idle-findings/{fid}/reclaim"),
            &w.approver,
            json!({"reason": "  "}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "reason", "{e}");
    let done = s
        .post_ok(
            &format!("/api/v1/idle-findings/{fid}/reclaim"),
            &w.approver,
            json!({"reason": "逾期未说明，收回公物仓"}),
            200,
        )
        .await?;
    assert_eq!(done["outcome"], "reclaimed", "{done}");
    assert_eq!(done["open"], false);
    let req = done["request_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no request: {done}"))?;
    // Closed: no second answer or order.
    let (st, e) = answer(
        s,
        &w.staff_a,
        fid,
        json!({"action": "explain", "text": "晚了"}),
    )
    .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "finding_closed", "{e}");

    // The reclaim is an intake of unit A's, approved by the agency: the
    // unit cannot withdraw or reject it; the keeper receives it.
    let (_, r) = s
        .get(&format!("/api/v1/requests/{req}"), &w.staff_a)
        .await?;
    assert_eq!(r["kind"], "intake", "{r}");
    assert_eq!(r["unit_id"], w.unit_a, "{r}");
    assert_eq!(stage(&r), "receiving");
    for body in [
        json!({"action": "withdraw", "comment": "不交"}),
        json!({"action": "reject", "comment": "不交"}),
    ] {
        let (st, e) = f.step(&w.staff_a, req, body).await?;
        assert!(
            st == StatusCode::CONFLICT || st == StatusCode::FORBIDDEN,
            "{st} {e}"
        );
    }
    let v = f
        .ok(
            &w.keeper,
            req,
            json!({"action": "receive", "location_id": w.loc_2, "epcs": [epc]}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    let a = f.asset(w.asset_a).await?;
    assert_eq!(
        (a["state"].as_str(), a["holder_location_id"].as_i64()),
        (Some("in_stock"), Some(w.loc_2))
    );
    // The whole trail: the order and the intake in the asset's history,
    // the request's steps, the finding's steps; the chain verifies.
    let actions = f.timeline_actions(w.asset_a).await?;
    let tail: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| ["requested", "reclaim_ordered", "hand_in"].contains(a))
        .collect();
    assert_eq!(
        tail,
        ["requested", "reclaim_ordered", "hand_in"],
        "{actions:?}"
    );
    let steps: Vec<String> = r["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(steps, ["submit", "approve"], "{r}");
    let closed = finding(s, &w.admin, fid).await?;
    assert_eq!(step_actions(&closed), ["opened", "escalated", "reclaimed"]);
    assert_eq!(closed["steps"][2]["actor"], "user:approver", "{closed}");
    assert_eq!(closed["steps"][2]["request_id"], req, "{closed}");
    f.verify_log().await?;
    // Back in stock: no new finding at the next scan.
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["opened"], 0, "{v}");
    Ok(())
}

#[tokio::test]
async fn each_answer_closes_its_finding_and_marks_raise_their_own() -> Result<()> {
    let f = Flow::new(0).await?;
    let w = &f.w;
    let s = f.s();
    put_rules(
        s,
        &w.approver,
        json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 10,
            "overdue_loans": true, "unused_days": 20, "answer_days": 10}),
    )
    .await?;
    let explain = held_unseen(w, "2001", w.unit_a, 40).await?;
    let list = held_unseen(w, "2002", w.unit_a, 40).await?;
    let hand_in = held_unseen(w, "2003", w.unit_a, 40).await?;
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["opened"], 3, "{v}");
    let id_of = |f: &Value| f["id"].as_i64().unwrap_or(-1);

    // Explain: text required; the finding closes with it.
    let fe = id_of(&open_finding_of(s, &w.staff_a, explain, "unseen_held").await?);
    let (st, e) = answer(s, &w.staff_a, fe, json!({"action": "explain", "text": ""})).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "text", "{e}");
    let (st, e) = answer(s, &w.staff_a, fe, json!({"action": "shrug"})).await?;
    assert!(st.is_client_error(), "{st} {e}");
    let (st, e) = answer(s, &w.staff_a, fe, json!({"action": "explain", "text": 5})).await?;
    assert!(st.is_client_error(), "{st} {e}");
    assert_eq!(e["error"]["field"], "text", "{e}");
    let (st, v) = answer(
        s,
        &w.staff_a,
        fe,
        json!({"action": "explain", "text": "备用会议桌，每季度使用"}),
    )
    .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["outcome"].as_str(), v["open"].as_bool()),
        (Some("explained"), Some(false))
    );
    assert_eq!(v["answer"], "备用会议桌，每季度使用");
    assert_eq!(v["answered_by"], "user:staff_a");
    assert_eq!(step_actions(&v), ["opened", "explained"]);

    // List: the asset goes to the virtual warehouse.
    let fl = id_of(&open_finding_of(s, &w.staff_a, list, "unseen_held").await?);
    let (st, v) = answer(
        s,
        &w.staff_a,
        fl,
        json!({"action": "list", "notes": "可调剂"}),
    )
    .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["outcome"], "listed");
    assert_eq!(f.state(list).await?, "listed_idle");

    // Hand in: an intake request of the unit's, at approval.
    let fh = id_of(&open_finding_of(s, &w.staff_a, hand_in, "unseen_held").await?);
    let (st, v) = answer(s, &w.staff_a, fh, json!({"action": "hand_in"})).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["outcome"], "handed_in");
    let req = v["request_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no request: {v}"))?;
    let (_, r) = s
        .get(&format!("/api/v1/requests/{req}"), &w.staff_a)
        .await?;
    assert_eq!(
        (r["kind"].as_str(), stage(&r)),
        (Some("intake"), "approval")
    );

    // None of the three is raised again: the explanation holds for the
    // rule's days, the listing and the pending hand-in deal with theirs.
    let v = scan(s, &w.admin).await?;
    assert_eq!(
        (v["opened"].as_i64(), v["still_open"].as_i64()),
        (Some(0), Some(0)),
        "{v}"
    );
    assert!(findings(s, &w.staff_a, "?open=true").await?.is_empty());
    // Once the explanation is older than the rule's days, it is asked again.
    age(s, "idle_findings", "answered_at", "id", fe, 31)?;
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["opened"], 1, "{v}");
    open_finding_of(s, &w.staff_a, explain, "unseen_held").await?;

    // Marking unused: only the holding unit, only what it holds; marked
    // for the rule's days it is idle; back in use, the finding resolves.
    let mark = |token: &str, asset: i64, body: Value| {
        let token = token.to_owned();
        async move {
            s.post(&format!("/api/v1/assets/{asset}/usage"), &token, body)
                .await
        }
    };
    let (st, _) = mark(&f.staff_b, w.asset_a, json!({"unused": true})).await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = mark(&w.keeper, w.asset_wh, json!({"unused": true})).await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    let (st, v) = mark(
        &w.staff_a,
        w.asset_a,
        json!({"unused": true, "note": "人员调离"}),
    )
    .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, e) = mark(&w.staff_a, list, json!({"unused": true})).await?;
    assert_eq!(st, StatusCode::CONFLICT, "listed, not held in use: {e}");
    let marks = s.get_ok("/api/v1/unused-marks", &w.staff_a).await?;
    assert_eq!(marks[0]["asset_id"], w.asset_a, "{marks}");
    assert_eq!(
        s.get_ok("/api/v1/unused-marks", &f.staff_b).await?,
        json!([])
    );
    assert_eq!(scan(s, &w.admin).await?["opened"], 0);
    age(
        s,
        "asset_unused_marks",
        "marked_at",
        "asset_id",
        w.asset_a,
        21,
    )?;
    assert_eq!(scan(s, &w.admin).await?["opened"], 1);
    let fm = open_finding_of(s, &w.staff_a, w.asset_a, "marked_unused").await?;
    assert_eq!(fm["days_idle"], 21);
    let (st, v) = mark(&w.staff_a, w.asset_a, json!({"unused": false})).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let v = scan(s, &w.admin).await?;
    assert_eq!(v["closed"], 1, "{v}");
    let fm = finding(s, &w.staff_a, fm["id"].as_i64().unwrap_or(-1)).await?;
    assert_eq!(fm["outcome"], "resolved", "{fm}");
    let actions = f.timeline_actions(w.asset_a).await?;
    assert!(
        actions.ends_with(&["marked_unused".into(), "marked_in_use".into()]),
        "{actions:?}"
    );
    // A mark ends when the asset leaves the unit: 2003, marked while its
    // hand-in waits, is received into stock.
    let (st, v) = mark(&w.staff_a, hand_in, json!({"unused": true})).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let marks = s.get_ok("/api/v1/unused-marks", &w.staff_a).await?;
    assert_eq!(marks[0]["asset_id"], hand_in, "{marks}");
    let (st, v) = f
        .step(&w.approver, req, json!({"action": "approve"}))
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = f
        .step(
            &w.keeper,
            req,
            json!({"action": "receive", "location_id": w.loc_2, "asset_ids": [hand_in]}),
        )
        .await?;
    assert_eq!((st, stage(&v)), (StatusCode::OK, "completed"), "{v}");
    assert_eq!(
        s.get_ok("/api/v1/unused-marks", &w.staff_a).await?,
        json!([])
    );

    // An overdue loan is explained or returned, not listed or handed in.
    let chair = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": "3001", "name": "椅子", "category_id": f.chairs,
                "original_value_fen": 32000, "holder_location_id": w.loc_1}),
            201,
        )
        .await?)?;
    let chair_epc = w.tag(chair).await?;
    let loan = rid(&f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [chair], "reason": "调研活动",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?)?;
    for (token, body) in [
        (&w.approver, json!({"action": "approve"})),
        (
            &w.keeper,
            json!({"action": "check_out", "epcs": [chair_epc]}),
        ),
        (&w.staff_a, json!({"action": "confirm_receipt"})),
    ] {
        let (st, v) = f.step(token, loan, body.clone()).await?;
        assert_eq!(st, StatusCode::OK, "{body}: {v}");
    }
    backdate_loan(&s.db, loan, "2026-01-05", "2026-01-06")?;
    scan(s, &w.admin).await?;
    let fo = id_of(&open_finding_of(s, &w.staff_a, chair, "overdue_loan").await?);
    for body in [json!({"action": "list"}), json!({"action": "hand_in"})] {
        let (st, e) = answer(s, &w.staff_a, fo, body).await?;
        assert_eq!(st, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["error"]["code"], "answer_not_for", "{e}");
    }
    let (st, e) = s
        .post(
            &format!("/api/v1/idle-findings/{fo}/reclaim"),
            &w.approver,
            json!({"reason": "收回"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "not_reclaimable", "{e}");

    // The year's idle report per unit: count, value, days, outcomes.
    let year = (Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y")
        .to_string();
    let r = s
        .get_ok(&format!("/api/v1/reports/idle?year={year}"), &w.approver)
        .await?;
    assert_eq!(r["dated_by"], "opened", "{r}");
    let cols: Vec<&str> = r["columns"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let rows = r["rows"].as_array().cloned().unwrap_or_default();
    let row = rows
        .iter()
        .find(|row| row[0] == w.unit_a)
        .ok_or_else(|| anyhow!("no row for unit A: {r}"))?;
    let cell = |name: &str| cols.iter().position(|c| *c == name).map(|i| row[i].clone());
    // 2001 (twice), 2002, 2003, the desk marked unused, the overdue chair.
    assert_eq!(cell("findings"), Some(json!(6)), "{r}");
    assert_eq!(
        cell("value_fen"),
        Some(json!(4 * 80000 + 150000 + 32000)),
        "{r}"
    );
    for (name, n) in [
        ("open", 2),
        ("escalated", 0),
        ("explained", 1),
        ("listed", 1),
        ("handed_in", 1),
        ("reclaimed", 0),
        ("resolved", 1),
    ] {
        assert_eq!(cell(name), Some(json!(n)), "{name}: {r}");
    }
    assert_eq!(r["totals"]["findings"], 6, "{r}");
    let last = s
        .get_ok(
            &format!(
                "/api/v1/reports/idle?year={}",
                year.parse::<i32>().unwrap_or(2000) - 1
            ),
            &w.approver,
        )
        .await?;
    assert_eq!(last["rows"], json!([]), "{last}");
    f.verify_log().await
}

#[tokio::test]
async fn the_units_findings_page_answers_in_chinese_and_the_agency_reclaims_from_its_own(
) -> Result<()> {
    use crate::pages_words::{check_page, client, page, post_form, visible_text};
    let f = Flow::new(0).await?;
    let w = &f.w;
    let s = f.s();
    let c = client()?;
    let base = &s.base;
    put_rules(
        s,
        &w.approver,
        json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 10,
            "overdue_loans": true, "unused_days": 20, "answer_days": 10}),
    )
    .await?;
    age(s, "assets", "created_at", "id", w.asset_a, 40)?;
    let other = held_unseen(w, "2001", w.unit_a, 40).await?;
    scan(s, &w.admin).await?;
    let fid = open_finding_of(s, &w.staff_a, w.asset_a, "unseen_held").await?["id"]
        .as_i64()
        .unwrap_or(-1);
    let other_fid = open_finding_of(s, &w.staff_a, other, "unseen_held").await?["id"]
        .as_i64()
        .unwrap_or(-1);

    // The unit's page: its findings in words, each with its answer form.
    let text = check_page(
        &c,
        base,
        "/idle-findings",
        &w.staff_a,
        &[
            "闲置问责",
            "1001",
            "桌子 1001",
            "单位持有资产长期未读到",
            "待单位答复",
            "说明原因",
        ],
    )
    .await?;
    assert!(text.contains("2001"), "{text}");
    // Unit B's staff see none of it, and cannot open it.
    let (_, html) = page(&c, base, "/idle-findings", &f.staff_b, "zh").await?;
    let text_b = visible_text(&html);
    assert!(
        !text_b.contains("1001") && !text_b.contains("2001"),
        "{text_b}"
    );
    let (st, _) = page(&c, base, &format!("/idle-findings/{fid}"), &f.staff_b, "zh").await?;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // An empty explanation is refused on the page, in Chinese.
    let (st, _, html) = post_form(
        &c,
        base,
        &format!("/idle-findings/{fid}/answer"),
        &w.staff_a,
        &[("action", "explain"), ("text", "")],
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        visible_text(&html).contains("说明"),
        "{}",
        visible_text(&html)
    );
    // The answer closes it; its page tells the record in words.
    let (st, to, _) = post_form(
        &c,
        base,
        &format!("/idle-findings/{fid}/answer"),
        &w.staff_a,
        &[("action", "explain"), ("text", "备用会议桌")],
    )
    .await?;
    assert_eq!(
        (st, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/idle-findings/{fid}").as_str()
        )
    );
    check_page(
        &c,
        base,
        &format!("/idle-findings/{fid}"),
        &w.staff_a,
        &["已说明原因", "发现闲置", "说明原因：备用会议桌", "办理记录"],
    )
    .await?;

    // Marking an asset unused from the page, then in use again.
    let (st, _, _) = post_form(
        &c,
        base,
        "/idle-findings/marks",
        &w.staff_a,
        &[
            ("asset_number", "1001"),
            ("unused", "1"),
            ("note", "人员调离"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    check_page(
        &c,
        base,
        "/idle-findings",
        &w.staff_a,
        &["标记闲置的资产", "人员调离", "恢复使用"],
    )
    .await?;
    let (st, _, _) = post_form(
        &c,
        base,
        "/idle-findings/marks",
        &w.staff_a,
        &[("asset_number", "1001"), ("unused", "0")],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(
        s.get_ok("/api/v1/unused-marks", &w.staff_a).await?,
        json!([])
    );

    // The asset's own page: its open finding, and the mark from there.
    let asset_page = format!("/assets/{other}");
    check_page(
        &c,
        base,
        &asset_page,
        &w.staff_a,
        &["闲置问责", "单位持有资产长期未读到", "标记为闲置"],
    )
    .await?;
    let back = asset_page.clone();
    let (st, to, _) = post_form(
        &c,
        base,
        "/idle-findings/marks",
        &w.staff_a,
        &[("asset_number", "2001"), ("unused", "1"), ("back", &back)],
    )
    .await?;
    assert_eq!(
        (st, to.as_str()),
        (StatusCode::SEE_OTHER, asset_page.as_str())
    );
    let text = check_page(
        &c,
        base,
        &asset_page,
        &w.staff_a,
        &["恢复使用", "标记为闲置"],
    )
    .await?;
    assert!(text.contains("标记时间"), "{text}");
    // Only an asset page is a way back.
    let (st, to, _) = post_form(
        &c,
        base,
        "/idle-findings/marks",
        &w.staff_a,
        &[
            ("asset_number", "2001"),
            ("unused", "0"),
            ("back", "https://example.com/"),
        ],
    )
    .await?;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/idle-findings"));

    // The other finding goes unanswered past its deadline: the agency's
    // page puts it first, with the reclaim order.
    age(s, "idle_findings", "due_at", "id", other_fid, 11)?;
    let (st, _, _) = post_form(&c, base, "/idle-findings/scan", &w.approver, &[]).await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // (The world's approver is called `approver`, which the header shows:
    // checked for its words only.)
    let (_, html) = page(&c, base, "/idle-findings", &w.approver, "zh").await?;
    let text = visible_text(&html);
    for word in [
        "逾期未答复，已上报",
        "下达收回令",
        "闲置规则",
        "立即检查闲置资产",
        "闲置资产问责",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    let (st, _, _) = post_form(
        &c,
        base,
        &format!("/idle-findings/{other_fid}/reclaim"),
        &w.approver,
        &[("reason", "逾期未答复")],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, html) = page(
        &c,
        base,
        &format!("/idle-findings/{other_fid}"),
        &w.staff_a,
        "zh",
    )
    .await?;
    let text = visible_text(&html);
    for word in [
        "已下达收回令",
        "approver 逾期未答复，上报",
        "approver 下达收回令：逾期未答复",
        "申请编号",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    // The agency changes the rules from its page.
    let (st, _, _) = post_form(
        &c,
        base,
        "/idle-findings/rules",
        &w.approver,
        &[
            ("held_unseen_days", "60"),
            ("stock_unseen_days", ""),
            ("listed_days", "30"),
            ("unused_days", "20"),
            ("answer_days", "7"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let rules = s.get_ok("/api/v1/idle-rules", &w.admin).await?;
    assert_eq!(
        rules,
        json!({"held_unseen_days": 60, "stock_unseen_days": null, "listed_days": 30,
            "overdue_loans": false, "unused_days": 20, "answer_days": 7})
    );

    // In English, no Chinese but the data's own names.
    // "中文" is the language switch.
    let data = [
        "单位A",
        "桌子 1001",
        "桌子 2001",
        "备用会议桌",
        "逾期未答复",
        "人员调离",
        "中文",
    ]
    .map(String::from);
    for (session, path) in [
        (&w.staff_a, "/idle-findings".to_owned()),
        (&w.approver, "/idle-findings".to_owned()),
        (&w.staff_a, format!("/idle-findings/{fid}")),
        (&w.staff_a, format!("/idle-findings/{other_fid}")),
    ] {
        let (st, html) = page(&c, base, &path, session, "en").await?;
        assert_eq!(st, StatusCode::OK, "{path}");
        let text = visible_text(&html);
        let found = test_support::chinese_outside(&text, &data);
        assert!(found.is_empty(), "{path}: {found:?}\n{text}");
    }
    Ok(())
}
