use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn line(qty: &str, price: &str, rate: &str) -> LineSpec {
    LineSpec { quantity: d(qty), unit_price: d(price), tax_rate: d(rate), ..Default::default() }
}

fn amounts(c: &Computed) -> Vec<(String, String, String)> {
    c.lines.iter().map(|l| (l.net.to_string(), l.tax.to_string(), l.gross.to_string())).collect()
}

fn triple(net: &str, tax: &str, gross: &str) -> (String, String, String) {
    (net.into(), tax.into(), gross.into())
}

#[test]
fn rounding_is_half_away_from_zero() {
    assert_eq!(round_money(d("2.345"), &eur()).to_string(), "2.35");
    assert_eq!(round_money(d("-2.345"), &eur()).to_string(), "-2.35");
    assert_eq!(round_money(d("2.344999"), &eur()).to_string(), "2.34");
    assert_eq!(round_money(d("2.5"), &Currency::parse("JPY").unwrap()).to_string(), "3");
    assert_eq!(round_money(d("1.0005"), &Currency::parse("KWD").unwrap()).to_string(), "1.001");
}

#[test]
fn per_line_and_per_document_rounding_differ() {
    // Three lines of 0.10 at 5%: 0.005 each, 0.01 per line, but 0.015 -> 0.02 once.
    let lines = vec![line("1", "0.10", "5"), line("1", "0.10", "5"), line("1", "0.10", "5")];
    let per_line = compute(&lines, &eur(), TaxRounding::PerLine).unwrap();
    assert_eq!(per_line.lines.iter().map(|l| l.tax).sum::<Decimal>(), d("0.03"));
    assert_eq!(per_line.gross_total(), d("0.33"));
    let per_doc = compute(&lines, &eur(), TaxRounding::PerDocument).unwrap();
    // 0.30 at 5% = 0.015 -> 0.02, spread as 0.01 + 0.01 + 0.00 (earlier lines first on ties).
    assert_eq!(
        amounts(&per_doc),
        vec![triple("0.10", "0.01", "0.11"), triple("0.10", "0.01", "0.11"), triple("0.10", "0.00", "0.10")]
    );
    assert_eq!(per_doc.gross_total(), d("0.32"));
}

#[test]
fn per_document_spreads_by_largest_remainder() {
    // 13% of 1.03 = 0.1339, of 2.07 = 0.2691, of 0.55 = 0.0715; sum 0.4745 -> 0.47.
    let lines = vec![line("1", "1.03", "13"), line("1", "2.07", "13"), line("1", "0.55", "13")];
    let c = compute(&lines, &eur(), TaxRounding::PerDocument).unwrap();
    let taxes: Vec<String> = c.lines.iter().map(|l| l.tax.to_string()).collect();
    // Floors 0.13 + 0.26 + 0.07 = 0.46; one cent more to the largest remainder (0.2691).
    assert_eq!(taxes, vec!["0.13", "0.27", "0.07"]);
    let per_line = compute(&lines, &eur(), TaxRounding::PerLine).unwrap();
    let taxes: Vec<String> = per_line.lines.iter().map(|l| l.tax.to_string()).collect();
    assert_eq!(taxes, vec!["0.13", "0.27", "0.07"], "here both rules agree");
}

#[test]
fn zero_rate_and_mixed_rates() {
    let lines = vec![line("2", "500", "13"), line("3", "10.00", "0"), line("1", "100", "9")];
    let c = compute(&lines, &eur(), TaxRounding::PerLine).unwrap();
    assert_eq!(
        amounts(&c),
        vec![
            triple("1000.00", "130.00", "1130.00"),
            triple("30.00", "0.00", "30.00"),
            triple("100.00", "9.00", "109.00")
        ]
    );
    let groups = rate_groups(lines.iter().map(|l| l.tax_rate).zip(c.lines.iter().copied()));
    assert_eq!(groups.iter().map(|g| g.rate.to_string()).collect::<Vec<_>>(), vec!["0", "9", "13"]);
    assert_eq!(groups[2].net, d("1000.00"));
    assert_eq!(compute(&lines, &eur(), TaxRounding::PerDocument).unwrap(), c);
}

#[test]
fn discounts_by_amount_and_percent() {
    let mut by_amount = line("3", "19.99", "19");
    by_amount.discount = d("5.00");
    let mut by_pct = line("4", "12.50", "19");
    by_pct.discount_percent = d("10");
    let c = compute(&[by_amount, by_pct], &eur(), TaxRounding::PerLine).unwrap();
    // 59.97 - 5.00 = 54.97, 19% = 10.4443 -> 10.44; 50.00 less 10% = 45.00, tax 8.55.
    assert_eq!(amounts(&c), vec![triple("54.97", "10.44", "65.41"), triple("45.00", "8.55", "53.55")]);
}

