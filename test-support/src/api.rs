//! The server's JSON API as a test client: requests, logins, and the users
//! and readers most tests start from.

use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::PASSWORD;

/// The `id` of a JSON object.
pub fn id(v: &Value) -> Result<i64> {
    v["id"].as_i64().ok_or_else(|| anyhow!("no id in {v}"))
}

/// Logs the administrator in over the JSON API with `client` (which may
/// trust a test certificate); the `Set-Cookie` value and the JSON body.
pub async fn api_login(client: &reqwest::Client, base: &str) -> Result<(String, Value)> {
    let resp = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": crate::ADMIN, "password": PASSWORD}))
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        bail!("login {}: {}", crate::ADMIN, resp.status());
    }
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((cookie, resp.json().await?))
}

/// An async client for one server.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // No pooled connections: tests stop and start the server.
                .pool_max_idle_per_host(0)
                .build()?,
        })
    }

    /// Sends a request; returns status and JSON body (Null if empty, the
    /// text as a JSON string if it is not JSON).
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

    /// Logs in; returns the session token.
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

    /// Creates a user with password [`PASSWORD`] (unit staff name their
    /// `unit`) and logs in as them; returns their session token.
    pub async fn add_user(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        unit: Option<i64>,
    ) -> Result<String> {
        self.post_ok(
            "/api/v1/users",
            admin,
            json!({"username": username, "password": PASSWORD, "role": role, "unit_id": unit}),
            201,
        )
        .await?;
        self.login(username, PASSWORD).await
    }

    /// Registers a reader (at `location`, if given) as a daemon of its own
    /// whose daemon id is the reader's name; returns its id and the token.
    pub async fn add_reader(
        &self,
        admin: &str,
        name: &str,
        role: &str,
        location: Option<i64>,
    ) -> Result<(i64, String)> {
        let mut body = json!({"name": name, "role": role});
        if let (Some(loc), Some(b)) = (location, body.as_object_mut()) {
            b.insert("location_id".into(), json!(loc));
        }
        let r = self.post_ok("/api/v1/readers", admin, body, 201).await?;
        let token = r["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no reader token in {r}"))?
            .to_owned();
        Ok((id(&r["reader"])?, token))
    }

    /// Commissions an asset's GIAI tag as `keeper` and confirms it with a
    /// reader's token, as a written tag would be; returns the EPC (hex).
    pub async fn tag_asset(&self, asset: i64, keeper: &str, reader_token: &str) -> Result<String> {
        let c = self
            .post_ok(
                &format!("/api/v1/assets/{asset}/tag/commission"),
                keeper,
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
            .ok_or_else(|| anyhow!("no commission id in {c}"))?;
        self.post_ok(
            &format!("/api/v1/tag-commissions/{cid}/confirm"),
            reader_token,
            json!({"epc": epc}),
            200,
        )
        .await?;
        Ok(epc)
    }
}

/// [`Api`] for tests without a runtime of their own: each call blocks, and
/// any answer but 2xx is an error naming the URL, status and body.
#[derive(Debug)]
pub struct BlockingApi {
    rt: tokio::runtime::Runtime,
    pub api: Api,
}

impl BlockingApi {
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            api: Api::new(base)?,
        })
    }

    /// Runs one of [`Api`]'s calls to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A request that must succeed; its JSON body. An empty `token` sends none.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let token = Some(token).filter(|t| !t.is_empty());
        let (status, v) = self.block_on(self.api.call(method, path, token, body))?;
        if !status.is_success() {
            bail!("{}{path}: {status} {v}", self.api.base);
        }
        Ok(v)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Result<Value> {
        self.call(Method::POST, path, token, Some(body))
    }

    pub fn get(&self, path: &str, token: &str) -> Result<Value> {
        self.call(Method::GET, path, token, None)
    }

    /// Logs in with [`PASSWORD`].
    pub fn login(&self, user: &str) -> Result<String> {
        self.block_on(self.api.login(user, PASSWORD))
    }
}
