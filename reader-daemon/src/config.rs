//! The daemon's TOML configuration: where the server is, who the daemon is,
//! where its journal lives, and the readers it drives.
//!
//! Every field has a documented default where one is sensible; unknown keys
//! are refused so a typo never silently falls back to a default. See
//! `docs/reader-daemon.md` for a commented example.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub daemon: DaemonConfig,
    pub journal: JournalConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub aggregation: AggregationConfig,
    #[serde(default, rename = "reader")]
    pub readers: Vec<ReaderConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Base URL, e.g. `https://10.0.0.5:8443` — one server. Exactly one of
    /// `url` and `urls` is given.
    #[serde(default)]
    pub url: Option<String>,
    /// Base URLs of several replicas of one deployment (one database), in
    /// the order they are tried; the daemon fails over between them
    /// (`crate::servers`).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    /// The reader token an administrator issued (bearer).
    pub token: String,
    /// Seconds before one HTTP request is abandoned.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: f64,
    /// Allow an `http://` URL to a host other than loopback. Off by
    /// default: plain HTTP would carry the reader token and every batch in
    /// the clear across the network (see [`check_server_url`]).
    #[serde(default)]
    pub allow_plain_http: bool,
}

impl ServerConfig {
    /// The server URLs in the order they are tried: `[url]`, or `urls`.
    pub fn url_list(&self) -> Vec<String> {
        match (&self.url, &self.urls) {
            (Some(url), _) => vec![url.clone()],
            (None, Some(urls)) => urls.clone(),
            (None, None) => Vec::new(),
        }
    }

    /// One of `url` and `urls`, each URL by [`check_server_url`], no URL twice.
    fn validate(&self) -> Result<(), String> {
        let urls = match (&self.url, &self.urls) {
            (Some(_), Some(_)) => {
                return Err(
                    "give server.url (one server) or server.urls (several replicas), \
                     not both"
                        .into(),
                )
            }
            (None, None) => {
                return Err(
                    "server.url is missing (or server.urls = [\"https://…\", …] for several \
                     replicas)"
                        .into(),
                )
            }
            (Some(url), None) => return check_server_url(url, self.allow_plain_http),
            (None, Some(urls)) => urls,
        };
        if urls.is_empty() {
            return Err("server.urls is empty: name at least one server".into());
        }
        let mut seen: Vec<String> = Vec::with_capacity(urls.len());
        for (i, url) in urls.iter().enumerate() {
            let key = format!("server.urls[{i}]");
            check_url_at(&key, url, self.allow_plain_http)?;
            let same = normalised(url);
            if let Some(j) = seen.iter().position(|u| *u == same) {
                return Err(format!(
                    "{key} {url:?} is the same server as server.urls[{j}] {:?}: list each \
                     replica once",
                    urls[j]
                ));
            }
            seen.push(same);
        }
        Ok(())
    }
}

/// A URL as the HTTP client sees it (lower-case host, default port
/// dropped, no trailing slash), to spot one server listed twice.
fn normalised(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| url.trim_end_matches('/').to_owned())
}

/// The server URL rule: `https://` anywhere; `http://` only to this machine
/// (`localhost`, 127.0.0.0/8, `::1`), where nothing crosses a network, or
/// when `server.allow_plain_http = true` says an operator chose it.
pub fn check_server_url(url: &str, allow_plain_http: bool) -> Result<(), String> {
    check_url_at("server.url", url, allow_plain_http)
}

