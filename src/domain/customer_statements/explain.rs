//! The sentences a finance clerk reads: why lines were paired, and the likely cause of two
//! amounts that should agree (transposed digits, a shifted decimal point, or simply the gap).

use super::evidence::{Evidence, How};
use super::{signed, OurItem, TheirItem};
use crate::domain::document::DocType;
use crate::domain::money::display_amount;
use rust_decimal::Decimal;

pub fn kind_name(kind: DocType) -> String {
    kind.as_str().replace('_', " ")
}

/// Why a line of theirs and an item of ours were paired by a reference.
pub fn evidence_sentence(e: &Evidence, ours: &[OurItem]) -> String {
    let o = &ours[e.our];
    match &e.how {
        How::OurColumn => format!("our number {} in their column for it", o.doc_no),
        How::Quoted { field, found, strength } => {
            format!("our number {} found as '{found}' in {}{}", o.doc_no, field.name(), strength.qualifier())
        }
        How::Record { field, found, strength } => format!(
            "their reference {} is recorded on our {} {} (found as '{found}' in {}{})",
            o.reference.as_deref().unwrap_or(""),
            kind_name(o.kind),
            o.doc_no,
            field.name(),
            strength.qualifier()
        ),
        How::Settled { document, field, found, strength } => format!(
            "our {} {} settled {document}, which they name as '{found}' in {}{}",
            kind_name(o.kind),
            o.doc_no,
            field.name(),
            strength.qualifier()
        ),
    }
}

/// "INV-1 + INV-2 + INV-3".
pub fn list_refs(members: &[usize], ours: &[OurItem]) -> String {
    members.iter().map(|&o| ours[o].doc_no.as_str()).collect::<Vec<_>>().join(" + ")
}

/// A group: who is in it on each side, what it adds up to, and why it was formed.
pub fn group_sentence(ours: &[OurItem], theirs: &[TheirItem], our: &[usize], their: &[usize], why: &str) -> String {
    let total: Decimal = our.iter().map(|&o| signed(ours[o].kind, ours[o].amount)).sum();
    let their_total: Decimal = their.iter().map(|&t| signed(theirs[t].kind, theirs[t].amount)).sum();
    let currency = our.first().map(|&o| ours[o].currency.as_str()).unwrap_or("");
    let their_refs: Vec<String> = their.iter().map(|&t| display_ref(&theirs[t])).collect();
    let kind = their.first().map(|&t| kind_name(theirs[t].kind)).unwrap_or_default();
    let amounts = if total == their_total {
        format!("add up to the same {} {currency}", display_amount(currency, total.abs()))
    } else {
        format!(
            "are one {kind} ({} {currency} theirs, {} ours)",
            display_amount(currency, their_total.abs()),
            display_amount(currency, total.abs())
        )
    };
    format!("their {kind} {} and our {} {amounts}: {why}", their_refs.join(" + "), list_refs(our, ours))
}

/// Their reference, with our number as they wrote it in its column when they did.
pub fn display_ref(item: &TheirItem) -> String {
    match item.our_ref.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(r) if item.their_ref.is_empty() => r.to_string(),
        Some(r) => format!("{} (for {r})", item.their_ref),
        None if item.their_ref.is_empty() && !item.text.is_empty() => format!("'{}'", item.text),
        None => item.their_ref.clone(),
    }
}

/// The typing error that turns one amount into the other, if any.
pub fn typo(a: Decimal, b: Decimal) -> Option<&'static str> {
    if a == b {
        None
    } else if decimal_shifted(a, b) {
        // A tenfold amount is a shifted point even where it also reads as a swap (80.00 / 08.00).
        Some("decimal point shifted")
    } else if digits_transposed(a, b) {
        Some("digits transposed")
    } else {
        None
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
    if let Some(tax) = super::tax::tax_explanation(our, their) {
        return tax;
    }
    let cause = match typo(our.amount, their.amount) {
        Some(t) => t.to_string(),
        None => {
            let gap = their.amount - our.amount;
            let word = if gap > Decimal::ZERO { "more" } else { "less" };
            format!("{} {} {word}", display_amount(&our.currency, gap.abs()), our.currency)
        }
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

pub fn decimal_shifted(a: Decimal, b: Decimal) -> bool {
    if a.is_zero() || b.is_zero() {
        return false;
    }
    let (big, small) = if a.abs() > b.abs() { (a.abs(), b.abs()) } else { (b.abs(), a.abs()) };
    [10, 100, 1000].iter().any(|&f| small * Decimal::from(f) == big)
}
