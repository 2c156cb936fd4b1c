//! `warehouse-server bench-fleet`: a whole deployment under a fleet of
//! readers (issue 14). Seeds a register of N assets over W warehouses by
//! each backend's bulk path, starts R `serve` replicas on the database as
//! child processes, registers the daemons over the API and drives their
//! readers' load — every reader at line rate, aggregated per cycle into
//! one batch per daemon, posted round-robin over HTTP. Prints ingest
//! observations/s against a raw insert of the same rows, read-to-visible
//! latency on the other replica, API latency at a fixed request rate and
//! the stock-take reconcile time; checks that every observation sent is
//! one row in `sightings`. Not a test: run it by hand (docs/performance.md,
//! "Fleet"); `tests/fleet.rs` runs it small.

mod layout;
mod readers;
mod replicas;
mod seed;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shared::sync::{
    Observation, ObservationBatch, ObservationKind, MAX_OBSERVATIONS_PER_BATCH, OBSERVATIONS_PATH,
};
use shared::tag::EpcBytes;

use crate::config::{Config, PasswordCost};
use crate::events::ChainKey;
use crate::policy::Role;
use crate::register::ReaderRole;
use crate::store::Store;
use crate::tools::bench::percentile;
use layout::{mix, Layout};
use readers::{Reading, SimReader};
use replicas::Replica;

#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Assets in the register (seeded into an empty database).
    #[arg(long, default_value_t = 10_000_000)]
    pub assets: u64,
    /// Warehouses the assets are spread over.
    #[arg(long, default_value_t = 100)]
    pub warehouses: usize,
    /// `serve` processes on the database.
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
    /// Simulated fixed readers.
    #[arg(long, default_value_t = 1_000)]
    pub readers: usize,
    /// Readers per daemon (one batch per daemon per cycle).
    #[arg(long, default_value_t = 4)]
    pub readers_per_daemon: usize,
    /// Tags in front of each reader at a time.
    #[arg(long, default_value_t = 200)]
    pub tags_per_reader: usize,
    /// Raw tag reports per second per reader (line rate).
    #[arg(long, default_value_t = 550)]
    pub read_rate: u32,
    /// Aggregation cycle, ms (the daemon's `cycle_ms`).
    #[arg(long, default_value_t = 2_000)]
    pub cycle_ms: u64,
    /// Share of each reader's tags replaced between cycles.
    #[arg(long, default_value_t = 0.02)]
    pub churn: f64,
    /// Seconds of reader load.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Seconds of flat-out load after it: every daemon sends its next
    /// batch (the same cycle's shape) as soon as the last is acknowledged,
    /// so the rate is what the replicas can take (0: skip).
    #[arg(long, default_value_t = 10)]
    pub capacity_seconds: u64,
    /// API requests per second offered (by id, by EPC, register page:
    /// each kind in turn at this rate).
    #[arg(long, default_value_t = 2_000)]
    pub api_rps: u64,
    /// Seconds of API load of each kind.
    #[arg(long, default_value_t = 5)]
    pub api_seconds: u64,
    /// EPCs scanned into the stock-take.
    #[arg(long, default_value_t = 100_000)]
    pub scans: u64,
    /// Role the fleet's readers are registered with: handheld (shelf and
    /// handheld readers: sightings and last seen) or desk (also the desk
    /// page's live list). Gates report deltas and are not simulated.
    #[arg(long, default_value = "handheld")]
    pub reader_role: String,
}

/// Settings key holding the seeded layout, so a second run on the same
/// database reuses the register instead of seeding again.
const LAYOUT_KEY: &str = "bench.fleet.layout";

/// Probes of read-to-visible latency in flight at once.
const MAX_PROBES: usize = 16;
/// How often a probe asks the other replica.
const PROBE_POLL: Duration = Duration::from_millis(10);
/// A read not visible by then counts as not visible.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// API requests in flight at once. Each waiting request opens a SQLite
/// read connection of its own on the server (the reader pool grows
/// without bound under load), and 500 of them at 256 MiB of page cache
/// each exhausted the machine's memory: the rest wait here, their wait
/// counted in their latency.
const API_IN_FLIGHT: usize = 64;
/// How long after its last request an API phase waits for answers.
const API_GRACE: Duration = Duration::from_secs(10);
/// Observations kept for the raw-insert baseline.
const RAW_SAMPLE: usize = 1_000_000;

