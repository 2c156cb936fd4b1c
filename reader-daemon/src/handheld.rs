//! Driving one reader directly from a command (stock-take, commissioning):
//! the same [`Driver`] as the daemon, but the caller decides when to
//! inventory and when to send access commands. Blocking, one port.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use shared::protocol::{Deframer, Event};
use shared::tag::EpcBytes;

use crate::config::ReaderConfig;
use crate::driver::{protocol_for, Driver, Phase, Reply, Step};
use crate::reader::{open_port, read_some};

/// Why a handheld operation failed; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum HandheldError {
    #[error("cannot open {port}: {source} (is the daemon or another program using this reader?)")]
    Open {
        port: String,
        source: serialport::Error,
    },
    #[error("{port}: {source}")]
    Io {
        port: String,
        source: std::io::Error,
    },
    #[error("reader {reader}: {source}")]
    Driver {
        reader: String,
        source: crate::driver::DriverError,
    },
    #[error("reader {reader} did not get ready within {secs} s")]
    NotReady { reader: String, secs: u64 },
    #[error("reader {reader}: no answer to the {what}")]
    NoAnswer { reader: String, what: String },
    #[error("reader {reader}: the {what} failed: {detail}")]
    Refused {
        reader: String,
        what: String,
        detail: String,
    },
}

/// Bytes buffered at most while waiting for an access command's answer
/// (what stays undecoded is less than one frame).
const ANSWER_CAPACITY: usize = 64 * 1024;

/// One tag's sightings during an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub count: u32,
    pub peak_rssi: Option<i16>,
    pub antenna: u8,
}

