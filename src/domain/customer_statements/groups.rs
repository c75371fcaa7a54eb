//! Groups: one line of theirs for several items of ours (their one payment, our books split per
//! invoice) or one item of ours for several lines of theirs (our one payment, their books split
//! per invoice). A group pairs when its amounts add up exactly: tied by references first (every
//! member names, or is named by, the other side), then, without references, only as the unique
//! subset of close-dated items that adds up. The search is cash application's bounded subset sum,
//! on a budget shared by the whole comparison.

use super::evidence::How;
use super::explain::{group_sentence, list_refs};
use super::pairing::{raises, ByDate, State, NEAREST};
use super::{compatible, normalise_ref, signed, MatchRule};
use crate::domain::cash_application::subset::find_subsets_within;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};

/// Largest group looked for.
const MAX_MEMBERS: usize = 12;
/// Nodes one search may use at most.
const PER_SEARCH: usize = 20_000;

/// An amount as an integer count of 1/10000 units (exact for every currency), the balance effect's size.
fn units(a: Decimal) -> i64 {
    let mut a = a.abs();
    a.rescale(4);
    i64::try_from(a.mantissa()).unwrap_or(i64::MAX)
}

impl State<'_> {
    /// The one subset of `values` adding up to `target` (all of them first); `None` when there is
    /// none, several, or the budget ran out.
    fn unique_subset(&mut self, values: &[i64], target: i64) -> Option<Vec<usize>> {
        if values.len() < 2 {
            return None;
        }
        if values.iter().try_fold(0i64, |s, v| s.checked_add(*v)) == Some(target) {
            return Some((0..values.len()).collect());
        }
        let mut budget = self.budget.min(PER_SEARCH);
        let before = budget;
        let (found, exhausted) = find_subsets_within(values, target, 2, MAX_MEMBERS, 2, &mut budget);
        self.budget -= before - budget;
        match (&found[..], exhausted) {
            ([one], false) => Some(one.clone()),
            _ => None,
        }
    }

    fn our_units(&self, o: usize) -> i64 {
        units(signed(self.ours[o].kind, self.ours[o].amount))
    }

    fn their_units(&self, t: usize) -> i64 {
        units(signed(self.theirs[t].kind, self.theirs[t].amount))
    }

    /// Groups whose members the references tie together.
    pub fn group_by_reference(&mut self) {
        for t in 0..self.theirs.len() {
            if self.their_pair[t].is_some() {
                continue;
            }
            let currency = &self.theirs[t].currency;
            let named: Vec<usize> = self.evidence[t]
                .iter()
                .filter(|e| e.strong() && self.our_pair[e.our].is_none() && self.ours[e.our].currency == *currency)
                .map(|e| e.our)
                .collect();
            let values: Vec<i64> = named.iter().map(|&o| self.our_units(o)).collect();
            if let Some(subset) = self.unique_subset(&values, self.their_units(t)) {
                let members: Vec<usize> = subset.into_iter().map(|i| named[i]).collect();
                let why = format!("named in their line ({})", list_refs(&members, self.ours));
                let text = group_sentence(self.ours, self.theirs, &members, &[t], &why);
                self.pair(members, vec![t], MatchRule::GroupByReference, text, false);
            }
        }
        let mut naming: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (t, ev) in self.evidence.iter().enumerate() {
            if self.their_pair[t].is_some() {
                continue;
            }
            for e in ev.iter().filter(|e| e.strong() && self.ours[e.our].currency == self.theirs[t].currency) {
                naming.entry(e.our).or_default().push(t);
            }
        }
        for (o, lines) in naming {
            if self.our_pair[o].is_some() {
                continue;
            }
            let lines: Vec<usize> = lines.into_iter().filter(|&t| self.their_pair[t].is_none()).collect();
            let values: Vec<i64> = lines.iter().map(|&t| self.their_units(t)).collect();
            if let Some(subset) = self.unique_subset(&values, self.our_units(o)) {
                let members: Vec<usize> = subset.into_iter().map(|i| lines[i]).collect();
                let why = format!("each of their lines names our {}", self.ours[o].doc_no);
                let text = group_sentence(self.ours, self.theirs, &[o], &members, &why);
                self.pair(vec![o], members, MatchRule::GroupByReference, text, false);
            }
        }
    }

    /// Our receipts recorded under one payment reference of theirs (our books split a payment
    /// per invoice) and the line that names it, or their lines under one reference that name one
    /// receipt of ours, when no subset adds up: still one payment, and one `amount_mismatch` for
    /// the gap rather than a pair plus missing items.
    pub fn group_by_reference_with_gap(&mut self) {
        for t in 0..self.theirs.len() {
            if self.their_pair[t].is_some() || self.repeats[t] {
                continue;
            }
            let named: Vec<usize> = self.evidence[t]
                .iter()
                .filter(|e| matches!(e.how, How::Record { .. }) && e.strong() && self.our_pair[e.our].is_none())
                .map(|e| e.our)
                .collect();
            let references: HashSet<String> =
                named.iter().map(|&o| normalise_ref(self.ours[o].reference.as_deref().unwrap_or(""))).collect();
            if named.len() < 2 || references.len() != 1 || !self.same_currency(&named, &[t]) {
                continue;
            }
            let why = "their reference is recorded on each of ours";
            let text = group_sentence(self.ours, self.theirs, &named, &[t], why);
            self.pair(named, vec![t], MatchRule::GroupByReference, text, false);
        }
        let mut naming: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (t, ev) in self.evidence.iter().enumerate() {
            if self.their_pair[t].is_some() || self.repeats[t] {
                continue;
            }
            for e in ev.iter().filter(|e| matches!(e.how, How::Record { .. }) && e.strong()) {
                naming.entry(e.our).or_default().push(t);
            }
        }
        for (o, lines) in naming {
            let references: HashSet<String> = lines.iter().map(|&t| normalise_ref(&self.theirs[t].their_ref)).collect();
            if self.our_pair[o].is_some()
                || lines.len() < 2
                || references.len() != 1
                || !self.same_currency(&[o], &lines)
            {
                continue;
            }
            let why = format!("each of their lines carries our record of their reference on {}", self.ours[o].doc_no);
            let text = group_sentence(self.ours, self.theirs, &[o], &lines, &why);
            self.pair(vec![o], lines, MatchRule::GroupByReference, text, false);
        }
    }

    fn same_currency(&self, ours: &[usize], theirs: &[usize]) -> bool {
        let c = &self.ours[ours[0]].currency;
        ours.iter().all(|&o| self.ours[o].currency == *c) && theirs.iter().all(|&t| self.theirs[t].currency == *c)
    }

    /// Groups without references: close dates (within the date tolerance) and a unique subset
    /// whose amounts add up exactly.
    pub fn group_by_amount(&mut self) {
        let near = self.free_ours_by_date();
        for t in self.unreferenced() {
            if self.their_pair[t].is_some() || self.budget == 0 {
                continue;
            }
            let line = &self.theirs[t];
            let key = (raises(line.kind, line.amount), line.currency.clone());
            let candidates: Vec<usize> = near
                .near(&key, line.date, self.tolerance, NEAREST)
                .into_iter()
                .filter(|&o| self.our_pair[o].is_none() && compatible(line, &self.ours[o]))
                .take(MAX_MEMBERS + 4)
                .collect();
            let values: Vec<i64> = candidates.iter().map(|&o| self.our_units(o)).collect();
            if let Some(subset) = self.unique_subset(&values, self.their_units(t)) {
                let members: Vec<usize> = subset.into_iter().map(|i| candidates[i]).collect();
                let why = "no reference to go by: the only close-dated items whose amounts add up to theirs";
                let text = group_sentence(self.ours, self.theirs, &members, &[t], why);
                self.pair(members, vec![t], MatchRule::GroupByAmount, text, true);
            }
        }
        let lines = self.unreferenced();
        let near = ByDate::new(lines.iter().map(|&t| {
            let x = &self.theirs[t];
            ((raises(x.kind, x.amount), x.currency.clone()), x.date, t)
        }));
        for o in 0..self.ours.len() {
            if self.our_pair[o].is_some() || self.budget == 0 {
                continue;
            }
            let item = &self.ours[o];
            let key = (raises(item.kind, item.amount), item.currency.clone());
            let candidates: Vec<usize> = near
                .near(&key, item.date, self.tolerance, NEAREST)
                .into_iter()
                .filter(|&t| self.their_pair[t].is_none() && compatible(&self.theirs[t], item))
                .take(MAX_MEMBERS + 4)
                .collect();
            let values: Vec<i64> = candidates.iter().map(|&t| self.their_units(t)).collect();
            if let Some(subset) = self.unique_subset(&values, self.our_units(o)) {
                let members: Vec<usize> = subset.into_iter().map(|i| candidates[i]).collect();
                let why = "no reference to go by: the only close-dated lines whose amounts add up to ours";
                let text = group_sentence(self.ours, self.theirs, &[o], &members, why);
                self.pair(vec![o], members, MatchRule::GroupByAmount, text, true);
            }
        }
    }
}
