//! Reading single cells of bank exports as banks write them: padded with blanks and tabs, marked
//! as text with a leading apostrophe, placeholders for "nothing", amounts with a currency or in
//! brackets, currencies by name, dates followed by a time.

use rust_decimal::Decimal;

use crate::bank_formats::{check_currency, parse_decimal, truncate};

/// A cell without padding and without the marks that only say "this is text" or "empty":
/// `'5191230567984561'` and `="0123"` (spreadsheet text markers), `-`, `--`, `----------`, `/`.
pub(crate) fn clean_cell(raw: &str) -> &str {
    let mut s = raw.trim();
    if let Some(inner) = s.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        s = inner.trim();
    }
    if let Some(rest) = s.strip_prefix('\'') {
        s = rest.strip_suffix('\'').unwrap_or(rest).trim();
    }
    let placeholder = !s.is_empty() && (s == "/" || s.bytes().all(|b| b == b'-') || s.chars().all(|c| c == '—'));
    if placeholder {
        ""
    } else {
        s
    }
}

/// A header name as compared: without any blank (`日 志 号` is `日志号`), case-insensitive,
/// full-width brackets and colons as ASCII ones.
pub(crate) fn header_key(name: &str) -> String {
    clean_cell(name)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Currency names banks write instead of the ISO code.
const CURRENCY_NAMES: [(&str, &str); 24] = [
    ("人民币", "CNY"),
    ("人民币元", "CNY"),
    ("RMB", "CNY"),
    ("元", "CNY"),
    ("美元", "USD"),
    ("美金", "USD"),
    ("港币", "HKD"),
    ("港元", "HKD"),
    ("欧元", "EUR"),
    ("日元", "JPY"),
    ("英镑", "GBP"),
    ("澳元", "AUD"),
    ("加元", "CAD"),
    ("加拿大元", "CAD"),
    ("瑞士法郎", "CHF"),
    ("新加坡元", "SGD"),
    ("新台币", "TWD"),
    ("澳门元", "MOP"),
    ("韩元", "KRW"),
    ("卢布", "RUB"),
    ("新西兰元", "NZD"),
    ("泰铢", "THB"),
    ("US$", "USD"),
    ("HK$", "HKD"),
];

/// The ISO code of a currency cell: the code itself (any case), or a name from
/// [`CURRENCY_NAMES`].
pub(crate) fn currency_code(cell: &str) -> Result<String, String> {
    let t = cell.trim();
    if let Some((_, iso)) = CURRENCY_NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(t)) {
        return Ok((*iso).to_string());
    }
    if t.len() == 3 && t.is_ascii() {
        return check_currency(&t.to_ascii_uppercase());
    }
    check_currency(t)
        .map_err(|_| format!("currency '{}' is neither an ISO 4217 code nor a known name", truncate(t, 20)))
}

/// An amount cell: a plain decimal, or one written with its currency (`CNY 123.18`, `13.50 EUR`,
/// `HK$1,000.00`, `¥12`), or in brackets for a negative amount (`(12.30)`). Returns the amount
/// and the currency the cell names, if any.
pub(crate) fn amount_cell(
    s: &str,
    decimal: char,
    thousands: Option<char>,
) -> Result<(Decimal, Option<String>), String> {
    // The common case first: nothing but the number.
    if let Ok(v) = parse_decimal(s, decimal, thousands) {
        return Ok((v, None));
    }
    let mut t = s.trim();
    let mut negative = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        t = inner.trim();
    }
    let mut currency = None;
    let letters = |x: &str| x.len() == 3 && x.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some(code) = t.get(..3).filter(|c| letters(c)) {
        currency = Some(currency_code(code)?);
        t = t[3..].trim_start();
    } else if let Some(code) = t.len().checked_sub(3).and_then(|i| t.get(i..)).filter(|c| letters(c)) {
        currency = Some(currency_code(code)?);
        t = t[..t.len() - 3].trim_end();
    }
    for (symbol, iso) in
        [("HK$", Some("HKD")), ("US$", Some("USD")), ("$", None), ("¥", None), ("￥", None), ("€", None), ("£", None)]
    {
        if let Some(rest) = t.strip_prefix(symbol) {
            t = rest.trim_start();
            if currency.is_none() {
                currency = iso.map(str::to_string);
            }
            break;
        }
    }
    if let Some(rest) = t.strip_suffix('元') {
        t = rest.trim_end();
        currency.get_or_insert_with(|| "CNY".to_string());
    }
    let v =
        parse_decimal(t, decimal, thousands).map_err(|_| format!("amount '{}' is not a decimal", truncate(s, 40)))?;
    Ok((if negative { -v } else { v }, currency))
}

/// Where the date ends in a cell that also holds a time (`2023-02-12 21:32:14`, `2025-03-01T15:12`).
pub(crate) fn date_part(s: &str) -> Option<&str> {
    let i = s.find([' ', 'T', '\t'])?;
    (i >= 6).then(|| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_lose_padding_and_markers() {
        assert_eq!(clean_cell("  2023-04-22     \t"), "2023-04-22");
        assert_eq!(clean_cell("'5191230567984561'"), "5191230567984561");
        assert_eq!(clean_cell("'0123"), "0123");
        assert_eq!(clean_cell("=\"00123\""), "00123");
        assert_eq!(clean_cell("-------------------"), "");
        assert_eq!(clean_cell(" / "), "");
        assert_eq!(clean_cell("-12.30"), "-12.30");
        assert_eq!(clean_cell("O'Brien"), "O'Brien");
        assert_eq!(header_key("日 志 号"), "日志号");
        assert_eq!(header_key(" Transaction Amount"), "transactionamount");
        assert_eq!(header_key("交易金额（收入）"), "交易金额(收入)");
    }

    #[test]
    fn amounts_with_currencies_and_brackets() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(amount_cell("CNY 123.18", '.', Some(',')).unwrap(), (d("123.18"), Some("CNY".into())));
        assert_eq!(amount_cell("CNY13.50", '.', Some(',')).unwrap(), (d("13.50"), Some("CNY".into())));
        assert_eq!(amount_cell("JPY 1000.00", '.', Some(',')).unwrap(), (d("1000.00"), Some("JPY".into())));
        assert_eq!(amount_cell("(1,234.50)", '.', Some(',')).unwrap(), (d("-1234.50"), None));
        assert_eq!(amount_cell("¥12.00", '.', None).unwrap(), (d("12.00"), None));
        assert_eq!(amount_cell("HK$1,000", '.', Some(',')).unwrap(), (d("1000"), Some("HKD".into())));
        assert_eq!(amount_cell("12,50 EUR", ',', None).unwrap(), (d("12.50"), Some("EUR".into())));
        assert!(amount_cell("XYZ 12", '.', None).is_err());
        assert!(amount_cell("12x", '.', None).unwrap_err().contains("'12x'"));
        assert_eq!(currency_code("人民币").unwrap(), "CNY");
        assert_eq!(currency_code("rmb").unwrap(), "CNY");
        assert_eq!(currency_code("hkd").unwrap(), "HKD");
        assert!(currency_code("Taler").is_err());
        assert_eq!(date_part("2023-02-12 21:32:14"), Some("2023-02-12"));
        assert_eq!(date_part("2025-03-01T15:12:22"), Some("2025-03-01"));
    }
}
