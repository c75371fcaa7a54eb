//! Rules compiled once per run and evaluated per bank line.
//!
//! Evaluation must stay cheap with dozens of rules over a million lines: every text field is
//! searched once for all rules' patterns together (one [`RegexSet`] per field), and only the rules
//! without patterns and those whose patterns matched are looked at further (cheap conditions:
//! sign, amount, currency, account, code, dates); a rule's own pattern runs only to read its
//! capture.

use std::collections::HashSet;

use chrono::NaiveDate;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Action, CaptureFrom, RuleDefinition, Sign, WriteOffKind};
use crate::domain::cash_application::{DocKind, LineInput};
use crate::domain::document::DocType;
use line_texts::{compact_upper, starts_with_ignore_ascii_case, LineTexts};

mod line_texts;

/// Compiled size limit of one pattern: enough for any reference shape, far below what would cost
/// noticeable memory per run.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Builds one pattern as rules use it: case-insensitive, Unicode, size-limited, word boundaries
/// ASCII (see [`ascii_word_boundaries`]). The error is a sentence for a 422.
pub fn build_pattern(p: &str) -> Result<Regex, String> {
    if p.len() > super::MAX_PATTERN_LEN {
        return Err(format!("a pattern of at most {} bytes", super::MAX_PATTERN_LEN));
    }
    RegexBuilder::new(&ascii_word_boundaries(p))
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .nest_limit(50)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the pattern is too large once compiled".to_string(),
            other => format!("not a valid pattern: {}", first_line(&other.to_string())),
        })
}

/// `\b` and `\B` as ASCII word boundaries: in bank texts Chinese and other non-Latin words abut
/// references without a space (`货款INV-2026-001`), which a Unicode boundary would not separate,
/// and a Unicode boundary makes the regex engine leave its fast automaton on any non-ASCII text.
/// Escaped backslashes and the `\b{...}` forms are left alone.
pub fn ascii_word_boundaries(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) if chars.peek() != Some(&'{') => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().chars().take(200).collect()
}

/// Which rule (and version) did something; every allocation a rule shaped carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The rule's id.
    pub id: Uuid,
    /// The version that was in force.
    pub version: i32,
    /// Its name, for explanations.
    pub name: String,
}

/// An enabled rule as loaded for a run, in the tenant's order.
#[derive(Debug, Clone)]
pub struct StoredRule {
    /// Identity, version and name.
    pub rule: RuleRef,
    /// What it says.
    pub definition: RuleDefinition,
}

/// Customer and group codes resolved to customer ids when the rules are compiled.
pub trait CodeLookup {
    /// The customer with this code.
    fn customer(&self, code: &str) -> Option<Uuid>;
    /// The members of the group with this code (the parent included).
    fn group_members(&self, code: &str) -> Option<Vec<Uuid>>;
}

/// Which documents a line may be allocated to under a `restrict_candidates` rule.
#[derive(Debug, Clone, Default)]
pub struct CandidateFilter {
    /// Allowed customers (codes and groups resolved); `None` = any.
    pub customers: Option<HashSet<Uuid>>,
    /// Allowed document kinds; empty = any.
    pub kinds: Vec<DocKind>,
    /// Due date window relative to the booking date, in days.
    pub due_from_days: Option<i32>,
    /// See `due_from_days`.
    pub due_to_days: Option<i32>,
}

impl CandidateFilter {
    /// Whether a document of `customer`, of `kind`, due on `due`, may take a line booked on `booked`.
    pub fn allows(&self, customer: Uuid, kind: DocKind, due: Option<NaiveDate>, booked: NaiveDate) -> bool {
        if self.customers.as_ref().is_some_and(|c| !c.contains(&customer)) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&kind) {
            return false;
        }
        if self.due_from_days.is_none() && self.due_to_days.is_none() {
            return true;
        }
        let Some(due) = due else { return false };
        let days = (due - booked).num_days();
        self.due_from_days.is_none_or(|f| days >= i64::from(f)) && self.due_to_days.is_none_or(|t| days <= i64::from(t))
    }
}

/// Tolerances a rule sets for a line instead of the tenant's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ToleranceOverride {
    /// Fee shortfall as a fraction.
    pub percent: Option<Decimal>,
    /// Fee shortfall in the base currency.
    pub absolute: Option<Decimal>,
    /// FX gap as a fraction.
    pub fx_percent: Option<Decimal>,
}

/// A remainder a rule writes off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemainderWriteOff {
    /// Largest amount, in the document's currency.
    pub limit: Decimal,
    /// Why.
    pub reason: WriteOffKind,
    /// Expected shortfall as a fraction of the document amount.
    pub rate: Option<Decimal>,
}

