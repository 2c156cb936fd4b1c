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
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok((replayed, register))
        })
    }

    /// Sum of a numeric field over the recorded steps of one action (the
    /// request trail, to check reports against).
    pub fn step_sum_blocking(&self, action: &str, field: &str) -> AppResult<i64> {
        self.read_blocking(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(json_extract(details, '$.' || ?2)), 0)
                 FROM request_steps WHERE action = ?1",
                (action, field),
                |r| r.get(0),
            )?)
        })
    }
}
