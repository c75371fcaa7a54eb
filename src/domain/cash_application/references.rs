//! Document numbers: normalisation, index keys, and extraction of candidate references from payment text.
//!
//! Payers quote our numbers in many shapes: `INV-2026-0000155`, `inv 2026/0000155`, `PMT INV 2026 0000155`,
//! `INV2026155` (zeros dropped), `2026-0000155` (prefix dropped), `Rechnung 155` (only the running number),
//! ISO 11649 creditor references `RF18INV20260000155`, and with typos such as two swapped digits. Each document
//! is therefore indexed under several derived keys ([`DocKeys`]), and each payment text is cut into words and
//! windows of up to three consecutive words, whose normalised forms are probed against those keys. How a hit was
//! made is kept as a [`RefStrength`], because a bare running number is far weaker evidence than the full number.

use std::ops::Range;

/// Which derived form of a document number a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// Upper-case letters and digits: `INV20260000155`.
    Full = 1,
    /// Digit groups without leading zeros: `INV2026155`.
    Compact = 2,
    /// Digits only (prefix dropped): `20260000155`.
    Digits = 3,
    /// Last digit group without leading zeros (running number only): `155`.
    Last = 4,
}

/// How much a reference hit is worth, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefStrength {
    /// The quoted number exists only with two adjacent digits swapped (typo).
    Transposed,
    /// Only the running number was quoted (`Rechnung 155`): several documents share it.
    BareNumber,
    /// Not our number but the customer's own reference on the document (its purchase-order or
    /// contract number, as the ledger carries it).
    CustomerReference,
    /// Complete number in a degraded form (prefix or leading zeros dropped).
    Degraded,
    /// The running number in the customer's own way of quoting our numbers, learned from people's
    /// confirmations (`R155/26`), among that customer's documents only.
    LearnedFormat,
    /// The full number (any punctuation/case), or a valid creditor reference built from it.
    Exact,
}

impl RefStrength {
    /// How a hit of this strength is described after "found as '...' in ...": empty for an exact hit.
    pub fn qualifier(self) -> &'static str {
        match self {
            RefStrength::Exact => "",
            RefStrength::Degraded => " (prefix or leading zeros missing)",
            RefStrength::LearnedFormat => " (the customer's own way of quoting our numbers, learned)",
            RefStrength::BareNumber => " (running number only)",
            RefStrength::CustomerReference => " (the customer's own reference on the document)",
            RefStrength::Transposed => " (two adjacent digits swapped)",
        }
    }
}

/// Upper-case ASCII letters and digits of `s`, everything else dropped: the canonical comparison form of a
/// document number (`"inv-2026/0000155"` -> `"INV20260000155"`).
pub fn normalize_reference(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The keys a document is indexed under. `None` where the form would equal [`DocKeys::full`] or does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocKeys {
    /// [`KeyKind::Full`] form.
    pub full: String,
    /// [`KeyKind::Compact`] form.
    pub compact: Option<String>,
    /// [`KeyKind::Digits`] form.
    pub digits: Option<String>,
    /// [`KeyKind::Last`] form.
    pub last: Option<String>,
}

impl DocKeys {
    /// The key of `kind`, if this document has one.
    pub fn get(&self, kind: KeyKind) -> Option<&str> {
        match kind {
            KeyKind::Full => Some(self.full.as_str()).filter(|s| !s.is_empty()),
            KeyKind::Compact => self.compact.as_deref(),
            KeyKind::Digits => self.digits.as_deref(),
            KeyKind::Last => self.last.as_deref(),
        }
    }
}

/// A digit group without its leading zeros (`"0000"` keeps one).
pub(crate) fn strip_zeros(d: &str) -> &str {
    let t = d.trim_start_matches('0');
    if t.is_empty() {
        &d[d.len().saturating_sub(1)..]
    } else {
        t
    }
}

/// Writes the `kind` key of `doc_no` into `out` (cleared first), without allocating. Returns `false` when the
/// document has no such key (no digits, or the form would equal [`KeyKind::Full`]). Groups are maximal runs of
/// ASCII letters or of ASCII digits; anything else separates groups.
pub fn write_doc_key(doc_no: &str, kind: KeyKind, out: &mut String) -> bool {
    out.clear();
    let b = doc_no.as_bytes();
    let (mut has_alpha, mut has_digit) = (false, false);
    for &c in b {
        has_alpha |= c.is_ascii_alphabetic();
        has_digit |= c.is_ascii_digit();
    }
    match kind {
        KeyKind::Full => {
            out.extend(b.iter().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase() as char));
            !out.is_empty()
        }
        KeyKind::Digits => {
            if !(has_alpha && has_digit) {
                return false;
            }
            out.extend(b.iter().filter(|c| c.is_ascii_digit()).map(|&c| c as char));
            true
        }
        KeyKind::Compact | KeyKind::Last => {
            let mut changed = false;
            let mut groups = 0;
            let mut i = 0;
            let mut last_start = 0;
            while i < b.len() {
                if !b[i].is_ascii_alphanumeric() {
                    i += 1;
                    continue;
                }
                let digit = b[i].is_ascii_digit();
                let start = i;
                while i < b.len() && b[i].is_ascii_alphanumeric() && b[i].is_ascii_digit() == digit {
                    i += 1;
                }
                groups += 1;
                let g = &doc_no[start..i];
                if kind == KeyKind::Last {
                    last_start = if digit { start } else { usize::MAX };
                    continue;
                }
                if digit {
                    let z = strip_zeros(g);
                    changed |= z.len() != g.len();
                    out.push_str(z);
                } else {
                    out.extend(g.chars().map(|c| c.to_ascii_uppercase()));
                }
            }
            if kind == KeyKind::Compact {
                return changed;
            }
            if last_start == usize::MAX || groups == 0 {
                return false;
            }
            let g = &doc_no[last_start..];
            let g = &g[..g.bytes().take_while(u8::is_ascii_digit).count()];
            let z = strip_zeros(g);
            if groups == 1 && z.len() == g.len() {
                return false; // would equal the full key
            }
            out.push_str(z);
            true
        }
    }
}

