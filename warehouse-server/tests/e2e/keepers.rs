//! Keepers' fallbacks and pages that tell the truth (issue 3/8 items 2, 3,
//! 10): asset numbers typed by hand at the desk and in stock-takes
//! (counted, marked 手工录入, chained with who typed them), the pick list,
//! writing a tag from its page, refusing to settle as missing a line found
//! since the page was drawn, and reader health on the desk, stock-take and
//! admin pages. Real server, browser-style form posts (session cookie and
//! form token).

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// GETs a page as a browser session; status and HTML.
async fn page(s: &Server, session: &str, path: &str) -> Result<(StatusCode, String)> {
    let resp = client()?
        .get(format!("{}{path}", s.base))
        .header("cookie", format!("wh_session={session}"))
        .send()
        .await?;
    Ok((resp.status(), resp.text().await?))
}

/// POSTs a form as a browser session; status, `Location` and the body.
async fn post_form(
    s: &Server,
    session: &str,
    path: &str,
    form: &[(&str, &str)],
) -> Result<(StatusCode, String, String)> {
    let c = client()?;
    let csrf = form_token(&c, &s.base, session).await?;
    let mut form = form.to_vec();
    form.push(("_csrf", &csrf));
    let resp = c
        .post(format!("{}{path}", s.base))
        .header("cookie", format!("wh_session={session}"))
        .form(&form)
        .send()
        .await?;
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, location, resp.text().await?))
}

/// A tagged in-stock asset of the world's category on `location`.
async fn stock(w: &World, number: &str, location: i64) -> Result<(i64, String)> {
    let a = id(&w
        .server
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": number, "name": format!("办公桌 {number}"), "category_id": w.category,
                   "original_value_fen": 150000, "holder_location_id": location}),
            201,
        )
        .await?)?;
    let epc = w.tag(a).await?;
    Ok((a, epc))
}

