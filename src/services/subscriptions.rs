//! Live events for GraphQL subscriptions (`/graphql/ws`): a portal token follows its customer's
//! differences and work orders, a tenant caller its runs, work orders and collection work,
//! without polling the API.
//!
//! The source is the outbox (`services::events`), so an event written by any server process
//! reaches subscribers on every process: each subscription polls the tenant's new rows (uuid v7
//! ids are time-ordered) on the blocking pool, filtered in SQL by type prefix and customer. A
//! transaction may commit a little after its event's id was taken, so every poll looks
//! [`COMMIT_LAG`] back and skips the ids it already delivered. A new subscription therefore
//! starts with the events of the last [`COMMIT_LAG`]: a change made while it was being set up
//! is not lost (delivery is at least once; the id tells a repeat).
//!
//! Bounds: [`MAX_PER_CONNECTION`] subscriptions per WebSocket, [`MAX_PER_TENANT`] per tenant and
//! process. The credential is checked again every [`RECHECK`]: a revoked or expired token ends
//! its subscriptions (the client gets `complete`), as does the server's shutdown.

use super::require;
use crate::db::outbox::{self, OutboxEvent};
use crate::domain::auth::{Permission, PortalPrincipal, Principal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::AppState;
use chrono::{DateTime, Utc};
use futures_util::stream::Stream;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
pub const COMMIT_LAG: Duration = Duration::from_secs(5);
pub const RECHECK: Duration = Duration::from_secs(2);
pub const MAX_PER_CONNECTION: usize = 8;
pub const MAX_PER_TENANT: usize = 200;
/// Rows read per poll; more wait for the next one.
const BATCH: i64 = 200;

/// What a tenant caller may follow: its runs (cash application, customer-statement
/// reconciliation, statement and dunning runs), work orders, and the collection work dunning
/// creates (tasks, promises kept or broken).
pub const TENANT_PREFIXES: [&str; 7] =
    ["reconciliation.", "statement.", "statement_run.", "work_order.", "dunning.", "collection_task.", "promise."];
/// What a portal may follow, of its own customer only: differences once sent to it, and work
/// orders marked visible to the customer.
pub const PORTAL_PREFIXES: [&str; 2] = ["difference.", "work_order."];

/// One event as a subscriber receives it.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct LiveEvent {
    /// The outbox id (also the webhook id of the same event).
    pub id: Uuid,
    /// e.g. `reconciliation.completed`, `difference.disputed`, `work_order.updated`.
    #[graphql(name = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The event's data, as webhooks carry it.
    pub data: async_graphql::Json<Value>,
}

/// Who is subscribing.
#[derive(Debug, Clone)]
pub enum Audience {
    Tenant(Principal),
    Portal(PortalPrincipal),
}

impl Audience {
    fn tenant_id(&self) -> Uuid {
        match self {
            Audience::Tenant(p) => p.tenant_id,
            Audience::Portal(p) => p.tenant_id,
        }
    }
}

/// Subscriptions open per tenant in this process.
#[derive(Debug, Default)]
pub struct Registry {
    per_tenant: Mutex<HashMap<Uuid, usize>>,
}

/// One WebSocket connection: who it authenticated as, with what, and its open subscriptions.
#[derive(Debug, Clone)]
pub struct Connection {
    pub audience: Audience,
    token: String,
    open: Arc<AtomicUsize>,
}

/// Authenticates a connection with its bearer token (API key, user JWT or portal token).
pub async fn connect(state: &AppState, token: &str) -> AppResult<Connection> {
    let audience = authenticate(state, token).await?;
    Ok(Connection { audience, token: token.to_string(), open: Arc::default() })
}

async fn authenticate(state: &AppState, token: &str) -> AppResult<Audience> {
    match crate::services::auth::authenticate(state.auth(), token).await {
        Ok(p) => Ok(Audience::Tenant(p)),
        Err(e) if e.code == ErrorCode::Forbidden => {
            Ok(Audience::Portal(crate::services::portal::authenticate(state.auth(), token).await?))
        }
        Err(e) => Err(e),
    }
}

