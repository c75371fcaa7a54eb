//! Format detection followed by a parse in whatever format was detected; for text that is no
//! other format, preset detection by header and a parse with the preset found (as the import).
#![no_main]

use duizhang::bank_formats::{decode_head, detect_format, detect_preset, parse, presets, CollectSink, CsvPreset, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match detect_format(data) {
        Some(format) if format != Format::Csv => {
            let mut sink = CollectSink::default();
            let _ = parse(format, data, None, &mut sink);
        }
        detected => {
            let _ = decode_head(data);
            let all: Vec<&CsvPreset> = presets().iter().collect();
            let mapping = detect_preset(data, &all).map(|(p, _)| p.mapping.clone());
            if mapping.is_some() || detected.is_some() {
                let _ = parse(Format::Csv, data, mapping.as_ref(), &mut CollectSink::default());
            }
        }
    }
});
