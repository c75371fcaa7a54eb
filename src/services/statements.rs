//! Statement reconciliation use cases: a customer's statement arrives (from the tenant's API
//! client, the customer's portal or a signed push of the customer's system), is compared with
//! our books for that customer and period, and every difference found is recorded, audited and
//! announced (`statement.reconciled`, `difference.created`).

use super::audit::snapshot;
use super::differences::DifferenceView;
use super::events::{self, EventType};
use super::import::ImportFormat;
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use super::statement_files::{self, ForCustomer, ValidLine};
use super::statement_mappings;
use crate::db::audit as audit_db;
use crate::db::customers::{self as customers_db, Customer};
use crate::db::differences::{self as diff_db, Difference};
use crate::db::statements::{self as st_db, Statement, StatementLine};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer_statements::{compare, Comparison, OurItem, Pairing, TheirItem};
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::document::DocType;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub use super::statement_files::{
    csv_customer_codes, parse_statement, ParsedStatement, StatementInput, StatementLineInput, StatementOptions,
    DEFAULT_DATE_TOLERANCE_DAYS,
};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceView {
    pub currency: String,
    /// Our balance of the customer's account for the period (what they owe us).
    pub ours: String,
    /// The balance their statement shows.
    pub theirs: String,
    /// The sum of the balance effects of the differences found.
    pub differences: String,
    /// (ours - theirs) - differences: zero when every gap is explained.
    pub unexplained: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementView {
    pub id: Uuid,
    pub customer_code: String,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// api | portal | inbound
    pub source: String,
    pub lines_count: i32,
    /// Lines outside the period, not compared.
    pub lines_ignored: i32,
    pub matched_count: i32,
    pub differences_count: i32,
    pub date_tolerance_days: i32,
    pub balances: Vec<BalanceView>,
    /// The differences this comparison found: new ones, and ones still being worked on from an
    /// earlier statement (not opened twice).
    pub differences: Vec<DifferenceView>,
    /// How the statement was read: the layout detected, the encoding, rows not read as lines
    /// (totals, balances carried), words not in the vocabulary, the side invoices were on.
    pub notes: Vec<String>,
    pub received_at: chrono::DateTime<Utc>,
}

/// Who submitted the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Portal,
    Inbound,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Portal => "portal",
            Source::Inbound => "inbound",
        }
    }
}

/// Fingerprint of a difference: the same gap seen in two statements is one difference.
fn fingerprint(
    kind: DifferenceKind,
    our_ref: &Option<String>,
    their_ref: &Option<String>,
    ours: Option<Decimal>,
    theirs: Option<Decimal>,
) -> String {
    let amount = |a: Option<Decimal>| a.map(|a| a.normalize().to_string()).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}",
        kind.as_str(),
        our_ref.as_deref().unwrap_or(""),
        their_ref.as_deref().unwrap_or(""),
        amount(ours),
        amount(theirs)
    )
}

/// Compares a customer's statement (JSON, our own shape) with our books and records the outcome.
pub fn reconcile(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    input: StatementInput,
    source: Source,
) -> AppResult<StatementView> {
    require(principal, Permission::WriteMatching)?;
    let customer = lock_customer(conn, principal.tenant_id, customer_code)?;
    let actor = (principal.actor.kind(), principal.actor.id());
    reconcile_for(conn, principal.tenant_id, &customer, ParsedStatement::of(input), source, actor)
}

/// A statement body the tenant posts: JSON in our shape, or CSV as the customer's system
/// exports it, read with the customer's statement mapping.
pub fn submit(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    format: ImportFormat,
    body: &[u8],
    options: StatementOptions,
) -> AppResult<StatementView> {
    require(principal, Permission::WriteMatching)?;
    let customer = lock_customer(conn, principal.tenant_id, customer_code)?;
    let actor = (principal.actor.kind(), principal.actor.id());
    submit_for(conn, principal.tenant_id, &customer, (format, body, options), Source::Api, actor)
}

