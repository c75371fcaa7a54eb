//! Promises to pay: checked whenever payments are applied to a customer's documents (in the
//! same transaction as the allocations: a cash-application run, a manual allocation, a
//! confirmed proposal), and swept once their date has passed: kept, partially kept or broken.
//! A broken (or only partly kept) promise creates a follow-up task or raises the customer's
//! dunning level (tenant setting), and feeds the credit rules.

use super::audit::entry;
use super::collection_tasks::{self, TaskPlan};
use super::credit_policy::{self, Reassessment};
use super::events::{self, EventType};
use super::require;
use crate::db::audit as audit_db;
use crate::db::collections::{self as c_db, Promise};
use crate::db::customers as customers_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::collection::{promise_status, BrokenPromiseAction, PromiseStatus, TaskKind, TaskSource};
use crate::domain::money::format_amount;
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PromiseView {
    pub id: Uuid,
    pub customer_code: String,
    pub contact_id: Uuid,
    /// Payments booked from this day up to `promised_date` count toward the promise.
    pub made_on: NaiveDate,
    pub promised_date: NaiveDate,
    pub amount: String,
    pub currency: String,
    /// pending | kept | partially_kept | broken
    pub status: String,
    /// Paid toward the promise so far (applied payments in the promise's window).
    pub paid_amount: String,
    pub resolved_at: Option<DateTime<Utc>>,
}

pub(crate) fn view(p: &Promise, code: &str) -> PromiseView {
    PromiseView {
        id: p.id,
        customer_code: code.to_string(),
        contact_id: p.contact_log_id,
        made_on: p.made_on,
        promised_date: p.promised_date,
        amount: format_amount(&p.currency, p.amount),
        currency: p.currency.clone(),
        status: p.status.as_str().into(),
        paid_amount: format_amount(&p.currency, p.paid_amount),
        resolved_at: p.resolved_at,
    }
}

/// Called in the transaction that applies allocations to documents (after they are applied):
/// the pending promises of the documents' customers are measured again, and those now covered
/// are kept. The system decides it, whoever applied the payment.
pub fn on_applied(conn: &mut PgConnection, tenant_id: Uuid, documents: &[Uuid]) -> AppResult<()> {
    if documents.is_empty() || !c_db::any_pending(conn, tenant_id)? {
        return Ok(());
    }
    let system = Principal {
        tenant_id,
        actor: crate::domain::auth::Actor::System,
        role: crate::domain::auth::Role::Admin,
        scopes: vec![],
    };
    for p in c_db::of_documents_in_status(conn, tenant_id, documents, PromiseStatus::Pending)? {
        let paid = c_db::paid_between(conn, tenant_id, p.customer_id, &p.currency, p.made_on, p.promised_date)?;
        // Only "kept" is decided here; whether an unpaid promise is broken is the sweep's call.
        let status = if paid >= p.amount { PromiseStatus::Kept } else { PromiseStatus::Pending };
        resolve(conn, &system, p, status, paid)?;
    }
    Ok(())
}

/// Called in the transaction that unapplies payments from documents: a kept promise of those
/// customers that the remaining payments no longer cover is pending again (audited as
/// `promise.reopened`), so the sweep judges it when its date has passed, as if it had never been
/// kept.
pub fn on_unapplied(conn: &mut PgConnection, principal: &Principal, documents: &[Uuid]) -> AppResult<()> {
    if documents.is_empty() {
        return Ok(());
    }
    for p in c_db::of_documents_in_status(conn, principal.tenant_id, documents, PromiseStatus::Kept)? {
        let paid = c_db::paid_between(conn, p.tenant_id, p.customer_id, &p.currency, p.made_on, p.promised_date)?;
        if paid >= p.amount {
            continue;
        }
        c_db::resolve_promise(conn, p.tenant_id, p.id, PromiseStatus::Pending, paid)?;
        let code = customers_db::find_by_id(conn, p.tenant_id, p.customer_id)?.code;
        let reopened = Promise { status: PromiseStatus::Pending, paid_amount: paid, resolved_at: None, ..p };
        let mut e = entry(principal, "promise.reopened", "promise", &reopened.id.to_string());
        e.after = super::audit::snapshot(&view(&reopened, &code));
        audit_db::append(conn, reopened.tenant_id, vec![e])?;
    }
    Ok(())
}

