//! A graceful stop hands claimed work back at once. The real binary holds, at SIGTERM, webhook
//! requests to a receiver that never answers, a connector sync fetching from a slow source and a
//! reconciliation run waiting for its tenant's lock. Within the shutdown timeout the sync commits
//! its page and stops; the rest is stopped at the end of the drain time. Straight after the exit
//! the database shows every job released (deliveries due now with their retry schedule unspent,
//! the connector without a lease and due now, the run queued with its attempt not counted), and
//! a second process finishes all of it within seconds, where the leases (120 s) would have kept
//! it waiting.

use crate::connector_fixtures::SharedFaults;
use crate::connectors_generic_json as billing;
use crate::helpers::TestDatabase;
use crate::serve_process;
use base64::Engine;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{json, Value};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Leases far longer than the test may take: what the second process does, it did not wait for.
const LEASE_SECONDS: u64 = 120;

fn start(db: &TestDatabase, data: &std::path::Path, master_key: &str, name: &str) -> (Child, String) {
    let env = [
        ("DUIZHANG_CONNECTOR_KEY", master_key.to_string()),
        ("DUIZHANG_WORKERS", "1".into()),
        ("DUIZHANG_WEBHOOK_POLL_MS", "50".into()),
        ("DUIZHANG_WEBHOOK_TIMEOUT_MS", "60000".into()),
        ("DUIZHANG_WEBHOOK_LEASE_MS", (LEASE_SECONDS * 1000).to_string()),
        ("DUIZHANG_CONNECTOR_POLL_MS", "50".into()),
        ("DUIZHANG_CONNECTOR_TIMEOUT_MS", "60000".into()),
        ("DUIZHANG_CONNECTOR_LEASE_SECONDS", LEASE_SECONDS.to_string()),
        ("DUIZHANG_DRAIN_SECONDS", "0".into()),
        // Jobs get 3 s to finish, then the rest is handed back.
        ("DUIZHANG_SHUTDOWN_TIMEOUT_SECONDS", "4".into()),
        ("RUST_LOG", "info,duizhang::access=warn".into()),
    ];
    serve_process::spawn(&db.url, data, name, &env)
}

