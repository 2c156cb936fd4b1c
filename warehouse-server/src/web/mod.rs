//! The web UI: server-rendered pages in Simplified Chinese (English by a
//! switch), served by the same binary. Every page is plain HTML that works
//! without JavaScript: forms post and redirect, a reload shows the truth.
//! A little JS (`static/app.js`) adds live updates over server-sent events
//! on the desk and stock-take pages, remembers column choices and asks for
//! confirmation before destructive actions.
//!
//! Pages call the same [`Store`](crate::store::Store) methods and
//! [`policy::authorize`](crate::policy::authorize) as the JSON API; no rule
//! lives here.

mod i18n;
mod pages;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use crate::error::{AppError, ErrorKind};
use crate::http::{AppState, SESSION_COOKIE};
use crate::policy::{Actor, Ctx, Role};
pub use i18n::{t, tv, Lang};

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

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next = percent_encode(next, b"/");
            Redirect::to(&format!("/login?next={next}")).into_response()
        };
        let Some(token) = crate::http::extract::credential(parts) else {
            return Err(to_login());
        };
        let actor = match state.store.actor_for_token(token).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(e.into_response()),
        };
        let Actor::User {
            username,
            role,
            unit_id,
            ..
        } = actor.clone()
        else {
            return Err(to_login());
        };
        let request_id = parts
            .extensions
            .get::<crate::http::RequestId>()
            .map(|r| r.0.clone());
        let cookies = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Web {
            ctx: Ctx { actor, request_id },
            lang: lang_of(&parts.headers),
            username,
            role,
            unit_id,
            path: parts.uri.path().to_owned(),
            cookies,
        })
    }
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
                    span.who { (w.username) " · " (w.tv(w.role.as_str())) }
                    a.lang href=(if w.lang == Lang::Zh { "/lang/en" } else { "/lang/zh" }) { (w.t("language")) }
                    form.inline method="post" action="/logout" {
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
    let e = &if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e.message, "internal error on a page");
        AppError::internal("internal error; see the server log")
    } else {
        e.clone()
    };
    let status = crate::http::error::status_of(e.kind);
    let mut resp = layout(
        w,
        w.t("error"),
        html! {
            p.error role="alert" { (plain_message(w.lang, e)) }
            p { a href="/dashboard" data-back { "←" } " " a href="/dashboard" { (w.t("dashboard")) } }
        },
    );
    *resp.status_mut() = status;
    resp
}

/// The error in plain words for the page's language. The API's messages
/// are English and name fields by their API names; the common ones are
/// said again in Chinese here, the rest shown as they are (after the
/// field's Chinese name).
pub fn plain_message(lang: Lang, e: &AppError) -> String {
    if lang == Lang::En {
        return e.message.clone();
    }
    let label = e.field.as_deref().map(field_label).unwrap_or("");
    let m = e.message.as_str();
    let said = if m.contains("is required") || m.contains("must not be empty") {
        format!("请填写{label}")
    } else if m.contains("is not a whole number") {
        format!("{label}应为整数")
    } else if m.contains("is not an amount in yuan") {
        format!("{label}格式不正确，应为金额（例如 1234.50）")
    } else if m.contains("YYYY-MM-DD") {
        format!("{label}应为日期（年-月-日）")
    } else if m.contains("must be 1..=") {
        format!("{label}须在 1 到 100000 之间")
    } else if m.contains("must not be negative") {
        format!("{label}不能为负数")
    } else if m.contains("is before loan_start") {
        "归还日期不能早于借用开始日期".to_owned()
    } else if m.contains("is not accepted; use one of") || m.contains("content is not") {
        "只接受 PDF、PNG、JPEG、WebP 文件，且内容须与类型相符".to_owned()
    } else if e.kind == ErrorKind::PayloadTooLarge {
        "文件超过 5 MB".to_owned()
    } else if e.kind == ErrorKind::Forbidden {
        format!("{}（{m}）", t(lang, "not_allowed"))
    } else if e.code == "wrong_state" || e.code == "wrong_stage" {
        format!("当前状态不允许此操作（{m}）")
    } else if e.code == "asset_held" {
        format!("该资产已被其他未办结的申请占用（{m}）")
    } else if label.is_empty() {
        m.to_owned()
    } else {
        format!("{label}：{m}")
    };
    said
}

/// Chinese names of form fields (API spelling), for messages.
fn field_label(field: &str) -> &'static str {
    match field {
        "category_id" => "分类",
        "quantity" => "数量",
        "asset_ids" => "资产",
        "budget_fen" => "预算",
        "reason" => "事由",
        "needed_by" => "需用日期",
        "loan_start" => "借用开始日期",
        "loan_due" => "归还日期",
        "comment" => "意见",
        "amount_fen" => "金额",
        "appraised_value_fen" => "评估值",
        "appraiser" => "评估机构",
        "report_ref" => "报告编号",
        "hammer_price_fen" => "成交价",
        "buyer" => "买受人",
        "treasury_ref" => "缴款书编号",
        "responsible" => "责任单位或个人",
        "remedy" => "处理方式",
        "supplier" => "供应商",
        "contract_number" => "合同号",
        "unit_price_fen" => "单价",
        "location_id" => "货位",
        "received" => "实收数量",
        "epcs" => "电子标签",
        "items" => "归还资产",
        "content-type" | "body" => "附件",
        "name" => "名称",
        "username" => "用户名",
        "password" => "密码",
        _ => "",
    }
}

/// Message next to a form field when the error names it.
pub fn field_error(lang: Lang, err: Option<&AppError>, field: &str) -> Markup {
    match err {
        Some(e) if e.field.as_deref() == Some(field) => {
            html! { span.field-error role="alert" data-field=(field) { (plain_message(lang, e)) } }
        }
        _ => html! {},
    }
}

/// The error when it names no field of the form (shown above the form).
pub fn form_error(lang: Lang, err: Option<&AppError>, fields: &[&str]) -> Markup {
    match err {
        Some(e) if !e.field.as_deref().is_some_and(|f| fields.contains(&f)) => {
            html! { p.error role="alert" { (plain_message(lang, e)) } }
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

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/dashboard".into(),
    }
}

fn login_form(lang: Lang, next: &str, error: Option<&str>) -> Response {
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
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return login_form(lang, "/dashboard", Some(t(lang, "bad_login"))),
    };
    let next = safe_next(form.next.as_deref());
    let bad = || {
        let mut r = login_form(lang, &next, Some(t(lang, "bad_login")));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r
    };
    let found = match state.store.user_for_login(form.username.clone()).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let Some((user, hash)) = found else {
        return bad();
    };
    let password = form.password;
    let ok =
        tokio::task::spawn_blocking(move || crate::accounts::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
    if !ok || !user.active {
        return bad();
    }
    let session = match state
        .store
        .create_session(user, state.config.session_ttl_secs)
        .await
    {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let secure = if state.config.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        session.token, state.config.session_ttl_secs
    );
    let mut resp = see_other(&next);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(token.to_owned()).await;
    }
    let mut resp = see_other("/login");
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("wh_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    resp
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
    let mut resp = see_other(&safe_next(Some(&back)));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "lang={value}; SameSite=Lax; Path=/; Max-Age=31536000"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Percent-encodes all but RFC 3986 unreserved bytes and `keep`.
pub fn percent_encode(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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
    }
}
