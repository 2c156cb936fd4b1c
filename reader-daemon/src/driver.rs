//! Reader drivers without IO: bytes and times in, bytes to send and tag
//! reads out. [`Driver`] runs the life of one connection — initialise
//! (firmware, power, antennas), run the inventory loop, notice silence — and
//! a [`Protocol`] (R2000 or Chainway) says which bytes that takes. The
//! serial port belongs to [`crate::reader`]; tests feed the driver the
//! simulator's bytes directly.

use std::time::{Duration, Instant};

use shared::protocol::{chainway, r2000, Decoded, Deframer, Event, Skipped};
use shared::tag::EpcBytes;

use crate::config::{ProtocolKind, ReaderConfig};

/// What a protocol frame means to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A tag report during inventory.
    Tag {
        epc: EpcBytes,
        /// 1-based.
        antenna: u8,
        rssi_dbm: Option<i16>,
    },
    /// An inventory round finished (R2000); the next one may start.
    RoundEnd,
    /// The answer to a command, matched by its code.
    Answer { code: u8, ok: bool, detail: String },
    /// A frame the driver has no use for.
    Other,
}

/// One initialisation command and the reply code that answers it.
#[derive(Debug, Clone)]
pub struct Step {
    pub what: String,
    pub bytes: Vec<u8>,
    pub answer: u8,
}

/// One reader protocol, seen from the host.
pub trait Protocol: Send + std::fmt::Debug {
    fn kind(&self) -> ProtocolKind;
    /// Commands that bring the reader from power-on to ready.
    fn init_steps(&self) -> Vec<Step>;
    /// Bytes that start inventory.
    fn start_inventory(&mut self, out: &mut Vec<u8>);
    /// Bytes for the next round once one ended (nothing if it streams).
    fn next_round(&mut self, out: &mut Vec<u8>);
    /// Bytes to send periodically while inventory runs.
    fn keepalive(&self, out: &mut Vec<u8>);
    /// Bytes that stop inventory (before access commands or on exit).
    fn stop_inventory(&self, out: &mut Vec<u8>);
    /// Decodes one frame from the front of `buf`.
    fn decode(&self, buf: &[u8]) -> Decoded<Reply>;
    /// Steps that write `new` (with a matching PC word) over the EPC bank
    /// of the one tag whose EPC is `current` (access password zero).
    fn write_epc_steps(&self, current: &EpcBytes, new: &EpcBytes) -> Vec<Step>;
    /// How long without any frame while inventory runs before the driver
    /// suspects the reader (R2000 ends rounds even with no tag in the
    /// field; a Chainway stream is silent without tags, so it probes).
    fn silence_limit(&self) -> Duration;
}

/// Builds the protocol a reader's config names.
pub fn protocol_for(cfg: &ReaderConfig) -> Box<dyn Protocol> {
    match cfg.protocol {
        ProtocolKind::R2000 => Box::new(R2000::new(cfg)),
        ProtocolKind::Chainway => Box::new(Chainway::new(cfg)),
    }
}

// ---------------------------------------------------------------------------
// R2000
// ---------------------------------------------------------------------------

/// Impinj R2000 / E710 modules: real-time inventory (0x89) on one antenna,
/// fast-switch inventory (0x8A) across several.
#[derive(Debug)]
pub struct R2000 {
    addr: u8,
    /// 0-based antennas.
    antennas: Vec<u8>,
    power_dbm: u8,
}

impl R2000 {
    pub fn new(cfg: &ReaderConfig) -> Self {
        Self {
            addr: cfg.address,
            antennas: cfg.antennas.iter().map(|a| a.saturating_sub(1)).collect(),
            power_dbm: cfg.power_dbm.round().clamp(0.0, 33.0) as u8,
        }
    }

    pub fn encode(&self, command: r2000::Command, out: &mut Vec<u8>) {
        r2000::encode_command(
            &r2000::CommandFrame {
                addr: self.addr,
                command,
            },
            out,
        );
    }

    fn step(&self, what: &str, command: r2000::Command) -> Step {
        let answer = command.code();
        let mut bytes = Vec::new();
        self.encode(command, &mut bytes);
        Step {
            what: what.to_string(),
            bytes,
            answer,
        }
    }

