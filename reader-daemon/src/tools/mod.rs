//! Command-line tools for field engineers and scripts.
//!
//! Each tool reads items (arguments, or one per line from a reader), writes
//! one JSON object per line, keeps going after a bad item, and reports
//! whether every item succeeded. The work itself lives in `shared`; this
//! module only moves lines and shapes output.

pub mod epc;
pub mod frame;
mod json;

use std::io::{self, BufRead};

/// What a batch run did: how many items it handled and how many failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
}

impl Tally {
    /// Exit status for scripts: 0 if every item succeeded, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed > 0)
    }

    /// Counts one item's outcome.
    pub fn record(&mut self, ok: bool) {
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Calls `each` with every line of `input` (without the line ending),
/// reusing one buffer so memory stays constant however long the stream.
/// Lines are bytes: the hex paths never need them as `str`, and a line that
/// is not UTF-8 is still named (lossily) in its error.
pub(crate) fn for_each_line(
    mut input: impl BufRead,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let mut line: &[u8] = &buf;
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        each(line)?;
    }
}

/// True for a line with nothing but white space (skipped, not an error).
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Writes `{"input": …, "error": …}` and a newline.
pub(crate) fn write_error(
    out: &mut impl io::Write,
    input: &[u8],
    error: &dyn std::fmt::Display,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct ErrorLine<'a, E: std::fmt::Display> {
        input: &'a str,
        #[serde(serialize_with = "display")]
        error: E,
    }
    fn display<S: serde::Serializer, E: std::fmt::Display>(e: &E, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(e)
    }
    let input = &*String::from_utf8_lossy(input);
    serde_json::to_writer(&mut *out, &ErrorLine { input, error })?;
    out.write_all(b"\n")
}
