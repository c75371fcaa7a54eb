//! Connectors against a local fixture server: ERPNext-shaped JSON with paging and `modified`
//! filters, and a bank file URL with ETags.

use crate::connector_fixtures::{self, spawn_connector_app, sync_now, wait_syncs};
use crate::helpers::{spawn_app_with, TestApp};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const API_KEY: &str = "erp-key-1";
const API_SECRET: &str = "s3cr3t-erp-value-42";

#[derive(Default)]
struct Erp {
    customers: Vec<Value>,
    invoices: Vec<Value>,
    payments: Vec<Value>,
    /// Filters of the Payment Entry requests.
    payment_filters: Vec<String>,
    /// Answer every request with this status instead (401, 500, ...).
    fail_with: Option<u16>,
    /// The n-th Sales Invoice request (1-based) gets a broken JSON body.
    malformed_invoice_request: Option<usize>,
    invoice_requests: usize,
    /// Query strings of the Sales Invoice requests and the rows answered.
    invoice_log: Vec<(String, usize)>,
    file: Vec<u8>,
    etag: String,
    /// If-None-Match of each file request.
    file_log: Vec<Option<String>>,
}

type Shared = Arc<Mutex<Erp>>;

fn fixture(name: &str) -> Vec<Value> {
    connector_fixtures::fixture("erpnext", name)["data"].as_array().unwrap().clone()
}

fn modified(v: &Value) -> (String, String) {
    (v["modified"].as_str().unwrap().to_string(), v["name"].as_str().unwrap().to_string())
}

