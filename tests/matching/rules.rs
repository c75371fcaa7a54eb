//! One small, hand-made book per rule: what each rule decides, with what amounts, write-offs and remainder.

use std::str::FromStr;

use chrono::NaiveDate;
use duizhang::domain::cash_application::{
    CustomerInfo, Decision, DocKind, Engine, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem,
};
use rust_decimal::Decimal;
use uuid::Uuid;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, dd).unwrap()
}

const ACME_IBAN: &str = "DE44500105175407324931";
const BETA_IBAN: &str = "FR7630006000011234567890189";

fn cust(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

struct Book {
    items: Vec<OpenItem>,
}

impl Book {
    fn new() -> Self {
        Book { items: Vec::new() }
    }

    fn doc(mut self, kind: DocKind, doc_no: &str, customer: u128, cur: &str, amount: &str, issued: NaiveDate) -> Self {
        let n = self.items.len() as u128;
        self.items.push(OpenItem {
            id: Uuid::from_u128(n + 1),
            customer_id: cust(customer),
            kind,
            doc_no: doc_no.into(),
            currency: cur.into(),
            amount: d(amount),
            open_amount: d(amount),
            issue_date: issued,
            due_date: Some(issued + chrono::Days::new(30)),
            instalments: Box::default(),
        });
        self
    }

    fn inv(self, doc_no: &str, customer: u128, amount: &str) -> Self {
        self.doc(DocKind::Invoice, doc_no, customer, "EUR", amount, day(3, 1))
    }

    fn engine_with(self, settings: MatchSettings) -> Engine {
        let customers = vec![
            CustomerInfo {
                id: cust(1),
                name: "Acme Trading GmbH".into(),
                aliases: vec![],
                bank_accounts: vec![ACME_IBAN.into()],
            },
            CustomerInfo {
                id: cust(2),
                name: "Beta Logistics SARL".into(),
                aliases: vec![],
                bank_accounts: vec![BETA_IBAN.into()],
            },
            CustomerInfo { id: cust(3), name: "Kalomertin Selvo Oy".into(), aliases: vec![], bank_accounts: vec![] },
        ];
        let mut fx = FxRates::new();
        fx.insert("USD", "EUR", d("0.92"));
        fx.insert("GBP", "EUR", d("1.17"));
        Engine::new(customers, self.items, fx, settings)
    }

    fn engine(self) -> Engine {
        self.engine_with(MatchSettings::default())
    }
}

fn line(amount: &str, remittance: &str, iban: Option<&str>, name: Option<&str>) -> LineInput {
    LineInput {
        id: Uuid::from_u128(9_000),
        bank_reference: None,
        booking_date: day(4, 1),
        amount: d(amount),
        currency: "EUR".into(),
        counterparty_name: name.map(Box::from),
        counterparty_iban: iban.map(Box::from),
        remittance: (!remittance.is_empty()).then(|| remittance.into()),
        creditor_reference: None,
        end_to_end_id: None,
        bank_account: None,
        bank_transaction_code: None,
    }
}

fn acme(amount: &str, remittance: &str) -> LineInput {
    line(amount, remittance, Some(ACME_IBAN), Some("ACME TRADING GMBH"))
}

fn applied(o: &LineOutcome) -> Vec<(String, Decimal)> {
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    o.allocations.iter().map(|a| (a.doc_no.clone(), a.amount)).collect()
}

fn rule(o: &LineOutcome) -> &'static str {
    o.allocations[0].rule
}

#[test]
fn exact_reference_applies_and_settles() {
    let mut e = Book::new().inv("INV-2026-0000155", 1, "1200.00").inv("INV-2026-0000156", 1, "80.00").engine();
    let o = e.match_line(&acme("1200.00", "REF INV-2026-0000155 THANK YOU"));
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("1200.00"))]);
    assert_eq!(rule(&o), "reference_exact_amount");
    assert_eq!(o.unapplied_remainder, Decimal::ZERO);
    assert!(o.allocations[0].evidence.iter().any(|e| e.contains("IBAN")), "{:?}", o.allocations[0].evidence);
    assert_eq!(e.items()[0].open_amount, Decimal::ZERO);
    // The same payment again is a duplicate: never applied, and said so.
    let again = e.match_line(&acme("1200.00", "REF INV-2026-0000155 THANK YOU"));
    assert_ne!(again.decision, Decision::AutoApplied);
    assert!(again.explanation.contains("duplicate"), "{}", again.explanation);
}