/// [`check_server_url`] for the config key `key` (`server.urls[2]`).
fn check_url_at(key: &str, url: &str, allow_plain_http: bool) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("{key} {url:?} is not a URL: {e}"))?;
    let Some(host) = parsed.host_str() else {
        return Err(format!("{key} {url:?} names no host"));
    };
    // IPv6 hosts come bracketed; IPv4 ones already normalised (0x7f.1 → 127.0.0.1).
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_plain_http => Ok(()),
        "http" => Err(format!(
            "{key} {url:?} is plain http to another machine: the reader token and every \
             batch would cross the network unencrypted. Use https://, or set \
             server.allow_plain_http = true if this network is trusted"
        )),
        other => Err(format!(
            "{key} {url:?} must start with https:// (or http:// to this machine), not {other}://"
        )),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Stable identity of this daemon; the server numbers batches per id.
    pub id: String,
    /// Local address of the `/metrics` and `/status` endpoint (loopback
    /// by default; port 0 picks a free one and records it in the status file).
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: SocketAddr,
    /// JSON status file rewritten every second (default: beside the journal).
    #[serde(default)]
    pub status_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    pub path: PathBuf,
    /// Most observations the journal holds (pending + in flight) before it
    /// drops the oldest unsent ones.
    #[serde(default = "default_max_observations")]
    pub max_observations: u64,
    /// Fraction of `max_observations` at which it starts warning.
    #[serde(default = "default_warn_fraction")]
    pub warn_fraction: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Most observations in one batch (≤ the server's limit of 10 000).
    #[serde(default = "default_batch_max")]
    pub batch_max_observations: usize,
    /// A batch is sent once its oldest observation is this old (ms).
    #[serde(default = "default_batch_max_age_ms")]
    pub batch_max_age_ms: u64,
    /// First retry delay (ms); doubles per failure up to `retry_max_ms`.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// A health report (readers, backlog) goes to the server this often
    /// (ms); 0 sends none.
    #[serde(default = "default_health_interval_ms")]
    pub health_interval_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_max_observations: default_batch_max(),
            batch_max_age_ms: default_batch_max_age_ms(),
            retry_base_ms: default_retry_base_ms(),
            retry_max_ms: default_retry_max_ms(),
            health_interval_ms: default_health_interval_ms(),
        }
    }
}

/// Event-cycle timing (GS1 ALE style), shared by every reader unless the
/// reader overrides it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AggregationConfig {
    /// A cycle ends after this long at most (ms).
    #[serde(default = "default_cycle_ms")]
    pub cycle_ms: u64,
    /// … or once no new tag has appeared for this long (ms).
    #[serde(default = "default_stable_set_ms")]
    pub stable_set_ms: u64,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        Self {
            cycle_ms: default_cycle_ms(),
            stable_set_ms: default_stable_set_ms(),
        }
    }
}

impl AggregationConfig {
    pub fn cycle(&self) -> Duration {
        Duration::from_millis(self.cycle_ms)
    }
    pub fn stable_set(&self) -> Duration {
        Duration::from_millis(self.stable_set_ms)
    }
}

/// Which serial protocol a reader speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolKind {
    R2000,
    Chainway,
}

/// What a reader is used for; decides how its reads are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Exit gate: ADDITIONS/DELETIONS (tags appearing and leaving).
    Gate,
    /// Keeper's desk: CURRENT (every tag seen per cycle).
    Desk,
    /// Handheld stock-take: CURRENT.
    Handheld,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderConfig {
    /// Name as registered on the server.
    pub name: String,
    /// Serial device, e.g. `/dev/ttyUSB0` or a udev symlink.
    pub port: PathBuf,
    pub protocol: ProtocolKind,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// R2000 reader address (0xFF broadcast); ignored by Chainway.
    #[serde(default = "default_address")]
    pub address: u8,
    /// 1-based antenna ports to inventory.
    #[serde(default = "default_antennas")]
    pub antennas: Vec<u8>,
    /// Output power, dBm (R2000 whole dBm; Chainway in 0.01 dBm steps).
    #[serde(default = "default_power_dbm")]
    pub power_dbm: f64,
    pub role: Role,
    /// Where the reader stands (a location code the server knows).
    #[serde(default)]
    pub location: Option<String>,
    /// Per-reader override of the event-cycle timing.
    #[serde(default)]
    pub aggregation: Option<AggregationConfig>,
}

