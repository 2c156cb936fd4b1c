//! Keeper workflows against the real server. `reader-daemon stocktake`: a
//! location with registered, tagged assets; the handheld (simulated, on a
//! PTY) sees most of them plus foreign (and misplaced) tags; the command's
//! summary and the server's live reconciliation agree with what was placed
//! in the field. Joining (`--session`), opening (`--open`), a server that
//! goes away mid-count, and a reader that is not assigned to the
//! stock-take but names it. The gate alarm is here too.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hardware_sim::{ProtocolKind, Scenario, Simulator, TagSelector};
use serde_json::{json, Value};
use shared::tag::EpcBytes;
use support::*;

/// The stock-take's counts on the server: expected, found, missing,
/// misplaced, foreign.
fn counts(http: &Http, token: &str, st: i64) -> R<[Option<u64>; 5]> {
    let rec = http.get(&format!("/api/v1/stocktakes/{st}"), token)?;
    let c = &rec["counts"];
    Ok(["expected", "found", "missing", "misplaced", "foreign"].map(|k| c[k].as_u64()))
}

fn summary(found: usize, expected: usize, unexpected: usize) -> String {
    format!(
        "found {found} of {expected} expected, missing {}, unexpected {unexpected}",
        expected - found
    )
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
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (reader_id, reader_token) = site.reader(&http, "hand-1", "handheld")?;

    // Registered, tagged assets on shelf A01.
    let mut epcs = Vec::new();
    for n in 0..expected_n {
        epcs.push(
            site.tagged_asset(&http, &format!("{}", 10000 + n), &reader_token)?
                .1,
        );
    }
    let st = id(&http.post(
        "/api/v1/stocktakes",
        &site.keeper,
        json!({"warehouse_id": site.warehouse, "location_id": site.location, "reader_ids": [reader_id]}),
    )?)?;

    // The field: PRESENT of the expected tags and FOREIGN unknown ones.
    let link = dir.path().join("hand-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::Chainway, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    for epc in &epcs[..present_n] {
        sim.add_tag(epc, "reader-1", 1, 0.3).ok_or("no reader")?;
    }
    for n in 0..FOREIGN {
        sim.add_tag(&foreign_epc(n as u16)?, "reader-1", 1, 0.3)
            .ok_or("no reader")?;
    }
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "chainway", "handheld");
    cfg.token = reader_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let (ok, text) = run_cli(&[
        "stocktake",
        "--config",
        &config.display().to_string(),
        "--reader",
        "hand-1",
        "--session",
        &st.to_string(),
        "--keeper-token",
        &site.keeper,
        "--duration-s",
        &seconds.to_string(),
        "--quiet",
    ])?;
    assert!(ok, "{text}");
    assert!(
        text.contains(&summary(present_n, expected_n, FOREIGN)),
        "{text}"
    );
    let n = |x: usize| Some(x as u64);
    assert_eq!(
        counts(&http, &site.keeper, st)?,
        [
            n(expected_n),
            n(present_n),
            n(expected_n - present_n),
            n(0),
            n(FOREIGN)
        ]
    );
    Ok(())
}

