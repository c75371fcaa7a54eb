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

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::{geteuid, Pid, User};

const CLUSTER_DIR_NAME: &str = "pg";
const INITDB_TMP_PREFIX: &str = "pg.initdb-tmp-";
const LOG_FILE_NAME: &str = "pg.log";
const LOCK_FILE_NAME: &str = "pg.lock";
const SUPERUSER: &str = "postgres";
const RUN_AS_CANDIDATES: [&str; 2] = ["postgres", "nobody"];
const VERSIONED_INSTALL_ROOT: &str = "/usr/lib/postgresql";
/// How long pg_ctl waits for start/stop, and how long we wait for someone else's server.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);
/// A freshly probed port can be taken by another process before the server binds it.
const START_ATTEMPTS: u32 = 5;
/// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_UNIX_SOCKET_PATH: usize = 107;

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
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}

type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

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
        Self::start_with_ports(config, &mut free_port)
    }

    /// Like [`Self::start`], but on `port` (the server fails to start if it is taken): for
    /// bringing a stopped cluster back where its clients expect it (fault tests).
    pub fn start_on_port(config: EmbeddedPostgresConfig, port: u16) -> Result<EmbeddedPostgres> {
        Self::start_with_ports(config, &mut || Ok(port))
    }

    fn start_with_ports(
        config: EmbeddedPostgresConfig,
        next_port: &mut dyn FnMut() -> Result<u16>,
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

        let created_here = cluster.ensure_initialized(config.fast_unsafe)?;
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
        if !self.started_here || self.stopped {
            return Ok(());
        }
        // Without the lock a concurrent start() could see the server as running and hand out
        // a URL that stops working a moment later. If the data folder is gone (a test's temp
        // dir dropped first) the server must still be stopped, so go on without it.
        let _lock = lock_data_dir(&self.cluster.data_dir).ok();
        self.cluster.stop_server(self.pid)?;
        self.stopped = true;
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[derive(Debug, Clone)]
struct PgBinaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

#[derive(Debug, Clone, Copy)]
struct Postmaster {
    pid: i32,
    port: u16,
}

#[derive(Debug)]
struct Cluster {
    bins: PgBinaries,
    run_as: Option<RunAs>,
    /// Canonical configured data folder; holds the lock even when the cluster is elsewhere.
    data_dir: PathBuf,
    /// Folder holding the cluster, the initdb scratch folder and the log.
    base: PathBuf,
    dir: PathBuf,
    log: PathBuf,
    in_fallback: bool,
}

impl Cluster {
    fn command(&self, program: &Path) -> Command {
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

    fn chown(&self, path: &Path) -> Result<()> {
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
    fn ensure_initialized(&self, fast_unsafe: bool) -> Result<bool> {
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

        let mut cmd = self.command(&self.bins.initdb);
        cmd.arg("-D").arg(&tmp).args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"]);
        if fast_unsafe {
            cmd.arg("--no-sync");
        }
        let result = run(&mut cmd, "initdb");
        let failure = match result {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!("{} {}", out.status, describe_output(&out, &self.run_as))),
            Err(e) => Some(e.to_string()),
        };
        if let Some(detail) = failure {
            let _ = fs::remove_dir_all(&tmp);
            return Err(EmbeddedPgError::InitdbFailed { cluster_dir: self.dir.clone(), detail });
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

    fn remove_stale_initdb_dirs(&self) {
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
    fn running_postmaster(&self) -> Result<Option<Postmaster>> {
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

    fn start_server(&self, fast_unsafe: bool, next_port: &mut dyn FnMut() -> Result<u16>) -> Result<Postmaster> {
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
            // again) and on evicting a 128 MB buffer cache (a 1M-line run's documents and lines
            // are about 950 MB: 1 GB of buffers took it from 93 s to 69 s against 512 MB).
            // Durability is unchanged: these only
            // size caches and space checkpoints further apart (crash recovery replays more WAL).
            // README "Benchmarks" lists what a production server should set.
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
    fn prepare_log_file(&self) -> Result<()> {
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
    fn socket_dir_option(&self) -> String {
        let socket_path_len = self.dir.as_os_str().len() + "/.s.PGSQL.65535".len();
        if socket_path_len <= MAX_UNIX_SOCKET_PATH {
            shell_quote(&self.dir)
        } else {
            "''".to_string()
        }
    }

    fn stop_server(&self, our_pid: i32) -> Result<()> {
        let pid_file = self.dir.join("postmaster.pid");
        match read_postmaster_pid(&pid_file) {
            None => return Ok(()),
            // Stopped by someone else and started again since: that server is not ours.
            Some((pid, _)) if pid != our_pid => return Ok(()),
            Some(_) => {}
        }
        let mut cmd = self.command(&self.bins.pg_ctl);
        cmd.args(["stop", "-m", "fast", "-w", "-t"]).arg(SERVER_TIMEOUT.as_secs().to_string()).arg("-D").arg(&self.dir);
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

fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(data_dir)
        .map_err(|e| EmbeddedPgError::io(format!("creating data folder {}", data_dir.display()), e))?;
    // Canonical, so that every caller agrees on the fallback hash and on the postmaster's cwd.
    fs::canonicalize(data_dir).map_err(|e| EmbeddedPgError::io(format!("resolving {}", data_dir.display()), e))
}

fn lock_data_dir(data_dir: &Path) -> Result<File> {
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

/// The user to run initdb and pg_ctl as, or None to run them as ourselves.
fn unprivileged_user() -> Result<Option<RunAs>> {
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
fn adopt_cluster_owner(cluster_dir: &Path, chosen: RunAs) -> RunAs {
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

/// Where the cluster goes: the data folder itself, or the temp fallback when the server user
/// cannot reach it. Returns (canonical base folder, is_fallback).
fn choose_base(data_dir: &Path, run_as: Option<&RunAs>) -> Result<(PathBuf, bool)> {
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

/// Asks the kernel, as that user, rather than re-deriving it from mode bits (ACLs, and
/// every ancestor folder, count).
fn user_can_enter(user: &RunAs, dir: &Path) -> Result<bool> {
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

fn read_pg_version(cluster_dir: &Path) -> Option<String> {
    fs::read_to_string(cluster_dir.join("PG_VERSION")).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// PATH first, then /usr/lib/postgresql/<highest>/bin. For an existing cluster, prefer the
/// install of its own major version, since a server of another major refuses its files.
fn find_binaries(want_major: Option<&str>) -> Result<PgBinaries> {
    find_binaries_in(std::env::var_os("PATH").as_deref(), Path::new(VERSIONED_INSTALL_ROOT), want_major)
}

fn find_binaries_in(
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

fn find_on_path(path_var: Option<&std::ffi::OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var?).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// /usr/lib/postgresql/<version>/bin, highest version first.
fn versioned_bin_dirs(install_root: &Path) -> Vec<PathBuf> {
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
fn pg_ctl_major(pg_ctl: &Path) -> Option<String> {
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

/// (pid, port) from postmaster.pid: line 1 and line 4.
fn read_postmaster_pid(pid_file: &Path) -> Option<(i32, Option<u16>)> {
    let text = fs::read_to_string(pid_file).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2).and_then(|l| l.trim().parse().ok());
    Some((pid, port))
}

enum Liveness {
    Alive,
    Gone,
}

fn postmaster_liveness(pid: i32, cluster_dir: &Path) -> Liveness {
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

fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| EmbeddedPgError::io("finding a free port on 127.0.0.1", e))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| EmbeddedPgError::io("finding a free port on 127.0.0.1", e))
}

fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.output().map_err(|e| EmbeddedPgError::io(format!("running {what} ({:?})", cmd.get_program()), e))
}

fn describe_output(out: &Output, run_as: &Option<RunAs>) -> String {
    let mut text = String::new();
    if let Some(user) = run_as {
        let _ = write!(text, " (run as user {})", user.name);
    }
    text.push_str(&labelled_tail("stderr", &String::from_utf8_lossy(&out.stderr)));
    text.push_str(&labelled_tail("stdout", &String::from_utf8_lossy(&out.stdout)));
    text
}

/// The last lines of `text` under a heading, or nothing when it is blank.
fn labelled_tail(label: &str, text: &str) -> String {
    const MAX_LINES: usize = 25;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(MAX_LINES);
    format!("\n--- {label} ---\n{}", lines[start..].join("\n"))
}

/// What the log gained since `offset`, at most the last 16 KiB of it.
fn read_log_from(log: &Path, offset: u64) -> String {
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

/// pg_ctl runs the server through `sh -c "exec postgres -D \"DIR\" OPTS ... >> \"LOG\""`,
/// so these characters in the data or log path would be interpreted by the shell.
fn check_shell_safe(path: &Path) -> Result<()> {
    if path.as_os_str().as_bytes().iter().any(|b| matches!(b, b'"' | b'$' | b'`' | b'\\' | b'\n')) {
        return Err(EmbeddedPgError::UnsupportedPath { path: path.to_path_buf() });
    }
    Ok(())
}

/// Single-quoted for the shell that pg_ctl passes `-o` through.
fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn percent_encode(text: &str) -> String {
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

/// Stable across Rust releases, unlike std's DefaultHasher, so the fallback folder of a
/// data folder keeps its name after a toolchain upgrade.
fn fnv1a64(bytes: &[u8]) -> u64 {
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
    fn percent_encodes_database_names() {
        assert_eq!(percent_encode("duizhang_test-1"), "duizhang_test-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn shell_quotes_single_quotes() {
        assert_eq!(shell_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

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
        let mut pg = EmbeddedPostgres::start_with_ports(config, &mut ports).unwrap();
        assert_eq!(offered.len(), 2, "offered ports: {offered:?}");
        assert_ne!(pg.port(), taken);
        assert!(accepts_tcp(pg.port()));
        let log = fs::read_to_string(pg.log_file()).unwrap();
        assert!(log.contains("Address already in use"), "log:\n{log}");
        pg.stop().unwrap();
    }
}
