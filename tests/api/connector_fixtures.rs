//! Plumbing shared by the connector tests: an app whose scheduler polls quickly and whose tenant
//! may reach the loopback fixture servers, a fixture server starter, faults a fixture server can
//! inject (statuses, broken JSON, slowness), waiting for syncs, and the failure scenario every
//! connector must survive.

use crate::helpers::{spawn_app_with, TestApp};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Timeout of one outbound request in these tests; slow fixture answers wait longer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);
pub const SLOW: Duration = Duration::from_millis(3000);

/// An app whose connector scheduler polls every 50 ms with a short request timeout, for a
/// tenant that allows private (loopback) targets.
pub async fn spawn_connector_app() -> TestApp {
    let app = spawn_app_with(|s| {
        s.connectors.poll_interval = Duration::from_millis(50);
        s.connectors.request_timeout = REQUEST_TIMEOUT;
    })
    .await;
    let r = app
        .send(
            "PUT",
            "/api/v1/webhook-settings",
            Some(&app.api_key),
            Some(("application/json", json!({ "allow_private_targets": true }).to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app
}

/// A JSON fixture under `tests/fixtures/<dir>/<name>`.
pub fn fixture(dir: &str, name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir).join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Starts a fixture server with the given routes on a free loopback port; returns its base URL.
pub fn serve<F>(routes: F) -> String
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let server =
        HttpServer::new(move || App::new().configure(routes.clone())).workers(1).bind(("127.0.0.1", 0)).unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

/// Faults a fixture server injects into its data requests.
#[derive(Default)]
pub struct Faults {
    /// Answered instead of the data, one per request, before normal answers resume.
    pub fail_next: VecDeque<u16>,
    /// Every data request is answered with this status.
    pub fail_always: Option<u16>,
    /// The n-th data request (1-based, counted from now) gets a broken JSON body.
    pub malformed_request: Option<usize>,
    /// Data requests wait this long before answering.
    pub delay: Option<Duration>,
    /// Data requests seen.
    pub requests: usize,
}

pub type SharedFaults = Arc<Mutex<Faults>>;

/// What the handler does before answering normally.
pub async fn intercept(faults: &SharedFaults) -> Option<HttpResponse> {
    let (answer, delay) = {
        let mut f = faults.lock().unwrap();
        f.requests += 1;
        let status = f.fail_next.pop_front().or(f.fail_always);
        let answer = match status {
            Some(code) => Some(HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body("{}")),
            None if f.malformed_request == Some(f.requests) => {
                Some(HttpResponse::Ok().content_type("application/json").body(r#"{"data":[{"name":"INV-"#))
            }
            None => None,
        };
        (answer, f.delay)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    answer
}

pub async fn create_connector(app: &TestApp, body: Value) -> String {
    let r = app.post("/api/v1/connectors", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body.get("credentials").is_none());
    r.body["id"].as_str().unwrap().to_string()
}

/// Waits until the connector has `n` syncs and none is running; returns them, newest first.
pub async fn wait_syncs(app: &TestApp, id: &str, n: usize) -> Vec<Value> {
    for _ in 0..600 {
        let r = app.get(&format!("/api/v1/connectors/{id}/syncs")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().unwrap().clone();
        if items.len() >= n && items.iter().all(|s| s["status"] != "running") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("connector {id} did not finish {n} syncs");
}

pub async fn sync_now(app: &TestApp, id: &str) {
    let r = app.post(&format!("/api/v1/connectors/{id}/sync"), &json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Syncs now and returns the new sync (the connector has had `done` syncs so far).
pub async fn next_sync(app: &TestApp, id: &str, done: usize) -> Value {
    sync_now(app, id).await;
    wait_syncs(app, id, done + 1).await.remove(0)
}

pub async fn connector(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/connectors/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// The scenario after a first sync failed on its credentials: the right credentials are set,
/// then the server fails (500: recorded, retried later with backoff), answers one 500 and
/// then the data (the request is retried within the sync), is too slow (a timeout is recorded
/// and the worker moves on), and finally recovers. Returns the number of syncs so far.
pub async fn failures_then_recovery(app: &TestApp, id: &str, faults: &SharedFaults, credentials: Value) -> usize {
    let syncs = wait_syncs(app, id, 1).await;
    assert_eq!(syncs[0]["status"], "failed", "{}", syncs[0]);
    let error = syncs[0]["error"].as_str().unwrap();
    assert!(error.contains("authentication failed"), "{error}");
    let c = connector(app, id).await;
    assert_eq!(c["consecutive_failures"], 1);
    let next: chrono::DateTime<chrono::Utc> = c["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::seconds(30), "backoff: {next}");

    let r =
        app.patch_as(&app.api_key, &format!("/api/v1/connectors/{id}"), &json!({ "credentials": credentials })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    faults.lock().unwrap().fail_always = Some(500);
    let s = next_sync(app, id, 1).await;
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("500"), "{s}");
    assert_eq!(connector(app, id).await["consecutive_failures"], 2);

    {
        let mut f = faults.lock().unwrap();
        f.fail_always = None;
        f.delay = Some(SLOW);
    }
    let s = next_sync(app, id, 2).await;
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("timed out"), "{s}");
    assert_eq!(connector(app, id).await["consecutive_failures"], 3);

    {
        let mut f = faults.lock().unwrap();
        f.delay = None;
        f.fail_next = VecDeque::from([500]);
    }
    let s = next_sync(app, id, 3).await;
    assert_eq!(s["status"], "succeeded", "one 500, then the data on the retry: {s}");
    assert!(s["created"].as_i64().unwrap() > 0, "{s}");
    let c = connector(app, id).await;
    assert_eq!(c["consecutive_failures"], 0);
    assert_eq!(c["last_error"], Value::Null);
    4
}
