//! Customers' statements: customers ("S" codes) whose own books list our invoices under their
//! references and their payments, with differences planted against our ledger. Each invoice has
//! a fate on the customer's side ([`InvoiceFate`]) and a payment fate ([`PaymentFate`]), drawn
//! independently, each written by its own function.

use super::{Currency, DocType, Generator, NewDoc, StatementDifferenceKind, StatementRow, TruthDifference};
use chrono::Days;
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::str::FromStr;

/// How an invoice appears in the customer's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceFate {
    /// Booked as we booked it.
    Agreed,
    /// Not booked by the customer (5%).
    MissingOnCustomerSide,
    /// Booked with two adjacent digits transposed (5%).
    AmountMismatch,
    /// Booked twice (3%).
    DuplicateOnCustomerSide,
}

/// Whether the customer paid the invoice, and whether the payment reached our ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentFate {
    Unpaid,
    /// Paid, and in our ledger as a payment document with their reference.
    Paid,
    /// Paid on their side, not yet in our books (6% of payments).
    PaidNotBooked,
}

/// The statement rows of one customer being written, and the references already used.
pub(super) struct Books {
    pub(super) customer_code: String,
    pub(super) rows: Vec<StatementRow>,
}

impl Generator<'_> {
    /// One statement per customer of `options.statements`, each about 8 to 30 invoices.
    pub fn customer_statements(&mut self) {
        let mut used_refs = HashSet::new();
        for _ in 0..self.options.statements {
            let customer = self.add_customer("S");
            let first_truth = self.data.truth_differences.len();
            let n = self.rng.range(8, 30);
            let docs: Vec<usize> = (0..n).map(|_| self.add_doc(customer, NewDoc::invoice())).collect();
            let mut books = Books { customer_code: self.data.customers[customer].code.clone(), rows: Vec::new() };
            for d in docs {
                self.close(d);
                let invoice = self.invoice_fate();
                let their_ref = self.fresh_ref("AP", &mut used_refs);
                self.book_invoice(&mut books, d, invoice, their_ref);
                let payment = self.payment_fate();
                if payment != PaymentFate::Unpaid {
                    let their_ref = self.fresh_ref("PMT", &mut used_refs);
                    self.book_payment(customer, &mut books, d, payment, their_ref);
                }
            }
            if self.options.cause_cases {
                self.cause_cases(customer, &mut books, &mut used_refs, first_truth);
            }
            self.data.statements.extend(books.rows);
        }
    }

    pub fn invoice_fate(&mut self) -> InvoiceFate {
        let x = self.rng.unit();
        if x < 0.05 {
            InvoiceFate::MissingOnCustomerSide
        } else if x < 0.10 {
            InvoiceFate::AmountMismatch
        } else if x > 0.97 {
            InvoiceFate::DuplicateOnCustomerSide
        } else {
            InvoiceFate::Agreed
        }
    }

    pub fn payment_fate(&mut self) -> PaymentFate {
        if !self.rng.chance(0.6) {
            PaymentFate::Unpaid
        } else if self.rng.chance(0.06) {
            PaymentFate::PaidNotBooked
        } else {
            PaymentFate::Paid
        }
    }

    /// A customer's reference (`AP1234567`, `PMT1234567`), unique in the data set.
    pub(super) fn fresh_ref(&mut self, prefix: &str, used: &mut HashSet<String>) -> String {
        loop {
            let r = format!("{prefix}{}", self.rng.range(1_000_000, 9_999_999));
            if used.insert(r.clone()) {
                return r;
            }
        }
    }

    pub(super) fn plant(
        &mut self,
        books: &Books,
        kind: StatementDifferenceKind,
        refs: (&str, &str),
        amounts: [Option<Decimal>; 2],
    ) {
        self.data.truth_differences.push(TruthDifference {
            customer_code: books.customer_code.clone(),
            kind,
            our_ref: refs.0.to_string(),
            their_ref: refs.1.to_string(),
            our_amount: amounts[0],
            their_amount: amounts[1],
        });
    }

    fn book_invoice(&mut self, books: &mut Books, doc: usize, fate: InvoiceFate, their_ref: String) {
        let d = self.data.ledger[doc].clone();
        if fate == InvoiceFate::MissingOnCustomerSide {
            return self.plant(
                books,
                StatementDifferenceKind::MissingOnCustomerSide,
                (&d.doc_no, ""),
                [Some(d.amount), None],
            );
        }
        let mut amount = d.amount;
        if fate == InvoiceFate::AmountMismatch {
            amount = transposed(&mut self.rng, d.amount, d.currency);
            self.plant(
                books,
                StatementDifferenceKind::AmountMismatch,
                (&d.doc_no, &their_ref),
                [Some(d.amount), Some(amount)],
            );
        }
        // Booked when received: up to four days after our issue date.
        let received = d.issue_date + Days::new(self.rng.range(0, 4) as u64);
        let row = |date| StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref: their_ref.clone(),
            our_ref: d.doc_no.clone(),
            date,
            kind: DocType::Invoice,
            amount,
            currency: d.currency,
            text: String::new(),
        };
        books.rows.push(row(received));
        if fate == InvoiceFate::DuplicateOnCustomerSide {
            books.rows.push(row(d.issue_date));
            self.plant(
                books,
                StatementDifferenceKind::DuplicateOnCustomerSide,
                (&d.doc_no, &their_ref),
                [Some(d.amount), Some(amount)],
            );
        }
    }

    fn book_payment(&mut self, customer: usize, books: &mut Books, doc: usize, fate: PaymentFate, their_ref: String) {
        let (doc_no, amount, currency) = {
            let d = &self.data.ledger[doc];
            (d.doc_no.clone(), d.amount, d.currency)
        };
        let on = self.pay_date(doc);
        if fate == PaymentFate::PaidNotBooked {
            let kind = StatementDifferenceKind::MissingOnOurSide;
            self.plant(books, kind, ("", &their_ref), [None, Some(amount)]);
        } else {
            // Booked by us when the bank credit arrives, up to three days later.
            let booked = on + Days::new(self.rng.range(0, 3) as u64);
            let payment = NewDoc {
                currency: Some(currency),
                issue: Some(booked),
                reference: their_ref.clone(),
                ..NewDoc::of(DocType::Payment, amount)
            };
            self.add_doc(customer, payment);
        }
        books.rows.push(StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref,
            our_ref: doc_no,
            date: on,
            kind: DocType::Payment,
            amount,
            currency,
            text: String::new(),
        });
    }
}

