//! The matching engine: candidate lookup through hash indexes, the rules, and the decision.
//!
//! For every line the engine builds *hypotheses* (a set of documents with amounts, a rule name, a confidence and
//! evidence), ranks them and decides:
//! * **AutoApplied** when the best hypothesis reaches [`MatchSettings::auto_apply_threshold`] and no materially
//!   different hypothesis comes within [`AMBIGUITY_MARGIN`] of it (ambiguity is never resolved by guessing);
//! * **Proposed** when there is any hypothesis at all (the best sets for a human);
//! * **Unmatched** otherwise, including recognised duplicate payments and lines that are not customer receipts.
//!
//! Confidences are fixed per rule (the `BASE_*` constants) and then adjusted by payer evidence (`payer_adjustment`:
//! IBAN +0.03, name >= 0.9 +0.02, other name -0.05, IBAN of another customer -0.25) and by how the reference was
//! read (`strength_penalty`: full 0, prefix/zeros dropped -0.02, running number only or swapped digits -0.08).
//! The figures are set so that "reference + exact amount" applies on its own, while every rule that leans on the
//! amount alone, or on a weak reading of the reference, needs the payer confirmed (IBAN or strong name) to apply:
//!
//! | rule | base | applies automatically when |
//! |---|---|---|
//! | `reference_exact_amount` | 0.96 | always, unless the IBAN belongs to another customer; running number only: payer confirmed |
//! | `instalment_exact_amount` | 0.96 | as `reference_exact_amount`, the amount being the document's next open instalment(s) |
//! | `combined_references` (all quoted, credit notes netted) | 0.96 | quoted documents add up exactly |
//! | `combined_references` (one unquoted document fills the rest) | 0.88 | payer confirmed and the fill is unique |
//! | `early_payment_discount` | 0.93 stated / 0.85 unstated | discount word and exact 0.5..5% |
//! | `short_payment_fee` | 0.90 | shortfall within min(2%, 25 base-currency) and payer not contradicting |
//! | `partial_payment` | 0.93 stated / 0.88 unstated | stated, or payer confirmed; never for one of several quoted |
//! | `overpayment` | 0.90 | single quoted document, payer not contradicting, no unquoted document fits the excess |
//! | `foreign_currency` | 0.92 | rate known, converted amount within the FX tolerance, payer not contradicting |
//! | `transposed_digits` | 0.88 | amount equal and payer confirmed |
//! | `amount_and_payer` | 0.93 IBAN / 0.76 name | IBAN identifies one customer with exactly one equal open item |
//! | `fifo_same_amount` | 0.85 (0.91 if enabled) | only with [`MatchSettings::auto_apply_oldest_first`] |
//! | `subset_sum` | 0.75 IBAN / 0.60 name | never (proposal only) |

//! Files by concept:
//! * `confidence`: the base confidence of every rule and the payer / reference-strength adjustments;
//! * `hypothesis`: the per-line facts and the candidate explanations the rules build;
//! * `build`: the indexes made once per run (references, amounts, payers);
//! * `lookup`: reading references out of the line and finding open items by amount;
//! * `payer`: how well the line's payer fits a customer, and the evidence sentence for it;
//! * `single_reference`, `combined_references`, `transposed_digits`, `payer_amount`: the rule generators;
//! * `groups`: customer groups (a member paying for another member, the `widen_to_group` rule action);
//! * `decision`: ranking, the apply / propose / leave decision and the rendered outcome.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::index::{FastStrBuild, MultiMap};
use super::names::{NameIndex, PreparedName};
use super::references::{RefStrength, Scanner};
use super::{CustomerInfo, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem};
use crate::domain::matching_rules::compiled::CompiledRules;

/// `format!` into a buffer sized up front: `format!` under-estimates messages with arguments and reallocates two or
/// three times, which is measurable at a million lines.
macro_rules! text {
    ($cap:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let mut s = String::with_capacity($cap);
        let _ = write!(s, $($arg)*);
        s
    }};
}

mod build;
mod combined_references;
mod confidence;
mod decision;
mod groups;
mod hypothesis;
mod learned;
mod lookup;
mod payer;
mod payer_amount;
mod reference_formats;
mod rules;
mod run_lines;
mod single_reference;
mod transposed_digits;

pub use confidence::AMBIGUITY_MARGIN;
use confidence::{PayerFit, CAP_REFERENCE_CONTRADICTED};
pub use groups::CustomerGroupInfo;
use hypothesis::{Ctx, Hit, Hyp};
pub use learned::{lessons, LearnedFact, LearnedKind, LearnedSettings};
pub use reference_formats::learn_format;
pub use rules::rule_label;

/// Item belongs to a customer we were not given.
const NO_CUSTOMER: u32 = u32::MAX;
/// How many candidate sets a proposal shows.
const MAX_PROPOSED_SETS: usize = 3;
/// Bound on subset-sum search nodes per line, so one customer with a huge open book cannot stall a run.
const SUBSET_NODE_BUDGET: usize = 200_000;
/// For a payer with the confirmed habit of paying several invoices at once, the search may look at this many open
/// items: "the only combination" is only known when it saw all of them, and such payers keep many open.
const HABIT_SUBSET_CANDIDATES: usize = 120;
/// Node budget of that wider search (few payers have the habit, so the run's cost stays bounded).
const HABIT_SUBSET_NODE_BUDGET: usize = 2_000_000;

