//! Attacks on the record, against the real binary and a real SQLite file:
//! someone with write access to the database file (but not to the chain
//! key) edits, deletes or forges rows, and `admin verify-log` must refuse
//! the result, naming what and where. And the exit gate: nobody waves an
//! in-stock asset through; only an approver's emergency pass clears it,
//! until it expires.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Result};
use reqwest::{Method, StatusCode};
use rusqlite::Connection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

/// A world with history: tags bound, a loan filed and approved (request
/// steps), and the head exported at that point.
struct Record {
    w: World,
    loan: i64,
    /// `admin export-head` output saved to a file.
    head: PathBuf,
}

impl Record {
    async fn new() -> Result<Self> {
        let w = World::new().await?;
        let s = &w.server;
        w.tag(w.asset_wh).await?;
        let loan = s
            .post_ok(
                "/api/v1/requests",
                &w.staff_a,
                json!({"kind": "loan", "asset_ids": [w.asset_wh], "reason": "培训",
                    "loan_start": "2099-12-01", "loan_due": "2099-12-03"}),
                201,
            )
            .await?;
        let loan = id(&loan).or_else(|_| id(&loan["request"]))?;
        s.post_ok(
            &format!("/api/v1/requests/{loan}/steps"),
            &w.approver,
            json!({"action": "approve", "comment": "同意"}),
            200,
        )
        .await?;
        let head = s.dir.path().join("head.json");
        std::fs::write(&head, cli_ok(&s.db, &["admin", "export-head"])?)?;
        Ok(Self { w, loan, head })
    }

    /// A consistent copy of the database, with its key beside it, for one
    /// attack.
    fn copy(&self, name: &str) -> Result<PathBuf> {
        let db = self.w.server.dir.path().join(format!("{name}.db"));
        cli_ok(
            &self.w.server.db,
            &["admin", "backup", "--to", &db.to_string_lossy()],
        )?;
        std::fs::copy(chain_key_file(&self.w.server.db), chain_key_file(&db))?;
        Ok(db)
    }

    fn head(&self) -> &str {
        self.head.to_str().unwrap_or_default()
    }
}

/// The attacker opens the file and drops the append-only guards (and
/// foreign keys) first.
fn tamper(db: &Path, sql: &str) -> Result<()> {
    let conn = Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER IF EXISTS asset_events_no_update;
         DROP TRIGGER IF EXISTS asset_events_no_delete;
         DROP TRIGGER IF EXISTS request_steps_no_update;
         DROP TRIGGER IF EXISTS request_steps_no_delete;",
    )?;
    conn.execute_batch(sql)?;
    Ok(())
}

