//! `scripts/run.sh`, the main job, run for real with the binaries this test
//! build made (`BIN_DIR`): two runs on one OS-chosen port. While the first
//! runs, the second refuses and names the port; the first's desk reader
//! reads the register's own assets (known, last seen at the desk, enough to
//! check out the loan it says is waiting) next to a few visitors' tags; and
//! when it ends, none of the processes it started is left.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use test_support::{collect, text_of, wait_until, workspace_bin, Api};

/// The demo password `run.sh` gives every login.
const DEMO_PASSWORD: &str = "gongwucang-demo";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run.sh")
}

/// One directory holding the three binaries (links to where they are).
fn bin_dir(dir: &Path) -> Result<PathBuf> {
    let bins = dir.join("bin");
    std::fs::create_dir_all(&bins)?;
    for name in ["warehouse-server", "hardware-sim", "reader-daemon"] {
        std::os::unix::fs::symlink(workspace_bin(name)?, bins.join(name))
            .with_context(|| format!("linking {name}"))?;
    }
    Ok(bins)
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn run_command(bins: &Path, run_dir: &Path, port: u16, seconds: u32) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .env("BIN_DIR", bins)
        .env("RUN_DIR", run_dir)
        .env("PORT", port.to_string())
        .env("RUN_SECONDS", seconds.to_string())
        .env("STARTUP_TIMEOUT", "40")
        .stdin(Stdio::null());
    cmd
}

/// A running `run.sh`; on drop (a failed test) it gets SIGTERM, which its
/// trap turns into stopping its children, and SIGKILL if that hangs.
struct Run {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Run {
    fn start(mut cmd: Command) -> Result<Self> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting run.sh")?;
        let out = collect(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
        let err = collect(child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?);
        Ok(Self { child, out, err })
    }

    fn stdout(&self) -> String {
        text_of(&self.out)
    }

    fn text(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            text_of(&self.out),
            text_of(&self.err)
        )
    }

    fn wait(&mut self, within: Duration) -> Result<ExitStatus> {
        let end = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > end {
                bail!("run.sh still running after {within:?}\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let child = &mut self.child;
            if !wait_until(Duration::from_secs(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            }) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// Processes whose command line mentions `dir`: `pid: args`.
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args = String::from_utf8_lossy(&raw).replace('\0', " ");
        if args.contains(&needle) {
            found.push(format!("{pid}: {}", args.trim()));
        }
    }
    found
}

/// The EPCs of a population of the written scenario.
fn population_epcs(scenario: &Value, name: &str) -> Result<Vec<String>> {
    let pops = scenario["population"]
        .as_array()
        .ok_or_else(|| anyhow!("scenario has no [[population]]"))?;
    let pop = pops
        .iter()
        .find(|p| p["name"] == name)
        .ok_or_else(|| anyhow!("scenario has no population {name}"))?;
    Ok(pop["epcs"]
        .as_array()
        .ok_or_else(|| anyhow!("population {name} has no epcs"))?
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn run_sh_reads_the_register_refuses_a_taken_port_and_leaves_nothing_behind() -> Result<()> {
    let started = Instant::now();
    let tmp = tempfile::tempdir()?;
    let bins = bin_dir(tmp.path())?;
    let port = free_port()?;
    let dir_a = tmp.path().join("run-a");
    let dir_b = tmp.path().join("run-b");

    let mut first = Run::start(run_command(&bins, &dir_a, port, 15))?;
    let up = wait_until(Duration::from_secs(60), || {
        first.stdout().contains("Ctrl-C stops everything")
            || matches!(first.child.try_wait(), Ok(Some(_)))
    });
    if !up || !first.stdout().contains("Ctrl-C stops everything") {
        bail!("the first run.sh did not come up\n{}", first.text());
    }

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
    let scenario: Value = {
        let text = std::fs::read_to_string(dir_a.join("field.toml"))?;
        let t: toml::Value = toml::from_str(&text).context("field.toml is not TOML")?;
        serde_json::to_value(t)?
    };
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
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
    Ok(())
}
