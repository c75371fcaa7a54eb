//! Collection tasks: what dunning levels (and broken promises) ask people to do, assigned by the
//! tenant's rule (the customer's owner, else round robin over a team), listed and worked
//! (done, cancelled, reassigned); the tenant's collection settings. Each task created is
//! announced as `collection_task.created`.

use super::audit::{entry, snapshot};
use super::events::{self, EventType};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::collections::{self as c_db, Settings, Task, TaskFilter};
use crate::db::customers as customers_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::collection::{Assigner, AssignmentRule, BrokenPromiseAction, TaskKind, TaskSource, TaskStatus};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionSettingsView {
    /// customer_owner (default): the customer's owner, else the team in turn; round_robin: the team in turn.
    pub assignment: String,
    /// User ids taking turns for tasks (in this order).
    #[serde(default)]
    pub team: Vec<Uuid>,
    /// Days from the run (or the broken promise) to a task's due date (default 3).
    #[serde(default = "default_due_days")]
    pub task_due_days: i32,
    /// follow_up_task (default): a call task for the customer's owner or team; raise_level: the
    /// customer's dunning level rises by one at the next dunning run.
    pub broken_promise_action: String,
}

fn default_due_days() -> i32 {
    3
}

pub(crate) fn settings_or_default(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<Settings> {
    Ok(c_db::settings(conn, tenant_id)?.unwrap_or(Settings {
        tenant_id,
        assignment: AssignmentRule::CustomerOwner,
        team: vec![],
        round_robin_next: 0,
        task_due_days: 3,
        broken_promise_action: BrokenPromiseAction::FollowUpTask,
        updated_at: Utc::now(),
    }))
}

fn settings_view(s: &Settings) -> CollectionSettingsView {
    CollectionSettingsView {
        assignment: s.assignment.as_str().into(),
        team: s.team.clone(),
        task_due_days: s.task_due_days,
        broken_promise_action: s.broken_promise_action.as_str().into(),
    }
}

pub fn get_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<CollectionSettingsView> {
    require(principal, Permission::Read)?;
    Ok(settings_view(&settings_or_default(conn, principal.tenant_id)?))
}

/// Replaces the collection settings (admin). Team members must be active users of the tenant.
pub fn put_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: CollectionSettingsView,
) -> AppResult<CollectionSettingsView> {
    require(principal, Permission::Admin)?;
    let assignment = AssignmentRule::parse(&input.assignment)
        .ok_or_else(|| AppError::invalid("assignment", format!("one of {}", AssignmentRule::list())))?;
    let action = BrokenPromiseAction::parse(&input.broken_promise_action)
        .ok_or_else(|| AppError::invalid("broken_promise_action", format!("one of {}", BrokenPromiseAction::list())))?;
    if !(0..=365).contains(&input.task_due_days) {
        return Err(AppError::invalid("task_due_days", "between 0 and 365"));
    }
    if input.team.len() > 100 {
        return Err(AppError::invalid("team", "at most 100 users"));
    }
    for (i, user) in input.team.iter().enumerate() {
        if input.team[..i].contains(user) {
            return Err(AppError::invalid(&format!("team[{i}]"), "listed twice"));
        }
        active_user(conn, principal.tenant_id, *user, &format!("team[{i}]"))?;
    }
    // Under the lock runs assign with, so a run never continues a turn over a replaced team.
    crate::db::lock_tenant(conn, principal.tenant_id, crate::db::TenantLock::Dunning)?;
    let before = settings_or_default(conn, principal.tenant_id)?;
    let s = Settings {
        tenant_id: principal.tenant_id,
        assignment,
        // The turn starts over when the team changes.
        round_robin_next: if before.team == input.team { before.round_robin_next } else { 0 },
        team: input.team,
        task_due_days: input.task_due_days,
        broken_promise_action: action,
        updated_at: Utc::now(),
    };
    c_db::save_settings(conn, &s)?;
    let mut e = entry(principal, "collection_settings.replaced", "tenant", &principal.tenant_id.to_string());
    e.before = snapshot(&settings_view(&before));
    e.after = snapshot(&settings_view(&s));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(settings_view(&s))
}