#[test]
fn noisy_reference_shapes() {
    for text in ["INV2026155", "inv 2026/0000155", "2026-0000155", "PMT INV 2026 0000155", "payment inv-2026-0000155"] {
        let mut e = Book::new().inv("INV-2026-0000155", 1, "1200.00").inv("INV-2026-0000551", 1, "99.00").engine();
        let o = e.match_line(&acme("1200.00", text));
        assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("1200.00"))], "{text}");
    }
    // A running number alone needs the payer to agree.
    let mut e = Book::new().inv("INV-2026-0000155", 1, "1200.00").engine();
    assert_eq!(e.match_line(&acme("1200.00", "Rechnung 155")).decision, Decision::AutoApplied);
    let mut e = Book::new().inv("INV-2026-0000155", 1, "1200.00").engine();
    assert_eq!(e.match_line(&line("1200.00", "Rechnung 155", None, None)).decision, Decision::Proposed);
}

#[test]
fn creditor_reference_field() {
    let mut e = Book::new().inv("INV-2026-0000155", 1, "1200.00").engine();
    let mut l = line("1200.00", "", None, None);
    // ISO 11649 reference built from the document number, check digits valid.
    l.creditor_reference = Some("RF93INV20260000155".into());
    assert!(duizhang::domain::cash_application::is_valid_creditor_reference("RF93INV20260000155"));
    assert_eq!(applied(&e.match_line(&l)).len(), 1);
}

#[test]
fn transposed_digits_with_payer() {
    let mut e = Book::new().inv("INV-2026-0000123", 1, "640.00").inv("INV-2026-0000132", 2, "9000.00").engine();
    let o = e.match_line(&acme("640.00", "INV-2026-0000132"));
    assert_eq!(applied(&o), vec![("INV-2026-0000123".to_string(), d("640.00"))]);
    assert_eq!(rule(&o), "transposed_digits");
}

#[test]
fn combined_with_credit_note_and_missing_reference() {
    let book = || {
        Book::new()
            .inv("INV-2026-0000001", 1, "1000.00")
            .inv("INV-2026-0000002", 1, "500.00")
            .inv("INV-2026-0000003", 1, "250.00")
            .doc(DocKind::CreditNote, "CN-2026-0000001", 1, "EUR", "100.00", day(3, 2))
    };
    let mut e = book().engine();
    let o = e.match_line(&acme("1400.00", "INV-2026-0000001 INV-2026-0000002 less CN-2026-0000001"));
    let mut got = applied(&o);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("CN-2026-0000001".to_string(), d("-100.00")),
            ("INV-2026-0000001".to_string(), d("1000.00")),
            ("INV-2026-0000002".to_string(), d("500.00")),
        ]
    );
    assert_eq!(rule(&o), "combined_references");
    // All but one quoted: the rest equals exactly one open item of the customer.
    let mut e = book().engine();
    let o = e.match_line(&acme("1750.00", "INV-2026-0000001;INV-2026-0000002"));
    assert_eq!(applied(&o).len(), 3);
}

