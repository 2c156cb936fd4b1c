//! The R2000 codec against captured frames, broken streams and generated
//! frames of every command and response.
#![allow(clippy::unwrap_used)]

use proptest::collection::vec;
use proptest::prelude::*;
use shared::hex;
use shared::protocol::r2000::{
    decode_command, decode_response, encode_command, encode_response, AntennaStay, BufferRecord,
    Command, CommandFrame, ErrorCode, FrequencyRegion, Response, ResponseFrame, TagOperation,
    TagRead, TagReport,
};
use shared::protocol::{Decoded, SkipReason};
use shared::tag::EpcBytes;

/// How far one decoder call moves through a buffer (`None`: needs more).
type Progress = fn(&[u8]) -> Option<usize>;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What a decoder did at one position of a stream.
#[derive(Debug, Clone, PartialEq)]
enum Event<F> {
    Frame {
        at: usize,
        len: usize,
        frame: F,
    },
    Skip {
        at: usize,
        bytes: usize,
        reason: SkipReason,
    },
}

/// Runs `decode` over a whole stream the way the daemon does: drop what it
/// says to drop, and at the end of input (the inter-byte timeout) drop one
/// byte of a pending partial frame and go on.
fn decode_all<F>(buf: &[u8], decode: impl Fn(&[u8]) -> Decoded<F>) -> Vec<Event<F>> {
    let mut at = 0;
    let mut events = Vec::new();
    while at < buf.len() {
        match decode(&buf[at..]) {
            Decoded::NeedMore => {
                events.push(Event::Skip {
                    at,
                    bytes: 1,
                    reason: SkipReason::NoHeader,
                });
                at += 1;
            }
            Decoded::Frame { frame, consumed } => {
                assert!(consumed >= 5, "a frame is at least 5 bytes");
                events.push(Event::Frame {
                    at,
                    len: consumed,
                    frame,
                });
                at += consumed;
            }
            Decoded::Skip { bytes, reason } => {
                assert!(bytes >= 1, "skip must make progress");
                events.push(Event::Skip { at, bytes, reason });
                at += bytes;
            }
        }
    }
    events
}

fn frames<F: Clone>(events: &[Event<F>]) -> Vec<F> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Frame { frame, .. } => Some(frame.clone()),
            Event::Skip { .. } => None,
        })
        .collect()
}

