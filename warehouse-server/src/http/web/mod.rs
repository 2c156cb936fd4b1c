//! The web UI: server-rendered pages in Simplified Chinese (English by a
//! switch), served by the same binary. Every page is plain HTML that works
//! without JavaScript: forms post and redirect, a reload shows the truth.
//! A little JS (`static/app.js`) adds live updates over server-sent events
//! on the desk and stock-take pages, remembers column choices and asks for
//! confirmation before destructive actions.
//!
//! Pages call the same [`Store`](crate::store::Store) methods and
//! [`policy::authorize`](crate::policy::authorize) as the JSON API; no rule
//! lives here. Sits on the shell (`crate::http`) only; never imports the
//! JSON API (the sibling `api`).

pub mod health;
mod pages;
pub mod words;

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use crate::error::{AppError, ErrorKind};
use crate::http::extract::Peer;
use crate::http::respond::{
    cookie, cookies, percent_encode, percent_encode_path, session_cookie, set_cookie,
    SESSION_COOKIE,
};
use crate::http::AppState;
pub use crate::i18n::{t, tv, Lang};
use crate::policy::{Actor, Ctx, Role};

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .merge(pages::routes())
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        JS,
    )
        .into_response()
}

fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, "lang") {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// A logged-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Web {
    pub ctx: Ctx,
    pub lang: Lang,
    pub username: String,
    /// What the header calls the person: the display name (姓名), or the
    /// login name for someone without one.
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub path: String,
    pub cookies: HashMap<String, String>,
    /// This session's form token (`http::csrf`), carried by every form.
    pub form_token: String,
}

impl Web {
    pub fn t(&self, key: &str) -> &'static str {
        t(self.lang, key)
    }
    pub fn tv(&self, value: &str) -> String {
        tv(self.lang, value)
    }
}

impl FromRequestParts<AppState> for Web {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let login = format!("/login?next={}", percent_encode_path(next));
        let to_login = || Redirect::to(&login).into_response();
        // The API's authentication, with a way back here instead of a 401.
        let ctx = match Ctx::from_request_parts(parts, state).await {
            Ok(ctx) => ctx,
            Err(e) if e.kind == ErrorKind::Unauthenticated => return Err(to_login()),
            Err(e) => return Err(refusal_page(&parts.headers, &e)),
        };
        let Actor::User {
            username,
            role,
            unit_id,
            ..
        } = ctx.actor.clone()
        else {
            return Err(to_login());
        };
        let cookies = cookies(&parts.headers)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let form_token = crate::http::csrf::form_token(
            &crate::http::extract::credential(parts).unwrap_or_default(),
        );
        let display_name = display_name(state, &username).await;
        Ok(Web {
            form_token,
            ctx,
            lang: lang_of(&parts.headers),
            username,
            display_name,
            role,
            unit_id,
            path: parts.uri.path().to_owned(),
            cookies,
        })
    }
}

/// A person's display name, through the one name lookup; the login name
/// when they have none (or the lookup fails: the header is no reason to
/// refuse a page).
async fn display_name(state: &AppState, username: &str) -> String {
    let mut q = crate::store::NameQuery::default();
    q.user(Some(username));
    state
        .store
        .names(q)
        .await
        .ok()
        .and_then(|n| n.users.get(username).cloned())
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| username.to_owned())
}

/// The hidden field every state-changing url-encoded form carries
/// (checked and stripped by `http::csrf`).
pub fn csrf_field(w: &Web) -> Markup {
    html! { input type="hidden" name=(crate::http::csrf::FORM_TOKEN_FIELD) value=(w.form_token); }
}

/// A multipart form's action, with the form token in its query string.
pub fn with_form_token(w: &Web, action: &str) -> String {
    format!(
        "{action}?{}={}",
        crate::http::csrf::FORM_TOKEN_FIELD,
        w.form_token
    )
}

