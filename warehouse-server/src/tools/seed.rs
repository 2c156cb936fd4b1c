//! `admin seed --assets N`: realistic generated data for demos and
//! benchmarks — a province/city/county tree of units, warehouses with
//! locations, categories, procurement batches and N tagged assets.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::commission::{giai_for, COMPANY_PREFIX_KEY};
use crate::error::AppResult;
use crate::policy::Ctx;
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