impl FleetArgs {
    /// Refuses numbers the run cannot use, naming the flag.
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.assets >= 1, "--assets must be at least 1");
        ensure!(
            self.warehouses >= 1 && self.warehouses as u64 <= self.assets,
            "--warehouses must be between 1 and --assets ({})",
            self.assets
        );
        ensure!(
            (1..=16).contains(&self.replicas),
            "--replicas must be 1 to 16"
        );
        ensure!(
            self.readers >= 1 && self.readers as u64 <= self.assets,
            "--readers must be between 1 and --assets ({}): each reader's tags come from \
             a share of the register",
            self.assets
        );
        ensure!(
            (1..=64).contains(&self.readers_per_daemon),
            "--readers-per-daemon must be 1 to 64"
        );
        ensure!(
            self.tags_per_reader >= 1,
            "--tags-per-reader must be at least 1"
        );
        ensure!(self.read_rate >= 1, "--read-rate must be at least 1");
        ensure!(
            (100..=60_000).contains(&self.cycle_ms),
            "--cycle-ms must be 100 to 60000"
        );
        ensure!(
            (0.0..=1.0).contains(&self.churn),
            "--churn must be between 0 and 1"
        );
        ensure!(self.seconds >= 1, "--seconds must be at least 1");
        ensure!(self.api_rps >= 1, "--api-rps must be at least 1");
        let reads =
            u64::from(self.read_rate) * self.cycle_ms / 1000 * self.readers_per_daemon as u64;
        ensure!(
            reads <= MAX_OBSERVATIONS_PER_BATCH as u64
                || self.tags_per_reader * self.readers_per_daemon <= MAX_OBSERVATIONS_PER_BATCH,
            "one daemon's cycle could hold more than {MAX_OBSERVATIONS_PER_BATCH} observations \
             (a batch's limit): lower --readers-per-daemon, --tags-per-reader or --cycle-ms"
        );
        ReaderRole::parse(&self.reader_role)
            .filter(|r| *r != ReaderRole::Gate)
            .with_context(|| {
                format!(
                    "--reader-role `{}` is not handheld or desk",
                    self.reader_role
                )
            })?;
        Ok(())
    }
}

/// A session token for a new user of `role`.
async fn session(store: &Store, name: String, role: Role) -> anyhow::Result<String> {
    let hash = crate::accounts::hash_password(
        &crate::accounts::new_token("fleet"),
        PasswordCost::InsecureFastForTests,
    )?;
    let user = store
        .create_user(name.clone(), name, hash, role, None, None)
        .await?;
    Ok(store.create_session(user, 24 * 3600).await?.token)
}

/// The register: reused if an earlier run seeded this layout, else seeded
/// now into an empty database. Returns it and the seeding time (None when
/// reused).
async fn register(
    store: &Store,
    db: &Path,
    key: &ChainKey,
    args: &FleetArgs,
) -> anyhow::Result<(Layout, Option<Duration>)> {
    if let Some(text) = store.get_setting(LAYOUT_KEY).await? {
        let layout: Layout = serde_json::from_str(&text)
            .with_context(|| format!("setting {LAYOUT_KEY} is not a fleet layout"))?;
        ensure!(
            layout.assets == args.assets && layout.warehouses.len() == args.warehouses,
            "{} was seeded by an earlier fleet run with {} assets in {} warehouses; \
             run with those numbers or on a new database",
            store.location(),
            layout.assets,
            layout.warehouses.len()
        );
        return Ok((layout, None));
    }
    let have = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.asset_count_blocking())
            .await??
            .0
    };
    ensure!(
        have == 0,
        "{} already holds {have} assets; the fleet bench seeds an empty database \
         (give a new SQLite file or PostgreSQL database)",
        store.location()
    );
    let started = Instant::now();
    let layout = seed::reference(store, args.assets, args.warehouses).await?;
    if store.is_postgres() {
        let url = db.to_string_lossy().trim().to_owned();
        seed::assets_postgres(&url, &layout, key).await?;
    } else {
        let (path, l, k) = (db.to_owned(), layout.clone(), key.clone());
        tokio::task::spawn_blocking(move || seed::assets_sqlite(&path, &l, &k)).await??;
    }
    let took = started.elapsed();
    store
        .set_settings(vec![(LAYOUT_KEY.into(), serde_json::to_string(&layout)?)])
        .await?;
    Ok((layout, Some(took)))
}

/// A registered daemon, its token and its simulated readers.
struct SimDaemon {
    id: String,
    token: String,
    readers: Vec<SimReader>,
    /// The last sequence it sent.
    sequence: u64,
}

/// POST `body` as JSON with `token`; the answer's JSON if 2xx.
async fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    ensure!(status.is_success(), "POST {url}: {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("POST {url}: answer is not JSON"))
}