/// Navigation entries per role: (path, word).
fn nav(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::UnitStaff => &[
            ("/dashboard", "dashboard"),
            ("/inbox", "inbox"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/calendar", "calendar"),
            ("/virtual-warehouse", "virtual_warehouse"),
            ("/kits", "kits"),
            ("/stocktakes", "inspections"),
            ("/idle-findings", "idle_findings"),
            ("/warnings", "warnings"),
        ],
        Role::Keeper => &[
            ("/dashboard", "dashboard"),
            ("/inbox", "inbox"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/calendar", "calendar"),
            ("/kits", "kits"),
            ("/rentals", "rentals"),
            ("/stocktakes", "stocktakes"),
            ("/alarms", "alarms"),
            ("/reports", "reports"),
            ("/cockpit", "cockpit"),
            ("/idle-findings", "idle_findings"),
            ("/warnings", "warnings"),
        ],
        Role::Approver | Role::Finance => &[
            ("/dashboard", "dashboard"),
            ("/inbox", "inbox"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/calendar", "calendar"),
            ("/virtual-warehouse", "virtual_warehouse"),
            ("/reports", "reports"),
            ("/cockpit", "cockpit"),
            ("/idle-findings", "idle_findings"),
            ("/warnings", "warnings"),
        ],
        Role::Administrator => &[
            ("/dashboard", "dashboard"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/admin", "admin"),
            ("/reports", "reports"),
            ("/cockpit", "cockpit"),
            ("/idle-findings", "idle_findings"),
            ("/warnings", "warnings"),
            ("/audit-log", "audit_log"),
        ],
        Role::Auditor => &[
            ("/dashboard", "dashboard"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/stocktakes", "stocktakes"),
            ("/alarms", "alarms"),
            ("/reports", "reports"),
            ("/cockpit", "cockpit"),
            ("/idle-findings", "idle_findings"),
            ("/warnings", "warnings"),
            ("/audit-log", "audit_log"),
        ],
    }
}

/// The page frame: header, navigation, content.
pub fn layout(w: &Web, title: &str, body: Markup) -> Response {
    let flash = w
        .cookies
        .get(FLASH_COOKIE)
        .map(String::as_str)
        .and_then(Done::parse);
    let doc = html! {
        (DOCTYPE)
        html lang=(w.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (w.t("app")) }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/dashboard" { (w.t("app")) }
                    // Phone width: the menu folds behind ☰ (CSS only).
                    input #menu-toggle .menu-toggle type="checkbox" aria-label=(w.t("menu"));
                    label.menu-button for="menu-toggle" title=(w.t("menu")) data-test="menu-button" { "☰" }
                    div.menu {
                        nav {
                            @for (href, word) in nav(w.role) {
                                a href=(href) class=@if w.path.starts_with(href) { "on" } { (w.t(word)) }
                            }
                        }
                        // The login name stays readable as the tooltip and
                        // `data-user` (the browser tests wait for it).
                        a.who href="/account/password" data-user=(w.username) title=(format!("{} · {}", w.username, w.t("change_password"))) { (w.display_name) " · " (w.tv(w.role.as_str())) }
                        a.lang href=(if w.lang == Lang::Zh { "/lang/en" } else { "/lang/zh" }) { (w.t("language")) }
                        form.inline method="post" action="/logout" {
                            (csrf_field(w))
                            button.link type="submit" { (w.t("logout")) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(done) = &flash {
                        p.flash role="status" data-test="flash" { (done.text(w.lang)) }
                    }
                    (body)
                }
            }
        }
    };
    let resp = Html(doc.into_string()).into_response();
    if w.cookies.contains_key(FLASH_COOKIE) {
        // Shown once: the next page no longer has it.
        set_cookie(resp, &format!("{FLASH_COOKIE}=; Path=/; Max-Age=0"))
    } else {
        resp
    }
}

/// A page for an error the person can act on (400, 403, 404, 409…), in
/// the person's language, with a way back: to the list the page belongs
/// to (when the person's menu has it) and to the dashboard.
pub fn error_page(w: &Web, e: &AppError) -> Response {
    if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e.message(), "internal error on a page");
    }
    let status = crate::http::error::status_of(e.kind);
    let list = way_back(w.role, &w.path);
    let mut resp = layout(
        w,
        w.t("error"),
        html! {
            p.error role="alert" data-test="error" { (e.text(w.lang)) }
            p.way-back data-test="way-back" {
                @if let Some((href, word)) = list {
                    a href=(href) data-test="back-to-list" { "← " (w.t("back")) " · " (w.t(word)) }
                    " "
                }
                a href="/dashboard" data-test="back-home" { (w.t("dashboard")) }
            }
        },
    );
    *resp.status_mut() = status;
    resp
}

/// An error page for a request refused before any page could run (a
/// form whose token has expired, a cross-site post): in the language of
/// the `lang` cookie, without the logged-in frame, with a way back to the
/// page the form was on (same-site `Referer`) and to the dashboard.
pub fn refusal_page(headers: &HeaderMap, e: &AppError) -> Response {
    let lang = lang_of(headers);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .map(|p| safe_next(Some(&p)));
    let doc = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(lang, "error")) " · " (t(lang, "app")) }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                main {
                    h1 { (t(lang, "error")) }
                    p.error role="alert" data-test="error" { (e.text(lang)) }
                    p.way-back data-test="way-back" {
                        @if let Some(b) = &back {
                            a href=(b) data-test="back-to-form" { "← " (t(lang, "back")) }
                            " "
                        }
                        a href="/dashboard" data-test="back-home" { (t(lang, "dashboard")) }
                    }
                }
            }
        }
    };
    let mut resp = Html(doc.into_string()).into_response();
    *resp.status_mut() = crate::http::error::status_of(e.kind);
    resp
}

