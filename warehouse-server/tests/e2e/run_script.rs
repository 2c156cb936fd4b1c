//! `scripts/run.sh`, the main job, run for real with the binaries this test
//! build made (`BIN_DIR`): two runs on one OS-chosen port. While the first
//! runs, the second refuses and names the port; the first's desk reader
//! reads the register's own assets (known, last seen at the desk, enough to
//! check out the loan it says is waiting) next to a few visitors' tags; and
//! when it ends, none of the processes it started is left.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};
use test_support::{
    bin_dir, field, free_port, population_epcs, processes_under, run_command, Api, MainJob,
    DEMO_PASSWORD,
};

#[tokio::test]
async fn run_sh_reads_the_register_refuses_a_taken_port_and_leaves_nothing_behind() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bins = bin_dir(tmp.path())?;
    let port = free_port()?;
    let dir_a = tmp.path().join("run-a");
    let dir_b = tmp.path().join("run-b");

    let mut first = MainJob::start(run_command(&bins, &dir_a, port, 15))?;
    first.wait_up(Duration::from_secs(60))?;

    // A second run on the same port refuses before it touches anything.
    let second = run_command(&bins, &dir_b, port, 5)
        .output()
        .context("running the second run.sh")?;
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "second run.sh on a taken port succeeded: {said}"
    );
    assert!(
        said.contains(&format!("port {port}")) && said.contains("already in use"),
        "second run.sh does not name the taken port: {said}"
    );
    assert!(!dir_b.exists(), "the refused run created its RUN_DIR");

    // The desk reads the register's own assets.
    let api = Api::new(&format!("http://127.0.0.1:{port}"))?;
    let admin = api.login("admin", DEMO_PASSWORD).await?;
    let readers = api.get_ok("/api/v1/readers", &admin).await?;
    let desk = readers["items"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "desk-1"))
        .and_then(|r| r["id"].as_i64())
        .ok_or_else(|| anyhow!("no reader desk-1 registered: {readers}"))?;
    let scenario = field(&dir_a)?;
    let shelf = population_epcs(&scenario, "desk-shelf")?;
    assert!(shelf.len() >= 2, "desk shelf too small: {shelf:?}");
    let mut shelf_assets = Vec::new();
    for epc in &shelf {
        let deadline = Instant::now() + Duration::from_secs(10);
        let asset = loop {
            let a = api
                .get_ok(&format!("/api/v1/assets/by-epc/{epc}"), &admin)
                .await
                .with_context(|| format!("shelf tag {epc} is not a register asset"))?;
            if a["last_seen_reader_id"].as_i64() == Some(desk) || Instant::now() > deadline {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            asset["last_seen_reader_id"].as_i64(),
            Some(desk),
            "asset {} ({epc}) on the desk shelf was not seen by desk-1: {asset}",
            asset["asset_number"]
        );
        assert_eq!(asset["state"], "in_stock", "{asset}");
        shelf_assets.push(asset["id"].as_i64().ok_or_else(|| anyhow!("no id"))?);
    }
    // The visitors' tags are the only foreign sightings at the desk.
    let foreign = api
        .get_ok("/api/v1/sightings/foreign?per_page=500", &admin)
        .await?;
    let at_desk: Vec<&Value> = foreign["items"]
        .as_array()
        .map(|v| v.iter().filter(|s| s["reader_id"] == desk).collect())
        .unwrap_or_default();
    assert!(!at_desk.is_empty(), "no visitor tag at the desk: {foreign}");
    for s in &at_desk {
        let epc = s["epc"].as_str().unwrap_or_default();
        assert!(
            !shelf.iter().any(|e| e.eq_ignore_ascii_case(epc)),
            "shelf tag {epc} counted as foreign"
        );
    }

    // The loan the run names is waiting at the desk with its items on the
    // shelf, and the keeper can check it out with what the desk read.
    let out = first.stdout();
    let request: i64 = out
        .split("open request ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("run.sh names no request to check out:\n{out}"))?;
    let keeper = api.login("keeper", DEMO_PASSWORD).await?;
    let r = api
        .get_ok(&format!("/api/v1/requests/{request}"), &keeper)
        .await?;
    assert_eq!(r["stage"], "checkout", "{r}");
    let items: Vec<i64> = r["items"]
        .as_array()
        .map(|v| v.iter().filter_map(|i| i["asset_id"].as_i64()).collect())
        .unwrap_or_default();
    assert!(!items.is_empty(), "{r}");
    assert!(
        items.iter().all(|i| shelf_assets.contains(i)),
        "request {request} items {items:?} are not all on the desk shelf {shelf_assets:?}"
    );
    let done = api
        .post_ok(
            &format!("/api/v1/requests/{request}/steps"),
            &keeper,
            json!({"action": "check_out", "epcs": shelf}),
            200,
        )
        .await?;
    assert_eq!(done["request"]["stage"], "receipt", "{done}");

    // The first run ends by itself and takes everything it started along.
    let status = first.wait(Duration::from_secs(60))?;
    assert!(status.success(), "first run.sh failed\n{}", first.text());
    assert!(first.stdout().contains("== stopped"), "{}", first.text());
    let left = processes_under(&dir_a);
    assert!(
        left.is_empty(),
        "processes of the first run survive it: {left:#?}"
    );
    Ok(())
}
