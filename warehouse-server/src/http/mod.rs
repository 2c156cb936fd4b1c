//! The HTTP shell: state, router assembly, request ids and logging, the
//! extractors ([`extract`]), the one error mapping ([`error`]) and the
//! response helpers (CSV, attachments, cookies: [`respond`]). Two sibling
//! layers sit on it and never import each other: [`api`] (the JSON API
//! under `/api/v1` and its OpenAPI document) and [`web`] (the
//! server-rendered pages). Handlers in both read like the use case:
//! authenticate ([`crate::policy::Ctx`]), authorize
//! ([`crate::policy::authorize`]), call the [`Store`]; no SQL, no state
//! changed directly.

mod api;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod respond;
pub mod web;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;

use crate::config::Config;
use crate::error::{AppError, Reason};
use crate::store::Store;

pub use api::{openapi_document, ApiDoc};

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

/// No route: the JSON error under `/api/`, the error page (with a way
/// back) for a page address.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    use axum::response::IntoResponse;
    if req.uri().path().starts_with("/api/") {
        return AppError::from(Reason::NoRoute).into_response();
    }
    let (mut parts, _) = req.into_parts();
    web::page_not_found(&mut parts, &state).await
}

/// A known path with the wrong method: 405 with the error body, like every
/// other error (axum's own 405 has an empty body), or the error page for a
/// page address. Axum still adds `Allow`.
async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    use axum::response::IntoResponse;
    let e = AppError::from(Reason::MethodNotAllowed);
    if req.uri().path().starts_with("/api/") {
        return e.into_response();
    }
    let (mut parts, _) = req.into_parts();
    web::page_refusal(&mut parts, &state, &e).await
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    api::routes()
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(csrf::refuse_cross_site))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            crate::serving::guard::Guard::new(&state.config),
            crate::serving::guard::guard,
        ))
        .layer(axum::middleware::from_fn(request_context))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                sources(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path)?));
            }
        }
        Ok(())
    }

    /// The JSON API and the pages are siblings on the shell: neither may
    /// reach into the other, or the import circle comes back.
    #[test]
    fn api_and_web_never_import_each_other() -> std::io::Result<()> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        for (layer, other) in [("api", "web"), ("web", "api")] {
            let mut files = Vec::new();
            sources(&root.join(layer), &mut files)?;
            assert!(!files.is_empty(), "no sources found under src/http/{layer}");
            let forbidden = [format!("http::{other}"), format!("super::{other}")];
            for (path, text) in &files {
                for f in &forbidden {
                    assert!(!text.contains(f.as_str()), "{path} uses `{f}`");
                }
            }
        }
        Ok(())
    }
}
