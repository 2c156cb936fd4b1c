//! Checks a clerk expects, and errors without dead ends (issue 3/8 items 7
//! and 8): no loan starting in the past; every field's problem at once,
//! beside its field, keeping what was typed (422 with `errors` in the
//! API); a warning when more is asked than is in stock and no approval
//! while short; spending over the approved budget waits for finance's
//! recorded approval; error pages in Chinese with a way back, and forms
//! offered only to the roles that may submit them. Real server, real HTTP:
//! the JSON API and browser-style pages with the session cookie and form
//! token.

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// The text a person reads in a page's `<main>` (tags dropped).
fn main_text(html: &str) -> String {
    let start = html.find("<main").unwrap_or(0);
    let end = html.find("</main>").unwrap_or(html.len());
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// English words (two or more lowercase letters) in what a person reads.
fn english_in(html: &str) -> Vec<String> {
    main_text(html)
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2 && w.chars().any(|c| c.is_ascii_lowercase()))
        .map(str::to_owned)
        .collect()
}

/// The `<span class="field-error">` beside `field`, if any.
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("data-field=\"{field}\">");
    let at = html.find(&marker)? + marker.len();
    let end = html[at..].find("</span>")?;
    Some(html[at..at + end].to_owned())
}

/// How many requests the staff of unit A can see.
async fn request_count(w: &World) -> Result<i64> {
    let v = w.server.get_ok("/api/v1/requests", &w.staff_a).await?;
    v["total"]
        .as_i64()
        .ok_or_else(|| anyhow!("no total in {v}"))
}

#[tokio::test]
async fn a_loan_may_not_start_before_today() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let before = request_count(&w).await?;

    // The API: 422 naming loan_start, with today's date in the message.
    let (st, e) = s
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [w.asset_wh], "reason": "培训",
                "loan_start": "2020-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st} {e}");
    ensure!(e["error"]["field"] == "loan_start", "{e}");
    ensure!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("before today")),
        "{e}"
    );

    // The page: the reason beside the start date, in Chinese, and the
    // dates as typed.
    let c = client()?;
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/requests/new/loan",
        &w.staff_a,
        &[
            ("asset_ids", &w.asset_wh.to_string()),
            ("reason", "培训"),
            ("loan_start", "2020-01-05"),
            ("loan_due", "2099-01-06"),
        ],
    )
    .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    let beside = field_error(&html, "loan_start").unwrap_or_default();
    ensure!(
        beside.starts_with("借用开始日期不能早于今天（"),
        "beside loan_start: {beside:?}\n{html}"
    );
    ensure!(
        html.contains("value=\"2020-01-05\""),
        "the date typed is lost"
    );
    ensure!(request_count(&w).await? == before, "a request was stored");

    // Today is fine (whatever today is in Shanghai: the server says it).
    let today = beside
        .trim_start_matches("借用开始日期不能早于今天（")
        .trim_end_matches('）')
        .to_owned();
    s.post_ok(
        "/api/v1/requests",
        &w.staff_a,
        json!({"kind": "loan", "asset_ids": [w.asset_wh], "reason": "培训",
            "loan_start": today, "loan_due": "2099-01-06"}),
        201,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_empty_or_bad_form_shows_every_problem_at_once() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let before = request_count(&w).await?;
    let c = client()?;

    // Nothing filled in: each required field says so beside itself.
    let (st, html) = post_form_page(&c, &s.base, "/requests/new/loan", &w.staff_a, &[]).await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    for (field, text) in [
        ("category_id", "请填写分类"),
        ("quantity", "请填写数量"),
        ("loan_start", "请填写借用开始日期"),
        ("loan_due", "请填写归还日期"),
    ] {
        let got = field_error(&html, field);
        ensure!(
            got.as_deref() == Some(text),
            "beside {field}: {got:?}\n{html}"
        );
    }
    ensure!(html.contains("有 4 处需要修改"), "no count of problems");

    // Bad values: each blamed for what it is, what was typed kept.
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/requests/new/loan",
        &w.staff_a,
        &[
            ("category_id", &w.category.to_string()),
            ("quantity", "十把"),
            ("reason", "年终表彰大会"),
            ("loan_start", "明天"),
            ("loan_due", "2099-01-06"),
        ],
    )
    .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    ensure!(field_error(&html, "quantity").as_deref() == Some("数量应为整数"));
    ensure!(
        field_error(&html, "loan_start").as_deref() == Some("借用开始日期应为日期（年-月-日）")
    );
    ensure!(field_error(&html, "loan_due").is_none(), "loan_due is fine");
    for kept in ["十把", "年终表彰大会", "明天", "2099-01-06"] {
        ensure!(html.contains(kept), "{kept} typed but not kept");
    }
    ensure!(request_count(&w).await? == before, "a request was stored");

    // The API: one 422 listing every field's problem.
    let (st, e) = s
        .post("/api/v1/requests", &w.staff_a, json!({"kind": "loan"}))
        .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st} {e}");
    let fields: Vec<&str> = e["error"]["errors"]
        .as_array()
        .ok_or_else(|| anyhow!("no errors list: {e}"))?
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    ensure!(
        fields == ["category_id", "quantity", "loan_start", "loan_due"],
        "{e}"
    );
    ensure!(e["error"]["field"] == "category_id", "{e}");
    ensure!(
        e["error"]["errors"][2]["message"]
            .as_str()
            .is_some_and(|m| m.contains("loan_start")),
        "{e}"
    );
    // One problem: the list holds it alone.
    let (_, e) = s
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [w.asset_wh], "loan_start": "2099-01-05"}),
        )
        .await?;
    ensure!(
        e["error"]["errors"].as_array().map(Vec::len) == Some(1),
        "{e}"
    );
    ensure!(request_count(&w).await? == before, "a request was stored");
    Ok(())
}

