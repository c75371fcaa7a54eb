//! One camt entry (`Ntry`) as the parser collects it, and the rules that turn it into lines: the
//! amount in the account's currency, a batch split into its transactions only when they add up.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{credit_debit, some, xml_amount, Stmt, T};
use crate::bank_formats::{Ctx, ParseError, ParsedLine, Position};

#[derive(Default)]
pub(super) struct Btc {
    pub(super) domain: Option<String>,
    pub(super) family: Option<String>,
    pub(super) sub_family: Option<String>,
    pub(super) proprietary: Option<String>,
}

impl Btc {
    /// `PMNT/RCDT/ESCT` when the ISO code is complete, else the proprietary code.
    pub(super) fn code(&self) -> Option<String> {
        match (&self.domain, &self.family, &self.sub_family) {
            (Some(d), Some(f), Some(s)) => Some(format!("{d}/{f}/{s}")),
            (Some(d), Some(f), None) => Some(format!("{d}/{f}")),
            _ => self.proprietary.clone().or_else(|| self.domain.clone()),
        }
    }
    pub(super) fn is_empty(&self) -> bool {
        self.domain.is_none() && self.proprietary.is_none()
    }
}

/// Sums charge records. .02 repeats `Chrgs` (each one record), .03+ has one
/// `Chrgs` with `Rcrd` children and optionally a total; the total wins.
#[derive(Default)]
pub(super) struct Charges {
    pub(super) total: Option<Decimal>,
    pub(super) sum: Option<Decimal>,
    pub(super) rec_amount: Option<Decimal>,
    pub(super) rec_credit: bool,
}

impl Charges {
    pub(super) fn close_record(&mut self) {
        if let Some(a) = self.rec_amount.take() {
            // A charge debited to us is positive; a credited charge (refund) negative.
            let signed = if self.rec_credit { -a } else { a };
            self.sum = Some(self.sum.unwrap_or_default() + signed);
        }
        self.rec_credit = false;
    }
    pub(super) fn value(&self) -> Option<Decimal> {
        self.total.or(self.sum)
    }
}

#[derive(Default)]
pub(super) struct Party {
    pub(super) name: Option<String>,
    pub(super) iban: Option<String>,
    pub(super) other_account: Option<String>,
}

/// An amount with its currency as the file gives it.
pub(super) type Money = (Decimal, String);

/// The amounts a `TxDtls` may give, in the order they are preferred for its line:
/// `AmtDtls/TxAmt`, `Amt`, `AmtDtls/CntrValAmt`, `AmtDtls/InstdAmt`.
const TX_AMOUNT_SOURCES: [&str; 4] = ["AmtDtls/TxAmt", "Amt", "AmtDtls/CntrValAmt", "AmtDtls/InstdAmt"];
/// The entry's own `AmtDtls`, in the order they are preferred as its counter value.
const ENTRY_AMOUNT_SOURCES: [&str; 4] =
    ["AmtDtls/CntrValAmt", "AmtDtls/TxAmt", "AmtDtls/AnncdPstngAmt", "AmtDtls/InstdAmt"];

#[derive(Default)]
pub(super) struct Tx {
    /// Index of `TxDtls` in the path; fields are matched on the path below it.
    pub(super) depth: usize,
    pub(super) end_to_end_id: Option<String>,
    pub(super) acct_svcr_ref: Option<String>,
    /// See [`TX_AMOUNT_SOURCES`].
    pub(super) amounts: [Option<Money>; 4],
    pub(super) credit: Option<bool>,
    pub(super) btc: Btc,
    pub(super) charges: Charges,
    pub(super) debtor: Party,
    pub(super) creditor: Party,
    pub(super) ultimate_debtor: Option<String>,
    pub(super) ultimate_creditor: Option<String>,
    pub(super) ustrd: Vec<String>,
    pub(super) creditor_reference: Option<String>,
    pub(super) additional_info: Option<String>,
}

