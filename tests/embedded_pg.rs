//! The embedded PostgreSQL cluster (src/embedded_postgres/): real initdb, pg_ctl, postgres and psql; no mocks.

use std::fs;
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use duizhang::embedded_postgres::{EmbeddedPgError, EmbeddedPostgres, EmbeddedPostgresConfig};

/// Some tempfile versions make 0700 folders, which the server user (when we are root) cannot
/// enter; open it up so the cluster stays inside, as it would in a normal data folder.
fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn config(data_dir: &Path) -> EmbeddedPostgresConfig {
    EmbeddedPostgresConfig { data_dir: data_dir.to_path_buf(), fast_unsafe: true }
}

fn accepts_tcp(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Runs one statement with the psql on PATH; returns its unaligned, tuples-only output.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("running psql");
    assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn postmaster_pid(cluster_dir: &Path) -> i32 {
    let text = fs::read_to_string(cluster_dir.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// Until the pid is gone or a zombie: kill -9 is delivered asynchronously.
/// Returns whether it was still a zombie (init here reaps orphans only after a while).
fn wait_until_dead(pid: i32) -> bool {
    for _ in 0..100 {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return false,
            Ok(stat) => {
                let state = stat.rsplit_once(')').unwrap().1.split_whitespace().next().unwrap();
                if state == "Z" {
                    return true;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("pid {pid} did not die");
}

#[test]
fn starts_stops_reuses_and_survives_a_killed_postmaster() {
    let tmp = open_tempdir();
    let data = tmp.path().join("data");

    let mut first = EmbeddedPostgres::start(config(&data)).unwrap();
    assert!(first.created_here() && first.started_here());
    assert!(!first.in_temp_fallback());
    assert_eq!(first.cluster_dir(), data.canonicalize().unwrap().join("pg"));
    let port = first.port();
    assert!(accepts_tcp(port));
    if nix::unistd::geteuid().is_root() {
        let pid = postmaster_pid(first.cluster_dir());
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(!uids.split_whitespace().skip(1).any(|uid| uid == "0"), "the server must not run as root: {uids}");
    }
    let url = first.database_url("postgres");
    assert_eq!(url, format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    assert_eq!(psql(&url, "select 1"), "1");
    psql(&url, "create table marker (note text); insert into marker values ('first run')");
    // Unix socket inside the cluster, nothing in /var/run/postgresql.
    assert!(first.cluster_dir().join(format!(".s.PGSQL.{port}")).exists());

    first.stop().unwrap();
    assert!(!accepts_tcp(port));
    assert!(!first.cluster_dir().join("postmaster.pid").exists());
    first.stop().unwrap(); // idempotent

    // After a reboot the pid in a leftover postmaster.pid can belong to another live process
    // of the server's user, which PostgreSQL itself would take for a running postmaster.
    let cluster_dir = first.cluster_dir().to_path_buf();
    drop(first);
    // Outlives the 60 s that start() gives a live postmaster to open its port, so a start()
    // that trusted this pid would fail instead of taking seconds.
    let imposter =
        KillOnDrop(Command::new("sleep").arg("600").uid(fs::metadata(&cluster_dir).unwrap().uid()).spawn().unwrap());
    fs::write(
        cluster_dir.join("postmaster.pid"),
        format!("{}\n{}\n0\n{port}\n\n127.0.0.1\n0 0\nready\n", imposter.0.id(), cluster_dir.display()),
    )
    .unwrap();

    let second = EmbeddedPostgres::start(config(&data)).unwrap();
    assert!(!second.created_here(), "initdb must not run again");
    assert!(second.started_here());
    drop(imposter);
    let url = second.database_url("postgres");
    assert_eq!(psql(&url, "select note from marker"), "first run");

    // A crashed server leaves postmaster.pid behind (and, here, a zombie until init reaps it).
    let crashed_pid = postmaster_pid(second.cluster_dir());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(crashed_pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    // Seen here: it stays a zombie, which kill(pid, 0) and so PostgreSQL take for alive.
    wait_until_dead(crashed_pid);
    let third = EmbeddedPostgres::start(config(&data)).unwrap();
    assert!(!third.created_here() && third.started_here());
    assert_ne!(postmaster_pid(third.cluster_dir()), crashed_pid);
    let url = third.database_url("postgres");
    assert_eq!(psql(&url, "select note from marker"), "first run");

    // The crashed handle must not stop the server that replaced its own.
    drop(second);
    assert!(accepts_tcp(third.port()));
    let port = third.port();
    drop(third);
    assert!(!accepts_tcp(port));
}

#[test]
fn parallel_starts_share_one_cluster() {
    let tmp = open_tempdir();
    let data = tmp.path().join("data");
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let data = data.clone();
            std::thread::spawn(move || {
                barrier.wait();
                EmbeddedPostgres::start(config(&data)).unwrap()
            })
        })
        .collect();
    let mut pgs: Vec<EmbeddedPostgres> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    assert_eq!(pgs[0].port(), pgs[1].port());
    assert_eq!(pgs[0].cluster_dir(), pgs[1].cluster_dir());
    assert_eq!(pgs.iter().filter(|pg| pg.started_here()).count(), 1);
    assert_eq!(pgs.iter().filter(|pg| pg.created_here()).count(), 1);
    let mut names: Vec<String> =
        fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["pg", "pg.lock", "pg.log"]);

    let port = pgs[0].port();
    assert_eq!(psql(&pgs[0].database_url("postgres"), "select 1"), "1");
    // The one that reused it leaves it running for the one that started it.
    pgs.sort_by_key(|pg| pg.started_here());
    let owner = pgs.pop().unwrap();
    drop(pgs);
    assert!(accepts_tcp(port));
    drop(owner);
    assert!(!accepts_tcp(port));
}

#[test]
fn root_falls_back_to_temp_when_the_server_user_cannot_enter_the_data_folder() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: only root switches to an unprivileged server user");
        return;
    }
    // Like /root: `postgres` cannot reach anything inside a 0700 root folder.
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let data = tmp.path().join("data");

    let mut pg = EmbeddedPostgres::start(config(&data)).unwrap();
    let fallback = pg.cluster_dir().parent().unwrap().to_path_buf();
    let cleanup = RemoveOnDrop(fallback.clone());
    assert!(pg.in_temp_fallback());
    assert!(pg.created_here());
    assert!(fallback.starts_with(std::env::temp_dir().canonicalize().unwrap()));
    let name = fallback.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("duizhang-pg-"), "{name}");
    assert_eq!(pg.log_file(), fallback.join("pg.log"));
    assert!(data.join("pg.lock").exists());
    assert!(!data.join("pg").exists());
    assert_eq!(psql(&pg.database_url("postgres"), "select 1"), "1");
    psql(&pg.database_url("postgres"), "create table marker ()");
    pg.stop().unwrap();

    // Same data folder, same fallback, same cluster.
    let again = EmbeddedPostgres::start(config(&data)).unwrap();
    assert_eq!(again.cluster_dir(), fallback.join("pg"));
    assert!(!again.created_here());
    assert_eq!(psql(&again.database_url("postgres"), "select count(*) from pg_tables where tablename = 'marker'"), "1");
    drop(again);
    drop(cleanup);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn recovers_from_an_interrupted_initdb() {
    let tmp = open_tempdir();
    let data = tmp.path().join("data");
    // What a killed initdb leaves: a half-filled scratch folder, never a half-made pg/.
    let scratch = data.join("pg.initdb-tmp-4242");
    fs::create_dir_all(scratch.join("base/1")).unwrap();
    fs::write(scratch.join("PG_VERSION"), "15\n").unwrap();

    let pg = EmbeddedPostgres::start(config(&data)).unwrap();
    assert!(pg.created_here());
    assert!(!scratch.exists());
    assert_eq!(psql(&pg.database_url("postgres"), "select 1"), "1");
}

#[test]
fn too_long_for_a_unix_socket_goes_tcp_only() {
    let tmp = open_tempdir();
    let data = tmp.path().join("d".repeat(60)).join("e".repeat(60));
    let pg = EmbeddedPostgres::start(config(&data)).unwrap();
    assert!(pg.cluster_dir().as_os_str().len() > 107);
    assert_eq!(psql(&pg.database_url("postgres"), "select 1"), "1");
    assert_eq!(psql(&pg.database_url("postgres"), "show unix_socket_directories"), "");
}

#[test]
fn refuses_a_pg_folder_that_is_not_a_cluster() {
    let tmp = open_tempdir();
    let data = tmp.path().join("data");
    fs::create_dir_all(data.join("pg")).unwrap();
    fs::write(data.join("pg/notes.txt"), "mine").unwrap();

    let err = EmbeddedPostgres::start(config(&data)).unwrap_err();
    assert!(matches!(err, EmbeddedPgError::NotACluster { .. }), "{err}");
    assert!(err.to_string().contains("not a PostgreSQL cluster"), "{err}");
    assert!(data.join("pg/notes.txt").exists());
}
