//! What a run reads, in the engine's types: the open book (settings, FX rates, customers, the
//! ledger with its plans and references, the tenant's rules) and the run's lines. A run holds
//! millions of both, so rows are read through cursors in pages and mapped into compact values.

use super::rescale;
use super::settings::default_settings;
use crate::db::cash_application::{self as cash_db, Run};
use crate::domain::cash_application::engine::CustomerGroupInfo;
use crate::domain::cash_application::{CustomerInfo, DocKind, Engine, FxRates, LineInput, MatchSettings, OpenItem};
use crate::domain::instalments::Instalment;
use crate::error::AppResult;
use crate::services::data_safety::{sealing, Keyring};
use diesel::PgConnection;
use rust_decimal::prelude::ToPrimitive;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

fn settings_for_engine(s: &cash_db::Settings, base_currency: &str) -> MatchSettings {
    MatchSettings {
        auto_apply_oldest_first: s.auto_apply_oldest_first,
        base_currency: base_currency.to_string(),
        auto_apply_threshold: s.auto_apply_threshold.to_f64().unwrap_or(0.9),
        tolerance_percent: s.tolerance_percent,
        tolerance_absolute: s.tolerance_absolute,
        fx_tolerance_percent: s.fx_tolerance_percent,
        ..MatchSettings::default()
    }
}

/// Reads what the engine needs: settings, the latest FX rates, customers and the ledger (in
/// pages), mapped from db rows to engine types.
pub(super) fn load_engine(conn: &mut PgConnection, keys: &Keyring, tenant: Uuid) -> AppResult<Engine> {
    let settings = cash_db::settings(conn, tenant)?.unwrap_or_else(|| default_settings(tenant));
    let mut fx = FxRates::new();
    let mut seen_pairs = std::collections::HashSet::new();
    for r in cash_db::rates(conn, tenant)? {
        // Rows come newest first per pair: the latest rate wins.
        if seen_pairs.insert((r.from_currency.clone(), r.to_currency.clone())) {
            fx.insert(&r.from_currency, &r.to_currency, r.rate);
        }
    }
    let customers: Vec<CustomerInfo> =
        sealing::customers_for_matching(conn, keys, tenant)?.into_iter().map(customer_info).collect();
    // Few documents have a plan: all of them, by document, before the ledger's pages.
    let mut plans = crate::db::instalments::of_tenant(conn, tenant)?;
    let mut items: Vec<OpenItem> = Vec::new();
    // The customers' own references (purchase-order, contract numbers) are read as references
    // too; they come with the ledger's pages.
    let mut references: Vec<(Uuid, String)> = Vec::new();
    let mut currencies = CurrencyCodes::default();
    let lap = std::time::Instant::now();
    cash_db::open_documents_for_matching(conn, tenant)?;
    loop {
        let page = cash_db::next_documents(conn, DOCUMENT_PAGE)?;
        if page.is_empty() {
            break;
        }
        items.extend(page.into_iter().map(|mut d| {
            if let Some(r) = d.external_reference.take() {
                references.push((d.id, r));
            }
            let plan = plans.remove(&d.id);
            let mut item = open_item(d, &mut currencies);
            if let Some(plan) = plan {
                item.instalments =
                    plan.into_iter().map(|i| Instalment { amount: rescale(&item.currency, i.amount), ..i }).collect();
            }
            item
        }));
    }
    // In id order, as every run builds its engine: the same book gives the same indexes.
    items.sort_unstable_by_key(|i| i.id);
    references.sort_unstable_by_key(|r| r.0);
    tracing::debug!(
        documents = items.len(),
        ms = lap.elapsed().as_millis() as u64,
        rss_mib = crate::services::metrics::resident_mib(),
        "run: ledger read"
    );
    let base_currency = crate::db::tenants::find(conn, tenant)?.base_currency;
    let mut engine = Engine::new(customers, items, fx, settings_for_engine(&settings, &base_currency));
    engine.set_groups(crate::db::customer_groups::for_matching(conn, tenant)?.into_iter().map(group_info).collect());
    engine.set_document_references(references);
    if let Some((facts, thresholds)) = super::learning::for_engine(conn, tenant)? {
        engine.set_learned(facts, thresholds);
    }
    Ok(engine)
}

