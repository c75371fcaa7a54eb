//! Money: exact decimals in a currency whose ISO 4217 minor unit is respected (JPY 0, EUR 2,
//! KWD 3). Amounts arrive as strings and are never floats anywhere in the service.

use rust_decimal::Decimal;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    UnknownCurrency(String),
    NotADecimal(String),
    TooManyDecimals { currency: String, allowed: u32, given: u32 },
    OutOfRange,
}

impl std::fmt::Display for MoneyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MoneyError::UnknownCurrency(c) => {
                write!(f, "unknown currency {c:?}: expected an ISO 4217 code such as EUR")
            }
            MoneyError::NotADecimal(s) => write!(f, "{s:?} is not a decimal amount (use a string such as \"1234.50\")"),
            MoneyError::TooManyDecimals { currency, allowed, given } => {
                write!(f, "{currency} allows {allowed} decimal places, the amount has {given}")
            }
            MoneyError::OutOfRange => write!(f, "amount is out of range"),
        }
    }
}

/// Largest absolute amount we accept: NUMERIC(20, 4) holds 16 integer digits.
const MAX_ABS_AMOUNT: Decimal = Decimal::from_parts(1_874_919_423, 2_328_306, 0, false, 0); // 10^16 - 1

/// A validated ISO 4217 currency with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u32,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let trimmed = code.trim();
        // Accept only the canonical upper-case form: "eur" in a ledger is a data error worth seeing.
        if trimmed.len() != 3 || !trimmed.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(MoneyError::UnknownCurrency(code.to_string()));
        }
        let iso =
            iso_currency::Currency::from_code(trimmed).ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))?;
        // Funds and metals (XAU, XDR...) have no minor unit; they are not invoice currencies.
        let minor_units = iso.exponent().map(u32::from).ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))?;
        let bytes = trimmed.as_bytes();
        Ok(Currency { code: [bytes[0], bytes[1], bytes[2]], minor_units })
    }

    /// As [`Currency::parse`], and also the national currencies ISO 4217 has withdrawn (DEM, FRF,
    /// NLG ...): bank statements and accounts from before the euro still use them, invoices never.
    pub fn parse_including_withdrawn(code: &str) -> Result<Currency, MoneyError> {
        Currency::parse(code).or_else(|e| {
            let trimmed = code.trim();
            let minor_units = withdrawn_minor_units(trimmed).ok_or(e)?;
            let b = trimmed.as_bytes();
            Ok(Currency { code: [b[0], b[1], b[2]], minor_units })
        })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// Parses an amount given as text and checks it against this currency's minor units.
    /// Trailing zeros beyond the minor unit are harmless ("12.500" EUR is 12.50).
    pub fn parse_amount(&self, text: &str) -> Result<Decimal, MoneyError> {
        let trimmed = text.trim();
        let valid_chars = !trimmed.is_empty()
            && trimmed
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && (b == b'-' || b == b'+')));
        if !valid_chars {
            return Err(MoneyError::NotADecimal(text.to_string()));
        }
        let value = Decimal::from_str(trimmed).map_err(|_| MoneyError::NotADecimal(text.to_string()))?;
        self.check_amount(value)
    }

    pub fn check_amount(&self, value: Decimal) -> Result<Decimal, MoneyError> {
        if value.abs() > MAX_ABS_AMOUNT {
            return Err(MoneyError::OutOfRange);
        }
        let normalized = value.normalize();
        if normalized.scale() > self.minor_units {
            return Err(MoneyError::TooManyDecimals {
                currency: self.code().to_string(),
                allowed: self.minor_units,
                given: normalized.scale(),
            });
        }
        Ok(self.rescale(value))
    }

    /// The amount written with exactly the currency's minor units ("100" EUR -> "100.00").
    pub fn rescale(&self, value: Decimal) -> Decimal {
        let mut v = value.round_dp(self.minor_units);
        v.rescale(self.minor_units);
        v
    }

    pub fn format(&self, value: Decimal) -> String {
        self.rescale(value).to_string()
    }
}

/// Withdrawn ISO 4217 currencies (ISO's list of historic denominations, the ones a bank file may
/// still name) with their minor units. Only codes that are no longer current are listed.
const WITHDRAWN: [(&str, u32); 37] = [
    ("ADP", 0),
    ("ATS", 2),
    ("AZM", 2),
    ("BEF", 0),
    ("BGL", 2),
    ("CSD", 2),
    ("CSK", 2),
    ("CYP", 2),
    ("DEM", 2),
    ("EEK", 2),
    ("ESP", 0),
    ("FIM", 2),
    ("FRF", 2),
    ("GHC", 2),
    ("GRD", 0),
    ("IEP", 2),
    ("ITL", 0),
    ("LTL", 2),
    ("LUF", 0),
    ("LVL", 2),
    ("MGF", 0),
    ("MTL", 2),
    ("MZM", 2),
    ("NLG", 2),
    ("PLZ", 2),
    ("PTE", 0),
    ("ROL", 2),
    ("RUR", 2),
    ("SDD", 2),
    ("SIT", 2),
    ("SKK", 2),
    ("SRG", 2),
    ("TMM", 2),
    ("TRL", 0),
    ("VEB", 2),
    ("XEU", 2),
    ("ZMK", 2),
];

