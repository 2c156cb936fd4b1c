//! Where every seeded asset is, as a pure function of its index: the
//! seeder writes these rows and the load driver finds the same assets
//! (their EPCs, warehouses, ids) again without reading 10 M rows back.

use serde::{Deserialize, Serialize};
use shared::tag::EpcBytes;

use crate::commission::giai_for;
use crate::register::AssetState;
use crate::tools::seed::{CATEGORIES, FUNDING};

/// The reference rows the assets point at, and how many assets there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Asset id of index 0; index k has id `first_id + k`.
    pub first_id: i64,
    pub assets: u64,
    /// Each warehouse's id and its locations' ids.
    pub warehouses: Vec<(i64, Vec<i64>)>,
    /// Units that hold the assets not in a warehouse.
    pub units: Vec<i64>,
    /// Category ids, in the order of `seed::CATEGORIES`.
    pub categories: Vec<i64>,
    pub batches: Vec<i64>,
    /// GS1 company prefix of the GIAI-96 EPCs.
    pub prefix: String,
}

/// One asset's row, as the seeder writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedAsset {
    pub id: i64,
    pub number: String,
    pub name: &'static str,
    pub category_id: i64,
    pub model: String,
    pub value_fen: i64,
    pub purchase_date: String,
    pub funding: &'static str,
    pub batch_id: Option<i64>,
    pub location_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub state: AssetState,
}

/// SplitMix64: a well-mixed 64-bit value per index, no state.
pub fn mix(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `x` reduced to `0..n` (n > 0).
fn pick(x: u64, n: usize) -> usize {
    (x % n.max(1) as u64) as usize
}

impl Layout {
    /// The warehouse (index into `warehouses`) of asset index `k`: the
    /// register is cut into equal contiguous blocks, one per warehouse.
    pub fn warehouse_of(&self, k: u64) -> usize {
        let w = self.warehouses.len().max(1) as u128;
        ((k as u128 * w) / self.assets.max(1) as u128) as usize
    }

    /// The asset number of index `k` (numeric, so a GIAI-96 serial).
    pub fn number(&self, k: u64) -> String {
        (self.first_id as u64 + k + 10_000_000).to_string()
    }

    /// Asset index `k`: 70 % on a location of its warehouse (in stock),
    /// the rest allocated to a unit.
    pub fn asset(&self, k: u64) -> SeedAsset {
        let h = mix(k);
        let c = pick(h, CATEGORIES.len());
        let (_, name, value) = CATEGORIES[c];
        let in_warehouse = pick(h >> 8, 10) < 7;
        let locations = &self.warehouses[self.warehouse_of(k)].1;
        let (location_id, unit_id, state) = if in_warehouse {
            (
                Some(locations[pick(h >> 16, locations.len())]),
                None,
                AssetState::InStock,
            )
        } else {
            (
                None,
                Some(self.units[pick(h >> 16, self.units.len())]),
                AssetState::Allocated,
            )
        };
        let spread = (value / 5).max(1);
        SeedAsset {
            id: self.first_id + k as i64,
            number: self.number(k),
            name,
            category_id: self.categories[c % self.categories.len()],
            model: format!("M-{}", 100 + pick(h >> 24, 899)),
            value_fen: value - spread + pick(h >> 32, 2 * spread as usize + 1) as i64,
            purchase_date: format!(
                "202{}-{:02}-{:02}",
                pick(h >> 40, 5),
                1 + pick(h >> 44, 12),
                1 + pick(h >> 48, 28)
            ),
            funding: FUNDING[pick(h >> 52, FUNDING.len())],
            batch_id: self
                .batches
                .get(pick(h >> 56, self.batches.len().max(1)))
                .copied(),
            location_id,
            unit_id,
            state,
        }
    }

    /// The GIAI-96 EPC on asset index `k`'s tag.
    pub fn epc(&self, k: u64) -> anyhow::Result<EpcBytes> {
        let epc = giai_for(&self.prefix, &self.number(k))?;
        Ok(EpcBytes::new(epc.bytes())?)
    }

    /// Asset indices of warehouse `w` (a contiguous block).
    pub fn block(&self, w: usize) -> std::ops::Range<u64> {
        let n = self.warehouses.len().max(1) as u128;
        let start = |w: usize| (w as u128 * self.assets as u128).div_ceil(n) as u64;
        start(w)..start(w + 1).min(self.assets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(assets: u64, warehouses: usize) -> Layout {
        Layout {
            first_id: 5,
            assets,
            warehouses: (0..warehouses)
                .map(|w| {
                    (
                        100 + w as i64,
                        vec![1000 + 10 * w as i64, 1001 + 10 * w as i64],
                    )
                })
                .collect(),
            units: vec![7, 8, 9],
            categories: (1..=CATEGORIES.len() as i64).collect(),
            batches: vec![3],
            prefix: "0614141".into(),
        }
    }

    #[test]
    fn blocks_cover_every_asset_once_and_agree_with_warehouse_of() {
        for (assets, warehouses) in [(20_000, 100), (10, 3), (7, 7), (5, 9), (1_000_003, 100)] {
            let l = layout(assets, warehouses);
            let mut next = 0;
            for w in 0..warehouses {
                let b = l.block(w);
                assert_eq!(b.start, next, "{assets}/{warehouses} block {w}");
                for k in [b.start, b.end.saturating_sub(1)] {
                    if b.start < b.end {
                        assert_eq!(l.warehouse_of(k), w, "{assets}/{warehouses} index {k}");
                    }
                }
                next = b.end;
            }
            assert_eq!(next, assets);
        }
    }

    #[test]
    fn an_asset_has_one_holder_in_its_own_warehouse_and_a_valid_tag() -> anyhow::Result<()> {
        let l = layout(1_000, 10);
        let (mut stocked, mut allocated) = (0, 0);
        for k in 0..l.assets {
            let a = l.asset(k);
            assert_eq!(a.id, 5 + k as i64);
            match (a.location_id, a.unit_id, a.state) {
                (Some(loc), None, AssetState::InStock) => {
                    assert!(l.warehouses[l.warehouse_of(k)].1.contains(&loc));
                    stocked += 1;
                }
                (None, Some(u), AssetState::Allocated) => {
                    assert!(l.units.contains(&u));
                    allocated += 1;
                }
                other => panic!("asset {k}: holder and state {other:?}"),
            }
            assert!(a.value_fen > 0);
        }
        assert!((600..800).contains(&stocked), "{stocked} in stock");
        assert_eq!(stocked + allocated, 1_000);
        assert_ne!(l.epc(0)?, l.epc(1)?);
        assert_eq!(l.asset(17), l.asset(17));
        Ok(())
    }
}
