//! Differences: one for each cause. Within a one-to-one pair, amounts or dates that disagree;
//! a line of theirs left over is a duplicate when it names (or repeats) what another line already
//! paired, else missing on our side; an item of ours left over is a duplicate when it is the twin
//! of a paired item, else missing on their side.

use super::explain::{display_ref, explain_amounts, kind_name};
use super::pairing::State;
use super::{normalise_ref, signed, FoundDifference};
use crate::domain::difference::DifferenceKind;
use crate::domain::document::DocType;
use crate::domain::money::display_amount;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Amount and date disagreements of one-to-one pairs (groups add up by construction).
pub fn within_pairs(s: &State) -> Vec<FoundDifference> {
    let mut out = Vec::new();
    for (at, p) in s.pairs.iter().enumerate() {
        let ([o], [t]) = (&p.ours[..], &p.theirs[..]) else {
            out.extend(group_gap(s, at));
            continue;
        };
        let (our, their) = (&s.ours[*o], &s.theirs[*t]);
        let because = if p.fuzzy { format!(" (paired as {})", p.explanation) } else { String::new() };
        if our.amount != their.amount || our.currency != their.currency {
            out.push(FoundDifference {
                kind: DifferenceKind::AmountMismatch,
                ours: Some(*o),
                theirs: Some(*t),
                explanation: format!("{}{because}", explain_amounts(our, their)),
                effects: vec![
                    (our.currency.clone(), signed(our.kind, our.amount)),
                    (their.currency.clone(), -signed(their.kind, their.amount)),
                ],
                pairing: Some(at),
            });
        }
        let days = (our.date - their.date).num_days();
        if days.abs() > s.tolerance {
            out.push(FoundDifference {
                kind: DifferenceKind::DateMismatch,
                ours: Some(*o),
                theirs: Some(*t),
                explanation: format!(
                    "they dated {} {} on {}; we did on {} ({} days apart, tolerance {}){because}",
                    kind_name(their.kind),
                    our.doc_no,
                    their.date,
                    our.date,
                    days.abs(),
                    s.tolerance
                ),
                effects: vec![],
                pairing: Some(at),
            });
        }
    }
    out
}

/// A group whose sums differ (one payment of theirs, tied by its reference to several receipts
/// of ours, with a gap): one `amount_mismatch` for the whole group.
fn group_gap(s: &State, at: usize) -> Option<FoundDifference> {
    let p = &s.pairs[at];
    let ours: Decimal = p.ours.iter().map(|&o| signed(s.ours[o].kind, s.ours[o].amount)).sum();
    let theirs: Decimal = p.theirs.iter().map(|&t| signed(s.theirs[t].kind, s.theirs[t].amount)).sum();
    if ours == theirs {
        return None;
    }
    let currency = s.ours[p.ours[0]].currency.clone();
    let gap = (theirs - ours).abs();
    let word = if theirs.abs() > ours.abs() { "more" } else { "less" };
    Some(FoundDifference {
        kind: DifferenceKind::AmountMismatch,
        ours: Some(p.ours[0]),
        theirs: Some(p.theirs[0]),
        explanation: format!(
            "{}; but they recorded {} {currency} {word} than we did",
            p.explanation,
            display_amount(&currency, gap)
        ),
        effects: vec![(currency, ours - theirs)],
        pairing: Some(at),
    })
}

type RepeatKey = (DocType, String, Decimal, String);

/// Paired lines of theirs by what a repeat of them would share.
struct Repeats {
    by_ref: HashMap<RepeatKey, (usize, NaiveDate)>,
    by_text: HashMap<RepeatKey, (usize, NaiveDate)>,
}

impl Repeats {
    fn new(s: &State) -> Repeats {
        let mut r = Repeats { by_ref: HashMap::new(), by_text: HashMap::new() };
        for (t, line) in s.theirs.iter().enumerate() {
            let Some(p) = s.their_pair[t] else { continue };
            let first_ours = s.pairs[p].ours[0];
            let base = (line.kind, line.currency.clone(), line.amount.normalize());
            let reference = normalise_ref(&line.their_ref);
            if !reference.is_empty() {
                r.by_ref.entry((base.0, base.1.clone(), base.2, reference)).or_insert((first_ours, line.date));
            }
            let text = line.text.trim().to_lowercase();
            if !text.is_empty() {
                r.by_text.entry((base.0, base.1, base.2, text)).or_insert((first_ours, line.date));
            }
        }
        r
    }
}

