//! Learned facts: what people taught the engine by confirming, allocating by hand and rejecting (payer IBAN ->
//! customer, payer name -> customer, customer -> "pays several invoices with one amount", "pays the oldest
//! first", "quotes our numbers as `R{n}/99`" (see `reference_formats`)).
//!
//! Master data always comes first: a learned IBAN or name is only read when no master-data IBAN identifies the
//! payer, a learned IBAN that master data knows is ignored, and a fact learned from a line whose IBAN belongs in
//! master data to another customer is never used. A learned payer is *trusted* (it may apply a payment without
//! review, like a master-data IBAN) only when every learned fact about the line's payer names the same single
//! customer, none of them was ever rejected for it, the fact that identifies it has at least the tenant's
//! minimum of confirmations, and (for a name) no other customer's master-data name is the same. Otherwise the
//! learned customer is proposed first and never applied automatically.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::index::FastStrBuild;
use super::super::names::normalize_name;
use super::super::references::{doc_keys, extract_references, RefStrength};
use super::build::normalize_iban;
use super::confidence::PayerFit;
use super::hypothesis::{Ctx, Hyp};
use super::{Engine, NO_CUSTOMER};

/// What a learned fact says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnedKind {
    /// The payer IBAN (upper-case, no spaces) pays for the customer.
    PayerIban,
    /// The payer name (normalised as [`normalize_name`](super::super::names::normalize_name) does) pays for the
    /// customer.
    PayerName,
    /// The customer pays several invoices with one amount and no reference (key empty).
    CombinedPayments,
    /// Of several open invoices with the amount paid, the customer pays the oldest first (key empty).
    OldestFirst,
    /// The customer quotes our numbers in this shape (`R{n}/99`: `{n}` the running number, `9` any digit).
    ReferenceFormat,
}

impl LearnedKind {
    /// Every kind, in a fixed order.
    pub const ALL: [LearnedKind; 5] = [
        LearnedKind::PayerIban,
        LearnedKind::PayerName,
        LearnedKind::CombinedPayments,
        LearnedKind::OldestFirst,
        LearnedKind::ReferenceFormat,
    ];

    /// The word in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LearnedKind::PayerIban => "payer_iban",
            LearnedKind::PayerName => "payer_name",
            LearnedKind::CombinedPayments => "combined_payments",
            LearnedKind::OldestFirst => "oldest_first",
            LearnedKind::ReferenceFormat => "reference_format",
        }
    }

    /// The kind a word names.
    pub fn parse(text: &str) -> Option<LearnedKind> {
        LearnedKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One learned fact as the engine reads it (revoked facts are not given to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedFact {
    /// Identifier, for the record.
    pub id: Uuid,
    /// What the fact says.
    pub kind: LearnedKind,
    /// IBAN, normalised name or reference format; empty for the habits.
    pub key: String,
    /// The customer it names.
    pub customer_id: Uuid,
    /// How evidence names the customer (its code).
    pub customer_label: String,
    /// Distinct bank lines a person applied to the customer.
    pub confirmations: u32,
    /// Distinct bank lines a person refused for the customer.
    pub rejections: u32,
    /// Who confirmed it last.
    pub last_confirmed_by: Option<String>,
    /// When it was confirmed last.
    pub last_confirmed_on: Option<NaiveDate>,
    /// Payer IBANs (any form) of the bank lines it was learned from: a fact learned from a line whose IBAN
    /// belongs in master data to another customer is not used.
    pub source_ibans: Vec<String>,
}

/// How many confirmations a learned fact needs before it may apply a payment without review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedSettings {
    /// For a payer IBAN.
    pub min_iban: u32,
    /// For a payer name.
    pub min_name: u32,
    /// For a customer's habit (paying several invoices with one amount, paying the oldest first).
    pub min_combined: u32,
}

impl Default for LearnedSettings {
    fn default() -> Self {
        LearnedSettings { min_iban: 1, min_name: 2, min_combined: 2 }
    }
}

/// The usable facts, indexed by IBAN, by name and (habits) by customer.
#[derive(Debug, Default)]
pub(super) struct LearnedBook {
    facts: Vec<(LearnedFact, u32)>,
    by_iban: HashMap<String, Vec<u32>, FastStrBuild>,
    by_name: HashMap<String, Vec<u32>, FastStrBuild>,
    combined: HashMap<u32, u32>,
    oldest_first: HashMap<u32, u32>,
    /// Reference formats: compiled, with their fact and customer.
    formats: Vec<(Vec<super::reference_formats::Part>, u32, u32)>,
    /// The team's oldest-first choices over all customers: (confirmations, rejections, customers).
    oldest_first_team: (u32, u32, u32),
    settings: LearnedSettings,
}

/// Confirmations of "the oldest first" over all customers, with at most one choice of a later item per
/// [`TEAM_OLDEST_FIRST_RATIO`], after which the team's habit applies to every customer identified for sure.
const TEAM_OLDEST_FIRST_MIN: u32 = 10;
const TEAM_OLDEST_FIRST_RATIO: u32 = 50;

/// What learned facts say about one line's payer.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LearnedPayer {
    /// Customers the learned facts name (IBAN facts' first), each at most once.
    pub(super) custs: Vec<u32>,
    /// The facts about the line's payer (for evidence).
    facts: Vec<u32>,
    /// The single customer may be applied to without review.
    pub(super) trusted: bool,
    /// The identification comes from a learned IBAN (not only a name).
    pub(super) by_iban: bool,
}

