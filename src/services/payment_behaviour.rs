//! A customer's payment behaviour (付款规律) as of a date: the measures and the score of
//! `domain::payment_behaviour` over the customer's applied payments. Read by
//! `GET /customers/{code}/payment-behaviour`, GraphQL, the statement of account, the overdue
//! ranking and the payment-behaviour chart; [`score_of`] is the one call credit rules need.

use super::require;
use crate::db::customers::{self as customers_db, Customer};
use crate::db::payment_behaviour::{self as pb_db, PaymentRow};
use crate::domain::auth::{Permission, Principal};
use crate::domain::money::format_amount;
use crate::domain::payment_behaviour::{self as pb, Measures, Payment, Window};
use crate::error::{AppError, AppResult};
use chrono::{Duration, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pub use crate::domain::payment_behaviour::{PaymentBehaviour, PaymentPoint, ScoreComponent};

/// Default length of the window, in days.
pub const DEFAULT_DAYS: i32 = 365;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BehaviourQuery {
    /// Default: today.
    pub as_of: Option<NaiveDate>,
    /// Length of the window ending on `as_of`: payments booked in it count. Default 365, 30-3660.
    pub days: Option<i32>,
}

pub fn window(q: &BehaviourQuery) -> AppResult<Window> {
    let days = q.days.unwrap_or(DEFAULT_DAYS);
    if !(30..=3660).contains(&days) {
        return Err(AppError::invalid("days", "between 30 and 3660"));
    }
    Ok(Window { as_of: q.as_of.unwrap_or_else(|| Utc::now().date_naive()), days: days as i64 })
}

/// The behaviour of the customer with this code (404 when the tenant has none).
pub fn of_code(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    q: &BehaviourQuery,
) -> AppResult<PaymentBehaviour> {
    require(principal, Permission::Read)?;
    let w = window(q)?;
    let customer =
        customers_db::find_by_code(conn, principal.tenant_id, code).map_err(|_| AppError::not_found("customer"))?;
    of_customer(conn, principal.tenant_id, &customer, w)
}

pub fn of_customer(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    w: Window,
) -> AppResult<PaymentBehaviour> {
    let payments = load(conn, tenant_id, &[customer.id], w)?.remove(&customer.id).unwrap_or_default();
    Ok(view(&customer.code, &payments, w))
}

/// The payment behaviour of several customers taken together (a customer group), named `code`.
pub fn of_customers(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    code: &str,
    customer_ids: &[Uuid],
    w: Window,
) -> AppResult<PaymentBehaviour> {
    let mut payments: Vec<Payment> = load(conn, tenant_id, customer_ids, w)?.into_values().flatten().collect();
    // As one customer's payments come: by payment date, then document.
    payments.sort_by(|a, b| (a.paid_on, &a.doc_no).cmp(&(b.paid_on, &b.doc_no)));
    Ok(view(code, &payments, w))
}

/// The customers' scores as of a date over the default window (365 days), in one query, for
/// credit rules and rankings; a customer without payments in the window has no score and is
/// absent.
pub fn scores_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    as_of: NaiveDate,
) -> AppResult<HashMap<Uuid, Decimal>> {
    let w = Window { as_of, days: DEFAULT_DAYS as i64 };
    Ok(load(conn, tenant_id, customer_ids, w)?
        .into_iter()
        .filter_map(|(id, payments)| {
            let parts = pb::components(&pb::measures(&payments, w))?;
            Some((id, pb::score(&parts)))
        })
        .collect())
}

fn load(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    w: Window,
) -> AppResult<HashMap<Uuid, Vec<Payment>>> {
    let since = w.as_of - Duration::days(w.days);
    let mut out: HashMap<Uuid, Vec<Payment>> = HashMap::new();
    for r in pb_db::payments(conn, tenant_id, customer_ids, since, w.as_of)? {
        out.entry(r.customer_id).or_default().push(payment(r));
    }
    Ok(out)
}

fn payment(r: PaymentRow) -> Payment {
    Payment {
        invoice_id: r.invoice_id,
        doc_no: r.doc_no,
        issue_date: r.issue_date,
        due_date: r.due_date,
        paid_on: r.paid_on,
        bank_line_id: r.bank_line_id,
        currency: r.currency,
        amount: r.amount,
    }
}

fn view(code: &str, payments: &[Payment], w: Window) -> PaymentBehaviour {
    let m: Measures = pb::measures(payments, w);
    let components = pb::components(&m).unwrap_or_default();
    let score = (!components.is_empty()).then(|| pb::score(&components));
    let history = pb::in_window(payments, w)
        .into_iter()
        .map(|p| PaymentPoint {
            paid_on: p.paid_on,
            days_to_pay: p.days_to_pay(),
            days_late: p.days_late(),
            amount: format_amount(&p.currency, p.amount),
            doc_no: p.doc_no,
            currency: p.currency,
        })
        .collect();
    PaymentBehaviour {
        customer_code: code.to_string(),
        as_of: w.as_of,
        days: w.days as i32,
        payments: m.payments,
        invoices_paid: m.invoices_paid,
        avg_days_to_pay: m.avg_days_to_pay,
        avg_days_late: m.avg_days_late,
        recent_avg_days_late: m.recent_avg_days_late,
        previous_avg_days_late: m.previous_avg_days_late,
        days_late_change: m.days_late_change,
        recent_avg_days_to_pay: m.recent_avg_days_to_pay,
        previous_avg_days_to_pay: m.previous_avg_days_to_pay,
        days_to_pay_change: m.days_to_pay_change,
        trend: m.trend.to_string(),
        on_time_share: m.on_time_share,
        partial_payment_share: m.partial_payment_share,
        summary: pb::summary(&m, score),
        score,
        components,
        history,
    }
}
