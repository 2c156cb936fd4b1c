//! The province cockpit (驾驶舱) in a browser, on the demo network
//! (`admin seed --network`) after a year of requests across its regions:
//! the province's approver opens the cockpit (their province, its own
//! figures and one row per city), drills down to 南宁市 (the city's own
//! figures and its three counties) and back up. Screenshots:
//! `docs/screenshots/cockpit-province.png`, `cockpit-city.png` with
//! `UPDATE_SCREENSHOTS=1`.

use anyhow::{anyhow, Result};
use fantoccini::Locator;
use test_support::unreadable;

use super::*;

/// The visible text of the page, checked: no raw ids, no English words.
async fn readable(ui: &Ui<'_>) -> Result<String> {
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let bad = unreadable(&text, &[]);
    if !bad.is_empty() {
        bail!("{} shows {bad:?}:\n{text}", ui.path().await?);
    }
    Ok(text)
}

#[tokio::test]
async fn the_cockpit_drills_down_from_the_province_to_a_city() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let s = Server::start()?;
    s.process
        .admin(&["seed", "--network", "--password", PASSWORD])?;
    s.process
        .admin(&["simulate-year", "--requests", "80", "--seed", "5"])?;
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    ui.c.set_window_size(1440, 900).await?;
    ui.login("gx-approver").await?;
    // The menu leads there.
    ui.go("/dashboard").await?;
    ui.click("header.top nav a[href='/cockpit']").await?;
    ui.wait_text("h1", "广西壮族自治区").await?;
    ui.wait_count("table.cockpit tbody tr", 4).await?;
    let text = readable(&ui).await?;
    for want in [
        "广西壮族自治区（本级）",
        "南宁市",
        "柳州市",
        "桂林市",
        "闲置率",
        "节约资金",
    ] {
        if !text.contains(want) {
            bail!("the province's cockpit does not say {want}:\n{text}");
        }
    }
    ui.shot("cockpit-province").await?;

    // Drill down: the city's row links to the city.
    let mut to_city = None;
    for a in ui.c.find_all(Locator::Css("a[data-test=drill]")).await? {
        if a.text().await? == "南宁市" {
            to_city = Some(a);
        }
    }
    to_city
        .ok_or_else(|| anyhow!("no drill-down link to 南宁市"))?
        .click()
        .await?;
    ui.wait_text("h1", "南宁市").await?;
    ui.wait_count("table.cockpit tbody tr", 4).await?;
    let text = readable(&ui).await?;
    for want in ["南宁市（本级）", "武鸣区", "宾阳县", "上林县"] {
        if !text.contains(want) {
            bail!("the city's cockpit does not say {want}:\n{text}");
        }
    }
    if !ui
        .c
        .find_all(Locator::Css("a[data-test=drill]"))
        .await?
        .is_empty()
    {
        bail!("a county has nothing below it to drill into");
    }
    ui.shot("cockpit-city").await?;

    // And back up to the province by the way it came.
    ui.click("nav.crumbs a[data-test=up]").await?;
    ui.wait_text("h1", "广西壮族自治区").await?;
    ui.c.clone().close().await?;
    Ok(())
}
