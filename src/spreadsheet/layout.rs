//! A sheet laid out the way a person keeps it, arranged into an import's CSV: the header found
//! (below titles, possibly spanning merged rows, in Chinese or English words, or as a saved
//! mapping names it), cells cleaned the way their column needs (dates written as text in the
//! usual formats, numbers stored as text with thousands separators), and each data row's place in
//! the sheet kept, so a rejected row names the sheet, row and column a person finds in Excel.

use super::{cell_name, column_name, Table};
use crate::domain::import_mapping::ImportMapping;
use crate::domain::sheet_columns::{example_row, header_key, CellKind, Column};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Unknown headers named in a refusal (a sheet of 500 columns is not listed whole).
const MAX_LISTED: usize = 10;

/// The header is looked for in this many rows from the top of a sheet.
const HEADER_SEARCH_ROWS: usize = 30;

/// Text dates read without a mapping's own formats (after `YYYY-MM-DD`).
const DATE_FORMATS: [&str; 6] = ["%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%d.%m.%Y", "%Y-%m-%d"];

/// An import's rows in its CSV form, and where each came from.
#[derive(Debug, Default)]
pub struct Arranged {
    /// A header of the import's column names, then one line per data row.
    pub csv: Vec<u8>,
    /// The sheet read (spreadsheets only).
    pub sheet: Option<String>,
    /// For data row `i + 1` of `csv`: its row in the sheet (1-based), or in a CSV file its row
    /// counted from the line after the header.
    pub rows: Vec<u64>,
    /// Column name → its letter in the sheet (spreadsheets only).
    pub letters: Vec<(&'static str, String)>,
    pub notes: Vec<String>,
}

/// Whether the table came from a spreadsheet (rows and columns named as Excel names them) or a
/// CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Sheet,
    Csv,
}

/// The header found: its last row (0-based) and the column each cell maps to.
struct Header {
    row: usize,
    columns: Vec<(usize, &'static Column)>,
}

/// Arranges the first sheet whose header fits (or the mapping's sheet) into the import's CSV.
pub fn arrange(
    tables: &[Table],
    columns: &'static [Column],
    mapping: &ImportMapping,
    source: Source,
) -> Result<Arranged, String> {
    let candidates: Vec<&Table> = match &mapping.sheet {
        Some(name) => {
            let wanted = name.trim().to_lowercase();
            let found = tables.iter().find(|t| t.sheet.trim().to_lowercase() == wanted);
            let names: Vec<String> = tables.iter().map(|t| format!("{:?}", t.sheet)).collect();
            vec![found.ok_or_else(|| {
                format!("the mapping's sheet {name:?} is not in the file (sheets: {})", names.join(", "))
            })?]
        }
        None => tables
            .iter()
            .filter(|t| !super::is_notes_sheet(&t.sheet))
            .chain(tables.iter().filter(|t| super::is_notes_sheet(&t.sheet)))
            .collect(),
    };
    let words = Words::new(columns, mapping);
    let mut first_error = None;
    for table in &candidates {
        match find_header(table, &words, mapping, source) {
            Ok(header) => return Ok(arrange_rows(table, &header, mapping, source)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| "the file has no rows".to_string()))
}

/// The text of a column's header: the non-empty texts of the rows it spans, top to bottom,
/// without repeats (a cell merged over the rows counts once), joined by " / ".
fn header_text(table: &Table, last_row: usize, spans: usize, col: usize) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for r in (last_row + 1).saturating_sub(spans)..=last_row {
        let text = table.rows.get(r).and_then(|row| row.get(col)).map(|c| c.trim()).unwrap_or("");
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
    }
    parts.join(" / ")
}

enum Resolved {
    Column(&'static Column),
    Ignored,
    Unknown,
}

/// The header words, keyed as they are compared (once per file, not per cell): the mapping's
/// (a column, or `None` for an ignored header), then the columns' names, labels and synonyms.
struct Words {
    all: &'static [Column],
    mapped: HashMap<String, Option<&'static Column>>,
    known: HashMap<String, &'static Column>,
}

impl Words {
    fn new(all: &'static [Column], mapping: &ImportMapping) -> Words {
        let mut mapped = HashMap::new();
        for (header, name) in &mapping.columns {
            if let Some(c) = all.iter().find(|c| c.name == name) {
                mapped.insert(header_key(header), Some(c));
            }
        }
        for header in &mapping.ignore {
            mapped.insert(header_key(header), None);
        }
        let mut known = HashMap::new();
        for c in all {
            for word in c.synonyms.iter().chain([&c.label, &c.name]) {
                known.insert(header_key(word), c);
            }
        }
        Words { all, mapped, known }
    }

