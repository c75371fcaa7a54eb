//! A customer's statement as it arrives: JSON in our own shape, or a CSV file as the customer's
//! system exports it, read with the customer's statement mapping (see `statement_formats`).
//! Every path (tenant API, portal upload, signed push) reads bodies here, so they accept the
//! same formats. Nothing here touches the database.

use crate::domain::customer_statements::TheirItem;
use crate::domain::document::DocType;
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use crate::services::import::{describe_json_error, ImportFormat};
use crate::statement_formats::{read_csv, FormatError, ReadStatement, Side, StatementMapping};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

/// Days two dates of the same item may differ before it is a `date_mismatch`.
pub const DEFAULT_DATE_TOLERANCE_DAYS: i32 = 7;
const MAX_DATE_TOLERANCE_DAYS: i32 = 366;
const MAX_LINES: usize = crate::statement_formats::MAX_ROWS;

/// One line of the customer's statement (their books).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct StatementLineInput {
    /// The customer's own reference (their voucher or payment number).
    #[serde(default)]
    pub their_ref: String,
    /// Our document number, when they recorded it (for payments: the document they paid).
    pub our_ref: Option<String>,
    /// Their free text (booking text, description); searched for our document numbers.
    pub text: Option<String>,
    pub date: NaiveDate,
    /// Absent: read from the amount's sign (positive raises what they owe us: an invoice;
    /// negative lowers it: a payment or credit note).
    pub kind: Option<DocType>,
    /// Decimal string, at most the currency's minor units: positive with a kind (adjustments may
    /// be negative), signed without one.
    pub amount: String,
    pub currency: String,
}

/// A customer's statement as JSON.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct StatementInput {
    /// Lines dated outside the period are ignored; our items are taken from the same period.
    /// Without a period, the whole history is compared.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// Default 7.
    pub date_tolerance_days: Option<i32>,
    pub lines: Vec<StatementLineInput>,
}

/// Period and tolerance for a CSV statement (query parameters).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementOptions {
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub date_tolerance_days: Option<i32>,
}

/// A statement read from its body.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub input: StatementInput,
    /// The reading with invoices on the other side of their books, when neither the mapping nor
    /// the document types tell which side they are on: the comparison keeps the reading that
    /// pairs more lines with our books.
    pub other_reading: Option<StatementInput>,
    /// The file's line of each input line (CSV), for messages and the stored lines.
    pub source_lines: Option<Vec<i32>>,
    /// How the file was read.
    pub notes: Vec<String>,
}

impl ParsedStatement {
    pub fn of(input: StatementInput) -> ParsedStatement {
        ParsedStatement { input, other_reading: None, source_lines: None, notes: Vec::new() }
    }
}

/// The customer a body is for: its code (a file naming another is refused) and its default
/// currency (for files without one).
pub struct ForCustomer<'a> {
    pub code: &'a str,
    pub default_currency: Option<&'a str>,
}

fn refused(e: FormatError) -> AppError {
    let lines: Vec<serde_json::Value> =
        e.rows.iter().map(|(row, error)| json!({"line": row, "error": error})).collect();
    let err = AppError::invalid("body", e.message);
    if lines.is_empty() {
        err
    } else {
        err.with_details(json!({"lines": lines}))
    }
}

fn as_input(read: &ReadStatement, invoices: Side, options: &StatementOptions) -> StatementInput {
    let lines = read
        .lines
        .iter()
        .zip(read.resolve(invoices))
        .map(|(l, r)| StatementLineInput {
            their_ref: l.their_ref.clone(),
            our_ref: l.our_ref.clone(),
            text: Some(l.text.clone()).filter(|t| !t.is_empty()),
            date: l.date,
            kind: r.kind,
            amount: r.amount.to_string(),
            currency: l.currency.clone(),
        })
        .collect();
    StatementInput {
        period_from: options.period_from,
        period_to: options.period_to,
        date_tolerance_days: options.date_tolerance_days,
        lines,
    }
}

/// Reads a statement body: JSON in our shape, or CSV with the customer's mapping
/// (`StatementMapping::default()` detects the layout).
pub fn parse(
    format: ImportFormat,
    body: &[u8],
    options: StatementOptions,
    mapping: &StatementMapping,
    customer: Option<ForCustomer<'_>>,
) -> AppResult<ParsedStatement> {
    match format {
        ImportFormat::Json => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let input: StatementInput = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| AppError::invalid("body", describe_json_error(&e)))?;
            if options.period_from.is_some() || options.period_to.is_some() || options.date_tolerance_days.is_some() {
                return Err(AppError::invalid("query", "for a JSON statement, put the period in the body"));
            }
            Ok(ParsedStatement::of(input))
        }
        ImportFormat::Csv => {
            let fallback = customer.as_ref().and_then(|c| c.default_currency);
            let (body, sheet_notes) = crate::services::import::csv_body(body)?;
            let mut read = read_csv(&body, mapping, fallback).map_err(refused)?;
            read.notes.splice(0..0, sheet_notes);
            if let Some(c) = &customer {
                if read.customer_codes.iter().any(|x| x != c.code) {
                    return Err(AppError::invalid(
                        "customer_code",
                        format!(
                            "the file holds lines of other customers ({}); post one customer's statement",
                            read.customer_codes.join(", ")
                        ),
                    ));
                }
            }
            let sided = read.lines.iter().any(|l| l.side.is_some());
            let (input, other_reading) = match read.invoices {
                Some(side) => (as_input(&read, side, &options), None),
                // Their own books by default (invoices are credits there); the other reading too.
                None if sided => {
                    (as_input(&read, Side::Credit, &options), Some(as_input(&read, Side::Debit, &options)))
                }
                None => (as_input(&read, Side::Credit, &options), None),
            };
            let source_lines = Some(read.lines.iter().map(|l| i32::try_from(l.row).unwrap_or(i32::MAX)).collect());
            Ok(ParsedStatement { input, other_reading, source_lines, notes: read.notes })
        }
    }
}

