//! Bulk seeding of the fleet's register: the reference rows through the
//! store, then every asset with its active tag and its `registered` event
//! (sealed into the keyed chain, so `admin verify-log` holds) by the
//! fastest honest path of each backend — SQLite: one IMMEDIATE transaction
//! of prepared inserts; PostgreSQL: one transaction of binary COPYs under
//! the writers' lock. The rows are the ones `register_bulk_blocking`
//! writes; only the path differs.

use std::path::Path;

use anyhow::Context;
use futures_util::pin_mut;
use serde_json::json;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::layout::{Layout, SeedAsset};
use crate::commission::COMPANY_PREFIX_KEY;
use crate::events::{entry_hash, ChainKey, Event, GENESIS};
use crate::lifecycle::may_pass_gate;
use crate::policy::Ctx;
use crate::register::{
    Condition, NewBatch, NewCategory, NewLocation, NewUnit, NewWarehouse, UnitLevel,
};
use crate::store::Store;
use crate::time::now_ms;
use crate::tools::seed::CATEGORIES;

/// Where the event chain's head is kept (`store::events`): `SEQ:HASH-HEX`.
const HEAD_KEY: &str = "events.head";

/// Locations made in each warehouse.
const LOCATIONS: usize = 10;

/// The request id the seeded events carry.
const SEED_REQUEST: &str = "fleet-seed";

fn parse_head(head: Option<String>) -> anyhow::Result<(i64, Vec<u8>)> {
    let Some(head) = head else {
        return Ok((0, GENESIS.to_vec()));
    };
    let (seq, hash) = head
        .split_once(':')
        .with_context(|| format!("the chain head `{head}` in settings is malformed"))?;
    Ok((
        seq.parse()
            .with_context(|| format!("the chain head `{head}` has no sequence"))?,
        shared::hex::decode(hash)
            .with_context(|| format!("the chain head `{head}` has no hash"))?,
    ))
}

/// The `registered` event of `a`, linked to `prev` and sealed.
fn registered(key: &ChainKey, a: &SeedAsset, seq: i64, prev: Vec<u8>, at: i64) -> Event {
    let mut e = Event {
        seq,
        asset_id: a.id,
        at,
        actor: Ctx::system(SEED_REQUEST).actor.label(),
        place: match (a.location_id, a.unit_id) {
            (Some(l), _) => Some(format!("location:{l}")),
            (_, Some(u)) => Some(format!("unit:{u}")),
            _ => None,
        },
        action: "registered".into(),
        reason: None,
        request_id: Some(SEED_REQUEST.into()),
        details: json!({
            "asset_number": a.number,
            "name": a.name,
            "state": a.state.as_str(),
            "original_value_fen": a.value_fen,
        })
        .to_string(),
        prev_hash: prev,
        hash: Vec::new(),
    };
    e.hash = entry_hash(key, &e.prev_hash, &e).to_vec();
    e
}

