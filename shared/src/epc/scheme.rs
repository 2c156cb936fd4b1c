//! The binary coding schemes: headers, lengths and partition tables of the
//! GS1 EPC Tag Data Standard 2.1 (the header table of §14.2 and the
//! partition tables of §14.5),
//! and the decoder that turns bits into an [`Identity`] or a [`RawReason`].

use std::fmt;

use super::bits;
use super::text::{is_set82, Component, Digits, Text};

/// An EPC binary coding scheme (the tag URI's scheme name), or `Raw` for
/// bits that decode to none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Sgtin96,
    Sgtin198,
    Sscc96,
    Sgln96,
    Sgln195,
    Grai96,
    Grai170,
    Giai96,
    Giai202,
    Gid96,
    Raw,
}

impl Scheme {
    /// Every scheme the codec decodes and encodes (all but `Raw`).
    pub const ALL: [Scheme; 10] = [
        Scheme::Sgtin96,
        Scheme::Sgtin198,
        Scheme::Sscc96,
        Scheme::Sgln96,
        Scheme::Sgln195,
        Scheme::Grai96,
        Scheme::Grai170,
        Scheme::Giai96,
        Scheme::Giai202,
        Scheme::Gid96,
    ];

    /// The tag-URI scheme name: `"sgtin-96"`, `"giai-202"`, … and `"raw"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Sgtin96 => "sgtin-96",
            Scheme::Sgtin198 => "sgtin-198",
            Scheme::Sscc96 => "sscc-96",
            Scheme::Sgln96 => "sgln-96",
            Scheme::Sgln195 => "sgln-195",
            Scheme::Grai96 => "grai-96",
            Scheme::Grai170 => "grai-170",
            Scheme::Giai96 => "giai-96",
            Scheme::Giai202 => "giai-202",
            Scheme::Gid96 => "gid-96",
            Scheme::Raw => "raw",
        }
    }

    /// The pure-identity URI's scheme name (`"sgtin"` for both SGTINs).
    pub const fn id_name(self) -> &'static str {
        match self {
            Scheme::Sgtin96 | Scheme::Sgtin198 => "sgtin",
            Scheme::Sscc96 => "sscc",
            Scheme::Sgln96 | Scheme::Sgln195 => "sgln",
            Scheme::Grai96 | Scheme::Grai170 => "grai",
            Scheme::Giai96 | Scheme::Giai202 => "giai",
            Scheme::Gid96 => "gid",
            Scheme::Raw => "raw",
        }
    }

    /// The 8-bit EPC header (TDS §14.2 header table); `None` for `Raw`.
    pub const fn header(self) -> Option<u8> {
        Some(match self {
            Scheme::Sgtin96 => 0x30,
            Scheme::Sscc96 => 0x31,
            Scheme::Sgln96 => 0x32,
            Scheme::Grai96 => 0x33,
            Scheme::Giai96 => 0x34,
            Scheme::Gid96 => 0x35,
            Scheme::Sgtin198 => 0x36,
            Scheme::Grai170 => 0x37,
            Scheme::Giai202 => 0x38,
            Scheme::Sgln195 => 0x39,
            Scheme::Raw => return None,
        })
    }

    /// The scheme a header selects, if this codec knows it.
    pub const fn from_header(h: u8) -> Option<Scheme> {
        Some(match h {
            0x30 => Scheme::Sgtin96,
            0x31 => Scheme::Sscc96,
            0x32 => Scheme::Sgln96,
            0x33 => Scheme::Grai96,
            0x34 => Scheme::Giai96,
            0x35 => Scheme::Gid96,
            0x36 => Scheme::Sgtin198,
            0x37 => Scheme::Grai170,
            0x38 => Scheme::Giai202,
            0x39 => Scheme::Sgln195,
            _ => return None,
        })
    }

    /// The scheme for a tag-URI scheme name (`"giai-96"`).
    pub fn from_tag_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Encoding length in bits (TDS §14.2 header table), before word padding.
    pub const fn bits(self) -> usize {
        match self {
            Scheme::Sgtin96
            | Scheme::Sscc96
            | Scheme::Sgln96
            | Scheme::Grai96
            | Scheme::Giai96
            | Scheme::Gid96 => 96,
            Scheme::Sgtin198 => 198,
            Scheme::Grai170 => 170,
            Scheme::Giai202 => 202,
            Scheme::Sgln195 => 195,
            Scheme::Raw => 0,
        }
    }

    /// Whether the scheme carries a 3-bit filter value (all but GID).
    pub const fn has_filter(self) -> bool {
        !matches!(self, Scheme::Gid96 | Scheme::Raw)
    }

    /// Upper-case name for messages ("SGTIN-96").
    pub const fn title(self) -> &'static str {
        match self {
            Scheme::Sgtin96 => "SGTIN-96",
            Scheme::Sgtin198 => "SGTIN-198",
            Scheme::Sscc96 => "SSCC-96",
            Scheme::Sgln96 => "SGLN-96",
            Scheme::Sgln195 => "SGLN-195",
            Scheme::Grai96 => "GRAI-96",
            Scheme::Grai170 => "GRAI-170",
            Scheme::Giai96 => "GIAI-96",
            Scheme::Giai202 => "GIAI-202",
            Scheme::Gid96 => "GID-96",
            Scheme::Raw => "raw",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Scheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One row of a partition table: company-prefix bits and digits, then the
/// bits and digits (or, for strings, maximum characters) of the field after
/// it. Row index = partition value; the company prefix always has
/// `12 - partition` digits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Partition {
    pub cp_bits: u8,
    pub cp_digits: u8,
    pub ref_bits: u8,
    pub ref_digits: u8,
}

