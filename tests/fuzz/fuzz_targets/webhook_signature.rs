//! Signed inbound pushes and webhook answers: `webhook-id \n webhook-timestamp \n
//! webhook-signature \n body` verified against a fixed secret, the secret parser, and the
//! Retry-After parser of the webhook worker.
#![no_main]

use duizhang::domain::webhook_signature::{secret_key, verify};
use duizhang::services::webhook_worker::parse_retry_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let (id, ts, sigs) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let body = parts.next().unwrap_or("").as_bytes();
    let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
    let _ = verify(&[key], id, ts, sigs, body, 1_700_000_000);
    let _ = secret_key(id);
    let _ = parse_retry_after(ts, chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default());
});
