//! Envelope encryption, pure: a master key wraps one data key per tenant and version; data keys
//! seal values (AES-256-GCM, random 96-bit nonce); a lookup key derived from the tenant's first
//! data key makes keyed hashes (HMAC-SHA-256) for equality lookups of sealed values. Where keys
//! come from (environment, key file, database) is the services' business.
//!
//! Sealed text is `dz1:<version>:<base64(nonce || ciphertext+tag)>`; sealed bytes are
//! `DZK1 || version (4 bytes, big endian) || nonce || ciphertext+tag`. Values without the marker
//! are plaintext written before encryption was on (or, for bytes, sealed directly by the master
//! key): readers accept them so that rows migrate in the background without a request failing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const NONCE_BYTES: usize = 12;
const TEXT_PREFIX: &str = "dz1:";
const BYTES_PREFIX: &[u8; 4] = b"DZK1";

/// A 256-bit AES key: a master key or a tenant's data key.
#[derive(Clone)]
pub struct Key {
    bytes: [u8; 32],
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id())
    }
}

impl Key {
    pub fn new(bytes: [u8; 32]) -> Key {
        Key { bytes, cipher: Aes256Gcm::new((&bytes).into()) }
    }

    /// A fresh random key.
    pub fn generate() -> Key {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Key::new(bytes)
    }

    /// Decodes base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Key, String> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| format!("not base64: {e}"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must decode to exactly 32 bytes".to_string())?;
        Ok(Key::new(key))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes)
    }

    /// A fingerprint naming the key (first 8 bytes of SHA-256, hex) without revealing it: stored
    /// beside every wrapped data key so a reader knows which master key opens it.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.bytes)[..8])
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        use rand::RngCore;
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
        self.cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| "cannot decrypt (wrong key?)".to_string())
    }

    /// This (master) key wraps a data key.
    pub fn wrap(&self, data_key: &Key) -> Vec<u8> {
        self.seal(&data_key.bytes)
    }

    pub fn unwrap_key(&self, wrapped: &[u8]) -> Result<Key, String> {
        let bytes = self.open(wrapped)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "wrapped data key has the wrong length".to_string())?;
        Ok(Key::new(key))
    }
}

/// A tenant's data keys: the newest seals, every one opens what it sealed.
#[derive(Clone, Debug)]
pub struct TenantKeys {
    keys: BTreeMap<i32, Key>,
    lookup: [u8; 32],
}

