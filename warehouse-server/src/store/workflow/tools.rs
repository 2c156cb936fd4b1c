//! What `simulate-year` and the benchmarks need from requests: sample
//! assets, state replays, sums of step figures.

use super::*;

/// An asset picked for a simulated or scripted request.
#[derive(Debug, Clone)]
pub struct SampleAsset {
    pub id: i64,
    pub category_id: i64,
    pub holder_unit_id: Option<i64>,
    /// Active tag (hex), if tagged.
    pub epc: Option<String>,
}

impl Store {
    /// Up to `limit` assets in `state`, not held by an open request, held
    /// by `unit` (or, with `not_unit`, by anyone else); `shuffle` varies the
    /// order deterministically.
    pub fn sample_assets_blocking(
        &self,
        state: AssetState,
        unit: Option<i64>,
        not_unit: Option<i64>,
        limit: i64,
        shuffle: i64,
    ) -> AppResult<Vec<SampleAsset>> {
        self.read_blocking(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.id, a.category_id, a.holder_unit_id,
                        (SELECT t.epc FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL)
                 FROM assets a
                 WHERE a.state = ?1
                   AND (?2 IS NULL OR a.holder_unit_id = ?2)
                   AND (?3 IS NULL OR a.holder_unit_id <> ?3)
                   AND NOT EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1)
                 ORDER BY (a.id * ?5) % 1000003 LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                rusqlite::params![state.as_str(), unit, not_unit, limit, shuffle | 1],
                |r| {
                    let epc: Option<Vec<u8>> = r.get(3)?;
                    Ok(SampleAsset {
                        id: r.get(0)?,
                        category_id: r.get(1)?,
                        holder_unit_id: r.get(2)?,
                        epc: epc.map(|e| shared::hex::Hex(&e).to_string()),
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Each asset's state as the event log tells it (the `to` of its last
    /// state-changing event, or the state it was registered in), counted
    /// per state, next to the register's own counts.
    pub fn replay_states_blocking(
        &self,
    ) -> AppResult<(
        std::collections::BTreeMap<String, i64>,
        std::collections::BTreeMap<String, i64>,
    )> {
        self.read_blocking(|c| {
            let mut replayed = std::collections::BTreeMap::new();
            for s in super::super::events::replay_assets(c)?
                .into_values()
                .filter_map(|a| a.state)
            {
                *replayed.entry(s).or_insert(0) += 1;
            }
            let mut stmt = c.prepare("SELECT state, COUNT(*) FROM assets GROUP BY state")?;
            let register = stmt
                .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok((replayed, register))
        })
    }

    /// How many disposals damage cases opened for their compensated
    /// items' residual value (残值评估).
    pub fn residual_disposals_blocking(&self) -> AppResult<i64> {
        self.read_blocking(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM requests
                 WHERE kind = 'disposal' AND origin_request_id IS NOT NULL",
                (),
                |r| r.get(0),
            )?)
        })
    }

    /// Sum of a numeric field over the recorded steps of one action (the
    /// request trail, to check reports against).
    pub fn step_sum_blocking(&self, action: &str, field: &str) -> AppResult<i64> {
        self.read_blocking(|c| {
            let details = c
                .prepare_cached("SELECT details FROM request_steps WHERE action = ?1")?
                .query_map([action], |r| r.get::<_, Option<String>>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(details
                .iter()
                .flatten()
                .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .filter_map(|d| d.get(field).and_then(serde_json::Value::as_i64))
                .sum())
        })
    }
}

/// A tagged asset placed in a simulated field (`admin export-scenario`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAsset {
    pub id: i64,
    pub number: String,
    pub name: String,
    /// Its active tag (hex).
    pub epc: String,
}

/// An approved loan or allocation waiting for its check-out at the desk,
/// with the tagged in-stock assets the check-out would pick.
#[derive(Debug, Clone)]
pub struct WaitingCheckout {
    pub request_id: i64,
    pub kind: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub assets: Vec<FieldAsset>,
}

/// A storage location to stock-take and the tagged assets held there.
#[derive(Debug, Clone)]
pub struct StockLocation {
    pub location_id: i64,
    pub code: String,
    pub name: String,
    pub warehouse_id: i64,
    pub warehouse_name: String,
    /// Every asset the register holds at the location (what a stock-take
    /// of it expects, tagged or not).
    pub held: i64,
    /// The tagged ones, by id, at most the limit asked for.
    pub assets: Vec<FieldAsset>,
}

/// What a demo's simulated field is built from: the register's own tags.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    /// Oldest first.
    pub waiting: Vec<WaitingCheckout>,
    /// Other in-stock tagged assets, not held by any request, for the desk
    /// shelf (none of them is in `waiting`): the first `shelf` free ones,
    /// then `per_category` more of every category, so a new loan of any
    /// category finds some on the shelf.
    pub shelf: Vec<FieldAsset>,
    /// The location holding the most assets, if any.
    pub stock: Option<StockLocation>,
}

const FIELD_ASSET: &str = "SELECT a.id, a.asset_number, a.name, t.epc FROM assets a
     JOIN tags t ON t.asset_id = a.id AND t.unbound_at IS NULL";

fn field_asset(r: &crate::store::db::Row<'_>) -> rusqlite::Result<FieldAsset> {
    let epc: Vec<u8> = r.get(3)?;
    Ok(FieldAsset {
        id: r.get(0)?,
        number: r.get(1)?,
        name: r.get(2)?,
        epc: shared::hex::Hex(&epc).to_string(),
    })
}