/// `--open LOCATION --warehouse ID`: the command opens the stock-take of
/// shelf A01 itself (assigning its reader), all three programs as
/// processes; two assets recorded on shelf B02 lie on A01 (misplaced).
#[test]
fn opens_a_stocktake_by_location_and_reconciles() -> R {
    const EXPECTED: usize = 150;
    const PRESENT: usize = 125;
    const MISPLACED: usize = 2;
    const FOREIGN: usize = 4;
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (_, reader_token) = site.reader(&http, "hand-1", "handheld")?;
    let mut present = Vec::new();
    for n in 0..EXPECTED {
        let (_, epc) = site.tagged_asset(&http, &format!("{}", 30_000 + n), &reader_token)?;
        if n < PRESENT {
            present.push(epc);
        }
    }
    let b02 = id(&http.post(
        &format!("/api/v1/warehouses/{}/locations", site.warehouse),
        &site.admin,
        json!({"code": "B02", "name": "Shelf 2"}),
    )?)?;
    for n in 0..MISPLACED {
        let number = format!("{}", 39_000 + n);
        present.push(site.tagged_asset_at(&http, &number, b02, &reader_token)?.1);
    }
    let foreign: Vec<EpcBytes> = (0..FOREIGN as u16).map(foreign_epc).collect::<R<_>>()?;
    let link = dir.path().join("hand-1");
    let _sim = SimProcess::start(
        dir.path(),
        &one_reader_scenario(
            "hand-1",
            "r2000",
            "handheld",
            &link,
            &[
                ("shelf", &present, Some(1.0)),
                ("foreign", &foreign, Some(1.0)),
            ],
        ),
        1,
    )?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "r2000", "handheld");
    cfg.token = reader_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let started = Instant::now();
    let (ok, text) = run_cli(&[
        "stocktake",
        "--config",
        &config.display().to_string(),
        "--reader",
        "hand-1",
        "--open",
        &site.location.to_string(),
        "--warehouse",
        &site.warehouse.to_string(),
        "--keeper-token",
        &site.keeper,
        "--duration-s",
        "5",
        "--quiet",
    ])?;
    assert!(ok, "{text}");
    eprintln!("stocktake --open ran {:?}", started.elapsed());
    assert!(
        text.contains(&summary(PRESENT, EXPECTED, MISPLACED + FOREIGN)),
        "{text}"
    );
    let list = http.get("/api/v1/stocktakes", &site.keeper)?;
    let items = list["items"].as_array().ok_or("no stock-takes")?;
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["location_id"].as_i64(), Some(site.location));
    let st = id(&items[0])?;
    assert!(
        text.contains(&format!("stock-take {st} with hand-1")),
        "{text}"
    );
    let n = |x: usize| Some(x as u64);
    assert_eq!(
        counts(&http, &site.keeper, st)?,
        [
            n(EXPECTED),
            n(PRESENT),
            n(EXPECTED - PRESENT),
            n(MISPLACED),
            n(FOREIGN)
        ]
    );
    Ok(())
}

