//! Reader → host responses: what the simulator sends and the daemon decodes.
//!
//! One command code can answer with several layouts; the data length tells
//! them apart (e.g. 0x89: 1 byte = error, 7 bytes = end of round, anything
//! else a tag report whose EPC length must agree with its PC word). A
//! one-byte reply `0x10` is [`Response::Ok`]; any other one-byte status is
//! [`Response::Error`] — except where a one-byte *value* is the answer
//! (0x75 antenna below 0x10, 0x77 power, 0x86 "no match" 0x01).

use super::{pc_epc_len, serialize_u16_hex, ErrorCode, FrequencyRegion};
use crate::tag::EpcBytes;
use serde::Serialize;

/// One response frame: the answering reader's address and the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseFrame {
    pub addr: u8,
    pub response: Response,
}

/// A tag seen by a real-time (0x89), fast-switch (0x8A) or session (0x8B)
/// inventory: `FreqAnt PC(2) EPC RSSI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TagReport {
    /// 0x89, 0x8A or 0x8B: which inventory produced it.
    pub cmd: u8,
    /// Bits 7..2 of `FreqAnt` (see [`super::frequency_khz`]); 0–63.
    pub freq_index: u8,
    /// 0-based antenna: bits 1..0 of `FreqAnt`, plus 4 when the RSSI byte's
    /// bit 7 is set (8-port firmware); 0–7.
    pub antenna: u8,
    #[serde(serialize_with = "serialize_u16_hex")]
    pub pc: u16,
    pub epc: EpcBytes,
    /// `(RSSI & 0x7F) − 129` dBm; −129 ..= −2 on the wire.
    pub rssi_dbm: i16,
}

/// One tag from the reader's buffer (0x90 / 0x91):
/// `Count(2) DataLen PC(2) EPC CRC(2) RSSI FreqAnt InvCount`. The tag CRC is
/// checked when decoding and computed when encoding, so it is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BufferRecord {
    /// 0x90 or 0x91.
    pub cmd: u8,
    /// How many records this upload holds in total.
    pub tag_count: u16,
    #[serde(serialize_with = "serialize_u16_hex")]
    pub pc: u16,
    pub epc: EpcBytes,
    /// As in [`TagReport::rssi_dbm`].
    pub rssi_dbm: i16,
    /// As in [`TagReport::antenna`].
    pub antenna: u8,
    pub freq_index: u8,
    /// How many times the tag was inventoried.
    pub inventory_count: u8,
}

/// One tag's answer to a read (0x81):
/// `Count(2) DataLen PC(2) EPC CRC(2) ReadData ReadLen FreqAnt ReadCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRead {
    /// How many tags answered (one frame each).
    pub tag_count: u16,
    #[serde(serialize_with = "serialize_u16_hex")]
    pub pc: u16,
    pub epc: EpcBytes,
    /// The words read. E710 firmware may append an RSSI byte (odd length);
    /// it is kept here as sent.
    #[serde(serialize_with = "crate::hex::serialize")]
    pub data: Vec<u8>,
    /// `FreqAnt` bits 1..0, plus 4 when bit 7 of the count byte is set
    /// (8-port firmware); 0–7.
    pub antenna: u8,
    /// `FreqAnt` bits 7..2.
    pub freq_index: u8,
    /// Bits 6..0 of the last byte; 0–127.
    pub read_count: u8,
}

/// One tag's answer to a write (0x82), lock (0x83) or kill (0x84):
/// `Count(2) DataLen PC(2) EPC CRC(2) ErrCode FreqAnt OpCount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TagOperation {
    /// 0x82, 0x83 or 0x84.
    pub cmd: u8,
    pub tag_count: u16,
    #[serde(serialize_with = "serialize_u16_hex")]
    pub pc: u16,
    pub epc: EpcBytes,
    /// [`ErrorCode::SUCCESS`] if this tag was written / locked / killed.
    pub code: ErrorCode,
    /// As in [`TagRead::antenna`].
    pub antenna: u8,
    pub freq_index: u8,
    /// Bits 6..0 of the last byte; 0–127.
    pub op_count: u8,
}

