//! Chainway (UR4-family fixed reader) wire protocol: a sans-IO codec for both
//! directions, host commands (daemon encodes, simulator decodes) and device
//! responses (simulator encodes, daemon decodes).
//!
//! Frame: `A5 5A | Len_hi Len_lo | Cmd | Payload | Check | 0D 0A`, where `Len`
//! is the whole frame (payload + 8) and `Check` the XOR of Len, Cmd and the
//! payload. `C8 8C` is accepted as a header on input; we always send `A5 5A`
//! like the vendor SDKs. Sources and open questions: `docs/protocols/chainway.md`.

use serde::Serialize;

use super::{Decoded, Direction, SkipReason};
pub use crate::epc::gen2::{lock_code, Bank, LockAction, LockTarget};
use crate::tag::EpcBytes;

/// The header the vendor SDKs send and every receiver accepts.
pub const HEADER: [u8; 2] = [0xA5, 0x5A];
/// The header the module-level protocol document uses; accepted on input.
pub const ALT_HEADER: [u8; 2] = [0xC8, 0x8C];
/// Every frame ends with CR LF.
pub const TRAILER: [u8; 2] = [0x0D, 0x0A];
/// Header, length, command, check and trailer: a frame with no payload.
pub const MIN_FRAME_LEN: usize = 8;
/// The SDKs' receivers drop anything longer (the native library allows 4096,
/// but a frame that only some hosts accept is no frame to send).
pub const MAX_FRAME_LEN: usize = 2048;
/// Largest payload that fits in [`MAX_FRAME_LEN`].
pub const MAX_PAYLOAD_LEN: usize = MAX_FRAME_LEN - MIN_FRAME_LEN;
/// What hosts send between frames during an inventory to keep the link up.
pub const KEEPALIVE: u8 = 0x00;
/// Bytes of TID the reader appends in EPC+TID modes (and with FastID).
pub const TID_LEN: usize = 12;

/// Command codes. A response's code is its request's + 1.
pub mod code {
    pub const GET_VERSION: u8 = 0x02;
    pub const VERSION: u8 = 0x03;
    pub const SET_POWER: u8 = 0x10;
    pub const SET_POWER_ACK: u8 = 0x11;
    pub const GET_POWER: u8 = 0x12;
    pub const POWER: u8 = 0x13;
    pub const SINGLE_INVENTORY: u8 = 0x80;
    pub const SINGLE_TAG: u8 = 0x81;
    pub const START_INVENTORY: u8 = 0x82;
    pub const TAG: u8 = 0x83;
    pub const READ: u8 = 0x84;
    pub const READ_RESULT: u8 = 0x85;
    pub const WRITE: u8 = 0x86;
    pub const WRITE_RESULT: u8 = 0x87;
    pub const LOCK: u8 = 0x88;
    pub const LOCK_RESULT: u8 = 0x89;
    pub const STOP_INVENTORY: u8 = 0x8C;
    pub const STOP_ACK: u8 = 0x8D;
}

/// The payload both SDKs send with single inventory (the protocol document
/// calls the two bytes reserved and shows `00 00`).
pub const SINGLE_INVENTORY_PARAM: u16 = 0x0064;

// ---------------------------------------------------------------------------
// Frame layer
// ---------------------------------------------------------------------------

/// A checked frame borrowed from the input buffer: command and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    pub cmd: u8,
    pub payload: &'a [u8],
}

/// XOR of a byte run, eight bytes at a time: the checksum sits on the hot
/// path of every tag report.
#[inline]
fn xor_bytes(bytes: &[u8]) -> u8 {
    let mut chunks = bytes.chunks_exact(8);
    let mut wide = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        wide ^= u64::from_ne_bytes(w);
    }
    let folded = wide.to_ne_bytes().iter().fold(0u8, |a, b| a ^ b);
    chunks.remainder().iter().fold(folded, |a, b| a ^ b)
}

#[inline]
fn second_header_byte(first: u8) -> Option<u8> {
    match first {
        0xA5 => Some(0x5A),
        0xC8 => Some(0x8C),
        _ => None,
    }
}

