//! The same bank lines as CSV (default mapping) and as camt.053.001.08 must
//! parse to the same lines, and every camt statement's balances must agree.
//!
//! Runs on the small data set checked into tests/fixtures/generated, and on a
//! fresh 2000-line data set from the project's generator (`duizhang demo-data`),
//! whose MT940 statements must parse to the same lines too.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use duizhang::bank_formats::{detect_format, parse, parse_input, CollectSink, Format, Input, ParsedLine};

/// Parses the file streamed, and again as the server parses a spooled upload (mapped into memory
/// for the XML formats); both must give the same lines and summary.
fn parse_file(path: &Path, format: Format, sink: &mut CollectSink) -> duizhang::bank_formats::ParseSummary {
    let reader = BufReader::new(File::open(path).expect("open"));
    let mut streamed = CollectSink::default();
    let summary = parse(format, reader, None, &mut streamed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut from_file = CollectSink::default();
    let again = parse_input(format, Input::File(File::open(path).expect("open")), None, &mut from_file)
        .unwrap_or_else(|e| panic!("{} (from the file): {e}", path.display()));
    assert_eq!(again, summary, "{}: summaries differ", path.display());
    assert_eq!(from_file.statements.len(), streamed.statements.len());
    for (a, b) in from_file.statements.iter().zip(&streamed.statements) {
        assert_eq!(a.lines, b.lines, "{}: lines differ", path.display());
    }
    sink.statements.extend(streamed.statements);
    summary
}

fn check_dataset(dir: &Path) {
    // CSV with the default mapping.
    let mut csv_sink = CollectSink::default();
    let csv_summary = parse_file(&dir.join("bank.csv"), Format::Csv, &mut csv_sink);
    assert!(csv_summary.warnings.is_empty(), "{:?}", csv_summary.warnings);
    assert_eq!(csv_summary.statements, 1);
    let csv_lines: Vec<&ParsedLine> = csv_sink.lines().collect();
    let raw_rows = std::fs::read_to_string(dir.join("bank.csv")).expect("read").lines().count() - 1;
    assert_eq!(csv_lines.len(), raw_rows, "every CSV row parsed");

    // All camt files.
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("camt053"))
        .expect("camt dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut camt_sink = CollectSink::default();
    let mut statements = 0;
    for f in &files {
        let head = std::fs::read(f).expect("read");
        assert_eq!(detect_format(&head[..head.len().min(4096)]), Some(Format::Camt053));
        let s = parse_file(f, Format::Camt053, &mut camt_sink);
        // Balance check: generator writes consistent OPBD/CLBD, so no warning.
        assert!(s.warnings.is_empty(), "{}: {:?}", f.display(), s.warnings);
        statements += s.statements;
    }
    assert_eq!(statements, files.len());
    for st in &camt_sink.statements {
        let h = &st.header;
        let open = h.opening_balance.as_ref().expect("opening");
        let close = h.closing_balance.as_ref().expect("closing");
        let sum: rust_decimal::Decimal = st.lines.iter().map(|l| l.amount).sum();
        assert_eq!(open.amount + sum, close.amount, "balances of {:?}", h.statement_id);
        assert!(h.account_iban.is_some() && h.currency.is_some());
    }

    let camt_by_ref: HashMap<&str, &ParsedLine> =
        camt_sink.lines().map(|l| (l.bank_reference.as_deref().expect("camt ref"), l)).collect();
    assert_eq!(camt_by_ref.len(), csv_lines.len(), "same number of lines, unique references");
    for c in csv_lines {
        let id = c.bank_reference.as_deref().expect("csv line_id");
        let x = camt_by_ref.get(id).unwrap_or_else(|| panic!("{id} missing in camt"));
        assert_eq!(c.amount, x.amount, "{id}");
        assert_eq!(c.currency, x.currency, "{id}");
        assert_eq!(c.booking_date, x.booking_date, "{id}");
        assert_eq!(c.value_date, x.value_date, "{id}");
        assert_eq!(c.account, x.account, "{id}");
        assert_eq!(c.counterparty_name, x.counterparty_name, "{id}");
        assert_eq!(c.counterparty_iban, x.counterparty_iban, "{id}");
        assert_eq!(c.end_to_end_id, x.end_to_end_id, "{id}");
        assert_eq!(c.creditor_reference, x.creditor_reference, "{id}");
        // camt carries an RF reference only as structured data, CSV only as text.
        if x.creditor_reference.is_some() && x.remittance.is_none() {
            assert_eq!(c.remittance, x.creditor_reference, "{id}");
        } else {
            assert_eq!(c.remittance, x.remittance, "{id}");
        }
        assert_eq!(x.bank_transaction_code.as_deref(), Some("PMNT/RCDT/ESCT"));
        assert!(!x.reversal);
    }
}

#[test]
fn checked_in_generated_dataset() {
    check_dataset(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated"));
}

/// The lines of every MT940 file of the folder, by bank reference (the generator's line id).
fn mt940_lines(dir: &Path) -> HashMap<String, ParsedLine> {
    let mut sink = CollectSink::default();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("mt940")).expect("mt940 dir").map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty());
    for f in &files {
        let head = std::fs::read(f).expect("read");
        assert_eq!(detect_format(&head[..head.len().min(4096)]), Some(Format::Mt940), "{}", f.display());
        let s = parse_file(f, Format::Mt940, &mut sink);
        assert!(s.warnings.is_empty(), "{}: {:?}", f.display(), s.warnings);
    }
    for st in &sink.statements {
        let (open, close) = (st.header.opening_balance.as_ref().unwrap(), st.header.closing_balance.as_ref().unwrap());
        let sum: rust_decimal::Decimal = st.lines.iter().map(|l| l.amount).sum();
        assert_eq!(open.amount + sum, close.amount, "balances of {:?}", st.header.statement_id);
    }
    sink.lines().map(|l| (l.bank_reference.clone().expect("bank reference"), l.clone())).collect()
}

#[test]
fn fresh_generated_dataset_2000_lines() {
    use duizhang::demo_data::{generate, write_folder, FileOptions, Options};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = generate(&Options { lines: 2000, seed: 3, ..Options::default() });
    let files = FileOptions { camt_entries: Some(500), mt940_entries: Some(400) };
    write_folder(&data, dir.path(), &files).expect("written");
    check_dataset(dir.path());

    let mut csv_sink = CollectSink::default();
    parse_file(&dir.path().join("bank.csv"), Format::Csv, &mut csv_sink);
    let mt940 = mt940_lines(dir.path());
    assert_eq!(mt940.len(), csv_sink.lines().count());
    for c in csv_sink.lines() {
        let id = c.bank_reference.as_deref().expect("csv line_id");
        let m = mt940.get(id).unwrap_or_else(|| panic!("{id} missing in MT940"));
        assert_eq!(
            (m.amount, &m.currency, m.booking_date, m.value_date),
            (c.amount, &c.currency, c.booking_date, c.value_date),
            "{id}"
        );
        assert_eq!(m.counterparty_name, c.counterparty_name, "{id}");
        assert_eq!(m.counterparty_iban, c.counterparty_iban, "{id}");
        assert_eq!(m.end_to_end_id, c.end_to_end_id, "{id}");
        assert_eq!(m.remittance.as_ref().or(m.creditor_reference.as_ref()), c.remittance.as_ref(), "{id}");
    }
}
