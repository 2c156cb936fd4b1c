//! The region tree of the network (issue 15, first slice): an
//! administrator sets up 省 → 市 → 县 with each region's agency, by the API
//! and by `admin add-region`; units and warehouses belong to a region. A
//! region in the wrong place is refused naming the level its parent must
//! have, and nothing is stored.

use anyhow::{ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn an_administrator_builds_the_region_tree_and_places_units_and_warehouses() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let gx = s
        .post_ok(
            "/api/v1/regions",
            &w.admin,
            json!({"name": "广西壮族自治区", "level": "province"}),
            201,
        )
        .await?;
    assert_eq!(gx["agency"], "广西壮族自治区机关事务管理局");
    assert_eq!(gx["parent_id"], Value::Null);
    let nn = s
        .post_ok(
            "/api/v1/regions",
            &w.admin,
            json!({"name": "南宁市", "level": "city", "parent_id": id(&gx)?,
                "agency": "南宁市机关事务管理局"}),
            201,
        )
        .await?;
    let wm = s
        .post_ok(
            "/api/v1/regions",
            &w.admin,
            json!({"name": "武鸣区", "level": "county", "parent_id": id(&nn)?}),
            201,
        )
        .await?;
    assert_eq!(wm["parent_id"], id(&nn)?);

    // Out of place: a county under the province, a province under a city,
    // a city with no parent, a parent that does not exist.
    for (body, field) in [
        (
            json!({"name": "某县", "level": "county", "parent_id": id(&gx)?}),
            "parent_id",
        ),
        (
            json!({"name": "某省", "level": "province", "parent_id": id(&nn)?}),
            "parent_id",
        ),
        (json!({"name": "某市", "level": "city"}), "parent_id"),
        (
            json!({"name": "某市", "level": "city", "parent_id": 999_999}),
            "parent_id",
        ),
    ] {
        let (st, err) = s.post("/api/v1/regions", &w.admin, body.clone()).await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    // Two regions of one name under one parent: the second is refused.
    let (st, err) = s
        .post(
            "/api/v1/regions",
            &w.admin,
            json!({"name": "武鸣区", "level": "county", "parent_id": id(&nn)?}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{err}");
    let all = s.get_ok("/api/v1/regions", &w.keeper).await?;
    assert_eq!(all["total"], 3, "{all}");
    let got = s
        .get_ok(&format!("/api/v1/regions/{}", id(&wm)?), &w.keeper)
        .await?;
    assert_eq!(got["name"], "武鸣区");
    assert_eq!(got["level"], "county");

    // Only administrators set up the network.
    let (st, _) = s
        .post(
            "/api/v1/regions",
            &w.keeper,
            json!({"name": "桂林市", "level": "city", "parent_id": id(&gx)?}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Units and warehouses belong to a region.
    let unit = s
        .post_ok(
            "/api/v1/units",
            &w.admin,
            json!({"name": "武鸣区财政局", "region_id": id(&wm)?}),
            201,
        )
        .await?;
    let unit = s
        .get_ok(&format!("/api/v1/units/{}", id(&unit)?), &w.admin)
        .await?;
    assert_eq!(unit["region_id"], id(&wm)?);
    let wh = s
        .post_ok(
            "/api/v1/warehouses",
            &w.admin,
            json!({"name": "武鸣区公物仓", "region_id": id(&wm)?}),
            201,
        )
        .await?;
    assert_eq!(wh["region_id"], id(&wm)?);
    let (st, err) = s
        .post(
            "/api/v1/units",
            &w.admin,
            json!({"name": "无处单位", "region_id": 999_999}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "region_id");
    let units = s.get_ok("/api/v1/units?per_page=200", &w.admin).await?;
    let names: Vec<&str> = units["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        ["单位A", "单位B", "武鸣区财政局"],
        "a refused unit was stored"
    );

    // The same from the command line, in Chinese names.
    let out = cli_ok(
        &s.db,
        &[
            "admin",
            "add-region",
            "--name",
            "马山县",
            "--level",
            "county",
            "--parent-id",
            &id(&nn)?.to_string(),
        ],
    )?;
    ensure!(
        out.contains("马山县") && out.contains("马山县机关事务管理局"),
        "{out}"
    );
    let bad = cli(
        &s.db,
        &["admin", "add-region", "--name", "x", "--level", "village"],
    )?;
    ensure!(!bad.status.success());
    ensure!(
        String::from_utf8_lossy(&bad.stderr).contains("not province, city or county"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let misplaced = cli(
        &s.db,
        &["admin", "add-region", "--name", "x", "--level", "county"],
    )?;
    ensure!(!misplaced.status.success());
    let all = s.get_ok("/api/v1/regions", &w.admin).await?;
    assert_eq!(all["total"], 4, "{all}");
    Ok(())
}
