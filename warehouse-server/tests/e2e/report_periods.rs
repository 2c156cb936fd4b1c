//! Official reports (统计报表) over a period: requests filed and disposals
//! remitted across two years come out per year and per quarter exactly,
//! `by=unit` rows add up to the report's total, and a bad period is a 400
//! naming its parameter.
//!
//! The server has no clock to set and refuses a loan or a remittance dated
//! in the past, so, as `support::backdate_loan` does for loan windows, the
//! test files real requests through the API and then moves the two dates
//! the reports read (`requests.created_at`, `requests.remitted_at`) to the
//! days it chose. The figures are then computed by the server.

use anyhow::{anyhow, bail, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::workflows::{rid, stage, Flow};

/// Unix milliseconds of `day` (`YYYY-MM-DD`) at `hh:mm` Asia/Shanghai.
fn shanghai_ms(day: &str, hh: i64, mm: i64) -> Result<i64> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")?;
    let t = d
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| anyhow!("no midnight on {day}"))?
        .and_utc()
        .timestamp_millis();
    Ok(t + (hh * 3600 + mm * 60 - 8 * 3600) * 1000)
}

/// Moves request `id`'s column `col` (unix ms) to `ms`.
fn set_time(f: &Flow, id: i64, col: &str, ms: i64) -> Result<()> {
    let db = &f.s().db;
    test_support::db_execute(
        db,
        &format!("UPDATE requests SET {col} = {ms} WHERE id = {id}"),
    )?;
    let now = test_support::db_scalar(db, &format!("SELECT {col} FROM requests WHERE id = {id}"))?;
    anyhow::ensure!(now == Some(ms), "request {id}'s {col} is {now:?}, not {ms}");
    Ok(())
}

async fn report(f: &Flow, query: &str) -> Result<Value> {
    f.s()
        .get_ok(&format!("/api/v1/reports/{query}"), &f.w.approver)
        .await
}

/// The `count` total of a requests report, and its rows' counts summed.
fn count(r: &Value) -> Result<i64> {
    r["totals"]["count"]
        .as_i64()
        .ok_or_else(|| anyhow!("no count total in {r}"))
}

/// An auctioned disposal of `asset`, remitted `net` fen.
async fn remitted_disposal(f: &Flow, asset: i64, hammer: i64) -> Result<i64> {
    let w = &f.w;
    let d = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": [asset], "disposal_method": "auction",
                "reason": "超过使用年限"}),
        )
        .await?)?;
    let step = |token: &str, body: Value| {
        let token = token.to_owned();
        async move {
            let (st, v) = f.step(&token, d, body.clone()).await?;
            if st != StatusCode::OK {
                bail!("step {body} on {d}: {st} {v}");
            }
            Ok::<Value, anyhow::Error>(v)
        }
    };
    step(
        &w.keeper,
        json!({"action": "appraise", "appraised_value_fen": hammer, "appraiser": "某评估事务所",
            "report_ref": format!("PG-{d}")}),
    )
    .await?;
    step(&w.approver, json!({"action": "approve"})).await?;
    step(&w.finance, json!({"action": "approve"})).await?;
    step(
        &w.approver,
        json!({"action": "record_sale", "hammer_price_fen": hammer, "buyer": "张三"}),
    )
    .await?;
    let v = step(
        &w.finance,
        json!({"action": "confirm_remittance", "amount_fen": hammer, "treasury_ref": format!("JK-{d}")}),
    )
    .await?;
    anyhow::ensure!(stage(&v) == "completed", "disposal {d} not completed: {v}");
    Ok(d)
}

