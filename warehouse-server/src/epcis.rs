//! EPCIS 2.0 (GS1) export of the lifecycle and the reads: the one mapping
//! from what this system records to EPCIS events (event type, action, CBV
//! bizStep and disposition, readPoint/bizLocation), the query parameters
//! of `GET /api/v1/epcis/events` and their checks, the opaque page token,
//! and the JSON-LD document shapes. Pure: the store feeds it rows
//! (`store/epcis.rs`). The mapping table and its reasons: `docs/epcis.md`.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::error::{AppError, AppResult, Reason};

/// The JSON-LD context every document names.
pub const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";
/// Where the project's own identifiers live (locations without an SGLN,
/// units, readers, kits, event ids).
pub const URN: &str = "urn:gongwucang";
/// Times are shown in Asia/Shanghai (`crate::time`).
pub const TIME_ZONE_OFFSET: &str = "+08:00";
/// `perPage` when the request does not say.
pub const DEFAULT_PER_PAGE: usize = 100;
/// The largest `perPage` a request may ask.
pub const MAX_PER_PAGE: usize = 1000;
/// At most this many `|`-separated values in one `MATCH_epc`/`EQ_bizStep`.
pub const MAX_VALUES: usize = 100;

/// The two EPCIS event types this system produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Object,
    Aggregation,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Object => "ObjectEvent",
            Self::Aggregation => "AggregationEvent",
        }
    }
}

/// One of our lifecycle events (`asset_events.action`) as an EPCIS
/// ObjectEvent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// `asset_events.action`.
    pub ours: &'static str,
    /// EPCIS `action`: ADD, OBSERVE or DELETE.
    pub action: &'static str,
    /// CBV 2.0 bizStep (bare word, as EPCIS 2.0 JSON allows).
    pub biz_step: Option<&'static str>,
    /// CBV 2.0 disposition.
    pub disposition: Option<&'static str>,
    /// Whether the place recorded is where the asset stays afterwards
    /// (bizLocation); not while it travels or once it is gone.
    pub biz_location: bool,
}

const fn step(
    ours: &'static str,
    action: &'static str,
    biz_step: Option<&'static str>,
    disposition: Option<&'static str>,
    biz_location: bool,
) -> Step {
    Step {
        ours,
        action,
        biz_step,
        disposition,
        biz_location,
    }
}

/// Every lifecycle event exported, in the order of an asset's life. An
/// action not listed (registration before a tag exists, edits, notes of
/// request steps, idle listings, emergency passes) is not an EPCIS event.
pub const LIFECYCLE: &[Step] = &[
    step(
        "tag_bound",
        "ADD",
        Some("commissioning"),
        Some("active"),
        true,
    ),
    step(
        "retagged",
        "ADD",
        Some("commissioning"),
        Some("active"),
        true,
    ),
    step(
        "check_out",
        "OBSERVE",
        Some("shipping"),
        Some("in_transit"),
        false,
    ),
    step(
        "confirm_loan",
        "OBSERVE",
        Some("accepting"),
        Some("in_progress"),
        true,
    ),
    step(
        "confirm_allocation",
        "OBSERVE",
        Some("accepting"),
        Some("in_progress"),
        true,
    ),
    step(
        "transfer",
        "OBSERVE",
        Some("accepting"),
        Some("in_progress"),
        true,
    ),
    step(
        "return",
        "OBSERVE",
        Some("receiving"),
        Some("in_progress"),
        true,
    ),
    step(
        "hand_in",
        "OBSERVE",
        Some("receiving"),
        Some("in_progress"),
        true,
    ),
    step(
        "found",
        "OBSERVE",
        Some("receiving"),
        Some("in_progress"),
        true,
    ),
    step("relocated", "OBSERVE", Some("inspecting"), None, true),
    step(
        "mark_lost",
        "OBSERVE",
        Some("inspecting"),
        Some("unknown"),
        false,
    ),
    step(
        "start_repair",
        "OBSERVE",
        Some("repairing"),
        Some("damaged"),
        true,
    ),
    step(
        "finish_repair",
        "OBSERVE",
        Some("repairing"),
        Some("conformant"),
        true,
    ),
    step("manual_entry", "OBSERVE", None, None, false),
    step(
        "dispose",
        "DELETE",
        Some("decommissioning"),
        Some("disposed"),
        false,
    ),
];

