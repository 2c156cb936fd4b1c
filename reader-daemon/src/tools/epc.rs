//! `reader-daemon epc decode|encode`: EPC hex ⇄ GS1 meaning, in batch.

use std::io::{self, BufRead, Write};

use shared::epc;
use shared::tag::MAX_EPC_BYTES;

use super::{for_each_line, is_blank, write_error, Tally};

/// Why one input line could not be decoded.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not hex: {0}")]
    Hex(#[from] shared::hex::HexError),
    #[error("EPC of {0} bytes is longer than the {MAX_EPC_BYTES} bytes a Gen2 PC word allows")]
    TooLong(usize),
}

/// Decodes one hex EPC per item and writes its JSON line.
///
/// Both buffers are reused across items, so a stream costs no allocation
/// per line; the JSON line is built in memory by the flat JSON writer
/// ([`super::json`], serde_json's bytes without its per-byte escape scan)
/// and handed to `out` in one write.
#[derive(Debug)]
pub struct Decoder {
    scratch: Vec<u8>,
    line: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            scratch: Vec::with_capacity(MAX_EPC_BYTES),
            line: Vec::with_capacity(1024),
        }
    }
}

impl Decoder {
    /// Decodes `item`, writing one JSON line to `out`; `Ok(false)` when the
    /// item was bad (its error line was written), `Err` only for output IO.
    pub fn item(&mut self, item: impl AsRef<[u8]>, out: &mut impl Write) -> io::Result<bool> {
        let item = item.as_ref();
        match self.parse(item) {
            Ok(()) => {
                self.line.clear();
                super::json::append(&mut self.line, &epc::decode(&self.scratch))
                    .map_err(io::Error::other)?;
                self.line.push(b'\n');
                out.write_all(&self.line)?;
                Ok(true)
            }
            Err(e) => {
                write_error(out, item, &e)?;
                Ok(false)
            }
        }
    }

    fn parse(&mut self, item: &[u8]) -> Result<(), LineError> {
        self.scratch.clear();
        shared::hex::decode_bytes_into(item, &mut self.scratch)?;
        if self.scratch.len() > MAX_EPC_BYTES {
            return Err(LineError::TooLong(self.scratch.len()));
        }
        Ok(())
    }
}

/// Decodes every non-blank line of `input`.
pub fn decode_stream(input: impl BufRead, out: &mut impl Write) -> io::Result<Tally> {
    let mut decoder = Decoder::default();
    let mut tally = Tally::default();
    for_each_line(input, |line| {
        if is_blank(line) {
            return Ok(());
        }
        tally.record(decoder.item(line, out)?);
        Ok(())
    })?;
    Ok(tally)
}

/// Encodes one URI (tag URI, or pure-identity URI with `filter`).
pub fn encode_item(
    item: impl AsRef<[u8]>,
    filter: Option<u8>,
    out: &mut impl Write,
) -> io::Result<bool> {
    let item = item.as_ref();
    let result = match std::str::from_utf8(item) {
        Ok(text) => epc::encode_uri(text.trim(), filter).map_err(|e| e.to_string()),
        Err(e) => Err(format!("not UTF-8 text: {e}")),
    };
    match result {
        Ok(encoded) => {
            serde_json::to_writer(&mut *out, &encoded)?;
            out.write_all(b"\n")?;
            Ok(true)
        }
        Err(e) => {
            write_error(out, item, &e)?;
            Ok(false)
        }
    }
}

/// Encodes every non-blank line of `input`.
pub fn encode_stream(
    input: impl BufRead,
    filter: Option<u8>,
    out: &mut impl Write,
) -> io::Result<Tally> {
    let mut tally = Tally::default();
    for_each_line(input, |line| {
        if is_blank(line) {
            return Ok(());
        }
        tally.record(encode_item(line, filter, out)?);
        Ok(())
    })?;
    Ok(tally)
}
