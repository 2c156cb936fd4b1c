//! Every way an asset arrives (取得方式): an acquisition from each source
//! creates its assets in stock with the source on the asset and in its
//! history; the register filters by source; the source's document is
//! attached and downloaded; bad input is refused naming the field, and
//! nothing is stored. The keeper's form (multipart, with the document)
//! does the same in one submission.

use anyhow::{anyhow, bail, ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// An acquisition body from `source` with its details and `assets`
/// (number, name, value in fen) in category `cat` at location `loc`.
fn body(source: &str, loc: i64, cat: i64, assets: &[(&str, &str, i64)]) -> Value {
    let mut b = json!({
        "source": source,
        "received_on": "2026-01-15",
        "location_id": loc,
        "assets": assets.iter().map(|(n, name, v)| json!({
            "asset_number": n, "name": name, "category_id": cat, "original_value_fen": v,
        })).collect::<Vec<_>>(),
    });
    let details: &[(&str, Value)] = match source {
        "transfer_in" => &[
            ("from_agency", json!("某市财政局")),
            ("document_number", json!("财资调〔2026〕3号")),
        ],
        "donation" => &[("donor", json!("某科技有限公司"))],
        "dissolved_body" => &[
            ("body_name", json!("某市第七次人口普查领导小组办公室")),
            ("document_number", json!("某政办〔2026〕12号")),
        ],
        "confiscated" => &[
            ("authority", json!("某市市场监督管理局")),
            ("document_number", json!("某市监罚〔2026〕45号")),
        ],
        _ => &[("authority", json!("某市公安局"))],
    };
    for (k, v) in details {
        b[*k] = v.clone();
    }
    b
}

async fn counts(w: &World) -> Result<(i64, Option<i64>)> {
    let assets = w
        .server
        .get_ok("/api/v1/assets?per_page=1", &w.admin)
        .await?["total"]
        .as_i64()
        .ok_or_else(|| anyhow!("no total"))?;
    let acquisitions = test_support::db_scalar(&w.server.db, "SELECT COUNT(*) FROM acquisitions")?;
    Ok((assets, acquisitions))
}

#[tokio::test]
async fn each_source_brings_assets_into_stock_with_their_source() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let mut body_dissolved = body(
        "dissolved_body",
        w.loc_1,
        w.category,
        &[("QZ-1", "文件柜", 120_000), ("QZ-2", "文件柜", 120_000)],
    );
    body_dissolved["on_behalf_unit_id"] = json!(w.unit_a);
    let cases: Vec<(&str, Value)> = vec![
        (
            "transfer_in",
            body(
                "transfer_in",
                w.loc_1,
                w.category,
                &[("DR-1", "会议桌", 260_000)],
            ),
        ),
        (
            "donation",
            body(
                "donation",
                w.loc_2,
                w.category,
                &[("JZ-1", "投影仪", 350_000), ("JZ-2", "幕布", 80_000)],
            ),
        ),
        ("dissolved_body", body_dissolved),
        (
            "confiscated",
            body(
                "confiscated",
                w.loc_1,
                w.category,
                &[("FM-1", "笔记本电脑", 420_000)],
            ),
        ),
        (
            "unclaimed",
            body(
                "unclaimed",
                w.loc_1,
                w.category,
                &[("WZ-1", "自行车", 30_000)],
            ),
        ),
    ];
    for (source, b) in &cases {
        let a = s
            .post_ok("/api/v1/acquisitions", &w.keeper, b.clone(), 201)
            .await?;
        assert_eq!(a["source"], *source);
        let ids: Vec<i64> = a["asset_ids"]
            .as_array()
            .ok_or_else(|| anyhow!("no asset_ids in {a}"))?
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert_eq!(ids.len(), b["assets"].as_array().map_or(0, Vec::len));
        for id in ids {
            let v = s.get_ok(&format!("/api/v1/assets/{id}"), &w.admin).await?;
            let asset = &v["asset"];
            assert_eq!(
                (&asset["source"], &asset["state"], &asset["acquisition_id"]),
                (&json!(source), &json!("in_stock"), &a["id"]),
                "{v}"
            );
            assert_eq!(asset["purchase_date"], "2026-01-15");
            assert_eq!(asset["holder_location_id"], b["location_id"]);
            // The history's registration carries the source.
            let reg = v["timeline"]
                .as_array()
                .and_then(|t| t.iter().find(|e| e["action"] == "registered"))
                .ok_or_else(|| anyhow!("no registered event: {v}"))?;
            let details: Value = match &reg["details"] {
                Value::String(t) => serde_json::from_str(t)?,
                other => other.clone(),
            };
            assert_eq!(details["source"], *source, "{reg}");
            assert_eq!(details["acquisition"], a["id"]);
        }
    }
    // The register by source; the assets made before are plain
    // registrations.
    for (source, n) in [
        ("donation", 2),
        ("dissolved_body", 2),
        ("transfer_in", 1),
        ("confiscated", 1),
        ("unclaimed", 1),
        ("register", 3),
        ("purchase", 0),
    ] {
        let page = s
            .get_ok(&format!("/api/v1/assets?source={source}"), &w.admin)
            .await?;
        assert_eq!(page["total"], n, "source {source}: {page}");
    }
    // The chain still verifies with the new registrations in it.
    let v = s.get_ok("/api/v1/events/verify", &w.admin).await?;
    assert_eq!(v["ok"], true, "{v}");
    Ok(())
}

