//! The pages. Each GET renders from the store; each POST takes one action
//! and redirects (303) back, or re-renders the form with the error next to
//! its field (nothing is half-saved: every action is one transaction).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde_json::{json, Value};

use super::*;
use crate::error::Reason;
use crate::money::parse_yuan;
use crate::paging::Paging;
use crate::policy::{asset_visibility, authorize, Action, Scope};
use crate::register::{AssetQuery, AssetState};
use crate::serving::live::LiveSlot;
use crate::stocktake::LineQuery;
use crate::store::RequestQuery;
use crate::workflow::{NewRequest, Request, RequestKind, Stage, StepBody};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/inbox", get(inbox))
        .route("/assets", get(assets))
        .route("/assets/{id}", get(asset_page))
        .route("/assets/{id}/idle", post(asset_list_idle))
        .route(
            "/assets/{id}/photo",
            get(asset_photo)
                .post(asset_photo_upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::workflow::MAX_DOCUMENT_BYTES + 64 * 1024,
                )),
        )
        .route("/requests", get(requests))
        .route(
            "/requests/new/{kind}",
            get(new_request).post(new_request_submit),
        )
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/step", post(request_step))
        .route(
            "/requests/{id}/documents",
            post(upload_document).layer(axum::extract::DefaultBodyLimit::max(
                crate::workflow::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route("/requests/{id}/desk", get(desk_page))
        .route("/requests/{id}/desk/events", get(desk_events))
        .route("/requests/{id}/desk/check-out", post(desk_check_out))
        .route("/requests/{id}/desk/return", post(desk_return))
        .route("/virtual-warehouse", get(virtual_warehouse))
        .route("/stocktakes", get(stocktakes).post(stocktake_open))
        .route("/stocktakes/{id}", get(stocktake_page))
        .route("/stocktakes/{id}/resolve", post(stocktake_resolve))
        .route("/stocktakes/{id}/close", post(stocktake_close))
        .route("/stocktakes/{id}/events", get(stocktake_events))
        .route("/alarms", get(alarms))
        .route("/alarms/{id}/ack", post(alarm_ack))
        .route("/reports", get(reports))
        .route("/admin", get(admin))
        .route("/admin/units", post(admin_unit))
        .route("/admin/users", post(admin_user))
        .route("/admin/users/{id}/{what}", post(admin_user_change))
        .route(
            "/account/password",
            get(own_password_page).post(own_password_submit),
        )
        .route("/admin/categories", post(admin_category))
        .route("/admin/daemons", post(admin_daemon))
        .route("/admin/warehouses", post(admin_warehouse))
        .route("/admin/settings", post(admin_settings))
        .route("/admin/locations", post(admin_location))
}

type Form = HashMap<String, String>;

fn form(body: &Bytes) -> Form {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn get_i64(f: &Form, field: &str) -> Result<Option<i64>, AppError> {
    match f.get(field).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Reason::NotWholeNumber {
                field: field.into(),
                value: v.into(),
            }
            .into()
        }),
    }
}

fn required(field: &str) -> AppError {
    Reason::Required {
        field: field.into(),
    }
    .into()
}

/// A form whose values do not make the action it posts.
fn not_understood(field: &str, e: impl std::fmt::Display) -> AppError {
    Reason::FormNotUnderstood {
        field: field.into(),
        detail: e.to_string(),
    }
    .into()
}

fn text(f: &Form, field: &str) -> Option<String> {
    f.get(field)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Renders an error as a page, or lets a form page show it.
fn fail(w: &Web, e: AppError) -> Response {
    error_page(w, &e)
}

macro_rules! tryp {
    ($w:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return fail(&$w, e),
        }
    };
}

fn state_badge(w: &Web, s: &str) -> Markup {
    html! { span class=(format!("badge s-{s}")) { (w.tv(s)) } }
}

fn stage_word(w: &Web, s: Stage) -> String {
    if s == Stage::Finance {
        w.t("finance_review").to_owned()
    } else {
        w.tv(s.as_str())
    }
}

fn when(d: &chrono::DateTime<chrono::Utc>) -> String {
    crate::time::shanghai(*d)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

// ---------------------------------------------------------------------------
// Dashboard and inbox.

async fn dashboard(State(st): State<AppState>, w: Web) -> Response {
    let inbox = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    mine: Some(true),
                    per_page: Some(10),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let reports_ok = authorize(&w.ctx.actor, Action::ViewReports, Scope::Global).is_ok();
    let mut charts = Vec::new();
    if reports_ok {
        let by_state = tryp!(w, st.store.report("assets-by-state".into()).await);
        let mut counts: Vec<(String, i64)> = Vec::new();
        for row in &by_state.rows {
            let s = row[0].as_str().unwrap_or_default();
            let n = row[4].as_i64().unwrap_or(0);
            match counts.iter_mut().find(|(k, _)| *k == w.tv(s)) {
                Some(c) => c.1 += n,
                None => counts.push((w.tv(s), n)),
            }
        }
        charts.push((w.t("assets_by_state"), bar_chart(&counts, "")));
        let util = tryp!(w, st.store.report("utilisation".into()).await);
        let rows: Vec<(String, i64)> = util
            .rows
            .iter()
            .map(|r| {
                (
                    r[1].as_str().unwrap_or_default().chars().take(8).collect(),
                    r[5].as_f64().unwrap_or(0.0).round() as i64,
                )
            })
            .collect();
        charts.push((w.t("utilisation"), bar_chart(&rows, "%")));
        let loans = tryp!(w, st.store.report("loans".into()).await);
        let out = loans.totals["items_out"].as_i64().unwrap_or(0);
        let overdue = loans.totals["overdue"].as_i64().unwrap_or(0);
        charts.push((
            w.t("loans_due"),
            bar_chart(
                &[
                    (w.t("outstanding").to_owned(), out),
                    (w.t("overdue").to_owned(), overdue),
                ],
                "",
            ),
        ));
        let disposals = tryp!(w, st.store.report("disposals".into()).await);
        let rows: Vec<(String, i64)> = disposals
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_owned(),
                    r[3].as_i64().unwrap_or(0) / 100,
                )
            })
            .collect();
        charts.push((w.t("proceeds"), bar_chart(&rows, "元")));
    } else if let Some(unit) = w.unit_id {
        // Unit staff: their own assets by state.
        let mut counts = Vec::new();
        for s in AssetState::ALL {
            let page = tryp!(
                w,
                st.store
                    .search_assets(
                        AssetQuery {
                            state: Some(*s),
                            holder_unit_id: Some(unit),
                            per_page: Some(1),
                            ..AssetQuery::default()
                        },
                        asset_visibility(&w.ctx.actor),
                    )
                    .await
            );
            if page.total > 0 {
                counts.push((w.tv(s.as_str()), page.total));
            }
        }
        charts.push((w.t("assets_by_state"), bar_chart(&counts, "")));
    }
    let alarms = if authorize(&w.ctx.actor, Action::ViewAlarms, Scope::Global).is_ok() {
        tryp!(w, st.store.list_alarms(Some("open".into()), 1, 1).await).total
    } else {
        0
    };
    let body = html! {
        section.cards {
            a.card href="/inbox" data-test="inbox-count" { strong { (inbox.total) } span { (w.t("waiting_on_me")) } }
            @if alarms > 0 {
                a.card.warn href="/alarms" { strong { (alarms) } span { (w.t("open_alarms")) } }
            }
        }
        section.charts {
            @for (title, chart) in &charts {
                figure { figcaption { (title) } (chart) }
            }
        }
        h2 { (w.t("notifications")) " · " (w.t("waiting_on_me")) }
        (request_table(&w, &inbox.items))
    };
    layout(&w, w.t("dashboard"), body)
}

