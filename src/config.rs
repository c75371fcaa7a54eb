//! Settings come from the environment only (`DUIZHANG_*`, `DATABASE_URL`), are read once at
//! start and passed down by value: no global state, so tests can run many apps side by side.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// `None`: use the embedded PostgreSQL cluster under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub db_pool_size: u32,
    /// How long a request waits for a pooled connection before it is answered 503.
    pub db_acquire_timeout: Duration,
    pub jwt_secret: Option<String>,
    pub jwt_ttl: Duration,
    /// Limit for JSON bodies of ordinary writes.
    pub max_json_bytes: usize,
    /// Limit for file imports (CSV, bank statements).
    pub max_import_bytes: usize,
    pub list_max_limit: i64,
    pub graphql_max_depth: usize,
    pub graphql_max_complexity: usize,
    pub workers: usize,
    /// Process queued reconciliation runs in this process.
    pub run_worker: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".into(),
            port: 8080,
            database_url: None,
            data_dir: PathBuf::from("./var"),
            db_pool_size: 16,
            db_acquire_timeout: Duration::from_millis(3000),
            jwt_secret: None,
            jwt_ttl: Duration::from_secs(900),
            max_json_bytes: 2 * 1024 * 1024,
            max_import_bytes: 512 * 1024 * 1024,
            list_max_limit: 500,
            graphql_max_depth: 12,
            graphql_max_complexity: 2000,
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            run_worker: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("DUIZHANG_HOST") {
            s.host = v;
        }
        if let Some(v) = get("DUIZHANG_PORT") {
            s.port = parse(&v, "DUIZHANG_PORT")?;
        }
        s.database_url = get("DATABASE_URL");
        if let Some(v) = get("DUIZHANG_DATA_DIR") {
            s.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DUIZHANG_DB_POOL_SIZE") {
            s.db_pool_size = parse(&v, "DUIZHANG_DB_POOL_SIZE")?;
        }
        if let Some(v) = get("DUIZHANG_DB_ACQUIRE_TIMEOUT_MS") {
            s.db_acquire_timeout = Duration::from_millis(parse(&v, "DUIZHANG_DB_ACQUIRE_TIMEOUT_MS")?);
        }
        if let Some(v) = get("DUIZHANG_JWT_SECRET") {
            if v.len() < 32 {
                return Err(ConfigError { name: "DUIZHANG_JWT_SECRET", reason: "must be at least 32 bytes".into() });
            }
            s.jwt_secret = Some(v);
        }
        if let Some(v) = get("DUIZHANG_JWT_TTL_SECONDS") {
            s.jwt_ttl = Duration::from_secs(parse(&v, "DUIZHANG_JWT_TTL_SECONDS")?);
        }
        if let Some(v) = get("DUIZHANG_MAX_JSON_BYTES") {
            s.max_json_bytes = parse(&v, "DUIZHANG_MAX_JSON_BYTES")?;
        }
        if let Some(v) = get("DUIZHANG_MAX_IMPORT_BYTES") {
            s.max_import_bytes = parse(&v, "DUIZHANG_MAX_IMPORT_BYTES")?;
        }
        if let Some(v) = get("DUIZHANG_WORKERS") {
            s.workers = parse(&v, "DUIZHANG_WORKERS")?;
        }
        if let Some(v) = get("DUIZHANG_WORKER") {
            s.run_worker = parse(&v, "DUIZHANG_WORKER")?;
        }
        Ok(s)
    }
}

fn parse<T: std::str::FromStr>(value: &str, name: &'static str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError { name, reason: format!("{value:?}: {e}") })
}
