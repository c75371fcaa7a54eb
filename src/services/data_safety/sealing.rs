//! What is sealed with the tenant's data key, and how: webhook and inbound secrets (text),
//! connector credentials and push secrets (bytes), and, when the tenant's setting is on (the
//! default), customers' bank accounts and e-mail address. Customers always get keyed hashes of
//! their normalised bank accounts, by which matching finds a payer.
//!
//! [`seal_existing`] migrates rows written before: plaintext values are sealed in batches at
//! start-up; readers accept both forms meanwhile.

use super::keyring::Keyring;
use crate::db::customers::Customer;
use crate::domain::envelope::{bytes_version, text_version, TenantKeys};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

/// Whether the tenant seals customers' bank accounts and contact data (default: yes).
pub fn encrypts_customer_data(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        on: bool,
    }
    let row: Option<Row> =
        diesel::sql_query("SELECT encrypt_customer_data AS on FROM data_safety_settings WHERE tenant_id = $1")
            .bind::<SqlUuid, _>(tenant_id)
            .get_result(conn)
            .optional()?;
    Ok(row.map(|r| r.on).unwrap_or(true))
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

/// Stores the keyed hashes of many customers' accounts in one statement.
pub fn store_account_hashes_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: &[(Uuid, Vec<String>)],
) -> AppResult<()> {
    for chunk in rows.chunks(5000) {
        let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
        let hashes: Vec<serde_json::Value> = chunk.iter().map(|(_, h)| serde_json::json!(h)).collect();
        diesel::sql_query(
            "UPDATE customers c SET bank_account_hashes = ARRAY(SELECT jsonb_array_elements_text(v.h)) \
             FROM unnest($2::uuid[], $3::jsonb[]) AS v(id, h) WHERE c.tenant_id = $1 AND c.id = v.id",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<diesel::sql_types::Jsonb>, _>(&hashes)
        .execute(conn)?;
    }
    Ok(())
}

/// Stores the keyed hashes of the customer's accounts.
pub fn store_account_hashes(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, hashes: &[String]) -> AppResult<()> {
    diesel::sql_query("UPDATE customers SET bank_account_hashes = $3 WHERE tenant_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(id)
        .bind::<Array<Text>, _>(hashes)
        .execute(conn)?;
    Ok(())
}

/// Customers of the tenant that pay from an account with this keyed hash.
pub fn customers_by_account_hash(conn: &mut PgConnection, tenant_id: Uuid, hash: &str) -> AppResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT id FROM customers WHERE tenant_id = $1 AND bank_account_hashes @> ARRAY[$2::text] ORDER BY id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(hash)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
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
            _ => unreachable!("known tables"),
        };
        if let Some(last) = last {
            return Ok(BatchOutcome { rows, last: Some((table.to_string(), last)) });
        }
    }
    Ok(BatchOutcome { rows: 0, last: None })
}

pub const TABLES: [&str; 5] =
    ["webhook_endpoints", "inbound_secrets", "connectors", "connector_push_secrets", "customers"];

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

#[derive(QueryableByName)]
struct SecretRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    a: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    b: Option<String>,
}

#[derive(QueryableByName)]
struct BytesRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Nullable<Bytea>)]
    a: Option<Vec<u8>>,
}

