//! A child process that never outlives its test, and bounded waiting.

use std::io::Read;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::Signal;

/// Polls `f` every 20 ms until it holds (true) or `timeout` passes (false).
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

/// A spawned child, SIGKILLed and reaped on drop if it is still running.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
}

impl Process {
    /// Spawns `command`; `name` says which program in errors.
    pub fn spawn(command: &mut Command, name: &str) -> Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child, for its pipes and `try_wait`.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends `signal` and waits up to `within` for the exit; a child still
    /// running then is SIGKILLed and the answer is an error.
    pub fn stop(&mut self, signal: Signal, within: Duration) -> Result<ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(
            i32::try_from(self.child.id()).map_err(|_| anyhow!("pid out of range"))?,
        );
        nix::sys::signal::kill(pid, signal)
            .with_context(|| format!("sending {signal} to {}", self.name))?;
        let end = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("{} did not stop within {within:?} of {signal}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a child writes to a pipe, gathered by a thread as it comes (read
/// it with [`text_of`] while the child runs).
pub fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
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
pub fn text_of(t: &Mutex<String>) -> String {
    t.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `command` to its end with its output gathered, like
/// [`Command::output`], but for at most `within`: a child still running
/// then is SIGKILLed and the answer is an error carrying what it printed,
/// so a hung child fails its test instead of holding the suite.
pub fn output_within(
    command: &mut Command,
    name: &str,
    within: Duration,
) -> Result<std::process::Output> {
    use std::process::Stdio;
    let mut p = Process::spawn(command.stdout(Stdio::piped()).stderr(Stdio::piped()), name)?;
    let out = collect(
        p.child()
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{name}: no stdout pipe"))?,
    );
    let err = collect(
        p.child()
            .stderr
            .take()
            .ok_or_else(|| anyhow!("{name}: no stderr pipe"))?,
    );
    let end = Instant::now() + within;
    let status = loop {
        if let Some(status) = p.child().try_wait()? {
            break status;
        }
        if Instant::now() > end {
            let _ = p.child().kill();
            let _ = p.child().wait();
            bail!(
                "{name} did not finish within {within:?}; it printed:\n{}\n{}",
                text_of(&out),
                text_of(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The gathering threads end at the pipes' end, just after the exit.
    let _ = wait_until(Duration::from_secs(5), || {
        Arc::strong_count(&out) == 1 && Arc::strong_count(&err) == 1
    });
    Ok(std::process::Output {
        status,
        stdout: text_of(&out).into_bytes(),
        stderr: text_of(&err).into_bytes(),
    })
}
