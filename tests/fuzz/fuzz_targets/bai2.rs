//! Any input: an error or a result, never a panic, hang or unbounded allocation.
#![no_main]

use duizhang::bank_formats::{parse, CollectSink, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = parse(Format::Bai2, data, None, &mut sink);
});
