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
use std::io::{self, BufRead, Read};

use chrono::NaiveDate;
use rust_decimal::Decimal;

// The format modules expose nothing but their `parse` to this module: callers
// go through [`parse`] so every format reports warnings and balances the same way.
mod bai2;
mod camt053;
mod csv_format;
mod input;
mod mt940;
mod presets;

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

// ---------------------------------------------------------------------------
// Shared machinery for the parsers.
// ---------------------------------------------------------------------------

/// Wraps the sink, counts, collects warnings and checks balances, so every
/// format reports the same way.
pub(crate) struct Ctx<'a> {
    sink: &'a mut dyn StatementSink,
    summary: ParseSummary,
    suppressed_warnings: usize,
    /// Sum of booked amounts of the open statement, for the balance check.
    running: Decimal,
    /// Entries of the open statement left out of the balance check (booked in another currency
    /// with no amount in the statement's): the check is then reported as not possible.
    unbalanced: usize,
}

impl<'a> Ctx<'a> {
    fn new(sink: &'a mut dyn StatementSink) -> Self {
        Ctx { sink, summary: ParseSummary::default(), suppressed_warnings: 0, running: Decimal::ZERO, unbalanced: 0 }
    }

    pub(crate) fn warn(&mut self, message: String) {
        if self.summary.warnings.len() < MAX_WARNINGS {
            self.summary.warnings.push(message);
        } else {
            self.suppressed_warnings += 1;
        }
    }

    /// A line of the file that is not imported, with the reason (and its position) as warning.
    pub(crate) fn skip(&mut self, message: String) {
        self.skip_lines(1, message);
    }

    /// `n` lines not imported for one reason (a pending batch entry), said once.
    pub(crate) fn skip_lines(&mut self, n: usize, message: String) {
        self.summary.skipped += n;
        self.warn(message);
    }

    pub(crate) fn skipped(&self) -> usize {
        self.summary.skipped
    }

    /// See [`StatementSink::account_currency`].
    pub(crate) fn account_currency(&mut self, account: Option<&str>) -> Option<String> {
        self.sink.account_currency(account)
    }

    pub(crate) fn begin(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        self.running = Decimal::ZERO;
        self.unbalanced = 0;
        self.sink.begin_statement(header)
    }

    /// Emits a line. The amount is *not* added to the balance check here because
    /// camt batch entries book the entry amount, not the sum of their lines;
    /// callers use [`Ctx::book`].
    pub(crate) fn line(&mut self, line: ParsedLine) -> Result<(), ParseError> {
        self.summary.lines += 1;
        self.sink.line(finish_line(line))
    }

    /// Adds a booked amount to the running balance of the open statement.
    pub(crate) fn book(&mut self, amount: Decimal) -> Result<(), ParseError> {
        self.running = self
            .running
            .checked_add(amount)
            .ok_or_else(|| ParseError::new("sum of statement amounts overflows a decimal"))?;
        Ok(())
    }

    /// Notes an entry that cannot take part in the balance check (see `unbalanced`).
    pub(crate) fn book_elsewhere(&mut self) {
        self.unbalanced += 1;
    }

    /// Ends the statement and checks opening + booked lines = closing.
    pub(crate) fn end(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        self.summary.statements += 1;
        if let (Some(open), Some(close)) = (&header.opening_balance, &header.closing_balance) {
            let name = header.statement_id.as_deref().unwrap_or("(no id)");
            let expected = open.amount.checked_add(self.running);
            let message = match expected {
                _ if self.unbalanced > 0 => Some(format!(
                    "statement {name}: balances not checked: {} entries are booked in another currency \
                     than the statement's {}",
                    self.unbalanced, open.currency
                )),
                None => Some(format!("statement {name}: balance check overflows")),
                Some(expected) if open.currency != close.currency => Some(format!(
                    "statement {name}: opening balance {} {} + lines {} = {expected} {}, but closing balance \
                     is {} {} (another currency)",
                    open.amount, open.currency, self.running, open.currency, close.amount, close.currency
                )),
                Some(expected) if expected != close.amount => Some(format!(
                    "statement {name}: opening balance {} {cur} + lines {} = {expected} {cur}, \
                     but closing balance is {} {cur} (difference {})",
                    open.amount,
                    self.running,
                    close.amount,
                    close.amount - expected,
                    cur = close.currency
                )),
                Some(_) => None,
            };
            if let Some(m) = message {
                self.warn(m);
            }
        }
        self.running = Decimal::ZERO;
        self.unbalanced = 0;
        self.sink.end_statement(header)
    }

    fn finish(mut self) -> ParseSummary {
        if self.suppressed_warnings > 0 {
            self.summary.warnings.push(format!("... and {} more warnings", self.suppressed_warnings));
        }
        self.summary
    }
}

