//! Named CSV mappings for the exports of particular banks: one TOML file per bank in
//! `src/bank_formats/presets/` (compiled into the binary; adding a bank is adding a file). A
//! preset is chosen by name (`?preset=icbc_debit`, or `icbc` for the family) or recognised from
//! the file's header row when no format is given.
//!
//! A preset file holds `bank`, `description`, `detect` (header names that identify the export;
//! empty for exports without a header row) and `[mapping]`, a [`CsvMapping`] in which columns
//! the preset does not name are not read.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::csv_format::{header_key, CsvEncoding, CsvMapping, DEFAULT_COLUMNS, MAX_PREAMBLE_ROWS};

include!(concat!(env!("OUT_DIR"), "/csv_presets.rs"));

/// A bank's export layout.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CsvPreset {
    /// The file's name: `icbc_debit`.
    pub name: String,
    pub bank: String,
    pub description: String,
    /// Header names by which the export is recognised.
    pub detect: Vec<String>,
    #[schema(value_type = Object)]
    pub mapping: CsvMapping,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    bank: String,
    description: String,
    detect: Vec<String>,
    mapping: toml::Table,
}

fn load(name: &str, text: &str) -> Result<CsvPreset, String> {
    let file: PresetFile = toml::from_str(text).map_err(|e| format!("preset {name}: {e}"))?;
    let mut table = file.mapping;
    for key in DEFAULT_COLUMNS {
        table.entry(key).or_insert(toml::Value::Boolean(false));
    }
    table.entry("remittance").or_insert(toml::Value::Array(Vec::new()));
    let mapping: CsvMapping = table.try_into().map_err(|e| format!("preset {name}: mapping: {e}"))?;
    mapping.validate().map_err(|e| format!("preset {name}: {e}"))?;
    Ok(CsvPreset {
        name: name.to_string(),
        bank: file.bank,
        description: file.description,
        detect: file.detect,
        mapping,
    })
}

/// Every preset, by name. A file that does not load is left out and logged (a test loads all).
pub fn presets() -> &'static [CsvPreset] {
    static PRESETS: OnceLock<Vec<CsvPreset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        PRESET_FILES
            .iter()
            .filter_map(|(name, text)| match load(name, text) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!("{e}");
                    None
                }
            })
            .collect()
    })
}

/// Every preset file that does not load, with the reason (for the test that guards them).
pub fn preset_errors() -> Vec<String> {
    PRESET_FILES.iter().filter_map(|(name, text)| load(name, text).err()).collect()
}

/// The presets a name selects: the one of that name, else those of the family (`icbc` selects
/// `icbc_credit` and `icbc_debit`). Names are compared case-insensitively.
pub fn select_presets(name: &str) -> Vec<&'static CsvPreset> {
    let name = name.trim().to_ascii_lowercase();
    if let Some(p) = presets().iter().find(|p| p.name == name) {
        return vec![p];
    }
    let family = format!("{name}_");
    presets().iter().filter(|p| p.name.starts_with(&family)).collect()
}

/// The preset among `candidates` whose header row is in `head` (the first bytes of the file),
/// with the encoding the head is in. The preset naming the most columns wins.
pub fn detect_preset<'p>(head: &[u8], candidates: &[&'p CsvPreset]) -> Option<(&'p CsvPreset, CsvEncoding)> {
    let (text, encoding) = decode_head(head)?;
    let mut best: Option<(&CsvPreset, usize)> = None;
    for line in text.lines().take(MAX_PREAMBLE_ROWS + 20) {
        for p in candidates.iter().filter(|p| !p.detect.is_empty()) {
            let cells = split_row(line, p.mapping.delimiter, p.mapping.quote);
            let found = p.detect.iter().all(|d| {
                let key = header_key(d);
                cells.contains(&key)
            });
            if found && best.is_none_or(|(_, n)| p.detect.len() > n) {
                best = Some((p, p.detect.len()));
            }
        }
    }
    best.map(|(p, _)| (p, encoding))
}

/// The head as text: UTF-8 (a character cut at the end of the head is fine), else GB18030.
pub fn decode_head(head: &[u8]) -> Option<(String, CsvEncoding)> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match std::str::from_utf8(head) {
        Ok(s) => return Some((s.to_string(), CsvEncoding::Utf8)),
        Err(e) if e.error_len().is_none() => {
            return Some((String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned(), CsvEncoding::Utf8))
        }
        Err(_) => {}
    }
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(head.len() * 2);
    // `last = false`: a character cut at the end of the head is not an error.
    let (result, _) = decoder.decode_to_string_without_replacement(head, &mut out, false);
    match result {
        encoding_rs::DecoderResult::Malformed(..) => None,
        _ => Some((out, CsvEncoding::Gb18030)),
    }
}

/// One line of the head split into normalised cells (quotes honoured, no line breaks inside).
fn split_row(line: &str, delimiter: char, quote: char) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter as u8)
        .quote(quote as u8)
        .from_reader(line.as_bytes());
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => rec.iter().map(header_key).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads() {
        assert_eq!(preset_errors(), Vec::<String>::new());
        assert_eq!(presets().len(), PRESET_FILES.len());
        assert!(select_presets("ICBC").iter().all(|p| p.name.starts_with("icbc_")));
        assert_eq!(select_presets("icbc").len(), 2);
        assert_eq!(select_presets("wechat")[0].name, "wechat");
        assert!(select_presets("nosuchbank").is_empty());
    }

    #[test]
    fn recognised_by_header_in_any_encoding() {
        let all: Vec<&CsvPreset> = presets().iter().collect();
        let csv = "中国银行交易流水明细单\n记账日期,记账时间,币别,金额,余额,交易名称,渠道,网点名称,附言,对方账户名,对方卡号/账号,对方开户行,借记卡号\n";
        assert_eq!(
            detect_preset(csv.as_bytes(), &all).map(|(p, e)| (p.name.as_str(), e)),
            Some(("boc_debit", CsvEncoding::Utf8))
        );
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        assert_eq!(
            detect_preset(&gbk, &all).map(|(p, e)| (p.name.as_str(), e)),
            Some(("boc_debit", CsvEncoding::Gb18030))
        );
        assert!(detect_preset(b"line_id,account_iban,booking_date\n", &all).is_none());
        assert!(detect_preset(b"\xff\xfe\x00\x01", &all).is_none());
    }
}
