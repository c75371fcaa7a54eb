use super::*;
use std::str::FromStr;
use DifferenceKind::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn ours(kind: DocType, no: &str, on: &str, amount: &str, reference: Option<&str>) -> OurItem {
    OurItem {
        kind,
        doc_no: no.into(),
        date: date(on),
        amount: d(amount),
        currency: "EUR".into(),
        reference: reference.map(str::to_string),
        settles: vec![],
        tax_groups: vec![],
    }
}
fn theirs(kind: DocType, their: &str, our: Option<&str>, on: &str, amount: &str) -> TheirItem {
    TheirItem {
        their_ref: their.into(),
        our_ref: our.map(str::to_string),
        text: String::new(),
        date: date(on),
        kind,
        kind_inferred: false,
        amount: d(amount),
        currency: "EUR".into(),
    }
}
fn with_text(mut t: TheirItem, text: &str) -> TheirItem {
    t.text = text.into();
    t
}
fn inv(no: &str, on: &str, amount: &str) -> OurItem {
    ours(DocType::Invoice, no, on, amount, None)
}

/// Compares and checks the invariant every comparison keeps: each line and item is paired once
/// or in exactly one difference, and the differences explain the balances to the cent.
fn check(our: &[OurItem], their: &[TheirItem]) -> Comparison {
    let c = compare(our, their, 7);
    let mut their_seen = vec![0; their.len()];
    let mut our_seen = vec![0; our.len()];
    for p in &c.pairs {
        p.theirs.iter().for_each(|&t| their_seen[t] += 1);
        p.ours.iter().for_each(|&o| our_seen[o] += 1);
    }
    for x in c.differences.iter().filter(|x| matches!(x.kind, MissingOnOurSide | DuplicateOnCustomerSide)) {
        their_seen[x.theirs.unwrap()] += 1;
    }
    for x in c.differences.iter().filter(|x| matches!(x.kind, MissingOnCustomerSide | DuplicateOnOurSide)) {
        our_seen[x.ours.unwrap()] += 1;
    }
    assert!(their_seen.iter().all(|&n| n == 1), "{their_seen:?} {c:#?}");
    assert!(our_seen.iter().all(|&n| n == 1), "{our_seen:?} {c:#?}");
    for b in &c.balances {
        assert!(b.unexplained.is_zero(), "{b:?}");
    }
    c
}

fn kinds(c: &Comparison) -> Vec<DifferenceKind> {
    c.differences.iter().map(|x| x.kind).collect()
}

#[test]
fn references_normalise() {
    assert_eq!(normalise_ref("inv 2026/00123"), normalise_ref("INV-2026-123"));
    assert_eq!(normalise_ref("A-000"), "A0");
    assert_ne!(normalise_ref("INV-1"), normalise_ref("INV-10"));
    assert_eq!(normalise_ref("INV-2026-0002887"), "INV20262887");
}

#[test]
fn transpositions_and_shifts_are_named() {
    assert!(digits_transposed(d("1234.50"), d("1243.50")));
    assert!(digits_transposed(d("8048.75"), d("848.75")));
    assert!(!digits_transposed(d("1234.50"), d("1234.05") + d("1")));
    assert!(explain::decimal_shifted(d("1234.50"), d("123.45")));
    let o = ours(DocType::Invoice, "INV-7", "2026-01-01", "1234.50", None);
    let t = theirs(DocType::Invoice, "AP1", Some("INV-7"), "2026-01-01", "1243.50");
    assert_eq!(
        explain_amounts(&o, &t),
        "they recorded 1,243.50 EUR for INV-7; we invoiced 1,234.50 EUR: digits transposed"
    );
}

