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
    /// Aliased fields per GraphQL operation (fragments counted where they are spread): each
    /// alias of an id-taking field is one more lookup, so aliases would multiply one request.
    pub graphql_max_aliases: usize,
    /// Brackets of any kind (selection sets, lists, input objects, arguments) nested in one
    /// GraphQL document; checked on the raw text before it is parsed.
    pub graphql_max_nesting: usize,
    /// Fragment definitions per GraphQL document (validation follows fragment chains recursively).
    pub graphql_max_fragments: usize,
    /// Directives on one field.
    pub graphql_max_directives: usize,
    /// Who may ask the GraphQL schema about itself (`__schema`, `__type`).
    pub graphql_introspection: Introspection,
    /// Serve the GraphiQL page at `GET /graphql`.
    pub graphiql: bool,
    /// `[`/`{` nested in a JSON body (REST, GraphQL, JSON imports); checked before parsing.
    pub max_json_depth: usize,
    /// Origins (`https://app.example.com`) whose browser front ends may call the API (CORS);
    /// empty: no cross-origin access.
    pub cors_allowed_origins: Vec<String>,
    /// TLS terminates in front of the service (a proxy or load balancer): answers carry HSTS.
    pub behind_tls: bool,
    /// How long an admin's password reset token can be used.
    pub password_reset_ttl: Duration,
    pub rate_limit: RateLimitConfig,
    /// How long a checked API key is trusted without asking the database again (0: always ask).
    pub api_key_cache_ttl: Duration,
    pub login_throttle: LoginThrottleConfig,
    /// Reverse proxies whose `X-Forwarded-For` names the client (per-IP budgets).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub workers: usize,
    /// Process queued reconciliation runs in this process.
    pub run_worker: bool,
    pub webhooks: WebhookConfig,
    /// Base64 of the 32-byte key that encrypts connector credentials; `None`: a key file in
    /// `data_dir` (created on first start).
    pub connector_key: Option<String>,
    pub connectors: ConnectorConfig,
    /// Seal committed audit entries into the hash chain in this process (`services::audit_sealer`).
    pub audit_sealer: bool,
    /// How often the sealer looks for unsealed audit entries.
    pub audit_seal_interval: Duration,
}

/// Who may use GraphQL introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    /// Any caller with valid credentials (the default).
    Authenticated,
    /// Also callers without credentials (they get introspection and nothing else).
    Public,
    /// Nobody.
    Off,
}

impl std::str::FromStr for Introspection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "authenticated" => Ok(Introspection::Authenticated),
            "public" => Ok(Introspection::Public),
            "off" => Ok(Introspection::Off),
            _ => Err("expected authenticated, public or off".into()),
        }
    }
}

/// Requests per caller: per API key, user or portal token; per client IP when unauthenticated.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Sustained requests per second; 0 switches rate limiting off.
    pub per_second: u32,
    /// Requests allowed at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { per_second: 50, burst: 100 }
    }
}

/// Failed logins (`POST /auth/token`) per e-mail address and per client IP.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottleConfig {
    /// Failures per e-mail address within `window` before logins for it are refused; 0: off.
    pub max_failures_per_user: u32,
    /// Failures per client IP within `window` (any addresses) before its logins are refused; 0: off.
    pub max_failures_per_ip: u32,
    /// The window counts from the first failure; a refused caller may try again when it ends.
    pub window: Duration,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        LoginThrottleConfig { max_failures_per_user: 5, max_failures_per_ip: 50, window: Duration::from_secs(900) }
    }
}

