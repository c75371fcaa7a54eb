//! Encryption at rest of connector credentials: AES-256-GCM with a random 96-bit nonce per
//! value, stored as `nonce || ciphertext+tag`. The key comes from `DUIZHANG_CONNECTOR_KEY`
//! (base64 of 32 bytes) or a key file in the data directory (read and created by
//! `services::secret_keys`: this module only does the crypto).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;

const NONCE_BYTES: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox { cipher: Aes256Gcm::new(key.into()) }
    }

    /// Decodes a base64 key of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SecretBox, String> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| format!("not base64: {e}"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must decode to exactly 32 bytes".to_string())?;
        Ok(SecretBox::new(&key))
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), plaintext).expect("AES-GCM encryption");
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed.len() < NONCE_BYTES + 16 {
            return Err("sealed value too short".into());
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| "cannot decrypt the credentials (wrong DUIZHANG_CONNECTOR_KEY?)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let b = SecretBox::new(&[7u8; 32]);
        let sealed = b.seal(b"{\"api_secret\":\"s3cr3t\"}");
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(b.open(&sealed).unwrap(), b"{\"api_secret\":\"s3cr3t\"}");
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(b.open(&tampered).is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64(&base64::engine::general_purpose::STANDARD.encode([1u8; 32])).is_ok());
    }
}
