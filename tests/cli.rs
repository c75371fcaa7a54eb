//! The first command of the README, end to end: `duizhang serve` with DATABASE_URL unset creates
//! and starts its own PostgreSQL cluster, `duizhang tenant create` reuses it, and stopping the
//! server stops the cluster.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_duizhang");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn command(data_dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DATABASE_URL")
        .env("DUIZHANG_DATA_DIR", data_dir)
        .env("DUIZHANG_PORT", port.to_string())
        .env("DUIZHANG_WORKERS", "1")
        .env("RUST_LOG", "warn");
    cmd
}

#[tokio::test]
async fn serve_runs_on_an_embedded_cluster_and_stops_it_on_exit() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = command(data.path(), port).arg("serve").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut server = KillOnDrop(server);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(server.0.try_wait().unwrap().is_none(), "serve exited early");
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid_file = data.path().join("pg").join("postmaster.pid");
    assert!(pid_file.exists(), "the cluster lives in the data folder");

    // The admin command reuses the running cluster and prints the tenant and its key.
    let out = command(data.path(), port).args(["tenant", "create", "--name", "Acme GmbH"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = created["api_key"].as_str().unwrap();
    assert!(created["tenant_id"].is_string());
    let r = client.get(format!("http://127.0.0.1:{port}/api/v1/customers")).bearer_auth(key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(pid_file.exists(), "tenant create must not stop the server's cluster");
    assert_eq!(created["slug"], "acme-gmbh", "{created}");
    user_commands(&client, data.path(), port, key).await;

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.0.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "graceful stop");
    assert!(!pid_file.exists(), "stopping the server stops the embedded cluster");

    // The next start reuses the cluster and its data.
    let out = command(data.path(), port).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!pid_file.exists());
}

/// `duizhang user ...` locks a user out and back in, resets and re-roles them, by tenant slug
/// and address, against the running server's database.
async fn user_commands(client: &reqwest::Client, data: &std::path::Path, port: u16, key: &str) {
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let user = serde_json::json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "admin"});
    let r = client.post(format!("{base}/users")).bearer_auth(key).json(&user).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let login =
        serde_json::json!({"tenant": "acme-gmbh", "email": "ana@acme.example", "password": "correct horse battery"});
    let r = client.post(format!("{base}/auth/token")).json(&login).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let customers = || client.get(format!("{base}/customers")).bearer_auth(&token).send();
    assert_eq!(customers().await.unwrap().status(), 200);
    let cli = |args: &[&str]| {
        let out = command(data, port).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let view = cli(&["user", "disable", "--tenant", "acme-gmbh", "ANA@acme.example"]);
    assert_eq!(view["status"], "disabled", "{view}");
    assert_eq!(customers().await.unwrap().status(), 401, "the lockout is immediate");
    assert_eq!(cli(&["user", "enable", "--tenant", "acme-gmbh", "ana@acme.example"])["status"], "active");
    assert_eq!(cli(&["user", "set-role", "--tenant", "acme-gmbh", "ana@acme.example", "viewer"])["role"], "viewer");
    let reset = cli(&["user", "reset-password", "--tenant", "acme-gmbh", "ana@acme.example"]);
    assert!(reset["reset_token"].as_str().unwrap().starts_with("dzr_"), "{reset}");
    let tenants = command(data, port).args(["tenant", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&tenants.stdout).contains("\"slug\":\"acme-gmbh\""));
    let unknown =
        command(data, port).args(["user", "disable", "--tenant", "nope", "ana@acme.example"]).output().unwrap();
    assert!(!unknown.status.success());
    // The operator's steps are in the tenant's audit trail.
    let r = client.get(format!("{base}/audit?entity_type=user")).bearer_auth(key).send().await.unwrap();
    let audit = r.json::<serde_json::Value>().await.unwrap();
    let by_system = audit["items"].as_array().unwrap().iter().filter(|e| e["actor_type"] == "system").count();
    assert_eq!(by_system, 4, "{audit}");
}
