use super::*;
use std::collections::{HashMap, HashSet};

fn small(seed: u64) -> Dataset {
    generate(&Options { lines: 1500, statements: 6, seed, ..Options::default() })
}

#[test]
fn a_seed_gives_the_same_files_and_another_seed_other_files() {
    let a = render::csv_files(&small(11));
    assert_eq!(a, render::csv_files(&small(11)));
    assert_ne!(a, render::csv_files(&small(12)));
}

#[test]
fn the_truth_adds_up_line_by_line() {
    let data = small(5);
    assert!(data.bank.len() >= 1500 && data.bank.len() <= 1501);
    let docs: HashMap<&str, &Document> = data.ledger.iter().map(|d| (d.doc_no.as_str(), d)).collect();
    assert_eq!(docs.len(), data.ledger.len(), "document numbers are unique");
    let lines: HashMap<&str, &BankLine> = data.bank.iter().map(|l| (l.line_id.as_str(), l)).collect();
    assert_eq!(lines.len(), data.bank.len());
    assert_eq!(data.truth_lines.len(), data.bank.len(), "one truth row per line");
    let mut allocated: HashMap<&str, Decimal> = HashMap::new();
    for a in &data.truth_allocations {
        let doc = docs[a.doc_no.as_str()];
        let line = lines[a.line_id.as_str()];
        assert!(doc.customer_code.starts_with('C'), "{a:?}");
        if a.scenario != Scenario::ForeignCurrency {
            assert_eq!(doc.currency, line.currency, "{a:?}");
            *allocated.entry(&a.line_id).or_default() += a.amount;
        }
    }
    for t in &data.truth_lines {
        let line = lines[t.line_id.as_str()];
        assert_eq!(t.applied, data.truth_allocations.iter().any(|a| a.line_id == t.line_id));
        match t.scenario {
            Scenario::ForeignCurrency => assert_ne!(line.currency, docs_currency(&data, &t.line_id)),
            Scenario::NoOwner => assert!(!t.applied && line.counterparty_iban.is_empty()),
            Scenario::DuplicatePayment => assert!(!t.applied && t.difference == line.amount),
            // The whole payment settles the item; the difference is what the item was short of.
            Scenario::ShortBankFee | Scenario::EarlyPaymentDiscount => {
                assert_eq!(allocated[t.line_id.as_str()], line.amount, "{t:?}");
                assert!(t.difference < Decimal::ZERO, "{t:?}");
            }
            // What is applied plus what is left over is what the bank paid.
            _ => assert_eq!(allocated[t.line_id.as_str()] + t.difference, line.amount, "{t:?}"),
        }
    }
    // Every scenario of the mix occurs, and exact payments dominate as in the mix.
    let seen: HashSet<Scenario> = data.truth_lines.iter().map(|t| t.scenario).collect();
    for (s, _) in cash_application::DEFAULT_MIX {
        assert!(seen.contains(&s), "{s:?}");
    }
    assert!(seen.contains(&Scenario::CombinedWithCreditNote));
    let exact = data.truth_lines.iter().filter(|t| t.scenario == Scenario::Exact).count();
    assert!((600..1000).contains(&exact), "{exact}");
}

fn docs_currency(data: &Dataset, line_id: &str) -> Currency {
    let doc_no = &data.truth_allocations.iter().find(|a| a.line_id == line_id).expect("allocated").doc_no;
    data.ledger.iter().find(|d| &d.doc_no == doc_no).expect("document").currency
}

#[test]
fn files_are_ordered_and_amounts_carry_the_minor_unit() {
    let data = small(8);
    assert!(data.bank.windows(2).all(|w| w[0].booking_date <= w[1].booking_date));
    assert!(data.ledger.windows(2).all(|w| (w[0].issue_date, &w[0].doc_no) <= (w[1].issue_date, &w[1].doc_no)));
    for l in &data.bank {
        assert_eq!(l.amount.scale(), l.currency.minor_units(), "{l:?}");
        assert!(l.value_date >= l.booking_date);
        assert_eq!(l.account_iban, l.currency.our_account());
    }
    for d in &data.ledger {
        assert_eq!(d.amount.scale(), d.currency.minor_units(), "{d:?}");
        assert!(d.amount > Decimal::ZERO && d.due_date > d.issue_date);
    }
    let chinese = data.customers.iter().filter(|c| !c.name.is_ascii()).count();
    assert!(chinese > 0);
}