/// Units, `warehouses` warehouses with their locations, categories and
/// procurement batches, through the store (a few hundred rows); the
/// layout of `assets` assets over them, ids after the highest existing.
pub async fn reference(store: &Store, assets: u64, warehouses: usize) -> anyhow::Result<Layout> {
    let prefix = match store.get_setting(COMPANY_PREFIX_KEY).await? {
        Some(p) => p,
        None => {
            let p = "0614141".to_owned();
            store
                .set_settings(vec![(COMPANY_PREFIX_KEY.into(), p.clone())])
                .await?;
            p
        }
    };
    let province = store
        .create_unit(NewUnit {
            region_id: None,
            name: "省机关事务管理局 Province (fleet)".into(),
            parent_id: None,
            level: Some(UnitLevel::Province),
        })
        .await?;
    let mut units = Vec::new();
    for u in 1..=12 {
        units.push(
            store
                .create_unit(NewUnit {
                    region_id: None,
                    name: format!("单位 Unit F-{u}"),
                    parent_id: Some(province.id),
                    level: Some(UnitLevel::Unit),
                })
                .await?
                .id,
        );
    }
    let mut houses = Vec::with_capacity(warehouses);
    for w in 1..=warehouses {
        let wh = store
            .create_warehouse(NewWarehouse {
                sgln: None,
                region_id: None,
                name: format!("公物仓 Fleet warehouse {w}"),
                address: None,
            })
            .await?;
        let mut locations = Vec::with_capacity(LOCATIONS);
        for l in 1..=LOCATIONS {
            locations.push(
                store
                    .create_location(
                        wh.id,
                        NewLocation {
                            sgln: None,
                            code: format!("S{l:02}"),
                            name: format!("货架 Shelf S{l:02}"),
                        },
                    )
                    .await?
                    .id,
            );
        }
        houses.push((wh.id, locations));
    }
    let run = now_ms();
    let mut categories = Vec::new();
    for (code, name, _) in CATEGORIES {
        categories.push(
            store
                .create_category(NewCategory {
                    code: format!("F{run}-{code}"),
                    name: (*name).into(),
                    parent_id: None,
                })
                .await?
                .id,
        );
    }
    let mut batches = Vec::new();
    for b in 1..=3 {
        batches.push(
            store
                .create_batch(NewBatch {
                    code: format!("F{run}-B{b}"),
                    supplier: Some(format!("供应商 Supplier {b}")),
                    purchased_on: Some(format!("2024-0{b}-15")),
                    total_fen: None,
                    notes: Some("统一采购 unified purchase".into()),
                })
                .await?
                .id,
        );
    }
    let first_id = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            s.read_blocking(|c| {
                Ok(
                    c.query_row("SELECT COALESCE(max(id), 0) FROM assets", (), |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
        })
        .await??
            + 1
    };
    Ok(Layout {
        first_id,
        assets,
        warehouses: houses,
        units,
        categories,
        batches,
        prefix,
    })
}

/// Writes the layout's assets, tags and events into the SQLite file at
/// `path` in one transaction.
pub fn assets_sqlite(path: &Path, layout: &Layout, key: &ChainKey) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(path)
        .with_context(|| format!("opening {} to seed", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -524288;
         PRAGMA temp_store = MEMORY;",
    )?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let head: Option<String> = tx
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [HEAD_KEY],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let (mut seq, mut prev) = parse_head(head)?;
    let now = now_ms();
    {
        let mut asset = tx.prepare(
            "INSERT INTO assets (id, asset_number, name, category_id, model, original_value_fen,
                 purchase_date, funding_source, batch_id, holder_location_id, holder_unit_id,
                 state, condition, checkout_approved, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
        )?;
        let mut tag =
            tx.prepare("INSERT INTO tags (epc, asset_id, bound_at) VALUES (?1, ?2, ?3)")?;
        let mut event = tx.prepare(
            "INSERT INTO asset_events
                 (seq, asset_id, at, actor, place, action, reason, request_id, details,
                  prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let good = Condition::Good.as_str();
        for k in 0..layout.assets {
            let a = layout.asset(k);
            asset.execute(rusqlite::params![
                a.id,
                a.number,
                a.name,
                a.category_id,
                a.model,
                a.value_fen,
                a.purchase_date,
                a.funding,
                a.batch_id,
                a.location_id,
                a.unit_id,
                a.state.as_str(),
                good,
                may_pass_gate(a.state),
                now
            ])?;
            tag.execute(rusqlite::params![layout.epc(k)?.as_slice(), a.id, now])?;
            seq += 1;
            let e = registered(key, &a, seq, prev, now);
            event.execute(rusqlite::params![
                e.seq,
                e.asset_id,
                e.at,
                e.actor,
                e.place,
                e.action,
                e.reason,
                e.request_id,
                e.details,
                e.prev_hash,
                e.hash
            ])?;
            prev = e.hash;
        }
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, format!("{seq}:{}", shared::hex::Hex(&prev))),
    )?;
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    Ok(())
}

fn pg_context(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> anyhow::Error {
    move |e| match e.as_db_error() {
        Some(db) => anyhow::anyhow!("seeding PostgreSQL, {what}: {}", db.message()),
        None => anyhow::anyhow!("seeding PostgreSQL, {what}: {e}"),
    }
}

/// Writes the layout's assets, tags and events into the PostgreSQL
/// database at `url` in one transaction of binary COPYs. The per-row
/// summary trigger is off during the COPY and the summary is added up once
/// at the end, in the same transaction (as migration 5 built it).
pub async fn assets_postgres(url: &str, layout: &Layout, key: &ChainKey) -> anyhow::Result<()> {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(pg_context("connecting"))?;
    let conn = tokio::spawn(connection);
    let tx = client
        .transaction()
        .await
        .map_err(pg_context("beginning"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&crate::store::pg::WRITER_LOCK],
    )
    .await
    .map_err(pg_context("taking the writers' lock"))?;
    let head: Option<String> = tx
        .query_opt("SELECT value FROM settings WHERE key = $1", &[&HEAD_KEY])
        .await
        .map_err(pg_context("reading the chain head"))?
        .map(|r| r.get(0));
    let (mut seq, mut prev) = parse_head(head)?;
    let now = now_ms();
    tx.batch_execute("ALTER TABLE assets DISABLE TRIGGER asset_summary_insert")
        .await
        .map_err(pg_context("pausing the summary trigger"))?;

    let sink = tx
        .copy_in(
            "COPY assets (id, asset_number, name, category_id, model, original_value_fen,
                 purchase_date, funding_source, batch_id, holder_location_id, holder_unit_id,
                 state, condition, checkout_approved, created_at, updated_at)
             FROM STDIN (FORMAT binary)",
        )
        .await
        .map_err(pg_context("starting the assets COPY"))?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
        ],
    );
    pin_mut!(writer);
    let good = Condition::Good.as_str();
    for k in 0..layout.assets {
        let a = layout.asset(k);
        let pass = i64::from(may_pass_gate(a.state));
        let row: [&(dyn ToSql + Sync); 16] = [
            &a.id,
            &a.number,
            &a.name,
            &a.category_id,
            &a.model,
            &a.value_fen,
            &a.purchase_date,
            &a.funding,
            &a.batch_id,
            &a.location_id,
            &a.unit_id,
            &a.state.as_str(),
            &good,
            &pass,
            &now,
            &now,
        ];
        writer
            .as_mut()
            .write(&row)
            .await
            .map_err(pg_context("copying assets"))?;
    }
    writer
        .finish()
        .await
        .map_err(pg_context("finishing the assets COPY"))?;

    let sink = tx
        .copy_in("COPY tags (epc, asset_id, bound_at) FROM STDIN (FORMAT binary)")
        .await
        .map_err(pg_context("starting the tags COPY"))?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::INT8, Type::INT8]);
    pin_mut!(writer);
    for k in 0..layout.assets {
        let epc = layout.epc(k)?;
        let id = layout.first_id + k as i64;
        writer
            .as_mut()
            .write(&[&epc.as_slice(), &id, &now])
            .await
            .map_err(pg_context("copying tags"))?;
    }
    writer
        .finish()
        .await
        .map_err(pg_context("finishing the tags COPY"))?;

    let sink = tx
        .copy_in(
            "COPY asset_events (seq, asset_id, at, actor, place, action, reason, request_id,
                 details, prev_hash, hash) FROM STDIN (FORMAT binary)",
        )
        .await
        .map_err(pg_context("starting the events COPY"))?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::BYTEA,
        ],
    );
    pin_mut!(writer);
    for k in 0..layout.assets {
        let a = layout.asset(k);
        seq += 1;
        let e = registered(key, &a, seq, prev, now);
        let row: [&(dyn ToSql + Sync); 11] = [
            &e.seq,
            &e.asset_id,
            &e.at,
            &e.actor,
            &e.place,
            &e.action,
            &e.reason,
            &e.request_id,
            &e.details,
            &e.prev_hash,
            &e.hash,
        ];
        writer
            .as_mut()
            .write(&row)
            .await
            .map_err(pg_context("copying events"))?;
        prev = e.hash;
    }
    writer
        .finish()
        .await
        .map_err(pg_context("finishing the events COPY"))?;

    let last_id = layout.first_id + layout.assets as i64 - 1;
    tx.execute(
        "INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
         SELECT state, category_id, COALESCE(holder_unit_id, 0), COALESCE(holder_location_id, 0),
                COUNT(*), SUM(original_value_fen)::BIGINT
         FROM assets WHERE id BETWEEN $1 AND $2 GROUP BY 1, 2, 3, 4
         ON CONFLICT (state, category_id, unit_id, location_id)
         DO UPDATE SET n = asset_summary.n + excluded.n,
                       value_fen = asset_summary.value_fen + excluded.value_fen",
        &[&layout.first_id, &last_id],
    )
    .await
    .map_err(pg_context("adding up the summary"))?;
    tx.batch_execute(
        "ALTER TABLE assets ENABLE TRIGGER asset_summary_insert;
         SELECT setval(pg_get_serial_sequence('assets', 'id'), (SELECT max(id) FROM assets));",
    )
    .await
    .map_err(pg_context("restoring the summary trigger"))?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&HEAD_KEY, &format!("{seq}:{}", shared::hex::Hex(&prev))],
    )
    .await
    .map_err(pg_context("moving the chain head"))?;
    tx.commit().await.map_err(pg_context("committing"))?;
    client
        .batch_execute("ANALYZE")
        .await
        .map_err(pg_context("analysing"))?;
    drop(client);
    let _ = conn.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_head_is_read_as_the_store_writes_it() -> anyhow::Result<()> {
        assert_eq!(parse_head(None)?, (0, GENESIS.to_vec()));
        assert_eq!(parse_head(Some("12:0aff".into()))?, (12, vec![0x0a, 0xff]));
        for bad in ["12", "x:00", "3:zz"] {
            let e = parse_head(Some(bad.into())).err().map(|e| e.to_string());
            assert!(e.is_some_and(|m| m.contains(bad)), "{bad}");
        }
        Ok(())
    }
}
