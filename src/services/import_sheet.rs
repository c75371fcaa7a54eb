//! An import body made ready for the CSV readers: a workbook's sheet, or a CSV file in the
//! tenant's own layout (a saved import mapping), arranged into the import's columns
//! (`spreadsheet::layout`), and the places its rows came from, so that every rejected row names
//! its sheet, row and column.

use super::import::RejectedRow;
use crate::domain::import_mapping::ImportMapping;
use crate::domain::sheet_columns::{Column, ImportKind};
use crate::error::{AppError, AppResult};
use crate::spreadsheet::{self, layout};
use std::borrow::Cow;

/// A body as the CSV readers take it.
pub struct Prepared<'a> {
    pub csv: Cow<'a, [u8]>,
    pub notes: Vec<String>,
    pub places: Places,
}

/// Where the rows of a prepared body came from.
#[derive(Debug, Clone)]
pub struct Places {
    columns: &'static [Column],
    sheet: Option<String>,
    /// Row of the original for each data row of the CSV; empty: the CSV is the body as sent.
    rows: Vec<u64>,
    letters: Vec<(&'static str, String)>,
}

impl Places {
    /// Places of a body read as sent (CSV, JSON): rows keep their numbers.
    pub fn as_sent(kind: ImportKind) -> Places {
        Places { columns: kind.columns(), sheet: None, rows: Vec::new(), letters: Vec::new() }
    }

    /// The original's row number for data row `row` of the prepared CSV.
    pub fn row(&self, row: u64) -> u64 {
        match row.checked_sub(1).and_then(|i| self.rows.get(i as usize)) {
            Some(original) => *original,
            None => row,
        }
    }

    /// Adds the sheet, the column letter and the field to a rejection whose row number is
    /// already the original's. The field is the import column the message starts with
    /// (`amount: ...`).
    pub fn place(&self, rejected: &mut RejectedRow) {
        rejected.sheet.clone_from(&self.sheet);
        let named = rejected.error.split_once(':').map(|(f, _)| f.trim());
        if let Some(column) = named.and_then(|f| self.columns.iter().find(|c| c.name == f)) {
            rejected.field = Some(column.name.to_string());
            rejected.column = self.letters.iter().find(|(n, _)| *n == column.name).map(|(_, l)| l.clone());
        }
    }

    /// [`Places::place`] for every rejection, and the rows in file order.
    pub fn place_all(&self, rejected: &mut [RejectedRow]) {
        for r in rejected.iter_mut() {
            self.place(r);
        }
        rejected.sort_by_key(|r| r.row);
    }
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::invalid("body", message)
}

/// Makes a CSV or .xlsx body ready: a workbook is always arranged (its header may be anywhere
/// near the top, in Chinese or English words); a CSV body only with a mapping (without one it
/// is read as sent, strictly by our column names). A body that cannot be arranged (a legacy
/// .xls, a broken archive, an unknown column, a mapping that does not fit) is refused whole.
pub fn prepare<'a>(body: &'a [u8], kind: ImportKind, mapping: Option<&ImportMapping>) -> AppResult<Prepared<'a>> {
    if spreadsheet::is_legacy_xls(body) {
        return Err(refused(spreadsheet::LEGACY_XLS));
    }
    let default = ImportMapping::default();
    let rules = mapping.unwrap_or(&default);
    let (arranged, mut notes) = if spreadsheet::is_xlsx(body) {
        let tables = spreadsheet::read_sheets(body, spreadsheet::Limits::default()).map_err(|e| refused(e.0))?;
        let notes: Vec<String> = tables.iter().flat_map(|t| t.notes.iter().cloned()).collect();
        (layout::arrange(&tables, kind.columns(), rules, layout::Source::Sheet).map_err(refused)?, notes)
    } else if mapping.is_some() {
        let table = layout::csv_table(body).map_err(refused)?;
        (layout::arrange(&[table], kind.columns(), rules, layout::Source::Csv).map_err(refused)?, Vec::new())
    } else {
        return Ok(Prepared { csv: Cow::Borrowed(body), notes: Vec::new(), places: Places::as_sent(kind) });
    };
    notes.extend(arranged.notes);
    let places =
        Places { columns: kind.columns(), sheet: arranged.sheet, rows: arranged.rows, letters: arranged.letters };
    Ok(Prepared { csv: Cow::Owned(arranged.csv), notes, places })
}

/// Rows of an import read, with their places and the notes on how the body was read.
pub struct ReadRows<T> {
    pub rows: Vec<(u64, T)>,
    pub rejected: Vec<RejectedRow>,
    pub places: Places,
    pub notes: Vec<String>,
}

/// Reads an import body of any format: JSON as the row schema says, CSV and .xlsx through
/// [`prepare`] and the strict CSV reader, each row turned into `T` by `convert`. Row numbers are
/// the original's (a sheet's row, a CSV's data row, a JSON element).
pub fn parse_rows<T: serde::de::DeserializeOwned>(
    format: super::import::ImportFormat,
    body: &[u8],
    kind: ImportKind,
    mapping: Option<&ImportMapping>,
    required: &[&str],
    convert: impl Fn(&std::collections::HashMap<String, String>) -> Result<T, String>,
) -> AppResult<ReadRows<T>> {
    if format == super::import::ImportFormat::Json {
        if mapping.is_some() {
            return Err(AppError::invalid("mapping", "a column mapping is for CSV and .xlsx bodies, not JSON"));
        }
        let (rows, rejected) = super::import::read_json_array(body)?;
        return Ok(ReadRows { rows, rejected, places: Places::as_sent(kind), notes: Vec::new() });
    }
    let prepared = prepare(body, kind, mapping)?;
    let allowed: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    let (rows, mut rejected) = super::import::read_csv(&prepared.csv, &allowed, required)?;
    let places = prepared.places;
    let mut parsed = Vec::with_capacity(rows.len());
    for r in rows {
        let row = places.row(r.row);
        match convert(&r.cells) {
            Ok(input) => parsed.push((row, input)),
            Err(error) => rejected.push(RejectedRow::new(row, error)),
        }
    }
    Ok(ReadRows { rows: parsed, rejected, places, notes: prepared.notes })
}

#[cfg(test)]
mod tests {
    use crate::domain::sheet_columns::ImportKind;

    /// The template columns are exactly the CSV columns each import reads.
    #[test]
    fn templates_and_csv_imports_have_the_same_columns() {
        let names = |k: ImportKind| k.columns().iter().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(names(ImportKind::Customers), crate::services::customers::CSV_COLUMNS);
        assert_eq!(names(ImportKind::Products), crate::services::products::CSV_COLUMNS);
        assert_eq!(names(ImportKind::CustomerContacts), crate::services::customer_contacts::CSV_COLUMNS);
        assert_eq!(names(ImportKind::Documents), crate::services::documents::CSV_COLUMNS);
    }
}
