//! Fail-over between server replicas, all real processes on 127.0.0.1: two
//! `warehouse-server serve` processes on ONE SQLite file (WAL; every
//! transaction IMMEDIATE, so the exactly-once mark is shared), a simulated
//! R2000 desk reader on a PTY (`hardware-sim`), and `reader-daemon run`
//! with both URLs in `[server] urls`. The server the daemon is using is
//! killed -9 during sync, again and again, and started later; then both are
//! down for a while (the daemon must back off, not spin); then both come
//! back. Every observation the journal committed reaches the database
//! exactly once, and `reader-daemon status` names the fail-overs.

mod support;

use std::time::Duration;

use hardware_sim::{ProtocolKind, Scenario, Simulator};
use rand::Rng;
use support::*;

/// Kills of the current replica during sync.
const KILLS: usize = 4;

#[test]
fn two_replicas_one_killed_during_sync_again_and_again_nothing_lost_or_doubled() -> R {
    let dir = tempfile::tempdir()?;
    let a = WarehouseServer::init(dir.path())?;
    let b = a.replica("b")?;
    let mut replicas = [a, b];
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let link = dir.path().join("reader-1");
    let _sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, &link, 30))?;
    let mut cfg = DaemonConfig::new(&urls[0], dir.path())
        .reader("reader-1", &link, "r2000", "desk")
        .replicas(&[&urls[0], &urls[1]]);
    cfg.token = replicas[0].register_daemon(&cfg)?;
    cfg.batch_max = 7;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    for r in &mut replicas {
        r.start()?;
    }
    let db = replicas[0].db.clone();
    let count = || sightings(&db).map(|s| s.len()).unwrap_or(0);
    let current =
        || daemon_status(&cfg.journal).and_then(|s| s.servers.current().map(str::to_owned));
    let logs = |replicas: &[WarehouseServer]| {
        format!(
            "{}\n--- server a ---\n{}\n--- server b ---\n{}",
            Daemon::log(&config),
            replicas[0].log_text(),
            replicas[1].log_text()
        )
    };

    let daemon = Daemon::start(&config)?;
    assert!(
        wait_until(Duration::from_secs(20), || count() > 0),
        "no sighting reached a replica\n{}",
        logs(&replicas)
    );
    assert_eq!(
        current().as_deref(),
        Some(urls[0].as_str()),
        "the first URL is used first"
    );

    // Kill -9 the replica in use while batches flow; the daemon goes on
    // with the other; the dead one is started again a little later.
    let mut rng = rand::thread_rng();
    for kill in 1..=KILLS {
        let now = current().ok_or("no current server in the status")?;
        let (dead, live) = if now == urls[0] { (0, 1) } else { (1, 0) };
        let before = count();
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..400)));
        replicas[dead].kill();
        let moved = wait_until(Duration::from_secs(20), || {
            daemon_status(&cfg.journal).is_some_and(|s| {
                s.servers.current() == Some(urls[live].as_str())
                    && s.servers.failovers >= kill as u64
            }) && count() > before + 7
        });
        assert!(
            moved,
            "kill {kill}: no fail-over from {} to {}\n{:?}\n{}",
            urls[dead],
            urls[live],
            daemon_status(&cfg.journal).map(|s| s.servers),
            logs(&replicas)
        );
        std::thread::sleep(Duration::from_millis(rng.gen_range(200..1000)));
        replicas[dead].start()?;
    }

    // The fail-overs are named by `status`.
    let (code, text, _) = status(&config, false)?;
    assert_eq!(code, 0, "{text}");
    let shown: u64 = text
        .split("fail-overs: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no fail-over count in:\n{text}"))?;
    // Health reports that found a replica dead count too.
    assert!(shown >= KILLS as u64, "{text}");
    for url in &urls {
        assert!(
            text.contains(&format!("server {url} (")),
            "{url} not shown:\n{text}"
        );
    }
    assert!(
        text.contains("(current)") && text.contains("(standby)"),
        "{text}"
    );
    assert!(
        text.contains("last error at")
            && (text.contains("cannot reach") || text.contains("reading the answer")),
        "{text}"
    );
    assert!(
        text.contains(", last at ") && text.contains(" from http://127.0.0.1:"),
        "{text}"
    );
    let s = daemon_status(&cfg.journal).ok_or("no status file")?;
    assert!(s.servers.failovers >= KILLS as u64, "{:?}", s.servers);
    for u in &s.servers.urls {
        assert!(
            u.last_success.is_some(),
            "{} never took a batch: {:?}",
            u.url,
            s.servers
        );
        assert!(
            u.errors > 0,
            "{} was never found dead: {:?}",
            u.url,
            s.servers
        );
    }

    // Both down: reads go on into the journal and the daemon backs off once
    // per round of URLs (retry_max 500 ms, two URLs: a few requests a second
    // at most — a loop without back-off would make thousands).
    for r in &mut replicas {
        r.kill();
    }
    std::thread::sleep(Duration::from_millis(1500));
    let first = daemon_status(&cfg.journal).ok_or("no status file")?;
    std::thread::sleep(Duration::from_secs(3));
    let later = daemon_status(&cfg.journal).ok_or("no status file")?;
    let requests = later.sync.requests - first.sync.requests;
    assert!(
        (2..=40).contains(&requests),
        "{requests} batch requests in 3 s with every replica down: {:?}",
        later.sync
    );
    assert!(later.sync.consecutive_failures > 0, "{:?}", later.sync);
    assert!(
        later.journal.backlog > 0,
        "reads went on: {:?}",
        later.journal
    );

    // Back: the backlog drains to whichever answers; nothing lost, none twice.
    for r in &mut replicas {
        r.start()?;
    }
    let drained_in_time = wait_until(Duration::from_secs(60), || drained(&cfg.journal));
    if !drained_in_time {
        // Say what each replica is doing: running, exited or killed.
        let states: Vec<String> = replicas
            .iter_mut()
            .map(|r| {
                let running = r.running();
                format!("{} running: {running:?}", r.url)
            })
            .collect();
        return Err(format!(
            "backlog not drained within 60 s; {}; daemon status: {:?}\n{}",
            states.join(", "),
            daemon_status(&cfg.journal).map(|s| (s.servers, s.journal)),
            logs(&replicas)
        )
        .into());
    }
    daemon.stop()?;
    let n = assert_server_holds_each_once(&db, &cfg.journal)?;
    assert!(n > 0);
    Ok(())
}
