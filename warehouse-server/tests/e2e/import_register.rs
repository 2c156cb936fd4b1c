//! Register import (台账导入) from .xlsx and .csv, and the .xlsx exports of
//! the register and of a report, read back with `calamine` (issue 17).

use std::collections::BTreeSet;

use anyhow::{anyhow, ensure, Context, Result};
use calamine::{Data, Reader};
use reqwest::StatusCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::{json, Value};

use crate::support::*;
use test_support::db_scalar;

const ROWS: usize = 5_000;

const HEADINGS: [&str; 11] = [
    "资产编号",
    "资产名称",
    "分类",
    "规格型号",
    "原值（元）",
    "取得日期",
    "使用单位",
    "存放地点",
    "保管人",
    "经费来源",
    "备注",
];

/// One cell of the generated register.
#[derive(Clone)]
enum C {
    T(String),
    N(f64),
    D(u16, u8, u8),
    E,
}

fn t(s: impl Into<String>) -> C {
    C::T(s.into())
}

/// A good row `i`: categories by name and by code, values as numbers and
/// as typed text, dates as date cells and as three kinds of text, held by
/// a unit (every seventh) or at a location named by name or by code.
fn good_row(i: usize) -> Vec<C> {
    let value = match i % 3 {
        0 => C::N(1234.5 + i as f64),
        1 => t(format!("{},{:03}.50", 1 + i / 1000, i % 1000)),
        _ => t(format!("{}.05", 100 + i)),
    };
    let date = match i % 4 {
        0 => C::D(2021, 3, 5),
        1 => t("2021/3/5"),
        2 => t("2021年3月5日"),
        _ => t("2020-12-31"),
    };
    let held = i.is_multiple_of(7);
    vec![
        t(format!("ZC-2099-{i:05}")),
        t(format!("办公桌 {i}")),
        t(if i.is_multiple_of(2) {
            "办公桌"
        } else {
            "0201"
        }),
        t(format!("型号-{}", i % 13)),
        value,
        date,
        if held { t("单位A") } else { C::E },
        if held {
            C::E
        } else if i.is_multiple_of(2) {
            t("Shelf 1")
        } else {
            t("A02")
        },
        t("张三"),
        t("财政拨款"),
        C::E,
    ]
}

/// The 17 seeded mistakes: (data index, column, the cell, problem code).
fn mistakes() -> Vec<(usize, usize, C, &'static str)> {
    vec![
        (10, 4, t("abc"), "bad_money"),
        (20, 4, C::N(-5.0), "negative"),
        (30, 4, t("12.345"), "money_fraction"),
        (40, 4, C::E, "missing"),
        (50, 6, t("不存在的单位"), "unknown_unit"),
        (60, 6, t("财政局乙"), "unknown_unit"),
        // Rows 70 and 80 repeat the numbers of rows 5 and 6.
        (70, 0, t("ZC-2099-00005"), "duplicate_number"),
        (80, 0, t("ZC-2099-00006"), "duplicate_number"),
        (90, 5, t("2021-02-30"), "bad_date"),
        (100, 5, t("去年"), "bad_date"),
        (110, 2, t("飞机"), "unknown_category"),
        (120, 1, C::E, "missing"),
        (130, 0, C::E, "missing"),
        (140, 0, t("ZC 2099/1"), "bad_asset_number"),
        (150, 7, t("火星库"), "unknown_location"),
        (4001, 7, C::E, "no_holder"),
        (4500, 1, t("长".repeat(201)), "too_long"),
    ]
}

