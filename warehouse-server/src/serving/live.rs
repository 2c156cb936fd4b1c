//! Live update streams (server-sent events on the desk and stock-take
//! pages): at most `live_streams_per_session` open at once per login
//! session, and each ends when its session does — logout, expiry or the
//! user being deactivated — not only when the browser goes away.
//!
//! A handler takes a [`LiveSlot`] (an extractor: 429 when the session has
//! its limit open) and wraps its stream with [`LiveSlot::bind`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use futures_util::{Stream, StreamExt};

use crate::accounts::token_hash;
use crate::error::{AppError, Reason};
use crate::http::AppState;
use crate::store::Store;

/// How often an open stream asks whether its session still exists: the
/// longest a stream outlives a logout.
const SESSION_CHECK: Duration = Duration::from_secs(1);

/// Open streams per session (keyed by the token's hash), shared by all
/// requests; installed as a request extension by [`super::guard`].
#[derive(Debug, Clone)]
pub struct LiveStreams {
    per_session: usize,
    open: Arc<Mutex<HashMap<Vec<u8>, usize>>>,
}

impl LiveStreams {
    pub fn new(per_session: usize) -> Self {
        Self {
            per_session,
            open: Arc::default(),
        }
    }

    /// Counts one more stream for `session`, or refuses at the limit.
    fn claim(&self, session: Vec<u8>) -> Result<Claim, AppError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(session.clone()).or_insert(0);
        if *n >= self.per_session {
            return Err(Reason::TooManyStreams {
                limit: self.per_session,
            }
            .into());
        }
        *n += 1;
        Ok(Claim {
            streams: self.clone(),
            session,
        })
    }

    #[cfg(test)]
    fn open_for(&self, session: &[u8]) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(session).copied().unwrap_or(0)
    }
}

/// One counted stream; uncounted when dropped.
#[derive(Debug)]
struct Claim {
    streams: LiveStreams,
    session: Vec<u8>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.session);
            }
        }
    }
}

/// The right to keep one live stream open for the requesting session.
#[derive(Debug)]
pub struct LiveSlot {
    claim: Claim,
    store: Store,
    token: String,
}

impl FromRequestParts<AppState> for LiveSlot {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let streams = parts
            .extensions
            .get::<LiveStreams>()
            .cloned()
            .ok_or_else(|| AppError::internal("live streams need serving::guard::guard"))?;
        let token = crate::http::extract::credential(parts)
            .ok_or_else(|| AppError::from(Reason::LiveNeedsSession))?;
        Ok(LiveSlot {
            claim: streams.claim(token_hash(&token))?,
            store: state.store.clone(),
            token,
        })
    }
}

impl LiveSlot {
    /// `stream` until the session ends; the slot stays taken while the
    /// returned stream lives (the client disconnecting drops it).
    pub fn bind<S>(self, stream: S) -> impl Stream<Item = S::Item> + Send + 'static
    where
        S: Stream + Send + 'static,
    {
        let LiveSlot {
            claim,
            store,
            token,
        } = self;
        stream
            .take_until(Box::pin(session_ended(store, token)))
            .map(move |item| {
                let _held = &claim;
                item
            })
    }
}

/// Resolves once the session behind `token` is gone or no longer valid (or
/// cannot be checked: a stream fails closed).
async fn session_ended(store: Store, token: String) {
    loop {
        tokio::time::sleep(SESSION_CHECK).await;
        match store.actor_for_token(token.clone()).await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "live stream: session check failed; ending the stream");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_session_gets_its_limit_and_a_dropped_stream_frees_its_place() -> anyhow::Result<()> {
        let streams = LiveStreams::new(2);
        let (a, b) = (b"session a".to_vec(), b"session b".to_vec());
        let first = streams.claim(a.clone())?;
        let _second = streams.claim(a.clone())?;
        let refused = streams.claim(a.clone()).map(|_| ()).map_err(|e| e.kind);
        assert_eq!(refused, Err(crate::error::ErrorKind::TooManyRequests));
        let _other = streams.claim(b.clone())?;
        assert_eq!(streams.open_for(&b), 1);
        drop(first);
        assert_eq!(streams.open_for(&a), 1);
        let _again = streams.claim(a.clone())?;
        assert_eq!(streams.open_for(&a), 2);
        Ok(())
    }
}
