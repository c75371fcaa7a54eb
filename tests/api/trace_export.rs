//! OpenTelemetry trace export of the real binary: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the
//! request spans reach a collector as OTLP/HTTP protobuf (`POST /v1/traces`), flushed at the
//! latest when the process stops. Protobuf strings are raw UTF-8, so the route pattern, the
//! request id, the tenant and the service name are found in the body as they are.

use crate::helpers::{TestDatabase, TEST_JWT_SECRET};
use diesel::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Requests a collector received: (request line, content type, body).
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A collector that answers 200 to every request and keeps it.
async fn start_collector() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let received: Received = Arc::default();
    let kept = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                // Keep-alive: several requests may come on one connection.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16384];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                            })
                            .unwrap_or_default()
                    };
                    let length: usize = header("content-length").parse().unwrap_or(0);
                    while buf.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end + 4..end + 4 + length].to_vec();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    kept.lock().unwrap().push((line, header("content-type"), body));
                    buf.drain(..end + 4 + length);
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn request_spans_are_exported_over_otlp_http_when_an_endpoint_is_set() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let mut conn = db.connect();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Traced", "EUR")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (collector, received) = start_collector().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_duizhang"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DUIZHANG_DATA_DIR", data.path())
        .env("DUIZHANG_JWT_SECRET", TEST_JWT_SECRET)
        .env("DUIZHANG_PORT", port.to_string())
        .env("DUIZHANG_DRAIN_SECONDS", "0")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
        .env("OTEL_SERVICE_NAME", "duizhang-under-test")
        // Logs off: the spans are exported whatever the log filter says.
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[traced] {line}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = client
        .get(format!("{base}/api/v1/customers/NOPE-7"))
        .bearer_auth(&tenant.api_key)
        .header("X-Request-Id", "trace-me-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // SIGTERM: the batch still queued is sent before the process exits.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status}");

    let received = received.lock().unwrap().clone();
    let (line, content_type, body) = received
        .iter()
        .find(|(_, _, body)| contains(body, "trace-me-4711"))
        .unwrap_or_else(|| panic!("no span of the request among {} requests", received.len()));
    assert_eq!(line, "POST /v1/traces HTTP/1.1");
    assert_eq!(content_type, "application/x-protobuf");
    for expected in [
        "/api/v1/customers/{code}",
        "GET /api/v1/customers/{code}",
        "duizhang-under-test",
        &tenant.tenant_id.to_string(),
    ] {
        assert!(contains(body, expected), "{expected:?} not in the exported spans");
    }
    assert!(!contains(body, "NOPE-7"), "the raw path is not exported");
}
