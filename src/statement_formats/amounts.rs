//! Amounts as customers' systems write them: `1,234.56`, `1.234,56`, `1 234,56`, `-12.30`,
//! `12.30-`, `(12.30)`, with a currency sign (`¥1,234.00`, `1.234,56 €`). Exact decimals,
//! never floats: the parsing itself is the bank formats' `parse_decimal`.

use crate::bank_formats::{parse_decimal, truncate};
use rust_decimal::Decimal;

/// The decimal and thousands separators: the mapping's, or what the cells show. A cell with
/// both marks tells by the last one; a single mark followed by other than three digits is the
/// decimal mark; `1,234` alone says nothing.
pub fn guess_separators(decimal: Option<char>, thousands: Option<char>, cells: &[&str]) -> (char, Option<char>) {
    let decimal = decimal.unwrap_or_else(|| {
        let (mut comma, mut dot) = (0usize, 0usize);
        for c in cells {
            let c = strip(c);
            let marks: Vec<(usize, char)> = c.char_indices().filter(|(_, ch)| matches!(ch, '.' | ',')).collect();
            let Some(&(at, last)) = marks.last() else { continue };
            let digits_after = c[at + 1..].chars().filter(char::is_ascii_digit).count();
            let kinds = marks.iter().filter(|(_, ch)| *ch == last).count();
            let is_decimal = if marks.iter().any(|(_, ch)| *ch != last) {
                true
            } else if kinds > 1 {
                false // "1.234.567": grouping only
            } else if digits_after == 3 {
                continue; // "1,234": either
            } else {
                true
            };
            match (is_decimal, last) {
                (true, ',') | (false, '.') => comma += 1,
                (true, _) | (false, _) => dot += 1,
            }
        }
        if comma > dot {
            ','
        } else {
            '.'
        }
    });
    let thousands = thousands.or(Some(if decimal == ',' { '.' } else { ',' }));
    (decimal, thousands)
}

/// Currency signs and codes around an amount, and the spaces inside it, dropped.
fn strip(cell: &str) -> String {
    let t = cell.trim();
    let t = t.trim_matches(|c: char| matches!(c, '€' | '$' | '£' | '¥' | '￥') || c.is_whitespace());
    let t = match t.get(..3) {
        Some(code) if t.len() > 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => &t[3..],
        _ => t,
    };
    let t = match t.len().checked_sub(3).and_then(|i| t.get(i..).map(|code| (i, code))) {
        Some((i, code)) if i > 0 && code.bytes().all(|b| b.is_ascii_uppercase()) => &t[..i],
        _ => t,
    };
    t.trim_matches(|c: char| matches!(c, '€' | '$' | '£' | '¥' | '￥') || c.is_whitespace())
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect()
}

/// An amount cell: `None` when empty.
pub fn read_amount(cell: &str, decimal: char, thousands: Option<char>) -> Result<Option<Decimal>, String> {
    let t = strip(cell);
    if t.is_empty() || t == "-" {
        return Ok(None);
    }
    let (negative, body) = match t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, t.as_str()),
    };
    let thousands = thousands.filter(|&th| th != ' ');
    let value = parse_decimal(body, decimal, thousands)
        .map_err(|_| format!("amount '{}' is not a number", truncate(cell, 40)))?;
    Ok(Some(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn separators_are_told_by_the_cells() {
        assert_eq!(guess_separators(None, None, &["1.234,56", "88,00"]), (',', Some('.')));
        assert_eq!(guess_separators(None, None, &["1,234.56", "88.00"]), ('.', Some(',')));
        assert_eq!(guess_separators(None, None, &["1,234", "12,5"]), (',', Some('.')));
        assert_eq!(guess_separators(None, None, &["1.234.567"]), (',', Some('.')));
        assert_eq!(guess_separators(Some('.'), Some('\''), &["1'234.50"]), ('.', Some('\'')));
    }

    #[test]
    fn amounts_in_their_shapes() {
        assert_eq!(read_amount("1.234,56", ',', Some('.')).unwrap(), Some(d("1234.56")));
        assert_eq!(read_amount("(1,234.56)", '.', Some(',')).unwrap(), Some(d("-1234.56")));
        assert_eq!(read_amount("12.30-", '.', Some(',')).unwrap(), Some(d("-12.30")));
        assert_eq!(read_amount("¥1,234.00", '.', Some(',')).unwrap(), Some(d("1234.00")));
        assert_eq!(read_amount("1 234,56 EUR", ',', Some('.')).unwrap(), Some(d("1234.56")));
        assert_eq!(read_amount("", '.', None).unwrap(), None);
        assert!(read_amount("12e3", '.', None).is_err());
        assert!(read_amount("abc", '.', None).is_err());
    }
}
