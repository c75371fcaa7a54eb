//! Which of our items a line of theirs names, and how strongly.
//!
//! Customers quote our numbers their own way, in whatever column their system has: the column
//! meant for it, their own reference, a booking text. Every field is cut into probes by cash
//! application's [`Scanner`] (prefixes, separators, leading zeros, a dropped year, several
//! numbers, RF creditor references) and looked up in an index of our items' numbers and of our
//! records of their references; a number-shaped word that exists with two adjacent digits
//! swapped is found too. Only evidence for an item of a compatible kind is kept.

use super::{compatible, normalise_ref, OurItem, TheirItem};
use crate::domain::cash_application::references::{
    transposed_variants, verify_key, write_doc_key, KeyKind, RefStrength, Scanner,
};
use std::collections::HashMap;

/// The field of their line evidence was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    OurRef,
    TheirRef,
    Text,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::OurRef => "their column for our number",
            Field::TheirRef => "their reference",
            Field::Text => "their text",
        }
    }
}

/// How a line names an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Their column for our number holds it (case, separators and leading zeros aside).
    OurColumn,
    /// Our number, found in one of their fields as `found`.
    Quoted { field: Field, found: String, strength: RefStrength },
    /// Our record of their reference (their payment reference, a purchase order), found as `found`.
    Record { field: Field, found: String, strength: RefStrength },
    /// They name `document`, which this payment of ours settled.
    Settled { document: String, field: Field, found: String, strength: RefStrength },
}

#[derive(Debug, Clone)]
pub struct Evidence {
    pub our: usize,
    pub how: How,
}

impl Evidence {
    /// 5 (their column for our number) down to 1 (two digits swapped); 3 and above is strong
    /// enough to pair whatever the amounts say.
    pub fn rank(&self) -> u8 {
        let of = |s: RefStrength| match s {
            RefStrength::Exact => 4,
            RefStrength::Degraded | RefStrength::LearnedFormat => 3,
            RefStrength::BareNumber | RefStrength::CustomerReference => 2,
            RefStrength::Transposed => 1,
        };
        match &self.how {
            How::OurColumn => 5,
            How::Quoted { strength, .. } | How::Record { strength, .. } | How::Settled { strength, .. } => {
                of(*strength)
            }
        }
    }

    pub fn strong(&self) -> bool {
        self.rank() >= 3
    }

    /// Found in the column meant for our number (an explicit claim, even when weak).
    pub fn in_our_column(&self) -> bool {
        match &self.how {
            How::OurColumn => true,
            How::Quoted { field, .. } | How::Record { field, .. } | How::Settled { field, .. } => {
                *field == Field::OurRef
            }
        }
    }
}

/// A reference that names more of our items than this identifies none of them (a generic word,
/// a number on every document): it is not evidence, and looking it up must not cost a scan.
const MAX_NAMED: usize = 32;
/// Items one line may name; a line listing more is a list, not a reference.
const MAX_EVIDENCE: usize = 64;

/// The items under a key, when the key is selective enough to be evidence.
fn selective(list: Option<&Vec<usize>>) -> &[usize] {
    match list {
        Some(l) if l.len() <= MAX_NAMED => l,
        _ => &[],
    }
}

/// Derived forms shorter than this (`"11"` from `K1-INV-1`) occur everywhere in free text: a
/// hit on them counts only as a running number.
const MIN_STRONG_KEY: usize = 5;

