//! The webhook worker: one thread per server process (like the reconciliation worker), with its
//! own small async runtime for the HTTP requests. In a loop it
//!
//! 1. **dispatches**: claims committed outbox events without deliveries (`FOR UPDATE SKIP
//!    LOCKED`) and, in the same transaction, creates one delivery per subscribed, enabled
//!    endpoint and marks the events dispatched;
//! 2. **claims** due deliveries (`SKIP LOCKED`), counts the attempt and pushes the delivery's due
//!    time forward by a lease, and commits: the connection goes back to the pool;
//! 3. **sends** each one with no database connection held, then records the outcome in a new
//!    transaction: success, a retry time from the schedule (or `Retry-After`), failure after the
//!    last attempt, or the endpoint disabled on 410 Gone.
//!
//! At least once: a worker that dies between sending and recording leaves the delivery pending
//! with its lease as due time, so another worker (or the restarted one) sends it again with the
//! same `webhook-id`. Receivers deduplicate on it. At a graceful shutdown requests in flight get
//! the drain time to finish and be recorded; those still waiting then are stopped and handed back
//! due at once ([`w_db::hand_back`]), so another process sends them on its next poll instead of
//! after the lease.

use crate::config::WebhookConfig;
// The SSRF-guarded resolver is shared with the connectors' clients.
use crate::connectors::http::{error_chain, refusal, GuardedResolver};
use crate::db::audit as audit_db;
use crate::db::outbox::OutboxEvent;
use crate::db::webhooks::{self as w_db, Attempt, Delivery};
use crate::db::DbPool;
use crate::domain::auth::{Actor, Principal, Role};
use crate::domain::webhook_delivery::DeliveryStatus;
use crate::domain::{ssrf, webhook_signature};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::data_safety::{sealing, Keyring};
use crate::services::metrics::Metrics;
use crate::services::polling::{spawn_runtime_thread, Claimed, Polling};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;
use uuid::Uuid;

/// Events turned into deliveries per dispatcher transaction.
const DISPATCH_BATCH: i64 = 500;
/// Bytes of an answer kept on the attempt.
pub const EXCERPT_BYTES: usize = 2048;

/// What the worker reports and how long it may drain at shutdown.
pub struct WorkerEnv {
    pub metrics: Arc<Metrics>,
    /// At shutdown, how long requests in flight may take before they are stopped and handed back.
    pub drain: Duration,
}

pub fn spawn_worker(
    pool: DbPool,
    config: WebhookConfig,
    keys: Arc<Keyring>,
    stop: Arc<AtomicBool>,
    env: WorkerEnv,
) -> std::thread::JoinHandle<()> {
    spawn_runtime_thread("webhook-worker", move || run(pool, config, keys, stop, env))
}

async fn run(pool: DbPool, config: WebhookConfig, keys: Arc<Keyring>, stop: Arc<AtomicBool>, env: WorkerEnv) {
    let clients = match Clients::new(&config) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "webhook worker: cannot build the HTTP client");
            return;
        }
    };
    let config = Arc::new(config);
    let claim_jobs = |free: usize| {
        let (pool, lease, keys) = (pool.clone(), config.lease, keys.clone());
        async move {
            let dispatched = match blocking(&pool, |c| dispatch(c, Utc::now(), DISPATCH_BATCH)).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(error = %e.message, "webhook dispatcher idle after error");
                    0
                }
            };
            let jobs = if free > 0 {
                blocking(&pool, move |c| claim(c, &keys, Utc::now(), free as i64, lease)).await?
            } else {
                Vec::new()
            };
            // A full dispatch batch means more events are waiting.
            Ok(Claimed { jobs, more: dispatched as i64 == DISPATCH_BATCH })
        }
    };
    let metrics = env.metrics.clone();
    let unfinished = Polling::new("webhook-worker", config.poll_interval)
        .drain_within(env.drain)
        .run_claiming(
            &stop,
            config.concurrency,
            claim_jobs,
            |job| deliver(pool.clone(), clients.clone(), config.clone(), metrics.clone(), job),
            |job| (job.delivery.id, job.attempt_id),
        )
        .await;
    hand_back(&pool, unfinished).await;
}

