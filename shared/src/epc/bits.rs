//! Big-endian bit access into EPC bytes: TDS numbers bits from the most
//! significant bit of the first byte, and fields do not sit on byte
//! boundaries.

/// Reads `n` (≤ 64) bits starting `pos` bits into `b`. The caller checks
/// `pos + n <= 8 * b.len()`; out-of-range bytes read as zero rather than
/// panicking so a caller's mistake cannot crash the reader loop.
#[inline]
pub(crate) fn get(b: &[u8], pos: usize, n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    // Load the 16 bytes from the field's first byte as one big-endian u128
    // (zero past the end); a ≤ 64-bit field starting anywhere in its first
    // byte ends within them. One copy and two shifts beat a byte loop.
    let first = pos / 8;
    let mut window = [0u8; 16];
    let avail = b.get(first..).unwrap_or(&[]);
    let k = avail.len().min(16);
    window[..k].copy_from_slice(&avail[..k]);
    let word = u128::from_be_bytes(window);
    let skip = pos - first * 8;
    ((word << skip) >> (128 - n)) as u64
}

/// Whether every bit from `pos` to the end of `b` is zero (padding).
pub(crate) fn zero_from(b: &[u8], pos: usize) -> bool {
    let byte = pos / 8;
    let Some(&first) = b.get(byte) else {
        return true;
    };
    let mask = 0xFFu8 >> (pos % 8);
    first & mask == 0 && b[byte + 1..].iter().all(|&x| x == 0)
}

/// Whether the `n` bits from `pos` are all zero.
pub(crate) fn zero_range(b: &[u8], mut pos: usize, mut n: usize) -> bool {
    while n > 0 {
        let k = n.min(64);
        if get(b, pos, k) != 0 {
            return false;
        }
        pos += k;
        n -= k;
    }
    true
}

/// Builds an EPC bit by bit (encoding is not the hot path; clarity wins).
#[derive(Debug)]
pub(crate) struct Writer {
    buf: [u8; crate::tag::MAX_EPC_BYTES],
    pos: usize,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; crate::tag::MAX_EPC_BYTES],
            pos: 0,
        }
    }

    /// Appends the low `n` bits of `v`, most significant first.
    pub(crate) fn put(&mut self, n: usize, v: u64) {
        for i in (0..n).rev() {
            if (v >> i) & 1 == 1 {
                if let Some(b) = self.buf.get_mut(self.pos / 8) {
                    *b |= 0x80 >> (self.pos % 8);
                }
            }
            self.pos += 1;
        }
    }

    /// Appends `s` as 7-bit characters, zero-filled to `n` bits (TDS
    /// "String" encoding method).
    pub(crate) fn put_text(&mut self, s: &[u8], n: usize) {
        let end = self.pos + n;
        for &c in s {
            self.put(7, u64::from(c));
        }
        self.pos = end;
    }

    /// The bytes written, zero-padded to a whole number of 16-bit words as
    /// Gen2 EPC memory stores them (198 bits → 26 bytes).
    pub(crate) fn finish(&self) -> &[u8] {
        let words = self.pos.div_ceil(16);
        &self.buf[..(words * 2).min(self.buf.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unaligned_fields() {
        let b = [
            0x30, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0, 0, 0x1A, 0x85,
        ];
        assert_eq!(get(&b, 0, 8), 0x30);
        assert_eq!(get(&b, 8, 3), 3);
        assert_eq!(get(&b, 11, 3), 5);
        assert_eq!(get(&b, 14, 24), 614141);
        assert_eq!(get(&b, 38, 20), 812345);
        assert_eq!(get(&b, 58, 38), 6789);
        assert_eq!(get(&b, 0, 64), 0x3074_257B_F719_4E40);
        assert_eq!(get(&b, 90, 0), 0);
    }

    #[test]
    fn writer_round_trips_and_pads_to_words() {
        let mut w = Writer::new();
        w.put(8, 0x30);
        w.put(3, 3);
        w.put(3, 5);
        w.put(24, 614141);
        w.put(20, 812345);
        w.put(38, 6789);
        assert_eq!(
            w.finish(),
            [0x30, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0, 0, 0x1A, 0x85]
        );
        let mut w = Writer::new();
        w.put(8, 0x36);
        w.put_text(b"a", 190);
        assert_eq!(w.finish().len(), 26);
    }

    #[test]
    fn padding_checks() {
        assert!(zero_from(&[0xF0, 0], 4));
        assert!(!zero_from(&[0xF8, 0], 4));
        assert!(!zero_from(&[0xF0, 1], 4));
        assert!(zero_from(&[0xFF], 8));
        assert!(zero_range(&[0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80], 4, 76));
        assert!(!zero_range(&[0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80], 4, 77));
    }
}
