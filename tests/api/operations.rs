//! Running it: `GET /metrics` (off without a token, refused with a wrong one, route patterns as
//! labels, queues read from the database, run phases), request ids, JSON logs, and a graceful
//! SIGTERM on the real binary (readiness fails while in-flight work finishes, exit 0).

use crate::helpers::{spawn_app, spawn_app_with, TestDatabase};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

const TOKEN: &str = "metrics-token-0123456789";

async fn scrape(app: &crate::helpers::TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_refuse_a_wrong_one() {
    let app = spawn_app().await;
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 404);
    let app = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into())).await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("metrics-token-0123456788")).await.0, 401);
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_read_the_queues() {
    let app = spawn_app_with(|s| {
        s.metrics_token = Some(TOKEN.into());
        s.webhooks.run_worker = false;
    })
    .await;
    for code in ["NOPE-1", "NOPE-2", "../../etc"] {
        assert_eq!(app.get(&format!("/api/v1/customers/{code}")).await.status, 404);
    }
    app.create_customer("C1").await;
    let (status, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    let missing = r#"duizhang_http_requests_total{method="GET",route="/api/v1/customers/{code}",status="404"}"#;
    assert_eq!(sample(&text, missing), Some(2.0), "{text}");
    // `../../etc` leaves the route table (the client resolves the dots): counted as unmatched.
    let unmatched = r#"duizhang_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
    assert!(!text.contains("NOPE-1"), "raw paths are never labels");
    let created = r#"duizhang_http_requests_total{method="POST",route="/api/v1/customers",status="201"}"#;
    assert_eq!(sample(&text, created), Some(1.0), "{text}");
    assert!(text.contains(r#"duizhang_http_request_duration_seconds_bucket{le="#), "{text}");
    assert!(sample(&text, "duizhang_db_pool_max_connections").unwrap() >= 1.0, "{text}");

    // Queues are read from the database at scrape time: three events nobody dispatched show.
    let before = sample(&text, "duizhang_outbox_undispatched").unwrap();
    let mut conn = app.db.connect();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO outbox_events (id, tenant_id, event_type, payload) \
             SELECT gen_random_uuid(), '{}', 'test.event', '{{}}' FROM generate_series(1, 3)",
            app.tenant_id
        )),
        &mut conn,
    )
    .unwrap();
    let text = scrape(&app, Some(TOKEN)).await.1;
    assert_eq!(sample(&text, "duizhang_outbox_undispatched"), Some(before + 3.0), "{text}");
    let sealing = sample(&text, "duizhang_audit_sealing_lag_seconds").unwrap();
    assert!((0.0..60.0).contains(&sealing), "{text}");
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_made_otherwise() {
    let app = spawn_app().await;
    let get = |id: Option<&str>| {
        let mut req = app.client.get(format!("{}/api/v1/customers", app.address)).bearer_auth(&app.api_key);
        if let Some(id) = id {
            req = req.header("X-Request-Id", id);
        }
        req.send()
    };
    let r = get(Some("lb-7f3a:42")).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "lb-7f3a:42");
    let made = get(None).await.unwrap().headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let long = "x".repeat(129);
    let replaced = get(Some(&long)).await.unwrap().headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "an id of 129 characters is replaced: {replaced}");
    // Refusals carry one too.
    let r = app.client.get(format!("{}/api/v1/customers", app.address)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-request-id"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real binary under SIGTERM: `/readyz` answers 503 `draining` while the listener is still
/// open, the process exits 0 after the drain, and its JSON log lines carry the request id.
#[tokio::test]
async fn sigterm_drains_then_exits_cleanly_with_json_logs() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_duizhang"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DUIZHANG_DATA_DIR", data.path())
        .env("DUIZHANG_PORT", port.to_string())
        .env("DUIZHANG_DRAIN_SECONDS", "2")
        .env("DUIZHANG_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read the log as it is written: a full pipe would block the server.
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = client.get(format!("{base}/healthz")).header("X-Request-Id", "probe-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "probe-42");

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = client.get(format!("{base}/readyz")).send().await.expect("the listener stays open while draining");
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "draining");

    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the server did not exit within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
    let lines: Vec<serde_json::Value> = log
        .join()
        .unwrap()
        .into_iter()
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "probe-42")
        .unwrap_or_else(|| panic!("no log line of request probe-42 in {lines:?}"));
    assert_eq!(access["fields"]["route"], "/healthz", "{access}");
    assert_eq!(access["fields"]["status"], 200, "{access}");
}