/// Every response layout the product uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// A tag from 0x89 / 0x8A / 0x8B.
    TagReport(TagReport),
    /// End of a 0x89 / 0x8B inventory: `AntID ReadRate(2) TotalRead(4)`.
    InventoryEnd {
        cmd: u8,
        antenna: u8,
        read_rate: u16,
        total_read: u32,
    },
    /// End of a 0x8A inventory: `TotalRead(3) Duration_ms(4)`.
    FastSwitchEnd { total_read: u32, duration_ms: u32 },
    /// 0x8A skipping a slot: `AntID ErrorCode` (usually 0x22 antenna missing).
    AntennaError { antenna: u8, code: ErrorCode },
    /// End of a buffered inventory (0x80):
    /// `AntID TagCount(2) ReadRate(2) TotalRead(4)`.
    BufferedInventoryEnd {
        antenna: u8,
        tag_count: u16,
        read_rate: u16,
        total_read: u32,
    },
    /// One-byte status 0x10 (success) for `cmd`.
    Ok { cmd: u8 },
    /// One-byte status other than success for `cmd`.
    Error { cmd: u8, code: ErrorCode },
    /// 0x72.
    Firmware { major: u8, minor: u8 },
    /// 0x75, 0-based (values 0x10 and up would read as an error code).
    WorkAntenna { antenna: u8 },
    /// 0x77: one byte for all antennas or one per antenna, dBm.
    OutputPower { dbm: Vec<u8> },
    /// 0x79.
    FrequencyRegion { region: FrequencyRegion },
    /// 0x7B: `PlusMinus Temp`, sign byte 0 = below zero, 1 = zero or above.
    Temperature { celsius: i16 },
    /// 0x92: `TagCount(2)`.
    BufferCount { count: u16 },
    /// 0x90 / 0x91, one per buffered tag.
    BufferRecord(BufferRecord),
    /// 0x81, one per tag read.
    TagRead(TagRead),
    /// 0x82 / 0x83 / 0x84, one per tag accessed.
    TagOperation(TagOperation),
    /// 0x86: the EPC access is restricted to, if any
    /// (`00 EpcLen EPC`, or `01` for none).
    EpcMatch { epc: Option<EpcBytes> },
    /// Any other command code, kept verbatim.
    Unknown {
        cmd: u8,
        #[serde(serialize_with = "crate::hex::serialize")]
        data: Vec<u8>,
    },
}

impl Response {
    /// The command code this response travels under.
    pub fn code(&self) -> u8 {
        match self {
            Response::TagReport(t) => t.cmd,
            Response::InventoryEnd { cmd, .. } => *cmd,
            Response::FastSwitchEnd { .. } | Response::AntennaError { .. } => 0x8A,
            Response::BufferedInventoryEnd { .. } => 0x80,
            Response::Ok { cmd } | Response::Error { cmd, .. } => *cmd,
            Response::Firmware { .. } => 0x72,
            Response::WorkAntenna { .. } => 0x75,
            Response::OutputPower { .. } => 0x77,
            Response::FrequencyRegion { .. } => 0x79,
            Response::Temperature { .. } => 0x7B,
            Response::BufferCount { .. } => 0x92,
            Response::BufferRecord(r) => r.cmd,
            Response::TagRead(_) => 0x81,
            Response::TagOperation(t) => t.cmd,
            Response::EpcMatch { .. } => 0x86,
            Response::Unknown { cmd, .. } => *cmd,
        }
    }

