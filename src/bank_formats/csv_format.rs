//! Delimited bank exports, described by a [`CsvMapping`].
//!
//! Input path: raw bytes → `Decoded` (UTF-8 BOM removal, or streaming
//! GBK/GB18030 → UTF-8 with encoding_rs, malformed bytes are errors, not U+FFFD)
//! → `RecordGuard` (caps every CSV record while it is being read, with a
//! quote-aware state machine so quoted line breaks are allowed) → the `csv`
//! crate. Each record is turned into a [`ParsedLine`] and pushed immediately.
//!
//! A CSV file is reported as one statement. Exports often mix several of our
//! accounts in one file (the default mapping has an `account_iban` column), so
//! the account is carried per line in [`ParsedLine::account`]; the header given
//! to `end_statement` names the account/currency only if all lines share it.
//! CSV has no balances, so there is no balance check.

use std::io::{self, BufRead, Read};

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    check_currency, check_minor_units, io_reason, is_iban, normalize_account_id, parse_decimal, truncate, Ctx,
    ParseError, ParsedLine, StatementHeader, MAX_TEXT_BYTES,
};

/// A column, by header name (matched trimmed and ASCII case-insensitively) or
/// by 0-based index. In JSON: `"amount"` or `4`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl Column {
    fn name(n: &str) -> Self {
        Column::Name(n.to_string())
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Index(i) => write!(f, "#{i}"),
            Column::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// How the sign of an amount is expressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case")]
pub enum AmountColumns {
    /// One signed column: credits positive, debits negative (`-12.30` or `12.30-`).
    Signed { amount: Column },
    /// Separate debit and credit columns, one of them filled per row. Values are
    /// magnitudes; a minus sign some banks put in the debit column is ignored.
    DebitCredit { debit: Column, credit: Column },
    /// Unsigned amount plus an indicator column; values compared trimmed and case-insensitively.
    Indicator {
        amount: Column,
        indicator: Column,
        #[serde(default = "default_credit_values")]
        credit_values: Vec<String>,
        #[serde(default = "default_debit_values")]
        debit_values: Vec<String>,
    },
}

/// `C`/`D`, ISO `CRDT`/`DBIT`, German `H`(aben)/`S`(oll), Chinese 贷/借.
fn default_credit_values() -> Vec<String> {
    ["C", "CR", "CRDT", "CREDIT", "H", "贷", "收入"].map(String::from).to_vec()
}
fn default_debit_values() -> Vec<String> {
    ["D", "DR", "DBIT", "DEBIT", "S", "借", "支出"].map(String::from).to_vec()
}

/// Text encoding of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CsvEncoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(rename = "gbk", alias = "GBK")]
    Gbk,
    #[serde(rename = "gb18030", alias = "GB18030")]
    Gb18030,
}

/// Describes a bank's CSV export. Every field has a default, so a JSON mapping
/// only lists what differs from [`CsvMapping::default`] — which reads the
/// default export of our test data generator:
/// `line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvMapping {
    /// Field delimiter (ASCII), e.g. `,` `;` `\t` `|`.
    pub delimiter: char,
    /// Quote character (ASCII); doubled inside a quoted field.
    pub quote: char,
    pub has_header: bool,
    /// Lines before the header (bank name, account, period, ...) to ignore.
    pub skip_rows: usize,
    pub encoding: CsvEncoding,
    pub line_id: Option<Column>,
    /// Our account per line (IBAN or account number).
    pub account: Option<Column>,
    pub booking_date: Column,
    pub value_date: Option<Column>,
    pub amount: AmountColumns,
    pub currency: Option<Column>,
    /// Used when there is no currency column (or it is empty on a row).
    pub default_currency: Option<String>,
    pub counterparty_name: Option<Column>,
    pub counterparty_iban: Option<Column>,
    /// Remittance columns, joined with ' ' (banks often split "Verwendungszweck" over several).
    pub remittance: Vec<Column>,
    pub end_to_end_id: Option<Column>,
    pub bank_transaction_code: Option<Column>,
    /// `.` or `,`.
    pub decimal_separator: char,
    /// e.g. `,` `.` `'` or ` ` (the latter also matches no-break spaces); grouping in the integer part only.
    pub thousands_separator: Option<char>,
    /// chrono `strftime` format for both date columns.
    pub date_format: String,
}

