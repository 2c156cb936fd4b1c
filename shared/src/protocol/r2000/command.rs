//! Host → reader commands: what the daemon sends and the simulator decodes.
//!
//! Field values are kept as the wire has them (raw `u8` codes with named
//! constants) so that every checksum-valid frame of a known layout decodes,
//! even with parameter values a real reader would refuse with an error code:
//! refusing them is the simulator's job, not the codec's.

use super::{serialize_opt_password, FrequencyRegion};
use crate::tag::EpcBytes;
use serde::Serialize;

/// One command frame: reader address (0xFF broadcast) and the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandFrame {
    pub addr: u8,
    pub command: Command,
}

/// One antenna's turn in a fast-switch inventory (0x8A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AntennaStay {
    /// 0-based antenna; [`AntennaStay::DISABLED`] (or any value above 3 on
    /// 4-port readers) skips this slot.
    pub antenna: u8,
    /// Inventory rounds on this antenna before switching.
    pub stays: u8,
}

impl AntennaStay {
    /// What public host code sends for an unused slot.
    pub const DISABLED: u8 = 0xFF;
}

/// Every command of the protocol the product uses, with typed fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// 0x70 — reboot the reader (no reply on success).
    Reset,
    /// 0x71 — `code`: [`Command::BAUD_38400`] or [`Command::BAUD_115200`].
    SetBaudRate { code: u8 },
    /// 0x72 → [`super::Response::Firmware`].
    GetFirmwareVersion,
    /// 0x73 — new reader address 0x00–0xFE, saved in flash.
    SetAddress { address: u8 },
    /// 0x74 — 0-based antenna used by the next inventory/access.
    SetWorkAntenna { antenna: u8 },
    /// 0x75 → [`super::Response::WorkAntenna`].
    GetWorkAntenna,
    /// 0x76 — output power in dBm: one byte for all antennas, or one per
    /// antenna (4 or 8).
    SetOutputPower { dbm: Vec<u8> },
    /// 0x77 → [`super::Response::OutputPower`].
    GetOutputPower,
    /// 0x78.
    SetFrequencyRegion { region: FrequencyRegion },
    /// 0x79 → [`super::Response::FrequencyRegion`].
    GetFrequencyRegion,
    /// 0x7A — 0 quiet, 1 beep after each round, 2 beep per tag.
    SetBeeperMode { mode: u8 },
    /// 0x7B → [`super::Response::Temperature`].
    GetTemperature,
    /// 0x80 — inventory into the reader's buffer, `repeat` rounds (0xFF:
    /// the reader's default).
    BufferedInventory { repeat: u8 },
    /// 0x81 — read `word_count` words of `bank` from `word_addr`. The access
    /// password is optional on the wire (older firmware has none).
    Read {
        bank: u8,
        word_addr: u8,
        word_count: u8,
        #[serde(serialize_with = "serialize_opt_password")]
        password: Option<[u8; 4]>,
    },
    /// 0x82 — write `data` (whole words) to `bank` at `word_addr`.
    Write {
        #[serde(serialize_with = "crate::hex::serialize")]
        password: [u8; 4],
        bank: u8,
        word_addr: u8,
        #[serde(serialize_with = "crate::hex::serialize")]
        data: Vec<u8>,
    },
    /// 0x83 — `region`: 1 user, 2 TID, 3 EPC, 4 access pwd, 5 kill pwd;
    /// `action`: 0 open, 1 lock, 2 perma-open, 3 perma-lock.
    Lock {
        #[serde(serialize_with = "crate::hex::serialize")]
        password: [u8; 4],
        region: u8,
        action: u8,
    },
    /// 0x84.
    Kill {
        #[serde(serialize_with = "crate::hex::serialize")]
        password: [u8; 4],
    },
    /// 0x85 — `Some(epc)`: access only this tag; `None`: cancel the match.
    SetEpcMatch { epc: Option<EpcBytes> },
    /// 0x86 → [`super::Response::EpcMatch`].
    GetEpcMatch,
    /// 0x89 — real-time inventory on the work antenna, `repeat` rounds.
    RealTimeInventory { repeat: u8 },
    /// 0x8A — `A Aloop B Bloop C Cloop D Dloop Interval Repeat`.
    FastSwitchInventory {
        antennas: [AntennaStay; 4],
        interval_ms: u8,
        repeat: u8,
    },
    /// 0x8B — `session` 0–3 (S0–S3), `target` 0 = A, 1 = B.
    SessionInventory { session: u8, target: u8, repeat: u8 },
    /// 0x90 — upload the buffer, one [`super::Response::BufferRecord`] per tag.
    GetBuffer,
    /// 0x91 — as 0x90, then clear the buffer.
    GetAndResetBuffer,
    /// 0x92 → [`super::Response::BufferCount`].
    GetBufferCount,
    /// 0x93.
    ResetBuffer,
    /// Any other command code, kept verbatim.
    Unknown {
        cmd: u8,
        #[serde(serialize_with = "crate::hex::serialize")]
        data: Vec<u8>,
    },
}