#[test]
fn finds_every_kind_and_explains_the_whole_gap() {
    let our = vec![
        ours(DocType::Invoice, "INV-1", "2026-01-05", "100.00", None), // agreed
        ours(DocType::Invoice, "INV-2", "2026-01-06", "200.00", None), // amount mismatch
        ours(DocType::Invoice, "INV-3", "2026-01-07", "300.00", None), // missing on theirs
        ours(DocType::Invoice, "INV-4", "2026-01-08", "400.00", None), // duplicated by them
        ours(DocType::Payment, "PAY-1", "2026-02-01", "100.00", Some("PMT9")), // agreed by their ref
        ours(DocType::Invoice, "INV-5", "2026-01-09", "50.00", None),  // date mismatch
        ours(DocType::Payment, "PAY-2", "2026-02-03", "75.00", Some("X1")), // duplicate on our side
        ours(DocType::Payment, "PAY-3", "2026-02-03", "75.00", Some("X1")),
    ];
    let their = vec![
        theirs(DocType::Invoice, "AP1", Some("inv 1"), "2026-01-06", "100.00"),
        theirs(DocType::Invoice, "AP2", Some("INV-2"), "2026-01-06", "2000.00"),
        theirs(DocType::Invoice, "AP4", Some("INV-4"), "2026-01-08", "400.00"),
        theirs(DocType::Invoice, "AP4", Some("INV-4"), "2026-01-09", "400.00"),
        theirs(DocType::Payment, "PMT9", Some("INV-1"), "2026-01-31", "100.00"),
        theirs(DocType::Payment, "PMT5", Some("INV-2"), "2026-02-02", "200.00"), // missing on ours
        theirs(DocType::Invoice, "AP5", Some("INV-5"), "2026-03-30", "50.00"),
        theirs(DocType::Payment, "X1", None, "2026-02-03", "75.00"),
    ];
    let c = check(&our, &their);
    let found = kinds(&c);
    for k in [
        AmountMismatch,
        MissingOnCustomerSide,
        DuplicateOnCustomerSide,
        MissingOnOurSide,
        DateMismatch,
        DuplicateOnOurSide,
    ] {
        assert_eq!(found.iter().filter(|&&x| x == k).count(), 1, "{k:?} in {found:?}");
    }
    assert_eq!(c.differences.len(), 6);
    let dup = c.differences.iter().find(|x| x.kind == DuplicateOnCustomerSide).unwrap();
    assert_eq!(dup.ours, Some(3));
    let eur = &c.balances[0];
    // ours: 100+200+300+400+50-100-75-75 = 800; theirs: 100+2000+400+400+50-100-200-75 = 2575
    assert_eq!((eur.ours, eur.theirs), (d("800.00"), d("2575.00")));
    assert_eq!(eur.differences, eur.ours - eur.theirs);
}

#[test]
fn a_line_naming_a_document_we_lack_is_not_paired_by_amount() {
    let our = vec![inv("INV-9", "2026-01-05", "100.00")];
    let their = vec![theirs(DocType::Invoice, "AP1", Some("INV-8"), "2026-01-05", "100.00")];
    let c = check(&our, &their);
    assert!(c.pairs.is_empty());
    assert_eq!(kinds(&c), [MissingOnOurSide, MissingOnCustomerSide]);
}

