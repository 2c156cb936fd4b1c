//! The last ids and English on pages (issue 3/8, items 4 and 8): a
//! refusal names the asset by the number on its label (资产编号), never by
//! its database id; the page header names the person; the framework's own
//! refusals (an upload too large, a body that is no multipart, a wrong
//! method) come as the Chinese error page with a way back; and English
//! mode has no Chinese left in its interface text. Real server, browser
//! style requests.

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::json;

use crate::clerk_checks::is_error_page;
use crate::pages_words::{client, page, post_form, request_id, visible_text};
use crate::support::*;

/// The loan form of the standard world's unit, naming `numbers`.
fn loan_form(category: i64, numbers: &str) -> Vec<(&'static str, String)> {
    vec![
        ("category_id", category.to_string()),
        ("quantity", "1".to_owned()),
        ("asset_numbers", numbers.to_owned()),
        ("reason", "年终表彰大会".to_owned()),
        ("loan_start", "2030-01-02".to_owned()),
        ("loan_due", "2030-01-05".to_owned()),
    ]
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn refusals_name_assets_by_their_number_not_their_id() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    // The standard world's assets: 1001 (unit A's), 1003 (in stock). Their
    // ids are small numbers that must not show.
    ensure!(w.asset_a != 1001 && w.asset_wh != 1003, "ids equal numbers");

    // Borrowing what the unit already holds: refused above the form, the
    // asset named by its number.
    let form = loan_form(w.category, "1001");
    let (status, _, html) =
        post_form(&c, &s.base, "/requests/new/loan", &w.staff_a, &pairs(&form)).await?;
    ensure!(status == StatusCode::CONFLICT, "step 1: {status}");
    let text = visible_text(&html);
    ensure!(
        text.contains("资产 1001 当前为「已调配」，只能申请在库的资产"),
        "the refusal does not name asset 1001:\n{text}"
    );
    ensure!(
        !text.contains(&format!("资产 {} ", w.asset_a)),
        "the refusal shows the id:\n{text}"
    );

    // An asset another open request holds: both named as people know them.
    let form = loan_form(w.category, "1003");
    let (status, location, _) =
        post_form(&c, &s.base, "/requests/new/loan", &w.staff_a, &pairs(&form)).await?;
    ensure!(status == StatusCode::SEE_OTHER, "step 2: {status}");
    let first = request_id(&location)?;
    let (status, _, html) =
        post_form(&c, &s.base, "/requests/new/loan", &w.staff_a, &pairs(&form)).await?;
    ensure!(status == StatusCode::CONFLICT, "step 3: {status}");
    let text = visible_text(&html);
    ensure!(
        text.contains(&format!("资产 1003 已被未办结的申请（编号 {first}）占用")),
        "the refusal does not name asset 1003 and request {first}:\n{text}"
    );

    // The API says the number people read and the id it was sent.
    let (status, v) = s
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "category_id": w.category, "quantity": 1,
                "asset_ids": [w.asset_a], "reason": "会议",
                "loan_start": "2030-01-02", "loan_due": "2030-01-05"}),
        )
        .await?;
    ensure!(status == StatusCode::CONFLICT, "{status}: {v}");
    ensure!(v["error"]["code"] == "wrong_state", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        message.starts_with(&format!("asset 1001 (id {}) is allocated", w.asset_a)),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn the_header_names_the_person_with_the_login_name_beside() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    s.post_ok(
        "/api/v1/users",
        &admin,
        json!({"username": "zhangsan", "display_name": "张三", "password": PASSWORD,
            "role": "keeper"}),
        201,
    )
    .await?;
    let keeper = s.login("zhangsan", PASSWORD).await?;
    let c = client()?;
    let (status, html) = page(&c, &s.base, "/dashboard", &keeper, "zh").await?;
    ensure!(status == StatusCode::OK, "step 4: {status}");
    let who = html
        .split("<a class=\"who\"")
        .nth(1)
        .and_then(|rest| rest.split("</a>").next())
        .unwrap_or_default();
    ensure!(who.contains("张三 · 仓管员"), "header shows {who:?}");
    ensure!(
        who.contains("data-user=\"zhangsan\""),
        "no login name: {who:?}"
    );
    ensure!(
        who.contains("title=\"zhangsan"),
        "no login name tooltip: {who:?}"
    );
    // Someone without a display name is shown by the login name.
    let (_, html) = page(&c, &s.base, "/dashboard", &admin, "zh").await?;
    ensure!(
        visible_text(&html).contains(&format!("{ADMIN} · 系统管理员")),
        "{}",
        visible_text(&html)
    );
    Ok(())
}

