use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Invoice `inv` issued on `issued`, due 30 days later, paid by bank line `line` on `paid`.
fn pay(inv: u128, issued: &str, paid: &str, line: u128) -> Payment {
    let issue_date = d(issued);
    Payment {
        invoice_id: id(inv),
        doc_no: format!("INV-{inv}"),
        issue_date,
        due_date: Some(issue_date + chrono::Duration::days(30)),
        paid_on: d(paid),
        bank_line_id: id(1000 + line),
        currency: "EUR".into(),
        amount: Decimal::ONE_HUNDRED,
    }
}

fn window() -> Window {
    Window { as_of: d("2026-12-31"), days: 365 }
}

#[test]
fn averages_shares_and_trend_follow_the_payments() {
    let payments = vec![
        // Previous 90 days (2026-07-04 .. 2026-10-02]: 10 and 0 days late.
        pay(1, "2026-07-01", "2026-08-10", 1),
        pay(2, "2026-08-01", "2026-08-31", 2),
        // Last 90 days: 20 and 30 days late; invoice 4 in two payments, one of them before the window.
        pay(3, "2026-10-01", "2026-11-20", 3),
        pay(4, "2026-10-15", "2026-12-14", 4),
        pay(4, "2026-10-15", "2025-11-01", 5),
    ];
    let m = measures(&payments, window());
    assert_eq!(m.payments, 4, "the payment before the window does not count");
    assert_eq!(m.invoices_paid, 4);
    assert_eq!(m.avg_days_late, Some(Decimal::new(150, 1)), "(10 + 0 + 20 + 30) / 4");
    assert_eq!(m.avg_days_to_pay, Some(Decimal::new(450, 1)), "(40 + 30 + 50 + 60) / 4");
    assert_eq!(m.recent_avg_days_late, Some(Decimal::new(250, 1)));
    assert_eq!(m.previous_avg_days_late, Some(Decimal::new(50, 1)));
    assert_eq!(m.days_late_change, Some(Decimal::new(200, 1)));
    assert_eq!(m.recent_avg_days_to_pay, Some(Decimal::new(550, 1)), "(50 + 60) / 2");
    assert_eq!(m.previous_avg_days_to_pay, Some(Decimal::new(350, 1)), "(40 + 30) / 2");
    assert_eq!(m.days_to_pay_change, Some(Decimal::new(200, 1)));
    assert_eq!(m.trend, "worsening");
    assert_eq!(m.on_time_share, Some(Decimal::new(250, 1)), "one of four on or before the due date");
    assert_eq!(m.partial_payment_share, Some(Decimal::new(250, 1)), "invoice 4 took two payments");
}

#[test]
fn the_score_is_the_weighted_sum_of_its_explained_components() {
    let payments = vec![pay(1, "2026-11-01", "2026-12-01", 1), pay(2, "2026-11-01", "2026-12-16", 2)];
    let m = measures(&payments, window());
    let parts = components(&m).unwrap();
    let points: Vec<Decimal> = parts.iter().map(|c| c.points).collect();
    // on time 50%; 7.5 days late -> 87.5; no previous period -> 50; no partial payments -> 100.
    assert_eq!(points, [Decimal::new(500, 1), Decimal::new(875, 1), Decimal::new(500, 1), Decimal::new(1000, 1)]);
    // 0.4*50 + 0.3*87.5 + 0.15*50 + 0.15*100 = 20 + 26.25 + 7.5 + 15 = 68.75 -> 69
    assert_eq!(score(&parts), Decimal::from(69));
    assert_eq!(parts.iter().map(|c| c.weight).sum::<i32>(), 100);
    assert!(parts[0].explanation.contains("50.0% of the payments"), "{}", parts[0].explanation);
    assert!(summary(&m, Some(score(&parts))).starts_with("Score 69 of 100 from 2 payments"));
}

#[test]
fn a_punctual_customer_scores_high_and_a_late_one_low() {
    let early: Vec<Payment> =
        (0..6u128).map(|i| pay(i, &format!("2026-{:02}-01", 6 + i), &format!("2026-{:02}-25", 6 + i), i)).collect();
    let good = score(&components(&measures(&early, window())).unwrap());
    let late: Vec<Payment> = (0..6u128)
        .flat_map(|i| {
            let issued = format!("2026-{:02}-01", 1 + i);
            let paid = format!("2026-{:02}-15", 4 + i);
            [pay(i, &issued, &paid, i * 2), pay(i, &issued, &paid, i * 2 + 1)]
        })
        .collect();
    let bad = score(&components(&measures(&late, window())).unwrap());
    assert!(good >= Decimal::from(90), "{good}");
    assert!(bad <= Decimal::from(30), "{bad}");
}

#[test]
fn no_payments_no_score() {
    let m = measures(&[], window());
    assert_eq!(m.payments, 0);
    assert_eq!(m.trend, "unknown");
    assert!(components(&m).is_none());
    assert_eq!(summary(&m, None), "No payments in the period: no score.");
}

#[test]
fn two_allocations_of_one_bank_line_to_one_invoice_are_one_payment() {
    let mut a = pay(1, "2026-11-01", "2026-12-01", 1);
    a.amount = Decimal::from(40);
    let mut b = a.clone();
    b.amount = Decimal::from(60);
    let paid = in_window(&[a, b], window());
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].amount, Decimal::ONE_HUNDRED);
}