/// Index of the first byte that may start a frame: a full header, or a
/// header's first byte as the buffer's last byte (its partner may follow).
#[inline]
fn find_header(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if let Some(second) = second_header_byte(buf[i]) {
            match buf.get(i + 1) {
                None => return Some(i),
                Some(&b) if b == second => return Some(i),
                Some(_) => {}
            }
        }
        i += 1;
    }
    None
}

/// Finds, checks and splits the frame at the front of `buf`.
///
/// Skips noise up to the next possible header in one step. A header whose
/// length, trailer or checksum is wrong costs only its first byte, so a good
/// frame that starts inside the bad one is still found on the next call.
#[inline]
pub fn decode_raw(buf: &[u8]) -> Decoded<RawFrame<'_>> {
    // In a clean stream every call starts on a header: test that first and
    // scan only when it fails.
    let at_header = matches!(buf, [0xA5, 0x5A, ..] | [0xC8, 0x8C, ..]);
    match if at_header { Some(0) } else { find_header(buf) } {
        Some(0) => {}
        Some(i) => {
            return Decoded::Skip {
                bytes: i,
                reason: SkipReason::NoHeader,
            }
        }
        None if buf.is_empty() => return Decoded::NeedMore,
        None => {
            return Decoded::Skip {
                bytes: buf.len(),
                reason: SkipReason::NoHeader,
            }
        }
    }
    if buf.len() < 4 {
        return Decoded::NeedMore;
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&len) {
        return Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadLength { len },
        };
    }
    let Some(frame) = buf.get(..len) else {
        return Decoded::NeedMore;
    };
    if frame[len - 2..] != TRAILER {
        return Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadTrailer,
        };
    }
    let found = frame[len - 3];
    let expected = xor_bytes(&frame[2..len - 3]);
    if found != expected {
        return Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadChecksum { expected, found },
        };
    }
    Decoded::Frame {
        frame: RawFrame {
            cmd: frame[4],
            payload: &frame[5..len - 3],
        },
        consumed: len,
    }
}

/// Appends one frame with the `A5 5A` header.
///
/// The length field is 16 bits and receivers accept at most
/// [`MAX_FRAME_LEN`]; a longer payload still produces a frame (so a caller's
/// mistake shows up as the receiver's clear `BadLength`, not as silently
/// truncated data), with its length field saturated.
pub fn encode_raw(frame: &RawFrame<'_>, out: &mut Vec<u8>) {
    let start = begin_frame(frame.cmd, out);
    out.extend_from_slice(frame.payload);
    finish_frame(start, out);
}

/// Writes header, a length placeholder and the command; returns where the
/// frame starts so [`finish_frame`] can patch the length and checksum.
#[inline]
fn begin_frame(cmd: u8, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[HEADER[0], HEADER[1], 0, 0, cmd]);
    start
}

#[inline]
fn finish_frame(start: usize, out: &mut Vec<u8>) {
    let len = out.len() - start + 3;
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    out[start + 2] = len[0];
    out[start + 3] = len[1];
    let check = xor_bytes(&out[start + 2..]);
    out.extend_from_slice(&[check, TRAILER[0], TRAILER[1]]);
}

// ---------------------------------------------------------------------------
// Shared field types
// ---------------------------------------------------------------------------

/// Which tag a read/write/lock addresses: the tags whose `bank` holds `data`
/// at `bit_address` for `bit_length` bits. `bit_length == 0` means "any tag"
/// (the reader picks one); the SDKs then send bank EPC, address 0, no data.
///
/// `data` holds `ceil(bit_length / 8)` bytes; the encoder writes exactly that
/// many (zero-padded or cut), so the length field and the data always agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagFilter {
    pub bank: Bank,
    pub bit_address: u16,
    pub bit_length: u16,
    #[serde(serialize_with = "crate::hex::serialize")]
    pub data: Vec<u8>,
}

impl TagFilter {
    /// No selection: whatever tag answers first.
    pub fn any() -> Self {
        Self {
            bank: Bank::Epc,
            bit_address: 0,
            bit_length: 0,
            data: Vec::new(),
        }
    }

    /// Selects the tag whose EPC bank holds `epc` right after the PC word
    /// (EPC bank bit 0x20) — how commissioning addresses one tag.
    pub fn epc(epc: &[u8]) -> Self {
        Self {
            bank: Bank::Epc,
            bit_address: 0x20,
            bit_length: u16::try_from(epc.len() * 8).unwrap_or(u16::MAX),
            data: epc.to_vec(),
        }
    }

