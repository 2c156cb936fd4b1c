//! Configuration standards (配置标准): a purchase beyond the standard
//! waits at approval for the agency head's extra, recorded approval (the
//! approval itself is refused until then, naming why), and the
//! over-standard report shows it with its numbers and who approved; one
//! within the standard goes straight on. Bad input to the admin API is
//! named.

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn user_id(s: &Server, admin: &str, username: &str) -> Result<i64> {
    let users = s.get_ok("/api/v1/users?per_page=100", admin).await?;
    users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["username"] == username)
        .and_then(|u| u["id"].as_i64())
        .ok_or_else(|| anyhow::anyhow!("no user {username} in {users}"))
}

async fn step(s: &Server, token: &str, req: i64, body: Value) -> Result<(StatusCode, Value)> {
    s.post(&format!("/api/v1/requests/{req}/steps"), token, body)
        .await
}

#[tokio::test]
async fn an_over_standard_purchase_waits_for_the_agency_head() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = w.category;
    // 办公桌: at most 3 per unit, 3,000 yuan each.
    let set = s
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/categories/{c}/standard"),
            Some(&w.admin),
            Some(json!({"per_unit": 3, "price_ceiling_fen": 300000})),
        )
        .await?;
    ensure!(set.0 == StatusCode::OK && set.1["per_unit"] == 3, "{set:?}");
    let head = s.add_user(&w.admin, "juzhang", "approver", None).await?;
    let head_id = user_id(s, &w.admin, "juzhang").await?;
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{head_id}/agency-head"),
            Some(&w.admin),
            Some(json!({"agency_head": true})),
        )
        .await?;
    ensure!(st == StatusCode::NO_CONTENT, "{st} {v}");
    let users = s.get_ok("/api/v1/users?per_page=100", &w.admin).await?;
    let heads: Vec<&str> = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["agency_head"] == true)
        .filter_map(|u| u["username"].as_str())
        .collect();
    ensure!(heads == ["juzhang"], "{users}");

    // Unit A holds one desk and asks for three more: 1 + 3 > 3.
    let over = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "purchase", "category_id": c, "quantity": 3,
                   "budget_fen": 900000, "reason": "新增科室"}),
            201,
        )
        .await?;
    let over_id = id(&over)?;
    let flag = &over["over_standard"][0];
    ensure!(
        flag["category_id"] == c
            && flag["held"] == 1
            && flag["asked"] == 3
            && flag["limit"] == 3
            && flag["ceiling_fen"] == 300000
            && flag["price_fen"] == 300000,
        "{over}"
    );
    // Without the extra approval the approval is refused, saying why.
    let (st, v) = step(s, &w.approver, over_id, json!({"action": "approve"})).await?;
    ensure!(st == StatusCode::CONFLICT, "{st} {v}");
    ensure!(v["error"]["code"] == "needs_standard_approval", "{v}");
    ensure!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("agency head"),
        "{v}"
    );
    let open = s
        .get_ok("/api/v1/reports/over-standard?open=true", &w.approver)
        .await?;
    ensure!(
        open[0]["request_id"] == over_id && open[0]["awaiting"] == "agency_head",
        "{open}"
    );
    // The warnings board (预警) lists it for the region's approvers.
    let over_warning = |board: &Value| -> Option<Value> {
        board["items"].as_array().and_then(|v| {
            v.iter()
                .find(|x| x["kind"] == "over_standard" && x["subject"]["id"] == over_id)
                .cloned()
        })
    };
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    let warning = over_warning(&board).ok_or_else(|| anyhow!("no warning: {board}"))?;
    ensure!(
        warning["who_acts"]["role"] == "approver" && warning["value_fen"] == 900000,
        "{warning}"
    );
    // Only the agency head gives it: not another approver, not a keeper.
    let extra = json!({"action": "approve_over_standard", "comment": "新设科室，同意超标准配置"});
    let (st, v) = step(s, &w.approver, over_id, extra.clone()).await?;
    ensure!(
        st == StatusCode::FORBIDDEN && v["error"]["code"] == "not_agency_head",
        "{st} {v}"
    );
    let (st, v) = step(s, &w.keeper, over_id, extra.clone()).await?;
    ensure!(st == StatusCode::FORBIDDEN, "{st} {v}");
    let (st, v) = step(s, &head, over_id, extra.clone()).await?;
    ensure!(st == StatusCode::OK, "{st} {v}");
    let r = &v["request"];
    ensure!(r["stage"] == "approval", "{v}");
    ensure!(r["standard_approved_by"] == "user:juzhang", "{v}");
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    ensure!(over_warning(&board).is_none(), "still warned: {board}");
    let recorded = r["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["action"] == "approve_over_standard")
        .cloned()
        .unwrap_or_default();
    ensure!(
        recorded["actor"] == "user:juzhang"
            && recorded["comment"] == "新设科室，同意超标准配置"
            && recorded["details"]["over_standard"][0]["held"] == 1,
        "{recorded}"
    );
    // Given once.
    let (st, v) = step(s, &head, over_id, extra.clone()).await?;
    ensure!(
        st == StatusCode::CONFLICT && v["error"]["code"] == "within_standard",
        "{st} {v}"
    );
    // Now the approval goes on.
    let (st, v) = step(s, &w.approver, over_id, json!({"action": "approve"})).await?;
    ensure!(
        st == StatusCode::OK && v["request"]["stage"] == "finance",
        "{st} {v}"
    );

    // Within the standard: 1 + 1 ≤ 3 at 2,000 yuan; nothing extra.
    let within = s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "purchase", "category_id": c, "quantity": 1,
                   "budget_fen": 200000, "reason": "更换"}),
            201,
        )
        .await?;
    let within_id = id(&within)?;
    ensure!(within["over_standard"] == json!([]), "{within}");
    let (st, v) = step(s, &head, within_id, extra.clone()).await?;
    ensure!(
        st == StatusCode::CONFLICT && v["error"]["code"] == "within_standard",
        "{st} {v}"
    );
    let (st, v) = step(s, &w.approver, within_id, json!({"action": "approve"})).await?;
    ensure!(
        st == StatusCode::OK && v["request"]["stage"] == "finance",
        "{st} {v}"
    );

    // Beyond the price ceiling alone: one desk at 5,000 yuan.
    let dear = id(&s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "purchase", "category_id": c, "quantity": 1,
                   "budget_fen": 500000, "reason": "会议桌"}),
            201,
        )
        .await?)?;

    // The report: the approved one with who approved, the waiting one
    // with who must act, the within-standard one not at all.
    let all = s
        .get_ok("/api/v1/reports/over-standard", &w.approver)
        .await?;
    let ids: Vec<i64> = all
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["request_id"].as_i64())
        .collect();
    ensure!(ids == vec![dear, over_id], "{all}");
    ensure!(
        all[1]["approved_by"] == "user:juzhang" && all[1]["awaiting"].is_null(),
        "{all}"
    );
    ensure!(all[0]["excesses"][0]["price_fen"] == 500000, "{all}");
    let open = s
        .get_ok("/api/v1/reports/over-standard?open=true", &w.approver)
        .await?;
    ensure!(
        open.as_array().map(Vec::len) == Some(1) && open[0]["request_id"] == dear,
        "{open}"
    );
    // A unit's staff see their own unit's.
    let staff_b = s
        .add_user(&w.admin, "staff_b", "unit_staff", Some(w.unit_b))
        .await?;
    let theirs = s.get_ok("/api/v1/reports/over-standard", &staff_b).await?;
    ensure!(theirs == json!([]), "{theirs}");
    Ok(())
}

