//! Where the keys of envelope encryption come from: master keys from `DUIZHANG_CONNECTOR_KEY`
//! (comma-separated base64 keys, the first seals) or the key file `<data_dir>/connector_key`
//! (one base64 key per line, the first seals; created on first use), and each tenant's data
//! keys from `tenant_keys`, unwrapped once and kept in memory per app instance.
//!
//! A master key is named by its fingerprint, stored beside every data key it wraps. A reader
//! that meets a fingerprint it does not know reads the key file again: after `rotate-keys` wrote
//! a new master key there, running instances open the re-wrapped keys without a restart.

use crate::db::data_safety::keys as keys_db;
use crate::domain::envelope::{Key, TenantKeys};
use crate::error::{AppError, AppResult};
use diesel::PgConnection;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

pub const KEY_FILE: &str = "connector_key";

pub struct Keyring {
    /// The first seals (wraps new data keys); all open.
    masters: RwLock<Vec<Key>>,
    /// Read again when a data key names a master key not in `masters`.
    key_file: Option<PathBuf>,
    /// Per tenant: its data keys, and the newest version they include.
    tenants: RwLock<HashMap<Uuid, Arc<TenantKeys>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

impl Keyring {
    /// Master keys given directly (tests, tools).
    pub fn from_keys(keys: Vec<Key>) -> Keyring {
        assert!(!keys.is_empty(), "at least one master key");
        Keyring { masters: RwLock::new(keys), key_file: None, tenants: RwLock::new(HashMap::new()) }
    }

    /// The master keys from `configured` (comma-separated base64), else from the key file in
    /// `data_dir`, which is created with a fresh key when missing.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Keyring, String> {
        if let Some(text) = configured {
            let keys = parse_keys(&text.replace(',', "\n")).map_err(|e| format!("DUIZHANG_CONNECTOR_KEY {e}"))?;
            return Ok(Keyring::from_keys(keys));
        }
        let path = data_dir.join(KEY_FILE);
        if !path.exists() {
            write_new_key_file(data_dir, &path, &Key::generate())?;
        }
        let keys = read_key_file(&path)?;
        Ok(Keyring { masters: RwLock::new(keys), key_file: Some(path), tenants: RwLock::new(HashMap::new()) })
    }

    /// The master key that wraps new data keys.
    pub fn current_master(&self) -> Key {
        self.masters.read().expect("keyring lock")[0].clone()
    }

    /// Every master key known (the current one first).
    pub fn masters(&self) -> Vec<Key> {
        self.masters.read().expect("keyring lock").clone()
    }

    /// The master key of that fingerprint, reading the key file again if it is not known yet.
    pub fn master(&self, id: &str) -> Option<Key> {
        if let Some(k) = self.masters.read().expect("keyring lock").iter().find(|k| k.id() == id) {
            return Some(k.clone());
        }
        let path = self.key_file.as_ref()?;
        let keys = read_key_file(path).ok()?;
        let found = keys.iter().find(|k| k.id() == id).cloned();
        *self.masters.write().expect("keyring lock") = keys;
        found
    }

    /// Opens a value sealed directly by a master key (connector secrets before data keys).
    pub fn open_legacy(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        for key in self.masters() {
            if let Ok(plain) = key.open(sealed) {
                return Ok(plain);
            }
        }
        Err("cannot decrypt the stored secret (wrong DUIZHANG_CONNECTOR_KEY?)".into())
    }