impl Default for CsvMapping {
    fn default() -> Self {
        CsvMapping {
            delimiter: ',',
            quote: '"',
            has_header: true,
            skip_rows: 0,
            encoding: CsvEncoding::Utf8,
            line_id: Some(Column::name("line_id")),
            account: Some(Column::name("account_iban")),
            booking_date: Column::name("booking_date"),
            value_date: Some(Column::name("value_date")),
            amount: AmountColumns::Signed { amount: Column::name("amount") },
            currency: Some(Column::name("currency")),
            default_currency: None,
            counterparty_name: Some(Column::name("counterparty_name")),
            counterparty_iban: Some(Column::name("counterparty_iban")),
            remittance: vec![Column::name("remittance")],
            end_to_end_id: Some(Column::name("end_to_end_id")),
            bank_transaction_code: None,
            decimal_separator: '.',
            thousands_separator: None,
            date_format: "%Y-%m-%d".to_string(),
        }
    }
}

impl CsvMapping {
    fn all_columns(&self) -> Vec<&Column> {
        let mut cols: Vec<&Column> = vec![&self.booking_date];
        match &self.amount {
            AmountColumns::Signed { amount } => cols.push(amount),
            AmountColumns::DebitCredit { debit, credit } => cols.extend([debit, credit]),
            AmountColumns::Indicator { amount, indicator, .. } => cols.extend([amount, indicator]),
        }
        cols.extend(
            [
                &self.line_id,
                &self.account,
                &self.value_date,
                &self.currency,
                &self.counterparty_name,
                &self.counterparty_iban,
                &self.end_to_end_id,
                &self.bank_transaction_code,
            ]
            .into_iter()
            .flatten(),
        );
        cols.extend(self.remittance.iter());
        cols
    }

    /// Checks the mapping itself (before reading any data).
    pub fn validate(&self) -> Result<(), ParseError> {
        let err = |m: String| Err(ParseError::new(format!("CSV mapping: {m}")));
        if !self.delimiter.is_ascii() || !self.quote.is_ascii() || self.delimiter == self.quote {
            return err("delimiter and quote must be two different ASCII characters".into());
        }
        if !matches!(self.decimal_separator, '.' | ',') {
            return err(format!("decimal separator must be '.' or ',', not '{}'", self.decimal_separator));
        }
        if self.thousands_separator == Some(self.decimal_separator) {
            return err("thousands separator equals the decimal separator".into());
        }
        if self.currency.is_none() && self.default_currency.is_none() {
            return err("needs a currency column or a default_currency".into());
        }
        if let Some(c) = &self.default_currency {
            check_currency(c).map_err(|m| ParseError::new(format!("CSV mapping: default_currency: {m}")))?;
        }
        if !self.has_header && self.all_columns().iter().any(|c| matches!(c, Column::Name(_))) {
            return err("columns given by name need has_header = true".into());
        }
        if StrftimeItems::new(&self.date_format).parse().is_err() {
            return err(format!("invalid date_format '{}'", self.date_format));
        }
        Ok(())
    }
}

/// Column positions after reading the header.
struct Resolved {
    line_id: Option<usize>,
    account: Option<usize>,
    booking_date: usize,
    value_date: Option<usize>,
    amount: ResolvedAmount,
    currency: Option<usize>,
    counterparty_name: Option<usize>,
    counterparty_iban: Option<usize>,
    remittance: Vec<usize>,
    end_to_end_id: Option<usize>,
    bank_transaction_code: Option<usize>,
}

