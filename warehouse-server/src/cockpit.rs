//! The province cockpit (驾驶舱): the network's figures per region —
//! assets and value by state, idle rate, re-use and the money it saved,
//! loans out, disposals and proceeds, open requests by age — for one
//! region (its own figures and each region below it, rolled up) or for
//! the whole network. The store reads each region's *own* figures
//! (`store::cockpit`); rolling them up the tree and cutting the rows is
//! here, pure, so the rows always add up to the total.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use crate::register::{Region, RegionLevel};

/// Assets in one state: how many and their original value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateCount {
    pub count: i64,
    pub value_fen: i64,
}

/// Open requests (not completed, rejected or withdrawn) by how long ago
/// they were filed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenByAge {
    /// Filed less than 7 days ago.
    pub under_7_days: i64,
    /// Filed 7 to 30 days ago.
    pub from_7_to_30_days: i64,
    /// Filed more than 30 days ago.
    pub over_30_days: i64,
}

/// A region's figures (its own, or rolled up over the regions below).
/// Everything adds up except `idle_pct`, which is worked out again from
/// the sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Assets and value per state (only states that hold any).
    pub by_state: BTreeMap<String, StateCount>,
    /// Assets not disposed of, and their original value.
    pub assets: i64,
    pub value_fen: i64,
    /// In stock or listed idle (在库、闲置).
    pub idle: i64,
    /// `idle` of `assets`, in percent with one decimal (none without
    /// assets).
    pub idle_pct: Option<f64>,
    /// Re-use (调剂复用): assets given to a unit from another unit's idle
    /// listing (a completed transfer) or from stock instead of a purchase.
    pub reused: i64,
    /// Their original value: what was not bought again.
    pub saved_fen: i64,
    /// Loans with items out, the items out, and the loans past due.
    pub loans_out: i64,
    pub loan_items_out: i64,
    pub loans_overdue: i64,
    /// Disposals completed, assets disposed of, proceeds remitted.
    pub disposals: i64,
    pub assets_disposed: i64,
    pub proceeds_fen: i64,
    pub open_requests: OpenByAge,
}

/// States that are out of the register's working stock.
const GONE: &str = "disposed";
const IDLE: [&str; 2] = ["in_stock", "listed_idle"];

impl Figures {
    /// Adds `count` assets worth `value_fen` in `state`.
    pub fn add_state(&mut self, state: &str, count: i64, value_fen: i64) {
        let e = self.by_state.entry(state.to_owned()).or_default();
        e.count += count;
        e.value_fen += value_fen;
        if state == GONE {
            self.assets_disposed += count;
        } else {
            self.assets += count;
            self.value_fen += value_fen;
            if IDLE.contains(&state) {
                self.idle += count;
            }
        }
        self.finish();
    }

    /// Adds `other` (a region below) into these figures.
    pub fn add(&mut self, other: &Figures) {
        for (state, c) in &other.by_state {
            let e = self.by_state.entry(state.clone()).or_default();
            e.count += c.count;
            e.value_fen += c.value_fen;
        }
        self.assets += other.assets;
        self.value_fen += other.value_fen;
        self.idle += other.idle;
        self.reused += other.reused;
        self.saved_fen += other.saved_fen;
        self.loans_out += other.loans_out;
        self.loan_items_out += other.loan_items_out;
        self.loans_overdue += other.loans_overdue;
        self.disposals += other.disposals;
        self.assets_disposed += other.assets_disposed;
        self.proceeds_fen += other.proceeds_fen;
        self.open_requests.under_7_days += other.open_requests.under_7_days;
        self.open_requests.from_7_to_30_days += other.open_requests.from_7_to_30_days;
        self.open_requests.over_30_days += other.open_requests.over_30_days;
        self.finish();
    }

    fn finish(&mut self) {
        self.idle_pct = (self.assets > 0)
            .then(|| (1000.0 * self.idle as f64 / self.assets as f64).round() / 10.0);
    }

    /// Whether nothing at all is counted here.
    pub fn is_empty(&self) -> bool {
        *self == Figures::default()
    }
}

