//! The tenant's matching rules applied to one line (their effects come from
//! [`CompiledRules::evaluate`](crate::domain::matching_rules::compiled::CompiledRules::evaluate)):
//! ignore the line, read a captured text as a document or customer reference, name the payer,
//! restrict the candidates, set the line's tolerances, write a remainder off, or only propose.
//!
//! Rules add to the built-in evidence and never loosen the ambiguity check on their own: only a
//! rule that says so explicitly (a captured reference, a named payer, a tolerance or a write-off
//! it sets) can make a line apply that would otherwise not; restricting candidates or proposing
//! only can merely hold a line back. Every set a rule shaped names the rule and its version, and
//! what the rule contributed is rendered into `rule_evidence`, apart from the built-in evidence.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::names::{name_similarity, PreparedName};
use super::super::references::{normalize_reference, verify_key, KeyKind, RefStrength};
use super::super::{CustomerInfo, Decision, LineOutcome, OpenItem, WriteOffReason};
use super::build::ref_key;
use super::confidence::{strength_penalty, PayerFit, BASE_FEE, BASE_NOREF_TOLERANCE};
use super::hypothesis::{fmt_pct, Ctx, Ev, HAlloc, Hit, Hyp};
use super::Engine;
use crate::domain::matching_rules::compiled::{RemainderWriteOff, RuleRef, ToleranceOverride};
use crate::domain::matching_rules::{CaptureFrom, WriteOffKind};

/// `Hit::field` of a reference a rule captured: `RULE_FIELD + k` is `document_refs[k]`.
pub(super) const RULE_FIELD: usize = 3;

/// Smallest similarity at which a captured name is taken as a customer's.
const CAPTURED_NAME_SIMILARITY: f64 = 0.9;

/// What the engine needs besides the compiled rules: customers by code and by id, and the
/// documents' own references (a purchase order or contract number) by normalised text.
#[derive(Default)]
pub(super) struct RuleIndexes {
    by_code: HashMap<String, u32>,
    by_id: HashMap<Uuid, u32>,
    pub(super) external: HashMap<String, Vec<u32>>,
}

/// Per-line results of the rules that the decision reads.
#[derive(Default)]
pub(super) struct RuleLine {
    /// The rule that named the payer (the line's IBAN customers were replaced by its customers).
    pub(super) payer_rule: Option<RuleRef>,
    /// Sentences on how the payer was named.
    pub(super) payer_notes: Vec<String>,
    /// Captured texts that named nothing, for the explanation of a line left unmatched.
    pub(super) misses: Vec<String>,
}

/// `rule 'SEPA E2E' v2`, or `draft rule 'SEPA E2E'` for a rule not yet saved (version 0).
pub fn rule_label(r: &RuleRef) -> String {
    if r.version == 0 {
        format!("draft rule '{}'", r.name)
    } else {
        format!("rule '{}' v{}", r.name, r.version)
    }
}

fn from_text(from: CaptureFrom) -> &'static str {
    match from {
        CaptureFrom::Remittance => "the remittance",
        CaptureFrom::EndToEndId => "the end-to-end id",
    }
}

fn reason_of(kind: WriteOffKind) -> WriteOffReason {
    match kind {
        WriteOffKind::BankFee => WriteOffReason::BankFee,
        WriteOffKind::Discount => WriteOffReason::Discount,
        WriteOffKind::Fx => WriteOffReason::Fx,
        WriteOffKind::Manual => WriteOffReason::Manual,
    }
}

impl RuleIndexes {
    pub(super) fn index_customers(&mut self, customers: &[CustomerInfo]) {
        self.by_id = customers.iter().enumerate().map(|(i, c)| (c.id, i as u32)).collect();
    }
}

impl Engine {
    /// Customer codes, so a rule can read a captured customer code (codes compare without case).
    pub fn set_customer_codes(&mut self, codes: impl IntoIterator<Item = (String, Uuid)>) {
        let by_id = &self.rule_ix.by_id;
        let mut by_code = HashMap::new();
        for (code, id) in codes {
            if let Some(&c) = by_id.get(&id) {
                by_code.insert(code.trim().to_uppercase(), c);
            }
        }
        self.rule_ix.by_code = by_code;
    }

