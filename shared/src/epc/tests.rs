//! Published worked examples, both directions, plus the raw cases.
//!
//! Unless a test says otherwise, examples are the GS1 EPC Tag Data Standard's
//! own encoding examples (TDS 2.1, Appendix E "Encoding and decoding
//! examples", filter 3, company prefix 0614141 unless stated), cross-checked
//! against their transcription in the GS1-endorsed Tag Data Translation
//! test-suite, dannyhaak/TagDataTranslation `TDSStandard` tests, which also
//! records the typos of the printed standard (noted where they matter).
//! Hex of the long schemes is shown padded with zeros to whole 16-bit
//! words, as Gen2 EPC memory stores them.

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn hex(text: &str) -> Vec<u8> {
    crate::hex::decode(text).unwrap_or_default()
}

struct Example {
    hex: &'static str,
    tag: &'static str,
    id: &'static str,
    scheme: Scheme,
    filter: Option<u8>,
}

const EXAMPLES: &[Example] = &[
    // TDS Appendix E, SGTIN-96 (also the brief's reference example).
    Example {
        hex: "3074257BF7194E4000001A85",
        tag: "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
        id: "urn:epc:id:sgtin:0614141.812345.6789",
        scheme: Scheme::Sgtin96,
        filter: Some(3),
    },
    // TDS Appendix E, SGTIN-198. The printed pure identity URI says
    // `812345`; the binary and the GTIN (01)70614141123451 say `712345`.
    Example {
        hex: "3674257BF6B7A659B2C2BF100000000000000000000000000000",
        tag: "urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb",
        id: "urn:epc:id:sgtin:0614141.712345.32a%2Fb",
        scheme: Scheme::Sgtin198,
        filter: Some(3),
    },
    // TDS Appendix E, SSCC-96: SSCC (00)106141412345678908.
    Example {
        hex: "3174257BF4499602D2000000",
        tag: "urn:epc:tag:sscc-96:3.0614141.1234567890",
        id: "urn:epc:id:sscc:0614141.1234567890",
        scheme: Scheme::Sscc96,
        filter: Some(3),
    },
    // TDS Appendix E, SGLN-96: (414)0614141123452(254)5678.
    Example {
        hex: "3274257BF46072000000162E",
        tag: "urn:epc:tag:sgln-96:3.0614141.12345.5678",
        id: "urn:epc:id:sgln:0614141.12345.5678",
        scheme: Scheme::Sgln96,
        filter: Some(3),
    },
    // TDS Appendix E, SGLN-195: (414)0614141123452(254)32a/b.
    Example {
        hex: "3974257BF46072CD9615F8800000000000000000000000000000",
        tag: "urn:epc:tag:sgln-195:3.0614141.12345.32a%2Fb",
        id: "urn:epc:id:sgln:0614141.12345.32a%2Fb",
        scheme: Scheme::Sgln195,
        filter: Some(3),
    },
    // TDS Appendix E, GRAI-96: (8003)006141411234525678.
    Example {
        hex: "3374257BF40C0E400000162E",
        tag: "urn:epc:tag:grai-96:3.0614141.12345.5678",
        id: "urn:epc:id:grai:0614141.12345.5678",
        scheme: Scheme::Grai96,
        filter: Some(3),
    },
    // TDS Appendix E, GRAI-170: (8003)0061414112345232a/b.
    Example {
        hex: "3774257BF40C0E59B2C2BF1000000000000000000000",
        tag: "urn:epc:tag:grai-170:3.0614141.12345.32a%2Fb",
        id: "urn:epc:id:grai:0614141.12345.32a%2Fb",
        scheme: Scheme::Grai170,
        filter: Some(3),
    },
    // TDS Appendix E, GIAI-96: (8004)06141415678.
    Example {
        hex: "3474257BF40000000000162E",
        tag: "urn:epc:tag:giai-96:3.0614141.5678",
        id: "urn:epc:id:giai:0614141.5678",
        scheme: Scheme::Giai96,
        filter: Some(3),
    },
    // TDS Appendix E, GIAI-202: (8004)061414132a/b (the printed element
    // string has one zero too many).
    Example {
        hex: "3874257BF59B2C2BF10000000000000000000000000000000000",
        tag: "urn:epc:tag:giai-202:3.0614141.32a%2Fb",
        id: "urn:epc:id:giai:0614141.32a%2Fb",
        scheme: Scheme::Giai202,
        filter: Some(3),
    },
    // TDS Appendix E, GID-96 (no filter, no partition).
    Example {
        hex: "350007AB70425D4000000586",
        tag: "urn:epc:tag:gid-96:31415.271828.1414",
        id: "urn:epc:id:gid:31415.271828.1414",
        scheme: Scheme::Gid96,
        filter: None,
    },
];

