//! Reports finance teams live in: AR aging (as of any date, configurable buckets, by due or
//! issue date, per currency and converted to the tenant's base currency), collection figures
//! and DSO per customer, and customers ranked by overdue amount. All computed in SQL.

use super::require;
use crate::db::reports::{self as reports_db, AgingCell, CollectionRow};
use crate::db::tenants;
use crate::domain::auth::{Permission, Principal};
use crate::domain::money::{format_amount, ratio_one_decimal};
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub use crate::domain::aging::{AgingBasis, AgingBucket, AgingReport, AgingRow, AgingTotal};

/// Default overdue buckets: current, 1-30, 31-60, 61-90, 90+.
pub const DEFAULT_BUCKETS: [i32; 3] = [30, 60, 90];

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AgingQuery {
    /// Default: today.
    pub as_of: Option<NaiveDate>,
    pub basis: Option<AgingBasis>,
    /// Upper bounds (days overdue) of the overdue buckets, comma-separated and increasing;
    /// default `30,60,90` (current, 1-30, 31-60, 61-90, 90+).
    pub buckets: Option<String>,
    /// One customer only.
    pub customer: Option<String>,
    /// A customer group's code: its members' rows, totals for the group.
    pub group: Option<String>,
    /// json (default), csv or xlsx.
    pub format: Option<String>,
}

pub fn parse_buckets(spec: Option<&str>) -> AppResult<Vec<i32>> {
    let Some(spec) = spec.filter(|s| !s.trim().is_empty()) else { return Ok(DEFAULT_BUCKETS.to_vec()) };
    let mut bounds = Vec::new();
    for part in spec.split(',') {
        let n: i32 = part
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("buckets", "comma-separated whole numbers of days, e.g. 30,60,90"))?;
        if !(1..=3650).contains(&n) || bounds.last().is_some_and(|&l| n <= l) {
            return Err(AppError::invalid("buckets", "increasing numbers of days between 1 and 3650"));
        }
        bounds.push(n);
    }
    if bounds.len() > 12 {
        return Err(AppError::invalid("buckets", "at most 12 bounds"));
    }
    Ok(bounds)
}

fn bucket_defs(bounds: &[i32]) -> Vec<AgingBucket> {
    let mut out = vec![AgingBucket { label: "current".into(), from_days: None, to_days: Some(0) }];
    let mut from = 1;
    for &b in bounds {
        out.push(AgingBucket { label: format!("{from}-{b}"), from_days: Some(from), to_days: Some(b) });
        from = b + 1;
    }
    out.push(AgingBucket { label: format!("{}+", from - 1), from_days: Some(from), to_days: None });
    out
}

/// The first day overdue of each overdue bucket, as the aging query wants them.
fn lower_bounds(bounds: &[i32]) -> Vec<i32> {
    std::iter::once(1).chain(bounds.iter().map(|b| b + 1)).collect()
}

/// One customer's open amounts in the default buckets.
pub struct CustomerAging {
    pub labels: Vec<String>,
    /// Per currency, one sum per bucket.
    pub per_currency: BTreeMap<String, Vec<Decimal>>,
}

/// The customers' open amounts (together) as of a date per currency, in the default buckets by
/// due date: the aging block of a statement of account, computed like the aging report.
pub fn customer_aging(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    as_of: NaiveDate,
) -> AppResult<CustomerAging> {
    let lower = lower_bounds(&DEFAULT_BUCKETS);
    let n = lower.len() + 1;
    let mut per_currency: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    for cell in reports_db::aging(conn, tenant_id, as_of, true, &lower, Some(customer_ids))? {
        let idx = (cell.bucket.max(0) as usize).min(n - 1);
        per_currency.entry(cell.currency).or_insert_with(|| vec![Decimal::ZERO; n])[idx] += cell.amount;
    }
    let labels = bucket_defs(&DEFAULT_BUCKETS).into_iter().map(|b| b.label).collect();
    Ok(CustomerAging { labels, per_currency })
}

/// The customers a report covers: a group's members (`group=`), one customer (`customer=`), or
/// all (`None`). Unknown codes, and both at once, are 422s on the parameter.
fn report_customers(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group: Option<&str>,
    customer: Option<&str>,
) -> AppResult<Option<Vec<Uuid>>> {
    if let Some((_, members)) = crate::services::customer_groups::report_scope(conn, tenant_id, group, customer)? {
        return Ok(Some(members.into_iter().map(|m| m.customer_id).collect()));
    }
    Ok(crate::services::customers::filter_id(conn, tenant_id, customer)?.map(|id| vec![id]))
}

fn sums_view(currency: &str, sums: &[Decimal]) -> (Vec<String>, String, String) {
    let total: Decimal = sums.iter().sum();
    let overdue: Decimal = sums.iter().skip(1).sum();
    (
        sums.iter().map(|s| format_amount(currency, *s)).collect(),
        format_amount(currency, total),
        format_amount(currency, overdue),
    )
}

