//! `warehouse-server serve` replicas as child processes of the bench, on
//! 127.0.0.1 with OS-assigned ports, all on one database. Each is killed
//! (by its own handle) when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// How long a replica may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Replica {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Replica {
    /// Starts `exe --db DB serve --listen 127.0.0.1:0`, with the chain key
    /// at `chain_key` and its stderr appended to `log`; returns once it has
    /// printed `listening on URL`.
    pub fn start(exe: &Path, db: &Path, chain_key: &Path, log: &Path) -> anyhow::Result<Self> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening the replica log {}", log.display()))?;
        let mut child = Command::new(exe)
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("WAREHOUSE_CHAIN_KEY_FILE", chain_key)
            .env(
                "WAREHOUSE_LOG",
                std::env::var("WAREHOUSE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("replica: no stdout to read its address from");
        };
        // The first line names the address; the rest is drained so the
        // server never writes into a closed pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut replica = Self {
            child,
            url: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => match line.strip_prefix("listening on ") {
                Some(url) => replica.url = url.trim().to_owned(),
                None => bail!("replica said `{line}` instead of `listening on URL`"),
            },
            Err(_) => bail!(
                "replica did not say where it listens within {START_TIMEOUT:?}; see {}",
                log.display()
            ),
        }
        Ok(replica)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