async fn resource(req: HttpRequest, doctype: web::Path<String>, state: web::Data<Shared>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    if let Some(code) = s.fail_with {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body("{}");
    }
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("token {API_KEY}:{API_SECRET}") {
        return HttpResponse::Unauthorized().json(json!({"exc_type": "AuthenticationError"}));
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let filters: Vec<Vec<Value>> = serde_json::from_str(&get("filters").unwrap_or("[]".into())).unwrap();
    let start: usize = get("limit_start").unwrap_or("0".into()).parse().unwrap();
    let len: usize = get("limit_page_length").unwrap_or("20".into()).parse().unwrap();
    let rows = match doctype.as_str() {
        "Customer" => s.customers.clone(),
        "Sales Invoice" => {
            s.invoice_requests += 1;
            if s.malformed_invoice_request == Some(s.invoice_requests) {
                return HttpResponse::Ok().content_type("application/json").body(r#"{"data":[{"name":"ACC-"#);
            }
            s.invoices.clone()
        }
        "Payment Entry" => {
            s.payment_filters.push(get("filters").unwrap_or_default());
            s.payments.clone()
        }
        _ => return HttpResponse::NotFound().finish(),
    };
    let mut rows: Vec<Value> = rows
        .into_iter()
        .filter(|r| {
            filters.iter().all(|f| {
                if f[0] != "modified" {
                    return true;
                }
                let m = r["modified"].as_str().unwrap();
                let v = f[2].as_str().unwrap();
                match f[1].as_str().unwrap() {
                    ">" => m > v,
                    ">=" => m >= v,
                    op => panic!("operator {op}"),
                }
            })
        })
        .collect();
    rows.sort_by_key(modified);
    let page: Vec<Value> = rows.into_iter().skip(start).take(len).collect();
    if doctype.as_str() == "Sales Invoice" {
        s.invoice_log.push((req.query_string().to_string(), page.len()));
    }
    HttpResponse::Ok().json(json!({ "data": page }))
}

async fn bank_file(req: HttpRequest, state: web::Data<Shared>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let inm = req.headers().get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
    s.file_log.push(inm.clone());
    if inm.as_deref() == Some(s.etag.as_str()) {
        return HttpResponse::NotModified().finish();
    }
    HttpResponse::Ok().insert_header(("ETag", s.etag.clone())).content_type("application/xml").body(s.file.clone())
}

/// Starts the fixture server; returns its base URL.
fn serve(state: Shared) -> String {
    connector_fixtures::serve(move |cfg| {
        cfg.app_data(web::Data::new(state.clone()))
            .route("/api/resource/{doctype}", web::get().to(resource))
            .route("/files/statement.xml", web::get().to(bank_file));
    })
}

async fn create_erpnext(app: &TestApp, base: &str, secret: &str, page_size: u32) -> Value {
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({
                "connector_type": "erpnext", "name": "Our ERPNext",
                "config": { "base_url": base, "page_size": page_size },
                "credentials": { "api_key": API_KEY, "api_secret": secret },
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[tokio::test]
async fn erpnext_pages_incrementally_and_keeps_credentials_secret() {
    let app = spawn_connector_app().await;
    let state: Shared = Arc::new(Mutex::new(Erp {
        customers: fixture("customers.json"),
        invoices: fixture("sales_invoices.json"),
        ..Erp::default()
    }));
    let base = serve(state.clone());
    let created = create_erpnext(&app, &base, API_SECRET, 2).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["has_credentials"], true);
    assert!(created.get("credentials").is_none());

    let syncs = wait_syncs(&app, &id, 1).await;
    let s = &syncs[0];
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 7, "2 customers and 5 documents: {s}");
    assert_eq!(app.count("customers WHERE code IN ('CUST-0001', 'CUST-0002')"), 2);
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 5);
    assert_eq!(
        app.count("documents WHERE doc_type = 'credit_note' AND doc_no = 'ACC-SINV-RET-2026-00001' AND amount = 190"),
        1
    );
    assert_eq!(app.count("documents WHERE doc_no = 'ACC-SINV-2026-00004' AND amount = 1000"), 1);
    // Paging: three requests of at most 2 rows; the two invoices sharing a `modified` are both in.
    let log = state.lock().unwrap().invoice_log.clone();
    assert_eq!(log.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [2, 2, 1], "{log:?}");

    let c = app.get(&format!("/api/v1/connectors/{id}")).await;
    assert_eq!(c.body["cursor"]["invoices"]["modified"], "2026-10-05 10:30:00.000000", "{}", c.text);
    assert_eq!(c.body["last_status"], "succeeded");

    // Incremental: the second sync only asks for newer records and imports only the new one.
    state.lock().unwrap().invoices.extend(fixture("sales_invoices_newer.json"));
    state.lock().unwrap().invoice_log.clear();
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 2).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    assert_eq!(syncs[0]["created"], 1, "{}", syncs[0]);
    assert_eq!(syncs[0]["updated"], 0, "{}", syncs[0]);
    let log = state.lock().unwrap().invoice_log.clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].1, 1);
    assert!(log[0].0.contains("2026-10-05+10%3A30%3A00.000000"), "{}", log[0].0);
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 6);

    // The secret is nowhere in an answer, and stored encrypted.
    for path in [
        format!("/api/v1/connectors/{id}"),
        "/api/v1/connectors".into(),
        format!("/api/v1/connectors/{id}/syncs"),
        "/api/v1/audit?limit=500".into(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(!r.text.contains(API_SECRET), "{path} leaks the secret");
        assert!(!r.text.contains(API_KEY), "{path} leaks the key");
    }
    assert_eq!(app.count("connectors WHERE credentials IS NOT NULL"), 1);
    assert_eq!(
        app.count(&format!(
            "connectors WHERE position(convert_to('{API_SECRET}', 'UTF8') in credentials) > 0 \
             OR position(convert_to('{API_KEY}', 'UTF8') in credentials) > 0"
        )),
        0
    );
    assert_eq!(app.count("audit_trail WHERE action = 'connector.created'"), 1);

    // Tenant isolation.
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, &format!("/api/v1/connectors/{id}")).await.status, 404);
    assert_eq!(app.get_as(&other, &format!("/api/v1/connectors/{id}/syncs")).await.status, 404);
    assert_eq!(app.post_as(&other, &format!("/api/v1/connectors/{id}/sync"), &json!({})).await.status, 404);
    let list = app.get_as(&other, "/api/v1/connectors").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0, "{}", list.text);
    let r = app.send("DELETE", &format!("/api/v1/connectors/{id}"), Some(&other), None, &[]).await;
    assert_eq!(r.status, 404);

    // Delete keeps the imported data.
    let r = app.send("DELETE", &format!("/api/v1/connectors/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/connectors/{id}")).await.status, 404);
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 6);
}

