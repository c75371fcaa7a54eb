//! Webhooks end to end: real HTTP from the worker to a receiver started by the test on
//! 127.0.0.1, signatures checked with an implementation written here from the Standard Webhooks
//! specification (not the app's module), retries, Retry-After, 410 Gone, the SSRF guard, a worker
//! killed mid-delivery, secret rotation and tenant isolation.

use crate::helpers::{spawn_app_with, TestApp, TEST_JWT_SECRET};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use duizhang::config::Settings;
use duizhang::services::events::{self, EventType};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use uuid::Uuid;

// ----- a tiny HTTP receiver ------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HashMap<String, String>,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Debug, Clone)]
enum Reply {
    Status(u16, Vec<(&'static str, String)>),
    /// Read the request, never answer.
    Hang,
}

fn status(code: u16) -> Reply {
    Reply::Status(code, vec![])
}

#[derive(Clone)]
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Vec<Reply>) -> Receiver {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), script)
    }

    /// Answers the requests in order with `script`, then 200.
    fn start_on(listener: TcpListener, script: Vec<Reply>) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let r = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (received, script) = (r.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else { return };
                    // Take the reply before recording, so a test that saw the request sees its answer too.
                    let reply = script.lock().unwrap().pop_front().unwrap_or(status(200));
                    received.lock().unwrap().push(request);
                    match reply {
                        Reply::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
                        Reply::Status(code, headers) => {
                            let body = format!("{{\"answer\":{code}}}");
                            let mut head = format!(
                                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                                body.len()
                            );
                            for (k, v) in headers {
                                head.push_str(&format!("{k}: {v}\r\n"));
                            }
                            head.push_str("\r\n");
                            let _ = socket.write_all(head.as_bytes()).await;
                            let _ = socket.write_all(body.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                    }
                });
            }
        });
        Receiver { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            assert!(Instant::now() < deadline, "receiver got {} requests, expected {n}", all.len());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub(crate) async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received { headers, body: buf[header_end..header_end + length].to_vec(), at: Instant::now() })
}

// ----- Standard Webhooks verification, written from the specification ------------------------

/// `v1,` + base64(HMAC-SHA256(base64-decoded secret after `whsec_`, "{id}.{timestamp}.{body}")).
fn expected_signature(secret: &str, msg_id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = B64.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

fn assert_signed_by(r: &Received, secret: &str) {
    let id = r.header("webhook-id");
    let ts = r.header("webhook-timestamp");
    assert!(!id.is_empty() && !ts.is_empty(), "headers: {:?}", r.headers);
    let ts_num: i64 = ts.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts_num).abs() < 300, "timestamp is current");
    let expected = expected_signature(secret, id, ts, &r.body);
    let given: Vec<&str> = r.header("webhook-signature").split_whitespace().collect();
    assert!(given.contains(&expected.as_str()), "no signature by this secret in {given:?}");
    assert!(r.header("content-type").starts_with("application/json"));
}

// ----- helpers -------------------------------------------------------------------------------

fn fast(s: &mut Settings) {
    s.webhooks.poll_interval = Duration::from_millis(20);
    s.webhooks.retry_schedule = vec![Duration::from_millis(50); 20];
    s.webhooks.request_timeout = Duration::from_secs(2);
    s.webhooks.lease = Duration::from_millis(2500);
}

async fn spawn() -> TestApp {
    spawn_app_with(fast).await
}

