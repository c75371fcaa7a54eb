//! Bank statement ingestion: the pure parsing layer.
//!
//! Every parser reads a [`BufRead`], keeps at most one statement header and one
//! entry (camt `Ntry`, MT940 `:61:`/`:86:` pair, CSV row, BAI2 `16` record) in
//! memory, and pushes results into a [`StatementSink`]. The caller decides what
//! to do with them (batch inserts, validation, ...), so a 200 MB file never
//! becomes a 200 MB data structure.
//!
//! Conventions shared by all formats (documented once here so the formats agree):
//!
//! * **Sign**: [`ParsedLine::amount`] is the movement on *our* account as booked:
//!   credit positive, debit negative. A reversal keeps the booked direction (a
//!   returned incoming payment is booked as a debit and therefore negative) and
//!   only sets [`ParsedLine::reversal`]. With this convention
//!   `opening + sum(amounts) = closing` holds for reversals too.
//! * **Charges**: [`ParsedLine::charges`] is the fee the bank reports for the
//!   transaction, positive when charged to us (negative for a refund of fees).
//!   It is informational: `amount` is already what was booked.
//! * **Empty / placeholder values** become `None`: an empty element or column,
//!   and the ISO 20022 placeholder `NOTPROVIDED` (end-to-end id) or SWIFT `NONREF`.
//! * **Creditor reference**: if a format only gives unstructured text and that
//!   text is exactly a valid ISO 11649 reference (`RF` + checksum), it is also put
//!   into [`ParsedLine::creditor_reference`], so matching can rely on one field.
//! * **Limits**: a single XML event, text line, MT940 field or CSV record is
//!   capped at [`MAX_TEXT_BYTES`], a camt entry or BAI2 record with
//!   continuations at [`MAX_RECORD_BYTES`]; exceeding either is a [`ParseError`]
//!   raised while reading, never an allocation proportional to the input.
//! * **Positions**: text formats report the 1-based line (of the record's
//!   first line); XML reports the byte offset just after the event where the
//!   problem was found (`Reader::buffer_position`), or where quick-xml saw a
//!   syntax error.

use std::fmt;
use std::io::BufRead;

use chrono::NaiveDate;
use rust_decimal::Decimal;

// The format modules expose nothing but their `parse` to this module: callers
// go through [`parse`] so every format reports warnings and balances the same way.
mod bai2;
mod camt053;
mod csv_format;
mod ctx;
mod input;
mod line_reader;
mod mt940;
mod presets;
mod values;

pub(crate) use ctx::Ctx;
pub(crate) use line_reader::{decode_line, io_reason, LineReader};
pub(crate) use values::{
    check_currency, check_minor_units, currency_exponent, is_withdrawn_currency, normalize_account_id, parse_decimal,
    parse_iso_date, truncate,
};
pub use values::{is_iban, is_iso11649};

pub use input::{parse_input, Input};
pub use presets::{decode_head, detect_preset, preset_errors, presets, select_presets, CsvPreset};

pub use csv_format::{AmountColumns, Column, CsvEncoding, CsvMapping, StatusFilter};

/// Longest single XML event (text node, tag with attributes, comment, CDATA),
/// physical text line, MT940 field including its continuation lines, and CSV
/// record (quoted line breaks included). Bank data never comes close.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest multi-part record: all text of one camt `Ntry` (a batch entry
/// carries one `TxDtls` per payment, hence the generous size) and a BAI2 record
/// with its `88` continuations.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;
/// Warnings kept in [`ParseSummary`]; the rest are counted, so a file with a
/// million pending entries cannot make the summary itself huge.
pub const MAX_WARNINGS: usize = 1000;

/// A supported statement format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// ISO 20022 BankToCustomerStatement, camt.053.001.02 – .08.
    Camt053,
    /// ISO 20022 BankToCustomerDebitCreditNotification, camt.054.001.02 – .08.
    Camt054,
    /// SWIFT MT940 customer statement.
    Mt940,
    /// Delimited text with a [`CsvMapping`].
    Csv,
    /// BAI2 cash management balance reporting.
    Bai2,
}

