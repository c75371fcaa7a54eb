//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, signed with HMAC-SHA256 under the secret's bytes
//! (the base64 part after `whsec_`), sent as `v1,<base64>`; several space-separated signatures
//! allow secret rotation. Used for outgoing webhooks and for verifying inbound pushes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SECRET_PREFIX: &str = "whsec_";
/// Timestamps further than this from now are refused (replay window of the spec).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// A new random secret, `whsec_` + base64 of 32 bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

/// The key bytes of a `whsec_...` secret; `None` for a malformed secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix(SECRET_PREFIX)?;
    let key = B64.decode(b64).ok()?;
    (key.len() >= 16).then_some(key)
}

/// The `v1,<base64>` signature of one message under one key.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", B64.encode(mac(key, msg_id, timestamp, body)))
}

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(msg_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

#[derive(Debug, PartialEq, Eq)]
pub enum VerifyError {
    MissingHeader,
    TimestampOutOfTolerance,
    NoValidSignature,
}

impl VerifyError {
    pub fn message(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader => "webhook-id, webhook-timestamp and webhook-signature headers are required",
            VerifyError::TimestampOutOfTolerance => "webhook-timestamp is more than 5 minutes from the server's clock",
            VerifyError::NoValidSignature => "no webhook-signature matches the payload under the configured secret",
        }
    }
}

/// Verifies a message against any of `keys` (rotation: old and new secret both valid).
/// `signatures` is the header value: space-separated `v1,<base64>` entries.
pub fn verify(
    keys: &[Vec<u8>],
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    let mut verifier = Verifier::new(keys, msg_id, timestamp, signatures, now_unix)?;
    verifier.update(body);
    verifier.finish()
}

/// Incremental verification, for bodies that are not held in memory (a spooled bank file):
/// the headers are checked first, then the body is fed in chunks.
pub struct Verifier {
    macs: Vec<Hmac<Sha256>>,
    signatures: Vec<Vec<u8>>,
}

impl Verifier {
    pub fn new(
        keys: &[Vec<u8>],
        msg_id: &str,
        timestamp: &str,
        signatures: &str,
        now_unix: i64,
    ) -> Result<Verifier, VerifyError> {
        if msg_id.is_empty() || timestamp.is_empty() || signatures.is_empty() {
            return Err(VerifyError::MissingHeader);
        }
        let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::TimestampOutOfTolerance)?;
        if (now_unix - ts).abs() > TOLERANCE_SECONDS {
            return Err(VerifyError::TimestampOutOfTolerance);
        }
        let macs = keys
            .iter()
            .map(|key| {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                m.update(msg_id.as_bytes());
                m.update(b".");
                m.update(ts.to_string().as_bytes());
                m.update(b".");
                m
            })
            .collect();
        let signatures = signatures
            .split_whitespace()
            .filter_map(|candidate| candidate.strip_prefix("v1,"))
            .filter_map(|b64| B64.decode(b64).ok())
            .collect();
        Ok(Verifier { macs, signatures })
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for m in &mut self.macs {
            m.update(chunk);
        }
    }

    pub fn finish(self) -> Result<(), VerifyError> {
        for m in self.macs {
            let expected = m.finalize().into_bytes();
            if self.signatures.iter().any(|given| given.len() == expected.len() && bool::from(given.ct_eq(&expected))) {
                return Ok(());
            }
        }
        Err(VerifyError::NoValidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            std::slice::from_ref(&key),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            &sig,
            body,
            1614265330
        )
        .is_ok());
        assert_eq!(
            verify(&[key], "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", &sig, b"{}", 1614265330),
            Err(VerifyError::NoValidSignature)
        );
    }

    #[test]
    fn rotation_and_tolerance() {
        let old = secret_key(&generate_secret()).unwrap();
        let new = secret_key(&generate_secret()).unwrap();
        let sig = sign(&old, "m1", 1000, b"x");
        let header = format!("v1,AAAA {sig}");
        assert!(verify(&[new.clone(), old.clone()], "m1", "1000", &header, b"x", 1100).is_ok());
        assert_eq!(verify(&[new], "m1", "1000", &header, b"x", 1100), Err(VerifyError::NoValidSignature));
        assert_eq!(verify(&[old], "m1", "1000", &sig, b"x", 2000), Err(VerifyError::TimestampOutOfTolerance));
        assert!(secret_key("whsec_short").is_none());
        assert!(secret_key("nope").is_none());
    }
}