/// Deliveries whose requests were stopped at shutdown become due at once.
async fn hand_back(pool: &DbPool, unfinished: Vec<(Uuid, Uuid)>) {
    if unfinished.is_empty() {
        return;
    }
    let handed = blocking(pool, move |c| {
        let now = Utc::now();
        let error = "interrupted: the process shut down before the answer came; sent again";
        let mut handed = 0;
        for (delivery, attempt) in unfinished {
            handed += usize::from(w_db::hand_back(c, delivery, attempt, error, now)?);
        }
        Ok(handed)
    })
    .await;
    match handed {
        Ok(n) => tracing::info!(deliveries = n, "webhook deliveries handed back at shutdown"),
        // Their leases run out and they are sent again.
        Err(e) => tracing::warn!(error = %e.message, "webhook deliveries not handed back at shutdown"),
    }
}

/// Runs diesel work in one transaction on the runtime's blocking threads.
pub(crate) async fn blocking<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = pool.get()?;
        let conn: &mut PgConnection = &mut pooled;
        conn.transaction(work)
    })
    .await
    .map_err(AppError::internal)?
}

// ----- dispatch ------------------------------------------------------------------------------

fn subscribed(endpoint: &w_db::Endpoint, event: &OutboxEvent) -> bool {
    endpoint.tenant_id == event.tenant_id
        && endpoint.enabled
        // An endpoint gets the events that happen after it was registered.
        && endpoint.created_at <= event.created_at
        && (endpoint.customer_id.is_none() || endpoint.customer_id == event.customer_id)
        && (endpoint.event_types.is_empty() || endpoint.event_types.contains(&event.event_type))
}

/// Creates the deliveries of a batch of undispatched events; returns how many events it took.
pub fn dispatch(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> AppResult<usize> {
    let events = w_db::claim_events(conn, limit)?;
    if events.is_empty() {
        return Ok(0);
    }
    let tenants: Vec<Uuid> = events.iter().map(|e| e.tenant_id).collect::<HashSet<_>>().into_iter().collect();
    let endpoints = w_db::enabled_endpoints_of(conn, &tenants)?;
    let mut rows = Vec::new();
    for event in &events {
        for endpoint in endpoints.iter().filter(|ep| subscribed(ep, event)) {
            rows.push(Delivery {
                id: Uuid::now_v7(),
                tenant_id: event.tenant_id,
                endpoint_id: endpoint.id,
                event_id: event.id,
                event_type: event.event_type.clone(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                schedule_attempts: 0,
                next_attempt_at: Some(now),
                last_status_code: None,
                last_error: None,
                created_at: now,
                updated_at: now,
                delivered_at: None,
            });
        }
    }
    w_db::insert_deliveries(conn, &rows)?;
    w_db::mark_dispatched(conn, &events.iter().map(|e| e.id).collect::<Vec<_>>(), now)?;
    Ok(events.len())
}

// ----- claim ---------------------------------------------------------------------------------

/// One attempt to make: everything the request needs, read before the connection is released.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery: Delivery,
    pub attempt_id: Uuid,
    pub url: String,
    pub secrets: Vec<String>,
    pub body: Vec<u8>,
    pub allow_private: bool,
    /// When the event happened (the delivery latency reported by `GET /metrics` starts there).
    pub event_created_at: DateTime<Utc>,
}

fn claim(
    conn: &mut PgConnection,
    keys: &Keyring,
    now: DateTime<Utc>,
    limit: i64,
    lease: Duration,
) -> AppResult<Vec<Job>> {
    let due = w_db::lock_due(conn, now, limit)?;
    if due.is_empty() {
        return Ok(vec![]);
    }
    let endpoint_ids: Vec<Uuid> = due.iter().map(|d| d.endpoint_id).collect();
    let endpoints: HashMap<Uuid, w_db::Endpoint> =
        w_db::endpoints_by_id(conn, &endpoint_ids)?.into_iter().map(|e| (e.id, e)).collect();
    let event_ids: Vec<Uuid> = due.iter().map(|d| d.event_id).collect();
    let payloads: HashMap<Uuid, (serde_json::Value, DateTime<Utc>)> =
        w_db::payloads(conn, &event_ids)?.into_iter().map(|(id, payload, at)| (id, (payload, at))).collect();
    let tenant_ids: Vec<Uuid> = due.iter().map(|d| d.tenant_id).collect();
    let allowing: HashSet<Uuid> = w_db::tenants_allowing_private(conn, &tenant_ids)?.into_iter().collect();
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let mut jobs = Vec::with_capacity(due.len());
    for d in due {
        let (Some(endpoint), Some((payload, event_created_at))) =
            (endpoints.get(&d.endpoint_id), payloads.get(&d.event_id))
        else {
            continue;
        };
        if !endpoint.enabled {
            w_db::record_outcome(
                conn,
                &d,
                DeliveryStatus::Cancelled,
                None,
                None,
                Some("the endpoint is disabled"),
                None,
                now,
            )?;
            continue;
        }
        w_db::lease(conn, &d, until, now)?;
        let attempt_id = Uuid::now_v7();
        w_db::insert_attempt(
            conn,
            &Attempt {
                id: attempt_id,
                tenant_id: d.tenant_id,
                delivery_id: d.id,
                started_at: now,
                finished_at: None,
                duration_ms: None,
                status_code: None,
                response_excerpt: None,
                error: None,
            },
        )?;
        jobs.push(Job {
            attempt_id,
            url: endpoint.url.clone(),
            secrets: endpoint
                .active_secrets(now)
                .into_iter()
                .map(|s| sealing::open_text(keys, conn, d.tenant_id, s))
                .collect::<AppResult<_>>()?,
            body: serde_json::to_vec(payload).map_err(AppError::internal)?,
            allow_private: allowing.contains(&d.tenant_id),
            event_created_at: *event_created_at,
            delivery: d,
        });
    }
    Ok(jobs)
}

// ----- send ----------------------------------------------------------------------------------

/// What one HTTP try came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx.
    Delivered { status: u16, excerpt: String },
    /// 410 Gone: the receiver asks us to stop; the endpoint is disabled.
    Gone { excerpt: String },
    /// Any other answer or a network failure: tried again later.
    Retry { status: Option<u16>, excerpt: Option<String>, error: String, retry_after: Option<Duration> },
    /// The SSRF guard refused the target: not tried again.
    Refused { error: String },
}

