//! BAI2 (Cash Management Balance Reporting Specification, version 2).
//!
//! Records: `01` file header, `02` group header (as-of date, default currency),
//! `03` account identifier with status/summary amounts, `16` transaction
//! detail, `88` continuation of the previous record, `49` account trailer,
//! `98` group trailer, `99` file trailer. One account (`03` … `49`) is one
//! statement; its opening/closing ledger balances come from status codes `010`
//! / `015` (`045` closing available) of the `03` record.
//!
//! Amounts carry no decimal point: they are in minor units of the currency
//! (`12345` USD = 123.45). Type codes 100–399 are credits, 400–699 debits;
//! other detail codes (loan detail 700–799, bank-specific 900–999) are skipped
//! with a warning since their direction is not defined by the standard.
//! Control totals and record counts in `49`/`98`/`99` are checked and reported
//! as warnings.

use std::io::BufRead;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::{
    check_currency, decode_line, is_iban, truncate, Balance, Ctx, LineReader, ParseError, ParsedLine, Position,
    StatementHeader, MAX_RECORD_BYTES, MAX_TEXT_BYTES,
};

/// A logical record: the record line plus its `88` continuations.
struct Record {
    code: u8,
    line: u64,
    /// Physical parts without record code and trailing '/'.
    parts: Vec<String>,
    /// Bytes in `parts`, for the record size cap.
    bytes: usize,
    physical: u64,
}

impl Record {
    /// Fields of a record whose continuation simply continues the field list.
    fn joined(&self) -> String {
        self.parts.join(",")
    }
}

/// Records counted both ways: the standard counts physical records (`88` continuations
/// included), some banks count logical ones; a trailer agreeing with either is accepted.
#[derive(Default, Clone, Copy)]
struct Records {
    physical: u64,
    logical: u64,
}

impl Records {
    fn of(rec: &Record) -> Self {
        Records { physical: rec.physical, logical: 1 }
    }
    fn add(&mut self, rec: &Record) {
        self.physical += rec.physical;
        self.logical += 1;
    }
    fn agrees(&self, count: u64) -> bool {
        count == self.physical || count == self.logical
    }
}

#[derive(Default)]
struct Group {
    as_of: Option<NaiveDate>,
    currency: Option<String>,
    total: i128,
    accounts: u64,
    records: Records,
}

struct Account {
    header: StatementHeader,
    currency: String,
    as_of: NaiveDate,
    total: i128,
    records: Records,
}

struct Parser<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    file_id: Option<String>,
    created_at: Option<String>,
    file_total: i128,
    file_groups: u64,
    file_records: Records,
    group: Option<Group>,
    account: Option<Account>,
    seen_header: bool,
    seen_trailer: bool,
}