async fn register_daemons(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    layout: &Layout,
    args: &FleetArgs,
    run: &str,
) -> anyhow::Result<Vec<SimDaemon>> {
    let mut rng = StdRng::seed_from_u64(14);
    let mut daemons = Vec::new();
    let n = args.readers as u64;
    let mut reader = 0usize;
    let mut d = 0usize;
    while reader < args.readers {
        let id = format!("{run}-d{d}");
        let mut specs = Vec::new();
        let mut sims = Vec::new();
        for _ in 0..args.readers_per_daemon.min(args.readers - reader) {
            let i = reader as u64;
            let pool = (i * layout.assets / n)..((i + 1) * layout.assets / n);
            let name = format!("{run}-r{reader}");
            let house = &layout.warehouses[layout.warehouse_of(pool.start)];
            specs.push(json!({
                "name": name,
                "role": args.reader_role,
                "location_id": house.1.first(),
            }));
            sims.push(SimReader::new(
                name,
                layout,
                pool,
                args.tags_per_reader,
                &mut rng,
            )?);
            reader += 1;
        }
        let created = post_json(
            http,
            &format!("{base}/api/v1/daemons"),
            admin,
            &json!({ "daemon_id": id, "readers": specs }),
        )
        .await
        .with_context(|| format!("registering daemon {id}"))?;
        let token = created["token"]
            .as_str()
            .with_context(|| format!("registering daemon {id}: no token in the answer"))?
            .to_owned();
        daemons.push(SimDaemon {
            id,
            token,
            readers: sims,
            sequence: 0,
        });
        d += 1;
    }
    Ok(daemons)
}

/// What the reader load measured.
#[derive(Default)]
struct LoadStats {
    /// Observations acknowledged, per (daemon id, sequence).
    batches: HashMap<(String, u64), usize>,
    observations: u64,
    /// Observations generated (offered), acknowledged or not.
    offered: u64,
    post: Vec<Duration>,
    /// When the first batch was posted, and the last acknowledged.
    first_post: Option<Instant>,
    last_ack: Option<Instant>,
    /// Batches kept for the raw baseline.
    sample: Vec<ObservationBatch>,
    sample_rows: usize,
}

#[derive(Default)]
struct Visibility {
    /// Read's last_seen → visible on the other replica.
    read: Vec<Duration>,
    /// Batch posted → visible on the other replica.
    sent: Vec<Duration>,
    timeouts: u64,
}

fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// Asks `base` for asset `id` every [`PROBE_POLL`] until its last seen is
/// at least `last_seen`; the time it became visible.
async fn probe(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: i64,
    last_seen: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let give_up = Instant::now() + PROBE_TIMEOUT;
    let url = format!("{base}/api/v1/assets/{id}");
    while Instant::now() < give_up {
        if let Ok(resp) = http.get(&url).bearer_auth(token).send().await {
            if let Ok(v) = resp.json::<Value>().await {
                let seen = v["asset"]["last_seen_at"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
                if seen.is_some_and(|s| s.timestamp_millis() >= last_seen.timestamp_millis()) {
                    return Some(Utc::now());
                }
            }
        }
        tokio::time::sleep(PROBE_POLL).await;
    }
    None
}

/// Posts `batch` to the replicas round-robin, retrying the same batch
/// (as the daemon's journal does) until one acknowledges it. The replica
/// that did.
async fn deliver(
    http: &reqwest::Client,
    urls: &[String],
    next: &AtomicUsize,
    token: &str,
    body: &[u8],
    sequence: u64,
    retries: &AtomicU64,
) -> anyhow::Result<usize> {
    for attempt in 0..30 {
        let r = next.fetch_add(1, Ordering::Relaxed) % urls.len();
        let sent = http
            .post(format!("{}{OBSERVATIONS_PATH}", urls[r]))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {
                let ack: Value = resp.json().await.unwrap_or(Value::Null);
                let through = ack["applied_through"].as_u64().unwrap_or(0);
                ensure!(
                    through >= sequence,
                    "batch {sequence} acknowledged only through {through}: {ack}"
                );
                return Ok(r);
            }
            Ok(resp) if resp.status().is_client_error() => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                bail!("batch {sequence} refused: {status}: {text}");
            }
            _ => {
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1).min(10))).await;
            }
        }
    }
    bail!("batch {sequence}: no replica acknowledged it after 30 attempts")
}

struct Shared {
    http: reqwest::Client,
    urls: Vec<String>,
    next: AtomicUsize,
    retries: AtomicU64,
    probes: AtomicUsize,
    admin: String,
    layout: Layout,
    how: Reading,
    stats: Mutex<LoadStats>,
    visible: Mutex<Visibility>,
}

