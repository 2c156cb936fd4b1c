//! Hex text for bytes: the form EPCs and captured frames travel in through
//! CLIs, logs and JSON. One implementation, used by every crate.

use std::fmt;

/// A byte slice shown as upper-case hex without separators (`30 74` → `3074`).
/// Formats straight into the writer: no intermediate `String`.
#[derive(Debug, Clone, Copy)]
pub struct Hex<'a>(pub &'a [u8]);

const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// The two upper-case hex digits of every byte value.
const PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 0x0F]];
        i += 1;
    }
    t
};

/// Upper-case hex digits of `bytes` into `dst`, two per byte, as far as
/// `dst` reaches (callers give it `2 * bytes.len()`).
pub(crate) fn encode_upper_into(bytes: &[u8], dst: &mut [u8]) {
    for (pair, &b) in dst.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(b)]);
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(64) {
            let n = chunk.len() * 2;
            encode_upper_into(chunk, &mut buf[..n]);
            // Only ASCII hex digits were written, so this cannot fail.
            f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl serde::Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Serde helper: `#[serde(serialize_with = "crate::hex::serialize")]` on a
/// `Vec<u8>`/`[u8; N]` field writes it as a hex string.
pub fn serialize<S: serde::Serializer, T: AsRef<[u8]>>(bytes: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Hex(bytes.as_ref()))
}

/// Why a hex string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
    #[error("invalid hex digit {found:?} at position {pos}")]
    InvalidDigit { pos: usize, found: char },
}

/// Value of each byte as a hex digit, or `INVALID`.
const INVALID: u8 = 0xFF;
const NIBBLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses hex text, ignoring spaces, tabs, `:` and `-` between digit pairs
/// (captures are pasted in all of these forms) and an optional `0x` prefix.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Like [`decode`], appending to `out` (lets hot loops reuse one buffer).
pub fn decode_into(text: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    decode_bytes_into(text.as_bytes(), out)
}

/// Like [`decode_into`] on raw bytes (a line read from a pipe need not be
/// UTF-8; anything outside ASCII is an invalid digit). On error `out` may
/// hold the bytes decoded before the bad digit.
pub fn decode_bytes_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), HexError> {
    // The common case — a bare run of digit pairs — takes a branch-free
    // path: every pair is decoded (one reservation, no per-byte capacity
    // check), bad digits are noticed once at the end, and only then is the
    // line re-read by the general path for separators and the error.
    if text.len().is_multiple_of(2) {
        let start = out.len();
        let mut seen = 0u8;
        out.extend(text.chunks_exact(2).map(|pair| {
            let (h, l) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
            seen |= h | l;
            h << 4 | l
        }));
        if seen <= 0x0F {
            return Ok(());
        }
        out.truncate(start);
    }
    decode_general(text, out)
}

fn decode_general(text: &[u8], out: &mut Vec<u8>) -> Result<(), HexError> {
    let is_space = |c: &u8| c.is_ascii_whitespace();
    let lead = text.iter().take_while(|c| is_space(c)).count();
    let trail = text[lead..]
        .iter()
        .rev()
        .take_while(|c| is_space(c))
        .count();
    let mut t = &text[lead..text.len() - trail];
    let mut offset = lead;
    if t.starts_with(b"0x") || t.starts_with(b"0X") {
        t = &t[2..];
        offset += 2;
    }
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (i, &c) in t.iter().enumerate() {
        if matches!(c, b' ' | b'\t' | b':' | b'-') && high.is_none() {
            continue;
        }
        let v = NIBBLE[usize::from(c)];
        if v == INVALID {
            return Err(HexError::InvalidDigit {
                pos: offset + i,
                found: first_char(&t[i..]),
            });
        }
        digits += 1;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    if high.is_some() {
        return Err(HexError::OddLength(digits));
    }
    Ok(())
}

/// The character starting `bytes`, for error messages; U+FFFD if the bytes
/// are not UTF-8 there.
fn first_char(bytes: &[u8]) -> char {
    let head = &bytes[..bytes.len().min(4)];
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    valid.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_separators() {
        let bytes = [0x30u8, 0x74, 0x25, 0x7B, 0x00, 0xFF];
        assert_eq!(Hex(&bytes).to_string(), "3074257B00FF");
        assert_eq!(decode("30 74:25-7b 00ff").unwrap_or_default(), bytes);
        assert_eq!(decode("0x3074").unwrap_or_default(), [0x30, 0x74]);
    }

    #[test]
    fn names_the_bad_digit_and_its_position() {
        assert_eq!(
            decode("30G4"),
            Err(HexError::InvalidDigit { pos: 2, found: 'G' })
        );
        assert_eq!(decode("307"), Err(HexError::OddLength(3)));
        assert_eq!(
            decode("30 7 4"),
            Err(HexError::InvalidDigit { pos: 4, found: ' ' })
        );
    }
}
