//! A saved column mapping for imports: how one of the tenant's own spreadsheet (or CSV) layouts
//! maps onto an import's columns, so a file kept the way the finance team keeps it imports
//! without being rearranged first.

use super::sheet_columns::{header_key, ImportKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most header → column entries, ignored columns and date formats a mapping holds.
const MAX_ENTRIES: usize = 200;
const MAX_DATE_FORMATS: usize = 10;
/// The header is looked for (and may be set) within this many rows.
pub const MAX_HEADER_ROW: u32 = 1000;
/// Rows a header may span (a merged group title above the column titles).
pub const MAX_HEADER_ROWS: u32 = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportMapping {
    /// Header text as it stands in the file (compared without case, blanks and punctuation) →
    /// the import's column (`code`, `amount`, ... as in the template). A header spanning several
    /// rows is written with ` / ` between its rows' texts (`金额 / 原币`). Headers not named here
    /// are still recognised by their column name, Chinese label or a common synonym.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Headers of columns that are not imported (`序号`, `备注`): left out instead of refusing
    /// the file.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The sheet to read (default: the first whose header is recognised).
    pub sheet: Option<String>,
    /// The header's 1-based row, its last row when it spans several (default: the first of the
    /// first 30 rows recognised as the header). Rows above it (titles, the period) are skipped.
    pub header_row: Option<u32>,
    /// Rows the header spans, ending at `header_row` (default 1).
    pub header_rows: Option<u32>,
    /// chrono formats (`%d/%m/%Y`) tried for dates written as text, before the built-in ones
    /// (`2026-03-01`, `2026/3/1`, `2026.03.01`, `2026年3月1日`, `20260301`, `01.03.2026`).
    #[serde(default)]
    pub date_formats: Vec<String>,
}

impl ImportMapping {
    /// Checks the mapping against the import's columns; the message names the entry at fault.
    pub fn validate(&self, kind: ImportKind) -> Result<(), String> {
        let columns = kind.columns();
        if self.columns.len() + self.ignore.len() > MAX_ENTRIES {
            return Err(format!("at most {MAX_ENTRIES} columns and ignored headers"));
        }
        let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
        let mut keys: BTreeMap<String, &str> = BTreeMap::new();
        for (header, target) in &self.columns {
            check_header(header)?;
            if !columns.iter().any(|c| c.name == target) {
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                return Err(format!(
                    "columns.{header}: {target:?} is not a column of {} imports; use one of {}",
                    kind.as_str(),
                    names.join(", ")
                ));
            }
            if let Some(other) = targets.insert(target, header) {
                return Err(format!("columns: {other:?} and {header:?} both map to {target:?}"));
            }
            if let Some(other) = keys.insert(header_key(header), header) {
                return Err(format!("columns: {other:?} and {header:?} are the same header"));
            }
        }
        for header in &self.ignore {
            check_header(header)?;
            if keys.contains_key(&header_key(header)) {
                return Err(format!("ignore: {header:?} is also mapped in columns"));
            }
        }
        if let Some(sheet) = &self.sheet {
            if sheet.trim().is_empty() || sheet.chars().count() > 100 {
                return Err("sheet: 1 to 100 characters".into());
            }
        }
        if self.header_row.is_some_and(|r| r == 0 || r > MAX_HEADER_ROW) {
            return Err(format!("header_row: 1 to {MAX_HEADER_ROW}"));
        }
        let spans = self.header_rows.unwrap_or(1);
        if spans == 0 || spans > MAX_HEADER_ROWS {
            return Err(format!("header_rows: 1 to {MAX_HEADER_ROWS}"));
        }
        if self.header_row.is_some_and(|r| spans > r) {
            return Err("header_rows: more rows than header_row leaves above".into());
        }
        if self.date_formats.len() > MAX_DATE_FORMATS {
            return Err(format!("date_formats: at most {MAX_DATE_FORMATS}"));
        }
        for f in &self.date_formats {
            check_date_format(f)?;
        }
        Ok(())
    }

    /// The column a header maps to, if this mapping names it.
    pub fn column_for(&self, header: &str) -> Option<&str> {
        let key = header_key(header);
        self.columns.iter().find(|(h, _)| header_key(h) == key).map(|(_, c)| c.as_str())
    }

    pub fn ignores(&self, header: &str) -> bool {
        let key = header_key(header);
        self.ignore.iter().any(|h| header_key(h) == key)
    }
}

fn check_header(header: &str) -> Result<(), String> {
    if header_key(header).is_empty() || header.chars().count() > 200 || header.chars().any(char::is_control) {
        return Err(format!("{header:?}: a header is 1 to 200 printable characters, not only punctuation"));
    }
    Ok(())
}

/// A date format must write and read back a whole date (day, month and year).
fn check_date_format(format: &str) -> Result<(), String> {
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
    if format.chars().count() > 40 {
        return Err(format!("date_formats: {format:?} is too long"));
    }
    let mut text = String::new();
    use std::fmt::Write;
    if write!(text, "{}", day.format(format)).is_err() || NaiveDate::parse_from_str(&text, format) != Ok(day) {
        return Err(format!("date_formats: {format:?} is not a chrono date format with day, month and year"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(json: serde_json::Value) -> ImportMapping {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_mapping_names_known_columns_once() {
        let ok = mapping(serde_json::json!({"columns": {"客户编号": "code", "客户名称": "name"}, "ignore": ["序号"]}));
        assert_eq!(ok.validate(ImportKind::Customers), Ok(()));
        assert_eq!(ok.column_for(" 客户编号 "), Some("code"));
        assert!(ok.ignores("序号"));
        let unknown = mapping(serde_json::json!({"columns": {"颜色": "colour"}}));
        assert!(unknown.validate(ImportKind::Customers).unwrap_err().contains("not a column of customers"));
        let twice = mapping(serde_json::json!({"columns": {"编号": "code", "代码": "code"}}));
        assert!(twice.validate(ImportKind::Customers).unwrap_err().contains("both map to"));
        let same = mapping(serde_json::json!({"columns": {"Code No": "code", "code_no": "name"}}));
        assert!(same.validate(ImportKind::Customers).unwrap_err().contains("same header"));
    }

    #[test]
    fn rows_and_formats_are_checked() {
        let bad_row = mapping(serde_json::json!({"header_row": 0}));
        assert!(bad_row.validate(ImportKind::Products).is_err());
        let spans = mapping(serde_json::json!({"header_row": 1, "header_rows": 2}));
        assert!(spans.validate(ImportKind::Products).is_err());
        let format = mapping(serde_json::json!({"date_formats": ["%d/%m/%Y"]}));
        assert_eq!(format.validate(ImportKind::Documents), Ok(()));
        let no_day = mapping(serde_json::json!({"date_formats": ["%Y-%m"]}));
        assert!(no_day.validate(ImportKind::Documents).is_err());
    }
}
