//! The operator-facing subcommands other than `run`: `status` now,
//! `stocktake` and `commission` as the server's endpoints allow.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::Config;
use crate::servers::Servers;
use crate::status::{self, StatusReport};

/// `reader-daemon status`: asks the running daemon's loopback endpoint,
/// falling back to its status file (marked stale when old). Exits 2 when
/// the server's last answer refused the daemon's token, 1 when stale.
pub fn status(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config)?;
    let path = config.status_file();
    let from_file: Option<StatusReport> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let addr = from_file
        .as_ref()
        .and_then(|r| r.metrics_addr)
        .unwrap_or(config.daemon.metrics_listen);
    let live = fetch_live(addr);
    let (report, stale) = match (live, from_file) {
        (Some(r), _) => (r, false),
        (None, Some(r)) => {
            let age = chrono::Utc::now() - r.updated_at;
            (r, age > chrono::Duration::seconds(5))
        }
        (None, None) => anyhow::bail!(
            "no daemon answers on http://{addr}/status and there is no status file at {} \
             — is `reader-daemon run --config …` running with this config?",
            path.display()
        ),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", status::render_human(&report, stale));
    }
    // 2: the server refuses our token, reads pile up (the ERROR line says
    // how many); 1: the status is stale (no daemon answers).
    Ok(if report.sync.auth_failing {
        if json {
            eprintln!(
                "ERROR: {}",
                report.sync.auth_message(report.journal.backlog)
            );
        }
        ExitCode::from(2)
    } else if stale {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn fetch_live(addr: std::net::SocketAddr) -> Option<StatusReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")
        .ok()?;
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .ok()?;
        let r = client
            .get(format!("http://{addr}/status"))
            .send()
            .await
            .ok()?;
        r.json::<StatusReport>().await.ok()
    })
}

// ---------------------------------------------------------------------------
// commission
// ---------------------------------------------------------------------------

/// A small blocking HTTP client for the operator commands. It calls the
/// current one of the config's server URLs and fails over like the sync
/// ([`Servers`]): to the next URL when one cannot be reached — a GET also
/// on a timeout or a 5xx; a POST only when it never reached the server
/// (the connection was refused), since it may have been applied.
struct Api {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    servers: Arc<Servers>,
    token: String,
}

impl Api {
    fn new(config: &Config, servers: Arc<Servers>, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting a runtime")?,
            client: crate::sync::client(Duration::from_secs_f64(
                config.server.request_timeout_s.max(0.1),
            ))?,
            servers,
            token: token.to_string(),
        })
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let get = method == reqwest::Method::GET;
        self.runtime.block_on(async {
            let mut last = None;
            for _ in 0..self.servers.len() {
                let Some((at, base)) = self.servers.current() else {
                    break;
                };
                let url = format!("{base}{path}");
                let send = || {
                    let mut req = self
                        .client
                        .request(method.clone(), &url)
                        .bearer_auth(&self.token);
                    if let Some(b) = &body {
                        req = req.json(b);
                    }
                    req.send()
                };
                // A pooled connection to a server that restarted since fails
                // the first request on it; a GET is safe to send once more.
                let resp = match send().await {
                    Err(e) if get && e.status().is_none() => {
                        tracing::debug!("{method} {url}: {e}; retrying once on a fresh connection");
                        send().await
                    }
                    other => other,
                };
                let now = chrono::Utc::now();
                let resp = match resp {
                    Err(e) if get || e.is_connect() => {
                        let reason = format!(
                            "{method} {url}: server unreachable: {}",
                            crate::sync::error_chain(&e)
                        );
                        self.servers.failed(at, &reason, true, now);
                        last = Some(anyhow::anyhow!(reason));
                        continue;
                    }
                    Err(e) => {
                        return Err(anyhow::Error::new(e)
                            .context(format!("{method} {url}: server unreachable")))
                    }
                    Ok(r) => r,
                };
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                if get && status.is_server_error() {
                    let reason = format!("{method} {url}: server answered {status}: {text}");
                    self.servers.failed(at, &reason, true, now);
                    last = Some(anyhow::anyhow!(reason));
                    continue;
                }
                if !status.is_success() {
                    anyhow::bail!("{method} {url}: server answered {status}: {text}");
                }
                self.servers.worked(at, now);
                if text.is_empty() {
                    return Ok(serde_json::Value::Null);
                }
                return serde_json::from_str(&text)
                    .with_context(|| format!("{method} {url}: answer is not JSON: {text}"));
            }
            Err(last.unwrap_or_else(|| anyhow::anyhow!("no server URL in the config")))
        })
    }
}

