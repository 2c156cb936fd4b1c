//! Fixtures only the server's end-to-end tests use: a standard world of
//! units, users, readers and assets, and observation batches. Starting the
//! real binary on 127.0.0.1 (OS-assigned port, temporary database) and the
//! HTTP client come from the `test-support` crate, re-exported here.

use anyhow::{anyhow, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[allow(unused_imports)]
pub use test_support::{
    admin_init, api_login, chain_key_file, cli, cli_ok, id, output_within, Server, ADMIN,
    COMPANY_PREFIX, PASSWORD,
};

/// The standard world: two units, a warehouse with two locations, a
/// category, one user per role, a gate and a handheld reader, and three
/// assets (in unit A, in unit B, in the warehouse).
/// A small register where every name is Chinese and people have display
/// names (the pages-in-words tests): unit 市财政局, warehouse 主仓 with
/// shelf A01 一号库房, category 办公椅, 张三 keeper, 李四 approver, 王五
/// finance, 赵六 unit staff, a desk reader at A01, chair 1001 on the shelf
/// and 1002 held by the unit.
pub struct NamedWorld {
    pub admin: String,
    pub wh: i64,
    pub a01: i64,
    pub chairs: i64,
    pub keeper: String,
    pub approver: String,
    pub finance: String,
    pub staff: String,
    pub desk: i64,
    pub chair: i64,
    pub held: i64,
}

impl NamedWorld {
    pub async fn new(s: &Server) -> Result<Self> {
        let admin = s.login(ADMIN, PASSWORD).await?;
        let unit = id(&s
            .post_ok("/api/v1/units", &admin, json!({"name": "市财政局"}), 201)
            .await?)?;
        let wh = id(&s
            .post_ok("/api/v1/warehouses", &admin, json!({"name": "主仓"}), 201)
            .await?)?;
        let a01 = id(&s
            .post_ok(
                &format!("/api/v1/warehouses/{wh}/locations"),
                &admin,
                json!({"code": "A01", "name": "一号库房"}),
                201,
            )
            .await?)?;
        let chairs = id(&s
            .post_ok(
                "/api/v1/categories",
                &admin,
                json!({"code": "0201", "name": "办公椅"}),
                201,
            )
            .await?)?;
        let mut sessions = Vec::new();
        for (username, name, role, unit) in [
            ("zhangsan", "张三", "keeper", None),
            ("lisi", "李四", "approver", None),
            ("wangwu", "王五", "finance", None),
            ("zhaoliu", "赵六", "unit_staff", Some(unit)),
        ] {
            s.post_ok(
                "/api/v1/users",
                &admin,
                json!({"username": username, "display_name": name, "password": PASSWORD,
                    "role": role, "unit_id": unit}),
                201,
            )
            .await?;
            sessions.push(s.login(username, PASSWORD).await?);
        }
        let [keeper, approver, finance, staff] =
            <[String; 4]>::try_from(sessions).map_err(|_| anyhow!("four sessions expected"))?;
        let (desk, _) = s.add_reader(&admin, "desk-1", "desk", Some(a01)).await?;
        let chair = id(&s
            .post_ok(
                "/api/v1/assets",
                &keeper,
                json!({"asset_number": "1001", "name": "办公椅甲", "category_id": chairs,
                    "original_value_fen": 60000, "holder_location_id": a01}),
                201,
            )
            .await?)?;
        let held = id(&s
            .post_ok(
                "/api/v1/assets",
                &keeper,
                json!({"asset_number": "1002", "name": "办公椅乙", "category_id": chairs,
                    "original_value_fen": 60000, "holder_unit_id": unit}),
                201,
            )
            .await?)?;
        Ok(NamedWorld {
            admin,
            wh,
            a01,
            chairs,
            keeper,
            approver,
            finance,
            staff,
            desk,
            chair,
            held,
        })
    }
}

pub struct World {
    pub server: Server,
    pub admin: String,
    pub approver: String,
    pub finance: String,
    pub keeper: String,
    /// Unit staff of unit A.
    pub staff_a: String,
    pub unit_a: i64,
    pub unit_b: i64,
    pub warehouse: i64,
    pub loc_1: i64,
    pub loc_2: i64,
    pub category: i64,
    #[allow(dead_code)]
    pub gate: i64,
    pub gate_token: String,
    pub handheld: i64,
    pub handheld_token: String,
    pub asset_a: i64,
    pub asset_b: i64,
    pub asset_wh: i64,
}

impl World {
    pub async fn new() -> Result<Self> {
        let server = Server::start()?;
        let admin = server.login(ADMIN, PASSWORD).await?;
        let s = &server;
        let unit_a = id(&s
            .post_ok("/api/v1/units", &admin, json!({"name": "单位A"}), 201)
            .await?)?;
        let unit_b = id(&s
            .post_ok("/api/v1/units", &admin, json!({"name": "单位B"}), 201)
            .await?)?;
        let warehouse = id(&s
            .post_ok("/api/v1/warehouses", &admin, json!({"name": "主仓"}), 201)
            .await?)?;
        let loc_1 = id(&s
            .post_ok(
                &format!("/api/v1/warehouses/{warehouse}/locations"),
                &admin,
                json!({"code": "A01", "name": "Shelf 1"}),
                201,
            )
            .await?)?;
        let loc_2 = id(&s
            .post_ok(
                &format!("/api/v1/warehouses/{warehouse}/locations"),
                &admin,
                json!({"code": "A02", "name": "Shelf 2"}),
                201,
            )
            .await?)?;
        let category = id(&s
            .post_ok(
                "/api/v1/categories",
                &admin,
                json!({"code": "0101", "name": "办公桌"}),
                201,
            )
            .await?)?;
        let mut tokens = Vec::new();
        for (name, role, unit) in [
            ("approver", "approver", None),
            ("finance", "finance", None),
            ("keeper", "keeper", None),
            ("staff_a", "unit_staff", Some(unit_a)),
        ] {
            tokens.push(s.add_user(&admin, name, role, unit).await?);
        }
        let (gate, gate_token) = s.add_reader(&admin, "gate-1", "gate", None).await?;
        let (handheld, handheld_token) = s
            .add_reader(&admin, "handheld-1", "handheld", Some(loc_1))
            .await?;
        let asset = |number: &str, holder: Value| {
            let mut body = json!({
                "asset_number": number, "name": format!("桌子 {number}"), "category_id": category,
                "original_value_fen": 150000, "purchase_date": "2024-03-01",
            });
            if let (Some(b), Some(h)) = (body.as_object_mut(), holder.as_object()) {
                b.extend(h.clone());
            }
            body
        };
        let asset_a = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1001", json!({"holder_unit_id": unit_a})),
                201,
            )
            .await?)?;
        let asset_b = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1002", json!({"holder_unit_id": unit_b})),
                201,
            )
            .await?)?;
        let asset_wh = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1003", json!({"holder_location_id": loc_1})),
                201,
            )
            .await?)?;
        let mut t = tokens.into_iter();
        let mut next = || t.next().ok_or_else(|| anyhow!("missing token"));
        Ok(Self {
            approver: next()?,
            finance: next()?,
            keeper: next()?,
            staff_a: next()?,
            admin,
            unit_a,
            unit_b,
            warehouse,
            loc_1,
            loc_2,
            category,
            gate,
            gate_token,
            handheld,
            handheld_token,
            asset_a,
            asset_b,
            asset_wh,
            server,
        })
    }

    /// Allocates and confirms the GIAI-96 tag of an asset; returns the EPC.
    pub async fn tag(&self, asset: i64) -> Result<String> {
        self.server
            .tag_asset(asset, &self.keeper, &self.handheld_token)
            .await
    }
}

