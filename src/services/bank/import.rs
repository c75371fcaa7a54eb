//! Importing a statement file: choosing the format (and for CSV the mapping: a preset by name,
//! the account's saved mapping, a preset recognised by its header, or the default), parsing it
//! as a stream while its lines are written in batches, all inside the caller's transaction: a
//! file is imported whole or not at all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::sink::{write_all, DuplicateLine, ImportSink, Written, BATCHES_IN_FLIGHT};
use super::{find_account, require, BankAccountView};
use crate::bank_formats::{self, CsvEncoding, CsvMapping, CsvPreset, Format};
use crate::db::audit as audit_db;
use crate::db::bank::{self as bank_db, BankAccount, BankStatement};
use crate::db::statistics::{self, Grown};
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::audit::entry;
use crate::spreadsheet;
use std::io::Read;

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
#[derive(Default)]
pub struct StatementUpload {
    pub format: Option<Format>,
    /// The first bytes, for format and preset detection.
    pub head: Vec<u8>,
    pub sha256: String,
    pub bytes: u64,
    /// Forces the account for every line (files that do not name one, e.g. a bare CSV).
    pub bank_account: Option<String>,
    /// A CSV preset by name (`icbc_debit`) or family (`icbc`).
    pub preset: Option<String>,
    /// Register the accounts the file names; `None`: the tenant's setting.
    pub register_accounts: Option<bool>,
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
    /// The CSV preset the file was read with.
    pub preset: Option<String>,
    /// Every line the file holds: imported + duplicates skipped + not imported. A batch entry
    /// split into its transactions counts one line per transaction.
    pub lines_in_file: u64,
    pub lines_imported: u64,
    /// Lines already imported (same account, reference and content); listed in `duplicates`.
    pub duplicates_skipped: u64,
    /// Lines not imported for what they are (not booked, no direction, no amount): each one has
    /// a warning with its position.
    pub lines_not_imported: u64,
    /// The lines skipped as duplicates (the first 1,000) and the lines they repeat.
    pub duplicates: Vec<DuplicateLine>,
    /// Accounts this import registered from the file.
    pub accounts_created: Vec<BankAccountView>,
    pub statements: Vec<StatementPart>,
    /// Non-fatal findings with their position: balances that do not add up (both figures),
    /// entries skipped, dialects read, lines in another currency than their account.
    pub warnings: Vec<String>,
    pub file_sha256: String,
    pub imported_at: DateTime<Utc>,
}

/// How a CSV is read, and under which preset name.
struct CsvChoice {
    mapping: Option<CsvMapping>,
    preset: Option<String>,
}

/// The format, and for CSV the mapping: `?preset=` first, then the account's saved mapping, then
/// a preset recognised by the header row, then the default mapping.
fn choose(upload: &StatementUpload, forced: Option<&BankAccount>) -> AppResult<(Format, CsvChoice)> {
    let none = || CsvChoice { mapping: None, preset: None };
    if let Some(name) = &upload.preset {
        if upload.format.is_some_and(|f| f != Format::Csv) {
            return Err(AppError::invalid("preset", "a preset describes a CSV export: leave format out or use csv"));
        }
        let candidates = bank_formats::select_presets(name);
        let chosen = match candidates.as_slice() {
            [] => {
                let names: Vec<&str> = bank_formats::presets().iter().map(|p| p.name.as_str()).collect();
                return Err(AppError::invalid(
                    "preset",
                    format!("unknown preset {name:?}; presets: {} (GET /api/v1/bank-formats)", names.join(", ")),
                ));
            }
            [one] => *one,
            several => bank_formats::detect_preset(&upload.head, several).map(|(p, _)| p).ok_or_else(|| {
                let names: Vec<&str> = several.iter().map(|p| p.name.as_str()).collect();
                AppError::invalid(
                    "preset",
                    format!("the file's header matches none of the {name} presets ({}); name one", names.join(", ")),
                )
            })?,
        };
        return Ok((Format::Csv, preset_choice(chosen, &upload.head)));
    }
    let detected = match upload.format {
        Some(f) => Some(f),
        None => bank_formats::detect_format(&upload.head),
    };
    match detected {
        Some(f) if f != Format::Csv => return Ok((f, none())),
        _ => {}
    }
    if let Some(saved) = forced.and_then(|a| a.csv_mapping.clone()) {
        let mapping = serde_json::from_value(saved).map_err(AppError::internal)?;
        return Ok((Format::Csv, CsvChoice { mapping: Some(mapping), preset: None }));
    }
    let all: Vec<&CsvPreset> = bank_formats::presets().iter().collect();
    if let Some((p, _)) = bank_formats::detect_preset(&upload.head, &all) {
        return Ok((Format::Csv, preset_choice(p, &upload.head)));
    }
    match detected {
        Some(f) => Ok((f, none())),
        None => Err(AppError::invalid(
            "format",
            "could not recognise the file: pass ?format=camt053|camt054|mt940|csv|bai2, or ?preset= for a bank's CSV \
             export (GET /api/v1/bank-formats lists them)",
        )),
    }
}

