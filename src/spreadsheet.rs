//! Spreadsheets (XLSX) read as tables of text, so that a bank's or a customer's export saved from
//! Excel goes through the same layout detection and the same checks as its CSV form.
//!
//! Finance teams keep statements in Excel far more often than in CSV, and the cells carry what a
//! CSV would only show as text: numbers as binary doubles, dates as day counts, merged header
//! cells. Each cell becomes the text a person sees: numbers with at most 15 significant digits
//! (Excel's own precision, so `0.1 + 0.2` stored as 0.30000000000000004 reads 0.3), dates as
//! `YYYY-MM-DD` (with the time when there is one), a merged region's value in every cell it
//! covers (a header "Amount" over "Debit | Credit" names both columns). Row `n` of the table is
//! row `n` of the sheet, so a refused line names the row a person finds in Excel.
//!
//! Hostile files: the archive's declared unpacked size and entry count are checked before
//! anything is unpacked, cells are streamed (never a dense grid sized by the sheet's declared or
//! furthest cell), and the number of cells and columns kept is bounded. The legacy binary `.xls`
//! format is refused with a message: its reader builds the whole grid in memory.

use calamine::{DataRef, Reader, Xlsx};
use std::fmt;
use std::io::Cursor;

/// Bounds on what one spreadsheet may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Cells with a value, over the sheet read.
    pub max_cells: usize,
    /// Columns kept (A = 1); cells further right are left out with a note.
    pub max_columns: u32,
    /// Sum of the archive entries' unpacked sizes.
    pub max_unpacked_bytes: u64,
    /// Entries in the archive.
    pub max_entries: usize,
    /// Rows times columns of the table (its CSV has a slot for each).
    pub max_grid: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cells: 2_000_000,
            max_columns: 512,
            max_unpacked_bytes: 512 * 1024 * 1024,
            max_entries: 10_000,
            max_grid: 20_000_000,
        }
    }
}

/// One sheet as rows of text; `rows[i]` is sheet row `i + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub sheet: String,
    pub rows: Vec<Vec<String>>,
    /// What a reader should know: sheets not read, cells left out, formula errors.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadsheetError(pub String);

impl fmt::Display for SpreadsheetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpreadsheetError {}

fn error(message: impl Into<String>) -> SpreadsheetError {
    SpreadsheetError(message.into())
}

/// An Office Open XML file (a ZIP archive). The archive's content decides whether it is a
/// workbook; this only tells it apart from text formats.
pub fn is_xlsx(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04")
}