/// An error page: in Chinese, saying `says`, with a way back to `list`
/// (or only home).
pub(crate) fn is_error_page(html: &str, says: &str, list: Option<&str>) -> Result<()> {
    let text = main_text(html);
    ensure!(
        text.contains(says),
        "the page does not say {says:?}: {text}"
    );
    let english = english_in(html);
    ensure!(
        english.is_empty(),
        "English on a Chinese page: {english:?}\n{text}"
    );
    ensure!(
        html.contains(r#"href="/dashboard" data-test="back-home""#),
        "no way home:\n{html}"
    );
    match list {
        Some(l) => ensure!(
            html.contains(&format!(r#"href="{l}" data-test="back-to-list""#)),
            "no way back to {l}:\n{html}"
        ),
        None => ensure!(
            !html.contains("back-to-list"),
            "a way back to a list it may not see"
        ),
    }
    Ok(())
}

#[tokio::test]
async fn error_pages_are_chinese_and_lead_back() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;

    // An address whose number does not read: 400, back to the list.
    let (st, html, _) = page(&c, &s.base, "/requests/abc", &w.staff_a, "").await?;
    ensure!(st == StatusCode::BAD_REQUEST, "{st}");
    is_error_page(&html, "网址中的编号无效", Some("/requests"))?;
    let (st, html, _) = page(&c, &s.base, "/assets/abc", &w.keeper, "").await?;
    ensure!(st == StatusCode::BAD_REQUEST, "{st}");
    is_error_page(&html, "网址中的编号无效", Some("/assets"))?;
    let (st, html, _) = page(&c, &s.base, "/requests?page=abc", &w.staff_a, "").await?;
    ensure!(st == StatusCode::BAD_REQUEST, "{st}");
    is_error_page(&html, "查询条件无效", None)?;

    // A record that is not there: 404, back to its list.
    let (st, html, _) = page(&c, &s.base, "/requests/424242", &w.approver, "").await?;
    ensure!(st == StatusCode::NOT_FOUND, "{st}");
    is_error_page(&html, "找不到编号为 424242 的申请", Some("/requests"))?;

    // A page that does not exist: a page, not the API's JSON.
    let (st, html, _) = page(&c, &s.base, "/nowhere", &w.staff_a, "").await?;
    ensure!(st == StatusCode::NOT_FOUND, "{st}");
    is_error_page(&html, "没有这个页面", None)?;
    // Not logged in (a browser's own `/favicon.ico`): still a 404 page,
    // never the login, whose cookie would replace the one of a login form
    // being filled in.
    let resp = c.get(format!("{}/favicon.ico", s.base)).send().await?;
    ensure!(resp.status() == StatusCode::NOT_FOUND, "{}", resp.status());
    ensure!(
        set_cookie(&resp, "wh_login").is_none(),
        "a login cookie was set"
    );

    // A refusal names the roles that may: 403.
    let (st, html, _) = page(&c, &s.base, "/reports", &w.staff_a, "").await?;
    ensure!(st == StatusCode::FORBIDDEN, "{st}");
    is_error_page(
        &html,
        "查看报表需要系统管理员、审批人、财政、仓管员或审计/纪检的权限",
        None,
    )?;

    // A form whose token has expired (posted after logging in again):
    // a page in Chinese leading back to the form, not the API's JSON.
    let resp = c
        .post(format!("{}/requests/new/loan", s.base))
        .header("cookie", format!("wh_session={}", w.staff_a))
        .header("referer", format!("{}/requests/new/loan", s.base))
        .form(&[("_csrf", "stale"), ("reason", "培训")])
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::FORBIDDEN, "{}", resp.status());
    let html = resp.text().await?;
    ensure!(
        html.contains("已拒绝：表单已过期，请刷新页面后重试"),
        "{html}"
    );
    ensure!(
        html.contains(r#"href="/requests/new/loan" data-test="back-to-form""#),
        "no way back to the form:\n{html}"
    );
    ensure!(
        english_in(&html).is_empty(),
        "English: {:?}",
        english_in(&html)
    );
    Ok(())
}

#[tokio::test]
async fn forms_are_offered_only_to_roles_that_may_submit_them() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;

    // Unit staff are offered the loan form; administrators, approvers and
    // finance are not, and are refused with who files it if they try.
    let (_, list, _) = page(&c, &s.base, "/requests", &w.staff_a, "").await?;
    ensure!(
        list.contains(r#"href="/requests/new/loan""#),
        "no loan form for unit staff"
    );
    for who in [&w.admin, &w.approver, &w.finance] {
        let (_, list, _) = page(&c, &s.base, "/requests", who, "").await?;
        ensure!(!list.contains("/requests/new/"), "a form offered:\n{list}");
        let (st, html, _) = page(&c, &s.base, "/requests/new/loan", who, "").await?;
        ensure!(st == StatusCode::FORBIDDEN, "{st}");
        is_error_page(&html, "借用申请由单位资产管理员提交", Some("/requests"))?;
        let (st, html) = post_form_page(
            &c,
            &s.base,
            "/requests/new/loan",
            who,
            &[("asset_ids", &w.asset_wh.to_string())],
        )
        .await?;
        ensure!(st == StatusCode::FORBIDDEN, "{st}");
        is_error_page(&html, "借用申请由单位资产管理员提交", Some("/requests"))?;
    }
    // Keepers report disposals and damage, and are offered just those.
    let (_, list, _) = page(&c, &s.base, "/requests", &w.keeper, "").await?;
    ensure!(list.contains("/requests/new/disposal") && list.contains("/requests/new/damage"));
    ensure!(
        !list.contains("/requests/new/loan"),
        "keeper offered the loan form"
    );
    let (st, _, _) = page(&c, &s.base, "/requests/new/damage", &w.keeper, "").await?;
    ensure!(st == StatusCode::OK, "{st}");
    // The API refuses the same people by the same rule.
    let (st, e) = s
        .post(
            "/api/v1/requests",
            &w.admin,
            json!({"kind": "loan", "asset_ids": [w.asset_wh], "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    ensure!(st == StatusCode::FORBIDDEN, "{st} {e}");
    Ok(())
}

#[tokio::test]
async fn offering_an_idle_asset_says_so() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let path = format!("/assets/{}/idle", w.asset_a);
    let (st, to, flash) = post_form(&c, &s.base, &path, &w.staff_a, &[("notes", "八成新")]).await?;
    ensure!(st == StatusCode::SEE_OTHER, "{st}");
    let flash = flash.ok_or_else(|| anyhow!("no confirmation"))?;
    let (_, html, _) = page(&c, &s.base, &to, &w.staff_a, &flash).await?;
    ensure!(
        html.contains(r#"data-test="flash">已发布到虚拟仓<"#),
        "the confirmation does not say what was done:\n{html}"
    );
    Ok(())
}

/// The id of a created record in an API answer.
fn rid(v: &Value) -> Result<i64> {
    v["id"].as_i64().ok_or_else(|| anyhow!("no id in {v}"))
}

/// Registers an in-stock desk of the world's category on shelf A01.
async fn desk_in_stock(w: &World, number: &str) -> Result<i64> {
    id(&w
        .server
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": number, "name": "办公桌", "category_id": w.category,
                "original_value_fen": 150000, "holder_location_id": w.loc_1}),
            201,
        )
        .await?)
}

#[tokio::test]
async fn more_asked_than_in_stock_warns_and_is_not_approved_until_stock_arrives() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    // One desk is in stock (the world's `asset_wh`); three are asked for.
    let loan = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "category_id": w.category, "quantity": 3,
                "reason": "年终表彰大会", "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
            201,
        )
        .await?;
    let id = rid(&loan)?;
    ensure!(
        loan["stock"]
            == json!({"category_id": w.category, "asked": 3, "in_stock": 1, "short_by": 2}),
        "{loan}"
    );

    // Filing: the page the applicant lands on warns.
    let (_, html, _) = page(&c, &s.base, &format!("/requests/{id}"), &w.staff_a, "").await?;
    ensure!(
        html.contains("库存不足：申请 3 件，在库仅 1 件，缺 2 件"),
        "no warning after filing:\n{html}"
    );
    // The approver sees the shortfall in the inbox and on the request.
    let (_, inbox, _) = page(&c, &s.base, "/inbox", &w.approver, "").await?;
    ensure!(
        inbox.contains("缺货 2 件"),
        "no shortfall in the inbox:\n{inbox}"
    );

    // Approval is refused while short: 409 short_of_stock, in Chinese with
    // the figures on the page, and the request stays where it was.
    let steps = format!("/api/v1/requests/{id}/steps");
    let (st, e) = s
        .post(&steps, &w.approver, json!({"action": "approve"}))
        .await?;
    ensure!(st == StatusCode::CONFLICT, "{st} {e}");
    ensure!(e["error"]["code"] == "short_of_stock", "{e}");
    let (st, html) = post_form_page(
        &c,
        &s.base,
        &format!("/requests/{id}/step"),
        &w.approver,
        &[("action", "approve")],
    )
    .await?;
    ensure!(st == StatusCode::CONFLICT, "{st}");
    ensure!(
        html.contains(&format!(
            "申请（编号 {id}）需要办公桌 3 件，在库仅 1 件，库存不足；待到货入库后再批准"
        )),
        "no Chinese refusal with the figures:\n{html}"
    );
    let v = s
        .get_ok(&format!("/api/v1/requests/{id}"), &w.approver)
        .await?;
    ensure!(v["stage"] == "approval", "{v}");

    // Stock arrives: two more desks; now it is approved.
    desk_in_stock(&w, "2001").await?;
    desk_in_stock(&w, "2002").await?;
    let v = s
        .get_ok(&format!("/api/v1/requests/{id}"), &w.approver)
        .await?;
    ensure!(v["stock"]["short_by"] == 0, "{v}");
    let v = s
        .post_ok(&steps, &w.approver, json!({"action": "approve"}), 200)
        .await?;
    ensure!(v["request"]["stage"] == "checkout", "{v}");

    // Enough from the start: no warning.
    let ok = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "allocation", "category_id": w.category, "quantity": 1, "reason": "新进人员"}),
            201,
        )
        .await?;
    ensure!(ok["stock"]["short_by"] == 0, "{ok}");
    Ok(())
}

