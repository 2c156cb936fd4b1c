//! Chainway codec throughput: the 0x83 tag stream is the hot path (one frame
//! per tag sighting); the target is ≥ 10 million frames/s per core decoded.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shared::protocol::chainway::{
    decode_response, decode_response_with, encode_response, RecordLayout, Response, TagRecord, Tid,
};
use shared::protocol::Decoded;
use shared::tag::EpcBytes;

const FRAMES: usize = 10_000;

fn records() -> Vec<Response> {
    (0..FRAMES)
        .map(|i| {
            let mut epc = [0x30u8, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0, 0, 0, 0];
            epc[8..].copy_from_slice(&(i as u32).to_be_bytes());
            let epc = EpcBytes::new(&epc).unwrap_or_else(|_| unreachable!());
            Response::Tag(TagRecord::new(
                epc,
                -552 - (i % 200) as i16,
                (i % 4) as u8 + 1,
            ))
        })
        .collect()
}

fn stream(frames: &[Response]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frames.len() * 25);
    for f in frames {
        encode_response(f, &mut out);
    }
    out
}

/// Decodes a whole buffer the way the daemon does; returns frames seen.
fn drain(mut buf: &[u8], layout: RecordLayout) -> usize {
    let mut n = 0;
    loop {
        match decode_response_with(buf, layout) {
            Decoded::Frame { frame, consumed } => {
                black_box(&frame);
                n += 1;
                buf = &buf[consumed..];
            }
            Decoded::Skip { bytes, .. } => buf = &buf[bytes..],
            Decoded::NeedMore => return n,
        }
    }
}

fn bench(c: &mut Criterion) {
    let frames = records();
    let plain = stream(&frames);

    let mut g = c.benchmark_group("chainway");
    g.throughput(Throughput::Elements(FRAMES as u64));

    g.bench_function("decode_0x83_96bit", |b| {
        b.iter(|| drain(black_box(&plain), RecordLayout::default()))
    });

    // Same records with a TID each (EPC+TID mode / FastID): still no heap.
    let with_tid: Vec<Response> = frames
        .iter()
        .map(|f| match f {
            Response::Tag(t) => {
                let mut t = t.clone();
                t.tid = Some(Tid([0xE2; 12]));
                Response::Tag(t)
            }
            other => other.clone(),
        })
        .collect();
    let tid_stream = stream(&with_tid);
    g.bench_function("decode_0x83_96bit_tid", |b| {
        b.iter(|| drain(black_box(&tid_stream), RecordLayout::default()))
    });

    // Keep-alive bytes between every frame: the resync path.
    let mut noisy = Vec::with_capacity(plain.len() + FRAMES);
    for f in &frames {
        noisy.push(0x00);
        encode_response(f, &mut noisy);
    }
    g.bench_function("decode_0x83_with_keepalives", |b| {
        b.iter(|| drain(black_box(&noisy), RecordLayout::default()))
    });

    let mut out = Vec::with_capacity(plain.len());
    g.bench_function("encode_0x83_96bit", |b| {
        b.iter(|| {
            out.clear();
            for f in &frames {
                encode_response(black_box(f), &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();

    // Sanity: the bench decodes what it claims to.
    assert_eq!(drain(&plain, RecordLayout::default()), FRAMES);
    assert!(matches!(decode_response(&plain), Decoded::Frame { .. }));
}

criterion_group!(benches, bench);
criterion_main!(benches);