fn group_info(g: crate::db::customer_groups::GroupMembers) -> CustomerGroupInfo {
    CustomerGroupInfo { code: g.code, name: g.name, members: g.members }
}

/// The engine a run uses: the book (see [`load_engine`]) and the tenant's enabled matching rules.
pub(super) fn load_engine_with_rules(conn: &mut PgConnection, keys: &Keyring, tenant: Uuid) -> AppResult<Engine> {
    let mut engine = load_engine(conn, keys, tenant)?;
    let rules = super::rules::enabled_rules(conn, tenant)?;
    if !rules.is_empty() {
        let codes = super::rules::CustomerCodes::load(conn, tenant)?;
        super::rules::install(&mut engine, tenant, &rules, &codes);
    }
    Ok(engine)
}

fn customer_info(c: cash_db::MatchingCustomer) -> CustomerInfo {
    CustomerInfo { id: c.id, name: c.name, aliases: c.aliases, bank_accounts: c.bank_accounts }
}

/// One shared copy of each currency code among a run's items and lines (millions of them).
#[derive(Default)]
pub(super) struct CurrencyCodes(HashMap<String, Arc<str>>);

impl CurrencyCodes {
    pub(super) fn shared(&mut self, code: &str) -> Arc<str> {
        if let Some(c) = self.0.get(code) {
            return c.clone();
        }
        self.0.entry(code.to_string()).or_insert_with(|| Arc::from(code)).clone()
    }
}

/// An engine item of a ledger row.
fn open_item(d: cash_db::MatchingDocument, currencies: &mut CurrencyCodes) -> OpenItem {
    let currency = currencies.shared(&d.currency);
    OpenItem {
        // NUMERIC(20,4) comes back with four decimals: show amounts in the currency's own scale.
        amount: rescale(&d.currency, d.amount),
        open_amount: rescale(&d.currency, d.open_amount),
        id: d.id,
        customer_id: d.customer_id,
        kind: if d.doc_type == "credit_note" { DocKind::CreditNote } else { DocKind::Invoice },
        doc_no: d.doc_no.into_boxed_str(),
        currency,
        issue_date: d.issue_date,
        due_date: d.due_date,
        instalments: Box::default(),
    }
}

/// A line as the engine reads it; `accounts` names the bank account it was booked on.
pub(super) fn line_input(
    l: cash_db::MatchingLine,
    accounts: &HashMap<Uuid, Arc<str>>,
    currencies: &mut CurrencyCodes,
) -> LineInput {
    let boxed = |t: Option<String>| t.map(String::into_boxed_str);
    LineInput {
        id: l.id,
        bank_reference: boxed(l.bank_reference),
        booking_date: l.booking_date,
        amount: rescale(&l.currency, l.amount),
        currency: currencies.shared(&l.currency),
        counterparty_name: boxed(l.counterparty_name),
        counterparty_iban: boxed(l.counterparty_iban),
        remittance: boxed(l.remittance),
        creditor_reference: boxed(l.creditor_reference),
        end_to_end_id: boxed(l.end_to_end_id),
        bank_account: accounts.get(&l.bank_account_id).cloned(),
        bank_transaction_code: boxed(l.bank_transaction_code),
    }
}

/// The run's unapplied lines, read in pages, oldest first: later lines see what earlier ones
/// applied.
pub(super) fn load_lines(conn: &mut PgConnection, run: &Run) -> AppResult<Vec<LineInput>> {
    let accounts = super::rules::bank_accounts(conn, run.tenant_id)?;
    cash_db::open_lines_for_matching(conn, run.tenant_id, run.bank_account_id, run.booked_from, run.booked_to)?;
    let mut lines: Vec<LineInput> = Vec::new();
    let mut currencies = CurrencyCodes::default();
    loop {
        let page = cash_db::next_lines(conn, LINE_PAGE)?;
        if page.is_empty() {
            break;
        }
        lines.extend(page.into_iter().map(|l| line_input(l, &accounts, &mut currencies)));
    }
    lines.sort_unstable_by_key(|l| (l.booking_date, l.id));
    Ok(lines)
}

/// Documents fetched at a time when a run reads the ledger.
const DOCUMENT_PAGE: u32 = 100_000;

/// Bank lines fetched at a time when a run loads its lines.
const LINE_PAGE: u32 = 100_000;