pub fn aging(conn: &mut PgConnection, principal: &Principal, q: &AgingQuery) -> AppResult<AgingReport> {
    require(principal, Permission::Read)?;
    let as_of = q.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let basis = q.basis.unwrap_or_default();
    let bounds = parse_buckets(q.buckets.as_deref())?;
    let lower = lower_bounds(&bounds);
    let customers = report_customers(conn, principal.tenant_id, q.group.as_deref(), q.customer.as_deref())?;
    let by_due = basis == AgingBasis::DueDate;
    let cells = reports_db::aging(conn, principal.tenant_id, as_of, by_due, &lower, customers.as_deref())?;
    let n = lower.len() + 1;
    let (rows, per_currency) = rows_by_customer(cells, n);

    let tenant = tenants::find(conn, principal.tenant_id)?;
    let base = tenant.base_currency.clone();
    let rates: HashMap<String, Decimal> =
        reports_db::rates_into(conn, principal.tenant_id, &base, as_of)?.into_iter().collect();
    let mut base_sums = vec![Decimal::ZERO; n];
    let mut missing_rates = Vec::new();
    for (cur, sums) in &per_currency {
        let rate = if *cur == base { Some(Decimal::ONE) } else { rates.get(cur).copied() };
        match rate {
            Some(r) => base_sums.iter_mut().zip(sums).for_each(|(b, s)| *b += *s * r),
            None => missing_rates.push(cur.clone()),
        }
    }
    let totals = per_currency
        .iter()
        .map(|(cur, sums)| {
            let (buckets, total, overdue) = sums_view(cur, sums);
            AgingTotal { currency: cur.clone(), buckets, total, overdue }
        })
        .collect();
    let base_total = missing_rates.is_empty().then(|| {
        let (buckets, total, overdue) = sums_view(&base, &base_sums);
        AgingTotal { currency: base.clone(), buckets, total, overdue }
    });
    Ok(AgingReport {
        as_of,
        basis,
        buckets: bucket_defs(&bounds),
        rows,
        totals,
        base_currency: base,
        base_total,
        missing_rates,
    })
}

/// One row per customer and currency from the cells (ordered by customer and currency), and
/// the bucket sums per currency.
fn rows_by_customer(cells: Vec<AgingCell>, n: usize) -> (Vec<AgingRow>, BTreeMap<String, Vec<Decimal>>) {
    let mut rows: Vec<AgingRow> = Vec::new();
    let mut per_currency: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    let mut current: Option<(Uuid, String, String, String, Vec<Decimal>, i64)> = None;
    let flush = |c: Option<(Uuid, String, String, String, Vec<Decimal>, i64)>, rows: &mut Vec<AgingRow>| {
        if let Some((_, code, name, cur, sums, items)) = c {
            let (buckets, total, overdue) = sums_view(&cur, &sums);
            rows.push(AgingRow {
                customer_code: code,
                customer_name: name,
                currency: cur,
                buckets,
                total,
                overdue,
                open_items: items,
            });
        }
    };
    for AgingCell { customer_id, customer_code, customer_name, currency, bucket, amount, items } in cells {
        let same = current.as_ref().is_some_and(|c| c.0 == customer_id && c.3 == currency);
        if !same {
            flush(current.take(), &mut rows);
            current = Some((customer_id, customer_code, customer_name, currency.clone(), vec![Decimal::ZERO; n], 0));
        }
        let idx = (bucket.max(0) as usize).min(n - 1);
        if let Some(c) = current.as_mut() {
            c.4[idx] += amount;
            c.5 += items;
        }
        per_currency.entry(currency).or_insert_with(|| vec![Decimal::ZERO; n])[idx] += amount;
    }
    flush(current, &mut rows);
    (rows, per_currency)
}