/// One daemon's loop: a cycle of every reader, one batch, delivered;
/// until `deadline`. Paced: one batch per cycle, its reads watched on
/// another replica; flat out (`first_end` None): the next batch as soon
/// as the last is acknowledged, nothing watched. Gives the daemon back.
async fn run_daemon(
    shared: Arc<Shared>,
    mut daemon: SimDaemon,
    first_end: Option<Instant>,
    deadline: Instant,
    seed: u64,
) -> anyhow::Result<SimDaemon> {
    let mut rng = StdRng::seed_from_u64(seed);
    let paced = first_end.is_some();
    let mut end = first_end.unwrap_or_else(Instant::now);
    let mut sequence = daemon.sequence;
    let mut probe_tasks = Vec::new();
    while end <= deadline {
        if paced {
            tokio::time::sleep_until(end.into()).await;
        }
        let now = Utc::now();
        let mut observations: Vec<Observation> = Vec::new();
        let mut probe_of: Option<(i64, DateTime<Utc>)> = None;
        for r in &mut daemon.readers {
            let obs = r.cycle(&shared.how, now, &mut rng);
            if probe_of.is_none() && !obs.is_empty() {
                let o = &obs[rng.gen_range(0..obs.len())];
                probe_of = r.asset_of(&o.epc).map(|id| (id, o.last_seen));
            }
            r.churn(&shared.layout, &shared.how, &mut rng)?;
            observations.extend(obs);
        }
        end = if paced {
            (end + shared.how.cycle).max(Instant::now())
        } else {
            Instant::now()
        };
        if observations.is_empty() {
            continue;
        }
        sequence += 1;
        daemon.sequence = sequence;
        let batch = ObservationBatch {
            daemon_id: daemon.id.clone(),
            sequence,
            observations,
        };
        let body = serde_json::to_vec(&batch)?;
        let n = batch.observations.len();
        let posted = Instant::now();
        if let Ok(mut s) = shared.stats.lock() {
            s.offered += n as u64;
            s.first_post = Some(s.first_post.map_or(posted, |f| f.min(posted)));
        }
        let posted_at = Utc::now();
        let r = deliver(
            &shared.http,
            &shared.urls,
            &shared.next,
            &daemon.token,
            &body,
            sequence,
            &shared.retries,
        )
        .await
        .with_context(|| format!("daemon {}", daemon.id))?;
        let took = posted.elapsed();
        if let Ok(mut s) = shared.stats.lock() {
            s.observations += n as u64;
            s.batches.insert((daemon.id.clone(), sequence), n);
            s.post.push(took);
            s.last_ack = Some(Instant::now());
            if s.sample_rows < RAW_SAMPLE {
                s.sample_rows += n;
                s.sample.push(batch);
            }
        }
        // Watch one read of this batch appear on another replica.
        if let Some((id, last_seen)) = probe_of.filter(|_| paced) {
            if shared.probes.fetch_add(1, Ordering::AcqRel) < MAX_PROBES {
                let sh = shared.clone();
                let other = sh.urls[(r + 1) % sh.urls.len()].clone();
                probe_tasks.push(tokio::spawn(async move {
                    let seen = probe(&sh.http, &other, &sh.admin, id, last_seen).await;
                    if let Ok(mut v) = sh.visible.lock() {
                        match seen {
                            Some(at) => {
                                v.read.push(since(last_seen, at));
                                v.sent.push(since(posted_at, at));
                            }
                            None => v.timeouts += 1,
                        }
                    }
                    sh.probes.fetch_sub(1, Ordering::AcqRel);
                }));
            } else {
                shared.probes.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
    for t in probe_tasks {
        let _ = t.await;
    }
    Ok(daemon)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `p50 / p99 / max` of `v` (sorted here), in ms.
fn spread(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    (
        ms(percentile(v, 0.50)),
        ms(percentile(v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
    )
}

/// Rows in `sightings` per (daemon, sequence) of the run's daemons.
fn sightings_per_batch(store: &Store, run: &str) -> anyhow::Result<HashMap<(String, u64), usize>> {
    let pattern = format!("{run}-d%");
    Ok(store.read_blocking(|c| {
        let mut stmt = c.prepare(
            "SELECT daemon_id, sequence, count(*) FROM sightings WHERE daemon_id LIKE ?1
             GROUP BY daemon_id, sequence",
        )?;
        let rows = stmt.query_map([&pattern], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64),
                r.get::<_, i64>(2)? as usize,
            ))
        })?;
        Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
    })?)
}

/// The same rows inserted raw (no look-ups, a plain table, one
/// transaction per batch) by each backend's fastest path: prepared
/// inserts on SQLite, binary COPY on PostgreSQL. Rows per second.
async fn raw_rate(store: &Store, db: &Path, sample: Vec<ObservationBatch>) -> anyhow::Result<f64> {
    let rows: usize = sample.iter().map(|b| b.observations.len()).sum();
    if rows == 0 {
        return Ok(0.0);
    }
    let took = if store.is_postgres() {
        let url = db.to_string_lossy().trim().to_owned();
        let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .context("connecting for the raw baseline")?;
        let conn = tokio::spawn(connection);
        client
            .batch_execute("DROP TABLE IF EXISTS bench_raw_sightings")
            .await?;
        let t = Instant::now();
        for b in &sample {
            crate::store::pg::raw_copy_baseline(&mut client, b).await?;
        }
        let took = t.elapsed();
        client
            .batch_execute("DROP TABLE IF EXISTS bench_raw_sightings")
            .await?;
        drop(client);
        let _ = conn.await;
        took
    } else {
        let s = store.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
            let drop_table = |s: &Store| {
                s.write_blocking(|tx| {
                    tx.execute_batch("DROP TABLE IF EXISTS bench_raw_sightings")?;
                    Ok(())
                })
            };
            drop_table(&s)?;
            let t = Instant::now();
            for b in &sample {
                s.raw_insert_baseline_blocking(b)?;
            }
            let took = t.elapsed();
            drop_table(&s)?;
            Ok(took)
        })
        .await??
    };
    Ok(rows as f64 / took.as_secs_f64())
}