/// A balance as reported by the bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// Signed: credit balance positive, overdraft negative.
    pub amount: Decimal,
    pub currency: String,
    pub date: Option<NaiveDate>,
}

/// Statement-level data. Passed to [`StatementSink::begin_statement`] before the
/// first line and to [`StatementSink::end_statement`] after the last one; for
/// formats whose closing balance follows the lines (MT940, BAI2 trailers) only
/// the second call has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementHeader {
    /// camt `Stmt/Id` or `Ntfctn/Id`, MT940 `:20:`, BAI2 file id + account.
    pub statement_id: Option<String>,
    pub account_iban: Option<String>,
    /// Non-IBAN account identifier (camt `Othr/Id`, MT940 `:25:` as written, BAI2 account).
    pub account_number: Option<String>,
    pub currency: Option<String>,
    pub opening_balance: Option<Balance>,
    pub closing_balance: Option<Balance>,
    /// Closing available balance (camt `CLAV`, MT940 `:64:`, BAI2 `045`), informational.
    pub closing_available_balance: Option<Balance>,
    /// camt `ElctrncSeqNb` (else `LglSeqNb`), MT940 `:28C:`.
    pub sequence_number: Option<String>,
    /// Creation timestamp as written by the bank (ISO 8601 text for camt).
    pub created_at: Option<String>,
    /// BIC of the bank that keeps the account (camt `Acct/Svcr`, the BIC part of an MT940 `:25:`).
    pub servicer_bic: Option<String>,
    /// Name of that bank (camt `Acct/Svcr/FinInstnId/Nm`).
    pub servicer_name: Option<String>,
    /// Name of the account or its owner (camt `Acct/Nm`, else `Acct/Ownr/Nm`).
    pub account_name: Option<String>,
}

impl StatementHeader {
    /// The account as IBAN if known, else the bank's account number.
    pub fn account(&self) -> Option<&str> {
        self.account_iban.as_deref().or(self.account_number.as_deref())
    }
}

/// One booked transaction as the reconciliation engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// The bank's own reference. camt: `AcctSvcrRef`, else `NtryRef`; for a batch
    /// entry with several `TxDtls` the 1-based index is appended (`REF/1`, `REF/2`,
    /// ...) so every line stays unique. MT940: the `//` bank reference of `:61:`.
    /// CSV: the `line_id` column. BAI2: the bank reference of the `16` record.
    pub bank_reference: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed movement on our account: credit positive, debit negative. A
    /// reversal keeps its booked direction (see the module docs) and sets `reversal`.
    pub amount: Decimal,
    /// ISO 4217, upper-case, validated against the ISO table.
    pub currency: String,
    /// Our account this line was booked on: the statement's IBAN / account number,
    /// or the CSV account column (a CSV export may mix accounts in one file).
    pub account: Option<String>,
    pub counterparty_name: Option<String>,
    /// Counterparty IBAN, upper-case without spaces.
    pub counterparty_iban: Option<String>,
    /// Counterparty account that is not an IBAN (MT940 `?31` legacy account, camt `Othr/Id`).
    pub counterparty_account: Option<String>,
    /// Unstructured remittance text; several parts are joined with ' '.
    pub remittance: Option<String>,
    /// Structured creditor reference, e.g. ISO 11649 `RF18...` (camt `Strd/CdtrRefInf/Ref`).
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    /// Reference of the account owner (MT940 `:61:` customer reference, `KREF+`,
    /// BAI2 customer reference). `NONREF` becomes `None`.
    pub customer_reference: Option<String>,
    /// `PMNT/RCDT/ESCT` (camt domain/family/sub-family), camt proprietary code,
    /// MT940 `NTRF` (with the German GVC appended as `NTRF+166`), BAI2 type code.
    pub bank_transaction_code: Option<String>,
    /// Booking text: camt `AddtlTxInf`/`AddtlNtryInf`, MT940 `?00`, BAI2 text
    /// when it is not remittance.
    pub additional_info: Option<String>,
    pub reversal: bool,
    /// Fees reported for this transaction (positive = charged to us). Informational.
    pub charges: Option<Decimal>,
    /// Where the line starts in the file, for messages about it.
    pub position: Option<Position>,
}