/// A region as the cockpit names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegionRef {
    pub id: i64,
    pub name: String,
    pub level: RegionLevel,
}

impl From<&Region> for RegionRef {
    fn from(r: &Region) -> Self {
        RegionRef {
            id: r.id,
            name: r.name.clone(),
            level: r.level,
        }
    }
}

/// One row of the cockpit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CockpitRow {
    /// The row's region; none for what is in no region yet (the whole
    /// network's view only).
    pub region: Option<RegionRef>,
    /// `true`: the shown region's own figures (本级), without the regions
    /// below it; `false`: a region below, rolled up with everything under
    /// it.
    pub own: bool,
    /// Whether the row's region has regions below it the reader reaches
    /// (a drill-down shows them as rows).
    pub drillable: bool,
    pub figures: Figures,
}

/// The cockpit for one region (or the whole network).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cockpit {
    /// The region shown; none: the whole network.
    pub region: Option<RegionRef>,
    /// From the top of the reader's reach down to the shown region's
    /// parent (the way back up).
    pub path: Vec<RegionRef>,
    /// The shown region with everything below it (the sum of `rows`).
    pub total: Figures,
    pub rows: Vec<CockpitRow>,
}

/// Builds the cockpit of `region` (none: the whole network) from each
/// region's own figures (`own`, keyed by region; `None`: in no region),
/// the region tree and the reader's reach (`None`: everything). Rows: the
/// region's own figures first, then each region directly below it that
/// the reach holds, rolled up. Regions outside the reach count nowhere.
pub fn build(
    region: Option<i64>,
    regions: &[Region],
    reach: Option<&[i64]>,
    own: &HashMap<Option<i64>, Figures>,
) -> Cockpit {
    let in_reach = |id: i64| reach.is_none_or(|r| r.contains(&id));
    let by_id: HashMap<i64, &Region> = regions.iter().map(|r| (r.id, r)).collect();
    let mut children: HashMap<Option<i64>, Vec<&Region>> = HashMap::new();
    for r in regions {
        children.entry(r.parent_id).or_default().push(r);
    }
    for list in children.values_mut() {
        list.sort_by_key(|r| r.id);
    }
    // A region with everything below it that the reach holds.
    fn rolled(
        id: i64,
        children: &HashMap<Option<i64>, Vec<&Region>>,
        own: &HashMap<Option<i64>, Figures>,
        in_reach: &dyn Fn(i64) -> bool,
    ) -> Figures {
        let mut f = Figures::default();
        if in_reach(id) {
            if let Some(o) = own.get(&Some(id)) {
                f.add(o);
            }
        }
        for c in children.get(&Some(id)).map(Vec::as_slice).unwrap_or(&[]) {
            f.add(&rolled(c.id, children, own, in_reach));
        }
        f
    }
    let drillable = |id: i64| {
        children
            .get(&Some(id))
            .is_some_and(|cs| cs.iter().any(|c| in_reach(c.id)))
    };
    let mut rows = Vec::new();
    match region {
        Some(id) => {
            if let Some(r) = by_id.get(&id) {
                rows.push(CockpitRow {
                    region: Some(RegionRef::from(*r)),
                    own: true,
                    drillable: false,
                    figures: own.get(&Some(id)).cloned().unwrap_or_default(),
                });
            }
        }
        None => {
            if reach.is_none() {
                let none = own.get(&None).cloned().unwrap_or_default();
                if !none.is_empty() {
                    rows.push(CockpitRow {
                        region: None,
                        own: true,
                        drillable: false,
                        figures: none,
                    });
                }
            }
        }
    }
    for c in children.get(&region).map(Vec::as_slice).unwrap_or(&[]) {
        if !in_reach(c.id) {
            continue;
        }
        rows.push(CockpitRow {
            region: Some(RegionRef::from(*c)),
            own: false,
            drillable: drillable(c.id),
            figures: rolled(c.id, &children, own, &in_reach),
        });
    }
    let mut total = Figures::default();
    for r in &rows {
        total.add(&r.figures);
    }
    // The way up: from the shown region's parent to the top of the reach.
    let mut path = Vec::new();
    let mut up = region
        .and_then(|id| by_id.get(&id))
        .and_then(|r| r.parent_id);
    while let Some(p) = up.and_then(|id| by_id.get(&id)) {
        if !in_reach(p.id) {
            break;
        }
        path.push(RegionRef::from(*p));
        up = p.parent_id;
    }
    path.reverse();
    Cockpit {
        region: region
            .and_then(|id| by_id.get(&id))
            .map(|r| RegionRef::from(*r)),
        path,
        total,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(id: i64, parent: Option<i64>, level: RegionLevel) -> Region {
        Region {
            id,
            name: format!("r{id}"),
            level,
            parent_id: parent,
            agency: String::new(),
            created_at: chrono::DateTime::<chrono::Utc>::default(),
        }
    }

    /// Province 1; cities 10, 20; counties 100, 101 under 10, 200 under 20.
    fn tree() -> Vec<Region> {
        vec![
            region(1, None, RegionLevel::Province),
            region(10, Some(1), RegionLevel::City),
            region(20, Some(1), RegionLevel::City),
            region(100, Some(10), RegionLevel::County),
            region(101, Some(10), RegionLevel::County),
            region(200, Some(20), RegionLevel::County),
        ]
    }

    fn own() -> HashMap<Option<i64>, Figures> {
        let mut m = HashMap::new();
        for (i, id) in [
            None,
            Some(1),
            Some(10),
            Some(20),
            Some(100),
            Some(101),
            Some(200),
        ]
        .into_iter()
        .enumerate()
        {
            let mut f = Figures::default();
            f.add_state("in_stock", i as i64 + 1, 100);
            f.add_state("allocated", 2, 1000);
            f.reused = 1;
            f.proceeds_fen = 10 * i as i64;
            m.insert(id, f);
        }
        m
    }

    #[test]
    fn a_city_is_its_own_figures_and_its_counties_and_rows_add_up() {
        let c = build(Some(10), &tree(), None, &own());
        let names: Vec<_> = c
            .rows
            .iter()
            .map(|r| (r.region.as_ref().map(|g| g.id), r.own))
            .collect();
        assert_eq!(
            names,
            vec![(Some(10), true), (Some(100), false), (Some(101), false)]
        );
        // in_stock 3 (city) + 5 + 6, allocated 2 each.
        assert_eq!(c.total.by_state["in_stock"].count, 3 + 5 + 6);
        assert_eq!(c.total.assets, 3 + 5 + 6 + 6);
        assert_eq!(c.total.idle, 14);
        assert_eq!(c.total.idle_pct, Some(70.0));
        assert_eq!(c.total.reused, 3);
        assert_eq!(c.path.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1]);
        assert!(!c.rows[1].drillable);
    }

    #[test]
    fn the_network_rolls_everything_up_and_shows_what_is_in_no_region() {
        let c = build(None, &tree(), None, &own());
        assert_eq!(c.rows.len(), 2, "no region, then the province");
        assert!(c.rows[0].region.is_none());
        assert!(c.rows[1].drillable);
        let mut all = Figures::default();
        for f in own().values() {
            all.add(f);
        }
        assert_eq!(c.total, all);
        let province = build(Some(1), &tree(), None, &own());
        assert_eq!(province.total, c.rows[1].figures);
        assert_eq!(province.rows.len(), 3, "own, city 10, city 20");
        assert!(province.path.is_empty());
    }

    #[test]
    fn regions_outside_the_reach_count_nowhere() {
        // A county approver of 100 asking for its city is refused by the
        // store; here, a city reach that lacks county 101.
        let reach = [10, 100];
        let c = build(Some(10), &tree(), Some(&reach), &own());
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.total.by_state["in_stock"].count, 3 + 5);
        assert!(c.path.is_empty(), "the province is out of reach");
        let net = build(None, &tree(), Some(&reach), &own());
        assert!(
            net.rows.iter().all(|r| r.region.is_some()),
            "no 'in no region' row for a placed person"
        );
    }
}
