//! `hardware-sim bench`: starts `hardware-sim run` as a child with a large
//! field, drives it as a host would (continuous inventory) and measures
//! what arrives against the line's byte capacity, plus the child's own CPU
//! time and peak RSS from `/proc`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, BaudRate, SetArg};
use serde::Serialize;
use shared::protocol::{chainway, r2000, Deframer, Event};

use crate::scenario::ProtocolKind;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub tags: usize,
    pub seconds: f64,
    pub protocol: ProtocolKind,
    pub baud: u32,
    pub json: bool,
}

/// What one bench run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub protocol: String,
    pub tags: usize,
    pub baud: u32,
    pub seconds: f64,
    /// Line capacity over the window: baud / 10 bytes per second.
    pub capacity_bytes: f64,
    pub bytes_received: u64,
    pub tag_reports: u64,
    pub tag_report_bytes: u64,
    pub distinct_tags: usize,
    /// Tag-report bytes / capacity.
    pub report_utilisation: f64,
    /// All bytes / capacity.
    pub line_utilisation: f64,
    pub commands_sent: u64,
    /// The simulator process's CPU (user + system) over the window, % of one core.
    pub sim_cpu_percent: f64,
    /// Peak resident set of the simulator process, MiB.
    pub sim_peak_rss_mib: f64,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(utime + stime)
}

fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Opens a serial device (or PTY) raw at `baud`, as a host would.
pub fn open_port(path: &Path, baud: u32) -> anyhow::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut t = termios::tcgetattr(f.as_fd())?;
    termios::cfmakeraw(&mut t);
    let rate = match baud {
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        921600 => BaudRate::B921600,
        _ => BaudRate::B115200,
    };
    termios::cfsetspeed(&mut t, rate)?;
    termios::tcsetattr(f.as_fd(), SetArg::TCSANOW, &t)?;
    Ok(f)
}

/// Runs the benchmark and prints its report.
pub fn run(o: &BenchOptions) -> anyhow::Result<BenchReport> {
    let dir = std::env::temp_dir().join(format!("hardware-sim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let link = dir.join("reader");
    let exe = std::env::current_exe().context("locating the hardware-sim binary")?;
    let child = Command::new(exe)
        .args(["run", "--link"])
        .arg(&link)
        .args(["--protocol", &o.protocol.to_string()])
        .args(["--tags", &o.tags.to_string()])
        .args(["--baud", &o.baud.to_string()])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .context("starting hardware-sim run")?;
    let mut child = ChildGuard(child);
    let pid = child.0.id();
    let stdout = child.0.stdout.take().context("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if !line.starts_with("ready ") {
        bail!("simulator did not report ready (got {line:?})");
    }
    let mut port = open_port(&link, o.baud)?;
    let report = drive(&mut port, pid, o)?;
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    if o.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "hardware-sim bench: {} tags, {}, {} baud, {:.1} s window",
            report.tags, report.protocol, report.baud, report.seconds
        );
        println!(
            "  tag reports: {} ({} distinct tags), {} report bytes of {:.0} capacity = {:.1}% (all bytes {:.1}%)",
            report.tag_reports,
            report.distinct_tags,
            report.tag_report_bytes,
            report.capacity_bytes,
            report.report_utilisation * 100.0,
            report.line_utilisation * 100.0
        );
        println!(
            "  simulator CPU {:.2}% of one core, peak RSS {:.1} MiB",
            report.sim_cpu_percent, report.sim_peak_rss_mib
        );
        let ok = report.report_utilisation >= 0.9
            && report.sim_cpu_percent < 10.0
            && report.sim_peak_rss_mib < 50.0;
        println!(
            "  targets (>= 90% line, < 10% CPU, < 50 MiB): {}",
            if ok { "met" } else { "NOT met" }
        );
    }
    Ok(report)
}

fn drive(port: &mut std::fs::File, pid: u32, o: &BenchOptions) -> anyhow::Result<BenchReport> {
    let mut cmd = Vec::new();
    let mut commands_sent = 0u64;
    match o.protocol {
        ProtocolKind::R2000 => r2000::encode_command(
            &r2000::CommandFrame {
                addr: r2000::BROADCAST_ADDR,
                command: r2000::Command::RealTimeInventory { repeat: 0xFF },
            },
            &mut cmd,
        ),
        ProtocolKind::Chainway => chainway::encode_command(
            &chainway::Command::StartInventory {
                report: chainway::InventoryReport::Normal,
            },
            &mut cmd,
        ),
    }
    port.write_all(&cmd)?;
    commands_sent += 1;
    let warmup = Duration::from_millis(1000);
    let window = Duration::from_secs_f64(o.seconds.max(0.5));
    let start = Instant::now();
    let mut input = Deframer::new(64 * 1024);
    let mut chunk = [0u8; 4096];
    let mut measuring = false;
    let (mut t0, mut cpu0) = (start, 0u64);
    let (mut bytes, mut reports, mut report_bytes) = (0u64, 0u64, 0u64);
    let mut distinct = std::collections::HashSet::new();
    loop {
        let now = Instant::now();
        if !measuring && now - start >= warmup {
            measuring = true;
            t0 = now;
            cpu0 = cpu_ticks(pid)?;
        }
        if measuring && now - t0 >= window {
            break;
        }
        let mut fds = [PollFd::new(port.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(20u16))?;
        let n = match port.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e.into()),
        };
        if measuring {
            bytes += n as u64;
        }
        input.push(&chunk[..n]);
        // What each frame means here: (tag report's EPC, ends a round).
        let decode = |b: &[u8]| match o.protocol {
            ProtocolKind::R2000 => r2000::decode_response(b).map(|f| match f.response {
                r2000::Response::TagReport(t) => (Some(t.epc), false),
                r2000::Response::InventoryEnd { .. } | r2000::Response::Error { .. } => {
                    (None, true)
                }
                _ => (None, false),
            }),
            ProtocolKind::Chainway => chainway::decode_response(b).map(|f| match f {
                chainway::Response::Tag(t) => (Some(t.epc), false),
                _ => (None, false),
            }),
        };
        for event in input.events(decode) {
            let Event::Frame {
                frame: (epc, end),
                len,
                ..
            } = event
            else {
                continue;
            };
            if let Some(e) = epc.filter(|_| measuring) {
                reports += 1;
                report_bytes += len as u64;
                distinct.insert(e);
            }
            if end {
                // Next inventory straight away, as a busy host does.
                port.write_all(&cmd)?;
                commands_sent += 1;
            }
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks(pid)?;
    let capacity = f64::from(o.baud) / 10.0 * elapsed;
    Ok(BenchReport {
        protocol: o.protocol.to_string(),
        tags: o.tags,
        baud: o.baud,
        seconds: elapsed,
        capacity_bytes: capacity,
        bytes_received: bytes,
        tag_reports: reports,
        tag_report_bytes: report_bytes,
        distinct_tags: distinct.len(),
        report_utilisation: report_bytes as f64 / capacity,
        line_utilisation: bytes as f64 / capacity,
        commands_sent,
        // USER_HZ is 100 on Linux.
        sim_cpu_percent: (cpu1.saturating_sub(cpu0)) as f64 / 100.0 / elapsed * 100.0,
        sim_peak_rss_mib: peak_rss_kib(pid)? as f64 / 1024.0,
    })
}
