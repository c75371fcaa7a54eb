//! Customers' statements as their systems export them (CSV, UTF-8 or GBK/GB18030).
//!
//! A statement is their payables ledger: their own references, our number somewhere or nowhere,
//! their document types in their words, their dates, and amounts as debits and credits of their
//! books, where an invoice of ours is a credit. [`read_csv`] turns such a file into lines in our
//! terms, guided by the customer's [`StatementMapping`] where it says and detecting the rest,
//! and says in [`ReadStatement::notes`] how it read the file (a skipped total row, an unknown
//! word, an ambiguous date). A line it cannot read fails the whole file with the row and the
//! reason: nothing is imported half.
//!
//! * [`mapping`]: the saved layout; [`vocabulary`]: document types, headers and summary rows in
//!   many languages; [`layout`]: header row and columns; [`dates`]: date formats; [`amounts`]:
//!   decimal separators and sides.

pub mod amounts;
pub mod dates;
pub mod layout;
pub mod mapping;
pub mod vocabulary;

pub use mapping::{AmountConvention, InvoiceSide, Side, StatementMapping};

use crate::bank_formats::{truncate, CsvEncoding};
use crate::domain::document::DocType;
use amounts::{guess_separators, read_amount};
use chrono::NaiveDate;
use layout::{Amounts, Layout};
use rust_decimal::Decimal;
use vocabulary::{is_summary, Vocabulary};

/// Lines a statement may have (the reconciliation's own limit, checked early to bound memory).
pub const MAX_ROWS: usize = 200_000;
/// Longest cell read; anything longer is not a statement.
const MAX_CELL: usize = 2_000;
/// Row errors listed in a refusal (the count says how many more).
const MAX_LISTED: usize = 100;

/// The file's rows: (1-based line of the file, cells trimmed).
pub type Rows = Vec<(u64, Vec<String>)>;

/// A statement line as read, before its kind is settled (see [`ReadStatement::resolve`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadLine {
    /// 1-based line of the file.
    pub row: u64,
    pub their_ref: String,
    pub our_ref: Option<String>,
    pub text: String,
    pub date: NaiveDate,
    /// The kind their word for the document type stands for, if we know the word.
    pub word_kind: Option<DocType>,
    /// The side of their books the line is on; `None` where amounts are unsigned.
    pub side: Option<Side>,
    /// The size of the amount on its side; unsigned layouts: the amount as written.
    pub amount: Decimal,
    pub currency: String,
}

/// A line in our terms: a stated kind and a positive amount (adjustments signed), or no kind and
/// an amount signed by its effect on what the customer owes (positive raises it).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub kind: Option<DocType>,
    pub amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct ReadStatement {
    pub lines: Vec<ReadLine>,
    /// How the file was read, for the statement's notes.
    pub notes: Vec<String>,
    /// The side our invoices are on; `None` when neither the mapping nor the document types
    /// tell (the caller then tries both readings against our books).
    pub invoices: Option<Side>,
    /// Values of a customer-code column, if the file has one.
    pub customer_codes: Vec<String>,
}

/// A file that cannot be read, or rows that cannot: (row, reason) each.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError {
    pub message: String,
    pub rows: Vec<(u64, String)>,
}

impl FormatError {
    fn file(message: impl Into<String>) -> FormatError {
        FormatError { message: message.into(), rows: Vec::new() }
    }
}

impl ReadStatement {
    /// The lines in our terms, with invoices on `invoices`' side. A word against its side reads
    /// as the other document: an invoice on the payments' side is a credit note (a red invoice),
    /// a payment or credit note on the invoices' side an adjustment (a refund, a reversal).
    pub fn resolve(&self, invoices: Side) -> Vec<Resolved> {
        self.lines
            .iter()
            .map(|l| {
                let Some(side) = l.side else { return Resolved { kind: l.word_kind, amount: l.amount } };
                let raises = side == invoices;
                let signed = if raises { l.amount } else { -l.amount };
                let kind = match (l.word_kind, raises) {
                    (None, _) => return Resolved { kind: None, amount: signed },
                    (Some(DocType::Invoice), true) => DocType::Invoice,
                    (Some(DocType::Invoice), false) | (Some(DocType::CreditNote), false) => DocType::CreditNote,
                    (Some(DocType::Payment), false) => DocType::Payment,
                    (Some(_), _) => return Resolved { kind: Some(DocType::Adjustment), amount: signed },
                };
                Resolved { kind: Some(kind), amount: l.amount }
            })
            .collect()
    }
}

