//! Reading the settings from the environment: one reader per group of variables, each checking
//! its values with a precise message.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Settings, HOUR};

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        read_server(&mut s, &get)?;
        read_security(&mut s, &get)?;
        read_access_limits(&mut s, &get)?;
        read_workers(&mut s, &get)?;
        read_connectors(&mut s, &get)?;
        read_webhooks(&mut s, &get)?;
        read_operations(&mut s, &get)?;
        read_replica(&mut s, &get)?;
        Ok(s)
    }
}

/// Address, database, data directory, tokens and request size limits.
fn read_server(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
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
    Ok(())
}

/// API key cache, rate limit, login throttle and the proxies trusted for client addresses.
fn read_access_limits(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
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
        s.trusted_proxies = v.split(',').map(|ip| parse(ip, "DUIZHANG_TRUSTED_PROXIES")).collect::<Result<_, _>>()?;
    }
    Ok(())
}

/// Which background workers run in this process, and the audit sealer's pace.
fn read_workers(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
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
    if let Some(v) = get("DUIZHANG_SLA_SWEEP_SECONDS") {
        let secs: u64 = parse(&v, "DUIZHANG_SLA_SWEEP_SECONDS")?;
        if !(1..=86_400).contains(&secs) {
            return Err(ConfigError { name: "DUIZHANG_SLA_SWEEP_SECONDS", reason: "must be 1 to 86400".into() });
        }
        s.sla_sweep_interval = Duration::from_secs(secs);
    }
    if let Some(v) = get("DUIZHANG_CLOCK_OFFSET_SECONDS") {
        s.clock_offset_seconds = parse(&v, "DUIZHANG_CLOCK_OFFSET_SECONDS")?;
    }
    Ok(())
}

/// The connector key and the connector sync worker.
fn read_connectors(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
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
        return Err(ConfigError { name: "DUIZHANG_CONNECTOR_LEASE_SECONDS", reason: "must be at least 120".into() });
    }
    Ok(())
}

/// The webhook delivery worker.
/// Metrics access and shutdown pacing.
fn read_operations(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = get("DUIZHANG_METRICS_TOKEN") {
        if v.len() < 16 {
            return Err(ConfigError {
                name: "DUIZHANG_METRICS_TOKEN",
                reason: "must be at least 16 characters".into(),
            });
        }
        s.metrics_token = Some(v);
    }
    if let Some(v) = get("DUIZHANG_DRAIN_SECONDS") {
        s.drain_delay = Duration::from_secs(parse(&v, "DUIZHANG_DRAIN_SECONDS")?);
    }
    if let Some(v) = get("DUIZHANG_SHUTDOWN_TIMEOUT_SECONDS") {
        s.shutdown_timeout = Duration::from_secs(parse(&v, "DUIZHANG_SHUTDOWN_TIMEOUT_SECONDS")?);
    }
    s.trace_export = crate::telemetry::export_configured();
    Ok(())
}

/// The read replica (`DATABASE_READ_URL`) and its pool and read-your-writes bound; read after
/// the primary's pool size, which is the replica pool's default.
fn read_replica(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
    let Some(url) = get("DATABASE_READ_URL") else {
        return Ok(());
    };
    let mut replica =
        super::ReadReplicaConfig { url, pool_size: s.db_pool_size, read_your_writes_wait: Duration::from_millis(2000) };
    if let Some(v) = get("DUIZHANG_DB_READ_POOL_SIZE") {
        replica.pool_size = parse(&v, "DUIZHANG_DB_READ_POOL_SIZE")?;
        if replica.pool_size == 0 {
            return Err(ConfigError { name: "DUIZHANG_DB_READ_POOL_SIZE", reason: "must be at least 1".into() });
        }
    }
    if let Some(v) = get("DUIZHANG_READ_YOUR_WRITES_WAIT_MS") {
        let ms: u64 = parse(&v, "DUIZHANG_READ_YOUR_WRITES_WAIT_MS")?;
        // A request holds its caller this long at most; beyond seconds the primary is the better answer.
        if ms > 30_000 {
            return Err(ConfigError { name: "DUIZHANG_READ_YOUR_WRITES_WAIT_MS", reason: "0 to 30000".into() });
        }
        replica.read_your_writes_wait = Duration::from_millis(ms);
    }
    s.read_replica = Some(replica);
    Ok(())
}

fn read_webhooks(s: &mut Settings, get: &impl Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
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
            v.split(',').map(|d| parse_duration(d.trim())).collect::<Option<Vec<_>>>().ok_or_else(|| ConfigError {
                name: "DUIZHANG_WEBHOOK_RETRY_SCHEDULE",
                reason: format!("{v:?}: expected durations like 5s,5m,30m,2h (units ms, s, m, h)"),
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
    Ok(())
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
    use crate::config::Introspection;

    #[test]
    fn read_replica_settings_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert!(Settings::from_lookup(env(&[("DUIZHANG_READ_YOUR_WRITES_WAIT_MS", "10")]))
            .unwrap()
            .read_replica
            .is_none());
        let s = Settings::from_lookup(env(&[
            ("DATABASE_READ_URL", "postgres://standby/db"),
            ("DUIZHANG_DB_POOL_SIZE", "6"),
        ]))
        .unwrap();
        let r = s.read_replica.unwrap();
        assert_eq!(
            (r.url.as_str(), r.pool_size, r.read_your_writes_wait),
            ("postgres://standby/db", 6, Duration::from_secs(2))
        );
        let s = Settings::from_lookup(env(&[
            ("DATABASE_READ_URL", "postgres://standby/db"),
            ("DUIZHANG_DB_READ_POOL_SIZE", "3"),
            ("DUIZHANG_READ_YOUR_WRITES_WAIT_MS", "250"),
        ]))
        .unwrap();
        let r = s.read_replica.unwrap();
        assert_eq!((r.pool_size, r.read_your_writes_wait), (3, Duration::from_millis(250)));
        for bad in [("DUIZHANG_DB_READ_POOL_SIZE", "0"), ("DUIZHANG_READ_YOUR_WRITES_WAIT_MS", "60000")] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("DATABASE_READ_URL", "postgres://standby/db"), bad].into_boxed_slice());
            assert_eq!(Settings::from_lookup(env(pairs)).unwrap_err().name, bad.0);
        }
    }

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
