//! Routes for the lifecycle: requests and their steps, the inbox, the
//! virtual warehouse, repairs and finds, attachments and reports.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{AppError, AppResult, Reason};
use crate::http::error::ErrorBody;
use crate::http::extract::{parse_tagged, ApiJson, ApiPath, ApiQuery};
use crate::http::respond;
use crate::http::AppState;
use crate::paging::{Page, Paging};
use crate::policy::{authorize, Action, Ctx, Scope};
use crate::register::Asset;
use crate::store::{
    report_to_csv, Availability, Listing, PurchaseMatches, Report, ReportScope, RequestQuery,
    MAX_AVAILABILITY_DAYS, REPORTS,
};
use crate::workflow::{
    check_document, clean_filename, DocumentInfo, NewProcurement, NewRequest, Procurement, Request,
    StepBody, StepBodyByName, StepOutcome, MAX_DOCUMENT_BYTES,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests", get(list_requests).post(create_request))
        .route("/api/v1/requests/{id}", get(get_request))
        .route("/api/v1/requests/{id}/steps", post(take_step))
        .route("/api/v1/procurements", post(procure_together))
        .route("/api/v1/requests/{id}/matches", get(purchase_matches))
        .route(
            "/api/v1/requests/{id}/reservation.ics",
            get(reservation_ics),
        )
        .route("/api/v1/availability", get(availability))
        .route(
            "/api/v1/requests/{id}/documents",
            get(list_documents).post(upload_document).layer(
                // Room for a file just over the limit, so the answer is
                // a clear 413 from `check_document`, not a dropped connection.
                axum::extract::DefaultBodyLimit::max(MAX_DOCUMENT_BYTES + 64 * 1024),
            ),
        )
        .route("/api/v1/documents/{id}", get(download_document))
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/loans/overdue", get(overdue_loans))
        .route(
            "/api/v1/assets/{id}/idle-listing",
            post(list_idle).delete(unlist_idle),
        )
        .route("/api/v1/virtual-warehouse", get(virtual_warehouse))
        .route("/api/v1/assets/{id}/repaired", post(repaired))
        .route("/api/v1/assets/{id}/found", post(found))
        .route("/api/v1/reports", get(list_reports))
        .route("/api/v1/reports/{name}", get(report))
        .route("/api/v1/cockpit", get(cockpit))
}

/// File a request. Unit staff file for their unit; keepers file disposal
/// and damage reports for warehouse stock.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = NewRequest,
    responses((status = 201, body = Request), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_request(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(new): ApiJson<NewRequest>,
) -> AppResult<(StatusCode, Json<Request>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_request(ctx, new).await?),
    ))
}

/// 集中采购 — buy several approved purchases (each at stage
/// `procurement`) under one contract: one supplier, contract number and
/// purchase date, a unit price per request. The approver records one
/// procurement batch and each request takes its own `procure` step (an
/// over-budget one goes to finance). All or nothing: a request not at
/// procurement or out of reach is named and nothing changes; a contract
/// number another procurement has is refused (409 `contract_number_used`).
#[utoipa::path(post, path = "/api/v1/procurements", tag = "requests",
    request_body = NewProcurement,
    responses((status = 201, body = Procurement), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn procure_together(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(p): ApiJson<NewProcurement>,
) -> AppResult<(StatusCode, Json<Procurement>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.procure_together(ctx, p).await?),
    ))
}

/// Requests the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(RequestQuery),
    responses((status = 200, body = Page<Request>)))]
async fn list_requests(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> AppResult<Json<Page<Request>>> {
    Ok(Json(state.store.requests(ctx.actor, q).await?))
}

/// What awaits the caller's role (unit staff: their unit's receipts).
#[utoipa::path(get, path = "/api/v1/inbox", tag = "requests", params(Paging),
    responses((status = 200, body = Page<Request>)))]
