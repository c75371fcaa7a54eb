//! Three real `duizhang serve` processes on one database, driven together (imports, a bank
//! statement per account, six reconciliation runs, a statement run, a dunning run, webhook
//! deliveries, a connector sync, audit sealing), one of them killed with SIGKILL while it holds a
//! reconciliation run. Afterwards every job ran exactly once: each run completed once and no bank
//! line was allocated twice, every statement was issued once, every event reached the receiver
//! (again only when its first attempt died with the process), no connector page was fetched or
//! written twice; `verify-audit` and `check-integrity` pass.

use crate::connectors_generic_json as billing;
use crate::helpers::TestDatabase;
use crate::serve_process;
use base64::Engine;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const CUSTOMERS: usize = 600;
const ACCOUNTS: usize = 3;
/// Each account's lines in two halves of March: six runs, picked up by different processes.
const HALVES: [(&str, &str); 2] = [("2026-03-01", "2026-03-14"), ("2026-03-15", "2026-03-31")];
/// Webhook requests in flight per process at most.
const WEBHOOK_CONCURRENCY: i64 = 16;

// ----- the processes -------------------------------------------------------------------------

struct Process {
    name: String,
    base: String,
    child: Child,
}

/// The three processes and the client that drives them: requests go round-robin to the live
/// ones, and a request whose process died under it is sent again, with the same
/// `Idempotency-Key`, to the next one.
struct Cluster {
    procs: Vec<Option<Process>>,
    client: reqwest::Client,
    key: String,
    next: usize,
}

