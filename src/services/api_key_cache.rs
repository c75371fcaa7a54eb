//! API keys checked recently, by prefix. Without it every request pays a database round trip
//! (and a hop through the blocking pool) for its key before its use case's own transaction; the
//! load profile showed the service waiting on exactly those trips. Only keys that exist are
//! cached (unknown prefixes always reach the database, and the rate limiter), and the hash is
//! still compared on every request. Revoking a key, or changing or deleting a connector (whose
//! push keys depend on it), clears the cache of this process at once; other processes notice
//! within `ttl`.

use crate::domain::auth::Principal;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bound on entries: a tenant's keys are few, so reaching it means something odd; start over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
pub struct CachedKey {
    pub key_hash: String,
    pub principal: Principal,
    /// False for a push key whose connector is disabled or deleted.
    pub usable: bool,
}

pub struct ApiKeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, CachedKey)>>,
}

impl ApiKeyCache {
    /// `ttl` zero: nothing is cached.
    pub fn new(ttl: Duration) -> ApiKeyCache {
        ApiKeyCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, prefix: &str) -> Option<CachedKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(prefix).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, key)| key.clone())
    }

    pub fn put(&self, prefix: String, key: CachedKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(prefix, (Instant::now(), key));
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::{Actor, Role};
    use uuid::Uuid;

    fn key() -> CachedKey {
        let principal = Principal {
            tenant_id: Uuid::nil(),
            actor: Actor::ApiKey { id: Uuid::nil() },
            role: Role::Viewer,
            scopes: vec![],
        };
        CachedKey { key_hash: "h".into(), principal, usable: true }
    }

    #[test]
    fn entries_expire_and_clear() {
        let cache = ApiKeyCache::new(Duration::from_millis(50));
        cache.put("p".into(), key());
        assert!(cache.get("p").is_some());
        assert!(cache.get("q").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("p").is_none(), "expired");
        cache.put("p".into(), key());
        cache.clear();
        assert!(cache.get("p").is_none(), "cleared");
        let off = ApiKeyCache::new(Duration::ZERO);
        off.put("p".into(), key());
        assert!(off.get("p").is_none(), "ttl 0 caches nothing");
    }
}