/// The list a page at `path` belongs to, if the role's menu has it:
/// `/requests/12` → `/requests`. A refused list itself has none (home is
/// the way back).
fn way_back(role: Role, path: &str) -> Option<(&'static str, &'static str)> {
    let first = path.split('/').nth(1).unwrap_or("");
    nav(role)
        .iter()
        .find(|(href, _)| href.trim_start_matches('/') == first && *href != path)
        .copied()
}

/// Path parameters of a page. One that does not read (`/requests/abc`)
/// gets the error page in the person's language with a way back (400),
/// not the framework's English text. Pages name it `Path`.
#[derive(Debug)]
pub struct PagePath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for PagePath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(PagePath(p.0)),
            Err(rejection) => Err(bad_address(
                parts,
                state,
                crate::error::Reason::BadPath {
                    detail: rejection.body_text(),
                },
            )
            .await),
        }
    }
}

/// A page's query string; one that does not read (`?page=abc`) gets the
/// error page as [`PagePath`] does. Pages name it `Query`.
#[derive(Debug)]
pub struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(PageQuery(q.0)),
            Err(rejection) => Err(bad_address(
                parts,
                state,
                crate::error::Reason::BadQuery {
                    detail: rejection.body_text(),
                },
            )
            .await),
        }
    }
}

/// A page form's body. One larger than the server takes (413) or that
/// cannot be read (400) gets the error page in the person's language, not
/// the framework's text. Pages name it `Body`.
#[derive(Debug)]
pub struct PageBody(pub axum::body::Bytes);

impl FromRequest<AppState> for PageBody {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let mut kept = parts.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(PageBody(b)),
            Err(rejection) => {
                let e = if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::from(crate::error::Reason::BodyTooLarge)
                } else {
                    AppError::bad_request(crate::error::Reason::BadBody {
                        detail: rejection.body_text(),
                    })
                };
                Err(page_refusal(&mut kept, state, &e).await)
            }
        }
    }
}

