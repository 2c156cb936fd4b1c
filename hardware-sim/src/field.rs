//! The tag field: every tag's memory, where it is relative to each reader's
//! antennas over time, and the radio physics of an inventory round.
//!
//! One field is shared by all readers of a simulator (a tag commissioned at
//! the desk is the same tag the gate sees later). It holds no RNG: each
//! reader passes its own, so a reader's reads depend only on the seed, its
//! own commands and the timeline.

use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use shared::epc::gen2::{stored_crc, Bank, LockAction, LockTarget, PcWord};
use shared::tag::EpcBytes;

use crate::scenario::{
    EventAction, ForeignScheme, Physics, Population, Scenario, TagKind, TagSelector,
};

/// Why a Gen2 access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("no tag in the field")]
    NoTag,
    #[error("more than one tag answered")]
    MultipleTags,
    #[error("memory overrun: address past the end of the bank")]
    MemoryOverrun,
    #[error("memory locked")]
    MemoryLocked,
    #[error("wrong or missing access password")]
    WrongPassword,
}

/// One tag's memory.
#[derive(Debug, Clone, Serialize)]
pub struct TagMemory {
    /// Kill password (words 0–1) and access password (words 2–3).
    pub kill_password: u32,
    pub access_password: u32,
    /// EPC bank: StoredCRC, PC, then `capacity` EPC bytes.
    epc_bank: Vec<u8>,
    pub tid: Vec<u8>,
    pub user: Vec<u8>,
    pub epc_lock: LockAction,
    pub user_lock: LockAction,
    pub tid_lock: LockAction,
    pub access_pwd_lock: LockAction,
    pub kill_pwd_lock: LockAction,
    pub killed: bool,
}

impl TagMemory {
    pub fn new(epc: &[u8], tid: Vec<u8>, user_len: usize, capacity_bits: usize) -> Self {
        let cap = (capacity_bits / 16).max(epc.len().div_ceil(2)) * 2;
        let mut epc_bank = vec![0u8; 4 + cap];
        epc_bank[4..4 + epc.len()].copy_from_slice(epc);
        let pc = PcWord::for_epc(epc.len()).map(|p| p.0).unwrap_or(0x3000);
        epc_bank[2..4].copy_from_slice(&pc.to_be_bytes());
        let mut m = Self {
            kill_password: 0,
            access_password: 0,
            epc_bank,
            tid,
            user: vec![0; user_len],
            epc_lock: LockAction::Open,
            user_lock: LockAction::Open,
            tid_lock: LockAction::PermaLock,
            access_pwd_lock: LockAction::Open,
            kill_pwd_lock: LockAction::Open,
            killed: false,
        };
        m.update_crc();
        m
    }

    pub fn pc(&self) -> u16 {
        u16::from_be_bytes([self.epc_bank[2], self.epc_bank[3]])
    }

    /// The EPC as the PC word's length announces it.
    pub fn epc(&self) -> EpcBytes {
        let n = (usize::from(self.pc() >> 11) * 2).min(self.epc_bank.len() - 4);
        // The PC word's 5-bit length caps n at 62 bytes = MAX_EPC_BYTES.
        #[allow(clippy::expect_used)]
        EpcBytes::new(&self.epc_bank[4..4 + n]).expect("PC length is at most 31 words")
    }

    pub fn stored_crc(&self) -> u16 {
        u16::from_be_bytes([self.epc_bank[0], self.epc_bank[1]])
    }

    fn update_crc(&mut self) {
        let epc = self.epc();
        let crc = stored_crc(PcWord(self.pc()), epc.as_slice());
        self.epc_bank[0..2].copy_from_slice(&crc.to_be_bytes());
    }

    fn reserved(&self) -> [u8; 8] {
        let mut r = [0u8; 8];
        r[..4].copy_from_slice(&self.kill_password.to_be_bytes());
        r[4..].copy_from_slice(&self.access_password.to_be_bytes());
        r
    }

    fn bank(&self, bank: Bank) -> Vec<u8> {
        match bank {
            Bank::Reserved => self.reserved().to_vec(),
            Bank::Epc => self.epc_bank.clone(),
            Bank::Tid => self.tid.clone(),
            Bank::User => self.user.clone(),
        }
    }

    /// Reads `words` words from `word_ptr` (0 words = to the end of the bank).
    pub fn read(
        &self,
        bank: Bank,
        word_ptr: usize,
        words: usize,
        password: u32,
    ) -> Result<Vec<u8>, AccessError> {
        if bank == Bank::Reserved
            && self.access_password != 0
            && password != self.access_password
            && matches!(
                self.access_pwd_lock,
                LockAction::Lock | LockAction::PermaLock
            )
        {
            return Err(AccessError::MemoryLocked);
        }
        let data = self.bank(bank);
        let start = word_ptr * 2;
        let end = if words == 0 {
            data.len()
        } else {
            start + words * 2
        };
        if start > data.len() || end > data.len() {
            return Err(AccessError::MemoryOverrun);
        }
        Ok(data[start..end].to_vec())
    }

