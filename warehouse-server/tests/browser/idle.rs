//! The unit's idle findings (闲置问责) in a browser: an asset the unit holds
//! has not been read for longer than the agency's rule, the daily scan (run
//! here on demand) raises a finding, the unit's staff open it from the menu,
//! read it in Chinese and answer it with an explanation; the finding's page
//! then tells its record. Screenshots: `docs/screenshots/idle-findings-unit.png`,
//! `idle-finding-answered.png` with `UPDATE_SCREENSHOTS=1`.

use anyhow::Result;
use fantoccini::Locator;
use test_support::unreadable;

use super::*;

#[tokio::test]
async fn the_unit_answers_its_idle_finding_from_the_findings_page() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let s = Server::start()?;
    let world = NamedWorld::new(&s).await?;
    s.call(
        reqwest::Method::PUT,
        "/api/v1/idle-rules",
        Some(&world.approver),
        Some(
            json!({"held_unseen_days": 30, "stock_unseen_days": 365, "listed_days": 90,
            "overdue_loans": true, "unused_days": 30, "answer_days": 15}),
        ),
    )
    .await?;
    // Chair 1002, held by 市财政局, registered 45 days ago and never read.
    test_support::db_execute(
        &s.db,
        &format!(
            "UPDATE assets SET created_at = created_at - {} WHERE id = {}",
            45 * 86_400_000_i64,
            world.held
        ),
    )?;
    s.post_ok(
        "/api/v1/idle-findings/scan",
        &world.approver,
        json!({}),
        200,
    )
    .await?;

    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    ui.c.set_window_size(1280, 900).await?;
    ui.login("zhaoliu").await?;
    ui.go("/dashboard").await?;
    ui.click("header.top nav a[href='/idle-findings']").await?;
    ui.wait_text("h1", "闲置问责").await?;
    ui.wait_count("table[data-test=open-findings] tbody tr", 1)
        .await?;
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let data = ["办公椅乙", "市财政局"].map(String::from);
    let bad = unreadable(&text, &data);
    if !bad.is_empty() {
        bail!("the findings page shows {bad:?}:\n{text}");
    }
    for want in [
        "1002",
        "单位持有资产长期未读到",
        "45",
        "600.00",
        "待单位答复",
    ] {
        if !text.contains(want) {
            bail!("the findings page does not say {want}:\n{text}");
        }
    }
    ui.shot("idle-findings-unit").await?;

    // The answer: an explanation.
    ui.select(
        "form[data-test=answer-finding] select[name=action]",
        "explain",
    )
    .await?;
    ui.c.find(Locator::Css(
        "form[data-test=answer-finding] textarea[name=text]",
    ))
    .await?
    .send_keys("会议室备用椅，每季度表彰会使用")
    .await?;
    ui.click("form[data-test=answer-finding] button[type=submit]")
        .await?;
    ui.wait_text("main", "已说明原因").await?;
    ui.wait_text("ol[data-test=finding-steps]", "赵六 说明原因")
        .await?;
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let data = [
        "办公椅乙",
        "市财政局",
        "会议室备用椅，每季度表彰会使用",
        "李四",
        "赵六",
    ]
    .map(String::from);
    let bad = unreadable(&text, &data);
    if !bad.is_empty() {
        bail!("the finding's page shows {bad:?}:\n{text}");
    }
    ui.shot("idle-finding-answered").await?;
    // Nothing is left to answer.
    ui.go("/idle-findings").await?;
    ui.wait_text("main", "暂无数据").await?;
    ui.c.clone().close().await?;
    Ok(())
}
