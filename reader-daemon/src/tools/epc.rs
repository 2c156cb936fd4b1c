//! `reader-daemon epc decode|encode`: EPC hex ⇄ GS1 meaning, in batch.

use std::io::{self, BufRead, Write};

use shared::epc;
use shared::tag::MAX_EPC_BYTES;

use super::{for_each_line, write_error, Tally};

/// Why one input line could not be decoded.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not hex: {0}")]
    Hex(#[from] shared::hex::HexError),
    #[error("EPC of {0} bytes is longer than the {MAX_EPC_BYTES} bytes a Gen2 PC word allows")]
    TooLong(usize),
}

/// Decodes one hex EPC per item and writes its JSON line.
#[derive(Debug)]
pub struct Decoder {
    scratch: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            scratch: Vec::with_capacity(MAX_EPC_BYTES),
        }
    }
}

impl Decoder {
    /// Decodes `item`, writing one JSON line to `out`; `Ok(false)` when the
    /// item was bad (its error line was written), `Err` only for output IO.
    pub fn item(&mut self, item: &str, out: &mut impl Write) -> io::Result<bool> {
        match self.parse(item) {
            Ok(()) => {
                serde_json::to_writer(&mut *out, &epc::decode(&self.scratch))?;
                out.write_all(b"\n")?;
                Ok(true)
            }
            Err(e) => {
                write_error(out, item, &e)?;
                Ok(false)
            }
        }
    }

    fn parse(&mut self, item: &str) -> Result<(), LineError> {
        self.scratch.clear();
        shared::hex::decode_into(item, &mut self.scratch)?;
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
        if line.trim().is_empty() {
            return Ok(());
        }
        tally.record(decoder.item(line, out)?);
        Ok(())
    })?;
    Ok(tally)
}

/// Encodes one URI (tag URI, or pure-identity URI with `filter`).
pub fn encode_item(item: &str, filter: Option<u8>, out: &mut impl Write) -> io::Result<bool> {
    match epc::encode_uri(item.trim(), filter) {
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
        if line.trim().is_empty() {
            return Ok(());
        }
        tally.record(encode_item(line, filter, out)?);
        Ok(())
    })?;
    Ok(tally)
}
