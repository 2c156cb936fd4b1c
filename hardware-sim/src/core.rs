//! One emulated reader, sans-IO: bytes in (with the time they arrived),
//! paced frames out (with the time they finish on the wire). No PTY, no
//! clock: the driver in [`crate::pty`] supplies both, and tests can drive a
//! reader on a virtual clock to check that a seed replays byte for byte.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use shared::protocol::Deframer;
use shared::tag::EpcBytes;

use crate::faults::{Fault, FaultCounts, FaultRates, FaultState};
use crate::field::{rng_for, AccessError, Field, Read, Select, Target};
use crate::protocol::{self, Protocol};
use crate::scenario::{EventAction, ReaderSpec, Scenario};

/// Host bytes a reader buffers undecoded at most (a frame is ≤ 2 KiB).
const INPUT_CAPACITY: usize = 64 * 1024;

/// How long a reader is silent after a reboot.
pub const BOOT_TIME: Duration = Duration::from_millis(300);

/// What the reader sent, for comparing with what a host saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Frames put on the line (damaged or not; garbage bursts not counted).
    pub frames_sent: u64,
    /// Bytes put on the line, garbage included.
    pub bytes_sent: u64,
    /// Tag reports (inventory frames naming one tag) put on the line.
    pub tag_reports_sent: u64,
    /// Of those, how many a fault damaged (so a host could not decode them).
    pub tag_reports_damaged: u64,
    /// Tag reports per antenna (index 0 = antenna 1).
    pub per_antenna: Vec<u64>,
    /// Tag reports per EPC as reported.
    pub per_tag: BTreeMap<EpcBytes, u64>,
    /// Command frames decoded (for this reader's address or broadcast).
    pub commands_received: u64,
    pub bytes_received: u64,
    /// Incoming bytes the codec skipped (noise, bad checksums).
    pub bytes_skipped: u64,
    /// Inventory rounds run.
    pub inventory_rounds: u64,
    pub faults: FaultCounts,
}

impl Counters {
    /// Tag reports sent for one EPC.
    pub fn reports_for(&self, epc: &EpcBytes) -> u64 {
        self.per_tag.get(epc).copied().unwrap_or(0)
    }
}

/// What an outgoing frame is, for the counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameKind {
    /// Answer to a command (subject to slow/missing faults).
    Response,
    /// Inventory output that names no tag (end of round, errors in a stream).
    Stream,
    /// A tag report: which tag, on which antenna (1-based).
    Report { antenna: u8, epc: EpcBytes },
}

#[derive(Debug)]
pub(crate) struct OutFrame {
    pub bytes: Vec<u8>,
    pub not_before: Duration,
    pub kind: FrameKind,
}

/// Bytes to write, and when their last bit leaves the (virtual) wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub deliver_at: Duration,
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes once `deliver_at` has come.
    Ready(Chunk),
    /// Nothing before this time (unless bytes arrive).
    WaitUntil(Duration),
    /// Nothing until bytes arrive.
    Idle,
}

/// Settings a host can change; some survive a reboot (flash), some not.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub address: u8,
    pub baud: u32,
    /// 0-based.
    pub work_antenna: u8,
    /// dBm per antenna, as set now / as saved in flash.
    pub power_dbm: Vec<f32>,
    pub saved_power_dbm: Vec<f32>,
    /// Frequency hopping range (R2000 frequency indices, inclusive).
    pub freq_range: (u8, u8),
    /// The raw region setting, for protocols that echo it back.
    pub region: Option<shared::protocol::r2000::FrequencyRegion>,
    pub beeper: u8,
    pub epc_match: Option<EpcBytes>,
}

impl Settings {
    fn new(spec: &ReaderSpec) -> Self {
        let p = vec![spec.power_dbm; usize::from(spec.antennas)];
        Self {
            address: spec.address,
            baud: spec.baud,
            work_antenna: 0,
            power_dbm: p.clone(),
            saved_power_dbm: p,
            // China 920–925 MHz.
            freq_range: (43, 53),
            region: None,
            beeper: 0,
            epc_match: None,
        }
    }

    /// What a power cycle keeps: address, baud, saved power, region.
    fn after_reboot(&self) -> Self {
        Self {
            work_antenna: 0,
            power_dbm: self.saved_power_dbm.clone(),
            epc_match: None,
            beeper: self.beeper,
            ..self.clone()
        }
    }
}

/// Everything a protocol handler may touch except itself.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub idx: usize,
    pub spec: ReaderSpec,
    pub settings: Settings,
    pub field: Arc<Mutex<Field>>,
    pub rng: ChaCha8Rng,
    pub faults: FaultState,
    pub counters: Counters,
    pub outq: VecDeque<OutFrame>,
    pub reboot_requested: bool,
}

