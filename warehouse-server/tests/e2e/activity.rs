//! Activity statistics (活动保障统计, issue 16 item 7): events served,
//! batches and items lent or allocated, per month and unit — the seed's
//! "27批次、587余件" — counted from what the desk really checked out.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::Flow;

/// Files `body` as `token`, approves it and checks out `epcs`.
async fn out(f: &Flow, token: &str, body: Value, epcs: &[String]) -> Result<i64> {
    let w = &f.w;
    let req = id(&f.file(token, body).await?)?;
    let (st, e) = f
        .step(&w.approver, req, json!({"action": "approve"}))
        .await?;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, e) = f
        .step(&w.keeper, req, json!({"action": "check_out", "epcs": epcs}))
        .await?;
    assert_eq!(st, StatusCode::OK, "{e}");
    Ok(req)
}

#[tokio::test]
async fn events_batches_and_items_are_counted_per_unit_from_the_desk() -> Result<()> {
    let f = Flow::new(6).await?;
    let w = &f.w;
    let s = f.s();
    let epcs: Vec<String> = f.stock.iter().map(|(_, e)| e.clone()).collect();
    let loan = |n: i64, event: &str| {
        json!({"kind": "loan", "category_id": f.chairs, "quantity": n, "event": event,
            "reason": "会务", "loan_start": "2099-05-01", "loan_due": "2099-05-02"})
    };
    // Unit A: two batches for one event, and one for another.
    out(&f, &w.staff_a, loan(2, "年终表彰大会"), &epcs[0..2]).await?;
    out(&f, &w.staff_a, loan(1, "年终表彰大会"), &epcs[2..3]).await?;
    out(&f, &w.staff_a, loan(1, "专题培训"), &epcs[3..4]).await?;
    // Unit B: an allocation with no event name is an event of its own.
    out(
        &f,
        &f.staff_b,
        json!({"kind": "allocation", "category_id": f.chairs, "quantity": 1, "reason": "新进人员"}),
        &epcs[4..5],
    )
    .await?;
    // Filed and approved but not checked out: not counted.
    let waiting = id(&f.file(&w.staff_a, loan(1, "年终表彰大会")).await?)?;
    f.step(&w.approver, waiting, json!({"action": "approve"}))
        .await?;

    let r = s.get_ok("/api/v1/reports/activity", &w.approver).await?;
    let cols: Vec<&str> = r["columns"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        cols,
        [
            "month",
            "unit_id",
            "unit",
            "events",
            "batches",
            "items_lent",
            "items_allocated"
        ]
    );
    let row = |unit: i64| -> Vec<Value> {
        r["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|x| x[1] == unit))
            .and_then(|x| x.as_array().cloned())
            .unwrap_or_default()
    };
    let a = row(w.unit_a);
    assert_eq!(a[3..], [json!(2), json!(3), json!(4), json!(0)], "{r}");
    let b = row(w.unit_b);
    assert_eq!(b[3..], [json!(1), json!(1), json!(0), json!(1)], "{r}");
    assert_eq!(r["totals"]["batches"], 4);
    assert_eq!(r["totals"]["items_lent"], 4);
    assert_eq!(r["totals"]["items_allocated"], 1);
    // The report page in Chinese, with the unit's name.
    let c = client()?;
    let (st, html, _) = page(&c, &s.base, "/reports?name=activity", &w.approver, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("活动保障统计") && html.contains("单位A") && html.contains("批次"),
        "activity report page"
    );
    Ok(())
}