/// Minor units of a withdrawn ISO 4217 currency; `None` for any other code.
pub fn withdrawn_minor_units(code: &str) -> Option<u32> {
    WITHDRAWN.iter().find(|(c, _)| *c == code).map(|(_, units)| *units)
}

/// Formats an amount stored for `currency_code` (already validated when written).
pub fn format_amount(currency_code: &str, value: Decimal) -> String {
    match Currency::parse_including_withdrawn(currency_code) {
        Ok(c) => c.format(value),
        Err(_) => value.normalize().to_string(),
    }
}

/// For people: the amount at the currency's scale with thousands separators ("1,243.50").
pub fn display_amount(currency_code: &str, value: Decimal) -> String {
    let plain = format_amount(currency_code, value.abs());
    let (int, frac) = plain.split_once('.').map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(plain.len() + int.len() / 3 + 1);
    if value.is_sign_negative() && !value.is_zero() {
        grouped.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if let Some(f) = frac {
        grouped.push('.');
        grouped.push_str(f);
    }
    grouped
}

/// `numerator / denominator * scale` for reported ratios (DSO in days, recovery in percent):
/// rounded half away from zero to one decimal and always written with one ("120.0", not "120"),
/// so a column of them lines up. `None` when the denominator is not positive.
pub fn ratio_one_decimal(numerator: Decimal, denominator: Decimal, scale: Decimal) -> Option<String> {
    (denominator > Decimal::ZERO).then(|| {
        let mut r = (numerator / denominator * scale)
            .round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        r.rescale(1);
        r.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_groups_thousands() {
        use std::str::FromStr;
        assert_eq!(display_amount("EUR", Decimal::from_str("1243.5").unwrap()), "1,243.50");
        assert_eq!(display_amount("EUR", Decimal::from_str("-1234567.891").unwrap()), "-1,234,567.89");
        assert_eq!(display_amount("JPY", Decimal::from_str("999").unwrap()), "999");
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("EUR").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
    }

    #[test]
    fn rejects_unknown_and_lowercase_currencies() {
        assert!(Currency::parse("EUX").is_err());
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("XAU").is_err());
    }

    #[test]
    fn withdrawn_currencies_only_where_asked_for() {
        assert!(Currency::parse("DEM").is_err());
        let dem = Currency::parse_including_withdrawn("DEM").unwrap();
        assert_eq!((dem.code(), dem.minor_units()), ("DEM", 2));
        assert_eq!(Currency::parse_including_withdrawn("ITL").unwrap().minor_units(), 0);
        assert!(Currency::parse_including_withdrawn("EUX").is_err());
        assert_eq!(Currency::parse_including_withdrawn("EUR").unwrap().minor_units(), 2);
        assert_eq!(format_amount("DEM", Decimal::new(8_434_974, 2)), "84349.74");
        // Still current codes are not in the withdrawn list.
        for (code, _) in WITHDRAWN {
            assert!(iso_currency::Currency::from_code(code).is_none(), "{code} is current");
        }
    }

    #[test]
    fn amounts_respect_minor_units() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.parse_amount("12.5").unwrap().to_string(), "12.50");
        assert_eq!(eur.parse_amount("12.500").unwrap().to_string(), "12.50");
        assert!(matches!(eur.parse_amount("12.345"), Err(MoneyError::TooManyDecimals { given: 3, .. })));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.parse_amount("1500").unwrap().to_string(), "1500");
        assert!(jpy.parse_amount("1500.5").is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.parse_amount("1.234").unwrap().to_string(), "1.234");
    }

    #[test]
    fn rejects_non_decimal_text() {
        let eur = Currency::parse("EUR").unwrap();
        for bad in ["", "1e3", "1,50", "abc", "NaN", "--1", "1.2.3", " "] {
            assert!(eur.parse_amount(bad).is_err(), "{bad:?} accepted");
        }
        assert!(eur.parse_amount("99999999999999999").is_err());
        assert_eq!(eur.parse_amount("9999999999999999").unwrap().to_string(), "9999999999999999.00");
    }

    #[test]
    fn ratios_have_exactly_one_decimal() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(ratio_one_decimal(d("120"), d("120"), d("120")).as_deref(), Some("120.0"));
        assert_eq!(ratio_one_decimal(d("1"), d("3"), d("100")).as_deref(), Some("33.3"));
        assert_eq!(ratio_one_decimal(d("0.25"), d("100"), d("100")).as_deref(), Some("0.3"), "half away from zero");
        assert_eq!(ratio_one_decimal(d("5"), d("0"), d("100")), None);
    }
}
