//! Sans-IO codecs for the UHF readers' serial protocols.
//!
//! Each protocol module decodes from a byte buffer that may start mid-frame,
//! hold several frames, half of one, or noise. A decoder call looks at the
//! front of the buffer and answers with a [`Decoded`]: the caller (daemon or
//! simulator) owns the bytes through a [`Deframer`], which drops
//! `consumed`/`bytes` from the front and reports every skip with its place
//! in the stream. Nothing here allocates per call except the frame's own
//! payload.
//!
//! Both codecs have the same shape (see `docs/protocols.md`): a frame layer
//! (`RawFrame`, `decode_raw`, `encode_raw`) that finds, checks and writes
//! frames, and per direction `decode_command` / `decode_response` /
//! `encode_command` / `encode_response` that read and write the frame's body.

pub mod chainway;
mod deframe;
pub mod r2000;

pub use deframe::{Deframer, Event, Skipped};

use serde::Serialize;

/// What a decoder found at the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<F> {
    /// The buffer holds (the start of) a possible frame but not all of it.
    NeedMore,
    /// A whole, valid frame; drop `consumed` bytes from the front.
    Frame { frame: F, consumed: usize },
    /// The first `bytes` bytes cannot start a valid frame; drop them.
    /// `bytes` is always at least 1.
    Skip { bytes: usize, reason: SkipReason },
}

impl<F> Decoded<F> {
    /// The same answer with the frame turned into another type.
    #[inline]
    pub fn map<G>(self, f: impl FnOnce(F) -> G) -> Decoded<G> {
        self.and_then(|frame| Ok(f(frame)))
    }

    /// Reads the body of a checked frame: a frame `parse` refuses is skipped
    /// whole with the reason it gives (it *is* a frame, its checksum says so).
    #[inline]
    pub fn and_then<G>(self, parse: impl FnOnce(F) -> Result<G, SkipReason>) -> Decoded<G> {
        match self {
            Decoded::NeedMore => Decoded::NeedMore,
            Decoded::Skip { bytes, reason } => Decoded::Skip { bytes, reason },
            Decoded::Frame { frame, consumed } => match parse(frame) {
                Ok(frame) => Decoded::Frame { frame, consumed },
                Err(reason) => Decoded::Skip {
                    bytes: consumed,
                    reason,
                },
            },
        }
    }
}

/// Why a decoder skipped bytes. Kept small and `Copy` so the hot path never
/// allocates a message; `Display` renders it for logs and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// Bytes before the next possible frame header.
    NoHeader,
    /// A header whose length field is outside what the protocol allows.
    BadLength { len: usize },
    /// A whole frame whose checksum does not match; carries both values.
    BadChecksum { expected: u8, found: u8 },
    /// A frame whose trailer (e.g. Chainway's `0D 0A`) is missing.
    BadTrailer,
    /// A frame with a valid checksum whose body does not fit the command's
    /// layout (wrong data length for the command, inconsistent PC word…).
    Malformed { cmd: u8, detail: &'static str },
    /// Bytes a [`Deframer`] dropped unread because more arrived at once
    /// than its bound allows (a peer flooding the line).
    Overflow { capacity: usize },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NoHeader => write!(f, "no frame header"),
            SkipReason::BadLength { len } => write!(f, "length field {len} out of range"),
            SkipReason::BadChecksum { expected, found } => {
                write!(
                    f,
                    "checksum mismatch: expected {expected:#04x}, found {found:#04x}"
                )
            }
            SkipReason::BadTrailer => write!(f, "missing frame trailer"),
            SkipReason::Malformed { cmd, detail } => {
                write!(f, "malformed frame for command {cmd:#04x}: {detail}")
            }
            SkipReason::Overflow { capacity } => {
                write!(f, "more than {capacity} bytes buffered without a frame")
            }
        }
    }
}

/// Which side of the serial line produced the bytes being decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Host → reader: commands.
    Command,
    /// Reader → host: responses, tag reports, errors.
    Response,
}
