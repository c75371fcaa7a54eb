//! The JWT signing secret the app keeps in its data directory when the environment does not give
//! it. File IO lives here; the crypto that uses it is `services::jwt`. The master key that
//! seals secrets at rest is read by `services::data_safety::keyring`.

use rand::RngCore;

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
