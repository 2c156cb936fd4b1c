//! Keeper workflows against the real server. `reader-daemon stocktake`: a location with
//! registered, tagged assets; the handheld (simulated, on a PTY) sees most
//! of them plus foreign tags; the command's summary and the server's live
//! reconciliation agree with what was placed in the field.

mod support;

use std::process::Command;

use hardware_sim::{ProtocolKind, Scenario, Simulator, TagSelector};
use serde_json::{json, Value};
use shared::tag::EpcBytes;
use support::*;

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> R<Value> {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self.client.request(method, &url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await?;
            let status = resp.status();
            let text = resp.text().await?;
            if !status.is_success() {
                return Err(format!("{url}: {status} {text}").into());
            }
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }
    fn post(&self, path: &str, token: &str, body: Value) -> R<Value> {
        self.call(reqwest::Method::POST, path, token, Some(body))
    }
}

fn id(v: &Value) -> R<i64> {
    v["id"]
        .as_i64()
        .ok_or_else(|| format!("no id in {v}").into())
}

#[test]
fn handheld_stocktake_reconciles_with_the_server() -> R {
    // STOCKTAKE_EXPECTED=5000 STOCKTAKE_SECONDS=60 for the full-size run.
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let expected_n = env("STOCKTAKE_EXPECTED", 40);
    let present_n = expected_n * 85 / 100;
    let seconds = env("STOCKTAKE_SECONDS", 4);
    const FOREIGN: usize = 3;
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        client: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let login = |user: &str| -> R<String> {
        let v = http.call(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": user, "password": "s3cret-pass"})),
        )?;
        Ok(v["token"].as_str().ok_or("no token")?.to_string())
    };
    let admin = login("admin")?;
    http.post(
        "/api/v1/users",
        &admin,
        json!({"username": "keeper", "password": "s3cret-pass", "role": "keeper"}),
    )?;
    let keeper = login("keeper")?;
    let wh = id(&http.post("/api/v1/warehouses", &admin, json!({"name": "主仓"}))?)?;
    let loc = id(&http.post(
        &format!("/api/v1/warehouses/{wh}/locations"),
        &admin,
        json!({"code": "A01", "name": "Shelf 1"}),
    )?)?;
    let cat = id(&http.post(
        "/api/v1/categories",
        &admin,
        json!({"code": "0101", "name": "办公桌"}),
    )?)?;
    let reader = http.post(
        "/api/v1/readers",
        &admin,
        json!({"name": "hand-1", "role": "handheld", "location_id": loc}),
    )?;
    let reader_id = id(&reader["reader"])?;
    let reader_token = reader["token"]
        .as_str()
        .ok_or("no reader token")?
        .to_string();

    // Registered, tagged assets on shelf A01.
    let mut epcs = Vec::new();
    for n in 0..expected_n {
        let asset = id(&http.post(
            "/api/v1/assets",
            &admin,
            json!({"asset_number": format!("{}", 10000 + n), "name": format!("桌子 {n}"), "category_id": cat,
                   "original_value_fen": 150000, "purchase_date": "2024-03-01", "holder_location_id": loc}),
        )?)?;
        let c = http.post(
            &format!("/api/v1/assets/{asset}/tag/commission"),
            &keeper,
            json!({}),
        )?;
        let epc = c["epc"].as_str().ok_or("no epc")?.to_string();
        let cid = c["commission_id"].as_i64().ok_or("no commission id")?;
        http.post(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &reader_token,
            json!({"epc": epc}),
        )?;
        epcs.push(EpcBytes::from_hex(&epc)?);
    }
    let st = id(&http.post(
        "/api/v1/stocktakes",
        &keeper,
        json!({"warehouse_id": wh, "location_id": loc, "reader_ids": [reader_id]}),
    )?)?;

    // The field: PRESENT of the expected tags and FOREIGN unknown ones.
    let link = dir.path().join("hand-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::Chainway, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    for epc in &epcs[..present_n] {
        sim.add_tag(epc, "reader-1", 1, 0.3).ok_or("no reader")?;
    }
    for n in 0..FOREIGN {
        let foreign = EpcBytes::new(&[0xE2, 0x80, 0x11, 0x70, 0, 0, 0, 0, 0, 0, 0xF0, n as u8])?;
        sim.add_tag(&foreign, "reader-1", 1, 0.3)
            .ok_or("no reader")?;
    }
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "chainway", "handheld");
    cfg.token = reader_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let out = Command::new(BIN)
        .args(["stocktake", "--config"])
        .arg(&config)
        .args([
            "--reader",
            "hand-1",
            "--session",
            &st.to_string(),
            "--keeper-token",
            &keeper,
        ])
        .args(["--duration-s", &seconds.to_string(), "--quiet"])
        .env("RUST_LOG", "warn")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "found {present_n} of {expected_n} expected, missing {}, unexpected {FOREIGN}",
            expected_n - present_n
        )),
        "{text}"
    );
    let rec = http.call(
        reqwest::Method::GET,
        &format!("/api/v1/stocktakes/{st}"),
        &keeper,
        None,
    )?;
    let c = &rec["counts"];
    assert_eq!(
        (
            c["expected"].as_u64(),
            c["found"].as_u64(),
            c["missing"].as_u64(),
            c["foreign"].as_u64()
        ),
        (
            Some(expected_n as u64),
            Some(present_n as u64),
            Some((expected_n - present_n) as u64),
            Some(FOREIGN as u64)
        ),
        "{rec}"
    );
    Ok(())
}

