//! Configuration standards (配置标准) in the database: the standards an
//! administrator sets, units' staff counts, the flag a purchase or
//! allocation gets at filing ([`flag_request`], the rule being
//! [`crate::standards::excess`]), the agency head's extra approval, and
//! the over-standard requests for the report and the warnings.

use crate::store::db::{Db, OptionalExtension};
use serde_json::json;

use super::register::require_exists;
use super::Store;
use crate::error::{AppResult, Reason};
use crate::policy::{authorize, Action, Actor, Ctx, Scope};
use crate::standards::{excess, Excess, NewStandard, OverStandard, Standard};
use crate::time::{now_ms, ts};

fn standard_of(c: &Db<'_>, category: i64) -> AppResult<Option<Standard>> {
    Ok(c.prepare_cached(
        "SELECT category_id, per_unit, per_staff, price_ceiling_fen, set_by, set_at
         FROM config_standards WHERE category_id = ?1",
    )?
    .query_row([category], row_to_standard)
    .optional()?)
}

fn row_to_standard(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Standard> {
    Ok(Standard {
        category_id: r.get(0)?,
        per_unit: r.get(1)?,
        per_staff: r.get(2)?,
        price_ceiling_fen: r.get(3)?,
        set_by: r.get(4)?,
        set_at: ts(r.get(5)?),
    })
}

/// At filing: a purchase or allocation for a unit is checked, category by
/// category of what it asks, against the standard; what goes beyond is
/// kept with its numbers. A purchase's item price is its budget per item
/// asked (the price known when it is filed).
pub(crate) fn flag_request(tx: &Db<'_>, request_id: i64) -> AppResult<()> {
    let (kind, unit, budget, destination): (String, Option<i64>, Option<i64>, String) = tx
        .query_row(
            "SELECT kind, unit_id, budget_fen, destination FROM requests WHERE id = ?1",
            [request_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let Some(unit) = unit else {
        return Ok(());
    };
    if !matches!(kind.as_str(), "purchase" | "allocation") || destination != "unit" {
        return Ok(());
    }
    let staff: Option<i64> =
        tx.query_row("SELECT staff_count FROM units WHERE id = ?1", [unit], |r| {
            r.get(0)
        })?;
    let demand = super::workflow::lines::demand_by_category(tx, request_id)?;
    let total: i64 = demand.iter().map(|(_, n)| n).sum();
    let price = match (kind.as_str(), budget) {
        ("purchase", Some(b)) if total > 0 => Some(b / total),
        _ => None,
    };
    for (category, asked) in demand {
        let Some(s) = standard_of(tx, category)? else {
            continue;
        };
        // What the unit holds of the category now (lost and disposed
        // assets are no longer held).
        let held: i64 = tx
            .prepare_cached(
                "SELECT count(*) FROM assets WHERE holder_unit_id = ?1 AND category_id = ?2
                 AND state NOT IN ('lost', 'disposed')",
            )?
            .query_row([unit, category], |r| r.get(0))?;
        if let Some(e) = excess(&s, staff, held, asked, price) {
            tx.execute(
                "INSERT INTO request_over_standard (request_id, category_id, held, asked,
                     limit_count, ceiling_fen, price_fen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    request_id,
                    e.category_id,
                    e.held,
                    e.asked,
                    e.limit,
                    e.ceiling_fen,
                    e.price_fen
                ],
            )?;
        }
    }
    Ok(())
}

/// Where a request goes beyond the standard (empty: within it).
pub(crate) fn excesses_of(c: &Db<'_>, request_id: i64) -> AppResult<Vec<Excess>> {
    let mut stmt = c.prepare_cached(
        "SELECT category_id, held, asked, limit_count, ceiling_fen, price_fen
         FROM request_over_standard WHERE request_id = ?1 ORDER BY category_id",
    )?;
    let rows = stmt.query_map([request_id], |r| {
        Ok(Excess {
            category_id: r.get(0)?,
            held: r.get(1)?,
            asked: r.get(2)?,
            limit: r.get(3)?,
            ceiling_fen: r.get(4)?,
            price_fen: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agency head's extra approval (超标准审批): only an approver marked
/// as agency head gives it; it is recorded on the request (who, when) and
/// its step carries the numbers.
pub(crate) fn approve_over_standard(
    tx: &Db<'_>,
    ctx: &Ctx,
    request_id: i64,
) -> AppResult<serde_json::Value> {
    let head = match &ctx.actor {
        Actor::User { id, .. } => tx
            .query_row("SELECT agency_head FROM users WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .unwrap_or(0),
        _ => 0,
    };
    if head == 0 {
        return Err(Reason::NotAgencyHead.into());
    }
    tx.execute(
        "UPDATE requests SET standard_approved_by = ?1, standard_approved_at = ?2 WHERE id = ?3",
        (ctx.actor.label(), now_ms(), request_id),
    )?;
    Ok(json!({ "over_standard": excesses_of(tx, request_id)? }))
}

impl Store {
    /// Every category's standard.
    pub async fn standards(&self) -> AppResult<Vec<Standard>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT category_id, per_unit, per_staff, price_ceiling_fen, set_by, set_at
                 FROM config_standards ORDER BY category_id",
            )?;
            let rows = stmt.query_map((), row_to_standard)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Sets (or, all empty, removes) a category's standard.
    pub async fn set_standard(
        &self,
        ctx: Ctx,
        category: i64,
        n: NewStandard,
    ) -> AppResult<Option<Standard>> {
        authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
        n.check()?;
        self.write(move |tx| {
            require_exists(tx, "categories", "category_id", category)?;
            if n.per_unit.is_none() && n.per_staff.is_none() && n.price_ceiling_fen.is_none() {
                tx.execute(
                    "DELETE FROM config_standards WHERE category_id = ?1",
                    [category],
                )?;
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO config_standards (category_id, per_unit, per_staff,
                     price_ceiling_fen, set_by, set_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (category_id) DO UPDATE SET per_unit = excluded.per_unit,
                     per_staff = excluded.per_staff,
                     price_ceiling_fen = excluded.price_ceiling_fen,
                     set_by = excluded.set_by, set_at = excluded.set_at",
                rusqlite::params![
                    category,
                    n.per_unit,
                    n.per_staff,
                    n.price_ceiling_fen,
                    ctx.actor.label(),
                    now_ms()
                ],
            )?;
            standard_of(tx, category)
        })
        .await
    }

    /// A unit's staff count (编制人数), which per-staff standards use.
    pub async fn set_staff_count(&self, ctx: Ctx, unit: i64, staff_count: i64) -> AppResult<()> {
        authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
        if staff_count < 0 {
            return Err(Reason::Negative {
                field: "staff_count".into(),
            }
            .into());
        }
        self.write(move |tx| {
            require_exists(tx, "units", "unit_id", unit)?;
            tx.execute(
                "UPDATE units SET staff_count = ?1 WHERE id = ?2",
                [staff_count, unit],
            )?;
            Ok(())
        })
        .await
    }

    /// Marks an approver as the agency head (局长), or not.
    pub async fn set_agency_head(&self, ctx: Ctx, user: i64, head: bool) -> AppResult<()> {
        authorize(&ctx.actor, Action::ManageRegister, Scope::Global)?;
        self.write(move |tx| {
            require_exists(tx, "users", "user_id", user)?;
            let role: String =
                tx.query_row("SELECT role FROM users WHERE id = ?1", [user], |r| r.get(0))?;
            if head && role != "approver" {
                return Err(Reason::BadField {
                    field: "agency_head".into(),
                    detail: format!("the agency head is an approver; this user is a {role}"),
                }
                .into());
            }
            tx.execute(
                "UPDATE users SET agency_head = ?1 WHERE id = ?2",
                [i64::from(head), user],
            )?;
            Ok(())
        })
        .await
    }

    /// Over-standard requests the actor may see (their regions), latest
    /// first; `open_only`: those still waiting for the agency head's extra
    /// approval, each naming who must act — what the warnings page lists.
    pub async fn over_standard_requests(
        &self,
        actor: Actor,
        open_only: bool,
    ) -> AppResult<Vec<OverStandard>> {
        let regions = crate::policy::regions_in_reach(&actor);
        let unit = match &actor {
            Actor::User {
                role: crate::policy::Role::UnitStaff,
                unit_id,
                ..
            } => Some(unit_id.unwrap_or(-1)),
            _ => None,
        };
        self.read(move |c| {
            let in_reach = match &regions {
                None => String::new(),
                Some(ids) => format!(
                    " AND r.region_id IN ({})",
                    crate::store::assets::id_list(ids)
                ),
            };
            let open = if open_only {
                " AND r.standard_approved_at IS NULL AND r.stage = 'approval'"
            } else {
                ""
            };
            let sql = format!(
                "SELECT r.id, r.kind, r.stage, r.unit_id, u.name, r.standard_approved_by,
                        r.standard_approved_at
                 FROM requests r LEFT JOIN units u ON u.id = r.unit_id
                 WHERE EXISTS (SELECT 1 FROM request_over_standard o WHERE o.request_id = r.id)
                   AND (?1 IS NULL OR r.unit_id = ?1){in_reach}{open}
                 ORDER BY r.id DESC"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map([unit], |r| {
                    Ok(OverStandard {
                        request_id: r.get(0)?,
                        kind: r.get(1)?,
                        stage: r.get(2)?,
                        unit_id: r.get(3)?,
                        unit_name: r.get(4)?,
                        excesses: Vec::new(),
                        approved_by: r.get(5)?,
                        approved_at: r.get::<_, Option<i64>>(6)?.map(ts),
                        awaiting: None,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for mut o in rows {
                o.excesses = excesses_of(c, o.request_id)?;
                if o.approved_at.is_none() && o.stage == "approval" {
                    o.awaiting = Some("agency_head".into());
                }
                out.push(o);
            }
            Ok(out)
        })
        .await
    }
}
