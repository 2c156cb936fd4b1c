//! Acquisitions (取得): one recorded arrival with its source details and
//! documents, creating its assets in stock in the same transaction, each
//! with its source on the row and a `registered` event carrying the source
//! (the same insert and chain as any registration: `assets::insert_asset`,
//! `events::append`).

use serde_json::json;

use super::assets::{get_asset, insert_asset};
use super::db::{Db, OptionalExtension};
use super::events::{append, NewEvent};
use super::register::require_exists;
use super::Store;
use crate::acquisition::{
    Acquisition, AcquisitionDocument, AssetSource, NewAcquisition, NewDocument,
};
use crate::error::{AppError, AppResult, Reason};
use crate::policy::{authorize, Action, Actor, Ctx, Scope};
use crate::register::AssetState;
use crate::time::{now_ms, ts};

fn row_to_acquisition(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Acquisition> {
    let source: String = r.get(1)?;
    Ok(Acquisition {
        id: r.get(0)?,
        source: AssetSource::parse(&source).unwrap_or(AssetSource::Register),
        received_on: r.get(2)?,
        document_number: r.get(3)?,
        from_agency: r.get(4)?,
        donor: r.get(5)?,
        body_name: r.get(6)?,
        on_behalf_unit_id: r.get(7)?,
        authority: r.get(8)?,
        location_id: r.get(9)?,
        notes: r.get(10)?,
        created_by: r.get(11)?,
        created_at: ts(r.get(12)?),
        asset_ids: Vec::new(),
        documents: Vec::new(),
    })
}

pub(crate) fn get_acquisition(c: &Db<'_>, id: i64) -> AppResult<Acquisition> {
    let mut a = c
        .prepare_cached(
            "SELECT id, source, received_on, document_number, from_agency, donor, body_name,
                    on_behalf_unit_id, authority, location_id, notes, created_by, created_at
             FROM acquisitions WHERE id = ?1",
        )?
        .query_row([id], row_to_acquisition)
        .optional()?
        .ok_or_else(|| AppError::not_found("acquisition", id))?;
    a.asset_ids = c
        .prepare_cached("SELECT id FROM assets WHERE acquisition_id = ?1 ORDER BY id")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    a.documents = c
        .prepare_cached(
            "SELECT id, filename, content_type, size, uploaded_by, uploaded_at
             FROM documents WHERE acquisition_id = ?1 ORDER BY id",
        )?
        .query_map([id], |r| {
            Ok(AcquisitionDocument {
                id: r.get(0)?,
                filename: r.get(1)?,
                content_type: r.get(2)?,
                size: r.get(3)?,
                uploaded_by: r.get(4)?,
                uploaded_at: ts(r.get(5)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(a)
}

/// The region of the warehouse `location` is in (the acquisition's
/// scope); an unknown location is refused naming `location_id`.
fn location_region(c: &Db<'_>, location: i64) -> AppResult<Option<i64>> {
    require_exists(c, "locations", "location_id", location)?;
    Ok(c.query_row(
        "SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
         WHERE l.id = ?1",
        [location],
        |r| r.get(0),
    )?)
}

fn insert_document(
    tx: &Db<'_>,
    actor: &Actor,
    acquisition: i64,
    doc: &NewDocument,
) -> AppResult<i64> {
    use sha2::Digest;
    let sha = sha2::Sha256::digest(&doc.data).to_vec();
    tx.execute(
        "INSERT INTO documents (acquisition_id, filename, content_type, size, sha256, data,
             uploaded_by, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            acquisition,
            doc.filename,
            doc.content_type,
            doc.data.len() as i64,
            sha,
            doc.data,
            actor.label(),
            now_ms()
        ],
    )?;
    Ok(tx.last_insert_rowid()?)
}

/// Records `n` (checked) and its assets; all or nothing.
fn create(
    tx: &Db<'_>,
    ctx: &Ctx,
    mut n: NewAcquisition,
    doc: Option<&NewDocument>,
) -> AppResult<i64> {
    let assets = n.check(&crate::time::shanghai_today())?;
    let region = location_region(tx, n.location_id)?;
    authorize(&ctx.actor, Action::CreateAsset, Scope::Stock { region })?;
    // Every reference and number, each problem under its own field.
    let mut errors: Vec<AppError> = Vec::new();
    if let Some(u) = n.on_behalf_unit_id {
        if let Err(e) = require_exists(tx, "units", "on_behalf_unit_id", u) {
            errors.push(e);
        }
    }
    for (i, a) in assets.iter().enumerate() {
        if let Err(e) = require_exists(tx, "categories", "category_id", a.category_id) {
            errors.push(e.with_field(format!("assets[{i}].category_id")));
        }
        let taken: Option<i64> = tx
            .prepare_cached("SELECT id FROM assets WHERE asset_number = ?1")?
            .query_row([&a.asset_number], |r| r.get(0))
            .optional()?;
        if taken.is_some() {
            errors.push(
                AppError::from(Reason::Duplicate {
                    field: Some("asset_number".into()),
                    detail: format!("asset number {} is in the register", a.asset_number),
                })
                .with_field(format!("assets[{i}].asset_number")),
            );
        }
    }
    AppError::collect(errors)?;
    tx.execute(
        "INSERT INTO acquisitions (source, received_on, document_number, from_agency, donor,
             body_name, on_behalf_unit_id, authority, location_id, notes, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        rusqlite::params![
            n.source.as_str(),
            n.received_on,
            n.document_number,
            n.from_agency,
            n.donor,
            n.body_name,
            n.on_behalf_unit_id,
            n.authority,
            n.location_id,
            n.notes,
            ctx.actor.label(),
            now_ms()
        ],
    )?;
    let id = tx.last_insert_rowid()?;
    if let Some(doc) = doc {
        insert_document(tx, &ctx.actor, id, doc)?;
    }
    let details = json!({
        "acquisition": id,
        "source": n.source.as_str(),
        "received_on": n.received_on,
        "document_number": n.document_number,
        "from_agency": n.from_agency,
        "donor": n.donor,
        "body_name": n.body_name,
        "on_behalf_unit_id": n.on_behalf_unit_id,
        "authority": n.authority,
    });
    for a in &assets {
        let asset = insert_asset(tx, ctx, a, AssetState::InStock, false)?;
        tx.execute(
            "UPDATE assets SET source = ?2, acquisition_id = ?3 WHERE id = ?1",
            (asset, n.source.as_str(), id),
        )?;
        let mut d = details.clone();
        d["asset_number"] = json!(a.asset_number);
        d["name"] = json!(a.name);
        d["state"] = json!(AssetState::InStock.as_str());
        d["original_value_fen"] = json!(a.original_value_fen);
        append(
            tx,
            ctx,
            NewEvent {
                asset_id: asset,
                action: "registered",
                place: Some(format!("location:{}", n.location_id)),
                reason: None,
                details: d,
            },
        )?;
        // Its stock region decides, as for any registration.
        authorize(
            &ctx.actor,
            Action::CreateAsset,
            get_asset(tx, asset)?.scope(),
        )?;
    }
    Ok(id)
}

/// Whether `actor` may see acquisition `id`'s documents (its warehouse's
/// register).
pub(crate) fn document_visible(c: &Db<'_>, actor: &Actor, id: i64) -> AppResult<()> {
    let location: i64 = c.query_row(
        "SELECT location_id FROM acquisitions WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let region = location_region(c, location)?;
    authorize(actor, Action::ViewRegister, Scope::Stock { region })
}

impl Store {
    /// Records an acquisition and creates its assets in stock, with its
    /// document when one is given; one transaction.
    pub async fn create_acquisition(
        &self,
        ctx: Ctx,
        n: NewAcquisition,
        doc: Option<NewDocument>,
    ) -> AppResult<Acquisition> {
        self.write(move |tx| {
            let id = create(tx, &ctx, n, doc.as_ref())?;
            get_acquisition(tx, id)
        })
        .await
    }

    /// An acquisition, for those who may see the register.
    pub async fn acquisition(&self, actor: Actor, id: i64) -> AppResult<Acquisition> {
        self.read(move |c| {
            let a = get_acquisition(c, id)?;
            let region = location_region(c, a.location_id)?;
            authorize(&actor, Action::ViewRegister, Scope::Stock { region })
                .map_err(|_| AppError::not_found("acquisition", id))?;
            Ok(a)
        })
        .await
    }

    /// Attaches a document to an acquisition (type and size checked by the
    /// caller), by those who may register assets in its warehouse.
    pub async fn add_acquisition_document(
        &self,
        actor: Actor,
        id: i64,
        doc: NewDocument,
    ) -> AppResult<Acquisition> {
        self.write(move |tx| {
            let a = get_acquisition(tx, id)?;
            let region = location_region(tx, a.location_id)?;
            authorize(&actor, Action::CreateAsset, Scope::Stock { region })?;
            insert_document(tx, &actor, id, &doc)?;
            get_acquisition(tx, id)
        })
        .await
    }
}