impl ReaderConfig {
    pub fn aggregation(&self, global: &AggregationConfig) -> AggregationConfig {
        self.aggregation.unwrap_or(*global)
    }
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        self.server.validate()?;
        if !(0.1..=600.0).contains(&self.server.request_timeout_s) {
            return Err("server.request_timeout_s must be between 0.1 and 600".into());
        }
        if self.daemon.id.trim().is_empty() {
            return Err("daemon.id must not be empty".into());
        }
        if self.journal.max_observations < 100 {
            return Err("journal.max_observations must be at least 100".into());
        }
        if !(0.0..1.0).contains(&self.journal.warn_fraction) {
            return Err("journal.warn_fraction must be in 0.0..1.0".into());
        }
        let max = shared::sync::MAX_OBSERVATIONS_PER_BATCH;
        if self.sync.batch_max_observations == 0 || self.sync.batch_max_observations > max {
            return Err(format!("sync.batch_max_observations must be in 1..={max}"));
        }
        if self.sync.retry_base_ms == 0 || self.sync.retry_max_ms < self.sync.retry_base_ms {
            return Err("sync.retry_base_ms must be > 0 and ≤ sync.retry_max_ms".into());
        }
        for (i, r) in self.readers.iter().enumerate() {
            if self.readers[..i].iter().any(|o| o.name == r.name) {
                return Err(format!("reader {:?} is defined twice", r.name));
            }
            if r.antennas.is_empty() {
                return Err(format!("reader {:?}: antennas must not be empty", r.name));
            }
            let most = match r.protocol {
                ProtocolKind::R2000 => 4,
                ProtocolKind::Chainway => 16,
            };
            if let Some(a) = r.antennas.iter().find(|&&a| a == 0 || a > most) {
                return Err(format!(
                    "reader {:?}: antenna {a} out of range 1..={most} for {:?}",
                    r.name, r.protocol
                ));
            }
            if !(0.0..=33.0).contains(&r.power_dbm) {
                return Err(format!(
                    "reader {:?}: power_dbm {} out of range 0..=33",
                    r.name, r.power_dbm
                ));
            }
            let agg = r.aggregation(&self.aggregation);
            if agg.cycle_ms == 0 || agg.stable_set_ms == 0 {
                return Err(format!(
                    "reader {:?}: cycle_ms and stable_set_ms must be > 0",
                    r.name
                ));
            }
        }
        Ok(())
    }

    /// The reader called `name`, or an error listing the ones there are.
    pub fn reader(&self, name: &str) -> Result<&ReaderConfig, String> {
        self.readers.iter().find(|r| r.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.readers.iter().map(|r| r.name.as_str()).collect();
            format!("no reader {name:?} in the config (readers: {names:?})")
        })
    }

    pub fn status_file(&self) -> PathBuf {
        self.daemon
            .status_file
            .clone()
            .unwrap_or_else(|| self.journal.path.with_extension("status.json"))
    }
}

