//! Dry run of a draft rule set (REST `POST /matching-rules/dry-run`, GraphQL
//! `matchingRulesDryRun`): the chosen lines are matched twice, once under the live rules and once
//! under the draft, each on a fresh engine loaded as a run loads it, in one read-only transaction.
//! Nothing is written; the answer says what each line would get and what the draft changes.

use super::loading::{line_input, load_engine, load_engine_with_rules, CurrencyCodes};
use super::rules::{bank_accounts, install, CustomerCodes};
use crate::db::cash_application as cash_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::bank_line::BankLineStatus;
use crate::domain::cash_application::{Decision, Engine, LineInput, LineOutcome};
use crate::domain::matching_rules::compiled::{RuleRef, StoredRule};
use crate::domain::matching_rules::RuleDefinition;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use crate::services::data_safety::Keyring;
use crate::services::require;
use chrono::NaiveDate;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

/// Most lines one dry run matches.
pub const MAX_DRY_RUN_LINES: usize = 10_000;
/// Most rules in a draft (as many as a tenant may keep).
const MAX_DRAFT_RULES: usize = 200;

/// One rule of the draft, in evaluation order.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct DraftRule {
    /// Shown in the answer as "draft rule N (name)".
    pub name: String,
    /// A rule definition as `/matching-rules` stores it (`when`, `candidates`, `then`).
    #[schema(value_type = Object)]
    pub definition: async_graphql::Json<serde_json::Value>,
}

/// What to try: a draft rule set (replacing the live one) and the lines to try it on.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The draft rule set, in order (may be empty: what would the lines get without rules).
    pub rules: Vec<DraftRule>,
    /// These bank lines (at most 10,000) ...
    #[serde(default)]
    pub line_ids: Option<Vec<Uuid>>,
    /// ... or the lines of this imported statement.
    #[serde(default)]
    pub statement_id: Option<Uuid>,
    /// Only lines booked on or after this date.
    #[serde(default)]
    pub booked_from: Option<NaiveDate>,
    /// Only lines booked on or before this date.
    #[serde(default)]
    pub booked_to: Option<NaiveDate>,
}

/// The rule behind an outcome: a live rule (id and version) or a rule of the draft (its position).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunRule {
    pub name: String,
    /// Live rule: its id.
    pub id: Option<Uuid>,
    /// Live rule: its version.
    pub version: Option<i32>,
    /// Draft rule: its position in the draft, from 1 ("draft rule N").
    pub draft_rule: Option<i32>,
}

/// One document of an outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunAllocation {
    /// 0 = the set that would be applied (or proposed first); alternatives 1.. .
    pub candidate_set: i32,
    pub document_id: Uuid,
    pub doc_no: String,
    /// In the document's currency.
    pub amount: String,
    pub confidence: String,
    /// The built-in rule, e.g. `reference_exact_amount`.
    pub rule: String,
    pub matching_rule: Option<DryRunRule>,
    pub evidence: Vec<String>,
    pub rule_evidence: Vec<String>,
    pub learned_evidence: Vec<String>,
}

/// What a line would get under one rule set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunOutcome {
    /// auto_applied, proposed, unmatched or ignored.
    pub decision: String,
    pub allocations: Vec<DryRunAllocation>,
    /// The rule that ignored the line or shaped its first set.
    pub matching_rule: Option<DryRunRule>,
    pub explanation: String,
}

/// One chosen line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunLine {
    pub bank_line_id: Uuid,
    /// The bank's line reference.
    pub line_id: Option<String>,
    pub booking_date: NaiveDate,
    pub amount: String,
    pub currency: String,
    /// Under the live rules (absent for a line not matched, see `not_matched`).
    pub current: Option<DryRunOutcome>,
    /// Under the draft.
    pub draft: Option<DryRunOutcome>,
    /// gained (the draft applies it, the live rules do not), lost (the reverse), changed (another
    /// decision or other documents), same; absent for a line not matched.
    pub change: Option<String>,
    /// Why the line is not matched (already applied or ignored, a debit): runs take only
    /// unapplied credit lines.
    pub not_matched: Option<String>,
}

/// Decisions under one rule set.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunDecisions {
    pub auto_applied: i32,
    pub proposed: i32,
    pub unmatched: i32,
    pub ignored: i32,
}

/// Counts over the chosen lines.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunSummary {
    /// Lines chosen.
    pub lines: i32,
    /// Lines matched (unapplied credits).
    pub matched: i32,
    pub not_matched: i32,
    pub gained: i32,
    pub lost: i32,
    pub changed: i32,
    pub same: i32,
    pub current: DryRunDecisions,
    pub draft: DryRunDecisions,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DryRunReport {
    pub summary: DryRunSummary,
    /// In booking order.
    pub lines: Vec<DryRunLine>,
}

