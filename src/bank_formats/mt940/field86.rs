//! The `:86:` field (information to the account owner) in its dialects: structured subfields
//! with SEPA keywords, slash keywords, or free text (see the module docs of `mt940`).

use super::{is_iban, is_iso11649, normalize_account_id, ParsedLine};

/// Joins fixed-width parts: no space after a part filled to `width` (it was cut).
fn join_parts<'s>(parts: impl IntoIterator<Item = &'s str>, width: usize) -> Option<String> {
    let mut out = String::new();
    let mut prev_full = false;
    for p in parts {
        // After a complete part the next one starts a new word; its own leading
        // blanks (continuation-line indentation) carry no meaning then.
        let p = if prev_full { p } else { p.trim_start() };
        if !out.is_empty() && !prev_full && !p.is_empty() {
            out.push(' ');
        }
        prev_full = p.chars().count() >= width;
        out.push_str(if prev_full { p } else { p.trim_end() });
    }
    let t = out.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn set_account(l: &mut ParsedLine, v: &str) {
    if let Some(a) = normalize_account_id(v) {
        if is_iban(&a) {
            l.counterparty_iban = Some(a);
        } else if l.counterparty_account.is_none() {
            l.counterparty_account = Some(a);
        }
    }
}

pub(super) fn apply_86(l: &mut ParsedLine, raw: &str) {
    let b = raw.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let sep_at = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_punctuation() && *c != b'/') && digits(i + 1..i + 3);
    if digits(0..3) && sep_at(3) {
        structured(l, &raw[4..], b[3], Some(&raw[..3]));
    } else if sep_at(0) {
        structured(l, &raw[1..], b[0], None);
    } else if raw.starts_with('/') && slash_keyword_at(raw, 0).is_some() {
        slash_keywords(l, raw);
    } else {
        l.remittance = join_parts(raw.split('\n'), 65);
    }
}

/// `?20…?21…` subfields. `body` starts right after the first separator.
fn structured(l: &mut ParsedLine, body: &str, sep: u8, gvc: Option<&str>) {
    // Subfield boundaries ignore line breaks: banks wrap at 65 chars regardless.
    let joined: String = body.split('\n').collect();
    let fields = subfields(&joined, sep);

    let mut remittance: Vec<&str> = Vec::new();
    let mut name: Vec<&str> = Vec::new();
    let mut key_ext = None;
    for &(code, val) in &fields {
        match code {
            0 => l.additional_info = Some(val.trim().to_string()),
            20..=29 | 60..=63 => remittance.push(val),
            31 => set_account(l, val),
            32 | 33 => name.push(val),
            34 => key_ext = Some(val.trim()),
            _ => {}
        }
    }
    l.counterparty_name = join_parts(name.iter().copied(), 27);
    if let Some(g) = gvc {
        let base = l.bank_transaction_code.take().unwrap_or_default();
        l.bank_transaction_code = Some(match key_ext.filter(|k| !k.is_empty()) {
            Some(k) => format!("{base}+{g}+{k}"),
            None => format!("{base}+{g}"),
        });
    }

    sepa_keywords(l, remittance);
}

/// The `(code, value)` subfields of a `?`-style body (joined across line breaks).
fn subfields(joined: &str, sep: u8) -> Vec<(u8, &str)> {
    let mut fields: Vec<(u8, &str)> = Vec::new();
    let jb = joined.as_bytes();
    let mut start = 0usize; // index of the 2-digit code
    let mut i = 2;
    while i <= jb.len() {
        let at_sep =
            i < jb.len() && jb[i] == sep && jb.get(i + 1..i + 3).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if at_sep || i == jb.len() {
            if let (Some(code), Some(val)) = (joined.get(start..start + 2), joined.get(start + 2..i)) {
                if let Ok(code) = code.parse::<u8>() {
                    fields.push((code, val));
                }
            }
            start = i + 1;
            i += 3;
        } else {
            i += 1;
        }
    }
    fields
}

