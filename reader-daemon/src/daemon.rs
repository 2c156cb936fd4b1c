//! `reader-daemon run`: wires the pieces together.
//!
//! ```text
//! reader threads ──ReadChunk──> aggregator thread ──append──> journal (SQLite)
//!   (one per port)                (event cycles)                 │
//!                                                      sync task ┴─POST──> server
//! status task ──> status file, /status, /metrics (loopback)
//! ```
//! The aggregator commits each cycle's observations before it wakes the
//! sync task, so nothing is sent (or counted) that is not durable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use shared::sync::Observation;
use tokio::sync::{watch, Notify};

use crate::aggregate::Aggregator;
use crate::config::Config;
use crate::journal::{Journal, Limits};
use crate::reader::{self, ReadChunk, ReaderHealth};
use crate::servers::Servers;
use crate::status::{self, Live};
use crate::sync::{self, SyncSettings, SyncStatus};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens the journal the config names.
pub fn open_journal(config: &Config) -> anyhow::Result<Journal> {
    Journal::open(
        &config.journal.path,
        Limits {
            max_observations: config.journal.max_observations,
            warn_fraction: config.journal.warn_fraction,
        },
    )
    .with_context(|| format!("opening the journal {}", config.journal.path.display()))
}

/// The config's server URLs (one, or several replicas), the first current.
pub fn servers(config: &Config) -> Arc<Servers> {
    Arc::new(Servers::new(config.server.url_list()))
}

/// Sync settings from the config.
pub fn sync_settings(config: &Config) -> SyncSettings {
    SyncSettings {
        token: config.server.token.clone(),
        daemon_id: config.daemon.id.clone(),
        batch_max: config.sync.batch_max_observations,
        batch_max_age: Duration::from_millis(config.sync.batch_max_age_ms),
        retry_base: Duration::from_millis(config.sync.retry_base_ms),
        retry_max: Duration::from_millis(config.sync.retry_max_ms),
        request_timeout: Duration::from_secs_f64(config.server.request_timeout_s.max(0.1)),
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(config))
}

async fn run_async(config: Config) -> anyhow::Result<()> {
    let journal = Arc::new(Mutex::new(open_journal(&config)?));
    let stats = lock(&journal).stats()?;
    tracing::info!(
        daemon = %config.daemon.id,
        journal = %config.journal.path.display(),
        backlog = stats.backlog,
        last_seq = stats.last_seq,
        applied_through = stats.applied_through,
        readers = config.readers.len(),
        servers = ?config.server.url_list(),
        "reader-daemon starting"
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let sync_status = Arc::new(Mutex::new(SyncStatus::default()));
    // One choice of server URL for the sync and the health reports.
    let servers = servers(&config);
    let healths: Vec<Arc<Mutex<ReaderHealth>>> = config
        .readers
        .iter()
        .map(|r| Arc::new(Mutex::new(ReaderHealth::new(r))))
        .collect();
    let live = Arc::new(Live {
        daemon_id: config.daemon.id.clone(),
        started_at: Utc::now(),
        readers: healths.clone(),
        sync: sync_status.clone(),
        servers: servers.clone(),
        journal: Mutex::new(stats),
        observations_committed: Default::default(),
        metrics_addr: Mutex::new(None),
    });

    // Status endpoint first, so a broken address fails the start loudly.
    let listener = tokio::net::TcpListener::bind(config.daemon.metrics_listen)
        .await
        .with_context(|| {
            format!(
                "binding the metrics endpoint on {} (daemon.metrics_listen)",
                config.daemon.metrics_listen
            )
        })?;
    let addr = listener.local_addr()?;
    *lock(&live.metrics_addr) = Some(addr);
    tracing::info!(%addr, "metrics on http://{addr}/metrics, status on http://{addr}/status");
    let http = {
        let mut shutdown = shutdown_rx.clone();
        let app = status::router(live.clone());
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = shutdown.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        })
    };

    // Readers and the aggregator.
    let (tx, rx) = std::sync::mpsc::channel::<ReadChunk>();
    let mut reader_threads = Vec::new();
    for (index, cfg) in config.readers.iter().enumerate() {
        let (tx, health, stop, cfg) = (
            tx.clone(),
            healths[index].clone(),
            stop.clone(),
            cfg.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("reader-{}", cfg.name))
            .spawn(move || reader::run(index, cfg, tx, health, stop))
            .context("spawning a reader thread")?;
        reader_threads.push(thread);
    }
    drop(tx);
    let aggregators: Vec<Aggregator> = config
        .readers
        .iter()
        .map(|r| {
            Aggregator::new(
                r.name.clone(),
                r.role.into(),
                r.aggregation(&config.aggregation),
                Utc::now(),
            )
        })
        .collect();
    let aggregator = {
        let (journal, wake, live) = (journal.clone(), wake.clone(), live.clone());
        std::thread::Builder::new()
            .name("aggregator".into())
            .spawn(move || aggregate_loop(rx, aggregators, &journal, &wake, &live))
            .context("spawning the aggregator")?
    };

    let sync_task = tokio::spawn(sync::run(
        journal.clone(),
        sync_settings(&config),
        servers.clone(),
        sync_status,
        wake.clone(),
        shutdown_rx.clone(),
    ));

    let health_task = (config.sync.health_interval_ms > 0).then(|| {
        tokio::spawn(crate::health::run(
            live.clone(),
            journal.clone(),
            sync_settings(&config),
            servers.clone(),
            Duration::from_millis(config.sync.health_interval_ms),
            shutdown_rx.clone(),
        ))
    });

    let status_task = {
        let (live, journal, path) = (live.clone(), journal.clone(), config.status_file());
        let mut shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            let mut last: Vec<u64> = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => return,
                }
                refresh(&live, &journal, &mut last).await;
                let report = live.report();
                let path = path.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = status::write_file(&path, &report) {
                        tracing::debug!(error = %e, path = %path.display(), "cannot write the status file");
                    }
                })
                .await;
            }
        })
    };

    wait_for_signal().await;
    tracing::info!("stopping: readers first, then the last cycle is journalled");
    stop.store(true, Ordering::Relaxed);
    for t in reader_threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    let _ = tokio::task::spawn_blocking(move || aggregator.join()).await;
    // Give the sync a moment to send the last cycle; whatever is left stays
    // in the journal for the next start.
    wake.notify_one();
    let drain_until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < drain_until {
        let j = journal.clone();
        let pending = tokio::task::spawn_blocking(move || lock(&j).stats().map(|s| s.backlog))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        if pending == 0 || lock(&live.sync).consecutive_failures > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = shutdown_tx.send(true);
    let _ = sync_task.await;
    if let Some(task) = health_task {
        let _ = task.await;
    }
    let _ = status_task.await;
    let _ = http.await;
    let mut last = Vec::new();
    refresh(&live, &journal, &mut last).await;
    let _ = status::write_file(&config.status_file(), &live.report());
    tracing::info!("stopped");
    Ok(())
}

