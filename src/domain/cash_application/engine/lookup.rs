//! Finding candidates: the documents a line quotes (through the reference index, verified against the document
//! number because the index stores hashes) and the open items of a customer with a given amount.

use rust_decimal::Decimal;

use super::super::references::{verify_key, RefStrength};
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
        if !self.rule_ix.external.is_empty() {
            self.customer_reference_hits(line, &mut hits);
        }
        if self.has_learned_formats() {
            self.learned_format_hits(line, &mut hits);
        }
        hits
    }

    /// Documents whose own reference (the customer's purchase-order or contract number) the line quotes, where
    /// no stronger reading of our number found them.
    fn customer_reference_hits(&self, line: &LineInput, hits: &mut Vec<Hit>) {
        for (f, text) in [&line.remittance, &line.creditor_reference, &line.end_to_end_id].into_iter().enumerate() {
            let Some(text) = text.as_deref() else { continue };
            for (span, key) in customer_reference_probes(text) {
                for &it in self.rule_ix.external.get(&key).map_or(&[][..], |v| v.as_slice()) {
                    if !hits.iter().any(|h| h.item == it) {
                        hits.push(Hit {
                            item: it,
                            strength: RefStrength::CustomerReference,
                            field: f,
                            span: span.clone(),
                        });
                    }
                }
            }
        }
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

/// Shortest customer reference read from a text: shorter ones are dates, amounts and house numbers as often.
const MIN_CUSTOMER_REFERENCE: usize = 5;

/// The pieces of a text that may be a customer's own reference, with where they stand: each run of ASCII letters
/// and digits, each run joined with its inner `-` `/` `.` `_` separators (`PO-4500012345`), and each two neighbouring
/// runs together (`PO 4500012345`), in the comparison form (upper case, letters and digits only); at least
/// [`MIN_CUSTOMER_REFERENCE`] characters with a digit among them.
fn customer_reference_probes(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let bytes = text.as_bytes();
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    let mut out: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut push = |span: std::ops::Range<usize>| {
        let key: String = text[span.clone()]
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_uppercase()))
            .collect();
        if key.len() >= MIN_CUSTOMER_REFERENCE
            && key.bytes().any(|b| b.is_ascii_digit())
            && !out.iter().any(|(_, k)| *k == key)
        {
            out.push((span, key));
        }
    };
    let joined = |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| {
        let gap = &bytes[a.end..b.start];
        !gap.is_empty() && gap.len() <= 2 && gap.iter().all(|c| b"-/._".contains(c))
    };
    let mut token_start = 0;
    for (k, r) in runs.iter().enumerate() {
        push(r.clone());
        if let Some(next) = runs.get(k + 1) {
            // Two neighbouring words: `PO 4500012345`.
            if &bytes[r.end..next.start] == b" " {
                push(r.start..next.end);
            }
        }
        // The whole token the run ends, its inner separators included: `KTR-2026/0042`.
        if runs.get(k + 1).is_none_or(|next| !joined(r, next)) {
            if token_start < k {
                push(runs[token_start].start..r.end);
            }
            token_start = k + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::customer_reference_probes;

    #[test]
    fn customer_references_are_read_alone_joined_and_with_their_neighbour() {
        let keys = |t: &str| {
            let mut k: Vec<String> = customer_reference_probes(t).into_iter().map(|(_, k)| k).collect();
            k.sort();
            k
        };
        assert_eq!(keys("PO 4500012345"), vec!["4500012345", "PO4500012345"]);
        assert_eq!(keys("采购订单4500012345"), vec!["4500012345"]);
        assert_eq!(keys("KTR-2026/0042 ok"), vec!["0042OK", "KTR20260042"]);
        assert!(keys("Rg 12 34, Zahlung").is_empty());
    }
}
