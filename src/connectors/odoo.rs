//! Odoo's external API over JSON-RPC (`POST {base}/jsonrpc`): log in with `common.login`, then
//! `object.execute_kw(..., "search_read", ...)` on `res.partner` (customers: `customer_rank > 0`)
//! and `account.move` (posted `out_invoice` / `out_refund`), incrementally by `write_date`.
//!
//! Odoo answers errors with HTTP 200 and `{"error":{"code","message","data":{"name",...}}}`;
//! `odoo.exceptions.AccessDenied` is an authentication failure.

use super::erpnext::{default_page_size, yes};
use super::{text, text_value, Batch, Page, SyncEnv};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;

/// `config` of an Odoo connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdooConfig {
    /// e.g. `https://acme.odoo.com` (`/jsonrpc` is appended).
    pub base_url: String,
    /// The Odoo database name.
    pub database: String,
    /// The login of the user whose API key (or password) is in the credentials.
    pub username: String,
    /// Records per request (`limit`), 1..=1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Also import customers (`res.partner` with `customer_rank > 0`) before the invoices.
    #[serde(default = "yes")]
    pub sync_customers: bool,
    /// Also import customer payments (`account.payment`, inbound, posted) after the invoices.
    #[serde(default = "yes")]
    pub sync_payments: bool,
}

/// The user's API key (Preferences > Account Security) or password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdooCredentials {
    pub api_key: String,
}

const PARTNER_FIELDS: [&str; 4] = ["id", "name", "ref", "write_date"];
const MOVE_FIELDS: [&str; 10] = [
    "id",
    "name",
    "move_type",
    "partner_id",
    "commercial_partner_id",
    "invoice_date",
    "invoice_date_due",
    "currency_id",
    "amount_total",
    "write_date",
];

// Only fields every supported Odoo version has: `search_read` fails on an unknown field (the
// memo is `ref` up to 17 and `memo` from 18, so neither is read).
const PAYMENT_FIELDS: [&str; 7] = ["id", "name", "partner_id", "date", "currency_id", "amount", "write_date"];

/// Where a model's sync stands: the `(write_date, id)` of the last committed record. The next
/// request asks for records strictly after it in `write_date asc, id asc` order, so records
/// sharing a `write_date` across a page boundary are neither lost nor read twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeysetCursor {
    pub write_date: Option<String>,
    pub id: i64,
}

impl KeysetCursor {
    fn from_value(v: Option<&Value>) -> KeysetCursor {
        let Some(v) = v else { return KeysetCursor::default() };
        KeysetCursor {
            write_date: v.get("write_date").and_then(Value::as_str).map(str::to_string),
            id: v.get("id").and_then(Value::as_i64).unwrap_or(0),
        }
    }

    fn to_value(&self) -> Value {
        json!({ "write_date": self.write_date, "id": self.id })
    }

    /// The domain terms "after this cursor" (Odoo's prefix notation: `|` and `&` take the next two).
    pub fn domain(&self) -> Vec<Value> {
        match &self.write_date {
            None => vec![],
            Some(wd) => vec![
                json!("|"),
                json!(["write_date", ">", wd]),
                json!("&"),
                json!(["write_date", "=", wd]),
                json!(["id", ">", self.id]),
            ],
        }
    }
}

/// One logged-in session of a sync.
struct Session<'e, 'a> {
    env: &'e SyncEnv<'a>,
    url: String,
    database: String,
    uid: Value,
    key: String,
}

/// The message of an Odoo JSON-RPC error (never its traceback, which may echo arguments).
fn rpc_error(error: &Value) -> String {
    let name = error.pointer("/data/name").and_then(Value::as_str).unwrap_or("");
    let message = error
        .pointer("/data/message")
        .and_then(Value::as_str)
        .or_else(|| error.get("message").and_then(Value::as_str))
        .unwrap_or("unknown error");
    if name.ends_with("AccessDenied") {
        return "authentication failed (Odoo AccessDenied): check the connector's username and API key".into();
    }
    if name.is_empty() {
        format!("Odoo error: {message}")
    } else {
        format!("Odoo error {name}: {message}")
    }
}

