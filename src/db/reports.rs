//! Report queries: computed in SQL over the whole open book, never by loading documents.
//!
//! "As of" a date is reproducible from history without snapshots: a document's open amount on
//! day D is its open amount now, plus what was applied to it by bank lines booked after D and
//! written off after D. Documents issued after D do not exist yet on D; a document cancelled
//! after D was still open on D, for its whole amount (only untouched documents can be cancelled).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Which documents a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The tenant's whole book: later payments and write-offs are summed once and joined.
    Book,
    /// The customers of `$5` (a uuid[]): every part starts from their documents (the customer
    /// index), so the query reads those customers' rows only.
    Customers,
}

/// Open items as of `$2` for tenant `$1` (and the customers of `$5` in [`Scope::Customers`]):
/// customer, currency, signed open amount (what the customer owes: credit notes and unapplied
/// payments negative) and age in days (`$3`: by due date, else issue date; credits are aged by
/// issue date). CTEs `later_alloc`, `later_wo` and `items`.
pub(crate) fn open_as_of(scope: Scope) -> String {
    let (alloc_from, wo_from, customers) = match scope {
        Scope::Book => ("allocations a", "write_offs w", ""),
        Scope::Customers => (
            "documents ad JOIN allocations a ON a.tenant_id = ad.tenant_id AND a.document_id = ad.id \
               AND ad.customer_id = ANY($5)",
            "documents wd JOIN write_offs w ON w.tenant_id = wd.tenant_id AND w.document_id = wd.id \
               AND wd.customer_id = ANY($5)",
            "AND d.customer_id = ANY($5)",
        ),
    };
    format!(
        "later_alloc AS ( \
           SELECT a.document_id, sum(a.amount) AS amount \
             FROM {alloc_from} JOIN bank_lines l ON l.id = a.bank_line_id \
            WHERE a.tenant_id = $1 AND a.state IN ('auto_applied', 'confirmed') AND l.booking_date > $2 \
            GROUP BY a.document_id), \
         later_wo AS ( \
           SELECT w.document_id, sum(w.amount) AS amount FROM {wo_from} \
            WHERE w.tenant_id = $1 AND w.reversed_at IS NULL AND w.created_at::date > $2 \
            GROUP BY w.document_id), \
         items AS ( \
           SELECT d.customer_id, d.currency::text AS currency, \
                  $2::date - CASE WHEN $3 AND d.doc_type IN ('invoice', 'adjustment') \
                                  THEN coalesce(d.due_date, d.issue_date) ELSE d.issue_date END AS age, \
                  CASE WHEN d.doc_type IN ('invoice', 'adjustment') THEN 1 ELSE -1 END \
                    * CASE WHEN d.status = 'cancelled' THEN d.amount \
                           ELSE d.open_amount + coalesce(la.amount, 0) + coalesce(lw.amount, 0) END AS open \
             FROM documents d \
             LEFT JOIN later_alloc la ON la.document_id = d.id \
             LEFT JOIN later_wo lw ON lw.document_id = d.id \
            WHERE d.tenant_id = $1 {customers} AND d.issue_date <= $2 \
              AND (d.status <> 'cancelled' OR d.cancelled_at::date > $2))"
    )
}

#[derive(Debug, Clone, QueryableByName)]
pub struct AgingCell {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = Text)]
    pub customer_name: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// 0 = current (not yet due), 1.. = the overdue buckets in order.
    #[diesel(sql_type = Integer)]
    pub bucket: i32,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
    #[diesel(sql_type = BigInt)]
    pub items: i64,
}

