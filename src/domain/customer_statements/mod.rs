//! Statement reconciliation (对账): the customer's view of its account against ours.
//!
//! Their lines are read like a person reads them: our document numbers are looked for in every
//! column they wrote (with cash application's normalisation of noisy references), our records of
//! their references (their payment reference, a purchase-order number) are recognised, and only
//! then amounts and dates decide. Every line and item ends either paired (one to one, or as a
//! group whose amounts add up) or in exactly one difference, so the differences' balance effects
//! explain the gap between the two balances to the cent.
//!
//! Layout by concept:
//! * [`evidence`]: which of our items each of their lines names, and how strongly;
//! * [`pairing`]: the one-to-one passes, strongest evidence first;
//! * [`groups`]: one line of theirs against several items of ours and the reverse (bounded subset sums);
//! * [`differences`]: what disagrees within a pair, and what is left over (missing, duplicates);
//! * [`explain`]: the sentences a finance clerk reads, and the amount typos they name;
//! * [`tax`]: gaps that are tax (their net against our gross, our net at another rate).

mod differences;
mod evidence;
mod explain;
mod groups;
mod pairing;
mod tax;
#[cfg(test)]
mod tests;

pub use explain::{decimal_shifted, digits_transposed, explain_amounts};
pub use tax::tax_explanation;

use super::difference::DifferenceKind;
use super::document::DocType;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One item of our books for the customer: a ledger document, or a bank payment applied to the
/// customer's documents (allocations of one bank line), or a write-off.
#[derive(Debug, Clone)]
pub struct OurItem {
    pub kind: DocType,
    pub doc_no: String,
    pub date: NaiveDate,
    /// Positive in the item's own sense (adjustments signed), like `documents.amount`.
    pub amount: Decimal,
    pub currency: String,
    /// The customer's reference we recorded (their payment reference, the purchase order an
    /// invoice was for), if any.
    pub reference: Option<String>,
    /// For payments: the documents this payment settled (from allocations).
    pub settles: Vec<String>,
    /// Net and tax per rate of the document's lines, in the document's own sense (empty without
    /// lines): a gap that is the tax is explained as such.
    pub tax_groups: Vec<super::document_lines::RateGroup>,
}

/// One line of the customer's statement.
#[derive(Debug, Clone)]
pub struct TheirItem {
    pub their_ref: String,
    /// Our document number, when they wrote it in a column of its own.
    pub our_ref: Option<String>,
    /// Their free text (booking text, description): searched for our numbers like their refs.
    pub text: String,
    pub date: NaiveDate,
    pub kind: DocType,
    /// The kind was not stated but read from the amount's direction: a line lowering the
    /// balance may then be a payment or a credit note, one raising it an invoice or a debit.
    pub kind_inferred: bool,
    /// Positive in the line's own sense, like [`OurItem::amount`].
    pub amount: Decimal,
    pub currency: String,
}

/// Why lines and items were paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    /// Our number, as written in their column for it.
    OurReference,
    /// Our number found in their reference or text (possibly in another spelling).
    QuotedReference,
    /// Our number found only weakly (running number only, two digits swapped).
    FuzzyReference,
    /// Their reference (or purchase order) recorded on our item.
    TheirReference,
    /// A payment of ours that settled the document they name.
    SettledDocument,
    /// No reference: same kind and amount, close dates.
    AmountAndDate,
    /// No reference: close dates and amounts that differ by a typing error.
    AmountTypo,
    /// Several on one side against one on the other, tied by references, amounts adding up.
    GroupByReference,
    /// Several against one without references: close dates, a unique subset adding up.
    GroupByAmount,
}

impl MatchRule {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::OurReference => "our_reference",
            MatchRule::QuotedReference => "quoted_reference",
            MatchRule::FuzzyReference => "fuzzy_reference",
            MatchRule::TheirReference => "their_reference",
            MatchRule::SettledDocument => "settled_document",
            MatchRule::AmountAndDate => "amount_and_date",
            MatchRule::AmountTypo => "amount_typo",
            MatchRule::GroupByReference => "group_by_reference",
            MatchRule::GroupByAmount => "group_by_amount",
        }
    }
}