/// The remittance subfields read as SEPA keyword segments: end-to-end id, customer reference,
/// ultimate party, IBAN and the remittance text.
fn sepa_keywords(l: &mut ParsedLine, remittance: Vec<&str>) {
    // SEPA keywords start a subfield ("EREF+…", "SVWZ+…"); following subfields
    // without a keyword continue the previous one.
    const KEYS: [&str; 13] =
        ["EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC", "COAM", "OAMT", "PURP"];
    let mut segments: Vec<(Option<&str>, Vec<&str>)> = vec![(None, Vec::new())];
    for part in remittance {
        let key = KEYS.iter().find(|k| part.strip_prefix(**k).is_some_and(|r| r.starts_with('+')));
        match key {
            // Keep the keyword while joining so the part's width is measured as written.
            Some(k) => segments.push((Some(k), vec![part])),
            None => {
                if let Some(last) = segments.last_mut() {
                    last.1.push(part);
                }
            }
        }
    }
    let mut text: Vec<String> = Vec::new();
    let mut ultimate = None;
    for (key, parts) in segments {
        let Some(joined) = join_parts(parts, 27) else { continue };
        let value = match key {
            Some(k) => joined[k.len() + 1..].trim().to_string(),
            None => joined,
        };
        if value.is_empty() {
            continue;
        }
        match key {
            None | Some("SVWZ") => text.push(value),
            Some("EREF") => l.end_to_end_id = Some(value),
            Some("KREF") => l.customer_reference = Some(value),
            Some("ABWA") | Some("ABWE") => ultimate = Some(value),
            Some("IBAN") if l.counterparty_iban.is_none() => set_account(l, &value),
            _ => {}
        }
    }
    if l.counterparty_name.is_none() {
        l.counterparty_name = ultimate;
    }
    l.remittance = (!text.is_empty()).then(|| text.join(" "));
}

const SLASH_KEYS: [&str; 27] = [
    "EREF", "PREF", "MARF", "CSID", "CNTP", "REMI", "PURP", "ULTC", "ULTD", "ULTB", "NAME", "IBAN", "BIC", "ADDR",
    "RTRN", "ISDT", "TRCD", "TRTP", "BENM", "ORDP", "CREF", "IREF", "EXCH", "CHGS", "OCMT", "SWOC", "INFO",
];

/// Keyword at byte `i` (`/KEY/`), if any.
fn slash_keyword_at(s: &str, i: usize) -> Option<&'static str> {
    let rest = s.get(i..)?.strip_prefix('/')?;
    SLASH_KEYS.iter().copied().find(|k| rest.strip_prefix(k).is_some_and(|r| r.starts_with('/')))
}

fn slash_keywords(l: &mut ParsedLine, raw: &str) {
    let text = join_parts(raw.split('\n'), 65).unwrap_or_default();
    // Keyword positions; values run to the next keyword.
    let marks: Vec<(usize, &str)> = text
        .char_indices()
        .filter(|(_, c)| *c == '/')
        .filter_map(|(i, _)| slash_keyword_at(&text, i).map(|k| (i, k)))
        .collect();
    let mut ultimate = None;
    for (n, &(pos, key)) in marks.iter().enumerate() {
        let start = pos + key.len() + 2;
        let end = marks.get(n + 1).map_or(text.len(), |m| m.0);
        if start > end {
            continue; // "/NAME//IBAN/…": the next keyword overlaps our closing slash
        }
        let value = text[start..end].trim().trim_end_matches('/').trim();
        if value.is_empty() {
            continue;
        }
        match key {
            "EREF" => l.end_to_end_id = Some(value.to_string()),
            "NAME" => l.counterparty_name = Some(value.to_string()),
            "IBAN" => set_account(l, value),
            "TRTP" => l.additional_info = Some(value.to_string()),
            "ULTD" | "ULTC" => ultimate = value.split('/').find(|s| !s.is_empty()).map(str::to_string),
            "CNTP" => {
                // account / BIC / name / city
                let mut it = value.split('/');
                if let Some(acct) = it.next() {
                    set_account(l, acct);
                }
                if let Some(name) = it.nth(1).filter(|s| !s.trim().is_empty()) {
                    l.counterparty_name = Some(name.trim().to_string());
                }
            }
            "REMI" => {
                if let Some(rest) = value.strip_prefix("USTD/") {
                    l.remittance = Some(rest.trim_start_matches('/').trim().to_string());
                } else if let Some(rest) = value.strip_prefix("STRD/") {
                    // STRD/CUR/RF18…  or STRD/ISO/RF18…: the reference is the last part.
                    let r = rest.rsplit('/').find(|s| !s.is_empty()).unwrap_or("").trim();
                    if is_iso11649(r) || !r.is_empty() {
                        l.creditor_reference = Some(r.to_string());
                    }
                } else {
                    l.remittance = Some(value.to_string());
                }
            }
            _ => {}
        }
    }
    if l.counterparty_name.is_none() {
        l.counterparty_name = ultimate;
    }
}
