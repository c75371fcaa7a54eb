//! Document lines in CSV and spreadsheet imports: one row per line.
//!
//! A flat file cannot nest lines under their document, so a document with lines is written as
//! consecutive rows that repeat its header columns (`doc_type`, `doc_no`, customer, dates,
//! currency, amount) and each carry one line in the `line_*` columns, the way ERPs export
//! invoice lines. Consecutive rows of the same document are merged into one document with those
//! lines; the header columns of its first row count. A row whose `line_*` cells are all empty
//! is a document without lines, as before.

use super::document_lines::DocumentLineInput;
use super::documents::DocumentInput;

/// The line columns of a document import: the `line_*` tail of its CSV columns.
pub const LINE_COLUMNS: &[&str] = super::documents::CSV_COLUMNS.split_at(HEADER_COLUMNS).1;

/// The document's own columns, before the line columns.
const HEADER_COLUMNS: usize = 9;

/// The line a row carries, if any of its `line_*` cells is filled.
pub fn line_from_cells<'a>(cell: impl Fn(&str) -> Option<&'a str>) -> Option<DocumentLineInput> {
    let get = |name: &str| cell(name).map(str::to_string);
    if LINE_COLUMNS.iter().all(|c| cell(c).is_none()) {
        return None;
    }
    Some(DocumentLineInput {
        product_code: get("line_product"),
        description: get("line_description"),
        quantity: get("line_quantity"),
        unit: get("line_unit"),
        unit_price: get("line_unit_price"),
        discount: get("line_discount"),
        discount_percent: get("line_discount_percent"),
        tax_rate: get("line_tax_rate"),
        net: None,
        tax: None,
        gross: None,
    })
}

/// Merges consecutive rows of one document that each carry a line.
#[derive(Default)]
pub struct LineGrouper {
    pending: Option<(u64, DocumentInput)>,
}

impl LineGrouper {
    /// Takes the next row; gives back the previous document when this row starts another.
    pub fn push(&mut self, row: u64, input: DocumentInput) -> Option<(u64, DocumentInput)> {
        if let Some((_, current)) = self.pending.as_mut() {
            let same = current.doc_type == input.doc_type && current.doc_no == input.doc_no;
            if same && current.lines.is_some() && input.lines.is_some() {
                current.lines.get_or_insert_with(Vec::new).extend(input.lines.unwrap_or_default());
                return None;
            }
        }
        self.pending.replace((row, input))
    }

    /// The last document, once the rows are done.
    pub fn finish(&mut self) -> Option<(u64, DocumentInput)> {
        self.pending.take()
    }
}

/// Groups parsed rows (in file order) into documents.
pub fn group(rows: Vec<(u64, DocumentInput)>) -> Vec<(u64, DocumentInput)> {
    let mut grouper = LineGrouper::default();
    let mut out: Vec<_> = rows.into_iter().filter_map(|(row, input)| grouper.push(row, input)).collect();
    out.extend(grouper.finish());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_columns_are_the_line_prefixed_tail() {
        assert!(super::LINE_COLUMNS.iter().all(|c| c.starts_with("line_")));
        assert_eq!(super::LINE_COLUMNS.len(), 8);
        let header = &crate::services::documents::CSV_COLUMNS[..super::HEADER_COLUMNS];
        assert!(header.iter().all(|c| !c.starts_with("line_")));
    }
}
