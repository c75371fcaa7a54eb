//! The customer's balance confirmation (对账确认): it confirms or disputes its balance as of a
//! date through the portal; the tenant lists the confirmations.

use crate::db::audit::{self as audit_db, NewAuditEntry};
use crate::db::customer_statements as st_db;
use crate::db::differences::{self as diff_db, BalanceConfirmation};
use crate::domain::auth::{Permission, PortalPrincipal, Principal};
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult};
use crate::services::events::{self, EventType};
use crate::services::require;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::find_customer;

#[derive(
    Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::InputObject, async_graphql::SimpleObject,
)]
#[graphql(input_name = "ConfirmedBalanceInput")]
#[serde(deny_unknown_fields)]
pub struct ConfirmedBalance {
    pub currency: String,
    /// What the customer owes as of the date, by its books (decimal string).
    pub balance: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfirmationInput {
    pub as_of: NaiveDate,
    pub balances: Vec<ConfirmedBalance>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceComparison {
    pub currency: String,
    pub confirmed: String,
    pub ours: String,
    pub agrees: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceConfirmationView {
    pub id: Uuid,
    pub customer_code: String,
    pub as_of: NaiveDate,
    pub balances: Vec<BalanceComparison>,
    /// Every currency agrees with our books (and none of ours is missing).
    pub agrees: bool,
    pub comment: Option<String>,
    pub confirmed_by: String,
    pub created_at: DateTime<Utc>,
}

fn confirmation_view(c: BalanceConfirmation, code: String) -> BalanceConfirmationView {
    let balances: Vec<BalanceComparison> = serde_json::from_value(c.balances).unwrap_or_default();
    BalanceConfirmationView {
        id: c.id,
        customer_code: code,
        as_of: c.as_of,
        agrees: balances.iter().all(|b| b.agrees),
        balances,
        comment: c.comment,
        confirmed_by: c.confirmed_by,
        created_at: c.created_at,
    }
}

/// The customer confirms its balance as of a date. It is compared with ours as of that date
/// and recorded either way; `agrees` tells whether the balances are agreed.
pub fn confirm_balance(
    conn: &mut PgConnection,
    portal: &PortalPrincipal,
    input: BalanceConfirmationInput,
) -> AppResult<BalanceConfirmationView> {
    if input.balances.is_empty() || input.balances.len() > 50 {
        return Err(AppError::invalid("balances", "give 1 to 50 balances, one per currency"));
    }
    if input.comment.as_ref().is_some_and(|c| c.len() > 10_000) {
        return Err(AppError::invalid("comment", "at most 10000 characters"));
    }
    let mut confirmed: BTreeMap<String, Decimal> = BTreeMap::new();
    for (i, b) in input.balances.iter().enumerate() {
        let c = Currency::parse(b.currency.trim())
            .map_err(|e| AppError::invalid(&format!("balances[{i}].currency"), e.to_string()))?;
        let amount = c
            .parse_amount(b.balance.trim())
            .map_err(|e| AppError::invalid(&format!("balances[{i}].balance"), e.to_string()))?;
        if confirmed.insert(c.code().to_string(), amount).is_some() {
            return Err(AppError::invalid(&format!("balances[{i}].currency"), "each currency once"));
        }
    }
    let items = st_db::our_items(conn, portal.tenant_id, portal.customer_id, None, Some(input.as_of))?;
    let mut ours: BTreeMap<String, Decimal> = BTreeMap::new();
    for it in items {
        let kind = it.kind;
        *ours.entry(it.currency).or_default() += kind.balance_sign() * it.amount;
    }
    let mut currencies: Vec<String> = confirmed.keys().chain(ours.keys()).cloned().collect();
    currencies.sort();
    currencies.dedup();
    let comparisons: Vec<BalanceComparison> = currencies
        .into_iter()
        .filter_map(|cur| {
            let theirs = confirmed.get(&cur).copied();
            let our = ours.get(&cur).copied().unwrap_or_default();
            // A currency we hold at zero and they did not mention is not a disagreement.
            if theirs.is_none() && our.is_zero() {
                return None;
            }
            let theirs = theirs.unwrap_or_default();
            Some(BalanceComparison {
                confirmed: format_amount(&cur, theirs),
                ours: format_amount(&cur, our),
                agrees: theirs == our,
                currency: cur,
            })
        })
        .collect();
    let row = BalanceConfirmation {
        id: Uuid::now_v7(),
        tenant_id: portal.tenant_id,
        customer_id: portal.customer_id,
        as_of: input.as_of,
        balances: serde_json::to_value(&comparisons).map_err(AppError::internal)?,
        comment: input.comment.clone(),
        confirmed_by: format!("customer:{}", portal.customer_code),
        created_at: Utc::now(),
    };
    diff_db::insert_confirmation(conn, &row)?;
    let view = confirmation_view(row, portal.customer_code.clone());
    audit_db::append(
        conn,
        portal.tenant_id,
        vec![NewAuditEntry {
            actor_type: "customer".into(),
            actor_id: portal.customer_code.clone(),
            action: "balance.confirmed".into(),
            entity_type: "balance_confirmation".into(),
            entity_id: view.id.to_string(),
            before: None,
            after: serde_json::to_value(&view).ok(),
        }],
    )?;
    events::emit(conn, portal.tenant_id, Some(portal.customer_id), EventType::BalanceConfirmed, json!(view))?;
    Ok(view)
}

pub fn confirmations(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
) -> AppResult<Vec<BalanceConfirmationView>> {
    require(principal, Permission::Read)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    Ok(diff_db::confirmations(conn, principal.tenant_id, customer.id)?
        .into_iter()
        .map(|c| confirmation_view(c, customer.code.clone()))
        .collect())
}
