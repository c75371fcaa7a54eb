//! Building and running one app instance: resolve the database (embedded cluster or
//! `DATABASE_URL`), migrate, bind, serve. Tests build many instances side by side.

use crate::api::graphql;
use crate::api::rest::{self, health, OpenApiJson};
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::embedded_postgres::{EmbeddedPostgres, EmbeddedPostgresConfig};
use crate::services::data_safety::Keyring;
use crate::services::jwt::JwtKeys;
use crate::services::metrics::Metrics;
use crate::services::secret_keys::load_or_create_jwt_secret;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use diesel::Connection;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The database the embedded cluster serves the application from.
pub const EMBEDDED_DATABASE: &str = "duizhang";

/// Where the data lives: a URL, and the embedded cluster if we started one (kept alive by this
/// value and stopped when it is dropped).
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

/// Uses `DATABASE_URL` when set, else starts (or reuses) the embedded cluster. Runs migrations.
pub fn prepare_database(settings: &Settings) -> Result<Database, String> {
    let database = match &settings.database_url {
        Some(url) => Database { url: url.clone(), embedded: None },
        None => {
            let cluster = EmbeddedPostgres::start(EmbeddedPostgresConfig {
                data_dir: settings.data_dir.clone(),
                fast_unsafe: false,
            })
            .map_err(|e| e.to_string())?;
            db::ensure_database(&cluster.database_url("postgres"), EMBEDDED_DATABASE)?;
            tracing::info!(port = cluster.port(), "embedded PostgreSQL running");
            Database { url: cluster.database_url(EMBEDDED_DATABASE), embedded: Some(cluster) }
        }
    };
    let mut conn =
        diesel::PgConnection::establish(&database.url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::run_migrations(&mut conn)?;
    Ok(database)
}

pub struct Application {
    port: u16,
    server: Server,
    worker_stop: Arc<AtomicBool>,
    shutdown: Shutdown,
    /// The background workers' threads, joined at a graceful shutdown.
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// What a shutdown signal touches.
#[derive(Clone)]
struct Shutdown {
    draining: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    drain_delay: std::time::Duration,
    shutdown_timeout: std::time::Duration,
}

/// Stops the background worker when the server future ends or is dropped (tests drop it).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Application {
    /// Binds `settings.host:settings.port` (port 0 picks a free one) against a migrated database.
    pub fn build(settings: Settings, database_url: &str) -> Result<Application, String> {
        let pool = db::build_pool(database_url, settings.db_pool_size, settings.db_acquire_timeout)?;
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .map_err(|e| format!("cannot listen on {}:{}: {e}", settings.host, settings.port))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let worker_stop = Arc::new(AtomicBool::new(false));
        let metrics = Arc::new(Metrics::new());
        let shutdown = Shutdown {
            draining: Arc::default(),
            metrics: metrics.clone(),
            drain_delay: settings.drain_delay,
            shutdown_timeout: settings.shutdown_timeout,
        };
        let keyring = Arc::new(
            Keyring::load(settings.connector_key.as_deref(), &settings.data_dir)
                .map_err(|e| format!("master key: {e}"))?,
        );
        crate::services::data_safety::startup(&pool, &keyring, &settings)?;
        let workers = spawn_workers(&settings, &pool, &keyring, &worker_stop, &metrics);
        let server = run(listener, pool, settings, keyring, &shutdown)?;
        Ok(Application { port, server, worker_stop, shutdown, workers })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _stop_worker = StopOnDrop(self.worker_stop.clone());
        self.server.await
    }

    /// Serves until the server stops, then stops the workers and waits (up to `within`) for
    /// them: a run or a delivery in progress ends properly instead of being cut off with the
    /// process.
    async fn run_then_join_workers(self, within: std::time::Duration) -> std::io::Result<()> {
        let Application { server, worker_stop, workers, .. } = self;
        let served = server.await;
        worker_stop.store(true, Ordering::Relaxed);
        let joined = actix_web::rt::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        });
        if actix_web::rt::time::timeout(within, joined).await.is_err() {
            tracing::warn!("background workers still busy at the end of the shutdown timeout; exiting");
        }
        served
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully: readiness fails at once and
    /// the background workers stop taking work; after SIGTERM the listener stays open for
    /// `DUIZHANG_DRAIN_SECONDS` more (a load balancer polling `/readyz` stops sending meanwhile),
    /// then it closes and in-flight requests finish (up to `DUIZHANG_SHUTDOWN_TIMEOUT_SECONDS`).
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let (shutdown, worker_stop) = (self.shutdown.clone(), self.worker_stop.clone());
        actix_web::rt::spawn(async move {
            let delay = wait_for_signal().await;
            tracing::info!("shutting down: draining");
            shutdown.draining.store(true, Ordering::Relaxed);
            shutdown.metrics.set_draining();
            worker_stop.store(true, Ordering::Relaxed);
            if delay {
                actix_web::rt::time::sleep(shutdown.drain_delay).await;
            }
            handle.stop(true).await;
        });
        let within = self.shutdown.shutdown_timeout;
        self.run_then_join_workers(within).await
    }
}

/// Waits for SIGTERM (true: drain first) or Ctrl-C (false: an operator at a terminal).
async fn wait_for_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => true,
                _ = tokio::signal::ctrl_c() => false,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    false
}