/// Parses a statement body with a detected layout and no customer (fuzzing, tools).
pub fn parse_statement(format: ImportFormat, body: &[u8], options: StatementOptions) -> AppResult<StatementInput> {
    parse(format, body, options, &StatementMapping::default(), None).map(|p| p.input)
}

/// Customer codes named in a CSV statement's `customer_code` column (to refuse a file that
/// belongs to another customer).
pub fn csv_customer_codes(body: &[u8]) -> Vec<String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(body);
    let Ok(headers) = reader.headers().cloned() else { return vec![] };
    let Some(idx) = headers.iter().position(|h| h.eq_ignore_ascii_case("customer_code")) else { return vec![] };
    let mut codes: Vec<String> =
        reader.records().filter_map(|r| r.ok()).filter_map(|r| r.get(idx).map(str::to_string)).collect();
    codes.sort();
    codes.dedup();
    codes.retain(|c| !c.is_empty());
    codes
}

/// A line that passed validation, with its line number (in the file, or in the JSON list).
pub struct ValidLine {
    pub their: TheirItem,
    pub line_no: i32,
}

/// The lines in the period, checked (currency, amount, lengths), and how many were outside it.
pub fn validate(input: &StatementInput, source_lines: Option<&[i32]>) -> AppResult<(Vec<ValidLine>, i32, i32)> {
    if let (Some(f), Some(t)) = (input.period_from, input.period_to) {
        if f > t {
            return Err(AppError::invalid("period_from", "must not be after period_to"));
        }
    }
    let tolerance = input.date_tolerance_days.unwrap_or(DEFAULT_DATE_TOLERANCE_DAYS);
    if !(0..=MAX_DATE_TOLERANCE_DAYS).contains(&tolerance) {
        return Err(AppError::invalid("date_tolerance_days", format!("must be 0..={MAX_DATE_TOLERANCE_DAYS}")));
    }
    if input.lines.len() > MAX_LINES {
        return Err(AppError::invalid("lines", format!("at most {MAX_LINES} lines per statement")));
    }
    let mut errors = Vec::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut ignored = 0;
    for (i, l) in input.lines.iter().enumerate() {
        let line_no = source_lines.and_then(|s| s.get(i).copied()).unwrap_or(i as i32 + 1);
        match valid_line(l) {
            Err(e) => errors.push(json!({"line": line_no, "error": e})),
            Ok(their) => {
                let in_period =
                    input.period_from.is_none_or(|f| l.date >= f) && input.period_to.is_none_or(|t| l.date <= t);
                if in_period {
                    lines.push(ValidLine { their, line_no });
                } else {
                    ignored += 1;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid("lines", "the statement has invalid lines; nothing was imported")
            .with_details(json!({"lines": errors})));
    }
    Ok((lines, ignored, tolerance))
}

fn valid_line(l: &StatementLineInput) -> Result<TheirItem, String> {
    let currency = Currency::parse(l.currency.trim()).map_err(|e| e.to_string())?;
    let amount = currency.parse_amount(l.amount.trim()).map_err(|e| e.to_string())?;
    let (kind, amount, kind_inferred) = match l.kind {
        Some(kind) if amount > Decimal::ZERO || (kind == DocType::Adjustment && !amount.is_zero()) => {
            (kind, amount, false)
        }
        Some(_) => return Err("amount must be positive (adjustments: non-zero)".into()),
        None if amount > Decimal::ZERO => (DocType::Invoice, amount, true),
        None if amount < Decimal::ZERO => (DocType::Payment, -amount, true),
        None => return Err("amount must not be zero".into()),
    };
    let text = l.text.as_deref().unwrap_or("").trim();
    if l.their_ref.len() > 200 || l.our_ref.as_ref().is_some_and(|r| r.len() > 200) || text.len() > 1000 {
        return Err("references are at most 200 characters, text at most 1000".into());
    }
    let one_line = |s: &str| !s.chars().any(char::is_control);
    if !one_line(&l.their_ref)
        || !l.our_ref.as_deref().is_none_or(one_line)
        || text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("references and text must not contain control characters".into());
    }
    Ok(TheirItem {
        their_ref: l.their_ref.trim().to_string(),
        our_ref: l.our_ref.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
        text: text.to_string(),
        date: l.date,
        kind,
        kind_inferred,
        amount,
        currency: currency.code().to_string(),
    })
}