    fn round(&self, out: &mut Vec<u8>) {
        if self.antennas.len() == 1 {
            self.encode(r2000::Command::RealTimeInventory { repeat: 1 }, out);
        } else {
            let mut slots = [r2000::AntennaStay {
                antenna: r2000::AntennaStay::DISABLED,
                stays: 0,
            }; 4];
            for (slot, &antenna) in slots.iter_mut().zip(&self.antennas) {
                *slot = r2000::AntennaStay { antenna, stays: 1 };
            }
            self.encode(
                r2000::Command::FastSwitchInventory {
                    antennas: slots,
                    interval_ms: 0,
                    repeat: 1,
                },
                out,
            );
        }
    }
}

impl Protocol for R2000 {
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::R2000
    }

    fn init_steps(&self) -> Vec<Step> {
        let mut steps = vec![
            self.step("firmware query", r2000::Command::GetFirmwareVersion),
            self.step(
                "set output power",
                r2000::Command::SetOutputPower {
                    dbm: vec![self.power_dbm],
                },
            ),
        ];
        if let [antenna] = self.antennas[..] {
            steps.push(self.step(
                "set work antenna",
                r2000::Command::SetWorkAntenna { antenna },
            ));
        }
        steps
    }

    fn start_inventory(&mut self, out: &mut Vec<u8>) {
        self.round(out);
    }

    fn next_round(&mut self, out: &mut Vec<u8>) {
        self.round(out);
    }

    fn keepalive(&self, _out: &mut Vec<u8>) {}

    fn stop_inventory(&self, _out: &mut Vec<u8>) {}

    fn decode(&self, buf: &[u8]) -> Decoded<Reply> {
        use r2000::Response as R;
        r2000::decode_response(buf).map(|frame| {
            match frame.response {
                R::TagReport(t) => Reply::Tag {
                    epc: t.epc,
                    antenna: t.antenna + 1,
                    rssi_dbm: Some(t.rssi_dbm),
                },
                R::InventoryEnd { .. } | R::FastSwitchEnd { .. } => Reply::RoundEnd,
                // An inventory that fails (no antenna, RF trouble) still ends the round.
                R::Error {
                    cmd: 0x89..=0x8B, ..
                } => Reply::RoundEnd,
                R::AntennaError { .. } => Reply::Other,
                R::TagOperation(op) => Reply::Answer {
                    code: op.cmd,
                    ok: op.code.is_success(),
                    detail: op.code.to_string(),
                },
                R::Firmware { major, minor } => Reply::Answer {
                    code: 0x72,
                    ok: true,
                    detail: format!("R2000 firmware {major}.{minor}"),
                },
                R::Ok { cmd } => Reply::Answer {
                    code: cmd,
                    ok: true,
                    detail: String::new(),
                },
                R::Error { cmd, code } => Reply::Answer {
                    code: cmd,
                    ok: false,
                    detail: code.to_string(),
                },
                other => Reply::Answer {
                    code: other.code(),
                    ok: true,
                    detail: String::new(),
                },
            }
        })
    }

    fn silence_limit(&self) -> Duration {
        Duration::from_millis(1500)
    }

    fn write_epc_steps(&self, current: &EpcBytes, new: &EpcBytes) -> Vec<Step> {
        vec![
            self.step(
                "select the tag (EPC match)",
                r2000::Command::SetEpcMatch {
                    epc: Some(*current),
                },
            ),
            self.step(
                "EPC write",
                r2000::Command::Write {
                    password: [0; 4],
                    bank: r2000::Command::BANK_EPC,
                    word_addr: 1,
                    data: pc_and_epc(new),
                },
            ),
            self.step(
                "clear the EPC match",
                r2000::Command::SetEpcMatch { epc: None },
            ),
        ]
    }
}

// ---------------------------------------------------------------------------
// Chainway
// ---------------------------------------------------------------------------

/// Chainway UR4-family: start (0x82) once, tags stream as 0x83 frames; the
/// host sends a `00` keep-alive byte while it runs.
#[derive(Debug)]
pub struct Chainway {
    antennas: Vec<u8>,
    centi_dbm: u16,
}

