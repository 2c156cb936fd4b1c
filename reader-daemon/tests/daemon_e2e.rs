//! End to end: `reader-daemon run` as a child process, simulated readers on
//! real PTYs, and an ingest endpoint on 127.0.0.1 that applies
//! `shared::sync::decide` exactly (via its transitional copy) as the server does.

mod support;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use hardware_sim::{Fault, ProtocolKind, Scenario, Simulator};
use rand::Rng;
use reader_daemon::status::StatusReport;
use support::*;

fn status(journal: &Path) -> Option<StatusReport> {
    let bytes = std::fs::read(journal.with_extension("status.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn distinct_epcs(stub: &IngestStub) -> usize {
    let mut epcs: Vec<_> = stub.applied().into_iter().map(|o| o.epc).collect();
    epcs.sort();
    epcs.dedup();
    epcs.len()
}

/// Checks exactly-once between the journal and the ingest: nothing twice,
/// and everything ever committed either applied or still journalled.
fn assert_exactly_once(stub: &IngestStub, journal: &Path) -> R {
    let applied = stub.applied();
    let dups = duplicates(&applied);
    assert!(
        dups.is_empty(),
        "{} duplicates, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let stats = journal_stats(journal)?;
    assert_eq!(
        applied.len() as u64 + stats.backlog,
        stats.committed_total,
        "applied {} + backlog {} != committed {}",
        applied.len(),
        stats.backlog,
        stats.committed_total
    );
    assert_eq!(stats.dropped_total, 0);
    Ok(())
}

fn one_reader(
    proto: ProtocolKind,
    tags: usize,
) -> R<(tempfile::TempDir, Simulator, IngestStub, DaemonConfig)> {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("reader-1");
    let sim = Simulator::start(Scenario::quick(proto, &link, tags))?;
    let stub = IngestStub::start()?;
    let name = match proto {
        ProtocolKind::R2000 => "r2000",
        _ => "chainway",
    };
    let cfg = DaemonConfig::new(&stub.url, dir.path()).reader("reader-1", &link, name, "desk");
    Ok((dir, sim, stub, cfg))
}

#[test]
fn reads_from_both_protocols_reach_the_ingest_exactly_once() -> R {
    for proto in [ProtocolKind::R2000, ProtocolKind::Chainway] {
        let (dir, sim, stub, cfg) = one_reader(proto, 20)?;
        let config = dir.path().join("config.toml");
        cfg.write(&config)?;
        let daemon = Daemon::start(&config)?;
        let all = wait_until(Duration::from_secs(30), || distinct_epcs(&stub) == 20);
        assert!(
            all,
            "{proto:?}: saw {} of 20 tags\n{}",
            distinct_epcs(&stub),
            Daemon::log(&config)
        );
        let exit = daemon.stop()?;
        assert!(exit.success(), "{exit:?}\n{}", Daemon::log(&config));
        assert_exactly_once(&stub, &cfg.journal)?;
        // Counts add up to no more than the reports the reader sent.
        let counted: u64 = stub.applied().iter().map(|o| u64::from(o.count)).sum();
        let sent = sim.readers()[0].counters().tag_reports_sent;
        assert!(
            counted > 0 && counted <= sent,
            "{proto:?}: counted {counted}, sent {sent}"
        );
        let s = status(&cfg.journal).ok_or("no status file")?;
        assert!(s.readers[0].firmware.is_some(), "{s:?}");
    }
    Ok(())
}

#[test]
fn server_away_then_back_everything_arrives_once() -> R {
    let (dir, _sim, stub, cfg) = one_reader(ProtocolKind::R2000, 30)?;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let daemon = Daemon::start(&config)?;
    assert!(
        wait_until(Duration::from_secs(20), || stub.applied_len() > 0),
        "{}",
        Daemon::log(&config)
    );
    stub.set_online(false);
    let before = stub.applied_len();
    std::thread::sleep(Duration::from_secs(4));
    // Reads went on and piled up in the journal; the daemon says it is failing.
    let s = status(&cfg.journal).ok_or("no status file")?;
    assert!(s.sync.consecutive_failures > 0, "{:?}", s.sync);
    assert!(s.journal.backlog > 0, "{:?}", s.journal);
    assert_eq!(stub.applied_len(), before);
    stub.set_online(true);
    let drained = wait_until(Duration::from_secs(20), || {
        journal_stats(&cfg.journal)
            .map(|s| s.backlog == 0 && s.committed_total > before as u64)
            .unwrap_or(false)
    });
    assert!(drained, "{}", Daemon::log(&config));
    daemon.stop()?;
    assert_exactly_once(&stub, &cfg.journal)?;
    assert!(stub.applied_len() > before);
    Ok(())
}

#[test]
fn sigkill_during_sync_twenty_times_still_exactly_once() -> R {
    let (dir, _sim, stub, mut cfg) = one_reader(ProtocolKind::R2000, 40)?;
    // Small batches so kills land between numbering, sending and acking.
    cfg.batch_max = 7;
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let mut rng = rand::thread_rng();
    for round in 0..20 {
        // Now and then the server is away, leaving batches in flight.
        stub.set_online(rng.gen_bool(0.75));
        let daemon = Daemon::start(&config)?;
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..1200)));
        daemon.kill()?;
        let problems = reader_daemon::journal::Journal::open(
            &cfg.journal,
            reader_daemon::journal::Limits {
                max_observations: 1_000_000,
                warn_fraction: 0.8,
            },
        )?
        .check()?;
        assert!(problems.is_empty(), "round {round}: {problems:?}");
    }
    stub.set_online(true);
    let daemon = Daemon::start(&config)?;
    let drained = wait_until(Duration::from_secs(30), || {
        journal_stats(&cfg.journal)
            .map(|s| s.backlog == 0 && s.committed_total > 0)
            .unwrap_or(false)
    });
    assert!(drained, "{}", Daemon::log(&config));
    daemon.stop()?;
    assert_exactly_once(&stub, &cfg.journal)?;
    assert!(
        stub.state
            .repeats
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
            || stub.applied_len() > 0
    );
    Ok(())
}

#[test]
fn unplug_and_garbage_burst_recover_by_themselves() -> R {
    for proto in [ProtocolKind::R2000, ProtocolKind::Chainway] {
        let (dir, sim, stub, cfg) = one_reader(proto, 10)?;
        let config = dir.path().join("config.toml");
        cfg.write(&config)?;
        let daemon = Daemon::start(&config)?;
        assert!(
            wait_until(Duration::from_secs(20), || stub.applied_len() > 0),
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
        let after = Utc::now();
        let recovered = wait_until(Duration::from_secs(30), || {
            stub.applied().iter().any(|o| o.first_seen > after)
        });
        assert!(
            recovered,
            "{proto:?}: no reads after the replug\n{}",
            Daemon::log(&config)
        );
        // The status file is rewritten every second.
        let healed = wait_until(Duration::from_secs(5), || {
            status(&cfg.journal)
                .map(|s| s.readers[0].reconnects >= 1 && s.readers[0].skipped_bytes > 0)
                .unwrap_or(false)
        });
        let s = status(&cfg.journal).ok_or("no status file")?;
        assert!(healed, "{proto:?}: {:?}", s.readers[0]);
        if std::env::var_os("E2E_LOG").is_some() {
            eprintln!("{}", Daemon::log(&config));
        }
        daemon.stop()?;
        assert_exactly_once(&stub, &cfg.journal)?;
    }
    Ok(())
}
