//! Criterion benchmarks for the R2000 codec's hot path: the stream of 96-bit
//! tag reports a real-time inventory produces. The budget is ≥ 10 million
//! decoded frames per second per core (under 100 ns each), far above the
//! ~600 reports/s a 115200-baud port can carry, so the daemon can serve many
//! ports from one core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shared::protocol::r2000::{
    decode_response, encode_response, Response, ResponseFrame, TagReport,
};
use shared::protocol::Decoded;
use shared::tag::EpcBytes;

const FRAMES: usize = 1000;

fn tag_reports() -> Vec<ResponseFrame> {
    (0..FRAMES)
        .map(|i| {
            let mut epc = [0x30u8, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0, 0, 0, 0];
            epc[8..].copy_from_slice(&(i as u32).to_be_bytes());
            ResponseFrame {
                addr: 1,
                response: Response::TagReport(TagReport {
                    cmd: 0x89,
                    freq_index: (i % 50) as u8 + 7,
                    antenna: (i % 4) as u8,
                    pc: 0x3000,
                    epc: EpcBytes::new(&epc).unwrap(),
                    rssi_dbm: -40 - (i % 40) as i16,
                }),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let frames = tag_reports();
    let mut stream = Vec::new();
    for f in &frames {
        encode_response(f, &mut stream);
    }
    assert_eq!(stream.len(), FRAMES * 21);

    let mut group = c.benchmark_group("r2000");
    group.throughput(Throughput::Elements(FRAMES as u64));

    group.bench_function("decode_96bit_tag_reports", |b| {
        b.iter(|| {
            let mut buf = black_box(&stream[..]);
            let mut rssi_sum = 0i32;
            while !buf.is_empty() {
                match decode_response(buf) {
                    Decoded::Frame { frame, consumed } => {
                        if let Response::TagReport(t) = frame.response {
                            rssi_sum += i32::from(t.rssi_dbm);
                        }
                        buf = &buf[consumed..];
                    }
                    Decoded::Skip { bytes, .. } => buf = &buf[bytes..],
                    Decoded::NeedMore => break,
                }
            }
            rssi_sum
        })
    });

    let mut out = Vec::with_capacity(stream.len());
    group.bench_function("encode_96bit_tag_reports", |b| {
        b.iter(|| {
            out.clear();
            for f in black_box(&frames) {
                encode_response(f, &mut out);
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
