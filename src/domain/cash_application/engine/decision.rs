//! The decision: rank the hypotheses, drop repeated document sets, then apply the best one automatically, propose
//! the best sets for review, or leave the line with the reason; and render evidence for what is shown.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::{Decision, LineInput, LineOutcome, ProposedAllocation, WriteOff};
use super::build::amount_key;
use super::confidence::AMBIGUITY_MARGIN;
use super::hypothesis::{rule_text, Ctx, Ev, Hit, Hyp};
use super::rules::{rule_label, RULE_FIELD};
use super::{Engine, MAX_PROPOSED_SETS, NO_CUSTOMER};

const FIELD_NAMES: [&str; 3] = ["remittance", "creditor reference", "end-to-end id"];

impl Engine {
    /// Ranks hypotheses, decides, applies if automatic, and renders the outcome.
    pub(super) fn decide(&mut self, ctx: &Ctx, mut hyps: Vec<Hyp>, dups: &[u32]) -> LineOutcome {
        let line = ctx.line;
        // A candidate a rule excluded still counts as a rival: restricting never makes a line certain.
        let excluded = self.restrict_hyps(ctx, &mut hyps);
        self.mark_rule_hyps(ctx, &mut hyps);
        hyps.sort_by(|a, b| b.conf.partial_cmp(&a.conf).unwrap_or(Ordering::Equal));
        drop_repeated_sets(&mut hyps);
        if hyps.is_empty() {
            return unmatched(line, self.unmatched_reason(ctx, dups, excluded.is_some()));
        }
        let best_items = if hyps.len() > 1 { hyps[0].items() } else { Vec::new() };
        let rival = hyps[1..].iter().find(|h| !h.allocs.iter().all(|a| best_items.contains(&a.item)));
        let ambiguous = rival.is_some_and(|r| r.conf > hyps[0].conf - AMBIGUITY_MARGIN);
        let excluded_rival = excluded.is_some_and(|c| c > hyps[0].conf - AMBIGUITY_MARGIN);
        // A tenant's rule may forbid applying the line without a person.
        let auto =
            hyps[0].conf >= self.threshold() && !ambiguous && !excluded_rival && ctx.rules.propose_only.is_none();
        if auto {
            let best = hyps.swap_remove(0);
            return self.apply(ctx, best);
        }
        // Proposal: best set first, then distinct alternatives.
        let mut allocations = Vec::new();
        let mut write_offs = Vec::new();
        for (set, h) in hyps.iter().take(MAX_PROPOSED_SETS).enumerate() {
            self.render(ctx, set as u32, h, &mut allocations, &mut write_offs);
        }
        let best = &hyps[0];
        let why = match (rival.filter(|_| ambiguous), &ctx.rules.propose_only) {
            (Some(r), _) => format!("an alternative ({}) is about as likely", self.docs_of(r)),
            (None, _) if excluded_rival => {
                "a candidate the rule excluded was about as likely, so the rule alone does not decide".to_string()
            }
            (None, Some(r)) if best.conf >= self.threshold() => format!("{} says to propose only", rule_label(r)),
            (None, _) => {
                format!("confidence {:.2} is below the auto-apply threshold {:.2}", best.conf, self.threshold())
            }
        };
        let dup_note = dups
            .first()
            .map(|&d| format!(" Note: {} is already settled (possible duplicate payment).", self.doc_no(d)))
            .unwrap_or_default();
        LineOutcome {
            line_id: line.id,
            decision: Decision::Proposed,
            allocations,
            write_offs,
            unapplied_remainder: line.amount,
            explanation: format!(
                "Proposed {} by {}{} for review: {}.{dup_note}",
                self.docs_of(best),
                rule_text(best.rule),
                under_rule(best),
                why
            ),
            matching_rule: None,
        }
    }

    /// Why no hypothesis is left: a duplicate payment, an unknown payer, a currency we hold nothing in, or a known
    /// payer with nothing that fits.
    fn unmatched_reason(&self, ctx: &Ctx, dups: &[u32], excluded: bool) -> String {
        let why = self.unmatched_why(ctx, dups, excluded);
        if ctx.rx.misses.is_empty() {
            why
        } else {
            why + &self.rule_misses(ctx)
        }
    }

