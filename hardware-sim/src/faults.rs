//! Faults of the serial line and the reader, drawn from the reader's own
//! seeded RNG so the same seed and the same command sequence produce the
//! same corrupted byte stream.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Background fault rates: probabilities per byte or per frame.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FaultRates {
    /// Per byte: one random bit of the byte flips.
    pub bit_error_rate: f64,
    /// Per byte: the byte is lost.
    pub drop_byte_rate: f64,
    /// Per frame: a burst of random bytes precedes it.
    pub garbage_rate: f64,
    /// Longest garbage burst (bytes); 32 when 0.
    pub garbage_max_len: usize,
    /// Per frame: the frame is cut short at a random byte.
    pub truncate_rate: f64,
    /// Per command response: it comes `slow_ms` late.
    pub slow_rate: f64,
    pub slow_ms: u32,
    /// Per command response: it never comes.
    pub missing_rate: f64,
}

impl FaultRates {
    pub fn is_clean(&self) -> bool {
        self.bit_error_rate <= 0.0
            && self.drop_byte_rate <= 0.0
            && self.garbage_rate <= 0.0
            && self.truncate_rate <= 0.0
            && self.slow_rate <= 0.0
            && self.missing_rate <= 0.0
    }
}

/// A one-shot fault a test injects through [`crate::ReaderHandle::inject`].
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The reader reboots: the frame on the wire is cut, settings and any
    /// running inventory are lost, it is silent for `boot` time.
    Reboot,
    /// The USB cable is pulled: the PTY and its link vanish for `duration`,
    /// then come back at the same path (the reader has rebooted).
    Unplug { duration: Duration },
    /// `len` random bytes go out now.
    Garbage { len: usize },
    /// The next frame is cut short.
    TruncateNext,
    /// The next frame has one bit flipped.
    CorruptNext,
    /// The next command gets no response.
    MissNextResponse,
    /// The next command's response comes `delay` late.
    DelayNextResponse { delay: Duration },
}

/// How many faults of each kind were applied (part of the counters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    pub bit_errors: u64,
    pub dropped_bytes: u64,
    pub garbage_bursts: u64,
    pub garbage_bytes: u64,
    pub truncated_frames: u64,
    pub slow_responses: u64,
    pub missing_responses: u64,
    pub reboots: u64,
    pub unplugs: u64,
}

/// What the line did to one frame.
#[derive(Debug, Default)]
pub(crate) struct Damage {
    /// Bytes that go on the wire instead of the frame.
    pub bytes: Vec<u8>,
    /// Whether they differ from the frame in any way.
    pub damaged: bool,
}

/// Pending one-shot faults and background rates, with their RNG.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub rates: FaultRates,
    rng: ChaCha8Rng,
    truncate_next: bool,
    corrupt_next: bool,
    pub miss_next: bool,
    pub delay_next: Option<Duration>,
    pub pending_garbage: usize,
}

impl FaultState {
    pub fn new(rates: FaultRates, rng: ChaCha8Rng) -> Self {
        Self {
            rates,
            rng,
            truncate_next: false,
            corrupt_next: false,
            miss_next: false,
            delay_next: None,
            pending_garbage: 0,
        }
    }

    pub fn arm(&mut self, fault: &Fault) {
        match fault {
            Fault::TruncateNext => self.truncate_next = true,
            Fault::CorruptNext => self.corrupt_next = true,
            Fault::MissNextResponse => self.miss_next = true,
            Fault::DelayNextResponse { delay } => self.delay_next = Some(*delay),
            Fault::Garbage { len } => self.pending_garbage += len,
            Fault::Reboot | Fault::Unplug { .. } => {}
        }
    }

    /// Random bytes for a burst.
    pub fn garbage(&mut self, len: usize, counts: &mut FaultCounts) -> Vec<u8> {
        counts.garbage_bursts += 1;
        counts.garbage_bytes += len as u64;
        (0..len).map(|_| self.rng.gen::<u8>()).collect()
    }

