//! A customer's statement as JSON (API, portal and signed inbound pushes).
#![no_main]

use duizhang::services::import::ImportFormat;
use duizhang::services::customer_statements::{parse_statement, StatementOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_statement(ImportFormat::Json, data, StatementOptions::default());
});
