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

/// Calls `each` with every line of `input` (without the line ending) while
/// memory stays constant however long the stream. Lines are found in the
/// reader's own buffer (`memchr` over a whole read, not one search and copy
/// per line) and handed out in place; only a line split across two reads is
/// copied, into one reused buffer. Lines are bytes: the hex paths never need
/// them as `str`, and a line that is not UTF-8 is still named (lossily) in
/// its error.
pub(crate) fn for_each_line(
    mut input: impl BufRead,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    fn strip_cr(line: &[u8]) -> &[u8] {
        line.strip_suffix(b"\r").unwrap_or(line)
    }
    let mut split = Vec::new();
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            // The last line, without a newline.
            return if split.is_empty() {
                Ok(())
            } else {
                each(strip_cr(&split))
            };
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let line = &chunk[start..end];
            if split.is_empty() {
                each(strip_cr(line))?;
            } else {
                split.extend_from_slice(line);
                each(strip_cr(&split))?;
                split.clear();
            }
            start = end + 1;
        }
        split.extend_from_slice(&chunk[start..]);
        let read = chunk.len();
        input.consume(read);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `read_until` would give (the behaviour before lines were
    /// found in place), to compare with.
    fn by_read_until(text: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let mut input = text;
        let mut buf = Vec::new();
        while input.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
            let mut line: &[u8] = &buf;
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            lines.push(line.to_vec());
            buf.clear();
        }
        lines
    }

    #[test]
    fn splits_lines_like_read_until_whatever_the_read_size() {
        let texts: [&[u8]; 8] = [
            b"",
            b"\n",
            b"a",
            b"30\r\n3074\n\n\r\n  \nlast",
            b"one\ntwo\n",
            b"\r\r\n\r",
            b"long line without any end at all, longer than the reads",
            b"x\n\xff\xfe\nyz\r\n",
        ];
        for text in texts {
            for capacity in [1, 2, 3, 5, 8, 64] {
                let reader = io::BufReader::with_capacity(capacity, text);
                let mut lines = Vec::new();
                let done = for_each_line(reader, |line| {
                    lines.push(line.to_vec());
                    Ok(())
                });
                assert!(done.is_ok());
                assert_eq!(
                    lines,
                    by_read_until(text),
                    "{:?} read {capacity} bytes at a time",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }
}
