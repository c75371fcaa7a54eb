//! Any input: an error or a result, never a panic, hang or unbounded allocation; the streaming
//! parse and the in-place parse (uploads in memory or mapped from disk) give the same answer.
#![no_main]

use duizhang::bank_formats::{parse, parse_input, CollectSink, Format, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let streamed = parse(Format::Camt053, data, None, &mut CollectSink::default()).map_err(|e| e.message);
    let in_place =
        parse_input(Format::Camt053, Input::Bytes(data), None, &mut CollectSink::default()).map_err(|e| e.message);
    assert_eq!(streamed, in_place);
});
