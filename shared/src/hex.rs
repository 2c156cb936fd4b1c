//! Hex text for bytes: the form EPCs and captured frames travel in through
//! CLIs, logs and JSON. One implementation, used by every crate.

use std::fmt;

/// A byte slice shown as upper-case hex without separators (`30 74` → `3074`).
/// Formats straight into the writer: no intermediate `String`.
#[derive(Debug, Clone, Copy)]
pub struct Hex<'a>(pub &'a [u8]);

const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(64) {
            let n = chunk.len() * 2;
            for (i, b) in chunk.iter().enumerate() {
                buf[2 * i] = DIGITS[usize::from(b >> 4)];
                buf[2 * i + 1] = DIGITS[usize::from(b & 0x0F)];
            }
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

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses hex text, ignoring spaces, tabs, `:` and `-` between digit pairs
/// (captures are pasted in all of these forms) and an optional `0x` prefix.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Like [`decode`], appending to `out` (lets hot loops reuse one buffer).
pub fn decode_into(text: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let offset = text.len() - text.trim_start().len() + (text.trim().len() - t.len());
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (i, &c) in t.as_bytes().iter().enumerate() {
        if matches!(c, b' ' | b'\t' | b':' | b'-') && high.is_none() {
            continue;
        }
        let v = nibble(c).ok_or_else(|| HexError::InvalidDigit {
            pos: offset + i,
            found: t[i..].chars().next().unwrap_or('?'),
        })?;
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
