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

use std::collections::HashMap;

use axum::extract::{FromRequestParts, State};
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
            Err(e) => return Err(e.into_response()),
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
        Ok(Web {
            form_token,
            ctx,
            lang: lang_of(&parts.headers),
            username,
            role,
            unit_id,
            path: parts.uri.path().to_owned(),
            cookies,
        })
    }
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
            ("/virtual-warehouse", "virtual_warehouse"),
        ],
        Role::Keeper => &[
            ("/dashboard", "dashboard"),
            ("/inbox", "inbox"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/stocktakes", "stocktakes"),
            ("/alarms", "alarms"),
            ("/reports", "reports"),
        ],
        Role::Approver | Role::Finance => &[
            ("/dashboard", "dashboard"),
            ("/inbox", "inbox"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/virtual-warehouse", "virtual_warehouse"),
            ("/reports", "reports"),
        ],
        Role::Administrator => &[
            ("/dashboard", "dashboard"),
            ("/assets", "register"),
            ("/requests", "requests"),
            ("/admin", "admin"),
            ("/reports", "reports"),
        ],
    }
}

/// The page frame: header, navigation, content.
pub fn layout(w: &Web, title: &str, body: Markup) -> Response {
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
                    nav {
                        @for (href, word) in nav(w.role) {
                            a href=(href) class=@if w.path.starts_with(href) { "on" } { (w.t(word)) }
                        }
                    }
                    a.who href="/account/password" title=(w.t("change_password")) { (w.username) " · " (w.tv(w.role.as_str())) }
                    a.lang href=(if w.lang == Lang::Zh { "/lang/en" } else { "/lang/zh" }) { (w.t("language")) }
                    form.inline method="post" action="/logout" {
                        (csrf_field(&w))
                        button.link type="submit" { (w.t("logout")) }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(doc.into_string()).into_response()
}

/// A page for an error the person can act on (403, 404, 409…).
pub fn error_page(w: &Web, e: &AppError) -> Response {
    if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e.message(), "internal error on a page");
    }
    let status = crate::http::error::status_of(e.kind);
    let mut resp = layout(
        w,
        w.t("error"),
        html! {
            p.error role="alert" { (e.text(w.lang)) }
            p { a href="/dashboard" data-back { "←" } " " a href="/dashboard" { (w.t("dashboard")) } }
        },
    );
    *resp.status_mut() = status;
    resp
}

/// Message next to a form field when the error names it.
pub fn field_error(lang: Lang, err: Option<&AppError>, field: &str) -> Markup {
    match err {
        Some(e) if e.field.as_deref() == Some(field) => {
            html! { span.field-error role="alert" data-field=(field) { (e.text(lang)) } }
        }
        _ => html! {},
    }
}

/// The error when it names no field of the form (shown above the form).
pub fn form_error(lang: Lang, err: Option<&AppError>, fields: &[&str]) -> Markup {
    match err {
        Some(e) if !e.field.as_deref().is_some_and(|f| fields.contains(&f)) => {
            html! { p.error role="alert" { (e.text(lang)) } }
        }
        _ => html! {},
    }
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
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

fn login_form(lang: Lang, next: &str, error: Option<&str>) -> Response {
    let token = crate::accounts::new_token("");
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

async fn login_page(headers: HeaderMap, q: axum::extract::Query<LoginQuery>) -> Response {
    login_form(lang_of(&headers), &safe_next(q.next.as_deref()), None)
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
fn login_refused(lang: Lang, next: &str, e: &AppError) -> Response {
    let mut r = login_form(lang, next, Some(&e.text(lang)));
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
        Err(_) => return login_form(lang, "/dashboard", Some(t(lang, "bad_login"))),
    };
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE).filter(|t| !t.is_empty());
    if expected.is_none() || expected != form.login_token.as_deref() {
        return login_refused(lang, &next, &crate::error::Reason::FormTokenMissing.into());
    }
    let attempt = crate::login::Attempt {
        username: form.username,
        password: form.password,
        peer,
    };
    let session = match crate::login::log_in(&state.store, &state.config, attempt).await {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::Unauthenticated || e.kind == ErrorKind::TooManyRequests => {
            return login_refused(lang, &next, &e);
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

async fn set_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let value = if code == "en" { "en" } else { "zh" };
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
pub fn bar_chart(rows: &[(String, i64)], unit: &str) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let h = 24 * rows.len().max(1) + 4;
    html! {
        @if rows.is_empty() {
            p.empty { "—" }
        } @else {
            svg.chart viewBox=(format!("0 0 400 {h}")) role="img" {
                @for (i, (label, v)) in rows.iter().enumerate() {
                    @let y = 4 + i * 24;
                    @let wdt = 1 + (*v as f64 / max as f64 * 220.0) as i64;
                    text x="0" y=(y + 14) { (label) }
                    rect x="120" y=(y) width=(wdt) height="16" rx="2" {}
                    text x=(126 + wdt) y=(y + 13) { (v) (unit) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
