//! Kits (套装): which assets a kit holds, making and retiring kits, and the
//! desk's rule that a kit goes out and comes back whole
//! ([`crate::kits::missing_members`] decides; [`kit_whole`] asks it).

use super::*;
use crate::kits::{missing_members, Kit, KitMember, NewKit, MAX_MEMBERS};

/// The kit an asset is in, if any.
fn kit_of(c: &Db<'_>, asset_id: i64) -> AppResult<Option<(i64, String)>> {
    Ok(c.prepare_cached(
        "SELECT k.id, k.name FROM kit_members m JOIN kits k ON k.id = m.kit_id
             WHERE m.asset_id = ?1",
    )?
    .query_row([asset_id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

fn kit_name(c: &Db<'_>, kit: i64) -> AppResult<String> {
    Ok(c.prepare_cached("SELECT name FROM kits WHERE id = ?1")?
        .query_row([kit], |r| r.get(0))?)
}

fn member_ids(c: &Db<'_>, kit: i64) -> AppResult<Vec<i64>> {
    let mut stmt =
        c.prepare_cached("SELECT asset_id FROM kit_members WHERE kit_id = ?1 ORDER BY asset_id")?;
    let rows = stmt.query_map([kit], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn load_kit(c: &Db<'_>, id: i64) -> AppResult<Kit> {
    let head = c
        .prepare_cached(
            "SELECT id, name, notes, created_by, created_at, retired_at FROM kits WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?
        .ok_or_else(|| AppError::not_found("kit", id))?;
    let mut members = Vec::new();
    let mut held_by_request = None;
    for asset in member_ids(c, id)? {
        let a = get_asset(c, asset)?;
        if held_by_request.is_none() {
            held_by_request = holding_request(c, asset)?;
        }
        members.push(KitMember {
            asset_id: a.id,
            asset_number: a.asset_number,
            name: a.name,
            state: a.state,
            epc: a.epc,
        });
    }
    let available = head.5.is_none()
        && held_by_request.is_none()
        && !members.is_empty()
        && members.iter().all(|m| m.state == AssetState::InStock);
    Ok(Kit {
        id: head.0,
        name: head.1,
        notes: head.2,
        created_by: head.3,
        created_at: ts(head.4),
        retired_at: head.5.map(ts),
        members,
        available,
        held_by_request,
    })
}

/// The name and members of each kit `kit_ids` names, for a loan or
/// allocation that asks for them; a retired or unknown kit is refused
/// naming the field.
pub(super) fn kit_assets(c: &Db<'_>, kit_ids: &[i64]) -> AppResult<Vec<(String, Vec<i64>)>> {
    let mut kits = Vec::new();
    for (i, &kit) in kit_ids.iter().enumerate() {
        let live: Option<(String, Option<i64>)> = c
            .prepare_cached("SELECT name, retired_at FROM kits WHERE id = ?1")?
            .query_row([kit], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match live {
            Some((name, None)) => kits.push((name, member_ids(c, kit)?)),
            _ => {
                return Err(Reason::DoesNotExist {
                    field: format!("kit_ids[{i}]"),
                    id: kit,
                }
                .into())
            }
        }
    }
    Ok(kits)
}

/// The kit members request `request` holds at `status` ("requested" before
/// check-out, "received" while on loan), as (asset, kit).
pub(super) fn kit_members_held(
    c: &Db<'_>,
    request: i64,
    status: &str,
) -> AppResult<Vec<(i64, i64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.asset_id, m.kit_id FROM request_items i
         JOIN kit_members m ON m.asset_id = i.asset_id
         WHERE i.request_id = ?1 AND i.active = 1 AND i.status = ?2
         ORDER BY m.kit_id, i.asset_id",
    )?;
    let held = stmt
        .query_map((request, status), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(held)
}

/// A desk scan that moves `moving` of the kit members `held` (as
/// [`kit_members_held`] read them before the scan) must move every member
/// of each kit it touches; else it is refused naming the kit and its
/// members left behind.
pub(super) fn kit_whole(c: &Db<'_>, held: &[(i64, i64)], moving: &[i64]) -> AppResult<()> {
    if let Some((kit, left)) = missing_members(held, moving).into_iter().next() {
        let missing = left
            .iter()
            .map(|&a| asset_ref(c, a))
            .collect::<AppResult<Vec<_>>>()?;
        return Err(Reason::KitIncomplete {
            kit: kit_name(c, kit)?,
            missing,
        }
        .into());
    }
    Ok(())
}

/// Logs a kit's making (`add`) or taking apart (`delete`) with the members
/// it names, for the EPCIS export's AggregationEvents (`kit_members`
/// forgets a retired kit's members).
fn log_kit_event(tx: &Db<'_>, kit: i64, action: &str, members: &[i64]) -> AppResult<()> {
    tx.prepare_cached("INSERT INTO kit_events (kit_id, action, at) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![kit, action, now_ms()])?;
    let event = tx.last_insert_rowid()?;
    for &asset in members {
        tx.prepare_cached("INSERT INTO kit_event_members (event_id, asset_id) VALUES (?1, ?2)")?
            .execute((event, asset))?;
    }
    Ok(())
}

impl Store {
    /// Makes a kit of in-stock assets that are in no other kit; the
    /// keepers of the assets' warehouses make kits.
    pub async fn create_kit(&self, ctx: Ctx, new: NewKit) -> AppResult<Kit> {
        let name = required_text("name", &new.name, 100)?;
        let notes = optional_text("notes", new.notes.as_deref(), 1000)?;
        if new.asset_ids.is_empty() {
            return Err(Reason::Required {
                field: "asset_ids".into(),
            }
            .into());
        }
        if new.asset_ids.len() > MAX_MEMBERS {
            return Err(Reason::TooMany {
                field: "asset_ids".into(),
                max: MAX_MEMBERS,
                given: Some(new.asset_ids.len()),
            }
            .into());
        }
        let mut ids = new.asset_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != new.asset_ids.len() {
            return Err(Reason::AssetNamedTwice.into());
        }
        self.write(move |tx| {
            for &id in &new.asset_ids {
                let a = get_asset(tx, id).map_err(|e| e.with_field("asset_ids"))?;
                authorize(&ctx.actor, Action::UpdateAsset, a.scope())?;
                if a.state != AssetState::InStock {
                    return Err(Reason::NotEligible {
                        asset: a.asset_ref(),
                        state: a.state.as_str().into(),
                        rule: Eligibility::KitFromStock,
                    }
                    .into());
                }
                if let Some((_, kit)) = kit_of(tx, id)? {
                    return Err(Reason::InOtherKit {
                        asset: a.asset_ref(),
                        kit,
                    }
                    .into());
                }
            }
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM kits WHERE name = ?1 AND retired_at IS NULL)",
                )?
                .query_row([&name], |r| r.get(0))?;
            if taken {
                return Err(Reason::Duplicate {
                    field: Some("name".into()),
                    detail: format!("kit `{name}`"),
                }
                .into());
            }
            tx.prepare_cached(
                "INSERT INTO kits (name, notes, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(rusqlite::params![name, notes, ctx.actor.label(), now_ms()])?;
            let kit = tx.last_insert_rowid()?;
            for &id in &new.asset_ids {
                tx.prepare_cached("INSERT INTO kit_members (kit_id, asset_id) VALUES (?1, ?2)")?
                    .execute((kit, id))?;
            }
            log_kit_event(tx, kit, "add", &new.asset_ids)?;
            load_kit(tx, kit)
        })
        .await
    }

    /// Kits in use (not retired), by name.
    pub async fn kits(&self) -> AppResult<Vec<Kit>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM kits WHERE retired_at IS NULL ORDER BY name, id LIMIT 1000",
            )?;
            let ids: Vec<i64> = stmt
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter().map(|id| load_kit(c, id)).collect()
        })
        .await
    }

    pub async fn kit(&self, id: i64) -> AppResult<Kit> {
        self.read(move |c| load_kit(c, id)).await
    }

    /// Takes a kit apart: its members are single assets again. Not while
    /// an open request holds them.
    pub async fn retire_kit(&self, ctx: Ctx, id: i64) -> AppResult<Kit> {
        self.write(move |tx| {
            let kit = load_kit(tx, id)?;
            if kit.retired_at.is_some() {
                return Ok(kit);
            }
            for m in &kit.members {
                authorize(
                    &ctx.actor,
                    Action::UpdateAsset,
                    get_asset(tx, m.asset_id)?.scope(),
                )?;
            }
            if let Some(request_id) = kit.held_by_request {
                return Err(Reason::KitInUse {
                    kit: kit.name,
                    request_id,
                }
                .into());
            }
            let members: Vec<i64> = kit.members.iter().map(|m| m.asset_id).collect();
            log_kit_event(tx, id, "delete", &members)?;
            tx.prepare_cached("DELETE FROM kit_members WHERE kit_id = ?1")?
                .execute([id])?;
            tx.prepare_cached("UPDATE kits SET retired_at = ?2 WHERE id = ?1")?
                .execute((id, now_ms()))?;
            let mut kit = load_kit(tx, id)?;
            // The members it had, for the answer.
            kit.members = Vec::new();
            Ok(kit)
        })
        .await
    }
}
