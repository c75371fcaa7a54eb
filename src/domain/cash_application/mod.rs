//! Cash application: deciding which open receivables a bank credit line pays.
//!
//! The module is pure (no IO, no clock, no randomness) so it can be unit-tested and replayed; the caller
//! loads customers, open items and FX rates, builds one [`Engine`] and feeds it bank lines in booking-date order.
//!
//! Layout by concept:
//! * [`references`]: normalising document numbers and pulling candidate references out of noisy remittance text;
//! * [`names`]: payer-name normalisation and similarity (banks upper-case, truncate and drop legal forms);
//! * [`fx`]: exchange rates with inverse and cross-rate derivation;
//! * [`subset`]: bounded subset-sum search for combined payments;
//! * [`index`]: the compact hash multimap behind every lookup (keeps per-line work independent of book size);
//! * [`engine`]: the rules, their confidences and the auto-apply / propose / leave decision.

#![warn(missing_docs)]

pub mod engine;
pub mod fx;
pub mod index;
pub mod names;
pub mod references;
pub mod subset;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::sync::Arc;
use uuid::Uuid;

pub use engine::Engine;
pub use fx::FxRates;
pub use names::{name_similarity, normalize_name};
pub use references::{doc_keys, extract_references, is_valid_creditor_reference, normalize_reference, DocKeys};

/// A customer (payer) as far as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerInfo {
    /// Stable identifier; open items point at it through [`OpenItem::customer_id`].
    pub id: Uuid,
    /// Legal name as kept in the master data; compared against the bank's rendering of the payer.
    pub name: String,
    /// Other names the customer pays under (trading names, parent companies that pay for it).
    pub aliases: Vec<String>,
    /// Known paying accounts, IBANs upper-case without spaces. An IBAN is the strongest payer evidence we get.
    pub bank_accounts: Vec<String>,
}

/// What kind of ledger document an open item is; decides the sign it takes in a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A receivable; paid by bank credits.
    Invoice,
    /// A credit to the customer; only ever netted against invoices in a combined payment.
    CreditNote,
    /// An unapplied customer payment on the ledger; treated like a credit (netted, never paid).
    Payment,
    /// A manual debit adjustment; treated like an invoice.
    Adjustment,
}

impl DocKind {
    /// Debit documents are what a customer pays; credits (credit notes, payments) only reduce a payment.
    pub fn is_debit(self) -> bool {
        matches!(self, DocKind::Invoice | DocKind::Adjustment)
    }
}

/// One ledger document with its still-open amount.
///
/// A run holds every document of the book (millions), so the item is kept small: the currency is
/// shared by the items of that currency, the number and the plan are boxed slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// Identifier of the document.
    pub id: Uuid,
    /// Owning customer; unknown customers are tolerated (the item can still be found by reference).
    pub customer_id: Uuid,
    /// Document kind, see [`DocKind`].
    pub kind: DocKind,
    /// Our document number, e.g. `INV-2026-0000155`; the thing customers quote.
    pub doc_no: Box<str>,
    /// ISO currency code of the document.
    pub currency: Arc<str>,
    /// Original amount, positive, in the document currency.
    pub amount: Decimal,
    /// Still open, `>= 0`; `0` = settled. Settled items are kept so duplicate payments are recognised.
    pub open_amount: Decimal,
    /// Issue date; "oldest first" when a payment could settle several equal items.
    pub issue_date: NaiveDate,
    /// Due date, if any; used for discount plausibility and as a tie-breaker.
    pub due_date: Option<NaiveDate>,
    /// The instalment plan, if the document is due in parts (empty otherwise): a payment equal to
    /// the next open instalment(s) is an exact payment of them, not a part payment of the document.
    pub instalments: Box<[crate::domain::instalments::Instalment]>,
}

/// One bank statement line to apply.
///
/// A run holds all of its lines (a million), so texts are boxed slices and the currency and the
/// account are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    /// Identifier of the line; echoed in the outcome.
    pub id: Uuid,
    /// The bank's own reference (not the payer's); not scanned for document numbers.
    pub bank_reference: Option<Box<str>>,
    /// Booking date; lines must be fed in this order so earlier payments settle items first.
    pub booking_date: NaiveDate,
    /// Signed amount in the line currency; credits positive. Debits are never applied.
    pub amount: Decimal,
    /// ISO currency code of the line.
    pub currency: Arc<str>,
    /// Payer name as the bank renders it (often upper-cased or truncated).
    pub counterparty_name: Option<Box<str>>,
    /// Payer IBAN, if the bank delivered it.
    pub counterparty_iban: Option<Box<str>>,
    /// Unstructured remittance text.
    pub remittance: Option<Box<str>>,
    /// Structured creditor reference, e.g. ISO 11649 `RF18...`.
    pub creditor_reference: Option<Box<str>>,
    /// End-to-end id; some payers put the invoice number here, so it is scanned too.
    pub end_to_end_id: Option<Box<str>>,
    /// The account the line was booked on (IBAN or account id); read by matching rules only.
    pub bank_account: Option<Arc<str>>,
    /// The bank's transaction code (camt domain/family, BAI2 type, MT940 `N` code); read by matching rules only.
    pub bank_transaction_code: Option<Box<str>>,
}

