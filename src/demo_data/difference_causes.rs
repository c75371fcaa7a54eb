//! Differences with a known cause (`Options::cause_cases`): per statement customer, a few more
//! invoices whose fate on the customer's side is a technical slip (decimal shift, rounding, a
//! VAT rate on top), a process gap (a credit note they never booked, a discount they took, a
//! late posting, an invoice after their statement's cut-off) or a dispute (an amount cut, with
//! the reason the customer will give, in English or Chinese). Every planted difference of the
//! customer, the default fates' included, gets its sub-cause in `Dataset::truth_causes`.

use super::customer_statements::Books;
use super::{DocType, Generator, NewDoc, StatementDifferenceKind, StatementRow};
use crate::domain::difference_cause::{SubCause, CUT_OFF_DAYS, DISCOUNT_RATES, VAT_RATES};
use chrono::{Days, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashSet;

/// The cause a planted difference has, and for a dispute the reason the customer gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthCause {
    pub customer_code: String,
    pub kind: StatementDifferenceKind,
    pub our_ref: String,
    pub their_ref: String,
    pub sub_cause: SubCause,
    /// Set for disputes: the customer's words when it disputes the difference.
    pub dispute_reason: Option<String>,
}

/// The fates of the extra invoices, drawn uniformly.
const CASES: [SubCause; 11] = [
    SubCause::DecimalShift,
    SubCause::Rounding,
    SubCause::TaxRate,
    SubCause::MissingCreditNote,
    SubCause::DiscountNotApplied,
    SubCause::LatePosting,
    SubCause::Quality,
    SubCause::Quantity,
    SubCause::Price,
    SubCause::DeliberateDelay,
    SubCause::Other,
];

/// Reasons customers give, per dispute sub-cause.
fn reasons(sub: SubCause) -> &'static [&'static str] {
    match sub {
        SubCause::Quality => &[
            "Goods arrived damaged, we deduct the defective part",
            "质量问题：部分产品破损",
            "Quality complaint: part of the batch is faulty",
            "产品不合格，扣减货款",
        ],
        SubCause::Quantity => &[
            "Short delivery, only part of the units arrived",
            "数量不符，少发货物",
            "We received fewer pieces than invoiced",
            "实收数量短少",
        ],
        SubCause::Price => &[
            "Price above the agreed contract price",
            "单价与合同价不符",
            "You overcharged us against the quotation",
            "价格错误，按报价结算",
        ],
        SubCause::DeliberateDelay => &[
            "We will pay the rest next month",
            "资金紧张，余款下个月支付",
            "Payment postponed until budget approval",
            "余款延期支付",
        ],
        _ => &["See our remark", "请核对", "Not agreed", "有异议"],
    }
}

fn round_to(amount: Decimal, minor_units: u32) -> Decimal {
    amount.round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero)
}

fn percent(p: u32) -> Decimal {
    Decimal::from(p) / Decimal::ONE_HUNDRED
}

