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
    ensure!(status == StatusCode::CONFLICT, "{status}");
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
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let first = request_id(&location)?;
    let (status, _, html) =
        post_form(&c, &s.base, "/requests/new/loan", &w.staff_a, &pairs(&form)).await?;
    ensure!(status == StatusCode::CONFLICT, "{status}");
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
    ensure!(status == StatusCode::OK, "{status}");
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
