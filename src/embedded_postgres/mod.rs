//! A private PostgreSQL cluster that the program creates and starts itself, for when
//! DATABASE_URL is unset (`duizhang serve` on a developer machine, and the test suite).
//!
//! Layout, under the configured data folder:
//!
//! ```text
//! <data_dir>/pg.lock   exclusive lock serialising create/start/stop between processes
//! <data_dir>/pg/       the cluster (PGDATA); its unix socket lives here too
//! <data_dir>/pg.log    server log (pg_ctl -l)
//! ```
//!
//! When running as root the server runs as `postgres` (or `nobody`), because PostgreSQL
//! refuses to run as root. If that user cannot reach the data folder (say it is under
//! /root, mode 0700), the cluster and its log go to `<temp>/duizhang-pg-<hash of data_dir>/`
//! instead; the lock stays in the data folder. [`EmbeddedPostgres::cluster_dir`] tells where.
//!
//! Several processes may share one cluster: the first to call [`EmbeddedPostgres::start`]
//! starts it and stops it when done; the others reuse it and leave it running.
//!
//! Files by concept: `data_dir` (folder, lock, temp fallback), `server_user` (who runs the server), `binaries`
//! (finding initdb and pg_ctl), `cluster` (initdb, start, stop), `process` (pid file, liveness, tool output).

mod binaries;
mod cluster;
mod data_dir;
mod error;
mod process;
mod server_user;

use std::path::{Path, PathBuf};
use std::time::Duration;

use binaries::{find_binaries, read_pg_version};
use cluster::Cluster;
use data_dir::{check_shell_safe, choose_base, lock_data_dir, prepare_data_dir};
pub use error::EmbeddedPgError;
use process::{free_port, percent_encode};
use server_user::{adopt_cluster_owner, unprivileged_user};

const CLUSTER_DIR_NAME: &str = "pg";

const LOG_FILE_NAME: &str = "pg.log";

pub(super) const SUPERUSER: &str = "postgres";

/// How long pg_ctl waits for start/stop, and how long we wait for someone else's server.
pub(super) const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct EmbeddedPostgresConfig {
    /// Folder holding the cluster, its log and its lock; created if missing.
    pub data_dir: PathBuf,
    /// fsync=off, synchronous_commit=off, full_page_writes=off (and initdb --no-sync):
    /// much faster, but a machine crash can corrupt the cluster. For tests only.
    /// Applies only when this call starts the server; a running one is reused as it is.
    pub fast_unsafe: bool,
}

impl EmbeddedPostgresConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into(), fast_unsafe: false }
    }
}

pub(super) type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

/// A running cluster, started by this handle or by someone else (see [`Self::started_here`]).
#[derive(Debug)]
pub struct EmbeddedPostgres {
    cluster: Cluster,
    port: u16,
    pid: i32,
    started_here: bool,
    created_here: bool,
    stopped: bool,
}

impl EmbeddedPostgres {
    /// Create (initdb) if the data folder has no cluster, start it on a free 127.0.0.1 port
    /// if it is not running, or reuse it if it is already running (port from postmaster.pid).
    /// Blocking; may take seconds.
    pub fn start(config: EmbeddedPostgresConfig) -> Result<EmbeddedPostgres> {
        Self::start_with_ports(config, &mut free_port, None)
    }

    /// A streaming standby of `primary` (a hot standby, read-only), made with pg_basebackup the
    /// first time and started on a free port: for tests of the read replica. The primary must
    /// allow replication connections from 127.0.0.1, as initdb's defaults do.
    pub fn start_standby(config: EmbeddedPostgresConfig, primary: &EmbeddedPostgres) -> Result<EmbeddedPostgres> {
        Self::start_with_ports(config, &mut free_port, Some(primary.port))
    }

    /// Like [`Self::start`], but on `port` (the server fails to start if it is taken): for
    /// bringing a stopped cluster back where its clients expect it (fault tests).
    pub fn start_on_port(config: EmbeddedPostgresConfig, port: u16) -> Result<EmbeddedPostgres> {
        Self::start_with_ports(config, &mut || Ok(port), None)
    }