/// Lines of theirs and items of ours found to be the same business: one to one, or a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    pub ours: Vec<usize>,
    pub theirs: Vec<usize>,
    pub rule: MatchRule,
    /// Why they belong together; says so when the reference was only fuzzily found.
    pub explanation: String,
    /// Found through a degraded or fuzzy reference, or without one.
    pub fuzzy: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundDifference {
    pub kind: DifferenceKind,
    pub ours: Option<usize>,
    pub theirs: Option<usize>,
    pub explanation: String,
    /// What this difference adds to (our balance - their balance), per currency.
    pub effects: Vec<(String, Decimal)>,
    /// The pairing an amount or date disagreement is about (index into [`Comparison::pairs`]);
    /// for a group, `ours`/`theirs` are its first members and the amounts are the group's sums.
    pub pairing: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BalanceAgreement {
    pub currency: String,
    pub ours: Decimal,
    pub theirs: Decimal,
    pub differences: Decimal,
    /// (ours - theirs) - differences: zero when every gap is explained.
    pub unexplained: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub pairs: Vec<Pairing>,
    pub differences: Vec<FoundDifference>,
    pub balances: Vec<BalanceAgreement>,
}

impl Comparison {
    /// How many of their lines were paired (alone or in a group).
    pub fn paired_lines(&self) -> usize {
        self.pairs.iter().map(|p| p.theirs.len()).sum()
    }
}

/// Normalised document reference: upper case, letters and digits only, leading zeros of digit
/// runs dropped ("inv 2026/00123" and "INV-2026-123" agree).
pub fn normalise_ref(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Within a run of digits: have we seen a non-zero digit yet, and how many zeros led it.
    let (mut significant, mut zeros) = (false, 0usize);
    let end_run = |out: &mut String, significant: &mut bool, zeros: &mut usize| {
        if *zeros > 0 && !*significant {
            out.push('0'); // a run that was all zeros stays one zero
        }
        *significant = false;
        *zeros = 0;
    };
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            if !significant && ch == '0' {
                zeros += 1;
            } else {
                significant = true;
                out.push(ch);
            }
        } else {
            end_run(&mut out, &mut significant, &mut zeros);
            if ch.is_alphanumeric() {
                out.extend(ch.to_uppercase());
            }
        }
    }
    end_run(&mut out, &mut significant, &mut zeros);
    out
}

/// The item's effect on what the customer owes.
pub(crate) fn signed(kind: DocType, amount: Decimal) -> Decimal {
    kind.balance_sign() * amount
}

/// Whether a line of theirs may be the same business as an item of ours: the same kind, or,
/// when their kind was only read from the amount's direction, the same direction.
pub(crate) fn compatible(t: &TheirItem, o: &OurItem) -> bool {
    t.kind == o.kind
        || (t.kind_inferred && (signed(t.kind, t.amount) > Decimal::ZERO) == (signed(o.kind, o.amount) > Decimal::ZERO))
}

/// Compares the two sides. `date_tolerance_days`: paired items further apart than this are
/// reported as `date_mismatch` (without balance effect).
pub fn compare(ours: &[OurItem], theirs: &[TheirItem], date_tolerance_days: i64) -> Comparison {
    let index = evidence::OurIndex::new(ours);
    let found: Vec<Vec<evidence::Evidence>> = theirs.iter().map(|t| index.evidence(ours, t)).collect();
    let mut state = pairing::State::new(ours, theirs, found, date_tolerance_days);
    state.pair_strong_equal();
    state.group_by_reference();
    state.pair_weak_equal();
    state.mark_repeats();
    state.group_by_reference_with_gap();
    state.pair_strong_typo();
    state.pair_weak_typo();
    state.pair_strong_unequal();
    state.pair_weak_unequal();
    state.pair_amount_and_date();
    state.group_by_amount();
    state.pair_amount_typos();

    let mut found = differences::within_pairs(&state);
    found.extend(differences::their_leftovers(&state));
    found.extend(differences::our_leftovers(&state));
    let balances = balances(ours, theirs, &found);
    Comparison { pairs: state.pairs, differences: found, balances }
}

/// Balance agreement per currency.
fn balances(ours: &[OurItem], theirs: &[TheirItem], differences: &[FoundDifference]) -> Vec<BalanceAgreement> {
    let mut per: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for o in ours {
        per.entry(o.currency.clone()).or_default().0 += signed(o.kind, o.amount);
    }
    for t in theirs {
        per.entry(t.currency.clone()).or_default().1 += signed(t.kind, t.amount);
    }
    for d in differences {
        for (cur, e) in &d.effects {
            per.entry(cur.clone()).or_default().2 += *e;
        }
    }
    per.into_iter()
        .map(|(currency, (o, t, d))| BalanceAgreement {
            currency,
            ours: o,
            theirs: t,
            differences: d,
            unexplained: o - t - d,
        })
        .collect()
}
