//! The Gen2 (ISO/IEC 18000-63) framing around an EPC: the Protocol Control
//! word stored at EPC-bank bit 10h and the CRC-16 that covers PC + EPC.
//! Reader protocols report both; the daemon builds them when commissioning.
//!
//! PC word bit layout (EPC bank bits 10h–1Fh, MSB first, TDS §9.3 and Gen2
//! §6.3.2.1.2.2):
//!
//! | bits    | field                                             |
//! |---------|---------------------------------------------------|
//! | 10h–14h | EPC length in 16-bit words (0–31)                 |
//! | 15h     | UMI: user memory indicator                        |
//! | 16h     | XI: an XPC word follows                           |
//! | 17h     | T: numbering system toggle (0 = GS1, 1 = ISO AFI) |
//! | 18h–1Fh | T=0: attribute bits (1Fh = hazmat); T=1: the AFI  |
//!
//! Also the tag's memory map as every access command names it: the four
//! [`Bank`]s, the five [`LockTarget`]s and the Gen2 [`LockAction`]s, with
//! the 20-bit lock payload ([`lock_code`], [`locked_by`]) both ways.

use std::fmt;

/// A Gen2 Protocol Control word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcWord(pub u16);

/// What the low byte of the PC word means, chosen by the toggle bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberingSystem {
    /// Toggle 0: the EPC is a GS1 EPC; the byte holds TDS attribute bits
    /// (bits 18h–1Eh reserved, 1Fh hazardous material).
    Gs1 { attributes: u8 },
    /// Toggle 1: the EPC bank holds an ISO 15961 identifier with this AFI.
    Iso { afi: u8 },
}

impl PcWord {
    /// Builds a PC word; `epc_words` above 31 is refused (5-bit field).
    pub fn new(epc_words: u8, umi: bool, xi: bool, nsi: NumberingSystem) -> Option<Self> {
        if epc_words > 31 {
            return None;
        }
        let (toggle, low) = match nsi {
            NumberingSystem::Gs1 { attributes } => (0u16, attributes),
            NumberingSystem::Iso { afi } => (1u16, afi),
        };
        Some(Self(
            u16::from(epc_words) << 11
                | u16::from(umi) << 10
                | u16::from(xi) << 9
                | toggle << 8
                | u16::from(low),
        ))
    }

    /// The PC word for a GS1 EPC of `epc_len` bytes (rounded up to words),
    /// no user memory, no XPC, no attributes. `None` above 62 bytes.
    pub fn for_epc(epc_len: usize) -> Option<Self> {
        let words = u8::try_from(epc_len.div_ceil(2)).ok()?;
        Self::new(words, false, false, NumberingSystem::Gs1 { attributes: 0 })
    }

    /// Parses the two bytes as they are stored and sent (big-endian).
    pub fn from_bytes(b: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(b))
    }

    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// EPC length in 16-bit words (bits 10h–14h).
    pub fn epc_words(self) -> u8 {
        (self.0 >> 11) as u8
    }

    /// EPC length in bytes (2 × words).
    pub fn epc_len(self) -> usize {
        usize::from(self.epc_words()) * 2
    }

    /// User memory indicator (bit 15h).
    pub fn umi(self) -> bool {
        self.0 & (1 << 10) != 0
    }

    /// XPC indicator (bit 16h).
    pub fn xi(self) -> bool {
        self.0 & (1 << 9) != 0
    }

    /// Numbering system toggle (bit 17h).
    pub fn toggle(self) -> bool {
        self.0 & (1 << 8) != 0
    }

    /// The low byte, interpreted by the toggle.
    pub fn numbering_system(self) -> NumberingSystem {
        let low = self.0 as u8;
        if self.toggle() {
            NumberingSystem::Iso { afi: low }
        } else {
            NumberingSystem::Gs1 { attributes: low }
        }
    }

    /// The AFI when toggle = 1.
    pub fn afi(self) -> Option<u8> {
        match self.numbering_system() {
            NumberingSystem::Iso { afi } => Some(afi),
            NumberingSystem::Gs1 { .. } => None,
        }
    }

    /// The TDS attribute bits when toggle = 0.
    pub fn attributes(self) -> Option<u8> {
        match self.numbering_system() {
            NumberingSystem::Gs1 { attributes } => Some(attributes),
            NumberingSystem::Iso { .. } => None,
        }
    }

    /// TDS attribute bit 1Fh: the tagged object is hazardous material.
    pub fn hazmat(self) -> bool {
        self.attributes().is_some_and(|a| a & 1 != 0)
    }
}

