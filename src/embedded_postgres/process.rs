//! Talking to processes: the postmaster's pid file and liveness, TCP probes, running a tool and turning its
//! output and the server log into an error message, quoting for the shell pg_ctl uses.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::server_user::RunAs;
use super::{EmbeddedPgError, Result};

/// (pid, port) from postmaster.pid: line 1 and line 4.
pub(super) fn read_postmaster_pid(pid_file: &Path) -> Option<(i32, Option<u16>)> {
    let text = fs::read_to_string(pid_file).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2).and_then(|l| l.trim().parse().ok());
    Some((pid, port))
}

pub(super) enum Liveness {
    Alive,
    Gone,
}

pub(super) fn postmaster_liveness(pid: i32, cluster_dir: &Path) -> Liveness {
    // kill(0, ..) would address our whole process group.
    if pid <= 0 || pid as u32 == std::process::id() {
        return Liveness::Gone;
    }
    if kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH) {
        return Liveness::Gone;
    }
    // /proc is Linux-only; elsewhere (or when it is unreadable) trust kill() alone.
    if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, Some('Z' | 'X')) {
            return Liveness::Gone;
        }
    }
    // A postmaster's cwd is always its data dir; anything else is a reused pid. The kernel
    // reports the resolved path, so compare with ours resolved too (pg/ may be a symlink).
    let cluster_dir = fs::canonicalize(cluster_dir).unwrap_or_else(|_| cluster_dir.to_path_buf());
    if let Ok(cwd) = fs::read_link(format!("/proc/{pid}/cwd")) {
        if cwd != cluster_dir {
            return Liveness::Gone;
        }
    }
    Liveness::Alive
}

pub(super) fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

pub(super) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| EmbeddedPgError::io("finding a free port on 127.0.0.1", e))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| EmbeddedPgError::io("finding a free port on 127.0.0.1", e))
}

pub(super) fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.output().map_err(|e| EmbeddedPgError::io(format!("running {what} ({:?})", cmd.get_program()), e))
}

pub(super) fn describe_output(out: &Output, run_as: &Option<RunAs>) -> String {
    let mut text = String::new();
    if let Some(user) = run_as {
        let _ = write!(text, " (run as user {})", user.name);
    }
    text.push_str(&labelled_tail("stderr", &String::from_utf8_lossy(&out.stderr)));
    text.push_str(&labelled_tail("stdout", &String::from_utf8_lossy(&out.stdout)));
    text
}

/// The last lines of `text` under a heading, or nothing when it is blank.
pub(super) fn labelled_tail(label: &str, text: &str) -> String {
    const MAX_LINES: usize = 25;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(MAX_LINES);
    format!("\n--- {label} ---\n{}", lines[start..].join("\n"))
}

/// What the log gained since `offset`, at most the last 16 KiB of it.
pub(super) fn read_log_from(log: &Path, offset: u64) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let Ok(mut file) = File::open(log) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = offset.max(len.saturating_sub(MAX_BYTES)).min(len);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Single-quoted for the shell that pg_ctl passes `-o` through.
pub(super) fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub(super) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_database_names() {
        assert_eq!(percent_encode("duizhang_test-1"), "duizhang_test-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn shell_quotes_single_quotes() {
        assert_eq!(shell_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
