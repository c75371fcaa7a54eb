//! `POST /documents/import`: the first byte picks CSV or JSON, the rest is the body; every
//! parsed row is validated as the import does before it touches the database.
#![no_main]

use duizhang::services::documents::{parse_import, validate_input};
use duizhang::services::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let format = if pick & 1 == 0 { ImportFormat::Csv } else { ImportFormat::Json };
    if let Ok((rows, _rejected)) = parse_import(format, body) {
        for (_, input) in &rows {
            let _ = validate_input(input);
        }
    }
});