pub(crate) fn lock_field(field: &Mutex<Field>) -> MutexGuard<'_, Field> {
    field.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ctx {
    /// Queues a command response after the reader's processing time,
    /// unless a fault loses or delays it.
    pub fn reply(&mut self, bytes: Vec<u8>, now: Duration) {
        let Some(extra) = self.faults.response_fate(&mut self.counters.faults) else {
            return;
        };
        let delay = Duration::from_secs_f32(self.spec.response_ms.max(0.0) / 1000.0) + extra;
        self.outq.push_back(OutFrame {
            bytes,
            not_before: now + delay,
            kind: FrameKind::Response,
        });
    }

    /// Queues inventory output (not subject to response faults).
    pub fn emit(&mut self, bytes: Vec<u8>, kind: FrameKind, not_before: Duration) {
        self.outq.push_back(OutFrame {
            bytes,
            not_before,
            kind,
        });
    }

    pub fn round_time(&self) -> Duration {
        Duration::from_secs_f32(self.spec.round_ms.max(0.1) / 1000.0)
    }

    pub fn antenna_connected(&self, antenna0: u8) -> bool {
        self.spec.is_connected(antenna0.saturating_add(1))
    }

    pub fn power(&self, antenna0: u8) -> f32 {
        self.settings
            .power_dbm
            .get(usize::from(antenna0))
            .copied()
            .unwrap_or(self.spec.power_dbm)
    }

    /// A frequency index for this round (hopping within the region).
    pub fn hop(&mut self) -> u8 {
        use rand::Rng;
        let (a, b) = self.settings.freq_range;
        if a >= b {
            a
        } else {
            self.rng.gen_range(a..=b)
        }
    }

    /// One inventory round on a 0-based antenna.
    pub fn round(&mut self, antenna0: u8, session: u8, target: Target, now: Duration) -> Vec<Read> {
        let mut out = Vec::new();
        let power = self.power(antenna0);
        let max = self.spec.max_tags_per_round;
        lock_field(&self.field).inventory_round(
            self.idx,
            antenna0 + 1,
            power,
            session,
            target,
            max,
            now,
            &mut self.rng,
            &mut out,
        );
        self.counters.inventory_rounds += 1;
        out
    }

    fn select(&self) -> Option<Select> {
        self.settings
            .epc_match
            .as_ref()
            .map(|e| Select::epc(e.as_slice()))
    }

    /// Antennas (0-based) an access uses: R2000 the work antenna, Chainway
    /// every connected one.
    fn access_antennas(&self) -> Vec<u8> {
        match self.spec.protocol {
            crate::scenario::ProtocolKind::R2000 => vec![self.settings.work_antenna],
            crate::scenario::ProtocolKind::Chainway => (0..self.spec.antennas)
                .filter(|a| self.antenna_connected(*a))
                .collect(),
        }
    }

    /// Tags an access reaches (with the EPC match, if any, or `select`).
    pub fn answering(&mut self, select: Option<Select>, now: Duration) -> Vec<usize> {
        let sel = select.or_else(|| self.select());
        let mut tags = Vec::new();
        for ant in self.access_antennas() {
            let power = self.power(ant);
            let found =
                lock_field(&self.field).answering(self.idx, ant + 1, power, sel.as_ref(), now);
            for t in found {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
        }
        tags
    }

    /// The one tag a write/lock/kill goes to.
    pub fn single(&mut self, select: Option<Select>, now: Duration) -> Result<usize, AccessError> {
        match self.answering(select, now).as_slice() {
            [] => Err(AccessError::NoTag),
            [one] => Ok(*one),
            _ => Err(AccessError::MultipleTags),
        }
    }

    /// Runs `f` on the field.
    pub fn with_field<R>(&self, f: impl FnOnce(&mut Field) -> R) -> R {
        f(&mut lock_field(&self.field))
    }
}

/// A timeline entry aimed at one reader.
#[derive(Debug, Clone)]
enum ReaderEvent {
    Fault(Fault),
    Rates(FaultRates),
}

/// One emulated reader: protocol state, settings, line pacing, faults.
#[derive(Debug)]
pub struct ReaderCore {
    pub(crate) ctx: Ctx,
    proto: Box<dyn Protocol>,
    /// Host bytes not yet decoded, bounded so a host sending only noise
    /// cannot grow it.
    input: Deframer,
    line_free_at: Duration,
    boot_until: Option<Duration>,
    /// Bytes of a frame cut by a reboot, sent before going silent.
    cut: Option<Vec<u8>>,
    timeline: VecDeque<(Duration, ReaderEvent)>,
    unplug: Option<Duration>,
    /// Where [`ReaderCore::run_virtual_between`] left the virtual clock.
    virtual_now: Duration,
}

impl ReaderCore {
    /// Reader `idx` of the scenario, on a shared field.
    pub fn new(scenario: &Scenario, idx: usize, field: Arc<Mutex<Field>>) -> Option<Self> {
        let spec = scenario.readers.get(idx)?.clone();
        let mut timeline: Vec<(Duration, ReaderEvent)> = scenario
            .events
            .iter()
            .filter_map(|ev| {
                let at = Duration::from_secs_f32(ev.at_s.max(0.0));
                let e = match &ev.action {
                    EventAction::Reboot { reader } if *reader == spec.name => {
                        ReaderEvent::Fault(Fault::Reboot)
                    }
                    EventAction::Unplug { reader, duration_s } if *reader == spec.name => {
                        ReaderEvent::Fault(Fault::Unplug {
                            duration: Duration::from_secs_f32(duration_s.max(0.0)),
                        })
                    }
                    EventAction::Faults { reader, rates } if *reader == spec.name => {
                        ReaderEvent::Rates(rates.clone())
                    }
                    _ => return None,
                };
                Some((at, e))
            })
            .collect();
        timeline.sort_by_key(|(at, _)| *at);
        let ctx = Ctx {
            idx,
            settings: Settings::new(&spec),
            rng: rng_for(scenario.seed, &format!("reads/{}", spec.name)),
            faults: FaultState::new(
                spec.faults.clone(),
                rng_for(scenario.seed, &format!("faults/{}", spec.name)),
            ),
            counters: Counters {
                per_antenna: vec![0; usize::from(spec.antennas)],
                ..Counters::default()
            },
            outq: VecDeque::new(),
            reboot_requested: false,
            field,
            spec,
        };
        Some(Self {
            proto: protocol::new(ctx.spec.protocol),
            ctx,
            input: Deframer::new(INPUT_CAPACITY),
            line_free_at: Duration::ZERO,
            boot_until: None,
            cut: None,
            timeline: timeline.into(),
            unplug: None,
            virtual_now: Duration::ZERO,
        })
    }

    pub fn spec(&self) -> &ReaderSpec {
        &self.ctx.spec
    }

    pub fn counters(&self) -> Counters {
        self.ctx.counters.clone()
    }

    pub fn reset_counters(&mut self) {
        let n = self.ctx.counters.per_antenna.len();
        self.ctx.counters = Counters {
            per_antenna: vec![0; n],
            ..Counters::default()
        };
    }

    /// Current line rate.
    pub fn baud(&self) -> u32 {
        self.ctx.settings.baud
    }

    pub fn set_fault_rates(&mut self, rates: FaultRates) {
        self.ctx.faults.rates = rates;
    }

    /// Applies a one-shot fault now.
    pub fn inject(&mut self, fault: Fault, now: Duration) {
        match fault {
            Fault::Reboot => self.reboot(now, true),
            Fault::Unplug { duration } => {
                self.ctx.counters.faults.unplugs += 1;
                self.unplug = Some(duration);
            }
            other => self.ctx.faults.arm(&other),
        }
    }

    /// The driver asks whether the cable was just pulled (and for how long).
    pub fn take_unplug(&mut self) -> Option<Duration> {
        self.unplug.take()
    }

    /// The cable is back: the reader powers up afresh.
    pub fn replugged(&mut self, now: Duration) {
        self.reboot(now, false);
        self.ctx.counters.faults.reboots -= 1; // counted as an unplug
                                               // The reader booted while USB enumerated: it listens at once.
        self.boot_until = None;
        self.input = Deframer::new(INPUT_CAPACITY);
        self.line_free_at = now;
    }

    fn reboot(&mut self, now: Duration, cut_frame: bool) {
        self.ctx.counters.faults.reboots += 1;
        if cut_frame {
            if let Some(front) = self.ctx.outq.front() {
                let keep = self.ctx.faults.cut_point(front.bytes.len());
                self.cut = Some(front.bytes[..keep].to_vec());
            }
        }
        self.ctx.outq.clear();
        self.ctx.settings = self.ctx.settings.after_reboot();
        self.proto = protocol::new(self.ctx.spec.protocol);
        self.input = Deframer::new(INPUT_CAPACITY);
        self.boot_until = Some(now + BOOT_TIME);
    }

    fn run_timeline(&mut self, now: Duration) {
        while self.timeline.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, ev)) = self.timeline.pop_front() {
                match ev {
                    ReaderEvent::Fault(f) => self.inject(f, now),
                    ReaderEvent::Rates(r) => self.set_fault_rates(r),
                }
            }
        }
    }

    /// Bytes from the host, arrived at `now`.
    pub fn receive(&mut self, bytes: &[u8], now: Duration) {
        self.run_timeline(now);
        self.ctx.counters.bytes_received += bytes.len() as u64;
        if self.boot_until.is_some_and(|t| t > now) {
            return; // still booting: the UART is not listening yet
        }
        if let Some(dropped) = self.input.push(bytes) {
            self.ctx.counters.bytes_skipped += dropped.bytes as u64;
        }
        self.proto.on_bytes(&mut self.input, &mut self.ctx, now);
        if std::mem::take(&mut self.ctx.reboot_requested) {
            self.reboot(now, false);
        }
    }

    fn tx_time(&self, bytes: usize) -> Duration {
        let baud = u64::from(self.ctx.settings.baud.max(1));
        Duration::from_nanos(bytes as u64 * 10 * 1_000_000_000 / baud)
    }

    /// The next chunk for the line, or when to ask again.
    pub fn next_output(&mut self, now: Duration) -> Output {
        self.run_timeline(now);
        let next_event = self.timeline.front().map(|(at, _)| *at);
        let wait = |t: Duration| match next_event {
            Some(e) if e < t => Output::WaitUntil(e),
            _ => Output::WaitUntil(t),
        };
        if let Some(bytes) = self.cut.take() {
            let start = self.line_free_at.max(now);
            self.line_free_at = start + self.tx_time(bytes.len());
            self.ctx.counters.bytes_sent += bytes.len() as u64;
            return Output::Ready(Chunk {
                bytes,
                deliver_at: self.line_free_at,
            });
        }
        if let Some(t) = self.boot_until {
            if t > now {
                return wait(t);
            }
            self.boot_until = None;
        }
        if self.ctx.outq.is_empty() {
            let again = self.proto.generate(&mut self.ctx, now);
            if self.ctx.outq.is_empty() {
                return match again {
                    Some(t) => wait(t.max(now)),
                    None => next_event.map_or(Output::Idle, Output::WaitUntil),
                };
            }
        }
        let Some(front) = self.ctx.outq.front() else {
            return Output::Idle;
        };
        // Keep the line busy back to back, but never catch up more than a
        // few ms after the driver overslept.
        let earliest = now.saturating_sub(Duration::from_millis(5));
        let start = self.line_free_at.max(front.not_before).max(earliest);
        if start > now {
            return wait(start);
        }
        let Some(frame) = self.ctx.outq.pop_front() else {
            return Output::Idle;
        };
        let damage = self
            .ctx
            .faults
            .damage(&frame.bytes, &mut self.ctx.counters.faults);
        let c = &mut self.ctx.counters;
        c.frames_sent += 1;
        c.bytes_sent += damage.bytes.len() as u64;
        if let FrameKind::Report { antenna, epc } = frame.kind {
            c.tag_reports_sent += 1;
            if damage.damaged {
                c.tag_reports_damaged += 1;
            }
            if let Some(slot) = c
                .per_antenna
                .get_mut(usize::from(antenna.saturating_sub(1)))
            {
                *slot += 1;
            }
            *c.per_tag.entry(epc).or_insert(0) += 1;
        }
        self.line_free_at = start + self.tx_time(damage.bytes.len());
        Output::Ready(Chunk {
            bytes: damage.bytes,
            deliver_at: self.line_free_at,
        })
    }

    /// Drives the reader on a virtual clock from zero up to `until`, as a
    /// PTY driver would, with `input` arriving at the given times; returns
    /// every chunk written. Same scenario, seed and input → same bytes.
    pub fn run_virtual(&mut self, input: &[(Duration, Vec<u8>)], until: Duration) -> Vec<Chunk> {
        self.run_virtual_between(input, Duration::ZERO, until)
    }

    /// Like [`ReaderCore::run_virtual`] for the slice `from..until`, so that
    /// several readers sharing a field can be advanced in lock-step.
    pub fn run_virtual_between(
        &mut self,
        input: &[(Duration, Vec<u8>)],
        from: Duration,
        until: Duration,
    ) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut inputs = input.iter().peekable();
        let mut now = from.max(self.virtual_now);
        while now < until {
            while let Some((at, bytes)) = inputs.peek() {
                if *at > now {
                    break;
                }
                self.receive(bytes, now.max(*at));
                inputs.next();
            }
            if let Some(d) = self.take_unplug() {
                now += d;
                self.replugged(now);
                continue;
            }
            let next_input = inputs.peek().map(|(at, _)| *at);
            match self.next_output(now) {
                Output::Ready(c) => {
                    now = now.max(c.deliver_at);
                    out.push(c);
                }
                Output::WaitUntil(t) => {
                    let t = next_input.map_or(t, |i| i.min(t)).min(until);
                    now = t.max(now + Duration::from_micros(1));
                }
                Output::Idle => {
                    now = next_input.map_or(until, |i| i.max(now));
                }
            }
        }
        // Input due at the very end still arrives.
        for (at, bytes) in inputs {
            self.receive(bytes, *at);
        }
        self.virtual_now = now;
        out
    }
}