#[tokio::test]
async fn erpnext_failures_are_recorded_and_retried_with_backoff() {
    let app = spawn_connector_app().await;
    let state: Shared = Arc::new(Mutex::new(Erp {
        customers: fixture("customers.json"),
        invoices: fixture("sales_invoices.json"),
        ..Erp::default()
    }));
    let base = serve(state.clone());
    // Wrong secret: 401, recorded, not retried within the sync.
    let created = create_erpnext(&app, &base, "wrong-secret", 100).await;
    let id = created["id"].as_str().unwrap().to_string();
    let syncs = wait_syncs(&app, &id, 1).await;
    assert_eq!(syncs[0]["status"], "failed", "{}", syncs[0]);
    assert!(syncs[0]["error"].as_str().unwrap().contains("401"), "{}", syncs[0]);
    let c = app.get(&format!("/api/v1/connectors/{id}")).await.body;
    assert_eq!(c["consecutive_failures"], 1);
    let next: chrono::DateTime<chrono::Utc> = c["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::seconds(30), "backoff: {next}");
    assert_eq!(app.count("documents"), 0);

    // The right secret, but the server fails: 500 after the retries.
    let r = app
        .patch_as(
            &app.api_key,
            &format!("/api/v1/connectors/{id}"),
            &json!({ "credentials": { "api_key": API_KEY, "api_secret": API_SECRET } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains(API_SECRET));
    state.lock().unwrap().fail_with = Some(500);
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 2).await;
    assert_eq!(syncs[0]["status"], "failed", "{}", syncs[0]);
    assert!(syncs[0]["error"].as_str().unwrap().contains("500"), "{}", syncs[0]);
    let c = app.get(&format!("/api/v1/connectors/{id}")).await.body;
    assert_eq!(c["consecutive_failures"], 2);

    // Recovery.
    state.lock().unwrap().fail_with = None;
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 3).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    let c = app.get(&format!("/api/v1/connectors/{id}")).await.body;
    assert_eq!(c["consecutive_failures"], 0);
    assert_eq!(c["last_error"], Value::Null);
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 5);
}

#[tokio::test]
async fn malformed_page_is_not_written_and_the_sync_resumes() {
    let app = spawn_connector_app().await;
    let state: Shared = Arc::new(Mutex::new(Erp {
        customers: fixture("customers.json"),
        invoices: fixture("sales_invoices.json"),
        malformed_invoice_request: Some(2),
        ..Erp::default()
    }));
    let base = serve(state.clone());
    let created = create_erpnext(&app, &base, API_SECRET, 2).await;
    let id = created["id"].as_str().unwrap().to_string();
    let syncs = wait_syncs(&app, &id, 1).await;
    let s = &syncs[0];
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("malformed JSON"), "{s}");
    // The customers page and the first invoice page were committed, nothing of the broken one.
    assert_eq!(s["pages"], 2, "{s}");
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 2);
    let c = app.get(&format!("/api/v1/connectors/{id}")).await.body;
    assert_eq!(c["cursor"]["invoices"]["modified"], "2026-10-03 09:00:00.000000", "{c}");

    // The next sync resumes after the committed page: no duplicates, nothing refetched twice.
    state.lock().unwrap().invoice_log.clear();
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 2).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    assert_eq!(syncs[0]["created"], 3, "{}", syncs[0]);
    assert_eq!(app.count("documents WHERE source_system = 'erpnext'"), 5);
}

