//! Weekly recovery per dunning level: how much of what was overdue at each week's last run came
//! in the week after (the "check" of the plan-do-check-act loop collections teams run).

use super::require;
use crate::db::dunning as d_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::money::{format_amount, ratio_one_decimal};
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecoveryQuery {
    /// Default: today.
    pub until: Option<NaiveDate>,
    /// Default 8.
    pub weeks: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct RecoveryFigure {
    /// The Monday of the week.
    pub week: NaiveDate,
    /// The date of the week's last run, which the figures are of.
    pub as_of: NaiveDate,
    pub level: String,
    pub currency: String,
    pub customers: i64,
    /// Past due at the run.
    pub overdue: String,
    /// Paid by those customers in the 7 days after the run.
    pub collected: String,
    /// collected / overdue, in percent (one decimal).
    pub recovery_rate: Option<String>,
}

/// Weekly recovery per level: how much of what was overdue at each week's last run came in the
/// week after.
pub fn recovery(conn: &mut PgConnection, principal: &Principal, q: RecoveryQuery) -> AppResult<Vec<RecoveryFigure>> {
    require(principal, Permission::Read)?;
    let weeks = q.weeks.unwrap_or(8);
    if !(1..=104).contains(&weeks) {
        return Err(AppError::invalid("weeks", "between 1 and 104"));
    }
    let until = q.until.unwrap_or_else(|| Utc::now().date_naive());
    Ok(d_db::recovery(conn, principal.tenant_id, until, weeks)?
        .into_iter()
        .map(|r| {
            let rate = ratio_one_decimal(r.collected, r.overdue, Decimal::from(100));
            RecoveryFigure {
                week: r.as_of.week(chrono::Weekday::Mon).first_day(),
                as_of: r.as_of,
                overdue: format_amount(&r.currency, r.overdue),
                collected: format_amount(&r.currency, r.collected),
                level: r.level_code,
                currency: r.currency,
                customers: r.customers,
                recovery_rate: rate,
            }
        })
        .collect())
}
