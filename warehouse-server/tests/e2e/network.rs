//! Scoped roles across the network (issue 15): a county's approver
//! decides for its county only, a city's approver sees and decides for its
//! counties, and a transfer between two counties needs both counties'
//! approval, after which the asset, its tag and its history are on the
//! other county's register. A tag of one county read in another county
//! resolves to its asset.

use anyhow::{anyhow, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// 省 → 市 → 县1, 县2; a unit in each county, people placed in regions.
struct Net {
    w: World,
    county_1: i64,
    county_2: i64,
    unit_1: i64,
    unit_2: i64,
    /// Approvers of county 1, county 2 and the city.
    approver_1: String,
    approver_2: String,
    approver_city: String,
    keeper_1: String,
    staff_1: String,
    staff_2: String,
    /// Held by unit 1 / unit 2.
    asset_1: i64,
    asset_2: i64,
}

impl Net {
    async fn new() -> Result<Self> {
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
        let county_1 = id(&s
            .post_ok(
                "/api/v1/regions",
                a,
                region("武鸣区", "county", Some(city)),
                201,
            )
            .await?)?;
        let county_2 = id(&s
            .post_ok(
                "/api/v1/regions",
                a,
                region("横州市", "county", Some(city)),
                201,
            )
            .await?)?;
        let unit_1 = id(&s
            .post_ok(
                "/api/v1/units",
                a,
                json!({"name": "武鸣区教育局", "region_id": county_1}),
                201,
            )
            .await?)?;
        let unit_2 = id(&s
            .post_ok(
                "/api/v1/units",
                a,
                json!({"name": "横州市文旅局", "region_id": county_2}),
                201,
            )
            .await?)?;
        let user = |name: &str, role: &str, unit: Option<i64>, region: Option<i64>| {
            json!({"username": name, "password": PASSWORD, "role": role,
                "unit_id": unit, "region_id": region})
        };
        let mut tokens = Vec::new();
        for body in [
            user("appr_wm", "approver", None, Some(county_1)),
            user("appr_hz", "approver", None, Some(county_2)),
            user("appr_nn", "approver", None, Some(city)),
            user("keeper_wm", "keeper", None, Some(county_1)),
            user("staff_wm", "unit_staff", Some(unit_1), None),
            user("staff_hz", "unit_staff", Some(unit_2), None),
        ] {
            let name = body["username"].as_str().unwrap_or_default().to_owned();
            s.post_ok("/api/v1/users", a, body, 201).await?;
            tokens.push(s.login(&name, PASSWORD).await?);
        }
        let asset = |number: &str, unit: i64| {
            json!({"asset_number": number, "name": format!("投影仪 {number}"),
                "category_id": w.category, "original_value_fen": 480000,
                "purchase_date": "2024-05-01", "holder_unit_id": unit})
        };
        let asset_1 = id(&s
            .post_ok("/api/v1/assets", a, asset("WM-0001", unit_1), 201)
            .await?)?;
        let asset_2 = id(&s
            .post_ok("/api/v1/assets", a, asset("HZ-0001", unit_2), 201)
            .await?)?;
        let mut t = tokens.into_iter();
        let mut next = || t.next().ok_or_else(|| anyhow!("missing token"));
        Ok(Self {
            approver_1: next()?,
            approver_2: next()?,
            approver_city: next()?,
            keeper_1: next()?,
            staff_1: next()?,
            staff_2: next()?,
            w,
            county_1,
            county_2,
            unit_1,
            unit_2,
            asset_1,
            asset_2,
        })
    }

    fn s(&self) -> &Server {
        &self.w.server
    }

    async fn file(&self, token: &str, body: Value) -> Result<i64> {
        id(&self
            .s()
            .post_ok("/api/v1/requests", token, body, 201)
            .await?)
    }

    /// The request as its own region's approver sees it.
    async fn request(&self, token: &str, req: i64) -> Result<Value> {
        self.s()
            .get_ok(&format!("/api/v1/requests/{req}"), token)
            .await
    }

    async fn ids(&self, path: &str, token: &str) -> Result<Vec<i64>> {
        let page = self.s().get_ok(path, token).await?;
        Ok(page["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default())
    }
}

fn purchase(category: i64) -> Value {
    json!({"kind": "purchase", "category_id": category, "quantity": 2,
        "budget_fen": 300000, "reason": "乡镇会议室", "needed_by": "2099-12-31"})
}

#[tokio::test]
async fn a_county_approver_neither_sees_nor_decides_another_countys_request() -> Result<()> {
    let n = Net::new().await?;
    let s = n.s();
    let p2 = n.file(&n.staff_2, purchase(n.w.category)).await?;
    let p1 = n.file(&n.staff_1, purchase(n.w.category)).await?;
    let filed = n.request(&n.approver_2, p2).await?;
    assert_eq!(filed["region_id"], n.county_2, "{filed}");
    assert_eq!(n.request(&n.approver_1, p1).await?["region_id"], n.county_1);

    // County 1's approver: not found, not listed, and a decision is
    // refused with nothing changed.
    let (st, _) = s
        .get(&format!("/api/v1/requests/{p2}"), &n.approver_1)
        .await?;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "{st}"
    );
    assert_eq!(n.ids("/api/v1/requests", &n.approver_1).await?, [p1]);
    let (st, body) = s
        .post(
            &format!("/api/v1/requests/{p2}/steps"),
            &n.approver_1,
            json!({"action": "approve"}),
        )
        .await?;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "{st} {body}"
    );
    let unchanged = n.request(&n.approver_2, p2).await?;
    assert_eq!(unchanged["stage"], "approval");
    assert_eq!(unchanged["steps"], filed["steps"]);

    // Its own approver decides it.
    let (st, body) = s
        .post(
            &format!("/api/v1/requests/{p2}/steps"),
            &n.approver_2,
            json!({"action": "approve"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(n.request(&n.approver_2, p2).await?["stage"], "finance");

    // The city's approver sees both counties' requests and assets; a
    // county's approver only its own county's assets.
    let mut both = n.ids("/api/v1/requests", &n.approver_city).await?;
    both.sort_unstable();
    assert_eq!(both, [p2.min(p1), p2.max(p1)]);
    // The city switches to one county at a time; a county cannot switch
    // to its neighbour.
    assert_eq!(
        n.ids(
            &format!("/api/v1/requests?region={}", n.county_1),
            &n.approver_city
        )
        .await?,
        [p1]
    );
    let (st, _) = s
        .get(
            &format!("/api/v1/requests?region={}", n.county_2),
            &n.approver_1,
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        n.ids(
            &format!("/api/v1/assets?region={}", n.county_2),
            &n.approver_city
        )
        .await?,
        [n.asset_2]
    );
    let (st, _) = s
        .get(
            &format!("/api/v1/assets?region={}", n.county_2),
            &n.approver_1,
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The pages show each row's region and offer the regions in reach.
    let (c, base) = (client()?, s.base.clone());
    let (_, html, _) = page(&c, &base, "/requests", &n.approver_city, "").await?;
    for words in ["武鸣区", "横州市", "data-test=\"region-switch\""] {
        assert!(html.contains(words), "{words} on the city's request list");
    }
    let (_, html, _) = page(
        &c,
        &base,
        &format!("/assets?region={}", n.county_1),
        &n.approver_city,
        "",
    )
    .await?;
    assert!(html.contains("WM-0001") && !html.contains("HZ-0001"));
    let (_, html, _) = page(&c, &base, "/requests", &n.approver_1, "").await?;
    assert!(
        !html.contains("data-test=\"region-switch\""),
        "one region in reach: nothing to switch"
    );
    let (st, body) = s
        .post(
            &format!("/api/v1/requests/{p1}/steps"),
            &n.approver_city,
            json!({"action": "approve"}),
        )
        .await?;
    assert_eq!(
        st,
        StatusCode::OK,
        "the city decides for its county: {body}"
    );
    let seen = n.ids("/api/v1/assets", &n.approver_city).await?;
    assert!(
        seen.contains(&n.asset_1) && seen.contains(&n.asset_2),
        "{seen:?}"
    );
    let seen = n.ids("/api/v1/assets", &n.approver_1).await?;
    assert!(
        seen.contains(&n.asset_1) && !seen.contains(&n.asset_2),
        "{seen:?}"
    );
    let (st, _) = s
        .get(&format!("/api/v1/assets/{}", n.asset_2), &n.approver_1)
        .await?;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "{st}"
    );
    // The county's keeper files for the county's stock only: a unit of
    // the other county is outside its reach.
    let (st, body) = s
        .post(
            "/api/v1/requests",
            &n.keeper_1,
            json!({"kind": "damage", "asset_ids": [n.asset_2], "reason": "摔坏"}),
        )
        .await?;
    assert!(
        st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND,
        "{st} {body}"
    );
    let (st, body) = s
        .post(
            "/api/v1/requests",
            &n.keeper_1,
            json!({"kind": "damage", "asset_ids": [n.asset_1], "reason": "摔坏"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, body) = s.get("/api/v1/events/verify", &n.w.admin).await?;
    assert_eq!((st, &body["ok"]), (StatusCode::OK, &json!(true)), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_transfer_across_counties_needs_both_approvals_and_keeps_tag_and_history() -> Result<()> {
    let n = Net::new().await?;
    let s = n.s();
    let epc = n.w.tag(n.asset_1).await?;
    // County 2 offers its own item first; county 1's offer is newer.
    s.post_ok(
        &format!("/api/v1/assets/{}/idle-listing", n.asset_2),
        &n.staff_2,
        json!({"notes": "备用"}),
        200,
    )
    .await?;
    s.post_ok(
        &format!("/api/v1/assets/{}/idle-listing", n.asset_1),
        &n.staff_1,
        json!({"notes": "项目结束，闲置投影仪"}),
        200,
    )
    .await?;
    // Re-use looks near first: county 2's approver sees its own county's
    // offer before the neighbouring county's, each marked how near.
    let vw = s.get_ok("/api/v1/virtual-warehouse", &n.approver_2).await?;
    let order: Vec<(Option<i64>, Option<i64>, Option<&str>)> = vw["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|l| {
                    (
                        l["asset_id"].as_i64(),
                        l["nearness"].as_i64(),
                        l["region_name"].as_str(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        order,
        [
            (Some(n.asset_2), Some(0), Some("横州市")),
            (Some(n.asset_1), Some(1), Some("武鸣区"))
        ]
    );
    // A purchase in county 2 is shown county 1's idle projector first…
    let p = n.file(&n.staff_2, purchase(n.w.category)).await?;
    let matches = |token: String| async move {
        s.get_ok(&format!("/api/v1/requests/{p}/matches"), &token)
            .await
    };
    let m = matches(n.approver_2.clone()).await?;
    assert_eq!(m["listed_idle"], json!([n.asset_1]), "{m}");
    // …unless the agencies keep re-use within each region.
    let (c, base) = (client()?, s.base.clone());
    let set = |reach: &'static str| {
        let (c, base, admin) = (c.clone(), base.clone(), n.w.admin.clone());
        async move {
            post_form(
                &c,
                &base,
                "/admin/settings",
                &admin,
                &[
                    ("org_name", "广西壮族自治区机关事务管理局"),
                    ("reuse_reach", reach),
                ],
            )
            .await
        }
    };
    let (st, _, _) = set("region").await?;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let m = matches(n.approver_2.clone()).await?;
    assert_eq!(m["listed_idle"], json!([]), "{m}");
    let vw = s.get_ok("/api/v1/virtual-warehouse", &n.approver_2).await?;
    assert_eq!(vw["total"], 1, "{vw}");
    let (st, _, _) = set("everywhere").await?;
    assert_ne!(st, StatusCode::SEE_OTHER, "an unknown reach is refused");
    set("network").await?;
    let vw = s.get_ok("/api/v1/virtual-warehouse", &n.approver_2).await?;
    assert_eq!(vw["total"], 2, "{vw}");
    let history_before = s
        .get_ok(&format!("/api/v1/assets/{}", n.asset_1), &n.approver_1)
        .await?;
    // County 2's unit asks for county 1's idle projector.
    let t = n
        .file(
            &n.staff_2,
            json!({"kind": "transfer", "asset_ids": [n.asset_1], "reason": "文旅活动用"}),
        )
        .await?;
    let r = n.request(&n.approver_2, t).await?;
    assert_eq!(
        (r["region_id"].as_i64(), r["other_unit_id"].as_i64()),
        (Some(n.county_2), Some(n.unit_1))
    );
    // The giving county sees it too, and approves first: the asset stays.
    assert_eq!(n.request(&n.approver_1, t).await?["id"], t);
    let step = |token: &str| {
        let token = token.to_owned();
        async move {
            s.post(
                &format!("/api/v1/requests/{t}/steps"),
                &token,
                json!({"action": "approve"}),
            )
            .await
        }
    };
    let (st, body) = step(&n.approver_1).await?;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["request"]["stage"], "approval", "{body}");
    let a = s
        .get_ok(&format!("/api/v1/assets/{}", n.asset_1), &n.approver_1)
        .await?;
    assert_eq!(
        a["asset"]["holder_unit_id"], n.unit_1,
        "one side's approval moves nothing"
    );
    // The same side again is refused, naming the side.
    let (st, body) = step(&n.approver_1).await?;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "side_approved", "{body}");
    // The receiving county approves: the asset moves with its tag.
    let (st, body) = step(&n.approver_2).await?;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["request"]["stage"], "completed", "{body}");
    let sides: Vec<Value> = body["request"]["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s["action"] == "approve")
                .map(|s| s["details"]["sides"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(sides, [json!(["giving"]), json!(["receiving"])]);

    // Now on county 2's register: its approver sees it, county 1's does
    // not; the tag is the same and resolves; the history came along.
    let moved = s
        .get_ok(&format!("/api/v1/assets/{}", n.asset_1), &n.approver_2)
        .await?;
    let m = &moved["asset"];
    assert_eq!(
        (
            m["holder_unit_id"].as_i64(),
            m["region_id"].as_i64(),
            m["epc"].as_str()
        ),
        (Some(n.unit_2), Some(n.county_2), Some(epc.as_str()))
    );
    assert_eq!(m["asset_number"], history_before["asset"]["asset_number"]);
    let (st, _) = s
        .get(&format!("/api/v1/assets/{}", n.asset_1), &n.approver_1)
        .await?;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "{st}"
    );
    let by_epc = s
        .get_ok(&format!("/api/v1/assets?epc={epc}"), &n.approver_2)
        .await?;
    assert_eq!(by_epc["items"][0]["id"], n.asset_1, "{by_epc}");
    // The whole history: everything recorded before the move is still
    // there, in order, followed by the transfer.
    let actions = |v: &Value| -> Vec<String> {
        v["timeline"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (actions(&history_before), actions(&moved));
    assert!(
        after.starts_with(&before) && after.last().map(String::as_str) == Some("transfer"),
        "{before:?} then {after:?}"
    );
    assert!(before.len() >= 3, "created, tagged, listed: {before:?}");
    let (st, body) = s.get("/api/v1/events/verify", &n.w.admin).await?;
    assert_eq!((st, &body["ok"]), (StatusCode::OK, &json!(true)), "{body}");
    Ok(())
}

#[tokio::test]
async fn the_admin_page_builds_the_region_tree_and_places_units_in_it() -> Result<()> {
    let w = World::new().await?;
    let (c, base) = (client()?, w.server.base.clone());
    let (st, to, _) = post_form(
        &c,
        &base,
        "/admin/regions",
        &w.admin,
        &[("name", "广西壮族自治区"), ("level", "province")],
    )
    .await?;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/admin"));
    let gx = w.server.get_ok("/api/v1/regions", &w.admin).await?["items"][0]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no region"))?;
    let gx_text = gx.to_string();
    post_form(
        &c,
        &base,
        "/admin/regions",
        &w.admin,
        &[
            ("name", "柳州市"),
            ("level", "city"),
            ("parent_id", &gx_text),
        ],
    )
    .await?;
    // A county straight under the province is refused in Chinese, and
    // nothing is stored.
    let (st, _, _) = post_form(
        &c,
        &base,
        "/admin/regions",
        &w.admin,
        &[
            ("name", "某县"),
            ("level", "county"),
            ("parent_id", &gx_text),
        ],
    )
    .await?;
    assert_ne!(st, StatusCode::SEE_OTHER);
    let regions = w.server.get_ok("/api/v1/regions", &w.admin).await?;
    assert_eq!(regions["total"], 2, "{regions}");
    let lz = regions["items"][1]["id"]
        .as_i64()
        .unwrap_or_default()
        .to_string();
    post_form(
        &c,
        &base,
        "/admin/units",
        &w.admin,
        &[("name", "柳州市财政局"), ("region_id", &lz)],
    )
    .await?;
    let (st, html, _) = page(&c, &base, "/admin", &w.admin, "").await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("广西壮族自治区机关事务管理局"),
        "the page lists the regions with their agencies"
    );
    let unit_line = html
        .split("柳州市财政局")
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .unwrap_or_default();
    assert!(
        unit_line.contains("柳州市"),
        "the unit's region: {unit_line}"
    );
    let units = w.server.get_ok("/api/v1/units", &w.admin).await?;
    let placed: Vec<(Option<&str>, Option<i64>)> = units["items"]
        .as_array()
        .map(|u| {
            u.iter()
                .map(|u| (u["name"].as_str(), u["region_id"].as_i64()))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        placed.contains(&(Some("柳州市财政局"), Some(lz.parse()?))),
        "{placed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_tag_of_one_county_read_at_another_countys_gate_resolves() -> Result<()> {
    let n = Net::new().await?;
    let s = n.s();
    let a = &n.w.admin;
    let wh = id(&s
        .post_ok(
            "/api/v1/warehouses",
            a,
            json!({"name": "横州市公物仓", "region_id": n.county_2}),
            201,
        )
        .await?)?;
    let door = id(&s
        .post_ok(
            &format!("/api/v1/warehouses/{wh}/locations"),
            a,
            json!({"code": "GATE", "name": "大门"}),
            201,
        )
        .await?)?;
    let (gate, token) = s.add_reader(a, "gate-hz", "gate", Some(door)).await?;
    let epc = n.w.tag(n.asset_1).await?;
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &token,
            batch("gate-hz", 1, vec![obs(&epc, "gate-hz", "added")]),
            200,
        )
        .await?;
    assert_eq!(
        ack["alarms_raised"], 0,
        "allocated to its unit: it may pass"
    );
    // County 1's projector, read at county 2's gate, is county 1's asset.
    let seen = s
        .get_ok(&format!("/api/v1/assets/{}", n.asset_1), &n.approver_1)
        .await?;
    assert_eq!(
        (
            seen["asset"]["last_seen_reader_id"].as_i64(),
            seen["asset"]["region_id"].as_i64()
        ),
        (Some(gate), Some(n.county_1)),
        "{seen}"
    );
    let found = s
        .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &n.approver_city)
        .await?;
    assert_eq!(found["id"], n.asset_1, "{found}");

    // A stock-take of county 2's warehouse that reads it names it as
    // county 1's (misplaced, in another region); its own stock is not.
    let (hand, hand_token) = s.add_reader(a, "hand-hz", "handheld", Some(door)).await?;
    let own = id(&s
        .post_ok(
            "/api/v1/assets",
            a,
            json!({"asset_number": "HZ-0002", "name": "折叠椅", "category_id": n.w.category,
                "original_value_fen": 12000, "holder_location_id": door}),
            201,
        )
        .await?)?;
    let own_epc = n.w.tag(own).await?;
    // County 1's keeper does not count county 2's warehouse.
    let (st, _) = s
        .post(
            "/api/v1/stocktakes",
            &n.keeper_1,
            json!({"warehouse_id": wh, "reader_ids": [hand]}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (c, base) = (client()?, s.base.clone());
    let (_, html, _) = page(&c, &base, "/stocktakes", &n.keeper_1, "").await?;
    assert!(
        !html.contains("横州市公物仓"),
        "not offered to county 1's keeper"
    );
    let (_, html, _) = page(&c, &base, "/stocktakes", &n.w.keeper, "").await?;
    assert!(
        html.contains("横州市公物仓 · 横州市"),
        "offered with its region"
    );
    let take = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &n.w.keeper,
            json!({"warehouse_id": wh, "reader_ids": [hand]}),
            201,
        )
        .await?)?;
    s.post_ok(
        "/api/v1/readers/observations",
        &hand_token,
        batch(
            "hand-hz",
            1,
            vec![
                obs(&epc, "hand-hz", "added"),
                obs(&own_epc, "hand-hz", "added"),
            ],
        ),
        200,
    )
    .await?;
    let st = s
        .get_ok(&format!("/api/v1/stocktakes/{take}"), &n.w.keeper)
        .await?;
    let lines: Vec<(Option<&str>, Option<&str>, Option<bool>)> = st["lines"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|l| {
                    (
                        l["asset_number"].as_str(),
                        l["outcome"].as_str(),
                        l["other_region"].as_bool(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        lines.contains(&(Some("WM-0001"), Some("misplaced"), Some(true)))
            && lines.contains(&(Some("HZ-0002"), Some("found"), Some(false))),
        "{lines:?}"
    );
    let (_, html, _) = page(&c, &base, &format!("/stocktakes/{take}"), &n.w.keeper, "").await?;
    assert!(html.contains("属其他地区"), "the stock-take page marks it");

    // County 2's stock walking out of county 2's gate alarms county 2's
    // keepers, not county 1's.
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &token,
            batch("gate-hz", 2, vec![obs(&own_epc, "gate-hz", "added")]),
            200,
        )
        .await?;
    assert_eq!(ack["alarms_raised"], 1, "{ack}");
    let theirs = s.get_ok("/api/v1/alarms?status=open", &n.w.keeper).await?;
    assert_eq!(theirs["total"], 1, "{theirs}");
    assert_eq!(
        (
            &theirs["items"][0]["region_id"],
            &theirs["items"][0]["other_region"]
        ),
        (&json!(n.county_2), &json!(false)),
        "{theirs}"
    );
    let mine = s.get_ok("/api/v1/alarms?status=open", &n.keeper_1).await?;
    assert_eq!(mine["total"], 0, "{mine}");
    let alarm = id(&theirs["items"][0])?;
    let (st, _) = s
        .post(
            &format!("/api/v1/alarms/{alarm}/acknowledge"),
            &n.keeper_1,
            json!({"comment": "不是本县的门"}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Another register's stock at this gate is marked as such.
    let stray = n.w.tag(n.w.asset_wh).await?;
    s.post_ok(
        "/api/v1/readers/observations",
        &token,
        batch("gate-hz", 3, vec![obs(&stray, "gate-hz", "added")]),
        200,
    )
    .await?;
    let all = s.get_ok("/api/v1/alarms?status=open", &n.w.keeper).await?;
    assert_eq!(all["items"][0]["asset_id"], n.w.asset_wh, "{all}");
    assert_eq!(all["items"][0]["other_region"], true, "{all}");
    let (_, html, _) = page(&c, &base, "/alarms", &n.w.keeper, "").await?;
    assert!(
        html.contains("data-test=\"alarm-region\">横州市") && html.contains("属其他地区"),
        "the alarm list names the gate's region and marks the stray"
    );

    // Disposing of county 2's stock is county 2's request, whoever files.
    let d = s
        .post_ok(
            "/api/v1/requests",
            &n.w.keeper,
            json!({"kind": "disposal", "asset_ids": [own], "disposal_method": "scrap",
                "reason": "损坏无法修复"}),
            201,
        )
        .await?;
    assert_eq!(d["region_id"], n.county_2, "{d}");
    Ok(())
}

#[tokio::test]
async fn a_loan_of_another_countys_stock_needs_both_approvals_and_its_keeper() -> Result<()> {
    let n = Net::new().await?;
    let s = n.s();
    let a = &n.w.admin;
    // County 1's warehouse lends a sound system to a unit of county 2.
    let wh = id(&s
        .post_ok(
            "/api/v1/warehouses",
            a,
            json!({"name": "武鸣区公物仓", "region_id": n.county_1}),
            201,
        )
        .await?)?;
    let shelf = id(&s
        .post_ok(
            &format!("/api/v1/warehouses/{wh}/locations"),
            a,
            json!({"code": "B01", "name": "音响架"}),
            201,
        )
        .await?)?;
    let kit = id(&s
        .post_ok(
            "/api/v1/assets",
            a,
            json!({"asset_number": "WM-0100", "name": "音响套装", "category_id": n.w.category,
                "original_value_fen": 860000, "holder_location_id": shelf}),
            201,
        )
        .await?)?;
    let epc = n.w.tag(kit).await?;
    let loan = n
        .file(
            &n.staff_2,
            json!({"kind": "loan", "asset_ids": [kit], "reason": "文艺汇演",
                "loan_start": "2099-03-01", "loan_due": "2099-03-03"}),
        )
        .await?;
    let step = |token: &str, body: Value| {
        let token = token.to_owned();
        async move {
            s.post(&format!("/api/v1/requests/{loan}/steps"), &token, body)
                .await
        }
    };
    let approve = || json!({"action": "approve"});
    // The borrowing county approves; the lending county has not yet.
    let (st, body) = step(&n.approver_2, approve()).await?;
    assert_eq!(
        (st, &body["request"]["stage"]),
        (StatusCode::OK, &json!("approval")),
        "{body}"
    );
    // The lending county's keeper cannot hand it out before that.
    let (st, _) = step(&n.keeper_1, json!({"action": "check_out", "epcs": [epc]})).await?;
    assert_eq!(st, StatusCode::CONFLICT, "not approved by both yet");
    let (st, body) = step(&n.approver_1, approve()).await?;
    assert_eq!(
        (st, &body["request"]["stage"]),
        (StatusCode::OK, &json!("checkout")),
        "{body}"
    );
    // County 1's keeper sees it in its list and hands it out at its desk.
    let listed = n.ids("/api/v1/requests", &n.keeper_1).await?;
    assert!(listed.contains(&loan), "{listed:?}");
    let (st, body) = step(&n.keeper_1, json!({"action": "check_out", "epcs": [epc]})).await?;
    assert_eq!(
        (st, &body["request"]["stage"]),
        (StatusCode::OK, &json!("receipt")),
        "{body}"
    );
    let (st, _) = step(&n.staff_2, json!({"action": "confirm_receipt"})).await?;
    assert_eq!(st, StatusCode::OK);
    // And takes it back when the event is over.
    let (st, body) = step(
        &n.keeper_1,
        json!({"action": "return_items", "items": [{"epc": epc, "condition": "good"}]}),
    )
    .await?;
    assert_eq!(
        (st, &body["request"]["stage"]),
        (StatusCode::OK, &json!("completed")),
        "{body}"
    );
    let back = s
        .get_ok(&format!("/api/v1/assets/{kit}"), &n.approver_1)
        .await?;
    assert_eq!(
        (
            back["asset"]["state"].as_str(),
            back["asset"]["region_id"].as_i64()
        ),
        (Some("in_stock"), Some(n.county_1))
    );
    Ok(())
}