impl Engine {
    /// Uses what people taught from now on (see the module documentation of `learned` for how).
    pub fn set_learned(&mut self, facts: Vec<LearnedFact>, settings: LearnedSettings) {
        let cust_by_id: HashMap<Uuid, u32> = self.customers.iter().enumerate().map(|(i, c)| (c.id, i as u32)).collect();
        let mut book = LearnedBook { settings, ..LearnedBook::default() };
        for f in facts {
            let Some(&cust) = cust_by_id.get(&f.customer_id) else { continue };
            if f.confirmations == 0 && f.rejections == 0 {
                continue;
            }
            // Never payer data from a line whose IBAN master data gives to another customer.
            let conflicting = f
                .source_ibans
                .iter()
                .any(|i| self.iban_index.get(&*normalize_iban(i)).is_some_and(|owners| !owners.contains(&cust)));
            if conflicting {
                continue;
            }
            let n = book.facts.len() as u32;
            match f.kind {
                // Master data decides for an IBAN it knows.
                LearnedKind::PayerIban if self.iban_index.contains_key(&*normalize_iban(&f.key)) => continue,
                LearnedKind::PayerIban => book.by_iban.entry(normalize_iban(&f.key).into_owned()).or_default().push(n),
                LearnedKind::PayerName if f.key.is_empty() => continue,
                LearnedKind::PayerName => book.by_name.entry(f.key.clone()).or_default().push(n),
                LearnedKind::CombinedPayments => {
                    book.combined.insert(cust, n);
                }
                LearnedKind::ReferenceFormat => match super::reference_formats::compile(&f.key) {
                    Some(parts) => book.formats.push((parts, n, cust)),
                    None => continue,
                },
                LearnedKind::OldestFirst => {
                    book.oldest_first.insert(cust, n);
                    let team = &mut book.oldest_first_team;
                    *team = (
                        team.0.saturating_add(f.confirmations),
                        team.1.saturating_add(f.rejections),
                        team.2.saturating_add(1),
                    );
                }
            }
            book.facts.push((f, cust));
        }
        self.learned = book;
    }

    /// Reads the learned facts about the line's payer into `ctx` (only when master data's IBANs say nothing).
    pub(super) fn resolve_learned(&self, ctx: &mut Ctx) {
        let book = &self.learned;
        if !ctx.iban_custs.is_empty() || (book.by_iban.is_empty() && book.by_name.is_empty()) {
            return;
        }
        let iban_facts: &[u32] = ctx.iban.as_deref().and_then(|i| book.by_iban.get(i)).map_or(&[], |v| v.as_slice());
        let name_facts: Vec<u32> = if book.by_name.is_empty() {
            Vec::new()
        } else {
            ctx.name().and_then(|n| book.by_name.get(&n.canonical)).cloned().unwrap_or_default()
        };
        if iban_facts.is_empty() && name_facts.is_empty() {
            return;
        }
        let positive = |fs: &[u32]| -> Vec<u32> {
            let mut v: Vec<u32> = Vec::new();
            for &f in fs {
                let (fact, c) = &book.facts[f as usize];
                if fact.confirmations > 0 && !v.contains(c) {
                    v.push(*c);
                }
            }
            v
        };
        let (by_iban_custs, by_name_custs) = (positive(iban_facts), positive(&name_facts));
        let by_iban = !by_iban_custs.is_empty();
        let mut custs = by_iban_custs;
        for c in by_name_custs {
            if !custs.contains(&c) {
                custs.push(c);
            }
        }
        if custs.is_empty() {
            return;
        }
        let facts: Vec<u32> = iban_facts.iter().chain(&name_facts).copied().collect();
        let trusted = custs.len() == 1 && self.learned_trusted(ctx, custs[0], &facts, by_iban);
        ctx.learned = Some(LearnedPayer { custs, facts, trusted, by_iban });
    }