    /// The documents' own references (the customer's purchase order or contract number), so a
    /// rule's captured text finds the document that carries it.
    pub fn set_document_references(&mut self, refs: impl IntoIterator<Item = (Uuid, String)>) {
        // A run loads its items in id order: found by binary search, without a map of millions
        // of ids; items in any other order are mapped.
        let sorted = self.items.windows(2).all(|w| w[0].id < w[1].id);
        let by_item: HashMap<Uuid, u32> = match sorted {
            true => HashMap::new(),
            false => self.items.iter().enumerate().map(|(i, it)| (it.id, i as u32)).collect(),
        };
        let index_of = |id: &Uuid| match sorted {
            true => self.items.binary_search_by_key(id, |it| it.id).ok().map(|i| i as u32),
            false => by_item.get(id).copied(),
        };
        let mut external: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, text) in refs {
            let key = normalize_reference(&text);
            if let (Some(i), false) = (index_of(&id), key.is_empty()) {
                external.entry(key).or_default().push(i);
            }
        }
        self.rule_ix.external = external;
    }

    /// The outcome of a line a rule ignores (internal transfer, bank fee, card settlement).
    pub(super) fn ignored(&self, ctx: &Ctx) -> Option<LineOutcome> {
        let (r, reason) = ctx.rules.ignore.as_ref()?;
        Some(LineOutcome {
            line_id: ctx.line.id,
            decision: Decision::Ignored,
            allocations: Vec::new(),
            write_offs: Vec::new(),
            unapplied_remainder: ctx.line.amount,
            explanation: format!("Ignored by {}: {reason}.", rule_label(r)),
            matching_rule: Some(r.clone()),
        })
    }

    /// A payer named by a rule (assigned, or read from the line as a customer code or name)
    /// counts as strongly as a known IBAN: it replaces the customers of the line's IBAN.
    pub(super) fn rule_payer(&self, ctx: &mut Ctx) {
        if ctx.rules.assign_customers.is_empty() && ctx.rules.customer_refs.is_empty() {
            return;
        }
        let mut custs: Vec<u32> = Vec::new();
        let mut notes = Vec::new();
        let mut first: Option<RuleRef> = None;
        for (r, id) in &ctx.rules.assign_customers {
            let Some(&c) = self.rule_ix.by_id.get(id) else { continue };
            notes.push(format!("{} says the payer is customer {}", rule_label(r), self.customers[c as usize].name));
            custs.push(c);
            first.get_or_insert_with(|| r.clone());
        }
        for (k, (r, text)) in ctx.rules.customer_refs.iter().enumerate() {
            let from = ctx.rules.customer_ref_from.get(k).copied().map_or("the line", from_text);
            let found = self.customers_named(text);
            if found.is_empty() {
                ctx.rx.misses.push(format!(
                    "{} read '{text}' from {from}, but no customer has that code or name",
                    rule_label(r)
                ));
                continue;
            }
            let names: Vec<&str> = found.iter().map(|&c| self.customers[c as usize].name.as_str()).collect();
            notes.push(format!("{} read '{text}' from {from}: customer {}", rule_label(r), names.join(", ")));
            custs.extend(found);
            first.get_or_insert_with(|| r.clone());
        }
        if custs.is_empty() {
            return;
        }
        custs.sort_unstable();
        custs.dedup();
        ctx.iban_custs = custs;
        ctx.rx.payer_rule = first;
        ctx.rx.payer_notes = notes;
    }

    /// Customers whose code is `text`, else whose name (or alias) `text` is.
    fn customers_named(&self, text: &str) -> Vec<u32> {
        if let Some(&c) = self.rule_ix.by_code.get(&text.trim().to_uppercase()) {
            return vec![c];
        }
        let n = PreparedName::new(text);
        if n.canonical.is_empty() {
            return Vec::new();
        }
        self.name_index
            .lookup(&n, 3)
            .into_iter()
            .filter(|&c| self.cust_names[c as usize].iter().any(|p| name_similarity(&n, p) >= CAPTURED_NAME_SIMILARITY))
            .collect()
    }

    /// Looks up the rules' captured document references as fully quoted numbers (then as the
    /// documents' own references) and adds them to the line's hits; a document the built-in scan
    /// found as well keeps the stronger reading.
    pub(super) fn rule_hits(&self, ctx: &mut Ctx, hits: &mut Vec<Hit>) {
        if ctx.rules.document_refs.is_empty() {
            return;
        }
        let mut buf = String::new();
        for (k, (r, text)) in ctx.rules.document_refs.iter().enumerate() {
            let key = normalize_reference(text);
            let mut found: Vec<(u32, RefStrength)> = Vec::new();
            if !key.is_empty() {
                for &it in self.refs.get(ref_key(KeyKind::Full, &key)) {
                    if let Some(s) = verify_key(&self.items[it as usize].doc_no, KeyKind::Full, &key, false, &mut buf) {
                        found.push((it, s));
                    }
                }
                if found.is_empty() {
                    if let Some(items) = self.rule_ix.external.get(&key) {
                        found.extend(items.iter().map(|&i| (i, RefStrength::Exact)));
                    }
                }
            }
            if found.is_empty() {
                let from = ctx.rules.document_ref_from.get(k).copied().map_or("the line", from_text);
                ctx.rx
                    .misses
                    .push(format!("{} read '{text}' from {from}, but no document has that number", rule_label(r)));
            }
            for (item, strength) in found {
                let hit = Hit { item, strength, field: RULE_FIELD + k, span: 0..text.len() };
                match hits.iter_mut().find(|h| h.item == item) {
                    Some(h) if h.strength >= strength => {}
                    Some(h) => *h = hit,
                    None => hits.push(hit),
                }
            }
        }
    }

    /// The sentence for a reference a rule captured.
    fn rule_ref_evidence(&self, ctx: &Ctx, hit: &Hit) -> Option<(RuleRef, String)> {
        let k = hit.field.checked_sub(RULE_FIELD)?;
        let (r, text) = ctx.rules.document_refs.get(k)?;
        let from = ctx.rules.document_ref_from.get(k).copied().map_or("the line", from_text);
        let it = &self.items[hit.item as usize];
        let own = if normalize_reference(&it.doc_no) == normalize_reference(text) {
            String::new()
        } else {
            format!(" ({} carries it as its reference)", it.doc_no)
        };
        Some((r.clone(), format!("{} read '{text}' from {from}{own}", rule_label(r))))
    }

    /// Fee tolerance on `open` in currency `cur` under a rule's override: the given figures
    /// replace the tenant's, and the smaller of the relative and the absolute one applies.
    pub(super) fn rule_tolerance(&self, t: &ToleranceOverride, open: Decimal, cur: u16) -> Decimal {
        let pct = t.percent.unwrap_or(self.settings.tolerance_percent);
        let abs = match t.absolute {
            Some(a) => match self.fx.rate(&self.settings.base_currency, &self.currencies[cur as usize]) {
                Some(rate) => a * rate,
                None => a,
            },
            None => self.abs_tolerance[cur as usize],
        };
        (open * pct).min(abs)
    }

    /// The FX tolerance of this line (a rule's, else the tenant's).
    pub(super) fn fx_tolerance(&self, ctx: &Ctx) -> Decimal {
        ctx.rules.tolerance.as_ref().and_then(|(_, t)| t.fx_percent).unwrap_or(self.settings.fx_tolerance_percent)
    }

    /// The first rule (in the tenant's order) that writes off `short` left on `it`: at most its
    /// limit and, when it gives a rate, that fraction of the document to one minor unit.
    fn write_off_fits(&self, ctx: &Ctx, it: &OpenItem, short: Decimal) -> Option<(RuleRef, RemainderWriteOff)> {
        if short <= Decimal::ZERO {
            return None;
        }
        ctx.rules
            .write_offs
            .iter()
            .find(|(_, w)| {
                short <= w.limit
                    && w.rate.is_none_or(|rate| (it.amount * rate - short).abs() <= Decimal::new(1, it.amount.scale()))
            })
            .cloned()
    }

    /// The line pays the quoted document short by what a rule writes off: the document is
    /// settled, the remainder written off with the rule's reason. Confident as a fee within
    /// tolerance (applies unless the payer contradicts). Returns whether it was.
    pub(super) fn rule_write_off_hyp(&self, ctx: &mut Ctx, hit: &Hit, short: Decimal, out: &mut Vec<Hyp>) -> bool {
        let it = &self.items[hit.item as usize];
        let Some((r, w)) = self.write_off_fits(ctx, it, short) else { return false };
        let mut h = Hyp::new("rule_write_off", BASE_FEE - strength_penalty(hit.strength));
        h.allocs.push(HAlloc::plain(hit.item, ctx.amount));
        h.write_offs.push((hit.item, short, reason_of(w.reason)));
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!("short by {short} of {}", it.amount));
        h.rule_notes.push(self.write_off_note(&r, w.rate, short, it));
        h.by_rule = Some(r);
        let cust = self.meta[hit.item as usize].cust;
        out.push(self.with_payer(ctx, cust, h));
        true
    }

    /// Without a reference: an open item of the payer left short by what a rule writes off (a
    /// proposal, as a fee without reference is).
    pub(super) fn rule_write_off_noref(&self, ctx: &Ctx, i: u32) -> Option<Hyp> {
        let it = &self.items[i as usize];
        let short = it.open_amount - ctx.amount;
        let (r, w) = self.write_off_fits(ctx, it, short)?;
        let mut h = Hyp::new("rule_write_off", BASE_NOREF_TOLERANCE);
        h.allocs.push(HAlloc::plain(i, ctx.amount));
        h.write_offs.push((i, short, reason_of(w.reason)));
        h.note(format!("short by {short} against {}; no reference quoted", it.doc_no));
        h.rule_notes.push(self.write_off_note(&r, w.rate, short, it));
        h.by_rule = Some(r);
        Some(h)
    }

    fn write_off_note(&self, r: &RuleRef, rate: Option<Decimal>, short: Decimal, it: &OpenItem) -> String {
        let rate = rate.map(|x| format!(" ({} of {})", fmt_pct(x), it.amount)).unwrap_or_default();
        format!("{} writes off {short}{rate} left on {}", rule_label(r), it.doc_no)
    }

    /// Drops hypotheses with a document a `restrict_candidates` rule refuses; returns the best
    /// confidence dropped (a rival the rule excluded still keeps the line from applying).
    pub(super) fn restrict_hyps(&self, ctx: &Ctx, hyps: &mut Vec<Hyp>) -> Option<f64> {
        let filters = &ctx.rules.restrict;
        if filters.is_empty() {
            return None;
        }
        let booked = ctx.line.booking_date;
        let mut dropped: Option<f64> = None;
        let mut refused_by: Option<&RuleRef> = None;
        hyps.retain(|h| {
            let refusing = filters.iter().find(|(_, f)| {
                h.allocs.iter().any(|a| {
                    let it = &self.items[a.item as usize];
                    !f.allows(it.customer_id, it.kind, it.due_date, booked)
                })
            });
            match refusing {
                Some((r, _)) => {
                    dropped = Some(dropped.map_or(h.conf, |d: f64| d.max(h.conf)));
                    refused_by.get_or_insert(r);
                    false
                }
                None => true,
            }
        });
        if let Some(r) = refused_by {
            for h in hyps.iter_mut() {
                h.by_rule.get_or_insert_with(|| r.clone());
                h.rule_notes.push(format!("{} excluded other candidates", rule_label(r)));
            }
        }
        dropped
    }

    /// Names the rule that shaped each hypothesis (a captured reference, the payer, a tolerance,
    /// propose-only) and says what it did.
    pub(super) fn mark_rule_hyps(&self, ctx: &Ctx, hyps: &mut [Hyp]) {
        if ctx.rules.is_empty() && ctx.rx.payer_rule.is_none() {
            return;
        }
        for h in hyps.iter_mut() {
            let by_capture = h.evidence.iter().find_map(|e| match e {
                Ev::Ref(hit) if hit.field >= RULE_FIELD => ctx.rules.document_refs.get(hit.field - RULE_FIELD),
                _ => None,
            });
            if let Some((r, _)) = by_capture {
                h.by_rule.get_or_insert_with(|| r.clone());
            }
            if let (Some(r), Some((_, PayerFit::Iban | PayerFit::Conflict))) = (&ctx.rx.payer_rule, h.payer) {
                h.by_rule.get_or_insert_with(|| r.clone());
            }
            if let Some((r, _)) = &ctx.rules.tolerance {
                if matches!(h.rule, "short_payment_fee" | "foreign_currency") {
                    h.by_rule.get_or_insert_with(|| r.clone());
                    h.rule_notes.push(format!("{} sets the tolerance of this line", rule_label(r)));
                }
            }
            if let Some(r) = &ctx.rules.propose_only {
                h.by_rule.get_or_insert_with(|| r.clone());
                h.rule_notes.push(format!("{} never applies such lines automatically", rule_label(r)));
            }
        }
    }

    /// Whether the payer fit of a set comes from a rule that named the payer (its sentence is
    /// then rule evidence).
    pub(super) fn payer_named_by_rule(&self, ctx: &Ctx, fit: PayerFit) -> bool {
        ctx.rx.payer_rule.is_some() && matches!(fit, PayerFit::Iban | PayerFit::Conflict)
    }

    /// Rule evidence of a hypothesis: the references rules captured, how a rule named the payer,
    /// and what the rules did to the set.
    pub(super) fn rule_evidence(&self, ctx: &Ctx, h: &Hyp) -> Vec<String> {
        let mut out = Vec::new();
        for e in &h.evidence {
            if let Ev::Ref(hit) = e {
                if let Some((_, s)) = self.rule_ref_evidence(ctx, hit) {
                    out.push(s);
                }
            }
        }
        if let Some((c, fit)) = h.payer.filter(|&(_, fit)| self.payer_named_by_rule(ctx, fit)) {
            out.extend(ctx.rx.payer_notes.iter().cloned());
            if fit == PayerFit::Conflict {
                let name = self.customers.get(c as usize).map_or("?", |c| c.name.as_str());
                out.push(format!("the document is of customer {name}, not the payer the rule names"));
            }
        }
        out.extend(h.rule_notes.iter().cloned());
        out
    }

    /// What the rules read but could not use, for the explanation of a line left unmatched.
    pub(super) fn rule_misses(&self, ctx: &Ctx) -> String {
        ctx.rx.misses.iter().map(|m| format!(" Note: {m}.")).collect()
    }
}
