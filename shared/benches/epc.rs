//! Throughput of the EPC codec on a mix of schemes, against the targets in
//! docs/epc.md: decode ≥ 5 M EPCs/s, and decode + JSON fast enough for the
//! daemon's ≥ 1 M lines/s of hex → JSON. Run: `cargo bench -p shared --bench epc`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shared::epc::{decode, encode_giai96};

/// One EPC per scheme family plus foreign tags, weighted towards the
/// warehouse's own GIAI-96 as a real read stream is.
const MIX: &[&str] = &[
    "3474257BF40000000000162E",                             // GIAI-96
    "3474257BF40000000000162F",                             // GIAI-96
    "3474257BF400000000001630",                             // GIAI-96
    "3874257BF59B2C2BF10000000000000000000000000000000000", // GIAI-202
    "3074257BF7194E4000001A85",                             // SGTIN-96
    "3674257BF6B7A659B2C2BF100000000000000000000000000000", // SGTIN-198
    "3174257BF4499602D2000000",                             // SSCC-96
    "3274257BF46072000000162E",                             // SGLN-96
    "3374257BF40C0E400000162E",                             // GRAI-96
    "3774257BF40C0E59B2C2BF1000000000000000000000",         // GRAI-170
    "350007AB70425D4000000586",                             // GID-96
    "E2004216CB60601500951ED6",                             // raw: unknown header
];

fn mix() -> Vec<Vec<u8>> {
    MIX.iter()
        .map(|h| shared::hex::decode(h).unwrap_or_default())
        .collect()
}

fn bench_decode(c: &mut Criterion) {
    let epcs = mix();
    let mut g = c.benchmark_group("epc");
    g.throughput(Throughput::Elements(epcs.len() as u64));
    g.bench_function("decode_mix", |b| {
        b.iter(|| {
            for e in &epcs {
                black_box(decode(black_box(e)));
            }
        })
    });
    g.bench_function("decode_json_mix", |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            for e in &epcs {
                out.clear();
                let epc = decode(black_box(e));
                // Errors cannot happen writing to a Vec; ignore to keep the
                // loop free of panic paths.
                let _ = serde_json::to_writer(&mut out, &epc);
                black_box(&out);
            }
        })
    });
    g.bench_function("hex_decode_json_mix", |b| {
        // What `reader-daemon epc decode` does per input line.
        let mut out = Vec::with_capacity(512);
        let mut bytes = Vec::with_capacity(62);
        b.iter(|| {
            for h in MIX {
                out.clear();
                bytes.clear();
                let _ = shared::hex::decode_into(black_box(h), &mut bytes);
                let epc = decode(&bytes);
                let _ = serde_json::to_writer(&mut out, &epc);
                out.push(b'\n');
                black_box(&out);
            }
        })
    });
    g.bench_function("tag_uri_mix", |b| {
        let decoded: Vec<_> = epcs.iter().map(|e| decode(e)).collect();
        let mut out = String::with_capacity(256);
        b.iter(|| {
            for epc in &decoded {
                out.clear();
                use std::fmt::Write;
                let _ = write!(out, "{}", epc.tag_uri());
                black_box(&out);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("epc_encode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_giai96", |b| {
        b.iter(|| {
            black_box(encode_giai96(
                black_box(1),
                "0614141",
                black_box("123456789"),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
