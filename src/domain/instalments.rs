//! Instalment plans: an invoice due in parts, each with its own due date and amount.
//!
//! What is still open of each instalment is never stored: everything settled on the document
//! (payments, netted credit notes, write-offs) goes to its instalments in order, oldest due
//! first. So the open part of every instalment follows from the document's amount and open
//! amount alone, whichever way the open amount changed.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::Currency;

/// Most instalments one document may have (ten years of monthly instalments).
pub const MAX_INSTALMENTS: usize = 120;

/// How one instalment's size is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// An amount in the document's currency.
    Amount(Decimal),
    /// A percentage of the document's amount (`25` is a quarter).
    Percent(Decimal),
}

/// One instalment as a client asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub due_date: NaiveDate,
    pub share: Share,
}

/// One instalment of a plan: `seq` counts from 1 in due-date order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instalment {
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: Decimal,
}

/// Why a plan was refused: the offending instalment (0-based), when there is one, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub index: Option<usize>,
    pub message: String,
}

impl PlanError {
    fn at(index: usize, message: impl Into<String>) -> PlanError {
        PlanError { index: Some(index), message: message.into() }
    }
    fn whole(message: impl Into<String>) -> PlanError {
        PlanError { index: None, message: message.into() }
    }
}

/// Turns what was asked into a plan for a document of `total` issued on `issue_date`.
///
/// Amounts must add up to `total` exactly (the error names the difference). Percentages must add
/// up to 100; each is converted to the currency's minor unit (half away from zero) and the last
/// instalment takes what rounding left, so the plan always adds up exactly. One plan uses either
/// amounts or percentages. Due dates strictly increase and none is before the issue date.
pub fn plan(
    currency: Currency,
    total: Decimal,
    issue_date: NaiveDate,
    asked: &[Asked],
) -> Result<Vec<Instalment>, PlanError> {
    if asked.is_empty() || asked.len() > MAX_INSTALMENTS {
        return Err(PlanError::whole(format!("a plan has 1 to {MAX_INSTALMENTS} instalments")));
    }
    if total <= Decimal::ZERO {
        return Err(PlanError::whole("only a positive amount can be due in instalments"));
    }
    check_dates(issue_date, asked)?;
    let by_percent = matches!(asked[0].share, Share::Percent(_));
    let mut amounts = Vec::with_capacity(asked.len());
    for (k, a) in asked.iter().enumerate() {
        match (a.share, by_percent) {
            (Share::Amount(v), false) | (Share::Percent(v), true) if v <= Decimal::ZERO => {
                return Err(PlanError::at(k, "must be positive"));
            }
            (Share::Percent(p), true) if p > Decimal::ONE_HUNDRED => {
                return Err(PlanError::at(k, "a percentage is at most 100"));
            }
            (Share::Amount(v), false) => amounts.push(v),
            (Share::Percent(p), true) => amounts.push(percent_of(currency, total, p)),
            _ => return Err(PlanError::at(k, "a plan gives either amounts or percentages, not both")),
        }
    }
    if by_percent {
        let percents: Decimal =
            asked.iter().map(|a| if let Share::Percent(p) = a.share { p } else { Decimal::ZERO }).sum();
        if percents != Decimal::ONE_HUNDRED {
            return Err(PlanError::whole(format!("percentages add up to {}, not 100", percents.normalize())));
        }
        let last = amounts.len() - 1;
        let before: Decimal = amounts[..last].iter().copied().sum();
        amounts[last] = total - before;
        if amounts[last] <= Decimal::ZERO {
            return Err(PlanError::at(last, "rounding leaves nothing for the last instalment"));
        }
    } else {
        let sum: Decimal = amounts.iter().copied().sum();
        if sum != total {
            let (diff, how) = if sum < total { (total - sum, "short of") } else { (sum - total, "more than") };
            return Err(PlanError::whole(format!(
                "instalments add up to {}, {} {} the document amount {}",
                currency.format(sum),
                currency.format(diff),
                how,
                currency.format(total)
            )));
        }
    }
    Ok(asked
        .iter()
        .zip(amounts)
        .zip(1..)
        .map(|((a, amount), seq)| Instalment { seq, due_date: a.due_date, amount })
        .collect())
}

