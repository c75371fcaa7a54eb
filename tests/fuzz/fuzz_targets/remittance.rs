//! The matching engine's text parsers: references in noisy remittance text, document number
//! keys, ISO 11649 creditor references and payer names.
#![no_main]

use duizhang::domain::cash_application::names::{loose_name, normalize_name, PreparedName};
use duizhang::domain::cash_application::references::{
    doc_keys, extract_references, is_valid_creditor_reference, normalize_reference, transposed_variants,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = extract_references(&text);
    let normalized = normalize_reference(&text);
    let _ = doc_keys(&text);
    let _ = is_valid_creditor_reference(&text);
    if normalized.len() < 64 {
        let _ = transposed_variants(&normalized);
    }
    let _ = normalize_name(&text);
    let _ = loose_name(&text);
    let _ = PreparedName::new(&text);
});