    /// The customers learned facts name for a payer IBAN (normalised) or name (normalised), confirmed at least
    /// once.
    pub(super) fn learned_payer_customers(&self, iban: Option<&str>, name: Option<&str>) -> Vec<u32> {
        let book = &self.learned;
        let by_iban = iban.and_then(|i| book.by_iban.get(i)).map_or(&[][..], |v| v.as_slice());
        let by_name = name.and_then(|n| book.by_name.get(n)).map_or(&[][..], |v| v.as_slice());
        let mut out: Vec<u32> = Vec::new();
        for &f in by_iban.iter().chain(by_name) {
            let (fact, c) = &book.facts[f as usize];
            if fact.confirmations > 0 && !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }

    /// One customer named: may it be applied to without review?
    fn learned_trusted(&self, ctx: &mut Ctx, cust: u32, facts: &[u32], by_iban: bool) -> bool {
        let book = &self.learned;
        let of = |f: &u32| &book.facts[*f as usize];
        // A rejection for this customer of anything the line's payer is known by stops automatic application.
        if facts.iter().map(of).any(|(f, c)| *c == cust && f.rejections > 0) {
            return false;
        }
        let (kind, min) = if by_iban {
            (LearnedKind::PayerIban, book.settings.min_iban)
        } else {
            (LearnedKind::PayerName, book.settings.min_name)
        };
        let enough = facts.iter().map(of).any(|(f, c)| *c == cust && f.kind == kind && f.confirmations >= min);
        if !enough {
            return false;
        }
        // A name another customer's master data also carries identifies nobody for sure.
        by_iban || ctx.name().is_none_or(|n| self.name_index.lookup(n, 3).iter().all(|&c| c == cust))
    }

    /// The payer fit of `cust` once learned facts are read: a trusted learned customer counts like an IBAN, an
    /// untrusted one at least as "learned" (a person's word beats a name that does not resemble the customer).
    pub(super) fn learned_fit(&self, ctx: &Ctx, cust: u32, fit: PayerFit) -> PayerFit {
        match &ctx.learned {
            Some(l) if l.custs.contains(&cust) => {
                if l.trusted {
                    PayerFit::Learned(true)
                } else if matches!(fit, PayerFit::Name(_)) {
                    fit
                } else if l.custs.len() > 1 && self.learned_for_without_rejection(l, cust) {
                    PayerFit::LearnedAmongSeveral
                } else {
                    PayerFit::Learned(false)
                }
            }
            _ => fit,
        }
    }

    /// Whether the facts about the line's payer confirm `cust` and none of them was rejected for it.
    fn learned_for_without_rejection(&self, l: &LearnedPayer, cust: u32) -> bool {
        let facts = l.facts.iter().map(|&f| &self.learned.facts[f as usize]).filter(|(_, c)| *c == cust);
        let (mut confirmed, mut rejected) = (false, false);
        for (f, _) in facts {
            confirmed |= f.confirmations > 0;
            rejected |= f.rejections > 0;
        }
        confirmed && !rejected
    }

    /// Whether learned facts name `cust` for the line's payer without trusting it.
    pub(super) fn learned_untrusted(&self, ctx: &Ctx, cust: u32) -> bool {
        ctx.learned.as_ref().is_some_and(|l| !l.trusted && l.custs.contains(&cust))
    }

    /// The customers a payer no master-data IBAN identifies may be: a trusted learned customer alone, else the
    /// learned customers first, then those whose master-data name the payer's resembles.
    pub(super) fn unidentified_payer_custs(&self, ctx: &mut Ctx) -> Vec<u32> {
        let mut custs = match &ctx.learned {
            Some(l) if l.trusted => return l.custs.clone(),
            Some(l) => l.custs.clone(),
            None => Vec::new(),
        };
        if let Some(n) = ctx.name() {
            for c in self.name_index.lookup(n, 3) {
                if !custs.contains(&c) {
                    custs.push(c);
                }
            }
        }
        custs
    }

    /// Whether the only subset sum of `cust`'s open items may be applied: the payer is identified for sure (a
    /// master-data IBAN, or learned facts trusted to apply payments on their own) and the customer has the
    /// confirmed habit. The subset search also has to have seen every open item that could be part of a sum
    /// (with more than it considers, "the only one" would not be known); it checks that itself.
    pub(super) fn habit_applies(&self, ctx: &Ctx, cust: u32) -> bool {
        let identified =
            ctx.iban_custs == [cust] || ctx.learned.as_ref().is_some_and(|l| l.trusted && l.custs == [cust]);
        identified && self.pays_combined(cust)
    }

    /// Why the oldest of `cust`'s equal open items may be applied without review, if it may: the payer is
    /// identified for sure and either the customer's own habit is confirmed often enough and never contradicted,
    /// or the team has confirmed the oldest for many customers and (almost) never chosen a later one, and never
    /// for this customer.
    pub(super) fn oldest_first_learned(&self, ctx: &Ctx, cust: u32) -> Option<String> {
        let book = &self.learned;
        let identified =
            ctx.iban_custs == [cust] || ctx.learned.as_ref().is_some_and(|l| l.trusted && l.custs == [cust]);
        if !identified {
            return None;
        }
        let own = book.oldest_first.get(&cust).map(|&f| &book.facts[f as usize].0);
        if own.is_some_and(|f| f.rejections > 0) {
            return None;
        }
        if let Some(f) = own.filter(|f| f.confirmations >= book.settings.min_combined) {
            return Some(self.describe_fact(f, true));
        }
        let (yes, no, custs) = book.oldest_first_team;
        (yes >= TEAM_OLDEST_FIRST_MIN && no.saturating_mul(TEAM_OLDEST_FIRST_RATIO) <= yes).then(|| {
            let times = |n: u32| if n == 1 { "1 time".to_string() } else { format!("{n} times") };
            format!(
                "learned: the team pays the oldest of equal open items first (confirmed {} for {custs} customers, \
                 a later one chosen {})",
                times(yes),
                times(no)
            )
        })
    }

    pub(super) fn has_learned_formats(&self) -> bool {
        !self.learned.formats.is_empty()
    }

    /// The learned reference formats: compiled, with their fact and customer.
    pub(super) fn learned_formats(&self) -> impl Iterator<Item = (&[super::reference_formats::Part], u32, u32)> {
        self.learned.formats.iter().map(|(parts, fact, cust)| (parts.as_slice(), *fact, *cust))
    }

    /// A learned format reads a document as well as a degraded number once confirmed as often as a
    /// payer name must be, and never rejected.
    pub(super) fn format_trusted(&self, fact: u32) -> bool {
        let (f, _) = &self.learned.facts[fact as usize];
        f.rejections == 0 && f.confirmations >= self.learned.settings.min_name
    }

    /// Whether `cust` has the confirmed habit of paying several invoices with one amount.
    pub(super) fn pays_combined(&self, cust: u32) -> bool {
        let book = &self.learned;
        book.combined.get(&cust).is_some_and(|&f| {
            let (fact, _) = &book.facts[f as usize];
            fact.rejections == 0 && fact.confirmations >= book.settings.min_combined
        })
    }

    /// The learned evidence of a hypothesis: the facts about the line's payer that name its customer, and the
    /// customer's habit of paying several invoices at once for a subset sum.
    pub(super) fn learned_evidence(&self, ctx: &Ctx, h: &Hyp) -> Vec<String> {
        let Some((cust, _)) = h.payer else { return Vec::new() };
        if cust == NO_CUSTOMER {
            return Vec::new();
        }
        let book = &self.learned;
        let mut out = Vec::new();
        if let Some(l) = &ctx.learned {
            for &f in &l.facts {
                let (fact, c) = &book.facts[f as usize];
                if *c == cust {
                    out.push(self.describe_fact(fact, l.trusted));
                }
            }
        }
        for f in self.formats_quoted(ctx.line, cust) {
            out.push(self.describe_fact(&book.facts[f as usize].0, self.format_trusted(f)));
        }
        if h.rule == "subset_sum" {
            if let Some(&f) = book.combined.get(&cust) {
                out.push(self.describe_fact(&book.facts[f as usize].0, self.pays_combined(cust)));
            }
        }
        if h.rule == "fifo_same_amount" {
            if let Some(why) = self.oldest_first_learned(ctx, cust) {
                out.push(why);
            }
        }
        out
    }

    fn describe_fact(&self, f: &LearnedFact, trusted: bool) -> String {
        let what = match f.kind {
            LearnedKind::PayerIban => format!("payer IBAN {} pays for customer {}", f.key, f.customer_label),
            LearnedKind::PayerName => format!("payer name '{}' pays for customer {}", f.key, f.customer_label),
            LearnedKind::CombinedPayments => {
                format!("customer {} pays several invoices with one amount", f.customer_label)
            }
            LearnedKind::OldestFirst => {
                format!("customer {} pays the oldest of equal open items first", f.customer_label)
            }
            LearnedKind::ReferenceFormat => {
                format!("customer {} quotes our numbers as '{}' ({{n}}: the running number)", f.customer_label, f.key)
            }
        };
        let times = |n: u32| if n == 1 { "1 time".to_string() } else { format!("{n} times") };
        let mut how = format!("confirmed {}", times(f.confirmations));
        if let Some(by) = &f.last_confirmed_by {
            how.push_str(&format!(", last by {by}"));
        }
        if let Some(on) = f.last_confirmed_on {
            how.push_str(&format!(" on {on}"));
        }
        if f.rejections > 0 {
            how.push_str(&format!("; rejected {}, so never applied automatically", times(f.rejections)));
        } else if !trusted {
            how.push_str("; not enough on its own to apply automatically");
        }
        format!("learned: {what} ({how})")
    }
}

/// Shortest payer name (letters and digits) worth learning: shorter ones ("BANK", "AG") name nobody.
const MIN_NAME_CHARS: usize = 4;

/// What a person's decision on a line teaches about the one customer whose documents it concerns: the payer IBAN,
/// the payer name (normalised as matching compares names), when the line pays several invoices (`paid_doc_nos`,
/// credit notes left out) without quoting any of them in `texts`, the habit of paying several invoices with one
/// amount, and for each document the texts quote in a shape the built-in reading does not know, that shape
/// ([`learn_format`](super::reference_formats::learn_format)).
pub fn lessons(
    iban: Option<&str>,
    name: Option<&str>,
    texts: &[&str],
    paid_doc_nos: &[&str],
) -> Vec<(LearnedKind, String)> {
    let mut out = Vec::new();
    if let Some(i) = iban.map(normalize_iban).filter(|i| !i.is_empty()) {
        out.push((LearnedKind::PayerIban, i.into_owned()));
    }
    let name = name.map(normalize_name).filter(|n| n.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_NAME_CHARS);
    if let Some(n) = name {
        out.push((LearnedKind::PayerName, n));
    }
    if paid_doc_nos.len() >= 2 && !quotes_any(texts, paid_doc_nos) {
        out.push((LearnedKind::CombinedPayments, String::new()));
    }
    for d in paid_doc_nos {
        if quotes_any(texts, &[*d]) {
            continue;
        }
        if let Some(format) = super::reference_formats::learn_format(texts, d) {
            if !out.iter().any(|(k, f)| *k == LearnedKind::ReferenceFormat && *f == format) {
                out.push((LearnedKind::ReferenceFormat, format));
            }
        }
    }
    out
}

/// Whether any text quotes one of the documents by its full number or a degraded form of it (a running number
/// alone does not count).
fn quotes_any(texts: &[&str], doc_nos: &[&str]) -> bool {
    let probes: Vec<String> = texts
        .iter()
        .flat_map(|t| extract_references(t))
        .filter(|(_, strength, _)| *strength >= RefStrength::Degraded)
        .map(|(_, _, key)| key)
        .collect();
    doc_nos.iter().any(|d| {
        let k = doc_keys(d);
        probes.iter().any(|p| *p == k.full || k.compact.as_deref() == Some(p) || k.digits.as_deref() == Some(p))
    })
}
