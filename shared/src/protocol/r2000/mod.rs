//! The "R2000" serial protocol of Impinj R2000 / E710 module readers
//! (`A0 | Len | Addr | Cmd | Data… | Check`), both directions, sans-IO.
//!
//! The daemon encodes [`CommandFrame`]s and decodes [`ResponseFrame`]s; the
//! simulator does the opposite. Framing (header, length, checksum) is shared;
//! the body of a frame is interpreted per command in [`command`] and
//! [`response`]. Wire facts and their sources: `docs/protocols/r2000.md`.
//!
//! Decoding rules, identical for both directions:
//! - front byte not `0xA0` → skip up to the next `0xA0` ([`SkipReason::NoHeader`]);
//! - `Len` < 3 → skip the header byte ([`SkipReason::BadLength`]);
//! - frame incomplete → [`Decoded::NeedMore`];
//! - checksum wrong → skip only the header byte ([`SkipReason::BadChecksum`]),
//!   so a good frame that starts inside the bad one is still found;
//! - checksum right but the body does not fit the command's layout → skip
//!   the whole frame ([`SkipReason::Malformed`]): it *is* a frame (the
//!   checksum says so), typically from a firmware variant we do not model;
//! - checksum right and the command code unknown → a frame carrying
//!   `Unknown { cmd, data }`, so callers can log or forward it.
//!
//! A reader that stops mid-frame (or noise that looked like a header with a
//! large `Len`) leaves the decoder answering `NeedMore`. The caller owns the
//! clock: if no byte arrives for [`INTER_BYTE_TIMEOUT_MS`] while `NeedMore`
//! is pending, it should drop one byte and decode again.

pub mod command;
pub mod response;

pub use command::{AntennaStay, Command, CommandFrame};
pub use response::{BufferRecord, Response, ResponseFrame, TagOperation, TagRead, TagReport};

use super::{Decoded, SkipReason};
use serde::Serialize;
use std::fmt;

/// First byte of every frame in both directions.
pub const HEAD: u8 = 0xA0;
/// Reader address every reader answers to.
pub const BROADCAST_ADDR: u8 = 0xFF;
/// Smallest `Len`: Addr + Cmd + Check.
pub const MIN_LEN: u8 = 3;
/// Longest possible frame: header, `Len` = 255, and the 255 bytes it counts.
pub const MAX_FRAME_LEN: usize = 257;
/// Largest data part an encoder can fit (`Len` 255 minus Addr, Cmd, Check).
pub const MAX_DATA_LEN: usize = 252;
/// How long a caller should wait for the rest of a frame before dropping the
/// front byte: a whole 257-byte frame takes 22 ms at 115200 baud and 67 ms at
/// 38400, so 100 ms of silence means the frame will not complete.
pub const INTER_BYTE_TIMEOUT_MS: u64 = 100;

/// The frame checksum: two's complement of the 8-bit sum of `bytes`
/// (head through data), so that a whole valid frame sums to 0 mod 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |acc, b| acc.wrapping_add(*b))
        .wrapping_neg()
}

/// EPC length in bytes announced by a Gen2 PC word (bits 15..11, in words).
pub fn pc_epc_len(pc: u16) -> usize {
    usize::from(pc >> 11) * 2
}

/// A PC word announcing `epc_len` bytes of EPC (rounded down to words), with
/// the other PC bits clear — what the simulator puts in front of a plain EPC.
pub fn pc_for_epc_len(epc_len: usize) -> u16 {
    ((epc_len.min(62) / 2) as u16) << 11
}

/// Carrier frequency in kHz for a frequency index of the `FreqAnt` byte:
/// 0–6 are 865.0–868.0 MHz (ETSI), 7–59 are 902.0–928.0 MHz, 0.5 MHz steps.
pub fn frequency_khz(index: u8) -> Option<u32> {
    match index {
        0..=6 => Some(865_000 + 500 * u32::from(index)),
        7..=59 => Some(902_000 + 500 * u32::from(index - 7)),
        _ => None,
    }
}