enum ResolvedAmount {
    Signed(usize),
    DebitCredit(usize, usize),
    Indicator(usize, usize),
}

fn resolve(m: &CsvMapping, header: Option<&[String]>, line: u64) -> Result<Resolved, ParseError> {
    let find = |c: &Column| -> Result<usize, ParseError> {
        match (c, header) {
            (Column::Index(i), _) => Ok(*i),
            (Column::Name(n), Some(h)) => {
                h.iter().position(|x| x.trim().eq_ignore_ascii_case(n.trim())).ok_or_else(|| {
                    ParseError::at_line(
                        line,
                        format!("column '{n}' not found in header (columns: {})", truncate(&h.join(", "), 300)),
                    )
                })
            }
            (Column::Name(n), None) => Err(ParseError::at_line(line, format!("column '{n}' needs a header row"))),
        }
    };
    let opt = |c: &Option<Column>| c.as_ref().map(find).transpose();
    Ok(Resolved {
        line_id: opt(&m.line_id)?,
        account: opt(&m.account)?,
        booking_date: find(&m.booking_date)?,
        value_date: opt(&m.value_date)?,
        amount: match &m.amount {
            AmountColumns::Signed { amount } => ResolvedAmount::Signed(find(amount)?),
            AmountColumns::DebitCredit { debit, credit } => ResolvedAmount::DebitCredit(find(debit)?, find(credit)?),
            AmountColumns::Indicator { amount, indicator, .. } => {
                ResolvedAmount::Indicator(find(amount)?, find(indicator)?)
            }
        },
        currency: opt(&m.currency)?,
        counterparty_name: opt(&m.counterparty_name)?,
        counterparty_iban: opt(&m.counterparty_iban)?,
        remittance: m.remittance.iter().map(find).collect::<Result<_, _>>()?,
        end_to_end_id: opt(&m.end_to_end_id)?,
        bank_transaction_code: opt(&m.bank_transaction_code)?,
    })
}

/// UTF-8 view of the input: strips a UTF-8 BOM, or decodes GBK/GB18030 in chunks.
struct Decoded<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    label: &'static str,
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    started: bool,
    done: bool,
    consumed: u64,
}

