//! Routes for acquisitions (取得): every way an asset arrives besides the
//! purchase chain — transfer-in, donation, a dissolved body's leftovers,
//! confiscated and unclaimed property — with the source's document.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::acquisition::{
    AcquiredAsset, Acquisition, AcquisitionDocument, AssetSource, NewAcquisition, NewDocument,
};
use crate::error::AppResult;
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::policy::Ctx;
use crate::workflow::MAX_DOCUMENT_BYTES;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/acquisitions", post(create_acquisition))
        .route("/api/v1/acquisitions/{id}", get(get_acquisition))
        .route(
            "/api/v1/acquisitions/{id}/documents",
            post(upload_document).layer(axum::extract::DefaultBodyLimit::max(
                MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
}

/// Record an acquisition (keepers of the location's warehouse): its
/// source with the source's details, and one to 500 assets, created in
/// stock at `location_id`, each with its source and a `registered` event.
/// Every field's problem is named at once (`assets[2].category_id`);
/// nothing is stored unless all is right.
#[utoipa::path(post, path = "/api/v1/acquisitions", tag = "acquisitions",
    request_body = NewAcquisition,
    responses((status = 201, body = Acquisition), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_acquisition(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<NewAcquisition>,
) -> AppResult<(StatusCode, Json<Acquisition>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_acquisition(ctx, body, None).await?),
    ))
}

/// One acquisition with its assets and documents.
#[utoipa::path(get, path = "/api/v1/acquisitions/{id}", tag = "acquisitions",
    responses((status = 200, body = Acquisition), (status = 404, body = ErrorBody)))]
async fn get_acquisition(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Acquisition>> {
    Ok(Json(state.store.acquisition(ctx.actor, id).await?))
}

/// Attach the source's document (transfer order, donation agreement,
/// decision) as the raw body with its Content-Type: PDF, PNG, JPEG or
/// WebP, at most 5 MiB. Downloaded at `/api/v1/documents/{id}`.
#[utoipa::path(post, path = "/api/v1/acquisitions/{id}/documents", tag = "acquisitions",
    params(crate::http::api::workflow::UploadQuery),
    request_body(content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"),
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
    responses((status = 201, body = Acquisition), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_document(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<crate::http::api::workflow::UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<(StatusCode, Json<Acquisition>)> {
    let (filename, content_type, data) =
        crate::http::api::workflow::uploaded_document(&q, &headers, body)?;
    let doc = NewDocument {
        filename,
        content_type,
        data,
    };
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .add_acquisition_document(ctx.actor, id, doc)
                .await?,
        ),
    ))
}

/// The acquisitions part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(create_acquisition, get_acquisition, upload_document),
    components(schemas(
        Acquisition,
        AcquisitionDocument,
        AcquiredAsset,
        AssetSource,
        NewAcquisition
    ))
)]
pub struct AcquisitionsDoc;