/// A kit made (`add`) or taken apart (`delete`) as an AggregationEvent.
pub fn kit_step(action: &str) -> (&'static str, &'static str) {
    if action == "delete" {
        ("DELETE", "unpacking")
    } else {
        ("ADD", "packing")
    }
}

/// A stock-take's count of a tag: bizStep of its ObjectEvent.
pub const STOCKTAKE_BIZ_STEP: &str = "cycle_counting";

pub fn lifecycle_step(ours: &str) -> Option<&'static Step> {
    LIFECYCLE.iter().find(|s| s.ours == ours)
}

/// Where the export's events come from, in the order a walk visits them
/// (the page token names one of these and a key inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `asset_events`, by `seq`.
    Lifecycle = 0,
    /// `kit_events`, by `id`.
    Kits = 1,
    /// `stocktake_scans`, by (`stocktake_id`, `epc`).
    StockTakes = 2,
    /// `sightings`, by `id`.
    Reads = 3,
}

pub const SOURCES: [Source; 4] = [
    Source::Lifecycle,
    Source::Kits,
    Source::StockTakes,
    Source::Reads,
];

impl Source {
    fn from_index(i: u8) -> Option<Self> {
        SOURCES.get(usize::from(i)).copied()
    }
    pub fn event_type(self) -> EventType {
        match self {
            Self::Kits => EventType::Aggregation,
            _ => EventType::Object,
        }
    }
}

/// A position in the walk: the last row returned. Rows are visited by
/// source, then by the source's own increasing key, so rows inserted
/// while a client pages land after the cursor (or in a source it already
/// passed) and never move an earlier row: no duplicate, no skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub source: Source,
    /// The source's key: `seq`/`id`, or the stock-take's id.
    pub key: i64,
    /// The stock-take scan's EPC bytes (empty elsewhere).
    pub epc: Vec<u8>,
}

impl Cursor {
    /// Before the first row of `source`.
    pub fn start(source: Source) -> Self {
        Self {
            source,
            key: i64::MIN,
            epc: Vec::new(),
        }
    }

    /// The opaque `nextPageToken`.
    pub fn token(&self) -> String {
        let text = format!(
            "1.{}.{}.{}",
            self.source as u8,
            self.key,
            shared::hex::Hex(&self.epc)
        );
        shared::hex::Hex(text.as_bytes()).to_string()
    }

    pub fn parse_token(token: &str) -> AppResult<Self> {
        let bad = || {
            bad_param(
                "nextPageToken",
                format!("`{token}` is not a page token this server gave"),
            )
        };
        let bytes = shared::hex::decode(token.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('.');
        let (Some("1"), Some(s), Some(k), Some(e), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let source = s
            .parse::<u8>()
            .ok()
            .and_then(Source::from_index)
            .ok_or_else(bad)?;
        Ok(Self {
            source,
            key: k.parse().map_err(|_| bad())?,
            epc: shared::hex::decode(e).map_err(|_| bad())?,
        })
    }
}

/// A 400 naming the query parameter.
pub fn bad_param(parameter: &str, detail: impl Into<String>) -> AppError {
    AppError::bad_request(Reason::BadField {
        field: parameter.into(),
        detail: detail.into(),
    })
    .with_field(parameter)
}

/// The query, checked: what the store selects.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Event types asked for (`None`: all).
    pub event_types: Option<Vec<EventType>>,
    /// `GE_eventTime`, unix ms.
    pub from_ms: Option<i64>,
    /// `LT_eventTime`, unix ms.
    pub to_ms: Option<i64>,
    /// `MATCH_epc`: pure identity URIs.
    pub epcs: Option<Vec<String>>,
    /// `EQ_bizStep`: bare CBV words.
    pub biz_steps: Option<Vec<String>>,
    pub per_page: usize,
    pub after: Option<Cursor>,
}

/// The query string as given: every EPCIS parameter this endpoint takes.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RawQuery {
    /// `ObjectEvent` and/or `AggregationEvent`, `|`-separated.
    #[serde(rename = "eventType")]
    #[param(rename = "eventType")]
    pub event_type: Option<String>,
    /// Events at or after this time (RFC 3339 with its offset).
    #[serde(rename = "GE_eventTime")]
    #[param(rename = "GE_eventTime")]
    pub ge_event_time: Option<String>,
    /// Events before this time (RFC 3339 with its offset).
    #[serde(rename = "LT_eventTime")]
    #[param(rename = "LT_eventTime")]
    pub lt_event_time: Option<String>,
    /// EPC pure identity URIs (`urn:epc:id:…`), `|`-separated: events
    /// naming one of them (in `epcList` or `childEPCs`).
    #[serde(rename = "MATCH_epc")]
    #[param(rename = "MATCH_epc")]
    pub match_epc: Option<String>,
    /// CBV bizSteps (bare words such as `shipping`, or their
    /// `https://ref.gs1.org/cbv/BizStep-…` URIs), `|`-separated.
    #[serde(rename = "EQ_bizStep")]
    #[param(rename = "EQ_bizStep")]
    pub eq_biz_step: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    #[serde(rename = "perPage")]
    #[param(rename = "perPage")]
    pub per_page: Option<String>,
    /// The `nextPageToken` of the previous page's `Link` header.
    #[serde(rename = "nextPageToken")]
    #[param(rename = "nextPageToken")]
    pub next_page_token: Option<String>,
}