impl<R: BufRead> Decoded<R> {
    fn new(inner: R, encoding: CsvEncoding) -> Self {
        let (decoder, label) = match encoding {
            CsvEncoding::Utf8 => (None, "UTF-8"),
            // WHATWG maps GBK to the GB18030 decoder (a superset); new_decoder()
            // also honours a UTF-8 BOM if an export is mislabelled.
            CsvEncoding::Gbk => (Some(encoding_rs::GBK.new_decoder()), "GBK"),
            CsvEncoding::Gb18030 => (Some(encoding_rs::GB18030.new_decoder()), "GB18030"),
        };
        let out = if decoder.is_some() { vec![0; 16 * 1024] } else { Vec::new() };
        Decoded { inner, decoder, label, out, out_pos: 0, out_len: 0, started: false, done: false, consumed: 0 }
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else {
            // UTF-8: pass through (the csv layer validates per field), minus the BOM.
            if !self.started {
                self.started = true;
                let head = self.inner.fill_buf()?;
                if head.starts_with(b"\xEF\xBB\xBF") {
                    self.inner.consume(3);
                }
            }
            let src = self.inner.fill_buf()?;
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            self.inner.consume(n);
            return Ok(n);
        };
        while self.out_pos == self.out_len {
            if self.done {
                return Ok(0);
            }
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (result, read, written) = decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
            self.inner.consume(read);
            self.consumed += read as u64;
            self.out_pos = 0;
            self.out_len = written;
            if let encoding_rs::DecoderResult::Malformed(bad, _) = result {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "invalid {} byte sequence at byte {}",
                        self.label,
                        self.consumed.saturating_sub(u64::from(bad))
                    ),
                ));
            }
            if last && matches!(result, encoding_rs::DecoderResult::InputEmpty) {
                self.done = true;
            }
        }
        let n = (self.out_len - self.out_pos).min(dst.len());
        dst[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Fails the read as soon as one CSV record exceeds `max` bytes. Tracks quoting
/// like csv-core does (a quote only opens a field at its start; `""` inside a
/// quoted field is an escaped quote), so line breaks inside quoted fields count
/// towards the record, and stray quotes in the middle of an unquoted field do
/// not derail it. Scans with memchr: only quotes and line breaks are looked at.
struct RecordGuard<R> {
    inner: R,
    delimiter: u8,
    quote: u8,
    in_quotes: bool,
    /// A quote was seen inside a quoted field; the next byte decides whether it
    /// was an escaped quote (`""`) or the closing one.
    quote_pending: bool,
    /// Last byte scanned (a line break before the first byte).
    prev: u8,
    run: usize,
    max: usize,
}

impl<R> RecordGuard<R> {
    fn new(inner: R, delimiter: u8, quote: u8, max: usize) -> Self {
        RecordGuard { inner, delimiter, quote, in_quotes: false, quote_pending: false, prev: b'\n', run: 0, max }
    }

    fn scan(&mut self, chunk: &[u8]) -> io::Result<()> {
        let n = chunk.len();
        let mut i = 0;
        while i < n {
            if self.quote_pending {
                self.quote_pending = false;
                if chunk[i] == self.quote {
                    self.run += 1;
                    self.prev = self.quote;
                    i += 1;
                    continue;
                }
                self.in_quotes = false; // that was the closing quote; handle chunk[i] below
            }
            if self.in_quotes {
                match memchr::memchr(self.quote, &chunk[i..]) {
                    Some(j) => {
                        self.run += j + 1;
                        self.prev = self.quote;
                        self.quote_pending = true;
                        i += j + 1;
                    }
                    None => {
                        self.run += n - i;
                        self.prev = chunk[n - 1];
                        i = n;
                    }
                }
            } else {
                match memchr::memchr2(self.quote, b'\n', &chunk[i..]) {
                    Some(j) => {
                        let at = i + j;
                        let before = if j == 0 { self.prev } else { chunk[at - 1] };
                        self.run += j + 1;
                        if chunk[at] == b'\n' {
                            if self.run > self.max + 1 {
                                return Err(self.too_long()); // before the count restarts
                            }
                            self.run = 0;
                        } else if before == self.delimiter || before == b'\n' {
                            self.in_quotes = true;
                        }
                        self.prev = chunk[at];
                        i = at + 1;
                    }
                    None => {
                        self.run += n - i;
                        self.prev = chunk[n - 1];
                        i = n;
                    }
                }
            }
            if self.run > self.max {
                return Err(self.too_long());
            }
        }
        Ok(())
    }

    fn too_long(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("CSV record longer than {} bytes", self.max))
    }
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

fn field<'r>(rec: &'r csv::ByteRecord, idx: usize, what: &str, line: u64) -> Result<&'r str, ParseError> {
    match rec.get(idx) {
        Some(b) => std::str::from_utf8(b).map(str::trim).map_err(|_| {
            ParseError::at_line(line, format!("{what} is not valid UTF-8 (wrong encoding in the mapping?)"))
        }),
        None => Ok(""),
    }
}

fn opt_field(rec: &csv::ByteRecord, idx: Option<usize>, what: &str, line: u64) -> Result<Option<String>, ParseError> {
    match idx {
        Some(i) => Ok(Some(field(rec, i, what, line)?).filter(|s| !s.is_empty()).map(str::to_string)),
        None => Ok(None),
    }
}

fn csv_error(e: csv::Error, line: u64) -> ParseError {
    let line = e.position().map(|p| p.line()).unwrap_or(line);
    match e.kind() {
        csv::ErrorKind::Io(io) => ParseError::at_line(line, io_reason(io)),
        _ => ParseError::at_line(line, format!("malformed CSV: {e}")),
    }
}

