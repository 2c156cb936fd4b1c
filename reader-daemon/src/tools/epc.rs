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
/// ([`super::json`], serde_json's bytes without its per-byte escape scan).
/// [`Decoder::item`] hands each line to `out` at once; [`decode_stream`]
/// lets lines gather into batches of [`BATCH`] bytes, one write each.
#[derive(Debug)]
pub struct Decoder {
    scratch: Vec<u8>,
    pending: Vec<u8>,
}

/// Output gathered before one write in [`decode_stream`]. A write per line
/// through `BufWriter` costs more than the line itself takes to copy; and a
/// batch at least as large as the `BufWriter` in `main.rs` (`PIPE_BUFFER`,
/// 1 MiB) is handed straight to the pipe by it, not copied once more.
const BATCH: usize = 1 << 20;

impl Default for Decoder {
    fn default() -> Self {
        Self {
            scratch: Vec::with_capacity(MAX_EPC_BYTES),
            pending: Vec::with_capacity(1024),
        }
    }
}

impl Decoder {
    /// Decodes `item`, writing one JSON line to `out`; `Ok(false)` when the
    /// item was bad (its error line was written), `Err` only for output IO.
    pub fn item(&mut self, item: impl AsRef<[u8]>, out: &mut impl Write) -> io::Result<bool> {
        let ok = self.append(item.as_ref());
        let written = out.write_all(&self.pending);
        self.pending.clear();
        written?;
        ok
    }

    /// Appends `item`'s JSON line, or its error line, to the pending output.
    fn append(&mut self, item: &[u8]) -> io::Result<bool> {
        match self.parse(item) {
            Ok(()) => {
                let start = self.pending.len();
                let written = super::json::append(&mut self.pending, &epc::decode(&self.scratch));
                if let Err(e) = written {
                    self.pending.truncate(start);
                    return Err(io::Error::other(e));
                }
                self.pending.push(b'\n');
                Ok(true)
            }
            Err(e) => {
                write_error(&mut self.pending, item, &e)?;
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

/// Decodes every non-blank line of `input`. The lines decoded before an
/// error (reading input, or writing output) are still written.
pub fn decode_stream(input: impl BufRead, out: &mut impl Write) -> io::Result<Tally> {
    let mut decoder = Decoder::default();
    decoder.pending.reserve(BATCH + 4096);
    let mut tally = Tally::default();
    let read = for_each_line(input, |line| {
        if is_blank(line) {
            return Ok(());
        }
        tally.record(decoder.append(line)?);
        if decoder.pending.len() >= BATCH {
            let written = out.write_all(&decoder.pending);
            decoder.pending.clear();
            written?;
        }
        Ok(())
    });
    out.write_all(&decoder.pending)?;
    read?;
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
