//! What a dunning run records for a customer, as the API shows it and the database stores it
//! (the same snake_case text).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningActionKind {
    /// The customer reached another level (or left the last one).
    LevelChanged,
    /// The customer stays at its level and its action is due again.
    ReminderDue,
}

impl DunningActionKind {
    pub const ALL: [DunningActionKind; 2] = [DunningActionKind::LevelChanged, DunningActionKind::ReminderDue];

    pub fn as_str(self) -> &'static str {
        match self {
            DunningActionKind::LevelChanged => "level_changed",
            DunningActionKind::ReminderDue => "reminder_due",
        }
    }

    pub fn parse(text: &str) -> Option<DunningActionKind> {
        DunningActionKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}
