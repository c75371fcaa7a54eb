//! Customers' statements as customers really send them (`Options::habits`). Each statement
//! customer gets its habits ([`StatementHabits`]: language, layout, sign convention, date format,
//! encoding) and books our documents its own way: its own voucher numbers, our number in the
//! column meant for it on about half the lines, else quoted their way in their reference or text
//! (the cash-application generator's noisy forms, a dropped year, the purchase order instead),
//! sometimes not at all. Payments come singly or grouped: their one payment for several of our
//! receipts, or our one receipt for several of their payment lines. Differences are planted as
//! in the default statements (same fates), with the ground truth naming their reference as the
//! file shows it.

use super::customer_statements::{transposed, Books, InvoiceFate, PaymentFate};
use super::model::{Language, SignHabit, StatementHabits};
use super::{names, DocType, Generator, NewDoc, StatementDifferenceKind, StatementRow};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Where a line of theirs carries our number.
struct Quote {
    their_ref: String,
    our_ref: String,
    text: String,
}

/// A payment of theirs not yet planned into lines: the invoices it pays.
struct Paid {
    docs: Vec<usize>,
    booked: bool,
}

impl Language {
    fn voucher_prefixes(self) -> (&'static str, &'static str) {
        match self {
            Language::Chinese => ("记-", "付-"),
            Language::German => ("ER", "ZA"),
            Language::English => ("VI-", "PY-"),
            Language::French => ("FA", "RG"),
        }
    }

    /// Booking texts without any number.
    fn plain_texts(self) -> &'static [&'static str] {
        match self {
            Language::Chinese => &["采购入库", "货款", "材料款"],
            Language::German => &["Wareneingang", "Lieferung", "Material"],
            Language::English => &["Goods received", "Purchase", "Services"],
            Language::French => &["Achats", "Marchandises", "Prestations"],
        }
    }

    fn invoice_word(self) -> &'static str {
        match self {
            Language::Chinese => "发票",
            Language::German => "Rechnung",
            Language::English => "Invoice",
            Language::French => "Facture",
        }
    }

    fn payment_word(self) -> &'static str {
        match self {
            Language::Chinese => "付款",
            Language::German => "Zahlung",
            Language::English => "Payment",
            Language::French => "Règlement",
        }
    }

    fn order_word(self) -> &'static str {
        match self {
            Language::Chinese => "订单",
            Language::German => "Bestellung",
            Language::English => "PO",
            Language::French => "Commande",
        }
    }
}

