//! Routes for idle detection (闲置发现): the agency's rules, a scan, and
//! the findings (scoped as asset reads: a unit's staff see their unit's).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::error::AppResult;
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::AppState;
use crate::idle_rules::*;
use crate::policy::Ctx;
use crate::store::idle_findings::FindingQuery;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/idle-rules", get(get_rules).put(put_rules))
        .route("/api/v1/idle-findings", get(list_findings))
        .route("/api/v1/idle-findings/scan", post(scan))
}

/// The idle-detection rules in force (the defaults until set).
#[utoipa::path(get, path = "/api/v1/idle-rules", tag = "idle",
    responses((status = 200, body = IdleRules), (status = 403, body = ErrorBody)))]
async fn get_rules(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<IdleRules>> {
    Ok(Json(state.store.idle_rules(ctx).await?))
}

/// Set the rules (administrators and approvers). Days absent turn that
/// rule off; days below one are refused naming the field.
#[utoipa::path(put, path = "/api/v1/idle-rules", tag = "idle", request_body = IdleRules,
    responses((status = 200, body = IdleRules), (status = 422, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn put_rules(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<IdleRules>,
) -> AppResult<Json<IdleRules>> {
    Ok(Json(state.store.set_idle_rules(ctx, body).await?))
}

/// Judge every asset now and record the findings (the server also does
/// this daily). A re-scan never duplicates an open finding; a finding
/// whose asset was seen, returned or taken closes.
#[utoipa::path(post, path = "/api/v1/idle-findings/scan", tag = "idle",
    responses((status = 200, body = ScanSummary), (status = 403, body = ErrorBody)))]
async fn scan(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<ScanSummary>> {
    Ok(Json(state.store.scan_idle(ctx).await?))
}

/// Idle findings, open first, longest idle first.
#[utoipa::path(get, path = "/api/v1/idle-findings", tag = "idle", params(FindingQuery),
    responses((status = 200, body = Vec<IdleFinding>), (status = 422, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_findings(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> AppResult<Json<Vec<IdleFinding>>> {
    Ok(Json(state.store.idle_findings(ctx, q).await?))
}

/// The idle-detection part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(get_rules, put_rules, scan, list_findings),
    components(schemas(IdleRules, IdleRule, IdleFinding, ScanSummary))
)]
pub struct IdleDoc;
