use chrono::{TimeZone, Utc};
use shared::sync::{Observation, ObservationKind};
use shared::tag::EpcBytes;

use super::*;
use crate::store::pg::{run_migrations, PG_MIGRATIONS};

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// A migrated database with assets 1 and 2 tagged (EPC 01 and 02; 2's
/// old tag 09 unbound), asset 3 untagged, a desk and a gate reader.
async fn fixture(db: &test_support::PgDatabase) -> anyhow::Result<Client> {
    let mut client = connect(db.url()).await?;
    run_migrations(&mut client, PG_MIGRATIONS).await?;
    client
        .batch_execute(
            "INSERT INTO categories (id, code, name) VALUES (1, 'c', 'c');
             INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
             INSERT INTO assets (id, asset_number, name, category_id, original_value_fen,
                 holder_unit_id, state, condition, created_at, updated_at)
             VALUES (1, '1', 'a', 1, 0, 1, 'allocated', 'good', 0, 0),
                    (2, '2', 'b', 1, 0, 1, 'allocated', 'good', 0, 0),
                    (3, '3', 'c', 1, 0, 1, 'allocated', 'good', 0, 0);
             INSERT INTO tags (epc, asset_id, bound_at, unbound_at) VALUES
                 ('\\x01', 1, 0, NULL), ('\\x02', 2, 0, NULL), ('\\x09', 2, 0, 1);
             INSERT INTO readers (id, name, role, token_hash, created_at) VALUES
                 (1, 'desk-1', 'desk', '\\x01', 0), (2, 'gate-1', 'gate', '\\x02', 0);",
        )
        .await?;
    Ok(client)
}

fn obs(epc: u8, reader: &str, first: i64, last: i64) -> anyhow::Result<Observation> {
    Ok(Observation {
        epc: EpcBytes::new(&[epc])?,
        reader: reader.into(),
        antenna: 2,
        first_seen: Utc
            .timestamp_millis_opt(first)
            .single()
            .ok_or_else(|| anyhow::anyhow!("time"))?,
        last_seen: Utc
            .timestamp_millis_opt(last)
            .single()
            .ok_or_else(|| anyhow::anyhow!("time"))?,
        count: 3,
        peak_rssi: Some(-40),
        kind: ObservationKind::Seen,
        stocktake_id: None,
    })
}

fn batch(sequence: u64, observations: Vec<Observation>) -> ObservationBatch {
    ObservationBatch {
        daemon_id: "d1".into(),
        sequence,
        observations,
    }
}

async fn apply(client: &mut Client, b: &ObservationBatch) -> anyhow::Result<IngestOutcome> {
    let tx = client.transaction().await?;
    let out = apply_batch(&tx, &StatementCache::default(), b).await?;
    tx.commit().await?;
    Ok(out)
}

type SightingRow = (
    Vec<u8>,
    Option<i64>,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    String,
    i64,
);

async fn sightings(client: &Client) -> anyhow::Result<Vec<SightingRow>> {
    Ok(client
        .query(
            "SELECT epc, asset_id, reader_id, antenna, first_seen, last_seen, count, peak_rssi,
                 kind, daemon_id, sequence FROM sightings ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
                r.get(10),
            )
        })
        .collect())
}

