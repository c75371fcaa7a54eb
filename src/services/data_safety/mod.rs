//! Data safety: envelope encryption of secrets and personal data with key rotation, retention
//! of delivery logs, backup and restore, tenant export and import, erasure on request.

pub mod backup;
pub mod erasure;
pub mod key_rotation;
pub mod keyring;
pub mod retention;
pub mod sealing;
pub mod tenant_archive;
pub mod tenant_export;
pub mod tenant_import;

pub use keyring::Keyring;

use crate::config::Settings;
use crate::db::DbPool;

/// Start-up work of an app instance: values still stored in plaintext are sealed.
pub fn startup(pool: &DbPool, keyring: &Keyring, _settings: &Settings) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| format!("cannot connect to the database: {e}"))?;
    let sealed = sealing::seal_existing(&mut conn, keyring).map_err(|e| e.message)?;
    if sealed > 0 {
        tracing::info!(rows = sealed, "sealed values stored in plaintext");
    }
    let swept = retention::sweep_spool(&retention::spool_dir());
    if swept > 0 {
        tracing::info!(files = swept, "removed uploads spooled by processes that died");
    }
    Ok(())
}
