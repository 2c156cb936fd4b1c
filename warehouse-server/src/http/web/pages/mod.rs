//! The pages. Each GET renders from the store; each POST takes one action
//! and redirects (303) back, or re-renders the form with the error next to
//! its field (nothing is half-saved: every action is one transaction).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;

// The pages' own extractors: a bad id or query gets a page, not axum's text.
use super::{PageBody as Body, PagePath as Path, PageQuery as Query};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde_json::{json, Value};

use super::words;
use super::*;
use crate::error::Reason;
use crate::money::parse_yuan;
use crate::paging::Paging;
use crate::policy::{asset_visibility, authorize, Action, Scope};
use crate::register::{AssetQuery, AssetState};
use crate::serving::live::LiveSlot;
use crate::stocktake::LineQuery;
use crate::store::{NameQuery, Names, RequestQuery};
use crate::workflow::{
    may_file, Destination, NewLine, NewProcurement, NewRequest, ProcurementLine, Request,
    RequestKind, Stage, StepBody,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/inbox", get(inbox))
        .route("/assets", get(assets))
        .route(
            "/assets/import",
            get(import_page)
                .post(import_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::import::MAX_REGISTER_BYTES,
                )),
        )
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
            "/procurements",
            get(procurements_page).post(procurements_submit),
        )
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
        .route("/requests/{id}/desk/manual", post(desk_manual))
        .route("/requests/{id}/pick-list", get(pick_list))
        .route("/assets/{id}/tag", get(tag_page).post(tag_start))
        .route("/assets/{id}/tag/confirm", post(tag_confirm))
        .route("/stocktakes/{id}/manual", post(stocktake_manual))
        .route("/virtual-warehouse", get(virtual_warehouse))
        .route("/stocktakes", get(stocktakes).post(stocktake_open))
        .route("/stocktakes/{id}", get(stocktake_page))
        .route("/stocktakes/{id}/resolve", post(stocktake_resolve))
        .route("/stocktakes/{id}/close", post(stocktake_close))
        .route("/stocktakes/{id}/confirm", post(stocktake_confirm))
        .route("/stocktakes/{id}/events", get(stocktake_events))
        .route("/alarms", get(alarms))
        .route(
            "/acquisitions",
            post(acquisition_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::workflow::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route("/acquisitions/new", get(acquisition_form))
        .route("/acquisitions/{id}", get(acquisition_page))
        .route("/kits", get(kits_page).post(kit_create))
        .route("/kits/{id}", get(kit_page))
        .route("/kits/{id}/retire", post(kit_retire))
        .route("/rentals", get(rentals_page).post(rental_create))
        .route("/rentals/{id}/{action}", post(rental_action))
        .route("/alarms/{id}/ack", post(alarm_ack))
        .route("/reports", get(reports))
        .route("/cockpit", get(cockpit))
        .route("/calendar", get(calendar))
        .route("/reports/export", get(report_export))
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
        .route("/admin/regions", post(admin_region))
        .route("/admin/settings", post(admin_settings))
        .route("/admin/locations", post(admin_location))
        .route("/idle-findings", get(idle_findings_page))
        .route("/idle-findings/scan", post(idle_scan))
        .route("/idle-findings/rules", post(idle_rules_save))
        .route("/idle-findings/marks", post(idle_mark))
        .route("/idle-findings/{id}", get(idle_finding_page))
        .route("/idle-findings/{id}/answer", post(idle_finding_answer))
        .route("/idle-findings/{id}/reclaim", post(idle_finding_reclaim))
        .route("/warnings", get(warnings_page))
        .route("/audit-log", get(audit_log_page))
        .route("/audit-log/trail", get(audit_trail_export))
        .route("/admin/standards", post(admin_standard))
        .route("/admin/staff-count", post(admin_staff_count))
        .route("/reports/over-standard", get(over_standard_page))
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

mod acquisitions;
mod admin;
mod alarms;
mod calendar;
mod checks;
mod cockpit;
mod desk;
mod home;
mod idle;
mod import;
mod kits;
mod register;
mod rentals;
mod reports;
mod requests;
mod standards;
mod stocktake;
mod supervision;
mod tags;

use idle::*;
use {
    acquisitions::*, admin::*, alarms::*, calendar::*, checks::*, cockpit::*, desk::*, home::*,
    import::*, kits::*, register::*, rentals::*, reports::*, requests::*, standards::*,
    stocktake::*, supervision::*, tags::*,
};

/// The "未写标签" badge of an untagged asset: for those who may write
/// tags, a link to the asset's tag page.
fn no_tag_badge(w: &Web, asset_id: i64) -> Markup {
    if authorize(&w.ctx.actor, Action::CommissionTag, Scope::Warehouse).is_ok() {
        html! { a.badge.s-lost href=(format!("/assets/{asset_id}/tag")) data-test="write-tag" { (w.t("no_tag")) " · " (w.t("write_tag")) } }
    } else {
        html! { span.badge.s-lost { (w.t("no_tag")) } }
    }
}

/// The regions a person's lists may switch between: those in their reach
/// (every region for a person of the whole network), parents first.
async fn regions_in_scope(
    st: &AppState,
    w: &Web,
) -> crate::error::AppResult<Vec<crate::register::Region>> {
    let all = st.store.list_regions(1, 500).await?.items;
    Ok(match crate::policy::regions_in_reach(&w.ctx.actor) {
        None => all,
        Some(reach) => all.into_iter().filter(|r| reach.contains(&r.id)).collect(),
    })
}

/// The region switcher of a list's filter form (nothing when the network
/// has no regions, or the person reaches one region only).
fn region_select(w: &Web, regions: &[crate::register::Region], current: Option<i64>) -> Markup {
    html! {
        @if regions.len() > 1 {
            select name="region" data-test="region-switch" aria-label=(w.t("region")) {
                option value="" { (w.t("region")) ": " (w.t("all")) }
                @for r in regions {
                    option value=(r.id) selected[current == Some(r.id)] {
                        @match r.level {
                            crate::register::RegionLevel::Province => {}
                            crate::register::RegionLevel::City => { "\u{a0}\u{a0}" }
                            crate::register::RegionLevel::County => { "\u{a0}\u{a0}\u{a0}\u{a0}" }
                        }
                        (r.name)
                    }
                }
            }
        }
    }
}

/// A region's name among `regions` (empty when none or out of the list).
fn region_name(regions: &[crate::register::Region], id: Option<i64>) -> String {
    id.and_then(|id| regions.iter().find(|r| r.id == id))
        .map(|r| r.name.clone())
        .unwrap_or_default()
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

/// Who holds an asset, by name (`words::holder`).
fn holder(w: &Web, names: &Names, unit: Option<i64>, location: Option<i64>) -> String {
    words::holder(w.lang, names, unit, location)
}

/// The names a list of requests shows: units and applicants.
fn ask_requests(q: &mut NameQuery, items: &[Request]) {
    for r in items {
        q.unit(r.unit_id)
            .unit(r.other_unit_id)
            .category(r.category_id);
        for l in &r.lines {
            q.category(l.category_id);
        }
        for e in &r.over_standard {
            q.category(Some(e.category_id));
        }
        if let Some(by) = &r.standard_approved_by {
            words::ask_who(q, by);
        }
        words::ask_who(q, &r.applicant);
    }
}