#[tokio::test]
async fn the_source_document_is_attached_and_downloaded() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let a = s
        .post_ok(
            "/api/v1/acquisitions",
            &w.keeper,
            body(
                "donation",
                w.loc_1,
                w.category,
                &[("JZ-9", "钢琴", 1_200_000)],
            ),
            201,
        )
        .await?;
    let id = a["id"].as_i64().ok_or_else(|| anyhow!("no id"))?;
    let pdf = b"%PDF-1.4 donation agreement".to_vec();
    let resp = s
        .http
        .post(format!(
            "{}/api/v1/acquisitions/{id}/documents?filename=捐赠协议.pdf",
            s.base
        ))
        .bearer_auth(&w.keeper)
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::CREATED, "{}", resp.status());
    let v: Value = resp.json().await?;
    let doc = v["documents"][0]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no document in {v}"))?;
    assert_eq!(v["documents"][0]["filename"], "捐赠协议.pdf");
    let got = s
        .http
        .get(format!("{}/api/v1/documents/{doc}", s.base))
        .bearer_auth(&w.approver)
        .send()
        .await?;
    ensure!(got.status() == StatusCode::OK, "{}", got.status());
    assert_eq!(got.bytes().await?.to_vec(), pdf);
    // Not a document type: refused, nothing attached.
    let resp = s
        .http
        .post(format!(
            "{}/api/v1/acquisitions/{id}/documents?filename=a.exe",
            s.base
        ))
        .bearer_auth(&w.keeper)
        .header("content-type", "application/x-msdownload")
        .body(b"MZ".to_vec())
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = s
        .get_ok(&format!("/api/v1/acquisitions/{id}"), &w.keeper)
        .await?;
    assert_eq!(v["documents"].as_array().map(Vec::len), Some(1));
    // Unit staff file no acquisitions.
    let (st, _) = s
        .post(
            "/api/v1/acquisitions",
            &w.staff_a,
            body("donation", w.loc_1, w.category, &[("JZ-10", "钢琴", 1)]),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_stored() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let before = counts(&w).await?;
    let ok = || {
        body(
            "donation",
            w.loc_1,
            w.category,
            &[("JZ-1", "投影仪", 350_000)],
        )
    };
    let two = |n1: &str, n2: &str, cat2: i64| {
        let mut b = ok();
        b["assets"] = json!([
            {"asset_number": n1, "name": "投影仪", "category_id": w.category, "original_value_fen": 1},
            {"asset_number": n2, "name": "幕布", "category_id": cat2, "original_value_fen": 1},
        ]);
        b
    };
    let existing = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.admin)
        .await?["asset"]["asset_number"]
        .as_str()
        .ok_or_else(|| anyhow!("no number"))?
        .to_owned();
    let mut cases: Vec<(&str, Value, StatusCode, &str)> = Vec::new();
    let mut b = ok();
    b["donor"] = Value::Null;
    cases.push((
        "missing donor",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "donor",
    ));
    let mut b = ok();
    b["donor"] = json!("   ");
    cases.push(("blank donor", b, StatusCode::UNPROCESSABLE_ENTITY, "donor"));
    let mut b = body("dissolved_body", w.loc_1, w.category, &[("QZ-1", "柜", 1)]);
    b["on_behalf_unit_id"] = json!(999_999);
    cases.push((
        "unknown unit",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "on_behalf_unit_id",
    ));
    let b = body("dissolved_body", w.loc_1, w.category, &[("QZ-1", "柜", 1)]);
    cases.push((
        "no unit filing for the body",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "on_behalf_unit_id",
    ));
    let mut b = body("transfer_in", w.loc_1, w.category, &[("DR-1", "桌", 1)]);
    b["from_agency"] = Value::Null;
    cases.push((
        "no agency",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "from_agency",
    ));
    let mut b = body("transfer_in", w.loc_1, w.category, &[("DR-1", "桌", 1)]);
    b["donor"] = json!("某人");
    cases.push((
        "donor on a transfer",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "donor",
    ));
    cases.push((
        "unknown category",
        two("JZ-1", "JZ-2", 999_999),
        StatusCode::UNPROCESSABLE_ENTITY,
        "assets[1].category_id",
    ));
    cases.push((
        "a number twice",
        two("JZ-1", "JZ-1", w.category),
        StatusCode::CONFLICT,
        "assets[1].asset_number",
    ));
    cases.push((
        "a number in the register",
        two("JZ-1", &existing, w.category),
        StatusCode::CONFLICT,
        "assets[1].asset_number",
    ));
    let mut b = ok();
    b["received_on"] = json!("2099-01-01");
    cases.push((
        "received in the future",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "received_on",
    ));
    let mut b = ok();
    b["received_on"] = json!("2026-02-30");
    cases.push((
        "not a date",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "received_on",
    ));
    let mut b = ok();
    b["location_id"] = json!(999_999);
    cases.push((
        "unknown location",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "location_id",
    ));
    let mut b = ok();
    b["assets"] = json!([]);
    cases.push(("no assets", b, StatusCode::UNPROCESSABLE_ENTITY, "assets"));
    let mut b = ok();
    b["assets"][0]["original_value_fen"] = json!(-5);
    cases.push((
        "negative value",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "assets[0].original_value_fen",
    ));
    let mut b = ok();
    b["source"] = json!("purchase");
    cases.push((
        "purchase is the chain's",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "source",
    ));
    let mut b = ok();
    b["source"] = json!("gift");
    cases.push((
        "unknown source",
        b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "source",
    ));
    for (what, b, status, field) in cases {
        let (st, v) = s.post("/api/v1/acquisitions", &w.keeper, b).await?;
        let fields: Vec<String> = v["error"]["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|p| p["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let named =
            v["error"]["field"].as_str() == Some(field) || fields.iter().any(|f| f == field);
        if st != status || !named {
            bail!("{what}: expected {status} naming {field}, got {st} {v}");
        }
        assert_eq!(counts(&w).await?, before, "{what} stored something");
    }
    // Several problems at once, each named.
    let mut b = two("JZ-1", "JZ-2", 999_999);
    b["donor"] = Value::Null;
    b["assets"][0]["name"] = json!("");
    let (st, v) = s.post("/api/v1/acquisitions", &w.keeper, b).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["error"]["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|p| p["field"].as_str()).collect())
        .unwrap_or_default();
    for f in ["donor", "assets[0].name"] {
        ensure!(fields.contains(&f), "{f} not named: {v}");
    }
    assert_eq!(counts(&w).await?, before);
    Ok(())
}

/// A multipart body of text fields and one PDF file.
fn multipart(boundary: &str, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[tokio::test]
async fn the_keepers_form_records_a_donation_with_its_document() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let form = page(&c, &s.base, "/acquisitions/new", &w.keeper, "")
        .await?
        .1;
    for want in ["接受捐赠", "捐赠人", "来源凭证", "取得日期", "入库资产"] {
        ensure!(form.contains(want), "the form lacks {want}");
    }
    let token = form_token(&c, &s.base, &w.keeper).await?;
    let cat = w.category.to_string();
    let send = |fields: Vec<(&'static str, String)>| {
        let c = c.clone();
        let token = token.clone();
        let base = s.base.clone();
        let keeper = w.keeper.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let resp = c
                .post(format!("{base}/acquisitions?_csrf={token}"))
                .header("cookie", format!("wh_session={keeper}"))
                .header("content-type", "multipart/form-data; boundary=B0und")
                .body(multipart(
                    "B0und",
                    &f,
                    Some(("捐赠协议.pdf", b"%PDF-1.4 agreement")),
                ))
                .send()
                .await?;
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            Ok::<_, anyhow::Error>((status, location, resp.text().await?))
        }
    };
    let mut fields = vec![
        ("source", "donation".to_owned()),
        ("received_on", "2026-03-08".to_owned()),
        ("location_code", "A01".to_owned()),
        ("a0_number", "JZ-100".to_owned()),
        ("a0_name", "钢琴".to_owned()),
        ("a0_category", cat.clone()),
        ("a0_value", "12,000.00".to_owned()),
    ];
    // Without the donor: the form again, the problem beside it, nothing kept.
    let before = counts(&w).await?;
    let (st, _, html) = send(fields.clone()).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    ensure!(
        html.contains("取得方式为「接受捐赠」时须填写捐赠人"),
        "{html}"
    );
    ensure!(
        html.contains(r#"value="JZ-100""#),
        "the typed values are lost"
    );
    assert_eq!(counts(&w).await?, before);
    fields.push(("donor", "某科技有限公司".to_owned()));
    let (st, location, _) = send(fields).await?;
    ensure!(st == StatusCode::SEE_OTHER, "{st}");
    ensure!(location.starts_with("/acquisitions/"), "{location}");
    let acq = page(&c, &s.base, &location, &w.keeper, "").await?.1;
    ensure!(
        acq.contains("某科技有限公司") && acq.contains("捐赠协议.pdf"),
        "{acq}"
    );
    let v = s.get_ok("/api/v1/assets?source=donation", &w.admin).await?;
    let asset = &v["items"][0];
    assert_eq!(
        (&asset["asset_number"], &asset["original_value_fen"]),
        (&json!("JZ-100"), &json!(1_200_000))
    );
    let id = asset["id"].as_i64().ok_or_else(|| anyhow!("no id"))?;
    let html = page(&c, &s.base, &format!("/assets/{id}"), &w.approver, "")
        .await?
        .1;
    let text = crate::pages_words::visible_text(&html);
    for want in [
        "来源",
        "接受捐赠",
        "捐赠人：某科技有限公司",
        "来源凭证：捐赠协议.pdf",
    ] {
        ensure!(text.contains(want), "the asset page lacks {want}:\n{text}");
    }
    let data = ["approver", "keeper", "主仓", "Shelf 1", "A01"].map(String::from);
    let found = test_support::unreadable(&text, &data);
    ensure!(found.is_empty(), "{found:?}:\n{text}");
    // The form and the record read in each language: no English in
    // Chinese, no Chinese in English (but the register's own names).
    let data: Vec<String> = [
        "approver",
        "keeper",
        "主仓",
        "Shelf 1",
        "A01",
        "单位A",
        "单位B",
        "办公桌",
        "钢琴",
        "某科技有限公司",
        "捐赠协议.pdf",
        "JZ-100",
        "中文",
    ]
    .map(String::from)
    .to_vec();
    for path in [
        "/acquisitions/new",
        location.as_str(),
        &format!("/assets/{id}"),
    ] {
        let zh = crate::pages_words::visible_text(&page(&c, &s.base, path, &w.keeper, "").await?.1);
        let found = test_support::unreadable(&zh, &data);
        ensure!(found.is_empty(), "{path}: {found:?}:\n{zh}");
        let en = crate::pages_words::visible_text(
            &page(&c, &s.base, path, &w.keeper, "lang=en").await?.1,
        );
        let found = test_support::chinese_outside(&en, &data);
        ensure!(found.is_empty(), "{path} in English: {found:?}:\n{en}");
    }
    Ok(())
}
