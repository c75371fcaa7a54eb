//! Dispute work orders (争议处理工单): who owns a difference or a document's dispute, by when,
//! and what was said. The lifecycle: open -> in_progress <-> waiting_for_customer -> resolved,
//! cancelled from any active state, and a resolved order reopened (in_progress) when the
//! customer comes back. Due dates follow a service level per cause.

use super::difference_cause::Cause;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    Open,
    InProgress,
    WaitingForCustomer,
    Resolved,
    Cancelled,
}

impl WorkOrderStatus {
    pub const ALL: [WorkOrderStatus; 5] = [
        WorkOrderStatus::Open,
        WorkOrderStatus::InProgress,
        WorkOrderStatus::WaitingForCustomer,
        WorkOrderStatus::Resolved,
        WorkOrderStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderStatus::Open => "open",
            WorkOrderStatus::InProgress => "in_progress",
            WorkOrderStatus::WaitingForCustomer => "waiting_for_customer",
            WorkOrderStatus::Resolved => "resolved",
            WorkOrderStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<WorkOrderStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Still owed work: its due date can be breached.
    pub fn is_active(self) -> bool {
        !matches!(self, WorkOrderStatus::Resolved | WorkOrderStatus::Cancelled)
    }
    pub fn can_become(self, next: WorkOrderStatus) -> bool {
        use WorkOrderStatus::*;
        matches!(
            (self, next),
            (Open, InProgress)
                | (Open, WaitingForCustomer)
                | (Open, Resolved)
                | (Open, Cancelled)
                | (InProgress, WaitingForCustomer)
                | (InProgress, Resolved)
                | (InProgress, Cancelled)
                | (WaitingForCustomer, InProgress)
                | (WaitingForCustomer, Resolved)
                | (WaitingForCustomer, Cancelled)
                | (Resolved, InProgress)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
    pub fn parse(s: &str) -> Option<Priority> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Hours to resolve a work order, per cause (and for one without a cause).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::SimpleObject,
    async_graphql::InputObject,
)]
#[graphql(input_name = "SlaHoursInput")]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    pub technical: i32,
    pub process: i32,
    pub dispute: i32,
    pub unclassified: i32,
}

impl Default for SlaHours {
    /// A slip is fixed in two working days, a process gap in five, a dispute in ten.
    fn default() -> SlaHours {
        SlaHours { technical: 48, process: 120, dispute: 240, unclassified: 120 }
    }
}

/// Longest service level accepted: a year.
pub const MAX_SLA_HOURS: i32 = 24 * 366;

impl SlaHours {
    pub fn hours(&self, cause: Option<Cause>) -> i32 {
        match cause {
            Some(Cause::Technical) => self.technical,
            Some(Cause::Process) => self.process,
            Some(Cause::Dispute) => self.dispute,
            None => self.unclassified,
        }
    }
    /// The field out of range, if any (1 hour to a year).
    pub fn invalid_field(&self) -> Option<&'static str> {
        [
            ("technical", self.technical),
            ("process", self.process),
            ("dispute", self.dispute),
            ("unclassified", self.unclassified),
        ]
        .into_iter()
        .find(|(_, h)| !(1..=MAX_SLA_HOURS).contains(h))
        .map(|(f, _)| f)
    }
    pub fn due_at(&self, cause: Option<Cause>, from: DateTime<Utc>) -> DateTime<Utc> {
        from + Duration::hours(i64::from(self.hours(cause)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_words() {
        use WorkOrderStatus::*;
        assert!(Open.can_become(InProgress) && InProgress.can_become(WaitingForCustomer));
        assert!(WaitingForCustomer.can_become(InProgress) && InProgress.can_become(Resolved));
        assert!(Resolved.can_become(InProgress), "reopened");
        assert!(!Cancelled.can_become(Open) && !Resolved.can_become(Cancelled) && !InProgress.can_become(Open));
        for s in WorkOrderStatus::ALL {
            assert!(!s.can_become(s));
            assert_eq!(WorkOrderStatus::parse(s.as_str()), Some(s));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn due_dates_follow_the_cause() {
        let sla = SlaHours::default();
        let t = DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(sla.due_at(Some(Cause::Technical), t), t + Duration::hours(48));
        assert_eq!(sla.due_at(Some(Cause::Dispute), t), t + Duration::days(10));
        assert_eq!(sla.due_at(None, t), t + Duration::days(5));
        assert_eq!(sla.invalid_field(), None);
        assert_eq!(SlaHours { process: 0, ..sla }.invalid_field(), Some("process"));
    }
}
