//! The hub's config file: which centers to follow and where PostgreSQL is.
//!
//! ```toml
//! [database]
//! host = "/var/run/postgresql"   # a directory: the Unix socket; or a host name
//! port = 5432
//! user = "city_hub"
//! dbname = "city"
//! # password = "…"               # not needed over the Unix socket with peer auth
//!
//! [http]                          # optional: /healthz, /api/v1/status, /metrics
//! listen = "127.0.0.1:8091"
//! accounts = "/var/lib/city-hub/accounts.json"   # optional: the dashboard's logins
//!                                 # (`city-hub user add NAME --role admin`)
//!
//! [[centers]]
//! id = "phu-hoi"
//! name = "Trung tâm Phục vụ hành chính công phường Phú Hội"
//! url = "http://10.20.1.10:8080"
//! token = "…"                     # `kiosk token add city-hub --role reader` on that kiosk
//! ```
//!
//! Parsing ([`RawConfig`], unknown keys refused) and validation
//! ([`RawConfig::validate`]) are separate steps, as for the kiosk's center
//! file; every problem is collected and reported at once. This module does
//! not connect anywhere.

use std::path::Path;
use std::time::Duration;

use display_daemon::http::BaseUrl;
use serde::Deserialize;

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where PostgreSQL is.
    pub database: RawDatabase,
    /// How events are written.
    #[serde(default)]
    pub ingest: RawIngest,
    /// The hub's status and metrics listener.
    #[serde(default)]
    pub http: Option<RawHttp>,
    /// The centers followed.
    #[serde(default)]
    pub centers: Vec<RawCenter>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Host name, or a directory holding the Unix socket.
    pub host: String,
    /// Port (also names the Unix socket file).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Role to log in as.
    pub user: String,
    /// Database name.
    pub dbname: String,
    /// Password, when the server asks for one.
    #[serde(default)]
    pub password: Option<String>,
    /// Pooled connections.
    #[serde(default = "default_pool")]
    pub pool_size: usize,
}

fn default_port() -> u16 {
    5432
}

fn default_pool() -> usize {
    4
}

/// `[ingest]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    /// Most events written in one transaction.
    #[serde(default = "default_batch")]
    pub batch_events: usize,
    /// How long a partial batch may wait for more events, milliseconds.
    #[serde(default = "default_linger")]
    pub linger_ms: u64,
}

impl Default for RawIngest {
    fn default() -> Self {
        RawIngest {
            batch_events: default_batch(),
            linger_ms: default_linger(),
        }
    }
}

fn default_batch() -> usize {
    500
}

fn default_linger() -> u64 {
    50
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Address for `/healthz`, `/api/v1/status` and `/metrics`.
    pub listen: std::net::SocketAddr,
    /// The dashboard's accounts file; without it no dashboard is served.
    #[serde(default)]
    pub accounts: Option<std::path::PathBuf>,
}

/// One `[[centers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCenter {
    /// Short stable id, the key of its rows in PostgreSQL.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// The kiosk's base URL.
    pub url: String,
    /// The kiosk's `reader` token.
    pub token: String,
}

/// A checked config.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where PostgreSQL is.
    pub database: RawDatabase,
    /// Most events per transaction.
    pub batch_events: usize,
    /// How long a partial batch waits.
    pub linger: Duration,
    /// The centers, in file order.
    pub centers: Vec<Center>,
    /// Where the status and metrics are served, if anywhere.
    pub listen: Option<std::net::SocketAddr>,
    /// The dashboard's accounts file (the dashboard is served with the
    /// status when set).
    pub accounts: Option<std::path::PathBuf>,
}

/// A checked center.
#[derive(Debug, Clone)]
pub struct Center {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The kiosk's base URL.
    pub url: BaseUrl,
    /// Its reader token.
    pub token: String,
}

/// Why a config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the hub config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML or a key is unknown or missing.
    #[error("the hub config {path} is not valid: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said (line and column included).
        message: String,
    },
    /// Values that parse but cannot work, every one listed.
    #[error("the hub config has problems:\n- {}", .0.join("\n- "))]
    Invalid(Vec<String>),
}

impl RawConfig {
    /// Parses TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })
    }

    /// Checks every value; lists every problem found.
    pub fn validate(self) -> Result<HubConfig, ConfigError> {
        let mut problems = Vec::new();
        let db = &self.database;
        if db.host.trim().is_empty() {
            problems.push("[database] host is empty: give a host name or the directory of PostgreSQL's Unix socket (e.g. /var/run/postgresql)".into());
        }
        if db.user.trim().is_empty() {
            problems.push(
                "[database] user is empty: name the PostgreSQL role the hub logs in as".into(),
            );
        }
        if db.dbname.trim().is_empty() {
            problems.push(
                "[database] dbname is empty: name the database (create it with `createdb`)".into(),
            );
        }
        if db.pool_size == 0 || db.pool_size > 64 {
            problems.push(format!(
                "[database] pool_size = {} is out of range: use 1 to 64",
                db.pool_size
            ));
        }
        if self.ingest.batch_events == 0 || self.ingest.batch_events > 10_000 {
            problems.push(format!(
                "[ingest] batch_events = {} is out of range: use 1 to 10000",
                self.ingest.batch_events
            ));
        }
        if self.centers.is_empty() {
            problems.push(
                "no [[centers]]: list at least one center to follow (id, name, url, token)".into(),
            );
        }
        let mut centers = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, raw) in self.centers.into_iter().enumerate() {
            let at = format!("[[centers]] #{} ({:?})", i + 1, raw.id);
            if raw.id.is_empty()
                || raw.id.len() > 64
                || !raw
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                problems.push(format!("{at}: id must be 1–64 characters of a-z, 0-9, '-' or '_' (it keys the center's rows and never changes)"));
            } else if !seen.insert(raw.id.clone()) {
                problems.push(format!(
                    "{at}: id is used by an earlier center; each center needs its own id"
                ));
            }
            if raw.name.trim().is_empty() {
                problems.push(format!("{at}: name is empty"));
            }
            if raw.token.trim().is_empty() {
                problems.push(format!("{at}: token is empty: make one on that kiosk with `kiosk token add city-hub --role reader`"));
            }
            match BaseUrl::parse(&raw.url) {
                Ok(url) => centers.push(Center {
                    id: raw.id,
                    name: raw.name,
                    url,
                    token: raw.token.trim().to_owned(),
                }),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        Ok(HubConfig {
            database: self.database,
            batch_events: self.ingest.batch_events,
            linger: Duration::from_millis(self.ingest.linger_ms),
            centers,
            listen: self.http.as_ref().map(|h| h.listen),
            accounts: self.http.and_then(|h| h.accounts),
        })
    }
}

impl HubConfig {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        RawConfig::parse(&text, &shown)?.validate()
    }
}
