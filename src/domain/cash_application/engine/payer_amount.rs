//! No usable reference: find the payer (IBAN, else name) and match on the amount: one equal open item, several
//! (oldest first), an item within fee tolerance, a foreign-currency item, or a subset of open items.

use rust_decimal::Decimal;

use super::super::subset::find_subsets;
use super::super::WriteOffReason;
use super::build::minor;
use super::confidence::{
    PayerFit, BASE_AMOUNT_PAYER_IBAN, BASE_AMOUNT_PAYER_LEARNED, BASE_AMOUNT_PAYER_NAME, BASE_FIFO_IBAN,
    BASE_FIFO_LATER, BASE_FIFO_NAME, BASE_FIFO_PROPOSED, BASE_NOREF_TOLERANCE, BASE_SUBSET_AMBIGUOUS,
    BASE_SUBSET_HABIT, BASE_SUBSET_IBAN, BASE_SUBSET_NAME,
};
use super::hypothesis::{fmt_pct, Ctx, HAlloc, Hyp};
use super::{Engine, HABIT_SUBSET_CANDIDATES, HABIT_SUBSET_NODE_BUDGET, MAX_PROPOSED_SETS, SUBSET_NODE_BUDGET};

/// One candidate payer and the confidences its rules start from.
struct Payer {
    cust: u32,
    fit: PayerFit,
    /// Ceiling set by the caller (a quoted reference that was not reconciled argues against the amount alone).
    cap: f64,
    /// Several customers share the IBAN or the name: none of them is certain.
    shared_penalty: f64,
    base_one: f64,
    base_fifo: f64,
    base_subset: f64,
    /// The customer has the confirmed habit of paying several invoices with one amount and the payer is known by
    /// an IBAN: a unique subset sum over all its open items may apply.
    habit: bool,
}

impl Payer {
    /// Caps a hypothesis for this payer and attaches the payer (its evidence is rendered only when shown).
    fn finish(&self, mut h: Hyp) -> Hyp {
        h.conf = h.conf.min(self.cap) - self.shared_penalty;
        h.payer = Some((self.cust, self.fit));
        h
    }
}

/// The payer's open items smaller than the line (same currency), the candidates for a subset sum.
struct SubsetCands {
    items: Vec<u32>,
    /// No such item was left out for the search's size limit.
    complete: bool,
}

impl Engine {
    pub(super) fn payer_hyps(&self, ctx: &mut Ctx, cap: f64, out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let by_iban = !ctx.iban_custs.is_empty();
        let custs: Vec<u32> = if by_iban { ctx.iban_custs.clone() } else { self.unidentified_payer_custs(ctx) };
        let shared_penalty = if custs.len() > 1 { 0.15 } else { 0.0 };
        let mut pushed = Vec::new();
        for &cust in &custs {
            let fit = self.payer_fit(ctx, cust);
            if !by_iban && !matches!(fit, PayerFit::Name(_) | PayerFit::Learned(_) | PayerFit::LearnedAmongSeveral) {
                continue;
            }
            let oldest_first = self.settings.auto_apply_oldest_first || self.oldest_first_learned(ctx, cust).is_some();
            let fifo_iban = if oldest_first && !self.another_line_of_amount(ctx, cust) {
                BASE_FIFO_IBAN
            } else {
                BASE_FIFO_PROPOSED
            };
            let untrusted = self.learned_untrusted(ctx, cust);
            let (base_one, base_fifo, base_subset) = if by_iban || fit == PayerFit::Learned(true) {
                (BASE_AMOUNT_PAYER_IBAN, fifo_iban, BASE_SUBSET_IBAN)
            } else if untrusted {
                (BASE_AMOUNT_PAYER_LEARNED, BASE_FIFO_NAME, BASE_SUBSET_NAME)
            } else {
                (BASE_AMOUNT_PAYER_NAME, BASE_FIFO_NAME, BASE_SUBSET_NAME)
            };
            let habit = self.habit_applies(ctx, cust);
            // What learned facts do not trust is never applied, whatever the tenant's threshold.
            let cap = if untrusted { cap.min(self.threshold() - 0.01) } else { cap };
            let payer = Payer { cust, fit, cap, shared_penalty, base_one, base_fifo, base_subset, habit };
            if !self.equal_amount_hyps(ctx, cur, &payer, &mut pushed) {
                // Nothing equal: tolerance, currency and subset readings (proposals unless a habit applies).
                let subset_cands = self.near_amount_hyps(ctx, cur, &payer, &mut pushed);
                self.subset_hyps(ctx, &subset_cands, &payer, &mut pushed);
            }
        }
        out.extend(pushed);
    }