fn request_table(w: &Web, items: &[Request]) -> Markup {
    html! {
        @if items.is_empty() {
            p.empty { (w.t("empty")) }
        } @else {
            table {
                thead { tr {
                    th { "#" } th { (w.t("kind")) } th { (w.t("stage")) } th { (w.t("unit")) }
                    th { (w.t("reason")) } th { (w.t("created")) }
                } }
                tbody {
                    @for r in items {
                        tr class=@if r.overdue { "overdue" } {
                            td { a href=(format!("/requests/{}", r.id)) { (r.id) } }
                            td { (w.tv(r.kind.as_str())) }
                            td { (stage_word(w, r.stage)) @if r.overdue { " " span.badge.s-lost { (w.t("overdue")) } } }
                            td { (r.unit_id.map(|u| u.to_string()).unwrap_or_default()) }
                            td { (r.reason.clone().unwrap_or_default()) }
                            td { (when(&r.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

async fn inbox(State(st): State<AppState>, w: Web) -> Response {
    let page = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    mine: Some(true),
                    per_page: Some(200),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    layout(&w, w.t("inbox"), request_table(&w, &page.items))
}

// ---------------------------------------------------------------------------
// The register.

const COLUMNS: &[&str] = &[
    "asset_number",
    "name",
    "category",
    "model",
    "state",
    "condition",
    "holder",
    "value",
    "purchase_date",
    "epc",
    "last_seen",
];
const DEFAULT_COLUMNS: &[&str] = &[
    "asset_number",
    "name",
    "category",
    "state",
    "holder",
    "value",
];

#[derive(Debug, Default, serde::Deserialize)]
struct AssetFilter {
    q: Option<String>,
    state: Option<String>,
    category_id: Option<String>,
    page: Option<i64>,
    cols: Option<String>,
}

async fn assets(State(st): State<AppState>, w: Web, Query(f): Query<AssetFilter>) -> Response {
    let q = f.q.clone().filter(|s| !s.trim().is_empty());
    // A hex string of EPC length is searched as an EPC too.
    let epc = q
        .as_ref()
        .filter(|s| s.len() >= 24 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned();
    let state = f.state.as_deref().and_then(AssetState::parse);
    let category = f.category_id.as_deref().and_then(|c| c.parse().ok());
    let page = tryp!(
        w,
        st.store
            .search_assets(
                AssetQuery {
                    q: if epc.is_some() { None } else { q.clone() },
                    epc,
                    state,
                    category_id: category,
                    page: f.page,
                    per_page: Some(50),
                    ..AssetQuery::default()
                },
                asset_visibility(&w.ctx.actor),
            )
            .await
    );
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let cat_name = |id: i64| {
        cats.iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    // Column choice: the form's, else the remembered cookie, else default.
    let chosen: Vec<String> = f
        .cols
        .clone()
        .or_else(|| w.cookies.get("cols_assets").cloned())
        .map(|c| {
            c.split(['.', ','])
                .filter(|c| COLUMNS.contains(c))
                .map(str::to_owned)
                .collect()
        })
        .filter(|v: &Vec<String>| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_COLUMNS.iter().map(|s| (*s).to_owned()).collect());
    let show = |c: &str| chosen.iter().any(|x| x == c);
    let pages = (page.total + page.per_page - 1) / page.per_page.max(1);
    let link = |p: i64| {
        let mut qs = vec![format!("page={p}")];
        if let Some(q) = &f.q {
            qs.push(format!("q={}", percent_encode(q)));
        }
        if let Some(s) = &f.state {
            qs.push(format!("state={s}"));
        }
        if let Some(c) = &f.category_id {
            qs.push(format!("category_id={c}"));
        }
        format!("/assets?{}", qs.join("&"))
    };
    let body = html! {
        form.filters method="get" action="/assets" {
            input name="q" value=(f.q.clone().unwrap_or_default()) placeholder=(format!("{} / {} / {}", w.t("name"), w.t("asset_number"), w.t("epc")));
            select name="state" {
                option value="" { (w.t("state")) ": " (w.t("all")) }
                @for s in AssetState::ALL {
                    option value=(s.as_str()) selected[state == Some(*s)] { (w.tv(s.as_str())) }
                }
            }
            select name="category_id" {
                option value="" { (w.t("category")) ": " (w.t("all")) }
                @for c in &cats {
                    option value=(c.id) selected[category == Some(c.id)] { (c.name) }
                }
            }
            button type="submit" { (w.t("search")) }
            a href="/assets" { (w.t("reset")) }
            a href="/api/v1/assets/export.csv" { (w.t("export_csv")) }
        }
        details.columns {
            summary { (w.t("columns")) }
            form method="get" action="/assets" data-remember="cols_assets" {
                @for c in COLUMNS {
                    label { input type="checkbox" name="col" value=(c) checked[show(c)]; (w.t(c)) }
                }
                input type="hidden" name="cols" value=(chosen.join("."));
                button type="submit" { (w.t("apply")) }
            }
        }
        p.summary { (w.t("total")) " " strong data-test="asset-total" { (page.total) } }
        @if page.items.is_empty() {
            p.empty { (w.t("empty")) }
        } @else {
            form method="get" action="/requests/new/disposal" id="bulk" {
                p.bulk { (w.t("selected")) ": " span data-selected-count { "0" } " "
                    @if matches!(w.role, Role::UnitStaff | Role::Keeper) {
                        button type="submit" formaction="/requests/new/disposal" data-bulk { (w.tv("disposal")) }
                        " "
                        button type="submit" formaction="/requests/new/damage" data-bulk { (w.tv("damage")) }
                    }
                    @if w.role == Role::UnitStaff {
                        " "
                        button type="submit" formaction="/requests/new/intake" data-bulk { (w.tv("intake")) }
                    }
                }
            }
            div.scroll { table.assets {
                thead { tr {
                    th { input type="checkbox" data-select-all; }
                    @for c in COLUMNS { @if show(c) { th { (w.t(c)) } } }
                } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td { input type="checkbox" name="id" value=(a.id) form="bulk" data-select; }
                            @if show("asset_number") { td { a href=(format!("/assets/{}", a.id)) { (a.asset_number) } } }
                            @if show("name") { td { (a.name) } }
                            @if show("category") { td { (cat_name(a.category_id)) } }
                            @if show("model") { td { (a.model.clone().unwrap_or_default()) } }
                            @if show("state") { td { (state_badge(&w, a.state.as_str())) } }
                            @if show("condition") { td { (w.tv(a.condition.as_str())) } }
                            @if show("holder") { td { (holder(&w, a.holder_unit_id, a.holder_location_id)) } }
                            @if show("value") { td.num { (yuan(a.original_value_fen)) } }
                            @if show("purchase_date") { td { (a.purchase_date.clone().unwrap_or_default()) } }
                            @if show("epc") { td.mono { (a.epc.clone().unwrap_or_default()) } }
                            @if show("last_seen") { td { (a.last_seen_at.as_ref().map(when).unwrap_or_default()) } }
                        }
                    }
                }
            } }
            nav.pager {
                @if page.page > 1 { a href=(link(page.page - 1)) { (w.t("prev")) } }
                span { (page.page) " / " (pages.max(1)) }
                @if page.page < pages { a href=(link(page.page + 1)) { (w.t("next")) } }
            }
        }
    };
    let resp = layout(&w, w.t("register"), body);
    if f.cols.is_some() {
        set_cookie(
            resp,
            &format!(
                "cols_assets={}; SameSite=Lax; Path=/; Max-Age=31536000",
                chosen.join(".")
            ),
        )
    } else {
        resp
    }
}

fn holder(w: &Web, unit: Option<i64>, location: Option<i64>) -> String {
    match (unit, location) {
        (Some(u), _) => format!("{} #{u}", w.t("unit")),
        (_, Some(l)) => format!("{} #{l}", w.t("location")),
        _ => String::new(),
    }
}

async fn asset_page(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    let d = tryp!(w, st.store.asset_detail(id).await);
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAsset, d.asset.scope())
    );
    let a = &d.asset;
    let can_list = a.state == AssetState::Allocated
        && authorize(&w.ctx.actor, Action::ListIdle, a.scope()).is_ok();
    let can_photo = authorize(&w.ctx.actor, Action::UpdateAsset, a.scope()).is_ok();
    let has_photo = tryp!(w, st.store.asset_photo(id).await).is_some();
    let body = html! {
        div.asset {
            @if has_photo {
                img.photo src=(format!("/assets/{id}/photo")) alt=(a.name) data-test="asset-photo";
            } @else {
                div.photo aria-hidden="true" { "📦" }
            }
            dl {
                dt { (w.t("asset_number")) } dd { (a.asset_number) }
                dt { (w.t("name")) } dd { (a.name) }
                dt { (w.t("state")) } dd { (state_badge(&w, a.state.as_str())) }
                dt { (w.t("condition")) } dd { (w.tv(a.condition.as_str())) }
                dt { (w.t("model")) } dd { (a.model.clone().unwrap_or_default()) }
                dt { (w.t("value")) } dd { (yuan(a.original_value_fen)) }
                dt { (w.t("purchase_date")) } dd { (a.purchase_date.clone().unwrap_or_default()) }
                dt { (w.t("holder")) } dd { (holder(&w, a.holder_unit_id, a.holder_location_id)) }
                dt { (w.t("epc")) } dd.mono { (a.epc.clone().unwrap_or_default()) }
                dt { (w.t("last_seen")) } dd { (a.last_seen_at.as_ref().map(when).unwrap_or_default()) }
            }
        }
        @if can_photo {
            form.inline method="post" action=(format!("/assets/{id}/photo")) enctype="multipart/form-data" {
                label { (w.t("photo")) " (PNG / JPEG / WebP, ≤ 5 MB) " input type="file" name="file" accept="image/png,image/jpeg,image/webp" required; }
                button type="submit" data-test="upload-photo" { (w.t("upload")) }
            }
        }
        @if can_list {
            form method="post" action=(format!("/assets/{id}/idle")) {
                label { (w.t("notes")) input name="notes"; }
                button type="submit" { (w.t("list_idle")) }
            }
        }
        h2 { (w.t("timeline")) }
        ol.timeline {
            @for e in &d.timeline {
                li {
                    time { (when(&crate::time::ts(e.at))) }
                    " " strong { (e.action) } " " span { (e.actor) }
                    @if let Some(r) = &e.reason { " — " (r) }
                    @if let Some(p) = &e.place { " @ " (p) }
                }
            }
        }
    };
    layout(&w, &format!("{} {}", a.asset_number, a.name), body)
}

async fn asset_list_idle(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    tryp!(
        w,
        st.store
            .list_idle(w.ctx.clone(), id, text(&f, "notes"))
            .await
    );
    see_other(&format!("/assets/{id}"))
}

// ---------------------------------------------------------------------------
// Requests.

#[derive(Debug, Default, serde::Deserialize)]
struct RequestFilter {
    kind: Option<String>,
    stage: Option<String>,
    page: Option<i64>,
}

async fn requests(State(st): State<AppState>, w: Web, Query(f): Query<RequestFilter>) -> Response {
    let page = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    kind: f.kind.clone().filter(|s| !s.is_empty()),
                    stage: f.stage.clone().filter(|s| !s.is_empty()),
                    page: f.page,
                    per_page: Some(50),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let kinds: &[RequestKind] = match w.role {
        Role::UnitStaff => &[
            RequestKind::Loan,
            RequestKind::Allocation,
            RequestKind::Purchase,
            RequestKind::Intake,
            RequestKind::Disposal,
            RequestKind::Damage,
        ],
        Role::Keeper => &[RequestKind::Disposal, RequestKind::Damage],
        _ => &[],
    };
    let body = html! {
        @if !kinds.is_empty() {
            p.actions { (w.t("new_request")) ": "
                @for k in kinds { a.button href=(format!("/requests/new/{}", k.as_str())) { (w.tv(k.as_str())) } " " }
            }
        }
        form.filters method="get" action="/requests" {
            select name="kind" {
                option value="" { (w.t("kind")) ": " (w.t("all")) }
                @for k in RequestKind::ALL { option value=(k.as_str()) selected[f.kind.as_deref() == Some(k.as_str())] { (w.tv(k.as_str())) } }
            }
            select name="stage" {
                option value="" { (w.t("stage")) ": " (w.t("all")) }
                @for s in Stage::ALL { option value=(s.as_str()) selected[f.stage.as_deref() == Some(s.as_str())] { (stage_word(&w, *s)) } }
            }
            button type="submit" { (w.t("search")) }
        }
        p.summary { (w.t("total")) " " (page.total) }
        (request_table(&w, &page.items))
    };
    layout(&w, w.t("requests"), body)
}

/// Fields of the new-request form per kind.
fn request_fields(kind: RequestKind) -> &'static [&'static str] {
    match kind {
        RequestKind::Loan => &[
            "category_id",
            "quantity",
            "asset_ids",
            "reason",
            "loan_start",
            "loan_due",
        ],
        RequestKind::Allocation => &["category_id", "quantity", "asset_ids", "reason"],
        RequestKind::Purchase => &["category_id", "quantity", "budget", "reason", "needed_by"],
        RequestKind::Transfer | RequestKind::Intake => &["asset_ids", "reason"],
        RequestKind::Disposal => &["asset_ids", "disposal_method", "reason"],
        RequestKind::Damage => &["asset_ids", "loss", "reason"],
    }
}

async fn render_new_request(
    st: &AppState,
    w: &Web,
    kind: RequestKind,
    values: &Form,
    err: Option<&AppError>,
) -> Response {
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let fields = request_fields(kind);
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let word = |k: &str| match k {
        "budget" => w.t("budget"),
        "asset_ids" => w.t("asset_ids"),
        "category_id" => w.t("category"),
        other => w.t(other),
    };
    let body = html! {
        (form_error(w.lang, err, &["category_id", "quantity", "asset_ids", "budget_fen", "reason", "needed_by", "loan_start", "loan_due", "disposal_method", "loss"]))
        form.stack method="post" action=(format!("/requests/new/{}", kind.as_str())) novalidate {
            @for f in fields {
                @let api_field = if *f == "budget" { "budget_fen" } else { f };
                label {
                    (word(f))
                    @match *f {
                        "category_id" => {
                            select name="category_id" {
                                option value="" { "—" }
                                @for c in &cats { option value=(c.id) selected[v("category_id") == c.id.to_string()] { (c.name) } }
                            }
                        }
                        "reason" => { textarea name="reason" rows="2" { (v("reason")) } }
                        "loan_start" | "loan_due" | "needed_by" => { input type="date" name=(f) value=(v(f)); }
                        "quantity" => { input type="number" min="1" name="quantity" value=(v("quantity")); }
                        "disposal_method" => {
                            select name="disposal_method" {
                                @for m in ["scrap", "auction", "transfer_out"] { option value=(m) selected[v("disposal_method") == m] { (w.tv(m)) } }
                            }
                        }
                        "loss" => { input type="checkbox" name="loss" value="1" checked[v("loss") == "1"]; }
                        _ => { input name=(f) value=(v(f)); }
                    }
                    (field_error(w.lang, err, api_field))
                }
            }
            button type="submit" { (w.t("submit")) }
        }
    };
    let mut resp = layout(
        w,
        &format!("{} · {}", w.t("new_request"), w.tv(kind.as_str())),
        body,
    );
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

async fn new_request(
    State(st): State<AppState>,
    w: Web,
    Path(kind): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some(kind) = RequestKind::parse(&kind) else {
        return fail(&w, AppError::not_found("request kind", kind));
    };
    let mut values = Form::new();
    // Bulk selection from the register: ?id=1&id=2 pre-fills the assets.
    let ids: Vec<String> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v)
            .collect();
    if !ids.is_empty() {
        values.insert("asset_ids".into(), ids.join(","));
    }
    render_new_request(&st, &w, kind, &values, None).await
}

fn parse_ids(field: &str, s: &str) -> Result<Vec<i64>, AppError> {
    s.split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse().map_err(|_| {
                Reason::BadId {
                    field: field.into(),
                    value: p.into(),
                }
                .into()
            })
        })
        .collect()
}

fn request_from_form(kind: RequestKind, f: &Form) -> Result<NewRequest, AppError> {
    let ids = match text(f, "asset_ids") {
        Some(s) => Some(parse_ids("asset_ids", &s)?),
        None => None,
    };
    let budget = match text(f, "budget") {
        Some(b) => Some(parse_yuan("budget_fen", &b)?),
        None => None,
    };
    Ok(NewRequest {
        kind,
        category_id: get_i64(f, "category_id")?,
        quantity: get_i64(f, "quantity")?,
        asset_ids: ids,
        budget_fen: budget,
        reason: text(f, "reason"),
        needed_by: text(f, "needed_by"),
        loan_start: text(f, "loan_start"),
        loan_due: text(f, "loan_due"),
        disposal_method: text(f, "disposal_method")
            .as_deref()
            .and_then(crate::workflow::DisposalMethod::parse),
        loss: Some(f.get("loss").is_some()),
        unit_id: None,
    })
}

async fn new_request_submit(
    State(st): State<AppState>,
    w: Web,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    let Some(kind) = RequestKind::parse(&kind) else {
        return fail(&w, AppError::not_found("request kind", kind));
    };
    let f = form(&body);
    let result = match request_from_form(kind, &f) {
        Ok(new) => st.store.create_request(w.ctx.clone(), new).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => see_other(&format!("/requests/{}", r.id)),
        Err(e) if e.kind == ErrorKind::Forbidden => fail(&w, e),
        Err(e) => render_new_request(&st, &w, kind, &f, Some(&e)).await,
    }
}

/// Which step forms this person sees on this request.
fn step_forms(w: &Web, r: &Request, err: Option<&AppError>) -> Markup {
    use crate::workflow::step as chain;
    let can =
        |a: crate::workflow::StepKind| chain(r.kind, r.stage, a, w.role, r.disposal_method).is_ok();
    use crate::workflow::StepKind as K;
    let action = format!("/requests/{}/step", r.id);
    let comment = html! { label { (w.t("comment")) input name="comment"; (field_error(w.lang, err, "comment")) } };
    html! {
        (form_error(w.lang, err, &["comment", "amount_fen", "appraised_value_fen", "appraiser", "report_ref", "hammer_price_fen", "buyer", "treasury_ref", "responsible", "remedy", "supplier", "contract_number", "unit_price_fen", "location_id", "received"]))
        div.steps {
            @if can(K::Approve) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="approve";
                    (comment)
                    button type="submit" data-test="approve" { (w.t("approve")) }
                }
            }
            @if can(K::Reject) {
                form.stack method="post" action=(action) data-confirm=(w.t("confirm_delete")) {
                    input type="hidden" name="action" value="reject";
                    label { (w.t("comment")) input name="comment" required; (field_error(w.lang, err, "comment")) }
                    button.danger type="submit" { (w.t("reject")) }
                }
            }
            @if can(K::Withdraw) && (w.role == Role::UnitStaff || r.applicant.ends_with(&format!(":{}", w.username))) {
                form method="post" action=(action) data-confirm=(w.t("confirm_delete")) {
                    input type="hidden" name="action" value="withdraw";
                    button.danger type="submit" { (w.t("withdraw")) }
                }
            }
            @if can(K::ConfirmReceipt) {
                form method="post" action=(action) {
                    input type="hidden" name="action" value="confirm_receipt";
                    button type="submit" data-test="confirm-receipt" { (w.t("confirm_receipt")) }
                }
            }
            @if can(K::CheckOut) || can(K::ReturnItems) {
                p { a.button href=(format!("/requests/{}/desk", r.id)) data-test="open-desk" { (w.t("desk")) } }
            }
            @if can(K::Appraise) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="appraise";
                    label { (w.t("appraised_value")) input name="appraised_value" required; (field_error(w.lang, err, "appraised_value_fen")) }
                    label { (w.t("appraiser")) input name="appraiser" required; (field_error(w.lang, err, "appraiser")) }
                    label { (w.t("report_ref")) input name="report_ref" required; (field_error(w.lang, err, "report_ref")) }
                    button type="submit" { (w.t("appraise")) }
                }
            }
            @if can(K::RecordSale) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="record_sale";
                    label { (w.t("hammer_price")) input name="hammer_price" required; (field_error(w.lang, err, "hammer_price_fen")) }
                    label { (w.t("buyer")) input name="buyer" required; (field_error(w.lang, err, "buyer")) }
                    button type="submit" { (w.t("record_sale")) }
                }
            }
            @if can(K::ConfirmRemittance) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="confirm_remittance";
                    label { (w.t("amount")) input name="amount" value=(r.hammer_fen.map(yuan).unwrap_or_default()) required; (field_error(w.lang, err, "amount_fen")) }
                    label { (w.t("treasury_ref")) input name="treasury_ref" required; (field_error(w.lang, err, "treasury_ref")) }
                    button type="submit" { (w.t("confirm_remittance")) }
                }
            }
            @if can(K::DecideCause) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="decide_cause";
                    label { (w.t("cause")) select name="cause" { option value="human" { (w.t("human")) } option value="natural" { (w.t("natural")) } } }
                    label { (w.t("responsible")) input name="responsible"; (field_error(w.lang, err, "responsible")) }
                    label { (w.t("remedy")) select name="remedy" { option value="compensate" { (w.t("compensate")) } option value="repair" { (w.t("repair")) } } (field_error(w.lang, err, "remedy")) }
                    label { (w.t("amount")) input name="amount"; (field_error(w.lang, err, "amount_fen")) }
                    (comment)
                    button type="submit" { (w.t("decide_cause")) }
                }
            }
            @if can(K::ConfirmPayment) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="confirm_payment";
                    label { (w.t("amount")) input name="amount" value=(r.compensation_fen.map(yuan).unwrap_or_default()) required; (field_error(w.lang, err, "amount_fen")) }
                    label { (w.t("treasury_ref")) input name="receipt_ref"; }
                    button type="submit" data-test="confirm-payment" { (w.t("confirm_payment")) }
                }
            }
            @if can(K::Procure) {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="procure";
                    label { (w.t("supplier")) input name="supplier" required; (field_error(w.lang, err, "supplier")) }
                    label { (w.t("contract_number")) input name="contract_number" required; (field_error(w.lang, err, "contract_number")) }
                    label { (w.t("unit_price")) input name="unit_price" required; (field_error(w.lang, err, "unit_price_fen")) }
                    button type="submit" { (w.t("procure")) }
                }
            }
            @if can(K::Receive) && r.kind == RequestKind::Purchase {
                form.stack method="post" action=(action) {
                    input type="hidden" name="action" value="receive";
                    label { (w.t("location")) input name="location_id" required; (field_error(w.lang, err, "location_id")) }
                    label { (w.t("received")) input name="received" value=(r.quantity.unwrap_or(0)); (field_error(w.lang, err, "received")) }
                    button type="submit" { (w.t("receive")) }
                }
            }
        }
    }
}

