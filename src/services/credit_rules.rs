//! The tenant's credit rules, as data: conditions on dunning outcomes, broken promises and the
//! payment-behaviour score that set a customer's hold or prepayment, lower its credit limit or
//! shorten its payment terms (and lift or restore what they set once the condition no longer
//! holds). Replaced as a whole, like the dunning levels.

use super::audit::entry;
use super::require;
use crate::db::audit as audit_db;
use crate::db::credit::{self as credit_db, RuleRow};
use crate::domain::auth::{Permission, Principal};
use crate::domain::credit::{Condition, Effect, Rule};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct CreditRule {
    /// Unique per tenant; a flag a rule set names it (`rule:<code>`).
    pub code: String,
    /// dunning_severity_at_least (uses `severity`) | broken_promises (`count` in `days`) |
    /// payment_score_below (`score`)
    pub condition: String,
    pub severity: Option<i32>,
    pub count: Option<i32>,
    pub days: Option<i32>,
    /// A decimal string.
    pub score: Option<String>,
    /// hold | prepayment_required | lower_credit_limit (to at most `limit`) |
    /// shorten_payment_terms (to at most `terms_days`)
    pub effect: String,
    /// For lower_credit_limit: a decimal string, 0 or more (0: no credit).
    pub limit: Option<String>,
    /// For shorten_payment_terms: days, 0 to 3650.
    pub terms_days: Option<i32>,
}

fn parse(i: usize, r: &CreditRule) -> AppResult<Rule> {
    let field = |f: &str| format!("[{i}].{f}");
    let code = r.code.trim();
    if code.is_empty() || code.len() > 40 {
        return Err(AppError::invalid(&field("code"), "1 to 40 characters"));
    }
    let need = |v: Option<i32>, f: &str, range: std::ops::RangeInclusive<i32>| {
        v.filter(|v| range.contains(v)).ok_or_else(|| {
            AppError::invalid(&field(f), format!("required, between {} and {}", range.start(), range.end()))
        })
    };
    let condition = match r.condition.as_str() {
        "dunning_severity_at_least" => Condition::DunningSeverityAtLeast(need(r.severity, "severity", -1000..=1000)?),
        "broken_promises" => {
            Condition::BrokenPromises { count: need(r.count, "count", 1..=100)?, days: need(r.days, "days", 1..=3650)? }
        }
        "payment_score_below" => Condition::PaymentScoreBelow(
            r.score
                .as_deref()
                .and_then(|s| s.trim().parse::<Decimal>().ok())
                .ok_or_else(|| AppError::invalid(&field("score"), "required, a decimal string"))?,
        ),
        _ => {
            return Err(AppError::invalid(
                &field("condition"),
                "dunning_severity_at_least, broken_promises or payment_score_below",
            ))
        }
    };
    let (effect, cap) = match r.effect.as_str() {
        "hold" => (Effect::Hold, None),
        "prepayment_required" => (Effect::PrepaymentRequired, None),
        "lower_credit_limit" => {
            let limit = r.limit.as_deref().and_then(|s| s.trim().parse::<Decimal>().ok());
            let limit = limit.filter(|l| *l >= Decimal::ZERO && l.scale() <= 4 && *l < Decimal::from(10_i64.pow(16)));
            (
                Effect::LowerCreditLimit,
                Some(limit.ok_or_else(|| {
                    AppError::invalid(&field("limit"), "required, a decimal string of 0 or more (at most 4 decimals)")
                })?),
            )
        }
        "shorten_payment_terms" => {
            (Effect::ShortenPaymentTerms, Some(Decimal::from(need(r.terms_days, "terms_days", 0..=3650)?)))
        }
        _ => {
            return Err(AppError::invalid(
                &field("effect"),
                "hold, prepayment_required, lower_credit_limit or shorten_payment_terms",
            ))
        }
    };
    Ok(Rule { code: code.to_string(), condition, effect, cap })
}

fn stored(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<Vec<CreditRule>> {
    credit_db::rules(conn, tenant_id)?
        .into_iter()
        .map(|r| serde_json::from_value(r.definition).map_err(|e| AppError::internal(format!("credit rule: {e}"))))
        .collect()
}

pub fn get(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<CreditRule>> {
    require(principal, Permission::Read)?;
    stored(conn, principal.tenant_id)
}

/// The tenant's rules as the domain evaluates them.
pub(crate) fn domain_rules(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<Vec<Rule>> {
    stored(conn, tenant_id)?.iter().enumerate().map(|(i, r)| parse(i, r)).collect()
}

/// Replaces the tenant's credit rules (admin). They apply from the next dunning run or
/// promise check on.
pub fn put(conn: &mut PgConnection, principal: &Principal, input: Vec<CreditRule>) -> AppResult<Vec<CreditRule>> {
    require(principal, Permission::Admin)?;
    if input.len() > 50 {
        return Err(AppError::invalid("rules", "at most 50 rules"));
    }
    let mut rows = Vec::with_capacity(input.len());
    let mut clean = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let rule = parse(i, r)?;
        if clean.iter().any(|c: &CreditRule| c.code == rule.code) {
            return Err(AppError::invalid(&format!("[{i}].code"), "unique"));
        }
        let mut r = r.clone();
        r.code = rule.code.clone();
        rows.push(RuleRow {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            position: i as i32,
            code: rule.code,
            definition: json!(r),
            created_at: Utc::now(),
        });
        clean.push(r);
    }
    let before = stored(conn, principal.tenant_id)?;
    credit_db::replace_rules(conn, principal.tenant_id, &rows)?;
    let mut e = entry(principal, "credit_rules.replaced", "tenant", &principal.tenant_id.to_string());
    e.before = Some(json!(before));
    e.after = Some(json!(clean));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(clean)
}
