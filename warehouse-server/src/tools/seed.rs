//! `admin seed --assets N`: realistic generated data for demos and
//! benchmarks — a province/city/county tree of units, warehouses with
//! locations, categories, procurement batches and N tagged assets.
//! `admin seed --network`: the demo network of regions (三级联网), each
//! with its agency's warehouse, units, staff and assets.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::commission::{giai_for, COMPANY_PREFIX_KEY};
use crate::error::AppResult;
use serde::Serialize;

use crate::policy::{Ctx, Role};
use crate::register::*;
use crate::store::{BulkAsset, Store};

pub(super) const CATEGORIES: &[(&str, &str, i64)] = &[
    ("0101", "办公桌 office desk", 150_000),
    ("0102", "办公椅 office chair", 48_000),
    ("0103", "文件柜 filing cabinet", 120_000),
    ("0201", "笔记本电脑 laptop", 650_000),
    ("0202", "投影仪 projector", 420_000),
    ("0301", "会议桌 conference table", 380_000),
    ("0401", "帐篷 event tent", 260_000),
    ("0402", "音响 PA system", 990_000),
];

pub(super) const FUNDING: &[&str] = &["财政拨款 budget", "专项资金 special fund", "捐赠 donation"];

/// What was created.
#[derive(Debug, Clone, Copy)]
pub struct SeedReport {
    pub assets_added: u64,
    pub assets_total: u64,
    pub elapsed: Duration,
}

/// Reference data the assets point at (created on the first seed).
struct Reference {
    units: Vec<i64>,
    locations: Vec<i64>,
    categories: Vec<(i64, i64)>,
    batches: Vec<i64>,
}

async fn reference(store: &Store, n: u64) -> AppResult<Reference> {
    let existing = store.list_categories(1, 500).await?;
    if existing.total > 0 {
        let units = store.list_units(1, 500).await?.items;
        let mut locations = Vec::new();
        for w in store.list_warehouses(1, 500).await?.items {
            locations.extend(
                store
                    .list_locations(w.id, 1, 500)
                    .await?
                    .items
                    .iter()
                    .map(|l| l.id),
            );
        }
        let batches = store.list_batches(1, 500).await?.items;
        return Ok(Reference {
            units: units
                .iter()
                .filter(|u| u.level == UnitLevel::Unit)
                .map(|u| u.id)
                .collect(),
            locations,
            categories: existing.items.iter().map(|c| (c.id, 100_000)).collect(),
            batches: batches.iter().map(|b| b.id).collect(),
        });
    }
    let province = store
        .create_unit(NewUnit {
            region_id: None,
            name: "省机关事务管理局 Province".into(),
            parent_id: None,
            level: Some(UnitLevel::Province),
        })
        .await?;
    let mut units = Vec::new();
    for c in 1..=3 {
        let city = store
            .create_unit(NewUnit {
                region_id: None,
                name: format!("市{c} City {c}"),
                parent_id: Some(province.id),
                level: Some(UnitLevel::City),
            })
            .await?;
        for k in 1..=3 {
            let county = store
                .create_unit(NewUnit {
                    region_id: None,
                    name: format!("市{c}县{k} County {c}-{k}"),
                    parent_id: Some(city.id),
                    level: Some(UnitLevel::County),
                })
                .await?;
            for u in 1..=4 {
                let unit = store
                    .create_unit(NewUnit {
                        region_id: None,
                        name: format!("单位 Unit {c}-{k}-{u}"),
                        parent_id: Some(county.id),
                        level: Some(UnitLevel::Unit),
                    })
                    .await?;
                units.push(unit.id);
            }
        }
    }
    let mut locations = Vec::new();
    for w in 1..=(n / 200_000).max(1) {
        let wh = store
            .create_warehouse(NewWarehouse {
                sgln: None,
                region_id: None,
                name: format!("公物仓 Warehouse {w}"),
                address: None,
            })
            .await?;
        for l in 1..=20 {
            let loc = store
                .create_location(
                    wh.id,
                    NewLocation {
                        sgln: None,
                        code: format!("A{l:02}"),
                        name: format!("货架 Shelf A{l:02}"),
                    },
                )
                .await?;
            locations.push(loc.id);
        }
    }
    let mut categories = Vec::new();
    for (code, name, value) in CATEGORIES {
        let c = store
            .create_category(NewCategory {
                code: (*code).into(),
                name: (*name).into(),
                parent_id: None,
            })
            .await?;
        categories.push((c.id, *value));
    }
    let mut batches = Vec::new();
    for b in 1..=3 {
        let batch = store
            .create_batch(NewBatch {
                code: format!("2024-B{b}"),
                supplier: Some(format!("供应商 Supplier {b}")),
                purchased_on: Some(format!("2024-0{b}-15")),
                total_fen: None,
                notes: Some("统一采购 unified purchase".into()),
            })
            .await?;
        batches.push(batch.id);
    }
    Ok(Reference {
        units,
        locations,
        categories,
        batches,
    })
}