impl Chainway {
    pub fn new(cfg: &ReaderConfig) -> Self {
        Self {
            antennas: cfg.antennas.clone(),
            centi_dbm: (cfg.power_dbm * 100.0).round().clamp(0.0, 3300.0) as u16,
        }
    }

    fn step(what: String, command: chainway::Command) -> Step {
        let answer = command.code().wrapping_add(1);
        let mut bytes = Vec::new();
        chainway::encode_command(&command, &mut bytes);
        Step {
            what,
            bytes,
            answer,
        }
    }
}

impl Protocol for Chainway {
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Chainway
    }

    fn init_steps(&self) -> Vec<Step> {
        // A reader left streaming by a previous run must stop first, or its
        // tag frames bury the answers. The stop answer is not required.
        let mut steps = vec![Self::step(
            "firmware query".into(),
            chainway::Command::GetVersion,
        )];
        for &antenna in &self.antennas {
            steps.push(Self::step(
                format!("set power on antenna {antenna}"),
                chainway::Command::SetPower {
                    save: false,
                    antenna,
                    read_centi_dbm: self.centi_dbm,
                    write_centi_dbm: self.centi_dbm,
                },
            ));
        }
        steps
    }

    fn start_inventory(&mut self, out: &mut Vec<u8>) {
        chainway::encode_command(
            &chainway::Command::StartInventory {
                report: chainway::InventoryReport::Normal,
            },
            out,
        );
    }

    fn next_round(&mut self, _out: &mut Vec<u8>) {}

    fn keepalive(&self, out: &mut Vec<u8>) {
        out.push(chainway::KEEPALIVE);
    }

    fn stop_inventory(&self, out: &mut Vec<u8>) {
        chainway::encode_command(&chainway::Command::StopInventory, out);
    }

    fn decode(&self, buf: &[u8]) -> Decoded<Reply> {
        use chainway::Response as R;
        chainway::decode_response(buf).map(|frame| match frame {
            R::Tag(rec) => Reply::Tag {
                epc: rec.epc,
                antenna: rec.antenna,
                rssi_dbm: Some(deci_to_dbm(rec.rssi_deci_dbm)),
            },
            R::Version {
                major,
                minor,
                patch,
            } => Reply::Answer {
                code: 0x03,
                ok: true,
                detail: format!("Chainway firmware {major}.{minor}.{patch}"),
            },
            R::SetPowerAck { ok } => Reply::Answer {
                code: 0x11,
                ok,
                detail: if ok {
                    String::new()
                } else {
                    "power refused".into()
                },
            },
            R::WriteResult => Reply::Answer {
                code: 0x87,
                ok: true,
                detail: String::new(),
            },
            R::StopAck { ok } => Reply::Answer {
                code: 0x8D,
                ok,
                detail: String::new(),
            },
            R::Error { cmd, error } => Reply::Answer {
                code: cmd,
                ok: false,
                detail: format!("{error:?}"),
            },
            _ => Reply::Other,
        })
    }

    fn silence_limit(&self) -> Duration {
        Duration::from_secs(3)
    }

    fn write_epc_steps(&self, current: &EpcBytes, new: &EpcBytes) -> Vec<Step> {
        vec![Self::step(
            "EPC write".into(),
            chainway::Command::Write {
                password: 0,
                filter: chainway::TagFilter::epc(current.as_slice()),
                bank: chainway::Bank::Epc,
                word_address: 1,
                data: pc_and_epc(new),
            },
        )]
    }
}

/// The PC word announcing `epc`'s length, then the EPC: what goes at word 1
/// of the EPC bank.
fn pc_and_epc(epc: &EpcBytes) -> Vec<u8> {
    let mut data = r2000::pc_for_epc_len(epc.len()).to_be_bytes().to_vec();
    data.extend_from_slice(epc.as_slice());
    if data.len() % 2 == 1 {
        data.push(0);
    }
    data
}

/// Tenths of a dBm to whole dBm, rounded.
fn deci_to_dbm(deci: i16) -> i16 {
    let d = i32::from(deci);
    ((d + if d < 0 { -5 } else { 5 }) / 10) as i16
}

