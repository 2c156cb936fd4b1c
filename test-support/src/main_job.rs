//! `scripts/run.sh`, the main job, run for real with the binaries this test
//! build made (`BIN_DIR`) on an OS-chosen port, in a temporary `RUN_DIR`.
//! On drop (a failed test) `run.sh` gets SIGTERM, which its trap turns into
//! stopping its children, and SIGKILL if that hangs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::{collect, text_of, wait_until, workspace_bin};

/// The password `run.sh` gives every demo login (admin, approver, finance,
/// keeper, unit).
pub const DEMO_PASSWORD: &str = "gongwucang-demo";

/// What `run.sh` prints once every part is up.
const UP_LINE: &str = "Ctrl-C stops everything";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run.sh")
}

/// One directory holding the three binaries (links to where they are).
pub fn bin_dir(dir: &Path) -> Result<PathBuf> {
    let bins = dir.join("bin");
    std::fs::create_dir_all(&bins)?;
    for name in ["warehouse-server", "hardware-sim", "reader-daemon"] {
        std::os::unix::fs::symlink(workspace_bin(name)?, bins.join(name))
            .with_context(|| format!("linking {name}"))?;
    }
    Ok(bins)
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The command that runs `run.sh` for `seconds` with the binaries in `bins`.
pub fn run_command(bins: &Path, run_dir: &Path, port: u16, seconds: u32) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .env("BIN_DIR", bins)
        .env("RUN_DIR", run_dir)
        .env("PORT", port.to_string())
        .env("RUN_SECONDS", seconds.to_string())
        .env("STARTUP_TIMEOUT", "40")
        .stdin(Stdio::null());
    cmd
}

/// A running `run.sh`.
#[derive(Debug)]
pub struct MainJob {
    pub child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl MainJob {
    /// Starts `cmd` (see [`run_command`]) without waiting for it.
    pub fn start(mut cmd: Command) -> Result<Self> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting run.sh")?;
        let out = collect(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
        let err = collect(child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?);
        Ok(Self { child, out, err })
    }

    /// Waits until `run.sh` says every part is up; fails with its output if
    /// it ends first or takes longer than `within`.
    pub fn wait_up(&mut self, within: Duration) -> Result<()> {
        let up = wait_until(within, || {
            self.stdout().contains(UP_LINE) || matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !up || !self.stdout().contains(UP_LINE) {
            bail!("run.sh did not come up\n{}", self.text());
        }
        Ok(())
    }

    pub fn stdout(&self) -> String {
        text_of(&self.out)
    }

    /// Both streams, for failure messages.
    pub fn text(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            text_of(&self.out),
            text_of(&self.err)
        )
    }

    /// Waits for `run.sh` to end by itself.
    pub fn wait(&mut self, within: Duration) -> Result<ExitStatus> {
        let end = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > end {
                bail!("run.sh still running after {within:?}\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for MainJob {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let child = &mut self.child;
            if !wait_until(Duration::from_secs(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            }) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// Processes whose command line mentions `dir`: `pid: args`.
pub fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args = String::from_utf8_lossy(&raw).replace('\0', " ");
        if args.contains(&needle) {
            found.push(format!("{pid}: {}", args.trim()));
        }
    }
    found
}

/// The simulated field `run.sh` wrote (`RUN_DIR/field.toml`) as JSON.
pub fn field(run_dir: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(run_dir.join("field.toml"))?;
    let t: toml::Value = toml::from_str(&text).context("field.toml is not TOML")?;
    Ok(serde_json::to_value(t)?)
}

/// The EPCs of one population of the field.
pub fn population_epcs(field: &Value, name: &str) -> Result<Vec<String>> {
    let pops = field["population"]
        .as_array()
        .ok_or_else(|| anyhow!("the field has no [[population]]"))?;
    let pop = pops
        .iter()
        .find(|p| p["name"] == name)
        .ok_or_else(|| anyhow!("the field has no population {name}"))?;
    Ok(pop["epcs"]
        .as_array()
        .ok_or_else(|| anyhow!("population {name} has no epcs"))?
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect())
}
