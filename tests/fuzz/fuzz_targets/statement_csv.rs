//! A customer's statement as CSV (`POST /customers/{code}/statements`, text/csv): an error or
//! the parsed lines, never a panic.
#![no_main]

use duizhang::services::import::ImportFormat;
use duizhang::services::customer_statements::{csv_customer_codes, parse_statement, StatementOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = csv_customer_codes(data);
    let _ = parse_statement(ImportFormat::Csv, data, StatementOptions::default());
});