async fn render_request(st: &AppState, w: &Web, id: i64, err: Option<&AppError>) -> Response {
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let money = |v: Option<i64>| v.map(yuan).unwrap_or_else(|| "—".into());
    // For a purchase awaiting the approver: what could fulfil it instead.
    let matches = if r.kind == RequestKind::Purchase
        && crate::workflow::step(
            r.kind,
            r.stage,
            crate::workflow::StepKind::Fulfil,
            w.role,
            None,
        )
        .is_ok()
    {
        Some(tryp!(
            w,
            st.store.purchase_matches(w.ctx.actor.clone(), id).await
        ))
    } else {
        None
    };
    let can_upload = authorize(
        &w.ctx.actor,
        Action::ActOnRequest,
        r.unit_id.map_or(Scope::Warehouse, Scope::Unit),
    )
    .is_ok()
        && !r.stage.is_terminal();
    let body = html! {
        dl.request {
            dt { (w.t("kind")) } dd { (w.tv(r.kind.as_str())) }
            dt { (w.t("stage")) } dd data-test="stage" { (stage_word(w, r.stage)) @if r.overdue { " " span.badge.s-lost { (w.t("overdue")) } } }
            dt { (w.t("applicant")) } dd { (r.applicant) }
            dt { (w.t("unit")) } dd { (r.unit_id.map(|u| u.to_string()).unwrap_or_default()) }
            dt { (w.t("reason")) } dd { (r.reason.clone().unwrap_or_default()) }
            @if let Some(q) = r.quantity { dt { (w.t("quantity")) } dd { (q) } }
            @if r.budget_fen.is_some() { dt { (w.t("budget")) } dd { (money(r.budget_fen)) } }
            @if let (Some(a), Some(b)) = (&r.loan_start, &r.loan_due) { dt { (w.t("loan_due")) } dd { (a) " → " (b) } }
            @if r.compensation_fen.is_some() {
                dt { (w.t("owed")) } dd data-test="owed" { (money(r.compensation_fen)) }
                dt { (w.t("paid")) } dd { (money(r.compensation_paid_fen)) }
            }
            @if r.hammer_fen.is_some() { dt { (w.t("hammer_price")) } dd { (money(r.hammer_fen)) } }
            @if r.savings_fen.is_some() { dt { "节约资金" } dd { (money(r.savings_fen)) } }
        }
        @if let Some(m) = &matches {
            section.matches {
                h2 { (w.t("reuse_first")) }
                p { (w.t("in_stock")) ": " (m.in_stock.len()) " · " (w.t("virtual_warehouse")) ": " (m.listed_idle.len()) }
                @if !(m.in_stock.is_empty() && m.listed_idle.is_empty()) {
                    @let want = r.quantity.unwrap_or(1).max(1) as usize;
                    @let pick: Vec<String> = m.listed_idle.iter().chain(m.in_stock.iter()).take(want).map(|i| i.to_string()).collect();
                    form.stack method="post" action=(format!("/requests/{}/step", r.id)) {
                        input type="hidden" name="action" value="fulfil";
                        label { (w.t("asset_ids")) input name="asset_ids" value=(pick.join(",")); (field_error(w.lang, err, "asset_ids")) }
                        button type="submit" data-test="fulfil" { (w.t("fulfil")) }
                    }
                }
            }
        }
        (step_forms(w, &r, err))
        h2 { (w.t("items")) " (" (r.items.len()) ")" }
        @if r.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            table { tbody {
                @for i in &r.items {
                    tr {
                        td { a href=(format!("/assets/{}", i.asset_id)) { (i.asset_number) } }
                        td { (i.name) } td { (state_badge(w, &i.asset_state)) } td { (i.status) }
                        td.mono { @match &i.epc { Some(e) => { (e) }, None => { span.badge.s-lost { (w.t("no_tag")) } } } }
                        td { (i.return_condition.clone().map(|c| w.tv(&c)).unwrap_or_default()) }
                    }
                }
            } }
        }
        h2 { (w.t("history")) }
        ol.timeline {
            @for s in &r.steps {
                li { time { (when(&s.at)) } " " strong { (w.tv(&s.action)) } " " (s.actor) @if let Some(c) = &s.comment { " — " (c) } }
            }
        }
        h2 { (w.t("documents")) }
        @if r.documents.is_empty() { p.empty { (w.t("empty")) } }
        ul {
            @for d in &r.documents {
                li { a href=(format!("/api/v1/documents/{}", d.id)) { (d.filename) } " (" (d.size) " B)" }
            }
        }
        @if can_upload {
            form.stack method="post" action=(format!("/requests/{}/documents", r.id)) enctype="multipart/form-data" {
                label { (w.t("documents")) " (PDF / PNG / JPEG / WebP, ≤ 5 MB)" input type="file" name="file" required; (field_error(w.lang, err, "content-type")) (field_error(w.lang, err, "body")) }
                button type="submit" { (w.t("upload")) }
            }
        }
    };
    let mut resp = layout(w, &format!("{} #{}", w.tv(r.kind.as_str()), r.id), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

async fn request_page(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    render_request(&st, &w, id, None).await
}

fn money_field(f: &Form, form_field: &str, api_field: &str) -> Result<i64, AppError> {
    match text(f, form_field) {
        Some(v) => parse_yuan(api_field, &v),
        None => Err(Reason::Required {
            field: api_field.into(),
        }
        .into()),
    }
}

fn step_from_form(f: &Form) -> Result<StepBody, AppError> {
    let action = text(f, "action").unwrap_or_default();
    let mut v = json!({ "action": action });
    if let Some(c) = text(f, "comment") {
        v["comment"] = json!(c);
    }
    match action.as_str() {
        "reject" => {
            v["comment"] = json!(f.get("comment").cloned().unwrap_or_default());
        }
        "appraise" => {
            v["appraised_value_fen"] =
                json!(money_field(f, "appraised_value", "appraised_value_fen")?);
            v["appraiser"] = json!(f.get("appraiser").cloned().unwrap_or_default());
            v["report_ref"] = json!(f.get("report_ref").cloned().unwrap_or_default());
        }
        "record_sale" => {
            v["hammer_price_fen"] = json!(money_field(f, "hammer_price", "hammer_price_fen")?);
            v["buyer"] = json!(f.get("buyer").cloned().unwrap_or_default());
        }
        "confirm_remittance" => {
            v["amount_fen"] = json!(money_field(f, "amount", "amount_fen")?);
            v["treasury_ref"] = json!(f.get("treasury_ref").cloned().unwrap_or_default());
        }
        "decide_cause" => {
            let cause = text(f, "cause").unwrap_or_default();
            v["cause"] = json!(cause);
            if cause == "human" {
                v["responsible"] = json!(text(f, "responsible"));
                v["remedy"] = json!(text(f, "remedy"));
                if let Some(a) = text(f, "amount") {
                    v["amount_fen"] = json!(parse_yuan("amount_fen", &a)?);
                }
            }
        }
        "confirm_payment" => {
            v["amount_fen"] = json!(money_field(f, "amount", "amount_fen")?);
            v["receipt_ref"] = json!(text(f, "receipt_ref"));
        }
        "procure" => {
            v["supplier"] = json!(f.get("supplier").cloned().unwrap_or_default());
            v["contract_number"] = json!(f.get("contract_number").cloned().unwrap_or_default());
            v["unit_price_fen"] = json!(money_field(f, "unit_price", "unit_price_fen")?);
        }
        "fulfil" => {
            v["asset_ids"] = json!(parse_ids(
                "asset_ids",
                &f.get("asset_ids").cloned().unwrap_or_default()
            )?);
        }
        "receive" => {
            v["location_id"] =
                json!(get_i64(f, "location_id")?.ok_or_else(|| required("location_id"))?);
            v["received"] = json!(get_i64(f, "received")?);
        }
        _ => {}
    }
    serde_json::from_value(v).map_err(|e| not_understood("action", e))
}

async fn request_step(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let result = match step_from_form(&f) {
        Ok(b) => st.store.take_step(w.ctx.clone(), id, b).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/requests/{id}")),
        Err(e) if e.kind == ErrorKind::Internal => fail(&w, e),
        Err(e) => render_request(&st, &w, id, Some(&e)).await,
    }
}

// ---------------------------------------------------------------------------
// The desk: check-outs and returns filled by the desk reader's scans.

#[derive(Debug, Default, serde::Deserialize)]
struct DeskQuery {
    reader: Option<i64>,
    /// Unix ms: scans from this moment count (set when scanning starts).
    since: Option<i64>,
}

struct DeskView {
    scans: Vec<(String, Option<i64>, String)>,
    matched: usize,
    extras: usize,
    shortfall: i64,
}

async fn desk_view(
    st: &AppState,
    w: &Web,
    id: i64,
    reader: i64,
    since: i64,
) -> Result<DeskView, AppError> {
    let r = st.store.request(w.ctx.actor.clone(), id).await?;
    let epcs = st.store.desk_scans(reader, since).await?;
    if r.stage == Stage::OnLoan {
        // Returns: which scanned items are out on this loan.
        let out: Vec<&crate::workflow::RequestItem> =
            r.items.iter().filter(|i| i.status == "received").collect();
        let mut scans = Vec::new();
        let mut matched = 0;
        for (epc, asset) in &epcs {
            let ok = asset.is_some_and(|a| out.iter().any(|i| i.asset_id == a));
            if ok {
                matched += 1;
            }
            scans.push((
                epc.clone(),
                *asset,
                if ok { "✓".into() } else { "—".into() },
            ));
        }
        return Ok(DeskView {
            shortfall: out.len() as i64 - matched as i64,
            extras: scans.len() - matched,
            matched,
            scans,
        });
    }
    let dry = StepBody::CheckOut {
        epcs: epcs.iter().map(|(e, _)| e.clone()).collect(),
        dry_run: true,
        accept_shortfall: false,
        comment: None,
    };
    let out = if epcs.is_empty() {
        None
    } else {
        st.store.take_step(w.ctx.clone(), id, dry).await?.scan
    };
    let mut scans = Vec::new();
    let (mut matched, mut extras) = (0, 0);
    let shortfall = match &out {
        Some(m) => {
            for (epc, asset) in &epcs {
                let why = m
                    .extras
                    .iter()
                    .find(|x| &x.epc == epc)
                    .map(|x| x.reason.clone());
                if why.is_none() {
                    matched += 1;
                } else {
                    extras += 1;
                }
                scans.push((epc.clone(), *asset, why.unwrap_or_else(|| "✓".into())));
            }
            m.shortfall
        }
        None => r.quantity.unwrap_or(r.items.len() as i64),
    };
    Ok(DeskView {
        scans,
        matched,
        extras,
        shortfall,
    })
}

async fn desk_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
) -> Response {
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let readers = tryp!(w, st.store.list_readers(1, 500).await).items;
    let desks: Vec<_> = readers
        .into_iter()
        .filter(|r| r.role == crate::register::ReaderRole::Desk)
        .collect();
    let returning = r.stage == Stage::OnLoan;
    let body = match (q.reader, q.since) {
        (Some(reader), Some(since)) => {
            let v = tryp!(w, desk_view(&st, &w, id, reader, since).await);
            let events = format!("/requests/{id}/desk/events?reader={reader}&since={since}");
            html! {
                p.hint { (w.t("live_hint")) }
                section.cards data-live=(events) {
                    div.card { strong data-live-key="scanned" data-test="scanned" { (v.scans.len()) } span { (w.t("scanned")) } }
                    div.card { strong data-live-key="matched" data-test="matched" { (v.matched) } span { (w.t("matched")) } }
                    div.card { strong data-live-key="extras" { (v.extras) } span { (w.t("extras")) } }
                    div.card { strong data-live-key="shortfall" data-test="shortfall" { (v.shortfall) } span { (w.t("shortfall")) } }
                }
                @if returning {
                    form.stack method="post" action=(format!("/requests/{id}/desk/return")) {
                        input type="hidden" name="reader" value=(reader);
                        input type="hidden" name="since" value=(since);
                        table { tbody data-live-rows data-conditions=(format!("good:{},worn:{},damaged:{}", w.tv("good"), w.tv("worn"), w.tv("damaged"))) {
                            @for (epc, asset, mark) in &v.scans {
                                tr {
                                    td.mono { (epc) } td { (mark) }
                                    td { @if let Some(a) = asset {
                                        select name=(format!("condition_{a}")) data-test=(format!("condition-{a}")) {
                                            @for c in ["good", "worn", "damaged"] { option value=(c) { (w.tv(c)) } }
                                        }
                                    } }
                                }
                            }
                        } }
                        button type="submit" data-test="record-returns" { (w.t("return_items")) }
                    }
                } @else {
                    form method="post" action=(format!("/requests/{id}/desk/check-out")) {
                        input type="hidden" name="reader" value=(reader);
                        input type="hidden" name="since" value=(since);
                        label { input type="checkbox" name="accept_shortfall" value="1"; (w.t("accept_shortfall")) }
                        button type="submit" data-test="check-out" { (w.t("check_out")) }
                    }
                    table { tbody data-live-rows {
                        @for (epc, _, mark) in &v.scans { tr { td.mono { (epc) } td { (mark) } } }
                    } }
                }
            }
        }
        _ => html! {
            form.stack method="get" action=(format!("/requests/{id}/desk")) {
                label { (w.t("desk_reader"))
                    select name="reader" {
                        @for d in &desks { option value=(d.id) { (d.name) } }
                    }
                }
                input type="hidden" name="since" value=(crate::time::now_ms());
                button type="submit" data-test="start-scan" { (w.t("start_scan")) }
            }
        },
    };
    layout(
        &w,
        &format!("{} · {} #{}", w.t("desk"), w.tv(r.kind.as_str()), r.id),
        body,
    )
}

