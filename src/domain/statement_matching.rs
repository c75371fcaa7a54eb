//! Statement reconciliation (对账): the customer's view of its account against ours. Pairs their
//! lines with our items (by our reference, their reference, then amount and date, like cash
//! application), and turns everything left over or disagreeing into differences whose balance
//! effects explain the gap between the two balances exactly.

use super::difference::DifferenceKind;
use super::document::DocType;
use super::money::display_amount;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// One item of our books for the customer: a ledger document, or a bank payment applied to the
/// customer's documents (allocations of one bank line), or a write-off.
#[derive(Debug, Clone)]
pub struct OurItem {
    pub kind: DocType,
    pub doc_no: String,
    pub date: NaiveDate,
    /// Positive in the item's own sense (adjustments signed), like `documents.amount`.
    pub amount: Decimal,
    pub currency: String,
    /// The customer's reference we recorded (e.g. their payment reference), if any.
    pub reference: Option<String>,
    /// For payments: the documents this payment settled (from allocations).
    pub settles: Vec<String>,
}

/// One line of the customer's statement.
#[derive(Debug, Clone)]
pub struct TheirItem {
    pub their_ref: String,
    pub our_ref: Option<String>,
    pub date: NaiveDate,
    pub kind: DocType,
    pub amount: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    OurReference,
    TheirReference,
    SettledDocument,
    AmountAndDate,
}

impl MatchRule {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::OurReference => "our_reference",
            MatchRule::TheirReference => "their_reference",
            MatchRule::SettledDocument => "settled_document",
            MatchRule::AmountAndDate => "amount_and_date",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundDifference {
    pub kind: DifferenceKind,
    pub ours: Option<usize>,
    pub theirs: Option<usize>,
    pub explanation: String,
    /// What this difference adds to (our balance - their balance), per currency.
    pub effects: Vec<(String, Decimal)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BalanceAgreement {
    pub currency: String,
    pub ours: Decimal,
    pub theirs: Decimal,
    pub differences: Decimal,
    /// (ours - theirs) - differences: zero when every gap is explained.
    pub unexplained: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// (our index, their index, rule)
    pub matches: Vec<(usize, usize, MatchRule)>,
    pub differences: Vec<FoundDifference>,
    pub balances: Vec<BalanceAgreement>,
}

/// Normalised document reference: upper case, letters and digits only, leading zeros of digit
/// runs dropped ("inv 2026/00123" and "INV-2026-123" agree).
pub fn normalise_ref(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Within a run of digits: have we seen a non-zero digit yet, and how many zeros led it.
    let (mut significant, mut zeros) = (false, 0usize);
    let end_run = |out: &mut String, significant: &mut bool, zeros: &mut usize| {
        if *zeros > 0 && !*significant {
            out.push('0'); // a run that was all zeros stays one zero
        }
        *significant = false;
        *zeros = 0;
    };
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            if !significant && ch == '0' {
                zeros += 1;
            } else {
                significant = true;
                out.push(ch);
            }
        } else {
            end_run(&mut out, &mut significant, &mut zeros);
            if ch.is_alphanumeric() {
                out.extend(ch.to_uppercase());
            }
        }
    }
    end_run(&mut out, &mut significant, &mut zeros);
    out
}

fn signed(kind: DocType, amount: Decimal) -> Decimal {
    kind.balance_sign() * amount
}

