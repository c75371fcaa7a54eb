//! Events the service announces to tenants (webhooks). A use case calls [`emit`] inside its own
//! transaction: the event row commits or rolls back with the change it describes, and the
//! webhook workers deliver it afterwards (at least once, with the event id as `webhook-id`).

use crate::db::outbox::{self, OutboxEvent};
use crate::error::AppResult;
use chrono::Utc;
use diesel::PgConnection;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The event types a webhook endpoint can subscribe to. Names are part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "statement.reconciled")]
    StatementReconciled,
    #[serde(rename = "difference.created")]
    DifferenceCreated,
    #[serde(rename = "difference.sent")]
    DifferenceSent,
    #[serde(rename = "difference.confirmed")]
    DifferenceConfirmed,
    #[serde(rename = "difference.disputed")]
    DifferenceDisputed,
    #[serde(rename = "difference.resolved")]
    DifferenceResolved,
    #[serde(rename = "difference.commented")]
    DifferenceCommented,
    #[serde(rename = "balance.confirmed")]
    BalanceConfirmed,
    #[serde(rename = "allocation.applied")]
    AllocationApplied,
    #[serde(rename = "reconciliation.completed")]
    ReconciliationCompleted,
    #[serde(rename = "dunning.level_changed")]
    DunningLevelChanged,
    #[serde(rename = "dunning.reminder_due")]
    DunningReminderDue,
    #[serde(rename = "statement.issued")]
    StatementIssued,
    #[serde(rename = "statement_run.completed")]
    StatementRunCompleted,
    #[serde(rename = "work_order.created")]
    WorkOrderCreated,
    #[serde(rename = "work_order.updated")]
    WorkOrderUpdated,
    #[serde(rename = "work_order.commented")]
    WorkOrderCommented,
    #[serde(rename = "work_order.overdue")]
    WorkOrderOverdue,
    #[serde(rename = "collection_task.created")]
    CollectionTaskCreated,
    #[serde(rename = "promise.kept")]
    PromiseKept,
    #[serde(rename = "promise.broken")]
    PromiseBroken,
}

impl EventType {
    pub const ALL: [EventType; 21] = [
        EventType::StatementReconciled,
        EventType::DifferenceCreated,
        EventType::DifferenceSent,
        EventType::DifferenceConfirmed,
        EventType::DifferenceDisputed,
        EventType::DifferenceResolved,
        EventType::DifferenceCommented,
        EventType::BalanceConfirmed,
        EventType::AllocationApplied,
        EventType::ReconciliationCompleted,
        EventType::DunningLevelChanged,
        EventType::DunningReminderDue,
        EventType::StatementIssued,
        EventType::StatementRunCompleted,
        EventType::WorkOrderCreated,
        EventType::WorkOrderUpdated,
        EventType::WorkOrderCommented,
        EventType::WorkOrderOverdue,
        EventType::CollectionTaskCreated,
        EventType::PromiseKept,
        EventType::PromiseBroken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::StatementReconciled => "statement.reconciled",
            EventType::DifferenceCreated => "difference.created",
            EventType::DifferenceSent => "difference.sent",
            EventType::DifferenceConfirmed => "difference.confirmed",
            EventType::DifferenceDisputed => "difference.disputed",
            EventType::DifferenceResolved => "difference.resolved",
            EventType::DifferenceCommented => "difference.commented",
            EventType::BalanceConfirmed => "balance.confirmed",
            EventType::AllocationApplied => "allocation.applied",
            EventType::ReconciliationCompleted => "reconciliation.completed",
            EventType::DunningLevelChanged => "dunning.level_changed",
            EventType::DunningReminderDue => "dunning.reminder_due",
            EventType::StatementIssued => "statement.issued",
            EventType::StatementRunCompleted => "statement_run.completed",
            EventType::WorkOrderCreated => "work_order.created",
            EventType::WorkOrderUpdated => "work_order.updated",
            EventType::WorkOrderCommented => "work_order.commented",
            EventType::WorkOrderOverdue => "work_order.overdue",
            EventType::CollectionTaskCreated => "collection_task.created",
            EventType::PromiseKept => "promise.kept",
            EventType::PromiseBroken => "promise.broken",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Records an event in the outbox, in the caller's transaction. The payload follows the
/// Standard Webhooks shape: `{"type", "timestamp", "data"}`.
pub fn emit(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Option<Uuid>,
    event_type: EventType,
    data: Value,
) -> AppResult<Uuid> {
    let event = event(tenant_id, customer_id, event_type, data);
    outbox::insert(conn, &event)?;
    Ok(event.id)
}

/// Several events of one tenant, in this order, written together.
pub fn emit_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    events: impl IntoIterator<Item = (Option<Uuid>, EventType, Value)>,
) -> AppResult<()> {
    let rows: Vec<OutboxEvent> =
        events.into_iter().map(|(customer_id, t, data)| event(tenant_id, customer_id, t, data)).collect();
    outbox::insert_many(conn, &rows)?;
    Ok(())
}

fn event(tenant_id: Uuid, customer_id: Option<Uuid>, event_type: EventType, data: Value) -> OutboxEvent {
    let now = Utc::now();
    let payload = json!({
        "type": event_type.as_str(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    });
    OutboxEvent {
        id: Uuid::now_v7(),
        tenant_id,
        customer_id,
        event_type: event_type.as_str().to_string(),
        payload,
        created_at: now,
        dispatched_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), Value::String(e.as_str().into()));
        }
        assert_eq!(EventType::parse("difference.nope"), None);
    }
}