/// An open, initialised reader.
#[derive(Debug)]
pub struct Handheld {
    name: String,
    port_name: String,
    port: Box<dyn serialport::SerialPort>,
    driver: Driver,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl Handheld {
    /// Opens the port and initialises the reader (inventory running).
    /// A port that does not answer is reopened (twice): right after another
    /// program closed it, a USB adapter or a PTY may be replaced under us.
    pub fn open(cfg: &ReaderConfig) -> Result<Self, HandheldError> {
        let mut last = None;
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(300));
            }
            match Self::try_open(cfg, Duration::from_secs(3)) {
                Ok(h) => return Ok(h),
                Err(e @ HandheldError::Open { .. }) if attempt == 2 => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(HandheldError::NotReady {
            reader: cfg.name.clone(),
            secs: 9,
        }))
    }

    fn try_open(cfg: &ReaderConfig, limit: Duration) -> Result<Self, HandheldError> {
        let port_name = cfg.port.display().to_string();
        let port = open_port(&cfg.port, cfg.baud).map_err(|source| HandheldError::Open {
            port: port_name.clone(),
            source,
        })?;
        let now = Instant::now();
        let mut h = Self {
            name: cfg.name.clone(),
            port_name,
            port,
            driver: Driver::new(cfg.name.clone(), protocol_for(cfg), now),
            out: Vec::new(),
            buf: vec![0u8; 4096],
        };
        let _ = h.port.clear(serialport::ClearBuffer::All);
        let mut out = Vec::new();
        h.driver.begin(now, &mut out);
        h.out = out;
        let end = now + limit;
        let mut sink = Vec::new();
        while h.driver.phase() != Phase::Running {
            if Instant::now() > end {
                return Err(HandheldError::NotReady {
                    reader: h.name.clone(),
                    secs: limit.as_secs(),
                });
            }
            h.pump(&mut sink)?;
        }
        Ok(h)
    }

    pub fn firmware(&self) -> Option<&str> {
        self.driver.firmware()
    }

    fn io(&self, source: std::io::Error) -> HandheldError {
        HandheldError::Io {
            port: self.port_name.clone(),
            source,
        }
    }

    /// One turn: write what is queued, read what came (≤ 20 ms), tick.
    /// Tag reads are appended to `reads`.
    pub fn pump(
        &mut self,
        reads: &mut Vec<(EpcBytes, u8, Option<i16>)>,
    ) -> Result<(), HandheldError> {
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            self.port.write_all(&out).map_err(|e| self.io(e))?;
        }
        let n = read_some(&mut *self.port, &mut self.buf).map_err(|e| self.io(e))?;
        let now = Instant::now();
        let driver_err = |source| HandheldError::Driver {
            reader: self.name.clone(),
            source,
        };
        if n > 0 {
            let data = self.buf[..n].to_vec();
            self.driver
                .on_bytes(&data, now, reads, &mut self.out)
                .map_err(driver_err)?;
        }
        let driver_err = |source| HandheldError::Driver {
            reader: self.name.clone(),
            source,
        };
        self.driver.on_tick(now, &mut self.out).map_err(driver_err)
    }

    /// Inventories for `d` and returns each distinct EPC seen.
    pub fn inventory(&mut self, d: Duration) -> Result<BTreeMap<EpcBytes, Seen>, HandheldError> {
        if self.driver.phase() == Phase::Paused {
            let mut out = std::mem::take(&mut self.out);
            self.driver.resume(Instant::now(), &mut out);
            self.out = out;
        }
        let end = Instant::now() + d;
        let mut reads = Vec::new();
        let mut seen: BTreeMap<EpcBytes, Seen> = BTreeMap::new();
        while Instant::now() < end {
            self.pump(&mut reads)?;
            for (epc, antenna, rssi) in reads.drain(..) {
                let s = seen.entry(epc).or_insert(Seen {
                    count: 0,
                    peak_rssi: rssi,
                    antenna,
                });
                s.count += 1;
                s.peak_rssi = s.peak_rssi.max(rssi);
            }
        }
        Ok(seen)
    }

    /// Stops inventory and lets the line go quiet, so the next frames are
    /// answers to access commands.
    pub fn pause(&mut self) -> Result<(), HandheldError> {
        let mut out = std::mem::take(&mut self.out);
        self.driver.pause(&mut out);
        self.out = out;
        let end = Instant::now() + Duration::from_millis(1500);
        let mut sink = Vec::new();
        // R2000: wait for the running round's end; Chainway: the stop ack.
        let quiet_after = Duration::from_millis(150);
        let mut last_bytes = Instant::now();
        while Instant::now() < end {
            let frames = self.driver.counters.frames;
            self.pump(&mut sink)?;
            if self.driver.counters.frames != frames {
                last_bytes = Instant::now();
            } else if last_bytes.elapsed() > quiet_after {
                break;
            }
        }
        Ok(())
    }

    /// Runs access steps (inventory must be paused), each retried 3 times.
    pub fn run_steps(&mut self, steps: &[Step]) -> Result<(), HandheldError> {
        for step in steps {
            let mut answered = None;
            'attempts: for _ in 0..3 {
                self.port.write_all(&step.bytes).map_err(|e| self.io(e))?;
                let end = Instant::now() + Duration::from_millis(1000);
                let mut input = Deframer::new(ANSWER_CAPACITY);
                while Instant::now() < end {
                    let n = read_some(&mut *self.port, &mut self.buf).map_err(|e| self.io(e))?;
                    input.push(&self.buf[..n]);
                    let proto = self.driver.protocol();
                    for event in input.events(|b| proto.decode(b)) {
                        if let Event::Frame {
                            frame: Reply::Answer { code, ok, detail },
                            ..
                        } = event
                        {
                            if code == step.answer {
                                answered = Some((ok, detail));
                                break 'attempts;
                            }
                        }
                    }
                }
            }
            match answered {
                None => {
                    return Err(HandheldError::NoAnswer {
                        reader: self.name.clone(),
                        what: step.what.clone(),
                    })
                }
                Some((false, detail)) => {
                    return Err(HandheldError::Refused {
                        reader: self.name.clone(),
                        what: step.what.clone(),
                        detail,
                    })
                }
                Some((true, _)) => {}
            }
        }
        Ok(())
    }

    /// Writes `new` over the EPC of the one tag whose EPC is `current`.
    pub fn write_epc(&mut self, current: &EpcBytes, new: &EpcBytes) -> Result<(), HandheldError> {
        self.pause()?;
        let steps = self.driver.protocol().write_epc_steps(current, new);
        self.run_steps(&steps)
    }

    /// Stops inventory before the port closes.
    pub fn close(mut self) {
        let mut out = Vec::new();
        self.driver.stop(&mut out);
        let _ = self.port.write_all(&out);
    }
}
