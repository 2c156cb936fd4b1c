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

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Reason};

/// Whether a request that a browser could have sent for another site is
/// to be refused.
pub fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    let changes = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !changes || headers.contains_key(header::AUTHORIZATION) {
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
        return AppError::from(Reason::CrossSite).into_response();
    }
    next.run(req).await
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
    fn reads_and_bearer_calls_are_not_checked() {
        let evil = [("host", "wh"), ("origin", "http://evil.example")];
        assert!(!is_cross_site(&Method::GET, &headers(&evil)));
        let bearer = [evil.as_slice(), &[("authorization", "Bearer whs_x")]].concat();
        assert!(!is_cross_site(&Method::POST, &headers(&bearer)));
        assert!(is_cross_site(&Method::DELETE, &headers(&evil)));
    }
}
