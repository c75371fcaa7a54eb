//! Gaps that are tax: their line for one of our documents with lines books our net (they left
//! out the tax), or our net at another rate than ours. Only documents with lines are looked at:
//! without the net per rate there is nothing to know, and nothing is guessed.

use super::explain::kind_name;
use super::{OurItem, TheirItem};
use crate::domain::document::DocType;
use crate::domain::document_lines::{round_money, RateGroup};
use crate::domain::money::{display_amount, Currency};
use rust_decimal::Decimal;

/// VAT and GST rates in use somewhere (percent): the rates a customer may book by mistake.
const COMMON_RATES: [u32; 22] = [3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27];

/// "13%", "9% and 13%".
fn rates_label(groups: &[RateGroup]) -> String {
    let rates: Vec<String> = groups.iter().map(|g| format!("{}%", g.rate.normalize())).collect();
    rates.join(" and ")
}

fn verb(kind: DocType) -> &'static str {
    if kind == DocType::CreditNote {
        "credited"
    } else {
        "invoiced"
    }
}

/// The sentence for a gap that is tax, if it is one.
pub fn tax_explanation(our: &OurItem, their: &TheirItem) -> Option<String> {
    let groups = &our.tax_groups;
    if groups.is_empty() || our.currency != their.currency || their.amount == our.amount {
        return None;
    }
    let cur = our.currency.as_str();
    let currency = Currency::parse_including_withdrawn(cur).ok()?;
    let net: Decimal = groups.iter().map(|g| g.net).sum();
    let tax: Decimal = groups.iter().map(|g| g.tax).sum();
    let show = |v: Decimal| format!("{} {cur}", display_amount(cur, v));
    let ours = format!("we {} gross {} at {} VAT", verb(our.kind), show(our.amount), rates_label(groups));
    if their.amount == net && !tax.is_zero() {
        return Some(format!(
            "they booked net {} for {} {}; {ours}: the tax of {} is missing on their side",
            show(net),
            kind_name(our.kind),
            our.doc_no,
            show(tax)
        ));
    }
    let unit = crate::domain::document_lines::minor_unit(&currency);
    let ours_only = groups.len() == 1;
    COMMON_RATES.iter().map(|r| Decimal::from(*r)).find_map(|rate| {
        if ours_only && groups[0].rate.normalize() == rate {
            return None;
        }
        let at_rate = round_money(net + net * rate / Decimal::ONE_HUNDRED, &currency);
        ((their.amount - at_rate).abs() <= unit).then(|| {
            format!(
                "they booked {} for {} {}, our net {} at {rate}% instead of our {}; {ours}",
                show(their.amount),
                kind_name(our.kind),
                our.doc_no,
                show(net),
                rates_label(groups)
            )
        })
    })
}
