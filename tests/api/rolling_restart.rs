//! A rolling restart under load: three real `duizhang serve` processes behind a balancer that
//! follows `/readyz` the way a load balancer's health check does, clients sending reads and
//! writes without pause, and each process in turn stopped with SIGTERM and replaced. No request
//! may fail: every answer is 2xx and every document a client was told is created is stored.

use crate::helpers::TestDatabase;
use crate::serve_process;
use diesel::prelude::*;
use serde_json::json;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 6;
/// How often the balancer asks each process `/readyz`: well inside the drain delay below.
const HEALTH_INTERVAL: Duration = Duration::from_millis(100);
const DRAIN_SECONDS: &str = "1";

fn start(db_url: &str, data: &std::path::Path, name: &str) -> (Child, String) {
    let env = [
        ("DUIZHANG_WORKERS", "1".to_string()),
        ("DUIZHANG_DB_POOL_SIZE", "4".into()),
        ("DUIZHANG_DRAIN_SECONDS", DRAIN_SECONDS.into()),
    ];
    serve_process::spawn(db_url, data, name, &env)
}

/// One place behind the balancer: the address of the process there now and whether its last
/// health check passed.
#[derive(Default)]
struct Slot {
    base: Mutex<String>,
    ready: AtomicBool,
}

/// Round robin over the slots whose health check passed. A request that cannot connect never
/// reached a process, so it goes to the next one (what balancers do); anything else counts.
struct Balancer {
    slots: Vec<Slot>,
    next: AtomicUsize,
    client: reqwest::Client,
    key: String,
}

impl Balancer {
    fn pick(&self) -> Option<(usize, String)> {
        (0..self.slots.len()).find_map(|_| {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
            let slot = &self.slots[i];
            slot.ready.load(Ordering::Relaxed).then(|| (i, slot.base.lock().unwrap().clone()))
        })
    }

    /// The status, or why there was none.
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> Result<u16, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if Instant::now() > deadline {
                return Err(format!("{method} {path}: no ready process for 10 s"));
            }
            let Some((slot, base)) = self.pick() else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let mut request = self.client.request(method.clone(), format!("{base}{path}")).bearer_auth(&self.key);
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(r) => return Ok(r.status().as_u16()),
                Err(e) if e.is_connect() => self.slots[slot].ready.store(false, Ordering::Relaxed),
                Err(e) => return Err(format!("{method} {path} to {base}: {e}")),
            }
        }
    }

    /// The health checker: asks every slot's process `/readyz` each interval.
    fn watch(self: &Arc<Self>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let probe = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for slot in &me.slots {
                    let base = slot.base.lock().unwrap().clone();
                    let ok = matches!(probe.get(format!("{base}/readyz")).send().await, Ok(r) if r.status() == 200);
                    slot.ready.store(ok, Ordering::Relaxed);
                }
                tokio::time::sleep(HEALTH_INTERVAL).await;
            }
        })
    }

    async fn wait_ready(&self, slot: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.slots[slot].ready.load(Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "slot {slot} did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[derive(Default)]
struct Tally {
    answered: AtomicUsize,
    created: Mutex<Vec<String>>,
    failures: Mutex<Vec<String>>,
}

/// One client: a document write, a customer list and an aging report, over and over.
async fn load_client(lb: Arc<Balancer>, tally: Arc<Tally>, stop: Arc<AtomicBool>, n: usize) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let doc_no = format!("RR-{n}-{i}");
        let doc = json!({"doc_type": "invoice", "doc_no": doc_no, "customer_code": format!("C{}", i % 5 + 1),
                         "issue_date": "2026-03-01", "due_date": "2026-03-31", "currency": "EUR", "amount": "10.00"});
        let calls = [
            (reqwest::Method::POST, "/api/v1/documents", Some(doc)),
            (reqwest::Method::GET, "/api/v1/customers?limit=20", None),
            (reqwest::Method::GET, "/api/v1/reports/aging?as_of=2026-04-30", None),
        ];
        for (method, path, body) in calls {
            let write = body.is_some();
            match lb.send(method.clone(), path, body).await {
                Ok(s) if (200..300).contains(&s) => {
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                    if write {
                        tally.created.lock().unwrap().push(doc_no.clone());
                    }
                }
                Ok(s) => tally.failures.lock().unwrap().push(format!("{method} {path}: {s}")),
                Err(e) => tally.failures.lock().unwrap().push(e),
            }
        }
    }
}

fn sigterm_and_wait(mut child: Child) -> std::process::ExitStatus {
    serve_process::sigterm(&child);
    serve_process::wait_exit(&mut child, Duration::from_secs(60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_of_three_processes_under_load_loses_no_request() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut conn = db.connect();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Rolling", "EUR")).unwrap();
    let mut children = Vec::new();
    let slots = (1..=3)
        .map(|i| {
            let (child, base) = start(&db.url, data.path(), &format!("p{i}"));
            children.push(Some(child));
            Slot { base: Mutex::new(base), ready: AtomicBool::new(false) }
        })
        .collect();
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2)).build().unwrap();
    let lb = Arc::new(Balancer { slots, next: AtomicUsize::new(0), client, key: tenant.api_key.clone() });
    let stop_watch = Arc::new(AtomicBool::new(false));
    let watcher = lb.watch(stop_watch.clone());
    for slot in 0..3 {
        lb.wait_ready(slot).await;
    }
    for c in 1..=5 {
        let status = lb
            .send(
                reqwest::Method::POST,
                "/api/v1/customers",
                Some(json!({"code": format!("C{c}"), "name": format!("Customer {c}")})),
            )
            .await;
        assert_eq!(status, Ok(201));
    }

    let (tally, stop_load) = (Arc::new(Tally::default()), Arc::new(AtomicBool::new(false)));
    let clients: Vec<_> =
        (0..CLIENTS).map(|n| tokio::spawn(load_client(lb.clone(), tally.clone(), stop_load.clone(), n))).collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (slot, child) in children.iter_mut().enumerate() {
        let answered_before = tally.answered.load(Ordering::Relaxed);
        let old = child.take().unwrap();
        let status = tokio::task::spawn_blocking(move || sigterm_and_wait(old)).await.unwrap();
        assert!(status.success(), "slot {slot} exited with {status} after SIGTERM");
        let (fresh, base) = start(&db.url, data.path(), &format!("p{}-new", slot + 1));
        *child = Some(fresh);
        *lb.slots[slot].base.lock().unwrap() = base;
        lb.wait_ready(slot).await;
        assert!(
            tally.answered.load(Ordering::Relaxed) > answered_before,
            "the load stalled while slot {slot} restarted"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop_load.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    stop_watch.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    for child in children.iter_mut().flatten() {
        let _ = child.kill();
        let _ = child.wait();
    }

    let failures = tally.failures.lock().unwrap().clone();
    let answered = tally.answered.load(Ordering::Relaxed);
    eprintln!("rolling restart: {answered} requests answered in {elapsed:.1} s, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answered + failures.len());
    assert!(answered >= 100, "too little load to prove anything: {answered} requests");
    let created = tally.created.lock().unwrap().len() as i64;
    let stored = crate::helpers::count_rows(&mut conn, "documents WHERE doc_no LIKE 'RR-%'");
    assert_eq!(stored, created, "documents acknowledged vs stored");
}