/// An active user of the tenant, or 422 naming the field.
pub(crate) fn active_user(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, field: &str) -> AppResult<()> {
    match crate::db::users::find_active(conn, tenant_id, id)? {
        Some(_) => Ok(()),
        None => Err(AppError::invalid(field, format!("{id} is not an active user of this tenant"))),
    }
}

/// A task to create: assignee and due date are decided when it is written.
#[derive(Debug, Clone)]
pub(crate) struct TaskPlan {
    pub customer_id: Uuid,
    pub kind: TaskKind,
    pub source: TaskSource,
    pub level_code: Option<String>,
    pub promise_id: Option<Uuid>,
    pub reason: String,
}

/// Writes the planned tasks in their order, assigned by the tenant's rule. The caller holds the
/// tenant's dunning lock, so the round-robin position read here is not raced by another run.
pub(crate) fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    run_id: Option<Uuid>,
    as_of: NaiveDate,
    plans: Vec<TaskPlan>,
) -> AppResult<Vec<Task>> {
    if plans.is_empty() {
        return Ok(vec![]);
    }
    let tenant_id = principal.tenant_id;
    let settings = settings_or_default(conn, tenant_id)?;
    let mut ids: Vec<Uuid> = plans.iter().map(|p| p.customer_id).collect();
    ids.sort();
    ids.dedup();
    let owners: HashMap<Uuid, Uuid> = c_db::owners(conn, tenant_id, &ids)?.into_iter().collect();
    let codes: HashMap<Uuid, String> = customers_db::codes_by_ids(conn, tenant_id, &ids)?.into_iter().collect();
    let mut assigner =
        Assigner { rule: settings.assignment, team: settings.team.clone(), next: settings.round_robin_next as usize };
    let now = Utc::now();
    let due_on = as_of + Duration::days(i64::from(settings.task_due_days));
    let tasks: Vec<Task> = plans
        .into_iter()
        .map(|p| Task {
            id: Uuid::now_v7(),
            tenant_id,
            customer_id: p.customer_id,
            kind: p.kind,
            status: TaskStatus::Open,
            source: p.source,
            assignee_user_id: assigner.assign(owners.get(&p.customer_id).copied()),
            due_on,
            level_code: p.level_code,
            run_id,
            promise_id: p.promise_id,
            reason: p.reason,
            note: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        })
        .collect();
    c_db::insert_tasks(conn, &tasks)?;
    if settings.round_robin_next as usize != assigner.next {
        c_db::set_round_robin_next(conn, tenant_id, assigner.next as i32)?;
    }
    let (mut audit, mut announced) = (Vec::with_capacity(tasks.len()), Vec::with_capacity(tasks.len()));
    for t in &tasks {
        let view = task_view(t.clone(), &codes);
        let mut e = entry(principal, "collection_task.created", "collection_task", &t.id.to_string());
        e.after = snapshot(&view);
        audit.push(e);
        announced.push((Some(t.customer_id), EventType::CollectionTaskCreated, json!(view)));
    }
    events::emit_many(conn, tenant_id, announced)?;
    audit_db::append(conn, tenant_id, audit)?;
    Ok(tasks)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CollectionTaskView {
    pub id: Uuid,
    pub customer_code: String,
    /// call | email | letter | legal_letter | stop_supply
    pub kind: String,
    /// open | done | cancelled
    pub status: String,
    /// level_reached | level_repeat | broken_promise
    pub source: String,
    pub assignee_user_id: Option<Uuid>,
    pub due_on: NaiveDate,
    pub level: Option<String>,
    pub dunning_run_id: Option<Uuid>,
    pub promise_id: Option<Uuid>,
    /// Why the task exists, in words.
    pub reason: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

pub(crate) fn task_view(t: Task, codes: &HashMap<Uuid, String>) -> CollectionTaskView {
    CollectionTaskView {
        id: t.id,
        customer_code: codes.get(&t.customer_id).cloned().unwrap_or_default(),
        kind: t.kind.as_str().into(),
        status: t.status.as_str().into(),
        source: t.source.as_str().into(),
        assignee_user_id: t.assignee_user_id,
        due_on: t.due_on,
        level: t.level_code,
        dunning_run_id: t.run_id,
        promise_id: t.promise_id,
        reason: t.reason,
        note: t.note,
        created_at: t.created_at,
        updated_at: t.updated_at,
        closed_at: t.closed_at,
    }
}

fn views(conn: &mut PgConnection, tenant_id: Uuid, tasks: Vec<Task>) -> AppResult<Vec<CollectionTaskView>> {
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.customer_id).collect();
    let codes: HashMap<Uuid, String> = customers_db::codes_by_ids(conn, tenant_id, &ids)?.into_iter().collect();
    Ok(tasks.into_iter().map(|t| task_view(t, &codes)).collect())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, async_graphql::InputObject)]