/// Recomputes reads/s and journal stats for the status.
async fn refresh(live: &Arc<Live>, journal: &Arc<Mutex<Journal>>, last: &mut Vec<u64>) {
    last.resize(live.readers.len(), u64::MAX);
    for (h, prev) in live.readers.iter().zip(last.iter_mut()) {
        let mut h = lock(h);
        h.reads_per_s = if *prev == u64::MAX {
            0.0
        } else {
            h.reads_total.saturating_sub(*prev) as f64
        };
        *prev = h.reads_total;
    }
    let journal = journal.clone();
    if let Ok(Ok(stats)) = tokio::task::spawn_blocking(move || lock(&journal).stats()).await {
        *lock(&live.journal) = stats;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Folds reads into cycles and commits each ended cycle. Ends (after a
/// last flush) when every reader thread has gone.
fn aggregate_loop(
    rx: Receiver<ReadChunk>,
    mut aggregators: Vec<Aggregator>,
    journal: &Mutex<Journal>,
    wake: &Notify,
    live: &Live,
) {
    let mut unsaved: Vec<Observation> = Vec::new();
    let mut done = false;
    while !done {
        let now = Utc::now();
        let deadline = aggregators.iter().map(Aggregator::deadline).min();
        let timeout = deadline
            .and_then(|d| (d - now).to_std().ok())
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_millis(250));
        match rx.recv_timeout(timeout) {
            Ok(chunk) => {
                if let Some(a) = aggregators.get_mut(chunk.reader) {
                    for r in chunk.reads {
                        a.read(r);
                    }
                }
                // Drain what else is queued before polling the cycles.
                while let Ok(chunk) = rx.try_recv() {
                    if let Some(a) = aggregators.get_mut(chunk.reader) {
                        for r in chunk.reads {
                            a.read(r);
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => done = true,
        }
        let now = Utc::now();
        for a in &mut aggregators {
            let ended = if done {
                Some(a.flush(now))
            } else {
                a.poll(now)
            };
            if let Some(obs) = ended {
                unsaved.extend(obs);
            }
        }
        if unsaved.is_empty() {
            continue;
        }
        let result = lock(journal).append(&unsaved);
        match result {
            Ok(appended) => {
                live.observations_committed
                    .fetch_add(appended.committed, Ordering::Relaxed);
                unsaved.clear();
                wake.notify_one();
            }
            Err(e) => {
                // Keep them and retry on the next turn; a full disk is loud.
                tracing::error!(error = %e, held = unsaved.len(), "cannot commit observations; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