/// The database URL naming the process (`application_name`), so the test can see in
/// `pg_locks` which process holds which run.
fn url_named(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

fn start(db: &TestDatabase, data: &std::path::Path, master_key: &str, name: &str) -> Process {
    let env = [
        ("DUIZHANG_CONNECTOR_KEY", master_key.to_string()),
        ("DUIZHANG_WORKERS", "1".into()),
        ("DUIZHANG_DB_POOL_SIZE", "6".into()),
        ("DUIZHANG_AUDIT_SEAL_MS", "200".into()),
        ("DUIZHANG_WEBHOOK_POLL_MS", "20".into()),
        ("DUIZHANG_WEBHOOK_TIMEOUT_MS", "1000".into()),
        // A delivery whose process died is sent again 3 s after it was taken.
        ("DUIZHANG_WEBHOOK_LEASE_MS", "3000".into()),
        ("DUIZHANG_WEBHOOK_CONCURRENCY", WEBHOOK_CONCURRENCY.to_string()),
        ("DUIZHANG_WEBHOOK_RETRY_SCHEDULE", "100ms,100ms,100ms,100ms,100ms".into()),
        ("DUIZHANG_CONNECTOR_POLL_MS", "50".into()),
        ("DUIZHANG_CONNECTOR_TIMEOUT_MS", "1000".into()),
        ("DUIZHANG_CONNECTOR_LEASE_SECONDS", "120".into()),
        ("DUIZHANG_DRAIN_SECONDS", "0".into()),
    ];
    let (child, base) = serve_process::spawn(&url_named(&db.url, name), data, name, &env);
    Process { name: name.into(), base, child }
}

impl Cluster {
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for p in self.procs.iter().flatten() {
            loop {
                if let Ok(r) = self.client.get(format!("{}/readyz", p.base)).send().await {
                    if r.status() == 200 {
                        break;
                    }
                }
                assert!(Instant::now() < deadline, "{} did not become ready", p.name);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Sends to the next live process; on a connection error (the process died), to the next.
    async fn send(&mut self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        for _ in 0..self.procs.len() * 2 {
            self.next = (self.next + 1) % self.procs.len();
            let Some(p) = &self.procs[self.next] else { continue };
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let sent = self
                .client
                .request(method, format!("{}{path}", p.base))
                .bearer_auth(&self.key)
                .header("content-type", content_type)
                .header("Idempotency-Key", &idempotency_key)
                .body(body.clone())
                .send()
                .await;
            if let Ok(r) = sent {
                let status = r.status().as_u16();
                return (status, r.json().await.unwrap_or(Value::Null));
            }
        }
        panic!("no process answered {method} {path}");
    }

    async fn post(&mut self, path: &str, body: Value) -> Value {
        let (status, answer) = self.send("POST", path, "application/json", body.to_string().into_bytes()).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {answer}");
        answer
    }

    async fn put(&mut self, path: &str, body: Value) {
        let (status, answer) = self.send("PUT", path, "application/json", body.to_string().into_bytes()).await;
        assert_eq!(status, 200, "PUT {path}: {answer}");
    }

    async fn post_csv(&mut self, path: &str, csv: String) -> Value {
        let (status, answer) = self.send("POST", path, "text/csv", csv.into_bytes()).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {answer}");
        answer
    }

    /// SIGKILL: no drain, no clean-up of any kind.
    fn kill(&mut self, name: &str) {
        let slot = self.procs.iter_mut().find(|p| p.as_ref().is_some_and(|p| p.name == name)).unwrap();
        let mut p = slot.take().unwrap();
        p.child.kill().unwrap();
        p.child.wait().unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().flatten() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

// ----- the webhook receiver ------------------------------------------------------------------

/// Records the `webhook-id` of every request and answers 200 after a short pause (so each
/// process has deliveries in flight most of the time).
async fn start_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = s.clone();
            tokio::spawn(async move {
                let Some(id) = serve_process::read_webhook_id(&mut socket).await else { return };
                tokio::time::sleep(Duration::from_millis(250)).await;
                seen.lock().unwrap().push(id);
                let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/hooks"), seen)
}

// ----- data ----------------------------------------------------------------------------------

/// A valid German IBAN, different for each `n`.
fn iban(n: usize) -> String {
    let bban = format!("{:018}", 370_400_440_000_000_000u64 + n as u64);
    let m = format!("{bban}131400").bytes().fold(0u32, |m, d| (m * 10 + (d - b'0') as u32) % 97);
    format!("DE{:02}{bban}", 98 - m)
}

fn account(a: usize) -> String {
    iban(900_000 + a)
}

/// Customer `i` (1-based) in chunk `part` of `parts`.
fn customers_csv(part: usize, parts: usize) -> String {
    let mut csv = String::from("code,name,iban,default_currency\n");
    for i in (1..=CUSTOMERS).filter(|i| i % parts == part) {
        csv.push_str(&format!("C{i:03},Debtor {i} GmbH,{},EUR\n", iban(i)));
    }
    csv
}

/// Two invoices per customer: `-1` is paid in March, `-2` is overdue at the dunning run.
fn documents_csv(part: usize, parts: usize) -> String {
    let mut csv = String::from("doc_no,doc_type,customer_code,issue_date,due_date,currency,amount\n");
    for i in (1..=CUSTOMERS).filter(|i| i % parts == part) {
        csv.push_str(&format!("INV-{i:04}-1,invoice,C{i:03},2026-02-01,2026-03-01,EUR,{}.00\n", 100 + i));
        csv.push_str(&format!("INV-{i:04}-2,invoice,C{i:03},2026-03-01,2026-04-01,EUR,50.00\n"));
    }
    csv
}

/// Account `a`'s statement: every customer `i` with `i % ACCOUNTS == a` pays its first invoice.
fn statement_csv(a: usize) -> String {
    let mut csv = String::from(
        "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n",
    );
    for i in (1..=CUSTOMERS).filter(|i| i % ACCOUNTS == a) {
        let day = i % 28 + 1;
        csv.push_str(&format!(
            "L{i:04},{},2026-03-{day:02},,{}.00,EUR,DEBTOR {i} GMBH,{},INV-{i:04}-1,E2E-{i}\n",
            account(a),
            100 + i,
            iban(i)
        ));
    }
    csv
}

// ----- reading the database ------------------------------------------------------------------

use crate::helpers::count_rows as count;

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    run: String,
}

/// A process holding a run's lock while the run is `running`: (process name, run id). The
/// lock key is the worker's (`db::cash_application::run_lock_key`): the run id's low 8 bytes
/// XOR "run_lock", which `pg_locks` shows as two 32-bit halves.
fn run_holder(conn: &mut PgConnection) -> Option<Holder> {
    diesel::sql_query(
        "SELECT a.application_name AS name, r.id::text AS run \
         FROM reconciliation_runs r \
         JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
              AND ((l.classid::bigint << 32) | l.objid::bigint) \
                  = (('x' || right(replace(r.id::text, '-', ''), 16))::bit(64)::bigint # x'72756e5f6c6f636b'::bit(64)::bigint) \
         JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE r.status = 'running' AND a.application_name LIKE 'dz-p%' LIMIT 1",
    )
    .get_result(conn)
    .optional()
    .unwrap()
}

// ----- the test ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_one_killed_every_job_runs_exactly_once() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    // Every process on one database needs the same master key.
    let master_key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let mut conn = db.connect();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Together", "EUR")).unwrap();
    let procs = (1..=3).map(|i| Some(start(&db, data.path(), &master_key, &format!("dz-p{i}")))).collect();
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(1)).build().unwrap();
    let mut cluster = Cluster { procs, client, key: tenant.api_key.clone(), next: 0 };
    cluster.wait_ready().await;

    // The receiver first: an endpoint gets the events after it was registered.
    let (hook_url, received) = start_receiver().await;
    cluster.put("/api/v1/webhook-settings", json!({"allow_private_targets": true})).await;
    cluster.post("/api/v1/webhook-endpoints", json!({"url": hook_url})).await;
    load_the_books(&mut cluster).await;

    let statement_run = cluster
        .post("/api/v1/statement-runs", json!({"period_from": "2026-03-01", "period_to": "2026-03-31"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (billing_log, _, billing_base) = billing::start();
    let mut connector = billing::generic(billing::config(&billing_base), billing::KEY);
    connector["schedule_seconds"] = json!(3600);
    let connector_id = cluster.post("/api/v1/connectors", connector).await["id"].as_str().unwrap().to_string();
    // The statement run's 600 events keep every process's webhook sender busy for seconds: the
    // reconciliation runs are queued into that.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&mut conn, "webhook_attempts WHERE finished_at IS NULL") <= 2 * WEBHOOK_CONCURRENCY {
        assert!(Instant::now() < deadline, "the webhook senders never got busy");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for a in 0..ACCOUNTS {
        for (from, to) in HALVES {
            cluster
                .post(
                    "/api/v1/reconciliations",
                    json!({"bank_account": account(a), "booked_from": from, "booked_to": to}),
                )
                .await;
        }
    }

    // Kill a process that holds a running reconciliation run (its transaction rolls back) at a
    // moment when more requests are in flight than two processes may send at once: so the
    // killed one has deliveries in flight too (their attempts stay unfinished).
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = loop {
        if count(&mut conn, "webhook_attempts WHERE finished_at IS NULL") > 2 * WEBHOOK_CONCURRENCY {
            if let Some(h) = run_holder(&mut conn) {
                break h;
            }
        }
        assert!(Instant::now() < deadline, "no process was seen holding a run");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    cluster.kill(&held.name);
    let killed_at = chrono::Utc::now();
    let requests_at_kill = billing::log(&billing_log).len();
    let interrupted =
        count(&mut conn, &format!("reconciliation_runs WHERE id = '{}' AND status = 'running'", held.run)) == 1;
    eprintln!("killed {} holding run {} (interrupted: {interrupted})", held.name, held.run);

    // The survivors go on: a dunning run, driven through them.
    collections(&mut cluster).await;
    wait_until_settled(&mut conn, &statement_run, &|| billing::log(&billing_log).len() > requests_at_kill).await;

    assert_runs_and_allocations(&mut conn, &held.run, interrupted);
    assert_statements_and_dunning(&mut conn, &statement_run);
    assert_connector(&mut conn, &connector_id, &billing_log, requests_at_kill);
    assert_deliveries(&mut conn, &received.lock().unwrap(), killed_at);
    drop(cluster);
    for command in ["verify-audit", "check-integrity"] {
        let out = Command::new(serve_process::BIN)
            .arg(command)
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{command}: {stdout} {stderr}");
    }
}

/// Customers, the ledger and one statement per bank account, spread over the processes.
async fn load_the_books(cluster: &mut Cluster) {
    for part in 0..3 {
        let r = cluster.post_csv("/api/v1/customers/import", customers_csv(part, 3)).await;
        assert_eq!(r["created"], CUSTOMERS / 3, "{r}");
    }
    for part in 0..3 {
        let r = cluster.post_csv("/api/v1/documents/import", documents_csv(part, 3)).await;
        assert_eq!(r["created"], 2 * CUSTOMERS / 3, "{r}");
    }
    for a in 0..ACCOUNTS {
        cluster.post("/api/v1/bank-accounts", json!({"account_id": account(a), "currency": "EUR"})).await;
        cluster.post_csv("/api/v1/bank-statements", statement_csv(a)).await;
    }
}

async fn collections(cluster: &mut Cluster) {
    let levels = json!([
        {"code": "B", "name": "Reminder", "severity": 2, "min_days_overdue": 30, "action": "reminder"}
    ]);
    cluster.put("/api/v1/dunning-levels", levels).await;
    let run = cluster.post("/api/v1/dunning-runs", json!({"as_of": "2026-06-30"})).await;
    assert_eq!(run["customers_at_level"], CUSTOMERS, "{run}");
}

/// Until every run and the statement run are done, every event has been delivered (a delivery
/// the killed process held waits for its lease) and the connector's sync is done, unless the
/// killed process held it (no request since the kill; it waits for its 120 s lease).
async fn wait_until_settled(conn: &mut PgConnection, statement_run: &str, synced_since_kill: &dyn Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(45);
    let quiet_since = Instant::now();
    loop {
        let open = [
            count(conn, "reconciliation_runs WHERE status <> 'completed'"),
            count(conn, &format!("statement_runs WHERE id = '{statement_run}' AND status <> 'completed'")),
            count(conn, "outbox_events WHERE dispatched_at IS NULL"),
            count(conn, "webhook_deliveries WHERE status <> 'succeeded'"),
        ];
        let syncing = count(conn, "connector_syncs WHERE status = 'running'") > 0;
        let sync_held_by_the_dead = syncing && !synced_since_kill() && quiet_since.elapsed() > Duration::from_secs(5);
        if open.iter().all(|n| *n == 0) && (!syncing || sync_held_by_the_dead) {
            return;
        }
        assert!(Instant::now() < deadline, "not settled (runs, statement run, events, deliveries): {open:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ----- what must hold afterwards -------------------------------------------------------------

/// Six runs, each completed; only the interrupted one started over (once). Every line is
/// applied once, to its own invoice, never beyond its amount; one completion event per run.
fn assert_runs_and_allocations(conn: &mut PgConnection, held_run: &str, interrupted: bool) {
    let runs = (ACCOUNTS * HALVES.len()) as i64;
    assert_eq!(count(conn, "reconciliation_runs WHERE status = 'completed' AND error IS NULL"), runs);
    let extra = count(conn, "reconciliation_runs r, generate_series(2, r.attempts)");
    assert!(extra <= 1, "{extra} run starts beyond the first: only the killed process's run may start over");
    if interrupted {
        let again = count(conn, &format!("reconciliation_runs WHERE id = '{held_run}' AND attempts = 2"));
        assert_eq!(again, 1, "the run the killed process held was taken over and run once more");
    }
    let lines = CUSTOMERS as i64;
    assert_eq!(count(conn, "bank_lines WHERE status = 'applied'"), lines, "every line applied");
    assert_eq!(count(conn, "allocations WHERE state = 'auto_applied'"), lines, "one allocation per line");
    let twice = "(SELECT bank_line_id FROM allocations WHERE state <> 'rejected' \
                 GROUP BY bank_line_id HAVING count(*) > 1 OR count(DISTINCT run_id) > 1) x";
    assert_eq!(count(conn, twice), 0, "a line allocated twice");
    let beyond = "(SELECT bank_line_id, sum(amount) AS s FROM allocations WHERE state <> 'rejected' GROUP BY 1) x \
                  JOIN bank_lines l ON l.id = x.bank_line_id WHERE x.s > l.amount";
    assert_eq!(count(conn, beyond), 0, "a line allocated beyond its amount");
    let wrong = "allocations a JOIN bank_lines l ON l.id = a.bank_line_id JOIN documents d ON d.id = a.document_id \
                 WHERE d.doc_no <> l.remittance";
    assert_eq!(count(conn, wrong), 0, "each line pays the invoice it names");
    assert_eq!(count(conn, "documents WHERE doc_no LIKE 'INV-%-1' AND open_amount <> 0"), 0);
    assert_eq!(count(conn, "documents WHERE doc_no LIKE 'INV-%-2' AND open_amount <> amount"), 0);
    let completed = "outbox_events WHERE event_type = 'reconciliation.completed'";
    assert_eq!(count(conn, completed), runs, "one completion event per run");
    let distinct = format!(
        "(SELECT DISTINCT coalesce(payload->'data'->>'reconciliation_id', payload->>'reconciliation_id') \
         FROM {completed}) x"
    );
    assert_eq!(count(conn, &distinct), runs, "no run announced twice");
}

/// The statement run issued each customer's statement once; the dunning run ran once.
fn assert_statements_and_dunning(conn: &mut PgConnection, run: &str) {
    let n = CUSTOMERS as i64;
    let done = format!("statement_runs WHERE id = '{run}' AND status = 'completed' AND customers_done = {n}");
    assert_eq!(count(conn, &done), 1);
    assert_eq!(count(conn, &format!("statement_run_items WHERE run_id = '{run}' AND done")), n);
    assert_eq!(count(conn, "outbox_events WHERE event_type = 'statement.issued'"), n, "a statement issued twice");
    let customers = "(SELECT DISTINCT customer_id FROM outbox_events WHERE event_type = 'statement.issued') x";
    assert_eq!(count(conn, customers), n);
    assert_eq!(count(conn, "dunning_runs"), 1);
    assert_eq!(count(conn, "dunning_actions WHERE kind = 'level_changed'"), n);
    let twice = "(SELECT 1 FROM dunning_actions GROUP BY run_id, customer_id, kind HAVING count(*) > 1) x";
    assert_eq!(count(conn, twice), 0);
}

/// No page fetched or written twice. A sync the killed process held keeps its lease (at least
/// 120 s, longer than this test waits) and is resumed after it by another process from the
/// last committed page; such a sync is recognised by having made no request since the kill
/// and is only checked for what it committed.
fn assert_connector(conn: &mut PgConnection, id: &str, log: &billing::Shared, requests_at_kill: usize) {
    let log = billing::log(log);
    let mut seen = std::collections::HashSet::new();
    for request in &log {
        assert!(seen.insert((request.0.clone(), request.1.clone())), "page requested twice: {log:?}");
    }
    let syncs = format!("connector_syncs WHERE connector_id = '{id}'");
    assert_eq!(count(conn, &syncs), 1, "one sync");
    let billing_docs = count(conn, "documents WHERE source_system = 'billing'");
    if count(conn, &format!("{syncs} AND status = 'running'")) == 1 {
        assert_eq!(log.len(), requests_at_kill, "a running sync is the dead process's: no request since the kill");
        eprintln!("the killed process held the connector's sync: it resumes when its lease ends");
        assert!(billing_docs <= 4);
        return;
    }
    assert_eq!(count(conn, &format!("{syncs} AND status = 'succeeded' AND created = 4 AND pages = 3")), 1);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(billing_docs, 4);
}

#[derive(QueryableByName, Debug)]
struct DeliveryRow {
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    ok: i64,
    #[diesel(sql_type = BigInt)]
    lost_after_kill: i64,
}

/// At least once, and more than once only because of the kill: every event has one delivery,
/// which succeeded with exactly one 2xx attempt; the receiver got it at least once and at most
/// once per recorded attempt; an attempt left unfinished (its worker died before recording the
/// answer) started before the kill. Receivers deduplicate by `webhook-id`.
fn assert_deliveries(conn: &mut PgConnection, received: &[String], killed_at: chrono::DateTime<chrono::Utc>) {
    let mut got: HashMap<&str, i64> = HashMap::new();
    for id in received {
        *got.entry(id.as_str()).or_default() += 1;
    }
    let undelivered = "outbox_events e WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) \
                       AND e.created_at >= (SELECT created_at FROM webhook_endpoints)";
    assert_eq!(count(conn, undelivered), 0, "an event without a delivery");
    let rows: Vec<DeliveryRow> = diesel::sql_query(
        "SELECT d.event_id::text AS event, d.attempts::bigint AS attempts, \
           (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS rows, \
           (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.status_code BETWEEN 200 AND 299) AS ok, \
           (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.finished_at IS NULL \
              AND a.started_at > $1) AS lost_after_kill \
         FROM webhook_deliveries d WHERE d.status = 'succeeded'",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(killed_at)
    .load(conn)
    .unwrap();
    assert_eq!(rows.len() as i64, count(conn, "webhook_deliveries"), "every delivery succeeded");
    assert!(rows.len() > CUSTOMERS, "{} deliveries", rows.len());
    let (mut again, mut lost) = (0, 0);
    for d in &rows {
        let n = got.get(d.event.as_str()).copied().unwrap_or(0);
        assert_eq!(d.ok, 1, "one successful attempt: {d:?}");
        assert_eq!(d.rows, d.attempts, "{d:?}");
        assert!(n >= 1 && n <= d.attempts, "received {n} times: {d:?}");
        assert_eq!(d.lost_after_kill, 0, "only the killed process leaves attempts unfinished: {d:?}");
        again += (n > 1) as usize;
        lost += (d.rows > d.ok) as usize;
    }
    assert!(lost > 0, "the killed process had deliveries in flight: they were sent again after their lease");
    assert_eq!(got.len(), rows.len(), "the receiver got events nobody recorded");
    eprintln!("{} events delivered; {lost} taken over after the kill, {again} of them received twice", rows.len());
}
