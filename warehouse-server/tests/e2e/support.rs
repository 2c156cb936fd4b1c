//! Test support shared by every end-to-end test: start the real binary on
//! 127.0.0.1 with an OS-assigned port and a temporary database, talk to it
//! over HTTP, and a standard world of units, users, readers and assets.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_warehouse-server");
pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "s3cret-pass";
pub const COMPANY_PREFIX: &str = "0614141";

/// Runs `warehouse-server --db DB ARGS…` with the cheap test password cost.
pub fn cli(db: &Path, args: &[&str]) -> Result<Output> {
    Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
        .env("WAREHOUSE_LOG", "warn")
        .output()
        .context("running warehouse-server")
}

/// `cli` that must succeed; returns stdout.
pub fn cli_ok(db: &Path, args: &[&str]) -> Result<String> {
    let out = cli(db, args)?;
    if !out.status.success() {
        bail!(
            "warehouse-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A running server; killed on drop.
pub struct Server {
    pub base: String,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
    child: Child,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Fresh database, initialised with an administrator.
    pub fn start() -> Result<Self> {
        Self::start_fresh(&[], &[])
    }

    /// [`Server::start`] with extra environment variables and `serve`
    /// arguments.
    pub fn start_fresh(env: &[(&str, &str)], args: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("warehouse.db");
        cli_ok(
            &db,
            &[
                "admin",
                "init",
                "--admin-username",
                ADMIN,
                "--admin-password",
                PASSWORD,
                "--org-name",
                "测试公物仓",
                "--company-prefix",
                COMPANY_PREFIX,
            ],
        )?;
        Self::start_with_args(dir, db, env, args)
    }

    /// Serves an existing database file.
    pub fn start_on(dir: tempfile::TempDir, db: PathBuf) -> Result<Self> {
        Self::start_with(dir, db, &[])
    }

    /// Serves an existing database file with extra environment variables.
    pub fn start_with(dir: tempfile::TempDir, db: PathBuf, env: &[(&str, &str)]) -> Result<Self> {
        Self::start_with_args(dir, db, env, &[])
    }

    /// [`Server::start_with`] plus extra `serve` arguments.
    pub fn start_with_args(
        dir: tempfile::TempDir,
        db: PathBuf,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Self> {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--db")
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
            .env("WAREHOUSE_MAX_BODY_BYTES", "65536")
            .env("WAREHOUSE_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning warehouse-server serve")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from server: {line:?}"))?
            .to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            base,
            db,
            dir,
            child,
            http,
        })
    }

    /// Sends a request; returns status and JSON body (Null if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    pub async fn get(&self, path: &str, token: &str) -> Result<(StatusCode, Value)> {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Result<(StatusCode, Value)> {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// POST that must answer `expect`; returns the body.
    pub async fn post_ok(
        &self,
        path: &str,
        token: &str,
        body: Value,
        expect: u16,
    ) -> Result<Value> {
        let (status, v) = self.post(path, token, body).await?;
        if status.as_u16() != expect {
            bail!("POST {path}: expected {expect}, got {status}: {v}");
        }
        Ok(v)
    }

    pub async fn get_ok(&self, path: &str, token: &str) -> Result<Value> {
        let (status, v) = self.get(path, token).await?;
        if status != StatusCode::OK {
            bail!("GET {path}: expected 200, got {status}: {v}");
        }
        Ok(v)
    }

    pub async fn login(&self, user: &str, password: &str) -> Result<String> {
        let (status, v) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": password})),
            )
            .await?;
        if status != StatusCode::OK {
            bail!("login {user}: {status} {v}");
        }
        v["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no token in {v}"))
    }
}

/// Logs the administrator in over the JSON API with `client` (which may
/// trust a test certificate); the `Set-Cookie` value and the JSON body.
pub async fn api_login(client: &reqwest::Client, base: &str) -> Result<(String, Value)> {
    let resp = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": ADMIN, "password": PASSWORD}))
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        bail!("login {ADMIN}: {}", resp.status());
    }
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((cookie, resp.json().await?))
}

pub fn id(v: &Value) -> Result<i64> {
    v["id"].as_i64().ok_or_else(|| anyhow!("no id in {v}"))
}

/// The standard world: two units, a warehouse with two locations, a
/// category, one user per role, a gate and a handheld reader, and three
/// assets (in unit A, in unit B, in the warehouse).
pub struct World {
    pub server: Server,
    pub admin: String,
    pub approver: String,
    pub finance: String,
    pub keeper: String,
    /// Unit staff of unit A.
    pub staff_a: String,
    pub unit_a: i64,
    pub unit_b: i64,
    pub warehouse: i64,
    pub loc_1: i64,
    pub loc_2: i64,
    pub category: i64,
    #[allow(dead_code)]
    pub gate: i64,
    pub gate_token: String,
    pub handheld: i64,
    pub handheld_token: String,
    pub asset_a: i64,
    pub asset_b: i64,
    pub asset_wh: i64,
}

