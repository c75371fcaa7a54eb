//! Statement reconciliation use cases: a customer's statement arrives (from the tenant's API
//! client, the customer's portal or a signed push of the customer's system), is compared with
//! our books for that customer and period, and every difference found is recorded, audited and
//! announced (`statement.reconciled`, `difference.created`).

use super::audit::snapshot;
use super::differences::DifferenceView;
use super::events::{self, EventType};
use super::import::{read_csv, ImportFormat};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::customers::{self as customers_db, Customer};
use crate::db::differences::{self as diff_db, Difference};
use crate::db::statements::{self as st_db, Statement, StatementLine};
use crate::domain::auth::{Permission, Principal};
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::document::DocType;
use crate::domain::money::{format_amount, Currency};
use crate::domain::statement_matching::{compare, Comparison, OurItem, TheirItem};
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Days two dates of the same item may differ before it is a `date_mismatch`.
pub const DEFAULT_DATE_TOLERANCE_DAYS: i32 = 7;
const MAX_DATE_TOLERANCE_DAYS: i32 = 366;

/// One line of the customer's statement (their books).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct StatementLineInput {
    /// The customer's own reference (their voucher or payment number).
    #[serde(default)]
    pub their_ref: String,
    /// Our document number, when they recorded it (for payments: the document they paid).
    pub our_ref: Option<String>,
    pub date: NaiveDate,
    pub kind: DocType,
    /// Positive decimal string (adjustments may be negative), at most the currency's minor units.
    pub amount: String,
    pub currency: String,
}

/// A customer's statement as JSON.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct StatementInput {
    /// Lines dated outside the period are ignored; our items are taken from the same period.
    /// Without a period, the whole history is compared.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// Default 7.
    pub date_tolerance_days: Option<i32>,
    pub lines: Vec<StatementLineInput>,
}

/// Period and tolerance for a CSV statement (query parameters).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementOptions {
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub date_tolerance_days: Option<i32>,
}

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

/// Parses a statement body (CSV with the columns of `statements.csv`, or JSON).
pub fn parse_statement(format: ImportFormat, body: &[u8], options: StatementOptions) -> AppResult<StatementInput> {
    match format {
        ImportFormat::Json => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let input: StatementInput = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| AppError::invalid("body", super::import::describe_json_error(&e)))?;
            if options.period_from.is_some() || options.period_to.is_some() || options.date_tolerance_days.is_some() {
                return Err(AppError::invalid("query", "for a JSON statement, put the period in the body"));
            }
            Ok(input)
        }
        ImportFormat::Csv => {
            const COLUMNS: [&str; 7] = ["customer_code", "their_ref", "our_ref", "date", "kind", "amount", "currency"];
            let (rows, rejected) = read_csv(body, &COLUMNS, &["date", "kind", "amount", "currency"])?;
            let mut errors: Vec<serde_json::Value> =
                rejected.into_iter().map(|r| json!({"line": r.row, "error": r.error})).collect();
            let mut lines = Vec::with_capacity(rows.len());
            for r in rows {
                let get = |k: &str| r.cells.get(k).cloned();
                let date = get("date").and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
                let kind = get("kind").and_then(|k| DocType::parse(&k));
                match (date, kind) {
                    (Some(date), Some(kind)) => lines.push(StatementLineInput {
                        their_ref: get("their_ref").unwrap_or_default(),
                        our_ref: get("our_ref"),
                        date,
                        kind,
                        amount: get("amount").unwrap_or_default(),
                        currency: get("currency").unwrap_or_default(),
                    }),
                    (None, _) => errors.push(json!({"line": r.row, "error": "date must be YYYY-MM-DD"})),
                    (_, None) => errors.push(
                        json!({"line": r.row, "error": "kind must be invoice, credit_note, payment or adjustment"}),
                    ),
                }
            }
            if !errors.is_empty() {
                return Err(AppError::invalid("body", "the statement has invalid lines; nothing was imported")
                    .with_details(json!({"lines": errors})));
            }
            Ok(StatementInput {
                period_from: options.period_from,
                period_to: options.period_to,
                date_tolerance_days: options.date_tolerance_days,
                lines,
            })
        }
    }
}

