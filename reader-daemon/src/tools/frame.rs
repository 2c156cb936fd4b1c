//! `reader-daemon frame decode`: the frames in a captured serial byte stream.
//!
//! All hex input (arguments, or stdin lines) is one continuous stream, as a
//! capture wraps lines wherever it likes. The `shared` codec is asked for the
//! next frame until it needs more bytes; runs of skipped bytes are merged
//! into one range carrying the reason of its first skip (the byte that broke
//! the sync), so noise reads as one range, not hundreds of lines.

use std::io::{self, BufRead, Write};

use serde::Serialize;
use shared::protocol::{chainway, r2000, Decoded, Deframer, Direction, Event};

use super::{for_each_line, write_error, Tally};

/// The reader protocols the tool can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    R2000,
    Chainway,
}

/// One line of output.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Line<'a, F: Serialize> {
    Frame {
        offset: u64,
        len: usize,
        frame: &'a F,
    },
    Skipped {
        offset: u64,
        skipped: u64,
        reason: String,
    },
}

/// Bytes fed to the deframer at a time: a capture line may be long, and the
/// deframer holds less than one frame between pushes.
const CHUNK: usize = 4096;

/// Incremental decoder over one byte stream: the `shared` deframer plus the
/// merging of skip runs for output.
struct Stream<F, D: FnMut(&[u8]) -> Decoded<F>> {
    decode: D,
    input: Deframer,
    /// A run of skipped bytes not yet written: (offset, length, first reason).
    pending_skip: Option<(u64, u64, String)>,
    frames: u64,
}

impl<F: Serialize, D: FnMut(&[u8]) -> Decoded<F>> Stream<F, D> {
    fn new(decode: D) -> Self {
        Self {
            decode,
            input: Deframer::new(2 * CHUNK),
            pending_skip: None,
            frames: 0,
        }
    }

    fn feed(&mut self, bytes: &[u8], out: &mut impl Write) -> io::Result<()> {
        for chunk in bytes.chunks(CHUNK) {
            // Never fires: less than one frame (≤ 2 KiB) stays buffered.
            if let Some(dropped) = self.input.push(chunk) {
                self.skip(dropped.offset, dropped.bytes, &dropped.reason);
            }
            while let Some(event) = self.input.next(&mut self.decode) {
                match event {
                    Event::Frame { frame, offset, len } => {
                        self.flush_skip(out)?;
                        let line = Line::Frame {
                            offset,
                            len,
                            frame: &frame,
                        };
                        serde_json::to_writer(&mut *out, &line)?;
                        out.write_all(b"\n")?;
                        self.frames += 1;
                    }
                    Event::Skip(s) => self.skip(s.offset, s.bytes, &s.reason),
                }
            }
        }
        Ok(())
    }

    fn skip(&mut self, offset: u64, bytes: usize, reason: &dyn std::fmt::Display) {
        match &mut self.pending_skip {
            Some((_, len, _)) => *len += bytes as u64,
            None => self.pending_skip = Some((offset, bytes as u64, reason.to_string())),
        }
    }

    fn flush_skip(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Some((offset, skipped, reason)) = self.pending_skip.take() {
            let line: Line<'_, F> = Line::Skipped {
                offset,
                skipped,
                reason,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// End of input: whatever is left is a frame cut short.
    fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let (offset, rest) = (self.input.offset(), self.input.pending().len());
        if rest > 0 {
            let reason = format!("stream ended {rest} bytes into a frame");
            self.skip(offset, rest, &reason);
        }
        self.flush_skip(out)
    }
}

/// Where the hex comes from.
#[derive(Debug)]
pub enum Input<'a, R> {
    Args(&'a [String]),
    Lines(R),
}

/// Decodes the whole input as one stream. A line that is not hex gets an
/// error line and counts as failed; the stream goes on with the next line.
/// Frames and skipped ranges are counted as `ok`.
pub fn decode<R: BufRead>(
    protocol: Protocol,
    direction: Direction,
    input: Input<'_, R>,
    out: &mut impl Write,
) -> io::Result<Tally> {
    match (protocol, direction) {
        (Protocol::R2000, Direction::Response) => run(r2000::decode_response, input, out),
        (Protocol::R2000, Direction::Command) => run(r2000::decode_command, input, out),
        (Protocol::Chainway, Direction::Response) => run(chainway::decode_response, input, out),
        (Protocol::Chainway, Direction::Command) => run(chainway::decode_command, input, out),
    }
}

fn run<F: Serialize, R: BufRead>(
    decode: impl FnMut(&[u8]) -> Decoded<F>,
    input: Input<'_, R>,
    out: &mut impl Write,
) -> io::Result<Tally> {
    let mut stream = Stream::new(decode);
    let mut bytes = Vec::with_capacity(4096);
    let mut tally = Tally::default();
    let mut chunk = |text: &[u8], out: &mut dyn Write| -> io::Result<()> {
        bytes.clear();
        match shared::hex::decode_bytes_into(text, &mut bytes) {
            Ok(()) => stream.feed(&bytes, &mut WriteRef(out)),
            Err(e) => {
                tally.failed += 1;
                write_error(&mut WriteRef(out), text, &e)
            }
        }
    };
    match input {
        Input::Args(args) => {
            for a in args {
                chunk(a.as_bytes(), out)?;
            }
        }
        Input::Lines(reader) => for_each_line(reader, |line| chunk(line, out))?,
    }
    stream.finish(out)?;
    tally.ok = stream.frames;
    Ok(tally)
}

/// Lets the generic writer helpers take a `dyn Write`.
struct WriteRef<'a>(&'a mut dyn Write);

impl Write for WriteRef<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