/// Our items indexed by every form a customer may quote.
pub struct OurIndex {
    /// (key space, key) -> items; space 1 holds full, compact and digits-only forms, space 2
    /// running numbers (see [`KeyKind::tag`]).
    numbers: HashMap<(u8, String), Vec<usize>>,
    /// Full, compact and digits-only forms of our records of their references -> items.
    records: HashMap<String, Vec<usize>>,
    /// [`normalise_ref`] of our numbers -> items.
    by_norm: HashMap<String, Vec<usize>>,
    /// [`normalise_ref`] of our records of their references -> items.
    records_norm: HashMap<String, Vec<usize>>,
    /// Full form of a document -> our payments that settled it.
    settled_by: HashMap<String, Vec<usize>>,
    /// Leading letters of our numbers ("INV", "CN"): other letters before a running number are
    /// their own numbering, and only words shaped like ours are searched for swapped digits.
    prefixes: Vec<String>,
    /// Some of our numbers have no letters: digit-only words are then searched for swaps too.
    bare_numbers: bool,
}

fn push(map: &mut HashMap<String, Vec<usize>>, key: String, i: usize) {
    let list = map.entry(key).or_default();
    if !list.contains(&i) {
        list.push(i);
    }
}

fn leading_letters(s: &str) -> &str {
    &s[..s.bytes().take_while(u8::is_ascii_alphabetic).count()]
}