/// A reader status / error code (the vendor's "ErrorCode" table). `0x10` is
/// success; every other code is a failure. Unknown codes are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    pub const SUCCESS: Self = Self(0x10);
    pub const FAIL: Self = Self(0x11);
    pub const MCU_RESET_ERROR: Self = Self(0x20);
    pub const CW_ON_ERROR: Self = Self(0x21);
    pub const ANTENNA_MISSING: Self = Self(0x22);
    pub const WRITE_FLASH_ERROR: Self = Self(0x23);
    pub const READ_FLASH_ERROR: Self = Self(0x24);
    pub const SET_OUTPUT_POWER_ERROR: Self = Self(0x25);
    pub const TAG_INVENTORY_ERROR: Self = Self(0x31);
    pub const TAG_READ_ERROR: Self = Self(0x32);
    pub const TAG_WRITE_ERROR: Self = Self(0x33);
    pub const TAG_LOCK_ERROR: Self = Self(0x34);
    pub const TAG_KILL_ERROR: Self = Self(0x35);
    pub const NO_TAG: Self = Self(0x36);
    pub const INVENTORY_OK_BUT_ACCESS_FAIL: Self = Self(0x37);
    pub const BUFFER_EMPTY: Self = Self(0x38);
    pub const NXP_CUSTOM_COMMAND_FAIL: Self = Self(0x3C);
    pub const ACCESS_OR_PASSWORD_ERROR: Self = Self(0x40);
    pub const PARAMETER_INVALID: Self = Self(0x41);
    pub const WORD_COUNT_TOO_LONG: Self = Self(0x42);
    pub const MEMBANK_OUT_OF_RANGE: Self = Self(0x43);
    pub const LOCK_REGION_OUT_OF_RANGE: Self = Self(0x44);
    pub const LOCK_TYPE_OUT_OF_RANGE: Self = Self(0x45);
    pub const READER_ADDRESS_INVALID: Self = Self(0x46);
    pub const ANTENNA_ID_OUT_OF_RANGE: Self = Self(0x47);
    pub const OUTPUT_POWER_OUT_OF_RANGE: Self = Self(0x48);
    pub const FREQUENCY_REGION_OUT_OF_RANGE: Self = Self(0x49);
    pub const BAUDRATE_OUT_OF_RANGE: Self = Self(0x4A);
    pub const BEEPER_MODE_OUT_OF_RANGE: Self = Self(0x4B);
    pub const EPC_MATCH_LEN_TOO_LONG: Self = Self(0x4C);
    pub const EPC_MATCH_LEN_ERROR: Self = Self(0x4D);
    pub const EPC_MATCH_MODE_INVALID: Self = Self(0x4E);
    pub const FREQUENCY_RANGE_INVALID: Self = Self(0x4F);
    pub const FAIL_TO_GET_RN16: Self = Self(0x50);
    pub const DRM_MODE_INVALID: Self = Self(0x51);
    pub const PLL_LOCK_FAIL: Self = Self(0x52);
    pub const RF_CHIP_NO_RESPONSE: Self = Self(0x53);
    pub const OUTPUT_POWER_NOT_ACHIEVED: Self = Self(0x54);
    pub const COPYRIGHT_AUTHENTICATION_FAIL: Self = Self(0x55);
    pub const SPECTRUM_REGULATION_ERROR: Self = Self(0x56);
    pub const OUTPUT_POWER_TOO_LOW: Self = Self(0x57);
    pub const FAIL_TO_GET_RETURN_LOSS: Self = Self(0xEE);

    /// Every code the vendor table names, for tests and the simulator.
    pub const KNOWN: [Self; 42] = [
        Self::SUCCESS,
        Self::FAIL,
        Self::MCU_RESET_ERROR,
        Self::CW_ON_ERROR,
        Self::ANTENNA_MISSING,
        Self::WRITE_FLASH_ERROR,
        Self::READ_FLASH_ERROR,
        Self::SET_OUTPUT_POWER_ERROR,
        Self::TAG_INVENTORY_ERROR,
        Self::TAG_READ_ERROR,
        Self::TAG_WRITE_ERROR,
        Self::TAG_LOCK_ERROR,
        Self::TAG_KILL_ERROR,
        Self::NO_TAG,
        Self::INVENTORY_OK_BUT_ACCESS_FAIL,
        Self::BUFFER_EMPTY,
        Self::NXP_CUSTOM_COMMAND_FAIL,
        Self::ACCESS_OR_PASSWORD_ERROR,
        Self::PARAMETER_INVALID,
        Self::WORD_COUNT_TOO_LONG,
        Self::MEMBANK_OUT_OF_RANGE,
        Self::LOCK_REGION_OUT_OF_RANGE,
        Self::LOCK_TYPE_OUT_OF_RANGE,
        Self::READER_ADDRESS_INVALID,
        Self::ANTENNA_ID_OUT_OF_RANGE,
        Self::OUTPUT_POWER_OUT_OF_RANGE,
        Self::FREQUENCY_REGION_OUT_OF_RANGE,
        Self::BAUDRATE_OUT_OF_RANGE,
        Self::BEEPER_MODE_OUT_OF_RANGE,
        Self::EPC_MATCH_LEN_TOO_LONG,
        Self::EPC_MATCH_LEN_ERROR,
        Self::EPC_MATCH_MODE_INVALID,
        Self::FREQUENCY_RANGE_INVALID,
        Self::FAIL_TO_GET_RN16,
        Self::DRM_MODE_INVALID,
        Self::PLL_LOCK_FAIL,
        Self::RF_CHIP_NO_RESPONSE,
        Self::OUTPUT_POWER_NOT_ACHIEVED,
        Self::COPYRIGHT_AUTHENTICATION_FAIL,
        Self::SPECTRUM_REGULATION_ERROR,
        Self::OUTPUT_POWER_TOO_LOW,
        Self::FAIL_TO_GET_RETURN_LOSS,
    ];

    pub fn is_success(self) -> bool {
        self == Self::SUCCESS
    }

    /// The vendor's name for the code, in snake case; `None` if not in the table.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x10 => "success",
            0x11 => "fail",
            0x20 => "mcu_reset_error",
            0x21 => "cw_on_error",
            0x22 => "antenna_missing",
            0x23 => "write_flash_error",
            0x24 => "read_flash_error",
            0x25 => "set_output_power_error",
            0x31 => "tag_inventory_error",
            0x32 => "tag_read_error",
            0x33 => "tag_write_error",
            0x34 => "tag_lock_error",
            0x35 => "tag_kill_error",
            0x36 => "no_tag",
            0x37 => "inventory_ok_but_access_fail",
            0x38 => "buffer_empty",
            0x3C => "nxp_custom_command_fail",
            0x40 => "access_or_password_error",
            0x41 => "parameter_invalid",
            0x42 => "word_count_too_long",
            0x43 => "membank_out_of_range",
            0x44 => "lock_region_out_of_range",
            0x45 => "lock_type_out_of_range",
            0x46 => "reader_address_invalid",
            0x47 => "antenna_id_out_of_range",
            0x48 => "output_power_out_of_range",
            0x49 => "frequency_region_out_of_range",
            0x4A => "baudrate_out_of_range",
            0x4B => "beeper_mode_out_of_range",
            0x4C => "epc_match_len_too_long",
            0x4D => "epc_match_len_error",
            0x4E => "epc_match_mode_invalid",
            0x4F => "frequency_range_invalid",
            0x50 => "fail_to_get_rn16",
            0x51 => "drm_mode_invalid",
            0x52 => "pll_lock_fail",
            0x53 => "rf_chip_no_response",
            0x54 => "output_power_not_achieved",
            0x55 => "copyright_authentication_fail",
            0x56 => "spectrum_regulation_error",
            0x57 => "output_power_too_low",
            0xEE => "fail_to_get_return_loss",
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:#04x} ({})", self.0, name.replace('_', " ")),
            None => write!(f, "{:#04x} (unknown error code)", self.0),
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({self})")
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ErrorCode", 2)?;
        st.serialize_field("code", &self.0)?;
        st.serialize_field("name", &self.name())?;
        st.end()
    }
}

