//! `warehouse-server bench`: the figures in docs/performance.md —
//! ingest throughput against a raw rusqlite insert of the same rows,
//! stock-take reconciliation time, and EPC look-up latency under a fixed
//! request rate over real HTTP on 127.0.0.1. Not a test: run it by hand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::sync::{Observation, ObservationBatch, ObservationKind};
use shared::tag::EpcBytes;

use crate::config::Config;
use crate::policy::{Actor, Ctx, Role};
use crate::register::{NewReader, ReaderRole};
use crate::stocktake::{LineQuery, NewStockTake};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Assets the register should hold (seeded if fewer).
    #[arg(long, default_value_t = 1_000_000)]
    pub assets: u64,
    /// Observations to ingest (batches of 10,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub observations: u64,
    /// EPCs scanned into the stock-take.
    #[arg(long, default_value_t = 100_000)]
    pub scans: u64,
    /// Look-up requests per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u64,
    /// Seconds of look-up load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

const BATCH: usize = 10_000;

fn observations(epcs: &[EpcBytes], n: usize, reader: &str, rng: &mut StdRng) -> Vec<Observation> {
    let now = Utc::now();
    (0..n)
        .map(|_| {
            // 95 % known tags, 5 % foreign.
            let epc = if rng.gen_bool(0.95) && !epcs.is_empty() {
                epcs[rng.gen_range(0..epcs.len())]
            } else {
                let mut b = [0u8; 12];
                rng.fill(&mut b[..]);
                b[0] = 0xE2;
                EpcBytes::new(&b).unwrap_or(epcs[0])
            };
            Observation {
                epc,
                reader: reader.to_owned(),
                antenna: rng.gen_range(1..=4),
                first_seen: now,
                last_seen: now,
                count: rng.gen_range(1..40),
                peak_rssi: Some(rng.gen_range(-80..-30)),
                kind: ObservationKind::Seen,
                stocktake_id: None,
            }
        })
        .collect()
}