pub(super) struct Entry {
    pub(super) start: u64,
    /// Index of `Ntry` in the path.
    pub(super) depth: usize,
    pub(super) text_bytes: usize,
    pub(super) ntry_ref: Option<String>,
    pub(super) acct_svcr_ref: Option<String>,
    pub(super) amount: Option<Money>,
    /// See [`ENTRY_AMOUNT_SOURCES`].
    pub(super) amt_dtls: [Option<Money>; 4],
    pub(super) credit: Option<bool>,
    pub(super) reversal: bool,
    pub(super) status: Option<String>,
    pub(super) booking_date: Option<NaiveDate>,
    pub(super) value_date: Option<NaiveDate>,
    pub(super) btc: Btc,
    pub(super) charges: Charges,
    pub(super) additional_info: Option<String>,
    pub(super) txs: Vec<Tx>,
}

impl Entry {
    pub(super) fn new(start: u64, depth: usize) -> Self {
        Entry {
            start,
            depth,
            text_bytes: 0,
            ntry_ref: None,
            acct_svcr_ref: None,
            amount: None,
            amt_dtls: Default::default(),
            credit: None,
            reversal: false,
            status: None,
            booking_date: None,
            value_date: None,
            btc: Btc::default(),
            charges: Charges::default(),
            additional_info: None,
            txs: Vec::new(),
        }
    }
}

/// Turns a finished `Ntry` into lines (see the module docs of `camt053` for the rules).
pub(super) fn finish(mut e: Entry, stmt: &mut Stmt, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
    stmt.entries += 1;
    let at = e.start;
    let reference = e.acct_svcr_ref.take().or_else(|| e.ntry_ref.take());
    // Only for messages; no allocation on the happy path.
    let shown = reference.as_deref().unwrap_or("(no reference)");
    if skipped_unbooked(&e, shown, ctx) {
        return Ok(());
    }
    stmt.booked_entries += 1;
    let (amount, currency) =
        e.amount.take().ok_or_else(|| ParseError::at_byte(at, format!("entry {shown} has no Amt")))?;
    let credit = e.credit.ok_or_else(|| ParseError::at_byte(at, format!("entry {shown} has no CdtDbtInd")))?;
    let booking_date = booking_date(&e, shown, ctx)?;
    let (booked, currency) = in_account_currency(&e, stmt, ctx, shown, (amount, currency), credit)?;
    let signed = if credit { booked } else { -booked };
    let account = stmt.header.account().map(str::to_string);
    let base = |amount: Decimal, currency: String| {
        let mut line = ParsedLine::new(booking_date, amount, currency);
        line.value_date = e.value_date;
        line.account = account.clone();
        line.reversal = e.reversal;
        line.position = Some(Position::Byte(at));
        line
    };

    let n = e.txs.len();
    if n == 0 {
        let mut line = base(signed, currency);
        line.bank_reference = reference;
        line.bank_transaction_code = e.btc.code();
        line.additional_info = e.additional_info.clone();
        line.charges = e.charges.value();
        return ctx.line(line);
    }
    let split = match plan_split(&e, signed, &currency) {
        Ok(split) => split,
        Err(why) => {
            if n > 1 {
                ctx.warn(format!("byte {at}: entry {shown} {why}; imported as one line of {signed} {currency}"));
                let line = base(signed, currency);
                return ctx.line(merged_line(e, line, reference));
            }
            // One transaction: its details describe the entry, the booked amount stands.
            ctx.warn(format!("byte {at}: entry {shown} {why}; the booked {signed} {currency} is imported"));
            Split { amounts: vec![signed], charges: vec![tx_charges(&e, 0)] }
        }
    };
    if split.amounts.len() == n && n > 1 {
        if let Some(w) = split_warning(&e, &split, signed) {
            ctx.warn(format!("byte {at}: entry {shown} {w}"));
        }
    }
    let txs = std::mem::take(&mut e.txs);
    for (i, ((tx, amount), charges)) in txs.into_iter().zip(split.amounts).zip(split.charges).enumerate() {
        let line_credit = if amount.is_zero() { credit } else { amount > Decimal::ZERO };
        let entry_reference = match (&reference, n) {
            (Some(r), 1) => Some(r.clone()),
            (Some(r), _) => Some(format!("{r}/{}", i + 1)),
            (None, _) => None,
        };
        let mut line = tx_line(&e, base(amount, currency.clone()), tx, line_credit);
        line.bank_reference = entry_reference.or(line.bank_reference.take());
        line.charges = charges;
        ctx.line(line)?;
    }
    Ok(())
}

