//! The lifetime event log (履历) and the chain that seals it. Every change
//! to an asset appends one event, and every request step (who approved
//! what) one step, in the same transaction as the change; both are entries
//! of one chain. Each entry's hash is an HMAC-SHA256, under a key kept
//! outside the database ([`ChainKey`]), over the previous entry's hash and
//! all of the entry's own fields. Editing, removing or inserting a row
//! breaks the chain at that row, and without the key a forger cannot
//! recompute it. An exported [`SignedHead`] pins the chain's end so that
//! cutting the tail and rewriting the stored head is caught too.
//!
//! Pure: the store feeds rows to [`Verifier`] and [`replay`]; only the key
//! file is read and written here ([`ChainKey::read`], [`ChainKey::create`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Bytes in a chain key.
pub const KEY_LEN: usize = 32;

/// The secret keying the chain. Kept in its own file (mode 0600), never in
/// the database: whoever can write the database but not read this file
/// cannot forge entries.
#[derive(Clone)]
pub struct ChainKey([u8; KEY_LEN]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(…)")
    }
}

/// Why the chain key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(
        "chain key file {0} does not exist: `warehouse-server admin init` creates it for a new \
         database; for an existing one restore the key file kept apart from your backups, or, \
         for a database from before the keyed chain, run `admin rekey-chain` \
         (docs/operations.md, \"Chain key\")"
    )]
    Missing(PathBuf),
    #[error("chain key file {0} already exists; refusing to replace the key of an existing chain")]
    Exists(PathBuf),
    #[error("chain key file {path} holds {len} bytes, not the {KEY_LEN} of a chain key")]
    WrongLength { path: PathBuf, len: usize },
    #[error("chain key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ChainKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
        Self(k)
    }

    /// Reads the key file; a missing file is [`KeyFileError::Missing`].
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => KeyFileError::Missing(path.to_owned()),
            _ => KeyFileError::Io {
                path: path.to_owned(),
                source,
            },
        })?;
        let len = bytes.len();
        let k: [u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyFileError::WrongLength {
            path: path.to_owned(),
            len,
        })?;
        Ok(Self(k))
    }

    /// Creates a new key file readable only by its owner; never replaces one.
    pub fn create(path: &Path) -> Result<Self, KeyFileError> {
        let key = Self::generate();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let io = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        let mut f = opts.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_owned()),
            _ => io(e),
        })?;
        f.write_all(&key.0).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(key)
    }

    /// The existing key, or a new one when there is no file yet (`admin
    /// init`, benchmarks on a fresh database).
    pub fn read_or_create(path: &Path) -> Result<Self, KeyFileError> {
        match Self::read(path) {
            Err(KeyFileError::Missing(_)) => Self::create(path),
            other => other,
        }
    }

    fn mac(&self) -> Sealer {
        let Ok(m) = <HmacSha256 as Mac>::new_from_slice(&self.0) else {
            unreachable!("HMAC takes keys of any length")
        };
        Sealer(Digest::Keyed(m))
    }
}

/// Feeds fields to the MAC. Every field is typed and length prefixed, so no
/// two different entries feed the same bytes.
#[derive(Debug)]
pub struct Sealer(Digest);

#[derive(Debug)]
enum Digest {
    Keyed(HmacSha256),
    /// The unkeyed chain of databases from before migration 0007.
    Plain(Sha256),
}

impl Sealer {
    pub fn int(&mut self, v: i64) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn text(&mut self, v: Option<&str>) {
        match v {
            None => self.bytes(&[0u8]),
            Some(s) => {
                self.bytes(&[1u8]);
                self.bytes(&(s.len() as u64).to_be_bytes());
                self.bytes(s.as_bytes());
            }
        }
    }

    fn bytes(&mut self, v: &[u8]) {
        match &mut self.0 {
            Digest::Keyed(m) => m.update(v),
            Digest::Plain(h) => sha2::Digest::update(h, v),
        }
    }

    fn finish(self) -> [u8; 32] {
        match self.0 {
            Digest::Keyed(m) => m.finalize().into_bytes().into(),
            Digest::Plain(h) => sha2::Digest::finalize(h).into(),
        }
    }
}

/// The unkeyed SHA-256 link of an event in a database from before
/// migration 0007; `admin rekey-chain` checks such a chain with it before
/// sealing it under a key.
pub fn legacy_event_hash(prev_hash: &[u8], e: &Event) -> [u8; 32] {
    let mut s = Sealer(Digest::Plain(<Sha256 as sha2::Digest>::new()));
    s.bytes(prev_hash);
    e.seal_fields(&mut s);
    s.finish()
}