/// The text of the file: UTF-8 (a BOM dropped), GBK or GB18030 as the mapping says, or, when
/// it does not, UTF-8 if the bytes are UTF-8 and GB18030 otherwise.
fn decode(body: &[u8], encoding: Option<CsvEncoding>, notes: &mut Vec<String>) -> Result<String, FormatError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let gb = |label: &str| {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|s| s.into_owned())
            .ok_or_else(|| FormatError::file(format!("the file is not valid {label} text")))
    };
    match encoding {
        Some(CsvEncoding::Utf8) => String::from_utf8(body.to_vec()).map_err(|e| {
            FormatError::file(format!(
                "the file is not valid UTF-8 (byte {}); is it GBK?",
                e.utf8_error().valid_up_to()
            ))
        }),
        // WHATWG decodes GBK with the GB18030 decoder (a superset).
        Some(CsvEncoding::Gbk) => gb("GBK"),
        Some(CsvEncoding::Gb18030) => gb("GB18030"),
        None => match std::str::from_utf8(body) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => {
                let text = gb("UTF-8 or GB18030")?;
                notes.push("read as GB18030/GBK (the file is not UTF-8)".into());
                Ok(text)
            }
        },
    }
}

/// The delimiter the header row is cut by most often, of `,` `;` tab and `|`.
fn sniff_delimiter(text: &str) -> u8 {
    let head: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(30).collect();
    let mut best = (0usize, b',');
    for d in [b',', b';', b'\t', b'|'] {
        let most = head.iter().map(|l| l.bytes().filter(|&b| b == d).count()).max().unwrap_or(0);
        if most > best.0 {
            best = (most, d);
        }
    }
    best.1
}