impl Generator<'_> {
    /// One statement per customer of `options.statements`, each about 8 to 30 invoices, written
    /// with the customer's habits.
    pub fn customer_statements_with_habits(&mut self) {
        let mut used = HashSet::new();
        for _ in 0..self.options.statements {
            let customer = self.add_customer("S");
            let code = self.data.customers[customer].code.clone();
            let habits = self.habits(code.clone());
            let n = self.rng.range(8, 30);
            let docs: Vec<usize> = (0..n)
                .map(|_| {
                    let reference = if self.rng.chance(0.25) {
                        format!("PO-{}", self.rng.range(4_500_000_000, 4_599_999_999))
                    } else {
                        String::new()
                    };
                    self.add_doc(customer, NewDoc { reference, ..NewDoc::invoice() })
                })
                .collect();
            let mut books = Books { customer_code: code, rows: Vec::new() };
            let mut paid = Vec::new();
            for d in docs {
                self.close(d);
                let fate = self.invoice_fate();
                let quote = self.quote_invoice(&habits, d, &mut used);
                self.book_invoice_their_way(&mut books, d, fate, quote);
                match self.payment_fate() {
                    PaymentFate::Unpaid => {}
                    PaymentFate::Paid => paid.push(d),
                    PaymentFate::PaidNotBooked => self.pay_their_way(
                        customer,
                        &mut books,
                        &habits,
                        Paid { docs: vec![d], booked: false },
                        &mut used,
                    ),
                }
            }
            self.group_payments(customer, &mut books, &habits, paid, &mut used);
            self.data.statements.extend(books.rows);
            self.data.statement_habits.push(habits);
        }
    }

    fn habits(&mut self, customer_code: String) -> StatementHabits {
        let language = [Language::Chinese, Language::German, Language::English, Language::French]
            [self.rng.weighted(&[35, 25, 25, 15])];
        let sign = [SignHabit::DebitCredit, SignHabit::SignedInvoicesNegative, SignHabit::SignedInvoicesPositive]
            [self.rng.weighted(&[50, 30, 20])];
        let date_format = match language {
            Language::Chinese => *self.rng.pick(&["%Y/%m/%d", "%Y年%m月%d日", "%Y-%m-%d"]),
            Language::German => *self.rng.pick(&["%d.%m.%Y", "%d.%m.%y"]),
            Language::English => *self.rng.pick(&["%m/%d/%Y", "%d/%m/%Y", "%d-%b-%Y"]),
            Language::French => "%d/%m/%Y",
        };
        let type_column = self.rng.chance(0.75);
        StatementHabits {
            customer_code,
            language,
            sign,
            type_column,
            sap_codes: type_column && language == Language::German && self.rng.chance(0.5),
            our_ref_column: self.rng.chance(0.8),
            date_format,
            gbk: language == Language::Chinese && self.rng.chance(0.7),
            title_rows: self.rng.chance(0.4),
            total_row: self.rng.chance(0.5),
            thousands: self.rng.chance(0.5),
            // Month-first dates are always configured: a file may not tell them from day-first.
            mapping_dates: date_format.starts_with("%m") || self.rng.chance(0.5),
            mapping_side: !type_column || self.rng.chance(0.5),
        }
    }

    /// Our number as they write it: the column for it (about half the lines when there is one),
    /// else their reference column or their text, their way; sometimes the purchase order; a
    /// few lines quote nothing.
    fn quote_invoice(&mut self, habits: &StatementHabits, doc: usize, used: &mut HashSet<String>) -> Quote {
        let (doc_no, po) = (self.data.ledger[doc].doc_no.clone(), self.data.ledger[doc].reference.clone());
        let lang = habits.language;
        let voucher = self.fresh_ref(lang.voucher_prefixes().0, used);
        let plain = self.rng.pick(lang.plain_texts()).to_string();
        if habits.our_ref_column && self.rng.chance(0.5) {
            let our_ref = if self.rng.chance(0.8) { doc_no } else { doc_no.replace('-', "") };
            return Quote { their_ref: voucher, our_ref, text: plain };
        }
        let x = self.rng.unit();
        if !po.is_empty() && x < 0.5 {
            let number = po.trim_start_matches("PO-");
            return Quote {
                their_ref: voucher,
                our_ref: String::new(),
                text: format!("{} {number}", lang.order_word()),
            };
        }
        if x > 0.95 {
            return Quote { their_ref: voucher, our_ref: String::new(), text: plain };
        }
        let quoted = self.their_way(&doc_no);
        if self.rng.chance(0.3) {
            Quote { their_ref: quoted, our_ref: String::new(), text: plain }
        } else {
            Quote { their_ref: voucher, our_ref: String::new(), text: format!("{} {quoted}", lang.invoice_word()) }
        }
    }

    /// A document number written their way: as is, mangled as remitters do, or the year dropped.
    fn their_way(&mut self, doc_no: &str) -> String {
        let x = self.rng.unit();
        if x < 0.3 {
            doc_no.to_string()
        } else if x < 0.85 {
            names::reference_text(&mut self.rng, doc_no, true)
        } else {
            let seq: u64 = doc_no.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
            format!("INV-{seq}")
        }
    }

    fn book_invoice_their_way(&mut self, books: &mut Books, doc: usize, fate: InvoiceFate, quote: Quote) {
        let d = self.data.ledger[doc].clone();
        if fate == InvoiceFate::MissingOnCustomerSide {
            let kind = StatementDifferenceKind::MissingOnCustomerSide;
            return self.plant(books, kind, (&d.doc_no, ""), [Some(d.amount), None]);
        }
        let mut amount = d.amount;
        if fate == InvoiceFate::AmountMismatch {
            amount = transposed(&mut self.rng, d.amount, d.currency);
            let kind = StatementDifferenceKind::AmountMismatch;
            self.plant(books, kind, (&d.doc_no, &quote.their_ref), [Some(d.amount), Some(amount)]);
        }
        let received = d.issue_date + Days::new(self.rng.range(0, 4) as u64);
        let row = |date| StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref: quote.their_ref.clone(),
            our_ref: quote.our_ref.clone(),
            date,
            kind: DocType::Invoice,
            amount,
            currency: d.currency,
            text: quote.text.clone(),
        };
        books.rows.push(row(received));
        if fate == InvoiceFate::DuplicateOnCustomerSide {
            books.rows.push(row(d.issue_date));
            let kind = StatementDifferenceKind::DuplicateOnCustomerSide;
            self.plant(books, kind, (&d.doc_no, &quote.their_ref), [Some(d.amount), Some(amount)]);
        }
    }

    /// Single payments, and groups both ways (15% each of the payments that start a group).
    fn group_payments(
        &mut self,
        customer: usize,
        books: &mut Books,
        habits: &StatementHabits,
        mut paid: Vec<usize>,
        used: &mut HashSet<String>,
    ) {
        while !paid.is_empty() {
            let x = self.rng.unit();
            let k = (self.rng.range(2, 4) as usize).min(paid.len());
            if k >= 2 && x < 0.15 {
                let docs: Vec<usize> = paid.drain(..k).collect();
                self.pay_their_way(customer, books, habits, Paid { docs, booked: true }, used);
            } else if k >= 2 && x < 0.30 {
                let docs: Vec<usize> = paid.drain(..k).collect();
                self.pay_in_one_receipt(customer, books, habits, docs, used);
            } else {
                let d = paid.remove(0);
                self.pay_their_way(customer, books, habits, Paid { docs: vec![d], booked: true }, used);
            }
        }
    }

    /// Their one payment line for `paid.docs`; our books hold one receipt per invoice, each
    /// with their payment reference (or none at all when not yet booked: missing on our side).
    fn pay_their_way(
        &mut self,
        customer: usize,
        books: &mut Books,
        habits: &StatementHabits,
        paid: Paid,
        used: &mut HashSet<String>,
    ) {
        let reference = self.fresh_ref("PMT", used);
        let on = paid.docs.iter().map(|&d| self.pay_date(d)).max().unwrap_or_default();
        let (total, currency) = self.total(&paid.docs);
        let their_ref = self.reference_their_way(&reference);
        if paid.booked {
            let booked = on + Days::new(self.rng.range(0, 3) as u64);
            for &d in &paid.docs {
                self.receipt(customer, d, booked, &reference);
            }
        } else {
            let kind = StatementDifferenceKind::MissingOnOurSide;
            self.plant(books, kind, ("", &their_ref), [None, Some(total)]);
        }
        let text = self.payment_text(habits, &paid.docs);
        let our_ref = self.payment_our_ref(habits, &paid.docs);
        books.rows.push(StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref,
            our_ref,
            date: on,
            kind: DocType::Payment,
            amount: total,
            currency,
            text,
        });
    }

    /// Our one receipt for `docs`; their books hold one payment line per invoice, all under
    /// the one payment reference.
    fn pay_in_one_receipt(
        &mut self,
        customer: usize,
        books: &mut Books,
        habits: &StatementHabits,
        docs: Vec<usize>,
        used: &mut HashSet<String>,
    ) {
        let reference = self.fresh_ref("PMT", used);
        let on = docs.iter().map(|&d| self.pay_date(d)).max().unwrap_or_default();
        let (total, currency) = self.total(&docs);
        let booked = on + Days::new(self.rng.range(0, 3) as u64);
        let payment = NewDoc {
            currency: Some(currency),
            issue: Some(booked),
            reference: reference.clone(),
            ..NewDoc::of(DocType::Payment, total)
        };
        self.add_doc(customer, payment);
        let their_ref = self.reference_their_way(&reference);
        for d in docs {
            let text = self.payment_text(habits, &[d]);
            let our_ref = self.payment_our_ref(habits, &[d]);
            let (amount, currency) = (self.data.ledger[d].amount, self.data.ledger[d].currency);
            books.rows.push(StatementRow {
                customer_code: books.customer_code.clone(),
                their_ref: their_ref.clone(),
                our_ref,
                date: on,
                kind: DocType::Payment,
                amount,
                currency,
                text,
            });
        }
    }

    fn total(&self, docs: &[usize]) -> (Decimal, super::Currency) {
        let total = docs.iter().map(|&d| self.data.ledger[d].amount).sum();
        (total, self.data.ledger[docs[0]].currency)
    }

    fn receipt(&mut self, customer: usize, doc: usize, booked: NaiveDate, reference: &str) {
        let (amount, currency) = (self.data.ledger[doc].amount, self.data.ledger[doc].currency);
        let receipt = NewDoc {
            currency: Some(currency),
            issue: Some(booked),
            reference: reference.to_string(),
            ..NewDoc::of(DocType::Payment, amount)
        };
        self.add_doc(customer, receipt);
    }

    /// Their payment reference as their system writes it (our books recorded it from the bank).
    fn reference_their_way(&mut self, reference: &str) -> String {
        let digits = reference.trim_start_matches("PMT");
        match self.rng.below(3) {
            0 => reference.to_string(),
            1 => format!("PMT-{digits}"),
            _ => format!("pmt {digits}"),
        }
    }

    /// A payment's text names the invoices it pays, their way (or says nothing, 20%).
    fn payment_text(&mut self, habits: &StatementHabits, docs: &[usize]) -> String {
        if self.rng.chance(0.2) {
            return habits.language.payment_word().to_string();
        }
        let numbers: Vec<String> = docs
            .iter()
            .map(|&d| self.data.ledger[d].doc_no.clone())
            .collect::<Vec<_>>()
            .iter()
            .map(|n| self.their_way(n))
            .collect();
        format!("{} {}", habits.language.payment_word(), numbers.join(", "))
    }

    /// The column for our number on a payment line holds the invoice paid, on about half the lines.
    fn payment_our_ref(&mut self, habits: &StatementHabits, docs: &[usize]) -> String {
        if habits.our_ref_column && docs.len() == 1 && self.rng.chance(0.5) {
            self.data.ledger[docs[0]].doc_no.clone()
        } else {
            String::new()
        }
    }
}
