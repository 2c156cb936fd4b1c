//! Server configuration: built-in defaults, then an optional TOML file, then
//! `WAREHOUSE_*` environment variables, then command-line flags (each later
//! source wins). See docs/operations.md for every key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// How expensive password hashing is. `Standard` is argon2id with the
/// OWASP-recommended parameters; `InsecureFastForTests` exists only so the
/// end-to-end tests stay fast: a release build refuses to select it from a
/// config file or the environment (see [`Config::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordCost {
    #[default]
    Standard,
    InsecureFastForTests,
}

impl std::str::FromStr for PasswordCost {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "standard" => Ok(Self::Standard),
            "insecure-fast-for-tests" => Ok(Self::InsecureFastForTests),
            other => anyhow::bail!(
                "password cost `{other}` is neither `standard` nor `insecure-fast-for-tests`"
            ),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQLite database file.
    pub db: PathBuf,
    /// Address to listen on; port 0 picks a free one (printed on stdout).
    pub listen: String,
    /// Lifetime of a login session, seconds.
    pub session_ttl_secs: i64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    pub password_cost: PasswordCost,
    /// Read connections kept open besides the one writer.
    pub read_connections: usize,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// Set the `Secure` attribute on the session cookie (behind TLS).
    /// Implied when `serve` itself speaks TLS.
    pub secure_cookie: bool,
    /// PEM certificate chain; with `tls_key`, `serve` speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also bounds an
    /// idle keep-alive connection and the TLS handshake.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may go without sending anything.
    pub body_read_timeout_secs: u64,
    /// Seconds from a request's headers to its response's headers.
    pub request_timeout_secs: u64,
    /// Live update streams (server-sent events) open at once per login
    /// session; one more is answered 429.
    pub live_streams_per_session: usize,
    /// File holding the event chain's key (`admin init` creates it); kept
    /// apart from the database. Default: beside it, `<db>.chainkey`.
    pub chain_key_file: Option<PathBuf>,
    /// Reader health: a reader whose daemon is heard of but that has read
    /// no tag for this many seconds is `stale` (无读数).
    pub health_stale_after_secs: u64,
    /// Reader health: a daemon not heard of (no health report, no batch)
    /// for this many seconds is `offline` (离线), or `auth_failing`
    /// (认证失败) if its token was refused meanwhile.
    pub health_offline_after_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            db: PathBuf::from("warehouse.db"),
            listen: "127.0.0.1:8080".into(),
            session_ttl_secs: 12 * 3600,
            max_body_bytes: 8 * 1024 * 1024,
            password_cost: PasswordCost::Standard,
            read_connections: 4,
            log_format: "text".into(),
            secure_cookie: false,
            tls_cert: None,
            tls_key: None,
            max_connections: 512,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            request_timeout_secs: 120,
            live_streams_per_session: 4,
            chain_key_file: None,
            health_stale_after_secs: 60,
            health_offline_after_secs: 30,
        }
    }
}