/// A preset's mapping in the encoding the file is in: non-ASCII text that is valid UTF-8 is
/// UTF-8 (an export saved again), text that is not is GB18030 (GBK's superset), plain ASCII is
/// what the preset says.
fn preset_choice(p: &CsvPreset, head: &[u8]) -> CsvChoice {
    let mut mapping = p.mapping.clone();
    if !head.is_ascii() {
        if let Some((_, encoding)) = bank_formats::decode_head(head) {
            mapping.encoding = encoding;
        }
    }
    if mapping.encoding == CsvEncoding::Gbk {
        mapping.encoding = CsvEncoding::Gb18030;
    }
    CsvChoice { mapping: Some(mapping), preset: Some(p.name.clone()) }
}

/// Imports one statement file. Runs inside the caller's transaction; any parse error aborts it
/// (nothing of the file remains) and is answered 422 with its position.
pub fn import_statement(
    conn: &mut PgConnection,
    principal: &Principal,
    upload: StatementUpload,
    input: bank_formats::Input<'_>,
) -> AppResult<ImportedStatement> {
    require(principal, Permission::WriteBank)?;
    let forced_account = match &upload.bank_account {
        None => None,
        Some(given) => Some(
            find_account(conn, principal.tenant_id, given)?
                .ok_or_else(|| AppError::invalid("bank_account", format!("unknown bank account {given:?}")))?,
        ),
    };
    let mut upload = upload;
    let sheet: SheetCsv;
    let mut sheet_notes = Vec::new();
    let input = match spreadsheet_as_csv(&mut upload, input)? {
        Ok(mut converted) => {
            sheet_notes = std::mem::take(&mut converted.notes);
            sheet = converted;
            bank_formats::Input::Bytes(&sheet.csv)
        }
        Err(input) => input,
    };
    let (format, csv) = choose(&upload, forced_account.as_ref())?;
    let register = register_accounts(conn, principal, upload.register_accounts)?;
    let accounts: HashMap<String, BankAccount> =
        bank_db::accounts(conn, principal.tenant_id)?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
    let account_ids: HashMap<Uuid, String> = accounts.values().map(|a| (a.id, a.account_id.clone())).collect();
    let statement = statement_row(principal, &upload, format, csv.preset.clone());
    bank_db::insert_statement(conn, &statement)?;
    let (writes, to_write) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let mut sink = ImportSink::new(writes, principal.tenant_id, statement.id, accounts, forced_account, register);
    let mapping = csv.mapping.as_ref();
    let (parsed, written) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let summary =
                bank_formats::parse_input(format, input, mapping, &mut sink).and_then(|s| sink.flush().map(|_| s));
            // Closing the sink drops its sender, which ends the writer's loop.
            sink.close();
            (summary, sink)
        });
        let written = write_all(conn, principal.tenant_id, statement.id, account_ids, to_write);
        (parser.join(), written)
    });
    let (summary, sink) = parsed.map_err(|_| AppError::internal("statement parser panicked"))?;
    let not_imported = |reason: String, line: Option<u64>, byte_offset: Option<u64>| {
        AppError::new(ErrorCode::ValidationFailed, format!("the statement could not be imported: {reason}"))
            .with_details(serde_json::json!({
                "format": format_name(format), "preset": csv.preset, "line": line, "byte_offset": byte_offset,
                "reason": reason,
            }))
    };
    // A database error stops the parser too: report the cause, not the parser's "stopped".
    let written = written.map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
            if !sink.created.is_empty() =>
        {
            AppError::conflict("a bank account this file names was registered at the same time; send the file again")
        }
        e => not_imported(format!("database: {e}"), None, None),
    })?;
    let mut summary = summary.map_err(|e| not_imported(e.message, e.line, e.byte_offset))?;
    summary.warnings.splice(0..0, sheet_notes);
    if sink.seen == 0 && summary.statements == 0 {
        return Err(AppError::invalid("body", "the file holds no statement"));
    }
    let imported = record(conn, principal, statement, summary, sink, written)?;
    statistics::refresh_if_grown(conn, Grown::BankLines, imported.lines_imported)?;
    Ok(imported)
}

