//! Test harness: one PostgreSQL server per test process (DATABASE_URL, or the embedded cluster
//! under target/), a migrated template database, and a fresh database cloned from it for every
//! test, so tests run in parallel without seeing each other's rows. Each test starts a real app
//! on a free port and talks to it over HTTP.

use diesel::prelude::*;
use diesel::sql_types::Text;
use duizhang::config::Settings;
use duizhang::embedded_postgres::{EmbeddedPostgres, EmbeddedPostgresConfig};
use duizhang::startup::Application;
use serde_json::Value;
use std::sync::{Mutex, OnceLock};
use uuid::Uuid;

struct TestServer {
    /// URL of the maintenance database on the server (`.../postgres`).
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static EMBEDDED: Mutex<Option<EmbeddedPostgres>> = Mutex::new(None);

extern "C" fn stop_embedded_cluster() {
    if let Ok(mut guard) = EMBEDDED.lock() {
        if let Some(mut cluster) = guard.take() {
            let _ = cluster.stop();
        }
    }
}

fn url_with_database(server_url: &str, database: &str) -> String {
    // postgres://user@host:port/db?params -> same with another db
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut url = format!("{}/{}", &base[..path_start], database);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        let admin_url = match std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) {
            Some(url) => url_with_database(&url, "postgres"),
            None => {
                let data_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-postgres");
                let cluster = EmbeddedPostgres::start(EmbeddedPostgresConfig { data_dir, fast_unsafe: true })
                    .expect("embedded PostgreSQL for tests");
                let url = cluster.database_url("postgres");
                *EMBEDDED.lock().unwrap() = Some(cluster);
                unsafe { libc::atexit(stop_embedded_cluster) };
                url
            }
        };
        // One template per migration set: a changed migration gets a fresh template.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
            let path = entry.unwrap().path();
            std::hash::Hash::hash(&path.file_name(), &mut hasher);
            std::hash::Hash::hash(&std::fs::read(path.join("up.sql")).unwrap_or_default(), &mut hasher);
        }
        let template = format!("dz_template_{:016x}", std::hash::Hasher::finish(&hasher));
        let mut conn = PgConnection::establish(&admin_url).expect("connect to the test server");
        // Several test processes may race to build the template: serialise on an advisory lock.
        diesel::sql_query("SELECT pg_advisory_lock(7419)").execute(&mut conn).unwrap();
        if !database_exists(&mut conn, &template) {
            let building = format!("{template}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}")).execute(&mut conn).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut conn).unwrap();
            let mut t = PgConnection::establish(&url_with_database(&admin_url, &building)).unwrap();
            duizhang::db::run_migrations(&mut t).expect("migrations");
            drop(t);
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}")).execute(&mut conn).unwrap();
        }
        diesel::sql_query("SELECT pg_advisory_unlock(7419)").execute(&mut conn).unwrap();
        TestServer { admin_url, template }
    })
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        #[allow(dead_code)]
        datname: String,
    }
    diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load::<Row>(conn)
        .map(|r| !r.is_empty())
        .unwrap_or(false)
}

/// A fresh database cloned from the migrated template; dropped with the value.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let server = server();
        let name = format!("dz_test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(&server.admin_url).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", server.template)).execute(&mut conn).unwrap();
        TestDatabase { url: url_with_database(&server.admin_url, &name), name }
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(server) = SERVER.get() {
            if let Ok(mut conn) = PgConnection::establish(&server.admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
            }
        }
    }
}

pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    /// The first tenant (its id and the slug its users log in with) and its admin API key.
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub api_key: String,
}

pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let mut settings = Settings {
        port: 0,
        database_url: Some(db.url.clone()),
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        workers: 1,
        // High enough that no test trips it by accident (webhook tests poll every 20 ms); the
        // guard still resolves and counts every request. tests/api/guards.rs sets real limits.
        rate_limit: duizhang::config::RateLimitConfig { per_second: 10_000, burst: 10_000 },
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings, &db.url).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mut conn = db.connect();
    let created = conn.transaction(|c| duizhang::services::tenants::create(c, "Test Tenant", "EUR")).unwrap();
    // Idle connections are dropped well before the server's 5 s keep-alive ends, so a request is
    // never sent on a connection the server is closing at that moment (a reset under load).
    let client = reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(1)).build().unwrap();
    TestApp { address, client, db, tenant_id: created.tenant_id, tenant_slug: created.slug, api_key: created.api_key }
}

/// An app on a database that already holds its tenant (imported, say), calling as `api_key`.
pub async fn spawn_app_on(
    db: TestDatabase,
    tenant_id: Uuid,
    tenant_slug: String,
    api_key: String,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings {
        port: 0,
        database_url: Some(db.url.clone()),
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        workers: 1,
        rate_limit: duizhang::config::RateLimitConfig { per_second: 10_000, burst: 10_000 },
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings, &db.url).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(1)).build().unwrap();
    TestApp { address, client, db, tenant_id, tenant_slug, api_key }
}

impl TestApp {
    /// Another tenant in the same database, with its own admin key.
    pub fn create_tenant(&self, name: &str) -> (Uuid, String) {
        let mut conn = self.db.connect();
        let t = conn.transaction(|c| duizhang::services::tenants::create(c, name, "EUR")).unwrap();
        (t.tenant_id, t.api_key)
    }

    /// Another tenant with its slug: (id, slug, admin key).
    pub fn create_tenant_with_slug(&self, name: &str) -> (Uuid, String, String) {
        let mut conn = self.db.connect();
        let t = conn.transaction(|c| duizhang::services::tenants::create(c, name, "EUR")).unwrap();
        (t.tenant_id, t.slug, t.api_key)
    }

