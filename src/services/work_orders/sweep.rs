//! Service levels per cause (a tenant setting) and the sweep that announces breached due dates:
//! `work_order.overdue`, exactly once per breach however many processes sweep (the claim marks
//! `overdue_notified_at` in the transaction that emits the event). The worker sweeps with the
//! app's [`Clock`](crate::services::clock::Clock); `POST /work-orders/overdue-sweep` runs one
//! sweep of the caller's tenant at once.

use super::{announce, view};
use crate::db::audit as audit_db;
use crate::db::work_orders as wo_db;
use crate::db::DbPool;
use crate::domain::auth::{Permission, Principal};
use crate::domain::work_order::SlaHours;
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use crate::services::clock::Clock;
use crate::services::events::EventType;
use crate::services::require;
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Breaches announced per transaction.
const BATCH: i64 = 100;

/// The tenant's service levels, or the defaults.
pub(crate) fn sla_of(conn: &mut PgConnection, tenant_id: Uuid) -> SlaHours {
    match wo_db::settings(conn, tenant_id) {
        Ok(Some((technical, process, dispute, unclassified))) => SlaHours { technical, process, dispute, unclassified },
        _ => SlaHours::default(),
    }
}

pub fn get_settings(conn: &mut PgConnection, p: &Principal) -> AppResult<SlaHours> {
    require(p, Permission::Read)?;
    Ok(sla_of(conn, p.tenant_id))
}

/// Replaces the service levels (admin); applies to work orders opened from now on.
pub fn put_settings(conn: &mut PgConnection, p: &Principal, s: SlaHours) -> AppResult<SlaHours> {
    require(p, Permission::Admin)?;
    if let Some(field) = s.invalid_field() {
        return Err(AppError::invalid(field, format!("hours from 1 to {}", crate::domain::work_order::MAX_SLA_HOURS)));
    }
    let before = sla_of(conn, p.tenant_id);
    wo_db::save_settings(conn, p.tenant_id, (s.technical, s.process, s.dispute, s.unclassified))?;
    let mut e = entry(p, "work_order_settings.updated", "work_order_settings", &p.tenant_id.to_string());
    e.before = snapshot(&before);
    e.after = snapshot(&s);
    audit_db::append(conn, p.tenant_id, vec![e])?;
    Ok(s)
}

/// Announces up to one batch of work orders (of one tenant, or all) whose due date passed by
/// `now`; returns how many.
pub fn sweep_overdue(conn: &mut PgConnection, now: DateTime<Utc>, tenant_id: Option<Uuid>) -> AppResult<usize> {
    let claimed = wo_db::claim_overdue(conn, now, tenant_id, BATCH)?;
    for w in &claimed {
        let (row, code) = wo_db::find(conn, w.tenant_id, w.id)?;
        let v = view(conn, row.clone(), code)?;
        let e = audit_db::NewAuditEntry {
            actor_type: "system".into(),
            actor_id: "sla-sweep".into(),
            action: "work_order.overdue".into(),
            entity_type: "work_order".into(),
            entity_id: w.id.to_string(),
            before: None,
            after: snapshot(&v),
        };
        audit_db::append(conn, w.tenant_id, vec![e])?;
        announce(conn, &row, EventType::WorkOrderOverdue, &v, None)?;
    }
    Ok(claimed.len())
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct SweepOutcome {
    /// Breaches announced by this sweep (`work_order.overdue` events).
    pub announced: i64,
    /// The time the sweep judged by (the app's clock).
    pub as_of: DateTime<Utc>,
}

/// One sweep of the caller's tenant now (admin), by the app's clock.
pub fn sweep_tenant(conn: &mut PgConnection, p: &Principal, now: DateTime<Utc>) -> AppResult<SweepOutcome> {
    require(p, Permission::Admin)?;
    let mut announced = 0;
    loop {
        let n = sweep_overdue(conn, now, Some(p.tenant_id))?;
        announced += n as i64;
        if (n as i64) < BATCH {
            return Ok(SweepOutcome { announced, as_of: now });
        }
    }
}

/// The background sweep (with the process's other workers).
pub fn spawn_worker(
    pool: DbPool,
    clock: Clock,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    crate::services::polling::Polling::new("work-order-sla-sweep", interval).spawn(stop, move || {
        let mut conn = pool.get()?;
        let n = conn.transaction(|c| sweep_overdue(c, clock.now(), None))?;
        Ok(n as i64 == BATCH)
    })
}
