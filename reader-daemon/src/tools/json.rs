//! A JSON writer for the flat objects the batch tools print (one decoded
//! `Epc` per line). It drives the types' own `Serialize` (no second
//! rendering) and writes the same bytes as serde_json, but faster where
//! `epc decode` spends its time: a string is copied whole after an
//! eight-bytes-per-step check that nothing in it needs escaping (true of
//! every string an EPC renders to in practice; serde_json's byte-by-byte
//! escape scan was ~40 % of `epc decode`), integers are written two digits
//! at a time without `fmt`, and field names are copied unchecked (see
//! [`Struct`]). Anything but structs of strings, integers, booleans and
//! options is refused with an error naming it.

use std::fmt;
use std::io::Write as _;

use serde::ser::{self, Impossible, Serialize};

/// Why a value could not be written as flat JSON.
#[derive(Debug, thiserror::Error)]
#[error("flat JSON writer: {0}")]
pub struct Error(String);

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Appends `value` as JSON to `out`.
pub fn append(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), Error> {
    value.serialize(Flat(out))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Non-zero iff a byte of `x` needs a JSON escape (a control byte, `"` or
/// `\\`): a byte of `x` is below `n` (n ≤ 128) iff `(x - n·ONES) & !x & HIGH`
/// has its high bit; equal to `c` iff `x ^ c·ONES` has a zero byte (is below
/// 1). Exact for "is there any", which is all we ask.
fn escapes_in_word(x: u64) -> u64 {
    let below = |x: u64, n: u8| x.wrapping_sub(u64::from(n) * ONES) & !x & HIGH;
    below(x, 0x20)
        | below(x ^ (u64::from(b'"') * ONES), 1)
        | below(x ^ (u64::from(b'\\') * ONES), 1)
}

/// `N` bytes from `bytes` at `at`; bytes that are not there read as zero,
/// a control byte, which only sends the string to serde_json's escaping
/// (callers never ask past the end).
fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// Whether any byte needs a JSON escape, eight bytes per step. No step
/// goes byte by byte: the last word re-reads the final eight bytes
/// (overlapping the one before); 4–7 bytes are two overlapping halves of
/// one word, 1–3 bytes their first, middle and last byte padded with
/// spaces (which need no escape).
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes_at(bytes, at));
    let half = |at: usize| u64::from(u32::from_le_bytes(bytes_at(bytes, at)));
    let hits = match n {
        0 => 0,
        1..=3 => {
            let [a, b, c] = [0, n / 2, n - 1].map(|i| bytes.get(i).copied().unwrap_or(0));
            escapes_in_word(u64::from_le_bytes([a, b, c, b' ', b' ', b' ', b' ', b' ']))
        }
        4..=7 => escapes_in_word(half(0) | half(n - 4) << 32),
        _ => {
            let mut hits = escapes_in_word(word(n - 8));
            let mut at = 0;
            while at + 8 < n {
                hits |= escapes_in_word(word(at));
                at += 8;
            }
            hits
        }
    };
    hits != 0
}

/// A JSON string: copied whole when nothing needs escaping, else escaped
/// by serde_json (so both paths give serde_json's bytes).
fn string(out: &mut Vec<u8>, s: &str) -> Result<(), Error> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(out, s).map_err(|e| Error(e.to_string()));
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// `v` in decimal, two digits per step from a pair table (what `itoa`
/// does), without `fmt`'s machinery.
fn unsigned(out: &mut Vec<u8>, mut v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

fn signed(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    unsigned(out, v.unsigned_abs());
}

fn unsupported(what: &str) -> Error {
    Error(format!("{what} is not written by this writer"))
}

struct Flat<'a>(&'a mut Vec<u8>);