    /// A header (all its rows' text, and its last row's alone): the mapping first.
    fn resolve(&self, text: &str, last: &str) -> Resolved {
        let (text, last) = (header_key(text), header_key(last));
        for key in [&text, &last] {
            match self.mapped.get(key) {
                Some(Some(c)) => return Resolved::Column(c),
                Some(None) => return Resolved::Ignored,
                None => {}
            }
        }
        match self.known.get(&text).or_else(|| self.known.get(&last)) {
            Some(c) => Resolved::Column(c),
            None => Resolved::Unknown,
        }
    }
}

/// Reads row `row` as the header: every non-empty cell must name a column (or be ignored), no
/// column twice, and the required columns must be there. A row that is not the header says why,
/// with how many columns it did name (the row naming most is the one whose reason is shown).
fn header_at(
    table: &Table,
    row: usize,
    words: &Words,
    mapping: &ImportMapping,
    source: Source,
) -> Result<Header, (usize, String)> {
    let mut named = 0;
    header_cells(table, row, words, mapping, source, &mut named).map_err(|e| (named, e))
}

fn header_cells(
    table: &Table,
    row: usize,
    words: &Words,
    mapping: &ImportMapping,
    source: Source,
    named: &mut usize,
) -> Result<Header, String> {
    let spans = mapping.header_rows.unwrap_or(1) as usize;
    let width = (row + 1).saturating_sub(spans)..=row;
    let width = width.filter_map(|r| table.rows.get(r)).map(Vec::len).max().unwrap_or(0);
    let mut found: Vec<(usize, &'static Column)> = Vec::new();
    let mut unknown = Vec::new();
    for col in 0..width {
        let text = header_text(table, row, spans, col);
        if text.is_empty() {
            continue;
        }
        let last = table.rows.get(row).and_then(|r| r.get(col)).map(|c| c.trim()).unwrap_or("");
        match words.resolve(&text, last) {
            Resolved::Column(c) => {
                if let Some((other, _)) = found.iter().find(|(_, f)| f.name == c.name) {
                    return Err(format!(
                        "{} and {} both read as column {:?} (header {text:?}); a header over two columns (merged) \
                         needs header_rows or a mapping naming each",
                        place(source, row, *other),
                        place(source, row, col),
                        c.name
                    ));
                }
                found.push((col, c));
                *named += 1;
            }
            Resolved::Ignored => *named += 1,
            Resolved::Unknown => unknown.push(format!("{text:?} ({})", place(source, row, col))),
        }
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = words.all.iter().map(|c| c.name).collect();
        let more = unknown.len().saturating_sub(MAX_LISTED);
        unknown.truncate(MAX_LISTED);
        if more > 0 {
            unknown.push(format!("and {more} more"));
        }
        return Err(format!(
            "unknown column {}; the columns are {} (or their Chinese labels, see the template), or save an import \
             mapping for this layout",
            unknown.join(", "),
            names.join(", ")
        ));
    }
    let missing: Vec<&str> = words
        .all
        .iter()
        .filter(|c| c.required && !found.iter().any(|(_, f)| f.name == c.name))
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(format!("column {} is required (header row {})", missing.join(", "), row + 1));
    }
    Ok(Header { row, columns: found })
}

fn find_header(table: &Table, words: &Words, mapping: &ImportMapping, source: Source) -> Result<Header, String> {
    let in_sheet = |e: String| match source {
        Source::Sheet => format!("sheet {:?}: {e}", table.sheet),
        Source::Csv => e,
    };
    if let Some(row) = mapping.header_row {
        return header_at(table, row as usize - 1, words, mapping, source).map_err(|(_, e)| in_sheet(e));
    }
    let spans = mapping.header_rows.unwrap_or(1) as usize;
    // The row naming most columns is the header the sender meant: its reason is the one to read.
    let mut best: Option<(usize, String)> = None;
    for (r, cells) in table.rows.iter().enumerate().take(HEADER_SEARCH_ROWS).skip(spans - 1) {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match header_at(table, r, words, mapping, source) {
            Ok(h) => return Ok(h),
            Err((named, e)) if best.as_ref().is_none_or(|(most, _)| named > *most) => best = Some((named, e)),
            Err(_) => {}
        }
    }
    Err(in_sheet(best.map_or_else(|| "no header row in the first 30 rows".to_string(), |(_, e)| e)))
}

/// `D5` in a sheet, `column 4` in a CSV file.
fn place(source: Source, row: usize, col: usize) -> String {
    match source {
        Source::Sheet => cell_name(row as u32, col as u32),
        Source::Csv => format!("column {}", col + 1),
    }
}

fn arrange_rows(table: &Table, header: &Header, mapping: &ImportMapping, source: Source) -> Arranged {
    let mut out = Arranged::default();
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let names: Vec<&str> = header.columns.iter().map(|(_, c)| c.name).collect();
    // Writing to memory does not fail.
    let _ = writer.write_record(&names);
    let example: Vec<(&str, &str)> =
        example_row(&header.columns.iter().map(|(_, c)| **c).collect::<Vec<_>>()).collect();
    for (r, cells) in table.rows.iter().enumerate().skip(header.row + 1) {
        let values: Vec<String> = header
            .columns
            .iter()
            .map(|(col, c)| clean(cells.get(*col).map(String::as_str).unwrap_or(""), c.cell, mapping, source))
            .collect();
        if values.iter().all(String::is_empty) {
            continue;
        }
        if values.iter().zip(&example).all(|(v, (_, e))| v == e) {
            out.notes.push(format!("row {} is the template's example row: not imported", r + 1));
            continue;
        }
        let _ = writer.write_record(&values);
        out.rows.push(match source {
            Source::Sheet => r as u64 + 1,
            Source::Csv => (r - header.row) as u64,
        });
    }
    out.csv = writer.into_inner().unwrap_or_default();
    if source == Source::Sheet {
        out.sheet = Some(table.sheet.clone());
        out.letters = header.columns.iter().map(|(col, c)| (c.name, column_name(*col as u32))).collect();
        out.notes.push(format!("read sheet {:?}, header in row {}", table.sheet, header.row + 1));
    }
    out
}

/// A cell as its column reads it; text the column cannot read is left as written, for the
/// import to refuse with the column's own message.
fn clean(text: &str, kind: CellKind, mapping: &ImportMapping, source: Source) -> String {
    let t = text.trim();
    match kind {
        CellKind::Number => clean_number(t).unwrap_or_else(|| t.to_string()),
        CellKind::Date => clean_date(t, &mapping.date_formats, source).unwrap_or_else(|| t.to_string()),
        CellKind::Choice(words) => choice(t, words).unwrap_or_else(|| t.to_string()),
        CellKind::Text | CellKind::YesNo => t.to_string(),
    }
}

/// A number stored as text: blanks, a currency sign and thousands separators (`1,234,567.50`,
/// only in groups of three, so a decimal comma is never taken for one) dropped.
pub fn clean_number(t: &str) -> Option<String> {
    let t: String = t.chars().filter(|c| !c.is_whitespace() && !"¥￥$".contains(*c)).collect();
    let (sign, digits) = t.strip_prefix('-').map_or(("", t.as_str()), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let int_plain: String = if int.contains([',', '，']) {
        let groups: Vec<&str> = int.split([',', '，']).collect();
        let grouped = (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
        if !grouped {
            return None;
        }
        groups.concat()
    } else {
        int.to_string()
    };
    if int_plain.is_empty() || !int_plain.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match frac {
        Some(f) if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) => None,
        Some(f) => Some(format!("{sign}{int_plain}.{f}")),
        None => Some(format!("{sign}{int_plain}")),
    }
}

/// A date as `YYYY-MM-DD`: a date cell's text (with a time of day dropped), the mapping's formats,
/// the usual text formats, or in a sheet a date cell's day count when the cell had no date format.
pub fn clean_date(t: &str, formats: &[String], source: Source) -> Option<String> {
    let day_part = t.split_once(' ').map_or(t, |(d, _)| d);
    let parsed = formats
        .iter()
        .map(String::as_str)
        .chain(["%Y-%m-%d"])
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        .or_else(|| DATE_FORMATS.iter().find_map(|f| NaiveDate::parse_from_str(day_part, f).ok()))
        .or_else(|| excel_serial(t, source));
    parsed.filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d))).map(|d| d.format("%Y-%m-%d").to_string())
}

