//! Monthly statement runs: every (or selected) customer's statement of account for a period,
//! produced in the background in batches (one transaction per batch, the run row locked with
//! SKIP LOCKED so several processes can share runs), each announced with `statement.issued`
//! (which the customer's webhook endpoints and portal receive), with progress.

use super::audit::entry;
use super::events::{self, EventType};
use super::portal::statement_of_account;
use super::require;
use crate::db::audit as audit_db;
use crate::db::schema::{customers, statement_run_items, statement_runs};
use crate::db::DbPool;
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const BATCH: i64 = 200;

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

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = statement_runs)]
struct RunRow {
    id: Uuid,
    tenant_id: Uuid,
    status: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    customers_total: i32,
    customers_done: i32,
    error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    actor_type: String,
    actor_id: String,
}

fn view(r: RunRow) -> StatementRunView {
    StatementRunView {
        id: r.id,
        status: r.status,
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
            let found: Vec<(Uuid, String)> = customers::table
                .filter(customers::tenant_id.eq(principal.tenant_id))
                .filter(customers::code.eq_any(codes))
                .select((customers::id, customers::code))
                .load(conn)?;
            if let Some(missing) = codes.iter().find(|c| !found.iter().any(|(_, f)| f == *c)) {
                return Err(AppError::invalid("customers", format!("unknown customer {missing:?}")));
            }
            found.into_iter().map(|(id, _)| id).collect()
        }
        None => customers::table
            .filter(customers::tenant_id.eq(principal.tenant_id))
            .filter(customers::status.eq("active"))
            .select(customers::id)
            .load(conn)?,
    };
    let row = RunRow {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        status: "queued".into(),
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
    diesel::insert_into(statement_runs::table).values(&row).execute(conn)?;
    for chunk in ids.chunks(10_000) {
        let items: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    statement_run_items::run_id.eq(row.id),
                    statement_run_items::tenant_id.eq(principal.tenant_id),
                    statement_run_items::customer_id.eq(*c),
                )
            })
            .collect();
        diesel::insert_into(statement_run_items::table).values(&items).execute(conn)?;
    }
    let mut e = entry(principal, "statement_run.started", "statement_run", &row.id.to_string());
    e.after =
        Some(json!({"period_from": row.period_from, "period_to": row.period_to, "customers": row.customers_total}));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(row))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<StatementRunView> {
    require(principal, Permission::Read)?;
    statement_runs::table
        .filter(statement_runs::tenant_id.eq(principal.tenant_id))
        .filter(statement_runs::id.eq(id))
        .select(RunRow::as_select())
        .first(conn)
        .map(view)
        .map_err(|_| AppError::not_found("statement run"))
}

/// Processes one batch of some pending run; true when there was work.
pub fn process_next_batch(pool: &DbPool) -> AppResult<bool> {
    let mut conn = pool.get()?;
    conn.transaction(|conn| {
        let Some(run) = statement_runs::table
            .filter(statement_runs::status.eq_any(["queued", "running"]))
            .order(statement_runs::created_at)
            .select(RunRow::as_select())
            .for_update()
            .skip_locked()
            .first(conn)
            .optional()?
        else {
            return Ok(false);
        };
        let pending: Vec<(Uuid, String, String)> = statement_run_items::table
            .inner_join(customers::table.on(customers::id.eq(statement_run_items::customer_id)))
            .filter(statement_run_items::run_id.eq(run.id))
            .filter(statement_run_items::done.eq(false))
            .order(statement_run_items::customer_id)
            .limit(BATCH)
            .select((customers::id, customers::code, customers::name))
            .load(conn)?;
        for (customer_id, _, _) in &pending {
            let customer = crate::db::customers::find_by_id(conn, run.tenant_id, *customer_id)?;
            let soa = statement_of_account(conn, run.tenant_id, &customer, Some(run.period_from), Some(run.period_to))?;
            let closing: Vec<_> = soa
                .currencies
                .iter()
                .map(|c| json!({"currency": c.currency, "opening_balance": c.opening_balance, "closing_balance": c.closing_balance}))
                .collect();
            let lines: usize = soa.currencies.iter().map(|c| c.lines.len()).sum();
            diesel::update(
                statement_run_items::table
                    .filter(statement_run_items::run_id.eq(run.id))
                    .filter(statement_run_items::customer_id.eq(customer_id)),
            )
            .set((
                statement_run_items::done.eq(true),
                statement_run_items::closing_balances.eq(json!(closing)),
                statement_run_items::lines.eq(lines as i32),
            ))
            .execute(conn)?;
            let link = format!(
                "/api/v1/customers/{}/statement-of-account?from={}&to={}",
                customer.code, run.period_from, run.period_to
            );
            events::emit(
                conn,
                run.tenant_id,
                Some(customer.id),
                EventType::StatementIssued,
                json!({
                    "statement_run_id": run.id, "customer_code": customer.code, "period_from": run.period_from,
                    "period_to": run.period_to, "balances": closing, "lines": lines,
                    "links": {"tenant": link, "portal": format!("/api/v1/portal/statement-of-account?from={}&to={}", run.period_from, run.period_to)},
                }),
            )?;
        }
        let done = run.customers_done + pending.len() as i32;
        let finished = (pending.len() as i64) < BATCH;
        diesel::update(statement_runs::table.filter(statement_runs::id.eq(run.id)))
            .set((
                statement_runs::customers_done.eq(done),
                statement_runs::status.eq(if finished { "completed" } else { "running" }),
                statement_runs::finished_at.eq(finished.then(Utc::now)),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

pub fn spawn_worker(pool: DbPool, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("statement-run-worker".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match process_next_batch(&pool) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e.message, "statement run batch failed; retrying"),
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
        .expect("spawn the statement run worker")
}