/// Hex over several lines, as captures are pasted.
fn hex_lines(text: &str) -> Result<Vec<u8>, hex::HexError> {
    hex::decode(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn one_response(bytes: &[u8]) -> Result<ResponseFrame, String> {
    match decode_response(bytes) {
        Decoded::Frame { frame, consumed } if consumed == bytes.len() => Ok(frame),
        other => Err(format!("expected one whole frame, got {other:?}")),
    }
}

fn one_command(bytes: &[u8]) -> Result<CommandFrame, String> {
    match decode_command(bytes) {
        Decoded::Frame { frame, consumed } if consumed == bytes.len() => Ok(frame),
        other => Err(format!("expected one whole frame, got {other:?}")),
    }
}

fn response_bytes(frame: &ResponseFrame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_response(frame, &mut out);
    out
}

fn command_bytes(frame: &CommandFrame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(frame, &mut out);
    out
}

fn tag(freq_index: u8, antenna: u8, epc: &str, rssi_dbm: i16) -> Result<Response, String> {
    Ok(Response::TagReport(TagReport {
        cmd: 0x89,
        freq_index,
        antenna,
        pc: 0x3000,
        epc: EpcBytes::from_hex(epc).map_err(|e| e.to_string())?,
        rssi_dbm,
    }))
}

#[test]
fn worked_checksum_example_is_get_firmware() -> TestResult {
    // PROTOCOLS.md §1 (and espinr/activioty, see below): get firmware, address 1.
    let bytes = hex::decode("A0 03 01 72 EA")?;
    let frame = one_command(&bytes)?;
    assert_eq!(
        frame,
        CommandFrame {
            addr: 1,
            command: Command::GetFirmwareVersion
        }
    );
    assert_eq!(command_bytes(&frame), bytes);
    Ok(())
}

/// Exchange with an IND903 (R2000) module captured in espinr/activioty,
/// docs/checkpoints/rfid-reader-python/rfid-python.md.
#[test]
fn activioty_ind903_capture() -> TestResult {
    let firmware = hex::decode("A0 05 01 72 01 09 DE")?;
    assert_eq!(
        one_response(&firmware)?.response,
        Response::Firmware { major: 1, minor: 9 }
    );

    let set_antenna = hex::decode("A0 04 01 74 00 E7")?;
    let cmd = CommandFrame {
        addr: 1,
        command: Command::SetWorkAntenna { antenna: 0 },
    };
    assert_eq!(one_command(&set_antenna)?, cmd);
    assert_eq!(command_bytes(&cmd), set_antenna);

    let ack = hex::decode("A0 04 01 74 10 D7")?;
    assert_eq!(one_response(&ack)?.response, Response::Ok { cmd: 0x74 });

    let start = hex::decode("A0 04 01 89 01 D1")?;
    assert_eq!(
        one_command(&start)?.command,
        Command::RealTimeInventory { repeat: 1 }
    );

    let report = hex::decode("A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF")?;
    let frame = one_response(&report)?;
    // FreqAnt 0x04: frequency index 1, antenna 0; RSSI 0x45 = 69 − 129 dBm.
    assert_eq!(frame.response, tag(1, 0, "E20030166613012115 5074EF", -60)?);
    assert_eq!(response_bytes(&frame), report);

    // The page's end-of-round frame carries check 0xBC where its bytes sum
    // to a check of 0xAE (hand-edited docs): the decoder must say exactly that.
    let documented = hex::decode("A0 0A 01 89 00 00 1D 00 00 00 01 BC")?;
    assert_eq!(
        decode_response(&documented),
        Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadChecksum {
                expected: 0xAE,
                found: 0xBC
            }
        }
    );
    let end = hex::decode("A0 0A 01 89 00 00 1D 00 00 00 01 AE")?;
    let frame = one_response(&end)?;
    assert_eq!(
        frame.response,
        Response::InventoryEnd {
            cmd: 0x89,
            antenna: 0,
            read_rate: 29,
            total_read: 1
        }
    );
    assert_eq!(response_bytes(&frame), end);
    Ok(())
}

/// A real-time inventory session pasted as comments into public race-timing
/// scripts (yatta_lib, Python 2; found with the code search, the index names
/// no repository for them): two tags on frequency indices 35, 29 and 53.
#[test]
fn race_timing_capture_decodes_as_one_stream() -> TestResult {
    let stream = hex_lines(
        "A0 13 01 89 8C 30 00 30 08 33 B2 DD D9 01 40 00 00 00 01 37 BB
         A0 13 01 89 74 30 00 E2 00 40 74 85 0A 01 03 16 30 70 E1 36 29
         A0 13 01 89 D4 30 00 30 08 33 B2 DD D9 01 40 00 00 00 01 36 74
         A0 13 01 89 D4 30 00 E2 00 40 74 85 0A 01 03 16 30 70 E1 35 CA
         A0 13 01 89 D4 30 00 E2 00 40 74 85 0A 01 03 16 90 67 DD 2F 7D
         A0 0A 01 89 00 00 11 00 00 00 05 B6",
    )?;
    let events = decode_all(&stream, decode_response);
    let got: Vec<Response> = frames(&events).into_iter().map(|f| f.response).collect();
    let expected = vec![
        tag(35, 0, "300833B2DDD9014000000001", -74)?,
        tag(29, 0, "E2004074850A0103163070E1", -75)?,
        tag(53, 0, "300833B2DDD9014000000001", -75)?,
        tag(53, 0, "E2004074850A0103163070E1", -76)?,
        tag(53, 0, "E2004074850A0103169067DD", -82)?,
        Response::InventoryEnd {
            cmd: 0x89,
            antenna: 0,
            read_rate: 17,
            total_read: 5,
        },
    ];
    assert_eq!(got, expected);
    assert_eq!(events.len(), 6, "no skips in a clean capture: {events:?}");
    // Encoding the decoded frames gives back the capture byte for byte.
    let mut out = Vec::new();
    for f in frames(&events) {
        encode_response(&f, &mut out);
    }
    assert_eq!(out, stream);
    Ok(())
}

#[test]
fn error_frames_are_told_apart_by_length() -> TestResult {
    // 0x89 error, Len 0x04: 0xA0+0x04+0x01+0x89+0x22 = 0x150 → check 0xB0.
    let e = hex::decode("A0 04 01 89 22 B0")?;
    assert_eq!(
        one_response(&e)?.response,
        Response::Error {
            cmd: 0x89,
            code: ErrorCode::ANTENNA_MISSING
        }
    );
    // 0x8A names the missing antenna, Len 0x05: sum 0x153 → check 0xAD.
    let e = hex::decode("A0 05 01 8A 01 22 AD")?;
    assert_eq!(
        one_response(&e)?.response,
        Response::AntennaError {
            antenna: 1,
            code: ErrorCode::ANTENNA_MISSING
        }
    );
    // Buffer empty on 0x90: sum 0x171 → check 0x8F.
    let e = hex::decode("A0 04 01 90 38 93")?;
    let frame = one_response(&e)?;
    assert_eq!(
        frame.response,
        Response::Error {
            cmd: 0x90,
            code: ErrorCode::BUFFER_EMPTY
        }
    );
    assert_eq!(response_bytes(&frame), e);
    assert_eq!(ErrorCode::BUFFER_EMPTY.to_string(), "0x38 (buffer empty)");
    Ok(())
}

#[test]
fn bad_checksum_frame_is_skipped_and_the_next_one_kept() -> TestResult {
    let mut stream = hex::decode("A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BE")?;
    let good = hex::decode("A0 0A 01 89 00 00 11 00 00 00 05 B6")?;
    stream.extend_from_slice(&good);
    let events = decode_all(&stream, decode_response);
    assert_eq!(
        events[0],
        Event::Skip {
            at: 0,
            bytes: 1,
            reason: SkipReason::BadChecksum {
                expected: 0xBF,
                found: 0xBE
            }
        }
    );
    assert_eq!(
        events[1],
        Event::Skip {
            at: 1,
            bytes: 20,
            reason: SkipReason::NoHeader
        }
    );
    assert_eq!(frames(&events), vec![one_response(&good)?]);
    Ok(())
}

#[test]
fn good_frame_inside_a_bad_one_is_found() -> TestResult {
    // A header whose Len covers the next (good) frame: the bad "frame" must
    // give up only its header byte.
    let good = hex::decode("A0 04 01 74 10 D7")?;
    let mut stream = vec![0xA0, 0x08, 0x01];
    stream.extend_from_slice(&good);
    stream.extend_from_slice(&good);
    let events = decode_all(&stream, decode_response);
    assert_eq!(frames(&events).len(), 2, "{events:?}");
    Ok(())
}

#[test]
fn bad_length_and_noise_are_named() {
    assert_eq!(
        decode_response(&[0xA0, 0x02, 0x01, 0x72]),
        Decoded::Skip {
            bytes: 1,
            reason: SkipReason::BadLength { len: 2 }
        }
    );
    assert_eq!(
        decode_response(&[0x00, 0x13, 0xA0]),
        Decoded::Skip {
            bytes: 2,
            reason: SkipReason::NoHeader
        }
    );
    assert_eq!(decode_response(&[]), Decoded::NeedMore);
    assert_eq!(decode_response(&[0xA0]), Decoded::NeedMore);
}

#[test]
fn tag_report_whose_pc_disagrees_with_len_is_malformed() -> TestResult {
    // PC 0x3800 announces 7 words (14 bytes) but 12 follow; checksum made right.
    let mut f = hex::decode("A0 13 01 89 04 38 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45")?;
    let sum = f.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    f.push(sum.wrapping_neg());
    assert_eq!(
        decode_response(&f),
        Decoded::Skip {
            bytes: f.len(),
            reason: SkipReason::Malformed {
                cmd: 0x89,
                detail: "tag report length disagrees with the PC word's EPC length"
            }
        }
    );
    Ok(())
}

#[test]
fn split_at_every_position_gives_the_same_frames() -> TestResult {
    let stream = hex_lines(
        "A0 13 01 89 8C 30 00 30 08 33 B2 DD D9 01 40 00 00 00 01 37 BB
         A0 04 01 89 22 B0
         A0 0A 01 89 00 00 11 00 00 00 05 B6",
    )?;
    let whole = frames(&decode_all(&stream, decode_response));
    assert_eq!(whole.len(), 3);
    for cut in 0..=stream.len() {
        // The daemon's loop: bytes arrive in two reads, split at `cut`.
        let mut buf: Vec<u8> = stream[..cut].to_vec();
        let mut got = Vec::new();
        let mut fed_rest = false;
        loop {
            match decode_response(&buf) {
                Decoded::Frame { frame, consumed } => {
                    got.push(frame);
                    buf.drain(..consumed);
                }
                Decoded::Skip { bytes, reason } => {
                    return Err(format!("cut {cut}: unexpected skip {bytes} ({reason})").into())
                }
                Decoded::NeedMore if !fed_rest => {
                    buf.extend_from_slice(&stream[cut..]);
                    fed_rest = true;
                }
                Decoded::NeedMore => break,
            }
        }
        assert!(buf.is_empty(), "cut {cut}: {} bytes left", buf.len());
        assert_eq!(got, whole, "cut {cut}");
    }
    Ok(())
}

#[test]
fn frames_print_as_one_json_object() -> TestResult {
    let report = hex::decode("A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF")?;
    let json = serde_json::to_value(one_response(&report)?)?;
    assert_eq!(
        json,
        serde_json::json!({
            "addr": 1,
            "response": {
                "type": "tag_report", "cmd": 0x89, "freq_index": 1, "antenna": 0,
                "pc": "3000", "epc": "E200301666130121155074EF", "rssi_dbm": -60
            }
        })
    );
    let err = ResponseFrame {
        addr: 1,
        response: Response::Error {
            cmd: 0x90,
            code: ErrorCode::BUFFER_EMPTY,
        },
    };
    let json = serde_json::to_value(&err)?;
    assert_eq!(json["response"]["code"]["name"], "buffer_empty");
    let write = CommandFrame {
        addr: 0xFF,
        command: Command::Write {
            password: [0; 4],
            bank: Command::BANK_EPC,
            word_addr: 2,
            data: vec![0x30, 0x74],
        },
    };
    let json = serde_json::to_value(&write)?;
    assert_eq!(json["command"]["data"], "3074");
    assert_eq!(json["command"]["password"], "00000000");
    Ok(())
}

#[test]
fn buffer_record_checks_the_tag_crc() -> TestResult {
    let record = ResponseFrame {
        addr: 1,
        response: Response::BufferRecord(BufferRecord {
            cmd: 0x90,
            tag_count: 1,
            pc: 0x3000,
            epc: EpcBytes::from_hex("E200301666130121155074EF")?,
            rssi_dbm: -60,
            antenna: 5,
            freq_index: 7,
            inventory_count: 3,
        }),
    };
    let mut bytes = response_bytes(&record);
    // Count(2) DataLen PC(2) EPC(12) CRC(2) RSSI FreqAnt InvCount
    assert_eq!(bytes[1], 3 + 22);
    assert_eq!(bytes[4 + 2], 16, "DataLen covers PC, EPC and CRC");
    assert_eq!(one_response(&bytes)?, record);
    // Flip one CRC bit and fix the frame checksum: the frame is whole but
    // the tag data is corrupt.
    let crc_at = 4 + 3 + 2 + 12;
    bytes[crc_at] ^= 0x01;
    let last = bytes.len() - 1;
    let sum = bytes[..last].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[last] = sum.wrapping_neg();
    assert!(matches!(
        decode_response(&bytes),
        Decoded::Skip {
            reason: SkipReason::Malformed { cmd: 0x90, .. },
            ..
        }
    ));
    Ok(())
}

// ---- generated frames -------------------------------------------------

/// Command codes the codec knows; anything else is `Unknown`.
fn known_cmd(cmd: u8) -> bool {
    matches!(cmd, 0x70..=0x7B | 0x80..=0x86 | 0x89..=0x8B | 0x90..=0x93)
}

fn arb_epc_words() -> impl Strategy<Value = (u16, EpcBytes)> {
    (0usize..=31, any::<u16>()).prop_flat_map(|(words, low)| {
        vec(any::<u8>(), words * 2).prop_map(move |b| {
            let pc = ((words as u16) << 11) | (low & 0x07FF);
            (pc, EpcBytes::new(&b).unwrap())
        })
    })
}

fn arb_epc_any() -> impl Strategy<Value = EpcBytes> {
    vec(any::<u8>(), 0..=62).prop_map(|b| EpcBytes::new(&b).unwrap())
}

fn arb_password() -> impl Strategy<Value = [u8; 4]> {
    any::<[u8; 4]>()
}

fn arb_region() -> impl Strategy<Value = FrequencyRegion> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_filter("region 4 is user defined", |(r, _, _)| *r != 4)
            .prop_map(|(region, start, end)| FrequencyRegion::Standard { region, start, end }),
        (any::<u8>(), any::<u8>(), 0u32..=0xFF_FFFF).prop_map(|(s, q, k)| {
            FrequencyRegion::UserDefined {
                spacing_10khz: s,
                quantity: q,
                start_khz: k,
            }
        }),
    ]
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Reset),
        any::<u8>().prop_map(|code| Command::SetBaudRate { code }),
        Just(Command::GetFirmwareVersion),
        any::<u8>().prop_map(|address| Command::SetAddress { address }),
        any::<u8>().prop_map(|antenna| Command::SetWorkAntenna { antenna }),
        Just(Command::GetWorkAntenna),
        vec(any::<u8>(), 1..=8).prop_map(|dbm| Command::SetOutputPower { dbm }),
        Just(Command::GetOutputPower),
        arb_region().prop_map(|region| Command::SetFrequencyRegion { region }),
        Just(Command::GetFrequencyRegion),
        any::<u8>().prop_map(|mode| Command::SetBeeperMode { mode }),
        Just(Command::GetTemperature),
        any::<u8>().prop_map(|repeat| Command::BufferedInventory { repeat }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            proptest::option::of(arb_password())
        )
            .prop_map(|(bank, word_addr, word_count, password)| Command::Read {
                bank,
                word_addr,
                word_count,
                password
            }),
        (
            arb_password(),
            any::<u8>(),
            any::<u8>(),
            vec(any::<[u8; 2]>(), 0..=122)
        )
            .prop_map(|(password, bank, word_addr, words)| Command::Write {
                password,
                bank,
                word_addr,
                data: words.concat()
            }),
        (arb_password(), any::<u8>(), any::<u8>()).prop_map(|(password, region, action)| {
            Command::Lock {
                password,
                region,
                action,
            }
        }),
        arb_password().prop_map(|password| Command::Kill { password }),
        proptest::option::of(arb_epc_any()).prop_map(|epc| Command::SetEpcMatch { epc }),
        Just(Command::GetEpcMatch),
        any::<u8>().prop_map(|repeat| Command::RealTimeInventory { repeat }),
        (any::<[(u8, u8); 4]>(), any::<u8>(), any::<u8>()).prop_map(|(a, interval_ms, repeat)| {
            Command::FastSwitchInventory {
                antennas: a.map(|(antenna, stays)| AntennaStay { antenna, stays }),
                interval_ms,
                repeat,
            }
        }),
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(session, target, repeat)| {
            Command::SessionInventory {
                session,
                target,
                repeat,
            }
        }),
        Just(Command::GetBuffer),
        Just(Command::GetAndResetBuffer),
        Just(Command::GetBufferCount),
        Just(Command::ResetBuffer),
        (
            any::<u8>().prop_filter("known codes decode typed", |c| !known_cmd(*c)),
            vec(any::<u8>(), 0..=252)
        )
            .prop_map(|(cmd, data)| Command::Unknown { cmd, data }),
    ]
}