#[tokio::test]
async fn per_staff_standards_and_bad_input() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = w.category;
    let put = |path: String, token: String, body: Value| async move {
        s.call(reqwest::Method::PUT, &path, Some(&token), Some(body))
            .await
    };
    let std_path = format!("/api/v1/categories/{c}/standard");
    for (body, code, field) in [
        (
            json!({"per_unit": 2, "per_staff": 1}),
            "standard_one_limit",
            "per_staff",
        ),
        (json!({"per_unit": -1}), "invalid", "per_unit"),
        (
            json!({"price_ceiling_fen": "many"}),
            "invalid",
            "price_ceiling_fen",
        ),
        (json!({"per_units": 2}), "invalid", "per_units"),
    ] {
        let (st, v) = put(std_path.clone(), w.admin.clone(), body.clone()).await?;
        ensure!(
            st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST,
            "{body}: {st} {v}"
        );
        if code != "invalid" {
            ensure!(v["error"]["code"] == code, "{body}: {v}");
        }
        ensure!(
            v["error"]["field"] == field
                || v["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
            "{body}: {v}"
        );
    }
    let (st, v) = put(
        "/api/v1/categories/999/standard".into(),
        w.admin.clone(),
        json!({"per_unit": 1}),
    )
    .await?;
    ensure!(
        st.is_client_error() && v["error"]["field"] == "category_id",
        "{st} {v}"
    );
    let (st, v) = put(std_path.clone(), w.approver.clone(), json!({"per_unit": 1})).await?;
    ensure!(st == StatusCode::FORBIDDEN, "{st} {v}");
    let staff = format!("/api/v1/units/{}/staff-count", w.unit_a);
    let (st, v) = put(staff.clone(), w.admin.clone(), json!({"staff_count": -3})).await?;
    ensure!(
        st == StatusCode::UNPROCESSABLE_ENTITY && v["error"]["field"] == "staff_count",
        "{st} {v}"
    );
    let keeper_id = user_id(s, &w.admin, "keeper").await?;
    let (st, v) = put(
        format!("/api/v1/users/{keeper_id}/agency-head"),
        w.admin.clone(),
        json!({"agency_head": true}),
    )
    .await?;
    ensure!(
        st == StatusCode::UNPROCESSABLE_ENTITY && v["error"]["field"] == "agency_head",
        "{st} {v}"
    );

    // Two desks per staff member, unit A has 2 staff: limit 4.
    let (st, v) = put(staff, w.admin.clone(), json!({"staff_count": 2})).await?;
    ensure!(st == StatusCode::NO_CONTENT, "{st} {v}");
    let unit = s
        .get_ok(&format!("/api/v1/units/{}", w.unit_a), &w.admin)
        .await?;
    ensure!(unit["staff_count"] == 2, "{unit}");
    let (st, v) = put(std_path.clone(), w.admin.clone(), json!({"per_staff": 2})).await?;
    ensure!(st == StatusCode::OK && v["per_staff"] == 2, "{st} {v}");
    let alloc =
        |n: i64| json!({"kind": "allocation", "category_id": c, "quantity": n, "reason": "新员工"});
    let ok = s
        .post_ok("/api/v1/requests", &w.staff_a, alloc(3), 201)
        .await?;
    ensure!(ok["over_standard"] == json!([]), "{ok}");
    let over = s
        .post_ok("/api/v1/requests", &w.staff_a, alloc(4), 201)
        .await?;
    ensure!(
        over["over_standard"][0]["limit"] == 4 && over["over_standard"][0]["held"] == 1,
        "{over}"
    );
    let (st, v) = step(s, &w.approver, id(&over)?, json!({"action": "approve"})).await?;
    ensure!(
        st == StatusCode::CONFLICT && v["error"]["code"] == "needs_standard_approval",
        "{st} {v}"
    );
    // All empty: the standard is removed.
    let (st, v) = put(std_path, w.admin.clone(), json!({})).await?;
    ensure!(st == StatusCode::OK && v.is_null(), "{st} {v}");
    let list = s.get_ok("/api/v1/standards", &w.staff_a).await?;
    ensure!(list == json!([]), "{list}");
    Ok(())
}