/// A browser's POST of `body` (as `content_type`) to a page, with the
/// session's form token in the query string as upload forms carry it.
async fn raw_post(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, String)> {
    let token = form_token(c, base, session).await?;
    let resp = c
        .post(format!("{base}{path}?_csrf={token}"))
        .header("cookie", format!("wh_session={session}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    Ok((resp.status(), resp.text().await?))
}

/// A page in Chinese saying `says`, with nothing of the framework's
/// English (or any English word, or raw id) in its text.
fn in_chinese(html: &str, says: &str) -> Result<()> {
    let text = visible_text(html);
    ensure!(
        text.contains(says),
        "the page does not say {says:?}:\n{text}"
    );
    let data = ["赵六", "市财政局", "办公椅"].map(String::from);
    let found = test_support::unreadable(&text, &data);
    ensure!(found.is_empty(), "{found:?} on the page:\n{text}");
    Ok(())
}

/// A multipart body with one file field of `size` bytes of a PDF.
fn one_file(boundary: &str, size: usize) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    )
    .into_bytes();
    body.resize(body.len() + size, b'x');
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn the_frameworks_refusals_are_chinese_pages_with_a_way_back() -> Result<()> {
    // A small body limit, so an oversized form is cheap to send.
    let s = Server::start_fresh(&[("WAREHOUSE_MAX_BODY_BYTES", "65536")], &[])?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    let unit = id(&s
        .post_ok("/api/v1/units", &admin, json!({"name": "市财政局"}), 201)
        .await?)?;
    let category = id(&s
        .post_ok(
            "/api/v1/categories",
            &admin,
            json!({"code": "0201", "name": "办公椅"}),
            201,
        )
        .await?)?;
    s.post_ok(
        "/api/v1/users",
        &admin,
        json!({"username": "zhaoliu", "display_name": "赵六", "password": PASSWORD,
            "role": "unit_staff", "unit_id": unit}),
        201,
    )
    .await?;
    let staff = s.login("zhaoliu", PASSWORD).await?;
    // No kept connections: the server may close one whose body it refused
    // before reading it all.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()?;
    let base = &s.base;
    let (status, location, _) = post_form(
        &c,
        base,
        "/requests/new/purchase",
        &staff,
        &[
            ("category_id", &category.to_string()),
            ("quantity", "2"),
            ("budget", "1500.00"),
            ("reason", "新增会议室座椅"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "step 5: {status}");
    let request = request_id(&location)?;
    let docs = format!("/requests/{request}/documents");

    // A document over the 5 MB limit: 413, the limit in Chinese, a way back.
    let (status, html) = raw_post(
        &c,
        base,
        &docs,
        &staff,
        "multipart/form-data; boundary=XyZ",
        one_file("XyZ", 6 * 1024 * 1024),
    )
    .await?;
    // The request page again, the refusal beside its upload form.
    ensure!(status == StatusCode::PAYLOAD_TOO_LARGE, "step 6: {status}");
    in_chinese(&html, "文件超过 5 MB，不能上传")?;
    // An asset photo too: the same limit, the same words.
    let chair = id(&s
        .post_ok(
            "/api/v1/assets",
            &admin,
            json!({"asset_number": "1001", "name": "办公椅甲", "category_id": category,
                "original_value_fen": 60000, "holder_unit_id": unit}),
            201,
        )
        .await?)?;
    let (status, html) = raw_post(
        &c,
        base,
        &format!("/assets/{chair}/photo"),
        &admin,
        "multipart/form-data; boundary=XyZ",
        one_file("XyZ", 6 * 1024 * 1024),
    )
    .await?;
    ensure!(status == StatusCode::PAYLOAD_TOO_LARGE, "step 7: {status}");
    is_error_page(&html, "文件超过 5 MB，不能上传", Some("/assets"))?;

    // An upload whose body is no multipart at all: the error page.
    let (status, html) = raw_post(
        &c,
        base,
        &docs,
        &staff,
        "multipart/form-data",
        b"file=abc".to_vec(),
    )
    .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "step 8: {status}");
    is_error_page(&html, "文件未能读取，请重新上传", Some("/requests"))?;
    // One cut short: the request page, saying so.
    let (status, html) = raw_post(
        &c,
        base,
        &docs,
        &staff,
        "multipart/form-data; boundary=XyZ",
        b"--XyZ\r\nContent-Disposition: form-da".to_vec(),
    )
    .await?;
    ensure!(status.is_client_error(), "{status}");
    in_chinese(&html, "文件未能读取，请重新上传")?;

    // A form larger than the server takes: 413 as a page.
    let (status, html) = raw_post(
        &c,
        base,
        "/requests/new/loan",
        &staff,
        "application/x-www-form-urlencoded",
        format!("reason={}", "x".repeat(100 * 1024)).into_bytes(),
    )
    .await?;
    ensure!(status == StatusCode::PAYLOAD_TOO_LARGE, "step 9: {status}");
    is_error_page(&html, "提交的内容超过服务器允许的大小", Some("/requests"))?;

    // A malformed form: bytes that are no text. Refused beside its fields
    // in Chinese; nothing filed.
    let (status, html) = raw_post(
        &c,
        base,
        "/requests/new/loan",
        &staff,
        "application/x-www-form-urlencoded",
        b"category_id=%FF%FE&quantity=\xff\xfe&&&=&loan_start".to_vec(),
    )
    .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY,
        "step 10: {status}"
    );
    ensure!(
        html.contains("data-field=\"category_id\"") && html.contains("分类"),
        "no field error:\n{}",
        visible_text(&html)
    );
    let filed = s.get_ok("/api/v1/requests", &staff).await?;
    ensure!(filed["total"] == 1, "{filed}");

    // A page address asked with a method it does not take: 405 as a page.
    let (status, html) = page(&c, base, &format!("/requests/{request}/step"), &staff, "zh").await?;
    ensure!(
        status == StatusCode::METHOD_NOT_ALLOWED,
        "step 11: {status}"
    );
    is_error_page(&html, "这个页面不支持这种操作", Some("/requests"))?;

    // The login page with a query it cannot read, and a language switch
    // to an address that is no text: still pages, not the framework's text.
    let resp = c
        .get(format!("{base}/login?next=/a&next=/b"))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{}", resp.status());
    let html = resp.text().await?;
    ensure!(html.contains("name=\"password\""), "no login form:\n{html}");
    let resp = c
        .get(format!("{base}/lang/%FF"))
        .header("cookie", format!("wh_session={staff}"))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::SEE_OTHER, "{}", resp.status());

    // The JSON API keeps its JSON errors.
    let resp = c
        .get(format!("{base}/api/v1/requests/{request}/steps"))
        .header("authorization", format!("Bearer {staff}"))
        .send()
        .await?;
    ensure!(
        resp.status() == StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        resp.status()
    );
    let v: serde_json::Value = resp.json().await?;
    ensure!(v["error"]["code"] == "method_not_allowed", "{v}");
    Ok(())
}