#[test]
fn partial_split_fee_discount_overpayment() {
    let mut e = Book::new().inv("INV-2026-0000010", 1, "1000.00").engine();
    let o = e.match_line(&acme("400.00", "partial INV-2026-0000010"));
    assert_eq!(applied(&o), vec![("INV-2026-0000010".to_string(), d("400.00"))]);
    assert_eq!(rule(&o), "partial_payment");
    let o = e.match_line(&acme("600.00", "INV-2026-0000010"));
    assert_eq!(rule(&o), "reference_exact_amount", "the rest now equals the open amount");

    let mut e = Book::new().inv("INV-2026-0000011", 1, "1000.00").engine();
    let o = e.match_line(&acme("992.50", "INV-2026-0000011"));
    assert_eq!(applied(&o), vec![("INV-2026-0000011".to_string(), d("992.50"))]);
    assert_eq!(rule(&o), "short_payment_fee");
    assert_eq!((o.write_offs[0].amount, o.write_offs[0].reason.as_str()), (d("7.50"), "bank_fee"));
    assert_eq!(e.items()[0].open_amount, Decimal::ZERO);

    // 2% of 5000 is 100: above the 25.00 fee tolerance, but a stated early-payment discount.
    let mut e = Book::new().inv("INV-2026-0000012", 1, "5000.00").engine();
    let o = e.match_line(&acme("4900.00", "INV-2026-0000012 less 2% skonto"));
    assert_eq!(rule(&o), "early_payment_discount");
    assert_eq!((o.write_offs[0].amount, o.write_offs[0].reason.as_str()), (d("100.00"), "discount"));

    let mut e = Book::new().inv("INV-2026-0000013", 1, "300.00").engine();
    let o = e.match_line(&acme("312.34", "INV-2026-0000013"));
    assert_eq!(applied(&o), vec![("INV-2026-0000013".to_string(), d("300.00"))]);
    assert_eq!(rule(&o), "overpayment");
    assert_eq!(o.unapplied_remainder, d("12.34"));
}

#[test]
fn foreign_currency_document() {
    let mut e = Book::new().doc(DocKind::Invoice, "INV-2026-0000020", 1, "USD", "1000.00", day(3, 1)).engine();
    // 1000 USD at 0.92 = 920 EUR; 925 EUR is 0.5% off, inside 1.5%.
    let o = e.match_line(&acme("925.00", "Invoice INV-2026-0000020"));
    assert_eq!(applied(&o), vec![("INV-2026-0000020".to_string(), d("1000.00"))]);
    assert_eq!(rule(&o), "foreign_currency");
    assert_eq!(o.allocations[0].line_amount, d("925.00"));
    assert_eq!(o.allocations[0].fx_rate, Some(d("0.92")));
}

#[test]
fn amount_and_payer_without_reference() {
    let mut e = Book::new().inv("INV-2026-0000030", 1, "777.70").inv("INV-2026-0000031", 1, "10.00").engine();
    let o = e.match_line(&acme("777.70", "SEPA CREDIT TRANSFER"));
    assert_eq!(applied(&o), vec![("INV-2026-0000030".to_string(), d("777.70"))]);
    assert_eq!(rule(&o), "amount_and_payer");
    // By name only, the same is a proposal.
    let mut e = Book::new().doc(DocKind::Invoice, "INV-2026-0000032", 3, "EUR", "777.70", day(3, 1)).engine();
    let o = e.match_line(&line("777.70", "", None, Some("KALOMERTIN SELVO")));
    assert_eq!(o.decision, Decision::Proposed);
    assert_eq!(o.allocations[0].doc_no, "INV-2026-0000032");
}

#[test]
fn equal_open_items_are_proposed_oldest_first() {
    let book = || {
        Book::new().doc(DocKind::Invoice, "INV-2026-0000041", 1, "EUR", "500.00", day(3, 20)).doc(
            DocKind::Invoice,
            "INV-2026-0000040",
            1,
            "EUR",
            "500.00",
            day(2, 1),
        )
    };
    let mut e = book().engine();
    let o = e.match_line(&acme("500.00", ""));
    assert_eq!(o.decision, Decision::Proposed);
    let set0: Vec<&str> = o.allocations.iter().filter(|a| a.set == 0).map(|a| a.doc_no.as_str()).collect();
    assert_eq!(set0, vec!["INV-2026-0000040"]);
    assert!(o.allocations.iter().any(|a| a.set == 1 && a.doc_no == "INV-2026-0000041"));
    let mut e = book().engine_with(MatchSettings { auto_apply_oldest_first: true, ..MatchSettings::default() });
    let o = e.match_line(&acme("500.00", ""));
    assert_eq!(applied(&o), vec![("INV-2026-0000040".to_string(), d("500.00"))]);
}