#[tokio::test]
async fn spending_over_the_budget_waits_for_finances_recorded_approval() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let buy = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "purchase", "category_id": w.category, "quantity": 3,
                "budget_fen": 1_500_000, "reason": "新办公室"}),
            201,
        )
        .await?;
    let id = rid(&buy)?;
    let steps = format!("/api/v1/requests/{id}/steps");
    s.post_ok(&steps, &w.approver, json!({"action": "approve"}), 200)
        .await?;
    s.post_ok(&steps, &w.finance, json!({"action": "approve"}), 200)
        .await?;
    // An empty procurement form: every field's problem beside it; the
    // API lists them all.
    let (st, html) = post_form_page(
        &c,
        &s.base,
        &format!("/requests/{id}/step"),
        &w.approver,
        &[("action", "procure")],
    )
    .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    for (field, text) in [
        ("supplier", "请填写供应商"),
        ("contract_number", "请填写合同号"),
        ("unit_price_fen", "请填写单价"),
    ] {
        let got = field_error(&html, field);
        ensure!(
            got.as_deref() == Some(text),
            "beside {field}: {got:?}\n{html}"
        );
    }
    let (st, e) = s
        .post(
            &steps,
            &w.approver,
            json!({"action": "procure", "supplier": " ", "contract_number": "", "unit_price_fen": -5}),
        )
        .await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st} {e}");
    let fields: Vec<&str> = e["error"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["field"].as_str())
        .collect();
    ensure!(
        fields == ["supplier", "contract_number", "unit_price_fen"],
        "{e}"
    );
    // 3 × 6,000 against a budget of 15,000.
    let v = s
        .post_ok(
            &steps,
            &w.approver,
            json!({"action": "procure", "supplier": "某某家具公司", "contract_number": "ZC-2099-001",
                "unit_price_fen": 600_000}),
            200,
        )
        .await?;
    let r = &v["request"];
    ensure!(
        r["stage"] == "over_budget" && r["awaiting"] == "finance",
        "{r}"
    );
    ensure!(
        r["overspent_fen"] == 300_000 && r["savings_fen"].is_null(),
        "{r}"
    );

    // Nothing is received before finance decides.
    let (st, e) = s
        .post(
            &steps,
            &w.keeper,
            json!({"action": "receive", "location_id": w.loc_1}),
        )
        .await?;
    ensure!(
        st == StatusCode::CONFLICT && e["error"]["code"] == "wrong_stage",
        "{st} {e}"
    );
    // Finance sees it waiting, with the figures.
    let inbox = s.get_ok("/api/v1/inbox", &w.finance).await?;
    ensure!(
        inbox["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"] == id)),
        "{inbox}"
    );
    let (_, html, _) = page(&c, &s.base, &format!("/requests/{id}"), &w.finance, "").await?;
    ensure!(
        html.contains("实际支出 18000.00 元，超出批准预算 15000.00 元 3000.00 元"),
        "no over-budget note:\n{html}"
    );
    ensure!(html.contains("超预算审核"), "stage not in words");
    // Only finance decides, and only with a reason.
    let (st, _) = s
        .post(
            &steps,
            &w.approver,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
    ensure!(st == StatusCode::FORBIDDEN, "{st}");
    let (st, e) = s
        .post(&steps, &w.finance, json!({"action": "approve"}))
        .await?;
    ensure!(
        st == StatusCode::UNPROCESSABLE_ENTITY && e["error"]["field"] == "comment",
        "{st} {e}"
    );
    let v = s
        .post_ok(
            &steps,
            &w.finance,
            json!({"action": "approve", "comment": "会议室扩容，差额由追加预算解决"}),
            200,
        )
        .await?;
    let r = &v["request"];
    ensure!(r["stage"] == "receiving", "{r}");
    // The approval is recorded: who, when, why and the figures.
    let last = r["steps"]
        .as_array()
        .and_then(|a| a.last())
        .ok_or_else(|| anyhow!("no steps"))?;
    ensure!(
        last["stage"] == "over_budget" && last["action"] == "approve",
        "{last}"
    );
    ensure!(
        last["actor"] == "user:finance" && last["at"].is_string(),
        "{last}"
    );
    ensure!(
        last["comment"] == "会议室扩容，差额由追加预算解决",
        "{last}"
    );
    ensure!(last["details"]["overspent_fen"] == 300_000, "{last}");

    // The savings report shows 超支, never negative savings.
    let rep = s.get_ok("/api/v1/reports/procurement", &w.finance).await?;
    ensure!(rep["totals"]["savings_fen"] == 0, "{rep}");
    ensure!(rep["totals"]["overspent_fen"] == 300_000, "{rep}");
    let (_, html, _) = page(&c, &s.base, "/reports?name=procurement", &w.finance, "").await?;
    ensure!(
        html.contains("超支（元）") && html.contains("3000.00"),
        "{html}"
    );
    ensure!(
        !html.contains("-3000.00"),
        "negative savings shown:\n{html}"
    );
    let (_, html, _) = page(&c, &s.base, &format!("/requests/{id}"), &w.finance, "").await?;
    ensure!(
        html.contains(r#"data-test="overspent">3000.00<"#) && !html.contains("节约资金"),
        "{html}"
    );
    Ok(())
}
