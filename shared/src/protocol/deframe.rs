//! The one loop over a codec: a byte stream goes in as it arrives (any
//! chunking), frames and skipped ranges come out in stream order.
//!
//! The deframer owns the bytes not yet decoded and knows each one's offset
//! in the stream; the codec (any `Fn(&[u8]) -> Decoded<F>`) only looks at
//! the front. It keeps the codec's promises even if a codec broke them: a
//! skip or frame always advances by at least one byte and never past what is
//! buffered, so no input can make it loop or panic.

use std::ops::Range;

use super::{Decoded, SkipReason};

/// Bytes the deframer dropped, where they sat in the stream, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Stream offset of the first dropped byte.
    pub offset: u64,
    /// How many bytes were dropped (at least 1).
    pub bytes: usize,
    pub reason: SkipReason,
}

impl Skipped {
    /// The dropped bytes as a range of stream offsets.
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset + self.bytes as u64
    }
}

/// What the deframer found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<F> {
    /// A whole frame that started at stream `offset` and took `len` bytes.
    Frame { frame: F, offset: u64, len: usize },
    /// Bytes that could not start a frame.
    Skip(Skipped),
}

/// A byte buffer in front of a codec, bounded by `capacity`.
#[derive(Debug, Clone)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Index in `buf` of the first byte not yet decoded.
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    capacity: usize,
}

impl Deframer {
    /// A deframer holding at most `capacity` undecoded bytes (at least one
    /// byte; give it room for the protocol's longest frame, or frames that
    /// long will be dropped as [`SkipReason::Overflow`]).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            buf: Vec::with_capacity(capacity.min(64 * 1024)),
            start: 0,
            offset: 0,
            capacity,
        }
    }

    /// Appends bytes as they arrived. If more is now buffered than the bound
    /// allows, the oldest bytes are dropped and reported.
    pub fn push(&mut self, data: &[u8]) -> Option<Skipped> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        let excess = self.buf.len().checked_sub(self.capacity)?;
        if excess == 0 {
            return None;
        }
        Some(self.drop_front(
            excess,
            SkipReason::Overflow {
                capacity: self.capacity,
            },
        ))
    }

    /// The next frame or skipped range, or `None` when `decode` needs more
    /// bytes than are buffered.
    pub fn next<F>(&mut self, decode: impl FnOnce(&[u8]) -> Decoded<F>) -> Option<Event<F>> {
        let pending = self.pending();
        if pending.is_empty() {
            return None;
        }
        let available = pending.len();
        match decode(pending) {
            Decoded::NeedMore => None,
            Decoded::Skip { bytes, reason } => Some(Event::Skip(
                self.drop_front(bytes.clamp(1, available), reason),
            )),
            Decoded::Frame { frame, consumed } => {
                let len = consumed.clamp(1, available);
                let offset = self.offset;
                self.advance(len);
                Some(Event::Frame { frame, offset, len })
            }
        }
    }

    /// Every event the buffered bytes give, in order, until `decode` needs
    /// more.
    pub fn events<'a, F>(
        &'a mut self,
        mut decode: impl FnMut(&[u8]) -> Decoded<F> + 'a,
    ) -> impl Iterator<Item = Event<F>> + 'a {
        std::iter::from_fn(move || self.next(&mut decode))
    }

    /// The bytes not yet decoded.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Stream offset of the first byte not yet decoded (= bytes decoded or
    /// skipped so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Drops whatever is buffered (a reset, or the end of a stream) and
    /// reports it with `reason`; `None` if nothing was buffered.
    pub fn clear(&mut self, reason: SkipReason) -> Option<Skipped> {
        let n = self.pending().len();
        (n > 0).then(|| self.drop_front(n, reason))
    }

    fn drop_front(&mut self, bytes: usize, reason: SkipReason) -> Skipped {
        let skipped = Skipped {
            offset: self.offset,
            bytes,
            reason,
        };
        self.advance(bytes);
        skipped
    }

    fn advance(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::r2000;

    /// A codec for the tests: frames are `[n, n bytes]`, 0xFF is noise.
    fn toy(buf: &[u8]) -> Decoded<Vec<u8>> {
        match buf {
            [] => Decoded::NeedMore,
            [0xFF, ..] => Decoded::Skip {
                bytes: 1,
                reason: SkipReason::NoHeader,
            },
            [n, rest @ ..] => match rest.get(..usize::from(*n)) {
                Some(body) => Decoded::Frame {
                    frame: body.to_vec(),
                    consumed: 1 + body.len(),
                },
                None => Decoded::NeedMore,
            },
        }
    }

    fn all(d: &mut Deframer) -> Vec<Event<Vec<u8>>> {
        d.events(toy).collect()
    }

    #[test]
    fn frames_and_skips_carry_their_stream_offsets() {
        let mut d = Deframer::new(64);
        assert_eq!(d.push(&[0xFF, 2, 7]), None);
        assert_eq!(
            all(&mut d),
            vec![Event::Skip(Skipped {
                offset: 0,
                bytes: 1,
                reason: SkipReason::NoHeader
            })]
        );
        assert_eq!(d.pending(), &[2, 7]);
        d.push(&[8, 0]);
        let events = all(&mut d);
        assert_eq!(
            events,
            vec![
                Event::Frame {
                    frame: vec![7, 8],
                    offset: 1,
                    len: 3
                },
                Event::Frame {
                    frame: vec![],
                    offset: 4,
                    len: 1
                }
            ]
        );
        assert_eq!(d.offset(), 5);
        assert!(d.pending().is_empty());
    }

    #[test]
    fn a_flood_is_cut_to_the_bound_and_reported() {
        let mut d = Deframer::new(4);
        let dropped = d.push(&[9, 1, 2, 3, 4, 5]);
        assert_eq!(
            dropped,
            Some(Skipped {
                offset: 0,
                bytes: 2,
                reason: SkipReason::Overflow { capacity: 4 }
            })
        );
        assert_eq!(d.pending(), &[2, 3, 4, 5]);
        assert_eq!(d.offset(), 2);
    }

    #[test]
    fn a_codec_that_breaks_its_promises_still_cannot_stall_or_overrun() {
        let mut d = Deframer::new(16);
        d.push(&[1, 2, 3]);
        let zero_skip = d.next(|_| Decoded::<()>::Skip {
            bytes: 0,
            reason: SkipReason::NoHeader,
        });
        assert!(matches!(
            zero_skip,
            Some(Event::Skip(Skipped { bytes: 1, .. }))
        ));
        let overrun = d.next(|_| Decoded::Frame {
            frame: (),
            consumed: 99,
        });
        assert_eq!(
            overrun,
            Some(Event::Frame {
                frame: (),
                offset: 1,
                len: 2
            })
        );
        assert_eq!(d.next(|_| Decoded::<()>::NeedMore), None);
    }

    #[test]
    fn clear_reports_the_cut_frame() {
        let mut d = Deframer::new(r2000::MAX_FRAME_LEN);
        d.push(&[r2000::HEAD, 0x05, 0x01]);
        assert_eq!(d.events(r2000::decode_response).count(), 0);
        let cut = d.clear(SkipReason::BadLength { len: 5 });
        assert_eq!(cut.map(|s| s.range()), Some(0..3));
        assert_eq!(d.clear(SkipReason::NoHeader), None);
    }
}