async fn call(env: &SyncEnv<'_>, url: &str, service: &str, method: &str, args: Value) -> Result<Value, String> {
    let body = json!({
        "jsonrpc": "2.0", "method": "call", "id": 1,
        "params": { "service": service, "method": method, "args": args },
    });
    let answer = env.http.post_json(url, &body, "Odoo").await?;
    if let Some(error) = answer.get("error") {
        return Err(rpc_error(error));
    }
    answer.get("result").cloned().ok_or_else(|| "malformed answer from Odoo: no \"result\"".to_string())
}

impl Session<'_, '_> {
    async fn search_read(
        &self,
        model: &str,
        domain: Vec<Value>,
        fields: &[&str],
        limit: u32,
    ) -> Result<Vec<Value>, String> {
        let args = json!([
            self.database, self.uid, self.key, model, "search_read", [domain],
            { "fields": fields, "limit": limit, "order": "write_date asc, id asc" },
        ]);
        match call(self.env, &self.url, "object", "execute_kw", args).await? {
            Value::Array(rows) => Ok(rows),
            _ => Err(format!("malformed answer from Odoo: search_read on {model} did not return a list")),
        }
    }

    /// Customer codes of partners by id: their `ref` when set, else `odoo-<id>`.
    async fn partner_codes(&self, ids: Vec<i64>) -> Result<HashMap<i64, String>, String> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let n = ids.len() as u32;
        let rows = self.search_read("res.partner", vec![json!(["id", "in", ids])], &["id", "ref"], n).await?;
        Ok(rows.iter().filter_map(|r| Some((r.get("id")?.as_i64()?, partner_code(r)?))).collect())
    }
}

/// Our customer code of a partner; the same rule for partners and for the partner of a move.
pub fn partner_code(row: &Value) -> Option<String> {
    match text(row, "ref") {
        Some(r) => Some(r),
        None => Some(format!("odoo-{}", row.get("id")?.as_i64()?)),
    }
}

pub fn map_partner(row: &Value) -> Result<Value, String> {
    let code = partner_code(row).ok_or("id is missing")?;
    let name = text(row, "name").unwrap_or_else(|| code.clone());
    Ok(json!({ "code": code, "name": name }))
}

/// The partner a move (or payment) is booked on: its commercial (company) partner, else the partner.
fn move_partner(row: &Value) -> Option<i64> {
    ["commercial_partner_id", "partner_id"].iter().find_map(|f| many2one(row.get(*f)?).map(|(id, _)| id))
}

/// A many2one value: `[id, "display name"]` or `false`.
fn many2one(v: &Value) -> Option<(i64, String)> {
    let pair = v.as_array()?;
    Some((pair.first()?.as_i64()?, pair.get(1).and_then(text_value).unwrap_or_default()))
}

/// An `account.move` as a `documents::import` row; `codes` maps partner ids to customer codes.
pub fn map_move(row: &Value, codes: &HashMap<i64, String>) -> Result<Value, String> {
    let name = text(row, "name").ok_or("name is missing")?;
    let doc_type = match text(row, "move_type").as_deref() {
        Some("out_invoice") => "invoice",
        Some("out_refund") => "credit_note",
        other => return Err(format!("move_type {other:?} is not a customer invoice or credit note")),
    };
    let partner = move_partner(row).ok_or("partner_id is missing")?;
    let customer = codes.get(&partner).cloned().unwrap_or_else(|| format!("odoo-{partner}"));
    let currency = row.get("currency_id").and_then(many2one).map(|(_, c)| c).filter(|c| !c.is_empty());
    let currency = currency.ok_or("currency_id is missing")?;
    let total = text(row, "amount_total").ok_or("amount_total is missing")?;
    let amount = super::amount(&total, &currency).map_err(|e| format!("amount_total {e}"))?.abs();
    Ok(json!({
        "doc_type": doc_type,
        "doc_no": name,
        "customer_code": customer,
        "issue_date": text(row, "invoice_date").ok_or("invoice_date is missing")?,
        "due_date": text(row, "invoice_date_due"),
        "currency": currency,
        "amount": amount.to_string(),
        "external_reference": name,
        "source_system": "odoo",
    }))
}