#[test]
fn decodes_every_published_example() {
    for ex in EXAMPLES {
        let epc = decode(&hex(ex.hex));
        assert_eq!(epc.scheme(), ex.scheme, "{}", ex.hex);
        assert_eq!(epc.filter(), ex.filter, "{}", ex.hex);
        assert_eq!(epc.tag_uri().to_string(), ex.tag, "{}", ex.hex);
        assert_eq!(epc.id_uri().to_string(), ex.id, "{}", ex.hex);
        assert_eq!(epc.hex().to_string(), ex.hex);
        assert_eq!(epc.raw_reason(), None);
    }
}

#[test]
fn encodes_every_published_example_from_both_uris() -> TestResult {
    for ex in EXAMPLES {
        let from_tag = encode_uri(ex.tag, None)?;
        assert_eq!(from_tag.hex().to_string(), ex.hex, "{}", ex.tag);
        // The pure identity URI picks the shortest scheme; every long
        // example uses an alphanumeric value, so it lands on the same one.
        let from_id = encode_uri(ex.id, ex.filter)?;
        assert_eq!(from_id.hex().to_string(), ex.hex, "{}", ex.id);
        assert_eq!(from_id.scheme(), ex.scheme);
        // A tag URI with the same filter passed explicitly is fine too.
        assert_eq!(encode_uri(ex.tag, ex.filter)?, from_tag);
    }
    Ok(())
}

#[test]
fn sgtin96_reference_example_fields() {
    let epc = decode(&hex("3074257BF7194E4000001A85"));
    assert_eq!(epc.scheme().as_str(), "sgtin-96");
    assert_eq!(epc.filter(), Some(3));
    assert_eq!(
        epc.company_prefix().map(|d| (d.value(), d.len())),
        Some((614141, 7))
    );
    assert_eq!(
        epc.item_reference().map(|d| d.to_string()),
        Some("812345".into())
    );
    assert_eq!(epc.serial(), Some(&Component::Integer(6789)));
    assert_eq!(
        epc.tag_uri().to_string(),
        "urn:epc:tag:sgtin-96:3.0614141.812345.6789"
    );
    assert_eq!(
        epc.id_uri().to_string(),
        "urn:epc:id:sgtin:0614141.812345.6789"
    );
}

#[test]
fn encodes_from_fields() -> TestResult {
    let epc = encode(&Fields::Sgtin96 {
        filter: 3,
        company_prefix: "0614141",
        item_reference: "812345",
        serial: "6789",
    })?;
    assert_eq!(epc.hex().to_string(), "3074257BF7194E4000001A85");
    // The GIAI-96 example through the convenience the server calls.
    let epc = encode_giai96(3, "0614141", "5678")?;
    assert_eq!(epc.hex().to_string(), "3474257BF40000000000162E");
    assert_eq!(
        epc.asset_reference().map(|a| a.to_string()),
        Some("5678".into())
    );
    // encode_giai falls back to GIAI-202 for what GIAI-96 cannot hold.
    let epc = encode_giai(3, "0614141", "32a/b")?;
    assert_eq!(
        epc.hex().to_string(),
        "3874257BF59B2C2BF10000000000000000000000000000000000"
    );
    assert_eq!(encode_giai(3, "0614141", "5678")?.scheme(), Scheme::Giai96);
    assert_eq!(
        encode_giai(3, "0614141", "05678")?.scheme(),
        Scheme::Giai202
    );
    Ok(())
}

