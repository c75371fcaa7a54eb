//! The credit check an ERP asks before taking an order: allowed or not, why, and the figures
//! (limit, open exposure, what is available).

use super::credit_policy::{find_customer, limit_currency, policy_or_empty};
use super::require;
use crate::db::documents as documents_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::credit::{self, Refusal};
use crate::domain::document::balance_effect;
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreditCheckQuery {
    /// The order's amount (a positive decimal in the currency's minor units).
    pub amount: Option<String>,
    /// Must be the currency of the customer's limit (default: that currency).
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreditCheckReason {
    /// on_hold | prepayment_required | limit_exceeded
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreditCheckView {
    pub customer_code: String,
    pub allowed: bool,
    /// Empty when allowed.
    pub reasons: Vec<CreditCheckReason>,
    pub amount: String,
    pub currency: String,
    /// Absent: no limit.
    pub credit_limit: Option<String>,
    /// What the customer owes in this currency now: open invoices and debits minus open credits.
    pub exposure: String,
    /// Limit minus exposure (may be negative); absent without a limit.
    pub available: Option<String>,
}

/// Allowed, or refused with every reason that applies.
pub fn check(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    q: CreditCheckQuery,
) -> AppResult<CreditCheckView> {
    require(principal, Permission::Read)?;
    let customer = find_customer(conn, principal, code)?;
    let currency = limit_currency(conn, &customer)?;
    if let Some(asked) = q.currency.as_deref() {
        if !asked.trim().eq_ignore_ascii_case(&currency) {
            return Err(AppError::invalid(
                "currency",
                format!("the customer's credit is kept in {currency}; ask in {currency}"),
            ));
        }
    }
    let cur = Currency::parse_including_withdrawn(&currency).map_err(|e| AppError::internal(e.to_string()))?;
    let text = q.amount.as_deref().ok_or_else(|| AppError::invalid("amount", "required"))?;
    let amount = cur.parse_amount(text).map_err(|e| AppError::invalid("amount", e.to_string()))?;
    if amount <= Decimal::ZERO {
        return Err(AppError::invalid("amount", "must be greater than zero"));
    }
    let (_, items) = documents_db::customer_open_items(conn, principal.tenant_id, &customer.code)?
        .ok_or_else(|| AppError::not_found("customer"))?;
    let exposure: Decimal =
        items.iter().filter(|d| d.currency == currency).map(|d| balance_effect(d.doc_type, d.open_amount)).sum();
    let policy = policy_or_empty(conn, principal.tenant_id, customer.id)?;
    let limit = customer.credit_limit;
    let refusals = credit::check(policy.hold, policy.prepayment_required, limit, exposure, amount);
    let fmt = |v: Decimal| format_amount(&currency, v);
    let reasons = refusals
        .iter()
        .map(|r| CreditCheckReason {
            code: r.as_str().into(),
            message: match r {
                Refusal::OnHold => {
                    format!("on credit hold: {}", policy.hold_reason.as_deref().unwrap_or("no reason given"))
                }
                Refusal::PrepaymentRequired => "prepayment required".into(),
                Refusal::LimitExceeded => format!(
                    "open exposure {} + order {} = {} exceeds the credit limit {}",
                    fmt(exposure),
                    fmt(amount),
                    fmt(exposure + amount),
                    fmt(limit.unwrap_or_default())
                ),
            },
        })
        .collect();
    Ok(CreditCheckView {
        customer_code: customer.code,
        allowed: refusals.is_empty(),
        reasons,
        amount: fmt(amount),
        credit_limit: limit.map(fmt),
        exposure: fmt(exposure),
        available: limit.map(|l| fmt(l - exposure)),
        currency,
    })
}