/// Normalisation every format gets (see the module docs).
fn finish_line(mut l: ParsedLine) -> ParsedLine {
    fn clean(v: &mut Option<String>) {
        if let Some(s) = v {
            let t = s.trim();
            if t.is_empty() || t == "NOTPROVIDED" || t == "NONREF" {
                *v = None;
            } else if t.len() != s.len() {
                *s = t.to_string();
            }
        }
    }
    for v in [
        &mut l.bank_reference,
        &mut l.counterparty_name,
        &mut l.counterparty_account,
        &mut l.remittance,
        &mut l.creditor_reference,
        &mut l.end_to_end_id,
        &mut l.customer_reference,
        &mut l.bank_transaction_code,
        &mut l.additional_info,
        &mut l.account,
    ] {
        clean(v);
    }
    if let Some(iban) = &l.counterparty_iban {
        l.counterparty_iban = normalize_account_id(iban);
    }
    if l.creditor_reference.is_none() {
        if let Some(r) = l.remittance.as_deref() {
            // Cheap prefix test first: almost no remittance text is a reference.
            if r.len() <= 40 && r.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("RF")) {
                let compact: String = r.chars().filter(|c| !c.is_whitespace()).collect();
                if is_iso11649(&compact) {
                    l.creditor_reference = Some(compact.to_ascii_uppercase());
                }
            }
        }
    }
    l
}

/// Upper-case, spaces removed; `None` if empty.
pub(crate) fn normalize_account_id(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Some(s.to_string()); // the usual case, no rebuilding
    }
    let v: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    (!v.is_empty()).then_some(v)
}

/// ISO 7064 mod 97-10 over an alphanumeric string whose 4 leading characters
/// are moved to the end (shared by IBAN and ISO 11649).
fn mod97_ok(s: &str) -> bool {
    if s.len() < 5 || !s.is_ascii() {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v < 10 { (rem * 10 + v) % 97 } else { (rem * 100 + v) % 97 };
    }
    rem == 1
}

/// A syntactically valid IBAN (country, check digits, BBAN, checksum).
pub fn is_iban(s: &str) -> bool {
    let b = s.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
        && mod97_ok(s)
}

/// A valid ISO 11649 structured creditor reference (`RF` + 2 check digits + up to 21 chars).
pub fn is_iso11649(s: &str) -> bool {
    let b = s.as_bytes();
    (5..=25).contains(&b.len())
        && b[..2].eq_ignore_ascii_case(b"RF")
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
        && mod97_ok(&s.to_ascii_uppercase())
}

/// ISO 4217 lookup table indexed by the three letters (26³ slots): 0 = not a
/// currency, 1 = currency without minor units defined (e.g. XAU), n + 2 = n
/// decimals. Built once from `iso_currency`; a lookup is then an array access,
/// which matters at two amounts per transaction.
fn currency_slot(code: &str) -> Option<usize> {
    let b = code.as_bytes();
    (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase))
        .then(|| b.iter().fold(0usize, |acc, c| acc * 26 + usize::from(c - b'A')))
}

fn currency_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![0u8; 26 * 26 * 26];
        let mut code = [b'A'; 3];
        for (slot, entry) in t.iter_mut().enumerate() {
            code[0] = b'A' + (slot / 676) as u8;
            code[1] = b'A' + (slot / 26 % 26) as u8;
            code[2] = b'A' + (slot % 26) as u8;
            let s = std::str::from_utf8(&code).unwrap_or_default();
            if let Some(c) = iso_currency::Currency::from_code(s) {
                *entry = c.exponent().map_or(1, |e| e.min(250) as u8 + 2);
            } else if let Some(units) = crate::domain::money::withdrawn_minor_units(s) {
                *entry = units as u8 + 2;
            }
        }
        t
    })
}

/// A currency ISO 4217 has withdrawn (DEM, FRF ...): accepted, and worth a warning.
pub(crate) fn is_withdrawn_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_none() && crate::domain::money::withdrawn_minor_units(code).is_some()
}

/// Validates an ISO 4217 code: three upper-case letters that exist in the ISO table (current, or
/// withdrawn: old statements in DEM or FRF are still statements).
pub(crate) fn check_currency(code: &str) -> Result<String, String> {
    let code = code.trim();
    let slot = currency_slot(code)
        .ok_or_else(|| format!("currency '{}' is not three upper-case letters", truncate(code, 40)))?;
    if currency_table()[slot] == 0 {
        return Err(format!("currency '{code}' is not an ISO 4217 code"));
    }
    Ok(code.to_string())
}

/// Minor units of a valid currency (`None` when ISO defines none, e.g. gold).
pub(crate) fn currency_exponent(code: &str) -> Option<u32> {
    let v = currency_table()[currency_slot(code)?];
    (v >= 2).then(|| u32::from(v - 2))
}

/// Rejects amounts with more significant decimals than the currency has
/// (`12.345 EUR`); trailing zeros (`100.00 JPY`) are fine.
pub(crate) fn check_minor_units(amount: Decimal, currency: &str) -> Result<(), String> {
    if let Some(exp) = currency_exponent(currency) {
        if amount.scale() > exp && amount.normalize().scale() > exp {
            return Err(format!("amount {amount} has more decimals than {currency} allows ({exp})"));
        }
    }
    Ok(())
}

