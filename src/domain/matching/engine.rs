//! The matching engine: candidate lookup through hash indexes, the rules, and the decision.
//!
//! For every line the engine builds *hypotheses* (a set of documents with amounts, a rule name, a confidence and
//! evidence), ranks them and decides:
//! * **AutoApplied** when the best hypothesis reaches [`MatchSettings::auto_apply_threshold`] and no materially
//!   different hypothesis comes within [`AMBIGUITY_MARGIN`] of it (ambiguity is never resolved by guessing);
//! * **Proposed** when there is any hypothesis at all (the best sets for a human);
//! * **Unmatched** otherwise, including recognised duplicate payments and lines that are not customer receipts.
//!
//! Confidences are fixed per rule (the `BASE_*` constants) and then adjusted by payer evidence (`payer_adjustment`:
//! IBAN +0.03, name >= 0.9 +0.02, other name -0.05, IBAN of another customer -0.25) and by how the reference was
//! read (`strength_penalty`: full 0, prefix/zeros dropped -0.02, running number only or swapped digits -0.08).
//! The figures are set so that "reference + exact amount" applies on its own, while every rule that leans on the
//! amount alone, or on a weak reading of the reference, needs the payer confirmed (IBAN or strong name) to apply:
//!
//! | rule | base | applies automatically when |
//! |---|---|---|
//! | `reference_exact_amount` | 0.96 | always, unless the IBAN belongs to another customer; running number only: payer confirmed |
//! | `combined_references` (all quoted, credit notes netted) | 0.96 | quoted documents add up exactly |
//! | `combined_references` (one unquoted document fills the rest) | 0.88 | payer confirmed and the fill is unique |
//! | `early_payment_discount` | 0.93 stated / 0.85 unstated | discount word and exact 0.5..5% |
//! | `short_payment_fee` | 0.90 | shortfall within min(2%, 25 base-currency) and payer not contradicting |
//! | `partial_payment` | 0.93 stated / 0.88 unstated | stated, or payer confirmed; never for one of several quoted |
//! | `overpayment` | 0.90 | single quoted document, payer not contradicting, no unquoted document fits the excess |
//! | `foreign_currency` | 0.92 | rate known, converted amount within the FX tolerance, payer not contradicting |
//! | `transposed_digits` | 0.88 | amount equal and payer confirmed |
//! | `amount_and_payer` | 0.93 IBAN / 0.76 name | IBAN identifies one customer with exactly one equal open item |
//! | `fifo_same_amount` | 0.85 (0.91 if enabled) | only with [`MatchSettings::auto_apply_oldest_first`] |
//! | `subset_sum` | 0.75 IBAN / 0.60 name | never (proposal only) |

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::index::{hash_bytes, mix64, FastStrBuild, MultiMap};
use super::names::{name_similarity, NameIndex, PreparedName};
use super::references::{transposed_variants, verify_key, write_doc_key, KeyKind, RefStrength, Scanner};
use super::subset::{find_subsets, signed_subsets};
use super::{
    CustomerInfo, Decision, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem, ProposedAllocation, WriteOff,
};

/// Item belongs to a customer we were not given.
const NO_CUSTOMER: u32 = u32::MAX;
/// A rival hypothesis closer than this to the best one makes the line ambiguous (Proposed).
pub const AMBIGUITY_MARGIN: f64 = 0.05;
/// How many candidate sets a proposal shows.
const MAX_PROPOSED_SETS: usize = 3;
/// Bound on subset-sum search nodes per line, so one customer with a huge open book cannot stall a run.
const SUBSET_NODE_BUDGET: usize = 200_000;
/// Hypotheses that rely on a contradicted or unexplained reference never exceed this (stay Proposed).
const CAP_REFERENCE_CONTRADICTED: f64 = 0.85;

// Base confidences per rule (before payer and reference-strength adjustments).
const BASE_REFERENCE_EXACT: f64 = 0.96;
const BASE_COMBINED: f64 = 0.96;
const BASE_COMBINED_PARTLY_PAID: f64 = 0.78;
const BASE_COMBINED_FILLED: f64 = 0.88;
const BASE_FEE: f64 = 0.90;
const BASE_DISCOUNT_STATED: f64 = 0.93;
const BASE_DISCOUNT_UNSTATED: f64 = 0.85;
const BASE_PARTIAL_STATED: f64 = 0.93;
const BASE_PARTIAL_UNSTATED: f64 = 0.88;
const BASE_OVERPAYMENT: f64 = 0.90;
const BASE_FX: f64 = 0.92;
const BASE_FX_OUTSIDE: f64 = 0.55;
const BASE_TRANSPOSED: f64 = 0.88;
const BASE_AMOUNT_PAYER_IBAN: f64 = 0.93;
const BASE_AMOUNT_PAYER_NAME: f64 = 0.76;
const BASE_FIFO_IBAN: f64 = 0.91;
const BASE_FIFO_PROPOSED: f64 = 0.85;
const BASE_FIFO_NAME: f64 = 0.70;
const BASE_FIFO_LATER: f64 = 0.50;
const BASE_SUBSET_IBAN: f64 = 0.75;
const BASE_SUBSET_NAME: f64 = 0.60;
const BASE_SUBSET_AMBIGUOUS: f64 = 0.45;
const BASE_FILL_AMBIGUOUS: f64 = 0.60;
/// Ceiling for an unannounced part payment, fee, discount or an overpayment of a quoted document when a
/// one-digit-swap variant of the quoted number matches the amount exactly: the typo may explain the line better,
/// so neither reading is applied unless the payer settles it.
const CAP_OUTDONE_BY_TYPO: f64 = 0.80;
const BASE_NOREF_TOLERANCE: f64 = 0.60;

const FIELD_NAMES: [&str; 3] = ["remittance", "creditor reference", "end-to-end id"];

/// How well the line's payer fits a document's customer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PayerFit {
    /// The payer IBAN is one of the customer's accounts.
    Iban,
    /// The payer name matches (similarity given).
    Name(f64),
    /// Nothing to compare.
    Unknown,
    /// A name was given and it does not resemble the customer.
    Mismatch,
    /// The payer IBAN belongs to a different customer.
    Conflict,
}

/// Confidence adjustment for payer evidence. A confirmed payer is what lifts amount- or weak-reference-based rules
/// over the threshold; an IBAN of another customer pulls even an exact reference down to a proposal, because
/// third-party payments exist but must be looked at.
fn payer_adjustment(fit: PayerFit) -> f64 {
    match fit {
        PayerFit::Iban => 0.03,
        PayerFit::Name(s) if s >= 0.9 => 0.02,
        PayerFit::Name(_) | PayerFit::Unknown => 0.0,
        PayerFit::Mismatch => -0.05,
        PayerFit::Conflict => -0.25,
    }
}

