//! A bank's CSV export read with every preset (src/bank_formats/presets), and the preset
//! detection the import runs on a file's head: an error or a result, never a panic or a hang.
#![no_main]

use duizhang::bank_formats::{detect_preset, parse, presets, CollectSink, CsvEncoding, CsvMapping, CsvPreset, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let all: Vec<&CsvPreset> = presets().iter().collect();
    let _ = detect_preset(&data[..data.len().min(8192)], &all);
    for p in presets() {
        let mut sink = CollectSink::default();
        let _ = parse(Format::Csv, data, Some(&p.mapping), &mut sink);
        let gb = CsvMapping { encoding: CsvEncoding::Gb18030, ..p.mapping.clone() };
        let _ = parse(Format::Csv, data, Some(&gb), &mut CollectSink::default());
    }
});
