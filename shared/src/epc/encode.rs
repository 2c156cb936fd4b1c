//! Encoding: fields or URIs → EPC bytes, per the TDS encoding procedures
//! (§14.3) and URI grammars (§6, §12). Every refusal names the field and the
//! rule it breaks, because these errors reach keepers commissioning tags and
//! operators typing URIs, who need to know what to fix.

use std::fmt;

use super::bits::Writer;
use super::scheme::{
    max_bits, partition_for_prefix_len, Partition, Scheme, GIAI202, GIAI96, GID_BITS, GRAI,
    GRAI170_SERIAL, GRAI96_SERIAL_BITS, SGLN, SGLN195_EXTENSION, SGLN96_EXTENSION_BITS, SGTIN,
    SGTIN198_SERIAL, SGTIN96_SERIAL_BITS, SSCC,
};
use super::text::{is_set82, uri_escape};
use super::{decode, Epc};

/// The field an [`EncodeError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The URI as a whole (prefix, scheme name, component count).
    Uri,
    Filter,
    CompanyPrefix,
    ItemReference,
    Serial,
    SerialReference,
    LocationReference,
    Extension,
    AssetType,
    AssetReference,
    GeneralManager,
    ObjectClass,
    /// The hex bits of a `urn:epc:raw:` URI.
    RawBits,
}

impl Field {
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Uri => "uri",
            Field::Filter => "filter",
            Field::CompanyPrefix => "company prefix",
            Field::ItemReference => "item reference",
            Field::Serial => "serial",
            Field::SerialReference => "serial reference",
            Field::LocationReference => "location reference",
            Field::Extension => "extension",
            Field::AssetType => "asset type",
            Field::AssetReference => "asset reference",
            Field::GeneralManager => "general manager",
            Field::ObjectClass => "object class",
            Field::RawBits => "raw bits",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("must not be empty")]
    Empty,
    #[error("must be decimal digits, found {found:?} at position {position}")]
    NotDigits { found: char, position: usize },
    #[error("must be 6 to 12 digits (GS1 company prefix), got {got}")]
    PrefixLength { got: usize },
    #[error("partition {partition} ({cp_digits}-digit company prefix) requires {expected} digits, got {got}")]
    DigitCount {
        partition: u8,
        cp_digits: usize,
        expected: usize,
        got: usize,
    },
    #[error("{scheme} {field} must not have leading zeros")]
    LeadingZero { scheme: &'static str, field: Field },
    #[error("{value} exceeds {bits} bits")]
    TooLarge { value: String, bits: usize },
    #[error("{found:?} at position {position} is not in the GS1 AI encodable character set 82")]
    InvalidChar { found: char, position: usize },
    #[error("{scheme} allows at most {max} characters here, got {got}")]
    TooLong {
        scheme: &'static str,
        max: usize,
        got: usize,
    },
    #[error("{found:?} at position {position} must be written as {escape} in an EPC URI")]
    MustEscape {
        found: char,
        position: usize,
        escape: &'static str,
    },
    #[error("invalid escape {found:?} at position {position}: only %22 %25 %26 %2F %3C %3E %3F are allowed")]
    BadEscape { found: String, position: usize },
    #[error("must be 0 to 7 (3 bits), got {got}")]
    FilterRange { got: String },
    #[error("is required to encode a pure identity URI (urn:epc:id:…)")]
    FilterMissing,
    #[error("the tag URI says {in_uri} but {given} was passed")]
    FilterMismatch { in_uri: u8, given: u8 },
    #[error("must start with urn:epc:tag:, urn:epc:id: or urn:epc:raw:, got {got:?}")]
    NotAnEpcUri { got: String },
    #[error("unsupported EPC scheme {name:?} (supported: sgtin-96, sgtin-198, sscc-96, sgln-96, sgln-195, grai-96, grai-170, giai-96, giai-202, gid-96 and their urn:epc:id: forms)")]
    UnknownScheme { name: String },
    #[error("{scheme} needs {expected} dot-separated components, got {got}")]
    ComponentCount {
        scheme: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("control information ([att=…], [umi=…], [xpc=…]) is not supported; set PC bits with epc::gen2::PcWord")]
    ControlInfo,
    #[error("must be <bits>.x<hex> or <bits>.x<AFI>.x<hex> (TDS raw URI), got {got:?}")]
    RawSyntax { got: String },
    #[error("declares {declared} bits but the hex holds {actual}")]
    RawLength { declared: usize, actual: usize },
    #[error("the encoded bits did not decode back ({reason}); this is a codec bug")]
    RoundTrip { reason: super::RawReason },
}