impl fmt::Display for PcWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl serde::Serialize for PcWord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Gen2 CRC-16 (ISO/IEC 13239; "CRC-16/GENIBUS"): preset 0xFFFF,
/// polynomial x¹⁶+x¹²+x⁵+1 (0x1021), MSB first, result inverted.
/// Over PC + EPC it is the StoredCRC at EPC-bank bit 00h; tags send it
/// after the PC + EPC in an ACK reply.
pub fn crc16(data: &[u8]) -> u16 {
    !data.iter().fold(0xFFFF_u16, |crc, &b| {
        CRC_TABLE[usize::from((crc >> 8) as u8 ^ b)] ^ (crc << 8)
    })
}

/// Whether `data` ends with its own CRC-16 (big-endian), as a tag reply
/// does. Running the CRC over data + CRC leaves the residue 0x1D0F
/// (inverted: 0xE2F0), so no slicing is needed.
pub fn crc16_ok(data_with_crc: &[u8]) -> bool {
    data_with_crc.len() >= 2 && crc16(data_with_crc) == !0x1D0F
}

/// The StoredCRC for an EPC bank holding `pc` and `epc`.
pub fn stored_crc(pc: PcWord, epc: &[u8]) -> u16 {
    let head = pc.to_bytes();
    let crc = head.iter().chain(epc).fold(0xFFFF_u16, |crc, &b| {
        CRC_TABLE[usize::from((crc >> 8) as u8 ^ b)] ^ (crc << 8)
    });
    !crc
}

const CRC_TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// A Gen2 memory bank, numbered as the tag-access commands number it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bank {
    /// Kill and access passwords.
    Reserved = 0,
    /// StoredCRC, PC word and the EPC.
    Epc = 1,
    Tid = 2,
    User = 3,
}

impl Bank {
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Reserved),
            1 => Some(Self::Epc),
            2 => Some(Self::Tid),
            3 => Some(Self::User),
            _ => None,
        }
    }
}

/// What a lock command protects: a bank, or one of the two passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockTarget {
    KillPassword,
    AccessPassword,
    Epc,
    Tid,
    User,
}

impl LockTarget {
    /// All five, in the lock payload's order (kill password first).
    pub const ALL: [Self; 5] = [
        Self::KillPassword,
        Self::AccessPassword,
        Self::Epc,
        Self::Tid,
        Self::User,
    ];

    /// Index of the target's bit pair, from the low end of the payload.
    fn pair(self) -> u32 {
        match self {
            Self::KillPassword => 4,
            Self::AccessPassword => 3,
            Self::Epc => 2,
            Self::Tid => 1,
            Self::User => 0,
        }
    }
}

/// A Gen2 lock action, which is also the protection a target then has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    /// Writable without the access password.
    #[default]
    Open,
    /// Writable only in the secured state (with the access password).
    Lock,
    /// Open, and can never be locked.
    PermaOpen,
    /// Locked for ever.
    PermaLock,
}

impl LockAction {
    /// From the (password-write, permalock) bit pair.
    pub fn from_bits(pwd_write: bool, perma: bool) -> Self {
        match (pwd_write, perma) {
            (false, false) => Self::Open,
            (true, false) => Self::Lock,
            (false, true) => Self::PermaOpen,
            (true, true) => Self::PermaLock,
        }
    }

    /// The (password-write, permalock) bit pair.
    pub fn bits(self) -> (bool, bool) {
        match self {
            Self::Open => (false, false),
            Self::Lock => (true, false),
            Self::PermaOpen => (false, true),
            Self::PermaLock => (true, true),
        }
    }

    /// Whether the target can never change again.
    pub fn is_permanent(self) -> bool {
        self.bits().1
    }
}

/// Builds the 20-bit Gen2 lock payload: mask in bits 19..10, action in
/// 9..0, two bits per target.
pub fn lock_code(targets: &[(LockTarget, LockAction)]) -> u32 {
    targets.iter().fold(0u32, |code, &(target, action)| {
        let pair = target.pair();
        let (pwd_write, perma) = action.bits();
        let (pwd_write, perma) = (u32::from(pwd_write), u32::from(perma));
        // Like the vendor SDK, touch the permalock bit's mask only when the
        // action is permanent, so "open"/"lock" never clear a permalock.
        let mask = (0b10 | perma) << (10 + 2 * pair);
        let act = (pwd_write << 1 | perma) << (2 * pair);
        code | mask | act
    })
}