fn arb_tag_report() -> impl Strategy<Value = TagReport> {
    (
        prop::sample::select(vec![0x89u8, 0x8A, 0x8B]),
        0u8..64,
        0u8..8,
        arb_epc_words(),
        -129i16..=-2,
    )
        .prop_map(
            |(cmd, freq_index, antenna, (pc, epc), rssi_dbm)| TagReport {
                cmd,
                freq_index,
                antenna,
                pc,
                epc,
                rssi_dbm,
            },
        )
}

fn arb_response() -> impl Strategy<Value = Response> {
    let status_cmds: Vec<u8> = (0..=255u8)
        .filter(|c| known_cmd(*c) && *c != 0x77)
        .collect();
    prop_oneof![
        arb_tag_report().prop_map(Response::TagReport),
        (
            prop::sample::select(vec![0x89u8, 0x8B]),
            any::<u8>(),
            any::<u16>(),
            any::<u32>()
        )
            .prop_map(
                |(cmd, antenna, read_rate, total_read)| Response::InventoryEnd {
                    cmd,
                    antenna,
                    read_rate,
                    total_read
                }
            ),
        (0u32..=0xFF_FFFF, any::<u32>()).prop_map(|(total_read, duration_ms)| {
            Response::FastSwitchEnd {
                total_read,
                duration_ms,
            }
        }),
        (any::<u8>(), any::<u8>()).prop_map(|(antenna, c)| Response::AntennaError {
            antenna,
            code: ErrorCode(c)
        }),
        (any::<u8>(), any::<u16>(), any::<u16>(), any::<u32>()).prop_map(
            |(antenna, tag_count, read_rate, total_read)| Response::BufferedInventoryEnd {
                antenna,
                tag_count,
                read_rate,
                total_read
            }
        ),
        prop::sample::select(status_cmds.clone()).prop_map(|cmd| Response::Ok { cmd }),
        (prop::sample::select(status_cmds), any::<u8>())
            .prop_filter(
                "0x10 is Ok; 0x75 values and 0x86 `01` are answers",
                |(cmd, c)| {
                    *c != 0x10 && !(*cmd == 0x75 && *c < 0x10) && !(*cmd == 0x86 && *c == 0x01)
                }
            )
            .prop_map(|(cmd, c)| Response::Error {
                cmd,
                code: ErrorCode(c)
            }),
        (any::<u8>(), any::<u8>()).prop_map(|(major, minor)| Response::Firmware { major, minor }),
        (0u8..0x10).prop_map(|antenna| Response::WorkAntenna { antenna }),
        vec(any::<u8>(), 1..=8).prop_map(|dbm| Response::OutputPower { dbm }),
        arb_region().prop_map(|region| Response::FrequencyRegion { region }),
        (-255i16..=255).prop_map(|celsius| Response::Temperature { celsius }),
        any::<u16>().prop_map(|count| Response::BufferCount { count }),
        (
            prop::sample::select(vec![0x90u8, 0x91]),
            any::<u16>(),
            arb_epc_words(),
            -129i16..=-2,
            0u8..8,
            0u8..64,
            any::<u8>()
        )
            .prop_map(
                |(cmd, tag_count, (pc, epc), rssi_dbm, antenna, freq_index, inventory_count)| {
                    Response::BufferRecord(BufferRecord {
                        cmd,
                        tag_count,
                        pc,
                        epc,
                        rssi_dbm,
                        antenna,
                        freq_index,
                        inventory_count,
                    })
                }
            ),
        (
            any::<u16>(),
            arb_epc_words(),
            vec(any::<u8>(), 0..=180),
            0u8..8,
            0u8..64,
            0u8..128
        )
            .prop_map(
                |(tag_count, (pc, epc), data, antenna, freq_index, read_count)| {
                    Response::TagRead(TagRead {
                        tag_count,
                        pc,
                        epc,
                        data,
                        antenna,
                        freq_index,
                        read_count,
                    })
                }
            ),
        (
            prop::sample::select(vec![0x82u8, 0x83, 0x84]),
            any::<u16>(),
            arb_epc_words(),
            any::<u8>(),
            0u8..8,
            0u8..64,
            0u8..128
        )
            .prop_map(
                |(cmd, tag_count, (pc, epc), code, antenna, freq_index, op_count)| {
                    Response::TagOperation(TagOperation {
                        cmd,
                        tag_count,
                        pc,
                        epc,
                        code: ErrorCode(code),
                        antenna,
                        freq_index,
                        op_count,
                    })
                }
            ),
        proptest::option::of(arb_epc_any()).prop_map(|epc| Response::EpcMatch { epc }),
        (
            any::<u8>().prop_filter("known codes decode typed", |c| !known_cmd(*c)),
            vec(any::<u8>(), 0..=252)
        )
            .prop_map(|(cmd, data)| Response::Unknown { cmd, data }),
    ]
}

