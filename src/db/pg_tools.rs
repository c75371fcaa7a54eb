//! PostgreSQL's client tools (`pg_dump`, `pg_restore`), found the way the embedded cluster finds
//! `initdb`: on PATH first, then in /usr/lib/postgresql/<version>/bin, highest version first. A
//! dump needs a `pg_dump` at least as new as the server, so the server's major version is
//! preferred when given.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const VERSIONED_INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// The tool `name`; of several candidates the one whose major version is `want_major`, else
/// the newest.
pub fn find(name: &str, want_major: Option<u32>) -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)).filter(|p| is_executable(p)));
    }
    candidates.extend(versioned_bin_dirs().into_iter().map(|d| d.join(name)).filter(|p| is_executable(p)));
    if candidates.is_empty() {
        return Err(format!("{name} not found on PATH or in {VERSIONED_INSTALL_ROOT}/<version>/bin"));
    }
    let versions: Vec<(PathBuf, Option<u32>)> =
        candidates.into_iter().map(|p| (p.clone(), major_version(&p))).collect();
    if let Some(want) = want_major {
        if let Some((p, _)) = versions.iter().find(|(_, v)| *v == Some(want)) {
            return Ok(p.clone());
        }
    }
    Ok(versions.into_iter().max_by_key(|(_, v)| v.unwrap_or(0)).map(|(p, _)| p).expect("not empty"))
}

/// "pg_dump (PostgreSQL) 15.20 (Debian ...)" -> 15.
fn major_version(tool: &Path) -> Option<u32> {
    let out = Command::new(tool).arg("--version").stdin(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(") ").nth(1)?.split(['.', ' ']).next()?.trim().parse().ok()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn versioned_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(VERSIONED_INSTALL_ROOT) else {
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

/// Runs a tool, its output discarded unless it fails (then stderr is the error).
pub fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// `pg_dump` of the database at `url` in custom format into `out`.
/// With `snapshot` (from `pg_export_snapshot()`), it sees exactly what that transaction sees.
pub fn dump(url: &str, server_major: Option<u32>, snapshot: Option<&str>, out: &Path) -> Result<(), String> {
    let mut cmd = Command::new(find("pg_dump", server_major)?);
    if let Some(s) = snapshot {
        cmd.arg(format!("--snapshot={s}"));
    }
    cmd.arg("--format=custom").arg("--no-owner").arg("--no-privileges").arg("--file").arg(out).arg("--dbname").arg(url);
    run(cmd, "pg_dump")
}

/// `pg_dump` of the database at `url` as plain SQL text (what a leaked dump would show).
pub fn dump_plain(url: &str, server_major: Option<u32>, out: &Path) -> Result<(), String> {
    let mut cmd = Command::new(find("pg_dump", server_major)?);
    cmd.arg("--format=plain").arg("--no-owner").arg("--file").arg(out).arg("--dbname").arg(url);
    run(cmd, "pg_dump")
}

/// `pg_restore` of a custom-format dump into the (empty) database at `url`.
pub fn restore(url: &str, server_major: Option<u32>, dump: &Path) -> Result<(), String> {
    let mut cmd = Command::new(find("pg_restore", server_major)?);
    cmd.arg("--no-owner")
        .arg("--no-privileges")
        .arg("--exit-on-error")
        .arg("--single-transaction")
        .arg("--dbname")
        .arg(url)
        .arg(dump);
    run(cmd, "pg_restore")
}
