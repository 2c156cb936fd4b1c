//! The R2000 hot path must not allocate: a tag report decodes into an inline
//! `EpcBytes`. Checked with a counting global allocator, which needs its own
//! test binary (one global allocator per binary) and the only `unsafe` in
//! the crate's tests: `GlobalAlloc` is an unsafe trait, and this impl only
//! forwards to `System`.
#![allow(unsafe_code, clippy::unwrap_used)]

use shared::protocol::r2000::{decode_response, encode_response, Response, ResponseFrame};
use shared::protocol::Decoded;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn tag_reports_and_round_ends_decode_without_allocating() {
    // Captured frames (see tests/r2000.rs): two tag reports, a bad-checksum
    // copy, noise, an end of round and an error.
    let stream: Vec<u8> = [
        "A0 13 01 89 8C 30 00 30 08 33 B2 DD D9 01 40 00 00 00 01 37 BB",
        "A0 13 01 89 74 30 00 E2 00 40 74 85 0A 01 03 16 30 70 E1 36 28",
        "00 FF 13",
        "A0 13 01 89 74 30 00 E2 00 40 74 85 0A 01 03 16 30 70 E1 36 29",
        "A0 0A 01 89 00 00 11 00 00 00 05 B6",
        "A0 04 01 89 22 B0",
    ]
    .iter()
    .flat_map(|line| shared::hex::decode(line).unwrap())
    .collect();

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut buf = &stream[..];
    let mut tags = 0;
    let mut others = 0;
    while !buf.is_empty() {
        match decode_response(buf) {
            Decoded::Frame { frame, consumed } => {
                match frame.response {
                    Response::TagReport(_) => tags += 1,
                    _ => others += 1,
                }
                buf = &buf[consumed..];
            }
            Decoded::Skip { bytes, .. } => buf = &buf[bytes..],
            Decoded::NeedMore => break,
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!((tags, others), (2, 2));
    assert_eq!(after - before, 0, "decoding allocated");

    // Encoding into a buffer with room is allocation-free too.
    let frame = ResponseFrame {
        addr: 1,
        response: match decode_response(&stream) {
            Decoded::Frame { frame, .. } => frame.response,
            other => panic!("{other:?}"),
        },
    };
    let mut out = Vec::with_capacity(64);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    encode_response(&frame, &mut out);
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed) - before,
        0,
        "encoding allocated"
    );
    assert_eq!(out, stream[..21]);
}