    fn secured(&self, password: u32) -> bool {
        self.access_password == 0 || password == self.access_password
    }

    fn writable(state: LockAction, secured: bool) -> Result<(), AccessError> {
        match state {
            LockAction::Open | LockAction::PermaOpen => Ok(()),
            LockAction::Lock if secured => Ok(()),
            LockAction::Lock | LockAction::PermaLock => Err(AccessError::MemoryLocked),
        }
    }

    /// Writes `data` (whole words) at `word_ptr`.
    pub fn write(
        &mut self,
        bank: Bank,
        word_ptr: usize,
        data: &[u8],
        password: u32,
    ) -> Result<(), AccessError> {
        if !data.len().is_multiple_of(2) {
            return Err(AccessError::MemoryOverrun);
        }
        if password != 0 && password != self.access_password {
            return Err(AccessError::WrongPassword);
        }
        // Gen2: a tag whose access password is zero is in the secured state
        // without one, so a (non-perma) lock only holds with a password set.
        let secured = self.secured(password);
        let start = word_ptr * 2;
        let end = start + data.len();
        match bank {
            Bank::Reserved => {
                if end > 8 {
                    return Err(AccessError::MemoryOverrun);
                }
                if start < 4 {
                    Self::writable(self.kill_pwd_lock, secured)?;
                }
                if end > 4 {
                    Self::writable(self.access_pwd_lock, secured)?;
                }
                let mut r = self.reserved();
                r[start..end].copy_from_slice(data);
                self.kill_password = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
                self.access_password = u32::from_be_bytes([r[4], r[5], r[6], r[7]]);
            }
            Bank::Epc => {
                Self::writable(self.epc_lock, secured)?;
                if end > self.epc_bank.len() {
                    return Err(AccessError::MemoryOverrun);
                }
                // The StoredCRC (word 0) is the tag's own; writes to it are ignored.
                let from = start.max(2);
                if from < end {
                    self.epc_bank[from..end].copy_from_slice(&data[from - start..]);
                }
                self.update_crc();
            }
            Bank::Tid => {
                Self::writable(self.tid_lock, secured)?;
                if end > self.tid.len() {
                    return Err(AccessError::MemoryOverrun);
                }
                self.tid[start..end].copy_from_slice(data);
            }
            Bank::User => {
                Self::writable(self.user_lock, secured)?;
                if end > self.user.len() {
                    return Err(AccessError::MemoryOverrun);
                }
                self.user[start..end].copy_from_slice(data);
            }
        }
        Ok(())
    }

    /// Applies lock actions; needs the (non-zero) access password, as Gen2 does.
    pub fn lock(
        &mut self,
        actions: &[(LockTarget, LockAction)],
        password: u32,
    ) -> Result<(), AccessError> {
        if self.access_password == 0 && password != 0 {
            return Err(AccessError::WrongPassword);
        }
        if self.access_password != 0 && password != self.access_password {
            return Err(AccessError::WrongPassword);
        }
        for &(target, state) in actions {
            let slot = self.lock_slot(target);
            if slot.is_permanent() && *slot != state {
                return Err(AccessError::MemoryLocked);
            }
            *slot = state;
        }
        Ok(())
    }

    /// The protection `target` has now.
    pub fn protection(&self, target: LockTarget) -> LockAction {
        match target {
            LockTarget::KillPassword => self.kill_pwd_lock,
            LockTarget::AccessPassword => self.access_pwd_lock,
            LockTarget::Epc => self.epc_lock,
            LockTarget::Tid => self.tid_lock,
            LockTarget::User => self.user_lock,
        }
    }

    fn lock_slot(&mut self, target: LockTarget) -> &mut LockAction {
        match target {
            LockTarget::KillPassword => &mut self.kill_pwd_lock,
            LockTarget::AccessPassword => &mut self.access_pwd_lock,
            LockTarget::Epc => &mut self.epc_lock,
            LockTarget::Tid => &mut self.tid_lock,
            LockTarget::User => &mut self.user_lock,
        }
    }

    /// Whether the EPC bank matches `mask` at `bit_ptr` (a Gen2 Select).
    pub fn matches(&self, sel: &Select) -> bool {
        let data = self.bank(sel.bank);
        (0..sel.bit_len).all(|i| {
            let bit = sel.bit_ptr + i;
            let byte = bit / 8;
            let Some(b) = data.get(byte) else {
                return false;
            };
            let mine = (b >> (7 - bit % 8)) & 1;
            let want = sel
                .mask
                .get(i / 8)
                .map(|m| (m >> (7 - i % 8)) & 1)
                .unwrap_or(2);
            mine == want
        })
    }
}

