//! Credit policy per customer: limit and payment terms (kept on the customer), prepayment
//! required and credit hold (with who set each), changed by people (PUT) and by the tenant's
//! credit rules and dunning levels (`reassess`), every change kept with its explanation and
//! audited. This is the one place a customer's hold lives; the dunning view reads it.

use super::audit::entry;
use super::credit_rules;
use super::require;
use crate::db::audit as audit_db;
use crate::db::credit::{self as credit_db, Change, Policy};
use crate::db::customers::{self as customers_db, Customer};
use crate::domain::auth::{Permission, Principal};
use crate::domain::credit::{self, CapChange, Capped, Claim, Effect, Facts, Flag, FlagChange};
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreditPolicyChangeView {
    pub at: DateTime<Utc>,
    /// `{"hold": {"before": false, "after": true}, ...}`
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub explanation: String,
    /// user | api_key | system (a person or key changed it), rule | dunning_level (decided by one)
    pub source_type: String,
    pub source_id: String,
    pub dunning_run_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreditPolicyView {
    pub customer_code: String,
    /// The currency of the limit: the customer's default currency, else the tenant's.
    pub currency: String,
    /// Absent: no limit.
    pub credit_limit: Option<String>,
    /// user | rule:<code> (a rule lowered it; restored once the rule no longer applies)
    pub credit_limit_set_by: Option<String>,
    pub payment_terms_days: Option<i32>,
    /// user | rule:<code>
    pub payment_terms_set_by: Option<String>,
    pub prepayment_required: bool,
    /// user | dunning_level | rule:<code>
    pub prepayment_set_by: Option<String>,
    pub hold: bool,
    pub hold_reason: Option<String>,
    pub hold_set_by: Option<String>,
    /// Newest first (at most 100).
    pub history: Vec<CreditPolicyChangeView>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreditPolicyInput {
    /// Absent or null: no limit.
    pub credit_limit: Option<String>,
    pub payment_terms_days: Option<i32>,
    #[serde(default)]
    #[graphql(default)]
    pub prepayment_required: bool,
    #[serde(default)]
    #[graphql(default)]
    pub hold: bool,
    /// Required when putting the customer on hold.
    pub hold_reason: Option<String>,
    /// Why the policy changes (kept in its history).
    pub explanation: String,
}

/// The currency of a customer's limit and exposure.
pub(crate) fn limit_currency(conn: &mut PgConnection, c: &Customer) -> AppResult<String> {
    match &c.default_currency {
        Some(cur) => Ok(cur.clone()),
        None => Ok(crate::db::tenants::find(conn, c.tenant_id)?.base_currency),
    }
}

pub(crate) fn find_customer(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code(conn, principal.tenant_id, code).map_err(|_| AppError::not_found("customer"))
}

pub(crate) fn policy_or_empty(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> AppResult<Policy> {
    Ok(credit_db::policy(conn, tenant_id, customer_id)?.unwrap_or_else(|| Policy::empty(tenant_id, customer_id)))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<CreditPolicyView> {
    require(principal, Permission::Read)?;
    let customer = find_customer(conn, principal, code)?;
    let policy = policy_or_empty(conn, principal.tenant_id, customer.id)?;
    view(conn, &customer, &policy)
}

fn view(conn: &mut PgConnection, c: &Customer, p: &Policy) -> AppResult<CreditPolicyView> {
    let currency = limit_currency(conn, c)?;
    let history = credit_db::changes_of(conn, c.tenant_id, c.id, 100)?
        .into_iter()
        .map(|h| CreditPolicyChangeView {
            at: h.created_at,
            changes: h.changes,
            explanation: h.explanation,
            source_type: h.source_type,
            source_id: h.source_id,
            dunning_run_id: h.run_id,
        })
        .collect();
    Ok(CreditPolicyView {
        customer_code: c.code.clone(),
        credit_limit: c.credit_limit.map(|l| format_amount(&currency, l)),
        currency,
        credit_limit_set_by: p.credit_limit_set_by.clone(),
        payment_terms_days: c.payment_terms_days,
        payment_terms_set_by: p.payment_terms_set_by.clone(),
        prepayment_required: p.prepayment_required,
        prepayment_set_by: p.prepayment_set_by.clone(),
        hold: p.hold,
        hold_reason: p.hold_reason.clone(),
        hold_set_by: p.hold_set_by.clone(),
        history,
    })
}

/// What a PUT asks for, validated.
struct Wanted {
    limit: Option<Decimal>,
    terms: Option<i32>,
    hold_reason: Option<String>,
    explanation: String,
}

fn validate(input: &CreditPolicyInput, currency: &str) -> AppResult<Wanted> {
    let cur = Currency::parse_including_withdrawn(currency).map_err(|e| AppError::internal(e.to_string()))?;
    let limit = input
        .credit_limit
        .as_deref()
        .map(|t| match cur.parse_amount(t) {
            Ok(v) if v.is_sign_negative() && !v.is_zero() => {
                Err(AppError::invalid("credit_limit", "must not be negative"))
            }
            Ok(v) => Ok(v),
            Err(e) => Err(AppError::invalid("credit_limit", e.to_string())),
        })
        .transpose()?;
    if input.payment_terms_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        return Err(AppError::invalid("payment_terms_days", "must be between 0 and 3650"));
    }
    let hold_reason = input.hold_reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(String::from);
    if input.hold && hold_reason.is_none() {
        return Err(AppError::invalid("hold_reason", "required when putting the customer on hold"));
    }
    if hold_reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::invalid("hold_reason", "at most 500 characters"));
    }
    let explanation = input.explanation.trim().to_string();
    if explanation.is_empty() || explanation.chars().count() > 1000 {
        return Err(AppError::invalid("explanation", "1 to 1000 characters: why the policy changes"));
    }
    Ok(Wanted { limit, terms: input.payment_terms_days, hold_reason, explanation })
}

/// Sets the policy by hand. Flags a person sets are not lifted by rules.
pub fn put(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    input: CreditPolicyInput,
) -> AppResult<CreditPolicyView> {
    require(principal, Permission::WriteCredit)?;
    let tenant_id = principal.tenant_id;
    let customer =
        customers_db::find_by_code_for_update(conn, tenant_id, code).map_err(|_| AppError::not_found("customer"))?;
    let currency = limit_currency(conn, &customer)?;
    let wanted = validate(&input, &currency)?;
    let mut policy = credit_db::policies_for_update(conn, tenant_id, &[customer.id])?
        .pop()
        .unwrap_or_else(|| Policy::empty(tenant_id, customer.id));
    let mut changes = Map::new();
    let mut note = |field: &str, before: Value, after: Value| {
        if before != after {
            changes.insert(field.into(), json!({"before": before, "after": after}));
        }
    };
    let amount = |v: Option<Decimal>| json!(v.map(|l| format_amount(&currency, l)));
    note("credit_limit", amount(customer.credit_limit), amount(wanted.limit));
    note("payment_terms_days", json!(customer.payment_terms_days), json!(wanted.terms));
    note("prepayment_required", json!(policy.prepayment_required), json!(input.prepayment_required));
    note("hold", json!(policy.hold), json!(input.hold));
    let reason = if input.hold { wanted.hold_reason.clone() } else { None };
    note("hold_reason", json!(policy.hold_reason), json!(reason));
    if changes.is_empty() {
        return view(conn, &customer, &policy);
    }
    if policy.prepayment_required != input.prepayment_required {
        policy.prepayment_set_by = input.prepayment_required.then(|| "user".to_string());
    }
    if policy.hold != input.hold || (input.hold && policy.hold_reason != reason) {
        policy.hold_set_by = input.hold.then(|| "user".to_string());
    }
    // A limit or terms a person sets are theirs: no rule restores them later.
    if customer.credit_limit != wanted.limit {
        (policy.credit_limit_set_by, policy.credit_limit_before) = (Some("user".into()), None);
    }
    if customer.payment_terms_days != wanted.terms {
        (policy.payment_terms_set_by, policy.payment_terms_before) = (Some("user".into()), None);
    }
    policy.prepayment_required = input.prepayment_required;
    policy.hold = input.hold;
    policy.hold_reason = reason;
    policy.updated_at = Utc::now();
    credit_db::set_credit_terms(conn, tenant_id, customer.id, wanted.limit, wanted.terms)?;
    credit_db::save_policy(conn, &policy)?;
    let changes = Value::Object(changes);
    let change = Change {
        id: Uuid::now_v7(),
        tenant_id,
        customer_id: customer.id,
        changes: changes.clone(),
        explanation: wanted.explanation.clone(),
        source_type: principal.actor.kind().into(),
        source_id: principal.actor.id(),
        run_id: None,
        created_at: Utc::now(),
    };
    credit_db::insert_changes(conn, &[change])?;
    sync_dunning_hold(conn, tenant_id, &[(customer.id, policy.hold)])?;
    let mut e = entry(principal, "credit_policy.changed", "customer", &customer.code);
    e.after = Some(json!({"changes": changes, "explanation": wanted.explanation}));
    audit_db::append(conn, tenant_id, vec![e])?;
    let customer = customers_db::find_by_id(conn, tenant_id, customer.id)?;
    view(conn, &customer, &policy)
}

/// The dunning state's `credit_hold` column follows the policy (it is what older exports read).
fn sync_dunning_hold(conn: &mut PgConnection, tenant_id: Uuid, holds: &[(Uuid, bool)]) -> AppResult<()> {
    for (customer, hold) in holds {
        crate::db::dunning::set_hold(conn, tenant_id, *customer, *hold)?;
    }
    Ok(())
}

/// A customer's dunning standing, as a dunning run found it.
#[derive(Debug, Clone, Default)]
pub(crate) struct DunningFacts {
    /// (level code, severity)
    pub level: Option<(String, i32)>,
    /// The level's own `credit_hold`.
    pub level_holds: bool,
}

/// What is being re-evaluated: the day, the run (if a dunning run), the customers' dunning
/// standing (only a dunning run knows it; without it rules on dunning are not judged), and
/// the occasion in words for the explanations.
pub(crate) struct Reassessment {
    pub as_of: NaiveDate,
    pub run_id: Option<Uuid>,
    pub dunning: Option<HashMap<Uuid, DunningFacts>>,
    pub occasion: String,
}

/// Applies the dunning levels' holds and the tenant's credit rules to the customers and records
/// every change with its explanation. Returns each customer's hold afterwards.
pub(crate) fn reassess(
    conn: &mut PgConnection,
    principal: &Principal,
    ctx: &Reassessment,
    customers: &[Uuid],
) -> AppResult<HashMap<Uuid, bool>> {
    let tenant_id = principal.tenant_id;
    let rules = credit_rules::domain_rules(conn, tenant_id)?;
    let window = rules
        .iter()
        .filter_map(|r| match r.condition {
            credit::Condition::BrokenPromises { days, .. } => Some(days),
            _ => None,
        })
        .max();
    let broken = match window {
        Some(days) => {
            super::promises::broken_dates(conn, tenant_id, customers, ctx.as_of - Duration::days(i64::from(days)))?
        }
        None => HashMap::new(),
    };
    // Scores only when a rule reads them, in one query for all the customers (a dunning run
    // reassesses every customer it assessed). A customer without payments in the 365 days
    // before has no score: a `payment_score_below` rule then neither sets nor lifts anything.
    let scores = if rules.iter().any(|r| matches!(r.condition, credit::Condition::PaymentScoreBelow(_))) {
        super::payment_behaviour::scores_of(conn, tenant_id, customers, ctx.as_of)?
    } else {
        HashMap::new()
    };
    // Limits and terms only when a rule can lower them (restoring needs the rule's own claim).
    let terms =
        if rules.iter().any(|r| r.cap.is_some()) { credit_terms(conn, tenant_id, customers)? } else { HashMap::new() };
    let mut policies: HashMap<Uuid, Policy> =
        credit_db::policies_for_update(conn, tenant_id, customers)?.into_iter().map(|p| (p.customer_id, p)).collect();
    let mut holds = HashMap::with_capacity(customers.len());
    let mut changed = Vec::new();
    for customer in customers {
        let dunning = ctx.dunning.as_ref().map(|d| d.get(customer).cloned().unwrap_or_default());
        let facts = Facts {
            level: dunning.as_ref().and_then(|d| d.level.clone()),
            level_holds: dunning.as_ref().is_some_and(|d| d.level_holds),
            broken_promises: broken.get(customer).cloned().unwrap_or_default(),
            payment_score: scores.get(customer).copied(),
            as_of: Some(ctx.as_of),
        };
        let claims = credit::claims(&rules, &facts, dunning.is_some());
        let mut policy = policies.remove(customer).unwrap_or_else(|| Policy::empty(tenant_id, *customer));
        let mut outcomes = flag_outcomes(&mut policy, &claims);
        if let Some(terms) = terms.get(customer) {
            outcomes.extend(cap_outcomes(conn, tenant_id, &mut policy, terms, &claims)?);
        }
        if !outcomes.is_empty() {
            policy.updated_at = Utc::now();
            credit_db::save_policy(conn, &policy)?;
            changed.push((policy.customer_id, outcomes));
        }
        holds.insert(*customer, policy.hold);
    }
    record_rule_changes(conn, principal, ctx, changed)?;
    Ok(holds)
}

/// One change a rule or a level made, as history and audit record it.
struct Outcome {
    source: String,
    explanation: String,
    /// `{"<field>": {"before": .., "after": ..}}`
    changes: Value,
    /// The hold afterwards, when the hold changed.
    hold: Option<bool>,
}

/// The hold and prepayment flags the claims set or lift.
fn flag_outcomes(policy: &mut Policy, claims: &[Claim]) -> Vec<Outcome> {
    let hold = Flag { on: policy.hold, set_by: policy.hold_set_by.clone() };
    let prepay = Flag { on: policy.prepayment_required, set_by: policy.prepayment_set_by.clone() };
    let flips: Vec<FlagChange> =
        [credit::decide(Effect::Hold, &hold, claims), credit::decide(Effect::PrepaymentRequired, &prepay, claims)]
            .into_iter()
            .flatten()
            .collect();
    flips
        .into_iter()
        .map(|f| {
            match f.effect {
                Effect::Hold => {
                    policy.hold = f.on;
                    policy.hold_set_by = f.on.then(|| f.source.clone());
                    policy.hold_reason = f.on.then(|| f.explanation.clone());
                }
                _ => {
                    policy.prepayment_required = f.on;
                    policy.prepayment_set_by = f.on.then(|| f.source.clone());
                }
            }
            Outcome {
                changes: json!({f.effect.as_str(): {"before": !f.on, "after": f.on}}),
                hold: (f.effect == Effect::Hold).then_some(f.on),
                source: f.source,
                explanation: f.explanation,
            }
        })
        .collect()
}

/// A customer's limit, terms and the currency its limit is in.
struct Terms {
    limit: Option<Decimal>,
    days: Option<i32>,
    currency: String,
}

fn credit_terms(conn: &mut PgConnection, tenant_id: Uuid, customers: &[Uuid]) -> AppResult<HashMap<Uuid, Terms>> {
    let base = crate::db::tenants::find(conn, tenant_id)?.base_currency;
    Ok(credit_db::credit_terms(conn, tenant_id, customers)?
        .into_iter()
        .map(|(id, limit, days, currency)| {
            (id, Terms { limit, days, currency: currency.unwrap_or_else(|| base.clone()) })
        })
        .collect())
}

/// The credit limit and payment terms the claims lower or restore, written to the customer.
fn cap_outcomes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    policy: &mut Policy,
    terms: &Terms,
    claims: &[Claim],
) -> AppResult<Vec<Outcome>> {
    let money = |v: Option<Decimal>| v.map_or_else(|| "no limit".to_string(), |v| format_amount(&terms.currency, v));
    let days = |v: Option<Decimal>| v.map_or_else(|| "none".to_string(), |v| format!("{v} days"));
    let limit =
        Capped { current: terms.limit, set_by: policy.credit_limit_set_by.clone(), before: policy.credit_limit_before };
    let term = Capped {
        current: terms.days.map(Decimal::from),
        set_by: policy.payment_terms_set_by.clone(),
        before: policy.payment_terms_before.map(Decimal::from),
    };
    let as_days = |v: Option<Decimal>| v.and_then(|d| rust_decimal::prelude::ToPrimitive::to_i32(&d));
    let (mut new_limit, mut new_days) = (terms.limit, terms.days);
    let mut out = Vec::new();
    if let Some(c) = credit::decide_cap(Effect::LowerCreditLimit, &limit, claims, &money) {
        (policy.credit_limit_set_by, policy.credit_limit_before, new_limit) = (c.set_by.clone(), c.before, c.to);
        let json_money = |v: Option<Decimal>| json!(v.map(|v| format_amount(&terms.currency, v)));
        out.push(cap_outcome(&c, json_money(c.from), json_money(c.to)));
    }
    if let Some(c) = credit::decide_cap(Effect::ShortenPaymentTerms, &term, claims, &days) {
        (policy.payment_terms_set_by, policy.payment_terms_before, new_days) =
            (c.set_by.clone(), as_days(c.before), as_days(c.to));
        out.push(cap_outcome(&c, json!(as_days(c.from)), json!(as_days(c.to))));
    }
    if !out.is_empty() {
        credit_db::set_credit_terms(conn, tenant_id, policy.customer_id, new_limit, new_days)?;
    }
    Ok(out)
}