    fn start_with_ports(
        config: EmbeddedPostgresConfig,
        next_port: &mut dyn FnMut() -> Result<u16>,
        standby_of: Option<u16>,
    ) -> Result<EmbeddedPostgres> {
        let data_dir = prepare_data_dir(&config.data_dir)?;
        let run_as = unprivileged_user()?;
        let (base, in_fallback) = choose_base(&data_dir, run_as.as_ref())?;
        let cluster_dir = base.join(CLUSTER_DIR_NAME);
        for path in [&cluster_dir, &base.join(LOG_FILE_NAME)] {
            check_shell_safe(path)?;
        }

        // Held until start() returns, so a concurrent starter sees a finished cluster that
        // is either fully running or fully stopped.
        let _lock = lock_data_dir(&data_dir)?;

        let run_as = run_as.map(|user| adopt_cluster_owner(&cluster_dir, user));
        let want_major = read_pg_version(&cluster_dir);
        let bins = find_binaries(want_major.as_deref())?;
        let cluster =
            Cluster { bins, run_as, data_dir, log: base.join(LOG_FILE_NAME), dir: cluster_dir, base, in_fallback };

        let created_here = cluster.ensure_initialized(config.fast_unsafe, standby_of)?;
        if let Some(pm) = cluster.running_postmaster()? {
            return Ok(EmbeddedPostgres {
                cluster,
                port: pm.port,
                pid: pm.pid,
                started_here: false,
                created_here,
                stopped: false,
            });
        }
        let pm = cluster.start_server(config.fast_unsafe, next_port)?;
        Ok(EmbeddedPostgres { cluster, port: pm.port, pid: pm.pid, started_here: true, created_here, stopped: false })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/DBNAME` (superuser, trust auth on loopback).
    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{}", self.port, percent_encode(database))
    }

    /// The cluster's PGDATA: `<data_dir>/pg`, or the temp fallback (see [`Self::in_temp_fallback`]).
    pub fn cluster_dir(&self) -> &Path {
        &self.cluster.dir
    }

    pub fn log_file(&self) -> &Path {
        &self.cluster.log
    }

    /// True when the unprivileged server user could not reach the data folder, so the cluster
    /// lives under the system temp dir instead (which the OS may clean: fine for dev and tests).
    pub fn in_temp_fallback(&self) -> bool {
        self.cluster.in_fallback
    }

    /// True when this handle started the server (and so will stop it); false when it reused
    /// one that was already running.
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// True when this call ran initdb; false when the cluster already existed.
    pub fn created_here(&self) -> bool {
        self.created_here
    }

    /// Stop with `pg_ctl stop -m fast`, only if this handle started the server. Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        self.stop_in_mode("fast")
    }

    /// Stop with `pg_ctl stop -m immediate` (the server quits at once, as after a crash), only
    /// if this handle started it: for tests of a database that goes away.
    pub fn stop_immediately(&mut self) -> Result<()> {
        self.stop_in_mode("immediate")
    }

    fn stop_in_mode(&mut self, mode: &str) -> Result<()> {
        if !self.started_here || self.stopped {
            return Ok(());
        }
        // Without the lock a concurrent start() could see the server as running and hand out
        // a URL that stops working a moment later. If the data folder is gone (a test's temp
        // dir dropped first) the server must still be stopped, so go on without it.
        let _lock = lock_data_dir(&self.cluster.data_dir).ok();
        self.cluster.stop_server(self.pid, mode)?;
        self.stopped = true;
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::net::{Ipv4Addr, TcpListener};
    use std::os::unix::fs::PermissionsExt;

    use super::process::accepts_tcp;
    use super::*;

    /// The port-race retry, forced: the first port offered is already listened on.
    #[test]
    fn retries_when_the_port_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = squatter.local_addr().unwrap().port();
        let mut offered = Vec::new();
        let mut ports = || {
            let port = if offered.is_empty() { taken } else { free_port()? };
            offered.push(port);
            Ok(port)
        };
        let mut config = EmbeddedPostgresConfig::new(dir.path().join("data"));
        config.fast_unsafe = true;
        let mut pg = EmbeddedPostgres::start_with_ports(config, &mut ports, None).unwrap();
        assert_eq!(offered.len(), 2, "offered ports: {offered:?}");
        assert_ne!(pg.port(), taken);
        assert!(accepts_tcp(pg.port()));
        let log = fs::read_to_string(pg.log_file()).unwrap();
        assert!(log.contains("Address already in use"), "log:\n{log}");
        pg.stop().unwrap();
    }
}
