//! Erasure on request: a customer's personal data (name, aliases, country, e-mail, bank accounts,
//! its contacts, the payer's name and account on the bank lines applied to its items, and the
//! notes of its contact log and collection tasks) is
//! replaced or deleted, while the ledger stays as it is (amounts, open items, allocations: the
//! company's books must still balance). The redaction is itself an audited entry holding SHA-256 hashes of what was erased,
//! so the hash chain keeps verifying; earlier entries keep what they recorded (see
//! docs/data-safety.md for the trade-off).

use crate::db::audit as audit_db;
use crate::db::customers as customers_db;
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use diesel::PgConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErasureView {
    pub customer_code: String,
    /// The name the customer now has.
    pub name: String,
    /// The fields that were erased.
    pub erased_fields: Vec<String>,
    /// Bank lines whose payer name and account were erased.
    pub bank_lines_redacted: i64,
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Erases the customer's personal data (admin). Idempotent: erasing again changes nothing more.
pub fn erase_customer(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<ErasureView> {
    require(principal, Permission::Admin)?;
    let mut c = customers_db::find_by_code_for_update(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))?;
    let placeholder = format!("erased customer {}", c.code);
    let mut erased = serde_json::Map::new();
    if c.name != placeholder {
        erased.insert("name".into(), digest(&c.name).into());
    }
    if !c.aliases.is_empty() {
        erased.insert("aliases".into(), c.aliases.iter().map(|a| digest(a)).collect::<Vec<_>>().into());
    }
    if let Some(country) = &c.country {
        erased.insert("country".into(), digest(country).into());
    }
    if let Some(email) = &c.email {
        erased.insert("email".into(), digest(email).into());
    }
    if !c.bank_accounts.is_empty() {
        erased.insert("bank_accounts".into(), c.bank_accounts.iter().map(|a| digest(a)).collect::<Vec<_>>().into());
    }
    c.name = placeholder.clone();
    c.aliases = vec![];
    c.country = None;
    c.email = None;
    c.bank_accounts = vec![];
    c.updated_at = chrono::Utc::now();
    customers_db::update(conn, &c)?;
    let lines = crate::db::data_safety::erasure::redact_payers(conn, principal.tenant_id, c.id)?;
    let contacts = crate::db::customer_contacts::delete_of_customer(conn, principal.tenant_id, c.id)?;
    if contacts > 0 {
        erased.insert("contacts".into(), contacts.into());
    }
    let learned = crate::db::learned_facts::delete_of_customer(conn, principal.tenant_id, c.id)?;
    if learned > 0 {
        erased.insert("learned_facts".into(), learned.into());
    }
    let notes = crate::db::data_safety::erasure::redact_collection_notes(conn, principal.tenant_id, c.id)?;
    if notes > 0 {
        erased.insert("collection_notes".into(), notes.into());
    }
    let fields: Vec<String> = erased.keys().cloned().collect();
    if !erased.is_empty() || lines > 0 {
        let mut e = entry(principal, "customer.erased", "customer", &c.code);
        e.after = Some(serde_json::json!({ "erased_sha256": erased, "bank_lines_redacted": lines }));
        audit_db::append(conn, principal.tenant_id, vec![e])?;
    }
    Ok(ErasureView { customer_code: c.code, name: placeholder, erased_fields: fields, bank_lines_redacted: lines })
}
