//! What every request handler can reach: built once per app instance, never global.

use crate::config::Settings;
use crate::db::DbPool;
use crate::services::auth::AuthContext;
use crate::services::data_safety::Keyring;
use crate::services::jwt::JwtKeys;
use crate::services::login_throttle::LoginThrottle;
use crate::services::rate_limit::RateLimiter;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// The primary: every write, and the reads no replica answers.
    pub pool: DbPool,
    /// The streaming standby for read-only requests (`DATABASE_READ_URL`), when there is one.
    pub replica: Option<Arc<crate::services::read_routing::ReadReplica>>,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    /// Master keys and tenants' data keys: seals secrets and customers' personal data
    /// (`DUIZHANG_CONNECTOR_KEY` or the key file).
    pub keyring: Arc<Keyring>,
    /// Requests per caller; `None` when rate limiting is off.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// API keys checked recently (`DUIZHANG_API_KEY_CACHE_SECONDS`).
    pub api_keys: Arc<crate::services::api_key_cache::ApiKeyCache>,
    /// Failed logins per e-mail address and client IP.
    pub login_throttle: Arc<LoginThrottle>,
    /// This process's request and run figures (`GET /metrics`).
    pub metrics: Arc<crate::services::metrics::Metrics>,
    /// Set when the process shuts down: readiness fails so load balancers stop sending.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// The clock use cases judge due dates by (the system clock plus the configured offset).
    pub fn clock(&self) -> crate::services::clock::Clock {
        crate::services::clock::Clock::with_offset_seconds(self.settings.clock_offset_seconds)
    }

    /// The part of the state authentication reads.
    pub fn auth(&self) -> AuthContext<'_> {
        AuthContext { pool: &self.pool, jwt: &self.jwt, api_keys: &self.api_keys, login_throttle: &self.login_throttle }
    }
}