fn values<'a>(parameter: &str, raw: &'a str) -> AppResult<Vec<&'a str>> {
    let v: Vec<&str> = raw
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if v.is_empty() {
        return Err(bad_param(parameter, "no value given"));
    }
    if v.len() > MAX_VALUES {
        return Err(bad_param(
            parameter,
            format!("{} values given, at most {MAX_VALUES}", v.len()),
        ));
    }
    Ok(v)
}

/// An EPCIS time parameter: RFC 3339 (xsd:dateTime with its offset).
pub fn parse_time(parameter: &str, raw: &str) -> AppResult<i64> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            bad_param(
                parameter,
                format!("`{raw}` is not a date-time with its offset (RFC 3339, e.g. 2099-01-31T08:00:00+08:00): {e}"),
            )
        })
}

/// The export command's `--from`/`--to`: an RFC 3339 time, or a date
/// meaning its midnight in Asia/Shanghai.
pub fn parse_bound(parameter: &str, raw: &str) -> AppResult<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        let offset = FixedOffset::east_opt(8 * 3600)
            .ok_or_else(|| AppError::internal("UTC+8 is a valid offset"))?;
        return d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| offset.from_local_datetime(&t).single())
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| bad_param(parameter, format!("`{raw}` has no midnight")));
    }
    parse_time(parameter, raw)
}

const BIZ_STEP_URI: &str = "https://ref.gs1.org/cbv/BizStep-";

/// Every bizStep this system can produce.
pub fn produced_biz_steps() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = LIFECYCLE.iter().filter_map(|s| s.biz_step).collect();
    v.extend(["packing", "unpacking", STOCKTAKE_BIZ_STEP]);
    v.sort_unstable();
    v.dedup();
    v
}

impl RawQuery {
    pub fn check(&self) -> AppResult<Query> {
        let mut q = Query {
            per_page: DEFAULT_PER_PAGE,
            ..Query::default()
        };
        if let Some(raw) = &self.event_type {
            let mut types = Vec::new();
            for v in values("eventType", raw)? {
                match v {
                    "ObjectEvent" => types.push(EventType::Object),
                    "AggregationEvent" => types.push(EventType::Aggregation),
                    // Valid EPCIS types this system never records.
                    "TransactionEvent" | "TransformationEvent" | "AssociationEvent" => {}
                    other => {
                        return Err(bad_param(
                            "eventType",
                            format!("`{other}` is not an EPCIS event type (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent)"),
                        ))
                    }
                }
            }
            q.event_types = Some(types);
        }
        if let Some(raw) = &self.ge_event_time {
            q.from_ms = Some(parse_time("GE_eventTime", raw)?);
        }
        if let Some(raw) = &self.lt_event_time {
            q.to_ms = Some(parse_time("LT_eventTime", raw)?);
        }
        if let Some(raw) = &self.match_epc {
            let mut epcs = Vec::new();
            for v in values("MATCH_epc", raw)? {
                if !(v.starts_with("urn:epc:id:") || v.starts_with("urn:epc:raw:")) {
                    return Err(bad_param(
                        "MATCH_epc",
                        format!("`{v}` is not an EPC pure identity URI (urn:epc:id:…); patterns are not supported"),
                    ));
                }
                epcs.push(v.to_owned());
            }
            q.epcs = Some(epcs);
        }
        if let Some(raw) = &self.eq_biz_step {
            let mut steps = Vec::new();
            for v in values("EQ_bizStep", raw)? {
                let word = v.strip_prefix(BIZ_STEP_URI).unwrap_or(v);
                let word = word
                    .strip_prefix("urn:epcglobal:cbv:bizstep:")
                    .unwrap_or(word);
                if word.is_empty() || !word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    return Err(bad_param(
                        "EQ_bizStep",
                        format!("`{v}` is not a CBV bizStep (a word such as `shipping`, or its {BIZ_STEP_URI}… URI)"),
                    ));
                }
                steps.push(word.to_owned());
            }
            q.biz_steps = Some(steps);
        }
        if let Some(raw) = &self.per_page {
            let n: usize = raw.trim().parse().map_err(|_| {
                bad_param(
                    "perPage",
                    format!("`{raw}` is not a whole number from 1 to {MAX_PER_PAGE}"),
                )
            })?;
            if !(1..=MAX_PER_PAGE).contains(&n) {
                return Err(bad_param(
                    "perPage",
                    format!("{n} is outside 1 to {MAX_PER_PAGE}"),
                ));
            }
            q.per_page = n;
        }
        if let Some(raw) = &self.next_page_token {
            q.after = Some(Cursor::parse_token(raw)?);
        }
        Ok(q)
    }
}