/// In-stock tagged assets free of any open request (of `category` when
/// given), by id, skipping `taken`, at most `n`.
fn free_in_stock(
    c: &Db<'_>,
    category: Option<i64>,
    taken: &[i64],
    n: usize,
) -> AppResult<Vec<FieldAsset>> {
    let mut stmt = c.prepare_cached(&format!(
        "{FIELD_ASSET}
         WHERE a.state = 'in_stock' AND (?1 IS NULL OR a.category_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1)
         ORDER BY a.id LIMIT ?2"
    ))?;
    let limit = i64::try_from(n.saturating_add(taken.len())).unwrap_or(i64::MAX);
    let rows = stmt.query_map(rusqlite::params![category, limit], field_asset)?;
    let mut out = Vec::new();
    for a in rows {
        let a = a?;
        if !taken.contains(&a.id) && out.len() < n {
            out.push(a);
        }
    }
    Ok(out)
}

impl Store {
    /// The register's side of a simulated field: up to `requests` loans and
    /// allocations waiting for check-out with the assets each would take
    /// (its reserved items, or for a request by category and quantity the
    /// first free in-stock tagged assets of that category), `shelf` more
    /// in-stock tagged assets, and the tagged assets of the location that
    /// holds the most (at most `stock`; a stock-take of it expects every
    /// asset held there, whatever its state).
    pub fn field_plan_blocking(
        &self,
        requests: usize,
        shelf: usize,
        per_category: usize,
        stock: usize,
    ) -> AppResult<FieldPlan> {
        self.read_blocking(|c| {
            let mut waiting = Vec::new();
            let mut taken: Vec<i64> = Vec::new();
            // (request without its assets yet, category, quantity)
            let heads: Vec<(WaitingCheckout, Option<i64>, Option<i64>)> = {
                let mut stmt = c.prepare_cached(
                    "SELECT r.id, r.kind, r.unit_id, u.name, r.category_id, r.quantity
                     FROM requests r LEFT JOIN units u ON u.id = r.unit_id
                     WHERE r.kind IN ('loan', 'allocation') AND r.stage = 'checkout'
                     ORDER BY r.id LIMIT ?1",
                )?;
                let limit = i64::try_from(requests).unwrap_or(i64::MAX);
                let rows = stmt.query_map([limit], |r| {
                    Ok((
                        WaitingCheckout {
                            request_id: r.get(0)?,
                            kind: r.get(1)?,
                            unit_id: r.get(2)?,
                            unit_name: r.get(3)?,
                            assets: Vec::new(),
                        },
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            for (mut w, _, _) in heads {
                let request_id = w.request_id;
                let mut stmt = c.prepare_cached(&format!(
                    "{FIELD_ASSET} JOIN request_items i ON i.asset_id = a.id
                     WHERE i.request_id = ?1 AND i.active = 1 AND i.status = 'requested'
                       AND a.state = 'in_stock'
                     ORDER BY a.id"
                ))?;
                let mut assets: Vec<FieldAsset> = stmt
                    .query_map([request_id], field_asset)?
                    .collect::<Result<_, _>>()?;
                // Each line asked by category: as many free in-stock
                // assets of its category as it still needs.
                for line in lines_of(c, request_id)? {
                    let needed = usize::try_from(line.still_needed()).unwrap_or(0);
                    if line.by_category() && needed > 0 {
                        let held: Vec<i64> = taken
                            .iter()
                            .chain(assets.iter().map(|a| &a.id))
                            .copied()
                            .collect();
                        assets.extend(free_in_stock(c, line.category_id, &held, needed)?);
                    }
                }
                taken.extend(assets.iter().map(|a| a.id));
                w.assets = assets;
                waiting.push(w);
            }
            let mut shelf = free_in_stock(c, None, &taken, shelf)?;
            if per_category > 0 {
                taken.extend(shelf.iter().map(|a| a.id));
                let categories: Vec<i64> = c
                    .prepare_cached("SELECT id FROM categories ORDER BY id")?
                    .query_map((), |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for category in categories {
                    let more = free_in_stock(c, Some(category), &taken, per_category)?;
                    taken.extend(more.iter().map(|a| a.id));
                    shelf.extend(more);
                }
            }
            let fullest: Option<(i64, i64)> = c
                .query_row(
                    "SELECT holder_location_id, COUNT(*) FROM assets
                     WHERE holder_location_id IS NOT NULL
                     GROUP BY holder_location_id ORDER BY COUNT(*) DESC, holder_location_id
                     LIMIT 1",
                    (),
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let stock = match fullest {
                None => None,
                Some((location_id, held)) => {
                    let (code, name, warehouse_id, warehouse_name) = c.query_row(
                        "SELECT l.code, l.name, w.id, w.name FROM locations l
                         JOIN warehouses w ON w.id = l.warehouse_id WHERE l.id = ?1",
                        [location_id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?;
                    let mut stmt = c.prepare_cached(&format!(
                        "{FIELD_ASSET}
                         WHERE a.holder_location_id = ?1
                         ORDER BY a.id LIMIT ?2"
                    ))?;
                    let limit = i64::try_from(stock).unwrap_or(i64::MAX);
                    let assets = stmt
                        .query_map(rusqlite::params![location_id, limit], field_asset)?
                        .collect::<Result<_, _>>()?;
                    Some(StockLocation {
                        location_id,
                        code,
                        name,
                        warehouse_id,
                        warehouse_name,
                        held,
                        assets,
                    })
                }
            };
            Ok(FieldPlan {
                waiting,
                shelf,
                stock,
            })
        })
    }
}