/// A page's upload form (multipart). A body that is no multipart gets the
/// error page (400); a failure while reading its fields is the handler's
/// to show ([`upload_failed`]).
pub struct PageMultipart(pub axum::extract::Multipart);

impl std::fmt::Debug for PageMultipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageMultipart")
    }
}

impl FromRequest<AppState> for PageMultipart {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let mut kept = parts.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(m) => Ok(PageMultipart(m)),
            Err(rejection) => {
                let e = AppError::bad_request(crate::error::Reason::UploadUnreadable {
                    detail: rejection.body_text(),
                });
                Err(page_refusal(&mut kept, state, &e).await)
            }
        }
    }
}

/// Why reading an upload's fields failed: over `limit_bytes` (413, the
/// route's body limit) or unreadable (400: cut short, malformed).
pub fn upload_failed(e: &axum::extract::multipart::MultipartError, limit_bytes: usize) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        crate::error::Reason::TooLarge {
            limit_bytes,
            size: None,
        }
        .into()
    } else {
        AppError::bad_request(crate::error::Reason::UploadUnreadable {
            detail: e.body_text(),
        })
    }
}

/// The error page for a page request refused by the framework (a body
/// too large, a method the address does not take): in the logged-in
/// frame, or the bare refusal page for someone not logged in (never a
/// redirect to the login, which would lose what was refused).
pub async fn page_refusal(parts: &mut Parts, state: &AppState, e: &AppError) -> Response {
    match Web::from_request_parts(parts, state).await {
        Ok(w) => error_page(&w, e),
        Err(_) => refusal_page(&parts.headers, e),
    }
}

/// The 400 page for an address that does not read (or the login, for
/// someone not logged in).
async fn bad_address(parts: &mut Parts, state: &AppState, why: crate::error::Reason) -> Response {
    let e = AppError::from(why);
    match Web::from_request_parts(parts, state).await {
        Ok(w) => error_page(&w, &e),
        Err(to_login) => to_login,
    }
}

/// The 404 for a page address that names no page: the error page instead
/// of the API's JSON, which a browser would show raw. Never a redirect to
/// the login: a browser asks for addresses nobody typed (`/favicon.ico`)
/// in the background, and a login page served to one would replace the
/// login form's cookie under the form the person is filling in.
pub async fn page_not_found(parts: &mut Parts, state: &AppState) -> Response {
    page_refusal(parts, state, &AppError::from(crate::error::Reason::NoRoute)).await
}

/// A reason in the page's language.
fn reason_text(lang: Lang, r: &crate::error::Reason) -> String {
    match lang {
        Lang::Zh => r.zh(),
        Lang::En => r.en(),
    }
}

/// Message next to a form field when the error names it (each of
/// several problems goes beside its own field).
pub fn field_error(lang: Lang, err: Option<&AppError>, field: &str) -> Markup {
    let Some(e) = err else { return html! {} };
    let mine: Vec<String> = e
        .field_problems()
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, r)| reason_text(lang, r))
        .collect();
    if mine.is_empty() {
        return html! {};
    }
    html! { span.field-error role="alert" data-field=(field) { (mine.join(lang.semicolon())) } }
}