/// Compares the two sides. `date_tolerance_days`: matched items further apart than this are
/// reported as `date_mismatch` (without balance effect).
pub fn compare(ours: &[OurItem], theirs: &[TheirItem], date_tolerance_days: i64) -> Comparison {
    let mut our_taken = vec![false; ours.len()];
    let mut their_match: Vec<Option<(usize, MatchRule)>> = vec![None; theirs.len()];

    // Indexes over our side: never a scan of our items per line of theirs.
    let mut by_doc_no: HashMap<(DocType, String), Vec<usize>> = HashMap::new();
    let mut by_reference: HashMap<(DocType, String), Vec<usize>> = HashMap::new();
    let mut by_settled: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_amount: HashMap<(DocType, String, Decimal), Vec<usize>> = HashMap::new();
    for (i, o) in ours.iter().enumerate() {
        by_doc_no.entry((o.kind, normalise_ref(&o.doc_no))).or_default().push(i);
        if let Some(r) = o.reference.as_deref().filter(|r| !r.trim().is_empty()) {
            by_reference.entry((o.kind, normalise_ref(r))).or_default().push(i);
        }
        for d in &o.settles {
            by_settled.entry(normalise_ref(d)).or_default().push(i);
        }
        by_amount.entry((o.kind, o.currency.clone(), o.amount.normalize())).or_default().push(i);
    }
    let first_free =
        |list: Option<&Vec<usize>>, taken: &[bool]| list.and_then(|l| l.iter().copied().find(|&i| !taken[i]));

    // Pass 1: references. Their reference to our document number, or our record of their
    // reference; for payments also "the payment that settled the document they name".
    for (t, item) in theirs.iter().enumerate() {
        let our_ref = item.our_ref.as_deref().map(normalise_ref).filter(|r| !r.is_empty());
        let their_ref = normalise_ref(&item.their_ref);
        let mut found = None;
        if !their_ref.is_empty() {
            found = first_free(by_reference.get(&(item.kind, their_ref.clone())), &our_taken)
                .map(|i| (i, MatchRule::TheirReference));
        }
        if found.is_none() {
            if let Some(r) = &our_ref {
                found = first_free(by_doc_no.get(&(item.kind, r.clone())), &our_taken)
                    .map(|i| (i, MatchRule::OurReference));
                if found.is_none() && item.kind == DocType::Payment {
                    found = by_settled
                        .get(r)
                        .and_then(|l| l.iter().copied().find(|&i| !our_taken[i] && ours[i].amount == item.amount))
                        .map(|i| (i, MatchRule::SettledDocument));
                }
            }
        }
        if let Some((i, rule)) = found {
            our_taken[i] = true;
            their_match[t] = Some((i, rule));
        }
    }

    // Pass 2: equal amount, same kind and currency, closest date within a window. A line that
    // names one of our documents which we do not have is not paired by amount: that would
    // hide a missing document behind a coincidence.
    let window = date_tolerance_days.max(14);
    for (t, item) in theirs.iter().enumerate() {
        if their_match[t].is_some() {
            continue;
        }
        let names_missing_doc =
            item.kind != DocType::Payment && item.our_ref.as_deref().is_some_and(|r| !normalise_ref(r).is_empty());
        if names_missing_doc {
            continue;
        }
        let Some(candidates) = by_amount.get(&(item.kind, item.currency.clone(), item.amount.normalize())) else {
            continue;
        };
        let best = candidates
            .iter()
            .copied()
            .filter(|&i| !our_taken[i])
            .map(|i| (i, (ours[i].date - item.date).num_days().abs()))
            .filter(|&(_, d)| d <= window)
            .min_by_key(|&(i, d)| (d, i));
        if let Some((i, _)) = best {
            our_taken[i] = true;
            their_match[t] = Some((i, MatchRule::AmountAndDate));
        }
    }

    let mut out = Comparison::default();
    // Matched pairs: amount and date agreement.
    for (t, m) in their_match.iter().enumerate() {
        let Some((o, rule)) = *m else { continue };
        out.matches.push((o, t, rule));
        let (our, their) = (&ours[o], &theirs[t]);
        if our.amount != their.amount || our.currency != their.currency {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::AmountMismatch,
                ours: Some(o),
                theirs: Some(t),
                explanation: explain_amounts(our, their),
                effects: vec![
                    (our.currency.clone(), signed(our.kind, our.amount)),
                    (their.currency.clone(), -signed(their.kind, their.amount)),
                ],
            });
        }
        let days = (our.date - their.date).num_days();
        if days.abs() > date_tolerance_days {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::DateMismatch,
                ours: Some(o),
                theirs: Some(t),
                explanation: format!(
                    "they dated {} {} on {}; we did on {} ({} days apart, tolerance {})",
                    their.kind.as_str().replace('_', " "),
                    our.doc_no,
                    their.date,
                    our.date,
                    days.abs(),
                    date_tolerance_days
                ),
                effects: vec![],
            });
        }
    }

    // Unmatched lines of theirs: a repeat of a line that did match is a duplicate on their side.
    let dup_key = |x: &TheirItem| {
        let r = if !normalise_ref(&x.their_ref).is_empty() {
            format!("T:{}", normalise_ref(&x.their_ref))
        } else {
            format!("O:{}", x.our_ref.as_deref().map(normalise_ref).unwrap_or_default())
        };
        (x.kind, r, x.currency.clone(), x.amount.normalize())
    };
    let mut matched_their_keys: HashMap<(DocType, String, String, Decimal), usize> = HashMap::new();
    for (t, m) in their_match.iter().enumerate() {
        if let Some((o, _)) = m {
            matched_their_keys.entry(dup_key(&theirs[t])).or_insert(*o);
        }
    }
    for (t, item) in theirs.iter().enumerate() {
        if their_match[t].is_some() {
            continue;
        }
        let effect = vec![(item.currency.clone(), -signed(item.kind, item.amount))];
        let amount = display_amount(&item.currency, item.amount);
        if let Some(&o) = matched_their_keys.get(&dup_key(item)) {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::DuplicateOnCustomerSide,
                ours: Some(o),
                theirs: Some(t),
                explanation: format!(
                    "they recorded {} {} ({} {}) twice; we have it once",
                    item.kind.as_str().replace('_', " "),
                    display_ref(item),
                    amount,
                    item.currency
                ),
                effects: effect,
            });
        } else {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::MissingOnOurSide,
                ours: None,
                theirs: Some(t),
                explanation: format!(
                    "they recorded {} {} of {} {} on {}; we have no such item",
                    item.kind.as_str().replace('_', " "),
                    display_ref(item),
                    amount,
                    item.currency,
                    item.date
                ),
                effects: effect,
            });
        }
    }

    // Unmatched items of ours: a twin of a matched item (same kind, amount, date and reference)
    // is a duplicate on our side; anything else is missing on theirs.
    let our_key = |x: &OurItem| (x.kind, x.currency.clone(), x.amount.normalize(), x.date, x.reference.clone());
    let mut matched_our_keys: HashMap<(DocType, String, Decimal, NaiveDate, Option<String>), usize> = HashMap::new();
    for &(o, _, _) in &out.matches {
        matched_our_keys.entry(our_key(&ours[o])).or_insert(o);
    }
    for (o, item) in ours.iter().enumerate() {
        if our_taken[o] {
            continue;
        }
        let effect = vec![(item.currency.clone(), signed(item.kind, item.amount))];
        let amount = display_amount(&item.currency, item.amount);
        let kind_name = item.kind.as_str().replace('_', " ");
        if let Some(&twin) = matched_our_keys.get(&our_key(item)) {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::DuplicateOnOurSide,
                ours: Some(o),
                theirs: None,
                explanation: format!(
                    "we recorded {kind_name} {} of {amount} {} that repeats {} (same amount, date and reference)",
                    item.doc_no, item.currency, ours[twin].doc_no
                ),
                effects: effect,
            });
        } else {
            out.differences.push(FoundDifference {
                kind: DifferenceKind::MissingOnCustomerSide,
                ours: Some(o),
                theirs: None,
                explanation: format!(
                    "we recorded {kind_name} {} of {amount} {} on {}; their statement does not show it",
                    item.doc_no, item.currency, item.date
                ),
                effects: effect,
            });
        }
    }

    // Balance agreement per currency.
    let mut per: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for o in ours {
        per.entry(o.currency.clone()).or_default().0 += signed(o.kind, o.amount);
    }
    for t in theirs {
        per.entry(t.currency.clone()).or_default().1 += signed(t.kind, t.amount);
    }
    for d in &out.differences {
        for (cur, e) in &d.effects {
            per.entry(cur.clone()).or_default().2 += *e;
        }
    }
    out.balances = per
        .into_iter()
        .map(|(currency, (o, t, d))| BalanceAgreement {
            currency,
            ours: o,
            theirs: t,
            differences: d,
            unexplained: o - t - d,
        })
        .collect();
    out
}

