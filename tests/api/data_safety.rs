//! Data safety: secrets and customers' bank details sealed at rest (a dump of the database shows
//! none of them), rows from before sealed at start, matching still finds payers by IBAN.

use crate::helpers::{spawn_app, TestApp};
use serde_json::json;

const IBAN: &str = "DE89370400440532013000";
const EMAIL: &str = "payables@mueller-maschinenbau.example";

/// Plain-SQL dump of the test database.
pub fn dump_text(app: &TestApp) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump.sql");
    duizhang::db::pg_tools::dump_plain(&app.db.url, None, &out).expect("pg_dump");
    std::fs::read_to_string(out).unwrap()
}

/// A customer with an IBAN and an address, a webhook endpoint, an inbound secret, a connector
/// with credentials and a push secret: returns every secret in clear.
pub async fn seed_secrets(app: &TestApp) -> Vec<String> {
    let r = app
        .post(
            "/api/v1/customers",
            &json!({"code": "C1", "name": "Müller Maschinenbau", "bank_accounts": ["de89 3704 0044 0532 0130 00"], "email": EMAIL}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["bank_accounts"], json!([IBAN]));
    let r = app.post("/api/v1/webhook-endpoints", &json!({"url": "https://hooks.example.com/ar"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook_secret = r.body["secret"].as_str().unwrap().to_string();
    let endpoint = r.body["id"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/webhook-endpoints/{endpoint}/rotate-secret"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rotated = r.body["secret"].as_str().unwrap().to_string();
    let r = app.post("/api/v1/customers/C1/inbound-secret", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let inbound = r.body["secret"].as_str().unwrap().to_string();
    let api_secret = "erp-api-secret-4f1c9a";
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({
                "connector_type": "erpnext", "name": "ERP",
                "config": { "base_url": "https://erp.example.com", "page_size": 50 },
                "credentials": { "api_key": "erp-api-key-77aa", "api_secret": api_secret },
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let connector = r.body["id"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/connectors/{connector}/push-secret"), &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let push = r.body["secret"].as_str().unwrap().to_string();
    vec![webhook_secret, rotated, inbound, push, api_secret.into(), "erp-api-key-77aa".into()]
}

fn secret_body(s: &str) -> &str {
    s.strip_prefix("whsec_").unwrap_or(s)
}

#[tokio::test]
async fn a_dump_of_the_database_holds_no_secret_and_no_bank_account_in_clear() {
    let app = spawn_app().await;
    let secrets = seed_secrets(&app).await;
    let dump = dump_text(&app);
    assert!(dump.contains("tenant_keys"), "the dump is real");
    for s in &secrets {
        assert!(!dump.contains(secret_body(s)), "secret {s} in clear in the dump");
    }
    for clear in [IBAN, "0532013000", EMAIL, "mueller-maschinenbau"] {
        assert!(!dump.contains(clear), "{clear} in clear in the dump");
    }
    // Still readable through the API, and found by keyed hash.
    let r = app.get("/api/v1/customers/C1").await;
    assert_eq!(r.body["bank_accounts"], json!([IBAN]), "{}", r.text);
    assert_eq!(r.body["email"], EMAIL);
    assert_eq!(app.count("customers WHERE cardinality(bank_account_hashes) = 1"), 1);
    // The audit trail keeps a keyed hash, not the account.
    app.seal_audit();
    assert_eq!(app.count(&format!("audit_log WHERE after::text LIKE '%{IBAN}%' OR after::text LIKE '%{EMAIL}%'")), 0);
    assert_eq!(app.count("audit_log WHERE after::text LIKE '%hmac:%'"), 1);
}

#[tokio::test]
async fn a_tenant_can_keep_customer_data_in_clear_but_hashes_are_kept() {
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "INSERT INTO data_safety_settings (tenant_id, encrypt_customer_data) VALUES ('{}', false)",
        app.tenant_id
    ))
    .execute(&mut conn)
    .unwrap();
    let r = app.post("/api/v1/customers", &json!({"code": "C1", "name": "A", "bank_accounts": [IBAN]})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.count(&format!("customers WHERE bank_accounts = ARRAY['{IBAN}'] AND bank_account_hashes IS NOT NULL")),
        1
    );
}

#[tokio::test]
async fn rows_stored_in_clear_before_are_sealed_when_an_instance_starts() {
    let app = spawn_app().await;
    let secrets = seed_secrets(&app).await;
    let mut conn = app.db.connect();
    use diesel::RunQueryDsl;
    // As an older version stored them.
    diesel::sql_query(format!(
        "UPDATE customers SET bank_accounts = ARRAY['{IBAN}'], email = '{EMAIL}', bank_account_hashes = NULL"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!("UPDATE webhook_endpoints SET secret = '{}', previous_secret = NULL", secrets[1]))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(format!("UPDATE inbound_secrets SET secret = '{}'", secrets[2])).execute(&mut conn).unwrap();
    assert_eq!(app.count("customers WHERE bank_account_hashes IS NULL"), 1);
    // Readers accept both forms meanwhile.
    let r = app.get("/api/v1/customers/C1").await;
    assert_eq!(r.body["bank_accounts"], json!([IBAN]), "{}", r.text);

    let settings = duizhang::config::Settings {
        port: 0,
        database_url: Some(app.db.url.clone()),
        jwt_secret: Some(crate::helpers::TEST_JWT_SECRET.into()),
        db_pool_size: 2,
        workers: 1,
        ..duizhang::config::Settings::default()
    };
    let second = duizhang::startup::Application::build(settings, &app.db.url).expect("second instance");
    drop(second);
    assert_eq!(app.count("customers WHERE bank_account_hashes IS NULL"), 0);
    assert_eq!(app.count("customers WHERE email NOT LIKE 'dz1:%'"), 0);
    assert_eq!(app.count("webhook_endpoints WHERE secret NOT LIKE 'dz1:%'"), 0);
    assert_eq!(app.count("inbound_secrets WHERE secret NOT LIKE 'dz1:%'"), 0);
    let dump = dump_text(&app);
    assert!(!dump.contains(IBAN) && !dump.contains(secret_body(&secrets[1])));
    let r = app.get("/api/v1/customers/C1").await;
    assert_eq!(r.body["bank_accounts"], json!([IBAN]), "{}", r.text);
    assert_eq!(r.body["email"], EMAIL);
}

/// An app with its own data directory (its own master key file), for tests that rotate keys.
async fn app_with_own_keys() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = crate::helpers::spawn_app_with(move |s| s.data_dir = path).await;
    (app, dir)
}

#[tokio::test]
async fn keys_rotate_under_load_resume_after_a_crash_and_every_secret_still_opens() {
    use duizhang::services::data_safety::{key_rotation, Keyring};
    let (app, dir) = app_with_own_keys().await;
    let secrets = seed_secrets(&app).await;
    let (other, other_key) = app.create_tenant("Second");
    let _ = other;
    for i in 0..30 {
        let r = app
            .post(
                "/api/v1/customers",
                &json!({"code": format!("K{i}"), "name": format!("Kunde {i}"), "bank_accounts": [format!("DE{:020}", i)], "email": format!("k{i}@example.com")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = app
            .post_as(
                &other_key,
                "/api/v1/customers",
                &json!({"code": format!("O{i}"), "name": "O", "bank_accounts": [format!("FR{:020}", i)]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let old_master = Keyring::load(None, dir.path()).unwrap().current_master().id();

    // Requests keep coming while the rotation runs in another "process" (its own keyring).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, address, key, stop) = (app.client.clone(), app.address.clone(), app.api_key.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 20 {
                let r =
                    client.get(format!("{address}/api/v1/customers?limit=100")).bearer_auth(&key).send().await.unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                let r = client
                    .post(format!("{address}/api/v1/customers"))
                    .bearer_auth(&key)
                    .json(&json!({"code": format!("L{i}"), "name": "Load", "bank_accounts": [format!("NL{:016}", i)]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
                i += 1;
                n += 1;
            }
            n
        })
    };
    let url = app.db.url.clone();
    let data_dir = dir.path().to_path_buf();
    let (first, second) = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        // The first run dies after 2 batches: progress is in the database.
        let keys = Keyring::load(None, &data_dir).unwrap();
        let options = key_rotation::RotationOptions { rotate_data_keys: true, stop_after_batches: Some(2) };
        let first = key_rotation::rotate(&mut conn, &keys, &options).unwrap();
        drop(keys);
        // A new process resumes it.
        let keys = Keyring::load(None, &data_dir).unwrap();
        let second = key_rotation::rotate(&mut conn, &keys, &key_rotation::RotationOptions::default()).unwrap();
        (first, second)
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let requests = load.await.unwrap();
    assert!(requests >= 20);
    assert!(!first.finished && first.batches == 2, "{first:?}");
    assert!(second.resumed && second.finished && second.rotate_data_keys, "{second:?}");
    assert_eq!(second.rotation_id, first.rotation_id);
    assert!(second.values_checked.unwrap() > 60, "{second:?}");
    assert_ne!(second.master_key_id, old_master);

    // Every data key wrapped by the new master, every value sealed by the newest data key.
    assert_eq!(app.count(&format!("tenant_keys WHERE master_key_id <> '{}'", second.master_key_id)), 0);
    assert_eq!(app.count("tenant_keys WHERE version = 2"), 2);
    assert_eq!(
        app.count("customers WHERE EXISTS (SELECT 1 FROM unnest(bank_accounts) a WHERE a NOT LIKE 'dz1:2:%')"),
        0
    );
    assert_eq!(app.count("webhook_endpoints WHERE secret NOT LIKE 'dz1:2:%'"), 0);
    // The old master key left the key file; a fresh instance (new keyring) opens everything.
    let fresh = Keyring::load(None, dir.path()).unwrap();
    assert_eq!(fresh.masters().len(), 1);
    let mut conn = app.db.connect();
    assert!(key_rotation::check_all_open(&mut conn, &fresh).unwrap() > 60);
    // And the running app too: secrets, accounts, and the signed push with the inbound secret.
    let r = app.get("/api/v1/customers/K7").await;
    assert_eq!(r.body["bank_accounts"], json!([format!("DE{:020}", 7)]), "{}", r.text);
    let r = app.get("/api/v1/customers/C1").await;
    assert_eq!(r.body["email"], EMAIL);
    let dump = dump_text(&app);
    for s in &secrets {
        assert!(!dump.contains(secret_body(s)));
    }
}

/// Runs SQL on the test database.
fn sql(app: &TestApp, q: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::sql_query(q).execute(&mut conn).unwrap_or_else(|e| panic!("{q}: {e}"));
}

#[tokio::test]
async fn retention_purges_old_delivery_logs_in_batches_and_the_audit_chain_still_verifies() {
    // No worker of its own: a connector sync started meanwhile would change the counts below.
    let app = crate::helpers::spawn_app_with(|s| {
        s.webhooks.run_worker = false;
        s.connectors.run_worker = false;
    })
    .await;
    seed_secrets(&app).await;
    let t = app.tenant_id;
    // 1200 delivered events 200 days old (more than one batch), 3 recent ones, one old event
    // whose delivery is still pending, and sync logs old and new.
    sql(&app, &format!(
        "INSERT INTO outbox_events (id, tenant_id, event_type, payload, created_at, dispatched_at) \
         SELECT gen_random_uuid(), '{t}', 'difference.resolved', '{{}}', now() - interval '200 days', now() - interval '200 days' \
         FROM generate_series(1, 1200)"
    ));
    sql(&app, &format!(
        "INSERT INTO outbox_events (id, tenant_id, event_type, payload, created_at, dispatched_at) \
         SELECT gen_random_uuid(), '{t}', 'difference.resolved', '{{\"recent\": true}}', now(), now() FROM generate_series(1, 3)"
    ));
    let endpoint = "(SELECT id FROM webhook_endpoints LIMIT 1)";
    sql(&app, &format!(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, status, attempts, created_at, updated_at, delivered_at) \
         SELECT gen_random_uuid(), '{t}', {endpoint}, e.id, e.event_type, 'succeeded', 1, e.created_at, e.created_at, e.created_at FROM outbox_events e"
    ));
    sql(
        &app,
        &format!(
            "INSERT INTO webhook_attempts (id, tenant_id, delivery_id, started_at, finished_at, status_code) \
         SELECT gen_random_uuid(), '{t}', d.id, d.created_at, d.created_at, 200 FROM webhook_deliveries d"
        ),
    );
    sql(&app, &format!(
        "INSERT INTO outbox_events (id, tenant_id, event_type, payload, created_at, dispatched_at) \
         VALUES ('00000000-0000-0000-0000-00000000beef', '{t}', 'difference.resolved', '{{}}', now() - interval '200 days', now() - interval '200 days')"
    ));
    sql(&app, &format!(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES (gen_random_uuid(), '{t}', {endpoint}, '00000000-0000-0000-0000-00000000beef', 'difference.resolved', 'pending', 3, now(), now() - interval '200 days', now())"
    ));
    sql(&app, &format!(
        "INSERT INTO connector_syncs (id, tenant_id, connector_id, status, started_at, finished_at, pages, created, updated, skipped, rejected) \
         SELECT gen_random_uuid(), '{t}', (SELECT id FROM connectors LIMIT 1), 'succeeded', now() - d * interval '1 day' + interval '12 hours', now() - d * interval '1 day' + interval '12 hours', 1, 0, 0, 0, '[]' \
         FROM generate_series(1, 100) d"
    ));
    app.seal_audit();
    let audit_before = app.count("audit_log");
    assert!(audit_before > 3);

    let mut conn = app.db.connect();
    duizhang::services::data_safety::retention::put_settings(&mut conn, t, 30, true).unwrap();
    let report = duizhang::services::data_safety::retention::purge(&mut conn, chrono::Utc::now()).unwrap();
    assert_eq!(report.outbox_events, 1200, "{report:?}");
    assert_eq!(report.webhook_deliveries, 1200, "{report:?}");
    assert_eq!(report.webhook_attempts, 1200, "{report:?}");
    assert_eq!(report.connector_syncs, 70, "{report:?}");
    assert!(report.batches > 4, "in batches: {report:?}");
    assert_eq!(app.count("outbox_events"), 4, "the recent ones and the one still being delivered");
    assert_eq!(app.count("webhook_deliveries WHERE status = 'pending'"), 1);
    assert_eq!(app.count("connector_syncs"), 30);
    // Again: nothing left to purge.
    let again = duizhang::services::data_safety::retention::purge(&mut conn, chrono::Utc::now()).unwrap();
    assert_eq!((again.outbox_events, again.connector_syncs, again.webhook_attempts), (0, 0, 0));

    assert_eq!(app.count("audit_log"), audit_before, "the audit trail is never purged");
    let r = app.get("/api/v1/audit/verify").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["valid"], true, "{}", r.text);
    let r = app.get("/api/v1/webhook-endpoints").await;
    assert_eq!(r.status, 200);
}

#[test]
fn spool_files_of_dead_processes_are_swept_and_live_ones_kept() {
    use duizhang::services::data_safety::retention::{spool_file, sweep_spool};
    let dir = tempfile::tempdir().unwrap();
    // A pid far above pid_max is never running.
    let dead = dir.path().join("upload-999999999-abc");
    std::fs::write(&dead, b"half an upload").unwrap();
    let mine = dir.path().join(format!("upload-{}-xyz", std::process::id()));
    std::fs::write(&mine, b"in flight").unwrap();
    let other = dir.path().join("unrelated.txt");
    std::fs::write(&other, b"not ours").unwrap();
    assert_eq!(sweep_spool(dir.path()), 1);
    assert!(!dead.exists() && mine.exists() && other.exists());
    // The service's own spool files carry its pid and go when dropped.
    let f = spool_file().unwrap();
    let path = f.path().to_path_buf();
    assert!(path.file_name().unwrap().to_string_lossy().starts_with(&format!("upload-{}-", std::process::id())));
    drop(f);
    assert!(!path.exists());
}

/// Runs the `duizhang` binary against a database; returns (success, stdout, stderr).
fn cli(url: &str, args: &[&str]) -> (bool, String, String) {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_duizhang"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("DUIZHANG_DATA_DIR", data.path())
        .env("DUIZHANG_JWT_SECRET", crate::helpers::TEST_JWT_SECRET)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn backup_then_restore_into_an_empty_database_passes_integrity_and_audit_with_equal_counts() {
    use diesel::Connection;
    use duizhang::services::data_safety::backup;
    let app = spawn_app().await;
    seed_secrets(&app).await;
    for i in 0..5 {
        app.create_customer(&format!("B{i}")).await;
        app.create_invoice(&format!("B{i}"), &format!("INV-{i}"), "100.00").await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("duizhang.backup");
    let url = app.db.url.clone();
    let file_arg = file.to_str().unwrap().to_string();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || cli(&url, &["backup", "--out", &file_arg])).await.unwrap();
    assert!(ok, "{stderr}");
    let manifest: backup::Manifest = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest.row_counts[&app.tenant_id.to_string()]["customers"], 6);
    assert!(manifest.audit_heads.contains_key(&app.tenant_id.to_string()));
    assert!(manifest.migrations.iter().any(|m| m.contains("000022")));

    // A fresh, empty database on the same server plays the one that was lost.
    let (base, _) = app.db.url.rsplit_once('/').unwrap();
    let admin = format!("{base}/postgres");
    let name = format!("dz_restore_{}", uuid::Uuid::new_v4().simple());
    duizhang::db::ensure_database(&admin, &name).unwrap();
    let target = format!("{base}/{name}");
    let (t, f) = (target.clone(), file.to_str().unwrap().to_string());
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || cli(&t, &["restore", &f])).await.unwrap();
    assert!(ok, "{stderr}");
    let mut restored = diesel::PgConnection::establish(&target).unwrap();
    // Counts as of the backup (the live app went on: its connector synced meanwhile).
    let b = backup::describe(&mut restored).unwrap();
    assert_eq!(manifest.row_counts, b.row_counts);
    assert_eq!(manifest.audit_heads, b.audit_heads);
    for command in ["check-integrity", "verify-audit"] {
        let t = target.clone();
        let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || cli(&t, &[command])).await.unwrap();
        assert!(ok, "{command}: {stdout} {stderr}");
    }
    // Restoring over a database that has data is refused.
    let (t, f) = (target.clone(), file.to_str().unwrap().to_string());
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || cli(&t, &["restore", &f])).await.unwrap();
    assert!(!ok && stderr.contains("not empty"), "{stderr}");
    drop(restored);

    // A backup whose manifest does not match its archive is refused.
    let mut bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8_lossy(&bytes[..4000.min(bytes.len())]).to_string();
    let at = text.find("\"customers\": 6").expect("count in the manifest") + "\"customers\": ".len();
    bytes[at] = b'7';
    let tampered = dir.path().join("tampered.backup");
    std::fs::write(&tampered, bytes).unwrap();
    let name2 = format!("dz_restore_{}", uuid::Uuid::new_v4().simple());
    duizhang::db::ensure_database(&admin, &name2).unwrap();
    let e = backup::restore(&tampered, &format!("{base}/{name2}")).unwrap_err();
    assert!(e.contains("customers has 6 rows, the manifest 7"), "{e}");
    duizhang::db::drop_database(&admin, &name);
    duizhang::db::drop_database(&admin, &name2);
}

#[tokio::test]
async fn erasing_a_customer_keeps_the_ledger_balanced_and_the_audit_chain_verifying() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/customers",
            &json!({"code": "E1", "name": "Erika Mustermann", "aliases": ["E. Mustermann"], "country": "DE", "bank_accounts": [IBAN], "email": EMAIL}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.create_invoice("E1", "INV-E1", "250.00").await;
    let note = json!({"channel": "phone", "outcome": "reached", "note": "Erika says her husband pays next week"});
    let r = app.post("/api/v1/customers/E1/contact-log", &note).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before = app.get("/api/v1/customers/E1/balance").await;
    // Only an admin may erase.
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await;
    assert_eq!(viewer.status, 201, "{}", viewer.text);
    let r = app.post_as(viewer.body["api_key"].as_str().unwrap(), "/api/v1/customers/E1/erasure", &json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app.post("/api/v1/customers/E1/erasure", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "erased customer E1");
    assert_eq!(
        r.body["erased_fields"],
        json!(["aliases", "bank_accounts", "collection_notes", "country", "email", "name"])
    );
    // The collectors' note about her is gone; the contact itself (date, outcome) stays.
    assert_eq!(app.count("contact_log WHERE note IS NULL AND outcome = 'reached'"), 1);
    assert_eq!(app.count("contact_log WHERE note LIKE '%Erika%'"), 0);
    let c = app.get("/api/v1/customers/E1").await;
    assert_eq!(c.body["name"], "erased customer E1");
    assert_eq!(c.body["bank_accounts"], json!([]));
    assert!(c.body["email"].is_null() && c.body["country"].is_null());
    let after = app.get("/api/v1/customers/E1/balance").await;
    assert_eq!(before.body["balances"], after.body["balances"], "the ledger is untouched");
    assert_eq!(app.count("customers WHERE name LIKE '%Mustermann%' OR bank_account_hashes <> '{}'"), 0);
    // Erasing again adds nothing; unknown customers are 404.
    let again = app.post("/api/v1/customers/E1/erasure", &json!({})).await;
    assert_eq!(again.body["erased_fields"], json!([]));
    assert_eq!(app.post("/api/v1/customers/NOPE/erasure", &json!({})).await.status, 404);
    app.seal_audit();
    assert_eq!(app.count("audit_log WHERE action = 'customer.erased'"), 1);
    let r = app.get("/api/v1/audit/verify").await;
    assert_eq!(r.body["valid"], true, "{}", r.text);
}
