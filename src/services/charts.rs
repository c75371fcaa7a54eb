//! Charts of the reports (`GET /reports/charts/{name}`): each is built from the very use case
//! that answers its JSON report, called once per point in time, so a picture shows the
//! report's figures and nothing else.
//!
//! | chart | report | points | series |
//! |---|---|---|---|
//! | `recovery` | `GET /dunning/recovery` | dunning runs of the last `periods` weeks | level and currency: recovery rate % |
//! | `aging` | `GET /reports/aging?as_of=` | `periods` weeks or months back from `as_of` | aging buckets, stacked |
//! | `dso` | `GET /reports/collections?as_of=` | `periods` month-ends | currency: DSO days |
//! | `payment-behaviour` | `GET /customers/{code}/payment-behaviour` | the customer's payments | days late |

use crate::domain::auth::Principal;
use crate::domain::chart::{color, Chart, ChartKind, ChartSeries};
use crate::error::{AppError, AppResult};
use crate::services::dunning::{self, RecoveryQuery};
use crate::services::payment_behaviour::{self, BehaviourQuery};
use crate::services::reports::{self, AgingBasis, AgingQuery, CollectionQuery};
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const NAMES: [&str; 4] = ["recovery", "aging", "dso", "payment-behaviour"];

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    /// svg (default), png, or json: the chart's data as plotted.
    pub format: Option<String>,
    /// The last point in time. Default: today.
    pub as_of: Option<NaiveDate>,
    /// How many weeks (recovery, default 12, at most 104), weeks or months (aging, default 6, at
    /// most 24) or months (dso, default 12, at most 36) back from `as_of`.
    pub periods: Option<i32>,
    /// aging: week or month (default).
    pub interval: Option<String>,
    /// aging: as in the aging report.
    pub basis: Option<AgingBasis>,
    /// aging: as in the aging report.
    pub buckets: Option<String>,
    /// aging: the currency to plot; default the base-currency totals.
    pub currency: Option<String>,
    /// aging: one customer only; payment-behaviour: the customer (required).
    pub customer: Option<String>,
    /// dso: the window of each point (default 90); payment-behaviour: the window (default 365).
    pub days: Option<i32>,
}

fn periods(q: &ChartQuery, default: i32, max: i32) -> AppResult<u32> {
    let n = q.periods.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(AppError::invalid("periods", format!("between 1 and {max}")));
    }
    Ok(n as u32)
}

fn as_of(q: &ChartQuery) -> NaiveDate {
    q.as_of.unwrap_or_else(|| Utc::now().date_naive())
}

/// The chart's data; `name` is one of [`NAMES`].
pub fn chart(conn: &mut PgConnection, principal: &Principal, name: &str, q: &ChartQuery) -> AppResult<Chart> {
    let unused = |field: &str, given: bool| -> AppResult<()> {
        if given {
            return Err(AppError::invalid(field, format!("not a parameter of the {name} chart")));
        }
        Ok(())
    };
    match name {
        "recovery" => {
            unused("customer", q.customer.is_some())?;
            recovery(conn, principal, q)
        }
        "aging" => aging(conn, principal, q),
        "dso" => {
            unused("customer", q.customer.is_some())?;
            dso(conn, principal, q)
        }
        "payment-behaviour" => behaviour(conn, principal, q),
        _ => Err(AppError::not_found(format!("chart {name:?} (charts: {})", NAMES.join(", ")))),
    }
}

fn series(names: Vec<String>, n: usize) -> Vec<ChartSeries> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| ChartSeries { name, color: color(i), values: vec![None; n] })
        .collect()
}

fn decimal(text: Option<&str>) -> Option<Decimal> {
    text.and_then(|t| t.parse().ok())
}