/// Tuning knobs. The defaults follow common AR practice; see each field.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchSettings {
    /// Minimum confidence for applying without a human; below it the best sets are only proposed.
    pub auto_apply_threshold: f64,
    /// Relative shortfall accepted as a bank fee (fraction of the open amount, `0.02` = 2%).
    pub tolerance_percent: Decimal,
    /// Absolute shortfall accepted as a bank fee, in [`MatchSettings::base_currency`]; the smaller of the two applies.
    pub tolerance_absolute: Decimal,
    /// Accepted relative gap between a converted line amount and a foreign-currency document.
    pub fx_tolerance_percent: Decimal,
    /// How many open items of a customer the subset-sum search may consider (bounds exponential work).
    pub max_subset_candidates: usize,
    /// Largest number of documents one subset-sum solution may contain.
    pub max_subset_size: usize,
    /// Currency in which [`MatchSettings::tolerance_absolute`] is expressed; converted per document when a
    /// rate is known (25 EUR is not 25 JPY). Without a rate the figure is used as is.
    pub base_currency: String,
    /// Whether a payment without reference that equals several open items of the identified payer is applied to
    /// the oldest one automatically (the usual convention) or only proposed. Off by default: nothing in the line
    /// says which item is meant, and when the customer later pays the other one without reference the
    /// convention and reality disagree on both lines; a wrong automatic match costs more than a review.
    pub auto_apply_oldest_first: bool,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            auto_apply_threshold: 0.9,
            tolerance_percent: Decimal::new(2, 2),
            tolerance_absolute: Decimal::new(2500, 2),
            fx_tolerance_percent: Decimal::new(15, 3),
            max_subset_candidates: 25,
            max_subset_size: 6,
            base_currency: "EUR".to_string(),
            auto_apply_oldest_first: false,
        }
    }
}

/// What happened to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allocations were applied inside the engine; the open amounts are already reduced.
    AutoApplied,
    /// Candidate sets for a human; nothing was applied.
    Proposed,
    /// No candidate worth showing (or a recognised duplicate / non-customer line); nothing was applied.
    Unmatched,
    /// A tenant's matching rule says the line is no customer receipt (internal transfer, bank fee, card
    /// settlement handled elsewhere); nothing was applied and the line is to be marked ignored.
    Ignored,
}

/// The engine's answer for one line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineOutcome {
    /// The line this answers.
    pub line_id: Uuid,
    /// Applied, proposed or left.
    pub decision: Decision,
    /// AutoApplied: the applied allocations. Proposed: the best candidate set first, then alternatives
    /// (each set tagged with its rank in [`ProposedAllocation::set`]).
    pub allocations: Vec<ProposedAllocation>,
    /// Shortfalls that settle documents (fees, discounts), tagged with the same set ranks.
    pub write_offs: Vec<WriteOff>,
    /// Line currency: what stays on the line. For Proposed/Unmatched nothing was applied, so the full amount.
    pub unapplied_remainder: Decimal,
    /// One human sentence on why.
    pub explanation: String,
    /// The tenant's matching rule that decided the line as a whole (ignored it), if one did; the rule
    /// behind each set is on its allocations.
    pub matching_rule: Option<crate::domain::matching_rules::compiled::RuleRef>,
}

/// One document in a candidate (or applied) set.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedAllocation {
    /// 0 = best set; alternatives 1.. .
    pub set: u32,
    /// The document.
    pub document_id: Uuid,
    /// Its number, for humans.
    pub doc_no: String,
    /// In the DOCUMENT's currency; negative for a credit note netted in.
    pub amount: Decimal,
    /// The part of the line used, in the line currency (negative for a netted credit note).
    pub line_amount: Decimal,
    /// 0..1; the set's confidence (every allocation of a set carries the same figure).
    pub confidence: f64,
    /// Name of the rule that produced the set, e.g. `reference_exact_amount`.
    pub rule: &'static str,
    /// Human-readable facts the rule relied on (built-in evidence only).
    pub evidence: Vec<String>,
    /// The tenant's matching rule (and its version) that shaped this set, if one did.
    pub matching_rule: Option<crate::domain::matching_rules::compiled::RuleRef>,
    /// Evidence from the tenant's matching rules, kept apart from the built-in evidence.
    pub rule_evidence: Vec<String>,
    /// Evidence from learned facts (what people confirmed before), kept apart too.
    pub learned_evidence: Vec<String>,
    /// Rate document currency -> line currency used, for foreign-currency allocations.
    pub fx_rate: Option<Decimal>,
}

/// Why a shortfall was written off a document, as the API shows it and the database stores it
/// (the same snake_case text). The engine writes off bank fees and early-payment discounts; a
/// person may also write off an FX difference or anything else (`manual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOffReason {
    /// The bank kept a fee from the payment.
    BankFee,
    /// The customer took an early-payment discount.
    Discount,
    /// An exchange-rate difference.
    Fx,
    /// The customer paid more than was open (kept for the database's word list).
    Overpayment,
    /// A person's judgement.
    Manual,
}

impl WriteOffReason {
    /// Every reason, in a fixed order.
    pub const ALL: [WriteOffReason; 5] = [
        WriteOffReason::BankFee,
        WriteOffReason::Discount,
        WriteOffReason::Fx,
        WriteOffReason::Overpayment,
        WriteOffReason::Manual,
    ];

    /// The word in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteOffReason::BankFee => "bank_fee",
            WriteOffReason::Discount => "discount",
            WriteOffReason::Fx => "fx",
            WriteOffReason::Overpayment => "overpayment",
            WriteOffReason::Manual => "manual",
        }
    }

    /// The reason a word names.
    pub fn parse(text: &str) -> Option<WriteOffReason> {
        WriteOffReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A shortfall written off a document so it counts as settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOff {
    /// Set rank this write-off belongs to (0 for applied outcomes).
    pub set: u32,
    /// The document.
    pub document_id: Uuid,
    /// Document currency, positive = written off the open amount.
    pub amount: Decimal,
    /// Why (the engine writes off bank fees and discounts).
    pub reason: WriteOffReason,
    /// The document's currency (the amount's).
    pub currency: String,
}
