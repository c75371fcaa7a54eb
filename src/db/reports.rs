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

/// Where the allocations, write-offs and documents of a report come from: in
/// [`Scope::Customers`], joined from the documents of the customers of the uuid[] parameter
/// `param`, and the documents' filter.
struct Sources {
    allocations: String,
    write_offs: String,
    documents: String,
    instalments: String,
}

fn sources(scope: Scope, param: &str) -> Sources {
    match scope {
        Scope::Book => Sources {
            allocations: "allocations a".into(),
            write_offs: "write_offs w".into(),
            documents: String::new(),
            instalments: "document_instalments i".into(),
        },
        Scope::Customers => Sources {
            allocations: format!(
                "documents ad JOIN allocations a ON a.tenant_id = ad.tenant_id AND a.document_id = ad.id \
                   AND ad.customer_id = ANY({param})"
            ),
            write_offs: format!(
                "documents wd JOIN write_offs w ON w.tenant_id = wd.tenant_id AND w.document_id = wd.id \
                   AND wd.customer_id = ANY({param})"
            ),
            documents: format!("AND d.customer_id = ANY({param})"),
            instalments: format!(
                "documents idoc JOIN document_instalments i ON i.tenant_id = idoc.tenant_id AND i.document_id = idoc.id \
                   AND idoc.customer_id = ANY({param})"
            ),
        },
    }
}

/// The instalment plans (CTE `plan`): each instalment with the running total of the plan up to
/// it, `cum`. What is open of an instalment when `open` of the document's `amount` is open
/// follows from it (see [`instalment_open`]). Documents without a plan have no row here, so for
/// them a `LEFT JOIN plan` adds a hash probe against a table that is usually tiny.
fn plan_cte(from: &str) -> String {
    format!(
        "plan AS ( \
           SELECT i.document_id, i.seq, i.due_date, i.amount, \
                  sum(i.amount) OVER (PARTITION BY i.document_id ORDER BY i.seq) AS cum \
             FROM {from} WHERE i.tenant_id = $1)"
    )
}

/// What is open of instalment `p` of document `d` when `open` of it is open: what was settled
/// goes to the instalments in order (the SQL twin of `domain::instalments::open_parts`).
fn instalment_open(p: &str, open: &str) -> String {
    format!("least({p}.amount, greatest(0, {p}.cum - d.amount + {open}))")
}

/// The applied allocations of bank lines booked after `$2` (FROM and WHERE, as `a` and `l`).
/// Over the whole book they are found from the lines, through each account's lines by booking
/// date: as of today there are none, and the allocations (a million rows a month, each with its
/// explanation) are not read at all. For given customers they are found from their documents.
fn later_allocations(scope: Scope, alloc_from: &str) -> String {
    let applied = "a.state IN ('auto_applied', 'confirmed')";
    match scope {
        Scope::Book => format!(
            "bank_lines l JOIN allocations a ON a.tenant_id = l.tenant_id AND a.bank_line_id = l.id \
              WHERE l.tenant_id = $1 AND l.booking_date > $2 AND {applied} \
                AND l.bank_account_id = ANY(ARRAY(SELECT id FROM bank_accounts WHERE tenant_id = $1))"
        ),
        Scope::Customers => format!(
            "{alloc_from} JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
              WHERE a.tenant_id = $1 AND {applied} AND l.booking_date > $2"
        ),
    }
}

