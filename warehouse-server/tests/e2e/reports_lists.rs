//! Reports for people and lists you can navigate (issue 3/8 items 6 and
//! 11): the report page and its CSV in words and yuan with a totals row
//! equal to the sum of the rows; pager and search on the requests list;
//! virtual-warehouse rows that link and ask; a confirmation once after an
//! action; the alarms page's hint without a gate reader. Real server, real
//! HTTP, browser-style form posts with the session cookie and form token.

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// Yuan with two decimals ("1234.56") as fen.
fn fen(yuan: &str) -> Result<i64> {
    let (int, dec) = yuan
        .split_once('.')
        .ok_or_else(|| anyhow!("{yuan:?} has no decimals"))?;
    ensure!(dec.len() == 2, "{yuan:?} is not two decimals");
    Ok(int.parse::<i64>()? * 100 + dec.parse::<i64>()?)
}

#[tokio::test]
async fn reports_read_in_words_and_yuan_with_a_totals_row() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // A fourth asset whose value has fen, so the yuan must keep two decimals.
    s.post_ok(
        "/api/v1/assets",
        &w.admin,
        json!({"asset_number": "1004", "name": "台灯", "category_id": w.category,
            "original_value_fen": 12345, "holder_location_id": w.loc_2}),
        201,
    )
    .await?;
    // What the rows must add up to, from the machine report (fen).
    let api = s
        .get_ok("/api/v1/reports/assets-by-state", &w.admin)
        .await?;
    let expected_fen: i64 = api["rows"]
        .as_array()
        .ok_or_else(|| anyhow!("no rows: {api}"))?
        .iter()
        .filter_map(|r| r[5].as_i64())
        .sum();
    ensure!(expected_fen == 3 * 150_000 + 12_345, "{api}");
    ensure!(
        api["columns"][5] == "value_fen",
        "the JSON contract is kept: {api}"
    );

    let c = client()?;
    let (status, html, _) =
        page(&c, &s.base, "/reports?name=assets-by-state", &w.admin, "").await?;
    ensure!(status == StatusCode::OK, "{status}");
    for word in [
        "资产状态与持有分布",
        "原值（元）",
        "持有方",
        "合计",
        "4623.45",
        "在库",
        "单位A",
        "主仓",
        "<svg",
    ] {
        ensure!(html.contains(word), "report page lacks {word:?}");
    }
    for raw in ["value_fen", "holder_kind", "in_stock", "{\"count\""] {
        ensure!(!html.contains(raw), "report page shows {raw:?}");
    }

    // The CSV: the same headings, yuan, and a totals row equal to the sum.
    let resp = c
        .get(format!("{}/reports/export?name=assets-by-state", s.base))
        .header("cookie", format!("wh_session={}", w.admin))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK);
    ensure!(resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv")));
    let csv = resp.text().await?;
    let lines: Vec<&str> = csv.trim_end_matches("\r\n").split("\r\n").collect();
    ensure!(
        lines[0] == "\u{feff}状态,持有方类别,持有方,数量（件）,原值（元）",
        "{csv}"
    );
    let totals = lines.last().ok_or_else(|| anyhow!("empty csv"))?;
    ensure!(totals.starts_with("合计,"), "{csv}");
    let cells = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
    let mut sum = 0;
    let mut count = 0;
    for row in &lines[1..lines.len() - 1] {
        let c = cells(row);
        sum += fen(&c[4])?;
        count += c[3].parse::<i64>()?;
    }
    let t = cells(totals);
    ensure!(fen(&t[4])? == sum && sum == expected_fen, "{csv}");
    ensure!(
        t[4] == "4623.45" && t[3] == count.to_string() && count == 4,
        "{csv}"
    );

    // English mode: English headings and titles, in the page and the CSV.
    let (_, en, _) = page(
        &c,
        &s.base,
        "/reports?name=compensation",
        &w.admin,
        "lang=en",
    )
    .await?;
    for word in [
        "Damage compensation owed and paid",
        "Owed (yuan)",
        "Total",
        "Assets by state and holder",
    ] {
        ensure!(en.contains(word), "English report page lacks {word:?}");
    }
    ensure!(
        !en.contains("损坏赔偿应收与实收") && !en.contains("资产状态与持有分布"),
        "Chinese title in English mode"
    );
    let en_csv = c
        .get(format!("{}/reports/export?name=assets-by-state", s.base))
        .header("cookie", format!("wh_session={}; lang=en", w.admin))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        en_csv.starts_with("\u{feff}State,Holder type,Holder,Count,Original value (yuan)\r\n"),
        "{en_csv}"
    );
    ensure!(en_csv.contains("\r\nTotal,,,4,4623.45\r\n"), "{en_csv}");

    // Every report, in both languages, page and CSV: no API column name.
    for name in [
        "assets-by-state",
        "utilisation",
        "loans",
        "requests",
        "procurement",
        "disposals",
        "compensation",
    ] {
        for lang in ["lang=zh", "lang=en"] {
            let (status, html, _) = page(
                &c,
                &s.base,
                &format!("/reports?name={name}"),
                &w.admin,
                lang,
            )
            .await?;
            ensure!(status == StatusCode::OK, "{name} {lang}: {status}");
            let resp = c
                .get(format!("{}/reports/export?name={name}", s.base))
                .header("cookie", format!("wh_session={}; {lang}", w.admin))
                .send()
                .await?;
            ensure!(resp.status() == StatusCode::OK, "{name} {lang} csv");
            let csv = resp.text().await?;
            let header = csv.split("\r\n").next().unwrap_or_default();
            for raw in ["_fen", "_id", "_pct", "_days", "holder_kind", "items_out"] {
                ensure!(
                    !html.contains(&format!(">{raw}")) && !header.contains(raw),
                    "{name} {lang} shows {raw}"
                );
            }
            ensure!(
                csv.contains(if lang == "lang=zh" {
                    "\r\n合计,"
                } else {
                    "\r\nTotal,"
                }),
                "{name} {lang}: no totals row"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn admin_lists_page_and_search() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    for i in 1..=25 {
        s.post_ok(
            "/api/v1/units",
            &admin,
            json!({"name": format!("单位{i:02}")}),
            201,
        )
        .await?;
    }
    let c = client()?;
    // The units list itself (the new-user form below it offers every unit).
    let units = |html: &str| -> String {
        html.split("data-test=\"units\"")
            .nth(1)
            .and_then(|rest| rest.split("</ul>").next())
            .unwrap_or_default()
            .to_owned()
    };
    let (_, first, _) = page(&c, &s.base, "/admin", &admin, "").await?;
    ensure!(first.contains("共 25 条"), "no unit total");
    let list = units(&first);
    ensure!(
        list.contains("单位20") && !list.contains("单位21"),
        "first page holds 20 units: {list}"
    );
    ensure!(first.contains("units_page=2"), "no way to page 2");
    let (_, second, _) = page(&c, &s.base, "/admin?units_page=2", &admin, "").await?;
    let list = units(&second);
    ensure!(
        list.contains("单位21") && list.contains("单位25") && !list.contains("单位20"),
        "{list}"
    );
    let (_, found, _) = page(&c, &s.base, "/admin?q=%E5%8D%95%E4%BD%8D07", &admin, "").await?; // 单位07
    ensure!(
        found.contains("共 1 条") && found.contains("单位07"),
        "unit search"
    );
    Ok(())
}

#[tokio::test]
async fn the_requests_list_pages_and_searches() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    for i in 0..55 {
        let reason = if i == 7 {
            "会议室搬迁".to_owned()
        } else {
            format!("培训 {i}")
        };
        s.post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "category_id": w.category, "quantity": 1, "reason": reason,
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
            201,
        )
        .await?;
    }
    let c = client()?;
    let rows = |html: &str| html.matches("<tr").count().saturating_sub(1);
    let (_, first, _) = page(&c, &s.base, "/requests", &w.staff_a, "").await?;
    ensure!(first.contains("共 55 条"), "no total on page 1");
    ensure!(rows(&first) == 50, "page 1 has {} rows", rows(&first));
    ensure!(
        first.contains("下一页") && first.contains("/requests?page=2"),
        "page 1 has no way on"
    );
    ensure!(!first.contains("上一页"), "page 1 has no previous page");
    let (_, second, _) = page(&c, &s.base, "/requests?page=2", &w.staff_a, "").await?;
    ensure!(rows(&second) == 5, "page 2 has {} rows", rows(&second));
    ensure!(second.contains("上一页") && !second.contains("下一页"));
    // The search narrows, and the pager keeps it.
    let q = "/requests?q=%E4%BC%9A%E8%AE%AE%E5%AE%A4"; // 会议室
    let (_, found, _) = page(&c, &s.base, q, &w.staff_a, "").await?;
    ensure!(
        found.contains("共 1 条") && found.contains("会议室搬迁"),
        "search did not narrow"
    );
    ensure!(rows(&found) == 1);
    let (_, by_words, _) = page(
        &c,
        &s.base,
        "/requests?q=%E5%9F%B9%E8%AE%AD",
        &w.staff_a,
        "",
    )
    .await?; // 培训
    ensure!(by_words.contains("共 54 条"), "search for 培训");
    ensure!(
        by_words.contains("q=%E5%9F%B9%E8%AE%AD&amp;page=2"),
        "the pager keeps the search"
    );
    Ok(())
}