/// Confidence penalty for how the reference was read: a full number is decisive, a running number alone is
/// shared by several documents (other prefixes and years) and needs the amount and the payer to agree.
fn strength_penalty(s: RefStrength) -> f64 {
    match s {
        RefStrength::Exact => 0.0,
        RefStrength::Degraded => 0.02,
        RefStrength::BareNumber => 0.08,
        RefStrength::Transposed => 0.08,
    }
}

/// One document reference found in the line.
#[derive(Debug, Clone)]
struct Hit {
    item: u32,
    strength: RefStrength,
    field: usize,
    /// Byte range of the quoted text in the field (rendered into evidence only when shown).
    span: std::ops::Range<usize>,
}

/// Evidence kept unformatted until a hypothesis is shown: most hypotheses are never rendered.
#[derive(Debug, Clone)]
enum Ev {
    Ref(Hit),
    AmountEqual,
    Text(String),
}

#[derive(Debug, Clone)]
struct HAlloc {
    item: u32,
    amount: Decimal,
    line_amount: Decimal,
    fx_rate: Option<Decimal>,
}

/// A candidate explanation of a line.
#[derive(Debug, Clone)]
struct Hyp {
    allocs: Vec<HAlloc>,
    write_offs: Vec<(u32, Decimal, &'static str)>,
    rule: &'static str,
    conf: f64,
    evidence: Vec<Ev>,
    /// Customer and payer fit, rendered as evidence only if the hypothesis is shown (formatting is costly).
    payer: Option<(u32, PayerFit)>,
}

impl Hyp {
    fn new(rule: &'static str, conf: f64) -> Self {
        Hyp {
            allocs: Vec::new(),
            write_offs: Vec::new(),
            rule,
            conf: conf.clamp(0.0, 0.99),
            evidence: Vec::new(),
            payer: None,
        }
    }

    fn note(&mut self, s: String) {
        self.evidence.push(Ev::Text(s));
    }

    fn items(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.allocs.iter().map(|a| a.item).collect();
        v.sort_unstable();
        v
    }
}

/// Per-line facts computed once.
struct Ctx<'a> {
    line: &'a LineInput,
    amount: Decimal,
    cur: Option<u16>,
    iban: Option<Cow<'a, str>>,
    iban_custs: Vec<u32>,
    /// Prepared payer name, computed on first use (most lines are decided by IBAN or reference alone).
    name: Option<Option<PreparedName>>,
    /// Payer fits computed so far (a line rarely concerns more than a few customers; beyond the array they are
    /// recomputed, which is only slower).
    fits: [(u32, PayerFit); 6],
    n_fits: usize,
}

impl Ctx<'_> {
    fn name(&mut self) -> Option<&PreparedName> {
        let line = self.line;
        self.name
            .get_or_insert_with(|| {
                line.counterparty_name.as_deref().map(PreparedName::new).filter(|n| !n.canonical.is_empty())
            })
            .as_ref()
    }
}

/// The cash-application engine. Holds the open book and its indexes; [`Engine::match_line`] mutates open amounts
/// when it auto-applies, so lines must be fed in booking-date order.
pub struct Engine {
    settings: MatchSettings,
    fx: FxRates,
    customers: Vec<CustomerInfo>,
    cust_names: Vec<Vec<PreparedName>>,
    name_index: NameIndex,
    iban_index: HashMap<String, Vec<u32>, FastStrBuild>,
    items: Vec<OpenItem>,
    /// Per item: customer and currency numbers, kept apart from [`OpenItem`] so the hot checks touch one small
    /// record instead of the whole item.
    meta: Vec<Meta>,
    /// Leading letters of our document numbers ("INV", "CN"): a quoted text is only searched for swapped digits
    /// if it is shaped like one of ours.
    prefixes: Vec<String>,
    settled_by: Vec<Option<Uuid>>,
    currencies: Vec<String>,
    abs_tolerance: Vec<Decimal>,
    /// Reference keys (all [`KeyKind`]s) -> items.
    refs: MultiMap,
    /// (customer, currency, open amount) -> open debit items.
    amounts: MultiMap,
    /// Debit items per customer, oldest issue first (subset sums and no-reference tolerance checks).
    cust_items: Vec<Vec<u32>>,
    scanner: Scanner,
    scratch: String,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    cust: u32,
    cur: u16,
}

/// Amount as an integer count of 1/10000 units: exact for every currency we handle, hashable, cheap to compare.
fn minor(a: Decimal) -> i64 {
    let mut a = a;
    a.rescale(4);
    i64::try_from(a.mantissa()).unwrap_or(i64::MAX)
}

fn amount_key(cust: u32, cur: u16, amount: Decimal) -> u64 {
    mix64(mix64((u64::from(cust) << 16) | u64::from(cur)) ^ (minor(amount) as u64))
}

fn ref_key(kind: KeyKind, key: &str) -> u64 {
    hash_bytes(kind.tag(), key.as_bytes())
}

/// `format!` into a buffer sized up front: `format!` under-estimates messages with arguments and reallocates two or
/// three times, which is measurable at a million lines.
macro_rules! text {
    ($cap:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let mut s = String::with_capacity($cap);
        let _ = write!(s, $($arg)*);
        s
    }};
}

