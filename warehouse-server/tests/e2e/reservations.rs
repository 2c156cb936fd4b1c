//! Reservations with dates (预约与档期): an approved loan reserves its
//! items for its window; an approval or extension that would overbook is
//! refused (409 `overbooked`) naming the category, the shortfall and the
//! days; the availability API counts per day; a reservation exports as
//! `.ics`. Runs on both backends (`WAREHOUSE_TEST_BACKEND=postgres`).

use anyhow::{anyhow, bail, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{client, page};
use crate::workflows::{rid, stage, Flow};

/// One day of `GET /availability` for `category`.
async fn day(f: &Flow, token: &str, category: i64, date: &str) -> Result<Value> {
    let v = f
        .s()
        .get_ok(
            &format!("/api/v1/availability?category_id={category}&from={date}&to={date}"),
            token,
        )
        .await?;
    let d = v["days"][0].clone();
    if d["date"] != date {
        bail!("availability for {date}: {v}");
    }
    Ok(d)
}

fn counts(d: &Value) -> (i64, i64, i64, i64, i64) {
    let n = |k: &str| d[k].as_i64().unwrap_or(-1);
    (
        n("pool"),
        n("reserved"),
        n("out"),
        n("under_repair"),
        n("free"),
    )
}

async fn loan(f: &Flow, token: &str, n: i64, start: &str, due: &str, why: &str) -> Result<i64> {
    rid(&f
        .file(
            token,
            json!({"kind": "loan", "category_id": f.chairs, "quantity": n, "reason": why,
                "loan_start": start, "loan_due": due}),
        )
        .await?)
}

#[tokio::test]
async fn an_approval_reserves_the_window_and_an_overlapping_one_is_refused() -> Result<()> {
    let f = Flow::new(10).await?;
    let w = &f.w;
    let a = loan(&f, &w.staff_a, 6, "2099-03-01", "2099-03-05", "年会").await?;
    let b = loan(&f, &f.staff_b, 6, "2099-03-04", "2099-03-08", "运动会").await?;

    // The first approval fits and reserves six chairs for its days.
    let v = f
        .ok(
            &w.approver,
            a,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    assert_eq!(
        counts(&day(&f, &w.staff_a, f.chairs, "2099-03-02").await?),
        (10, 6, 0, 0, 4)
    );
    assert_eq!(
        counts(&day(&f, &w.keeper, f.chairs, "2099-03-07").await?),
        (10, 0, 0, 0, 10)
    );

    // The second would need six on the 4th and 5th, where four are free.
    let (st, e) = f
        .step(
            &w.approver,
            b,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "overbooked");
    let s = &e["error"]["shortages"][0];
    assert_eq!(s["category_id"], f.chairs);
    assert_eq!(s["category"], "椅子");
    assert_eq!(
        (&s["asked"], &s["free"], &s["short"], &s["days_short"]),
        (&json!(6), &json!(4), &json!(2), &json!(2))
    );
    assert_eq!(
        (&s["first_short"], &s["last_short"]),
        (&json!("2099-03-04"), &json!("2099-03-05"))
    );
    let msg = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("2099-03-04") && msg.contains("2 short"),
        "{msg}"
    );
    let b_now = f
        .s()
        .get_ok(&format!("/api/v1/requests/{b}"), &w.approver)
        .await?;
    assert_eq!(
        stage(&b_now),
        "approval",
        "a refused approval changes nothing"
    );

    // Out at the desk: the six chairs are out, no longer reserved.
    let six: Vec<&String> = f.stock[..6].iter().map(|(_, e)| e).collect();
    let v = f
        .ok(&w.keeper, a, json!({"action": "check_out", "epcs": six}))
        .await?;
    assert_eq!(stage(&v), "receipt");
    f.ok(&w.staff_a, a, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(
        counts(&day(&f, &w.approver, f.chairs, "2099-03-02").await?),
        (10, 0, 6, 0, 4)
    );
    // One warehouse's view: its items, and those checked out from it.
    let v = f
        .s()
        .get_ok(
            &format!(
                "/api/v1/availability?category_id={}&warehouse_id={}&from=2099-03-02&to=2099-03-02",
                f.chairs, w.warehouse
            ),
            &w.keeper,
        )
        .await?;
    assert_eq!(counts(&v["days"][0]), (10, 0, 6, 0, 4), "{v}");
    // Bad spans and unknown categories are refused naming what is wrong.
    let (st, e) = f
        .s()
        .get(
            &format!(
                "/api/v1/availability?category_id={}&from=2099-03-05&to=2099-03-01",
                f.chairs
            ),
            &w.keeper,
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "to");
    let (st, e) = f
        .s()
        .get("/api/v1/availability?category_id=424242", &w.keeper)
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "category_id");

    // A third loan later in the month fits and is approved.
    let c = loan(&f, &f.staff_b, 5, "2099-03-10", "2099-03-12", "培训").await?;
    f.ok(&w.approver, c, json!({"action": "approve"})).await?;

    // Extending the first into the third's days would overbook them.
    let (st, e) = f
        .step(
            &w.approver,
            a,
            json!({"action": "extend", "new_due": "2099-03-11", "comment": "活动延期"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "overbooked");
    let s = &e["error"]["shortages"][0];
    assert_eq!(
        (&s["asked"], &s["free"], &s["short"]),
        (&json!(6), &json!(5), &json!(1))
    );
    assert_eq!(
        (&s["first_short"], &s["last_short"]),
        (&json!("2099-03-10"), &json!("2099-03-11"))
    );
    // Not the unit's step, and not a day earlier than the current one.
    let (st, _) = f
        .step(
            &w.staff_a,
            a,
            json!({"action": "extend", "new_due": "2099-03-09"}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = f
        .step(
            &w.approver,
            a,
            json!({"action": "extend", "new_due": "2099-03-05"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "new_due");
    // Into free days it is granted and recorded as a step.
    let v = f
        .ok(
            &w.approver,
            a,
            json!({"action": "extend", "new_due": "2099-03-09", "comment": "活动延期"}),
        )
        .await?;
    assert_eq!(v["request"]["loan_due"], "2099-03-09");
    assert_eq!(stage(&v["request"]), "on_loan");
    let ext = v["request"]["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["action"] == "extend"))
        .ok_or_else(|| anyhow!("no extend step in {v}"))?;
    assert_eq!(ext["details"]["old_due"], "2099-03-05");
    assert_eq!(ext["details"]["new_due"], "2099-03-09");
    assert_eq!(
        counts(&day(&f, &w.approver, f.chairs, "2099-03-09").await?),
        (10, 0, 6, 0, 4)
    );

    // The calendar lists who occupies a day, linked to the request.
    let v = f
        .s()
        .get_ok(
            &format!(
                "/api/v1/availability?category_id={}&from=2099-03-10&to=2099-03-12",
                f.chairs
            ),
            &w.keeper,
        )
        .await?;
    let ids: Vec<i64> = v["bookings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["request_id"].as_i64())
        .collect();
    assert_eq!(ids, vec![c]);
    assert_eq!(v["bookings"][0]["hold"], "reserved");

    // Back in: the second loan now fits.
    let items: Vec<Value> = f.stock[..6]
        .iter()
        .map(|(_, e)| json!({"epc": e, "condition": "good"}))
        .collect();
    let v = f
        .ok(
            &w.keeper,
            a,
            json!({"action": "return_items", "items": items}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    let v = f
        .ok(
            &w.approver,
            b,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
    assert_eq!(stage(&v), "checkout");
    assert_eq!(
        counts(&day(&f, &w.approver, f.chairs, "2099-03-05").await?),
        (10, 6, 0, 0, 4)
    );
    Ok(())
}

#[tokio::test]
async fn a_reservation_exports_as_one_all_day_event() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let b = loan(
        &f,
        &f.staff_b,
        2,
        "2099-03-04",
        "2099-03-08",
        "运动会, 第一天；\n集合",
    )
    .await?;
    let url = format!("{}/api/v1/requests/{b}/reservation.ics", f.s().base);
    let r = f.s().http.get(&url).bearer_auth(&f.staff_b).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let text = r.text().await?;
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(
        lines.iter().all(|l| l.len() <= 75),
        "every line at most 75 octets: {lines:?}"
    );
    // Unfolded, the content lines carry the window and the summary.
    let unfolded = text.replace("\r\n ", "");
    let content: Vec<&str> = unfolded.trim_end().split("\r\n").collect();
    assert_eq!(content.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(content.last(), Some(&"END:VCALENDAR"));
    assert_eq!(content.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 1);
    for want in [
        "DTSTART;VALUE=DATE:20990304",
        "DTEND;VALUE=DATE:20990309",
        &format!("UID:request-{b}@gongwucang"),
        &format!("SUMMARY:借用（申请 {b}）：椅子 2 件"),
        "DESCRIPTION:运动会\\, 第一天；\\n集合",
    ] {
        assert!(content.contains(&want), "{want} missing in {content:?}");
    }
    // Stable: the same request gives the same UID again.
    let again = f.s().http.get(&url).bearer_auth(&w.approver).send().await?;
    assert!(again
        .text()
        .await?
        .contains(&format!("UID:request-{b}@gongwucang")));
    // Another unit's staff cannot read it.
    let r = f.s().http.get(&url).bearer_auth(&w.staff_a).send().await?;
    assert!(
        matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}",
        r.status()
    );
    // The request page links it for the unit; the calendar shows the
    // category's free count and links the requests occupying its days.
    let c = client()?;
    let (st, html, _) = page(&c, &f.s().base, &format!("/requests/{b}"), &f.staff_b, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains(&format!("/api/v1/requests/{b}/reservation.ics")),
        "no .ics link on the request page"
    );
    f.ok(&w.approver, b, json!({"action": "approve"})).await?;
    let (st, html, _) = page(&c, &f.s().base, "/calendar?month=2099-03", &w.keeper, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("日历"), "Chinese title");
    assert!(html.contains("椅子"), "the category's row");
    assert!(
        html.contains(&format!("href=\"/requests/{b}\"")),
        "booking linked"
    );
    assert!(
        html.contains("data-free=\"1\""),
        "one chair free on the loan's days"
    );
    assert!(html.contains("data-free=\"3\""), "three free on other days");
    let (st, html, _) = page(
        &c,
        &f.s().base,
        "/calendar?month=2099-03",
        &w.keeper,
        "lang=en",
    )
    .await?;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Calendar"));
    Ok(())
}

/// Two approvals of the last chairs at the same moment: one wins, the
/// other is refused as overbooked (SQLite's one writer; PostgreSQL's
/// writers' lock, taken before the check is read).
#[tokio::test]
async fn two_approvals_at_once_for_the_last_items_one_wins() -> Result<()> {
    let f = Flow::new(10).await?;
    let w = &f.w;
    let mut ids = Vec::new();
    for (i, token) in [&w.staff_a, &f.staff_b, &w.staff_a, &f.staff_b]
        .into_iter()
        .enumerate()
    {
        ids.push(
            loan(
                &f,
                token,
                6,
                "2099-05-01",
                "2099-05-03",
                &format!("活动{i}"),
            )
            .await?,
        );
    }
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let http = f.s().http.clone();
        let url = format!("{}/api/v1/requests/{id}/steps", f.s().base);
        let token = w.approver.clone();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({"action": "approve"}))
                .send()
                .await?;
            let status = r.status();
            let body: Value = r.json().await?;
            anyhow::Ok((status, body))
        }));
    }
    let mut won = 0;
    for t in tasks {
        let (status, body) = t.await??;
        match status {
            StatusCode::OK => won += 1,
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "overbooked", "{body}"),
            other => bail!("unexpected {other} {body}"),
        }
    }
    assert_eq!(won, 1, "exactly one approval of six of ten chairs wins");
    assert_eq!(
        counts(&day(&f, &w.approver, f.chairs, "2099-05-02").await?),
        (10, 6, 0, 0, 4)
    );
    Ok(())
}