    fn unmatched_why(&self, ctx: &Ctx, dups: &[u32], excluded: bool) -> String {
        if let (true, Some((r, _))) = (excluded, ctx.rules.restrict.first()) {
            return format!("Left unmatched: {} excludes every candidate found.", rule_label(r));
        }
        if let Some(&d) = dups.first() {
            let it = &self.items[d as usize];
            format!(
                "Left unmatched: {} was already settled{}; this looks like a duplicate payment of {} {}.",
                it.doc_no,
                self.settled_by[d as usize].map(|l| format!(" by line {l}")).unwrap_or_default(),
                it.amount,
                it.currency
            )
        } else if ctx.iban_custs.is_empty() && ctx.cur.is_some() {
            "Left unmatched: no known reference and the payer is not a known customer.".to_string()
        } else if ctx.cur.is_none() {
            format!("Left unmatched: no open items in {}.", ctx.line.currency)
        } else {
            "Left unmatched: the payer is known but no open item or combination fits the amount.".to_string()
        }
    }

    fn docs_of(&self, h: &Hyp) -> String {
        let mut s = String::with_capacity(20 * h.allocs.len());
        for (k, a) in h.allocs.iter().enumerate() {
            if k > 0 {
                s.push_str(", ");
            }
            s.push_str(self.doc_no(a.item));
        }
        s
    }

    fn ref_evidence(&self, line: &LineInput, h: &Hit) -> String {
        let text = [&line.remittance, &line.creditor_reference, &line.end_to_end_id][h.field].as_deref().unwrap_or("");
        let found_as = text.get(h.span.clone()).unwrap_or("");
        let how = h.strength.qualifier();
        text!(
            96,
            "reference {} found as '{}' in {}{how}",
            self.items[h.item as usize].doc_no,
            found_as,
            FIELD_NAMES[h.field]
        )
    }

    /// Renders one hypothesis as allocations (and write-offs) of candidate set `set`, with its evidence.
    fn render(
        &self,
        ctx: &Ctx,
        set: u32,
        h: &Hyp,
        allocations: &mut Vec<ProposedAllocation>,
        write_offs: &mut Vec<WriteOff>,
    ) {
        let mut evidence: Vec<String> = h
            .evidence
            .iter()
            .filter_map(|e| match e {
                Ev::Ref(hit) if hit.field >= RULE_FIELD => None, // a rule's capture: rule evidence
                Ev::Ref(hit) => Some(self.ref_evidence(ctx.line, hit)),
                Ev::AmountEqual => Some("amount equal".to_string()),
                Ev::Text(t) => Some(t.clone()),
            })
            .collect();
        let mut rule_evidence = self.rule_evidence(ctx, h);
        // A payer a rule named is told in the rule evidence (the IBAN sentence would be wrong).
        let payer = h.payer.filter(|&(_, fit)| !self.payer_named_by_rule(ctx, fit));
        if let Some(e) = payer.and_then(|(c, fit)| self.payer_evidence(ctx, c, fit)) {
            evidence.push(e);
        }
        let learned = self.learned_evidence(ctx, h);
        for (k, a) in h.allocs.iter().enumerate() {
            let it = &self.items[a.item as usize];
            let last = k + 1 == h.allocs.len();
            let evidence = if last { std::mem::take(&mut evidence) } else { evidence.clone() };
            let rule_evidence = if last { std::mem::take(&mut rule_evidence) } else { rule_evidence.clone() };
            allocations.push(ProposedAllocation {
                set,
                document_id: it.id,
                doc_no: it.doc_no.to_string(),
                amount: a.amount,
                line_amount: a.line_amount,
                confidence: h.conf,
                rule: h.rule,
                evidence,
                matching_rule: h.by_rule.clone(),
                rule_evidence,
                learned_evidence: learned.clone(),
                fx_rate: a.fx_rate,
            });
        }
        for &(i, amount, reason) in &h.write_offs {
            let item = &self.items[i as usize];
            write_offs.push(WriteOff {
                set,
                document_id: item.id,
                amount,
                reason,
                currency: item.currency.to_string(),
            });
        }
    }

