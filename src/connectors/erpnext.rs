//! ERPNext / Frappe REST: customers (`/api/resource/Customer`), submitted sales invoices
//! (`/api/resource/Sales Invoice`) and payments received from customers
//! (`/api/resource/Payment Entry`), incrementally by `modified`.

use super::http::urlencode;
use super::{text, Batch, Page, SyncEnv};
use reqwest::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `config` of an ERPNext connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpnextConfig {
    /// e.g. `https://erp.example.com` (the `/api/resource/...` paths are appended).
    pub base_url: String,
    /// Records per request (`limit_page_length`), 1..=1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Also import customers (`/api/resource/Customer`) before the invoices.
    #[serde(default = "yes")]
    pub sync_customers: bool,
    /// Also import submitted payments received from customers (`Payment Entry`), after the invoices.
    #[serde(default = "yes")]
    pub sync_payments: bool,
}

pub(crate) fn default_page_size() -> u32 {
    100
}

pub(crate) fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpnextCredentials {
    pub api_key: String,
    pub api_secret: String,
}

const INVOICE_FIELDS: &str =
    r#"["name","customer","posting_date","due_date","currency","grand_total","is_return","modified"]"#;
const CUSTOMER_FIELDS: &str = r#"["name","customer_name","modified"]"#;
const PAYMENT_FIELDS: &str =
    r#"["name","party","posting_date","paid_amount","paid_from_account_currency","reference_no","modified"]"#;

/// Where a doctype's sync stands: the last `modified` committed and how many records with
/// exactly that `modified` were committed (they are skipped with `limit_start`, so records that
/// share a timestamp across a page boundary are neither lost nor fetched twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctypeCursor {
    pub modified: Option<String>,
    pub seen_at_modified: u64,
}

impl DoctypeCursor {
    fn from_value(v: Option<&Value>) -> DoctypeCursor {
        let Some(v) = v else { return DoctypeCursor::default() };
        DoctypeCursor {
            modified: v.get("modified").and_then(Value::as_str).map(str::to_string),
            seen_at_modified: v.get("seen_at_modified").and_then(Value::as_u64).unwrap_or(0),
        }
    }

    fn to_value(&self) -> Value {
        json!({ "modified": self.modified, "seen_at_modified": self.seen_at_modified })
    }

    /// The cursor after a page of records (ordered by `modified`).
    pub fn advance(&self, page_modified: &[String]) -> DoctypeCursor {
        let Some(last) = page_modified.last() else { return self.clone() };
        let tail = page_modified.iter().rev().take_while(|m| *m == last).count() as u64;
        let carried = if self.modified.as_deref() == Some(last.as_str()) && tail == page_modified.len() as u64 {
            self.seen_at_modified
        } else {
            0
        };
        DoctypeCursor { modified: Some(last.clone()), seen_at_modified: carried + tail }
    }
}

fn resource_url(config: &ErpnextConfig, doctype: &str, fields: &str, cursor: &DoctypeCursor) -> String {
    let mut url = format!("{}/api/resource/{}", config.base_url, doctype.replace(' ', "%20"));
    let mut filters = vec![];
    if let Some(m) = &cursor.modified {
        filters.push(json!(["modified", ">=", m]));
    }
    if doctype == "Sales Invoice" || doctype == "Payment Entry" {
        // Submitted documents only: drafts can still change, cancelled ones are void.
        filters.push(json!(["docstatus", "=", 1]));
    }
    if doctype == "Payment Entry" {
        // Money received from customers; payments to suppliers and internal transfers are not receivables.
        filters.push(json!(["payment_type", "=", "Receive"]));
        filters.push(json!(["party_type", "=", "Customer"]));
    }
    let query = [
        ("fields", fields.to_string()),
        ("filters", Value::Array(filters).to_string()),
        ("limit_start", cursor.seen_at_modified.to_string()),
        ("limit_page_length", config.page_size.to_string()),
        ("order_by", "modified asc, name asc".to_string()),
    ];
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    url.push('?');
    url.push_str(&q.join("&"));
    url
}

