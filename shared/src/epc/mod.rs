//! GS1 EPC codec: a tag's EPC bytes ⇄ scheme, filter, fields and URIs, per
//! the GS1 EPC Tag Data Standard (TDS) release 2.1. Reference: `docs/epc.md`.
//!
//! Decoding never fails: bytes that are not one of the supported schemes
//! (SGTIN-96/198, SSCC-96, SGLN-96/195, GRAI-96/170, GIAI-96/202, GID-96)
//! become a raw EPC with a [`RawReason`]. It never allocates either — fields
//! are integers with digit counts and inline strings, and URIs are
//! [`Display`](std::fmt::Display) values rendered on demand — because the
//! reader daemon decodes every tag report it receives.
//!
//! Encoding ([`encode_uri`], [`encode`], [`encode_giai96`]) validates and
//! names the field and the rule that a bad value breaks. The Gen2 PC word
//! and CRC-16 around the EPC live in [`gen2`].

mod bits;
mod encode;
pub mod gen2;
mod scheme;
mod text;
mod uri;

use std::fmt;

use crate::hex::Hex;
use crate::tag::{EpcBytes, MAX_EPC_BYTES};

pub use encode::{
    encode, encode_giai, encode_giai96, encode_uri, EncodeError, Field, Fields, Rule,
};
pub use scheme::{Identity, RawReason, Scheme};
pub use text::{Component, ComponentUri, Digits, Text, UriEscaped, MAX_TEXT};
pub use uri::{IdUri, TagUri};

/// A decoded EPC: the bytes as read plus what they mean. `Copy`, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Epc {
    bytes: EpcBytes,
    scheme: Scheme,
    /// Meaningful only when `scheme.has_filter()`.
    filter: u8,
    /// The PC word's AFI when it was decoded with toggle = 1.
    afi: Option<u8>,
    identity: Identity,
}

/// Decodes EPC bytes (the EPC bank after the PC word, any length up to 62
/// bytes). Never fails and never panics: anything that is not a valid
/// supported scheme comes back with [`Scheme::Raw`] and a [`RawReason`].
/// Input beyond 62 bytes is cut to 62 and reported as
/// [`RawReason::TooLong`].
pub fn decode(bytes: &[u8]) -> Epc {
    let kept = &bytes[..bytes.len().min(MAX_EPC_BYTES)];
    let stored = store(kept);
    if bytes.len() > MAX_EPC_BYTES {
        return raw(stored, RawReason::TooLong, None);
    }
    match scheme::decode_identity(kept) {
        Ok((scheme, filter, identity)) => Epc {
            bytes: stored,
            scheme,
            filter,
            afi: None,
            identity,
        },
        Err(reason) => raw(stored, reason, None),
    }
}

/// `EpcBytes::new` only fails above 62 bytes, which `decode` never passes;
/// shortening on failure keeps this total without an `unwrap` (the empty
/// slice always fits, so the recursion ends).
fn store(kept: &[u8]) -> EpcBytes {
    match EpcBytes::new(kept) {
        Ok(b) => b,
        Err(_) => store(&kept[..kept.len().saturating_sub(1)]),
    }
}

/// Decodes EPC bytes knowing the PC word that announced them. With the
/// toggle bit set the bank holds an ISO identifier, not a GS1 EPC, so the
/// result is raw ([`RawReason::IsoAfi`]) and its URI carries the AFI
/// (`urn:epc:raw:96.xC1.x…`, TDS §12.3). With toggle = 0 this is [`decode`].
pub fn decode_with_pc(pc: gen2::PcWord, bytes: &[u8]) -> Epc {
    match pc.afi() {
        None => decode(bytes),
        Some(afi) => {
            let epc = decode(bytes);
            raw(epc.bytes, RawReason::IsoAfi, Some(afi))
        }
    }
}

fn raw(bytes: EpcBytes, reason: RawReason, afi: Option<u8>) -> Epc {
    Epc {
        bytes,
        scheme: Scheme::Raw,
        filter: 0,
        afi,
        identity: Identity::Raw(reason),
    }
}

impl Epc {
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The 3-bit filter value; `None` for GID-96 (which has none) and raw.
    pub fn filter(&self) -> Option<u8> {
        self.scheme.has_filter().then_some(self.filter)
    }

    /// `urn:epc:tag:sgtin-96:3.0614141.812345.6789`, or the raw URI.
    pub fn tag_uri(&self) -> TagUri<'_> {
        TagUri(self)
    }

    /// `urn:epc:id:sgtin:0614141.812345.6789`, or — TDS has no pure
    /// identity for undecodable bits — the same raw URI as [`Epc::tag_uri`],
    /// so every EPC has one stable identity string.
    pub fn id_uri(&self) -> IdUri<'_> {
        IdUri(self)
    }

    /// The bytes as read (including any zero padding after the scheme).
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    pub fn epc_bytes(&self) -> &EpcBytes {
        &self.bytes
    }

    /// Upper-case hex of [`Epc::bytes`].
    pub fn hex(&self) -> Hex<'_> {
        Hex(self.bytes.as_slice())
    }

    /// The fields, as TDS names them.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn is_raw(&self) -> bool {
        self.scheme == Scheme::Raw
    }

    /// Why the bytes are raw; `None` for a decoded scheme.
    pub fn raw_reason(&self) -> Option<RawReason> {
        match self.identity {
            Identity::Raw(r) => Some(r),
            _ => None,
        }
    }

    /// The PC word's AFI, when decoded by [`decode_with_pc`] with toggle = 1.
    pub fn afi(&self) -> Option<u8> {
        self.afi
    }

    /// GS1 company prefix (all schemes but GID and raw).
    pub fn company_prefix(&self) -> Option<Digits> {
        match self.identity {
            Identity::Sgtin { company_prefix, .. }
            | Identity::Sscc { company_prefix, .. }
            | Identity::Sgln { company_prefix, .. }
            | Identity::Grai { company_prefix, .. }
            | Identity::Giai { company_prefix, .. } => Some(company_prefix),
            Identity::Gid { .. } | Identity::Raw(_) => None,
        }
    }

    /// GIAI individual asset reference — the warehouse's asset number.
    pub fn asset_reference(&self) -> Option<&Component> {
        match &self.identity {
            Identity::Giai {
                asset_reference, ..
            } => Some(asset_reference),
            _ => None,
        }
    }

    /// SGTIN indicator digit + item reference.
    pub fn item_reference(&self) -> Option<Digits> {
        match self.identity {
            Identity::Sgtin { item_reference, .. } => Some(item_reference),
            _ => None,
        }
    }

    /// SGTIN or GRAI serial (GID's serial: see [`Identity::Gid`]).
    pub fn serial(&self) -> Option<&Component> {
        match &self.identity {
            Identity::Sgtin { serial, .. } | Identity::Grai { serial, .. } => Some(serial),
            _ => None,
        }
    }
}

impl fmt::Debug for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epc({} {})", self.hex(), self.tag_uri())
    }
}

/// The tag URI.
impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.tag_uri(), f)
    }
}

// `impl serde::Serialize for Epc` lives in `uri.rs`, beside the URI
// rendering it shares.

#[cfg(test)]
mod tests;
