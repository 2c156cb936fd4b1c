//! The walk of issue 3/8 on the main job's own data: `scripts/run.sh` runs
//! for real (server, simulated field built from the register, daemon). A
//! unit files a loan of office chairs, the approver approves, the keeper
//! checks it out at the desk with run.sh's simulated desk reader, the unit
//! confirms; then a keeper's phone (390×844) shows the desk and runs a
//! stock-take with run.sh's handheld. Every page the walk shows is checked
//! for raw ids and English words (Chinese mode), and screenshots of it go
//! to `docs/screenshots/walk-*.png` with `UPDATE_SCREENSHOTS=1`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use fantoccini::Locator;
use serde_json::Value;
use test_support::{
    bin_dir, field, free_port, population_epcs, run_command, unreadable, Api, MainJob,
    DEMO_PASSWORD,
};

use super::*;

/// Every string under `items[*]` keys that name things, of one list.
async fn names_in(api: &Api, token: &str, path: &str, out: &mut Vec<String>) -> Result<Value> {
    let v = api.get_ok(path, token).await?;
    if let Some(items) = v["items"].as_array() {
        for it in items {
            for k in ["name", "username", "display_name", "code", "asset_number"] {
                if let Some(s) = it[k].as_str() {
                    out.push(s.to_owned());
                }
            }
        }
    }
    Ok(v)
}

/// What a person reads on the current page, checked; problems are kept
/// per page so one run reports them all.
struct Reading<'a> {
    data: &'a [String],
    problems: BTreeMap<String, Vec<String>>,
    pages: usize,
}

