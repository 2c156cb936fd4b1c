//! `warehouse-server` — the central server where keepers, units, approvers
//! and finance meet and every scan ends up: the HTTP JSON API, storage, the
//! asset register with its hash-chained event log, scan ingest from reader
//! daemons, stock-take reconciliation and exit-gate alarms.
//!
//! Map: [`http`] (routes, extractors, the one error→response mapping) calls
//! [`policy::authorize`] and then [`store::Store`], the only module that
//! speaks SQL. Domain rules live in plain modules: [`register`] (types and
//! validation), [`events`] (hash chain), [`gate`] (alarm rule),
//! [`stocktake`] (reconciliation), [`commission`] (GIAI-96 EPCs).

pub mod accounts;
pub mod acquisition;
pub mod audit;
pub mod cockpit;
pub mod commission;
pub mod config;
pub mod daemons;
pub mod epcis;
pub mod error;
pub mod events;
pub mod gate;
pub mod health;
pub mod http;
pub mod i18n;
pub mod ics;
pub mod idle_rules;
pub mod import;
pub mod input;
pub mod kits;
pub mod lifecycle;
pub mod login;
pub mod money;
pub mod paging;
pub mod policy;
pub mod register;
pub mod rentals;
pub mod reports;
pub mod reserve;
pub mod serving;
pub mod spreadsheet;
pub mod standards;
pub mod stocktake;
pub mod store;
pub mod throttle;
pub mod time;
pub mod tools;
pub mod warnings;
pub mod workflow;

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::store::Store;

/// Opens the database, binds, prints `listening on http://ADDR` (or
/// `https://` with a TLS key pair) on stdout (tests read the OS-assigned
/// port from it) and serves until SIGINT or SIGTERM. Connection limits,
/// timeouts and TLS: [`serving`].
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    config.validate()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(serving::tls::acceptor(cert, key)?),
        _ => None,
    };
    // A cookie sent over TLS must never travel back over plain HTTP.
    config.secure_cookie |= tls.is_some();
    let key = events::ChainKey::read(&config.chain_key_path())?;
    let store = Store::open(&config.db, config.read_connections, key)
        .with_context(|| format!("opening database {}", config.db.display()))?;
    // A wrong key file would chain new entries no verifier can link; say
    // so now. (`verify-log` and `rekey-chain` open without this check:
    // they are how a broken chain is examined and resealed.)
    store
        .check_chain_key()
        .await
        .context("run `warehouse-server verify-log` to see the chain's state")?;
    // Made now, so the first unknown name at login is not slower than the rest.
    accounts::dummy_hash(config.password_cost)?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, db = %config.db.display(), "warehouse-server listening");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {scheme}://{addr}")?;
        out.flush()?;
    }
    let limits = serving::ConnectionLimits::of(&config);
    tokio::spawn(scan_idle_daily(store.clone()));
    let app = http::router(http::AppState {
        store,
        config: Arc::new(config),
    });
    serving::run(listener, app, limits, tls, shutdown_signal()).await;
    tracing::info!("warehouse-server stopped");
    Ok(())
}

/// How often the server asks whether the daily idle scan is due, and how
/// long after start it first asks.
const IDLE_SCAN_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
const IDLE_SCAN_FIRST_CHECK: std::time::Duration = std::time::Duration::from_secs(600);

/// Idle detection once a day: every hour the server asks whether a day has
/// passed since the last scan (kept in the database, so a restarted server
/// or another replica does not scan again before it is due), and scans if
/// so. `POST /api/v1/idle-findings/scan` and `admin scan-idle` run one at
/// once. A failed scan is logged and tried again at the next check.
async fn scan_idle_daily(store: Store) {
    let start = tokio::time::Instant::now() + IDLE_SCAN_FIRST_CHECK;
    let mut every = tokio::time::interval_at(start, IDLE_SCAN_CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store
            .scan_idle_if_due(policy::Ctx::system("idle-scan"))
            .await
        {
            Ok(Some(s)) => tracing::info!(
                opened = s.opened,
                still_open = s.still_open,
                closed = s.closed,
                escalated = s.escalated,
                "idle scan"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "idle scan failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