/// The aging as CSV: `customer_code,customer_name,currency,<one column per bucket>,total,overdue`,
/// then one `TOTAL` row per currency (rendered by `crate::reports::csv::aging`).
pub fn aging_csv(report: &AgingReport) -> AppResult<Vec<u8>> {
    crate::reports::csv::aging(report).map_err(AppError::internal)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CollectionQuery {
    /// Default: today.
    pub as_of: Option<NaiveDate>,
    /// Length of the window ending on `as_of`, default 90 days.
    pub days: Option<i32>,
    /// For the ranking: how many customers (default 50, at most 500).
    pub limit: Option<i64>,
    /// A customer group's code: its members only; `totals` are then the group's (its DSO).
    pub group: Option<String>,
    /// For the ranking: `overdue` (default: the largest overdue amount first) or `risk` (the
    /// overdue amount weighted by the payment behaviour: `risk_weighted_overdue`).
    pub rank_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CollectionFigures {
    pub customer_code: Option<String>,
    pub customer_name: Option<String>,
    pub currency: String,
    pub receivables: String,
    pub overdue: String,
    pub sales: String,
    pub collected: String,
    /// Days sales outstanding: receivables / sales in the window x days; absent without sales.
    pub dso_days: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CollectionReport {
    pub as_of: NaiveDate,
    pub days: i32,
    /// Per customer and currency.
    pub customers: Vec<CollectionFigures>,
    /// The tenant per currency.
    pub totals: Vec<CollectionFigures>,
}

fn dso(receivables: Decimal, sales: Decimal, days: i32) -> Option<String> {
    ratio_one_decimal(receivables, sales, Decimal::from(days))
}

fn figures(code: Option<String>, name: Option<String>, cur: &str, r: [Decimal; 4], days: i32) -> CollectionFigures {
    CollectionFigures {
        customer_code: code,
        customer_name: name,
        currency: cur.to_string(),
        receivables: format_amount(cur, r[0]),
        overdue: format_amount(cur, r[1]),
        sales: format_amount(cur, r[2]),
        collected: format_amount(cur, r[3]),
        dso_days: dso(r[0], r[2], days),
    }
}

fn window(q: &CollectionQuery) -> AppResult<(NaiveDate, i32)> {
    let days = q.days.unwrap_or(90);
    if !(1..=3660).contains(&days) {
        return Err(AppError::invalid("days", "between 1 and 3660"));
    }
    Ok((q.as_of.unwrap_or_else(|| Utc::now().date_naive()), days))
}

/// Collection figures and DSO per customer and for the tenant.
pub fn collections(conn: &mut PgConnection, principal: &Principal, q: &CollectionQuery) -> AppResult<CollectionReport> {
    require(principal, Permission::Read)?;
    let (as_of, days) = window(q)?;
    // `limit` is the ranking's; here it changes nothing, but it is still checked like there.
    if q.limit.is_some_and(|l| !(1..=500).contains(&l)) {
        return Err(AppError::invalid("limit", "between 1 and 500"));
    }
    let members = report_customers(conn, principal.tenant_id, q.group.as_deref(), None)?;
    let rows = reports_db::collections(conn, principal.tenant_id, as_of, days, members.as_deref())?;
    let mut totals: BTreeMap<String, [Decimal; 4]> = BTreeMap::new();
    let customers = rows
        .into_iter()
        .map(|r: CollectionRow| {
            let t = totals.entry(r.currency.clone()).or_default();
            let v = [r.receivables, r.overdue, r.sales, r.collected];
            t.iter_mut().zip(v).for_each(|(a, b)| *a += b);
            figures(Some(r.customer_code), Some(r.customer_name), &r.currency, v, days)
        })
        .collect();
    let totals = totals.iter().map(|(cur, v)| figures(None, None, cur, *v, days)).collect();
    Ok(CollectionReport { as_of, days, customers, totals })
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct OverdueRank {
    pub rank: i32,
    pub customer_code: String,
    pub customer_name: String,
    /// Overdue amount converted to the tenant's base currency.
    pub overdue_base: String,
    /// Per currency, unconverted.
    pub overdue: Vec<CollectionFigures>,
    /// The customer's payment-behaviour score (0-100, higher is better) over the 365 days up to
    /// `as_of`; absent without payments in them.
    pub payment_score: Option<Decimal>,
    /// `overdue_base` x (100 - score) / 100: what a bad payer owes weighs more than what a good
    /// one does; without a score the whole overdue amount (an unknown payer is not a good one).
    pub risk_weighted_overdue: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct OverdueRanking {
    pub as_of: NaiveDate,
    pub base_currency: String,
    pub customers: Vec<OverdueRank>,
    /// Currencies without a rate to the base currency: their amounts count as zero in the ranking.
    pub missing_rates: Vec<String>,
}

/// Customers ranked by overdue amount (in the base currency), largest first, or by that amount
/// weighted by their payment-behaviour score (`rank_by=risk`), with their collection figures.
/// The ranking needs only the overdue amounts of the whole book (and, by risk, the scores of
/// the customers with something overdue); the full figures are computed for the ranked
/// customers alone.
pub fn overdue_ranking(
    conn: &mut PgConnection,
    principal: &Principal,
    q: &CollectionQuery,
) -> AppResult<OverdueRanking> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "between 1 and 500"));
    }
    require(principal, Permission::Read)?;
    let by_risk = ranks_by_risk(q)?;
    let (as_of, days) = window(q)?;
    let members = report_customers(conn, principal.tenant_id, q.group.as_deref(), None)?;
    let base = tenants::find(conn, principal.tenant_id)?.base_currency;
    let rates: HashMap<String, Decimal> =
        reports_db::rates_into(conn, principal.tenant_id, &base, as_of)?.into_iter().collect();
    let mut missing: Vec<String> = Vec::new();
    let mut per: HashMap<Uuid, (String, Decimal)> = HashMap::new();
    for cell in reports_db::overdue(conn, principal.tenant_id, as_of)? {
        let overdue = shown(&cell.currency, cell.overdue);
        if overdue <= Decimal::ZERO || members.as_ref().is_some_and(|m| !m.contains(&cell.customer_id)) {
            continue;
        }
        let rate = if cell.currency == base { Some(Decimal::ONE) } else { rates.get(&cell.currency).copied() };
        if rate.is_none() && !missing.contains(&cell.currency) {
            missing.push(cell.currency.clone());
        }
        per.entry(cell.customer_id).or_insert_with(|| (cell.customer_code, Decimal::ZERO)).1 +=
            overdue * rate.unwrap_or_default();
    }
    // By risk every customer with something overdue needs its score before ranking; by amount
    // only the ranked ones do (read below, after the cut).
    let mut scores = if by_risk {
        let all: Vec<Uuid> = per.keys().copied().collect();
        crate::services::payment_behaviour::scores_of(conn, principal.tenant_id, &all, as_of)?
    } else {
        HashMap::new()
    };
    let mut ranked: Vec<(Uuid, String, Decimal, Decimal)> = per
        .into_iter()
        .map(|(id, (code, amount))| {
            let weighted = if by_risk { risk_weighted(amount, scores.get(&id)) } else { amount };
            (id, code, amount, weighted)
        })
        .collect();
    ranked.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| b.2.cmp(&a.2)).then_with(|| a.1.cmp(&b.1)));
    ranked.truncate(limit as usize);
    let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let mut figures_of: HashMap<String, (String, Vec<CollectionFigures>)> = HashMap::new();
    for r in reports_db::collections(conn, principal.tenant_id, as_of, days, Some(&ids))? {
        let v = [r.receivables, r.overdue, r.sales, r.collected];
        let f = figures(Some(r.customer_code.clone()), Some(r.customer_name.clone()), &r.currency, v, days);
        if shown(&r.currency, r.overdue) > Decimal::ZERO {
            figures_of.entry(r.customer_code).or_insert_with(|| (r.customer_name, Vec::new())).1.push(f);
        }
    }
    if !by_risk {
        scores = crate::services::payment_behaviour::scores_of(conn, principal.tenant_id, &ids, as_of)?;
    }
    let customers = ranked
        .into_iter()
        .enumerate()
        .map(|(i, (id, code, amount, _))| {
            let (name, overdue) = figures_of.remove(&code).unwrap_or_default();
            let risk_weighted_overdue = format_amount(&base, risk_weighted(amount, scores.get(&id)));
            OverdueRank {
                rank: i as i32 + 1,
                customer_code: code,
                customer_name: name,
                overdue_base: format_amount(&base, amount),
                overdue,
                payment_score: scores.remove(&id),
                risk_weighted_overdue,
            }
        })
        .collect();
    missing.sort();
    Ok(OverdueRanking { as_of, base_currency: base, customers, missing_rates: missing })
}

