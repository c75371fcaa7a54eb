//! Building the engine: the indexes made once per run so that per-line work does not grow with the book
//! (reference keys, open amounts per customer and currency, customers by IBAN and by name).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::index::{hash_bytes, mix64, FastStrBuild, MultiMap};
use super::super::names::{NameIndex, PreparedName};
use super::super::references::{write_doc_key, KeyKind, Scanner};
use super::super::{CustomerInfo, FxRates, MatchSettings, OpenItem};
use super::{Engine, Meta, NO_CUSTOMER};
use crate::domain::instalments::next_open;
use crate::domain::matching_rules::compiled::CompiledRules;

/// Customers by IBAN and by name, and their prepared names.
struct PayerIndexes {
    cust_by_id: HashMap<Uuid, u32>,
    iban_index: HashMap<String, Vec<u32>, FastStrBuild>,
    name_index: NameIndex,
    cust_names: Vec<Vec<PreparedName>>,
}

/// Items by reference key and by (customer, currency, open amount), with the per-item facts the rules read.
struct ItemIndexes {
    currencies: Vec<String>,
    meta: Vec<Meta>,
    prefixes: Vec<String>,
    refs: MultiMap,
    amounts: MultiMap,
    cust_items: Vec<Vec<u32>>,
}

impl Engine {
    /// Builds the engine and its indexes: reference keys of every item (settled ones included, to recognise
    /// duplicates), open debit items by (customer, currency, amount), customers by IBAN and by name.
    pub fn new(customers: Vec<CustomerInfo>, items: Vec<OpenItem>, fx: FxRates, settings: MatchSettings) -> Engine {
        let payers = index_payers(&customers);
        let ix = index_items(&items, &payers.cust_by_id, customers.len());
        let abs_tolerance = ix
            .currencies
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
            cust_names: payers.cust_names,
            name_index: payers.name_index,
            iban_index: payers.iban_index,
            items,
            meta: ix.meta,
            prefixes: ix.prefixes,
            settled_by: vec![None; n],
            currencies: ix.currencies,
            abs_tolerance,
            refs: ix.refs,
            amounts: ix.amounts,
            cust_items: ix.cust_items,
            scanner: Scanner::default(),
            scratch: String::new(),
            rules: CompiledRules::default(),
            groups: Default::default(),
            learned: Default::default(),
            rule_ix: Default::default(),
            run_lines: Default::default(),
        }
    }
}

fn index_payers(customers: &[CustomerInfo]) -> PayerIndexes {
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
    PayerIndexes { cust_by_id, iban_index, name_index, cust_names }
}

fn index_items(items: &[OpenItem], cust_by_id: &HashMap<Uuid, u32>, n_customers: usize) -> ItemIndexes {
    let mut currencies: Vec<String> = Vec::new();
    let mut ref_pairs: Vec<(u64, u32)> = Vec::with_capacity(items.len() * 4);
    let mut amount_pairs: Vec<(u64, u32)> = Vec::with_capacity(items.len());
    let mut cust_items: Vec<Vec<u32>> = vec![Vec::new(); n_customers];
    let mut meta = Vec::with_capacity(items.len());
    let mut prefixes: Vec<String> = Vec::new();
    let mut buf = String::new();
    for (i, it) in items.iter().enumerate() {
        let idx = i as u32;
        let cust = cust_by_id.get(&it.customer_id).copied().unwrap_or(NO_CUSTOMER);
        let cur = currency_number(&mut currencies, &it.currency);
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
            if let Some(next) = next_open(&it.instalments, it.amount, it.open_amount) {
                amount_pairs.push((amount_key(cust, cur, next), idx));
            }
        }
    }
    for list in &mut cust_items {
        list.sort_by(|&a, &b| oldest_first(&items[a as usize], &items[b as usize]));
    }
    ItemIndexes {
        currencies,
        meta,
        prefixes,
        refs: MultiMap::from_pairs(ref_pairs),
        amounts: MultiMap::from_pairs(amount_pairs),
        cust_items,
    }
}

/// The number of `currency` (upper-cased) in `currencies`, added when new.
fn currency_number(currencies: &mut Vec<String>, currency: &str) -> u16 {
    let cur_up = currency.to_ascii_uppercase();
    match currencies.iter().position(|c| *c == cur_up) {
        Some(p) => p as u16,
        None => {
            currencies.push(cur_up);
            (currencies.len() - 1) as u16
        }
    }
}

/// Amount as an integer count of 1/10000 units: exact for every currency we handle, hashable, cheap to compare.
pub(super) fn minor(a: Decimal) -> i64 {
    let mut a = a;
    a.rescale(4);
    i64::try_from(a.mantissa()).unwrap_or(i64::MAX)
}

pub(super) fn amount_key(cust: u32, cur: u16, amount: Decimal) -> u64 {
    mix64(mix64((u64::from(cust) << 16) | u64::from(cur)) ^ (minor(amount) as u64))
}

pub(super) fn ref_key(kind: KeyKind, key: &str) -> u64 {
    hash_bytes(kind.tag(), key.as_bytes())
}

/// Upper-case, no spaces: the stored form of IBANs. Borrows when the input already is in that form (the usual
/// case), so the per-line path does not allocate for it.
pub(super) fn normalize_iban(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_lowercase()) {
        Cow::Owned(s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// "Oldest first": earliest issue date, then earliest due date, then document number. Issue date leads because
/// that is the item the customer has owed longest (due dates vary with payment terms).
pub(super) fn oldest_first(a: &OpenItem, b: &OpenItem) -> Ordering {
    a.issue_date.cmp(&b.issue_date).then(a.due_date.cmp(&b.due_date)).then(a.doc_no.cmp(&b.doc_no))
}