async fn inbox(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<Request>>> {
    let q = RequestQuery {
        mine: Some(true),
        page: p.page,
        per_page: p.per_page,
        ..RequestQuery::default()
    };
    Ok(Json(state.store.requests(ctx.actor, q).await?))
}

/// Loans past their due date with items still out.
#[utoipa::path(get, path = "/api/v1/loans/overdue", tag = "requests", params(Paging),
    responses((status = 200, body = Page<Request>)))]
async fn overdue_loans(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<Request>>> {
    let q = RequestQuery {
        kind: Some("loan".into()),
        overdue: Some(true),
        page: p.page,
        per_page: p.per_page,
        ..RequestQuery::default()
    };
    Ok(Json(state.store.requests(ctx.actor, q).await?))
}

/// A request with its items, steps and documents.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    responses((status = 200, body = Request), (status = 404, body = ErrorBody)))]
async fn get_request(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Request>> {
    Ok(Json(state.store.request(ctx.actor, id).await?))
}

/// Take the next step: `{"action": "approve" | "reject" | "withdraw" |
/// "fulfil" | "procure" | "receive" | "check_out" | "confirm_receipt" |
/// "return_items" | "appraise" | "record_sale" | "confirm_remittance" |
/// "decide_cause" | "confirm_payment", …}`. A wrong role is 403, a wrong
/// stage 409 naming the stage.
#[utoipa::path(post, path = "/api/v1/requests/{id}/steps", tag = "requests", request_body = StepBody,
    responses((status = 200, body = StepOutcome), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn take_step(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> AppResult<Json<StepOutcome>> {
    let body = parse_tagged::<StepBody, StepBodyByName>(body, "action")?;
    Ok(Json(state.store.take_step(ctx, id, body).await?))
}

/// For a purchase: in-stock items and idle listings that could fulfil it.
#[utoipa::path(get, path = "/api/v1/requests/{id}/matches", tag = "requests",
    responses((status = 200, body = PurchaseMatches)))]
async fn purchase_matches(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<PurchaseMatches>> {
    Ok(Json(state.store.purchase_matches(ctx.actor, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    pub category_id: i64,
    /// Narrow to one warehouse's items (default: the network).
    pub warehouse_id: Option<i64>,
    /// First day, YYYY-MM-DD (default: today).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD, included (default: 30 days after `from`;
    /// at most 366 days in all).
    pub to: Option<String>,
}

/// The span of days a calendar query asks for: `from` (default today) to
/// `to` (default 30 days on), at most [`MAX_AVAILABILITY_DAYS`].
pub fn day_span(
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<(chrono::NaiveDate, chrono::NaiveDate)> {
    use crate::input::parse_date;
    let day = |field: &str, v: Option<&str>| -> AppResult<Option<chrono::NaiveDate>> {
        Ok(parse_date(field, v)?
            .and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()))
    };
    let from = match day("from", from)? {
        Some(d) => d,
        None => day("from", Some(&crate::time::shanghai_today()))?.unwrap_or_default(),
    };
    let to = day("to", to)?.unwrap_or(from + chrono::Days::new(30));
    let span = (to - from).num_days() + 1;
    if !(1..=MAX_AVAILABILITY_DAYS).contains(&span) {
        return Err(AppError::from(Reason::OutOfRange {
            field: "to".into(),
            min: 1,
            max: MAX_AVAILABILITY_DAYS,
        })
        .with_field("to"));
    }
    Ok((from, to))
}

/// 档期 — per day, how many items of a category are in the pool,
/// reserved (approved loans not yet out), out, under repair and free,
/// with the bookings occupying those days.
#[utoipa::path(get, path = "/api/v1/availability", tag = "requests", params(AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn availability(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> AppResult<Json<Availability>> {
    authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
    let (from, to) = day_span(q.from.as_deref(), q.to.as_deref())?;
    Ok(Json(
        state
            .store
            .availability(q.category_id, q.warehouse_id, from, to)
            .await?,
    ))
}

/// A loan's reservation as an iCalendar file (one all-day event from the
/// pick-up day to the return day), for the unit's own calendar.
#[utoipa::path(get, path = "/api/v1/requests/{id}/reservation.ics", tag = "requests",
    responses((status = 200, content_type = "text/calendar", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reservation_ics(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let req = state.store.request(ctx.actor, id).await?;
    let date = |field: &str, v: &Option<String>| {
        v.as_deref()
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| {
                AppError::from(Reason::RequiredFor {
                    field: field.into(),
                    kind: req.kind.as_str().into(),
                })
            })
    };
    let (first, last) = (
        date("loan_start", &req.loan_start)?,
        date("loan_due", &req.loan_due)?,
    );
    let what: Vec<String> = state
        .store
        .demand_names(id)
        .await?
        .into_iter()
        .map(|(name, n)| format!("{name} {n} 件"))
        .collect();
    let summary = format!("借用（申请 {id}）：{}", what.join("、"));
    let uid = format!("request-{id}@gongwucang");
    let text = crate::ics::calendar(&crate::ics::AllDayEvent {
        uid: &uid,
        stamp: req.created_at,
        first,
        last,
        summary: &summary,
        description: req.reason.as_deref().unwrap_or(""),
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"reservation-{id}.ics\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// A document uploaded as a raw body (requests' and acquisitions'
/// `…/documents?filename=`): its cleaned file name, its content type and
/// its bytes, checked as `workflow::check_document` rules (type, size,
/// content matching the type).
pub(crate) fn uploaded_document(
    q: &UploadQuery,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<(String, String, Vec<u8>)> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Reason::TooLarge {
                limit_bytes: MAX_DOCUMENT_BYTES,
                size: None,
            }
            .into()
        } else {
            AppError::bad_request(Reason::UploadUnreadable {
                detail: e.to_string(),
            })
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let filename = clean_filename(&q.filename)?;
    check_document(&content_type, &body, MAX_DOCUMENT_BYTES)?;
    Ok((filename, content_type, body.to_vec()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name as the user knows it.
    pub filename: String,
}

/// Attach a file (PDF, PNG, JPEG or WebP, at most 5 MiB) as the raw body
/// with its Content-Type.
#[utoipa::path(post, path = "/api/v1/requests/{id}/documents", tag = "requests",
    params(UploadQuery), request_body(content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"),
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
    responses((status = 201, body = DocumentInfo), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_document(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<(StatusCode, Json<DocumentInfo>)> {
    let (filename, content_type, data) = uploaded_document(&q, &headers, body)?;
    let doc = state
        .store
        .add_document(ctx.actor, id, filename, content_type, data)
        .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/documents", tag = "requests",
    responses((status = 200, body = Vec<DocumentInfo>)))]
async fn list_documents(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Vec<DocumentInfo>>> {
    Ok(Json(state.store.request(ctx.actor, id).await?.documents))
}

/// Download an attachment (always as an attachment, never rendered inline).
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "requests",
    responses((status = 200, content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"),
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp")))))]
async fn download_document(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let doc = state.store.document(ctx.actor, id).await?;
    Ok(respond::attachment(
        &doc.filename,
        &doc.content_type,
        doc.data,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingBody {
    /// What is offered and how to see it (condition, where it is).
    pub notes: Option<String>,
}

/// Offer an idle asset your unit holds in the virtual warehouse.
#[utoipa::path(post, path = "/api/v1/assets/{id}/idle-listing", tag = "virtual-warehouse",
    request_body = ListingBody, responses((status = 200, body = Asset)))]
async fn list_idle(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ListingBody>,
) -> AppResult<Json<Asset>> {
    Ok(Json(state.store.list_idle(ctx, id, body.notes).await?))
}

/// Take a listing back.
#[utoipa::path(delete, path = "/api/v1/assets/{id}/idle-listing", tag = "virtual-warehouse",
    responses((status = 200, body = Asset)))]
async fn unlist_idle(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Asset>> {
    Ok(Json(state.store.unlist_idle(ctx, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    pub category_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Every unit's idle listings (the only window onto other units' assets).
#[utoipa::path(get, path = "/api/v1/virtual-warehouse", tag = "virtual-warehouse",
    params(ListingQuery), responses((status = 200, body = Page<Listing>)))]
async fn virtual_warehouse(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ListingQuery>,
) -> AppResult<Json<Page<Listing>>> {
    authorize(&ctx.actor, Action::BrowseVirtualWarehouse, Scope::Global)?;
    Ok(Json(
        state
            .store
            .virtual_warehouse(
                q.category_id,
                None,
                crate::policy::home_region(&ctx.actor),
                Paging {
                    page: q.page,
                    per_page: q.per_page,
                },
            )
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub comment: Option<String>,
}

/// Keeper: the repair is done; the asset returns to its holder.
#[utoipa::path(post, path = "/api/v1/assets/{id}/repaired", tag = "assets",
    request_body = CommentBody, responses((status = 200, body = Asset)))]
async fn repaired(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CommentBody>,
) -> AppResult<Json<Asset>> {
    Ok(Json(
        state.store.finish_repair(ctx, id, body.comment).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FoundBody {
    pub location_id: i64,
    pub comment: Option<String>,
}

/// Keeper: a lost asset turned up; it goes back into a location.
#[utoipa::path(post, path = "/api/v1/assets/{id}/found", tag = "assets",
    request_body = FoundBody, responses((status = 200, body = Asset)))]
async fn found(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<FoundBody>,
) -> AppResult<Json<Asset>> {
    Ok(Json(
        state
            .store
            .found_asset(ctx, id, body.location_id, body.comment)
            .await?,
    ))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ReportName {
    pub name: String,
    pub title: String,
}

/// The reports there are.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports",
    responses((status = 200, body = Vec<ReportName>)))]
async fn list_reports(ctx: Ctx) -> AppResult<Json<Vec<ReportName>>> {
    authorize(&ctx.actor, Action::ViewReports, Scope::Global)?;
    Ok(Json(
        REPORTS
            .iter()
            .map(|(n, t)| ReportName {
                name: (*n).into(),
                title: (*t).into(),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// A region of the network: the figures of that region and every
    /// region below it (a city and its counties). Left out: the regions
    /// the caller reaches (the whole network for a person placed in
    /// none). A region outside the caller's reach answers 404.
    pub region: Option<i64>,
    /// `region`: one row per region (each row starts with `region_id` and
    /// `region`, the row's own region); `unit`: one row per unit (each row
    /// starts with `row_unit_id` and `row_unit`: the holder unit of the
    /// assets, the unit of the requests; null for stock in a warehouse).
    /// Either way the rows add up to the report.
    pub by: Option<String>,
    /// First day of the period (`YYYY-MM-DD`, Asia/Shanghai), included.
    /// Each report filters on its own date, named in the answer's
    /// `dated_by`: `loans` the loan's start date, `requests` and
    /// `compensation` the day the request was filed, `procurement` and
    /// `contracts` the contract's purchase date, `rentals` the rental's
    /// first day, `activity` the first check-out, `disposals` the day the
    /// proceeds were remitted, `idle` the day the finding opened.
    /// `assets-by-state` and `utilisation` are
    /// snapshots of now and ignore the period (`dated_by` null).
    pub from: Option<String>,
    /// Last day of the period (`YYYY-MM-DD`), included; not before `from`.
    pub to: Option<String>,
    /// A calendar year as the period (`2025`); not with `from`/`to` or
    /// `quarter`.
    pub year: Option<String>,
    /// A quarter as the period (`2025Q3`: 1 July – 30 September 2025); not
    /// with `from`/`to` or `year`.
    pub quarter: Option<String>,
    /// Only this unit: the assets it holds, the requests it filed.
    pub unit: Option<i64>,
    /// Only this category: the assets of it, the requests with a line of
    /// it.
    pub category: Option<i64>,
    /// Only this warehouse: the stock in it, the requests whose items were
    /// taken from it.
    pub warehouse: Option<i64>,
}

impl ReportQuery {
    /// The scope these parameters ask for, within `actor`'s reach.
    pub fn scope(&self, actor: &crate::policy::Actor) -> AppResult<ReportScope> {
        let (by_region, by_unit) = match self.by.as_deref() {
            None => (false, false),
            Some("region") => (true, false),
            Some("unit") => (false, true),
            Some(other) => {
                return Err(Reason::NotOneOf {
                    field: "by".into(),
                    value: other.into(),
                    allowed: &["region", "unit"],
                }
                .into())
            }
        };
        Ok(ReportScope {
            reach: crate::policy::regions_in_reach(actor),
            region: self.region,
            by_region,
            by_unit,
            period: crate::store::parse_period(
                self.from.as_deref(),
                self.to.as_deref(),
                self.year.as_deref(),
                self.quarter.as_deref(),
            )?,
            unit: self.unit,
            category: self.category,
            warehouse: self.warehouse,
        })
    }
}

/// One report as JSON, CSV (`?format=csv`, Excel-compatible) or a
/// workbook for people (`?format=xlsx`: Chinese headings, yuan as numbers,
/// dates as dates, frozen headings, totals row), for a
/// region and those below it (`?region=`), optionally one row per region
/// (`?by=region`).
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Report), (status = 404, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    authorize(&ctx.actor, Action::ViewReports, Scope::Global)?;
    let scope = q.scope(&ctx.actor)?;
    let r = state.store.report(name.clone(), scope).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(r).into_response()),
        Some("csv") => Ok(respond::csv(&format!("{name}.csv"), report_to_csv(&r)?)),
        Some("xlsx") => {
            // A workbook is for people: Chinese headings, yuan, totals.
            let units = state
                .store
                .list_units(1, 500)
                .await?
                .items
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let p = crate::reports::for_people(&r, crate::i18n::Lang::Zh, &units);
            Ok(respond::attachment(
                &format!("{}.xlsx", p.title),
                super::import::XLSX,
                p.to_xlsx()?,
            ))
        }
        Some(other) => Err(Reason::NotOneOf {
            field: "format".into(),
            value: other.into(),
            allowed: &["json", "csv", "xlsx"],
        }
        .into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CockpitQuery {
    /// The region to show: its own figures and each region directly below
    /// it (rolled up) as rows. Left out: the caller's own region, or the
    /// whole network (each province, and what is in no region) for a
    /// person placed in none. A region outside the caller's reach answers
    /// 404.
    pub region: Option<i64>,
}

/// The cockpit (驾驶舱): the network's figures per region — assets and
/// value by state, idle rate, re-use and the value it saved, loans out,
/// disposals and proceeds, open requests by age. The rows add up to
/// `total`; a row with `drillable` has regions below it (ask for it as
/// `region`).
#[utoipa::path(get, path = "/api/v1/cockpit", tag = "reports", params(CockpitQuery),
    responses((status = 200, body = crate::cockpit::Cockpit), (status = 404, body = ErrorBody)))]
async fn cockpit(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<CockpitQuery>,
) -> AppResult<Json<crate::cockpit::Cockpit>> {
    authorize(&ctx.actor, Action::ViewReports, Scope::Global)?;
    Ok(Json(
        state
            .store
            .cockpit(
                crate::policy::regions_in_reach(&ctx.actor),
                crate::policy::home_region(&ctx.actor),
                q.region,
            )
            .await?,
    ))
}

/// The lifecycle part of the OpenAPI document (merged into [`super::ApiDoc`]).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        create_request,
        list_requests,
        inbox,
        overdue_loans,
        get_request,
        take_step,
        procure_together,
        purchase_matches,
        upload_document,
        list_documents,
        download_document,
        list_idle,
        unlist_idle,
        virtual_warehouse,
        repaired,
        found,
        list_reports,
        report,
        cockpit,
        availability,
        reservation_ics
    ),
    components(schemas(
        crate::workflow::ReturnedItem,
        crate::workflow::ScanMatch,
        crate::workflow::Extra,
        crate::workflow::RequestItem,
        crate::workflow::Step,
        crate::workflow::ProcurementLine,
        crate::store::BookingView,
        crate::reserve::DayCount,
        crate::reserve::Hold,
        crate::error::CategoryShortage,
        crate::store::Period
    ))
)]
pub struct WorkflowDoc;
