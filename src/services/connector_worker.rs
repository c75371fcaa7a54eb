//! The connector scheduler: one thread per server process with its own small async runtime.
//! In a loop it
//!
//! 1. **claims** due, enabled connectors (`FOR UPDATE SKIP LOCKED`), gives each a lease
//!    (`lease_owner`, `lease_until`, and `next_run_at` pushed to the lease's end so a crashed
//!    worker's connector becomes due again by itself), opens a `running` sync in the history and
//!    commits: the connection goes back to the pool;
//! 2. **fetches** pages over HTTP with no database connection held;
//! 3. **commits each page** in its own transaction through the ordinary import use cases
//!    (`customers::import`, `documents::import`, `bank::import_statement`), advancing the cursor
//!    and renewing the lease in that same transaction, so an interrupted sync resumes after the
//!    last committed page and a page is written whole or not at all;
//! 4. **finishes**: success schedules the next run after `schedule_seconds`; a failure is
//!    recorded in the history and retried with exponential backoff. Each connector is handled on
//!    its own, so one failing connector never holds up the others.

use crate::config::ConnectorConfig;
use crate::db::connectors::{self as c_db, Connector, ConnectorSync};
use crate::db::DbPool;
use crate::domain::auth::{Actor, Principal, Role};
use crate::domain::secret_box::SecretBox;
use crate::domain::ssrf;
use crate::error::{AppError, AppResult};
use crate::services::bank::{self, StatementUpload};
use crate::services::connectors::{
    BankFileConfig, BankFileCredentials, ConnectorType, ErpnextConfig, ErpnextCredentials,
};
use crate::services::import::{ImportFormat, ImportReport};
use crate::services::webhook_worker::{blocking, error_chain, GuardedResolver};
use crate::services::{customers, documents};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Connectors synced at once per process.
const CONCURRENCY: usize = 4;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_JSON_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// Tries of one request (connect errors, 5xx and 429 are tried again).
const REQUEST_TRIES: u32 = 3;
/// Rejected records kept on a sync.
const MAX_REJECTED: usize = 50;
/// First retry delay after a failed sync; doubles per consecutive failure.
const BACKOFF_BASE_SECONDS: i64 = 60;
const BACKOFF_MAX_SECONDS: i64 = 6 * 3600;

pub fn spawn_worker(
    pool: DbPool,
    config: ConnectorConfig,
    secrets: SecretBox,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("connector-worker".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "connector worker: cannot start its runtime");
                    return;
                }
            };
            runtime.block_on(run(pool, config, secrets, stop));
        })
        .expect("spawn the connector worker")
}

/// Two clients: one whose resolver refuses non-public addresses, one for tenants that allow
/// private targets (`PUT /webhook-settings allow_private_targets`). No redirects, no proxy.
pub struct Clients {
    strict: reqwest::Client,
    permissive: reqwest::Client,
}

impl Clients {
    pub fn new() -> reqwest::Result<Clients> {
        let build = |allow_private: bool| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver { allow_private }))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("duizhang-connectors/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Clients { strict: build(false)?, permissive: build(true)? })
    }
}

async fn run(pool: DbPool, config: ConnectorConfig, secrets: SecretBox, stop: Arc<AtomicBool>) {
    let clients = match Clients::new() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "connector worker: cannot build the HTTP client");
            return;
        }
    };
    let secrets = Arc::new(secrets);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    while !stop.load(Ordering::Relaxed) {
        while in_flight.try_join_next().is_some() {}
        let free = CONCURRENCY.saturating_sub(in_flight.len());
        let mut claimed = 0;
        if free > 0 {
            let lease = config.lease;
            match blocking(&pool, move |c| claim(c, Utc::now(), free as i64, lease)).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        let ctx = Ctx { pool: pool.clone(), clients: clients.clone(), lease, job };
                        in_flight.spawn(run_job(ctx, secrets.clone()));
                    }
                }
                Err(e) => tracing::debug!(error = %e.message, "connector worker idle after error"),
            }
        }
        if claimed == 0 || claimed < free {
            tokio::select! {
                _ = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(config.poll_interval) => {}
            }
        }
    }
    // Abandoned syncs keep their committed pages; their leases run out and they run again.
    in_flight.abort_all();
}