/// The server goes away right after the command fetched (and cached) the
/// expected list: the live count goes on, every observation is journalled,
/// and when the server is back the journal drains and the server's
/// stock-take shows exactly what the handheld saw.
#[test]
fn a_stocktake_goes_on_offline_and_syncs_when_the_server_is_back() -> R {
    const EXPECTED: usize = 150;
    const PRESENT: usize = 120;
    const FOREIGN: usize = 3;
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (reader_id, reader_token) = site.reader(&http, "hand-1", "handheld")?;
    let mut present = Vec::new();
    for n in 0..EXPECTED {
        let (_, epc) = site.tagged_asset(&http, &format!("{}", 40_000 + n), &reader_token)?;
        if n < PRESENT {
            present.push(epc);
        }
    }
    let foreign: Vec<EpcBytes> = (0..FOREIGN as u16).map(foreign_epc).collect::<R<_>>()?;
    let st = id(&http.post(
        "/api/v1/stocktakes",
        &site.keeper,
        json!({"warehouse_id": site.warehouse, "location_id": site.location, "reader_ids": [reader_id]}),
    )?)?;
    let link = dir.path().join("hand-1");
    let _sim = SimProcess::start(
        dir.path(),
        &one_reader_scenario(
            "hand-1",
            "chainway",
            "handheld",
            &link,
            &[
                ("shelf", &present, Some(1.0)),
                ("foreign", &foreign, Some(1.0)),
            ],
        ),
        1,
    )?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "chainway", "handheld");
    cfg.token = reader_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;

    let mut child = Command::new(BIN)
        .args(["stocktake", "--config"])
        .arg(&config)
        .args(["--reader", "hand-1", "--session", &st.to_string()])
        .args([
            "--keeper-token",
            &site.keeper,
            "--duration-s",
            "6",
            "--quiet",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = collect(child.stdout.take().ok_or("no stdout")?);
    let err = collect(child.stderr.take().ok_or("no stderr")?);
    let cache = dir.path().join(format!("stocktake-{st}.expected.json"));
    let cached = wait_until(Duration::from_secs(20), || cache.exists());
    assert!(cached, "no expected-list cache\n{}", text_of(&err));
    server.kill();
    let down = Instant::now();

    // While the server is away the count goes on into the journal.
    let journal = dir.path().join("stocktake-hand-1.db");
    let journalled = wait_until(Duration::from_secs(20), || {
        journal_stats(&journal)
            .map(|s| s.backlog as usize >= PRESENT + FOREIGN)
            .unwrap_or(false)
    });
    assert!(
        journalled,
        "{:?}\n{}",
        journal_stats(&journal).ok(),
        text_of(&err)
    );
    // Back after the handheld's 6 s, while the command waits for the sync.
    std::thread::sleep(Duration::from_secs(8).saturating_sub(down.elapsed()));
    server.start()?;
    let done = wait_until(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let text = format!("{}{}", text_of(&out), text_of(&err));
    assert!(done, "the command did not end\n{text}");
    assert!(child.wait()?.success(), "{text}");
    assert!(
        text.contains(&summary(PRESENT, EXPECTED, FOREIGN)),
        "{text}"
    );
    assert!(text.contains("server reconciliation:"), "{text}");
    let stats = journal_stats(&journal)?;
    assert_eq!((stats.backlog, stats.dropped_total), (0, 0), "{stats:?}");
    let n = |x: usize| Some(x as u64);
    assert_eq!(
        counts(&http, &site.keeper, st)?,
        [
            n(EXPECTED),
            n(PRESENT),
            n(EXPECTED - PRESENT),
            n(0),
            n(FOREIGN)
        ]
    );
    Ok(())
}

/// A keeper joins a stock-take someone else opened for another handheld:
/// hand-1 is not assigned to it, but its observations name it, so they count.
#[test]
fn observations_naming_a_stocktake_count_without_assignment() -> R {
    const EXPECTED: usize = 40;
    const PRESENT: usize = 30;
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (_, reader_token) = site.reader(&http, "hand-1", "handheld")?;
    let (other, _) = site.reader(&http, "hand-2", "handheld")?;
    let mut present = Vec::new();
    for n in 0..EXPECTED {
        let (_, epc) = site.tagged_asset(&http, &format!("{}", 50_000 + n), &reader_token)?;
        if n < PRESENT {
            present.push(epc);
        }
    }
    let open = |readers: Value| -> R<i64> {
        id(&http.post(
            "/api/v1/stocktakes",
            &site.keeper,
            json!({"warehouse_id": site.warehouse, "location_id": site.location, "reader_ids": readers}),
        )?)
    };
    let st = open(json!([other]))?;
    // A second open stock-take nobody names: it must not get hand-1's scans.
    let bystander = open(json!([other]))?;
    let link = dir.path().join("hand-1");
    let _sim = SimProcess::start(
        dir.path(),
        &one_reader_scenario(
            "hand-1",
            "r2000",
            "handheld",
            &link,
            &[("shelf", &present, Some(1.0))],
        ),
        1,
    )?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "r2000", "handheld");
    cfg.token = reader_token;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let (ok, text) = run_cli(&[
        "stocktake",
        "--config",
        &config.display().to_string(),
        "--reader",
        "hand-1",
        "--session",
        &st.to_string(),
        "--keeper-token",
        &site.keeper,
        "--duration-s",
        "3",
        "--quiet",
    ])?;
    assert!(ok, "{text}");
    assert!(text.contains(&summary(PRESENT, EXPECTED, 0)), "{text}");
    let n = |x: usize| Some(x as u64);
    assert_eq!(
        counts(&http, &site.keeper, st)?,
        [n(EXPECTED), n(PRESENT), n(EXPECTED - PRESENT), n(0), n(0)]
    );
    assert_eq!(
        counts(&http, &site.keeper, bystander)?,
        [n(EXPECTED), n(0), n(EXPECTED), n(0), n(0)]
    );
    Ok(())
}

/// Shared text buffer filled by a thread reading a child's pipe.
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

fn text_of(t: &Arc<Mutex<String>>) -> String {
    t.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A tagged asset carried through an exit gate without an approved
/// check-out raises the server's alarm; one with approval does not.
#[test]
fn gate_pass_raises_the_servers_alarm() -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (_, gate_token) = site.reader(&http, "gate-1", "gate")?;
    let mut tagged = Vec::new();
    for n in 0..2 {
        tagged.push(site.tagged_asset(&http, &format!("{}", 7000 + n), &gate_token)?);
    }
    // The second asset's check-out is approved.
    http.call(
        reqwest::Method::PUT,
        &format!("/api/v1/assets/{}/checkout-approval", tagged[1].0),
        &site.admin,
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
    std::thread::sleep(Duration::from_millis(1500));
    for (_, epc) in &tagged {
        sim.remove_tags(&TagSelector::epc(epc));
    }
    let alarms = || http.get("/api/v1/alarms?status=open", &site.admin);
    let raised = wait_until(Duration::from_secs(20), || {
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