/// A day count as Excel stores dates (days since 1899-12-30), for a date column whose cells were
/// not formatted as dates; only plausible days (1954 to 2119) are read so.
fn excel_serial(t: &str, source: Source) -> Option<NaiveDate> {
    if source != Source::Sheet {
        return None;
    }
    let n: i64 = t.parse().ok().filter(|n| (20_000..=80_000).contains(n))?;
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(chrono::Duration::days(n))
}

/// Words people write for the values of a choice column.
const CHOICE_WORDS: [(&str, &str); 12] = [
    ("发票", "invoice"),
    ("销售发票", "invoice"),
    ("红字发票", "credit_note"),
    ("贷项通知单", "credit_note"),
    ("credit note", "credit_note"),
    ("收款", "payment"),
    ("付款", "payment"),
    ("调整", "adjustment"),
    ("产品", "product"),
    ("服务", "service"),
    ("正常", "active"),
    ("停用", "inactive"),
];

fn choice(t: &str, words: &[&str]) -> Option<String> {
    let lower = t.to_lowercase();
    if let Some(w) = words.iter().find(|w| **w == lower) {
        return Some(w.to_string());
    }
    CHOICE_WORDS.iter().find(|(word, value)| *word == lower && words.contains(value)).map(|(_, v)| v.to_string())
}

