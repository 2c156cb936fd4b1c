//! Extractors whose rejections are [`AppError`]s, so malformed JSON, wrong
//! types, missing fields, oversized bodies, bad path/query parameters and
//! missing credentials all answer in the one error format; and [`Ctx`],
//! the authenticated actor plus request id (where auditors' writes are
//! refused and their reads recorded).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::respond::{cookie, SESSION_COOKIE};
use super::{AppState, RequestId};
use crate::error::{AppError, Reason};
use crate::policy::Ctx;

/// JSON body with errors that name the problem.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Turns a serde_json error into 400 (unreadable) or 422 (wrong shape),
/// naming the field.
pub fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = e.path().to_string();
    data_error(&path, e.into_inner())
}

/// [`json_error`] for an error found at `path` (`.`-separated).
fn data_error(path: &str, inner: serde_json::Error) -> AppError {
    use serde_json::error::Category;
    let path = if path.is_empty() { "." } else { path };
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => Reason::MalformedJson {
            detail: inner.to_string(),
        }
        .into(),
        Category::Data => {
            let msg = inner.to_string();
            // serde reports missing/unknown fields at the parent's path.
            let named = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"));
            // Unknown fields already end the path; missing ones do not.
            let field = match (named, path) {
                (Some(f), "." | "") => f.to_owned(),
                (Some(f), p) if p == f || p.ends_with(&format!(".{f}")) => p.to_owned(),
                (Some(f), p) => format!("{p}.{f}"),
                (None, p) => p.to_owned(),
            };
            Reason::BadField { field, detail: msg }.into()
        }
    }
}

/// An internally tagged body (`{"action": "approve", …}`) as `Tagged`,
/// with errors that name the field: serde loses the path inside such an
/// enum (a wrong type reports `"."`), so a refused body is read again as
/// `ByName`, the same variants externally tagged (`{"approve": {…}}`),
/// whose path serde_path_to_error follows; the variant's segment is dropped
/// from the name. Other errors (missing or unknown tag) stay as they were.
pub fn parse_tagged<Tagged, ByName>(value: serde_json::Value, tag: &str) -> Result<Tagged, AppError>
where
    Tagged: DeserializeOwned,
    ByName: DeserializeOwned + Into<Tagged>,
{
    let first = match serde_path_to_error::deserialize(&value) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let reshaped = match &value {
        serde_json::Value::Object(map) => match map.get(tag) {
            Some(serde_json::Value::String(variant)) => {
                let mut rest = map.clone();
                rest.remove(tag);
                Some(serde_json::json!({ variant.as_str(): rest }))
            }
            _ => None,
        },
        _ => None,
    };
    if first.path().iter().next().is_none() {
        if let Some(reshaped) = reshaped {
            if let Err(e) = serde_path_to_error::deserialize::<_, ByName>(&reshaped) {
                // serde_path_to_error's own rendering, less the variant.
                let mut inner_path = String::new();
                for segment in e.path().iter().skip(1) {
                    let seq = matches!(segment, serde_path_to_error::Segment::Seq { .. });
                    if !seq && !inner_path.is_empty() {
                        inner_path.push('.');
                    }
                    inner_path.push_str(&segment.to_string());
                }
                return Err(data_error(&inner_path, e.into_inner()));
            }
        }
    }
    Err(json_error(first))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(json_error)?;
    Ok(value)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(Reason::NotJson.into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| -> AppError {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Reason::BodyTooLarge.into()
                } else {
                    Reason::BadBody {
                        detail: e.to_string(),
                    }
                    .into()
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Path parameters; a bad one is 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| {
                Reason::BadPath {
                    detail: e.body_text(),
                }
                .into()
            })
    }
}

/// Query string; unknown or mistyped parameters are 400 naming them.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                Reason::BadQuery {
                    detail: e.body_text(),
                }
                .into()
            })
    }
}

/// The bearer token or session cookie of a request, if any.
pub fn credential(parts: &Parts) -> Option<String> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let text = auth.to_str().ok()?;
        return text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .map(|t| t.trim().to_owned());
    }
    cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned)
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = credential(parts).ok_or(Reason::NotLoggedIn)?;
        let actor = state
            .store
            .actor_for_token(token)
            .await?
            .ok_or(Reason::SessionExpired)?;
        // Auditors: every write refused here, for every route; every read
        // recorded here, so no handler can forget either.
        crate::policy::refuse_writes(&actor, parts.method.is_safe(), parts.uri.path())?;
        if let crate::policy::Actor::User { id, username, .. } = &actor {
            if crate::policy::reads_are_recorded(&actor) {
                let path = parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
                state
                    .store
                    .record_read(*id, username.clone(), parts.method.to_string(), path)
                    .await?;
            }
        }
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        Ok(Ctx { actor, request_id })
    }
}

/// The peer's address, as the accept loop saw it (`serving::run` puts it on
/// every request). Missing only when the router is driven without that
/// loop; then every caller counts as one unspecified address, which
/// throttles more, never less.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip()),
        ))
    }
}