/// A claimed connector.
#[derive(Debug, Clone)]
pub struct Job {
    pub connector: Connector,
    pub owner: Uuid,
    pub sync_id: Uuid,
    pub allow_private: bool,
}

fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(300))
}

fn claim(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64, lease: Duration) -> AppResult<Vec<Job>> {
    let due = c_db::lock_due(conn, now, limit)?;
    let mut jobs = Vec::with_capacity(due.len());
    for mut c in due {
        let owner = Uuid::new_v4();
        let until = lease_end(now, lease);
        c.lease_owner = Some(owner);
        c.lease_until = Some(until);
        c.next_run_at = Some(until);
        c.updated_at = now;
        c_db::save(conn, &c)?;
        let sync = ConnectorSync {
            id: Uuid::now_v7(),
            tenant_id: c.tenant_id,
            connector_id: c.id,
            status: "running".into(),
            started_at: now,
            finished_at: None,
            pages: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            rejected: json!([]),
            error: None,
        };
        c_db::insert_sync(conn, &sync)?;
        let allow_private = c_db::tenant_allows_private(conn, c.tenant_id)?;
        jobs.push(Job { connector: c, owner, sync_id: sync.id, allow_private });
    }
    Ok(jobs)
}

/// What a sync needs besides its job.
pub struct Ctx {
    pool: DbPool,
    clients: Arc<Clients>,
    lease: Duration,
    job: Job,
}

impl Ctx {
    fn client(&self) -> &reqwest::Client {
        if self.job.allow_private {
            &self.clients.permissive
        } else {
            &self.clients.strict
        }
    }

    fn system(&self) -> Principal {
        Principal { tenant_id: self.job.connector.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] }
    }

    /// One page in one transaction: the import, the cursor (merged into the stored one), the
    /// lease renewal and the counts of the sync. Fails when the lease was lost.
    async fn commit_page<F>(&self, cursor_patch: Value, work: F) -> Result<(), String>
    where
        F: FnOnce(&mut PgConnection, &Principal) -> AppResult<PageCounts> + Send + 'static,
    {
        let (id, owner, sync_id, lease) = (self.job.connector.id, self.job.owner, self.job.sync_id, self.lease);
        let principal = self.system();
        blocking(&self.pool, move |conn| {
            let mut c = c_db::lock_leased(conn, id, owner)?
                .ok_or_else(|| AppError::conflict("the connector's lease was lost to another worker"))?;
            let counts = work(conn, &principal)?;
            let now = Utc::now();
            merge(&mut c.sync_cursor, cursor_patch);
            // Keep a manual "sync now" (next_run_at moved before the lease end) intact.
            let requested = c.next_run_at != c.lease_until;
            c.lease_until = Some(lease_end(now, lease));
            if !requested {
                c.next_run_at = c.lease_until;
            }
            c.updated_at = now;
            c_db::save(conn, &c)?;
            let mut s = c_db::find_sync(conn, sync_id)?;
            s.pages += 1;
            s.created += counts.created;
            s.updated += counts.updated;
            s.skipped += counts.skipped;
            if let Value::Array(list) = &mut s.rejected {
                for r in counts.rejected {
                    if list.len() < MAX_REJECTED {
                        list.push(r);
                    }
                }
            }
            c_db::save_sync(conn, &s)?;
            Ok(())
        })
        .await
        .map_err(|e| e.message)
    }
}

#[derive(Debug, Default)]
pub struct PageCounts {
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub rejected: Vec<Value>,
}

impl PageCounts {
    fn add_report(&mut self, report: ImportReport, names: &[String], kind: &str) {
        self.created += report.created as i32;
        self.updated += report.updated as i32;
        self.skipped += (report.unchanged as usize + report.rejected.len()) as i32;
        for r in report.rejected {
            let record = names.get(r.row as usize - 1).cloned().unwrap_or_default();
            self.rejected.push(json!({ "kind": kind, "record": record, "error": r.error }));
        }
    }
}

fn merge(target: &mut Value, patch: Value) {
    if !target.is_object() {
        *target = json!({});
    }
    if let (Value::Object(t), Value::Object(p)) = (target, patch) {
        for (k, v) in p {
            t.insert(k, v);
        }
    }
}

