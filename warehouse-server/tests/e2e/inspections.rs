//! Inspections at units' premises (巡检) over the API: who may open, see,
//! close and confirm one, and the refusals of bad input. The whole flow
//! with the real simulator and daemon is in
//! `reader-daemon/tests/stocktake_e2e.rs`
//! (`an_inspection_at_a_unit_finds_two_of_twelve_missing`).

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// `POST path` refused with `status`, `code` and (if given) `field`.
async fn refused(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
    status: StatusCode,
    code: &str,
    field: Option<&str>,
) -> Result<()> {
    let (st, v) = s.post(path, token, body.clone()).await?;
    ensure!(st == status, "{path} {body}: {st} {v}");
    ensure!(v["error"]["code"] == code, "{path} {body}: {v}");
    if let Some(f) = field {
        ensure!(v["error"]["field"] == f, "{path} {body}: {v}");
    }
    Ok(())
}

#[tokio::test]
async fn an_inspection_is_its_units_and_bad_input_is_named() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let staff_b = s
        .add_user(&w.admin, "staff_b", "unit_staff", Some(w.unit_b))
        .await?;
    let open = "/api/v1/stocktakes";
    let h = w.handheld;

    // Bad input, each naming what was wrong.
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    for body in [
        json!({"reader_ids": [h]}),
        json!({"warehouse_id": w.warehouse, "unit_id": w.unit_a, "reader_ids": [h]}),
    ] {
        refused(
            s,
            open,
            &w.keeper,
            body,
            invalid,
            "warehouse_or_unit",
            Some("warehouse_id"),
        )
        .await?;
    }
    let (st, v) = s
        .post(
            open,
            &w.keeper,
            json!({"unit_id": 999_999, "reader_ids": [h]}),
        )
        .await?;
    ensure!(
        st.is_client_error() && v["error"]["field"] == "unit_id",
        "{st} {v}"
    );
    let (st, v) = s
        .post(open, &w.keeper, json!({"unit_id": "A", "reader_ids": [h]}))
        .await?;
    ensure!(st.is_client_error(), "{st} {v}");
    ensure!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unit_id"),
        "{v}"
    );
    let (st, v) = s
        .post(
            open,
            &w.keeper,
            json!({"unit_id": w.unit_a, "location_id": w.loc_1, "reader_ids": [h]}),
        )
        .await?;
    ensure!(
        st.is_client_error() && v["error"]["field"] == "location_id",
        "{st} {v}"
    );
    refused(
        s,
        open,
        &w.keeper,
        json!({"unit_id": w.unit_a, "reader_ids": []}),
        invalid,
        "invalid",
        Some("reader_ids"),
    )
    .await?;
    // Unit staff do not run inspections, not even of their own unit.
    refused(
        s,
        open,
        &w.staff_a,
        json!({"unit_id": w.unit_a, "reader_ids": [h]}),
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await?;

    // The keeper inspects unit A: what A holds is expected, and only that.
    let epc_a = w.tag(w.asset_a).await?;
    let insp = s
        .post_ok(
            open,
            &w.keeper,
            json!({"unit_id": w.unit_a, "reader_ids": [h]}),
            201,
        )
        .await?;
    let iid = id(&insp)?;
    ensure!(
        insp["unit_id"] == w.unit_a && insp["warehouse_id"].is_null(),
        "{insp}"
    );
    ensure!(insp["awaiting_confirmation"] == false, "{insp}");
    let whst = id(&s
        .post_ok(
            open,
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "reader_ids": [h]}),
            201,
        )
        .await?)?;
    s.post_ok(
        "/api/v1/readers/observations",
        &w.handheld_token,
        batch("handheld-1", 1, vec![obs(&epc_a, "handheld-1", "added")]),
        200,
    )
    .await?;
    let rec = s
        .get_ok(&format!("/api/v1/stocktakes/{iid}"), &w.keeper)
        .await?;
    ensure!(
        rec["counts"]["expected"] == 1 && rec["counts"]["found"] == 1,
        "{rec}"
    );
    ensure!(rec["lines"][0]["other_region"] == false, "{rec}");

    // Who sees what: the unit's staff their own unit's inspections only.
    let mine = s.get_ok(open, &w.staff_a).await?;
    let ids: Vec<i64> = mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    ensure!(ids == vec![iid], "staff of A list {ids:?}");
    let theirs = s.get_ok(open, &staff_b).await?;
    ensure!(theirs["total"] == 0, "{theirs}");
    let all = s.get_ok(open, &w.keeper).await?;
    ensure!(all["total"] == 2, "{all}");
    s.get_ok(&format!("/api/v1/stocktakes/{iid}"), &w.staff_a)
        .await?;
    for (path, token) in [
        (format!("/api/v1/stocktakes/{iid}"), &staff_b),
        (format!("/api/v1/stocktakes/{whst}"), &w.staff_a),
        (format!("/api/v1/stocktakes/{iid}/report.csv"), &staff_b),
    ] {
        let (st, v) = s.get(&path, token).await?;
        ensure!(st == StatusCode::FORBIDDEN, "{path}: {st} {v}");
    }
    // Only keepers settle and close it.
    let path = format!("/api/v1/stocktakes/{iid}/close");
    refused(
        s,
        &path,
        &w.staff_a,
        json!({}),
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await?;

    // Confirming: not while open, only an inspection, only its unit's staff.
    let confirm = format!("/api/v1/stocktakes/{iid}/confirmation");
    refused(
        s,
        &confirm,
        &w.staff_a,
        json!({}),
        StatusCode::CONFLICT,
        "inspection_open",
        None,
    )
    .await?;
    s.post_ok(&path, &w.keeper, json!({}), 200).await?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{whst}/close"),
        &w.keeper,
        json!({}),
        200,
    )
    .await?;
    refused(
        s,
        &format!("/api/v1/stocktakes/{whst}/confirmation"),
        &w.staff_a,
        json!({}),
        StatusCode::CONFLICT,
        "not_an_inspection",
        None,
    )
    .await?;
    for token in [&staff_b, &w.keeper, &w.admin, &w.approver] {
        refused(
            s,
            &confirm,
            token,
            json!({}),
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        )
        .await?;
    }
    refused(
        s,
        &confirm,
        &w.staff_a,
        json!({"remark": "长".repeat(1001)}),
        invalid,
        "invalid",
        Some("remark"),
    )
    .await?;
    let (st, v) = s.post(&confirm, &w.staff_a, json!({"note": "x"})).await?;
    ensure!(
        st.is_client_error()
            && v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("note"),
        "{st} {v}"
    );
    let list = s.get_ok(open, &w.staff_a).await?;
    ensure!(list["items"][0]["awaiting_confirmation"] == true, "{list}");
    let done = s.post_ok(&confirm, &w.staff_a, json!({}), 200).await?;
    ensure!(
        done["confirmed_by"] == "user:staff_a" && done["confirm_remark"].is_null(),
        "{done}"
    );
    refused(
        s,
        &confirm,
        &w.staff_a,
        json!({}),
        StatusCode::CONFLICT,
        "inspection_confirmed",
        None,
    )
    .await?;
    // Nothing was missing: no loss case was opened.
    let cases = s.get_ok("/api/v1/requests?kind=damage", &w.admin).await?;
    ensure!(cases["total"] == 0, "{cases}");
    Ok(())
}