/// A place in a statement file: a 1-based line of a text format, or a byte offset of an XML one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Line(u64),
    Byte(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Byte(n) => write!(f, "byte {n}"),
        }
    }
}

impl ParsedLine {
    pub(crate) fn new(booking_date: NaiveDate, amount: Decimal, currency: String) -> Self {
        ParsedLine {
            bank_reference: None,
            booking_date,
            value_date: None,
            amount,
            currency,
            account: None,
            counterparty_name: None,
            counterparty_iban: None,
            counterparty_account: None,
            remittance: None,
            creditor_reference: None,
            end_to_end_id: None,
            customer_reference: None,
            bank_transaction_code: None,
            additional_info: None,
            reversal: false,
            charges: None,
            position: None,
        }
    }
}

/// Receives what the parser finds, in file order. Any error returned aborts the
/// parse and is handed back unchanged by [`parse`].
pub trait StatementSink {
    fn begin_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError>;
    fn line(&mut self, line: ParsedLine) -> Result<(), ParseError>;
    /// `header` now includes the closing balance (and anything else that followed the lines).
    fn end_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError>;
    /// The currency of one of our accounts as the caller knows it (a registered account), for
    /// files that do not state it (camt.054 has no balances): a foreign-currency entry is then
    /// imported with its amount in the account's currency when the file gives one.
    fn account_currency(&mut self, _account: Option<&str>) -> Option<String> {
        None
    }
}

/// What a parse produced besides the sink calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseSummary {
    pub statements: usize,
    pub lines: usize,
    /// Lines found but not handed to the sink, each with a warning: entries that are not booked
    /// (pending, information only), CSV rows of another status or without a direction, BAI2
    /// details of undefined direction. `lines + skipped` is what the file holds.
    pub skipped: usize,
    /// Non-fatal findings: balance mismatches (with both figures), skipped
    /// pending/information entries, ignored unknown fields, ...
    pub warnings: Vec<String>,
}

/// A fatal problem with the input (or an error raised by the sink).
///
/// `message` is complete and human readable, position included
/// (`"line 17: amount '12,3x' is not a decimal"`, `"byte 5012: ..."`); `line`
/// (text formats, 1-based) and `byte_offset` (XML) repeat the position for programs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub line: Option<u64>,
    pub byte_offset: Option<u64>,
}

impl ParseError {
    /// An error without a position (configuration problems, sink errors).
    pub fn new(message: impl Into<String>) -> Self {
        ParseError { message: message.into(), line: None, byte_offset: None }
    }
    /// An error at a 1-based line of a text format.
    pub fn at_line(line: u64, reason: impl fmt::Display) -> Self {
        ParseError { message: format!("line {line}: {reason}"), line: Some(line), byte_offset: None }
    }
    /// An error at a byte offset of a binary / XML input.
    pub fn at_byte(offset: u64, reason: impl fmt::Display) -> Self {
        ParseError { message: format!("byte {offset}: {reason}"), line: None, byte_offset: Some(offset) }
    }
}

