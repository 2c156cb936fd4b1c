//! The value types an EPC's fields decode to, kept inline and `Copy` so a
//! decode never touches the heap: fixed-width decimal fields ([`Digits`]),
//! 7-bit alphanumeric strings ([`Text`]) and the "integer or string" parts
//! ([`Component`]) whose binary form depends on the scheme's length.

use std::fmt;

/// `10^n` for every digit count a 64-bit field can need.
pub(crate) const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// A decimal field whose digit count is part of its value (GS1 company
/// prefix, item reference, …): `0614141` is not `614141`. Shown zero-padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits {
    value: u64,
    len: u8,
}

impl Digits {
    /// `None` if `value` needs more than `len` digits (or `len` > 19).
    pub fn new(value: u64, len: u8) -> Option<Self> {
        let limit = *POW10.get(usize::from(len))?;
        (value < limit).then_some(Self { value, len })
    }

    pub fn value(&self) -> u64 {
        self.value
    }

    /// Number of digits, leading zeros included (0 for SGLN's empty
    /// location reference under partition 0).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            // SGLN partition 0: the location reference has no digits.
            return Ok(());
        }
        let mut buf = [0u8; 20];
        f.write_str(format_padded(&mut buf, self.value, self.len().min(20)))
    }
}

/// Writes `value` in decimal, left-padded with zeros to `width`, into the end
/// of `buf`. Hand-rolled, two digits at a time, because `{:0width$}` goes
/// through the generic padding machinery and this sits in the decode→JSON
/// loop.
pub(crate) fn format_padded(buf: &mut [u8; 20], value: u64, width: usize) -> &str {
    let n = decimal_len(value).max(width).min(buf.len());
    let start = buf.len() - n;
    write_padded(&mut buf[start..], value);
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[start..]).unwrap_or_default()
}

/// Number of decimal digits of `value` (1 for zero).
pub(crate) fn decimal_len(value: u64) -> usize {
    value.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Fills all of `dst` with the low `dst.len()` decimal digits of `value`,
/// zero-padded on the left; callers size `dst` to fit the value.
pub(crate) fn write_padded(dst: &mut [u8], mut value: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut i = dst.len();
    while i >= 2 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        dst[i - 2] = PAIRS[pair];
        dst[i - 1] = PAIRS[pair + 1];
        i -= 2;
        if value == 0 {
            break;
        }
    }
    if i == 1 {
        dst[0] = b'0' + (value % 10) as u8;
        i = 0;
    }
    dst[..i].fill(b'0');
}

/// The most characters any supported scheme stores in one string field
/// (GIAI-202 with a 6-digit company prefix: 24).
pub const MAX_TEXT: usize = 24;

/// A string field of a long scheme (SGTIN-198 serial, GIAI-202 asset
/// reference, GRAI-170 serial, SGLN-195 extension). Every byte is from the
/// GS1 AI encodable character set 82, so it is ASCII. `Display` shows the
/// value itself; [`Text::uri`] shows it %-escaped for a URI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text {
    len: u8,
    buf: [u8; MAX_TEXT],
}

impl Text {
    /// Builds from bytes already checked against set 82 and [`MAX_TEXT`].
    #[cfg(test)]
    pub(crate) fn from_checked(bytes: &[u8]) -> Self {
        let mut buf = [0u8; MAX_TEXT];
        let n = bytes.len().min(MAX_TEXT);
        buf[..n].copy_from_slice(&bytes[..n]);
        Self { len: n as u8, buf }
    }

    pub(crate) fn empty() -> Self {
        Self {
            len: 0,
            buf: [0; MAX_TEXT],
        }
    }

    pub(crate) fn push(&mut self, c: u8) -> bool {
        let i = usize::from(self.len);
        if i >= MAX_TEXT {
            return false;
        }
        self.buf[i] = c;
        self.len += 1;
        true
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Set 82 is ASCII, so this never falls back.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value as it appears in an EPC URI (TDS Table A-1 escapes).
    pub fn uri(&self) -> UriEscaped<'_> {
        UriEscaped(self.as_bytes())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Bytes of set 82 written with the URI escapes of TDS Table A-1.
#[derive(Debug, Clone, Copy)]
pub struct UriEscaped<'a>(&'a [u8]);

impl fmt::Display for UriEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut start = 0;
        for (i, &c) in self.0.iter().enumerate() {
            if let Some(esc) = uri_escape(c) {
                f.write_str(std::str::from_utf8(&self.0[start..i]).map_err(|_| fmt::Error)?)?;
                f.write_str(esc)?;
                start = i + 1;
            }
        }
        f.write_str(std::str::from_utf8(&self.0[start..]).map_err(|_| fmt::Error)?)
    }
}

