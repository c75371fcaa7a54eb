//! Settings come from the environment only (`DUIZHANG_*`, `DATABASE_URL`), are read once at
//! start and passed down by value: no global state, so tests can run many apps side by side.

mod env;

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// `None`: use the embedded PostgreSQL cluster under `data_dir`.
    pub database_url: Option<String>,
    /// A streaming standby for read-only requests (`DATABASE_READ_URL`); `None`: all on the primary.
    pub read_replica: Option<ReadReplicaConfig>,
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
    /// How often the work-order SLA sweep looks for breached due dates (`run_worker`).
    pub sla_sweep_interval: Duration,
    /// Seconds added to the system clock for the work-order SLA sweep
    /// (`DUIZHANG_CLOCK_OFFSET_SECONDS`; tests and drills only, 0 in production).
    pub clock_offset_seconds: i64,
    /// Bearer token of `GET /metrics`; `None`: the endpoint is off.
    pub metrics_token: Option<String>,
    /// After SIGTERM: how long readiness fails before the listener closes, so load balancers
    /// stop sending first. In-flight requests then finish (up to `shutdown_timeout`).
    pub drain_delay: Duration,
    pub shutdown_timeout: Duration,
    /// Request spans are exported to an OpenTelemetry collector (`OTEL_EXPORTER_OTLP_ENDPOINT`
    /// or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; see `crate::telemetry`).
    pub trace_export: bool,
}

/// The read replica: where it is, how many connections, and how long a caller's read waits for
/// the replica to replay the caller's last write before it is answered by the primary.
#[derive(Debug, Clone)]
pub struct ReadReplicaConfig {
    pub url: String,
    pub pool_size: u32,
    pub read_your_writes_wait: Duration,
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
            read_replica: None,
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
            sla_sweep_interval: Duration::from_secs(60),
            clock_offset_seconds: 0,
            metrics_token: None,
            drain_delay: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            trace_export: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}
