//! Kits (套装) end to end: a keeper makes a meeting-room kit, a unit
//! borrows it by name, the desk must scan every member out and back (a
//! missing one is named and nothing moves), and the kit is taken apart
//! once free.

use anyhow::Result;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::Flow;

fn code(e: &Value) -> &str {
    e["error"]["code"].as_str().unwrap_or_default()
}

fn message(e: &Value) -> String {
    e["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The asset's state by id.
async fn state(f: &Flow, asset: i64) -> Result<String> {
    let a = f
        .s()
        .get_ok(&format!("/api/v1/assets/{asset}"), &f.w.keeper)
        .await?;
    Ok(a["asset"]["state"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_kit_goes_out_and_comes_back_whole_and_a_missing_member_is_named() -> Result<()> {
    let f = Flow::new(6).await?;
    let w = &f.w;
    let s = f.s();
    let members: Vec<i64> = f.stock[..4].iter().map(|(a, _)| *a).collect();
    let kit = s
        .post_ok(
            "/api/v1/kits",
            &w.keeper,
            json!({"name": "会议室套装一号", "asset_ids": members, "notes": "投影仪、幕布、话筒"}),
            201,
        )
        .await?;
    let kit_id = id(&kit)?;
    assert_eq!(kit["members"].as_array().map(Vec::len), Some(4));
    assert_eq!(kit["available"], true);

    // An asset is in one kit only; unit staff may not make kits.
    let (st, e) = s
        .post(
            "/api/v1/kits",
            &w.keeper,
            json!({"name": "另一套", "asset_ids": [f.stock[3].0, f.stock[4].0]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "in_other_kit");
    assert!(message(&e).contains("30004"), "{e}");
    let (st, e) = s
        .post(
            "/api/v1/kits",
            &w.staff_a,
            json!({"name": "单位自建", "asset_ids": [f.stock[4].0]}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    // Units read the catalogue to choose a kit.
    let list = s.get_ok("/api/v1/kits", &w.staff_a).await?;
    assert!(list
        .as_array()
        .is_some_and(|l| l.iter().any(|k| k["id"] == kit_id)));
    // Only loans and allocations name kits.
    let (st, e) = s
        .post(
            "/api/v1/requests",
            &w.keeper,
            json!({"kind": "disposal", "kit_ids": [kit_id], "asset_ids": [f.stock[5].0],
                "disposal_method": "scrap", "reason": "报废"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "kit_ids");

    // The unit borrows the kit by name: the request holds every member.
    let loan = f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "kit_ids": [kit_id], "reason": "专题会议",
                "loan_start": "2099-03-01", "loan_due": "2099-03-02"}),
        )
        .await?;
    let req = id(&loan)?;
    assert_eq!(loan["items"].as_array().map(Vec::len), Some(4), "{loan}");
    let held = s
        .get_ok(&format!("/api/v1/kits/{kit_id}"), &w.staff_a)
        .await?;
    assert_eq!(held["available"], false);
    assert_eq!(held["held_by_request"], req);
    f.ok(&w.approver, req, json!({"action": "approve"})).await?;

    // Three of four scanned: refused naming the fourth; nothing moved.
    let three: Vec<String> = f.stock[..3].iter().map(|(_, e)| e.clone()).collect();
    let (st, e) = f
        .step(
            &w.keeper,
            req,
            json!({"action": "check_out", "epcs": three, "accept_shortfall": true}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "kit_incomplete");
    assert!(
        message(&e).contains("会议室套装一号") && message(&e).contains("30004"),
        "{e}"
    );
    assert!(!message(&e).contains("30001"), "{e}");
    for a in &members {
        assert_eq!(state(&f, *a).await?, "in_stock");
    }
    // All four: out as one.
    let four: Vec<String> = f.stock[..4].iter().map(|(_, e)| e.clone()).collect();
    let v = f
        .ok(&w.keeper, req, json!({"action": "check_out", "epcs": four}))
        .await?;
    assert_eq!(v["request"]["stage"], "receipt", "{v}");
    let v = f
        .ok(&w.staff_a, req, json!({"action": "confirm_receipt"}))
        .await?;
    assert_eq!(v["request"]["stage"], "on_loan");

    // Back: two of four is refused naming the other two; all four closes it.
    let back = |n: usize| -> Value {
        json!({"action": "return_items", "items": f.stock[..n].iter()
            .map(|(_, e)| json!({"epc": e, "condition": "good"})).collect::<Vec<_>>()})
    };
    let (st, e) = f.step(&w.keeper, req, back(2)).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "kit_incomplete");
    assert!(
        message(&e).contains("30003") && message(&e).contains("30004"),
        "{e}"
    );
    for a in &members {
        assert_eq!(state(&f, *a).await?, "on_loan");
    }
    let v = f.ok(&w.keeper, req, back(4)).await?;
    assert_eq!(v["request"]["stage"], "completed", "{v}");
    for a in &members {
        assert_eq!(state(&f, *a).await?, "in_stock");
    }
    let free = s
        .get_ok(&format!("/api/v1/kits/{kit_id}"), &w.keeper)
        .await?;
    assert_eq!(free["available"], true);

    // A second kit, held by a loan, cannot be taken apart; the first can.
    let second = id(&s
        .post_ok(
            "/api/v1/kits",
            &w.keeper,
            json!({"name": "签到台套装", "asset_ids": [f.stock[4].0, f.stock[5].0]}),
            201,
        )
        .await?)?;
    let other = id(&f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "kit_ids": [second], "loan_start": "2099-04-01",
                "loan_due": "2099-04-02"}),
        )
        .await?)?;
    let (st, e) = s
        .post(
            &format!("/api/v1/kits/{second}/retire"),
            &w.keeper,
            json!({}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(code(&e), "kit_in_use");
    assert!(message(&e).contains(&other.to_string()), "{e}");
    let gone = s
        .post_ok(
            &format!("/api/v1/kits/{kit_id}/retire"),
            &w.keeper,
            json!({}),
            200,
        )
        .await?;
    assert!(gone["retired_at"].is_string(), "{gone}");
    // Retired: its members are single assets again, and no loan names it.
    let (st, e) = s
        .post(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "kit_ids": [kit_id], "loan_start": "2099-05-01",
                "loan_due": "2099-05-02"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "kit_ids[0]");
    s.post_ok(
        "/api/v1/kits",
        &w.keeper,
        json!({"name": "会议室套装一号", "asset_ids": [f.stock[0].0]}),
        201,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn keepers_make_kits_on_the_kits_page_and_units_choose_them_on_the_loan_form() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let s = f.s();
    let c = client()?;
    let (st, loc, _) = post_form(
        &c,
        &s.base,
        "/kits",
        &w.keeper,
        &[
            ("name", "话筒套装"),
            ("asset_numbers", "30001，30002\n30003"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/kits/"), "{loc}");
    let (st, html, _) = page(&c, &s.base, &loc, &w.keeper, "").await?;
    assert_eq!(st, StatusCode::OK);
    for n in ["话筒套装", "30001", "30002", "30003", "可借"] {
        assert!(html.contains(n), "kit page lacks {n}");
    }
    // A number that names nothing is refused on its field.
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/kits",
        &w.keeper,
        &[("name", "坏套装"), ("asset_numbers", "99999")],
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("99999"), "the refused number is named");
    // The unit's loan form offers the kit; filing with it holds its members.
    let (st, html, _) = page(&c, &s.base, "/requests/new/loan", &w.staff_a, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("话筒套装"), "the loan form offers the kit");
    let kits = s.get_ok("/api/v1/kits", &w.staff_a).await?;
    let kit = kits[0]["id"].as_i64().unwrap_or_default().to_string();
    let (st, loc, _) = post_form(
        &c,
        &s.base,
        "/requests/new/loan",
        &w.staff_a,
        &[
            ("kit_id", kit.as_str()),
            ("reason", "座谈会"),
            ("loan_start", "2099-06-01"),
            ("loan_due", "2099-06-02"),
        ],
    )
    .await?;
    assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
    let req: i64 = loc.trim_start_matches("/requests/").parse()?;
    let r = s
        .get_ok(&format!("/api/v1/requests/{req}"), &w.staff_a)
        .await?;
    assert_eq!(r["items"].as_array().map(Vec::len), Some(3), "{r}");
    // The English page has no Chinese words of its own.
    let (_, html, _) = page(&c, &s.base, "/kits", &w.keeper, "lang=en").await?;
    assert!(html.contains("Kits"), "English kits page");
    Ok(())
}