/// What the rules say about one line. Several rules may hold; for a single-valued effect the
/// first rule in the tenant's order wins, and every rule that held is listed in `fired`.
/// Write-offs are the exception: each rule's is tried in order and the first that fits the
/// remainder is used, so a broad rule does not hide a narrower one behind it.
#[derive(Debug, Clone, Default)]
pub struct LineEffects {
    /// Every rule whose conditions held, in order.
    pub fired: Vec<RuleRef>,
    /// Mark the line ignored with this reason.
    pub ignore: Option<(RuleRef, String)>,
    /// Propose whatever is found, never apply.
    pub propose_only: Option<RuleRef>,
    /// Captured texts to look up as document references (prefix applied).
    pub document_refs: Vec<(RuleRef, String)>,
    /// Which field each of `document_refs` was read from (same order), for the evidence.
    pub document_ref_from: Vec<CaptureFrom>,
    /// Captured texts naming the customer (a code or a name).
    pub customer_refs: Vec<(RuleRef, String)>,
    /// Which field each of `customer_refs` was read from (same order).
    pub customer_ref_from: Vec<CaptureFrom>,
    /// Customers a rule says the payer is.
    pub assign_customers: Vec<(RuleRef, Uuid)>,
    /// Candidate restrictions; a document must pass all of them.
    pub restrict: Vec<(RuleRef, CandidateFilter)>,
    /// Candidates across the payer's customer group.
    pub widen_to_group: Option<RuleRef>,
    /// Tolerances for this line.
    pub tolerance: Option<(RuleRef, ToleranceOverride)>,
    /// Remainders the rules write off, in the tenant's order (the first that fits is used).
    pub write_offs: Vec<(RuleRef, RemainderWriteOff)>,
}

impl LineEffects {
    /// No rule held.
    pub fn is_empty(&self) -> bool {
        self.fired.is_empty()
    }
}

/// One rule, ready to evaluate.
struct CompiledRule {
    rule: RuleRef,
    bank_accounts: Vec<String>,
    amount_min: Option<Decimal>,
    amount_max: Option<Decimal>,
    sign: Option<Sign>,
    currencies: Vec<String>,
    codes: Vec<String>,
    booked_from: Option<NaiveDate>,
    booked_to: Option<NaiveDate>,
    /// Per text field: the index of this rule's pattern in that field's set, and the pattern.
    patterns: [Option<(usize, Regex)>; FIELDS],
    filter: Option<CandidateFilter>,
    actions: Vec<Action>,
    /// Customers named by `assign_customer` actions, resolved.
    assigned: Vec<Uuid>,
}

const FIELDS: usize = 4;
const NAME: usize = 0;
const IBAN: usize = 1;
const REMITTANCE: usize = 2;
const E2E: usize = 3;

/// A tenant's enabled rules, compiled for one run.
#[derive(Default)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
    sets: Vec<Option<RegexSet>>,
    /// Rules without a text pattern (indexes into `rules`, in order): looked at for every line.
    unpatterned: Vec<u32>,
    /// Per field: the rule of each pattern of the field's set.
    rule_of_pattern: [Vec<u32>; FIELDS],
    /// Codes that named no customer or group when the rules were compiled (rule name, code).
    pub unresolved: Vec<(String, String)>,
}

impl CompiledRules {
    /// Compiles stored rules (already validated when saved; a pattern that no longer compiles
    /// disables its rule and is reported in `unresolved`).
    pub fn new(stored: &[StoredRule], lookup: &dyn CodeLookup) -> CompiledRules {
        let mut out =
            CompiledRules { rules: Vec::with_capacity(stored.len()), unresolved: Vec::new(), ..Default::default() };
        let mut set_patterns: [Vec<String>; FIELDS] = Default::default();
        for s in stored {
            if let Some(r) = out.compile_one(s, lookup, &mut set_patterns) {
                let at = out.rules.len() as u32;
                if r.patterns.iter().all(Option::is_none) {
                    out.unpatterned.push(at);
                }
                for (f, p) in r.patterns.iter().enumerate() {
                    if p.is_some() {
                        out.rule_of_pattern[f].push(at);
                    }
                }
                out.rules.push(r);
            }
        }
        out.sets = set_patterns
            .into_iter()
            .map(|ps| {
                if ps.is_empty() {
                    return None;
                }
                RegexSetBuilder::new(&ps)
                    .case_insensitive(true)
                    .size_limit(PATTERN_SIZE_LIMIT * 8)
                    .dfa_size_limit(PATTERN_SIZE_LIMIT * 8)
                    .build()
                    .ok()
            })
            .collect();
        out
    }

