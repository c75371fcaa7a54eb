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
//! What the file says about itself (a balance column, totals rows, a row count in
//! the preamble) is checked against the rows and reported as warnings.
//!
//! Cells are read as banks write them (see `cells`): blanks and tabs around values,
//! spreadsheet text markers, placeholders for "nothing", currency names, amounts with
//! their currency. Rows that cannot be a line (no date, no amount, a status other than
//! booked, neither credit nor debit) are skipped with a warning and counted.

use std::io::BufRead;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::NaiveDate;
use rust_decimal::Decimal;

mod cells;
mod checks;
mod input;
mod mapping;

pub(crate) use cells::{clean_cell, header_key};
pub(crate) use mapping::DEFAULT_COLUMNS;
pub use mapping::{AmountColumns, Column, CsvEncoding, CsvMapping, StatusFilter, MAX_PREAMBLE_ROWS};

use super::{
    check_minor_units, io_reason, is_iban, normalize_account_id, truncate, Ctx, ParseError, ParsedLine, Position,
    StatementHeader, MAX_TEXT_BYTES,
};
use cells::{amount_cell, currency_code, date_part};
use checks::{RunningBalance, Stated, Totals};
use input::{Decoded, RecordGuard};
use mapping::{resolve, Resolved, ResolvedAmount};

