//! Arbitrary bytes through the EPC decoder and every renderer: decoding and
//! rendering must never panic, and whatever decodes must re-encode from its
//! own tag URI to the same bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::epc::{decode, decode_with_pc, encode_uri, gen2::PcWord};

fuzz_target!(|data: &[u8]| {
    // The first two bytes double as a PC word, exercising the AFI path.
    if let [a, b, rest @ ..] = data {
        let with_pc = decode_with_pc(PcWord::from_bytes([*a, *b]), rest);
        let _ = with_pc.tag_uri().to_string();
    }
    let epc = decode(data);
    let tag = epc.tag_uri().to_string();
    let id = epc.id_uri().to_string();
    assert!(tag.starts_with("urn:epc:") && id.starts_with("urn:epc:"));
    let json = serde_json::to_string(&epc);
    assert!(json.is_ok());
    if data.len() <= 62 {
        match encode_uri(&tag, None) {
            Ok(back) => {
                // Equal up to zero padding: re-encoding pads to whole
                // words, the input may be shorter (25 bytes of SGTIN-198)
                // or longer (a larger PC length).
                let (a, b) = (back.bytes(), data);
                let n = a.len().min(b.len());
                assert_eq!(&a[..n], &b[..n], "{tag}");
                assert!(a[n..].iter().chain(&b[n..]).all(|&x| x == 0), "{tag}");
            }
            Err(e) => panic!("{tag} does not re-encode: {e}"),
        }
    }
});
