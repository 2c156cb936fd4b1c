//! Property tests for `shared::epc`: every valid field combination of every
//! scheme survives encode → decode → URI → encode unchanged, and no byte
//! string makes decoding or rendering panic.

use proptest::prelude::*;
use shared::epc::{decode, encode, encode_uri, Epc, Fields, Scheme};

/// The GS1 AI encodable character set 82 (TDS Table A-1).
const SET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn set82(max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = SET82.chars().collect();
    prop::collection::vec(prop::sample::select(chars), 1..=max)
        .prop_map(|v| v.into_iter().collect())
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, n).prop_map(|v| v.iter().map(|d| char::from(b'0' + d)).collect())
}

/// A company prefix of 6–12 digits.
fn prefix() -> impl Strategy<Value = String> {
    (6usize..=12).prop_flat_map(digits)
}

fn below(bits: u32) -> impl Strategy<Value = String> {
    (0u64..(1u64 << bits)).prop_map(|v| v.to_string())
}

/// Owned field values; `fields()` borrows them as `Fields`.
#[derive(Debug, Clone)]
struct Case {
    scheme: Scheme,
    filter: u8,
    a: String,
    b: String,
    c: String,
}

impl Case {
    fn fields(&self) -> Fields<'_> {
        let (filter, a, b, c) = (self.filter, &*self.a, &*self.b, &*self.c);
        match self.scheme {
            Scheme::Sgtin96 => Fields::Sgtin96 {
                filter,
                company_prefix: a,
                item_reference: b,
                serial: c,
            },
            Scheme::Sgtin198 => Fields::Sgtin198 {
                filter,
                company_prefix: a,
                item_reference: b,
                serial: c,
            },
            Scheme::Sscc96 => Fields::Sscc96 {
                filter,
                company_prefix: a,
                serial_reference: b,
            },
            Scheme::Sgln96 => Fields::Sgln96 {
                filter,
                company_prefix: a,
                location_reference: b,
                extension: c,
            },
            Scheme::Sgln195 => Fields::Sgln195 {
                filter,
                company_prefix: a,
                location_reference: b,
                extension: c,
            },
            Scheme::Grai96 => Fields::Grai96 {
                filter,
                company_prefix: a,
                asset_type: b,
                serial: c,
            },
            Scheme::Grai170 => Fields::Grai170 {
                filter,
                company_prefix: a,
                asset_type: b,
                serial: c,
            },
            Scheme::Giai96 => Fields::Giai96 {
                filter,
                company_prefix: a,
                asset_reference: b,
            },
            Scheme::Giai202 | Scheme::Raw => Fields::Giai202 {
                filter,
                company_prefix: a,
                asset_reference: b,
            },
            Scheme::Gid96 => Fields::Gid96 {
                general_manager: a,
                object_class: b,
                serial: c,
            },
        }
    }

    /// The field values as the decoded JSON should show them.
    fn expected_json(&self) -> Vec<(&'static str, &str)> {
        let names: &[&'static str] = match self.scheme {
            Scheme::Sgtin96 | Scheme::Sgtin198 => &["company_prefix", "item_reference", "serial"],
            Scheme::Sscc96 => &["company_prefix", "serial_reference"],
            Scheme::Sgln96 | Scheme::Sgln195 => {
                &["company_prefix", "location_reference", "extension"]
            }
            Scheme::Grai96 | Scheme::Grai170 => &["company_prefix", "asset_type", "serial"],
            Scheme::Giai96 | Scheme::Giai202 => &["company_prefix", "asset_reference"],
            Scheme::Gid96 => &["general_manager", "object_class", "serial"],
            Scheme::Raw => &[],
        };
        names
            .iter()
            .zip([&*self.a, &*self.b, &*self.c])
            .map(|(n, v)| (*n, v))
            .collect()
    }
}

fn case(scheme: Scheme) -> BoxedStrategy<Case> {
    let make = move |filter, a, b, c| Case {
        scheme,
        filter,
        a,
        b,
        c,
    };
    let filter = 0u8..8;
    match scheme {
        Scheme::Sgtin96 | Scheme::Sgtin198 => (filter, prefix())
            .prop_flat_map(move |(f, cp)| {
                let serial = if scheme == Scheme::Sgtin96 {
                    below(38).boxed()
                } else {
                    set82(20).boxed()
                };
                (Just(f), digits(13 - cp.len()), serial, Just(cp))
            })
            .prop_map(move |(f, ir, s, cp)| make(f, cp, ir, s))
            .boxed(),
        Scheme::Sscc96 => (filter, prefix())
            .prop_flat_map(|(f, cp)| (Just(f), digits(17 - cp.len()), Just(cp)))
            .prop_map(move |(f, sr, cp)| make(f, cp, sr, String::new()))
            .boxed(),
        Scheme::Sgln96 | Scheme::Sgln195 | Scheme::Grai96 | Scheme::Grai170 => (filter, prefix())
            .prop_flat_map(move |(f, cp)| {
                let last = match scheme {
                    Scheme::Sgln96 => below(41).boxed(),
                    Scheme::Grai96 => below(38).boxed(),
                    Scheme::Sgln195 => set82(20).boxed(),
                    _ => set82(16).boxed(),
                };
                (Just(f), digits(12 - cp.len()), last, Just(cp))
            })
            .prop_map(move |(f, r, s, cp)| make(f, cp, r, s))
            .boxed(),
        Scheme::Giai96 => (filter, prefix())
            .prop_flat_map(|(f, cp)| {
                // Asset reference bits by partition (TDS GIAI-96 table).
                let bits = [42, 45, 48, 52, 55, 58, 62][12 - cp.len()];
                (Just(f), below(bits), Just(cp))
            })
            .prop_map(move |(f, ar, cp)| make(f, cp, ar, String::new()))
            .boxed(),
        Scheme::Giai202 | Scheme::Raw => (filter, prefix())
            .prop_flat_map(|(f, cp)| (Just(f), set82(30 - cp.len()), Just(cp)))
            .prop_map(move |(f, ar, cp)| make(f, cp, ar, String::new()))
            .boxed(),
        Scheme::Gid96 => (below(28), below(24), below(36))
            .prop_map(move |(m, c, s)| make(0, m, c, s))
            .boxed(),
    }
}

