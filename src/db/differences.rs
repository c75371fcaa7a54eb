//! Differences found by statement reconciliation, their comment threads and the customer's
//! balance confirmations.

use super::schema::{balance_confirmations, customers, difference_comments, differences};
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::difference_cause::{Cause, CauseSource, SubCause};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = differences)]
pub struct Difference {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub statement_id: Uuid,
    pub kind: DifferenceKind,
    pub status: DifferenceStatus,
    pub our_document_id: Option<Uuid>,
    pub our_ref: Option<String>,
    pub their_ref: Option<String>,
    pub our_amount: Option<Decimal>,
    pub their_amount: Option<Decimal>,
    pub currency: String,
    pub our_date: Option<NaiveDate>,
    pub their_date: Option<NaiveDate>,
    pub explanation: String,
    pub balance_effect: Decimal,
    pub fingerprint: String,
    pub resolution_note: Option<String>,
    pub adjustment_document_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cause: Option<Cause>,
    pub sub_cause: Option<SubCause>,
    pub cause_source: Option<CauseSource>,
    pub cause_explanation: Option<String>,
}

/// A difference with its customer's code.
pub type DifferenceWithCustomer = (Difference, String);

#[derive(Debug, Default, Clone)]
pub struct DifferenceFilter {
    pub customer_id: Option<Uuid>,
    pub statement_id: Option<Uuid>,
    pub statuses: Vec<DifferenceStatus>,
    pub kind: Option<DifferenceKind>,
    pub cause: Option<Cause>,
    pub sub_cause: Option<SubCause>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn insert_many(conn: &mut PgConnection, rows: &[Difference]) -> QueryResult<()> {
    for chunk in rows.chunks(2500) {
        diesel::insert_into(differences::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

/// Fingerprints of the customer's differences still being worked on.
pub fn active_fingerprints(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> QueryResult<Vec<(Uuid, String, String)>> {
    differences::table
        .filter(differences::tenant_id.eq(tenant_id))
        .filter(differences::customer_id.eq(customer_id))
        .filter(differences::status.ne_all([DifferenceStatus::Resolved, DifferenceStatus::Cancelled]))
        .select((differences::id, differences::fingerprint, differences::status))
        .load(conn)
}

/// Open (not yet sent) differences of the customer found by statements of exactly this period.
pub fn open_of_period(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<Vec<(Uuid, String)>> {
    use super::schema::customer_statements;
    differences::table
        .inner_join(customer_statements::table)
        .filter(differences::tenant_id.eq(tenant_id))
        .filter(customer_statements::tenant_id.eq(tenant_id))
        .filter(differences::customer_id.eq(customer_id))
        .filter(differences::status.eq(DifferenceStatus::Open))
        .filter(customer_statements::period_from.is_not_distinct_from(from))
        .filter(customer_statements::period_to.is_not_distinct_from(to))
        .select((differences::id, differences::fingerprint))
        .load(conn)
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &DifferenceFilter,
) -> QueryResult<Vec<DifferenceWithCustomer>> {
    let mut q = differences::table
        .inner_join(customers::table)
        .filter(differences::tenant_id.eq(tenant_id))
        .filter(customers::tenant_id.eq(tenant_id))
        .select((Difference::as_select(), customers::code))
        .order(differences::id)
        .limit(f.limit)
        .into_boxed();
    if let Some(c) = f.customer_id {
        q = q.filter(differences::customer_id.eq(c));
    }
    if let Some(s) = f.statement_id {
        q = q.filter(differences::statement_id.eq(s));
    }
    if !f.statuses.is_empty() {
        q = q.filter(differences::status.eq_any(f.statuses.clone()));
    }
    if let Some(k) = f.kind {
        q = q.filter(differences::kind.eq(k));
    }
    if let Some(c) = f.cause {
        q = q.filter(differences::cause.eq(c));
    }
    if let Some(c) = f.sub_cause {
        q = q.filter(differences::sub_cause.eq(c));
    }
    if let Some(a) = f.after {
        q = q.filter(differences::id.gt(a));
    }
    q.load(conn)
}

/// A difference's cause, sub-cause, who set it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseFields {
    pub cause: Option<Cause>,
    pub sub_cause: Option<SubCause>,
    pub source: Option<CauseSource>,
    pub explanation: Option<String>,
}

pub fn set_cause(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, c: &CauseFields) -> QueryResult<()> {
    diesel::update(differences::table.filter(differences::tenant_id.eq(tenant_id)).filter(differences::id.eq(id)))
        .set((
            differences::cause.eq(c.cause),
            differences::sub_cause.eq(c.sub_cause),
            differences::cause_source.eq(c.source),
            differences::cause_explanation.eq(c.explanation.as_deref()),
            differences::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// (cause, sub-cause, count); None: not classified.
pub type CauseCountRow = (Option<Cause>, Option<SubCause>, i64);

/// Differences per cause and sub-cause (None: not classified), optionally of one customer and
/// one status set.
pub fn counts_by_cause(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Option<Uuid>,
    statuses: &[DifferenceStatus],
) -> QueryResult<Vec<CauseCountRow>> {
    use diesel::dsl::count_star;
    let mut q = differences::table
        .filter(differences::tenant_id.eq(tenant_id))
        .group_by((differences::cause, differences::sub_cause))
        .select((differences::cause, differences::sub_cause, count_star()))
        .into_boxed();
    if let Some(c) = customer_id {
        q = q.filter(differences::customer_id.eq(c));
    }
    if !statuses.is_empty() {
        q = q.filter(differences::status.eq_any(statuses.to_vec()));
    }
    q.load(conn)
}

/// Locks the difference row (not its customer) for a status change.
pub fn find_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<DifferenceWithCustomer> {
    let d: Difference = differences::table
        .filter(differences::tenant_id.eq(tenant_id))
        .filter(differences::id.eq(id))
        .select(Difference::as_select())
        .for_update()
        .first(conn)?;
    let code = customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(d.customer_id))
        .select(customers::code)
        .first(conn)?;
    Ok((d, code))
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<DifferenceWithCustomer> {
    differences::table
        .inner_join(customers::table)
        .filter(differences::tenant_id.eq(tenant_id))
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(differences::id.eq(id))
        .select((Difference::as_select(), customers::code))
        .first(conn)
}

pub fn set_status(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    status: DifferenceStatus,
    resolution_note: Option<&str>,
    adjustment_document_id: Option<Uuid>,
) -> QueryResult<()> {
    diesel::update(differences::table.filter(differences::tenant_id.eq(tenant_id)).filter(differences::id.eq(id)))
        .set((
            differences::status.eq(status),
            differences::resolution_note.eq(resolution_note),
            differences::adjustment_document_id.eq(adjustment_document_id),
            differences::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn cancel_many(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid], note: &str) -> QueryResult<usize> {
    diesel::update(differences::table.filter(differences::tenant_id.eq(tenant_id)).filter(differences::id.eq_any(ids)))
        .set((
            differences::status.eq(DifferenceStatus::Cancelled),
            differences::resolution_note.eq(note),
            differences::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = difference_comments)]
pub struct Comment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub difference_id: Uuid,
    pub author_type: String,
    pub author_id: String,
    pub body: String,
    pub attachments: Value,
    pub status_change: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn insert_comment(conn: &mut PgConnection, c: &Comment) -> QueryResult<()> {
    diesel::insert_into(difference_comments::table).values(c).execute(conn)?;
    Ok(())
}

pub fn comments(conn: &mut PgConnection, tenant_id: Uuid, difference_id: Uuid) -> QueryResult<Vec<Comment>> {
    difference_comments::table
        .filter(difference_comments::tenant_id.eq(tenant_id))
        .filter(difference_comments::difference_id.eq(difference_id))
        .select(Comment::as_select())
        .order((difference_comments::created_at, difference_comments::id))
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = balance_confirmations)]
pub struct BalanceConfirmation {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub as_of: NaiveDate,
    pub balances: Value,
    pub comment: Option<String>,
    pub confirmed_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn insert_confirmation(conn: &mut PgConnection, c: &BalanceConfirmation) -> QueryResult<()> {
    diesel::insert_into(balance_confirmations::table).values(c).execute(conn)?;
    Ok(())
}

pub fn confirmations(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> QueryResult<Vec<BalanceConfirmation>> {
    balance_confirmations::table
        .filter(balance_confirmations::tenant_id.eq(tenant_id))
        .filter(balance_confirmations::customer_id.eq(customer_id))
        .select(BalanceConfirmation::as_select())
        .order(balance_confirmations::id.desc())
        .limit(100)
        .load(conn)
}