fn fmt_pct(x: Decimal) -> String {
    format!("{}%", (x * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

impl Engine {
    /// Builds the engine and its indexes: reference keys of every item (settled ones included, to recognise
    /// duplicates), open debit items by (customer, currency, amount), customers by IBAN and by name.
    pub fn new(customers: Vec<CustomerInfo>, items: Vec<OpenItem>, fx: FxRates, settings: MatchSettings) -> Engine {
        let mut cust_by_id: HashMap<Uuid, u32> = HashMap::with_capacity(customers.len());
        let mut iban_index: HashMap<String, Vec<u32>, FastStrBuild> = HashMap::default();
        let mut name_index = NameIndex::default();
        let mut cust_names = Vec::with_capacity(customers.len());
        for (i, c) in customers.iter().enumerate() {
            let i = i as u32;
            cust_by_id.insert(c.id, i);
            for acct in &c.bank_accounts {
                let key = normalize_iban(acct).into_owned();
                if key.is_empty() {
                    continue;
                }
                let e = iban_index.entry(key).or_default();
                if !e.contains(&i) {
                    e.push(i);
                }
            }
            let names: Vec<PreparedName> =
                std::iter::once(&c.name).chain(&c.aliases).map(|n| PreparedName::new(n)).collect();
            for n in &names {
                name_index.add(n, i);
            }
            cust_names.push(names);
        }
        name_index.finish();

        let mut currencies: Vec<String> = Vec::new();
        let mut ref_pairs: Vec<(u64, u32)> = Vec::with_capacity(items.len() * 4);
        let mut amount_pairs: Vec<(u64, u32)> = Vec::with_capacity(items.len());
        let mut cust_items: Vec<Vec<u32>> = vec![Vec::new(); customers.len()];
        let mut meta = Vec::with_capacity(items.len());
        let mut prefixes: Vec<String> = Vec::new();
        let mut buf = String::new();
        for (i, it) in items.iter().enumerate() {
            let idx = i as u32;
            let cust = cust_by_id.get(&it.customer_id).copied().unwrap_or(NO_CUSTOMER);
            let cur_up = it.currency.to_ascii_uppercase();
            let cur = match currencies.iter().position(|c| *c == cur_up) {
                Some(p) => p as u16,
                None => {
                    currencies.push(cur_up);
                    (currencies.len() - 1) as u16
                }
            };
            meta.push(Meta { cust, cur });
            let lead = &it.doc_no[..it.doc_no.bytes().take_while(u8::is_ascii_alphabetic).count()];
            if prefixes.len() < 64 && !prefixes.iter().any(|p| p.eq_ignore_ascii_case(lead)) {
                prefixes.push(lead.to_ascii_uppercase());
            }
            for kind in [KeyKind::Full, KeyKind::Compact, KeyKind::Digits, KeyKind::Last] {
                if write_doc_key(&it.doc_no, kind, &mut buf) {
                    ref_pairs.push((ref_key(kind, &buf), idx));
                }
            }
            if cust != NO_CUSTOMER && it.kind.is_debit() {
                cust_items[cust as usize].push(idx);
                if it.open_amount > Decimal::ZERO {
                    amount_pairs.push((amount_key(cust, cur, it.open_amount), idx));
                }
            }
        }
        let refs = MultiMap::from_pairs(ref_pairs);
        let amounts = MultiMap::from_pairs(amount_pairs);
        for list in &mut cust_items {
            list.sort_by(|&a, &b| oldest_first(&items[a as usize], &items[b as usize]));
        }
        let abs_tolerance = currencies
            .iter()
            .map(|c| match fx.rate(&settings.base_currency, c) {
                Some(r) => settings.tolerance_absolute * r,
                None => settings.tolerance_absolute,
            })
            .collect();
        let n = items.len();
        Engine {
            settings,
            fx,
            customers,
            cust_names,
            name_index,
            iban_index,
            items,
            meta,
            prefixes,
            settled_by: vec![None; n],
            currencies,
            abs_tolerance,
            refs,
            amounts,
            cust_items,
            scanner: Scanner::default(),
            scratch: String::new(),
        }
    }

    /// The current state of every item (open amounts reflect what was auto-applied so far).
    pub fn items(&self) -> &[OpenItem] {
        &self.items
    }

    /// Decides one line; auto-applied allocations reduce the open amounts inside the engine, so later lines see
    /// them (process lines in booking-date order).
    pub fn match_line(&mut self, line: &LineInput) -> LineOutcome {
        if line.amount <= Decimal::ZERO {
            return unmatched(line, "Left unmatched: a debit or zero line is not a customer receipt.".to_string());
        }
        let iban = line.counterparty_iban.as_deref().map(normalize_iban).filter(|s| !s.is_empty());
        let iban_custs = iban.as_deref().and_then(|i| self.iban_index.get(i)).cloned().unwrap_or_default();
        let mut ctx = Ctx {
            line,
            amount: line.amount,
            cur: self.currencies.iter().position(|c| c.eq_ignore_ascii_case(&line.currency)).map(|p| p as u16),
            iban,
            iban_custs,
            name: None,
            fits: [(NO_CUSTOMER, PayerFit::Unknown); 6],
            n_fits: 0,
        };

        let hits = self.collect_hits(line);
        let mut hyps: Vec<Hyp> = Vec::new();
        let mut dups: Vec<u32> = Vec::new();
        let n_strong = hits.iter().filter(|h| h.strength >= RefStrength::Degraded).count();
        let quoted_debits = hits
            .iter()
            .filter(|h| h.strength >= RefStrength::Degraded && self.items[h.item as usize].kind.is_debit())
            .count();
        for h in &hits {
            self.single_hyps(&mut ctx, h, quoted_debits, &mut hyps, &mut dups);
        }
        if n_strong >= 2 {
            let strong: Vec<&Hit> = hits.iter().filter(|h| h.strength >= RefStrength::Degraded).collect();
            self.combined_hyps(&mut ctx, &strong, &mut hyps);
        }
        // Swapped digits are only looked for when nothing convincing was found, or when the quoted document exists
        // but the amount does not equal it (a typo can masquerade as a part payment, a fee or an overpayment).
        let best = hyps.iter().max_by(|a, b| a.conf.partial_cmp(&b.conf).unwrap_or(Ordering::Equal));
        let suspicious = best.is_none_or(|b| {
            b.conf < self.threshold()
                || matches!(b.rule, "partial_payment" | "overpayment" | "short_payment_fee" | "early_payment_discount")
        });
        if suspicious {
            self.transposed_hyps(&mut ctx, &hits, &mut hyps);
        }
        let best_ref = hyps.iter().map(|h| h.conf).fold(0.0, f64::max);
        if best_ref < self.threshold() {
            // A quoted reference we could not reconcile, or a duplicate, argues against amount-only matching.
            let cap = if n_strong == 0 && dups.is_empty() { 1.0 } else { CAP_REFERENCE_CONTRADICTED };
            self.payer_hyps(&mut ctx, cap, &mut hyps);
        }
        if !dups.is_empty() {
            // A recognised duplicate explains the line; only keep alternatives worth a reviewer's time.
            hyps.retain(|h| h.conf >= 0.7);
        }
        self.decide(&ctx, hyps, &dups)
    }

    fn threshold(&self) -> f64 {
        self.settings.auto_apply_threshold
    }

    /// Looks every probe of the line's texts up in the reference index and verifies the hit against the document
    /// (the index stores hashes). Keeps the strongest reading per document.
    fn collect_hits(&mut self, line: &LineInput) -> Vec<Hit> {
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
        hits
    }

    fn payer_fit(&self, ctx: &mut Ctx, cust: u32) -> PayerFit {
        if let Some((_, f)) = ctx.fits[..ctx.n_fits].iter().find(|(c, _)| *c == cust) {
            return *f;
        }
        let fit = if cust == NO_CUSTOMER {
            PayerFit::Unknown
        } else if ctx.iban_custs.contains(&cust) {
            PayerFit::Iban
        } else if !ctx.iban_custs.is_empty() {
            PayerFit::Conflict
        } else {
            match ctx.name() {
                None => PayerFit::Unknown,
                Some(n) => {
                    let s = self.cust_names[cust as usize].iter().map(|c| name_similarity(n, c)).fold(0.0, f64::max);
                    // Bank renderings of the right name score >= 0.85 (case, truncation, legal form); anything
                    // clearly below is another party's name.
                    if s >= 0.75 {
                        PayerFit::Name(s)
                    } else {
                        PayerFit::Mismatch
                    }
                }
            }
        };
        if ctx.n_fits < ctx.fits.len() {
            ctx.fits[ctx.n_fits] = (cust, fit);
            ctx.n_fits += 1;
        }
        fit
    }

    fn payer_evidence(&self, ctx: &Ctx, cust: u32, fit: PayerFit) -> Option<String> {
        let cname = |c: u32| self.customers.get(c as usize).map_or("?", |c| c.name.as_str());
        let bank_name = ctx.line.counterparty_name.as_deref().unwrap_or("");
        match fit {
            PayerFit::Iban => {
                Some(text!(96, "payer IBAN {} belongs to customer {}", ctx.iban.as_deref().unwrap_or(""), cname(cust)))
            }
            PayerFit::Name(s) => Some(text!(96, "payer name '{bank_name}' matches customer {} ({s:.2})", cname(cust))),
            PayerFit::Mismatch => Some(format!("payer name '{bank_name}' does not resemble customer {}", cname(cust))),
            PayerFit::Conflict => Some(format!(
                "payer IBAN {} belongs to another customer ({}), not {}",
                ctx.iban.as_deref().unwrap_or(""),
                ctx.iban_custs.iter().map(|&c| cname(c)).collect::<Vec<_>>().join(", "),
                cname(cust)
            )),
            PayerFit::Unknown => None,
        }
    }

    fn ref_evidence(&self, line: &LineInput, h: &Hit) -> String {
        let text = [&line.remittance, &line.creditor_reference, &line.end_to_end_id][h.field].as_deref().unwrap_or("");
        let found_as = text.get(h.span.clone()).unwrap_or("");
        let how = h.strength.qualifier();
        text!(
            96,
            "reference {} found as '{}' in {}{how}",
            self.items[h.item as usize].doc_no,
            found_as,
            FIELD_NAMES[h.field]
        )
    }

    /// Shortfall accepted as a bank fee on `open` in currency `cur`: the smaller of the relative and the absolute
    /// tolerance.
    fn tolerance(&self, open: Decimal, cur: u16) -> Decimal {
        (open * self.settings.tolerance_percent).min(self.abs_tolerance[cur as usize])
    }

    /// Finishes a hypothesis with payer evidence and adjustment for the customer `cust`.
    fn with_payer(&self, ctx: &mut Ctx, cust: u32, mut h: Hyp) -> Hyp {
        let fit = self.payer_fit(ctx, cust);
        h.conf = (h.conf + payer_adjustment(fit)).clamp(0.0, 0.99);
        h.payer = Some((cust, fit));
        h
    }

    /// Open debit items of `cust` in `cur` whose open amount is exactly `amount`, oldest first, minus `exclude`.
    fn open_with_amount(&self, cust: u32, cur: u16, amount: Decimal, exclude: &[u32]) -> Vec<u32> {
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
                    && it.open_amount == amount
                    && !exclude.contains(&i)
            })
            .collect();
        v.sort_by(|&a, &b| oldest_first(&self.items[a as usize], &self.items[b as usize]));
        v
    }

    /// Rules that explain the line by one referenced document: exact amount, fee, discount, partial, overpayment
    /// (or a second, unquoted document filling the excess), foreign currency. Settled documents quoted with their
    /// original amount are noted as possible duplicates.
    /// `quoted_debits` is how many debit documents the line quotes: when it quotes several, reading it as a part
    /// payment or an overpayment of just one of them is implausible, so those readings are demoted.
    fn single_hyps(&self, ctx: &mut Ctx, hit: &Hit, quoted_debits: usize, out: &mut Vec<Hyp>, dups: &mut Vec<u32>) {
        let i = hit.item as usize;
        let it = &self.items[i];
        if !it.kind.is_debit() {
            return; // credits are only netted in combined payments
        }
        let cust = self.meta[i].cust;
        let l = ctx.amount;
        let open = it.open_amount;
        let pen = strength_penalty(hit.strength);
        let one_of_many = quoted_debits > 1;
        let weak = hit.strength < RefStrength::Degraded;
        let same_cur = ctx.cur == Some(self.meta[i].cur);
        let doc_cur = &self.currencies[self.meta[i].cur as usize];

        if !same_cur {
            if weak {
                return;
            }
            let Some(rate) = self.fx.rate(&ctx.line.currency, doc_cur) else { return };
            let converted = l * rate;
            let base = if open > Decimal::ZERO { open } else { it.amount };
            if base <= Decimal::ZERO {
                return;
            }
            let diff = ((converted - base) / base).abs();
            let inside = diff <= self.settings.fx_tolerance_percent;
            if open == Decimal::ZERO {
                if inside {
                    dups.push(hit.item);
                }
                return;
            }
            let doc_to_line = self.fx.rate(doc_cur, &ctx.line.currency);
            let mut h = Hyp::new("foreign_currency", if inside { BASE_FX } else { BASE_FX_OUTSIDE } - pen);
            h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: l, fx_rate: doc_to_line });
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!(
                "FX {}->{} {}, difference {} {} {}",
                doc_cur,
                ctx.line.currency,
                doc_to_line.map_or("?".to_string(), |r| r.round_dp(6).normalize().to_string()),
                fmt_pct(diff),
                if inside { "within" } else { "outside" },
                fmt_pct(self.settings.fx_tolerance_percent)
            ));
            out.push(self.with_payer(ctx, cust, h));
            return;
        }

        let cur = self.meta[i].cur;
        if open == Decimal::ZERO {
            if l == it.amount && (!weak || hit.strength == RefStrength::BareNumber) {
                dups.push(hit.item);
            }
            return;
        }
        if l == open {
            let mut h = Hyp::new("reference_exact_amount", BASE_REFERENCE_EXACT - pen);
            h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: l, fx_rate: None });
            h.evidence.push(Ev::Ref(hit.clone()));
            h.evidence.push(Ev::AmountEqual);
            out.push(self.with_payer(ctx, cust, h));
            return;
        }
        if weak {
            return; // a bare running number is only trusted together with the exact amount
        }
        if l < open {
            let short = open - l;
            let hints = self.scanner.hints;
            if let Some((pct, exact_pct)) = self.discount_reading(it, short) {
                let stated = hints.discount;
                if stated || exact_pct {
                    let base = if stated && exact_pct { BASE_DISCOUNT_STATED } else { BASE_DISCOUNT_UNSTATED };
                    let mut h = Hyp::new("early_payment_discount", base - pen);
                    h.allocs.push(HAlloc { item: hit.item, amount: l, line_amount: l, fx_rate: None });
                    h.write_offs.push((hit.item, short, "discount"));
                    h.evidence.push(Ev::Ref(hit.clone()));
                    h.note(format!(
                        "short by {short} = {}{} of {}{}",
                        fmt_pct(pct),
                        if exact_pct { "" } else { " (approx.)" },
                        it.amount,
                        if stated { ", discount stated in remittance" } else { "" }
                    ));
                    out.push(self.with_payer(ctx, cust, h));
                    if stated {
                        return;
                    }
                }
            }
            let tol = self.tolerance(open, cur);
            if short <= tol {
                let mut h = Hyp::new("short_payment_fee", BASE_FEE - pen);
                h.allocs.push(HAlloc { item: hit.item, amount: l, line_amount: l, fx_rate: None });
                h.write_offs.push((hit.item, short, "bank_fee"));
                h.evidence.push(Ev::Ref(hit.clone()));
                h.note(format!("short by {short}, within tolerance {}", tol.round_dp(2)));
                out.push(self.with_payer(ctx, cust, h));
                return;
            }
            let base = if hints.partial { BASE_PARTIAL_STATED } else { BASE_PARTIAL_UNSTATED };
            // Paying 90%+ without saying so looks more like a dispute or an unknown deduction than an instalment.
            let odd = !hints.partial && l * Decimal::TEN > open * Decimal::new(9, 0);
            let base = if one_of_many { BASE_SUBSET_AMBIGUOUS } else { base };
            let mut h = Hyp::new("partial_payment", base - pen - if odd { 0.1 } else { 0.0 });
            h.allocs.push(HAlloc { item: hit.item, amount: l, line_amount: l, fx_rate: None });
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!(
                "pays {l} of {open} open{}",
                if hints.partial { ", part payment stated in remittance" } else { "" }
            ));
            out.push(self.with_payer(ctx, cust, h));
            return;
        }
        // l > open: an unquoted second document may explain the excess; otherwise it is an overpayment.
        let extra = l - open;
        let fill = if one_of_many { Vec::new() } else { self.open_with_amount(cust, cur, extra, &[hit.item]) };
        if !fill.is_empty() {
            let base = if fill.len() == 1 { BASE_COMBINED_FILLED } else { BASE_FILL_AMBIGUOUS } - pen;
            let f = fill[0];
            let mut h = Hyp::new("combined_references", base);
            h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: open, fx_rate: None });
            h.allocs.push(HAlloc { item: f, amount: extra, line_amount: extra, fx_rate: None });
            h.evidence.push(Ev::Ref(hit.clone()));
            h.note(format!(
                "remaining {extra} equals open {} of the same customer{}",
                self.items[f as usize].doc_no,
                if fill.len() > 1 {
                    format!(" (one of {} equal items, oldest taken)", fill.len())
                } else {
                    String::new()
                }
            ));
            out.push(self.with_payer(ctx, cust, h));
        }
        let base = if fill.is_empty() && !one_of_many { BASE_OVERPAYMENT } else { BASE_SUBSET_AMBIGUOUS };
        let mut h = Hyp::new("overpayment", base - pen);
        h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: open, fx_rate: None });
        h.evidence.push(Ev::Ref(hit.clone()));
        h.note(format!("pays {l} for {open} open; {extra} stays on the line"));
        out.push(self.with_payer(ctx, cust, h));
    }

    /// Whether `short` reads as a cash discount on `it`: returns the percentage and whether it is an exact whole or
    /// half percent (0.5%..5%) of the original amount, to the currency's minor unit.
    fn discount_reading(&self, it: &OpenItem, short: Decimal) -> Option<(Decimal, bool)> {
        if it.open_amount != it.amount || it.amount <= Decimal::ZERO {
            return None; // a discount is taken on a full, untouched invoice
        }
        let pct = short / it.amount;
        if pct > Decimal::new(5, 2) {
            return None;
        }
        let unit = Decimal::new(1, it.amount.scale());
        let exact = (1..=10).any(|half| {
            let p = Decimal::new(half * 5, 3);
            (it.amount * p - short).abs() <= unit
        });
        Some((pct, exact))
    }

    /// Several referenced documents together: all of them (credit notes netted), a subset when the payer paid
    /// fewer than quoted, or all of them plus one unquoted document of the same customer equal to the rest.
    fn combined_hyps(&self, ctx: &mut Ctx, strong: &[&Hit], out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let cands: Vec<&Hit> = strong
            .iter()
            .copied()
            .filter(|h| {
                let i = h.item as usize;
                self.meta[i].cur == cur && self.items[i].open_amount > Decimal::ZERO
            })
            .take(16)
            .collect();
        if cands.len() < 2 {
            return;
        }
        let signed = |h: &Hit| {
            let it = &self.items[h.item as usize];
            if it.kind.is_debit() {
                it.open_amount
            } else {
                -it.open_amount
            }
        };
        let values: Vec<i64> = cands.iter().map(|h| minor(signed(h))).collect();
        let target = minor(ctx.amount);
        let min_strength = cands.iter().map(|h| h.strength).min().unwrap_or(RefStrength::Exact);
        let custs: Vec<u32> = {
            let mut v: Vec<u32> = cands.iter().map(|h| self.meta[h.item as usize].cust).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let one_cust = if custs.len() == 1 { custs[0] } else { NO_CUSTOMER };
        let mixed_penalty = if custs.len() == 1 { 0.0 } else { 0.2 };

        let build = |idx: &[usize], rule: &'static str, base: f64| {
            let mut h = Hyp::new(rule, base);
            for &k in idx {
                let a = signed(cands[k]);
                h.allocs.push(HAlloc { item: cands[k].item, amount: a, line_amount: a, fx_rate: None });
                h.evidence.push(Ev::Ref(cands[k].clone()));
            }
            h
        };

        let total: i64 = values.iter().sum();
        if total == target {
            let all: Vec<usize> = (0..cands.len()).collect();
            let mut h =
                build(&all, "combined_references", BASE_COMBINED - strength_penalty(min_strength) - mixed_penalty);
            h.note(format!("{} documents add up to the amount", cands.len()));
            out.push(self.with_payer(ctx, one_cust, h));
            return;
        }
        if total < target && one_cust != NO_CUSTOMER {
            let rest = ctx.amount - cands.iter().map(|h| signed(h)).sum::<Decimal>();
            let exclude: Vec<u32> = cands.iter().map(|h| h.item).collect();
            let fill = self.open_with_amount(one_cust, cur, rest, &exclude);
            if !fill.is_empty() {
                let all: Vec<usize> = (0..cands.len()).collect();
                let base = if fill.len() == 1 { BASE_COMBINED_FILLED } else { BASE_FILL_AMBIGUOUS };
                let mut h = build(&all, "combined_references", base - strength_penalty(min_strength));
                let f = fill[0];
                h.allocs.push(HAlloc { item: f, amount: rest, line_amount: rest, fx_rate: None });
                h.note(format!(
                    "remaining {rest} equals open {} of the same customer (not quoted){}",
                    self.items[f as usize].doc_no,
                    if fill.len() > 1 {
                        format!("; one of {} equal items, oldest taken", fill.len())
                    } else {
                        String::new()
                    }
                ));
                out.push(self.with_payer(ctx, one_cust, h));
                return;
            }
        }
        if total < target {
            // Everything quoted is paid and something is left: an overpayment of the group (only proposed: the
            // excess may well pay an unquoted document nobody could identify).
            let all: Vec<usize> = (0..cands.len()).collect();
            let mut h = build(&all, "overpayment", BASE_SUBSET_IBAN - mixed_penalty);
            h.note(format!(
                "{} quoted documents total less than the amount; {} would stay on the line",
                cands.len(),
                ctx.amount - cands.iter().map(|h| signed(h)).sum::<Decimal>()
            ));
            out.push(self.with_payer(ctx, one_cust, h));
            return;
        }
        // The payer paid only some of the quoted documents.
        let sols = signed_subsets(&values, target, 2, MAX_PROPOSED_SETS);
        let unique = sols.len() == 1;
        for s in sols {
            let base = if unique { BASE_COMBINED_PARTLY_PAID } else { BASE_SUBSET_AMBIGUOUS };
            let mut h = build(&s, "combined_references", base - mixed_penalty);
            h.note(format!("{} of {} quoted documents add up to the amount", s.len(), cands.len()));
            out.push(self.with_payer(ctx, one_cust, h));
        }
    }

    /// A quoted number that exists with two adjacent digits swapped and then matches amount (and payer).
    fn transposed_hyps(&self, ctx: &mut Ctx, hits: &[Hit], out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let mut found: Vec<Hit> = Vec::new();
        let mut buf = String::new();
        for sh in &self.scanner.shaped {
            let key = self.scanner.key(&sh.key);
            let lead = &key[..key.bytes().take_while(u8::is_ascii_alphabetic).count()];
            if !self.prefixes.iter().any(|p| p == lead) {
                continue;
            }
            for v in transposed_variants(key) {
                for &it in self.refs.get(ref_key(KeyKind::Full, &v)) {
                    let item = &self.items[it as usize];
                    if self.meta[it as usize].cur != cur
                        || item.open_amount != ctx.amount
                        || !item.kind.is_debit()
                        || hits.iter().any(|h| h.item == it)
                        || found.iter().any(|h| h.item == it)
                        || verify_key(&item.doc_no, KeyKind::Full, &v, false, &mut buf).is_none()
                    {
                        continue;
                    }
                    found.push(Hit {
                        item: it,
                        strength: RefStrength::Transposed,
                        field: sh.field,
                        span: sh.span.clone(),
                    });
                }
            }
        }
        if !found.is_empty() {
            for h in out.iter_mut() {
                let stated = match h.rule {
                    "partial_payment" => self.scanner.hints.partial,
                    "early_payment_discount" => self.scanner.hints.discount,
                    "overpayment" | "short_payment_fee" => false,
                    _ => true,
                };
                if !stated {
                    h.conf = h.conf.min(CAP_OUTDONE_BY_TYPO);
                }
            }
        }
        for hit in found {
            let mut h = Hyp::new("transposed_digits", BASE_TRANSPOSED);
            let open = self.items[hit.item as usize].open_amount;
            h.allocs.push(HAlloc { item: hit.item, amount: open, line_amount: open, fx_rate: None });
            h.evidence.push(Ev::Ref(hit.clone()));
            h.evidence.push(Ev::AmountEqual);
            let cust = self.meta[hit.item as usize].cust;
            out.push(self.with_payer(ctx, cust, h));
        }
    }

    /// No usable reference: find the payer (IBAN, else name) and match on the amount: one equal open item, several
    /// (oldest first), an item within fee tolerance, a foreign-currency item, or a subset of open items.
    fn payer_hyps(&self, ctx: &mut Ctx, cap: f64, out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let by_iban = !ctx.iban_custs.is_empty();
        let custs: Vec<u32> = if by_iban {
            ctx.iban_custs.clone()
        } else if let Some(n) = ctx.name() {
            self.name_index.lookup(n, 3)
        } else {
            Vec::new()
        };
        let shared_penalty = if custs.len() > 1 { 0.15 } else { 0.0 };
        let l = ctx.amount;
        let mut pushed = Vec::new();
        for &c in &custs {
            let fit = self.payer_fit(ctx, c);
            if !by_iban && !matches!(fit, PayerFit::Name(_)) {
                continue;
            }
            let fifo_iban = if self.settings.auto_apply_oldest_first { BASE_FIFO_IBAN } else { BASE_FIFO_PROPOSED };
            let (b_one, b_fifo, b_subset) = if by_iban {
                (BASE_AMOUNT_PAYER_IBAN, fifo_iban, BASE_SUBSET_IBAN)
            } else {
                (BASE_AMOUNT_PAYER_NAME, BASE_FIFO_NAME, BASE_SUBSET_NAME)
            };
            let finish = |mut h: Hyp| {
                h.conf = h.conf.min(cap) - shared_penalty;
                h.payer = Some((c, fit));
                h
            };
            let equal = self.open_with_amount(c, cur, l, &[]);
            match equal.len() {
                0 => {}
                1 => {
                    let mut h = Hyp::new("amount_and_payer", b_one);
                    h.allocs.push(HAlloc { item: equal[0], amount: l, line_amount: l, fx_rate: None });
                    h.note(format!("amount equal to open {}; no reference quoted", self.doc_no(equal[0])));
                    pushed.push(finish(h));
                    continue;
                }
                n => {
                    for (rank, &e) in equal.iter().enumerate().take(MAX_PROPOSED_SETS) {
                        let mut h = Hyp::new("fifo_same_amount", if rank == 0 { b_fifo } else { BASE_FIFO_LATER });
                        h.allocs.push(HAlloc { item: e, amount: l, line_amount: l, fx_rate: None });
                        h.note(format!(
                            "amount equals {n} open items of the customer; {} is the {}",
                            self.doc_no(e),
                            if rank == 0 { "oldest (oldest first)" } else { "a later one" }
                        ));
                        pushed.push(finish(h));
                    }
                    continue;
                }
            }
            // Nothing equal: tolerance, currency and subset readings, all only proposals.
            let list = &self.cust_items[c as usize];
            let mut subset_cands: Vec<u32> = Vec::new();
            for &i in list {
                let it = &self.items[i as usize];
                let open = it.open_amount;
                if open <= Decimal::ZERO {
                    continue;
                }
                let icur = self.meta[i as usize].cur;
                if icur == cur {
                    if open > l && open - l <= self.tolerance(open, cur) {
                        let mut h = Hyp::new("short_payment_fee", BASE_NOREF_TOLERANCE);
                        h.allocs.push(HAlloc { item: i, amount: l, line_amount: l, fx_rate: None });
                        h.write_offs.push((i, open - l, "bank_fee"));
                        h.note(format!("short by {} against {}; no reference quoted", open - l, it.doc_no));
                        pushed.push(finish(h));
                    } else if open < l && subset_cands.len() < self.settings.max_subset_candidates {
                        subset_cands.push(i);
                    }
                } else if let Some(rate) = self.fx.rate(&ctx.line.currency, &self.currencies[icur as usize]) {
                    let diff = ((l * rate - open) / open).abs();
                    if diff <= self.settings.fx_tolerance_percent {
                        let doc_to_line = self.fx.rate(&self.currencies[icur as usize], &ctx.line.currency);
                        let mut h = Hyp::new("foreign_currency", BASE_NOREF_TOLERANCE);
                        h.allocs.push(HAlloc { item: i, amount: open, line_amount: l, fx_rate: doc_to_line });
                        h.note(format!(
                            "converted amount within {} of {}; no reference quoted",
                            fmt_pct(diff),
                            it.doc_no
                        ));
                        pushed.push(finish(h));
                    }
                }
            }
            if subset_cands.len() >= 2 {
                let values: Vec<i64> =
                    subset_cands.iter().map(|&i| minor(self.items[i as usize].open_amount)).collect();
                let (sols, exhausted) = find_subsets(
                    &values,
                    minor(l),
                    2,
                    self.settings.max_subset_size,
                    MAX_PROPOSED_SETS,
                    SUBSET_NODE_BUDGET,
                );
                let unique = sols.len() == 1 && !exhausted;
                for s in sols {
                    let mut h = Hyp::new("subset_sum", if unique { b_subset } else { BASE_SUBSET_AMBIGUOUS });
                    for k in &s {
                        let i = subset_cands[*k];
                        let a = self.items[i as usize].open_amount;
                        h.allocs.push(HAlloc { item: i, amount: a, line_amount: a, fx_rate: None });
                    }
                    h.note(format!(
                        "{} open items of the customer add up to the amount{}",
                        s.len(),
                        if unique { "" } else { " (several combinations do)" }
                    ));
                    pushed.push(finish(h));
                }
            }
        }
        out.extend(pushed);
    }

    fn doc_no(&self, i: u32) -> &str {
        &self.items[i as usize].doc_no
    }

    /// Ranks hypotheses, decides, applies if automatic, and renders the outcome.
    fn decide(&mut self, ctx: &Ctx, mut hyps: Vec<Hyp>, dups: &[u32]) -> LineOutcome {
        let line = ctx.line;
        hyps.sort_by(|a, b| b.conf.partial_cmp(&a.conf).unwrap_or(Ordering::Equal));
        let hyps_len = hyps.len();
        // Same document set twice (e.g. a reference rule and the amount rule agree): keep the stronger one.
        let mut seen: Vec<Vec<u32>> = Vec::new();
        hyps.retain(|h| {
            if h.allocs.len() == 1 && !seen.iter().any(|s| s.len() == 1 && s[0] == h.allocs[0].item) {
                if hyps_len > 1 {
                    seen.push(vec![h.allocs[0].item]);
                }
                return true;
            }
            let k = h.items();
            if seen.contains(&k) {
                false
            } else {
                seen.push(k);
                true
            }
        });
        if hyps.is_empty() {
            let why = if let Some(&d) = dups.first() {
                let it = &self.items[d as usize];
                format!(
                    "Left unmatched: {} was already settled{}; this looks like a duplicate payment of {} {}.",
                    it.doc_no,
                    self.settled_by[d as usize].map(|l| format!(" by line {l}")).unwrap_or_default(),
                    it.amount,
                    it.currency
                )
            } else if ctx.iban_custs.is_empty() && ctx.cur.is_some() {
                "Left unmatched: no known reference and the payer is not a known customer.".to_string()
            } else if ctx.cur.is_none() {
                format!("Left unmatched: no open items in {}.", line.currency)
            } else {
                "Left unmatched: the payer is known but no open item or combination fits the amount.".to_string()
            };
            return unmatched(line, why);
        }
        let best_items = if hyps.len() > 1 { hyps[0].items() } else { Vec::new() };
        let rival = hyps[1..].iter().find(|h| !h.allocs.iter().all(|a| best_items.contains(&a.item)));
        let ambiguous = rival.is_some_and(|r| r.conf > hyps[0].conf - AMBIGUITY_MARGIN);
        let auto = hyps[0].conf >= self.threshold() && !ambiguous;
        if auto {
            let best = hyps.swap_remove(0);
            return self.apply(ctx, best);
        }
        // Proposal: best set first, then distinct alternatives.
        let mut allocations = Vec::new();
        let mut write_offs = Vec::new();
        for (set, h) in hyps.iter().take(MAX_PROPOSED_SETS).enumerate() {
            self.render(ctx, set as u32, h, &mut allocations, &mut write_offs);
        }
        let best = &hyps[0];
        let why = if ambiguous {
            format!("an alternative ({}) is about as likely", self.docs_of(rival.expect("rival")))
        } else {
            format!("confidence {:.2} is below the auto-apply threshold {:.2}", best.conf, self.threshold())
        };
        let dup_note = dups
            .first()
            .map(|&d| format!(" Note: {} is already settled (possible duplicate payment).", self.doc_no(d)))
            .unwrap_or_default();
        LineOutcome {
            line_id: line.id,
            decision: Decision::Proposed,
            allocations,
            write_offs,
            unapplied_remainder: line.amount,
            explanation: format!(
                "Proposed {} by {} for review: {}.{dup_note}",
                self.docs_of(best),
                rule_text(best.rule),
                why
            ),
        }
    }

    fn docs_of(&self, h: &Hyp) -> String {
        let mut s = String::with_capacity(20 * h.allocs.len());
        for (k, a) in h.allocs.iter().enumerate() {
            if k > 0 {
                s.push_str(", ");
            }
            s.push_str(self.doc_no(a.item));
        }
        s
    }

    fn render(
        &self,
        ctx: &Ctx,
        set: u32,
        h: &Hyp,
        allocations: &mut Vec<ProposedAllocation>,
        write_offs: &mut Vec<WriteOff>,
    ) {
        let mut evidence: Vec<String> = h
            .evidence
            .iter()
            .map(|e| match e {
                Ev::Ref(hit) => self.ref_evidence(ctx.line, hit),
                Ev::AmountEqual => "amount equal".to_string(),
                Ev::Text(t) => t.clone(),
            })
            .collect();
        if let Some(e) = h.payer.and_then(|(c, fit)| self.payer_evidence(ctx, c, fit)) {
            evidence.push(e);
        }
        for (k, a) in h.allocs.iter().enumerate() {
            let it = &self.items[a.item as usize];
            let evidence = if k + 1 == h.allocs.len() { std::mem::take(&mut evidence) } else { evidence.clone() };
            allocations.push(ProposedAllocation {
                set,
                document_id: it.id,
                doc_no: it.doc_no.clone(),
                amount: a.amount,
                line_amount: a.line_amount,
                confidence: h.conf,
                rule: h.rule,
                evidence,
                fx_rate: a.fx_rate,
            });
        }
        for &(i, amount, reason) in &h.write_offs {
            let item = &self.items[i as usize];
            write_offs.push(WriteOff { set, document_id: item.id, amount, reason, currency: item.currency.clone() });
        }
    }

    /// Applies a hypothesis to the open book and renders the AutoApplied outcome.
    fn apply(&mut self, ctx: &Ctx, h: Hyp) -> LineOutcome {
        let line = ctx.line;
        let mut allocations = Vec::with_capacity(h.allocs.len());
        let mut write_offs = Vec::new();
        self.render(ctx, 0, &h, &mut allocations, &mut write_offs);
        for a in &h.allocs {
            self.reduce_open(a.item, a.amount.abs(), line.id);
        }
        for &(i, by, _) in &h.write_offs {
            self.reduce_open(i, by, line.id);
        }
        let used: Decimal = h.allocs.iter().map(|a| a.line_amount).sum();
        let remainder = line.amount - used;
        let cur = &line.currency;
        let rest =
            if remainder > Decimal::ZERO { format!("; {remainder} {cur} stays on the line") } else { String::new() };
        let offs = if h.write_offs.is_empty() {
            String::new()
        } else {
            let v: Vec<String> = h.write_offs.iter().map(|(_, a, r)| format!("{a} {}", r.replace('_', " "))).collect();
            format!(", writing off {}", v.join(", "))
        };
        LineOutcome {
            line_id: line.id,
            decision: Decision::AutoApplied,
            explanation: text!(
                160,
                "Applied {} {cur} to {} by {} (confidence {:.2}){offs}{rest}.",
                used,
                self.docs_of(&h),
                rule_text(h.rule),
                h.conf
            ),
            allocations,
            write_offs,
            unapplied_remainder: remainder,
        }
    }

    fn reduce_open(&mut self, i: u32, by: Decimal, line_id: Uuid) {
        let idx = i as usize;
        let old = self.items[idx].open_amount;
        let new = (old - by).max(Decimal::ZERO);
        let cust = self.meta[idx].cust;
        let cur = self.meta[idx].cur;
        let indexed = cust != NO_CUSTOMER && self.items[idx].kind.is_debit();
        // The entry under the old amount is left in place: every lookup re-checks the current open amount, and
        // removing it would cost a random access into a large table for every applied allocation.
        let _ = old;
        self.items[idx].open_amount = new;
        if indexed && new > Decimal::ZERO {
            self.amounts.insert(amount_key(cust, cur, new), i);
        }
        if new == Decimal::ZERO {
            self.settled_by[idx] = Some(line_id);
        }
    }
}

