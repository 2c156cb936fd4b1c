//! The JSON API under `/api/v1`: the route table and handlers (this file
//! for accounts, the register, tags, ingest and stock-takes; [`workflow`]
//! for the lifecycle) and the OpenAPI document ([`openapi`]). Each handler:
//! extract, authorize, call the store, answer. Sits on the shell
//! (`crate::http`) only; never imports the pages (the sibling `web`).

use axum::extract::{FromRequest, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::sync::{Commission, DaemonHealth, ObservationBatch};
use utoipa::ToSchema;

mod acquisitions;
mod epcis;
mod idle_findings;
mod import;
mod kits;
mod openapi;
mod rentals;
mod standards;
mod supervision;
mod workflow;

pub use openapi::{document as openapi_document, ApiDoc};

use crate::daemons::{CreatedDaemon, Daemon, NewDaemon};
use crate::error::{AppError, AppResult, Reason};
use crate::events::Verification;
use crate::gate::{Acknowledgement, Alarm, EmergencyPass, EmergencyPassRequest};
use crate::http::error::ErrorBody;
use crate::http::extract::{credential, ApiJson, ApiPath, ApiQuery, Peer};
use crate::http::respond::{self, session_cookie, set_cookie};
use crate::http::AppState;
use crate::paging::{Page, Paging};
use crate::policy::{asset_visibility, authorize, Action, Ctx, Scope};
use crate::register::*;
use crate::stocktake::{
    Confirmation, LineQuery, NewResolution, NewStockTake, Outcome, Reconciliation, StockTake,
};
use crate::store::{ForeignSighting, IngestOutcome};
use crate::time::ts;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/auth/password", post(change_password))
        .route("/api/v1/users/{id}/password", post(reset_password))
        .route("/api/v1/users/{id}/active", post(set_user_active))
        .route("/api/v1/units", get(list_units).post(create_unit))
        .route("/api/v1/units/{id}", get(get_unit))
        .route("/api/v1/regions", get(list_regions).post(create_region))
        .route("/api/v1/regions/{id}", get(get_region))
        .route(
            "/api/v1/warehouses",
            get(list_warehouses).post(create_warehouse),
        )
        .route(
            "/api/v1/warehouses/{id}/locations",
            get(list_locations).post(create_location),
        )
        .route(
            "/api/v1/categories",
            get(list_categories).post(create_category),
        )
        .route("/api/v1/batches", get(list_batches).post(create_batch))
        .route("/api/v1/readers", get(list_readers).post(create_reader))
        .route("/api/v1/readers/observations", post(ingest))
        .route("/api/v1/daemons", get(list_daemons).post(register_daemon))
        .route(
            "/api/v1/daemons/{daemon_id}/token",
            post(rotate_daemon_token).delete(revoke_daemon_token),
        )
        .route("/api/v1/daemons/{daemon_id}/health", post(report_health))
        .route("/api/v1/health/readers", get(reader_health))
        .route("/api/v1/sightings/foreign", get(foreign_sightings))
        .route("/api/v1/assets", get(search_assets).post(create_asset))
        .route("/api/v1/assets/export.csv", get(export_assets))
        .route("/api/v1/assets/by-epc/{epc}", get(asset_by_epc))
        .route("/api/v1/assets/{id}", get(get_asset).patch(update_asset))
        .route(
            "/api/v1/assets/{id}/emergency-pass",
            post(grant_emergency_pass),
        )
        .route("/api/v1/assets/{id}/tag/commission", post(commission_tag))
        .route(
            "/api/v1/tag-commissions/{id}/confirm",
            post(confirm_commission),
        )
        .route(
            "/api/v1/stocktakes",
            get(list_stocktakes).post(open_stocktake),
        )
        .route("/api/v1/stocktakes/{id}", get(get_stocktake))
        .route(
            "/api/v1/stocktakes/{id}/resolutions",
            post(resolve_stocktake),
        )
        .route("/api/v1/stocktakes/{id}/close", post(close_stocktake))
        .route("/api/v1/stocktakes/{id}/report.csv", get(stocktake_report))
        .route(
            "/api/v1/stocktakes/{id}/confirmation",
            post(confirm_inspection),
        )
        .route("/api/v1/alarms", get(list_alarms))
        .route("/api/v1/alarms/{id}/acknowledge", post(acknowledge_alarm))
        .route("/api/v1/events/verify", get(verify_log))
        .merge(workflow::routes())
        .merge(kits::routes())
        .merge(epcis::routes())
        .merge(import::routes())
        .merge(acquisitions::routes())
        .merge(rentals::routes())
        .merge(idle_findings::routes())
        .merge(supervision::routes())
        .merge(standards::routes())
}