/// Frequency plan, as set by 0x78 and reported by 0x79.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FrequencyRegion {
    /// A built-in region (1 FCC, 2 ETSI, 3 China) hopping between two
    /// frequency indices (see [`frequency_khz`]), inclusive.
    Standard { region: u8, start: u8, end: u8 },
    /// Region 4, user defined: `quantity` channels `spacing_10khz` × 10 kHz
    /// apart from `start_khz` (24 bits on the wire).
    UserDefined {
        spacing_10khz: u8,
        quantity: u8,
        start_khz: u32,
    },
}

impl FrequencyRegion {
    pub const FCC: u8 = 1;
    pub const ETSI: u8 = 2;
    pub const CHINA: u8 = 3;
    pub const USER_DEFINED: u8 = 4;

    fn parse(d: &[u8]) -> Result<Self, &'static str> {
        match *d {
            [Self::USER_DEFINED, spacing_10khz, quantity, a, b, c] => Ok(Self::UserDefined {
                spacing_10khz,
                quantity,
                start_khz: u32::from_be_bytes([0, a, b, c]),
            }),
            [region, start, end] if region != Self::USER_DEFINED => {
                Ok(Self::Standard { region, start, end })
            }
            _ => Err(
                "frequency region is neither `Region Start End` nor `04 Space Quantity Start(3)`",
            ),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Self::Standard { region, start, end } => out.extend([region, start, end]),
            Self::UserDefined {
                spacing_10khz,
                quantity,
                start_khz,
            } => {
                let [_, a, b, c] = start_khz.min(0xFF_FFFF).to_be_bytes();
                out.extend([Self::USER_DEFINED, spacing_10khz, quantity, a, b, c]);
            }
        }
    }
}

/// Serde helper: an optional 4-byte password as hex (or `null`).
fn serialize_opt_password<S: serde::Serializer>(
    pw: &Option<[u8; 4]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match pw {
        Some(p) => crate::hex::serialize(p, s),
        None => s.serialize_none(),
    }
}

/// Serde helper: a 16-bit word (the PC) as four hex digits, as it is written
/// in every reader manual.
fn serialize_u16_hex<S: serde::Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    crate::hex::serialize(&v.to_be_bytes(), s)
}

