//! Outbound clients of the connectors: each module talks to one kind of remote system over
//! HTTP and turns what it reads into [`Page`]s. They hold no database connection and call no
//! use case: the scheduler (`services::connector_worker`) commits every page, with the cursor
//! the client computed, in one transaction through the ordinary imports.

pub mod bank_file;
pub mod erpnext;
pub mod generic_json;
pub mod http;
pub mod odoo;
pub mod open_banking;

use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// Pages one sync reads at most from a client that stores a resume point (generic JSON, open
/// banking); the next sync continues from there.
pub const MAX_PAGES_PER_SYNC: usize = 1000;

/// One unit of progress: written whole or not at all, together with its cursor.
#[derive(Debug, Default)]
pub struct Page {
    /// Merged (top-level keys) into the connector's stored cursor in the page's transaction.
    pub cursor: Value,
    pub batches: Vec<Batch>,
    /// Records refused before the import (mapping errors): `{"kind","record","error"}`.
    pub rejected: Vec<Value>,
}

/// Records of one kind, in the row shape of the matching import.
#[derive(Debug)]
pub enum Batch {
    /// `customers::import` JSON rows; `names` label the rows in rejected records.
    Customers { kind: &'static str, rows: Vec<Value>, names: Vec<String> },
    /// `documents::import` JSON rows.
    Documents { kind: &'static str, rows: Vec<Value>, names: Vec<String> },
    /// A bank statement file for `bank::import_statement`.
    BankStatement(StatementFile),
}

#[derive(Debug)]
pub struct StatementFile {
    /// camt053, camt054, mt940, csv or bai2; `None`: detected from the file.
    pub format: Option<String>,
    /// Forces the bank account of every line.
    pub bank_account: Option<String>,
    pub body: Vec<u8>,
    pub sha256: String,
}

pub type CommitFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where a client hands its pages; the worker's implementation commits each in a transaction
/// and fails when the connector's lease was lost.
pub trait PageSink: Sync {
    fn commit(&self, page: Page) -> CommitFuture<'_>;
}

/// What a sync needs from its surroundings.
pub struct SyncEnv<'a> {
    pub http: http::Http<'a>,
    /// The stored cursor as of the start of the sync.
    pub cursor: &'a Value,
    pub sink: &'a dyn PageSink,
}

/// Typed stored credentials (`None` when the connector has none).
pub fn credentials<T: serde::de::DeserializeOwned>(stored: Option<Value>) -> Result<Option<T>, String> {
    stored.map(serde_json::from_value).transpose().map_err(|_| "the stored credentials are unreadable".to_string())
}

/// Typed stored config.
pub fn config<T: serde::de::DeserializeOwned>(stored: &Value) -> Result<T, String> {
    serde_json::from_value(stored.clone()).map_err(|e| format!("invalid config: {e}"))
}

/// A trimmed, non-empty string or number field of a JSON record.
pub(crate) fn text(row: &Value, field: &str) -> Option<String> {
    text_value(row.get(field)?)
}

pub(crate) fn text_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A money figure from a remote system (a JSON number, often a binary float, or a string),
/// rounded to the currency's minor units: binary noise such as 0.30000000000000004 would
/// otherwise be refused as too precise.
pub(crate) fn amount(raw: &str, currency: &str) -> Result<rust_decimal::Decimal, String> {
    use std::str::FromStr;
    let minor = crate::domain::money::Currency::parse(currency).map(|c| c.minor_units()).unwrap_or(2);
    Ok(rust_decimal::Decimal::from_str(raw)
        .or_else(|_| rust_decimal::Decimal::from_scientific(raw))
        .map_err(|_| format!("{raw:?} is not a number"))?
        .round_dp(minor)
        .normalize())
}