/// Parses an exact decimal written with `decimal` as separator and optional
/// `thousands` grouping; accepts a leading `+`/`-` and (as some bank exports
/// write) a trailing `-`. Anything else — letters, exponents, two separators —
/// is an error. Never goes through floating point.
pub(crate) fn parse_decimal(s: &str, decimal: char, thousands: Option<char>) -> Result<Decimal, String> {
    let bad = || format!("amount '{}' is not a decimal", truncate(s, 40));
    let t = s.trim();
    // Fast path for the common plain form ("1234.56", XML and most CSV): digits
    // with at most one '.', handed to rust_decimal without rebuilding the string.
    if decimal == '.' {
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let dots = t.bytes().filter(|&b| b == b'.').count();
        if digits > 0
            && digits <= 28
            && digits + dots == t.len()
            && dots <= 1
            && !t.starts_with('.')
            && !t.ends_with('.')
        {
            return t.parse::<Decimal>().map_err(|_| bad());
        }
    }
    let (neg, body) = if let Some(r) = t.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = t.strip_prefix('+') {
        (false, r)
    } else if let Some(r) = t.strip_suffix('-') {
        (true, r)
    } else {
        (false, t)
    };
    let mut out = String::with_capacity(body.len() + 2);
    if neg {
        out.push('-');
    }
    if body.starts_with(decimal) {
        out.push('0'); // ".05": no integer digit, as some banks write fractions
    }
    let mut seen_sep = false;
    let mut digits = 0usize;
    let mut int_digits = 0usize;
    for c in body.chars() {
        if c.is_ascii_digit() {
            out.push(c);
            digits += 1;
            if !seen_sep {
                int_digits += 1;
            }
        } else if c == decimal && !seen_sep {
            seen_sep = true;
            out.push('.');
        } else if !seen_sep
            && int_digits > 0
            && thousands.is_some_and(|th| c == th || (th == ' ' && (c == '\u{a0}' || c == '\u{202f}')))
        {
            // grouping inside the integer part only
        } else {
            return Err(bad());
        }
    }
    if digits == 0 || out.ends_with('.') && int_digits == 0 {
        return Err(bad());
    }
    if out.ends_with('.') {
        out.pop(); // "12," is valid MT940 for 12
    }
    if digits > 28 {
        return Err(format!("amount '{}' has too many digits", truncate(s, 40)));
    }
    out.parse::<Decimal>().map_err(|_| bad())
}

/// Parses `YYYY-MM-DD`, optionally followed by a time and/or zone as ISO 8601
/// `xs:date` / `xs:dateTime` allow (the date part is the bank's booking day).
pub(crate) fn parse_iso_date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let b = t.as_bytes();
    let shape_ok = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit())
        && matches!(b.get(10), None | Some(b'T' | b'Z' | b'+' | b'-'));
    if !shape_ok {
        return Err(format!("date '{}' is not YYYY-MM-DD", truncate(t, 40)));
    }
    // Hand-rolled instead of parse_from_str: that re-parses the format string
    // for every date, which showed up in profiles of large statements.
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
        .ok_or_else(|| format!("date '{}' is not a valid date", truncate(t, 40)))
}

/// For messages: never echo a huge or binary value back in full.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Reads physical lines (`\n` or `\r\n`) with a hard length cap, counting
/// line numbers. Used by MT940 and BAI2.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    pub(crate) line_no: u64,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineReader { inner, buf: Vec::with_capacity(256), line_no: 0, max }
    }

    /// Next line (1-based number, content without terminator), or `None` at end of input.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, ParseError> {
        self.buf.clear();
        let next = self.line_no + 1;
        // `take` bounds what `read_until` may buffer: a 1 GB file without
        // newlines costs MAX_TEXT_BYTES, not 1 GB.
        let n = (&mut self.inner)
            .take(self.max as u64 + 2)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ParseError::at_line(next, format!("read error: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no = next;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > self.max {
            return Err(ParseError::at_line(next, format!("line longer than {} bytes", self.max)));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > self.max {
            return Err(ParseError::at_line(next, format!("line longer than {} bytes", self.max)));
        }
        if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        Ok(Some((self.line_no, &self.buf)))
    }
}

/// Decodes a text line: UTF-8 when valid, else Windows-1252 (MT940/BAI2 files
/// from European banks are often Latin-1/CP1252 despite the SWIFT character
/// set; Windows-1252 decodes every byte, so this never fails).
pub(crate) fn decode_line(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Turns a sink-independent io error raised by our guards back into a message.
pub(crate) fn io_reason(e: &io::Error) -> String {
    e.get_ref().map(|inner| inner.to_string()).unwrap_or_else(|| e.to_string())
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
