//! Dunning: levels, runs, per-run assignments, actions and each customer's current state.

use super::reports::{open_as_of, Scope};
use super::schema::{customer_dunning, dunning_actions, dunning_assignments, dunning_levels, dunning_runs};
use crate::domain::dunning::DunningActionKind;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dunning_levels)]
pub struct Level {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub code: String,
    pub name: String,
    pub severity: i32,
    pub min_days_overdue: i32,
    pub min_amount: Decimal,
    pub action: String,
    pub repeat_every_days: Option<i32>,
    pub credit_hold: bool,
    pub created_at: DateTime<Utc>,
    /// The tasks the level gives people (call, email, letter, legal_letter, stop_supply).
    pub actions: Vec<String>,
}

pub fn levels(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Level>> {
    dunning_levels::table
        .filter(dunning_levels::tenant_id.eq(tenant_id))
        .order(dunning_levels::severity.desc())
        .select(Level::as_select())
        .load(conn)
}

/// Replaces the tenant's levels (they are configured as a whole).
pub fn replace_levels(conn: &mut PgConnection, tenant_id: Uuid, levels: &[Level]) -> QueryResult<()> {
    diesel::delete(dunning_levels::table.filter(dunning_levels::tenant_id.eq(tenant_id))).execute(conn)?;
    diesel::insert_into(dunning_levels::table).values(levels).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Exposure {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Items at least this many days past due ...
    #[diesel(sql_type = Integer)]
    pub threshold: i32,
    /// ... their sum and the oldest of them.
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
    #[diesel(sql_type = Integer)]
    pub max_age: i32,
    #[diesel(sql_type = BigInt)]
    pub items: i64,
}

/// Per customer, currency and threshold: the open invoices (and debit adjustments) at least
/// that many days past due on `as_of`. One pass over the open book.
pub fn exposures(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    as_of: NaiveDate,
    thresholds: &[i32],
) -> QueryResult<Vec<Exposure>> {
    diesel::sql_query(format!(
        "WITH {} \
         SELECT i.customer_id, i.currency, t.threshold, sum(i.open) AS amount, max(i.age) AS max_age, count(*) AS items \
           FROM items i JOIN unnest($4::int[]) AS t(threshold) ON i.age >= t.threshold \
          WHERE i.open > 0 \
          GROUP BY i.customer_id, i.currency, t.threshold",
        open_as_of(Scope::Book)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(as_of)
    .bind::<Bool, _>(true)
    .bind::<Array<Integer>, _>(thresholds)
    .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_dunning, treat_none_as_null = true)]
pub struct CustomerState {
    pub customer_id: Uuid,
    pub tenant_id: Uuid,
    pub level_code: Option<String>,
    pub since: Option<NaiveDate>,
    pub last_action_on: Option<NaiveDate>,
    pub credit_hold: bool,
    pub updated_at: DateTime<Utc>,
    /// Steps above the level the overdue items give (broken promises), until the customer
    /// leaves all levels.
    pub escalation: i32,
}

pub fn states(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<CustomerState>> {
    customer_dunning::table
        .filter(customer_dunning::tenant_id.eq(tenant_id))
        .select(CustomerState::as_select())
        .load(conn)
}

pub fn state_of(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Option<CustomerState>> {
    customer_dunning::table
        .filter(customer_dunning::tenant_id.eq(tenant_id))
        .filter(customer_dunning::customer_id.eq(customer_id))
        .select(CustomerState::as_select())
        .first(conn)
        .optional()
}

pub fn upsert_states(conn: &mut PgConnection, rows: &[CustomerState]) -> QueryResult<()> {
    for r in rows {
        diesel::insert_into(customer_dunning::table)
            .values(r)
            .on_conflict((customer_dunning::customer_id, customer_dunning::tenant_id))
            .do_update()
            .set(r)
            .execute(conn)?;
    }
    Ok(())
}

/// Mirrors the customer's credit hold (the credit policy holds it) into its dunning state.
pub fn set_hold(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, hold: bool) -> QueryResult<()> {
    diesel::update(customer_dunning::table)
        .filter(customer_dunning::tenant_id.eq(tenant_id))
        .filter(customer_dunning::customer_id.eq(customer_id))
        .set(customer_dunning::credit_hold.eq(hold))
        .execute(conn)
        .map(|_| ())
}

/// One more step up at the next dunning run (a broken promise).
pub fn escalate(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<()> {
    diesel::insert_into(customer_dunning::table)
        .values((
            customer_dunning::customer_id.eq(customer_id),
            customer_dunning::tenant_id.eq(tenant_id),
            customer_dunning::escalation.eq(1),
        ))
        .on_conflict((customer_dunning::customer_id, customer_dunning::tenant_id))
        .do_update()
        .set(customer_dunning::escalation.eq(customer_dunning::escalation + 1))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dunning_runs)]
pub struct Run {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub as_of: NaiveDate,
    pub customers_at_level: i32,
    pub level_changes: i32,
    pub reminders_due: i32,
    pub created_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dunning_assignments)]
pub struct Assignment {
    pub run_id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub currency: String,
    pub level_code: String,
    pub days_overdue: i32,
    pub overdue_amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dunning_actions)]
pub struct Action {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    pub customer_id: Uuid,
    pub kind: DunningActionKind,
    pub level_code: Option<String>,
    pub previous_level: Option<String>,
    pub action: Option<String>,
    pub days_overdue: i32,
    pub overdue_amount: Decimal,
    pub created_at: DateTime<Utc>,
}

pub fn insert_run(
    conn: &mut PgConnection,
    run: &Run,
    assignments: &[Assignment],
    actions: &[Action],
) -> QueryResult<()> {
    diesel::insert_into(dunning_runs::table).values(run).execute(conn)?;
    for chunk in assignments.chunks(5000) {
        diesel::insert_into(dunning_assignments::table).values(chunk).execute(conn)?;
    }
    for chunk in actions.chunks(5000) {
        diesel::insert_into(dunning_actions::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn actions_of(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, limit: i64) -> QueryResult<Vec<Action>> {
    dunning_actions::table
        .filter(dunning_actions::tenant_id.eq(tenant_id))
        .filter(dunning_actions::customer_id.eq(customer_id))
        .order(dunning_actions::id.desc())
        .limit(limit)
        .select(Action::as_select())
        .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct RecoveryRow {
    #[diesel(sql_type = Date)]
    pub as_of: NaiveDate,
    #[diesel(sql_type = Text)]
    pub level_code: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
    #[diesel(sql_type = Numeric)]
    pub overdue: Decimal,
    #[diesel(sql_type = Numeric)]
    pub collected: Decimal,
}

/// For each run in the last `weeks` weeks before `until`, per level and currency: customers,
/// their overdue amount at the run, and what they paid in the 7 days after it (bank payments
/// applied, by booking date, and payment documents).
pub fn recovery(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    until: NaiveDate,
    weeks: i32,
) -> QueryResult<Vec<RecoveryRow>> {
    diesel::sql_query(
        // One run per week (the week's last): a week's recovery is what came in after the
        // levels as the week left them; runs repeated within a week would count customers twice.
        "WITH runs AS (SELECT DISTINCT ON (date_trunc('week', as_of)) id, as_of FROM dunning_runs \
                        WHERE tenant_id = $1 AND as_of <= $2 AND as_of > $2::date - 7 * $3 \
                        ORDER BY date_trunc('week', as_of), as_of DESC, id DESC), \
         asg AS (SELECT a.run_id, a.customer_id, a.currency::text AS currency, a.level_code, a.overdue_amount, r.as_of \
                   FROM dunning_assignments a JOIN runs r ON r.id = a.run_id WHERE a.tenant_id = $1), \
         paid AS ( \
           SELECT asg.run_id, asg.customer_id, asg.currency, sum(x.amount) AS collected FROM asg JOIN ( \
             SELECT d.customer_id, d.currency::text AS currency, l.booking_date AS paid_on, al.amount \
               FROM allocations al \
               JOIN bank_lines l ON l.tenant_id = al.tenant_id AND l.id = al.bank_line_id \
               JOIN documents d ON d.tenant_id = al.tenant_id AND d.id = al.document_id \
              WHERE al.tenant_id = $1 AND al.state IN ('auto_applied', 'confirmed') \
             UNION ALL \
             SELECT customer_id, currency::text, issue_date, amount FROM documents \
              WHERE tenant_id = $1 AND doc_type = 'payment' AND status <> 'cancelled') x \
             ON x.customer_id = asg.customer_id AND x.currency = asg.currency \
            AND x.paid_on > asg.as_of AND x.paid_on <= asg.as_of + 7 \
           GROUP BY asg.run_id, asg.customer_id, asg.currency) \
         SELECT asg.as_of, asg.level_code, asg.currency, count(*) AS customers, sum(asg.overdue_amount) AS overdue, \
                coalesce(sum(p.collected), 0) AS collected \
           FROM asg LEFT JOIN paid p ON p.run_id = asg.run_id AND p.customer_id = asg.customer_id AND p.currency = asg.currency \
          GROUP BY asg.as_of, asg.level_code, asg.currency ORDER BY asg.as_of, asg.level_code, asg.currency",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Date, _>(until)
    .bind::<Integer, _>(weeks)
    .load(conn)
}