fn check_dates(issue_date: NaiveDate, asked: &[Asked]) -> Result<(), PlanError> {
    if asked[0].due_date < issue_date {
        return Err(PlanError::at(0, format!("due_date {} is before the issue date {issue_date}", asked[0].due_date)));
    }
    for (k, w) in asked.windows(2).enumerate() {
        if w[1].due_date <= w[0].due_date {
            return Err(PlanError::at(k + 1, "due dates must increase from one instalment to the next"));
        }
    }
    Ok(())
}

fn percent_of(currency: Currency, total: Decimal, percent: Decimal) -> Decimal {
    (total * percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointAwayFromZero)
}

/// What is open of each instalment when `open_amount` of `amount` is open: what was settled
/// goes to the instalments in order.
pub fn open_parts(plan: &[Instalment], amount: Decimal, open_amount: Decimal) -> Vec<Decimal> {
    let mut settled = (amount - open_amount).max(Decimal::ZERO);
    plan.iter()
        .map(|i| {
            let paid = settled.min(i.amount);
            settled -= paid;
            i.amount - paid
        })
        .collect()
}

/// The instalments a payment of exactly `pay` settles in full, starting at the first one still
/// open: `(first, last)` 0-based, when `pay` is less than everything open (a payment of all of
/// it is a payment of the document).
pub fn settled_by(plan: &[Instalment], amount: Decimal, open_amount: Decimal, pay: Decimal) -> Option<(usize, usize)> {
    if plan.is_empty() || pay <= Decimal::ZERO || pay >= open_amount {
        return None;
    }
    let parts = open_parts(plan, amount, open_amount);
    let first = parts.iter().position(|p| *p > Decimal::ZERO)?;
    let mut sum = Decimal::ZERO;
    for (k, part) in parts.iter().enumerate().skip(first) {
        sum += *part;
        if sum == pay {
            return Some((first, k));
        }
        if sum > pay {
            return None;
        }
    }
    None
}

/// The open part of the first instalment still open, when it is less than all that is open.
pub fn next_open(plan: &[Instalment], amount: Decimal, open_amount: Decimal) -> Option<Decimal> {
    if plan.is_empty() {
        return None;
    }
    let parts = open_parts(plan, amount, open_amount);
    parts.into_iter().find(|p| *p > Decimal::ZERO).filter(|p| *p < open_amount)
}

