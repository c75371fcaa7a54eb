//! What the rules produce: candidate explanations of a line (hypotheses) with unrendered evidence, and the
//! per-line facts they are computed from.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::super::names::PreparedName;
use super::super::references::RefStrength;
use super::super::{LineInput, WriteOffReason};
use super::confidence::PayerFit;
use super::rules::RuleLine;
use crate::domain::matching_rules::compiled::{LineEffects, RuleRef};

/// One document reference found in the line.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub(super) item: u32,
    pub(super) strength: RefStrength,
    pub(super) field: usize,
    /// Byte range of the quoted text in the field (rendered into evidence only when shown).
    pub(super) span: std::ops::Range<usize>,
}

/// Evidence kept unformatted until a hypothesis is shown: most hypotheses are never rendered.
#[derive(Debug, Clone)]
pub(super) enum Ev {
    Ref(Hit),
    AmountEqual,
    Text(String),
}

/// One document of a hypothesis: the amount in the document's currency and the part of the line it uses.
#[derive(Debug, Clone)]
pub(super) struct HAlloc {
    pub(super) item: u32,
    pub(super) amount: Decimal,
    pub(super) line_amount: Decimal,
    pub(super) fx_rate: Option<Decimal>,
}

impl HAlloc {
    /// A same-currency allocation that uses as much of the line as it settles.
    pub(super) fn plain(item: u32, amount: Decimal) -> Self {
        HAlloc { item, amount, line_amount: amount, fx_rate: None }
    }
}

/// A candidate explanation of a line.
#[derive(Debug, Clone)]
pub(super) struct Hyp {
    pub(super) allocs: Vec<HAlloc>,
    pub(super) write_offs: Vec<(u32, Decimal, WriteOffReason)>,
    pub(super) rule: &'static str,
    pub(super) conf: f64,
    pub(super) evidence: Vec<Ev>,
    /// Customer and payer fit, rendered as evidence only if the hypothesis is shown (formatting is costly).
    pub(super) payer: Option<(u32, PayerFit)>,
    /// The tenant's rule that shaped this set, if one did.
    pub(super) by_rule: Option<RuleRef>,
    /// What the tenant's rules did to it, rendered apart from the built-in evidence.
    pub(super) rule_notes: Vec<String>,
}

impl Hyp {
    pub(super) fn new(rule: &'static str, conf: f64) -> Self {
        Hyp {
            allocs: Vec::new(),
            write_offs: Vec::new(),
            rule,
            conf: conf.clamp(0.0, 0.99),
            evidence: Vec::new(),
            payer: None,
            by_rule: None,
            rule_notes: Vec::new(),
        }
    }

    pub(super) fn note(&mut self, s: String) {
        self.evidence.push(Ev::Text(s));
    }

    pub(super) fn items(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.allocs.iter().map(|a| a.item).collect();
        v.sort_unstable();
        v
    }
}

/// Per-line facts computed once.
pub(super) struct Ctx<'a> {
    pub(super) line: &'a LineInput,
    pub(super) amount: Decimal,
    pub(super) cur: Option<u16>,
    pub(super) iban: Option<Cow<'a, str>>,
    pub(super) iban_custs: Vec<u32>,
    /// Prepared payer name, computed on first use (most lines are decided by IBAN or reference alone).
    pub(super) name: Option<Option<PreparedName>>,
    /// Payer fits computed so far (a line rarely concerns more than a few customers; beyond the array they are
    /// recomputed, which is only slower).
    pub(super) fits: [(u32, PayerFit); 6],
    pub(super) n_fits: usize,
    /// What the tenant's matching rules say about the line (empty without rules).
    pub(super) rules: LineEffects,
    /// What learned facts say about the payer (only read when no master-data IBAN identifies it).
    pub(super) learned: Option<super::learned::LearnedPayer>,
    /// What applying them found out (the payer they named, captures that named nothing).
    pub(super) rx: RuleLine,
}

impl Ctx<'_> {
    pub(super) fn name(&mut self) -> Option<&PreparedName> {
        let line = self.line;
        self.name
            .get_or_insert_with(|| {
                line.counterparty_name.as_deref().map(PreparedName::new).filter(|n| !n.canonical.is_empty())
            })
            .as_ref()
    }
}

/// A percentage for explanations: `0.02` -> `2%`.
pub(super) fn fmt_pct(x: Decimal) -> String {
    format!("{}%", (x * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

/// The rule's name as a reviewer reads it in an explanation.
pub(super) fn rule_text(rule: &str) -> &'static str {
    match rule {
        "reference_exact_amount" => "quoted reference and equal amount",
        "instalment_exact_amount" => "quoted reference and the amount of its next instalment",
        "combined_references" => "several documents paid together",
        "amount_and_payer" => "known payer and equal amount",
        "fifo_same_amount" => "known payer, equal amount, oldest item first",
        "partial_payment" => "quoted reference, part payment",
        "short_payment_fee" => "short payment within the bank-fee tolerance",
        "early_payment_discount" => "early-payment discount",
        "overpayment" => "quoted reference, overpayment",
        "foreign_currency" => "foreign-currency payment within FX tolerance",
        "transposed_digits" => "reference with two swapped digits and equal amount",
        "subset_sum" => "open items adding up to the amount",
        "group_member_amount" => "payer's group and an equal open item of another member",
        "rule_write_off" => "remainder written off by a matching rule",
        _ => "matching rule",
    }
}