    fn compile_one(
        &mut self,
        s: &StoredRule,
        lookup: &dyn CodeLookup,
        set_patterns: &mut [Vec<String>; FIELDS],
    ) -> Option<CompiledRule> {
        let w = &s.definition.when;
        let texts = [&w.counterparty_name, &w.counterparty_iban, &w.remittance, &w.end_to_end_id];
        let mut patterns: [Option<(usize, Regex)>; FIELDS] = Default::default();
        for (f, p) in texts.iter().enumerate() {
            if let Some(p) = p {
                match build_pattern(p) {
                    Ok(re) => patterns[f] = Some((set_patterns[f].len(), re)),
                    Err(m) => {
                        self.unresolved.push((s.rule.name.clone(), m));
                        return None;
                    }
                }
            }
        }
        // Only a rule whose patterns all compile adds them to the sets: a set's patterns map one
        // to one to the rules that have them.
        for (f, p) in texts.iter().enumerate() {
            if let Some(p) = p {
                set_patterns[f].push(ascii_word_boundaries(p));
            }
        }
        let filter = s
            .definition
            .then
            .iter()
            .any(|a| matches!(a, Action::RestrictCandidates))
            .then(|| self.filter_of(s, lookup));
        let mut assigned = Vec::new();
        for a in &s.definition.then {
            if let Action::AssignCustomer { customer } = a {
                match lookup.customer(customer) {
                    Some(id) => assigned.push(id),
                    None => self.unresolved.push((s.rule.name.clone(), customer.clone())),
                }
            }
        }
        Some(CompiledRule {
            rule: s.rule.clone(),
            bank_accounts: w.bank_accounts.iter().map(|a| compact_upper(a)).collect(),
            amount_min: w.amount_min,
            amount_max: w.amount_max,
            sign: w.sign,
            currencies: w.currencies.iter().map(|c| c.to_ascii_uppercase()).collect(),
            codes: w.bank_transaction_codes.iter().map(|c| c.to_ascii_uppercase()).collect(),
            booked_from: w.booked_from,
            booked_to: w.booked_to,
            patterns,
            filter,
            actions: s.definition.then.clone(),
            assigned,
        })
    }

    fn filter_of(&mut self, s: &StoredRule, lookup: &dyn CodeLookup) -> CandidateFilter {
        let c = &s.definition.candidates;
        let customers = if c.customers.is_empty() && c.customer_groups.is_empty() {
            None
        } else {
            let mut set = HashSet::new();
            for code in &c.customers {
                match lookup.customer(code) {
                    Some(id) => {
                        set.insert(id);
                    }
                    None => self.unresolved.push((s.rule.name.clone(), code.clone())),
                }
            }
            for code in &c.customer_groups {
                match lookup.group_members(code) {
                    Some(ids) => set.extend(ids),
                    None => self.unresolved.push((s.rule.name.clone(), code.clone())),
                }
            }
            Some(set)
        };
        CandidateFilter {
            customers,
            kinds: c.document_types.iter().map(|t| kind_of(*t)).collect(),
            due_from_days: c.due_from_days,
            due_to_days: c.due_to_days,
        }
    }

    /// Number of rules compiled.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What the rules say about a line.
    pub fn evaluate(&self, line: &LineInput) -> LineEffects {
        let mut fx = LineEffects::default();
        if self.rules.is_empty() {
            return fx;
        }
        let mut texts = LineTexts::new(line);
        let matched = self.rules_with_matching_patterns(&mut texts);
        if matched.is_empty() {
            // Most lines: no pattern matches, only the rules without patterns can hold.
            self.evaluate_rules(&self.unpatterned, line, &mut texts, &mut fx);
        } else {
            let mut candidates: Vec<u32> = self.unpatterned.iter().copied().chain(matched).collect();
            candidates.sort_unstable();
            candidates.dedup();
            self.evaluate_rules(&candidates, line, &mut texts, &mut fx);
        }
        fx
    }

    /// The rules one of whose patterns matches the line (each field's set searched once).
    fn rules_with_matching_patterns(&self, texts: &mut LineTexts) -> Vec<u32> {
        let mut out = Vec::new();
        for f in 0..FIELDS {
            if self.rule_of_pattern[f].is_empty() {
                continue;
            }
            if let Some(m) = texts.set_matches(self, f) {
                out.extend(m.iter().map(|idx| self.rule_of_pattern[f][idx]));
            }
        }
        out
    }

    /// Evaluates `candidates` (rule indexes, in order) until one ignores the line.
    fn evaluate_rules(&self, candidates: &[u32], line: &LineInput, texts: &mut LineTexts, fx: &mut LineEffects) {
        for &k in candidates {
            let r = &self.rules[k as usize];
            if !r.cheap_conditions_hold(line, texts) {
                continue;
            }
            let mut captures: [Option<String>; FIELDS] = Default::default();
            if !r.patterns_hold(self, texts, &mut captures) {
                continue;
            }
            fx.fired.push(r.rule.clone());
            if r.apply(fx, &captures) {
                break;
            }
        }
    }
}

