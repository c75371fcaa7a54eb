//! Bank CSV with a tenant's own column mapping: the input is `mapping JSON \0 CSV body`.
#![no_main]

use duizhang::bank_formats::{parse, CollectSink, CsvMapping, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else { return };
    let Ok(mapping) = serde_json::from_slice::<CsvMapping>(&data[..split]) else { return };
    let mut sink = CollectSink::default();
    let _ = parse(Format::Csv, &data[split + 1..], Some(&mapping), &mut sink);
});
