//! Products and services a tenant sells: validation of their master data.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Product,
    Service,
}

impl ProductKind {
    pub const ALL: [ProductKind; 2] = [ProductKind::Product, ProductKind::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Product => "product",
            ProductKind::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<ProductKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Most decimals a unit price may carry (energy and telecom price per unit below a cent).
pub const PRICE_SCALE: u32 = 6;
/// Tax rates are percentages with at most four decimals (VAT 13, 6, 9; 8.1 in Switzerland).
pub const TAX_RATE_SCALE: u32 = 4;

/// A tax rate in percent ("13", "13%", "8.1"): at least 0, below 100, at most four decimals.
pub fn parse_tax_rate(text: &str) -> Result<Decimal, String> {
    let t = text.trim().trim_end_matches('%').trim();
    let rate: Decimal = t.parse().map_err(|_| format!("{text:?} is not a percentage such as \"13\" or \"8.1\""))?;
    if rate.is_sign_negative() && !rate.is_zero() || rate >= Decimal::from(100) {
        return Err("must be at least 0 and below 100 (percent)".into());
    }
    if rate.normalize().scale() > TAX_RATE_SCALE {
        return Err(format!("at most {TAX_RATE_SCALE} decimals"));
    }
    Ok(rate.normalize())
}

/// From `valid_from` on, the product's tax rate is `rate` (until the next change).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::SimpleObject,
    async_graphql::InputObject,
)]
#[graphql(input_name = "TaxRateChangeInput")]
#[serde(deny_unknown_fields)]
pub struct TaxRateChange {
    pub valid_from: chrono::NaiveDate,
    /// Percent, decimal string: "13" is 13%.
    pub rate: String,
}

/// At most this many dated rates per product.
pub const MAX_TAX_RATE_CHANGES: usize = 50;

/// Checks a rate history: valid rates, distinct dates; returned ordered by date, rates normalised.
pub fn check_tax_rate_history(changes: &[TaxRateChange]) -> Result<Vec<TaxRateChange>, String> {
    if changes.len() > MAX_TAX_RATE_CHANGES {
        return Err(format!("at most {MAX_TAX_RATE_CHANGES} dated rates"));
    }
    let mut out = Vec::with_capacity(changes.len());
    for (i, c) in changes.iter().enumerate() {
        let rate = parse_tax_rate(&c.rate).map_err(|e| format!("[{i}].rate: {e}"))?;
        out.push(TaxRateChange { valid_from: c.valid_from, rate: rate.to_string() });
    }
    out.sort_by_key(|c| c.valid_from);
    if let Some(w) = out.windows(2).find(|w| w[0].valid_from == w[1].valid_from) {
        return Err(format!("{} appears twice", w[0].valid_from));
    }
    Ok(out)
}

/// The rate valid on `date`, with the date it applies from. Without a history the product's
/// own rate applies to every date (`None` as the date); with one, the latest change on or before
/// `date`, and no rate at all before the first change (nothing to check a line against).
pub fn tax_rate_on(
    current: Option<Decimal>,
    history: &[TaxRateChange],
    date: chrono::NaiveDate,
) -> Option<(Decimal, Option<chrono::NaiveDate>)> {
    if history.is_empty() {
        return current.map(|r| (r, None));
    }
    let change = history.iter().filter(|c| c.valid_from <= date).max_by_key(|c| c.valid_from)?;
    change.rate.parse().ok().map(|r| (r, Some(change.valid_from)))
}

/// A unit price: not negative, at most [`PRICE_SCALE`] decimals, thousands separators refused
/// (an ERP sends plain decimals; "1,5" would be read differently by different people).
pub fn parse_unit_price(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let price: Decimal = t.parse().map_err(|_| format!("{text:?} is not a decimal number such as \"12.50\""))?;
    if price.is_sign_negative() && !price.is_zero() {
        return Err("must not be negative".into());
    }
    if price.normalize().scale() > PRICE_SCALE {
        return Err(format!("at most {PRICE_SCALE} decimals"));
    }
    if price > Decimal::from(100_000_000_000_000i64) {
        return Err("is too large".into());
    }
    Ok(price.normalize())
}

/// Units are short labels ("pcs", "kg", "h", "件", "台").
pub fn check_unit(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 20 || v.chars().any(|c| c.is_control()) {
        return Err("must be 1 to 20 printable characters".into());
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_valid_on_a_date_is_the_latest_change_before_it() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let history = check_tax_rate_history(&[
            TaxRateChange { valid_from: d("2019-04-01"), rate: "13".into() },
            TaxRateChange { valid_from: d("2018-05-01"), rate: "16.00".into() },
        ])
        .unwrap();
        assert_eq!(history[0].rate, "16");
        let current = Some(Decimal::from(13));
        assert_eq!(tax_rate_on(current, &history, d("2018-01-31")), None, "before the schedule: unknown");
        assert_eq!(tax_rate_on(current, &[], d("2018-01-31")), Some((Decimal::from(13), None)));
        assert_eq!(tax_rate_on(current, &history, d("2018-05-01")), Some((Decimal::from(16), Some(d("2018-05-01")))));
        assert_eq!(tax_rate_on(current, &history, d("2026-03-01")), Some((Decimal::from(13), Some(d("2019-04-01")))));
        assert_eq!(tax_rate_on(None, &[], d("2026-03-01")), None);
        let twice = [history[0].clone(), history[0].clone()];
        assert!(check_tax_rate_history(&twice).unwrap_err().contains("twice"));
        let bad = [TaxRateChange { valid_from: d("2020-01-01"), rate: "120".into() }];
        assert!(check_tax_rate_history(&bad).unwrap_err().starts_with("[0].rate"));
    }

    #[test]
    fn tax_rates_are_percentages() {
        assert_eq!(parse_tax_rate("13").unwrap(), Decimal::from(13));
        assert_eq!(parse_tax_rate(" 8.10% ").unwrap().to_string(), "8.1");
        assert_eq!(parse_tax_rate("0").unwrap(), Decimal::ZERO);
        assert!(parse_tax_rate("100").is_err());
        assert!(parse_tax_rate("-1").is_err());
        assert!(parse_tax_rate("13.00001").is_err());
        assert!(parse_tax_rate("thirteen").is_err());
    }

    #[test]
    fn unit_prices_keep_six_decimals() {
        assert_eq!(parse_unit_price("0.012500").unwrap().to_string(), "0.0125");
        assert!(parse_unit_price("0.0000001").is_err());
        assert!(parse_unit_price("-2").is_err());
        assert!(parse_unit_price("1,50").is_err());
        assert!(parse_unit_price("1e30").is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in ProductKind::ALL {
            assert_eq!(ProductKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
    }
}
