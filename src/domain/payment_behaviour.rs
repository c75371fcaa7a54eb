//! A customer's payment behaviour (付款规律), for credit assessment: how many days after issue it
//! pays, how many days late against the due date, whether that is getting better or worse, how
//! much of it arrives on time, whether it settles invoices in several payments, and one score
//! 0-100 that says all of it with its reasons.
//!
//! Every measure counts payments, not amounts: a customer's payments may be in several
//! currencies, and a habit is a habit whatever the size of the invoice. A payment is one
//! applied allocation of a bank line to an invoice, paid on the bank line's booking date.

use chrono::NaiveDate;
use rust_decimal::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One payment of one invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub invoice_id: Uuid,
    pub doc_no: String,
    pub issue_date: NaiveDate,
    /// The invoice's due date; an invoice without one is due on issue.
    pub due_date: Option<NaiveDate>,
    /// The bank line's booking date.
    pub paid_on: NaiveDate,
    /// The bank line: two allocations of one line to one invoice are one payment.
    pub bank_line_id: Uuid,
    pub currency: String,
    pub amount: Decimal,
}

impl Payment {
    pub fn days_to_pay(&self) -> i64 {
        (self.paid_on - self.issue_date).num_days()
    }

    /// Negative: paid early.
    pub fn days_late(&self) -> i64 {
        (self.paid_on - self.due_date.unwrap_or(self.issue_date)).num_days()
    }
}

/// The period looked at: payments booked in `(as_of - days, as_of]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub as_of: NaiveDate,
    pub days: i64,
}

/// The trend compares the last 90 days of the window with the 90 days before them.
pub const TREND_DAYS: i64 = 90;
/// A change of less than this many days late on average is "stable".
pub const TREND_STABLE_DAYS: i64 = 3;
/// Paying this many days late on average (or more) gives no points for lateness.
pub const LATENESS_ZERO_POINTS_DAYS: i64 = 60;
/// Paying this many days later (or earlier) than before moves the trend points to 0 (or 100).
pub const TREND_FULL_SWING_DAYS: i64 = 30;