/// A Gen2 Select: tags whose `bank` holds `mask` from `bit_ptr` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub bank: Bank,
    pub bit_ptr: usize,
    pub bit_len: usize,
    pub mask: Vec<u8>,
}

impl Select {
    /// Selects the tag whose EPC equals `epc`.
    pub fn epc(epc: &[u8]) -> Self {
        Select {
            bank: Bank::Epc,
            bit_ptr: 32,
            bit_len: epc.len() * 8,
            mask: epc.to_vec(),
        }
    }
}

/// A tag at an antenna.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub reader: usize,
    pub antenna: u8,
    pub distance_m: f32,
}

/// A tag moving through one reader's field.
#[derive(Debug, Clone, PartialEq)]
enum Motion {
    Gate {
        reader: usize,
        antennas: Vec<u8>,
        start: Duration,
        end: Duration,
        closest_m: f32,
        spacing_m: f32,
        /// Half the path length walked during the pass, m.
        half_path_m: f32,
    },
    Sweep {
        reader: usize,
        antenna: u8,
        start: Duration,
        end: Duration,
        /// Tag's position along the shelf and the walker's start, m.
        x_m: f32,
        x0_m: f32,
        speed_mps: f32,
        lateral_m: f32,
    },
}

impl Motion {
    fn reader(&self) -> usize {
        match self {
            Motion::Gate { reader, .. } | Motion::Sweep { reader, .. } => *reader,
        }
    }
    fn end(&self) -> Duration {
        match self {
            Motion::Gate { end, .. } | Motion::Sweep { end, .. } => *end,
        }
    }
    fn distance(&self, antenna: u8, now: Duration) -> Option<f32> {
        match self {
            Motion::Gate {
                antennas,
                start,
                end,
                closest_m,
                spacing_m,
                half_path_m,
                ..
            } => {
                let i = antennas.iter().position(|a| *a == antenna)?;
                let span = end.saturating_sub(*start).as_secs_f32().max(1e-3);
                let t = now.saturating_sub(*start).as_secs_f32() / span; // 0..1
                let s = (t * 2.0 - 1.0) * half_path_m;
                let offset = (i as f32 - (antennas.len() as f32 - 1.0) / 2.0) * spacing_m;
                Some((s - offset).hypot(*closest_m))
            }
            Motion::Sweep {
                antenna: a,
                start,
                x_m,
                x0_m,
                speed_mps,
                lateral_m,
                ..
            } => {
                if *a != antenna {
                    return None;
                }
                let walker = x0_m + now.saturating_sub(*start).as_secs_f32() * speed_mps;
                Some((x_m - walker).hypot(*lateral_m))
            }
        }
    }
}

/// Gen2 inventoried flag of one session: B until the given time.
#[derive(Debug, Clone, Copy, Default)]
struct Flag {
    b_until: Option<Duration>,
}

/// Which tags an inventory round asks for (Gen2 Query target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    A,
    B,
}

/// One tag in the field.
#[derive(Debug, Clone)]
pub struct Tag {
    pub memory: TagMemory,
    pub population: usize,
    placements: Vec<Placement>,
    motion: Option<Motion>,
    flags: [Flag; 4],
}

impl Tag {
    fn flag_is_b(&self, session: u8, now: Duration) -> bool {
        self.flags[usize::from(session & 3)]
            .b_until
            .is_some_and(|t| t > now)
    }

    fn distance(&self, reader: usize, antenna: u8, now: Duration) -> Option<f32> {
        if let Some(m) = &self.motion {
            if m.reader() == reader {
                return m.distance(antenna, now);
            }
        }
        self.placements
            .iter()
            .filter(|p| p.reader == reader && p.antenna == antenna)
            .map(|p| p.distance_m)
            .reduce(f32::min)
    }
}

/// A tag read in a round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    pub tag: usize,
    pub antenna: u8,
    pub pc: u16,
    pub epc: EpcBytes,
    pub rssi_dbm: f32,
}

/// What the field needs to know about each reader.
#[derive(Debug, Clone)]
pub struct ReaderGeometry {
    pub name: String,
    pub range_m: f32,
}

/// A timeline step on the field (reader events go to the readers).
#[derive(Debug, Clone)]
struct FieldEvent {
    at: Duration,
    tags: Vec<usize>,
    action: FieldAction,
}

#[derive(Debug, Clone)]
enum FieldAction {
    Gate {
        reader: usize,
        antennas: Vec<u8>,
        duration: Duration,
        closest_m: f32,
        spacing_m: f32,
    },
    Sweep {
        reader: usize,
        antenna: u8,
        shelf_m: f32,
        speed_mps: f32,
        lateral_m: f32,
    },
    Remove,
    Add(Placement),
    Move(Placement),
}