/// The legacy binary Excel format (an OLE compound document).
pub fn is_legacy_xls(prefix: &[u8]) -> bool {
    prefix.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// The message for a legacy `.xls` file.
pub const LEGACY_XLS: &str =
    "a legacy Excel .xls file is not read: save it as .xlsx (Excel Workbook) or CSV and send that";

/// Reads the sheet that holds the most values: the table, where a workbook also has a notes or
/// cover sheet in front (the other sheets with values are named in a note). A sheet named as a
/// notes sheet (`Notes`, `说明`, ... as in our templates) is read only when no other sheet has values.
pub fn read_main_sheet(bytes: &[u8], limits: Limits) -> Result<Table, SpreadsheetError> {
    let mut workbook = open(bytes, limits)?;
    let names = workbook.sheet_names();
    let mut best: Option<((bool, usize), Table)> = None;
    let mut others = Vec::new();
    for name in &names {
        let table = read_sheet(&mut workbook, name, limits)?;
        let values = table.rows.iter().flatten().filter(|c| !c.is_empty()).count();
        if values == 0 {
            continue;
        }
        let rank = (!is_notes_sheet(name), values);
        match &best {
            Some((most, _)) if *most >= rank => others.push(format!("{name:?} ({values} cells)")),
            _ => {
                if let Some(((_, most), previous)) = best.replace((rank, table)) {
                    others.push(format!("{:?} ({most} cells)", previous.sheet));
                }
            }
        }
    }
    let Some((_, mut table)) = best else {
        return Err(error("every sheet of the workbook is empty"));
    };
    if !others.is_empty() {
        table.notes.push(format!(
            "read sheet {:?}, the one with most values; not read: {}",
            table.sheet,
            others.join(", ")
        ));
    }
    Ok(table)
}

/// Every sheet that has a value, in the workbook's order, for a reader that picks its sheet by
/// content (an import looks for its header). The cells kept are bounded over the whole workbook.
pub fn read_sheets(bytes: &[u8], limits: Limits) -> Result<Vec<Table>, SpreadsheetError> {
    let mut workbook = open(bytes, limits)?;
    let mut tables = Vec::new();
    let mut left = limits.max_cells;
    for name in workbook.sheet_names() {
        let table = read_sheet(&mut workbook, &name, Limits { max_cells: left, ..limits })?;
        let values = table.rows.iter().flatten().filter(|c| !c.is_empty()).count();
        if values > 0 {
            left = left.saturating_sub(values);
            tables.push(table);
        }
    }
    if tables.is_empty() {
        return Err(error("every sheet of the workbook is empty"));
    }
    Ok(tables)
}

/// Sheet names of notes and instructions (the templates' `Notes`), passed over for the table.
pub fn is_notes_sheet(name: &str) -> bool {
    let n = name.trim().to_lowercase();
    ["notes", "readme", "instructions", "说明", "填写说明", "注意事项"].contains(&n.as_str())
}

fn open(bytes: &[u8], limits: Limits) -> Result<Xlsx<Cursor<&[u8]>>, SpreadsheetError> {
    if is_legacy_xls(bytes) {
        return Err(error(LEGACY_XLS));
    }
    check_archive(bytes, limits)?;
    let workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| error(format!("not a readable .xlsx workbook: {e}")))?;
    if workbook.sheet_names().is_empty() {
        return Err(error("the workbook has no sheet"));
    }
    Ok(workbook)
}