/// Above the form: the error when it names no field of the form, or the
/// problems that lie outside it; with several problems, how many there
/// are to fix.
pub fn form_error(lang: Lang, err: Option<&AppError>, fields: &[&str]) -> Markup {
    let Some(e) = err else { return html! {} };
    let problems = e.field_problems();
    if problems.is_empty() {
        return html! { p.error role="alert" { (e.text(lang)) } };
    }
    let outside: Vec<String> = problems
        .iter()
        .filter(|(f, _)| !fields.contains(f))
        .map(|(_, r)| reason_text(lang, r))
        .collect();
    html! {
        @if problems.len() > 1 {
            p.error role="alert" data-test="problem-count" {
                (t(lang, "problems_below").replace("{n}", &problems.len().to_string()))
            }
        }
        @for text in &outside { p.error role="alert" { (text) } }
    }
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The short-lived cookie carrying what the last action did to the next page.
const FLASH_COOKIE: &str = "flash";

/// What an action did, said once on the page it redirects to
/// ("已提交申请，编号 12", "已批准", "已出库 3 件"). Carried in a
/// short-lived cookie (not the URL, so a reload or a shared link does not
/// say it again); the layout shows it and clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// A request filed, with its number.
    Filed(i64),
    Approved,
    Rejected,
    Withdrawn,
    Received,
    /// Any other step of a request.
    Step,
    CheckedOut(i64),
    Returned(i64),
    Saved,
    Uploaded,
    Listed,
    AlarmHandled,
    StocktakeOpened,
    Resolved,
    StocktakeClosed,
    /// An asset number typed at the desk or in a stock-take (手工录入).
    Entered,
    /// A tag written and bound to its asset.
    TagWritten,
    /// Several purchases bought under one contract (集中采购), how many.
    Procured(i64),
}

impl Done {
    /// The confirmation of a request step, by the step's form action.
    pub fn step(action: &str) -> Done {
        match action {
            "approve" => Done::Approved,
            "reject" => Done::Rejected,
            "withdraw" => Done::Withdrawn,
            "confirm_receipt" => Done::Received,
            _ => Done::Step,
        }
    }

    fn key_and_count(self) -> (&'static str, Option<i64>) {
        match self {
            Done::Filed(n) => ("filed", Some(n)),
            Done::Approved => ("approved", None),
            Done::Rejected => ("rejected", None),
            Done::Withdrawn => ("withdrawn", None),
            Done::Received => ("received", None),
            Done::Step => ("step", None),
            Done::CheckedOut(n) => ("checked_out", Some(n)),
            Done::Returned(n) => ("returned", Some(n)),
            Done::Saved => ("saved", None),
            Done::Uploaded => ("uploaded", None),
            Done::Listed => ("listed", None),
            Done::AlarmHandled => ("alarm", None),
            Done::StocktakeOpened => ("stocktake_opened", None),
            Done::Resolved => ("resolved", None),
            Done::StocktakeClosed => ("stocktake_closed", None),
            Done::Entered => ("entered", None),
            Done::TagWritten => ("tag_written", None),
            Done::Procured(n) => ("procured", Some(n)),
        }
    }

    /// The cookie value: `key` or `key.N`.
    fn cookie_value(self) -> String {
        match self.key_and_count() {
            (k, Some(n)) => format!("{k}.{n}"),
            (k, None) => k.to_owned(),
        }
    }

    /// Reads a cookie value back; anything else (a forged or stale value)
    /// shows nothing.
    fn parse(v: &str) -> Option<Done> {
        let (key, n) = match v.split_once('.') {
            Some((k, n)) => (k, Some(n.parse::<i64>().ok()?)),
            None => (v, None),
        };
        let done = match (key, n) {
            ("filed", Some(n)) => Done::Filed(n),
            ("checked_out", Some(n)) => Done::CheckedOut(n),
            ("returned", Some(n)) => Done::Returned(n),
            ("procured", Some(n)) => Done::Procured(n),
            (_, Some(_)) => return None,
            ("approved", None) => Done::Approved,
            ("rejected", None) => Done::Rejected,
            ("withdrawn", None) => Done::Withdrawn,
            ("received", None) => Done::Received,
            ("step", None) => Done::Step,
            ("saved", None) => Done::Saved,
            ("uploaded", None) => Done::Uploaded,
            ("listed", None) => Done::Listed,
            ("alarm", None) => Done::AlarmHandled,
            ("stocktake_opened", None) => Done::StocktakeOpened,
            ("resolved", None) => Done::Resolved,
            ("stocktake_closed", None) => Done::StocktakeClosed,
            ("entered", None) => Done::Entered,
            ("tag_written", None) => Done::TagWritten,
            _ => return None,
        };
        Some(done)
    }

