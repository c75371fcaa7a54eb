//! The read replica (`DATABASE_READ_URL`): a private primary and a hot standby made from it with
//! pg_basebackup (same binaries), an app on both, and checks of routing, read-your-writes (also
//! with the standby's replay paused), GraphQL, and reads when the standby is gone.

use diesel::prelude::*;
use duizhang::config::{ReadReplicaConfig, Settings};
use duizhang::embedded_postgres::{EmbeddedPostgres, EmbeddedPostgresConfig};
use duizhang::startup::Application;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The bounded wait of these apps: long enough for a streaming standby to catch up on a busy
/// test machine, short enough to time the fallback.
const WAIT: Duration = Duration::from_millis(1500);
const METRICS_TOKEN: &str = "replica-metrics-token";

/// The primary and its standby under one temporary folder. Dropped in field order, also when
/// a check panics: the standby stops, then the primary (`EmbeddedPostgres` stops the servers it
/// started when dropped), then the folder goes.
struct Clusters {
    standby: EmbeddedPostgres,
    _primary: EmbeddedPostgres,
    primary_url: String,
    standby_url: String,
    api_key: String,
    _dir: tempfile::TempDir,
}

fn clusters() -> Clusters {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The servers run as `postgres` when the tests run as root: let them into the folder.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = |name: &str| EmbeddedPostgresConfig { data_dir: dir.path().join(name), fast_unsafe: true };
    let primary = EmbeddedPostgres::start(config("primary")).expect("primary cluster");
    duizhang::db::ensure_database(&primary.database_url("postgres"), "duizhang").unwrap();
    let primary_url = primary.database_url("duizhang");
    let mut conn = PgConnection::establish(&primary_url).unwrap();
    duizhang::db::run_migrations(&mut conn).unwrap();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Replicated", "EUR")).unwrap();
    let standby = EmbeddedPostgres::start_standby(config("standby"), &primary).expect("standby from pg_basebackup");
    let standby_url = standby.database_url("duizhang");
    Clusters { standby, _primary: primary, primary_url, standby_url, api_key: tenant.api_key, _dir: dir }
}

struct Answer {
    status: u16,
    source: Option<String>,
    lsn: Option<String>,
    body: Value,
    text: String,
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(&self, method: &str, path: &str, key: &str, body: Option<Value>, lsn: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(lsn) = lsn {
            req = req.header("Duizhang-Lsn", lsn);
        }
        let res = req.send().await.expect("request sent");
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        let (status, source, lsn) = (res.status().as_u16(), header("duizhang-read-source"), header("duizhang-lsn"));
        let text = res.text().await.unwrap();
        Answer { status, source, lsn, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }

    async fn get(&self, key: &str, path: &str) -> Answer {
        self.send("GET", path, key, None, None).await
    }

    async fn post(&self, key: &str, path: &str, body: Value) -> Answer {
        self.send("POST", path, key, Some(body), None).await
    }

    async fn graphql(&self, key: &str, query: &str) -> Answer {
        self.post(key, "/graphql", json!({ "query": query })).await
    }

    async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.base);
        self.http.get(url).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap()
    }
}

fn codes(answer: &Answer) -> Vec<String> {
    let items = answer.body["items"].as_array().unwrap_or_else(|| panic!("a page: {}", answer.text));
    let mut codes: Vec<String> = items.iter().map(|c| c["code"].as_str().unwrap().to_string()).collect();
    codes.sort();
    codes
}