/// A customer payment (`account.payment`) as a `documents::import` row.
pub fn map_payment(row: &Value, codes: &HashMap<i64, String>) -> Result<Value, String> {
    let name = text(row, "name").ok_or("name is missing")?;
    let partner = row.get("partner_id").and_then(many2one).map(|(id, _)| id).ok_or("partner_id is missing")?;
    let customer = codes.get(&partner).cloned().unwrap_or_else(|| format!("odoo-{partner}"));
    let currency = row.get("currency_id").and_then(many2one).map(|(_, c)| c).filter(|c| !c.is_empty());
    let currency = currency.ok_or("currency_id is missing")?;
    let raw = text(row, "amount").ok_or("amount is missing")?;
    let amount = super::amount(&raw, &currency).map_err(|e| format!("amount {e}"))?.abs();
    Ok(json!({
        "doc_type": "payment",
        "doc_no": name,
        "customer_code": customer,
        "issue_date": text(row, "date").ok_or("date is missing")?,
        "currency": currency,
        "amount": amount.to_string(),
        "external_reference": name,
        "source_system": "odoo",
    }))
}

pub async fn sync(env: &SyncEnv<'_>, config: &OdooConfig, creds: &OdooCredentials) -> Result<(), String> {
    let url = format!("{}/jsonrpc", config.base_url);
    let uid = call(env, &url, "common", "login", json!([config.database, config.username, creds.api_key])).await?;
    if !uid.is_i64() {
        // `login` answers `false` for a wrong user or key.
        return Err("authentication failed (Odoo login refused): check the connector's username and API key".into());
    }
    let session = Session { env, url, database: config.database.clone(), uid, key: creds.api_key.clone() };
    if config.sync_customers {
        sync_model(&session, config, "customers").await?;
    }
    sync_model(&session, config, "invoices").await?;
    if config.sync_payments {
        sync_model(&session, config, "payments").await?;
    }
    Ok(())
}

