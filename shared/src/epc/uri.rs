//! EPC URIs rendered lazily (TDS pure identity URI, tag URI and raw URI):
//! `Display` types that build the URI in a stack buffer and hand the
//! formatter one `&str` — no heap, one write — and the JSON form of an
//! [`Epc`], which renders the shared body of both URIs once.

use std::fmt;

use serde::ser::SerializeStruct;

use super::scheme::Identity;
use super::text::{digits_into, uri_escape, Component, Digits};
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
/// The URIs are built once on the stack and passed as `&str` (no heap, as
/// with `collect_str`, but without a `fmt::write` round trip per value);
/// numeric field values are slices of the already-rendered URI body.
impl serde::Serialize for Epc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let fail = |_| S::Error::custom("EPC URI longer than its buffer");
        let extra = match self.identity() {
            Identity::Sscc { .. } | Identity::Giai { .. } => 2,
            Identity::Raw(_) => 1 + usize::from(self.afi().is_some()),
            _ => 3,
        };
        let mut m = s.serialize_struct("Epc", 5 + extra)?;
        m.serialize_field("hex", &self.hex())?;
        m.serialize_field("scheme", &self.scheme())?;
        m.serialize_field("filter", &self.filter())?;

        if let Identity::Raw(reason) = self.identity() {
            let mut raw = StackBuf::new();
            render_raw(self, &mut raw).map_err(fail)?;
            m.serialize_field("tag_uri", raw.as_str())?;
            m.serialize_field("id_uri", raw.as_str())?;
            m.serialize_field("reason", reason)?;
            if let Some(afi) = self.afi() {
                let mut hex = StackBuf::new();
                hex.hex(&[afi]).map_err(fail)?;
                m.serialize_field("afi", hex.as_str())?;
            }
            return m.end();
        }

        let mut tag = StackBuf::new();
        render_prefix(self, true, &mut tag).map_err(fail)?;
        let body_start = tag.len;
        let ends = render_body(self, &mut tag).map_err(fail)?;
        let mut id = StackBuf::new();
        render_prefix(self, false, &mut id).map_err(fail)?;
        id.push(&tag.buf[body_start..tag.len]).map_err(fail)?;
        m.serialize_field("tag_uri", tag.as_str())?;
        m.serialize_field("id_uri", id.as_str())?;

        // Component `i` of the body, as rendered (unescaped for digits).
        let part = |i: usize| {
            let start = if i == 0 { body_start } else { ends[i - 1] + 1 };
            tag.slice(start, ends[i])
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

/// Longest URI: a 62-byte raw EPC with AFI, `urn:epc:raw:496.xC1.x` + 124
/// hex digits (145 bytes); GIAI-202 with 24 escaped characters is ~110.
const CAP: usize = 160;

/// A fixed ASCII buffer; overflow is a `fmt::Error`, never a panic (it
/// cannot happen with the lengths above).
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
        self.slice(0, self.len)
    }

    fn slice(&self, start: usize, end: usize) -> &str {
        // Only ASCII is ever pushed.
        self.buf
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    fn push(&mut self, s: &[u8]) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s);
        self.len = end;
        Ok(())
    }

    fn decimal(&mut self, v: u64) -> fmt::Result {
        let mut tmp = [0u8; 20];
        let start = digits_into(&mut tmp, v, 0);
        self.push(&tmp[start..])
    }

    /// Zero-padded to the field's digit count; nothing for zero digits.
    fn digits(&mut self, d: &Digits) -> fmt::Result {
        if d.is_empty() {
            return Ok(());
        }
        let mut tmp = [0u8; 20];
        let start = digits_into(&mut tmp, d.value(), d.len());
        self.push(&tmp[start..])
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
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        for &b in bytes {
            self.push(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0F)]])?;
        }
        Ok(())
    }
}
