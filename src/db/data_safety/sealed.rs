//! Rows holding sealed values and customers' keyed account hashes: the settings that say whether
//! a tenant seals customer data, batches of rows to (re-)seal, and what matching reads.

use crate::db::customers::Customer;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

/// The tenant's setting for sealing customer data (`None`: no settings row).
pub fn encrypt_customer_data(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<bool>> {
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
    Ok(row.map(|r| r.on))
}

/// Stores the keyed hashes of many customers' accounts, 5000 per statement.
pub fn store_account_hashes_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: &[(Uuid, Vec<String>)],
) -> QueryResult<()> {
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
pub fn store_account_hashes(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, hashes: &[String]) -> QueryResult<()> {
    diesel::sql_query("UPDATE customers SET bank_account_hashes = $3 WHERE tenant_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(id)
        .bind::<Array<Text>, _>(hashes)
        .execute(conn)?;
    Ok(())
}

/// Customers of the tenant that pay from an account with this keyed hash.
pub fn customers_by_account_hash(conn: &mut PgConnection, tenant_id: Uuid, hash: &str) -> QueryResult<Vec<Uuid>> {
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

/// A row with up to two sealed text values.
#[derive(QueryableByName)]
pub struct SecretRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub a: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub b: Option<String>,
}

/// A row with a sealed binary value.
#[derive(QueryableByName)]
pub struct BytesRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub a: Option<Vec<u8>>,
}

fn lock_text_rows(
    conn: &mut PgConnection,
    select: &str,
    plain_filter: &str,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<SecretRow>> {
    let filter = if only_plaintext { plain_filter } else { "true" };
    diesel::sql_query(format!("{select} WHERE id > $1 AND ({filter}) ORDER BY id LIMIT {limit} FOR UPDATE SKIP LOCKED"))
        .bind::<SqlUuid, _>(after)
        .load(conn)
}

/// Webhook endpoints after `after` in id order (with a plaintext secret when `only_plaintext`),
/// locked, skipping rows others hold: `a` the secret, `b` the previous one.
pub fn lock_webhook_secrets(
    conn: &mut PgConnection,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<SecretRow>> {
    lock_text_rows(
        conn,
        "SELECT id, tenant_id, secret AS a, previous_secret AS b FROM webhook_endpoints",
        "secret NOT LIKE 'dz1:%' OR previous_secret NOT LIKE 'dz1:%'",
        only_plaintext,
        after,
        limit,
    )
}

/// Inbound secrets after `after` in id order, as [`lock_webhook_secrets`].
pub fn lock_inbound_secrets(
    conn: &mut PgConnection,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<SecretRow>> {
    lock_text_rows(
        conn,
        "SELECT id, tenant_id, secret AS a, NULL::text AS b FROM inbound_secrets",
        "secret NOT LIKE 'dz1:%'",
        only_plaintext,
        after,
        limit,
    )
}

/// Replaces a webhook endpoint's secrets (`None` keeps one).
pub fn update_webhook_secrets(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    a: Option<String>,
    b: Option<String>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhook_endpoints SET secret = coalesce($2, secret), previous_secret = coalesce($3, previous_secret) \
         WHERE id = $1 AND tenant_id = $4",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(a)
    .bind::<Nullable<Text>, _>(b)
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)?;
    Ok(())
}

/// Replaces an inbound secret.
pub fn update_inbound_secret(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, secret: &str) -> QueryResult<()> {
    diesel::sql_query("UPDATE inbound_secrets SET secret = $2 WHERE id = $1 AND tenant_id = $3")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(secret)
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)?;
    Ok(())
}

/// Rows of `table` after `after` in id order with a value in `column` (not yet sealed by a data
/// key when `only_plaintext`), locked, skipping rows others hold. `table` and `column` are the
/// caller's constants.
pub fn lock_bytes_rows(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<BytesRow>> {
    let filter = if only_plaintext {
        format!("{column} IS NOT NULL AND substring({column} from 1 for 4) <> '\\x445a4b31'::bytea")
    } else {
        format!("{column} IS NOT NULL")
    };
    diesel::sql_query(format!(
        "SELECT id, tenant_id, {column} AS a FROM {table} WHERE id > $1 AND ({filter}) ORDER BY id LIMIT {limit} \
         FOR UPDATE SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)
}

/// Replaces the binary value in `column` of a row (`tenant_id`, `id`) of `table`.
pub fn update_bytes(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    (tenant_id, id): (Uuid, Uuid),
    value: &[u8],
) -> QueryResult<()> {
    diesel::sql_query(format!("UPDATE {table} SET {column} = $2 WHERE id = $1 AND tenant_id = $3"))
        .bind::<SqlUuid, _>(id)
        .bind::<Bytea, _>(value)
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)?;
    Ok(())
}

/// Customers after `after` in id order, locked, skipping rows others hold. `only_plaintext`:
/// those without hashes, or with a plaintext account or address while the tenant seals; else
/// those with any sealed value.
pub fn lock_customers(
    conn: &mut PgConnection,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<Customer>> {
    let filter = if only_plaintext {
        "c.bank_account_hashes IS NULL OR (coalesce(s.encrypt_customer_data, true) AND \
         (c.email NOT LIKE 'dz1:%' OR EXISTS (SELECT 1 FROM unnest(c.bank_accounts) a WHERE a NOT LIKE 'dz1:%')))"
    } else {
        "c.email LIKE 'dz1:%' OR EXISTS (SELECT 1 FROM unnest(c.bank_accounts) a WHERE a LIKE 'dz1:%')"
    };
    diesel::sql_query(format!(
        "SELECT c.* FROM customers c LEFT JOIN data_safety_settings s ON s.tenant_id = c.tenant_id \
         WHERE c.id > $1 AND ({filter}) ORDER BY c.id LIMIT {limit} FOR UPDATE OF c SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)
}

/// Replaces a customer's (sealed) accounts and address and its account hashes.
pub fn update_customer_sealed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    bank_accounts: &[String],
    email: &Option<String>,
    hashes: &[String],
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE customers SET bank_accounts = $2, email = $3, bank_account_hashes = $4 WHERE id = $1 AND tenant_id = $5",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Array<Text>, _>(bank_accounts)
    .bind::<Nullable<Text>, _>(email)
    .bind::<Array<Text>, _>(hashes)
    .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)?;
    Ok(())
}

/// Contacts after `after` in id order, locked, skipping rows others hold. `only_plaintext`:
/// contacts stored in clear while their tenant seals; else those sealed (all their personal
/// fields are sealed together, so the name tells).
pub fn lock_contacts(
    conn: &mut PgConnection,
    only_plaintext: bool,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<crate::db::customer_contacts::Contact>> {
    let filter = if only_plaintext {
        "coalesce(s.encrypt_customer_data, true) AND c.name NOT LIKE 'dz1:%'"
    } else {
        "c.name LIKE 'dz1:%'"
    };
    diesel::sql_query(format!(
        "SELECT c.* FROM customer_contacts c LEFT JOIN data_safety_settings s ON s.tenant_id = c.tenant_id \
         WHERE c.id > $1 AND ({filter}) ORDER BY c.id LIMIT {limit} FOR UPDATE OF c SKIP LOCKED"
    ))
    .bind::<SqlUuid, _>(after)
    .load(conn)
}

/// Replaces a contact's sealed fields.
pub fn update_contact_sealed(conn: &mut PgConnection, c: &crate::db::customer_contacts::Contact) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE customer_contacts SET name = $2, email = $3, phone = $4, address_lines = $5 \
         WHERE id = $1 AND tenant_id = $6",
    )
    .bind::<SqlUuid, _>(c.id)
    .bind::<Text, _>(&c.name)
    .bind::<Nullable<Text>, _>(&c.email)
    .bind::<Nullable<Text>, _>(&c.phone)
    .bind::<Array<Text>, _>(&c.address_lines)
    .bind::<SqlUuid, _>(c.tenant_id)
    .execute(conn)?;
    Ok(())
}

/// A customer as matching reads it: accounts as stored, and their keyed hashes (`None`: not
/// hashed yet).
#[derive(QueryableByName)]
pub struct MatchingRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Array<Text>)]
    pub aliases: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub bank_accounts: Vec<String>,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    pub bank_account_hashes: Option<Vec<String>>,
}

/// The tenant's customers for matching.
pub fn customers_for_matching(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<MatchingRow>> {
    diesel::sql_query(
        "SELECT id, name, aliases, bank_accounts, bank_account_hashes FROM customers WHERE tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
}

/// The distinct counterparty IBANs of the tenant's bank lines.
pub fn counterparty_ibans(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Iban {
        #[diesel(sql_type = Text)]
        iban: String,
    }
    let ibans: Vec<Iban> = diesel::sql_query(
        "SELECT DISTINCT counterparty_iban AS iban FROM bank_lines WHERE tenant_id = $1 AND counterparty_iban IS NOT NULL",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)?;
    Ok(ibans.into_iter().map(|i| i.iban).collect())
}
