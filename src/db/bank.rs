//! Bank accounts, uploaded statement files and bank lines.

use super::schema::{bank_accounts, bank_import_settings, bank_lines, bank_statements};
use crate::domain::bank_line::BankLineStatus;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bank_accounts, treat_none_as_null = true)]
pub struct BankAccount {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: String,
    pub currency: String,
    pub bank_name: Option<String>,
    pub name: Option<String>,
    pub csv_mapping: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub bic: Option<String>,
}

pub fn insert_account(conn: &mut PgConnection, account: &BankAccount) -> QueryResult<()> {
    diesel::insert_into(bank_accounts::table).values(account).execute(conn).map(|_| ())
}

pub fn update_account(conn: &mut PgConnection, account: &BankAccount) -> QueryResult<()> {
    diesel::update(bank_accounts::table)
        .filter(bank_accounts::tenant_id.eq(account.tenant_id))
        .filter(bank_accounts::id.eq(account.id))
        .set(account)
        .execute(conn)
        .map(|_| ())
}

pub fn accounts(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<BankAccount>> {
    bank_accounts::table
        .filter(bank_accounts::tenant_id.eq(tenant_id))
        .order(bank_accounts::account_id.asc())
        .select(BankAccount::as_select())
        .load(conn)
}

pub fn find_account(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<BankAccount> {
    bank_accounts::table
        .filter(bank_accounts::tenant_id.eq(tenant_id))
        .filter(bank_accounts::id.eq(id))
        .select(BankAccount::as_select())
        .first(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bank_statements)]
pub struct BankStatement {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub format: String,
    pub file_sha256: String,
    pub file_bytes: i64,
    pub statements: Value,
    pub lines_imported: i32,
    pub duplicates_skipped: i32,
    pub warnings: Value,
    pub imported_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub preset: Option<String>,
    pub lines_not_imported: i32,
    pub duplicates: Value,
    pub accounts_created: Value,
}

pub fn insert_statement(conn: &mut PgConnection, s: &BankStatement) -> QueryResult<()> {
    diesel::insert_into(bank_statements::table).values(s).execute(conn).map(|_| ())
}

/// The statement row is written first (lines reference it) and completed at the end.
pub fn finish_statement(conn: &mut PgConnection, s: &BankStatement) -> QueryResult<()> {
    diesel::update(bank_statements::table.filter(bank_statements::tenant_id.eq(s.tenant_id)).find(s.id))
        .set((
            bank_statements::statements.eq(&s.statements),
            bank_statements::lines_imported.eq(s.lines_imported),
            bank_statements::duplicates_skipped.eq(s.duplicates_skipped),
            bank_statements::warnings.eq(&s.warnings),
            bank_statements::lines_not_imported.eq(s.lines_not_imported),
            bank_statements::duplicates.eq(&s.duplicates),
            bank_statements::accounts_created.eq(&s.accounts_created),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find_statement(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<BankStatement> {
    bank_statements::table
        .filter(bank_statements::tenant_id.eq(tenant_id))
        .filter(bank_statements::id.eq(id))
        .select(BankStatement::as_select())
        .first(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bank_lines)]
pub struct BankLine {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub bank_account_id: Uuid,
    pub statement_id: Uuid,
    pub bank_reference: Option<String>,
    pub dedupe_key: String,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub amount: Decimal,
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance: Option<String>,
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_transaction_code: Option<String>,
    pub reversal: bool,
    pub charges: Option<Decimal>,
    pub status: BankLineStatus,
    pub applied_amount: Decimal,
    pub created_at: DateTime<Utc>,
    pub counterparty_account: Option<String>,
    pub additional_info: Option<String>,
}

// A transaction-local copy of bank_lines without indexes: lines are COPYed in (fast, binary),
// then moved with INSERT .. ON CONFLICT DO NOTHING, which checks each row against the unique
// index directly. (Asking first which keys exist lets the planner pick a scan of the whole
// table per batch once it grows inside the transaction.)
diesel::table! {
    bank_lines_staging (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        bank_account_id -> Uuid,
        statement_id -> Uuid,
        bank_reference -> Nullable<Text>,
        dedupe_key -> Text,
        booking_date -> Date,
        value_date -> Nullable<Date>,
        amount -> Numeric,
        currency -> Bpchar,
        counterparty_name -> Nullable<Text>,
        counterparty_iban -> Nullable<Text>,
        remittance -> Nullable<Text>,
        creditor_reference -> Nullable<Text>,
        end_to_end_id -> Nullable<Text>,
        bank_transaction_code -> Nullable<Text>,
        reversal -> Bool,
        charges -> Nullable<Numeric>,
        status -> Text,
        applied_amount -> Numeric,
        created_at -> Timestamptz,
        counterparty_account -> Nullable<Text>,
        additional_info -> Nullable<Text>,
    }
}

#[derive(Insertable)]
#[diesel(table_name = bank_lines_staging, treat_none_as_default_value = false)]
struct StagedLine<'a> {
    id: Uuid,
    tenant_id: Uuid,
    bank_account_id: Uuid,
    statement_id: Uuid,
    bank_reference: Option<&'a str>,
    dedupe_key: &'a str,
    booking_date: NaiveDate,
    value_date: Option<NaiveDate>,
    amount: Decimal,
    currency: &'a str,
    counterparty_name: Option<&'a str>,
    counterparty_iban: Option<&'a str>,
    remittance: Option<&'a str>,
    creditor_reference: Option<&'a str>,
    end_to_end_id: Option<&'a str>,
    bank_transaction_code: Option<&'a str>,
    reversal: bool,
    charges: Option<Decimal>,
    status: &'a str,
    applied_amount: Decimal,
    created_at: DateTime<Utc>,
    counterparty_account: Option<&'a str>,
    additional_info: Option<&'a str>,
}

/// Up to this many lines are inserted with one plain INSERT (25 bind parameters a line); larger
/// batches go through COPY into a temporary staging table.
const DIRECT_INSERT_MAX: usize = 1000;

/// Inserts lines, skipping those already stored (same account and dedupe key, including lines
/// written earlier in the same transaction) and repeats within `lines`. Returns how many were
/// inserted.
pub fn insert_new_lines(conn: &mut PgConnection, lines: &[BankLine]) -> QueryResult<usize> {
    if lines.is_empty() {
        return Ok(0);
    }
    if lines.len() <= DIRECT_INSERT_MAX {
        // A small file: one INSERT. (Creating the temporary staging table is catalog work that
        // cost more than the whole rest of a 5-line import.) DO NOTHING also skips repeats within
        // `lines`: a row conflicting with one this statement inserted is skipped as well.
        return diesel::insert_into(bank_lines::table)
            .values(lines)
            .on_conflict((bank_lines::tenant_id, bank_lines::bank_account_id, bank_lines::dedupe_key))
            .do_nothing()
            .execute(conn);
    }
    diesel::sql_query(
        "CREATE TEMP TABLE IF NOT EXISTS bank_lines_staging \
         (LIKE bank_lines INCLUDING DEFAULTS) ON COMMIT DROP",
    )
    .execute(conn)?;
    let staged: Vec<StagedLine<'_>> = lines
        .iter()
        .map(|l| StagedLine {
            id: l.id,
            tenant_id: l.tenant_id,
            bank_account_id: l.bank_account_id,
            statement_id: l.statement_id,
            bank_reference: l.bank_reference.as_deref(),
            dedupe_key: &l.dedupe_key,
            booking_date: l.booking_date,
            value_date: l.value_date,
            amount: l.amount,
            currency: &l.currency,
            counterparty_name: l.counterparty_name.as_deref(),
            counterparty_iban: l.counterparty_iban.as_deref(),
            remittance: l.remittance.as_deref(),
            creditor_reference: l.creditor_reference.as_deref(),
            end_to_end_id: l.end_to_end_id.as_deref(),
            bank_transaction_code: l.bank_transaction_code.as_deref(),
            reversal: l.reversal,
            charges: l.charges,
            status: l.status.as_str(),
            applied_amount: l.applied_amount,
            created_at: l.created_at,
            counterparty_account: l.counterparty_account.as_deref(),
            additional_info: l.additional_info.as_deref(),
        })
        .collect();
    diesel::copy_from(bank_lines_staging::table).from_insertable(&staged).execute(conn)?;
    let inserted = diesel::sql_query(
        "INSERT INTO bank_lines SELECT * FROM bank_lines_staging ORDER BY id \
         ON CONFLICT (tenant_id, bank_account_id, dedupe_key) DO NOTHING",
    )
    .execute(conn)?;
    diesel::sql_query("TRUNCATE bank_lines_staging").execute(conn)?;
    Ok(inserted)
}

/// For lines of `lines` that were not inserted (a line with the same key exists): the index in
/// `lines`, and the id and statement of the line already there. Called only when an insert
/// skipped lines, so imports without duplicates never pay for it.
pub fn already_imported(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    statement_id: Uuid,
    lines: &[BankLine],
) -> QueryResult<Vec<(usize, Uuid, Uuid)>> {
    #[derive(QueryableByName)]
    struct Existing {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        bank_account_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        dedupe_key: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        statement_id: Uuid,
    }
    use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
    let accounts: Vec<Uuid> = lines.iter().map(|l| l.bank_account_id).collect();
    let keys: Vec<&str> = lines.iter().map(|l| l.dedupe_key.as_str()).collect();
    let found: Vec<Existing> = diesel::sql_query(
        "SELECT l.bank_account_id, l.dedupe_key, l.id, l.statement_id \
         FROM unnest($2::uuid[], $3::text[]) AS k(bank_account_id, dedupe_key) \
         JOIN bank_lines l ON l.tenant_id = $1 AND l.bank_account_id = k.bank_account_id \
                          AND l.dedupe_key = k.dedupe_key \
         WHERE l.statement_id <> $4",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<Array<Text>, _>(&keys)
    .bind::<SqlUuid, _>(statement_id)
    .load(conn)?;
    let by_key: std::collections::HashMap<(Uuid, &str), (Uuid, Uuid)> =
        found.iter().map(|e| ((e.bank_account_id, e.dedupe_key.as_str()), (e.id, e.statement_id))).collect();
    Ok(lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| by_key.get(&(l.bank_account_id, l.dedupe_key.as_str())).map(|(id, s)| (i, *id, *s)))
        .collect())
}

/// Whether the tenant registers the accounts an uploaded file names.
pub fn register_accounts_setting(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    bank_import_settings::table
        .find(tenant_id)
        .select(bank_import_settings::register_accounts)
        .first(conn)
        .optional()
        .map(|v| v.unwrap_or(false))
}

pub fn put_register_accounts_setting(conn: &mut PgConnection, tenant_id: Uuid, register: bool) -> QueryResult<()> {
    diesel::insert_into(bank_import_settings::table)
        .values((
            bank_import_settings::tenant_id.eq(tenant_id),
            bank_import_settings::register_accounts.eq(register),
            bank_import_settings::updated_at.eq(Utc::now()),
        ))
        .on_conflict(bank_import_settings::tenant_id)
        .do_update()
        .set((bank_import_settings::register_accounts.eq(register), bank_import_settings::updated_at.eq(Utc::now())))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct BankLineFilter {
    pub bank_account_id: Option<Uuid>,
    pub statement_id: Option<Uuid>,
    pub booked_from: Option<NaiveDate>,
    pub booked_to: Option<NaiveDate>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub status: Option<BankLineStatus>,
    pub text: Option<String>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn list_lines(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &BankLineFilter,
) -> QueryResult<Vec<(BankLine, String)>> {
    let mut query = bank_lines::table
        .inner_join(bank_accounts::table)
        .filter(bank_lines::tenant_id.eq(tenant_id))
        .filter(bank_accounts::tenant_id.eq(tenant_id))
        .select((BankLine::as_select(), bank_accounts::account_id))
        .into_boxed();
    if let Some(id) = f.bank_account_id {
        query = query.filter(bank_lines::bank_account_id.eq(id));
    }
    if let Some(id) = f.statement_id {
        query = query.filter(bank_lines::statement_id.eq(id));
    }
    if let Some(d) = f.booked_from {
        query = query.filter(bank_lines::booking_date.ge(d));
    }
    if let Some(d) = f.booked_to {
        query = query.filter(bank_lines::booking_date.le(d));
    }
    if let Some(a) = f.min_amount {
        query = query.filter(bank_lines::amount.ge(a));
    }
    if let Some(a) = f.max_amount {
        query = query.filter(bank_lines::amount.le(a));
    }
    if let Some(s) = f.status {
        query = query.filter(bank_lines::status.eq(s));
    }
    if let Some(text) = &f.text {
        let pattern = super::like_pattern(text);
        query = query.filter(
            bank_lines::remittance
                .ilike(pattern.clone())
                .or(bank_lines::counterparty_name.ilike(pattern.clone()))
                .or(bank_lines::bank_reference.ilike(pattern.clone()))
                .or(bank_lines::creditor_reference.ilike(pattern.clone()))
                .or(bank_lines::end_to_end_id.ilike(pattern)),
        );
    }
    if let Some(after) = f.after {
        query = query.filter(bank_lines::id.gt(after));
    }
    query.order(bank_lines::id.asc()).limit(f.limit).load(conn)
}