    fn data_len(&self) -> usize {
        usize::from(self.bit_length).div_ceil(8)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.bank as u8);
        out.extend_from_slice(&self.bit_address.to_be_bytes());
        out.extend_from_slice(&self.bit_length.to_be_bytes());
        let n = self.data_len();
        let have = self.data.len().min(n);
        out.extend_from_slice(&self.data[..have]);
        out.resize(out.len() + (n - have), 0);
    }
}

/// The two payload bytes of start inventory: what each 0x83 record carries
/// besides EPC, RSSI and antenna.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum InventoryReport {
    /// `00 00`: the plain record.
    Normal,
    /// `FF FF`: a 2-byte phase before RSSI.
    Phase,
    /// `FF FE`: a 3-byte frequency (kHz) before RSSI.
    Frequency,
    /// `FF FD`: phase then frequency before RSSI.
    PhaseAndFrequency,
    /// Any other value (a third-party client sends `27 10`); never one of the
    /// four above, which decode to their own variants.
    Other(u16),
}

impl InventoryReport {
    pub fn from_u16(v: u16) -> Self {
        match v {
            0x0000 => Self::Normal,
            0xFFFF => Self::Phase,
            0xFFFE => Self::Frequency,
            0xFFFD => Self::PhaseAndFrequency,
            other => Self::Other(other),
        }
    }

    pub fn to_u16(self) -> u16 {
        match self {
            Self::Normal => 0x0000,
            Self::Phase => 0xFFFF,
            Self::Frequency => 0xFFFE,
            Self::PhaseAndFrequency => 0xFFFD,
            Self::Other(v) => v,
        }
    }

    /// The record layout the reader streams after this start command; pass
    /// it to [`decode_response_with`]. Unknown values are read as normal.
    pub fn layout(self) -> RecordLayout {
        match self {
            Self::Phase => RecordLayout {
                phase: true,
                frequency: false,
            },
            Self::Frequency => RecordLayout {
                phase: false,
                frequency: true,
            },
            Self::PhaseAndFrequency => RecordLayout {
                phase: true,
                frequency: true,
            },
            Self::Normal | Self::Other(_) => RecordLayout::default(),
        }
    }
}

/// Optional blocks a tag record carries between EPC/TID/USER and RSSI. They
/// cannot be told apart by length, so the decoder must be told (the daemon
/// knows: it sent the start command). TID and USER memory are found by length
/// as the vendor SDKs do: 12 more bytes = TID, more than that = TID + USER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RecordLayout {
    pub phase: bool,
    pub frequency: bool,
}

impl RecordLayout {
    fn tail_len(self) -> usize {
        3 + if self.phase { 2 } else { 0 } + if self.frequency { 3 } else { 0 }
    }
}

/// A tag's TID as the reader reports it: always 12 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tid(pub [u8; TID_LEN]);

impl std::fmt::Debug for Tid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tid({})", crate::hex::Hex(&self.0))
    }
}

impl Serialize for Tid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::hex::serialize(&self.0, s)
    }
}

fn serialize_opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(bytes) => crate::hex::serialize(bytes, s),
        None => s.serialize_none(),
    }
}

/// One tag sighting (0x81 single inventory, 0x83 stream):
/// `PC(2) | EPC | [TID(12) [USER]] | [phase(2)] | [freq(3)] | RSSI(2) | Ant(1)`.
///
/// Without TID, USER, phase or frequency it holds no heap data, so the
/// inventory hot path never allocates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRecord {
    /// Gen2 protocol-control word; bits 15..11 give the EPC length in words.
    pub pc: u16,
    pub epc: EpcBytes,
    /// Signal strength in tenths of dBm (`FD D8` → −552 = −55.2 dBm).
    pub rssi_deci_dbm: i16,
    /// 1-based antenna port.
    pub antenna: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<Tid>,
    /// USER memory read along with the TID (modes "EPC+TID+USER"). Only
    /// carried when `tid` is present; never `Some` of nothing.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_hex"
    )]
    pub user: Option<Vec<u8>>,
    /// Raw 16-bit phase (phase reporting modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<u16>,
    /// Channel in kHz, 24 bits on the wire (frequency reporting modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_khz: Option<u32>,
}

