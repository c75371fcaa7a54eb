//! Several quoted documents paid together: all of them (credit notes netted), a subset when the payer paid fewer
//! than quoted, or all of them plus one unquoted document of the same customer equal to the rest.

use rust_decimal::Decimal;

use super::super::references::RefStrength;
use super::super::subset::signed_subsets;
use super::build::minor;
use super::confidence::{
    strength_penalty, BASE_COMBINED, BASE_COMBINED_FILLED, BASE_COMBINED_PARTLY_PAID, BASE_FILL_AMBIGUOUS,
    BASE_SUBSET_AMBIGUOUS, BASE_SUBSET_IBAN,
};
use super::hypothesis::{Ctx, Ev, HAlloc, Hit, Hyp};
use super::{Engine, MAX_PROPOSED_SETS, NO_CUSTOMER};

/// The quoted documents that can be paid together, with what they share.
struct Group<'h> {
    cands: Vec<&'h Hit>,
    /// Their customer when all share one, else [`NO_CUSTOMER`].
    one_cust: u32,
    /// Documents of several customers in one payment are less likely (and need a look).
    mixed_penalty: f64,
    min_strength: RefStrength,
}

impl Engine {
    /// Open amount of a document as it counts in a payment: debits positive, credits negative.
    fn signed_open(&self, h: &Hit) -> Decimal {
        let it = &self.items[h.item as usize];
        if it.kind.is_debit() {
            it.open_amount
        } else {
            -it.open_amount
        }
    }

    /// A hypothesis allocating the documents `idx` of `g` with their signed open amounts.
    fn group_hyp(&self, g: &Group, idx: &[usize], rule: &'static str, base: f64) -> Hyp {
        let mut h = Hyp::new(rule, base);
        for &k in idx {
            h.allocs.push(HAlloc::plain(g.cands[k].item, self.signed_open(g.cands[k])));
            h.evidence.push(Ev::Ref(g.cands[k].clone()));
        }
        h
    }

    pub(super) fn combined_hyps(&self, ctx: &mut Ctx, strong: &[&Hit], out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let cands: Vec<&Hit> = strong
            .iter()
            .copied()
            .filter(|h| {
                let i = h.item as usize;
                self.meta[i].cur == cur && self.items[i].open_amount > Decimal::ZERO
            })
            .take(16)
            .collect();
        if cands.len() < 2 {
            return;
        }
        let mut custs: Vec<u32> = cands.iter().map(|h| self.meta[h.item as usize].cust).collect();
        custs.sort_unstable();
        custs.dedup();
        let g = Group {
            min_strength: cands.iter().map(|h| h.strength).min().unwrap_or(RefStrength::Exact),
            one_cust: if custs.len() == 1 { custs[0] } else { NO_CUSTOMER },
            mixed_penalty: if custs.len() == 1 { 0.0 } else { 0.2 },
            cands,
        };
        let values: Vec<i64> = g.cands.iter().map(|h| minor(self.signed_open(h))).collect();
        let target = minor(ctx.amount);
        let total: i64 = values.iter().sum();
        let all: Vec<usize> = (0..g.cands.len()).collect();
        if total == target {
            let base = BASE_COMBINED - strength_penalty(g.min_strength) - g.mixed_penalty;
            let mut h = self.group_hyp(&g, &all, "combined_references", base);
            h.note(format!("{} documents add up to the amount", g.cands.len()));
            out.push(self.with_payer(ctx, g.one_cust, h));
        } else if total < target {
            if !self.filled_group_hyp(ctx, &g, cur, out) {
                self.overpaid_group_hyp(ctx, &g, out);
            }
        } else {
            // The payer paid only some of the quoted documents.
            let sols = signed_subsets(&values, target, 2, MAX_PROPOSED_SETS);
            let unique = sols.len() == 1;
            for s in sols {
                let base = if unique { BASE_COMBINED_PARTLY_PAID } else { BASE_SUBSET_AMBIGUOUS };
                let mut h = self.group_hyp(&g, &s, "combined_references", base - g.mixed_penalty);
                h.note(format!("{} of {} quoted documents add up to the amount", s.len(), g.cands.len()));
                out.push(self.with_payer(ctx, g.one_cust, h));
            }
        }
    }

    /// All quoted documents plus one unquoted open item of the same customer equal to the rest; returns whether
    /// one was found.
    fn filled_group_hyp(&self, ctx: &mut Ctx, g: &Group, cur: u16, out: &mut Vec<Hyp>) -> bool {
        if g.one_cust == NO_CUSTOMER {
            return false;
        }
        let rest = ctx.amount - g.cands.iter().map(|h| self.signed_open(h)).sum::<Decimal>();
        let exclude: Vec<u32> = g.cands.iter().map(|h| h.item).collect();
        let fill = self.open_with_amount(g.one_cust, cur, rest, &exclude);
        if fill.is_empty() {
            return false;
        }
        let all: Vec<usize> = (0..g.cands.len()).collect();
        let base = if fill.len() == 1 { BASE_COMBINED_FILLED } else { BASE_FILL_AMBIGUOUS };
        let mut h = self.group_hyp(g, &all, "combined_references", base - strength_penalty(g.min_strength));
        let f = fill[0];
        h.allocs.push(HAlloc::plain(f, rest));
        h.note(format!(
            "remaining {rest} equals open {} of the same customer (not quoted){}",
            self.items[f as usize].doc_no,
            if fill.len() > 1 { format!("; one of {} equal items, oldest taken", fill.len()) } else { String::new() }
        ));
        out.push(self.with_payer(ctx, g.one_cust, h));
        true
    }

    /// Everything quoted is paid and something is left: an overpayment of the group (only proposed: the excess
    /// may well pay an unquoted document nobody could identify).
    fn overpaid_group_hyp(&self, ctx: &mut Ctx, g: &Group, out: &mut Vec<Hyp>) {
        let all: Vec<usize> = (0..g.cands.len()).collect();
        let mut h = self.group_hyp(g, &all, "overpayment", BASE_SUBSET_IBAN - g.mixed_penalty);
        h.note(format!(
            "{} quoted documents total less than the amount; {} would stay on the line",
            g.cands.len(),
            ctx.amount - g.cands.iter().map(|h| self.signed_open(h)).sum::<Decimal>()
        ));
        out.push(self.with_payer(ctx, g.one_cust, h));
    }
}
