//! The virtual warehouse (虚拟仓): idle assets units offer to others.

use super::*;

// ---------------------------------------------------------------------------
// Virtual warehouse.

/// An idle asset offered by a unit.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Listing {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    pub category_id: i64,
    pub model: Option<String>,
    pub condition: Condition,
    pub original_value_fen: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub notes: Option<String>,
    pub listed_at: chrono::DateTime<chrono::Utc>,
    /// An open transfer request already asks for it.
    pub requested: bool,
    /// A photo is at `/assets/{id}/photo`.
    pub has_photo: bool,
    /// The offering unit's region.
    pub region_id: Option<i64>,
    pub region_name: Option<String>,
    /// How near the offer is to the person browsing, nearest first (the
    /// order of the list): 0 their own region, 1 the same city (its
    /// counties, or the city itself), 2 elsewhere in the network.
    pub nearness: i64,
}

/// The setting that says how far re-use looks (三级联网): `region` (the
/// asker's own region only), `city` (also the city's other counties, the
/// city itself, a city's counties), `network` (everywhere; the default).
pub const REUSE_REACH_KEY: &str = "reuse.reach";

/// The largest [`nearness_sql`] re-use may look at, from the setting.
pub(crate) fn reuse_limit(c: &Db<'_>) -> AppResult<i64> {
    Ok(
        match crate::store::register::get_setting(c, REUSE_REACH_KEY)?.as_deref() {
            Some("region") => 0,
            Some("city") => 1,
            _ => 2,
        },
    )
}

/// How near the region `region` (an SQL expression) is to the region in
/// `near` (an SQL parameter): 0 the same (or nobody's region given), 1 the
/// same city (a county's city and its other counties; a city's counties),
/// 2 elsewhere. One rule for the virtual warehouse and purchase matches.
pub(crate) fn nearness_sql(region: &str, near: &str) -> String {
    format!(
        "CASE WHEN {near} IS NULL OR {region} = {near} THEN 0
              WHEN {region} = (SELECT n1.parent_id FROM regions n1 WHERE n1.id = {near})
                OR {region} IN (SELECT n2.id FROM regions n2 WHERE n2.parent_id = {near})
                OR ((SELECT n3.level FROM regions n3 WHERE n3.id = {near}) = 'county'
                    AND (SELECT n4.parent_id FROM regions n4 WHERE n4.id = {region})
                      = (SELECT n5.parent_id FROM regions n5 WHERE n5.id = {near}))
              THEN 1 ELSE 2 END"
    )
}

/// Offers `asset_id` in the virtual warehouse in the caller's
/// transaction (a unit's listing, or its answer to an idle finding).
pub(super) fn list_idle_blocking(
    tx: &Db<'_>,
    ctx: &Ctx,
    asset_id: i64,
    notes: Option<String>,
) -> AppResult<Asset> {
    let a = get_asset(tx, asset_id)?;
    authorize(&ctx.actor, Action::ListIdle, a.scope())?;
    let unit = a
        .holder_unit_id
        .ok_or_else(|| AppError::from(Reason::WarehouseStockNotListed))?;
    let moved = move_asset(
        tx,
        ctx,
        asset_id,
        AssetAction::ListIdle,
        Move {
            reason: notes.clone(),
            ..Move::default()
        },
    )?;
    tx.execute(
        "INSERT INTO idle_listings (asset_id, unit_id, notes, listed_by, listed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![asset_id, unit, notes, ctx.actor.label(), now_ms()],
    )?;
    Ok(moved)
}

impl Store {
    /// Offers an idle asset in the virtual warehouse.
    pub async fn list_idle(
        &self,
        ctx: Ctx,
        asset_id: i64,
        notes: Option<String>,
    ) -> AppResult<Asset> {
        let notes = optional_text("notes", notes.as_deref(), 1000)?;
        self.write(move |tx| list_idle_blocking(tx, &ctx, asset_id, notes))
            .await
    }

    /// Takes a listing back (not while a transfer request holds it).
    pub async fn unlist_idle(&self, ctx: Ctx, asset_id: i64) -> AppResult<Asset> {
        self.write(move |tx| {
            let a = get_asset(tx, asset_id)?;
            authorize(&ctx.actor, Action::ListIdle, a.scope())?;
            let held = holding_request(tx, asset_id)?;
            if let Some(r) = held {
                return Err(Reason::AskedFor {
                    request_id: r,
                    asset: a.asset_ref(),
                }
                .into());
            }
            remove_listing(tx, asset_id)?;
            move_asset(tx, &ctx, asset_id, AssetAction::Unlist, Move::default())
        })
        .await
    }

    /// Every unit's listings, those nearest `near` (the browsing
    /// person's region) first: re-use searches the caller's region, then
    /// its city, then the network.
    pub async fn virtual_warehouse(
        &self,
        category_id: Option<i64>,
        q: Option<String>,
        near: Option<i64>,
        paging: Paging,
    ) -> AppResult<Page<Listing>> {
        let (page, per_page) = paging.resolve()?;
        self.read(move |c| {
            let cat = category_id.unwrap_or(-1);
            // Words in the asset number, the asset's name or the unit's name.
            let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
            // How far the agencies let re-use look (a person of the whole
            // network sees everything).
            let limit = if near.is_some() { reuse_limit(c)? } else { 2 };
            // The count joins units too; a listing's unit always exists.
            crate::store::paging::page(
                c,
                "a.id, a.asset_number, a.name, a.category_id, a.model, a.condition,
                 a.original_value_fen, l.unit_id, u.name, l.notes, l.listed_at,
                 EXISTS (SELECT 1 FROM request_items i WHERE i.asset_id = a.id AND i.active = 1),
                 EXISTS (SELECT 1 FROM asset_photos p WHERE p.asset_id = a.id),
                 u.region_id, rg.name, nearness",
                &format!(
                    "(SELECT l0.*, {nearness} AS nearness
                      FROM idle_listings l0 JOIN units u0 ON u0.id = l0.unit_id) l
                     JOIN assets a ON a.id = l.asset_id JOIN units u ON u.id = l.unit_id
                     LEFT JOIN regions rg ON rg.id = u.region_id
                     WHERE l.nearness <= ?4 AND (?1 = -1 OR a.category_id = ?1)
                       AND (?2 IS NULL OR instr(a.asset_number, ?2) > 0 OR instr(a.name, ?2) > 0
                            OR instr(u.name, ?2) > 0)",
                    nearness = nearness_sql("u0.region_id", "?3")
                ),
                "nearness, l.listed_at DESC, a.id",
                &[cat.into(), words.into(), near.into(), limit.into()],
                (page, per_page),
                |r| {
                    let cond: String = r.get(5)?;
                    Ok(Listing {
                        asset_id: r.get(0)?,
                        asset_number: r.get(1)?,
                        name: r.get(2)?,
                        category_id: r.get(3)?,
                        model: r.get(4)?,
                        condition: Condition::parse(&cond).unwrap_or(Condition::Good),
                        original_value_fen: r.get(6)?,
                        unit_id: r.get(7)?,
                        unit_name: r.get(8)?,
                        notes: r.get(9)?,
                        listed_at: ts(r.get(10)?),
                        requested: r.get(11)?,
                        has_photo: r.get(12)?,
                        region_id: r.get(13)?,
                        region_name: r.get(14)?,
                        nearness: r.get(15)?,
                    })
                },
            )
        })
        .await
    }
}
