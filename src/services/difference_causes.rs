//! Why differences exist: the cause a person sets (audited), the cause a customer's dispute
//! suggests, what the portal shows of it, and the counts per cause (docs/disputes.md).

use super::audit::{entry, snapshot};
use super::differences::{DifferenceDetail, DifferenceView};
use super::require;
use crate::db::audit as audit_db;
use crate::db::differences::{self as diff_db, CauseFields, Difference};
use crate::domain::auth::{Permission, Principal};
use crate::domain::difference_cause::{suggest_dispute, Cause, CauseSource, SubCause};
use crate::error::{AppError, AppResult};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The cause of a difference, set by a person.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[graphql(name = "DifferenceCauseInput")]
#[serde(deny_unknown_fields)]
pub struct CauseInput {
    /// Optional: when given it must be the sub-cause's cause.
    pub cause: Option<Cause>,
    pub sub_cause: SubCause,
    /// Why (kept as the cause's explanation).
    pub note: Option<String>,
}

/// The `cause` and `sub_cause` query parameters of a difference list.
pub fn parse_filter(cause: Option<&str>, sub_cause: Option<&str>) -> AppResult<(Option<Cause>, Option<SubCause>)> {
    let cause = match cause {
        Some(c) => Some(Cause::parse(c).ok_or_else(|| {
            AppError::invalid("cause", format!("unknown cause {c:?}; one of technical, process, dispute"))
        })?),
        None => None,
    };
    let sub_cause = match sub_cause {
        Some(s) => {
            Some(SubCause::parse(s).ok_or_else(|| AppError::invalid("sub_cause", format!("unknown sub-cause {s:?}")))?)
        }
        None => None,
    };
    Ok((cause, sub_cause))
}

/// Sets a difference's cause by hand (`cause_source` manual), audited as `difference.cause_set`.
pub fn set_cause(conn: &mut PgConnection, p: &Principal, id: Uuid, input: CauseInput) -> AppResult<DifferenceDetail> {
    require(p, Permission::WriteMatching)?;
    if let Some(c) = input.cause {
        if c != input.sub_cause.cause() {
            return Err(AppError::invalid(
                "cause",
                format!(
                    "{} is a {} sub-cause, not {}",
                    input.sub_cause.as_str(),
                    input.sub_cause.cause().as_str(),
                    c.as_str()
                ),
            ));
        }
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.len() > 2000 || n.contains('\0')) {
        return Err(AppError::invalid("note", "at most 2000 characters, no NUL"));
    }
    let (d, code) = diff_db::find_for_update(conn, p.tenant_id, id).map_err(|_| AppError::not_found("difference"))?;
    let before = DifferenceView::new(d.clone(), code);
    let fields = CauseFields {
        cause: Some(input.sub_cause.cause()),
        sub_cause: Some(input.sub_cause),
        source: Some(CauseSource::Manual),
        explanation: Some(note.map(str::to_string).unwrap_or_else(|| "set by hand".into())),
    };
    diff_db::set_cause(conn, p.tenant_id, id, &fields)?;
    let (after_row, code) = diff_db::find(conn, p.tenant_id, id)?;
    let mut e = entry(p, "difference.cause_set", "difference", &id.to_string());
    e.before = snapshot(&before);
    e.after = snapshot(&DifferenceView::new(after_row.clone(), code.clone()));
    audit_db::append(conn, p.tenant_id, vec![e])?;
    super::differences::detail(conn, after_row, code)
}

/// A disputed difference becomes a dispute with the sub-cause the customer's words name, unless
/// a person already set its cause.
pub fn classify_dispute(conn: &mut PgConnection, d: &Difference, reason: &str) -> AppResult<()> {
    if d.cause_source == Some(CauseSource::Manual) {
        return Ok(());
    }
    let s = suggest_dispute(reason);
    let fields = CauseFields {
        cause: Some(Cause::Dispute),
        sub_cause: Some(s.sub_cause),
        source: Some(CauseSource::Suggested),
        explanation: Some(s.explanation),
    };
    diff_db::set_cause(conn, d.tenant_id, d.id, &fields)?;
    Ok(())
}

/// What the portal shows of a difference: the cause and sub-cause, not the internal explanation
/// or who set it, and a suspected deliberate delay only as a dispute.
pub fn for_customer(mut d: DifferenceDetail) -> DifferenceDetail {
    d.difference = view_for_customer(d.difference);
    d
}

pub fn view_for_customer(mut v: DifferenceView) -> DifferenceView {
    v.cause_explanation = None;
    v.cause_source = None;
    if v.sub_cause == Some(SubCause::DeliberateDelay) {
        v.sub_cause = None;
    }
    v
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CauseReportQuery {
    /// Customer code.
    pub customer: Option<String>,
    /// Statuses, comma-separated (default: all).
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CauseCount {
    /// null: not classified.
    pub cause: Option<Cause>,
    pub sub_cause: Option<SubCause>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CauseReport {
    /// One row per cause (technical, process, dispute, then null for not classified).
    pub by_cause: Vec<CauseCount>,
    /// One row per cause and sub-cause found.
    pub by_sub_cause: Vec<CauseCount>,
    pub total: i64,
}

/// `GET /reports/differences-by-cause`: counts per cause and sub-cause.
pub fn report(conn: &mut PgConnection, p: &Principal, q: CauseReportQuery) -> AppResult<CauseReport> {
    require(p, Permission::Read)?;
    let customer_id = crate::services::customers::filter_id(conn, p.tenant_id, q.customer.as_deref())?;
    let statuses = super::differences::parse_statuses(q.status.as_deref())?;
    let mut rows = diff_db::counts_by_cause(conn, p.tenant_id, customer_id, &statuses)?;
    let rank = |c: Option<Cause>| c.map_or(3, |c| Cause::ALL.iter().position(|x| *x == c).unwrap_or(3));
    rows.sort_by_key(|(c, s, _)| (rank(*c), s.map(|s| s.as_str())));
    let mut by_cause: Vec<CauseCount> = Vec::new();
    for cause in Cause::ALL.map(Some).into_iter().chain([None]) {
        let count = rows.iter().filter(|(c, _, _)| *c == cause).map(|(_, _, n)| n).sum();
        by_cause.push(CauseCount { cause, sub_cause: None, count });
    }
    let by_sub_cause: Vec<CauseCount> =
        rows.into_iter().map(|(cause, sub_cause, count)| CauseCount { cause, sub_cause, count }).collect();
    let total = by_cause.iter().map(|c| c.count).sum();
    Ok(CauseReport { by_cause, by_sub_cause, total })
}