    /// The sentence in `lang`.
    pub fn text(self, lang: Lang) -> String {
        let (key, n) = self.key_and_count();
        let word = t(lang, &format!("done_{key}"));
        match n {
            Some(n) => word.replace("{n}", &n.to_string()),
            None => word.to_owned(),
        }
    }
}

/// Redirects (303) after an action and says on the next page what it did.
pub fn see_other_with(to: &str, done: Done) -> Response {
    set_cookie(
        see_other(to),
        &format!(
            "{FLASH_COOKIE}={}; Path=/; Max-Age=60; SameSite=Lax; HttpOnly",
            done.cookie_value()
        ),
    )
}

/// The pager under every list: how many match, previous/next and page
/// numbers around this one. `link(p)` is the list's URL for page `p`,
/// keeping its search and filters.
pub fn pager<T>(w: &Web, page: &crate::paging::Page<T>, link: impl Fn(i64) -> String) -> Markup {
    let pages = ((page.total + page.per_page - 1) / page.per_page.max(1)).max(1);
    let here = page.page;
    // First, last, and two either side of this page; gaps shown as "…".
    let mut shown: Vec<i64> = vec![1, pages];
    shown.extend((here - 2)..=(here + 2));
    shown.retain(|p| (1..=pages).contains(p));
    shown.sort_unstable();
    shown.dedup();
    let total = w.t("pager_total").replace("{n}", &total_text(page));
    html! {
        nav.pager aria-label=(total) data-test="pager" {
            span.count data-test="pager-total" { (total) }
            @if here > 1 { a href=(link(here - 1)) rel="prev" { (w.t("prev")) } }
            @for (i, p) in shown.iter().enumerate() {
                @if i > 0 && shown[i - 1] + 1 < *p { span.gap { "…" } }
                @if *p == here { strong aria-current="page" { (p) } } @else { a href=(link(*p)) { (p) } }
            }
            @if here < pages { a href=(link(here + 1)) rel="next" { (w.t("next")) } }
        }
    }
}

/// A page's total as shown: "10050+" when the pager stopped counting
/// (`crate::paging::COUNT_AHEAD`) and more match.
pub fn total_text<T>(page: &crate::paging::Page<T>) -> String {
    if page.total_exact {
        page.total.to_string()
    } else {
        format!("{}+", page.total)
    }
}

/// A list's URL: `path` with the non-empty `params` and `page`.
pub fn list_url(path: &str, params: &[(&str, Option<&str>)], page: i64) -> String {
    let mut qs: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.trim().is_empty())
                .map(|v| format!("{k}={}", percent_encode(v)))
        })
        .collect();
    qs.push(format!("page={page}"));
    format!("{path}?{}", qs.join("&"))
}