#[tokio::test]
async fn bank_file_connector_imports_once_and_skips_unchanged_files() {
    let app = spawn_connector_app().await;
    for account in ["DE89370400440532013000", "0532013001"] {
        let r = app.post("/api/v1/bank-accounts", &json!({"account_id": account, "currency": "EUR"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camt053_v02.xml")).unwrap();
    let state: Shared = Arc::new(Mutex::new(Erp { file, etag: "\"v1\"".into(), ..Erp::default() }));
    let base = serve(state.clone());
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({
                "connector_type": "bank_file", "name": "Bank SFTP gateway",
                "config": { "url": format!("{base}/files/statement.xml") },
                "credentials": { "bearer_token": "bank-token-xyz" },
                "schedule_seconds": 900,
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(!r.text.contains("bank-token-xyz"));
    let id = r.body["id"].as_str().unwrap().to_string();
    let syncs = wait_syncs(&app, &id, 1).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    let lines = app.count("bank_lines");
    assert!(lines > 0);
    assert_eq!(syncs[0]["created"], lines, "{}", syncs[0]);

    // Unchanged: a conditional request answered 304, nothing imported.
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 2).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    assert_eq!(syncs[0]["pages"], 0, "{}", syncs[0]);
    assert_eq!(state.lock().unwrap().file_log[1].as_deref(), Some("\"v1\""));

    // Forgetting the cursor downloads the same file again: the import skips every line.
    let r = app.patch_as(&app.api_key, &format!("/api/v1/connectors/{id}"), &json!({ "reset_cursor": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    sync_now(&app, &id).await;
    let syncs = wait_syncs(&app, &id, 3).await;
    assert_eq!(syncs[0]["status"], "succeeded", "{}", syncs[0]);
    assert_eq!(syncs[0]["created"], 0, "{}", syncs[0]);
    assert_eq!(syncs[0]["skipped"], lines, "{}", syncs[0]);
    assert_eq!(app.count("bank_lines"), lines, "no duplicates");
    assert_eq!(app.count("bank_statements"), 2);
}

#[tokio::test]
async fn connector_validation_and_permissions() {
    let app = spawn_app_with(|s| s.connectors.run_worker = false).await;
    // Private targets are refused unless the tenant allows them.
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({ "connector_type": "erpnext", "name": "x", "config": { "base_url": "http://127.0.0.1:9" },
                     "credentials": { "api_key": "a", "api_secret": "b" } }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({ "connector_type": "erpnext", "name": "x", "config": { "base_url": "https://erp.example.com" } }),
        )
        .await;
    assert_eq!(r.status, 422, "credentials are required: {}", r.text);
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({ "connector_type": "erpnext", "name": "x", "config": { "base_url": "https://erp.example.com" },
                     "credentials": { "api_key": "a", "api_secret": "b" }, "schedule_seconds": 5 }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({ "connector_type": "erpnext", "name": "x", "config": { "base_url": "https://erp.example.com/" },
                     "credentials": { "api_key": "a", "api_secret": "b" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["config"]["base_url"], "https://erp.example.com");
    assert_eq!(r.body["config"]["page_size"], 100);
    let id = r.body["id"].as_str().unwrap().to_string();

    // Viewers see connectors but cannot manage them.
    let k = app.post("/api/v1/api-keys", &json!({ "name": "viewer", "role": "viewer" })).await;
    assert_eq!(k.status, 201, "{}", k.text);
    let viewer = k.body["api_key"].as_str().unwrap().to_string();
    assert_eq!(app.get_as(&viewer, &format!("/api/v1/connectors/{id}")).await.status, 200);
    assert_eq!(app.get_as(&viewer, &format!("/api/v1/connectors/{id}/syncs")).await.status, 200);
    assert_eq!(app.post_as(&viewer, &format!("/api/v1/connectors/{id}/sync"), &json!({})).await.status, 403);
    let r = app.patch_as(&viewer, &format!("/api/v1/connectors/{id}"), &json!({ "enabled": false })).await;
    assert_eq!(r.status, 403, "{}", r.text);

    // Disabled connectors are not synced on request.
    let r = app.patch_as(&app.api_key, &format!("/api/v1/connectors/{id}"), &json!({ "enabled": false })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(app.post(&format!("/api/v1/connectors/{id}/sync"), &json!({})).await.status, 409);
    // Unknown config fields are mapping mistakes.
    let r = app
        .patch_as(
            &app.api_key,
            &format!("/api/v1/connectors/{id}"),
            &json!({ "config": { "base_url": "https://erp.example.com", "pagesize": 5 } }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
}

#[tokio::test]
async fn two_workers_sync_a_connector_once_and_unknown_customers_are_rejected_records() {
    let app = spawn_connector_app().await;
    // A second server process on the same database, with its own scheduler.
    let mut settings = duizhang::config::Settings {
        port: 0,
        database_url: Some(app.db.url.clone()),
        jwt_secret: Some(crate::helpers::TEST_JWT_SECRET.into()),
        db_pool_size: 2,
        workers: 1,
        ..duizhang::config::Settings::default()
    };
    settings.connectors.poll_interval = Duration::from_millis(20);
    let second = duizhang::startup::Application::build(settings, &app.db.url).expect("second app builds");
    tokio::spawn(second.run_until_stopped());

    app.create_customer("CUST-0001").await;
    let state: Shared = Arc::new(Mutex::new(Erp { invoices: fixture("sales_invoices.json"), ..Erp::default() }));
    let base = serve(state.clone());
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({
                "connector_type": "erpnext", "name": "Invoices only",
                "config": { "base_url": base, "page_size": 2, "sync_customers": false },
                "credentials": { "api_key": API_KEY, "api_secret": API_SECRET },
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let syncs = wait_syncs(&app, &id, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let syncs_after = app.get(&format!("/api/v1/connectors/{id}/syncs")).await.body["items"].as_array().unwrap().len();
    assert_eq!(syncs_after, 1, "one sync, not one per worker");
    assert_eq!(state.lock().unwrap().invoice_log.len(), 3, "each page fetched once");
    let s = &syncs[0];
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 3, "{s}");
    assert_eq!(s["skipped"], 2, "{s}");
    let rejected: Vec<&str> = s["rejected"].as_array().unwrap().iter().map(|r| r["record"].as_str().unwrap()).collect();
    assert_eq!(rejected, ["ACC-SINV-2026-00002", "ACC-SINV-2026-00004"], "{s}");
}

/// ERPNext through the scenario every connector must survive: wrong credentials, persistent
/// 500s, a 500 then the data, a server slower than the timeout, then recovery.
#[tokio::test]
async fn erpnext_auth_failures_server_errors_timeouts_and_recovery() {
    let app = spawn_connector_app().await;
    let faults = connector_fixtures::SharedFaults::default();
    let served = faults.clone();
    let base = connector_fixtures::serve(move |cfg| {
        let faults = served.clone();
        cfg.route(
            "/api/resource/{doctype}",
            web::get().to(move |req: HttpRequest, doctype: web::Path<String>| {
                let faults = faults.clone();
                async move {
                    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    if auth != format!("token {API_KEY}:{API_SECRET}") {
                        return HttpResponse::Unauthorized().json(json!({"exc_type": "AuthenticationError"}));
                    }
                    if let Some(answer) = connector_fixtures::intercept(&faults).await {
                        return answer;
                    }
                    let first_page = req.query_string().contains("limit_start=0");
                    let rows = match (doctype.as_str(), first_page) {
                        ("Customer", true) => fixture("customers.json"),
                        ("Sales Invoice", true) => fixture("sales_invoices.json"),
                        _ => vec![],
                    };
                    HttpResponse::Ok().json(json!({ "data": rows }))
                }
            }),
        );
    });
    let id = connector_fixtures::create_connector(
        &app,
        json!({"connector_type": "erpnext", "name": "ERP", "config": {"base_url": base, "page_size": 1000},
               "credentials": {"api_key": API_KEY, "api_secret": "wrong"}}),
    )
    .await;
    connector_fixtures::failures_then_recovery(
        &app,
        &id,
        &faults,
        json!({"api_key": API_KEY, "api_secret": API_SECRET}),
    )
    .await;
}

/// The bank file connector through the same scenario.
#[tokio::test]
async fn bank_file_auth_failures_server_errors_timeouts_and_recovery() {
    let app = spawn_connector_app().await;
    for account in ["DE89370400440532013000", "0532013001"] {
        let r = app.post("/api/v1/bank-accounts", &json!({"account_id": account, "currency": "EUR"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camt053_v02.xml")).unwrap();
    let faults = connector_fixtures::SharedFaults::default();
    let served = faults.clone();
    let base = connector_fixtures::serve(move |cfg| {
        let (faults, file) = (served.clone(), file.clone());
        cfg.route(
            "/export/latest.xml",
            web::get().to(move |req: HttpRequest| {
                let (faults, file) = (faults.clone(), file.clone());
                async move {
                    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    if auth != "Bearer bank-token" {
                        return HttpResponse::Unauthorized().finish();
                    }
                    if let Some(answer) = connector_fixtures::intercept(&faults).await {
                        return answer;
                    }
                    HttpResponse::Ok().content_type("application/xml").body(file)
                }
            }),
        );
    });
    let id = connector_fixtures::create_connector(
        &app,
        json!({"connector_type": "bank_file", "name": "Bank", "config": {"url": format!("{base}/export/latest.xml")},
               "credentials": {"bearer_token": "stale-token"}}),
    )
    .await;
    connector_fixtures::failures_then_recovery(&app, &id, &faults, json!({"bearer_token": "bank-token"})).await;
}

/// Payments received from customers come in as payment documents, incrementally like invoices.
#[tokio::test]
async fn erpnext_pulls_received_payments_incrementally() {
    let app = spawn_connector_app().await;
    let mut payments = fixture("payment_entries.json");
    let newer = payments.pop().unwrap();
    let state: Shared = Arc::new(Mutex::new(Erp { customers: fixture("customers.json"), payments, ..Erp::default() }));
    let base = serve(state.clone());
    let id = create_erpnext(&app, &base, API_SECRET, 100).await["id"].as_str().unwrap().to_string();
    let s = &wait_syncs(&app, &id, 1).await[0];
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 4, "2 customers and 2 payments: {s}");
    assert_eq!(
        app.count(
            "documents WHERE doc_type = 'payment' AND doc_no = 'ACC-PAY-2026-00001' AND amount = 1190 \
             AND external_reference = 'SEPA-4711' AND source_system = 'erpnext'"
        ),
        1
    );
    assert_eq!(
        app.count("documents WHERE doc_no = 'ACC-PAY-2026-00002' AND external_reference = 'ACC-PAY-2026-00002'"),
        1
    );
    // Only submitted money received from customers is asked for.
    let filters = state.lock().unwrap().payment_filters[0].clone();
    for f in [r#"["docstatus","=",1]"#, r#"["payment_type","=","Receive"]"#, r#"["party_type","=","Customer"]"#] {
        assert!(filters.contains(f), "{f} in {filters}");
    }

    state.lock().unwrap().payments.push(newer);
    sync_now(&app, &id).await;
    let s = &wait_syncs(&app, &id, 2).await[0];
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 1, "only the newer payment: {s}");
    assert_eq!(app.count("documents WHERE doc_type = 'payment'"), 3);
    let c = app.get(&format!("/api/v1/connectors/{id}")).await;
    assert_eq!(c.body["cursor"]["payments"]["modified"], "2026-10-20 09:00:00.000000", "{}", c.text);
}
