//! Supervision (issue 18 items 5 and 6): the warnings board with who must
//! act, seen within each person's reach; the auditor who sees everything
//! in scope, changes nothing (every write route answers 403), whose reads
//! are recorded, and who exports the trail of an asset or a unit as a
//! workbook.

use anyhow::{anyhow, ensure, Result};
use calamine::{Data, Reader};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::pages_words::page;
use crate::support::*;
use crate::workflows::{rid, stage, Flow};

/// A loan of the first stock chair to unit A, checked out and then aged
/// past its due date; returns the request id.
async fn overdue_loan(f: &Flow) -> Result<i64> {
    let w = &f.w;
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [f.stock[0].0], "reason": "年终表彰大会",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    let id = rid(&loan)?;
    f.ok(
        &w.approver,
        id,
        json!({"action": "approve", "comment": "同意"}),
    )
    .await?;
    let v = f
        .ok(
            &w.keeper,
            id,
            json!({"action": "check_out", "epcs": [f.stock[0].1]}),
        )
        .await?;
    ensure!(stage(&v) == "receipt", "{v}");
    backdate_loan(&w.server.db, id, "2026-01-05", "2026-01-06")?;
    Ok(id)
}

fn kinds(board: &Value) -> Vec<String> {
    board["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["kind"].as_str().map(str::to_owned))
        .collect()
}

fn count(board: &Value, kind: &str) -> i64 {
    board["counts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["kind"] == kind)
        .and_then(|c| c["count"].as_i64())
        .unwrap_or(-1)
}

#[tokio::test]
async fn warnings_say_who_must_act_and_each_sees_their_reach() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let s = f.s();
    let loan = overdue_loan(&f).await?;
    // An in-stock chair through the exit gate: an open alarm.
    s.post_ok(
        "/api/v1/readers/observations",
        &w.gate_token,
        batch("gate-1", 1, vec![obs(&f.stock[1].1, "gate-1", "added")]),
        200,
    )
    .await?;
    // A chair reported lost: a loss case waiting for the approver.
    let case = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "damage", "asset_ids": [f.stock[2].0], "reason": "盘点未找到", "loss": true}),
        )
        .await?)?;
    let chair_value = f.asset(f.stock[0].0).await?["original_value_fen"].clone();

    let board = s.get_ok("/api/v1/warnings", &w.admin).await?;
    assert_eq!(
        kinds(&board),
        ["gate_alarm", "loss_case", "overdue_loan"],
        "{board}"
    );
    assert_eq!(count(&board, "gate_alarm"), 1);
    assert_eq!(count(&board, "loss_case"), 1);
    assert_eq!(count(&board, "overdue_loan"), 1);
    assert_eq!(count(&board, "chain_broken"), 0);
    let items = &board["items"];
    // The gate's keepers answer the alarm.
    assert_eq!(items[0]["subject"]["kind"], "asset");
    assert_eq!(items[0]["subject"]["id"], f.stock[1].0);
    assert_eq!(items[0]["who_acts"]["role"], "keeper");
    assert_eq!(items[0]["note"], "gate-1");
    // The approver decides the loss case's cause.
    assert_eq!(items[1]["subject"]["id"], case);
    assert_eq!(items[1]["who_acts"]["role"], "approver");
    // Unit A's staff must bring the chair back; overdue since the day
    // after the due date (Shanghai), the chair's value at stake.
    assert_eq!(items[2]["subject"]["kind"], "request");
    assert_eq!(items[2]["subject"]["id"], loan);
    assert_eq!(items[2]["who_acts"]["role"], "unit_staff");
    assert_eq!(items[2]["who_acts"]["unit_id"], w.unit_a);
    assert_eq!(items[2]["who_acts"]["unit_name"], "单位A");
    assert_eq!(items[2]["since"], "2026-01-06T16:00:00Z");
    assert_eq!(items[2]["value_fen"], chair_value);

    // A filter keeps every count.
    let only = s
        .get_ok("/api/v1/warnings?kind=overdue_loan", &w.approver)
        .await?;
    assert_eq!(kinds(&only), ["overdue_loan"]);
    assert_eq!(count(&only, "gate_alarm"), 1);
    let (st, e) = s.get("/api/v1/warnings?kind=fire", &w.admin).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "kind");

    // Unit staff see their own unit's warnings only.
    let mine = s.get_ok("/api/v1/warnings", &w.staff_a).await?;
    assert_eq!(kinds(&mine), ["overdue_loan"]);
    assert_eq!(count(&mine, "gate_alarm"), 0);
    let other = s.get_ok("/api/v1/warnings", &f.staff_b).await?;
    assert_eq!(kinds(&other), Vec::<String>::new());

    // The page, in Chinese: counts on top, who must act in words.
    let c = client()?;
    let (st, html) = page(&c, &s.base, "/warnings", &w.admin, "zh").await?;
    assert_eq!(st, StatusCode::OK);
    for text in [
        "借用逾期",
        "出口报警未处理",
        "盘亏待处理",
        "单位资产管理员（单位A）",
        "应由谁处理",
    ] {
        ensure!(html.contains(text), "{text} missing from the page:\n{html}");
    }
    let (_, html) = page(&c, &s.base, "/warnings?kind=gate_alarm", &w.staff_a, "zh").await?;
    ensure!(html.contains("暂无预警"), "{html}");
    // The dashboard counts what the warnings page lists: three for the
    // administrator, none (no card) for unit B's staff.
    let (_, html) = page(&c, &s.base, "/dashboard", &w.admin, "zh").await?;
    ensure!(
        html.contains("data-test=\"warnings-count\"><strong>3</strong><span>待处理预警</span>"),
        "{html}"
    );
    let (_, html) = page(&c, &s.base, "/dashboard", &f.staff_b, "zh").await?;
    ensure!(!html.contains("warnings-count"), "{html}");
    Ok(())
}

