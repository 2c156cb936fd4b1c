//! The guard every request passes, installed once in
//! [`crate::http::router`]: a whole-request time limit, a limit on how long
//! a request body may stall, the security headers on every response, and
//! the live-stream registry for [`super::live::LiveSlot`].

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutBody;

use super::live::LiveStreams;
use crate::config::Config;
use crate::error::{AppError, Reason};

/// Pages and API alike load scripts, styles, images and event streams
/// from this origin only, never run inline script, and may not be framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// Browsers that saw the server over TLS keep to TLS for a year.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The guard's settings, from the config; cheap to clone (per request).
#[derive(Debug, Clone)]
pub struct Guard {
    request_timeout: Duration,
    body_read_timeout: Duration,
    tls: bool,
    live: LiveStreams,
}

impl Guard {
    pub fn new(config: &Config) -> Self {
        Self {
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            tls: config.tls_cert.is_some(),
            live: LiveStreams::new(config.live_streams_per_session),
        }
    }
}

/// The middleware: `axum::middleware::from_fn_with_state(Guard::new(..), guard)`.
///
/// The request limit runs from the request's headers to the response's
/// headers, so it includes reading the body but not a streamed response
/// (live streams have their own end, see [`super::live`]). A stalled body
/// fails the extractor reading it, which answers as for any unreadable body.
pub async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(g.live.clone());
    let req = req.map(|body| Body::new(TimeoutBody::new(g.body_read_timeout, body)));
    let mut resp = match tokio::time::timeout(g.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => AppError::from(Reason::Timeout {
            limit_secs: g.request_timeout.as_secs(),
        })
        .into_response(),
    };
    security_headers(resp.headers_mut(), g.tls);
    resp
}

fn security_headers(h: &mut HeaderMap, tls: bool) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
}
