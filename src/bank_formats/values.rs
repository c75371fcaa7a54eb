//! Values as statements write them: account identifiers (IBAN, ISO 11649 references),
//! ISO 4217 currencies and their minor units, exact decimals, ISO dates, and messages that never
//! echo a huge value.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Upper-case, spaces removed; `None` if empty.
pub(crate) fn normalize_account_id(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Some(s.to_string()); // the usual case, no rebuilding
    }
    let v: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    (!v.is_empty()).then_some(v)
}

/// ISO 7064 mod 97-10 over an alphanumeric string whose 4 leading characters
/// are moved to the end (shared by IBAN and ISO 11649).
fn mod97_ok(s: &str) -> bool {
    if s.len() < 5 || !s.is_ascii() {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v < 10 { (rem * 10 + v) % 97 } else { (rem * 100 + v) % 97 };
    }
    rem == 1
}

/// A syntactically valid IBAN (country, check digits, BBAN, checksum).
pub fn is_iban(s: &str) -> bool {
    let b = s.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
        && mod97_ok(s)
}

/// A valid ISO 11649 structured creditor reference (`RF` + 2 check digits + up to 21 chars).
pub fn is_iso11649(s: &str) -> bool {
    let b = s.as_bytes();
    (5..=25).contains(&b.len())
        && b[..2].eq_ignore_ascii_case(b"RF")
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
        && mod97_ok(&s.to_ascii_uppercase())
}

/// ISO 4217 lookup table indexed by the three letters (26³ slots): 0 = not a
/// currency, 1 = currency without minor units defined (e.g. XAU), n + 2 = n
/// decimals. Built once from `iso_currency`; a lookup is then an array access,
/// which matters at two amounts per transaction.
fn currency_slot(code: &str) -> Option<usize> {
    let b = code.as_bytes();
    (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase))
        .then(|| b.iter().fold(0usize, |acc, c| acc * 26 + usize::from(c - b'A')))
}

fn currency_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![0u8; 26 * 26 * 26];
        let mut code = [b'A'; 3];
        for (slot, entry) in t.iter_mut().enumerate() {
            code[0] = b'A' + (slot / 676) as u8;
            code[1] = b'A' + (slot / 26 % 26) as u8;
            code[2] = b'A' + (slot % 26) as u8;
            let s = std::str::from_utf8(&code).unwrap_or_default();
            if let Some(c) = iso_currency::Currency::from_code(s) {
                *entry = c.exponent().map_or(1, |e| e.min(250) as u8 + 2);
            } else if let Some(units) = crate::domain::money::withdrawn_minor_units(s) {
                *entry = units as u8 + 2;
            }
        }
        t
    })
}

/// A currency ISO 4217 has withdrawn (DEM, FRF ...): accepted, and worth a warning.
pub(crate) fn is_withdrawn_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_none() && crate::domain::money::withdrawn_minor_units(code).is_some()
}

/// Validates an ISO 4217 code: three upper-case letters that exist in the ISO table (current, or
/// withdrawn: old statements in DEM or FRF are still statements).
pub(crate) fn check_currency(code: &str) -> Result<String, String> {
    let code = code.trim();
    let slot = currency_slot(code)
        .ok_or_else(|| format!("currency '{}' is not three upper-case letters", truncate(code, 40)))?;
    if currency_table()[slot] == 0 {
        return Err(format!("currency '{code}' is not an ISO 4217 code"));
    }
    Ok(code.to_string())
}

/// Minor units of a valid currency (`None` when ISO defines none, e.g. gold).
pub(crate) fn currency_exponent(code: &str) -> Option<u32> {
    let v = currency_table()[currency_slot(code)?];
    (v >= 2).then(|| u32::from(v - 2))
}

/// Rejects amounts with more significant decimals than the currency has
/// (`12.345 EUR`); trailing zeros (`100.00 JPY`) are fine.
pub(crate) fn check_minor_units(amount: Decimal, currency: &str) -> Result<(), String> {
    if let Some(exp) = currency_exponent(currency) {
        if amount.scale() > exp && amount.normalize().scale() > exp {
            return Err(format!("amount {amount} has more decimals than {currency} allows ({exp})"));
        }
    }
    Ok(())
}

/// Parses an exact decimal written with `decimal` as separator and optional
/// `thousands` grouping; accepts a leading `+`/`-` and (as some bank exports
/// write) a trailing `-`. Anything else — letters, exponents, two separators —
/// is an error. Never goes through floating point.
pub(crate) fn parse_decimal(s: &str, decimal: char, thousands: Option<char>) -> Result<Decimal, String> {
    let bad = || format!("amount '{}' is not a decimal", truncate(s, 40));
    let t = s.trim();
    // Fast path for the common plain form ("1234.56", XML and most CSV): digits
    // with at most one '.', handed to rust_decimal without rebuilding the string.
    if decimal == '.' {
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let dots = t.bytes().filter(|&b| b == b'.').count();
        if digits > 0
            && digits <= 28
            && digits + dots == t.len()
            && dots <= 1
            && !t.starts_with('.')
            && !t.ends_with('.')
        {
            return t.parse::<Decimal>().map_err(|_| bad());
        }
    }
    let (neg, body) = if let Some(r) = t.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = t.strip_prefix('+') {
        (false, r)
    } else if let Some(r) = t.strip_suffix('-') {
        (true, r)
    } else {
        (false, t)
    };
    let mut out = String::with_capacity(body.len() + 2);
    if neg {
        out.push('-');
    }
    if body.starts_with(decimal) {
        out.push('0'); // ".05": no integer digit, as some banks write fractions
    }
    let mut seen_sep = false;
    let mut digits = 0usize;
    let mut int_digits = 0usize;
    for c in body.chars() {
        if c.is_ascii_digit() {
            out.push(c);
            digits += 1;
            if !seen_sep {
                int_digits += 1;
            }
        } else if c == decimal && !seen_sep {
            seen_sep = true;
            out.push('.');
        } else if !seen_sep
            && int_digits > 0
            && thousands.is_some_and(|th| c == th || (th == ' ' && (c == '\u{a0}' || c == '\u{202f}')))
        {
            // grouping inside the integer part only
        } else {
            return Err(bad());
        }
    }
    if digits == 0 || out.ends_with('.') && int_digits == 0 {
        return Err(bad());
    }
    if out.ends_with('.') {
        out.pop(); // "12," is valid MT940 for 12
    }
    if digits > 28 {
        return Err(format!("amount '{}' has too many digits", truncate(s, 40)));
    }
    out.parse::<Decimal>().map_err(|_| bad())
}

/// Parses `YYYY-MM-DD`, optionally followed by a time and/or zone as ISO 8601
/// `xs:date` / `xs:dateTime` allow (the date part is the bank's booking day).
pub(crate) fn parse_iso_date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let b = t.as_bytes();
    let shape_ok = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit())
        && matches!(b.get(10), None | Some(b'T' | b'Z' | b'+' | b'-'));
    if !shape_ok {
        return Err(format!("date '{}' is not YYYY-MM-DD", truncate(t, 40)));
    }
    // Hand-rolled instead of parse_from_str: that re-parses the format string
    // for every date, which showed up in profiles of large statements.
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
        .ok_or_else(|| format!("date '{}' is not a valid date", truncate(t, 40)))
}

/// For messages: never echo a huge or binary value back in full.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