/// Derives the index keys of a document number (allocating convenience over [`write_doc_key`]).
pub fn doc_keys(doc_no: &str) -> DocKeys {
    let get = |kind| {
        let mut s = String::new();
        write_doc_key(doc_no, kind, &mut s).then_some(s)
    };
    DocKeys {
        full: get(KeyKind::Full).unwrap_or_default(),
        compact: get(KeyKind::Compact),
        digits: get(KeyKind::Digits),
        last: get(KeyKind::Last),
    }
}

impl KeyKind {
    /// Index key space: full, compact and digits-only forms share one space (a window of text is looked up once
    /// and verification tells which form it matched); running numbers have their own, weaker space.
    pub fn tag(self) -> u8 {
        if self == KeyKind::Last {
            2
        } else {
            1
        }
    }
}

/// ISO 11649 check: `RF` + two check digits + up to 21 alphanumerics, valid when the rearranged number is 1 mod 97.
pub fn is_valid_creditor_reference(s: &str) -> bool {
    let s = normalize_reference(s);
    let b = s.as_bytes();
    if b.len() < 5 || b.len() > 25 || &b[..2] != b"RF" || !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// One probe to look up: a normalised string in [`Scanner::keys`] under one key kind.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Key space to look it up in: [`KeyKind::Full`] stands for the shared full/compact/digits space (the hit is
    /// verified against the document to tell which form matched), [`KeyKind::Last`] for running numbers.
    pub kind: KeyKind,
    /// The best a hit could be worth (verification may downgrade a main-space hit to [`RefStrength::Degraded`]).
    pub strength: RefStrength,
    /// Range of the probe string in [`Scanner::keys`].
    pub key: Range<usize>,
    /// Index of the scanned field (order of [`Scanner::scan`] calls).
    pub field: usize,
    /// Byte range of the quoted text in that field, for evidence.
    pub span: Range<usize>,
    /// The probe is the body of a valid ISO 11649 creditor reference: any form it matches counts as exact.
    pub rf: bool,
}

/// A window of text shaped like a document number, kept for the (lazy) transposed-digit search.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// Range of the normalised window in [`Scanner::keys`].
    pub key: Range<usize>,
    /// Whether the window has letters (digit-only windows are only searched if our numbers have no prefix).
    pub has_alpha: bool,
    /// Field index, as in [`Probe::field`].
    pub field: usize,
    /// Byte range in the field.
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
struct Word {
    span: Range<usize>,
    alnum: Range<usize>,
    has_alpha: bool,
    digits: usize,
}

/// Keyword hints found while scanning (upper-cased whole words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// The payer says this is a part payment.
    pub partial: bool,
    /// The payer says a discount (skonto) was deducted.
    pub discount: bool,
}

const PARTIAL_WORDS: &[&str] =
    &["PARTIAL", "PART", "TEILZAHLUNG", "TEIL", "INSTALMENT", "INSTALLMENT", "ABSCHLAG", "ANZAHLUNG", "ACOMPTE"];
