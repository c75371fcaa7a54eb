//! The time due dates are judged by: the system clock, shifted by a configured offset so that a
//! test or a drill can run the SLA sweep "days later" without waiting (no global state: each app
//! instance carries its own, from its settings).

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    pub fn with_offset_seconds(seconds: i64) -> Clock {
        Clock { offset: Duration::seconds(seconds) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}