/// Our numbers as customers write them in their own reference or text columns, with `our_ref`
/// empty: every one pairs, and the weak readings say how they were read.
#[test]
fn our_number_is_found_however_they_write_it() {
    let our = vec![
        inv("INV-2026-0000155", "2026-03-01", "100.00"),
        inv("INV-2026-0000156", "2026-03-02", "200.00"),
        inv("INV-2026-0000157", "2026-03-03", "300.00"),
        inv("INV-2026-0000158", "2026-03-04", "400.00"),
        inv("INV-2026-0000159", "2026-03-05", "500.00"),
        inv("INV-2026-0000160", "2026-03-06", "600.00"),
        inv("INV-2026-0000161", "2026-03-07", "700.00"),
        inv("INV-2026-0000162", "2026-03-08", "800.00"),
        ours(DocType::Invoice, "INV-2026-0000163", "2026-03-09", "900.00", Some("PO-4500012345")),
    ];
    let t = |their: &str, text: &str, on: &str, amount: &str| {
        with_text(theirs(DocType::Invoice, their, None, on, amount), text)
    };
    let their = vec![
        t("AP1001", "Rechnung INV-2026-0000155 Wareneingang", "2026-03-02", "100.00"),
        t("inv 2026/0000156", "", "2026-03-03", "200.00"),
        t("AP1003", "INV2026157", "2026-03-04", "300.00"),
        t("AP1004", "Lieferung 2026-0000158", "2026-03-05", "400.00"),
        t("RF82INV20260000159", "", "2026-03-06", "500.00"),
        t("AP1006", "Rechnung Nr. 160", "2026-03-07", "600.00"),
        t("AP1007", "INV-161", "2026-03-08", "700.00"),
        t("AP1008", "INV-2026-0000126", "2026-03-09", "800.00"),
        t("AP1009", "Bestellung PO 4500012345", "2026-03-10", "900.00"),
    ];
    let c = check(&our, &their);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    assert_eq!(c.pairs.len(), 9);
    let pair_of = |t: usize| c.pairs.iter().find(|p| p.theirs == [t]).unwrap();
    for t in 0..9 {
        assert_eq!(pair_of(t).ours, [t], "line {t}: {:?}", pair_of(t));
    }
    assert_eq!(pair_of(0).rule, MatchRule::QuotedReference);
    assert!(!pair_of(0).fuzzy);
    assert!(pair_of(2).explanation.contains("(prefix or leading zeros missing)"), "{:?}", pair_of(2));
    assert!(pair_of(5).explanation.contains("found as '160' in their text (running number only)"), "{:?}", pair_of(5));
    assert!(pair_of(6).fuzzy && pair_of(6).rule == MatchRule::FuzzyReference);
    assert!(pair_of(7).explanation.contains("(two adjacent digits swapped)"), "{:?}", pair_of(7));
    assert_eq!(pair_of(8).rule, MatchRule::TheirReference);
    assert!(pair_of(8).explanation.contains("PO-4500012345"), "{:?}", pair_of(8));
}

/// Their own voucher numbers ("AP160") are not our running numbers.
#[test]
fn their_own_numbering_is_not_read_as_ours() {
    let our = vec![inv("INV-2026-0000160", "2026-03-06", "600.00")];
    let their = vec![theirs(DocType::Invoice, "AP160", None, "2026-03-07", "650.00")];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [MissingOnOurSide, MissingOnCustomerSide]);
}

#[test]
fn an_amount_mismatch_is_one_difference_even_through_a_fuzzy_reference() {
    let our = vec![inv("INV-2026-0000155", "2026-03-01", "1234.50"), inv("INV-2026-0000156", "2026-03-01", "99.00")];
    let their = vec![
        with_text(theirs(DocType::Invoice, "AP1", None, "2026-03-03", "1243.50"), "Rechnung 155"),
        with_text(theirs(DocType::Invoice, "AP2", None, "2026-03-03", "990.00"), "INV2026156"),
    ];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [AmountMismatch, AmountMismatch]);
    let on = |t: usize| c.differences.iter().find(|x| x.theirs == Some(t)).unwrap();
    assert_eq!(on(0).ours, Some(0));
    assert!(on(0).explanation.contains("digits transposed"), "{}", on(0).explanation);
    assert!(on(0).explanation.contains("running number only"), "{}", on(0).explanation);
    assert_eq!(on(1).ours, Some(1));
    assert!(on(1).explanation.contains("decimal point shifted"), "{}", on(1).explanation);
}

#[test]
fn an_amount_typo_pairs_without_any_reference_when_it_is_the_only_one() {
    let our = vec![inv("INV-2026-0000155", "2026-03-01", "1234.50"), inv("INV-2026-0000156", "2026-05-01", "99.00")];
    let their = vec![
        with_text(theirs(DocType::Invoice, "AP1", None, "2026-03-04", "1243.50"), "Wareneingang"),
        with_text(theirs(DocType::Invoice, "AP2", None, "2026-05-02", "99.00"), "Wareneingang"),
    ];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [AmountMismatch]);
    assert!(c.differences[0].explanation.contains("no reference to go by"), "{}", c.differences[0].explanation);
    // Two candidates with a typo of the same amount: too uncertain, two differences instead.
    let our = vec![inv("INV-1", "2026-03-01", "1234.50"), inv("INV-2", "2026-03-02", "1234.50")];
    let their = vec![theirs(DocType::Invoice, "AP1", None, "2026-03-04", "1243.50")];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [MissingOnOurSide, MissingOnCustomerSide, MissingOnCustomerSide]);
}