pub(crate) fn parse<R: BufRead>(reader: R, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
    let mut lines = LineReader::new(reader, MAX_TEXT_BYTES);
    let mut p = Parser {
        ctx,
        file_id: None,
        created_at: None,
        file_total: 0,
        file_groups: 0,
        file_records: Records::default(),
        group: None,
        account: None,
        seen_header: false,
        seen_trailer: false,
    };
    let mut pending: Option<Record> = None;
    while let Some((line_no, raw)) = lines.next_line()? {
        let text = decode_line(raw);
        let s = text.trim_end();
        if s.is_empty() {
            continue;
        }
        let b = s.as_bytes();
        let code = match (b.first(), b.get(1), b.get(2)) {
            (Some(d1), Some(d2), Some(b',') | Some(b'/') | None) if d1.is_ascii_digit() && d2.is_ascii_digit() => {
                (d1 - b'0') * 10 + (d2 - b'0')
            }
            _ => return Err(ParseError::at_line(line_no, format!("not a BAI2 record: '{}'", truncate(s, 40)))),
        };
        let body = s.get(3..).unwrap_or("");
        let body = body.strip_suffix('/').unwrap_or(body).to_string();
        if code == 88 {
            let rec = pending
                .as_mut()
                .ok_or_else(|| ParseError::at_line(line_no, "88 continuation without a preceding record"))?;
            rec.bytes += body.len();
            if rec.bytes > MAX_RECORD_BYTES {
                return Err(ParseError::at_line(line_no, "record with continuations is too long"));
            }
            rec.parts.push(body);
            rec.physical += 1;
            continue;
        }
        if let Some(rec) = pending.take() {
            p.record(rec)?;
        }
        pending = Some(Record { code, line: line_no, bytes: body.len(), parts: vec![body], physical: 1 });
    }
    if let Some(rec) = pending.take() {
        p.record(rec)?;
    }
    let end = lines.line_no.max(1);
    if let Some(a) = &p.account {
        let name = a.header.account().unwrap_or("?").to_string();
        return Err(ParseError::at_line(end, format!("unexpected end of file: account {name} has no 49 trailer")));
    }
    if !p.seen_header {
        return Err(ParseError::at_line(end, "no BAI2 file header (01) found"));
    }
    if p.group.is_some() {
        p.ctx.warn("BAI2 group without 98 trailer".into());
    }
    if !p.seen_trailer {
        p.ctx.warn("BAI2 file without 99 trailer (truncated?)".into());
    }
    Ok(())
}

/// Comma-separated field cursor that can hand out "the rest" for text fields.
struct Fields<'s> {
    s: &'s str,
    pos: Option<usize>,
}

impl<'s> Fields<'s> {
    fn new(s: &'s str) -> Self {
        Fields { s, pos: Some(0) }
    }
    fn next(&mut self) -> Option<&'s str> {
        let start = self.pos?;
        match self.s[start..].find(',') {
            Some(i) => {
                self.pos = Some(start + i + 1);
                Some(&self.s[start..start + i])
            }
            None => {
                self.pos = None;
                Some(&self.s[start..])
            }
        }
    }
    fn rest(&mut self) -> Option<&'s str> {
        let start = self.pos.take()?;
        Some(&self.s[start..])
    }
}

/// `YYMMDD`; BAI2 years are 20xx for 00–69.
fn yymmdd(s: &str, line: u64) -> Result<NaiveDate, ParseError> {
    let bad = || ParseError::at_line(line, format!("date '{}' is not YYMMDD", truncate(s, 20)));
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| bad());
    let yy = n(0..2)? as i32;
    NaiveDate::from_ymd_opt(if yy < 70 { 2000 + yy } else { 1900 + yy }, n(2..4)?, n(4..6)?).ok_or_else(bad)
}

/// Minor-unit integer, optionally signed (status amounts may be negative).
fn minor_units(s: &str, signed: bool, line: u64) -> Result<Option<i128>, ParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (neg, digits) = match t.as_bytes()[0] {
        b'-' if signed => (true, &t[1..]),
        b'+' if signed => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::at_line(line, format!("amount '{}' is not an amount in minor units", truncate(t, 40))));
    }
    let v: i128 = digits.parse().map_err(|_| ParseError::at_line(line, format!("amount '{t}' is out of range")))?;
    Ok(Some(if neg { -v } else { v }))
}

fn to_decimal(minor: i128, currency: &str) -> Decimal {
    // Currencies without defined minor units (XAU, ...) are read as cents, like USD.
    let exp = super::currency_exponent(currency).unwrap_or(2);
    Decimal::from_i128_with_scale(minor, exp)
}