fn workbook(rows: &[Vec<C>]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in HEADINGS.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                C::T(s) => {
                    ws.write_string(r, c, s)?;
                }
                C::N(n) => {
                    ws.write_number(r, c, *n)?;
                }
                C::D(y, m, d) => {
                    ws.write_datetime_with_format(
                        r,
                        c,
                        &ExcelDateTime::from_ymd(*y, *m, *d)?,
                        &date,
                    )?;
                }
                C::E => {}
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

fn register(with_mistakes: bool) -> Result<Vec<u8>> {
    let mut rows: Vec<Vec<C>> = (0..ROWS).map(good_row).collect();
    if with_mistakes {
        for (i, col, cell, _) in mistakes() {
            rows[i][col] = cell;
            if col == 7 {
                // A location only counts when no unit holds it.
                rows[i][6] = C::E;
            }
        }
    }
    workbook(&rows)
}

/// A multipart body of `file` and text fields.
fn multipart(file_name: &str, data: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----import-test-boundary-7d9f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    s: &Server,
    token: &str,
    file_name: &str,
    data: &[u8],
    fields: &[(&str, &str)],
) -> Result<(StatusCode, Value)> {
    let (ct, body) = multipart(file_name, data, fields);
    let resp = s
        .http
        .post(format!("{}/api/v1/assets/import", s.base))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, ct)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// (assets, history events) in the register.
fn counts(s: &Server) -> Result<(i64, i64)> {
    Ok((
        db_scalar(&s.db, "SELECT count(*) FROM assets")?.unwrap_or(-1),
        db_scalar(&s.db, "SELECT count(*) FROM asset_events")?.unwrap_or(-1),
    ))
}

#[tokio::test]
async fn a_5000_row_register_with_17_mistakes_then_fixed_then_again() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    s.post_ok(
        "/api/v1/categories",
        &w.admin,
        json!({"code": "0201", "name": "计算机"}),
        201,
    )
    .await?;
    let before = counts(s)?;

    // Dry run of the register with mistakes: each one named, nothing stored.
    let bad = register(true)?;
    let (status, out) = upload(s, &w.keeper, "台账.xlsx", &bad, &[("dry_run", "true")]).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}: {out}"
    );
    let problems = out["problems"].as_array().context("problems")?;
    let got: BTreeSet<(u64, String, String)> = problems
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap_or(0),
                p["column"].as_str().unwrap_or("").to_owned(),
                p["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let want: BTreeSet<(u64, String, String)> = mistakes()
        .into_iter()
        .map(|(i, col, _, code)| {
            // Row 1 is the heading; data index i is on row i + 2.
            (i as u64 + 2, HEADINGS[col].to_owned(), code.to_owned())
        })
        .collect();
    assert_eq!(got, want, "{problems:#?}");
    assert_eq!(problems.len(), 17);
    for p in problems {
        let msg = p["message"].as_str().unwrap_or("");
        ensure!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "not Chinese: {p}"
        );
    }
    let dup = problems.iter().find(|p| p["row"] == 72).context("row 72")?;
    assert_eq!(dup["value"], "ZC-2099-00005");
    assert!(
        dup["message"].as_str().unwrap_or("").contains("第 7 行"),
        "{dup}"
    );
    assert_eq!(counts(s)?, before, "a dry run stores nothing");

    // The import of the same file is refused whole.
    let (status, out) = upload(s, &w.keeper, "台账.xlsx", &bad, &[("dry_run", "false")]).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}: {out}"
    );
    assert_eq!(counts(s)?, before, "an import with problems stores nothing");

    // Fixed: 5,000 new assets, each with its registered event.
    let good = register(false)?;
    let (status, out) = upload(s, &w.keeper, "台账.xlsx", &good, &[("dry_run", "false")]).await?;
    ensure!(status == StatusCode::OK, "{status}: {out}");
    assert_eq!(out["created"], ROWS);
    assert_eq!(out["problems"], json!([]));
    let after = counts(s)?;
    assert_eq!(after.0, before.0 + ROWS as i64);
    assert_eq!(after.1, before.1 + ROWS as i64);
    let page = s
        .get_ok("/api/v1/assets?q=ZC-2099-00007", &w.keeper)
        .await?;
    let a = &page["items"][0];
    assert_eq!(a["holder_unit_id"], w.unit_a, "{a}");
    assert_eq!(a["state"], "allocated");
    assert_eq!(a["purchase_date"], "2020-12-31");
    assert_eq!(a["original_value_fen"], 100_750, "text 1,007.50 yuan");
    let page = s
        .get_ok("/api/v1/assets?q=ZC-2099-00001", &w.keeper)
        .await?;
    let a = &page["items"][0];
    assert_eq!(a["holder_location_id"], w.loc_2, "A02 by code: {a}");
    assert_eq!(a["original_value_fen"], 100_150, "1,001.50 yuan");
    assert_eq!(a["purchase_date"], "2021-03-05");

    // The same file again: nothing changes.
    let (status, out) = upload(s, &w.keeper, "台账.xlsx", &good, &[("dry_run", "false")]).await?;
    ensure!(status == StatusCode::OK, "{status}: {out}");
    assert_eq!(
        (out["created"].as_u64(), out["updated"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(out["unchanged"], ROWS);
    assert_eq!(counts(s)?, after, "a second import changes nothing");

    // One changed row: its asset is updated, with one history event.
    let mut rows: Vec<Vec<C>> = (0..ROWS).map(good_row).collect();
    rows[3][4] = t("999.99");
    rows[3][8] = t("李四");
    let (status, out) = upload(
        s,
        &w.keeper,
        "台账.xlsx",
        &workbook(&rows)?,
        &[("dry_run", "false")],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}: {out}");
    assert_eq!(
        (out["updated"].as_u64(), out["created"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(counts(s)?, (after.0, after.1 + 1));
    let page = s
        .get_ok("/api/v1/assets?q=ZC-2099-00003", &w.keeper)
        .await?;
    assert_eq!(page["items"][0]["original_value_fen"], 99_999);
    assert_eq!(page["items"][0]["custodian"], "李四");
    let updated = db_scalar(
        &s.db,
        "SELECT count(*) FROM asset_events e JOIN assets a ON a.id = e.asset_id
         WHERE a.asset_number = 'ZC-2099-00003' AND e.action = 'updated'",
    )?;
    assert_eq!(updated, Some(1));

    // Unit staff may not import.
    let (status, _) = upload(s, &w.staff_a, "台账.xlsx", &good, &[]).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn csv_in_utf8_with_and_without_bom_and_in_gbk_and_a_file_that_is_no_sheet() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let text = |prefix: &str| {
        format!(
            "资产编号,资产名称,分类,原值,取得日期,使用单位,存放地点\r\n\
             {prefix}-1,书柜,办公桌,\"1,200.00\",2022/7/1,单位B,\r\n\
             {prefix}-2,文件柜,0101,300,2022年7月2日,,A01\r\n"
        )
    };
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text("BOM").as_bytes());
    let gbk = encoding_rs::GBK.encode(&text("GBK")).0.into_owned();
    ensure!(
        std::str::from_utf8(&gbk).is_err(),
        "GBK bytes are not UTF-8"
    );
    for (name, data) in [
        ("plain.csv", text("UTF").into_bytes()),
        ("bom.csv", bom),
        ("gbk.csv", gbk),
    ] {
        let (status, out) = upload(s, &w.keeper, name, &data, &[("dry_run", "false")]).await?;
        ensure!(status == StatusCode::OK, "{name}: {status}: {out}");
        assert_eq!(out["created"], 2, "{name}: {out}");
    }
    for prefix in ["UTF", "BOM", "GBK"] {
        let page = s
            .get_ok(&format!("/api/v1/assets?q={prefix}-1"), &w.keeper)
            .await?;
        assert_eq!(page["items"][0]["name"], "书柜", "{prefix}");
        assert_eq!(page["items"][0]["original_value_fen"], 120_000);
        assert_eq!(page["items"][0]["holder_unit_id"], w.unit_b);
    }

    // A column mapping for headings the import does not know.
    let odd = "卡号,品类,物品,价格（元）,库\r\nMAP-1,办公桌,台灯,15,A02\r\n";
    let (status, out) = upload(s, &w.keeper, "odd.csv", odd.as_bytes(), &[]).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}: {out}"
    );
    assert!(
        out["problems"].as_array().is_some_and(|p| p
            .iter()
            .all(|p| p["code"] == "column_missing" && p["row"] == 1)),
        "{out}"
    );
    let mapping = json!({"卡号": "asset_number", "品类": "category", "物品": "name", "价格（元）": "original_value", "库": "location"});
    let (status, out) = upload(
        s,
        &w.keeper,
        "odd.csv",
        odd.as_bytes(),
        &[("dry_run", "false"), ("mapping", &mapping.to_string())],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}: {out}");
    assert_eq!(out["created"], 1);

    // Not a spreadsheet: a clear error, nothing stored.
    let before = counts(s)?;
    let (status, out) = s
        .post("/api/v1/assets/import", &w.keeper, json!({"file": "x"}))
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert_eq!(out["error"]["code"], "bad_request", "{out}");
    let (status, out) = upload(
        s,
        &w.keeper,
        "scan.pdf",
        b"%PDF-1.4\n\x00\x01\x02binary",
        &[],
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(out["error"]["code"], "not_a_spreadsheet", "{out}");
    let (status, out) = upload(
        s,
        &w.keeper,
        "broken.xlsx",
        b"PK\x03\x04not really a zip",
        &[],
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(out["error"]["code"], "not_a_spreadsheet", "{out}");
    assert_eq!(counts(s)?, before);
    Ok(())
}

fn sheet(bytes: Vec<u8>) -> Result<calamine::Range<Data>> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
    book.worksheet_range_at(0)
        .ok_or_else(|| anyhow!("no sheet"))?
        .map_err(Into::into)
}

async fn download(s: &Server, token: &str, path: &str) -> Result<Vec<u8>> {
    let resp = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{path}: {}", resp.status());
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    ensure!(ct.contains("spreadsheetml"), "{path}: {ct}");
    Ok(resp.bytes().await?.to_vec())
}

/// A column's heading index in row 0.
fn column(r: &calamine::Range<Data>, heading: &str) -> Result<usize> {
    (0..r.width())
        .find(|c| r.get((0, *c)) == Some(&Data::String(heading.into())))
        .ok_or_else(|| anyhow!("no column {heading}"))
}

#[tokio::test]
async fn the_register_and_a_report_as_real_workbooks() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    s.post_ok("/api/v1/assets", &w.keeper, json!({
        "asset_number": "X-1", "name": "=HYPERLINK(\"http://x\")", "category_id": w.category,
        "original_value_fen": 12_345_678, "purchase_date": "2023-06-30", "holder_location_id": w.loc_2,
    }), 201).await?;

    let r = sheet(download(s, &w.keeper, "/api/v1/assets/export.xlsx").await?)?;
    let (num, name, value, date) = (
        column(&r, "资产编号")?,
        column(&r, "资产名称")?,
        column(&r, "原值（元）")?,
        column(&r, "取得日期")?,
    );
    let last = r.height() - 1;
    assert_eq!(r.get((last, 0)), Some(&Data::String("合计".into())));
    let mut sum = 0.0;
    for row in 1..last {
        match r.get((row, value)) {
            Some(Data::Float(f)) => sum += f,
            other => return Err(anyhow!("row {row}: value {other:?} is no number")),
        }
        assert!(
            matches!(r.get((row, date)), Some(Data::DateTime(_))),
            "row {row}: {:?} is no date",
            r.get((row, date))
        );
    }
    assert_eq!(last - 1, 4, "the world's three assets and X-1");
    let x = (1..last)
        .find(|row| r.get((*row, num)) == Some(&Data::String("X-1".into())))
        .context("X-1")?;
    assert_eq!(r.get((x, value)), Some(&Data::Float(123_456.78)));
    assert_eq!(
        r.get((x, name)),
        Some(&Data::String("=HYPERLINK(\"http://x\")".into())),
        "text stays text, never a formula"
    );
    match r.get((last, value)) {
        Some(Data::Float(total)) => assert!((total - sum).abs() < 0.005, "{total} vs {sum}"),
        other => return Err(anyhow!("totals: {other:?}")),
    }
    // It reads back into the import: every row equal to the register.
    let bytes = download(s, &w.keeper, "/api/v1/assets/export.xlsx").await?;
    let (status, out) = upload(s, &w.keeper, "导出.xlsx", &bytes, &[]).await?;
    ensure!(status == StatusCode::OK, "{status}: {out}");
    assert_eq!(out["unchanged"], 4, "{out}");

    // A report: money as numbers, totals the sum of the rows.
    let r = sheet(download(s, &w.keeper, "/api/v1/reports/assets-by-state?format=xlsx").await?)?;
    let value = (0..r.width())
        .find(|c| matches!(r.get((0, *c)), Some(Data::String(h)) if h.contains("元")))
        .context("a money column")?;
    let count = column(&r, "数量（件）")?;
    let last = r.height() - 1;
    assert_eq!(r.get((last, 0)), Some(&Data::String("合计".into())));
    let (mut money, mut n) = (0.0, 0.0);
    for row in 1..last {
        match (r.get((row, value)), r.get((row, count))) {
            (Some(Data::Float(f)), Some(Data::Float(c))) => {
                money += f;
                n += c;
            }
            other => return Err(anyhow!("row {row}: {other:?}")),
        }
    }
    assert_eq!(r.get((last, value)), Some(&Data::Float(money)));
    assert_eq!(r.get((last, count)), Some(&Data::Float(n)));
    assert_eq!(n, 4.0);
    assert!(
        (money - (123_456.78 + 3.0 * 1500.0)).abs() < 0.005,
        "{money}"
    );
    Ok(())
}

/// POSTs a multipart body to a page as a browser session (form token in
/// the query string, as the page's form action carries it).
async fn page_upload(
    c: &reqwest::Client,
    base: &str,
    session: &str,
    file_name: &str,
    data: &[u8],
    fields: &[(&str, &str)],
) -> Result<(StatusCode, String)> {
    let token = form_token(c, base, session).await?;
    let (ct, body) = multipart(file_name, data, fields);
    let resp = c
        .post(format!("{base}/assets/import?_csrf={token}"))
        .header("cookie", format!("wh_session={session}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    Ok((resp.status(), resp.text().await?))
}

#[tokio::test]
async fn the_import_page_lists_problems_in_chinese_then_imports_without_javascript() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let (status, html, _) = page(&c, &s.base, "/assets/import", &w.keeper, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(html.contains("导入台账"), "{html}");
    let (_, html, _) = page(&c, &s.base, "/assets", &w.keeper, "").await?;
    ensure!(
        html.contains("/assets/import") && html.contains("导出Excel"),
        "register links"
    );
    let (_, html, _) = page(&c, &s.base, "/reports?name=assets-by-state", &w.keeper, "").await?;
    ensure!(html.contains("format=xlsx"), "report link");
    let (status, _, _) = page(&c, &s.base, "/assets/import", &w.staff_a, "").await?;
    ensure!(status == StatusCode::FORBIDDEN, "unit staff: {status}");

    let bad = "资产编号,资产名称,分类,原值,使用单位,存放地点\r\n\
               P-1,书柜,办公桌,100,不存在的单位,\r\n\
               P-2,文件柜,办公桌,-3,,A01\r\n";
    let (status, html) = page_upload(
        &c,
        &s.base,
        &w.keeper,
        "台账.csv",
        bad.as_bytes(),
        &[("mode", "dry")],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}: {html}");
    let text = crate::pages_words::visible_text(&html);
    for says in [
        "系统中没有这个使用单位",
        "金额不能为负数",
        "未保存任何数据",
        "不存在的单位",
    ] {
        ensure!(text.contains(says), "the page lacks {says:?}:\n{text}");
    }
    let data = [
        "书柜",
        "文件柜",
        "Shelf",
        "单位A",
        "单位B",
        "台账",
        "keeper",
    ]
    .map(String::from);
    let found = test_support::unreadable(&text, &data);
    ensure!(found.is_empty(), "{found:?} on the page:\n{text}");
    ensure!(html.contains("name=\"map_0\""), "a select per column");

    let good = "资产编号,资产名称,分类,原值,使用单位,存放地点\r\n\
                P-1,书柜,办公桌,100,单位A,\r\n\
                P-2,文件柜,办公桌,3,,A01\r\n";
    let (status, html) = page_upload(
        &c,
        &s.base,
        &w.keeper,
        "台账.csv",
        good.as_bytes(),
        &[("mode", "import")],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}: {html}");
    let text = crate::pages_words::visible_text(&html);
    ensure!(text.contains("已导入并保存"), "{text}");
    ensure!(html.contains("data-test=\"import-created\">2<"), "{html}");
    let page = s.get_ok("/api/v1/assets?q=P-", &w.keeper).await?;
    assert_eq!(page["total"], 2);

    // A larger file: the page tells its progress while the transaction
    // runs (the store reports every 256 rows; a line whenever another
    // twentieth of the rows is done), then the result.
    let mut many = String::from("资产编号,资产名称,分类,原值,使用单位,存放地点\r\n");
    for i in 0..600 {
        many.push_str(&format!("Q-{i:03},文件柜,办公桌,{},,A01\r\n", 100 + i));
    }
    let (status, html) = page_upload(
        &c,
        &s.base,
        &w.keeper,
        "台账.csv",
        many.as_bytes(),
        &[("mode", "import")],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}: {html}");
    let lines: Vec<usize> = [
        "已处理 256 / 600 行",
        "已处理 512 / 600 行",
        "已处理 600 / 600 行",
    ]
    .iter()
    .map(|l| html.find(l).ok_or_else(|| anyhow!("no line {l}:\n{html}")))
    .collect::<Result<_>>()?;
    ensure!(lines.windows(2).all(|p| p[0] < p[1]), "in order: {lines:?}");
    ensure!(
        html.matches("data-test=\"import-progress\"").count() == 3,
        "{html}"
    );
    let last = lines[2];
    let result = html
        .find("data-test=\"import-created\">600<")
        .ok_or_else(|| anyhow!("no result:\n{html}"))?;
    ensure!(last < result, "the result comes after the progress");
    ensure!(html.trim_end().ends_with("</html>"), "the page is whole");

    let (status, html) = page_upload(
        &c,
        &s.base,
        &w.keeper,
        "x.pdf",
        b"%PDF\x00\x01",
        &[("mode", "dry")],
    )
    .await?;
    ensure!(status == StatusCode::OK, "{status}");
    let text = crate::pages_words::visible_text(&html);
    ensure!(text.contains("不是可读取的电子表格"), "{text}");
    Ok(())
}