/// A loan of `quantity` items of the category, approved: waiting at the desk.
async fn approved_loan(w: &World, body: Value) -> Result<i64> {
    let s = &w.server;
    let mut body = body;
    if let Some(b) = body.as_object_mut() {
        b.extend(
            json!({"kind": "loan", "reason": "年终表彰大会",
                   "loan_start": "2030-01-10", "loan_due": "2030-01-12"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
    }
    let r = id(&s.post_ok("/api/v1/requests", &w.staff_a, body, 201).await?)?;
    s.post_ok(
        &format!("/api/v1/requests/{r}/steps"),
        &w.approver,
        json!({"action": "approve"}),
        200,
    )
    .await?;
    Ok(r)
}

/// The asset's events with this action.
async fn events(w: &World, asset: i64, action: &str) -> Result<Vec<Value>> {
    let d = w
        .server
        .get_ok(&format!("/api/v1/assets/{asset}"), &w.keeper)
        .await?;
    Ok(d["timeline"]
        .as_array()
        .ok_or_else(|| anyhow!("no timeline in {d}"))?
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect())
}

#[tokio::test]
async fn typed_asset_numbers_check_out_at_the_desk_and_are_chained() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let first = w.asset_wh;
    w.tag(first).await?;
    let (second, _) = stock(&w, "1004", w.loc_2).await?;
    let untagged = id(&s
        .post_ok(
            "/api/v1/assets",
            &w.admin,
            json!({"asset_number": "1005", "name": "办公桌", "category_id": w.category,
                   "original_value_fen": 150000, "holder_location_id": w.loc_1}),
            201,
        )
        .await?)?;
    let r = approved_loan(&w, json!({"category_id": w.category, "quantity": 2})).await?;
    let since = (chrono::Utc::now().timestamp_millis() - 1000).to_string();
    let desk = format!("/requests/{r}/desk?reader=0&since={since}");
    let manual = format!("/requests/{r}/desk/manual");

    // No reader in use: the page says the counts come from typed entries.
    let (st, html) = page(s, &w.keeper, &desk).await?;
    ensure!(st == StatusCode::OK, "{st}: {html}");
    ensure!(html.contains("data-test=\"desk-silent\""), "{html}");
    ensure!(html.contains("未使用读写器"), "{html}");
    ensure!(html.contains("data-test=\"manual-entry\""), "{html}");

    // An unknown number: a clear Chinese error, the typed text kept.
    let form = |n: &'static str| {
        vec![
            ("reader", "0"),
            ("since", since.as_str()),
            ("asset_number", n),
        ]
    };
    let (st, _, html) = post_form(s, &w.keeper, &manual, &form("ZZ-404")).await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    ensure!(html.contains("资产编号「ZZ-404」不在资产台账中"), "{html}");
    ensure!(html.contains("value=\"ZZ-404\""), "typed text lost: {html}");
    // An asset without a tag: told to write its tag first.
    let (st, _, html) = post_form(s, &w.keeper, &manual, &form("1005")).await?;
    ensure!(st == StatusCode::CONFLICT, "{st}");
    ensure!(html.contains("资产 1005 还没有写标签"), "{html}");
    ensure!(events(&w, untagged, "manual_entry").await?.is_empty());
    // Unit staff may not type at the desk.
    let (st, _, _) = post_form(s, &w.staff_a, &manual, &form("1003")).await?;
    ensure!(
        st == StatusCode::FORBIDDEN,
        "unit staff typed at the desk: {st}"
    );

    // Two typed numbers count like reads.
    for n in ["1003", " 1004 "] {
        let (st, to, _) = post_form(s, &w.keeper, &manual, &form(n)).await?;
        ensure!(st == StatusCode::SEE_OTHER, "{n}: {st}");
        ensure!(to == desk, "{n}: back to {to}, not {desk}");
    }
    let (_, html) = page(s, &w.keeper, &desk).await?;
    ensure!(html.contains("data-test=\"matched\">2<"), "{html}");
    ensure!(html.contains("data-test=\"shortfall\">0<"), "{html}");
    ensure!(html.contains("手工录入"), "{html}");

    // Check-out takes them; the request moves on to the unit's receipt.
    let (st, to, _) = post_form(
        s,
        &w.keeper,
        &format!("/requests/{r}/desk/check-out"),
        &[("reader", "0"), ("since", &since)],
    )
    .await?;
    ensure!(
        st == StatusCode::SEE_OTHER && to == format!("/requests/{r}"),
        "{st} {to}"
    );
    let req = s
        .get_ok(&format!("/api/v1/requests/{r}"), &w.keeper)
        .await?;
    ensure!(req["stage"] == "receipt", "{req}");

    // The chain says who typed which number.
    for (asset, number) in [(first, "1003"), (second, "1004")] {
        let typed = events(&w, asset, "manual_entry").await?;
        ensure!(typed.len() == 1, "{asset}: {typed:?}");
        ensure!(typed[0]["actor"] == "user:keeper", "{typed:?}");
        ensure!(typed[0]["place"] == format!("request:{r}"), "{typed:?}");
        let details: Value = serde_json::from_str(typed[0]["details"].as_str().unwrap_or("{}"))
            .or_else(|_| Ok::<_, anyhow::Error>(typed[0]["details"].clone()))?;
        ensure!(details["asset_number"] == number, "{details}");
    }
    let verify = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    ensure!(verify["ok"] == true, "{verify}");
    Ok(())
}

#[tokio::test]
async fn typed_asset_numbers_count_in_a_stocktake() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    w.tag(w.asset_wh).await?;
    w.tag(w.asset_a).await?;
    let sid = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    let manual = format!("/stocktakes/{sid}/manual");
    let (st, _, html) = post_form(s, &w.keeper, &manual, &[("asset_number", "NOPE-1")]).await?;
    ensure!(st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    ensure!(html.contains("资产编号「NOPE-1」不在资产台账中"), "{html}");
    ensure!(html.contains("value=\"NOPE-1\""), "{html}");

    // The shelf's desk, typed: found. Unit A's desk typed here: misplaced.
    for n in ["1003", "1001"] {
        let (st, to, _) = post_form(s, &w.keeper, &manual, &[("asset_number", n)]).await?;
        ensure!(
            st == StatusCode::SEE_OTHER && to == format!("/stocktakes/{sid}"),
            "{st} {to}"
        );
    }
    let rec = s
        .get_ok(&format!("/api/v1/stocktakes/{sid}"), &w.keeper)
        .await?;
    ensure!(rec["counts"]["found"] == 1, "{rec}");
    ensure!(rec["counts"]["misplaced"] == 1, "{rec}");
    let lines = rec["lines"].as_array().cloned().unwrap_or_default();
    for (number, outcome) in [("1003", "found"), ("1001", "misplaced")] {
        let line = lines
            .iter()
            .find(|l| l["asset_number"] == number)
            .ok_or_else(|| anyhow!("no line for {number}: {rec}"))?;
        ensure!(line["outcome"] == outcome, "{line}");
        ensure!(line["entered_by"] == "user:keeper", "{line}");
    }
    // The page lists what was typed, by whom; the misplaced line says 手工录入.
    let (_, html) = page(s, &w.keeper, &format!("/stocktakes/{sid}")).await?;
    ensure!(html.contains("data-test=\"manual-entries\""), "{html}");
    ensure!(html.contains("手工录入记录"), "{html}");
    ensure!(html.contains("data-test=\"found\">1<"), "{html}");
    let typed = events(&w, w.asset_wh, "manual_entry").await?;
    ensure!(
        typed.len() == 1 && typed[0]["place"] == format!("stocktake:{sid}"),
        "{typed:?}"
    );
    // A closed stock-take takes no more.
    s.post_ok(
        &format!("/api/v1/stocktakes/{sid}/close"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    let (st, _, html) = post_form(s, &w.keeper, &manual, &[("asset_number", "1003")]).await?;
    ensure!(st == StatusCode::CONFLICT, "{st}: {html}");
    Ok(())
}

#[tokio::test]
async fn a_line_found_since_the_page_was_drawn_cannot_be_settled_as_missing() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    let sid = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    // The page lists the shelf's desk as not found, with 报失 offered.
    let (_, html) = page(s, &w.keeper, &format!("/stocktakes/{sid}")).await?;
    let line = format!(
        "data-line=\"asset:{}\" data-outcome=\"missing\"",
        w.asset_wh
    );
    ensure!(html.contains(&line), "{html}");
    ensure!(html.contains("value=\"mark_missing\""), "{html}");
    // Then the handheld reads it.
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch("handheld-1", 1, vec![obs(&epc, "handheld-1", "added")]),
        200,
    )
    .await?;
    // The stale form is refused, in Chinese, and opens no loss case.
    let asset = w.asset_wh.to_string();
    let (st, _, html) = post_form(
        s,
        &w.keeper,
        &format!("/stocktakes/{sid}/resolve"),
        &[
            ("asset_id", &asset),
            ("action", "mark_missing"),
            ("comment", "找不到"),
        ],
    )
    .await?;
    ensure!(st == StatusCode::CONFLICT, "{st}: {html}");
    ensure!(html.contains("已经盘到，不能报失"), "{html}");
    let (st, body) = s
        .post(
            &format!("/api/v1/stocktakes/{sid}/resolutions"),
            &w.keeper,
            json!({"asset_id": w.asset_wh, "action": "mark_missing"}),
        )
        .await?;
    ensure!(st == StatusCode::CONFLICT, "{st}: {body}");
    ensure!(body["error"]["code"] == "line_now_found", "{body}");
    let cases = s.get_ok("/api/v1/requests?kind=damage", &w.admin).await?;
    ensure!(cases["total"] == 0, "a loss case was opened: {cases}");
    // The page no longer lists the line.
    let (_, html) = page(s, &w.keeper, &format!("/stocktakes/{sid}")).await?;
    ensure!(
        !html.contains(&format!("data-line=\"asset:{}\"", w.asset_wh)),
        "{html}"
    );
    ensure!(html.contains("没有差异"), "{html}");
    Ok(())
}

#[tokio::test]
async fn the_pick_list_names_each_asset_and_its_shelf_in_order() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    w.tag(w.asset_wh).await?; // 1003 on A01
    let (on_a02, _) = stock(&w, "1004", w.loc_2).await?;
    let (spare, _) = stock(&w, "1006", w.loc_2).await?;
    // Not yet approved: nothing to pick.
    let waiting = id(&s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "category_id": w.category, "quantity": 2, "reason": "会议",
                   "loan_start": "2030-01-10", "loan_due": "2030-01-12"}),
            201,
        )
        .await?)?;
    let (st, html) = page(s, &w.keeper, &format!("/requests/{waiting}/pick-list")).await?;
    ensure!(st == StatusCode::OK, "{st}");
    ensure!(html.contains("data-test=\"pick-not-at-desk\""), "{html}");

    // By category: two of the three, nearest shelf first (A01, then A02).
    let r = approved_loan(&w, json!({"category_id": w.category, "quantity": 2})).await?;
    let (st, html) = page(s, &w.keeper, &format!("/requests/{r}/pick-list")).await?;
    ensure!(st == StatusCode::OK, "{st}: {html}");
    let a01 = html
        .find("<strong>A01</strong>")
        .ok_or_else(|| anyhow!("no A01: {html}"))?;
    let a02 = html
        .find("<strong>A02</strong>")
        .ok_or_else(|| anyhow!("no A02: {html}"))?;
    ensure!(a01 < a02, "not in shelf order");
    ensure!(html.contains("Shelf 1") && html.contains("主仓"), "{html}");
    ensure!(html.contains(">1003<") && html.contains(">1004<"), "{html}");
    ensure!(!html.contains(">1006<"), "more than needed: {html}");
    ensure!(html.contains("data-test=\"pick-needed\""), "{html}");
    ensure!(html.contains("data-print"), "no print button: {html}");
    // Printable: the stylesheet hides the page's chrome on paper.
    let css = client()?
        .get(format!("{}/static/app.css", s.base))
        .send()
        .await?
        .text()
        .await?;
    ensure!(css.contains("@media print"), "no print stylesheet");
    // Linked from the request page and from the desk.
    for path in [format!("/requests/{r}"), format!("/requests/{r}/desk")] {
        let (_, html) = page(s, &w.keeper, &path).await?;
        ensure!(
            html.contains(&format!("href=\"/requests/{r}/pick-list\"")),
            "{path} has no pick-list link: {html}"
        );
    }
    // A loan naming its assets lists exactly those.
    let named = approved_loan(&w, json!({"asset_ids": [spare]})).await?;
    let (_, html) = page(s, &w.keeper, &format!("/requests/{named}/pick-list")).await?;
    ensure!(
        html.contains(">1006<") && !html.contains(">1003<"),
        "{html}"
    );
    ensure!(html.contains(&format!("data-asset=\"{spare}\"")), "{html}");
    let _ = on_a02;
    Ok(())
}