/// Locking the customer serialises statements of one customer: the check for differences
/// already being worked on must see the previous statement's.
fn lock_customer(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code_for_update(conn, tenant_id, code).map_err(|_| AppError::not_found("customer"))
}

/// Reads a body for an already locked customer, the same way for every path (tenant API,
/// portal upload, signed push), and reconciles it.
pub(crate) fn submit_for(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    (format, body, options): (ImportFormat, &[u8], StatementOptions),
    source: Source,
    actor: (&str, String),
) -> AppResult<StatementView> {
    let mapping = statement_mappings::load(conn, tenant_id, customer.id)?;
    let for_customer = ForCustomer { code: &customer.code, default_currency: customer.default_currency.as_deref() };
    let parsed = statement_files::parse(format, body, options, &mapping, Some(for_customer))?;
    reconcile_for(conn, tenant_id, customer, parsed, source, actor)
}

fn our_items(rows: &[st_db::OurItemRow]) -> Vec<OurItem> {
    rows.iter()
        .map(|r| OurItem {
            kind: DocType::parse(&r.kind).unwrap_or(DocType::Adjustment),
            doc_no: r.doc_no.clone(),
            date: r.item_date,
            amount: r.amount,
            currency: r.currency.clone(),
            reference: r.reference.clone(),
            settles: r.settles.clone(),
        })
        .collect()
}

/// One reading of their lines, compared with our items.
struct Reading {
    lines: Vec<ValidLine>,
    theirs: Vec<TheirItem>,
    comparison: Comparison,
}

fn compare_reading(
    input: &StatementInput,
    source_lines: Option<&[i32]>,
    ours: &[OurItem],
) -> AppResult<(Reading, i32, i32)> {
    let (lines, ignored, tolerance) = statement_files::validate(input, source_lines)?;
    let theirs: Vec<TheirItem> = lines.iter().map(|l| l.their.clone()).collect();
    let comparison = compare(ours, &theirs, i64::from(tolerance));
    Ok((Reading { lines, theirs, comparison }, ignored, tolerance))
}

pub(crate) fn reconcile_for(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    parsed: ParsedStatement,
    source: Source,
    actor: (&str, String),
) -> AppResult<StatementView> {
    let input = &parsed.input;
    let rows = st_db::our_items(conn, tenant_id, customer.id, input.period_from, input.period_to)?;
    let ours = our_items(&rows);
    let source_lines = parsed.source_lines.as_deref();
    let (mut reading, ignored, tolerance) = compare_reading(input, source_lines, &ours)?;
    let mut notes = parsed.notes.clone();
    if let Some(other) = &parsed.other_reading {
        // Neither the mapping nor their document types said which side invoices are on.
        let (alternative, _, _) = compare_reading(other, source_lines, &ours)?;
        let (credit, debit) = (reading.comparison.paired_lines(), alternative.comparison.paired_lines());
        if debit > credit {
            reading = alternative;
        }
        notes.push(format!(
            "invoices read on the {} side: {} of {} lines pair that way, {} the other way",
            if debit > credit { "debit" } else { "credit" },
            credit.max(debit),
            reading.lines.len(),
            credit.min(debit)
        ));
    }
    let statement_id = Uuid::now_v7();
    let line_rows = line_rows(tenant_id, statement_id, &reading, &ours);
    let (new_rows, carried, seen) = difference_rows(conn, tenant_id, customer, statement_id, &reading, (&ours, &rows))?;

    // Open differences of an earlier statement of the same period that this one no longer
    // shows were fixed in the meantime (on either side): cancelled, with the reason.
    let stale: Vec<Uuid> = diff_db::open_of_period(conn, tenant_id, customer.id, input.period_from, input.period_to)?
        .into_iter()
        .filter(|(_, fp)| !seen.contains(fp))
        .map(|(id, _)| id)
        .collect();
    if !stale.is_empty() {
        diff_db::cancel_many(conn, &stale, &format!("no longer found by statement {statement_id}"))?;
    }

    let now = Utc::now();
    let balances = balance_views(&reading.comparison);
    let statement = Statement {
        id: statement_id,
        tenant_id,
        customer_id: customer.id,
        period_from: input.period_from,
        period_to: input.period_to,
        source: source.as_str().to_string(),
        lines_count: reading.lines.len() as i32 + ignored,
        matched_count: reading.comparison.paired_lines() as i32,
        differences_count: (new_rows.len() + carried.len()) as i32,
        date_tolerance_days: tolerance,
        balances: serde_json::to_value(&balances).map_err(AppError::internal)?,
        received_at: now,
        actor_type: actor.0.to_string(),
        actor_id: actor.1.clone(),
        notes: json!(notes),
    };
    st_db::insert(conn, &statement, &line_rows)?;
    diff_db::insert_many(conn, &new_rows)?;

    let mut differences: Vec<DifferenceView> =
        new_rows.into_iter().map(|d| DifferenceView::new(d, customer.code.clone())).collect();
    for id in carried {
        let (d, code) = diff_db::find(conn, tenant_id, id)?;
        differences.push(DifferenceView::new(d, code));
    }
    let view = StatementView {
        id: statement_id,
        customer_code: customer.code.clone(),
        period_from: statement.period_from,
        period_to: statement.period_to,
        source: statement.source.clone(),
        lines_count: statement.lines_count,
        lines_ignored: ignored,
        matched_count: statement.matched_count,
        differences_count: statement.differences_count,
        date_tolerance_days: tolerance,
        balances,
        differences,
        notes,
        received_at: now,
    };
    announce(conn, tenant_id, customer, &statement, &view, actor)?;
    Ok(view)
}

