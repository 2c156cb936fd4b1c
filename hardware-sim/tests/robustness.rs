//! Whatever a host sends — noise, truncated or corrupted frames, valid
//! frames with absurd fields — the reader never panics and keeps answering.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hardware_sim::{Field, ProtocolKind, ReaderCore, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shared::protocol::{chainway, r2000, Decoded};

type Result<T = ()> = anyhow::Result<T>;

/// Valid-checksum frames with random command codes and payloads, noise,
/// and cut or bit-flipped copies of them.
fn hostile_input(protocol: ProtocolKind, rng: &mut ChaCha8Rng) -> Vec<(Duration, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..400u64 {
        let len = rng.gen_range(0..12);
        let payload: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut frame = Vec::new();
        match protocol {
            ProtocolKind::R2000 => r2000::encode_command(
                &r2000::CommandFrame {
                    addr: if rng.gen_bool(0.8) { 1 } else { rng.gen() },
                    command: r2000::Command::Unknown {
                        cmd: rng.gen_range(0x60..0xA0),
                        data: payload,
                    },
                },
                &mut frame,
            ),
            ProtocolKind::Chainway => chainway::encode_command(
                &chainway::Command::Unknown {
                    cmd: rng.gen_range(0..0x100u16) as u8,
                    payload,
                },
                &mut frame,
            ),
        }
        match rng.gen_range(0..6) {
            0 => frame = (0..rng.gen_range(1..40)).map(|_| rng.gen()).collect(),
            1 => {
                let cut = rng.gen_range(0..frame.len());
                frame.truncate(cut);
            }
            2 => {
                let i = rng.gen_range(0..frame.len());
                frame[i] ^= 1 << rng.gen_range(0..8);
            }
            _ => {}
        }
        out.push((Duration::from_millis(i * 5), frame));
    }
    out
}

fn scenario(protocol: ProtocolKind) -> Result<Scenario> {
    let mut s = Scenario::quick(protocol, "/nonexistent/r", 30);
    s.readers[0].antennas = 4;
    Ok(s)
}

#[test]
fn hostile_hosts_do_not_crash_either_reader() -> Result {
    for protocol in [ProtocolKind::R2000, ProtocolKind::Chainway] {
        for seed in 0..4 {
            let s = scenario(protocol)?;
            let field = Arc::new(Mutex::new(Field::from_scenario(&s)?));
            let mut core = ReaderCore::new(&s, 0, field).ok_or_else(|| anyhow::anyhow!("core"))?;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let input = hostile_input(protocol, &mut rng);
            let out = core.run_virtual(&input, Duration::from_secs(3));
            // Every byte the reader sent is a frame the host codec accepts.
            let bytes: Vec<u8> = out.iter().flat_map(|c| c.bytes.clone()).collect();
            let mut pos = 0;
            while pos < bytes.len() {
                let step = match protocol {
                    ProtocolKind::R2000 => match r2000::decode_response(&bytes[pos..]) {
                        Decoded::Frame { consumed, .. } => consumed,
                        other => anyhow::bail!("r2000 seed {seed}: {other:?} at {pos}"),
                    },
                    ProtocolKind::Chainway => match chainway::decode_response(&bytes[pos..]) {
                        Decoded::Frame { consumed, .. } => consumed,
                        other => anyhow::bail!("chainway seed {seed}: {other:?} at {pos}"),
                    },
                };
                pos += step;
            }
            assert!(core.counters().bytes_skipped > 0);
        }
    }
    Ok(())
}
