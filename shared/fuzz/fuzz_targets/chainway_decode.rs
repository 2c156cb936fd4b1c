//! Arbitrary bytes through both Chainway decoders: decoding must never panic,
//! every answer must make progress within the buffer, and every frame that
//! decodes must re-encode to bytes that decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::protocol::chainway::{
    decode_command, decode_response_with, encode_command, encode_response, RecordLayout,
};
use shared::protocol::Decoded;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the record layout, so phase/frequency paths run too.
    let (layout, data) = match data.split_first() {
        Some((b, rest)) => (
            RecordLayout {
                phase: b & 1 != 0,
                frequency: b & 2 != 0,
            },
            rest,
        ),
        None => (RecordLayout::default(), data),
    };

    let mut buf = data;
    loop {
        match decode_command(buf) {
            Decoded::NeedMore => break,
            Decoded::Skip { bytes, .. } => {
                assert!(bytes >= 1 && bytes <= buf.len());
                buf = &buf[bytes..];
            }
            Decoded::Frame { frame, consumed } => {
                assert!(consumed >= 8 && consumed <= buf.len());
                let mut wire = Vec::new();
                encode_command(&frame, &mut wire);
                assert_eq!(
                    decode_command(&wire),
                    Decoded::Frame {
                        frame,
                        consumed: wire.len()
                    }
                );
                buf = &buf[consumed..];
            }
        }
    }

    let mut buf = data;
    loop {
        match decode_response_with(buf, layout) {
            Decoded::NeedMore => break,
            Decoded::Skip { bytes, .. } => {
                assert!(bytes >= 1 && bytes <= buf.len());
                buf = &buf[bytes..];
            }
            Decoded::Frame { frame, consumed } => {
                assert!(consumed >= 8 && consumed <= buf.len());
                let _ = serde_json::to_string(&frame);
                let mut wire = Vec::new();
                encode_response(&frame, &mut wire);
                assert_eq!(
                    decode_response_with(&wire, layout),
                    Decoded::Frame {
                        frame,
                        consumed: wire.len()
                    }
                );
                buf = &buf[consumed..];
            }
        }
    }
});