fn read_rows(text: &str, m: &StatementMapping) -> Result<Rows, FormatError> {
    let delimiter = m.delimiter.map_or_else(|| sniff_delimiter(text), |c| c as u8);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(m.quote.map_or(b'"', |c| c as u8))
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            FormatError::file(format!("malformed CSV near line {line}: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().any(|c| c.len() > MAX_CELL) {
            return Err(FormatError::file(format!("line {line}: a cell longer than {MAX_CELL} bytes")));
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() > MAX_ROWS + 100 {
            return Err(FormatError::file(format!("more than {MAX_ROWS} lines in one statement")));
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(rows)
}

/// Reads a statement file with the customer's mapping (`StatementMapping::default()` detects
/// everything). `fallback_currency`: the customer's default currency, for files without one.
pub fn read_csv(
    body: &[u8],
    m: &StatementMapping,
    fallback_currency: Option<&str>,
) -> Result<ReadStatement, FormatError> {
    m.validate().map_err(|e| FormatError::file(format!("statement mapping: {e}")))?;
    let mut notes = Vec::new();
    let text = decode(body, m.encoding, &mut notes)?;
    let rows = read_rows(&text, m)?;
    let mut layout = layout::layout(m, &rows).map_err(FormatError::file)?;
    notes.append(&mut layout.notes);
    let data = set_aside_summaries(&rows, &layout, &mut notes);
    let date_cells: Vec<&str> = data.iter().map(|r| cell(&r.1, Some(layout.date))).collect();
    let (formats, ambiguity) = dates::choose(&m.date_formats, &date_cells).map_err(FormatError::file)?;
    notes.extend(ambiguity);
    let amount_cells: Vec<&str> = data.iter().flat_map(|r| amount_cells(&layout.amounts, &r.1)).collect();
    let (decimal, thousands) = guess_separators(m.decimal_separator, m.thousands_separator, &amount_cells);
    if decimal == ',' && m.decimal_separator.is_none() {
        notes.push("amounts read with a decimal comma".into());
    }
    let vocabulary = Vocabulary::new(&m.doc_types);
    let default_currency = m.default_currency.as_deref().or(fallback_currency);

    let mut reader = RowReader {
        layout: &layout,
        formats: &formats,
        decimal,
        thousands,
        vocabulary: &vocabulary,
        default_currency,
        unknown_words: Vec::new(),
        zero_rows: Vec::new(),
    };
    let mut lines = Vec::with_capacity(data.len());
    let mut errors = Vec::new();
    let mut customer_codes = Vec::new();
    for (row, cells) in data {
        if let Some(code) = layout.customer_code.and_then(|p| cells.get(p)).filter(|c| !c.is_empty()) {
            if !customer_codes.contains(code) {
                customer_codes.push(code.clone());
            }
        }
        match reader.line(*row, cells) {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => {}
            Err(e) => errors.push((*row, e)),
        }
    }
    if !errors.is_empty() {
        let total = errors.len();
        errors.truncate(MAX_LISTED);
        return Err(FormatError {
            message: format!("{total} line(s) of the statement cannot be read; nothing was imported"),
            rows: errors,
        });
    }
    notes.extend(reader.notes());
    let layout = refine_unsigned(layout, &mut lines)?;
    let invoices = decide_side(&layout, &lines, &mut notes);
    Ok(ReadStatement { lines, notes, invoices, customer_codes })
}

fn cell(r: &[String], p: Option<usize>) -> &str {
    p.and_then(|p| r.get(p)).map(|s| s.as_str()).unwrap_or("")
}

/// The data rows of the file, without those that summarise rather than record (totals, balances
/// carried), which are noted.
fn set_aside_summaries<'r>(
    rows: &'r [(u64, Vec<String>)],
    layout: &Layout,
    notes: &mut Vec<String>,
) -> Vec<&'r (u64, Vec<String>)> {
    // Rows that summarise rather than record (totals, balances carried) are set aside first, so
    // that they decide neither the date format nor the decimal separator.
    let mut data: Vec<&(u64, Vec<String>)> = Vec::new();
    let mut summaries: Vec<u64> = Vec::new();
    for row in &rows[layout.first_data.min(rows.len())..] {
        let labels = [layout.doc_type, layout.their_ref].into_iter().chain(layout.text.iter().copied().map(Some));
        let first_cells = row.1.iter().take(3).map(|s| s.as_str());
        if labels.map(|p| cell(&row.1, p)).chain(first_cells).any(is_summary) {
            summaries.push(row.0);
        } else {
            data.push(row);
        }
    }
    if !summaries.is_empty() {
        let listed: Vec<String> = summaries.iter().take(10).map(u64::to_string).collect();
        notes.push(format!(
            "{} total or balance row(s) not read as lines (line {})",
            summaries.len(),
            listed.join(", ")
        ));
    }
    data
}

fn amount_cells<'r>(amounts: &Amounts, cells: &'r [String]) -> Vec<&'r str> {
    let get = |p: usize| cells.get(p).map(|s| s.as_str()).unwrap_or("");
    match amounts {
        Amounts::Unsigned(a) | Amounts::Signed(a) | Amounts::Indicator { amount: a, .. } => vec![get(*a)],
        Amounts::DebitCredit(d, c) => vec![get(*d), get(*c)],
    }
}

