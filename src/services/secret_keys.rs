//! The keys the app keeps in its data directory when the environment does not give them: the
//! JWT signing secret and the connector credentials key. File IO lives here; the crypto that
//! uses the keys is `domain::secret_box` and `services::jwt`.

use crate::domain::secret_box::SecretBox;
use base64::Engine;
use rand::RngCore;
use std::path::Path;

/// Loads the JWT secret from the environment, else from `<data_dir>/jwt_secret` (created on
/// first use), so tokens survive restarts of a development installation.
pub fn load_or_create_jwt_secret(settings: &crate::config::Settings) -> std::io::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read(&path) {
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let mut secret = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut secret);
    let encoded = hex::encode(secret).into_bytes();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
        file.write_all(&encoded)?;
    }
    Ok(encoded)
}

/// The key from `configured`, else from `<data_dir>/connector_key`, created on first use.
pub fn load_or_create_connector_key(configured: Option<&str>, data_dir: &Path) -> Result<SecretBox, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_connector_key(None, dir.path()).unwrap();
        let b = load_or_create_connector_key(None, dir.path()).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).unwrap(), b"x");
    }
}