#[test]
fn planted_statement_differences_match_the_statement_rows() {
    let data = generate(&Options { lines: 100, statements: 30, seed: 21, ..Options::default() });
    let rows_of = |code: &str, our_ref: &str| {
        data.statements
            .iter()
            .filter(|s| s.customer_code == code && s.our_ref == our_ref && s.kind == DocType::Invoice)
            .count()
    };
    let mut kinds = HashSet::new();
    for d in &data.truth_differences {
        kinds.insert(d.kind);
        match d.kind {
            StatementDifferenceKind::MissingOnCustomerSide => assert_eq!(rows_of(&d.customer_code, &d.our_ref), 0),
            StatementDifferenceKind::DuplicateOnCustomerSide => assert_eq!(rows_of(&d.customer_code, &d.our_ref), 2),
            StatementDifferenceKind::AmountMismatch => {
                assert_ne!(d.our_amount, d.their_amount);
                assert_eq!(rows_of(&d.customer_code, &d.our_ref), 1);
            }
            StatementDifferenceKind::DateMismatch => unreachable!("only with cause cases"),
            StatementDifferenceKind::MissingOnOurSide => {
                assert!(!data.ledger.iter().any(|doc| doc.reference == d.their_ref));
                assert!(data.statements.iter().any(|s| s.their_ref == d.their_ref && s.kind == DocType::Payment));
            }
        }
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    // Every booked payment of a statement is in our ledger under the customer's reference.
    let booked: HashSet<&str> = data.ledger.iter().map(|d| d.reference.as_str()).collect();
    let not_booked: HashSet<&str> = data.truth_differences.iter().map(|d| d.their_ref.as_str()).collect();
    for s in data.statements.iter().filter(|s| s.kind == DocType::Payment) {
        assert!(booked.contains(s.their_ref.as_str()) ^ not_booked.contains(s.their_ref.as_str()), "{s:?}");
    }
}

#[test]
fn statements_parse_back_with_the_lines_and_balances() {
    use crate::bank_formats::{parse, CollectSink, Format};
    let data = generate(&Options { lines: 300, statements: 1, seed: 3, ..Options::default() });
    for (format, files) in
        [(Format::Camt053, render::camt053(&data.bank, 50)), (Format::Mt940, render::mt940(&data.bank, 50))]
    {
        let mut sink = CollectSink::default();
        for f in &files {
            let summary = parse(format, f.as_bytes(), None, &mut sink).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert!(summary.warnings.is_empty(), "{format:?}: {:?}", summary.warnings);
        }
        let parsed: HashMap<String, _> =
            sink.lines().map(|l| (l.bank_reference.clone().expect("bank reference"), l.clone())).collect();
        assert_eq!(parsed.len(), data.bank.len(), "{format:?}");
        for l in &data.bank {
            let p = &parsed[&l.line_id];
            assert_eq!((p.amount, p.booking_date, p.value_date), (l.amount, l.booking_date, Some(l.value_date)));
            assert_eq!(p.counterparty_name.as_deref().unwrap_or(""), l.counterparty_name, "{format:?}");
            assert_eq!(p.counterparty_iban.as_deref().unwrap_or(""), l.counterparty_iban, "{format:?}");
            let text = p.remittance.clone().or(p.creditor_reference.clone()).unwrap_or_default();
            assert_eq!(text, l.remittance, "{format:?} {}", l.line_id);
        }
    }
}

#[test]
fn habits_change_the_statements_only_and_every_file_reads_back_with_its_mapping() {
    let options = Options { lines: 200, statements: 25, seed: 4, habits: true, ..Options::default() };
    let with = generate(&options);
    let without = generate(&Options { habits: false, ..options.clone() });
    // The same bank lines (their order within a day is drawn after the statements).
    let sorted = |d: &Dataset| {
        let mut b = d.bank.clone();
        b.sort_by(|x, y| x.line_id.cmp(&y.line_id));
        b
    };
    assert!(sorted(&with) == sorted(&without), "the cash-application part does not depend on habits");
    assert_eq!(render::csv_files(&with), render::csv_files(&generate(&options)));
    assert_eq!(with.statement_habits.len(), 25);
    let files: HashMap<String, Vec<u8>> = render_habits::statement_files(&with).into_iter().collect();
    let mut languages = HashSet::new();
    for h in &with.statement_habits {
        languages.insert(h.language);
        let rows: Vec<&StatementRow> = with.statements.iter().filter(|s| s.customer_code == h.customer_code).collect();
        let body = &files[&format!("statements/{}.csv", h.customer_code)];
        let read = crate::statement_formats::read_csv(body, &render_habits::mapping(h), None)
            .unwrap_or_else(|e| panic!("{}: {e:?}", h.customer_code));
        assert_eq!(read.lines.len(), rows.len(), "{h:?}");
        let side = read.invoices.unwrap_or(crate::statement_formats::Side::Credit);
        let mut got: Vec<(chrono::NaiveDate, Decimal)> =
            read.lines.iter().zip(read.resolve(side)).map(|(l, r)| (l.date, r.amount.abs())).collect();
        let mut want: Vec<(chrono::NaiveDate, Decimal)> = rows.iter().map(|r| (r.date, r.amount)).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{h:?}");
    }
    assert!(languages.len() >= 3, "{languages:?}");
    // Ground truth names lines as the files show them.
    for t in &with.truth_differences {
        if !t.their_ref.is_empty() {
            assert!(
                with.statements.iter().any(|s| s.customer_code == t.customer_code && s.their_ref == t.their_ref),
                "{t:?}"
            );
        }
    }
}

fn two_months(seed: u64) -> Vec<Dataset> {
    generate_months(&Options { lines: 3000, statements: 3, seed, months: 2, ..Options::default() })
}

#[test]
fn one_month_is_the_data_set_of_before_and_two_months_are_deterministic() {
    let one = Options { lines: 600, statements: 3, seed: 9, ..Options::default() };
    assert_eq!(render::csv_files(&generate(&one)), render::csv_files(&generate_months(&one)[0]));
    assert!(generate(&one).payment_habits.is_empty());
    let a = two_months(31);
    let b = two_months(31);
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(render::csv_files(x), render::csv_files(y));
        assert_eq!(render::payment_habits_csv(x), render::payment_habits_csv(y));
    }
    assert_eq!(render::csv_files(&generate(&Options { months: 2, ..one.clone() })), {
        let m = generate_months(&Options { months: 2, ..one });
        render::csv_files(&m[0])
    });
}