/// The whole field.
#[derive(Debug)]
pub struct Field {
    pub tags: Vec<Tag>,
    pub physics: Physics,
    readers: Vec<ReaderGeometry>,
    populations: Vec<(String, std::ops::Range<usize>)>,
    events: Vec<FieldEvent>,
    next_event: usize,
    moving: Vec<usize>,
}

/// Derives an independent RNG stream from the seed and a name (FNV-1a, so
/// it is stable across Rust versions, unlike `DefaultHasher`).
pub fn rng_for(seed: u64, stream: &str) -> ChaCha8Rng {
    use rand::SeedableRng;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h)
}

/// Why the field could not be built from a scenario.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("population {population:?}: {detail}")]
    Population { population: String, detail: String },
}

impl Field {
    /// Builds tags, placements and the field timeline from a (validated) scenario.
    pub fn from_scenario(s: &Scenario) -> Result<Self, FieldError> {
        let mut rng = rng_for(s.seed, "field");
        let readers: Vec<ReaderGeometry> = s
            .readers
            .iter()
            .map(|r| ReaderGeometry {
                name: r.name.clone(),
                range_m: r.range_m(),
            })
            .collect();
        let mut tags = Vec::new();
        let mut populations = Vec::new();
        for (pi, p) in s.populations.iter().enumerate() {
            let start = tags.len();
            let epcs = population_epcs(p, &mut rng, s.seed)?;
            for (i, (epc, tid)) in epcs.into_iter().enumerate() {
                let mut memory =
                    TagMemory::new(epc.as_slice(), tid, p.user_bytes, p.epc_capacity_bits);
                if let Some(pw) = p
                    .access_password
                    .as_deref()
                    .and_then(crate::scenario::parse_password)
                {
                    memory.access_password = pw;
                }
                if p.locked {
                    // Without an access password only a permalock holds.
                    memory.epc_lock = if memory.access_password == 0 {
                        LockAction::PermaLock
                    } else {
                        LockAction::Lock
                    };
                }
                let _ = i;
                let placements = p
                    .placements
                    .iter()
                    .filter_map(|pl| {
                        let reader = s.reader_index(&pl.reader)?;
                        let jitter = if pl.spread_m > 0.0 {
                            rng.gen_range(-0.5..0.5) * pl.spread_m
                        } else {
                            0.0
                        };
                        Some(Placement {
                            reader,
                            antenna: pl.antenna,
                            distance_m: (pl.distance_m + jitter).max(0.02),
                        })
                    })
                    .collect();
                tags.push(Tag {
                    memory,
                    population: pi,
                    placements,
                    motion: None,
                    flags: [Flag::default(); 4],
                });
            }
            populations.push((p.name.clone(), start..tags.len()));
        }
        let mut field = Field {
            tags,
            physics: s.physics.clone(),
            readers,
            populations,
            events: Vec::new(),
            next_event: 0,
            moving: Vec::new(),
        };
        for ev in &s.events {
            let at = Duration::from_secs_f32(ev.at_s.max(0.0));
            let reader_of = |name: &str| s.reader_index(name).unwrap_or(0);
            let (sel, action) = match &ev.action {
                EventAction::GatePass {
                    reader,
                    tags,
                    antennas,
                    duration_s,
                    closest_m,
                    spacing_m,
                } => (
                    tags,
                    FieldAction::Gate {
                        reader: reader_of(reader),
                        antennas: antennas.clone(),
                        duration: Duration::from_secs_f32(duration_s.max(0.001)),
                        closest_m: *closest_m,
                        spacing_m: *spacing_m,
                    },
                ),
                EventAction::Sweep {
                    reader,
                    tags,
                    antenna,
                    shelf_m,
                    speed_mps,
                    lateral_m,
                } => (
                    tags,
                    FieldAction::Sweep {
                        reader: reader_of(reader),
                        antenna: *antenna,
                        shelf_m: *shelf_m,
                        speed_mps: *speed_mps,
                        lateral_m: *lateral_m,
                    },
                ),
                EventAction::Remove { tags } => (tags, FieldAction::Remove),
                EventAction::Add {
                    tags,
                    reader,
                    antenna,
                    distance_m,
                } => (
                    tags,
                    FieldAction::Add(Placement {
                        reader: reader_of(reader),
                        antenna: *antenna,
                        distance_m: *distance_m,
                    }),
                ),
                EventAction::Move {
                    tags,
                    reader,
                    antenna,
                    distance_m,
                } => (
                    tags,
                    FieldAction::Move(Placement {
                        reader: reader_of(reader),
                        antenna: *antenna,
                        distance_m: *distance_m,
                    }),
                ),
                EventAction::Reboot { .. }
                | EventAction::Unplug { .. }
                | EventAction::Faults { .. } => continue,
            };
            let tags = field.select(sel);
            field.events.push(FieldEvent { at, tags, action });
        }
        field.events.sort_by_key(|e| e.at);
        Ok(field)
    }

