//! The register import's checks against the database and its one
//! transaction (issue 17). The file and row checks are `crate::import`'s;
//! this adds what needs the register — categories by name or code, units
//! and locations by name, the assets already registered, who may register
//! where — and then stores every row in one transaction: a new asset
//! through `assets::insert_asset` (the path `POST /api/v1/assets` takes,
//! with its `registered` event), a changed one through
//! `assets::record_update` (its `updated` event), an equal one not at all,
//! so a second import of the same file changes nothing.

use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use serde_json::json;

use super::assets::{get_asset, insert_asset, record_update};
use super::db::Db;
use super::Store;
use crate::error::AppResult;
use crate::import::{
    check_rows, map_columns, ColumnUse, Columns, Field, Mapping, Outcome, Problem, Row, Table, Why,
};
use crate::policy::{authorize, Action, Ctx, Scope};
use crate::register::{AssetState, NewAsset};

/// How to run an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Check only; store nothing.
    pub dry_run: bool,
    /// The warehouse whose locations `存放地点` names (None: any, when the
    /// name is in one warehouse only).
    pub warehouse_id: Option<i64>,
}

struct Place {
    id: i64,
    region: Option<i64>,
    warehouse_id: i64,
}

/// The register as the checks need it, read once per import.
struct Lookups {
    categories: HashMap<String, i64>,
    units: HashMap<String, (i64, Option<i64>)>,
    unit_names: HashMap<i64, String>,
    /// Location name and code → the places (several: in several warehouses).
    locations: HashMap<String, Vec<Place>>,
    location_names: HashMap<i64, String>,
    assets: HashMap<String, Registered>,
}

/// An asset already in the register, as a row compares with it.
struct Registered {
    id: i64,
    name: String,
    category_id: i64,
    model: Option<String>,
    original_value_fen: i64,
    purchase_date: Option<String>,
    funding_source: Option<String>,
    holder_location_id: Option<i64>,
    holder_unit_id: Option<i64>,
    custodian: Option<String>,
    notes: Option<String>,
    state: String,
}

