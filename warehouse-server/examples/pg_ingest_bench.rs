//! Observations/s of the PostgreSQL ingest (`store::pg::apply_batch_pg`:
//! exactly-once mark, binary COPY into staging, EPC look-up, sightings,
//! last seen, stock-take scans) against a raw binary COPY of the same
//! rows into a plain table. Needs the test PostgreSQL server
//! (`WAREHOUSE_TEST_PG`, as `scripts/test.sh` starts it); makes and drops
//! a database of its own. docs/performance.md has the command and figures.
//!
//! Arguments (optional): assets (100000), batches (20), batch size (10000).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use rand::{Rng, SeedableRng};
use shared::sync::{Observation, ObservationBatch, ObservationKind};
use shared::tag::EpcBytes;
use warehouse_server::store::pg::{
    apply_batch_pg, raw_copy_baseline, run_migrations, PG_MIGRATIONS,
};

fn epc(n: i64) -> anyhow::Result<EpcBytes> {
    let mut b = vec![0x30, 0x74, 0, 0];
    b.extend_from_slice(&n.to_be_bytes());
    Ok(EpcBytes::new(&b)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<i64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let assets = args.first().copied().unwrap_or(100_000);
    let batches = args.get(1).copied().unwrap_or(20);
    let size = args.get(2).copied().unwrap_or(10_000);

    let db = test_support::PgDatabase::create()?;
    let (mut client, conn) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    run_migrations(&mut client, PG_MIGRATIONS).await?;
    let seed = Instant::now();
    client
        .batch_execute(&format!(
            "INSERT INTO categories (id, code, name) VALUES (1, 'c', 'c');
             INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
             INSERT INTO readers (id, name, role, token_hash, created_at)
                 VALUES (1, 'desk-1', 'desk', '\\x01', 0);
             INSERT INTO assets (id, asset_number, name, category_id, original_value_fen,
                 holder_unit_id, state, condition, created_at, updated_at)
                 SELECT g, g::text, 'a', 1, 0, 1, 'allocated', 'good', 0, 0
                 FROM generate_series(1, {assets}) g;
             INSERT INTO tags (epc, asset_id, bound_at)
                 SELECT decode('30740000', 'hex') || int8send(g), g, 0
                 FROM generate_series(1, {assets}) g;
             ANALYZE;"
        ))
        .await?;
    eprintln!("seeded {assets} tagged assets in {:?}", seed.elapsed());

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let at = |ms: i64| Utc.timestamp_millis_opt(ms).single();
    let mut all = Vec::new();
    for b in 0..batches {
        let mut observations = Vec::with_capacity(size as usize);
        for i in 0..size {
            // 95 % known EPCs drawn uniformly, 5 % foreign.
            let n = if rng.gen_range(0..100) < 95 {
                rng.gen_range(1..=assets)
            } else {
                assets + 1 + rng.gen_range(0..1_000_000)
            };
            let t = at(1_700_000_000_000 + b * 60_000 + i)
                .ok_or_else(|| anyhow::anyhow!("time out of range"))?;
            observations.push(Observation {
                epc: epc(n)?,
                reader: "desk-1".into(),
                antenna: 1,
                first_seen: t,
                last_seen: t,
                count: 4,
                peak_rssi: Some(-50),
                kind: ObservationKind::Seen,
                stocktake_id: None,
            });
        }
        all.push(ObservationBatch {
            daemon_id: "bench".into(),
            sequence: (b + 1) as u64,
            observations,
        });
    }
    let total = (batches * size) as f64;

    let t = Instant::now();
    for b in &all {
        let tx = client.transaction().await?;
        apply_batch_pg(&tx, &Default::default(), b).await?;
        tx.commit().await?;
    }
    let ingest = t.elapsed();
    let t = Instant::now();
    for b in &all {
        raw_copy_baseline(&mut client, b).await?;
    }
    let raw = t.elapsed();
    let (ingest_rate, raw_rate) = (total / ingest.as_secs_f64(), total / raw.as_secs_f64());
    println!(
        "{total} observations in {batches} batches of {size}, {assets} tagged assets:\n  \
         ingest  {ingest:?}  {ingest_rate:.0} obs/s\n  \
         raw COPY {raw:?}  {raw_rate:.0} obs/s\n  \
         ingest/raw = {:.2}",
        ingest_rate / raw_rate
    );
    Ok(())
}