    /// Open items of the payer equal to the line: one, or several taken oldest first. Returns whether any was.
    fn equal_amount_hyps(&self, ctx: &Ctx, cur: u16, payer: &Payer, out: &mut Vec<Hyp>) -> bool {
        let l = ctx.amount;
        let (equal, claimed) = self.unclaimed(ctx.line, self.open_with_amount(payer.cust, cur, l, &[]));
        match equal.len() {
            0 => return false,
            1 => {
                let mut h = Hyp::new("amount_and_payer", payer.base_one);
                h.allocs.push(HAlloc::plain(equal[0], l));
                let which = self.instalments_paid(equal[0], l).map(|w| format!(" ({w})")).unwrap_or_default();
                h.note(format!("amount equal to open {}{which}; no reference quoted", self.doc_no(equal[0])));
                if !claimed.is_empty() {
                    let others: Vec<&str> = claimed.iter().map(|&i| self.doc_no(i)).collect();
                    h.note(format!(
                        "{} of the same amount is quoted by another line of this run, which pays it",
                        others.join(", ")
                    ));
                }
                out.push(payer.finish(h));
            }
            n => {
                for (rank, &e) in equal.iter().enumerate().take(MAX_PROPOSED_SETS) {
                    let mut h = Hyp::new("fifo_same_amount", if rank == 0 { payer.base_fifo } else { BASE_FIFO_LATER });
                    h.allocs.push(HAlloc::plain(e, l));
                    h.note(format!(
                        "amount equals {n} open items of the customer; {} is the {}",
                        self.doc_no(e),
                        if rank == 0 { "oldest (oldest first)" } else { "a later one" }
                    ));
                    if rank == 0 && self.another_line_of_amount(ctx, payer.cust) {
                        h.note(
                            "another line of this amount in the run may pay for the customer: which one pays which \
                             invoice is not known"
                                .to_string(),
                        );
                    }
                    out.push(payer.finish(h));
                }
            }
        }
        true
    }

    /// Open items of the payer the line pays short within the fee tolerance, or in another currency within the FX
    /// tolerance. Returns the smaller same-currency items, the candidates for a subset sum.
    fn near_amount_hyps(&self, ctx: &Ctx, cur: u16, payer: &Payer, out: &mut Vec<Hyp>) -> SubsetCands {
        let l = ctx.amount;
        let mut subset_cands = SubsetCands { items: Vec::new(), complete: true };
        let max_cands = if payer.habit {
            HABIT_SUBSET_CANDIDATES.max(self.settings.max_subset_candidates)
        } else {
            self.settings.max_subset_candidates
        };
        for &i in &self.cust_items[payer.cust as usize] {
            let it = &self.items[i as usize];
            let open = it.open_amount;
            if open <= Decimal::ZERO {
                continue;
            }
            let icur = self.meta[i as usize].cur;
            if icur == cur {
                if let Some(h) = self.rule_write_off_noref(ctx, i) {
                    out.push(payer.finish(h));
                } else if open > l && open - l <= self.tolerance(ctx, open, cur) {
                    let mut h = Hyp::new("short_payment_fee", BASE_NOREF_TOLERANCE);
                    h.allocs.push(HAlloc::plain(i, l));
                    h.write_offs.push((i, open - l, WriteOffReason::BankFee));
                    h.note(format!("short by {} against {}; no reference quoted", open - l, it.doc_no));
                    out.push(payer.finish(h));
                } else if open < l && it.issue_date <= ctx.line.booking_date {
                    // An invoice issued after the payment is not among what it pays without naming it.
                    if subset_cands.items.len() < max_cands {
                        subset_cands.items.push(i);
                    } else {
                        subset_cands.complete = false;
                    }
                }
            } else if let Some(rate) = self.fx.rate(&ctx.line.currency, &self.currencies[icur as usize]) {
                let diff = ((l * rate - open) / open).abs();
                if diff <= self.fx_tolerance(ctx) {
                    let doc_to_line = self.fx.rate(&self.currencies[icur as usize], &ctx.line.currency);
                    let mut h = Hyp::new("foreign_currency", BASE_NOREF_TOLERANCE);
                    h.allocs.push(HAlloc { item: i, amount: open, line_amount: l, fx_rate: doc_to_line });
                    h.note(format!("converted amount within {} of {}; no reference quoted", fmt_pct(diff), it.doc_no));
                    out.push(payer.finish(h));
                }
            }
        }
        subset_cands
    }

    /// Combinations of the payer's open items that add up to the line (bounded search; proposals unless the
    /// customer's habit of paying several invoices at once applies).
    fn subset_hyps(&self, ctx: &Ctx, cands: &SubsetCands, payer: &Payer, out: &mut Vec<Hyp>) {
        let subset_cands = &cands.items;
        if subset_cands.len() < 2 {
            return;
        }
        let values: Vec<i64> = subset_cands.iter().map(|&i| minor(self.items[i as usize].open_amount)).collect();
        let (sols, exhausted) = find_subsets(
            &values,
            minor(ctx.amount),
            2,
            self.settings.max_subset_size,
            MAX_PROPOSED_SETS,
            if payer.habit { HABIT_SUBSET_NODE_BUDGET } else { SUBSET_NODE_BUDGET },
        );
        let unique = sols.len() == 1 && !exhausted;
        // "The only combination" is known only when the search saw every open item that could be part of one.
        let base = match (unique, payer.habit && cands.complete) {
            (false, _) => BASE_SUBSET_AMBIGUOUS,
            (true, true) => BASE_SUBSET_HABIT,
            (true, false) => payer.base_subset,
        };
        for s in sols {
            let mut h = Hyp::new("subset_sum", base);
            for k in &s {
                let i = subset_cands[*k];
                h.allocs.push(HAlloc::plain(i, self.items[i as usize].open_amount));
            }
            h.note(format!(
                "{} open items of the customer add up to the amount{}",
                s.len(),
                if unique { "" } else { " (several combinations do)" }
            ));
            out.push(payer.finish(h));
        }
    }
}
