//! One blocking thread per serial reader: open the port, let the
//! [`Driver`] initialise it and run inventory, pass decoded reads on, and
//! when the port fails or disappears, reopen it with back-off. A reader's
//! trouble stays in its thread: the others, the journal and the sync go on.
//!
//! Why blocking threads and `serialport` (without libudev) rather than
//! tokio-serial: a box drives a handful of readers, a thread each costs
//! nothing, and a blocking read with a short timeout is the simplest loop
//! that also ticks the driver's timers. A stuck ioctl or a slow USB adapter
//! can then only stall its own thread, never the async runtime that syncs.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::aggregate::RawRead;
use crate::config::{ProtocolKind, ReaderConfig, Role};
use crate::driver::{protocol_for, Driver, DriverError, Phase};
use crate::sync::Backoff;

/// Reads decoded from one chunk of bytes of one reader.
#[derive(Debug)]
pub struct ReadChunk {
    /// Index of the reader in the config.
    pub reader: usize,
    pub reads: Vec<RawRead>,
}

/// Where a reader's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    #[default]
    Connecting,
    Initialising,
    Running,
    Disconnected,
    Stopped,
}

/// A reader's health, shared with status and metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReaderHealth {
    pub name: String,
    pub port: String,
    pub protocol: ProtocolKind,
    pub role: Role,
    pub location: Option<String>,
    pub state: LinkState,
    pub last_error: Option<String>,
    pub firmware: Option<String>,
    pub connected_since: Option<DateTime<Utc>>,
    /// Times the port was (re)opened after the first.
    pub reconnects: u64,
    pub reads_total: u64,
    pub skipped_bytes: u64,
    pub last_read: Option<DateTime<Utc>>,
    /// Reads per second over the last status interval.
    pub reads_per_s: f64,
}

impl ReaderHealth {
    pub fn new(cfg: &ReaderConfig) -> Self {
        Self {
            name: cfg.name.clone(),
            port: cfg.port.display().to_string(),
            protocol: cfg.protocol,
            role: cfg.role,
            location: cfg.location.clone(),
            state: LinkState::Connecting,
            last_error: None,
            firmware: None,
            connected_since: None,
            reconnects: 0,
            reads_total: 0,
            skipped_bytes: 0,
            last_read: None,
            reads_per_s: 0.0,
        }
    }
}

/// Why one connection ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("cannot open {port}: {source}")]
    Open {
        port: String,
        source: serialport::Error,
    },
    #[error("{port}: {source}")]
    Io {
        port: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Driver(#[from] DriverError),
    #[error("the daemon is stopping")]
    Stopped,
    #[error("the aggregator is gone")]
    NoConsumer,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a reader thread lets bytes gather after a read that got some
/// (~58 bytes at 115200 baud): fewer wake-ups for a few ms of latency;
/// 10 ms saved a little more CPU but delayed R2000 rounds (docs/performance.md).
const COALESCE: Duration = Duration::from_millis(5);

/// Opens a serial port for a reader: 8N1, no flow control, short read
/// timeout so the driver's timers tick.
pub fn open_port(
    path: &Path,
    baud: u32,
) -> Result<Box<dyn serialport::SerialPort>, serialport::Error> {
    serialport::new(path.to_string_lossy(), baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(Duration::from_millis(20))
        .open()
}

/// Reads what arrived within the port's read timeout: `Ok(0)` when nothing
/// did (the caller's timers tick), an error when the port closed or failed.
pub fn read_some(port: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    match port.read(buf) {
        Ok(0) => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the port closed",
        )),
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::Interrupted
            ) =>
        {
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

/// The device number behind a port path (following symlinks), if it exists.
fn device_id(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.rdev())
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| 0)
    }
}

