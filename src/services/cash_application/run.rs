//! Starting a cash-application run (REST `/reconciliations`) and reading its progress; a worker
//! executes it (`worker`, `execute`).

use crate::db::audit as audit_db;
use crate::db::cash_application::{self as cash_db, Run};
use crate::domain::auth::{Permission, Principal};
use crate::domain::run_status::RunStatus;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
            status: r.status.as_str().into(),
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
        status: RunStatus::Queued,
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
    cash_db::insert_run(conn, &run)?;
    let mut e = entry(principal, "reconciliation.started", "reconciliation", &run.id.to_string());
    e.after = serde_json::to_value(RunView::from(run.clone())).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(run.into())
}

pub fn get_run(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<RunView> {
    require(principal, Permission::Read)?;
    cash_db::find_run(conn, principal.tenant_id, id)
        .map(RunView::from)
        .map_err(|_| AppError::not_found("reconciliation"))
}