async fn allow_private(app: &TestApp, key: &str, allow: bool) {
    let r = app
        .send(
            "PUT",
            "/api/v1/webhook-settings",
            Some(key),
            Some(("application/json", json!({ "allow_private_targets": allow }).to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// An endpoint for all events; returns (id, secret).
async fn endpoint(app: &TestApp, url: &str) -> (String, String) {
    endpoint_with(app, &app.api_key, json!({ "url": url, "description": "test receiver" })).await
}

async fn endpoint_with(app: &TestApp, key: &str, body: Value) -> (String, String) {
    let r = app.post_as(key, "/api/v1/webhook-endpoints", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["id"].as_str().unwrap().to_string(), r.body["secret"].as_str().unwrap().to_string())
}

/// An event as a use case would record it.
fn emit(app: &TestApp, tenant_id: Uuid, customer_id: Option<Uuid>, event: EventType, data: Value) -> Uuid {
    use diesel::Connection;
    let mut conn = app.db.connect();
    conn.transaction(|c| events::emit(c, tenant_id, customer_id, event, data)).unwrap()
}

async fn deliveries(app: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

/// Waits until the endpoint's only delivery has `status`; returns its detail.
async fn wait_delivery(app: &TestApp, endpoint_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = deliveries(app, endpoint_id).await;
        if let Some(d) = items.first().filter(|d| d["status"] == status) {
            let r = app.get(&format!("/api/v1/webhook-deliveries/{}", d["id"].as_str().unwrap())).await;
            assert_eq!(r.status, 200, "{}", r.text);
            return r.body;
        }
        assert!(Instant::now() < deadline, "no {status} delivery: {items:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ----- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_webhook_id_and_signature() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![status(500), status(200)]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, secret) = endpoint(&app, &receiver.url()).await;
    let event_id = emit(&app, app.tenant_id, None, EventType::DifferenceCreated, json!({"difference_id": "d1"}));

    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].header("webhook-id"), event_id.to_string());
    assert_eq!(got[1].header("webhook-id"), event_id.to_string(), "a retry keeps the webhook-id");
    for r in &got {
        assert_signed_by(r, &secret);
        assert_eq!(r.json()["type"], "difference.created");
        assert_eq!(r.json()["data"]["difference_id"], "d1");
        assert!(r.json()["timestamp"].is_string());
    }

    let d = wait_delivery(&app, &id, "succeeded").await;
    assert_eq!(d["webhook_id"], event_id.to_string());
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["payload"]["type"], "difference.created");
    let log = d["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["status_code"], 500);
    assert_eq!(log[0]["error"], "HTTP 500 Internal Server Error");
    assert_eq!(log[0]["response_excerpt"], "{\"answer\":500}");
    assert_eq!(log[1]["status_code"], 200);
    assert!(log[1]["duration_ms"].is_number());

    // A manual redelivery sends the same event again, same webhook-id, new schedule.
    let r = app.post(&format!("/api/v1/webhook-deliveries/{}/redeliver", d["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].header("webhook-id"), event_id.to_string());
    let d = wait_delivery(&app, &id, "succeeded").await;
    assert_eq!(d["attempts"], 3);

    // Status filter and its validation.
    let r = app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?status=failed")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?status=nope")).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_once_it_is_back() {
    let app = spawn().await;
    allow_private(&app, &app.api_key, true).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nobody listens: connection refused
    let (id, secret) = endpoint(&app, &format!("http://127.0.0.1:{port}/in")).await;
    let event_id = emit(&app, app.tenant_id, None, EventType::StatementReconciled, json!({"n": 1}));

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = deliveries(&app, &id).await;
        if items.first().is_some_and(|d| d["attempts"].as_i64().unwrap_or(0) >= 2) {
            assert_eq!(items[0]["status"], "pending");
            assert!(items[0]["last_error"].as_str().unwrap().contains("onnect"), "{}", items[0]);
            assert!(items[0]["last_status_code"].is_null());
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempts: {items:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), vec![]);
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("webhook-id"), event_id.to_string());
    assert_signed_by(&got[0], &secret);
    let d = wait_delivery(&app, &id, "succeeded").await;
    assert!(d["attempts"].as_i64().unwrap() >= 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![Reply::Status(503, vec![("retry-after", "1".into())]), status(204)]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, _) = endpoint(&app, &receiver.url()).await;
    emit(&app, app.tenant_id, None, EventType::BalanceConfirmed, json!({}));
    let got = receiver.wait_for(2).await;
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(950), "the schedule says 50 ms, Retry-After 1 s; waited {gap:?}");
    let d = wait_delivery(&app, &id, "succeeded").await;
    assert_eq!(d["attempt_log"][0]["status_code"], 503);
    assert_eq!(d["last_status_code"], 204);
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_cancels_what_is_pending() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![status(410)]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, _) = endpoint(&app, &receiver.url()).await;
    emit(&app, app.tenant_id, None, EventType::DifferenceSent, json!({"i": 1}));
    let d = wait_delivery(&app, &id, "failed").await;
    assert_eq!(d["last_status_code"], 410);
    assert!(d["last_error"].as_str().unwrap().contains("410"));

    let r = app.get(&format!("/api/v1/webhook-endpoints/{id}")).await;
    assert_eq!(r.body["enabled"], false, "{}", r.text);
    assert!(r.body["disabled_reason"].as_str().unwrap().contains("410 Gone"));
    assert!(r.body.get("secret").is_none(), "the secret is shown only on create and rotate");

    // A disabled endpoint gets no new deliveries, and cannot be redelivered to.
    emit(&app, app.tenant_id, None, EventType::DifferenceSent, json!({"i": 2}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&app, &id).await.len(), 1);
    let r = app.post(&format!("/api/v1/webhook-deliveries/{}/redeliver", d["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(receiver.all().len(), 1);

    // Re-enabled, it works again.
    let r = app.patch_as(&app.api_key, &format!("/api/v1/webhook-endpoints/{id}"), &json!({"enabled": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enabled"], true);
    assert!(r.body["disabled_reason"].is_null());
    let r = app.post(&format!("/api/v1/webhook-deliveries/{}/redeliver", d["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    receiver.wait_for(2).await;
    wait_delivery(&app, &id, "succeeded").await;

    // The endpoint's disabling is in the audit trail, by the system.
    let r = app.get(&format!("/api/v1/audit?entity_type=webhook_endpoint&entity_id={id}")).await;
    let disabled: Vec<&Value> =
        r.body["items"].as_array().unwrap().iter().filter(|e| e["action"] == "webhook_endpoint.disabled").collect();
    assert_eq!(disabled.len(), 1, "{}", r.text);
    assert_eq!(disabled[0]["actor_type"], "system");

    // Disabling by hand cancels pending deliveries: an endpoint that always answers 500.
    let failing = Receiver::start(vec![status(500); 100]).await;
    let (id2, _) = endpoint(&app, &failing.url()).await;
    emit(&app, app.tenant_id, None, EventType::DifferenceSent, json!({"i": 3}));
    failing.wait_for(1).await;
    let r = app.patch_as(&app.api_key, &format!("/api/v1/webhook-endpoints/{id2}"), &json!({"enabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = wait_delivery(&app, &id2, "cancelled").await;
    assert!(d["next_attempt_at"].is_null());
}

#[tokio::test]
async fn private_targets_are_refused_unless_the_tenant_allows_them() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    for url in [
        receiver.url(),
        format!("http://localhost:{}/x", receiver.port),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://[::1]/x".to_string(),
        "http://10.0.0.8/x".to_string(),
        "ftp://example.com/x".to_string(),
        "https://user:pw@hooks.example.com/".to_string(),
    ] {
        let r = app.post("/api/v1/webhook-endpoints", &json!({ "url": url })).await;
        assert_eq!(r.status, 422, "{url}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], "url");
    }
    let r = app.get("/api/v1/webhook-settings").await;
    assert_eq!(r.body["allow_private_targets"], false);

    // Registered while allowed, then the tenant withdraws the permission: the sender refuses,
    // both for an address literal and for a name that resolves to loopback.
    allow_private(&app, &app.api_key, true).await;
    let (literal, _) = endpoint(&app, &receiver.url()).await;
    let (named, _) = endpoint(&app, &format!("http://localhost:{}/x", receiver.port)).await;
    allow_private(&app, &app.api_key, false).await;
    emit(&app, app.tenant_id, None, EventType::DifferenceCreated, json!({}));
    for (id, what) in [(&literal, "the address 127.0.0.1"), (&named, "localhost resolves to")] {
        let d = wait_delivery(&app, id, "failed").await;
        let error = d["last_error"].as_str().unwrap();
        assert!(error.contains("SSRF") && error.contains(what), "{error}");
        assert!(error.contains("loopback"), "{error}");
        assert_eq!(d["attempts"], 1, "a refused target is not retried");
    }
    assert!(receiver.all().is_empty(), "nothing reached the loopback receiver");
}

/// The master keys of instances with the default data directory, as `DUIZHANG_CONNECTOR_KEY`.
fn master_keys() -> String {
    let dir = Settings::default().data_dir;
    let keys = duizhang::services::data_safety::Keyring::load(None, &dir).unwrap();
    keys.masters().iter().map(|k| k.to_base64()).collect::<Vec<_>>().join(",")
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_is_replaced_and_the_event_is_sent_again() {
    // The app that serves the API sends nothing; a real `duizhang serve` process does.
    let app = spawn_app_with(|s| {
        fast(s);
        s.webhooks.run_worker = false;
    })
    .await;
    let receiver = Receiver::start(vec![Reply::Hang]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, secret) = endpoint(&app, &receiver.url()).await;
    let event_id = emit(&app, app.tenant_id, None, EventType::DifferenceResolved, json!({"x": 1}));

    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_duizhang"))
        .arg("serve")
        .env("DATABASE_URL", &app.db.url)
        .env("DUIZHANG_DATA_DIR", data.path())
        // Every instance on one database shares the master key (the app's is in the default data dir).
        .env("DUIZHANG_CONNECTOR_KEY", master_keys())
        .env("DUIZHANG_PORT", port.to_string())
        .env("DUIZHANG_JWT_SECRET", TEST_JWT_SECRET)
        .env("DUIZHANG_WORKERS", "1")
        .env("DUIZHANG_WORKER", "false")
        .env("DUIZHANG_WEBHOOK_POLL_MS", "20")
        .env("DUIZHANG_WEBHOOK_TIMEOUT_MS", "2000")
        .env("DUIZHANG_WEBHOOK_LEASE_MS", "2500")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The receiver has the request and has not answered: the process dies (SIGKILL).
    let first = receiver.wait_for(1).await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    let items = deliveries(&app, &id).await;
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["attempts"], 1);

    // A new instance on the same database takes over once the dead worker's lease has run out.
    let mut settings = Settings {
        port: 0,
        database_url: Some(app.db.url.clone()),
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        workers: 1,
        ..Settings::default()
    };
    fast(&mut settings);
    let second = duizhang::startup::Application::build(settings, &app.db.url).unwrap();
    let server = tokio::spawn(second.run_until_stopped());
    let got = receiver.wait_for(2).await;
    assert_eq!(first[0].header("webhook-id"), event_id.to_string());
    assert_eq!(got[1].header("webhook-id"), event_id.to_string(), "same webhook-id after the crash");
    assert_signed_by(&got[1], &secret);
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(2000), "sent again only after the lease: {gap:?}");
    let d = wait_delivery(&app, &id, "succeeded").await;
    assert_eq!(d["attempts"], 2);
    let log = d["attempt_log"].as_array().unwrap();
    assert!(log[0]["finished_at"].is_null(), "the killed worker never recorded its attempt: {}", log[0]);
    assert_eq!(log[1]["status_code"], 200);
    server.abort();
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_previous_one() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, old) = endpoint(&app, &receiver.url()).await;
    let r = app.post(&format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(r.body["previous_secret_expires_at"].is_string());
    let r = app.get(&format!("/api/v1/webhook-endpoints/{id}")).await;
    assert!(r.body.get("secret").is_none());

    emit(&app, app.tenant_id, None, EventType::DifferenceCommented, json!({}));
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("webhook-signature").split_whitespace().count(), 2);
    assert_signed_by(&got[0], &old);
    assert_signed_by(&got[0], &new);

    // The audit trail records the rotation but never a secret.
    let r = app.get("/api/v1/audit?entity_type=webhook_endpoint").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let actions: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["webhook_endpoint.created", "webhook_endpoint.secret_rotated"]);
    assert!(!r.text.contains(&old) && !r.text.contains(&new) && !r.text.contains("whsec_"));
}

#[tokio::test]
async fn endpoints_deliveries_and_events_are_isolated_per_tenant_and_customer() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    allow_private(&app, &app.api_key, true).await;
    let c1: Uuid = app.create_customer("C1").await["id"].as_str().unwrap().parse().unwrap();
    let c2: Uuid = app.create_customer("C2").await["id"].as_str().unwrap().parse().unwrap();
    let (all, _) = endpoint(&app, &receiver.url()).await;
    let (only_c1, _) = endpoint_with(
        &app,
        &app.api_key,
        json!({"url": receiver.url(), "customer_code": "C1", "event_types": ["difference.created"]}),
    )
    .await;

    let (other_tenant, other_key) = app.create_tenant("Other");
    emit(&app, other_tenant, None, EventType::DifferenceCreated, json!({"tenant": "other"}));
    emit(&app, app.tenant_id, Some(c2), EventType::DifferenceCreated, json!({"customer": "C2"}));
    emit(&app, app.tenant_id, Some(c1), EventType::DifferenceSent, json!({"customer": "C1", "type": "sent"}));
    emit(&app, app.tenant_id, Some(c1), EventType::DifferenceCreated, json!({"customer": "C1"}));
    receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.all();
    assert_eq!(got.len(), 4, "3 to the tenant-wide endpoint, 1 to the C1 endpoint");
    assert!(got.iter().all(|r| r.json()["data"]["tenant"].is_null()), "no other tenant's event");
    let for_c1 = deliveries(&app, &only_c1).await;
    assert_eq!(for_c1.len(), 1);
    assert_eq!(for_c1[0]["event_type"], "difference.created");
    assert_eq!(deliveries(&app, &all).await.len(), 3);

    // The other tenant sees none of it.
    let d = for_c1[0]["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/webhook-endpoints/{all}"),
        format!("/api/v1/webhook-endpoints/{all}/deliveries"),
        format!("/api/v1/webhook-deliveries/{d}"),
    ] {
        let r = app.get_as(&other_key, &path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    let r = app.post_as(&other_key, &format!("/api/v1/webhook-deliveries/{d}/redeliver"), &json!({})).await;
    assert_eq!(r.status, 404);
    let r = app.post_as(&other_key, &format!("/api/v1/webhook-endpoints/{all}/rotate-secret"), &json!({})).await;
    assert_eq!(r.status, 404);
    let r = app.patch_as(&other_key, &format!("/api/v1/webhook-endpoints/{all}"), &json!({"enabled": false})).await;
    assert_eq!(r.status, 404);
    let r = app.send("DELETE", &format!("/api/v1/webhook-endpoints/{all}"), Some(&other_key), None, &[]).await;
    assert_eq!(r.status, 404);
    let r = app.get_as(&other_key, "/api/v1/webhook-endpoints").await;
    assert_eq!(r.body["items"], json!([]));

    // Viewers read deliveries but do not manage endpoints.
    let r = app.post("/api/v1/api-keys", &json!({"name": "viewer", "role": "viewer"})).await;
    let viewer = r.body["api_key"].as_str().unwrap().to_string();
    let r = app.get_as(&viewer, &format!("/api/v1/webhook-endpoints/{all}/deliveries")).await;
    assert_eq!(r.status, 200);
    let r = app.post_as(&viewer, "/api/v1/webhook-endpoints", &json!({"url": receiver.url()})).await;
    assert_eq!(r.status, 403);

    // Bad input is a 422 naming the field, and pages follow the cursor.
    let r = app.post("/api/v1/webhook-endpoints", &json!({"url": receiver.url(), "event_types": ["nope"]})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["details"]["field"], "event_types[0]");
    let r = app.post("/api/v1/webhook-endpoints", &json!({"url": receiver.url(), "customer_code": "C9"})).await;
    assert_eq!(r.status, 422);
    let r = app.post("/api/v1/webhook-endpoints", &json!({"url": receiver.url(), "secret": "mine"})).await;
    assert_eq!(r.status, 422);
    let r = app.get("/api/v1/webhook-endpoints?limit=1").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app.get(&format!("/api/v1/webhook-endpoints?limit=1&cursor={cursor}")).await;
    assert_eq!(r.body["items"][0]["id"], only_c1.as_str());
    assert!(r.body["next_cursor"].is_null());

    // Deleting an endpoint removes its deliveries with it.
    let r = app.send("DELETE", &format!("/api/v1/webhook-endpoints/{only_c1}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/webhook-endpoints/{only_c1}")).await.status, 404);
    assert_eq!(app.get(&format!("/api/v1/webhook-deliveries/{d}")).await.status, 404);
}

#[tokio::test]
async fn graphql_registers_an_endpoint_and_a_manual_allocation_is_announced() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    allow_private(&app, &app.api_key, true).await;
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "mutation($url: String!) { createWebhookEndpoint(input: {url: $url, eventTypes: [\"allocation.applied\"]}) { id secret eventTypes } }",
            json!({ "url": receiver.url() }),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
    let created = &r.body["data"]["createWebhookEndpoint"];
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();

    // A real producer: a person applies a bank line to an invoice.
    app.create_customer("C1").await;
    let invoice = app.create_invoice("C1", "INV-1", "100.00").await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-03-05,,100.00,EUR,SOMEONE,,no reference,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = app.get("/api/v1/bank-lines").await.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/allocations",
            &json!({"bank_line_id": line, "allocations": [{"document_id": invoice["id"], "amount": "100.00"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let got = receiver.wait_for(1).await;
    assert_signed_by(&got[0], &secret);
    let event = got[0].json();
    assert_eq!(event["type"], "allocation.applied");
    assert_eq!(event["data"]["bank_line_id"], line.as_str());
    assert_eq!(event["data"]["how"], "manual");
    assert_eq!(event["data"]["allocations"][0]["doc_no"], "INV-1");
    assert_eq!(event["data"]["allocations"][0]["amount"], "100.00");

    wait_delivery(&app, &id, "succeeded").await;
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "query($id: UUID!) { webhookEndpoints { items { id url enabled } } webhookDeliveries(endpointId: $id) { items { id webhookId eventType status attempts } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
    assert_eq!(r.body["data"]["webhookEndpoints"]["items"][0]["url"], receiver.url());
    let d = &r.body["data"]["webhookDeliveries"]["items"][0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["webhookId"], got[0].header("webhook-id"));
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "query($id: UUID!) { webhookDelivery(id: $id) { status attemptLog { statusCode } payload } }",
            json!({ "id": d["id"] }),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
    assert_eq!(r.body["data"]["webhookDelivery"]["attemptLog"][0]["statusCode"], 200);
}

#[tokio::test]
async fn a_matching_run_announces_itself_once_and_a_confirmed_proposal_is_announced_to_its_customer() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    let c2_receiver = Receiver::start(vec![]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, _) = endpoint(&app, &receiver.url()).await;
    for (code, name, iban) in
        [("C1", "Kalomer GmbH", "DE11111111111111111111"), ("C2", "Renbentor Ltd", "FR2222222222222222222222")]
    {
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": name, "bank_accounts": [iban]})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let (c2_endpoint, _) =
        endpoint_with(&app, &app.api_key, json!({"url": c2_receiver.url(), "customer_code": "C2"})).await;
    app.create_invoice("C1", "INV-2026-0000101", "100.00").await;
    app.create_invoice("C1", "INV-2026-0000102", "250.00").await;
    app.create_invoice("C2", "INV-2026-0000103", "500.00").await;
    app.create_invoice("C2", "INV-2026-0000104", "500.00").await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-03-05,,100.00,EUR,KALOMER GMBH,DE11111111111111111111,INV-2026-0000101,\n\
        BL2,DE89370400440532013000,2026-03-06,,250.00,EUR,KALOMER GMBH,DE11111111111111111111,INV-2026-0000102,\n\
        BL3,DE89370400440532013000,2026-03-07,,42.00,EUR,BANK,,INTEREST,\n\
        BL4,DE89370400440532013000,2026-03-08,,500.00,EUR,RENBENTOR LTD,FR2222222222222222222222,,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post("/api/v1/reconciliations", &json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let run_id = r.body["id"].as_str().unwrap().to_string();

    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), 1, "one event per run, not one per allocation");
    let event = got[0].json();
    assert_eq!(event["type"], "reconciliation.completed");
    assert_eq!(event["data"]["reconciliation_id"], run_id.as_str());
    assert_eq!(event["data"]["lines"], 4);
    assert_eq!(event["data"]["auto_applied"], 2);
    assert_eq!(event["data"]["proposed"], 1);
    assert_eq!(event["data"]["unmatched"], 1);
    assert!(c2_receiver.all().is_empty(), "a run is not one customer's event");
    wait_delivery(&app, &id, "succeeded").await;

    // Confirming the proposal for C2 is announced, to the tenant-wide and to C2's endpoint.
    let r = app.get("/api/v1/allocations?state=proposed").await;
    let proposal = r.body["items"][0].clone();
    assert_eq!(proposal["line_id"], "BL4", "{}", r.text);
    let r = app.post(&format!("/api/v1/allocations/{}/confirm", proposal["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = receiver.wait_for(2).await;
    let event = got[1].json();
    assert_eq!(event["type"], "allocation.applied");
    assert_eq!(event["data"]["how"], "confirmed");
    assert_eq!(event["data"]["bank_line_id"], proposal["bank_line_id"]);
    assert_eq!(event["data"]["allocations"][0]["doc_no"], proposal["doc_no"]);
    let for_c2 = c2_receiver.wait_for(1).await;
    assert_eq!(for_c2[0].header("webhook-id"), got[1].header("webhook-id"), "the same event, the same id");
    wait_delivery(&app, &c2_endpoint, "succeeded").await;
}

#[tokio::test]
async fn gone_cancels_the_endpoints_other_pending_deliveries() {
    // Retries far apart, so a failed delivery waits while the next event is answered 410.
    let app = spawn_app_with(|s| {
        fast(s);
        s.webhooks.retry_schedule = vec![Duration::from_secs(60)];
    })
    .await;
    let receiver = Receiver::start(vec![status(500), status(410)]).await;
    allow_private(&app, &app.api_key, true).await;
    let (id, _) = endpoint(&app, &receiver.url()).await;
    let first = emit(&app, app.tenant_id, None, EventType::DifferenceDisputed, json!({"n": 1}));
    receiver.wait_for(1).await;
    let second = emit(&app, app.tenant_id, None, EventType::DifferenceDisputed, json!({"n": 2}));
    receiver.wait_for(2).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = deliveries(&app, &id).await;
        let status_of = |event: Uuid| {
            items.iter().find(|d| d["webhook_id"] == event.to_string()).map(|d| d["status"].clone()).unwrap_or_default()
        };
        if status_of(first) == "cancelled" && status_of(second) == "failed" {
            break;
        }
        assert!(Instant::now() < deadline, "{items:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.get(&format!("/api/v1/webhook-endpoints/{id}")).await.body["enabled"], false);
}

/// The statement use cases' events reach the customer's own endpoint end to end: a statement
/// posted over HTTP announces its differences, and sending them announces that too.
#[tokio::test]
async fn a_reconciled_statement_announces_its_differences_to_the_customers_endpoint() {
    let app = spawn().await;
    let receiver = Receiver::start(vec![]).await;
    allow_private(&app, &app.api_key, true).await;
    app.create_customer("W1").await;
    app.create_customer("W2").await;
    app.create_invoice("W1", "W1-INV-1", "100.00").await;
    app.create_invoice("W1", "W1-INV-2", "200.00").await;
    let (mine, _) = endpoint_with(
        &app,
        &app.api_key,
        json!({"url": receiver.url(), "customer_code": "W1",
               "event_types": ["difference.created", "difference.sent", "statement.reconciled"]}),
    )
    .await;
    let (_, _) = endpoint_with(&app, &app.api_key, json!({"url": receiver.url(), "customer_code": "W2"})).await;
    let r = app
        .post(
            "/api/v1/customers/W1/statements",
            &json!({"lines": [{"their_ref": "AP1", "our_ref": "W1-INV-1", "date": "2026-03-01", "kind": "invoice",
                               "amount": "100.00", "currency": "EUR"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sent = app.post("/api/v1/customers/W1/differences/send", &json!({})).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let got = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let types: Vec<String> = receiver.all().iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types.len(), 3, "only W1's endpoint, three events: {types:?}");
    for t in ["statement.reconciled", "difference.created", "difference.sent"] {
        assert!(types.iter().any(|x| x == t), "{t} missing from {types:?}");
    }
    let created = got.iter().map(|r| r.json()).find(|j| j["type"] == "difference.created").unwrap();
    assert_eq!(created["data"]["kind"], "missing_on_customer_side");
    assert_eq!(created["data"]["our_ref"], "W1-INV-2");
    assert_eq!(deliveries(&app, &mine).await.len(), 3);
}
