//! The device side of each wire protocol: decode host commands with the
//! `shared` codec, act on the reader and the field, encode responses with
//! the same codec. One implementation per protocol behind [`Protocol`].

mod chainway;
mod r2000;

use std::time::Duration;

use shared::protocol::{Decoded, Deframer, Event};

use crate::core::Ctx;
use crate::field::AccessError;
use crate::scenario::ProtocolKind;

/// A reader's protocol personality.
pub(crate) trait Protocol: Send + std::fmt::Debug {
    /// Handles every whole command `input` holds (dropping it).
    fn on_bytes(&mut self, input: &mut Deframer, ctx: &mut Ctx, now: Duration);
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

/// Runs `decode` over the buffered bytes, handing each frame to `handle`
/// and counting what the codec skipped.
pub(crate) fn drain<F>(
    input: &mut Deframer,
    ctx: &mut Ctx,
    decode: impl FnMut(&[u8]) -> Decoded<F>,
    mut handle: impl FnMut(F, &mut Ctx),
) {
    for event in input.events(decode) {
        match event {
            Event::Frame { frame, .. } => handle(frame, ctx),
            Event::Skip(s) => ctx.counters.bytes_skipped += s.bytes as u64,
        }
    }
}

/// Whether an access error means the tag answered (vs. nobody / collision).
pub(crate) fn tag_answered(e: AccessError) -> bool {
    !matches!(e, AccessError::NoTag | AccessError::MultipleTags)
}
