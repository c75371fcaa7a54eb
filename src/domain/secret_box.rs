//! Encryption at rest of connector credentials: AES-256-GCM with a random 96-bit nonce per
//! value, stored as `nonce || ciphertext+tag`. The key comes from `DUIZHANG_CONNECTOR_KEY`
//! (base64 of 32 bytes) or a key file generated in the data directory.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use std::path::Path;

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

    /// The key from `configured`, else from `<data_dir>/connector_key`, created on first use.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<SecretBox, String> {
        if let Some(k) = configured {
            return SecretBox::from_base64(k).map_err(|e| format!("DUIZHANG_CONNECTOR_KEY {e}"));
        }
        let path = data_dir.join("connector_key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return SecretBox::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        // Written to a private temporary file, then linked into place: concurrent starts never
        // see a half-written key, and the first one to link wins.
        let tmp = data_dir.join(format!(".connector_key.{}", uuid::Uuid::new_v4()));
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            f.write_all(encoded.as_bytes()).map_err(|e| e.to_string())?;
            f.sync_all().map_err(|e| e.to_string())?;
        }
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(SecretBox::new(&key)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                SecretBox::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
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
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load_or_create(None, dir.path()).unwrap();
        let b = SecretBox::load_or_create(None, dir.path()).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).unwrap(), b"x");
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
    }
}