async fn health() -> &'static str {
    "ok"
}

async fn openapi() -> Response {
    match openapi_document().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => AppError::internal(format!("openapi: {e}")).into_response(),
    }
}

// ---- accounts -------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for API clients (browsers also get it as a cookie).
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: User,
}

/// Log in: a session token (bearer) and an HttpOnly cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
        (status = 429, description = "too many failed logins; see Retry-After", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let attempt = crate::login::Attempt {
        username: req.username,
        password: req.password,
        peer,
    };
    let session = crate::login::log_in(&state.store, &state.config, attempt).await?;
    let cookie = session_cookie(
        Some(&session.token),
        state.config.session_ttl_secs,
        state.config.secure_cookie,
    );
    let body = LoginResponse {
        token: session.token,
        expires_at: ts(session.expires_at),
        user: session.user,
    };
    Ok(set_cookie(Json(body).into_response(), &cookie))
}

/// Log out: the session token stops working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", responses((status = 204)))]
async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let _ = ctx;
    let (parts, _) = req.into_parts();
    if let Some(token) = credential(&parts) {
        state.store.delete_session(token).await?;
    }
    let cookie = session_cookie(None, 0, state.config.secure_cookie);
    Ok(set_cookie(StatusCode::NO_CONTENT.into_response(), &cookie))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `user:NAME` or `reader:NAME`.
    pub actor: String,
    pub role: Option<crate::policy::Role>,
    pub unit_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "accounts", responses((status = 200, body = Me)))]
async fn me(ctx: Ctx) -> Json<Me> {
    let (role, unit_id) = match &ctx.actor {
        crate::policy::Actor::User { role, unit_id, .. } => (Some(*role), *unit_id),
        _ => (None, None),
    };
    Json(Me {
        actor: ctx.actor.label(),
        role,
        unit_id,
    })
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", params(Paging),
    responses((status = 200, body = Page<User>)))]
async fn list_users(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<User>>> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(state.store.list_users(page, per_page).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    responses((status = 201, body = User)))]
async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(u): ApiJson<NewUser>,
) -> AppResult<(StatusCode, Json<User>)> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    u.validate()?;
    let hash =
        crate::accounts::hash_password_bounded(u.password.clone(), state.config.password_cost)
            .await?;
    let user = state
        .store
        .create_user(
            u.username.trim().to_owned(),
            u.display_name.unwrap_or_else(|| u.username.clone()),
            hash,
            u.role,
            u.unit_id,
            u.region_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

/// Change one's own password (the old one required); one's other sessions end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    req: axum::extract::Request,
) -> AppResult<StatusCode> {
    let crate::policy::Actor::User { username, .. } = &ctx.actor else {
        return Err(AppError::from(Reason::NotAllowed {
            actor: ctx.actor.label(),
            action: "change a password".into(),
            roles: Vec::new(),
        }));
    };
    let (parts, body) = req.into_parts();
    let keep = credential(&parts);
    let req = axum::extract::Request::from_parts(parts, body);
    let ApiJson(c) = ApiJson::<PasswordChange>::from_request(req, &state).await?;
    crate::login::change_own_password(
        &state.store,
        &state.config,
        username.clone(),
        c.old_password,
        c.new_password,
        keep,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
}

/// An administrator sets a user's password; all the user's sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "accounts", request_body = PasswordReset,
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<PasswordReset>,
) -> AppResult<StatusCode> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    crate::login::reset_password(&state.store, &state.config, id, r.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserActive {
    pub active: bool,
}

/// Deactivate (sessions and tokens stop at once) or reactivate a user.
#[utoipa::path(post, path = "/api/v1/users/{id}/active", tag = "accounts", request_body = UserActive,
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn set_user_active(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(a): ApiJson<UserActive>,
) -> AppResult<Json<User>> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    Ok(Json(state.store.set_user_active(id, a.active).await?))
}