#[graphql(name = "CollectionTaskFilter")]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub assignee: Option<Uuid>,
    /// open | done | cancelled
    pub status: Option<String>,
    /// A customer code.
    pub customer: Option<String>,
    /// Due on or before this day.
    pub due_before: Option<NaiveDate>,
    /// Due on or after this day.
    pub due_after: Option<NaiveDate>,
    /// Page size (default 50, capped at 500).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn list(conn: &mut PgConnection, principal: &Principal, q: TaskQuery) -> AppResult<Page<CollectionTaskView>> {
    require(principal, Permission::Read)?;
    let tenant_id = principal.tenant_id;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            TaskStatus::parse(s).ok_or_else(|| AppError::invalid("status", format!("one of {}", TaskStatus::list())))
        })
        .transpose()?;
    let customer_id = match q.customer.as_deref() {
        Some(code) => match customers_db::find_by_code(conn, tenant_id, code) {
            Ok(c) => Some(c.id),
            // An unknown customer has no tasks.
            Err(diesel::result::Error::NotFound) => return Ok(Page { items: vec![], next_cursor: None }),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let limit = effective_limit(q.limit, 500)?;
    let filter = TaskFilter {
        assignee: q.assignee,
        status,
        customer_id,
        due_before: q.due_before,
        due_after: q.due_after,
        after: parse_cursor(q.cursor.as_deref())?,
        limit,
    };
    let rows = c_db::tasks(conn, tenant_id, &filter)?;
    Ok(page(views(conn, tenant_id, rows)?, limit, |v| v.id, |v| v))
}

fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> AppResult<Task> {
    c_db::task_for_update(conn, tenant_id, id)?.ok_or_else(|| AppError::not_found("collection task"))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<CollectionTaskView> {
    require(principal, Permission::Read)?;
    let task = c_db::task(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("collection task"))?;
    Ok(views(conn, principal.tenant_id, vec![task])?.remove(0))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// open | done | cancelled
    pub status: Option<String>,
    /// Reassign to this user (null: unassigned).
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_user_id: Option<Option<Uuid>>,
    pub due_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Works a task: closes or reopens it, reassigns it, moves its due date, notes what was done.
pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    patch: TaskPatch,
) -> AppResult<CollectionTaskView> {
    require(principal, Permission::WriteCollections)?;
    let tenant_id = principal.tenant_id;
    let mut task = find(conn, tenant_id, id)?;
    let before = views(conn, tenant_id, vec![task.clone()])?.remove(0);
    if let Some(s) = patch.status.as_deref() {
        let status = TaskStatus::parse(s)
            .ok_or_else(|| AppError::invalid("status", format!("one of {}", TaskStatus::list())))?;
        task.closed_at = match status {
            TaskStatus::Open => None,
            _ if task.status == status => task.closed_at,
            _ => Some(Utc::now()),
        };
        task.status = status;
    }
    if let Some(assignee) = patch.assignee_user_id {
        if let Some(user) = assignee {
            active_user(conn, tenant_id, user, "assignee_user_id")?;
        }
        task.assignee_user_id = assignee;
    }
    if let Some(due) = patch.due_on {
        task.due_on = due;
    }
    if let Some(note) = patch.note {
        if note.chars().count() > 4000 {
            return Err(AppError::invalid("note", "at most 4000 characters"));
        }
        task.note = Some(note).filter(|n| !n.trim().is_empty());
    }
    task.updated_at = Utc::now();
    c_db::update_task(conn, &task)?;
    let after = views(conn, tenant_id, vec![task])?.remove(0);
    let mut e = entry(principal, "collection_task.updated", "collection_task", &id.to_string());
    e.before = snapshot(&before);
    e.after = snapshot(&after);
    audit_db::append(conn, tenant_id, vec![e])?;
    Ok(after)
}