/// The connector scheduler (`services::connector_worker`).
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub run_worker: bool,
    /// How often an idle worker looks for due connectors.
    pub poll_interval: Duration,
    /// How long a claimed connector belongs to its worker without a committed page.
    pub lease: Duration,
    /// Timeout of one outbound request (connect, send, read the answer).
    pub request_timeout: Duration,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        ConnectorConfig {
            run_worker: true,
            poll_interval: Duration::from_millis(1000),
            lease: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The webhook worker (`services::webhook_worker`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Dispatch outbox events and send deliveries in this process.
    pub run_worker: bool,
    /// How often the worker looks for new events and due deliveries when idle.
    pub poll_interval: Duration,
    /// Timeout of one HTTP request (connect, send, answer).
    pub request_timeout: Duration,
    /// How long a claimed delivery belongs to its worker; after that (the worker crashed) it is
    /// sent again. Longer than `request_timeout`.
    pub lease: Duration,
    /// Delays after the 1st, 2nd, ... failed attempt; after the last one the delivery fails.
    pub retry_schedule: Vec<Duration>,
    /// Upper bound of a `Retry-After` the worker honours.
    pub max_retry_after: Duration,
    /// Requests in flight at once per process.
    pub concurrency: usize,
    /// How long the previous secret keeps signing after a rotation.
    pub rotation_overlap: Duration,
}

const HOUR: u64 = 3600;

impl Default for WebhookConfig {
    fn default() -> Self {
        let s = Duration::from_secs;
        WebhookConfig {
            run_worker: true,
            poll_interval: Duration::from_millis(1000),
            request_timeout: s(10),
            lease: s(60),
            // 12 attempts over about 2.8 days (each delay ±20 % jitter).
            retry_schedule: vec![
                s(5),
                s(5 * 60),
                s(30 * 60),
                s(2 * HOUR),
                s(5 * HOUR),
                s(10 * HOUR),
                s(10 * HOUR),
                s(10 * HOUR),
                s(10 * HOUR),
                s(10 * HOUR),
                s(10 * HOUR),
            ],
            max_retry_after: s(24 * HOUR),
            concurrency: 16,
            rotation_overlap: s(24 * HOUR),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".into(),
            port: 8080,
            database_url: None,
            data_dir: PathBuf::from("./var"),
            db_pool_size: crate::db::default_pool_size(),
            db_acquire_timeout: Duration::from_millis(3000),
            jwt_secret: None,
            jwt_ttl: Duration::from_secs(900),
            max_json_bytes: 2 * 1024 * 1024,
            max_import_bytes: 512 * 1024 * 1024,
            list_max_limit: 500,
            graphql_max_depth: 12,
            graphql_max_complexity: 2000,
            graphql_max_aliases: 30,
            graphql_max_nesting: 64,
            graphql_max_fragments: 100,
            graphql_max_directives: 10,
            graphql_introspection: Introspection::Authenticated,
            graphiql: true,
            max_json_depth: 64,
            cors_allowed_origins: Vec::new(),
            behind_tls: false,
            password_reset_ttl: Duration::from_secs(24 * HOUR),
            rate_limit: RateLimitConfig::default(),
            api_key_cache_ttl: Duration::from_secs(5),
            login_throttle: LoginThrottleConfig::default(),
            trusted_proxies: Vec::new(),
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            run_worker: true,
            webhooks: WebhookConfig::default(),
            connector_key: None,
            connectors: ConnectorConfig::default(),
            audit_sealer: true,
            audit_seal_interval: Duration::from_millis(200),
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
        if let Some(v) = get("DUIZHANG_GRAPHQL_MAX_DEPTH") {
            s.graphql_max_depth = parse(&v, "DUIZHANG_GRAPHQL_MAX_DEPTH")?;
        }
        if let Some(v) = get("DUIZHANG_GRAPHQL_MAX_COMPLEXITY") {
            s.graphql_max_complexity = parse(&v, "DUIZHANG_GRAPHQL_MAX_COMPLEXITY")?;
        }
        if let Some(v) = get("DUIZHANG_GRAPHQL_MAX_ALIASES") {
            s.graphql_max_aliases = parse(&v, "DUIZHANG_GRAPHQL_MAX_ALIASES")?;
        }
        read_security(&mut s, &get)?;
        if let Some(v) = get("DUIZHANG_API_KEY_CACHE_SECONDS") {
            let seconds: u64 = parse(&v, "DUIZHANG_API_KEY_CACHE_SECONDS")?;
            if seconds > 300 {
                return Err(ConfigError {
                    name: "DUIZHANG_API_KEY_CACHE_SECONDS",
                    reason: "at most 300: a revoked key must stop working soon in every process".into(),
                });
            }
            s.api_key_cache_ttl = Duration::from_secs(seconds);
        }
        if let Some(v) = get("DUIZHANG_RATE_LIMIT_PER_SECOND") {
            s.rate_limit.per_second = parse(&v, "DUIZHANG_RATE_LIMIT_PER_SECOND")?;
        }
        if let Some(v) = get("DUIZHANG_RATE_LIMIT_BURST") {
            s.rate_limit.burst = parse(&v, "DUIZHANG_RATE_LIMIT_BURST")?;
        }
        if s.rate_limit.per_second > 0 && s.rate_limit.burst == 0 {
            return Err(ConfigError { name: "DUIZHANG_RATE_LIMIT_BURST", reason: "must be at least 1".into() });
        }
        if let Some(v) = get("DUIZHANG_LOGIN_MAX_FAILURES") {
            s.login_throttle.max_failures_per_user = parse(&v, "DUIZHANG_LOGIN_MAX_FAILURES")?;
        }
        if let Some(v) = get("DUIZHANG_LOGIN_MAX_FAILURES_PER_IP") {
            s.login_throttle.max_failures_per_ip = parse(&v, "DUIZHANG_LOGIN_MAX_FAILURES_PER_IP")?;
        }
        if let Some(v) = get("DUIZHANG_LOGIN_WINDOW_SECONDS") {
            s.login_throttle.window = Duration::from_secs(parse(&v, "DUIZHANG_LOGIN_WINDOW_SECONDS")?);
        }
        if let Some(v) = get("DUIZHANG_TRUSTED_PROXIES") {
            s.trusted_proxies =
                v.split(',').map(|ip| parse(ip, "DUIZHANG_TRUSTED_PROXIES")).collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("DUIZHANG_WORKERS") {
            s.workers = parse(&v, "DUIZHANG_WORKERS")?;
        }
        if let Some(v) = get("DUIZHANG_WORKER") {
            s.run_worker = parse(&v, "DUIZHANG_WORKER")?;
        }
        if let Some(v) = get("DUIZHANG_AUDIT_SEALER") {
            s.audit_sealer = parse(&v, "DUIZHANG_AUDIT_SEALER")?;
        }
        if let Some(v) = get("DUIZHANG_AUDIT_SEAL_MS") {
            let ms: u64 = parse(&v, "DUIZHANG_AUDIT_SEAL_MS")?;
            // Well inside the integrity check's bound for unsealed entries.
            if !(10..=60_000).contains(&ms) {
                return Err(ConfigError { name: "DUIZHANG_AUDIT_SEAL_MS", reason: "must be 10 to 60000".into() });
            }
            s.audit_seal_interval = Duration::from_millis(ms);
        }
        s.connector_key = get("DUIZHANG_CONNECTOR_KEY");
        if let Some(v) = get("DUIZHANG_CONNECTOR_WORKER") {
            s.connectors.run_worker = parse(&v, "DUIZHANG_CONNECTOR_WORKER")?;
        }
        if let Some(v) = get("DUIZHANG_CONNECTOR_POLL_MS") {
            s.connectors.poll_interval = Duration::from_millis(parse(&v, "DUIZHANG_CONNECTOR_POLL_MS")?);
        }
        if let Some(v) = get("DUIZHANG_CONNECTOR_LEASE_SECONDS") {
            s.connectors.lease = Duration::from_secs(parse(&v, "DUIZHANG_CONNECTOR_LEASE_SECONDS")?);
        }
        if let Some(v) = get("DUIZHANG_CONNECTOR_TIMEOUT_MS") {
            let ms: u64 = parse(&v, "DUIZHANG_CONNECTOR_TIMEOUT_MS")?;
            // At most 60 s, so a page (three tries) stays well inside the lease.
            if !(100..=60_000).contains(&ms) {
                return Err(ConfigError { name: "DUIZHANG_CONNECTOR_TIMEOUT_MS", reason: "100 to 60000".into() });
            }
            s.connectors.request_timeout = Duration::from_millis(ms);
        }
        if s.connectors.lease < Duration::from_secs(120) {
            // A page may take 3 tries of 30 s each: a shorter lease would hand a running sync
            // to another worker.
            return Err(ConfigError {
                name: "DUIZHANG_CONNECTOR_LEASE_SECONDS",
                reason: "must be at least 120".into(),
            });
        }
        let w = &mut s.webhooks;
        if let Some(v) = get("DUIZHANG_WEBHOOK_WORKER") {
            w.run_worker = parse(&v, "DUIZHANG_WEBHOOK_WORKER")?;
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_POLL_MS") {
            w.poll_interval = Duration::from_millis(parse(&v, "DUIZHANG_WEBHOOK_POLL_MS")?);
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_TIMEOUT_MS") {
            w.request_timeout = Duration::from_millis(parse(&v, "DUIZHANG_WEBHOOK_TIMEOUT_MS")?);
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_LEASE_MS") {
            w.lease = Duration::from_millis(parse(&v, "DUIZHANG_WEBHOOK_LEASE_MS")?);
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_RETRY_SCHEDULE") {
            w.retry_schedule =
                v.split(',').map(|d| parse_duration(d.trim())).collect::<Option<Vec<_>>>().ok_or_else(|| {
                    ConfigError {
                        name: "DUIZHANG_WEBHOOK_RETRY_SCHEDULE",
                        reason: format!("{v:?}: expected durations like 5s,5m,30m,2h (units ms, s, m, h)"),
                    }
                })?;
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_CONCURRENCY") {
            w.concurrency = parse(&v, "DUIZHANG_WEBHOOK_CONCURRENCY")?;
        }
        if let Some(v) = get("DUIZHANG_WEBHOOK_ROTATION_OVERLAP_SECONDS") {
            w.rotation_overlap = Duration::from_secs(parse(&v, "DUIZHANG_WEBHOOK_ROTATION_OVERLAP_SECONDS")?);
        }
        if w.lease <= w.request_timeout {
            return Err(ConfigError {
                name: "DUIZHANG_WEBHOOK_LEASE_MS",
                reason: "must be longer than DUIZHANG_WEBHOOK_TIMEOUT_MS".into(),
            });
        }
        if w.concurrency == 0 {
            return Err(ConfigError { name: "DUIZHANG_WEBHOOK_CONCURRENCY", reason: "must be at least 1".into() });
        }
        Ok(s)
    }
}

/// The parsers' nesting limits, introspection, CORS, HSTS and password reset settings.
fn read_security(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
    // Above these the recursive parsers behind the checks come near the end of a worker's stack.
    let bounded = |name: &'static str, max: usize| -> Result<Option<usize>, ConfigError> {
        let Some(v) = get(name) else { return Ok(None) };
        let n: usize = parse(&v, name)?;
        if !(1..=max).contains(&n) {
            return Err(ConfigError { name, reason: format!("must be 1 to {max}") });
        }
        Ok(Some(n))
    };
    if let Some(n) = bounded("DUIZHANG_GRAPHQL_MAX_NESTING", 128)? {
        s.graphql_max_nesting = n;
    }
    if let Some(n) = bounded("DUIZHANG_GRAPHQL_MAX_FRAGMENTS", 1000)? {
        s.graphql_max_fragments = n;
    }
    if let Some(n) = bounded("DUIZHANG_GRAPHQL_MAX_DIRECTIVES", 100)? {
        s.graphql_max_directives = n;
    }
    // serde_json itself stops after 127 levels.
    if let Some(n) = bounded("DUIZHANG_MAX_JSON_DEPTH", 127)? {
        s.max_json_depth = n;
    }
    if let Some(v) = get("DUIZHANG_GRAPHQL_INTROSPECTION") {
        s.graphql_introspection = parse(&v, "DUIZHANG_GRAPHQL_INTROSPECTION")?;
    }
    if let Some(v) = get("DUIZHANG_GRAPHIQL") {
        s.graphiql = parse(&v, "DUIZHANG_GRAPHIQL")?;
    }
    if let Some(v) = get("DUIZHANG_CORS_ORIGINS") {
        s.cors_allowed_origins = v
            .split(',')
            .map(|o| {
                parse_origin(o)
                    .map_err(|reason| ConfigError { name: "DUIZHANG_CORS_ORIGINS", reason: format!("{o:?}: {reason}") })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = get("DUIZHANG_BEHIND_TLS") {
        s.behind_tls = parse(&v, "DUIZHANG_BEHIND_TLS")?;
    }
    if let Some(v) = get("DUIZHANG_PASSWORD_RESET_TTL_SECONDS") {
        let seconds: u64 = parse(&v, "DUIZHANG_PASSWORD_RESET_TTL_SECONDS")?;
        if !(60..=7 * 24 * HOUR).contains(&seconds) {
            return Err(ConfigError { name: "DUIZHANG_PASSWORD_RESET_TTL_SECONDS", reason: "60 to 604800".into() });
        }
        s.password_reset_ttl = Duration::from_secs(seconds);
    }
    Ok(())
}

/// An origin as browsers send it in `Origin`: `https://app.example.com` or `http://localhost:3000`
/// (scheme, host, port if not the default; no path). `*` is refused: the list is an allow-list.
fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("expected http:// or https://".into());
    }
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !bare || !url.username().is_empty() || url.password().is_some() || text.ends_with('/') {
        return Err("an origin is scheme://host[:port], nothing after it".into());
    }
    Ok(url.origin().ascii_serialization())
}

/// `250ms`, `5s`, `30m`, `2h`.
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

fn parse<T: std::str::FromStr>(value: &str, name: &'static str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError { name, reason: format!("{value:?}: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_settings_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let s = Settings::from_lookup(env(&[
            ("DUIZHANG_WEBHOOK_RETRY_SCHEDULE", "250ms, 5s,30m,2h"),
            ("DUIZHANG_WEBHOOK_POLL_MS", "50"),
            ("DUIZHANG_WEBHOOK_WORKER", "false"),
        ]))
        .unwrap();
        assert_eq!(
            s.webhooks.retry_schedule,
            [Duration::from_millis(250), Duration::from_secs(5), Duration::from_secs(1800), Duration::from_secs(7200)]
        );
        assert_eq!(s.webhooks.poll_interval, Duration::from_millis(50));
        assert!(!s.webhooks.run_worker);
        let c = Settings::from_lookup(env(&[
            ("DUIZHANG_CONNECTOR_WORKER", "false"),
            ("DUIZHANG_CONNECTOR_POLL_MS", "250"),
            ("DUIZHANG_CONNECTOR_LEASE_SECONDS", "600"),
            ("DUIZHANG_CONNECTOR_TIMEOUT_MS", "2500"),
            ("DUIZHANG_CONNECTOR_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ]))
        .unwrap();
        assert_eq!(c.connectors.request_timeout, Duration::from_millis(2500));
        assert_eq!(Settings::default().connectors.request_timeout, Duration::from_secs(30));
        let e = Settings::from_lookup(env(&[("DUIZHANG_CONNECTOR_TIMEOUT_MS", "120000")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_CONNECTOR_TIMEOUT_MS", "a page's tries must fit in the lease");
        assert!(!c.connectors.run_worker);
        assert_eq!(c.connectors.poll_interval, Duration::from_millis(250));
        assert_eq!(c.connectors.lease, Duration::from_secs(600));
        let e = Settings::from_lookup(env(&[("DUIZHANG_CONNECTOR_LEASE_SECONDS", "30")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_CONNECTOR_LEASE_SECONDS", "the lease must outlast a page's requests");
        assert!(c.connector_key.is_some());
        let e = Settings::from_lookup(env(&[("DUIZHANG_WEBHOOK_RETRY_SCHEDULE", "5x")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_WEBHOOK_RETRY_SCHEDULE");
        let g = Settings::from_lookup(env(&[
            ("DUIZHANG_RATE_LIMIT_PER_SECOND", "0"),
            ("DUIZHANG_LOGIN_MAX_FAILURES", "3"),
            ("DUIZHANG_LOGIN_WINDOW_SECONDS", "60"),
            ("DUIZHANG_GRAPHQL_MAX_ALIASES", "7"),
            ("DUIZHANG_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ]))
        .unwrap();
        assert_eq!(g.rate_limit.per_second, 0, "0 switches rate limiting off");
        assert_eq!(g.login_throttle.max_failures_per_user, 3);
        assert_eq!(g.login_throttle.window, Duration::from_secs(60));
        assert_eq!(g.graphql_max_aliases, 7);
        assert_eq!(g.trusted_proxies.len(), 2);
        let e = Settings::from_lookup(env(&[("DUIZHANG_TRUSTED_PROXIES", "proxy.local")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_TRUSTED_PROXIES");
        let e = Settings::from_lookup(env(&[("DUIZHANG_RATE_LIMIT_BURST", "0")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_RATE_LIMIT_BURST");
        let e = Settings::from_lookup(env(&[("DUIZHANG_WEBHOOK_LEASE_MS", "5000")])).unwrap_err();
        assert_eq!(e.name, "DUIZHANG_WEBHOOK_LEASE_MS", "the lease must outlast the request timeout");
    }

    #[test]
    fn security_settings_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let s = Settings::from_lookup(env(&[
            ("DUIZHANG_CORS_ORIGINS", "https://App.Example.com, http://localhost:3000,https://x.example:443"),
            ("DUIZHANG_GRAPHQL_INTROSPECTION", "public"),
            ("DUIZHANG_GRAPHIQL", "false"),
            ("DUIZHANG_BEHIND_TLS", "true"),
            ("DUIZHANG_GRAPHQL_MAX_NESTING", "32"),
            ("DUIZHANG_MAX_JSON_DEPTH", "20"),
            ("DUIZHANG_PASSWORD_RESET_TTL_SECONDS", "3600"),
        ]))
        .unwrap();
        assert_eq!(s.cors_allowed_origins, ["https://app.example.com", "http://localhost:3000", "https://x.example"]);
        assert_eq!(s.graphql_introspection, Introspection::Public);
        assert!(!s.graphiql && s.behind_tls);
        assert_eq!((s.graphql_max_nesting, s.max_json_depth), (32, 20));
        assert_eq!(s.password_reset_ttl, Duration::from_secs(3600));
        let d = Settings::default();
        assert!(d.cors_allowed_origins.is_empty() && !d.behind_tls && d.graphiql);
        assert_eq!(d.graphql_introspection, Introspection::Authenticated);
        for (name, value) in [
            ("DUIZHANG_CORS_ORIGINS", "*"),
            ("DUIZHANG_CORS_ORIGINS", "https://app.example.com/"),
            ("DUIZHANG_CORS_ORIGINS", "https://app.example.com/path"),
            ("DUIZHANG_CORS_ORIGINS", "ftp://files.example.com"),
            ("DUIZHANG_GRAPHQL_INTROSPECTION", "sometimes"),
            ("DUIZHANG_GRAPHQL_MAX_NESTING", "100000"),
            ("DUIZHANG_MAX_JSON_DEPTH", "128"),
            ("DUIZHANG_MAX_JSON_DEPTH", "0"),
            ("DUIZHANG_PASSWORD_RESET_TTL_SECONDS", "5"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(name, value)]));
            let e = Settings::from_lookup(env(pairs)).unwrap_err();
            assert_eq!(e.name, name, "{value}");
        }
    }
}
