//! Payer names: normalisation and similarity.
//!
//! Banks render the payer upper-cased, truncated to a field width (18, 35, 70 characters), with or without the
//! legal form and with punctuation mangled. Names are also not unique (group companies, common trading names), so a
//! name is only corroborating evidence; the engine never applies a payment on a name alone.

use std::collections::HashMap;

/// Legal-form tokens dropped from the end of a name: they carry no identity and banks drop them freely.
const LEGAL_FORMS: &[&str] = &[
    "GMBH",
    "AG",
    "KG",
    "OHG",
    "UG",
    "EV",
    "LTD",
    "LIMITED",
    "PLC",
    "LLP",
    "LLC",
    "INC",
    "CORP",
    "CO",
    "SARL",
    "SAS",
    "SA",
    "SRL",
    "SPA",
    "BV",
    "NV",
    "OY",
    "OYJ",
    "AB",
    "AS",
    "APS",
    "KK",
    "SL",
    "SE",
    "PTY",
    "有限公司",
];

/// Canonical form of a name: upper-case words of letters and digits, trailing legal forms removed, single spaces.
/// `"Junben Ixkel S.p.A."` and `"JUNBEN IXKEL"` both become `"JUNBEN IXKEL"`.
pub fn normalize_name(name: &str) -> String {
    let mut words: Vec<String> = name
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '&')
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_FORMS.contains(&w.as_str())) {
        words.pop();
    }
    words.join(" ")
}

/// Upper-case letters and digits only, legal forms kept: the form in which a truncated bank name is a prefix of
/// the master-data name regardless of where the bank cut (mid-word, inside "S.P.A.").
pub fn loose_name(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect()
}

/// A name prepared once for repeated comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreparedName {
    /// [`normalize_name`] form.
    pub canonical: String,
    /// [`loose_name`] form.
    pub loose: String,
}

impl PreparedName {
    /// Prepares `name`.
    pub fn new(name: &str) -> Self {
        PreparedName { canonical: normalize_name(name), loose: loose_name(name) }
    }
}

/// Similarity of a bank-rendered payer name to a master-data name, 0..1.
/// 1.0: same canonical name; 0.92: the bank name is a truncation (prefix, at least 8 characters) of ours;
/// otherwise Jaro-Winkler on the canonical forms scaled down, because fuzzy similarity between short generated or
/// common names is weak evidence.
pub fn name_similarity(bank: &PreparedName, ours: &PreparedName) -> f64 {
    if bank.canonical.is_empty() || ours.canonical.is_empty() {
        return 0.0;
    }
    if bank.canonical == ours.canonical {
        return 1.0;
    }
    let bank_chars = bank.loose.chars().count();
    if bank_chars >= 8 && ours.loose.starts_with(&bank.loose) {
        return 0.92;
    }
    if ours.canonical.chars().count() >= 8 && bank.loose.starts_with(&loose_name(&ours.canonical)) {
        // The bank added something (a branch, "PAYMENTS DEPT") after the full name.
        return 0.85;
    }
    strsim::jaro_winkler(&bank.canonical, &ours.canonical) * 0.85
}

/// Lookup of customers by name, used only to propose candidates when no IBAN identifies the payer.
#[derive(Debug, Default, Clone)]
pub struct NameIndex {
    exact: HashMap<String, Vec<u32>>,
    // Sorted loose forms for prefix (truncation) search.
    loose: Vec<(String, u32)>,
}

impl NameIndex {
    /// Adds a name of customer `cust`.
    pub fn add(&mut self, name: &PreparedName, cust: u32) {
        if name.canonical.is_empty() {
            return;
        }
        let e = self.exact.entry(name.canonical.clone()).or_default();
        if !e.contains(&cust) {
            e.push(cust);
        }
        self.loose.push((name.loose.clone(), cust));
    }

    /// Must be called after the last [`NameIndex::add`].
    pub fn finish(&mut self) {
        self.loose.sort();
        self.loose.dedup();
    }

    /// Customers whose name equals `bank` canonically, else whose name starts with it (truncation); at most
    /// `limit` of them, and none if more match (a name shared that widely identifies nobody).
    pub fn lookup(&self, bank: &PreparedName, limit: usize) -> Vec<u32> {
        if let Some(v) = self.exact.get(&bank.canonical) {
            return if v.len() <= limit { v.clone() } else { Vec::new() };
        }
        if bank.loose.chars().count() < 8 {
            return Vec::new();
        }
        let start = self.loose.partition_point(|(l, _)| l.as_str() < bank.loose.as_str());
        let mut out = Vec::new();
        for (l, c) in &self.loose[start..] {
            if !l.starts_with(&bank.loose) {
                break;
            }
            if !out.contains(c) {
                out.push(*c);
            }
            if out.len() > limit {
                return Vec::new();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        name_similarity(&PreparedName::new(a), &PreparedName::new(b))
    }

    #[test]
    fn bank_renderings_match() {
        assert_eq!(normalize_name("Junben Ixkel S.p.A."), "JUNBEN IXKEL");
        assert_eq!(sim("JUNBEN IXKEL S.P.A.", "Junben Ixkel S.p.A."), 1.0);
        assert_eq!(sim("Junben Ixkel", "Junben Ixkel S.p.A."), 1.0);
        assert!(sim("KALOMERTIN SELVO G", "Kalomertin Selvo GmbH") >= 0.9);
        assert_eq!(sim("上海宏达贸易有限公司", "上海宏达贸易有限公司"), 1.0);
        assert!(sim("HMRC", "Kalomertin Selvo GmbH") < 0.6);
        assert_eq!(sim("", "Kalomertin Selvo GmbH"), 0.0);
    }

    #[test]
    fn index_finds_truncated_names() {
        let mut idx = NameIndex::default();
        idx.add(&PreparedName::new("Kalomertin Selvo GmbH"), 0);
        idx.add(&PreparedName::new("Vosa Ltd"), 1);
        idx.finish();
        assert_eq!(idx.lookup(&PreparedName::new("KALOMERTIN SELVO G"), 3), vec![0]);
        assert_eq!(idx.lookup(&PreparedName::new("VOSA"), 3), vec![1]);
        assert!(idx.lookup(&PreparedName::new("BANK"), 3).is_empty());
    }
}
