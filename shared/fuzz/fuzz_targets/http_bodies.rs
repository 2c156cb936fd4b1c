//! Arbitrary bytes as the JSON body of the hottest POSTs: a reader daemon's
//! observation batch and health report, and a workflow step. All go through
//! the server's own body parser (`http::extract::parse_json`, the one behind
//! `ApiJson`) and, for batches and reports, its own `validate_batch` and
//! `health::check_report`, so what runs here is what runs on a request.
//! Parsing must never panic, every refusal must name what was wrong, and an
//! accepted batch or report must survive a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::sync::{DaemonHealth, ObservationBatch};
use warehouse_server::error::{AppError, ErrorKind};
use warehouse_server::health::check_report;
use warehouse_server::http::extract::parse_json;
use warehouse_server::policy::Actor;
use warehouse_server::store::validate_batch;
use warehouse_server::workflow::StepBody;

/// A refusal must say something a client can act on: unreadable JSON is
/// 400, a wrong shape or value is 422 naming the field, a batch outside the
/// token's daemon id or readers is 403 naming which.
fn check_refusal(e: &AppError) {
    let message = e.message();
    assert!(!message.is_empty(), "empty error message: {e:?}");
    match e.kind {
        ErrorKind::BadRequest => {}
        // A key that is itself empty (`{"": 1}`) is named as it was sent.
        ErrorKind::Invalid => assert!(
            e.field
                .as_deref()
                .is_some_and(|f| !f.is_empty() || message.contains("unknown field ``")),
            "422 without a field: {e:?}"
        ),
        ErrorKind::Forbidden => assert!(
            e.field.as_deref().is_some_and(|f| !f.is_empty()),
            "403 without a field: {e:?}"
        ),
        other => panic!("a body answered {other:?}: {e:?}"),
    }
}

/// The token the batches arrive under: the daemon of the seed batches,
/// with the readers they name.
fn sender() -> Actor {
    Actor::Daemon {
        id: 1,
        daemon_id: "wh1-edge".to_owned(),
        readers: vec!["gate-1".to_owned(), "hand-1".to_owned()],
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_json::<ObservationBatch>(data) {
        Ok(batch) => {
            if let Err(e) = validate_batch(&sender(), &batch) {
                check_refusal(&e);
            }
            // What the daemon sends must read back as the same batch.
            let json = match serde_json::to_vec(&batch) {
                Ok(json) => json,
                Err(e) => panic!("{batch:?} does not serialise: {e}"),
            };
            match parse_json::<ObservationBatch>(&json) {
                Ok(again) => assert_eq!(again, batch),
                Err(e) => panic!("{batch:?} re-reads as {e:?}"),
            }
        }
        Err(e) => check_refusal(&e),
    }
    match parse_json::<DaemonHealth>(data) {
        Ok(report) => {
            if let Err(e) = check_report(&sender(), "wh1-edge", &report) {
                check_refusal(&e);
            }
            let json = match serde_json::to_vec(&report) {
                Ok(json) => json,
                Err(e) => panic!("{report:?} does not serialise: {e}"),
            };
            match parse_json::<DaemonHealth>(&json) {
                Ok(again) => assert_eq!(again, report),
                Err(e) => panic!("{report:?} re-reads as {e:?}"),
            }
        }
        Err(e) => check_refusal(&e),
    }
    match parse_json::<StepBody>(data) {
        Ok(step) => {
            let _ = (step.kind(), step.comment());
        }
        Err(e) => check_refusal(&e),
    }
});
