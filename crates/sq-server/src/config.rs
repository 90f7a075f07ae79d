//! Configuration: defaults, then `smartqueue.toml` (or `--config PATH`), then environment
//! variables (`SQ_*`, plus `DATABASE_URL`), then command-line flags. Later sources win.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The file read from the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "smartqueue.toml";

/// Everything the server needs to start. Keys of `smartqueue.toml` are the field names.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`SQ_LISTEN`). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the generated JWT secret (`SQ_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://…` selects PostgreSQL; `sqlite://PATH` a SQLite file elsewhere than
    /// `<data_dir>/smartqueue.db`; unset: that default file (`DATABASE_URL`, or
    /// `SQ_DATABASE_URL`, which wins when both are set).
    pub database_url: Option<String>,
    /// PostgreSQL only: a separate login for the application pool, a member of the
    /// `smartqueue_app` role (`SQ_DATABASE_APP_URL`). Unset: `database_url`'s login, which
    /// runs migrations and then works as `smartqueue_app` through `SET ROLE`.
    pub database_app_url: Option<String>,
    /// HMAC secret signing access tokens, at least 32 bytes (`SQ_JWT_SECRET`). Unset: one is
    /// generated once and kept in `<data_dir>/jwt.secret` (mode 0600).
    pub jwt_secret: Option<String>,
    /// Lifetime of access tokens in seconds (`SQ_ACCESS_TOKEN_TTL_SECS`).
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens in seconds (`SQ_REFRESH_TOKEN_TTL_SECS`).
    pub refresh_token_ttl_secs: u64,
    /// Log as JSON lines instead of human-readable text (`SQ_LOG_JSON`).
    pub log_json: bool,
    /// tracing filter directives (`SQ_LOG`; `RUST_LOG` is honoured when `SQ_LOG` is unset).
    pub log_filter: String,
    /// Serve Prometheus metrics at `/metrics` (`SQ_METRICS`).
    pub metrics: bool,
    /// Key material for channel credentials at rest (`SQ_CHANNEL_KEY`). Unset: generated
    /// once into `<data_dir>/channel.key`. Every node sharing a database needs the same.
    pub channel_key: Option<String>,
    /// The public base URL providers call, e.g. `https://queue.example.com`
    /// (`SQ_PUBLIC_URL`): webhook signatures cover the URL as the provider saw it.
    pub public_url: Option<String>,
    /// Site-local hours when position updates and feedback requests wait, `HH:MM-HH:MM`
    /// (may wrap midnight), or `off` (`SQ_QUIET_HOURS`). Calls are sent at any hour.
    pub quiet_hours: String,
    /// `redis://…`: change signals between nodes over Redis pub/sub (`REDIS_URL`, or
    /// `SQ_REDIS_URL`). Unset: in-process only (one node).
    pub redis_url: Option<String>,
    /// How often live pages re-read the ticket feed when no change signal woke them, in
    /// milliseconds (`SQ_LIVE_POLL_MS`): the bound on how late another node's write shows
    /// without Redis.
    pub live_poll_ms: u64,
    /// A USSD session the network dropped is offered back ("continue where you left
    /// off?") when the customer redials within this many seconds (`SQ_USSD_RESUME_SECS`).
    pub ussd_resume_secs: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "database_app_url",
                &self.database_app_url.as_deref().map(redact_url),
            )
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field("log_json", &self.log_json)
            .field("log_filter", &self.log_filter)
            .field("metrics", &self.metrics)
            .field(
                "channel_key",
                &self.channel_key.as_ref().map(|_| "<redacted>"),
            )
            .field("public_url", &self.public_url)
            .field("quiet_hours", &self.quiet_hours)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("live_poll_ms", &self.live_poll_ms)
            .field("ussd_resume_secs", &self.ussd_resume_secs)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_app_url: None,
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            log_json: false,
            log_filter: "info".into(),
            metrics: true,
            channel_key: None,
            public_url: None,
            quiet_hours: "21:00-07:00".into(),
            redis_url: None,
            live_poll_ms: 50,
            ussd_resume_secs: 300,
        }
    }
}

/// Which storage backend a configuration selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres {
        /// Migrations run as this URL's user.
        url: String,
        /// The pool's login, if not `url`'s.
        app_url: Option<String>,
    },
}

