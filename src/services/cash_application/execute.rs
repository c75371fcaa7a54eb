//! Executing one cash-application run: load the open book and the lines, decide every line in
//! memory (the engine on its own thread), write allocations, write-offs, open amounts and line
//! statuses in bulk, then the audit entry and one event.

use super::loading::{load_engine_with_rules, load_lines};
use super::lock_tenant_matching;
use crate::db::audit as audit_db;
use crate::db::cash_application::{self as cash_db, Allocation, Run, WriteOffRow};
use crate::db::statistics::{self, Grown};
use crate::db::DbPool;
use crate::domain::auth::Principal;
use crate::domain::cash_application::{Decision, Engine, LineInput, LineOutcome};
use crate::domain::matching_rules::compiled::RuleRef;
use crate::domain::run_status::{AllocationState, RunStatus};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::data_safety::Keyring;
use crate::services::events::{self, EventType};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// Decides every unapplied line in the run's scope and writes the outcome, in the caller's
/// transaction (under the tenant's matching lock).
pub(super) fn execute_run(
    conn: &mut PgConnection,
    keys: &Keyring,
    run: &Run,
    heartbeat_pool: &DbPool,
    metrics: Option<&crate::services::metrics::Metrics>,
    cancel: &AtomicBool,
) -> AppResult<Run> {
    let tenant = run.tenant_id;
    let started = std::time::Instant::now();
    lock_tenant_matching(conn, tenant)?;
    let engine = load_engine_with_rules(conn, keys, tenant)?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rss_mib = crate::services::metrics::resident_mib(),
        "run: engine loaded"
    );
    let lines = load_lines(conn, run)?;
    tracing::debug!(
        lines = lines.len(),
        ms = started.elapsed().as_millis() as u64,
        rss_mib = crate::services::metrics::resident_mib(),
        "run: lines loaded"
    );
    let total = lines.len() as i32;
    let loaded = started.elapsed();
    let ctx = RunContext { tenant, run_id: run.id, total, now: Utc::now(), heartbeat_pool, cancel };
    // Every allocation and write-off the run writes names documents and lines the engine was
    // loaded with, and allocations of this run, in this transaction: the database need not look
    // them up again.
    cash_db::writes_of_run(conn, tenant, run.id)?;
    let (allocations_written, produced) = match_and_copy(conn, engine, lines, &ctx)?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rss_mib = crate::services::metrics::resident_mib(),
        peak_mib = crate::services::metrics::peak_resident_mib(),
        "run: lines matched"
    );
    // A run stopped part-way must not write its partial outcome.
    cancelled(cancel)?;
    let matched = produced.matched_at.duration_since(started);
    let counts = persist_effects(conn, tenant, run.id, produced, started, matched)?;
    tracing::info!(
        run = %run.id,
        lines = total,
        load_ms = loaded.as_millis() as u64,
        match_ms = (matched - loaded).as_millis() as u64,
        persist_ms = (started.elapsed() - matched).as_millis() as u64,
        "reconciliation run phases"
    );
    if let Some(m) = metrics {
        m.observe_run_phase("load", loaded.as_secs_f64());
        m.observe_run_phase("match", (matched - loaded).as_secs_f64());
        m.observe_run_phase("persist", (started.elapsed() - matched).as_secs_f64());
    }
    cancelled(cancel)?;
    record_completion(conn, run.id, tenant, total, allocations_written, &counts)?;
    statistics::refresh_if_grown(conn, Grown::Allocations, allocations_written as u64)?;
    statistics::refresh_if_grown(conn, Grown::Documents, counts.documents_updated as u64)?;
    Ok(Run {
        status: RunStatus::Completed,
        lines_total: total,
        lines_processed: total,
        auto_applied: counts.auto,
        proposed: counts.proposed,
        unmatched: counts.unmatched,
        error: None,
        ..run.clone()
    })
}

/// What a run stopped for a shutdown fails with (its transaction rolls back; the worker hands it
/// back).
const HANDED_BACK: &str = "stopped for a shutdown; handed back";

fn cancelled(cancel: &AtomicBool) -> AppResult<()> {
    match cancel.load(Ordering::Relaxed) {
        true => Err(AppError::internal(HANDED_BACK)),
        false => Ok(()),
    }
}