/// Only booked entries are imported: any other status skips the entry (true). A batch entry
/// stands for all its transactions: counted as such, said once.
fn skipped_unbooked(e: &Entry, shown: &str, ctx: &mut Ctx<'_>) -> bool {
    let status = e.status.as_deref().unwrap_or("BOOK");
    if status == "BOOK" {
        return false;
    }
    let n = e.txs.len().max(1);
    let what = if n > 1 { format!(" ({n} transactions)") } else { String::new() };
    ctx.skip_lines(
        n,
        format!(
            "byte {}: entry {shown}{what} has status {status}; skipped (only booked entries are imported)",
            e.start
        ),
    );
    true
}

/// `BookgDt`, else the value date (with a warning).
fn booking_date(e: &Entry, shown: &str, ctx: &mut Ctx<'_>) -> Result<NaiveDate, ParseError> {
    let at = e.start;
    match (e.booking_date, e.value_date) {
        (Some(d), _) => Ok(d),
        (None, Some(v)) => {
            ctx.warn(format!("byte {at}: entry {shown} has no BookgDt; value date used"));
            Ok(v)
        }
        (None, None) => Err(ParseError::at_byte(at, format!("entry {shown} has no booking date"))),
    }
}

/// The entry's amount in the account's currency, booked into the balance check: the balance
/// moves by it, whatever the details say. Without a counter value in the account's currency the
/// amount is imported as written and left out of the check.
fn in_account_currency(
    e: &Entry,
    stmt: &Stmt,
    ctx: &mut Ctx<'_>,
    shown: &str,
    (amount, currency): (Decimal, String),
    credit: bool,
) -> Result<(Decimal, String), ParseError> {
    let at = e.start;
    match stmt.booking_currency.as_deref() {
        Some(account) if account != currency => match counter_value(e, account) {
            Some((value, source)) => {
                ctx.warn(format!(
                    "byte {at}: entry {shown} is booked as {amount} {currency}; imported as {value} {account} \
                 ({source})"
                ));
                ctx.book(if credit { value } else { -value })?;
                Ok((value, account.to_string()))
            }
            None => {
                ctx.warn(format!(
                    "byte {at}: entry {shown} is booked as {amount} {currency} on an account in {account} and \
                 gives no amount in {account}; imported in {currency}"
                ));
                ctx.book_elsewhere();
                Ok((amount, currency))
            }
        },
        _ => {
            ctx.book(if credit { amount } else { -amount })?;
            Ok((amount, currency))
        }
    }
}

/// The line of one transaction of a split entry (reference, amount and charges are set by the
/// caller).
fn tx_line(e: &Entry, mut line: ParsedLine, tx: Tx, line_credit: bool) -> ParsedLine {
    // Whose payment was it originally? A reversed credit (booked DBIT) still names the
    // payer as Dbtr, so pick the party by the original direction.
    let originally_credit = line_credit != e.reversal;
    let (party, ultimate) =
        if originally_credit { (tx.debtor, tx.ultimate_debtor) } else { (tx.creditor, tx.ultimate_creditor) };
    line.bank_reference = tx.acct_svcr_ref;
    line.counterparty_name = party.name.or(ultimate);
    line.counterparty_iban = party.iban;
    line.counterparty_account = party.other_account;
    line.remittance = match tx.ustrd.len() {
        0 => None,
        1 => tx.ustrd.into_iter().next(),
        _ => Some(tx.ustrd.join(" ")),
    };
    line.creditor_reference = tx.creditor_reference;
    line.end_to_end_id = tx.end_to_end_id;
    line.bank_transaction_code = if tx.btc.is_empty() { e.btc.code() } else { tx.btc.code() };
    line.additional_info = tx.additional_info.or_else(|| e.additional_info.clone());
    line
}