/// Runs one reader until `stop`; never returns early because of the reader.
pub fn run(
    index: usize,
    cfg: ReaderConfig,
    tx: Sender<ReadChunk>,
    health: Arc<Mutex<ReaderHealth>>,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut opened_before = false;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let end = session(index, &cfg, &tx, &health, &stop, &mut opened_before);
        match end {
            SessionEnd::Stopped => break,
            SessionEnd::NoConsumer => break,
            end => {
                // A session that ran a while was healthy: start back-off anew.
                if started.elapsed() > Duration::from_secs(10) {
                    backoff.succeeded();
                }
                let wait = backoff.failed(rand::thread_rng().gen_range(0.0..=1.0));
                let message = end.to_string();
                {
                    let mut h = lock(&health);
                    let was = h.state;
                    h.state = LinkState::Disconnected;
                    h.connected_since = None;
                    if h.last_error.as_deref() != Some(&message) || was != LinkState::Disconnected {
                        tracing::warn!(reader = %cfg.name, error = %message, retry_in_ms = wait.as_millis() as u64, "reader connection lost");
                    }
                    h.last_error = Some(message);
                }
                let until = Instant::now() + wait;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
    lock(&health).state = LinkState::Stopped;
}

fn session(
    index: usize,
    cfg: &ReaderConfig,
    tx: &Sender<ReadChunk>,
    health: &Mutex<ReaderHealth>,
    stop: &AtomicBool,
    opened_before: &mut bool,
) -> SessionEnd {
    let port_name = cfg.port.display().to_string();
    let mut port = match open_port(&cfg.port, cfg.baud) {
        Ok(p) => p,
        Err(source) => {
            return SessionEnd::Open {
                port: port_name,
                source,
            }
        }
    };
    {
        let mut h = lock(health);
        if *opened_before {
            h.reconnects += 1;
        }
        h.state = LinkState::Initialising;
    }
    *opened_before = true;
    tracing::info!(reader = %cfg.name, port = %port_name, protocol = ?cfg.protocol, "port open; initialising");
    let io = |source| SessionEnd::Io {
        port: port_name.clone(),
        source,
    };
    let _ = port.clear(serialport::ClearBuffer::All);
    let opened_device = device_id(&cfg.port);
    let mut checked_device = Instant::now();
    let now = Instant::now();
    let mut driver = Driver::new(cfg.name.clone(), protocol_for(cfg), now);
    let mut out = Vec::with_capacity(256);
    let mut reads = Vec::with_capacity(64);
    let mut buf = [0u8; 4096];
    driver.begin(now, &mut out);
    let mut phase = driver.phase();
    let mut reported_skips = 0u64;
    let mut got_bytes = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            out.clear();
            driver.stop(&mut out);
            let _ = port.write_all(&out);
            return SessionEnd::Stopped;
        }
        if !out.is_empty() {
            if let Err(e) = port.write_all(&out) {
                return io(e);
            }
            out.clear();
        }
        if got_bytes {
            // Let a few frames gather: at line rate a read returns every
            // frame (~1.7 ms) on its own, and each meant a syscall, a wake-up
            // of the aggregator and a channel message. Commands are already
            // written, so the reader is not kept waiting.
            std::thread::sleep(COALESCE);
        }
        let n = match read_some(&mut *port, &mut buf) {
            Ok(n) => n,
            Err(e) => return io(e),
        };
        got_bytes = n > 0;
        let now = Instant::now();
        // A replugged USB adapter (or a udev link re-pointed at a new
        // device) may leave our descriptor open but dead: watch the path.
        if now.duration_since(checked_device) >= Duration::from_millis(500) {
            checked_device = now;
            match device_id(&cfg.port) {
                None => {
                    return io(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the port disappeared",
                    ))
                }
                Some(dev) if Some(dev) != opened_device => {
                    return io(std::io::Error::other(
                        "the port was replaced by another device (replugged)",
                    ))
                }
                Some(_) => {}
            }
        }
        if n > 0 {
            if let Err(e) = driver.on_bytes(&buf[..n], now, &mut reads, &mut out) {
                return e.into();
            }
        }
        if let Err(e) = driver.on_tick(now, &mut out) {
            return e.into();
        }
        if driver.phase() != phase {
            phase = driver.phase();
            let mut h = lock(health);
            h.state = match phase {
                Phase::Initialising => LinkState::Initialising,
                Phase::Running | Phase::Paused => {
                    h.connected_since = Some(Utc::now());
                    h.last_error = None;
                    LinkState::Running
                }
            };
            h.firmware = driver.firmware().map(str::to_string);
        }
        let skipped = driver.counters.skipped_bytes;
        if !reads.is_empty() || skipped != reported_skips {
            let at = Utc::now();
            let chunk: Vec<RawRead> = reads
                .drain(..)
                .map(|(epc, antenna, rssi_dbm)| RawRead {
                    epc,
                    antenna,
                    rssi_dbm,
                    at,
                })
                .collect();
            {
                let mut h = lock(health);
                h.reads_total += chunk.len() as u64;
                h.skipped_bytes += skipped - reported_skips;
                if !chunk.is_empty() {
                    h.last_read = Some(at);
                }
            }
            reported_skips = skipped;
            if !chunk.is_empty()
                && tx
                    .send(ReadChunk {
                        reader: index,
                        reads: chunk,
                    })
                    .is_err()
            {
                return SessionEnd::NoConsumer;
            }
        }
    }
}
