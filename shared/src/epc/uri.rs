//! EPC URIs rendered lazily (TDS pure identity URI, tag URI and raw URI):
//! `Display` types that build the URI in a stack buffer and hand the
//! formatter one `&str` — no heap, one write — and the JSON form of an
//! [`Epc`], which renders every string of the object into one stack buffer
//! (the shared body of both URIs once) and checks its UTF-8 once.

use std::fmt;

use serde::ser::SerializeStruct;

use super::scheme::Identity;
use super::text::{decimal_len, uri_escape, write_padded, Component, Digits};
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
    if epc.is_raw() {
        return render_raw(epc, w);
    }
    render_prefix(epc, tag, w)?;
    render_body(epc, w).map(|_| ())
}

/// TDS raw URI: bit count, optional AFI, then the bits in hex.
fn render_raw(epc: &Epc, w: &mut StackBuf) -> fmt::Result {
    w.push(b"urn:epc:raw:")?;
    w.decimal(epc.bytes().len() as u64 * 8)?;
    if let Some(afi) = epc.afi() {
        w.push(b".x")?;
        w.hex(&[afi])?;
    }
    w.push(b".x")?;
    w.hex(epc.bytes())
}

/// `urn:epc:tag:<scheme>:<filter>.` or `urn:epc:id:<family>:`.
fn render_prefix(epc: &Epc, tag: bool, w: &mut StackBuf) -> fmt::Result {
    let scheme = epc.scheme();
    if tag {
        w.push(b"urn:epc:tag:")?;
        w.push(scheme.as_str().as_bytes())?;
        w.push(b":")?;
        if let Some(filter) = epc.filter() {
            w.push(&[b'0' + filter, b'.'])?;
        }
    } else {
        w.push(b"urn:epc:id:")?;
        w.push(scheme.id_name().as_bytes())?;
        w.push(b":")?;
    }
    Ok(())
}

/// The dot-separated components shared by both URIs; returns where each
/// component ends in `w` (its start is the previous end + 1).
fn render_body(epc: &Epc, w: &mut StackBuf) -> Result<[usize; 3], fmt::Error> {
    let mut ends = [0usize; 3];
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
            w.digits(a)?;
            ends[0] = w.len;
            w.push(b".")?;
            w.digits(b)?;
            ends[1] = w.len;
            w.push(b".")?;
            w.component(c)?;
            ends[2] = w.len;
        }
        Identity::Sscc {
            company_prefix: a,
            serial_reference: b,
        } => {
            w.digits(a)?;
            ends[0] = w.len;
            w.push(b".")?;
            w.digits(b)?;
            ends[1] = w.len;
        }
        Identity::Giai {
            company_prefix: a,
            asset_reference: b,
        } => {
            w.digits(a)?;
            ends[0] = w.len;
            w.push(b".")?;
            w.component(b)?;
            ends[1] = w.len;
        }
        Identity::Gid {
            general_manager,
            object_class,
            serial,
        } => {
            w.decimal(*general_manager)?;
            ends[0] = w.len;
            w.push(b".")?;
            w.decimal(*object_class)?;
            ends[1] = w.len;
            w.push(b".")?;
            w.decimal(*serial)?;
            ends[2] = w.len;
        }
        Identity::Raw(_) => {}
    }
    Ok(ends)
}

