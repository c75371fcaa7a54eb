//! Document lines: the arithmetic of an invoice's or credit note's lines (net, tax, gross) in
//! exact decimals, under the tenant's tax rounding rule, and the tax anomalies worth flagging.
//!
//! Rounding is commercial: half away from zero, to the currency's minor unit (2.345 -> 2.35,
//! -2.345 -> -2.35), so a credit note written with negated lines has the same magnitudes as one
//! written with positive lines. Banker's rounding (half to even) is what ledgers must not use
//! here: invoices print half-up amounts and customers book what is printed.
//!
//! * Per line: each line's tax is rounded on its own; the document's tax is their sum.
//! * Per document: the tax of each rate is computed once on the summed nets of that rate and
//!   rounded once; it is spread over the lines of that rate (largest remainder), so every line
//!   still shows a tax and the lines add up to the document.

use super::money::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Most lines one document may carry.
pub const MAX_LINES: usize = 1000;
/// Most decimals a quantity may carry (metered energy, weights).
pub const QUANTITY_SCALE: u32 = 6;
/// Largest absolute quantity.
const MAX_QUANTITY: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum TaxRounding {
    /// Tax rounded on every line; the document's tax is the sum.
    PerLine,
    /// Tax per rate on the summed nets, rounded once per rate.
    PerDocument,
}

impl TaxRounding {
    pub const ALL: [TaxRounding; 2] = [TaxRounding::PerLine, TaxRounding::PerDocument];

    pub fn as_str(self) -> &'static str {
        match self {
            TaxRounding::PerLine => "per_line",
            TaxRounding::PerDocument => "per_document",
        }
    }
    pub fn parse(s: &str) -> Option<TaxRounding> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One line as stated, with what its product supplies already filled in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineSpec {
    /// May be negative (a returned item; a credit note written with negated lines).
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// An amount in the document's currency that reduces the line's value towards zero.
    pub discount: Decimal,
    /// Percent of quantity × unit price (at most one of the two discounts is used).
    pub discount_percent: Decimal,
    /// Percent: 13 is 13%.
    pub tax_rate: Decimal,
    /// The product's tax rate on the document's date, when the line names a product that has
    /// one.
    pub product_rate: Option<(String, Decimal)>,
    /// The date that rate applies from, when the product's rate is dated (changed by law).
    pub product_rate_from: Option<chrono::NaiveDate>,
    /// Amounts the caller stated; they must agree with the computed ones (see [`compute`]).
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub gross: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// A line that cannot be right: the document is refused, naming the line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line_no: usize,
    pub field: &'static str,
    pub message: String,
}

/// What kind of tax anomaly a flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum TaxFlagKind {
    /// The line's rate is not the rate of its product.
    RateDiffersFromProduct,
    /// The line's rate is not the one its product had on the document's date (its rate is dated).
    RateNotValidOnDate,
    /// The stated tax is not the rate of the net, by more than rounding.
    TaxAmountOff,
}

/// A tax anomaly: flagged, never refused (the document is what was invoiced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxFlag {
    pub line_no: usize,
    pub kind: TaxFlagKind,
    pub message: String,
}

/// The computed lines (in input order) and the anomalies found.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub lines: Vec<LineAmounts>,
    pub flags: Vec<TaxFlag>,
}

impl Computed {
    pub fn gross_total(&self) -> Decimal {
        self.lines.iter().map(|l| l.gross).sum()
    }
}

/// Half away from zero at the currency's minor unit, written at that scale.
pub fn round_money(value: Decimal, currency: &Currency) -> Decimal {
    let mut v = value.round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointAwayFromZero);
    v.rescale(currency.minor_units());
    v
}

/// One minor unit of the currency (0.01 EUR, 1 JPY, 0.001 KWD).
pub fn minor_unit(currency: &Currency) -> Decimal {
    Decimal::new(1, currency.minor_units())
}

fn pct(value: Decimal, rate: Decimal) -> Decimal {
    value * rate / Decimal::ONE_HUNDRED
}