const fn p(cp_bits: u8, cp_digits: u8, ref_bits: u8, ref_digits: u8) -> Partition {
    Partition {
        cp_bits,
        cp_digits,
        ref_bits,
        ref_digits,
    }
}

/// TDS partition table for SGTIN: company prefix + indicator/item reference, 44 bits, 13 digits.
pub(crate) const SGTIN: [Partition; 7] = [
    p(40, 12, 4, 1),
    p(37, 11, 7, 2),
    p(34, 10, 10, 3),
    p(30, 9, 14, 4),
    p(27, 8, 17, 5),
    p(24, 7, 20, 6),
    p(20, 6, 24, 7),
];

/// TDS partition table for SSCC: company prefix + extension/serial reference, 58 bits, 17 digits.
pub(crate) const SSCC: [Partition; 7] = [
    p(40, 12, 18, 5),
    p(37, 11, 21, 6),
    p(34, 10, 24, 7),
    p(30, 9, 28, 8),
    p(27, 8, 31, 9),
    p(24, 7, 34, 10),
    p(20, 6, 38, 11),
];

/// TDS partition table for SGLN: company prefix + location reference,
/// 41 bits, 12 digits.
pub(crate) const SGLN: [Partition; 7] = [
    p(40, 12, 1, 0),
    p(37, 11, 4, 1),
    p(34, 10, 7, 2),
    p(30, 9, 11, 3),
    p(27, 8, 14, 4),
    p(24, 7, 17, 5),
    p(20, 6, 21, 6),
];

/// TDS partition table for GRAI: company prefix + asset type, 44 bits,
/// 12 digits (unlike SGLN, the bits match SGTIN's while the digits do not).
pub(crate) const GRAI: [Partition; 7] = [
    p(40, 12, 4, 0),
    p(37, 11, 7, 1),
    p(34, 10, 10, 2),
    p(30, 9, 14, 3),
    p(27, 8, 17, 4),
    p(24, 7, 20, 5),
    p(20, 6, 24, 6),
];