/// Stores a promise's new status and paid amount; a kept or broken promise is audited and
/// announced.
fn resolve(
    conn: &mut PgConnection,
    principal: &Principal,
    mut p: Promise,
    status: PromiseStatus,
    paid: Decimal,
) -> AppResult<Promise> {
    if p.status == status && p.paid_amount == paid {
        return Ok(p);
    }
    c_db::resolve_promise(conn, p.tenant_id, p.id, status, paid)?;
    p.status = status;
    p.paid_amount = paid;
    if status == PromiseStatus::Pending {
        return Ok(p);
    }
    p.resolved_at = Some(Utc::now());
    let code = customers_db::find_by_id(conn, p.tenant_id, p.customer_id)?.code;
    let v = view(&p, &code);
    let event = if status == PromiseStatus::Kept { EventType::PromiseKept } else { EventType::PromiseBroken };
    events::emit(conn, p.tenant_id, Some(p.customer_id), event, json!(v))?;
    let mut e = entry(principal, &format!("promise.{}", status.as_str()), "promise", &p.id.to_string());
    e.after = super::audit::snapshot(&v);
    audit_db::append(conn, p.tenant_id, vec![e])?;
    Ok(p)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct PromiseSweepRequest {
    /// Promises dated before this day are judged (default: today).
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PromiseSweepView {
    pub as_of: Option<NaiveDate>,
    pub kept: i32,
    pub partially_kept: i32,
    pub broken: i32,
    /// Follow-up tasks created for broken or partly kept promises.
    pub tasks_created: i32,
    /// Customers whose dunning level rises by one at the next dunning run.
    pub levels_raised: i32,
}

/// Judges the promises whose date has passed as of a day (the dunning run does the same).
pub fn sweep(conn: &mut PgConnection, principal: &Principal, req: PromiseSweepRequest) -> AppResult<PromiseSweepView> {
    require(principal, Permission::WriteCollections)?;
    let as_of = req.as_of.unwrap_or_else(|| Utc::now().date_naive());
    // Tasks and dunning escalation are written under the lock a dunning run takes.
    crate::db::lock_tenant(conn, principal.tenant_id, crate::db::TenantLock::Dunning)?;
    judge_due(conn, principal, as_of)
}

/// Pending promises dated before `as_of`: kept, partially kept or broken by what was paid in
/// their window; the consequences of the broken ones. The caller holds the dunning lock.
pub(crate) fn judge_due(
    conn: &mut PgConnection,
    principal: &Principal,
    as_of: NaiveDate,
) -> AppResult<PromiseSweepView> {
    let tenant_id = principal.tenant_id;
    let mut out = PromiseSweepView { as_of: Some(as_of), ..PromiseSweepView::default() };
    let mut failed: Vec<Promise> = Vec::new();
    for p in c_db::pending_due_before(conn, tenant_id, as_of)? {
        let paid = c_db::paid_between(conn, tenant_id, p.customer_id, &p.currency, p.made_on, p.promised_date)?;
        let status = promise_status(p.amount, paid, p.promised_date, as_of);
        let p = resolve(conn, principal, p, status, paid)?;
        match status {
            PromiseStatus::Kept => out.kept += 1,
            PromiseStatus::PartiallyKept => out.partially_kept += 1,
            PromiseStatus::Broken => out.broken += 1,
            PromiseStatus::Pending => continue,
        }
        if status != PromiseStatus::Kept {
            failed.push(p);
        }
    }
    if failed.is_empty() {
        return Ok(out);
    }
    let settings = collection_tasks::settings_or_default(conn, tenant_id)?;
    match settings.broken_promise_action {
        BrokenPromiseAction::FollowUpTask => {
            let plans = failed.iter().map(follow_up).collect();
            out.tasks_created = collection_tasks::create(conn, principal, None, as_of, plans)?.len() as i32;
        }
        BrokenPromiseAction::RaiseLevel => {
            for p in &failed {
                crate::db::dunning::escalate(conn, tenant_id, p.customer_id)?;
                let mut e = entry(principal, "dunning.escalated", "customer", &p.customer_id.to_string());
                e.after = Some(json!({"promise_id": p.id, "reason": broken_reason(p)}));
                audit_db::append(conn, tenant_id, vec![e])?;
            }
            out.levels_raised = failed.len() as i32;
        }
    }
    let mut customers: Vec<Uuid> = failed.iter().map(|p| p.customer_id).collect();
    customers.sort();
    customers.dedup();
    let ctx = Reassessment { as_of, run_id: None, dunning: None, occasion: format!("promise check as of {as_of}") };
    credit_policy::reassess(conn, principal, &ctx, &customers)?;
    Ok(out)
}

fn broken_reason(p: &Promise) -> String {
    format!(
        "promise to pay {} {} by {} {} (paid {})",
        p.currency,
        format_amount(&p.currency, p.amount),
        p.promised_date,
        if p.status == PromiseStatus::Broken { "broken" } else { "only partly kept" },
        format_amount(&p.currency, p.paid_amount),
    )
}

fn follow_up(p: &Promise) -> TaskPlan {
    TaskPlan {
        customer_id: p.customer_id,
        kind: TaskKind::Call,
        source: TaskSource::BrokenPromise,
        level_code: None,
        promise_id: Some(p.id),
        reason: broken_reason(p),
    }
}

/// A customer's promises, newest first.
pub fn of_customer(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<Vec<PromiseView>> {
    require(principal, Permission::Read)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, code)
        .map_err(|_| crate::error::AppError::not_found("customer"))?;
    let rows = c_db::promises_of(conn, principal.tenant_id, customer.id)?;
    Ok(rows.iter().map(|p| view(p, &customer.code)).collect())
}

/// The customers' promise dates found broken or partly kept since a day (credit rules).
pub(crate) fn broken_dates(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customers: &[Uuid],
    since: NaiveDate,
) -> AppResult<HashMap<Uuid, Vec<NaiveDate>>> {
    let mut out: HashMap<Uuid, Vec<NaiveDate>> = HashMap::new();
    for (customer, date) in c_db::broken_since(conn, tenant_id, customers, since)? {
        out.entry(customer).or_default().push(date);
    }
    Ok(out)
}