#[tokio::test]
async fn a_stock_take_closed_short_is_a_warning_until_a_case_is_opened() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // Nothing scanned: the shelf's desk is missing when the keeper closes.
    let st = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "location_id": w.loc_1,
                "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{st}/close"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    assert_eq!(kinds(&board), ["stocktake_missing"], "{board}");
    let x = &board["items"][0];
    assert_eq!(x["subject"]["kind"], "stocktake");
    assert_eq!(x["subject"]["id"], st);
    assert_eq!(x["who_acts"]["role"], "keeper");
    assert_eq!(x["note"], "主仓 −1");
    // The next stock-take resolves its missing desk into a loss case: no
    // shortfall is left, the case is the warning now.
    let st2 = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "location_id": w.loc_1,
                "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{st2}/resolutions"),
        &w.keeper,
        json!({"asset_id": w.asset_wh, "action": "mark_missing", "comment": "两次盘点未见"}),
        200,
    )
    .await?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{st2}/close"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    assert_eq!(kinds(&board), ["loss_case", "stocktake_missing"], "{board}");
    assert_eq!(board["items"][1]["subject"]["id"], st);
    Ok(())
}

#[tokio::test]
async fn a_broken_chain_is_a_warning_for_the_administrators() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let s = f.s();
    let ok = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(ok["ok"], true);
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    assert_eq!(count(&board, "chain_broken"), 0);
    // A forger edits an event (after removing the table's guard).
    test_support::db_execute(
        &s.db,
        &format!(
            "{} UPDATE asset_events SET details = '{{\"name\":\"forged\"}}' WHERE seq = 2;",
            crate::log_and_backup::drop_guard("asset_events_no_update")
        ),
    )?;
    let v = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(v["ok"], false);
    let board = s.get_ok("/api/v1/warnings", &w.approver).await?;
    assert_eq!(kinds(&board), ["chain_broken"], "{board}");
    assert_eq!(board["items"][0]["subject"]["id"], 2);
    assert_eq!(board["items"][0]["who_acts"]["role"], "administrator");
    // Not the units' business.
    let mine = s.get_ok("/api/v1/warnings", &w.staff_a).await?;
    assert_eq!(count(&mine, "chain_broken"), 0);
    Ok(())
}

