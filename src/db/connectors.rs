//! Connectors and their sync history.

use super::schema::{connector_syncs, connectors, webhook_settings};
use crate::domain::run_status::SyncStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connectors)]
pub struct Connector {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connector_type: String,
    pub name: String,
    pub config: Value,
    pub credentials: Option<Vec<u8>>,
    pub schedule_seconds: i32,
    pub sync_cursor: Value,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_status: Option<SyncStatus>,
    pub last_error: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connector_syncs)]
pub struct ConnectorSync {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connector_id: Uuid,
    pub status: SyncStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub pages: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub rejected: Value,
    pub error: Option<String>,
}

pub fn insert(conn: &mut PgConnection, c: &Connector) -> QueryResult<()> {
    diesel::insert_into(connectors::table).values(c).execute(conn).map(|_| ())
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Connector>> {
    connectors::table
        .filter(connectors::tenant_id.eq(tenant_id))
        .filter(connectors::id.eq(id))
        .select(Connector::as_select())
        .first(conn)
        .optional()
}

/// The row locked for an update.
pub fn lock(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Connector>> {
    connectors::table
        .filter(connectors::tenant_id.eq(tenant_id))
        .filter(connectors::id.eq(id))
        .select(Connector::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, after: Option<Uuid>, limit: i64) -> QueryResult<Vec<Connector>> {
    let mut q = connectors::table.filter(connectors::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(after) = after {
        q = q.filter(connectors::id.gt(after));
    }
    q.order(connectors::id.asc()).limit(limit).select(Connector::as_select()).load(conn)
}

pub fn save(conn: &mut PgConnection, c: &Connector) -> QueryResult<()> {
    diesel::update(connectors::table.filter(connectors::tenant_id.eq(c.tenant_id)).find(c.id))
        .set((
            connectors::name.eq(&c.name),
            connectors::config.eq(&c.config),
            connectors::credentials.eq(&c.credentials),
            connectors::schedule_seconds.eq(c.schedule_seconds),
            connectors::sync_cursor.eq(&c.sync_cursor),
            connectors::enabled.eq(c.enabled),
            connectors::next_run_at.eq(c.next_run_at),
            connectors::lease_owner.eq(c.lease_owner),
            connectors::lease_until.eq(c.lease_until),
            connectors::consecutive_failures.eq(c.consecutive_failures),
            connectors::last_status.eq(c.last_status),
            connectors::last_error.eq(&c.last_error),
            connectors::last_sync_at.eq(c.last_sync_at),
            connectors::updated_at.eq(c.updated_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<()> {
    diesel::delete(connectors::table.filter(connectors::tenant_id.eq(tenant_id)).find(id)).execute(conn).map(|_| ())
}

/// Due, enabled connectors whose lease (if any) ran out, locked so other workers skip them.
pub fn lock_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<Connector>> {
    connectors::table
        .filter(connectors::enabled.eq(true))
        .filter(connectors::next_run_at.le(now))
        .filter(connectors::lease_until.is_null().or(connectors::lease_until.lt(now)))
        .order(connectors::next_run_at.asc())
        .limit(limit)
        .select(Connector::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
}

/// The connector locked, if `owner` still holds its lease.
pub fn lock_leased(conn: &mut PgConnection, id: Uuid, owner: Uuid) -> QueryResult<Option<Connector>> {
    connectors::table
        .filter(connectors::id.eq(id))
        .filter(connectors::lease_owner.eq(owner))
        .select(Connector::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn tenant_allows_private(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    webhook_settings::table
        .filter(webhook_settings::tenant_id.eq(tenant_id))
        .select(webhook_settings::allow_private_targets)
        .first(conn)
        .optional()
        .map(|v| v.unwrap_or(false))
}

pub fn insert_sync(conn: &mut PgConnection, s: &ConnectorSync) -> QueryResult<()> {
    diesel::insert_into(connector_syncs::table).values(s).execute(conn).map(|_| ())
}

pub fn save_sync(conn: &mut PgConnection, s: &ConnectorSync) -> QueryResult<()> {
    diesel::update(connector_syncs::table.filter(connector_syncs::tenant_id.eq(s.tenant_id)).find(s.id))
        .set((
            connector_syncs::status.eq(s.status),
            connector_syncs::finished_at.eq(s.finished_at),
            connector_syncs::pages.eq(s.pages),
            connector_syncs::created.eq(s.created),
            connector_syncs::updated.eq(s.updated),
            connector_syncs::skipped.eq(s.skipped),
            connector_syncs::rejected.eq(&s.rejected),
            connector_syncs::error.eq(&s.error),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find_sync(conn: &mut PgConnection, id: Uuid) -> QueryResult<ConnectorSync> {
    connector_syncs::table.find(id).select(ConnectorSync::as_select()).first(conn)
}

pub fn syncs(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    connector_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ConnectorSync>> {
    let mut q = connector_syncs::table
        .filter(connector_syncs::tenant_id.eq(tenant_id))
        .filter(connector_syncs::connector_id.eq(connector_id))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(connector_syncs::id.lt(before));
    }
    q.order(connector_syncs::id.desc()).limit(limit).select(ConnectorSync::as_select()).load(conn)
}
