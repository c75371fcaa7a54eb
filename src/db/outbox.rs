//! The transactional outbox (see the migration `000004_outbox`).

use super::schema::outbox_events;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub event_type: String,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, event: &OutboxEvent) -> QueryResult<()> {
    diesel::insert_into(outbox_events::table).values(event).execute(conn)?;
    Ok(())
}

/// Several events in few statements (7 bind parameters per row).
pub fn insert_many(conn: &mut PgConnection, events: &[OutboxEvent]) -> QueryResult<()> {
    for chunk in events.chunks(5_000) {
        diesel::insert_into(outbox_events::table).values(chunk).execute(conn)?;
    }
    Ok(())
}