async fn run_job(ctx: Ctx, secrets: Arc<SecretBox>) {
    let id = ctx.job.connector.id;
    let result = sync(&ctx, &secrets).await;
    if let Err(e) = &result {
        tracing::info!(connector = %id, error = %e, "connector sync failed");
    }
    let (owner, sync_id) = (ctx.job.owner, ctx.job.sync_id);
    if let Err(e) = blocking(&ctx.pool, move |c| finish(c, id, owner, sync_id, result, Utc::now())).await {
        // The lease runs out and the connector runs again.
        tracing::warn!(connector = %id, error = %e.message, "connector sync outcome not recorded");
    }
}

/// Delay before retrying after the `failures`th consecutive failure.
pub fn backoff(failures: i32, schedule_seconds: i32) -> chrono::Duration {
    let exp = (failures.max(1) - 1).min(20) as u32;
    let secs = BACKOFF_BASE_SECONDS.saturating_mul(1i64 << exp);
    chrono::Duration::seconds(secs.min(BACKOFF_MAX_SECONDS.max(schedule_seconds as i64)))
}

fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Uuid,
    sync_id: Uuid,
    result: Result<(), String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut s = c_db::find_sync(conn, sync_id)?;
    s.finished_at = Some(now);
    match c_db::lock_leased(conn, id, owner)? {
        None => {
            s.status = "failed".into();
            s.error = Some(result.err().unwrap_or_else(|| "the lease was lost to another worker".into()));
        }
        Some(mut c) => {
            let requested = c.next_run_at != c.lease_until;
            c.lease_owner = None;
            c.lease_until = None;
            c.last_sync_at = Some(now);
            match &result {
                Ok(()) => {
                    s.status = "succeeded".into();
                    c.consecutive_failures = 0;
                    c.last_status = Some("succeeded".into());
                    c.last_error = None;
                    if !requested {
                        c.next_run_at = Some(now + chrono::Duration::seconds(c.schedule_seconds as i64));
                    }
                }
                Err(e) => {
                    s.status = "failed".into();
                    s.error = Some(e.clone());
                    c.consecutive_failures += 1;
                    c.last_status = Some("failed".into());
                    c.last_error = Some(e.clone());
                    if !requested {
                        c.next_run_at = Some(now + backoff(c.consecutive_failures, c.schedule_seconds));
                    }
                }
            }
            c.updated_at = now;
            c_db::save(conn, &c)?;
        }
    }
    c_db::save_sync(conn, &s)?;
    Ok(())
}

async fn sync(ctx: &Ctx, secrets: &SecretBox) -> Result<(), String> {
    let c = &ctx.job.connector;
    let credentials: Option<Value> = match &c.credentials {
        None => None,
        Some(sealed) => {
            let plain = secrets.open(sealed)?;
            Some(serde_json::from_slice(&plain).map_err(|_| "the stored credentials are unreadable".to_string())?)
        }
    };
    match ConnectorType::parse(&c.connector_type) {
        Some(ConnectorType::Erpnext) => {
            let config: ErpnextConfig =
                serde_json::from_value(c.config.clone()).map_err(|e| format!("invalid config: {e}"))?;
            let creds: ErpnextCredentials = credentials
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| "the stored credentials are unreadable".to_string())?
                .ok_or("the connector has no credentials")?;
            erpnext_sync(ctx, &config, &creds).await
        }
        Some(ConnectorType::BankFile) => {
            let config: BankFileConfig =
                serde_json::from_value(c.config.clone()).map_err(|e| format!("invalid config: {e}"))?;
            let creds: BankFileCredentials = credentials
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| "the stored credentials are unreadable".to_string())?
                .unwrap_or_default();
            bank_file_sync(ctx, &config, &creds).await
        }
        None => Err(format!("unknown connector type {:?}", c.connector_type)),
    }
}

// ----- HTTP ----------------------------------------------------------------------------------

/// Refuses an address literal that is not public unless allowed (the resolver only vets names).
fn check_target(url: &str, allow_private: bool) -> Result<url::Url, String> {
    ssrf::validate_url(url, allow_private).map_err(|e| format!("refused by the SSRF guard: {e}"))
}

/// Sends with retries on connect errors, 5xx and 429 (short exponential pauses).
async fn send_with_retries(build: impl Fn() -> reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
    let mut last = String::new();
    for attempt in 0..REQUEST_TRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
        }
        match build().send().await {
            Ok(r) if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                last = format!("HTTP {}", r.status());
            }
            Ok(r) => return Ok(r),
            Err(e) => {
                let (text, refused) = error_chain(&e);
                if refused || !e.is_connect() {
                    return Err(text);
                }
                last = text;
            }
        }
    }
    Err(format!("{last} (after {REQUEST_TRIES} tries)"))
}

