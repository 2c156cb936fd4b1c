//! `reader-daemon commission` end to end, all three as processes: the real
//! `warehouse-server` on 127.0.0.1, the real `hardware-sim` binary serving
//! a desk reader on a PTY (tags moved in and out over its control stdin),
//! and the `reader-daemon` binary. A delivery of 10 blank tags is
//! commissioned one at a time (the prompt-per-tag flow driven over stdin),
//! then `reader-daemon run` inventories them and the server's bindings,
//! timelines and sightings must all agree. The refusals (no tag, two tags,
//! a tag that is already an asset's) run against the real server too.
//!
//! One failure the real server cannot be made to produce on cue — it
//! refusing the confirmation after the tag was written — uses a small HTTP
//! double at the end of this file.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use shared::tag::EpcBytes;
use support::*;

const DELIVERY: usize = 10;

fn scenario(protocol: &str, link: &std::path::Path) -> String {
    format!(
        r#"seed = 7

[[reader]]
name = "desk-1"
protocol = "{protocol}"
link = {link:?}
role = "desk"

# Factory-fresh tags of the delivery (and two spare), out of every field.
[[population]]
name = "blank"
kind = "blank"
count = {blanks}

# A tag commissioned long ago for another asset.
[[population]]
name = "old"
kind = "giai96"
company_prefix = "0614141"
first_serial = 990001
count = 1
"#,
        link = link.display().to_string(),
        blanks = DELIVERY + 2,
    )
}

fn commission_once(config: &std::path::Path, asset: i64) -> R<(bool, String)> {
    let config = config.display().to_string();
    run_cli(&[
        "commission",
        "--config",
        &config,
        "--reader",
        "desk-1",
        "--asset",
        &asset.to_string(),
        "--scan-ms",
        "500",
    ])
}