#[tokio::test]
async fn virtual_warehouse_rows_link_and_ask_with_the_asset_filled_in() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let staff_b = s
        .add_user(&w.admin, "staff_b", "unit_staff", Some(w.unit_b))
        .await?;
    s.post_ok(
        &format!("/api/v1/assets/{}/idle-listing", w.asset_b),
        &staff_b,
        json!({"notes": "九成新"}),
        200,
    )
    .await?;
    let c = client()?;
    let (_, html, _) = page(&c, &s.base, "/virtual-warehouse", &w.staff_a, "").await?;
    ensure!(
        html.contains(&format!("href=\"/assets/{}\"", w.asset_b)),
        "row does not link the asset"
    );
    let ask = format!("/requests/new/transfer?id={}", w.asset_b);
    ensure!(
        html.contains(&ask) && html.contains("申请调剂"),
        "no 申请调剂 for unit A"
    );
    ensure!(html.contains("共 1 条"));
    // Its own unit does not ask for it.
    let (_, own, _) = page(&c, &s.base, "/virtual-warehouse", &staff_b, "").await?;
    ensure!(!own.contains(&ask));
    // The link opens the form with the asset filled in.
    let (status, form, _) = page(&c, &s.base, &ask, &w.staff_a, "").await?;
    ensure!(status == StatusCode::OK);
    ensure!(
        hidden(&form, "asset_numbers")? == "1002",
        "asset number not pre-filled"
    );
    // Search: by asset number, and a miss.
    let (_, hit, _) = page(&c, &s.base, "/virtual-warehouse?q=1002", &w.staff_a, "").await?;
    ensure!(hit.contains("共 1 条"));
    let (_, miss, _) = page(
        &c,
        &s.base,
        "/virtual-warehouse?q=nothing-like-it",
        &w.staff_a,
        "",
    )
    .await?;
    ensure!(miss.contains("共 0 条") && !miss.contains(&ask));
    Ok(())
}

