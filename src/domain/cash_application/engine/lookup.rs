//! Finding candidates: the documents a line quotes (through the reference index, verified against the document
//! number because the index stores hashes) and the open items of a customer with a given amount.

use rust_decimal::Decimal;

use super::super::references::verify_key;
use super::super::LineInput;
use super::build::{amount_key, oldest_first, ref_key};
use super::hypothesis::{Ctx, Hit};
use super::{Engine, NO_CUSTOMER};
use crate::domain::instalments::{describe, next_open, settled_by};

impl Engine {
    /// Looks every probe of the line's texts up in the reference index and verifies the hit against the document
    /// (the index stores hashes). Keeps the strongest reading per document.
    pub(super) fn collect_hits(&mut self, line: &LineInput) -> Vec<Hit> {
        let mut sc = std::mem::take(&mut self.scanner);
        sc.clear();
        for (f, text) in [&line.remittance, &line.creditor_reference, &line.end_to_end_id].into_iter().enumerate() {
            if let Some(t) = text.as_deref() {
                sc.scan(f, t);
            }
        }
        let mut hits: Vec<Hit> = Vec::new();
        let mut buf = std::mem::take(&mut self.scratch);
        for p in &sc.probes {
            let key = sc.key(&p.key);
            for &it in self.refs.get(ref_key(p.kind, key)) {
                let Some(strength) = verify_key(&self.items[it as usize].doc_no, p.kind, key, p.rf, &mut buf) else {
                    continue; // hash collision
                };
                if hits.iter().any(|h| h.item == it && h.strength >= strength) {
                    continue;
                }
                let hit = Hit { item: it, strength, field: p.field, span: p.span.clone() };
                match hits.iter_mut().find(|h| h.item == it) {
                    Some(h) => *h = hit,
                    None => hits.push(hit),
                }
            }
        }
        // Hints are read by the rules through self.scanner.hints.
        self.scanner = sc;
        self.scratch = buf;
        hits
    }

    /// Open debit items of `cust` in `cur` whose open amount is exactly `amount`, oldest first, minus `exclude`.
    pub(super) fn open_with_amount(&self, cust: u32, cur: u16, amount: Decimal, exclude: &[u32]) -> Vec<u32> {
        if cust == NO_CUSTOMER {
            return Vec::new();
        }
        let mut v: Vec<u32> = self
            .amounts
            .get(amount_key(cust, cur, amount))
            .iter()
            .copied()
            .filter(|&i| {
                let it = &self.items[i as usize];
                self.meta[i as usize].cust == cust
                    && self.meta[i as usize].cur == cur
                    && (it.open_amount == amount || self.next_instalment(i) == Some(amount))
                    && !exclude.contains(&i)
            })
            .collect();
        v.sort_by(|&a, &b| oldest_first(&self.items[a as usize], &self.items[b as usize]));
        v
    }

    /// Shortfall accepted as a bank fee on `open` in currency `cur`: the smaller of the relative and the absolute
    /// tolerance (a tenant's rule may set them for the line).
    pub(super) fn tolerance(&self, ctx: &Ctx, open: Decimal, cur: u16) -> Decimal {
        match &ctx.rules.tolerance {
            Some((_, t)) => self.rule_tolerance(t, open, cur),
            None => (open * self.settings.tolerance_percent).min(self.abs_tolerance[cur as usize]),
        }
    }

    /// What is open of the item's next instalment, when it has a plan and that is less than all
    /// that is open.
    pub(super) fn next_instalment(&self, i: u32) -> Option<Decimal> {
        let it = &self.items[i as usize];
        next_open(&it.instalments, it.amount, it.open_amount)
    }

    /// The instalments of item `i` a payment of exactly `pay` settles, in words (`None`: it pays
    /// no whole instalments, or the item has no plan).
    pub(super) fn instalments_paid(&self, i: u32, pay: Decimal) -> Option<String> {
        let it = &self.items[i as usize];
        let (first, last) = settled_by(&it.instalments, it.amount, it.open_amount, pay)?;
        Some(describe(&it.instalments, first, last))
    }

    pub(super) fn doc_no(&self, i: u32) -> &str {
        &self.items[i as usize].doc_no
    }
}
