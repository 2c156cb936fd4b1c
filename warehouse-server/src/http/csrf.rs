//! Cross-site request forgery defence for everything a browser can be
//! made to send: a state-changing request (POST, PUT, PATCH, DELETE)
//! without an `Authorization` header — cookie-authenticated, or the login
//! form itself — must come from this site. Refused (403 `cross_site`,
//! before any handler runs) when the browser says `Sec-Fetch-Site:
//! cross-site` or `same-site`, or sends an `Origin` that is not this
//! server's own. Bearer-token calls (API clients, reader daemons) carry
//! their credential explicitly and are not checked. The session cookie is
//! also `SameSite=Lax`, and the login form carries a pre-session token
//! (`web::login_*`).
//!
//! Behind that, every cookie-authenticated form post must carry the
//! session's form token ([`form_token`]) in the field [`FORM_TOKEN_FIELD`]
//! (url-encoded forms) or in the action's query string (multipart forms,
//! whose bodies this layer does not buffer); it is checked and stripped
//! here, so handlers never see it. JSON bodies need no token: a browser
//! cannot send one across sites without a CORS preflight, which this
//! server never grants. The token is a hash of the session token, so it
//! needs no storage, ends with the session, and reveals nothing of it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::respond::{cookie, SESSION_COOKIE};
use crate::error::{AppError, Reason};

/// The form field (or query parameter) that carries the form token.
pub const FORM_TOKEN_FIELD: &str = "_csrf";

/// The largest url-encoded form this layer reads to find the token.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The form token of a session: the first 128 bits of a domain-separated
/// SHA-256 of the session token, in hex.
pub fn form_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"gongwucang/form-token/v1\0");
    h.update(session_token.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal in time independent of where the two differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn changes(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Whether a request that a browser could have sent for another site is
/// to be refused.
pub fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if !changes(method) || headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return true;
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, authority)| authority);
            // `Origin: null` and anything unreadable are refused too.
            origin_host.is_none() || origin_host != host
        }
    }
}

/// The middleware (installed once, in `http::router`).
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if is_cross_site(req.method(), req.headers()) {
        tracing::warn!(
            method = %req.method(),
            path = %req.uri().path(),
            origin = ?req.headers().get(header::ORIGIN),
            "cross-site request refused"
        );
        return refused(req.uri().path(), req.headers(), Reason::CrossSite.into());
    }
    // A page's form refused gets a page: keep what it needs (only for
    // changes, which are the only requests refused here).
    let page = (changes(req.method()) && !req.uri().path().starts_with("/api/"))
        .then(|| req.headers().clone());
    match (check_form_token(req).await, page) {
        (Ok(req), _) => next.run(req).await,
        (Err(e), Some(headers)) => super::web::refusal_page(&headers, &e),
        (Err(e), None) => e.into_response(),
    }
}

/// The refusal: the JSON error for the API, a page with a way back for a
/// browser's form.
fn refused(path: &str, headers: &HeaderMap, e: AppError) -> Response {
    if path.starts_with("/api/") {
        e.into_response()
    } else {
        super::web::refusal_page(headers, &e)
    }
}

/// The value of `name` in a url-encoded string, if present.
fn field(encoded: &[u8], name: &str) -> Option<String> {
    pairs(encoded)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(encoded).unwrap_or_default()
}

/// Passes a request on when it needs no form token or carries the right
/// one (then stripped from a url-encoded body); refuses it otherwise.
async fn check_form_token(req: Request) -> Result<Request, AppError> {
    let session = match cookie(req.headers(), SESSION_COOKIE) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => return Ok(req),
    };
    if !changes(req.method())
        || req.headers().contains_key(header::AUTHORIZATION)
        || req.uri().path() == "/login"
    {
        return Ok(req);
    }
    let expected = form_token(&session);
    let in_query = req
        .uri()
        .query()
        .and_then(|q| field(q.as_bytes(), FORM_TOKEN_FIELD));
    if in_query.is_some_and(|t| same(&t, &expected)) {
        return Ok(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        return Ok(req);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        tracing::warn!(path = %req.uri().path(), "form post without a form token refused");
        return Err(Reason::FormTokenMissing.into());
    }
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| Reason::BodyTooLarge)?;
    if !field(&bytes, FORM_TOKEN_FIELD).is_some_and(|t| same(&t, &expected)) {
        tracing::warn!(path = %parts.uri.path(), "form post with a missing or stale form token refused");
        return Err(Reason::FormTokenMissing.into());
    }
    let kept: Vec<(String, String)> = pairs(&bytes)
        .into_iter()
        .filter(|(k, _)| k != FORM_TOKEN_FIELD)
        .collect();
    let rest = serde_urlencoded::to_string(&kept).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(rest.len() as u64));
    Ok(Request::from_parts(parts, Body::from(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, axum::http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn browser_requests_from_elsewhere_are_refused() {
        let own = [("host", "wh.example:8080")];
        let cases = [
            (vec![("sec-fetch-site", "cross-site")], true),
            (vec![("sec-fetch-site", "same-site")], true),
            (vec![("origin", "http://evil.example")], true),
            (vec![("origin", "null")], true),
            (
                vec![("origin", "http://wh.example:8080.evil.example")],
                true,
            ),
            (vec![("origin", "http://wh.example:8080")], false),
            (
                vec![
                    ("origin", "https://wh.example:8080"),
                    ("sec-fetch-site", "same-origin"),
                ],
                false,
            ),
            (vec![("sec-fetch-site", "none")], false),
            (vec![], false),
        ];
        for (extra, refused) in cases {
            let h = headers(&[own.as_slice(), extra.as_slice()].concat());
            assert_eq!(is_cross_site(&Method::POST, &h), refused, "{extra:?}");
        }
    }

    #[test]
    fn form_tokens_belong_to_one_session() {
        let a = form_token("whs_session_a");
        assert_eq!(a, form_token("whs_session_a"));
        assert_ne!(a, form_token("whs_session_b"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("session"));
        assert!(same(&a, &a.clone()) && !same(&a, &a[1..]) && !same("ab", "ac"));
    }

    #[test]
    fn reads_and_bearer_calls_are_not_checked() {
        let evil = [("host", "wh"), ("origin", "http://evil.example")];
        assert!(!is_cross_site(&Method::GET, &headers(&evil)));
        let bearer = [evil.as_slice(), &[("authorization", "Bearer whs_x")]].concat();
        assert!(!is_cross_site(&Method::POST, &headers(&bearer)));
        assert!(is_cross_site(&Method::DELETE, &headers(&evil)));
    }
}
