//! Password guessing is slowed to a crawl: failed logins are counted per e-mail address and per
//! client IP in a window that starts at the first failure. Once either count reaches its limit,
//! logins for that address (or from that IP) are refused with `too_many_attempts` before the
//! password is even checked, until the window ends. A successful login clears its address's
//! count (not the IP's: one valid account must not let an IP go on guessing others).
//!
//! The counts live in the app instance: several servers behind a balancer each count their
//! own share, which multiplies the limits by the number of servers at most.

use crate::config::LoginThrottleConfig;
use crate::error::{AppError, AppResult, ErrorCode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

pub struct LoginThrottle {
    config: LoginThrottleConfig,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl LoginThrottle {
    pub fn new(config: LoginThrottleConfig) -> LoginThrottle {
        LoginThrottle { config, windows: Mutex::new(HashMap::new()) }
    }

    fn keys(&self, email: &str, ip: Option<IpAddr>) -> Vec<(String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.config.max_failures_per_user > 0 {
            keys.push((format!("user:{}", email.trim().to_lowercase()), self.config.max_failures_per_user));
        }
        if let (Some(ip), true) = (ip, self.config.max_failures_per_ip > 0) {
            keys.push((format!("ip:{ip}"), self.config.max_failures_per_ip));
        }
        keys
    }

    /// Refuses when the address or the IP has used up its failures in the current window.
    pub fn check(&self, email: &str, ip: Option<IpAddr>) -> AppResult<()> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in self.keys(email, ip) {
            if let Some(w) = windows.get(&key) {
                let ends = w.started + self.config.window;
                if w.failures >= limit && ends > now {
                    wait = wait.max(ends - now);
                }
            }
        }
        if wait > Duration::ZERO {
            return Err(AppError::retry_later(
                ErrorCode::TooManyAttempts,
                "too many failed logins: try again later",
                wait,
            ));
        }
        Ok(())
    }

    pub fn record_failure(&self, email: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > SWEEP_ABOVE {
            let window = self.config.window;
            windows.retain(|_, w| w.started + window > now);
        }
        for (key, _) in self.keys(email, ip) {
            let w = windows.entry(key).or_insert(Window { started: now, failures: 0 });
            if w.started + self.config.window <= now {
                *w = Window { started: now, failures: 0 };
            }
            w.failures += 1;
        }
    }

    pub fn record_success(&self, email: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.remove(&format!("user:{}", email.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, per_ip: u32) -> LoginThrottle {
        LoginThrottle::new(LoginThrottleConfig {
            max_failures_per_user: per_user,
            max_failures_per_ip: per_ip,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn failures_lock_the_address_until_a_success_resets_it() {
        let t = throttle(2, 100);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        t.record_failure("Ana@x.example", ip);
        assert!(t.check("ana@x.example", ip).is_ok());
        t.record_failure("ana@x.example", ip);
        let e = t.check("ANA@x.example", None).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyAttempts);
        assert!(e.retry_after_seconds().unwrap() > 50);
        assert!(t.check("bob@x.example", ip).is_ok(), "other addresses are not locked");
        t.record_success("ana@x.example");
        assert!(t.check("ana@x.example", ip).is_ok());
    }

    #[test]
    fn an_ip_guessing_many_addresses_is_locked() {
        let t = throttle(100, 3);
        let ip = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..3 {
            t.record_failure(&format!("user{n}@x.example"), ip);
        }
        assert!(t.check("fresh@x.example", ip).is_err());
        assert!(t.check("fresh@x.example", Some(IpAddr::from([10, 0, 0, 3]))).is_ok());
        assert!(throttle(0, 0).check("a", ip).is_ok());
    }
}