#[test]
fn third_party_vectors() -> TestResult {
    // epc-tds (github.com/sergiss/epc-tds) README: SSCC-96 and GRAI-170.
    let sscc = decode(&hex("3178E61C883950F59A000000"));
    assert_eq!(sscc.scheme(), Scheme::Sscc96);
    let grai = decode(&hex("377A6BB0C1BDA6D9B664D1AB266D1AB266D1AB266D00"));
    assert_eq!(grai.scheme(), Scheme::Grai170);
    assert_eq!(
        encode_uri(&grai.tag_uri().to_string(), None)?.bytes(),
        grai.bytes()
    );
    // epcGS1coder (Java) Giai202Test: GIAI-202, filter 0, prefix 023456.
    let giai = decode(&hex("381816E81B356AD5B80000000000000000000000000000000000"));
    assert_eq!(
        giai.tag_uri().to_string(),
        "urn:epc:tag:giai-202:0.023456.65557"
    );
    // pyepc GIAITest: GIAI-96 with a 6-digit prefix.
    let giai = encode_uri("urn:epc:tag:giai-96:0.000001.1", None)?;
    assert_eq!(giai.hex().to_string(), "341800004000000000000001");
    Ok(())
}

#[test]
fn raw_cases_carry_a_reason() {
    let cases: &[(&str, RawReason)] = &[
        ("", RawReason::Empty),
        // Header 0xE2 is an Impinj TID-style serialised EPC, not GS1.
        ("E2004216CB60601500951ED6", RawReason::UnknownHeader),
        // SGTIN-96 header with partition 7 (bits 11..14 = 111).
        ("307C257BF7194E4000001A85", RawReason::ReservedPartition),
        // Truncated: an SGTIN-96 cut to 8 bytes.
        ("3074257BF7194E40", RawReason::TooShort),
        ("30", RawReason::TooShort),
        // SGTIN-96, partition 5, item reference bits = 1048575 > 999999.
        ("3074257BFFFFFFC000001A85", RawReason::ReferenceNotNumeric),
        // GIAI-96, partition 0 (12 digits in 40 bits): prefix 0xFFFFFFFFFF.
        (
            "3403FFFFFFFFFC0000000001",
            RawReason::CompanyPrefixNotNumeric,
        ),
        // SSCC-96 with a bit set in the 24 reserved bits.
        ("3174257BF4499602D2000001", RawReason::ReservedBitsSet),
        // SGTIN-96 followed by non-zero data in a longer PC length.
        ("3074257BF7194E4000001A850001", RawReason::TrailingData),
        // GIAI-202 whose first character is 0x7F (DEL, not in set 82).
        (
            "3874257BF7F00000000000000000000000000000000000000000",
            RawReason::InvalidCharacter,
        ),
        // GIAI-202 with an all-zero asset reference.
        (
            "3874257BF40000000000000000000000000000000000000000000000",
            RawReason::EmptyString,
        ),
        // SGTIN-198 with a character after the terminating zero.
        (
            "3674257BF6B7A659B2C2BF100000000000000200000000000000",
            RawReason::BadStringPadding,
        ),
    ];
    for &(h, reason) in cases {
        let epc = decode(&hex(h));
        assert_eq!(epc.scheme(), Scheme::Raw, "{h}");
        assert_eq!(epc.raw_reason(), Some(reason), "{h}");
        assert_eq!(epc.filter(), None);
        let uri = format!("urn:epc:raw:{}.x{}", h.len() * 4, h);
        assert_eq!(epc.tag_uri().to_string(), uri);
        assert_eq!(epc.id_uri().to_string(), uri);
    }
}

#[test]
fn gid_and_zero_padding_decode() {
    // A 96-bit SGTIN in a 128-bit PC length: zero padding is accepted.
    let epc = decode(&hex("3074257BF7194E4000001A8500000000"));
    assert_eq!(epc.scheme(), Scheme::Sgtin96);
    assert_eq!(epc.bytes().len(), 16);
    // GID's 36-bit serial at its maximum.
    let epc = decode(&hex("350007AB70425D4FFFFFFFFF"));
    assert_eq!(
        epc.tag_uri().to_string(),
        "urn:epc:tag:gid-96:31415.271828.68719476735"
    );
}

#[test]
fn too_long_input_is_raw_not_a_panic() {
    let epc = decode(&[0x30; 70]);
    assert_eq!(epc.raw_reason(), Some(RawReason::TooLong));
    assert_eq!(epc.bytes().len(), 62);
}

