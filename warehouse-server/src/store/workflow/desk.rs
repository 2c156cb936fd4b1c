//! The keeper's desk check-out screen: what desk readers saw.

use super::*;

impl Store {
    /// Records what desk readers saw (by the reader name in each
    /// observation; other readers are ignored), at server receive time.
    pub async fn record_desk_scans(&self, scans: Vec<(String, Vec<u8>)>) -> AppResult<()> {
        if scans.is_empty() {
            return Ok(());
        }
        // Most batches come from gates and handhelds: find out on a read
        // connection, so they cost no second write transaction.
        let desks: Vec<String> = self
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT name FROM readers WHERE role = 'desk'")?;
                let rows = stmt.query_map((), |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        let scans: Vec<(String, Vec<u8>)> = scans
            .into_iter()
            .filter(|(reader, _)| desks.contains(reader))
            .collect();
        if scans.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let now = now_ms();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO desk_scans (reader_id, epc, first_seen, last_seen)
                 SELECT r.id, ?2, ?3, ?3 FROM readers r WHERE r.name = ?1 AND r.role = 'desk'
                 ON CONFLICT (reader_id, epc) DO UPDATE SET last_seen = excluded.last_seen",
            )?;
            for (reader, epc) in scans {
                stmt.execute(rusqlite::params![reader, epc, now])?;
            }
            Ok(())
        })
        .await
    }

    /// The name of a desk reader that read `epc` at or after `since_ms`
    /// (a freshly written tag laid on the desk reader), if one did.
    pub async fn desk_reader_saw(&self, epc: Vec<u8>, since_ms: i64) -> AppResult<Option<String>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT r.name FROM desk_scans d JOIN readers r ON r.id = d.reader_id
                 WHERE d.epc = ?1 AND d.last_seen >= ?2 ORDER BY d.last_seen DESC LIMIT 1",
            )?
            .query_row(rusqlite::params![epc, since_ms], |r| r.get(0))
            .optional()?)
        })
        .await
    }

    /// EPCs (hex) a desk reader saw since `since_ms`, with the asset each
    /// is bound to, in scan order.
    pub async fn desk_scans(
        &self,
        reader_id: i64,
        since_ms: i64,
    ) -> AppResult<Vec<(String, Option<i64>)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.epc, t.asset_id FROM desk_scans d
                 LEFT JOIN tags t ON t.epc = d.epc AND t.unbound_at IS NULL
                 WHERE d.reader_id = ?1 AND d.last_seen >= ?2
                 ORDER BY d.first_seen, d.epc LIMIT 10000",
            )?;
            let rows = stmt.query_map((reader_id, since_ms), |r| {
                let epc: Vec<u8> = r.get(0)?;
                Ok((shared::hex::Hex(&epc).to_string(), r.get(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

/// One thing the desk has for a request: a tag a desk reader read, or an
/// asset number a keeper typed (手工录入, `entered_by` says who).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskEntry {
    /// EPC hex (for a typed entry: the asset's tag).
    pub epc: String,
    pub asset_id: Option<i64>,
    pub entered_by: Option<String>,
}

/// What to take from the shelves for a request (拣货单): each asset with
/// its location, in walking order (warehouse, location code, number).
#[derive(Debug, Clone)]
pub struct PickList {
    pub lines: Vec<PickLine>,
    /// How many items the request still needs from the shelves.
    pub needed: i64,
    /// The request names its assets (else: suggested from the category).
    pub named: bool,
}

#[derive(Debug, Clone)]
pub struct PickLine {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    pub model: Option<String>,
    pub epc: Option<String>,
    pub warehouse: Option<String>,
    pub location_code: Option<String>,
    pub location_name: Option<String>,
}

impl Store {
    /// The desk's entries for a request: what `reader_id` read since
    /// `since_ms`, and what keepers typed for this request since then, in
    /// the order they came (a tag both read and typed counts once).
    pub async fn desk_entries(
        &self,
        request_id: i64,
        reader_id: i64,
        since_ms: i64,
    ) -> AppResult<Vec<DeskEntry>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT epc, asset_id, entered_by FROM (
                     SELECT d.epc, t.asset_id, NULL AS entered_by, d.first_seen AS at
                     FROM desk_scans d
                     LEFT JOIN tags t ON t.epc = d.epc AND t.unbound_at IS NULL
                     WHERE d.reader_id = ?1 AND d.last_seen >= ?2
                     UNION ALL
                     SELECT m.epc, m.asset_id, m.entered_by, m.entered_at
                     FROM desk_manual_entries m
                     WHERE m.request_id = ?3 AND m.entered_at >= ?2) AS entries
                 ORDER BY at, epc LIMIT 10000",
            )?;
            let rows = stmt.query_map((reader_id, since_ms, request_id), |r| {
                let epc: Vec<u8> = r.get(0)?;
                Ok(DeskEntry {
                    epc: shared::hex::Hex(&epc).to_string(),
                    asset_id: r.get(1)?,
                    entered_by: r.get(2)?,
                })
            })?;
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for e in rows {
                let e = e?;
                if seen.insert(e.epc.clone()) {
                    out.push(e);
                }
            }
            Ok(out)
        })
        .await
    }

    /// A keeper typed an asset number at the desk (手工录入) for a request
    /// being checked out or returned: it counts like a read of the asset's
    /// tag on this request's desk page, and is chained as a `manual_entry`
    /// event. Only whoever may take the desk step now may type.
    pub async fn desk_manual_entry(
        &self,
        ctx: Ctx,
        request_id: i64,
        typed: String,
    ) -> AppResult<crate::store::TypedAsset> {
        self.write(move |tx| {
            let r = load_row(tx, request_id)?;
            if !may_view(&ctx.actor, &r) {
                return Err(Reason::OtherUnitsRequest { request_id }.into());
            }
            authorize(&ctx.actor, Action::ActOnRequest, scope_of(&r))?;
            let action = if r.stage == Stage::OnLoan {
                StepKind::ReturnItems
            } else {
                StepKind::CheckOut
            };
            step(
                r.kind,
                r.stage,
                action,
                role_of(&ctx.actor)?,
                r.method.into(),
            )
            .map_err(|e| e.into_error(r.id, r.kind, r.stage, action))?;
            let a = crate::store::manual::typed_asset(tx, "asset_number", &typed)?;
            tx.prepare_cached(
                "INSERT INTO desk_manual_entries
                     (request_id, asset_id, epc, entered_by, entered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (request_id, asset_id) DO UPDATE SET epc = excluded.epc,
                     entered_by = excluded.entered_by, entered_at = excluded.entered_at",
            )?
            .execute(rusqlite::params![
                request_id,
                a.id,
                a.epc,
                ctx.actor.label(),
                now_ms()
            ])?;
            crate::store::manual::record_entry(tx, &ctx, &a, format!("request:{request_id}"))?;
            Ok(a)
        })
        .await
    }

    /// The pick list of a request waiting at the desk: the assets it names
    /// that are still to be checked out, or (a request by category and
    /// quantity) as many in-stock assets of the category as it still needs
    /// that no other request holds, nearest shelf first.
    pub async fn pick_list(&self, actor: Actor, request_id: i64) -> AppResult<PickList> {
        self.read(move |c| {
            let r = load_row(c, request_id)?;
            if !may_view(&actor, &r) {
                return Err(Reason::OtherUnitsRequest { request_id }.into());
            }
            let lines = lines_of(c, request_id)?;
            const COLUMNS: &str = "SELECT a.id, a.asset_number, a.name, a.model, t.epc, w.name,
                     l.code, l.name
                 FROM assets a
                 LEFT JOIN tags t ON t.asset_id = a.id AND t.unbound_at IS NULL
                 LEFT JOIN locations l ON l.id = a.holder_location_id
                 LEFT JOIN warehouses w ON w.id = l.warehouse_id";
            const ORDER: &str = "ORDER BY w.name, l.code, a.asset_number";
            let line = |row: &crate::store::db::Row<'_>| {
                Ok(PickLine {
                    asset_id: row.get(0)?,
                    asset_number: row.get(1)?,
                    name: row.get(2)?,
                    model: row.get(3)?,
                    epc: row
                        .get::<_, Option<Vec<u8>>>(4)?
                        .map(|e| shared::hex::Hex(&e).to_string()),
                    warehouse: row.get(5)?,
                    location_code: row.get(6)?,
                    location_name: row.get(7)?,
                })
            };
            let picking = matches!(r.stage, Stage::Checkout);
            // The named (held) assets of every line, then for each line
            // asked by category as many free in-stock assets as it needs.
            let mut stmt = c.prepare_cached(&format!(
                "{COLUMNS} JOIN request_items i ON i.asset_id = a.id
                 WHERE i.request_id = ?1 AND i.active = 1 AND i.status = 'requested'
                 {ORDER}"
            ))?;
            let mut picks = stmt
                .query_map([request_id], line)?
                .collect::<Result<Vec<_>, _>>()?;
            let named = !lines.iter().any(Line::by_category);
            let mut needed = if picking { picks.len() as i64 } else { 0 };
            for l in lines.iter().filter(|l| l.by_category()) {
                let want = if picking { l.still_needed() } else { 0 };
                needed += want;
                let taken: Vec<i64> = picks.iter().map(|p| p.asset_id).collect();
                let mut stmt = c.prepare_cached(&format!(
                    "{COLUMNS}
                     WHERE a.category_id = ?1 AND a.state = 'in_stock'
                       AND NOT EXISTS (SELECT 1 FROM request_items i
                                       WHERE i.asset_id = a.id AND i.active = 1)
                     {ORDER} LIMIT ?2"
                ))?;
                let more = stmt
                    .query_map((l.category_id, want + taken.len() as i64), line)?
                    .collect::<Result<Vec<_>, _>>()?;
                // Two lines of one category do not pick the same asset.
                picks.extend(
                    more.into_iter()
                        .filter(|p| !taken.contains(&p.asset_id))
                        .take(want as usize),
                );
            }
            Ok(PickList {
                lines: picks,
                needed,
                named,
            })
        })
        .await
    }
}