/// How a booked entry is divided among its transactions.
struct Split {
    /// Signed line amounts, one per `TxDtls`.
    pub(super) amounts: Vec<Decimal>,
    /// Charges per line: a transaction's own, else the entry's on its first line only (so that
    /// the charges summed over the lines equal what the bank reported).
    pub(super) charges: Vec<Option<Decimal>>,
}

/// Amounts for the entry's transactions, in the booking currency, that add up to `signed` (the
/// booked amount, possibly net of the charges). `Err` says why the entry cannot be split.
fn plan_split(e: &Entry, signed: Decimal, currency: &str) -> Result<Split, String> {
    let n = e.txs.len();
    let credit = e.credit.unwrap_or(signed >= Decimal::ZERO);
    let charges: Vec<Option<Decimal>> = (0..n).map(|i| tx_charges(e, i)).collect();
    let charges_sum: Decimal = charges.iter().flatten().sum();
    let adds_up = |sum: Decimal| sum == signed || sum - charges_sum == signed;
    if n == 1 {
        // One transaction: any of its amounts that is what was booked (gross or net of charges).
        let tx = &e.txs[0];
        let own = |a: Decimal| if tx.credit.unwrap_or(credit) { a } else { -a };
        let entry_dir = |a: Decimal| if credit { a } else { -a };
        if let Some(a) = in_currency(tx, currency).map(own).find(|a| adds_up(*a)) {
            return Ok(Split { amounts: vec![a], charges });
        }
        if let Some(a) = in_currency(tx, currency).map(entry_dir).find(|a| adds_up(*a)) {
            return Ok(Split { amounts: vec![a], charges });
        }
        return match in_currency(tx, currency).next() {
            Some(a) => Err(format!("books {signed} but its TxDtls says {}", own(a))),
            // Only amounts in other currencies (the instructed amount of an FX payment).
            None => Ok(Split { amounts: vec![signed], charges }),
        };
    }
    let mut magnitudes = Vec::with_capacity(n);
    for (i, tx) in e.txs.iter().enumerate() {
        match in_currency(tx, currency).next() {
            Some(a) => magnitudes.push(a),
            None if tx.amounts.iter().all(Option::is_none) => {
                return Err(format!("has {n} TxDtls and TxDtls {} of {n} has no amount", i + 1))
            }
            None => return Err(format!("has {n} TxDtls and TxDtls {} of {n} gives no amount in {currency}", i + 1)),
        }
    }
    let own: Vec<Decimal> =
        e.txs.iter().zip(&magnitudes).map(|(tx, a)| if tx.credit.unwrap_or(credit) { *a } else { -*a }).collect();
    let own_sum: Decimal = own.iter().sum();
    if adds_up(own_sum) {
        return Ok(Split { amounts: own, charges });
    }
    let entry_dir: Vec<Decimal> = magnitudes.iter().map(|a| if credit { *a } else { -*a }).collect();
    if adds_up(entry_dir.iter().sum()) {
        return Ok(Split { amounts: entry_dir, charges });
    }
    Err(format!("books {signed} but its {n} TxDtls add up to {own_sum} (charges {charges_sum})"))
}

/// A transaction's amounts in `currency`, in the order of [`TX_AMOUNT_SOURCES`].
fn in_currency<'t>(tx: &'t Tx, currency: &'t str) -> impl Iterator<Item = Decimal> + 't {
    tx.amounts.iter().flatten().filter(move |(_, c)| c == currency).map(|(a, _)| *a)
}

