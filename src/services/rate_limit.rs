//! Requests per caller (GCRA, the `governor` crate): every API key, user and portal token has
//! its own budget, and requests without valid credentials share one budget per client IP. The
//! state lives in the app instance (`AppState`), never in a global, so each app counts alone.

use crate::config::RateLimitConfig;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often (in checks) budgets that are full again are dropped, so a stream of new client
/// IPs cannot grow the map without bound.
const PRUNE_EVERY: u64 = 4096;

pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: AtomicU64,
}

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateKey {
    ApiKey(uuid::Uuid),
    User(uuid::Uuid),
    PortalToken(uuid::Uuid),
    /// Unauthenticated (or failed authentication): the peer address of the connection.
    Client(Option<IpAddr>),
}

impl RateKey {
    fn as_string(&self) -> String {
        match self {
            RateKey::ApiKey(id) => format!("key:{id}"),
            RateKey::User(id) => format!("user:{id}"),
            RateKey::PortalToken(id) => format!("portal:{id}"),
            RateKey::Client(Some(ip)) => format!("ip:{ip}"),
            RateKey::Client(None) => "ip:unknown".into(),
        }
    }
}

impl RateLimiter {
    /// `None` when rate limiting is off (`per_second` 0).
    pub fn new(config: RateLimitConfig) -> Option<RateLimiter> {
        let per_second = NonZeroU32::new(config.per_second)?;
        let burst = NonZeroU32::new(config.burst).unwrap_or(per_second);
        Some(RateLimiter {
            limiter: DefaultKeyedRateLimiter::hashmap(Quota::per_second(per_second).allow_burst(burst)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        })
    }

    /// Spends one request of `key`'s budget; `Err` tells how long until the next one is allowed.
    pub fn check(&self, key: &RateKey) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.as_string()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_per_key() {
        let limiter = RateLimiter::new(RateLimitConfig { per_second: 1, burst: 2 }).unwrap();
        let a = RateKey::ApiKey(uuid::Uuid::from_u128(1));
        let b = RateKey::ApiKey(uuid::Uuid::from_u128(2));
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        let wait = limiter.check(&a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check(&b).is_ok(), "another key has its own budget");
        assert!(RateLimiter::new(RateLimitConfig { per_second: 0, burst: 10 }).is_none());
    }
}
