//! Consecutive months and customers' payment habits (`Options::months` >= 2).
//!
//! A share of the cash-application customers is given a habit once, before the first month, and
//! keeps it: another party pays for it (parent company, factoring company, collection agency, a
//! payment provider's payout, or the customer itself from an account not in master data), it
//! pays several invoices in one amount without any reference, or it quotes only its own
//! purchase-order number. Most of its ordinary payments follow the habit, in every month: what a
//! person teaches while reviewing the first month, the second month shows again.

use super::cash_application::Payer;
use super::names;
use super::{
    iban, Currency, CustomerHabit, Dataset, DifferenceReason, DocType, Generator, PaymentHabit, Scenario,
    ThirdPartyKind,
};
use chrono::{Datelike, Days};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Share of the cash-application customers with a payment habit.
pub const HABIT_SHARE: f64 = 0.15;
/// Share of a habit customer's ordinary payments (one invoice with or without its number, several
/// invoices) made its way.
pub const HABIT_STRENGTH: f64 = 0.8;
/// From the second month on: share of lines that pay again an invoice settled in an earlier month.
pub const REPEATED_SHARE: f64 = 0.01;

/// The habits and their weights (per 100 habit customers).
const HABITS: [(Option<ThirdPartyKind>, u32); 7] = [
    (Some(ThirdPartyKind::ParentCompany), 20),
    (Some(ThirdPartyKind::Factoring), 10),
    (Some(ThirdPartyKind::CollectionAgency), 10),
    (Some(ThirdPartyKind::PaymentProvider), 15),
    (Some(ThirdPartyKind::NewBankAccount), 15),
    // Not a third party: the bulk payment and purchase-order habits.
    (None, 15),
    (None, 15),
];

const NO_REFERENCE: [&str; 5] = ["", "PAYMENT", "Zahlung", "货款", "SEPA CREDIT TRANSFER"];

