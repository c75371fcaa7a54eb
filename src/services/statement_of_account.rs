//! The statement of account of one customer for a period: opening balance, every item with a
//! running balance and the closing balance per currency, the items open at the end of the
//! period with their aging, and the differences still open with the customer. Used by the API
//! (tenant and portal), the exports and the statement runs.

use super::require;
use crate::db::customer_statements as st_db;
use crate::db::customers::{self as customers_db, Customer};
use crate::db::differences as diff_db;
use crate::domain::auth::{Permission, PortalPrincipal, Principal};
use crate::domain::difference::DifferenceStatus;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::domain::instalments::Instalment;
pub use crate::domain::statement_of_account::{
    AccountDocumentLine, AccountLine, AgingSummary, CurrencyAccount, OpenDifference, OpenInstalmentLine, OpenItemLine,
    StatementOfAccount,
};

/// Opening balance, every item with a running balance, closing balance; per currency.
pub fn statement_of_account(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<StatementOfAccount> {
    check_period(from, to)?;
    let items = st_db::our_items(conn, tenant_id, customer.id, None, to)?;
    let currencies = accounts(items, from);
    let as_of = to.unwrap_or_else(|| Utc::now().date_naive());
    let who = [(customer.id, None)];
    let (open_items, aging) = open_items_and_aging(conn, tenant_id, &who, as_of)?;
    let open_differences = open_differences(conn, tenant_id, &who)?;
    let payment_behaviour =
        crate::services::payment_behaviour::of_customer(conn, tenant_id, customer, behaviour_window(as_of))?;
    Ok(StatementOfAccount {
        customer_code: customer.code.clone(),
        customer_name: customer.name.clone(),
        from,
        to,
        currencies,
        open_items,
        aging,
        open_differences,
        payment_behaviour,
        members: Vec::new(),
    })
}

/// The statement of account of a customer group (by code or id): its members' items together,
/// in date order per currency with one running balance, each row naming its member; the aging
/// and the payment behaviour of the group as a whole.
pub fn group_statement_of_account(
    conn: &mut PgConnection,
    principal: &Principal,
    group: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<StatementOfAccount> {
    require(principal, Permission::Read)?;
    let tenant_id = principal.tenant_id;
    let (group, members) = crate::services::customer_groups::with_members(conn, tenant_id, group)?;
    check_period(from, to)?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.customer_id).collect();
    let who: Vec<(Uuid, Option<String>)> = members.iter().map(|m| (m.customer_id, Some(m.code.clone()))).collect();
    let code_of: HashMap<Uuid, String> = members.iter().map(|m| (m.customer_id, m.code.clone())).collect();
    let mut rows = st_db::our_items_of_customers(conn, tenant_id, &ids, None, to)?;
    rows.sort_by(|a, b| a.item.item_date.cmp(&b.item.item_date).then_with(|| a.item.doc_no.cmp(&b.item.doc_no)));
    let currencies = accounts_of(rows.into_iter().map(|r| (r.item, code_of.get(&r.customer_id).cloned())), from);
    let as_of = to.unwrap_or_else(|| Utc::now().date_naive());
    let (open_items, aging) = open_items_and_aging(conn, tenant_id, &who, as_of)?;
    let open_differences = open_differences(conn, tenant_id, &who)?;
    let window = behaviour_window(as_of);
    let payment_behaviour =
        crate::services::payment_behaviour::of_customers(conn, tenant_id, &group.code, &ids, window)?;
    Ok(StatementOfAccount {
        customer_code: group.code,
        customer_name: group.name,
        from,
        to,
        currencies,
        open_items,
        aging,
        open_differences,
        payment_behaviour,
        members: members.into_iter().map(|m| m.code).collect(),
    })
}

fn check_period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<()> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(AppError::invalid("from", "must not be after to")),
        _ => Ok(()),
    }
}

fn behaviour_window(as_of: NaiveDate) -> crate::domain::payment_behaviour::Window {
    crate::domain::payment_behaviour::Window { as_of, days: crate::services::payment_behaviour::DEFAULT_DAYS as i64 }
}