// ---------------------------------------------------------------------------
// The connection's life
// ---------------------------------------------------------------------------

/// Why a connection is given up (the caller reopens the port).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("no answer to the {what} after {attempts} attempts")]
    NoAnswer { what: String, attempts: u32 },
    #[error("the reader refused the {what}: {detail}")]
    Refused { what: String, detail: String },
    #[error("the reader stayed silent through {restarts} restarts of its inventory")]
    Silent { restarts: u32 },
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Initialising,
    Running,
    /// Inventory stopped for access commands (commissioning).
    Paused,
}

const STEP_TIMEOUT: Duration = Duration::from_millis(600);
const STEP_ATTEMPTS: u32 = 4;
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);
/// Inventory restarts (re-sent round / probes) before a full re-initialise.
const RESTARTS_BEFORE_REINIT: u32 = 2;
/// Full re-initialisations without a frame before the port is reopened.
const REINITS_BEFORE_GIVING_UP: u32 = 2;
/// Undecoded bytes kept at most, so a peer flooding the line cannot grow
/// the buffer (frames are ≤ 2 KiB).
const MAX_BUFFER: usize = 64 * 1024;

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverCounters {
    pub frames: u64,
    pub tags: u64,
    pub skipped_bytes: u64,
    pub skips: u64,
    pub restarts: u64,
}

/// One connection to one reader, sans IO.
#[derive(Debug)]
pub struct Driver {
    proto: Box<dyn Protocol>,
    name: String,
    input: Deframer,
    phase: Phase,
    steps: Vec<Step>,
    step: usize,
    step_sent: Instant,
    attempts: u32,
    last_frame: Instant,
    last_keepalive: Instant,
    restarts: u32,
    reinits: u32,
    firmware: Option<String>,
    /// Set by every end-of-round frame (lets a paused R2000 drain).
    pub round_ended: bool,
    pub counters: DriverCounters,
}