impl Generator<'_> {
    /// Draws each cash-application customer's habit (most have none).
    pub(crate) fn draw_payment_habits(&mut self) {
        let weights: Vec<u32> = HABITS.iter().map(|(_, w)| *w).collect();
        self.habits = vec![None; self.cash_customers];
        for c in 0..self.cash_customers {
            if !self.rng.chance(HABIT_SHARE) {
                continue;
            }
            let at = self.rng.weighted(&weights);
            let habit = match (HABITS[at].0, at) {
                (Some(kind), _) => {
                    let (name, iban) = self.third_party_account(c, kind);
                    PaymentHabit::ThirdParty { kind, name, iban }
                }
                (None, 5) => PaymentHabit::BulkWithoutReference,
                (None, _) => PaymentHabit::PurchaseOrder,
            };
            let customer_code = self.data.customers[c].code.clone();
            self.data.payment_habits.push(CustomerHabit { customer_code, habit: habit.clone() });
            self.habits[c] = Some(habit);
        }
    }

    /// Name and IBAN of who pays for customer `c`: a payment provider's are shared by all its
    /// payers; the others belong to this customer alone. None of them is in master data.
    fn third_party_account(&mut self, c: usize, kind: ThirdPartyKind) -> (String, String) {
        let country = *self.rng.pick(&["DE", "FR", "NL", "GB"]);
        match kind {
            ThirdPartyKind::PaymentProvider => {
                let (name, country, account) = *self.rng.pick(&names::PAYMENT_PROVIDERS);
                (name.to_string(), names::iban(country, account))
            }
            ThirdPartyKind::NewBankAccount => (self.data.customers[c].name.clone(), iban(&mut self.rng, country)),
            _ => (names::third_party(&mut self.rng, kind), iban(&mut self.rng, country)),
        }
    }

    /// The purchase-order number of a new invoice of a customer with the purchase-order habit
    /// (unique in the data set); empty for other customers.
    pub(crate) fn purchase_order_number(&mut self, customer: usize) -> String {
        if !matches!(self.habits.get(customer), Some(Some(PaymentHabit::PurchaseOrder))) {
            return String::new();
        }
        self.po_seq += self.rng.range(1, 40) as u64;
        format!("45{:08}", self.po_seq)
    }

    /// How the bank shows the third party paying for customer `c`: a payment provider always
    /// under the same name, the others as banks render names.
    pub(crate) fn third_party_as_shown(&mut self, c: usize) -> (String, String) {
        let Some(Some(PaymentHabit::ThirdParty { kind, name, iban })) = self.habits.get(c).cloned() else {
            return (String::new(), String::new());
        };
        let shown = if kind == ThirdPartyKind::PaymentProvider { name } else { names::payer(&mut self.rng, &name) };
        (shown, iban)
    }

    /// Writes `customer`'s ordinary payment its habitual way; false (nothing drawn) when it has
    /// no habit, false when this payment is not an ordinary one or is made as usual.
    pub(crate) fn habit_payment(&mut self, customer: usize, scenario: Scenario) -> bool {
        let Some(Some(habit)) = self.habits.get(customer).cloned() else {
            return false;
        };
        let ordinary = matches!(
            scenario,
            Scenario::Exact
                | Scenario::NoisyReference
                | Scenario::AmountAndPayer
                | Scenario::Combined
                | Scenario::CombinedWithCreditNote
        );
        if !ordinary || !self.rng.chance(HABIT_STRENGTH) {
            return false;
        }
        match habit {
            PaymentHabit::ThirdParty { kind, .. } => self.third_party_payment(customer, kind),
            PaymentHabit::BulkWithoutReference => self.bulk_without_reference(customer),
            PaymentHabit::PurchaseOrder => self.purchase_order(customer),
        }
        true
    }

    /// One invoice in full, paid by the customer's third party. A parent company or the customer's
    /// new account: no reference (60%) or the number mangled; a factoring company or collection
    /// agency: its own file number and the number mangled; a payment provider: its payout id and
    /// the number, clean or mangled.
    fn third_party_payment(&mut self, customer: usize, kind: ThirdPartyKind) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.document(d);
        let on = self.pay_date(d);
        let mangled = names::reference_text(&mut self.rng, &doc_no, true);
        let text = match kind {
            ThirdPartyKind::ParentCompany | ThirdPartyKind::NewBankAccount => {
                if self.rng.chance(0.6) {
                    self.rng.pick(&NO_REFERENCE).to_string()
                } else {
                    mangled
                }
            }
            ThirdPartyKind::Factoring => format!("FACT-K{:05} {mangled}", self.rng.range(10_000, 99_999)),
            ThirdPartyKind::CollectionAgency => {
                format!("AZ {}/{} {mangled}", self.period.start.year(), self.rng.range(10_000, 99_999))
            }
            ThirdPartyKind::PaymentProvider => {
                let payout = self.payout_id();
                let quoted =
                    if self.rng.chance(0.5) { names::reference_text(&mut self.rng, &doc_no, false) } else { mangled };
                format!("{payout} {quoted}")
            }
        };
        let line = self.bank_line(Payer::ThirdPartyOf(customer), amount, currency, on, text);
        self.truth(line, Scenario::ThirdPartyPayer, &[(d, amount)], None);
    }

    /// A payment provider's payout id (`PAYOUT 8RT63815KM3459236`).
    fn payout_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        let id: String = (0..17).map(|_| char::from(*self.rng.pick(ALPHABET))).collect();
        format!("PAYOUT {id}")
    }

    /// Two to four invoices in one amount, no reference, from the customer's own account.
    fn bulk_without_reference(&mut self, customer: usize) {
        let n = self.rng.range(2, 4) as usize;
        let docs = self.take_open(customer, n);
        let latest = docs.iter().copied().max_by_key(|d| self.data.ledger[*d].issue_date).unwrap_or(docs[0]);
        let currency = self.data.ledger[docs[0]].currency;
        let allocations: Vec<(usize, Decimal)> = docs.iter().map(|d| (*d, self.data.ledger[*d].amount)).collect();
        let total: Decimal = allocations.iter().map(|(_, a)| *a).sum();
        let on = self.pay_date(latest);
        let text = self.rng.pick(&["", "PAYMENT", "SAMMELZAHLUNG", "货款", "Zahlung"]).to_string();
        let line = self.bank_line(Payer::Customer(customer), total, currency, on, text);
        self.truth(line, Scenario::BulkWithoutReference, &allocations, None);
    }

    /// One invoice in full quoting only the customer's purchase order (the invoice's reference).
    fn purchase_order(&mut self, customer: usize) {
        let d = self.take_open(customer, 1)[0];
        let (doc_no, amount, currency) = self.document(d);
        let po = self.data.ledger[d].reference.clone();
        let on = self.pay_date(d);
        let (text, scenario) = if po.is_empty() {
            (names::reference_text(&mut self.rng, &doc_no, false), Scenario::Exact)
        } else {
            let text = match self.rng.below(5) {
                0 => format!("PO {po}"),
                1 => format!("Bestellung {po}"),
                2 => format!("采购订单{po}"),
                3 => format!("Your order {po}"),
                _ => po,
            };
            (text, Scenario::PurchaseOrder)
        };
        let line = self.bank_line(Payer::Customer(customer), amount, currency, on, text);
        self.truth(line, scenario, &[(d, amount)], None);
    }

    /// The customer of an earlier month's exactly paid invoice pays it again: the line stays
    /// unapplied (a duplicate). Without such an invoice, a line nobody owns.
    pub(crate) fn paid_in_an_earlier_month(&mut self) {
        if self.settled_earlier.is_empty() {
            return self.no_owner();
        }
        let (d, customer) = self.settled_earlier[self.rng.below(self.settled_earlier.len() as u64) as usize];
        let (doc_no, amount, currency) = self.document(d);
        let on = self.date();
        let text = names::reference_text(&mut self.rng, &doc_no, false);
        let line = self.bank_line(Payer::Customer(customer), amount, currency, on, text);
        self.truth(line, Scenario::DuplicatePayment, &[], Some((amount, DifferenceReason::Duplicate)));
    }

    fn document(&self, d: usize) -> (String, Decimal, Currency) {
        let doc = &self.data.ledger[d];
        (doc.doc_no.clone(), doc.amount, doc.currency)
    }

    /// Starts the next month: a period of the same length right after the current one, then its
    /// bank lines and unpaid invoices.
    pub fn next_month(&mut self) {
        let d = &self.data;
        self.month_starts.push([d.ledger.len(), d.bank.len(), d.truth_allocations.len(), d.truth_lines.len()]);
        self.settled_earlier = self.paid_exactly();
        self.period.start = self.period.start + Days::new(self.period.days as u64);
        self.month_of_payments();
    }

    /// Invoices paid in full by one `exact` line so far, with their customer's position.
    fn paid_exactly(&self) -> Vec<(usize, usize)> {
        let docs: HashMap<&str, usize> =
            self.data.ledger.iter().enumerate().map(|(i, d)| (d.doc_no.as_str(), i)).collect();
        let customers: HashMap<&str, usize> =
            self.data.customers.iter().enumerate().map(|(i, c)| (c.code.as_str(), i)).collect();
        self.data
            .truth_allocations
            .iter()
            .filter(|a| a.scenario == Scenario::Exact)
            .filter_map(|a| docs.get(a.doc_no.as_str()).copied())
            .filter(|d| self.data.ledger[*d].doc_type == DocType::Invoice)
            .filter_map(|d| customers.get(self.data.ledger[d].customer_code.as_str()).map(|c| (d, *c)))
            .collect()
    }

    /// The months as data sets, each ordered as the files list it: the same customers and
    /// habits; the statements and their truth in the first month only.
    pub fn finish_months(mut self) -> Vec<Dataset> {
        let mut data = std::mem::take(&mut self.data);
        let end = [data.ledger.len(), data.bank.len(), data.truth_allocations.len(), data.truth_lines.len()];
        let mut bounds = vec![[0; 4]];
        bounds.extend(self.month_starts.iter().copied());
        bounds.push(end);
        let mut months = Vec::with_capacity(bounds.len() - 1);
        for (i, w) in bounds.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let mut month = Dataset {
                customers: data.customers.clone(),
                ledger: data.ledger[a[0]..b[0]].to_vec(),
                bank: data.bank[a[1]..b[1]].to_vec(),
                truth_allocations: data.truth_allocations[a[2]..b[2]].to_vec(),
                truth_lines: data.truth_lines[a[3]..b[3]].to_vec(),
                payment_habits: data.payment_habits.clone(),
                ..Dataset::default()
            };
            if i == 0 {
                month.truth_differences = std::mem::take(&mut data.truth_differences);
                month.truth_causes = std::mem::take(&mut data.truth_causes);
                month.statements = std::mem::take(&mut data.statements);
                month.statement_habits = std::mem::take(&mut data.statement_habits);
            }
            self.rng.shuffle(&mut month.bank);
            month.bank.sort_by_key(|l| l.booking_date);
            month.ledger.sort_by(|x, y| (x.issue_date, &x.doc_no).cmp(&(y.issue_date, &y.doc_no)));
            months.push(month);
        }
        months
    }
}