async fn start_receiver(hang: Arc<AtomicBool>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (seen, hang) = (s.clone(), hang.clone());
            tokio::spawn(async move {
                let Some(id) = serve_process::read_webhook_id(&mut socket).await else { return };
                seen.lock().unwrap().push(id);
                if hang.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/hooks"), seen)
}

use crate::helpers::count_rows as count;

#[derive(QueryableByName)]
struct T {
    #[diesel(sql_type = Text)]
    t: String,
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql).get_result::<T>(conn).unwrap().t
}

fn sigterm_and_wait(child: &mut Child) -> Duration {
    let started = Instant::now();
    serve_process::sigterm(child);
    let status = serve_process::wait_exit(child, Duration::from_secs(60));
    assert!(status.success(), "exit after SIGTERM: {status}");
    started.elapsed()
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Everything the first process holds at SIGTERM: three hanging webhook requests, a sync
/// fetching its first page from a slow source, a run waiting for its tenant's matching lock
/// (which `matching_lock` holds).
struct Held {
    connector: String,
    run: String,
    received: Arc<Mutex<Vec<String>>>,
    hang: Arc<AtomicBool>,
    billing: billing::Shared,
    faults: SharedFaults,
}

async fn claim_everything(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    conn: &mut PgConnection,
    matching_lock: &mut PgConnection,
    tenant: uuid::Uuid,
) -> Held {
    let call = |method: reqwest::Method, path: &str, body: Value| {
        client.request(method, format!("{base}{path}")).bearer_auth(key).json(&body).send()
    };
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{}", r.status());
        r
    };
    let hang = Arc::new(AtomicBool::new(true));
    let (hook_url, received) = start_receiver(hang.clone()).await;
    ok(call(reqwest::Method::PUT, "/api/v1/webhook-settings", json!({"allow_private_targets": true})).await.unwrap());
    ok(call(reqwest::Method::POST, "/api/v1/webhook-endpoints", json!({"url": hook_url})).await.unwrap());
    diesel::sql_query(format!(
        "INSERT INTO outbox_events (id, tenant_id, event_type, payload) \
         SELECT gen_random_uuid(), '{tenant}', 'test.event', '{{}}' FROM generate_series(1, 3)"
    ))
    .execute(conn)
    .unwrap();
    for code in ["C001", "C002"] {
        let body = json!({"code": code, "name": format!("Customer {code}"), "default_currency": "EUR"});
        ok(call(reqwest::Method::POST, "/api/v1/customers", body).await.unwrap());
    }
    let (billing, faults, billing_base) = billing::start();
    faults.lock().unwrap().delay = Some(Duration::from_millis(1500));
    let mut connector = billing::generic(billing::config(&billing_base), billing::KEY);
    connector["schedule_seconds"] = json!(3600);
    let r = ok(call(reqwest::Method::POST, "/api/v1/connectors", connector).await.unwrap());
    let connector = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    diesel::sql_query("BEGIN").execute(matching_lock).unwrap();
    duizhang::db::lock_tenant(matching_lock, tenant, duizhang::db::TenantLock::Matching).unwrap();
    let r = ok(call(reqwest::Method::POST, "/api/v1/reconciliations", json!({})).await.unwrap());
    let run = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    wait_for("three webhook requests in flight", Duration::from_secs(30), || received.lock().unwrap().len() == 3).await;
    wait_for("the sync fetching its first page", Duration::from_secs(30), || faults.lock().unwrap().requests == 1)
        .await;
    wait_for("the run running", Duration::from_secs(30), || {
        count(conn, &format!("reconciliation_runs WHERE id = '{run}' AND status = 'running'")) == 1
    })
    .await;
    Held { connector, run, received, hang, billing, faults }
}

/// Straight after the exit: nothing is left under a lease.
fn assert_released(conn: &mut PgConnection, held: &Held) {
    let (connector, run) = (&held.connector, &held.run);
    assert_eq!(
        count(
            conn,
            "webhook_deliveries WHERE status = 'pending' AND attempts = 1 AND schedule_attempts = 0 \
             AND next_attempt_at <= now()"
        ),
        3,
        "every delivery due now, its retry schedule unspent"
    );
    assert_eq!(
        count(conn, "webhook_attempts WHERE finished_at IS NOT NULL AND error LIKE 'interrupted:%'"),
        3,
        "each stopped request's attempt is closed"
    );
    assert_eq!(
        count(
            conn,
            &format!(
                "connectors WHERE id = '{connector}' AND lease_owner IS NULL AND lease_until IS NULL \
                 AND next_run_at <= now() AND consecutive_failures = 0 AND sync_cursor->'resume'->>'cursor' = 'o2'"
            )
        ),
        1,
        "the connector is free and due, after its first committed page: {}",
        text(conn, &format!("SELECT row_to_json(c)::text AS t FROM connectors c WHERE id = '{connector}'"))
    );
    assert_eq!(
        count(
            conn,
            &format!(
                "connector_syncs WHERE connector_id = '{connector}' AND status = 'failed' AND pages = 1 \
                 AND error LIKE 'stopped by a shutdown%'"
            )
        ),
        1
    );
    assert_eq!(
        count(conn, &format!("reconciliation_runs WHERE id = '{run}' AND status = 'queued' AND attempts = 0")),
        1,
        "the run is queued again, its attempt not counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_claimed_jobs_back_at_once() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let master_key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let mut conn = db.connect();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Handover", "EUR")).unwrap();
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(1)).build().unwrap();
    let (mut first, base) = start(&db, data.path(), &master_key, "first");
    serve_process::wait_ready(&client, &base).await;
    let mut matching_lock = db.connect();
    let held = claim_everything(&client, &base, &tenant.api_key, &mut conn, &mut matching_lock, tenant.tenant_id).await;

    let took = tokio::task::spawn_blocking(move || sigterm_and_wait(&mut first)).await.unwrap();
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    assert_released(&mut conn, &held);
    // The sync committed the page it was fetching, then stopped; no further page was asked for.
    assert_eq!(billing::log(&held.billing).len(), 1);

    // A second process takes everything over at once, long before any lease would have ended.
    drop(matching_lock);
    held.hang.store(false, Ordering::SeqCst);
    held.faults.lock().unwrap().delay = None;
    let restarted = Instant::now();
    let (second, base) = start(&db, data.path(), &master_key, "second");
    let _second = KillOnDrop(second);
    serve_process::wait_ready(&client, &base).await;
    let (connector, run) = (held.connector.clone(), held.run.clone());
    let done = |conn: &mut PgConnection| {
        [
            count(conn, "webhook_deliveries WHERE status = 'succeeded' AND event_type = 'test.event'"),
            count(conn, &format!("connector_syncs WHERE connector_id = '{connector}' AND status = 'succeeded'")),
            count(conn, &format!("reconciliation_runs WHERE id = '{run}' AND status = 'completed'")),
        ]
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while done(&mut conn) != [3, 1, 1] {
        assert!(Instant::now() < deadline, "not all done by the second process: {:?}", done(&mut conn));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(restarted.elapsed() < Duration::from_secs(LEASE_SECONDS / 4), "{:?}", restarted.elapsed());
    assert_eq!(count(&mut conn, &format!("reconciliation_runs WHERE id = '{run}' AND attempts = 1")), 1);
    // Each event reached the receiver twice: the stopped request and the delivered one (the
    // run's own event comes once).
    let received = held.received.lock().unwrap().clone();
    for id in &received[..3] {
        assert_eq!(received.iter().filter(|r| *r == id).count(), 2, "{received:?}");
    }
    // The sync resumed after the committed page: the first page was not fetched again.
    let log = billing::log(&held.billing);
    assert_eq!(log.iter().filter(|(_, cursor, _)| cursor.is_none()).count(), 1, "{log:?}");
    assert_eq!(log[1].1.as_deref(), Some("o2"), "{log:?}");
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
