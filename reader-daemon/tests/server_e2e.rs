//! End to end against the real `warehouse-server` binary: simulated
//! readers on PTYs → `reader-daemon run` → HTTP on 127.0.0.1 → the
//! server's SQLite database, checked row by row.
//!
//! The server binary is found next to this test executable, or built (see
//! `test_support::workspace_bin`); `cargo test --workspace` builds it.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use hardware_sim::{ProtocolKind, Scenario, Simulator};
use rand::Rng;
use support::*;

#[test]
fn real_server_exactly_once_through_outage_and_twenty_sigkills() -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let link = dir.path().join("reader-1");
    let _sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, &link, 30))?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("reader-1", &link, "r2000", "desk");
    cfg.token = server.register_daemon(&cfg)?;
    cfg.batch_max = 7;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;

    // Online: reads arrive.
    let daemon = Daemon::start(&config)?;
    let first = wait_until(Duration::from_secs(20), || {
        sightings(&server.db)
            .map(|s| !s.is_empty())
            .unwrap_or(false)
    });
    assert!(
        first,
        "no sighting reached the server\n{}",
        Daemon::log(&config)
    );

    // The server goes away while reads go on, then comes back.
    let outage = std::env::var("E2E_OUTAGE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4u64);
    server.kill();
    std::thread::sleep(Duration::from_secs(outage));
    let s = daemon_status(&cfg.journal).ok_or("no status file")?;
    assert!(s.sync.consecutive_failures > 0, "{:?}", s.sync);
    assert!(s.journal.backlog > 0, "reads went on: {:?}", s.journal);
    server.start()?;
    assert!(
        wait_until(Duration::from_secs(30), || drained(&cfg.journal)),
        "backlog not drained after the outage\n{}",
        Daemon::log(&config)
    );
    daemon.kill()?;

    // SIGKILL at random moments during sync, twenty times.
    let mut rng = rand::thread_rng();
    for _ in 0..20 {
        let daemon = Daemon::start(&config)?;
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..1200)));
        daemon.kill()?;
    }
    let daemon = Daemon::start(&config)?;
    assert!(
        wait_until(Duration::from_secs(30), || drained(&cfg.journal)),
        "{}",
        Daemon::log(&config)
    );
    daemon.stop()?;
    let n = assert_server_holds_each_once(&server.db, &cfg.journal)?;
    assert!(n > 0);
    Ok(())
}

#[test]
fn chainway_reads_reach_the_real_server_once() -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let link = dir.path().join("hand-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::Chainway, &link, 25))?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("hand-1", &link, "chainway", "handheld");
    cfg.token = server.register_daemon(&cfg)?;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let daemon = Daemon::start(&config)?;
    let all = wait_until(Duration::from_secs(30), || {
        sightings(&server.db)
            .map(|rows| {
                rows.iter()
                    .map(|r| r.epc.clone())
                    .collect::<HashSet<_>>()
                    .len()
                    == 25
            })
            .unwrap_or(false)
    });
    assert!(all, "{}", Daemon::log(&config));
    // `status` and /metrics while it runs (the ack of the batch the server
    // just stored may still be on its way back to the daemon: poll).
    let status_text = || -> String {
        std::process::Command::new(BIN)
            .args(["status", "--config"])
            .arg(&config)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let shown = wait_until(Duration::from_secs(10), || {
        let text = status_text();
        text.contains("hand-1")
            && text.contains("running")
            && text.contains("journal: backlog")
            && text.contains("sync: last success 20")
    });
    assert!(shown, "{}", status_text());
    let addr = daemon_status(&cfg.journal)
        .and_then(|s| s.metrics_addr)
        .ok_or("no metrics address in the status file")?;
    let metrics = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            reqwest::get(format!("http://{addr}/metrics"))
                .await?
                .text()
                .await
        })?;
    assert!(
        metrics.contains("reader_daemon_reads_total{reader=\"hand-1\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("reader_daemon_reader_up{reader=\"hand-1\"} 1"),
        "{metrics}"
    );
    daemon.stop()?;
    assert_server_holds_each_once(&server.db, &cfg.journal)?;
    // Every EPC the server stored is one the simulator's field holds.
    let field: HashSet<String> = sim
        .epcs(&hardware_sim::TagSelector::population("assets"))
        .iter()
        .map(|e| e.to_string())
        .collect();
    for row in sightings(&server.db)? {
        assert!(field.contains(&row.epc), "unknown EPC {}", row.epc);
    }
    Ok(())
}

#[test]
fn unplug_and_garbage_burst_recover_by_themselves() -> R {
    use hardware_sim::Fault;
    for (proto, name) in [
        (ProtocolKind::R2000, "r2000"),
        (ProtocolKind::Chainway, "chainway"),
    ] {
        let dir = tempfile::tempdir()?;
        let mut server = WarehouseServer::init(dir.path())?;
        server.start()?;
        let link = dir.path().join("desk-1");
        let sim = Simulator::start(Scenario::quick(proto, &link, 10))?;
        let mut cfg =
            DaemonConfig::new(&server.url, dir.path()).reader("desk-1", &link, name, "desk");
        cfg.token = server.register_daemon(&cfg)?;
        let config = dir.path().join("config.toml");
        cfg.write(&config)?;
        let daemon = Daemon::start(&config)?;
        assert!(
            wait_until(Duration::from_secs(20), || sightings(&server.db)
                .map(|s| !s.is_empty())
                .unwrap_or(false)),
            "{}",
            Daemon::log(&config)
        );
        let reader = &sim.readers()[0];
        reader.inject(Fault::Garbage { len: 3000 });
        std::thread::sleep(Duration::from_millis(300));
        reader.inject(Fault::Unplug {
            duration: Duration::from_millis(1500),
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(reader.wait_plugged(Duration::from_secs(10)));
        // The server stores times as Unix milliseconds.
        let after = chrono::Utc::now().timestamp_millis();
        let recovered = wait_until(Duration::from_secs(30), || {
            sightings(&server.db)
                .map(|rows| rows.iter().any(|r| r.first_seen > after))
                .unwrap_or(false)
        });
        assert!(
            recovered,
            "{name}: no reads after the replug\n{}",
            Daemon::log(&config)
        );
        // The status file is rewritten every second.
        let healed = wait_until(Duration::from_secs(5), || {
            daemon_status(&cfg.journal)
                .map(|s| s.readers[0].reconnects >= 1 && s.readers[0].skipped_bytes > 0)
                .unwrap_or(false)
        });
        let s = daemon_status(&cfg.journal).ok_or("no status file")?;
        assert!(healed, "{name}: {:?}", s.readers[0]);
        daemon.stop()?;
        assert_server_holds_each_once(&server.db, &cfg.journal)?;
    }
    Ok(())
}
