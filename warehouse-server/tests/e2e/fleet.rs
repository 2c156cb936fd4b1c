//! `bench-fleet` at small scale on each backend: it seeds, starts two
//! `serve` replicas, drives 20 readers for 3 s and prints every figure;
//! the figures are present and sane and the database holds exactly the
//! observations the driver says it sent.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, ensure, Context, Result};
use test_support::{cli, db_scalar, PgDatabase};

const ARGS: &[&str] = &[
    "bench-fleet",
    "--assets",
    "20000",
    "--readers",
    "20",
    "--seconds",
    "3",
    "--capacity-seconds",
    "2",
    "--api-rps",
    "300",
    "--api-seconds",
    "2",
    "--scans",
    "2000",
];

/// `fleet.NAME=VALUE` lines of the run's output.
fn figures(out: &str) -> Result<HashMap<String, f64>> {
    out.lines()
        .filter_map(|l| l.strip_prefix("fleet."))
        .map(|l| {
            let (k, v) = l.split_once('=').ok_or_else(|| anyhow!("bad figure {l}"))?;
            Ok((
                k.to_owned(),
                v.parse().with_context(|| format!("figure {l}"))?,
            ))
        })
        .collect()
}

fn run_fleet(db: &Path) -> Result<()> {
    let out = cli(db, ARGS)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "bench-fleet failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = figures(&stdout)?;
    let get = |k: &str| {
        f.get(k)
            .copied()
            .ok_or_else(|| anyhow!("no fleet.{k} in:\n{stdout}"))
    };
    for k in [
        "seed_seconds",
        "ingest_obs_per_sec",
        "ingest_paced_obs_per_sec",
        "ingest_capacity_obs_per_sec",
        "raw_rows_per_sec",
        "ingest_vs_raw",
        "visible_p50_ms",
        "visible_p99_ms",
        "api_p99_ms",
        "reconcile_ms",
    ] {
        let v = get(k)?;
        ensure!(v > 0.0 && v.is_finite(), "fleet.{k} = {v} in:\n{stdout}");
    }
    // 20 readers × ~200 tags per 2 s cycle for 3 s: a few thousand, then
    // 2 s flat out: as many more as the replicas take.
    let sent = get("observations_sent")?;
    ensure!(sent >= 2_000.0, "{sent} observations sent");
    // Flat out is the servers' rate: not below the paced one.
    ensure!(
        get("ingest_capacity_obs_per_sec")? >= get("ingest_paced_obs_per_sec")?,
        "flat out slower than paced:\n{stdout}"
    );
    ensure!(get("ingest_obs_per_sec")? == get("ingest_capacity_obs_per_sec")?);
    ensure!(get("sightings_rows")? == sent);
    ensure!(get("batches_miscounted")? == 0.0);
    ensure!(get("visible_probes")? >= 1.0);
    ensure!(get("stocktake_scans")? == 2_000.0);
    ensure!(get("visible_p50_ms")? <= get("visible_p99_ms")?);
    // Counted apart from the bench: the fleet's daemons' rows, each batch
    // once (one row per observation, none twice).
    let rows = db_scalar(
        db,
        "SELECT count(*) FROM sightings WHERE daemon_id LIKE 'fleet%-d%'",
    )?;
    ensure!(rows == Some(sent as i64), "{rows:?} rows for {sent} sent");
    let twice = db_scalar(
        db,
        "SELECT count(*) FROM (SELECT daemon_id, sequence, reader_id, antenna, epc
             FROM sightings WHERE daemon_id LIKE 'fleet%-d%'
             GROUP BY daemon_id, sequence, reader_id, antenna, epc HAVING count(*) > 1) AS d",
    )?;
    ensure!(twice == Some(0), "{twice:?} observations stored twice");
    let assets = db_scalar(db, "SELECT count(*) FROM assets")?;
    ensure!(assets == Some(20_000), "{assets:?} assets seeded");
    // Every asset has its tag and its `registered` event.
    let events = db_scalar(
        db,
        "SELECT count(*) FROM asset_events WHERE action = 'registered'",
    )?;
    ensure!(events == Some(20_000), "{events:?} registered events");
    Ok(())
}

#[test]
fn the_fleet_bench_runs_small_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("fleet.db");
    run_fleet(&db)?;
    // The seeded chain verifies under the key the run created.
    let out = cli(&db, &["admin", "verify-log"])?;
    ensure!(
        out.status.success(),
        "verify-log after the fleet run: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

#[test]
fn the_fleet_bench_runs_small_on_postgres() -> Result<()> {
    let pg = PgDatabase::create()?;
    run_fleet(Path::new(pg.url()))
}

#[test]
fn bad_fleet_numbers_are_refused_naming_the_flag() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("fleet.db");
    let out = cli(
        &db,
        &[
            "bench-fleet",
            "--assets",
            "10",
            "--warehouses",
            "2",
            "--readers",
            "11",
        ],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success() && err.contains("--readers"), "{err}");
    Ok(())
}