/// One flat object: `hex`, `scheme`, `filter` (null without one), `tag_uri`,
/// `id_uri`, then the scheme's fields as strings in snake case
/// (`company_prefix`, `item_reference`, `serial`, …) or, for raw, `reason`
/// (and `afi` when known). Field values are strings because leading zeros
/// are significant and GS1 numbers exceed JavaScript's safe integers.
///
/// The hex and both URIs are rendered into one stack buffer (the URI body
/// once, copied for the second URI), whose UTF-8 is checked once, and are
/// passed as `&str` slices of it (no heap, no `fmt::write` round trip);
/// numeric field values are slices of the already-rendered URI body.
impl serde::Serialize for Epc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let fail = |_| S::Error::custom("EPC rendering longer than its buffer");
        let extra = match self.identity() {
            Identity::Sscc { .. } | Identity::Giai { .. } => 2,
            Identity::Raw(_) => 1 + usize::from(self.afi().is_some()),
            _ => 3,
        };
        let mut b = StackBuf::new();
        b.hex(self.bytes()).map_err(fail)?;
        let hex_end = b.len;

        if let Identity::Raw(reason) = self.identity() {
            render_raw(self, &mut b).map_err(fail)?;
            let uri_end = b.len;
            if let Some(afi) = self.afi() {
                b.hex(&[afi]).map_err(fail)?;
            }
            let text = b.text().map_err(fail)?;
            let at = |start: usize, end: usize| text.get(start..end).unwrap_or_default();
            let mut m = s.serialize_struct("Epc", 5 + extra)?;
            m.serialize_field("hex", at(0, hex_end))?;
            m.serialize_field("scheme", &self.scheme())?;
            m.serialize_field("filter", &self.filter())?;
            m.serialize_field("tag_uri", at(hex_end, uri_end))?;
            m.serialize_field("id_uri", at(hex_end, uri_end))?;
            m.serialize_field("reason", reason)?;
            if self.afi().is_some() {
                m.serialize_field("afi", at(uri_end, text.len()))?;
            }
            return m.end();
        }

        render_prefix(self, true, &mut b).map_err(fail)?;
        let body_start = b.len;
        let ends = render_body(self, &mut b).map_err(fail)?;
        let tag_end = b.len;
        render_prefix(self, false, &mut b).map_err(fail)?;
        b.repeat(body_start, tag_end).map_err(fail)?;
        let text = b.text().map_err(fail)?;
        let at = |start: usize, end: usize| text.get(start..end).unwrap_or_default();

        let mut m = s.serialize_struct("Epc", 5 + extra)?;
        m.serialize_field("hex", at(0, hex_end))?;
        m.serialize_field("scheme", &self.scheme())?;
        m.serialize_field("filter", &self.filter())?;
        m.serialize_field("tag_uri", at(hex_end, tag_end))?;
        m.serialize_field("id_uri", at(tag_end, text.len()))?;

        // Component `i` of the body, as rendered (unescaped for digits).
        let part = |i: usize| {
            let start = if i == 0 { body_start } else { ends[i - 1] + 1 };
            at(start, ends[i])
        };
        // Alphanumeric components go out unescaped, straight from the Text.
        fn value<'a>(c: &'a Component, rendered: &'a str) -> &'a str {
            match c {
                Component::Integer(_) => rendered,
                Component::Text(t) => t.as_str(),
            }
        }
        match self.identity() {
            Identity::Sgtin { serial, .. } => {
                m.serialize_field("company_prefix", part(0))?;
                m.serialize_field("item_reference", part(1))?;
                m.serialize_field("serial", value(serial, part(2)))?;
            }
            Identity::Sscc { .. } => {
                m.serialize_field("company_prefix", part(0))?;
                m.serialize_field("serial_reference", part(1))?;
            }
            Identity::Sgln { extension, .. } => {
                m.serialize_field("company_prefix", part(0))?;
                m.serialize_field("location_reference", part(1))?;
                m.serialize_field("extension", value(extension, part(2)))?;
            }
            Identity::Grai { serial, .. } => {
                m.serialize_field("company_prefix", part(0))?;
                m.serialize_field("asset_type", part(1))?;
                m.serialize_field("serial", value(serial, part(2)))?;
            }
            Identity::Giai {
                asset_reference, ..
            } => {
                m.serialize_field("company_prefix", part(0))?;
                m.serialize_field("asset_reference", value(asset_reference, part(1)))?;
            }
            Identity::Gid { .. } => {
                m.serialize_field("general_manager", part(0))?;
                m.serialize_field("object_class", part(1))?;
                m.serialize_field("serial", part(2))?;
            }
            Identity::Raw(_) => {}
        }
        m.end()
    }
}

/// Room for every string of one EPC's JSON object. Longest: a 62-byte raw
/// EPC with AFI — 124 hex digits, `urn:epc:raw:496.xC1.x` + 124 (145) and
/// the AFI (2): 271 bytes; a GIAI-202 with 24 escaped characters needs
/// ~54 + 2 × ~110.
const CAP: usize = 384;

/// A fixed ASCII buffer; overflow is a `fmt::Error`, never a panic (it
/// cannot happen with the lengths above). Only ASCII is ever written, so
/// the one UTF-8 check when it is read as text cannot fail.
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

    /// Everything written so far, checked as UTF-8 once.
    fn text(&self) -> Result<&str, fmt::Error> {
        let bytes = self.buf.get(..self.len).ok_or(fmt::Error)?;
        std::str::from_utf8(bytes).map_err(|_| fmt::Error)
    }

    fn as_str(&self) -> &str {
        self.text().unwrap_or_default()
    }

    /// The next `n` bytes of the buffer, now counted as written.
    fn grow(&mut self, n: usize) -> Result<&mut [u8], fmt::Error> {
        let start = self.len;
        let dst = self.buf.get_mut(start..start + n).ok_or(fmt::Error)?;
        self.len = start + n;
        Ok(dst)
    }

    fn push(&mut self, s: &[u8]) -> fmt::Result {
        self.grow(s.len())?.copy_from_slice(s);
        Ok(())
    }

    /// Appends a copy of what was written at `start..end`.
    fn repeat(&mut self, start: usize, end: usize) -> fmt::Result {
        if start > end {
            return Err(fmt::Error);
        }
        let at = self.len;
        self.grow(end - start)?;
        self.buf.copy_within(start..end, at);
        Ok(())
    }

    fn decimal(&mut self, v: u64) -> fmt::Result {
        write_padded(self.grow(decimal_len(v))?, v);
        Ok(())
    }

    /// Zero-padded to the field's digit count; nothing for zero digits.
    fn digits(&mut self, d: &Digits) -> fmt::Result {
        write_padded(self.grow(d.len())?, d.value());
        Ok(())
    }

    /// Integers in decimal, strings with the TDS URI escapes.
    fn component(&mut self, c: &Component) -> fmt::Result {
        match c {
            Component::Integer(v) => self.decimal(*v),
            Component::Text(t) => {
                for &ch in t.as_bytes() {
                    match uri_escape(ch) {
                        Some(esc) => self.push(esc.as_bytes())?,
                        None => self.push(&[ch])?,
                    }
                }
                Ok(())
            }
        }
    }

    fn hex(&mut self, bytes: &[u8]) -> fmt::Result {
        crate::hex::encode_upper_into(bytes, self.grow(2 * bytes.len())?);
        Ok(())
    }
}