/// The pages of issue 18 items 1 and 4 in Chinese (the words a clerk
/// reads, no raw id or English) and in English (no Chinese interface text):
/// an inspection awaiting the unit's confirmation with its form, the admin
/// page's standards, an over-standard request and the report.
#[tokio::test]
async fn inspection_and_standard_pages_speak_one_language() -> Result<()> {
    use crate::pages_words::{check_page, client, page, visible_text};
    let w = World::new().await?;
    let s = &w.server;
    let c = w.category;
    s.call(
        reqwest::Method::PUT,
        &format!("/api/v1/categories/{c}/standard"),
        Some(&w.admin),
        Some(json!({"per_unit": 1, "price_ceiling_fen": 300000})),
    )
    .await?;
    let over = id(&s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "purchase", "category_id": c, "quantity": 2,
                   "budget_fen": 800000, "reason": "新增科室"}),
            201,
        )
        .await?)?;
    // A keeper named as people are, so the opener shows by name.
    s.post_ok(
        "/api/v1/users",
        &w.admin,
        json!({"username": "zhangsan", "display_name": "张三", "password": PASSWORD,
            "role": "keeper"}),
        201,
    )
    .await?;
    let keeper = s.login("zhangsan", PASSWORD).await?;
    // And an approver (the World's is called "approver", a role's name).
    s.post_ok(
        "/api/v1/users",
        &w.admin,
        json!({"username": "lisi", "display_name": "李四", "password": PASSWORD,
            "role": "approver"}),
        201,
    )
    .await?;
    let approver = s.login("lisi", PASSWORD).await?;
    let st = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &keeper,
            json!({"unit_id": w.unit_a, "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{st}/close"),
        &keeper,
        json!({}),
        200,
    )
    .await?;
    let cl = client()?;
    let base = &s.base;
    check_page(
        &cl,
        base,
        &format!("/stocktakes/{st}"),
        &w.staff_a,
        &["单位巡检", "待单位确认", "确认巡检结果"],
    )
    .await?;
    check_page(
        &cl,
        base,
        "/stocktakes",
        &w.staff_a,
        &["单位巡检 · 单位A", "待单位确认"],
    )
    .await?;
    check_page(&cl, base, "/stocktakes", &keeper, &["巡检单位", "张三"]).await?;
    // The admin page lists the World's users by their English login
    // names: only its new words are checked here.
    let (status, html) = page(&cl, base, "/admin", &w.admin, "zh").await?;
    let text = visible_text(&html);
    ensure!(status == StatusCode::OK, "/admin: {status}");
    for word in [
        "配置标准",
        "每单位限额",
        "单价上限",
        "编制人数",
        "超标准申请",
        "办公桌",
        "设为局长",
    ] {
        ensure!(text.contains(word), "/admin does not say {word}:\n{text}");
    }
    check_page(
        &cl,
        base,
        &format!("/requests/{over}"),
        &approver,
        &["超出配置标准", "须经局长额外审批", "超标准审批"],
    )
    .await?;
    check_page(
        &cl,
        base,
        "/reports/over-standard",
        &approver,
        &["超标准申请", "单位A", "办公桌", "须经局长额外审批"],
    )
    .await?;

    let data: Vec<String> = [
        "单位A",
        "单位B",
        "主仓",
        "办公桌",
        "新增科室",
        "桌子 1001",
        "桌子 1002",
        "桌子 1003",
        "张三",
        "李四",
        test_support::ORG_NAME,
        "中文",
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    for (session, path) in [
        (&w.staff_a, format!("/stocktakes/{st}")),
        (&w.staff_a, "/stocktakes".to_owned()),
        (&keeper, "/stocktakes".to_owned()),
        (&w.admin, "/admin".to_owned()),
        (&approver, format!("/requests/{over}")),
        (&approver, "/reports/over-standard".to_owned()),
    ] {
        let (status, html) = page(&cl, base, &path, session, "en").await?;
        ensure!(status == StatusCode::OK, "{path}: {status}");
        let text = visible_text(&html);
        let found = test_support::chinese_outside(&text, &data);
        ensure!(found.is_empty(), "{path}: {found:?}");
    }
    Ok(())
}