#[tokio::test]
async fn each_years_figures_come_out_exactly() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let loan = |day: &str| {
        json!({"kind": "loan", "category_id": f.chairs, "quantity": 1, "reason": "会务",
            "loan_start": "2099-05-01", "loan_due": "2099-05-02", "event": day})
    };
    // Requests filed on these days (Asia/Shanghai) by unit A or B. The
    // one at 01:00 on 1 January 2025 is still 31 December 2024 in UTC:
    // it counts in 2025.
    let filed: &[(&str, i64, bool)] = &[
        ("2024-02-10", 10, true),
        ("2024-08-01", 9, false),
        ("2024-12-31", 23, true),
        ("2025-01-01", 1, false),
        ("2025-07-01", 0, true),
        ("2025-09-30", 23, false),
        ("2025-10-01", 0, true),
    ];
    let mut ids = Vec::new();
    for (day, hh, unit_a) in filed {
        let token = if *unit_a { &w.staff_a } else { &f.staff_b };
        let id = rid(&f.file(token, loan(day)).await?)?;
        set_time(&f, id, "created_at", shanghai_ms(day, *hh, 0)?)?;
        ids.push(id);
    }
    let y2024 = report(&f, "requests?year=2024").await?;
    let y2025 = report(&f, "requests?year=2025").await?;
    let all = report(&f, "requests").await?;
    assert_eq!((count(&y2024)?, count(&y2025)?), (3, 4), "{y2024}\n{y2025}");
    assert_eq!(count(&all)?, 7);
    assert_eq!(y2024["dated_by"], "filed");
    assert_eq!(
        y2024["period"],
        json!({"from": "2024-01-01", "to": "2024-12-31"})
    );
    // The quarter shortcut is the same as its from/to.
    let q3 = report(&f, "requests?quarter=2025Q3").await?;
    assert_eq!(count(&q3)?, 2, "{q3}");
    let q3_dates = report(&f, "requests?from=2025-07-01&to=2025-09-30").await?;
    assert_eq!(q3["rows"], q3_dates["rows"]);
    assert_eq!(count(&report(&f, "requests?quarter=2025q4").await?)?, 1);
    assert_eq!(count(&report(&f, "requests?from=2024-12-31").await?)?, 5);
    assert_eq!(count(&report(&f, "requests?to=2024-12-31").await?)?, 3);
    // Unit A's own, and the rows per unit adding up to the total.
    let a2025 = report(&f, &format!("requests?year=2025&unit={}", w.unit_a)).await?;
    assert_eq!(count(&a2025)?, 2);
    let by_unit = report(&f, "requests?year=2025&by=unit").await?;
    let cols = by_unit["columns"]
        .as_array()
        .ok_or_else(|| anyhow!("no columns"))?;
    assert_eq!(cols[..2], [json!("row_unit_id"), json!("row_unit")]);
    let ci = cols
        .iter()
        .position(|c| c == "count")
        .ok_or_else(|| anyhow!("no count column"))?;
    let mut per_unit = std::collections::BTreeMap::new();
    for row in by_unit["rows"].as_array().into_iter().flatten() {
        *per_unit.entry(row[0].as_i64().unwrap_or(0)).or_insert(0) += row[ci].as_i64().unwrap_or(0);
    }
    assert_eq!(
        per_unit,
        [(w.unit_a, 2), (w.unit_b, 2)].into_iter().collect(),
        "{by_unit}"
    );
    assert_eq!(count(&by_unit)?, count(&y2025)?);
    // The category filter: every request is for chairs.
    assert_eq!(
        count(&report(&f, &format!("requests?year=2024&category={}", f.chairs)).await?)?,
        3
    );
    assert_eq!(
        count(&report(&f, &format!("requests?year=2024&category={}", w.category)).await?)?,
        0
    );

    // Disposals remitted in 2024 and 2025.
    let d1 = remitted_disposal(&f, f.stock[0].0, 12_000).await?;
    let d2 = remitted_disposal(&f, f.stock[1].0, 34_500).await?;
    let d3 = remitted_disposal(&f, f.stock[2].0, 500).await?;
    set_time(&f, d1, "remitted_at", shanghai_ms("2024-06-15", 10, 0)?)?;
    set_time(&f, d2, "remitted_at", shanghai_ms("2025-03-01", 9, 30)?)?;
    set_time(&f, d3, "remitted_at", shanghai_ms("2025-11-20", 15, 0)?)?;
    let d2024 = report(&f, "disposals?year=2024").await?;
    let d2025 = report(&f, "disposals?year=2025").await?;
    assert_eq!(
        (
            &d2024["totals"]["remitted_fen"],
            &d2024["totals"]["auctions"],
            &d2024["totals"]["assets_disposed"]
        ),
        (&json!(12_000), &json!(1), &json!(1)),
        "{d2024}"
    );
    assert_eq!(
        (
            &d2025["totals"]["remitted_fen"],
            &d2025["totals"]["auctions"],
            &d2025["totals"]["assets_disposed"]
        ),
        (&json!(35_000), &json!(2), &json!(2)),
        "{d2025}"
    );
    assert_eq!(d2025["rows"][0][0], "2025-03");
    assert_eq!(
        report(&f, "disposals?quarter=2025Q1").await?["totals"]["remitted_fen"],
        34_500
    );
    // The disposals' requests have no unit: one row, "no unit", adding up.
    let by_unit = report(&f, "disposals?year=2025&by=unit").await?;
    let rows = by_unit["rows"].as_array().cloned().unwrap_or_default();
    let sum: i64 = rows.iter().map(|r| r[6].as_i64().unwrap_or(0)).sum();
    assert_eq!(sum, 35_000, "{by_unit}");
    // A snapshot report says it takes no period.
    let snap = report(&f, "assets-by-state?year=2024").await?;
    assert_eq!(
        (&snap["dated_by"], &snap["period"]),
        (&Value::Null, &Value::Null)
    );
    Ok(())
}