// ---- reference data -------------------------------------------------------

macro_rules! list_and_create {
    ($list:ident, $create:ident, $path:literal, $tag:literal, $item:ty, $new:ty, $store_list:ident, $store_create:ident) => {
        #[utoipa::path(get, path = $path, tag = $tag, params(Paging), responses((status = 200, body = Page<$item>)))]
        async fn $list(
            State(state): State<AppState>,
            ctx: Ctx,
            ApiQuery(p): ApiQuery<Paging>,
        ) -> AppResult<Json<Page<$item>>> {
            authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
            let (page, per_page) = p.resolve()?;
            Ok(Json(state.store.$store_list(page, per_page).await?))
        }

        #[utoipa::path(post, path = $path, tag = $tag, request_body = $new, responses((status = 201, body = $item)))]
        async fn $create(
            State(state): State<AppState>,
            ctx: Ctx,
            ApiJson(new): ApiJson<$new>,
        ) -> AppResult<(StatusCode, Json<$item>)> {
            authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
            Ok((StatusCode::CREATED, Json(state.store.$store_create(new).await?)))
        }
    };
}

list_and_create!(
    list_units,
    create_unit,
    "/api/v1/units",
    "register",
    Unit,
    NewUnit,
    list_units,
    create_unit
);
list_and_create!(
    list_warehouses,
    create_warehouse,
    "/api/v1/warehouses",
    "register",
    Warehouse,
    NewWarehouse,
    list_warehouses,
    create_warehouse
);
list_and_create!(
    list_categories,
    create_category,
    "/api/v1/categories",
    "register",
    Category,
    NewCategory,
    list_categories,
    create_category
);
list_and_create!(
    list_batches,
    create_batch,
    "/api/v1/batches",
    "register",
    Batch,
    NewBatch,
    list_batches,
    create_batch
);

list_and_create!(
    list_regions,
    create_region,
    "/api/v1/regions",
    "register",
    Region,
    NewRegion,
    list_regions,
    create_region
);

#[utoipa::path(get, path = "/api/v1/regions/{id}", tag = "register", responses((status = 200, body = Region)))]
async fn get_region(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Region>> {
    authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
    Ok(Json(state.store.get_region(id).await?))
}

#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "register", responses((status = 200, body = Unit)))]
async fn get_unit(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Unit>> {
    authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
    Ok(Json(state.store.get_unit(id).await?))
}

#[utoipa::path(get, path = "/api/v1/warehouses/{id}/locations", tag = "register", params(Paging),
    responses((status = 200, body = Page<Location>)))]
async fn list_locations(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<Location>>> {
    authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(state.store.list_locations(id, page, per_page).await?))
}

#[utoipa::path(post, path = "/api/v1/warehouses/{id}/locations", tag = "register", request_body = NewLocation,
    responses((status = 201, body = Location)))]
async fn create_location(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewLocation>,
) -> AppResult<(StatusCode, Json<Location>)> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_location(id, new).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/readers", tag = "readers", params(Paging), responses((status = 200, body = Page<Reader>)))]
async fn list_readers(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<Reader>>> {
    authorize(&ctx.actor, Action::ViewRegister, Scope::Global)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(state.store.list_readers(page, per_page).await?))
}

/// Register a reader as a daemon of its own whose `daemon_id` is the
/// reader's name; the response carries the daemon's token, shown only once.
#[utoipa::path(post, path = "/api/v1/readers", tag = "readers", request_body = NewReader,
    responses((status = 201, body = CreatedReader)))]
async fn create_reader(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(new): ApiJson<NewReader>,
) -> AppResult<(StatusCode, Json<CreatedReader>)> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_reader(new, None).await?),
    ))
}

/// Daemons (edge boxes) with the readers bound to each.
#[utoipa::path(get, path = "/api/v1/daemons", tag = "readers", params(Paging),
    responses((status = 200, body = Page<Daemon>)))]
async fn list_daemons(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<Daemon>>> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(state.store.list_daemons(page, per_page).await?))
}