impl TagRecord {
    /// A plain record (no TID/USER/phase/frequency) with the PC word's length
    /// bits set from the EPC.
    pub fn new(epc: EpcBytes, rssi_deci_dbm: i16, antenna: u8) -> Self {
        // EpcBytes holds at most 62 bytes = 31 words, which fits 5 bits.
        let words = (epc.len() / 2) as u16;
        Self {
            pc: words << 11,
            epc,
            rssi_deci_dbm,
            antenna,
            tid: None,
            user: None,
            phase: None,
            frequency_khz: None,
        }
    }

    /// The layout this record is encoded with (what the decoder must be told).
    pub fn layout(&self) -> RecordLayout {
        RecordLayout {
            phase: self.phase.is_some(),
            frequency: self.frequency_khz.is_some(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pc.to_be_bytes());
        out.extend_from_slice(self.epc.as_slice());
        if let Some(tid) = &self.tid {
            out.extend_from_slice(&tid.0);
            if let Some(user) = &self.user {
                out.extend_from_slice(user);
            }
        }
        if let Some(phase) = self.phase {
            out.extend_from_slice(&phase.to_be_bytes());
        }
        if let Some(f) = self.frequency_khz {
            out.extend_from_slice(&f.to_be_bytes()[1..]);
        }
        out.extend_from_slice(&self.rssi_deci_dbm.to_be_bytes());
        out.push(self.antenna);
    }

    #[inline]
    fn decode(rec: &[u8], layout: RecordLayout) -> Result<Self, &'static str> {
        let [pc_hi, pc_lo, rest @ ..] = rec else {
            return Err("tag record shorter than its PC word");
        };
        let pc = u16::from_be_bytes([*pc_hi, *pc_lo]);
        let epc_len = usize::from(pc >> 11) * 2;
        let tail_len = layout.tail_len();
        if rest.len() < epc_len + tail_len {
            return Err("tag record shorter than the PC word's EPC length plus RSSI and antenna");
        }
        let (epc, rest) = rest.split_at(epc_len);
        let (middle, tail) = rest.split_at(rest.len() - tail_len);
        let (tid, user) = match middle.len() {
            0 => (None, None),
            n if n < TID_LEN => {
                return Err("bytes between EPC and RSSI fit neither TID nor TID+USER")
            }
            _ => {
                let (tid, user) = middle.split_at(TID_LEN);
                let mut t = [0u8; TID_LEN];
                t.copy_from_slice(tid);
                (Some(Tid(t)), (!user.is_empty()).then(|| user.to_vec()))
            }
        };
        let mut tail = tail;
        let phase = if layout.phase {
            let (p, rest) = tail.split_at(2);
            tail = rest;
            Some(u16::from_be_bytes([p[0], p[1]]))
        } else {
            None
        };
        let frequency_khz = if layout.frequency {
            let (f, rest) = tail.split_at(3);
            tail = rest;
            Some(u32::from_be_bytes([0, f[0], f[1], f[2]]))
        } else {
            None
        };
        let [r_hi, r_lo, antenna] = tail else {
            return Err("tag record tail is not RSSI(2) + antenna(1)");
        };
        Ok(Self {
            pc,
            // Cannot fail: epc_len is at most 31 words = MAX_EPC_BYTES.
            epc: EpcBytes::new(epc).map_err(|_| "EPC longer than a PC word allows")?,
            rssi_deci_dbm: i16::from_be_bytes([*r_hi, *r_lo]),
            antenna: *antenna,
            tid,
            user,
            phase,
            frequency_khz,
        })
    }
}

/// Transmit power of one antenna port (0x13 response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AntennaPower {
    /// 1-based antenna port.
    pub antenna: u8,
    pub read_centi_dbm: u16,
    pub write_centi_dbm: u16,
}

// ---------------------------------------------------------------------------
// Commands (host → reader)
// ---------------------------------------------------------------------------

