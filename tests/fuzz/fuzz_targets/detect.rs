//! Format detection followed by a parse in whatever format was detected.
#![no_main]

use duizhang::bank_formats::{detect_format, parse, CollectSink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(format) = detect_format(data) {
        let mut sink = CollectSink::default();
        let _ = parse(format, data, None, &mut sink);
    }
});
