//! Operational metrics in the Prometheus text format (`GET /metrics`).
//!
//! One registry per app instance, never a global one, so tests can run many apps side by side.
//! Requests are counted by the route *pattern* (`/api/v1/customers/{code}`), never the raw path,
//! so label values stay few whatever callers send. Backlogs and lags are read from the database
//! at scrape time ([`crate::db::metrics`]): they describe the shared queues, so every process
//! reports the same figures for them. Connection pool gauges, import and webhook figures are this
//! process's own.

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: Method,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: Method,
    pub route: String,
}

/// HTTP methods as labels: the known ones by name, anything else as `OTHER`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(clippy::upper_case_acronyms)]
pub enum Method {
    GET,
    HEAD,
    POST,
    PUT,
    PATCH,
    DELETE,
    OPTIONS,
    OTHER,
}

impl Method {
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::GET,
            "HEAD" => Method::HEAD,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            "OPTIONS" => Method::OPTIONS,
            _ => Method::OTHER,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabel {
    pub phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImportRowLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

type SecondsGauge = Gauge<f64, AtomicU64>;

/// What one import did with its rows (bank lines: imported, duplicates, not imported).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// An import's answer, read for the import metrics.
pub trait ImportCounted {
    fn import_counts(&self) -> ImportCounts;
}

impl ImportCounted for crate::services::import::ImportReport {
    fn import_counts(&self) -> ImportCounts {
        ImportCounts {
            created: self.created,
            updated: self.updated,
            unchanged: self.unchanged,
            rejected: self.rejected.len() as u64,
        }
    }
}

impl ImportCounted for crate::services::bank::ImportedStatement {
    fn import_counts(&self) -> ImportCounts {
        ImportCounts {
            created: self.lines_imported,
            updated: 0,
            unchanged: self.duplicates_skipped,
            rejected: self.lines_not_imported,
        }
    }
}

fn request_buckets() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn import_buckets() -> Histogram {
    // 5 ms to about 23 minutes.
    Histogram::new(exponential_buckets(0.005, 2.0, 19))
}

fn delivery_buckets() -> Histogram {
    // 10 ms to about 3 days: a delivery waits for its retries (the default schedule spans days).
    Histogram::new(exponential_buckets(0.01, 4.0, 15))
}

fn phase_buckets() -> Histogram {
    // 10 ms to about 11 minutes.
    Histogram::new(exponential_buckets(0.01, 2.0, 17))
}

/// The figures one process keeps and reports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    run_phases: Family<PhaseLabel, Histogram, fn() -> Histogram>,
    pool: Family<StateLabel, Gauge>,
    pool_max: Gauge,
    queues: QueueGauges,
    runs: Family<RunLabels, Gauge>,
    draining: Gauge,
    replica: ReplicaFigures,
    import_rows: Family<ImportRowLabels, Counter>,
    import_durations: Family<KindLabel, Histogram, fn() -> Histogram>,
    webhook_attempts: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    webhook_delivered: Histogram,
}

/// Reads by the server that answered them, and the replica's state at scrape time.
#[derive(Default)]
struct ReplicaFigures {
    reads: Family<SourceLabel, Counter>,
    up: Gauge,
    lag: SecondsGauge,
}

#[derive(Default)]
struct QueueGauges {
    outbox_undispatched: Gauge,
    webhook_backlog: Gauge,
    webhook_oldest: SecondsGauge,
    audit_unsealed: Gauge,
    audit_lag: SecondsGauge,
    connectors_due: Gauge,
    connector_lag: SecondsGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("duizhang");
        let m = Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(request_buckets),
            in_flight: Gauge::default(),
            run_phases: Family::new_with_constructor(phase_buckets),
            pool: Family::default(),
            pool_max: Gauge::default(),
            queues: QueueGauges::default(),
            runs: Family::default(),
            draining: Gauge::default(),
            replica: ReplicaFigures::default(),
            import_rows: Family::default(),
            import_durations: Family::new_with_constructor(import_buckets),
            webhook_attempts: Family::new_with_constructor(request_buckets),
            webhook_delivered: delivery_buckets(),
            registry: Registry::default(),
        };
        registry.register("http_requests", "HTTP requests answered, by route pattern and status", m.requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer, by route pattern", m.durations.clone());
        registry.register("http_requests_in_flight", "Requests being answered now", m.in_flight.clone());
        registry.register(
            "reconciliation_run_phase_seconds",
            "Reconciliation runs executed by this process: time per phase (load, match, persist)",
            m.run_phases.clone(),
        );
        registry.register("db_pool_connections", "This process's pooled connections by state", m.pool.clone());
        registry.register("db_pool_max_connections", "The pool's size", m.pool_max.clone());
        m.queues.register(&mut registry);
        registry.register("runs", "Reconciliation and statement runs queued or running", m.runs.clone());
        registry.register("draining", "1 while this process shuts down (readiness fails)", m.draining.clone());
        m.replica.register(&mut registry);
        m.register_work(&mut registry);
        Metrics { registry, ..m }
    }