    /// A reader's nominal range (at 30 dBm), m.
    pub fn range_m(&self, reader: usize) -> Option<f32> {
        self.readers.get(reader).map(|r| r.range_m)
    }

    pub fn reader_count(&self) -> usize {
        self.readers.len()
    }

    /// Tag indices a selector names (unknown names select nothing).
    pub fn select(&self, sel: &TagSelector) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if let Some(name) = &sel.population {
            if let Some((_, range)) = self.populations.iter().find(|(n, _)| n == name) {
                let from = range.start + sel.first;
                let to = match sel.count {
                    Some(c) => (from + c).min(range.end),
                    None => range.end,
                };
                out.extend(from.min(range.end)..to);
            }
        } else if sel.epcs.is_empty() {
            let to = sel
                .count
                .map_or(self.tags.len(), |c| (sel.first + c).min(self.tags.len()));
            out.extend(sel.first.min(to)..to);
        }
        for hex in &sel.epcs {
            if let Ok(epc) = EpcBytes::from_hex(hex) {
                out.extend(self.find_epc(&epc));
            }
        }
        out
    }

    /// Tags whose current EPC is `epc`.
    pub fn find_epc(&self, epc: &EpcBytes) -> Vec<usize> {
        self.tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.memory.epc() == *epc)
            .map(|(i, _)| i)
            .collect()
    }

    /// Adds a tag (e.g. from a test); returns its index.
    pub fn add_tag(&mut self, memory: TagMemory, placements: Vec<Placement>) -> usize {
        self.tags.push(Tag {
            memory,
            population: usize::MAX,
            placements,
            motion: None,
            flags: [Flag::default(); 4],
        });
        self.tags.len() - 1
    }

    /// Takes tags out of every field.
    pub fn remove(&mut self, tags: &[usize]) {
        for &i in tags {
            if let Some(t) = self.tags.get_mut(i) {
                t.placements.clear();
                t.motion = None;
            }
        }
    }

    /// Puts tags at an antenna, keeping their other placements.
    pub fn place(&mut self, tags: &[usize], at: Placement) {
        for &i in tags {
            if let Some(t) = self.tags.get_mut(i) {
                t.placements
                    .retain(|p| !(p.reader == at.reader && p.antenna == at.antenna));
                t.placements.push(at);
            }
        }
    }

    /// Moves tags: out of every field, then at this antenna.
    pub fn move_to(&mut self, tags: &[usize], at: Placement) {
        self.remove(tags);
        self.place(tags, at);
    }

    /// Starts a gate pass for `tags` now.
    #[allow(clippy::too_many_arguments)]
    pub fn gate_pass(
        &mut self,
        tags: &[usize],
        reader: usize,
        antennas: Vec<u8>,
        now: Duration,
        duration: Duration,
        closest_m: f32,
        spacing_m: f32,
    ) {
        let range = self.readers.get(reader).map_or(3.0, |r| r.range_m);
        for &i in tags {
            if let Some(t) = self.tags.get_mut(i) {
                t.motion = Some(Motion::Gate {
                    reader,
                    antennas: antennas.clone(),
                    start: now,
                    end: now + duration,
                    closest_m,
                    spacing_m,
                    half_path_m: range * 1.2 + spacing_m * antennas.len() as f32 / 2.0,
                });
                self.moving.push(i);
            }
        }
    }

    /// Starts a handheld sweep along a shelf holding `tags`, now.
    #[allow(clippy::too_many_arguments)]
    pub fn sweep(
        &mut self,
        tags: &[usize],
        reader: usize,
        antenna: u8,
        now: Duration,
        shelf_m: f32,
        speed_mps: f32,
        lateral_m: f32,
    ) {
        let range = self.readers.get(reader).map_or(2.0, |r| r.range_m);
        let n = tags.len().max(1) as f32;
        let walk = shelf_m + 2.0 * range;
        let end = now + Duration::from_secs_f32(walk / speed_mps.max(0.01));
        for (k, &i) in tags.iter().enumerate() {
            if let Some(t) = self.tags.get_mut(i) {
                t.motion = Some(Motion::Sweep {
                    reader,
                    antenna,
                    start: now,
                    end,
                    x_m: shelf_m * (k as f32 + 0.5) / n,
                    x0_m: -range,
                    speed_mps,
                    lateral_m,
                });
                self.moving.push(i);
            }
        }
    }

    /// Applies timeline events due by `now` and ends finished motions.
    pub fn advance(&mut self, now: Duration) {
        while let Some(ev) = self.events.get(self.next_event) {
            if ev.at > now {
                break;
            }
            let ev = ev.clone();
            self.next_event += 1;
            match ev.action {
                FieldAction::Gate {
                    reader,
                    antennas,
                    duration,
                    closest_m,
                    spacing_m,
                } => self.gate_pass(
                    &ev.tags, reader, antennas, ev.at, duration, closest_m, spacing_m,
                ),
                FieldAction::Sweep {
                    reader,
                    antenna,
                    shelf_m,
                    speed_mps,
                    lateral_m,
                } => self.sweep(
                    &ev.tags, reader, antenna, ev.at, shelf_m, speed_mps, lateral_m,
                ),
                FieldAction::Remove => self.remove(&ev.tags),
                FieldAction::Add(p) => self.place(&ev.tags, p),
                FieldAction::Move(p) => self.move_to(&ev.tags, p),
            }
        }
        if self.moving.is_empty() {
            return;
        }
        let tags = &mut self.tags;
        self.moving.retain(|&i| {
            let Some(t) = tags.get_mut(i) else {
                return false;
            };
            match &t.motion {
                Some(m) if m.end() <= now => {
                    if let Motion::Gate { reader, .. } = m {
                        // Through the gate and gone from that reader's field.
                        let r = *reader;
                        t.placements.retain(|p| p.reader != r);
                    }
                    t.motion = None;
                    false
                }
                Some(_) => true,
                None => false,
            }
        });
    }

    /// Read probability at distance `d` for a reader of `range_m` at `power_dbm`.
    pub fn read_probability(&self, range_m: f32, power_dbm: f32, d: f32) -> f32 {
        let range = range_m * 10f32.powf((power_dbm - 30.0) / 20.0);
        let edge = (self.physics.edge_fraction * range).max(1e-3);
        let p = ((range - d) / edge).clamp(0.0, 1.0);
        p * self.physics.p_max
    }

    fn rssi(&self, power_dbm: f32, d: f32, rng: &mut ChaCha8Rng) -> f32 {
        let ph = &self.physics;
        let base = ph.rssi_at_1m_dbm + (power_dbm - 30.0)
            - 10.0 * ph.path_loss_exponent * d.max(0.05).log10();
        // Sum of uniforms ≈ normal, cheap and reproducible.
        let jitter = if ph.rssi_jitter_db > 0.0 {
            let u: f32 = (0..4).map(|_| rng.gen_range(-1.0f32..1.0)).sum();
            u * ph.rssi_jitter_db * 0.866
        } else {
            0.0
        };
        (base + jitter).clamp(-99.0, -20.0)
    }

    /// One inventory round on one antenna: which tags answer, with repeats.
    #[allow(clippy::too_many_arguments)]
    pub fn inventory_round(
        &mut self,
        reader: usize,
        antenna: u8,
        power_dbm: f32,
        session: u8,
        target: Target,
        max_tags: usize,
        now: Duration,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Read>,
    ) {
        self.advance(now);
        let Some(range_m) = self.readers.get(reader).map(|r| r.range_m) else {
            return;
        };
        let s1 = Duration::from_millis(u64::from(self.physics.s1_persistence_ms));
        let s23 = Duration::from_millis(u64::from(self.physics.s23_persistence_ms));
        let session = session & 3;
        let mut candidates: Vec<(usize, f32)> = Vec::new();
        for (i, t) in self.tags.iter_mut().enumerate() {
            if t.memory.killed {
                continue;
            }
            let Some(d) = t.distance(reader, antenna, now) else {
                continue;
            };
            let p_energised = {
                let range = range_m * 10f32.powf((power_dbm - 30.0) / 20.0);
                d < range
            };
            // S2/S3 flags persist while the tag is energised.
            if session >= 2 && p_energised && t.flag_is_b(session, now) {
                t.flags[usize::from(session)].b_until = Some(now + s23);
            }
            let is_b = t.flag_is_b(session, now);
            let wanted = match target {
                Target::A => !is_b,
                Target::B => is_b,
            };
            if wanted {
                candidates.push((i, d));
            }
        }
        candidates.shuffle(rng);
        let mut read = 0usize;
        for (i, d) in candidates {
            if read >= max_tags {
                break;
            }
            let p = self.read_probability(range_m, power_dbm, d);
            if p <= 0.0 || !rng.gen_bool(f64::from(p.min(1.0))) {
                continue;
            }
            read += 1;
            let rssi = self.rssi(power_dbm, d, rng);
            let tag = &mut self.tags[i];
            let epc = tag.memory.epc();
            let pc = tag.memory.pc();
            let flag = &mut tag.flags[usize::from(session)];
            match (session, target) {
                (0, _) => {}
                (1, Target::A) => flag.b_until = Some(now + s1),
                (_, Target::A) => flag.b_until = Some(now + s23),
                (_, Target::B) => flag.b_until = None,
            }
            out.push(Read {
                tag: i,
                antenna,
                pc,
                epc,
                rssi_dbm: rssi,
            });
            let rp = f64::from(self.physics.repeat_probability.clamp(0.0, 0.95));
            while rp > 0.0 && rng.gen_bool(rp) {
                let rssi = self.rssi(power_dbm, d, rng);
                out.push(Read {
                    tag: i,
                    antenna,
                    pc,
                    epc,
                    rssi_dbm: rssi,
                });
            }
        }
    }

    /// Tags that would answer an access (strong enough, matching `select`).
    pub fn answering(
        &mut self,
        reader: usize,
        antenna: u8,
        power_dbm: f32,
        select: Option<&Select>,
        now: Duration,
    ) -> Vec<usize> {
        self.advance(now);
        let Some(range_m) = self.readers.get(reader).map(|r| r.range_m) else {
            return Vec::new();
        };
        (0..self.tags.len())
            .filter(|&i| {
                let t = &self.tags[i];
                !t.memory.killed
                    && t.distance(reader, antenna, now)
                        .is_some_and(|d| self.read_probability(range_m, power_dbm, d) >= 0.5)
                    && select.is_none_or(|s| t.memory.matches(s))
            })
            .collect()
    }

    /// The single tag an access (write, lock, kill) goes to, or why none.
    pub fn single_answering(
        &mut self,
        reader: usize,
        antenna: u8,
        power_dbm: f32,
        select: Option<&Select>,
        now: Duration,
    ) -> Result<usize, AccessError> {
        let list = self.answering(reader, antenna, power_dbm, select, now);
        match list.as_slice() {
            [] => Err(AccessError::NoTag),
            [one] => Ok(*one),
            _ => Err(AccessError::MultipleTags),
        }
    }

    /// A tag's current place and memory for tests.
    pub fn placements(&self, tag: usize) -> Vec<Placement> {
        self.tags
            .get(tag)
            .map(|t| t.placements.clone())
            .unwrap_or_default()
    }
}

