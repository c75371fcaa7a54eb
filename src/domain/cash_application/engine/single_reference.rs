//! Rules that explain a line by one quoted document: exact amount, fee, discount, part payment, overpayment (or
//! a second, unquoted document filling the excess), foreign currency. Settled documents quoted with their
//! original amount are noted as possible duplicates.

use rust_decimal::Decimal;

use super::super::references::RefStrength;
use super::super::{OpenItem, WriteOffReason};
use super::confidence::{
    strength_penalty, BASE_COMBINED_FILLED, BASE_DISCOUNT_STATED, BASE_DISCOUNT_UNSTATED, BASE_FEE,
    BASE_FILL_AMBIGUOUS, BASE_FX, BASE_FX_OUTSIDE, BASE_INSTALMENT_EXACT, BASE_OVERPAYMENT, BASE_PARTIAL_STATED,
    BASE_PARTIAL_UNSTATED, BASE_REFERENCE_EXACT, BASE_SUBSET_AMBIGUOUS,
};
use super::hypothesis::{fmt_pct, Ctx, Ev, HAlloc, Hit, Hyp};
use super::Engine;

impl Engine {
    /// All readings of the line as a payment of the one document `hit` quotes.
    /// `quoted_debits` is how many debit documents the line quotes: when it quotes several, reading it as a part
    /// payment or an overpayment of just one of them is implausible, so those readings are demoted.
    pub(super) fn single_hyps(
        &self,
        ctx: &mut Ctx,
        hit: &Hit,
        quoted_debits: usize,
        out: &mut Vec<Hyp>,
        dups: &mut Vec<u32>,
    ) {
        let i = hit.item as usize;
        let it = &self.items[i];
        if !it.kind.is_debit() {
            return; // credits are only netted in combined payments
        }
        let weak = hit.strength < RefStrength::Degraded;
        if ctx.cur != Some(self.meta[i].cur) {
            if !weak {
                self.foreign_currency_hyp(ctx, hit, out, dups);
            }
            return;
        }
        let l = ctx.amount;
        let open = it.open_amount;
        if open == Decimal::ZERO {
            if l == it.amount && (!weak || hit.strength == RefStrength::BareNumber) {
                dups.push(hit.item);
            }
            return;
        }
        if l == open {
            let mut h = Hyp::new("reference_exact_amount", BASE_REFERENCE_EXACT - strength_penalty(hit.strength));
            h.allocs.push(HAlloc::plain(hit.item, open));
            h.evidence.push(Ev::Ref(hit.clone()));
            h.evidence.push(Ev::AmountEqual);
            out.push(self.with_payer(ctx, self.meta[i].cust, h));
            return;
        }
        if let Some(which) = self.instalments_paid(hit.item, l) {
            let mut h = Hyp::new("instalment_exact_amount", BASE_INSTALMENT_EXACT - strength_penalty(hit.strength));
            h.allocs.push(HAlloc::plain(hit.item, l));
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!("amount equal to open {which}"));
            out.push(self.with_payer(ctx, self.meta[i].cust, h));
            return;
        }
        if weak {
            return; // a bare running number is only trusted together with the exact amount
        }
        if l < open {
            self.short_payment_hyps(ctx, hit, quoted_debits > 1, out);
        } else {
            self.excess_hyps(ctx, hit, quoted_debits > 1, out);
        }
    }

    /// The quoted document is in another currency: converted at the known rate, within the FX tolerance or not.
    fn foreign_currency_hyp(&self, ctx: &mut Ctx, hit: &Hit, out: &mut Vec<Hyp>, dups: &mut Vec<u32>) {
        let i = hit.item as usize;
        let it = &self.items[i];
        let l = ctx.amount;
        let open = it.open_amount;
        let doc_cur = &self.currencies[self.meta[i].cur as usize];
        let Some(rate) = self.fx.rate(&ctx.line.currency, doc_cur) else { return };
        let converted = l * rate;
        let base = if open > Decimal::ZERO { open } else { it.amount };
        if base <= Decimal::ZERO {
            return;
        }
        let diff = ((converted - base) / base).abs();
        let fx_tolerance = self.fx_tolerance(ctx);
        let inside = diff <= fx_tolerance;
        if open == Decimal::ZERO {
            if inside {
                dups.push(hit.item);
            }
            return;
        }
        let doc_to_line = self.fx.rate(doc_cur, &ctx.line.currency);
        let pen = strength_penalty(hit.strength);
        let mut h = Hyp::new("foreign_currency", if inside { BASE_FX } else { BASE_FX_OUTSIDE } - pen);
        h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: l, fx_rate: doc_to_line });
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!(
            "FX {}->{} {}, difference {} {} {}",
            doc_cur,
            ctx.line.currency,
            doc_to_line.map_or("?".to_string(), |r| r.round_dp(6).normalize().to_string()),
            fmt_pct(diff),
            if inside { "within" } else { "outside" },
            fmt_pct(fx_tolerance)
        ));
        out.push(self.with_payer(ctx, self.meta[i].cust, h));
    }

    /// The line pays less than the quoted document: a discount, a bank fee, or a part payment.
    fn short_payment_hyps(&self, ctx: &mut Ctx, hit: &Hit, one_of_many: bool, out: &mut Vec<Hyp>) {
        let i = hit.item as usize;
        let (cust, cur) = (self.meta[i].cust, self.meta[i].cur);
        let l = ctx.amount;
        let open = self.items[i].open_amount;
        let short = open - l;
        let pen = strength_penalty(hit.strength);
        if self.rule_write_off_hyp(ctx, hit, short, out) || self.discount_hyp(ctx, hit, short, out) {
            return;
        }
        let tol = self.tolerance(ctx, open, cur);
        if short <= tol {
            let mut h = Hyp::new("short_payment_fee", BASE_FEE - pen);
            h.allocs.push(HAlloc::plain(hit.item, l));
            h.write_offs.push((hit.item, short, WriteOffReason::BankFee));
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!("short by {short}, within tolerance {}", tol.round_dp(2)));
            out.push(self.with_payer(ctx, cust, h));
            return;
        }
        let hints = self.scanner.hints;
        let base = if hints.partial { BASE_PARTIAL_STATED } else { BASE_PARTIAL_UNSTATED };
        // Paying 90%+ without saying so looks more like a dispute or an unknown deduction than an instalment.
        let odd = !hints.partial && l * Decimal::TEN > open * Decimal::new(9, 0);
        let base = if one_of_many { BASE_SUBSET_AMBIGUOUS } else { base };
        let mut h = Hyp::new("partial_payment", base - pen - if odd { 0.1 } else { 0.0 });
        h.allocs.push(HAlloc::plain(hit.item, l));
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!(
            "pays {l} of {open} open{}",
            if hints.partial { ", part payment stated in remittance" } else { "" }
        ));
        out.push(self.with_payer(ctx, cust, h));
    }

    /// Pushes the early-payment-discount reading of a shortfall when it is one; returns whether the remittance
    /// states a discount (then no other reading of the shortfall is offered).
    fn discount_hyp(&self, ctx: &mut Ctx, hit: &Hit, short: Decimal, out: &mut Vec<Hyp>) -> bool {
        let it = &self.items[hit.item as usize];
        let Some((pct, exact_pct)) = self.discount_reading(it, short) else { return false };
        let stated = self.scanner.hints.discount;
        if !stated && !exact_pct {
            return false;
        }
        let l = ctx.amount;
        let base = if stated && exact_pct { BASE_DISCOUNT_STATED } else { BASE_DISCOUNT_UNSTATED };
        let mut h = Hyp::new("early_payment_discount", base - strength_penalty(hit.strength));
        h.allocs.push(HAlloc::plain(hit.item, l));
        h.write_offs.push((hit.item, short, WriteOffReason::Discount));
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!(
            "short by {short} = {}{} of {}{}",
            fmt_pct(pct),
            if exact_pct { "" } else { " (approx.)" },
            it.amount,
            if stated { ", discount stated in remittance" } else { "" }
        ));
        out.push(self.with_payer(ctx, self.meta[hit.item as usize].cust, h));
        stated
    }

    /// Whether `short` reads as a cash discount on `it`: returns the percentage and whether it is an exact whole or
    /// half percent (0.5%..5%) of the original amount, to the currency's minor unit.
    fn discount_reading(&self, it: &OpenItem, short: Decimal) -> Option<(Decimal, bool)> {
        if it.open_amount != it.amount || it.amount <= Decimal::ZERO {
            return None; // a discount is taken on a full, untouched invoice
        }
        let pct = short / it.amount;
        if pct > Decimal::new(5, 2) {
            return None;
        }
        let unit = Decimal::new(1, it.amount.scale());
        let exact = (1..=10).any(|half| {
            let p = Decimal::new(half * 5, 3);
            (it.amount * p - short).abs() <= unit
        });
        Some((pct, exact))
    }

    /// The line pays more than the quoted document: an unquoted second document may explain the excess;
    /// otherwise it is an overpayment.
    fn excess_hyps(&self, ctx: &mut Ctx, hit: &Hit, one_of_many: bool, out: &mut Vec<Hyp>) {
        let i = hit.item as usize;
        let (cust, cur) = (self.meta[i].cust, self.meta[i].cur);
        let l = ctx.amount;
        let open = self.items[i].open_amount;
        let pen = strength_penalty(hit.strength);
        let extra = l - open;
        let fill = if one_of_many { Vec::new() } else { self.open_with_amount(cust, cur, extra, &[hit.item]) };
        if !fill.is_empty() {
            let base = if fill.len() == 1 { BASE_COMBINED_FILLED } else { BASE_FILL_AMBIGUOUS } - pen;
            let f = fill[0];
            let mut h = Hyp::new("combined_references", base);
            h.allocs.push(HAlloc::plain(hit.item, open));
            h.allocs.push(HAlloc::plain(f, extra));
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!(
                "remaining {extra} equals open {} of the same customer{}",
                self.items[f as usize].doc_no,
                if fill.len() > 1 {
                    format!(" (one of {} equal items, oldest taken)", fill.len())
                } else {
                    String::new()
                }
            ));
            out.push(self.with_payer(ctx, cust, h));
        }
        let base = if fill.is_empty() && !one_of_many { BASE_OVERPAYMENT } else { BASE_SUBSET_AMBIGUOUS };
        let mut h = Hyp::new("overpayment", base - pen);
        h.allocs.push(HAlloc::plain(hit.item, open));
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!("pays {l} for {open} open; {extra} stays on the line"));
        out.push(self.with_payer(ctx, cust, h));
    }
}
