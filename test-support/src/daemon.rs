//! `reader-daemon run` as a child process, with a generated config.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::Signal;

use crate::process::Process;
use crate::workspace_bin;

/// One reader line of a generated config.
#[derive(Debug, Clone)]
pub struct ReaderLine {
    pub name: String,
    pub port: PathBuf,
    pub protocol: &'static str,
    pub role: &'static str,
    pub antennas: Vec<u8>,
}

/// A daemon config: short cycles and retries so tests run in seconds.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub url: String,
    /// `[server] urls` (replicas, in order) instead of `url` when not empty.
    pub urls: Vec<String>,
    pub token: String,
    pub daemon_id: String,
    pub journal: PathBuf,
    pub readers: Vec<ReaderLine>,
    pub cycle_ms: u64,
    pub stable_set_ms: u64,
    pub batch_max: usize,
    pub retry_max_ms: u64,
    /// `[sync] health_interval_ms`: health reports to the server (0: none).
    pub health_interval_ms: u64,
}

impl DaemonConfig {
    /// Syncing to `url`, journal in `DIR/journal.db`, no readers yet.
    pub fn new(url: &str, dir: &Path) -> Self {
        Self {
            url: url.to_string(),
            urls: Vec::new(),
            token: "whr_test_token".to_string(),
            daemon_id: "test-daemon".into(),
            journal: dir.join("journal.db"),
            readers: Vec::new(),
            cycle_ms: 400,
            stable_set_ms: 150,
            batch_max: 100,
            retry_max_ms: 500,
            health_interval_ms: 300,
        }
    }

    /// Adds a reader on antenna 1.
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

    /// Syncs to these replicas (`[server] urls`) instead of the one `url`.
    pub fn replicas(mut self, urls: &[&str]) -> Self {
        self.urls = urls.iter().map(|u| (*u).to_owned()).collect();
        self
    }

    pub fn toml(&self) -> String {
        let server = if self.urls.is_empty() {
            format!("url = {:?}", self.url)
        } else {
            format!("urls = {:?}", self.urls)
        };
        let mut s = format!(
            "[server]\n{server}\ntoken = {:?}\nrequest_timeout_s = 3\n\n\
             [daemon]\nid = {:?}\nmetrics_listen = \"127.0.0.1:0\"\n\n\
             [journal]\npath = {:?}\n\n\
             [sync]\nbatch_max_observations = {}\nbatch_max_age_ms = 50\nretry_base_ms = 50\nretry_max_ms = {}\n\
             health_interval_ms = {}\n\n\
             [aggregation]\ncycle_ms = {}\nstable_set_ms = {}\n",
            self.token,
            self.daemon_id,
            self.journal.display().to_string(),
            self.batch_max,
            self.retry_max_ms,
            self.health_interval_ms,
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

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.toml())?;
        Ok(())
    }
}

/// `reader-daemon run --config FILE` as a child, stderr (`RUST_LOG=info`)
/// appended to `FILE` with extension `.log`; SIGKILLed on drop if still
/// running.
#[derive(Debug)]
pub struct Daemon {
    process: Process,
    pub config: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path) -> Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"))?;
        let process = Process::spawn(
            Command::new(workspace_bin("reader-daemon")?)
                .args(["run", "--config"])
                .arg(config)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
            "reader-daemon",
        )?;
        Ok(Self {
            process,
            config: config.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(self) -> Result<()> {
        self.process.kill()
    }

    /// SIGTERM and wait (20 s at most) for a clean exit.
    pub fn stop(mut self) -> Result<ExitStatus> {
        self.process.stop(Signal::SIGTERM, Duration::from_secs(20))
    }

    /// The daemon's log so far (for assertion messages).
    pub fn log(config: &Path) -> String {
        std::fs::read_to_string(config.with_extension("log")).unwrap_or_default()
    }
}
