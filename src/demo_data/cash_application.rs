//! Cash application: bank lines paying the ledger's invoices, one function per scenario, each
//! writing the line(s), the documents they pay and the ground truth.
//!
//! Conventions of the truth (ordinary cash-application practice):
//! * a payment without a usable reference that equals several open items of the same customer
//!   settles the oldest due item first;
//! * a short payment within 2% of the open amount, with a reference, settles the item and leaves
//!   the shortfall as a difference (bank fee, discount);
//! * a second payment of an already settled item stays unapplied (duplicate payment);
//! * lines with no owner (interest, refunds, unrelated transfers) stay unapplied.

use super::names;
use super::payment_habits;
use super::{BankLine, Currency, DifferenceReason, DocType, Generator, NewDoc, Scenario, TruthAllocation, TruthLine};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

/// The scenarios a bank line is drawn from, with their weights (per 100 draws).
/// `CombinedWithCreditNote` comes out of `Combined` (30% of them); `DuplicatePayment` also writes
/// the first, `Exact`, payment.
pub const DEFAULT_MIX: [(Scenario, u32); 13] = [
    (Scenario::Exact, 52),
    (Scenario::NoisyReference, 9),
    (Scenario::AmountAndPayer, 6),
    (Scenario::Combined, 8),
    (Scenario::Partial, 3),
    (Scenario::Split, 2),
    (Scenario::ShortBankFee, 4),
    (Scenario::EarlyPaymentDiscount, 2),
    (Scenario::Overpayment, 2),
    (Scenario::ForeignCurrency, 2),
    (Scenario::DuplicatePayment, 1),
    (Scenario::OldestFirst, 2),
    (Scenario::NoOwner, 7),
];

/// Who pays a line: a customer (by position), the third party that pays for a customer with
/// that habit (by the customer's position), or nobody we know.
#[derive(Debug, Clone, Copy)]
pub enum Payer {
    Customer(usize),
    ThirdPartyOf(usize),
    Unknown,
}