fn tx_charges(e: &Entry, i: usize) -> Option<Decimal> {
    e.txs[i].charges.value().or_else(|| if i == 0 { e.charges.value() } else { None })
}

/// Why a split that adds up still deserves a warning.
fn split_warning(e: &Entry, split: &Split, signed: Decimal) -> Option<String> {
    let contradicted = e
        .txs
        .iter()
        .zip(&split.amounts)
        .any(|(tx, a)| tx.credit.is_some_and(|c| c != (*a > Decimal::ZERO)) && !a.is_zero());
    if contradicted {
        let entry = if e.credit.unwrap_or(signed >= Decimal::ZERO) { "CRDT" } else { "DBIT" };
        return Some(format!("is {entry} but its TxDtls say otherwise; the entry's direction is used"));
    }
    None
}

/// A batch entry whose transactions cannot be told apart by amount, as one line: the entry's
/// amount, the parties when all transactions name the same one, and all their remittance texts.
fn merged_line(e: Entry, mut line: ParsedLine, reference: Option<String>) -> ParsedLine {
    const MAX_TEXT: usize = 4000;
    line.bank_reference = reference;
    line.bank_transaction_code = e.btc.code();
    line.additional_info = e.additional_info;
    line.charges = e.charges.value();
    let credit = e.credit.unwrap_or(line.amount >= Decimal::ZERO);
    let mut names = e.txs.iter().map(|tx| {
        let party = if credit != line.reversal { &tx.debtor } else { &tx.creditor };
        (party.name.as_deref(), party.iban.as_deref())
    });
    if let Some(first) = names.next() {
        if names.all(|n| n == first) {
            line.counterparty_name = first.0.map(str::to_string);
            line.counterparty_iban = first.1.map(str::to_string);
        }
    }
    let mut text = String::new();
    for part in e.txs.iter().flat_map(|tx| tx.ustrd.iter().chain(tx.creditor_reference.iter())) {
        if text.len() + part.len() + 2 > MAX_TEXT {
            break;
        }
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(part);
    }
    line.remittance = (!text.is_empty()).then_some(text);
    line
}

/// The entry's amount in the account's currency, from its `AmtDtls` (or those of its only
/// transaction), with where it was found.
fn counter_value(e: &Entry, account: &str) -> Option<(Decimal, String)> {
    let entry = e.amt_dtls.iter().zip(ENTRY_AMOUNT_SOURCES).find_map(|(m, src)| match m {
        Some((a, c)) if c == account => Some((*a, src.to_string())),
        _ => None,
    });
    let single_tx = || match e.txs.as_slice() {
        [tx] => tx.amounts.iter().zip(TX_AMOUNT_SOURCES).find_map(|(m, src)| match m {
            Some((a, c)) if c == account => Some((*a, format!("TxDtls/{src}"))),
            _ => None,
        }),
        _ => None,
    };
    entry.or_else(single_tx)
}

pub(super) fn set_btc(btc: &mut Btc, rest: &[T], v: &str) {
    use T::*;
    match rest {
        [Domn, Cd] => btc.domain = some(v),
        [Domn, Fmly, Cd] => btc.family = some(v),
        [Domn, Fmly, SubFmlyCd] => btc.sub_family = some(v),
        [Prtry, Cd] => btc.proprietary = some(v),
        _ => {}
    }
}

pub(super) fn set_charges(
    c: &mut Charges,
    rest: &[T],
    v: &str,
    ccy: &Option<String>,
    pos: u64,
) -> Result<(), ParseError> {
    use T::*;
    match rest {
        [TtlChrgsAndTaxAmt] => c.total = Some(xml_amount(v, ccy, pos)?.0),
        [Amt] | [Rcrd, Amt] => c.rec_amount = Some(xml_amount(v, ccy, pos)?.0),
        [CdtDbtInd] | [Rcrd, CdtDbtInd] => c.rec_credit = credit_debit(v, pos)?,
        _ => {}
    }
    Ok(())
}