impl CompiledRule {
    fn cheap_conditions_hold(&self, line: &LineInput, texts: &mut LineTexts) -> bool {
        let abs = texts.abs_amount;
        if self.amount_min.is_some_and(|m| abs < m) || self.amount_max.is_some_and(|m| abs > m) {
            return false;
        }
        match self.sign {
            Some(Sign::Credit) if line.amount <= Decimal::ZERO => return false,
            Some(Sign::Debit) if line.amount >= Decimal::ZERO => return false,
            _ => {}
        }
        if !self.currencies.is_empty() && !self.currencies.iter().any(|c| c.eq_ignore_ascii_case(&line.currency)) {
            return false;
        }
        if self.booked_from.is_some_and(|d| line.booking_date < d)
            || self.booked_to.is_some_and(|d| line.booking_date > d)
        {
            return false;
        }
        if !self.bank_accounts.is_empty() {
            let Some(acc) = texts.account() else { return false };
            if !self.bank_accounts.iter().any(|a| a == acc) {
                return false;
            }
        }
        if !self.codes.is_empty() {
            let Some(code) = line.bank_transaction_code.as_deref() else { return false };
            if !self.codes.iter().any(|c| starts_with_ignore_ascii_case(code, c)) {
                return false;
            }
        }
        true
    }

    fn patterns_hold(
        &self,
        all: &CompiledRules,
        texts: &mut LineTexts,
        captures: &mut [Option<String>; FIELDS],
    ) -> bool {
        for (f, p) in self.patterns.iter().enumerate() {
            let Some((idx, re)) = p else { continue };
            if !texts.pattern_matches(all, f, *idx) {
                return false;
            }
            if f == REMITTANCE || f == E2E {
                let text = texts.text(f);
                captures[f] = re.captures(text).and_then(|c| {
                    c.name("ref").or_else(|| c.get(1)).map(|m| m.as_str().trim().to_string()).filter(|s| !s.is_empty())
                });
            }
        }
        true
    }

    /// Adds this rule's effects; true when evaluation stops (the line is ignored).
    fn apply(&self, fx: &mut LineEffects, captures: &[Option<String>; FIELDS]) -> bool {
        let me = &self.rule;
        let capture = |from: CaptureFrom| match from {
            CaptureFrom::Remittance => captures[REMITTANCE].clone(),
            CaptureFrom::EndToEndId => captures[E2E].clone(),
        };
        for a in &self.actions {
            match a {
                Action::Ignore { reason } => {
                    fx.ignore = Some((me.clone(), reason.clone()));
                    return true;
                }
                Action::ProposeOnly => {
                    fx.propose_only.get_or_insert_with(|| me.clone());
                }
                Action::DocumentReference { from, prefix } => {
                    if let Some(c) = capture(*from) {
                        let text = match prefix {
                            Some(p) if !c.to_uppercase().starts_with(&p.to_uppercase()) => format!("{p}{c}"),
                            _ => c,
                        };
                        fx.document_refs.push((me.clone(), text));
                        fx.document_ref_from.push(*from);
                    }
                }
                Action::CustomerReference { from } => {
                    if let Some(c) = capture(*from) {
                        fx.customer_refs.push((me.clone(), c));
                        fx.customer_ref_from.push(*from);
                    }
                }
                Action::AssignCustomer { .. } => {}
                Action::RestrictCandidates => {
                    if let Some(f) = &self.filter {
                        fx.restrict.push((me.clone(), f.clone()));
                    }
                }
                Action::WidenToGroup => {
                    fx.widen_to_group.get_or_insert_with(|| me.clone());
                }
                Action::SetTolerance { percent, absolute, fx_percent } => {
                    let t = ToleranceOverride { percent: *percent, absolute: *absolute, fx_percent: *fx_percent };
                    fx.tolerance.get_or_insert_with(|| (me.clone(), t));
                }
                Action::WriteOffRemainder { limit, reason, rate } => {
                    let w = RemainderWriteOff { limit: *limit, reason: *reason, rate: *rate };
                    fx.write_offs.push((me.clone(), w));
                }
            }
        }
        for &id in &self.assigned {
            fx.assign_customers.push((me.clone(), id));
        }
        false
    }
}

/// The engine's kind of a ledger document type.
pub fn kind_of(t: DocType) -> DocKind {
    match t {
        DocType::Invoice => DocKind::Invoice,
        DocType::CreditNote => DocKind::CreditNote,
        DocType::Payment => DocKind::Payment,
        DocType::Adjustment => DocKind::Adjustment,
    }
}