/// API latency at a fixed offered rate, one kind of request at a time
/// (asset by id, asset by EPC, a register page among the first 20), each
/// for `--api-seconds`, round-robin over the replicas; each latency from
/// the request's scheduled start (a late start counts).
async fn api_load(
    urls: &[String],
    token: &str,
    layout: &Layout,
    args: &FleetArgs,
) -> anyhow::Result<Vec<(&'static str, Vec<Duration>, u64)>> {
    const KINDS: [&str; 3] = ["asset by id", "asset by EPC", "register page"];
    let total = args.api_rps * args.api_seconds;
    let results: Arc<Mutex<[Vec<Duration>; 3]>> = Arc::default();
    let errors: Arc<[AtomicU64; 3]> = Arc::default();
    let mut rng = StdRng::seed_from_u64(2_000);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(API_IN_FLIGHT));
    for kind in 0..KINDS.len() {
        // A client of its own: no connection the last phase left behind.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.api_rps as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = tick.tick().await;
            let k = rng.gen_range(0..layout.assets);
            let base = &urls[(i as usize) % urls.len()];
            let url = match kind {
                0 => format!("{base}/api/v1/assets/{}", layout.first_id + k as i64),
                1 => format!("{base}/api/v1/assets/by-epc/{}", layout.epc(k)?),
                _ => format!(
                    "{base}/api/v1/assets?page={}&per_page=50",
                    rng.gen_range(1..=20)
                ),
            };
            let (http, token, results, errors, in_flight) = (
                http.clone(),
                token.to_owned(),
                results.clone(),
                errors.clone(),
                in_flight.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = in_flight.acquire_owned().await;
                let failed = match http.get(url).bearer_auth(token).send().await {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await.err().map(|e| e.to_string())
                    }
                    Ok(r) => Some(format!("answered {}", r.status())),
                    Err(e) => {
                        let mut why = e.to_string();
                        let mut cause = std::error::Error::source(&e);
                        while let Some(c) = cause {
                            why.push_str(&format!(": {c}"));
                            cause = c.source();
                        }
                        Some(why)
                    }
                };
                let took = scheduled.elapsed();
                match failed {
                    None => {
                        if let Ok(mut r) = results.lock() {
                            r[kind].push(took);
                        }
                    }
                    Some(why) => {
                        if errors[kind].fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("api {}: first error: {why}", KINDS[kind]);
                        }
                    }
                }
            }));
        }
        // A request not answered soon after the phase is a failure, not
        // a reason to wait minutes for an endpoint that cannot keep up.
        let cut = tokio::time::Instant::now() + API_GRACE;
        let mut unanswered = 0u64;
        for t in tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(cut, t).await.is_err() {
                abort.abort();
                unanswered += 1;
            }
        }
        if unanswered > 0 {
            if errors[kind].fetch_add(unanswered, Ordering::Relaxed) == 0 {
                eprintln!("api {}: first error: not answered in time", KINDS[kind]);
            }
            eprintln!(
                "api {}: {unanswered} requests not answered within {API_GRACE:?} of the \
                 phase's end (counted as errors)",
                KINDS[kind]
            );
        }
    }
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    Ok(KINDS
        .iter()
        .zip(results)
        .zip(errors.iter())
        .map(|((k, v), e)| (*k, v, e.load(Ordering::Relaxed)))
        .collect())
}

/// What the stock-take measured.
struct StockTakeFigures {
    scans: usize,
    ingest: Duration,
    live: Duration,
    close: Duration,
    counts: Value,
}