/// An EPC that cannot be encoded: which field, which rule. Displays as
/// `serial: 274877906944 exceeds 38 bits`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct EncodeError {
    pub field: Field,
    pub rule: Rule,
}

fn err<T>(field: Field, rule: Rule) -> Result<T, EncodeError> {
    Err(EncodeError { field, rule })
}

/// Field values to encode, unescaped (`32a/b`, not `32a%2Fb`). Numeric
/// fields are decimal strings because their digit count matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields<'a> {
    Sgtin96 {
        filter: u8,
        company_prefix: &'a str,
        item_reference: &'a str,
        serial: &'a str,
    },
    Sgtin198 {
        filter: u8,
        company_prefix: &'a str,
        item_reference: &'a str,
        serial: &'a str,
    },
    Sscc96 {
        filter: u8,
        company_prefix: &'a str,
        serial_reference: &'a str,
    },
    Sgln96 {
        filter: u8,
        company_prefix: &'a str,
        location_reference: &'a str,
        extension: &'a str,
    },
    Sgln195 {
        filter: u8,
        company_prefix: &'a str,
        location_reference: &'a str,
        extension: &'a str,
    },
    Grai96 {
        filter: u8,
        company_prefix: &'a str,
        asset_type: &'a str,
        serial: &'a str,
    },
    Grai170 {
        filter: u8,
        company_prefix: &'a str,
        asset_type: &'a str,
        serial: &'a str,
    },
    Giai96 {
        filter: u8,
        company_prefix: &'a str,
        asset_reference: &'a str,
    },
    Giai202 {
        filter: u8,
        company_prefix: &'a str,
        asset_reference: &'a str,
    },
    Gid96 {
        general_manager: &'a str,
        object_class: &'a str,
        serial: &'a str,
    },
}

/// The asset EPC the warehouse writes at commissioning: GIAI-96 from the
/// operator's company prefix and a numeric asset number (no leading zeros,
/// within the partition's bits). For references that do not fit, see
/// [`encode_giai`].
pub fn encode_giai96(
    filter: u8,
    company_prefix: &str,
    asset_reference: &str,
) -> Result<Epc, EncodeError> {
    encode(&Fields::Giai96 {
        filter,
        company_prefix,
        asset_reference,
    })
}

/// A GIAI in the shortest scheme that holds it: GIAI-96 when the asset
/// reference is an integer that fits, GIAI-202 otherwise (alphanumeric,
/// leading zeros, or too large).
pub fn encode_giai(
    filter: u8,
    company_prefix: &str,
    asset_reference: &str,
) -> Result<Epc, EncodeError> {
    let fits96 = partition_for_prefix_len(company_prefix.len())
        .and_then(|p| GIAI96.get(p))
        .is_some_and(|row| fits_integer(asset_reference, usize::from(row.ref_bits)));
    if fits96 {
        encode_giai96(filter, company_prefix, asset_reference)
    } else {
        encode(&Fields::Giai202 {
            filter,
            company_prefix,
            asset_reference,
        })
    }
}