/// A host command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Command {
    /// 0x02.
    GetVersion,
    /// 0x10 `status antenna read(2) write(2)`; `save` is status bit 1 (`02`
    /// stores the power across power cycles, `00` until power-off).
    SetPower {
        save: bool,
        antenna: u8,
        read_centi_dbm: u16,
        write_centi_dbm: u16,
    },
    /// 0x12.
    GetPower,
    /// 0x80 with two reserved bytes (SDKs: [`SINGLE_INVENTORY_PARAM`]).
    SingleInventory { param: u16 },
    /// 0x82; no acknowledgement, 0x83 records stream until stop.
    StartInventory { report: InventoryReport },
    /// 0x8C.
    StopInventory,
    /// 0x84 `password(4) filter bank addr(2) words(2)`: read `word_count`
    /// words from `bank` at `word_address` of the tag `filter` selects.
    Read {
        password: u32,
        filter: TagFilter,
        bank: Bank,
        word_address: u16,
        word_count: u16,
    },
    /// 0x86 `password(4) filter bank addr(2) words(2) data(words*2)`. `data`
    /// is whole words; an odd trailing byte is padded with zero on encode.
    Write {
        password: u32,
        filter: TagFilter,
        bank: Bank,
        word_address: u16,
        #[serde(serialize_with = "crate::hex::serialize")]
        data: Vec<u8>,
    },
    /// 0x88 `password(4) filter lock_code(3)`; build the code with
    /// [`lock_code`]. Only the low 24 bits go on the wire.
    Lock {
        password: u32,
        filter: TagFilter,
        lock_code: u32,
    },
    /// Any command this codec does not model, kept byte-exact.
    Unknown {
        cmd: u8,
        #[serde(serialize_with = "crate::hex::serialize")]
        payload: Vec<u8>,
    },
}

impl Command {
    /// The command code this command is sent with.
    pub fn code(&self) -> u8 {
        match self {
            Command::GetVersion => code::GET_VERSION,
            Command::SetPower { .. } => code::SET_POWER,
            Command::GetPower => code::GET_POWER,
            Command::SingleInventory { .. } => code::SINGLE_INVENTORY,
            Command::StartInventory { .. } => code::START_INVENTORY,
            Command::StopInventory => code::STOP_INVENTORY,
            Command::Read { .. } => code::READ,
            Command::Write { .. } => code::WRITE,
            Command::Lock { .. } => code::LOCK,
            Command::Unknown { cmd, .. } => *cmd,
        }
    }
}

/// Appends the frame for `cmd`. A payload over [`MAX_PAYLOAD_LEN`] (only
/// possible with huge `Write`/`Unknown` data) gives a frame receivers reject.
pub fn encode_command(cmd: &Command, out: &mut Vec<u8>) {
    let start = begin_frame(cmd.code(), out);
    match cmd {
        Command::GetVersion | Command::GetPower | Command::StopInventory => {}
        Command::SetPower {
            save,
            antenna,
            read_centi_dbm,
            write_centi_dbm,
        } => {
            out.push(if *save { 0x02 } else { 0x00 });
            out.push(*antenna);
            out.extend_from_slice(&read_centi_dbm.to_be_bytes());
            out.extend_from_slice(&write_centi_dbm.to_be_bytes());
        }
        Command::SingleInventory { param } => out.extend_from_slice(&param.to_be_bytes()),
        Command::StartInventory { report } => out.extend_from_slice(&report.to_u16().to_be_bytes()),
        Command::Read {
            password,
            filter,
            bank,
            word_address,
            word_count,
        } => {
            out.extend_from_slice(&password.to_be_bytes());
            filter.encode(out);
            out.push(*bank as u8);
            out.extend_from_slice(&word_address.to_be_bytes());
            out.extend_from_slice(&word_count.to_be_bytes());
        }
        Command::Write {
            password,
            filter,
            bank,
            word_address,
            data,
        } => {
            out.extend_from_slice(&password.to_be_bytes());
            filter.encode(out);
            out.push(*bank as u8);
            out.extend_from_slice(&word_address.to_be_bytes());
            let words = u16::try_from(data.len().div_ceil(2)).unwrap_or(u16::MAX);
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
        }
        Command::Lock {
            password,
            filter,
            lock_code,
        } => {
            out.extend_from_slice(&password.to_be_bytes());
            filter.encode(out);
            out.extend_from_slice(&lock_code.to_be_bytes()[1..]);
        }
        Command::Unknown { payload, .. } => out.extend_from_slice(payload),
    }
    finish_frame(start, out);
}

