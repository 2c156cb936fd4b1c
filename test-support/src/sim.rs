//! `hardware-sim run` as a child process, scripted over stdin.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use nix::sys::signal::Signal;
use serde_json::{json, Value};

use crate::process::Process;
use crate::workspace_bin;

/// The simulator as its own process. Ready once it has printed `ready NAME
/// LINK` for each reader; with `--control` the test moves tags with
/// [`SimProcess::act`] (one JSON timeline action per line on its stdin,
/// `ok N` or `error …` back on its stdout). On drop it gets SIGTERM (so it
/// removes its links), then SIGKILL if it does not go within 5 s.
#[derive(Debug)]
pub struct SimProcess {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// (reader name, link) from the ready lines, in order.
    pub links: Vec<(String, PathBuf)>,
    log: PathBuf,
    process: Process,
}

impl SimProcess {
    /// Writes the scenario to `DIR/scenario.toml` and runs `hardware-sim run
    /// --control --scenario` on it, stderr to `DIR/hardware-sim.log`.
    pub fn start(dir: &Path, scenario_toml: &str, readers: usize) -> Result<Self> {
        let scenario = dir.join("scenario.toml");
        std::fs::write(&scenario, scenario_toml)?;
        Self::spawn(
            [
                OsStr::new("run"),
                OsStr::new("--control"),
                OsStr::new("--scenario"),
                scenario.as_os_str(),
            ],
            readers,
            &dir.join("hardware-sim.log"),
        )
    }

    /// `hardware-sim ARGS…` with stderr to `log`; returns once `readers`
    /// ready lines have come.
    pub fn spawn<S: AsRef<OsStr>>(
        args: impl IntoIterator<Item = S>,
        readers: usize,
        log: &Path,
    ) -> Result<Self> {
        let mut process = Process::spawn(
            Command::new(workspace_bin("hardware-sim")?)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(log)?),
            "hardware-sim",
        )?;
        let child = process.child();
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("hardware-sim: no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("hardware-sim: no stdout"))?;
        let mut sim = Self {
            stdin,
            stdout: BufReader::new(stdout),
            links: Vec::new(),
            log: log.to_path_buf(),
            process,
        };
        while sim.links.len() < readers {
            let mut line = String::new();
            if sim.stdout.read_line(&mut line)? == 0 {
                bail!(
                    "hardware-sim exited before it was ready: {}",
                    std::fs::read_to_string(&sim.log).unwrap_or_default()
                );
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("ready"), Some(name), Some(link)) => {
                    sim.links.push((name.to_string(), PathBuf::from(link)))
                }
                _ => bail!("hardware-sim said {line:?}"),
            }
        }
        Ok(sim)
    }

    /// Sends one control line; returns the answer line, trimmed.
    pub fn say(&mut self, line: &str) -> Result<String> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut answer = String::new();
        if self.stdout.read_line(&mut answer)? == 0 {
            bail!("hardware-sim exited instead of answering {line}");
        }
        Ok(answer.trim_end().to_owned())
    }

    /// Applies one timeline action now; returns how many tags it selected.
    pub fn act(&mut self, action: Value) -> Result<usize> {
        let line = self.say(&action.to_string())?;
        match line.split_once(' ') {
            Some(("ok", n)) => Ok(n.parse()?),
            _ => bail!("hardware-sim answered {line:?} to {action}"),
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
    ) -> Result<usize> {
        self.act(json!({
            "kind": "move", "reader": reader, "distance_m": distance_m,
            "tags": {"population": population, "first": first, "count": count},
        }))
    }

    /// Takes `count` tags of a population from `first` out of every field.
    pub fn take_away(&mut self, population: &str, first: usize, count: usize) -> Result<usize> {
        self.act(json!({
            "kind": "remove",
            "tags": {"population": population, "first": first, "count": count},
        }))
    }

    /// Sends `signal` and waits (5 s at most) for the exit.
    pub fn stop(mut self, signal: Signal) -> Result<ExitStatus> {
        self.process.stop(signal, Duration::from_secs(5))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // SIGTERM so it removes its links; `Process` SIGKILLs if it stays.
        let _ = self.process.stop(Signal::SIGTERM, Duration::from_secs(5));
    }
}