fn display_ref(item: &TheirItem) -> String {
    match item.our_ref.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(r) if item.their_ref.is_empty() => r.to_string(),
        Some(r) => format!("{} (for {r})", item.their_ref),
        None => item.their_ref.clone(),
    }
}

/// A human explanation of two amounts that should agree: transposed digits, a shifted decimal
/// point, or simply the gap.
pub fn explain_amounts(our: &OurItem, their: &TheirItem) -> String {
    let kind = match our.kind {
        DocType::Invoice => "invoiced",
        DocType::CreditNote => "credited",
        DocType::Payment => "recorded a payment of",
        DocType::Adjustment => "adjusted",
    };
    let head = format!(
        "they recorded {} {} for {}; we {kind} {} {}",
        display_amount(&their.currency, their.amount),
        their.currency,
        our.doc_no,
        display_amount(&our.currency, our.amount),
        our.currency
    );
    if our.currency != their.currency {
        return format!("{head}: different currencies");
    }
    // A tenfold amount is a shifted point even where it also reads as a swap (80.00 / 08.00).
    let cause = if decimal_shifted(our.amount, their.amount) {
        "decimal point shifted".to_string()
    } else if digits_transposed(our.amount, their.amount) {
        "digits transposed".to_string()
    } else {
        let gap = their.amount - our.amount;
        let word = if gap > Decimal::ZERO { "more" } else { "less" };
        format!("{} {} {word}", display_amount(&our.currency, gap.abs()), our.currency)
    };
    format!("{head}: {cause}")
}

