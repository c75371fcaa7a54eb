//! Bank statement ingestion benchmark (issue 3). Not a timed test: it measures and reports.
//!
//!     cargo bench --bench ingest -- [--lines 1000000] [--data DIR]
//!
//! 1. Parser throughput (MB/s) of the generator's bank.csv and camt.053 files, in memory of
//!    this process, through a sink that only counts. camt.053 twice: mapped into memory (what
//!    the server does with an upload it spooled to disk) and streamed through a buffer.
//!    `--parse-only` stops after this part.
//! 2. End to end: the release server (child process, embedded PostgreSQL unless DATABASE_URL is
//!    set) imports the same bank.csv over HTTP: lines/s and the server's peak memory, for a
//!    100k-line prefix and for the whole file, each on a fresh server.

#[path = "support/common.rs"]
mod common;

use duizhang::bank_formats::{parse_input, Format, Input, ParseError, ParsedLine, StatementHeader, StatementSink};
use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

struct Count(u64);

impl StatementSink for Count {
    fn begin_statement(&mut self, _: &StatementHeader) -> Result<(), ParseError> {
        Ok(())
    }
    fn line(&mut self, _: ParsedLine) -> Result<(), ParseError> {
        self.0 += 1;
        Ok(())
    }
    fn end_statement(&mut self, _: &StatementHeader) -> Result<(), ParseError> {
        Ok(())
    }
}

/// Parses each file through `bank_formats::parse_input`, handed over as `input` makes it: streamed
/// through a buffer, or as a file on disk (which the server's path maps into memory for
/// camt.053, as with an upload it spooled).
fn parse_files(format: Format, files: &[std::path::PathBuf], input: fn(File) -> Input<'static>) -> (u64, u64, f64) {
    let (mut bytes, mut lines) = (0u64, 0u64);
    let start = Instant::now();
    for f in files {
        bytes += std::fs::metadata(f).unwrap().len();
        let mut sink = Count(0);
        parse_input(format, input(File::open(f).unwrap()), None, &mut sink).unwrap();
        lines += sink.0;
    }
    (bytes, lines, start.elapsed().as_secs_f64())
}

fn streamed(file: File) -> Input<'static> {
    Input::Stream(Box::new(BufReader::with_capacity(256 * 1024, file)))
}

const ACCOUNTS: [(&str, &str); 5] = [
    ("DE89370400440532013000", "EUR"),
    ("GB29NWBK60161331926819", "GBP"),
    ("DE44500105175407324931", "USD"),
    ("CN5810000000000123456789", "CNY"),
    ("GB33BUKB20201555555555", "JPY"),
];

async fn import_over_http(csv: Vec<u8>, lines: u64) -> (f64, f64, u64) {
    let server = common::Server::start();
    let client = reqwest::Client::new();
    for (iban, cur) in ACCOUNTS {
        let r = client
            .post(format!("{}/api/v1/bank-accounts", server.base))
            .bearer_auth(&server.api_key)
            .json(&serde_json::json!({"account_id": iban, "currency": cur}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let idle = server.peak_rss_mib();
    let start = Instant::now();
    let r = client
        .post(format!("{}/api/v1/bank-statements?format=csv", server.base))
        .bearer_auth(&server.api_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let imported = body["lines_imported"].as_u64().unwrap();
    assert_eq!(imported, lines);
    let _ = idle;
    (secs, server.peak_rss_mib(), imported)
}

fn main() {
    let lines: u64 = common::arg("--lines").map(|v| v.parse().unwrap()).unwrap_or(1_000_000);
    let dir = common::dataset(lines, 7);
    let csv_path = dir.join("bank.csv");
    let mut camt: Vec<_> = std::fs::read_dir(dir.join("camt053")).unwrap().map(|e| e.unwrap().path()).collect();
    camt.sort();

    // Read every file once first: the figures are the parsers' speed, not the disk's, and
    // whichever parse came first would otherwise pay for a cold page cache.
    for f in camt.iter().chain(std::iter::once(&csv_path)) {
        std::io::copy(&mut std::fs::File::open(f).unwrap(), &mut std::io::sink()).unwrap();
    }
    let (csv_bytes, csv_lines, csv_secs) = parse_files(Format::Csv, std::slice::from_ref(&csv_path), streamed);
    let (camt_bytes, camt_lines, camt_secs) = parse_files(Format::Camt053, &camt, Input::File);
    let (_, stream_lines, stream_secs) = parse_files(Format::Camt053, &camt, streamed);
    assert_eq!(stream_lines, camt_lines, "the mapped and the streaming parse disagree");
    let parser_rss = common::self_peak_rss_mib();
    let mb = |b: u64, s: f64| b as f64 / 1e6 / s;

    if std::env::args().any(|a| a == "--parse-only") {
        println!(
            "CSV {:.0} MB/s; camt.053 mapped {:.0} MB/s, streamed {:.0} MB/s; parser peak {parser_rss:.0} MiB",
            mb(csv_bytes, csv_secs),
            mb(camt_bytes, camt_secs),
            mb(camt_bytes, stream_secs)
        );
        return;
    }
    let csv = std::fs::read(&csv_path).unwrap();
    let prefix_lines = 100_000.min(csv_lines);
    // The header plus the first `prefix_lines` lines.
    let prefix: Vec<u8> = match csv.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(prefix_lines as usize) {
        Some((end, _)) => csv[..end + 1].to_vec(),
        None => csv.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (small_secs, small_rss, small_n) = runtime.block_on(import_over_http(prefix, prefix_lines));
    let (big_secs, big_rss, big_n) = runtime.block_on(import_over_http(csv, csv_lines));

    let report = format!(
        "# Bank statement ingestion ({lines} generated lines, 2 cores)\n\n\
         | measure | result |\n|---|---|\n\
         | CSV parse | {:.0} MB/s ({csv_lines} lines, {:.1} MB, {:.2} s) |\n\
         | camt.053 parse (file mapped, as the server parses a spooled upload) | {:.0} MB/s ({camt_lines} lines in {} files, {:.1} MB, {:.2} s) |\n\
         | camt.053 parse (streamed through a 256 KiB buffer) | {:.0} MB/s ({:.2} s) |\n\
         | parser peak memory (this process, both parses) | {parser_rss:.0} MiB |\n\
         | HTTP import, CSV, {small_n} lines | {:.0} lines/s ({:.2} s), server peak RSS {small_rss:.0} MiB |\n\
         | HTTP import, CSV, {big_n} lines | {:.0} lines/s ({:.2} s), server peak RSS {big_rss:.0} MiB |\n",
        mb(csv_bytes, csv_secs),
        csv_bytes as f64 / 1e6,
        csv_secs,
        mb(camt_bytes, camt_secs),
        camt.len(),
        camt_bytes as f64 / 1e6,
        camt_secs,
        mb(camt_bytes, stream_secs),
        stream_secs,
        small_n as f64 / small_secs,
        small_secs,
        big_n as f64 / big_secs,
        big_secs,
    );
    common::write_report("bench-ingest", &report);
}
