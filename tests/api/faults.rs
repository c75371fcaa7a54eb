//! Database faults: an exhausted pool and a PostgreSQL that stops and comes back answer 503
//! quickly (never hang, never 500), and the app recovers by itself.

use crate::helpers::spawn_app_with;
use diesel::prelude::*;
use duizhang::config::Settings;
use duizhang::embedded_postgres::{EmbeddedPostgres, EmbeddedPostgresConfig};
use duizhang::startup::Application;
use std::time::{Duration, Instant};

/// No background workers: they would take pool connections at moments the test does not control.
fn no_workers(s: &mut Settings) {
    s.run_worker = false;
    s.webhooks.run_worker = false;
    s.connectors.run_worker = false;
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_within_the_acquire_timeout() {
    let app = spawn_app_with(|s| {
        no_workers(s);
        s.db_pool_size = 1;
        s.db_acquire_timeout = Duration::from_millis(500);
    })
    .await;
    app.create_customer("C1").await;
    // Hold a lock on customers from outside the app: the next read of customers waits on it
    // while holding the pool's only connection.
    let mut blocker = app.db.connect();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE").execute(&mut blocker).unwrap();
    let slow = {
        let (client, url, key) =
            (app.client.clone(), format!("{}/api/v1/customers/C1", app.address), app.api_key.clone());
        tokio::spawn(async move { client.get(url).bearer_auth(key).send().await.unwrap().status().as_u16() })
    };
    // Wait until the slow request is really waiting on the lock (so it holds the connection).
    let deadline = Instant::now() + Duration::from_secs(20);
    while waiting_on_locks(&mut blocker) == 0 {
        assert!(Instant::now() < deadline, "the slow request never reached the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let r = app.get("/api/v1/documents").await;
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.error_code(), "service_unavailable");
    assert_eq!(r.headers.get("retry-after").unwrap(), "1");
    // Bounded by the acquire timeout (500 ms) plus overhead, far from hanging.
    assert!(took < Duration::from_secs(5), "503 took {took:?}");
    eprintln!("pool exhausted: 503 after {took:?} (acquire timeout 500 ms)");
    let r = app.graphql_as(Some(&app.api_key), "{ documents { items { id } } }", serde_json::json!({})).await;
    assert!(r.status == 503 || r.body["errors"][0]["extensions"]["code"] == "service_unavailable", "{}", r.text);
    let r = app.send("GET", "/readyz", None, None, &[]).await;
    assert_eq!(r.status, 503, "{}", r.text);

    // Released: the waiting request completes and the app serves again.
    diesel::sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    assert_eq!(slow.await.unwrap(), 200);
    let r = app.get("/api/v1/documents").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn waiting_on_locks(conn: &mut PgConnection) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // Only this test's database and table: other tests share the cluster, and counting their
    // lock waits would let this test go on before its own request holds the connection (then
    // the next request takes the connection and waits on the lock this test holds, for ever).
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = 'customers'::regclass \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .get_result::<N>(conn)
    .map(|r| r.n)
    .unwrap_or(0)
}

/// A private cluster under a temporary folder (never the shared test cluster: the other tests
/// run on it), with the schema and one tenant.
struct PrivateCluster {
    config: EmbeddedPostgresConfig,
    cluster: EmbeddedPostgres,
    url: String,
    api_key: String,
    _dir: tempfile::TempDir,
}

fn private_cluster() -> PrivateCluster {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The server runs as `postgres` when the tests run as root: let it into the folder.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = EmbeddedPostgresConfig { data_dir: dir.path().to_path_buf(), fast_unsafe: true };
    let cluster = EmbeddedPostgres::start(config.clone()).expect("private cluster");
    duizhang::db::ensure_database(&cluster.database_url("postgres"), "duizhang").unwrap();
    let url = cluster.database_url("duizhang");
    let mut conn = PgConnection::establish(&url).unwrap();
    duizhang::db::run_migrations(&mut conn).unwrap();
    let tenant = conn.transaction(|c| duizhang::services::tenants::create(c, "Faulty", "EUR")).unwrap();
    PrivateCluster { config, cluster, url, api_key: tenant.api_key, _dir: dir }
}

#[tokio::test]
async fn postgres_stopped_and_restarted_gives_fast_503s_then_recovers_without_a_restart() {
    let PrivateCluster { config, mut cluster, url, api_key, _dir } =
        tokio::task::spawn_blocking(private_cluster).await.unwrap();
    let port = cluster.port();
    let settings = Settings {
        port: 0,
        database_url: Some(url.clone()),
        jwt_secret: Some(crate::helpers::TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        db_acquire_timeout: Duration::from_millis(5000),
        workers: 1,
        ..Settings::default()
    };
    let mut settings = settings;
    no_workers(&mut settings);
    let app = Application::build(settings, &url).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let create = |code: String| {
        let (client, address, key) = (client.clone(), address.clone(), api_key.clone());
        async move {
            let r = client
                .post(format!("{address}/api/v1/customers"))
                .bearer_auth(key)
                .json(&serde_json::json!({"code": code, "name": "x"}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // A read answered without a transaction (`db::read`): its connection must be dropped too
    // (the pool takes diesel's verdict from libpq's status on return, and a connection used in
    // the last 500 ms is not pinged when taken, so a kept dead one would fail again).
    let balance = |code: &str| {
        let (client, url, key) =
            (client.clone(), format!("{address}/api/v1/customers/{code}/balance"), api_key.clone());
        async move {
            let r = client.get(url).bearer_auth(key).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // Warm the pool: several connections open, so the stop breaks connections in use.
    for n in 0..8 {
        let (status, text) = create(format!("BEFORE{n}")).await;
        assert_eq!(status, 201, "{text}");
    }
    let warm: Vec<_> = (0..8).map(|_| balance("BEFORE0")).collect();
    for (status, text) in futures_util::future::join_all(warm).await {
        assert_eq!(status, 200, "{text}");
    }

    // Stop the server (pg_ctl stop -m fast) while requests keep coming.
    tokio::task::spawn_blocking(move || {
        cluster.stop().expect("pg_ctl stop");
        cluster
    })
    .await
    .unwrap();
    for n in 0..6 {
        let started = Instant::now();
        let (status, text) = create(format!("DOWN{n}")).await;
        let took = started.elapsed();
        assert_eq!(status, 503, "request {n} while the database is down: {text}");
        assert!(text.contains("service_unavailable"), "{text}");
        // Broken connections are dropped when taken, and an empty pool means the database is
        // gone: requests do not wait the whole 5 s for a connection that cannot come (about
        // 0.3 s is expected; the bound is loose on purpose).
        assert!(took < Duration::from_millis(2500), "request {n}: 503 took {took:?}, as if waiting the whole timeout");
        eprintln!("database down: request {n} answered 503 after {took:?} (acquire timeout 5 s)");
        let started = Instant::now();
        let (status, text) = balance("BEFORE0").await;
        assert_eq!(status, 503, "read {n} while the database is down: {text}");
        assert!(started.elapsed() < Duration::from_millis(2500), "read {n}: 503 took {:?}", started.elapsed());
    }
    let ready = client.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    // Start it again on the same port: the app reconnects by itself.
    let restarting = Instant::now();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start_on_port(config, port))
        .await
        .unwrap()
        .expect("restart on the same port");
    assert_eq!(cluster.port(), port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    loop {
        let (status, text) = create(format!("AFTER{n}")).await;
        if status == 201 {
            eprintln!("database back: first 201 {:?} after the restart began ({n} 503s before)", restarting.elapsed());
            break;
        }
        assert_eq!(status, 503, "only 503s while reconnecting, never 500: {text}");
        assert!(Instant::now() < deadline, "no recovery within 30 s: {text}");
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every connection of the pool works again (broken ones were replaced, not reused), for
    // reads in quick succession too (a connection used within the last 500 ms is not pinged).
    for m in 0..8 {
        let (status, text) = create(format!("LATER{m}")).await;
        assert_eq!(status, 201, "{text}");
        let reads: Vec<_> = (0..4).map(|_| balance("BEFORE0")).collect();
        for (status, text) in futures_util::future::join_all(reads).await {
            assert_eq!(status, 200, "read after recovery: {text}");
        }
    }
    let ready = client.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let mut conn = PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let down: N =
        diesel::sql_query("SELECT count(*) AS n FROM customers WHERE code LIKE 'DOWN%'").get_result(&mut conn).unwrap();
    assert_eq!(down.n, 0, "nothing was written while the database was down");
    drop(cluster);
}
