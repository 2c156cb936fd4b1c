//! The device side of each wire protocol: decode host commands with the
//! `shared` codec, act on the reader and the field, encode responses with
//! the same codec. One implementation per protocol behind [`Protocol`].

mod chainway;
mod r2000;

use std::time::Duration;

use shared::protocol::Decoded;

use crate::core::Ctx;
use crate::field::{AccessError, LockState};
use crate::scenario::ProtocolKind;

/// A reader's protocol personality.
pub(crate) trait Protocol: Send + std::fmt::Debug {
    /// Handles every whole command at the front of `inbuf` (dropping it).
    fn on_bytes(&mut self, inbuf: &mut Vec<u8>, ctx: &mut Ctx, now: Duration);
    /// The output queue ran dry: queue what a running inventory produces
    /// next. Returns when to call again if nothing was queued now.
    fn generate(&mut self, ctx: &mut Ctx, now: Duration) -> Option<Duration>;
}

/// A fresh (just powered-up) protocol state.
pub(crate) fn new(kind: ProtocolKind) -> Box<dyn Protocol> {
    match kind {
        ProtocolKind::R2000 => Box::<r2000::R2000>::default(),
        ProtocolKind::Chainway => Box::<chainway::Chainway>::default(),
    }
}

/// Runs `decode` over the buffer, handing each frame to `handle` and
/// counting what the codec skipped.
pub(crate) fn drain<F>(
    inbuf: &mut Vec<u8>,
    ctx: &mut Ctx,
    decode: impl Fn(&[u8]) -> Decoded<F>,
    mut handle: impl FnMut(F, &mut Ctx),
) {
    let mut pos = 0;
    while pos < inbuf.len() {
        match decode(&inbuf[pos..]) {
            Decoded::NeedMore => break,
            Decoded::Frame { frame, consumed } => {
                pos += consumed.max(1);
                handle(frame, ctx);
            }
            Decoded::Skip { bytes, .. } => {
                let n = bytes.max(1);
                ctx.counters.bytes_skipped += n as u64;
                pos += n;
            }
        }
    }
    inbuf.drain(..pos.min(inbuf.len()));
}

/// Lock state from the Gen2 (pwd-write, permalock) bit pair.
pub(crate) fn lock_state(pwd_write: bool, perma: bool) -> LockState {
    match (pwd_write, perma) {
        (false, false) => LockState::Open,
        (true, false) => LockState::Locked,
        (false, true) => LockState::PermaOpen,
        (true, true) => LockState::PermaLocked,
    }
}

/// Whether an access error means the tag answered (vs. nobody / collision).
pub(crate) fn tag_answered(e: AccessError) -> bool {
    !matches!(e, AccessError::NoTag | AccessError::MultipleTags)
}
