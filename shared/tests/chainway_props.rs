//! Property tests for the Chainway codec: every command and response
//! round-trips, streams survive noise and chunking, and no input panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::protocol::chainway::{
    code, decode_command, decode_response_with, encode_command, encode_response, AntennaPower,
    Bank, Command, DeviceError, InventoryReport, RecordLayout, Response, TagFilter, TagRecord, Tid,
    MAX_PAYLOAD_LEN,
};
use shared::protocol::{Decoded, SkipReason};
use shared::tag::EpcBytes;

fn bank() -> impl Strategy<Value = Bank> {
    prop_oneof![
        Just(Bank::Reserved),
        Just(Bank::Epc),
        Just(Bank::Tid),
        Just(Bank::User),
    ]
}

fn filter() -> impl Strategy<Value = TagFilter> {
    (bank(), any::<u16>(), 0u16..=256).prop_flat_map(|(bank, bit_address, bit_length)| {
        let n = usize::from(bit_length).div_ceil(8);
        proptest::collection::vec(any::<u8>(), n).prop_map(move |data| TagFilter {
            bank,
            bit_address,
            bit_length,
            data,
        })
    })
}

fn report() -> impl Strategy<Value = InventoryReport> {
    prop_oneof![
        Just(InventoryReport::Normal),
        Just(InventoryReport::Phase),
        Just(InventoryReport::Frequency),
        Just(InventoryReport::PhaseAndFrequency),
        (1u16..0xFFFD).prop_map(InventoryReport::Other),
    ]
}

const COMMAND_CODES: [u8; 9] = [
    code::GET_VERSION,
    code::SET_POWER,
    code::GET_POWER,
    code::SINGLE_INVENTORY,
    code::START_INVENTORY,
    code::STOP_INVENTORY,
    code::READ,
    code::WRITE,
    code::LOCK,
];

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::GetVersion),
        (any::<bool>(), any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(s, a, r, w)| {
            Command::SetPower {
                save: s,
                antenna: a,
                read_centi_dbm: r,
                write_centi_dbm: w,
            }
        }),
        Just(Command::GetPower),
        any::<u16>().prop_map(|param| Command::SingleInventory { param }),
        report().prop_map(|report| Command::StartInventory { report }),
        Just(Command::StopInventory),
        (any::<u32>(), filter(), bank(), any::<u16>(), any::<u16>()).prop_map(
            |(password, filter, bank, word_address, word_count)| Command::Read {
                password,
                filter,
                bank,
                word_address,
                word_count,
            }
        ),
        (
            any::<u32>(),
            filter(),
            bank(),
            any::<u16>(),
            proptest::collection::vec(any::<[u8; 2]>(), 0..64)
        )
            .prop_map(
                |(password, filter, bank, word_address, words)| Command::Write {
                    password,
                    filter,
                    bank,
                    word_address,
                    data: words.concat(),
                }
            ),
        (any::<u32>(), filter(), 0u32..=0xFF_FFFF).prop_map(|(password, filter, lock_code)| {
            Command::Lock {
                password,
                filter,
                lock_code,
            }
        }),
        (
            any::<u8>().prop_filter("modelled", |c| !COMMAND_CODES.contains(c)),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(cmd, payload)| Command::Unknown { cmd, payload }),
    ]
}

fn record() -> impl Strategy<Value = TagRecord> {
    (
        0u16..=31,
        0u16..0x800,
        any::<i16>(),
        any::<u8>(),
        proptest::option::of(any::<[u8; 12]>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..16)),
        proptest::option::of(any::<u16>()),
        proptest::option::of(0u32..=0xFF_FFFF),
    )
        .prop_flat_map(|(words, pc_low, rssi, antenna, tid, user, phase, freq)| {
            proptest::collection::vec(any::<u8>(), usize::from(words) * 2).prop_map(move |epc| {
                TagRecord {
                    pc: words << 11 | pc_low,
                    epc: EpcBytes::new(&epc).unwrap(),
                    rssi_deci_dbm: rssi,
                    antenna,
                    tid: tid.map(Tid),
                    // USER memory only travels after a TID.
                    user: tid.and(user.clone()),
                    phase,
                    frequency_khz: freq,
                }
            })
        })
}

