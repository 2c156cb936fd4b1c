//! Fixtures shared by the daemon's end-to-end tests: the `reader-daemon`
//! binary as a child process with a generated config, and the real
//! `warehouse-server` binary on 127.0.0.1 with a temporary database.
//! Simulated readers come from the `hardware-sim` library (real PTYs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type R<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const BIN: &str = env!("CARGO_BIN_EXE_reader-daemon");
pub const TOKEN: &str = "whr_test_token";

/// Polls `f` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// The daemon as a child process.
// ---------------------------------------------------------------------------

/// One reader line of a generated config.
#[derive(Debug, Clone)]
pub struct ReaderLine {
    pub name: String,
    pub port: PathBuf,
    pub protocol: &'static str,
    pub role: &'static str,
    pub antennas: Vec<u8>,
}

/// A generated config file in a temp dir.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub url: String,
    pub token: String,
    pub daemon_id: String,
    pub journal: PathBuf,
    pub readers: Vec<ReaderLine>,
    pub cycle_ms: u64,
    pub stable_set_ms: u64,
    pub batch_max: usize,
    pub retry_max_ms: u64,
}

impl DaemonConfig {
    pub fn new(url: &str, dir: &Path) -> Self {
        Self {
            url: url.to_string(),
            token: TOKEN.to_string(),
            daemon_id: "test-daemon".into(),
            journal: dir.join("journal.db"),
            readers: Vec::new(),
            cycle_ms: 400,
            stable_set_ms: 150,
            batch_max: 100,
            retry_max_ms: 500,
        }
    }

    pub fn reader(
        mut self,
        name: &str,
        port: &Path,
        protocol: &'static str,
        role: &'static str,
    ) -> Self {
        self.readers.push(ReaderLine {
            name: name.into(),
            port: port.to_path_buf(),
            protocol,
            role,
            antennas: vec![1],
        });
        self
    }

    pub fn toml(&self) -> String {
        let mut s = format!(
            "[server]\nurl = {:?}\ntoken = {:?}\nrequest_timeout_s = 3\n\n\
             [daemon]\nid = {:?}\nmetrics_listen = \"127.0.0.1:0\"\n\n\
             [journal]\npath = {:?}\n\n\
             [sync]\nbatch_max_observations = {}\nbatch_max_age_ms = 50\nretry_base_ms = 50\nretry_max_ms = {}\n\n\
             [aggregation]\ncycle_ms = {}\nstable_set_ms = {}\n",
            self.url,
            self.token,
            self.daemon_id,
            self.journal.display().to_string(),
            self.batch_max,
            self.retry_max_ms,
            self.cycle_ms,
            self.stable_set_ms
        );
        for r in &self.readers {
            s.push_str(&format!(
                "\n[[reader]]\nname = {:?}\nport = {:?}\nprotocol = {:?}\nrole = {:?}\nantennas = {:?}\n",
                r.name,
                r.port.display().to_string(),
                r.protocol,
                r.role,
                r.antennas
            ));
        }
        s
    }

    pub fn write(&self, path: &Path) -> R {
        std::fs::write(path, self.toml())?;
        Ok(())
    }
}

