//! Finding the PostgreSQL server programs (initdb, pg_ctl): on PATH or in the Debian-style versioned install
//! folders, preferring the major version an existing cluster was made with.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{EmbeddedPgError, Result};

pub(super) const VERSIONED_INSTALL_ROOT: &str = "/usr/lib/postgresql";

#[derive(Debug, Clone)]
pub(super) struct PgBinaries {
    pub(super) initdb: PathBuf,
    pub(super) pg_ctl: PathBuf,
}

impl PgBinaries {
    /// pg_basebackup of the same install: beside initdb once symlinks are resolved (a PATH
    /// entry may link initdb alone, as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb).
    pub(super) fn pg_basebackup(&self) -> PathBuf {
        let initdb = fs::canonicalize(&self.initdb).unwrap_or_else(|_| self.initdb.clone());
        initdb.with_file_name("pg_basebackup")
    }
}

pub(super) fn read_pg_version(cluster_dir: &Path) -> Option<String> {
    fs::read_to_string(cluster_dir.join("PG_VERSION")).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// PATH first, then /usr/lib/postgresql/<highest>/bin. For an existing cluster, prefer the
/// install of its own major version, since a server of another major refuses its files.
pub(super) fn find_binaries(want_major: Option<&str>) -> Result<PgBinaries> {
    find_binaries_in(std::env::var_os("PATH").as_deref(), Path::new(VERSIONED_INSTALL_ROOT), want_major)
}

pub(super) fn find_binaries_in(
    path_var: Option<&std::ffi::OsStr>,
    install_root: &Path,
    want_major: Option<&str>,
) -> Result<PgBinaries> {
    let mut candidates = Vec::new();
    if let (Some(initdb), Some(pg_ctl)) = (find_on_path(path_var, "initdb"), find_on_path(path_var, "pg_ctl")) {
        candidates.push(PgBinaries { initdb, pg_ctl });
    }
    for dir in versioned_bin_dirs(install_root) {
        let bins = PgBinaries { initdb: dir.join("initdb"), pg_ctl: dir.join("pg_ctl") };
        if is_executable(&bins.initdb) && is_executable(&bins.pg_ctl) {
            candidates.push(bins);
        }
    }
    if let Some(want) = want_major {
        if let Some(found) = candidates.iter().find(|bins| pg_ctl_major(&bins.pg_ctl).as_deref() == Some(want)) {
            return Ok(found.clone());
        }
    }
    candidates.into_iter().next().ok_or(EmbeddedPgError::BinariesNotFound)
}

pub(super) fn find_on_path(path_var: Option<&std::ffi::OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var?).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// /usr/lib/postgresql/<version>/bin, highest version first.
pub(super) fn versioned_bin_dirs(install_root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(install_root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let key = name.split('.').map(|part| part.parse::<u32>().ok()).collect::<Option<Vec<u32>>>()?;
            Some((key, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// "pg_ctl (PostgreSQL) 15.20 (Debian ...)" -> "15"; "9.6.24" -> "9.6", as in PG_VERSION.
pub(super) fn pg_ctl_major(pg_ctl: &Path) -> Option<String> {
    let out = Command::new(pg_ctl).arg("--version").stdin(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split(") ").nth(1)?.split_whitespace().next()?;
    let parts: Vec<&str> = version.split('.').collect();
    let first: u32 = parts.first()?.parse().ok()?;
    if first >= 10 {
        Some(first.to_string())
    } else {
        Some(format!("{first}.{}", parts.get(1)?))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nix::errno::Errno;

    use super::*;

    /// A stand-in install: pg_ctl prints a version; initdb is never run.
    fn fake_install(bin: &Path, version: &str) {
        fs::create_dir_all(bin).unwrap();
        for name in ["initdb", "pg_ctl"] {
            let path = bin.join(name);
            let script = format!("#!/bin/sh\necho '{name} (PostgreSQL) {version} (test)'\n");
            fs::write(&path, script).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            // A fork in a parallel test can hold the new file open for writing a moment
            // after we close it, and exec then fails with ETXTBSY.
            for _ in 0..200 {
                match Command::new(&path).output() {
                    Err(e) if e.raw_os_error() == Some(Errno::ETXTBSY as i32) => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn binaries_missing_says_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_binaries_in(Some(empty.path().as_os_str()), empty.path(), None).unwrap_err();
        assert!(matches!(err, EmbeddedPgError::BinariesNotFound));
        let message = err.to_string();
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }

    #[test]
    fn binaries_prefer_path_then_highest_version_then_the_cluster_major() {
        let root = tempfile::tempdir().unwrap();
        let install_root = root.path().join("lib/postgresql");
        for version in ["9.6", "13", "16"] {
            fake_install(&install_root.join(version).join("bin"), &format!("{version}.2"));
        }
        fs::create_dir_all(install_root.join("not-a-version/bin")).unwrap();
        let path_bin = root.path().join("path-bin");
        fake_install(&path_bin, "15.20");

        let none = root.path().join("nothing");
        let pick = |path: &Path, want: Option<&str>| {
            find_binaries_in(Some(path.as_os_str()), &install_root, want).unwrap().pg_ctl
        };
        assert_eq!(pick(&path_bin, None), path_bin.join("pg_ctl"));
        assert_eq!(pick(&none, None), install_root.join("16/bin/pg_ctl"));
        assert_eq!(pick(&path_bin, Some("13")), install_root.join("13/bin/pg_ctl"));
        assert_eq!(pick(&path_bin, Some("9.6")), install_root.join("9.6/bin/pg_ctl"));
        assert_eq!(pick(&path_bin, Some("15")), path_bin.join("pg_ctl"));
        // No install of that major: the default, and PostgreSQL's own error explains.
        assert_eq!(pick(&none, Some("12")), install_root.join("16/bin/pg_ctl"));
    }
}
