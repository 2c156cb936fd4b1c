//! Reports rolled up by region and the province cockpit (issue 15): on
//! the demo network (`admin seed --network`) with a scripted year of
//! requests filed across its regions, a city's report is the sum of its
//! own figures and its counties' reports, column by column; a person
//! placed in a region gets their reach without asking and a region
//! outside it answers exactly as one that does not exist; the cockpit's
//! rows add up to its total and to the reports.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::pages_words::check_page;
use crate::support::*;

/// The demo network's regions by name.
async fn regions(s: &Server, token: &str) -> Result<BTreeMap<String, i64>> {
    let v = s.get_ok("/api/v1/regions?per_page=100", token).await?;
    let items = v["items"]
        .as_array()
        .ok_or_else(|| anyhow!("no regions: {v}"))?;
    items
        .iter()
        .map(|r| {
            Ok((
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["id"].as_i64().ok_or_else(|| anyhow!("no id: {r}"))?,
            ))
        })
        .collect()
}

fn int(v: &Value, what: &str) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| anyhow!("{what} is not an integer: {v}"))
}

/// The network, a year of requests across it, and the logins.
async fn network() -> Result<(Server, String, BTreeMap<String, i64>)> {
    let s = Server::start()?;
    s.process
        .admin(&["seed", "--network", "--password", PASSWORD])
        .context("seed --network")?;
    let year = s
        .process
        .admin(&["simulate-year", "--requests", "60", "--seed", "3"])
        .context("simulate-year on the network")?;
    let year: Value = serde_json::from_str(&year)?;
    ensure!(year["ok"] == true, "the year's books do not add up: {year}");
    // The books were checked per region too, for every report.
    let per_region = year["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["name"].as_str().is_some_and(|n| {
                n.ends_with("each region's report equals the sum of its regions' rows")
            })
        })
        .count();
    // Every report: `GET /api/v1/reports` lists eleven (the last the idle
    // report, 闲置资产问责).
    ensure!(
        per_region == 11,
        "per-region checks: {per_region} of 11: {year}"
    );
    let admin = s.login(ADMIN, PASSWORD).await?;
    let r = regions(&s, &admin).await?;
    ensure!(r.len() == 13, "13 regions expected: {r:?}");
    // A second seed is refused, saying why, and adds nothing.
    let again = test_support::cli(
        &s.db,
        &["admin", "seed", "--network", "--password", PASSWORD],
    )?;
    let err = String::from_utf8_lossy(&again.stderr);
    ensure!(
        !again.status.success() && err.contains("already seeded"),
        "a second seed --network: {} {err}",
        again.status
    );
    ensure!(
        regions(&s, &admin).await?.len() == 13,
        "the second seed added regions"
    );
    Ok((s, admin, r))
}