/// A handheld stock-take of the first warehouse: `args.scans` EPCs — the
/// register in id order from that warehouse on (every 20th asset left
/// unscanned, so some are missing; assets of later warehouses are
/// misplaced), topped up with foreign tags — ingested over HTTP; then the
/// live reconciliation and the close are timed.
async fn stocktake(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    keeper: &str,
    layout: &Layout,
    args: &FleetArgs,
    run: &str,
) -> anyhow::Result<StockTakeFigures> {
    let daemon = format!("{run}-hand");
    let reader = format!("{run}-hand-1");
    let created = post_json(
        http,
        &format!("{base}/api/v1/daemons"),
        admin,
        &json!({ "daemon_id": daemon, "readers": [{ "name": reader, "role": "handheld" }] }),
    )
    .await?;
    let token = created["token"]
        .as_str()
        .context("registering the handheld: no token")?
        .to_owned();
    let reader_id = created["daemon"]["readers"][0]["id"]
        .as_i64()
        .context("registering the handheld: no reader id")?;
    let st = post_json(
        http,
        &format!("{base}/api/v1/stocktakes"),
        keeper,
        &json!({ "warehouse_id": layout.warehouses[0].0, "reader_ids": [reader_id] }),
    )
    .await?;
    let st_id = st["id"].as_i64().context("opening the stock-take: no id")?;

    let wanted = args.scans as usize;
    let mut epcs: Vec<EpcBytes> = Vec::with_capacity(wanted);
    let mut k = layout.block(0).start;
    while epcs.len() < wanted * 95 / 100 && k < layout.assets {
        if !mix(k ^ 0x5EED).is_multiple_of(20) {
            epcs.push(layout.epc(k)?);
        }
        k += 1;
    }
    let mut rng = StdRng::seed_from_u64(100_000);
    while epcs.len() < wanted {
        let mut b = [0u8; 12];
        rng.fill(&mut b[..]);
        b[0] = 0xE2;
        epcs.push(EpcBytes::new(&b)?);
    }
    let now = Utc::now();
    let started = Instant::now();
    for (i, chunk) in epcs.chunks(MAX_OBSERVATIONS_PER_BATCH).enumerate() {
        let batch = ObservationBatch {
            daemon_id: daemon.clone(),
            sequence: i as u64 + 1,
            observations: chunk
                .iter()
                .map(|epc| Observation {
                    epc: *epc,
                    reader: reader.clone(),
                    antenna: 1,
                    first_seen: now,
                    last_seen: now,
                    count: 3,
                    peak_rssi: Some(-50),
                    kind: ObservationKind::Seen,
                    stocktake_id: None,
                })
                .collect(),
        };
        post_json(
            http,
            &format!("{base}{OBSERVATIONS_PATH}"),
            &token,
            &serde_json::to_value(&batch)?,
        )
        .await
        .context("ingesting the stock-take's scans")?;
    }
    let ingest = started.elapsed();
    let t = Instant::now();
    let resp = http
        .get(format!(
            "{base}/api/v1/stocktakes/{st_id}?page=1&per_page=50"
        ))
        .bearer_auth(keeper)
        .send()
        .await?;
    ensure!(
        resp.status().is_success(),
        "live reconciliation: {}",
        resp.status()
    );
    let _ = resp.bytes().await?;
    let live = t.elapsed();
    let t = Instant::now();
    let closed = post_json(
        http,
        &format!("{base}/api/v1/stocktakes/{st_id}/close"),
        keeper,
        &Value::Null,
    )
    .await
    .context("closing the stock-take")?;
    let close = t.elapsed();
    Ok(StockTakeFigures {
        scans: epcs.len(),
        ingest,
        live,
        close,
        counts: closed["counts"].clone(),
    })
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

pub async fn run(args: FleetArgs, config: Config) -> anyhow::Result<()> {
    args.check()?;
    let key_path = std::path::absolute(config.chain_key_path())
        .context("resolving the chain key file's path")?;
    let key = ChainKey::read_or_create(&key_path)?;
    let store = Store::open(&config.db, config.read_connections, key.clone())
        .with_context(|| format!("opening {}", config.db.display()))?;
    let backend = if store.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("# fleet bench on {backend} {}", store.location());
    let (layout, seeded) = register(&store, &config.db, &key, &args).await?;
    match seeded {
        Some(took) => println!(
            "seed: {} assets (tag and `registered` event each) in {} warehouses in {:.1} s \
             = {:.0} assets/s",
            layout.assets,
            layout.warehouses.len(),
            took.as_secs_f64(),
            layout.assets as f64 / took.as_secs_f64()
        ),
        None => println!(
            "seed: reusing the {} assets an earlier run seeded",
            layout.assets
        ),
    }
    let run = format!("fleet{}", crate::time::now_ms());
    let admin = session(&store, format!("{run}-admin"), Role::Administrator).await?;
    let keeper = session(&store, format!("{run}-keeper"), Role::Keeper).await?;

    let exe = std::env::current_exe().context("finding this program to start replicas")?;
    let db: PathBuf = if store.is_postgres() {
        config.db.clone()
    } else {
        std::path::absolute(&config.db)?
    };
    let mut replicas = Vec::new();
    for i in 0..args.replicas {
        let log = std::env::temp_dir().join(format!("{run}-replica-{i}.log"));
        replicas.push(Replica::start(&exe, &db, &key_path, &log)?);
    }
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    println!("replicas: {}", urls.join(" "));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()?;
    let daemons = register_daemons(&http, &urls[0], &admin, &layout, &args, &run).await?;
    println!(
        "daemons: {} registered over the API, {} {} readers, {} tags each, {} reads/s, \
         {} ms cycles",
        daemons.len(),
        args.readers,
        args.reader_role,
        args.tags_per_reader,
        args.read_rate,
        args.cycle_ms
    );

    // --- reader load -------------------------------------------------------
    let cycle = Duration::from_millis(args.cycle_ms);
    let shared = Arc::new(Shared {
        http: http.clone(),
        urls: urls.clone(),
        next: AtomicUsize::new(0),
        retries: AtomicU64::new(0),
        probes: AtomicUsize::new(0),
        admin: admin.clone(),
        layout: layout.clone(),
        how: Reading {
            reads_per_sec: args.read_rate,
            cycle,
            churn: args.churn,
            foreign: 0.05,
        },
        stats: Mutex::default(),
        visible: Mutex::default(),
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let n = daemons.len() as u32;
    let tasks: Vec<_> = daemons
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            // Daemons' cycles end spread over one cycle, not all at once.
            let first = start + cycle * (i as u32 + 1) / n.max(1) + cycle / 2;
            tokio::spawn(run_daemon(
                shared.clone(),
                d,
                Some(first),
                deadline,
                i as u64,
            ))
        })
        .collect();
    let mut daemons = Vec::with_capacity(tasks.len());
    for t in tasks {
        daemons.push(t.await??);
    }
    let (mut stats, visible) = {
        let mut s = shared
            .stats
            .lock()
            .map_err(|_| anyhow::anyhow!("stats lock"))?;
        let mut v = shared
            .visible
            .lock()
            .map_err(|_| anyhow::anyhow!("visibility lock"))?;
        (std::mem::take(&mut *s), std::mem::take(&mut *v))
    };
    // From when the first batch's reads began (one cycle before it was
    // posted) to the last acknowledgement.
    let window = match (stats.first_post, stats.last_ack) {
        (Some(first), Some(last)) => (last + cycle).saturating_duration_since(first),
        _ => Duration::from_secs(args.seconds),
    }
    .max(Duration::from_millis(1));
    let ingest_rate = stats.observations as f64 / window.as_secs_f64();
    let mut post = stats.post.clone();
    let (post50, post99, post_max) = spread(&mut post);
    println!(
        "ingest: {} observations in {} batches acknowledged in {:.1} s = {ingest_rate:.0} obs/s \
         (offered {:.0} obs/s); POST p50 {post50:.1} ms, p99 {post99:.1} ms, max {post_max:.1} \
         ms; {} retries",
        stats.observations,
        stats.batches.len(),
        window.as_secs_f64(),
        stats.offered as f64 / window.as_secs_f64(),
        shared.retries.load(Ordering::Relaxed)
    );

    // --- flat out: what the replicas can take --------------------------
    let capacity = if args.capacity_seconds > 0 {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(args.capacity_seconds);
        let tasks: Vec<_> = daemons
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                tokio::spawn(run_daemon(
                    shared.clone(),
                    d,
                    None,
                    deadline,
                    1_000_000 + i as u64,
                ))
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let flat = {
            let mut s = shared
                .stats
                .lock()
                .map_err(|_| anyhow::anyhow!("stats lock"))?;
            std::mem::take(&mut *s)
        };
        let took = flat
            .last_ack
            .map_or(start.elapsed(), |last| {
                last.saturating_duration_since(start)
            })
            .max(Duration::from_millis(1));
        let rate = flat.observations as f64 / took.as_secs_f64();
        let mut post = flat.post.clone();
        let (p50, p99, max) = spread(&mut post);
        println!(
            "ingest capacity (flat out: each daemon's next batch on its acknowledgement): {} \
             observations in {} batches in {:.1} s = {rate:.0} obs/s; POST p50 {p50:.1} ms, \
             p99 {p99:.1} ms, max {max:.1} ms",
            flat.observations,
            flat.batches.len(),
            took.as_secs_f64()
        );
        stats.observations += flat.observations;
        stats.batches.extend(flat.batches);
        Some(rate)
    } else {
        None
    };
    // The servers' rate: flat out if measured, else what the paced load
    // achieved (the same when the servers could not keep up with it).
    let paced_rate = ingest_rate;
    let ingest_rate = capacity.unwrap_or(paced_rate);

    // Every observation acknowledged is one row, in its own batch.
    let rows = {
        let (s, r) = (store.clone(), run.clone());
        tokio::task::spawn_blocking(move || sightings_per_batch(&s, &r)).await??
    };
    let stored: usize = rows.values().sum();
    let wrong = stats
        .batches
        .iter()
        .filter(|(k, n)| rows.get(*k) != Some(*n))
        .count()
        + rows
            .keys()
            .filter(|k| !stats.batches.contains_key(*k))
            .count();
    println!(
        "exactly once: {stored} rows in sightings for {} observations sent; {wrong} batches \
         with a different count",
        stats.observations
    );

    let raw = raw_rate(&store, &config.db, stats.sample).await?;
    println!(
        "raw insert of the same rows ({} rows, one transaction per batch, {}): {raw:.0} rows/s; \
         ingest{} = {:.2} × raw",
        stats.sample_rows.min(stats.observations as usize),
        if store.is_postgres() {
            "binary COPY"
        } else {
            "prepared INSERTs"
        },
        if capacity.is_some() { " capacity" } else { "" },
        ingest_rate / raw.max(1.0)
    );
    let (mut vis_read, mut vis_sent) = (visible.read, visible.sent);
    let (r50, r99, rmax) = spread(&mut vis_read);
    let (s50, s99, _) = spread(&mut vis_sent);
    println!(
        "read-to-visible on the other replica ({} probes, {} not visible within {:?}): \
         p50 {r50:.0} ms, p99 {r99:.0} ms, max {rmax:.0} ms (from the batch's POST: p50 \
         {s50:.0} ms, p99 {s99:.0} ms)",
        vis_read.len(),
        visible.timeouts,
        PROBE_TIMEOUT
    );

    // --- API ---------------------------------------------------------------
    let api = api_load(&urls, &keeper, &layout, &args).await?;
    let mut api_worst = 0.0f64;
    let mut api_errors = 0u64;
    for (kind, mut lat, errors) in api {
        let (p50, p99, max) = spread(&mut lat);
        api_worst = api_worst.max(p99);
        api_errors += errors;
        println!(
            "api {kind}: {} answered at {} req/s offered, {errors} errors; \
             p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
            lat.len(),
            args.api_rps
        );
    }

    // --- stock-take --------------------------------------------------------
    let st = stocktake(&http, &urls[0], &admin, &keeper, &layout, &args, &run).await?;
    println!(
        "stock-take: {} scanned EPCs against {} assets ingested in {:.1} s; live view \
         {:.0} ms; close (reconcile) {:.0} ms; counts {}",
        st.scans,
        layout.assets,
        st.ingest.as_secs_f64(),
        ms(st.live),
        ms(st.close),
        st.counts
    );
    drop(replicas);

    println!("# figures");
    if let Some(took) = seeded {
        println!("fleet.seed_seconds={:.3}", took.as_secs_f64());
    }
    println!("fleet.observations_sent={}", stats.observations);
    println!("fleet.sightings_rows={stored}");
    println!("fleet.batches_miscounted={wrong}");
    println!("fleet.ingest_paced_obs_per_sec={paced_rate:.0}");
    if let Some(c) = capacity {
        println!("fleet.ingest_capacity_obs_per_sec={c:.0}");
    }
    println!("fleet.ingest_obs_per_sec={ingest_rate:.0}");
    println!("fleet.raw_rows_per_sec={raw:.0}");
    println!("fleet.ingest_vs_raw={:.3}", ingest_rate / raw.max(1.0));
    println!("fleet.visible_probes={}", vis_read.len());
    println!("fleet.visible_p50_ms={r50:.1}");
    println!("fleet.visible_p99_ms={r99:.1}");
    println!("fleet.api_p99_ms={api_worst:.1}");
    println!("fleet.api_errors={api_errors}");
    println!("fleet.stocktake_scans={}", st.scans);
    println!("fleet.reconcile_ms={:.1}", ms(st.close));
    println!("# targets");
    println!(
        "ingest >= 100k obs/s and >= 0.5 x raw: {}",
        met(ingest_rate >= 100_000.0 && ingest_rate >= 0.5 * raw)
    );
    println!(
        "reconcile {} scans vs {} assets < 1 s: {}",
        st.scans,
        layout.assets,
        met(st.close < Duration::from_secs(1))
    );
    println!(
        "API p99 < 20 ms at {} req/s, every request answered: {}",
        args.api_rps,
        met(api_worst < 20.0 && api_errors == 0)
    );
    println!("read-to-visible p99 < 1 s: {}", met(r99 < 1_000.0));
    ensure!(
        wrong == 0 && stored as u64 == stats.observations,
        "sightings do not match what was sent: {stored} rows for {} observations, \
         {wrong} batches miscounted",
        stats.observations
    );
    Ok(())
}