/// Adds `n` assets (numbers continue after the highest numeric one).
pub async fn seed(store: &Store, n: u64, show_progress: bool) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let refs = reference(store, n).await?;
    anyhow::ensure!(
        !refs.units.is_empty() && !refs.locations.is_empty(),
        "the database has categories but no units or warehouse locations to seed into"
    );
    let prefix = store.get_setting(COMPANY_PREFIX_KEY).await?;
    let bar = if show_progress {
        ProgressBar::new(n)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} seeding [{bar:40}] {pos}/{len} assets ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let store2 = store.clone();
    let bar2 = bar.clone();
    let total = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let (_, mut next) = store2.asset_count_blocking()?;
        next = next.max(10_000_000);
        let mut rng = StdRng::seed_from_u64(next as u64);
        let ctx = Ctx::system("seed");
        let mut left = n;
        let mut total = 0;
        while left > 0 {
            let chunk = left.min(20_000);
            let mut assets = Vec::with_capacity(chunk as usize);
            for _ in 0..chunk {
                next += 1;
                let number = next.to_string();
                let (category_id, value) = refs.categories[rng.gen_range(0..refs.categories.len())];
                let in_warehouse = rng.gen_bool(0.7);
                let epc = match &prefix {
                    Some(p) => giai_for(p, &number)?.bytes().to_vec(),
                    None => {
                        let mut b = vec![0u8; 12];
                        rng.fill(&mut b[..]);
                        b
                    }
                };
                assets.push(BulkAsset {
                    asset: NewAsset {
                        asset_number: number,
                        name: CATEGORIES[(category_id as usize - 1) % CATEGORIES.len()]
                            .1
                            .into(),
                        category_id,
                        model: Some(format!("M-{}", rng.gen_range(100..999))),
                        original_value_fen: value + rng.gen_range(-value / 5..=value / 5),
                        purchase_date: Some(format!(
                            "202{}-{:02}-{:02}",
                            rng.gen_range(0..5),
                            rng.gen_range(1..13),
                            rng.gen_range(1..29)
                        )),
                        funding_source: Some(FUNDING[rng.gen_range(0..FUNDING.len())].into()),
                        batch_id: refs
                            .batches
                            .get(rng.gen_range(0..refs.batches.len().max(1)))
                            .copied(),
                        holder_location_id: in_warehouse
                            .then(|| refs.locations[rng.gen_range(0..refs.locations.len())]),
                        holder_unit_id: (!in_warehouse)
                            .then(|| refs.units[rng.gen_range(0..refs.units.len())]),
                        custodian: None,
                        condition: Some(Condition::Good),
                        notes: None,
                    },
                    epc: Some(epc),
                });
            }
            total = store2.register_bulk_blocking(&ctx, assets)? as u64;
            left -= chunk;
            bar2.inc(chunk);
        }
        Ok(total)
    })
    .await??;
    bar.finish_and_clear();
    Ok(SeedReport {
        assets_added: n,
        assets_total: total,
        elapsed: started.elapsed(),
    })
}

/// The demo network (`admin seed --network`): 广西壮族自治区, three cities
/// and three counties under each, as (name, login code, counties).
const NETWORK: (&str, &str) = ("广西壮族自治区", "gx");
/// A region's name and the code its logins start with.
type Named = (&'static str, &'static str);
const CITIES: &[(&str, &str, [Named; 3])] = &[
    (
        "南宁市",
        "nanning",
        [
            ("武鸣区", "wuming"),
            ("宾阳县", "binyang"),
            ("上林县", "shanglin"),
        ],
    ),
    (
        "柳州市",
        "liuzhou",
        [
            ("柳江区", "liujiang"),
            ("柳城县", "liucheng"),
            ("鹿寨县", "luzhai"),
        ],
    ),
    (
        "桂林市",
        "guilin",
        [
            ("临桂区", "lingui"),
            ("阳朔县", "yangshuo"),
            ("灵川县", "lingchuan"),
        ],
    ),
];

