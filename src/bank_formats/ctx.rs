//! What every parser reports through: the sink wrapped with counts, warnings and the balance
//! check, and the normalisation every line gets.

use rust_decimal::Decimal;

use super::{
    is_iso11649, normalize_account_id, ParseError, ParseSummary, ParsedLine, StatementHeader, StatementSink,
    MAX_WARNINGS,
};

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
    pub(super) fn new(sink: &'a mut dyn StatementSink) -> Self {
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

    pub(super) fn finish(mut self) -> ParseSummary {
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
