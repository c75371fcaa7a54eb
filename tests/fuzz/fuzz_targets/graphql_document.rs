//! GraphQL documents and JSON bodies: whatever passes the nesting checks (`domain::nesting`)
//! must parse, or fail to parse, without exhausting the stack.
#![no_main]

use duizhang::api::graphql::Limits;
use duizhang::config::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = Settings::default();
    if duizhang::domain::nesting::check_json(data, settings.max_json_depth).is_ok() {
        let _ = serde_json::from_slice::<serde_json::Value>(data);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if Limits::from_settings(&settings).check_document(text).is_ok() {
        let _ = async_graphql::parser::parse_query(text);
    }
});
