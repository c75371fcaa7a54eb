use super::schema::customers;
use crate::domain::customer::CustomerStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Queryable, QueryableByName, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
pub struct Customer {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub country: Option<String>,
    pub bank_accounts: Vec<String>,
    pub email: Option<String>,
    pub default_currency: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub credit_limit: Option<Decimal>,
    pub status: CustomerStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The user who looks after the customer (collection tasks go to them).
    pub owner_user_id: Option<Uuid>,
}

#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    pub code: Option<String>,
    pub name: Option<String>,
    pub status: Option<CustomerStatus>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn insert_many(conn: &mut PgConnection, rows: &[Customer]) -> QueryResult<()> {
    // PostgreSQL allows 65535 bind parameters per statement; 15 columns per row.
    for chunk in rows.chunks(2000) {
        diesel::insert_into(customers::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut PgConnection, customer: &Customer) -> QueryResult<()> {
    diesel::update(customers::table)
        .filter(customers::tenant_id.eq(customer.tenant_id))
        .filter(customers::id.eq(customer.id))
        .set(customer)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_code(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> QueryResult<Customer> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::code.eq(code))
        .select(Customer::as_select())
        .first(conn)
}

pub fn find_by_id(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Customer> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(id))
        .select(Customer::as_select())
        .first(conn)
}

/// Locks the row for the rest of the transaction: updates read-modify-write it.
pub fn find_by_code_for_update(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> QueryResult<Customer> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::code.eq(code))
        .select(Customer::as_select())
        .for_update()
        .first(conn)
}

/// The given customers, locked for an upsert of their rows.
pub fn find_by_codes(conn: &mut PgConnection, tenant_id: Uuid, codes: &[String]) -> QueryResult<Vec<Customer>> {
    find_by_codes_locked(conn, tenant_id, codes, "FOR UPDATE OF c")
}

/// The given customers, locked only against deletion and key changes: for rows that will refer
/// to them (documents). That is the lock a document insert's foreign key check takes; an
/// exclusive lock here would deadlock with a concurrent insert of the same document, whose check
/// waits for this lock while this import waits for that insert's unique key.
pub fn find_by_codes_key_share(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    codes: &[String],
) -> QueryResult<Vec<Customer>> {
    find_by_codes_locked(conn, tenant_id, codes, "FOR KEY SHARE OF c")
}

fn find_by_codes_locked(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    codes: &[String],
    lock: &str,
) -> QueryResult<Vec<Customer>> {
    let mut found = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(10_000) {
        // Joined, not `code = ANY($2)`: see documents::find_by_keys_for_update (a generic plan
        // can test every row against the whole array).
        found.extend(
            diesel::sql_query(format!(
                "SELECT c.* FROM customers c JOIN unnest($2::text[]) AS k(code) ON c.code = k.code \
                 WHERE c.tenant_id = $1 {lock}"
            ))
            .bind::<diesel::sql_types::Uuid, _>(tenant_id)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(chunk)
            .load::<Customer>(conn)?,
        );
    }
    Ok(found)
}

/// Codes of the given customers (ids of other tenants are ignored), joined like [`find_by_codes`].
pub fn codes_by_ids(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, String)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT c.id, c.code FROM customers c JOIN unnest($2::uuid[]) AS k(id) ON c.id = k.id WHERE c.tenant_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.code)).collect())
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, filter: &CustomerFilter) -> QueryResult<Vec<Customer>> {
    let mut query =
        customers::table.filter(customers::tenant_id.eq(tenant_id)).select(Customer::as_select()).into_boxed();
    if let Some(code) = &filter.code {
        query = query.filter(customers::code.eq(code.clone()));
    }
    if let Some(name) = &filter.name {
        query = query.filter(customers::name.ilike(super::like_pattern(name)));
    }
    if let Some(status) = filter.status {
        query = query.filter(customers::status.eq(status));
    }
    if let Some(after) = filter.after {
        query = query.filter(customers::id.gt(after));
    }
    query.order(customers::id.asc()).limit(filter.limit).load(conn)
}