fn recovery(conn: &mut PgConnection, principal: &Principal, q: &ChartQuery) -> AppResult<Chart> {
    let weeks = periods(q, 12, 104)?;
    let figures =
        dunning::recovery(conn, principal, RecoveryQuery { until: Some(as_of(q)), weeks: Some(weeks as i32) })?;
    let dates: Vec<NaiveDate> =
        figures.iter().map(|f| f.as_of).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let keys: Vec<(String, String)> = figures
        .iter()
        .map(|f| (f.level.clone(), f.currency.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = series(keys.iter().map(|(l, c)| format!("{l} {c}")).collect(), dates.len());
    for f in &figures {
        let s = keys.iter().position(|k| k.0 == f.level && k.1 == f.currency).unwrap_or_default();
        let i = dates.iter().position(|d| *d == f.as_of).unwrap_or_default();
        out[s].values[i] = decimal(f.recovery_rate.as_deref());
    }
    Ok(Chart {
        name: "recovery".into(),
        title: "Recovery rate per dunning level".into(),
        kind: ChartKind::Lines,
        x_title: "week (its last dunning run)".into(),
        y_title: "collected in the following week (% of overdue)".into(),
        categories: dates.iter().map(|d| d.to_string()).collect(),
        series: out,
    })
}

/// `n` dates ending on `last`, oldest first: a week or a month apart (month ends stay month ends).
fn points(last: NaiveDate, n: u32, monthly: bool) -> Vec<NaiveDate> {
    let month_end = last.succ_opt().is_none_or(|next| next.month() != last.month());
    (0..n)
        .rev()
        .filter_map(|k| {
            if !monthly {
                return last.checked_sub_days(Days::new(7 * k as u64));
            }
            let d = last.checked_sub_months(Months::new(k))?;
            if month_end {
                let first = d.with_day(1)?;
                return first.checked_add_months(Months::new(1))?.pred_opt();
            }
            Some(d)
        })
        .collect()
}

fn aging(conn: &mut PgConnection, principal: &Principal, q: &ChartQuery) -> AppResult<Chart> {
    let monthly = match q.interval.as_deref() {
        None | Some("month") => true,
        Some("week") => false,
        Some(_) => return Err(AppError::invalid("interval", "week or month")),
    };
    let n = periods(q, 6, 24)?;
    let dates = points(as_of(q), n, monthly);
    let mut out: Vec<ChartSeries> = Vec::new();
    for (i, d) in dates.iter().enumerate() {
        let aq = AgingQuery {
            as_of: Some(*d),
            basis: q.basis,
            buckets: q.buckets.clone(),
            customer: q.customer.clone(),
            group: None,
            format: None,
        };
        let report = reports::aging(conn, principal, &aq)?;
        if out.is_empty() {
            out = series(report.buckets.iter().map(|b| b.label.clone()).collect(), dates.len());
        }
        let total = match &q.currency {
            Some(cur) => report.totals.iter().find(|t| &t.currency == cur).cloned(),
            None => match &report.base_total {
                Some(t) => Some(t.clone()),
                None => {
                    let missing = report.missing_rates.join(", ");
                    let msg = format!("no rate to the base currency for {missing} on {d}: pass currency=");
                    return Err(AppError::invalid("currency", msg));
                }
            },
        };
        for (s, v) in out.iter_mut().enumerate() {
            v.values[i] =
                Some(total.as_ref().and_then(|t| decimal(t.buckets.get(s).map(String::as_str))).unwrap_or_default());
        }
    }
    let unit = q.currency.clone().unwrap_or_else(|| "base currency".into());
    Ok(Chart {
        name: "aging".into(),
        title: format!(
            "Receivables by days past due{}",
            q.customer.as_ref().map(|c| format!(", customer {c}")).unwrap_or_default()
        ),
        kind: ChartKind::StackedBars,
        x_title: if monthly { "as of (monthly)" } else { "as of (weekly)" }.into(),
        y_title: format!("open amount ({unit})"),
        categories: dates.iter().map(|d| d.to_string()).collect(),
        series: out,
    })
}

fn dso(conn: &mut PgConnection, principal: &Principal, q: &ChartQuery) -> AppResult<Chart> {
    let n = periods(q, 12, 36)?;
    let dates = points(as_of(q), n, true);
    let mut per_currency: BTreeMap<String, Vec<Option<Decimal>>> = BTreeMap::new();
    for (i, d) in dates.iter().enumerate() {
        let cq = CollectionQuery { as_of: Some(*d), days: q.days, limit: None, group: None, rank_by: None };
        for t in reports::collections(conn, principal, &cq)?.totals {
            per_currency.entry(t.currency).or_insert_with(|| vec![None; dates.len()])[i] =
                decimal(t.dso_days.as_deref());
        }
    }
    let mut out = series(per_currency.keys().cloned().collect(), dates.len());
    for (s, values) in out.iter_mut().zip(per_currency.into_values()) {
        s.values = values;
    }
    Ok(Chart {
        name: "dso".into(),
        title: format!("Days sales outstanding ({}-day window)", q.days.unwrap_or(90)),
        kind: ChartKind::Lines,
        x_title: "as of (monthly)".into(),
        y_title: "DSO (days)".into(),
        categories: dates.iter().map(|d| d.to_string()).collect(),
        series: out,
    })
}

fn behaviour(conn: &mut PgConnection, principal: &Principal, q: &ChartQuery) -> AppResult<Chart> {
    let code = q.customer.as_deref().ok_or_else(|| AppError::invalid("customer", "the customer's code is required"))?;
    if q.periods.is_some() {
        return Err(AppError::invalid("periods", "not a parameter of the payment-behaviour chart (use days)"));
    }
    let b = payment_behaviour::of_code(conn, principal, code, &BehaviourQuery { as_of: q.as_of, days: q.days })?;
    let mut s = series(vec!["days late (negative: early)".into()], b.history.len());
    s[0].values = b.history.iter().map(|p| Some(Decimal::from(p.days_late))).collect();
    let score = b.score.map(|s| format!(", score {s}")).unwrap_or_default();
    Ok(Chart {
        name: "payment-behaviour".into(),
        title: format!("Payments of {code} against their due dates{score}"),
        kind: ChartKind::Lines,
        x_title: "payment date".into(),
        y_title: "days after the due date".into(),
        categories: b.history.iter().map(|p| p.paid_on.to_string()).collect(),
        series: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_step_back_by_week_or_month_and_keep_month_ends() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(points(d("2026-03-31"), 3, true), [d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]);
        assert_eq!(points(d("2026-03-15"), 2, true), [d("2026-02-15"), d("2026-03-15")]);
        assert_eq!(points(d("2026-03-15"), 2, false), [d("2026-03-08"), d("2026-03-15")]);
    }
}
