//! The real `duizhang serve` binary as a child process, for the tests that need whole processes:
//! several on one database, signals, rolling restarts.

use crate::helpers::TEST_JWT_SECRET;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_duizhang");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `duizhang serve` on a free port: the settings every test process needs (database,
/// data folder, JWT secret, no rate limit, errors only in the log), then `env`, which may
/// override them. The log goes to the test's stderr tagged with `name`, read as it is written:
/// a full pipe would block the server. Answers the child and its base URL.
pub fn spawn(db_url: &str, data: &std::path::Path, name: &str, env: &[(&str, String)]) -> (Child, String) {
    let port = free_port();
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("DATABASE_URL", db_url)
        .env("DUIZHANG_DATA_DIR", data)
        .env("DUIZHANG_JWT_SECRET", TEST_JWT_SECRET)
        .env("DUIZHANG_PORT", port.to_string())
        .env("DUIZHANG_RATE_LIMIT_PER_SECOND", "0")
        .env("RUST_LOG", "error");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let tag = name.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{tag}] {line}");
        }
    });
    (child, format!("http://127.0.0.1:{port}"))
}

/// Waits (up to 60 s) until `base` answers `/readyz` with 200.
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{base} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn sigterm(child: &Child) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
}

/// Blocks until the child exits; kills it and fails after `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads one HTTP request from a webhook receiver's raw socket (head and body) and answers its
/// `webhook-id` header: the receivers of the process tests answer, or hang, by hand.
pub async fn read_webhook_id(socket: &mut tokio::net::TcpStream) -> Option<String> {
    crate::webhooks::read_request(socket).await?.headers.get("webhook-id").cloned()
}