/// A bank's export saved from Excel, as the CSV its main sheet holds (line n = sheet row n).
struct SheetCsv {
    csv: Vec<u8>,
    notes: Vec<String>,
}

/// The rows of a spreadsheet upload as CSV, with the upload's head and format set to match;
/// any other upload is handed back as it came.
fn spreadsheet_as_csv<'a>(
    upload: &mut StatementUpload,
    input: bank_formats::Input<'a>,
) -> AppResult<Result<SheetCsv, bank_formats::Input<'a>>> {
    if spreadsheet::is_legacy_xls(&upload.head) {
        return Err(AppError::invalid("body", spreadsheet::LEGACY_XLS));
    }
    if !spreadsheet::is_xlsx(&upload.head) {
        return Ok(Err(input));
    }
    if upload.format.is_some_and(|f| f != Format::Csv) {
        return Err(AppError::invalid(
            "format",
            "an .xlsx file is read as the CSV its rows make: leave format out or use csv",
        ));
    }
    let mut bytes = Vec::new();
    let read = match input {
        bank_formats::Input::Bytes(b) => {
            bytes.extend_from_slice(b);
            Ok(0)
        }
        bank_formats::Input::File(mut f) => f.read_to_end(&mut bytes),
        bank_formats::Input::Stream(mut r) => r.read_to_end(&mut bytes),
    };
    read.map_err(AppError::internal)?;
    let mut table = spreadsheet::read_main_sheet(&bytes, spreadsheet::Limits::default())
        .map_err(|e| AppError::invalid("body", e.to_string()))?;
    let example =
        spreadsheet::layout::clear_template_example(&mut table, &crate::services::import::STATEMENT_TEMPLATES);
    let csv = spreadsheet::to_csv(&table);
    upload.head = csv[..csv.len().min(8 * 1024)].to_vec();
    upload.format = Some(Format::Csv);
    let mut notes = vec![format!("read from the spreadsheet's sheet {:?} (line n is its row n)", table.sheet)];
    notes.extend(table.notes);
    notes.extend(example);
    Ok(Ok(SheetCsv { csv, notes }))
}

/// Whether this import registers the accounts its file names. Registering accounts is an admin's
/// act: asked for explicitly by another key it is refused; the tenant's setting applies to admin
/// keys only (a bank feed's key imports, nothing more).
fn register_accounts(conn: &mut PgConnection, principal: &Principal, asked: Option<bool>) -> AppResult<bool> {
    let admin = principal.can(Permission::Admin);
    match asked {
        Some(true) if !admin => Err(AppError::forbidden("registering bank accounts from a file needs an admin key")),
        Some(r) => Ok(r),
        None => Ok(admin && bank_db::register_accounts_setting(conn, principal.tenant_id)?),
    }
}

