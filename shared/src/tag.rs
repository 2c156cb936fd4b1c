//! Raw tag memory as it comes off the air: the EPC bank's identifier bytes.
//!
//! Reader frames carry EPCs of any length the Gen2 PC word allows (0–31
//! words). [`EpcBytes`] holds them inline so a decoded tag report costs no
//! heap allocation on the hot path; the GS1 meaning is [`crate::epc`]'s job.

use std::fmt;

/// Largest EPC the PC word can announce: 31 16-bit words.
pub const MAX_EPC_BYTES: usize = 62;

/// The EPC bank's identifier bytes (after the PC word), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpcBytes {
    len: u8,
    buf: [u8; MAX_EPC_BYTES],
}

/// An EPC longer than [`MAX_EPC_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("EPC of {0} bytes is longer than the {MAX_EPC_BYTES} bytes a Gen2 PC word allows")]
pub struct EpcTooLong(pub usize);

impl EpcBytes {
    /// Copies `bytes`; fails only if longer than a PC word can describe.
    pub fn new(bytes: &[u8]) -> Result<Self, EpcTooLong> {
        if bytes.len() > MAX_EPC_BYTES {
            return Err(EpcTooLong(bytes.len()));
        }
        let mut buf = [0u8; MAX_EPC_BYTES];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            len: bytes.len() as u8,
            buf,
        })
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Parses hex text (see [`crate::hex::decode`]).
    pub fn from_hex(text: &str) -> Result<Self, EpcHexError> {
        let bytes = crate::hex::decode(text)?;
        Ok(Self::new(&bytes)?)
    }
}

/// Why hex text is not an EPC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcHexError {
    #[error(transparent)]
    Hex(#[from] crate::hex::HexError),
    #[error(transparent)]
    TooLong(#[from] EpcTooLong),
}

impl AsRef<[u8]> for EpcBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Display for EpcBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::hex::Hex(self.as_slice()), f)
    }
}

impl fmt::Debug for EpcBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EpcBytes({self})")
    }
}

impl serde::Serialize for EpcBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EpcBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_any_pc_length_and_refuses_longer() {
        let max = [0xAB; MAX_EPC_BYTES];
        assert_eq!(EpcBytes::new(&max).map(|e| e.len()), Ok(MAX_EPC_BYTES));
        assert_eq!(EpcBytes::new(&[0; 63]), Err(EpcTooLong(63)));
        assert!(EpcBytes::new(&[]).map(|e| e.is_empty()).unwrap_or(false));
    }

    #[test]
    fn json_is_hex_both_ways() -> Result<(), serde_json::Error> {
        let epc =
            EpcBytes::from_hex("3074257BF7194E4000001A85").map_err(serde::de::Error::custom)?;
        let json = serde_json::to_string(&epc)?;
        assert_eq!(json, "\"3074257BF7194E4000001A85\"");
        let back: EpcBytes = serde_json::from_str(&json)?;
        assert_eq!(back, epc);
        assert!(serde_json::from_str::<EpcBytes>("\"30X4\"").is_err());
        Ok(())
    }
}