    /// Records one answered request. `route` is the matched pattern, or `unmatched`.
    pub fn observe_request(&self, method: Method, route: &str, status: u16, seconds: f64) {
        let route = route.to_string();
        self.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
        self.durations.get_or_create(&RouteLabels { method, route }).observe(seconds);
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn observe_run_phase(&self, phase: &'static str, seconds: f64) {
        self.run_phases.get_or_create(&PhaseLabel { phase }).observe(seconds);
    }

    fn register_work(&self, registry: &mut Registry) {
        registry.register(
            "import_rows",
            "Rows imported by this process, by kind and outcome (created, updated, unchanged, rejected)",
            self.import_rows.clone(),
        );
        registry.register(
            "import_duration_seconds",
            "Time to import one file or batch, by kind",
            self.import_durations.clone(),
        );
        registry.register(
            "webhook_attempt_duration_seconds",
            "Webhook requests sent by this process: time to the answer, by outcome",
            self.webhook_attempts.clone(),
        );
        registry.register(
            "webhook_delivery_latency_seconds",
            "From an event to its successful delivery (retries included), deliveries made by this process",
            self.webhook_delivered.clone(),
        );
    }

    /// Records one committed import of `kind` (documents, bank_lines, customers, products, contacts).
    pub fn observe_import(&self, kind: &'static str, counts: ImportCounts, seconds: f64) {
        let outcomes = [
            ("created", counts.created),
            ("updated", counts.updated),
            ("unchanged", counts.unchanged),
            ("rejected", counts.rejected),
        ];
        for (outcome, n) in outcomes {
            self.import_rows.get_or_create(&ImportRowLabels { kind, outcome }).inc_by(n);
        }
        self.import_durations.get_or_create(&KindLabel { kind }).observe(seconds);
    }

    /// One webhook request: its outcome (delivered, retry, gone, refused) and how long it took.
    pub fn observe_webhook_attempt(&self, outcome: &'static str, seconds: f64) {
        self.webhook_attempts.get_or_create(&OutcomeLabel { outcome }).observe(seconds);
    }

    /// A delivery recorded as delivered, `seconds` after its event.
    pub fn observe_webhook_delivered(&self, seconds: f64) {
        self.webhook_delivered.observe(seconds);
    }

    /// Counts a read-only request's database work by the server that answered it.
    pub fn observe_read(&self, source: crate::services::read_routing::ReadSource) {
        self.replica.reads.get_or_create(&SourceLabel { source: source.as_str() }).inc();
    }

    pub fn set_draining(&self) {
        self.draining.set(1);
    }

    /// The text exposition: this process's figures plus the shared queues read now.
    pub async fn render(
        &self,
        pool: &DbPool,
        replica: Option<&crate::services::read_routing::ReadReplica>,
    ) -> AppResult<String> {
        if let Some(replica) = replica {
            let lag = replica.lag_seconds().await;
            self.replica.up.set(i64::from(lag.is_some()));
            self.replica.lag.set(lag.unwrap_or(0.0));
        }
        let state = pool.state();
        let busy = i64::from(state.connections.saturating_sub(state.idle_connections));
        self.pool.get_or_create(&StateLabel { state: "in_use" }).set(busy);
        self.pool.get_or_create(&StateLabel { state: "idle" }).set(i64::from(state.idle_connections));
        self.pool.get_or_create(&StateLabel { state: "waiting" }).set(pool.waiting() as i64);
        self.pool_max.set(i64::from(pool.max_size()));
        let figures =
            crate::db::read(pool, |conn| crate::db::metrics::queue_figures(conn).map_err(AppError::from)).await?;
        self.queues.set(&figures);
        self.runs.clear();
        for run in &figures.runs {
            self.runs.get_or_create(&RunLabels { kind: run.kind.clone(), status: run.status.clone() }).set(run.count);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).map_err(AppError::internal)?;
        Ok(text)
    }
}

impl ReplicaFigures {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "db_reads",
            "Read-only requests' database work by the server that answered",
            self.reads.clone(),
        );
        registry.register("db_replica_up", "1 when the read replica answered at scrape time", self.up.clone());
        registry.register(
            "db_replica_lag_seconds",
            "How far the read replica's replay is behind (0 when it has replayed all it received)",
            self.lag.clone(),
        );
    }
}

impl QueueGauges {
    fn register(&self, registry: &mut Registry) {
        registry.register("outbox_undispatched", "Outbox events not yet dispatched", self.outbox_undispatched.clone());
        registry.register("webhook_backlog", "Webhook deliveries waiting for an attempt", self.webhook_backlog.clone());
        registry.register(
            "webhook_oldest_pending_seconds",
            "Age of the oldest waiting webhook delivery",
            self.webhook_oldest.clone(),
        );
        registry.register("audit_unsealed", "Audit entries not yet sealed into the chain", self.audit_unsealed.clone());
        registry.register(
            "audit_sealing_lag_seconds",
            "Age of the oldest unsealed audit entry",
            self.audit_lag.clone(),
        );
        registry.register("connectors_due", "Enabled connectors whose sync is overdue", self.connectors_due.clone());
        registry.register(
            "connector_lag_seconds",
            "How long the most overdue connector sync has waited",
            self.connector_lag.clone(),
        );
    }

    fn set(&self, f: &crate::db::metrics::QueueFigures) {
        self.outbox_undispatched.set(f.outbox_undispatched);
        self.webhook_backlog.set(f.webhook_backlog);
        self.webhook_oldest.set(f.webhook_oldest_seconds);
        self.audit_unsealed.set(f.audit_unsealed);
        self.audit_lag.set(f.audit_sealing_lag_seconds);
        self.connectors_due.set(f.connectors_due);
        self.connector_lag.set(f.connector_lag_seconds);
    }
}

/// Decrements the in-flight gauge when the request's answer is done.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// This process's resident memory in MiB (0 where unavailable): logged beside a reconciliation
/// run's phases, whose memory grows with the book.
pub fn resident_mib() -> u64 {
    process_status_kib("VmRSS:") / 1024
}

/// The highest resident memory this process has had, in MiB (see [`resident_mib`]).
pub fn peak_resident_mib() -> u64 {
    process_status_kib("VmHWM:") / 1024
}

/// A KiB figure of `/proc/self/status` (`VmRSS:`, `VmHWM:` ...); 0 where unavailable.
pub fn process_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}