/// A quantity: a decimal of at most [`QUANTITY_SCALE`] places, below 10^12 in size.
pub fn parse_quantity(text: &str) -> Result<Decimal, String> {
    let q: Decimal = text.trim().parse().map_err(|_| format!("{text:?} is not a decimal number such as \"2.5\""))?;
    if q.normalize().scale() > QUANTITY_SCALE {
        return Err(format!("at most {QUANTITY_SCALE} decimals"));
    }
    if q.abs() >= Decimal::from(MAX_QUANTITY) {
        return Err("is too large".into());
    }
    Ok(q.normalize())
}

/// A discount in percent: more than 0, at most 100, at most four decimals.
pub fn parse_discount_percent(text: &str) -> Result<Decimal, String> {
    let t = text.trim().trim_end_matches('%').trim();
    let p: Decimal = t.parse().map_err(|_| format!("{text:?} is not a percentage such as \"5\""))?;
    if p <= Decimal::ZERO || p > Decimal::ONE_HUNDRED || p.normalize().scale() > 4 {
        return Err("must be above 0 and at most 100 (percent), with at most four decimals".into());
    }
    Ok(p.normalize())
}

/// The line's net before rounding: quantity × unit price less its discount.
fn exact_net(line: &LineSpec) -> Option<Decimal> {
    let base = line.quantity.checked_mul(line.unit_price)?;
    let after_pct = base.checked_sub(pct(base, line.discount_percent))?;
    // An amount discount reduces the value towards zero, whatever the line's sign.
    let discount = if after_pct.is_sign_negative() { -line.discount } else { line.discount };
    after_pct.checked_sub(discount)
}

/// Computes every line under `rounding`, checks the amounts the caller stated, and flags tax
/// anomalies. A stated net or tax is taken as the caller's when it is a rounding of the exact
/// value (so an ERP that rounds otherwise is not refused); a stated tax further off than that is
/// kept (it is what was invoiced) and flagged. A stated net further off, or a stated gross that is
/// not net + tax, refuses the document.
pub fn compute(lines: &[LineSpec], currency: &Currency, rounding: TaxRounding) -> Result<Computed, LineError> {
    let unit = minor_unit(currency);
    let half = unit / Decimal::TWO;
    let mut nets = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let err = |field, message: String| LineError { line_no: i + 1, field, message };
        let exact = exact_net(line).ok_or_else(|| err("quantity", "quantity × unit price is out of range".into()))?;
        let net = match line.net {
            Some(stated) if (stated - exact).abs() <= half => stated,
            Some(stated) => {
                return Err(err(
                    "net",
                    format!(
                        "stated net {stated} is not quantity × unit price less discount ({})",
                        round_money(exact, currency)
                    ),
                ))
            }
            None => round_money(exact, currency),
        };
        currency.check_amount(net).map_err(|e| err("net", e.to_string()))?;
        nets.push(net);
    }
    let rule_taxes = match rounding {
        TaxRounding::PerLine => {
            lines.iter().zip(&nets).map(|(l, n)| round_money(pct(*n, l.tax_rate), currency)).collect()
        }
        TaxRounding::PerDocument => spread_per_rate(lines, &nets, currency),
    };
    let tolerance = if rounding == TaxRounding::PerLine { half } else { unit };
    let mut out = Computed { lines: Vec::with_capacity(lines.len()), flags: Vec::new() };
    for (i, ((line, net), rule_tax)) in lines.iter().zip(nets).zip(rule_taxes).enumerate() {
        let line_no = i + 1;
        let exact_tax = pct(net, line.tax_rate);
        let tax = match line.tax {
            Some(stated) => {
                if stated != rule_tax && (stated - exact_tax).abs() > tolerance {
                    out.flags.push(TaxFlag {
                        line_no,
                        kind: TaxFlagKind::TaxAmountOff,
                        message: format!(
                            "line {line_no}: tax {} is not {}% of net {} ({} expected)",
                            currency.format(stated),
                            line.tax_rate.normalize(),
                            currency.format(net),
                            currency.format(rule_tax)
                        ),
                    });
                }
                stated
            }
            None => rule_tax,
        };
        let gross = net + tax;
        if let Some(stated) = line.gross.filter(|g| *g != gross) {
            return Err(LineError {
                line_no,
                field: "gross",
                message: format!("stated gross {stated} is not net {net} + tax {tax} = {gross}"),
            });
        }
        currency.check_amount(gross).map_err(|e| LineError { line_no, field: "gross", message: e.to_string() })?;
        if let Some(flag) = rate_flag(line_no, line) {
            out.flags.push(flag);
        }
        out.lines.push(LineAmounts { net, tax, gross });
    }
    Ok(out)
}