fn commissions_a_delivery_against_the_real_server(protocol: &'static str) -> R {
    let dir = tempfile::tempdir()?;
    let mut server = WarehouseServer::init(dir.path())?;
    server.start()?;
    let http = Http::new(&server.url)?;
    let site = Site::create(&http)?;
    let (desk_id, desk_token) = site.reader(&http, "desk-1", "desk")?;
    let assets: Vec<i64> = (0..DELIVERY)
        .map(|n| site.asset(&http, &format!("{}", 20_000 + n)))
        .collect::<R<_>>()?;
    let spare = site.asset(&http, "29999")?;

    let link = dir.path().join("desk-1");
    let mut sim = SimProcess::start(dir.path(), &scenario(protocol, &link), 1)?;
    let mut cfg =
        DaemonConfig::new(&server.url, dir.path()).reader("desk-1", &link, protocol, "desk");
    cfg.token = desk_token;
    // `POST /readers` registered desk-1 as a daemon of its own, named after it.
    cfg.daemon_id = "desk-1".into();
    let config = dir.path().join("config.toml");
    cfg.write(&config)?;
    let asset_detail = |asset: i64| http.get(&format!("/api/v1/assets/{asset}"), &site.admin);

    // Refusals: nothing is allocated or bound on the server.
    let (ok, text) = commission_once(&config, spare)?;
    assert!(!ok && text.contains("no tag in the field"), "{text}");
    sim.place("blank", DELIVERY, 2, "desk-1", 0.2)?;
    let (ok, text) = commission_once(&config, spare)?;
    assert!(!ok && text.contains("2 tags in the field"), "{text}");
    sim.take_away("blank", DELIVERY, 2)?;
    sim.place("old", 0, 1, "desk-1", 0.2)?;
    let (ok, text) = commission_once(&config, spare)?;
    assert!(
        !ok && text.contains("already carries an asset EPC"),
        "{text}"
    );
    sim.take_away("old", 0, 1)?;
    let d = asset_detail(spare)?;
    assert!(
        d["asset"]["epc"].is_null() && d["tags"].as_array().is_some_and(|t| t.is_empty()),
        "{d}"
    );

    // The delivery: one prompt per tag; the keeper puts each blank tag on
    // the reader (the previous one taken away) and presses Enter.
    let batch = dir.path().join("delivery.txt");
    let lines: Vec<String> = assets.iter().map(|a| a.to_string()).collect();
    std::fs::write(&batch, format!("# delivery\n{}\n", lines.join("\n")))?;
    let mut child = Command::new(BIN)
        .args(["commission", "--config"])
        .arg(&config)
        .args(["--reader", "desk-1", "--scan-ms", "500", "--batch"])
        .arg(&batch)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = collect(child.stdout.take().ok_or("no stdout")?);
    let stderr = collect(child.stderr.take().ok_or("no stderr")?);
    for k in 0..DELIVERY {
        let prompt = format!("[{}/{DELIVERY}] place the blank tag", k + 1);
        let prompted = wait_until(Duration::from_secs(30), || {
            text_of(&stderr).contains(&prompt)
        });
        assert!(
            prompted,
            "{protocol}: no prompt {prompt:?}\nstdout: {}\nstderr: {}",
            text_of(&stdout),
            text_of(&stderr)
        );
        if k > 0 {
            sim.take_away("blank", k - 1, 1)?;
        }
        sim.place("blank", k, 1, "desk-1", 0.2)?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
    }
    let exited = wait_until(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let out = text_of(&stdout);
    assert!(exited, "{protocol}: commission did not finish\n{out}");
    let status = child.wait()?;
    assert!(status.success(), "{protocol}: {out}\n{}", text_of(&stderr));
    sim.take_away("blank", DELIVERY - 1, 1)?;

    // What the command says it wrote, per asset.
    let mut written: BTreeMap<i64, String> = BTreeMap::new();
    for line in out.lines() {
        let mut words = line.split_whitespace();
        if let (Some("asset"), Some(asset), Some("wrote"), Some(epc)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            written.insert(asset.trim_end_matches(':').parse()?, epc.to_string());
        }
        assert!(line.ends_with("verified, bound"), "{protocol}: {line}");
    }
    assert_eq!(written.len(), DELIVERY, "{protocol}: {out}");

    // The server's bindings: the asset's active EPC, one live binding, and
    // a `tag_bound` event naming that EPC on its timeline.
    for &asset in &assets {
        let epc = written.get(&asset).ok_or("asset not commissioned")?;
        let d = asset_detail(asset)?;
        assert_eq!(d["asset"]["epc"].as_str(), Some(epc.as_str()), "{d}");
        let tags = d["tags"].as_array().ok_or("no tags")?;
        assert_eq!(tags.len(), 1, "{d}");
        assert!(tags[0]["unbound_at"].is_null(), "{d}");
        let bound: Vec<&Value> = d["timeline"]
            .as_array()
            .ok_or("no timeline")?
            .iter()
            .filter(|e| e["action"] == "tag_bound")
            .collect();
        assert_eq!(bound.len(), 1, "{d}");
        let details: Value =
            serde_json::from_str(bound[0]["details"].as_str().unwrap_or_default())?;
        assert_eq!(details["epc"].as_str(), Some(epc.as_str()), "{d}");
    }

    // A later inventory: the daemon runs the desk reader with the whole
    // delivery on it; the server sees exactly those EPCs, each the asset's.
    sim.place("blank", 0, DELIVERY, "desk-1", 0.3)?;
    let daemon = Daemon::start(&config)?;
    let want: std::collections::BTreeSet<String> = written.values().cloned().collect();
    let seen = || -> std::collections::BTreeSet<String> {
        sightings(&server.db)
            .map(|s| s.into_iter().map(|s| s.epc).collect())
            .unwrap_or_default()
    };
    let all = wait_until(Duration::from_secs(30), || seen() == want);
    assert!(
        all,
        "{protocol}: server saw {:?}, want {want:?}\n{}",
        seen(),
        Daemon::log(&config)
    );
    daemon.stop()?;
    for &asset in &assets {
        let a = &asset_detail(asset)?["asset"];
        assert_eq!(a["last_seen_reader_id"].as_i64(), Some(desk_id), "{a}");
    }
    Ok(())
}

#[test]
fn commissions_ten_blank_tags_r2000() -> R {
    commissions_a_delivery_against_the_real_server("r2000")
}

#[test]
fn commissions_ten_blank_tags_chainway() -> R {
    commissions_a_delivery_against_the_real_server("chainway")
}

// ---------------------------------------------------------------------------
// Failure injection: the server refuses the confirmation.
// ---------------------------------------------------------------------------

fn giai(asset: i64) -> R<EpcBytes> {
    let epc = shared::epc::encode_giai96(0, "0614141", &asset.to_string())?;
    Ok(*epc.epc_bytes())
}

/// Allocates like the server, then answers every confirmation with 503.
fn refusing_double() -> R<(String, tokio::runtime::Runtime)> {
    use axum::extract::Path as UrlPath;
    use axum::http::StatusCode;
    use axum::routing::post;
    use axum::{Json, Router};
    async fn allocate(UrlPath(asset): UrlPath<i64>) -> Json<Value> {
        let epc = giai(asset).map(|e| e.to_string()).unwrap_or_default();
        Json(
            json!({"commission_id": asset * 10, "asset_id": asset, "epc": epc,
                    "tag_uri": format!("urn:epc:tag:giai-96:0.0614141.{asset}"), "id_uri": ""}),
        )
    }
    async fn confirm() -> (StatusCode, &'static str) {
        (StatusCode::SERVICE_UNAVAILABLE, "database is locked")
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/api/v1/assets/{id}/tag/commission", post(allocate))
        .route("/api/v1/tag-commissions/{id}/confirm", post(confirm));
    runtime.spawn(async move {
        if let Ok(l) = tokio::net::TcpListener::from_std(listener) {
            let _ = axum::serve(l, app).await;
        }
    });
    Ok((url, runtime))
}

#[test]
fn a_refused_confirmation_says_the_tag_is_written() -> R {
    use hardware_sim::{ProtocolKind, Scenario, Simulator, TagSelector};
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("desk-1");
    let sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, &link, 1))?;
    sim.remove_tags(&TagSelector::population("assets"));
    let (url, _runtime) = refusing_double()?;
    let config = dir.path().join("config.toml");
    DaemonConfig::new(&url, dir.path())
        .reader("desk-1", &link, "r2000", "desk")
        .write(&config)?;
    let blank = EpcBytes::new(&[0xE2, 0x80, 0x11, 0x70, 0, 0, 0, 0, 0, 0, 0, 0x01])?;
    sim.add_tag(&blank, "reader-1", 1, 0.3).ok_or("no reader")?;
    let (ok, text) = commission_once(&config, 1)?;
    assert!(!ok, "{text}");
    assert!(
        text.contains("the tag is written; re-run to confirm") && text.contains("503"),
        "{text}"
    );
    assert!(sim.tag_memory(&giai(1)?).is_some(), "the tag was written");
    Ok(())
}