impl Reading<'_> {
    async fn check(&mut self, ui: &Ui<'_>, what: &str) -> Result<()> {
        let text =
            ui.c.execute("return document.body.innerText;", vec![])
                .await?;
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.trim().is_empty() {
            bail!("{what}: the page shows nothing");
        }
        self.pages += 1;
        let found = unreadable(&text, self.data);
        if !found.is_empty() {
            self.problems
                .insert(format!("{what} ({})", ui.path().await?), found);
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_walk_on_the_main_jobs_data_from_loan_to_stocktake() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let tmp = tempfile::tempdir()?;
    let bins = bin_dir(tmp.path())?;
    let port = free_port()?;
    let run_dir = tmp.path().join("run");
    let mut job = MainJob::start(run_command(&bins, &run_dir, port, 900))?;
    job.wait_up(Duration::from_secs(120))?;
    let base = format!("http://127.0.0.1:{port}");
    let api = Api::new(&base)?;
    let admin = api.login("admin", DEMO_PASSWORD).await?;

    // The register's own names (data, not interface words).
    let mut data = vec![
        "admin".to_owned(),
        "approver".into(),
        "finance".into(),
        "keeper".into(),
        "unit".into(),
    ];
    let categories = names_in(&api, &admin, "/api/v1/categories?per_page=500", &mut data).await?;
    names_in(&api, &admin, "/api/v1/units?per_page=500", &mut data).await?;
    names_in(&api, &admin, "/api/v1/users?per_page=500", &mut data).await?;
    names_in(&api, &admin, "/api/v1/readers?per_page=500", &mut data).await?;
    let warehouses = names_in(&api, &admin, "/api/v1/warehouses?per_page=500", &mut data).await?;
    for w in warehouses["items"].as_array().into_iter().flatten() {
        let id = w["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("warehouse without id: {w}"))?;
        names_in(
            &api,
            &admin,
            &format!("/api/v1/warehouses/{id}/locations?per_page=500"),
            &mut data,
        )
        .await?;
    }
    let me = api.get_ok("/api/v1/auth/me", &admin).await?;
    if let Some(org) = me["org_name"].as_str() {
        data.push(org.to_owned());
    }
    data.push("demo-edge-01".into());

    // The office chairs on run.sh's desk shelf that no request holds.
    let chairs = categories["items"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["name"].as_str().is_some_and(|n| n.contains("办公椅")))
        })
        .and_then(|c| c["id"].as_i64())
        .ok_or_else(|| anyhow!("no 办公椅 category in the demo register: {categories}"))?;
    let mut held = Vec::new();
    let waiting = api
        .get_ok("/api/v1/requests?stage=checkout&per_page=100", &admin)
        .await?;
    for r in waiting["items"].as_array().into_iter().flatten() {
        let id = r["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("request without id"))?;
        let full = api
            .get_ok(&format!("/api/v1/requests/{id}"), &admin)
            .await?;
        for i in full["items"].as_array().into_iter().flatten() {
            if let Some(a) = i["asset_id"].as_i64() {
                held.push(a);
            }
        }
    }
    let shelf = population_epcs(&field(&run_dir)?, "desk-shelf")?;
    let mut free_chairs = Vec::new();
    for epc in &shelf {
        let a = api
            .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &admin)
            .await?;
        let id = a["id"].as_i64().ok_or_else(|| anyhow!("no id: {a}"))?;
        if a["category_id"].as_i64() == Some(chairs)
            && a["state"] == "in_stock"
            && !held.contains(&id)
        {
            free_chairs.push(id);
        }
    }
    assert!(
        free_chairs.len() >= 2,
        "run.sh's desk shelf holds too few free office chairs ({free_chairs:?}); shelf {shelf:?}"
    );
    let k = free_chairs.len();
    // One more chair, in stock but not on the shelf: its tag will not be
    // read, the keeper types its number (手工录入).
    let in_stock = api
        .get_ok(
            &format!("/api/v1/assets?category_id={chairs}&state=in_stock&per_page=500"),
            &admin,
        )
        .await?;
    let typed = in_stock["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| {
            a["id"].as_i64().is_some_and(|id| !held.contains(&id))
                && a["epc"]
                    .as_str()
                    .is_some_and(|e| !shelf.iter().any(|s| s.eq_ignore_ascii_case(e)))
        })
        .ok_or_else(|| anyhow!("no tagged office chair in stock off the shelf: {in_stock}"))?;
    let typed_id = typed["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no id: {typed}"))?;
    let typed_number = typed["asset_number"]
        .as_str()
        .ok_or_else(|| anyhow!("no asset number: {typed}"))?
        .to_owned();

    let ui = Ui {
        c: browser(&d).await?,
        base: &base,
    };
    ui.c.set_window_size(1366, 900).await?;
    let mut read = Reading {
        data: &data,
        problems: BTreeMap::new(),
        pages: 0,
    };

    // The unit files a loan of k + 1 chairs for next month's meeting.
    ui.login_as("unit", DEMO_PASSWORD).await?;
    read.check(&ui, "unit's dashboard").await?;
    ui.go("/requests/new/loan").await?;
    read.check(&ui, "loan form").await?;
    fill_loan(&ui, chairs, &(k + 1).to_string()).await?;
    ui.wait_text("[data-test=stage]", "审批").await?;
    let rid = id_in(&ui.path().await?)?;
    read.check(&ui, "filed loan").await?;
    ui.shot("walk-1-filed").await?;

    // The approver approves from the inbox.
    ui.login_as("approver", DEMO_PASSWORD).await?;
    ui.go("/inbox").await?;
    read.check(&ui, "approver's inbox").await?;
    ui.click(&format!("a[href='/requests/{rid}']")).await?;
    read.check(&ui, "request to approve").await?;
    ui.click("[data-test=approve]").await?;
    ui.wait_text("[data-test=stage]", "出库").await?;
    read.check(&ui, "approved request").await?;

    // The keeper checks it out at the desk: run.sh's desk reader reads the
    // shelf, the k free chairs match; the last one is typed by hand.
    ui.login_as("keeper", DEMO_PASSWORD).await?;
    read.check(&ui, "keeper's dashboard").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=open-desk]").await?;
    read.check(&ui, "desk, before scanning").await?;
    ui.click("[data-test=start-scan]").await?;
    ui.wait_text("[data-test=matched]", &k.to_string()).await?;
    ui.wait_text("[data-test=shortfall]", "1").await?;
    read.check(&ui, "desk, scanned").await?;
    ui.c.find(Locator::Css(
        "[data-test=manual-entry] input[name=asset_number]",
    ))
    .await?
    .send_keys(&typed_number)
    .await?;
    ui.click("[data-test=manual-submit]").await?;
    ui.wait_text("[data-test=matched]", &(k + 1).to_string())
        .await?;
    ui.wait_text("[data-test=shortfall]", "0").await?;
    read.check(&ui, "desk, one typed by hand").await?;
    ui.shot("walk-2-desk").await?;
    ui.click("[data-test=check-out]").await?;
    ui.wait_text("[data-test=stage]", "签收").await?;
    read.check(&ui, "checked-out request").await?;

    // The unit confirms receipt.
    ui.login_as("unit", DEMO_PASSWORD).await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=confirm-receipt]").await?;
    ui.wait_text("[data-test=stage]", "借出").await?;
    read.check(&ui, "confirmed loan").await?;
    ui.shot("walk-3-on-loan").await?;
    let r = api
        .get_ok(&format!("/api/v1/requests/{rid}"), &admin)
        .await?;
    assert_eq!(r["stage"], "on_loan", "{r}");
    let out: Vec<i64> = r["items"]
        .as_array()
        .map(|v| v.iter().filter_map(|i| i["asset_id"].as_i64()).collect())
        .unwrap_or_default();
    for c in free_chairs.iter().chain([&typed_id]) {
        assert!(out.contains(c), "chair {c} is not on loan {rid}: {r}");
    }
    assert_eq!(out.len(), k + 1, "{r}");

    // A keeper's phone: the desk of the loan run.sh left waiting, and a
    // stock-take of the location run.sh's handheld stands at.
    ui.login_as("keeper", DEMO_PASSWORD).await?;
    ui.c.set_window_size(390, 844).await?;
    let guide = job.stdout();
    let waiting: i64 = guide
        .split("open request ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("run.sh names no waiting request:\n{guide}"))?;
    ui.go(&format!("/requests/{waiting}")).await?;
    read.check(&ui, "waiting loan on a phone").await?;
    ui.click("[data-test=open-desk]").await?;
    ui.click("[data-test=start-scan]").await?;
    let r = api
        .get_ok(&format!("/api/v1/requests/{waiting}"), &admin)
        .await?;
    let items = r["items"].as_array().map(Vec::len).unwrap_or_default();
    ui.wait_text("[data-test=matched]", &items.to_string())
        .await?;
    read.check(&ui, "desk on a phone").await?;
    ui.shot("walk-4-phone-desk").await?;
    // "handheld: 34 of the 35 assets the register holds at A01 (公物仓 Warehouse 1)"
    let line = guide
        .lines()
        .find(|l| l.contains("the register holds at "))
        .ok_or_else(|| anyhow!("run.sh names no stock-take location:\n{guide}"))?;
    let seen: usize = line
        .split("handheld: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("no count in {line}"))?;
    let place = line
        .split("holds at ")
        .nth(1)
        .ok_or_else(|| anyhow!("no place in {line}"))?;
    let (code, warehouse) = place
        .trim_end_matches(')')
        .split_once(" (")
        .ok_or_else(|| anyhow!("no warehouse in {line}"))?;
    let mut location = None;
    for w in warehouses["items"].as_array().into_iter().flatten() {
        if w["name"] != warehouse {
            continue;
        }
        let wid = w["id"].as_i64().ok_or_else(|| anyhow!("no id: {w}"))?;
        let ls = api
            .get_ok(
                &format!("/api/v1/warehouses/{wid}/locations?per_page=500"),
                &admin,
            )
            .await?;
        location = ls["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["code"] == code)
            .and_then(|l| l["id"].as_i64())
            .map(|l| (wid, l));
    }
    let (wid, lid) = location.ok_or_else(|| anyhow!("no location {code} in {warehouse}"))?;
    ui.go("/stocktakes").await?;
    read.check(&ui, "stock-takes on a phone").await?;
    ui.select("select[name=warehouse_id]", &wid.to_string())
        .await?;
    ui.select("select[name=location_id]", &lid.to_string())
        .await?;
    // The handheld reads its `stock` tags; those still held at the location
    // (the walk's loan may have taken some) are the ones found.
    let mut still_there = 0;
    for epc in population_epcs(&field(&run_dir)?, "stock")? {
        let a = api
            .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &admin)
            .await?;
        if a["holder_location_id"].as_i64() == Some(lid) {
            still_there += 1;
        }
    }
    assert!(
        still_there > 0 && still_there <= seen,
        "{still_there} of the handheld's {seen} tags are held at {code}"
    );
    ui.click("[data-test=open-stocktake]").await?;
    ui.wait_text("[data-test=found]", &still_there.to_string())
        .await?;
    read.check(&ui, "stock-take on a phone").await?;
    ui.shot("walk-5-phone-stocktake").await?;
    ui.c.clone().close().await?;

    assert!(read.pages >= 15, "the walk read only {} pages", read.pages);
    assert!(
        read.problems.is_empty(),
        "pages show raw ids or English in Chinese mode:\n{:#?}",
        read.problems
    );
    Ok(())
}