/// A row of the chain: an [`Event`] or a [`StepEntry`].
pub trait Chained {
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &[u8];
    fn hash(&self) -> &[u8];
    /// A tag naming the kind of entry, then every field but the hashes.
    fn seal(&self, s: &mut Sealer);
    /// How a report names the row: `event 7 (asset 3)`.
    fn describe(&self) -> String;
}

/// The hash an entry must carry, given its predecessor's hash.
pub fn entry_hash(key: &ChainKey, prev_hash: &[u8], e: &impl Chained) -> [u8; 32] {
    let mut s = key.mac();
    s.bytes(prev_hash);
    e.seal(&mut s);
    s.finish()
}

/// One event as stored (and hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub seq: i64,
    pub asset_id: i64,
    /// Unix milliseconds, UTC.
    pub at: i64,
    /// `user:NAME`, `reader:NAME` or `system`.
    pub actor: String,
    /// Where it happened (location, reader), if known.
    pub place: Option<String>,
    /// What happened: `registered`, `updated`, `tag_bound`, …
    pub action: String,
    /// Why (comment, reason given by the actor).
    pub reason: Option<String>,
    /// The HTTP request (X-Request-Id) or command that caused it.
    pub request_id: Option<String>,
    /// JSON object with the change's details.
    pub details: String,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

impl Chained for Event {
    fn seq(&self) -> i64 {
        self.seq
    }
    fn prev_hash(&self) -> &[u8] {
        &self.prev_hash
    }
    fn hash(&self) -> &[u8] {
        &self.hash
    }
    fn seal(&self, s: &mut Sealer) {
        s.text(Some("event"));
        self.seal_fields(s);
    }
    fn describe(&self) -> String {
        format!(
            "event {} (asset {}, {})",
            self.seq, self.asset_id, self.action
        )
    }
}

impl Event {
    /// The fields as the unkeyed chain hashed them (and the keyed one, after
    /// its tag).
    fn seal_fields(&self, s: &mut Sealer) {
        s.int(self.seq);
        s.int(self.asset_id);
        s.int(self.at);
        for field in [
            Some(self.actor.as_str()),
            self.place.as_deref(),
            Some(self.action.as_str()),
            self.reason.as_deref(),
            self.request_id.as_deref(),
            Some(self.details.as_str()),
        ] {
            s.text(field);
        }
    }
}

/// A request step (审批记录) as chained: who took which step on which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEntry {
    /// Position in the chain; `None` for a row that never entered it.
    pub seq: Option<i64>,
    /// The step's row id (not sealed: the seq is the entry's identity).
    pub id: i64,
    pub request_id: i64,
    pub stage: String,
    pub action: String,
    pub actor: String,
    pub at: i64,
    pub comment: Option<String>,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Chained for StepEntry {
    fn seq(&self) -> i64 {
        self.seq.unwrap_or(0)
    }
    fn prev_hash(&self) -> &[u8] {
        &self.prev_hash
    }
    fn hash(&self) -> &[u8] {
        &self.hash
    }
    fn seal(&self, s: &mut Sealer) {
        s.text(Some("request_step"));
        s.int(self.seq());
        s.int(self.request_id);
        s.int(self.at);
        for field in [
            Some(self.stage.as_str()),
            Some(self.action.as_str()),
            Some(self.actor.as_str()),
            self.comment.as_deref(),
            Some(self.details.as_str()),
        ] {
            s.text(field);
        }
    }
    fn describe(&self) -> String {
        format!(
            "request step {} (request {}, {})",
            self.id, self.request_id, self.action
        )
    }
}

/// Result of checking the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Chain entries (events and request steps) checked before stopping.
    pub checked: u64,
    /// Sequence number of the first entry whose link is broken.
    pub first_broken_seq: Option<i64>,
    /// The asset whose register row disagrees with its events.
    pub broken_asset_id: Option<i64>,
    /// What is wrong, naming the row.
    pub problem: Option<String>,
}

impl Verification {
    pub fn broken(seq: Option<i64>, problem: String) -> Self {
        Self {
            ok: false,
            checked: 0,
            first_broken_seq: seq,
            broken_asset_id: None,
            problem: Some(problem),
        }
    }
}

/// Incremental verifier: feed entries in `seq` order.
#[derive(Debug)]
pub struct Verifier {
    key: ChainKey,
    prev_hash: Vec<u8>,
    prev_seq: Option<i64>,
    checked: u64,
    broken: Option<(i64, String)>,
}

impl Verifier {
    pub fn new(key: &ChainKey) -> Self {
        Self {
            key: key.clone(),
            prev_hash: GENESIS.to_vec(),
            prev_seq: None,
            checked: 0,
            broken: None,
        }
    }