/// Names instalments `first..=last` for people: "instalment 2 of 3 due 2026-05-01" or
/// "instalments 1-2 of 3 due 2026-04-01 and 2026-05-01".
pub fn describe(plan: &[Instalment], first: usize, last: usize) -> String {
    let n = plan.len();
    if first == last {
        format!("instalment {} of {n} due {}", first + 1, plan[first].due_date)
    } else {
        format!("instalments {}-{} of {n} due {} to {}", first + 1, last + 1, plan[first].due_date, plan[last].due_date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }
    fn asked(items: &[(&str, Share)]) -> Vec<Asked> {
        items.iter().map(|(date, share)| Asked { due_date: day(date), share: *share }).collect()
    }

    #[test]
    fn percentages_round_to_minor_units_and_the_last_takes_the_rest() {
        let p = Share::Percent(d("33.33"));
        let last = Share::Percent(d("33.34"));
        let plan = plan(
            eur(),
            d("100.01"),
            day("2026-01-01"),
            &asked(&[("2026-02-01", p), ("2026-03-01", p), ("2026-04-01", last)]),
        )
        .unwrap();
        let amounts: Vec<Decimal> = plan.iter().map(|i| i.amount).collect();
        assert_eq!(amounts, vec![d("33.33"), d("33.33"), d("33.35")]);
        assert_eq!(plan.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let jpy = Currency::parse("JPY").unwrap();
        let third = Share::Percent(d("50"));
        let plan =
            super::plan(jpy, d("1001"), day("2026-01-01"), &asked(&[("2026-02-01", third), ("2026-03-01", third)]))
                .unwrap();
        assert_eq!(plan.iter().map(|i| i.amount).collect::<Vec<_>>(), vec![d("501"), d("500")]);
    }

    #[test]
    fn amounts_must_add_up_and_the_error_names_the_difference() {
        let a = asked(&[("2026-02-01", Share::Amount(d("400"))), ("2026-03-01", Share::Amount(d("500")))]);
        let err = plan(eur(), d("1000"), day("2026-01-01"), &a).unwrap_err();
        assert_eq!(err.message, "instalments add up to 900.00, 100.00 short of the document amount 1000.00");
        let err = plan(eur(), d("800"), day("2026-01-01"), &a).unwrap_err();
        assert!(err.message.contains("100.00 more than"), "{}", err.message);
        assert!(plan(eur(), d("900"), day("2026-01-01"), &a).is_ok());
    }

    #[test]
    fn dates_kinds_and_percent_totals_are_checked() {
        let one = Share::Amount(d("50"));
        let err =
            plan(eur(), d("100"), day("2026-01-01"), &asked(&[("2026-03-01", one), ("2026-03-01", one)])).unwrap_err();
        assert_eq!(err.index, Some(1));
        let err =
            plan(eur(), d("100"), day("2026-02-01"), &asked(&[("2026-01-01", one), ("2026-03-01", one)])).unwrap_err();
        assert_eq!(err.index, Some(0));
        let mixed = asked(&[("2026-02-01", one), ("2026-03-01", Share::Percent(d("50")))]);
        assert_eq!(plan(eur(), d("100"), day("2026-01-01"), &mixed).unwrap_err().index, Some(1));
        let half = Share::Percent(d("50"));
        let err = plan(
            eur(),
            d("100"),
            day("2026-01-01"),
            &asked(&[("2026-02-01", half), ("2026-03-01", Share::Percent(d("40")))]),
        )
        .unwrap_err();
        assert_eq!(err.message, "percentages add up to 90, not 100");
        assert!(plan(eur(), d("100"), day("2026-01-01"), &[]).is_err());
        let huge = asked(&[("2026-02-01", Share::Percent(d("99999999999"))), ("2026-03-01", Share::Percent(d("1")))]);
        assert_eq!(plan(eur(), d("9999999999999999"), day("2026-01-01"), &huge).unwrap_err().index, Some(0));
    }

    #[test]
    fn settlements_go_to_the_oldest_instalment_first() {
        let plan: Vec<Instalment> = [("2026-02-01", "300"), ("2026-03-01", "300"), ("2026-04-01", "400")]
            .iter()
            .zip(1..)
            .map(|((date, a), seq)| Instalment { seq, due_date: day(date), amount: d(a) })
            .collect();
        assert_eq!(open_parts(&plan, d("1000"), d("1000")), vec![d("300"), d("300"), d("400")]);
        assert_eq!(open_parts(&plan, d("1000"), d("550")), vec![d("0"), d("150"), d("400")]);
        assert_eq!(open_parts(&plan, d("1000"), d("0")), vec![d("0"), d("0"), d("0")]);
        assert_eq!(next_open(&plan, d("1000"), d("700")), Some(d("300")));
        assert_eq!(next_open(&plan, d("1000"), d("400")), None, "the last instalment is all that is open");
        assert_eq!(settled_by(&plan, d("1000"), d("700"), d("300")), Some((1, 1)));
        assert_eq!(settled_by(&plan, d("1000"), d("1000"), d("600")), Some((0, 1)));
        assert_eq!(settled_by(&plan, d("1000"), d("1000"), d("400")), None, "400 is the third, not the next");
        assert_eq!(settled_by(&plan, d("1000"), d("700"), d("700")), None, "all of it: a payment of the document");
        assert_eq!(describe(&plan, 1, 1), "instalment 2 of 3 due 2026-03-01");
        assert_eq!(describe(&plan, 0, 1), "instalments 1-2 of 3 due 2026-02-01 to 2026-03-01");
    }
}
