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

/// Reads the journal's counters (the daemon may be running: WAL readers
/// do not block it).
pub fn journal_stats(path: &Path) -> R<reader_daemon::journal::JournalStats> {
    let j = reader_daemon::journal::Journal::open(
        path,
        reader_daemon::journal::Limits {
            max_observations: 1_000_000,
            warn_fraction: 0.8,
        },
    )?;
    Ok(j.stats()?)
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
    if let Some(p) = std::env::var_os("WAREHOUSE_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("test executable is not in <target>/<profile>/deps")?;
    let bin = profile.join(format!("warehouse-server{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: run `cargo build -p warehouse-server` (same target dir) or set WAREHOUSE_SERVER_BIN",
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