fn truthy(row: &Value, field: &str) -> bool {
    match row.get(field) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1",
        _ => false,
    }
}

/// A Sales Invoice as a `documents::import` row.
pub fn map_invoice(row: &Value) -> Result<Value, String> {
    let name = text(row, "name").ok_or("name is missing")?;
    let total = text(row, "grand_total").ok_or("grand_total is missing")?;
    let currency = text(row, "currency").ok_or("currency is missing")?;
    let amount = super::amount(&total, &currency).map_err(|e| format!("grand_total {e}"))?.abs();
    Ok(json!({
        "doc_type": if truthy(row, "is_return") { "credit_note" } else { "invoice" },
        "doc_no": name,
        "customer_code": text(row, "customer").ok_or("customer is missing")?,
        "issue_date": text(row, "posting_date").ok_or("posting_date is missing")?,
        "due_date": text(row, "due_date"),
        "currency": currency,
        "amount": amount.to_string(),
        "external_reference": name,
        "source_system": "erpnext",
    }))
}

/// A received Payment Entry as a `documents::import` payment row (amount in the customer's
/// currency: the account it was paid from).
pub fn map_payment(row: &Value) -> Result<Value, String> {
    let name = text(row, "name").ok_or("name is missing")?;
    let paid = text(row, "paid_amount").ok_or("paid_amount is missing")?;
    let currency = text(row, "paid_from_account_currency").ok_or("paid_from_account_currency is missing")?;
    let amount = super::amount(&paid, &currency).map_err(|e| format!("paid_amount {e}"))?.abs();
    Ok(json!({
        "doc_type": "payment",
        "doc_no": name,
        "customer_code": text(row, "party").ok_or("party is missing")?,
        "issue_date": text(row, "posting_date").ok_or("posting_date is missing")?,
        "currency": currency,
        "amount": amount.to_string(),
        "external_reference": text(row, "reference_no").unwrap_or(name),
        "source_system": "erpnext",
    }))
}

pub fn map_customer(row: &Value) -> Result<Value, String> {
    let code = text(row, "name").ok_or("name is missing")?;
    let name = text(row, "customer_name").unwrap_or_else(|| code.clone());
    Ok(json!({ "code": code, "name": name }))
}

pub async fn sync(env: &SyncEnv<'_>, config: &ErpnextConfig, creds: &ErpnextCredentials) -> Result<(), String> {
    let auth = format!("token {}:{}", creds.api_key, creds.api_secret);
    if config.sync_customers {
        sync_doctype(env, config, &auth, "Customer", CUSTOMER_FIELDS, "customers", map_customer).await?;
    }
    sync_doctype(env, config, &auth, "Sales Invoice", INVOICE_FIELDS, "invoices", map_invoice).await?;
    if config.sync_payments {
        sync_doctype(env, config, &auth, "Payment Entry", PAYMENT_FIELDS, "payments", map_payment).await?;
    }
    Ok(())
}