#[test]
fn repeated_lines_are_duplicates_with_or_without_our_number() {
    let our = vec![inv("INV-2026-0000155", "2026-03-01", "100.00"), inv("INV-2026-0000156", "2026-03-10", "55.55")];
    let their = vec![
        with_text(theirs(DocType::Invoice, "AP1", None, "2026-03-02", "100.00"), "INV2026155"),
        with_text(theirs(DocType::Invoice, "AP1", None, "2026-03-01", "100.00"), "INV2026155"),
        with_text(theirs(DocType::Invoice, "", None, "2026-03-11", "55.55"), "Fracht März"),
        with_text(theirs(DocType::Invoice, "", None, "2026-03-12", "55.55"), "Fracht März"),
    ];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [DuplicateOnCustomerSide, DuplicateOnCustomerSide]);
    assert_eq!(c.differences[0].ours, Some(0));
    assert_eq!(c.differences[1].ours, Some(1));
}

#[test]
fn their_one_payment_for_several_of_ours_is_a_group() {
    let our = vec![
        ours(DocType::Payment, "PAY-1", "2026-04-01", "100.00", Some("PMT9")),
        ours(DocType::Payment, "PAY-2", "2026-04-01", "200.00", Some("PMT9")),
        ours(DocType::Payment, "PAY-3", "2026-04-02", "300.00", Some("PMT9")),
    ];
    let their = vec![with_text(theirs(DocType::Payment, "PMT-9", None, "2026-03-30", "600.00"), "INV-1, INV-2, INV-3")];
    let c = check(&our, &their);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    assert_eq!(c.pairs.len(), 1);
    assert_eq!((c.pairs[0].ours.len(), c.pairs[0].rule), (3, MatchRule::GroupByReference));
    assert!(c.pairs[0].explanation.contains("PAY-1 + PAY-2 + PAY-3"), "{}", c.pairs[0].explanation);
}

#[test]
fn our_one_payment_for_several_of_theirs_is_a_group() {
    let our = vec![
        inv("INV-2026-0000001", "2026-03-01", "100.00"),
        inv("INV-2026-0000002", "2026-03-01", "200.00"),
        ours(DocType::Payment, "PAY-7", "2026-04-02", "300.00", Some("ZF77")),
    ];
    let their = vec![
        theirs(DocType::Invoice, "AP1", Some("INV-2026-0000001"), "2026-03-02", "100.00"),
        theirs(DocType::Invoice, "AP2", Some("INV-2026-0000002"), "2026-03-02", "200.00"),
        with_text(theirs(DocType::Payment, "ZF-77", None, "2026-04-01", "100.00"), "Zahlung INV-2026-0000001"),
        with_text(theirs(DocType::Payment, "ZF-77", None, "2026-04-01", "200.00"), "Zahlung INV-2026-0000002"),
    ];
    let c = check(&our, &their);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    let group = c.pairs.iter().find(|p| p.theirs.len() == 2).unwrap();
    assert_eq!((group.ours.clone(), group.rule), (vec![2], MatchRule::GroupByReference));
}

#[test]
fn groups_without_references_need_close_dates_and_a_unique_sum() {
    let our = vec![
        ours(DocType::Payment, "PAY-1", "2026-04-01", "120.00", None),
        ours(DocType::Payment, "PAY-2", "2026-04-02", "80.00", None),
    ];
    let their = vec![theirs(DocType::Payment, "B-88", None, "2026-04-01", "200.00")];
    let c = check(&our, &their);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    assert_eq!(c.pairs[0].rule, MatchRule::GroupByAmount);
    assert!(c.pairs[0].fuzzy);
    // Two ways to make the sum: no group.
    let mut our = our;
    our.push(ours(DocType::Payment, "PAY-3", "2026-04-01", "150.00", None));
    our.push(ours(DocType::Payment, "PAY-4", "2026-04-01", "50.00", None));
    let c = check(&our, &their);
    assert!(c.pairs.is_empty());
}

