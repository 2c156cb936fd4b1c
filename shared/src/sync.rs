//! Sync between a reader daemon and the server: the batch it sends, the
//! acknowledgement it gets back, and the exactly-once rule both sides keep.
//!
//! The daemon journals every observation before sending, numbers its batches
//! with a per-daemon monotonically increasing `sequence`, and retries a batch
//! until the server acknowledges it. The server applies each
//! `(daemon_id, sequence)` at most once ([`decide`]) and acknowledges with
//! the highest sequence it has applied, so retries after a crash on either
//! side are harmless: exactly once end to end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tag::EpcBytes;

/// HTTP path (relative to the server's base URL) a batch is POSTed to.
pub const OBSERVATIONS_PATH: &str = "/api/v1/readers/observations";

/// Most observations one batch may carry; the server refuses larger ones
/// with 422 so a daemon must split its backlog.
pub const MAX_OBSERVATIONS_PER_BATCH: usize = 10_000;

/// One batch of aggregated observations from a daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ObservationBatch {
    /// Stable identity of the daemon (e.g. its host name); the sequence
    /// space is per daemon. The server accepts only the id its token was
    /// registered under (or a sub-space `id:…`).
    pub daemon_id: String,
    /// Monotonically increasing per daemon, starting at 1; the server
    /// refuses anything above `i64::MAX`.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 9223372036854775807_i64)
    )]
    pub sequence: u64,
    pub observations: Vec<Observation>,
}

/// One tag seen by one antenna during one event cycle (GS1 ALE style).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// EPC bank identifier bytes, hex in JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "3074257BF7194E4000001A85"))]
    pub epc: EpcBytes,
    /// Name of the reader as registered on the server; one of the readers
    /// bound to the sending daemon's token.
    pub reader: String,
    pub antenna: u8,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Raw reads folded into this observation.
    pub count: u32,
    /// Strongest signal in the cycle, dBm.
    pub peak_rssi: Option<i16>,
    pub kind: ObservationKind,
    /// The stock-take this sighting was made for (a keeper's handheld
    /// running `reader-daemon stocktake`): the server counts it toward that
    /// stock-take even if the reader is not assigned to it. Absent in JSON
    /// when none, so older peers read and write the same batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub stocktake_id: Option<i64>,
}

/// Whether the tag is merely still there, newly appeared or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAck {
    /// Highest sequence of this daemon the server has applied; the daemon
    /// may drop every journalled batch up to and including it.
    pub applied_through: u64,
    /// True if this request applied the batch, false if it was a repeat.
    pub applied: bool,
}

/// The server's answer to "allocate the EPC for this asset"
/// (`POST /api/v1/assets/{id}/tag/commission`): what the daemon writes to
/// the tag before it confirms with `commission_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commission {
    pub commission_id: i64,
    pub asset_id: i64,
    /// EPC to write (hex).
    pub epc: String,
    /// `urn:epc:tag:giai-96:…` (or `giai-202` for non-numeric asset numbers)
    pub tag_uri: String,
    pub id_uri: String,
}

/// One line of a stock-take (盘点) as the server lists it
/// (`GET /api/v1/stocktakes/{id}`, field `lines`) and a keeper's handheld
/// reads it to know what to expect. The server classifies lines
/// (`warehouse_server::stocktake::classify`); this is only their shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockTakeLine {
    pub outcome: Outcome,
    /// EPC hex (the asset's active tag, or the foreign EPC scanned).
    pub epc: Option<String>,
    pub asset_id: Option<i64>,
    pub asset_number: Option<String>,
    pub name: Option<String>,
    /// Where the register says the asset is.
    pub recorded_location_id: Option<i64>,
    pub recorded_unit_id: Option<i64>,
    pub resolution: Option<Resolution>,
    /// Who typed the asset number (手工录入) when its tag would not read;
    /// none for a line a reader scanned (or a missing one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_by: Option<String>,
    /// The asset belongs to another region than the stock-take's
    /// warehouse (三级联网): its register is another agency's.
    #[serde(default)]
    pub other_region: bool,
}

/// The outcome of one line of a stock-take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Expected here and scanned.
    Found,
    /// Expected here, not scanned.
    Missing,
    /// A known asset scanned here but recorded elsewhere.
    Misplaced,
    /// An EPC bound to no asset.
    Foreign,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::Missing => "missing",
            Self::Misplaced => "misplaced",
            Self::Foreign => "foreign",
        }
    }
}

/// How a keeper settled a difference line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resolution {
    pub action: ResolutionAction,
    pub comment: Option<String>,
    pub resolved_by: String,
    pub resolved_at: DateTime<Utc>,
}

/// How a keeper settles a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResolutionAction {
    /// Misplaced: record the asset at the stock-take's location.
    Relocate,
    /// Missing: note it for a loss case (workflows, issue 5/6).
    MarkMissing,
    /// Accept as is (e.g. foreign tag of a visitor).
    Ignore,
}

impl ResolutionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relocate => "relocate",
            Self::MarkMissing => "mark_missing",
            Self::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relocate" => Some(Self::Relocate),
            "mark_missing" => Some(Self::MarkMissing),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// The health report path for a daemon id: `POST /api/v1/daemons/{id}/health`