    /// For a command response: `None` if it goes missing, else extra delay.
    pub fn response_fate(&mut self, counts: &mut FaultCounts) -> Option<Duration> {
        if std::mem::take(&mut self.miss_next)
            || (self.rates.missing_rate > 0.0 && self.rng.gen_bool(p(self.rates.missing_rate)))
        {
            counts.missing_responses += 1;
            return None;
        }
        if let Some(d) = self.delay_next.take() {
            counts.slow_responses += 1;
            return Some(d);
        }
        if self.rates.slow_rate > 0.0 && self.rng.gen_bool(p(self.rates.slow_rate)) {
            counts.slow_responses += 1;
            return Some(Duration::from_millis(u64::from(self.rates.slow_ms)));
        }
        Some(Duration::ZERO)
    }

    /// A cut point for a reboot in mid-frame: how many bytes of `len` got out.
    pub fn cut_point(&mut self, len: usize) -> usize {
        if len <= 1 {
            0
        } else {
            self.rng.gen_range(1..len)
        }
    }

    /// Applies line faults to one frame.
    pub fn damage(&mut self, frame: &[u8], counts: &mut FaultCounts) -> Damage {
        let r = &self.rates;
        let clean = r.bit_error_rate <= 0.0
            && r.drop_byte_rate <= 0.0
            && r.garbage_rate <= 0.0
            && r.truncate_rate <= 0.0
            && !self.truncate_next
            && !self.corrupt_next
            && self.pending_garbage == 0;
        if clean {
            return Damage {
                bytes: frame.to_vec(),
                damaged: false,
            };
        }
        let mut out = Vec::with_capacity(frame.len() + 8);
        let mut damaged = false;
        let mut burst = std::mem::take(&mut self.pending_garbage);
        if burst == 0 && r.garbage_rate > 0.0 && self.rng.gen_bool(p(r.garbage_rate)) {
            let max = if r.garbage_max_len == 0 {
                32
            } else {
                r.garbage_max_len
            };
            burst = self.rng.gen_range(1..=max);
        }
        if burst > 0 {
            let g = self.garbage(burst, counts);
            out.extend_from_slice(&g);
        }
        let mut body: Vec<u8> = frame.to_vec();
        if std::mem::take(&mut self.truncate_next)
            || (self.rates.truncate_rate > 0.0 && self.rng.gen_bool(p(self.rates.truncate_rate)))
        {
            let keep = self.cut_point(body.len());
            body.truncate(keep);
            counts.truncated_frames += 1;
            damaged = true;
        }
        if std::mem::take(&mut self.corrupt_next) && !body.is_empty() {
            let i = self.rng.gen_range(0..body.len());
            body[i] ^= 1 << self.rng.gen_range(0..8);
            counts.bit_errors += 1;
            damaged = true;
        }
        let (ber, drop) = (self.rates.bit_error_rate, self.rates.drop_byte_rate);
        for mut b in body {
            if drop > 0.0 && self.rng.gen_bool(p(drop)) {
                counts.dropped_bytes += 1;
                damaged = true;
                continue;
            }
            if ber > 0.0 && self.rng.gen_bool(p(ber)) {
                b ^= 1 << self.rng.gen_range(0..8);
                counts.bit_errors += 1;
                damaged = true;
            }
            out.push(b);
        }
        Damage {
            bytes: out,
            damaged,
        }
    }
}

fn p(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn same_seed_same_damage() {
        let rates = FaultRates {
            bit_error_rate: 0.05,
            drop_byte_rate: 0.02,
            garbage_rate: 0.2,
            truncate_rate: 0.1,
            ..FaultRates::default()
        };
        let run = |seed| {
            let mut f = FaultState::new(rates.clone(), ChaCha8Rng::seed_from_u64(seed));
            let mut c = FaultCounts::default();
            let out: Vec<Vec<u8>> = (0..50u8)
                .map(|i| f.damage(&[0xA0, 4, 1, i, 0x10, 0], &mut c).bytes)
                .collect();
            (out, c)
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3).0, run(4).0);
    }
}