/// Sums of open amounts per customer, currency and bucket. `lower_bounds`: the first day of
/// each overdue bucket (e.g. [1, 31, 61, 91]); ages below the first are "current".
pub fn aging(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    by_due_date: bool,
    lower_bounds: &[i32],
    customer_id: Option<Uuid>,
) -> QueryResult<Vec<AgingCell>> {
    let scope = if customer_id.is_some() { Scope::Customers } else { Scope::Book };
    diesel::sql_query(format!(
        "WITH {}, \
         cells AS ( \
           SELECT customer_id, currency, width_bucket(age, $4::int[]) AS bucket, sum(open) AS amount, count(*) AS items \
             FROM items WHERE open <> 0 \
            GROUP BY customer_id, currency, width_bucket(age, $4::int[])) \
         SELECT c.id AS customer_id, c.code AS customer_code, c.name AS customer_name, cells.currency, \
                cells.bucket, cells.amount, cells.items \
           FROM cells JOIN customers c ON c.id = cells.customer_id \
          ORDER BY c.code, cells.currency, cells.bucket",
        open_as_of(scope)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Bool, _>(by_due_date)
    .bind::<Array<Integer>, _>(lower_bounds)
    .bind::<Array<SqlUuid>, _>(customer_id.into_iter().collect::<Vec<_>>())
    .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct CollectionRow {
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = Text)]
    pub customer_name: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Open receivables as of the date (what the customer owes).
    #[diesel(sql_type = Numeric)]
    pub receivables: Decimal,
    /// The part of it past due.
    #[diesel(sql_type = Numeric)]
    pub overdue: Decimal,
    /// Invoices issued in the window (credit sales).
    #[diesel(sql_type = Numeric)]
    pub sales: Decimal,
    /// Collected in the window: bank payments applied (by booking date) and payment documents.
    #[diesel(sql_type = Numeric)]
    pub collected: Decimal,
}

/// Receivables, overdue, sales and collections per customer and currency for the `days`
/// ending on `as_of` (inclusive).
pub fn collections(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    days: i32,
) -> QueryResult<Vec<CollectionRow>> {
    diesel::sql_query(format!(
        "WITH {OPEN_AS_OF}, \
         open_sum AS ( \
           SELECT customer_id, currency, sum(open) AS receivables, \
                  sum(open) FILTER (WHERE age > 0) AS overdue \
             FROM items WHERE open <> 0 GROUP BY customer_id, currency), \
         sales AS ( \
           SELECT customer_id, currency::text AS currency, sum(amount) AS sales FROM documents \
            WHERE tenant_id = $1 AND doc_type = 'invoice' \
              AND (status <> 'cancelled' OR cancelled_at::date > $2) \
              AND issue_date > $2::date - $4 AND issue_date <= $2 \
            GROUP BY customer_id, currency), \
         collected AS ( \
           SELECT customer_id, currency, sum(amount) AS collected FROM ( \
             SELECT d.customer_id, d.currency::text AS currency, a.amount \
               FROM allocations a JOIN bank_lines l ON l.id = a.bank_line_id JOIN documents d ON d.id = a.document_id \
              WHERE a.tenant_id = $1 AND a.state IN ('auto_applied', 'confirmed') \
                AND l.booking_date > $2::date - $4 AND l.booking_date <= $2 \
             UNION ALL \
             SELECT customer_id, currency::text, amount FROM documents \
              WHERE tenant_id = $1 AND doc_type = 'payment' AND status <> 'cancelled' \
                AND issue_date > $2::date - $4 AND issue_date <= $2) x \
            GROUP BY customer_id, currency), \
         keys AS (SELECT customer_id, currency FROM open_sum UNION SELECT customer_id, currency FROM sales \
                  UNION SELECT customer_id, currency FROM collected) \
         SELECT c.code AS customer_code, c.name AS customer_name, k.currency, \
                coalesce(o.receivables, 0) AS receivables, coalesce(o.overdue, 0) AS overdue, \
                coalesce(s.sales, 0) AS sales, coalesce(co.collected, 0) AS collected \
           FROM keys k JOIN customers c ON c.id = k.customer_id \
           LEFT JOIN open_sum o ON o.customer_id = k.customer_id AND o.currency = k.currency \
           LEFT JOIN sales s ON s.customer_id = k.customer_id AND s.currency = k.currency \
           LEFT JOIN collected co ON co.customer_id = k.customer_id AND co.currency = k.currency \
          ORDER BY c.code, k.currency"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Bool, _>(true)
    .bind::<Integer, _>(days)
    .load(conn)
}

/// The latest rate per currency into `to`, valid on or before `on`.
pub fn rates_into(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    to: &str,
    on: NaiveDate,
) -> QueryResult<Vec<(String, Decimal)>> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(sql_type = Text)]
        from_currency: String,
        #[diesel(sql_type = Numeric)]
        rate: Decimal,
    }
    let rows: Vec<R> = diesel::sql_query(
        "SELECT DISTINCT ON (from_currency) from_currency::text AS from_currency, rate FROM fx_rates \
          WHERE tenant_id = $1 AND to_currency = $2 AND valid_on <= $3 \
          ORDER BY from_currency, valid_on DESC",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(to)
    .bind::<Date, _>(on)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.from_currency, r.rate)).collect())
}