/// Options of `reader-daemon commission`.
#[derive(Debug, Clone)]
pub struct CommissionArgs {
    pub reader: String,
    pub assets: Vec<i64>,
    /// Overwrite a tag that already carries a GIAI (asset) EPC.
    pub force: bool,
    /// Do not wait for Enter between tags.
    pub yes: bool,
    /// How long each inventory (field check, verification) runs.
    pub scan: Duration,
}

/// Why one tag could not be commissioned (the others go on).
fn check_field(
    seen: &std::collections::BTreeMap<shared::tag::EpcBytes, crate::handheld::Seen>,
    force: bool,
) -> Result<shared::tag::EpcBytes, String> {
    let mut tags = seen.keys();
    let (Some(epc), None) = (tags.next(), tags.next()) else {
        return Err(if seen.is_empty() {
            "no tag in the field: place one blank tag on the reader".into()
        } else {
            format!(
                "{} tags in the field ({}): keep only the one blank tag near the antenna",
                seen.len(),
                seen.keys()
                    .take(5)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    };
    let decoded = shared::epc::decode(epc.as_slice());
    let is_asset = matches!(
        decoded.scheme(),
        shared::epc::Scheme::Giai96 | shared::epc::Scheme::Giai202
    );
    if is_asset && !force {
        return Err(format!(
            "the tag already carries an asset EPC ({}); use a blank tag, or --force to overwrite",
            decoded.tag_uri()
        ));
    }
    Ok(*epc)
}

/// `reader-daemon commission`: for each asset, check that exactly one
/// blank tag is in the field, take the EPC the server allocates, write it,
/// read it back, and confirm to the server.
pub fn commission(config: &Path, args: CommissionArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config)?;
    let reader_cfg = config.reader(&args.reader).map_err(anyhow::Error::msg)?;
    let api = Api::new(
        &config,
        crate::daemon::servers(&config),
        &config.server.token,
    )?;
    let mut handheld = crate::handheld::Handheld::open(reader_cfg)?;
    eprintln!(
        "reader {} ready ({})",
        args.reader,
        handheld.firmware().unwrap_or("firmware unknown")
    );
    let mut failed = 0;
    for (i, &asset) in args.assets.iter().enumerate() {
        if i > 0 {
            // No inventory while the keeper swaps tags: a continuous
            // (Chainway) stream would otherwise leave reads of the tag just
            // taken away queued for the next tag's field check.
            handheld.pause()?;
        }
        if args.assets.len() > 1 && !args.yes {
            eprint!(
                "[{}/{}] place the blank tag for asset {asset} on the reader and press Enter: ",
                i + 1,
                args.assets.len()
            );
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
                anyhow::bail!("stdin closed; pass --yes to commission without prompts");
            }
        }
        match commission_one(&api, &mut handheld, asset, &args) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                failed += 1;
                println!("asset {asset}: FAILED: {e:#}");
            }
        }
    }
    handheld.close();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn commission_one(
    api: &Api,
    handheld: &mut crate::handheld::Handheld,
    asset: i64,
    args: &CommissionArgs,
) -> anyhow::Result<String> {
    let seen = handheld.inventory(args.scan)?;
    let current = check_field(&seen, args.force).map_err(anyhow::Error::msg)?;
    let allocation: shared::sync::Commission = serde_json::from_value(api.call(
        reqwest::Method::POST,
        &format!("/api/v1/assets/{asset}/tag/commission"),
        Some(serde_json::json!({})),
    )?)
    .context("the server's commission answer")?;
    let new = shared::tag::EpcBytes::from_hex(&allocation.epc)
        .map_err(|e| anyhow::anyhow!("the server allocated a bad EPC {:?}: {e}", allocation.epc))?;
    handheld
        .write_epc(&current, &new)
        .with_context(|| format!("writing {new} over {current}"))?;
    let after = handheld.inventory(args.scan)?;
    if !after.contains_key(&new) {
        anyhow::bail!(
            "verification failed: after writing, the reader does not see {new} (it sees: {}); \
             the server was not told — retry with a fresh tag",
            after
                .keys()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if after.contains_key(&current) && current != new {
        anyhow::bail!("verification failed: the old EPC {current} is still in the field");
    }
    api.call(
        reqwest::Method::POST,
        &format!(
            "/api/v1/tag-commissions/{}/confirm",
            allocation.commission_id
        ),
        Some(serde_json::json!({ "epc": new.to_string() })),
    )
    .context("confirming to the server (the tag is written; re-run to confirm)")?;
    Ok(format!(
        "asset {asset}: wrote {new} ({}) over {current}, verified, bound",
        allocation.tag_uri
    ))
}

// ---------------------------------------------------------------------------
// stocktake
// ---------------------------------------------------------------------------

/// Options of `reader-daemon stocktake`.
#[derive(Debug, Clone)]
pub struct StocktakeArgs {
    pub reader: String,
    /// Open a new stock-take of this location (id) …
    pub open_location: Option<i64>,
    /// … in this warehouse (id).
    pub warehouse: Option<i64>,
    /// Or open an inspection at this unit's premises (巡检, unit id).
    pub inspect_unit: Option<i64>,
    /// … or join this open one.
    pub session: Option<i64>,
    /// A keeper's API token (opening and the live reconciliation need one).
    pub keeper_token: Option<String>,
    /// Stop after this long; otherwise on Enter or Ctrl-C.
    pub duration: Option<Duration>,
    /// No progress bar (logs and scripts).
    pub quiet: bool,
    /// How long to wait at the end for the sync (the rest waits in the
    /// journal for the next run).
    pub sync_wait: Duration,
}

/// What the stock-take expects, cached so it works offline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Expected {
    session: i64,
    /// EPC hex (upper case) → asset number.
    expected: std::collections::BTreeMap<String, String>,
    fetched_at: chrono::DateTime<chrono::Utc>,
}

/// What the handheld reads of the server's stock-take answer: its lines.
#[derive(Debug, serde::Deserialize)]
struct StockTakeLines {
    lines: Vec<shared::sync::StockTakeLine>,
}

/// The expected list: EPCs of the lines the server expects here (found or
/// missing) and their asset numbers.
fn expected_from(lines: &[shared::sync::StockTakeLine], session: i64) -> Expected {
    use shared::sync::Outcome;
    let expected = lines
        .iter()
        .filter(|l| matches!(l.outcome, Outcome::Found | Outcome::Missing))
        .filter_map(|l| {
            let epc = l.epc.as_ref()?;
            Some((
                epc.to_ascii_uppercase(),
                l.asset_number.clone().unwrap_or_default(),
            ))
        })
        .collect();
    Expected {
        session,
        expected,
        fetched_at: chrono::Utc::now(),
    }
}

/// Local tally of a stock-take against the expected list.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub expected: usize,
    pub found: usize,
    pub missing: usize,
    /// Seen but not expected here (foreign or misplaced; the server tells which).
    pub unexpected: usize,
}