#[tokio::test]
async fn every_report_takes_every_filter_and_cut() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let names = f.s().get_ok("/api/v1/reports", &w.approver).await?;
    let names: Vec<String> = names
        .as_array()
        .ok_or_else(|| anyhow!("no report list"))?
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let whole = report(&f, name).await?;
        for q in [
            "by=unit".to_owned(),
            format!("by=unit&year=2099&unit={}", w.unit_a),
            format!("category={}&warehouse={}", f.chairs, w.warehouse),
            format!("quarter=2025Q3&by=unit&category={}", w.category),
        ] {
            let r = report(&f, &format!("{name}?{q}")).await?;
            assert_eq!(r["name"], *name, "{q}");
        }
        // Cut by unit, the totals stay the report's.
        let cut = report(&f, &format!("{name}?by=unit")).await?;
        assert_eq!(cut["totals"], whole["totals"], "{name}");
    }
    // The stock snapshot by unit: the warehouse's chairs on the row with no
    // unit, unit A's asset on its own.
    let r = report(&f, "assets-by-state?by=unit").await?;
    let rows = r["rows"].as_array().cloned().unwrap_or_default();
    let count = |unit: Value| -> i64 {
        rows.iter()
            .filter(|row| row[0] == unit)
            .map(|row| row[6].as_i64().unwrap_or(0))
            .sum()
    };
    assert_eq!(count(json!(w.unit_a)), 1, "{r}");
    let chairs = report(&f, &format!("assets-by-state?category={}", f.chairs)).await?;
    assert_eq!(chairs["totals"]["count"], 2, "{chairs}");
    Ok(())
}

#[tokio::test]
async fn a_bad_period_is_refused_naming_its_parameter() -> Result<()> {
    let f = Flow::new(0).await?;
    for (query, field, code) in [
        ("from=2025-07-01&to=2025-06-30", "to", "period_backwards"),
        ("quarter=2025Q5", "quarter", "bad_period"),
        ("quarter=2025", "quarter", "bad_period"),
        ("year=25", "year", "bad_period"),
        ("from=2025-02-30", "from", "bad_period"),
        ("year=2025&quarter=2025Q1", "quarter", "period_twice"),
        ("year=2025&from=2025-01-01", "year", "period_twice"),
    ] {
        let (st, v) = f
            .s()
            .get(&format!("/api/v1/reports/requests?{query}"), &f.w.approver)
            .await?;
        assert_eq!(
            (
                st,
                v["error"]["field"].as_str(),
                v["error"]["code"].as_str()
            ),
            (StatusCode::BAD_REQUEST, Some(field), Some(code)),
            "{query}: {v}"
        );
    }
    // A filter naming nothing.
    let (st, v) = f
        .s()
        .get("/api/v1/reports/requests?unit=999999", &f.w.approver)
        .await?;
    assert_eq!(v["error"]["field"], "unit", "{st} {v}");
    // The page shows the refusal in Chinese, naming the parameter.
    let page = f
        .s()
        .http
        .get(format!(
            "{}/reports?name=requests&quarter=2025Q5",
            f.s().base
        ))
        .bearer_auth(&f.w.approver)
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let text = page.text().await?;
    if !text.contains("季度「2025Q5」不是有效的期间") {
        bail!("the page does not name the quarter:\n{text}");
    }
    Ok(())
}

#[tokio::test]
async fn the_report_page_has_the_period_form_in_chinese() -> Result<()> {
    let f = Flow::new(1).await?;
    let resp = f
        .s()
        .http
        .get(format!(
            "{}/reports?name=requests&year=2099&by=unit",
            f.s().base
        ))
        .bearer_auth(&f.w.approver)
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await?;
    for want in [
        "起始日期",
        "截止日期",
        "年度",
        "季度",
        "按单位分行",
        "申请提交日期",
        r#"name="year""#,
        r#"value="2099""#,
    ] {
        if !page.contains(want) {
            bail!("the report page lacks {want}:\n{page}");
        }
    }
    let text = crate::pages_words::visible_text(&page);
    let data = ["单位A", "单位B", "主仓", "椅子", "approver"].map(String::from);
    let bad = test_support::unreadable(&text, &data);
    anyhow::ensure!(bad.is_empty(), "unreadable on the report page: {bad:?}");
    let en = f
        .s()
        .http
        .get(format!(
            "{}/reports?name=requests&year=2099&by=unit",
            f.s().base
        ))
        .bearer_auth(&f.w.approver)
        .header("cookie", "lang=en")
        .send()
        .await?
        .text()
        .await?;
    let text = crate::pages_words::visible_text(&en);
    for want in [
        "One row per unit",
        "the day the request was filed",
        "Quarter",
    ] {
        anyhow::ensure!(
            text.contains(want),
            "the English page lacks {want}:\n{text}"
        );
    }
    let data: Vec<String> = ["单位A", "单位B", "主仓", "椅子", "办公桌", "中文"]
        .map(String::from)
        .to_vec();
    let bad = test_support::chinese_outside(&text, &data);
    anyhow::ensure!(
        bad.is_empty(),
        "Chinese on the English report page: {bad:?}"
    );
    Ok(())
}