/// Live desk counts: one event per second with the current view.
async fn desk_events(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    live: LiveSlot,
) -> Response {
    let (Some(reader), Some(since)) = (q.reader, q.since) else {
        return fail(
            &w,
            required(if q.reader.is_none() {
                "reader"
            } else {
                "since"
            }),
        );
    };
    let stream = futures_util::stream::unfold((st, w), move |(st, w)| async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let data = match desk_view(&st, &w, id, reader, since).await {
            Ok(v) => json!({
                "scanned": v.scans.len(), "matched": v.matched, "extras": v.extras,
                "shortfall": v.shortfall,
                "rows": v.scans.iter().map(|(e, a, m)| json!([e, m, a])).collect::<Vec<Value>>(),
            }),
            Err(e) => json!({ "error": e.text(w.lang) }),
        };
        let ev = Event::default().event("counts").data(data.to_string());
        Some((Ok::<_, Infallible>(ev), (st, w)))
    });
    Sse::new(live.bind(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn desk_check_out(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let epcs = tryp!(w, st.store.desk_scans(reader, since).await);
    let step = StepBody::CheckOut {
        epcs: epcs.into_iter().map(|(e, _)| e).collect(),
        dry_run: false,
        accept_shortfall: f.contains_key("accept_shortfall"),
        comment: None,
    };
    match st.store.take_step(w.ctx.clone(), id, step).await {
        Ok(out) if out.request.stage == Stage::Checkout => see_other(&format!(
            "/requests/{id}/desk?reader={reader}&since={}",
            crate::time::now_ms()
        )),
        Ok(_) => see_other(&format!("/requests/{id}")),
        Err(e) => fail(&w, e),
    }
}

async fn desk_return(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let reader = tryp!(w, get_i64(&f, "reader")).unwrap_or(-1);
    let since = tryp!(w, get_i64(&f, "since")).unwrap_or(0);
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let scans = tryp!(w, st.store.desk_scans(reader, since).await);
    let items: Vec<Value> = scans
        .iter()
        .filter_map(|(_, a)| *a)
        .filter(|a| {
            r.items
                .iter()
                .any(|i| i.asset_id == *a && i.status == "received")
        })
        .map(|a| {
            let c = f
                .get(&format!("condition_{a}"))
                .cloned()
                .unwrap_or_else(|| "good".into());
            json!({"asset_id": a, "condition": c})
        })
        .collect();
    if items.is_empty() {
        return fail(&w, Reason::NothingScanned.into());
    }
    let step: StepBody = tryp!(
        w,
        serde_json::from_value(json!({"action": "return_items", "items": items}))
            .map_err(|e| not_understood("items", e))
    );
    tryp!(w, st.store.take_step(w.ctx.clone(), id, step).await);
    see_other(&format!("/requests/{id}"))
}

// ---------------------------------------------------------------------------
// Virtual warehouse, stock-takes, alarms, reports, administration.

async fn virtual_warehouse(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::BrowseVirtualWarehouse, Scope::Global)
    );
    let page = tryp!(
        w,
        st.store
            .virtual_warehouse(
                None,
                Paging {
                    page: Some(1),
                    per_page: Some(200)
                }
            )
            .await
    );
    let body = html! {
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            table { tbody {
                @for l in &page.items {
                    tr {
                        td { @if l.has_photo { img.thumb src=(format!("/assets/{}/photo", l.asset_id)) alt=(l.name); } }
                        td { (l.asset_number) } td { (l.name) } td { (l.unit_name) }
                        td { (w.tv(l.condition.as_str())) } td { (l.notes.clone().unwrap_or_default()) }
                        td { @if w.role == Role::UnitStaff && w.unit_id != Some(l.unit_id) && !l.requested {
                            form method="post" action="/requests/new/transfer" {
                                input type="hidden" name="asset_ids" value=(l.asset_id);
                                input type="hidden" name="reason" value="虚拟仓调剂";
                                button type="submit" { (w.t("ask_for_it")) }
                            }
                        } }
                    }
                }
            } }
        }
    };
    layout(&w, w.t("virtual_warehouse"), body)
}