/// Every write route of the API (from the OpenAPI document) with its
/// path parameters filled in.
async fn write_routes(s: &Server, token: &str) -> Result<Vec<(Method, String)>> {
    let doc = s.get_ok("/api/v1/openapi.json", token).await?;
    let paths = doc["paths"]
        .as_object()
        .ok_or_else(|| anyhow!("no paths in the OpenAPI document"))?;
    let mut routes = Vec::new();
    for (path, item) in paths {
        for (name, method) in [
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if item.get(name).is_some() {
                let filled: String = path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                routes.push((method.clone(), filled));
            }
        }
    }
    Ok(routes)
}

#[tokio::test]
async fn the_auditor_sees_all_changes_nothing_and_is_recorded() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let s = f.s();
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [f.stock[0].0], "reason": "培训",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    let loan = rid(&loan)?;
    f.ok(
        &w.approver,
        loan,
        json!({"action": "approve", "comment": "同意"}),
    )
    .await?;
    let auditor = s.add_user(&w.admin, "shenji", "auditor", None).await?;

    // Sees everything: the register, a request with its steps, the chain.
    let assets = s.get_ok("/api/v1/assets", &auditor).await?;
    let all = s.get_ok("/api/v1/assets", &w.admin).await?;
    assert_eq!(assets["total"], all["total"]);
    let r = s
        .get_ok(&format!("/api/v1/requests/{loan}"), &auditor)
        .await?;
    assert_eq!(r["steps"].as_array().map(Vec::len), Some(2), "{r}");
    let a = s
        .get_ok(&format!("/api/v1/assets/{}", f.stock[0].0), &auditor)
        .await?;
    ensure!(
        a["timeline"].as_array().is_some_and(|t| !t.is_empty()),
        "{a}"
    );
    let chain = s.get_ok("/api/v1/events/verify", &auditor).await?;
    assert_eq!(chain["ok"], true);
    s.get_ok("/api/v1/epcis/events", &auditor).await?;
    s.get_ok("/api/v1/warnings", &auditor).await?;

    // Changes nothing: every write route answers 403 (only ending the
    // session and changing the auditor's own password are theirs).
    let before = chain["checked"].clone();
    let assets_before = all["total"].clone();
    let routes = write_routes(s, &auditor).await?;
    let mut tried = 0;
    for (method, path) in &routes {
        if [
            "/api/v1/auth/login",
            "/api/v1/auth/logout",
            "/api/v1/auth/password",
        ]
        .contains(&path.as_str())
        {
            continue;
        }
        let (st, body) = s
            .call(method.clone(), path, Some(&auditor), Some(json!({})))
            .await?;
        ensure!(
            st == StatusCode::FORBIDDEN && body["error"]["code"] == "read_only_role",
            "{method} {path}: {st} {body}"
        );
        tried += 1;
    }
    ensure!(tried >= 40, "only {tried} write routes tried of {routes:?}");
    // The login route needs no session: the auditor's own login works.
    s.login("shenji", PASSWORD).await?;
    let after = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(after["checked"], before, "the chain grew");
    let all = s.get_ok("/api/v1/assets", &w.admin).await?;
    assert_eq!(all["total"], assets_before);
    // The page says so in Chinese.
    let c = client()?;
    let (st, html) =
        post_form_page(&c, &s.base, "/alarms/1/ack", &auditor, &[("comment", "x")]).await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    ensure!(html.contains("审计/纪检账号只能查看"), "{html}");

    // Every page of the auditor's menu opens, in Chinese.
    for path in [
        "/dashboard",
        "/assets",
        "/requests",
        &format!("/requests/{loan}"),
        "/stocktakes",
        "/alarms",
        "/reports",
        "/cockpit",
        "/warnings",
        "/audit-log",
    ] {
        let (st, html) = page(&c, &s.base, path, &auditor, "zh").await?;
        ensure!(st == StatusCode::OK, "{path}: {st}\n{html}");
    }

    // The audit log shows what the auditor read; nobody else's reads.
    s.get_ok("/api/v1/assets", &w.keeper).await?;
    let log = s
        .get_ok("/api/v1/audit/reads?per_page=500", &w.admin)
        .await?;
    let reads: Vec<(String, String, Option<String>)> = log["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["username"].as_str().unwrap_or_default().to_owned(),
                r["path"].as_str().unwrap_or_default().to_owned(),
                r["subject"].as_str().map(str::to_owned),
            )
        })
        .collect();
    ensure!(reads.iter().all(|r| r.0 == "shenji"), "{reads:?}");
    for path in [
        "/api/v1/assets",
        "/api/v1/events/verify",
        "/api/v1/warnings",
    ] {
        ensure!(reads.iter().any(|r| r.1 == path), "{path} not in {reads:?}");
    }
    let subject = format!("request:{loan}");
    ensure!(
        reads
            .iter()
            .any(|r| r.2.as_deref() == Some(subject.as_str())),
        "{subject} not in {reads:?}"
    );
    // Auditors read the log too (and that read is recorded); keepers may not.
    s.get_ok("/api/v1/audit/reads", &auditor).await?;
    let (st, _) = s.get("/api/v1/audit/reads", &w.keeper).await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, html) = page(&c, &s.base, "/audit-log", &w.admin, "zh").await?;
    assert_eq!(st, StatusCode::OK);
    ensure!(
        html.contains("shenji") && html.contains("审计日志"),
        "{html}"
    );
    Ok(())
}

