//! Dunning (collections): tenant-defined levels, a run that assigns each customer the most
//! severe level it qualifies for, records actions (level changes, reminders due), sets or lifts
//! the credit hold and announces `dunning.level_changed` / `dunning.reminder_due` through the
//! outbox; history per customer; weekly recovery figures per level (the "check" of the
//! plan-do-check-act loop collections teams run).

use super::audit::entry;
use super::collection_tasks::{self, TaskPlan};
use super::credit_policy::{self, DunningFacts, Reassessment};
pub use super::dunning_recovery::{recovery, RecoveryFigure, RecoveryQuery};
use super::events::{self, EventType};
use super::promises::{self, PromiseSweepView};
use super::require;
use crate::db::audit as audit_db;
use crate::db::dunning::{self as d_db, Action, Assignment, CustomerState, Level, Run};
use crate::domain::auth::{Permission, Principal};
use crate::domain::collection::{task_kind_of_action, TaskKind, TaskSource};
use crate::domain::dunning::DunningActionKind;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

#[derive(
    Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::InputObject, async_graphql::SimpleObject,
)]
#[graphql(input_name = "DunningLevelInput")]
#[serde(deny_unknown_fields)]
pub struct DunningLevel {
    pub code: String,
    pub name: String,
    /// Higher is more severe; each level has its own.
    pub severity: i32,
    /// Qualifies when an open invoice is at least this many days past due; negative: due within
    /// that many days (reminders before the due date).
    pub min_days_overdue: i32,
    /// ... and those items sum to at least this much in one currency (default 0).
    pub min_amount: Option<String>,
    /// reminder | letter | legal_letter | call (kept for compatibility; `actions` says what
    /// tasks the level creates).
    pub action: String,
    /// The tasks for people the level creates when reached and when its repeat is due: call,
    /// email, letter, legal_letter, stop_supply. Absent: the task `action` stands for (a
    /// reminder is an email).
    pub actions: Option<Vec<String>>,
    /// Repeat the action every N days while the customer stays at the level; absent: once.
    pub repeat_every_days: Option<i32>,
    /// Put the customer on credit hold while at this level.
    #[serde(default)]
    pub credit_hold: bool,
}

/// Per threshold (days past due): (currency, open amount, oldest age) of a customer's items.
type ExposureByThreshold = BTreeMap<i32, Vec<(String, Decimal, i32)>>;

const ACTIONS: [&str; 4] = ["reminder", "letter", "legal_letter", "call"];

fn view(l: &Level) -> DunningLevel {
    DunningLevel {
        code: l.code.clone(),
        name: l.name.clone(),
        severity: l.severity,
        min_days_overdue: l.min_days_overdue,
        min_amount: Some(l.min_amount.normalize().to_string()),
        action: l.action.clone(),
        actions: Some(l.actions.clone()),
        repeat_every_days: l.repeat_every_days,
        credit_hold: l.credit_hold,
    }
}