async fn stocktakes(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let page = tryp!(w, st.store.list_stocktakes(1, 100).await);
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse).is_ok();
    let warehouses = tryp!(w, st.store.list_warehouses(1, 100).await).items;
    let mut locations = Vec::new();
    for wh in &warehouses {
        for l in tryp!(w, st.store.list_locations(wh.id, 1, 500).await).items {
            locations.push((wh.name.clone(), l));
        }
    }
    let handhelds: Vec<_> = tryp!(w, st.store.list_readers(1, 500).await)
        .items
        .into_iter()
        .filter(|r| r.role == crate::register::ReaderRole::Handheld)
        .collect();
    let body = html! {
        @if can_run {
            form.stack method="post" action="/stocktakes" {
                label { (w.t("warehouses")) select name="warehouse_id" { @for wh in &warehouses { option value=(wh.id) { (wh.name) } } } }
                label { (w.t("location"))
                    select name="location_id" {
                        option value="" { (w.t("all")) }
                        @for (wh, l) in &locations { option value=(l.id) { (wh) " · " (l.code) " " (l.name) } }
                    }
                }
                fieldset { legend { (w.t("readers")) }
                    @for r in &handhelds { label { input type="checkbox" name="reader_id" value=(r.id) checked; (r.name) } }
                }
                button type="submit" data-test="open-stocktake" { (w.t("open_stocktake")) }
            }
        }
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            table { tbody {
                @for s in &page.items {
                    tr { td { a href=(format!("/stocktakes/{}", s.id)) { "#" (s.id) } } td { (w.tv(&s.status)) } td { (when(&s.opened_at)) } td { (s.opened_by) } }
                }
            } }
        }
    };
    layout(&w, w.t("stocktakes"), body)
}