impl World {
    pub async fn new() -> Result<Self> {
        let server = Server::start()?;
        let admin = server.login(ADMIN, PASSWORD).await?;
        let s = &server;
        let unit_a = id(&s
            .post_ok("/api/v1/units", &admin, json!({"name": "单位A"}), 201)
            .await?)?;
        let unit_b = id(&s
            .post_ok("/api/v1/units", &admin, json!({"name": "单位B"}), 201)
            .await?)?;
        let warehouse = id(&s
            .post_ok("/api/v1/warehouses", &admin, json!({"name": "主仓"}), 201)
            .await?)?;
        let loc_1 = id(&s
            .post_ok(
                &format!("/api/v1/warehouses/{warehouse}/locations"),
                &admin,
                json!({"code": "A01", "name": "Shelf 1"}),
                201,
            )
            .await?)?;
        let loc_2 = id(&s
            .post_ok(
                &format!("/api/v1/warehouses/{warehouse}/locations"),
                &admin,
                json!({"code": "A02", "name": "Shelf 2"}),
                201,
            )
            .await?)?;
        let category = id(&s
            .post_ok(
                "/api/v1/categories",
                &admin,
                json!({"code": "0101", "name": "办公桌"}),
                201,
            )
            .await?)?;
        let mut tokens = Vec::new();
        for (name, role, unit) in [
            ("approver", "approver", None),
            ("finance", "finance", None),
            ("keeper", "keeper", None),
            ("staff_a", "unit_staff", Some(unit_a)),
        ] {
            s.post_ok(
                "/api/v1/users",
                &admin,
                json!({"username": name, "password": PASSWORD, "role": role, "unit_id": unit}),
                201,
            )
            .await?;
            tokens.push(s.login(name, PASSWORD).await?);
        }
        let gate_r = s
            .post_ok(
                "/api/v1/readers",
                &admin,
                json!({"name": "gate-1", "role": "gate"}),
                201,
            )
            .await?;
        let hand_r = s
            .post_ok(
                "/api/v1/readers",
                &admin,
                json!({"name": "handheld-1", "role": "handheld", "location_id": loc_1}),
                201,
            )
            .await?;
        let asset = |number: &str, holder: Value| {
            let mut body = json!({
                "asset_number": number, "name": format!("桌子 {number}"), "category_id": category,
                "original_value_fen": 150000, "purchase_date": "2024-03-01",
            });
            if let (Some(b), Some(h)) = (body.as_object_mut(), holder.as_object()) {
                b.extend(h.clone());
            }
            body
        };
        let asset_a = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1001", json!({"holder_unit_id": unit_a})),
                201,
            )
            .await?)?;
        let asset_b = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1002", json!({"holder_unit_id": unit_b})),
                201,
            )
            .await?)?;
        let asset_wh = id(&s
            .post_ok(
                "/api/v1/assets",
                &admin,
                asset("1003", json!({"holder_location_id": loc_1})),
                201,
            )
            .await?)?;
        let mut t = tokens.into_iter();
        let mut next = || t.next().ok_or_else(|| anyhow!("missing token"));
        Ok(Self {
            approver: next()?,
            finance: next()?,
            keeper: next()?,
            staff_a: next()?,
            admin,
            unit_a,
            unit_b,
            warehouse,
            loc_1,
            loc_2,
            category,
            gate: id(&gate_r["reader"])?,
            gate_token: gate_r["token"].as_str().unwrap_or_default().to_owned(),
            handheld: id(&hand_r["reader"])?,
            handheld_token: hand_r["token"].as_str().unwrap_or_default().to_owned(),
            asset_a,
            asset_b,
            asset_wh,
            server,
        })
    }

    /// Allocates and confirms the GIAI-96 tag of an asset; returns the EPC.
    pub async fn tag(&self, asset: i64) -> Result<String> {
        let s = &self.server;
        let c = s
            .post_ok(
                &format!("/api/v1/assets/{asset}/tag/commission"),
                &self.keeper,
                json!({}),
                201,
            )
            .await?;
        let epc = c["epc"]
            .as_str()
            .ok_or_else(|| anyhow!("no epc in {c}"))?
            .to_owned();
        let cid = c["commission_id"]
            .as_i64()
            .ok_or_else(|| anyhow!("no id"))?;
        s.post_ok(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            &self.handheld_token,
            json!({"epc": epc}),
            200,
        )
        .await?;
        Ok(epc)
    }
}

/// One observation for a batch.
pub fn obs(epc: &str, reader: &str, kind: &str) -> Value {
    json!({
        "epc": epc, "reader": reader, "antenna": 1,
        "first_seen": "2026-11-01T08:00:00Z", "last_seen": "2026-11-01T08:00:02Z",
        "count": 5, "peak_rssi": -52, "kind": kind,
    })
}

pub fn batch(daemon: &str, sequence: u64, observations: Vec<Value>) -> Value {
    json!({"daemon_id": daemon, "sequence": sequence, "observations": observations})
}
