//! One-to-one pairing, strongest evidence first. A reference that names an item pairs it even
//! when the amounts disagree (that is one `amount_mismatch`, not a missing pair); a weak
//! reference (running number only, swapped digits) pairs only where the amounts agree or
//! differ by a typing error; without any reference, equal amounts and close dates pair, and last
//! of all a unique pair of close dates whose amounts differ by a typing error.

use super::evidence::{Evidence, How};
use super::explain::{self, typo};
use super::{compatible, normalise_ref, signed, MatchRule, OurItem, Pairing, TheirItem};
use crate::domain::document::DocType;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

/// Subset-sum nodes one comparison may spend on groups: a pathological statement must not stall.
const GROUP_BUDGET: usize = 400_000;

/// The comparison while it is being made.
pub struct State<'a> {
    pub ours: &'a [OurItem],
    pub theirs: &'a [TheirItem],
    /// Per line of theirs, the items of ours it names.
    pub evidence: Vec<Vec<Evidence>>,
    /// The pairing (index into `pairs`) of each item and line, once paired.
    pub our_pair: Vec<Option<usize>>,
    pub their_pair: Vec<Option<usize>>,
    pub pairs: Vec<Pairing>,
    pub tolerance: i64,
    /// How far apart dates may be where no reference ties the two sides.
    pub window: i64,
    /// Subset-sum nodes left.
    pub budget: usize,
    /// Lines that repeat a paired line (same kind, amount and reference): duplicates, kept out
    /// of the passes that pair by weaker evidence.
    pub repeats: Vec<bool>,
}

/// Items of one side grouped by a key (direction and currency, perhaps amount) and sorted by
/// date, for window searches that never scan a whole side.
pub struct ByDate<K> {
    lists: HashMap<K, Vec<(NaiveDate, usize)>>,
}

impl<K: std::hash::Hash + Eq> ByDate<K> {
    pub fn new(items: impl Iterator<Item = (K, NaiveDate, usize)>) -> ByDate<K> {
        let mut lists: HashMap<K, Vec<(NaiveDate, usize)>> = HashMap::new();
        for (key, date, i) in items {
            lists.entry(key).or_default().push((date, i));
        }
        for l in lists.values_mut() {
            l.sort_unstable();
        }
        ByDate { lists }
    }

    /// Up to `limit` items under `key` dated within `window` days of `date`, nearest first.
    pub fn near(&self, key: &K, date: NaiveDate, window: i64, limit: usize) -> Vec<usize> {
        let Some(list) = self.lists.get(key) else { return vec![] };
        let distance = |k: usize| (list[k].0 - date).num_days().abs();
        let mut up = list.partition_point(|(d, _)| *d < date);
        let mut down = up;
        let mut out = Vec::new();
        while out.len() < limit {
            let below = (down > 0).then(|| distance(down - 1)).filter(|d| *d <= window);
            let above = (up < list.len()).then(|| distance(up)).filter(|d| *d <= window);
            match (below, above) {
                (Some(b), Some(a)) if b <= a => {
                    down -= 1;
                    out.push(list[down].1);
                }
                (_, Some(_)) => {
                    out.push(list[up].1);
                    up += 1;
                }
                (Some(_), None) => {
                    down -= 1;
                    out.push(list[down].1);
                }
                (None, None) => break,
            }
        }
        out
    }
}

/// How amounts must agree for a weak reference to pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agreement {
    Equal,
    Typo,
    Close,
}

/// Candidates looked at per line in a window search: plenty for real statements, and a bound
/// for statements made of thousands of identical lines.
pub const NEAREST: usize = 32;

pub fn raises(kind: DocType, amount: Decimal) -> bool {
    signed(kind, amount) > Decimal::ZERO
}

/// The rule a piece of evidence pairs by.
fn rule_of(e: &Evidence) -> MatchRule {
    match &e.how {
        _ if !e.strong() => MatchRule::FuzzyReference,
        How::OurColumn => MatchRule::OurReference,
        How::Quoted { .. } => MatchRule::QuotedReference,
        How::Record { .. } => MatchRule::TheirReference,
        How::Settled { .. } => MatchRule::SettledDocument,
    }
}

impl<'a> State<'a> {
    pub fn new(ours: &'a [OurItem], theirs: &'a [TheirItem], evidence: Vec<Vec<Evidence>>, tolerance: i64) -> Self {
        State {
            ours,
            theirs,
            evidence,
            our_pair: vec![None; ours.len()],
            their_pair: vec![None; theirs.len()],
            pairs: Vec::new(),
            tolerance,
            window: tolerance.max(14),
            budget: GROUP_BUDGET,
            repeats: vec![false; theirs.len()],
        }
    }

    pub fn days(&self, o: usize, t: usize) -> i64 {
        (self.ours[o].date - self.theirs[t].date).num_days().abs()
    }