/// (relative to the server's base URL). The id is percent-encoded here so
/// any registered id is one path segment.
pub fn health_path(daemon_id: &str) -> String {
    let mut s = String::from("/api/v1/daemons/");
    for b in daemon_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push_str("/health");
    s
}

/// Most readers one health report may name (more than any daemon drives).
pub const MAX_READERS_PER_HEALTH: usize = 64;

/// What a daemon says about itself every few seconds
/// (`POST /api/v1/daemons/{id}/health`): its backlog and its view of each
/// reader. Separate from the observation batches on purpose: a batch is
/// journalled and applied exactly once, while health is "latest wins" and
/// must arrive precisely when there is nothing to send (a dead reader sends
/// no batches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DaemonHealth {
    /// The daemon's id (the path's); the server accepts only its own.
    pub daemon_id: String,
    /// When this run of the daemon started.
    pub started_at: DateTime<Utc>,
    /// The daemon's clock when it sent this report: the server shifts the
    /// report's times by its own clock minus this, so a skewed daemon clock
    /// does not make a live reader look stale.
    pub sent_at: DateTime<Utc>,
    /// Observations journalled and not yet acknowledged by the server.
    pub backlog: u64,
    /// Observations dropped because the journal was full (this journal's life).
    pub dropped_total: u64,
    /// Times the server refused the daemon's token (401/403) since it started.
    pub auth_failures: u64,
    /// Failed batch sends since the last success.
    pub sync_failures: u32,
    /// When the server last acknowledged a batch of this run.
    pub last_sync_success: Option<DateTime<Utc>>,
    /// The last sync error while failing (trimmed by the server to 500 characters).
    pub last_error: Option<String>,
    /// One entry per reader the daemon drives (at most 64).
    pub readers: Vec<ReaderReport>,
}

/// One reader as its daemon sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReaderReport {
    /// The reader's name as registered on the server.
    pub name: String,
    /// True while the serial link is up and the inventory runs.
    pub connected: bool,
    /// When the reader last reported a tag.
    pub last_read_at: Option<DateTime<Utc>>,
    /// Tag reports per second, averaged over the last minute (or since start).
    pub reads_per_s: f64,
    /// Tag reports decoded since the daemon started.
    pub reads_total: u64,
    /// Link errors since the daemon started (reconnects).
    pub errors: u64,
    /// The last link error, if any (trimmed by the server to 500 characters).
    pub last_error: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_each_sequence_once() {
        assert_eq!(decide(None, 1), BatchDecision::Apply);
        assert_eq!(decide(Some(1), 2), BatchDecision::Apply);
        assert_eq!(decide(Some(5), 9), BatchDecision::Apply);
        assert_eq!(
            decide(Some(5), 5),
            BatchDecision::AlreadyApplied { applied_through: 5 }
        );
        assert_eq!(
            decide(Some(5), 3),
            BatchDecision::AlreadyApplied { applied_through: 5 }
        );
    }

    #[test]
    fn batch_json_round_trips() -> Result<(), serde_json::Error> {
        let json = r#"{"daemon_id":"d1","sequence":7,"observations":[
            {"epc":"3074257BF7194E4000001A85","reader":"gate-1","antenna":2,
             "first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:01.500Z",
             "count":12,"peak_rssi":-48,"kind":"added"}]}"#;
        let batch: ObservationBatch = serde_json::from_str(json)?;
        assert_eq!(batch.sequence, 7);
        assert_eq!(batch.observations[0].kind, ObservationKind::Added);
        let back: ObservationBatch = serde_json::from_str(&serde_json::to_string(&batch)?)?;
        assert_eq!(back, batch);
        assert!(serde_json::from_str::<ObservationBatch>(r#"{"daemon_id":"d"}"#).is_err());
        Ok(())
    }

    #[test]
    fn health_path_keeps_the_id_one_segment() {
        assert_eq!(health_path("edge-1"), "/api/v1/daemons/edge-1/health");
        assert_eq!(health_path("a/b c"), "/api/v1/daemons/a%2Fb%20c/health");
        assert_eq!(health_path("库"), "/api/v1/daemons/%E5%BA%93/health");
    }

    #[test]
    fn a_stocktake_id_is_optional_both_ways() -> Result<(), serde_json::Error> {
        let json = r#"{"epc":"3074257BF7194E4000001A85","reader":"hand-1","antenna":1,
             "first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:01Z",
             "count":3,"peak_rssi":null,"kind":"seen"}"#;
        let mut o: Observation = serde_json::from_str(json)?;
        assert_eq!(o.stocktake_id, None);
        // Without one, the JSON is what an older peer writes.
        assert!(!serde_json::to_string(&o)?.contains("stocktake_id"));
        o.stocktake_id = Some(42);
        let text = serde_json::to_string(&o)?;
        assert!(text.contains(r#""stocktake_id":42"#), "{text}");
        assert_eq!(serde_json::from_str::<Observation>(&text)?, o);
        Ok(())
    }
}