fn lookups(c: &Db<'_>, warehouse_id: Option<i64>) -> AppResult<Lookups> {
    let mut categories = HashMap::new();
    for r in c
        .prepare_cached("SELECT id, code, name FROM categories ORDER BY id DESC")?
        .query_map((), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
    {
        let (id, code, name) = r?;
        // Names first, codes over them: a code is exact.
        categories.insert(name, id);
        categories.insert(code, id);
    }
    let mut units = HashMap::new();
    let mut unit_names = HashMap::new();
    for r in c
        .prepare_cached("SELECT id, name, region_id FROM units ORDER BY id DESC")?
        .query_map((), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?
    {
        let (id, name, region) = r?;
        unit_names.insert(id, name.clone());
        units.insert(name, (id, region));
    }
    let mut locations: HashMap<String, Vec<Place>> = HashMap::new();
    let mut location_names = HashMap::new();
    for r in c
        .prepare_cached(
            "SELECT l.id, l.code, l.name, l.warehouse_id, w.region_id, w.name
             FROM locations l JOIN warehouses w ON w.id = l.warehouse_id ORDER BY l.id",
        )?
        .query_map((), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
    {
        let (id, code, name, wh, region, wname) = r?;
        location_names.insert(id, format!("{wname} · {code} {name}"));
        if warehouse_id.is_some_and(|w| w != wh) {
            continue;
        }
        for key in [name, code] {
            let places = locations.entry(key).or_default();
            if !places.iter().any(|p| p.id == id) {
                places.push(Place {
                    id,
                    region,
                    warehouse_id: wh,
                });
            }
        }
    }
    let mut assets = HashMap::new();
    for r in c
        .prepare_cached(
            "SELECT id, asset_number, name, category_id, model, original_value_fen, purchase_date,
                    funding_source, holder_location_id, holder_unit_id, custodian, notes, state
             FROM assets",
        )?
        .query_map((), |r| {
            Ok((
                r.get::<_, String>(1)?,
                Registered {
                    id: r.get(0)?,
                    name: r.get(2)?,
                    category_id: r.get(3)?,
                    model: r.get(4)?,
                    original_value_fen: r.get(5)?,
                    purchase_date: r.get(6)?,
                    funding_source: r.get(7)?,
                    holder_location_id: r.get(8)?,
                    holder_unit_id: r.get(9)?,
                    custodian: r.get(10)?,
                    notes: r.get(11)?,
                    state: r.get(12)?,
                },
            ))
        })?
    {
        let (number, a) = r?;
        assets.insert(number, a);
    }
    Ok(Lookups {
        categories,
        units,
        unit_names,
        locations,
        location_names,
        assets,
    })
}

/// What a good row becomes.
enum Plan {
    Create(NewAsset, AssetState),
    Update {
        id: i64,
        updates: Vec<(&'static str, Sql)>,
        changes: serde_json::Map<String, serde_json::Value>,
    },
    Same,
}

fn text(v: &Option<String>) -> Sql {
    v.clone().map_or(Sql::Null, Sql::Text)
}

/// The register checks of one row and what storing it means.
fn plan_row(
    ctx: &Ctx,
    l: &Lookups,
    cols: &Columns<'_>,
    row: &Row,
    problems: &mut Vec<Problem>,
) -> Option<Plan> {
    let before = problems.len();
    let mut problem = |f: Field, value: &str, why: Why| {
        problems.push(Problem::new(row.row, cols.heading(f), value, why));
    };
    let category = l.categories.get(&row.category).copied();
    if category.is_none() {
        problem(Field::Category, &row.category, Why::UnknownCategory);
    }
    // 使用单位 holds it when given; else it is in stock at 存放地点.
    let mut holder: Option<(Option<i64>, Option<i64>, Scope)> = None;
    if let Some(unit) = &row.unit {
        match l.units.get(unit) {
            Some((id, region)) => {
                holder = Some((
                    None,
                    Some(*id),
                    Scope::Unit {
                        unit: *id,
                        region: *region,
                    },
                ))
            }
            None => problem(Field::Unit, unit, Why::UnknownUnit),
        }
    } else if let Some(loc) = &row.location {
        match l.locations.get(loc).map(Vec::as_slice) {
            Some([one]) => holder = Some((Some(one.id), None, Scope::Stock { region: one.region })),
            Some([first, rest @ ..])
                if rest.iter().all(|p| p.warehouse_id == first.warehouse_id) =>
            {
                holder = Some((
                    Some(first.id),
                    None,
                    Scope::Stock {
                        region: first.region,
                    },
                ))
            }
            Some([_, ..]) => problem(Field::Location, loc, Why::AmbiguousLocation),
            _ => problem(Field::Location, loc, Why::UnknownLocation),
        }
    }
    let (Some(category_id), Some((location_id, unit_id, scope))) = (category, holder) else {
        return None;
    };
    let registered = l.assets.get(&row.asset_number);
    let action = if registered.is_some() {
        Action::UpdateAsset
    } else {
        Action::CreateAsset
    };
    if authorize(&ctx.actor, action, scope).is_err() {
        let (f, v) = match &row.unit {
            Some(u) => (Field::Unit, u.as_str()),
            None => (Field::Location, row.location.as_deref().unwrap_or_default()),
        };
        problem(f, v, Why::NotAllowed);
        return None;
    }
    let Some(old) = registered else {
        let mut a = NewAsset {
            asset_number: row.asset_number.clone(),
            name: row.name.clone(),
            category_id,
            model: row.model.clone(),
            original_value_fen: row.original_value_fen,
            purchase_date: row.purchase_date.clone(),
            funding_source: row.funding_source.clone(),
            batch_id: None,
            holder_location_id: location_id,
            holder_unit_id: unit_id,
            custodian: row.custodian.clone(),
            condition: None,
            notes: row.notes.clone(),
        };
        return match a.validate() {
            Ok(state) => Some(Plan::Create(a, state)),
            Err(e) => {
                problem(Field::AssetNumber, &row.asset_number, Why::BadAssetNumber);
                tracing::debug!("import row {}: {e}", row.row);
                None
            }
        };
    };
    if (old.holder_location_id, old.holder_unit_id) != (location_id, unit_id) {
        let registered = old
            .holder_unit_id
            .and_then(|u| l.unit_names.get(&u))
            .or(old
                .holder_location_id
                .and_then(|x| l.location_names.get(&x)))
            .cloned()
            .unwrap_or_default();
        let (f, v) = match &row.unit {
            Some(u) => (Field::Unit, u.as_str()),
            None => (Field::Location, row.location.as_deref().unwrap_or_default()),
        };
        problem(f, v, Why::HolderDiffers { registered });
        return None;
    }
    let mut updates: Vec<(&'static str, Sql)> = Vec::new();
    let mut changes = serde_json::Map::new();
    let mut text_change = |col: &'static str, old: &Option<String>, new: &Option<String>| {
        if old != new {
            changes.insert(col.into(), json!([old, new]));
            updates.push((col, text(new)));
        }
    };
    text_change("name", &Some(old.name.clone()), &Some(row.name.clone()));
    text_change("model", &old.model, &row.model);
    text_change("purchase_date", &old.purchase_date, &row.purchase_date);
    text_change("funding_source", &old.funding_source, &row.funding_source);
    text_change("custodian", &old.custodian, &row.custodian);
    text_change("notes", &old.notes, &row.notes);
    if old.category_id != category_id {
        changes.insert("category_id".into(), json!([old.category_id, category_id]));
        updates.push(("category_id", Sql::Integer(category_id)));
    }
    if old.original_value_fen != row.original_value_fen {
        changes.insert(
            "original_value_fen".into(),
            json!([old.original_value_fen, row.original_value_fen]),
        );
        updates.push(("original_value_fen", Sql::Integer(row.original_value_fen)));
    }
    if updates.is_empty() {
        return Some(Plan::Same);
    }
    if matches!(old.state.as_str(), "disposed" | "lost") {
        problem(Field::AssetNumber, &row.asset_number, Why::NotInUse);
        return None;
    }
    (problems.len() == before).then_some(Plan::Update {
        id: old.id,
        updates,
        changes,
    })
}

/// Checks `table` against the register; with `store`, stores it (only
/// when there is no problem at all). `progress` is told the rows done.
fn run(
    tx: &Db<'_>,
    ctx: &Ctx,
    table: &Table,
    mapping: &Mapping,
    opts: &ImportOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> AppResult<Outcome> {
    let (columns, mut problems) = map_columns(table, mapping);
    let mut outcome = Outcome {
        rows: table.rows.len(),
        dry_run: opts.dry_run,
        columns: table
            .headings
            .iter()
            .zip(&columns)
            .map(|(h, f)| ColumnUse {
                heading: h.clone(),
                field: f.map(|f| f.key().to_owned()),
            })
            .collect(),
        ..Outcome::default()
    };
    if !problems.is_empty() {
        // Without its columns no row can be read.
        outcome.problems = problems;
        return Ok(outcome);
    }
    let (rows, row_problems) = check_rows(table, &columns);
    problems.extend(row_problems);
    let l = lookups(tx, opts.warehouse_id)?;
    let cols = Columns::new(table, &columns);
    let mut plans = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(p) = plan_row(ctx, &l, &cols, row, &mut problems) {
            plans.push(p);
        }
    }
    problems.sort_by_key(|p| p.row);
    for p in &plans {
        match p {
            Plan::Create(..) => outcome.created += 1,
            Plan::Update { .. } => outcome.updated += 1,
            Plan::Same => outcome.unchanged += 1,
        }
    }
    outcome.problems = problems;
    if opts.dry_run || !outcome.problems.is_empty() {
        outcome.dry_run = true;
        return Ok(outcome);
    }
    for (i, p) in plans.into_iter().enumerate() {
        match p {
            Plan::Create(a, state) => {
                insert_asset(tx, ctx, &a, state, true)?;
            }
            Plan::Update {
                id,
                updates,
                changes,
            } => {
                let old = get_asset(tx, id)?;
                record_update(tx, ctx, &old, &updates, changes, Some("台账导入".into()))?;
            }
            Plan::Same => {}
        }
        if i % 256 == 255 {
            progress(i + 1);
        }
    }
    progress(rows.len());
    Ok(outcome)
}

impl Store {
    /// Dry run or import of a register sheet: every problem listed by row
    /// and column; the import stores all rows in one transaction, or none
    /// when any row has a problem.
    pub async fn import_register(
        &self,
        ctx: Ctx,
        table: Table,
        mapping: Mapping,
        opts: ImportOptions,
    ) -> AppResult<Outcome> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            this.import_register_blocking(&ctx, &table, &mapping, &opts, &|_| {})
        })
        .await?
    }

    /// [`Store::import_register`] off the runtime (the CLI, the bench),
    /// telling `progress` how many rows are stored.
    pub fn import_register_blocking(
        &self,
        ctx: &Ctx,
        table: &Table,
        mapping: &Mapping,
        opts: &ImportOptions,
        progress: &(dyn Fn(usize) + Sync),
    ) -> AppResult<Outcome> {
        if opts.dry_run {
            self.read_blocking(|c| run(c, ctx, table, mapping, opts, progress))
        } else {
            self.write_blocking(|tx| run(tx, ctx, table, mapping, opts, progress))
        }
    }
}