#[test]
fn a_payment_naming_invoices_pairs_with_our_payment_that_settled_them() {
    let mut bank = ours(DocType::Payment, "bank line BL1", "2026-04-03", "300.00", None);
    bank.settles = vec!["INV-2026-0000155".into(), "INV-2026-0000156".into()];
    let our =
        vec![inv("INV-2026-0000155", "2026-03-01", "100.00"), inv("INV-2026-0000156", "2026-03-01", "200.00"), bank];
    let their = vec![
        theirs(DocType::Invoice, "AP1", Some("INV-2026-0000155"), "2026-03-01", "100.00"),
        theirs(DocType::Invoice, "AP2", Some("INV-2026-0000156"), "2026-03-01", "200.00"),
        with_text(theirs(DocType::Payment, "ZF1", None, "2026-04-01", "300.00"), "INV-2026-0000155;INV-2026-0000156"),
    ];
    let c = check(&our, &their);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    let p = c.pairs.iter().find(|p| p.theirs == [2]).unwrap();
    assert_eq!((p.ours.clone(), p.rule), (vec![2], MatchRule::SettledDocument));
}

#[test]
fn a_kind_read_from_the_sign_pairs_with_payments_and_credit_notes() {
    let our = vec![
        ours(DocType::CreditNote, "CN-2026-0000004", "2026-03-05", "40.00", None),
        ours(DocType::Payment, "PAY-9", "2026-03-20", "500.00", Some("T-1")),
    ];
    let mut credit = with_text(theirs(DocType::Payment, "X9", None, "2026-03-06", "40.00"), "CN-2026-0000004");
    credit.kind_inferred = true;
    let mut payment = theirs(DocType::Payment, "T-1", None, "2026-03-19", "500.00");
    payment.kind_inferred = true;
    let c = check(&our, &[credit.clone(), payment]);
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    // A stated payment is not a credit note.
    credit.kind_inferred = false;
    let c = check(&our[..1], &[credit]);
    assert_eq!(kinds(&c), [MissingOnOurSide, MissingOnCustomerSide]);
}

#[test]
fn thousands_of_identical_lines_neither_stall_nor_lose_a_cent() {
    let our: Vec<OurItem> = (0..3000).map(|i| inv(&format!("INV-{i}"), "2026-03-01", "10.00")).collect();
    let their: Vec<TheirItem> = (0..3500).map(|_| theirs(DocType::Invoice, "X", None, "2026-03-01", "10.00")).collect();
    let started = std::time::Instant::now();
    let c = check(&our, &their);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert!(c.paired_lines() > 0);
}

#[test]
fn a_reference_on_thousands_of_items_is_no_evidence_and_costs_no_scan() {
    let our: Vec<OurItem> =
        (0..4000).map(|i| ours(DocType::Payment, &format!("PAY-{i}"), "2026-03-01", "10.00", Some("X"))).collect();
    let their: Vec<TheirItem> = (0..4000)
        .map(|i| with_text(theirs(DocType::Payment, "X", None, "2026-03-01", "10.00"), &format!("X PAY-{i} 1 2 3 4 5")))
        .collect();
    let started = std::time::Instant::now();
    let c = check(&our, &their);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert_eq!(c.paired_lines(), 4000);
}

