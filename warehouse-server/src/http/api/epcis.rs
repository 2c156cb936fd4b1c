//! The EPCIS 2.0 query route: `GET /api/v1/epcis/events` answers an
//! EPCISQueryDocument (JSON-LD) of the events the caller may see, one page
//! at a time; the next page's URL is in the `Link` header (`rel="next"`,
//! with `nextPageToken`), as the EPCIS 2.0 REST binding pages. The
//! mapping: `crate::epcis`, `docs/epcis.md`.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::epcis::RawQuery;
use crate::error::AppResult;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiQuery;
use crate::http::AppState;
use crate::policy::{asset_visibility, authorize, Action, Ctx, Scope, Visibility};
use crate::time::now_ms;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/epcis/events", get(events))
}

/// The path of this route, for the `Link` header.
const PATH: &str = "/api/v1/epcis/events";

/// EPCIS 2.0 events (ObjectEvent, AggregationEvent) of the assets the
/// caller may see, as an EPCISQueryDocument. Paged by `nextPageToken`
/// (`perPage` events a page); the next page's URL is in the `Link`
/// header with `rel="next"`, absent on the last page. A bad parameter is
/// a 400 whose `field` names it.
#[utoipa::path(get, path = "/api/v1/epcis/events", tag = "epcis", params(RawQuery),
    responses(
        (status = 200, description = "an EPCISQueryDocument (GS1 EPCIS 2.0 JSON-LD)",
            body = serde_json::Value,
            headers(("Link" = String, description = "`<…?nextPageToken=…>; rel=\"next\"` while more pages follow"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(raw): ApiQuery<RawQuery>,
) -> AppResult<Response> {
    let vis = asset_visibility(&ctx.actor);
    if vis == Visibility::Nothing {
        authorize(&ctx.actor, Action::ViewAsset, Scope::Warehouse)?;
    }
    let q = raw.check()?;
    let (events, next) = state.store.epcis_page(q, vis).await?;
    let doc = crate::epcis::query_document(events, now_ms());
    let mut response = Json(doc).into_response();
    let headers = response.headers_mut();
    headers.insert("GS1-EPCIS-Version", HeaderValue::from_static("2.0.0"));
    headers.insert("GS1-CBV-Version", HeaderValue::from_static("2.0.0"));
    if let Some(next) = next {
        let link = format!("<{}>; rel=\"next\"", next_url(&raw, &next.token()));
        if let Ok(v) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// The same query with `nextPageToken` set to `token`.
fn next_url(raw: &RawQuery, token: &str) -> String {
    let pairs = [
        ("eventType", &raw.event_type),
        ("GE_eventTime", &raw.ge_event_time),
        ("LT_eventTime", &raw.lt_event_time),
        ("MATCH_epc", &raw.match_epc),
        ("EQ_bizStep", &raw.eq_biz_step),
        ("perPage", &raw.per_page),
    ];
    let mut url = format!("{PATH}?nextPageToken={token}");
    for (name, value) in pairs {
        if let Some(v) = value {
            url.push('&');
            url.push_str(name);
            url.push('=');
            url.push_str(&crate::http::respond::percent_encode(v));
        }
    }
    url
}

/// The EPCIS part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(paths(events))]
pub struct EpcisDoc;
