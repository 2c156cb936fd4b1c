//! The HTTP JSON API under `/api/v1`: routing, request ids and logging,
//! and the OpenAPI document. Handlers read like the use case: authenticate
//! ([`crate::policy::Ctx`] extractor), authorize ([`crate::policy::authorize`]),
//! call the [`Store`]. They contain no SQL and never change state directly.

mod api;
pub mod error;
pub mod extract;
mod openapi;
mod workflow;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;

use crate::config::Config;
use crate::error::AppError;
use crate::store::Store;

pub use openapi::{document as openapi_document, ApiDoc};
pub use workflow::MAX_DOCUMENT_BYTES;

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "wh_session";

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
}

/// The request's id: the client's `X-Request-Id` or a fresh one. Recorded
/// on every event the request causes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

async fn request_context(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.is_ascii())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut b = [0u8; 8];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
            shared::hex::Hex(&b).to_string().to_ascii_lowercase()
        });
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let mut resp = next.run(req).await;
    tracing::info!(
        request_id = %id,
        %method,
        %path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

async fn not_found() -> AppError {
    AppError::new(
        crate::error::ErrorKind::NotFound,
        "no_route",
        "no such endpoint; see /api/v1/openapi.json",
    )
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    api::routes()
        .merge(workflow::routes())
        .merge(crate::web::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            crate::serving::guard::Guard::new(&state.config),
            crate::serving::guard::guard,
        ))
        .layer(axum::middleware::from_fn(request_context))
        .with_state(state)
}
