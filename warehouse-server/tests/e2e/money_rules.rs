//! The money rules (金额规则) end to end: compensation is the original
//! value unless the approver gives a reason for another amount; the
//! remittance of an auction is the hammer price less the auction fees,
//! which are shown by a document attached to the request; a compensated
//! damaged item is appraised for its residual value before it is disposed
//! of, never written off at once.

use anyhow::{bail, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::workflows::{rid, stage, Flow};

/// Uploads a PDF to a request as `token`; returns the document's id.
async fn upload(f: &Flow, token: &str, request: i64, name: &str) -> Result<i64> {
    let resp = f
        .s()
        .http
        .post(format!(
            "{}/api/v1/requests/{request}/documents?filename={name}",
            f.s().base
        ))
        .bearer_auth(token)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 auction fees".to_vec())
        .send()
        .await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    if status != StatusCode::CREATED && status != StatusCode::OK {
        bail!("upload to request {request}: {status} {v}");
    }
    v["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no document id in {v}"))
}

/// A refused step: its status, the field blamed and the message.
async fn refused(
    f: &Flow,
    token: &str,
    req: i64,
    body: Value,
) -> Result<(StatusCode, String, String)> {
    let (st, e) = f.step(token, req, body).await?;
    Ok((
        st,
        e["error"]["field"].as_str().unwrap_or_default().to_owned(),
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

async fn request_page(f: &Flow, token: &str, id: i64) -> Result<String> {
    let resp = f
        .s()
        .http
        .get(format!("{}/requests/{id}", f.s().base))
        .bearer_auth(token)
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        bail!("request page {id}: {}", resp.status());
    }
    Ok(resp.text().await?)
}

#[tokio::test]
async fn compensation_is_the_original_value_unless_a_reason_is_given() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    // Each chair's original value is 320.00 yuan.
    let (chair_1, chair_2) = (f.stock[0].0, f.stock[1].0);
    let case = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "damage", "asset_ids": [chair_1], "reason": "椅背断裂"}),
        )
        .await?)?;
    let page = request_page(&f, &w.approver, case).await?;
    if !page.contains("赔偿金额默认为原值；其他金额须填写理由") || !page.contains("其他金额理由")
    {
        bail!("the decision form does not state the compensation rule:\n{page}");
    }
    // No amount: the original value.
    let v = f
        .ok(
            &w.approver,
            case,
            json!({"action": "decide_cause", "cause": "human", "responsible": "单位A 王五",
                "remedy": "compensate"}),
        )
        .await?;
    assert_eq!(v["request"]["compensation_fen"], 32000);

    // Another amount without a reason: refused, naming the field and both amounts.
    let other = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "damage", "asset_ids": [chair_2], "reason": "坐垫破损"}),
        )
        .await?)?;
    let decide = |amount: i64, reason: Option<&str>| {
        let mut b = json!({"action": "decide_cause", "cause": "human", "responsible": "单位A 赵六",
            "remedy": "compensate", "amount_fen": amount});
        if let Some(r) = reason {
            b["amount_reason"] = json!(r);
        }
        b
    };
    let before = f.snapshot(other).await?;
    let (st, field, message) = refused(&f, &w.approver, other, decide(20000, None)).await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "amount_reason")
    );
    assert!(
        message.contains("32000") && message.contains("20000"),
        "{message}"
    );
    let (st, field, _) = refused(&f, &w.approver, other, decide(20000, Some("  "))).await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "amount_reason")
    );
    assert_eq!(
        f.snapshot(other).await?,
        before,
        "a refused decision changed the case"
    );
    // The same refusal on the page's form, beside the reason box.
    let html = f
        .s()
        .http
        .post(format!("{}/requests/{other}/step", f.s().base))
        .bearer_auth(&w.approver)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=decide_cause&cause=human&responsible=x&remedy=compensate&amount=200")
        .send()
        .await?
        .text()
        .await?;
    if !html.contains(r#"data-field="amount_reason">赔偿金额默认为原值 320.00 元；填写的是 200.00 元，其他金额须填写理由"#) {
        bail!("no Chinese error beside amount_reason:\n{html}");
    }

    // With a reason: accepted, and the reason is in the request's steps.
    let why = "已使用六年，按折余价值赔偿";
    let v = f.ok(&w.approver, other, decide(20000, Some(why))).await?;
    assert_eq!(v["request"]["compensation_fen"], 20000);
    let steps = v["request"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let decided = steps
        .iter()
        .find(|s| s["action"] == "decide_cause")
        .cloned()
        .unwrap_or_default();
    assert_eq!(decided["details"]["amount_reason"], why);
    assert_eq!(decided["details"]["original_value_fen"], 32000);
    assert_eq!(decided["details"]["amount_fen"], 20000);
    let page = request_page(&f, &w.finance, other).await?;
    if !page.contains(why) {
        bail!("the request page does not show the reason:\n{page}");
    }
    f.verify_log().await
}