/// A cell as text, cleaned (see [`clean_cell`]); empty when the row is shorter.
fn field<'r>(rec: &'r csv::ByteRecord, idx: usize, what: &str, line: u64) -> Result<&'r str, ParseError> {
    match rec.get(idx) {
        Some(b) => std::str::from_utf8(b).map(clean_cell).map_err(|_| {
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

/// Several columns joined with ' ' (empty cells left out).
fn joined(rec: &csv::ByteRecord, idx: &[usize], what: &str, line: u64) -> Result<Option<String>, ParseError> {
    let mut out = String::new();
    for &i in idx {
        let s = field(rec, i, what, line)?;
        if !s.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn csv_error(e: csv::Error, line: u64) -> ParseError {
    let line = e.position().map(|p| p.line()).unwrap_or(line);
    match e.kind() {
        csv::ErrorKind::Io(io) => ParseError::at_line(line, io_reason(io)),
        _ => ParseError::at_line(line, format!("malformed CSV: {e}")),
    }
}

/// What one data row is.
enum Row {
    Line(Box<ParsedLine>),
    /// Not a line, with the reason (already a complete warning).
    Skip(String),
}

/// The state of one parse: the mapping, the columns once the header is found, and what is
/// checked across rows.
struct Reader<'m> {
    m: &'m CsvMapping,
    items: Vec<Item<'m>>,
    cols: Option<Resolved>,
    /// Normalised status values of booked rows; normalised indicator values.
    booked: Vec<String>,
    credit_values: Vec<String>,
    debit_values: Vec<String>,
    neutral_values: Vec<String>,
    totals_markers: Vec<String>,
    balance: RunningBalance,
    totals: Totals,
    declared: Option<(u64, u64)>,
    first_row: Option<String>,
    searched: usize,
}

fn norm(values: &[String]) -> Vec<String> {
    values.iter().map(|v| clean_cell(v).to_lowercase()).collect()
}

impl<'m> Reader<'m> {
    fn new(m: &'m CsvMapping) -> Result<Self, ParseError> {
        let items = StrftimeItems::new(&m.date_format)
            .parse()
            .map_err(|_| ParseError::new(format!("CSV mapping: invalid date_format '{}'", m.date_format)))?;
        let (credit_values, debit_values, neutral_values) = match &m.amount {
            AmountColumns::Indicator { credit_values, debit_values, neutral_values, .. } => {
                (norm(credit_values), norm(debit_values), norm(neutral_values))
            }
            _ => Default::default(),
        };
        Ok(Reader {
            m,
            items,
            cols: None,
            booked: m.status.as_ref().map(|s| norm(&s.booked)).unwrap_or_default(),
            credit_values,
            debit_values,
            neutral_values,
            totals_markers: m.totals_markers.iter().map(|t| header_key(t)).filter(|t| !t.is_empty()).collect(),
            balance: RunningBalance::default(),
            totals: Totals::default(),
            declared: None,
            first_row: None,
            searched: 0,
        })
    }

    fn date(&self, s: &str, what: &str, line: u64) -> Result<NaiveDate, ParseError> {
        let parse = |s: &str| {
            let mut parsed = Parsed::new();
            chrono::format::parse(&mut parsed, s, self.items.iter()).and_then(|_| parsed.to_naive_date())
        };
        parse(s).or_else(|e| date_part(s).map_or(Err(e), parse)).map_err(|_| {
            ParseError::at_line(line, format!("{what} '{}' does not match '{}'", truncate(s, 40), self.m.date_format))
        })
    }

    /// A row before the header: the header itself, or part of the preamble.
    fn preamble_row(&mut self, rec: &csv::ByteRecord, line: u64, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        let names =
            (0..rec.len()).map(|i| field(rec, i, "header", line).map(header_key)).collect::<Result<Vec<_>, _>>()?;
        if self.m.is_header(&names) {
            let mut missing = Vec::new();
            self.cols = Some(resolve(self.m, Some(&names), line, &mut missing)?);
            missing.into_iter().for_each(|w| ctx.warn(w));
            return Ok(());
        }
        if self.first_row.is_none() && names.iter().any(|n| !n.is_empty()) {
            let cells: Vec<&str> = (0..rec.len()).filter_map(|i| field(rec, i, "header", line).ok()).collect();
            self.first_row = Some(truncate(&cells.join(", "), 200));
        }
        if let Some(pattern) = &self.m.declared_count {
            for i in 0..rec.len() {
                if let Some(n) = checks::declared_count(pattern, field(rec, i, "preamble", line)?) {
                    self.declared = Some((n, line));
                }
            }
        }
        self.searched += 1;
        if self.searched >= MAX_PREAMBLE_ROWS {
            return Err(self.no_header(line));
        }
        Ok(())
    }

    fn no_header(&self, line: u64) -> ParseError {
        let seen = match &self.first_row {
            Some(r) => format!("; the first row holds: {r}"),
            None => " (empty file?)".to_string(),
        };
        ParseError::at_line(
            line.max(1),
            format!("no header row found with the columns {}{seen}", self.m.required_names()),
        )
    }

    /// A totals row (its first cell holds a marker): compared with the rows, not a line.
    fn totals_row(&self, rec: &csv::ByteRecord, line: u64) -> Option<Result<Option<String>, ParseError>> {
        let cols = self.cols.as_ref()?;
        let first = (0..rec.len()).map(|i| field(rec, i, "cell", line)).find(|c| !matches!(c, Ok("")))?;
        let first = match first {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        };
        let key = header_key(first);
        if !self.totals_markers.iter().any(|m| key.contains(m.as_str())) {
            return None;
        }
        let value = |i: usize| -> Option<Decimal> {
            let s = field(rec, i, "total", line).ok()?;
            amount_cell(s, self.m.decimal_separator, self.m.thousands_separator).ok().map(|(v, _)| v)
        };
        let stated = match cols.amount {
            ResolvedAmount::DebitCredit(d, c) => Stated::Split(value(c), value(d)),
            ResolvedAmount::Signed(i) | ResolvedAmount::Indicator(i, _) => match value(i) {
                Some(v) => Stated::Net(v),
                None => return Some(Ok(None)),
            },
        };
        Some(Ok(self.totals.compare(line, first, stated)))
    }

    fn row(&mut self, rec: &csv::ByteRecord, line: u64, ctx: &mut Ctx<'_>) -> Result<Row, ParseError> {
        let Some(c) = &self.cols else { return Err(ParseError::at_line(line, "no header row")) };
        let m = self.m;
        let (dec, th) = (m.decimal_separator, m.thousands_separator);
        if let Some(i) = c.status {
            let status = field(rec, i, "status", line)?;
            let key = status.to_lowercase();
            if !self.booked.iter().any(|b| !b.is_empty() && key.starts_with(b.as_str())) {
                return Ok(Row::Skip(format!("line {line}: status '{}' is not booked; skipped", truncate(status, 30))));
            }
        }
        let (amount, cell_currency) = match self.signed_amount(rec, c, line)? {
            Ok(found) => found,
            Err(why) => return Ok(Row::Skip(why)),
        };
        let named = match c.currency.map(|i| field(rec, i, "currency", line)).transpose()? {
            Some(s) if !s.is_empty() => Some(currency_code(s).map_err(|msg| ParseError::at_line(line, msg))?),
            _ => None,
        };
        let account = opt_field(rec, c.account, "account", line)?;
        let currency = match named.or(cell_currency).or_else(|| m.default_currency.clone()) {
            Some(cur) => cur,
            None => ctx.account_currency(account.as_deref()).ok_or_else(|| {
                ParseError::at_line(line, "currency is empty (no currency column, default_currency or known account)")
            })?,
        };
        check_minor_units(amount, &currency).map_err(|msg| ParseError::at_line(line, msg))?;

        let booking = field(rec, c.booking_date, "booking date", line)?;
        if booking.is_empty() {
            return Ok(Row::Skip(format!("line {line}: booking date is empty; skipped")));
        }
        let booking_date = self.date(booking, "booking date", line)?;
        let value_date = match c.value_date.map(|i| field(rec, i, "value date", line)).transpose()? {
            Some(s) if !s.is_empty() => Some(self.date(s, "value date", line)?),
            _ => None,
        };
        if let Some(i) = c.balance {
            let b = field(rec, i, "balance", line)?;
            let b = amount_cell(b, dec, th).ok().map(|(v, _)| v);
            self.balance.row(&currency, b, amount, line);
        }
        self.totals.add(amount);

        let mut l = ParsedLine::new(booking_date, amount, currency);
        l.value_date = value_date;
        l.position = Some(Position::Line(line));
        l.bank_reference = opt_field(rec, c.line_id, "line id", line)?;
        l.account = account;
        l.counterparty_name = opt_field(rec, c.counterparty_name, "counterparty name", line)?;
        l.counterparty_iban = opt_field(rec, c.counterparty_iban, "counterparty IBAN", line)?;
        l.counterparty_account = opt_field(rec, c.counterparty_account, "counterparty account", line)?;
        l.end_to_end_id = opt_field(rec, c.end_to_end_id, "end-to-end id", line)?;
        l.bank_transaction_code = opt_field(rec, c.bank_transaction_code, "transaction code", line)?;
        l.remittance = joined(rec, &c.remittance, "remittance", line)?;
        l.additional_info = joined(rec, &c.additional_info, "booking text", line)?;
        Ok(Row::Line(Box::new(l)))
    }

    /// The row's amount, signed by the mapping's convention, and a currency written in its cell;
    /// `Err` with the reason when the row is skipped.
    fn signed_amount(
        &self,
        rec: &csv::ByteRecord,
        c: &Resolved,
        line: u64,
    ) -> Result<Result<(Decimal, Option<String>), String>, ParseError> {
        let m = self.m;
        let (dec, th) = (m.decimal_separator, m.thousands_separator);
        let amount = |idx: usize, what: &str| -> Result<Option<(Decimal, Option<String>)>, ParseError> {
            let s = field(rec, idx, what, line)?;
            if s.is_empty() {
                return Ok(None);
            }
            amount_cell(s, dec, th).map(Some).map_err(|msg| ParseError::at_line(line, msg))
        };
        Ok(Ok(match c.amount {
            ResolvedAmount::Signed(i) => match amount(i, "amount")? {
                Some((v, cur)) => {
                    let debits_positive = matches!(m.amount, AmountColumns::Signed { debits_positive: true, .. });
                    (if debits_positive { -v } else { v }, cur)
                }
                None => return Ok(Err(format!("line {line}: amount is empty; skipped"))),
            },
            ResolvedAmount::DebitCredit(d, cr) => match (amount(d, "debit")?, amount(cr, "credit")?) {
                (Some((d, cur)), None) => (-d.abs(), cur),
                (None, Some((cr, cur))) => (cr.abs(), cur),
                (Some((d, cur)), Some((cr, _))) if cr.is_zero() => (-d.abs(), cur),
                (Some((d, _)), Some((cr, cur))) if d.is_zero() => (cr.abs(), cur),
                (Some(_), Some(_)) => {
                    return Ok(Err(format!(
                        "line {line}: both the debit and the credit column have an amount; skipped"
                    )))
                }
                (None, None) => {
                    return Ok(Err(format!("line {line}: neither debit nor credit column has an amount; skipped")))
                }
            },
            ResolvedAmount::Indicator(a, ind) => {
                let Some((value, cur)) = amount(a, "amount")? else {
                    return Ok(Err(format!("line {line}: amount is empty; skipped")));
                };
                let flag = field(rec, ind, "debit/credit indicator", line)?;
                match self.direction(flag) {
                    Some(true) => (value.abs(), cur),
                    Some(false) => (-value.abs(), cur),
                    None => {
                        let kind = if self.neutral(flag) { "neither income nor expense" } else { "not a known value" };
                        let shown =
                            if flag.is_empty() { "(empty)".to_string() } else { format!("'{}'", truncate(flag, 20)) };
                        return Ok(Err(format!("line {line}: debit/credit indicator {shown} is {kind}; skipped")));
                    }
                }
            }
        }))
    }

    /// Credit (`true`), debit (`false`) or unknown, by the indicator's values.
    fn direction(&self, flag: &str) -> Option<bool> {
        let key = flag.to_lowercase();
        let prefix = matches!(self.m.amount, AmountColumns::Indicator { match_prefix: true, .. });
        let is = |vals: &[String]| vals.iter().any(|v| if prefix { key.starts_with(v.as_str()) } else { key == *v });
        if is(&self.credit_values) {
            Some(true)
        } else if is(&self.debit_values) {
            Some(false)
        } else {
            None
        }
    }

    fn neutral(&self, flag: &str) -> bool {
        self.neutral_values.contains(&flag.to_lowercase())
    }

    fn finish(self, ctx: &mut Ctx<'_>) {
        for w in self.balance.finish() {
            ctx.warn(w);
        }
        if let Some((n, line)) = self.declared {
            let rows = self.totals.rows + ctx.skipped() as u64;
            if n != rows {
                ctx.warn(format!("line {line}: the preamble announces {n} rows, the file holds {rows}"));
            }
        }
    }
}

pub(crate) fn parse<R: BufRead>(reader: R, m: &CsvMapping, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
    m.validate()?;
    let mut r = Reader::new(m)?;
    let mut rdr = csv_reader(reader, m);

    if !m.has_header {
        let mut missing = Vec::new();
        r.cols = Some(resolve(m, None, 1, &mut missing)?);
    }
    let mut rec = csv::ByteRecord::new();
    let mut row = 0usize;
    let mut header = StatementHeader::default();
    let mut begun = false;
    let mut shared = Shared::default();

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
        if r.cols.is_none() {
            r.preamble_row(&rec, line, ctx)?;
            continue;
        }
        if rec.iter().all(|f| f.iter().all(|b| b.is_ascii_whitespace())) {
            continue;
        }
        if !r.totals_markers.is_empty() {
            if let Some(found) = r.totals_row(&rec, line) {
                if let Some(w) = found? {
                    ctx.warn(w);
                }
                continue;
            }
        }
        if !begun {
            ctx.begin(&header)?;
            begun = true;
        }
        let l = match r.row(&rec, line, ctx)? {
            Row::Line(l) => *l,
            Row::Skip(why) => {
                ctx.skip(why);
                continue;
            }
        };
        shared.note(&l);
        ctx.line(l)?;
    }
    if r.cols.is_none() {
        return Err(r.no_header(rdr.position().line()));
    }
    if !begun {
        ctx.begin(&header)?;
    }
    r.finish(ctx);
    shared.fill(&mut header);
    ctx.end(&header)
}

fn csv_reader<R: BufRead>(reader: R, m: &CsvMapping) -> csv::Reader<RecordGuard<Decoded<R>>> {
    let guard = RecordGuard::new(Decoded::new(reader, m.encoding), m.delimiter as u8, m.quote as u8, MAX_TEXT_BYTES);
    csv::ReaderBuilder::new()
        .delimiter(m.delimiter as u8)
        .quote(m.quote as u8)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(guard)
}

/// Whether all lines share one account / currency, for the closing header (`None`: no line yet;
/// `Some(None)`: they differ).
#[derive(Default)]
struct Shared {
    accounts: Option<Option<String>>,
    currencies: Option<Option<String>>,
}

impl Shared {
    fn note(&mut self, l: &ParsedLine) {
        let acct = l.account.as_deref().and_then(normalize_account_id);
        match &self.accounts {
            None => self.accounts = Some(acct),
            Some(a) if *a != acct => self.accounts = Some(None),
            _ => {}
        }
        match &self.currencies {
            None => self.currencies = Some(Some(l.currency.clone())),
            Some(Some(cur)) if *cur != l.currency => self.currencies = Some(None),
            _ => {}
        }
    }

    fn fill(self, header: &mut StatementHeader) {
        if let Some(Some(a)) = self.accounts {
            if is_iban(&a) {
                header.account_iban = Some(a);
            } else {
                header.account_number = Some(a);
            }
        }
        header.currency = self.currencies.flatten();
    }
}
