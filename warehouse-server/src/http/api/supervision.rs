//! Supervision (监督): the open warnings of the caller's reach (预警), the
//! audit log of what auditors read, and the trail export of an asset or a
//! unit over a period (Excel; the same period's EPCIS events are at
//! `/api/v1/epcis/events` with `MATCH_epc`, `GE_eventTime`, `LT_eventTime`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::audit::{AuditRead, TrailQuery};
use crate::error::AppResult;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiQuery;
use crate::http::respond;
use crate::http::AppState;
use crate::paging::{Page, Paging};
use crate::policy::{authorize, Action, Ctx, Scope};
use crate::warnings::{Board, KindCount, Subject, SubjectKind, Warning, WarningKind, WhoActs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/warnings", get(warnings))
        .route("/api/v1/audit/reads", get(audit_reads))
        .route("/api/v1/audit/trail.xlsx", get(trail_xlsx))
}

/// `?kind=`: one kind of warning only.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WarningQuery {
    /// `chain_broken`, `gate_alarm`, `loss_case`, `overdue_loan`,
    /// `idle_finding` or `over_standard`.
    pub kind: Option<String>,
}

/// The open warnings (预警) of the caller's reach — regions in reach,
/// unit staff their own unit — each with who must act; the count of each
/// kind first (whatever `kind` filters).
#[utoipa::path(get, path = "/api/v1/warnings", tag = "supervision", params(WarningQuery),
    responses((status = 200, body = Board), (status = 422, body = ErrorBody)))]
async fn warnings(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<WarningQuery>,
) -> AppResult<Json<Board>> {
    let kind = crate::warnings::kind_asked(q.kind.as_deref())?;
    let all = state.store.open_warnings().await?;
    Ok(Json(crate::warnings::board(all, &ctx.actor, kind)))
}

/// `?username=`: one auditor's reads only.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub username: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The audit log: what auditors read (who, when, path, subject), newest
/// first. Administrators and auditors.
#[utoipa::path(get, path = "/api/v1/audit/reads", tag = "supervision", params(AuditQuery),
    responses((status = 200, body = Page<AuditRead>), (status = 403, body = ErrorBody)))]
async fn audit_reads(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditRead>>> {
    authorize(&ctx.actor, Action::ViewAuditLog, Scope::Global)?;
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let who = q.username.filter(|u| !u.trim().is_empty());
    Ok(Json(state.store.audit_reads(who, page).await?))
}

/// The trail of one asset (its chain events and the steps of every request
/// that named it) or one unit (the events of every asset it holds or its
/// requests named, and its requests' steps) over a period, as a workbook.
/// Auditors and administrators, within their reach.
#[utoipa::path(get, path = "/api/v1/audit/trail.xlsx", tag = "supervision", params(TrailQuery),
    responses((status = 200, description = "the trail (.xlsx)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn trail_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> AppResult<Response> {
    let (file, data) = crate::audit::export_trail(&state.store, &ctx.actor, &q).await?;
    Ok(respond::attachment(&file, super::import::XLSX, data))
}

/// The supervision part of the OpenAPI document (merged into the whole).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(warnings, audit_reads, trail_xlsx),
    components(schemas(
        Board,
        KindCount,
        Warning,
        WarningKind,
        Subject,
        SubjectKind,
        WhoActs,
        AuditRead
    ))
)]
pub struct SupervisionDoc;