fn unmatched(line: &LineInput, explanation: String) -> LineOutcome {
    LineOutcome {
        line_id: line.id,
        decision: Decision::Unmatched,
        allocations: Vec::new(),
        write_offs: Vec::new(),
        unapplied_remainder: line.amount,
        explanation,
    }
}

/// Upper-case, no spaces: the stored form of IBANs. Borrows when the input already is in that form (the usual
/// case), so the per-line path does not allocate for it.
fn normalize_iban(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_lowercase()) {
        Cow::Owned(s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// "Oldest first": earliest issue date, then earliest due date, then document number. Issue date leads because
/// that is the item the customer has owed longest (due dates vary with payment terms).
fn oldest_first(a: &OpenItem, b: &OpenItem) -> Ordering {
    a.issue_date.cmp(&b.issue_date).then(a.due_date.cmp(&b.due_date)).then(a.doc_no.cmp(&b.doc_no))
}

fn rule_text(rule: &str) -> &'static str {
    match rule {
        "reference_exact_amount" => "quoted reference and equal amount",
        "combined_references" => "several documents paid together",
        "amount_and_payer" => "known payer and equal amount",
        "fifo_same_amount" => "known payer, equal amount, oldest item first",
        "partial_payment" => "quoted reference, part payment",
        "short_payment_fee" => "short payment within the bank-fee tolerance",
        "early_payment_discount" => "early-payment discount",
        "overpayment" => "quoted reference, overpayment",
        "foreign_currency" => "foreign-currency payment within FX tolerance",
        "transposed_digits" => "reference with two swapped digits and equal amount",
        "subset_sum" => "open items adding up to the amount",
        _ => "matching rule",
    }
}