/// The reader's id and the daemon actor that sends for it.
async fn reader(store: &Store, name: &str, role: ReaderRole) -> anyhow::Result<(i64, Actor)> {
    let existing = store.list_readers(1, 500).await?;
    let id = match existing.items.iter().find(|r| r.name == name) {
        Some(r) => r.id,
        None => {
            store
                .create_reader(
                    NewReader {
                        name: name.into(),
                        role,
                        location_id: None,
                    },
                    None,
                )
                .await?
                .reader
                .id
        }
    };
    Ok((
        id,
        Actor::Daemon {
            id: 0,
            daemon_id: name.into(),
            readers: vec![name.into()],
        },
    ))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(args: BenchArgs, config: Config) -> anyhow::Result<()> {
    let key = crate::events::ChainKey::read_or_create(&config.chain_key_path())?;
    let store = Store::open(&config.db, config.read_connections, key)
        .with_context(|| format!("opening {}", config.db.display()))?;
    println!("# warehouse-server bench on {}", config.db.display());
    if store
        .get_setting(crate::commission::COMPANY_PREFIX_KEY)
        .await?
        .is_none()
    {
        store
            .set_settings(vec![(
                crate::commission::COMPANY_PREFIX_KEY.into(),
                "0614141".into(),
            )])
            .await?;
    }
    let have = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.asset_count_blocking())
            .await??
            .0 as u64
    };
    if have < args.assets {
        let report = super::seed::seed(&store, args.assets - have, true).await?;
        println!(
            "seed: {} assets in {:.1?} ({:.0} assets/s, events included)",
            report.assets_added,
            report.elapsed,
            report.assets_added as f64 / report.elapsed.as_secs_f64()
        );
    }
    let (_, desk) = reader(&store, "bench-desk", ReaderRole::Desk).await?;
    let (handheld_id, handheld) = reader(&store, "bench-handheld", ReaderRole::Handheld).await?;
    let epcs: Vec<EpcBytes> = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.sample_epcs_blocking(2_000_000))
            .await??
            .iter()
            .filter_map(|e| EpcBytes::new(e).ok())
            .collect()
    };
    anyhow::ensure!(!epcs.is_empty(), "no tagged assets to benchmark with");
    println!(
        "register: {have_now} assets, {} tagged",
        epcs.len(),
        have_now = have.max(args.assets)
    );

    // --- ingest vs raw insert of the same rows -----------------------------
    let mut rng = StdRng::seed_from_u64(7);
    let run_id = Utc::now().timestamp_millis();
    let batches: Vec<ObservationBatch> = (0..(args.observations as usize).div_ceil(BATCH))
        .map(|i| ObservationBatch {
            daemon_id: format!("bench-desk:{run_id}"),
            sequence: i as u64 + 1,
            observations: observations(&epcs, BATCH, "bench-desk", &mut rng),
        })
        .collect();
    let total_obs: usize = batches.iter().map(|b| b.observations.len()).sum();
    let s = store.clone();
    let batches = Arc::new(batches);
    let b2 = batches.clone();
    let (ingest, raw) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, Duration)> {
            let ctx = Ctx {
                actor: desk,
                request_id: Some("bench".into()),
            };
            let t = Instant::now();
            for b in b2.iter() {
                s.ingest_blocking(&ctx, b)?;
            }
            let ingest = t.elapsed();
            let t = Instant::now();
            for b in b2.iter() {
                s.raw_insert_baseline_blocking(b)?;
            }
            Ok((ingest, t.elapsed()))
        })
        .await??;
    let ingest_rate = total_obs as f64 / ingest.as_secs_f64();
    let raw_rate = total_obs as f64 / raw.as_secs_f64();
    println!(
        "ingest: {total_obs} observations in {ingest:.2?} = {ingest_rate:.0} obs/s \
         (raw rusqlite insert of the same rows: {raw_rate:.0} rows/s; ingest = {:.2} × raw)",
        ingest_rate / raw_rate
    );

    // --- stock-take reconcile ---------------------------------------------
    let wh = store.list_warehouses(1, 1).await?.items;
    let wh = wh.first().context("no warehouse seeded")?.id;
    let bench_ctx = Ctx::system("bench");
    let st = store
        .open_stocktake(
            bench_ctx.clone(),
            NewStockTake {
                warehouse_id: Some(wh),
                unit_id: None,
                location_id: None,
                reader_ids: vec![handheld_id],
            },
        )
        .await?;
    let mut scan_obs: Vec<Observation> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while (scan_obs.len() as u64) < args.scans && seen.len() < epcs.len() {
        for o in observations(&epcs, 1000, "bench-handheld", &mut rng) {
            if seen.insert(o.epc) && (scan_obs.len() as u64) < args.scans {
                scan_obs.push(o);
            }
        }
    }
    let s = store.clone();
    let hh_ctx = Ctx {
        actor: handheld,
        request_id: Some("bench".into()),
    };
    let n_scans = scan_obs.len();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for (i, chunk) in scan_obs.chunks(BATCH).enumerate() {
            s.ingest_blocking(
                &hh_ctx,
                &ObservationBatch {
                    daemon_id: format!("bench-handheld:{run_id}"),
                    sequence: i as u64 + 1,
                    observations: chunk.to_vec(),
                },
            )?;
        }
        Ok(())
    })
    .await??;
    // The live view as a keeper's screen polls it (every outcome counted,
    // first page of lines), then every line with names (what closing keeps).
    let t = Instant::now();
    let rec = store
        .stocktake_reconciliation(st.id, LineQuery::FIRST_PAGE)
        .await?;
    let reconcile = t.elapsed();
    let t = Instant::now();
    let all = store
        .stocktake_reconciliation(st.id, LineQuery::default())
        .await?;
    let all_lines = t.elapsed();
    anyhow::ensure!(all.counts == rec.counts && all.lines.len() as u64 == all.lines_total);
    println!(
        "stock-take: {n_scans} scanned EPCs reconciled in {reconcile:.2?} \
         (expected {}, found {}, missing {}, misplaced {}, foreign {}; counts and the first \
         {} lines); all {} lines with names listed in {all_lines:.2?}",
        rec.counts.expected,
        rec.counts.found,
        rec.counts.missing,
        rec.counts.misplaced,
        rec.counts.foreign,
        rec.lines.len(),
        all.lines_total
    );
    store.close_stocktake(bench_ctx, st.id).await?;

    // --- EPC look-up latency over HTTP ------------------------------------
    let password = crate::accounts::new_token("pw");
    let hash = crate::accounts::hash_password(
        &password,
        crate::config::PasswordCost::InsecureFastForTests,
    )?;
    let user = match store
        .create_user(
            format!("bench-{run_id}"),
            "bench".into(),
            hash,
            Role::Keeper,
            None,
            None,
        )
        .await
    {
        Ok(u) => u,
        Err(e) => anyhow::bail!("creating bench user: {e}"),
    };
    let token = store.create_session(user, 3600).await?.token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = crate::http::router(crate::http::AppState {
        store: store.clone(),
        config: Arc::new(config.clone()),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(10))
        .build()?;
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = args.rate * args.seconds;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for _ in 0..total {
        tick.tick().await;
        let epc = epcs[rng.gen_range(0..epcs.len())];
        let url = format!("http://{addr}/api/v1/assets/by-epc/{epc}");
        let (client, token, lat, errs) = (
            client.clone(),
            token.clone(),
            latencies.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = match client.get(url).bearer_auth(token).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            let d = t.elapsed();
            if ok {
                if let Ok(mut l) = lat.lock() {
                    l.push(d);
                }
            } else {
                errs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = started.elapsed();

    // --- ingest over HTTP (JSON parse + auth + the same store path) ------
    let http_reader = store
        .create_reader(
            NewReader {
                name: format!("bench-http-{run_id}"),
                role: ReaderRole::Desk,
                location_id: None,
            },
            None,
        )
        .await?;
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .take(20)
        .map(|b| {
            let mut b = b.clone();
            b.daemon_id = format!("bench-http-{run_id}");
            for o in &mut b.observations {
                o.reader.clone_from(&http_reader.reader.name);
            }
            serde_json::to_vec(&b)
        })
        .collect::<Result<_, _>>()?;
    let http_obs = bodies.len() * BATCH;
    let t = Instant::now();
    for body in bodies {
        let resp = client
            .post(format!("http://{addr}{}", shared::sync::OBSERVATIONS_PATH))
            .bearer_auth(&http_reader.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "HTTP ingest: {}", resp.status());
    }
    let http_time = t.elapsed();
    server.abort();
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort();
    println!(
        "look-up by EPC: {} requests at {} req/s offered ({:.0} achieved), errors {}, \
         p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        lat.len(),
        args.rate,
        lat.len() as f64 / wall.as_secs_f64(),
        errors.load(std::sync::atomic::Ordering::Relaxed),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
    println!(
        "ingest over HTTP: {http_obs} observations in {http_time:.2?} = {:.0} obs/s \
         (batches of {BATCH}, one connection)",
        http_obs as f64 / http_time.as_secs_f64()
    );
    Ok(())
}
