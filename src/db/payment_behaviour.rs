//! The payments a customer made: applied allocations of bank lines to its invoices, dated by the
//! bank line's booking date (the input of `domain::payment_behaviour`).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Nullable, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, QueryableByName)]
pub struct PaymentRow {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub invoice_id: Uuid,
    #[diesel(sql_type = Text)]
    pub doc_no: String,
    #[diesel(sql_type = Date)]
    pub issue_date: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub due_date: Option<NaiveDate>,
    #[diesel(sql_type = Date)]
    pub paid_on: NaiveDate,
    #[diesel(sql_type = SqlUuid)]
    pub bank_line_id: Uuid,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// The payments of the customers' invoices booked up to `as_of` on invoices that were paid
/// (at least in part) after `since`: the earlier payments of those invoices come along, so a
/// caller sees whether an invoice took several payments. Oldest first.
pub fn payments(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    since: NaiveDate,
    as_of: NaiveDate,
) -> QueryResult<Vec<PaymentRow>> {
    diesel::sql_query(
        "WITH paid AS ( \
           SELECT d.id, d.customer_id, d.doc_no, d.issue_date, d.due_date, d.currency::text AS currency \
             FROM documents d \
            WHERE d.tenant_id = $1 AND d.customer_id = ANY($2) AND d.doc_type = 'invoice' AND d.status <> 'cancelled' \
              AND EXISTS (SELECT 1 FROM allocations a JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
                           WHERE a.tenant_id = $1 AND a.document_id = d.id AND a.state IN ('auto_applied', 'confirmed') \
                             AND l.booking_date > $3 AND l.booking_date <= $4)) \
         SELECT p.customer_id, p.id AS invoice_id, p.doc_no, p.issue_date, p.due_date, l.booking_date AS paid_on, \
                a.bank_line_id, p.currency, a.amount \
           FROM paid p \
           JOIN allocations a ON a.tenant_id = $1 AND a.document_id = p.id AND a.state IN ('auto_applied', 'confirmed') \
           JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
          WHERE l.booking_date <= $4 \
          ORDER BY l.booking_date, p.doc_no, a.bank_line_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(customer_ids)
    .bind::<Date, _>(since)
    .bind::<Date, _>(as_of)
    .load(conn)
}