/// The search box on top of a list: `q`, with the list's other filters
/// kept as hidden fields.
pub fn search_box(
    w: &Web,
    path: &str,
    q: Option<&str>,
    placeholder: &str,
    keep: &[(&str, Option<&str>)],
) -> Markup {
    html! {
        form.filters role="search" method="get" action=(path) {
            @for (k, v) in keep { @if let Some(v) = v.filter(|v| !v.is_empty()) { input type="hidden" name=(k) value=(v); } }
            input type="search" name="q" value=(q.unwrap_or_default()) placeholder=(placeholder) aria-label=(w.t("list_search"));
            button type="submit" { (w.t("list_search")) }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Where to go after login: only a path on this site. A browser drops
/// tabs and newlines from URLs and reads a backslash as `/`, so
/// `/<TAB>/evil` or `/<BACKSLASH>evil` would leave the site: no `//`, no backslash, no control
/// characters or whitespace anywhere; otherwise the dashboard.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/dashboard".into(),
    }
}

/// The pre-session token of the login form (login CSRF): a random value in
/// a `SameSite=Strict` cookie and the same value in the form; a login post
/// without both, equal, is refused. Another site can make a browser post
/// the form but can neither read nor set the cookie.
const LOGIN_COOKIE: &str = "wh_login";

/// The login form. A browser that already holds a login token keeps it,
/// so a second login tab, or a redirect to the login of a stray request
/// (the browser's own `/favicon.ico`), does not invalidate the form on
/// screen.
fn login_form(headers: &HeaderMap, lang: Lang, next: &str, error: Option<&str>) -> Response {
    let token = cookie(headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .unwrap_or_else(|| crate::accounts::new_token(""));
    let resp = login_form_with(lang, next, error, &token);
    set_cookie(
        resp,
        &format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"),
    )
}

fn login_form_with(lang: Lang, next: &str, error: Option<&str>, token: &str) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(lang, "login")) " · " (t(lang, "app")) }
                link rel="stylesheet" href="/static/app.css";
            }
            body.login {
                form.card method="post" action="/login" {
                    h1 { (t(lang, "app")) }
                    input type="hidden" name="next" value=(next);
                    input type="hidden" name="login_token" value=(token);
                    label { (t(lang, "username")) input name="username" autocomplete="username" required autofocus; }
                    label { (t(lang, "password")) input name="password" type="password" autocomplete="current-password" required; }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    button type="submit" { (t(lang, "login")) }
                    p { a href=(if lang == Lang::Zh { "/lang/en" } else { "/lang/zh" }) { (t(lang, "language")) } }
                }
            }
        }
    };
    Html(doc.into_string()).into_response()
}

/// The login form, for any query: a `next` that does not read (twice,
/// not text) is no reason to refuse the login, only to go to the
/// dashboard after it.
async fn login_page(headers: HeaderMap, q: axum::extract::RawQuery) -> Response {
    let next =
        q.0.and_then(|q| serde_urlencoded::from_str::<LoginQuery>(&q).ok())
            .and_then(|q| q.next);
    login_form(
        &headers,
        lang_of(&headers),
        &safe_next(next.as_deref()),
        None,
    )
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
    login_token: Option<String>,
}

/// The login form again, with why the attempt was refused, its status and
/// (when throttled) `Retry-After`.
fn login_refused(headers: &HeaderMap, lang: Lang, next: &str, e: &AppError) -> Response {
    let mut r = login_form(headers, lang, next, Some(&e.text(lang)));
    *r.status_mut() = crate::http::error::status_of(e.kind);
    if let Some(v) = e.retry_after_secs() {
        r.headers_mut().insert(header::RETRY_AFTER, v.into());
    }
    r
}

async fn login_submit(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return login_form(&headers, lang, "/dashboard", Some(t(lang, "bad_login"))),
    };
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE).filter(|t| !t.is_empty());
    if expected.is_none() || expected != form.login_token.as_deref() {
        return login_refused(
            &headers,
            lang,
            &next,
            &crate::error::Reason::FormTokenMissing.into(),
        );
    }
    let attempt = crate::login::Attempt {
        username: form.username,
        password: form.password,
        peer,
    };
    let session = match crate::login::log_in(&state.store, &state.config, attempt).await {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::Unauthenticated || e.kind == ErrorKind::TooManyRequests => {
            return login_refused(&headers, lang, &next, &e);
        }
        Err(e) => return e.into_response(),
    };
    let cookie = session_cookie(
        Some(&session.token),
        state.config.session_ttl_secs,
        state.config.secure_cookie,
    );
    set_cookie(see_other(&next), &cookie)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(token.to_owned()).await;
    }
    let cookie = session_cookie(None, 0, state.config.secure_cookie);
    set_cookie(see_other("/login"), &cookie)
}

