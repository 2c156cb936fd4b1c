//! Test host: opens a simulated port with `serialport` exactly as the
//! daemon does and speaks the protocols through the host side of the
//! `shared` codecs. Shared by every integration test of this crate.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use shared::protocol::{chainway, r2000, Decoded};

pub type Result<T = ()> = anyhow::Result<T>;

/// A host on one serial port.
pub struct Host {
    port: serialport::TTYPort,
    buf: Vec<u8>,
}

impl Host {
    /// Opens `path` (retrying while a replugged link is not back yet).
    pub fn open(path: &Path, baud: u32) -> Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match serialport::new(path.to_string_lossy(), baud)
                .timeout(Duration::from_millis(20))
                .open_native()
            {
                Ok(port) => {
                    return Ok(Self {
                        port,
                        buf: Vec::new(),
                    })
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(e).with_context(|| format!("opening {}", path.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result {
        self.port.write_all(bytes)?;
        self.port.flush()?;
        Ok(())
    }

    /// Reads what arrives within `timeout` into the buffer; `Err` when the
    /// port is gone (unplugged).
    pub fn fill(&mut self, timeout: Duration) -> Result<usize> {
        let mut chunk = [0u8; 4096];
        let end = Instant::now() + timeout;
        let mut total = 0;
        while Instant::now() < end {
            match self.port.read(&mut chunk) {
                Ok(0) => bail!("port closed"),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    total += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if total > 0 {
                        break;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(total)
    }

    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// R2000: sends `command` to address 1.
    pub fn r2000(&mut self, command: r2000::Command) -> Result {
        self.r2000_to(1, command)
    }

    pub fn r2000_to(&mut self, addr: u8, command: r2000::Command) -> Result {
        let mut out = Vec::new();
        r2000::encode_command(&r2000::CommandFrame { addr, command }, &mut out);
        self.send(&out)
    }

    /// R2000 responses until `done` says so (inclusive) or `timeout`.
    pub fn r2000_until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&r2000::Response) -> bool,
    ) -> Result<Vec<r2000::Response>> {
        let end = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            loop {
                match r2000::decode_response(&self.buf) {
                    Decoded::NeedMore => break,
                    Decoded::Skip { bytes, .. } => {
                        self.buf.drain(..bytes.min(self.buf.len()));
                    }
                    Decoded::Frame { frame, consumed } => {
                        self.buf.drain(..consumed);
                        let stop = done(&frame.response);
                        out.push(frame.response);
                        if stop {
                            return Ok(out);
                        }
                    }
                }
            }
            if Instant::now() > end {
                return Ok(out);
            }
            self.fill(Duration::from_millis(20))?;
        }
    }

    /// R2000: one command, its first response.
    pub fn r2000_ask(&mut self, command: r2000::Command) -> Result<r2000::Response> {
        self.r2000(command)?;
        self.r2000_until(Duration::from_secs(2), |_| true)?
            .pop()
            .context("no response")
    }

    /// R2000 inventory until its end frame: the tag reports.
    pub fn r2000_inventory(&mut self, command: r2000::Command) -> Result<Vec<r2000::TagReport>> {
        self.r2000(command)?;
        let frames = self.r2000_until(Duration::from_secs(5), |r| {
            matches!(
                r,
                r2000::Response::InventoryEnd { .. }
                    | r2000::Response::FastSwitchEnd { .. }
                    | r2000::Response::Error { .. }
            )
        })?;
        Ok(frames
            .into_iter()
            .filter_map(|r| match r {
                r2000::Response::TagReport(t) => Some(t),
                _ => None,
            })
            .collect())
    }

    pub fn chainway(&mut self, command: chainway::Command) -> Result {
        let mut out = Vec::new();
        chainway::encode_command(&command, &mut out);
        self.send(&out)
    }

    pub fn chainway_until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&chainway::Response) -> bool,
    ) -> Result<Vec<chainway::Response>> {
        let end = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            loop {
                match chainway::decode_response(&self.buf) {
                    Decoded::NeedMore => break,
                    Decoded::Skip { bytes, .. } => {
                        self.buf.drain(..bytes.min(self.buf.len()));
                    }
                    Decoded::Frame { frame, consumed } => {
                        self.buf.drain(..consumed);
                        let stop = done(&frame);
                        out.push(frame);
                        if stop {
                            return Ok(out);
                        }
                    }
                }
            }
            if Instant::now() > end {
                return Ok(out);
            }
            self.fill(Duration::from_millis(20))?;
        }
    }

    pub fn chainway_ask(&mut self, command: chainway::Command) -> Result<chainway::Response> {
        self.chainway(command)?;
        self.chainway_until(Duration::from_secs(2), |_| true)?
            .pop()
            .context("no response")
    }
}

/// A scenario text with `{dir}` replaced by a fresh temp dir; returns both.
pub fn scenario(text: &str) -> Result<(tempfile::TempDir, hardware_sim::Scenario)> {
    let dir = tempfile::tempdir()?;
    let text = text.replace("{dir}", &dir.path().to_string_lossy());
    let s = hardware_sim::Scenario::from_toml(&text)?;
    Ok((dir, s))
}