    /// The tenant's data keys; its first data key is made (and wrapped) on first use. The newest
    /// version is looked up on every call, so a key rotation in another process is seen at once.
    pub fn tenant(&self, conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<Arc<TenantKeys>> {
        match keys_db::newest_version(conn, tenant_id)? {
            Some(version) => {
                if let Some(keys) = self.tenants.read().expect("keyring lock").get(&tenant_id) {
                    if keys.current_version() == version {
                        return Ok(keys.clone());
                    }
                }
            }
            None => {
                self.reload();
                let data_key = Key::generate();
                let master = self.current_master();
                // A concurrent first use waits for this row and then keeps the one that won.
                keys_db::insert_first_key(conn, tenant_id, &master.wrap(&data_key), &master.id())?;
            }
        }
        let keys = Arc::new(self.read_tenant(conn, tenant_id)?);
        self.tenants.write().expect("keyring lock").insert(tenant_id, keys.clone());
        Ok(keys)
    }

    fn read_tenant(&self, conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<TenantKeys> {
        let rows = keys_db::tenant_keys(conn, tenant_id)?;
        let mut keys = BTreeMap::new();
        for row in rows {
            let master = self.master(&row.master_key_id).ok_or_else(|| {
                AppError::internal(format!(
                    "the data key of tenant {tenant_id} is wrapped by master key {} which is not configured",
                    row.master_key_id
                ))
            })?;
            let key = master.unwrap_key(&row.wrapped_key).map_err(AppError::internal)?;
            keys.insert(row.version, key);
        }
        TenantKeys::new(keys).map_err(AppError::internal)
    }

    /// Forgets the cached data keys (after this process re-wrapped or added keys).
    pub fn forget(&self, tenant_id: Uuid) {
        self.tenants.write().expect("keyring lock").remove(&tenant_id);
    }

    /// Makes `key` the current master key: first line of the key file (older keys stay below
    /// it, so data keys not yet re-wrapped still open), or first in memory without a file.
    pub fn promote(&self, key: Key) -> Result<(), String> {
        let mut keys = self.masters();
        keys.retain(|k| k.id() != key.id());
        keys.insert(0, key);
        if let Some(path) = &self.key_file {
            let text: String = keys.iter().map(|k| k.to_base64() + "\n").collect();
            replace_file(path, &text)?;
        }
        *self.masters.write().expect("keyring lock") = keys;
        Ok(())
    }

    /// Keeps the current master key and those `keep` accepts (in the key file too): after a
    /// rotation, the keys no data key is wrapped by any more go.
    pub fn retain_masters(&self, keep: impl Fn(&Key) -> bool) -> Result<(), String> {
        let mut keys = self.masters();
        let current = keys[0].id();
        keys.retain(|k| k.id() == current || keep(k));
        if let Some(path) = &self.key_file {
            let text: String = keys.iter().map(|k| k.to_base64() + "\n").collect();
            replace_file(path, &text)?;
        }
        *self.masters.write().expect("keyring lock") = keys;
        Ok(())
    }

    /// Reads the key file again (another process may have put a new master key first).
    fn reload(&self) {
        if let Some(keys) = self.key_file.as_ref().and_then(|p| read_key_file(p).ok()) {
            *self.masters.write().expect("keyring lock") = keys;
        }
    }

    pub fn key_file(&self) -> Option<&Path> {
        self.key_file.as_deref()
    }
}

fn parse_keys(text: &str) -> Result<Vec<Key>, String> {
    let keys: Vec<Key> =
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(Key::from_base64).collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err("holds no key".into());
    }
    Ok(keys)
}

fn read_key_file(path: &Path) -> Result<Vec<Key>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_keys(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Written to a private temporary file, then linked into place: concurrent starts never see a
/// half-written key, and the first one to link wins.
fn write_new_key_file(dir: &Path, path: &Path, key: &Key) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = write_private_temp(dir, &(key.to_base64() + "\n"))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Atomic replacement (rename), so a reader sees the old file or the new one, never half.
fn replace_file(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = write_private_temp(dir, text)?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_private_temp(dir: &Path, text: &str) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = dir.join(format!(".{KEY_FILE}.{}", Uuid::new_v4()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_created_once_promoted_and_retired() {
        let dir = tempfile::tempdir().unwrap();
        let a = Keyring::load(None, dir.path()).unwrap();
        let b = Keyring::load(None, dir.path()).unwrap();
        assert_eq!(a.current_master().id(), b.current_master().id());
        let old = a.current_master().id();
        let new = Key::generate();
        a.promote(new.clone()).unwrap();
        // b has not seen the new key yet and finds it by reading the file again.
        assert_eq!(b.master(&new.id()).unwrap().id(), new.id());
        assert!(b.master(&old).is_some());
        a.retain_masters(|_| false).unwrap();
        let c = Keyring::load(None, dir.path()).unwrap();
        assert_eq!(c.masters().len(), 1);
        assert_eq!(c.current_master().id(), new.id());
    }

    #[test]
    fn legacy_single_key_file_and_env_list() {
        let dir = tempfile::tempdir().unwrap();
        let k = Key::generate();
        std::fs::write(dir.path().join(KEY_FILE), k.to_base64()).unwrap();
        let r = Keyring::load(None, dir.path()).unwrap();
        assert_eq!(r.current_master().id(), k.id());
        let k2 = Key::generate();
        let env = format!("{},{}", k2.to_base64(), k.to_base64());
        let r = Keyring::load(Some(&env), dir.path()).unwrap();
        assert_eq!(r.masters().len(), 2);
        assert!(Keyring::load(Some("c2hvcnQ="), dir.path()).is_err());
    }
}