macro_rules! integers {
    ($($method:ident: $t:ty => $write:ident as $wide:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            $write(self.0, <$wide>::from(v));
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for Flat<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Struct<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    integers!(serialize_i8: i8 => signed as i64, serialize_i16: i16 => signed as i64,
              serialize_i32: i32 => signed as i64, serialize_i64: i64 => signed as i64,
              serialize_u8: u8 => unsigned as u64, serialize_u16: u16 => unsigned as u64,
              serialize_u32: u32 => unsigned as u64, serialize_u64: u64 => unsigned as u64);

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.0.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(unsupported("a float"))
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(unsupported("a float"))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.0, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.0, v)
    }
    /// Display values (hex) render straight into the output, then are
    /// escaped in place only if they need it.
    fn collect_str<T: ?Sized + fmt::Display>(self, v: &T) -> Result<(), Error> {
        let start = self.0.len();
        self.0.push(b'"');
        write!(self.0, "{v}").map_err(|e| Error(e.to_string()))?;
        if needs_escape(&self.0[start + 1..]) {
            let text =
                String::from_utf8(self.0.split_off(start + 1)).map_err(|e| Error(e.to_string()))?;
            self.0.truncate(start);
            return string(self.0, &text);
        }
        self.0.push(b'"');
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(unsupported("a byte array"))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        string(self.0, v)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(unsupported("an enum with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("an enum with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported("a map"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Struct<'a>, Error> {
        self.0.push(b'{');
        Ok(Struct {
            out: self.0,
            first: true,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("an enum with data"))
    }
}

/// The fields of one object. Field names are `&'static str` from the type
/// (`#[derive(Serialize)]` or `Epc`'s own `Serialize`): plain identifiers,
/// so they are copied without the escape check. A name needing an escape
/// would be a bug in the type, not bad input; debug builds assert it, and
/// the tests compare every name `Epc` writes with serde_json's bytes.
struct Struct<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        debug_assert!(!needs_escape(key.as_bytes()), "field name {key:?}");
        let open: &[u8] = if std::mem::take(&mut self.first) {
            b"\""
        } else {
            b",\""
        };
        self.out.reserve(key.len() + 4);
        self.out.extend_from_slice(open);
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        value.serialize(Flat(self.out))
    }

    fn end(self) -> Result<(), Error> {
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same bytes as serde_json for every scheme (so every field name `Epc`
    /// writes), raw EPCs (with AFI) and text that needs URI escaping.
    #[test]
    fn writes_what_serde_json_writes() {
        let hex = [
            "3074257BF7194E4000001A85",
            "3434257BF40000000000162E",
            "3114257BF4499602D2000000",
            "3374257BF40C0E4000000190",
            "E2801160600002054CC2FA21",
            "",
            "3574257BF4C1E2E5C50F0830C00000000000000000000000000000",
            "3874257BF59B2C2BF10000000000000000000000000000000000",
            "3674257BF6B7A659B2C2BF100000000000000000000000000000",
            "3274257BF46072000000162E",
            "3774257BF40C0E59B2C2BF1000000000000000000000",
            "350007AB70425D4000000586",
            "3174257BF4499602D2000000",
            // Text fields holding `"`, which JSON escapes: SGTIN-198 serial
            // `a"b`, GIAI-202 asset reference `x"y%z/<>?&!`.
            "3674257BF7194E70A2C400000000000000000000000000000000",
            "3834257BF7C22F297D2F78F9FA64200000000000000000000000",
        ];
        let mut checked = 0;
        for h in hex {
            let mut bytes = Vec::new();
            if shared::hex::decode_bytes_into(h.as_bytes(), &mut bytes).is_err() {
                continue;
            }
            for epc in [
                shared::epc::decode(&bytes),
                shared::epc::decode_with_pc(
                    shared::epc::gen2::PcWord(0x3500 | 0x0100 | 0xC1),
                    &bytes,
                ),
            ] {
                let mut ours = Vec::new();
                let result = append(&mut ours, &epc);
                assert!(result.is_ok(), "{h}: {result:?}");
                let theirs = serde_json::to_vec(&epc).unwrap_or_default();
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs),
                    "{h}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 26);
    }

    #[test]
    fn finds_every_byte_that_needs_escaping_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for bad in (0u8..0x20).chain([b'"', b'\\']) {
                    let mut s = vec![b'a'; len];
                    s[at] = bad;
                    assert!(needs_escape(&s), "{bad:#x} at {at} of {len}");
                }
                let mut fine = vec![b'~'; len];
                fine[at] = 0x7F;
                assert!(!needs_escape(&fine), "0x7f at {at} of {len}");
                assert!(!needs_escape("é!#[]".as_bytes()));
            }
            // No false alarm from the padding, overlaps or bytes above ASCII.
            for fine in [b' ', b'#', 0x7F, 0x80, 0xA2, 0xFF] {
                assert!(!needs_escape(&vec![fine; len]), "{fine:#x} × {len}");
            }
            let text = "é中!".repeat(len);
            assert!(!needs_escape(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn writes_integers_like_serde_json() {
        #[derive(serde::Serialize)]
        struct N {
            a: u8,
            b: i8,
            c: u64,
            d: i64,
            e: i64,
            f: u16,
            g: i32,
        }
        let mut values: Vec<u64> = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535];
        values.extend((1..20).map(|p| 10u64.pow(p) - 1));
        values.extend((1..20).map(|p| 10u64.pow(p)));
        values.extend([u64::MAX, u64::MAX / 3, 12_345_678_901_234_567]);
        for v in values {
            let n = N {
                a: v as u8,
                b: v as i8,
                c: v,
                d: v as i64,
                e: i64::MIN.wrapping_add(v as i64),
                f: v as u16,
                g: (v as i32).wrapping_neg(),
            };
            let mut ours = Vec::new();
            assert!(append(&mut ours, &n).is_ok());
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&serde_json::to_vec(&n).unwrap_or_default()),
                "{v}"
            );
        }
    }

    #[test]
    fn escapes_like_serde_json() {
        #[derive(serde::Serialize)]
        struct S<'a> {
            text: &'a str,
            shown: Option<u8>,
            flag: bool,
        }
        let v = S {
            text: "a\"b\\c\nd\u{1}é",
            shown: None,
            flag: true,
        };
        let mut ours = Vec::new();
        assert!(append(&mut ours, &v).is_ok());
        assert_eq!(ours, serde_json::to_vec(&v).unwrap_or_default());
        let mut out = Vec::new();
        let refused = append(&mut out, &vec![1u8]);
        assert!(refused.is_err_and(|e| e.to_string().contains("sequence")));
    }
}