impl Config {
    /// Where the chain key is: `chain_key_file`, or `<db>.chainkey`; for a
    /// PostgreSQL database, `<database name>.chainkey` in the working
    /// directory (every replica needs the same key: set
    /// `WAREHOUSE_CHAIN_KEY_FILE`).
    pub fn chain_key_path(&self) -> PathBuf {
        self.chain_key_file.clone().unwrap_or_else(|| {
            if crate::store::pg::is_postgres_url(&self.db) {
                let url = self.db.to_string_lossy();
                let name = url
                    .split('?')
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|n| !n.is_empty() && !n.contains(['@', ':']))
                    .unwrap_or("warehouse");
                return PathBuf::from(format!("{name}.chainkey"));
            }
            let mut p = self.db.clone().into_os_string();
            p.push(".chainkey");
            p.into()
        })
    }

    /// The reader-health thresholds (`crate::health`).
    pub fn health_thresholds(&self) -> crate::health::Thresholds {
        crate::health::Thresholds::from_secs(
            self.health_stale_after_secs,
            self.health_offline_after_secs,
        )
    }

    /// Defaults, overlaid by `file` (if given) and then the environment;
    /// refused if [`Config::validate`] finds a bad combination.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses values that parse but cannot be served: zero limits, half a
    /// TLS key pair, and the test-only password cost in a release build.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.validate_for(cfg!(debug_assertions))
    }

    /// [`Config::validate`] for a debug (`true`) or release build.
    fn validate_for(&self, debug_build: bool) -> anyhow::Result<()> {
        if self.password_cost == PasswordCost::InsecureFastForTests && !debug_build {
            anyhow::bail!(
                "password_cost `insecure-fast-for-tests` is accepted only by debug (test) builds; \
                 remove it from the config file / WAREHOUSE_PASSWORD_COST"
            );
        }
        for (key, value) in [
            ("max_connections", self.max_connections as u64),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            (
                "live_streams_per_session",
                self.live_streams_per_session as u64,
            ),
            ("health_stale_after_secs", self.health_stale_after_secs),
            ("health_offline_after_secs", self.health_offline_after_secs),
        ] {
            if value == 0 {
                anyhow::bail!("{key} must be at least 1");
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key go together: give both or neither");
        }
        Ok(())
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        env_into(&get, "WAREHOUSE_DB", &mut self.db)?;
        env_into(&get, "WAREHOUSE_LISTEN", &mut self.listen)?;
        env_into(
            &get,
            "WAREHOUSE_SESSION_TTL_SECS",
            &mut self.session_ttl_secs,
        )?;
        env_into(&get, "WAREHOUSE_MAX_BODY_BYTES", &mut self.max_body_bytes)?;
        env_into(&get, "WAREHOUSE_PASSWORD_COST", &mut self.password_cost)?;
        env_into(&get, "WAREHOUSE_LOG_FORMAT", &mut self.log_format)?;
        env_into(&get, "WAREHOUSE_SECURE_COOKIE", &mut self.secure_cookie)?;
        if let Some(v) = get("WAREHOUSE_CHAIN_KEY_FILE") {
            self.chain_key_file = Some(v.into());
        }
        if let Some(v) = get("WAREHOUSE_TLS_CERT") {
            self.tls_cert = Some(v.into());
        }
        if let Some(v) = get("WAREHOUSE_TLS_KEY") {
            self.tls_key = Some(v.into());
        }
        env_into(&get, "WAREHOUSE_MAX_CONNECTIONS", &mut self.max_connections)?;
        env_into(
            &get,
            "WAREHOUSE_HEADER_READ_TIMEOUT_SECS",
            &mut self.header_read_timeout_secs,
        )?;
        env_into(
            &get,
            "WAREHOUSE_BODY_READ_TIMEOUT_SECS",
            &mut self.body_read_timeout_secs,
        )?;
        env_into(
            &get,
            "WAREHOUSE_REQUEST_TIMEOUT_SECS",
            &mut self.request_timeout_secs,
        )?;
        env_into(
            &get,
            "WAREHOUSE_LIVE_STREAMS_PER_SESSION",
            &mut self.live_streams_per_session,
        )?;
        env_into(
            &get,
            "WAREHOUSE_HEALTH_STALE_AFTER_SECS",
            &mut self.health_stale_after_secs,
        )?;
        env_into(
            &get,
            "WAREHOUSE_HEALTH_OFFLINE_AFTER_SECS",
            &mut self.health_offline_after_secs,
        )?;
        Ok(())
    }
}

/// Overwrites `into` with environment variable `name`, if set; the error
/// names the variable and the value.
fn env_into<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    into: &mut T,
) -> anyhow::Result<()>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    if let Some(v) = get(name) {
        *into = v
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}=`{v}` is not valid: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_values() -> anyhow::Result<()> {
        let mut cfg: Config = toml::from_str("listen = \"0.0.0.0:9\"\nsession_ttl_secs = 5")?;
        assert_eq!(cfg.session_ttl_secs, 5);
        cfg.apply_env(|k| match k {
            "WAREHOUSE_LISTEN" => Some("127.0.0.1:0".into()),
            "WAREHOUSE_PASSWORD_COST" => Some("insecure-fast-for-tests".into()),
            _ => None,
        })?;
        assert_eq!(cfg.listen, "127.0.0.1:0");
        assert_eq!(cfg.password_cost, PasswordCost::InsecureFastForTests);
        assert!(cfg
            .apply_env(|k| (k == "WAREHOUSE_SESSION_TTL_SECS").then(|| "soon".into()))
            .is_err());
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        Ok(())
    }

    #[test]
    fn release_builds_refuse_the_test_password_cost() -> anyhow::Result<()> {
        let fast: Config = toml::from_str("password_cost = \"insecure-fast-for-tests\"")?;
        let refused = fast.validate_for(false).map_err(|e| e.to_string());
        assert!(
            matches!(&refused, Err(m) if m.contains("insecure-fast-for-tests")),
            "{refused:?}"
        );
        fast.validate_for(true)?;
        Config::default().validate_for(false)?;
        Ok(())
    }

    #[test]
    fn limits_must_be_positive_and_tls_needs_both_files() -> anyhow::Result<()> {
        let zero: Config = toml::from_str("max_connections = 0")?;
        let refused = zero.validate_for(true).map_err(|e| e.to_string());
        assert!(
            matches!(&refused, Err(m) if m.contains("max_connections")),
            "{refused:?}"
        );
        let mut half = Config::default();
        half.apply_env(|k| (k == "WAREHOUSE_TLS_CERT").then(|| "cert.pem".into()))?;
        let refused = half.validate_for(true).map_err(|e| e.to_string());
        assert!(
            matches!(&refused, Err(m) if m.contains("tls_key")),
            "{refused:?}"
        );
        half.tls_key = Some("key.pem".into());
        half.validate_for(true)?;
        Ok(())
    }
}