/// Sniffs the first few KB of a file. Returns `None` for anything that looks
/// like none of the formats (binary data, unknown XML, ...).
///
/// CSV is the fallback for any text whose first line contains a delimiter,
/// so check the more specific formats first (done here).
pub fn detect_format(prefix: &[u8]) -> Option<Format> {
    let p = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = p.iter().position(|b| !b.is_ascii_whitespace())?;
    let p = &p[start..];
    if p.starts_with(b"<") {
        // The namespace URI is the reliable marker; element names are the fallback
        // for documents whose namespace declaration is beyond the prefix.
        if contains(p, b"camt.053.001.") || contains(p, b"BkToCstmrStmt") {
            return Some(Format::Camt053);
        }
        if contains(p, b"camt.054.001.") || contains(p, b"BkToCstmrDbtCdtNtfctn") {
            return Some(Format::Camt054);
        }
        return None;
    }
    if p.starts_with(b"{1:")
        || p.starts_with(b":20:")
        || (contains(p, b":20:") && contains(p, b":25:") && (contains(p, b":60F:") || contains(p, b":28C:")))
    {
        return Some(Format::Mt940);
    }
    if p.starts_with(b"01,") && (contains(p, b"\n02,") || contains(p, b"/\n") || contains(p, b"/\r\n")) {
        return Some(Format::Bai2);
    }
    // Text check: binary data has NULs and other C0 controls that no bank CSV has.
    if p.iter().any(|&b| b < 0x09 || (0x0E..0x1B).contains(&b) || b == 0x7F) {
        return None;
    }
    let first_line = p.split(|&b| b == b'\n').next().unwrap_or(p);
    if first_line.iter().any(|b| matches!(b, b',' | b';' | b'\t' | b'|')) {
        return Some(Format::Csv);
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Parses one file of `format`, pushing statements and lines into `sink`.
///
/// `csv_mapping` is only used for [`Format::Csv`]; `None` means
/// [`CsvMapping::default`]. A multi-statement file calls
/// `begin_statement`/`end_statement` once per statement.
pub fn parse<R: BufRead>(
    format: Format,
    reader: R,
    csv_mapping: Option<&CsvMapping>,
    sink: &mut dyn StatementSink,
) -> Result<ParseSummary, ParseError> {
    let mut ctx = Ctx::new(sink);
    match format {
        Format::Camt053 | Format::Camt054 => camt053::parse(format, reader, &mut ctx)?,
        Format::Mt940 => mt940::parse(reader, &mut ctx)?,
        Format::Csv => {
            let default;
            let mapping = match csv_mapping {
                Some(m) => m,
                None => {
                    default = CsvMapping::default();
                    &default
                }
            };
            csv_format::parse(reader, mapping, &mut ctx)?
        }
        Format::Bai2 => bai2::parse(reader, &mut ctx)?,
    }
    Ok(ctx.finish())
}

/// [`parse`] over a whole file that is addressable at once (in memory, or mapped from disk).
/// The XML formats borrow their events from it instead of copying each into a buffer; the line
/// formats read it as a stream. `consumed` is told now and then how far the parse has got, so
/// the pages of a mapped file before that offset can be released (memory stays flat however
/// large the file).
pub fn parse_bytes(
    format: Format,
    input: &[u8],
    csv_mapping: Option<&CsvMapping>,
    sink: &mut dyn StatementSink,
    consumed: &mut dyn FnMut(usize),
) -> Result<ParseSummary, ParseError> {
    match format {
        Format::Camt053 | Format::Camt054 => {
            let mut ctx = Ctx::new(sink);
            camt053::parse_slice(format, input, &mut ctx, consumed)?;
            Ok(ctx.finish())
        }
        _ => parse(format, input, csv_mapping, sink),
    }
}

/// A collecting sink, handy for tests and small files.
#[derive(Debug, Default, Clone)]
pub struct CollectSink {
    pub statements: Vec<CollectedStatement>,
}

#[derive(Debug, Default, Clone)]
pub struct CollectedStatement {
    /// The header as given to `end_statement` (the most complete one).
    pub header: StatementHeader,
    pub lines: Vec<ParsedLine>,
}

impl StatementSink for CollectSink {
    fn begin_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        self.statements.push(CollectedStatement { header: header.clone(), lines: Vec::new() });
        Ok(())
    }
    fn line(&mut self, line: ParsedLine) -> Result<(), ParseError> {
        match self.statements.last_mut() {
            Some(s) => {
                s.lines.push(line);
                Ok(())
            }
            None => Err(ParseError::new("line outside a statement")),
        }
    }
    fn end_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        match self.statements.last_mut() {
            Some(s) => {
                s.header = header.clone();
                Ok(())
            }
            None => Err(ParseError::new("end_statement without begin_statement")),
        }
    }
}