fn sheet(bytes: Vec<u8>) -> Result<calamine::Range<Data>> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
    book.worksheet_range_at(0)
        .ok_or_else(|| anyhow!("no sheet"))?
        .map_err(Into::into)
}

async fn download(s: &Server, token: &str, path: &str) -> Result<Vec<u8>> {
    let resp = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{path}: {}", resp.status());
    Ok(resp.bytes().await?.to_vec())
}

/// The rows of a trail sheet below the heading and above the count row,
/// as (category, asset number, request id, action) text.
fn trail_rows(r: &calamine::Range<Data>) -> Vec<(String, String, String, String)> {
    let text = |row: &[Data], c: usize| match row.get(c) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(n)) => format!("{n}"),
        Some(Data::Int(n)) => format!("{n}"),
        _ => String::new(),
    };
    let rows: Vec<&[Data]> = r.rows().collect();
    rows.iter()
        .skip(1)
        .take(rows.len().saturating_sub(2))
        .map(|row| (text(row, 1), text(row, 3), text(row, 5), text(row, 6)))
        .collect()
}

#[tokio::test]
async fn the_trail_of_an_asset_and_of_a_unit_reads_back() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let s = f.s();
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [f.stock[0].0], "reason": "培训",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?;
    let loan = rid(&loan)?;
    f.ok(
        &w.approver,
        loan,
        json!({"action": "approve", "comment": "同意"}),
    )
    .await?;
    f.ok(
        &w.keeper,
        loan,
        json!({"action": "check_out", "epcs": [f.stock[0].1]}),
    )
    .await?;
    let auditor = s.add_user(&w.admin, "shenji", "auditor", None).await?;
    let chair = f.stock[0].0;
    let timeline = f.timeline_actions(chair).await?;
    let steps = s
        .get_ok(&format!("/api/v1/requests/{loan}"), &w.admin)
        .await?["steps"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let number = f.asset(chair).await?["asset_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // The asset's trail: every event of its chain and every step of the
    // loan that named it, then the count row.
    let r = sheet(
        download(
            s,
            &auditor,
            &format!("/api/v1/audit/trail.xlsx?asset_id={chair}&from=2000-01-01&to=2099-12-31"),
        )
        .await?,
    )?;
    assert_eq!(r.get((0, 0)), Some(&Data::String("时间".into())));
    let rows = trail_rows(&r);
    let events: Vec<_> = rows.iter().filter(|x| x.0 == "资产事件").collect();
    let step_rows: Vec<_> = rows.iter().filter(|x| x.0 == "申请步骤").collect();
    assert_eq!(events.len(), timeline.len(), "{rows:?} vs {timeline:?}");
    ensure!(events.iter().all(|x| x.1 == number), "{rows:?}");
    assert_eq!(step_rows.len(), steps, "{rows:?}");
    ensure!(
        step_rows.iter().all(|x| x.2 == loan.to_string()),
        "{rows:?}"
    );
    let total_row = r
        .rows()
        .next_back()
        .map(|row| row.to_vec())
        .unwrap_or_default();
    assert_eq!(
        total_row.get(1),
        Some(&Data::String(format!("{} 条", rows.len())))
    );

    // A period with nothing in it: the heading and the count only.
    let r = sheet(
        download(
            s,
            &auditor,
            &format!("/api/v1/audit/trail.xlsx?asset_id={chair}&from=2099-01-01"),
        )
        .await?,
    )?;
    assert_eq!(trail_rows(&r).len(), 0);

    // Unit A's trail: its own desk's events, the borrowed chair's, the
    // loan's steps; not unit B's desk.
    let unit_b_number = f.asset(w.asset_b).await?["asset_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let unit_a_number = f.asset(w.asset_a).await?["asset_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = sheet(
        download(
            s,
            &auditor,
            &format!("/api/v1/audit/trail.xlsx?unit_id={}", w.unit_a),
        )
        .await?,
    )?;
    let rows = trail_rows(&r);
    ensure!(rows.iter().any(|x| x.1 == unit_a_number), "{rows:?}");
    ensure!(rows.iter().any(|x| x.1 == number), "{rows:?}");
    ensure!(!rows.iter().any(|x| x.1 == unit_b_number), "{rows:?}");
    assert_eq!(
        rows.iter().filter(|x| x.0 == "申请步骤").count(),
        steps,
        "{rows:?}"
    );

    // The audit-log page's form: blanks are "not given", a bad number is
    // named on a Chinese page.
    let c = client()?;
    let resp = c
        .get(format!(
            "{}/audit-log/trail?asset_id={chair}&unit_id=&from=&to=",
            s.base
        ))
        .header("cookie", format!("wh_session={auditor}"))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{}", resp.status());
    let r = sheet(resp.bytes().await?.to_vec())?;
    assert_eq!(trail_rows(&r).len(), events.len() + step_rows.len());
    let (st, html) = page(&c, &s.base, "/audit-log/trail?asset_id=abc", &auditor, "zh").await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    ensure!(html.contains("应为整数"), "{html}");

    // Exactly one subject; unit staff may not export.
    let (st, e) = s
        .get(
            &format!("/api/v1/audit/trail.xlsx?asset_id={chair}&unit_id=1"),
            &auditor,
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "asset_id");
    let (st, _) = s
        .get(
            &format!("/api/v1/audit/trail.xlsx?unit_id={}", w.unit_a),
            &w.staff_a,
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The export is recorded, naming the unit.
    let log = s.get_ok("/api/v1/audit/reads", &w.admin).await?;
    let subject = format!("unit:{}", w.unit_a);
    ensure!(
        log["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["subject"] == subject.as_str())),
        "{log}"
    );
    Ok(())
}

#[tokio::test]
async fn an_auditor_placed_in_a_region_sees_that_region_only() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    let s = f.s();
    let region = |name: &str| json!({"name": name, "level": "province", "agency": format!("{name}机关事务管理局")});
    let east = id(&s
        .post_ok("/api/v1/regions", &w.admin, region("东省"), 201)
        .await?)?;
    let west = id(&s
        .post_ok("/api/v1/regions", &w.admin, region("西省"), 201)
        .await?)?;
    let unit_east = id(&s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "东省单位", "region_id": east}),
            201,
        )
        .await?)?;
    let unit_west = id(&s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "西省单位", "region_id": west}),
            201,
        )
        .await?)?;
    s.post_ok(
        "/api/v1/users",
        &w.admin,
        json!({"username": "east_audit", "password": PASSWORD, "role": "auditor",
            "region_id": east}),
        201,
    )
    .await?;
    let auditor = s.login("east_audit", PASSWORD).await?;
    let (st, _) = s
        .get(
            &format!("/api/v1/audit/trail.xlsx?unit_id={unit_east}"),
            &auditor,
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = s
        .get(
            &format!("/api/v1/audit/trail.xlsx?unit_id={unit_west}"),
            &auditor,
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    Ok(())
}