#[tokio::test]
async fn a_city_report_is_its_own_figures_plus_its_counties_and_reach_is_kept() -> Result<()> {
    let (s, admin, r) = network().await?;
    let city = r["南宁市"];
    let counties = [r["武鸣区"], r["宾阳县"], r["上林县"]];
    let names = s.get_ok("/api/v1/reports", &admin).await?;
    let names: Vec<String> = names
        .as_array()
        .ok_or_else(|| anyhow!("no report list"))?
        .iter()
        .filter_map(|n| n["name"].as_str().map(str::to_owned))
        .collect();
    ensure!(names.len() == 11, "{names:?}");
    for name in &names {
        let whole = s
            .get_ok(&format!("/api/v1/reports/{name}?region={city}"), &admin)
            .await?;
        let cut = s
            .get_ok(
                &format!("/api/v1/reports/{name}?region={city}&by=region"),
                &admin,
            )
            .await?;
        assert_eq!(
            cut.totals(),
            whole.totals(),
            "{name}: rows per region add up to the city"
        );
        let cols: Vec<&str> = cut["columns"]
            .as_array()
            .ok_or_else(|| anyhow!("no columns"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(cols[..2], ["region_id", "region"], "{name}");
        let mut parts = Vec::new();
        for k in counties {
            parts.push(
                s.get_ok(&format!("/api/v1/reports/{name}?region={k}"), &admin)
                    .await?,
            );
        }
        // Column by column: the city = its own rows + each county's report.
        let own: Vec<&Value> = cut["rows"]
            .as_array()
            .ok_or_else(|| anyhow!("no rows"))?
            .iter()
            .filter(|row| row[0].as_i64() == Some(city))
            .collect();
        let totals = whole["totals"]
            .as_object()
            .ok_or_else(|| anyhow!("no totals"))?;
        for (k, v) in totals {
            let Some(i) = cols.iter().position(|c| c == k) else {
                continue;
            };
            let mut sum: i64 = own.iter().filter_map(|row| row[i].as_i64()).sum();
            for p in &parts {
                sum += int(&p["totals"][k], k)?;
            }
            assert_eq!(int(v, k)?, sum, "{name} {k}: city vs own + counties");
        }
        // Every region row of the cut is the city or one of its counties.
        for row in cut["rows"].as_array().into_iter().flatten() {
            let g = int(&row[0], "region_id")?;
            assert!(g == city || counties.contains(&g), "{name}: {row}");
        }
    }
    // The figures are not trivially zero: assets in the city and in each
    // county, and the holders' rows are exactly the counties' and the
    // city's own.
    let by_state = |q: String| {
        let s = &s;
        let admin = &admin;
        async move {
            s.get_ok(&format!("/api/v1/reports/assets-by-state?{q}"), admin)
                .await
        }
    };
    let whole = by_state(format!("region={city}")).await?;
    let mut holders = BTreeSet::new();
    for k in counties {
        let part = by_state(format!("region={k}")).await?;
        ensure!(
            int(&part["totals"]["count"], "count")? > 0,
            "county {k} has no assets"
        );
        for row in part["rows"].as_array().into_iter().flatten() {
            holders.insert(row.to_string());
        }
    }
    let cut = by_state(format!("region={city}&by=region")).await?;
    for row in cut["rows"].as_array().into_iter().flatten() {
        if row[0].as_i64() == Some(city) {
            let rest: Vec<Value> = row
                .as_array()
                .into_iter()
                .flatten()
                .skip(2)
                .cloned()
                .collect();
            holders.insert(Value::Array(rest).to_string());
        }
    }
    let city_rows: BTreeSet<String> = whole["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Value::to_string)
        .collect();
    assert_eq!(
        city_rows, holders,
        "the city's rows are its counties' and its own"
    );
    let network = by_state(String::new()).await?;
    ensure!(
        int(&network["totals"]["count"], "count")? > int(&whole["totals"]["count"], "count")?,
        "the network holds more than one city"
    );

    // A county approver gets the county without asking; the city, a
    // sibling county and a region that does not exist are the same 404.
    let wuming = s.login("wuming-approver", PASSWORD).await?;
    let mine = s.get_ok("/api/v1/reports/assets-by-state", &wuming).await?;
    let asked = by_state(format!("region={}", counties[0])).await?;
    assert_eq!(mine.totals(), asked.totals());
    assert_eq!(mine["rows"], asked["rows"]);
    let mut refusals = Vec::new();
    for region in [city, counties[1], 999_999] {
        let (st, body) = s
            .get(
                &format!("/api/v1/reports/requests?region={region}&by=region"),
                &wuming,
            )
            .await?;
        assert_eq!(st, StatusCode::NOT_FOUND, "{region}: {body}");
        refusals.push(body["error"]["code"].clone());
        let (st, _) = s
            .get(&format!("/api/v1/cockpit?region={region}"), &wuming)
            .await?;
        assert_eq!(st, StatusCode::NOT_FOUND, "cockpit {region}");
    }
    assert!(refusals.iter().all(|c| *c == refusals[0]), "{refusals:?}");
    // A city approver reaches the city and its counties.
    let nanning = s.login("nanning-approver", PASSWORD).await?;
    let theirs = s.get_ok("/api/v1/reports/disposals", &nanning).await?;
    let city_disposals = s
        .get_ok(&format!("/api/v1/reports/disposals?region={city}"), &admin)
        .await?;
    assert_eq!(theirs.totals(), city_disposals.totals());
    s.get_ok(
        &format!("/api/v1/reports/loans?region={}", counties[2]),
        &nanning,
    )
    .await?;
    let (st, _) = s
        .get(
            &format!("/api/v1/reports/loans?region={}", r["柳州市"]),
            &nanning,
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A bad `by` is named.
    let (st, err) = s.get("/api/v1/reports/loans?by=colour", &admin).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "by");
    Ok(())
}

trait Totals {
    fn totals(&self) -> &Value;
}

impl Totals for Value {
    fn totals(&self) -> &Value {
        &self["totals"]
    }
}

#[tokio::test]
async fn the_cockpit_rolls_regions_up_and_drills_down() -> Result<()> {
    let (s, admin, r) = network().await?;
    let province = r["广西壮族自治区"];
    let city = r["南宁市"];
    // The whole network: what is in no region, then the province.
    let net = s.get_ok("/api/v1/cockpit", &admin).await?;
    assert_eq!(net["region"], Value::Null);
    let rows = net["rows"].as_array().ok_or_else(|| anyhow!("no rows"))?;
    let gx = rows
        .iter()
        .find(|row| row["region"]["id"].as_i64() == Some(province))
        .ok_or_else(|| anyhow!("no province row: {net}"))?;
    assert_eq!(gx["drillable"], true);
    // The province: its own figures and three cities, rolled up.
    let p = s
        .get_ok(&format!("/api/v1/cockpit?region={province}"), &admin)
        .await?;
    assert_eq!(
        p["total"], gx["figures"],
        "the drill-down keeps the figures"
    );
    let prow = p["rows"].as_array().ok_or_else(|| anyhow!("no rows"))?;
    assert_eq!(prow.len(), 4, "{p}");
    assert_eq!(prow[0]["own"], true);
    // Additive figures: the rows add up to the total.
    for k in [
        "assets",
        "value_fen",
        "idle",
        "reused",
        "saved_fen",
        "loans_out",
        "loan_items_out",
        "disposals",
        "assets_disposed",
        "proceeds_fen",
    ] {
        let sum: i64 = prow
            .iter()
            .map(|row| row["figures"][k].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(int(&p["total"][k], k)?, sum, "{k}");
    }
    // The city's row is the city's cockpit; its assets are the report's.
    let c = s
        .get_ok(&format!("/api/v1/cockpit?region={city}"), &admin)
        .await?;
    let crow = prow
        .iter()
        .find(|row| row["region"]["id"].as_i64() == Some(city))
        .ok_or_else(|| anyhow!("no city row"))?;
    assert_eq!(c["total"], crow["figures"]);
    assert_eq!(c["path"][0]["id"], province);
    let report = s
        .get_ok(
            &format!("/api/v1/reports/assets-by-state?region={city}"),
            &admin,
        )
        .await?;
    assert_eq!(
        int(&c["total"]["assets"], "assets")? + int(&c["total"]["assets_disposed"], "disposed")?,
        int(&report["totals"]["count"], "count")?
    );
    let open = &c["total"]["open_requests"];
    let requests = s
        .get_ok(&format!("/api/v1/reports/requests?region={city}"), &admin)
        .await?;
    let open_in_report: i64 = requests["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row| {
            !matches!(
                row[1].as_str(),
                Some("completed" | "rejected" | "withdrawn")
            )
        })
        .map(|row| row[2].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(
        int(&open["under_7_days"], "open")?
            + int(&open["from_7_to_30_days"], "open")?
            + int(&open["over_30_days"], "open")?,
        open_in_report,
        "open requests by age count the report's open requests"
    );
    ensure!(int(&c["total"]["assets"], "assets")? > 0);
    // A city approver's cockpit is their city; unit staff may not look.
    let nanning = s.login("nanning-approver", PASSWORD).await?;
    let theirs = s.get_ok("/api/v1/cockpit", &nanning).await?;
    assert_eq!(theirs["region"]["id"], city);
    assert_eq!(theirs["total"], c["total"]);
    assert_eq!(
        theirs["path"],
        serde_json::json!([]),
        "the province is out of reach"
    );
    let staff = s.login("nanning-unit1", PASSWORD).await?;
    let (st, _) = s.get("/api/v1/cockpit", &staff).await?;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The pages: in Chinese, names not ids, a drill-down link per city.
    let web = client()?;
    let html = check_page(
        &web,
        &s.base,
        &format!("/cockpit?region={province}"),
        &admin,
        &[
            "驾驶舱",
            "广西壮族自治区（本级）",
            "南宁市",
            "柳州市",
            "桂林市",
            "闲置率",
            "处置收入（元）",
            "资产状态分布",
        ],
    )
    .await?;
    drop(html);
    let (_, raw, _) = page(
        &web,
        &s.base,
        &format!("/cockpit?region={province}"),
        &admin,
        "",
    )
    .await?;
    assert!(
        raw.contains(&format!("href=\"/cockpit?region={city}\"")),
        "no drill-down link to the city"
    );
    check_page(
        &web,
        &s.base,
        &format!("/cockpit?region={city}"),
        &nanning,
        &["南宁市（本级）", "武鸣区", "宾阳县", "上林县"],
    )
    .await?;
    check_page(
        &web,
        &s.base,
        &format!("/reports?name=assets-by-state&region={city}&by=region"),
        &admin,
        &["区域", "南宁市", "武鸣区", "合计"],
    )
    .await?;
    let (st, _, _) = page(
        &web,
        &s.base,
        &format!("/cockpit?region={}", r["柳州市"]),
        &nanning,
        "",
    )
    .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = page(
        &web,
        &s.base,
        &format!("/reports?name=loans&region={}", r["柳州市"]),
        &nanning,
        "",
    )
    .await?;
    assert_eq!(st, StatusCode::NOT_FOUND, "a report page out of reach");
    let (_, home, _) = page(&web, &s.base, "/dashboard", &nanning, "").await?;
    assert!(
        home.contains("href=\"/cockpit\""),
        "the menu links the cockpit"
    );
    Ok(())
}