/// A tagged asset carried through an exit gate without an approved
/// check-out raises the server's alarm; one with approval does not.
#[test]
fn gate_pass_raises_the_servers_alarm() -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        client: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let v = http.call(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        "",
        Some(json!({"username": "admin", "password": "s3cret-pass"})),
    )?;
    let admin = v["token"].as_str().ok_or("no token")?.to_string();
    let wh = id(&http.post("/api/v1/warehouses", &admin, json!({"name": "主仓"}))?)?;
    let loc = id(&http.post(
        &format!("/api/v1/warehouses/{wh}/locations"),
        &admin,
        json!({"code": "A01", "name": "Shelf 1"}),
    )?)?;
    let cat = id(&http.post(
        "/api/v1/categories",
        &admin,
        json!({"code": "0101", "name": "办公桌"}),
    )?)?;
    let gate = http.post(
        "/api/v1/readers",
        &admin,
        json!({"name": "gate-1", "role": "gate"}),
    )?;
    let gate_token = gate["token"].as_str().ok_or("no reader token")?.to_string();
    let mut tagged = Vec::new();
    for n in 0..2 {
        let asset = id(&http.post(
            "/api/v1/assets",
            &admin,
            json!({"asset_number": format!("{}", 7000 + n), "name": "投影仪", "category_id": cat,
                   "original_value_fen": 420000, "purchase_date": "2024-03-01", "holder_location_id": loc}),
        )?)?;
        let c = http.post(
            &format!("/api/v1/assets/{asset}/tag/commission"),
            &gate_token,
            json!({}),
        )?;
        let epc = c["epc"].as_str().ok_or("no epc")?.to_string();
        let cid = c["commission_id"].as_i64().ok_or("no commission id")?;
        http.post(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &gate_token,
            json!({"epc": epc}),
        )?;
        tagged.push((asset, EpcBytes::from_hex(&epc)?));
    }
    // The second asset's check-out is approved.
    http.call(
        reqwest::Method::PUT,
        &format!("/api/v1/assets/{}/checkout-approval", tagged[1].0),
        &admin,
        Some(json!({"approved": true, "reason": "借出"})),
    )?;

    let link = dir.path().join("gate-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("gate-1", &link, "r2000", "gate");
    cfg.token = gate_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let daemon = Daemon::start(&config)?;
    // Both carried through the gate's field: in range for a moment, then gone.
    for (_, epc) in &tagged {
        sim.add_tag(epc, "reader-1", 1, 0.3).ok_or("no reader")?;
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    for (_, epc) in &tagged {
        sim.remove_tags(&TagSelector::epc(epc));
    }
    let alarms = || -> R<Value> {
        http.call(
            reqwest::Method::GET,
            "/api/v1/alarms?status=open",
            &admin,
            None,
        )
    };
    let raised = wait_until(std::time::Duration::from_secs(20), || {
        alarms()
            .map(|a| a["total"].as_u64() == Some(1))
            .unwrap_or(false)
    });
    assert!(raised, "{:?}\n{}", alarms().ok(), Daemon::log(&config));
    let a = alarms()?;
    assert_eq!(a["items"][0]["asset_id"].as_i64(), Some(tagged[0].0), "{a}");
    daemon.stop()?;
    // Still exactly one: the approved asset raised none.
    assert_eq!(alarms()?["total"].as_u64(), Some(1));
    Ok(())
}