/// The statement file's row, written first (lines reference it) and completed by `record`.
fn statement_row(
    principal: &Principal,
    upload: &StatementUpload,
    format: Format,
    preset: Option<String>,
) -> BankStatement {
    BankStatement {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        format: format_name(format).into(),
        file_sha256: upload.sha256.clone(),
        file_bytes: upload.bytes as i64,
        statements: serde_json::json!([]),
        lines_imported: 0,
        duplicates_skipped: 0,
        warnings: serde_json::json!([]),
        imported_at: Utc::now(),
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
        preset,
        lines_not_imported: 0,
        duplicates: serde_json::json!([]),
        accounts_created: serde_json::json!([]),
    }
}

/// Completes the statement row with what the import did, audits it (and the accounts it
/// registered), and builds the answer.
fn record(
    conn: &mut PgConnection,
    principal: &Principal,
    mut statement: BankStatement,
    summary: bank_formats::ParseSummary,
    sink: ImportSink,
    written: Written,
) -> AppResult<ImportedStatement> {
    let mut warnings = summary.warnings;
    warnings.extend(sink.warnings);
    if sink.suppressed_warnings > 0 {
        warnings.push(format!("... and {} more warnings", sink.suppressed_warnings));
    }
    let created: Vec<BankAccountView> = sink.created.into_iter().map(BankAccountView::from).collect();
    let duplicates_skipped = sink.seen - written.inserted;
    statement.lines_imported = written.inserted as i32;
    statement.duplicates_skipped = duplicates_skipped as i32;
    statement.lines_not_imported = summary.skipped as i32;
    statement.statements = serde_json::to_value(&sink.parts).map_err(AppError::internal)?;
    statement.warnings = serde_json::to_value(&warnings).map_err(AppError::internal)?;
    statement.duplicates = serde_json::to_value(&written.duplicates).map_err(AppError::internal)?;
    statement.accounts_created = serde_json::to_value(&created).map_err(AppError::internal)?;
    bank_db::finish_statement(conn, &statement)?;
    let mut audit = Vec::with_capacity(created.len() + 1);
    for a in &created {
        let mut e = entry(principal, "bank_account.created", "bank_account", &a.id.to_string());
        e.after = serde_json::to_value(a).ok();
        audit.push(e);
    }
    let mut e = entry(principal, "bank_statement.imported", "bank_statement", &statement.id.to_string());
    e.after = Some(serde_json::json!({
        "format": statement.format, "preset": statement.preset, "file_sha256": statement.file_sha256,
        "file_bytes": statement.file_bytes, "lines_imported": written.inserted,
        "duplicates_skipped": duplicates_skipped, "lines_not_imported": summary.skipped,
        "statements": statement.statements,
    }));
    audit.push(e);
    audit_db::append(conn, principal.tenant_id, audit)?;
    Ok(ImportedStatement {
        statement_id: statement.id,
        format: statement.format,
        preset: statement.preset,
        lines_in_file: sink.seen + summary.skipped as u64,
        lines_imported: written.inserted,
        duplicates_skipped,
        lines_not_imported: summary.skipped as u64,
        duplicates: written.duplicates,
        accounts_created: created,
        statements: sink.parts,
        warnings,
        file_sha256: statement.file_sha256,
        imported_at: statement.imported_at,
    })
}

pub fn get_statement(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ImportedStatement> {
    require(principal, Permission::Read)?;
    let s =
        bank_db::find_statement(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("bank statement"))?;
    let imported = s.lines_imported as u64;
    let duplicates = s.duplicates_skipped as u64;
    let not_imported = s.lines_not_imported as u64;
    Ok(ImportedStatement {
        statement_id: s.id,
        format: s.format,
        preset: s.preset,
        lines_in_file: imported + duplicates + not_imported,
        lines_imported: imported,
        duplicates_skipped: duplicates,
        lines_not_imported: not_imported,
        duplicates: serde_json::from_value(s.duplicates).unwrap_or_default(),
        accounts_created: serde_json::from_value(s.accounts_created).unwrap_or_default(),
        statements: serde_json::from_value(s.statements).unwrap_or_default(),
        warnings: serde_json::from_value(s.warnings).unwrap_or_default(),
        file_sha256: s.file_sha256,
        imported_at: s.imported_at,
    })
}