fn plain(mut r: TagRecord) -> TagRecord {
    r.phase = None;
    r.frequency_khz = None;
    r
}

const RESPONSE_CODES: [u8; 9] = [
    code::VERSION,
    code::SET_POWER_ACK,
    code::POWER,
    code::SINGLE_TAG,
    code::TAG,
    code::STOP_ACK,
    code::READ_RESULT,
    code::WRITE_RESULT,
    code::LOCK_RESULT,
];

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        any::<[u8; 3]>().prop_map(|[major, minor, patch]| Response::Version {
            major,
            minor,
            patch
        }),
        any::<bool>().prop_map(|ok| Response::SetPowerAck { ok }),
        proptest::collection::vec(any::<(u8, u16, u16)>(), 0..8).prop_map(|v| {
            Response::Power(
                v.into_iter()
                    .map(|(antenna, r, w)| AntennaPower {
                        antenna,
                        read_centi_dbm: r,
                        write_centi_dbm: w,
                    })
                    .collect(),
            )
        }),
        // Single inventory always uses the plain layout.
        proptest::option::of(record().prop_map(plain)).prop_map(Response::SingleTag),
        record().prop_map(Response::Tag),
        any::<bool>().prop_map(|ok| Response::StopAck { ok }),
        proptest::collection::vec(any::<[u8; 2]>(), 0..64)
            .prop_map(|w| Response::ReadResult { data: w.concat() }),
        Just(Response::WriteResult),
        Just(Response::LockResult),
        // The failure shapes are defined for the replies that have them.
        prop_oneof![
            Just(code::VERSION),
            Just(code::SINGLE_TAG),
            Just(code::READ_RESULT),
            Just(code::WRITE_RESULT),
            Just(code::LOCK_RESULT),
        ]
        .prop_map(|cmd| Response::Error {
            cmd,
            error: DeviceError::Unsupported
        }),
        (
            prop_oneof![
                Just(code::READ_RESULT),
                Just(code::WRITE_RESULT),
                Just(code::LOCK_RESULT),
            ],
            any::<u8>()
        )
            .prop_map(|(cmd, code)| Response::Error {
                cmd,
                error: DeviceError::Tag { code }
            }),
        (
            any::<u8>().prop_filter("modelled", |c| !RESPONSE_CODES.contains(c)),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(cmd, payload)| Response::Unknown { cmd, payload }),
    ]
}

fn layout_of(r: &Response) -> RecordLayout {
    match r {
        Response::Tag(t) => t.layout(),
        _ => RecordLayout::default(),
    }
}