/// Encodes fields to an [`Epc`] (bytes word-padded as Gen2 stores them).
pub fn encode(fields: &Fields<'_>) -> Result<Epc, EncodeError> {
    let mut w = Writer::new();
    match *fields {
        Fields::Sgtin96 {
            filter,
            company_prefix,
            item_reference,
            serial,
        } => {
            let s = Scheme::Sgtin96;
            let row = head(&mut w, s, filter, company_prefix, &SGTIN)?;
            reference(&mut w, Field::ItemReference, item_reference, row)?;
            let v = integer(Field::Serial, s, serial, SGTIN96_SERIAL_BITS)?;
            w.put(SGTIN96_SERIAL_BITS, v);
        }
        Fields::Sgtin198 {
            filter,
            company_prefix,
            item_reference,
            serial,
        } => {
            let s = Scheme::Sgtin198;
            let row = head(&mut w, s, filter, company_prefix, &SGTIN)?;
            reference(&mut w, Field::ItemReference, item_reference, row)?;
            let (n, max) = SGTIN198_SERIAL;
            w.put_text(text(Field::Serial, s, serial, max)?, n);
        }
        Fields::Sscc96 {
            filter,
            company_prefix,
            serial_reference,
        } => {
            let row = head(&mut w, Scheme::Sscc96, filter, company_prefix, &SSCC)?;
            reference(&mut w, Field::SerialReference, serial_reference, row)?;
            w.put(24, 0);
        }
        Fields::Sgln96 {
            filter,
            company_prefix,
            location_reference,
            extension,
        } => {
            let s = Scheme::Sgln96;
            let row = head(&mut w, s, filter, company_prefix, &SGLN)?;
            reference(&mut w, Field::LocationReference, location_reference, row)?;
            let v = integer(Field::Extension, s, extension, SGLN96_EXTENSION_BITS)?;
            w.put(SGLN96_EXTENSION_BITS, v);
        }
        Fields::Sgln195 {
            filter,
            company_prefix,
            location_reference,
            extension,
        } => {
            let s = Scheme::Sgln195;
            let row = head(&mut w, s, filter, company_prefix, &SGLN)?;
            reference(&mut w, Field::LocationReference, location_reference, row)?;
            let (n, max) = SGLN195_EXTENSION;
            w.put_text(text(Field::Extension, s, extension, max)?, n);
        }
        Fields::Grai96 {
            filter,
            company_prefix,
            asset_type,
            serial,
        } => {
            let s = Scheme::Grai96;
            let row = head(&mut w, s, filter, company_prefix, &GRAI)?;
            reference(&mut w, Field::AssetType, asset_type, row)?;
            let v = integer(Field::Serial, s, serial, GRAI96_SERIAL_BITS)?;
            w.put(GRAI96_SERIAL_BITS, v);
        }
        Fields::Grai170 {
            filter,
            company_prefix,
            asset_type,
            serial,
        } => {
            let s = Scheme::Grai170;
            let row = head(&mut w, s, filter, company_prefix, &GRAI)?;
            reference(&mut w, Field::AssetType, asset_type, row)?;
            let (n, max) = GRAI170_SERIAL;
            w.put_text(text(Field::Serial, s, serial, max)?, n);
        }
        Fields::Giai96 {
            filter,
            company_prefix,
            asset_reference,
        } => {
            let s = Scheme::Giai96;
            let row = head(&mut w, s, filter, company_prefix, &GIAI96)?;
            let n = usize::from(row.ref_bits);
            let v = integer(Field::AssetReference, s, asset_reference, n)?;
            w.put(n, v);
        }
        Fields::Giai202 {
            filter,
            company_prefix,
            asset_reference,
        } => {
            let s = Scheme::Giai202;
            let row = head(&mut w, s, filter, company_prefix, &GIAI202)?;
            let max = usize::from(row.ref_digits);
            let t = text(Field::AssetReference, s, asset_reference, max)?;
            w.put_text(t, usize::from(row.ref_bits));
        }
        Fields::Gid96 {
            general_manager,
            object_class,
            serial,
        } => {
            let s = Scheme::Gid96;
            let (m, c, n) = GID_BITS;
            let gm = integer(Field::GeneralManager, s, general_manager, m)?;
            let oc = integer(Field::ObjectClass, s, object_class, c)?;
            let sn = integer(Field::Serial, s, serial, n)?;
            w.put(8, 0x35);
            w.put(m, gm);
            w.put(c, oc);
            w.put(n, sn);
        }
    }
    let epc = decode(w.finish());
    match epc.raw_reason() {
        None => Ok(epc),
        Some(reason) => err(Field::Uri, Rule::RoundTrip { reason }),
    }
}

/// Header, filter, partition and company prefix; returns the partition row.
fn head(
    w: &mut Writer,
    scheme: Scheme,
    filter: u8,
    company_prefix: &str,
    table: &[Partition; 7],
) -> Result<Partition, EncodeError> {
    if filter > 7 {
        return err(
            Field::Filter,
            Rule::FilterRange {
                got: filter.to_string(),
            },
        );
    }
    all_digits(Field::CompanyPrefix, company_prefix)?;
    let Some(partition) = partition_for_prefix_len(company_prefix.len()) else {
        return err(
            Field::CompanyPrefix,
            Rule::PrefixLength {
                got: company_prefix.len(),
            },
        );
    };
    let Some(&row) = table.get(partition) else {
        return err(
            Field::CompanyPrefix,
            Rule::PrefixLength {
                got: company_prefix.len(),
            },
        );
    };
    let cp = parse_digits(company_prefix);
    w.put(8, u64::from(scheme.header().unwrap_or(0)));
    w.put(3, u64::from(filter));
    w.put(3, partition as u64);
    w.put(usize::from(row.cp_bits), cp);
    Ok(row)
}

