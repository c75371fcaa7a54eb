//! A bank line's texts as rules read them, prepared once per line and only when a rule asks.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::{CompiledRules, FIELDS, IBAN, NAME, REMITTANCE};
use crate::domain::cash_application::LineInput;

/// The line's text fields as the patterns see them, and each field's set matches, computed on
/// first use (most rules are decided by their cheap conditions).
pub(super) struct LineTexts<'a> {
    line: &'a LineInput,
    pub(super) abs_amount: Decimal,
    iban: Option<Cow<'a, str>>,
    remittance: Option<Cow<'a, str>>,
    /// Per field: whether any of its patterns matches (searched on first use).
    any: [Option<bool>; FIELDS],
    /// Per field: which patterns match (only searched when one does).
    matched: [Option<regex::SetMatches>; FIELDS],
}

impl<'a> LineTexts<'a> {
    pub(super) fn new(line: &'a LineInput) -> Self {
        LineTexts {
            line,
            abs_amount: line.amount.abs(),
            iban: None,
            remittance: None,
            any: Default::default(),
            matched: Default::default(),
        }
    }

    pub(super) fn text(&mut self, f: usize) -> &str {
        let line = self.line;
        match f {
            NAME => line.counterparty_name.as_deref().unwrap_or(""),
            IBAN => self.iban.get_or_insert_with(|| match line.counterparty_iban.as_deref() {
                Some(i) if i.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_lowercase()) || !i.is_ascii() => {
                    Cow::Owned(compact_upper(i))
                }
                Some(i) => Cow::Borrowed(i),
                None => Cow::Borrowed(""),
            }),
            // The structured reference is remittance information too; rules see both.
            REMITTANCE => self.remittance.get_or_insert_with(|| {
                match (line.remittance.as_deref(), line.creditor_reference.as_deref()) {
                    (Some(r), Some(c)) => Cow::Owned(format!("{r} {c}")),
                    (Some(t), None) | (None, Some(t)) => Cow::Borrowed(t),
                    (None, None) => Cow::Borrowed(""),
                }
            }),
            _ => line.end_to_end_id.as_deref().unwrap_or(""),
        }
    }

    /// Whether any pattern of the field matches: the fast search, and the answer for most lines.
    pub(super) fn any_match(&mut self, all: &CompiledRules, f: usize) -> bool {
        if let Some(any) = self.any[f] {
            return any;
        }
        let any = match all.sets.get(f).and_then(|s| s.as_ref()) {
            Some(set) => set.is_match(self.text(f)),
            None => false,
        };
        self.any[f] = Some(any);
        any
    }

    /// Whether the field's pattern `idx` matches; which patterns match is searched once per line
    /// and field, and only when one does.
    pub(super) fn pattern_matches(&mut self, all: &CompiledRules, f: usize, idx: usize) -> bool {
        if !self.any_match(all, f) {
            return false;
        }
        if self.matched[f].is_none() {
            let Some(set) = all.sets.get(f).and_then(|s| s.as_ref()) else { return false };
            let m = set.matches(self.text(f));
            self.matched[f] = Some(m);
        }
        self.matched[f].as_ref().is_some_and(|m| m.matched(idx))
    }
}

/// `text` equals `compact` (already without spaces and upper case) once its spaces are dropped
/// and it is upper-cased; compared without allocating, as it runs for every line.
pub(super) fn eq_compact_upper(text: &str, compact: &str) -> bool {
    let mut want = compact.chars();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        for u in c.to_uppercase() {
            if want.next() != Some(u) {
                return false;
            }
        }
    }
    want.next().is_none()
}

pub(super) fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

pub(super) fn compact_upper(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}
