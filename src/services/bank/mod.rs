//! Bank accounts, bank statement ingestion (`import`: a file is parsed as a stream and its
//! lines are written in batches inside one transaction, whole or not at all) and bank lines.

mod import;
mod sink;

pub use import::{
    format_name, get_statement, import_statement, parse_format, ImportedStatement, StatementPart, StatementUpload,
};
pub use sink::DuplicateLine;

use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::bank_formats::{self, CsvMapping, CsvPreset};
use crate::db::audit as audit_db;
use crate::db::bank::{self as bank_db, BankAccount, BankLine, BankLineFilter};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::normalize_account;
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::audit::entry;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// ----- bank accounts -------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountInput {
    /// IBAN or the bank's account number, as statements name the account.
    pub account_id: String,
    /// ISO 4217 currency of the account (a withdrawn one, such as DEM, for old accounts).
    pub currency: String,
    pub bank_name: Option<String>,
    /// BIC of the bank that keeps the account.
    pub bic: Option<String>,
    pub name: Option<String>,
    /// Column mapping for this account's CSV exports; absent: the default mapping
    /// (`line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id`).
    #[serde(default, deserialize_with = "super::json_object")]
    #[schema(value_type = Option<Object>)]
    pub csv_mapping: Option<CsvMapping>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountPatch {
    pub bank_name: Option<String>,
    pub bic: Option<String>,
    pub name: Option<String>,
    /// Replaces the saved CSV mapping; `null` restores the default.
    #[serde(default, deserialize_with = "super::present_json_object")]
    #[schema(value_type = Option<Object>)]
    pub csv_mapping: Option<Option<CsvMapping>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BankAccountView {
    pub id: Uuid,
    pub account_id: String,
    pub currency: String,
    pub bank_name: Option<String>,
    pub bic: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub csv_mapping: Option<async_graphql::Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
}

impl From<BankAccount> for BankAccountView {
    fn from(a: BankAccount) -> Self {
        BankAccountView {
            id: a.id,
            account_id: a.account_id,
            currency: a.currency,
            bank_name: a.bank_name,
            bic: a.bic,
            name: a.name,
            csv_mapping: a.csv_mapping.map(async_graphql::Json),
            created_at: a.created_at,
        }
    }
}

pub fn create_account(
    conn: &mut PgConnection,
    principal: &Principal,
    input: BankAccountInput,
) -> AppResult<BankAccountView> {
    require(principal, Permission::Admin)?;
    let account_id = normalize_account(&input.account_id).map_err(|e| AppError::invalid("account_id", e))?;
    let currency = Currency::parse_including_withdrawn(&input.currency)
        .map_err(|e| AppError::invalid("currency", e.to_string()))?;
    let now = Utc::now();
    let account = BankAccount {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        account_id,
        currency: currency.code().to_string(),
        bank_name: input.bank_name,
        name: input.name,
        csv_mapping: input.csv_mapping.map(|m| serde_json::to_value(m).unwrap_or_default()),
        created_at: now,
        updated_at: now,
        bic: input.bic.map(|b| b.trim().to_ascii_uppercase()).filter(|b| !b.is_empty()),
    };
    bank_db::insert_account(conn, &account).map_err(|e| match AppError::from(e) {
        err if err.code == ErrorCode::Conflict => {
            AppError::conflict(format!("bank account {} already exists", account.account_id))
        }
        err => err,
    })?;
    let view = BankAccountView::from(account);
    let mut e = entry(principal, "bank_account.created", "bank_account", &view.id.to_string());
    e.after = serde_json::to_value(&view).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

pub fn update_account(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    patch: BankAccountPatch,
) -> AppResult<BankAccountView> {
    require(principal, Permission::Admin)?;
    let mut account =
        bank_db::find_account(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("bank account"))?;
    let before = BankAccountView::from(account.clone());
    if let Some(v) = patch.bank_name {
        account.bank_name = Some(v);
    }
    if let Some(v) = patch.name {
        account.name = Some(v);
    }
    if let Some(v) = patch.bic {
        account.bic = Some(v.trim().to_ascii_uppercase()).filter(|b| !b.is_empty());
    }
    if let Some(mapping) = patch.csv_mapping {
        account.csv_mapping = mapping.map(|m| serde_json::to_value(m).unwrap_or_default());
    }
    account.updated_at = Utc::now();
    bank_db::update_account(conn, &account)?;
    let view = BankAccountView::from(account);
    let mut e = entry(principal, "bank_account.updated", "bank_account", &view.id.to_string());
    e.before = serde_json::to_value(&before).ok();
    e.after = serde_json::to_value(&view).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

/// The tenant's account named by its id or its account identifier (IBAN, account number).
pub fn find_account(conn: &mut PgConnection, tenant_id: Uuid, given: &str) -> AppResult<Option<BankAccount>> {
    let by_id = Uuid::parse_str(given).ok();
    let key = normalize_account(given).unwrap_or_default();
    Ok(bank_db::accounts(conn, tenant_id)?.into_iter().find(|a| Some(a.id) == by_id || a.account_id == key))
}

pub fn list_accounts(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<BankAccountView>> {
    require(principal, Permission::Read)?;
    Ok(bank_db::accounts(conn, principal.tenant_id)?.into_iter().map(BankAccountView::from).collect())
}

// ----- import settings and formats ---------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankImportSettings {
    /// Uploads register the accounts their files name (currency, BIC, bank name from the file)
    /// when the uploading key is an admin's; `?register_accounts=` overrides it per upload.
    pub register_accounts: bool,
}

pub fn get_import_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<BankImportSettings> {
    require(principal, Permission::Read)?;
    Ok(BankImportSettings { register_accounts: bank_db::register_accounts_setting(conn, principal.tenant_id)? })
}

pub fn put_import_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: BankImportSettings,
) -> AppResult<BankImportSettings> {
    require(principal, Permission::Admin)?;
    let before = bank_db::register_accounts_setting(conn, principal.tenant_id)?;
    bank_db::put_register_accounts_setting(conn, principal.tenant_id, input.register_accounts)?;
    let tenant = principal.tenant_id.to_string();
    let mut e = entry(principal, "bank_import_settings.updated", "bank_import_settings", &tenant);
    e.before = Some(serde_json::json!({ "register_accounts": before }));
    e.after = Some(serde_json::json!({ "register_accounts": input.register_accounts }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(input)
}

/// A statement format the import reads.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormatInfo {
    /// The value of `?format=`.
    pub name: &'static str,
    pub description: &'static str,
    /// Versions and dialects read.
    pub dialects: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankFormats {
    pub formats: Vec<FormatInfo>,
    /// Named CSV mappings of banks' exports (`?preset=`), recognised by their header row when no
    /// format is given.
    pub presets: Vec<CsvPreset>,
}

pub fn formats(principal: &Principal) -> AppResult<BankFormats> {
    require(principal, Permission::Read)?;
    let formats = vec![
        FormatInfo {
            name: "camt053",
            description: "ISO 20022 bank-to-customer statement (camt.053)",
            dialects: "versions .001.01 to .001.12 (later ones read alike, with a warning); prefixed and enveloped                        documents (SWIFT AppHdr, DataPDU); batch entries split into their transactions when these add                        up; foreign-currency entries by their counter value",
        },
        FormatInfo {
            name: "camt054",
            description: "ISO 20022 debit/credit notification (camt.054)",
            dialects: "as camt053; no balances, so amounts are read in the registered account's currency",
        },
        FormatInfo {
            name: "mt940",
            description: "SWIFT MT940 customer statement",
            dialects: "multi-statement files, SWIFT blocks, transmission headers; :86: structured (?20..?63, German                        GVC), slash keywords (/EREF/../REMI/) or free text; short or missing type codes, blanks before                        the code, zero-padded amounts, withdrawn currencies (DEM ...)",
        },
        FormatInfo {
            name: "bai2",
            description: "BAI2 cash management balance report",
            dialects: "88 continuations with or without '/'; control totals and record counts (physical or logical)                        checked",
        },
        FormatInfo {
            name: "csv",
            description: "A bank's CSV export, read with a preset, the account's saved mapping or the default mapping",
            dialects: "preambles before the header, padded cells, UTF-8 or GBK/GB18030, currency names, amounts with                        their currency, separate income/expense columns, status columns, running balances and totals                        rows checked",
        },
    ];
    Ok(BankFormats { formats, presets: bank_formats::presets().to_vec() })
}

// ----- bank lines ----------------------------------------------------------------------------

pub use crate::domain::bank_line::BankLineStatus;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BankLineView {
    pub id: Uuid,
    pub bank_account: String,
    pub statement_id: Uuid,
    /// The bank's own entry reference.
    pub line_id: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed: credits positive, debits negative.
    pub amount: String,
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    /// The counterparty's account when it is not an IBAN.
    pub counterparty_account: Option<String>,
    pub remittance: Option<String>,
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_transaction_code: Option<String>,
    /// The bank's booking text (transaction type, channel).
    pub additional_info: Option<String>,
    pub reversal: bool,
    pub charges: Option<String>,
    pub status: BankLineStatus,
    pub applied_amount: String,
}

impl BankLineView {
    fn new(l: BankLine, account: String) -> Self {
        BankLineView {
            id: l.id,
            bank_account: account,
            statement_id: l.statement_id,
            line_id: l.bank_reference,
            booking_date: l.booking_date,
            value_date: l.value_date,
            amount: format_amount(&l.currency, l.amount),
            counterparty_name: l.counterparty_name,
            counterparty_iban: l.counterparty_iban,
            counterparty_account: l.counterparty_account,
            remittance: l.remittance,
            creditor_reference: l.creditor_reference,
            end_to_end_id: l.end_to_end_id,
            bank_transaction_code: l.bank_transaction_code,
            additional_info: l.additional_info,
            reversal: l.reversal,
            charges: l.charges.map(|c| format_amount(&l.currency, c)),
            status: l.status,
            applied_amount: format_amount(&l.currency, l.applied_amount),
            currency: l.currency,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BankLineQuery {
    /// Bank account id or account identifier (IBAN).
    pub bank_account: Option<String>,
    /// Lines of one imported statement file.
    pub statement: Option<Uuid>,
    pub booked_from: Option<NaiveDate>,
    pub booked_to: Option<NaiveDate>,
    /// Decimal string; amounts are signed.
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub status: Option<BankLineStatus>,
    /// Case-insensitive text in remittance, counterparty name, references.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub fn list_lines(
    conn: &mut PgConnection,
    principal: &Principal,
    q: BankLineQuery,
    max_limit: i64,
) -> AppResult<Page<BankLineView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max_limit)?;
    let bank_account_id = match &q.bank_account {
        None => None,
        Some(given) => match find_account(conn, principal.tenant_id, given)? {
            Some(a) => Some(a.id),
            None => return Ok(Page { items: vec![], next_cursor: None }),
        },
    };
    let amount = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| {
                t.trim().parse::<Decimal>().map_err(|_| AppError::invalid(field, format!("{t:?} is not a decimal")))
            })
            .transpose()
    };
    let filter = BankLineFilter {
        bank_account_id,
        statement_id: q.statement,
        booked_from: q.booked_from,
        booked_to: q.booked_to,
        min_amount: amount("min_amount", &q.min_amount)?,
        max_amount: amount("max_amount", &q.max_amount)?,
        status: q.status,
        text: q.q.filter(|t| !t.trim().is_empty()),
        after: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = bank_db::list_lines(conn, principal.tenant_id, &filter)?;
    Ok(page(rows, limit, |(l, _)| l.id, |(l, a)| BankLineView::new(l, a)))
}