/// One observation for a batch.
pub fn obs(epc: &str, reader: &str, kind: &str) -> Value {
    json!({
        "epc": epc, "reader": reader, "antenna": 1,
        "first_seen": "2026-11-01T08:00:00Z", "last_seen": "2026-11-01T08:00:02Z",
        "count": 5, "peak_rssi": -52, "kind": kind,
    })
}

pub fn batch(daemon: &str, sequence: u64, observations: Vec<Value>) -> Value {
    json!({"daemon_id": daemon, "sequence": sequence, "observations": observations})
}

/// The `name=value` of the `Set-Cookie` called `name`, if any.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The login page's pre-session cookie (`wh_login=…`) and form token.
pub async fn login_page(
    c: &reqwest::Client,
    base: &str,
    query: &str,
) -> Result<(String, String, String)> {
    let resp = c.get(format!("{base}/login{query}")).send().await?;
    let cookie = set_cookie(&resp, "wh_login").ok_or_else(|| anyhow!("no wh_login cookie"))?;
    let html = resp.text().await?;
    let token = hidden(&html, "login_token")?;
    Ok((cookie, token, html))
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> Result<String> {
    let at = html
        .find(&format!("name=\"{name}\""))
        .ok_or_else(|| anyhow!("no input {name} in the page"))?;
    let rest = &html[at..];
    let v = rest
        .find("value=\"")
        .ok_or_else(|| anyhow!("input {name} has no value"))?;
    let rest = &rest[v + 7..];
    let end = rest
        .find('"')
        .ok_or_else(|| anyhow!("unterminated value"))?;
    Ok(rest[..end].to_owned())
}

/// The form token of a browser session (`wh_session=SESSION`), read off a
/// page as the browser would: every logged-in form carries it as `_csrf`.
pub async fn form_token(c: &reqwest::Client, base: &str, session: &str) -> Result<String> {
    let html = c
        .get(format!("{base}/account/password"))
        .header("cookie", format!("wh_session={session}"))
        .send()
        .await?
        .text()
        .await?;
    hidden(&html, "_csrf")
}

/// Creates a keeper `name` with `password` (no login); returns the id.
pub async fn add_keeper(s: &Server, admin: &str, name: &str, password: &str) -> Result<i64> {
    id(&s
        .post_ok(
            "/api/v1/users",
            admin,
            json!({"username": name, "password": password, "role": "keeper"}),
            201,
        )
        .await?)
}

/// Time passes for a loan: its period is rewritten in the database to
/// `start`..`due` (a loan may not be filed in the past, so an overdue one
/// is made by ageing it). The period is not part of the event chain.
pub fn backdate_loan(db: &std::path::Path, request: i64, start: &str, due: &str) -> Result<()> {
    for date in [start, due] {
        anyhow::ensure!(
            date.len() == 10 && date.chars().all(|c| c.is_ascii_digit() || c == '-'),
            "{date} is not a YYYY-MM-DD date"
        );
    }
    let found = test_support::db_scalar(
        db,
        &format!("SELECT count(*) FROM requests WHERE id = {request}"),
    )?;
    anyhow::ensure!(found == Some(1), "no request {request} to backdate");
    test_support::db_execute(
        db,
        &format!(
            "UPDATE requests SET loan_start = '{start}', loan_due = '{due}' WHERE id = {request}"
        ),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------
// A browser session's pages: cookie `wh_session`, form token `_csrf`, no
// redirects followed.

/// An HTTP client that, like a test of a browser's view, does not follow
/// redirects.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// GETs a page as a browser session (`wh_session`), plus extra cookies.
pub async fn page(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    extra: &str,
) -> Result<(StatusCode, String, Option<String>)> {
    let resp = c
        .get(format!("{base}{path}"))
        .header(
            "cookie",
            format!("wh_session={session}; {extra}").trim_end_matches("; "),
        )
        .send()
        .await?;
    let status = resp.status();
    let flash = set_cookie(&resp, "flash");
    Ok((status, resp.text().await?, flash))
}

/// POSTs a form as a browser session; returns the status, `Location` and
/// the `flash` cookie set.
pub async fn post_form(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    form: &[(&str, &str)],
) -> Result<(StatusCode, String, Option<String>)> {
    let csrf = form_token(c, base, session).await?;
    let mut form = form.to_vec();
    form.push(("_csrf", &csrf));
    let resp = c
        .post(format!("{base}{path}"))
        .header("cookie", format!("wh_session={session}"))
        .form(&form)
        .send()
        .await?;
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((resp.status(), location, set_cookie(&resp, "flash")))
}

/// POSTs a form as a browser session; returns the status and the page
/// answered (a form re-rendered with its errors, an error page).
pub async fn post_form_page(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    form: &[(&str, &str)],
) -> Result<(StatusCode, String)> {
    let csrf = form_token(c, base, session).await?;
    let mut form = form.to_vec();
    form.push(("_csrf", &csrf));
    let resp = c
        .post(format!("{base}{path}"))
        .header("cookie", format!("wh_session={session}"))
        .form(&form)
        .send()
        .await?;
    Ok((resp.status(), resp.text().await?))
}

/// True (and says so on stderr) when the suite runs on PostgreSQL and the
/// calling test is about something only SQLite has: copying the database
/// file (`admin backup`) and tampering with the copies. The chain
/// verifier itself runs on both (`log_and_backup`).
pub fn sqlite_only(why: &str) -> bool {
    if test_support::on_postgres() {
        eprintln!("SQLite only, not run on PostgreSQL: {why}");
        true
    } else {
        false
    }
}