/// Starts the background workers this process runs (each can be switched off by a setting).
fn spawn_workers(
    settings: &Settings,
    pool: &DbPool,
    keyring: &Arc<Keyring>,
    stop: &Arc<AtomicBool>,
    metrics: &Arc<Metrics>,
) -> Vec<std::thread::JoinHandle<()>> {
    use crate::services::{
        audit_sealer, cash_application, connector_worker, data_safety, statement_runs, webhook_worker,
    };
    let mut workers = Vec::new();
    let drain = worker_drain(settings.shutdown_timeout);
    if settings.run_worker {
        let (keys, metrics) = (keyring.clone(), metrics.clone());
        workers.push(cash_application::spawn_worker(pool.clone(), keys, stop.clone(), metrics, drain));
        workers.push(statement_runs::spawn_worker(pool.clone(), stop.clone()));
        workers.push(data_safety::retention::spawn_worker(pool.clone(), stop.clone()));
        let clock = crate::services::clock::Clock::with_offset_seconds(settings.clock_offset_seconds);
        let interval = settings.sla_sweep_interval;
        workers.push(crate::services::work_orders::sweep::spawn_worker(pool.clone(), clock, interval, stop.clone()));
    }
    if settings.audit_sealer {
        workers.push(audit_sealer::spawn_worker(pool.clone(), settings.audit_seal_interval, stop.clone()));
    }
    if settings.webhooks.run_worker {
        let config = settings.webhooks.clone();
        let env = webhook_worker::WorkerEnv { metrics: metrics.clone(), drain };
        workers.push(webhook_worker::spawn_worker(pool.clone(), config, keyring.clone(), stop.clone(), env));
    }
    if settings.connectors.run_worker {
        let config = settings.connectors.clone();
        workers.push(connector_worker::spawn_worker(pool.clone(), config, keyring.clone(), stop.clone(), drain));
    }
    workers
}

/// The read replica's pool, when `DATABASE_READ_URL` is set. It does not connect at start: a
/// standby that is down (or not yet up) leaves every read on the primary until it answers.
fn read_replica(settings: &Settings) -> Option<Arc<crate::services::read_routing::ReadReplica>> {
    let r = settings.read_replica.as_ref()?;
    // Not waited for long: a replica that gives no connection soon is passed over for the primary.
    let acquire = settings.db_acquire_timeout.min(std::time::Duration::from_millis(1000));
    let pool = db::build_lazy_pool(&r.url, r.pool_size, acquire);
    tracing::info!(pool_size = r.pool_size, "read replica configured");
    Some(Arc::new(crate::services::read_routing::ReadReplica::new(pool, r.read_your_writes_wait)))
}

/// How long, after the stop, background jobs in progress may take to finish before they are
/// stopped and handed back: the shutdown timeout less a second (half of it when shorter) to hand
/// them back in. The process waits at least the shutdown timeout for its workers, so what is
/// handed back is written before it exits.
fn worker_drain(shutdown_timeout: std::time::Duration) -> std::time::Duration {
    shutdown_timeout.saturating_sub(std::time::Duration::from_secs(1).min(shutdown_timeout / 2))
}

fn run(
    listener: TcpListener,
    pool: DbPool,
    settings: Settings,
    keyring: Arc<Keyring>,
    shutdown: &Shutdown,
) -> Result<Server, String> {
    let secret = load_or_create_jwt_secret(&settings).map_err(|e| format!("JWT secret: {e}"))?;
    let state = AppState {
        pool,
        replica: read_replica(&settings),
        jwt: Arc::new(JwtKeys::new(&secret, settings.jwt_ttl)),
        settings: Arc::new(settings.clone()),
        keyring,
        rate_limiter: crate::services::rate_limit::RateLimiter::new(settings.rate_limit).map(Arc::new),
        api_keys: Arc::new(crate::services::api_key_cache::ApiKeyCache::new(settings.api_key_cache_ttl)),
        login_throttle: Arc::new(crate::services::login_throttle::LoginThrottle::new(settings.login_throttle)),
        metrics: shutdown.metrics.clone(),
        draining: shutdown.draining.clone(),
    };
    let schemas = web::Data::new(graphql::Schemas::build(&state));
    let state = web::Data::new(state);
    let openapi = web::Data::new(OpenApiJson(rest::openapi_json()));
    let server = HttpServer::new(move || {
        App::new()
            // Innermost: sees the caller the guard resolved; names the server that answered a
            // routed read and hands out the WAL position after a write.
            .wrap(actix_web::middleware::from_fn(crate::api::read_routing::middleware))
            // Resolves the caller once and spends its rate budget before any handler runs.
            .wrap(actix_web::middleware::from_fn(crate::api::guard::guard))
            // Outermost: CORS preflights and the security headers of every answer, refusals included.
            .wrap(actix_web::middleware::from_fn(crate::api::security_headers::middleware))
            // Outside everything: the request id, the access log line and the request metrics.
            .wrap(actix_web::middleware::from_fn(crate::api::observe::middleware))
            .app_data(state.clone())
            .app_data(schemas.clone())
            .app_data(openapi.clone())
            .service(health::healthz)
            .service(health::readyz)
            .service(health::metrics)
            .service(swagger_ui_dist::generate_scope(swagger_ui_dist::ApiDefinition {
                uri_prefix: "/api/v1/docs",
                api_definition: swagger_ui_dist::OpenApiSource::Uri("/api/v1/openapi.json"),
                title: Some("duizhang API"),
            }))
            .service(web::scope("/api/v1").configure(rest::configure).default_service(web::to(rest::not_found)))
            .route("/graphql", web::post().to(graphql::graphql))
            .route("/graphql", web::get().to(graphql::graphiql))
            .route("/graphql/ws", web::get().to(graphql::websocket))
            .route("/graphql/assets/{file}", web::get().to(graphql::explorer::asset))
            .default_service(web::to(rest::not_found))
    })
    .workers(settings.workers)
    // Signals are ours (run_until_signalled): readiness must fail before the listener closes.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    Ok(server)
}