impl Query {
    /// Whether `source` can give an event this query wants.
    pub fn wants(&self, source: Source) -> bool {
        let typed = self
            .event_types
            .as_ref()
            .is_none_or(|t| t.contains(&source.event_type()));
        let stepped = match (&self.biz_steps, source) {
            (None, _) => true,
            (Some(_), Source::Reads) => false,
            (Some(s), Source::StockTakes) => s.iter().any(|s| s == STOCKTAKE_BIZ_STEP),
            (Some(s), Source::Kits) => s.iter().any(|s| s == "packing" || s == "unpacking"),
            (Some(_), Source::Lifecycle) => !self.lifecycle_actions().is_empty(),
        };
        typed && stepped
    }

    /// The `asset_events.action` values to select.
    pub fn lifecycle_actions(&self) -> Vec<&'static str> {
        LIFECYCLE
            .iter()
            .filter(|s| match &self.biz_steps {
                None => true,
                Some(w) => s.biz_step.is_some_and(|b| w.iter().any(|x| x == b)),
            })
            .map(|s| s.ours)
            .collect()
    }

    /// The `kit_events.action` values to select.
    pub fn kit_actions(&self) -> Vec<&'static str> {
        ["add", "delete"]
            .into_iter()
            .filter(|a| match &self.biz_steps {
                None => true,
                Some(w) => w.iter().any(|x| x == kit_step(a).1),
            })
            .collect()
    }
}

/// Where something is, as EPCIS names it: an SGLN where one is recorded,
/// else the project's URI.
#[derive(Debug, Default, Clone)]
pub struct Places {
    /// location id → SGLN.
    pub locations: HashMap<i64, Option<String>>,
    /// warehouse id → SGLN.
    pub warehouses: HashMap<i64, Option<String>>,
    /// reader id → its location.
    pub readers: HashMap<i64, Option<i64>>,
}

impl Places {
    pub fn location(&self, id: i64) -> String {
        match self.locations.get(&id) {
            Some(Some(sgln)) => sgln.clone(),
            _ => format!("{URN}:location:{id}"),
        }
    }
    pub fn warehouse(&self, id: i64) -> String {
        match self.warehouses.get(&id) {
            Some(Some(sgln)) => sgln.clone(),
            _ => format!("{URN}:warehouse:{id}"),
        }
    }
    /// A recorded place (`location:N`, `unit:N`); others (`request:N`,
    /// `stocktake:N`) are not places.
    pub fn place(&self, place: Option<&str>) -> Option<String> {
        let (kind, id) = place?.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        match kind {
            "location" => Some(self.location(id)),
            "unit" => Some(format!("{URN}:unit:{id}")),
            _ => None,
        }
    }
    /// Where a reader is: its location, or the reader itself.
    pub fn reader(&self, id: i64) -> String {
        match self.readers.get(&id) {
            Some(Some(l)) => self.location(*l),
            _ => format!("{URN}:reader:{id}"),
        }
    }
}

/// An EPC's pure identity URI (TDS; `urn:epc:raw:…` for bits no scheme
/// reads).
pub fn epc_uri(bytes: &[u8]) -> String {
    shared::epc::decode(bytes).id_uri().to_string()
}