fn cap_outcome(c: &CapChange, before: Value, after: Value) -> Outcome {
    Outcome {
        source: c.source.clone(),
        explanation: c.explanation.clone(),
        changes: json!({c.effect.as_str(): {"before": before, "after": after}}),
        hold: None,
    }
}

/// One history row and one audit entry per change a rule or a level made.
fn record_rule_changes(
    conn: &mut PgConnection,
    principal: &Principal,
    ctx: &Reassessment,
    changed: Vec<(Uuid, Vec<Outcome>)>,
) -> AppResult<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let tenant_id = principal.tenant_id;
    let ids: Vec<Uuid> = changed.iter().map(|(c, _)| *c).collect();
    let codes: HashMap<Uuid, String> = customers_db::codes_by_ids(conn, tenant_id, &ids)?.into_iter().collect();
    let (mut rows, mut audit, mut holds) = (Vec::new(), Vec::new(), Vec::new());
    for (customer, outcomes) in changed {
        for f in outcomes {
            let (source_type, source_id) = match f.source.strip_prefix("rule:") {
                Some(code) => ("rule", code.to_string()),
                None => ("dunning_level", f.source.clone()),
            };
            let explanation = format!("{} ({})", f.explanation, ctx.occasion);
            let mut e = entry(principal, "credit_policy.changed", "customer", codes.get(&customer).map_or("", |c| c));
            e.after = Some(json!({"changes": f.changes, "explanation": explanation, "source": f.source}));
            audit.push(e);
            if let Some(on) = f.hold {
                holds.push((customer, on));
            }
            rows.push(Change {
                id: Uuid::now_v7(),
                tenant_id,
                customer_id: customer,
                changes: f.changes,
                explanation,
                source_type: source_type.into(),
                source_id,
                run_id: ctx.run_id,
                created_at: Utc::now(),
            });
        }
    }
    credit_db::insert_changes(conn, &rows)?;
    sync_dunning_hold(conn, tenant_id, &holds)?;
    audit_db::append(conn, tenant_id, audit)?;
    Ok(())
}

/// Customers whose hold or prepayment a rule or a level set: a dunning run reassesses them even
/// when they are no longer overdue, so what was set can be lifted.
pub(crate) fn set_by_rules(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(credit_db::set_by_rules(conn, tenant_id)?)
}