impl Command {
    pub const BAUD_38400: u8 = 0x03;
    pub const BAUD_115200: u8 = 0x04;
    pub const BANK_RESERVED: u8 = 0;
    pub const BANK_EPC: u8 = 1;
    pub const BANK_TID: u8 = 2;
    pub const BANK_USER: u8 = 3;

    /// Line rate for a 0x71 `code`.
    pub fn baud_rate(code: u8) -> Option<u32> {
        match code {
            Self::BAUD_38400 => Some(38_400),
            Self::BAUD_115200 => Some(115_200),
            _ => None,
        }
    }

    /// The command code this command is sent with.
    pub fn code(&self) -> u8 {
        match self {
            Command::Reset => 0x70,
            Command::SetBaudRate { .. } => 0x71,
            Command::GetFirmwareVersion => 0x72,
            Command::SetAddress { .. } => 0x73,
            Command::SetWorkAntenna { .. } => 0x74,
            Command::GetWorkAntenna => 0x75,
            Command::SetOutputPower { .. } => 0x76,
            Command::GetOutputPower => 0x77,
            Command::SetFrequencyRegion { .. } => 0x78,
            Command::GetFrequencyRegion => 0x79,
            Command::SetBeeperMode { .. } => 0x7A,
            Command::GetTemperature => 0x7B,
            Command::BufferedInventory { .. } => 0x80,
            Command::Read { .. } => 0x81,
            Command::Write { .. } => 0x82,
            Command::Lock { .. } => 0x83,
            Command::Kill { .. } => 0x84,
            Command::SetEpcMatch { .. } => 0x85,
            Command::GetEpcMatch => 0x86,
            Command::RealTimeInventory { .. } => 0x89,
            Command::FastSwitchInventory { .. } => 0x8A,
            Command::SessionInventory { .. } => 0x8B,
            Command::GetBuffer => 0x90,
            Command::GetAndResetBuffer => 0x91,
            Command::GetBufferCount => 0x92,
            Command::ResetBuffer => 0x93,
            Command::Unknown { cmd, .. } => *cmd,
        }
    }

    pub(super) fn write_data(&self, out: &mut Vec<u8>) {
        match self {
            Command::Reset
            | Command::GetFirmwareVersion
            | Command::GetWorkAntenna
            | Command::GetOutputPower
            | Command::GetFrequencyRegion
            | Command::GetTemperature
            | Command::GetEpcMatch
            | Command::GetBuffer
            | Command::GetAndResetBuffer
            | Command::GetBufferCount
            | Command::ResetBuffer => {}
            Command::SetBaudRate { code: b }
            | Command::SetAddress { address: b }
            | Command::SetWorkAntenna { antenna: b }
            | Command::SetBeeperMode { mode: b }
            | Command::BufferedInventory { repeat: b }
            | Command::RealTimeInventory { repeat: b } => out.push(*b),
            Command::SetOutputPower { dbm } => out.extend_from_slice(dbm),
            Command::SetFrequencyRegion { region } => region.write(out),
            Command::Read {
                bank,
                word_addr,
                word_count,
                password,
            } => {
                out.extend([*bank, *word_addr, *word_count]);
                if let Some(pw) = password {
                    out.extend_from_slice(pw);
                }
            }
            Command::Write {
                password,
                bank,
                word_addr,
                data,
            } => {
                out.extend_from_slice(password);
                // The word count is derived from the data so the two can
                // never disagree on the wire; whole words that fit only.
                let n = (data.len() & !1).min(super::MAX_DATA_LEN - 8);
                out.extend([*bank, *word_addr, (n / 2) as u8]);
                out.extend_from_slice(&data[..n]);
            }
            Command::Lock {
                password,
                region,
                action,
            } => {
                out.extend_from_slice(password);
                out.extend([*region, *action]);
            }
            Command::Kill { password } => out.extend_from_slice(password),
            Command::SetEpcMatch { epc } => match epc {
                Some(epc) => {
                    out.extend([0x00, epc.len() as u8]);
                    out.extend_from_slice(epc.as_slice());
                }
                None => out.push(0x01),
            },
            Command::FastSwitchInventory {
                antennas,
                interval_ms,
                repeat,
            } => {
                for a in antennas {
                    out.extend([a.antenna, a.stays]);
                }
                out.extend([*interval_ms, *repeat]);
            }
            Command::SessionInventory {
                session,
                target,
                repeat,
            } => out.extend([*session, *target, *repeat]),
            Command::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }
}

fn one(d: &[u8]) -> Result<u8, &'static str> {
    match *d {
        [b] => Ok(b),
        _ => Err("expected exactly one data byte"),
    }
}

