//! `reader-daemon commission` against simulated readers on PTYs and an
//! HTTP endpoint on 127.0.0.1 speaking the server's commissioning API
//! (allocate → write → read back → confirm).

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::{Json, Router};
use hardware_sim::{ProtocolKind, Scenario, Simulator, TagSelector};
use serde_json::{json, Value};
use shared::tag::EpcBytes;
use support::*;

#[derive(Default)]
struct Commissions {
    confirmed: Mutex<Vec<(i64, String)>>,
}

fn giai(asset: i64) -> R<EpcBytes> {
    let epc = shared::epc::encode_giai96(0, "0614141", &asset.to_string())?;
    Ok(*epc.epc_bytes())
}

async fn allocate(UrlPath(asset): UrlPath<i64>) -> Json<Value> {
    let epc = giai(asset).map(|e| e.to_string()).unwrap_or_default();
    Json(json!({
        "commission_id": asset * 10, "asset_id": asset, "epc": epc,
        "tag_uri": format!("urn:epc:tag:giai-96:0.0614141.{asset}"), "id_uri": "",
    }))
}

async fn confirm(
    State(state): State<Arc<Commissions>>,
    UrlPath(id): UrlPath<i64>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let epc = body["epc"].as_str().unwrap_or_default().to_string();
    state
        .confirmed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, epc));
    Json(json!({"ok": true}))
}

struct Api {
    url: String,
    state: Arc<Commissions>,
    _runtime: tokio::runtime::Runtime,
}

fn api() -> R<Api> {
    let state = Arc::new(Commissions::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/api/v1/assets/{id}/tag/commission", post(allocate))
        .route("/api/v1/tag-commissions/{id}/confirm", post(confirm))
        .with_state(state.clone());
    runtime.spawn(async move {
        if let Ok(l) = tokio::net::TcpListener::from_std(listener) {
            let _ = axum::serve(l, app).await;
        }
    });
    Ok(Api {
        url,
        state,
        _runtime: runtime,
    })
}

fn commission(config: &std::path::Path, asset: i64) -> R<(bool, String)> {
    let out = Command::new(BIN)
        .args(["commission", "--config"])
        .arg(config)
        .args([
            "--reader",
            "desk-1",
            "--asset",
            &asset.to_string(),
            "--scan-ms",
            "500",
        ])
        .env("RUST_LOG", "warn")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[test]
fn commissions_blank_tags_one_at_a_time_on_both_protocols() -> R {
    for (proto, name) in [
        (ProtocolKind::R2000, "r2000"),
        (ProtocolKind::Chainway, "chainway"),
    ] {
        let dir = tempfile::tempdir()?;
        let link = dir.path().join("desk-1");
        let sim = Simulator::start(Scenario::quick(proto, &link, 1))?;
        sim.remove_tags(&TagSelector::population("assets"));
        let api = api()?;
        let config = dir.path().join("config.toml");
        DaemonConfig::new(&api.url, dir.path())
            .reader("desk-1", &link, name, "desk")
            .write(&config)?;

        // No tag in the field: refused, nothing allocated.
        let (ok, text) = commission(&config, 1)?;
        assert!(!ok && text.contains("no tag in the field"), "{text}");

        // Five deliveries, one blank tag at a time.
        for asset in 1..=5i64 {
            let blank = EpcBytes::new(&[0xE2, 0x80, 0x11, 0x70, 0, 0, 0, 0, 0, 0, 0, asset as u8])?;
            sim.add_tag(&blank, "reader-1", 1, 0.3).ok_or("no reader")?;
            let (ok, text) = commission(&config, asset)?;
            assert!(ok, "{name} asset {asset}: {text}");
            let want = giai(asset)?;
            assert!(
                sim.tag_memory(&want).is_some(),
                "{name}: tag now carries {want}"
            );
            assert!(
                sim.tag_memory(&blank).is_none(),
                "{name}: the blank EPC is gone"
            );
            // Out of the field before the next one.
            sim.remove_tags(&TagSelector::epc(&want));
        }
        let confirmed = api
            .state
            .confirmed
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        assert_eq!(confirmed.len(), 5, "{confirmed:?}");
        for (i, (cid, epc)) in confirmed.iter().enumerate() {
            let asset = i as i64 + 1;
            assert_eq!((*cid, epc.clone()), (asset * 10, giai(asset)?.to_string()));
        }

        // Two tags in the field, or a tag that is already an asset's: refused.
        let a = EpcBytes::new(&[0xE2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xA1])?;
        let b = EpcBytes::new(&[0xE2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xB2])?;
        sim.add_tag(&a, "reader-1", 1, 0.3);
        sim.add_tag(&b, "reader-1", 1, 0.3);
        let (ok, text) = commission(&config, 6)?;
        assert!(!ok && text.contains("2 tags in the field"), "{text}");
        sim.remove_tags(&TagSelector::epc(&a));
        sim.remove_tags(&TagSelector::epc(&b));
        let used = giai(99)?;
        sim.add_tag(&used, "reader-1", 1, 0.3);
        let (ok, text) = commission(&config, 7)?;
        assert!(
            !ok && text.contains("already carries an asset EPC"),
            "{text}"
        );
        assert_eq!(api.state.confirmed.lock().map(|c| c.len()).unwrap_or(0), 5);
    }
    Ok(())
}
