//! Keeper workflows against the real server. `reader-daemon stocktake`: a
//! location with registered, tagged assets; the handheld (simulated, on a
//! PTY) sees most of them plus foreign (and misplaced) tags; the command's
//! summary and the server's live reconciliation agree with what was placed
//! in the field. Joining (`--session`), opening (`--open`), a server that
//! goes away mid-count, and a reader that is not assigned to the
//! stock-take but names it. The gate alarm is here too.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hardware_sim::{ProtocolKind, Scenario, Simulator, TagSelector};
use serde_json::json;
use shared::tag::EpcBytes;
use support::*;

/// A running server whose shelf A01 holds `expected` tagged assets, and a
/// handheld reader `hand-1`; tests put some of [`Shelf::epcs`] in its field.
struct Shelf {
    dir: tempfile::TempDir,
    server: WarehouseServer,
    http: Http,
    site: Site,
    reader_id: i64,
    reader_token: String,
    epcs: Vec<EpcBytes>,
    /// `[server] urls` for the daemon's config instead of the server's URL.
    replicas: Vec<String>,
}

impl Shelf {
    fn new(expected: usize, first_number: usize) -> R<Self> {
        let dir = tempfile::tempdir()?;
        let mut server = WarehouseServer::init(dir.path())?;
        server.start()?;
        let http = Http::new(&server.url)?;
        let site = Site::create(&http)?;
        let (reader_id, reader_token) = site.reader(&http, "hand-1", "handheld")?;
        let epcs = (first_number..first_number + expected)
            .map(|n| Ok(site.tagged_asset(&http, &n.to_string(), &reader_token)?.1))
            .collect::<R<_>>()?;
        Ok(Self {
            dir,
            server,
            http,
            site,
            reader_id,
            reader_token,
            epcs,
            replicas: Vec::new(),
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A stock-take of shelf A01 whose scans come from `readers`.
    fn open(&self, readers: &[i64]) -> R<i64> {
        Ok(id(&self.http.post(
            "/api/v1/stocktakes",
            &self.site.keeper,
            json!({"warehouse_id": self.site.warehouse, "location_id": self.site.location,
                   "reader_ids": readers}),
        )?)?)
    }

    /// The daemon's config with hand-1 on `link`.
    fn config(&self, link: &Path, protocol: &'static str) -> R<PathBuf> {
        let replicas: Vec<&str> = self.replicas.iter().map(String::as_str).collect();
        let mut cfg = DaemonConfig::new(&self.server.url, self.path())
            .reader("hand-1", link, protocol, "handheld")
            .replicas(&replicas);
        cfg.token = self.reader_token.clone();
        // `POST /readers` registered hand-1 as a daemon named after it.
        cfg.daemon_id = "hand-1".into();
        let config = self.path().join("config.toml");
        cfg.write(&config)?;
        Ok(config)
    }

    /// hand-1 served by the hardware-sim binary with these tags in its
    /// field; returns the simulator and the daemon's config.
    fn handheld(
        &self,
        protocol: &'static str,
        field: &[(&str, &[EpcBytes])],
    ) -> R<(SimProcess, PathBuf)> {
        let populations: Vec<(&str, &[EpcBytes], Option<f32>)> = field
            .iter()
            .map(|(name, epcs)| (*name, *epcs, Some(1.0)))
            .collect();
        self.handheld_with(protocol, &populations)
    }

    /// The same with populations placed (`Some(distance)`) or not.
    fn handheld_with(
        &self,
        protocol: &'static str,
        populations: &[(&str, &[EpcBytes], Option<f32>)],
    ) -> R<(SimProcess, PathBuf)> {
        let link = self.path().join("hand-1");
        let sim = SimProcess::start(
            self.path(),
            &one_reader_scenario("hand-1", protocol, "handheld", &link, populations),
            1,
        )?;
        Ok((sim, self.config(&link, protocol)?))
    }

    /// `reader-daemon stocktake` with hand-1, the keeper's token and `how`
    /// (`--session ID` or `--open …`), for `seconds`.
    fn stocktake_args(&self, config: &Path, how: &[String], seconds: u64) -> Vec<String> {
        let mut args: Vec<String> = ["stocktake", "--config"]
            .into_iter()
            .map(String::from)
            .collect();
        args.push(config.display().to_string());
        args.extend(["--reader", "hand-1", "--keeper-token"].map(String::from));
        args.push(self.site.keeper.clone());
        args.extend(how.iter().cloned());
        args.extend(["--duration-s".into(), seconds.to_string(), "--quiet".into()]);
        args
    }

    fn stocktake(&self, config: &Path, how: &[String], seconds: u64) -> R<(bool, String)> {
        let args = self.stocktake_args(config, how, seconds);
        run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The stock-take's counts on the server: expected, found, missing,
    /// misplaced, foreign.
    fn counts(&self, st: i64) -> R<[Option<u64>; 5]> {
        let rec = self
            .http
            .get(&format!("/api/v1/stocktakes/{st}"), &self.site.keeper)?;
        let c = &rec["counts"];
        Ok(["expected", "found", "missing", "misplaced", "foreign"].map(|k| c[k].as_u64()))
    }
}

fn session(st: i64) -> Vec<String> {
    vec!["--session".into(), st.to_string()]
}

fn summary(found: usize, expected: usize, unexpected: usize) -> String {
    format!(
        "found {found} of {expected} expected, missing {}, unexpected {unexpected}",
        expected - found
    )
}

/// The counts a stock-take should show: expected, found, missing,
/// misplaced, foreign.
fn want(expected: usize, found: usize, misplaced: usize, foreign: usize) -> [Option<u64>; 5] {
    [expected, found, expected - found, misplaced, foreign].map(|n| Some(n as u64))
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
    let shelf = Shelf::new(expected_n, 10_000)?;
    let st = shelf.open(&[shelf.reader_id])?;

    // The field (hardware-sim library, Chainway): PRESENT of the expected
    // tags and FOREIGN unknown ones.
    let link = shelf.path().join("hand-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::Chainway, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    for epc in &shelf.epcs[..present_n] {
        sim.add_tag(epc, "reader-1", 1, 0.3).ok_or("no reader")?;
    }
    for n in 0..FOREIGN {
        sim.add_tag(&foreign_epc(n as u16)?, "reader-1", 1, 0.3)
            .ok_or("no reader")?;
    }
    let config = shelf.config(&link, "chainway")?;
    let (ok, text) = shelf.stocktake(&config, &session(st), seconds as u64)?;
    assert!(ok, "{text}");
    assert!(
        text.contains(&summary(present_n, expected_n, FOREIGN)),
        "{text}"
    );
    assert_eq!(shelf.counts(st)?, want(expected_n, present_n, 0, FOREIGN));
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
    let shelf = Shelf::new(EXPECTED, 30_000)?;
    let (http, site) = (&shelf.http, &shelf.site);
    let b02 = id(&http.post(
        &format!("/api/v1/warehouses/{}/locations", site.warehouse),
        &site.admin,
        json!({"code": "B02", "name": "Shelf 2"}),
    )?)?;
    let mut present = shelf.epcs[..PRESENT].to_vec();
    for n in 0..MISPLACED {
        let number = format!("{}", 39_000 + n);
        present.push(
            site.tagged_asset_at(http, &number, b02, &shelf.reader_token)?
                .1,
        );
    }
    let foreign: Vec<EpcBytes> = (0..FOREIGN as u16).map(foreign_epc).collect::<R<_>>()?;
    let (_sim, config) = shelf.handheld("r2000", &[("shelf", &present), ("foreign", &foreign)])?;
    let started = Instant::now();
    let open = [
        "--open",
        &site.location.to_string(),
        "--warehouse",
        &site.warehouse.to_string(),
    ]
    .map(|s| s.to_string());
    let (ok, text) = shelf.stocktake(&config, &open, 5)?;
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
    assert_eq!(
        shelf.counts(st)?,
        want(EXPECTED, PRESENT, MISPLACED, FOREIGN)
    );
    Ok(())
}

/// Two replicas on one database and the first one down: the keeper's calls
/// of `--open` (the reader list, opening, the expected lines) and the
/// command's background sync all fail over to the second, which reconciles.
#[test]
fn a_stocktake_fails_over_to_the_second_replica() -> R {
    const EXPECTED: usize = 20;
    const PRESENT: usize = 15;
    let mut shelf = Shelf::new(EXPECTED, 50_000)?;
    let mut second = shelf.server.replica("b")?;
    second.start()?;
    shelf.replicas = vec![shelf.server.url.clone(), second.url.clone()];
    let present = shelf.epcs[..PRESENT].to_vec();
    let (_sim, config) = shelf.handheld("r2000", &[("shelf", &present)])?;
    shelf.server.kill();
    shelf.http = Http::new(&second.url)?;
    let open = [
        "--open",
        &shelf.site.location.to_string(),
        "--warehouse",
        &shelf.site.warehouse.to_string(),
    ]
    .map(|s| s.to_string());
    let (ok, text) = shelf.stocktake(&config, &open, 3)?;
    assert!(ok, "{text}\n{}", second.log_text());
    assert!(text.contains(&summary(PRESENT, EXPECTED, 0)), "{text}");
    assert!(!text.contains("not yet at the server"), "{text}");
    let list = shelf.http.get("/api/v1/stocktakes", &shelf.site.keeper)?;
    let st = id(list["items"].get(0).ok_or("no stock-take")?)?;
    assert_eq!(shelf.counts(st)?, want(EXPECTED, PRESENT, 0, 0));
    Ok(())
}

/// The server goes away right after the command fetched (and cached) the
/// expected list: the live count goes on, every observation is journalled,
/// and when the server is back the journal drains and the server's
/// stock-take shows exactly what the handheld saw. Then a run that is
/// offline from the start works from the cached list, and what it found
/// reaches the server with the next run.
#[test]
fn a_stocktake_goes_on_offline_and_syncs_when_the_server_is_back() -> R {
    const EXPECTED: usize = 150;
    const PRESENT: usize = 120;
    const FOREIGN: usize = 3;
    let mut shelf = Shelf::new(EXPECTED, 40_000)?;
    let st = shelf.open(&[shelf.reader_id])?;
    let foreign: Vec<EpcBytes> = (0..FOREIGN as u16).map(foreign_epc).collect::<R<_>>()?;
    let (mut sim, config) = shelf.handheld_with(
        "chainway",
        &[
            ("shelf", &shelf.epcs[..PRESENT], Some(1.0)),
            ("foreign", &foreign, Some(1.0)),
            ("rest", &shelf.epcs[PRESENT..], None),
        ],
    )?;
    let mut child = Command::new(BIN)
        .args(shelf.stocktake_args(&config, &session(st), 6))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = collect(child.stdout.take().ok_or("no stdout")?);
    let err = collect(child.stderr.take().ok_or("no stderr")?);
    let cache = shelf.path().join(format!("stocktake-{st}.expected.json"));
    let cached = wait_until(Duration::from_secs(20), || cache.exists());
    assert!(cached, "no expected-list cache\n{}", text_of(&err));
    shelf.server.kill();
    let down = Instant::now();

    // While the server is away the count goes on into the journal.
    let journal = shelf.path().join("stocktake-hand-1.db");
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
    shelf.server.start()?;
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
    assert_eq!(shelf.counts(st)?, want(EXPECTED, PRESENT, 0, FOREIGN));

    // Offline from the start: the cached list serves; the rest of the
    // shelf, found now, waits in the journal ...
    shelf.server.kill();
    sim.take_away("shelf", 0, PRESENT)?;
    sim.take_away("foreign", 0, FOREIGN)?;
    sim.place("rest", 0, EXPECTED - PRESENT, "hand-1", 0.5)?;
    let mut offline = shelf.stocktake_args(&config, &session(st), 2);
    offline.extend(["--sync-wait-s".to_string(), "0".to_string()]);
    let (ok, text) = run_cli(&offline.iter().map(String::as_str).collect::<Vec<_>>())?;
    assert!(ok, "{text}");
    assert!(text.contains("using the cached expected list"), "{text}");
    assert!(
        text.contains(&summary(EXPECTED - PRESENT, EXPECTED, 0)),
        "{text}"
    );
    assert!(
        text.contains("observations not yet at the server"),
        "{text}"
    );
    assert!(journal_stats(&journal)?.backlog > 0);
    // ... and goes with the next run, whose field is empty.
    sim.take_away("rest", 0, EXPECTED - PRESENT)?;
    shelf.server.start()?;
    let (ok, text) = shelf.stocktake(&config, &session(st), 1)?;
    assert!(ok, "{text}");
    assert!(text.contains(&summary(0, EXPECTED, 0)), "{text}");
    assert_eq!(journal_stats(&journal)?.backlog, 0, "{text}");
    assert_eq!(shelf.counts(st)?, want(EXPECTED, EXPECTED, 0, FOREIGN));
    Ok(())
}

/// A keeper joins a stock-take someone else opened for another handheld:
/// hand-1 is not assigned to it, but its observations name it, so they count.
#[test]
fn observations_naming_a_stocktake_count_without_assignment() -> R {
    const EXPECTED: usize = 40;
    const PRESENT: usize = 30;
    let shelf = Shelf::new(EXPECTED, 50_000)?;
    let (other, _) = shelf.site.reader(&shelf.http, "hand-2", "handheld")?;
    let st = shelf.open(&[other])?;
    // A second open stock-take nobody names: it must not get hand-1's scans.
    let bystander = shelf.open(&[other])?;
    let (_sim, config) = shelf.handheld("r2000", &[("shelf", &shelf.epcs[..PRESENT])])?;
    let (ok, text) = shelf.stocktake(&config, &session(st), 3)?;
    assert!(ok, "{text}");
    assert!(text.contains(&summary(PRESENT, EXPECTED, 0)), "{text}");
    assert_eq!(shelf.counts(st)?, want(EXPECTED, PRESENT, 0, 0));
    assert_eq!(shelf.counts(bystander)?, want(EXPECTED, 0, 0, 0));
    Ok(())
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
    // The second asset may leave: an approver's emergency pass.
    http.post(
        "/api/v1/users",
        &site.admin,
        json!({"username": "approver", "password": "s3cret-pass", "role": "approver"}),
    )?;
    let approver = http.login("approver")?;
    http.post(
        &format!("/api/v1/assets/{}/emergency-pass", tagged[1].0),
        &approver,
        json!({"reason": "借出", "valid_minutes": 60}),
    )?;

    let link = dir.path().join("gate-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("gate-1", &link, "r2000", "gate");
    cfg.token = gate_token;
    cfg.daemon_id = "gate-1".into();
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

/// 巡检 — an inspection at a unit's premises, all three programs real: the
/// unit holds 12 tagged assets, the keeper's handheld (the hardware-sim
/// binary), opened from it with `--inspect UNIT`, sees 10 of them there;
/// the live reconciliation says 2 missing,
/// closing opens 2 loss cases against the unit for exactly those two, the
/// result waits for the unit, and the unit's staff confirm it (who, when,
/// remark), once.
#[test]
fn an_inspection_at_a_unit_finds_two_of_twelve_missing() -> R {
    const HELD: usize = 12;
    const PRESENT: usize = 10;
    let shelf = Shelf::new(0, 60_000)?;
    let (http, site) = (&shelf.http, &shelf.site);
    let unit = id(&http.post(
        "/api/v1/units",
        &site.admin,
        json!({"name": "财政局", "level": "unit"}),
    )?)?;
    let staff =
        http.block_on(
            http.api
                .add_user(&site.admin, "caizheng", "unit_staff", Some(unit)),
        )?;
    let mut held = Vec::new();
    for n in 0..HELD {
        let asset = id(&http.post(
            "/api/v1/assets",
            &site.admin,
            json!({"asset_number": format!("{}", 61_000 + n), "name": "办公桌",
                   "category_id": site.category, "original_value_fen": 150000,
                   "purchase_date": "2024-03-01", "holder_unit_id": unit}),
        )?)?;
        let epc = http.block_on(http.api.tag_asset(asset, &site.keeper, &shelf.reader_token))?;
        held.push((asset, EpcBytes::from_hex(&epc)?));
    }
    // The keeper opens the inspection from the handheld (`--inspect UNIT`).
    let present: Vec<EpcBytes> = held[..PRESENT].iter().map(|h| h.1).collect();
    let (_sim, config) = shelf.handheld("chainway", &[("unit", &present)])?;
    let (ok, text) = shelf.stocktake(&config, &["--inspect".into(), unit.to_string()], 4)?;
    assert!(ok, "{text}");
    assert!(text.contains(&summary(PRESENT, HELD, 0)), "{text}");
    let list = http.get("/api/v1/stocktakes", &site.keeper)?;
    let opened = &list["items"][0];
    assert_eq!(opened["unit_id"].as_i64(), Some(unit), "{list}");
    assert!(opened["warehouse_id"].is_null(), "{list}");
    assert_eq!(opened["reader_ids"], json!([shelf.reader_id]), "{list}");
    let st = id(opened)?;
    assert!(
        text.contains(&format!("stock-take {st} with hand-1")),
        "{text}"
    );
    assert_eq!(shelf.counts(st)?, want(HELD, PRESENT, 0, 0));

    // Not before the keeper closes it.
    let (status, body) = http.block_on(http.api.post(
        &format!("/api/v1/stocktakes/{st}/confirmation"),
        &staff,
        json!({}),
    ))?;
    assert_eq!(status.as_u16(), 409, "{body}");
    assert_eq!(body["error"]["code"], "inspection_open", "{body}");

    let closed = http.post(
        &format!("/api/v1/stocktakes/{st}/close"),
        &site.keeper,
        json!({}),
    )?;
    assert_eq!(
        closed["stocktake"]["awaiting_confirmation"], true,
        "{closed}"
    );
    assert_eq!(closed["counts"]["missing"], 2, "{closed}");

    // Two loss cases, against the unit, for exactly the two not seen.
    let cases = http.get(
        &format!("/api/v1/requests?kind=damage&unit_id={unit}"),
        &site.admin,
    )?;
    let cases = cases["items"].as_array().ok_or("no requests")?;
    assert_eq!(cases.len(), 2, "{cases:?}");
    let mut lost: Vec<i64> = Vec::new();
    for c in cases {
        assert_eq!(c["loss"], true, "{c}");
        assert_eq!(c["stage"], "cause", "{c}");
        assert!(
            c["reason"].as_str().unwrap_or_default().contains("巡检"),
            "{c}"
        );
        // The listing is a summary; the request itself names its items.
        let case = http.get(&format!("/api/v1/requests/{}", id(c)?), &site.admin)?;
        for item in case["items"].as_array().ok_or("no items")? {
            lost.push(item["asset_id"].as_i64().ok_or("no asset id")?);
        }
    }
    lost.sort_unstable();
    let missing: Vec<i64> = held[PRESENT..].iter().map(|h| h.0).collect();
    assert_eq!(lost, missing);

    // The unit's staff see it among their inspections and confirm it.
    let mine = http.get("/api/v1/stocktakes", &staff)?;
    assert_eq!(mine["items"][0]["id"].as_i64(), Some(st), "{mine}");
    assert_eq!(mine["items"][0]["awaiting_confirmation"], true, "{mine}");
    let confirmed = http.post(
        &format!("/api/v1/stocktakes/{st}/confirmation"),
        &staff,
        json!({"remark": "两张办公桌已送修，正在核实"}),
    )?;
    assert_eq!(confirmed["confirmed_by"], "user:caizheng", "{confirmed}");
    assert!(confirmed["confirmed_at"].is_string(), "{confirmed}");
    assert_eq!(confirmed["confirm_remark"], "两张办公桌已送修，正在核实");
    assert_eq!(confirmed["awaiting_confirmation"], false, "{confirmed}");
    let rec = http.get(&format!("/api/v1/stocktakes/{st}"), &staff)?;
    assert_eq!(rec["stocktake"]["confirmed_by"], "user:caizheng", "{rec}");
    assert_eq!(rec["counts"]["missing"], 2, "{rec}");
    let (status, body) = http.block_on(http.api.post(
        &format!("/api/v1/stocktakes/{st}/confirmation"),
        &staff,
        json!({}),
    ))?;
    assert_eq!(status.as_u16(), 409, "{body}");
    assert_eq!(body["error"]["code"], "inspection_confirmed", "{body}");
    Ok(())
}
