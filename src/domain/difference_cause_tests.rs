use super::*;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::from_str(s).unwrap()
}

fn amounts_of(ours: &str, theirs: &str) -> Evidence {
    Evidence {
        kind: DifferenceKind::AmountMismatch,
        our_amount: Some(d(ours)),
        their_amount: Some(d(theirs)),
        minor_units: 2,
        our_kind: Some(DocType::Invoice),
        their_kind: Some(DocType::Invoice),
        our_date: Some(date("2026-03-01")),
        their_date: Some(date("2026-03-01")),
        cut_off: Some(date("2026-03-31")),
    }
}

fn sub(e: &Evidence) -> Option<SubCause> {
    suggest(e).map(|s| s.sub_cause)
}

#[test]
fn technical_slips_are_named_by_their_digits() {
    assert_eq!(sub(&amounts_of("1234.50", "12345.00")), Some(SubCause::DecimalShift));
    assert_eq!(sub(&amounts_of("1234.50", "123.45")), Some(SubCause::DecimalShift));
    assert_eq!(sub(&amounts_of("1234.50", "1243.50")), Some(SubCause::Transposition));
    assert_eq!(sub(&amounts_of("1234.50", "1234.53")), Some(SubCause::Rounding));
    assert_eq!(sub(&amounts_of("1000.00", "1130.00")), Some(SubCause::TaxRate));
    assert_eq!(sub(&amounts_of("1190.00", "1000.00")), Some(SubCause::TaxRate));
    assert_eq!(sub(&amounts_of("333.33", "396.66")), Some(SubCause::TaxRate), "19% within a cent");
    for rate in VAT_RATES {
        let theirs = (d("847.31") * (Decimal::ONE + Decimal::from(rate) / Decimal::ONE_HUNDRED)).round_dp(2);
        assert_eq!(sub(&amounts_of("847.31", &theirs.to_string())), Some(SubCause::TaxRate), "{rate}%");
    }
    let explanation = suggest(&amounts_of("1000.00", "1130.00")).unwrap().explanation;
    assert!(explanation.contains("13% VAT"), "{explanation}");
}

#[test]
fn a_plain_gap_is_left_unexplained_and_a_usual_discount_is_process() {
    assert_eq!(sub(&amounts_of("1000.00", "870.00")), None);
    assert_eq!(sub(&amounts_of("1000.00", "1000.00")), None);
    let s = suggest(&amounts_of("1000.00", "980.00")).unwrap();
    assert_eq!((s.sub_cause, s.cause()), (SubCause::DiscountNotApplied, Cause::Process));
    // The JPY tolerance is in yen.
    let mut jpy = amounts_of("10000", "10003");
    jpy.minor_units = 0;
    assert_eq!(sub(&jpy), Some(SubCause::Rounding));
}

#[test]
fn missing_documents_duplicates_and_dates_are_process_or_technical() {
    let mut e = amounts_of("100.00", "100.00");
    e.kind = DifferenceKind::MissingOnCustomerSide;
    e.their_amount = None;
    e.our_kind = Some(DocType::CreditNote);
    assert_eq!(sub(&e), Some(SubCause::MissingCreditNote));
    e.our_kind = Some(DocType::Invoice);
    assert_eq!(sub(&e), Some(SubCause::NotBooked));
    e.our_date = Some(date("2026-03-29"));
    assert_eq!(sub(&e), Some(SubCause::CutOff));
    e.our_date = Some(date("2026-04-02"));
    assert_eq!(sub(&e), Some(SubCause::CutOff), "after the cut-off");

    let mut ours_missing = amounts_of("100.00", "100.00");
    ours_missing.kind = DifferenceKind::MissingOnOurSide;
    ours_missing.their_kind = Some(DocType::CreditNote);
    assert_eq!(sub(&ours_missing), Some(SubCause::MissingCreditNote));

    let mut dup = amounts_of("100.00", "100.00");
    dup.kind = DifferenceKind::DuplicateOnCustomerSide;
    assert_eq!(suggest(&dup).map(|s| s.cause()), Some(Cause::Technical));

    let mut late = amounts_of("100.00", "100.00");
    late.kind = DifferenceKind::DateMismatch;
    late.their_date = Some(date("2026-03-15"));
    assert_eq!(sub(&late), Some(SubCause::LatePosting));
    late.their_date = Some(date("2026-04-03"));
    assert_eq!(sub(&late), Some(SubCause::CutOff), "straddles the cut-off");
    late.cut_off = None;
    assert_eq!(sub(&late), Some(SubCause::LatePosting));
}

#[test]
fn a_dispute_is_classified_by_its_words_in_english_and_chinese() {
    let cases = [
        ("Goods arrived damaged, quality not acceptable", SubCause::Quality),
        ("质量问题，部分货物破损", SubCause::Quality),
        ("Short delivery: we received only 80 of 100 units", SubCause::Quantity),
        ("数量不符，少发了20件", SubCause::Quantity),
        ("The price differs from the contract rate", SubCause::Price),
        ("单价与报价不一致", SubCause::Price),
        ("We will pay next month after budget approval", SubCause::DeliberateDelay),
        ("资金紧张，下个月再付", SubCause::DeliberateDelay),
        ("Please check this invoice", SubCause::Other),
    ];
    for (text, expected) in cases {
        let s = suggest_dispute(text);
        assert_eq!(s.sub_cause, expected, "{text}");
        assert_eq!(s.cause(), Cause::Dispute);
        assert!(!s.explanation.is_empty());
    }
}

#[test]
fn every_word_round_trips_and_every_sub_cause_has_one_cause() {
    for s in SubCause::ALL {
        assert_eq!(SubCause::parse(s.as_str()), Some(s));
    }
    for c in Cause::ALL {
        assert_eq!(Cause::parse(c.as_str()), Some(c));
        assert_eq!(SubCause::ALL.iter().filter(|s| s.cause() == c).count(), 5);
    }
    for s in CauseSource::ALL {
        assert_eq!(CauseSource::parse(s.as_str()), Some(s));
    }
}
