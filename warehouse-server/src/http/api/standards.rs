//! Routes for configuration standards (配置标准): the standards per
//! category, units' staff counts and the agency head mark (administrators
//! set them), and the over-standard requests report. The extra approval
//! itself is a request step (`approve_over_standard`, see the requests).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::error::{AppResult, Reason};
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::policy::{Actor, Ctx};
use crate::standards::{Excess, NewStandard, OverStandard, StaffCount, Standard};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/standards", get(list_standards))
        .route("/api/v1/categories/{id}/standard", put(set_standard))
        .route("/api/v1/units/{id}/staff-count", put(set_staff_count))
        .route("/api/v1/users/{id}/agency-head", put(set_agency_head))
        .route("/api/v1/reports/over-standard", get(over_standard))
}

fn people_only(ctx: &Ctx) -> AppResult<()> {
    match ctx.actor {
        Actor::User { .. } => Ok(()),
        _ => Err(Reason::PeopleOnly.into()),
    }
}

/// Every category's standard (everyone may read them: units file against them).
#[utoipa::path(get, path = "/api/v1/standards", tag = "standards",
    responses((status = 200, body = Vec<Standard>), (status = 403, body = ErrorBody)))]
async fn list_standards(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<Standard>>> {
    people_only(&ctx)?;
    Ok(Json(state.store.standards().await?))
}

/// Sets a category's standard (administrators); all fields empty removes
/// it. Answers the standard now in force (`null`: none).
#[utoipa::path(put, path = "/api/v1/categories/{id}/standard", tag = "standards",
    request_body = NewStandard,
    responses((status = 200, body = Option<Standard>), (status = 422, body = ErrorBody)))]
async fn set_standard(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewStandard>,
) -> AppResult<Json<Option<Standard>>> {
    Ok(Json(state.store.set_standard(ctx, id, body).await?))
}

/// Sets a unit's staff count (编制人数), which per-staff standards use.
#[utoipa::path(put, path = "/api/v1/units/{id}/staff-count", tag = "standards",
    request_body = StaffCount,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn set_staff_count(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StaffCount>,
) -> AppResult<StatusCode> {
    state
        .store
        .set_staff_count(ctx, id, body.staff_count)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether an approver is the agency head (局长), who gives the extra
/// approval of over-standard requests.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyHead {
    pub agency_head: bool,
}

/// Marks an approver as the agency head, or not (administrators).
#[utoipa::path(put, path = "/api/v1/users/{id}/agency-head", tag = "standards",
    request_body = AgencyHead,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn set_agency_head(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AgencyHead>,
) -> AppResult<StatusCode> {
    state
        .store
        .set_agency_head(ctx, id, body.agency_head)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverStandardQuery {
    /// Only those still waiting for the agency head's extra approval.
    pub open: Option<bool>,
}

/// 超标准申请: requests beyond the configuration standard with their
/// numbers and the agency head's extra approval (who, when), or who must
/// act while it waits; a unit's staff see their own unit's.
#[utoipa::path(get, path = "/api/v1/reports/over-standard", tag = "standards",
    params(OverStandardQuery),
    responses((status = 200, body = Vec<OverStandard>), (status = 403, body = ErrorBody)))]
async fn over_standard(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<OverStandardQuery>,
) -> AppResult<Json<Vec<OverStandard>>> {
    people_only(&ctx)?;
    Ok(Json(
        state
            .store
            .over_standard_requests(ctx.actor, q.open.unwrap_or(false))
            .await?,
    ))
}

/// The standards part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_standards,
        set_standard,
        set_staff_count,
        set_agency_head,
        over_standard
    ),
    components(schemas(Standard, NewStandard, StaffCount, AgencyHead, Excess, OverStandard))
)]
pub struct StandardsDoc;