/// The amount with two adjacent digits swapped (a typing error), different and positive; one
/// minor unit more when no swap gives that.
pub(super) fn transposed(rng: &mut super::rng::DemoRng, amount: Decimal, currency: Currency) -> Decimal {
    let text = amount.to_string();
    let digits: Vec<usize> = text.char_indices().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
    for _ in 0..5 {
        let k = rng.below(digits.len() as u64 - 1) as usize;
        let (i, j) = (digits[k], digits[k + 1]);
        let mut bytes = text.clone().into_bytes();
        bytes.swap(i, j);
        if let Ok(candidate) = Decimal::from_str(&String::from_utf8_lossy(&bytes)) {
            if candidate != amount && candidate > Decimal::ZERO {
                return candidate;
            }
        }
    }
    amount + Decimal::new(1, currency.minor_units())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposed_amount_differs_and_keeps_its_digits() {
        let mut rng = super::super::rng::DemoRng::new(9);
        for text in ["1234.56", "100.00", "50.05", "7000"] {
            let amount = Decimal::from_str(text).unwrap();
            for _ in 0..20 {
                let t = transposed(&mut rng, amount, Currency::Eur);
                assert_ne!(t, amount);
                assert!(t > Decimal::ZERO);
                let mut a: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
                let mut b: Vec<char> = t.to_string().chars().filter(char::is_ascii_digit).collect();
                a.sort();
                b.sort();
                if t != amount + Decimal::new(1, 2) {
                    // A leading zero swapped to the front disappears: "015.00" is 15.00.
                    b.resize(a.len(), '0');
                    b.sort();
                    assert_eq!(a, b, "{text} -> {t}");
                }
            }
        }
    }
}
