//! Routes for kits (套装): the catalogue of kits, making one, taking one
//! apart. Loans and allocations name kits by `kit_ids` (see the requests).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::error::{AppResult, Reason};
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::AppState;
use crate::kits::{Kit, KitMember, NewKit};
use crate::policy::{Actor, Ctx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/kits", get(list_kits).post(create_kit))
        .route("/api/v1/kits/{id}", get(get_kit))
        .route("/api/v1/kits/{id}/retire", post(retire_kit))
}

/// The kit catalogue is the stock's: every person may read it (units
/// choose kits to borrow); reader daemons may not.
fn people_only(ctx: &Ctx) -> AppResult<()> {
    match ctx.actor {
        Actor::User { .. } => Ok(()),
        _ => Err(Reason::PeopleOnly.into()),
    }
}

/// Kits in use, each with its members and whether it can be lent now.
#[utoipa::path(get, path = "/api/v1/kits", tag = "kits",
    responses((status = 200, body = Vec<Kit>), (status = 403, body = ErrorBody)))]
async fn list_kits(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<Kit>>> {
    people_only(&ctx)?;
    Ok(Json(state.store.kits().await?))
}

/// One kit (also a retired one).
#[utoipa::path(get, path = "/api/v1/kits/{id}", tag = "kits",
    responses((status = 200, body = Kit), (status = 404, body = ErrorBody)))]
async fn get_kit(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Kit>> {
    people_only(&ctx)?;
    Ok(Json(state.store.kit(id).await?))
}

/// Make a kit of in-stock assets in no other kit (keepers of the assets'
/// warehouses).
#[utoipa::path(post, path = "/api/v1/kits", tag = "kits", request_body = NewKit,
    responses((status = 201, body = Kit), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_kit(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<NewKit>,
) -> AppResult<(StatusCode, Json<Kit>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_kit(ctx, body).await?),
    ))
}

/// Take a kit apart (not while an open request holds it); its members
/// are single assets again.
#[utoipa::path(post, path = "/api/v1/kits/{id}/retire", tag = "kits",
    responses((status = 200, body = Kit), (status = 409, body = ErrorBody)))]
async fn retire_kit(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Kit>> {
    Ok(Json(state.store.retire_kit(ctx, id).await?))
}

/// The kits part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(list_kits, get_kit, create_kit, retire_kit),
    components(schemas(Kit, KitMember, NewKit))
)]
pub struct KitsDoc;
