//! Credit policies (hold and prepayment with who set them), their change history and the
//! tenant's credit rules.

use super::schema::{credit_policies, credit_policy_changes, credit_rules};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = credit_policies, treat_none_as_null = true)]
pub struct Policy {
    pub customer_id: Uuid,
    pub tenant_id: Uuid,
    pub prepayment_required: bool,
    pub prepayment_set_by: Option<String>,
    pub hold: bool,
    pub hold_reason: Option<String>,
    pub hold_set_by: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub credit_limit_set_by: Option<String>,
    pub credit_limit_before: Option<rust_decimal::Decimal>,
    pub payment_terms_set_by: Option<String>,
    pub payment_terms_before: Option<i32>,
}

impl Policy {
    pub fn empty(tenant_id: Uuid, customer_id: Uuid) -> Policy {
        Policy {
            customer_id,
            tenant_id,
            prepayment_required: false,
            prepayment_set_by: None,
            hold: false,
            hold_reason: None,
            hold_set_by: None,
            updated_at: Utc::now(),
            credit_limit_set_by: None,
            credit_limit_before: None,
            payment_terms_set_by: None,
            payment_terms_before: None,
        }
    }
}

pub fn policy(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Option<Policy>> {
    credit_policies::table
        .filter(credit_policies::tenant_id.eq(tenant_id))
        .filter(credit_policies::customer_id.eq(customer_id))
        .select(Policy::as_select())
        .first(conn)
        .optional()
}

/// The policies of the given customers, locked for their update.
pub fn policies_for_update(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Policy>> {
    credit_policies::table
        .filter(credit_policies::tenant_id.eq(tenant_id))
        .filter(credit_policies::customer_id.eq_any(ids))
        .order(credit_policies::customer_id.asc())
        .select(Policy::as_select())
        .for_update()
        .load(conn)
}

/// Customers whose hold, prepayment, limit or terms a rule or a dunning level set (they may need
/// lifting or restoring).
pub fn set_by_rules(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    credit_policies::table
        .filter(credit_policies::tenant_id.eq(tenant_id))
        .filter(
            credit_policies::hold_set_by
                .ne("user")
                .or(credit_policies::prepayment_set_by.ne("user"))
                .or(credit_policies::credit_limit_set_by.ne("user"))
                .or(credit_policies::payment_terms_set_by.ne("user")),
        )
        .select(credit_policies::customer_id)
        .load(conn)
}

pub fn save_policy(conn: &mut PgConnection, p: &Policy) -> QueryResult<()> {
    diesel::insert_into(credit_policies::table)
        .values(p)
        .on_conflict((credit_policies::customer_id, credit_policies::tenant_id))
        .do_update()
        .set(p)
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credit_policy_changes)]
pub struct Change {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub changes: Value,
    pub explanation: String,
    pub source_type: String,
    pub source_id: String,
    pub run_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub fn insert_changes(conn: &mut PgConnection, rows: &[Change]) -> QueryResult<()> {
    for chunk in rows.chunks(5000) {
        diesel::insert_into(credit_policy_changes::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn changes_of(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, limit: i64) -> QueryResult<Vec<Change>> {
    credit_policy_changes::table
        .filter(credit_policy_changes::tenant_id.eq(tenant_id))
        .filter(credit_policy_changes::customer_id.eq(customer_id))
        .order(credit_policy_changes::id.desc())
        .limit(limit)
        .select(Change::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credit_rules)]
pub struct RuleRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub position: i32,
    pub code: String,
    pub definition: Value,
    pub created_at: DateTime<Utc>,
}

pub fn rules(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<RuleRow>> {
    credit_rules::table
        .filter(credit_rules::tenant_id.eq(tenant_id))
        .order(credit_rules::position.asc())
        .select(RuleRow::as_select())
        .load(conn)
}

pub fn replace_rules(conn: &mut PgConnection, tenant_id: Uuid, rows: &[RuleRow]) -> QueryResult<()> {
    diesel::delete(credit_rules::table.filter(credit_rules::tenant_id.eq(tenant_id))).execute(conn)?;
    diesel::insert_into(credit_rules::table).values(rows).execute(conn)?;
    Ok(())
}

/// A customer's id, credit limit, payment terms and default currency.
pub type CreditTerms = (Uuid, Option<rust_decimal::Decimal>, Option<i32>, Option<String>);

/// The customers' limit and payment terms, with their default currency.
pub fn credit_terms(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<CreditTerms>> {
    use super::schema::customers;
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(ids))
        .select((customers::id, customers::credit_limit, customers::payment_terms_days, customers::default_currency))
        .load(conn)
}

/// The customer's limit and payment terms (kept on the customer, the one place for them).
pub fn set_credit_terms(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    limit: Option<rust_decimal::Decimal>,
    terms: Option<i32>,
) -> QueryResult<()> {
    use super::schema::customers;
    diesel::update(customers::table)
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(customer_id))
        .set((
            customers::credit_limit.eq(limit),
            customers::payment_terms_days.eq(terms),
            customers::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .map(|_| ())
}
