//! Register import (台账导入) and the register as a workbook: upload a
//! spreadsheet (multipart), dry run or import; `export.xlsx` beside
//! `export.csv`.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::{OpenApi, ToSchema};

use crate::error::{AppError, AppResult, Reason};
use crate::http::error::ErrorBody;
use crate::http::extract::ApiQuery;
use crate::http::respond;
use crate::http::AppState;
use crate::import::{ColumnUse, Mapping, Outcome, Problem};
use crate::policy::{asset_visibility, authorize, Action, Ctx, Scope};
use crate::register::AssetQuery;
use crate::store::ImportOptions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/assets/import",
            post(import_register).layer(axum::extract::DefaultBodyLimit::max(
                crate::import::MAX_REGISTER_BYTES,
            )),
        )
        .route("/api/v1/assets/export.xlsx", get(export_assets_xlsx))
}

/// The multipart form of an import.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The register: .xlsx, .xls, .ods, or CSV (UTF-8 with or without a
    /// BOM, or GBK).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `true`: check only, store nothing (the default); `false`: import.
    dry_run: Option<bool>,
    /// JSON object: a file heading → a field (`asset_number`, `name`,
    /// `category`, `model`, `original_value`, `purchase_date`, `unit`,
    /// `location`, `custodian`, `funding_source`, `notes`), or "" to ignore
    /// the column. Headings not named are recognised by their Chinese or
    /// English names and common synonyms.
    mapping: Option<String>,
    /// The warehouse whose locations `存放地点` names.
    warehouse_id: Option<i64>,
}

/// A 422 answer: the dry run's outcome with its problems (nothing
/// stored), or an error (no spreadsheet, a bad field of the form).
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ImportRefused {
    Problems(Outcome),
    Error(ErrorBody),
}

/// The form's fields, read.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub dry_run: bool,
    pub mapping: Mapping,
    pub warehouse_id: Option<i64>,
}

fn unreadable(e: &axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Reason::TooLarge {
            limit_bytes: 0,
            size: None,
        }
        .into()
    } else {
        AppError::bad_request(Reason::UploadUnreadable {
            detail: e.body_text(),
        })
    }
}

async fn read_upload(mut m: Multipart) -> AppResult<Upload> {
    let mut up = Upload {
        file_name: String::new(),
        bytes: Vec::new(),
        dry_run: true,
        mapping: Mapping::new(),
        warehouse_id: None,
    };
    let mut have_file = false;
    while let Some(field) = m.next_field().await.map_err(|e| unreadable(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            up.file_name = field.file_name().unwrap_or("file").to_owned();
            up.bytes = field.bytes().await.map_err(|e| unreadable(&e))?.to_vec();
            have_file = true;
            continue;
        }
        let text = field.text().await.map_err(|e| unreadable(&e))?;
        match name.as_str() {
            "dry_run" => {
                up.dry_run = match text.trim() {
                    "" | "true" | "1" | "on" => true,
                    "false" | "0" | "off" => false,
                    other => {
                        return Err(Reason::NotOneOf {
                            field: "dry_run".into(),
                            value: other.into(),
                            allowed: &["true", "false"],
                        }
                        .into())
                    }
                }
            }
            "mapping" if !text.trim().is_empty() => {
                up.mapping = serde_json::from_str(&text).map_err(|e| {
                    AppError::from(Reason::UploadUnreadable {
                        detail: format!("mapping: {e}"),
                    })
                })?
            }
            "warehouse_id" if !text.trim().is_empty() => {
                up.warehouse_id = Some(text.trim().parse().map_err(|_| {
                    AppError::from(Reason::BadId {
                        field: "warehouse_id".into(),
                        value: text.clone(),
                    })
                })?)
            }
            _ => {}
        }
    }
    if !have_file || up.bytes.is_empty() {
        return Err(Reason::NoFile.into());
    }
    Ok(up)
}

/// Dry run (the default) or import of a register. Every problem is listed
/// by row (as the spreadsheet numbers it) and column, with the value and
/// why (in Chinese in `message`); nothing is stored by a dry run, nor by
/// an import with any problem (422 with the same list). An import is one
/// transaction, idempotent on asset number: a row equal to the register
/// changes nothing, a changed row updates its asset with an `updated`
/// event, a new one is registered with its `registered` event.
#[utoipa::path(post, path = "/api/v1/assets/import", tag = "assets",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, body = Outcome), (status = 422, body = ImportRefused),
        (status = 403, body = ErrorBody)))]
async fn import_register(
    State(state): State<AppState>,
    ctx: Ctx,
    m: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    authorize(&ctx.actor, Action::CreateAsset, Scope::Warehouse)?;
    // A body that is no multipart form gets the API's error, not axum's text.
    let m = m.map_err(|r| {
        AppError::bad_request(Reason::UploadUnreadable {
            detail: r.body_text(),
        })
    })?;
    let up = read_upload(m).await?;
    let outcome = run_import(&state, ctx, up).await?;
    let status = if outcome.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(outcome)).into_response())
}

/// Reads the file and runs the dry run or import (pages share it).
pub async fn run_import(state: &AppState, ctx: Ctx, up: Upload) -> AppResult<Outcome> {
    let table = tokio::task::spawn_blocking(move || {
        crate::import::read_table(&up.file_name, &up.bytes).map(|t| (t, up))
    })
    .await??;
    let (table, up) = table;
    state
        .store
        .import_register(
            ctx,
            table,
            up.mapping,
            ImportOptions {
                dry_run: up.dry_run,
                warehouse_id: up.warehouse_id,
            },
        )
        .await
}

/// The register as a workbook (.xlsx): Chinese headings as the import
/// reads them, yuan as numbers (`#,##0.00`), dates as date cells, the
/// heading row frozen, a totals row. Same filters as the search.
#[utoipa::path(get, path = "/api/v1/assets/export.xlsx", tag = "assets", params(AssetQuery),
    responses((status = 200,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        body = String)))]
async fn export_assets_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AssetQuery>,
) -> AppResult<Response> {
    let data = state
        .store
        .export_assets_xlsx(q, asset_visibility(&ctx.actor))
        .await?;
    Ok(respond::attachment("资产台账.xlsx", XLSX, data))
}

/// The workbook's media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The import part of the OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(import_register, export_assets_xlsx),
    components(schemas(ImportForm, ImportRefused, Outcome, Problem, ColumnUse))
)]
pub struct ImportDoc;