fn none(d: &[u8]) -> Result<(), &'static str> {
    if d.is_empty() {
        Ok(())
    } else {
        Err("expected no data bytes")
    }
}

fn password(d: &[u8]) -> [u8; 4] {
    let mut pw = [0u8; 4];
    pw.copy_from_slice(&d[..4]);
    pw
}

/// Interprets the data bytes of a checksum-valid command frame.
pub(super) fn parse(cmd: u8, d: &[u8]) -> Result<Command, &'static str> {
    Ok(match cmd {
        0x70 => none(d).map(|()| Command::Reset)?,
        0x71 => Command::SetBaudRate { code: one(d)? },
        0x72 => none(d).map(|()| Command::GetFirmwareVersion)?,
        0x73 => Command::SetAddress { address: one(d)? },
        0x74 => Command::SetWorkAntenna { antenna: one(d)? },
        0x75 => none(d).map(|()| Command::GetWorkAntenna)?,
        0x76 => {
            if d.is_empty() || d.len() > 8 {
                return Err("output power needs 1 to 8 bytes (all antennas or one per antenna)");
            }
            Command::SetOutputPower { dbm: d.to_vec() }
        }
        0x77 => none(d).map(|()| Command::GetOutputPower)?,
        0x78 => Command::SetFrequencyRegion {
            region: FrequencyRegion::parse(d)?,
        },
        0x79 => none(d).map(|()| Command::GetFrequencyRegion)?,
        0x7A => Command::SetBeeperMode { mode: one(d)? },
        0x7B => none(d).map(|()| Command::GetTemperature)?,
        0x80 => Command::BufferedInventory { repeat: one(d)? },
        0x81 => match d.len() {
            3 | 7 => Command::Read {
                bank: d[0],
                word_addr: d[1],
                word_count: d[2],
                password: (d.len() == 7).then(|| password(&d[3..])),
            },
            _ => return Err("read needs `MemBank WordAdd WordCnt [Password(4)]`"),
        },
        0x82 => {
            if d.len() < 7 || d.len() != 7 + 2 * usize::from(d[6]) {
                return Err("write needs `Password(4) MemBank WordAdd WordCnt Data(2*WordCnt)`");
            }
            Command::Write {
                password: password(d),
                bank: d[4],
                word_addr: d[5],
                data: d[7..].to_vec(),
            }
        }
        0x83 => match *d {
            [_, _, _, _, region, action] => Command::Lock {
                password: password(d),
                region,
                action,
            },
            _ => return Err("lock needs `Password(4) MemBank LockType`"),
        },
        0x84 => match d.len() {
            4 => Command::Kill {
                password: password(d),
            },
            _ => return Err("kill needs `Password(4)`"),
        },
        0x85 => match d {
            [0x01] => Command::SetEpcMatch { epc: None },
            [0x00, len, epc @ ..] if usize::from(*len) == epc.len() => Command::SetEpcMatch {
                epc: Some(EpcBytes::new(epc).map_err(|_| "EPC match longer than 62 bytes")?),
            },
            _ => return Err("EPC match needs `00 EpcLen EPC` or `01`"),
        },
        0x86 => none(d).map(|()| Command::GetEpcMatch)?,
        0x89 => Command::RealTimeInventory { repeat: one(d)? },
        0x8A => match *d {
            [a, al, b, bl, c, cl, e, el, interval_ms, repeat] => {
                let stay = |antenna, stays| AntennaStay { antenna, stays };
                Command::FastSwitchInventory {
                    antennas: [stay(a, al), stay(b, bl), stay(c, cl), stay(e, el)],
                    interval_ms,
                    repeat,
                }
            }
            _ => return Err("fast-switch inventory needs 4 × `Ant Stay` then `Interval Repeat`"),
        },
        0x8B => match *d {
            [session, target, repeat] => Command::SessionInventory {
                session,
                target,
                repeat,
            },
            _ => return Err("session inventory needs `Session Target Repeat`"),
        },
        0x90 => none(d).map(|()| Command::GetBuffer)?,
        0x91 => none(d).map(|()| Command::GetAndResetBuffer)?,
        0x92 => none(d).map(|()| Command::GetBufferCount)?,
        0x93 => none(d).map(|()| Command::ResetBuffer)?,
        _ => Command::Unknown {
            cmd,
            data: d.to_vec(),
        },
    })
}