/// The fixed-width decimal field after the company prefix.
fn reference(w: &mut Writer, field: Field, s: &str, row: Partition) -> Result<(), EncodeError> {
    all_digits(field, s)?;
    let expected = usize::from(row.ref_digits);
    if s.len() != expected {
        return err(
            field,
            Rule::DigitCount {
                partition: 12 - row.cp_digits,
                cp_digits: usize::from(row.cp_digits),
                expected,
                got: s.len(),
            },
        );
    }
    w.put(usize::from(row.ref_bits), parse_digits(s));
    Ok(())
}

fn all_digits(field: Field, s: &str) -> Result<(), EncodeError> {
    match s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((position, found)) => err(field, Rule::NotDigits { found, position }),
        None => Ok(()),
    }
}

/// Callers have checked the digits; at most 19 of them never overflow, and
/// longer strings saturate (then fail the bit-width check).
fn parse_digits(s: &str) -> u64 {
    s.bytes().fold(0u64, |v, c| {
        v.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    })
}

/// TDS "Integer" fields: decimal, no leading zeros, below 2^bits.
fn integer(field: Field, scheme: Scheme, s: &str, bits: usize) -> Result<u64, EncodeError> {
    if s.is_empty() {
        return err(field, Rule::Empty);
    }
    all_digits(field, s)?;
    if s.len() > 1 && s.starts_with('0') {
        return err(
            field,
            Rule::LeadingZero {
                scheme: scheme.title(),
                field,
            },
        );
    }
    let too_large = || {
        err(
            field,
            Rule::TooLarge {
                value: s.to_string(),
                bits,
            },
        )
    };
    if s.len() > 20 {
        return too_large();
    }
    let v = s.parse::<u64>().ok();
    match v {
        Some(v) if v <= max_bits(bits) => Ok(v),
        _ => too_large(),
    }
}

fn fits_integer(s: &str, bits: usize) -> bool {
    integer(Field::Serial, Scheme::Raw, s, bits).is_ok()
}

/// TDS "String" fields: 1..=max characters of set 82.
fn text(field: Field, scheme: Scheme, s: &str, max: usize) -> Result<&[u8], EncodeError> {
    if s.is_empty() {
        return err(field, Rule::Empty);
    }
    if let Some((position, found)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii() && is_set82(c as u8)))
    {
        return err(field, Rule::InvalidChar { found, position });
    }
    if s.len() > max {
        return err(
            field,
            Rule::TooLong {
                scheme: scheme.title(),
                max,
                got: s.len(),
            },
        );
    }
    Ok(s.as_bytes())
}

/// Parses a tag URI (`urn:epc:tag:giai-96:3.0614141.5678`), a pure identity
/// URI (`urn:epc:id:giai:0614141.5678`, which needs `filter`) or a raw URI
/// (`urn:epc:raw:96.x3474…`) and encodes it. For a tag URI, `filter` may be
/// `None` or must equal the URI's. For a pure identity URI the shortest
/// scheme that holds the value is chosen (SGTIN-96 over SGTIN-198, …).
/// GID has no filter; one passed with a GID URI is ignored.
pub fn encode_uri(uri: &str, filter: Option<u8>) -> Result<Epc, EncodeError> {
    let uri = uri.trim();
    if let Some(rest) = uri.strip_prefix("urn:epc:tag:") {
        let (name, body) = rest.split_once(':').unwrap_or((rest, ""));
        if body.starts_with('[') || name.starts_with('[') {
            return err(Field::Uri, Rule::ControlInfo);
        }
        let Some(scheme) = Scheme::from_tag_name(name) else {
            return err(
                Field::Uri,
                Rule::UnknownScheme {
                    name: name.to_string(),
                },
            );
        };
        if !scheme.has_filter() {
            return from_components(scheme, 0, body);
        }
        let (f, rest) = body.split_once('.').unwrap_or((body, ""));
        let tag_filter = match f.as_bytes() {
            [d @ b'0'..=b'7'] => d - b'0',
            _ => return err(Field::Filter, Rule::FilterRange { got: f.to_string() }),
        };
        if let Some(given) = filter.filter(|&g| g != tag_filter) {
            return err(
                Field::Filter,
                Rule::FilterMismatch {
                    in_uri: tag_filter,
                    given,
                },
            );
        }
        from_components(scheme, tag_filter, rest)
    } else if let Some(rest) = uri.strip_prefix("urn:epc:id:") {
        let (name, body) = rest.split_once(':').unwrap_or((rest, ""));
        let family = match name {
            "sgtin" | "sscc" | "sgln" | "grai" | "giai" => name,
            "gid" => return from_components(Scheme::Gid96, 0, body),
            _ => {
                return err(
                    Field::Uri,
                    Rule::UnknownScheme {
                        name: name.to_string(),
                    },
                )
            }
        };
        let Some(filter) = filter else {
            return err(Field::Filter, Rule::FilterMissing);
        };
        let scheme = choose_scheme(family, body);
        from_components(scheme, filter, body)
    } else if let Some(rest) = uri.strip_prefix("urn:epc:raw:") {
        from_raw(rest)
    } else {
        err(
            Field::Uri,
            Rule::NotAnEpcUri {
                got: uri.chars().take(40).collect(),
            },
        )
    }
}