#[tokio::test]
async fn a_confirmation_shows_once_after_filing_and_approving() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let (status, location, flash) = post_form(
        &c,
        &s.base,
        "/requests/new/loan",
        &w.staff_a,
        &[
            ("category_id", &w.category.to_string()),
            ("quantity", "1"),
            ("reason", "培训"),
            ("loan_start", "2099-01-05"),
            ("loan_due", "2099-01-06"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let id: i64 = location
        .strip_prefix("/requests/")
        .ok_or_else(|| anyhow!("went to {location}"))?
        .parse()?;
    let flash = flash.ok_or_else(|| anyhow!("no confirmation after filing"))?;
    // The next page says it and clears it; without the cookie it is gone.
    let (_, html, cleared) = page(&c, &s.base, &location, &w.staff_a, &flash).await?;
    ensure!(
        html.contains(&format!("已提交申请，编号 {id}")),
        "no confirmation shown"
    );
    ensure!(
        cleared.as_deref() == Some("flash="),
        "not cleared: {cleared:?}"
    );
    let (_, again, _) = page(&c, &s.base, &location, &w.staff_a, "").await?;
    ensure!(!again.contains("已提交申请"), "shown twice");

    let (status, location, flash) = post_form(
        &c,
        &s.base,
        &format!("/requests/{id}/step"),
        &w.approver,
        &[("action", "approve"), ("comment", "同意")],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let flash = flash.ok_or_else(|| anyhow!("no confirmation after approving"))?;
    let (_, html, _) = page(&c, &s.base, &location, &w.approver, &flash).await?;
    ensure!(
        html.contains("data-test=\"flash\"") && html.contains("已批准"),
        "no 已批准"
    );
    // A forged value shows nothing.
    let (_, forged, _) = page(&c, &s.base, &location, &w.approver, "flash=<b>x</b>").await?;
    ensure!(!forged.contains("data-test=\"flash\""));
    Ok(())
}

#[tokio::test]
async fn the_alarms_page_says_when_no_gate_reader_exists() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    add_keeper(&s, &admin, "keeper", "keeper-pass-1").await?;
    let keeper = s.login("keeper", "keeper-pass-1").await?;
    let c = client()?;
    let (status, html, _) = page(&c, &s.base, "/alarms", &keeper, "").await?;
    ensure!(status == StatusCode::OK);
    ensure!(html.contains("data-test=\"no-gate-reader\"") && html.contains("尚未登记出口读写器"));
    // With a gate reader registered the hint is gone.
    s.add_reader(&admin, "gate-1", "gate", None).await?;
    let (_, html, _) = page(&c, &s.base, "/alarms", &keeper, "").await?;
    ensure!(!html.contains("no-gate-reader"), "hint with a gate reader");
    ensure!(html.contains("共 0 条"));
    Ok(())
}