/// Weights of the score's components, in percent (they add up to 100).
pub const WEIGHTS: [(&str, u32); 4] = [("on_time", 40), ("lateness", 30), ("trend", 15), ("single_payments", 15)];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ScoreComponent {
    /// on_time | lateness | trend | single_payments
    pub name: String,
    /// Percent of the score.
    pub weight: i32,
    /// 0-100.
    pub points: Decimal,
    /// How the points follow from the figures, in words.
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PaymentPoint {
    pub paid_on: NaiveDate,
    pub doc_no: String,
    pub currency: String,
    pub amount: String,
    pub days_to_pay: i64,
    /// Negative: paid early.
    pub days_late: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PaymentBehaviour {
    pub customer_code: String,
    pub as_of: NaiveDate,
    pub days: i32,
    /// Payments (one bank line paying one invoice) booked in the window.
    pub payments: i64,
    pub invoices_paid: i64,
    /// Days from issue to payment, averaged over the payments.
    pub avg_days_to_pay: Option<Decimal>,
    /// Days from due date to payment (negative: early), averaged over the payments.
    pub avg_days_late: Option<Decimal>,
    /// Average days late in the last 90 days of the window and in the 90 days before.
    pub recent_avg_days_late: Option<Decimal>,
    pub previous_avg_days_late: Option<Decimal>,
    /// recent - previous: positive means paying later than before.
    pub days_late_change: Option<Decimal>,
    /// Average days from issue to payment in the last 90 days of the window and the 90 before.
    pub recent_avg_days_to_pay: Option<Decimal>,
    pub previous_avg_days_to_pay: Option<Decimal>,
    /// recent - previous: positive means taking longer to pay than before.
    pub days_to_pay_change: Option<Decimal>,
    /// improving | stable (less than 3 days of change) | worsening | unknown (of days late)
    pub trend: String,
    /// Percent of the payments made on or before the due date.
    pub on_time_share: Option<Decimal>,
    /// Percent of the invoices paid in the window that took more than one payment.
    pub partial_payment_share: Option<Decimal>,
    /// 0-100 (higher is better); absent without payments in the window.
    pub score: Option<Decimal>,
    /// The score in one sentence: its components and their weights.
    pub summary: String,
    pub components: Vec<ScoreComponent>,
    /// Every payment in the window, oldest first (the payment-behaviour chart plots them).
    pub history: Vec<PaymentPoint>,
}

/// The measures; every average and share has one decimal, `None` without payments to take it of.
#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    pub payments: i64,
    pub invoices_paid: i64,
    pub avg_days_to_pay: Option<Decimal>,
    pub avg_days_late: Option<Decimal>,
    /// Last [`TREND_DAYS`] of the window, and the [`TREND_DAYS`] before.
    pub recent_avg_days_late: Option<Decimal>,
    pub previous_avg_days_late: Option<Decimal>,
    /// recent - previous: positive means paying later than before.
    pub days_late_change: Option<Decimal>,
    /// Days to pay over the same two periods, and their change.
    pub recent_avg_days_to_pay: Option<Decimal>,
    pub previous_avg_days_to_pay: Option<Decimal>,
    pub days_to_pay_change: Option<Decimal>,
    /// improving | stable | worsening | unknown
    pub trend: &'static str,
    /// Percent of payments made on or before the due date.
    pub on_time_share: Option<Decimal>,
    /// Percent of the invoices paid in the window that took more than one payment (counting
    /// their earlier payments too).
    pub partial_payment_share: Option<Decimal>,
}

fn one_dp(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(1);
    r
}

fn mean(values: impl Iterator<Item = i64>) -> Option<Decimal> {
    let (sum, n) = values.fold((0i64, 0i64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| one_dp(Decimal::from(sum) / Decimal::from(n)))
}

fn share(part: usize, whole: usize) -> Option<Decimal> {
    (whole > 0).then(|| one_dp(Decimal::from(part as u64) * Decimal::ONE_HUNDRED / Decimal::from(whole as u64)))
}

/// The payments booked in the window, oldest first: one per invoice and bank line.
pub fn in_window(payments: &[Payment], w: Window) -> Vec<Payment> {
    let from = w.as_of - chrono::Duration::days(w.days);
    let mut merged: BTreeMap<(NaiveDate, Uuid, Uuid), Payment> = BTreeMap::new();
    for p in payments.iter().filter(|p| p.paid_on > from && p.paid_on <= w.as_of) {
        merged
            .entry((p.paid_on, p.invoice_id, p.bank_line_id))
            .and_modify(|m| m.amount += p.amount)
            .or_insert_with(|| p.clone());
    }
    merged.into_values().collect()
}

/// The measures of the payments in the window. `all` may hold earlier payments too: they count
/// for the partial-payment habit of invoices paid in the window.
pub fn measures(all: &[Payment], w: Window) -> Measures {
    let paid = in_window(all, w);
    let recent_from = w.as_of - chrono::Duration::days(TREND_DAYS.min(w.days));
    let previous_from = recent_from - chrono::Duration::days(TREND_DAYS);
    let is_recent = |p: &&Payment| p.paid_on > recent_from;
    let is_previous = |p: &&Payment| p.paid_on > previous_from && p.paid_on <= recent_from;
    let recent = mean(paid.iter().filter(is_recent).map(Payment::days_late));
    let previous = mean(paid.iter().filter(is_previous).map(Payment::days_late));
    let change = recent.zip(previous).map(|(r, p)| r - p);
    let recent_to_pay = mean(paid.iter().filter(is_recent).map(Payment::days_to_pay));
    let previous_to_pay = mean(paid.iter().filter(is_previous).map(Payment::days_to_pay));
    let trend = match change {
        None => "unknown",
        Some(c) if c.abs() < Decimal::from(TREND_STABLE_DAYS) => "stable",
        Some(c) if c > Decimal::ZERO => "worsening",
        Some(_) => "improving",
    };
    let invoices: BTreeSet<Uuid> = paid.iter().map(|p| p.invoice_id).collect();
    let mut lines_per_invoice: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for p in all.iter().filter(|p| p.paid_on <= w.as_of && invoices.contains(&p.invoice_id)) {
        lines_per_invoice.entry(p.invoice_id).or_default().insert(p.bank_line_id);
    }
    let partial = lines_per_invoice.values().filter(|lines| lines.len() > 1).count();
    Measures {
        payments: paid.len() as i64,
        invoices_paid: invoices.len() as i64,
        avg_days_to_pay: mean(paid.iter().map(Payment::days_to_pay)),
        avg_days_late: mean(paid.iter().map(Payment::days_late)),
        recent_avg_days_late: recent,
        previous_avg_days_late: previous,
        days_late_change: change,
        recent_avg_days_to_pay: recent_to_pay,
        previous_avg_days_to_pay: previous_to_pay,
        days_to_pay_change: recent_to_pay.zip(previous_to_pay).map(|(r, p)| r - p),
        trend,
        on_time_share: share(paid.iter().filter(|p| p.days_late() <= 0).count(), paid.len()),
        partial_payment_share: share(partial, invoices.len()),
    }
}

fn clamp_points(v: Decimal) -> Decimal {
    one_dp(v.max(Decimal::ZERO).min(Decimal::ONE_HUNDRED))
}

/// The score's components with their points (`None` without payments).
pub fn components(m: &Measures) -> Option<Vec<ScoreComponent>> {
    let on_time = m.on_time_share?;
    let late = m.avg_days_late?.max(Decimal::ZERO);
    let hundred = Decimal::ONE_HUNDRED;
    let lateness = clamp_points(hundred - late * hundred / Decimal::from(LATENESS_ZERO_POINTS_DAYS));
    let trend = match m.days_late_change {
        Some(c) => clamp_points(Decimal::from(50) - c * Decimal::from(50) / Decimal::from(TREND_FULL_SWING_DAYS)),
        None => Decimal::from(50),
    };
    let single = clamp_points(hundred - m.partial_payment_share.unwrap_or_default());
    let words = [
        (on_time, format!("{on_time}% of the payments arrived on or before the due date")),
        (
            lateness,
            format!("{late} days late on average: 100 points when on time, none at {LATENESS_ZERO_POINTS_DAYS} days or more"),
        ),
        (
            trend,
            match m.days_late_change {
                Some(c) => format!(
                    "the last {TREND_DAYS} days were {c} days late against the {TREND_DAYS} before: 50 points when unchanged, 0 at {TREND_FULL_SWING_DAYS} days later, 100 at {TREND_FULL_SWING_DAYS} days earlier"
                ),
                None => "not enough payments in both periods to see a trend: 50 points".to_string(),
            },
        ),
        (
            single,
            format!(
                "{}% of the invoices were settled in more than one payment",
                m.partial_payment_share.unwrap_or_default()
            ),
        ),
    ];
    Some(
        WEIGHTS
            .iter()
            .zip(words)
            .map(|((name, weight), (points, explanation))| ScoreComponent {
                name: name.to_string(),
                weight: *weight as i32,
                points,
                explanation,
            })
            .collect(),
    )
}

/// The weighted sum of the components' points, a whole number 0-100.
pub fn score(components: &[ScoreComponent]) -> Decimal {
    let sum: Decimal = components.iter().map(|c| c.points * Decimal::from(c.weight)).sum();
    let mut s = (sum / Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    s.rescale(0);
    s
}

/// One sentence a person reads before the components.
pub fn summary(m: &Measures, score: Option<Decimal>) -> String {
    let Some(score) = score else {
        return "No payments in the period: no score.".to_string();
    };
    let weights: Vec<String> = WEIGHTS.iter().map(|(n, w)| format!("{n} {w}%")).collect();
    format!(
        "Score {score} of 100 from {} payments of {} invoices ({}); trend {}.",
        m.payments,
        m.invoices_paid,
        weights.join(", "),
        m.trend
    )
}

#[cfg(test)]
#[path = "payment_behaviour_tests.rs"]
mod tests;

/// A behaviour with a score, for renderers' tests.
#[cfg(test)]
pub fn sample() -> PaymentBehaviour {
    let as_of = NaiveDate::from_ymd_opt(2026, 3, 31).expect("a date");
    PaymentBehaviour {
        customer_code: "SH001".into(),
        as_of,
        days: 365,
        payments: 12,
        invoices_paid: 11,
        avg_days_to_pay: Some(Decimal::new(412, 1)),
        avg_days_late: Some(Decimal::new(112, 1)),
        recent_avg_days_late: Some(Decimal::new(90, 1)),
        previous_avg_days_late: Some(Decimal::new(130, 1)),
        days_late_change: Some(Decimal::new(-40, 1)),
        recent_avg_days_to_pay: Some(Decimal::new(380, 1)),
        previous_avg_days_to_pay: Some(Decimal::new(430, 1)),
        days_to_pay_change: Some(Decimal::new(-50, 1)),
        trend: "improving".into(),
        on_time_share: Some(Decimal::new(417, 1)),
        partial_payment_share: Some(Decimal::new(91, 1)),
        score: Some(Decimal::from(64)),
        summary: "Score 64 of 100".into(),
        components: Vec::new(),
        history: Vec::new(),
    }
}
