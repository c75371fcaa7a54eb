//! Cash application: matching runs (queued jobs processed by a background worker), the review
//! workflow (confirm, reject) and the settings and FX rates the engine uses.
//!
//! A run is one transaction: it locks the tenant's matching (an advisory lock shared with the
//! review actions), loads the open book and the unapplied lines, decides every line in memory
//! and writes allocations, write-offs, open amounts and line statuses in bulk. A crash rolls the
//! whole run back and another worker picks it up again.

use super::pagination::{effective_limit, parse_cursor};
use super::require;
use crate::db::audit as audit_db;
use crate::db::matching::{self as m_db, Allocation, AllocationFilter, Run, WriteOffRow};
use crate::db::DbPool;
use crate::domain::auth::{Permission, Principal};
use crate::domain::cash_application::{
    CustomerInfo, Decision, DocKind, Engine, FxRates, LineInput, MatchSettings, OpenItem,
};
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::events::{self, EventType};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Serialises everything that changes open amounts within one tenant (runs and review).
fn lock_tenant_matching(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<()> {
    Ok(crate::db::lock_tenant(conn, tenant_id, crate::db::TenantLock::Matching)?)
}

// ----- settings and FX rates -----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct MatchingSettingsView {
    /// Confidence (0..1) at or above which a match is applied without review.
    pub auto_apply_threshold: String,
    /// Short payments within the smaller of these settle the item (bank fee, discount).
    pub tolerance_percent: String,
    pub tolerance_absolute: String,
    /// Accepted deviation of a foreign-currency payment from the rate table.
    pub fx_tolerance_percent: String,
    /// A payment without reference that equals several open items of its (identified) payer
    /// settles the oldest due one automatically; off: it is only proposed.
    pub auto_apply_oldest_first: bool,
}

fn default_settings(tenant_id: Uuid) -> m_db::Settings {
    m_db::Settings {
        tenant_id,
        auto_apply_threshold: Decimal::new(900, 3),
        tolerance_percent: Decimal::new(200, 4),
        tolerance_absolute: Decimal::new(25, 0),
        fx_tolerance_percent: Decimal::new(150, 4),
        auto_apply_oldest_first: false,
        updated_at: Utc::now(),
    }
}

fn settings_view(s: &m_db::Settings) -> MatchingSettingsView {
    MatchingSettingsView {
        auto_apply_threshold: s.auto_apply_threshold.normalize().to_string(),
        tolerance_percent: s.tolerance_percent.normalize().to_string(),
        tolerance_absolute: s.tolerance_absolute.normalize().to_string(),
        fx_tolerance_percent: s.fx_tolerance_percent.normalize().to_string(),
        auto_apply_oldest_first: s.auto_apply_oldest_first,
    }
}

pub fn get_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<MatchingSettingsView> {
    require(principal, Permission::Read)?;
    let s = m_db::settings(conn, principal.tenant_id)?.unwrap_or_else(|| default_settings(principal.tenant_id));
    Ok(settings_view(&s))
}

pub fn put_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: MatchingSettingsView,
) -> AppResult<MatchingSettingsView> {
    require(principal, Permission::Admin)?;
    let dec = |field: &str, v: &str, max: Option<Decimal>| -> AppResult<Decimal> {
        let d: Decimal = v.trim().parse().map_err(|_| AppError::invalid(field, format!("{v:?} is not a decimal")))?;
        if d.is_sign_negative() || max.is_some_and(|m| d > m) {
            return Err(AppError::invalid(field, "out of range"));
        }
        Ok(d)
    };
    let before = m_db::settings(conn, principal.tenant_id)?.map(|s| settings_view(&s));
    let s = m_db::Settings {
        tenant_id: principal.tenant_id,
        auto_apply_threshold: dec("auto_apply_threshold", &input.auto_apply_threshold, Some(Decimal::ONE))?,
        tolerance_percent: dec("tolerance_percent", &input.tolerance_percent, Some(Decimal::ONE))?,
        tolerance_absolute: dec("tolerance_absolute", &input.tolerance_absolute, None)?,
        fx_tolerance_percent: dec("fx_tolerance_percent", &input.fx_tolerance_percent, Some(Decimal::ONE))?,
        auto_apply_oldest_first: input.auto_apply_oldest_first,
        updated_at: Utc::now(),
    };
    m_db::save_settings(conn, &s)?;
    let view = settings_view(&s);
    let mut e = entry(principal, "matching_settings.updated", "matching_settings", &principal.tenant_id.to_string());
    e.before = before.and_then(|b| serde_json::to_value(b).ok());
    e.after = serde_json::to_value(&view).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct FxRateInput {
    pub from_currency: String,
    pub to_currency: String,
    /// Decimal string: units of `to_currency` for one unit of `from_currency`.
    pub rate: String,
    pub valid_on: NaiveDate,
}

pub fn put_rates(
    conn: &mut PgConnection,
    principal: &Principal,
    input: Vec<FxRateInput>,
) -> AppResult<Vec<FxRateInput>> {
    require(principal, Permission::WriteLedger)?;
    let mut rows = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let cur = |f: &str, c: &str| {
            crate::domain::money::Currency::parse(c)
                .map(|c| c.code().to_string())
                .map_err(|e| AppError::invalid(&format!("[{i}].{f}"), e.to_string()))
        };
        let rate: Decimal =
            r.rate.trim().parse().map_err(|_| AppError::invalid(&format!("[{i}].rate"), "not a decimal"))?;
        if rate <= Decimal::ZERO {
            return Err(AppError::invalid(&format!("[{i}].rate"), "must be positive"));
        }
        rows.push(m_db::FxRate {
            tenant_id: principal.tenant_id,
            from_currency: cur("from_currency", &r.from_currency)?,
            to_currency: cur("to_currency", &r.to_currency)?,
            valid_on: r.valid_on,
            rate,
        });
    }
    m_db::upsert_rates(conn, &rows)?;
    let mut e = entry(principal, "fx_rates.updated", "fx_rates", &principal.tenant_id.to_string());
    e.after = serde_json::to_value(&input).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    list_rates(conn, principal)
}