/// Each region's units, by level (the region's name goes before them).
const PROVINCE_UNITS: &[&str] = &["自治区财政厅", "自治区教育厅", "自治区卫生健康委员会"];
const CITY_UNITS: &[&str] = &["教育局", "卫生健康委员会", "文化广电和旅游局"];
const COUNTY_UNITS: &[&str] = &["人民政府办公室", "教育局", "农业农村局"];

const SURNAMES: &[char] = &[
    '张', '王', '李', '赵', '刘', '陈', '杨', '黄', '周', '吴', '韦', '覃', '蒙', '莫', '梁',
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀英", "丽华", "建国", "海燕",
];

/// Assets placed in each region by the network seed.
pub const NETWORK_ASSETS_PER_REGION: u64 = 40;

/// One login the network seed made.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region: String,
    pub unit: Option<String>,
}

/// What `seed --network` made.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkReport {
    pub regions: usize,
    pub warehouses: usize,
    pub units: usize,
    pub assets: u64,
    pub logins: Vec<Login>,
}

/// One region of the demo network being built.
struct Place {
    region: Region,
    code: String,
    unit_names: Vec<String>,
}

/// Builds the demo network: 1 province, 3 cities, 9 counties, each with
/// its agency, a warehouse with four locations, three units, an
/// approver, a finance officer and a keeper placed in the region, one
/// staff login per unit, and [`NETWORK_ASSETS_PER_REGION`] tagged assets
/// (most in the warehouse, some with the units). Every login gets
/// `password_hash`. Refuses a second run (the province exists) before
/// changing anything.
pub async fn seed_network(store: &Store, password_hash: &str) -> anyhow::Result<NetworkReport> {
    let existing = store.all_regions().await?;
    if let Some(r) = existing
        .iter()
        .find(|r| r.parent_id.is_none() && r.name == NETWORK.0)
    {
        anyhow::bail!(
            "the demo network is already seeded ({} is region {}); a second run would duplicate \
             its people and assets — start from a new database to seed it again",
            r.name,
            r.id
        );
    }
    let new_region = |name: &str, level: RegionLevel, parent: Option<i64>| NewRegion {
        name: name.to_owned(),
        level,
        parent_id: parent,
        agency: Some(format!("{name}机关事务管理局")),
    };
    let province = store
        .create_region(new_region(NETWORK.0, RegionLevel::Province, None))
        .await?;
    let mut places = vec![Place {
        region: province.clone(),
        code: NETWORK.1.into(),
        unit_names: PROVINCE_UNITS.iter().map(|u| (*u).to_owned()).collect(),
    }];
    for (city, code, counties) in CITIES {
        let c = store
            .create_region(new_region(city, RegionLevel::City, Some(province.id)))
            .await?;
        places.push(Place {
            unit_names: CITY_UNITS.iter().map(|u| format!("{city}{u}")).collect(),
            region: c.clone(),
            code: (*code).into(),
        });
        for (county, code) in counties {
            let k = store
                .create_region(new_region(county, RegionLevel::County, Some(c.id)))
                .await?;
            places.push(Place {
                unit_names: COUNTY_UNITS
                    .iter()
                    .map(|u| format!("{city}{county}{u}"))
                    .collect(),
                region: k,
                code: (*code).into(),
            });
        }
    }
    let categories = network_categories(store).await?;
    let prefix = store.get_setting(COMPANY_PREFIX_KEY).await?;
    let mut rng = StdRng::seed_from_u64(15);
    let mut person = 0usize;
    let mut name = || {
        person += 1;
        format!(
            "{}{}",
            SURNAMES[person % SURNAMES.len()],
            GIVEN[(person * 7) % GIVEN.len()]
        )
    };
    let mut logins = Vec::new();
    let mut units = 0;
    let mut assets = Vec::new();
    let (_, mut next) = store.asset_count_blocking()?;
    next = next.max(10_000_000);
    for p in &places {
        let r = &p.region;
        let wh = store
            .create_warehouse(NewWarehouse {
                sgln: None,
                name: format!("{}公物仓", r.name),
                address: Some(format!("{}行政中心", r.name)),
                region_id: Some(r.id),
            })
            .await?;
        let mut locations = Vec::new();
        for (i, shelf) in ["一号库房", "二号库房", "三号库房", "会议设备区"]
            .iter()
            .enumerate()
        {
            let l = store
                .create_location(
                    wh.id,
                    NewLocation {
                        sgln: None,
                        code: format!("A{:02}", i + 1),
                        name: (*shelf).into(),
                    },
                )
                .await?;
            locations.push(l.id);
        }
        for (role, word) in [
            (Role::Approver, "approver"),
            (Role::Finance, "finance"),
            (Role::Keeper, "keeper"),
        ] {
            let display = name();
            let username = format!("{}-{word}", p.code);
            store
                .create_user(
                    username.clone(),
                    display.clone(),
                    password_hash.to_owned(),
                    role,
                    None,
                    Some(r.id),
                )
                .await?;
            logins.push(Login {
                username,
                display_name: display,
                role,
                region: r.name.clone(),
                unit: None,
            });
        }
        let mut unit_ids = Vec::new();
        for (i, unit_name) in p.unit_names.iter().enumerate() {
            let u = store
                .create_unit(NewUnit {
                    name: unit_name.clone(),
                    parent_id: None,
                    level: Some(UnitLevel::Unit),
                    region_id: Some(r.id),
                })
                .await?;
            units += 1;
            unit_ids.push(u.id);
            let display = name();
            let username = format!("{}-unit{}", p.code, i + 1);
            store
                .create_user(
                    username.clone(),
                    display.clone(),
                    password_hash.to_owned(),
                    Role::UnitStaff,
                    Some(u.id),
                    Some(r.id),
                )
                .await?;
            logins.push(Login {
                username,
                display_name: display,
                role: Role::UnitStaff,
                region: r.name.clone(),
                unit: Some(unit_name.clone()),
            });
        }
        for _ in 0..NETWORK_ASSETS_PER_REGION {
            next += 1;
            let number = next.to_string();
            let (category_id, cat_name, value) =
                categories[rng.gen_range(0..categories.len())].clone();
            let in_warehouse = rng.gen_bool(0.6);
            let epc = match &prefix {
                Some(p) => giai_for(p, &number)?.bytes().to_vec(),
                None => {
                    let mut b = vec![0u8; 12];
                    rng.fill(&mut b[..]);
                    b
                }
            };
            assets.push(BulkAsset {
                asset: NewAsset {
                    asset_number: number,
                    name: cat_name,
                    category_id,
                    model: Some(format!("M-{}", rng.gen_range(100..999))),
                    original_value_fen: value + rng.gen_range(-value / 5..=value / 5),
                    purchase_date: Some(format!(
                        "202{}-{:02}-{:02}",
                        rng.gen_range(0..5),
                        rng.gen_range(1..13),
                        rng.gen_range(1..29)
                    )),
                    funding_source: Some(
                        FUNDING[rng.gen_range(0..FUNDING.len())]
                            .split(' ')
                            .next()
                            .unwrap_or("财政拨款")
                            .into(),
                    ),
                    batch_id: None,
                    holder_location_id: in_warehouse
                        .then(|| locations[rng.gen_range(0..locations.len())]),
                    holder_unit_id: (!in_warehouse)
                        .then(|| unit_ids[rng.gen_range(0..unit_ids.len())]),
                    custodian: None,
                    condition: Some(Condition::Good),
                    notes: None,
                },
                epc: Some(epc),
            });
        }
    }
    let n = assets.len() as u64;
    let store2 = store.clone();
    tokio::task::spawn_blocking(move || {
        store2.register_bulk_blocking(&Ctx::system("seed-network"), assets)
    })
    .await??;
    Ok(NetworkReport {
        regions: places.len(),
        warehouses: places.len(),
        units,
        assets: n,
        logins,
    })
}

/// The categories the network's assets take: the register's own when it
/// has the seed's codes, else made here. (id, Chinese name, typical value).
async fn network_categories(store: &Store) -> AppResult<Vec<(i64, String, i64)>> {
    let existing = store.list_categories(1, 500).await?.items;
    let mut out = Vec::new();
    for (code, name, value) in CATEGORIES {
        let zh = name.split(' ').next().unwrap_or(name).to_owned();
        let id = match existing.iter().find(|c| c.code == *code) {
            Some(c) => c.id,
            None => {
                store
                    .create_category(NewCategory {
                        code: (*code).into(),
                        name: zh.clone(),
                        parent_id: None,
                    })
                    .await?
                    .id
            }
        };
        out.push((id, zh, *value));
    }
    Ok(out)
}
