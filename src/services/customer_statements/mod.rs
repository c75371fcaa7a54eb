//! Customer statements and their reconciliation with our books: a customer's statement arrives (from the tenant's API
//! client, the customer's portal or a signed push of the customer's system), is compared with
//! our books for that customer and period, and every difference found is recorded, audited and
//! announced (`statement.reconciled`, `difference.created`).

pub mod files;
pub mod lines;
pub mod mappings;
mod reconcile;

use reconcile::reconcile_for;

use crate::services::audit::snapshot;
use crate::services::differences::DifferenceView;
use crate::services::events::{self, EventType};
use crate::services::import::ImportFormat;
use crate::services::pagination::{effective_limit, page, parse_cursor, Page};
use crate::services::require;
use files::{ForCustomer, ValidLine};

use crate::db::audit as audit_db;
use crate::db::customer_statements::{self as st_db, CustomerStatement, CustomerStatementLine};
use crate::db::customers::{self as customers_db, Customer};
use crate::db::differences::{self as diff_db, Difference};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer_statements::{compare, Comparison, OurItem, Pairing, TheirItem};
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub use files::{
    csv_customer_codes, parse_statement, ParsedStatement, StatementInput, StatementLineInput, StatementOptions,
    DEFAULT_DATE_TOLERANCE_DAYS,
};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceView {
    pub currency: String,
    /// Our balance of the customer's account for the period (what they owe us).
    pub ours: String,
    /// The balance their statement shows.
    pub theirs: String,
    /// The sum of the balance effects of the differences found.
    pub differences: String,
    /// (ours - theirs) - differences: zero when every gap is explained.
    pub unexplained: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementView {
    pub id: Uuid,
    pub customer_code: String,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// api | portal | inbound
    pub source: String,
    pub lines_count: i32,
    /// Lines outside the period, not compared.
    pub lines_ignored: i32,
    pub matched_count: i32,
    pub differences_count: i32,
    pub date_tolerance_days: i32,
    pub balances: Vec<BalanceView>,
    /// The differences this comparison found: new ones, and ones still being worked on from an
    /// earlier statement (not opened twice).
    pub differences: Vec<DifferenceView>,
    /// How the statement was read: the layout detected, the encoding, rows not read as lines
    /// (totals, balances carried), words not in the vocabulary, the side invoices were on.
    pub notes: Vec<String>,
    pub received_at: chrono::DateTime<Utc>,
}

/// Who submitted the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Portal,
    Inbound,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Portal => "portal",
            Source::Inbound => "inbound",
        }
    }
}

/// Compares a customer's statement (JSON, our own shape) with our books and records the outcome.
pub fn reconcile(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    input: StatementInput,
    source: Source,
) -> AppResult<StatementView> {
    require(principal, Permission::WriteMatching)?;
    let customer = lock_customer(conn, principal.tenant_id, customer_code)?;
    let actor = (principal.actor.kind(), principal.actor.id());
    reconcile_for(conn, principal.tenant_id, &customer, ParsedStatement::of(input), source, actor)
}

/// A statement body the tenant posts: JSON in our shape, or CSV as the customer's system
/// exports it, read with the customer's statement mapping.
pub fn submit(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    format: ImportFormat,
    body: &[u8],
    options: StatementOptions,
) -> AppResult<StatementView> {
    require(principal, Permission::WriteMatching)?;
    let customer = lock_customer(conn, principal.tenant_id, customer_code)?;
    let actor = (principal.actor.kind(), principal.actor.id());
    submit_for(conn, principal.tenant_id, &customer, (format, body, options), Source::Api, actor)
}

/// Locking the customer serialises statements of one customer: the check for differences
/// already being worked on must see the previous statement's.
fn lock_customer(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code_for_update(conn, tenant_id, code).map_err(|_| AppError::not_found("customer"))
}

/// Reads a body for an already locked customer, the same way for every path (tenant API,
/// portal upload, signed push), and reconciles it.
pub(crate) fn submit_for(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    (format, body, options): (ImportFormat, &[u8], StatementOptions),
    source: Source,
    actor: (&str, String),
) -> AppResult<StatementView> {
    let mapping = mappings::load(conn, tenant_id, customer.id)?;
    let for_customer = ForCustomer { code: &customer.code, default_currency: customer.default_currency.as_deref() };
    let parsed = files::parse(format, body, options, &mapping, Some(for_customer))?;
    reconcile_for(conn, tenant_id, customer, parsed, source, actor)
}

/// A stored statement with the differences it found.
pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<StatementView> {
    require(principal, Permission::Read)?;
    let s = st_db::find(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("statement"))?;
    view_of(conn, s)
}

fn view_of(conn: &mut PgConnection, s: CustomerStatement) -> AppResult<StatementView> {
    let filter = diff_db::DifferenceFilter { statement_id: Some(s.id), limit: 100_000, ..Default::default() };
    let differences: Vec<DifferenceView> =
        diff_db::list(conn, s.tenant_id, &filter)?.into_iter().map(|(d, c)| DifferenceView::new(d, c)).collect();
    let customer_code = customers_db::find_by_id(conn, s.tenant_id, s.customer_id)?.code;
    let balances: Vec<BalanceView> = serde_json::from_value(s.balances).unwrap_or_default();
    let compared = crate::db::customer_statements::count_lines(conn, s.tenant_id, s.id)? as i32;
    Ok(StatementView {
        id: s.id,
        customer_code,
        period_from: s.period_from,
        period_to: s.period_to,
        source: s.source,
        lines_count: s.lines_count,
        lines_ignored: s.lines_count - compared,
        matched_count: s.matched_count,
        differences_count: s.differences_count,
        date_tolerance_days: s.date_tolerance_days,
        balances,
        differences,
        notes: serde_json::from_value(s.notes).unwrap_or_default(),
        received_at: s.received_at,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementSummary {
    pub id: Uuid,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub source: String,
    pub lines_count: i32,
    pub matched_count: i32,
    pub differences_count: i32,
    pub balances: Vec<BalanceView>,
    pub received_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementPage {
    pub items: Vec<StatementSummary>,
    pub next_cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    cursor: Option<&str>,
    limit: Option<i64>,
    max: i64,
) -> AppResult<StatementPage> {
    require(principal, Permission::Read)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, customer_code)
        .map_err(|_| AppError::not_found("customer"))?;
    let limit = effective_limit(limit, max)?;
    let rows = st_db::list_for_customer(conn, principal.tenant_id, customer.id, parse_cursor(cursor)?, limit + 1)?;
    let p: Page<StatementSummary> = page(
        rows,
        limit,
        |s| s.id,
        |s| StatementSummary {
            id: s.id,
            period_from: s.period_from,
            period_to: s.period_to,
            source: s.source,
            lines_count: s.lines_count,
            matched_count: s.matched_count,
            differences_count: s.differences_count,
            balances: serde_json::from_value(s.balances).unwrap_or_default(),
            received_at: s.received_at,
        },
    );
    Ok(StatementPage { items: p.items, next_cursor: p.next_cursor })
}