#[test]
fn negative_lines_on_credit_notes() {
    let mut returned = line("-2", "49.95", "19");
    returned.discount = d("1.00");
    let c = compute(&[returned, line("-1", "0.05", "19")], &eur(), TaxRounding::PerLine).unwrap();
    // -99.90 + 1.00 = -98.90, tax -18.791 -> -18.79; -0.05 tax -0.0095 -> -0.01.
    assert_eq!(amounts(&c), vec![triple("-98.90", "-18.79", "-117.69"), triple("-0.05", "-0.01", "-0.06")]);
    assert_eq!(header_mismatch(true, d("117.75"), c.gross_total()), None, "negated lines of a credit note");
    assert_eq!(header_mismatch(true, d("117.70"), c.gross_total()), Some(d("117.75")));
    assert_eq!(
        header_mismatch(false, d("117.75"), c.gross_total()),
        Some(d("-117.75")),
        "an invoice's lines add up as written"
    );
    let per_doc =
        compute(&[line("-1", "0.10", "5"), line("-1", "0.10", "5")], &eur(), TaxRounding::PerDocument).unwrap();
    // -0.20 at 5% = -0.01 exactly: one line -0.01, the other 0.00.
    assert_eq!(per_doc.lines.iter().map(|l| l.tax).sum::<Decimal>(), d("-0.01"));
}

#[test]
fn stated_amounts_must_agree_within_rounding() {
    let mut l = line("3", "0.335", "10");
    // 1.005 exactly: 1.00 (banker's) and 1.01 (half up) are both roundings of it.
    l.net = Some(d("1.00"));
    assert_eq!(compute(&[l.clone()], &eur(), TaxRounding::PerLine).unwrap().lines[0].net, d("1.00"));
    l.net = Some(d("1.02"));
    let err = compute(&[line("1", "1", "0"), l.clone()], &eur(), TaxRounding::PerLine).unwrap_err();
    assert_eq!((err.line_no, err.field), (2, "net"));
    l.net = None;
    l.gross = Some(d("1.20"));
    let err = compute(&[l], &eur(), TaxRounding::PerLine).unwrap_err();
    assert_eq!((err.line_no, err.field), (1, "gross"), "{}", err.message);
}

#[test]
fn a_tax_off_by_more_than_rounding_is_flagged_and_kept() {
    let mut within = line("1", "0.05", "10");
    within.tax = Some(d("0.00")); // 0.005: 0.00 and 0.01 both round it
    let mut off = line("1", "100", "13");
    off.tax = Some(d("13.50"));
    off.gross = Some(d("113.50"));
    let c = compute(&[within, off], &eur(), TaxRounding::PerLine).unwrap();
    assert_eq!(c.lines[1].tax, d("13.50"), "what was invoiced is kept");
    assert_eq!(c.flags.len(), 1, "{:?}", c.flags);
    assert_eq!((c.flags[0].line_no, c.flags[0].kind), (2, TaxFlagKind::TaxAmountOff));
    assert!(c.flags[0].message.contains("13.00 expected"), "{}", c.flags[0].message);
}

#[test]
fn a_rate_other_than_the_products_is_flagged() {
    let mut l = line("1", "100", "9");
    l.product_rate = Some(("P-1".into(), d("13")));
    let c = compute(&[l.clone()], &eur(), TaxRounding::PerLine).unwrap();
    assert_eq!(c.flags[0].kind, TaxFlagKind::RateDiffersFromProduct);
    assert!(c.flags[0].message.contains("product P-1's 13%"), "{}", c.flags[0].message);
    l.product_rate = Some(("P-1".into(), d("9.0")));
    assert!(compute(&[l], &eur(), TaxRounding::PerLine).unwrap().flags.is_empty());
}

#[test]
fn currencies_without_or_with_three_minor_units() {
    let jpy = Currency::parse("JPY").unwrap();
    let c = compute(&[line("3", "333", "10")], &jpy, TaxRounding::PerLine).unwrap();
    assert_eq!(amounts(&c), vec![triple("999", "100", "1099")]);
    let kwd = Currency::parse("KWD").unwrap();
    let c = compute(&[line("1", "1.2345", "5")], &kwd, TaxRounding::PerLine).unwrap();
    assert_eq!(amounts(&c), vec![triple("1.235", "0.062", "1.297")]);
}

#[test]
fn quantities_and_discount_percents_are_parsed_strictly() {
    assert_eq!(parse_quantity("2.500").unwrap().to_string(), "2.5");
    assert_eq!(parse_quantity("-3").unwrap().to_string(), "-3");
    assert!(parse_quantity("0.0000001").is_err());
    assert!(parse_quantity("1000000000000").is_err());
    assert!(parse_quantity("two").is_err());
    assert_eq!(parse_discount_percent("12.5%").unwrap().to_string(), "12.5");
    assert!(parse_discount_percent("0").is_err());
    assert!(parse_discount_percent("101").is_err());
    for t in TaxRounding::ALL {
        assert_eq!(TaxRounding::parse(t.as_str()), Some(t));
    }
}