impl OurIndex {
    pub fn new(ours: &[OurItem]) -> OurIndex {
        let mut ix = OurIndex {
            numbers: HashMap::new(),
            records: HashMap::new(),
            by_norm: HashMap::new(),
            records_norm: HashMap::new(),
            settled_by: HashMap::new(),
            prefixes: Vec::new(),
            bare_numbers: false,
        };
        let mut buf = String::new();
        for (i, o) in ours.iter().enumerate() {
            for kind in [KeyKind::Full, KeyKind::Compact, KeyKind::Digits, KeyKind::Last] {
                if write_doc_key(&o.doc_no, kind, &mut buf) {
                    let list = ix.numbers.entry((kind.tag(), buf.clone())).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
            push(&mut ix.by_norm, normalise_ref(&o.doc_no), i);
            if let Some(r) = o.reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                push(&mut ix.records_norm, normalise_ref(r), i);
                for kind in [KeyKind::Full, KeyKind::Compact, KeyKind::Digits] {
                    if write_doc_key(r, kind, &mut buf) && (kind == KeyKind::Full || buf.len() >= MIN_STRONG_KEY) {
                        push(&mut ix.records, buf.clone(), i);
                    }
                }
            }
            for d in &o.settles {
                if write_doc_key(d, KeyKind::Full, &mut buf) {
                    push(&mut ix.settled_by, buf.clone(), i);
                }
            }
            let normalised: String = o.doc_no.chars().filter(char::is_ascii_alphanumeric).collect();
            let lead = leading_letters(&normalised).to_ascii_uppercase();
            if lead.is_empty() {
                ix.bare_numbers = true;
            } else if ix.prefixes.len() < 64 && !ix.prefixes.contains(&lead) {
                ix.prefixes.push(lead);
            }
        }
        ix
    }

    /// A running number is only ours when it stands alone ("Rechnung 155") or follows one of
    /// our prefixes ("INV155", the year dropped); "AP155" is their own numbering.
    fn plausible_running_number(&self, found: &str) -> bool {
        let letters: String =
            found.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
        let lead = leading_letters(&letters);
        lead.is_empty() || self.prefixes.iter().any(|p| p == lead)
    }

    /// Every compatible item of ours the line names, the strongest reading per item.
    pub fn evidence(&self, ours: &[OurItem], t: &TheirItem) -> Vec<Evidence> {
        let mut out: Vec<Evidence> = Vec::new();
        let add = |out: &mut Vec<Evidence>, e: Evidence| {
            if !compatible(t, &ours[e.our]) {
                return;
            }
            let full = out.len() >= MAX_EVIDENCE;
            match out.iter_mut().find(|x| x.our == e.our) {
                Some(x) if x.rank() >= e.rank() => {}
                Some(x) => *x = e,
                None if !full => out.push(e),
                None => {}
            }
        };
        let our_ref = t.our_ref.as_deref().unwrap_or("");
        let n = normalise_ref(our_ref);
        for &o in selective(self.by_norm.get(&n).filter(|_| !n.is_empty())) {
            add(&mut out, Evidence { our: o, how: How::OurColumn });
        }
        let n = normalise_ref(&t.their_ref);
        for &o in selective(self.records_norm.get(&n).filter(|_| !n.is_empty())) {
            let how = How::Record { field: Field::TheirRef, found: t.their_ref.clone(), strength: RefStrength::Exact };
            add(&mut out, Evidence { our: o, how });
        }

        let fields =
            [(Field::OurRef, our_ref), (Field::TheirRef, t.their_ref.as_str()), (Field::Text, t.text.as_str())];
        let mut sc = Scanner::default();
        for (i, (_, text)) in fields.iter().enumerate() {
            sc.scan(i, text);
        }
        let mut buf = String::new();
        for p in &sc.probes {
            let (field, text) = fields[p.field];
            let found = text.get(p.span.clone()).unwrap_or("");
            let key = sc.key(&p.key);
            if p.kind == KeyKind::Last && !self.plausible_running_number(found) {
                continue;
            }
            let weak_if_short = |s: RefStrength| {
                if s == RefStrength::Degraded && key.len() < MIN_STRONG_KEY {
                    RefStrength::BareNumber
                } else {
                    s
                }
            };
            for &o in selective(self.numbers.get(&(p.kind.tag(), key.to_string()))) {
                let Some(strength) = verify_key(&ours[o].doc_no, p.kind, key, p.rf, &mut buf).map(weak_if_short) else {
                    continue;
                };
                let how = How::Quoted { field, found: found.to_string(), strength };
                add(&mut out, Evidence { our: o, how });
                if strength >= RefStrength::Degraded && write_doc_key(&ours[o].doc_no, KeyKind::Full, &mut buf) {
                    for &pay in selective(self.settled_by.get(&buf)) {
                        let document = ours[o].doc_no.clone();
                        let how = How::Settled { document, field, found: found.to_string(), strength };
                        add(&mut out, Evidence { our: pay, how });
                    }
                }
            }
            if p.kind == KeyKind::Last {
                continue;
            }
            for &o in selective(self.records.get(key)) {
                let reference = ours[o].reference.as_deref().unwrap_or("");
                let Some(strength) = verify_key(reference, KeyKind::Full, key, p.rf, &mut buf).map(weak_if_short)
                else {
                    continue;
                };
                let how = How::Record { field, found: found.to_string(), strength };
                add(&mut out, Evidence { our: o, how });
            }
        }
        self.swapped_digits(ours, &sc, &fields, &mut out, &add);
        out
    }

    /// Number-shaped words that are one of ours with two adjacent digits swapped.
    fn swapped_digits(
        &self,
        ours: &[OurItem],
        sc: &Scanner,
        fields: &[(Field, &str); 3],
        out: &mut Vec<Evidence>,
        add: &impl Fn(&mut Vec<Evidence>, Evidence),
    ) {
        let mut buf = String::new();
        for sh in &sc.shaped {
            let key = sc.key(&sh.key);
            let lead = leading_letters(key);
            let shaped_like_ours =
                if lead.is_empty() { self.bare_numbers } else { self.prefixes.iter().any(|p| p == lead) };
            if !shaped_like_ours {
                continue;
            }
            let (field, text) = fields[sh.field];
            for v in transposed_variants(key) {
                for &o in selective(self.numbers.get(&(KeyKind::Full.tag(), v.clone()))) {
                    if out.iter().any(|e| e.our == o)
                        || verify_key(&ours[o].doc_no, KeyKind::Full, &v, false, &mut buf).is_none()
                    {
                        continue;
                    }
                    let found = text.get(sh.span.clone()).unwrap_or("").to_string();
                    add(out, Evidence { our: o, how: How::Quoted { field, found, strength: RefStrength::Transposed } });
                }
            }
        }
    }
}
