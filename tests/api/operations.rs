//! Running it: `GET /metrics` (off without a token, refused with a wrong one, route patterns as
//! labels, queues read from the database, run phases, import rows and webhook latencies),
//! request ids, JSON logs, and a graceful SIGTERM on the real binary (readiness fails while
//! in-flight work finishes, exit 0).

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

/// A webhook receiver that answers 200 to everything; counts the requests.
async fn accept_all() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hooks", listener.local_addr().unwrap().port());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                // One small request per connection: read until the body has come.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = socket.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn metrics_count_imported_rows_and_time_webhook_deliveries() {
    let app = spawn_app_with(|s| {
        s.metrics_token = Some(TOKEN.into());
        s.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    // Two rows created, one rejected; then one unchanged and one updated.
    let first = serde_json::json!([
        {"code": "C1", "name": "One"},
        {"code": "C2", "name": "Two", "default_currency": "EURO"},
        {"code": "C4", "name": "Four"}
    ]);
    let r = app.post("/api/v1/customers/import", &first).await;
    assert_eq!((r.status, r.body["created"].as_u64()), (200, Some(2)), "{}", r.text);
    let second = serde_json::json!([{"code": "C1", "name": "One"}, {"code": "C4", "name": "Four Renamed"}]);
    let r = app.post("/api/v1/customers/import", &second).await;
    assert_eq!((r.body["unchanged"].as_u64(), r.body["updated"].as_u64()), (Some(1), Some(1)), "{}", r.text);
    // An idempotent replay runs nothing, so it counts nothing.
    for _ in 0..2 {
        let r = app
            .send(
                "POST",
                "/api/v1/documents/import",
                Some(&app.api_key),
                Some(("text/csv", b"doc_no,doc_type,customer_code,issue_date,due_date,currency,amount\nF-1,invoice,C1,2026-03-01,2026-03-31,EUR,100.00\n".to_vec())),
                &[("Idempotency-Key", "import-once")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    let (url, received) = accept_all().await;
    let allow = serde_json::json!({"allow_private_targets": true}).to_string().into_bytes();
    let r =
        app.send("PUT", "/api/v1/webhook-settings", Some(&app.api_key), Some(("application/json", allow)), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.post("/api/v1/webhook-endpoints", &serde_json::json!({"url": url})).await.status, 201);
    let mut conn = app.db.connect();
    // An event dated a second back (still after the endpoint was registered): its delivery
    // latency counts from then, not from when the worker took it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO outbox_events (id, tenant_id, event_type, payload, created_at) \
             VALUES (gen_random_uuid(), '{}', 'test.event', '{{}}', now() - interval '1 second')",
            app.tenant_id
        )),
        &mut conn,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count("webhook_deliveries WHERE status = 'succeeded'") < 1 {
        assert!(Instant::now() < deadline, "the delivery did not succeed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 1);

    let text = scrape(&app, Some(TOKEN)).await.1;
    let rows = |kind: &str, outcome: &str| {
        sample(&text, &format!(r#"duizhang_import_rows_total{{kind="{kind}",outcome="{outcome}"}}"#))
    };
    assert_eq!(rows("customers", "created"), Some(2.0), "{text}");
    assert_eq!(rows("customers", "rejected"), Some(1.0), "{text}");
    assert_eq!(rows("customers", "unchanged"), Some(1.0), "{text}");
    assert_eq!(rows("customers", "updated"), Some(1.0), "{text}");
    assert_eq!(rows("documents", "created"), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"duizhang_import_duration_seconds_count{kind="customers"}"#), Some(2.0), "{text}");
    assert_eq!(sample(&text, r#"duizhang_import_duration_seconds_count{kind="documents"}"#), Some(1.0), "{text}");
    let attempts = r#"duizhang_webhook_attempt_duration_seconds_count{outcome="delivered"}"#;
    assert_eq!(sample(&text, attempts), Some(1.0), "{text}");
    assert_eq!(sample(&text, "duizhang_webhook_delivery_latency_seconds_count"), Some(1.0), "{text}");
    let latency = sample(&text, "duizhang_webhook_delivery_latency_seconds_sum").unwrap();
    assert!((1.0..30.0).contains(&latency), "{text}");
}

/// Four writes blocked on a row lock with two connections: two hold the connections, two wait,
/// and the gauge says so while they wait.
#[tokio::test]
async fn metrics_count_callers_waiting_for_a_connection() {
    let app = spawn_app_with(|s| {
        s.metrics_token = Some(TOKEN.into());
        s.db_pool_size = 2;
        s.db_acquire_timeout = Duration::from_secs(20);
        (s.run_worker, s.audit_sealer, s.webhooks.run_worker, s.connectors.run_worker) = (false, false, false, false);
    })
    .await;
    app.create_customer("C1").await;
    let mut lock = app.db.connect();
    diesel::RunQueryDsl::execute(diesel::sql_query("BEGIN"), &mut lock).unwrap();
    diesel::RunQueryDsl::execute(diesel::sql_query("SELECT 1 FROM customers WHERE code = 'C1' FOR UPDATE"), &mut lock)
        .unwrap();
    let app = std::sync::Arc::new(app);
    let writes: Vec<_> = (0..4)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let body = serde_json::json!({"name": format!("Renamed {i}")});
                app.patch_as(&app.api_key, "/api/v1/customers/C1", &body).await.status
            })
        })
        .collect();
    // Two writes hold the connections (blocked on the lock), two wait for one.
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The scrape reads the gauges before it asks for a connection itself, so it answers only
    // once the lock is gone: it is sent off, and the lock released meanwhile.
    let scraping = tokio::spawn({
        let app = app.clone();
        async move { scrape(&app, Some(TOKEN)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!scraping.is_finished(), "the scrape waits for a connection too");
    diesel::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut lock).unwrap();
    let (status, text) = scraping.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(sample(&text, r#"duizhang_db_pool_connections{state="waiting"}"#), Some(2.0), "{text}");
    assert_eq!(sample(&text, r#"duizhang_db_pool_connections{state="in_use"}"#), Some(2.0), "{text}");
    for w in writes {
        assert_eq!(w.await.unwrap(), 200);
    }
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