/// A checked frame borrowed from the input buffer: address, command and
/// data; the body is not yet read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    pub addr: u8,
    pub cmd: u8,
    pub payload: &'a [u8],
}

/// Finds and checks the frame at the front of `buf` (either direction).
#[inline]
pub fn decode_raw(buf: &[u8]) -> Decoded<RawFrame<'_>> {
    match buf.first() {
        None => return Decoded::NeedMore,
        Some(&HEAD) => {}
        Some(_) => {
            let next = buf.iter().position(|&b| b == HEAD).unwrap_or(buf.len());
            return Decoded::Skip {
                bytes: next,
                reason: SkipReason::NoHeader,
            };
        }
    }
    let Some(&len) = buf.get(1) else {
        return Decoded::NeedMore;
    };
    if len < MIN_LEN {
        return Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadLength {
                len: usize::from(len),
            },
        };
    }
    let total = usize::from(len) + 2;
    let Some(frame) = buf.get(..total) else {
        return Decoded::NeedMore;
    };
    let (body, check) = frame.split_at(total - 1);
    let expected = checksum(body);
    if check[0] != expected {
        return Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadChecksum {
                expected,
                found: check[0],
            },
        };
    }
    Decoded::Frame {
        frame: RawFrame {
            addr: body[2],
            cmd: body[3],
            payload: &body[4..],
        },
        consumed: total,
    }
}

/// Appends one frame: head, `Len`, `addr`, `cmd`, whatever `body` writes,
/// checksum. A body longer than [`MAX_DATA_LEN`] is cut there (the `Len`
/// byte cannot say more); encoders' callers keep payloads within it.
#[inline]
fn write_frame(out: &mut Vec<u8>, addr: u8, cmd: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend([HEAD, 0, addr, cmd]);
    body(out);
    out.truncate(start + 4 + MAX_DATA_LEN);
    let len = out.len() - start - 1; // Addr..Data plus the Check still to come.
    out[start + 1] = len as u8;
    let check = checksum(&out[start..]);
    out.push(check);
}

/// Appends one frame carrying `frame`'s address, command and payload (cut
/// at [`MAX_DATA_LEN`]).
pub fn encode_raw(frame: &RawFrame<'_>, out: &mut Vec<u8>) {
    write_frame(out, frame.addr, frame.cmd, |o| {
        o.extend_from_slice(frame.payload)
    });
}

/// Decodes one host command from the front of `buf` (simulator side).
pub fn decode_command(buf: &[u8]) -> Decoded<CommandFrame> {
    decode_raw(buf).and_then(|raw| match command::parse(raw.cmd, raw.payload) {
        Ok(command) => Ok(CommandFrame {
            addr: raw.addr,
            command,
        }),
        Err(detail) => Err(SkipReason::Malformed {
            cmd: raw.cmd,
            detail,
        }),
    })
}

/// Decodes one reader response from the front of `buf` (daemon side).
pub fn decode_response(buf: &[u8]) -> Decoded<ResponseFrame> {
    decode_raw(buf).and_then(|raw| match response::parse(raw.cmd, raw.payload) {
        Ok(response) => Ok(ResponseFrame {
            addr: raw.addr,
            response,
        }),
        Err(detail) => Err(SkipReason::Malformed {
            cmd: raw.cmd,
            detail,
        }),
    })
}

/// Appends the bytes of `frame` to `out`.
pub fn encode_command(frame: &CommandFrame, out: &mut Vec<u8>) {
    let cmd = frame.command.code();
    write_frame(out, frame.addr, cmd, |o| frame.command.write_data(o));
}

/// Appends the bytes of `frame` to `out`.
pub fn encode_response(frame: &ResponseFrame, out: &mut Vec<u8>) {
    let cmd = frame.response.code();
    write_frame(out, frame.addr, cmd, |o| frame.response.write_data(o));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_the_worked_example() {
        // PROTOCOLS.md §1: `A0 03 01 72` sums to 0x116 → check 0xEA.
        assert_eq!(checksum(&[0xA0, 0x03, 0x01, 0x72]), 0xEA);
    }

    #[test]
    fn frequency_table_ends() {
        assert_eq!(frequency_khz(0), Some(865_000));
        assert_eq!(frequency_khz(6), Some(868_000));
        assert_eq!(frequency_khz(7), Some(902_000));
        assert_eq!(frequency_khz(59), Some(928_000));
        assert_eq!(frequency_khz(60), None);
    }

    #[test]
    fn error_codes_display_their_names() {
        assert_eq!(
            ErrorCode::ANTENNA_MISSING.to_string(),
            "0x22 (antenna missing)"
        );
        assert_eq!(ErrorCode(0x99).to_string(), "0x99 (unknown error code)");
        assert!(ErrorCode::KNOWN.iter().all(|c| c.name().is_some()));
    }
}