#[tokio::test]
async fn remittance_is_the_hammer_price_less_documented_fees() -> Result<()> {
    let f = Flow::new(2).await?;
    let w = &f.w;
    let d = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": [f.stock[0].0], "disposal_method": "auction",
                "reason": "超过使用年限"}),
        )
        .await?)?;
    f.ok(
        &w.keeper,
        d,
        json!({"action": "appraise", "appraised_value_fen": 20000, "appraiser": "某评估事务所",
            "report_ref": "PG-1"}),
    )
    .await?;
    f.ok(&w.approver, d, json!({"action": "approve"})).await?;
    f.ok(&w.finance, d, json!({"action": "approve"})).await?;
    let page = request_page(&f, &w.approver, d).await?;
    for label in ["拍卖费用（元）", "费用凭证"] {
        if !page.contains(label) {
            bail!("the sale form lacks {label}:\n{page}");
        }
    }
    let sale = |fees: Value, doc: Value| {
        json!({"action": "record_sale", "hammer_price_fen": 26500, "buyer": "张三",
            "fees_fen": fees, "fees_document_id": doc})
    };
    // Fees without their document; fees above the hammer price; another
    // request's document: each refused, naming its field.
    let english = f
        .s()
        .http
        .get(format!("{}/requests/{d}", f.s().base))
        .bearer_auth(&w.approver)
        .header("cookie", "lang=en")
        .send()
        .await?
        .text()
        .await?;
    if !english.contains("Auction fees (yuan)")
        || !english.contains("Fees document")
        || english.contains("拍卖费用")
    {
        bail!("the English sale form is not in English:\n{english}");
    }
    let (st, field, _) = refused(&f, &w.approver, d, sale(json!(1500), Value::Null)).await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "fees_document_id")
    );
    let doc = upload(&f, &w.approver, d, "拍卖佣金发票.pdf").await?;
    let (st, field, _) = refused(&f, &w.approver, d, sale(json!(26501), json!(doc))).await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "fees_fen")
    );
    let elsewhere = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": [f.stock[1].0], "disposal_method": "scrap"}),
        )
        .await?)?;
    let foreign = upload(&f, &w.keeper, elsewhere, "其他.pdf").await?;
    let (st, field, _) = refused(&f, &w.approver, d, sale(json!(1500), json!(foreign))).await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "fees_document_id")
    );
    assert_eq!(
        stage(
            &f.s()
                .get_ok(&format!("/api/v1/requests/{d}"), &w.admin)
                .await?
        ),
        "sale"
    );

    let v = f.ok(&w.approver, d, sale(json!(1500), json!(doc))).await?;
    assert_eq!(stage(&v), "remittance");
    assert_eq!(v["request"]["fees_fen"], 1500);
    assert_eq!(v["request"]["net_fen"], 25000);
    // The hammer price is not what the treasury gets: refused, naming the
    // expected amount and the one given.
    let (st, field, message) = refused(
        &f,
        &w.finance,
        d,
        json!({"action": "confirm_remittance", "amount_fen": 26500, "treasury_ref": "JK-1"}),
    )
    .await?;
    assert_eq!(
        (st, field.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "amount_fen")
    );
    assert!(
        message.contains("= 25000 fen") && message.contains("26500 fen given"),
        "{message}"
    );
    let page = request_page(&f, &w.finance, d).await?;
    if !page.contains(r#"data-test="fees">15.00"#) || !page.contains(r#"value="250.00""#) {
        bail!("the request page does not show the fees and the net proceeds:\n{page}");
    }
    let v = f
        .ok(
            &w.finance,
            d,
            json!({"action": "confirm_remittance", "amount_fen": 25000, "treasury_ref": "JK-2"}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    assert_eq!(f.state(f.stock[0].0).await?, "disposed");
    let r = f.report("disposals").await?;
    assert_eq!(
        (
            &r["totals"]["hammer_fen"],
            &r["totals"]["fees_fen"],
            &r["totals"]["remitted_fen"]
        ),
        (&json!(26500), &json!(1500), &json!(25000))
    );
    assert_eq!(
        r["columns"],
        json!([
            "month",
            "auctions",
            "hammer_fen",
            "fees_fen",
            "remitted_fen"
        ])
    );
    f.verify_log().await
}

#[tokio::test]
async fn a_compensated_damaged_item_is_appraised_before_disposal() -> Result<()> {
    let f = Flow::new(1).await?;
    let w = &f.w;
    // Unit A's desk (original value 1,500.00 yuan) is damaged by a person.
    let desk = w.asset_a;
    let case = rid(&f
        .file(
            &w.staff_a,
            json!({"kind": "damage", "asset_ids": [desk], "reason": "桌面被烫坏"}),
        )
        .await?)?;
    f.ok(
        &w.approver,
        case,
        json!({"action": "decide_cause", "cause": "human", "responsible": "单位A 李四",
            "remedy": "compensate"}),
    )
    .await?;
    assert_eq!(f.state(desk).await?, "disposal_pending");
    let v = f
        .ok(
            &w.finance,
            case,
            json!({"action": "confirm_payment", "amount_fen": 150000, "receipt_ref": "SK-1"}),
        )
        .await?;
    assert_eq!(stage(&v), "completed");
    // Not written off: the payment opened a disposal at its appraisal.
    assert_eq!(f.state(desk).await?, "disposal_pending");
    let residual = v["opened"][0]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no disposal opened: {v}"))?;
    let paid = v["request"]["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["action"] == "confirm_payment").cloned())
        .unwrap_or_default();
    assert_eq!(paid["details"]["written_off"], false);
    assert_eq!(paid["details"]["residual_disposal"], residual);
    let d = f
        .s()
        .get_ok(&format!("/api/v1/requests/{residual}"), &w.admin)
        .await?;
    assert_eq!(
        (
            &d["kind"],
            &d["stage"],
            &d["origin_request_id"],
            &d["unit_id"]
        ),
        (
            &json!("disposal"),
            &json!("appraisal"),
            &json!(case),
            &json!(w.unit_a)
        )
    );
    assert_eq!(d["items"][0]["asset_id"], desk);
    // The unit did not file it and cannot withdraw it.
    let (st, _) = f
        .step(&w.staff_a, residual, json!({"action": "withdraw"}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let page = request_page(&f, &w.keeper, residual).await?;
    if !page.contains(&format!(r#"href="/requests/{case}""#)) {
        bail!("the residual disposal does not link its damage case:\n{page}");
    }
    // 残值评估: the residual value is worth selling, so it goes to auction.
    let v = f
        .ok(
            &w.keeper,
            residual,
            json!({"action": "appraise", "appraised_value_fen": 30000, "appraiser": "某评估事务所",
                "report_ref": "CZ-1", "disposal_method": "auction"}),
        )
        .await?;
    assert_eq!(v["request"]["disposal_method"], "auction");
    f.ok(&w.approver, residual, json!({"action": "approve"}))
        .await?;
    let v = f
        .ok(&w.finance, residual, json!({"action": "approve"}))
        .await?;
    assert_eq!(stage(&v), "sale");
    f.ok(
        &w.approver,
        residual,
        json!({"action": "record_sale", "hammer_price_fen": 32000, "buyer": "回收公司"}),
    )
    .await?;
    f.ok(
        &w.finance,
        residual,
        json!({"action": "confirm_remittance", "amount_fen": 32000, "treasury_ref": "JK-9"}),
    )
    .await?;
    assert_eq!(f.state(desk).await?, "disposed");
    // The desk's path: damaged, held, sent to a residual appraisal, disposed.
    let path: Vec<String> = f
        .timeline_actions(desk)
        .await?
        .into_iter()
        .filter(|a| {
            matches!(
                a.as_str(),
                "damage_reported" | "hold_for_disposal" | "residual_appraisal" | "dispose"
            )
        })
        .collect();
    let mut chronological = path.clone();
    if chronological.first().map(String::as_str) == Some("dispose") {
        chronological.reverse();
    }
    assert_eq!(
        chronological,
        [
            "damage_reported",
            "hold_for_disposal",
            "residual_appraisal",
            "dispose"
        ],
        "{path:?}"
    );
    let c = f.report("compensation").await?;
    assert_eq!(c["totals"]["paid_fen"], 150000);
    f.verify_log().await
}
