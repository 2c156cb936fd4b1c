//! Reference data of the register: units, warehouses, locations,
//! categories, procurement batches, settings (readers: `daemons.rs`).

use crate::store::db::{Db, OptionalExtension};

use super::{paging, Store};
use crate::error::{AppError, AppResult};
use crate::input::{optional_text, parse_date, required_text};
use crate::paging::Page;
use crate::register::*;
use crate::time::{now_ms, ts};

pub(crate) fn get_setting(conn: &Db<'_>, key: &str) -> AppResult<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// 422 naming `field` when `id` is not a row of `table`. `table` is always
/// a literal from this module.
pub(crate) fn require_exists(conn: &Db<'_>, table: &str, field: &str, id: i64) -> AppResult<()> {
    let found: bool = conn
        .prepare_cached(&format!(
            "SELECT EXISTS(SELECT 1 FROM {table} WHERE id = ?1)"
        ))?
        .query_row([id], |r| r.get(0))?;
    if found {
        Ok(())
    } else {
        Err(crate::error::Reason::DoesNotExist {
            field: field.into(),
            id,
        }
        .into())
    }
}

fn row_to_unit(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Unit> {
    let level: String = r.get(3)?;
    Ok(Unit {
        id: r.get(0)?,
        name: r.get(1)?,
        parent_id: r.get(2)?,
        level: UnitLevel::parse(&level).unwrap_or(UnitLevel::Unit),
        created_at: ts(r.get(4)?),
        region_id: r.get(5)?,
        staff_count: r.get(6)?,
    })
}

impl Store {
    pub async fn create_unit(&self, u: NewUnit) -> AppResult<Unit> {
        let name = required_text("name", &u.name, 200)?;
        self.write(move |tx| {
            if let Some(p) = u.parent_id {
                require_exists(tx, "units", "parent_id", p)?;
            }
            if let Some(r) = u.region_id {
                require_exists(tx, "regions", "region_id", r)?;
            }
            let level = u.level.unwrap_or(UnitLevel::Unit);
            let now = now_ms();
            tx.execute(
                "INSERT INTO units (name, parent_id, level, region_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (&name, u.parent_id, level.as_str(), u.region_id, now),
            )?;
            Ok(Unit {
                id: tx.last_insert_rowid()?,
                name,
                parent_id: u.parent_id,
                level,
                region_id: u.region_id,
                created_at: ts(now),
                staff_count: None,
            })
        })
        .await
    }

    pub async fn get_unit(&self, id: i64) -> AppResult<Unit> {
        self.read(move |c| {
            c.query_row(
                "SELECT id, name, parent_id, level, created_at, region_id, staff_count
                 FROM units WHERE id = ?1",
                [id],
                row_to_unit,
            )
            .optional()?
            .ok_or_else(|| AppError::not_found("unit", id))
        })
        .await
    }

    pub async fn list_units(&self, page: i64, per_page: i64) -> AppResult<Page<Unit>> {
        self.search_units(None, page, per_page).await
    }

    /// Units whose name holds `q`.
    pub async fn search_units(
        &self,
        q: Option<String>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<Unit>> {
        let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        self.read(move |c| {
            paging::page(
                c,
                "id, name, parent_id, level, created_at, region_id, staff_count",
                "units WHERE (?1 IS NULL OR instr(name, ?1) > 0)",
                "id",
                &[words.clone().into()],
                (page, per_page),
                row_to_unit,
            )
        })
        .await
    }

    pub async fn create_warehouse(&self, w: NewWarehouse) -> AppResult<Warehouse> {
        let name = required_text("name", &w.name, 200)?;
        let address = optional_text("address", w.address.as_deref(), 500)?;
        let sgln = crate::register::sgln("sgln", w.sgln.as_deref())?;
        self.write(move |tx| {
            if let Some(r) = w.region_id {
                require_exists(tx, "regions", "region_id", r)?;
            }
            let now = now_ms();
            tx.execute(
                "INSERT INTO warehouses (name, address, region_id, created_at, sgln)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (&name, &address, w.region_id, now, &sgln),
            )?;
            Ok(Warehouse {
                id: tx.last_insert_rowid()?,
                name,
                address,
                region_id: w.region_id,
                created_at: ts(now),
            })
        })
        .await
    }

    pub async fn list_warehouses(&self, page: i64, per_page: i64) -> AppResult<Page<Warehouse>> {
        self.read(move |c| {
            paging::page(
                c,
                "id, name, address, created_at, region_id",
                "warehouses",
                "id",
                &[],
                (page, per_page),
                |r| {
                    Ok(Warehouse {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        address: r.get(2)?,
                        created_at: ts(r.get(3)?),
                        region_id: r.get(4)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn create_location(&self, warehouse_id: i64, l: NewLocation) -> AppResult<Location> {
        let code = required_text("code", &l.code, 50)?;
        let name = required_text("name", &l.name, 200)?;
        let sgln = crate::register::sgln("sgln", l.sgln.as_deref())?;
        self.write(move |tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM warehouses WHERE id = ?1)",
                [warehouse_id],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(AppError::not_found("warehouse", warehouse_id));
            }
            tx.execute(
                "INSERT INTO locations (warehouse_id, code, name, sgln) VALUES (?1, ?2, ?3, ?4)",
                (warehouse_id, &code, &name, &sgln),
            )?;
            Ok(Location {
                id: tx.last_insert_rowid()?,
                warehouse_id,
                code,
                name,
            })
        })
        .await
    }

    pub async fn list_locations(
        &self,
        warehouse_id: i64,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<Location>> {
        self.read(move |c| {
            require_exists(c, "warehouses", "warehouse_id", warehouse_id)
                .map_err(|_| AppError::not_found("warehouse", warehouse_id))?;
            paging::page(
                c,
                "id, warehouse_id, code, name",
                "locations WHERE warehouse_id = ?1",
                "id",
                &[warehouse_id.into()],
                (page, per_page),
                |r| {
                    Ok(Location {
                        id: r.get(0)?,
                        warehouse_id: r.get(1)?,
                        code: r.get(2)?,
                        name: r.get(3)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn create_category(&self, cat: NewCategory) -> AppResult<Category> {
        let code = required_text("code", &cat.code, 50)?;
        let name = required_text("name", &cat.name, 200)?;
        self.write(move |tx| {
            if let Some(p) = cat.parent_id {
                require_exists(tx, "categories", "parent_id", p)?;
            }
            tx.execute(
                "INSERT INTO categories (code, name, parent_id) VALUES (?1, ?2, ?3)",
                (&code, &name, cat.parent_id),
            )?;
            Ok(Category {
                id: tx.last_insert_rowid()?,
                code,
                name,
                parent_id: cat.parent_id,
            })
        })
        .await
    }

    pub async fn list_categories(&self, page: i64, per_page: i64) -> AppResult<Page<Category>> {
        self.read(move |c| {
            paging::page(
                c,
                "id, code, name, parent_id",
                "categories",
                "id",
                &[],
                (page, per_page),
                |r| {
                    Ok(Category {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        name: r.get(2)?,
                        parent_id: r.get(3)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn create_batch(&self, b: NewBatch) -> AppResult<Batch> {
        let code = required_text("code", &b.code, 50)?;
        let supplier = optional_text("supplier", b.supplier.as_deref(), 200)?;
        let notes = optional_text("notes", b.notes.as_deref(), 2000)?;
        let purchased_on = parse_date("purchased_on", b.purchased_on.as_deref())?;
        if let Some(t) = b.total_fen {
            crate::money::amount("total_fen", t)?;
        }
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO procurement_batches (code, supplier, purchased_on, total_fen, notes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (&code, &supplier, &purchased_on, b.total_fen, &notes, now_ms()),
            )?;
            Ok(Batch {
                id: tx.last_insert_rowid()?,
                code,
                supplier,
                purchased_on,
                total_fen: b.total_fen,
                notes,
            })
        })
        .await
    }

    pub async fn list_batches(&self, page: i64, per_page: i64) -> AppResult<Page<Batch>> {
        self.read(move |c| {
            paging::page(
                c,
                "id, code, supplier, purchased_on, total_fen, notes",
                "procurement_batches",
                "id",
                &[],
                (page, per_page),
                |r| {
                    Ok(Batch {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        supplier: r.get(2)?,
                        purchased_on: r.get(3)?,
                        total_fen: r.get(4)?,
                        notes: r.get(5)?,
                    })
                },
            )
        })
        .await
    }
}

fn row_to_region(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Region> {
    let level: String = r.get(2)?;
    Ok(Region {
        id: r.get(0)?,
        name: r.get(1)?,
        level: RegionLevel::parse(&level).unwrap_or(RegionLevel::County),
        parent_id: r.get(3)?,
        agency: r.get(4)?,
        created_at: ts(r.get(5)?),
    })
}

const REGION_COLUMNS: &str = "id, name, level, parent_id, agency, created_at";

impl Store {
    /// A region of the network: a province at the top, a city under a
    /// province, a county under a city (refused otherwise, naming the
    /// level the parent must have).
    pub async fn create_region(&self, n: NewRegion) -> AppResult<Region> {
        let name = required_text("name", &n.name, 200)?;
        let agency = match optional_text("agency", n.agency.as_deref(), 200)? {
            Some(a) => a,
            None => format!("{name}机关事务管理局"),
        };
        self.write(move |tx| {
            let parent_level = match n.parent_id {
                None => None,
                Some(p) => {
                    let level: Option<String> = tx
                        .query_row("SELECT level FROM regions WHERE id = ?1", [p], |r| r.get(0))
                        .optional()?;
                    match level {
                        Some(l) => RegionLevel::parse(&l),
                        None => {
                            return Err(crate::error::Reason::DoesNotExist {
                                field: "parent_id".into(),
                                id: p,
                            }
                            .into())
                        }
                    }
                }
            };
            let expected = n.level.parent();
            if parent_level != expected {
                return Err(crate::error::Reason::RegionParent {
                    level: n.level.as_str().into(),
                    parent: expected.map(|l| l.as_str().to_owned()),
                }
                .into());
            }
            let now = now_ms();
            tx.execute(
                "INSERT INTO regions (name, level, parent_id, agency, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (&name, n.level.as_str(), n.parent_id, &agency, now),
            )?;
            Ok(Region {
                id: tx.last_insert_rowid()?,
                name,
                level: n.level,
                parent_id: n.parent_id,
                agency,
                created_at: ts(now),
            })
        })
        .await
    }

    /// Every region, in id order (a parent is made before its children).
    pub async fn list_regions(&self, page: i64, per_page: i64) -> AppResult<Page<Region>> {
        self.read(move |c| {
            paging::page(
                c,
                REGION_COLUMNS,
                "regions",
                "id",
                &[],
                (page, per_page),
                row_to_region,
            )
        })
        .await
    }

    pub async fn get_region(&self, id: i64) -> AppResult<Region> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {REGION_COLUMNS} FROM regions WHERE id = ?1"),
                [id],
                row_to_region,
            )
            .optional()?
            .ok_or_else(|| AppError::not_found("region", id))
        })
        .await
    }
}

/// `id` and every region below it (its cities' counties included), in
/// id order: what a region's figures roll up and whom its people reach.
/// The tree is three levels deep, so two steps down find everything.
pub(crate) fn region_and_below(c: &Db<'_>, id: i64) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = c
        .prepare_cached(
            "SELECT id FROM regions
             WHERE id = ?1 OR parent_id = ?1
                OR parent_id IN (SELECT r.id FROM regions r WHERE r.parent_id = ?1)",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}