/// Clears a template's example row from a table read for a reader that does not use [`arrange`]
/// (bank and customer statements): when row 1 is exactly a template's header and row 2 its
/// example, row 2 becomes empty (rows keep their numbers), and the note says so.
pub fn clear_template_example(table: &mut Table, templates: &[&'static [Column]]) -> Option<String> {
    let header: Vec<String> = table.rows.first()?.iter().map(|c| c.trim().to_string()).collect();
    for columns in templates {
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        if header.iter().map(String::as_str).filter(|h| !h.is_empty()).ne(names.iter().copied()) {
            continue;
        }
        let row = table.rows.get_mut(1)?;
        let is_example = columns.iter().enumerate().all(|(i, c)| {
            let cell = row.get(i).map(|v| v.trim()).unwrap_or("");
            let wanted = clean(c.example, c.cell, &ImportMapping::default(), Source::Sheet);
            cell == c.example || cell == wanted
        });
        if is_example {
            row.clear();
            return Some("row 2 is the template's example row: not read".to_string());
        }
    }
    None
}

/// A CSV body as a table (rows as read, no header assumed), for a mapping to arrange. Text that
/// is not UTF-8 is read as GB18030 (Excel's "CSV" on a Chinese Windows is GBK).
pub fn csv_table(body: &[u8]) -> Result<Table, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let decoded;
    let body = match std::str::from_utf8(body) {
        Ok(_) => body,
        Err(_) => {
            let (text, malformed) = encoding_rs::GB18030.decode_without_bom_handling(body);
            if malformed {
                return Err("the CSV file is neither UTF-8 nor GBK/GB18030 text".to_string());
            }
            decoded = text.into_owned();
            decoded.as_bytes()
        }
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV unreadable: {e}"))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Table { sheet: String::new(), rows, notes: Vec::new() })
}

#[cfg(test)]
mod tests;