/// Skips the extra fields a funds type carries and returns the value date it implies.
fn funds_type(f: &mut Fields<'_>, as_of: Option<NaiveDate>, line: u64) -> Result<Option<NaiveDate>, ParseError> {
    let ft = f.next().unwrap_or("").trim();
    Ok(match ft {
        "0" => as_of,
        "1" => as_of.map(|d| d + Duration::days(1)),
        "S" => {
            for _ in 0..3 {
                f.next(); // immediate, one-day, two-or-more-day availability
            }
            None
        }
        "V" => {
            let d = f.next().unwrap_or("").trim();
            f.next(); // value time
            if d.is_empty() {
                None
            } else {
                Some(yymmdd(d, line)?)
            }
        }
        "D" => {
            let n: usize = f
                .next()
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| ParseError::at_line(line, "funds type D without a distribution count"))?;
            if n > 1000 {
                return Err(ParseError::at_line(line, "funds type D with too many distributions"));
            }
            for _ in 0..2 * n {
                f.next();
            }
            None
        }
        "" | "2" | "Z" => None,
        other => return Err(ParseError::at_line(line, format!("unknown funds type '{}'", truncate(other, 10)))),
    })
}

impl Parser<'_, '_> {
    fn record(&mut self, rec: Record) -> Result<(), ParseError> {
        let line = rec.line;
        if self.seen_trailer {
            return Err(ParseError::at_line(line, "record after the 99 file trailer"));
        }
        if rec.code != 1 && !self.seen_header {
            return Err(ParseError::at_line(line, "BAI2 file does not start with an 01 record"));
        }
        self.file_records.add(&rec);
        if let Some(g) = &mut self.group {
            g.records.add(&rec);
        }
        if let Some(a) = &mut self.account {
            a.records.add(&rec);
        }
        match rec.code {
            1 => self.file_header(&rec),
            2 => self.group_header(&rec),
            3 => self.account_header(&rec),
            16 => self.detail(&rec),
            49 => self.account_trailer(&rec),
            98 => self.group_trailer(&rec),
            99 => self.file_trailer(&rec),
            other => Err(ParseError::at_line(line, format!("unknown BAI2 record type {other:02}"))),
        }
    }

    fn file_header(&mut self, rec: &Record) -> Result<(), ParseError> {
        if self.seen_header {
            return Err(ParseError::at_line(rec.line, "second 01 file header"));
        }
        self.seen_header = true;
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let _sender = f.next();
        let _receiver = f.next();
        let date = f.next().unwrap_or("").trim();
        let time = f.next().unwrap_or("").trim();
        self.file_id = f.next().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let _ = (f.next(), f.next());
        let version = f.next().unwrap_or("").trim();
        if version != "2" {
            self.ctx.warn(format!("line {}: BAI version '{version}', expected 2", rec.line));
        }
        if !date.is_empty() {
            let d = yymmdd(date, rec.line)?;
            self.created_at = Some(match (time.get(..2), time.get(2..4)) {
                (Some(h), Some(m)) if time.len() == 4 => format!("{d}T{h}:{m}:00"),
                _ => d.to_string(),
            });
        }
        Ok(())
    }

    fn group_header(&mut self, rec: &Record) -> Result<(), ParseError> {
        if self.group.is_some() {
            return Err(ParseError::at_line(rec.line, "02 group header before the previous group's 98 trailer"));
        }
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let _ = (f.next(), f.next(), f.next());
        let as_of = f.next().unwrap_or("").trim();
        let _time = f.next();
        let currency = f.next().unwrap_or("").trim();
        let as_of = if as_of.is_empty() { None } else { Some(yymmdd(as_of, rec.line)?) };
        let currency = if currency.is_empty() {
            None
        } else {
            Some(check_currency(currency).map_err(|m| ParseError::at_line(rec.line, m))?)
        };
        self.group = Some(Group { as_of, currency, records: Records::of(rec), ..Default::default() });
        Ok(())
    }