/// An overdue amount weighted by the payer's score; without a score, all of it.
fn risk_weighted(amount: Decimal, score: Option<&Decimal>) -> Decimal {
    score.map_or(amount, |s| amount * (Decimal::ONE_HUNDRED - *s) / Decimal::ONE_HUNDRED)
}

fn ranks_by_risk(q: &CollectionQuery) -> AppResult<bool> {
    match q.rank_by.as_deref() {
        None | Some("overdue") => Ok(false),
        Some("risk") => Ok(true),
        Some(other) => Err(AppError::invalid("rank_by", format!("overdue or risk, not {other:?}"))),
    }
}

/// An amount as the figures show it (rounded to the currency's minor unit).
fn shown(currency: &str, amount: Decimal) -> Decimal {
    format_amount(currency, amount).parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_parse_and_label() {
        assert_eq!(parse_buckets(None).unwrap(), vec![30, 60, 90]);
        assert_eq!(parse_buckets(Some("15, 45")).unwrap(), vec![15, 45]);
        assert!(parse_buckets(Some("30,30")).is_err());
        assert!(parse_buckets(Some("0")).is_err());
        assert!(parse_buckets(Some("x")).is_err());
        let labels: Vec<String> = bucket_defs(&[30, 60, 90]).into_iter().map(|b| b.label).collect();
        assert_eq!(labels, ["current", "1-30", "31-60", "61-90", "90+"]);
    }

    #[test]
    fn dso_is_receivables_over_sales_times_days() {
        assert_eq!(dso(Decimal::new(5000, 0), Decimal::new(9000, 0), 90).as_deref(), Some("50.0"));
        assert_eq!(dso(Decimal::new(5000, 0), Decimal::ZERO, 90), None);
    }
}
