//! How sure each rule is: the base confidence per rule and the adjustments for payer evidence and for how the
//! reference was read. The table in the engine's module documentation explains the figures.

use super::super::references::RefStrength;

/// A rival hypothesis closer than this to the best one makes the line ambiguous (Proposed).
pub const AMBIGUITY_MARGIN: f64 = 0.05;
/// Hypotheses that rely on a contradicted or unexplained reference never exceed this (stay Proposed).
pub(super) const CAP_REFERENCE_CONTRADICTED: f64 = 0.85;
/// Ceiling for an unannounced part payment, fee, discount or an overpayment of a quoted document when a
/// one-digit-swap variant of the quoted number matches the amount exactly: the typo may explain the line better,
/// so neither reading is applied unless the payer settles it.
pub(super) const CAP_OUTDONE_BY_TYPO: f64 = 0.80;

// Base confidences per rule (before payer and reference-strength adjustments).
pub(super) const BASE_REFERENCE_EXACT: f64 = 0.96;
pub(super) const BASE_INSTALMENT_EXACT: f64 = 0.96;
pub(super) const BASE_COMBINED: f64 = 0.96;
pub(super) const BASE_COMBINED_PARTLY_PAID: f64 = 0.78;
pub(super) const BASE_COMBINED_FILLED: f64 = 0.88;
pub(super) const BASE_FEE: f64 = 0.90;
pub(super) const BASE_DISCOUNT_STATED: f64 = 0.93;
pub(super) const BASE_DISCOUNT_UNSTATED: f64 = 0.85;
pub(super) const BASE_PARTIAL_STATED: f64 = 0.93;
pub(super) const BASE_PARTIAL_UNSTATED: f64 = 0.88;
pub(super) const BASE_OVERPAYMENT: f64 = 0.90;
pub(super) const BASE_FX: f64 = 0.92;
pub(super) const BASE_FX_OUTSIDE: f64 = 0.55;
pub(super) const BASE_TRANSPOSED: f64 = 0.88;
pub(super) const BASE_AMOUNT_PAYER_IBAN: f64 = 0.93;
pub(super) const BASE_AMOUNT_PAYER_NAME: f64 = 0.76;
/// A customer learned facts name but do not trust: ranked above customers found by name similarity, never applied.
pub(super) const BASE_AMOUNT_PAYER_LEARNED: f64 = 0.80;
pub(super) const BASE_FIFO_IBAN: f64 = 0.91;
pub(super) const BASE_FIFO_PROPOSED: f64 = 0.85;
pub(super) const BASE_FIFO_NAME: f64 = 0.70;
pub(super) const BASE_FIFO_LATER: f64 = 0.50;
pub(super) const BASE_SUBSET_IBAN: f64 = 0.75;
pub(super) const BASE_SUBSET_NAME: f64 = 0.60;
/// The only subset sum of an IBAN-identified payer with the confirmed habit of paying several invoices at once.
pub(super) const BASE_SUBSET_HABIT: f64 = 0.92;
pub(super) const BASE_SUBSET_AMBIGUOUS: f64 = 0.45;
pub(super) const BASE_FILL_AMBIGUOUS: f64 = 0.60;
pub(super) const BASE_NOREF_TOLERANCE: f64 = 0.60;

/// How well the line's payer fits a document's customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PayerFit {
    /// The payer IBAN is one of the customer's accounts.
    Iban,
    /// The payer name matches (similarity given).
    Name(f64),
    /// Nothing to compare.
    Unknown,
    /// A name was given and it does not resemble the customer.
    Mismatch,
    /// The payer IBAN belongs to a different customer.
    Conflict,
    /// The payer (identified by IBAN, or by a name matching at >= 0.9) is customer `payer`, a member of the same
    /// customer group as the document's customer.
    Group {
        /// The member the payer was identified as.
        payer: u32,
        /// Identified by IBAN (else by name).
        by_iban: bool,
    },
    /// Only learned facts name the customer as the payer: trusted (may apply like an IBAN) or not.
    Learned(bool),
    /// Learned facts name the customer among several the payer pays for (a payment provider, a shared account),
    /// confirmed for it and never rejected: support for a reference, not an identification.
    LearnedAmongSeveral,
}

/// Confidence adjustment for payer evidence. A confirmed payer is what lifts amount- or weak-reference-based rules
/// over the threshold; an IBAN of another customer pulls even an exact reference down to a proposal, because
/// third-party payments exist but must be looked at.
pub(super) fn payer_adjustment(fit: PayerFit) -> f64 {
    match fit {
        PayerFit::Iban | PayerFit::Learned(true) => 0.03,
        PayerFit::Name(s) if s >= 0.9 => 0.02,
        PayerFit::LearnedAmongSeveral => 0.02,
        PayerFit::Name(_) | PayerFit::Unknown | PayerFit::Learned(false) => 0.0,
        PayerFit::Mismatch => -0.05,
        PayerFit::Conflict => -0.25,
        // A member paying for another member of its group: no contradiction, and an IBAN is a little support.
        PayerFit::Group { by_iban: true, .. } => 0.01,
        PayerFit::Group { by_iban: false, .. } => 0.0,
    }
}

/// Confidence penalty for how the reference was read: a full number is decisive, a running number alone is
/// shared by several documents (other prefixes and years) and needs the amount and the payer to agree.
pub(super) fn strength_penalty(s: RefStrength) -> f64 {
    match s {
        RefStrength::Exact => 0.0,
        RefStrength::Degraded | RefStrength::LearnedFormat | RefStrength::CustomerReference => 0.02,
        RefStrength::BareNumber => 0.08,
        RefStrength::Transposed => 0.08,
    }
}