/// Digits of an amount at a fixed two-place scale, without the point.
fn digit_string(a: Decimal) -> String {
    let mut a = a.abs();
    a.rescale(2);
    a.to_string().replace('.', "")
}

/// True when swapping two adjacent digits of one amount gives the other (leading zeros count:
/// 8048.75 typed as 0848.75 is 848.75).
pub fn digits_transposed(a: Decimal, b: Decimal) -> bool {
    let (mut x, mut y) = (digit_string(a), digit_string(b));
    let width = x.len().max(y.len());
    x = format!("{x:0>width$}");
    y = format!("{y:0>width$}");
    let (x, y) = (x.as_bytes(), y.as_bytes());
    let diffs: Vec<usize> = (0..width).filter(|&i| x[i] != y[i]).collect();
    diffs.len() == 2 && diffs[1] == diffs[0] + 1 && x[diffs[0]] == y[diffs[1]] && x[diffs[1]] == y[diffs[0]]
}

fn decimal_shifted(a: Decimal, b: Decimal) -> bool {
    if a.is_zero() || b.is_zero() {
        return false;
    }
    let (big, small) = if a.abs() > b.abs() { (a.abs(), b.abs()) } else { (b.abs(), a.abs()) };
    [10, 100, 1000].iter().any(|&f| small * Decimal::from(f) == big)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

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
        }
    }
    fn theirs(kind: DocType, their: &str, our: Option<&str>, on: &str, amount: &str) -> TheirItem {
        TheirItem {
            their_ref: their.into(),
            our_ref: our.map(str::to_string),
            date: date(on),
            kind,
            amount: d(amount),
            currency: "EUR".into(),
        }
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
        assert!(decimal_shifted(d("1234.50"), d("123.45")));
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
        let c = compare(&our, &their, 7);
        let kinds: Vec<DifferenceKind> = c.differences.iter().map(|x| x.kind).collect();
        use DifferenceKind::*;
        for k in [
            AmountMismatch,
            MissingOnCustomerSide,
            DuplicateOnCustomerSide,
            MissingOnOurSide,
            DateMismatch,
            DuplicateOnOurSide,
        ] {
            assert_eq!(kinds.iter().filter(|&&x| x == k).count(), 1, "{k:?} in {kinds:?}");
        }
        assert_eq!(c.differences.len(), 6);
        let dup = c.differences.iter().find(|x| x.kind == DuplicateOnCustomerSide).unwrap();
        assert_eq!(dup.ours, Some(3));
        let eur = &c.balances[0];
        // ours: 100+200+300+400+50-100-75-75 = 800; theirs: 100+2000+400+400+50-100-200-75 = 2575
        assert_eq!((eur.ours, eur.theirs), (d("800.00"), d("2575.00")));
        assert_eq!(eur.differences, eur.ours - eur.theirs);
        assert!(eur.unexplained.is_zero());
    }

    #[test]
    fn a_line_naming_a_document_we_lack_is_not_paired_by_amount() {
        let our = vec![ours(DocType::Invoice, "INV-9", "2026-01-05", "100.00", None)];
        let their = vec![theirs(DocType::Invoice, "AP1", Some("INV-8"), "2026-01-05", "100.00")];
        let c = compare(&our, &their, 7);
        assert!(c.matches.is_empty());
        assert_eq!(c.differences.len(), 2);
        assert!(c.balances[0].unexplained.is_zero());
    }
}
