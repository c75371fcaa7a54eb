//! Ledger import benchmark (issue 21). Not a timed test: it measures and reports.
//!
//!     cargo bench --bench ledger -- [--lines 1000000] [--data DIR] [--request-rows 100000]
//!
//! The generator's month (`--lines` bank lines; 1,000,000 make 1.46M documents over 50,040
//! customers) is loaded into the release server (child process, fresh embedded PostgreSQL unless
//! DATABASE_URL is set) through HTTP as an ERP would: customers.csv, then ledger.csv (in one
//! request, or in requests of `--request-rows` rows), then the same ledger again (all unchanged).
//! Prints documents/s, the server's peak RSS and its RSS after each phase.

#[path = "support/common.rs"]
#[allow(dead_code)] // shared with the other benches
mod common;

use std::time::{Duration, Instant};

/// The header and the rows of `csv` in requests of `rows` rows each.
fn requests(csv: &[u8], rows: usize) -> Vec<Vec<u8>> {
    let header_end = csv.iter().position(|b| *b == b'\n').unwrap() + 1;
    let (header, body) = csv.split_at(header_end);
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, b) in body.iter().enumerate() {
        if *b == b'\n' {
            count += 1;
            if count == rows {
                out.push([header, &body[start..=i]].concat());
                start = i + 1;
                count = 0;
            }
        }
    }
    if start < body.len() {
        out.push([header, &body[start..]].concat());
    }
    out
}

async fn post_csv(client: &reqwest::Client, server: &common::Server, path: &str, body: Vec<u8>) -> serde_json::Value {
    let r = client
        .post(format!("{}{path}", server.base))
        .bearer_auth(&server.api_key)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rejected"], serde_json::json!([]), "no row may be rejected");
    body
}

struct Phase {
    name: String,
    secs: f64,
    rows: u64,
    peak: f64,
    after: f64,
}

/// Sends the ledger in `parts`; returns the time and the sum of `field` over the answers.
async fn load(client: &reqwest::Client, server: &common::Server, parts: &[Vec<u8>], field: &str) -> (f64, u64) {
    let start = Instant::now();
    let mut n = 0;
    for part in parts {
        n += post_csv(client, server, "/api/v1/documents/import", part.clone()).await[field].as_u64().unwrap();
    }
    (start.elapsed().as_secs_f64(), n)
}

fn main() {
    let lines: u64 = common::arg("--lines").map(|v| v.parse().unwrap()).unwrap_or(100_000);
    let request_rows: Option<usize> = common::arg("--request-rows").map(|v| v.parse().unwrap());
    let dir = common::dataset(lines, 7);
    let customers = std::fs::read(dir.join("customers.csv")).unwrap();
    let ledger = std::fs::read(dir.join("ledger.csv")).unwrap();
    let documents = ledger.iter().filter(|b| **b == b'\n').count() as u64 - 1;
    let parts = match request_rows {
        Some(rows) => requests(&ledger, rows),
        None => vec![ledger.clone()],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = common::Server::start();
    let pid = server.child.id();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3600)).build().unwrap();
    let mut phases = Vec::new();
    runtime.block_on(async {
        post_csv(&client, &server, "/api/v1/customers/import", customers).await;
        let idle = common::rss_mib(pid);
        println!("server RSS with customers loaded: {idle:.0} MiB");
        let (secs, created) = load(&client, &server, &parts, "created").await;
        assert_eq!(created, documents);
        let name = format!("ledger, {documents} new documents in {} request(s)", parts.len());
        phases.push(Phase { name, secs, rows: created, peak: server.peak_rss_mib(), after: common::rss_mib(pid) });
        let (secs, unchanged) = load(&client, &server, &parts, "unchanged").await;
        assert_eq!(unchanged, documents);
        let name = format!("the same ledger again ({documents} unchanged)");
        phases.push(Phase { name, secs, rows: unchanged, peak: server.peak_rss_mib(), after: common::rss_mib(pid) });
    });
    std::thread::sleep(Duration::from_secs(60));
    let idle_after = common::rss_mib(pid);
    let mut report = format!(
        "# Ledger import ({documents} documents from {lines} generated lines, {} MB of CSV)\n\n\
         | phase | seconds | documents/s | server peak RSS | server RSS after |\n|---|---|---|---|---|\n",
        ledger.len() / 1_000_000
    );
    for p in &phases {
        report.push_str(&format!(
            "| {} | {:.2} | {:.0} | {:.0} MiB | {:.0} MiB |\n",
            p.name,
            p.secs,
            p.rows as f64 / p.secs,
            p.peak,
            p.after
        ));
    }
    report.push_str(&format!("\nServer RSS a minute after the last request: {idle_after:.0} MiB.\n"));
    common::write_report("bench-ledger", &report);
}
