//! Rentals (管理+租用): suppliers, rental contracts and their temporarily
//! tagged items (see [`crate::rentals`]). Nothing here touches `assets`.

use crate::store::db::{Db, OptionalExtension};

use super::register::require_exists;
use super::Store;
use crate::error::{AppError, AppResult, Reason};
use crate::input::{optional_text, parse_date, required_text};
use crate::money::amount;
use crate::policy::{authorize, Action, Ctx, Scope};
use crate::rentals::*;
use crate::time::{now_ms, ts};

/// Rentals are the warehouse's business: its keepers record them.
fn keepers_only(ctx: &Ctx) -> AppResult<()> {
    authorize(&ctx.actor, Action::UpdateAsset, Scope::Warehouse)
}

fn epc_bytes(field: &str, epc: &str) -> AppResult<Vec<u8>> {
    shared::hex::decode(epc.trim()).map_err(|e| {
        Reason::NotHex {
            field: field.into(),
            value: epc.into(),
            detail: e.to_string(),
        }
        .into()
    })
}

fn load_rental(c: &Db<'_>, id: i64) -> AppResult<Rental> {
    let mut rental = c
        .prepare_cached(
            "SELECT r.id, r.supplier_id, s.name, r.request_id, COALESCE(q.event, q.reason), r.contract_number,
                    r.starts, r.ends, r.cost_fen, r.status, r.created_by, r.created_at, r.closed_at
             FROM rentals r JOIN suppliers s ON s.id = r.supplier_id
             LEFT JOIN requests q ON q.id = r.request_id
             WHERE r.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Rental {
                id: r.get(0)?,
                supplier_id: r.get(1)?,
                supplier: r.get(2)?,
                request_id: r.get(3)?,
                event: r.get(4)?,
                contract_number: r.get(5)?,
                starts: r.get(6)?,
                ends: r.get(7)?,
                cost_fen: r.get(8)?,
                status: r.get(9)?,
                created_by: r.get(10)?,
                created_at: ts(r.get(11)?),
                closed_at: r.get::<_, Option<i64>>(12)?.map(ts),
                items: Vec::new(),
            })
        })
        .optional()?
        .ok_or_else(|| AppError::not_found("rental", id))?;
    let mut stmt = c.prepare_cached(
        "SELECT id, description, category_id, epc, status FROM rental_items
         WHERE rental_id = ?1 ORDER BY id",
    )?;
    rental.items = stmt
        .query_map([id], |r| {
            Ok(RentalItem {
                id: r.get(0)?,
                description: r.get(1)?,
                category_id: r.get(2)?,
                epc: shared::hex::Hex(&r.get::<_, Vec<u8>>(3)?).to_string(),
                status: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rental)
}

impl Store {
    pub async fn create_supplier(&self, ctx: Ctx, new: NewSupplier) -> AppResult<Supplier> {
        keepers_only(&ctx)?;
        let name = required_text("name", &new.name, 200)?;
        let contact = optional_text("contact", new.contact.as_deref(), 100)?;
        let phone = optional_text("phone", new.phone.as_deref(), 50)?;
        let notes = optional_text("notes", new.notes.as_deref(), 1000)?;
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO suppliers (name, contact, phone, notes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![name, contact, phone, notes, now_ms()])
            .map_err(|e| AppError::from(e).with_field("name"))?;
            Ok(Supplier {
                id: tx.last_insert_rowid()?,
                name,
                contact,
                phone,
                notes,
            })
        })
        .await
    }

    pub async fn suppliers(&self) -> AppResult<Vec<Supplier>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, contact, phone, notes FROM suppliers ORDER BY name LIMIT 1000",
            )?;
            let rows = stmt.query_map((), |r| {
                Ok(Supplier {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    contact: r.get(2)?,
                    phone: r.get(3)?,
                    notes: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Records a rental as its items arrive, each with its temporary tag.
    /// A tag already bound to a registered asset, or to another rented
    /// item not yet back with its supplier, is refused naming it.
    pub async fn create_rental(&self, ctx: Ctx, new: NewRental) -> AppResult<Rental> {
        keepers_only(&ctx)?;
        let contract = required_text("contract_number", &new.contract_number, 100)?;
        let starts = parse_date("starts", Some(&new.starts))?.ok_or_else(|| {
            AppError::from(Reason::Required {
                field: "starts".into(),
            })
        })?;
        let ends = parse_date("ends", Some(&new.ends))?.ok_or_else(|| {
            AppError::from(Reason::Required {
                field: "ends".into(),
            })
        })?;
        if ends < starts {
            return Err(Reason::RentalEndsBeforeStart.into());
        }
        let cost = amount("cost_fen", new.cost_fen)?;
        if new.items.is_empty() {
            return Err(Reason::Required {
                field: "items".into(),
            }
            .into());
        }
        if new.items.len() > MAX_ITEMS {
            return Err(Reason::TooMany {
                field: "items".into(),
                max: MAX_ITEMS,
                given: Some(new.items.len()),
            }
            .into());
        }
        let mut items = Vec::with_capacity(new.items.len());
        for (i, it) in new.items.iter().enumerate() {
            let description =
                required_text(&format!("items[{i}].description"), &it.description, 200)?;
            let field = format!("items[{i}].epc");
            let epc = epc_bytes(&field, &it.epc)?;
            if items
                .iter()
                .any(|(_, _, e, _): &(String, Option<i64>, Vec<u8>, String)| *e == epc)
            {
                return Err(Reason::TagInUse {
                    field,
                    epc: it.epc.trim().to_ascii_uppercase(),
                    by: "rental".into(),
                }
                .into());
            }
            items.push((description, it.category_id, epc, field));
        }
        self.write(move |tx| {
            require_exists(tx, "suppliers", "supplier_id", new.supplier_id)?;
            if let Some(r) = new.request_id {
                let kind: Option<String> = tx
                    .prepare_cached("SELECT kind FROM requests WHERE id = ?1")?
                    .query_row([r], |row| row.get(0))
                    .optional()?;
                match kind.as_deref() {
                    None => {
                        return Err(Reason::DoesNotExist {
                            field: "request_id".into(),
                            id: r,
                        }
                        .into())
                    }
                    Some("loan") => {}
                    Some(other) => {
                        return Err(Reason::RentalForLoans {
                            request_id: r,
                            kind: other.into(),
                        }
                        .into())
                    }
                }
            }
            for (_, category, epc, field) in &items {
                if let Some(c) = category {
                    require_exists(tx, "categories", "category_id", *c)
                        .map_err(|e| e.with_field(field.replace(".epc", ".category_id")))?;
                }
                let registered: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS(SELECT 1 FROM tags WHERE epc = ?1 AND unbound_at IS NULL)",
                    )?
                    .query_row([epc], |r| r.get(0))?;
                let rented: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS(SELECT 1 FROM rental_items
                                       WHERE epc = ?1 AND status <> 'returned')",
                    )?
                    .query_row([epc], |r| r.get(0))?;
                if registered || rented {
                    return Err(Reason::TagInUse {
                        field: field.clone(),
                        epc: shared::hex::Hex(epc).to_string(),
                        by: if registered { "asset" } else { "rental" }.into(),
                    }
                    .into());
                }
            }
            tx.prepare_cached(
                "INSERT INTO rentals (supplier_id, request_id, contract_number, starts, ends,
                     cost_fen, status, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
            )?
            .execute(rusqlite::params![
                new.supplier_id,
                new.request_id,
                contract,
                starts,
                ends,
                cost,
                ctx.actor.label(),
                now_ms()
            ])
            .map_err(|e| AppError::from(e).with_field("contract_number"))?;
            let id = tx.last_insert_rowid()?;
            for (description, category, epc, _) in &items {
                tx.prepare_cached(
                    "INSERT INTO rental_items (rental_id, description, category_id, epc, status)
                     VALUES (?1, ?2, ?3, ?4, 'received')",
                )?
                .execute(rusqlite::params![id, description, category, epc])?;
            }
            load_rental(tx, id)
        })
        .await
    }

    pub async fn rental(&self, id: i64) -> AppResult<Rental> {
        self.read(move |c| load_rental(c, id)).await
    }

    /// Rentals, newest first; `open_only` keeps those not yet back with
    /// their supplier.
    pub async fn rentals(
        &self,
        request_id: Option<i64>,
        open_only: bool,
    ) -> AppResult<Vec<Rental>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM rentals
                 WHERE (?1 IS NULL OR request_id = ?1) AND (?2 = 0 OR status = 'open')
                 ORDER BY id DESC LIMIT 500",
            )?;
            let ids: Vec<i64> = stmt
                .query_map(rusqlite::params![request_id, open_only], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter().map(|id| load_rental(c, id)).collect()
        })
        .await
    }

    /// Rented items scanned at the desk, out with the event or back from
    /// it. Every tag must be one of this rental's items at the status the
    /// move starts from; else nothing moves and the tag is named.
    pub async fn move_rental_items(
        &self,
        ctx: Ctx,
        id: i64,
        mv: RentalMove,
        scan: RentalScan,
    ) -> AppResult<Rental> {
        keepers_only(&ctx)?;
        if scan.epcs.is_empty() {
            return Err(Reason::NothingScanned.into());
        }
        if scan.epcs.len() > MAX_ITEMS {
            return Err(Reason::TooMany {
                field: "epcs".into(),
                max: MAX_ITEMS,
                given: Some(scan.epcs.len()),
            }
            .into());
        }
        let epcs = scan
            .epcs
            .iter()
            .enumerate()
            .map(|(i, e)| Ok((format!("epcs[{i}]"), epc_bytes(&format!("epcs[{i}]"), e)?)))
            .collect::<AppResult<Vec<_>>>()?;
        self.write(move |tx| {
            let rental = load_rental(tx, id)?;
            if rental.status != "open" {
                return Err(Reason::RentalClosed { rental_id: id }.into());
            }
            let (from, to) = mv.from_to();
            let now = now_ms();
            for (field, epc) in &epcs {
                let hex = shared::hex::Hex(epc).to_string();
                let Some(item) = rental.items.iter().find(|i| i.epc == hex) else {
                    return Err(Reason::NotThisRental {
                        field: field.clone(),
                        epc: hex,
                        status: None,
                    }
                    .into());
                };
                if item.status != from {
                    return Err(Reason::NotThisRental {
                        field: field.clone(),
                        epc: hex,
                        status: Some(item.status.clone()),
                    }
                    .into());
                }
                let at = if mv == RentalMove::Out {
                    "out_at"
                } else {
                    "back_at"
                };
                tx.prepare_cached(&format!(
                    "UPDATE rental_items SET status = ?2, {at} = ?3 WHERE id = ?1"
                ))?
                .execute(rusqlite::params![item.id, to, now])?;
            }
            load_rental(tx, id)
        })
        .await
    }

    /// Every item goes back to the supplier and the rental closes; an item
    /// still out with the event is named and nothing changes.
    pub async fn return_rental(&self, ctx: Ctx, id: i64) -> AppResult<Rental> {
        keepers_only(&ctx)?;
        self.write(move |tx| {
            let rental = load_rental(tx, id)?;
            if rental.status != "open" {
                return Err(Reason::RentalClosed { rental_id: id }.into());
            }
            let out: Vec<String> = rental
                .items
                .iter()
                .filter(|i| i.status == "out")
                .map(|i| format!("{} ({})", i.description, i.epc))
                .collect();
            if !out.is_empty() {
                return Err(Reason::RentalItemsOut {
                    rental_id: id,
                    items: out,
                }
                .into());
            }
            let now = now_ms();
            tx.prepare_cached("UPDATE rental_items SET status = 'returned' WHERE rental_id = ?1")?
                .execute([id])?;
            tx.prepare_cached(
                "UPDATE rentals SET status = 'returned', closed_at = ?2 WHERE id = ?1",
            )?
            .execute((id, now))?;
            load_rental(tx, id)
        })
        .await
    }
}
