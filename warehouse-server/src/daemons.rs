//! Reader daemons (edge boxes) and the readers bound to them: who may send
//! which observations. A reader token authenticates as one daemon
//! ([`crate::policy::Actor::Daemon`]); the daemon may speak only under its
//! own id and only for its own readers ([`may_send`]). Storage is
//! [`crate::store`]'s job; this module holds the types and the rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::sync::ObservationBatch;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, Reason};
use crate::input::required_text;
use crate::policy::Actor;
use crate::register::{NewReader, Reader, ReaderRole};

/// Separates a daemon's id from a sub-space of its sequence numbers: the
/// handheld stock-take of daemon `edge-1` syncs as
/// `edge-1:stocktake:hand-1`. Registered ids never contain it, so the part
/// before the first one always names the owner.
pub const SUBSPACE_SEPARATOR: char = ':';

/// A registered daemon and the readers attached to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Daemon {
    pub id: i64,
    /// The id the daemon sends in each batch (`[daemon] id` of its config).
    pub daemon_id: String,
    pub readers: Vec<Reader>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/daemons`: a daemon with the readers it drives.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDaemon {
    pub daemon_id: String,
    pub readers: Vec<NewReader>,
    /// When the token stops working; never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new daemon and its token, shown this once (only its hash is kept).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedDaemon {
    pub daemon: Daemon,
    pub token: String,
}

/// 422 naming `daemon_id` unless `id` is 1–100 characters without
/// [`SUBSPACE_SEPARATOR`]. Returns it trimmed.
pub fn check_daemon_id(id: &str) -> AppResult<String> {
    let id = required_text("daemon_id", id, 100)?;
    if id.contains(SUBSPACE_SEPARATOR) {
        return Err(Reason::BadDaemonId { value: id }.into());
    }
    Ok(id)
}

impl NewDaemon {
    /// What serde cannot check: the id, at least one reader, no name twice.
    pub fn check(&self) -> AppResult<String> {
        let id = check_daemon_id(&self.daemon_id)?;
        if self.readers.is_empty() {
            return Err(Reason::NoReaders.into());
        }
        for (i, r) in self.readers.iter().enumerate() {
            let field = format!("readers[{i}].name");
            let name = required_text(&field, &r.name, 100)?;
            if self.readers[..i].iter().any(|o| o.name.trim() == name) {
                return Err(Reason::ReaderTwice { field, name }.into());
            }
        }
        Ok(id)
    }
}

/// `NAME:ROLE[:LOCATION_ID]`, the command line's and the admin page's way
/// to name one reader (`--reader gate-1:gate:3`).
pub fn parse_reader_spec(spec: &str) -> AppResult<NewReader> {
    let bad = || AppError::from(Reason::BadReaderSpec { value: spec.into() });
    let mut parts = spec.split(':').map(str::trim);
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
    let role = parts.next().and_then(ReaderRole::parse).ok_or_else(bad)?;
    let location_id = match parts.next() {
        None => None,
        Some(l) => Some(l.parse::<i64>().map_err(|_| bad())?),
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(NewReader {
        name: name.to_owned(),
        role,
        location_id,
    })
}

/// True if a daemon registered as `own` may use the sequence space
/// `claimed`: its own id or a sub-space of it (`own:…`).
pub fn owns_sequence_space(own: &str, claimed: &str) -> bool {
    match claimed.strip_prefix(own) {
        Some(rest) => rest.is_empty() || rest.starts_with(SUBSPACE_SEPARATOR),
        None => false,
    }
}

/// The binding rule: a daemon sends only under its own id (or a sub-space)
/// and only for its own readers; anything else is 403 and the batch is not
/// looked at further. The command line (`Actor::System`) is trusted; people
/// never reach here (`policy::authorize` refuses them ingest).
pub fn may_send(actor: &Actor, batch: &ObservationBatch) -> AppResult<()> {
    let Actor::Daemon {
        daemon_id, readers, ..
    } = actor
    else {
        return Ok(());
    };
    if !owns_sequence_space(daemon_id, &batch.daemon_id) {
        return Err(Reason::ForeignDaemon {
            own: daemon_id.clone(),
            claimed: batch.daemon_id.clone(),
        }
        .into());
    }
    if let Some((i, o)) = batch
        .observations
        .iter()
        .enumerate()
        .find(|(_, o)| !readers.contains(&o.reader))
    {
        return Err(Reason::ReaderNotBound {
            field: format!("observations[{i}].reader"),
            reader: o.reader.clone(),
            daemon: daemon_id.clone(),
            readers: readers.clone(),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::sync::{Observation, ObservationKind};

    fn edge() -> Actor {
        Actor::Daemon {
            id: 1,
            daemon_id: "edge-1".into(),
            readers: vec!["gate-1".into(), "desk-1".into()],
        }
    }

    fn batch(daemon: &str, readers: &[&str]) -> ObservationBatch {
        let now = chrono::Utc::now();
        let epc = shared::tag::EpcBytes::new(&[0x30]);
        ObservationBatch {
            daemon_id: daemon.into(),
            sequence: 1,
            observations: readers
                .iter()
                .zip(epc.iter().cycle())
                .map(|(r, epc)| Observation {
                    epc: *epc,
                    reader: (*r).into(),
                    antenna: 1,
                    first_seen: now,
                    last_seen: now,
                    count: 1,
                    peak_rssi: None,
                    kind: ObservationKind::Seen,
                    stocktake_id: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_daemon_owns_its_id_and_its_sub_spaces_only() {
        assert!(owns_sequence_space("edge-1", "edge-1"));
        assert!(owns_sequence_space("edge-1", "edge-1:stocktake:hand-1"));
        assert!(!owns_sequence_space("edge-1", "edge-10"));
        assert!(!owns_sequence_space("edge-1", "edge-"));
        assert!(!owns_sequence_space("edge-1", "other:edge-1"));
    }

    #[test]
    fn a_daemon_sends_only_for_its_readers_under_its_id() {
        assert!(may_send(&edge(), &batch("edge-1", &["gate-1", "desk-1"])).is_ok());
        assert!(may_send(&edge(), &batch("edge-1:stocktake:gate-1", &[])).is_ok());
        let e = may_send(&edge(), &batch("edge-2", &[])).err();
        assert_eq!(
            e.as_ref().and_then(|e| e.field.as_deref()),
            Some("daemon_id")
        );
        assert_eq!(e.map(|e| e.kind), Some(crate::error::ErrorKind::Forbidden));
        let e = may_send(&edge(), &batch("edge-1", &["gate-1", "hand-9"])).err();
        assert_eq!(
            e.and_then(|e| e.field),
            Some("observations[1].reader".into())
        );
        assert!(may_send(&Actor::System, &batch("any", &["any"])).is_ok());
    }

    #[test]
    fn ids_and_reader_specs_are_checked() {
        assert!(check_daemon_id("edge:1").is_err());
        assert!(check_daemon_id(" ").is_err());
        assert_eq!(check_daemon_id(" edge-1 ").ok(), Some("edge-1".into()));
        let r = parse_reader_spec("gate-1:gate:3").ok();
        assert_eq!(
            r.map(|r| (r.name, r.role, r.location_id)),
            Some(("gate-1".into(), ReaderRole::Gate, Some(3)))
        );
        assert!(parse_reader_spec("desk-1:desk").is_ok_and(|r| r.location_id.is_none()));
        for bad in ["gate-1", ":gate", "g:tower", "g:gate:x", "g:gate:1:2"] {
            assert!(parse_reader_spec(bad).is_err(), "{bad}");
        }
        let twice = NewDaemon {
            daemon_id: "e".into(),
            readers: vec![
                NewReader {
                    name: "a".into(),
                    role: ReaderRole::Gate,
                    location_id: None,
                };
                2
            ],
            expires_at: None,
        };
        assert_eq!(
            twice.check().err().and_then(|e| e.field),
            Some("readers[1].name".into())
        );
    }
}