impl Driver {
    /// A fresh connection; call [`Driver::begin`] to send the first command.
    pub fn new(name: impl Into<String>, proto: Box<dyn Protocol>, now: Instant) -> Self {
        Self {
            steps: proto.init_steps(),
            proto,
            name: name.into(),
            input: Deframer::new(MAX_BUFFER),
            phase: Phase::Initialising,
            step: 0,
            step_sent: now,
            attempts: 0,
            last_frame: now,
            last_keepalive: now,
            restarts: 0,
            reinits: 0,
            firmware: None,
            round_ended: false,
            counters: DriverCounters::default(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn firmware(&self) -> Option<&str> {
        self.firmware.as_deref()
    }

    /// Starts (or restarts) initialisation.
    pub fn begin(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.phase = Phase::Initialising;
        self.step = 0;
        self.attempts = 0;
        // A Chainway reader may still be streaming from before.
        self.proto.stop_inventory(out);
        self.send_step(now, out);
    }

    fn send_step(&mut self, now: Instant, out: &mut Vec<u8>) {
        match self.steps.get(self.step) {
            Some(step) => {
                out.extend_from_slice(&step.bytes);
                self.attempts += 1;
                self.step_sent = now;
            }
            None => {
                self.phase = Phase::Running;
                self.last_frame = now;
                self.last_keepalive = now;
                self.proto.start_inventory(out);
                tracing::info!(reader = %self.name, firmware = ?self.firmware, "reader initialised; inventory running");
            }
        }
    }

    /// Feeds received bytes; tag reads go to `reads`, bytes to send to `out`.
    pub fn on_bytes(
        &mut self,
        data: &[u8],
        now: Instant,
        reads: &mut Vec<(EpcBytes, u8, Option<i16>)>,
        out: &mut Vec<u8>,
    ) -> Result<(), DriverError> {
        if let Some(dropped) = self.input.push(data) {
            self.skipped(dropped);
        }
        while let Some(event) = self.input.next(|b| self.proto.decode(b)) {
            match event {
                Event::Skip(skipped) => self.skipped(skipped),
                Event::Frame { frame, .. } => {
                    self.counters.frames += 1;
                    self.last_frame = now;
                    self.restarts = 0;
                    self.reinits = 0;
                    self.on_reply(frame, now, reads, out)?;
                }
            }
        }
        Ok(())
    }

    fn skipped(&mut self, s: Skipped) {
        self.counters.skipped_bytes += s.bytes as u64;
        self.counters.skips += 1;
        tracing::debug!(reader = %self.name, at = s.offset, bytes = s.bytes, reason = %s.reason, "skipped bytes");
    }

    fn on_reply(
        &mut self,
        reply: Reply,
        now: Instant,
        reads: &mut Vec<(EpcBytes, u8, Option<i16>)>,
        out: &mut Vec<u8>,
    ) -> Result<(), DriverError> {
        match reply {
            Reply::Tag {
                epc,
                antenna,
                rssi_dbm,
            } => {
                // Reads during a re-initialisation are still reads.
                self.counters.tags += 1;
                reads.push((epc, antenna, rssi_dbm));
            }
            Reply::RoundEnd => {
                self.round_ended = true;
                if self.phase == Phase::Running {
                    self.proto.next_round(out);
                }
            }
            Reply::Answer { code, ok, detail } => {
                if self.phase != Phase::Initialising {
                    return Ok(());
                }
                let Some(step) = self.steps.get(self.step) else {
                    return Ok(());
                };
                if code != step.answer {
                    return Ok(());
                }
                if !ok {
                    return Err(DriverError::Refused {
                        what: step.what.clone(),
                        detail,
                    });
                }
                if self.step == 0 && !detail.is_empty() {
                    self.firmware = Some(detail);
                }
                self.step += 1;
                self.attempts = 0;
                self.send_step(now, out);
            }
            Reply::Other => {}
        }
        Ok(())
    }

    /// Called often (every few ms): retries, keep-alives, silence.
    pub fn on_tick(&mut self, now: Instant, out: &mut Vec<u8>) -> Result<(), DriverError> {
        match self.phase {
            Phase::Paused => {}
            Phase::Initialising => {
                if now.duration_since(self.step_sent) < STEP_TIMEOUT {
                    return Ok(());
                }
                if self.attempts >= STEP_ATTEMPTS {
                    let what = self
                        .steps
                        .get(self.step)
                        .map(|s| s.what.clone())
                        .unwrap_or_default();
                    return Err(DriverError::NoAnswer {
                        what,
                        attempts: self.attempts,
                    });
                }
                self.send_step(now, out);
            }
            Phase::Running => {
                if now.duration_since(self.last_keepalive) >= KEEPALIVE_EVERY {
                    self.proto.keepalive(out);
                    self.last_keepalive = now;
                }
                if now.duration_since(self.last_frame) < self.proto.silence_limit() {
                    return Ok(());
                }
                self.last_frame = now;
                self.counters.restarts += 1;
                if self.restarts < RESTARTS_BEFORE_REINIT {
                    self.restarts += 1;
                    tracing::debug!(reader = %self.name, "no frame for a while; restarting inventory");
                    self.proto.start_inventory(out);
                } else if self.reinits < REINITS_BEFORE_GIVING_UP {
                    self.restarts = 0;
                    self.reinits += 1;
                    tracing::info!(reader = %self.name, "reader silent; re-initialising");
                    self.begin(now, out);
                } else {
                    return Err(DriverError::Silent {
                        restarts: self.reinits * (RESTARTS_BEFORE_REINIT + 1),
                    });
                }
            }
        }
        Ok(())
    }

    /// Bytes that stop inventory (sent before closing).
    pub fn stop(&self, out: &mut Vec<u8>) {
        self.proto.stop_inventory(out);
    }

    /// Stops inventory (no new rounds) so access commands can run.
    pub fn pause(&mut self, out: &mut Vec<u8>) {
        self.phase = Phase::Paused;
        self.round_ended = false;
        self.proto.stop_inventory(out);
    }

    /// Restarts inventory after [`Driver::pause`].
    pub fn resume(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.phase = Phase::Running;
        self.last_frame = now;
        self.proto.start_inventory(out);
    }

    pub fn protocol(&self) -> &dyn Protocol {
        self.proto.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    fn cfg(protocol: ProtocolKind, antennas: Vec<u8>) -> ReaderConfig {
        ReaderConfig {
            name: "r".into(),
            port: "/dev/null".into(),
            protocol,
            baud: 115_200,
            address: 1,
            antennas,
            power_dbm: 30.0,
            role: Role::Desk,
            location: None,
            aggregation: None,
        }
    }

    fn epc() -> EpcBytes {
        EpcBytes::from_hex("3074257BF7194E4000001A85").unwrap_or_else(|_| unreachable!())
    }

    fn r2000_reply(response: r2000::Response) -> Vec<u8> {
        let mut out = Vec::new();
        r2000::encode_response(&r2000::ResponseFrame { addr: 1, response }, &mut out);
        out
    }

    type Reads = Vec<(EpcBytes, u8, Option<i16>)>;

    #[test]
    fn r2000_initialises_then_runs_rounds_and_survives_garbage() -> Result<(), DriverError> {
        let t0 = Instant::now();
        let mut d = Driver::new("r", protocol_for(&cfg(ProtocolKind::R2000, vec![2])), t0);
        let (mut out, mut reads): (Vec<u8>, Reads) = (Vec::new(), Vec::new());
        d.begin(t0, &mut out);
        assert_eq!(out, vec![0xA0, 0x03, 0x01, 0x72, 0xEA]);
        out.clear();
        d.on_bytes(
            &r2000_reply(r2000::Response::Firmware { major: 1, minor: 9 }),
            t0,
            &mut reads,
            &mut out,
        )?;
        assert_eq!(out[3], 0x76, "power next");
        out.clear();
        d.on_bytes(
            &r2000_reply(r2000::Response::Ok { cmd: 0x76 }),
            t0,
            &mut reads,
            &mut out,
        )?;
        assert_eq!(&out[3..5], &[0x74, 0x01], "antenna 2 is 0-based 1");
        out.clear();
        d.on_bytes(
            &r2000_reply(r2000::Response::Ok { cmd: 0x74 }),
            t0,
            &mut reads,
            &mut out,
        )?;
        assert_eq!(d.phase(), Phase::Running);
        assert_eq!(out[3], 0x89);
        assert_eq!(d.firmware(), Some("R2000 firmware 1.9"));
        out.clear();
        // Garbage, a tag report split across two reads, then the round end.
        let tag = r2000_reply(r2000::Response::TagReport(r2000::TagReport {
            cmd: 0x89,
            freq_index: 7,
            antenna: 1,
            pc: 0x3000,
            epc: epc(),
            rssi_dbm: -60,
        }));
        let mut stream = vec![0x13, 0x55, 0xA0, 0x03, 0x00];
        stream.extend_from_slice(&tag);
        let (a, b) = stream.split_at(9);
        d.on_bytes(a, t0, &mut reads, &mut out)?;
        assert!(reads.is_empty());
        d.on_bytes(b, t0, &mut reads, &mut out)?;
        assert_eq!(reads, vec![(epc(), 2, Some(-60))]);
        assert!(d.counters.skipped_bytes >= 3);
        d.on_bytes(
            &r2000_reply(r2000::Response::InventoryEnd {
                cmd: 0x89,
                antenna: 1,
                read_rate: 10,
                total_read: 1,
            }),
            t0,
            &mut reads,
            &mut out,
        )?;
        assert_eq!(out[3], 0x89, "next round");
        Ok(())
    }

    #[test]
    fn r2000_uses_fast_switch_across_antennas() {
        let mut p = R2000::new(&cfg(ProtocolKind::R2000, vec![1, 3]));
        let mut out = Vec::new();
        p.start_inventory(&mut out);
        assert_eq!(out[3], 0x8A);
        assert_eq!(&out[4..10], &[0, 1, 2, 1, 0xFF, 0]);
        assert!(p.init_steps().iter().all(|s| s.answer != 0x74));
    }

    #[test]
    fn silence_restarts_then_reinitialises_then_gives_up() {
        let t0 = Instant::now();
        let mut d = Driver::new("r", protocol_for(&cfg(ProtocolKind::R2000, vec![1])), t0);
        let mut out = Vec::new();
        let mut reads: Reads = Vec::new();
        d.begin(t0, &mut out);
        // No answer at all: the firmware query is retried, then given up.
        let mut t = t0;
        let mut result = Ok(());
        for _ in 0..10 {
            t += STEP_TIMEOUT;
            result = d.on_tick(t, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert!(
            matches!(result, Err(DriverError::NoAnswer { ref what, attempts: 4 }) if what == "firmware query"),
            "{result:?}"
        );
        // A running reader that goes quiet.
        let mut d = Driver::new("r", protocol_for(&cfg(ProtocolKind::R2000, vec![1])), t0);
        d.begin(t0, &mut out);
        let answers = [
            r2000::Response::Firmware { major: 1, minor: 0 },
            r2000::Response::Ok { cmd: 0x76 },
            r2000::Response::Ok { cmd: 0x74 },
        ];
        for a in answers {
            let _ = d.on_bytes(&r2000_reply(a), t0, &mut reads, &mut out);
        }
        assert_eq!(d.phase(), Phase::Running);
        let mut t = t0;
        let mut phases = Vec::new();
        for _ in 0..3 {
            t += Duration::from_secs(2);
            let _ = d.on_tick(t, &mut out);
            phases.push(d.phase());
        }
        assert_eq!(
            phases,
            vec![Phase::Running, Phase::Running, Phase::Initialising]
        );
    }

    #[test]
    fn chainway_initialises_and_streams_with_keepalive() -> Result<(), DriverError> {
        let t0 = Instant::now();
        let mut d = Driver::new(
            "c",
            protocol_for(&cfg(ProtocolKind::Chainway, vec![1, 2])),
            t0,
        );
        let (mut out, mut reads): (Vec<u8>, Reads) = (Vec::new(), Vec::new());
        d.begin(t0, &mut out);
        let reply = |r: chainway::Response| {
            let mut v = Vec::new();
            chainway::encode_response(&r, &mut v);
            v
        };
        for r in [
            chainway::Response::Version {
                major: 7,
                minor: 1,
                patch: 2,
            },
            chainway::Response::SetPowerAck { ok: true },
            chainway::Response::SetPowerAck { ok: true },
        ] {
            d.on_bytes(&reply(r), t0, &mut reads, &mut out)?;
        }
        assert_eq!(d.phase(), Phase::Running);
        out.clear();
        let rec = chainway::TagRecord::new(epc(), -552, 2);
        let mut stream = reply(chainway::Response::Tag(rec));
        stream.insert(0, 0x42);
        d.on_bytes(&stream, t0, &mut reads, &mut out)?;
        assert_eq!(reads, vec![(epc(), 2, Some(-55))]);
        d.on_tick(t0 + Duration::from_millis(1100), &mut out)?;
        assert_eq!(out, vec![0x00]);
        Ok(())
    }

    #[test]
    fn a_refused_setting_names_the_step() {
        let t0 = Instant::now();
        let mut d = Driver::new("r", protocol_for(&cfg(ProtocolKind::R2000, vec![1])), t0);
        let (mut out, mut reads): (Vec<u8>, Reads) = (Vec::new(), Vec::new());
        d.begin(t0, &mut out);
        let _ = d.on_bytes(
            &r2000_reply(r2000::Response::Firmware { major: 1, minor: 0 }),
            t0,
            &mut reads,
            &mut out,
        );
        let e = d.on_bytes(
            &r2000_reply(r2000::Response::Error {
                cmd: 0x76,
                code: r2000::ErrorCode::OUTPUT_POWER_OUT_OF_RANGE,
            }),
            t0,
            &mut reads,
            &mut out,
        );
        assert!(
            matches!(e, Err(DriverError::Refused { ref what, .. }) if what == "set output power"),
            "{e:?}"
        );
    }

    #[test]
    fn rssi_rounds_to_whole_dbm() {
        assert_eq!(deci_to_dbm(-552), -55);
        assert_eq!(deci_to_dbm(-555), -56);
        assert_eq!(deci_to_dbm(0), 0);
        assert_eq!(deci_to_dbm(14), 1);
    }
}
