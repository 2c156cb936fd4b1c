//! A loan of two lines in a browser, from filing to return, and the
//! calendar (预约与档期) showing what it reserves: the unit files two
//! categories with the 添加一行 button and its dates, the approver
//! approves, the calendar shows the reserved chairs and table on those
//! days (and the days around them free), the keeper checks it out and
//! takes it back at the desk by typed asset numbers, and the request ends
//! returned. Screenshots `docs/screenshots/loan-lines-*.png` and
//! `calendar.png` with `UPDATE_SCREENSHOTS=1`.

use anyhow::Result;
use fantoccini::Locator;
use test_support::unreadable;

use super::*;

/// Types asset numbers into the desk's manual entry (no reader), one by
/// one, waiting for each to count. The desk page reloads after each entry
/// and live updates replace its parts, so finding the box is retried
/// (bounded) until it takes the number.
async fn type_numbers(ui: &Ui<'_>, numbers: &[&str]) -> Result<()> {
    let css = "[data-test=manual-entry] input[name=asset_number]";
    for (i, n) in numbers.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let typed = async {
                let e = ui.c.find(Locator::Css(css)).await?;
                e.clear().await?;
                e.send_keys(n).await?;
                ui.click("[data-test=manual-submit]").await
            };
            match typed.await {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline => {
                    let src = ui.c.source().await.unwrap_or_default();
                    return Err(e.context(format!("typing {n} at the desk:\n{src}")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
            }
        }
        ui.wait_text("[data-test=matched]", &(i + 1).to_string())
            .await?;
    }
    Ok(())
}

/// The calendar cell of `category`'s row on `date`: its free count and
/// its title (pool, reserved, out, under repair).
async fn cell(ui: &Ui<'_>, category: &str, date: &str) -> Result<(String, String)> {
    let rows =
        ui.c.find_all(Locator::Css("table[data-test=calendar] tbody tr"))
            .await?;
    for row in rows {
        if row.find(Locator::Css("th")).await?.text().await? != category {
            continue;
        }
        let td = row
            .find(Locator::Css(&format!("td[data-date='{date}']")))
            .await?;
        let free = td.attr("data-free").await?.unwrap_or_default();
        let title = td.attr("title").await?.unwrap_or_default();
        return Ok((free, title));
    }
    bail!("no calendar row for {category}")
}

#[tokio::test]
async fn a_two_line_loan_runs_from_filing_to_return_and_the_calendar_shows_it() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    let category = |code: &str, name: &str| {
        let (s, w) = (s, &w);
        let body = json!({"code": code, "name": name});
        async move { id(&s.post_ok("/api/v1/categories", &w.admin, body, 201).await?) }
    };
    let chairs = category("0531", "折叠椅").await?;
    let tables = category("0532", "会议桌").await?;
    // Three chairs and one table on the shelf, tagged.
    for (number, cat, name) in [
        ("81001", chairs, "折叠椅"),
        ("81002", chairs, "折叠椅"),
        ("81003", chairs, "折叠椅"),
        ("81101", tables, "会议桌"),
    ] {
        let a = id(&s
            .post_ok(
                "/api/v1/assets",
                &w.admin,
                json!({"asset_number": number, "name": name, "category_id": cat,
                    "original_value_fen": 25000, "holder_location_id": w.loc_1}),
                201,
            )
            .await?)?;
        w.tag(a).await?;
    }
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };

    // The unit files one loan of two lines: two chairs and a table.
    ui.login("staff_a").await?;
    ui.go("/requests/new/loan").await?;
    ui.select("select[name=category_id]", &chairs.to_string())
        .await?;
    ui.c.find(Locator::Css("input[name=quantity]"))
        .await?
        .send_keys("2")
        .await?;
    ui.click("[data-test=add-line]").await?;
    ui.wait_count("[data-test=request-lines] tbody tr", 2)
        .await?;
    // The first row kept what was chosen.
    let kept =
        ui.c.find(Locator::Css("select[name=category_id]"))
            .await?
            .prop("value")
            .await?;
    assert_eq!(kept, Some(chairs.to_string()), "the first line was lost");
    ui.select("select[name='lines[1].category_id']", &tables.to_string())
        .await?;
    ui.c.find(Locator::Css("input[name='lines[1].quantity']"))
        .await?
        .send_keys("1")
        .await?;
    ui.c.find(Locator::Css("input[name='lines[1].notes']"))
        .await?
        .send_keys("主席台")
        .await?;
    for (name, v) in [
        ("reason", "年度总结表彰会"),
        ("loan_start", "2099-11-10"),
        ("loan_due", "2099-11-12"),
    ] {
        let e = ui.c.find(Locator::Css(&format!("[name={name}]"))).await?;
        ui.c.execute(
            "arguments[0].value = arguments[1];",
            vec![serde_json::to_value(&e)?, json!(v)],
        )
        .await?;
    }
    ui.shot("loan-lines-1-form").await?;
    ui.click("form.stack button[type=submit]:not([name=add_line])")
        .await?;
    ui.wait_text("[data-test=stage]", "审批").await?;
    let rid = id_in(&ui.path().await?)?;
    let main = ui.c.find(Locator::Css("main")).await?.text().await?;
    for want in ["折叠椅", "会议桌", "主席台"] {
        assert!(
            main.contains(want),
            "the filed loan does not show {want}:\n{main}"
        );
    }
    let r = s
        .get_ok(&format!("/api/v1/requests/{rid}"), &w.keeper)
        .await?;
    let lines: Vec<(i64, i64)> = r["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["category_id"].as_i64().unwrap_or(-1),
                l["quantity"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(lines, vec![(chairs, 2), (tables, 1)], "{r}");

    // The approver approves from the inbox.
    ui.login("approver").await?;
    ui.go("/inbox").await?;
    ui.click(&format!("a[href='/requests/{rid}']")).await?;
    ui.click("[data-test=approve]").await?;
    ui.wait_text("[data-test=stage]", "出库").await?;

    // The calendar: two of three chairs and the one table reserved on the
    // loan's days; the day before and after are free.
    ui.go("/calendar?month=2099-11").await?;
    ui.wait_count("table[data-test=calendar] tbody tr", 3)
        .await?;
    for date in ["2099-11-10", "2099-11-11", "2099-11-12"] {
        let (free, title) = cell(&ui, "折叠椅", date).await?;
        assert_eq!(free, "1", "chairs on {date}: {title}");
        assert!(title.contains("已预约 2"), "chairs on {date}: {title}");
        let (free, title) = cell(&ui, "会议桌", date).await?;
        assert_eq!(free, "0", "table on {date}: {title}");
        assert!(title.contains("已预约 1"), "table on {date}: {title}");
    }
    for date in ["2099-11-09", "2099-11-13"] {
        assert_eq!(cell(&ui, "折叠椅", date).await?.0, "3", "{date}");
        assert_eq!(cell(&ui, "会议桌", date).await?.0, "1", "{date}");
    }
    let bookings =
        ui.c.find(Locator::Css("table[data-test=bookings]"))
            .await?
            .text()
            .await?;
    assert!(
        bookings.contains(&format!("借用申请 · 编号 {rid}")) && bookings.contains("已预约"),
        "bookings: {bookings}"
    );
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let bad = unreadable(&text, &[]);
    assert!(bad.is_empty(), "the calendar shows {bad:?}:\n{text}");
    ui.shot("calendar").await?;

    // The keeper checks it out at the desk, typing the numbers (no reader).
    ui.login("keeper").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=open-desk]").await?;
    ui.select("select[name=reader]", "0").await?;
    ui.click("[data-test=start-scan]").await?;
    ui.wait_text("[data-test=shortfall]", "3").await?;
    type_numbers(&ui, &["81001", "81101", "81002"]).await?;
    ui.wait_text("[data-test=shortfall]", "0").await?;
    ui.shot("loan-lines-2-desk").await?;
    ui.click("[data-test=check-out]").await?;
    ui.wait_text("[data-test=stage]", "签收").await?;

    // The unit confirms receipt.
    ui.login("staff_a").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=confirm-receipt]").await?;
    ui.wait_text("[data-test=stage]", "借出").await?;

    // Back at the desk: the three typed again, recorded as returned.
    ui.login("keeper").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=open-desk]").await?;
    ui.select("select[name=reader]", "0").await?;
    ui.click("[data-test=start-scan]").await?;
    type_numbers(&ui, &["81002", "81101", "81001"]).await?;
    ui.click("[data-test=record-returns]").await?;
    ui.wait_text("[data-test=stage]", "已办结").await?;
    ui.shot("loan-lines-3-returned").await?;
    let r = s
        .get_ok(&format!("/api/v1/requests/{rid}"), &w.keeper)
        .await?;
    assert_eq!(r["stage"], "completed", "{r}");
    let returned = r["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["status"] == "returned")
        .count();
    assert_eq!(returned, 3, "{r}");
    // Returned, the calendar frees the days again.
    ui.go("/calendar?month=2099-11").await?;
    assert_eq!(cell(&ui, "折叠椅", "2099-11-11").await?.0, "3");
    assert_eq!(cell(&ui, "会议桌", "2099-11-11").await?.0, "1");
    ui.c.clone().close().await?;
    Ok(())
}