#[tokio::test]
async fn english_pages_have_no_chinese_interface_text() -> Result<()> {
    let s = Server::start()?;
    // Every name is Chinese: what is left Chinese after taking them out is
    // the interface's.
    let names = [
        "市财政局",
        "主仓",
        "一号库房",
        "办公椅",
        "张三",
        "李四",
        "王五",
        "赵六",
        "办公椅甲",
        "办公椅乙",
        "年终表彰大会",
        "新增会议室座椅",
        "同意",
        test_support::ORG_NAME,
        // The switch back to Chinese names the language in its own words.
        "中文",
    ];
    let data: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let NamedWorld {
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
        ..
    } = NamedWorld::new(&s).await?;
    let c = client()?;
    let base = &s.base;
    let form = loan_form(chairs, "1001");
    let mut form = pairs(&form);
    form[3] = ("reason", "年终表彰大会");
    let (status, location, _) = post_form(&c, base, "/requests/new/loan", &staff, &form).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let loan = request_id(&location)?;
    crate::pages_words::step(
        &c,
        base,
        loan,
        &approver,
        &[("action", "approve"), ("comment", "同意")],
    )
    .await?;
    let (status, location, _) = post_form(
        &c,
        base,
        "/requests/new/purchase",
        &staff,
        &[
            ("category_id", &chairs.to_string()),
            ("quantity", "2"),
            ("budget", "1500.00"),
            ("reason", "新增会议室座椅"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let purchase = request_id(&location)?;
    let stocktake = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &keeper,
            json!({"warehouse_id": wh, "location_id": a01, "reader_ids": [desk]}),
            201,
        )
        .await?)?;

    let mut walk: Vec<(&str, String)> = Vec::new();
    for who in [&staff, &keeper, &approver, &finance, &admin] {
        for path in [
            "/dashboard",
            "/inbox",
            "/assets",
            "/requests",
            "/account/password",
        ] {
            walk.push((who, path.to_owned()));
        }
        walk.push((who, format!("/requests/{loan}")));
        walk.push((who, format!("/requests/{purchase}")));
        walk.push((who, format!("/assets/{chair}")));
    }
    for kind in [
        "loan",
        "allocation",
        "purchase",
        "transfer",
        "intake",
        "disposal",
        "damage",
    ] {
        walk.push((&staff, format!("/requests/new/{kind}")));
        walk.push((&keeper, format!("/requests/new/{kind}")));
    }
    walk.push((&staff, "/virtual-warehouse".to_owned()));
    walk.push((&staff, format!("/assets/{held}")));
    walk.push((&approver, "/virtual-warehouse".to_owned()));
    walk.push((&approver, "/reports".to_owned()));
    walk.push((&approver, "/cockpit".to_owned()));
    walk.push((&approver, "/procurements".to_owned()));
    // The calendar, in the loan's month (its bookings listed) and today's.
    for who in [&staff, &keeper, &approver] {
        walk.push((who, "/calendar".to_owned()));
        walk.push((who, "/calendar?month=2030-01".to_owned()));
    }
    walk.push((&approver, "/reports?name=loans&by=region".to_owned()));
    for path in [
        "/stocktakes".to_owned(),
        format!("/stocktakes/{stocktake}"),
        "/alarms".to_owned(),
        "/reports".to_owned(),
        format!("/requests/{loan}/desk"),
        format!("/requests/{loan}/pick-list"),
        format!("/assets/{chair}/tag"),
    ] {
        walk.push((&keeper, path));
    }
    for report in [
        "assets-by-state",
        "utilisation",
        "loans",
        "requests",
        "procurement",
        "disposals",
        "compensation",
        "contracts",
    ] {
        walk.push((&approver, format!("/reports?name={report}")));
    }
    // The desk with its reader chosen (silent: nothing reports).
    walk.push((
        &keeper,
        format!("/requests/{loan}/desk?reader={desk}&since=0"),
    ));
    walk.push((&admin, "/admin".to_owned()));
    for who in [&staff, &keeper, &approver, &finance, &admin] {
        walk.push((who, "/warnings".to_owned()));
    }
    walk.push((&admin, "/audit-log".to_owned()));
    // Error pages: a record not there, a refused page, a bad address.
    walk.push((&staff, "/requests/424242".to_owned()));
    walk.push((&staff, "/admin".to_owned()));
    walk.push((&staff, "/assets?page=abc".to_owned()));
    // Idle findings (闲置问责): the unit's, the keepers' and the agency's.
    for who in [&staff, &keeper, &approver] {
        walk.push((who, "/idle-findings".to_owned()));
    }

    let mut problems = Vec::new();
    for (session, path) in &walk {
        let (status, html) = page(&c, base, path, session, "en").await?;
        ensure!(
            status.is_success() || status.is_client_error(),
            "{path}: {status}"
        );
        let text = visible_text(&html);
        let found = test_support::chinese_outside(&text, &data);
        if !found.is_empty() {
            problems.push(format!("{path}: {found:?}"));
        }
    }
    // A refused form, in English: the refusal and the form around it.
    let token = form_token(&c, base, &staff).await?;
    let mut refused = loan_form(chairs, "1002");
    refused.push(("_csrf", token));
    let resp = c
        .post(format!("{base}/requests/new/loan"))
        .header("cookie", format!("wh_session={staff}; lang=en"))
        .form(&refused)
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::CONFLICT, "{}", resp.status());
    let text = visible_text(&resp.text().await?);
    ensure!(
        text.contains("asset 1002 (id"),
        "no English refusal naming 1002:\n{text}"
    );
    let found = test_support::chinese_outside(&text, &data);
    if !found.is_empty() {
        problems.push(format!("refused loan form: {found:?}"));
    }
    problems.sort();
    problems.dedup();
    ensure!(
        problems.is_empty(),
        "Chinese on English pages:\n{}",
        problems.join("\n")
    );
    Ok(())
}