    /// Applies a hypothesis to the open book and renders the AutoApplied outcome.
    fn apply(&mut self, ctx: &Ctx, h: Hyp) -> LineOutcome {
        let line = ctx.line;
        let mut allocations = Vec::with_capacity(h.allocs.len());
        let mut write_offs = Vec::new();
        self.render(ctx, 0, &h, &mut allocations, &mut write_offs);
        for a in &h.allocs {
            self.reduce_open(a.item, a.amount.abs(), line.id);
        }
        for &(i, by, _) in &h.write_offs {
            self.reduce_open(i, by, line.id);
        }
        let used: Decimal = h.allocs.iter().map(|a| a.line_amount).sum();
        let remainder = line.amount - used;
        let cur = &line.currency;
        let rest =
            if remainder > Decimal::ZERO { format!("; {remainder} {cur} stays on the line") } else { String::new() };
        let offs = if h.write_offs.is_empty() {
            String::new()
        } else {
            let v: Vec<String> =
                h.write_offs.iter().map(|(_, a, r)| format!("{a} {}", r.as_str().replace('_', " "))).collect();
            format!(", writing off {}", v.join(", "))
        };
        LineOutcome {
            line_id: line.id,
            decision: Decision::AutoApplied,
            explanation: text!(
                160,
                "Applied {} {cur} to {} by {}{} (confidence {:.2}){offs}{rest}.",
                used,
                self.docs_of(&h),
                rule_text(h.rule),
                under_rule(&h),
                h.conf
            ),
            allocations,
            write_offs,
            unapplied_remainder: remainder,
            matching_rule: None,
        }
    }

    fn reduce_open(&mut self, i: u32, by: Decimal, line_id: Uuid) {
        let idx = i as usize;
        let old = self.items[idx].open_amount;
        let new = (old - by).max(Decimal::ZERO);
        let cust = self.meta[idx].cust;
        let cur = self.meta[idx].cur;
        let indexed = cust != NO_CUSTOMER && self.items[idx].kind.is_debit();
        // The entry under the old amount is left in place: every lookup re-checks the current open amount, and
        // removing it would cost a random access into a large table for every applied allocation.
        self.items[idx].open_amount = new;
        if indexed && new > Decimal::ZERO {
            self.amounts.insert(amount_key(cust, cur, new), i);
            if let Some(next) = self.next_instalment(i) {
                self.amounts.insert(amount_key(cust, cur, next), i);
            }
        }
        if new == Decimal::ZERO {
            self.settled_by[idx] = Some(line_id);
        }
    }
}

/// Same document set twice (e.g. a reference rule and the amount rule agree): keeps the stronger one (the list
/// is sorted strongest first).
fn drop_repeated_sets(hyps: &mut Vec<Hyp>) {
    let hyps_len = hyps.len();
    let mut seen: Vec<Vec<u32>> = Vec::new();
    hyps.retain(|h| {
        if h.allocs.len() == 1 && !seen.iter().any(|s| s.len() == 1 && s[0] == h.allocs[0].item) {
            if hyps_len > 1 {
                seen.push(vec![h.allocs[0].item]);
            }
            return true;
        }
        let k = h.items();
        if seen.contains(&k) {
            false
        } else {
            seen.push(k);
            true
        }
    });
}

pub(super) fn unmatched(line: &LineInput, explanation: String) -> LineOutcome {
    LineOutcome {
        line_id: line.id,
        decision: Decision::Unmatched,
        allocations: Vec::new(),
        write_offs: Vec::new(),
        unapplied_remainder: line.amount,
        explanation,
        matching_rule: None,
    }
}

/// ` under rule 'X' v2` when a tenant's rule shaped the set.
fn under_rule(h: &Hyp) -> String {
    h.by_rule.as_ref().map(|r| format!(" under {}", rule_label(r))).unwrap_or_default()
}
