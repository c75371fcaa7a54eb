//! The data folder: created and resolved, locked while a process creates, starts or stops the cluster, and the
//! temp fallback for when the server user cannot reach it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::geteuid;

use super::server_user::{user_can_enter, RunAs};
use super::{EmbeddedPgError, Result};

pub(super) const LOCK_FILE_NAME: &str = "pg.lock";

pub(super) fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(data_dir)
        .map_err(|e| EmbeddedPgError::io(format!("creating data folder {}", data_dir.display()), e))?;
    // Canonical, so that every caller agrees on the fallback hash and on the postmaster's cwd.
    fs::canonicalize(data_dir).map_err(|e| EmbeddedPgError::io(format!("resolving {}", data_dir.display()), e))
}

pub(super) fn lock_data_dir(data_dir: &Path) -> Result<File> {
    let path = data_dir.join(LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| EmbeddedPgError::io(format!("opening lock file {}", path.display()), e))?;
    // flock(2): per open file, so it also serialises threads of one process that each open it.
    file.lock().map_err(|e| EmbeddedPgError::io(format!("locking {}", path.display()), e))?;
    Ok(file)
}

/// Where the cluster goes: the data folder itself, or the temp fallback when the server user
/// cannot reach it. Returns (canonical base folder, is_fallback).
pub(super) fn choose_base(data_dir: &Path, run_as: Option<&RunAs>) -> Result<(PathBuf, bool)> {
    let Some(user) = run_as else {
        return Ok((data_dir.to_path_buf(), false));
    };
    if user_can_enter(user, data_dir)? {
        return Ok((data_dir.to_path_buf(), false));
    }
    let base = std::env::temp_dir().join(format!("duizhang-pg-{:016x}", fnv1a64(data_dir.as_os_str().as_bytes())));
    match fs::DirBuilder::new().mode(0o755).create(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(EmbeddedPgError::io(format!("creating fallback folder {}", base.display()), e)),
    }
    // The temp dir is world-writable: someone could have planted this name to get at the
    // cluster or to point it elsewhere.
    let meta = fs::symlink_metadata(&base)
        .map_err(|e| EmbeddedPgError::io(format!("inspecting fallback folder {}", base.display()), e))?;
    let unsafe_reason = if !meta.is_dir() {
        Some("it is not a plain directory".to_string())
    } else if meta.uid() != geteuid().as_raw() {
        Some(format!("it is owned by uid {}, not by us", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!("it is writable by others (mode {:o})", meta.mode() & 0o7777))
    } else {
        None
    };
    if let Some(reason) = unsafe_reason {
        return Err(EmbeddedPgError::UnsafeFallbackDir { path: base, reason });
    }
    // Our umask may have masked the search bit the server user needs.
    fs::set_permissions(&base, fs::Permissions::from_mode(0o755))
        .map_err(|e| EmbeddedPgError::io(format!("chmod {}", base.display()), e))?;
    let base = fs::canonicalize(&base).map_err(|e| EmbeddedPgError::io(format!("resolving {}", base.display()), e))?;
    if !user_can_enter(user, &base)? {
        return Err(EmbeddedPgError::UnsafeFallbackDir {
            path: base,
            reason: format!("user {} cannot enter it either", user.name),
        });
    }
    Ok((base, true))
}

/// pg_ctl runs the server through `sh -c "exec postgres -D \"DIR\" OPTS ... >> \"LOG\""`,
/// so these characters in the data or log path would be interpreted by the shell.
pub(super) fn check_shell_safe(path: &Path) -> Result<()> {
    if path.as_os_str().as_bytes().iter().any(|b| matches!(b, b'"' | b'$' | b'`' | b'\\' | b'\n')) {
        return Err(EmbeddedPgError::UnsupportedPath { path: path.to_path_buf() });
    }
    Ok(())
}

/// Stable across Rust releases, unlike std's DefaultHasher, so the fallback folder of a
/// data folder keeps its name after a toolchain upgrade.
pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