#[test]
fn a_payment_split_on_our_side_with_a_gap_is_one_amount_mismatch() {
    let our = vec![
        ours(DocType::Payment, "PAY-1", "2026-04-01", "100.00", Some("PMT9")),
        ours(DocType::Payment, "PAY-2", "2026-04-01", "200.00", Some("PMT9")),
        ours(DocType::Payment, "PAY-3", "2026-04-02", "299.00", Some("PMT9")),
    ];
    let their = vec![theirs(DocType::Payment, "pmt 9", None, "2026-03-30", "600.00")];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [AmountMismatch]);
    let gap = &c.differences[0];
    // Ours -599.00, theirs -600.00: our balance is 1.00 higher.
    assert_eq!(gap.effects, vec![("EUR".to_string(), Decimal::ONE)]);
    let why = &gap.explanation;
    assert!(why.contains("PAY-1 + PAY-2 + PAY-3 are one payment (600.00 EUR theirs, 599.00 ours)"), "{why}");
    assert!(why.contains("1.00 EUR more"), "{why}");
    assert_eq!(c.pairs[gap.pairing.unwrap()].ours.len(), 3);
    // And the other way: their lines under one reference for our one receipt.
    let our = vec![ours(DocType::Payment, "PAY-7", "2026-04-02", "290.00", Some("ZF77"))];
    let their = vec![
        theirs(DocType::Payment, "ZF-77", None, "2026-04-01", "100.00"),
        theirs(DocType::Payment, "ZF-77", None, "2026-04-01", "200.00"),
    ];
    let c = check(&our, &their);
    assert_eq!(kinds(&c), [AmountMismatch]);
}

fn with_lines(mut o: OurItem, groups: &[(&str, &str, &str)]) -> OurItem {
    o.tax_groups = groups
        .iter()
        .map(|(rate, net, tax)| crate::domain::document_lines::RateGroup { rate: d(rate), net: d(net), tax: d(tax) })
        .collect();
    o
}

#[test]
fn their_net_against_our_gross_is_explained_as_missing_tax() {
    let our = [with_lines(inv("INV-1", "2026-03-01", "1130.00"), &[("13", "1000.00", "130.00")])];
    let their = [theirs(DocType::Invoice, "AP1", Some("INV-1"), "2026-03-02", "1000.00")];
    let c = check(&our, &their);
    assert_eq!(c.differences.len(), 1);
    let text = &c.differences[0].explanation;
    assert_eq!(c.differences[0].kind, AmountMismatch);
    assert!(
        text.starts_with("they booked net 1,000.00 EUR for invoice INV-1; we invoiced gross 1,130.00 EUR at 13% VAT"),
        "{text}"
    );
    assert!(text.contains("tax of 130.00 EUR is missing"), "{text}");
}

#[test]
fn our_net_at_another_rate_is_named() {
    let our = [with_lines(inv("INV-1", "2026-03-01", "1130.00"), &[("13", "1000.00", "130.00")])];
    let their = [theirs(DocType::Invoice, "AP1", Some("INV-1"), "2026-03-02", "1090.00")];
    let text = check(&our, &their).differences[0].explanation.clone();
    assert!(
        text.starts_with("they booked 1,090.00 EUR for invoice INV-1, our net 1,000.00 EUR at 9% instead of our 13%"),
        "{text}"
    );
    // Mixed rates: their amount is all of our net at one rate.
    let mixed =
        [with_lines(inv("INV-2", "2026-03-01", "1239.00"), &[("9", "100.00", "9.00"), ("13", "1000.00", "130.00")])];
    let their = [theirs(DocType::Invoice, "AP2", Some("INV-2"), "2026-03-02", "1320.00")];
    let text = check(&mixed, &their).differences[0].explanation.clone();
    assert!(text.contains("our net 1,100.00 EUR at 20% instead of our 9% and 13%"), "{text}");
}

#[test]
fn without_lines_nothing_is_guessed() {
    let our = [inv("INV-1", "2026-03-01", "1130.00")];
    let their = [theirs(DocType::Invoice, "AP1", Some("INV-1"), "2026-03-02", "1000.00")];
    let text = check(&our, &their).differences[0].explanation.clone();
    assert!(!text.contains("net"), "{text}");
    assert!(text.ends_with("130.00 EUR less"), "{text}");
    // A gap that is neither net nor another rate is a plain gap, lines or not.
    let our = [with_lines(inv("INV-1", "2026-03-01", "1130.00"), &[("13", "1000.00", "130.00")])];
    let their = [theirs(DocType::Invoice, "AP1", Some("INV-1"), "2026-03-02", "1111.11")];
    assert!(check(&our, &their).differences[0].explanation.ends_with("18.89 EUR less"));
}