/// The differences sent to these customers and not yet resolved (each named by `code`, if given).
fn open_differences(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    who: &[(Uuid, Option<String>)],
) -> AppResult<Vec<OpenDifference>> {
    let mut out = Vec::new();
    for (id, code) in who {
        let f = diff_db::DifferenceFilter {
            customer_id: Some(*id),
            statuses: vec![DifferenceStatus::Sent, DifferenceStatus::Confirmed, DifferenceStatus::Disputed],
            limit: 10_000,
            ..Default::default()
        };
        out.extend(diff_db::list(conn, tenant_id, &f)?.into_iter().map(|(d, _)| OpenDifference {
            kind: d.kind.as_str().to_string(),
            status: d.status.as_str().to_string(),
            our_ref: d.our_ref,
            their_ref: d.their_ref,
            currency: d.currency,
            explanation: d.explanation,
            customer_code: code.clone(),
        }));
    }
    Ok(out)
}

/// Per currency: the opening balance (items before `from`), every item from `from` on with the
/// running balance, and the closing balance. `items` by date, as [`st_db::our_items`] gives them.
pub fn accounts(items: Vec<st_db::OurItemRow>, from: Option<NaiveDate>) -> Vec<CurrencyAccount> {
    accounts_of(items.into_iter().map(|i| (i, None)), from)
}

/// [`accounts`] of items that name their customer (a group's statement).
fn accounts_of(
    items: impl IntoIterator<Item = (st_db::OurItemRow, Option<String>)>,
    from: Option<NaiveDate>,
) -> Vec<CurrencyAccount> {
    let mut per: BTreeMap<String, (Decimal, Decimal, Vec<AccountLine>)> = BTreeMap::new();
    for (it, customer_code) in items {
        let kind = it.kind;
        let effect = kind.balance_sign() * it.amount;
        let entry = per.entry(it.currency.clone()).or_insert_with(|| (Decimal::ZERO, Decimal::ZERO, Vec::new()));
        if from.is_some_and(|f| it.item_date < f) {
            entry.0 += effect;
            entry.1 += effect;
            continue;
        }
        entry.1 += effect;
        let amount = format_amount(&it.currency, effect.abs());
        entry.2.push(AccountLine {
            date: it.item_date,
            kind: kind.as_str().to_string(),
            reference: it.doc_no,
            debit: (effect > Decimal::ZERO).then(|| amount.clone()),
            credit: (effect < Decimal::ZERO).then_some(amount),
            balance: format_amount(&it.currency, entry.1),
            document_id: it.document_id,
            lines: None,
            customer_code,
        });
    }
    per.into_iter()
        .map(|(currency, (opening, closing, lines))| CurrencyAccount {
            opening_balance: format_amount(&currency, opening),
            closing_balance: format_amount(&currency, closing),
            lines,
            currency,
        })
        .collect()
}

