//! The lifetime event log (履历): every change to an asset appends one
//! event in the same transaction as the change. Each event's hash covers the
//! previous event's hash and all of its own fields, so editing or deleting
//! any row breaks the chain at that row, which [`verify`] reports.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first event.
pub const GENESIS: [u8; 32] = [0; 32];

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

/// The hash of an event given its predecessor's hash. Fields are length
/// prefixed so no two different events hash the same bytes.
pub fn event_hash(prev_hash: &[u8], e: &Event) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(e.seq.to_be_bytes());
    h.update(e.asset_id.to_be_bytes());
    h.update(e.at.to_be_bytes());
    for field in [
        Some(e.actor.as_str()),
        e.place.as_deref(),
        Some(e.action.as_str()),
        e.reason.as_deref(),
        e.request_id.as_deref(),
        Some(e.details.as_str()),
    ] {
        match field {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    h.finalize().into()
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Events checked before stopping.
    pub checked: u64,
    /// Sequence number of the first event whose link is broken.
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

/// Incremental verifier: feed events in `seq` order.
#[derive(Debug)]
pub struct Verifier {
    prev_hash: Vec<u8>,
    prev_seq: Option<i64>,
    checked: u64,
    broken: Option<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS.to_vec(),
            prev_seq: None,
            checked: 0,
            broken: None,
        }
    }
}

impl Verifier {
    /// Returns false once a broken link was found (stop feeding).
    pub fn feed(&mut self, e: &Event) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if e.prev_hash != self.prev_hash {
            Some("prev_hash does not match the preceding event (a row was removed or edited)")
        } else if self.prev_seq.is_some_and(|p| e.seq != p + 1) {
            Some("sequence gap (a row was removed)")
        } else if event_hash(&e.prev_hash, e).as_slice() != e.hash.as_slice() {
            Some("hash does not match the row's contents (the row was edited)")
        } else {
            None
        };
        if let Some(p) = problem {
            self.broken = Some((e.seq, p.to_owned()));
            return false;
        }
        self.checked += 1;
        self.prev_hash = e.hash.clone();
        self.prev_seq = Some(e.seq);
        true
    }

    pub fn finish(self) -> Verification {
        match self.broken {
            None => Verification {
                ok: true,
                checked: self.checked,
                first_broken_seq: None,
                problem: None,
            },
            Some((seq, p)) => Verification {
                ok: false,
                checked: self.checked,
                first_broken_seq: Some(seq),
                problem: Some(p),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Event> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
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
                    prev_hash: prev.clone(),
                    hash: vec![],
                };
                e.hash = event_hash(&prev, &e).to_vec();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[Event]) -> Verification {
        let mut v = Verifier::default();
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
        assert_eq!(verify(&events).first_broken_seq, Some(3));

        let mut events = chain(5);
        events.remove(1);
        assert_eq!(verify(&events).first_broken_seq, Some(3));

        let mut events = chain(5);
        events.pop();
        assert!(
            verify(&events).ok,
            "truncation at the tail is not detectable by links"
        );
    }
}