/// A cursor over a payload that fails with a fixed message when short.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("payload shorter than the command's layout");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bank(&mut self) -> Result<Bank, &'static str> {
        Bank::from_u8(self.u8()?).ok_or("memory bank is not 0..=3")
    }
    fn filter(&mut self) -> Result<TagFilter, &'static str> {
        let bank = self.bank()?;
        let bit_address = self.u16()?;
        let bit_length = self.u16()?;
        let data = self.take(usize::from(bit_length).div_ceil(8))?.to_vec();
        Ok(TagFilter {
            bank,
            bit_address,
            bit_length,
            data,
        })
    }
    fn end(&self) -> Result<(), &'static str> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("payload longer than the command's layout")
        }
    }
}

fn parse_command(raw: RawFrame<'_>) -> Result<Command, &'static str> {
    let mut r = Reader(raw.payload);
    let cmd = match raw.cmd {
        code::GET_VERSION => Command::GetVersion,
        code::GET_POWER => Command::GetPower,
        code::STOP_INVENTORY => Command::StopInventory,
        code::SET_POWER => {
            // Only bit 1 carries meaning (the save flag); hosts differ on the
            // other bits, so we read the flag rather than reject them.
            let status = r.u8()?;
            Command::SetPower {
                save: status & 0x02 != 0,
                antenna: r.u8()?,
                read_centi_dbm: r.u16()?,
                write_centi_dbm: r.u16()?,
            }
        }
        code::SINGLE_INVENTORY => Command::SingleInventory { param: r.u16()? },
        code::START_INVENTORY => Command::StartInventory {
            report: InventoryReport::from_u16(r.u16()?),
        },
        code::READ => Command::Read {
            password: r.u32()?,
            filter: r.filter()?,
            bank: r.bank()?,
            word_address: r.u16()?,
            word_count: r.u16()?,
        },
        code::WRITE => {
            let password = r.u32()?;
            let filter = r.filter()?;
            let bank = r.bank()?;
            let word_address = r.u16()?;
            let words = r.u16()?;
            let data = r.take(usize::from(words) * 2)?.to_vec();
            Command::Write {
                password,
                filter,
                bank,
                word_address,
                data,
            }
        }
        code::LOCK => {
            let password = r.u32()?;
            let filter = r.filter()?;
            let c = r.take(3)?;
            Command::Lock {
                password,
                filter,
                lock_code: u32::from_be_bytes([0, c[0], c[1], c[2]]),
            }
        }
        cmd => {
            return Ok(Command::Unknown {
                cmd,
                payload: raw.payload.to_vec(),
            })
        }
    };
    r.end()?;
    Ok(cmd)
}

/// Decodes the host command at the front of `buf` (the simulator's side).
pub fn decode_command(buf: &[u8]) -> Decoded<Command> {
    decode_raw(buf).and_then(|raw| {
        parse_command(raw).map_err(|detail| SkipReason::Malformed {
            cmd: raw.cmd,
            detail,
        })
    })
}

// ---------------------------------------------------------------------------
// Responses (reader → host)
// ---------------------------------------------------------------------------

/// What a failure reply says. No vendor source documents a general error
/// frame; these are the two shapes the SDKs and the protocol document show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviceError {
    /// A bare `00` payload: the reader does not support the command, or
    /// refuses the form sent.
    Unsupported,
    /// A tag operation's `status code` pair other than `01 00` (we send
    /// `00 code`): 0x01 the tag refused (locked, wrong password, unsupported),
    /// 0x22 no tag answered or the word window runs past the bank.
    Tag { code: u8 },
}

/// Meaning of a tag-operation error code, for logs and the CLI.
pub fn tag_error_meaning(code: u8) -> &'static str {
    match code {
        0x01 => "the tag refused the operation (memory locked, wrong password or unsupported)",
        0x22 => "no tag answered, or the word window runs past the end of the bank",
        _ => "undocumented error code",
    }
}