/// The declared sizes, before anything is unpacked: a few KB of ZIP can claim gigabytes.
fn check_archive(bytes: &[u8], limits: Limits) -> Result<(), SpreadsheetError> {
    let unreadable = |e: zip::result::ZipError| error(format!("not a readable .xlsx archive: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    if archive.len() > limits.max_entries {
        return Err(error(format!(
            "the archive holds {} entries; at most {} are read",
            archive.len(),
            limits.max_entries
        )));
    }
    // The central directory's sizes, also for entries written with a data descriptor.
    let mut declared = 0u64;
    for i in 0..archive.len() {
        declared = declared.saturating_add(archive.by_index_raw(i).map_err(unreadable)?.size());
    }
    if declared > limits.max_unpacked_bytes {
        return Err(error(format!(
            "the workbook unpacks to more than {} MiB; split it or send CSV",
            limits.max_unpacked_bytes / (1024 * 1024)
        )));
    }
    Ok(())
}

fn read_sheet(workbook: &mut Xlsx<Cursor<&[u8]>>, name: &str, limits: Limits) -> Result<Table, SpreadsheetError> {
    let merged = workbook.merge_cells_by_sheet_name(name).map_err(|e| error(format!("sheet {name:?}: {e}")))?;
    let mut grid = Grid::new(limits);
    let mut errors = Vec::new();
    {
        let mut cells = workbook.worksheet_cells_reader(name).map_err(|e| error(format!("sheet {name:?}: {e}")))?;
        while let Some(cell) = cells.next_cell().map_err(|e| error(format!("sheet {name:?}: {e}")))? {
            let (row, col) = cell.get_position();
            let text = match cell.get_value() {
                DataRef::Error(e) => {
                    if errors.len() < 10 {
                        errors.push(format!("{e} at {}", cell_name(row, col)));
                    }
                    String::new()
                }
                value => cell_text(value),
            };
            grid.put(row, col, text)?;
        }
    }
    for region in merged {
        grid.fill_merged(region.start, region.end)?;
    }
    let width = grid.rows.iter().map(Vec::len).max().unwrap_or(0) as u64;
    if width * grid.rows.len() as u64 > limits.max_grid {
        return Err(error(format!(
            "sheet {name:?} spans {} rows by {width} columns, more than {} cells; delete the empty rows and columns \
             around the table",
            grid.rows.len(),
            limits.max_grid
        )));
    }
    let mut notes = grid.notes();
    if !errors.is_empty() {
        notes.push(format!("formula errors read as empty cells: {}", errors.join(", ")));
    }
    Ok(Table { sheet: name.to_string(), rows: grid.rows, notes })
}

/// Rows grow as cells arrive; columns past the limit are counted, not kept.
struct Grid {
    rows: Vec<Vec<String>>,
    cells: usize,
    dropped_columns: usize,
    limits: Limits,
}

impl Grid {
    fn new(limits: Limits) -> Self {
        Grid { rows: Vec::new(), cells: 0, dropped_columns: 0, limits }
    }

    fn put(&mut self, row: u32, col: u32, text: String) -> Result<(), SpreadsheetError> {
        if text.is_empty() {
            return Ok(());
        }
        if col >= self.limits.max_columns {
            self.dropped_columns += 1;
            return Ok(());
        }
        self.cells += 1;
        if self.cells > self.limits.max_cells {
            return Err(error(format!(
                "the sheet holds more than {} cells; split it or send CSV",
                self.limits.max_cells
            )));
        }
        let (row, col) = (row as usize, col as usize);
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.rows[row];
        if cells.len() <= col {
            cells.resize_with(col + 1, String::new);
        }
        cells[col] = text;
        Ok(())
    }

    /// The top-left value in every cell of the region that has none of its own.
    fn fill_merged(&mut self, start: (u32, u32), end: (u32, u32)) -> Result<(), SpreadsheetError> {
        let value = self.rows.get(start.0 as usize).and_then(|r| r.get(start.1 as usize)).cloned().unwrap_or_default();
        if value.is_empty() {
            return Ok(());
        }
        let last_col = end.1.min(self.limits.max_columns.saturating_sub(1));
        let span = u64::from(end.0.saturating_sub(start.0) + 1) * u64::from(last_col.saturating_sub(start.1) + 1);
        if span > self.limits.max_cells as u64 {
            return Err(error(format!(
                "merged region {}:{} is larger than {} cells",
                cell_name(start.0, start.1),
                cell_name(end.0, end.1),
                self.limits.max_cells
            )));
        }
        for row in start.0..=end.0 {
            for col in start.1..=last_col {
                let present =
                    self.rows.get(row as usize).and_then(|r| r.get(col as usize)).is_some_and(|c| !c.is_empty());
                if !present {
                    self.put(row, col, value.clone())?;
                }
            }
        }
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.dropped_columns > 0 {
            notes.push(format!(
                "{} cell(s) right of column {} not read",
                self.dropped_columns,
                column_name(self.limits.max_columns - 1)
            ));
        }
        notes
    }
}

/// The text a person sees in the cell.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{day:02}")
            } else {
                format!("{y:04}-{mo:02}-{day:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        DataRef::DateTime(d) => number_text(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// A double as Excel shows it at full width: at most 15 significant digits, no exponent for
/// amounts, no trailing zeros.
pub fn number_text(f: f64) -> String {
    if !f.is_finite() {
        return String::new();
    }
    if f == f.trunc() && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let magnitude = f.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).clamp(0, 30) as usize;
    let text = format!("{f:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// `A`, `B`, ... `Z`, `AA` for a 0-based column.
pub fn column_name(col: u32) -> String {
    let mut n = col + 1;
    let mut name = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        name.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// `C7` for 0-based row 6, column 2.
pub fn cell_name(row: u32, col: u32) -> String {
    format!("{}{}", column_name(col), u64::from(row) + 1)
}

/// The table as UTF-8 CSV (comma, quotes doubled), one line per sheet row, for the CSV readers.
pub fn to_csv(table: &Table) -> Vec<u8> {
    let width = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for row in &table.rows {
        for col in 0..width {
            if col > 0 {
                out.push(b',');
            }
            let cell = row.get(col).map(String::as_str).unwrap_or("");
            if cell.contains([',', '"', '\n', '\r']) {
                out.push(b'"');
                out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(cell.as_bytes());
            }
        }
        out.push(b'\n');
    }
    out
}

pub mod layout;

#[cfg(test)]
mod tests;