/// A detected single amount column is unsigned when no invoice or payment is negative (the
/// document type then says the direction, as in our own CSV layout); a negative one makes it signed.
fn refine_unsigned(layout: Layout, lines: &mut [ReadLine]) -> Result<Layout, FormatError> {
    if !(layout.detected && matches!(layout.amounts, Amounts::Signed(_))) {
        return Ok(layout);
    }
    if lines.iter().any(|l| l.side == Some(Side::Credit) && l.word_kind != Some(DocType::Adjustment)) {
        return Ok(layout);
    }
    if layout.doc_type.is_none() {
        if lines.is_empty() {
            return Ok(layout);
        }
        return Err(FormatError::file(
            "the amounts carry no sign and there is no document type column: invoices cannot be told from \
             payments; save a statement mapping for this customer",
        ));
    }
    let unknown: Vec<(u64, String)> = lines
        .iter()
        .filter(|l| l.word_kind.is_none())
        .take(MAX_LISTED)
        .map(|l| (l.row, UNKNOWN_TYPE.to_string()))
        .collect();
    if !unknown.is_empty() {
        return Err(FormatError {
            message: "lines of the statement have no document type we know; nothing was imported".into(),
            rows: unknown,
        });
    }
    for l in lines.iter_mut() {
        if l.side == Some(Side::Credit) {
            l.amount = -l.amount; // a negative adjustment keeps its sign
        }
        l.side = None;
    }
    Ok(Layout { amounts: Amounts::Unsigned(0), ..layout })
}

const UNKNOWN_TYPE: &str = "the document type is not in the vocabulary: with unsigned amounts it must say \
     invoice, credit note, payment or adjustment (add the word to the mapping's doc_types)";

/// Which side our invoices are on: the mapping's, else what the document types say (two in three
/// typed lines agreeing: red invoices and reversals go against the rest), else undecided.
fn decide_side(layout: &Layout, lines: &[ReadLine], notes: &mut Vec<String>) -> Option<Side> {
    if matches!(layout.amounts, Amounts::Unsigned(_)) {
        return None;
    }
    if let Some(side) = layout.invoices.side() {
        return Some(side);
    }
    let (mut credit, mut debit) = (0usize, 0usize);
    for l in lines {
        let (Some(side), Some(kind)) = (l.side, l.word_kind) else { continue };
        let invoices_on = match kind {
            DocType::Invoice => side,
            DocType::Payment | DocType::CreditNote => side.opposite(),
            DocType::Adjustment => continue,
        };
        match invoices_on {
            Side::Credit => credit += 1,
            Side::Debit => debit += 1,
        }
    }
    let votes = credit + debit;
    let side = if votes > 0 && credit * 3 >= votes * 2 {
        Some(Side::Credit)
    } else if votes > 0 && debit * 3 >= votes * 2 {
        Some(Side::Debit)
    } else {
        None
    };
    if let Some(s) = side {
        notes.push(format!("invoices read on the {} side, as the document types say", s.as_str()));
    }
    side
}

/// Reads data rows into lines.
struct RowReader<'a> {
    layout: &'a Layout,
    formats: &'a [dates::DateFormat],
    decimal: char,
    thousands: Option<char>,
    vocabulary: &'a Vocabulary,
    default_currency: Option<&'a str>,
    unknown_words: Vec<String>,
    zero_rows: Vec<u64>,
}