/// Register a daemon with the readers it drives; the response carries its
/// token, shown only once. The token may send observations only under this
/// `daemon_id` (or `daemon_id:…`) and only for these readers.
#[utoipa::path(post, path = "/api/v1/daemons", tag = "readers", request_body = NewDaemon,
    responses((status = 201, body = CreatedDaemon),
        (status = 409, description = "daemon id or a reader name already registered", body = ErrorBody),
        (status = 422, description = "bad daemon id, no readers, a reader named twice", body = ErrorBody)))]
async fn register_daemon(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(new): ApiJson<NewDaemon>,
) -> AppResult<(StatusCode, Json<CreatedDaemon>)> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.register_daemon(new).await?),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DaemonToken {
    /// The daemon's new bearer token, shown only once.
    pub token: String,
}

/// Rotate a daemon's token: a new one (shown once); the old one stops at once.
#[utoipa::path(post, path = "/api/v1/daemons/{daemon_id}/token", tag = "readers",
    responses((status = 200, body = DaemonToken), (status = 404, body = ErrorBody)))]
async fn rotate_daemon_token(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(daemon_id): ApiPath<String>,
) -> AppResult<Json<DaemonToken>> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    let token = state.store.rotate_daemon_token(daemon_id).await?;
    Ok(Json(DaemonToken { token }))
}

/// Revoke a daemon's token: refused from now on, until rotated.
#[utoipa::path(delete, path = "/api/v1/daemons/{daemon_id}/token", tag = "readers",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_daemon_token(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(daemon_id): ApiPath<String>,
) -> AppResult<StatusCode> {
    authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
    state.store.revoke_daemon(daemon_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- reader health ---------------------------------------------------------

/// A daemon's health report (reader token): its backlog, its view of each
/// reader and of its own sync. The latest report wins; `GET
/// /api/v1/health/readers` classifies from it. A report whose token is
/// refused (401) is counted against the daemon the path names (if
/// registered), so a daemon that cannot get through shows `auth_failing`.
#[utoipa::path(post, path = "/api/v1/daemons/{daemon_id}/health", tag = "readers",
    params(("daemon_id" = String, Path, description = "the reporting daemon's id")),
    request_body = DaemonHealth, responses((status = 204),
        (status = 401, description = "unknown, revoked or expired reader token (counted against the daemon named)", body = ErrorBody),
        (status = 403, description = "`not_bound`: another daemon's id, or a reader not bound to this daemon", body = ErrorBody),
        (status = 422, description = "bad field, e.g. more than 64 readers", body = ErrorBody)))]
async fn report_health(
    State(state): State<AppState>,
    ctx: Result<Ctx, AppError>,
    ApiPath(daemon_id): ApiPath<String>,
    body: Result<ApiJson<DaemonHealth>, AppError>,
) -> AppResult<StatusCode> {
    let ctx = match ctx {
        Ok(ctx) => ctx,
        Err(e) => {
            if matches!(*e.reason, Reason::SessionExpired) {
                // The caller hears 401 whatever happens to the count.
                if let Err(err) = state.store.record_refused_token(daemon_id).await {
                    tracing::warn!(error = %err.message(), "cannot count a refused daemon token");
                }
            }
            return Err(e);
        }
    };
    authorize(&ctx.actor, Action::ReportHealth, Scope::Global)?;
    let ApiJson(report) = body?;
    crate::health::check_report(&ctx.actor, &daemon_id, &report)?;
    let crate::policy::Actor::Daemon { id, .. } = ctx.actor else {
        return Err(AppError::internal("check_report passed a non-daemon"));
    };
    state.store.record_daemon_health(id, report).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reader and daemon health (keepers, administrators): per daemon its last
/// contact, backlog and refused tokens; per reader `ok`, `stale` (no tag read
/// for `stale_after_secs`), `offline` (daemon not heard of for
/// `offline_after_secs`, or the reader's link down) or `auth_failing`.
/// `?role=desk` keeps one role's readers (the desk page polls that).
#[utoipa::path(get, path = "/api/v1/health/readers", tag = "readers",
    params(crate::health::HealthQuery),
    responses((status = 200, body = crate::health::ReaderHealthView)))]
async fn reader_health(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<crate::health::HealthQuery>,
) -> AppResult<Json<crate::health::ReaderHealthView>> {
    authorize(&ctx.actor, Action::ViewReaderHealth, Scope::Global)?;
    Ok(Json(
        state
            .store
            .reader_health(state.config.health_thresholds(), q.role)
            .await?,
    ))
}

