//! Webhook endpoints, deliveries and attempts (migration `000005_webhooks`), and the claims of
//! the dispatcher and the sender (`FOR UPDATE SKIP LOCKED`, so several workers share the work).

use super::outbox::OutboxEvent;
use super::schema::{
    customers, outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_settings,
};
use crate::domain::webhook_delivery::DeliveryStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_endpoints, treat_none_as_null = true)]
pub struct Endpoint {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// The secrets that sign at `now`: the current one and, during a rotation, the previous one.
    pub fn active_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at) {
            if until > now {
                secrets.push(prev);
            }
        }
        secrets
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub schedule_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct Attempt {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub delivery_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub status_code: Option<i32>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

// ----- settings ------------------------------------------------------------------------------

pub fn allow_private_targets(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    webhook_settings::table
        .find(tenant_id)
        .select(webhook_settings::allow_private_targets)
        .first(conn)
        .optional()
        .map(|v| v.unwrap_or(false))
}

pub fn save_settings(conn: &mut PgConnection, tenant_id: Uuid, allow_private: bool) -> QueryResult<()> {
    let now = Utc::now();
    diesel::insert_into(webhook_settings::table)
        .values((
            webhook_settings::tenant_id.eq(tenant_id),
            webhook_settings::allow_private_targets.eq(allow_private),
            webhook_settings::updated_at.eq(now),
        ))
        .on_conflict(webhook_settings::tenant_id)
        .do_update()
        .set((webhook_settings::allow_private_targets.eq(allow_private), webhook_settings::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

// ----- endpoints -----------------------------------------------------------------------------

pub type EndpointRow = (Endpoint, Option<String>);

pub fn insert_endpoint(conn: &mut PgConnection, e: &Endpoint) -> QueryResult<()> {
    diesel::insert_into(webhook_endpoints::table).values(e).execute(conn).map(|_| ())
}

pub fn update_endpoint(conn: &mut PgConnection, e: &Endpoint) -> QueryResult<()> {
    diesel::update(webhook_endpoints::table.filter(webhook_endpoints::tenant_id.eq(e.tenant_id)).find(e.id))
        .set(e)
        .execute(conn)
        .map(|_| ())
}

pub fn delete_endpoint(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.filter(webhook_endpoints::tenant_id.eq(tenant_id)).find(id)).execute(conn)
}

/// An endpoint with its customer's code, locked for a change when `for_update`.
pub fn find_endpoint(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, for_update: bool) -> QueryResult<EndpointRow> {
    if for_update {
        // FOR UPDATE cannot lock the nullable side of the outer join: lock the endpoint alone.
        webhook_endpoints::table
            .filter(webhook_endpoints::tenant_id.eq(tenant_id))
            .filter(webhook_endpoints::id.eq(id))
            .select(webhook_endpoints::id)
            .for_update()
            .first::<Uuid>(conn)?;
    }
    webhook_endpoints::table
        .left_join(
            customers::table.on(customers::id
                .nullable()
                .eq(webhook_endpoints::customer_id)
                .and(customers::tenant_id.eq(webhook_endpoints::tenant_id))),
        )
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .filter(webhook_endpoints::id.eq(id))
        .select((Endpoint::as_select(), customers::code.nullable()))
        .first(conn)
}

pub fn list_endpoints(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<EndpointRow>> {
    let mut q = webhook_endpoints::table
        .left_join(
            customers::table.on(customers::id
                .nullable()
                .eq(webhook_endpoints::customer_id)
                .and(customers::tenant_id.eq(webhook_endpoints::tenant_id))),
        )
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .select((Endpoint::as_select(), customers::code.nullable()))
        .order(webhook_endpoints::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhook_endpoints::id.gt(after));
    }
    q.load(conn)
}

/// Cancels the pending deliveries of an endpoint (it was disabled); returns how many.
pub fn cancel_pending(conn: &mut PgConnection, tenant_id: Uuid, endpoint_id: Uuid, reason: &str) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant_id))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending)),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Cancelled),
        webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
        webhook_deliveries::last_error.eq(reason),
        webhook_deliveries::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
}

// ----- deliveries ----------------------------------------------------------------------------

pub fn find_delivery(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, for_update: bool) -> QueryResult<Delivery> {
    let q = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(Delivery::as_select());
    if for_update {
        q.for_update().first(conn)
    } else {
        q.first(conn)
    }
}

pub fn list_deliveries(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    endpoint_id: Uuid,
    status: Option<DeliveryStatus>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select(Delivery::as_select())
        .order(webhook_deliveries::id)
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(webhook_deliveries::status.eq(s));
    }
    if let Some(after) = after {
        q = q.filter(webhook_deliveries::id.gt(after));
    }
    q.load(conn)
}

pub fn attempts_of(conn: &mut PgConnection, tenant_id: Uuid, delivery_id: Uuid) -> QueryResult<Vec<Attempt>> {
    webhook_attempts::table
        .filter(webhook_attempts::tenant_id.eq(tenant_id))
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .order(webhook_attempts::id)
        .select(Attempt::as_select())
        .load(conn)
}

pub fn event_payload(conn: &mut PgConnection, tenant_id: Uuid, event_id: Uuid) -> QueryResult<Value> {
    outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant_id))
        .find(event_id)
        .select(outbox_events::payload)
        .first(conn)
}

/// Starts a new attempt schedule (manual redelivery): due now, same event, same webhook-id.
pub fn restart(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<Delivery> {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::tenant_id.eq(tenant_id)).find(id))
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending),
            webhook_deliveries::schedule_attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(Delivery::as_returning())
        .get_result(conn)
}

// ----- the dispatcher ------------------------------------------------------------------------