    /// Returns false once a broken link was found (stop feeding).
    pub fn feed(&mut self, e: &impl Chained) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if e.seq() <= 0 {
            Some("is not in the chain (a row was inserted)")
        } else if e.prev_hash() != self.prev_hash.as_slice() {
            Some("prev_hash does not match the preceding entry (a row was removed or edited)")
        } else if e.seq() != self.prev_seq.unwrap_or(0) + 1 {
            Some("sequence gap (a row was removed)")
        } else if entry_hash(&self.key, e.prev_hash(), e).as_slice() != e.hash() {
            Some("hash does not match the row's contents under the chain key (the row was edited or forged)")
        } else {
            None
        };
        if let Some(p) = problem {
            self.broken = Some((e.seq(), format!("{}: {p}", e.describe())));
            return false;
        }
        self.checked += 1;
        self.prev_hash = e.hash().to_vec();
        self.prev_seq = Some(e.seq());
        true
    }

    /// The last good entry: (seq, hash); `(0, GENESIS)` before any.
    pub fn tip(&self) -> (i64, &[u8]) {
        (self.prev_seq.unwrap_or(0), &self.prev_hash)
    }

    pub fn finish(self) -> Verification {
        match self.broken {
            None => Verification {
                ok: true,
                checked: self.checked,
                first_broken_seq: None,
                broken_asset_id: None,
                problem: None,
            },
            Some((seq, p)) => Verification {
                checked: self.checked,
                ..Verification::broken(Some(seq), p)
            },
        }
    }
}

/// The chain's end, signed with the chain key, to keep outside the
/// database (`admin export-head`). A later database must still contain this
/// entry with this hash, and extend it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHead {
    pub seq: i64,
    /// Hex.
    pub hash: String,
    /// When it was exported.
    pub at: DateTime<Utc>,
    /// Hex HMAC-SHA256 of `"head"`, `seq`, `hash` under the chain key.
    pub mac: String,
}

fn head_mac(key: &ChainKey, seq: i64, hash: &[u8]) -> [u8; 32] {
    let mut s = key.mac();
    s.text(Some("head"));
    s.int(seq);
    s.bytes(hash);
    s.finish()
}

impl SignedHead {
    pub fn sign(key: &ChainKey, seq: i64, hash: &[u8], at: DateTime<Utc>) -> Self {
        Self {
            seq,
            hash: shared::hex::Hex(hash).to_string(),
            at,
            mac: shared::hex::Hex(&head_mac(key, seq, hash)).to_string(),
        }
    }

    /// The pinned (seq, hash), once the signature checks out under `key`.
    pub fn open(&self, key: &ChainKey) -> Result<(i64, Vec<u8>), String> {
        let hash = shared::hex::decode(&self.hash)
            .map_err(|e| format!("exported head: `hash` is not hex: {e}"))?;
        let mac = shared::hex::decode(&self.mac)
            .map_err(|e| format!("exported head: `mac` is not hex: {e}"))?;
        if mac != head_mac(key, self.seq, &hash) {
            return Err(format!(
                "exported head (entry {}): its mac does not verify under this chain key \
                 (edited, or exported from another database)",
                self.seq
            ));
        }
        Ok((self.seq, hash))
    }
}

/// An asset as its events tell it: the state and holder its register row
/// must show.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub state: Option<String>,
    pub unit_id: Option<i64>,
    pub location_id: Option<i64>,
}