impl TenantKeys {
    /// `keys` by version; the lowest version derives the lookup key (it is never retired, so
    /// keyed hashes stay stable across data-key rotations).
    pub fn new(keys: BTreeMap<i32, Key>) -> Result<TenantKeys, String> {
        let first = keys.values().next().ok_or("a tenant needs at least one data key")?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&first.bytes).expect("any key length");
        mac.update(b"duizhang lookup key v1");
        let lookup: [u8; 32] = mac.finalize().into_bytes().into();
        Ok(TenantKeys { keys, lookup })
    }

    pub fn current_version(&self) -> i32 {
        *self.keys.keys().next_back().expect("at least one key")
    }

    pub fn has_version(&self, version: i32) -> bool {
        self.keys.contains_key(&version)
    }

    fn current(&self) -> (i32, &Key) {
        let (v, k) = self.keys.iter().next_back().expect("at least one key");
        (*v, k)
    }

    pub fn seal_text(&self, plaintext: &str) -> String {
        let (version, key) = self.current();
        let sealed = key.seal(plaintext.as_bytes());
        format!("{TEXT_PREFIX}{version}:{}", base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// Opens sealed text; text without the marker is returned as it is (not yet migrated).
    pub fn open_text(&self, stored: &str) -> Result<String, String> {
        let Some((version, sealed)) = parse_text(stored)? else {
            return Ok(stored.to_string());
        };
        let key = self.keys.get(&version).ok_or_else(|| format!("no data key of version {version}"))?;
        String::from_utf8(key.open(&sealed)?).map_err(|_| "sealed text is not UTF-8".to_string())
    }

    pub fn seal_bytes(&self, plaintext: &[u8]) -> Vec<u8> {
        let (version, key) = self.current();
        let mut out = Vec::with_capacity(8 + NONCE_BYTES + plaintext.len() + 16);
        out.extend_from_slice(BYTES_PREFIX);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&key.seal(plaintext));
        out
    }

    /// Opens sealed bytes; `legacy` opens values sealed before data keys existed.
    pub fn open_bytes(
        &self,
        stored: &[u8],
        legacy: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, String> {
        match bytes_version(stored) {
            Some(version) => match self.keys.get(&version) {
                Some(key) => key.open(&stored[8..]).or_else(|e| legacy(stored).map_err(|_| e)),
                None => legacy(stored).map_err(|_| format!("no data key of version {version}")),
            },
            None => legacy(stored),
        }
    }

    /// Keyed hash of an already normalised value, hex: equal inputs give equal hashes within the
    /// tenant, and nobody without the key can test guesses against it.
    pub fn lookup_hash(&self, normalized: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("any key length");
        mac.update(normalized.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// (version, sealed) of sealed text; `None` for plaintext; an error for a damaged marker.
pub fn parse_text(stored: &str) -> Result<Option<(i32, Vec<u8>)>, String> {
    let Some(rest) = stored.strip_prefix(TEXT_PREFIX) else {
        return Ok(None);
    };
    let (version, body) = rest.split_once(':').ok_or("sealed text without a version")?;
    let version: i32 = version.parse().map_err(|_| "sealed text with a bad version".to_string())?;
    let sealed = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| "sealed text is not base64")?;
    Ok(Some((version, sealed)))
}

/// Whether stored text is sealed (and with which data key version).
pub fn text_version(stored: &str) -> Option<i32> {
    parse_text(stored).ok().flatten().map(|(v, _)| v)
}

/// The data key version of sealed bytes; `None` for legacy values.
pub fn bytes_version(stored: &[u8]) -> Option<i32> {
    if stored.len() >= 8 + NONCE_BYTES + 16 && &stored[..4] == BYTES_PREFIX {
        Some(i32::from_be_bytes(stored[4..8].try_into().expect("4 bytes")))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(versions: &[i32]) -> (TenantKeys, Vec<Key>) {
        let keys: Vec<Key> = versions.iter().map(|_| Key::generate()).collect();
        let map = versions.iter().copied().zip(keys.iter().cloned()).collect();
        (TenantKeys::new(map).unwrap(), keys)
    }

    #[test]
    fn text_round_trip_and_plaintext_passes() {
        let (t, _) = tenant(&[1]);
        let sealed = t.seal_text("DE02120300000000202051");
        assert!(sealed.starts_with("dz1:1:"));
        assert!(!sealed.contains("202051"));
        assert_eq!(t.open_text(&sealed).unwrap(), "DE02120300000000202051");
        assert_eq!(t.open_text("plain").unwrap(), "plain");
        assert!(t.open_text("dz1:1:AAAA").is_err());
        assert_eq!(text_version(&sealed), Some(1));
    }

    #[test]
    fn rotated_tenant_opens_old_values_and_keeps_hashes() {
        let (old, keys) = tenant(&[1]);
        let sealed = old.seal_text("secret");
        let mut map = BTreeMap::new();
        map.insert(1, keys[0].clone());
        map.insert(2, Key::generate());
        let new = TenantKeys::new(map).unwrap();
        assert_eq!(new.open_text(&sealed).unwrap(), "secret");
        assert!(new.seal_text("x").starts_with("dz1:2:"));
        assert_eq!(old.lookup_hash("DE02"), new.lookup_hash("DE02"));
        let (other, _) = tenant(&[1]);
        assert_ne!(old.lookup_hash("DE02"), other.lookup_hash("DE02"));
    }

    #[test]
    fn bytes_round_trip_with_legacy_fallback() {
        let (t, _) = tenant(&[3]);
        let master = Key::generate();
        let sealed = t.seal_bytes(b"{\"k\":1}");
        assert_eq!(bytes_version(&sealed), Some(3));
        assert_eq!(t.open_bytes(&sealed, |_| Err("no".into())).unwrap(), b"{\"k\":1}");
        let legacy = master.seal(b"old");
        assert_eq!(t.open_bytes(&legacy, |s| master.open(s)).unwrap(), b"old");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(t.open_bytes(&tampered, |_| Err("no".into())).is_err());
    }

    #[test]
    fn wrap_and_unwrap() {
        let master = Key::generate();
        let data = Key::generate();
        let wrapped = master.wrap(&data);
        assert_eq!(master.unwrap_key(&wrapped).unwrap().id(), data.id());
        assert!(Key::generate().unwrap_key(&wrapped).is_err());
        assert_eq!(Key::from_base64(&master.to_base64()).unwrap().id(), master.id());
    }
}