/// TDS partition table for GIAI-96: company prefix + integer asset reference, 82 bits.
pub(crate) const GIAI96: [Partition; 7] = [
    p(40, 12, 42, 13),
    p(37, 11, 45, 14),
    p(34, 10, 48, 15),
    p(30, 9, 52, 16),
    p(27, 8, 55, 17),
    p(24, 7, 58, 18),
    p(20, 6, 62, 19),
];

/// TDS partition table for GIAI-202: company prefix + string asset reference,
/// 188 bits; `ref_digits` is the maximum number of characters (30 − prefix).
pub(crate) const GIAI202: [Partition; 7] = [
    p(40, 12, 148, 18),
    p(37, 11, 151, 19),
    p(34, 10, 154, 20),
    p(30, 9, 158, 21),
    p(27, 8, 161, 22),
    p(24, 7, 164, 23),
    p(20, 6, 168, 24),
];

/// Bits of the integer serial / extension of the 96-bit schemes.
pub(crate) const SGTIN96_SERIAL_BITS: usize = 38;
pub(crate) const GRAI96_SERIAL_BITS: usize = 38;
pub(crate) const SGLN96_EXTENSION_BITS: usize = 41;
/// Bits and characters of the string serial / extension of the long schemes.
pub(crate) const SGTIN198_SERIAL: (usize, usize) = (140, 20);
pub(crate) const GRAI170_SERIAL: (usize, usize) = (112, 16);
pub(crate) const SGLN195_EXTENSION: (usize, usize) = (140, 20);
/// GID-96 field widths (TDS GID-96 coding table): general manager, object class, serial.
pub(crate) const GID_BITS: (usize, usize, usize) = (28, 24, 36);

/// What the bits identify, field by field, as TDS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// Serialised GTIN (trade item). `item_reference` includes the indicator digit.
    Sgtin {
        company_prefix: Digits,
        item_reference: Digits,
        serial: Component,
    },
    /// Serial shipping container code. `serial_reference` includes the extension digit.
    Sscc {
        company_prefix: Digits,
        serial_reference: Digits,
    },
    /// GLN with extension (a location).
    Sgln {
        company_prefix: Digits,
        location_reference: Digits,
        extension: Component,
    },
    /// Returnable asset.
    Grai {
        company_prefix: Digits,
        asset_type: Digits,
        serial: Component,
    },
    /// Individual asset — what this warehouse writes on its assets.
    Giai {
        company_prefix: Digits,
        asset_reference: Component,
    },
    /// General identifier (no GS1 company prefix, no filter).
    Gid {
        general_manager: u64,
        object_class: u64,
        serial: u64,
    },
    /// Not decodable as any supported scheme; why.
    Raw(RawReason),
}

/// Why bytes decoded to a raw EPC. Machine-readable via [`RawReason::as_str`]
/// (the JSON `reason`), human-readable via `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawReason {
    /// No bytes at all.
    Empty,
    /// More than the 62 bytes a Gen2 PC word can announce (kept: first 62).
    TooLong,
    /// The header is not one of the supported schemes.
    UnknownHeader,
    /// Fewer bits than the header's scheme needs.
    TooShort,
    /// Bits after the scheme's length that are not zero padding.
    TrailingData,
    /// Partition value 7 (reserved in every partition table).
    ReservedPartition,
    /// The company prefix's bits exceed its partition's digit count.
    CompanyPrefixNotNumeric,
    /// The reference after the company prefix exceeds its digit count.
    ReferenceNotNumeric,
    /// A 7-bit character outside the GS1 AI encodable set 82.
    InvalidCharacter,
    /// A non-zero character after the terminating zero, or non-zero fill bits.
    BadStringPadding,
    /// More characters than the scheme allows for this partition.
    StringTooLong,
    /// A string field with no characters.
    EmptyString,
    /// Bits TDS reserves (the 24 after an SSCC-96) are not zero.
    ReservedBitsSet,
    /// Toggle bit set in the PC word: an ISO/AFI EPC, not GS1 (see [`super::decode_with_pc`]).
    IsoAfi,
}

