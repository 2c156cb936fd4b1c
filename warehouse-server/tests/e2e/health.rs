//! Reader health you can see: the real `hardware-sim` reader driven by the
//! real `reader-daemon`, reporting to the real server, and what
//! `GET /api/v1/health/readers` makes of it as the reader reads, goes
//! quiet, loses its link and the daemon goes away. Thresholds are cut to
//! seconds through the server's environment so this runs quickly.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use test_support::{Daemon, DaemonConfig, SimProcess};

use crate::support::*;

const STALE_S: &str = "2";
const OFFLINE_S: &str = "3";

/// `GET /api/v1/health/readers` as `token`, the reader `name`'s row and
/// its daemon's.
async fn reader_row(s: &Server, token: &str, name: &str) -> Result<(Value, Value)> {
    let view = s.get_ok("/api/v1/health/readers", token).await?;
    for d in view["daemons"].as_array().into_iter().flatten() {
        for r in d["readers"].as_array().into_iter().flatten() {
            if r["name"] == name {
                return Ok((r.clone(), d.clone()));
            }
        }
    }
    Err(anyhow!("no reader {name} in {view}"))
}

/// Polls the view until `want` holds for `name` (20 s at most).
async fn wait_for(
    s: &Server,
    token: &str,
    name: &str,
    what: &str,
    want: impl Fn(&Value, &Value) -> bool,
) -> Result<(Value, Value)> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let (r, d) = reader_row(s, token, name).await?;
        if want(&r, &d) {
            return Ok((r, d));
        }
        if Instant::now() > end {
            bail!("{name} never became {what}: reader {r}, daemon {d}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn scenario(link: &std::path::Path) -> String {
    format!(
        "seed = 5\n\n[[reader]]\nname = \"desk-1\"\nprotocol = \"r2000\"\nlink = {:?}\nrole = \"desk\"\n\n\
         [[population]]\nname = \"chairs\"\nkind = \"giai96\"\ncompany_prefix = {COMPANY_PREFIX:?}\n\
         first_serial = 1\ncount = 5\n",
        link.display().to_string()
    )
}

#[tokio::test]
async fn a_reader_is_ok_while_reading_then_stale_then_offline() -> Result<()> {
    let s = Server::start_fresh(
        &[
            ("WAREHOUSE_HEALTH_STALE_AFTER_SECS", STALE_S),
            ("WAREHOUSE_HEALTH_OFFLINE_AFTER_SECS", OFFLINE_S),
        ],
        &[],
    )?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    let keeper = s.add_user(&admin, "keeper", "keeper", None).await?;
    let created = s
        .post_ok(
            "/api/v1/daemons",
            &admin,
            json!({"daemon_id": "edge-1", "readers": [
                {"name": "desk-1", "role": "desk"}, {"name": "gate-9", "role": "gate"}]}),
            201,
        )
        .await?;
    let token = created["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token in {created}"))?;

    // Registered, never heard of: offline, and said so.
    let (r, d) = reader_row(&s, &keeper, "desk-1").await?;
    assert_eq!(r["status"], "offline", "{r}");
    assert_eq!(d["last_contact"], Value::Null, "{d}");

    let dir = tempfile::tempdir()?;
    let link = dir.path().join("tty-desk-1");
    let mut sim = SimProcess::start(dir.path(), &scenario(&link), 1)?;
    sim.place("chairs", 0, 5, "desk-1", 0.2)?;
    let mut cfg = DaemonConfig::new(&s.base, dir.path()).reader("desk-1", &link, "r2000", "desk");
    cfg.token = token.to_owned();
    cfg.daemon_id = "edge-1".into();
    let config = dir.path().join("daemon.toml");
    cfg.write(&config)?;
    let daemon = Daemon::start(&config)?;

    // (a) Reading: ok, with reads per second and a recent last read.
    let (r, d) = wait_for(&s, &keeper, "desk-1", "ok with reads", |r, _| {
        r["status"] == "ok" && r["reads_per_s"].as_f64().is_some_and(|v| v > 0.0)
    })
    .await
    .map_err(|e| anyhow!("{e}\ndaemon log: {}", Daemon::log(&config)))?;
    assert_eq!(r["connected"], true, "{r}");
    assert!(r["last_read_at"].is_string(), "{r}");
    assert!(r["reads_total"].as_u64().is_some_and(|n| n > 0), "{r}");
    assert_eq!(d["status"], "ok", "{d}");
    assert!(d["backlog"].is_u64(), "{d}");
    assert!(d["last_report_at"].is_string(), "{d}");
    // The daemon does not drive gate-9: it is never reported, so stale.
    let (gate, _) = reader_row(&s, &keeper, "gate-9").await?;
    assert_eq!(gate["status"], "stale", "{gate}");
    assert_eq!(gate["connected"], Value::Null, "{gate}");
    // The desk page's filter.
    let desks = s
        .get_ok("/api/v1/health/readers?role=desk", &keeper)
        .await?;
    assert_eq!(desks["counts"]["ok"], 1, "{desks}");
    assert_eq!(desks["counts"]["stale"], 0, "{desks}");
    assert_eq!(desks["stale_after_secs"], 2, "{desks}");

    // (b) Tags gone: the reader is up but reads nothing → stale.
    sim.take_away("chairs", 0, 5)?;
    wait_for(&s, &keeper, "desk-1", "stale", |r, d| {
        r["status"] == "stale" && d["status"] == "ok"
    })
    .await?;
    // The simulator stops: the serial link is gone → offline (link down),
    // while the daemon itself is still heard of.
    // (Dropping it sends SIGTERM; it removes its link and goes.)
    drop(sim);
    let (r, _) = wait_for(&s, &keeper, "desk-1", "offline (link down)", |r, d| {
        r["status"] == "offline" && r["connected"] == false && d["status"] == "ok"
    })
    .await?;
    assert!(r["errors"].is_u64(), "{r}");
    // The daemon stops: after the offline threshold the daemon is offline.
    daemon.stop()?;
    let (_, d) = wait_for(&s, &keeper, "desk-1", "offline (daemon)", |r, d| {
        r["status"] == "offline" && d["status"] == "offline"
    })
    .await?;
    assert!(d["last_contact"].is_string(), "{d}");
    assert_eq!(d["refused_tokens"], 0, "{d}");
    Ok(())
}

