//! What is sealed with the tenant's data key, and how: webhook and inbound secrets (text),
//! connector credentials and push secrets (bytes), and, when the tenant's setting is on (the
//! default), customers' bank accounts and e-mail address. Customers always get keyed hashes of
//! their normalised bank accounts, by which matching finds a payer.
//!
//! [`seal_existing`] migrates rows written before: plaintext values are sealed in batches at
//! start-up; readers accept both forms meanwhile.

use super::keyring::Keyring;
use crate::db::customer_contacts::Contact;
use crate::db::customers::Customer;
use crate::db::data_safety::sealed as sealed_db;
use crate::domain::envelope::{bytes_version, text_version, TenantKeys};
use crate::error::{AppError, AppResult};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

/// Whether the tenant seals customers' bank accounts and contact data (default: yes).
pub fn encrypts_customer_data(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<bool> {
    Ok(sealed_db::encrypt_customer_data(conn, tenant_id)?.unwrap_or(true))
}

/// Upper-case without spaces, as matching compares IBANs.
pub fn normalize_account(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Keyed hashes of the accounts, normalised as matching normalises them.
pub fn account_hashes(keys: &TenantKeys, accounts: &[String]) -> Vec<String> {
    let mut hashes: Vec<String> = Vec::with_capacity(accounts.len());
    for a in accounts {
        let n = normalize_account(a);
        if n.is_empty() {
            continue;
        }
        let h = keys.lookup_hash(&n);
        if !hashes.contains(&h) {
            hashes.push(h);
        }
    }
    hashes
}

/// Seals the customer's bank accounts and e-mail in place (unless `encrypt` is off) and returns
/// the keyed hashes of its accounts. `c` holds plaintext.
pub fn seal_customer(keys: &TenantKeys, encrypt: bool, c: &mut Customer) -> Vec<String> {
    let hashes = account_hashes(keys, &c.bank_accounts);
    if encrypt {
        c.bank_accounts = c.bank_accounts.iter().map(|a| keys.seal_text(a)).collect();
        c.email = c.email.as_deref().map(|e| keys.seal_text(e));
    }
    hashes
}

/// Opens the customer's sealed fields in place (plaintext ones stay as they are).
pub fn open_customer(keys: &TenantKeys, c: &mut Customer) -> AppResult<()> {
    for a in c.bank_accounts.iter_mut() {
        *a = keys.open_text(a).map_err(AppError::internal)?;
    }
    if let Some(e) = c.email.as_mut() {
        *e = keys.open_text(e).map_err(AppError::internal)?;
    }
    Ok(())
}

/// What a customer service needs to read and write a tenant's customers.
pub struct CustomerSealer {
    keys: std::sync::Arc<TenantKeys>,
    encrypt: bool,
}

impl CustomerSealer {
    pub fn new(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<CustomerSealer> {
        Ok(CustomerSealer { keys: keyring.tenant(conn, tenant_id)?, encrypt: encrypts_customer_data(conn, tenant_id)? })
    }

    /// The customer with its sealed fields opened.
    pub fn open(&self, mut c: Customer) -> AppResult<Customer> {
        open_customer(&self.keys, &mut c)?;
        Ok(c)
    }

    /// The row to store for a plaintext customer, and the keyed hashes of its accounts.
    pub fn seal(&self, c: &Customer) -> (Customer, Vec<String>) {
        let mut stored = c.clone();
        let hashes = seal_customer(&self.keys, self.encrypt, &mut stored);
        (stored, hashes)
    }

    /// An audit snapshot without the sealed fields in clear: accounts and address become
    /// `hmac:` plus the start of their keyed hash (equal values stay recognisable).
    pub fn for_audit(&self, snapshot: Option<serde_json::Value>) -> Option<serde_json::Value> {
        use serde_json::Value;
        let mut v = snapshot?;
        let mask = |s: &str| Value::String(format!("hmac:{}", &self.keys.lookup_hash(&normalize_account(s))[..16]));
        if let Some(Value::Array(accounts)) = v.get_mut("bank_accounts") {
            for a in accounts.iter_mut() {
                if let Value::String(s) = a {
                    *a = mask(s);
                }
            }
        }
        if let Some(e) = v.get_mut("email") {
            if let Value::String(s) = e {
                *e = mask(&s.to_lowercase());
            }
        }
        Some(v)
    }
}

/// What a contact service needs to read and write a tenant's customer contacts: the person's
/// name, e-mail, phone and address lines are sealed when the tenant encrypts customer data.
pub struct ContactSealer {
    keys: std::sync::Arc<TenantKeys>,
    encrypt: bool,
}

impl ContactSealer {
    pub fn new(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<ContactSealer> {
        Ok(ContactSealer { keys: keyring.tenant(conn, tenant_id)?, encrypt: encrypts_customer_data(conn, tenant_id)? })
    }

    /// The row to store for a plaintext contact.
    pub fn seal(&self, c: &Contact) -> Contact {
        let mut stored = c.clone();
        if self.encrypt {
            seal_contact(&self.keys, &mut stored);
        }
        stored
    }

    /// The contact with its sealed fields opened.
    pub fn open(&self, mut c: Contact) -> AppResult<Contact> {
        open_contact(&self.keys, &mut c)?;
        Ok(c)
    }

    /// An audit snapshot without the personal fields in clear (keyed hashes instead).
    pub fn for_audit(&self, snapshot: Option<serde_json::Value>) -> Option<serde_json::Value> {
        use serde_json::Value;
        let mut v = snapshot?;
        if !self.encrypt {
            return Some(v);
        }
        let mask = |s: &str| Value::String(format!("hmac:{}", &self.keys.lookup_hash(s)[..16]));
        for field in ["name", "email", "phone"] {
            if let Some(Value::String(s)) = v.get(field).cloned() {
                v[field] = mask(&s);
            }
        }
        if let Some(Value::Array(lines)) = v.get_mut("address_lines") {
            for l in lines.iter_mut() {
                if let Value::String(s) = l {
                    *l = mask(s);
                }
            }
        }
        Some(v)
    }
}

/// Seals the tenant's contacts stored in clear (after a tenant import), when the tenant seals
/// customer data; returns how many rows changed.
pub fn seal_tenant_contacts(conn: &mut PgConnection, keyring: &Keyring, tenant_id: Uuid) -> AppResult<u64> {
    let sealer = ContactSealer::new(keyring, conn, tenant_id)?;
    if !sealer.encrypt {
        return Ok(0);
    }
    let mut n = 0;
    for c in crate::db::customer_contacts::of_tenant(conn, tenant_id)? {
        if text_version(&c.name).is_none() {
            sealed_db::update_contact_sealed(conn, &sealer.seal(&c))?;
            n += 1;
        }
    }
    Ok(n)
}

fn seal_contact(keys: &TenantKeys, c: &mut Contact) {
    c.name = keys.seal_text(&c.name);
    c.email = c.email.as_deref().map(|e| keys.seal_text(e));
    c.phone = c.phone.as_deref().map(|e| keys.seal_text(e));
    c.address_lines = c.address_lines.iter().map(|l| keys.seal_text(l)).collect();
}

fn open_contact(keys: &TenantKeys, c: &mut Contact) -> AppResult<()> {
    let open = |s: &str| keys.open_text(s).map_err(AppError::internal);
    c.name = open(&c.name)?;
    c.email = c.email.as_deref().map(open).transpose()?;
    c.phone = c.phone.as_deref().map(open).transpose()?;
    c.address_lines = c.address_lines.iter().map(|l| open(l)).collect::<AppResult<_>>()?;
    Ok(())
}

/// Stores the keyed hashes of many customers' accounts in one statement.
pub fn store_account_hashes_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: &[(Uuid, Vec<String>)],
) -> AppResult<()> {
    Ok(sealed_db::store_account_hashes_many(conn, tenant_id, rows)?)
}

/// Stores the keyed hashes of the customer's accounts.
pub fn store_account_hashes(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, hashes: &[String]) -> AppResult<()> {
    Ok(sealed_db::store_account_hashes(conn, tenant_id, id, hashes)?)
}

/// Customers of the tenant that pay from an account with this keyed hash.
pub fn customers_by_account_hash(conn: &mut PgConnection, tenant_id: Uuid, hash: &str) -> AppResult<Vec<Uuid>> {
    Ok(sealed_db::customers_by_account_hash(conn, tenant_id, hash)?)
}

/// Seals a text secret (webhook, inbound).
pub fn seal_text(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid, plain: &str) -> AppResult<String> {
    Ok(keyring.tenant(conn, tenant_id)?.seal_text(plain))
}

/// Opens a text secret (plaintext not yet migrated passes).
pub fn open_text(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid, stored: &str) -> AppResult<String> {
    if text_version(stored).is_none() {
        return Ok(stored.to_string());
    }
    keyring.tenant(conn, tenant_id)?.open_text(stored).map_err(AppError::internal)
}

pub fn seal_bytes(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid, plain: &[u8]) -> AppResult<Vec<u8>> {
    Ok(keyring.tenant(conn, tenant_id)?.seal_bytes(plain))
}

/// Opens sealed bytes; values sealed directly by a master key (before data keys) open too.
pub fn open_bytes(keyring: &Keyring, conn: &mut PgConnection, tenant_id: Uuid, stored: &[u8]) -> AppResult<Vec<u8>> {
    if bytes_version(stored).is_none() {
        return keyring.open_legacy(stored).map_err(AppError::internal);
    }
    keyring.tenant(conn, tenant_id)?.open_bytes(stored, |s| keyring.open_legacy(s)).map_err(AppError::internal)
}

/// Rows sealed per statement by [`seal_existing`] and by key rotation.
pub const BATCH: i64 = 200;

/// Seals every value still stored in plaintext (or sealed by a data key version other than the
/// tenant's newest when `only_current` is false... see `rotate`), batch by batch, each batch
/// its own transaction. Returns how many rows changed.
pub fn seal_existing(conn: &mut PgConnection, keyring: &Keyring) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let n = conn.transaction(|conn| reseal_batch(conn, keyring, &Target::Plaintext, None))?;
        total += n.rows;
        if n.rows == 0 {
            return Ok(total);
        }
    }
}

/// Which rows a batch reseals.
pub enum Target {
    /// Values not sealed yet (and customers without hashes).
    Plaintext,
    /// Every value not sealed by the tenant's newest data key.
    NotNewest,
}

pub struct BatchOutcome {
    pub rows: u64,
    /// The table the batch worked on and the last id it did, for resuming.
    pub last: Option<(String, Uuid)>,
}

/// One batch on the first table with work after `resume` (table, id): at most [`BATCH`] rows,
/// locked with SKIP LOCKED so requests updating a row meanwhile are neither blocked long nor
/// overwritten (they are sealed by the next pass).
pub fn reseal_batch(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    resume: Option<(&str, Uuid)>,
) -> AppResult<BatchOutcome> {
    let tables = TABLES;
    let start = resume.map(|(t, _)| tables.iter().position(|x| *x == t).unwrap_or(0)).unwrap_or(0);
    for (i, table) in tables.iter().enumerate().skip(start) {
        let after = match resume {
            Some((t, id)) if i == start && t == *table => id,
            _ => Uuid::nil(),
        };
        let (rows, last) = match *table {
            "webhook_endpoints" => reseal_webhook_endpoints(conn, keyring, target, after)?,
            "inbound_secrets" => reseal_inbound(conn, keyring, target, after)?,
            "connectors" => reseal_connectors(conn, keyring, target, after)?,
            "connector_push_secrets" => reseal_push(conn, keyring, target, after)?,
            "customers" => reseal_customers(conn, keyring, target, after)?,
            "customer_contacts" => reseal_contacts(conn, keyring, target, after)?,
            _ => unreachable!("known tables"),
        };
        if let Some(last) = last {
            return Ok(BatchOutcome { rows, last: Some((table.to_string(), last)) });
        }
    }
    Ok(BatchOutcome { rows: 0, last: None })
}

pub const TABLES: [&str; 6] =
    ["webhook_endpoints", "inbound_secrets", "connectors", "connector_push_secrets", "customers", "customer_contacts"];

fn needs_text(keys: &TenantKeys, target: &Target, stored: &str) -> bool {
    match (target, text_version(stored)) {
        (_, None) => true,
        (Target::Plaintext, Some(_)) => false,
        (Target::NotNewest, Some(v)) => v != keys.current_version(),
    }
}

fn needs_bytes(keys: &TenantKeys, target: &Target, stored: &[u8]) -> bool {
    match (target, bytes_version(stored)) {
        (_, None) => true,
        (Target::Plaintext, Some(_)) => false,
        (Target::NotNewest, Some(v)) => v != keys.current_version(),
    }
}

fn reseal_text(keys: &TenantKeys, target: &Target, stored: &str) -> AppResult<Option<String>> {
    if !needs_text(keys, target, stored) {
        return Ok(None);
    }
    let plain = keys.open_text(stored).map_err(AppError::internal)?;
    Ok(Some(keys.seal_text(&plain)))
}

fn only_plaintext(target: &Target) -> bool {
    matches!(target, Target::Plaintext)
}

fn reseal_webhook_endpoints(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = sealed_db::lock_webhook_secrets(conn, only_plaintext(target), after, BATCH)?;
    let mut n = 0;
    for r in &rows {
        let keys = keyring.tenant(conn, r.tenant_id)?;
        let a = reseal_text(&keys, target, r.a.as_deref().unwrap_or_default())?;
        let b = match &r.b {
            Some(b) => reseal_text(&keys, target, b)?,
            None => None,
        };
        if a.is_some() || b.is_some() {
            sealed_db::update_webhook_secrets(conn, r.tenant_id, r.id, a, b)?;
            n += 1;
        }
    }
    Ok((n, rows.last().map(|r| r.id)))
}

fn reseal_inbound(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = sealed_db::lock_inbound_secrets(conn, only_plaintext(target), after, BATCH)?;
    let mut n = 0;
    for r in &rows {
        let keys = keyring.tenant(conn, r.tenant_id)?;
        if let Some(a) = reseal_text(&keys, target, r.a.as_deref().unwrap_or_default())? {
            sealed_db::update_inbound_secret(conn, r.tenant_id, r.id, &a)?;
            n += 1;
        }
    }
    Ok((n, rows.last().map(|r| r.id)))
}

fn reseal_bytes_table(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
    table: &str,
    column: &str,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = sealed_db::lock_bytes_rows(conn, table, column, only_plaintext(target), after, BATCH)?;
    let mut n = 0;
    for r in &rows {
        let Some(stored) = &r.a else { continue };
        let keys = keyring.tenant(conn, r.tenant_id)?;
        if !needs_bytes(&keys, target, stored) {
            continue;
        }
        let plain = keys.open_bytes(stored, |s| keyring.open_legacy(s)).map_err(AppError::internal)?;
        sealed_db::update_bytes(conn, table, column, (r.tenant_id, r.id), &keys.seal_bytes(&plain))?;
        n += 1;
    }
    Ok((n, rows.last().map(|r| r.id)))
}

fn reseal_connectors(conn: &mut PgConnection, k: &Keyring, t: &Target, after: Uuid) -> AppResult<(u64, Option<Uuid>)> {
    reseal_bytes_table(conn, k, t, after, "connectors", "credentials")
}

fn reseal_push(conn: &mut PgConnection, k: &Keyring, t: &Target, after: Uuid) -> AppResult<(u64, Option<Uuid>)> {
    reseal_bytes_table(conn, k, t, after, "connector_push_secrets", "sealed_secret")
}

fn reseal_customers(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = sealed_db::lock_customers(conn, only_plaintext(target), after, BATCH)?;
    let mut n = 0;
    for c in &rows {
        let keys = keyring.tenant(conn, c.tenant_id)?;
        let sealed_before = c.email.as_deref().is_some_and(|e| text_version(e).is_some())
            || c.bank_accounts.iter().any(|a| text_version(a).is_some());
        let stale = match target {
            Target::Plaintext => true,
            Target::NotNewest => c
                .email
                .iter()
                .chain(c.bank_accounts.iter())
                .any(|v| text_version(v).is_some_and(|ver| ver != keys.current_version())),
        };
        if !stale {
            continue;
        }
        let encrypt = match target {
            Target::Plaintext => encrypts_customer_data(conn, c.tenant_id)?,
            Target::NotNewest => sealed_before,
        };
        let mut plain = c.clone();
        open_customer(&keys, &mut plain)?;
        let hashes = seal_customer(&keys, encrypt, &mut plain);
        sealed_db::update_customer_sealed(conn, c.tenant_id, c.id, &plain.bank_accounts, &plain.email, &hashes)?;
        n += 1;
    }
    Ok((n, rows.last().map(|c| c.id)))
}

fn reseal_contacts(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = sealed_db::lock_contacts(conn, only_plaintext(target), after, BATCH)?;
    let mut n = 0;
    for c in &rows {
        let keys = keyring.tenant(conn, c.tenant_id)?;
        if !needs_text(&keys, target, &c.name) {
            continue;
        }
        let mut plain = c.clone();
        open_contact(&keys, &mut plain)?;
        seal_contact(&keys, &mut plain);
        sealed_db::update_contact_sealed(conn, &plain)?;
        n += 1;
    }
    Ok((n, rows.last().map(|c| c.id)))
}

/// Customers as the matching engine needs them: (id, name, aliases, accounts). The accounts are
/// found by keyed hash, never by reading sealed values: the counterparty IBANs of the tenant's
/// bank lines are hashed and each customer gets those whose hash it holds (customers not yet
/// hashed are opened instead).
pub fn customers_for_matching(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> AppResult<Vec<crate::db::cash_application::MatchingCustomer>> {
    let keys = keyring.tenant(conn, tenant_id)?;
    let rows = sealed_db::customers_for_matching(conn, tenant_id)?;
    let ibans = sealed_db::counterparty_ibans(conn, tenant_id)?;
    let mut by_hash: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for iban in ibans {
        let n = normalize_account(&iban);
        if !n.is_empty() {
            by_hash.entry(keys.lookup_hash(&n)).or_default().push(iban);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let accounts = match r.bank_account_hashes {
            Some(hashes) => hashes.iter().filter_map(|h| by_hash.get(h)).flatten().cloned().collect(),
            None => r
                .bank_accounts
                .iter()
                .map(|a| keys.open_text(a).map_err(AppError::internal))
                .collect::<AppResult<Vec<_>>>()?,
        };
        out.push(crate::db::cash_application::MatchingCustomer {
            id: r.id,
            name: r.name,
            aliases: r.aliases,
            bank_accounts: accounts,
        });
    }
    Ok(out)
}
