//! A forged high-water mark: someone posted sequence i64::MAX under this
//! daemon's id, so the server answers every batch of the real daemon with
//! `applied_through = 9223372036854775807`. The real `reader-daemon run`
//! (a child process) against a small axum server on 127.0.0.1 that answers
//! so must keep its journal whole — nothing forgotten, nothing renumbered,
//! the refusal logged loudly and counted in its status — and drain normally
//! once the server answers honestly again.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use reader_daemon::journal::MAX_SEQUENCE;
use shared::sync::{BatchAck, ObservationBatch, OBSERVATIONS_PATH};
use support::*;

/// The stand-in server: records each batch's sequence; forges the mark
/// until `honest` is set.
#[derive(Default)]
struct Answers {
    sequences: Mutex<Vec<u64>>,
    honest: AtomicBool,
}

impl Answers {
    fn sequences(&self) -> Vec<u64> {
        self.sequences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn observations(
    State(answers): State<Arc<Answers>>,
    Json(batch): Json<ObservationBatch>,
) -> Json<BatchAck> {
    answers
        .sequences
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(batch.sequence);
    let honest = answers.honest.load(Ordering::SeqCst);
    Json(BatchAck {
        applied_through: if honest { batch.sequence } else { MAX_SEQUENCE },
        applied: honest,
    })
}

#[test]
fn an_ack_above_the_batch_sent_keeps_the_journal() -> R {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let answers = Arc::new(Answers::default());
    let app = Router::new()
        .route(OBSERVATIONS_PATH, post(observations))
        .with_state(answers.clone());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move { axum::serve(listener, app).await });

    // 30 observations already journalled; batches of 10.
    let mut config = DaemonConfig::new(&url, dir.path());
    config.batch_max = 10;
    {
        let mut journal = open_journal(&config.journal)?;
        let all = (0..30).map(observation).collect::<R<Vec<_>>>()?;
        journal.append(&all)?;
    }
    let config_path = dir.path().join("daemon.toml");
    config.write(&config_path)?;
    let daemon = Daemon::start(&config_path)?;

    // Several forged answers, and the status file has counted them.
    let refused_twice = wait_until(Duration::from_secs(20), || {
        answers.sequences().len() >= 3
            && daemon_status(&config.journal).is_some_and(|s| s.sync.acks_refused >= 2)
    });
    let log = Daemon::log(&config_path);
    assert!(refused_twice, "{:?}\n{log}", answers.sequences());
    let s = daemon_status(&config.journal).ok_or("no status file")?;
    let err = s.sync.last_error.clone().unwrap_or_default();
    assert!(err.contains("nothing was deleted"), "{err}");
    assert!(s.sync.consecutive_failures >= 2, "{:?}", s.sync);
    assert!(
        log.contains("ERROR") && log.contains("above batch 1"),
        "refusal not logged loudly:\n{log}"
    );

    // Only batch 1 was ever sent, never renumbered; all 30 still journalled.
    assert!(
        answers.sequences().iter().all(|&q| q == 1),
        "{:?}",
        answers.sequences()
    );
    let stats = journal_stats(&config.journal)?;
    assert_eq!(
        (
            stats.backlog,
            stats.last_seq,
            stats.applied_through,
            stats.acked_total
        ),
        (30, 1, 0, 0),
        "{stats:?}"
    );

    // The server answers honestly again: everything drains, in order.
    answers.honest.store(true, Ordering::SeqCst);
    let drained = wait_until(Duration::from_secs(20), || {
        journal_stats(&config.journal).is_ok_and(|s| s.backlog == 0)
    });
    let status = daemon.stop()?;
    assert!(drained, "{}", Daemon::log(&config_path));
    assert!(status.success(), "{status}");
    let mut sent = answers.sequences();
    sent.dedup();
    assert_eq!(sent, vec![1, 2, 3]);
    let stats = journal_stats(&config.journal)?;
    assert_eq!(
        (stats.acked_total, stats.applied_through, stats.last_seq),
        (30, 3, 3),
        "{stats:?}"
    );
    Ok(())
}