/// `reader-daemon run` as a child; SIGKILLed on drop if still running.
pub struct Daemon {
    child: Child,
    pub config: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path) -> R<Self> {
        let log = config.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Self {
            child,
            config: config.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) -> R {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> R<std::process::ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > end {
                self.child.kill()?;
                return Err("daemon did not stop within 20 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log so far (for assertion messages).
    pub fn log(config: &Path) -> String {
        std::fs::read_to_string(config.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The n-th of a run of distinct observations (EPC and time from `n`), for
/// tests that fill a journal directly.
pub fn observation(n: u64) -> R<shared::sync::Observation> {
    let mut epc = [0x30u8; 12];
    epc[4..].copy_from_slice(&n.to_be_bytes());
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(
        1_767_225_600_000_000 + i64::try_from(n)?,
    )
    .ok_or("time out of range")?;
    Ok(shared::sync::Observation {
        epc: shared::tag::EpcBytes::new(&epc)?,
        reader: "soak".into(),
        antenna: 1,
        first_seen: at,
        last_seen: at,
        count: 1,
        peak_rssi: Some(-60),
        kind: shared::sync::ObservationKind::Seen,
        stocktake_id: None,
    })
}

/// Reads the journal's counters (the daemon may be running: WAL readers
/// do not block it).
pub fn journal_stats(path: &Path) -> R<reader_daemon::journal::JournalStats> {
    Ok(open_journal(path)?.stats()?)
}

/// Opens a journal with the daemon's default limits.
pub fn open_journal(path: &Path) -> R<reader_daemon::journal::Journal> {
    Ok(reader_daemon::journal::Journal::open(
        path,
        reader_daemon::journal::Limits {
            max_observations: 1_000_000,
            warn_fraction: 0.8,
        },
    )?)
}

// ---------------------------------------------------------------------------
// The real warehouse-server as a child process.
// ---------------------------------------------------------------------------

/// Finds the `warehouse-server` binary: `WAREHOUSE_SERVER_BIN`, else next
/// to this test executable (`<target>/<profile>/warehouse-server`), which
/// `cargo test --workspace` (CI's command) builds before any test runs.
/// With `cargo test -p reader-daemon`, run `cargo build -p warehouse-server`
/// first. (Cargo cannot be invoked from here: it holds the build lock while
/// tests run, and `CARGO_BIN_EXE_*` only names this package's binaries.)
pub fn server_bin() -> R<PathBuf> {
    bin_beside_tests("warehouse-server", "WAREHOUSE_SERVER_BIN")
}

/// A workspace binary: `$env` if set, else next to this test executable.
fn bin_beside_tests(name: &str, env: &str) -> R<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("test executable is not in <target>/<profile>/deps")?;
    let bin = profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: run `cargo build -p {name}` (same target dir) or set {env}",
            bin.display()
        )
        .into())
    }
}

/// A real server on a fixed loopback port (so it can be stopped and
/// started again at the same URL) with a temporary database.
pub struct WarehouseServer {
    bin: PathBuf,
    pub db: PathBuf,
    pub url: String,
    listen: String,
    child: Option<Child>,
    log: PathBuf,
}

impl WarehouseServer {
    /// Initialises a database (company prefix 0614141, the simulator's).
    pub fn init(dir: &Path) -> R<Self> {
        let bin = server_bin()?;
        let db = dir.join("warehouse.db");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = Self {
            bin,
            db,
            url: format!("http://127.0.0.1:{port}"),
            listen: format!("127.0.0.1:{port}"),
            child: None,
            log: dir.join("warehouse-server.log"),
        };
        server.admin(&[
            "init",
            "--admin-username",
            "admin",
            "--admin-password",
            "s3cret-pass",
            "--org-name",
            "测试公物仓",
            "--company-prefix",
            "0614141",
        ])?;
        Ok(server)
    }

    fn admin(&self, args: &[&str]) -> R<String> {
        let out = Command::new(&self.bin)
            .arg("--db")
            .arg(&self.db)
            .arg("admin")
            .args(args)
            .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
            .env("WAREHOUSE_LOG", "warn")
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "warehouse-server admin {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Registers a reader; returns its token.
    pub fn create_reader(&self, name: &str, role: &str) -> R<String> {
        let out = self.admin(&["create-reader", "--name", name, "--role", role])?;
        Ok(out.trim().to_string())
    }

    /// Starts serving; returns once it answers.
    pub fn start(&mut self) -> R {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("--db")
            .arg(&self.db)
            .args(["serve", "--listen", &self.listen])
            .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
            .env("WAREHOUSE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let addr = self.listen.clone();
        if !wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(&addr).is_ok()
        }) {
            return Err(format!("warehouse-server did not listen on {addr}").into());
        }
        Ok(())
    }

    /// Kills the server (it is "away" until [`start`] again).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every sighting the server stored.
    pub fn sightings(&self) -> R<Vec<Sighting>> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = conn.prepare(
            "SELECT hex(s.epc), r.name, s.antenna, s.kind, s.first_seen, s.last_seen, s.daemon_id, s.sequence
             FROM sightings s JOIN readers r ON r.id = s.reader_id ORDER BY s.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Sighting {
                epc: r.get(0)?,
                reader: r.get(1)?,
                antenna: r.get(2)?,
                kind: r.get(3)?,
                first_seen: r.get(4)?,
                last_seen: r.get(5)?,
                daemon: r.get(6)?,
                sequence: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One row of the server's `sightings` table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sighting {
    /// EPC hex, upper case.
    pub epc: String,
    pub reader: String,
    pub antenna: i64,
    pub kind: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub daemon: String,
    pub sequence: i64,
}

impl Drop for WarehouseServer {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// The real hardware-sim binary as a child process, scripted over stdin.
// ---------------------------------------------------------------------------

/// Finds the `hardware-sim` binary: `HARDWARE_SIM_BIN`, else next to this
/// test executable (built by `cargo test --workspace`, or
/// `cargo build -p hardware-sim`), like [`server_bin`].
pub fn sim_bin() -> R<PathBuf> {
    bin_beside_tests("hardware-sim", "HARDWARE_SIM_BIN")
}

/// `hardware-sim run --scenario FILE --control`: the simulator as its own
/// process; the test moves tags with [`SimProcess::act`] (one JSON
/// timeline action per line on its stdin, `ok N` back on its stdout).
pub struct SimProcess {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    pub links: Vec<(String, PathBuf)>,
    log: PathBuf,
}

impl SimProcess {
    /// Writes the scenario beside `dir`'s other files and starts serving;
    /// returns once every reader's link exists.
    pub fn start(dir: &Path, scenario_toml: &str, readers: usize) -> R<Self> {
        use std::io::BufRead;
        let scenario = dir.join("scenario.toml");
        std::fs::write(&scenario, scenario_toml)?;
        let log = dir.join("hardware-sim.log");
        let mut child = Command::new(sim_bin()?)
            .args(["run", "--control", "--scenario"])
            .arg(&scenario)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut sim = Self {
            child,
            stdin,
            stdout,
            links: Vec::new(),
            log,
        };
        while sim.links.len() < readers {
            let mut line = String::new();
            if sim.stdout.read_line(&mut line)? == 0 {
                return Err(format!(
                    "hardware-sim exited before it was ready: {}",
                    std::fs::read_to_string(&sim.log).unwrap_or_default()
                )
                .into());
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("ready"), Some(name), Some(link)) => {
                    sim.links.push((name.to_string(), PathBuf::from(link)))
                }
                _ => return Err(format!("hardware-sim said {line:?}").into()),
            }
        }
        Ok(sim)
    }

    /// Applies one timeline action now; returns how many tags it selected.
    pub fn act(&mut self, action: serde_json::Value) -> R<usize> {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{action}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        match line.trim().split_once(' ') {
            Some(("ok", n)) => Ok(n.parse()?),
            _ => Err(format!("hardware-sim answered {line:?} to {action}").into()),
        }
    }

    /// Puts `count` tags of a population from `first` at a reader's
    /// antenna 1, `distance_m` away (out of every other field).
    pub fn place(
        &mut self,
        population: &str,
        first: usize,
        count: usize,
        reader: &str,
        distance_m: f32,
    ) -> R<usize> {
        self.act(serde_json::json!({
            "kind": "move", "reader": reader, "distance_m": distance_m,
            "tags": {"population": population, "first": first, "count": count},
        }))
    }

    /// Takes `count` tags of a population from `first` out of every field.
    pub fn take_away(&mut self, population: &str, first: usize, count: usize) -> R<usize> {
        self.act(serde_json::json!({
            "kind": "remove",
            "tags": {"population": population, "first": first, "count": count},
        }))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // SIGTERM so it removes its links; SIGKILL if it does not go.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let stopped = wait_until(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `reader-daemon ARGS…` to completion: (success, stdout + stderr).
pub fn run_cli(args: &[&str]) -> R<(bool, String)> {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

// ---------------------------------------------------------------------------
// The server's HTTP API, and a small register to work against.
// ---------------------------------------------------------------------------

/// A blocking JSON client for the server's API.
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    pub base: String,
}

impl Http {
    pub fn new(base: &str) -> R<Self> {
        Ok(Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            // No pooled connections: tests stop and start the server.
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()?,
            base: base.to_string(),
        })
    }

    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> R<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self.client.request(method, &url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await?;
            let status = resp.status();
            let text = resp.text().await?;
            if !status.is_success() {
                return Err(format!("{url}: {status} {text}").into());
            }
            Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
        })
    }

    pub fn post(&self, path: &str, token: &str, body: serde_json::Value) -> R<serde_json::Value> {
        self.call(reqwest::Method::POST, path, token, Some(body))
    }

    pub fn get(&self, path: &str, token: &str) -> R<serde_json::Value> {
        self.call(reqwest::Method::GET, path, token, None)
    }

    pub fn login(&self, user: &str) -> R<String> {
        let v = self.post(
            "/api/v1/auth/login",
            "",
            serde_json::json!({"username": user, "password": "s3cret-pass"}),
        )?;
        Ok(v["token"].as_str().ok_or("no token")?.to_string())
    }
}

/// The `id` of a JSON object.
pub fn id(v: &serde_json::Value) -> R<i64> {
    v["id"]
        .as_i64()
        .ok_or_else(|| format!("no id in {v}").into())
}

/// An admin and a keeper, one warehouse with shelf A01, one category.
pub struct Site {
    pub admin: String,
    pub keeper: String,
    pub warehouse: i64,
    pub location: i64,
    pub category: i64,
}

impl Site {
    pub fn create(http: &Http) -> R<Self> {
        use serde_json::json;
        let admin = http.login("admin")?;
        http.post(
            "/api/v1/users",
            &admin,
            json!({"username": "keeper", "password": "s3cret-pass", "role": "keeper"}),
        )?;
        let keeper = http.login("keeper")?;
        let warehouse = id(&http.post("/api/v1/warehouses", &admin, json!({"name": "主仓"}))?)?;
        let location = id(&http.post(
            &format!("/api/v1/warehouses/{warehouse}/locations"),
            &admin,
            json!({"code": "A01", "name": "Shelf 1"}),
        )?)?;
        let category = id(&http.post(
            "/api/v1/categories",
            &admin,
            json!({"code": "0101", "name": "办公桌"}),
        )?)?;
        Ok(Self {
            admin,
            keeper,
            warehouse,
            location,
            category,
        })
    }

    /// A registered reader: (id, token).
    pub fn reader(&self, http: &Http, name: &str, role: &str) -> R<(i64, String)> {
        let r = http.post(
            "/api/v1/readers",
            &self.admin,
            serde_json::json!({"name": name, "role": role, "location_id": self.location}),
        )?;
        let token = r["token"].as_str().ok_or("no reader token")?.to_string();
        Ok((id(&r["reader"])?, token))
    }

    /// A registered asset on shelf A01, not yet tagged.
    pub fn asset(&self, http: &Http, number: &str) -> R<i64> {
        self.asset_at(http, number, self.location)
    }

    /// A registered asset at `location`, not yet tagged.
    pub fn asset_at(&self, http: &Http, number: &str, location: i64) -> R<i64> {
        id(&http.post(
            "/api/v1/assets",
            &self.admin,
            serde_json::json!({"asset_number": number, "name": format!("桌子 {number}"),
                "category_id": self.category, "original_value_fen": 150000,
                "purchase_date": "2024-03-01", "holder_location_id": location}),
        )?)
    }

    /// A registered asset on shelf A01 whose tag the server has bound
    /// (commissioned through the API, as an earlier delivery would have been).
    pub fn tagged_asset(
        &self,
        http: &Http,
        number: &str,
        reader_token: &str,
    ) -> R<(i64, shared::tag::EpcBytes)> {
        self.tagged_asset_at(http, number, self.location, reader_token)
    }

    /// The same at `location`.
    pub fn tagged_asset_at(
        &self,
        http: &Http,
        number: &str,
        location: i64,
        reader_token: &str,
    ) -> R<(i64, shared::tag::EpcBytes)> {
        let asset = self.asset_at(http, number, location)?;
        let c = http.post(
            &format!("/api/v1/assets/{asset}/tag/commission"),
            &self.keeper,
            serde_json::json!({}),
        )?;
        let epc = c["epc"].as_str().ok_or("no epc")?.to_string();
        let cid = c["commission_id"].as_i64().ok_or("no commission id")?;
        http.post(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            reader_token,
            serde_json::json!({"epc": epc}),
        )?;
        Ok((asset, shared::tag::EpcBytes::from_hex(&epc)?))
    }
}

/// A scenario for the hardware-sim binary: one reader (`role` gate, desk
/// or handheld) and populations of given EPCs, each spread between ¼ and
/// ¾ of `distance` m from its antenna 1, or out of every field when `None`.
pub fn one_reader_scenario(
    name: &str,
    protocol: &str,
    role: &str,
    link: &Path,
    populations: &[(&str, &[shared::tag::EpcBytes], Option<f32>)],
) -> String {
    let mut s = format!(
        "seed = 11\n\n[[reader]]\nname = {name:?}\nprotocol = {protocol:?}\nlink = {:?}\nrole = {role:?}\n",
        link.display().to_string()
    );
    for (pop, epcs, distance) in populations {
        let list: Vec<String> = epcs
            .iter()
            .map(|e| format!("{:?}", e.to_string()))
            .collect();
        s.push_str(&format!(
            "\n[[population]]\nname = {pop:?}\nkind = \"explicit\"\nepcs = [{}]\n",
            list.join(", ")
        ));
        if let Some(d) = distance {
            s.push_str(&format!(
                "[[population.placement]]\nreader = {name:?}\ndistance_m = {}\nspread_m = {}\n",
                d / 2.0,
                d / 2.0
            ));
        }
    }
    s
}

/// A raw, non-GS1 EPC (a foreign tag), distinct per `n`.
pub fn foreign_epc(n: u16) -> R<shared::tag::EpcBytes> {
    let [hi, lo] = n.to_be_bytes();
    Ok(shared::tag::EpcBytes::new(&[
        0xE2, 0x80, 0x11, 0x70, 0, 0, 0, 0, 0, 0xF0, hi, lo,
    ])?)
}

/// What a child writes to a pipe, gathered by a thread as it comes (read
/// it with [`text_of`] while the child runs).
pub fn collect(
    mut pipe: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// The text gathered so far.
pub fn text_of(t: &std::sync::Mutex<String>) -> String {
    t.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
