//! Shared by the bench binaries: generated data sets, a release server as a child process,
//! and its peak memory.

use duizhang::demo_data::{generate, write_folder, FileOptions, Options};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// A data set of the project's generator (`duizhang demo-data`) under target/bench-data, made once
/// per size and seed.
pub fn dataset(lines: u64, seed: u64) -> PathBuf {
    if let Some(dir) = arg("--data") {
        return PathBuf::from(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/lines-{lines}-seed-{seed}"));
    if !dir.join("truth_lines.csv").exists() {
        eprintln!("generating {lines} lines into {} ...", dir.display());
        let options = Options { lines: lines as usize, seed, ..Options::default() };
        let files = FileOptions { camt_entries: Some(5000), mt940_entries: None };
        write_folder(&generate(&options), &dir, &files).expect("generated folder written");
    }
    dir
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub api_key: String,
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts the release binary on a free port: on DATABASE_URL when set (a fresh database is
    /// created on that server), else on its own embedded cluster.
    pub fn start() -> Server {
        let data = tempfile::tempdir().unwrap();
        std::fs::set_permissions(data.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // On DATABASE_URL's server a fresh database per run; else the embedded cluster.
        let database_url = std::env::var("DATABASE_URL").ok().map(|url| {
            let (base, _) = url.rsplit_once('/').expect("DATABASE_URL ends with /database");
            let db = format!("dz_bench_{}", uuid::Uuid::new_v4().simple());
            duizhang::db::ensure_database(&format!("{base}/postgres"), &db).unwrap();
            format!("{base}/{db}")
        });
        let command = |args: &[&str]| {
            // DUIZHANG_BIN: another build of the server, to compare with this one.
            let bin = std::env::var("DUIZHANG_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_duizhang").to_string());
            let mut c = Command::new(bin);
            c.args(args)
                .env("DUIZHANG_DATA_DIR", data.path())
                .env("DUIZHANG_PORT", port.to_string())
                .env("RUST_LOG", "warn");
            match &database_url {
                Some(url) => c.env("DATABASE_URL", url),
                None => c.env_remove("DATABASE_URL"),
            };
            c
        };
        let child = command(&["serve"]).stdout(Stdio::null()).spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        // The admin command reuses the server's database while it runs.
        let out = command(&["tenant", "create", "--name", "Bench"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Server { child, base, api_key: created["api_key"].as_str().unwrap().to_string(), _data: data }
    }

    /// Peak resident memory of the server process so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        peak_rss_mib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Resident memory of a process now (VmRSS), in MiB.
#[allow(dead_code)] // not every bench samples it
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn self_peak_rss_mib() -> f64 {
    peak_rss_mib(std::process::id())
}

pub fn write_report(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/{name}.md"));
    std::fs::write(&path, text).unwrap();
    println!("{text}\n(report written to {})", path.display());
}