pub fn list_rates(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<FxRateInput>> {
    require(principal, Permission::Read)?;
    Ok(m_db::rates(conn, principal.tenant_id)?
        .into_iter()
        .map(|r| FxRateInput {
            from_currency: r.from_currency,
            to_currency: r.to_currency,
            rate: r.rate.normalize().to_string(),
            valid_on: r.valid_on,
        })
        .collect())
}

// ----- runs ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Only lines of this bank account (id or IBAN).
    pub bank_account: Option<String>,
    pub booked_from: Option<NaiveDate>,
    pub booked_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct RunView {
    pub id: Uuid,
    /// queued, running, completed or failed.
    pub status: String,
    pub lines_total: i32,
    pub lines_processed: i32,
    pub auto_applied: i32,
    pub proposed: i32,
    pub unmatched: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Run> for RunView {
    fn from(r: Run) -> Self {
        RunView {
            id: r.id,
            status: r.status,
            lines_total: r.lines_total,
            lines_processed: r.lines_processed,
            auto_applied: r.auto_applied,
            proposed: r.proposed,
            unmatched: r.unmatched,
            error: r.error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

pub fn start_run(conn: &mut PgConnection, principal: &Principal, req: RunRequest) -> AppResult<RunView> {
    require(principal, Permission::WriteMatching)?;
    let bank_account_id = match &req.bank_account {
        None => None,
        Some(given) => Some(
            crate::services::bank::find_account(conn, principal.tenant_id, given)?
                .ok_or_else(|| AppError::invalid("bank_account", format!("unknown bank account {given:?}")))?
                .id,
        ),
    };
    let run = Run {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        status: "queued".into(),
        bank_account_id,
        booked_from: req.booked_from,
        booked_to: req.booked_to,
        lines_total: 0,
        lines_processed: 0,
        auto_applied: 0,
        proposed: 0,
        unmatched: 0,
        error: None,
        attempts: 0,
        created_at: Utc::now(),
        started_at: None,
        finished_at: None,
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
        heartbeat_at: None,
    };
    m_db::insert_run(conn, &run)?;
    let mut e = entry(principal, "reconciliation.started", "reconciliation", &run.id.to_string());
    e.after = serde_json::to_value(RunView::from(run.clone())).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(run.into())
}

pub fn get_run(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<RunView> {
    require(principal, Permission::Read)?;
    m_db::find_run(conn, principal.tenant_id, id).map(RunView::from).map_err(|_| AppError::not_found("reconciliation"))
}

fn rescale(currency: &str, amount: Decimal) -> Decimal {
    crate::domain::money::Currency::parse(currency).map(|c| c.rescale(amount)).unwrap_or(amount)
}

/// A run that has lost its worker this many times (the process died each time: out of memory,
/// killed, a crash in the run) is marked failed instead of being tried again forever.
const MAX_RUN_ATTEMPTS: i32 = 3;

/// Claims and processes one run; returns false when there was nothing to do.
pub fn process_next_run(pool: &DbPool) -> AppResult<bool> {
    let mut conn = pool.get()?;
    let claimed = match conn.transaction(|c| m_db::claim_run(c).map_err(AppError::from)) {
        Ok(claimed) => claimed,
        Err(e) => {
            // The run's session lock may have been taken before the error: never keep it on a
            // pooled connection.
            let _ = diesel::sql_query("SELECT pg_advisory_unlock_all()").execute(&mut **conn);
            return Err(e);
        }
    };
    let Some(run) = claimed else { return Ok(false) };
    let result = execute_and_finish(&mut conn, pool, &run);
    let _ = m_db::unlock_run(&mut conn, run.id);
    result.map(|_| true)
}

fn execute_and_finish(conn: &mut PgConnection, pool: &DbPool, run: &Run) -> AppResult<()> {
    let mut finished = run.clone();
    if run.attempts > MAX_RUN_ATTEMPTS {
        tracing::warn!(run = %run.id, attempts = run.attempts, "reconciliation run abandoned");
        finished.finished_at = Some(Utc::now());
        finished.status = "failed".into();
        finished.error = Some(format!(
            "the worker stopped {} times while running it; nothing of it was applied, start a new run",
            run.attempts - 1
        ));
        return conn.transaction(|c| m_db::finish_run(c, &finished).map_err(AppError::from));
    }
    let heartbeat_pool = pool.clone();
    let outcome = conn.transaction(|c| execute_run(c, run, &heartbeat_pool));
    finished.finished_at = Some(Utc::now());
    match outcome {
        Ok(done) => finished = Run { finished_at: finished.finished_at, ..done },
        Err(e) => {
            tracing::warn!(run = %run.id, error = %e.message, "reconciliation run failed");
            finished.status = "failed".into();
            finished.error = Some(e.message);
        }
    }
    conn.transaction(|c| m_db::finish_run(c, &finished).map_err(AppError::from))
}

fn settings_for_engine(s: &m_db::Settings, base_currency: &str) -> MatchSettings {
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

fn execute_run(conn: &mut PgConnection, run: &Run, heartbeat_pool: &DbPool) -> AppResult<Run> {
    let tenant = run.tenant_id;
    let started = std::time::Instant::now();
    lock_tenant_matching(conn, tenant)?;
    let settings = m_db::settings(conn, tenant)?.unwrap_or_else(|| default_settings(tenant));
    let mut fx = FxRates::new();
    let mut seen_pairs = std::collections::HashSet::new();
    for r in m_db::rates(conn, tenant)? {
        // Rows come newest first per pair: the latest rate wins.
        if seen_pairs.insert((r.from_currency.clone(), r.to_currency.clone())) {
            fx.insert(&r.from_currency, &r.to_currency, r.rate);
        }
    }
    let customers: Vec<CustomerInfo> = m_db::customers_for_matching(conn, tenant)?
        .into_iter()
        .map(|(id, name, aliases, bank_accounts)| CustomerInfo { id, name, aliases, bank_accounts })
        .collect();
    let mut items: Vec<OpenItem> = Vec::new();
    loop {
        let page = m_db::documents_for_matching(conn, tenant, items.last().map(|i| i.id), DOCUMENT_PAGE)?;
        let full = page.len() as i64 == DOCUMENT_PAGE;
        items.extend(page.into_iter().map(
            |(id, customer_id, doc_type, doc_no, currency, amount, open_amount, issue_date, due_date)| OpenItem {
                // NUMERIC(20,4) comes back with four decimals: show amounts in the currency's own scale.
                amount: rescale(&currency, amount),
                open_amount: rescale(&currency, open_amount),
                id,
                customer_id,
                kind: if doc_type == "credit_note" { DocKind::CreditNote } else { DocKind::Invoice },
                doc_no,
                currency,
                issue_date,
                due_date,
            },
        ));
        if !full {
            break;
        }
    }
    let lines: Vec<LineInput> =
        m_db::lines_for_matching(conn, tenant, run.bank_account_id, run.booked_from, run.booked_to)?
            .into_iter()
            .map(
                |(
                    id,
                    bank_reference,
                    booking_date,
                    amount,
                    currency,
                    counterparty_name,
                    counterparty_iban,
                    remittance,
                    creditor_reference,
                    end_to_end_id,
                )| LineInput {
                    id,
                    bank_reference,
                    booking_date,
                    amount: rescale(&currency, amount),
                    currency,
                    counterparty_name,
                    counterparty_iban,
                    remittance,
                    creditor_reference,
                    end_to_end_id,
                },
            )
            .collect();
    let total = lines.len() as i32;
    let loaded = started.elapsed();
    let base_currency = crate::db::tenants::find(conn, tenant)?.base_currency;
    let engine = Engine::new(customers, items, fx, settings_for_engine(&settings, &base_currency));
    let now = Utc::now();
    // The engine runs on its own thread and hands allocations over in chunks, which this thread
    // copies into the table (same connection, same transaction) while the engine goes on: on two
    // cores matching and the database's work overlap, and memory holds a few chunks instead of
    // every allocation of the run (1M lines make over a million, each with its explanation).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Allocation>>(2);
    let ctx = RunContext { tenant, run_id: run.id, total, now, heartbeat_pool };
    let (copied, produced) = std::thread::scope(|scope| {
        let producer = scope.spawn(|| match_lines(engine, &lines, &ctx, tx));
        let mut copied: AppResult<usize> = Ok(0);
        for chunk in rx.iter() {
            if let Err(e) = m_db::insert_allocations(conn, &chunk) {
                // Dropping the receiver stops the engine at its next chunk.
                copied = Err(e.into());
                break;
            }
            if let Ok(n) = copied.as_mut() {
                *n += chunk.len();
            }
        }
        drop(rx);
        (copied, producer.join())
    });
    let produced = produced.map_err(|_| AppError::internal("matching thread panicked"))?;
    let allocations_written = copied?;
    let RunOutput { mut write_offs, doc_reduction, mut line_applied, auto, proposed, unmatched, matched_at } = produced;
    let matched = matched_at.duration_since(started);
    tracing::debug!(ms = (started.elapsed() - matched).as_millis() as u64, "allocations written");
    // Sorted by id (UUIDv7, so insertion order): the updates below then walk tables and indexes
    // in physical order instead of jumping between random pages.
    write_offs.sort_unstable_by_key(|w| w.id);
    m_db::insert_write_offs(conn, &write_offs)?;
    let mut doc_reduction: Vec<(Uuid, Decimal)> = doc_reduction.into_iter().collect();
    doc_reduction.sort_unstable_by_key(|(id, _)| *id);
    let (doc_ids, reductions): (Vec<Uuid>, Vec<Decimal>) = doc_reduction.into_iter().unzip();
    m_db::apply_to_documents(conn, tenant, &doc_ids, &reductions)?;
    tracing::debug!(ms = (started.elapsed() - matched).as_millis() as u64, "documents updated");
    line_applied.sort_unstable_by_key(|(id, _)| *id);
    let (line_ids, applied): (Vec<Uuid>, Vec<Decimal>) = line_applied.into_iter().unzip();
    m_db::apply_to_lines(conn, tenant, &line_ids, &applied)?;
    tracing::info!(
        run = %run.id,
        lines = total,
        load_ms = loaded.as_millis() as u64,
        match_ms = (matched - loaded).as_millis() as u64,
        persist_ms = (started.elapsed() - matched).as_millis() as u64,
        "reconciliation run phases"
    );
    let system = Principal {
        tenant_id: tenant,
        actor: crate::domain::auth::Actor::System,
        role: crate::domain::auth::Role::Admin,
        scopes: vec![],
    };
    let mut e = entry(&system, "reconciliation.completed", "reconciliation", &run.id.to_string());
    e.after = Some(serde_json::json!({
        "lines": total, "auto_applied": auto, "proposed": proposed, "unmatched": unmatched,
        "allocations": allocations_written, "write_offs": write_offs.len(),
    }));
    audit_db::append(conn, tenant, vec![e])?;
    // One event per run (never one per allocation: a run can apply a million lines).
    events::emit(
        conn,
        tenant,
        None,
        EventType::ReconciliationCompleted,
        serde_json::json!({
            "reconciliation_id": run.id, "lines": total, "auto_applied": auto, "proposed": proposed,
            "unmatched": unmatched, "allocations": allocations_written, "write_offs": write_offs.len(),
        }),
    )?;
    Ok(Run {
        status: "completed".into(),
        lines_total: total,
        lines_processed: total,
        auto_applied: auto,
        proposed,
        unmatched,
        error: None,
        ..run.clone()
    })
}

/// What the matching thread needs besides the engine and the lines.
struct RunContext<'a> {
    tenant: Uuid,
    run_id: Uuid,
    total: i32,
    now: DateTime<Utc>,
    heartbeat_pool: &'a DbPool,
}

/// What the matching thread hands back once every line is decided.
struct RunOutput {
    write_offs: Vec<WriteOffRow>,
    doc_reduction: HashMap<Uuid, Decimal>,
    line_applied: Vec<(Uuid, Decimal)>,
    auto: i32,
    proposed: i32,
    unmatched: i32,
    /// When the last line was decided (the end of the match phase, for the phase log).
    matched_at: std::time::Instant,
}

/// Documents read per query when a run loads the ledger.
const DOCUMENT_PAGE: i64 = 100_000;

/// Allocations per chunk sent to the COPY: large enough that a COPY's fixed cost is noise, small
/// enough that the chunks in flight stay a few tens of MB.
const ALLOCATION_CHUNK: usize = 20_000;

/// Decides every line (in the given, booking-date order) and sends its allocations to `tx` in
/// chunks. Stops early when the receiver is gone (the COPY failed: the run rolls back anyway).
fn match_lines(
    mut engine: Engine,
    lines: &[LineInput],
    ctx: &RunContext<'_>,
    tx: std::sync::mpsc::SyncSender<Vec<Allocation>>,
) -> RunOutput {
    let mut chunk: Vec<Allocation> = Vec::with_capacity(ALLOCATION_CHUNK);
    let mut write_offs: Vec<WriteOffRow> = Vec::new();
    let mut doc_reduction: HashMap<Uuid, Decimal> = HashMap::new();
    let mut line_applied: Vec<(Uuid, Decimal)> = Vec::new();
    let (mut auto, mut proposed, mut unmatched) = (0, 0, 0);
    for (i, line) in lines.iter().enumerate() {
        if i % 50_000 == 0 && i > 0 {
            // Progress is visible while the run's own transaction is still open.
            if let Ok(mut hb) = ctx.heartbeat_pool.get() {
                let _ = m_db::heartbeat(&mut hb, ctx.run_id, ctx.total, i as i32);
            }
        }
        let outcome = engine.match_line(line);
        let state = match outcome.decision {
            Decision::AutoApplied => {
                auto += 1;
                "auto_applied"
            }
            Decision::Proposed => {
                proposed += 1;
                "proposed"
            }
            Decision::Unmatched => {
                unmatched += 1;
                continue;
            }
        };
        let mut applied_on_line = Decimal::ZERO;
        let mut first_alloc_of_doc: HashMap<Uuid, Uuid> = HashMap::new();
        for a in &outcome.allocations {
            let id = Uuid::now_v7();
            first_alloc_of_doc.entry(a.document_id).or_insert(id);
            chunk.push(Allocation {
                id,
                tenant_id: ctx.tenant,
                run_id: Some(ctx.run_id),
                bank_line_id: line.id,
                document_id: a.document_id,
                amount: a.amount,
                line_amount: a.line_amount,
                state: state.into(),
                candidate_set: a.set as i32,
                confidence: Decimal::from_f64_retain(a.confidence).unwrap_or_default().round_dp(3),
                rule: a.rule.into(),
                explanation: serde_json::json!({
                    "summary": outcome.explanation, "evidence": a.evidence, "rule": a.rule,
                }),
                fx_rate: a.fx_rate,
                created_at: ctx.now,
                decided_at: None,
                decided_by: None,
            });
            if state == "auto_applied" {
                *doc_reduction.entry(a.document_id).or_default() += a.amount.abs();
                applied_on_line += a.line_amount;
            }
        }
        if state == "auto_applied" {
            for w in &outcome.write_offs {
                let Some(&allocation_id) = first_alloc_of_doc.get(&w.document_id) else { continue };
                *doc_reduction.entry(w.document_id).or_default() += w.amount;
                write_offs.push(WriteOffRow {
                    id: Uuid::now_v7(),
                    tenant_id: ctx.tenant,
                    allocation_id,
                    document_id: w.document_id,
                    amount: w.amount,
                    currency: w.currency.clone(),
                    reason: w.reason.into(),
                    created_at: ctx.now,
                    reversed_at: None,
                });
            }
            line_applied.push((line.id, applied_on_line));
        }
        if chunk.len() >= ALLOCATION_CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(ALLOCATION_CHUNK));
            if tx.send(full).is_err() {
                break;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(chunk);
    }
    let matched_at = std::time::Instant::now();
    RunOutput { write_offs, doc_reduction, line_applied, auto, proposed, unmatched, matched_at }
}

/// The `allocation.applied` event of a review action (confirm, manual allocation). It concerns one
/// customer when all the documents belong to one.
fn emit_applied(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    bank_line_id: Uuid,
    applied: &[Allocation],
    how: &str,
) -> AppResult<()> {
    use crate::db::schema::documents;
    use diesel::prelude::*;
    let doc_ids: Vec<Uuid> = applied.iter().map(|a| a.document_id).collect();
    let docs: Vec<(Uuid, Uuid, String, String)> = documents::table
        .filter(documents::tenant_id.eq(tenant_id))
        .filter(documents::id.eq_any(&doc_ids))
        .select((documents::id, documents::customer_id, documents::doc_no, documents::currency))
        .load(conn)?;
    let by_id: HashMap<Uuid, &(Uuid, Uuid, String, String)> = docs.iter().map(|d| (d.0, d)).collect();
    let customers: std::collections::HashSet<Uuid> = docs.iter().map(|d| d.1).collect();
    let customer_id = if customers.len() == 1 { customers.into_iter().next() } else { None };
    let items: Vec<serde_json::Value> = applied
        .iter()
        .map(|a| {
            let doc = by_id.get(&a.document_id);
            let currency = doc.map(|d| d.3.clone()).unwrap_or_default();
            serde_json::json!({
                "allocation_id": a.id,
                "document_id": a.document_id,
                "doc_no": doc.map(|d| d.2.clone()),
                "amount": format_amount(&currency, a.amount),
                "currency": currency,
            })
        })
        .collect();
    events::emit(
        conn,
        tenant_id,
        customer_id,
        EventType::AllocationApplied,
        serde_json::json!({ "bank_line_id": bank_line_id, "how": how, "allocations": items }),
    )?;
    Ok(())
}

/// Runs queued reconciliations until `stop` is set: one thread per server process.
pub fn spawn_worker(pool: DbPool, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("reconciliation-worker".into())
        .spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match process_next_run(&pool) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::debug!(error = %e.message, "reconciliation worker idle after error"),
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .expect("spawn the reconciliation worker")
}

// ----- allocations and review ----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AllocationView {
    pub id: Uuid,
    pub reconciliation_id: Option<Uuid>,
    pub bank_line_id: Uuid,
    /// The bank's line reference.
    pub line_id: Option<String>,
    pub document_id: Uuid,
    pub doc_no: String,
    /// In the document's currency.
    pub amount: String,
    pub currency: String,
    pub line_amount: String,
    /// auto_applied, proposed, confirmed or rejected.
    pub state: String,
    /// Proposals of one line come in candidate sets; 0 is the best.
    pub candidate_set: i32,
    pub confidence: String,
    pub rule: String,
    #[schema(value_type = Object)]
    pub explanation: async_graphql::Json<serde_json::Value>,
    pub fx_rate: Option<String>,
}

fn allocation_view((a, line_ref, line_currency, doc_no, currency): m_db::AllocationRow) -> AllocationView {
    AllocationView {
        id: a.id,
        reconciliation_id: a.run_id,
        bank_line_id: a.bank_line_id,
        line_id: line_ref,
        document_id: a.document_id,
        doc_no,
        amount: format_amount(&currency, a.amount),
        line_amount: format_amount(&line_currency, a.line_amount),
        currency,
        state: a.state,
        candidate_set: a.candidate_set,
        confidence: a.confidence.normalize().to_string(),
        rule: a.rule,
        explanation: async_graphql::Json(a.explanation),
        fx_rate: a.fx_rate.map(|r| r.normalize().to_string()),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllocationQuery {
    pub reconciliation_id: Option<Uuid>,
    pub bank_line_id: Option<Uuid>,
    /// auto_applied, proposed, confirmed or rejected.
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationPage {
    pub items: Vec<AllocationView>,
    pub next_cursor: Option<String>,
}

fn filter_of(q: &AllocationQuery) -> AppResult<AllocationFilter> {
    if let Some(s) = &q.state {
        if !["auto_applied", "proposed", "confirmed", "rejected"].contains(&s.as_str()) {
            return Err(AppError::invalid("state", format!("unknown state {s:?}")));
        }
    }
    Ok(AllocationFilter {
        run_id: q.reconciliation_id,
        bank_line_id: q.bank_line_id,
        state: q.state.clone(),
        after: parse_cursor(q.cursor.as_deref())?,
        limit: None,
    })
}

pub fn list_allocations(
    conn: &mut PgConnection,
    principal: &Principal,
    q: AllocationQuery,
    max: i64,
) -> AppResult<AllocationPage> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max)?;
    let mut f = filter_of(&q)?;
    f.limit = Some(limit + 1);
    let rows = m_db::list(conn, principal.tenant_id, &f)?;
    let p = super::pagination::page(rows, limit, |r| r.0.id, allocation_view);
    Ok(AllocationPage { items: p.items, next_cursor: p.next_cursor })
}

/// Every matching allocation as CSV: `line_id,doc_no,amount,state,confidence`.
pub fn allocations_csv(conn: &mut PgConnection, principal: &Principal, q: AllocationQuery) -> AppResult<Vec<u8>> {
    require(principal, Permission::Read)?;
    let f = filter_of(&q)?;
    let mut w = crate::reports::csv_cell::CsvWriter::new();
    w.row(["line_id", "doc_no", "amount", "state", "confidence"]).map_err(AppError::internal)?;
    for row in m_db::list(conn, principal.tenant_id, &f)? {
        let v = allocation_view(row);
        w.row([v.line_id.unwrap_or_default(), v.doc_no, v.amount, v.state, v.confidence])
            .map_err(AppError::internal)?;
    }
    w.finish().map_err(AppError::internal)
}

/// Confirms a proposal: the allocations of its candidate set are applied, the line's other
/// proposals are rejected. Refused when the open amounts moved on since it was proposed.
pub fn confirm(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<Vec<AllocationView>> {
    require(principal, Permission::WriteMatching)?;
    lock_tenant_matching(conn, principal.tenant_id)?;
    let chosen = m_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("allocation"))?;
    if chosen.state != "proposed" {
        return Err(AppError::conflict(format!(
            "only proposed allocations can be confirmed; this one is {}",
            chosen.state
        )));
    }
    let of_line = m_db::of_line_for_update(conn, principal.tenant_id, chosen.bank_line_id)?;
    let set: Vec<&Allocation> = of_line
        .iter()
        .filter(|a| a.state == "proposed" && a.candidate_set == chosen.candidate_set && a.run_id == chosen.run_id)
        .collect();
    let others: Vec<Uuid> =
        of_line.iter().filter(|a| a.state == "proposed" && !set.iter().any(|s| s.id == a.id)).map(|a| a.id).collect();
    let ids: Vec<Uuid> = set.iter().map(|a| a.id).collect();
    let doc_ids: Vec<Uuid> = set.iter().map(|a| a.document_id).collect();
    let reductions: Vec<Decimal> = set.iter().map(|a| a.amount.abs()).collect();
    let applied: Decimal = set.iter().map(|a| a.line_amount).sum();
    m_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &reductions).map_err(|e| {
        match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("a document no longer has enough open amount for this proposal")
            }
            err => err,
        }
    })?;
    m_db::apply_to_lines(conn, principal.tenant_id, &[chosen.bank_line_id], &[applied]).map_err(|e| {
        match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("the bank line is already applied")
            }
            err => err,
        }
    })?;
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    m_db::set_state(conn, &ids, "confirmed", &by)?;
    m_db::set_state(conn, &others, "rejected", &by)?;
    let mut e = entry(principal, "allocation.confirmed", "bank_line", &chosen.bank_line_id.to_string());
    e.after = Some(serde_json::json!({ "confirmed": ids, "rejected": others }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    emit_applied(
        conn,
        principal.tenant_id,
        chosen.bank_line_id,
        &set.iter().map(|a| (*a).clone()).collect::<Vec<_>>(),
        "confirmed",
    )?;
    let f = AllocationFilter { bank_line_id: Some(chosen.bank_line_id), ..Default::default() };
    Ok(m_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}

/// Rejects a proposal's candidate set, or unapplies an applied allocation (with its write-offs),
/// restoring open amounts and the line.
pub fn reject(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<Vec<AllocationView>> {
    require(principal, Permission::WriteMatching)?;
    lock_tenant_matching(conn, principal.tenant_id)?;
    let chosen = m_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("allocation"))?;
    let of_line = m_db::of_line_for_update(conn, principal.tenant_id, chosen.bank_line_id)?;
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    let action = match chosen.state.as_str() {
        "proposed" => {
            let ids: Vec<Uuid> = of_line
                .iter()
                .filter(|a| {
                    a.state == "proposed" && a.candidate_set == chosen.candidate_set && a.run_id == chosen.run_id
                })
                .map(|a| a.id)
                .collect();
            m_db::set_state(conn, &ids, "rejected", &by)?;
            "allocation.rejected"
        }
        "auto_applied" | "confirmed" => {
            // Unapply the whole applied group of the line: they were decided together.
            let group: Vec<&Allocation> = of_line
                .iter()
                .filter(|a| (a.state == "auto_applied" || a.state == "confirmed") && a.run_id == chosen.run_id)
                .collect();
            let ids: Vec<Uuid> = group.iter().map(|a| a.id).collect();
            let wos = m_db::write_offs_of(conn, principal.tenant_id, &ids)?;
            let mut restore: HashMap<Uuid, Decimal> = HashMap::new();
            for a in &group {
                *restore.entry(a.document_id).or_default() -= a.amount.abs();
            }
            for w in &wos {
                *restore.entry(w.document_id).or_default() -= w.amount;
            }
            let (doc_ids, deltas): (Vec<Uuid>, Vec<Decimal>) = restore.into_iter().unzip();
            m_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &deltas)?;
            let applied: Decimal = group.iter().map(|a| a.line_amount).sum();
            m_db::apply_to_lines(conn, principal.tenant_id, &[chosen.bank_line_id], &[-applied])?;
            m_db::reverse_write_offs(conn, &wos.iter().map(|w| w.id).collect::<Vec<_>>())?;
            m_db::set_state(conn, &ids, "rejected", &by)?;
            "allocation.unapplied"
        }
        other => return Err(AppError::conflict(format!("allocation is already {other}"))),
    };
    let mut e = entry(principal, action, "bank_line", &chosen.bank_line_id.to_string());
    e.after = Some(serde_json::json!({ "allocation": id }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    let f = AllocationFilter { bank_line_id: Some(chosen.bank_line_id), ..Default::default() };
    Ok(m_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ManualAllocationPart {
    pub document_id: Uuid,
    /// In the document's currency.
    pub amount: String,
    /// In the line's currency; required when the document is in another currency.
    pub line_amount: Option<String>,
    /// Settle the rest of the document with a write-off (bank_fee, discount, fx, manual) of this amount.
    pub write_off: Option<String>,
    pub write_off_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ManualAllocation {
    pub bank_line_id: Uuid,
    pub allocations: Vec<ManualAllocationPart>,
}

/// A person applies a line to documents in any split. Everything is checked against the current
/// open amounts under the tenant's matching lock; the result is `confirmed`.
pub fn allocate_manually(
    conn: &mut PgConnection,
    principal: &Principal,
    input: ManualAllocation,
) -> AppResult<Vec<AllocationView>> {
    use crate::db::schema::{bank_lines, documents};
    use crate::domain::money::Currency;
    use diesel::prelude::*;
    require(principal, Permission::WriteMatching)?;
    if input.allocations.is_empty() {
        return Err(AppError::invalid("allocations", "give at least one document"));
    }
    lock_tenant_matching(conn, principal.tenant_id)?;
    let line: crate::db::bank::BankLine = bank_lines::table
        .filter(bank_lines::tenant_id.eq(principal.tenant_id))
        .filter(bank_lines::id.eq(input.bank_line_id))
        .select(crate::db::bank::BankLine::as_select())
        .first(conn)
        .map_err(|_| AppError::not_found("bank line"))?;
    let line_cur = Currency::parse(&line.currency).map_err(AppError::internal)?;
    let mut remaining_line = line.amount - line.applied_amount;
    let now = Utc::now();
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    let (mut rows, mut wos, mut doc_ids, mut reductions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut applied = Decimal::ZERO;
    for (i, part) in input.allocations.iter().enumerate() {
        let field = |f: &str| format!("allocations[{i}].{f}");
        let (doc_id, doc_cur_code, doc_type, open): (Uuid, String, String, Decimal) = documents::table
            .filter(documents::tenant_id.eq(principal.tenant_id))
            .filter(documents::id.eq(part.document_id))
            .select((documents::id, documents::currency, documents::doc_type, documents::open_amount))
            .first(conn)
            .map_err(|_| AppError::invalid(&field("document_id"), "unknown document"))?;
        let doc_cur = Currency::parse(&doc_cur_code).map_err(AppError::internal)?;
        let amount =
            doc_cur.parse_amount(&part.amount).map_err(|e| AppError::invalid(&field("amount"), e.to_string()))?;
        if amount <= Decimal::ZERO {
            return Err(AppError::invalid(&field("amount"), "must be positive"));
        }
        let line_amount = match (&part.line_amount, doc_cur_code == line.currency) {
            (Some(t), _) => {
                line_cur.parse_amount(t).map_err(|e| AppError::invalid(&field("line_amount"), e.to_string()))?
            }
            (None, true) => amount,
            (None, false) => {
                return Err(AppError::invalid(&field("line_amount"), "required: the document is in another currency"))
            }
        };
        let write_off = part
            .write_off
            .as_deref()
            .map(|t| doc_cur.parse_amount(t).map_err(|e| AppError::invalid(&field("write_off"), e.to_string())))
            .transpose()?
            .unwrap_or_default();
        // A credit note is netted: it reduces what the line pays.
        let signed_line = if doc_type == "credit_note" { -line_amount } else { line_amount };
        if amount + write_off > open {
            return Err(AppError::conflict(format!("document has {open} open, less than {}", amount + write_off))
                .with_details(serde_json::json!({"field": field("amount")})));
        }
        remaining_line -= signed_line;
        applied += signed_line;
        let id = Uuid::now_v7();
        rows.push(Allocation {
            id,
            tenant_id: principal.tenant_id,
            run_id: None,
            bank_line_id: line.id,
            document_id: doc_id,
            amount: if doc_type == "credit_note" { -amount } else { amount },
            line_amount: signed_line,
            state: "confirmed".into(),
            candidate_set: 0,
            confidence: Decimal::ONE,
            rule: "manual".into(),
            explanation: serde_json::json!({"summary": "allocated by a person", "evidence": [format!("by {by}")], "rule": "manual"}),
            fx_rate: None,
            created_at: now,
            decided_at: Some(now),
            decided_by: Some(by.clone()),
        });
        if write_off > Decimal::ZERO {
            let reason = part.write_off_reason.clone().unwrap_or_else(|| "manual".into());
            if !["bank_fee", "discount", "fx", "manual"].contains(&reason.as_str()) {
                return Err(AppError::invalid(&field("write_off_reason"), "bank_fee, discount, fx or manual"));
            }
            wos.push(WriteOffRow {
                id: Uuid::now_v7(),
                tenant_id: principal.tenant_id,
                allocation_id: id,
                document_id: doc_id,
                amount: write_off,
                currency: doc_cur_code.clone(),
                reason,
                created_at: now,
                reversed_at: None,
            });
        }
        doc_ids.push(doc_id);
        reductions.push(amount + write_off);
    }
    if remaining_line < Decimal::ZERO {
        return Err(AppError::invalid(
            "allocations",
            format!("the line has only {} left to apply", line.amount - line.applied_amount),
        ));
    }
    m_db::insert_allocations(conn, &rows)?;
    m_db::insert_write_offs(conn, &wos)?;
    m_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &reductions).map_err(|e| {
        match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("a document appears twice with more than its open amount")
            }
            err => err,
        }
    })?;
    m_db::apply_to_lines(conn, principal.tenant_id, &[line.id], &[applied])?;
    emit_applied(conn, principal.tenant_id, line.id, &rows, "manual")?;
    let mut e = entry(principal, "allocation.manual", "bank_line", &line.id.to_string());
    e.after = Some(
        serde_json::json!({ "allocations": rows.iter().map(|a| a.id).collect::<Vec<_>>(), "write_offs": wos.len() }),
    );
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    let f = AllocationFilter { bank_line_id: Some(line.id), ..Default::default() };
    Ok(m_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}