/// For a pure identity URI: the 96-bit scheme when its integer field holds
/// the value, else the long string scheme (TDS leaves the choice to the
/// encoder; shorter EPCs read faster and fit every tag).
fn choose_scheme(family: &str, body: &str) -> Scheme {
    // The same split as `from_components`: the last component may hold dots.
    let last = body.splitn(3, '.').nth(2).unwrap_or("");
    match family {
        "sgtin" if fits_integer(last, SGTIN96_SERIAL_BITS) => Scheme::Sgtin96,
        "sgtin" => Scheme::Sgtin198,
        "sscc" => Scheme::Sscc96,
        "sgln" if fits_integer(last, SGLN96_EXTENSION_BITS) => Scheme::Sgln96,
        "sgln" => Scheme::Sgln195,
        "grai" if fits_integer(last, GRAI96_SERIAL_BITS) => Scheme::Grai96,
        "grai" => Scheme::Grai170,
        _ => {
            // GIAI: the asset reference follows the first dot and may
            // itself contain dots.
            let (cp, asset) = body.split_once('.').unwrap_or((body, ""));
            let fits = partition_for_prefix_len(cp.len())
                .and_then(|p| GIAI96.get(p))
                .is_some_and(|row| fits_integer(asset, usize::from(row.ref_bits)));
            if fits {
                Scheme::Giai96
            } else {
                Scheme::Giai202
            }
        }
    }
}

/// Splits the dot-separated components (the last one may contain dots:
/// set 82 includes `.`), unescapes the alphanumeric one and encodes.
fn from_components(scheme: Scheme, filter: u8, body: &str) -> Result<Epc, EncodeError> {
    let expected = match scheme {
        Scheme::Sscc96 | Scheme::Giai96 | Scheme::Giai202 => 2,
        _ => 3,
    };
    let mut parts = ["", "", ""];
    let mut got = 0;
    for (slot, part) in parts.iter_mut().zip(body.splitn(expected, '.')) {
        *slot = part;
        got += 1;
    }
    if got != expected {
        return err(
            Field::Uri,
            Rule::ComponentCount {
                scheme: scheme.title(),
                expected,
                got,
            },
        );
    }
    let [a, b, c] = parts;
    let mut buf = Unescaped::new();
    match scheme {
        Scheme::Sgtin96 | Scheme::Sgtin198 => {
            let serial = buf.unescape(Field::Serial, c)?;
            encode(&if scheme == Scheme::Sgtin96 {
                Fields::Sgtin96 {
                    filter,
                    company_prefix: a,
                    item_reference: b,
                    serial,
                }
            } else {
                Fields::Sgtin198 {
                    filter,
                    company_prefix: a,
                    item_reference: b,
                    serial,
                }
            })
        }
        Scheme::Sscc96 => encode(&Fields::Sscc96 {
            filter,
            company_prefix: a,
            serial_reference: b,
        }),
        Scheme::Sgln96 | Scheme::Sgln195 => {
            let extension = buf.unescape(Field::Extension, c)?;
            encode(&if scheme == Scheme::Sgln96 {
                Fields::Sgln96 {
                    filter,
                    company_prefix: a,
                    location_reference: b,
                    extension,
                }
            } else {
                Fields::Sgln195 {
                    filter,
                    company_prefix: a,
                    location_reference: b,
                    extension,
                }
            })
        }
        Scheme::Grai96 | Scheme::Grai170 => {
            let serial = buf.unescape(Field::Serial, c)?;
            encode(&if scheme == Scheme::Grai96 {
                Fields::Grai96 {
                    filter,
                    company_prefix: a,
                    asset_type: b,
                    serial,
                }
            } else {
                Fields::Grai170 {
                    filter,
                    company_prefix: a,
                    asset_type: b,
                    serial,
                }
            })
        }
        Scheme::Giai96 | Scheme::Giai202 => {
            let asset_reference = buf.unescape(Field::AssetReference, b)?;
            encode(&if scheme == Scheme::Giai96 {
                Fields::Giai96 {
                    filter,
                    company_prefix: a,
                    asset_reference,
                }
            } else {
                Fields::Giai202 {
                    filter,
                    company_prefix: a,
                    asset_reference,
                }
            })
        }
        Scheme::Gid96 => encode(&Fields::Gid96 {
            general_manager: a,
            object_class: b,
            serial: c,
        }),
        Scheme::Raw => err(
            Field::Uri,
            Rule::UnknownScheme {
                name: "raw".to_string(),
            },
        ),
    }
}