/// Runs the engine on its own thread and copies its allocations into the table as they come.
fn match_and_copy(
    conn: &mut PgConnection,
    engine: Engine,
    lines: Vec<LineInput>,
    ctx: &RunContext<'_>,
) -> AppResult<(usize, RunOutput)> {
    // The engine runs on its own thread and hands allocations over in chunks, which this thread
    // copies into the table (same connection, same transaction) while the engine goes on: on two
    // cores matching and the database's work overlap, and memory holds a few chunks instead of
    // every allocation of the run (1M lines make over a million, each with its explanation).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Allocation>>(2);
    let (copied, produced) = std::thread::scope(|scope| {
        let producer = scope.spawn(|| match_lines(engine, lines, ctx, tx));
        let mut copied: AppResult<usize> = Ok(0);
        for chunk in rx.iter() {
            if let Err(e) = cash_db::insert_allocations(conn, &chunk) {
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
    Ok((allocations_written, produced))
}

/// How many lines of each outcome, and write-offs written.
struct Counts {
    auto: i32,
    proposed: i32,
    /// Includes the ignored lines (a run's counts add up to its lines).
    unmatched: i32,
    ignored: i32,
    write_offs: usize,
    /// Documents whose open amount the run changed.
    documents_updated: usize,
}

/// Marks the lines a matching rule ignored, each with an audit entry that says which rule and why
/// (the line itself has no place for the reason).
fn mark_ignored(conn: &mut PgConnection, tenant: Uuid, run_id: Uuid, mut ignored: Vec<IgnoredLine>) -> AppResult<()> {
    if ignored.is_empty() {
        return Ok(());
    }
    ignored.sort_unstable_by_key(|l| l.line_id);
    let ids: Vec<Uuid> = ignored.iter().map(|l| l.line_id).collect();
    cash_db::ignore_lines(conn, tenant, &ids)?;
    let system = system_principal(tenant);
    let entries = ignored
        .into_iter()
        .map(|l| {
            let mut e = entry(&system, "bank_line.ignored", "bank_line", &l.line_id.to_string());
            e.before = Some(serde_json::json!({"status": "unapplied"}));
            e.after = Some(serde_json::json!({
                "status": "ignored", "reason": l.explanation, "reconciliation_id": run_id,
                "matching_rule": l.rule.map(|r| serde_json::json!({"id": r.id, "version": r.version, "name": r.name})),
            }));
            e
        })
        .collect();
    audit_db::append(conn, tenant, entries)?;
    Ok(())
}

fn system_principal(tenant: Uuid) -> Principal {
    Principal {
        tenant_id: tenant,
        actor: crate::domain::auth::Actor::System,
        role: crate::domain::auth::Role::Admin,
        scopes: vec![],
    }
}

/// Write-offs, open amounts of documents and applied amounts of lines, in bulk.
fn persist_effects(
    conn: &mut PgConnection,
    tenant: Uuid,
    run_id: Uuid,
    produced: RunOutput,
    started: std::time::Instant,
    matched: std::time::Duration,
) -> AppResult<Counts> {
    let RunOutput { mut write_offs, doc_reduction, mut line_applied, auto, proposed, unmatched, ignored, .. } =
        produced;
    tracing::debug!(ms = (started.elapsed() - matched).as_millis() as u64, "allocations written");
    // Sorted by id (UUIDv7, so insertion order): the updates below then walk tables and indexes
    // in physical order instead of jumping between random pages.
    write_offs.sort_unstable_by_key(|w| w.id);
    cash_db::insert_write_offs(conn, &write_offs)?;
    let mut doc_reduction: Vec<(Uuid, Decimal)> = doc_reduction.into_iter().collect();
    doc_reduction.sort_unstable_by_key(|(id, _)| *id);
    let (doc_ids, reductions): (Vec<Uuid>, Vec<Decimal>) = doc_reduction.into_iter().unzip();
    cash_db::apply_to_documents(conn, tenant, &doc_ids, &reductions)?;
    crate::services::promises::on_applied(conn, tenant, &doc_ids)?;
    tracing::debug!(ms = (started.elapsed() - matched).as_millis() as u64, "documents updated");
    line_applied.sort_unstable_by_key(|(id, _)| *id);
    let (line_ids, applied): (Vec<Uuid>, Vec<Decimal>) = line_applied.into_iter().unzip();
    cash_db::apply_to_lines(conn, tenant, &line_ids, &applied)?;
    let n_ignored = ignored.len() as i32;
    mark_ignored(conn, tenant, run_id, ignored)?;
    let documents_updated = doc_ids.len();
    Ok(Counts { auto, proposed, unmatched, ignored: n_ignored, write_offs: write_offs.len(), documents_updated })
}

/// The run's audit entry and its one `reconciliation.completed` event.
fn record_completion(
    conn: &mut PgConnection,
    run_id: Uuid,
    tenant: Uuid,
    total: i32,
    allocations_written: usize,
    counts: &Counts,
) -> AppResult<()> {
    let system = system_principal(tenant);
    let mut e = entry(&system, "reconciliation.completed", "reconciliation", &run_id.to_string());
    e.after = Some(serde_json::json!({
        "lines": total, "auto_applied": counts.auto, "proposed": counts.proposed, "unmatched": counts.unmatched,
        "ignored": counts.ignored, "allocations": allocations_written, "write_offs": counts.write_offs,
    }));
    audit_db::append(conn, tenant, vec![e])?;
    // One event per run (never one per allocation: a run can apply a million lines).
    events::emit(
        conn,
        tenant,
        None,
        EventType::ReconciliationCompleted,
        serde_json::json!({
            "reconciliation_id": run_id, "lines": total, "auto_applied": counts.auto, "proposed": counts.proposed,
            "unmatched": counts.unmatched, "ignored": counts.ignored, "allocations": allocations_written,
            "write_offs": counts.write_offs,
        }),
    )?;
    Ok(())
}

/// What the matching thread needs besides the engine and the lines.
struct RunContext<'a> {
    tenant: Uuid,
    run_id: Uuid,
    total: i32,
    now: DateTime<Utc>,
    heartbeat_pool: &'a DbPool,
    /// Set when the run is to stop (the process is shutting down and the run did not finish in time).
    cancel: &'a AtomicBool,
}

/// What the matching thread hands back once every line is decided.
struct RunOutput {
    write_offs: Vec<WriteOffRow>,
    doc_reduction: HashMap<Uuid, Decimal>,
    line_applied: Vec<(Uuid, Decimal)>,
    auto: i32,
    proposed: i32,
    unmatched: i32,
    /// Lines a matching rule ignored (counted in `unmatched` too).
    ignored: Vec<IgnoredLine>,
    /// When the last line was decided (the end of the match phase, for the phase log).
    matched_at: std::time::Instant,
}

/// A line a matching rule says is no customer receipt.
struct IgnoredLine {
    line_id: Uuid,
    explanation: String,
    rule: Option<RuleRef>,
}

/// Allocations per chunk sent to the COPY: large enough that a COPY's fixed cost is noise, small
/// enough that the chunks in flight stay a few tens of MB.
const ALLOCATION_CHUNK: usize = 20_000;

/// Decides every line (in the given, booking-date order) and sends its allocations to `tx` in
/// chunks. Stops early when the receiver is gone (the COPY failed: the run rolls back anyway).
fn match_lines(
    mut engine: Engine,
    lines: Vec<LineInput>,
    ctx: &RunContext<'_>,
    tx: std::sync::mpsc::SyncSender<Vec<Allocation>>,
) -> RunOutput {
    engine.set_run_lines(&lines);
    let mut chunk: Vec<Allocation> = Vec::with_capacity(ALLOCATION_CHUNK);
    let mut write_offs: Vec<WriteOffRow> = Vec::new();
    let mut doc_reduction: HashMap<Uuid, Decimal> = HashMap::new();
    let mut line_applied: Vec<(Uuid, Decimal)> = Vec::new();
    let (mut auto, mut proposed, mut unmatched) = (0, 0, 0);
    let mut ignored: Vec<IgnoredLine> = Vec::new();
    // Each line is dropped once decided: its texts are most of a run's memory, and what the run
    // goes on to hold (the outcome's rows, the documents' reductions) grows as they go.
    for (i, line) in lines.into_iter().enumerate() {
        if ctx.cancel.load(Ordering::Relaxed) {
            break;
        }
        if i % 50_000 == 0 && i > 0 {
            // Progress is visible while the run's own transaction is still open.
            if let Ok(mut hb) = ctx.heartbeat_pool.get() {
                let _ = cash_db::heartbeat(&mut hb, ctx.run_id, ctx.total, i as i32);
            }
        }
        let outcome = engine.match_line(&line);
        let state = match outcome.decision {
            Decision::AutoApplied => {
                auto += 1;
                AllocationState::AutoApplied
            }
            Decision::Proposed => {
                proposed += 1;
                AllocationState::Proposed
            }
            Decision::Unmatched => {
                unmatched += 1;
                continue;
            }
            Decision::Ignored => {
                unmatched += 1;
                let LineOutcome { explanation, matching_rule: rule, .. } = outcome;
                ignored.push(IgnoredLine { line_id: line.id, explanation, rule });
                continue;
            }
        };
        let mut applied_on_line = Decimal::ZERO;
        let mut first_alloc_of_doc: HashMap<Uuid, Uuid> = HashMap::new();
        for a in &outcome.allocations {
            let id = Uuid::now_v7();
            first_alloc_of_doc.entry(a.document_id).or_insert(id);
            chunk.push(allocation_row(ctx, line.id, id, state, a, &outcome.explanation));
            if state == AllocationState::AutoApplied {
                *doc_reduction.entry(a.document_id).or_default() += a.amount.abs();
                applied_on_line += a.line_amount;
            }
        }
        if state == AllocationState::AutoApplied {
            for w in &outcome.write_offs {
                let Some(&allocation_id) = first_alloc_of_doc.get(&w.document_id) else { continue };
                *doc_reduction.entry(w.document_id).or_default() += w.amount;
                write_offs.push(write_off_row(ctx, allocation_id, w));
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
    RunOutput { write_offs, doc_reduction, line_applied, auto, proposed, unmatched, ignored, matched_at }
}

/// The row of one allocation a run decided (not yet decided by a person).
fn allocation_row(
    ctx: &RunContext<'_>,
    bank_line_id: Uuid,
    id: Uuid,
    state: AllocationState,
    a: &crate::domain::cash_application::ProposedAllocation,
    explanation: &str,
) -> Allocation {
    Allocation {
        id,
        tenant_id: ctx.tenant,
        run_id: Some(ctx.run_id),
        bank_line_id,
        document_id: a.document_id,
        amount: a.amount,
        line_amount: a.line_amount,
        state,
        candidate_set: a.set as i32,
        confidence: Decimal::from_f64_retain(a.confidence).unwrap_or_default().round_dp(3),
        rule: a.rule.into(),
        explanation: explanation_json(a, explanation),
        fx_rate: a.fx_rate,
        created_at: ctx.now,
        decided_at: None,
        decided_by: None,
        rule_id: a.matching_rule.as_ref().map(|r| r.id),
        rule_version: a.matching_rule.as_ref().map(|r| r.version),
    }
}

/// The stored explanation: the summary, the built-in evidence, and (only when there is any) the
/// rule and learned evidence and the rule's name, each apart.
fn explanation_json(a: &crate::domain::cash_application::ProposedAllocation, summary: &str) -> serde_json::Value {
    let mut v = serde_json::json!({"summary": summary, "evidence": a.evidence, "rule": a.rule});
    if let Some(m) = v.as_object_mut() {
        if !a.rule_evidence.is_empty() {
            m.insert("rule_evidence".into(), serde_json::json!(a.rule_evidence));
        }
        if !a.learned_evidence.is_empty() {
            m.insert("learned_evidence".into(), serde_json::json!(a.learned_evidence));
        }
        if let Some(r) = &a.matching_rule {
            m.insert("matching_rule".into(), serde_json::json!({"id": r.id, "version": r.version, "name": r.name}));
        }
    }
    v
}

fn write_off_row(
    ctx: &RunContext<'_>,
    allocation_id: Uuid,
    w: &crate::domain::cash_application::WriteOff,
) -> WriteOffRow {
    WriteOffRow {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant,
        allocation_id,
        document_id: w.document_id,
        amount: w.amount,
        currency: w.currency.clone(),
        reason: w.reason,
        created_at: ctx.now,
        reversed_at: None,
    }
}
