//! EPC URIs rendered lazily (TDS §6 pure identity, §12 tag URI, §12.3 raw):
//! `Display` types that build the URI on the stack and hand the formatter
//! one `&str`, so `to_string()`, `write!` and serde's `collect_str` all cost
//! a single write and no heap allocation.

use std::fmt;

use super::scheme::Identity;
use super::text::{format_padded, uri_escape, Component, Digits};
use super::Epc;

/// `urn:epc:tag:…` (or `urn:epc:raw:…`) for an [`Epc`]; see [`Epc::tag_uri`].
#[derive(Debug, Clone, Copy)]
pub struct TagUri<'a>(pub(crate) &'a Epc);

/// `urn:epc:id:…` (or `urn:epc:raw:…`) for an [`Epc`]; see [`Epc::id_uri`].
#[derive(Debug, Clone, Copy)]
pub struct IdUri<'a>(pub(crate) &'a Epc);

impl fmt::Display for TagUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = StackBuf::new();
        render(self.0, true, &mut buf)?;
        f.write_str(buf.as_str())
    }
}

impl fmt::Display for IdUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = StackBuf::new();
        render(self.0, false, &mut buf)?;
        f.write_str(buf.as_str())
    }
}

fn render(epc: &Epc, tag: bool, w: &mut StackBuf) -> fmt::Result {
    use fmt::Write;
    let scheme = epc.scheme();
    if let Identity::Raw(_) = epc.identity() {
        // TDS raw URI: bit count, optional AFI, then the bits in hex.
        w.write_str("urn:epc:raw:")?;
        w.write_decimal(epc.bytes().len() as u64 * 8)?;
        if let Some(afi) = epc.afi() {
            w.write_str(".x")?;
            w.write_hex(&[afi])?;
        }
        w.write_str(".x")?;
        w.write_hex(epc.bytes())?;
        return Ok(());
    }
    if tag {
        w.write_str("urn:epc:tag:")?;
        w.write_str(scheme.as_str())?;
        w.write_str(":")?;
        if let Some(filter) = epc.filter() {
            w.write_decimal(u64::from(filter))?;
            w.write_str(".")?;
        }
    } else {
        w.write_str("urn:epc:id:")?;
        w.write_str(scheme.id_name())?;
        w.write_str(":")?;
    }
    match epc.identity() {
        Identity::Sgtin {
            company_prefix: a,
            item_reference: b,
            serial: c,
        }
        | Identity::Grai {
            company_prefix: a,
            asset_type: b,
            serial: c,
        }
        | Identity::Sgln {
            company_prefix: a,
            location_reference: b,
            extension: c,
        } => {
            w.write_digits(a)?;
            w.write_str(".")?;
            w.write_digits(b)?;
            w.write_str(".")?;
            w.write_component(c)
        }
        Identity::Sscc {
            company_prefix,
            serial_reference,
        } => {
            w.write_digits(company_prefix)?;
            w.write_str(".")?;
            w.write_digits(serial_reference)
        }
        Identity::Giai {
            company_prefix,
            asset_reference,
        } => {
            w.write_digits(company_prefix)?;
            w.write_str(".")?;
            w.write_component(asset_reference)
        }
        Identity::Gid {
            general_manager,
            object_class,
            serial,
        } => {
            w.write_decimal(*general_manager)?;
            w.write_str(".")?;
            w.write_decimal(*object_class)?;
            w.write_str(".")?;
            w.write_decimal(*serial)
        }
        Identity::Raw(_) => Ok(()),
    }
}

/// Longest URI: a 62-byte raw EPC with AFI, `urn:epc:raw:496.xC1.x` + 124
/// hex digits (145 bytes); GIAI-202 with 24 escaped characters is ~110.
const CAP: usize = 160;

/// A fixed buffer that implements `fmt::Write`; overflow is a `fmt::Error`,
/// never a panic (it cannot happen with the lengths above).
struct StackBuf {
    buf: [u8; CAP],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        Self {
            buf: [0; CAP],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only `&str`s and ASCII digits are ever copied in.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn push_bytes(&mut self, s: &[u8]) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s);
        self.len = end;
        Ok(())
    }

    fn write_decimal(&mut self, v: u64) -> fmt::Result {
        let mut tmp = [0u8; 20];
        let s = format_padded(&mut tmp, v, 0);
        self.push_bytes(s.as_bytes())
    }

    /// Zero-padded to the field's digit count; nothing for zero digits.
    fn write_digits(&mut self, d: &Digits) -> fmt::Result {
        if d.is_empty() {
            return Ok(());
        }
        let mut tmp = [0u8; 20];
        let s = format_padded(&mut tmp, d.value(), d.len());
        self.push_bytes(s.as_bytes())
    }

    /// Integers in decimal, strings with the TDS URI escapes.
    fn write_component(&mut self, c: &Component) -> fmt::Result {
        match c {
            Component::Integer(v) => self.write_decimal(*v),
            Component::Text(t) => {
                for &ch in t.as_bytes() {
                    match uri_escape(ch) {
                        Some(esc) => self.push_bytes(esc.as_bytes())?,
                        None => self.push_bytes(&[ch])?,
                    }
                }
                Ok(())
            }
        }
    }

    fn write_hex(&mut self, bytes: &[u8]) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        for &b in bytes {
            self.push_bytes(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0F)]])?;
        }
        Ok(())
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes())
    }
}
