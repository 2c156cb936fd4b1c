//! The journal survives `kill -9` at any instant.
//!
//! The test re-runs its own executable as a child (`soak_worker`, which does
//! nothing unless `JOURNAL_SOAK_PATH` is set) that appends observations,
//! numbers batches and acknowledges some, printing the committed total after
//! each commit. The parent SIGKILLs it at random moments, reopens the
//! journal, and checks SQLite's integrity, the journal's invariants and that
//! nothing the child had reported committed is missing.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reader_daemon::journal::{Journal, Limits};
use shared::sync::{BatchAck, Observation};
use support::observation;

const LIMITS: Limits = Limits {
    max_observations: 1_000_000,
    warn_fraction: 0.8,
};

/// The child's work; a no-op when run as an ordinary test.
#[test]
fn soak_worker() -> support::R {
    let Some(path) = std::env::var_os("JOURNAL_SOAK_PATH") else {
        return Ok(());
    };
    let mut journal = Journal::open(Path::new(&path), LIMITS)?;
    let mut next = journal.stats()?.committed_total;
    let mut rng = rand::thread_rng();
    let stdout = std::io::stdout();
    loop {
        let n = rng.gen_range(1..40u64);
        let batch: Vec<Observation> = (next..next + n)
            .map(observation)
            .collect::<Result<_, _>>()?;
        journal.append(&batch)?;
        next += n;
        {
            let mut out = stdout.lock();
            writeln!(out, "committed {next}")?;
            out.flush()?;
        }
        if let Some(b) = journal.next_batch("soak", 50, Duration::ZERO)? {
            // Acknowledge about half, so batches in flight are left behind too.
            if rng.gen_bool(0.5) {
                journal.ack(
                    b.sequence,
                    BatchAck {
                        applied_through: b.sequence,
                        applied: true,
                    },
                )?;
            }
        }
    }
}

#[test]
fn journal_survives_sigkill_at_any_instant() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("journal.db");
    let exe = std::env::current_exe()?;
    let mut rng = rand::thread_rng();
    let mut kills = 0;
    let started = Instant::now();
    let mut last_seq_seen = 0;
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args(["soak_worker", "--exact", "--nocapture", "--test-threads=1"])
            .env("JOURNAL_SOAK_PATH", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let reported = Arc::new(AtomicU64::new(0));
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = {
            let reported = reported.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(n) = line.strip_prefix("committed ").and_then(|n| n.parse().ok()) {
                        reported.store(n, Ordering::SeqCst);
                    }
                }
            })
        };
        // Let it get going (it must have committed at least once), then kill.
        let deadline = Instant::now() + Duration::from_secs(20);
        while reported.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..150)));
        child.kill()?; // SIGKILL
        child.wait()?;
        kills += 1;
        let _ = reader.join();
        let reported = reported.load(Ordering::SeqCst);
        assert!(reported > 0, "round {round}: the child never committed");

        let journal = Journal::open(&path, LIMITS)?;
        let problems = journal.check()?;
        assert!(problems.is_empty(), "round {round}: {problems:?}");
        let stats = journal.stats()?;
        assert!(
            stats.committed_total >= reported,
            "round {round}: child reported {reported} committed, journal holds {}",
            stats.committed_total
        );
        assert_eq!(
            stats.committed_total,
            stats.backlog + stats.acked_total,
            "round {round}: {stats:?}"
        );
        assert!(
            stats.last_seq >= last_seq_seen,
            "round {round}: sequence went back"
        );
        last_seq_seen = stats.last_seq;
    }
    assert_eq!(kills, 20);
    assert!(last_seq_seen > 0);
    eprintln!("20 SIGKILLs in {:?}", started.elapsed());
    Ok(())
}