fn time(ms: i64) -> String {
    let t: DateTime<Utc> = crate::time::ts(ms);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The fields every event has.
fn event(kind: EventType, id: String, at_ms: i64, action: &str) -> Map<String, Value> {
    let mut e = Map::new();
    e.insert("type".into(), json!(kind.as_str()));
    e.insert("eventID".into(), json!(id));
    e.insert("eventTime".into(), json!(time(at_ms)));
    e.insert("recordTime".into(), json!(time(at_ms)));
    e.insert("eventTimeZoneOffset".into(), json!(TIME_ZONE_OFFSET));
    e.insert("action".into(), json!(action));
    e
}

fn put(e: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        e.insert(key.into(), v.into());
    }
}

fn id_object(uri: Option<String>) -> Option<Value> {
    uri.map(|id| json!({ "id": id }))
}

/// A lifecycle event (`asset_events` row) of a tagged asset.
pub fn lifecycle_event(
    step: &Step,
    seq: i64,
    at_ms: i64,
    epc: &[u8],
    place: Option<&str>,
    places: &Places,
) -> Value {
    let mut e = event(
        EventType::Object,
        format!("{URN}:event:lifecycle:{seq}"),
        at_ms,
        step.action,
    );
    e.insert("epcList".into(), json!([epc_uri(epc)]));
    put(&mut e, "bizStep", step.biz_step);
    put(&mut e, "disposition", step.disposition);
    let at = places.place(place);
    put(&mut e, "readPoint", id_object(at.clone()));
    if step.biz_location {
        put(&mut e, "bizLocation", id_object(at));
    }
    Value::Object(e)
}

/// A kit made or taken apart; `None` when none of its members had a tag.
pub fn kit_event(
    id: i64,
    kit_id: i64,
    action: &str,
    at_ms: i64,
    children: &[Vec<u8>],
) -> Option<Value> {
    if children.is_empty() {
        return None;
    }
    let (epcis_action, biz_step) = kit_step(action);
    let mut e = event(
        EventType::Aggregation,
        format!("{URN}:event:kit:{id}"),
        at_ms,
        epcis_action,
    );
    e.insert("parentID".into(), json!(format!("{URN}:kit:{kit_id}")));
    e.insert(
        "childEPCs".into(),
        Value::Array(children.iter().map(|c| json!(epc_uri(c))).collect()),
    );
    e.insert("bizStep".into(), json!(biz_step));
    Some(Value::Object(e))
}

/// A tag counted by a stock-take.
pub fn stocktake_event(stocktake_id: i64, epc: &[u8], at_ms: i64, where_: String) -> Value {
    let mut e = event(
        EventType::Object,
        format!(
            "{URN}:event:stocktake:{stocktake_id}:{}",
            shared::hex::Hex(epc)
        ),
        at_ms,
        "OBSERVE",
    );
    e.insert("epcList".into(), json!([epc_uri(epc)]));
    e.insert("bizStep".into(), json!(STOCKTAKE_BIZ_STEP));
    e.insert("readPoint".into(), json!({ "id": where_.clone() }));
    e.insert("bizLocation".into(), json!({ "id": where_ }));
    Value::Object(e)
}

/// A read at a reader (a sighting): what, when, where; no business step.
pub fn read_event(id: i64, epc: &[u8], at_ms: i64, reader: String) -> Value {
    let mut e = event(
        EventType::Object,
        format!("{URN}:event:read:{id}"),
        at_ms,
        "OBSERVE",
    );
    e.insert("epcList".into(), json!([epc_uri(epc)]));
    e.insert("readPoint".into(), json!({ "id": reader }));
    Value::Object(e)
}

/// The JSON of an EPCISDocument up to its event list's opening bracket,
/// and what closes it: the export writes events between them.
pub fn document_frame(created_ms: i64) -> (String, &'static str) {
    let created = time(created_ms);
    (
        format!(
            "{{\"@context\":[\"{CONTEXT}\"],\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\
             \"creationDate\":\"{created}\",\"epcisBody\":{{\"eventList\":["
        ),
        "]}}",
    )
}