/// Each month's truth adds up on its own lines; a later month may settle an earlier month's
/// invoices, never one of a later month; ids are unique across months.
#[test]
fn the_truth_of_two_months_adds_up_and_names_documents_already_issued() {
    let months = two_months(32);
    let mut docs: HashMap<String, (usize, Document)> = HashMap::new();
    let mut lines: HashSet<String> = HashSet::new();
    for (m, data) in months.iter().enumerate() {
        assert_eq!(data.customers, months[0].customers, "the same customers every month");
        assert_eq!(data.payment_habits, months[0].payment_habits);
        for d in &data.ledger {
            assert!(docs.insert(d.doc_no.clone(), (m, d.clone())).is_none(), "{} twice", d.doc_no);
        }
        assert!(data.bank.len() >= 3000 && data.bank.len() <= 3001);
        for l in &data.bank {
            assert!(lines.insert(l.line_id.clone()), "{} twice", l.line_id);
        }
        let mut allocated: HashMap<&str, Decimal> = HashMap::new();
        for a in &data.truth_allocations {
            let (issued_in, doc) = &docs[&a.doc_no];
            assert!(*issued_in <= m, "{a:?} pays a later month's document");
            let line = data.bank.iter().find(|l| l.line_id == a.line_id).expect("line of the month");
            // A combined payment is dated after its last invoice falls due, not after every issue.
            if !matches!(a.scenario, Scenario::Combined | Scenario::CombinedWithCreditNote) {
                assert!(line.booking_date >= doc.issue_date, "{a:?}");
            }
            if a.scenario != Scenario::ForeignCurrency {
                *allocated.entry(&a.line_id).or_default() += a.amount;
            }
        }
        for t in data.truth_lines.iter().filter(|t| t.applied && t.difference == Decimal::ZERO) {
            let line = data.bank.iter().find(|l| l.line_id == t.line_id).expect("line");
            if t.scenario != Scenario::ForeignCurrency {
                assert_eq!(allocated[t.line_id.as_str()], line.amount, "{t:?}");
            }
        }
    }
    let period = Period::default();
    let second_start = period.start + chrono::Days::new(period.days as u64);
    assert!(months[1].bank.iter().all(|l| l.booking_date >= second_start));
    let earlier: HashSet<&str> = months[0].ledger.iter().map(|d| d.doc_no.as_str()).collect();
    assert!(months[1].truth_allocations.iter().any(|a| earlier.contains(a.doc_no.as_str())), "late payments");
}

