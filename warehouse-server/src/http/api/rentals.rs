//! Routes for rentals (管理+租用): suppliers, rental contracts with their
//! temporarily tagged items, desk scans out and back, return to the
//! supplier.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::error::{AppResult, Reason};
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::policy::{Actor, Ctx};
use crate::rentals::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/suppliers",
            get(list_suppliers).post(create_supplier),
        )
        .route("/api/v1/rentals", get(list_rentals).post(create_rental))
        .route("/api/v1/rentals/{id}", get(get_rental))
        .route("/api/v1/rentals/{id}/check-out", post(check_out))
        .route("/api/v1/rentals/{id}/return", post(take_back))
        .route("/api/v1/rentals/{id}/return-to-supplier", post(to_supplier))
}

fn people_only(ctx: &Ctx) -> AppResult<()> {
    match ctx.actor {
        Actor::User { .. } => Ok(()),
        _ => Err(Reason::PeopleOnly.into()),
    }
}

/// Registered rental suppliers.
#[utoipa::path(get, path = "/api/v1/suppliers", tag = "rentals",
    responses((status = 200, body = Vec<Supplier>), (status = 403, body = ErrorBody)))]
async fn list_suppliers(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<Supplier>>> {
    people_only(&ctx)?;
    Ok(Json(state.store.suppliers().await?))
}

/// Register a rental supplier (keepers).
#[utoipa::path(post, path = "/api/v1/suppliers", tag = "rentals", request_body = NewSupplier,
    responses((status = 201, body = Supplier), (status = 409, body = ErrorBody)))]
async fn create_supplier(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<NewSupplier>,
) -> AppResult<(StatusCode, Json<Supplier>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_supplier(ctx, body).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RentalQuery {
    /// The loan (event) the rentals serve.
    pub request_id: Option<i64>,
    /// Only rentals not yet back with their supplier.
    #[serde(default)]
    pub open: bool,
}

/// Rental contracts, newest first.
#[utoipa::path(get, path = "/api/v1/rentals", tag = "rentals", params(RentalQuery),
    responses((status = 200, body = Vec<Rental>), (status = 403, body = ErrorBody)))]
async fn list_rentals(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<RentalQuery>,
) -> AppResult<Json<Vec<Rental>>> {
    people_only(&ctx)?;
    Ok(Json(state.store.rentals(q.request_id, q.open).await?))
}

/// Record a rental as its items arrive, each with its temporary tag
/// (keepers). Rented items never enter the register.
#[utoipa::path(post, path = "/api/v1/rentals", tag = "rentals", request_body = NewRental,
    responses((status = 201, body = Rental), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_rental(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<NewRental>,
) -> AppResult<(StatusCode, Json<Rental>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_rental(ctx, body).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/rentals/{id}", tag = "rentals",
    responses((status = 200, body = Rental), (status = 404, body = ErrorBody)))]
async fn get_rental(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Rental>> {
    people_only(&ctx)?;
    Ok(Json(state.store.rental(id).await?))
}

/// Rented items scanned out at the desk with the event.
#[utoipa::path(post, path = "/api/v1/rentals/{id}/check-out", tag = "rentals",
    request_body = RentalScan, responses((status = 200, body = Rental), (status = 409, body = ErrorBody)))]
async fn check_out(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RentalScan>,
) -> AppResult<Json<Rental>> {
    Ok(Json(
        state
            .store
            .move_rental_items(ctx, id, RentalMove::Out, body)
            .await?,
    ))
}

/// Rented items scanned back at the desk from the event.
#[utoipa::path(post, path = "/api/v1/rentals/{id}/return", tag = "rentals",
    request_body = RentalScan, responses((status = 200, body = Rental), (status = 409, body = ErrorBody)))]
async fn take_back(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RentalScan>,
) -> AppResult<Json<Rental>> {
    Ok(Json(
        state
            .store
            .move_rental_items(ctx, id, RentalMove::Back, body)
            .await?,
    ))
}

/// Every item goes back to the supplier; the rental closes.
#[utoipa::path(post, path = "/api/v1/rentals/{id}/return-to-supplier", tag = "rentals",
    responses((status = 200, body = Rental), (status = 409, body = ErrorBody)))]
async fn to_supplier(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Rental>> {
    Ok(Json(state.store.return_rental(ctx, id).await?))
}

/// The rentals part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_suppliers,
        create_supplier,
        list_rentals,
        create_rental,
        get_rental,
        check_out,
        take_back,
        to_supplier
    ),
    components(schemas(
        Supplier,
        NewSupplier,
        Rental,
        RentalItem,
        NewRental,
        NewRentalItem,
        RentalScan
    ))
)]
pub struct RentalsDoc;
