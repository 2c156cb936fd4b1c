//! Responses and request headers both layers share: the one cookie
//! parser, the one session-cookie builder, CSV and attachment downloads,
//! and percent-encoding for URLs and file names.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "wh_session";

/// Every `name=value` pair of the request's `Cookie` headers, in order.
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
}

/// The first cookie called `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The `Set-Cookie` value for a session: `Some(token)` starts one that
/// lasts `max_age_secs`, `None` ends it in the browser.
pub fn session_cookie(token: Option<&str>, max_age_secs: i64, secure: bool) -> String {
    let (value, max_age) = match token {
        Some(t) => (t, max_age_secs),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}")
}

/// Adds a `Set-Cookie` header (several may be set on one response).
pub fn set_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// RFC 3986 unreserved bytes stay; everything else is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`COMPONENT`], but `/` stays: a path kept readable in a query.
const PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// Percent-encodes `s` for a query value or a file name.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Percent-encodes a path for a query value, leaving its slashes.
pub fn percent_encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// A CSV download named `name`.
pub fn csv(name: &str, body: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (headers, body).into_response()
}

/// A stored file, always as an attachment (never rendered inline), its
/// name given both as ASCII and as UTF-8 (RFC 6266 / 5987).
pub fn attachment(filename: &str, content_type: &str, data: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(filename);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (headers, data).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_across_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; lang=en"));
        h.append(header::COOKIE, HeaderValue::from_static("wh_session=tok"));
        assert_eq!(cookie(&h, "lang"), Some("en"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(cookies(&h).count(), 3);
    }

    #[test]
    fn session_cookie_starts_and_ends() {
        assert_eq!(
            session_cookie(Some("t"), 60, true),
            "wh_session=t; HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure"
        );
        assert_eq!(
            session_cookie(None, 60, false),
            "wh_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn encoding_keeps_unreserved_bytes() {
        assert_eq!(percent_encode("a b/ü-_.~"), "a%20b%2F%C3%BC-_.~");
        assert_eq!(percent_encode_path("/x?q=1"), "/x%3Fq%3D1");
    }
}
