//! Reference formats learned from people: how a customer quotes our document numbers where the
//! built-in reading does not recognise them (`R155/26` or `AR.26.155` for INV-2026-0000155).
//!
//! A person's confirmation of such a line teaches the quoted token's shape with the running
//! number as a placeholder: `R{n}/99` (letters, separators and other characters as written,
//! upper case; `{n}` the document's running number; `9` any digit). A later line with a token of
//! that shape finds the customer's own documents with that running number: a reading as good as
//! a degraded number once the format is confirmed often enough (the tenant's minimum for names)
//! and never rejected, a weak one (like a bare running number) before that. Only the format's
//! customer's documents are looked at, which is what makes a running number mean something.

use std::ops::Range;

use super::super::references::{is_separator, strip_zeros, verify_key, write_doc_key, KeyKind, RefStrength};
use super::super::LineInput;
use super::build::ref_key;
use super::hypothesis::Hit;
use super::Engine;

/// The running number's place in a format.
const NUMBER: &str = "{n}";
/// Longest token a format is learned from or compared with: longer ones are sentences, not references.
const MAX_TOKEN: usize = 40;
/// Longest running number read through a format.
const MAX_NUMBER_DIGITS: usize = 12;

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    /// This byte, as written (upper case).
    Lit(u8),
    /// A group of exactly this many digits (a year, a branch number).
    Digits(usize),
    /// The running number: a group of digits.
    Number,
}

/// A format as the engine reads it; `None` for a text that is not one (no `{n}`, no letter).
pub(super) fn compile(format: &str) -> Option<Vec<Part>> {
    let b = format.as_bytes();
    let (mut parts, mut i, mut numbers) = (Vec::new(), 0, 0);
    while i < b.len() {
        if b[i..].starts_with(NUMBER.as_bytes()) {
            parts.push(Part::Number);
            numbers += 1;
            i += NUMBER.len();
        } else if b[i] == b'9' {
            let n = b[i..].iter().take_while(|&&c| c == b'9').count();
            parts.push(Part::Digits(n));
            i += n;
        } else {
            parts.push(Part::Lit(b[i]));
            i += 1;
        }
    }
    let letters = parts.iter().any(|p| matches!(p, Part::Lit(c) if c.is_ascii_alphabetic()));
    (numbers == 1 && letters).then_some(parts)
}

