//! Monthly statement runs: every (or selected) customer's statement of account for a period,
//! produced in the background in batches (one transaction per batch, the run row locked with
//! SKIP LOCKED so several processes can share runs), each announced with `statement.issued`
//! (which the customer's webhook endpoints and portal receive), with progress.

use super::audit::entry;
use super::events::{self, EventType};
use super::require;
use super::statement_of_account::{accounts, CurrencyAccount};
use crate::db::audit as audit_db;
use crate::db::customer_statements::{self as st_db, OurItemRow};
use crate::db::statement_runs::{self as runs_db, StatementRun};
use crate::db::DbPool;
use crate::domain::auth::{Permission, Principal};
use crate::domain::run_status::RunStatus;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Customers per batch, one transaction each: a batch is the unit of progress.
const BATCH: i64 = 500;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct StatementRunRequest {
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// Customer codes; absent: every active customer.
    pub customers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementRunView {
    pub id: Uuid,
    /// queued | running | completed | failed
    pub status: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub customers_total: i32,
    pub customers_done: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn view(r: StatementRun) -> StatementRunView {
    StatementRunView {
        id: r.id,
        status: r.status.as_str().into(),
        period_from: r.period_from,
        period_to: r.period_to,
        customers_total: r.customers_total,
        customers_done: r.customers_done,
        error: r.error,
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

pub fn start(conn: &mut PgConnection, principal: &Principal, req: StatementRunRequest) -> AppResult<StatementRunView> {
    require(principal, Permission::WriteMatching)?;
    if req.period_from > req.period_to {
        return Err(AppError::invalid("period_from", "must not be after period_to"));
    }
    let ids: Vec<Uuid> = match &req.customers {
        Some(codes) => {
            if codes.is_empty() || codes.len() > 100_000 {
                return Err(AppError::invalid("customers", "1 to 100000 customer codes, or leave it out for all"));
            }
            let found = runs_db::customers_by_code(conn, principal.tenant_id, codes)?;
            if let Some(missing) = codes.iter().find(|c| !found.iter().any(|(_, f)| f == *c)) {
                return Err(AppError::invalid("customers", format!("unknown customer {missing:?}")));
            }
            found.into_iter().map(|(id, _)| id).collect()
        }
        None => runs_db::active_customer_ids(conn, principal.tenant_id)?,
    };
    let row = StatementRun {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        status: RunStatus::Queued,
        period_from: req.period_from,
        period_to: req.period_to,
        customers_total: ids.len() as i32,
        customers_done: 0,
        error: None,
        created_at: Utc::now(),
        finished_at: None,
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
    };
    runs_db::insert(conn, &row, &ids)?;
    let mut e = entry(principal, "statement_run.started", "statement_run", &row.id.to_string());
    e.after =
        Some(json!({"period_from": row.period_from, "period_to": row.period_to, "customers": row.customers_total}));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(row))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<StatementRunView> {
    require(principal, Permission::Read)?;
    runs_db::find(conn, principal.tenant_id, id).map(view).map_err(|_| AppError::not_found("statement run"))
}

/// Processes one batch of some pending run; true when there was work. Set-based: one query
/// reads the items of every customer of the batch, one statement marks them done and one writes
/// their events, so a batch costs a few round trips whatever its size.
pub fn process_next_batch(pool: &DbPool) -> AppResult<bool> {
    let mut conn = pool.get()?;
    conn.transaction(|conn| {
        let Some(run) = runs_db::lock_next_pending(conn)? else {
            return Ok(false);
        };
        let pending = runs_db::pending_customers(conn, run.tenant_id, run.id, BATCH)?;
        let codes: HashMap<Uuid, String> =
            runs_db::customer_codes(conn, run.tenant_id, &pending)?.into_iter().collect();
        if pending.iter().any(|id| !codes.contains_key(id)) {
            return Err(AppError::not_found("customer"));
        }
        let mut items: HashMap<Uuid, Vec<OurItemRow>> = HashMap::new();
        for row in st_db::our_items_of_customers(conn, run.tenant_id, &pending, None, Some(run.period_to))? {
            items.entry(row.customer_id).or_default().push(row.item);
        }
        let mut done = Vec::with_capacity(pending.len());
        let mut issued = Vec::with_capacity(pending.len());
        for customer_id in &pending {
            let currencies = accounts(items.remove(customer_id).unwrap_or_default(), Some(run.period_from));
            let (item, event) = issue(&run, *customer_id, &codes[customer_id], &currencies);
            done.push(item);
            issued.push(event);
        }
        runs_db::items_done(conn, run.tenant_id, run.id, &done)?;
        events::emit_many(conn, run.tenant_id, issued)?;
        let done = run.customers_done + pending.len() as i32;
        let finished = (pending.len() as i64) < BATCH;
        let status = if finished { RunStatus::Completed } else { RunStatus::Running };
        runs_db::progress(conn, run.tenant_id, run.id, done, status, finished.then(Utc::now))?;
        if finished {
            let data = json!({"statement_run_id": run.id, "period_from": run.period_from, "period_to": run.period_to,
                              "customers": done});
            events::emit(conn, run.tenant_id, None, EventType::StatementRunCompleted, data)?;
        }
        Ok(true)
    })
}

/// One customer's statement of the run: its item (closing balances, line count) and its
/// `statement.issued` event.
fn issue(
    run: &StatementRun,
    customer_id: Uuid,
    code: &str,
    currencies: &[CurrencyAccount],
) -> (runs_db::ItemDone, (Option<Uuid>, EventType, Value)) {
    let closing: Vec<_> = currencies
        .iter()
        .map(|c| json!({"currency": c.currency, "opening_balance": c.opening_balance, "closing_balance": c.closing_balance}))
        .collect();
    let lines: usize = currencies.iter().map(|c| c.lines.len()).sum();
    let link = format!("/api/v1/customers/{code}/statement-of-account?from={}&to={}", run.period_from, run.period_to);
    let event = json!({
        "statement_run_id": run.id, "customer_code": code, "period_from": run.period_from,
        "period_to": run.period_to, "balances": closing, "lines": lines,
        "links": {"tenant": link, "portal": format!("/api/v1/portal/statement-of-account?from={}&to={}", run.period_from, run.period_to)},
    });
    let item = runs_db::ItemDone { customer_id, closing_balances: json!(closing), lines: lines as i32 };
    (item, (Some(customer_id), EventType::StatementIssued, event))
}

pub fn spawn_worker(pool: DbPool, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    super::polling::Polling::new("statement-run-worker", Duration::from_millis(250))
        .spawn(stop, move || process_next_batch(&pool))
}
