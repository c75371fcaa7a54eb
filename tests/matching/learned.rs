//! Learned facts in the engine: a learned IBAN or name identifies a payer master data does not know; it applies
//! payments only when unambiguous, never rejected and confirmed often enough, and proposes the learned customer
//! first otherwise; master data always wins; the combined-payment habit lets a unique subset sum apply.

use std::str::FromStr;

use chrono::NaiveDate;
use duizhang::domain::cash_application::engine::{lessons, LearnedFact, LearnedKind, LearnedSettings};
use duizhang::domain::cash_application::{
    CustomerInfo, Decision, DocKind, Engine, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem,
};
use rust_decimal::Decimal;
use uuid::Uuid;

const ACME_IBAN: &str = "DE44500105175407324931";
const BETA_IBAN: &str = "FR7630006000011234567890189";
/// An account master data does not know (a payment office paying for Acme).
const OFFICE_IBAN: &str = "NL91ABNA0417164300";
const OFFICE: &str = "ZENTRALE ZAHLSTELLE";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn cust(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

fn item(n: u128, doc_no: &str, customer: u128, amount: &str) -> OpenItem {
    let issued = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(n as u64 - 1);
    OpenItem {
        id: Uuid::from_u128(n),
        customer_id: cust(customer),
        kind: DocKind::Invoice,
        doc_no: doc_no.into(),
        currency: "EUR".into(),
        amount: d(amount),
        open_amount: d(amount),
        issue_date: issued,
        due_date: Some(issued + chrono::Days::new(30)),
        instalments: Box::default(),
    }
}

/// Acme: INV-...001 (100.00), 002 (230.00), 003 (315.00); Beta: INV-...011 (230.00).
fn engine(facts: Vec<LearnedFact>, settings: LearnedSettings) -> Engine {
    let customers = vec![
        acme(),
        CustomerInfo {
            id: cust(2),
            name: "Beta Logistics SARL".into(),
            aliases: vec![],
            bank_accounts: vec![BETA_IBAN.into()],
        },
    ];
    let items = vec![
        item(1, "INV-2026-0000001", 1, "100.00"),
        item(2, "INV-2026-0000002", 1, "230.00"),
        item(3, "INV-2026-0000003", 1, "315.00"),
        item(11, "INV-2026-0000011", 2, "230.00"),
    ];
    let mut e = Engine::new(customers, items, FxRates::new(), MatchSettings::default());
    e.set_learned(facts, settings);
    e
}

/// Acme Trading GmbH (customer 1), known by its IBAN.
fn acme() -> CustomerInfo {
    CustomerInfo {
        id: cust(1),
        name: "Acme Trading GmbH".into(),
        aliases: vec![],
        bank_accounts: vec![ACME_IBAN.into()],
    }
}

fn fact(kind: LearnedKind, key: &str, customer: u128, confirmations: u32, rejections: u32) -> LearnedFact {
    LearnedFact {
        id: Uuid::from_u128(5000 + customer),
        kind,
        key: key.to_string(),
        customer_id: cust(customer),
        customer_label: format!("C-00{customer}"),
        confirmations,
        rejections,
        last_confirmed_by: Some("alice@example.com".into()),
        last_confirmed_on: NaiveDate::from_ymd_opt(2026, 11, 3),
        source_ibans: Vec::new(),
    }
}

fn line(amount: &str, iban: Option<&str>, name: Option<&str>) -> LineInput {
    LineInput {
        id: Uuid::from_u128(9_000),
        bank_reference: None,
        booking_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        amount: d(amount),
        currency: "EUR".into(),
        counterparty_name: name.map(Box::from),
        counterparty_iban: iban.map(Box::from),
        remittance: None,
        creditor_reference: None,
        end_to_end_id: None,
        bank_account: None,
        bank_transaction_code: None,
    }
}

fn docs(o: &LineOutcome, set: u32) -> Vec<&str> {
    o.allocations.iter().filter(|a| a.set == set).map(|a| a.doc_no.as_str()).collect()
}

#[test]
fn a_learned_iban_applies_after_one_confirmation_and_says_so_apart() {
    let unknown =
        engine(Vec::new(), LearnedSettings::default()).match_line(&line("230.00", Some(OFFICE_IBAN), Some(OFFICE)));
    assert_eq!(unknown.decision, Decision::Unmatched, "without learning the payer is nobody: {}", unknown.explanation);

    let facts = vec![fact(LearnedKind::PayerIban, OFFICE_IBAN, 1, 1, 0)];
    let o = engine(facts, LearnedSettings::default()).match_line(&line("230.00", Some(OFFICE_IBAN), Some(OFFICE)));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000002"]);
    let a = &o.allocations[0];
    assert_eq!(
        a.learned_evidence,
        vec![format!(
            "learned: payer IBAN {OFFICE_IBAN} pays for customer C-001 (confirmed 1 time, last by alice@example.com on 2026-11-03)"
        )]
    );
    assert!(a.evidence.iter().all(|e| !e.starts_with("learned")), "built-in evidence stays apart: {:?}", a.evidence);

    // The tenant asks for two confirmations: proposed, Acme first.
    let strict = LearnedSettings { min_iban: 2, ..LearnedSettings::default() };
    let o = engine(vec![fact(LearnedKind::PayerIban, OFFICE_IBAN, 1, 1, 0)], strict).match_line(&line(
        "230.00",
        Some(OFFICE_IBAN),
        Some(OFFICE),
    ));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000002"]);
    assert!(o.allocations[0].learned_evidence[0].contains("not enough on its own"), "{:?}", o.allocations[0]);
}

#[test]
fn a_learned_name_needs_two_confirmations_and_proposes_its_customer_first_before() {
    let once = vec![fact(LearnedKind::PayerName, OFFICE, 1, 1, 0)];
    let o = engine(once, LearnedSettings::default()).match_line(&line("315.00", None, Some(OFFICE)));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000003"]);

    let twice = vec![fact(LearnedKind::PayerName, OFFICE, 1, 2, 0)];
    let o = engine(twice, LearnedSettings::default()).match_line(&line("315.00", None, Some("Zentrale Zahlstelle")));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000003"]);

    // The same name learned for two customers identifies neither: both proposed, nothing applied.
    let both = vec![fact(LearnedKind::PayerName, OFFICE, 1, 3, 0), fact(LearnedKind::PayerName, OFFICE, 2, 3, 0)];
    let o = engine(both, LearnedSettings::default()).match_line(&line("230.00", None, Some(OFFICE)));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    let mut all: Vec<&str> = o.allocations.iter().map(|a| a.doc_no.as_str()).collect();
    all.sort();
    assert_eq!(all, vec!["INV-2026-0000002", "INV-2026-0000011"]);
}

#[test]
fn a_rejection_stops_automatic_application() {
    let facts = vec![fact(LearnedKind::PayerIban, OFFICE_IBAN, 1, 5, 1)];
    let o = engine(facts, LearnedSettings::default()).match_line(&line("230.00", Some(OFFICE_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert!(o.allocations[0].learned_evidence[0].contains("rejected 1 time"), "{:?}", o.allocations[0]);
    // Rejected without ever being confirmed: says nothing about the payer.
    let facts = vec![fact(LearnedKind::PayerIban, OFFICE_IBAN, 1, 0, 1)];
    let o = engine(facts, LearnedSettings::default()).match_line(&line("230.00", Some(OFFICE_IBAN), None));
    assert_eq!(o.decision, Decision::Unmatched, "{}", o.explanation);
}

#[test]
fn master_data_wins_over_what_was_learned() {
    // Beta's own IBAN "learned" for Acme: master data decides (Beta's 230.00 is applied).
    let facts = vec![fact(LearnedKind::PayerIban, BETA_IBAN, 1, 9, 0)];
    let o = engine(facts, LearnedSettings::default()).match_line(&line("230.00", Some(BETA_IBAN), None));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000011"]);
    assert!(o.allocations[0].learned_evidence.is_empty());
    // A name learned from lines paid from Beta's account is not used for Acme.
    let mut tainted = fact(LearnedKind::PayerName, OFFICE, 1, 9, 0);
    tainted.source_ibans = vec!["fr76 3000 6000 0112 3456 7890 189".into()];
    let o = engine(vec![tainted], LearnedSettings::default()).match_line(&line("315.00", None, Some(OFFICE)));
    assert_eq!(o.decision, Decision::Unmatched, "{}", o.explanation);
    // A learned name that is also another customer's master-data name is not trusted on its own.
    let o = engine(vec![fact(LearnedKind::PayerName, "BETA LOGISTICS", 1, 9, 0)], LearnedSettings::default())
        .match_line(&line("315.00", None, Some("BETA LOGISTICS SARL")));
    assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
}

#[test]
fn the_combined_payment_habit_lets_a_unique_subset_sum_apply() {
    // 100.00 + 315.00 = 415.00 is the only combination of Acme's open items.
    let pays = line("415.00", Some(ACME_IBAN), None);
    let o = engine(Vec::new(), LearnedSettings::default()).match_line(&pays);
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    let once = vec![fact(LearnedKind::CombinedPayments, "", 1, 1, 0)];
    assert_eq!(engine(once, LearnedSettings::default()).match_line(&pays).decision, Decision::Proposed);
    let habit = vec![fact(LearnedKind::CombinedPayments, "", 1, 2, 0)];
    let o = engine(habit, LearnedSettings::default()).match_line(&pays);
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    let mut paid = docs(&o, 0);
    paid.sort();
    assert_eq!(paid, vec!["INV-2026-0000001", "INV-2026-0000003"]);
    assert!(o.allocations[0].learned_evidence[0].contains("pays several invoices with one amount"));
    // A payer learned and trusted by name is identified for sure: the habit applies.
    let by_name = vec![fact(LearnedKind::CombinedPayments, "", 1, 5, 0), fact(LearnedKind::PayerName, OFFICE, 1, 5, 0)];
    let o = engine(by_name, LearnedSettings::default()).match_line(&line("415.00", None, Some(OFFICE)));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    // Only a master-data name resembling the customer's: the habit is not enough.
    let habit = vec![fact(LearnedKind::CombinedPayments, "", 1, 5, 0)];
    let o = engine(habit, LearnedSettings::default()).match_line(&line("415.00", None, Some("ACME TRADING GMBH")));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
}

/// Acme with `n` open invoices of 1000.00 + k (k = 1..n), issued on consecutive days from 2026-01-01.
fn many_open(n: u32, facts: Vec<LearnedFact>) -> Engine {
    let customers = vec![acme()];
    let items = (1..=n)
        .map(|k| {
            let mut it = item(k as u128, &format!("INV-2026-{k:07}"), 1, &format!("{}.00", 1000 + k));
            it.issue_date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(k as u64);
            it
        })
        .collect();
    let mut e = Engine::new(customers, items, FxRates::new(), MatchSettings::default());
    e.set_learned(facts, LearnedSettings::default());
    e
}

#[test]
fn the_habit_looks_at_every_open_invoice_issued_before_the_payment() {
    // 60 open invoices, more than the ordinary search takes (25); 2119.00 = 1059.00 + 1060.00, the two largest,
    // and no other combination of them makes it.
    let habit = vec![fact(LearnedKind::CombinedPayments, "", 1, 2, 0)];
    let mut pays = line("2119.00", Some(ACME_IBAN), None);
    let o = many_open(60, habit.clone()).match_line(&pays);
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    let mut paid = docs(&o, 0);
    paid.sort();
    assert_eq!(paid, vec!["INV-2026-0000059", "INV-2026-0000060"]);
    // Paid before the two were issued: they are not among its candidates.
    pays.booking_date = NaiveDate::from_ymd_opt(2026, 2, 15).unwrap();
    let o = many_open(60, habit).match_line(&pays);
    assert!(o.allocations.iter().all(|a| a.doc_no != "INV-2026-0000060"), "{}", o.explanation);
    assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
}

/// Acme with two open invoices of 500.00 (the older one first) and one of 100.00; customers 2 to 8 with none.
fn two_equal(facts: Vec<LearnedFact>, settings: LearnedSettings) -> Engine {
    let mut customers = vec![acme()];
    customers.extend((2..=8).map(|c| CustomerInfo {
        id: cust(c),
        name: format!("Customer {c} Ltd"),
        aliases: vec![],
        bank_accounts: vec![],
    }));
    let items = vec![
        item(1, "INV-2026-0000001", 1, "500.00"),
        item(2, "INV-2026-0000002", 1, "500.00"),
        item(3, "INV-2026-0000003", 1, "100.00"),
    ];
    let mut e = Engine::new(customers, items, FxRates::new(), MatchSettings::default());
    e.set_learned(facts, settings);
    e
}

fn oldest_first_of(customer: u128, confirmations: u32, rejections: u32) -> LearnedFact {
    let mut f = fact(LearnedKind::OldestFirst, "", customer, confirmations, rejections);
    f.id = Uuid::from_u128(7000 + customer * 100 + u128::from(confirmations));
    f.customer_id = cust(customer);
    f
}

#[test]
fn the_oldest_first_habit_is_learned_per_customer_and_from_the_team() {
    let pays = line("500.00", Some(ACME_IBAN), None);
    let proposed = two_equal(Vec::new(), LearnedSettings::default()).match_line(&pays);
    assert_eq!(proposed.decision, Decision::Proposed, "{}", proposed.explanation);
    // The customer's own habit, confirmed twice (the habit threshold), applies the oldest.
    let o = two_equal(vec![oldest_first_of(1, 2, 0)], LearnedSettings::default()).match_line(&pays);
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o, 0), vec!["INV-2026-0000001"]);
    assert!(o.allocations[0].learned_evidence[0].contains("pays the oldest of equal open items first"), "{:?}", o);
    // Once is not enough, and a person who chose a later one stops it.
    for f in [oldest_first_of(1, 1, 0), oldest_first_of(1, 5, 1)] {
        let o = two_equal(vec![f], LearnedSettings::default()).match_line(&pays);
        assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    }
    // The team confirmed the oldest for other customers 12 times and never chose a later one: it applies to
    // Acme too, and says why.
    let team: Vec<LearnedFact> = (2..=7).map(|c| oldest_first_of(c, 2, 0)).collect();
    let o = two_equal(team.clone(), LearnedSettings::default()).match_line(&pays);
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert!(o.allocations[0].learned_evidence[0].contains("confirmed 12 times for 6 customers"), "{:?}", o);
    // ... but not where Acme's own record says otherwise, nor where the team often chose a later one.
    let mut against = team.clone();
    against.push(oldest_first_of(1, 0, 1));
    assert_eq!(two_equal(against, LearnedSettings::default()).match_line(&pays).decision, Decision::Proposed);
    let mut mixed = team;
    mixed.push(oldest_first_of(8, 0, 1));
    assert_eq!(two_equal(mixed, LearnedSettings::default()).match_line(&pays).decision, Decision::Proposed);
}

#[test]
fn two_lines_of_one_amount_for_one_customer_are_never_paired_by_age() {
    // The tenant applies the oldest first; two lines of 500.00 for Acme face its two invoices of 500.00.
    let settings = MatchSettings { auto_apply_oldest_first: true, ..MatchSettings::default() };
    let items = vec![item(1, "INV-2026-0000001", 1, "500.00"), item(2, "INV-2026-0000002", 1, "500.00")];
    let acme = acme();
    let first = line("500.00", Some(ACME_IBAN), None);
    // The second comes from an account learned for Acme (another payer, the same customer).
    let mut second = line("500.00", Some(OFFICE_IBAN), None);
    second.id = Uuid::from_u128(9_001);
    let mut alone = Engine::new(vec![acme.clone()], items.clone(), FxRates::new(), settings.clone());
    alone.set_run_lines([&first]);
    assert_eq!(alone.match_line(&first).decision, Decision::AutoApplied);
    let mut both = Engine::new(vec![acme], items, FxRates::new(), settings);
    both.set_learned(vec![fact(LearnedKind::PayerIban, OFFICE_IBAN, 1, 3, 0)], LearnedSettings::default());
    both.set_run_lines([&first, &second]);
    let o = both.match_line(&first);
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert!(o.allocations[0].evidence.iter().any(|e| e.contains("which one pays which")), "{:?}", o.allocations[0]);
}

#[test]
fn an_equal_invoice_another_line_quotes_is_left_to_that_line() {
    // Acme has two invoices of 500.00; two lines of 500.00 come from its account, one quoting an invoice.
    // Whichever it quotes, the other line pays the other invoice, before or after the quoting line is decided.
    let items = vec![item(1, "INV-2026-0000001", 1, "500.00"), item(2, "INV-2026-0000002", 1, "500.00")];
    let silent = line("500.00", Some(ACME_IBAN), None);
    for (quoted, left) in [("INV-2026-0000002", "INV-2026-0000001"), ("INV-2026-0000001", "INV-2026-0000002")] {
        let mut quoting = line("500.00", Some(ACME_IBAN), None);
        quoting.id = Uuid::from_u128(9_001);
        quoting.remittance = Some(format!("Invoice {quoted}").into());
        let mut e = Engine::new(vec![acme()], items.clone(), FxRates::new(), MatchSettings::default());
        e.set_run_lines([&silent, &quoting]);
        let o = e.match_line(&silent);
        assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
        assert_eq!(docs(&o, 0), vec![left]);
        let why = o.allocations[0].evidence.join(" | ");
        assert!(why.contains(&format!("{quoted} of the same amount is quoted by another line")), "{why}");
        let q = e.match_line(&quoting);
        assert_eq!((q.decision, docs(&q, 0)), (Decision::AutoApplied, vec![quoted]), "{}", q.explanation);
    }
    // Two silent lines and one quoting line before three equal invoices: the silent two still cannot be told
    // apart, so neither is applied.
    let mut three = items.clone();
    three.push(item(3, "INV-2026-0000003", 1, "500.00"));
    let mut other_silent = line("500.00", Some(ACME_IBAN), None);
    other_silent.id = Uuid::from_u128(9_002);
    let mut quoting = line("500.00", Some(ACME_IBAN), None);
    quoting.id = Uuid::from_u128(9_001);
    quoting.remittance = Some("INV-2026-0000003".into());
    let settings = MatchSettings { auto_apply_oldest_first: true, ..MatchSettings::default() };
    let mut e = Engine::new(vec![acme()], three, FxRates::new(), settings.clone());
    e.set_run_lines([&silent, &quoting, &other_silent]);
    assert_eq!(e.match_line(&silent).decision, Decision::Proposed);
    // A line quoting a number of another amount claims nothing: it may still pay one of the equal invoices.
    let mut wrong_amount = line("500.00", Some(ACME_IBAN), None);
    wrong_amount.id = Uuid::from_u128(9_003);
    wrong_amount.remittance = Some("INV-2026-0000009".into());
    let mut nine = items;
    nine.push(item(9, "INV-2026-0000009", 1, "800.00"));
    let mut e = Engine::new(vec![acme()], nine, FxRates::new(), settings);
    e.set_run_lines([&silent, &wrong_amount]);
    assert_eq!(e.match_line(&silent).decision, Decision::Proposed);
}

#[test]
fn what_a_decision_teaches() {
    let t = lessons(Some("nl91 abna 0417 1643 00"), Some("Zentrale Zahlstelle GmbH"), &[], &["INV-1"]);
    assert_eq!(
        t,
        vec![
            (LearnedKind::PayerIban, OFFICE_IBAN.to_string()),
            (LearnedKind::PayerName, "ZENTRALE ZAHLSTELLE".to_string())
        ]
    );
    // A name too short to identify anyone is not learned; two invoices without a quoted number are a habit.
    let t = lessons(None, Some("AB"), &["THANK YOU"], &["INV-2026-0000001", "INV-2026-0000003"]);
    assert_eq!(t, vec![(LearnedKind::CombinedPayments, String::new())]);
    // Quoted (even without the prefix): the references explain the payment, no habit.
    let t = lessons(None, None, &["2026-0000001 and 3"], &["INV-2026-0000001", "INV-2026-0000003"]);
    assert!(t.is_empty(), "{t:?}");
}

/// Acme writes "R<running number>/<year>", which is none of our numbers' forms: a confirmation
/// teaches the shape; confirmed once it proposes Acme's document with that running number, confirmed
/// twice it applies, and it never reads another customer's documents.
#[test]
fn a_learned_reference_format_reads_a_customers_own_way_of_quoting_our_numbers() {
    let taught = lessons(None, None, &["Zahlung R2/26"], &["INV-2026-0000002"]);
    assert!(taught.contains(&(LearnedKind::ReferenceFormat, "R{n}/99".to_string())), "{taught:?}");
    assert!(
        !lessons(None, None, &["INV-2026-0000002"], &["INV-2026-0000002"])
            .iter()
            .any(|(k, _)| *k == LearnedKind::ReferenceFormat),
        "a number the built-in reading knows teaches no format"
    );

    let mut l = line("230.00", None, None);
    l.remittance = Some("Zahlung R0002/26".into());
    let before = engine(Vec::new(), LearnedSettings::default()).match_line(&l);
    assert_ne!(before.decision, Decision::AutoApplied, "{}", before.explanation);
    let format = |n| vec![fact(LearnedKind::ReferenceFormat, "R{n}/99", 1, n, 0)];
    let once = engine(format(1), LearnedSettings::default()).match_line(&l);
    assert_eq!(once.decision, Decision::Proposed, "{}", once.explanation);
    assert_eq!(docs(&once, 0), vec!["INV-2026-0000002"], "{}", once.explanation);
    let twice = engine(format(2), LearnedSettings::default()).match_line(&l);
    assert_eq!(twice.decision, Decision::AutoApplied, "{}", twice.explanation);
    assert_eq!(docs(&twice, 0), vec!["INV-2026-0000002"]);
    let a = &twice.allocations[0];
    assert!(a.evidence.iter().any(|e| e.contains("the customer's own way of quoting our numbers")), "{:?}", a.evidence);
    assert!(
        a.learned_evidence.iter().any(|e| e.contains("quotes our numbers as 'R{n}/99'")),
        "{:?}",
        a.learned_evidence
    );
    // A rejected format is never trusted; another customer's running number 11 is not read.
    let rejected =
        engine(vec![fact(LearnedKind::ReferenceFormat, "R{n}/99", 1, 5, 1)], LearnedSettings::default()).match_line(&l);
    assert_ne!(rejected.decision, Decision::AutoApplied, "{}", rejected.explanation);
    l.remittance = Some("Zahlung R11/26".into());
    let other = engine(format(2), LearnedSettings::default()).match_line(&l);
    assert_ne!(other.decision, Decision::AutoApplied, "{}", other.explanation);
    assert!(
        other.allocations.iter().all(|a| a.evidence.iter().all(|e| !e.contains("own way of quoting"))),
        "{}",
        other.explanation
    );
}