#[tokio::test]
async fn health_is_for_keepers_and_admins_and_reports_for_the_daemon_itself() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    let finance = s.add_user(&admin, "fin", "finance", None).await?;
    let (st, body) = s.get("/api/v1/health/readers", &finance).await?;
    assert_eq!(st.as_u16(), 403, "{body}");
    s.get_ok("/api/v1/health/readers", &admin).await?;
    let (_, token) = s.add_reader(&admin, "desk-1", "desk", None).await?;
    let now = chrono::Utc::now().to_rfc3339();
    let report = |id: &str, reader: &str| {
        json!({"daemon_id": id, "started_at": now, "sent_at": now, "backlog": 7,
            "dropped_total": 0, "auth_failures": 0, "sync_failures": 0,
            "last_sync_success": null, "last_error": null,
            "readers": [{"name": reader, "connected": true, "last_read_at": now,
                "reads_per_s": 3.5, "reads_total": 10, "errors": 0, "last_error": null}]})
    };
    // Another daemon's id (path or body), another's reader: 403 not_bound.
    let (st, body) = s
        .post(
            "/api/v1/daemons/other/health",
            &token,
            report("other", "desk-1"),
        )
        .await?;
    assert_eq!(
        (st.as_u16(), &body["error"]["code"]),
        (403, &json!("not_bound")),
        "{body}"
    );
    let (st, body) = s
        .post(
            "/api/v1/daemons/desk-1/health",
            &token,
            report("other", "desk-1"),
        )
        .await?;
    assert_eq!(st.as_u16(), 403, "{body}");
    let (st, body) = s
        .post(
            "/api/v1/daemons/desk-1/health",
            &token,
            report("desk-1", "gate-7"),
        )
        .await?;
    assert_eq!(body["error"]["field"], "readers[0].name", "{body}");
    assert_eq!(st.as_u16(), 403, "{body}");
    // A person may not report.
    let (st, _) = s
        .post(
            "/api/v1/daemons/desk-1/health",
            &admin,
            report("desk-1", "desk-1"),
        )
        .await?;
    assert_eq!(st.as_u16(), 403);
    // Its own report is kept.
    let (st, body) = s
        .post(
            "/api/v1/daemons/desk-1/health",
            &token,
            report("desk-1", "desk-1"),
        )
        .await?;
    assert_eq!(st.as_u16(), 204, "{body}");
    let (r, d) = reader_row(&s, &admin, "desk-1").await?;
    assert_eq!(
        (r["status"].as_str(), r["reads_per_s"].as_f64()),
        (Some("ok"), Some(3.5)),
        "{r}"
    );
    assert_eq!(d["backlog"], 7, "{d}");
    // A refused token naming the daemon is counted, but a daemon heard of
    // stays ok: only silence turns into `auth_failing`.
    let (st, _) = s
        .post(
            "/api/v1/daemons/desk-1/health",
            "whr_wrong",
            report("desk-1", "desk-1"),
        )
        .await?;
    assert_eq!(st.as_u16(), 401);
    let (r, d) = reader_row(&s, &admin, "desk-1").await?;
    assert_eq!(d["refused_tokens"], 1, "{d}");
    assert_eq!(r["status"], "ok", "{r}");
    // A bad body is 422 naming the field.
    let mut bad = report("desk-1", "desk-1");
    bad["backlog"] = json!(-1);
    let (st, body) = s.post("/api/v1/daemons/desk-1/health", &token, bad).await?;
    assert_eq!(st.as_u16(), 422, "{body}");
    Ok(())
}
