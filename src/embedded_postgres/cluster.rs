//! One cluster folder and the pg_ctl / initdb calls on it: create it atomically, find a server already running
//! in it, start one (retrying when the probed port was taken meanwhile), stop it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::binaries::PgBinaries;
use super::process::*;
use super::server_user::RunAs;
use super::{EmbeddedPgError, Result, SERVER_TIMEOUT, SUPERUSER};

pub(super) const INITDB_TMP_PREFIX: &str = "pg.initdb-tmp-";

/// A freshly probed port can be taken by another process before the server binds it.
pub(super) const START_ATTEMPTS: u32 = 5;

/// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
pub(super) const MAX_UNIX_SOCKET_PATH: usize = 107;

#[derive(Debug, Clone, Copy)]
pub(super) struct Postmaster {
    pub(super) pid: i32,
    pub(super) port: u16,
}

#[derive(Debug)]
pub(super) struct Cluster {
    pub(super) bins: PgBinaries,
    pub(super) run_as: Option<RunAs>,
    /// Canonical configured data folder; holds the lock even when the cluster is elsewhere.
    pub(super) data_dir: PathBuf,
    /// Folder holding the cluster, the initdb scratch folder and the log.
    pub(super) base: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) log: PathBuf,
    pub(super) in_fallback: bool,
}

impl Cluster {
    pub(super) fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        // The server's cwd ends up as the data dir anyway; this only keeps the tools from
        // starting in a folder (like /root) that the server user cannot read.
        cmd.current_dir(&self.base)
            .stdin(Stdio::null())
            // Log lines are matched below ("Address already in use"), so keep them in English.
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        if let Some(user) = &self.run_as {
            // With uid set and no explicit groups, std calls setgroups(0) before setuid, so
            // the child keeps none of root's supplementary groups.
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }

    pub(super) fn chown(&self, path: &Path) -> Result<()> {
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(|e| EmbeddedPgError::io(format!("giving {} to user {}", path.display(), user.name), e))?;
        }
        Ok(())
    }

    /// Runs initdb unless the cluster exists; returns whether it did.
    ///
    /// initdb writes into a scratch sibling that is renamed into place only once complete,
    /// so a killed initdb never leaves a half-made cluster where the next start looks.
    ///
    /// With `standby_of` (a primary's port on 127.0.0.1) the cluster is a base backup of that
    /// server instead, configured (`-R`) to start as its streaming standby.
    pub(super) fn ensure_initialized(&self, fast_unsafe: bool, standby_of: Option<u16>) -> Result<bool> {
        if self.dir.join("PG_VERSION").is_file() {
            return Ok(false);
        }
        if self.dir.exists() {
            let empty = fs::read_dir(&self.dir).map(|mut entries| entries.next().is_none()).unwrap_or(false);
            if !empty {
                return Err(EmbeddedPgError::NotACluster { path: self.dir.clone() });
            }
            fs::remove_dir(&self.dir)
                .map_err(|e| EmbeddedPgError::io(format!("removing empty {}", self.dir.display()), e))?;
        }
        self.remove_stale_initdb_dirs();

        // Unique per process: an initdb orphaned by a killed parent may still be writing
        // into its own scratch folder.
        let tmp = self.base.join(format!("{INITDB_TMP_PREFIX}{}", std::process::id()));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&tmp)
            .map_err(|e| EmbeddedPgError::io(format!("creating {}", tmp.display()), e))?;
        self.chown(&tmp)?;

        let result = match standby_of {
            None => self.run_initdb(&tmp, fast_unsafe),
            Some(port) => self.run_base_backup(&tmp, port, fast_unsafe),
        };
        if let Err(detail) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(match standby_of {
                None => EmbeddedPgError::InitdbFailed { cluster_dir: self.dir.clone(), detail },
                Some(_) => EmbeddedPgError::BaseBackupFailed { cluster_dir: self.dir.clone(), detail },
            });
        }

        fs::rename(&tmp, &self.dir)
            .map_err(|e| EmbeddedPgError::io(format!("renaming {} to {}", tmp.display(), self.dir.display()), e))?;
        if !fast_unsafe {
            // Make the rename itself durable, or a crash could bring back the scratch name.
            if let Ok(dir) = File::open(&self.base) {
                let _ = dir.sync_all();
            }
        }
        Ok(true)
    }

    fn run_initdb(&self, tmp: &Path, fast_unsafe: bool) -> std::result::Result<(), String> {
        let mut cmd = self.command(&self.bins.initdb);
        cmd.arg("-D").arg(tmp).args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"]);
        if fast_unsafe {
            cmd.arg("--no-sync");
        }
        self.run_tool(&mut cmd, "initdb")
    }

    /// pg_basebackup (of initdb's install: same major version) of the server on
    /// 127.0.0.1:`port`, with the WAL streamed alongside and the standby settings written.
    fn run_base_backup(&self, tmp: &Path, port: u16, fast_unsafe: bool) -> std::result::Result<(), String> {
        let mut cmd = self.command(&self.bins.pg_basebackup());
        cmd.arg("-D").arg(tmp).args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", SUPERUSER]);
        // Fast checkpoint: the spread one would wait up to checkpoint_timeout.
        cmd.args(["-X", "stream", "-R", "-c", "fast"]);
        if fast_unsafe {
            cmd.arg("--no-sync");
        }
        self.run_tool(&mut cmd, "pg_basebackup")
    }

    fn run_tool(&self, cmd: &mut Command, what: &str) -> std::result::Result<(), String> {
        match run(cmd, what) {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!("{} {}", out.status, describe_output(&out, &self.run_as))),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(super) fn remove_stale_initdb_dirs(&self) {
        let Ok(entries) = fs::read_dir(&self.base) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().as_bytes().starts_with(INITDB_TMP_PREFIX.as_bytes()) {
                // Best effort: an orphaned initdb may still be adding files.
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// The server running in this cluster, if any; waits (bounded) for one that is
    /// still starting up. Clears a postmaster.pid that provably belongs to no live server.
    pub(super) fn running_postmaster(&self) -> Result<Option<Postmaster>> {
        let pid_file = self.dir.join("postmaster.pid");
        let Some((pid, port)) = read_postmaster_pid(&pid_file) else {
            return Ok(None);
        };
        let deadline = Instant::now() + SERVER_TIMEOUT;
        loop {
            match postmaster_liveness(pid, &self.dir) {
                Liveness::Gone => {
                    // PostgreSQL clears a stale file itself when the pid is free, but not when
                    // it is a zombie (seen here: init reaps a killed postmaster only after a
                    // while) or was reused by a process of the same user after a restart.
                    match fs::remove_file(&pid_file) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(EmbeddedPgError::io(format!("removing stale {}", pid_file.display()), e)),
                    }
                    return Ok(None);
                }
                Liveness::Alive => {}
            }
            let Some(port) = port else {
                // Every server since 9.1 writes the port; without it there is nothing to reuse.
                return Err(EmbeddedPgError::StartFailed {
                    cluster_dir: self.dir.clone(),
                    attempts: 0,
                    detail: format!("pid {pid} from {} is alive but the file names no port", pid_file.display()),
                });
            };
            if accepts_tcp(port) {
                return Ok(Some(Postmaster { pid, port }));
            }
            if Instant::now() >= deadline {
                return Err(EmbeddedPgError::NotAccepting {
                    cluster_dir: self.dir.clone(),
                    pid,
                    port,
                    log: self.log.clone(),
                    log_tail: labelled_tail("log", &read_log_from(&self.log, 0)),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn start_server(
        &self,
        fast_unsafe: bool,
        next_port: &mut dyn FnMut() -> Result<u16>,
    ) -> Result<Postmaster> {
        self.prepare_log_file()?;
        let socket_dir = self.socket_dir_option();
        let mut last_detail = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = next_port()?;
            let mut server_opts = format!(
                "-p {port} -c unix_socket_directories={socket_dir} \
                 -c listen_addresses=127.0.0.1 -c max_connections=300"
            );
            // Bulk work (statement imports, matching runs writing millions of rows in one
            // transaction) with PostgreSQL's defaults spends most of its time on checkpoints
            // forced every 1 GB of WAL (each followed by full-page images of every page touched
            // again) and on evicting a 128 MB buffer cache: a 1M-line run's documents and lines
            // are about 950 MB, so 1 GB of buffers keeps them cached for the whole run.
            // Durability is unchanged: these only size caches and space checkpoints further
            // apart (crash recovery replays more WAL). README "Benchmarks" lists what a
            // production server should set.
            server_opts.push_str(
                " -c shared_buffers=1GB -c max_wal_size=8GB -c min_wal_size=1GB \
                 -c checkpoint_timeout=30min -c checkpoint_completion_target=0.9 \
                 -c wal_buffers=64MB \
                 -c maintenance_work_mem=256MB -c work_mem=32MB",
            );
            if fast_unsafe {
                server_opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            }
            let log_start = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
            let mut cmd = self.command(&self.bins.pg_ctl);
            cmd.args(["start", "-w", "-t"])
                .arg(SERVER_TIMEOUT.as_secs().to_string())
                .arg("-D")
                .arg(&self.dir)
                .arg("-l")
                .arg(&self.log)
                .arg("-o")
                .arg(&server_opts);
            // pg_ctl sends the server's output to the log, so these pipes close when it exits.
            let out = run(&mut cmd, "pg_ctl start")?;
            let log_tail = read_log_from(&self.log, log_start);
            if out.status.success() {
                if let Some((pid, _)) = read_postmaster_pid(&self.dir.join("postmaster.pid")) {
                    return Ok(Postmaster { pid, port });
                }
            }
            last_detail = format!(
                "pg_ctl {}{}{}",
                out.status,
                describe_output(&out, &self.run_as),
                labelled_tail(&format!("log {}", self.log.display()), &log_tail)
            );
            let retryable = log_tail.contains("Address already in use")
                // Children of a killed postmaster can hold its shared memory for a moment.
                || log_tail.contains("is still in use");
            if !retryable {
                return Err(EmbeddedPgError::StartFailed {
                    cluster_dir: self.dir.clone(),
                    attempts: attempt,
                    detail: last_detail,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(EmbeddedPgError::StartFailed {
            cluster_dir: self.dir.clone(),
            attempts: START_ATTEMPTS,
            detail: last_detail,
        })
    }

    /// pg_ctl opens the log as the server user, who may not be able to create files in base.
    pub(super) fn prepare_log_file(&self) -> Result<()> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.log)
            .map_err(|e| EmbeddedPgError::io(format!("creating {}", self.log.display()), e))?;
        self.chown(&self.log)
    }

    /// A socket inside the cluster needs nothing from /var/run/postgresql; when the path is
    /// too long for sockaddr_un, go TCP-only (pg_ctl -w watches postmaster.pid, not the socket).
    pub(super) fn socket_dir_option(&self) -> String {
        let socket_path_len = self.dir.as_os_str().len() + "/.s.PGSQL.65535".len();
        if socket_path_len <= MAX_UNIX_SOCKET_PATH {
            shell_quote(&self.dir)
        } else {
            "''".to_string()
        }
    }

    /// `pg_ctl stop` in `mode` (`fast`: clients are disconnected and the server shuts down
    /// cleanly; `immediate`: it quits at once, as after a crash).
    pub(super) fn stop_server(&self, our_pid: i32, mode: &str) -> Result<()> {
        let pid_file = self.dir.join("postmaster.pid");
        match read_postmaster_pid(&pid_file) {
            None => return Ok(()),
            // Stopped by someone else and started again since: that server is not ours.
            Some((pid, _)) if pid != our_pid => return Ok(()),
            Some(_) => {}
        }
        let mut cmd = self.command(&self.bins.pg_ctl);
        cmd.args(["stop", "-m", mode, "-w", "-t"]).arg(SERVER_TIMEOUT.as_secs().to_string()).arg("-D").arg(&self.dir);
        let out = run(&mut cmd, "pg_ctl stop")?;
        if out.status.success() || !pid_file.exists() {
            return Ok(());
        }
        Err(EmbeddedPgError::StopFailed {
            cluster_dir: self.dir.clone(),
            detail: format!(
                "pg_ctl {}{}{}",
                out.status,
                describe_output(&out, &self.run_as),
                labelled_tail(&format!("log {}", self.log.display()), &read_log_from(&self.log, 0))
            ),
        })
    }
}