#[tokio::test]
async fn a_keeper_writes_a_missing_tag_from_its_page() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let (desk, desk_token) = s.add_reader(&w.admin, "desk-1", "desk", None).await?;
    let _ = desk;
    let tag = format!("/assets/{}/tag", w.asset_wh);
    // The badge links to the tag page for keepers only.
    let (_, html) = page(s, &w.keeper, &format!("/assets/{}", w.asset_wh)).await?;
    ensure!(html.contains(&format!("href=\"{tag}\"")), "{html}");
    ensure!(html.contains("未写标签"), "{html}");
    let (_, html) = page(s, &w.approver, &format!("/assets/{}", w.asset_wh)).await?;
    ensure!(
        !html.contains(&format!("href=\"{tag}\"")),
        "approver offered it: {html}"
    );

    // Allocate the EPC; the page shows it.
    let (_, html) = page(s, &w.keeper, &tag).await?;
    ensure!(html.contains("data-test=\"allocate-epc\""), "{html}");
    let (st, to, _) = post_form(s, &w.keeper, &tag, &[]).await?;
    ensure!(st == StatusCode::SEE_OTHER && to == tag, "{st} {to}");
    let (_, html) = page(s, &w.keeper, &tag).await?;
    let at = html
        .find("data-test=\"epc-to-write\">")
        .ok_or_else(|| anyhow!("no EPC shown: {html}"))?;
    let rest = &html[at + "data-test=\"epc-to-write\">".len()..];
    let epc = rest[..rest.find('<').unwrap_or(0)].to_owned();
    ensure!(epc.len() == 24, "not a GIAI-96 EPC: {epc:?}");

    // Typed wrong: refused beside the field, the text kept.
    let confirm = format!("{tag}/confirm");
    let (st, _, html) = post_form(s, &w.keeper, &confirm, &[("epc", "3034DEADBEEF")]).await?;
    ensure!(st.is_client_error(), "{st}");
    ensure!(html.contains("value=\"3034DEADBEEF\""), "{html}");
    // "Read by the desk reader" before it was: told to lay it on the reader.
    let (st, _, html) = post_form(s, &w.keeper, &confirm, &[("from_desk", "1")]).await?;
    ensure!(st == StatusCode::CONFLICT, "{st}");
    ensure!(html.contains("出库台读写器还没有读到这张标签"), "{html}");
    // The desk reader reads the written tag: bound.
    s.post_ok(
        "/api/v1/readers/observations",
        &desk_token,
        batch("desk-1", 1, vec![obs(&epc, "desk-1", "added")]),
        200,
    )
    .await?;
    let (st, to, _) = post_form(s, &w.keeper, &confirm, &[("from_desk", "1")]).await?;
    ensure!(st == StatusCode::SEE_OTHER, "{st}");
    ensure!(to == format!("/assets/{}", w.asset_wh), "{to}");
    let a = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    ensure!(a["asset"]["epc"] == epc.as_str(), "{a}");

    // Another asset by typing the EPC read back.
    let other = format!("/assets/{}/tag", w.asset_a);
    let (st, _, _) = post_form(s, &w.keeper, &other, &[]).await?;
    ensure!(st == StatusCode::SEE_OTHER, "{st}");
    let (_, html) = page(s, &w.keeper, &other).await?;
    let at = html
        .find("data-test=\"epc-to-write\">")
        .ok_or_else(|| anyhow!("no EPC shown: {html}"))?;
    let rest = &html[at + "data-test=\"epc-to-write\">".len()..];
    let epc_a = rest[..rest.find('<').unwrap_or(0)].to_lowercase();
    let (st, _, html) = post_form(
        s,
        &w.keeper,
        &format!("{other}/confirm"),
        &[("epc", &epc_a)],
    )
    .await?;
    ensure!(st == StatusCode::SEE_OTHER, "{st}: {html}");
    Ok(())
}