// ---- assets ---------------------------------------------------------------

/// Search the register (filters combine with AND), paginated with total.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetQuery),
    responses((status = 200, body = Page<Asset>)))]
async fn search_assets(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AssetQuery>,
) -> AppResult<Json<Page<Asset>>> {
    Ok(Json(
        state
            .store
            .search_assets(q, asset_visibility(&ctx.actor))
            .await?,
    ))
}

/// The register as CSV (UTF-8 with BOM, CRLF; opens in Excel). Same filters.
#[utoipa::path(get, path = "/api/v1/assets/export.csv", tag = "assets", params(AssetQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn export_assets(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AssetQuery>,
) -> AppResult<Response> {
    let csv = state
        .store
        .export_assets_csv(q, asset_visibility(&ctx.actor))
        .await?;
    Ok(respond::csv("assets.csv", csv))
}

#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", request_body = NewAsset,
    responses((status = 201, body = Asset), (status = 422, body = ErrorBody)))]
async fn create_asset(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(new): ApiJson<NewAsset>,
) -> AppResult<(StatusCode, Json<Asset>)> {
    // Whether the role may at all; the store decides for the region the
    // asset lands in.
    authorize(&ctx.actor, Action::CreateAsset, Scope::Warehouse)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_asset(ctx, new).await?),
    ))
}

/// The asset page: the asset, its tag bindings and its whole timeline.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", responses((status = 200, body = AssetDetail)))]
async fn get_asset(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<AssetDetail>> {
    let detail = state.store.asset_detail(id).await?;
    authorize(&ctx.actor, Action::ViewAsset, detail.asset.scope())?;
    Ok(Json(detail))
}

#[utoipa::path(get, path = "/api/v1/assets/by-epc/{epc}", tag = "assets", responses((status = 200, body = Asset)))]
async fn asset_by_epc(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(epc): ApiPath<String>,
) -> AppResult<Json<Asset>> {
    let bytes = shared::hex::decode(&epc).map_err(|e| {
        AppError::bad_request(Reason::NotHex {
            field: "epc".into(),
            value: epc.clone(),
            detail: e.to_string(),
        })
        .with_field("epc")
    })?;
    let asset = state.store.asset_by_epc(bytes).await?;
    authorize(&ctx.actor, Action::ViewAsset, asset.scope())?;
    Ok(Json(asset))
}

#[utoipa::path(patch, path = "/api/v1/assets/{id}", tag = "assets", request_body = AssetPatch,
    responses((status = 200, body = Asset)))]
async fn update_asset(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<AssetPatch>,
) -> AppResult<Json<Asset>> {
    let asset = state.store.asset(id).await?;
    authorize(&ctx.actor, Action::UpdateAsset, asset.scope())?;
    Ok(Json(state.store.update_asset(ctx, id, patch).await?))
}

/// An approver lets an asset through the exit gate until the pass expires.
#[utoipa::path(post, path = "/api/v1/assets/{id}/emergency-pass", tag = "assets",
    request_body = EmergencyPassRequest, responses((status = 201, body = EmergencyPass)))]
async fn grant_emergency_pass(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EmergencyPassRequest>,
) -> AppResult<(StatusCode, Json<EmergencyPass>)> {
    let asset = state.store.asset(id).await?;
    authorize(&ctx.actor, Action::GrantEmergencyPass, asset.scope())?;
    let pass = state.store.grant_emergency_pass(ctx, id, body).await?;
    Ok((StatusCode::CREATED, Json(pass)))
}

/// Allocate the GIAI EPC for an asset (company prefix + asset number;
/// GIAI-96 when the number fits, GIAI-202 otherwise);
/// the daemon writes it and then calls the confirm endpoint.
#[utoipa::path(post, path = "/api/v1/assets/{id}/tag/commission", tag = "tags",
    responses((status = 201, body = Commission)))]
async fn commission_tag(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<(StatusCode, Json<Commission>)> {
    let asset = state.store.asset(id).await?;
    authorize(&ctx.actor, Action::CommissionTag, asset.scope())?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.commission_tag(ctx, id).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionConfirmation {
    /// The EPC the daemon wrote and read back (hex).
    pub epc: String,
}

/// The daemon verified the write: bind the tag to the asset.
#[utoipa::path(post, path = "/api/v1/tag-commissions/{id}/confirm", tag = "tags",
    request_body = CommissionConfirmation, responses((status = 200, body = Asset)))]