/// Keepers inspect the units of their own region only.
#[tokio::test]
async fn keepers_inspect_their_own_regions_units() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let region = |name: &str| json!({"name": name, "level": "province"});
    let wm = id(&s
        .post_ok("/api/v1/regions", &w.admin, region("广西壮族自治区"), 201)
        .await?)?;
    let bb = id(&s
        .post_ok("/api/v1/regions", &w.admin, region("广东省"), 201)
        .await?)?;
    let unit = id(&s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "武鸣区财政局", "region_id": wm}),
            201,
        )
        .await?)?;
    for (name, r) in [("keeper_wm", wm), ("keeper_bb", bb)] {
        s.post_ok(
            "/api/v1/users",
            &w.admin,
            json!({"username": name, "password": PASSWORD, "role": "keeper", "region_id": r}),
            201,
        )
        .await?;
    }
    let keeper_wm = s.login("keeper_wm", PASSWORD).await?;
    let keeper_bb = s.login("keeper_bb", PASSWORD).await?;
    let body = json!({"unit_id": unit, "reader_ids": [w.handheld]});
    refused(
        s,
        "/api/v1/stocktakes",
        &keeper_bb,
        body.clone(),
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await?;
    let st = id(&s
        .post_ok("/api/v1/stocktakes", &keeper_wm, body, 201)
        .await?)?;
    let (status, v) = s
        .get(&format!("/api/v1/stocktakes/{st}"), &keeper_bb)
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status} {v}");
    refused(
        s,
        &format!("/api/v1/stocktakes/{st}/close"),
        &keeper_bb,
        json!({}),
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await?;
    s.post_ok(
        &format!("/api/v1/stocktakes/{st}/close"),
        &keeper_wm,
        json!({}),
        200,
    )
    .await?;
    Ok(())
}
