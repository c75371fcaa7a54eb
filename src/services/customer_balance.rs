//! A customer's open items and balance per currency.

use super::require;
use crate::db::documents as documents_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::document::balance_effect;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use crate::services::documents::DocumentView;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CurrencyBalance {
    pub currency: String,
    /// What the customer owes in this currency: open invoices and debit adjustments minus open
    /// credit notes, unapplied payments and credit adjustments.
    pub balance: String,
    pub open_invoices: String,
    pub open_credit_notes: String,
    pub unapplied_payments: String,
    pub open_adjustments: String,
    pub open_item_count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CustomerBalance {
    pub customer_code: String,
    pub balances: Vec<CurrencyBalance>,
    /// Open items, oldest due first.
    pub open_items: Vec<DocumentView>,
}

pub fn balance(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<CustomerBalance> {
    require(principal, Permission::Read)?;
    // One statement, so it can run without a transaction (`db::read`); the instalment plans of
    // the items are read after it (a plan only changes together with its document's row).
    let (customer_code, items) = documents_db::customer_open_items(conn, principal.tenant_id, code)?
        .ok_or_else(|| AppError::not_found(format!("customer {code:?}")))?;
    #[derive(Default)]
    struct Sums {
        balance: Decimal,
        by_type: BTreeMap<&'static str, Decimal>,
        count: i64,
    }
    let mut per_currency: BTreeMap<String, Sums> = BTreeMap::new();
    for doc in &items {
        let doc_type = doc.doc_type;
        let sums = per_currency.entry(doc.currency.clone()).or_default();
        sums.balance += balance_effect(doc_type, doc.open_amount);
        *sums.by_type.entry(doc_type.as_str()).or_default() += doc.open_amount;
        sums.count += 1;
    }
    let balances = per_currency
        .into_iter()
        .map(|(currency, s)| {
            let get = |t: &str| format_amount(&currency, s.by_type.get(t).copied().unwrap_or_default());
            CurrencyBalance {
                balance: format_amount(&currency, s.balance),
                open_invoices: get("invoice"),
                open_credit_notes: get("credit_note"),
                unapplied_payments: get("payment"),
                open_adjustments: get("adjustment"),
                open_item_count: s.count,
                currency,
            }
        })
        .collect();
    let plans = super::instalments::plans_of(conn, principal.tenant_id, &items.iter().collect::<Vec<_>>())?;
    let open_items = items
        .into_iter()
        .map(|d| {
            let plan = plans.get(&d.id).map(Vec::as_slice).unwrap_or_default();
            DocumentView::with_plan(d, customer_code.clone(), plan)
        })
        .collect();
    Ok(CustomerBalance { customer_code, balances, open_items })
}