/// `admin verify-log [--against HEAD]`: (exit code, parsed report).
fn verify(db: &Path, against: Option<&str>) -> Result<(i32, Value)> {
    let mut args = vec!["admin", "verify-log"];
    if let Some(h) = against {
        args.extend(["--against", h]);
    }
    let out = cli(db, &args)?;
    let code = out.status.code().ok_or_else(|| anyhow!("killed"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).map_err(|e| {
        anyhow!(
            "verify-log printed no report ({e}): {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((code, report))
}

/// Must fail with exit 1 and a problem mentioning `words`.
fn refused(db: &Path, against: Option<&str>, words: &[&str]) -> Result<Value> {
    let (code, v) = verify(db, against)?;
    ensure!(code == 1 && v["ok"] == false, "not refused: {v}");
    let problem = v["problem"].as_str().unwrap_or_default();
    for w in words {
        ensure!(
            problem.contains(w),
            "problem {problem:?} does not name {w:?}"
        );
    }
    Ok(v)
}

fn scalar<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> Result<T> {
    Ok(Connection::open(db)?.query_row(sql, [], |r| r.get(0))?)
}

#[tokio::test]
async fn every_tampering_of_the_chain_is_detected() -> Result<()> {
    if sqlite_only("tampers with copies of the SQLite file made by `admin backup`") {
        return Ok(());
    }
    let r = Record::new().await?;
    let db = &r.w.server.db;
    let (code, v) = verify(db, Some(r.head()))?;
    ensure!(code == 0 && v["ok"] == true, "intact record: {v}");
    let last: i64 = scalar(db, "SELECT MAX(seq) FROM request_steps")?;
    let step_id: i64 = scalar(
        db,
        &format!("SELECT id FROM request_steps WHERE seq = {last}"),
    )?;

    // An edited event.
    let x = r.copy("edit-event")?;
    tamper(
        &x,
        "UPDATE asset_events SET reason = 'forged' WHERE seq = 2",
    )?;
    let v = refused(&x, None, &["event 2", "edited"])?;
    assert_eq!(v["first_broken_seq"], 2);

    // An edited request step: the approver's decision turned around.
    let x = r.copy("edit-step")?;
    tamper(
        &x,
        &format!("UPDATE request_steps SET action = 'reject' WHERE seq = {last}"),
    )?;
    let v = refused(&x, None, &[&format!("request step {step_id}"), "edited"])?;
    assert_eq!(v["first_broken_seq"], last);

    // A request step removed (the approval that let the loan through).
    let x = r.copy("delete-step")?;
    let filed: i64 = scalar(
        &x,
        &format!(
            "SELECT MIN(seq) FROM request_steps WHERE request_id = {}",
            r.loan
        ),
    )?;
    tamper(
        &x,
        &format!("DELETE FROM request_steps WHERE seq = {filed}"),
    )?;
    let v = refused(&x, None, &["removed"])?;
    assert_eq!(v["first_broken_seq"], filed + 1);

    // The register changed behind the chain's back: an in-stock asset
    // marked in transit (so the gate would let it out).
    let x = r.copy("edit-asset")?;
    tamper(
        &x,
        &format!(
            "UPDATE assets SET state = 'in_transit', checkout_approved = 1 WHERE id = {}",
            r.w.asset_wh
        ),
    )?;
    let v = refused(
        &x,
        None,
        &[&format!("asset {}", r.w.asset_wh), "in_transit"],
    )?;
    assert_eq!(v["broken_asset_id"], r.w.asset_wh);
    Ok(())
}

#[tokio::test]
async fn truncation_with_a_rewritten_head_needs_the_exported_head() -> Result<()> {
    if sqlite_only("tampers with copies of the SQLite file made by `admin backup`") {
        return Ok(());
    }
    let r = Record::new().await?;
    let db = &r.w.server.db;
    let exported: i64 = serde_json::from_str::<Value>(&std::fs::read_to_string(&r.head)?)?["seq"]
        .as_i64()
        .ok_or_else(|| anyhow!("no seq in the exported head"))?;
    // Later work extends the exported head; that still verifies against it.
    r.w.tag(r.w.asset_a).await?;
    let (code, v) = verify(db, Some(r.head()))?;
    ensure!(code == 0, "an extended chain must verify: {v}");

    // Tail cut back to before the exported head and the stored head
    // rewritten to the new end: every link is intact...
    let x = r.copy("truncate")?;
    let keep = exported - 2;
    let hash: Vec<u8> = scalar(
        &x,
        &format!("SELECT hash FROM asset_events WHERE seq = {keep}"),
    )?;
    let hex: String = hash.iter().map(|b| format!("{b:02X}")).collect();
    tamper(
        &x,
        &format!(
            "DELETE FROM asset_events WHERE seq > {keep};
             DELETE FROM request_steps WHERE seq > {keep};
             UPDATE settings SET value = '{keep}:{hex}' WHERE key = 'events.head';"
        ),
    )?;
    // ...and the removed entries (the loan's steps) changed no asset, so
    // on its own the database verifies: this is what the exported head is for.
    let (code, v) = verify(&x, None)?;
    ensure!(code == 0, "{v}");
    // Against the exported head the cut is named.
    let v = refused(
        &x,
        Some(r.head()),
        &["before the exported head", &format!("{exported}")],
    )?;
    assert_eq!(v["first_broken_seq"], keep + 1);

    // Every event, step, asset and the head deleted: an empty database
    // verifies on its own (what the exported head is for)...
    let x = r.copy("wipe")?;
    tamper(
        &x,
        "DELETE FROM asset_events; DELETE FROM request_steps;
         DELETE FROM settings WHERE key = 'events.head'; DELETE FROM assets;",
    )?;
    let (code, _) = verify(&x, None)?;
    ensure!(code == 0, "nothing left to contradict");
    refused(&x, Some(r.head()), &["before the exported head"])?;
    // Deleting the events but not the assets is caught without it.
    let x = r.copy("wipe-log")?;
    tamper(
        &x,
        "DELETE FROM asset_events; DELETE FROM request_steps;
         DELETE FROM settings WHERE key = 'events.head';",
    )?;
    refused(&x, None, &["its events tell state -"])?;

    // A head edited to match a forgery does not carry a valid signature.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&r.head)?)?;
    forged["seq"] = json!(exported - 1);
    let forged_path = r.w.server.dir.path().join("forged-head.json");
    std::fs::write(&forged_path, forged.to_string())?;
    refused(
        db,
        Some(forged_path.to_str().unwrap_or_default()),
        &["mac does not verify"],
    )?;
    Ok(())
}

/// Rewrites every event link from `from_seq` on the way the unkeyed chain
/// did (SHA-256 over the same length-prefixed fields) and moves the head.
fn rehash_plain(db: &Path, from_seq: i64) -> Result<()> {
    let conn = Connection::open(db)?;
    let mut prev: Vec<u8> = conn.query_row(
        "SELECT prev_hash FROM asset_events WHERE seq = ?1",
        [from_seq],
        |r| r.get(0),
    )?;
    type Row = (i64, i64, i64, [Option<String>; 6]);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT seq, asset_id, at, actor, place, action, reason, request_id, details
             FROM asset_events WHERE seq >= ?1 ORDER BY seq",
        )?
        .query_map([from_seq], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                [
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ],
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut last = 0;
    for (seq, asset, at, fields) in rows {
        let mut h = Sha256::new();
        h.update(&prev);
        for n in [seq, asset, at] {
            h.update(n.to_be_bytes());
        }
        for f in &fields {
            match f {
                None => h.update([0u8]),
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_be_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        let hash = h.finalize().to_vec();
        conn.execute(
            "UPDATE asset_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )?;
        prev = hash;
        last = seq;
    }
    let hex: String = prev.iter().map(|b| format!("{b:02X}")).collect();
    conn.execute(
        "UPDATE settings SET value = ?1 WHERE key = 'events.head'",
        [format!("{last}:{hex}")],
    )?;
    Ok(())
}

/// The forger rebuilds every link after an edit the way an unkeyed chain
/// would, and moves the head along.
#[tokio::test]
async fn a_chain_rebuilt_without_the_key_fails() -> Result<()> {
    if sqlite_only("tampers with copies of the SQLite file made by `admin backup`") {
        return Ok(());
    }
    let r = Record::new().await?;
    let x = r.copy("rehash")?;
    tamper(
        &x,
        "UPDATE asset_events SET details = '{\"state\":\"disposed\"}' WHERE seq = 2",
    )?;
    rehash_plain(&x, 2)?;
    let v = refused(&x, None, &["event 2", "under the chain key"])?;
    assert_eq!(v["first_broken_seq"], 2);
    Ok(())
}

/// A database from before the keyed chain: events linked by plain SHA-256,
/// request steps outside any chain, no key file. `rekey-chain` seals it
/// after checking the old chain, and refuses to bless a broken one.
#[tokio::test]
async fn an_unkeyed_database_is_sealed_by_rekey_chain() -> Result<()> {
    if sqlite_only("tampers with copies of the SQLite file made by `admin backup`") {
        return Ok(());
    }
    let r = Record::new().await?;
    let legacy = |name: &str| -> Result<PathBuf> {
        let x = r.copy(name)?;
        tamper(
            &x,
            "UPDATE request_steps SET seq = NULL, prev_hash = NULL, hash = NULL",
        )?;
        rehash_plain(&x, 1)?;
        std::fs::remove_file(chain_key_file(&x))?;
        Ok(x)
    };
    let x = legacy("legacy")?;
    let out = cli(&x, &["admin", "verify-log"])?;
    ensure!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let sealed = cli_ok(&x, &["admin", "rekey-chain"])?;
    ensure!(sealed.contains("request steps"), "{sealed}");
    let (code, v) = verify(&x, None)?;
    ensure!(code == 0, "{v}");
    let steps: i64 = scalar(&x, "SELECT COUNT(*) FROM request_steps WHERE seq IS NULL")?;
    assert_eq!(steps, 0);
    // The guards are back.
    ensure!(Connection::open(&x)?
        .execute("DELETE FROM request_steps", [])
        .is_err());
    // Twice is refused; so is sealing an old chain that was edited.
    ensure!(!cli(&x, &["admin", "rekey-chain"])?.status.success());
    let y = legacy("legacy-edited")?;
    tamper(&y, "UPDATE asset_events SET reason = 'x' WHERE seq = 3")?;
    let out = cli(&y, &["admin", "rekey-chain"])?;
    ensure!(!out.status.success());
    ensure!(String::from_utf8_lossy(&out.stderr).contains("event 3"));
    Ok(())
}

#[tokio::test]
async fn the_chain_key_is_required_and_kept_outside_the_database() -> Result<()> {
    if sqlite_only("tampers with copies of the SQLite file made by `admin backup`") {
        return Ok(());
    }
    let r = Record::new().await?;
    let x = r.copy("no-key")?;
    // Nothing in the database file is the key.
    let key = std::fs::read(chain_key_file(&x))?;
    assert_eq!(key.len(), 32);
    let file = std::fs::read(&x)?;
    ensure!(!file.windows(32).any(|w| w == key.as_slice()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(chain_key_file(&r.w.server.db))?
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the key file is readable by others: {mode:o}"
        );
    }
    std::fs::remove_file(chain_key_file(&x))?;
    for args in [
        &["admin", "verify-log"][..],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let out = cli(&x, args)?;
        ensure!(!out.status.success(), "{args:?} ran without the key");
        let err = String::from_utf8_lossy(&out.stderr);
        ensure!(
            err.contains("chain key file") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
    // Another database's key does not verify this one.
    let y = r.copy("other-key")?;
    let fresh = tempfile::tempdir()?;
    let other = fresh.path().join("other.db");
    admin_init(&other)?;
    std::fs::copy(chain_key_file(&other), chain_key_file(&y))?;
    refused(&y, None, &["event 1", "under the chain key"])?;
    // Nor does the server start with it: it would chain entries no
    // verifier can link.
    let out = cli(&y, &["serve", "--listen", "127.0.0.1:0"])?;
    ensure!(!out.status.success(), "serve started with another key");
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        err.contains("does not seal the chain's last entry") && err.contains("verify-log"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn nobody_waves_an_asset_through_the_gate_but_an_approvers_pass_until_expiry() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    let epc = w.tag(w.asset_wh).await?;
    // The old bypass is gone.
    let (st, _) = s
        .call(
            Method::PUT,
            &format!("/api/v1/assets/{}/checkout-approval", w.asset_wh),
            Some(&w.keeper),
            Some(json!({"approved": true, "reason": "借出"})),
        )
        .await?;
    ensure!(!st.is_success(), "the check-out bypass answered {st}");
    let pass_path = format!("/api/v1/assets/{}/emergency-pass", w.asset_wh);
    let pass = |token: String, body: Value| {
        let path = pass_path.clone();
        async move { s.post(&path, &token, body).await }
    };
    let good = json!({"reason": "抢修外送", "valid_minutes": 30});
    for token in [&w.keeper, &w.admin, &w.finance, &w.staff_a] {
        let (st, e) = pass(token.clone(), good.clone()).await?;
        assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    }
    // So the gate sees an in-stock asset leave: alarm.
    let at = |t: chrono::DateTime<chrono::Utc>| {
        let mut o = obs(&epc, "gate-1", "added");
        o["first_seen"] = json!(t);
        o["last_seen"] = json!(t);
        o
    };
    let now = chrono::Utc::now();
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch("gate-1", 1, vec![at(now)]),
            200,
        )
        .await?;
    assert_eq!(ack["alarms_raised"], 1, "{ack}");
    let alarms = s.get_ok("/api/v1/alarms?status=open", &w.keeper).await?;
    s.post_ok(
        &format!("/api/v1/alarms/{}/acknowledge", id(&alarms["items"][0])?),
        &w.keeper,
        json!({"comment": "拦下"}),
        204,
    )
    .await?;

    // An approver's pass needs a reason and a bounded validity.
    let (st, e) = pass(
        w.approver.clone(),
        json!({"reason": " ", "valid_minutes": 30}),
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "reason");
    let (st, e) = pass(
        w.approver.clone(),
        json!({"reason": "x", "valid_minutes": 100_000}),
    )
    .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "valid_minutes");
    let granted = s.post_ok(&pass_path, &w.approver, good, 201).await?;
    assert_eq!(granted["granted_by"], "user:approver");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(granted["expires_at"].clone())?;
    ensure!(expires > now + chrono::Duration::minutes(29));
    // Within the pass: no alarm. After it: alarm again.
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch(
                "gate-1",
                2,
                vec![at(expires - chrono::Duration::seconds(5))],
            ),
            200,
        )
        .await?;
    assert_eq!(ack["alarms_raised"], 0, "{ack}");
    let ack = s
        .post_ok(
            "/api/v1/readers/observations",
            &w.gate_token,
            batch(
                "gate-1",
                3,
                vec![at(expires + chrono::Duration::seconds(1))],
            ),
            200,
        )
        .await?;
    assert_eq!(ack["alarms_raised"], 1, "{ack}");
    // The pass is a decision in the asset's chained history, with its reason.
    let detail = s
        .get_ok(&format!("/api/v1/assets/{}", w.asset_wh), &w.keeper)
        .await?;
    let passes: Vec<&Value> = detail["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "emergency_pass")
        .collect();
    assert_eq!(passes.len(), 1, "{detail}");
    assert_eq!(passes[0]["reason"], "抢修外送");
    assert_eq!(passes[0]["actor"], "user:approver");
    // The asset itself never changed state.
    assert_eq!(detail["asset"]["state"], "in_stock");
    let (code, v) = verify(&s.db, None)?;
    ensure!(code == 0, "{v}");
    Ok(())
}