/// Their lines as stored, each with what it was paired with and why.
fn line_rows(tenant_id: Uuid, statement_id: Uuid, reading: &Reading, ours: &[OurItem]) -> Vec<StatementLine> {
    let mut paired: HashMap<usize, &Pairing> = HashMap::new();
    for p in &reading.comparison.pairs {
        for &t in &p.theirs {
            paired.insert(t, p);
        }
    }
    reading
        .lines
        .iter()
        .enumerate()
        .map(|(t, l)| {
            let pair = paired.get(&t);
            StatementLine {
                id: Uuid::now_v7(),
                tenant_id,
                statement_id,
                line_no: l.line_no,
                their_ref: l.their.their_ref.clone(),
                our_ref: l.their.our_ref.clone(),
                entry_date: l.their.date,
                kind: l.their.kind.as_str().to_string(),
                amount: l.their.amount,
                currency: l.their.currency.clone(),
                matched_ref: pair
                    .map(|p| p.ours.iter().map(|&o| ours[o].doc_no.as_str()).collect::<Vec<_>>().join(" + ")),
                match_rule: pair.map(|p| p.rule.as_str().to_string()),
                text: l.their.text.clone(),
                kind_inferred: l.their.kind_inferred,
                match_explanation: pair.map(|p| p.explanation.clone()),
            }
        })
        .collect()
}