/// Parses and validates the draft; errors name the field, e.g. `rules[2].definition.when.remittance`.
fn parse_draft(rules: &[DraftRule]) -> AppResult<Vec<StoredRule>> {
    if rules.len() > MAX_DRAFT_RULES {
        return Err(AppError::invalid("rules", format!("at most {MAX_DRAFT_RULES} rules")));
    }
    let mut out: Vec<StoredRule> = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid(&format!("rules[{i}].name"), "1 to 200 characters"));
        }
        if out.iter().any(|o| o.rule.name == name) {
            return Err(AppError::invalid(&format!("rules[{i}].name"), format!("'{name}' is used twice")));
        }
        let field = format!("rules[{i}].definition");
        let definition: RuleDefinition =
            serde_json::from_value(r.definition.0.clone()).map_err(|e| AppError::invalid(&field, e.to_string()))?;
        definition.validate().map_err(|e| AppError::invalid(&format!("{field}.{}", e.field), e.message))?;
        // Version 0 marks a draft rule; the id carries its position.
        let rule = RuleRef { id: Uuid::from_u128(i as u128 + 1), version: 0, name: name.to_string() };
        out.push(StoredRule { rule, definition });
    }
    Ok(out)
}

fn rule_view(r: &RuleRef) -> DryRunRule {
    if r.version == 0 {
        DryRunRule { name: r.name.clone(), id: None, version: None, draft_rule: Some(r.id.as_u128() as i32) }
    } else {
        DryRunRule { name: r.name.clone(), id: Some(r.id), version: Some(r.version), draft_rule: None }
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::AutoApplied => "auto_applied",
        Decision::Proposed => "proposed",
        Decision::Unmatched => "unmatched",
        Decision::Ignored => "ignored",
    }
}

fn outcome_view(o: &LineOutcome) -> DryRunOutcome {
    let allocations: Vec<DryRunAllocation> = o
        .allocations
        .iter()
        .map(|a| DryRunAllocation {
            candidate_set: a.set as i32,
            document_id: a.document_id,
            doc_no: a.doc_no.clone(),
            amount: a.amount.to_string(),
            confidence: format!("{:.3}", a.confidence),
            rule: a.rule.to_string(),
            matching_rule: a.matching_rule.as_ref().map(rule_view),
            evidence: a.evidence.clone(),
            rule_evidence: a.rule_evidence.clone(),
            learned_evidence: a.learned_evidence.clone(),
        })
        .collect();
    let first = o.allocations.iter().find(|a| a.set == 0 && a.matching_rule.is_some());
    DryRunOutcome {
        decision: decision_word(o.decision).to_string(),
        matching_rule: o.matching_rule.as_ref().or(first.and_then(|a| a.matching_rule.as_ref())).map(rule_view),
        explanation: o.explanation.clone(),
        allocations,
    }
}

/// gained / lost / changed / same, from the decisions and the first set's documents and amounts.
fn change_of(current: &LineOutcome, draft: &LineOutcome) -> &'static str {
    let applied = |o: &LineOutcome| o.decision == Decision::AutoApplied;
    match (applied(current), applied(draft)) {
        (false, true) => "gained",
        (true, false) => "lost",
        _ => {
            let first = |o: &LineOutcome| {
                let mut v: Vec<(Uuid, rust_decimal::Decimal)> =
                    o.allocations.iter().filter(|a| a.set == 0).map(|a| (a.document_id, a.amount)).collect();
                v.sort();
                v
            };
            if current.decision == draft.decision && first(current) == first(draft) {
                "same"
            } else {
                "changed"
            }
        }
    }
}

/// Why a chosen line is not matched, if it is not.
fn not_matched(status: BankLineStatus, line: &LineInput) -> Option<String> {
    if line.amount <= rust_decimal::Decimal::ZERO {
        return Some("a debit or zero line: runs match only credits".to_string());
    }
    match status {
        BankLineStatus::Unapplied => None,
        other => Some(format!("the line is {}: runs match only unapplied lines", other.as_str().replace('_', " "))),
    }
}

/// The dry run, in the caller's transaction (made read-only here, so nothing can be written).
pub fn dry_run(
    conn: &mut PgConnection,
    keys: &Keyring,
    principal: &Principal,
    req: DryRunRequest,
) -> AppResult<DryRunReport> {
    require(principal, Permission::WriteMatching)?;
    cash_db::read_only(conn)?;
    let tenant = principal.tenant_id;
    let draft = parse_draft(&req.rules)?;
    let chosen = chosen_lines(conn, tenant, &req)?;
    let accounts = bank_accounts(conn, tenant)?;
    let mut currencies = CurrencyCodes::default();
    let lines: Vec<(BankLineStatus, LineInput)> =
        chosen.into_iter().map(|(l, status)| (status, line_input(l, &accounts, &mut currencies))).collect();
    // Each rule set on an engine of its own, loaded as a run loads it (each engine applies what
    // it decides to its own copy of the open book).
    let mut current = load_engine_with_rules(conn, keys, tenant)?;
    let codes = CustomerCodes::load(conn, tenant)?;
    let mut proposed = load_engine(conn, keys, tenant)?;
    install(&mut proposed, tenant, &draft, &codes);
    Ok(compare(&mut current, &mut proposed, &lines))
}