/// Claims up to `limit` events that have no deliveries yet, oldest first, locked so that
/// concurrent dispatchers take different ones.
pub fn claim_events(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<OutboxEvent>> {
    outbox_events::table
        .filter(outbox_events::dispatched_at.is_null())
        .order((outbox_events::created_at, outbox_events::id))
        .limit(limit)
        .select(OutboxEvent::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
}

/// The enabled endpoints of these tenants (the dispatcher filters them per event).
pub fn enabled_endpoints_of(conn: &mut PgConnection, tenant_ids: &[Uuid]) -> QueryResult<Vec<Endpoint>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq_any(tenant_ids))
        .filter(webhook_endpoints::enabled.eq(true))
        .select(Endpoint::as_select())
        .load(conn)
}

pub fn insert_deliveries(conn: &mut PgConnection, rows: &[Delivery]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        diesel::insert_into(webhook_deliveries::table)
            .values(chunk)
            .on_conflict((webhook_deliveries::endpoint_id, webhook_deliveries::event_id, webhook_deliveries::tenant_id))
            .do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

pub fn mark_dispatched(conn: &mut PgConnection, event_ids: &[Uuid], now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(event_ids)))
        .set(outbox_events::dispatched_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

// ----- the sender ----------------------------------------------------------------------------

/// Locks up to `limit` due deliveries (skipping those another worker holds).
pub fn lock_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at)
        .limit(limit)
        .select(Delivery::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
}

/// Takes a delivery for one attempt: counts it and pushes its due time forward by the lease.
pub fn lease(conn: &mut PgConnection, d: &Delivery, until: DateTime<Utc>, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::tenant_id.eq(d.tenant_id)).find(d.id))
        .set((
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::schedule_attempts.eq(webhook_deliveries::schedule_attempts + 1),
            webhook_deliveries::next_attempt_at.eq(Some(until)),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn endpoints_by_id(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Endpoint>> {
    webhook_endpoints::table.filter(webhook_endpoints::id.eq_any(ids)).select(Endpoint::as_select()).load(conn)
}

/// The events' payloads and when each event was created.
pub fn payloads(conn: &mut PgConnection, event_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Value, DateTime<Utc>)>> {
    outbox_events::table
        .filter(outbox_events::id.eq_any(event_ids))
        .select((outbox_events::id, outbox_events::payload, outbox_events::created_at))
        .load(conn)
}

/// Hands a claimed delivery back at shutdown, its request stopped before an answer: due now (the
/// next worker to poll sends it again, same `webhook-id`), its retry schedule not spent, the
/// attempt closed with `error`. Nothing changes when the attempt was recorded meanwhile or the
/// delivery is no longer pending. True when it was handed back.
pub fn hand_back(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    attempt_id: Uuid,
    error: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let unfinished = || {
        webhook_attempts::table
            .filter(webhook_attempts::id.eq(attempt_id))
            .filter(webhook_attempts::finished_at.is_null())
    };
    let handed = diesel::update(
        webhook_deliveries::table
            .find(delivery_id)
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
            .filter(diesel::dsl::exists(unfinished())),
    )
    .set((
        webhook_deliveries::next_attempt_at.eq(Some(now)),
        webhook_deliveries::schedule_attempts.eq(webhook_deliveries::schedule_attempts - 1),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)?;
    if handed == 0 {
        return Ok(false);
    }
    diesel::update(unfinished())
        .set((webhook_attempts::finished_at.eq(Some(now)), webhook_attempts::error.eq(error)))
        .execute(conn)?;
    Ok(true)
}

pub fn tenants_allowing_private(conn: &mut PgConnection, tenant_ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    webhook_settings::table
        .filter(webhook_settings::tenant_id.eq_any(tenant_ids))
        .filter(webhook_settings::allow_private_targets.eq(true))
        .select(webhook_settings::tenant_id)
        .load(conn)
}

pub fn insert_attempt(conn: &mut PgConnection, a: &Attempt) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table).values(a).execute(conn).map(|_| ())
}

pub fn finish_attempt(conn: &mut PgConnection, a: &Attempt) -> QueryResult<()> {
    diesel::update(webhook_attempts::table.filter(webhook_attempts::tenant_id.eq(a.tenant_id)).find(a.id))
        .set((
            webhook_attempts::finished_at.eq(a.finished_at),
            webhook_attempts::duration_ms.eq(a.duration_ms),
            webhook_attempts::status_code.eq(a.status_code),
            webhook_attempts::response_excerpt.eq(&a.response_excerpt),
            webhook_attempts::error.eq(&a.error),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records the outcome of an attempt on its delivery. Only applies while the delivery is still
/// pending (a manual cancel or an endpoint deletion in the meantime wins).
#[allow(clippy::too_many_arguments)]
pub fn record_outcome(
    conn: &mut PgConnection,
    d: &Delivery,
    status: DeliveryStatus,
    next_attempt_at: Option<DateTime<Utc>>,
    status_code: Option<i32>,
    error: Option<&str>,
    delivered_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(d.tenant_id))
            .find(d.id)
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending)),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::next_attempt_at.eq(next_attempt_at),
        webhook_deliveries::last_status_code.eq(status_code),
        webhook_deliveries::last_error.eq(error),
        webhook_deliveries::delivered_at.eq(delivered_at),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Disables an endpoint (it answered 410 Gone) and cancels its pending deliveries. False when
/// it was disabled already.
pub fn disable_endpoint(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::tenant_id.eq(tenant_id))
            .find(id)
            .filter(webhook_endpoints::enabled.eq(true)),
    )
    .set((
        webhook_endpoints::enabled.eq(false),
        webhook_endpoints::disabled_reason.eq(reason),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    cancel_pending(conn, tenant_id, id, "cancelled: the endpoint answered 410 Gone")?;
    Ok(changed > 0)
}