/// Last seen as read: the later of the settled and the recent row.
async fn last_seen(client: &Client, asset: i64) -> anyhow::Result<Option<(i64, i64)>> {
    Ok(client
        .query_opt(
            "SELECT seen_at, reader_id FROM (
                 SELECT seen_at, reader_id, 1 AS o FROM asset_last_seen_recent WHERE asset_id = $1
                 UNION ALL
                 SELECT seen_at, reader_id, 0 FROM asset_last_seen WHERE asset_id = $1
             ) x ORDER BY seen_at DESC, o DESC LIMIT 1",
            &[&asset],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

#[tokio::test]
async fn a_batch_applies_and_the_rows_equal_the_observations() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let mut client = fixture(&db).await?;
    let b = batch(
        1,
        vec![
            obs(1, "desk-1", 1_000, 1_500)?,
            obs(7, "desk-1", 1_100, 1_200)?,
            obs(2, "desk-1", 1_300, 1_900)?,
            // The unbound tag of asset 2 is foreign now.
            obs(9, "desk-1", 1_400, 1_400)?,
        ],
    );
    let out = apply(&mut client, &b).await?;
    assert!(out.applied);
    assert_eq!(out.applied_through, 1);
    assert_eq!((out.known, out.foreign, out.alarms_raised), (2, 2, 0));
    let rows = sightings(&client).await?;
    let expect: Vec<SightingRow> = b
        .observations
        .iter()
        .map(|o| {
            let epc = o.epc.as_slice().to_vec();
            let asset = match epc[0] {
                1 => Some(1),
                2 => Some(2),
                _ => None,
            };
            (
                epc,
                asset,
                1,
                2,
                o.first_seen.timestamp_millis(),
                o.last_seen.timestamp_millis(),
                3,
                Some(-40),
                "seen".to_owned(),
                "d1".to_owned(),
                1,
            )
        })
        .collect();
    assert_eq!(rows, expect);
    let mark: i64 = client
        .query_one(
            "SELECT applied_through FROM sync_daemons WHERE daemon_id = 'd1'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(mark, 1);
    Ok(())
}

#[tokio::test]
async fn a_repeated_batch_applies_once_and_gaps_are_allowed() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let mut client = fixture(&db).await?;
    let b = batch(1, vec![obs(1, "desk-1", 1_000, 1_500)?]);
    assert!(apply(&mut client, &b).await?.applied);
    let again = apply(&mut client, &b).await?;
    assert!(!again.applied);
    assert_eq!(again.applied_through, 1);
    assert_eq!(sightings(&client).await?.len(), 1);
    // A sequence above the next expected applies (a daemon may skip);
    // anything at or below the mark after it is acknowledged only.
    let b5 = batch(5, vec![obs(2, "desk-1", 2_000, 2_000)?]);
    assert!(apply(&mut client, &b5).await?.applied);
    let b3 = batch(3, vec![obs(2, "desk-1", 3_000, 3_000)?]);
    let late = apply(&mut client, &b3).await?;
    assert!(!late.applied);
    assert_eq!(late.applied_through, 5);
    assert_eq!(sightings(&client).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn two_connections_applying_the_same_batch_apply_it_once() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let first = fixture(&db).await?;
    drop(first);
    let observations: Vec<Observation> = (0..500u32)
        .map(|i| obs((i % 3) as u8 + 1, "desk-1", 1_000 + i64::from(i), 2_000))
        .collect::<anyhow::Result<_>>()?;
    for round in 1..=5u64 {
        let b = batch(round, observations.clone());
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let url = db.url().to_owned();
            let b = b.clone();
            // Concurrent on one task (the statement cache is per
            // connection, not shared between threads).
            tasks.push(async move {
                let mut c = connect(&url).await?;
                apply(&mut c, &b).await
            });
        }
        let mut applied = 0;
        for out in futures_util::future::join_all(tasks).await {
            if out?.applied {
                applied += 1;
            }
        }
        assert_eq!(applied, 1, "round {round}");
    }
    let client = connect(db.url()).await?;
    assert_eq!(sightings(&client).await?.len(), 5 * 500);
    Ok(())
}

#[tokio::test]
async fn last_seen_moves_to_the_latest_sighting_only_forward() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let mut client = fixture(&db).await?;
    client
        .batch_execute(
            "INSERT INTO readers (id, name, role, token_hash, created_at)
             VALUES (3, 'desk-2', 'desk', '\\x03', 0)",
        )
        .await?;
    // Asset 1 twice: the later last_seen wins; on a tie the later one.
    let b = batch(
        1,
        vec![
            obs(1, "desk-2", 1_000, 5_000)?,
            obs(1, "desk-1", 1_000, 4_000)?,
            obs(2, "desk-1", 1_000, 3_000)?,
            obs(2, "desk-2", 1_000, 3_000)?,
        ],
    );
    apply(&mut client, &b).await?;
    assert_eq!(last_seen(&client, 1).await?, Some((5_000, 3)));
    assert_eq!(last_seen(&client, 2).await?, Some((3_000, 3)));
    assert_eq!(last_seen(&client, 3).await?, None);
    // An older batch arriving later does not move it back.
    apply(&mut client, &batch(2, vec![obs(1, "desk-1", 10, 20)?])).await?;
    assert_eq!(last_seen(&client, 1).await?, Some((5_000, 3)));
    // Folding keeps the latest.
    let tx = client.transaction().await?;
    fold_last_seen(&tx, 1).await?;
    tx.commit().await?;
    let recent: i64 = client
        .query_one("SELECT COUNT(*) FROM asset_last_seen_recent", &[])
        .await?
        .get(0);
    assert_eq!(recent, 0);
    assert_eq!(last_seen(&client, 1).await?, Some((5_000, 3)));
    assert_eq!(last_seen(&client, 2).await?, Some((3_000, 3)));
    Ok(())
}