/// Matches every unapplied credit line on both engines (booking order) and compares.
fn compare(current: &mut Engine, draft: &mut Engine, lines: &[(BankLineStatus, LineInput)]) -> DryRunReport {
    current.set_run_lines(lines.iter().map(|(_, l)| l));
    draft.set_run_lines(lines.iter().map(|(_, l)| l));
    let mut summary = DryRunSummary { lines: lines.len() as i32, ..DryRunSummary::default() };
    let mut out = Vec::with_capacity(lines.len());
    for (status, l) in lines {
        let mut view = DryRunLine {
            bank_line_id: l.id,
            line_id: l.bank_reference.as_deref().map(str::to_string),
            booking_date: l.booking_date,
            amount: format_amount(&l.currency, l.amount),
            currency: l.currency.to_string(),
            current: None,
            draft: None,
            change: None,
            not_matched: not_matched(*status, l),
        };
        if view.not_matched.is_some() {
            summary.not_matched += 1;
            out.push(view);
            continue;
        }
        summary.matched += 1;
        let (c, d) = (current.match_line(l), draft.match_line(l));
        let change = change_of(&c, &d);
        match change {
            "gained" => summary.gained += 1,
            "lost" => summary.lost += 1,
            "changed" => summary.changed += 1,
            _ => summary.same += 1,
        }
        count(&mut summary.current, c.decision);
        count(&mut summary.draft, d.decision);
        view.current = Some(outcome_view(&c));
        view.draft = Some(outcome_view(&d));
        view.change = Some(change.to_string());
        out.push(view);
    }
    DryRunReport { summary, lines: out }
}

fn count(d: &mut DryRunDecisions, decision: Decision) {
    match decision {
        Decision::AutoApplied => d.auto_applied += 1,
        Decision::Proposed => d.proposed += 1,
        Decision::Unmatched => d.unmatched += 1,
        Decision::Ignored => d.ignored += 1,
    }
}

/// The chosen lines of the tenant in booking order, at most [`MAX_DRY_RUN_LINES`].
fn chosen_lines(
    conn: &mut PgConnection,
    tenant: Uuid,
    req: &DryRunRequest,
) -> AppResult<Vec<(cash_db::MatchingLine, BankLineStatus)>> {
    let ids = req.line_ids.as_deref();
    match (ids, req.statement_id) {
        (None, None) => return Err(AppError::invalid("line_ids", "give line_ids or statement_id")),
        (Some(_), Some(_)) => return Err(AppError::invalid("statement_id", "give line_ids or statement_id, not both")),
        (Some(ids), None) if ids.len() > MAX_DRY_RUN_LINES => {
            return Err(AppError::invalid(
                "line_ids",
                format!("a dry run covers at most {MAX_DRY_RUN_LINES} lines; {} were given", ids.len()),
            ));
        }
        (Some([]), None) => return Err(AppError::invalid("line_ids", "at least one line")),
        _ => {}
    }
    if let (Some(a), Some(b)) = (req.booked_from, req.booked_to) {
        if a > b {
            return Err(AppError::invalid("booked_from", "after booked_to"));
        }
    }
    let limit = MAX_DRY_RUN_LINES as i64 + 1;
    let rows = cash_db::lines_for_dry_run(conn, tenant, ids, req.statement_id, req.booked_from, req.booked_to, limit)?;
    if rows.len() > MAX_DRY_RUN_LINES {
        return Err(AppError::invalid(
            "statement_id",
            format!(
                "a dry run covers at most {MAX_DRY_RUN_LINES} lines; this statement has more: narrow it with booked_from/booked_to"
            ),
        ));
    }
    if let (Some(ids), None, None) = (ids, req.booked_from, req.booked_to) {
        let found: HashSet<Uuid> = rows.iter().map(|(l, _)| l.id).collect();
        let unknown: Vec<String> = ids.iter().filter(|id| !found.contains(id)).take(5).map(Uuid::to_string).collect();
        if !unknown.is_empty() {
            return Err(AppError::invalid("line_ids", format!("no such bank line: {}", unknown.join(", "))));
        }
    }
    if let (Some(s), true) = (req.statement_id, rows.is_empty()) {
        if !cash_db::statement_exists(conn, tenant, s)? {
            return Err(AppError::not_found("bank statement"));
        }
    }
    Ok(rows)
}