impl Outcome {
    /// The `outcome` label of the attempt metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Gone { .. } => "gone",
            Outcome::Retry { .. } => "retry",
            Outcome::Refused { .. } => "refused",
        }
    }
}

/// Two clients: one whose resolver refuses non-public addresses, one for tenants that allow
/// private targets. Neither follows redirects or uses a proxy, so the request goes to the
/// address the resolver vetted and nowhere else.
struct Clients {
    strict: reqwest::Client,
    permissive: reqwest::Client,
}

impl Clients {
    fn new(config: &WebhookConfig) -> reqwest::Result<Clients> {
        let build = |allow_private: bool| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver { allow_private }))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(config.request_timeout)
                .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
                .user_agent(concat!("duizhang-webhooks/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Clients { strict: build(false)?, permissive: build(true)? })
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The `webhook-signature` header: one `v1,` signature per active secret.
pub fn signature_header(secrets: &[String], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| webhook_signature::secret_key(s))
        .map(|key| webhook_signature::sign(&key, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn send(clients: &Clients, job: &Job) -> Outcome {
    let url = match Url::parse(&job.url) {
        Ok(u) => u,
        Err(e) => return Outcome::Refused { error: format!("invalid URL: {e}") },
    };
    if !job.allow_private {
        // Address literals are not resolved, so the resolver cannot vet them.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            if let Some(reason) = ssrf::non_public_reason(ip) {
                return Outcome::Refused { error: refusal(&format!("the address {ip}"), reason) };
            }
        }
    }
    let client = if job.allow_private { &clients.permissive } else { &clients.strict };
    let msg_id = job.delivery.event_id.to_string();
    let timestamp = Utc::now().timestamp();
    let request = client
        .post(url)
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature_header(&job.secrets, &msg_id, timestamp, &job.body))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(job.body.clone());
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now()));
            let location =
                response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
            let excerpt = read_excerpt(response).await;
            if status.is_success() {
                Outcome::Delivered { status: status.as_u16(), excerpt }
            } else if status == reqwest::StatusCode::GONE {
                Outcome::Gone { excerpt }
            } else {
                let error = match (status.is_redirection(), location) {
                    (true, Some(to)) => format!("HTTP {status}: redirects are not followed (to {to})"),
                    _ => format!("HTTP {status}"),
                };
                Outcome::Retry { status: Some(status.as_u16()), excerpt: Some(excerpt), error, retry_after }
            }
        }
        Err(e) => {
            let (error, refused) = error_chain(&e);
            if refused {
                Outcome::Refused { error }
            } else {
                Outcome::Retry { status: None, excerpt: None, error, retry_after: None }
            }
        }
    }
}