async fn confirm_commission(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CommissionConfirmation>,
) -> AppResult<Json<Asset>> {
    authorize(&ctx.actor, Action::CommissionTag, Scope::Warehouse)?;
    let epc = shared::hex::decode(body.epc.trim()).map_err(|e| Reason::NotHex {
        field: "epc".into(),
        value: body.epc.clone(),
        detail: e.to_string(),
    })?;
    Ok(Json(state.store.confirm_commission(ctx, id, epc).await?))
}

// ---- scans, stock-takes, alarms -------------------------------------------

/// Observation batch from a reader daemon (reader token). Applied at most
/// once per (daemon_id, sequence); the answer acknowledges the highest
/// sequence applied. Body: `shared::sync::ObservationBatch`. The token is
/// a daemon's: the batch must be under its `daemon_id` (or `daemon_id:…`)
/// and name only its readers, else 403 `not_bound` and nothing is stored.
#[utoipa::path(post, path = "/api/v1/readers/observations", tag = "readers",
    request_body = ObservationBatch, responses((status = 200, body = IngestOutcome),
        (status = 401, description = "unknown, revoked or expired reader token", body = ErrorBody),
        (status = 403, description = "`not_bound`: another daemon's id, or a reader not bound to this daemon (field names which)", body = ErrorBody),
        (status = 422, description = "bad field, e.g. `sequence` outside 1..=9223372036854775807", body = ErrorBody)))]
async fn ingest(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(batch): ApiJson<ObservationBatch>,
) -> AppResult<Json<IngestOutcome>> {
    authorize(&ctx.actor, Action::IngestObservations, Scope::Global)?;
    let desk: Vec<(String, Vec<u8>)> = batch
        .observations
        .iter()
        .filter(|o| o.kind != shared::sync::ObservationKind::Removed)
        .map(|o| (o.reader.clone(), o.epc.as_slice().to_vec()))
        .collect();
    let out = state.store.ingest(ctx, batch).await?;
    if out.applied {
        // The desk page's live view; a repeat batch is not a new scan.
        state.store.record_desk_scans(desk).await?;
    }
    Ok(Json(out))
}

/// EPCs seen that are bound to no asset (visitors' tags, untagged stock).
#[utoipa::path(get, path = "/api/v1/sightings/foreign", tag = "readers", params(Paging),
    responses((status = 200, body = Page<ForeignSighting>)))]
async fn foreign_sightings(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<ForeignSighting>>> {
    authorize(&ctx.actor, Action::ViewStockTake, Scope::Warehouse)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(
        state.store.list_foreign_sightings(page, per_page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/stocktakes", tag = "stocktakes", request_body = NewStockTake,
    responses((status = 201, body = StockTake)))]
async fn open_stocktake(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(new): ApiJson<NewStockTake>,
) -> AppResult<(StatusCode, Json<StockTake>)> {
    authorize(&ctx.actor, Action::RunStockTake, Scope::Warehouse)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.open_stocktake(ctx, new).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/stocktakes", tag = "stocktakes", params(Paging),
    responses((status = 200, body = Page<StockTake>)))]
async fn list_stocktakes(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Paging>,
) -> AppResult<Json<Page<StockTake>>> {
    // A unit's staff see their own unit's inspections only.
    let unit = crate::policy::stocktakes_listed(&ctx.actor)?;
    let (page, per_page) = p.resolve()?;
    Ok(Json(
        state.store.list_stocktakes(unit, page, per_page).await?,
    ))
}

/// The unit's staff confirm a closed inspection's result (单位确认), with
/// an optional remark; recorded with who and when.
#[utoipa::path(post, path = "/api/v1/stocktakes/{id}/confirmation", tag = "stocktakes",
    request_body = Confirmation, responses((status = 200, body = StockTake)))]
