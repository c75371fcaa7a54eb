//! `duizhang demo`: the demo tenant on a fresh database has data for every capability, seen over
//! HTTP with the key it prints; the command prints the key and the URLs.

use crate::helpers::{spawn_app, TestApp, TestDatabase};
use serde_json::Value;

async fn items(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let r = app.get_as(key, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_else(|| r.body.as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn the_demo_tenant_has_data_for_every_capability() {
    let app = spawn_app().await;
    let url = app.db.url.clone();
    let today = chrono::Utc::now().date_naive();
    let demo = tokio::task::spawn_blocking(move || {
        let settings = duizhang::config::Settings::default();
        let keys = duizhang::services::data_safety::Keyring::load(None, &settings.data_dir).unwrap();
        duizhang::demo::seed(&url, &keys, today)
    })
    .await
    .unwrap()
    .unwrap();
    let key = demo.api_key.as_str();

    // Customers with Chinese and with European names.
    let customers = items(&app, key, "/api/v1/customers?limit=200").await;
    assert_eq!(customers.len(), demo.customers);
    let names: Vec<&str> = customers.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.iter().any(|n| n.contains("有限公司")), "{names:?}");
    assert!(names.iter().filter(|n| n.is_ascii()).count() > 5, "{names:?}");

    // Invoices, credit notes and payments; some overdue invoices still open.
    for doc_type in ["invoice", "credit_note", "payment"] {
        let docs = items(&app, key, &format!("/api/v1/documents?doc_type={doc_type}&limit=5")).await;
        assert!(!docs.is_empty(), "no {doc_type}");
    }
    let overdue = items(&app, key, &format!("/api/v1/documents?open_only=true&due_before={today}&limit=5")).await;
    assert!(!overdue.is_empty());

    // A camt.053 and MT940 statements, every line of them imported.
    let formats: Vec<&str> = demo.bank_statements.iter().map(|(f, _)| f.as_str()).collect();
    assert!(formats.contains(&"camt053") && formats.contains(&"mt940"), "{formats:?}");
    assert_eq!(app.count("bank_statements WHERE format = 'camt053'"), 1);
    assert!(app.count("bank_statements WHERE format = 'mt940'") >= 1);
    assert_eq!(app.count("bank_lines") as u64, demo.bank_lines);
    assert!(demo.bank_lines >= 120);

    // Cash application: most lines applied, some proposals left for a person to review.
    let run = app.get_as(key, &format!("/api/v1/reconciliations/{}", demo.run_id)).await;
    assert_eq!(run.body["status"], "completed", "{}", run.text);
    assert!(demo.auto_applied > 80, "{demo:?}");
    let proposals = items(&app, key, "/api/v1/allocations?state=proposed&limit=100").await;
    assert!(!proposals.is_empty() && demo.proposed > 0, "{demo:?}");

    // Customer statements with differences, each pushed to the webhook endpoint.
    let differences = items(&app, key, "/api/v1/differences?limit=100").await;
    assert_eq!(differences.len(), demo.differences);
    assert!(!differences.is_empty());
    let kinds: std::collections::HashSet<&str> = differences.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 2, "{kinds:?}");
    let endpoints = items(&app, key, "/api/v1/webhook-endpoints").await;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["url"], duizhang::demo::WEBHOOK_URL);
    // The outbox is turned into deliveries by the running app's worker.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let path = format!("/api/v1/webhook-endpoints/{}/deliveries?limit=200", demo.webhook_endpoint);
        let deliveries = items(&app, key, &path).await;
        if deliveries.iter().any(|d| d["event_type"] == "difference.created") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no difference.created delivery: {deliveries:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Dunning: customers at a level, with the action that put them there.
    assert!(demo.dunning_actions > 0);
    let dunned =
        app.count(&format!("customer_dunning WHERE tenant_id = '{}' AND level_code IS NOT NULL", demo.tenant_id));
    assert!(dunned > 0);

    // The statement of account of the showcase customer as a PDF whose text extracts.
    let code = &demo.showcase_customer;
    let customer = app.get_as(key, &format!("/api/v1/customers/{code}")).await;
    let name = customer.body["name"].as_str().unwrap().to_string();
    assert!(
        name.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "the showcase customer has a Chinese name: {name}"
    );
    let pdf = app
        .client
        .get(format!("{}/api/v1/customers/{code}/statement-of-account?format=pdf", app.address))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let bytes = pdf.bytes().await.unwrap();
    let text = crate::exports::pdf_text(&bytes, None);
    for needle in [name.as_str(), code.as_str(), duizhang::demo::TENANT_NAME, "Opening balance", "Page 1 of"] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }

    // The viewers the printout points to answer.
    for path in ["/api/v1/docs/", "/graphql"] {
        let r = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let text = duizhang::demo::instructions(&demo, &app.address);
    for needle in [key, "/api/v1/docs/", "/graphql", "statement-of-account?format=pdf", code.as_str()] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn the_demo_command_prints_the_key_and_the_urls() {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let out = tokio::task::spawn_blocking({
        let url = db.url.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_duizhang"))
                .args(["demo", "--no-serve"])
                .env("DATABASE_URL", url)
                .env("DUIZHANG_PORT", "18080")
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let key = stdout.lines().find_map(|l| l.trim().strip_prefix("API key: ")).expect("the key is printed");
    assert!(key.starts_with("dz_"), "{stdout}");
    for url in
        ["http://127.0.0.1:18080/api/v1/docs/", "http://127.0.0.1:18080/graphql", "statement-of-account?format=pdf"]
    {
        assert!(stdout.contains(url), "{url} missing:\n{stdout}");
    }
    // The key printed is the demo tenant's admin key (keys are stored as their SHA-256).
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let mut conn = db.connect();
    let n: i64 = diesel::RunQueryDsl::get_result::<Count>(
        diesel::sql_query(
            "SELECT count(*) AS n FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE t.name = $1 AND k.key_hash = $2 AND k.role = 'admin'",
        )
        .bind::<diesel::sql_types::Text, _>(duizhang::demo::TENANT_NAME)
        .bind::<diesel::sql_types::Text, _>(hash),
        &mut conn,
    )
    .unwrap()
    .n;
    assert_eq!(n, 1, "{stdout}");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