/// The habits are drawn once and show in both months, as a person would learn them.
#[test]
fn payment_habits_repeat_in_the_second_month() {
    let months = two_months(33);
    let habits = &months[0].payment_habits;
    let kinds: HashSet<&str> = habits.iter().map(|h| h.habit.as_str()).collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    let master_ibans: HashSet<&str> = months[0].customers.iter().filter_map(|c| c.iban.as_deref()).collect();
    for scenario in [Scenario::ThirdPartyPayer, Scenario::BulkWithoutReference, Scenario::PurchaseOrder] {
        for data in &months {
            assert!(data.truth_lines.iter().any(|t| t.scenario == scenario), "{scenario:?}");
        }
    }
    for data in &months {
        let docs: HashMap<&str, &Document> = data.ledger.iter().map(|d| (d.doc_no.as_str(), d)).collect();
        for t in &data.truth_lines {
            let line = data.bank.iter().find(|l| l.line_id == t.line_id).expect("line");
            let allocs: Vec<&TruthAllocation> =
                data.truth_allocations.iter().filter(|a| a.line_id == t.line_id).collect();
            match t.scenario {
                Scenario::ThirdPartyPayer => {
                    assert!(!master_ibans.contains(line.counterparty_iban.as_str()), "{line:?}");
                    assert!(!line.counterparty_iban.is_empty());
                }
                Scenario::BulkWithoutReference => {
                    assert!(allocs.len() >= 2, "{line:?}");
                    assert!(!line.remittance.contains("INV"), "{line:?}");
                }
                Scenario::PurchaseOrder => {
                    // The invoice may be of the first month.
                    if let Some(doc) = docs.get(allocs[0].doc_no.as_str()) {
                        assert!(line.remittance.contains(&doc.reference), "{line:?} {doc:?}");
                    }
                    assert!(!line.remittance.contains("INV"), "{line:?}");
                }
                _ => {}
            }
        }
    }
    // Every habit customer that paid its way in the first month does so in the second.
    let paid_its_way = |data: &Dataset| -> HashSet<String> {
        let docs: HashMap<&str, &str> = months
            .iter()
            .flat_map(|m| m.ledger.iter().map(|d| (d.doc_no.as_str(), d.customer_code.as_str())))
            .collect();
        let habit_lines: HashSet<&str> = data
            .truth_lines
            .iter()
            .filter(|t| {
                matches!(
                    t.scenario,
                    Scenario::ThirdPartyPayer | Scenario::BulkWithoutReference | Scenario::PurchaseOrder
                )
            })
            .map(|t| t.line_id.as_str())
            .collect();
        data.truth_allocations
            .iter()
            .filter(|a| habit_lines.contains(a.line_id.as_str()))
            .map(|a| docs[a.doc_no.as_str()].to_string())
            .collect()
    };
    let (first, second) = (paid_its_way(&months[0]), paid_its_way(&months[1]));
    let habit_customers: HashSet<String> = habits.iter().map(|h| h.customer_code.clone()).collect();
    assert!(first.is_subset(&habit_customers) && second.is_subset(&habit_customers));
    let repeated = first.intersection(&second).count();
    assert!(repeated * 10 >= first.len() * 8, "{repeated} of {}", first.len());
    // Duplicates of invoices settled in the first month stay unapplied.
    let settled: HashSet<&str> = months[0].truth_allocations.iter().map(|a| a.doc_no.as_str()).collect();
    let again = months[1]
        .truth_lines
        .iter()
        .filter(|t| t.scenario == Scenario::DuplicatePayment && !t.applied)
        .filter(|t| {
            let line = months[1].bank.iter().find(|l| l.line_id == t.line_id).expect("line");
            settled.iter().any(|d| line.remittance.contains(d))
        })
        .count();
    assert!(again > 0);
}
