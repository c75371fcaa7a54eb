//! The states of a background run (a cash-application run or a statement run), of a connector
//! sync and of an allocation, as the API shows them and the database stores them (the same snake_case text).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [RunStatus::Queued, RunStatus::Running, RunStatus::Completed, RunStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What became of a proposed match between a bank line and a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationState {
    /// Applied by a run without review (confidence at or above the threshold).
    AutoApplied,
    /// Waiting for a person.
    Proposed,
    /// Applied by a person (a confirmed proposal or a manual allocation).
    Confirmed,
    Rejected,
}

impl AllocationState {
    pub const ALL: [AllocationState; 4] = [
        AllocationState::AutoApplied,
        AllocationState::Proposed,
        AllocationState::Confirmed,
        AllocationState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AllocationState::AutoApplied => "auto_applied",
            AllocationState::Proposed => "proposed",
            AllocationState::Confirmed => "confirmed",
            AllocationState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<AllocationState> {
        AllocationState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Its amounts are taken off the open items and the bank line.
    pub fn is_applied(self) -> bool {
        matches!(self, AllocationState::AutoApplied | AllocationState::Confirmed)
    }
}

/// The state of one connector sync (a pull from another system).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Running,
    Succeeded,
    Failed,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 3] = [SyncStatus::Running, SyncStatus::Succeeded, SyncStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Running => "running",
            SyncStatus::Succeeded => "succeeded",
            SyncStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<SyncStatus> {
        SyncStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_database_text_are_the_same() {
        for s in RunStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        for s in AllocationState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(AllocationState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }
}