    pub(super) fn write_data(&self, out: &mut Vec<u8>) {
        match self {
            Response::TagReport(t) => {
                out.push(freq_ant(t.freq_index, t.antenna));
                out.extend(t.pc.to_be_bytes());
                out.extend_from_slice(t.epc.as_slice());
                out.push(rssi_byte(t.rssi_dbm, t.antenna));
            }
            Response::InventoryEnd {
                antenna,
                read_rate,
                total_read,
                ..
            } => {
                out.push(*antenna);
                out.extend(read_rate.to_be_bytes());
                out.extend(total_read.to_be_bytes());
            }
            Response::FastSwitchEnd {
                total_read,
                duration_ms,
            } => {
                out.extend(&total_read.min(&0xFF_FFFF).to_be_bytes()[1..]);
                out.extend(duration_ms.to_be_bytes());
            }
            Response::AntennaError { antenna, code } => out.extend([*antenna, code.0]),
            Response::BufferedInventoryEnd {
                antenna,
                tag_count,
                read_rate,
                total_read,
            } => {
                out.push(*antenna);
                out.extend(tag_count.to_be_bytes());
                out.extend(read_rate.to_be_bytes());
                out.extend(total_read.to_be_bytes());
            }
            Response::Ok { .. } => out.push(ErrorCode::SUCCESS.0),
            Response::Error { code, .. } => out.push(code.0),
            Response::Firmware { major, minor } => out.extend([*major, *minor]),
            Response::WorkAntenna { antenna } => out.push(*antenna),
            Response::OutputPower { dbm } => out.extend_from_slice(dbm),
            Response::FrequencyRegion { region } => region.write(out),
            Response::Temperature { celsius } => {
                let sign = u8::from(*celsius >= 0);
                out.extend([sign, celsius.unsigned_abs().min(255) as u8]);
            }
            Response::BufferCount { count } => out.extend(count.to_be_bytes()),
            Response::BufferRecord(r) => {
                write_tag_header(out, r.tag_count, r.pc, &r.epc, 0);
                out.push(rssi_byte(r.rssi_dbm, r.antenna));
                out.push(freq_ant(r.freq_index, r.antenna));
                out.push(r.inventory_count);
            }
            Response::TagRead(r) => {
                // The whole data part is at most 252 bytes: 6 bytes of
                // framing around DataLen, which covers PC, EPC, CRC and data.
                let max = 252 - 6 - 4 - r.epc.len();
                let data = &r.data[..r.data.len().min(max)];
                write_tag_header(out, r.tag_count, r.pc, &r.epc, data.len());
                out.extend_from_slice(data);
                out.extend([
                    data.len() as u8,
                    freq_ant(r.freq_index, r.antenna),
                    count_byte(r.read_count, r.antenna),
                ]);
            }
            Response::TagOperation(t) => {
                write_tag_header(out, t.tag_count, t.pc, &t.epc, 0);
                out.extend([
                    t.code.0,
                    freq_ant(t.freq_index, t.antenna),
                    count_byte(t.op_count, t.antenna),
                ]);
            }
            Response::EpcMatch { epc } => match epc {
                Some(epc) => {
                    out.extend([0x00, epc.len() as u8]);
                    out.extend_from_slice(epc.as_slice());
                }
                None => out.push(0x01),
            },
            Response::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }
}

/// `FreqAnt`: frequency index in bits 7..2, antenna (mod 4) in bits 1..0.
fn freq_ant(freq_index: u8, antenna: u8) -> u8 {
    (freq_index << 2) | (antenna & 0x03)
}

/// The RSSI byte: `dBm + 129` in bits 6..0, bit 7 set for antennas 4–7.
fn rssi_byte(rssi_dbm: i16, antenna: u8) -> u8 {
    let raw = (rssi_dbm + 129).clamp(0, 0x7F) as u8;
    raw | if antenna & 0x04 != 0 { 0x80 } else { 0 }
}

/// The count byte closing access replies: count in bits 6..0, bit 7 set for
/// antennas 4–7 (8-port firmware puts the antenna's third bit there).
fn count_byte(count: u8, antenna: u8) -> u8 {
    (count & 0x7F) | if antenna & 0x04 != 0 { 0x80 } else { 0 }
}

/// `Count(2) DataLen PC(2) EPC CRC(2)`, where DataLen also covers `extra`
/// bytes the caller writes after the CRC.
fn write_tag_header(out: &mut Vec<u8>, count: u16, pc: u16, epc: &EpcBytes, extra: usize) {
    out.extend(count.to_be_bytes());
    out.push((4 + epc.len() + extra).min(255) as u8);
    let start = out.len();
    out.extend(pc.to_be_bytes());
    out.extend_from_slice(epc.as_slice());
    let crc = crate::epc::gen2::crc16(&out[start..]);
    out.extend(crc.to_be_bytes());
}

fn status(cmd: u8, code: u8) -> Response {
    if code == ErrorCode::SUCCESS.0 {
        Response::Ok { cmd }
    } else {
        Response::Error {
            cmd,
            code: ErrorCode(code),
        }
    }
}

fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

#[inline(always)]
fn epc(bytes: &[u8]) -> Result<EpcBytes, &'static str> {
    EpcBytes::new(bytes).map_err(|_| "EPC longer than a PC word allows")
}