impl Generator<'_> {
    /// Three extra invoices with a known cause, one invoice after the cut-off, and the causes of
    /// every difference planted for the customer (`first_truth`: its first entry in
    /// `truth_differences`).
    pub(super) fn cause_cases(
        &mut self,
        customer: usize,
        books: &mut Books,
        used: &mut HashSet<String>,
        first_truth: usize,
    ) {
        for _ in 0..3 {
            let fate = CASES[self.rng.below(CASES.len() as u64) as usize];
            self.cause_case(customer, books, used, fate);
        }
        let cut_off = books.rows.iter().map(|r| r.date).max();
        if let Some(cut_off) = cut_off {
            // Issued after their statement ends: they cannot have booked it yet.
            let issue = cut_off + Days::new(self.rng.range(1, 3) as u64);
            let d = self.add_doc(customer, NewDoc { issue: Some(issue), ..NewDoc::invoice() });
            self.close(d);
            let doc = self.data.ledger[d].clone();
            let kind = StatementDifferenceKind::MissingOnCustomerSide;
            self.plant(books, kind, (&doc.doc_no, ""), [Some(doc.amount), None]);
        }
        self.label_defaults(books, first_truth, cut_off);
    }

    /// Causes of the planted differences that have none yet: the default fates, and the cut-off.
    fn label_defaults(&mut self, books: &Books, first_truth: usize, cut_off: Option<NaiveDate>) {
        let labelled: HashSet<(String, String)> = self
            .data
            .truth_causes
            .iter()
            .filter(|c| c.customer_code == books.customer_code)
            .map(|c| (c.our_ref.clone(), c.their_ref.clone()))
            .collect();
        let date_of = |refs: &(String, String)| -> Option<NaiveDate> {
            let ours = self.data.ledger.iter().find(|d| d.doc_no == refs.0 && !refs.0.is_empty()).map(|d| d.issue_date);
            ours.or_else(|| books.rows.iter().find(|r| r.their_ref == refs.1 && !refs.1.is_empty()).map(|r| r.date))
        };
        let mut new = Vec::new();
        for t in &self.data.truth_differences[first_truth..] {
            let refs = (t.our_ref.clone(), t.their_ref.clone());
            if labelled.contains(&refs) {
                continue;
            }
            let near = |d: NaiveDate| cut_off.is_some_and(|c| (d - c).num_days() > -CUT_OFF_DAYS);
            let sub = match t.kind {
                // `transposed` adds one minor unit when no swap of digits gives another amount.
                StatementDifferenceKind::AmountMismatch
                    if t.our_amount.zip(t.their_amount).is_some_and(|(o, th)| {
                        // A swap of digits changes an amount by a multiple of 9 of some place.
                        let gap = (th - o).abs();
                        gap == Decimal::new(1, 2) || gap == Decimal::ONE
                    }) =>
                {
                    SubCause::Rounding
                }
                StatementDifferenceKind::AmountMismatch => SubCause::Transposition,
                StatementDifferenceKind::DuplicateOnCustomerSide => SubCause::DuplicateEntry,
                StatementDifferenceKind::DateMismatch => SubCause::LatePosting,
                _ if date_of(&refs).is_some_and(near) => SubCause::CutOff,
                _ => SubCause::NotBooked,
            };
            new.push(TruthCause {
                customer_code: t.customer_code.clone(),
                kind: t.kind,
                our_ref: t.our_ref.clone(),
                their_ref: t.their_ref.clone(),
                sub_cause: sub,
                dispute_reason: None,
            });
        }
        self.data.truth_causes.extend(new);
    }

    fn cause_case(&mut self, customer: usize, books: &mut Books, used: &mut HashSet<String>, fate: SubCause) {
        let d = self.add_doc(customer, NewDoc::invoice());
        self.close(d);
        let doc = self.data.ledger[d].clone();
        let units = doc.currency.minor_units();
        let their_ref = self.fresh_ref("AP", used);
        let mut reason = None;
        let (mut amount, mut date) = (doc.amount, doc.issue_date);
        let mut kind = StatementDifferenceKind::AmountMismatch;
        match fate {
            SubCause::DecimalShift => amount = doc.amount * Decimal::TEN,
            SubCause::Rounding => amount = doc.amount + Decimal::new(self.rng.range(1, 3), units),
            SubCause::TaxRate => {
                let rate = VAT_RATES[self.rng.below(VAT_RATES.len() as u64) as usize];
                amount = round_to(doc.amount * (Decimal::ONE + percent(rate)), units);
            }
            SubCause::DiscountNotApplied => {
                let rate = DISCOUNT_RATES[self.rng.below(DISCOUNT_RATES.len() as u64) as usize];
                amount = round_to(doc.amount * (Decimal::ONE - percent(rate)), units);
            }
            SubCause::LatePosting => {
                // Past the 7-day tolerance, within the pairing window.
                date = doc.issue_date + Days::new(self.rng.range(10, 14) as u64);
                kind = StatementDifferenceKind::DateMismatch;
            }
            SubCause::MissingCreditNote => return self.credit_note_not_booked(customer, books, &doc, their_ref),
            _ => {
                let cut = self.rng.range(11, 40) as u32;
                amount = round_to(doc.amount * (Decimal::ONE - percent(cut)), units);
                let texts = reasons(fate);
                reason = Some(texts[self.rng.below(texts.len() as u64) as usize].to_string());
            }
        }
        let ours_theirs = if kind == StatementDifferenceKind::DateMismatch {
            [Some(doc.amount), Some(doc.amount)]
        } else {
            [Some(doc.amount), Some(amount)]
        };
        self.plant(books, kind, (&doc.doc_no, &their_ref), ours_theirs);
        self.truth_cause(books, kind, (&doc.doc_no, &their_ref), fate, reason);
        books.rows.push(StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref,
            our_ref: doc.doc_no.clone(),
            date,
            kind: DocType::Invoice,
            amount,
            currency: doc.currency,
            text: String::new(),
        });
    }

    /// The invoice booked by both, and a credit note of ours for part of it that they never booked.
    fn credit_note_not_booked(&mut self, customer: usize, books: &mut Books, doc: &super::Document, their_ref: String) {
        books.rows.push(StatementRow {
            customer_code: books.customer_code.clone(),
            their_ref,
            our_ref: doc.doc_no.clone(),
            date: doc.issue_date,
            kind: DocType::Invoice,
            amount: doc.amount,
            currency: doc.currency,
            text: String::new(),
        });
        let share = percent(self.rng.range(5, 20) as u32);
        let amount = round_to(doc.amount * share, doc.currency.minor_units()).max(Decimal::ONE);
        let issue = doc.issue_date + Days::new(self.rng.range(1, 5) as u64);
        let cn = NewDoc { currency: Some(doc.currency), issue: Some(issue), ..NewDoc::of(DocType::CreditNote, amount) };
        let c = self.add_doc(customer, cn);
        let cn_no = self.data.ledger[c].doc_no.clone();
        let kind = StatementDifferenceKind::MissingOnCustomerSide;
        self.plant(books, kind, (&cn_no, ""), [Some(amount), None]);
        self.truth_cause(books, kind, (&cn_no, ""), SubCause::MissingCreditNote, None);
    }

    fn truth_cause(
        &mut self,
        books: &Books,
        kind: StatementDifferenceKind,
        refs: (&str, &str),
        sub_cause: SubCause,
        dispute_reason: Option<String>,
    ) {
        self.data.truth_causes.push(TruthCause {
            customer_code: books.customer_code.clone(),
            kind,
            our_ref: refs.0.to_string(),
            their_ref: refs.1.to_string(),
            sub_cause,
            dispute_reason,
        });
    }
}
