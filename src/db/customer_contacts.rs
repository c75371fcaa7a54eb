use super::schema::customer_contacts;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// A contact of a customer as stored: `name`, `email`, `phone` and `address_lines` are sealed
/// when the tenant encrypts customer data.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_contacts, treat_none_as_null = true)]
pub struct Contact {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address_lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub for_statements: bool,
    pub for_dunning: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn insert_many(conn: &mut PgConnection, rows: &[Contact]) -> QueryResult<()> {
    // 15 columns per row, below PostgreSQL's 65,535 bind parameters per statement.
    for chunk in rows.chunks(4000) {
        diesel::insert_into(customer_contacts::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut PgConnection, c: &Contact) -> QueryResult<()> {
    diesel::update(customer_contacts::table)
        .filter(customer_contacts::tenant_id.eq(c.tenant_id))
        .filter(customer_contacts::id.eq(c.id))
        .set(c)
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(customer_contacts::table)
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .filter(customer_contacts::id.eq(id))
        .execute(conn)
}

/// Every contact of the customer, locked: a change of who receives statements or dunning
/// letters moves the flag off another contact in the same transaction.
pub fn of_customer_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> QueryResult<Vec<Contact>> {
    customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .filter(customer_contacts::customer_id.eq(customer_id))
        .order(customer_contacts::id.asc())
        .select(Contact::as_select())
        .for_update()
        .load(conn)
}

pub fn of_customer(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Vec<Contact>> {
    customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .filter(customer_contacts::customer_id.eq(customer_id))
        .order(customer_contacts::id.asc())
        .select(Contact::as_select())
        .load(conn)
}

/// Clears a flag on the customer's contacts (before another contact takes it).
pub fn clear_purpose(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, statements: bool) -> QueryResult<()> {
    let q = customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .filter(customer_contacts::customer_id.eq(customer_id));
    if statements {
        diesel::update(q.filter(customer_contacts::for_statements))
            .set(customer_contacts::for_statements.eq(false))
            .execute(conn)?;
    } else {
        diesel::update(q.filter(customer_contacts::for_dunning))
            .set(customer_contacts::for_dunning.eq(false))
            .execute(conn)?;
    }
    Ok(())
}

/// Erasure: every contact of the customer goes; returns how many.
pub fn delete_of_customer(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<usize> {
    diesel::delete(customer_contacts::table)
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .filter(customer_contacts::customer_id.eq(customer_id))
        .execute(conn)
}

/// Every contact of the tenant (a tenant import seals them once).
pub fn of_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Contact>> {
    customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant_id))
        .order(customer_contacts::id.asc())
        .select(Contact::as_select())
        .load(conn)
}