#[test]
fn iso_afi_tags_are_raw_with_the_afi_in_the_uri() -> TestResult {
    let pc = gen2::PcWord(0x3100 | 0xC1);
    let epc = decode_with_pc(pc, &hex("3074257BF7194E4000001A85"));
    assert_eq!(epc.raw_reason(), Some(RawReason::IsoAfi));
    let uri = "urn:epc:raw:96.xC1.x3074257BF7194E4000001A85";
    assert_eq!(epc.tag_uri().to_string(), uri);
    assert_eq!(encode_uri(uri, None)?, epc);
    // Toggle 0 is an ordinary decode.
    let epc = decode_with_pc(gen2::PcWord(0x3000), &hex("3074257BF7194E4000001A85"));
    assert_eq!(epc.scheme(), Scheme::Sgtin96);
    Ok(())
}

#[test]
fn raw_uris_encode_back_to_their_bytes() -> TestResult {
    let epc = decode(&hex("E2004216CB60601500951ED6"));
    let back = encode_uri(&epc.tag_uri().to_string(), None)?;
    assert_eq!(back, epc);
    assert_eq!(
        encode_uri("urn:epc:raw:0.x", None)?.raw_reason(),
        Some(RawReason::Empty)
    );
    Ok(())
}

fn message(r: Result<Epc, EncodeError>) -> String {
    match r {
        Ok(epc) => format!("unexpectedly encoded {epc:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_field_and_the_rule() {
    let cases: &[(&str, Option<u8>, &str)] = &[
        (
            "urn:epc:tag:sgtin-96:3.0614141.812345.06789",
            None,
            "serial: SGTIN-96 serial must not have leading zeros",
        ),
        (
            "urn:epc:tag:sgtin-96:3.0614141.812345.274877906944",
            None,
            "serial: 274877906944 exceeds 38 bits",
        ),
        (
            "urn:epc:tag:sgtin-96:3.0614141.81234.6789",
            None,
            "item reference: partition 5 (7-digit company prefix) requires 6 digits, got 5",
        ),
        (
            "urn:epc:tag:sgtin-96:3.06141415.812345.6789",
            None,
            "item reference: partition 4 (8-digit company prefix) requires 5 digits, got 6",
        ),
        (
            "urn:epc:tag:giai-96:3.06141.5678",
            None,
            "company prefix: must be 6 to 12 digits (GS1 company prefix), got 5",
        ),
        (
            "urn:epc:tag:giai-96:3.06x4141.5678",
            None,
            "company prefix: must be decimal digits, found 'x' at position 2",
        ),
        (
            "urn:epc:tag:giai-96:8.0614141.5678",
            None,
            "filter: must be 0 to 7 (3 bits), got 8",
        ),
        (
            "urn:epc:tag:giai-96:3.0614141.5678",
            Some(1),
            "filter: the tag URI says 3 but 1 was passed",
        ),
        (
            "urn:epc:id:giai:0614141.5678",
            None,
            "filter: is required to encode a pure identity URI (urn:epc:id:…)",
        ),
        (
            "urn:epc:tag:giai-202:3.0614141.a#b",
            None,
            "asset reference: '#' at position 1 is not in the GS1 AI encodable character set 82",
        ),
        (
            "urn:epc:tag:giai-202:3.0614141.a/b",
            None,
            "asset reference: '/' at position 1 must be written as %2F in an EPC URI",
        ),
        (
            "urn:epc:tag:giai-202:3.0614141.a%41b",
            None,
            "asset reference: invalid escape \"%41\" at position 1: only %22 %25 %26 %2F %3C %3E %3F are allowed",
        ),
        (
            "urn:epc:tag:giai-202:3.0614141.ABCDEFGHIJKLMNOPQRSTUVWX",
            None,
            "asset reference: GIAI-202 allows at most 23 characters here, got 24",
        ),
        (
            "urn:epc:tag:sgtin-198:3.0614141.712345.",
            None,
            "serial: must not be empty",
        ),
        (
            "urn:epc:tag:sscc-96:3.0614141",
            None,
            "uri: SSCC-96 needs 2 dot-separated components, got 1",
        ),
        (
            "urn:epc:tag:gid-96:268435456.1.1",
            None,
            "general manager: 268435456 exceeds 28 bits",
        ),
        (
            "urn:epc:tag:sgtin-64:3.0614141.812345.6789",
            None,
            "uri: unsupported EPC scheme \"sgtin-64\" (supported: sgtin-96, sgtin-198, sscc-96, sgln-96, sgln-195, grai-96, grai-170, giai-96, giai-202, gid-96 and their urn:epc:id: forms)",
        ),
        (
            "http://example.com",
            None,
            "uri: must start with urn:epc:tag:, urn:epc:id: or urn:epc:raw:, got \"http://example.com\"",
        ),
        (
            "urn:epc:raw:64.x3074",
            None,
            "raw bits: declares 64 bits but the hex holds 16",
        ),
    ];
    for &(uri, filter, expected) in cases {
        assert_eq!(message(encode_uri(uri, filter)), expected, "{uri}");
    }
    assert_eq!(
        message(encode_giai96(9, "0614141", "1")),
        "filter: must be 0 to 7 (3 bits), got 9"
    );
    assert_eq!(
        message(encode_giai96(0, "0614141", "288230376151711744")),
        "asset reference: 288230376151711744 exceeds 58 bits"
    );
}

#[test]
fn pure_identity_picks_the_shortest_scheme() -> TestResult {
    let short = encode_uri("urn:epc:id:sgtin:0614141.812345.6789", Some(1))?;
    assert_eq!(short.scheme(), Scheme::Sgtin96);
    assert_eq!(short.filter(), Some(1));
    let leading_zero = encode_uri("urn:epc:id:sgtin:0614141.812345.06789", Some(1))?;
    assert_eq!(leading_zero.scheme(), Scheme::Sgtin198);
    assert_eq!(
        leading_zero.id_uri().to_string(),
        "urn:epc:id:sgtin:0614141.812345.06789"
    );
    let big = encode_uri("urn:epc:id:grai:0614141.12345.274877906944", Some(0))?;
    assert_eq!(big.scheme(), Scheme::Grai170);
    // GID ignores a filter: it has none.
    assert_eq!(encode_uri("urn:epc:id:gid:1.2.3", Some(4))?.filter(), None);
    // A dot inside the last component belongs to it (set 82 has '.').
    let dotted = encode_uri("urn:epc:id:giai:0614141.A.1", Some(0))?;
    assert_eq!(
        dotted.asset_reference().map(|a| a.to_string()),
        Some("A.1".into())
    );
    Ok(())
}

#[test]
fn sgln_partition_zero_has_an_empty_location_reference() -> TestResult {
    let epc = encode_uri("urn:epc:tag:sgln-96:0.061414112345..0", None)?;
    assert_eq!(epc.id_uri().to_string(), "urn:epc:id:sgln:061414112345..0");
    Ok(())
}

#[test]
fn json_is_one_flat_object() -> TestResult {
    let epc = decode(&hex("3074257BF7194E4000001A85"));
    assert_eq!(
        serde_json::to_string(&epc)?,
        concat!(
            r#"{"hex":"3074257BF7194E4000001A85","scheme":"sgtin-96","filter":3,"#,
            r#""tag_uri":"urn:epc:tag:sgtin-96:3.0614141.812345.6789","#,
            r#""id_uri":"urn:epc:id:sgtin:0614141.812345.6789","#,
            r#""company_prefix":"0614141","item_reference":"812345","serial":"6789"}"#
        )
    );
    let epc = decode(&hex("3874257BF59B2C2BF10000000000000000000000000000000000"));
    let v: serde_json::Value = serde_json::to_value(epc)?;
    assert_eq!(v["asset_reference"], "32a/b");
    assert_eq!(v["id_uri"], "urn:epc:id:giai:0614141.32a%2Fb");
    let epc = decode(&hex("350007AB70425D4000000586"));
    let v: serde_json::Value = serde_json::to_value(epc)?;
    assert_eq!(v["filter"], serde_json::Value::Null);
    assert_eq!(v["general_manager"], "31415");
    assert_eq!(v["object_class"], "271828");
    let epc = decode(&hex("E2004216CB60601500951ED6"));
    assert_eq!(
        serde_json::to_string(&epc)?,
        concat!(
            r#"{"hex":"E2004216CB60601500951ED6","scheme":"raw","filter":null,"#,
            r#""tag_uri":"urn:epc:raw:96.xE2004216CB60601500951ED6","#,
            r#""id_uri":"urn:epc:raw:96.xE2004216CB60601500951ED6","reason":"unknown_header"}"#
        )
    );
    Ok(())
}
