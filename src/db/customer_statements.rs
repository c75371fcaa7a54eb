//! Customer statements, their lines, and our side of the comparison (documents, applied bank
//! payments and write-offs of one customer).

use super::schema::{customer_statement_lines, customer_statements};
use crate::domain::document::DocType;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Nullable, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_statements)]
pub struct CustomerStatement {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub source: String,
    pub lines_count: i32,
    pub matched_count: i32,
    pub differences_count: i32,
    pub date_tolerance_days: i32,
    pub balances: Value,
    pub received_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    /// How the file was read (JSON array of sentences).
    pub notes: Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_statement_lines)]
pub struct CustomerStatementLine {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub statement_id: Uuid,
    pub line_no: i32,
    pub their_ref: String,
    pub our_ref: Option<String>,
    pub entry_date: NaiveDate,
    pub kind: DocType,
    pub amount: Decimal,
    pub currency: String,
    pub matched_ref: Option<String>,
    pub match_rule: Option<String>,
    pub text: String,
    pub kind_inferred: bool,
    pub match_explanation: Option<String>,
}

pub fn insert(
    conn: &mut PgConnection,
    statement: &CustomerStatement,
    lines: &[CustomerStatementLine],
) -> QueryResult<()> {
    diesel::insert_into(customer_statements::table).values(statement).execute(conn)?;
    // 15 bind parameters per row: well under PostgreSQL's 65535 per statement.
    for chunk in lines.chunks(4000) {
        diesel::insert_into(customer_statement_lines::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<CustomerStatement> {
    customer_statements::table
        .filter(customer_statements::tenant_id.eq(tenant_id))
        .filter(customer_statements::id.eq(id))
        .select(CustomerStatement::as_select())
        .first(conn)
}

pub fn list_for_customer(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CustomerStatement>> {
    let mut q = customer_statements::table
        .filter(customer_statements::tenant_id.eq(tenant_id))
        .filter(customer_statements::customer_id.eq(customer_id))
        .select(CustomerStatement::as_select())
        .order(customer_statements::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(customer_statements::id.lt(a));
    }
    q.load(conn)
}

/// A page of a statement's lines in file order, after line `after_line_no`.
pub fn lines(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    statement_id: Uuid,
    after_line_no: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<CustomerStatementLine>> {
    customer_statement_lines::table
        .filter(customer_statement_lines::tenant_id.eq(tenant_id))
        .filter(customer_statement_lines::statement_id.eq(statement_id))
        .filter(customer_statement_lines::line_no.gt(after_line_no.unwrap_or(i32::MIN)))
        .select(CustomerStatementLine::as_select())
        .order(customer_statement_lines::line_no)
        .limit(limit)
        .load(conn)
}

/// How many of a statement's lines were compared (the others were ignored as unreadable).
pub fn count_lines(conn: &mut PgConnection, tenant_id: Uuid, statement_id: Uuid) -> QueryResult<i64> {
    customer_statement_lines::table
        .filter(customer_statement_lines::tenant_id.eq(tenant_id))
        .filter(customer_statement_lines::statement_id.eq(statement_id))
        .count()
        .get_result(conn)
}

/// One item of our books as the comparison sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct OurItemRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub document_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub kind: DocType,
    #[diesel(sql_type = Text)]
    pub doc_no: String,
    #[diesel(sql_type = Date)]
    pub item_date: NaiveDate,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub reference: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    pub settles: Vec<String>,
}

/// Our side for some customers (`$2`) and a period: ledger documents (not cancelled), bank
/// payments applied to the customers' documents (one item per bank line, customer and currency)
/// and write-offs. Dates: issue date, booking date, write-off date. Every part starts from the
/// customers' documents (the customer index), so it reads those customers' rows only.
const OUR_ITEMS: &str = "\
    SELECT d.customer_id, d.id AS document_id, d.doc_type AS kind, d.doc_no, d.issue_date AS item_date, d.amount, \
           d.currency::text AS currency, d.external_reference AS reference, ARRAY[]::text[] AS settles \
      FROM documents d \
     WHERE d.tenant_id = $1 AND d.customer_id = ANY($2) AND d.status <> 'cancelled' \
       AND ($3::date IS NULL OR d.issue_date >= $3) AND ($4::date IS NULL OR d.issue_date <= $4) \
    UNION ALL \
    SELECT d.customer_id, NULL, 'payment', 'bank line ' || coalesce(l.bank_reference, l.id::text), l.booking_date, \
           sum(a.amount), d.currency::text, l.end_to_end_id, array_agg(d.doc_no ORDER BY d.doc_no) \
      FROM documents d JOIN allocations a ON a.tenant_id = d.tenant_id AND a.document_id = d.id \
      JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
     WHERE d.tenant_id = $1 AND d.customer_id = ANY($2) AND a.state IN ('auto_applied', 'confirmed') \
       AND ($3::date IS NULL OR l.booking_date >= $3) AND ($4::date IS NULL OR l.booking_date <= $4) \
     GROUP BY d.customer_id, l.id, l.bank_reference, l.booking_date, l.end_to_end_id, d.currency \
    UNION ALL \
    SELECT d.customer_id, NULL, 'adjustment', 'write-off (' || w.reason || ') on ' || d.doc_no, w.created_at::date, \
           -w.amount, w.currency::text, NULL, ARRAY[d.doc_no] \
      FROM documents d JOIN write_offs w ON w.tenant_id = d.tenant_id AND w.document_id = d.id \
     WHERE d.tenant_id = $1 AND d.customer_id = ANY($2) AND w.reversed_at IS NULL \
       AND ($3::date IS NULL OR w.created_at::date >= $3) AND ($4::date IS NULL OR w.created_at::date <= $4) \
     ORDER BY customer_id, item_date, doc_no";

/// One of [`our_items_of_customers`]' rows: whose item it is, and the item.
#[derive(Debug, Clone, QueryableByName)]
pub struct CustomerItemRow {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(embed)]
    pub item: OurItemRow,
}

/// Our side for one customer and period (see [`OUR_ITEMS`]), by date.
pub fn our_items(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<Vec<OurItemRow>> {
    Ok(our_items_of_customers(conn, tenant_id, &[customer_id], from, to)?.into_iter().map(|r| r.item).collect())
}

/// Our side for several customers at once (see [`OUR_ITEMS`]), by customer id, then date.
pub fn our_items_of_customers(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<Vec<CustomerItemRow>> {
    diesel::sql_query(OUR_ITEMS)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(customer_ids)
        .bind::<Nullable<Date>, _>(from)
        .bind::<Nullable<Date>, _>(to)
        .load(conn)
}