fn any_case() -> impl Strategy<Value = Case> {
    prop::sample::select(Scheme::ALL.to_vec()).prop_flat_map(case)
}

fn check_round_trip(case: &Case) -> Result<(), TestCaseError> {
    let epc = encode(&case.fields()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(epc.scheme(), case.scheme);
    let expected_filter = (case.scheme != Scheme::Gid96).then_some(case.filter);
    prop_assert_eq!(epc.filter(), expected_filter);

    // Bytes decode to the same value.
    let decoded = decode(epc.bytes());
    prop_assert_eq!(decoded, epc);

    // Fields come back as given (JSON shows exactly the input strings).
    let json: serde_json::Value =
        serde_json::to_value(decoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (name, value) in case.expected_json() {
        prop_assert_eq!(json[name].as_str(), Some(value), "{}", name);
    }
    prop_assert_eq!(json["scheme"].as_str(), Some(case.scheme.as_str()));
    let tag = epc.tag_uri().to_string();
    let id = epc.id_uri().to_string();
    prop_assert_eq!(json["tag_uri"].as_str(), Some(tag.as_str()));
    prop_assert_eq!(json["id_uri"].as_str(), Some(id.as_str()));

    // The tag URI encodes back to the same bytes.
    let from_tag = encode_uri(&tag, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(from_tag.bytes(), epc.bytes());

    // The pure identity URI + filter gives the same identity (possibly in
    // a shorter scheme: a numeric SGTIN-198 serial fits SGTIN-96).
    let from_id =
        encode_uri(&id, Some(case.filter)).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(from_id.id_uri().to_string(), id);
    Ok(())
}

/// Byte strings that start with a supported header and have that scheme's
/// length: random bytes alone almost never get past the header check.
fn headed_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(Scheme::ALL.to_vec()).prop_flat_map(|s| {
        let len = s.bits().div_ceil(16) * 2;
        let header = s.header().unwrap_or(0);
        prop::collection::vec(any::<u8>(), len - 1).prop_map(move |mut rest| {
            rest.insert(0, header);
            // Clear the word padding half the time so long schemes can pass.
            if rest[rest.len() - 1] & 1 == 0 {
                let pad = len * 8 - s.bits();
                let last = rest.len() - 1;
                rest[last] &= !((1u16 << pad.min(8)) - 1) as u8;
            }
            rest
        })
    })
}

fn check_any_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    let epc: Epc = decode(bytes);
    let tag = epc.tag_uri().to_string();
    let id = epc.id_uri().to_string();
    let json = serde_json::to_string(&epc).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(json.starts_with(r#"{"hex":"#), "{}", json);
    prop_assert!(tag.starts_with("urn:epc:"));
    prop_assert!(id.starts_with("urn:epc:"));
    let _ = format!("{epc:?}");
    if bytes.len() > 62 {
        prop_assert!(epc.is_raw());
        return Ok(());
    }
    // Whatever decoded, its tag URI encodes back to the same bits (raw
    // URIs carry them verbatim; schemes drop only zero padding).
    let back = encode_uri(&tag, None).map_err(|e| TestCaseError::fail(format!("{tag}: {e}")))?;
    // Equal up to zero padding: re-encoding pads to whole words, the input
    // may be shorter (25 bytes of SGTIN-198) or longer (larger PC length).
    let (a, b) = (back.bytes(), bytes);
    let n = a.len().min(b.len());
    prop_assert_eq!(&a[..n], &b[..n]);
    prop_assert!(a[n..].iter().chain(&b[n..]).all(|&x| x == 0));
    prop_assert_eq!(back.tag_uri().to_string(), tag);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_scheme_round_trips(case in any_case()) {
        check_round_trip(&case)?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..=70)) {
        check_any_bytes(&bytes)?;
    }

    #[test]
    fn bytes_with_real_headers_never_panic(bytes in headed_bytes()) {
        check_any_bytes(&bytes)?;
    }
}

#[test]
fn fuzzer_finding_25_byte_sgtin198_round_trips() -> Result<(), TestCaseError> {
    // cargo fuzz epc_decode: SGTIN-198 needs 198 bits = 25 bytes, but its
    // re-encoding is word-padded to 26.
    let mut bytes = vec![0x36, 0x42, 0x30, 0, 0, 0, 0, 0xB2];
    bytes.resize(25, 0);
    check_any_bytes(&bytes)
}

#[test]
fn each_scheme_has_its_own_round_trip() {
    // The mixed property above samples schemes at random; this makes sure
    // every scheme is exercised even with a small case budget.
    let mut runner = proptest::test_runner::TestRunner::default();
    for scheme in Scheme::ALL {
        let result = runner.run(&case(scheme), |c| check_round_trip(&c));
        assert!(result.is_ok(), "{scheme}: {result:?}");
    }
}