pub fn get_levels(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<DunningLevel>> {
    require(principal, Permission::Read)?;
    Ok(d_db::levels(conn, principal.tenant_id)?.iter().map(view).collect())
}

/// Replaces the tenant's dunning levels (admin).
pub fn put_levels(
    conn: &mut PgConnection,
    principal: &Principal,
    input: Vec<DunningLevel>,
) -> AppResult<Vec<DunningLevel>> {
    require(principal, Permission::Admin)?;
    if input.len() > 20 {
        return Err(AppError::invalid("levels", "at most 20 levels"));
    }
    let (mut codes, mut severities) = (HashSet::new(), HashSet::new());
    let mut rows = Vec::with_capacity(input.len());
    for (i, l) in input.iter().enumerate() {
        let field = |f: &str| format!("[{i}].{f}");
        if l.code.trim().is_empty() || l.code.len() > 40 || !codes.insert(l.code.trim().to_string()) {
            return Err(AppError::invalid(&field("code"), "1 to 40 characters, unique"));
        }
        if !severities.insert(l.severity) {
            return Err(AppError::invalid(&field("severity"), "each level needs its own severity"));
        }
        if !(-365..=3650).contains(&l.min_days_overdue) {
            return Err(AppError::invalid(&field("min_days_overdue"), "between -365 and 3650"));
        }
        if !ACTIONS.contains(&l.action.as_str()) {
            return Err(AppError::invalid(&field("action"), "reminder, letter, legal_letter or call"));
        }
        let actions = level_actions(l).map_err(|e| AppError::invalid(&field("actions"), e))?;
        if l.repeat_every_days.is_some_and(|d| !(1..=365).contains(&d)) {
            return Err(AppError::invalid(&field("repeat_every_days"), "between 1 and 365"));
        }
        let min_amount = match &l.min_amount {
            None => Decimal::ZERO,
            Some(a) => a
                .trim()
                .parse::<Decimal>()
                .ok()
                .filter(|a| *a >= Decimal::ZERO && a.scale() <= 4)
                .ok_or_else(|| AppError::invalid(&field("min_amount"), "a non-negative decimal string"))?,
        };
        rows.push(Level {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            code: l.code.trim().to_string(),
            name: l.name.trim().to_string(),
            severity: l.severity,
            min_days_overdue: l.min_days_overdue,
            min_amount,
            action: l.action.clone(),
            repeat_every_days: l.repeat_every_days,
            credit_hold: l.credit_hold,
            created_at: Utc::now(),
            actions,
        });
    }
    d_db::replace_levels(conn, principal.tenant_id, &rows)?;
    let mut e = entry(principal, "dunning_levels.replaced", "tenant", &principal.tenant_id.to_string());
    e.after = Some(json!(input));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    get_levels(conn, principal)
}

/// The level's task kinds: as listed (each once), or the one its `action` stands for.
fn level_actions(l: &DunningLevel) -> Result<Vec<String>, String> {
    let Some(list) = &l.actions else {
        return Ok(task_kind_of_action(&l.action).into_iter().map(|k| k.as_str().to_string()).collect());
    };
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let kind = TaskKind::parse(a).ok_or_else(|| format!("{a:?} is not one of {}", TaskKind::list()))?;
        if !out.iter().any(|o| o == kind.as_str()) {
            out.push(kind.as_str().to_string());
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DunningActionView {
    pub customer_code: String,
    /// level_changed | reminder_due
    pub kind: String,
    pub level: Option<String>,
    pub previous_level: Option<String>,
    pub action: Option<String>,
    pub days_overdue: i32,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DunningRunView {
    pub id: Uuid,
    pub as_of: NaiveDate,
    pub customers_at_level: i32,
    pub level_changes: i32,
    pub reminders_due: i32,
    /// The actions this run created (level changes and reminders).
    pub actions: Vec<DunningActionView>,
    /// Collection tasks created for people (`GET /collection-tasks?...`).
    pub tasks_created: i32,
    /// Promises to pay whose date had passed, judged at the start of the run.
    pub promises: PromiseSweepView,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct DunningRunRequest {
    /// Default: today.
    pub as_of: Option<NaiveDate>,
}

/// Assigns levels as of a date and records what follows. Repeating a run on the same day
/// changes nothing.
pub fn run(conn: &mut PgConnection, principal: &Principal, req: DunningRunRequest) -> AppResult<DunningRunView> {
    require(principal, Permission::WriteMatching)?;
    let tenant_id = principal.tenant_id;
    let as_of = req.as_of.unwrap_or_else(|| Utc::now().date_naive());
    // One run at a time per tenant: the state rows are read, then rewritten.
    crate::db::lock_tenant(conn, tenant_id, crate::db::TenantLock::Dunning)?;
    let levels = d_db::levels(conn, tenant_id)?;
    if levels.is_empty() {
        return Err(AppError::conflict("no dunning levels configured: PUT /dunning-levels first"));
    }
    // Broken promises first: a raised level (tenant setting) then counts in this run.
    let promises = promises::judge_due(conn, principal, as_of)?;
    let exposure = exposure_by_customer(conn, tenant_id, as_of, &levels)?;
    let states: HashMap<Uuid, CustomerState> =
        d_db::states(conn, tenant_id)?.into_iter().map(|s| (s.customer_id, s)).collect();
    let mut involved: Vec<Uuid> = exposure.keys().copied().collect();
    involved.extend(states.iter().filter(|(_, s)| s.level_code.is_some()).map(|(id, _)| *id));
    involved.sort();
    involved.dedup();
    let codes: HashMap<Uuid, String> =
        crate::db::customers::codes_by_ids(conn, tenant_id, &involved)?.into_iter().collect();

    let ctx = RunContext {
        run_id: Uuid::now_v7(),
        tenant_id,
        as_of,
        now: Utc::now(),
        levels: &levels,
        exposure: &exposure,
        states: &states,
        codes: &codes,
    };
    let mut outcome = RunOutcome { promises, ..RunOutcome::default() };
    for customer_id in involved {
        ctx.assess(customer_id, &mut outcome);
    }
    record_run(conn, principal, &ctx, outcome)
}

/// Overdue exposure per customer at every level's threshold (and at 1 day, the overdue total).
fn exposure_by_customer(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    levels: &[Level],
) -> AppResult<HashMap<Uuid, ExposureByThreshold>> {
    let mut thresholds: Vec<i32> = levels.iter().map(|l| l.min_days_overdue).chain([1]).collect();
    thresholds.sort();
    thresholds.dedup();
    let mut exposure: HashMap<Uuid, ExposureByThreshold> = HashMap::new();
    for e in d_db::exposures(conn, tenant_id, as_of, &thresholds)? {
        exposure
            .entry(e.customer_id)
            .or_default()
            .entry(e.threshold)
            .or_default()
            .push((e.currency, e.amount, e.max_age));
    }
    Ok(exposure)
}

/// What a run reads: fixed for all customers of the run.
struct RunContext<'a> {
    run_id: Uuid,
    tenant_id: Uuid,
    as_of: NaiveDate,
    now: DateTime<Utc>,
    levels: &'a [Level],
    exposure: &'a HashMap<Uuid, ExposureByThreshold>,
    states: &'a HashMap<Uuid, CustomerState>,
    codes: &'a HashMap<Uuid, String>,
}

/// What a run decides, written at its end.
#[derive(Default)]
struct RunOutcome {
    assignments: Vec<Assignment>,
    actions: Vec<Action>,
    states: Vec<CustomerState>,
    events: Vec<(Uuid, EventType, serde_json::Value)>,
    at_level: i32,
    tasks: Vec<TaskPlan>,
    /// Each customer's level and whether it holds credit, for the credit rules.
    standing: HashMap<Uuid, DunningFacts>,
    promises: PromiseSweepView,
}

/// One customer's standing in a run: the level it qualifies for and its overdue figures.
struct Standing<'a> {
    customer_id: Uuid,
    level: Option<&'a Level>,
    previous_code: Option<String>,
    days_overdue: i32,
    overdue: Vec<CurrencyAmount>,
    overdue_total: Decimal,
}

impl<'a> RunContext<'a> {
    /// Assigns the customer its level and records the action that follows, if any.
    fn assess(&self, customer_id: Uuid, out: &mut RunOutcome) {
        let standing = self.standing(customer_id);
        let mut state = self.states.get(&customer_id).cloned().unwrap_or(CustomerState {
            customer_id,
            tenant_id: self.tenant_id,
            level_code: None,
            since: None,
            last_action_on: None,
            credit_hold: false,
            updated_at: self.now,
            escalation: 0,
        });
        let base = standing.level;
        let level = self.escalated(base, &standing, &mut state);
        if level.is_none() {
            state.escalation = 0;
        }
        let standing = Standing { level, ..standing };
        if let Some(l) = level {
            out.at_level += 1;
            // An escalated customer's figures are those of the items that qualified it.
            self.assign(&standing, l, base.map_or(1, |b| b.min_days_overdue), out);
        }
        let new_code = level.map(|l| l.code.clone());
        if new_code != standing.previous_code {
            state.level_code = new_code;
            state.since = level.map(|_| self.as_of);
            self.record(&standing, DunningActionKind::LevelChanged, EventType::DunningLevelChanged, &mut state, out);
        } else if let Some(l) = level {
            let due = match (l.repeat_every_days, state.last_action_on) {
                (Some(every), Some(last)) => last + Duration::days(i64::from(every)) <= self.as_of,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if due {
                self.record(&standing, DunningActionKind::ReminderDue, EventType::DunningReminderDue, &mut state, out);
            }
        }
        // The credit policy decides the hold (record_run), from the level's flag and the rules.
        out.standing.insert(
            customer_id,
            DunningFacts {
                level: level.map(|l| (l.code.clone(), l.severity)),
                level_holds: level.is_some_and(|l| l.credit_hold),
            },
        );
        state.updated_at = self.now;
        out.states.push(state);
    }

    /// Who was at which level with how much overdue (the recovery figures).
    fn assign(&self, s: &Standing, l: &Level, threshold: i32, out: &mut RunOutcome) {
        let exp = self.exposure.get(&s.customer_id);
        for (currency, amount, _) in exp.and_then(|e| e.get(&threshold)).into_iter().flatten() {
            out.assignments.push(Assignment {
                run_id: self.run_id,
                tenant_id: self.tenant_id,
                customer_id: s.customer_id,
                currency: currency.clone(),
                level_code: l.code.clone(),
                days_overdue: s.days_overdue,
                overdue_amount: *amount,
            });
        }
    }

    /// The level after the steps broken promises added (levels come most severe first); a
    /// customer with nothing overdue leaves all levels and its steps are forgotten.
    fn escalated(&self, level: Option<&'a Level>, s: &Standing, state: &mut CustomerState) -> Option<&'a Level> {
        if state.escalation == 0 {
            return level;
        }
        if s.overdue_total <= Decimal::ZERO {
            state.escalation = 0;
            return level;
        }
        let at = level.and_then(|l| self.levels.iter().position(|x| x.code == l.code)).unwrap_or(self.levels.len());
        self.levels.get(at.saturating_sub(state.escalation as usize)).or(level)
    }

    /// The most severe level the customer qualifies for (levels come most severe first) and its
    /// overdue figures.
    fn standing(&self, customer_id: Uuid) -> Standing<'a> {
        let exp = self.exposure.get(&customer_id);
        let level = self.levels.iter().find(|l| {
            exp.and_then(|e| e.get(&l.min_days_overdue)).is_some_and(|list| {
                list.iter().any(|(_, amount, _)| *amount >= l.min_amount && *amount > Decimal::ZERO)
            })
        });
        let days_overdue = exp.and_then(|e| e.values().flatten().map(|(_, _, age)| *age).max()).unwrap_or(0);
        let overdue: Vec<CurrencyAmount> = exp
            .and_then(|e| e.get(&1))
            .map(|list| {
                list.iter()
                    .map(|(c, a, _)| CurrencyAmount { currency: c.clone(), amount: format_amount(c, *a) })
                    .collect()
            })
            .unwrap_or_default();
        let overdue_total: Decimal =
            exp.and_then(|e| e.get(&1)).map(|l| l.iter().map(|x| x.1).sum()).unwrap_or_default();
        let previous_code = self.states.get(&customer_id).and_then(|s| s.level_code.clone());
        Standing { customer_id, level, previous_code, days_overdue, overdue, overdue_total }
    }

    /// Records an action and the event that announces it.
    fn record(
        &self,
        s: &Standing,
        kind: DunningActionKind,
        event: EventType,
        state: &mut CustomerState,
        out: &mut RunOutcome,
    ) {
        let new_code = s.level.map(|l| l.code.clone());
        let a = Action {
            id: Uuid::now_v7(),
            tenant_id: self.tenant_id,
            run_id: self.run_id,
            customer_id: s.customer_id,
            kind,
            level_code: new_code.clone(),
            previous_level: s.previous_code.clone(),
            action: s.level.map(|l| l.action.clone()),
            days_overdue: s.days_overdue,
            overdue_amount: s.overdue_total,
            created_at: self.now,
        };
        let code = self.codes.get(&s.customer_id).cloned().unwrap_or_default();
        out.events.push((
            s.customer_id,
            event,
            json!({
                "customer_code": code, "level": new_code, "previous_level": s.previous_code,
                "action": a.action, "days_overdue": s.days_overdue, "overdue": s.overdue, "as_of": self.as_of,
                "credit_hold": s.level.is_some_and(|l| l.credit_hold),
            }),
        ));
        state.last_action_on = s.level.map(|_| self.as_of);
        if let Some(l) = s.level {
            let (source, why) = match kind {
                DunningActionKind::LevelChanged => {
                    (TaskSource::LevelReached, format!("reached level {} ({})", l.code, l.name))
                }
                DunningActionKind::ReminderDue => {
                    (TaskSource::LevelRepeat, format!("level {} ({}): due again", l.code, l.name))
                }
            };
            for k in l.actions.iter().filter_map(|a| TaskKind::parse(a)) {
                out.tasks.push(TaskPlan {
                    customer_id: s.customer_id,
                    kind: k,
                    source,
                    level_code: Some(l.code.clone()),
                    promise_id: None,
                    reason: format!("{why}; {} days overdue (dunning run {})", s.days_overdue, self.run_id),
                });
            }
        }
        out.actions.push(a);
    }
}

/// Writes the run, its assignments, actions, customer states, events and audit entry.
fn record_run(
    conn: &mut PgConnection,
    principal: &Principal,
    ctx: &RunContext,
    out: RunOutcome,
) -> AppResult<DunningRunView> {
    let (tenant_id, run_id, as_of) = (ctx.tenant_id, ctx.run_id, ctx.as_of);
    let level_changes = out.actions.iter().filter(|a| a.kind == DunningActionKind::LevelChanged).count() as i32;
    let run = Run {
        id: run_id,
        tenant_id,
        as_of,
        customers_at_level: out.at_level,
        level_changes,
        reminders_due: out.actions.len() as i32 - level_changes,
        created_at: ctx.now,
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
    };
    d_db::insert_run(conn, &run, &out.assignments, &out.actions)?;
    let tasks_created = collection_tasks::create(conn, principal, Some(run_id), as_of, out.tasks)?.len() as i32;
    let holds = reassess_credit(conn, principal, ctx, out.standing)?;
    let mut states = out.states;
    for s in &mut states {
        s.credit_hold = holds.get(&s.customer_id).copied().unwrap_or(s.credit_hold);
    }
    d_db::upsert_states(conn, &states)?;
    for (customer_id, event, data) in out.events {
        events::emit(conn, tenant_id, Some(customer_id), event, data)?;
    }
    let mut e = entry(principal, "dunning.run", "dunning_run", &run_id.to_string());
    e.after = Some(
        json!({"as_of": as_of, "customers_at_level": out.at_level, "level_changes": run.level_changes, "reminders_due": run.reminders_due}),
    );
    audit_db::append(conn, tenant_id, vec![e])?;
    let actions = out.actions.into_iter().map(|a| action_view(a, ctx.codes)).collect();
    Ok(DunningRunView {
        id: run_id,
        as_of,
        customers_at_level: run.customers_at_level,
        level_changes: run.level_changes,
        reminders_due: run.reminders_due,
        actions,
        tasks_created,
        promises: out.promises,
    })
}

/// The credit policy after the run: the levels' own holds and the tenant's rules, for every
/// customer the run assessed and those a rule or level had set something for (to lift it).
fn reassess_credit(
    conn: &mut PgConnection,
    principal: &Principal,
    ctx: &RunContext,
    mut standing: HashMap<Uuid, DunningFacts>,
) -> AppResult<HashMap<Uuid, bool>> {
    for customer in credit_policy::set_by_rules(conn, ctx.tenant_id)? {
        standing.entry(customer).or_default();
    }
    let mut customers: Vec<Uuid> = standing.keys().copied().collect();
    customers.sort();
    let r = Reassessment {
        as_of: ctx.as_of,
        run_id: Some(ctx.run_id),
        dunning: Some(standing),
        occasion: format!("dunning run {} as of {}", ctx.run_id, ctx.as_of),
    };
    credit_policy::reassess(conn, principal, &r, &customers)
}

fn action_view(a: Action, codes: &HashMap<Uuid, String>) -> DunningActionView {
    DunningActionView {
        customer_code: codes.get(&a.customer_id).cloned().unwrap_or_default(),
        kind: a.kind.as_str().to_string(),
        level: a.level_code,
        previous_level: a.previous_level,
        action: a.action,
        days_overdue: a.days_overdue,
        created_at: a.created_at,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CustomerDunning {
    pub customer_code: String,
    pub level: Option<String>,
    pub since: Option<NaiveDate>,
    pub last_action_on: Option<NaiveDate>,
    pub credit_hold: bool,
    /// Newest first (at most 200).
    pub history: Vec<DunningActionView>,
}

pub fn customer_state(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<CustomerDunning> {
    require(principal, Permission::Read)?;
    let customer = crate::db::customers::find_by_code(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found("customer"))?;
    let state = d_db::state_of(conn, principal.tenant_id, customer.id)?;
    let codes = HashMap::from([(customer.id, customer.code.clone())]);
    let history = d_db::actions_of(conn, principal.tenant_id, customer.id, 200)?
        .into_iter()
        .map(|a| action_view(a, &codes))
        .collect();
    Ok(CustomerDunning {
        customer_code: customer.code,
        level: state.as_ref().and_then(|s| s.level_code.clone()),
        since: state.as_ref().and_then(|s| s.since),
        last_action_on: state.as_ref().and_then(|s| s.last_action_on),
        credit_hold: credit_policy::policy_or_empty(conn, principal.tenant_id, customer.id)?.hold,
        history,
    })
}