/// Open items as of `$2` for tenant `$1` (and the customers of `$5` in [`Scope::Customers`]):
/// customer, currency, signed open amount (what the customer owes: credit notes and unapplied
/// payments negative) and age in days (`$3`: by due date, else issue date; credits are aged by
/// issue date). CTEs `later_alloc`, `later_wo`, `plan` and `items`.
///
/// A document with an instalment plan is one item per instalment: what is open of it, aged by
/// its own due date, so an instalment not yet due is not overdue.
///
/// Documents settled before the date (nothing open now, nothing paid or written off later)
/// are left out before any amount is computed: most of a book is settled, and its rows would
/// only add zeros. `OFFSET 0` keeps `items` a subquery of its own, so each row's open amount is
/// computed once, not once per use in the caller's filters and sums.
pub(crate) fn open_as_of(scope: Scope) -> String {
    let Sources { allocations: alloc_from, write_offs: wo_from, documents: customers, instalments } =
        sources(scope, "$5");
    let open = "CASE WHEN d.status = 'cancelled' THEN d.amount \
                ELSE d.open_amount + coalesce(la.amount, 0) + coalesce(lw.amount, 0) END";
    let plan = plan_cte(&instalments);
    let part_open = instalment_open("p", open);
    let later_alloc = later_allocations(scope, &alloc_from);
    format!(
        "later_alloc AS ( \
           SELECT a.document_id, sum(a.amount) AS amount FROM {later_alloc} \
            GROUP BY a.document_id), \
         later_wo AS ( \
           SELECT w.document_id, sum(w.amount) AS amount FROM {wo_from} \
            WHERE w.tenant_id = $1 AND w.reversed_at IS NULL AND w.created_at::date > $2 \
            GROUP BY w.document_id), \
         {plan}, \
         items AS ( \
           SELECT d.customer_id, d.currency::text AS currency, \
                  $2::date - CASE WHEN $3 AND p.document_id IS NOT NULL THEN p.due_date \
                                  WHEN $3 AND d.doc_type IN ('invoice', 'adjustment') \
                                  THEN coalesce(d.due_date, d.issue_date) ELSE d.issue_date END AS age, \
                  CASE WHEN p.document_id IS NOT NULL THEN {part_open} \
                       ELSE CASE WHEN d.doc_type IN ('invoice', 'adjustment') THEN 1 ELSE -1 END * {open} \
                  END AS open \
             FROM documents d \
             LEFT JOIN later_alloc la ON la.document_id = d.id \
             LEFT JOIN later_wo lw ON lw.document_id = d.id \
             LEFT JOIN plan p ON p.document_id = d.id \
            WHERE d.tenant_id = $1 {customers} AND d.issue_date <= $2 \
              AND (d.status <> 'cancelled' OR d.cancelled_at::date > $2) \
              AND (d.open_amount <> 0 OR d.status = 'cancelled' OR la.document_id IS NOT NULL \
                   OR lw.document_id IS NOT NULL) \
           OFFSET 0)"
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

/// Sums of open amounts per customer, currency and bucket (of the given customers only, when given). `lower_bounds`: the first day of
/// each overdue bucket (e.g. [1, 31, 61, 91]); ages below the first are "current".
pub fn aging(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    by_due_date: bool,
    lower_bounds: &[i32],
    customers: Option<&[Uuid]>,
) -> QueryResult<Vec<AgingCell>> {
    let scope = if customers.is_some() { Scope::Customers } else { Scope::Book };
    diesel::sql_query(format!(
        "WITH {}, \
         cells AS ( \
           SELECT customer_id, currency, width_bucket(age, $4::int[]) AS bucket, sum(open) AS amount, count(*) AS items \
             FROM items WHERE open <> 0 \
            GROUP BY customer_id, currency, width_bucket(age, $4::int[])) \
         SELECT c.id AS customer_id, c.code AS customer_code, c.name AS customer_name, cells.currency, \
                cells.bucket, cells.amount, cells.items \
           FROM cells JOIN customers c ON c.tenant_id = $1 AND c.id = cells.customer_id \
          ORDER BY c.code, cells.currency, cells.bucket",
        open_as_of(scope)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Bool, _>(by_due_date)
    .bind::<Array<Integer>, _>(lower_bounds)
    .bind::<Array<SqlUuid>, _>(customers.unwrap_or_default())
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
/// ending on `as_of` (inclusive); the customers of `customers` only, when given.
///
/// One pass over the documents: each document's open amount as of the date (its open amount
/// now plus bank payments booked and write-offs made after the date), its sale or payment in
/// the window and the bank payments applied to it in the window are summed together. A
/// (customer, currency) has a row when it has an open item, a sale or a collection. Documents
/// that can add nothing (settled, issued before the window, no payment in or after it) are left
/// out before any amount is computed; `OFFSET 0` computes each row's amounts once. A document
/// with an instalment plan is a row per instalment (overdue counts the instalments past due);
/// its sale and collections are counted on its first instalment's row only.
pub fn collections(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    days: i32,
    customers: Option<&[Uuid]>,
) -> QueryResult<Vec<CollectionRow>> {
    let scope = if customers.is_some() { Scope::Customers } else { Scope::Book };
    let Sources { allocations: alloc_from, write_offs: wo_from, documents: customer_filter, instalments } =
        sources(scope, "$4");
    let open = "CASE WHEN d.status = 'cancelled' THEN d.amount \
                ELSE d.open_amount + coalesce(p.later, 0) + coalesce(lw.amount, 0) END";
    let plan = plan_cte(&instalments);
    let part_open = instalment_open("ip", open);
    diesel::sql_query(format!(
        "WITH paid AS ( \
           SELECT a.document_id, sum(a.amount) FILTER (WHERE l.booking_date > $2) AS later, \
                  sum(a.amount) FILTER (WHERE l.booking_date <= $2) AS collected, \
                  count(*) FILTER (WHERE l.booking_date <= $2) AS collections \
             FROM {alloc_from} JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
            WHERE a.tenant_id = $1 AND a.state IN ('auto_applied', 'confirmed') AND l.booking_date > $2::date - $3 \
            GROUP BY a.document_id), \
         later_wo AS ( \
           SELECT w.document_id, sum(w.amount) AS amount FROM {wo_from} \
            WHERE w.tenant_id = $1 AND w.reversed_at IS NULL AND w.created_at::date > $2 \
            GROUP BY w.document_id), \
         {plan}, \
         docs AS ( \
           SELECT d.customer_id, d.currency, d.doc_type, d.amount, \
                  CASE WHEN coalesce(ip.seq, 1) = 1 THEN p.collected END AS collected, \
                  coalesce(ip.seq, 1) = 1 AND coalesce(p.collections, 0) > 0 AS has_collections, \
                  coalesce(ip.seq, 1) = 1 AND coalesce(d.issue_date > $2::date - $3 AND d.issue_date <= $2 AND ( \
                    (d.doc_type = 'invoice' AND (d.status <> 'cancelled' OR d.cancelled_at::date > $2)) \
                    OR (d.doc_type = 'payment' AND d.status <> 'cancelled')), false) AS in_window, \
                  CASE WHEN d.issue_date <= $2 AND (d.status <> 'cancelled' OR d.cancelled_at::date > $2) \
                       THEN CASE WHEN ip.document_id IS NOT NULL THEN {part_open} \
                                 ELSE CASE WHEN d.doc_type IN ('invoice', 'adjustment') THEN 1 ELSE -1 END * {open} \
                            END \
                       ELSE 0 END AS open, \
                  CASE WHEN ip.document_id IS NOT NULL THEN ip.due_date \
                       WHEN d.doc_type IN ('invoice', 'adjustment') THEN coalesce(d.due_date, d.issue_date) \
                       ELSE d.issue_date END < $2 AS past_due \
             FROM documents d \
             LEFT JOIN paid p ON p.document_id = d.id \
             LEFT JOIN later_wo lw ON lw.document_id = d.id \
             LEFT JOIN plan ip ON ip.document_id = d.id \
            WHERE d.tenant_id = $1 {customer_filter} \
              AND (d.open_amount <> 0 OR d.status = 'cancelled' OR d.issue_date > $2::date - $3 \
                   OR p.document_id IS NOT NULL OR lw.document_id IS NOT NULL) \
           OFFSET 0), \
         sums AS ( \
           SELECT customer_id, currency, \
                  count(*) FILTER (WHERE open <> 0 OR in_window OR has_collections) AS rows, \
                  coalesce(sum(open) FILTER (WHERE open <> 0), 0) AS receivables, \
                  coalesce(sum(open) FILTER (WHERE open <> 0 AND past_due), 0) AS overdue, \
                  coalesce(sum(amount) FILTER (WHERE in_window AND doc_type = 'invoice'), 0) AS sales, \
                  coalesce(sum(collected), 0) \
                    + coalesce(sum(amount) FILTER (WHERE in_window AND doc_type = 'payment'), 0) AS collected \
             FROM docs GROUP BY customer_id, currency) \
         SELECT c.code AS customer_code, c.name AS customer_name, s.currency::text AS currency, \
                s.receivables, s.overdue, s.sales, s.collected \
           FROM sums s JOIN customers c ON c.tenant_id = $1 AND c.id = s.customer_id \
          WHERE s.rows > 0 \
          ORDER BY c.code, s.currency"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Integer, _>(days)
    .bind::<Array<SqlUuid>, _>(customers.unwrap_or_default())
    .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct OverdueCell {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Numeric)]
    pub overdue: Decimal,
}

/// Per customer and currency, the open amount past due on `as_of` (by due date), as the
/// collection figures count it; what the overdue ranking ranks by.
pub fn overdue(conn: &mut PgConnection, tenant_id: Uuid, as_of: NaiveDate) -> QueryResult<Vec<OverdueCell>> {
    diesel::sql_query(format!(
        "WITH {} \
         SELECT i.customer_id, c.code AS customer_code, i.currency, sum(i.open) AS overdue \
           FROM items i JOIN customers c ON c.tenant_id = $1 AND c.id = i.customer_id \
          WHERE i.open <> 0 AND i.age > 0 \
          GROUP BY i.customer_id, c.code, i.currency",
        open_as_of(Scope::Book)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Bool, _>(true)
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
