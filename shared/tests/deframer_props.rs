//! The deframer against the codecs: any bytes, cut into any chunks, give
//! the same frames, and skip the same bytes, as decoding the whole stream at
//! once (a run of noise may be reported in more pieces when it arrives in
//! pieces); it never panics and every event advances the stream.

use proptest::prelude::*;
use shared::protocol::{chainway, r2000, Decoded, Deframer, Event};

/// Decodes `bytes` in one slice by hand: the reference the deframer must match.
fn one_shot<F>(bytes: &[u8], decode: impl Fn(&[u8]) -> Decoded<F>) -> Vec<Event<F>> {
    let mut events = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        match decode(&bytes[at..]) {
            Decoded::NeedMore => break,
            Decoded::Skip { bytes: n, reason } => {
                events.push(Event::Skip(shared::protocol::Skipped {
                    offset: at as u64,
                    bytes: n,
                    reason,
                }));
                at += n;
            }
            Decoded::Frame { frame, consumed } => {
                events.push(Event::Frame {
                    frame,
                    offset: at as u64,
                    len: consumed,
                });
                at += consumed;
            }
        }
    }
    events
}

/// Feeds `bytes` cut at `cuts` and collects every event.
fn chunked<F>(
    bytes: &[u8],
    cuts: &[usize],
    decode: impl Fn(&[u8]) -> Decoded<F> + Copy,
) -> Vec<Event<F>> {
    let mut d = Deframer::new(64 * 1024);
    let mut events = Vec::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut from = 0;
    for to in cuts.into_iter().chain([bytes.len()]) {
        assert_eq!(d.push(&bytes[from..to]), None);
        from = to;
        let before = d.offset();
        let mut last = before;
        for e in d.events(decode) {
            let next = match &e {
                Event::Frame { offset, len, .. } => {
                    assert_eq!(*offset, last);
                    offset + *len as u64
                }
                Event::Skip(s) => {
                    assert_eq!(s.offset, last);
                    s.range().end
                }
            };
            assert!(next > last, "an event must advance the stream");
            last = next;
            events.push(e);
        }
        assert_eq!(d.offset(), last);
    }
    events
}

/// Frames with their offsets, and skipped bytes as merged ranges.
type Outcome<F> = (Vec<(u64, usize, F)>, Vec<std::ops::Range<u64>>);

fn outcome<F>(events: Vec<Event<F>>) -> Outcome<F> {
    let mut frames = Vec::new();
    let mut skipped: Vec<std::ops::Range<u64>> = Vec::new();
    for e in events {
        match e {
            Event::Frame { frame, offset, len } => frames.push((offset, len, frame)),
            Event::Skip(s) => match skipped.last_mut() {
                Some(last) if last.end == s.offset => last.end = s.range().end,
                _ => skipped.push(s.range()),
            },
        }
    }
    (frames, skipped)
}

/// Noise with real frames of both protocols mixed in, so frames occur.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<u8>().prop_map(|n| {
            let mut v = Vec::new();
            r2000::encode_command(
                &r2000::CommandFrame {
                    addr: n,
                    command: r2000::Command::GetFirmwareVersion,
                },
                &mut v,
            );
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..30).prop_map(|payload| {
            let mut v = Vec::new();
            chainway::encode_raw(
                &chainway::RawFrame {
                    cmd: chainway::code::TAG,
                    payload: &payload,
                },
                &mut v,
            );
            v
        }),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn r2000_chunking_does_not_change_what_is_decoded(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        prop_assert_eq!(
            outcome(chunked(&bytes, &cuts, r2000::decode_response)),
            outcome(one_shot(&bytes, r2000::decode_response))
        );
        prop_assert_eq!(
            outcome(chunked(&bytes, &cuts, r2000::decode_command)),
            outcome(one_shot(&bytes, r2000::decode_command))
        );
    }

    #[test]
    fn chainway_chunking_does_not_change_what_is_decoded(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        prop_assert_eq!(
            outcome(chunked(&bytes, &cuts, chainway::decode_response)),
            outcome(one_shot(&bytes, chainway::decode_response))
        );
        prop_assert_eq!(
            outcome(chunked(&bytes, &cuts, chainway::decode_command)),
            outcome(one_shot(&bytes, chainway::decode_command))
        );
    }

    #[test]
    fn random_bytes_through_a_small_bound_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..8),
        capacity in 1usize..600,
    ) {
        let mut d = Deframer::new(capacity);
        let mut accounted = 0u64;
        let mut pushed = 0u64;
        for c in &chunks {
            pushed += c.len() as u64;
            if let Some(s) = d.push(c) {
                accounted += s.bytes as u64;
            }
            for e in d.events(chainway::decode_response) {
                accounted += match e {
                    Event::Frame { len, .. } => len as u64,
                    Event::Skip(s) => s.bytes as u64,
                };
            }
            prop_assert!(d.pending().len() <= capacity);
        }
        // Every byte is either decoded, skipped or still pending.
        prop_assert_eq!(accounted + d.pending().len() as u64, pushed);
        prop_assert_eq!(d.offset(), accounted);
    }
}