async fn stocktake_page(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let r = tryp!(
        w,
        st.store
            .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
            .await
    );
    let c = &r.counts;
    let open = r.stocktake.status == "open";
    let can_run = authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse).is_ok();
    // The differences a keeper settles: missing, misplaced, foreign (first 100 each).
    let mut lines = Vec::new();
    if open && can_run {
        for outcome in [
            crate::stocktake::Outcome::Missing,
            crate::stocktake::Outcome::Misplaced,
            crate::stocktake::Outcome::Foreign,
        ] {
            let part = tryp!(
                w,
                st.store
                    .stocktake_reconciliation(
                        id,
                        LineQuery {
                            outcome: Some(outcome),
                            page: Some((1, 100)),
                        },
                    )
                    .await
            );
            lines.extend(part.lines);
        }
    }
    let body = html! {
        p.hint { (w.t("live_hint")) }
        section.cards data-live=(format!("/stocktakes/{id}/events")) {
            div.card { strong data-live-key="expected" { (c.expected) } span { (w.t("expected")) } }
            div.card { strong data-live-key="found" data-test="found" { (c.found) } span { (w.t("found")) } }
            div.card { strong data-live-key="missing" { (c.missing) } span { (w.t("missing")) } }
            div.card { strong data-live-key="misplaced" { (c.misplaced) } span { (w.t("misplaced")) } }
            div.card { strong data-live-key="foreign" { (c.foreign) } span { (w.t("foreign")) } }
        }
        progress max=(c.expected.max(1)) value=(c.found) data-live-progress {}
        p { a href=(format!("/api/v1/stocktakes/{id}/report.csv")) { (w.t("export_csv")) } }
        @if open && can_run {
            h2 { (w.t("differences")) }
            @if lines.is_empty() { p.empty { (w.t("empty")) } } @else {
                table { tbody {
                    @for l in &lines {
                        tr {
                            td { (w.t(l.outcome.as_str())) }
                            td { (l.asset_number.clone().unwrap_or_default()) " " (l.name.clone().unwrap_or_default()) }
                            td.mono { (l.epc.clone().unwrap_or_default()) }
                            td {
                                @if let Some(res) = &l.resolution {
                                    (w.t(res.action.as_str())) @if let Some(c) = &res.comment { " — " (c) }
                                } @else {
                                    form.inline method="post" action=(format!("/stocktakes/{id}/resolve")) {
                                        @if let Some(a) = l.asset_id { input type="hidden" name="asset_id" value=(a); }
                                        @else { input type="hidden" name="epc" value=(l.epc.clone().unwrap_or_default()); }
                                        select name="action" {
                                            @for act in [crate::stocktake::ResolutionAction::Relocate, crate::stocktake::ResolutionAction::MarkMissing, crate::stocktake::ResolutionAction::Ignore] {
                                                @if act.applies_to(l.outcome) { option value=(act.as_str()) { (w.t(act.as_str())) } }
                                            }
                                        }
                                        input name="comment" placeholder=(w.t("comment"));
                                        button type="submit" { (w.t("resolve")) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            form method="post" action=(format!("/stocktakes/{id}/close")) data-confirm=(w.t("confirm_delete")) {
                button.danger type="submit" data-test="close-stocktake" { (w.t("close_stocktake")) }
            }
        }
    };
    layout(&w, &format!("{} #{id}", w.t("stocktakes")), body)
}

async fn stocktake_events(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    live: LiveSlot,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewStockTake, Scope::Warehouse)
    );
    let stream = futures_util::stream::unfold(st, move |st| async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let data = match st
            .store
            .stocktake_reconciliation(id, LineQuery::COUNTS_ONLY)
            .await
        {
            Ok(r) => json!({
                "expected": r.counts.expected, "found": r.counts.found, "missing": r.counts.missing,
                "misplaced": r.counts.misplaced, "foreign": r.counts.foreign,
            }),
            Err(e) => json!({ "error": e.text(w.lang) }),
        };
        let ev = Event::default().event("counts").data(data.to_string());
        Some((Ok::<_, Infallible>(ev), st))
    });
    Sse::new(live.bind(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn alarms(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAlarms, Scope::Global)
    );
    let page = tryp!(w, st.store.list_alarms(None, 1, 200).await);
    let can_ack = authorize(&w.ctx.actor, Action::HandleAlarm, Scope::Global).is_ok();
    let body = html! {
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            table { tbody {
                @for a in &page.items {
                    tr {
                        td { (when(&a.raised_at)) } td { (a.asset_number) " " (a.asset_name) } td.mono { (a.epc) }
                        td { (w.tv(&a.status)) }
                        td { @if a.status == "open" && can_ack {
                            form.inline method="post" action=(format!("/alarms/{}/ack", a.id)) {
                                input name="comment" required placeholder=(w.t("comment"));
                                button type="submit" { (w.t("acknowledge")) }
                            }
                        } @else { (a.comment.clone().unwrap_or_default()) } }
                    }
                }
            } }
        }
    };
    layout(&w, w.t("alarms"), body)
}

async fn alarm_ack(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::HandleAlarm, Scope::Global)
    );
    let f = form(&body);
    let comment = f.get("comment").cloned().unwrap_or_default();
    tryp!(
        w,
        st.store
            .acknowledge_alarm(w.ctx.clone(), id, crate::gate::Acknowledgement { comment })
            .await
    );
    see_other("/alarms")
}

#[derive(Debug, Default, serde::Deserialize)]
struct ReportQuery {
    name: Option<String>,
}

async fn reports(State(st): State<AppState>, w: Web, Query(q): Query<ReportQuery>) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewReports, Scope::Global)
    );
    let name = q.name.unwrap_or_else(|| "assets-by-state".into());
    let r = tryp!(w, st.store.report(name.clone()).await);
    let body = html! {
        nav.tabs { @for (n, title) in crate::store::REPORTS { a href=(format!("/reports?name={n}")) class=@if *n == name { "on" } { (title) } } }
        p { a href=(format!("/api/v1/reports/{name}?format=csv")) { (w.t("export_csv")) } }
        table {
            thead { tr { @for c in &r.columns { th { (c) } } } }
            tbody { @for row in &r.rows { tr { @for v in row { td { (match v { Value::String(s) => w.tv(s), Value::Null => String::new(), o => o.to_string() }) } } } } }
        }
        p { (r.totals.to_string()) }
    };
    layout(&w, &r.title, body)
}