/// A stream of valid frames with noise between them, and where each frame
/// starts.
fn noisy_stream(frames: &[Vec<u8>], noise: &[Vec<u8>]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if let Some(n) = noise.get(i) {
            buf.extend_from_slice(n);
        }
        spans.push((buf.len(), f.len()));
        buf.extend_from_slice(f);
    }
    (buf, spans)
}

/// Every planted frame is decoded at its position, unless a checksum-valid
/// span that started earlier (a false frame made of noise plus real bytes:
/// odds about 1 in 256 per stray 0xA0) covered its start.
fn assert_all_found<F: PartialEq + std::fmt::Debug>(events: &[Event<F>], planted: &[(usize, F)]) {
    for (start, frame) in planted {
        let found = events
            .iter()
            .any(|e| matches!(e, Event::Frame { at, frame: f, .. } if at == start && f == frame));
        let swallowed = events.iter().any(|e| match e {
            Event::Frame { at, len, .. } => at < start && at + len > *start,
            Event::Skip {
                at,
                bytes,
                reason: SkipReason::Malformed { .. },
            } => at < start && at + bytes > *start,
            Event::Skip { .. } => false,
        });
        assert!(
            found || swallowed,
            "frame at {start} lost: {frame:?}\n{events:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Checksum-valid frames with arbitrary bodies reach every layout parser:
    /// none may panic, and whatever is accepted must re-encode to a frame
    /// that decodes to the same value (what the simulator relies on when it
    /// echoes the daemon's commands back in tests).
    #[test]
    fn accepted_bodies_re_encode_to_the_same_value(
        addr in any::<u8>(),
        cmd in prop_oneof![0x70u8..=0x93, any::<u8>()],
        data in prop_oneof![vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..=252)],
    ) {
        let mut raw = vec![0xA0, (data.len() + 3) as u8, addr, cmd];
        raw.extend_from_slice(&data);
        let sum = raw.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        raw.push(sum.wrapping_neg());
        match decode_response(&raw) {
            Decoded::Frame { frame, consumed } => {
                prop_assert_eq!(consumed, raw.len());
                let again = response_bytes(&frame);
                prop_assert_eq!(decode_response(&again), Decoded::Frame { frame, consumed: again.len() });
            }
            Decoded::Skip { bytes, reason } => {
                prop_assert_eq!(bytes, raw.len());
                let is_malformed = matches!(reason, SkipReason::Malformed { .. });
                prop_assert!(is_malformed, "{}", reason);
            }
            Decoded::NeedMore => prop_assert!(false, "whole frame reported as partial"),
        }
        match decode_command(&raw) {
            Decoded::Frame { frame, consumed } => {
                prop_assert_eq!(consumed, raw.len());
                let again = command_bytes(&frame);
                prop_assert_eq!(decode_command(&again), Decoded::Frame { frame, consumed: again.len() });
            }
            Decoded::Skip { bytes, reason } => {
                prop_assert_eq!(bytes, raw.len());
                let is_malformed = matches!(reason, SkipReason::Malformed { .. });
                prop_assert!(is_malformed, "{}", reason);
            }
            Decoded::NeedMore => prop_assert!(false, "whole frame reported as partial"),
        }
    }

    #[test]
    fn every_command_round_trips(addr in any::<u8>(), command in arb_command()) {
        let frame = CommandFrame { addr, command };
        let bytes = command_bytes(&frame);
        prop_assert_eq!(bytes.len(), usize::from(bytes[1]) + 2);
        prop_assert_eq!(
            decode_command(&bytes),
            Decoded::Frame { frame, consumed: bytes.len() }
        );
    }

    #[test]
    fn every_response_round_trips(addr in any::<u8>(), response in arb_response()) {
        let frame = ResponseFrame { addr, response };
        let bytes = response_bytes(&frame);
        prop_assert_eq!(bytes.len(), usize::from(bytes[1]) + 2);
        prop_assert_eq!(
            decode_response(&bytes),
            Decoded::Frame { frame, consumed: bytes.len() }
        );
    }

    #[test]
    fn random_bytes_never_panic_and_always_progress(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..600),
            // Biased towards headers and short lengths so framing paths run.
            vec(prop::sample::select(vec![0xA0u8, 0x03, 0x04, 0x0A, 0x13, 0x89, 0x8A, 0x90, 0x81, 0x00, 0xFF]), 0..600),
        ]
    ) {
        let decoders: [Progress; 2] = [
            |b: &[u8]| match decode_response(b) {
                Decoded::NeedMore => None,
                Decoded::Frame { consumed, .. } => Some(consumed),
                Decoded::Skip { bytes, .. } => Some(bytes),
            },
            |b: &[u8]| match decode_command(b) {
                Decoded::NeedMore => None,
                Decoded::Frame { consumed, .. } => Some(consumed),
                Decoded::Skip { bytes, .. } => Some(bytes),
            },
        ];
        for decode in decoders {
            let mut at = 0;
            while at < bytes.len() {
                match decode(&bytes[at..]) {
                    Some(n) => {
                        prop_assert!(n >= 1 && at + n <= bytes.len());
                        at += n;
                    }
                    None => at += 1,
                }
            }
        }
    }

    #[test]
    fn responses_survive_noise(
        responses in vec(arb_response(), 1..12),
        noise in vec(vec(any::<u8>(), 0..24), 12),
    ) {
        let framed: Vec<ResponseFrame> = responses
            .into_iter()
            .map(|response| ResponseFrame { addr: 1, response })
            .collect();
        let bytes: Vec<Vec<u8>> = framed.iter().map(response_bytes).collect();
        let (stream, spans) = noisy_stream(&bytes, &noise);
        let events = decode_all(&stream, decode_response);
        let planted: Vec<(usize, ResponseFrame)> =
            spans.iter().map(|s| s.0).zip(framed).collect();
        assert_all_found(&events, &planted);
    }

    #[test]
    fn header_free_noise_loses_nothing(
        commands in vec(arb_command(), 1..12),
        noise in vec(vec(any::<u8>().prop_filter("no header", |b| *b != 0xA0), 0..24), 12),
    ) {
        let framed: Vec<CommandFrame> = commands
            .into_iter()
            .map(|command| CommandFrame { addr: 0xFF, command })
            .collect();
        let bytes: Vec<Vec<u8>> = framed.iter().map(command_bytes).collect();
        let (stream, _) = noisy_stream(&bytes, &noise);
        let events = decode_all(&stream, decode_command);
        prop_assert_eq!(frames(&events), framed);
    }
}
