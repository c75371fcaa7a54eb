//! Money in the API: a currency code (first 3 bytes) and a decimal string (the rest).
#![no_main]

use duizhang::domain::money::{display_amount, format_amount, Currency};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let code = String::from_utf8_lossy(&data[..3]);
    let text = String::from_utf8_lossy(&data[3..]);
    if let Ok(currency) = Currency::parse(&code) {
        if let Ok(amount) = currency.parse_amount(&text) {
            let shown = currency.format(amount);
            assert_eq!(currency.parse_amount(&shown).ok(), Some(amount), "{shown} reads back");
            let _ = format_amount(currency.code(), amount);
            let _ = display_amount(currency.code(), amount);
        }
    }
});