/// An EPC field that is an integer in the 96-bit schemes and a string in
/// the long ones: serials, SGLN extensions, GIAI asset references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Decimal without leading zeros (the 96-bit schemes).
    Integer(u64),
    /// Set-82 characters (SGTIN-198, SGLN-195, GRAI-170, GIAI-202).
    Text(Text),
}

impl Component {
    /// As it appears in an EPC URI (%-escaped where TDS requires it).
    pub fn uri(&self) -> ComponentUri<'_> {
        ComponentUri(self)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Integer(v) => {
                let mut buf = [0u8; 20];
                f.write_str(format_padded(&mut buf, *v, 0))
            }
            Component::Text(t) => f.write_str(t.as_str()),
        }
    }
}

/// See [`Component::uri`].
#[derive(Debug, Clone, Copy)]
pub struct ComponentUri<'a>(&'a Component);

impl fmt::Display for ComponentUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Component::Integer(_) => fmt::Display::fmt(self.0, f),
            Component::Text(t) => fmt::Display::fmt(&t.uri(), f),
        }
    }
}

macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_str!(Digits, Text, Component);

/// Whether `c` is in the GS1 AI encodable character set 82 (TDS Table A-1):
/// `! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z`.
pub(crate) const fn is_set82(c: u8) -> bool {
    matches!(c,
        b'!' | b'"' | b'%'..=b'/' | b'0'..=b'9' | b':'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// The URI escape TDS Table A-1 requires for `c`, if any.
pub(crate) const fn uri_escape(c: u8) -> Option<&'static str> {
    match c {
        b'"' => Some("%22"),
        b'%' => Some("%25"),
        b'&' => Some("%26"),
        b'/' => Some("%2F"),
        b'<' => Some("%3C"),
        b'>' => Some("%3E"),
        b'?' => Some("%3F"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set82_has_82_characters() {
        assert_eq!((0u8..128).filter(|&c| is_set82(c)).count(), 82);
        assert!(!is_set82(b'#') && !is_set82(b' ') && !is_set82(b'$') && !is_set82(b'@'));
        assert!(is_set82(b'%') && is_set82(b'/') && is_set82(b'_') && is_set82(b'?'));
    }

    #[test]
    fn digits_keep_leading_zeros() {
        assert_eq!(
            Digits::new(614141, 7).map(|d| d.to_string()),
            Some("0614141".into())
        );
        assert_eq!(
            Digits::new(0, 0).map(|d| d.to_string()),
            Some(String::new())
        );
        assert_eq!(Digits::new(10, 1), None);
        assert_eq!(Digits::new(u64::MAX, 19), None);
        assert_eq!(Digits::new(1, 20), None);
    }

    #[test]
    fn writes_padded_decimals_of_every_length() {
        let mut values = vec![0u64, 1, 9, 10, 99, 100, 12_345, u64::MAX];
        values.extend((1..20).flat_map(|p| [10u64.pow(p) - 1, 10u64.pow(p), 7 * 10u64.pow(p - 1)]));
        for v in values {
            for width in 0..=20 {
                let mut buf = [0u8; 20];
                let ours = format_padded(&mut buf, v, width).to_string();
                assert_eq!(ours, format!("{v:0width$}"), "{v} to {width}");
                assert_eq!(decimal_len(v), v.to_string().len());
            }
        }
    }

    #[test]
    fn text_escapes_for_uris_only() {
        let t = Text::from_checked(b"32a/b%\"<>?&x");
        assert_eq!(t.to_string(), "32a/b%\"<>?&x");
        assert_eq!(t.uri().to_string(), "32a%2Fb%25%22%3C%3E%3F%26x");
    }
}