/// The body, refused beyond `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the answer is larger than {limit} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e).0)? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn status_error(status: reqwest::StatusCode) -> String {
    match status.as_u16() {
        401 | 403 => format!("authentication failed (HTTP {status}): check the connector's credentials"),
        _ => format!("HTTP {status}"),
    }
}

// ----- ERPNext / Frappe ----------------------------------------------------------------------

const INVOICE_FIELDS: &str =
    r#"["name","customer","posting_date","due_date","currency","grand_total","is_return","modified"]"#;
const CUSTOMER_FIELDS: &str = r#"["name","customer_name","modified"]"#;

/// Where a doctype's sync stands: the last `modified` committed and how many records with
/// exactly that `modified` were committed (they are skipped with `limit_start`, so records that
/// share a timestamp across a page boundary are neither lost nor fetched twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctypeCursor {
    pub modified: Option<String>,
    pub seen_at_modified: u64,
}

impl DoctypeCursor {
    fn from_value(v: Option<&Value>) -> DoctypeCursor {
        let Some(v) = v else { return DoctypeCursor::default() };
        DoctypeCursor {
            modified: v.get("modified").and_then(Value::as_str).map(str::to_string),
            seen_at_modified: v.get("seen_at_modified").and_then(Value::as_u64).unwrap_or(0),
        }
    }

    fn to_value(&self) -> Value {
        json!({ "modified": self.modified, "seen_at_modified": self.seen_at_modified })
    }

    /// The cursor after a page of records (ordered by `modified`).
    pub fn advance(&self, page_modified: &[String]) -> DoctypeCursor {
        let Some(last) = page_modified.last() else { return self.clone() };
        let tail = page_modified.iter().rev().take_while(|m| *m == last).count() as u64;
        let carried = if self.modified.as_deref() == Some(last.as_str()) && tail == page_modified.len() as u64 {
            self.seen_at_modified
        } else {
            0
        };
        DoctypeCursor { modified: Some(last.clone()), seen_at_modified: carried + tail }
    }
}