async fn admin(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    let units = tryp!(w, st.store.list_units(1, 500).await).items;
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let daemons = tryp!(w, st.store.list_daemons(1, 500).await).items;
    let (users, _) = tryp!(w, st.store.list_users(1, 500).await);
    let token = w.cookies.get("new_reader_token").cloned();
    let warehouses = tryp!(w, st.store.list_warehouses(1, 100).await).items;
    let mut locations = Vec::new();
    for wh in &warehouses {
        locations.push(tryp!(w, st.store.list_locations(wh.id, 1, 500).await).items);
    }
    let org = tryp!(w, st.store.get_setting("org.name").await).unwrap_or_default();
    let prefix = tryp!(
        w,
        st.store
            .get_setting(crate::commission::COMPANY_PREFIX_KEY)
            .await
    )
    .unwrap_or_default();
    let body = html! {
        @if let Some(t) = token { p.notice { (w.t("token_once")) ": " code { (t) } } }
        h2 { (w.t("settings")) }
        form.stack method="post" action="/admin/settings" {
            label { (w.t("org_name")) input name="org_name" value=(org) required; }
            p { "GS1 company prefix: " code { (prefix) } " " small.hint { (w.t("prefix_fixed")) } }
            button type="submit" { (w.t("save")) }
        }
        section.grid {
            div {
                h2 { (w.t("warehouses")) }
                @for (wh, locs) in warehouses.iter().zip(&locations) {
                    p { strong { (wh.name) } " #" (wh.id) }
                    ul { @for l in locs { li { (l.code) " " (l.name) " (#" (l.id) ")" } } }
                }
                form.stack method="post" action="/admin/warehouses" {
                    label { (w.t("name")) input name="name" required; }
                    button type="submit" { (w.t("create")) }
                }
                form.stack method="post" action="/admin/locations" {
                    label { (w.t("warehouses")) select name="warehouse_id" { @for wh in &warehouses { option value=(wh.id) { (wh.name) } } } }
                    label { (w.t("code")) input name="code" required; }
                    label { (w.t("name")) input name="name" required; }
                    button type="submit" { (w.t("location")) " · " (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("units")) }
                ul { @for u in &units { li { (u.id) " " (u.name) " · " (w.tv(u.level.as_str())) } } }
                form.stack method="post" action="/admin/units" {
                    label { (w.t("name")) input name="name" required; }
                    button type="submit" { (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("users")) }
                ul { @for u in &users { li {
                    (u.username) " · " (w.tv(u.role.as_str()))
                    @if !u.active { " · " span.badge { (w.t("inactive")) } }
                    form.inline method="post" action=(format!("/admin/users/{}/active", u.id)) data-confirm=(w.t("confirm_delete")) {
                        input type="hidden" name="active" value=(if u.active { "false" } else { "true" });
                        button.link type="submit" { (w.t(if u.active { "deactivate" } else { "reactivate" })) }
                    }
                    form.inline method="post" action=(format!("/admin/users/{}/password", u.id)) {
                        input name="password" type="password" autocomplete="new-password" required aria-label=(w.t("new_password"));
                        button.link type="submit" { (w.t("reset_password")) }
                    }
                } } }
                form.stack method="post" action="/admin/users" {
                    label { (w.t("username")) input name="username" required; }
                    label { (w.t("password")) input name="password" type="password" required; }
                    label { (w.t("role")) select name="role" { @for r in ["unit_staff", "keeper", "approver", "finance", "administrator"] { option value=(r) { (w.tv(r)) } } } }
                    label { (w.t("unit")) select name="unit_id" { option value="" { "—" } @for u in &units { option value=(u.id) { (u.name) } } } }
                    button type="submit" { (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("categories")) }
                ul { @for c in &cats { li { (c.code) " " (c.name) } } }
                form.stack method="post" action="/admin/categories" {
                    label { (w.t("code")) input name="code" required; }
                    label { (w.t("name")) input name="name" required; }
                    button type="submit" { (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("daemons")) }
                ul data-test="daemons" {
                    @for d in &daemons {
                        li {
                            strong { (d.daemon_id) }
                            @if d.revoked_at.is_some() { " · " (w.t("revoked")) }
                            ul { @for r in &d.readers { li { (r.name) " · " (r.role.as_str()) } } }
                        }
                    }
                }
                form.stack method="post" action="/admin/daemons" {
                    label { (w.t("daemon_id")) input name="daemon_id" required; }
                    label { (w.t("daemon_readers"))
                        textarea name="readers" rows="3" required placeholder="gate-1:gate\ndesk-1:desk" {}
                    }
                    button type="submit" { (w.t("create")) }
                }
            }
        }
    };
    set_cookie(
        layout(&w, w.t("admin"), body),
        "new_reader_token=; Path=/admin; Max-Age=0",
    )
}

async fn admin_post<T: serde::de::DeserializeOwned>(w: &Web, body: &Bytes) -> Result<T, AppError> {
    authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)?;
    let f = form(body);
    let v: serde_json::Map<String, Value> = f
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let num = (k.ends_with("_id"))
                .then(|| v.parse::<i64>().ok())
                .flatten();
            (k, num.map(Value::from).unwrap_or(Value::String(v)))
        })
        .collect();
    serde_json::from_value(Value::Object(v)).map_err(|e| not_understood("form", e))
}

async fn admin_unit(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let u: crate::register::NewUnit = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_unit(u).await);
    see_other("/admin")
}

