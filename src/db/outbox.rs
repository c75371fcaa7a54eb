//! The transactional outbox (see the migration `000004_outbox`).

use super::schema::outbox_events;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
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

/// The tenant's events with an id above `after` (uuid v7: later than its time), of the customer
/// when given, whose type starts with one of `prefixes`; oldest first, at most `limit`.
pub fn after(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Uuid,
    customer_id: Option<Uuid>,
    prefixes: &[String],
    limit: i64,
) -> QueryResult<Vec<OutboxEvent>> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
    diesel::sql_query(
        "SELECT id, tenant_id, customer_id, event_type, payload, created_at, dispatched_at FROM outbox_events \
          WHERE tenant_id = $1 AND id > $2 AND ($3::uuid IS NULL OR customer_id = $3) \
            AND EXISTS (SELECT 1 FROM unnest($4::text[]) p WHERE starts_with(event_type, p)) \
          ORDER BY id LIMIT $5",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(after)
    .bind::<Nullable<SqlUuid>, _>(customer_id)
    .bind::<Array<Text>, _>(prefixes)
    .bind::<BigInt, _>(limit)
    .load(conn)
}