#[tokio::test]
async fn foreign_sightings_are_recorded_and_stocktakes_scanned() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let mut client = fixture(&db).await?;
    // Stock-take 1 (open) has desk-1 assigned; 2 is open, unassigned, and
    // named by one observation; 3 is closed and named by another.
    client
        .batch_execute(
            "INSERT INTO warehouses (id, name, created_at) VALUES (1, 'w', 0);
             INSERT INTO stocktakes (id, warehouse_id, status, opened_by, opened_at) VALUES
                 (1, 1, 'open', 'user:k', 0), (2, 1, 'open', 'user:k', 0),
                 (3, 1, 'closed', 'user:k', 0);
             INSERT INTO stocktake_readers (stocktake_id, reader_id) VALUES (1, 1);
             INSERT INTO stocktake_scans (stocktake_id, epc, first_seen) VALUES (1, '\\x02', 5);",
        )
        .await?;
    let mut named = obs(1, "desk-1", 700, 800)?;
    named.stocktake_id = Some(2);
    let mut closed = obs(2, "desk-1", 600, 600)?;
    closed.stocktake_id = Some(3);
    let b = batch(
        1,
        vec![
            obs(0xAA, "desk-1", 1_000, 1_000)?,
            obs(0xAA, "desk-1", 900, 1_100)?,
            named,
            closed,
        ],
    );
    let out = apply(&mut client, &b).await?;
    assert_eq!((out.known, out.foreign), (2, 2));
    let foreign: Vec<(Vec<u8>, i64)> = client
        .query(
            "SELECT epc, first_seen FROM sightings WHERE asset_id IS NULL ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(foreign, vec![(vec![0xAA], 1_000), (vec![0xAA], 900)]);
    let scans: Vec<(i64, Vec<u8>, i64)> = client
        .query(
            "SELECT stocktake_id, epc, first_seen FROM stocktake_scans
             ORDER BY stocktake_id, epc",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        scans,
        vec![
            // The assigned reader's stock-take: every EPC, foreign too;
            // the scan already there kept; a new one takes the first
            // observation's first-seen, as on SQLite (INSERT OR IGNORE).
            (1, vec![0x01], 700),
            (1, vec![0x02], 5),
            (1, vec![0xAA], 1_000),
            // The named open one; the closed one gets nothing.
            (2, vec![0x01], 700),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_reader_or_a_gate_applies_nothing() -> anyhow::Result<()> {
    let db = test_support::PgDatabase::create()?;
    let mut client = fixture(&db).await?;
    for reader in ["nobody", "gate-1"] {
        let b = batch(1, vec![obs(1, "desk-1", 1, 1)?, obs(2, reader, 1, 1)?]);
        assert!(apply(&mut client, &b).await.is_err(), "{reader}");
        assert!(sightings(&client).await?.is_empty());
        let marks: i64 = client
            .query_one("SELECT COUNT(*) FROM sync_daemons", &[])
            .await?
            .get(0);
        assert_eq!(marks, 0);
    }
    Ok(())
}
