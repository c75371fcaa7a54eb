//! A statement of account: what we send a customer about its account for a period (items with
//! a running balance per currency, open items, aging, open differences). Computed by
//! `services::statement_of_account`, rendered by `reports`.

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AccountLine {
    pub date: NaiveDate,
    /// invoice | credit_note | payment | adjustment
    pub kind: String,
    pub reference: String,
    /// What raises the balance (invoices, debit adjustments).
    pub debit: Option<String>,
    /// What lowers it (credit notes, payments, write-offs).
    pub credit: Option<String>,
    pub balance: String,
    /// The ledger document the line is, when it is one (not shown: `lines` are looked up by it).
    #[serde(skip)]
    #[graphql(skip)]
    pub document_id: Option<Uuid>,
    /// The document's lines, when asked for (`lines=true`) and it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<AccountDocumentLine>>,
    /// In a customer group's statement: the member whose item it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
}

/// One line of an invoice or credit note, as a statement of account shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AccountDocumentLine {
    pub line_no: i32,
    pub product_code: Option<String>,
    pub description: String,
    pub quantity: String,
    pub unit: Option<String>,
    pub unit_price: String,
    /// Percent.
    pub tax_rate: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CurrencyAccount {
    pub currency: String,
    pub opening_balance: String,
    pub lines: Vec<AccountLine>,
    pub closing_balance: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementOfAccount {
    pub customer_code: String,
    pub customer_name: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub currencies: Vec<CurrencyAccount>,
    /// Items open now and issued by the end of the period, oldest due first (days overdue
    /// counted to the end of the period, or today).
    pub open_items: Vec<OpenItemLine>,
    /// Aging as of the end of the period (or today), reproduced from history like the AR aging,
    /// per currency: current, 1-30, 31-60, 61-90, 90+ days past due.
    pub aging: Vec<AgingSummary>,
    /// Differences sent to the customer and not yet resolved (sent, confirmed, disputed).
    pub open_differences: Vec<OpenDifference>,
    /// How the customer paid in the 365 days up to the end of the period (or today).
    pub payment_behaviour: crate::domain::payment_behaviour::PaymentBehaviour,
    /// In a customer group's statement (`customer_code` and `customer_name` are then the
    /// group's): the members' codes; their rows name them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct OpenItemLine {
    pub doc_no: String,
    pub kind: String,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub amount: String,
    pub open_amount: String,
    /// Negative: not yet due. With instalments: of the first instalment still open.
    pub days_overdue: i64,
    /// The instalments still open, when the item is due in instalments.
    pub instalments: Vec<OpenInstalmentLine>,
    /// In a customer group's statement: the member whose item it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct OpenInstalmentLine {
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: String,
    pub open_amount: String,
    /// Negative: not yet due.
    pub days_overdue: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AgingSummary {
    pub currency: String,
    pub buckets: Vec<String>,
    pub labels: Vec<String>,
    pub total: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct OpenDifference {
    pub kind: String,
    pub status: String,
    pub our_ref: Option<String>,
    pub their_ref: Option<String>,
    pub currency: String,
    pub explanation: String,
    /// In a customer group's statement: the member the difference is with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
}
