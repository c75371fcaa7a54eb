//! Which user runs the server: PostgreSQL refuses to run as root, so a root process runs it as `postgres` (or
//! `nobody`), or as whoever already owns the cluster.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::unistd::{geteuid, User};

use super::{EmbeddedPgError, Result};

pub(super) const RUN_AS_CANDIDATES: [&str; 2] = ["postgres", "nobody"];

#[derive(Debug, Clone)]
pub(super) struct RunAs {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

/// The user to run initdb and pg_ctl as, or None to run them as ourselves.
pub(super) fn unprivileged_user() -> Result<Option<RunAs>> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    for name in RUN_AS_CANDIDATES {
        match User::from_name(name) {
            Ok(Some(user)) => {
                return Ok(Some(RunAs { name: user.name, uid: user.uid.as_raw(), gid: user.gid.as_raw() }))
            }
            Ok(None) => {}
            Err(e) => return Err(EmbeddedPgError::io(format!("looking up user {name}"), e.into())),
        }
    }
    Err(EmbeddedPgError::NoUnprivilegedUser)
}

/// A cluster made when another user was chosen (e.g. `nobody`, before a `postgres` user
/// existed) must keep running as its owner: PostgreSQL refuses a data dir it does not own.
pub(super) fn adopt_cluster_owner(cluster_dir: &Path, chosen: RunAs) -> RunAs {
    let Ok(meta) = fs::symlink_metadata(cluster_dir) else {
        return chosen;
    };
    if !meta.is_dir() || meta.uid() == 0 || meta.uid() == chosen.uid {
        return chosen;
    }
    match User::from_uid(meta.uid().into()) {
        Ok(Some(user)) => RunAs { name: user.name, uid: user.uid.as_raw(), gid: user.gid.as_raw() },
        _ => RunAs { name: format!("uid {}", meta.uid()), uid: meta.uid(), gid: meta.gid() },
    }
}

/// Asks the kernel, as that user, rather than re-deriving it from mode bits (ACLs, and
/// every ancestor folder, count).
pub(super) fn user_can_enter(user: &RunAs, dir: &Path) -> Result<bool> {
    let status = Command::new("/bin/sh")
        .args(["-c", "cd -- \"$1\"", "sh"])
        .arg(dir)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .uid(user.uid)
        .gid(user.gid)
        .status()
        .map_err(|e| {
            EmbeddedPgError::io(format!("checking whether user {} can enter {}", user.name, dir.display()), e)
        })?;
    Ok(status.success())
}