/// [`epc`] for the hot path. A variable-length copy into the inline buffer
/// followed by the wide loads that move the buffer into the frame stalls on
/// store forwarding (measured: ~60% of decode time); a fixed-size copy for
/// the common 96- and 128-bit EPCs lets the compiler build the buffer in
/// place.
#[inline(always)]
fn epc_fast(bytes: &[u8]) -> Result<EpcBytes, &'static str> {
    if let Ok(b) = <&[u8; 12]>::try_from(bytes) {
        return epc(b);
    }
    if let Ok(b) = <&[u8; 16]>::try_from(bytes) {
        return epc(b);
    }
    epc(bytes)
}

/// The hot path: `FreqAnt PC(2) EPC RSSI`, no allocation.
#[inline]
fn tag_report(cmd: u8, d: &[u8]) -> Result<Response, &'static str> {
    if d.len() < 4 {
        return Err("tag report shorter than `FreqAnt PC(2) RSSI`");
    }
    let pc = be16(d, 1);
    let n = pc_epc_len(pc);
    if d.len() != 4 + n {
        return Err("tag report length disagrees with the PC word's EPC length");
    }
    let rssi = d[3 + n];
    Ok(Response::TagReport(TagReport {
        cmd,
        freq_index: d[0] >> 2,
        antenna: (d[0] & 0x03) + if rssi & 0x80 != 0 { 4 } else { 0 },
        pc,
        epc: epc_fast(&d[3..3 + n])?,
        rssi_dbm: i16::from(rssi & 0x7F) - 129,
    }))
}

/// Checks `Count(2) DataLen PC(2) EPC CRC(2) … tail(3)` and returns
/// (count, pc, epc, bytes between CRC and tail, tail).
#[allow(clippy::type_complexity)]
fn tag_record(d: &[u8]) -> Result<(u16, u16, EpcBytes, &[u8], [u8; 3]), &'static str> {
    if d.len() < 3 {
        return Err("tag record shorter than `Count(2) DataLen`");
    }
    let data_len = usize::from(d[2]);
    if d.len() != 3 + data_len + 3 || data_len < 4 {
        return Err("tag record length disagrees with its DataLen byte");
    }
    let pc = be16(d, 3);
    let n = pc_epc_len(pc);
    if data_len < 4 + n {
        return Err("tag record shorter than the PC word's EPC length");
    }
    let crc = be16(d, 5 + n);
    if crc != crate::epc::gen2::crc16(&d[3..5 + n]) {
        return Err("tag CRC-16 over PC+EPC does not match");
    }
    let tail = [d[3 + data_len], d[4 + data_len], d[5 + data_len]];
    Ok((
        be16(d, 0),
        pc,
        epc(&d[5..5 + n])?,
        &d[7 + n..3 + data_len],
        tail,
    ))
}