const DISCOUNT_WORDS: &[&str] = &["SKONTO", "DISCOUNT", "ESCOMPTE", "SCONTO", "KORTING"];

/// Reusable scanner: cuts texts into probes without allocating per line once warmed up.
#[derive(Debug, Default, Clone)]
pub struct Scanner {
    /// Backing store of every probe and shaped-window string.
    pub keys: String,
    /// Probes of all scanned fields.
    pub probes: Vec<Probe>,
    /// Document-number-shaped windows.
    pub shaped: Vec<Shaped>,
    /// Keyword hints.
    pub hints: Hints,
    words: Vec<Word>,
    wbuf: String,
    win: String,
}

/// Characters that separate words. `-`, `/` and `.` are not among them: they occur inside document numbers.
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\'' | '|' | '+')
}

impl Scanner {
    /// Forgets the previous line.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.probes.clear();
        self.shaped.clear();
        self.hints = Hints::default();
    }

    /// The string of a probe or shaped window.
    pub fn key(&self, r: &Range<usize>) -> &str {
        &self.keys[r.clone()]
    }

    /// Scans one field's text, appending probes tagged with `field`.
    pub fn scan(&mut self, field: usize, text: &str) {
        self.words.clear();
        self.wbuf.clear();
        let mut start = None;
        for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            if is_separator(c) {
                if let Some(s) = start.take() {
                    self.push_word(text, s..i);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        let mut win = std::mem::take(&mut self.win);
        for i in 0..self.words.len() {
            win.clear();
            let (mut alpha, mut digits) = (false, 0usize);
            for j in i..(i + 3).min(self.words.len()) {
                let w = &self.words[j];
                if w.alnum.is_empty() {
                    break; // punctuation-only words ("/", "-") end a window
                }
                // A number split by spaces ("INV 2026 0000155", "inv 2026/0000155") continues with digit-only words
                // after an optional short letter prefix; anything else ("REF INV-...", "Rechnung 155") is not one
                // number, and probing it would only cost lookups.
                if j > i
                    && (w.has_alpha
                        || (self.words[i].has_alpha && (self.words[i].digits > 0 || self.words[i].alnum.len() > 5)))
                {
                    break;
                }
                alpha |= w.has_alpha;
                digits += w.digits;
                win.push_str(&self.wbuf[w.alnum.clone()]);
                // Document numbers end in digits; windows ending in a word without digits are not probed.
                if w.digits == 0 || win.len() > 40 {
                    continue;
                }
                let span = self.words[i].span.start..w.span.end;
                self.probe_window(field, &win, alpha, digits, j == i, span);
            }
        }
        self.win = win;
    }

    fn push_word(&mut self, text: &str, span: Range<usize>) {
        let a0 = self.wbuf.len();
        let (mut has_alpha, mut digits) = (false, 0);
        for c in text[span.clone()].chars() {
            if c.is_ascii_alphanumeric() {
                has_alpha |= c.is_ascii_alphabetic();
                digits += usize::from(c.is_ascii_digit());
                self.wbuf.push(c.to_ascii_uppercase());
            }
        }
        let alnum = a0..self.wbuf.len();
        if has_alpha && digits == 0 {
            let w = &self.wbuf[alnum.clone()];
            self.hints.partial |= PARTIAL_WORDS.contains(&w);
            self.hints.discount |= DISCOUNT_WORDS.contains(&w);
        }
        self.words.push(Word { span, alnum, has_alpha, digits });
    }

    fn add(&mut self, field: usize, kind: KeyKind, strength: RefStrength, key: &str, span: &Range<usize>, rf: bool) {
        let k = self.keys.len();
        self.keys.push_str(key);
        self.probes.push(Probe { kind, strength, key: k..self.keys.len(), field, span: span.clone(), rf });
    }

    /// Probes for one window. Main-space probes carry [`KeyKind::Full`]; verification against the document decides
    /// whether the full, compact or digits-only form matched.
    fn probe_window(&mut self, field: usize, w: &str, alpha: bool, digits: usize, single: bool, span: Range<usize>) {
        use KeyKind::*;
        use RefStrength::*;
        self.add(field, Full, Exact, w, &span, false);
        if alpha {
            if w.starts_with("RF") && is_valid_creditor_reference(w) {
                self.add(field, Full, Exact, &w[4..], &span, true);
            }
            if single {
                // "NR155", "#155": letters then a running number.
                let tail = w.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                if !tail.is_empty() && tail.len() <= 9 && tail.bytes().all(|b| b.is_ascii_digit()) {
                    self.add(field, Last, BareNumber, strip_zeros(tail), &span, false);
                }
            }
        } else if single && w.len() <= 9 {
            self.add(field, Last, BareNumber, strip_zeros(w), &span, false);
        }
        if digits >= 4 {
            let k = self.keys.len();
            self.keys.push_str(w);
            self.shaped.push(Shaped { key: k..self.keys.len(), has_alpha: alpha, field, span });
        }
    }
}

/// How `key` (looked up in `kind`'s key space, see [`Probe::kind`]) matches `doc_no`, verified against the document
/// itself (indexes may hold hashes or several forms in one space). `None`: no match. `buf` is scratch space.
pub fn verify_key(doc_no: &str, kind: KeyKind, key: &str, rf: bool, buf: &mut String) -> Option<RefStrength> {
    if kind == KeyKind::Last {
        return (write_doc_key(doc_no, KeyKind::Last, buf) && buf == key).then_some(RefStrength::BareNumber);
    }
    if write_doc_key(doc_no, KeyKind::Full, buf) && buf == key {
        return Some(RefStrength::Exact);
    }
    for k in [KeyKind::Compact, KeyKind::Digits] {
        if write_doc_key(doc_no, k, buf) && buf == key {
            return Some(if rf { RefStrength::Exact } else { RefStrength::Degraded });
        }
    }
    None
}

/// Every variant of `key` with one pair of adjacent, different digits swapped (the most common typing error in
/// quoted numbers).
pub fn transposed_variants(key: &str) -> Vec<String> {
    let b = key.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(1) {
        if b[i].is_ascii_digit() && b[i + 1].is_ascii_digit() && b[i] != b[i + 1] {
            let mut v = b.to_vec();
            v.swap(i, i + 1);
            out.push(String::from_utf8(v).expect("ascii"));
        }
    }
    out
}

/// Convenience for callers outside the engine: the distinct normalised probe strings found in `text` with their
/// key spaces and best possible strengths (see [`Probe`]), strongest first. Useful for debugging why a line did
/// (not) match.
pub fn extract_references(text: &str) -> Vec<(KeyKind, RefStrength, String)> {
    let mut sc = Scanner::default();
    sc.scan(0, text);
    let mut out: Vec<(KeyKind, RefStrength, String)> =
        sc.probes.iter().map(|p| (p.kind, p.strength, sc.key(&p.key).to_string())).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_document_number() {
        let k = doc_keys("INV-2026-0000155");
        assert_eq!(k.full, "INV20260000155");
        assert_eq!(k.compact.as_deref(), Some("INV2026155"));
        assert_eq!(k.digits.as_deref(), Some("20260000155"));
        assert_eq!(k.last.as_deref(), Some("155"));
        assert_eq!(normalize_reference("inv-2026/0000155"), "INV20260000155");
    }

    #[test]
    fn creditor_reference_check() {
        assert!(is_valid_creditor_reference("RF18539007547034"));
        assert!(!is_valid_creditor_reference("RF19539007547034"));
        assert!(!is_valid_creditor_reference("INV20260000155"));
    }

    fn has(text: &str, kind: KeyKind, key: &str) -> bool {
        let kind = if kind == KeyKind::Last { kind } else { KeyKind::Full };
        extract_references(text).iter().any(|(k, _, s)| *k == kind && s == key)
    }

    #[test]
    fn noisy_shapes_produce_the_right_probes() {
        assert!(has("REF INV-2026-0000155 THANK YOU", KeyKind::Full, "INV20260000155"));
        assert!(has("inv 2026/0000155", KeyKind::Full, "INV20260000155"));
        assert!(has("PMT INV 2026 0000155", KeyKind::Full, "INV20260000155"));
        assert!(has("INV2026155", KeyKind::Compact, "INV2026155"));
        assert!(has("2026-0000155", KeyKind::Digits, "20260000155"));
        assert!(has("Rechnung 155", KeyKind::Last, "155"));
        assert!(has("INVOICE NO 155", KeyKind::Last, "155"));
        assert!(has("INV-2026-0000001;INV-2026-0000002", KeyKind::Full, "INV20260000002"));
        let mut sc = Scanner::default();
        sc.scan(0, "partial INV-2026-0000155");
        assert!(sc.hints.partial && !sc.hints.discount);
        assert_eq!(transposed_variants("A12"), vec!["A21".to_string()]);
    }
}
