//! Bank accounts and bank statement ingestion. A statement file is parsed as a stream and its
//! lines are written in batches inside one transaction: a file is imported whole or not at all,
//! and memory does not grow with the file.

use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::bank_formats::{self, CsvMapping, Format, ParseError, ParsedLine, StatementHeader, StatementSink};
use crate::db::audit as audit_db;
use crate::db::bank::{self as bank_db, BankAccount, BankLine, BankLineFilter, BankStatement};
use crate::domain::auth::{Permission, Principal};
use crate::domain::bank_line::{content_hash, dedupe_key, LineContent};
use crate::domain::customer::normalize_account;
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::audit::entry;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{PgConnection, QueryResult};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

// ----- bank accounts -------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountInput {
    /// IBAN or the bank's account number, as statements name the account.
    pub account_id: String,
    /// ISO 4217 currency of the account.
    pub currency: String,
    pub bank_name: Option<String>,
    pub name: Option<String>,
    /// Column mapping for this account's CSV exports; absent: the default mapping
    /// (`line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id`).
    #[schema(value_type = Option<Object>)]
    pub csv_mapping: Option<CsvMapping>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountPatch {
    pub bank_name: Option<String>,
    pub name: Option<String>,
    /// Replaces the saved CSV mapping; `null` restores the default.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Object>)]
    pub csv_mapping: Option<Option<CsvMapping>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BankAccountView {
    pub id: Uuid,
    pub account_id: String,
    pub currency: String,
    pub bank_name: Option<String>,
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
    let currency = Currency::parse(&input.currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
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

// ----- statement import ----------------------------------------------------------------------

pub fn parse_format(name: &str) -> AppResult<Format> {
    match name.to_ascii_lowercase().as_str() {
        "camt053" | "camt.053" => Ok(Format::Camt053),
        "camt054" | "camt.054" => Ok(Format::Camt054),
        "mt940" => Ok(Format::Mt940),
        "csv" => Ok(Format::Csv),
        "bai2" => Ok(Format::Bai2),
        _ => Err(AppError::invalid("format", format!("unknown format {name:?}: camt053, camt054, mt940, csv or bai2"))),
    }
}

pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Camt053 => "camt053",
        Format::Camt054 => "camt054",
        Format::Mt940 => "mt940",
        Format::Csv => "csv",
        Format::Bai2 => "bai2",
    }
}

/// What the caller knows about the uploaded file.
pub struct StatementUpload {
    pub format: Option<Format>,
    /// The first bytes, for format detection.
    pub head: Vec<u8>,
    pub sha256: String,
    pub bytes: u64,
    /// Forces the account for every line (files that do not name one, e.g. a bare CSV).
    pub bank_account: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementPart {
    pub account_id: Option<String>,
    pub statement_id: Option<String>,
    pub opening_balance: Option<String>,
    pub closing_balance: Option<String>,
    pub currency: Option<String>,
    pub lines: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ImportedStatement {
    pub statement_id: Uuid,
    pub format: String,
    pub lines_imported: u64,
    pub duplicates_skipped: u64,
    pub statements: Vec<StatementPart>,
    /// Non-fatal findings, e.g. opening balance + lines != closing balance.
    pub warnings: Vec<String>,
    pub file_sha256: String,
    pub imported_at: DateTime<Utc>,
}

/// Lines are written in batches of this size while the file is still being parsed.
const BATCH: usize = 5000;

/// Batches parsed but not yet written: the parser runs this far ahead of the database.
const BATCHES_IN_FLIGHT: usize = 4;

/// Runs on the parsing thread: turns parsed lines into rows and hands them to the writing thread
/// in batches, so parsing and the database's work overlap (two cores: about 30% faster imports).
struct ImportSink {
    batches: std::sync::mpsc::SyncSender<Vec<BankLine>>,
    tenant_id: Uuid,
    statement_id: Uuid,
    accounts: HashMap<String, BankAccount>,
    forced_account: Option<BankAccount>,
    current_account: Option<String>,
    pending: Vec<BankLine>,
    occurrences: HashMap<String, u32>,
    seen: u64,
    parts: Vec<StatementPart>,
    part_lines: u64,
    now: DateTime<Utc>,
}

impl ImportSink {
    fn account_for(&self, named: Option<&str>) -> Result<&BankAccount, ParseError> {
        if let Some(forced) = &self.forced_account {
            if let Some(named) = named.and_then(|n| normalize_account(n).ok()) {
                if named != forced.account_id {
                    return Err(ParseError::new(format!(
                        "the file is for account {named}, not {} given in bank_account",
                        forced.account_id
                    )));
                }
            }
            return Ok(forced);
        }
        let named = named.ok_or_else(|| {
            ParseError::new("the file does not say which account it is for: pass ?bank_account=<account id>")
        })?;
        let key = normalize_account(named).map_err(ParseError::new)?;
        self.accounts.get(&key).ok_or_else(|| {
            ParseError::new(format!("unknown bank account {key}: register it first with POST /api/v1/bank-accounts"))
        })
    }

    fn flush(&mut self) -> Result<(), ParseError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        // Fails only when the writer stopped on a database error, which is what gets reported.
        self.batches.send(batch).map_err(|_| ParseError::new("database: the import stopped"))
    }
}

/// Writes batches from the parsing thread until it is done (or fails); returns the lines
/// inserted. On a database error it returns at once, which stops the parser at its next batch.
fn write_batches(conn: &mut PgConnection, batches: std::sync::mpsc::Receiver<Vec<BankLine>>) -> QueryResult<u64> {
    let mut inserted = 0u64;
    for batch in batches {
        inserted += bank_db::insert_new_lines(conn, &batch)? as u64;
    }
    Ok(inserted)
}

impl StatementSink for ImportSink {
    fn begin_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        self.current_account = header.account().map(str::to_string);
        if self.current_account.is_some() || self.forced_account.is_some() {
            let account = self.account_for(header.account())?;
            if let Some(cur) = &header.currency {
                if *cur != account.currency {
                    return Err(ParseError::new(format!(
                        "statement currency {cur} differs from account {} currency {}",
                        account.account_id, account.currency
                    )));
                }
            }
        }
        self.part_lines = 0;
        Ok(())
    }

    fn line(&mut self, line: ParsedLine) -> Result<(), ParseError> {
        // Borrowed, not cloned: this runs once per line of files with millions.
        let account = self.account_for(line.account.as_deref().or(self.current_account.as_deref()))?;
        let account_id = account.id;
        let reference = || line.bank_reference.as_deref().unwrap_or("(no reference)");
        let currency = Currency::parse(&line.currency).map_err(|e| ParseError::new(e.to_string()))?;
        if currency.code() != account.currency {
            return Err(ParseError::new(format!(
                "line {}: currency {} differs from account {} currency {}",
                reference(),
                currency.code(),
                account.account_id,
                account.currency
            )));
        }
        let amount =
            currency.check_amount(line.amount).map_err(|e| ParseError::new(format!("line {}: {e}", reference())))?;
        let hash = if line.bank_reference.is_some() {
            String::new()
        } else {
            content_hash(&LineContent {
                booking_date: line.booking_date,
                amount,
                currency: currency.code(),
                counterparty_iban: line.counterparty_iban.as_deref(),
                counterparty_name: line.counterparty_name.as_deref(),
                remittance: line.remittance.as_deref(),
                end_to_end_id: line.end_to_end_id.as_deref(),
            })
        };
        let occurrence = if line.bank_reference.is_none() {
            let n = self.occurrences.entry(format!("{account_id}:{hash}")).or_insert(0);
            *n += 1;
            *n
        } else {
            0
        };
        let bank_line = BankLine {
            id: Uuid::now_v7(),
            tenant_id: self.tenant_id,
            bank_account_id: account_id,
            statement_id: self.statement_id,
            dedupe_key: dedupe_key(line.bank_reference.as_deref(), &hash, occurrence),
            bank_reference: line.bank_reference,
            booking_date: line.booking_date,
            value_date: line.value_date,
            amount,
            currency: currency.code().to_string(),
            counterparty_name: line.counterparty_name,
            counterparty_iban: line.counterparty_iban,
            remittance: line.remittance,
            creditor_reference: line.creditor_reference,
            end_to_end_id: line.end_to_end_id,
            bank_transaction_code: line.bank_transaction_code,
            reversal: line.reversal,
            charges: line.charges,
            status: "unapplied".into(),
            applied_amount: Decimal::ZERO,
            created_at: self.now,
        };
        self.pending.push(bank_line);
        self.seen += 1;
        self.part_lines += 1;
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn end_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        let cur = header.currency.clone().or_else(|| header.closing_balance.as_ref().map(|b| b.currency.clone()));
        let fmt = |b: &Option<bank_formats::Balance>| b.as_ref().map(|b| format_amount(&b.currency, b.amount));
        self.parts.push(StatementPart {
            account_id: header.account().and_then(|a| normalize_account(a).ok()),
            statement_id: header.statement_id.clone(),
            opening_balance: fmt(&header.opening_balance),
            closing_balance: fmt(&header.closing_balance),
            currency: cur,
            lines: self.part_lines,
        });
        Ok(())
    }
}

/// Imports one statement file from `reader`. Runs inside the caller's transaction; any parse
/// error aborts it (nothing of the file remains) and is answered 422 with its position.
pub fn import_statement(
    conn: &mut PgConnection,
    principal: &Principal,
    upload: StatementUpload,
    input: bank_formats::Input<'_>,
) -> AppResult<ImportedStatement> {
    require(principal, Permission::WriteBank)?;
    let format = match upload.format {
        Some(f) => f,
        None => bank_formats::detect_format(&upload.head).ok_or_else(|| {
            AppError::invalid("format", "could not recognise the file: pass ?format=camt053|camt054|mt940|csv|bai2")
        })?,
    };
    let accounts: HashMap<String, BankAccount> =
        bank_db::accounts(conn, principal.tenant_id)?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
    let forced_account = match &upload.bank_account {
        None => None,
        Some(given) => Some(
            find_account(conn, principal.tenant_id, given)?
                .ok_or_else(|| AppError::invalid("bank_account", format!("unknown bank account {given:?}")))?,
        ),
    };
    // A CSV is read with the saved mapping of its account when the account is known up front.
    let mapping: Option<CsvMapping> = match (&forced_account, format) {
        (Some(a), Format::Csv) => {
            a.csv_mapping.clone().map(serde_json::from_value).transpose().map_err(AppError::internal)?
        }
        _ => None,
    };
    let now = Utc::now();
    let mut statement = BankStatement {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        format: format_name(format).into(),
        file_sha256: upload.sha256.clone(),
        file_bytes: upload.bytes as i64,
        statements: serde_json::json!([]),
        lines_imported: 0,
        duplicates_skipped: 0,
        warnings: serde_json::json!([]),
        imported_at: now,
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
    };
    bank_db::insert_statement(conn, &statement)?;
    let (batches, to_write) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let mut sink = ImportSink {
        batches,
        tenant_id: principal.tenant_id,
        statement_id: statement.id,
        accounts,
        forced_account,
        current_account: None,
        pending: Vec::with_capacity(BATCH),
        occurrences: HashMap::new(),
        seen: 0,
        parts: Vec::new(),
        part_lines: 0,
        now,
    };
    let mapping = mapping.as_ref();
    let (parsed, written) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let summary =
                bank_formats::parse_input(format, input, mapping, &mut sink).and_then(|s| sink.flush().map(|_| s));
            // The sink (and with it the sender) is dropped here, which ends the writer's loop.
            (summary, sink.seen, sink.parts)
        });
        let written = write_batches(conn, to_write);
        (parser.join(), written)
    });
    let (summary, seen, parts) = parsed.map_err(|_| AppError::internal("statement parser panicked"))?;
    let not_imported = |reason: String, line: Option<u64>, byte_offset: Option<u64>| {
        AppError::new(ErrorCode::ValidationFailed, format!("the statement could not be imported: {reason}"))
            .with_details(serde_json::json!({
                "format": format_name(format), "line": line, "byte_offset": byte_offset, "reason": reason,
            }))
    };
    // A database error stops the parser too: report the cause, not the parser's "stopped".
    let inserted = written.map_err(|e| not_imported(format!("database: {e}"), None, None))?;
    let summary = summary.map_err(|e| not_imported(e.message, e.line, e.byte_offset))?;
    if seen == 0 && summary.statements == 0 {
        return Err(AppError::invalid("body", "the file holds no statement"));
    }
    statement.lines_imported = inserted as i32;
    statement.duplicates_skipped = (seen - inserted) as i32;
    statement.statements = serde_json::to_value(&parts).map_err(AppError::internal)?;
    statement.warnings = serde_json::to_value(&summary.warnings).map_err(AppError::internal)?;
    bank_db::finish_statement(conn, &statement)?;
    let mut e = entry(principal, "bank_statement.imported", "bank_statement", &statement.id.to_string());
    e.after = Some(serde_json::json!({
        "format": statement.format, "file_sha256": statement.file_sha256, "file_bytes": statement.file_bytes,
        "lines_imported": inserted, "duplicates_skipped": seen - inserted, "statements": statement.statements,
    }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(ImportedStatement {
        statement_id: statement.id,
        format: statement.format,
        lines_imported: inserted,
        duplicates_skipped: seen - inserted,
        statements: parts,
        warnings: summary.warnings,
        file_sha256: statement.file_sha256,
        imported_at: now,
    })
}

pub fn get_statement(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ImportedStatement> {
    require(principal, Permission::Read)?;
    let s =
        bank_db::find_statement(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("bank statement"))?;
    Ok(ImportedStatement {
        statement_id: s.id,
        format: s.format,
        lines_imported: s.lines_imported as u64,
        duplicates_skipped: s.duplicates_skipped as u64,
        statements: serde_json::from_value(s.statements).unwrap_or_default(),
        warnings: serde_json::from_value(s.warnings).unwrap_or_default(),
        file_sha256: s.file_sha256,
        imported_at: s.imported_at,
    })
}

// ----- bank lines ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum BankLineStatus {
    Unapplied,
    PartlyApplied,
    Applied,
    Ignored,
}

impl BankLineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BankLineStatus::Unapplied => "unapplied",
            BankLineStatus::PartlyApplied => "partly_applied",
            BankLineStatus::Applied => "applied",
            BankLineStatus::Ignored => "ignored",
        }
    }
    fn parse(s: &str) -> BankLineStatus {
        match s {
            "partly_applied" => BankLineStatus::PartlyApplied,
            "applied" => BankLineStatus::Applied,
            "ignored" => BankLineStatus::Ignored,
            _ => BankLineStatus::Unapplied,
        }
    }
}

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
    pub remittance: Option<String>,
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_transaction_code: Option<String>,
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
            remittance: l.remittance,
            creditor_reference: l.creditor_reference,
            end_to_end_id: l.end_to_end_id,
            bank_transaction_code: l.bank_transaction_code,
            reversal: l.reversal,
            charges: l.charges.map(|c| format_amount(&l.currency, c)),
            status: BankLineStatus::parse(&l.status),
            applied_amount: format_amount(&l.currency, l.applied_amount),
            currency: l.currency,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
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
        status: q.status.map(|s| s.as_str().to_string()),
        text: q.q.filter(|t| !t.trim().is_empty()),
        after: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = bank_db::list_lines(conn, principal.tenant_id, &filter)?;
    Ok(page(rows, limit, |(l, _)| l.id, |(l, a)| BankLineView::new(l, a)))
}