impl RawReason {
    /// Snake-case name, stable for logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            RawReason::Empty => "empty",
            RawReason::TooLong => "too_long",
            RawReason::UnknownHeader => "unknown_header",
            RawReason::TooShort => "too_short",
            RawReason::TrailingData => "trailing_data",
            RawReason::ReservedPartition => "reserved_partition",
            RawReason::CompanyPrefixNotNumeric => "company_prefix_not_numeric",
            RawReason::ReferenceNotNumeric => "reference_not_numeric",
            RawReason::InvalidCharacter => "invalid_character",
            RawReason::BadStringPadding => "bad_string_padding",
            RawReason::StringTooLong => "string_too_long",
            RawReason::EmptyString => "empty_string",
            RawReason::ReservedBitsSet => "reserved_bits_set",
            RawReason::IsoAfi => "iso_afi",
        }
    }
}

impl fmt::Display for RawReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RawReason::Empty => "no EPC bytes",
            RawReason::TooLong => "longer than the 62 bytes a Gen2 PC word allows",
            RawReason::UnknownHeader => "header is not a supported GS1 scheme",
            RawReason::TooShort => "fewer bits than the header's scheme needs",
            RawReason::TrailingData => "non-zero bits after the scheme's length",
            RawReason::ReservedPartition => "partition value 7 is reserved",
            RawReason::CompanyPrefixNotNumeric => {
                "company prefix bits exceed the partition's digit count"
            }
            RawReason::ReferenceNotNumeric => "reference bits exceed the partition's digit count",
            RawReason::InvalidCharacter => "character outside the GS1 AI encodable set 82",
            RawReason::BadStringPadding => "string not zero-terminated and zero-filled",
            RawReason::StringTooLong => "string longer than the scheme allows",
            RawReason::EmptyString => "string field is empty",
            RawReason::ReservedBitsSet => "reserved bits are not zero",
            RawReason::IsoAfi => "toggle bit set: ISO application family identifier, not GS1",
        })
    }
}