fn resource_url(config: &ErpnextConfig, doctype: &str, fields: &str, cursor: &DoctypeCursor) -> String {
    let mut url = format!("{}/api/resource/{}", config.base_url, doctype.replace(' ', "%20"));
    let mut filters = vec![];
    if let Some(m) = &cursor.modified {
        filters.push(json!(["modified", ">=", m]));
    }
    if doctype == "Sales Invoice" {
        // Submitted invoices only: drafts can still change, cancelled ones are void.
        filters.push(json!(["docstatus", "=", 1]));
    }
    let query = [
        ("fields", fields.to_string()),
        ("filters", Value::Array(filters).to_string()),
        ("limit_start", cursor.seen_at_modified.to_string()),
        ("limit_page_length", config.page_size.to_string()),
        ("order_by", "modified asc, name asc".to_string()),
    ];
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    url.push('?');
    url.push_str(&q.join("&"));
    url
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One page of `{"data":[...]}`.
async fn fetch_page(ctx: &Ctx, url: &str, auth: &str) -> Result<Vec<Value>, String> {
    let target = check_target(url, ctx.job.allow_private)?;
    let client = ctx.client();
    let response = send_with_retries(|| {
        client
            .get(target.clone())
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(reqwest::header::ACCEPT, "application/json")
    })
    .await?;
    let status = response.status();
    if !status.is_success() {
        return Err(status_error(status));
    }
    let body = read_limited(response, MAX_JSON_BYTES).await?;
    let parsed: Value = serde_json::from_slice(&body).map_err(|e| format!("malformed JSON from ERPNext: {e}"))?;
    match parsed.get("data") {
        Some(Value::Array(rows)) => Ok(rows.clone()),
        _ => Err("malformed answer from ERPNext: expected {\"data\":[...]}".into()),
    }
}

fn text(row: &Value, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truthy(row: &Value, field: &str) -> bool {
    match row.get(field) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1",
        _ => false,
    }
}

/// A Sales Invoice as a `documents::import` row.
pub fn map_invoice(row: &Value) -> Result<Value, String> {
    let name = text(row, "name").ok_or("name is missing")?;
    let total = text(row, "grand_total").ok_or("grand_total is missing")?;
    let currency = text(row, "currency").ok_or("currency is missing")?;
    // Frappe sends floats: rounded to the currency's minor units (binary noise such as
    // 0.30000000000000004 would otherwise be refused as too precise).
    let minor = crate::domain::money::Currency::parse(&currency).map(|c| c.minor_units()).unwrap_or(2);
    let amount = Decimal::from_str(&total)
        .or_else(|_| Decimal::from_scientific(&total))
        .map_err(|_| format!("grand_total {total:?} is not a number"))?
        .abs()
        .round_dp(minor)
        .normalize();
    Ok(json!({
        "doc_type": if truthy(row, "is_return") { "credit_note" } else { "invoice" },
        "doc_no": name,
        "customer_code": text(row, "customer").ok_or("customer is missing")?,
        "issue_date": text(row, "posting_date").ok_or("posting_date is missing")?,
        "due_date": text(row, "due_date"),
        "currency": currency,
        "amount": amount.to_string(),
        "external_reference": name,
        "source_system": "erpnext",
    }))
}

pub fn map_customer(row: &Value) -> Result<Value, String> {
    let code = text(row, "name").ok_or("name is missing")?;
    let name = text(row, "customer_name").unwrap_or_else(|| code.clone());
    Ok(json!({ "code": code, "name": name }))
}

async fn erpnext_sync(ctx: &Ctx, config: &ErpnextConfig, creds: &ErpnextCredentials) -> Result<(), String> {
    let auth = format!("token {}:{}", creds.api_key, creds.api_secret);
    if config.sync_customers {
        sync_doctype(ctx, config, &auth, "Customer", CUSTOMER_FIELDS, "customers", map_customer).await?;
    }
    sync_doctype(ctx, config, &auth, "Sales Invoice", INVOICE_FIELDS, "invoices", map_invoice).await
}

async fn sync_doctype(
    ctx: &Ctx,
    config: &ErpnextConfig,
    auth: &str,
    doctype: &str,
    fields: &str,
    key: &'static str,
    map: fn(&Value) -> Result<Value, String>,
) -> Result<(), String> {
    let mut cursor = DoctypeCursor::from_value(ctx.job.connector.sync_cursor.get(key));
    loop {
        let url = resource_url(config, doctype, fields, &cursor);
        let rows = fetch_page(ctx, &url, auth).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let modified: Vec<String> = rows.iter().map(|r| text(r, "modified").unwrap_or_default()).collect();
        let mut mapped = Vec::with_capacity(rows.len());
        let mut names = Vec::with_capacity(rows.len());
        let mut counts = PageCounts::default();
        for row in &rows {
            let name = text(row, "name").unwrap_or_default();
            match map(row) {
                Ok(v) => {
                    mapped.push(v);
                    names.push(name);
                }
                Err(error) => {
                    counts.skipped += 1;
                    counts.rejected.push(json!({ "kind": key, "record": name, "error": error }));
                }
            }
        }
        let next = cursor.advance(&modified);
        let body = serde_json::to_vec(&mapped).map_err(|e| e.to_string())?;
        let full = rows.len() as u32 >= config.page_size;
        ctx.commit_page(json!({ key: next.to_value() }), move |conn, principal| {
            if !mapped.is_empty() {
                let report = if key == "customers" {
                    customers::import(conn, principal, ImportFormat::Json, &body)?
                } else {
                    documents::import(conn, principal, ImportFormat::Json, &body)?
                };
                counts.add_report(report, &names, key);
            }
            Ok(counts)
        })
        .await?;
        cursor = next;
        if !full {
            return Ok(());
        }
    }
}

// ----- bank files ----------------------------------------------------------------------------

async fn bank_file_sync(ctx: &Ctx, config: &BankFileConfig, creds: &BankFileCredentials) -> Result<(), String> {
    let target = check_target(&config.url, ctx.job.allow_private)?;
    let cursor = &ctx.job.connector.sync_cursor;
    let etag = cursor.get("etag").and_then(Value::as_str).map(str::to_string);
    let last_modified = cursor.get("last_modified").and_then(Value::as_str).map(str::to_string);
    let client = ctx.client();
    let auth = if let Some(token) = &creds.bearer_token {
        Some(format!("Bearer {token}"))
    } else if let Some(user) = &creds.username {
        let pair = format!("{user}:{}", creds.password.as_deref().unwrap_or(""));
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    } else {
        None
    };
    let response = send_with_retries(|| {
        let mut r = client.get(target.clone());
        if let Some(a) = &auth {
            r = r.header(reqwest::header::AUTHORIZATION, a);
        }
        if let Some(e) = &etag {
            r = r.header(reqwest::header::IF_NONE_MATCH, e);
        } else if let Some(m) = &last_modified {
            r = r.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
        r
    })
    .await?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    if !status.is_success() {
        return Err(status_error(status));
    }
    let header = |name: reqwest::header::HeaderName| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    };
    let new_etag = header(reqwest::header::ETAG);
    let new_last_modified = header(reqwest::header::LAST_MODIFIED);
    let body = read_limited(response, MAX_FILE_BYTES).await?;
    if body.is_empty() {
        return Err("the file is empty".into());
    }
    let sha256 = hex::encode(Sha256::digest(&body));
    if cursor.get("sha256").and_then(Value::as_str) == Some(sha256.as_str()) {
        // The server ignores conditional requests, but the file is the one already imported.
        return ctx
            .commit_page(json!({ "etag": new_etag, "last_modified": new_last_modified }), |_, _| {
                Ok(PageCounts::default())
            })
            .await;
    }
    let format = config.format.as_deref().map(bank::parse_format).transpose().map_err(|e| e.message)?;
    let upload = StatementUpload {
        format,
        head: body[..body.len().min(4096)].to_vec(),
        sha256: sha256.clone(),
        bytes: body.len() as u64,
        bank_account: config.bank_account.clone(),
    };
    let patch = json!({ "etag": new_etag, "last_modified": new_last_modified, "sha256": sha256 });
    ctx.commit_page(patch, move |conn, principal| {
        let imported = bank::import_statement(conn, principal, upload, std::io::Cursor::new(body))?;
        Ok(PageCounts {
            created: imported.lines_imported as i32,
            updated: 0,
            skipped: imported.duplicates_skipped as i32,
            rejected: vec![],
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_counts_records_sharing_the_last_timestamp() {
        let c = DoctypeCursor::default();
        let page = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c1 = c.advance(&page(&["a", "b", "b"]));
        assert_eq!(c1, DoctypeCursor { modified: Some("b".into()), seen_at_modified: 2 });
        let c2 = c1.advance(&page(&["b", "b"]));
        assert_eq!(c2.seen_at_modified, 4, "a group spanning pages keeps counting");
        let c3 = c2.advance(&page(&["b", "c"]));
        assert_eq!(c3, DoctypeCursor { modified: Some("c".into()), seen_at_modified: 1 });
        assert_eq!(c3.advance(&[]), c3);
    }

    #[test]
    fn maps_invoices_and_returns() {
        let inv = map_invoice(&json!({"name":"ACC-SINV-0001","customer":"CUST-1","posting_date":"2026-10-01",
            "due_date":"2026-10-31","currency":"EUR","grand_total":1190.0,"is_return":0}))
        .unwrap();
        assert_eq!(inv["doc_type"], "invoice");
        assert_eq!(inv["amount"], "1190");
        let ret = map_invoice(&json!({"name":"R-1","customer":"C","posting_date":"2026-10-01","due_date":null,
            "currency":"EUR","grand_total":-50.25,"is_return":1}))
        .unwrap();
        assert_eq!(ret["doc_type"], "credit_note");
        assert_eq!(ret["amount"], "50.25");
        assert!(map_invoice(&json!({"name":"X"})).is_err());
        let noisy = map_invoice(&json!({"name":"N","customer":"C","posting_date":"2026-10-01",
            "currency":"EUR","grand_total":0.30000000000000004}))
        .unwrap();
        assert_eq!(noisy["amount"], "0.3");
        let kwd = map_invoice(&json!({"name":"K","customer":"C","posting_date":"2026-10-01",
            "currency":"KWD","grand_total":1.234}))
        .unwrap();
        assert_eq!(kwd["amount"], "1.234", "three minor units kept");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1, 3600).num_seconds(), 60);
        assert_eq!(backoff(2, 3600).num_seconds(), 120);
        assert_eq!(backoff(30, 3600).num_seconds(), BACKOFF_MAX_SECONDS);
    }
}