impl RowReader<'_> {
    /// The line's side (debit or credit; `None` for an unsigned amount, decided by its type) and
    /// its amount.
    fn side_and_amount(
        &self,
        cells: &[String],
        word: &str,
        known_word: bool,
    ) -> Result<(Option<Side>, Decimal), String> {
        let get = |p: usize| cells.get(p).map(|s| s.as_str()).unwrap_or("");
        let amount = |p: usize| read_amount(get(p), self.decimal, self.thousands);
        Ok(match &self.layout.amounts {
            Amounts::Unsigned(p) => {
                let v = amount(*p)?.ok_or("the amount is empty")?;
                if !known_word {
                    return Err(format!("'{}': {UNKNOWN_TYPE}", truncate(word, 40)));
                }
                (None, v)
            }
            Amounts::Signed(p) => {
                let v = amount(*p)?.ok_or("the amount is empty")?;
                (Some(if v < Decimal::ZERO { Side::Credit } else { Side::Debit }), v.abs())
            }
            Amounts::DebitCredit(d, c) => {
                let (d, c) = (amount(*d)?.filter(|v| !v.is_zero()), amount(*c)?.filter(|v| !v.is_zero()));
                match (d, c) {
                    (Some(_), Some(_)) => return Err("both the debit and the credit column have an amount".into()),
                    // A negative amount in a column is a reversal: it belongs to the other side.
                    (Some(v), None) => (Some(if v < Decimal::ZERO { Side::Credit } else { Side::Debit }), v.abs()),
                    (None, Some(v)) => (Some(if v < Decimal::ZERO { Side::Debit } else { Side::Credit }), v.abs()),
                    (None, None) => (Some(Side::Debit), Decimal::ZERO),
                }
            }
            Amounts::Indicator { amount: a, indicator, debit_values, credit_values } => {
                let v = amount(*a)?.ok_or("the amount is empty")?;
                let flag = get(*indicator);
                let is = |vals: &[String]| vals.iter().any(|x| x.trim().eq_ignore_ascii_case(flag));
                let side = if is(debit_values) {
                    Side::Debit
                } else if is(credit_values) {
                    Side::Credit
                } else {
                    return Err(format!(
                        "debit/credit indicator '{}' is neither a debit nor a credit value",
                        truncate(flag, 20)
                    ));
                };
                (Some(if v < Decimal::ZERO { side.opposite() } else { side }), v.abs())
            }
        })
    }

    fn line(&mut self, row: u64, cells: &[String]) -> Result<Option<ReadLine>, String> {
        let l = self.layout;
        let get = |p: usize| cells.get(p).map(|s| s.as_str()).unwrap_or("");
        let opt = |p: Option<usize>| p.map(get).unwrap_or("");
        let date_cell = get(l.date);
        let date = dates::read(self.formats, date_cell).ok_or_else(|| {
            let wanted: Vec<&str> = self.formats.iter().map(|f| f.text.as_str()).collect();
            format!("date '{}' does not read as {}", truncate(date_cell, 40), wanted.join(" or "))
        })?;
        let word = opt(l.doc_type);
        let word_kind = self.vocabulary.kind(word);
        if word_kind.is_none()
            && !word.is_empty()
            && self.unknown_words.len() < 20
            && !self.unknown_words.iter().any(|w| w == word)
        {
            self.unknown_words.push(word.to_string());
        }
        let (side, value) = self.side_and_amount(cells, word, word_kind.is_some())?;
        if value.is_zero() {
            self.zero_rows.push(row);
            return Ok(None);
        }
        let currency = match opt(l.currency) {
            "" => self
                .default_currency
                .ok_or("no currency: the file has none for this line and the customer has no default currency")?,
            c => c,
        };
        let their_ref = opt(l.their_ref).to_string();
        let our_ref = Some(opt(l.our_ref).to_string()).filter(|s| !s.is_empty());
        let text: Vec<&str> = l.text.iter().map(|&p| get(p)).filter(|s| !s.is_empty()).collect();
        Ok(Some(ReadLine {
            row,
            their_ref,
            our_ref,
            text: text.join(" "),
            date,
            word_kind,
            side,
            amount: value,
            currency: currency.to_ascii_uppercase(),
        }))
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.unknown_words.is_empty() {
            let words: Vec<String> = self.unknown_words.iter().map(|w| format!("'{}'", truncate(w, 40))).collect();
            notes.push(format!(
                "document types not in the vocabulary, read by their side: {} (add them to the mapping's doc_types)",
                words.join(", ")
            ));
        }
        if !self.zero_rows.is_empty() {
            let listed: Vec<String> = self.zero_rows.iter().take(10).map(u64::to_string).collect();
            notes.push(format!(
                "{} line(s) without an amount not read (line {})",
                self.zero_rows.len(),
                listed.join(", ")
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests;
