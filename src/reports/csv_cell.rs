//! Every CSV the service writes goes through `CsvWriter`, which neutralises spreadsheet
//! formulas (CSV injection, OWASP's rule): a cell that starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return (after any leading spaces) would run as a formula when the file is opened
//! in Excel or LibreOffice, and customers choose some of these texts (names, their references in
//! portal statements). Such a cell is written with a leading `'`, which spreadsheets show as
//! text and do not evaluate. Plain decimal numbers (`-12.50`) are left as they are, so amount
//! columns stay numbers.

use std::borrow::Cow;

/// The cell as it may safely appear in a CSV opened by a spreadsheet.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let starts_formula =
        matches!(cell.trim_start_matches(' ').as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if starts_formula && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-12.50`, `3`, `0.1`: what the service writes for amounts and counts.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// A CSV writer into memory whose every cell is neutralised.
pub struct CsvWriter {
    inner: ::csv::Writer<Vec<u8>>,
}

impl Default for CsvWriter {
    fn default() -> Self {
        CsvWriter { inner: ::csv::Writer::from_writer(Vec::new()) }
    }
}

impl CsvWriter {
    pub fn new() -> CsvWriter {
        CsvWriter::default()
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), ::csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for cell in cells {
            self.inner.write_field(neutralise(cell.as_ref()).as_bytes())?;
        }
        // Ends the record (the csv crate's way after single fields).
        self.inner.write_record(None::<&[u8]>)
    }

    pub fn finish(self) -> Result<Vec<u8>, ::csv::Error> {
        self.inner.into_inner().map_err(|e| e.into_error().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+SUM(1,2)", "'+SUM(1,2)"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("  =1+1", "'  =1+1"),
            ("-", "'-"),
            ("-.5", "'-.5"),
            ("-12.50", "-12.50"),
            ("12.50", "12.50"),
            ("-3", "-3"),
            ("INV-1", "INV-1"),
            ("Kalomer GmbH", "Kalomer GmbH"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralise(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn the_writer_quotes_and_neutralises_every_cell() {
        let mut w = CsvWriter::new();
        w.row(["code", "amount"]).unwrap();
        w.row(["=1+1", "-5.00"]).unwrap();
        w.row([String::from("a,\"b\""), String::from("@x")]).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(text, "code,amount\n'=1+1,-5.00\n\"a,\"\"b\"\"\",'@x\n");
    }
}