    pub fn same_money(&self, o: usize, t: usize) -> bool {
        self.ours[o].amount == self.theirs[t].amount && self.ours[o].currency == self.theirs[t].currency
    }

    pub fn has_strong(&self, t: usize) -> bool {
        self.evidence[t].iter().any(Evidence::strong)
    }

    /// Names a document of ours in the column meant for it without that naming anything we have:
    /// such a line is not paired by amount alone (that would hide a missing document behind a
    /// coincidence). Payments name the invoice they paid, which says nothing about our payment.
    pub fn names_something_else(&self, t: usize) -> bool {
        let line = &self.theirs[t];
        line.kind != DocType::Payment && line.our_ref.as_deref().is_some_and(|r| !r.trim().is_empty())
    }

    pub fn pair(&mut self, ours: Vec<usize>, theirs: Vec<usize>, rule: MatchRule, explanation: String, fuzzy: bool) {
        let at = self.pairs.len();
        for &o in &ours {
            self.our_pair[o] = Some(at);
        }
        for &t in &theirs {
            self.their_pair[t] = Some(at);
        }
        self.pairs.push(Pairing { ours, theirs, rule, explanation, fuzzy });
    }

    fn pair_by_evidence(&mut self, t: usize, e: &Evidence) {
        let text = explain::evidence_sentence(e, self.ours);
        self.pair(vec![e.our], vec![t], rule_of(e), text, e.rank() < 4);
    }

    /// Pairs the edges (line, evidence index) in the order given, where both sides are free.
    fn take_edges(&mut self, edges: Vec<(usize, usize)>) {
        for (t, k) in edges {
            let e = self.evidence[t][k].clone();
            if self.their_pair[t].is_none() && self.our_pair[e.our].is_none() {
                self.pair_by_evidence(t, &e);
            }
        }
    }

    /// Strong evidence and equal amounts: the bulk of every statement.
    pub fn pair_strong_equal(&mut self) {
        let mut edges: Vec<(Reverse<u8>, i64, usize, usize)> = Vec::new();
        for (t, ev) in self.evidence.iter().enumerate() {
            for (k, e) in ev.iter().enumerate() {
                if e.strong() && self.same_money(e.our, t) {
                    edges.push((Reverse(e.rank()), self.days(e.our, t), t, k));
                }
            }
        }
        edges.sort_unstable();
        self.take_edges(edges.into_iter().map(|(_, _, t, k)| (t, k)).collect());
    }

    /// Marks the unpaired lines that repeat a paired one: same kind, currency and amount, and the
    /// same reference (or, without one, the same text).
    pub fn mark_repeats(&mut self) {
        let key = |t: &TheirItem| {
            let reference = normalise_ref(&t.their_ref);
            let label = if reference.is_empty() { t.text.trim().to_lowercase() } else { reference };
            (label, t.kind, t.currency.clone(), t.amount.normalize())
        };
        let paired: HashSet<_> =
            (0..self.theirs.len()).filter(|&t| self.their_pair[t].is_some()).map(|t| key(&self.theirs[t])).collect();
        for t in 0..self.theirs.len() {
            let k = key(&self.theirs[t]);
            self.repeats[t] = self.their_pair[t].is_none() && !k.0.is_empty() && paired.contains(&k);
        }
    }

    /// Strong evidence where the amounts differ by a typing error (one `amount_mismatch`), or,
    /// with `any_amount`, whatever the amounts.
    fn pair_strong(&mut self, any_amount: bool) {
        let mut edges: Vec<(Reverse<u8>, i64, usize, usize)> = Vec::new();
        for (t, ev) in self.evidence.iter().enumerate() {
            if self.their_pair[t].is_some() || self.repeats[t] {
                continue;
            }
            for (k, e) in ev.iter().enumerate() {
                let related = typo(self.ours[e.our].amount, self.theirs[t].amount).is_some();
                if e.strong() && self.our_pair[e.our].is_none() && (any_amount || related) {
                    edges.push((Reverse(e.rank()), self.days(e.our, t), t, k));
                }
            }
        }
        edges.sort_unstable();
        self.take_edges(edges.into_iter().map(|(_, _, t, k)| (t, k)).collect());
    }

    /// Strong evidence, amounts that differ by a typing error.
    pub fn pair_strong_typo(&mut self) {
        self.pair_strong(false);
    }

    /// Strong evidence whatever the amounts: a reference that names an item is one
    /// `amount_mismatch`, never a missing pair.
    pub fn pair_strong_unequal(&mut self) {
        self.pair_strong(true);
    }

    /// Weak evidence (a running number, swapped digits) where the amounts agree. Before strong
    /// evidence with disagreeing amounts: a number they mistyped into another of ours
    /// (`INV-1768` for `INV-1786`) is read by the amount, as a person would.
    pub fn pair_weak_equal(&mut self) {
        self.pair_weak(Agreement::Equal);
    }