/// Applies one event to the replayed assets: the state it was registered
/// in or moved `to`, the holder it was registered at, moved to (`holder`)
/// or relocated to by a stock-take.
pub fn replay(assets: &mut HashMap<i64, Replayed>, e: &Event) {
    let a = assets.entry(e.asset_id).or_default();
    let v: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
    if let Some(s) = v["to"].as_str().or(v["state"].as_str()) {
        a.state = Some(s.to_owned());
    }
    if e.action == "registered" {
        let place = e.place.as_deref().and_then(|p| p.split_once(':'));
        let id = place.and_then(|(_, id)| id.parse().ok());
        (a.unit_id, a.location_id) = match place.map(|(kind, _)| kind) {
            Some("unit") => (id, None),
            Some("location") => (None, id),
            _ => (None, None),
        };
    }
    if let Some(h) = v.get("holder") {
        a.unit_id = h["unit_id"].as_i64();
        a.location_id = h["location_id"].as_i64();
    }
    if e.action == "relocated" {
        a.location_id = v["to_location_id"].as_i64();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChainKey {
        ChainKey::from_bytes([7; KEY_LEN])
    }

    fn event(seq: i64, prev: &[u8]) -> Event {
        let mut e = Event {
            seq,
            asset_id: seq % 3,
            at: 1000 + seq,
            actor: "user:k".into(),
            place: None,
            action: "updated".into(),
            reason: Some("why".into()),
            request_id: None,
            details: "{}".into(),
            prev_hash: prev.to_vec(),
            hash: vec![],
        };
        e.hash = entry_hash(&key(), prev, &e).to_vec();
        e
    }

    fn chain(n: i64) -> Vec<Event> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let e = event(seq, &prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[Event]) -> Verification {
        let mut v = Verifier::new(&key());
        for e in events {
            if !v.feed(e) {
                break;
            }
        }
        v.finish()
    }

    #[test]
    fn intact_chain_verifies() {
        let v = verify(&chain(5));
        assert!(v.ok);
        assert_eq!(v.checked, 5);
    }

    #[test]
    fn edit_and_removal_are_found_at_their_row() {
        let mut events = chain(5);
        events[2].reason = Some("forged".into());
        let v = verify(&events);
        assert_eq!(v.first_broken_seq, Some(3));
        assert!(v
            .problem
            .unwrap_or_default()
            .starts_with("event 3 (asset 0"));

        let mut events = chain(5);
        events.remove(1);
        assert_eq!(verify(&events).first_broken_seq, Some(3));

        let mut events = chain(5);
        events.pop();
        assert!(
            verify(&events).ok,
            "truncation at the tail is not detectable by links: the head is"
        );
    }

    #[test]
    fn a_chain_rebuilt_without_the_key_fails() {
        let mut events = chain(3);
        events[1].reason = Some("forged".into());
        // The forger re-links every later row, but with another key.
        let other = ChainKey::from_bytes([8; KEY_LEN]);
        let mut prev = events[0].hash.clone();
        for e in &mut events[1..] {
            e.prev_hash = prev.clone();
            e.hash = entry_hash(&other, &prev, e).to_vec();
            prev = e.hash.clone();
        }
        assert_eq!(verify(&events).first_broken_seq, Some(2));
    }

    #[test]
    fn steps_and_events_share_one_chain() {
        let e1 = event(1, &GENESIS);
        let mut step = StepEntry {
            seq: Some(2),
            id: 1,
            request_id: 9,
            stage: "review".into(),
            action: "approve".into(),
            actor: "user:a".into(),
            at: 5,
            comment: None,
            details: "{}".into(),
            prev_hash: e1.hash.clone(),
            hash: vec![],
        };
        step.hash = entry_hash(&key(), &e1.hash, &step).to_vec();
        let e3 = event(3, &step.hash);
        let mut v = Verifier::new(&key());
        assert!(v.feed(&e1) && v.feed(&step) && v.feed(&e3));
        assert!(v.finish().ok);

        let mut v = Verifier::new(&key());
        let mut forged = step.clone();
        forged.action = "reject".into();
        assert!(v.feed(&e1) && !v.feed(&forged));
        let r = v.finish();
        assert_eq!(r.first_broken_seq, Some(2));
        assert!(r.problem.unwrap_or_default().contains("request step 1"));

        let mut v = Verifier::new(&key());
        let outside = StepEntry { seq: None, ..step };
        assert!(!v.feed(&outside));
    }

    #[test]
    fn signed_head_opens_only_under_its_key_and_unedited() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let head = SignedHead::sign(&key(), 4, &[1, 2, 3], at);
        assert_eq!(head.open(&key()), Ok((4, vec![1, 2, 3])));
        assert!(head
            .open(&ChainKey::from_bytes([8; KEY_LEN]))
            .is_err_and(|e| e.contains("does not verify")));
        let moved = SignedHead { seq: 3, ..head };
        assert!(moved.open(&key()).is_err());
    }

    #[test]
    fn replay_follows_registration_moves_and_relocations() {
        let mut assets = HashMap::new();
        let mut e = event(1, &GENESIS);
        e.asset_id = 5;
        e.action = "registered".into();
        e.place = Some("location:2".into());
        e.details = r#"{"state":"in_stock"}"#.into();
        replay(&mut assets, &e);
        e.action = "relocated".into();
        e.details = r#"{"to_location_id":4}"#.into();
        replay(&mut assets, &e);
        let want = |state: &str, unit, location| Replayed {
            state: Some(state.into()),
            unit_id: unit,
            location_id: location,
        };
        assert_eq!(assets[&5], want("in_stock", None, Some(4)));
        e.action = "allocate".into();
        e.details = r#"{"from":"in_stock","to":"allocated","holder":{"unit_id":3}}"#.into();
        replay(&mut assets, &e);
        assert_eq!(assets[&5], want("allocated", Some(3), None));
        e.action = "updated".into();
        e.details = r#"{"notes":{"from":null,"to":"x"}}"#.into();
        replay(&mut assets, &e);
        assert_eq!(assets[&5], want("allocated", Some(3), None));
    }
}