async fn confirm_inspection(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<Confirmation>,
) -> AppResult<Json<StockTake>> {
    Ok(Json(state.store.confirm_inspection(ctx, id, c).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StockTakeLinesQuery {
    /// Only lines with this outcome.
    pub outcome: Option<Outcome>,
    /// With `per_page`: one page of lines; without either, every line.
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Live view: expected/found/missing/misplaced/foreign with counts, and
/// the lines (missing, misplaced, foreign, found): all of them, or a page.
#[utoipa::path(get, path = "/api/v1/stocktakes/{id}", tag = "stocktakes",
    params(StockTakeLinesQuery), responses((status = 200, body = Reconciliation)))]
async fn get_stocktake(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<StockTakeLinesQuery>,
) -> AppResult<Json<Reconciliation>> {
    authorize(
        &ctx.actor,
        Action::ViewStockTake,
        state.store.stocktake_scope(id).await?,
    )?;
    let page = if q.page.is_some() || q.per_page.is_some() {
        let (page, per_page) = Paging {
            page: q.page,
            per_page: q.per_page,
        }
        .resolve()?;
        Some((page as u64, per_page as u64))
    } else {
        None
    };
    let lines = LineQuery {
        outcome: q.outcome,
        page,
    };
    Ok(Json(state.store.stocktake_reconciliation(id, lines).await?))
}

/// Settles one line; answers with the counts and the first page of lines.
#[utoipa::path(post, path = "/api/v1/stocktakes/{id}/resolutions", tag = "stocktakes",
    request_body = NewResolution, responses((status = 200, body = Reconciliation)))]
async fn resolve_stocktake(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<NewResolution>,
) -> AppResult<Json<Reconciliation>> {
    authorize(
        &ctx.actor,
        Action::RunStockTake,
        state.store.stocktake_scope(id).await?,
    )?;
    Ok(Json(state.store.resolve_stocktake_line(ctx, id, r).await?))
}

#[utoipa::path(post, path = "/api/v1/stocktakes/{id}/close", tag = "stocktakes",
    responses((status = 200, body = Reconciliation)))]
async fn close_stocktake(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Reconciliation>> {
    authorize(
        &ctx.actor,
        Action::RunStockTake,
        state.store.stocktake_scope(id).await?,
    )?;
    Ok(Json(state.store.close_stocktake(ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/stocktakes/{id}/report.csv", tag = "stocktakes",
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn stocktake_report(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    authorize(
        &ctx.actor,
        Action::ViewStockTake,
        state.store.stocktake_scope(id).await?,
    )?;
    let rec = state
        .store
        .stocktake_reconciliation(id, LineQuery::default())
        .await?;
    let csv = crate::store::report_csv(&rec)?;
    Ok(respond::csv(&format!("stocktake-{id}.csv"), csv))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlarmQuery {
    /// `open` or `acknowledged`.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/alarms", tag = "alarms", params(AlarmQuery),
    responses((status = 200, body = Page<Alarm>)))]
async fn list_alarms(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AlarmQuery>,
) -> AppResult<Json<Page<Alarm>>> {
    authorize(&ctx.actor, Action::ViewAlarms, Scope::Warehouse)?;
    if let Some(s) = &q.status {
        if s != "open" && s != "acknowledged" {
            return Err(Reason::NotOneOf {
                field: "status".into(),
                value: s.clone(),
                allowed: &["open", "acknowledged"],
            }
            .into());
        }
    }
    let (page, per_page) = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    Ok(Json(
        state
            .store
            .list_alarms(
                q.status,
                crate::policy::regions_in_reach(&ctx.actor),
                page,
                per_page,
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/alarms/{id}/acknowledge", tag = "alarms",
    request_body = Acknowledgement, responses((status = 204)))]
async fn acknowledge_alarm(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(ack): ApiJson<Acknowledgement>,
) -> AppResult<StatusCode> {
    authorize(&ctx.actor, Action::HandleAlarm, Scope::Warehouse)?;
    state.store.acknowledge_alarm(ctx, id, ack).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Walk the event log's hash chain; reports the first broken link.
#[utoipa::path(get, path = "/api/v1/events/verify", tag = "events",
    responses((status = 200, body = Verification)))]
async fn verify_log(State(state): State<AppState>, ctx: Ctx) -> AppResult<Json<Verification>> {
    authorize(&ctx.actor, Action::VerifyLog, Scope::Global)?;
    let verification = state.store.verify_log().await?;
    // Kept for the warnings (a failed verification is one).
    state.store.record_verification(&verification).await?;
    Ok(Json(verification))
}