/// Customer codes named in a CSV statement's `customer_code` column (to refuse a file that
/// belongs to another customer).
pub fn csv_customer_codes(body: &[u8]) -> Vec<String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(body);
    let Ok(headers) = reader.headers().cloned() else { return vec![] };
    let Some(idx) = headers.iter().position(|h| h.eq_ignore_ascii_case("customer_code")) else { return vec![] };
    let mut codes: Vec<String> =
        reader.records().filter_map(|r| r.ok()).filter_map(|r| r.get(idx).map(str::to_string)).collect();
    codes.sort();
    codes.dedup();
    codes.retain(|c| !c.is_empty());
    codes
}

struct ValidLine {
    their: TheirItem,
    line_no: i32,
}

fn validate(input: &StatementInput) -> AppResult<(Vec<ValidLine>, i32, i32)> {
    if let (Some(f), Some(t)) = (input.period_from, input.period_to) {
        if f > t {
            return Err(AppError::invalid("period_from", "must not be after period_to"));
        }
    }
    let tolerance = input.date_tolerance_days.unwrap_or(DEFAULT_DATE_TOLERANCE_DAYS);
    if !(0..=MAX_DATE_TOLERANCE_DAYS).contains(&tolerance) {
        return Err(AppError::invalid("date_tolerance_days", format!("must be 0..={MAX_DATE_TOLERANCE_DAYS}")));
    }
    if input.lines.len() > 200_000 {
        return Err(AppError::invalid("lines", "at most 200000 lines per statement"));
    }
    let mut errors = Vec::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut ignored = 0;
    for (i, l) in input.lines.iter().enumerate() {
        let line_no = i as i32 + 1;
        let currency = match Currency::parse(l.currency.trim()) {
            Ok(c) => c,
            Err(e) => {
                errors.push(json!({"line": line_no, "error": e.to_string()}));
                continue;
            }
        };
        let amount = match currency.parse_amount(l.amount.trim()) {
            Ok(a) if a > Decimal::ZERO || (l.kind == DocType::Adjustment && !a.is_zero()) => a,
            Ok(_) => {
                errors.push(json!({"line": line_no, "error": "amount must be positive (adjustments: non-zero)"}));
                continue;
            }
            Err(e) => {
                errors.push(json!({"line": line_no, "error": e.to_string()}));
                continue;
            }
        };
        if l.their_ref.len() > 200 || l.our_ref.as_ref().is_some_and(|r| r.len() > 200) {
            errors.push(json!({"line": line_no, "error": "references are at most 200 characters"}));
            continue;
        }
        let in_period = input.period_from.is_none_or(|f| l.date >= f) && input.period_to.is_none_or(|t| l.date <= t);
        if !in_period {
            ignored += 1;
            continue;
        }
        lines.push(ValidLine {
            their: TheirItem {
                their_ref: l.their_ref.trim().to_string(),
                our_ref: l.our_ref.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
                text: String::new(),
                kind_inferred: false,
                date: l.date,
                kind: l.kind,
                amount,
                currency: currency.code().to_string(),
            },
            line_no,
        });
    }
    if !errors.is_empty() {
        return Err(AppError::invalid("lines", "the statement has invalid lines; nothing was imported")
            .with_details(json!({"lines": errors})));
    }
    Ok((lines, ignored, tolerance))
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

/// Compares a customer's statement with our books and records the outcome.
pub fn reconcile(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
    input: StatementInput,
    source: Source,
) -> AppResult<StatementView> {
    require(principal, Permission::WriteMatching)?;
    // Locking the customer serialises statements of one customer: the check for differences
    // already being worked on must see the previous statement's.
    let customer = customers_db::find_by_code_for_update(conn, principal.tenant_id, customer_code)
        .map_err(|_| AppError::not_found("customer"))?;
    reconcile_for(conn, principal.tenant_id, &customer, input, source, (principal.actor.kind(), principal.actor.id()))
}

pub(crate) fn reconcile_for(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    input: StatementInput,
    source: Source,
    actor: (&str, String),
) -> AppResult<StatementView> {
    let (lines, ignored, tolerance) = validate(&input)?;
    let rows = st_db::our_items(conn, tenant_id, customer.id, input.period_from, input.period_to)?;
    let ours: Vec<OurItem> = rows
        .iter()
        .map(|r| OurItem {
            kind: DocType::parse(&r.kind).unwrap_or(DocType::Adjustment),
            doc_no: r.doc_no.clone(),
            date: r.item_date,
            amount: r.amount,
            currency: r.currency.clone(),
            reference: r.reference.clone(),
            settles: r.settles.clone(),
        })
        .collect();
    let theirs: Vec<TheirItem> = lines.iter().map(|l| l.their.clone()).collect();
    let comparison = compare(&ours, &theirs, i64::from(tolerance));

    let now = Utc::now();
    let statement_id = Uuid::now_v7();
    let mut matched_by_their: HashMap<usize, (usize, &'static str)> = HashMap::new();
    for p in &comparison.pairs {
        for &t in &p.theirs {
            matched_by_their.insert(t, (p.ours[0], p.rule.as_str()));
        }
    }
    let line_rows: Vec<StatementLine> = lines
        .iter()
        .enumerate()
        .map(|(t, l)| StatementLine {
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
            matched_ref: matched_by_their.get(&t).map(|&(o, _)| ours[o].doc_no.clone()),
            match_rule: matched_by_their.get(&t).map(|&(_, r)| r.to_string()),
        })
        .collect();

    // Differences: new ones, or the one already being worked on with the same fingerprint.
    let active: HashMap<String, Uuid> =
        diff_db::active_fingerprints(conn, tenant_id, customer.id)?.into_iter().map(|(id, fp, _)| (fp, id)).collect();
    let mut new_rows: Vec<Difference> = Vec::new();
    let mut carried: Vec<Uuid> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in &comparison.differences {
        let our = d.ours.map(|o| (&ours[o], &rows[o]));
        let their = d.theirs.map(|t| &theirs[t]);
        let our_ref = our.map(|(o, _)| o.doc_no.clone());
        let their_ref = their.map(|t| t.their_ref.clone()).filter(|r| !r.is_empty());
        // For a line they repeated, "ours" is the item it duplicates.
        let (our_amount, their_amount) = (our.map(|(o, _)| o.amount), their.map(|t| t.amount));
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
            our_document_id: our.and_then(|(_, r)| r.document_id),
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

    let balances = balance_views(&comparison);
    let statement = Statement {
        id: statement_id,
        tenant_id,
        customer_id: customer.id,
        period_from: input.period_from,
        period_to: input.period_to,
        source: source.as_str().to_string(),
        lines_count: lines.len() as i32 + ignored,
        matched_count: comparison.paired_lines() as i32,
        differences_count: (new_rows.len() + carried.len()) as i32,
        date_tolerance_days: tolerance,
        balances: serde_json::to_value(&balances).map_err(AppError::internal)?,
        received_at: now,
        actor_type: actor.0.to_string(),
        actor_id: actor.1.clone(),
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
        received_at: now,
    };

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
    Ok(view)
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

/// The JSON or CSV statement body of a request, checked against the customer it is posted for.
pub fn read_body(
    format: ImportFormat,
    body: &[u8],
    options: StatementOptions,
    customer_code: &str,
) -> AppResult<StatementInput> {
    if format == ImportFormat::Csv {
        let codes = csv_customer_codes(body);
        if codes.iter().any(|c| c != customer_code) {
            return Err(AppError::invalid(
                "customer_code",
                format!(
                    "the file holds lines of other customers ({}); post one customer's statement",
                    codes.join(", ")
                ),
            ));
        }
    }
    parse_statement(format, body, options)
}