pub(crate) fn parse<R: BufRead>(reader: R, m: &CsvMapping, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
    m.validate()?;
    let items: Vec<Item<'_>> = StrftimeItems::new(&m.date_format)
        .parse()
        .map_err(|_| ParseError::new(format!("CSV mapping: invalid date_format '{}'", m.date_format)))?;
    let parse_date = |s: &str, what: &str, line: u64| -> Result<NaiveDate, ParseError> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, s, items.iter()).and_then(|_| parsed.to_naive_date()).map_err(|_| {
            ParseError::at_line(line, format!("{what} '{}' does not match '{}'", truncate(s, 40), m.date_format))
        })
    };
    let guard = RecordGuard::new(Decoded::new(reader, m.encoding), m.delimiter as u8, m.quote as u8, MAX_TEXT_BYTES);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(m.delimiter as u8)
        .quote(m.quote as u8)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(guard);

    let (credit_values, debit_values) = match &m.amount {
        AmountColumns::Indicator { credit_values, debit_values, .. } => (credit_values.clone(), debit_values.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let mut cols = if m.has_header { None } else { Some(resolve(m, None, 1)?) };
    let mut rec = csv::ByteRecord::new();
    let mut row = 0usize;
    let mut header = StatementHeader::default();
    let mut begun = false;
    // Whether all lines share one account / currency, for the closing header.
    let mut accounts: Option<Option<String>> = None;
    let mut currencies: Option<Option<String>> = None;
    let dec = m.decimal_separator;
    let th = m.thousands_separator;

    loop {
        let last_line = rdr.position().line();
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, last_line)),
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(last_line);
        row += 1;
        if row <= m.skip_rows {
            continue;
        }
        let Some(c) = &cols else {
            let names = (0..rec.len())
                .map(|i| field(&rec, i, "header", line).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            cols = Some(resolve(m, Some(&names), line)?);
            continue;
        };
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if !begun {
            ctx.begin(&header)?;
            begun = true;
        }

        let amount = |idx: usize, what: &str| -> Result<Option<Decimal>, ParseError> {
            let s = field(&rec, idx, what, line)?;
            if s.is_empty() {
                return Ok(None);
            }
            parse_decimal(s, dec, th).map(Some).map_err(|msg| ParseError::at_line(line, msg))
        };
        let amount = match c.amount {
            ResolvedAmount::Signed(i) => {
                amount(i, "amount")?.ok_or_else(|| ParseError::at_line(line, "amount is empty"))?
            }
            ResolvedAmount::DebitCredit(d, cr) => match (amount(d, "debit")?, amount(cr, "credit")?) {
                (Some(d), None) => -d.abs(),
                (None, Some(cr)) => cr.abs(),
                (Some(d), Some(cr)) if d.is_zero() => cr.abs(),
                (Some(d), Some(cr)) if cr.is_zero() => -d.abs(),
                (Some(_), Some(_)) => {
                    return Err(ParseError::at_line(line, "both the debit and the credit column have an amount"))
                }
                (None, None) => return Err(ParseError::at_line(line, "neither debit nor credit column has an amount")),
            },
            ResolvedAmount::Indicator(a, ind) => {
                let value = amount(a, "amount")?.ok_or_else(|| ParseError::at_line(line, "amount is empty"))?.abs();
                let flag = field(&rec, ind, "debit/credit indicator", line)?;
                let is = |vals: &[String]| vals.iter().any(|v| v.trim().eq_ignore_ascii_case(flag));
                if is(&credit_values) {
                    value
                } else if is(&debit_values) {
                    -value
                } else {
                    return Err(ParseError::at_line(
                        line,
                        format!(
                            "debit/credit indicator '{}' is neither a credit nor a debit value",
                            truncate(flag, 20)
                        ),
                    ));
                }
            }
        };
        let currency = match c.currency.map(|i| field(&rec, i, "currency", line)).transpose()? {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => m.default_currency.clone().ok_or_else(|| ParseError::at_line(line, "currency is empty"))?,
        };
        let currency = check_currency(&currency).map_err(|msg| ParseError::at_line(line, msg))?;
        check_minor_units(amount, &currency).map_err(|msg| ParseError::at_line(line, msg))?;

        let booking = field(&rec, c.booking_date, "booking date", line)?;
        if booking.is_empty() {
            return Err(ParseError::at_line(line, "booking date is empty"));
        }
        let booking_date = parse_date(booking, "booking date", line)?;
        let value_date = match c.value_date.map(|i| field(&rec, i, "value date", line)).transpose()? {
            Some(s) if !s.is_empty() => Some(parse_date(s, "value date", line)?),
            _ => None,
        };

        let mut l = ParsedLine::new(booking_date, amount, currency);
        l.value_date = value_date;
        l.bank_reference = opt_field(&rec, c.line_id, "line id", line)?;
        l.account = opt_field(&rec, c.account, "account", line)?;
        l.counterparty_name = opt_field(&rec, c.counterparty_name, "counterparty name", line)?;
        l.counterparty_iban = opt_field(&rec, c.counterparty_iban, "counterparty IBAN", line)?;
        l.end_to_end_id = opt_field(&rec, c.end_to_end_id, "end-to-end id", line)?;
        l.bank_transaction_code = opt_field(&rec, c.bank_transaction_code, "transaction code", line)?;
        let mut parts = Vec::with_capacity(c.remittance.len());
        for &i in &c.remittance {
            let s = field(&rec, i, "remittance", line)?;
            if !s.is_empty() {
                parts.push(s);
            }
        }
        l.remittance = (!parts.is_empty()).then(|| parts.join(" "));

        let acct = l.account.as_deref().and_then(normalize_account_id);
        match &accounts {
            None => accounts = Some(acct.clone()),
            Some(a) if *a != acct => accounts = Some(None),
            _ => {}
        }
        match &currencies {
            None => currencies = Some(Some(l.currency.clone())),
            Some(Some(cur)) if *cur != l.currency => currencies = Some(None),
            _ => {}
        }
        ctx.line(l)?;
    }
    if cols.is_none() {
        return Err(ParseError::at_line(rdr.position().line(), "no header row found (empty file?)"));
    }
    if !begun {
        ctx.begin(&header)?;
    }
    if let Some(Some(a)) = accounts {
        if is_iban(&a) {
            header.account_iban = Some(a);
        } else {
            header.account_number = Some(a);
        }
    }
    header.currency = currencies.flatten();
    ctx.end(&header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_ok(data: &[u8], max: usize) -> bool {
        let mut g = RecordGuard::new(data, b',', b'"', max);
        let mut out = Vec::new();
        // Small reads exercise state carried across chunk boundaries.
        let mut buf = [0u8; 3];
        loop {
            match g.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return false,
            }
        }
    }

    #[test]
    fn record_guard_tracks_quotes() {
        assert!(guard_ok(b"aaaa,bbbb\ncccc,dddd\n", 10));
        assert!(!guard_ok(b"aaaa,bbbbbbb\n", 10));
        assert!(!guard_ok(b"aaaa,bbbbbbbbbbbbbbbbbbbbbbb\nc\n", 10), "long record ending in one chunk");
        // Quoted line breaks belong to the record.
        assert!(!guard_ok(b"a,\"x\ny\nz\nw\"\n", 10));
        assert!(guard_ok(b"a,\"x\ny\"\nb,c\n", 10));
        // Escaped quotes keep the field open; a stray quote mid-field does not open one.
        assert!(!guard_ok(b"a,\"x\"\"\ny\nzzzz\"\n", 10));
        assert!(guard_ok(b"ab\"c,d\ne,f\ng,h\n", 10));
    }
}