#[tokio::test]
async fn reader_health_shows_on_the_desk_stocktake_and_admin_pages() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let r = approved_loan(&w, json!({"category_id": w.category, "quantity": 1})).await?;
    // No desk reader registered: the desk says so and offers typed entries.
    let (_, html) = page(s, &w.keeper, &format!("/requests/{r}/desk")).await?;
    ensure!(html.contains("data-test=\"reader-health\""), "{html}");
    ensure!(html.contains("data-test=\"no-desk-reader\""), "{html}");
    ensure!(html.contains("不用读写器（仅手工录入）"), "{html}");
    // A desk reader that never reported: the scanning page says the
    // counts will not move, rather than a quiet 0.
    let (desk, _) = s.add_reader(&w.admin, "desk-1", "desk", None).await?;
    let since = chrono::Utc::now().timestamp_millis().to_string();
    let (_, html) = page(
        s,
        &w.keeper,
        &format!("/requests/{r}/desk?reader={desk}&since={since}"),
    )
    .await?;
    ensure!(html.contains("data-test=\"desk-silent\""), "{html}");
    ensure!(html.contains("读写器没有上报"), "{html}");
    ensure!(html.contains("data-reader=\"desk-1\""), "{html}");
    ensure!(
        !html.contains("data-reader=\"gate-1\""),
        "desk page shows the gate: {html}"
    );

    let sid = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    let (_, html) = page(s, &w.keeper, &format!("/stocktakes/{sid}")).await?;
    ensure!(html.contains("data-test=\"reader-health\""), "{html}");
    ensure!(html.contains("data-reader=\"handheld-1\""), "{html}");
    ensure!(!html.contains("data-reader=\"desk-1\""), "{html}");

    let (_, html) = page(s, &w.admin, "/admin").await?;
    ensure!(html.contains("data-test=\"reader-health\""), "{html}");
    for reader in ["gate-1", "handheld-1", "desk-1"] {
        ensure!(
            html.contains(&format!("data-reader=\"{reader}\"")),
            "{reader}: {html}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn without_a_handheld_the_stocktake_form_says_what_to_do() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    s.post_ok("/api/v1/warehouses", &admin, json!({"name": "主仓"}), 201)
        .await?;
    let (_, html) = page(&s, &admin, "/stocktakes").await?;
    ensure!(html.contains("data-test=\"no-handheld\""), "{html}");
    ensure!(html.contains("尚未登记手持机"), "{html}");
    Ok(())
}
