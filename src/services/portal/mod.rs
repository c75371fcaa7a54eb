//! The customer side: portal tokens (customer-scoped JWTs the tenant issues), what a portal may
//! read (account, statement of account, open items), the customer's balance confirmation
//! (对账确认), and statements pushed by a customer's system with a Standard Webhooks signature.

mod confirmations;
mod inbound;
mod tokens;

pub use confirmations::*;
pub use inbound::*;
pub use tokens::*;

use crate::db::customers::{self as customers_db, Customer};
use crate::domain::auth::{Actor, PortalPrincipal, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::services::customers::{self, CustomerBalance};
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

pub use super::statement_of_account::{add_document_lines, portal_statement_of_account, tenant_statement_of_account};
pub use crate::domain::statement_of_account::StatementOfAccount;

pub(super) fn find_customer(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code(conn, tenant_id, code).map_err(|_| AppError::not_found("customer"))
}

/// Reads on the portal's behalf reuse the tenant's read use cases, always with the customer the
/// token names (never one from the request).
pub(super) fn reader(portal: &PortalPrincipal) -> Principal {
    Principal { tenant_id: portal.tenant_id, actor: Actor::System, role: Role::Viewer, scopes: vec!["read".into()] }
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PortalAccount {
    pub customer_code: String,
    pub name: String,
    /// Open items and balance per currency.
    pub balance: CustomerBalance,
}

pub fn account(conn: &mut PgConnection, portal: &PortalPrincipal) -> AppResult<PortalAccount> {
    let customer = customers_db::find_by_id(conn, portal.tenant_id, portal.customer_id)?;
    let balance = customers::balance(conn, &reader(portal), &customer.code)?;
    Ok(PortalAccount { customer_code: customer.code, name: customer.name, balance })
}