/// Interprets the data bytes of a checksum-valid response frame.
pub(super) fn parse(cmd: u8, d: &[u8]) -> Result<Response, &'static str> {
    // The inventory stream first: it is nearly all the traffic.
    match (cmd, d.len()) {
        (0x89 | 0x8B, 1) | (0x8A, 1) => return Ok(status(cmd, d[0])),
        (0x89 | 0x8B, 7) => {
            return Ok(Response::InventoryEnd {
                cmd,
                antenna: d[0],
                read_rate: be16(d, 1),
                total_read: be32(d, 3),
            })
        }
        (0x8A, 2) => {
            return Ok(Response::AntennaError {
                antenna: d[0],
                code: ErrorCode(d[1]),
            })
        }
        (0x8A, 7) => {
            return Ok(Response::FastSwitchEnd {
                total_read: u32::from_be_bytes([0, d[0], d[1], d[2]]),
                duration_ms: be32(d, 3),
            })
        }
        (0x89..=0x8B, _) => return tag_report(cmd, d),
        _ => {}
    }
    Ok(match (cmd, d) {
        (0x75, [a]) if *a < ErrorCode::SUCCESS.0 => Response::WorkAntenna { antenna: *a },
        (0x77, [_, ..]) if d.len() <= 8 => Response::OutputPower { dbm: d.to_vec() },
        (0x77, _) => return Err("output power reply needs 1 to 8 bytes"),
        (0x86, [0x01]) => Response::EpcMatch { epc: None },
        (0x70..=0x7B | 0x80..=0x86 | 0x90..=0x93, [code]) => status(cmd, *code),
        (0x72, [major, minor]) => Response::Firmware {
            major: *major,
            minor: *minor,
        },
        (0x79, _) => Response::FrequencyRegion {
            region: FrequencyRegion::parse(d)?,
        },
        (0x7B, [sign, t]) => match sign {
            0 => Response::Temperature {
                celsius: -i16::from(*t),
            },
            1 => Response::Temperature {
                celsius: i16::from(*t),
            },
            _ => return Err("temperature sign byte is neither 00 (minus) nor 01 (plus)"),
        },
        (0x80, [antenna, ..]) if d.len() == 9 => Response::BufferedInventoryEnd {
            antenna: *antenna,
            tag_count: be16(d, 1),
            read_rate: be16(d, 3),
            total_read: be32(d, 5),
        },
        (0x90 | 0x91, _) => {
            let (tag_count, pc, epc, between, [rssi, fa, inventory_count]) = tag_record(d)?;
            if !between.is_empty() {
                return Err("buffer record has bytes between the tag CRC and RSSI");
            }
            Response::BufferRecord(BufferRecord {
                cmd,
                tag_count,
                pc,
                epc,
                rssi_dbm: i16::from(rssi & 0x7F) - 129,
                antenna: (fa & 0x03) + if rssi & 0x80 != 0 { 4 } else { 0 },
                freq_index: fa >> 2,
                inventory_count,
            })
        }
        (0x92, [a, b]) => Response::BufferCount {
            count: u16::from_be_bytes([*a, *b]),
        },
        (0x81, _) => {
            let (tag_count, pc, epc, data, [read_len, fa, count]) = tag_record(d)?;
            if data.len() != usize::from(read_len) {
                return Err("read reply's ReadLen disagrees with its DataLen");
            }
            Response::TagRead(TagRead {
                tag_count,
                pc,
                epc,
                data: data.to_vec(),
                antenna: (fa & 0x03) + if count & 0x80 != 0 { 4 } else { 0 },
                freq_index: fa >> 2,
                read_count: count & 0x7F,
            })
        }
        (0x82..=0x84, _) => {
            let (tag_count, pc, epc, between, [code, fa, count]) = tag_record(d)?;
            if !between.is_empty() {
                return Err("access reply has bytes between the tag CRC and ErrCode");
            }
            Response::TagOperation(TagOperation {
                cmd,
                tag_count,
                pc,
                epc,
                code: ErrorCode(code),
                antenna: (fa & 0x03) + if count & 0x80 != 0 { 4 } else { 0 },
                freq_index: fa >> 2,
                op_count: count & 0x7F,
            })
        }
        (0x86, [0x00, len, rest @ ..]) if usize::from(*len) == rest.len() => Response::EpcMatch {
            epc: Some(epc(rest).map_err(|_| "EPC match longer than 62 bytes")?),
        },
        (0x70..=0x7B | 0x80..=0x86 | 0x90..=0x93, _) => {
            return Err("data length does not fit any reply layout of this command")
        }
        _ => Response::Unknown {
            cmd,
            data: d.to_vec(),
        },
    })
}