/// The item of ours a left-over line repeats: it names an item another line already paired
/// (strongly, or with that line's amount), or it repeats a paired line's reference or text with
/// the same amount at a close date.
fn duplicate_of(s: &State, repeats: &Repeats, t: usize) -> Option<usize> {
    let line = &s.theirs[t];
    let mut named: Vec<_> = s.evidence[t].iter().filter(|e| s.our_pair[e.our].is_some()).collect();
    named.sort_by_key(|e| std::cmp::Reverse(e.rank()));
    // A named item paired with a line of the same amount first (the line it repeats), then any
    // strongly named one.
    let same_amount = |o: usize| {
        let p = s.our_pair[o].expect("filtered to paired items");
        s.pairs[p].theirs.iter().any(|&u| s.theirs[u].amount == line.amount) || s.ours[o].amount == line.amount
    };
    if let Some(e) = named.iter().find(|e| same_amount(e.our)).or_else(|| named.iter().find(|e| e.strong())) {
        return Some(e.our);
    }
    let base = (line.kind, line.currency.clone(), line.amount.normalize());
    let close = |&(o, date): &(usize, NaiveDate)| ((date - line.date).num_days().abs() <= s.window).then_some(o);
    let reference = normalise_ref(&line.their_ref);
    if !reference.is_empty() {
        if let Some(o) = repeats.by_ref.get(&(base.0, base.1.clone(), base.2, reference)).and_then(close) {
            return Some(o);
        }
    }
    let text = line.text.trim().to_lowercase();
    if !text.is_empty() {
        return repeats.by_text.get(&(base.0, base.1, base.2, text)).and_then(close);
    }
    None
}

/// Lines of theirs that paired with nothing.
pub fn their_leftovers(s: &State) -> Vec<FoundDifference> {
    let repeats = Repeats::new(s);
    let mut out = Vec::new();
    for (t, item) in s.theirs.iter().enumerate() {
        if s.their_pair[t].is_some() {
            continue;
        }
        let effects = vec![(item.currency.clone(), -signed(item.kind, item.amount))];
        let amount = display_amount(&item.currency, item.amount);
        let kind = kind_name(item.kind);
        out.push(match duplicate_of(s, &repeats, t) {
            Some(o) => FoundDifference {
                kind: DifferenceKind::DuplicateOnCustomerSide,
                ours: Some(o),
                theirs: Some(t),
                explanation: format!(
                    "they recorded {kind} {} ({amount} {}) twice; we have it once, as {}",
                    display_ref(item),
                    item.currency,
                    s.ours[o].doc_no
                ),
                effects,
                pairing: None,
            },
            None => FoundDifference {
                kind: DifferenceKind::MissingOnOurSide,
                ours: None,
                theirs: Some(t),
                explanation: format!(
                    "they recorded {kind} {} of {amount} {} on {}; we have no such item",
                    display_ref(item),
                    item.currency,
                    item.date
                ),
                effects,
                pairing: None,
            },
        });
    }
    out
}

/// Items of ours that paired with nothing: a twin of a paired item (same kind, amount, date and
/// reference) is a duplicate on our side; anything else is missing on theirs.
pub fn our_leftovers(s: &State) -> Vec<FoundDifference> {
    type TwinKey = (DocType, String, Decimal, NaiveDate, Option<String>);
    let key = |o: usize| -> TwinKey {
        let x = &s.ours[o];
        (x.kind, x.currency.clone(), x.amount.normalize(), x.date, x.reference.clone())
    };
    let mut paired: HashMap<TwinKey, usize> = HashMap::new();
    for o in (0..s.ours.len()).filter(|&o| s.our_pair[o].is_some()) {
        paired.entry(key(o)).or_insert(o);
    }
    let mut out = Vec::new();
    for (o, item) in s.ours.iter().enumerate() {
        if s.our_pair[o].is_some() {
            continue;
        }
        let effects = vec![(item.currency.clone(), signed(item.kind, item.amount))];
        let amount = display_amount(&item.currency, item.amount);
        let kind = kind_name(item.kind);
        out.push(match paired.get(&key(o)) {
            Some(&twin) => FoundDifference {
                kind: DifferenceKind::DuplicateOnOurSide,
                ours: Some(o),
                theirs: None,
                explanation: format!(
                    "we recorded {kind} {} of {amount} {} that repeats {} (same amount, date and reference)",
                    item.doc_no, item.currency, s.ours[twin].doc_no
                ),
                effects,
                pairing: None,
            },
            None => FoundDifference {
                kind: DifferenceKind::MissingOnCustomerSide,
                ours: Some(o),
                theirs: None,
                explanation: format!(
                    "we recorded {kind} {} of {amount} {} on {}; their statement does not show it",
                    item.doc_no, item.currency, item.date
                ),
                effects,
                pairing: None,
            },
        });
    }
    out
}