async fn admin_user(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let u: crate::register::NewUser = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, u.validate());
    let hash = tryp!(
        w,
        crate::accounts::hash_password_bounded(u.password.clone(), st.config.password_cost).await
    );
    let display = u.display_name.clone().unwrap_or_else(|| u.username.clone());
    tryp!(
        w,
        st.store
            .create_user(u.username, display, hash, u.role, u.unit_id)
            .await
    );
    see_other("/admin")
}

#[derive(serde::Deserialize)]
struct UserChange {
    /// `true`/`false`: reactivate or deactivate.
    active: Option<String>,
    /// A new password set by the administrator.
    password: Option<String>,
}

/// Deactivate/reactivate (`active`) or reset the password (`password`) of a
/// user from the admin page.
async fn admin_user_change(
    State(st): State<AppState>,
    w: Web,
    Path((id, what)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let change: UserChange = tryp!(w, admin_post(&w, &body).await);
    match (what.as_str(), change) {
        (
            "active",
            UserChange {
                active: Some(a), ..
            },
        ) => {
            tryp!(w, st.store.set_user_active(id, a == "true").await);
        }
        ("password", UserChange { password, .. }) => {
            let password = password.unwrap_or_default();
            tryp!(
                w,
                crate::login::reset_password(&st.store, &st.config, id, password).await
            );
        }
        _ => return fail(&w, Reason::NoRoute.into()),
    }
    see_other("/admin")
}

fn own_password_form(w: &Web, err: Option<&AppError>, done: bool) -> Response {
    let fields = ["old_password", "password"];
    let body = html! {
        @if done { p.notice { (w.t("password_changed")) } }
        (form_error(w.lang, err, &fields))
        form.stack method="post" action="/account/password" {
            label { (w.t("old_password")) input name="old_password" type="password" autocomplete="current-password" required; (field_error(w.lang, err, "old_password")) }
            label { (w.t("new_password")) input name="new_password" type="password" autocomplete="new-password" required; (field_error(w.lang, err, "password")) }
            button type="submit" { (w.t("change_password")) }
        }
    };
    let mut resp = layout(w, w.t("change_password"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

async fn own_password_page(w: Web) -> Response {
    own_password_form(&w, None, false)
}

async fn own_password_submit(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let f = form(&body);
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let keep = w.cookies.get(crate::http::respond::SESSION_COOKIE).cloned();
    match crate::login::change_own_password(
        &st.store,
        &st.config,
        w.username.clone(),
        field("old_password"),
        field("new_password"),
        keep,
    )
    .await
    {
        Ok(()) => own_password_form(&w, None, true),
        Err(e) => own_password_form(&w, Some(&e), false),
    }
}

async fn admin_category(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let c: crate::register::NewCategory = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_category(c).await);
    see_other("/admin")
}

/// Registers a daemon from the form: its id and one reader a line, in the
/// command line's `NAME:ROLE[:LOCATION_ID]` form.
async fn admin_daemon(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    let f = form(&body);
    let text = |k: &str| f.get(k).cloned().unwrap_or_default();
    let readers = tryp!(
        w,
        text("readers")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(crate::daemons::parse_reader_spec)
            .collect::<Result<Vec<_>, _>>()
    );
    let created = tryp!(
        w,
        st.store
            .register_daemon(crate::daemons::NewDaemon {
                daemon_id: text("daemon_id"),
                readers,
                expires_at: None,
            })
            .await
    );
    set_cookie(
        see_other("/admin"),
        &format!(
            "new_reader_token={}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=60",
            created.token
        ),
    )
}

async fn upload_document(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let ct = field.content_type().unwrap_or("").to_ascii_lowercase();
                match field.bytes().await {
                    Ok(b) => file = Some((name, ct, b.to_vec())),
                    Err(e) => {
                        let _ = e;
                        let err = AppError::from(Reason::TooLarge {
                            limit_bytes: crate::workflow::MAX_DOCUMENT_BYTES,
                            size: None,
                        });
                        return render_request(&st, &w, id, Some(&err)).await;
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                let err = AppError::from(Reason::UploadUnreadable {
                    detail: e.to_string(),
                });
                return render_request(&st, &w, id, Some(&err)).await;
            }
        }
    }
    let result = match file {
        None => Err(Reason::NoFile.into()),
        Some((name, ct, data)) => match crate::workflow::clean_filename(&name).and_then(|n| {
            crate::workflow::check_document(&ct, &data, crate::workflow::MAX_DOCUMENT_BYTES)
                .map(|()| n)
        }) {
            Ok(n) => st
                .store
                .add_document(w.ctx.actor.clone(), id, n, ct, data)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => see_other(&format!("/requests/{id}")),
        Err(e) => render_request(&st, &w, id, Some(&e)).await,
    }
}

async fn admin_warehouse(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let n: crate::register::NewWarehouse = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_warehouse(n).await);
    see_other("/admin")
}

async fn admin_location(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    let mut f = form(&body);
    let warehouse = tryp!(w, get_i64(&f, "warehouse_id")).unwrap_or(-1);
    f.remove("warehouse_id");
    let body = Bytes::from(serde_urlencoded::to_string(&f).unwrap_or_default());
    let n: crate::register::NewLocation = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_location(warehouse, n).await);
    see_other("/admin")
}

async fn stocktake_open(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let f: Form = pairs.iter().cloned().collect();
    let warehouse = tryp!(w, get_i64(&f, "warehouse_id"));
    let Some(warehouse_id) = warehouse else {
        return fail(&w, required("warehouse_id"));
    };
    let mut reader_ids = Vec::new();
    for (k, v) in &pairs {
        if k == "reader_id" {
            reader_ids.push(tryp!(
                w,
                v.parse::<i64>().map_err(|_| AppError::from(Reason::BadId {
                    field: "reader_id".into(),
                    value: v.clone(),
                }))
            ));
        }
    }
    let new = crate::stocktake::NewStockTake {
        warehouse_id,
        location_id: tryp!(w, get_i64(&f, "location_id")),
        reader_ids,
    };
    let opened = tryp!(w, st.store.open_stocktake(w.ctx.clone(), new).await);
    see_other(&format!("/stocktakes/{}", opened.id))
}

async fn stocktake_resolve(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    let f = form(&body);
    let Some(action) = text(&f, "action")
        .as_deref()
        .and_then(crate::stocktake::ResolutionAction::parse)
    else {
        return fail(&w, required("action"));
    };
    let r = crate::stocktake::NewResolution {
        asset_id: tryp!(w, get_i64(&f, "asset_id")),
        epc: text(&f, "epc"),
        action,
        comment: text(&f, "comment"),
    };
    tryp!(
        w,
        st.store.resolve_stocktake_line(w.ctx.clone(), id, r).await
    );
    see_other(&format!("/stocktakes/{id}"))
}

async fn stocktake_close(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::RunStockTake, Scope::Warehouse)
    );
    tryp!(w, st.store.close_stocktake(w.ctx.clone(), id).await);
    see_other(&format!("/stocktakes/{id}"))
}

async fn admin_settings(State(st): State<AppState>, w: Web, body: Bytes) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    let f = form(&body);
    let name = tryp!(
        w,
        crate::input::required_text(
            "org_name",
            f.get("org_name").map(String::as_str).unwrap_or(""),
            200
        )
    );
    tryp!(
        w,
        st.store.set_settings(vec![("org.name".into(), name)]).await
    );
    see_other("/admin")
}

async fn asset_photo(State(st): State<AppState>, w: Web, Path(id): Path<i64>) -> Response {
    let a = tryp!(w, st.store.asset(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::ViewAsset, a.scope()));
    match tryp!(w, st.store.asset_photo(id).await) {
        Some((ct, data)) => (
            [
                (axum::http::header::CONTENT_TYPE, ct),
                (
                    axum::http::header::X_CONTENT_TYPE_OPTIONS,
                    "nosniff".to_owned(),
                ),
            ],
            data,
        )
            .into_response(),
        None => fail(&w, AppError::not_found("photo of asset", id)),
    }
}

async fn asset_photo_upload(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let ct = field.content_type().unwrap_or("").to_ascii_lowercase();
            match field.bytes().await {
                Ok(b) => file = Some((ct, b.to_vec())),
                Err(e) => {
                    return fail(
                        &w,
                        Reason::UploadUnreadable {
                            detail: e.to_string(),
                        }
                        .into(),
                    )
                }
            }
        }
    }
    let Some((ct, data)) = file else {
        return fail(&w, Reason::NoFile.into());
    };
    if !ct.starts_with("image/") {
        return fail(
            &w,
            Reason::UnsupportedFileType {
                content_type: ct,
                accepted: vec!["image/png", "image/jpeg", "image/webp"],
            }
            .into(),
        );
    }
    tryp!(
        w,
        crate::workflow::check_document(&ct, &data, crate::workflow::MAX_DOCUMENT_BYTES)
    );
    tryp!(
        w,
        st.store.add_asset_photo(w.ctx.clone(), id, ct, data).await
    );
    see_other(&format!("/assets/{id}"))
}
