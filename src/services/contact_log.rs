//! The contact log: every contact with a customer about what it owes (channel, outcome, note,
//! the contact person), logged on its own or against a collection task. An outcome of
//! `promise_to_pay` records the promise (date, amount, currency), checked from then on against
//! the payments applied.

use super::audit::{entry, snapshot};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::promises::{self, PromiseView};
use super::require;
use crate::db::audit as audit_db;
use crate::db::collections::{self as c_db, ContactEntry, Promise};
use crate::db::customers::{self as customers_db, Customer};
use crate::domain::auth::{Permission, Principal};
use crate::domain::collection::{ContactChannel, ContactOutcome, PromiseStatus};
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct PromiseInput {
    /// The day by which the customer promised to pay.
    pub date: NaiveDate,
    pub amount: String,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ContactLogInput {
    /// phone | email | letter | visit | portal | other
    pub channel: String,
    /// reached | promise_to_pay | refused | wrong_contact | no_answer
    pub outcome: String,
    pub note: Option<String>,
    /// One of the customer's contact persons (`/customers/{code}/contacts`).
    pub contact_id: Option<Uuid>,
    /// Default: today. Payments booked from this day on count toward a promise.
    pub contacted_on: Option<NaiveDate>,
    /// Required when the outcome is promise_to_pay, refused otherwise.
    pub promise: Option<PromiseInput>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ContactLogEntry {
    pub id: Uuid,
    pub customer_code: String,
    pub task_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub channel: String,
    pub outcome: String,
    pub note: Option<String>,
    pub contacted_on: NaiveDate,
    /// Who logged it: user | api_key, and its id.
    pub actor_type: String,
    pub actor_id: String,
    pub created_at: DateTime<Utc>,
    pub promise: Option<PromiseView>,
}

fn view(e: ContactEntry, code: &str, promise: Option<PromiseView>) -> ContactLogEntry {
    ContactLogEntry {
        id: e.id,
        customer_code: code.to_string(),
        task_id: e.task_id,
        contact_id: e.contact_id,
        channel: e.channel.as_str().into(),
        outcome: e.outcome.as_str().into(),
        note: e.note,
        contacted_on: e.contacted_on,
        actor_type: e.actor_type,
        actor_id: e.actor_id,
        created_at: e.created_at,
        promise,
    }
}

/// Logs a contact with the customer.
pub fn log(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    input: ContactLogInput,
) -> AppResult<ContactLogEntry> {
    require(principal, Permission::WriteCollections)?;
    let customer = customers_db::find_by_code_for_update(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found("customer"))?;
    record(conn, principal, &customer, None, input)
}

/// Logs a contact made for a collection task (the task's customer).
pub fn log_for_task(
    conn: &mut PgConnection,
    principal: &Principal,
    task_id: Uuid,
    input: ContactLogInput,
) -> AppResult<ContactLogEntry> {
    require(principal, Permission::WriteCollections)?;
    let task = c_db::task_for_update(conn, principal.tenant_id, task_id)?
        .ok_or_else(|| AppError::not_found("collection task"))?;
    let customer = customers_db::find_by_id(conn, principal.tenant_id, task.customer_id)?;
    record(conn, principal, &customer, Some(task_id), input)
}

fn parse_promise(p: &PromiseInput, contacted_on: NaiveDate) -> AppResult<(Decimal, String)> {
    let cur = Currency::parse(&p.currency).map_err(|e| AppError::invalid("promise.currency", e.to_string()))?;
    let amount = cur.parse_amount(&p.amount).map_err(|e| AppError::invalid("promise.amount", e.to_string()))?;
    if amount <= Decimal::ZERO {
        return Err(AppError::invalid("promise.amount", "must be greater than zero"));
    }
    if p.date < contacted_on {
        return Err(AppError::invalid("promise.date", "must not be before the day of the contact"));
    }
    Ok((amount, cur.code().to_string()))
}

fn record(
    conn: &mut PgConnection,
    principal: &Principal,
    customer: &Customer,
    task_id: Option<Uuid>,
    input: ContactLogInput,
) -> AppResult<ContactLogEntry> {
    let tenant_id = principal.tenant_id;
    let channel = ContactChannel::parse(&input.channel)
        .ok_or_else(|| AppError::invalid("channel", format!("one of {}", ContactChannel::list())))?;
    let outcome = ContactOutcome::parse(&input.outcome)
        .ok_or_else(|| AppError::invalid("outcome", format!("one of {}", ContactOutcome::list())))?;
    let contacted_on = input.contacted_on.unwrap_or_else(|| Utc::now().date_naive());
    let promise = match (outcome, &input.promise) {
        (ContactOutcome::PromiseToPay, Some(p)) => Some((p.date, parse_promise(p, contacted_on)?)),
        (ContactOutcome::PromiseToPay, None) => {
            return Err(AppError::invalid("promise", "required when the outcome is promise_to_pay"))
        }
        (_, Some(_)) => return Err(AppError::invalid("promise", "only with the outcome promise_to_pay")),
        (_, None) => None,
    };
    if input.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(AppError::invalid("note", "at most 4000 characters"));
    }
    if let Some(contact) = input.contact_id {
        let known = crate::db::customer_contacts::of_customer(conn, tenant_id, customer.id)?;
        if !known.iter().any(|c| c.id == contact) {
            return Err(AppError::invalid("contact_id", "not a contact person of this customer"));
        }
    }
    let now = Utc::now();
    let entry_row = ContactEntry {
        id: Uuid::now_v7(),
        tenant_id,
        customer_id: customer.id,
        task_id,
        contact_id: input.contact_id,
        channel,
        outcome,
        note: input.note.filter(|n| !n.trim().is_empty()),
        contacted_on,
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
        created_at: now,
    };
    c_db::insert_contact(conn, &entry_row)?;
    let promise = match promise {
        Some((date, (amount, currency))) => {
            let p = Promise {
                id: Uuid::now_v7(),
                tenant_id,
                customer_id: customer.id,
                contact_log_id: entry_row.id,
                made_on: contacted_on,
                promised_date: date,
                amount,
                currency,
                status: PromiseStatus::Pending,
                paid_amount: Decimal::ZERO,
                resolved_at: None,
                created_at: now,
            };
            c_db::insert_promise(conn, &p)?;
            Some(p)
        }
        None => None,
    };
    let v = view(entry_row, &customer.code, promise.as_ref().map(|p| promises::view(p, &customer.code)));
    let mut e = entry(principal, "contact.logged", "customer", &customer.code);
    e.after = snapshot(&v);
    audit_db::append(conn, tenant_id, vec![e])?;
    Ok(v)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactLogQuery {
    /// Page size (default 50, capped at 500).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A customer's contact log, newest first, each entry with its promise.
pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    q: ContactLogQuery,
) -> AppResult<Page<ContactLogEntry>> {
    require(principal, Permission::Read)?;
    let customer =
        customers_db::find_by_code(conn, principal.tenant_id, code).map_err(|_| AppError::not_found("customer"))?;
    let limit = effective_limit(q.limit, 500)?;
    let rows = c_db::contacts_of(conn, principal.tenant_id, customer.id, parse_cursor(q.cursor.as_deref())?, limit)?;
    let promises: HashMap<Uuid, Promise> =
        c_db::promises_of(conn, principal.tenant_id, customer.id)?.into_iter().map(|p| (p.contact_log_id, p)).collect();
    Ok(page(
        rows,
        limit,
        |r| r.id,
        |r| {
            let p = promises.get(&r.id).map(|p| promises::view(p, &customer.code));
            view(r, &customer.code, p)
        },
    ))
}
