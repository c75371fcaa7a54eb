//! Tenant export (`GET /api/v1/export`) and import (`duizhang tenant import`): a tenant exported
//! over HTTP and imported into another database with another master key answers every report
//! the same, its audit chain verifies to the same head, and its secrets are sealed with the new
//! keys; a changed byte anywhere in the archive is refused and writes nothing. Who may export:
//! tests/api/bola.rs.

use crate::bola::build_world;
use crate::helpers::{spawn_app, spawn_app_on, spawn_app_with, TestApp, TestDatabase};
use diesel::RunQueryDsl;
use duizhang::domain::envelope::Key;
use duizhang::services::data_safety::{tenant_import, Keyring};
use serde_json::{json, Value};
use sha2::Digest;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_duizhang");
const IBAN: &str = "NL91ABNA0417164300";
const EMAIL: &str = "ap@schmidt-logistik.example";

pub(crate) async fn export(app: &TestApp, key: &str) -> (u16, Vec<u8>) {
    let r = app.client.get(format!("{}/api/v1/export", app.address)).bearer_auth(key).send().await.unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        assert_eq!(r.headers()["content-type"], "application/zip");
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    }
    (status, r.bytes().await.unwrap().to_vec())
}

pub(crate) fn entry(archive: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut text = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

pub(crate) fn manifest(archive: &[u8]) -> Value {
    serde_json::from_str(&entry(archive, "manifest.json")).unwrap()
}

pub(crate) fn rows(m: &Value, table: &str) -> i64 {
    m["files"].as_array().unwrap().iter().find(|f| f["table"] == table).unwrap()["rows"].as_i64().unwrap()
}

fn count(db: &TestDatabase, from_where: &str) -> i64 {
    crate::helpers::count_rows(&mut db.connect(), from_where)
}

/// Rows in every table that holds tenant data.
fn all_rows(db: &TestDatabase) -> i64 {
    duizhang::services::data_safety::tenant_archive::TABLES.iter().map(|t| count(db, t)).sum::<i64>()
        + count(db, "tenant_keys")
}

fn import_cli(url: &str, key: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    std::process::Command::new(BIN)
        .args(["tenant", "import"])
        .arg(file)
        .args(extra)
        .env("DATABASE_URL", url)
        .env("DUIZHANG_CONNECTOR_KEY", key)
        .env("DUIZHANG_DATA_DIR", data.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A customer with an account and an address, an inbound secret and a push secret (besides
/// what [`build_world`] makes); returns the two secrets.
async fn more_secrets(app: &TestApp, connector: &str) -> Vec<String> {
    let r = app
        .post(
            "/api/v1/customers",
            &json!({"code": "C3", "name": "Schmidt Logistik", "bank_accounts": [IBAN], "email": EMAIL,
                    "credit_limit": "12345.6789"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post("/api/v1/customers/C1/inbound-secret", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let inbound = r.body["secret"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/connectors/{connector}/push-secret"), &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    vec![inbound, r.body["secret"].as_str().unwrap().to_string()]
}

#[tokio::test]
async fn an_exported_tenant_imported_into_another_database_answers_the_same() {
    let app = spawn_app_with(|s| {
        s.connectors.run_worker = false;
        s.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let world = build_world(&app).await;
    let secrets = more_secrets(&app, &world.ids["connectors"]).await;
    let (status, archive) = export(&app, &app.api_key).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&archive));
    let m = manifest(&archive);
    assert_eq!(m["tenant_id"], app.tenant_id.to_string());
    assert_eq!(rows(&m, "customers"), 3);
    assert!(rows(&m, "allocations") >= 1 && rows(&m, "differences") >= 1 && rows(&m, "audit_log") >= 10);
    assert_eq!(rows(&m, "audit_log"), m["audit_head"][0].as_i64().unwrap());
    // Opened: the archive is the tenant's data in clear, not ciphertext of this instance's keys.
    let customers = entry(&archive, "customers.ndjson");
    assert!(customers.contains(EMAIL) && customers.contains(IBAN) && customers.contains("12345.6789"), "{customers}");
    assert!(entry(&archive, "inbound_secrets.ndjson").contains(secrets[0].trim_start_matches("whsec_")));
    assert!(entry(&archive, "customer_contacts.ndjson").contains("Li Na"), "contacts are exported opened");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.zip");
    std::fs::write(&file, &archive).unwrap();
    let target = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let key = Key::generate().to_base64();
    let out = import_cli(&target.url, &key, &file, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"]["customers"], 3);
    assert_eq!(report["audit_entries_checked"], m["audit_head"][0]);
    let again = import_cli(&target.url, &key, &file, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let target_key = key.clone();
    let copy = spawn_app_on(target, app.tenant_id, app.tenant_slug.clone(), app.api_key.clone(), move |s| {
        s.connector_key = Some(target_key);
        s.connectors.run_worker = false;
    })
    .await;
    compare_reports(&app, &copy).await;
    let verified = copy.get("/api/v1/audit/verify").await;
    assert_eq!(verified.body["valid"], true, "{}", verified.text);
    assert_eq!(verified.body["head_hash"], m["audit_head"][1]);
    assert_eq!(verified.body["entries_checked"], m["audit_head"][0]);
    assert_eq!(app.get("/api/v1/audit/verify").await.body["valid"], true);
    sealed_with_the_new_keys(&copy, &key, &secrets);
}

/// Every report and list of the ledger, the same in both.
async fn compare_reports(source: &TestApp, copy: &TestApp) {
    for path in [
        "/api/v1/reports/aging",
        "/api/v1/reports/collections",
        "/api/v1/reports/overdue-ranking",
        "/api/v1/customers",
        "/api/v1/customers/C1",
        "/api/v1/customers/C3",
        "/api/v1/customers/C1/balance",
        "/api/v1/customers/C1/contacts",
        "/api/v1/products",
        "/api/v1/customers/C1/statement-of-account",
        "/api/v1/customers/C1/statements",
        "/api/v1/differences",
        "/api/v1/documents",
        "/api/v1/bank-lines",
        "/api/v1/bank-accounts",
        "/api/v1/dunning-levels",
        "/api/v1/matching-settings",
    ] {
        let a = source.get(path).await;
        let b = copy.get(path).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        assert_eq!(a.body, b.body, "{path} differs after the import");
    }
    let r = copy.get("/api/v1/customers/C3").await;
    assert_eq!(r.body["email"], EMAIL, "opened with the new keys");
    assert_eq!(r.body["bank_accounts"], json!([IBAN]));
}

/// Nothing sealed with the old keys and nothing in clear: every sealed value opens with the
/// target's master key, and the customers' keyed hashes are the target's.
fn sealed_with_the_new_keys(copy: &TestApp, key: &str, secrets: &[String]) {
    let dump = crate::data_safety::dump_text(copy);
    for clear in
        [EMAIL, IBAN, "Li Na", secrets[0].trim_start_matches("whsec_"), secrets[1].trim_start_matches("whsec_")]
    {
        assert!(!dump.contains(clear), "{clear} in clear in the imported database");
    }
    let keyring = Keyring::from_keys(vec![Key::from_base64(key).unwrap()]);
    let mut conn = copy.db.connect();
    let keys = keyring.tenant(&mut conn, copy.tenant_id).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Sealed {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let texts: Vec<Sealed> = diesel::sql_query(
        "SELECT secret AS v FROM inbound_secrets UNION ALL SELECT secret FROM webhook_endpoints \
         UNION ALL SELECT email FROM customers WHERE email IS NOT NULL \
         UNION ALL SELECT unnest(bank_accounts) FROM customers UNION ALL SELECT name FROM customer_contacts",
    )
    .load(&mut conn)
    .unwrap();
    assert!(texts.len() >= 5);
    for t in &texts {
        assert!(t.v.starts_with("dz1:"), "{} not sealed", t.v);
        keys.open_text(&t.v).unwrap();
    }
    assert_eq!(copy.count("customers WHERE cardinality(bank_account_hashes) = 1"), 3);
    assert_eq!(copy.count("connector_push_secrets WHERE substring(sealed_secret from 1 for 4) = 'DZK1'"), 1);
    assert_eq!(copy.count("connectors WHERE substring(credentials from 1 for 4) = 'DZK1'"), 1);
}

/// Flips one byte of the archive at `at`.
fn flipped(archive: &[u8], at: usize) -> Vec<u8> {
    let mut bytes = archive.to_vec();
    bytes[at] ^= 0x01;
    bytes
}

/// The archive rebuilt with one row changed and a correct digest: only the manifest's file
/// hashes can tell.
fn repacked_with_a_changed_row(archive: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        if name == "customers.ndjson" {
            text = text.replacen("Customer C1", "Customer X1", 1);
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.set_comment("0".repeat(64)).unwrap();
    let mut bytes = out.finish().unwrap().into_inner();
    let n = bytes.len() - 64;
    let digest = hex::encode(sha2::Sha256::digest(&bytes[..n]));
    bytes[n..].copy_from_slice(digest.as_bytes());
    bytes
}

fn import_here(db: &TestDatabase, key: &Keyring, archive: &[u8], slug: Option<&str>) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.zip");
    std::fs::write(&file, archive).unwrap();
    let mut conn = db.connect();
    let options = tenant_import::ImportOptions { slug: slug.map(str::to_string) };
    tenant_import::import(&mut conn, key, &file, &options).map(|r| serde_json::to_value(r).unwrap()).map_err(|e| e.0)
}

#[tokio::test]
async fn a_changed_byte_anywhere_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    for code in ["C1", "C2"] {
        let r = app
            .post("/api/v1/customers", &json!({"code": code, "name": format!("Customer {code}"), "email": EMAIL}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        app.create_invoice(code, &format!("INV-{code}"), "100.00").await;
    }
    let (status, archive) = export(&app, &app.api_key).await;
    assert_eq!(status, 200);
    let target = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let keyring = Keyring::from_keys(vec![Key::generate()]);
    let empty = all_rows(&target);
    let len = archive.len();
    for at in [0, 1, 40, len / 4, len / 2, 3 * len / 4, len - 90, len - 70, len - 65, len - 64, len - 1] {
        let err = import_here(&target, &keyring, &flipped(&archive, at), None).unwrap_err();
        assert!(err.contains("damaged or was changed"), "byte {at}: {err}");
        assert_eq!(all_rows(&target), empty, "byte {at}: something was written");
    }
    let err = import_here(&target, &keyring, &repacked_with_a_changed_row(&archive), None).unwrap_err();
    assert!(err.contains("customers.ndjson: SHA-256"), "{err}");
    assert_eq!(all_rows(&target), empty, "a refused import wrote rows");
    let err = import_here(&target, &keyring, &archive[..len - 1], None).unwrap_err();
    assert!(err.contains("damaged or was changed"), "{err}");

    // The intact archive goes in; a tenant with its slug elsewhere needs --slug.
    let other = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let mut conn = other.connect();
    let existing = duizhang::services::tenants::create(&mut conn, "Test Tenant", "EUR").unwrap();
    assert_eq!(existing.slug, app.tenant_slug);
    let err = import_here(&other, &keyring, &archive, None).unwrap_err();
    assert!(err.contains("--slug"), "{err}");
    let report = import_here(&other, &keyring, &archive, Some("moved-tenant")).unwrap();
    assert_eq!(report["slug"], "moved-tenant");
    assert_eq!(count(&other, &format!("customers WHERE tenant_id = '{}'", app.tenant_id)), 2);
    let report = import_here(&target, &keyring, &archive, None).unwrap();
    assert_eq!(report["rows"]["documents"], 2);
}