fn on_standby(url: &str, sql: &str) {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

async fn start_app(c: &Clusters) -> Client {
    let settings = Settings {
        port: 0,
        database_url: Some(c.primary_url.clone()),
        read_replica: Some(ReadReplicaConfig { url: c.standby_url.clone(), pool_size: 3, read_your_writes_wait: WAIT }),
        jwt_secret: Some(crate::helpers::TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        workers: 1,
        run_worker: false,
        metrics_token: Some(METRICS_TOKEN.into()),
        ..Settings::default()
    };
    let mut settings = settings;
    settings.webhooks.run_worker = false;
    settings.connectors.run_worker = false;
    let app = Application::build(settings, &c.primary_url).expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    Client { http, base }
}

async fn create_customer(app: &Client, key: &str, code: &str) -> String {
    let r = app.post(key, "/api/v1/customers", json!({"code": code, "name": format!("Kunde {code}")})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.source, None, "a write is not a routed read");
    r.lsn.unwrap_or_else(|| panic!("a write answers its WAL position: {}", r.text))
}

#[tokio::test]
async fn reads_go_to_the_standby_see_their_own_writes_and_survive_its_loss() {
    let c = tokio::task::spawn_blocking(clusters).await.unwrap();
    let app = start_app(&c).await;
    let key = c.api_key.clone();

    // (a) A write goes to the primary and answers its position; the caller's list right after
    // it is answered by the standby once it replayed that far, and holds the new customer.
    let lsn = create_customer(&app, &key, "R1").await;
    assert!(lsn.contains('/'), "{lsn}");
    let list = app.get(&key, "/api/v1/customers").await;
    assert_eq!((list.status, list.source.as_deref()), (200, Some("replica")), "{}", list.text);
    assert_eq!(codes(&list), ["R1"]);
    for path in [
        "/api/v1/reports/aging?as_of=2026-06-30",
        "/api/v1/reports/aging?as_of=2026-06-30&format=csv",
        "/api/v1/reports/collections?as_of=2026-06-30",
        "/api/v1/customers/R1/statement-of-account",
        "/api/v1/customers/R1/balance",
        "/api/v1/documents",
    ] {
        let r = app.get(&key, path).await;
        assert_eq!((r.status, r.source.as_deref()), (200, Some("replica")), "{path}: {}", r.text);
    }
    // The audit trail seals pending entries before it answers: never routed.
    let audit = app.get(&key, "/api/v1/audit").await;
    assert_eq!((audit.status, audit.source), (200, None), "{}", audit.text);
    let other = app.post(&key, "/api/v1/api-keys", json!({"name": "reader", "role": "viewer"})).await;
    assert_eq!(other.status, 201, "{}", other.text);
    let reader = other.body["api_key"].as_str().unwrap().to_string();

    lagging_standby(&c, &app, &key, &reader).await;
    graphql_routing(&app, &key).await;
    let metrics = app.metrics().await;
    assert!(metrics.contains("duizhang_db_replica_up 1"), "{metrics}");
    assert!(metrics.contains("duizhang_db_reads_total{source=\"replica\"}"), "{metrics}");
    assert!(metrics.contains("duizhang_db_replica_lag_seconds"), "{metrics}");
    let c = standby_gone(c, &app, &key).await;
    tokio::task::spawn_blocking(move || drop(c)).await.unwrap();
}

/// (b) The standby stops replaying: the writer's reads wait the bound and are answered by the
/// primary (with the write); a caller who wrote nothing still reads the standby (without it);
/// that caller sending the writer's position back waits for it too.
async fn lagging_standby(c: &Clusters, app: &Client, key: &str, reader: &str) {
    let standby_admin = c.standby.database_url("postgres");
    tokio::task::spawn_blocking(move || on_standby(&standby_admin, "SELECT pg_wal_replay_pause()")).await.unwrap();
    let lsn = create_customer(app, key, "R2").await;
    let started = Instant::now();
    let mine = app.get(key, "/api/v1/customers").await;
    let waited = started.elapsed();
    assert_eq!((mine.status, mine.source.as_deref()), (200, Some("primary")), "{}", mine.text);
    assert_eq!(codes(&mine), ["R1", "R2"]);
    assert!(waited >= WAIT, "the read waited {waited:?} for the paused standby, less than the bound");
    assert!(waited < WAIT + Duration::from_secs(5), "the wait is bounded: {waited:?}");

    let theirs = app.get(reader, "/api/v1/customers").await;
    assert_eq!((theirs.status, theirs.source.as_deref()), (200, Some("replica")), "{}", theirs.text);
    assert_eq!(codes(&theirs), ["R1"], "the paused standby does not have R2 yet");
    let told = app.send("GET", "/api/v1/customers", reader, None, Some(&lsn)).await;
    assert_eq!((told.status, told.source.as_deref()), (200, Some("primary")), "{}", told.text);
    assert_eq!(codes(&told), ["R1", "R2"]);

    let standby_admin = c.standby.database_url("postgres");
    tokio::task::spawn_blocking(move || on_standby(&standby_admin, "SELECT pg_wal_replay_resume()")).await.unwrap();
    let caught_up = app.get(key, "/api/v1/customers").await;
    assert_eq!((caught_up.status, caught_up.source.as_deref()), (200, Some("replica")), "{}", caught_up.text);
    assert_eq!(codes(&caught_up), ["R1", "R2"]);
}

/// (d) A query document goes to the standby, a mutation to the primary; the query right after
/// the mutation sees it.
async fn graphql_routing(app: &Client, key: &str) {
    let query = "{ customers { items { code } } }";
    let read = app.graphql(key, query).await;
    assert_eq!((read.status, read.source.as_deref()), (200, Some("replica")), "{}", read.text);
    assert!(read.lsn.is_none(), "a query over POST is not a write");
    let mutation = r#"mutation { createCustomer(input: {code: "G1", name: "Über GraphQL"}) { code } }"#;
    let write = app.graphql(key, mutation).await;
    assert_eq!(write.body["data"]["createCustomer"]["code"], "G1", "{}", write.text);
    assert_eq!(write.source, None);
    assert!(write.lsn.is_some(), "a mutation answers its WAL position");
    let after = app.graphql(key, query).await;
    assert_eq!(after.source.as_deref(), Some("replica"), "{}", after.text);
    assert!(after.text.contains("\"G1\""), "{}", after.text);
    let audit = app.graphql(key, "{ verifyAuditChain { valid } }").await;
    assert_eq!(
        (audit.source, &audit.body["data"]["verifyAuditChain"]["valid"]),
        (None, &json!(true)),
        "{}",
        audit.text
    );
}

/// (c) The standby quits at once: reads are answered by the primary, never with a 5xx, and
/// writes go on.
async fn standby_gone(c: Clusters, app: &Client, key: &str) -> Clusters {
    let c = tokio::task::spawn_blocking(move || {
        let mut c = c;
        c.standby.stop_immediately().expect("pg_ctl stop -m immediate");
        c
    })
    .await
    .unwrap();
    let paths =
        ["/api/v1/customers", "/api/v1/reports/aging?as_of=2026-06-30", "/api/v1/customers/R1/statement-of-account"];
    for round in 0..3 {
        for path in paths {
            let started = Instant::now();
            let r = app.get(key, path).await;
            assert_eq!((r.status, r.source.as_deref()), (200, Some("primary")), "round {round} {path}: {}", r.text);
            assert!(started.elapsed() < Duration::from_secs(5), "{path}: {:?}", started.elapsed());
        }
        let q = app.graphql(key, "{ customers { items { code } } }").await;
        assert_eq!((q.status, q.source.as_deref()), (200, Some("primary")), "{}", q.text);
        assert!(q.body["errors"].is_null(), "{}", q.text);
    }
    create_customer(app, key, "R3").await;
    let list = app.get(key, "/api/v1/customers").await;
    assert_eq!((list.status, list.source.as_deref()), (200, Some("primary")), "{}", list.text);
    assert_eq!(codes(&list), ["G1", "R1", "R2", "R3"]);
    let metrics = app.metrics().await;
    assert!(metrics.contains("duizhang_db_replica_up 0"), "{metrics}");
    c
}