/// Rows after `after` in id order whose value(s) may need work: `filter` is the SQL condition
/// for plaintext (the cheap pre-selection; `NotNewest` looks at every sealed row).
fn text_rows(
    conn: &mut PgConnection,
    select: &str,
    plain_filter: &str,
    target: &Target,
    after: Uuid,
) -> AppResult<Vec<SecretRow>> {
    let filter = match target {
        Target::Plaintext => plain_filter,
        Target::NotNewest => "true",
    };
    Ok(diesel::sql_query(format!(
        "{select} WHERE id > $1 AND ({filter}) ORDER BY id LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)?)
}

fn reseal_webhook_endpoints(
    conn: &mut PgConnection,
    keyring: &Keyring,
    target: &Target,
    after: Uuid,
) -> AppResult<(u64, Option<Uuid>)> {
    let rows = text_rows(
        conn,
        "SELECT id, tenant_id, secret AS a, previous_secret AS b FROM webhook_endpoints",
        "secret NOT LIKE 'dz1:%' OR previous_secret NOT LIKE 'dz1:%'",
        target,
        after,
    )?;
    let mut n = 0;
    for r in &rows {
        let keys = keyring.tenant(conn, r.tenant_id)?;
        let a = reseal_text(&keys, target, r.a.as_deref().unwrap_or_default())?;
        let b = match &r.b {
            Some(b) => reseal_text(&keys, target, b)?,
            None => None,
        };
        if a.is_some() || b.is_some() {
            diesel::sql_query(
                "UPDATE webhook_endpoints SET secret = coalesce($2, secret), previous_secret = coalesce($3, previous_secret) \
                 WHERE id = $1",
            )
            .bind::<SqlUuid, _>(r.id)
            .bind::<Nullable<Text>, _>(a)
            .bind::<Nullable<Text>, _>(b)
            .execute(conn)?;
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
    let rows = text_rows(
        conn,
        "SELECT id, tenant_id, secret AS a, NULL::text AS b FROM inbound_secrets",
        "secret NOT LIKE 'dz1:%'",
        target,
        after,
    )?;
    let mut n = 0;
    for r in &rows {
        let keys = keyring.tenant(conn, r.tenant_id)?;
        if let Some(a) = reseal_text(&keys, target, r.a.as_deref().unwrap_or_default())? {
            diesel::sql_query("UPDATE inbound_secrets SET secret = $2 WHERE id = $1")
                .bind::<SqlUuid, _>(r.id)
                .bind::<Text, _>(a)
                .execute(conn)?;
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
    let filter = match target {
        Target::Plaintext => {
            format!("{column} IS NOT NULL AND substring({column} from 1 for 4) <> '\\x445a4b31'::bytea")
        }
        Target::NotNewest => format!("{column} IS NOT NULL"),
    };
    let rows: Vec<BytesRow> = diesel::sql_query(format!(
        "SELECT id, tenant_id, {column} AS a FROM {table} WHERE id > $1 AND ({filter}) ORDER BY id LIMIT {BATCH} \
         FOR UPDATE SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)?;
    let mut n = 0;
    for r in &rows {
        let Some(stored) = &r.a else { continue };
        let keys = keyring.tenant(conn, r.tenant_id)?;
        if !needs_bytes(&keys, target, stored) {
            continue;
        }
        let plain = keys.open_bytes(stored, |s| keyring.open_legacy(s)).map_err(AppError::internal)?;
        diesel::sql_query(format!("UPDATE {table} SET {column} = $2 WHERE id = $1"))
            .bind::<SqlUuid, _>(r.id)
            .bind::<Bytea, _>(keys.seal_bytes(&plain))
            .execute(conn)?;
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
    let filter = match target {
        // Without hashes, or with a plaintext account or address while the tenant seals.
        Target::Plaintext => {
            "c.bank_account_hashes IS NULL OR (coalesce(s.encrypt_customer_data, true) AND \
             (c.email NOT LIKE 'dz1:%' OR EXISTS (SELECT 1 FROM unnest(c.bank_accounts) a WHERE a NOT LIKE 'dz1:%')))"
        }
        Target::NotNewest => {
            "c.email LIKE 'dz1:%' OR EXISTS (SELECT 1 FROM unnest(c.bank_accounts) a WHERE a LIKE 'dz1:%')"
        }
    };
    let rows: Vec<Customer> = diesel::sql_query(format!(
        "SELECT c.* FROM customers c LEFT JOIN data_safety_settings s ON s.tenant_id = c.tenant_id \
         WHERE c.id > $1 AND ({filter}) ORDER BY c.id LIMIT {BATCH} FOR UPDATE OF c SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)?;
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
        diesel::sql_query(
            "UPDATE customers SET bank_accounts = $2, email = $3, bank_account_hashes = $4 WHERE id = $1",
        )
        .bind::<SqlUuid, _>(c.id)
        .bind::<Array<Text>, _>(&plain.bank_accounts)
        .bind::<Nullable<Text>, _>(&plain.email)
        .bind::<Array<Text>, _>(&hashes)
        .execute(conn)?;
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
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Array<Text>)]
        aliases: Vec<String>,
        #[diesel(sql_type = Array<Text>)]
        bank_accounts: Vec<String>,
        #[diesel(sql_type = Nullable<Array<Text>>)]
        bank_account_hashes: Option<Vec<String>>,
    }
    #[derive(QueryableByName)]
    struct Iban {
        #[diesel(sql_type = Text)]
        iban: String,
    }
    let keys = keyring.tenant(conn, tenant_id)?;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT id, name, aliases, bank_accounts, bank_account_hashes FROM customers WHERE tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)?;
    let ibans: Vec<Iban> = diesel::sql_query(
        "SELECT DISTINCT counterparty_iban AS iban FROM bank_lines WHERE tenant_id = $1 AND counterparty_iban IS NOT NULL",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)?;
    let mut by_hash: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for i in ibans {
        let n = normalize_account(&i.iban);
        if !n.is_empty() {
            by_hash.entry(keys.lookup_hash(&n)).or_default().push(i.iban);
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