/// Per-document rounding: per rate, the tax of the summed nets rounded once, spread over that
/// rate's lines by largest remainder (ties: the earlier line).
fn spread_per_rate(lines: &[LineSpec], nets: &[Decimal], currency: &Currency) -> Vec<Decimal> {
    let unit = minor_unit(currency);
    let floor = |v: Decimal| (v / unit).floor() * unit;
    let mut taxes = vec![Decimal::ZERO; lines.len()];
    let mut rates: Vec<Decimal> = lines.iter().map(|l| l.tax_rate.normalize()).collect();
    rates.sort();
    rates.dedup();
    for rate in rates {
        let members: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].tax_rate.normalize() == rate).collect();
        let exact: Vec<Decimal> = members.iter().map(|&i| pct(nets[i], rate)).collect();
        let total = round_money(exact.iter().copied().sum(), currency);
        let floors: Vec<Decimal> = exact.iter().map(|e| floor(*e)).collect();
        let mut extra = ((total - floors.iter().copied().sum::<Decimal>()) / unit).round();
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| (exact[b] - floors[b]).cmp(&(exact[a] - floors[a])).then(a.cmp(&b)));
        for k in order {
            let mut t = floors[k];
            if extra > Decimal::ZERO {
                t += unit;
                extra -= Decimal::ONE;
            }
            if t.is_zero() {
                t = Decimal::ZERO; // not -0.00
            }
            t.rescale(currency.minor_units());
            taxes[members[k]] = t;
        }
    }
    taxes
}

/// Net and tax per rate, rates ascending: what the document is made of, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateGroup {
    pub rate: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
}

pub fn rate_groups(lines: impl IntoIterator<Item = (Decimal, LineAmounts)>) -> Vec<RateGroup> {
    let mut groups: Vec<RateGroup> = Vec::new();
    for (rate, l) in lines {
        let rate = rate.normalize();
        match groups.iter_mut().find(|g| g.rate == rate) {
            Some(g) => {
                g.net += l.net;
                g.tax += l.tax;
            }
            None => groups.push(RateGroup { rate, net: l.net, tax: l.tax }),
        }
    }
    groups.sort_by_key(|g| g.rate);
    groups
}

/// The header amount against the lines' gross total, in the document's own sense: an invoice's
/// lines add up to its amount; a credit note's lines may be written positive (like its amount)
/// or negated (as many ERPs print them). Returns the total the header should have when it
/// disagrees.
pub fn header_mismatch(is_credit_note: bool, header: Decimal, gross_total: Decimal) -> Option<Decimal> {
    let expected = if is_credit_note && gross_total.is_sign_negative() { -gross_total } else { gross_total };
    (expected != header).then_some(expected)
}

#[cfg(test)]
#[path = "document_lines_tests.rs"]
mod tests;

/// A line whose rate is not its product's (on the document's date, when the product's rate is
/// dated).
fn rate_flag(line_no: usize, line: &LineSpec) -> Option<TaxFlag> {
    let (code, rate) = line.product_rate.as_ref()?;
    if *rate == line.tax_rate {
        return None;
    }
    let (ours, theirs) = (line.tax_rate.normalize(), rate.normalize());
    Some(match line.product_rate_from {
        Some(from) => TaxFlag {
            line_no,
            kind: TaxFlagKind::RateNotValidOnDate,
            message: format!(
                "line {line_no}: tax rate {ours}% was not product {code}'s rate on the document's date: {theirs}% from {from}"
            ),
        },
        None => TaxFlag {
            line_no,
            kind: TaxFlagKind::RateDiffersFromProduct,
            message: format!("line {line_no}: tax rate {ours}% differs from product {code}'s {theirs}%"),
        },
    })
}
