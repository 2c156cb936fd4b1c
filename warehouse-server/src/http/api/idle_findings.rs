//! Routes for idle detection and accountability (闲置发现与问责): the
//! agency's rules, a scan, the findings (scoped as asset reads: a unit's
//! staff see their unit's), a unit's answer, the agency's reclaim order,
//! and a unit's mark that a held asset is unused.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::error::AppResult;
use crate::http::error::ErrorBody;
use crate::http::extract::{parse_tagged, ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::idle_rules::*;
use crate::policy::Ctx;
use crate::register::Asset;
use crate::store::idle_findings::FindingQuery;
use crate::store::UnusedMark;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/idle-rules", get(get_rules).put(put_rules))
        .route("/api/v1/idle-findings", get(list_findings))
        .route("/api/v1/idle-findings/scan", post(scan))
        .route("/api/v1/idle-findings/{id}", get(get_finding))
        .route("/api/v1/idle-findings/{id}/answer", post(answer))
        .route("/api/v1/idle-findings/{id}/reclaim", post(reclaim))
        .route("/api/v1/assets/{id}/usage", post(mark_usage))
        .route("/api/v1/unused-marks", get(unused_marks))
}

/// One finding with every step taken on it (who, when, what).
#[utoipa::path(get, path = "/api/v1/idle-findings/{id}", tag = "idle",
    responses((status = 200, body = IdleFinding), (status = 404, body = ErrorBody)))]
async fn get_finding(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<IdleFinding>> {
    Ok(Json(state.store.idle_finding(ctx, id).await?))
}

/// The unit answers its finding by the deadline: `explain` (text), `list`
/// (in the virtual warehouse) or `hand_in` (files an intake request).
/// Keepers answer warehouse stock's findings (explain only).
#[utoipa::path(post, path = "/api/v1/idle-findings/{id}/answer", tag = "idle",
    request_body = Answer,
    responses((status = 200, body = IdleFinding), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> AppResult<Json<IdleFinding>> {
    let body = parse_tagged::<Answer, AnswerByName>(body, "action")?;
    Ok(Json(state.store.answer_idle_finding(ctx, id, body).await?))
}

/// The agency orders the asset reclaimed (收回, approvers): an intake
/// request filed for the unit and approved at once, which the unit cannot
/// withdraw; the keeper receives it at the desk.
#[utoipa::path(post, path = "/api/v1/idle-findings/{id}/reclaim", tag = "idle",
    request_body = ReclaimOrder,
    responses((status = 200, body = IdleFinding), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn reclaim(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReclaimOrder>,
) -> AppResult<Json<IdleFinding>> {
    Ok(Json(state.store.order_reclaim(ctx, id, body).await?))
}

/// The holding unit marks an asset unused (闲置, `unused: true`) or in
/// use again; an asset marked unused for the agency's days is idle.
#[utoipa::path(post, path = "/api/v1/assets/{id}/usage", tag = "idle",
    request_body = UsageMark,
    responses((status = 200, body = Asset), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn mark_usage(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UsageMark>,
) -> AppResult<Json<Asset>> {
    Ok(Json(state.store.mark_usage(ctx, id, body).await?))
}

/// Assets marked unused by their units (unit staff: their unit's).
#[utoipa::path(get, path = "/api/v1/unused-marks", tag = "idle",
    responses((status = 200, body = Vec<UnusedMark>), (status = 403, body = ErrorBody)))]
async fn unused_marks(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<UnusedMark>>> {
    Ok(Json(state.store.unused_marks(ctx).await?))
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
    paths(
        get_rules,
        put_rules,
        scan,
        list_findings,
        get_finding,
        answer,
        reclaim,
        mark_usage,
        unused_marks
    ),
    components(schemas(
        IdleRules,
        IdleRule,
        IdleFinding,
        ScanSummary,
        Answer,
        ReclaimOrder,
        UsageMark,
        UnusedMark,
        Outcome,
        MustAct,
        FindingStep
    ))
)]
pub struct IdleDoc;