    /// Weak evidence, close dates, amounts that differ by a typing error: before strong evidence
    /// whose amount is unrelated (their mistyped number, and a mistyped amount besides).
    pub fn pair_weak_typo(&mut self) {
        self.pair_weak(Agreement::Typo);
    }

    /// Weak evidence, close dates, and amounts within 1% of each other or the weak number in
    /// their column for our number.
    pub fn pair_weak_unequal(&mut self) {
        self.pair_weak(Agreement::Close);
    }

    fn pair_weak(&mut self, wanted: Agreement) {
        let mut edges: Vec<(Reverse<u8>, i64, usize, usize)> = Vec::new();
        for (t, ev) in self.evidence.iter().enumerate() {
            if self.their_pair[t].is_some() || (self.repeats[t] && wanted != Agreement::Equal) {
                continue;
            }
            for (k, e) in ev.iter().enumerate() {
                let (o, line) = (e.our, &self.theirs[t]);
                if e.strong() || self.our_pair[o].is_some() || self.ours[o].currency != line.currency {
                    continue;
                }
                let days = self.days(o, t);
                let (ours, theirs) = (self.ours[o].amount, line.amount);
                let fits = match wanted {
                    Agreement::Equal => ours == theirs,
                    Agreement::Typo => days <= self.window && typo(ours, theirs).is_some(),
                    Agreement::Close => {
                        days <= self.window
                            && ((ours - theirs).abs() * Decimal::ONE_HUNDRED <= ours.abs() || e.in_our_column())
                    }
                };
                if fits {
                    edges.push((Reverse(e.rank()), days, t, k));
                }
            }
        }
        edges.sort_unstable();
        self.take_edges(edges.into_iter().map(|(_, _, t, k)| (t, k)).collect());
    }

    /// Lines that name nothing of ours and may be paired by amounts and dates.
    pub fn unreferenced(&self) -> Vec<usize> {
        (0..self.theirs.len())
            .filter(|&t| {
                self.their_pair[t].is_none() && !self.repeats[t] && !self.has_strong(t) && !self.names_something_else(t)
            })
            .collect()
    }

    /// Free items of ours by (direction, currency).
    pub fn free_ours_by_date(&self) -> ByDate<(bool, String)> {
        ByDate::new((0..self.ours.len()).filter(|&o| self.our_pair[o].is_none()).map(|o| {
            ((raises(self.ours[o].kind, self.ours[o].amount), self.ours[o].currency.clone()), self.ours[o].date, o)
        }))
    }

    /// No reference: same kind, currency and amount, the closest dates within the window.
    pub fn pair_amount_and_date(&mut self) {
        let near = ByDate::new((0..self.ours.len()).filter(|&o| self.our_pair[o].is_none()).map(|o| {
            let x = &self.ours[o];
            ((raises(x.kind, x.amount), x.currency.clone(), x.amount.normalize()), x.date, o)
        }));
        let mut edges: Vec<(i64, usize, usize)> = Vec::new();
        for t in self.unreferenced() {
            let line = &self.theirs[t];
            let key = (raises(line.kind, line.amount), line.currency.clone(), line.amount.normalize());
            for o in near.near(&key, line.date, self.window, NEAREST) {
                if compatible(line, &self.ours[o]) {
                    edges.push((self.days(o, t), t, o));
                }
            }
        }
        edges.sort_unstable();
        for (days, t, o) in edges {
            if self.their_pair[t].is_none() && self.our_pair[o].is_none() {
                let text = format!(
                    "no reference to go by: same kind and amount, dated {days} day{} apart",
                    if days == 1 { "" } else { "s" }
                );
                self.pair(vec![o], vec![t], MatchRule::AmountAndDate, text, true);
            }
        }
    }

    /// No reference: the one item of ours within the window whose amount differs from theirs by
    /// a typing error (and no other line of theirs competes for it).
    pub fn pair_amount_typos(&mut self) {
        let near = self.free_ours_by_date();
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for t in self.unreferenced() {
            let line = &self.theirs[t];
            let key = (raises(line.kind, line.amount), line.currency.clone());
            let found: Vec<usize> = near
                .near(&key, line.date, self.window, NEAREST)
                .into_iter()
                .filter(|&o| compatible(line, &self.ours[o]) && typo(self.ours[o].amount, line.amount).is_some())
                .collect();
            if let [o] = found[..] {
                candidates.push((t, o));
            }
        }
        let mut claims: HashMap<usize, usize> = HashMap::new();
        for &(_, o) in &candidates {
            *claims.entry(o).or_default() += 1;
        }
        for (t, o) in candidates {
            if claims[&o] == 1 {
                let days = self.days(o, t);
                let text = format!(
                    "no reference to go by: same kind, dated {days} day{} apart, amounts that differ by a typing error",
                    if days == 1 { "" } else { "s" }
                );
                self.pair(vec![o], vec![t], MatchRule::AmountTypo, text, true);
            }
        }
    }
}