/// `urn:epc:raw:<bits>.x<hex>` or `<bits>.x<AFI>.x<hex>` (TDS §12.3).
fn from_raw(rest: &str) -> Result<Epc, EncodeError> {
    let syntax = || {
        err(
            Field::Uri,
            Rule::RawSyntax {
                got: rest.chars().take(40).collect(),
            },
        )
    };
    let mut it = rest.split('.');
    let (Some(len), Some(first)) = (it.next(), it.next()) else {
        return syntax();
    };
    let second = it.next();
    if it.next().is_some() {
        return syntax();
    }
    let Ok(declared) = len.parse::<usize>() else {
        return syntax();
    };
    let (afi, hex) = match second {
        None => (None, first),
        Some(h) => (Some(first), h),
    };
    let Some(hex) = hex.strip_prefix('x') else {
        return syntax();
    };
    let bytes = match crate::hex::decode(hex) {
        Ok(b) if hex.len() % 2 == 0 => b,
        _ => return syntax(),
    };
    if declared != bytes.len() * 8 || bytes.len() > crate::tag::MAX_EPC_BYTES {
        return err(
            Field::RawBits,
            Rule::RawLength {
                declared,
                actual: hex.len() * 4,
            },
        );
    }
    let epc = decode(&bytes);
    match afi {
        None => Ok(epc),
        Some(a) => match a.strip_prefix('x').map(crate::hex::decode) {
            Some(Ok(v)) if v.len() == 1 => Ok(super::raw(
                epc.bytes,
                super::RawReason::IsoAfi,
                v.first().copied(),
            )),
            _ => syntax(),
        },
    }
}

/// Inline buffer for one unescaped URI component.
struct Unescaped {
    buf: [u8; 64],
}

impl Unescaped {
    fn new() -> Self {
        Self { buf: [0; 64] }
    }

    /// TDS Table A-1: the seven characters `" % & / < > ?` appear in URIs
    /// only as `%22 %25 %26 %2F %3C %3E %3F`; no other escape is allowed.
    fn unescape<'s>(&'s mut self, field: Field, s: &'s str) -> Result<&'s str, EncodeError> {
        if !s.contains(['%', '"', '&', '/', '<', '>', '?']) {
            return Ok(s);
        }
        let bytes = s.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let out = if c == b'%' {
                let esc = s.get(i..i + 3).unwrap_or(&s[i..]);
                let decoded = u8::from_str_radix(esc.get(1..).unwrap_or(""), 16)
                    .ok()
                    .filter(|&d| esc.len() == 3 && uri_escape(d).is_some());
                let Some(d) = decoded else {
                    return err(
                        field,
                        Rule::BadEscape {
                            found: esc.to_string(),
                            position: i,
                        },
                    );
                };
                i += 3;
                d
            } else {
                if let Some(escape) = uri_escape(c) {
                    return err(
                        field,
                        Rule::MustEscape {
                            found: char::from(c),
                            position: i,
                            escape,
                        },
                    );
                }
                i += 1;
                c
            };
            let Some(slot) = self.buf.get_mut(n) else {
                return err(
                    field,
                    Rule::TooLong {
                        scheme: "an EPC URI component",
                        max: self.buf.len(),
                        got: n + 1,
                    },
                );
            };
            *slot = out;
            n += 1;
        }
        // Everything copied is ASCII or whole UTF-8 sequences from `s`.
        std::str::from_utf8(&self.buf[..n]).map_err(|_| EncodeError {
            field,
            rule: Rule::InvalidChar {
                found: char::REPLACEMENT_CHARACTER,
                position: 0,
            },
        })
    }
}