async fn sync_doctype(
    env: &SyncEnv<'_>,
    config: &ErpnextConfig,
    auth: &str,
    doctype: &str,
    fields: &str,
    key: &'static str,
    map: fn(&Value) -> Result<Value, String>,
) -> Result<(), String> {
    let mut cursor = DoctypeCursor::from_value(env.cursor.get(key));
    let headers = [(AUTHORIZATION, auth.to_string())];
    loop {
        let url = resource_url(config, doctype, fields, &cursor);
        let answer = env.http.get_json(&url, &headers, "ERPNext").await?;
        let rows = match answer.get("data") {
            Some(Value::Array(rows)) => rows.clone(),
            _ => return Err("malformed answer from ERPNext: expected {\"data\":[...]}".into()),
        };
        if rows.is_empty() {
            return Ok(());
        }
        let modified: Vec<String> = rows.iter().map(|r| text(r, "modified").unwrap_or_default()).collect();
        let mut mapped = Vec::with_capacity(rows.len());
        let mut names = Vec::with_capacity(rows.len());
        let mut rejected = Vec::new();
        for row in &rows {
            let name = text(row, "name").unwrap_or_default();
            match map(row) {
                Ok(v) => {
                    mapped.push(v);
                    names.push(name);
                }
                Err(error) => rejected.push(json!({ "kind": key, "record": name, "error": error })),
            }
        }
        let next = cursor.advance(&modified);
        let batch = if key == "customers" {
            Batch::Customers { kind: key, rows: mapped, names }
        } else {
            Batch::Documents { kind: key, rows: mapped, names }
        };
        env.sink.commit(Page { cursor: json!({ key: next.to_value() }), batches: vec![batch], rejected }).await?;
        cursor = next;
        if (rows.len() as u32) < config.page_size {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_counts_records_sharing_the_last_timestamp() {
        let c = DoctypeCursor::default();
        let page = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c1 = c.advance(&page(&["a", "b", "b"]));
        assert_eq!(c1, DoctypeCursor { modified: Some("b".into()), seen_at_modified: 2 });
        let c2 = c1.advance(&page(&["b", "b"]));
        assert_eq!(c2.seen_at_modified, 4, "a group spanning pages keeps counting");
        let c3 = c2.advance(&page(&["b", "c"]));
        assert_eq!(c3, DoctypeCursor { modified: Some("c".into()), seen_at_modified: 1 });
        assert_eq!(c3.advance(&[]), c3);
    }

    #[test]
    fn maps_invoices_and_returns() {
        let inv = map_invoice(&json!({"name":"ACC-SINV-0001","customer":"CUST-1","posting_date":"2026-10-01",
            "due_date":"2026-10-31","currency":"EUR","grand_total":1190.0,"is_return":0}))
        .unwrap();
        assert_eq!(inv["doc_type"], "invoice");
        assert_eq!(inv["amount"], "1190");
        let ret = map_invoice(&json!({"name":"R-1","customer":"C","posting_date":"2026-10-01","due_date":null,
            "currency":"EUR","grand_total":-50.25,"is_return":1}))
        .unwrap();
        assert_eq!(ret["doc_type"], "credit_note");
        assert_eq!(ret["amount"], "50.25");
        assert!(map_invoice(&json!({"name":"X"})).is_err());
        let noisy = map_invoice(&json!({"name":"N","customer":"C","posting_date":"2026-10-01",
            "currency":"EUR","grand_total":0.30000000000000004}))
        .unwrap();
        assert_eq!(noisy["amount"], "0.3");
        let kwd = map_invoice(&json!({"name":"K","customer":"C","posting_date":"2026-10-01",
            "currency":"KWD","grand_total":1.234}))
        .unwrap();
        assert_eq!(kwd["amount"], "1.234", "three minor units kept");
    }

    #[test]
    fn maps_received_payments() {
        let p = map_payment(&json!({"name":"ACC-PAY-1","party":"CUST-1","posting_date":"2026-10-10",
            "paid_amount":1190.0,"paid_from_account_currency":"EUR","reference_no":"TRX-77"}))
        .unwrap();
        assert_eq!(p["doc_type"], "payment");
        assert_eq!(p["customer_code"], "CUST-1");
        assert_eq!(p["amount"], "1190");
        assert_eq!(p["external_reference"], "TRX-77");
        let no_ref = map_payment(&json!({"name":"ACC-PAY-2","party":"C","posting_date":"2026-10-10",
            "paid_amount":5,"paid_from_account_currency":"EUR"}))
        .unwrap();
        assert_eq!(no_ref["external_reference"], "ACC-PAY-2");
        assert!(map_payment(&json!({"name":"X","party":"C"})).is_err());
    }
}
