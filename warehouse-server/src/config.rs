//! Server configuration: built-in defaults, then an optional TOML file, then
//! `WAREHOUSE_*` environment variables, then command-line flags (each later
//! source wins). See docs/operations.md for every key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// How expensive password hashing is. `Standard` is argon2id with the
/// OWASP-recommended parameters; `InsecureFastForTests` exists only so the
/// end-to-end tests stay fast and must never be used in production.
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
    pub secure_cookie: bool,
    /// File holding the event chain's key (`admin init` creates it); kept
    /// apart from the database. Default: beside it, `<db>.chainkey`.
    pub chain_key_file: Option<PathBuf>,
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
            chain_key_file: None,
        }
    }
}

impl Config {
    /// Where the chain key is: `chain_key_file`, or `<db>.chainkey`.
    pub fn chain_key_path(&self) -> PathBuf {
        self.chain_key_file.clone().unwrap_or_else(|| {
            let mut p = self.db.clone().into_os_string();
            p.push(".chainkey");
            p.into()
        })
    }

    /// Defaults, overlaid by `file` (if given) and then the environment.
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
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("WAREHOUSE_DB") {
            self.db = v.into();
        }
        if let Some(v) = get("WAREHOUSE_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("WAREHOUSE_SESSION_TTL_SECS") {
            self.session_ttl_secs = v
                .parse()
                .with_context(|| format!("WAREHOUSE_SESSION_TTL_SECS=`{v}` is not a number"))?;
        }
        if let Some(v) = get("WAREHOUSE_MAX_BODY_BYTES") {
            self.max_body_bytes = v
                .parse()
                .with_context(|| format!("WAREHOUSE_MAX_BODY_BYTES=`{v}` is not a number"))?;
        }
        if let Some(v) = get("WAREHOUSE_PASSWORD_COST") {
            self.password_cost = v.parse()?;
        }
        if let Some(v) = get("WAREHOUSE_CHAIN_KEY_FILE") {
            self.chain_key_file = Some(v.into());
        }
        if let Some(v) = get("WAREHOUSE_LOG_FORMAT") {
            self.log_format = v;
        }
        Ok(())
    }
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
}