/// EPCs and TIDs of a population, generated reproducibly.
fn population_epcs(
    p: &Population,
    rng: &mut ChaCha8Rng,
    seed: u64,
) -> Result<Vec<(EpcBytes, Vec<u8>)>, FieldError> {
    let err = |detail: String| FieldError::Population {
        population: p.name.clone(),
        detail,
    };
    // TIDs: Impinj-like class E280 1105, then a 48-bit serial unique per
    // tag (population hash + index), so every tag has a distinct TID.
    let pop_hash = {
        let mut h: u32 = 0x811c_9dc5;
        for b in p.name.bytes().chain(seed.to_be_bytes()) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    };
    let tid = |i: usize| -> Vec<u8> {
        let mut t = vec![0xE2, 0x80, 0x11, 0x05, 0x20, 0x00];
        t.extend_from_slice(&((pop_hash & 0xFFFF) as u16).to_be_bytes());
        t.extend_from_slice(&(i as u32).to_be_bytes());
        t
    };
    let mut out = Vec::new();
    match &p.kind {
        TagKind::Giai96 {
            company_prefix,
            first_serial,
            filter,
            count,
        } => {
            for i in 0..*count {
                let serial = first_serial + i as u64;
                let epc = shared::epc::encode_giai96(*filter, company_prefix, &serial.to_string())
                    .map_err(|e| err(format!("GIAI-96 serial {serial}: {e}")))?;
                out.push((*epc.epc_bytes(), tid(i)));
            }
        }
        TagKind::Explicit { epcs } => {
            for (i, hex) in epcs.iter().enumerate() {
                let epc = EpcBytes::from_hex(hex).map_err(|e| err(format!("EPC {hex:?}: {e}")))?;
                out.push((epc, tid(i)));
            }
        }
        TagKind::Foreign { count, scheme } => {
            for i in 0..*count {
                let sgtin = match scheme {
                    ForeignScheme::Sgtin96 => true,
                    ForeignScheme::Raw => false,
                    ForeignScheme::Mixed => i % 2 == 0,
                };
                let bytes: Vec<u8> = if sgtin {
                    // GS1 TDS example SGTIN-96 with the serial varied.
                    let mut b = [0x30, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0, 0, 0, 0];
                    let serial: u64 = rng.gen_range(1..(1u64 << 38));
                    let tail = (u64::from(b[7] & 0xC0) << 32) | serial;
                    b[7] = ((tail >> 32) & 0xFF) as u8;
                    b[8..12].copy_from_slice(&(tail as u32).to_be_bytes());
                    b.to_vec()
                } else {
                    let len = if rng.gen_bool(0.5) { 12 } else { 16 };
                    let mut b: Vec<u8> = (0..len).map(|_| rng.gen::<u8>()).collect();
                    // A header byte no GS1 scheme uses.
                    b[0] = 0xE2;
                    b
                };
                let epc = EpcBytes::new(&bytes).map_err(|e| err(e.to_string()))?;
                out.push((epc, tid(i)));
            }
        }
        TagKind::Blank { count } => {
            for i in 0..*count {
                let t = tid(i);
                // Factory EPC: the TID's 96 bits, as many tags ship.
                let epc = EpcBytes::new(&t).map_err(|e| err(e.to_string()))?;
                out.push((epc, t));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ProtocolKind, Scenario};
    use rand::SeedableRng;

    fn field(tags: usize) -> Field {
        let s = Scenario::quick(ProtocolKind::R2000, "/tmp/x", tags);
        Field::from_scenario(&s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn session_one_hides_tags_already_read() {
        let mut f = field(50);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Vec::new();
        let t0 = Duration::from_secs(1);
        f.inventory_round(0, 1, 30.0, 1, Target::A, 1000, t0, &mut rng, &mut out);
        let first: std::collections::BTreeSet<usize> = out.iter().map(|r| r.tag).collect();
        assert!(first.len() > 40, "{}", first.len());
        out.clear();
        f.inventory_round(
            0,
            1,
            30.0,
            1,
            Target::A,
            1000,
            t0 + Duration::from_millis(50),
            &mut rng,
            &mut out,
        );
        assert!(out.iter().all(|r| !first.contains(&r.tag)));
        out.clear();
        // After the persistence time, all flags are back to A.
        f.inventory_round(
            0,
            1,
            30.0,
            1,
            Target::A,
            1000,
            t0 + Duration::from_secs(5),
            &mut rng,
            &mut out,
        );
        assert!(out.len() > 40);
    }

    #[test]
    fn commissioning_write_changes_the_epc_and_crc() -> Result<(), AccessError> {
        let mut m = TagMemory::new(&[0xE2; 12], vec![0xE2, 0x80], 8, 128);
        let new = [0x34u8, 0x14, 0x25, 0x7B, 0xF4, 0, 0, 0, 0, 0, 0x04, 0x57];
        m.write(Bank::Epc, 2, &new, 0)?;
        assert_eq!(m.epc().as_slice(), &new);
        assert_eq!(m.stored_crc(), stored_crc(PcWord(m.pc()), &new));
        m.access_password = 0x1234_5678;
        m.lock(&[(LockTarget::Epc, LockAction::Lock)], 0x1234_5678)?;
        assert_eq!(
            m.write(Bank::Epc, 2, &[0; 2], 0),
            Err(AccessError::MemoryLocked)
        );
        m.write(Bank::Epc, 2, &[0x30, 0x00], 0x1234_5678)?;
        assert_eq!(
            m.write(Bank::Epc, 20, &[0; 2], 0x1234_5678),
            Err(AccessError::MemoryOverrun)
        );
        Ok(())
    }

    #[test]
    fn a_lock_without_access_password_does_not_hold() -> Result<(), AccessError> {
        let mut m = TagMemory::new(&[0x30; 12], vec![0xE2, 0x80], 8, 128);
        m.lock(&[(LockTarget::User, LockAction::Lock)], 0)?;
        m.write(Bank::User, 0, &[1, 2], 0)?;
        m.lock(&[(LockTarget::User, LockAction::PermaLock)], 0)?;
        assert_eq!(
            m.write(Bank::User, 0, &[1, 2], 0),
            Err(AccessError::MemoryLocked)
        );
        assert_eq!(
            m.lock(&[(LockTarget::User, LockAction::Open)], 0),
            Err(AccessError::MemoryLocked)
        );
        Ok(())
    }

    #[test]
    fn gate_pass_comes_and_goes() {
        let mut f = field(3);
        let all = [0usize, 1, 2];
        f.remove(&all);
        f.gate_pass(
            &all,
            0,
            vec![1],
            Duration::from_secs(1),
            Duration::from_secs(2),
            0.1,
            0.5,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = |t: u64, f: &mut Field| {
            let mut out = Vec::new();
            f.inventory_round(
                0,
                1,
                30.0,
                0,
                Target::A,
                100,
                Duration::from_millis(t),
                &mut rng,
                &mut out,
            );
            out.len()
        };
        assert_eq!(seen(1000, &mut f), 0, "far away at the start");
        assert!(seen(2000, &mut f) > 0, "close in the middle");
        assert_eq!(seen(3500, &mut f), 0, "gone after");
    }
}