/// One row of the configuration table (printed by `smartqueue config` and kept in the
/// README): key, environment variable, default, meaning.
pub const CONFIG_TABLE: &[(&str, &str, &str, &str)] = &[
    (
        "listen",
        "SQ_LISTEN",
        "127.0.0.1:8080",
        "address to listen on; port 0 picks a free one",
    ),
    (
        "data_dir",
        "SQ_DATA_DIR",
        "./data",
        "SQLite database (smartqueue.db) and generated jwt.secret",
    ),
    (
        "database_url",
        "DATABASE_URL / SQ_DATABASE_URL",
        "(unset: SQLite in data_dir)",
        "postgres://… selects PostgreSQL; sqlite://PATH another SQLite file",
    ),
    (
        "database_app_url",
        "SQ_DATABASE_APP_URL",
        "(unset: DATABASE_URL's login with SET ROLE smartqueue_app)",
        "PostgreSQL only: the application pool's own login (member of smartqueue_app)",
    ),
    (
        "jwt_secret",
        "SQ_JWT_SECRET",
        "(generated into data_dir/jwt.secret)",
        "HMAC key for access tokens, ≥ 32 bytes; set it on every node when several share a database",
    ),
    (
        "access_token_ttl_secs",
        "SQ_ACCESS_TOKEN_TTL_SECS",
        "900",
        "access token lifetime",
    ),
    (
        "refresh_token_ttl_secs",
        "SQ_REFRESH_TOKEN_TTL_SECS",
        "2592000",
        "refresh token lifetime (30 days)",
    ),
    (
        "log_json",
        "SQ_LOG_JSON",
        "false",
        "JSON log lines instead of text",
    ),
    (
        "log_filter",
        "SQ_LOG (or RUST_LOG)",
        "info",
        "tracing filter, e.g. info,sq_web=debug",
    ),
    (
        "metrics",
        "SQ_METRICS",
        "true",
        "serve Prometheus metrics at /metrics",
    ),
    (
        "channel_key",
        "SQ_CHANNEL_KEY",
        "(generated into data_dir/channel.key)",
        "key for channel credentials at rest; the same on every node of a database",
    ),
    (
        "public_url",
        "SQ_PUBLIC_URL",
        "(unset: scheme and host of each request)",
        "base URL providers call; webhook signatures cover it (set it behind a proxy)",
    ),
    (
        "quiet_hours",
        "SQ_QUIET_HOURS",
        "21:00-07:00",
        "site-local hours when position updates and feedback requests wait (or off)",
    ),
    (
        "redis_url",
        "REDIS_URL / SQ_REDIS_URL",
        "(unset: one node, signals in process)",
        "redis://… carries change signals between nodes (live pages, notifications)",
    ),
    (
        "live_poll_ms",
        "SQ_LIVE_POLL_MS",
        "50",
        "how often live pages re-read the feed without a change signal",
    ),
    (
        "ussd_resume_secs",
        "SQ_USSD_RESUME_SECS",
        "300",
        "a dropped USSD session is offered back on a redial within this",
    ),
];