    fn account_header(&mut self, rec: &Record) -> Result<(), ParseError> {
        let line = rec.line;
        if self.account.is_some() {
            return Err(ParseError::at_line(line, "03 account record before the previous account's 49 trailer"));
        }
        let Some(group) = &self.group else {
            return Err(ParseError::at_line(line, "03 account record outside a group (no 02)"));
        };
        let as_of = group.as_of.ok_or_else(|| ParseError::at_line(line, "group has no as-of date"))?;
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let account = f.next().unwrap_or("").trim().to_string();
        if account.is_empty() {
            return Err(ParseError::at_line(line, "03 record without an account number"));
        }
        let currency = match f.next().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => check_currency(c).map_err(|m| ParseError::at_line(line, m))?,
            // The spec's default when neither the account nor the group names one.
            None => group.currency.clone().unwrap_or_else(|| "USD".to_string()),
        };
        let mut header = StatementHeader {
            statement_id: Some(match &self.file_id {
                Some(id) => format!("{id}/{account}/{as_of}"),
                None => format!("{account}/{as_of}"),
            }),
            account_iban: is_iban(&account).then(|| account.clone()),
            account_number: Some(account),
            currency: Some(currency.clone()),
            created_at: self.created_at.clone(),
            ..Default::default()
        };
        let mut total: i128 = 0;
        // Repeating groups: type code, amount, item count, funds type (+ extras).
        while let Some(code) = f.next() {
            let code = code.trim();
            if code.is_empty() && f.pos.is_none() {
                break;
            }
            let amount = minor_units(f.next().unwrap_or(""), true, line)?;
            let _count = f.next();
            funds_type(&mut f, Some(as_of), line)?;
            let Some(amount) = amount else { continue };
            total += amount;
            let balance =
                || Balance { amount: to_decimal(amount, &currency), currency: currency.clone(), date: Some(as_of) };
            match code {
                "010" => header.opening_balance = Some(balance()),
                "015" => header.closing_balance = Some(balance()),
                "045" => header.closing_available_balance = Some(balance()),
                _ => {}
            }
        }
        self.ctx.begin(&header)?;
        self.account = Some(Account { header, currency, as_of, total, records: Records::of(rec) });
        Ok(())
    }

    fn detail(&mut self, rec: &Record) -> Result<(), ParseError> {
        let line = rec.line;
        let Some(acct) = &mut self.account else {
            return Err(ParseError::at_line(line, "16 detail record outside an account (no 03)"));
        };
        // If the first physical record already reached the text field, 88s continue
        // the text (joined with ' '); otherwise they continue the field list.
        let first = &rec.parts[0];
        let (fields_src, text_cont) = {
            let mut probe = Fields::new(first);
            let reached_text = skip_detail_fields(&mut probe, line).is_ok() && probe.pos.is_some();
            if reached_text || rec.parts.len() == 1 {
                (first.clone(), rec.parts[1..].join(" "))
            } else {
                (rec.joined(), String::new())
            }
        };
        let mut f = Fields::new(&fields_src);
        let code_s = f.next().unwrap_or("").trim();
        let code: u16 = code_s
            .parse()
            .map_err(|_| ParseError::at_line(line, format!("type code '{}' is not a number", truncate(code_s, 10))))?;
        let minor = minor_units(f.next().unwrap_or(""), false, line)?
            .ok_or_else(|| ParseError::at_line(line, "16 record without an amount"))?;
        let value_date = funds_type(&mut f, Some(acct.as_of), line)?;
        let bank_ref = f.next().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let customer_ref = f.next().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let mut text = f.rest().unwrap_or("").trim().to_string();
        if !text_cont.trim().is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(text_cont.trim());
        }
        acct.total += minor;
        let credit = match code {
            100..=399 => true,
            400..=699 => false,
            _ => {
                let msg = format!(
                    "line {line}: detail type code {code} is neither credit (100-399) nor debit (400-699); skipped"
                );
                self.ctx.skip(msg);
                return Ok(());
            }
        };
        let amount = to_decimal(if credit { minor } else { -minor }, &acct.currency);
        let mut l = ParsedLine::new(acct.as_of, amount, acct.currency.clone());
        l.value_date = value_date;
        l.account = acct.header.account().map(str::to_string);
        l.bank_reference = bank_ref;
        l.customer_reference = customer_ref;
        l.bank_transaction_code = Some(format!("{code:03}"));
        l.position = Some(Position::Line(line));
        l.remittance = (!text.is_empty()).then_some(text);
        self.ctx.book(amount)?;
        self.ctx.line(l)
    }

    fn account_trailer(&mut self, rec: &Record) -> Result<(), ParseError> {
        let line = rec.line;
        let acct = self.account.take().ok_or_else(|| ParseError::at_line(line, "49 trailer without an 03 account"))?;
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let total = minor_units(f.next().unwrap_or(""), true, line)?;
        let count = f.next().unwrap_or("").trim().parse::<u64>().ok();
        let name = acct.header.account().unwrap_or("?").to_string();
        match total {
            Some(t) if t != acct.total => self
                .ctx
                .warn(format!("line {line}: account {name} control total {t} but records add up to {}", acct.total)),
            None => self.ctx.warn(format!(
                "line {line}: account {name} trailer gives no control total (its records add up to {})",
                acct.total
            )),
            _ => {}
        }
        if let Some(c) = count.filter(|c| !acct.records.agrees(*c)) {
            self.ctx.warn(format!(
                "line {line}: account {name} trailer counts {c} records, found {}",
                acct.records.physical
            ));
        }
        if let Some(g) = &mut self.group {
            g.total += total.unwrap_or(acct.total);
            g.accounts += 1;
        }
        self.ctx.end(&acct.header)
    }

    fn group_trailer(&mut self, rec: &Record) -> Result<(), ParseError> {
        let line = rec.line;
        let g = self.group.take().ok_or_else(|| ParseError::at_line(line, "98 trailer without an 02 group"))?;
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let total = minor_units(f.next().unwrap_or(""), true, line)?;
        let accounts = f.next().unwrap_or("").trim().parse::<u64>().ok();
        let records = f.next().unwrap_or("").trim().parse::<u64>().ok();
        if let Some(t) = total.filter(|t| *t != g.total) {
            self.ctx.warn(format!("line {line}: group control total {t} but accounts add up to {}", g.total));
        }
        if let Some(a) = accounts.filter(|a| *a != g.accounts) {
            self.ctx.warn(format!("line {line}: group trailer counts {a} accounts, found {}", g.accounts));
        }
        if let Some(r) = records.filter(|r| !g.records.agrees(*r)) {
            self.ctx.warn(format!("line {line}: group trailer counts {r} records, found {}", g.records.physical));
        }
        self.file_total += total.unwrap_or(g.total);
        self.file_groups += 1;
        Ok(())
    }

    fn file_trailer(&mut self, rec: &Record) -> Result<(), ParseError> {
        let line = rec.line;
        if self.account.is_some() || self.group.is_some() {
            return Err(ParseError::at_line(line, "99 file trailer inside an open group or account"));
        }
        self.seen_trailer = true;
        let s = rec.joined();
        let mut f = Fields::new(&s);
        let total = minor_units(f.next().unwrap_or(""), true, line)?;
        let groups = f.next().unwrap_or("").trim().parse::<u64>().ok();
        let records = f.next().unwrap_or("").trim().parse::<u64>().ok();
        if let Some(t) = total.filter(|t| *t != self.file_total) {
            self.ctx.warn(format!("line {line}: file control total {t} but groups add up to {}", self.file_total));
        }
        if let Some(g) = groups.filter(|g| *g != self.file_groups) {
            self.ctx.warn(format!("line {line}: file trailer counts {g} groups, found {}", self.file_groups));
        }
        if let Some(r) = records.filter(|r| !self.file_records.agrees(*r)) {
            self.ctx
                .warn(format!("line {line}: file trailer counts {r} records, found {}", self.file_records.physical));
        }
        Ok(())
    }
}

/// Advances over type code, amount, funds type (+ extras), bank and customer
/// reference of a 16 record; afterwards `pos` is at the text field, if any.
fn skip_detail_fields(f: &mut Fields<'_>, line: u64) -> Result<(), ParseError> {
    f.next();
    f.next();
    funds_type(f, None, line)?;
    f.next();
    f.next();
    Ok(())
}
