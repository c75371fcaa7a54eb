//! A bank line's texts as rules read them.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::{CompiledRules, FIELDS, IBAN, NAME, REMITTANCE};
use crate::domain::cash_application::LineInput;

/// The line's text fields as the patterns see them, and which patterns of each field match,
/// each prepared at most once per line and only when asked for.
pub(super) struct LineTexts<'a> {
    line: &'a LineInput,
    pub(super) abs_amount: Decimal,
    iban: Option<Cow<'a, str>>,
    account: Option<Option<Cow<'a, str>>>,
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
            account: None,
            remittance: None,
            any: Default::default(),
            matched: Default::default(),
        }
    }

    /// The account the line was booked on as rules name it (spaces removed, upper case).
    pub(super) fn account(&mut self) -> Option<&str> {
        let line = self.line;
        self.account.get_or_insert_with(|| line.bank_account.as_deref().map(compact_upper_cow)).as_deref()
    }

    pub(super) fn text(&mut self, f: usize) -> &str {
        let line = self.line;
        match f {
            NAME => line.counterparty_name.as_deref().unwrap_or(""),
            IBAN => self
                .iban
                .get_or_insert_with(|| line.counterparty_iban.as_deref().map_or(Cow::Borrowed(""), compact_upper_cow)),
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

    /// Which patterns of the field match (searched once per line and field, only when one does).
    pub(super) fn set_matches(&mut self, all: &CompiledRules, f: usize) -> Option<&regex::SetMatches> {
        if !self.any_match(all, f) {
            return None;
        }
        if self.matched[f].is_none() {
            let set = all.sets.get(f).and_then(|s| s.as_ref())?;
            let m = set.matches(self.text(f));
            self.matched[f] = Some(m);
        }
        self.matched[f].as_ref()
    }

    /// Whether the field's pattern `idx` matches.
    pub(super) fn pattern_matches(&mut self, all: &CompiledRules, f: usize, idx: usize) -> bool {
        self.set_matches(all, f).is_some_and(|m| m.matched(idx))
    }
}

/// `compact_upper`, borrowed when the text already is (as banks deliver IBANs): no allocation
/// per line.
fn compact_upper_cow(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b.is_ascii_punctuation()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(compact_upper(s))
    }
}

pub(super) fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

pub(super) fn compact_upper(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}