impl Generator<'_> {
    /// Customers (one per 20 lines, at least 30), bank lines until `options.lines`, then a third
    /// as many invoices nobody has paid yet: the open book candidates are searched in.
    pub fn cash_application(&mut self) {
        for _ in 0..(self.options.lines / 20).max(30) {
            self.add_customer("C");
        }
        self.cash_customers = self.data.customers.len();
        if self.options.months > 1 {
            self.draw_payment_habits();
        }
        self.month_of_payments();
    }

    /// The current month's bank lines (`options.lines` of them) and its unpaid invoices. Habit
    /// customers pay their ordinary payments their way; from the second month on, a few
    /// customers pay again an invoice settled in an earlier month.
    pub(crate) fn month_of_payments(&mut self) {
        let weights: Vec<u32> = self.options.mix.iter().map(|(_, w)| *w).collect();
        if weights.iter().all(|w| *w == 0) {
            return;
        }
        let first_line = self.month_starts.last().map_or(0, |s| s[1]);
        while self.data.bank.len() - first_line < self.options.lines {
            let customer = self.rng.below(self.cash_customers as u64) as usize;
            let scenario = self.options.mix[self.rng.weighted(&weights)].0;
            if !self.month_starts.is_empty() && self.rng.chance(payment_habits::REPEATED_SHARE) {
                self.paid_in_an_earlier_month();
            } else if !self.habit_payment(customer, scenario) {
                self.scenario(scenario, customer);
            }
        }
        for _ in 0..self.options.lines / 3 {
            let customer = self.rng.below(self.cash_customers as u64) as usize;
            self.add_doc(customer, NewDoc::invoice());
        }
    }

    /// Writes one occurrence of `scenario` for `customer`.
    pub fn scenario(&mut self, scenario: Scenario, customer: usize) {
        match scenario {
            Scenario::Exact => self.exact(customer),
            Scenario::NoisyReference => self.noisy_reference(customer),
            Scenario::AmountAndPayer => self.amount_and_payer(customer),
            Scenario::Combined | Scenario::CombinedWithCreditNote => self.combined(customer),
            Scenario::Partial => self.partial(customer),
            Scenario::Split => self.split(customer),
            Scenario::ShortBankFee => self.short_bank_fee(customer),
            Scenario::EarlyPaymentDiscount => self.early_payment_discount(customer),
            Scenario::Overpayment => self.overpayment(customer),
            Scenario::ForeignCurrency => self.foreign_currency(customer),
            Scenario::DuplicatePayment => self.duplicate_payment(customer),
            Scenario::OldestFirst => self.oldest_first(customer),
            Scenario::NoOwner => self.no_owner(),
            Scenario::ThirdPartyPayer | Scenario::BulkWithoutReference | Scenario::PurchaseOrder => {
                if !self.habit_payment(customer, Scenario::Exact) {
                    self.exact(customer)
                }
            }
        }
    }

    /// Adds a bank line on our account in `currency` and returns its position.
    pub fn bank_line(
        &mut self,
        payer: Payer,
        amount: Decimal,
        currency: Currency,
        on: NaiveDate,
        remittance: String,
    ) -> usize {
        let line_id = self.next_line_id();
        let value_date = on + Days::new(*self.rng.pick(&[0, 0, 0, 1, 2]));
        let (counterparty_name, counterparty_iban) = match payer {
            Payer::Customer(c) => {
                let c = &self.data.customers[c];
                let (name, iban) = (c.name.clone(), c.iban.clone().unwrap_or_default());
                (names::payer(&mut self.rng, &name), iban)
            }
            Payer::ThirdPartyOf(c) => self.third_party_as_shown(c),
            Payer::Unknown => (self.rng.pick(&names::NOISE_PAYERS).to_string(), String::new()),
        };
        let end_to_end_id = if self.rng.chance(0.5) {
            "NOTPROVIDED".to_string()
        } else {
            format!("E2E{}", self.rng.range(1_000_000_000, 10_000_000_000))
        };
        self.data.bank.push(BankLine {
            line_id,
            account_iban: currency.our_account(),
            booking_date: on,
            value_date,
            amount,
            currency,
            counterparty_name,
            counterparty_iban,
            remittance,
            end_to_end_id,
        });
        self.data.bank.len() - 1
    }

    /// Records the truth of a line: its allocations (document, amount) and what it leaves.
    pub fn truth(
        &mut self,
        line: usize,
        scenario: Scenario,
        allocations: &[(usize, Decimal)],
        difference: Option<(Decimal, DifferenceReason)>,
    ) {
        let line_id = self.data.bank[line].line_id.clone();
        for (doc, amount) in allocations {
            self.data.truth_allocations.push(TruthAllocation {
                line_id: line_id.clone(),
                doc_no: self.data.ledger[*doc].doc_no.clone(),
                amount: *amount,
                scenario,
            });
        }
        self.data.truth_lines.push(TruthLine {
            line_id,
            scenario,
            applied: !allocations.is_empty(),
            difference: difference.map_or(Decimal::ZERO, |d| d.0),
            difference_reason: difference.map(|d| d.1),
        });
    }

    fn doc(&self, doc: usize) -> (String, Decimal, Currency) {
        let d = &self.data.ledger[doc];
        (d.doc_no.clone(), d.amount, d.currency)
    }

    fn has_iban(&self, customer: usize) -> bool {
        self.data.customers[customer].iban.is_some()
    }

    /// Pays document `d` in full with a clean or mangled reference; returns the line.
    fn pay_in_full(&mut self, customer: usize, d: usize, scenario: Scenario, noisy: bool) -> usize {
        let (doc_no, amount, currency) = self.doc(d);
        let on = self.pay_date(d);
        let text = names::reference_text(&mut self.rng, &doc_no, noisy);
        let line = self.bank_line(Payer::Customer(customer), amount, currency, on, text);
        self.truth(line, scenario, &[(d, amount)], None);
        line
    }

    pub fn exact(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        self.pay_in_full(customer, d, Scenario::Exact, false);
    }

    pub fn noisy_reference(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        self.pay_in_full(customer, d, Scenario::NoisyReference, true);
    }

    pub fn amount_and_payer(&mut self, customer: usize) {
        if !self.has_iban(customer) {
            return self.exact(customer);
        }
        let d = self.take_open(customer, 1)[0];
        let (_, amount, currency) = self.doc(d);
        let on = self.pay_date(d);
        let text = self.rng.pick(&["", "PAYMENT", "Zahlung", "货款", "SEPA CREDIT TRANSFER"]).to_string();
        let line = self.bank_line(Payer::Customer(customer), amount, currency, on, text);
        self.truth(line, Scenario::AmountAndPayer, &[(d, amount)], None);
    }

    /// Two to five invoices in one payment; 30% of them less a credit note, the rest naming all
    /// (70%) or all but the last invoice.
    pub fn combined(&mut self, customer: usize) {
        let n = self.rng.range(2, 5) as usize;
        let docs = self.take_open(customer, n);
        let total: Decimal = docs.iter().map(|d| self.data.ledger[*d].amount).sum();
        let currency = self.data.ledger[docs[0]].currency;
        let on = self.pay_date(docs[docs.len() - 1]);
        let mut allocations: Vec<(usize, Decimal)> = docs.iter().map(|d| (*d, self.data.ledger[*d].amount)).collect();
        let numbers: Vec<String> = docs.iter().map(|d| self.data.ledger[*d].doc_no.clone()).collect();
        if self.rng.chance(0.3) {
            let credit = currency.round(self.data.ledger[docs[0]].amount * Decimal::new(1, 1));
            // Issued after the first invoice and before the payment that nets it.
            let after = self.rng.range(0, 7) as u64;
            let issue = (self.data.ledger[docs[0]].issue_date + Days::new(after)).min(on);
            let doc =
                NewDoc { currency: Some(currency), issue: Some(issue), ..NewDoc::of(DocType::CreditNote, credit) };
            let cn = self.add_doc(customer, doc);
            let text = format!("{} less {}", numbers.join(" "), self.data.ledger[cn].doc_no);
            let line = self.bank_line(Payer::Customer(customer), total - credit, currency, on, text);
            allocations.push((cn, -credit));
            return self.truth(line, Scenario::CombinedWithCreditNote, &allocations, None);
        }
        let shown = if self.rng.chance(0.7) { &numbers[..] } else { &numbers[..numbers.len() - 1] };
        let separator = *self.rng.pick(&[", ", " ", ";"]);
        let text = shown.join(separator);
        let line = self.bank_line(Payer::Customer(customer), total, currency, on, text);
        self.truth(line, Scenario::Combined, &allocations, None);
    }

    pub fn partial(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let share = *self.rng.pick(&[Decimal::new(25, 2), Decimal::new(4, 1), Decimal::new(5, 1), Decimal::new(6, 1)]);
        let part = currency.round(amount * share);
        let on = self.pay_date(d);
        let line = self.bank_line(Payer::Customer(customer), part, currency, on, format!("partial {doc_no}"));
        self.truth(line, Scenario::Partial, &[(d, part)], None);
    }

    pub fn split(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let first = currency.round(amount * Decimal::new(5, 1));
        for part in [first, amount - first] {
            let on = self.pay_date(d);
            let text = names::reference_text(&mut self.rng, &doc_no, false);
            let line = self.bank_line(Payer::Customer(customer), part, currency, on, text);
            self.truth(line, Scenario::Split, &[(d, part)], None);
        }
    }

    pub fn short_bank_fee(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let fees =
            [Decimal::new(50, 2), Decimal::new(120, 2), Decimal::new(5, 0), Decimal::new(750, 2), Decimal::new(15, 0)];
        let fee = currency.round(*self.rng.pick(&fees));
        if fee >= amount * Decimal::new(2, 2) {
            // Too large a share of this invoice to be a fee: paid in full instead.
            self.pay_in_full(customer, d, Scenario::Exact, false);
            return;
        }
        let on = self.pay_date(d);
        let text = names::reference_text(&mut self.rng, &doc_no, false);
        let line = self.bank_line(Payer::Customer(customer), amount - fee, currency, on, text);
        self.truth(line, Scenario::ShortBankFee, &[(d, amount - fee)], Some((-fee, DifferenceReason::BankFee)));
    }

    pub fn early_payment_discount(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let discount = currency.round(amount * Decimal::new(2, 2));
        let on = (self.data.ledger[d].issue_date + Days::new(8)).max(self.period.start);
        let text = format!("{doc_no} less 2% skonto");
        let line = self.bank_line(Payer::Customer(customer), amount - discount, currency, on, text);
        let truth = [(d, amount - discount)];
        self.truth(line, Scenario::EarlyPaymentDiscount, &truth, Some((-discount, DifferenceReason::Discount)));
    }

    pub fn overpayment(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let extra = currency.round(Decimal::new(self.rng.range(1, 5000), 2));
        let on = self.pay_date(d);
        let text = names::reference_text(&mut self.rng, &doc_no, false);
        let line = self.bank_line(Payer::Customer(customer), amount + extra, currency, on, text);
        self.truth(line, Scenario::Overpayment, &[(d, amount)], Some((extra, DifferenceReason::Overpayment)));
    }

    /// An invoice in USD (GBP for a USD customer) paid in the customer's currency at the data
    /// set's rate, within 1%.
    pub fn foreign_currency(&mut self, customer: usize) {
        let own = self.data.customers[customer].currency;
        let foreign = if own == Currency::Usd { Currency::Gbp } else { Currency::Usd };
        let d = self.add_doc(customer, NewDoc { currency: Some(foreign), ..NewDoc::invoice() });
        self.close(d);
        let (doc_no, amount, _) = self.doc(d);
        let drift = Decimal::new(10_000 + self.rng.range(-100, 100), 4);
        let rate = foreign.rate_to_eur() / own.rate_to_eur() * drift;
        let on = self.pay_date(d);
        let text = names::reference_text(&mut self.rng, &doc_no, false);
        let line = self.bank_line(Payer::Customer(customer), own.round(amount * rate), own, on, text);
        self.truth(line, Scenario::ForeignCurrency, &[(d, amount)], Some((Decimal::ZERO, DifferenceReason::Fx)));
    }

    /// An invoice paid twice: the first line settles it, the second (1-9 days later) stays
    /// unapplied.
    pub fn duplicate_payment(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.doc(d);
        let first = self.pay_in_full(customer, d, Scenario::Exact, false);
        let on = self.data.bank[first].booking_date;
        let later = on + Days::new(self.rng.range(1, 9) as u64);
        let text = names::reference_text(&mut self.rng, &doc_no, false);
        let second = self.bank_line(Payer::Customer(customer), amount, currency, later, text);
        self.truth(second, Scenario::DuplicatePayment, &[], Some((amount, DifferenceReason::Duplicate)));
    }

    /// Two invoices of the same amount 10-60 days apart and a payment of that amount without a
    /// reference: it settles the older one; the newer stays open.
    pub fn oldest_first(&mut self, customer: usize) {
        if !self.has_iban(customer) {
            return self.exact(customer);
        }
        let currency = self.data.customers[customer].currency;
        let amount = currency.round(Decimal::new(self.rng.range(10_000, 900_000), 2));
        let issue = self.date_within(120);
        let older = self.add_doc(customer, NewDoc { issue: Some(issue), ..NewDoc::of(DocType::Invoice, amount) });
        let gap = self.rng.range(10, 60) as u64;
        let newer = self
            .add_doc(customer, NewDoc { issue: Some(issue + Days::new(gap)), ..NewDoc::of(DocType::Invoice, amount) });
        self.close(older);
        let on = self.pay_date(newer);
        let line = self.bank_line(Payer::Customer(customer), amount, currency, on, String::new());
        self.truth(line, Scenario::OldestFirst, &[(older, amount)], None);
    }

    /// A credit (80%) or debit on the EUR account that pays nothing of ours.
    pub fn no_owner(&mut self) {
        let amount = Currency::Eur.round(Decimal::new(self.rng.range(100, 900_000), 2));
        let signed = if self.rng.chance(0.2) { -amount } else { amount };
        let on = self.date();
        let text = self.rng.pick(&names::NOISE_TEXT).to_string();
        let line = self.bank_line(Payer::Unknown, signed, Currency::Eur, on, text);
        self.truth(line, Scenario::NoOwner, &[], None);
    }
}
