//! What can go wrong when creating, starting or stopping the cluster, each with what to do about it.

use std::io;
use std::path::PathBuf;

use super::binaries::VERSIONED_INSTALL_ROOT;
use super::SERVER_TIMEOUT;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in \
         {VERSIONED_INSTALL_ROOT}/*/bin: install the server package \
         (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL"
    )]
    BinariesNotFound,
    #[error(
        "running as root, which PostgreSQL refuses, and there is neither a `postgres` nor a \
         `nobody` user to run it as: create one (e.g. `useradd --system postgres`) or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "path {path} contains a character that pg_ctl cannot pass through its shell \
         (one of \" $ ` \\ or a newline): choose another data folder"
    )]
    UnsupportedPath { path: PathBuf },
    #[error(
        "{path} exists but is not a PostgreSQL cluster (it has no PG_VERSION): \
         move it away or choose another data folder"
    )]
    NotACluster { path: PathBuf },
    #[error("refusing to use fallback folder {path}: {reason}")]
    UnsafeFallbackDir { path: PathBuf, reason: String },
    #[error("initdb failed for {cluster_dir}: {detail}")]
    InitdbFailed { cluster_dir: PathBuf, detail: String },
    #[error("pg_basebackup failed for {cluster_dir}: {detail}")]
    BaseBackupFailed { cluster_dir: PathBuf, detail: String },
    #[error("could not start PostgreSQL in {cluster_dir} ({attempts} attempt(s)): {detail}")]
    StartFailed { cluster_dir: PathBuf, attempts: u32, detail: String },
    #[error(
        "PostgreSQL (pid {pid}) is running in {cluster_dir} but 127.0.0.1:{port} did not accept \
         connections within {}s; see {log}{log_tail}",
        SERVER_TIMEOUT.as_secs(),
        log = log.display()
    )]
    NotAccepting { cluster_dir: PathBuf, pid: i32, port: u16, log: PathBuf, log_tail: String },
    #[error("could not stop PostgreSQL in {cluster_dir}: {detail}")]
    StopFailed { cluster_dir: PathBuf, detail: String },
}

impl EmbeddedPgError {
    pub(super) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}