fn digit_run(token: &[u8], from: usize) -> usize {
    token[from.min(token.len())..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Where the running number stands in `token` (upper-cased) when the token has the format's shape.
pub(super) fn read_number(parts: &[Part], token: &[u8]) -> Option<Range<usize>> {
    let (mut i, mut number) = (0, None);
    for p in parts {
        match p {
            Part::Lit(c) => {
                if token.get(i) != Some(c) {
                    return None;
                }
                i += 1;
            }
            Part::Digits(n) => {
                if digit_run(token, i) != *n {
                    return None;
                }
                i += n;
            }
            Part::Number => {
                let n = digit_run(token, i);
                if n == 0 || n > MAX_NUMBER_DIGITS {
                    return None;
                }
                number = Some(i..i + n);
                i += n;
            }
        }
    }
    if i == token.len() {
        number
    } else {
        None
    }
}

/// The tokens of a text (between separators, as the reference scanner cuts words), upper-cased, with
/// their byte ranges; none longer than [`MAX_TOKEN`].
pub(super) fn tokens(text: &str) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if is_separator(c) {
            if let Some(s) = start.take() {
                if i - s <= MAX_TOKEN {
                    out.push((s..i, text[s..i].bytes().map(|b| b.to_ascii_uppercase()).collect()));
                }
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    out
}

/// The running number of a document: its last digit group without leading zeros (`155` of
/// INV-2026-0000155, `4711` of `4711`).
fn running_number(doc_no: &str) -> Option<String> {
    let mut buf = String::new();
    if write_doc_key(doc_no, KeyKind::Last, &mut buf) {
        return Some(buf);
    }
    let digits: String = doc_no.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty() && digits.len() == doc_no.chars().filter(char::is_ascii_alphanumeric).count())
        .then(|| strip_zeros(&digits).to_string())
}

/// The format in which `texts` quote document `doc_no`, if one of their tokens holds its running
/// number as a digit group (once) among letters or other groups: the token with that group as
/// `{n}` and every other digit as `9`. Tokens without a letter teach nothing (braces separate
/// tokens, so none holds one).
pub fn learn_format(texts: &[&str], doc_no: &str) -> Option<String> {
    let number = running_number(doc_no)?;
    for text in texts {
        for (_, token) in tokens(text) {
            if !token.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            let mut groups: Vec<Range<usize>> = Vec::new();
            let mut i = 0;
            while i < token.len() {
                let n = digit_run(&token, i);
                if n > 0 {
                    groups.push(i..i + n);
                    i += n;
                } else {
                    i += 1;
                }
            }
            let is_number =
                |g: &Range<usize>| std::str::from_utf8(&token[g.clone()]).is_ok_and(|d| strip_zeros(d) == number);
            let [hit] = groups.iter().filter(|g| is_number(g)).collect::<Vec<&Range<usize>>>()[..] else {
                continue;
            };
            let mut format = Vec::with_capacity(token.len() + 2);
            let mut i = 0;
            while i < token.len() {
                if i == hit.start {
                    format.extend_from_slice(NUMBER.as_bytes());
                    i = hit.end;
                } else if token[i].is_ascii_digit() {
                    format.push(b'9');
                    i += 1;
                } else {
                    format.push(token[i]);
                    i += 1;
                }
            }
            let format = String::from_utf8(format).ok()?;
            if compile(&format).is_some() {
                return Some(format);
            }
        }
    }
    None
}

impl Engine {
    /// Every token of the line's texts that has a learned format: its field, its span, the token,
    /// where the running number stands in it, and the format's fact and customer.
    fn format_reads(
        &self,
        line: &LineInput,
        mut visit: impl FnMut(usize, &Range<usize>, &[u8], Range<usize>, u32, u32),
    ) {
        for (f, text) in [&line.remittance, &line.creditor_reference, &line.end_to_end_id].into_iter().enumerate() {
            let Some(text) = text.as_deref() else { continue };
            for (span, token) in tokens(text) {
                for (parts, fact, cust) in self.learned_formats() {
                    if let Some(number) = read_number(parts, &token) {
                        visit(f, &span, &token, number, fact, cust);
                    }
                }
            }
        }
    }

    /// Documents of a customer whose learned format a token of the line has, read by their running
    /// number; where a stronger reading found a document already, it is kept.
    pub(super) fn learned_format_hits(&self, line: &LineInput, hits: &mut Vec<Hit>) {
        let mut buf = String::new();
        self.format_reads(line, |f, span, token, number, fact, cust| {
            let key = strip_zeros(std::str::from_utf8(&token[number]).unwrap_or_default());
            let strength = if self.format_trusted(fact) { RefStrength::LearnedFormat } else { RefStrength::BareNumber };
            for &it in self.refs.get(ref_key(KeyKind::Last, key)) {
                if self.meta[it as usize].cust != cust
                    || verify_key(&self.items[it as usize].doc_no, KeyKind::Last, key, false, &mut buf).is_none()
                {
                    continue;
                }
                let hit = Hit { item: it, strength, field: f, span: span.clone() };
                match hits.iter_mut().find(|h| h.item == it) {
                    Some(h) if h.strength < strength => *h = hit,
                    Some(_) => {}
                    None => hits.push(hit),
                }
            }
        });
    }

    /// The learned formats of `cust` that a token of the line's texts has (for evidence).
    pub(super) fn formats_quoted(&self, line: &LineInput, cust: u32) -> Vec<u32> {
        let mut out = Vec::new();
        self.format_reads(line, |_, _, _, _, fact, c| {
            if c == cust && !out.contains(&fact) {
                out.push(fact);
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_shape_becomes_a_format_that_reads_the_number_back() {
        assert_eq!(learn_format(&["Zahlung R155/26 danke"], "INV-2026-0000155").as_deref(), Some("R{n}/99"));
        assert_eq!(learn_format(&["ar.26.0155"], "INV-2026-0000155").as_deref(), Some("AR.99.{n}"));
        assert_eq!(learn_format(&["KD4711-155"], "4711").as_deref(), Some("KD{n}-999"));
        // No letter, the number twice, or no number: nothing to learn.
        assert_eq!(learn_format(&["155/26"], "INV-2026-0000155"), None);
        assert_eq!(learn_format(&["R155-155"], "INV-2026-0000155"), None);
        assert_eq!(learn_format(&["R156/26"], "INV-2026-0000155"), None);

        let parts = compile("R{n}/99").unwrap();
        assert_eq!(read_number(&parts, b"R0312/27"), Some(1..5));
        assert_eq!(read_number(&parts, b"R312/2027"), None, "two digits, not four");
        assert_eq!(read_number(&parts, b"X312/27"), None);
        assert_eq!(read_number(&parts, b"R/27"), None);
        assert_eq!(compile("{n}/99"), None, "a format needs a letter");
        assert_eq!(compile("R99"), None, "and the running number");
    }
}