/// A whole EPCISQueryDocument holding `events`.
pub fn query_document(events: Vec<Value>, created_ms: i64) -> Value {
    json!({
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": time(created_ms),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": { "eventList": events }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_and_strangers_are_refused() {
        let c = Cursor {
            source: Source::StockTakes,
            key: 7,
            epc: vec![0x34, 0x01],
        };
        assert_eq!(Cursor::parse_token(&c.token()).ok(), Some(c));
        let start = Cursor::start(Source::Lifecycle);
        assert_eq!(Cursor::parse_token(&start.token()).ok(), Some(start));
        for bad in [
            "",
            "zz",
            "312e392e302e",
            &shared::hex::Hex(b"1.1.x.").to_string(),
        ] {
            let e = Cursor::parse_token(bad).err();
            assert_eq!(
                e.and_then(|e| e.field).as_deref(),
                Some("nextPageToken"),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_mapped_step_uses_cbv_words() {
        // The CBV 2.0 words of GS1's EPCIS 2.0 JSON schema (bizStep and
        // disposition enums) that the mapping uses.
        let steps = [
            "accepting",
            "commissioning",
            "cycle_counting",
            "decommissioning",
            "inspecting",
            "packing",
            "receiving",
            "repairing",
            "shipping",
            "unpacking",
        ];
        let dispositions = [
            "active",
            "conformant",
            "damaged",
            "disposed",
            "in_progress",
            "in_transit",
            "unknown",
        ];
        for s in produced_biz_steps() {
            assert!(steps.contains(&s), "{s}");
        }
        for s in LIFECYCLE {
            assert!(
                s.disposition.is_none_or(|d| dispositions.contains(&d)),
                "{s:?}"
            );
            assert!(["ADD", "OBSERVE", "DELETE"].contains(&s.action));
            assert_eq!(lifecycle_step(s.ours), Some(s));
        }
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let cases: Vec<(RawQuery, &str)> = vec![
            (
                RawQuery {
                    event_type: Some("Thing".into()),
                    ..Default::default()
                },
                "eventType",
            ),
            (
                RawQuery {
                    ge_event_time: Some("2099-01-01".into()),
                    ..Default::default()
                },
                "GE_eventTime",
            ),
            (
                RawQuery {
                    lt_event_time: Some("soon".into()),
                    ..Default::default()
                },
                "LT_eventTime",
            ),
            (
                RawQuery {
                    match_epc: Some("E280".into()),
                    ..Default::default()
                },
                "MATCH_epc",
            ),
            (
                RawQuery {
                    eq_biz_step: Some("Ship It".into()),
                    ..Default::default()
                },
                "EQ_bizStep",
            ),
            (
                RawQuery {
                    per_page: Some("0".into()),
                    ..Default::default()
                },
                "perPage",
            ),
            (
                RawQuery {
                    per_page: Some("1001".into()),
                    ..Default::default()
                },
                "perPage",
            ),
            (
                RawQuery {
                    next_page_token: Some("abc".into()),
                    ..Default::default()
                },
                "nextPageToken",
            ),
        ];
        for (q, name) in cases {
            let e = q.check().err();
            assert_eq!(e.and_then(|e| e.field).as_deref(), Some(name));
        }
        let q = RawQuery {
            eq_biz_step: Some("https://ref.gs1.org/cbv/BizStep-shipping|commissioning".into()),
            ge_event_time: Some("2099-01-01T00:00:00+08:00".into()),
            ..Default::default()
        }
        .check();
        let q = q.ok().unwrap_or_default();
        assert_eq!(
            q.lifecycle_actions(),
            vec!["tag_bound", "retagged", "check_out"]
        );
        assert!(!q.wants(Source::Reads) && !q.wants(Source::Kits) && q.wants(Source::Lifecycle));
        assert_eq!(q.from_ms, Some(4_070_908_800_000 - 8 * 3_600_000));
    }

    #[test]
    fn the_export_frame_holds_events_as_json() -> Result<(), serde_json::Error> {
        let (head, tail) = document_frame(0);
        let e = read_event(1, &[0x34; 12], 0, format!("{URN}:reader:1"));
        let text = format!("{head}{e},\n{e}{tail}");
        let doc: Value = serde_json::from_str(&text)?;
        assert_eq!(doc["type"], "EPCISDocument");
        assert_eq!(
            doc["epcisBody"]["eventList"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(doc["creationDate"], "1970-01-01T00:00:00.000Z");
        Ok(())
    }

    #[test]
    fn dates_are_midnight_in_shanghai() {
        assert_eq!(
            parse_bound("--from", "2099-01-01").ok(),
            Some(4_070_908_800_000 - 8 * 3_600_000)
        );
        assert!(parse_bound("--to", "2099-13-01").is_err());
    }
}