fn default_request_timeout_s() -> f64 {
    10.0
}
fn default_metrics_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9187))
}
fn default_max_observations() -> u64 {
    1_000_000
}
fn default_warn_fraction() -> f64 {
    0.8
}
fn default_batch_max() -> usize {
    1000
}
fn default_batch_max_age_ms() -> u64 {
    200
}
fn default_retry_base_ms() -> u64 {
    250
}
fn default_retry_max_ms() -> u64 {
    30_000
}
fn default_health_interval_ms() -> u64 {
    5_000
}
fn default_cycle_ms() -> u64 {
    2000
}
fn default_stable_set_ms() -> u64 {
    500
}
fn default_baud() -> u32 {
    115_200
}
fn default_address() -> u8 {
    0xFF
}
fn default_antennas() -> Vec<u8> {
    vec![1]
}
fn default_power_dbm() -> f64 {
    30.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        [server]
        url = "http://127.0.0.1:8080"
        token = "rt_secret"

        [daemon]
        id = "wh1-edge"

        [journal]
        path = "/var/lib/reader-daemon/journal.db"

        [[reader]]
        name = "gate-1"
        port = "/dev/ttyUSB0"
        protocol = "r2000"
        antennas = [1, 2]
        role = "gate"
        location = "WH1-EXIT"

        [[reader]]
        name = "hand-1"
        port = "/dev/ttyACM0"
        protocol = "chainway"
        role = "handheld"
        power_dbm = 26.5
        aggregation = { cycle_ms = 1000, stable_set_ms = 300 }
    "#;

    #[test]
    fn parses_the_example_with_defaults() -> Result<(), ConfigError> {
        let c = Config::parse(EXAMPLE, Path::new("x.toml"))?;
        assert_eq!(c.readers.len(), 2);
        assert_eq!(c.readers[0].baud, 115_200);
        assert_eq!(c.readers[0].address, 0xFF);
        assert_eq!(c.readers[1].antennas, vec![1]);
        assert_eq!(c.readers[1].aggregation(&c.aggregation).cycle_ms, 1000);
        assert_eq!(c.readers[0].aggregation(&c.aggregation).cycle_ms, 2000);
        assert_eq!(c.sync.batch_max_observations, 1000);
        assert!(c.reader("nope").is_err());
        Ok(())
    }

    #[test]
    fn refuses_typos_and_bad_values_with_the_culprit_named() {
        let typo = EXAMPLE.replace("role = \"gate\"", "rol = \"gate\"");
        let e = Config::parse(&typo, Path::new("x.toml")).map(|_| ());
        assert!(format!("{e:?}").contains("rol"), "{e:?}");
        let bad_ant = EXAMPLE.replace("antennas = [1, 2]", "antennas = [0]");
        let e = Config::parse(&bad_ant, Path::new("x.toml")).map(|_| ());
        assert!(format!("{e:?}").contains("antenna 0"), "{e:?}");
        let dup = EXAMPLE.replace("hand-1", "gate-1");
        let e = Config::parse(&dup, Path::new("x.toml")).map(|_| ());
        assert!(format!("{e:?}").contains("twice"), "{e:?}");
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://warehouse.example.gov.cn",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://127.3.2.1",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_server_url(ok, false), Ok(()), "{ok}");
        }
        for remote in [
            "http://10.0.0.5:8080",
            "http://warehouse.example.gov.cn",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            let e = check_server_url(remote, false).err().unwrap_or_default();
            assert!(e.contains("allow_plain_http"), "{remote}: {e}");
            assert_eq!(check_server_url(remote, true), Ok(()), "{remote}");
        }
        for bad in [
            "ftp://127.0.0.1",
            "127.0.0.1:8080",
            "not a url",
            "unix:/run/x",
        ] {
            assert!(check_server_url(bad, true).is_err(), "{bad}");
        }
        // Through the config file, naming the key to set.
        let remote = EXAMPLE.replace("http://127.0.0.1:8080", "http://10.0.0.5:8080");
        let e = Config::parse(&remote, Path::new("x.toml")).map(|_| ());
        assert!(format!("{e:?}").contains("allow_plain_http"), "{e:?}");
        let allowed = remote.replace(
            "token = \"rt_secret\"",
            "token = \"rt_secret\"\nallow_plain_http = true",
        );
        assert!(Config::parse(&allowed, Path::new("x.toml")).is_ok());
    }

    #[test]
    fn one_url_or_a_list_of_replicas_each_checked_none_twice() -> Result<(), ConfigError> {
        let one = Config::parse(EXAMPLE, Path::new("x.toml"))?;
        assert_eq!(one.server.url_list(), ["http://127.0.0.1:8080"]);
        let list = |urls: &str| {
            EXAMPLE.replace("url = \"http://127.0.0.1:8080\"", &format!("urls = {urls}"))
        };
        let two = Config::parse(
            &list(r#"["https://a.example.gov.cn", "http://127.0.0.1:8081"]"#),
            Path::new("x.toml"),
        )?;
        assert_eq!(
            two.server.url_list(),
            ["https://a.example.gov.cn", "http://127.0.0.1:8081"]
        );
        let refused = |text: &str| {
            format!(
                "{:?}",
                Config::parse(text, Path::new("x.toml")).map(|_| ()).err()
            )
        };
        // Both keys, neither, an empty list: the keys are named.
        let both = EXAMPLE.replace(
            "token = \"rt_secret\"",
            "token = \"rt_secret\"\nurls = [\"https://b.example\"]",
        );
        let e = refused(&both);
        assert!(
            e.contains("server.url ") && e.contains("server.urls") && e.contains("not both"),
            "{e}"
        );
        let neither = EXAMPLE.replace("url = \"http://127.0.0.1:8080\"\n", "");
        let e = refused(&neither);
        assert!(
            e.contains("server.url is missing") && e.contains("server.urls"),
            "{e}"
        );
        let e = refused(&list("[]"));
        assert!(e.contains("server.urls is empty"), "{e}");
        // Each entry by the URL rule, named by its index.
        let e = refused(&list(r#"["https://a.example", "http://10.0.0.5:8080"]"#));
        assert!(
            e.contains("server.urls[1]") && e.contains("allow_plain_http"),
            "{e}"
        );
        let e = refused(&list(r#"["https://a.example", "ftp://b.example"]"#));
        assert!(e.contains("server.urls[1]"), "{e}");
        // The same server twice, however it is spelled.
        let e = refused(&list(
            r#"["https://a.example", "https://b.example", "https://A.example:443/"]"#,
        ));
        assert!(
            e.contains("server.urls[2]") && e.contains("server.urls[0]") && e.contains("once"),
            "{e}"
        );
        Ok(())
    }
}