/// Differences: new rows, or the one already being worked on with the same fingerprint
/// (carried), and every fingerprint this statement shows.
fn difference_rows(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    statement_id: Uuid,
    reading: &Reading,
    (ours, rows): (&[OurItem], &[st_db::OurItemRow]),
) -> AppResult<(Vec<Difference>, Vec<Uuid>, HashSet<String>)> {
    let now = Utc::now();
    let active: HashMap<String, Uuid> =
        diff_db::active_fingerprints(conn, tenant_id, customer.id)?.into_iter().map(|(id, fp, _)| (fp, id)).collect();
    let mut new_rows: Vec<Difference> = Vec::new();
    let mut carried: Vec<Uuid> = Vec::new();
    let mut seen = HashSet::new();
    for d in &reading.comparison.differences {
        let our = d.ours.map(|o| (&ours[o], &rows[o]));
        let their = d.theirs.map(|t| &reading.theirs[t]);
        let mut our_ref = our.map(|(o, _)| o.doc_no.clone());
        let mut their_ref = their.map(|t| t.their_ref.clone()).filter(|r| !r.is_empty());
        // For a line they repeated, "ours" is the item it duplicates.
        let (mut our_amount, mut their_amount) = (our.map(|(o, _)| o.amount), their.map(|t| t.amount));
        let group = d.pairing.map(|p| &reading.comparison.pairs[p]).filter(|p| p.ours.len() + p.theirs.len() > 2);
        if let Some(g) = group {
            // A group's gap: both sides named whole, with their sums.
            our_ref = Some(g.ours.iter().map(|&o| ours[o].doc_no.as_str()).collect::<Vec<_>>().join(" + "));
            let mut refs: Vec<&str> = g.theirs.iter().map(|&t| reading.theirs[t].their_ref.as_str()).collect();
            refs.dedup();
            their_ref = Some(refs.join(" + ")).filter(|r| !r.is_empty());
            our_amount = Some(g.ours.iter().map(|&o| ours[o].amount).sum());
            their_amount = Some(g.theirs.iter().map(|&t| reading.theirs[t].amount).sum());
        }
        let single_document = group.is_none_or(|g| g.ours.len() == 1);
        let currency = our.map(|(o, _)| o.currency.clone()).or(their.map(|t| t.currency.clone())).unwrap_or_default();
        let effect: Decimal = d.effects.iter().filter(|(c, _)| *c == currency).map(|(_, e)| *e).sum();
        let mut fp = fingerprint(d.kind, &our_ref, &their_ref, our_amount, their_amount);
        // Two identical differences in one statement (e.g. a line repeated three times) stay two.
        let mut n = 1;
        while !seen.insert(fp.clone()) {
            n += 1;
            fp = format!("{}#{n}", fp.split('#').next().unwrap_or_default());
        }
        if let Some(&existing) = active.get(&fp) {
            carried.push(existing);
            continue;
        }
        new_rows.push(Difference {
            id: Uuid::now_v7(),
            tenant_id,
            customer_id: customer.id,
            statement_id,
            kind: d.kind.as_str().to_string(),
            status: DifferenceStatus::Open.as_str().to_string(),
            our_document_id: our.and_then(|(_, r)| r.document_id).filter(|_| single_document),
            our_ref,
            their_ref,
            our_amount,
            their_amount,
            currency,
            our_date: our.map(|(o, _)| o.date),
            their_date: their.map(|t| t.date),
            explanation: d.explanation.clone(),
            balance_effect: effect,
            fingerprint: fp,
            resolution_note: None,
            adjustment_document_id: None,
            created_at: now,
            updated_at: now,
        });
    }
    Ok((new_rows, carried, seen))
}

/// Audit entries and outbox events of a reconciliation, in its transaction.
fn announce(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    statement: &Statement,
    view: &StatementView,
    actor: (&str, String),
) -> AppResult<()> {
    let statement_id = statement.id;
    let mut e = crate::db::audit::NewAuditEntry {
        actor_type: actor.0.to_string(),
        actor_id: actor.1,
        action: "statement.reconciled".into(),
        entity_type: "customer_statement".into(),
        entity_id: statement_id.to_string(),
        before: None,
        after: None,
    };
    e.after = Some(json!({
        "customer_code": customer.code,
        "source": statement.source,
        "lines": statement.lines_count,
        "matched": statement.matched_count,
        "differences": statement.differences_count,
        "balances": statement.balances,
    }));
    let mut audit = vec![e];
    for d in view.differences.iter().filter(|d| d.statement_id == statement_id) {
        let mut de = entry_for_system(&audit[0], "difference.created", &d.id.to_string());
        de.after = snapshot(d);
        audit.push(de);
    }
    audit_db::append(conn, tenant_id, audit)?;

    events::emit(
        conn,
        tenant_id,
        Some(customer.id),
        EventType::StatementReconciled,
        json!({
            "statement_id": statement_id,
            "customer_code": customer.code,
            "matched": view.matched_count,
            "differences": view.differences_count,
            "balances": view.balances,
        }),
    )?;
    for d in view.differences.iter().filter(|d| d.statement_id == statement_id) {
        events::emit(conn, tenant_id, Some(customer.id), EventType::DifferenceCreated, json!(d))?;
    }
    Ok(())
}