/// Reads a lock payload against the targets' present protection
/// (`current`): the new protection of every target whose mask bits are
/// set. An unmasked bit keeps its present value.
pub fn locked_by(
    code: u32,
    current: impl Fn(LockTarget) -> LockAction,
) -> Vec<(LockTarget, LockAction)> {
    let bit = |n: u32| code >> n & 1 == 1;
    LockTarget::ALL
        .into_iter()
        .filter_map(|target| {
            let pair = target.pair();
            let (mask_w, mask_p) = (bit(11 + 2 * pair), bit(10 + 2 * pair));
            if !mask_w && !mask_p {
                return None;
            }
            let (cur_w, cur_p) = current(target).bits();
            let w = if mask_w { bit(1 + 2 * pair) } else { cur_w };
            let p = if mask_p { bit(2 * pair) } else { cur_p };
            Some((target, LockAction::from_bits(w, p)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_catalogue_check_value() {
        // CRC-16/GENIBUS check value over ASCII "123456789" (Greg Cook's
        // CRC catalogue, reveng.sourceforge.io): 0xD64E.
        assert_eq!(crc16(b"123456789"), 0xD64E);
    }

    #[test]
    fn crc_matches_a_real_tag_reply() {
        // ACK reply captured from an ST25RU3993 reader (ST community thread
        // "How is the CRC 16 calculated in the ST25RU3993", 2019): PC 3000,
        // EPC E2004216CB606015 00951ED6, then CRC B91F.
        let reply = [
            0x30, 0x00, 0xE2, 0x00, 0x42, 0x16, 0xCB, 0x60, 0x60, 0x15, 0x00, 0x95, 0x1E, 0xD6,
        ];
        assert_eq!(crc16(&reply), 0xB91F);
        let pc = PcWord::from_bytes([0x30, 0x00]);
        assert_eq!(stored_crc(pc, &reply[2..]), 0xB91F);
        let mut with_crc = reply.to_vec();
        with_crc.extend_from_slice(&0xB91F_u16.to_be_bytes());
        assert!(crc16_ok(&with_crc));
        with_crc[5] ^= 1;
        assert!(!crc16_ok(&with_crc));
        assert!(!crc16_ok(&[0x12]));
    }

    #[test]
    fn pc_word_fields() {
        let pc = PcWord(0x3000);
        assert_eq!((pc.epc_words(), pc.epc_len()), (6, 12));
        assert!(!pc.umi() && !pc.xi() && !pc.toggle());
        assert_eq!(pc.attributes(), Some(0));
        assert_eq!(PcWord::for_epc(12), Some(pc));
        assert_eq!(PcWord::for_epc(25).map(|p| p.epc_words()), Some(13));
        assert_eq!(PcWord::for_epc(64), None);

        let iso = PcWord::new(6, true, false, NumberingSystem::Iso { afi: 0xC1 });
        assert_eq!(iso, Some(PcWord(0x35C1)));
        assert_eq!(iso.and_then(|p| p.afi()), Some(0xC1));
        assert_eq!(iso.map(|p| p.umi()), Some(true));

        let hazmat = PcWord::new(31, false, true, NumberingSystem::Gs1 { attributes: 1 });
        assert_eq!(hazmat, Some(PcWord(0xFA01)));
        assert!(hazmat.is_some_and(|p| p.hazmat() && p.xi() && p.afi().is_none()));
        assert_eq!(
            PcWord::new(32, false, false, NumberingSystem::Gs1 { attributes: 0 }),
            None
        );
        assert_eq!(PcWord(0x3400).to_string(), "3400");
        assert_eq!(PcWord::from_bytes([0x34, 0x00]).to_bytes(), [0x34, 0x00]);
    }

    #[test]
    fn lock_code_matches_the_sdk_table() {
        // Values from the vendor SDK generator as tabulated by chainway-serial
        // (docs/protocol.md, "Lock code"; tests/test_tag_captures.py).
        assert_eq!(
            lock_code(&[(LockTarget::AccessPassword, LockAction::Lock)]),
            0x020080
        );
        assert_eq!(lock_code(&[(LockTarget::User, LockAction::Lock)]), 0x000802);
        assert_eq!(
            lock_code(&[
                (LockTarget::User, LockAction::Open),
                (LockTarget::AccessPassword, LockAction::Open)
            ]),
            0x020800
        );
        assert_eq!(
            lock_code(&[(LockTarget::KillPassword, LockAction::PermaLock)]),
            0x080000 | 0x040000 | 0x200 | 0x100
        );
    }

    #[test]
    fn a_lock_payload_reads_back_as_what_built_it() {
        let asked = [
            (LockTarget::KillPassword, LockAction::PermaLock),
            (LockTarget::Epc, LockAction::Lock),
            (LockTarget::User, LockAction::PermaOpen),
        ];
        let got = locked_by(lock_code(&asked), |_| LockAction::Open);
        assert_eq!(got, asked);
        // "Lock" leaves the permalock bit alone: a perma-open bank stays so
        // in that bit and ends up perma-locked only by a permanent action.
        let got = locked_by(lock_code(&[(LockTarget::Tid, LockAction::Lock)]), |_| {
            LockAction::PermaOpen
        });
        assert_eq!(got, [(LockTarget::Tid, LockAction::PermaLock)]);
    }

    #[test]
    fn banks_are_numbered_as_on_the_wire() {
        for b in [Bank::Reserved, Bank::Epc, Bank::Tid, Bank::User] {
            assert_eq!(Bank::from_u8(b as u8), Some(b));
        }
        assert_eq!(Bank::from_u8(4), None);
    }
}