async fn deliver(pool: DbPool, clients: Arc<Clients>, config: Arc<WebhookConfig>, metrics: Arc<Metrics>, job: Job) {
    let started = Instant::now();
    let outcome = send(&clients, &job).await;
    let elapsed = started.elapsed();
    metrics.observe_webhook_attempt(outcome.label(), elapsed.as_secs_f64());
    let (id, event_created_at) = (job.delivery.id, job.event_created_at);
    let delivered = matches!(outcome, Outcome::Delivered { .. });
    match blocking(&pool, move |c| record(c, &job, &outcome, elapsed, &config, Utc::now())).await {
        Ok(()) if delivered => {
            let waited = (Utc::now() - event_created_at).to_std().unwrap_or_default();
            metrics.observe_webhook_delivered(waited.as_secs_f64());
        }
        Ok(()) => {}
        // The lease runs out and the delivery is sent again.
        Err(e) => tracing::warn!(delivery = %id, error = %e.message, "webhook attempt not recorded"),
    }
}

/// When the next try is due after the `n`th failed try of a schedule (1-based), or `None` when
/// the schedule is exhausted. Each delay gets ±20 % jitter; a `Retry-After` (capped) is a minimum.
pub fn next_attempt(
    schedule: &[Duration],
    failed_tries: usize,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
    jitter: f64,
) -> Option<Duration> {
    let base = *schedule.get(failed_tries.checked_sub(1)?)?;
    let delay = base.mul_f64(jitter.clamp(0.8, 1.2));
    Some(match retry_after {
        Some(ra) => delay.max(ra.min(max_retry_after)),
        None => delay,
    })
}

fn record(
    conn: &mut PgConnection,
    job: &Job,
    outcome: &Outcome,
    elapsed: Duration,
    config: &WebhookConfig,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let d = &job.delivery;
    let mut attempt = Attempt {
        id: job.attempt_id,
        tenant_id: d.tenant_id,
        delivery_id: d.id,
        started_at: now,
        finished_at: Some(now),
        duration_ms: Some(elapsed.as_millis().min(i32::MAX as u128) as i32),
        status_code: None,
        response_excerpt: None,
        error: None,
    };
    match outcome {
        Outcome::Delivered { status, excerpt } => {
            attempt.status_code = Some(*status as i32);
            attempt.response_excerpt = Some(excerpt.clone());
            w_db::record_outcome(conn, d, DeliveryStatus::Succeeded, None, Some(*status as i32), None, Some(now), now)?;
        }
        Outcome::Gone { excerpt } => {
            attempt.status_code = Some(410);
            attempt.response_excerpt = Some(excerpt.clone());
            let reason = format!("the endpoint answered 410 Gone at {now}");
            w_db::record_outcome(conn, d, DeliveryStatus::Failed, None, Some(410), Some(&reason), None, now)?;
            if w_db::disable_endpoint(conn, d.tenant_id, d.endpoint_id, &reason, now)? {
                tracing::info!(endpoint = %d.endpoint_id, "webhook endpoint disabled: 410 Gone");
                let system =
                    Principal { tenant_id: d.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
                let mut a = entry(&system, "webhook_endpoint.disabled", "webhook_endpoint", &d.endpoint_id.to_string());
                a.after = Some(serde_json::json!({ "enabled": false, "disabled_reason": reason }));
                audit_db::append(conn, d.tenant_id, vec![a])?;
            }
        }
        Outcome::Refused { error } => {
            attempt.error = Some(error.clone());
            w_db::record_outcome(conn, d, DeliveryStatus::Failed, None, None, Some(error), None, now)?;
        }
        Outcome::Retry { status, excerpt, error, retry_after } => {
            attempt.status_code = status.map(i32::from);
            attempt.response_excerpt = excerpt.clone();
            attempt.error = Some(error.clone());
            retry_or_give_up(conn, d, config, error, *status, *retry_after, now)?;
        }
    }
    // The attempt's start is when it was claimed; keep that.
    w_db::finish_attempt(conn, &attempt)?;
    Ok(())
}

/// After a failed try: the next attempt by the retry schedule (and the endpoint's Retry-After),
/// or the delivery fails once the schedule is spent.
fn retry_or_give_up(
    conn: &mut PgConnection,
    d: &Delivery,
    config: &WebhookConfig,
    error: &str,
    status: Option<u16>,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let tries = d.schedule_attempts as usize + 1;
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    match next_attempt(&config.retry_schedule, tries, retry_after, config.max_retry_after, jitter) {
        Some(delay) => {
            let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
            w_db::record_outcome(
                conn,
                d,
                DeliveryStatus::Pending,
                Some(at),
                status.map(i32::from),
                Some(error),
                None,
                now,
            )?;
        }
        None => {
            let error = format!("gave up after {tries} attempts; last: {error}");
            w_db::record_outcome(
                conn,
                d,
                DeliveryStatus::Failed,
                None,
                status.map(i32::from),
                Some(&error),
                None,
                now,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "webhook_worker_tests.rs"]
mod tests;