    /// `POST /auth/token` to the first tenant, without credentials.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.login_to(&self.tenant_slug.clone(), email, password).await
    }

    pub async fn login_to(&self, tenant: &str, email: &str, password: &str) -> Response {
        let body = serde_json::json!({"tenant": tenant, "email": email, "password": password});
        self.send("POST", "/api/v1/auth/token", None, Some(("application/json", body.to_string().into_bytes())), &[])
            .await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{}", self.address, path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response { status, headers, body, text }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send("GET", path, Some(&self.api_key), None, &[]).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.send("GET", path, Some(key), None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.api_key, path, body).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.send("POST", path, Some(key), Some(("application/json", body.to_string().into_bytes())), &[]).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.put_as(&self.api_key, path, body).await
    }

    pub async fn put_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.send("PUT", path, Some(key), Some(("application/json", body.to_string().into_bytes())), &[]).await
    }

    pub async fn patch_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.send("PATCH", path, Some(key), Some(("application/json", body.to_string().into_bytes())), &[]).await
    }

    pub async fn post_csv(&self, path: &str, csv: &str) -> Response {
        self.send("POST", path, Some(&self.api_key), Some(("text/csv", csv.as_bytes().to_vec())), &[]).await
    }

    /// Queues a cash-application run with `key` and waits (up to a minute) until it completed;
    /// answers the run. A failed run fails the test.
    pub async fn run_matching_as(&self, key: &str) -> Value {
        let r = self.post_as(key, "/api/v1/reconciliations", &serde_json::json!({})).await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(r.body["status"], "queued");
        let id = r.body["id"].as_str().unwrap().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let r = self.get_as(key, &format!("/api/v1/reconciliations/{id}")).await;
            match r.body["status"].as_str() {
                Some("completed") => return r.body,
                Some("failed") => panic!("run failed: {}", r.text),
                _ => {}
            }
            assert!(std::time::Instant::now() < deadline, "run did not finish: {}", r.text);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// [`TestApp::run_matching_as`] with the tenant's own key.
    pub async fn run_matching(&self) -> Value {
        self.run_matching_as(&self.api_key).await
    }

    pub async fn graphql_as(&self, key: Option<&str>, query: &str, variables: Value) -> Response {
        let body = serde_json::json!({ "query": query, "variables": variables });
        self.send("POST", "/graphql", key, Some(("application/json", body.to_string().into_bytes())), &[]).await
    }

    pub async fn create_customer(&self, code: &str) -> Value {
        let r = self
            .post(
                "/api/v1/customers",
                &serde_json::json!({ "code": code, "name": format!("Customer {code}"), "default_currency": "EUR" }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// A customer `code` with invoices `{code}-INV-1` (500.00) and `{code}-INV-2` (250.00) whose
    /// statement lacks INV-2: that one difference, sent to them. Returns (difference id, INV-2).
    pub async fn sent_difference(&self, code: &str) -> (String, Value) {
        self.create_customer(code).await;
        self.create_invoice(code, &format!("{code}-INV-1"), "500.00").await;
        let missing = self.create_invoice(code, &format!("{code}-INV-2"), "250.00").await;
        let lines = serde_json::json!({"lines": [{"their_ref": "AP1", "our_ref": format!("{code}-INV-1"),
            "date": "2026-03-01", "kind": "invoice", "amount": "500.00", "currency": "EUR"}]});
        let r = self.post(&format!("/api/v1/customers/{code}/statements"), &lines).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["differences"][0]["id"].as_str().unwrap().to_string();
        let s = self.post(&format!("/api/v1/differences/{id}/send"), &serde_json::json!({})).await;
        assert_eq!(s.status, 200, "{}", s.text);
        (id, missing)
    }

    pub async fn create_invoice(&self, customer: &str, doc_no: &str, amount: &str) -> Value {
        let r = self
            .post(
                "/api/v1/documents",
                &serde_json::json!({
                    "doc_type": "invoice", "doc_no": doc_no, "customer_code": customer,
                    "issue_date": "2026-03-01", "due_date": "2026-03-31", "currency": "EUR", "amount": amount
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Seals every pending audit entry now (as the background sealer would), waiting for any
    /// sealer that is busy; returns how many were sealed.
    pub fn seal_audit(&self) -> usize {
        let mut conn = self.db.connect();
        duizhang::services::audit_sealer::seal_everything(&mut conn).unwrap()
    }

    /// Rows of a table in this test's database (the app is not asked).
    pub fn count(&self, sql_from_where: &str) -> i64 {
        count_rows(&mut self.db.connect(), sql_from_where)
    }
}

/// `SELECT count(*) FROM <sql_from_where>` on a connection of the test's own.
pub fn count_rows(conn: &mut PgConnection, sql_from_where: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {sql_from_where}")).get_result::<N>(conn).unwrap().n
}

/// Standard Webhooks signature, computed here from the specification with hmac/sha2 directly
/// (not the service's own module), so a mistake there cannot hide itself.
pub fn sign(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// A folder written by the project's generator (`duizhang demo-data`): `lines` bank lines,
/// `statements` customers' statements, camt.053 files of `camt_entries` entries when given.
pub fn generated_folder(lines: usize, statements: usize, seed: u64, camt_entries: Option<usize>) -> tempfile::TempDir {
    use duizhang::demo_data::{generate, write_folder, FileOptions, Options};
    let dir = tempfile::tempdir().unwrap();
    let data = generate(&Options { lines, statements, seed, ..Options::default() });
    write_folder(&data, dir.path(), &FileOptions { camt_entries, mt940_entries: None }).unwrap();
    dir
}