/// Decodes a complete buffer: frames in order, asserting progress.
fn drain<F>(mut buf: &[u8], mut decode: impl FnMut(&[u8]) -> Decoded<F>) -> Vec<F> {
    let mut frames = Vec::new();
    loop {
        match decode(buf) {
            Decoded::NeedMore => return frames,
            Decoded::Frame { frame, consumed } => {
                assert!(consumed >= 8 && consumed <= buf.len());
                frames.push(frame);
                buf = &buf[consumed..];
            }
            Decoded::Skip { bytes, .. } => {
                assert!(bytes >= 1 && bytes <= buf.len());
                buf = &buf[bytes..];
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_command_round_trips(cmd in command()) {
        let mut wire = Vec::new();
        encode_command(&cmd, &mut wire);
        prop_assert!(wire.len() <= MAX_PAYLOAD_LEN + 8);
        prop_assert_eq!(
            decode_command(&wire),
            Decoded::Frame { frame: cmd, consumed: wire.len() }
        );
    }

    #[test]
    fn every_response_round_trips(r in response()) {
        let mut wire = Vec::new();
        encode_response(&r, &mut wire);
        let layout = layout_of(&r);
        prop_assert_eq!(
            decode_response_with(&wire, layout),
            Decoded::Frame { frame: r, consumed: wire.len() }
        );
    }

    #[test]
    fn random_bytes_never_panic_and_always_progress(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        phase in any::<bool>(),
        frequency in any::<bool>(),
    ) {
        let layout = RecordLayout { phase, frequency };
        // Whatever decodes, even from non-canonical bytes, re-encodes to a
        // frame that decodes to the same value.
        for cmd in drain(&bytes, decode_command) {
            let mut wire = Vec::new();
            encode_command(&cmd, &mut wire);
            prop_assert_eq!(decode_command(&wire), Decoded::Frame { frame: cmd, consumed: wire.len() });
        }
        for r in drain(&bytes, |b| decode_response_with(b, layout)) {
            let mut wire = Vec::new();
            encode_response(&r, &mut wire);
            prop_assert_eq!(
                decode_response_with(&wire, layout),
                Decoded::Frame { frame: r, consumed: wire.len() }
            );
        }
    }

    #[test]
    fn valid_frames_with_random_payloads_decode_or_are_rejected_whole(
        cmd in prop_oneof![
            proptest::sample::select(COMMAND_CODES.to_vec()),
            proptest::sample::select(RESPONSE_CODES.to_vec()),
            any::<u8>(),
        ],
        payload in proptest::collection::vec(any::<u8>(), 0..80),
        phase in any::<bool>(),
        frequency in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        shared::protocol::chainway::encode_raw(&shared::protocol::chainway::RawFrame { cmd, payload: &payload }, &mut wire);
        let layout = RecordLayout { phase, frequency };
        match decode_command(&wire) {
            Decoded::Frame { frame, consumed } => {
                prop_assert_eq!(consumed, wire.len());
                let mut again = Vec::new();
                encode_command(&frame, &mut again);
                prop_assert_eq!(decode_command(&again), Decoded::Frame { frame, consumed: again.len() });
            }
            Decoded::Skip { bytes, reason } => {
                prop_assert_eq!(bytes, wire.len());
                let malformed = matches!(reason, SkipReason::Malformed { .. });
                prop_assert!(malformed);
            }
            Decoded::NeedMore => prop_assert!(false, "whole frame reported as partial"),
        }
        match decode_response_with(&wire, layout) {
            Decoded::Frame { frame, consumed } => {
                prop_assert_eq!(consumed, wire.len());
                let mut again = Vec::new();
                encode_response(&frame, &mut again);
                prop_assert_eq!(
                    decode_response_with(&again, layout),
                    Decoded::Frame { frame, consumed: again.len() }
                );
            }
            Decoded::Skip { bytes, reason } => {
                prop_assert_eq!(bytes, wire.len());
                let malformed = matches!(reason, SkipReason::Malformed { .. });
                prop_assert!(malformed);
            }
            Decoded::NeedMore => prop_assert!(false, "whole frame reported as partial"),
        }
    }

    #[test]
    fn header_heavy_noise_never_panics(
        bytes in proptest::collection::vec(
            prop_oneof![Just(0xA5u8), Just(0x5A), Just(0xC8), Just(0x8C), Just(0x00),
                        Just(0x08), Just(0x0D), Just(0x0A), any::<u8>()],
            0..512,
        ),
    ) {
        drain(&bytes, decode_command);
        drain(&bytes, |b| decode_response_with(b, RecordLayout::default()));
    }

    #[test]
    fn frames_survive_noise_between_them_and_any_chunking(
        records in proptest::collection::vec(record().prop_map(plain), 1..8),
        // Noise that cannot start a header (keep-alive zeros and the like).
        noise in proptest::collection::vec(
            proptest::collection::vec(
                any::<u8>().prop_filter("no header byte", |b| *b != 0xA5 && *b != 0xC8),
                0..6,
            ),
            8,
        ),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let expected: Vec<Response> = records.into_iter().map(Response::Tag).collect();
        let mut stream = Vec::new();
        for (r, n) in expected.iter().zip(&noise) {
            stream.extend_from_slice(n);
            encode_response(r, &mut stream);
        }
        stream.extend_from_slice(&noise[7]);

        let mut cut_at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cut_at.push(stream.len());
        cut_at.sort_unstable();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut from = 0;
        for to in cut_at {
            buf.extend_from_slice(&stream[from..to]);
            from = to;
            loop {
                match decode_response_with(&buf, RecordLayout::default()) {
                    Decoded::NeedMore => break,
                    Decoded::Frame { frame, consumed } => {
                        got.push(frame);
                        buf.drain(..consumed);
                    }
                    Decoded::Skip { bytes, .. } => {
                        buf.drain(..bytes);
                    }
                }
            }
        }
        prop_assert_eq!(got, expected);
    }
}