impl CollectSink {
    /// All lines of all statements, in file order.
    pub fn lines(&self) -> impl Iterator<Item = &ParsedLine> {
        self.statements.iter().flat_map(|s| s.lines.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("1.234,56", ',', Some('.')).unwrap(), Decimal::new(123456, 2));
        assert_eq!(parse_decimal("-12.30", '.', None).unwrap(), Decimal::new(-1230, 2));
        assert_eq!(parse_decimal("12,", ',', None).unwrap(), Decimal::new(12, 0));
        assert_eq!(parse_decimal("12,34-", ',', None).unwrap(), Decimal::new(-1234, 2));
        assert_eq!(parse_decimal("1 000,5", ',', Some(' ')).unwrap(), Decimal::new(10005, 1));
        assert_eq!(parse_decimal(".05", '.', None).unwrap(), Decimal::new(5, 2));
        assert_eq!(parse_decimal(",5", ',', None).unwrap(), Decimal::new(5, 1));
        for bad in ["", "-", "12,3x", "1e5", "1.2.3", ".", "--1", "NaN", "١٢", ".-5", "..5"] {
            assert!(parse_decimal(bad, '.', None).is_err(), "{bad}");
        }
        assert!(parse_decimal("12,3x", ',', None).unwrap_err().contains("'12,3x' is not a decimal"));
    }

    #[test]
    fn ibans_and_references() {
        assert!(is_iban("DE89370400440532013000"));
        assert!(!is_iban("DE88370400440532013000"));
        assert!(is_iso11649("RF18539007547034"));
        assert!(!is_iso11649("RF19539007547034"));
    }

    #[test]
    fn currencies() {
        assert_eq!(check_currency("EUR").unwrap(), "EUR");
        assert!(check_currency("eur").is_err());
        assert!(check_currency("XYZ").is_err());
        assert!(check_minor_units(Decimal::new(12345, 3), "EUR").is_err());
        assert!(check_minor_units(Decimal::new(10000, 2), "JPY").is_ok());
        assert!(check_minor_units(Decimal::new(1001, 1), "JPY").is_err());
        assert_eq!(currency_exponent("JPY"), Some(0));
        assert_eq!(currency_exponent("BHD"), Some(3));
        assert_eq!(currency_exponent("XAU"), None);
        assert!(check_currency("XAU").is_ok());
        assert!(parse_iso_date("2026-02-29").is_err());
        assert_eq!(parse_iso_date("2026-03-01T10:00:00+01:00").unwrap(), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert!(parse_iso_date("2026-3-01").is_err());
    }

    #[test]
    fn detection() {
        assert_eq!(detect_format(b"\xEF\xBB\xBFline_id,account_iban\n"), Some(Format::Csv));
        assert_eq!(
            detect_format(
                b"<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
            ),
            Some(Format::Camt053)
        );
        assert_eq!(
            detect_format(b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">"),
            Some(Format::Camt054)
        );
        assert_eq!(detect_format(b"{1:F01BANK}{2:O940}{4:\r\n:20:X\r\n"), Some(Format::Mt940));
        assert_eq!(detect_format(b"\r\n:20:STARTUMS\r\n:25:1/2\r\n:28C:1\r\n"), Some(Format::Mt940));
        assert_eq!(detect_format(b"01,SENDER,RECV,260105,0800,1,,,2/\n02,"), Some(Format::Bai2));
        assert_eq!(detect_format(b"\x00\x01\x02garbage"), None);
        assert_eq!(detect_format(b"<html></html>"), None);
        assert_eq!(detect_format(b""), None);
    }
}