/// Holds one subscription's places in the bounds; gives them back when the stream is dropped.
struct Permit {
    registry: Arc<Registry>,
    tenant_id: Uuid,
    open: Arc<AtomicUsize>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut map) = self.registry.per_tenant.lock() {
            if let Some(n) = map.get_mut(&self.tenant_id) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

fn permit(registry: &Arc<Registry>, conn: &Connection) -> AppResult<Permit> {
    if conn.open.fetch_add(1, Ordering::SeqCst) >= MAX_PER_CONNECTION {
        conn.open.fetch_sub(1, Ordering::SeqCst);
        let msg = format!("at most {MAX_PER_CONNECTION} subscriptions per connection");
        return Err(AppError::new(ErrorCode::RateLimited, msg));
    }
    let tenant_id = conn.audience.tenant_id();
    let mut map = registry.per_tenant.lock().map_err(|_| AppError::internal("subscription registry"))?;
    let n = map.entry(tenant_id).or_default();
    if *n >= MAX_PER_TENANT {
        conn.open.fetch_sub(1, Ordering::SeqCst);
        let msg = format!("at most {MAX_PER_TENANT} subscriptions per tenant on one server");
        return Err(AppError::new(ErrorCode::RateLimited, msg));
    }
    *n += 1;
    Ok(Permit { registry: registry.clone(), tenant_id, open: conn.open.clone() })
}

/// The prefixes asked for (`types`: event types or prefixes), each within what the audience may
/// follow; all of those when none are asked for.
fn prefixes(allowed: &[&str], types: Option<Vec<String>>) -> AppResult<Vec<String>> {
    let Some(types) = types.filter(|t| !t.is_empty()) else {
        return Ok(allowed.iter().map(|p| p.to_string()).collect());
    };
    for t in &types {
        if !allowed.iter().any(|p| t.starts_with(p)) {
            let msg = format!("{t:?} is not an event this caller can follow (prefixes: {})", allowed.join(", "));
            return Err(AppError::invalid("types", msg));
        }
    }
    Ok(types)
}

/// The smallest uuid v7 of a moment: every id taken at or after it sorts above.
fn v7_floor(at: DateTime<Utc>) -> Uuid {
    let ms = at.timestamp_millis().max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    Uuid::from_bytes(bytes)
}

/// Opens a subscription: the events from [`COMMIT_LAG`] ago on, as they are committed.
pub fn subscribe(
    state: &AppState,
    registry: &Arc<Registry>,
    conn: &Connection,
    types: Option<Vec<String>>,
) -> AppResult<impl Stream<Item = LiveEvent>> {
    let prefixes = match &conn.audience {
        Audience::Tenant(p) => {
            require(p, Permission::Read)?;
            prefixes(&TENANT_PREFIXES, types)?
        }
        Audience::Portal(_) => prefixes(&PORTAL_PREFIXES, types)?,
    };
    let poll = Poll {
        state: state.clone(),
        conn: conn.clone(),
        prefixes,
        seen: VecDeque::new(),
        buffer: VecDeque::new(),
        checked: Instant::now(),
        _permit: permit(registry, conn)?,
    };
    Ok(futures_util::stream::unfold(poll, |mut poll| async move {
        let event = poll.next().await?;
        Some((event, poll))
    }))
}

struct Poll {
    state: AppState,
    conn: Connection,
    prefixes: Vec<String>,
    /// Ids delivered within the look-back, oldest first.
    seen: VecDeque<Uuid>,
    buffer: VecDeque<LiveEvent>,
    checked: Instant,
    _permit: Permit,
}

impl Poll {
    /// The next event; `None` ends the subscription (credential gone, server shutting down).
    async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                return Some(e);
            }
            if self.state.draining.load(Ordering::Relaxed) {
                return None;
            }
            if self.checked.elapsed() >= RECHECK {
                let still = authenticate(&self.state, &self.conn.token).await;
                if !still.is_ok_and(|a| a.tenant_id() == self.conn.audience.tenant_id()) {
                    return None;
                }
                self.checked = Instant::now();
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            match self.fetch().await {
                Ok(events) => self.buffer.extend(events),
                Err(e) => tracing::warn!(error = %e.message, "subscription poll failed"),
            }
        }
    }

    async fn fetch(&mut self) -> AppResult<Vec<LiveEvent>> {
        let lag = chrono::Duration::from_std(COMMIT_LAG).unwrap_or_default();
        let after = v7_floor(Utc::now() - lag);
        while self.seen.front().is_some_and(|id| *id <= after) {
            self.seen.pop_front();
        }
        let (audience, prefixes) = (self.conn.audience.clone(), self.prefixes.clone());
        let rows = crate::db::read(&self.state.pool, move |conn| {
            let (tenant_id, customer) = match &audience {
                Audience::Tenant(p) => (p.tenant_id, None),
                Audience::Portal(p) => (p.tenant_id, Some(p.customer_id)),
            };
            let rows = outbox::after(conn, tenant_id, after, customer, &prefixes, BATCH)?;
            match &audience {
                Audience::Tenant(_) => Ok(rows),
                Audience::Portal(p) => Ok(rows.into_iter().filter(|e| portal_sees(conn, p, e)).collect()),
            }
        })
        .await?;
        let mut out = Vec::new();
        for e in rows {
            if self.seen.contains(&e.id) {
                continue;
            }
            self.seen.push_back(e.id);
            let data = e.payload.get("data").cloned().unwrap_or(Value::Null);
            out.push(LiveEvent {
                id: e.id,
                event_type: e.event_type,
                created_at: e.created_at,
                data: async_graphql::Json(data),
            });
        }
        Ok(out)
    }
}

/// Whether a portal may see an event of its customer: a work order only when marked visible to
/// the customer; a difference only once sent to it (its comments while the customer sees it).
fn portal_sees(conn: &mut diesel::PgConnection, portal: &PortalPrincipal, e: &OutboxEvent) -> bool {
    let data = e.payload.get("data").unwrap_or(&Value::Null);
    if e.event_type.starts_with("work_order.") {
        return data.pointer("/work_order/visible_to_customer") == Some(&Value::Bool(true));
    }
    match e.event_type.as_str() {
        "difference.created" => false,
        "difference.commented" => data
            .get("difference_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<Uuid>().ok())
            .is_some_and(|id| crate::services::differences::get_for_customer(conn, portal, id).is_ok()),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_sorts_below_every_later_id_and_above_earlier_ones() {
        let now = Utc::now();
        let floor = v7_floor(now);
        let later = Uuid::now_v7();
        assert!(floor <= later);
        assert!(v7_floor(now + chrono::Duration::seconds(1)) > later);
    }

    #[test]
    fn asked_types_must_be_within_the_audiences_prefixes() {
        assert_eq!(prefixes(&PORTAL_PREFIXES, None).unwrap(), ["difference.", "work_order."]);
        assert_eq!(
            prefixes(&PORTAL_PREFIXES, Some(vec!["difference.disputed".into()])).unwrap(),
            ["difference.disputed"]
        );
        assert!(prefixes(&PORTAL_PREFIXES, Some(vec!["reconciliation.completed".into()])).is_err());
        assert!(prefixes(&TENANT_PREFIXES, Some(vec!["difference.".into()])).is_err());
    }
}