impl serde::Serialize for RawReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Decodes `b` per TDS §14.4: the header picks the scheme; the bytes must
/// hold at least the scheme's bits, and anything after them must be zero
/// (Gen2 pads EPCs to whole words; readers may report a longer PC length).
pub(crate) fn decode_identity(b: &[u8]) -> Result<(Scheme, u8, Identity), RawReason> {
    let Some(&header) = b.first() else {
        return Err(RawReason::Empty);
    };
    let scheme = Scheme::from_header(header).ok_or(RawReason::UnknownHeader)?;
    let len = scheme.bits();
    if b.len() * 8 < len {
        return Err(RawReason::TooShort);
    }
    if !bits::zero_from(b, len) {
        return Err(RawReason::TrailingData);
    }
    if scheme == Scheme::Gid96 {
        let (m, c, _) = GID_BITS;
        return Ok((
            scheme,
            0,
            Identity::Gid {
                general_manager: bits::get(b, 8, m),
                object_class: bits::get(b, 8 + m, c),
                serial: bits::get(b, 8 + m + c, GID_BITS.2),
            },
        ));
    }
    let filter = bits::get(b, 8, 3) as u8;
    let partition = bits::get(b, 11, 3) as usize;
    let table = match scheme {
        Scheme::Sgtin96 | Scheme::Sgtin198 => &SGTIN,
        Scheme::Sscc96 => &SSCC,
        Scheme::Sgln96 | Scheme::Sgln195 => &SGLN,
        Scheme::Grai96 | Scheme::Grai170 => &GRAI,
        Scheme::Giai96 => &GIAI96,
        Scheme::Giai202 => &GIAI202,
        Scheme::Gid96 | Scheme::Raw => return Err(RawReason::UnknownHeader),
    };
    let row = *table.get(partition).ok_or(RawReason::ReservedPartition)?;
    let cp_bits = usize::from(row.cp_bits);
    let company_prefix = Digits::new(bits::get(b, 14, cp_bits), row.cp_digits)
        .ok_or(RawReason::CompanyPrefixNotNumeric)?;
    let ref_pos = 14 + cp_bits;
    let ref_bits = usize::from(row.ref_bits);
    let after = ref_pos + ref_bits;
    let reference = || {
        Digits::new(bits::get(b, ref_pos, ref_bits), row.ref_digits)
            .ok_or(RawReason::ReferenceNotNumeric)
    };
    let integer = |n: usize| Component::Integer(bits::get(b, after, n));
    let string = |(n, max): (usize, usize)| decode_text(b, after, n, max).map(Component::Text);
    let identity = match scheme {
        Scheme::Sgtin96 => Identity::Sgtin {
            company_prefix,
            item_reference: reference()?,
            serial: integer(SGTIN96_SERIAL_BITS),
        },
        Scheme::Sgtin198 => Identity::Sgtin {
            company_prefix,
            item_reference: reference()?,
            serial: string(SGTIN198_SERIAL)?,
        },
        Scheme::Sscc96 => {
            let serial_reference = reference()?;
            if !bits::zero_range(b, after, 24) {
                return Err(RawReason::ReservedBitsSet);
            }
            Identity::Sscc {
                company_prefix,
                serial_reference,
            }
        }
        Scheme::Sgln96 => Identity::Sgln {
            company_prefix,
            location_reference: reference()?,
            extension: integer(SGLN96_EXTENSION_BITS),
        },
        Scheme::Sgln195 => Identity::Sgln {
            company_prefix,
            location_reference: reference()?,
            extension: string(SGLN195_EXTENSION)?,
        },
        Scheme::Grai96 => Identity::Grai {
            company_prefix,
            asset_type: reference()?,
            serial: integer(GRAI96_SERIAL_BITS),
        },
        Scheme::Grai170 => Identity::Grai {
            company_prefix,
            asset_type: reference()?,
            serial: string(GRAI170_SERIAL)?,
        },
        Scheme::Giai96 => Identity::Giai {
            company_prefix,
            asset_reference: Component::Integer(bits::get(b, ref_pos, ref_bits)),
        },
        Scheme::Giai202 => Identity::Giai {
            company_prefix,
            asset_reference: Component::Text(decode_text(
                b,
                ref_pos,
                ref_bits,
                usize::from(row.ref_digits),
            )?),
        },
        Scheme::Gid96 | Scheme::Raw => return Err(RawReason::UnknownHeader),
    };
    Ok((scheme, filter, identity))
}

/// TDS "String" decoding method (§14.4): 7-bit characters up to the first all-zero
/// one; everything after it must be zero; at most `max` characters.
fn decode_text(b: &[u8], pos: usize, n: usize, max: usize) -> Result<Text, RawReason> {
    let mut text = Text::empty();
    let mut i = 0;
    // Nine 7-bit characters per 63-bit read: one window load instead of nine.
    'read: while i + 7 <= n {
        let count = ((n - i) / 7).min(9);
        let chunk = bits::get(b, pos + i, count * 7);
        for k in (0..count).rev() {
            let c = ((chunk >> (k * 7)) & 0x7F) as u8;
            if c == 0 {
                break 'read;
            }
            if !is_set82(c) {
                return Err(RawReason::InvalidCharacter);
            }
            if text.len() >= max || !text.push(c) {
                return Err(RawReason::StringTooLong);
            }
            i += 7;
        }
    }
    if !bits::zero_range(b, pos + i, n - i) {
        return Err(RawReason::BadStringPadding);
    }
    if text.is_empty() {
        return Err(RawReason::EmptyString);
    }
    Ok(text)
}

/// Largest value an `n`-bit integer field holds.
pub(crate) const fn max_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Digit counts a partition table allows for the company prefix (6..=12).
pub(crate) fn partition_for_prefix_len(len: usize) -> Option<usize> {
    (6..=12).contains(&len).then(|| 12 - len)
}
