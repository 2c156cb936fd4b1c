//! A daemon whose token the server refuses (revoked; the "second run
//! against the old server" of issue 3/8): reads pile up in the journal,
//! `reader-daemon status` says so as an ERROR and exits 2, the log says it
//! at ERROR, `/metrics` has it, and the server's reader health shows the
//! daemon as `auth_failing`. A rotated token and a restart make it all
//! well again. Real server, real daemon, real simulated reader on a PTY.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::*;

/// The server's view of one daemon, by id.
fn daemon_health(http: &Http, token: &str, daemon: &str) -> R<Value> {
    let view = http.get("/api/v1/health/readers", token)?;
    view["daemons"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["daemon_id"] == daemon)
        .cloned()
        .ok_or_else(|| format!("no daemon {daemon} in {view}").into())
}

#[test]
fn a_refused_token_is_an_error_on_both_sides_until_rotated() -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?
        .env("WAREHOUSE_HEALTH_STALE_AFTER_SECS", "5")
        .env("WAREHOUSE_HEALTH_OFFLINE_AFTER_SECS", "2");
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let created = http.post(
        "/api/v1/daemons",
        &site.admin,
        json!({"daemon_id": "edge-1", "readers": [{"name": "desk-1", "role": "desk"}]}),
    )?;
    let old_token = created["token"].as_str().ok_or("no token")?.to_owned();
    http.call(
        Method::DELETE,
        "/api/v1/daemons/edge-1/token",
        &site.admin,
        None,
    )?;

    let link = dir.path().join("tty-desk-1");
    let scenario = format!(
        "seed = 9\n\n[[reader]]\nname = \"desk-1\"\nprotocol = \"r2000\"\nlink = {:?}\nrole = \"desk\"\n\n\
         [[population]]\nname = \"chairs\"\nkind = \"giai96\"\ncompany_prefix = \"0614141\"\n\
         first_serial = 1\ncount = 4\n",
        link.display().to_string()
    );
    let mut sim = SimProcess::start(dir.path(), &scenario, 1)?;
    sim.place("chairs", 0, 4, "desk-1", 0.2)?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("desk-1", &link, "r2000", "desk");
    cfg.daemon_id = "edge-1".into();
    cfg.token = old_token;
    let config = dir.path().join("daemon.toml");
    cfg.write(&config)?;
    let daemon = Daemon::start(&config)?;

    // The daemon: an ERROR line naming the refusal and the reads waiting,
    // and exit code 2.
    let mut last = (0, String::new(), String::new());
    let refused = wait_until(Duration::from_secs(20), || {
        last = status(&config, false).unwrap_or_default();
        last.0 == 2
            && last.1.contains("ERROR: server refused our token (401)")
            && !last.1.contains("piling up: 0 waiting")
    });
    assert!(
        refused,
        "status: {last:?}\ndaemon log: {}",
        Daemon::log(&config)
    );
    assert!(last.1.starts_with("ERROR: "), "{}", last.1);
    assert!(last.1.contains("reads are piling up"), "{}", last.1);
    // `--json` prints the report and the same ERROR on stderr, exit 2.
    let (code, out, err) = status(&config, true)?;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("server refused our token (401)"), "{err}");
    let report: Value = serde_json::from_str(&out)?;
    assert_eq!(report["sync"]["auth_failing"], true, "{report}");
    assert!(report["sync"]["auth_failures"]
        .as_u64()
        .is_some_and(|n| n >= 1));
    // The metric.
    let addr = report["metrics_addr"].as_str().ok_or("no metrics_addr")?;
    let metrics = http.block_on(async {
        reqwest::get(format!("http://{addr}/metrics"))
            .await?
            .text()
            .await
    })?;
    assert!(
        metrics.contains("reader_daemon_sync_auth_failing 1"),
        "{metrics}"
    );
    // The log, at ERROR.
    let log = Daemon::log(&config);
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("server refused our token (401)")),
        "{log}"
    );

    // The server: the daemon it cannot hear from is `auth_failing`.
    let d = daemon_health(&http, &site.keeper, "edge-1")?;
    assert_eq!(d["status"], "auth_failing", "{d}");
    assert_eq!(d["revoked"], true, "{d}");
    assert!(d["refused_tokens"].as_u64().is_some_and(|n| n >= 1), "{d}");
    assert_eq!(d["readers"][0]["status"], "auth_failing", "{d}");

    // Rotated token, restarted daemon: the backlog drains, all is ok.
    let rotated = http.post("/api/v1/daemons/edge-1/token", &site.admin, json!({}))?;
    cfg.token = rotated["token"].as_str().ok_or("no token")?.to_owned();
    daemon.stop()?;
    cfg.write(&config)?;
    let _daemon = Daemon::start(&config)?;
    let healthy = wait_until(Duration::from_secs(20), || {
        last = status(&config, false).unwrap_or_default();
        last.0 == 0 && !last.1.contains("ERROR")
    });
    assert!(healthy, "status: {last:?}\n{}", Daemon::log(&config));
    let mut seen = Value::Null;
    let ok = wait_until(Duration::from_secs(20), || {
        seen = daemon_health(&http, &site.keeper, "edge-1").unwrap_or_default();
        seen["status"] == "ok" && seen["readers"][0]["status"] == "ok"
    });
    assert!(ok, "{seen}");
    assert_eq!(seen["refused_tokens"], 0, "{seen}");
    Ok(())
}
