//! Exchange rates for foreign-currency payments.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// A small table of rates. Only what is inserted is trusted; the inverse and one-step cross rates are derived
/// because treasury systems usually publish rates against one base currency only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FxRates {
    // BTreeMap, not HashMap: cross-rate derivation walks neighbours in a fixed order so results are reproducible.
    direct: BTreeMap<(String, String), Decimal>,
}

impl FxRates {
    /// An empty table.
    pub fn new() -> Self {
        FxRates::default()
    }

    /// Records that one unit of `from` buys `rate` units of `to`. Non-positive rates are ignored (they are data
    /// errors and would poison every derived rate).
    pub fn insert(&mut self, from: &str, to: &str, rate: Decimal) {
        if rate <= Decimal::ZERO {
            return;
        }
        self.direct.insert((from.to_ascii_uppercase(), to.to_ascii_uppercase()), rate);
    }

    /// Units of `to` per unit of `from`: identity, direct, inverse, or a cross rate through any currency that
    /// has a rate with both (first in alphabetical order, for determinism).
    pub fn rate(&self, from: &str, to: &str) -> Option<Decimal> {
        let (from, to) = (from.to_ascii_uppercase(), to.to_ascii_uppercase());
        if from == to {
            return Some(Decimal::ONE);
        }
        if let Some(r) = self.edge(&from, &to) {
            return Some(r);
        }
        let mut via: Vec<&String> = self
            .direct
            .keys()
            .filter_map(|(a, b)| {
                if *a == from {
                    Some(b)
                } else if *b == from {
                    Some(a)
                } else {
                    None
                }
            })
            .collect();
        via.sort();
        via.dedup();
        via.into_iter().find_map(|c| Some(self.edge(&from, c)? * self.edge(c, &to)?))
    }

    fn edge(&self, from: &str, to: &str) -> Option<Decimal> {
        if let Some(r) = self.direct.get(&(from.to_string(), to.to_string())) {
            return Some(*r);
        }
        let inv = self.direct.get(&(to.to_string(), from.to_string()))?;
        Decimal::ONE.checked_div(*inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn direct_inverse_and_cross() {
        let mut fx = FxRates::new();
        fx.insert("USD", "EUR", d("0.92"));
        fx.insert("GBP", "eur", d("1.17"));
        assert_eq!(fx.rate("usd", "EUR"), Some(d("0.92")));
        assert_eq!(fx.rate("EUR", "EUR"), Some(Decimal::ONE));
        let inv = fx.rate("EUR", "USD").unwrap();
        assert!((inv * d("0.92") - Decimal::ONE).abs() < d("0.0000001"));
        let cross = fx.rate("USD", "GBP").unwrap();
        assert!((cross - d("0.92") / d("1.17")).abs() < d("0.0000001"));
        assert_eq!(fx.rate("USD", "JPY"), None);
    }
}
