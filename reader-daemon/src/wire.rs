//! Transitional copy of `shared::sync` (the batch, the acknowledgement and
//! the exactly-once rule), kept byte-compatible on the wire until that
//! module is committed to `shared`; then this file goes and every use
//! points at `shared::sync`. Do not extend it here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use shared::tag::EpcBytes;

/// HTTP path (relative to the server's base URL) a batch is POSTed to.
pub const OBSERVATIONS_PATH: &str = "/api/v1/readers/observations";

/// Most observations one batch may carry; the server refuses larger ones
/// with 422 so a daemon must split its backlog.
pub const MAX_OBSERVATIONS_PER_BATCH: usize = 10_000;

/// One batch of aggregated observations from a daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationBatch {
    /// Stable identity of the daemon (e.g. its host name); the sequence
    /// space is per daemon.
    pub daemon_id: String,
    /// Monotonically increasing per daemon, starting at 1.
    pub sequence: u64,
    pub observations: Vec<Observation>,
}

/// One tag seen by one antenna during one event cycle (GS1 ALE style).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// EPC bank identifier bytes, hex in JSON.
    pub epc: EpcBytes,
    /// Name of the reader as registered on the server.
    pub reader: String,
    pub antenna: u8,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Raw reads folded into this observation.
    pub count: u32,
    /// Strongest signal in the cycle, dBm.
    pub peak_rssi: Option<i16>,
    pub kind: ObservationKind,
}

/// Whether the tag is merely still there, newly appeared or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    Seen,
    Added,
    Removed,
}

impl ObservationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Added => "added",
            Self::Removed => "removed",
        }
    }
}

/// The server's answer to a batch, whether it was applied now or before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAck {
    /// Highest sequence of this daemon the server has applied; the daemon
    /// may drop every journalled batch up to and including it.
    pub applied_through: u64,
    /// True if this request applied the batch, false if it was a repeat.
    pub applied: bool,
}

/// What the server does with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchDecision {
    /// New: apply it and record `sequence` as the daemon's high-water mark.
    Apply,
    /// Already applied (or older than something applied): acknowledge
    /// without touching anything.
    AlreadyApplied { applied_through: u64 },
}

/// The exactly-once rule: a batch is applied only if its sequence is above
/// the daemon's high-water mark. Gaps are allowed (a daemon that lost a
/// journal may skip numbers) but nothing at or below the mark is reapplied.
pub fn decide(applied_through: Option<u64>, sequence: u64) -> BatchDecision {
    match applied_through {
        Some(mark) if sequence <= mark => BatchDecision::AlreadyApplied {
            applied_through: mark,
        },
        _ => BatchDecision::Apply,
    }
}