impl Config {
    /// Defaults, then the file (`path`, else `./smartqueue.toml` if it exists), then the
    /// process environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut c = match path {
            Some(p) => Self::from_file(p)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                Self::from_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => Self::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        Ok(c)
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// Applies `SQ_*` (and `DATABASE_URL`) overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("SQ_LISTEN") {
            self.listen = v
                .parse()
                .with_context(|| format!("SQ_LISTEN={v} is not an address like 127.0.0.1:8080"))?;
        }
        if let Some(v) = get("SQ_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("SQ_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
            self.database_url = Some(v);
        }
        if let Some(v) = get("SQ_DATABASE_APP_URL") {
            self.database_app_url = Some(v);
        }
        if let Some(v) = get("SQ_JWT_SECRET") {
            self.jwt_secret = Some(v);
        }
        if let Some(v) = get("SQ_ACCESS_TOKEN_TTL_SECS") {
            self.access_token_ttl_secs = parse_secs("SQ_ACCESS_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("SQ_REFRESH_TOKEN_TTL_SECS") {
            self.refresh_token_ttl_secs = parse_secs("SQ_REFRESH_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("SQ_LOG_JSON") {
            self.log_json = parse_bool("SQ_LOG_JSON", &v)?;
        }
        if let Some(v) = get("SQ_LOG").or_else(|| get("RUST_LOG")) {
            self.log_filter = v;
        }
        if let Some(v) = get("SQ_CHANNEL_KEY") {
            self.channel_key = Some(v);
        }
        if let Some(v) = get("SQ_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("SQ_REDIS_URL").or_else(|| get("REDIS_URL")) {
            self.redis_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("SQ_LIVE_POLL_MS") {
            self.live_poll_ms = v
                .trim()
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .with_context(|| format!("SQ_LIVE_POLL_MS={v} is not a positive number"))?;
        }
        if let Some(v) = get("SQ_USSD_RESUME_SECS") {
            self.ussd_resume_secs = parse_secs("SQ_USSD_RESUME_SECS", &v)?;
        }
        if let Some(v) = get("SQ_QUIET_HOURS") {
            self.quiet_hours = v;
        }
        if let Some(v) = get("SQ_METRICS") {
            self.metrics = parse_bool("SQ_METRICS", &v)?;
        }
        Ok(())
    }

    /// The storage backend this configuration selects.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        match self.database_url.as_deref() {
            None => Ok(Backend::Sqlite(self.data_dir.join("smartqueue.db"))),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Backend::Postgres {
                    url: u.to_owned(),
                    app_url: self.database_app_url.clone(),
                })
            }
            Some(u) => match u
                .strip_prefix("sqlite://")
                .or_else(|| u.strip_prefix("sqlite:"))
            {
                Some(p) if !p.is_empty() => Ok(Backend::Sqlite(PathBuf::from(p))),
                _ => bail!(
                    "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (got {})",
                    redact_url(u)
                ),
            },
        }
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(s) = &self.jwt_secret
            && s.len() < 32
        {
            bail!(
                "the JWT secret must be at least 32 bytes long (got {})",
                s.len()
            );
        }
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_secs == 0 {
            bail!("token lifetimes must be positive");
        }
        self.backend()?;
        self.quiet_hours()?;
        Ok(())
    }

    /// The quiet hours as `(start, end)`, `None` when `off`.
    pub fn quiet_hours(&self) -> anyhow::Result<Option<(chrono::NaiveTime, chrono::NaiveTime)>> {
        let v = self.quiet_hours.trim();
        if v.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let parse = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M");
        match v.split_once('-').map(|(a, b)| (parse(a), parse(b))) {
            Some((Ok(a), Ok(b))) if a != b => Ok(Some((a, b))),
            _ => bail!("quiet_hours={v} is not HH:MM-HH:MM (e.g. 21:00-07:00) or off"),
        }
    }
}

fn parse_secs(key: &str, v: &str) -> anyhow::Result<u64> {
    v.trim()
        .parse()
        .with_context(|| format!("{key}={v} is not a number of seconds"))
}

fn parse_bool(key: &str, v: &str) -> anyhow::Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{key}={v} is not a boolean (true/false)"),
    }
}

/// Hides the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_overrides_file_values() {
        let mut c: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/sq\"\n").unwrap();
        assert_eq!(c.listen.port(), 9000);
        c.apply_env(env(&[
            ("SQ_LISTEN", "127.0.0.1:0"),
            ("SQ_LOG_JSON", "true"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
        ]))
        .unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.data_dir, PathBuf::from("/srv/sq"));
        assert!(c.log_json);
        assert_eq!(
            c.backend().unwrap(),
            Backend::Postgres {
                url: "postgres://u:p@h/db".into(),
                app_url: None
            }
        );
    }

    #[test]
    fn sq_database_url_wins_over_database_url() {
        let mut c = Config::default();
        c.apply_env(env(&[
            ("DATABASE_URL", "postgres://a/b"),
            ("SQ_DATABASE_URL", "sqlite:///tmp/x.db"),
        ]))
        .unwrap();
        assert_eq!(
            c.backend().unwrap(),
            Backend::Sqlite(PathBuf::from("/tmp/x.db"))
        );
    }

    #[test]
    fn default_backend_is_sqlite_in_the_data_dir() {
        let c = Config::default();
        assert_eq!(
            c.backend().unwrap(),
            Backend::Sqlite(PathBuf::from("./data/smartqueue.db"))
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            Config::default()
                .apply_env(env(&[("SQ_LISTEN", "nope")]))
                .is_err()
        );
        assert!(
            Config::default()
                .apply_env(env(&[("SQ_LOG_JSON", "maybe")]))
                .is_err()
        );
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
        let c = Config {
            jwt_secret: Some("short".into()),
            ..Config::default()
        };
        assert!(c.validate().is_err());
        let c = Config {
            database_url: Some("mysql://x".into()),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert!(
            !format!(
                "{:?}",
                Config {
                    jwt_secret: Some("x".repeat(40)),
                    ..Config::default()
                }
            )
            .contains("xxxx")
        );
    }
}