fn entry_for_system(like: &crate::db::audit::NewAuditEntry, action: &str, id: &str) -> crate::db::audit::NewAuditEntry {
    crate::db::audit::NewAuditEntry {
        actor_type: like.actor_type.clone(),
        actor_id: like.actor_id.clone(),
        action: action.into(),
        entity_type: "difference".into(),
        entity_id: id.into(),
        before: None,
        after: None,
    }
}

fn balance_views(c: &Comparison) -> Vec<BalanceView> {
    c.balances
        .iter()
        .map(|b| BalanceView {
            currency: b.currency.clone(),
            ours: format_amount(&b.currency, b.ours),
            theirs: format_amount(&b.currency, b.theirs),
            differences: format_amount(&b.currency, b.differences),
            unexplained: format_amount(&b.currency, b.unexplained),
        })
        .collect()
}

/// A stored statement with the differences it found.
pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<StatementView> {
    require(principal, Permission::Read)?;
    let s = st_db::find(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("statement"))?;
    view_of(conn, s)
}

fn view_of(conn: &mut PgConnection, s: Statement) -> AppResult<StatementView> {
    let filter = diff_db::DifferenceFilter { statement_id: Some(s.id), limit: 100_000, ..Default::default() };
    let differences: Vec<DifferenceView> =
        diff_db::list(conn, s.tenant_id, &filter)?.into_iter().map(|(d, c)| DifferenceView::new(d, c)).collect();
    let customer_code = customers_db::find_by_id(conn, s.tenant_id, s.customer_id)?.code;
    let balances: Vec<BalanceView> = serde_json::from_value(s.balances).unwrap_or_default();
    let compared = crate::db::statements::count_lines(conn, s.tenant_id, s.id)? as i32;
    Ok(StatementView {
        id: s.id,
        customer_code,
        period_from: s.period_from,
        period_to: s.period_to,
        source: s.source,
        lines_count: s.lines_count,
        lines_ignored: s.lines_count - compared,
        matched_count: s.matched_count,
        differences_count: s.differences_count,
        date_tolerance_days: s.date_tolerance_days,
        balances,
        differences,
        notes: serde_json::from_value(s.notes).unwrap_or_default(),
        received_at: s.received_at,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct StatementSummary {
    pub id: Uuid,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub source: String,
    pub lines_count: i32,
    pub matched_count: i32,
    pub differences_count: i32,
    pub balances: Vec<BalanceView>,
    pub received_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementPage {
    pub items: Vec<StatementSummary>,
    pub next_cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    cursor: Option<&str>,
    limit: Option<i64>,
    max: i64,
) -> AppResult<StatementPage> {
    require(principal, Permission::Read)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, customer_code)
        .map_err(|_| AppError::not_found("customer"))?;
    let limit = effective_limit(limit, max)?;
    let rows = st_db::list_for_customer(conn, principal.tenant_id, customer.id, parse_cursor(cursor)?, limit + 1)?;
    let p: Page<StatementSummary> = page(
        rows,
        limit,
        |s| s.id,
        |s| StatementSummary {
            id: s.id,
            period_from: s.period_from,
            period_to: s.period_to,
            source: s.source,
            lines_count: s.lines_count,
            matched_count: s.matched_count,
            differences_count: s.differences_count,
            balances: serde_json::from_value(s.balances).unwrap_or_default(),
            received_at: s.received_at,
        },
    );
    Ok(StatementPage { items: p.items, next_cursor: p.next_cursor })
}