async fn sync_model(s: &Session<'_, '_>, config: &OdooConfig, key: &'static str) -> Result<(), String> {
    let mut cursor = KeysetCursor::from_value(s.env.cursor.get(key));
    loop {
        let (model, mut domain, fields): (&str, Vec<Value>, &[&str]) = match key {
            "customers" => ("res.partner", vec![json!(["customer_rank", ">", 0])], &PARTNER_FIELDS),
            "invoices" => (
                "account.move",
                vec![json!(["move_type", "in", ["out_invoice", "out_refund"]]), json!(["state", "=", "posted"])],
                &MOVE_FIELDS,
            ),
            _ => (
                "account.payment",
                vec![
                    json!(["partner_type", "=", "customer"]),
                    json!(["payment_type", "=", "inbound"]),
                    // `posted` up to Odoo 17; `in_process` and `paid` from 18.
                    json!(["state", "in", ["posted", "in_process", "paid"]]),
                ],
                &PAYMENT_FIELDS,
            ),
        };
        domain.extend(cursor.domain());
        let rows = s.search_read(model, domain, fields, config.page_size).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        let next = KeysetCursor {
            write_date: text(last, "write_date"),
            id: last.get("id").and_then(Value::as_i64).ok_or("malformed answer from Odoo: a record without id")?,
        };
        let codes = if key != "customers" {
            let mut ids: Vec<i64> = rows.iter().filter_map(move_partner).collect();
            ids.sort_unstable();
            ids.dedup();
            s.partner_codes(ids).await?
        } else {
            HashMap::new()
        };
        let (mut mapped, mut names, mut rejected) = (vec![], vec![], vec![]);
        for row in &rows {
            let name = text(row, "name").unwrap_or_default();
            let result = match key {
                "customers" => map_partner(row),
                "invoices" => map_move(row, &codes),
                _ => map_payment(row, &codes),
            };
            match result {
                Ok(v) => {
                    mapped.push(v);
                    names.push(name);
                }
                Err(error) => rejected.push(json!({ "kind": key, "record": name, "error": error })),
            }
        }
        let batch = if key == "customers" {
            Batch::Customers { kind: key, rows: mapped, names }
        } else {
            Batch::Documents { kind: key, rows: mapped, names }
        };
        s.env.sink.commit(Page { cursor: json!({ key: next.to_value() }), batches: vec![batch], rejected }).await?;
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
    fn maps_moves_with_the_partner_code_rule() {
        let codes = HashMap::from([(7, "ACME".to_string())]);
        let inv = map_move(
            &json!({"id":1,"name":"INV/2026/00001","move_type":"out_invoice","partner_id":[8,"Acme, Ana"],
                "commercial_partner_id":[7,"Acme"],"invoice_date":"2026-10-01","invoice_date_due":"2026-10-31",
                "currency_id":[1,"EUR"],"amount_total":1190.0,"write_date":"2026-10-01 10:00:00"}),
            &codes,
        )
        .unwrap();
        assert_eq!(inv["customer_code"], "ACME");
        assert_eq!(inv["doc_type"], "invoice");
        assert_eq!(inv["amount"], "1190");
        let refund = map_move(
            &json!({"id":2,"name":"RINV/2026/00001","move_type":"out_refund","partner_id":[9,"Beta"],
                "commercial_partner_id":false,"invoice_date":"2026-10-02","invoice_date_due":false,
                "currency_id":[1,"EUR"],"amount_total":50.25}),
            &codes,
        )
        .unwrap();
        assert_eq!(refund["doc_type"], "credit_note");
        assert_eq!(refund["customer_code"], "odoo-9");
        assert_eq!(refund["due_date"], Value::Null);
        assert!(map_move(&json!({"name":"X","move_type":"entry"}), &codes).is_err());
        assert_eq!(map_partner(&json!({"id":9,"name":"Beta","ref":false})).unwrap()["code"], "odoo-9");
        assert_eq!(map_partner(&json!({"id":7,"name":"Acme","ref":"ACME"})).unwrap()["code"], "ACME");
    }

    #[test]
    fn maps_customer_payments() {
        let codes = HashMap::from([(7, "ACME".to_string())]);
        let p = map_payment(
            &json!({"id":5,"name":"PBNK1/2026/00001","partner_id":[7,"Acme GmbH"],"date":"2026-10-10",
                "currency_id":[1,"EUR"],"amount":1000.0}),
            &codes,
        )
        .unwrap();
        assert_eq!(p["doc_type"], "payment");
        assert_eq!(p["customer_code"], "ACME");
        assert_eq!(p["amount"], "1000");
        assert_eq!(p["issue_date"], "2026-10-10");
    }

    #[test]
    fn keyset_domain_is_tie_safe() {
        assert!(KeysetCursor::default().domain().is_empty());
        let c = KeysetCursor { write_date: Some("2026-10-05 10:30:00".into()), id: 42 };
        assert_eq!(
            Value::Array(c.domain()),
            json!([
                "|",
                ["write_date", ">", "2026-10-05 10:30:00"],
                "&",
                ["write_date", "=", "2026-10-05 10:30:00"],
                ["id", ">", 42]
            ])
        );
    }

    #[test]
    fn access_denied_is_an_authentication_failure() {
        let e = json!({"code":200,"message":"Odoo Server Error","data":{"name":"odoo.exceptions.AccessDenied",
            "message":"Access Denied","debug":"Traceback ... secret"}});
        assert!(rpc_error(&e).starts_with("authentication failed"));
        let other = json!({"code":200,"message":"Odoo Server Error","data":{"name":"builtins.ValueError",
            "message":"Invalid field","debug":"Traceback"}});
        assert_eq!(rpc_error(&other), "Odoo error builtins.ValueError: Invalid field");
    }
}