#[test]
fn subset_sum_is_only_proposed() {
    let book = Book::new().inv("INV-2026-0000050", 1, "120.00").inv("INV-2026-0000051", 1, "80.00");
    let mut e = book.inv("INV-2026-0000052", 1, "999.00").engine();
    let o = e.match_line(&acme("200.00", ""));
    assert_eq!(o.decision, Decision::Proposed);
    assert_eq!(rule(&o), "subset_sum");
    assert_eq!(o.allocations.iter().filter(|a| a.set == 0).count(), 2);
}

#[test]
fn lines_that_must_not_be_applied() {
    let mut e = Book::new().inv("INV-2026-0000060", 1, "250.00").engine();
    // Not a customer receipt.
    assert_eq!(e.match_line(&acme("-250.00", "INV-2026-0000060")).decision, Decision::Unmatched);
    // Noise with no reference and no known payer, even with an amount that exists in the book.
    assert_eq!(e.match_line(&line("250.00", "INTEREST CREDIT", None, Some("BANK"))).decision, Decision::Unmatched);
    // Exact reference, but the paying IBAN belongs to another customer: a person decides.
    let o = e.match_line(&line("250.00", "INV-2026-0000060", Some(BETA_IBAN), Some("BETA LOGISTICS")));
    assert_eq!(o.decision, Decision::Proposed);
    assert_eq!(e.items()[0].open_amount, d("250.00"));
}

/// An invoice of 1000.00 due in 300.00 (March), 300.00 (April) and 400.00 (May).
fn with_plan(book: Book) -> Book {
    let mut book = book;
    let plan = [(day(3, 31), "300.00"), (day(4, 30), "300.00"), (day(5, 31), "400.00")];
    book.items[0].instalments = plan
        .iter()
        .zip(1..)
        .map(|((due, amount), seq)| duizhang::domain::instalments::Instalment {
            seq,
            due_date: *due,
            amount: d(amount),
        })
        .collect();
    book
}

#[test]
fn a_payment_of_the_next_instalment_is_exact_not_partial() {
    let mut e = with_plan(Book::new().inv("INV-2026-0000300", 1, "1000.00")).engine();
    let first = e.match_line(&line("300.00", "INV-2026-0000300 1st instalment", None, None));
    assert_eq!(applied(&first), vec![("INV-2026-0000300".to_string(), d("300.00"))]);
    assert_eq!(rule(&first), "instalment_exact_amount");
    let second = e.match_line(&acme("300.00", "INV-2026-0000300"));
    assert_eq!(rule(&second), "instalment_exact_amount");
    assert!(
        second.allocations[0].evidence.iter().any(|e| e.contains("instalment 2 of 3 due 2026-04-30")),
        "{:?}",
        second.allocations[0].evidence
    );
    assert_eq!(e.items()[0].open_amount, d("400.00"));
    // Without a reference, the payer's IBAN and the amount of the next instalment.
    let mut e = with_plan(Book::new().inv("INV-2026-0000300", 1, "1000.00")).engine();
    let o = e.match_line(&acme("300.00", ""));
    assert_eq!(applied(&o), vec![("INV-2026-0000300".to_string(), d("300.00"))]);
    assert!(
        o.allocations[0].evidence.iter().any(|e| e.contains("instalment 1 of 3")),
        "{:?}",
        o.allocations[0].evidence
    );
}

#[test]
fn an_amount_that_is_not_the_next_instalment_stays_a_part_payment() {
    // 400.00 is the last instalment, but the first two are still open: a part payment as before.
    let mut e = with_plan(Book::new().inv("INV-2026-0000300", 1, "1000.00")).engine();
    let o = e.match_line(&line("400.00", "INV-2026-0000300", None, None));
    assert_ne!(o.allocations.first().map(|a| a.rule), Some("instalment_exact_amount"), "{}", o.explanation);
    // The first two together are exact.
    let mut e = with_plan(Book::new().inv("INV-2026-0000300", 1, "1000.00")).engine();
    let o = e.match_line(&line("600.00", "INV-2026-0000300", None, None));
    assert_eq!(rule(&o), "instalment_exact_amount");
    assert!(
        o.allocations[0].evidence.iter().any(|e| e.contains("instalments 1-2 of 3")),
        "{:?}",
        o.allocations[0].evidence
    );
}