fn tally(expected: &Expected, seen: &std::collections::BTreeSet<String>) -> Tally {
    let found = seen
        .iter()
        .filter(|e| expected.expected.contains_key(*e))
        .count();
    Tally {
        expected: expected.expected.len(),
        found,
        missing: expected.expected.len() - found,
        unexpected: seen.len() - found,
    }
}

/// `reader-daemon stocktake`: joins or opens a stock-take, runs the
/// handheld with a live progress bar, journals every observation (synced
/// in the background, or later when offline) and prints the summary.
pub fn stocktake(config: &Path, args: StocktakeArgs) -> anyhow::Result<ExitCode> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    let config = Config::load(config)?;
    let reader_cfg = config
        .reader(&args.reader)
        .map_err(anyhow::Error::msg)?
        .clone();
    let keeper = args
        .keeper_token
        .clone()
        .or_else(|| std::env::var("WAREHOUSE_TOKEN").ok());
    let journal_path = config
        .journal
        .path
        .with_file_name(format!("stocktake-{}.db", reader_cfg.name));
    let cache_dir = journal_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();

    // 1. Session and expected list (server, else the cache). The keeper's
    //    calls and the background sync share one choice of server URL.
    let servers = crate::daemon::servers(&config);
    let api = keeper
        .as_deref()
        .map(|t| Api::new(&config, servers.clone(), t))
        .transpose()?;
    let session = match (args.session, args.open_location, args.inspect_unit) {
        (Some(id), _, _) => id,
        (None, None, None) => anyhow::bail!(
            "say --open LOCATION_ID --warehouse ID, --inspect UNIT_ID or --session ID"
        ),
        (None, location, unit) => {
            let api = api.as_ref().ok_or_else(|| {
                anyhow::anyhow!(
                    "opening a stock-take needs a keeper token (--keeper-token or WAREHOUSE_TOKEN)"
                )
            })?;
            // What is counted: a warehouse's location, or what a unit holds.
            let scope = match (location, unit) {
                (Some(location), _) => {
                    let warehouse = args
                        .warehouse
                        .ok_or_else(|| anyhow::anyhow!("--open needs --warehouse ID"))?;
                    serde_json::json!({ "warehouse_id": warehouse, "location_id": location })
                }
                (None, unit) => serde_json::json!({ "unit_id": unit }),
            };
            let readers = api.call(reqwest::Method::GET, "/api/v1/readers", None)?;
            let reader_id = readers["items"]
                .as_array()
                .or_else(|| readers.as_array())
                .and_then(|items| {
                    items.iter().find(|r| {
                        r["name"].as_str() == Some(reader_cfg.name.as_str())
                            || r["reader"]["name"].as_str() == Some(reader_cfg.name.as_str())
                    })
                })
                .and_then(|r| r["id"].as_i64().or_else(|| r["reader"]["id"].as_i64()))
                .ok_or_else(|| {
                    anyhow::anyhow!("the server has no reader named {:?}", reader_cfg.name)
                })?;
            let mut body = scope;
            body["reader_ids"] = serde_json::json!([reader_id]);
            let st = api.call(reqwest::Method::POST, "/api/v1/stocktakes", Some(body))?;
            st["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no id in the server's answer {st}"))?
        }
    };
    let cache = cache_dir.join(format!("stocktake-{session}.expected.json"));
    let fetched = api.as_ref().map(|api| {
        api.call(
            reqwest::Method::GET,
            &format!("/api/v1/stocktakes/{session}"),
            None,
        )
    });
    let expected = match fetched {
        Some(Ok(rec)) => {
            let rec: StockTakeLines = serde_json::from_value(rec).with_context(|| {
                format!("the server's stock-take {session} has no readable `lines`")
            })?;
            let e = expected_from(&rec.lines, session);
            let _ = std::fs::write(&cache, serde_json::to_vec(&e)?);
            e
        }
        other => {
            if let Some(Err(e)) = other {
                eprintln!("server unreachable ({e:#}); using the cached expected list");
            }
            let bytes = std::fs::read(&cache).with_context(|| {
                format!(
                    "no expected list for stock-take {session}: the server is unreachable (or no \
                     keeper token) and there is no cache at {}",
                    cache.display()
                )
            })?;
            serde_json::from_slice(&bytes).context("reading the cached expected list")?
        }
    };

    // 2. Journal and background sync (own journal and daemon id, so it never
    //    interleaves sequences with a running daemon).
    let journal = Arc::new(Mutex::new(crate::journal::Journal::open(
        &journal_path,
        crate::journal::Limits {
            max_observations: config.journal.max_observations,
            warn_fraction: config.journal.warn_fraction,
        },
    )?));
    let mut settings = crate::daemon::sync_settings(&config);
    settings.daemon_id = format!("{}:stocktake:{}", config.daemon.id, reader_cfg.name);
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let wake = Arc::new(tokio::sync::Notify::new());
    let sync_status = Arc::new(Mutex::new(crate::sync::SyncStatus::default()));
    let sync_thread = {
        let (journal, wake, sync_status, servers) = (
            journal.clone(),
            wake.clone(),
            sync_status.clone(),
            servers.clone(),
        );
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(crate::sync::run(
                    journal,
                    settings,
                    servers,
                    sync_status,
                    wake,
                    shutdown_rx,
                ));
            }
        })
    };

    // 3. The handheld, with progress.
    let mut handheld = crate::handheld::Handheld::open(&reader_cfg)?;
    let stop = Arc::new(AtomicBool::new(false));
    if args.duration.is_none() {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(expected.expected.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} stock-take {prefix}: found {pos}/{len} {wide_bar} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(session.to_string());
    let timing = reader_cfg.aggregation(&config.aggregation);
    let mut aggregator = crate::aggregate::Aggregator::new(
        reader_cfg.name.clone(),
        crate::aggregate::ReportMode::Current,
        timing,
        chrono::Utc::now(),
    );
    let mut seen = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    let (mut reads, mut total_reads, mut window_reads) = (Vec::new(), 0u64, 0u64);
    let mut window = std::time::Instant::now();
    let mut rate = 0.0;
    loop {
        let done =
            stop.load(Ordering::Relaxed) || args.duration.is_some_and(|d| started.elapsed() >= d);
        handheld.pump(&mut reads)?;
        let now = chrono::Utc::now();
        for (epc, antenna, rssi_dbm) in reads.drain(..) {
            total_reads += 1;
            window_reads += 1;
            seen.insert(epc.to_string());
            aggregator.read(crate::aggregate::RawRead {
                epc,
                antenna,
                rssi_dbm,
                at: now,
            });
        }
        let ended = if done {
            Some(aggregator.flush(now))
        } else {
            aggregator.poll(now)
        };
        if let Some(mut obs) = ended.filter(|o| !o.is_empty()) {
            // Named, so they count even if the reader is not assigned to it.
            for o in &mut obs {
                o.stocktake_id = Some(session);
            }
            journal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&obs)?;
            wake.notify_one();
        }
        if window.elapsed() >= Duration::from_millis(500) {
            rate = window_reads as f64 / window.elapsed().as_secs_f64();
            window = std::time::Instant::now();
            window_reads = 0;
        }
        let t = tally(&expected, &seen);
        bar.set_position(t.found as u64);
        bar.set_message(format!(
            "missing {}  unexpected {}  {:.0} reads/s",
            t.missing, t.unexpected, rate
        ));
        bar.tick();
        if done {
            break;
        }
    }
    handheld.close();
    bar.finish();

    // 4. Let the sync catch up (bounded), then summarise.
    let drain_until = std::time::Instant::now() + args.sync_wait;
    let backlog = loop {
        let backlog = journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats()
            .map(|s| s.backlog)
            .unwrap_or(0);
        if backlog == 0 || std::time::Instant::now() > drain_until {
            break backlog;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = shutdown_tx.send(true);
    let _ = sync_thread.join();
    let t = tally(&expected, &seen);
    println!(
        "stock-take {session} with {}: {} reads in {:.1} s; found {} of {} expected, missing {}, unexpected {}",
        reader_cfg.name,
        total_reads,
        started.elapsed().as_secs_f64(),
        t.found,
        t.expected,
        t.missing,
        t.unexpected
    );
    if backlog > 0 {
        println!(
            "{backlog} observations not yet at the server (kept in {}; they are sent the next time \
             this command runs for reader {})",
            journal_path.display(),
            reader_cfg.name
        );
    } else if let Some(api) = &api {
        match api.call(
            reqwest::Method::GET,
            &format!("/api/v1/stocktakes/{session}"),
            None,
        ) {
            Ok(rec) => println!(
                "server reconciliation: {}",
                serde_json::to_string(&rec["counts"]).unwrap_or_default()
            ),
            Err(e) => println!("server reconciliation unavailable: {e:#}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
