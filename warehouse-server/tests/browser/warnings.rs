//! The warnings page (预警) in a browser: an administrator sees an open
//! gate alarm, a loss case and an overdue loan with who must act and the
//! count of each kind on top, filters by kind from a count, and the
//! borrowing unit's staff see only their own unit's warning. Screenshot:
//! `docs/screenshots/warnings.png` with `UPDATE_SCREENSHOTS=1`.

use anyhow::Result;
use fantoccini::Locator;
use test_support::unreadable;

use super::*;

#[tokio::test]
async fn the_warnings_page_counts_filters_and_names_who_must_act() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    // An in-stock desk leaves through the gate: an open alarm.
    let epc = w.tag(w.asset_wh).await?;
    s.post_ok(
        "/api/v1/readers/observations",
        &w.gate_token,
        batch("gate-1", 1, vec![obs(&epc, "gate-1", "added")]),
        200,
    )
    .await?;
    // Unit A borrows it, and the loan runs past its due date.
    let loan = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [w.asset_wh], "reason": "培训",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
            201,
        )
        .await?;
    let loan = loan["request"]["id"]
        .as_i64()
        .or(loan["id"].as_i64())
        .ok_or_else(|| anyhow!("no request id in {loan}"))?;
    for (token, body) in [
        (&w.approver, json!({"action": "approve", "comment": "同意"})),
        (&w.keeper, json!({"action": "check_out", "epcs": [epc]})),
    ] {
        s.post_ok(&format!("/api/v1/requests/{loan}/steps"), token, body, 200)
            .await?;
    }
    backdate_loan(&s.db, loan, "2026-01-05", "2026-01-06")?;
    // Unit A reports its own desk lost: a loss case.
    s.post_ok(
        "/api/v1/requests",
        &w.staff_a,
        json!({"kind": "damage", "asset_ids": [w.asset_a], "reason": "搬迁后找不到", "loss": true}),
        201,
    )
    .await?;

    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    ui.c.set_window_size(1280, 800).await?;
    ui.login(ADMIN).await?;
    ui.go("/dashboard").await?;
    ui.click("header.top nav a[href='/warnings']").await?;
    ui.wait_count("table[data-test=warnings] tbody tr", 3)
        .await?;
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let bad = unreadable(&text, &["单位A".into(), "gate-1".into(), "主仓".into()]);
    if !bad.is_empty() {
        bail!("the warnings page shows {bad:?}:\n{text}");
    }
    for want in [
        "出口报警未处理",
        "盘亏待处理",
        "借用逾期",
        "仓管员（全网）",
        "审批人（全网）",
        "单位资产管理员（单位A）",
    ] {
        if !text.contains(want) {
            bail!("the warnings page does not say {want}:\n{text}");
        }
    }
    ui.shot("warnings").await?;

    // A count filters the list to its kind.
    ui.click("a[data-test=count-overdue_loan]").await?;
    ui.wait_count("table[data-test=warnings] tbody tr", 1)
        .await?;
    ui.wait_text("table[data-test=warnings] tbody tr", "借用逾期")
        .await?;

    // The unit's staff see their unit's warnings only.
    ui.login("staff_a").await?;
    ui.go("/warnings").await?;
    ui.wait_count("table[data-test=warnings] tbody tr", 2)
        .await?;
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    if text.contains("仓管员（全网）") {
        bail!("unit staff see the warehouse's alarm:\n{text}");
    }
    Ok(())
}
