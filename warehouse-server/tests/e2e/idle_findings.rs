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
        "overdue_loans": true});
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
    assert_eq!(v, json!({"opened": 0, "still_open": 0, "closed": 0}));

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
    assert_eq!(v, json!({"opened": 0, "still_open": 1, "closed": 0}));
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
    assert_eq!(v, json!({"opened": 0, "still_open": 1, "closed": 1}));
    Ok(())
}
