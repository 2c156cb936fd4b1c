//! Feeds arbitrary bytes to both R2000 decoders, looping on every `Decoded`
//! the way the daemon and the simulator do, and checks what the codec
//! promises: no panic, progress on every call, never consuming past the
//! buffer, and every accepted frame re-encoding to a frame that decodes to
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::protocol::r2000::{decode_command, decode_response, encode_command, encode_response};
use shared::protocol::Decoded;

/// Runs `decode` over `data` to the end. A pending partial frame at the end
/// is treated as the daemon treats an inter-byte timeout: drop one byte.
fn exhaust<F: PartialEq + std::fmt::Debug>(
    data: &[u8],
    decode: fn(&[u8]) -> Decoded<F>,
    encode: fn(&F, &mut Vec<u8>),
) {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let rest = &data[at..];
        match decode(rest) {
            Decoded::NeedMore => at += 1,
            Decoded::Skip { bytes, reason } => {
                assert!(
                    bytes >= 1 && bytes <= rest.len(),
                    "skip {bytes} of {}",
                    rest.len()
                );
                // Rendering must not panic either (the CLI and logs do it).
                let _ = reason.to_string();
                at += bytes;
            }
            Decoded::Frame { frame, consumed } => {
                assert!(
                    consumed >= 5 && consumed <= rest.len(),
                    "consumed {consumed} of {}",
                    rest.len()
                );
                let _ = format!("{frame:?}");
                out.clear();
                encode(&frame, &mut out);
                match decode(&out) {
                    Decoded::Frame {
                        frame: again,
                        consumed: n,
                    } => {
                        assert_eq!(n, out.len());
                        assert_eq!(again, frame);
                    }
                    other => {
                        panic!("re-encoded {frame:?} as {out:02X?}, which decodes as {other:?}")
                    }
                }
                at += consumed;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exhaust(data, decode_response, encode_response);
    exhaust(data, decode_command, encode_command);
});