/// The customers' items open on `as_of` (reproduced from history like the AR aging), each named
/// by its customer's code if given, and their aging per currency. Several customers' items are
/// merged oldest due first.
fn open_items_and_aging(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    who: &[(Uuid, Option<String>)],
    as_of: NaiveDate,
) -> AppResult<(Vec<OpenItemLine>, Vec<AgingSummary>)> {
    let ids: Vec<Uuid> = who.iter().map(|(id, _)| *id).collect();
    let crate::services::reports::CustomerAging { labels, per_currency } =
        crate::services::reports::customer_aging(conn, tenant_id, &ids, as_of)?;
    let aging = per_currency
        .into_iter()
        .map(|(cur, sums)| AgingSummary {
            total: format_amount(&cur, sums.iter().sum()),
            buckets: sums.iter().map(|s| format_amount(&cur, *s)).collect(),
            labels: labels.clone(),
            currency: cur,
        })
        .collect();
    let mut docs = Vec::new();
    for (id, code) in who {
        let open = crate::db::documents::open_items(conn, tenant_id, *id)?;
        docs.extend(open.into_iter().filter(|d| d.issue_date <= as_of).map(|d| (d, code.clone())));
    }
    if who.len() > 1 {
        docs.sort_by(|(a, _), (b, _)| {
            (a.due_date.unwrap_or(a.issue_date), &a.doc_no).cmp(&(b.due_date.unwrap_or(b.issue_date), &b.doc_no))
        });
    }
    let plans =
        crate::services::instalments::plans_of(conn, tenant_id, &docs.iter().map(|(d, _)| d).collect::<Vec<_>>())?;
    let items = docs
        .into_iter()
        .map(|(d, customer_code)| {
            let plan = plans.get(&d.id).map(Vec::as_slice).unwrap_or_default();
            let instalments = open_instalments(&d, plan, as_of);
            let due = instalments.first().map(|i| i.due_date).or(d.due_date).unwrap_or(d.issue_date);
            OpenItemLine {
                days_overdue: (as_of - due).num_days(),
                amount: format_amount(&d.currency, d.amount),
                open_amount: format_amount(&d.currency, d.open_amount),
                doc_no: d.doc_no,
                kind: d.doc_type.as_str().to_string(),
                issue_date: d.issue_date,
                due_date: d.due_date,
                currency: d.currency,
                instalments,
                customer_code,
            }
        })
        .collect();
    Ok((items, aging))
}

/// Adds their lines to the statement's invoices and credit notes that have lines (`lines=true`).
pub fn add_document_lines(conn: &mut PgConnection, tenant_id: Uuid, st: &mut StatementOfAccount) -> AppResult<()> {
    let docs: Vec<(Uuid, &str)> = st
        .currencies
        .iter()
        .flat_map(|c| c.lines.iter().filter_map(|l| l.document_id.map(|id| (id, c.currency.as_str()))))
        .collect();
    let mut found = crate::services::document_lines::views_of(conn, tenant_id, &docs)?;
    for line in st.currencies.iter_mut().flat_map(|c| c.lines.iter_mut()) {
        let Some((views, _)) = line.document_id.and_then(|id| found.remove(&id)) else { continue };
        line.lines = Some(
            views
                .into_iter()
                .map(|v| AccountDocumentLine {
                    line_no: v.line_no,
                    product_code: v.product_code,
                    description: v.description,
                    quantity: v.quantity,
                    unit: v.unit,
                    unit_price: v.unit_price,
                    tax_rate: v.tax_rate,
                    net: v.net,
                    tax: v.tax,
                    gross: v.gross,
                })
                .collect(),
        );
    }
    Ok(())
}

/// The instalments of `d` still open, with their own days overdue.
fn open_instalments(
    d: &crate::db::documents::Document,
    plan: &[Instalment],
    as_of: NaiveDate,
) -> Vec<OpenInstalmentLine> {
    let open = crate::domain::instalments::open_parts(plan, d.amount, d.open_amount);
    plan.iter()
        .zip(open)
        .filter(|(_, open)| *open > Decimal::ZERO)
        .map(|(i, open)| OpenInstalmentLine {
            seq: i.seq,
            due_date: i.due_date,
            amount: format_amount(&d.currency, i.amount),
            open_amount: format_amount(&d.currency, open),
            days_overdue: (as_of - i.due_date).num_days(),
        })
        .collect()
}

pub fn tenant_statement_of_account(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<StatementOfAccount> {
    require(principal, Permission::Read)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, customer_code)
        .map_err(|_| AppError::not_found("customer"))?;
    statement_of_account(conn, principal.tenant_id, &customer, from, to)
}

pub fn portal_statement_of_account(
    conn: &mut PgConnection,
    portal: &PortalPrincipal,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<StatementOfAccount> {
    let customer = customers_db::find_by_id(conn, portal.tenant_id, portal.customer_id)?;
    statement_of_account(conn, portal.tenant_id, &customer, from, to)
}