/// `/lang/en` and `/lang/zh` (anything else is Chinese, the default).
/// The raw path, not a `Path` extractor: an address that does not read
/// still switches, never the framework's text.
async fn set_lang(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let value = if uri.path() == "/lang/en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .unwrap_or_else(|| "/dashboard".into());
    set_cookie(
        see_other(&safe_next(Some(&back))),
        &format!("lang={value}; SameSite=Lax; Path=/; Max-Age=31536000"),
    )
}

/// Fen as yuan with two decimals.
pub fn yuan(fen: i64) -> String {
    crate::money::fen_to_yuan(fen)
}

/// A horizontal bar chart as inline SVG (no script needed).
/// The label column is as wide as the longest label and the figures have
/// room after the longest bar, so nothing is cut off.
pub fn bar_chart(rows: &[(String, i64)], unit: &str) -> Markup {
    // Width at the chart's 12px font: a CJK character is a full em, others
    // about 0.6 em.
    let width = |s: &str| -> i64 {
        s.chars()
            .map(|c| if c.len_utf8() > 1 { 12 } else { 7 })
            .sum()
    };
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let h = 24 * rows.len().max(1) + 4;
    let label_w = rows.iter().map(|r| width(&r.0)).max().unwrap_or(0) + 8;
    let figure_w = rows
        .iter()
        .map(|r| width(&format!("{}{unit}", r.1)))
        .max()
        .unwrap_or(0)
        + 12;
    let bars_w = 220;
    let total_w = label_w + bars_w + figure_w;
    html! {
        @if rows.is_empty() {
            p.empty { "—" }
        } @else {
            svg.chart viewBox=(format!("0 0 {total_w} {h}")) role="img" {
                @for (i, (label, v)) in rows.iter().enumerate() {
                    @let y = 4 + i * 24;
                    @let wdt = 1 + ((*v).max(0) as f64 / max as f64 * bars_w as f64) as i64;
                    text x="0" y=(y + 14) { (label) }
                    rect x=(label_w) y=(y) width=(wdt) height="16" rx="2" {}
                    text x=(label_w + 6 + wdt) y=(y + 13) { (v) (unit) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_confirmation_reads_back_and_has_both_languages() {
        let all = [
            Done::Filed(12),
            Done::Approved,
            Done::Rejected,
            Done::Withdrawn,
            Done::Received,
            Done::Step,
            Done::CheckedOut(3),
            Done::Returned(2),
            Done::Saved,
            Done::Uploaded,
            Done::Listed,
            Done::AlarmHandled,
            Done::StocktakeOpened,
            Done::Resolved,
            Done::StocktakeClosed,
            Done::Entered,
            Done::TagWritten,
        ];
        for d in all {
            assert_eq!(Done::parse(&d.cookie_value()), Some(d), "{d:?}");
            for lang in [Lang::Zh, Lang::En] {
                let text = d.text(lang);
                assert!(!text.contains('?') && !text.contains('{'), "{d:?}: {text}");
            }
            assert!(
                !d.text(Lang::Zh).chars().any(|c| c.is_ascii_alphabetic()),
                "{d:?} has English in Chinese"
            );
        }
        assert_eq!(Done::Filed(12).text(Lang::Zh), "已提交申请，编号 12");
        assert_eq!(Done::CheckedOut(3).text(Lang::Zh), "已出库 3 件");
        for forged in [
            "",
            "filed",
            "approved.3",
            "filed.x",
            "<script>",
            "checked_out.1.2",
        ] {
            assert_eq!(Done::parse(forged), None, "{forged:?}");
        }
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/requests/3")), "/requests/3");
        assert_eq!(safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next(None), "/dashboard");
        for evil in [
            "/\t/evil.example/",
            "/\n/evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "/a//evil",
            "/\u{3000}/evil",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/dashboard", "{evil:?}");
        }
        assert_eq!(safe_next(Some("/assets?q=a%20b")), "/assets?q=a%20b");
    }
}
