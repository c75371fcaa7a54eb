//! Report benchmark (issue 6). Not a timed test: it measures and reports.
//!
//!     cargo bench --bench reports -- [--items 1000000] [--customers 50000]
//!
//! The release server (child process; embedded PostgreSQL unless DATABASE_URL is set) gets
//! `--customers` customers and `--items` open invoices through the ordinary CSV imports, then
//! answers the AR aging (today and as of an earlier date), the collection figures and the
//! overdue ranking over HTTP; each is timed over several calls.

#[path = "support/common.rs"]
#[allow(dead_code)] // shared with the other benches; this one needs only the server
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

fn main() {
    let items: usize = common::arg("--items").map(|v| v.parse().unwrap()).unwrap_or(1_000_000);
    let customers: usize = common::arg("--customers").map(|v| v.parse().unwrap()).unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let server = common::Server::start();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
    let post = |path: &str, body: String| {
        let req = client
            .post(format!("{}{path}", server.base))
            .bearer_auth(&server.api_key)
            .header("content-type", "text/csv")
            .body(body);
        rt.block_on(async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            assert!(status.is_success(), "{status}: {}", &text[..text.len().min(500)]);
        })
    };

    let t0 = Instant::now();
    let mut csv = String::from("code,name\n");
    for c in 0..customers {
        writeln!(csv, "B{c:06},Bench customer {c}").unwrap();
    }
    post("/api/v1/customers/import", csv);
    // Invoices spread over 400 days of issue dates, due 30 days later, three currencies.
    let currencies = ["EUR", "EUR", "EUR", "USD", "CNY"];
    let mut loaded = 0;
    while loaded < items {
        let n = (items - loaded).min(100_000);
        let mut csv = String::from("doc_no,doc_type,customer_code,issue_date,due_date,currency,amount\n");
        for i in loaded..loaded + n {
            let day =
                chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap() + chrono::Days::new((i * 7919 % 400) as u64);
            let due = day + chrono::Days::new(30);
            let amount = 100 + (i * 104_729 % 99_900);
            writeln!(
                csv,
                "INV-{i:08},invoice,B{:06},{day},{due},{},{}.{:02}",
                i % customers,
                currencies[i % currencies.len()],
                amount,
                i % 100
            )
            .unwrap();
        }
        post("/api/v1/documents/import", csv);
        loaded += n;
    }
    let load_secs = t0.elapsed().as_secs_f64();
    let rates = serde_json::json!([
        {"from_currency": "USD", "to_currency": "EUR", "rate": "0.92", "valid_on": "2025-01-01"},
        {"from_currency": "CNY", "to_currency": "EUR", "rate": "0.128", "valid_on": "2025-01-01"}
    ]);
    rt.block_on(async {
        let r = client
            .post(format!("{}/api/v1/fx-rates", server.base))
            .bearer_auth(&server.api_key)
            .json(&rates)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    });

    let time = |path: &str| -> (f64, f64, usize) {
        let mut secs = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let body = rt.block_on(async {
                let r = client.get(format!("{}{path}", server.base)).bearer_auth(&server.api_key).send().await.unwrap();
                assert!(r.status().is_success(), "{path}: {}", r.status());
                r.bytes().await.unwrap()
            });
            secs.push(started.elapsed().as_secs_f64());
            bytes = body.len();
        }
        secs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (secs[0], secs[secs.len() / 2], bytes)
    };
    let mut report = format!(
        "# Report benchmark\n\n{items} open invoices for {customers} customers (3 currencies), loaded through the \
         CSV imports in {load_secs:.0} s. Each request 5 times over HTTP (release server, 2 cores).\n\n\
         | report | best | median | answer size |\n|---|---|---|---|\n"
    );
    for (name, path) in [
        ("AR aging, today (JSON)", "/api/v1/reports/aging"),
        ("AR aging as of 2026-03-31 (JSON)", "/api/v1/reports/aging?as_of=2026-03-31"),
        ("AR aging, today (CSV)", "/api/v1/reports/aging?format=csv"),
        ("collections and DSO, 90 days", "/api/v1/reports/collections"),
        ("overdue ranking, top 50", "/api/v1/reports/overdue-ranking"),
    ] {
        let (best, median, bytes) = time(path);
        writeln!(report, "| {name} | {best:.2} s | {median:.2} s | {:.1} MB |", bytes as f64 / 1e6).unwrap();
    }
    writeln!(report, "\nserver peak memory: {:.0} MiB", server.peak_rss_mib()).unwrap();
    common::write_report("bench-reports", &report);
}
