//! The accounts-receivable aging report as it is answered and rendered (JSON, CSV, XLSX).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum AgingBasis {
    /// Days past the due date (credits by issue date).
    #[default]
    DueDate,
    /// Days since the issue date.
    IssueDate,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AgingBucket {
    pub label: String,
    /// Days overdue, inclusive; `None` = open-ended.
    pub from_days: Option<i32>,
    pub to_days: Option<i32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AgingRow {
    pub customer_code: String,
    pub customer_name: String,
    pub currency: String,
    /// One amount per bucket, in bucket order.
    pub buckets: Vec<String>,
    pub total: String,
    pub overdue: String,
    pub open_items: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AgingTotal {
    pub currency: String,
    pub buckets: Vec<String>,
    pub total: String,
    pub overdue: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AgingReport {
    pub as_of: NaiveDate,
    pub basis: AgingBasis,
    pub buckets: Vec<AgingBucket>,
    /// Per customer and currency (customers without open items are left out).
    pub rows: Vec<AgingRow>,
    /// Per currency.
    pub totals: Vec<AgingTotal>,
    pub base_currency: String,
    /// All currencies converted at the latest rate on or before `as_of`; absent when a rate is
    /// missing (see `missing_rates`).
    pub base_total: Option<AgingTotal>,
    pub missing_rates: Vec<String>,
}