/// A device response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Response {
    /// 0x03 `major minor patch` (UHF module firmware; major 7 = E710).
    Version { major: u8, minor: u8, patch: u8 },
    /// 0x11: `01` accepted, anything else refused.
    SetPowerAck { ok: bool },
    /// 0x13 `00` then `antenna read(2) write(2)` per antenna.
    Power(Vec<AntennaPower>),
    /// 0x81: one record, or an empty payload when no tag answered.
    SingleTag(Option<TagRecord>),
    /// 0x83: one record per frame while an inventory runs.
    Tag(TagRecord),
    /// 0x8D: `01` stopped.
    StopAck { ok: bool },
    /// 0x85 `01 00 words(2) data(words*2)`.
    ReadResult {
        #[serde(serialize_with = "crate::hex::serialize")]
        data: Vec<u8>,
    },
    /// 0x87 `01 00`.
    WriteResult,
    /// 0x89 `01 00`.
    LockResult,
    /// A failure reply to the command whose response code is `cmd`.
    Error { cmd: u8, error: DeviceError },
    /// Any response this codec does not model, kept byte-exact.
    Unknown {
        cmd: u8,
        #[serde(serialize_with = "crate::hex::serialize")]
        payload: Vec<u8>,
    },
}

impl Response {
    /// The command code this response is sent with.
    pub fn code(&self) -> u8 {
        match self {
            Response::Version { .. } => code::VERSION,
            Response::SetPowerAck { .. } => code::SET_POWER_ACK,
            Response::Power(_) => code::POWER,
            Response::SingleTag(_) => code::SINGLE_TAG,
            Response::Tag(_) => code::TAG,
            Response::StopAck { .. } => code::STOP_ACK,
            Response::ReadResult { .. } => code::READ_RESULT,
            Response::WriteResult => code::WRITE_RESULT,
            Response::LockResult => code::LOCK_RESULT,
            Response::Error { cmd, .. } | Response::Unknown { cmd, .. } => *cmd,
        }
    }
}

/// Appends the frame for `r`. Records are written as they are: a PC word
/// that disagrees with the EPC length is sent as given (fault injection).
pub fn encode_response(r: &Response, out: &mut Vec<u8>) {
    let start = begin_frame(r.code(), out);
    match r {
        Response::Version {
            major,
            minor,
            patch,
        } => out.extend_from_slice(&[*major, *minor, *patch]),
        Response::SetPowerAck { ok } | Response::StopAck { ok } => out.push(u8::from(*ok)),
        Response::Power(antennas) => {
            out.push(0x00);
            for a in antennas {
                out.push(a.antenna);
                out.extend_from_slice(&a.read_centi_dbm.to_be_bytes());
                out.extend_from_slice(&a.write_centi_dbm.to_be_bytes());
            }
        }
        Response::SingleTag(None) => {}
        Response::SingleTag(Some(rec)) | Response::Tag(rec) => rec.encode(out),
        Response::ReadResult { data } => {
            out.extend_from_slice(&[0x01, 0x00]);
            let words = u16::try_from(data.len().div_ceil(2)).unwrap_or(u16::MAX);
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
        }
        Response::WriteResult | Response::LockResult => out.extend_from_slice(&[0x01, 0x00]),
        Response::Error { error, .. } => match error {
            DeviceError::Unsupported => out.push(0x00),
            DeviceError::Tag { code } => out.extend_from_slice(&[0x00, *code]),
        },
        Response::Unknown { payload, .. } => out.extend_from_slice(payload),
    }
    finish_frame(start, out);
}

/// What a tag-operation reply's status pair says.
enum TagOpStatus<'a> {
    /// `01 00`, then the operation's own data.
    Done(&'a [u8]),
    Failed(DeviceError),
}

fn tag_op_status(p: &[u8]) -> Result<TagOpStatus<'_>, &'static str> {
    match p {
        [0x01, 0x00, rest @ ..] => Ok(TagOpStatus::Done(rest)),
        [0x00] => Ok(TagOpStatus::Failed(DeviceError::Unsupported)),
        [_, code, ..] => Ok(TagOpStatus::Failed(DeviceError::Tag { code: *code })),
        _ => Err("tag operation reply shorter than its status pair"),
    }
}