/// The cash-application engine. Holds the open book and its indexes; [`Engine::match_line`] mutates open amounts
/// when it auto-applies, so lines must be fed in booking-date order.
pub struct Engine {
    settings: MatchSettings,
    fx: FxRates,
    customers: Vec<CustomerInfo>,
    cust_names: Vec<Vec<PreparedName>>,
    name_index: NameIndex,
    iban_index: HashMap<String, Vec<u32>, FastStrBuild>,
    items: Vec<OpenItem>,
    /// Per item: customer and currency numbers, kept apart from [`OpenItem`] so the hot checks touch one small
    /// record instead of the whole item.
    meta: Vec<Meta>,
    /// Leading letters of our document numbers ("INV", "CN"): a quoted text is only searched for swapped digits
    /// if it is shaped like one of ours.
    prefixes: Vec<String>,
    settled_by: Vec<Option<Uuid>>,
    currencies: Vec<String>,
    abs_tolerance: Vec<Decimal>,
    /// Reference keys (all [`KeyKind`](super::references::KeyKind)s) -> items.
    refs: MultiMap,
    /// (customer, currency, open amount) -> open debit items.
    amounts: MultiMap,
    /// Debit items per customer, oldest issue first (subset sums and no-reference tolerance checks).
    cust_items: Vec<Vec<u32>>,
    scanner: Scanner,
    scratch: String,
    /// The tenant's matching rules, compiled for this run (none by default).
    rules: CompiledRules,
    /// The tenant's customer groups (none by default).
    groups: groups::Groups,
    /// What people taught (nothing by default).
    learned: learned::LearnedBook,
    /// Customers by code and id, documents by their own reference: what the rules' captures name.
    rule_ix: rules::RuleIndexes,
    /// The run's lines of one payer and amount (none by default).
    run_lines: run_lines::RunLines,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    cust: u32,
    cur: u16,
}

impl Engine {
    /// The current state of every item (open amounts reflect what was auto-applied so far).
    pub fn items(&self) -> &[OpenItem] {
        &self.items
    }

    /// Uses the tenant's matching rules from now on (they add to the built-in evidence or override it).
    pub fn set_rules(&mut self, rules: CompiledRules) {
        self.rules = rules;
        self.rule_ix.index_customers(&self.customers);
    }

    /// Decides one line; auto-applied allocations reduce the open amounts inside the engine, so later lines see
    /// them (process lines in booking-date order).
    pub fn match_line(&mut self, line: &LineInput) -> LineOutcome {
        if line.amount <= Decimal::ZERO {
            return decision::unmatched(
                line,
                "Left unmatched: a debit or zero line is not a customer receipt.".to_string(),
            );
        }
        let mut ctx = self.line_context(line);
        if let Some(ignored) = self.ignored(&ctx) {
            return ignored;
        }
        self.rule_payer(&mut ctx);
        self.resolve_learned(&mut ctx);
        let mut hits = self.collect_hits(line);
        self.rule_hits(&mut ctx, &mut hits);
        let mut hyps: Vec<Hyp> = Vec::new();
        let mut dups: Vec<u32> = Vec::new();
        let n_strong = hits.iter().filter(|h| h.strength >= RefStrength::Degraded).count();
        let quoted_debits = hits
            .iter()
            .filter(|h| h.strength >= RefStrength::Degraded && self.items[h.item as usize].kind.is_debit())
            .count();
        for h in &hits {
            self.single_hyps(&mut ctx, h, quoted_debits, &mut hyps, &mut dups);
        }
        if n_strong >= 2 {
            let strong: Vec<&Hit> = hits.iter().filter(|h| h.strength >= RefStrength::Degraded).collect();
            self.combined_hyps(&mut ctx, &strong, &mut hyps);
        }
        // Swapped digits are only looked for when nothing convincing was found, or when the quoted document exists
        // but the amount does not equal it (a typo can masquerade as a part payment, a fee or an overpayment).
        let best = hyps.iter().max_by(|a, b| a.conf.partial_cmp(&b.conf).unwrap_or(Ordering::Equal));
        let suspicious = best.is_none_or(|b| {
            b.conf < self.threshold()
                || matches!(b.rule, "partial_payment" | "overpayment" | "short_payment_fee" | "early_payment_discount")
        });
        if suspicious {
            self.transposed_hyps(&mut ctx, &hits, &mut hyps);
        }
        let best_ref = hyps.iter().map(|h| h.conf).fold(0.0, f64::max);
        if best_ref < self.threshold() {
            // A quoted reference we could not reconcile, or a duplicate, argues against amount-only matching.
            let cap = if n_strong == 0 && dups.is_empty() { 1.0 } else { CAP_REFERENCE_CONTRADICTED };
            let own = hyps.len();
            self.payer_hyps(&mut ctx, cap, &mut hyps);
            if hyps.len() == own || ctx.rules.widen_to_group.is_some() {
                self.group_hyps(&mut ctx, cap, &mut hyps);
            }
        }
        if !dups.is_empty() {
            // A recognised duplicate explains the line; only keep alternatives worth a reviewer's time.
            hyps.retain(|h| h.conf >= 0.7);
        }
        self.decide(&ctx, hyps, &dups)
    }

    /// The per-line facts every rule reads: currency number, normalised payer IBAN and the customers it belongs to.
    fn line_context<'l>(&self, line: &'l LineInput) -> Ctx<'l> {
        let iban = line.counterparty_iban.as_deref().map(build::normalize_iban).filter(|s| !s.is_empty());
        let iban_custs = iban.as_deref().and_then(|i| self.iban_index.get(i)).cloned().unwrap_or_default();
        Ctx {
            line,
            amount: line.amount,
            cur: self.currencies.iter().position(|c| c.eq_ignore_ascii_case(&line.currency)).map(|p| p as u16),
            iban,
            iban_custs,
            name: None,
            fits: [(NO_CUSTOMER, PayerFit::Unknown); 6],
            n_fits: 0,
            rules: self.rules.evaluate(line),
            learned: None,
            rx: Default::default(),
        }
    }

    fn threshold(&self) -> f64 {
        self.settings.auto_apply_threshold
    }
}