#[inline]
fn parse_response(raw: RawFrame<'_>, layout: RecordLayout) -> Result<Response, &'static str> {
    let p = raw.payload;
    let unsupported = Response::Error {
        cmd: raw.cmd,
        error: DeviceError::Unsupported,
    };
    Ok(match raw.cmd {
        // First: the hot path.
        code::TAG => Response::Tag(TagRecord::decode(p, layout)?),
        code::VERSION => match p {
            [major, minor, patch] => Response::Version {
                major: *major,
                minor: *minor,
                patch: *patch,
            },
            [0x00] => unsupported,
            _ => return Err("version reply is not 3 bytes"),
        },
        code::SET_POWER_ACK => match p {
            [status] => Response::SetPowerAck {
                ok: *status == 0x01,
            },
            _ => return Err("set power reply is not 1 byte"),
        },
        code::STOP_ACK => match p {
            [status] => Response::StopAck {
                ok: *status == 0x01,
            },
            _ => return Err("stop reply is not 1 byte"),
        },
        code::POWER => match p {
            [0x00, records @ ..] if records.len() % 5 == 0 => Response::Power(
                records
                    .chunks_exact(5)
                    .map(|c| AntennaPower {
                        antenna: c[0],
                        read_centi_dbm: u16::from_be_bytes([c[1], c[2]]),
                        write_centi_dbm: u16::from_be_bytes([c[3], c[4]]),
                    })
                    .collect(),
            ),
            _ => return Err("power reply is not 00 then 5 bytes per antenna"),
        },
        code::SINGLE_TAG => match p {
            [] => Response::SingleTag(None),
            [0x00] => unsupported,
            // Single inventory always reports the plain layout.
            _ => Response::SingleTag(Some(TagRecord::decode(p, RecordLayout::default())?)),
        },
        code::READ_RESULT => match tag_op_status(p)? {
            TagOpStatus::Done(rest) => {
                let mut r = Reader(rest);
                let words = r.u16()?;
                let data = r.take(usize::from(words) * 2)?.to_vec();
                r.end()?;
                Response::ReadResult { data }
            }
            TagOpStatus::Failed(error) => Response::Error {
                cmd: raw.cmd,
                error,
            },
        },
        code::WRITE_RESULT | code::LOCK_RESULT => match tag_op_status(p)? {
            TagOpStatus::Done([]) if raw.cmd == code::WRITE_RESULT => Response::WriteResult,
            TagOpStatus::Done([]) => Response::LockResult,
            TagOpStatus::Done(_) => return Err("tag operation reply longer than its status pair"),
            TagOpStatus::Failed(error) => Response::Error {
                cmd: raw.cmd,
                error,
            },
        },
        cmd => Response::Unknown {
            cmd,
            payload: p.to_vec(),
        },
    })
}

/// Decodes the device response at the front of `buf` (the daemon's side),
/// reading 0x83 records in the plain layout (TID/USER found by length).
#[inline]
pub fn decode_response(buf: &[u8]) -> Decoded<Response> {
    decode_response_with(buf, RecordLayout::default())
}

/// Like [`decode_response`], for an inventory started with phase and/or
/// frequency reporting ([`InventoryReport::layout`]).
#[inline]
pub fn decode_response_with(buf: &[u8], layout: RecordLayout) -> Decoded<Response> {
    decode_raw(buf).and_then(|raw| {
        parse_response(raw, layout).map_err(|detail| SkipReason::Malformed {
            cmd: raw.cmd,
            detail,
        })
    })
}

/// A frame of either direction, for tools that print captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Frame {
    Command(Command),
    Response(Response),
}

/// Decodes one frame of the given direction (plain record layout).
pub fn decode(direction: Direction, buf: &[u8]) -> Decoded<Frame> {
    match direction {
        Direction::Command => decode_command(buf).map(Frame::Command),
        Direction::Response => decode_response(buf).map(Frame::Response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_the_worked_example() {
        // PROTOCOLS.md §2: XOR of 00 0E 10 02 01 0B B8 0B B8 = 0x1D.
        let body = [0x00, 0x0E, 0x10, 0x02, 0x01, 0x0B, 0xB8, 0x0B, 0xB8];
        assert_eq!(xor_bytes(&body), 0x1D);
        // The wide path must agree with a plain fold at every length.
        let long: Vec<u8> = (0u8..=40).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..long.len() {
            let plain = long[..n].iter().fold(0, |a, b| a ^ b);
            assert_eq!(xor_bytes(&long[..n]), plain, "length {n}");
        }
    }
}
