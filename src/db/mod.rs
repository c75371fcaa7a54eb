//! Database access: the pool, the one helper through which all diesel work runs, migrations,
//! and the queries, one file per concept. Nothing here knows about HTTP.

pub mod api_keys;
pub mod audit;
pub mod bank;
pub mod cash_application;
pub mod collections;
pub mod connector_push;
pub mod connectors;
pub mod credit;
pub mod customer_contacts;
pub mod customer_groups;
pub mod customer_statement_mappings;
pub mod customer_statements;
pub mod customers;
pub mod data_safety;
pub mod differences;
pub mod document_import;
pub mod document_lines;
pub mod documents;
pub mod dunning;
pub mod idempotency;
pub mod import_mappings;
pub mod instalments;
pub mod integrity;
pub mod learned_facts;
pub mod matching_rules;
pub mod metrics;
pub mod outbox;
pub mod password_resets;
pub mod payment_behaviour;
pub mod pg_tools;
mod pool;
pub mod portal;
pub mod products;
pub mod replica;
pub mod reports;
pub mod statement_runs;
pub mod statistics;

pub mod tenants;
mod text_enum;
pub mod users;
pub mod webhooks;
pub mod work_orders;

pub use pool::{build_lazy_pool, build_pool, default_pool_size, DbPool, PgConn, PgManager};

#[path = "../../schema/diesel.rs"]
pub mod schema;

use crate::error::{AppError, AppResult};
use diesel::pg::PgConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary constant: the key of the advisory lock that serialises migrations between processes.
const MIGRATION_LOCK_KEY: i64 = 0x6475_697a_6861_6e67; // "duizhang"

/// Runs `work` in one database transaction on actix's blocking pool. This is the only way the
/// service touches diesel: no `.await` can happen while the connection is held, and one use case
/// is one transaction (an `Err` rolls everything back).
pub async fn transaction<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    on_blocking_pool(pool, move |conn| conn.transaction(work)).await
}

/// Runs a read-only use case on actix's blocking pool **without** BEGIN/COMMIT: every statement
/// is its own implicit transaction with its own snapshot, which saves two round trips per
/// request. Only for reads answered by one statement (or whose statements need not agree on one
/// snapshot); anything that writes, locks, or combines several queries into one answer uses
/// [`transaction`]. Nothing here stops a write (it would commit on its own, statement by
/// statement), so only read use cases that are a single SELECT are run this way (see
/// `api::extract::run_read`).
pub async fn read<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    on_blocking_pool(pool, work).await
}

/// Checks a connection out and runs `work` with it on actix's blocking pool: the one place
/// diesel runs for requests ([`transaction`] and [`read`] decide what wraps the work).
async fn on_blocking_pool<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let deadline = std::time::Instant::now() + pool.connection_timeout();
    // Same answer as a pool that found no connection in time: 503, never an endless wait.
    let queued = pool::Waiting::enter(&pool.waiting);
    let permit = tokio::time::timeout(pool.connection_timeout(), pool.gate.clone().acquire_owned()).await;
    drop(queued);
    let permit = match permit {
        Ok(Ok(permit)) => permit,
        _ => {
            tracing::warn!("database pool exhausted: no connection within the acquire timeout");
            return Err(AppError::database_unavailable());
        }
    };
    let pool = pool.clone();
    actix_web::web::block(move || {
        let _permit = permit; // held until the connection is back in the pool
        let mut pooled = pool::checkout(&pool, deadline)?;
        work(&mut pooled)
    })
    .await
    .map_err(AppError::internal)?
}

/// What a per-tenant advisory lock serialises; each purpose is a lock of its own.
#[derive(Debug, Clone, Copy)]
pub enum TenantLock {
    /// Everything that changes open amounts: matching runs and the review of proposals.
    Matching,
    /// Dunning runs, which read the customers' dunning state and rewrite it; the promise check
    /// and collection settings changes (tasks are assigned in turn under it).
    Dunning,
}

/// Takes the tenant's lock for `purpose` until the end of the current transaction.
pub fn lock_tenant(conn: &mut PgConnection, tenant_id: uuid::Uuid, purpose: TenantLock) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    let salt: i64 = match purpose {
        TenantLock::Matching => 0x6d61_7463_6869_6e67, // "matching"
        TenantLock::Dunning => 0x6475_6e6e_696e_6721,  // "dunning!"
    };
    let mut high = [0u8; 8];
    high.copy_from_slice(&tenant_id.as_bytes()[..8]);
    let key = i64::from_be_bytes(high) ^ salt;
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(conn).map(|_| ())
}

/// Applies pending migrations; an advisory lock makes concurrent starts wait instead of racing.
pub fn run_migrations(conn: &mut PgConnection) -> Result<(), String> {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .map_err(|e| e.to_string())?;
    let result = conn.run_pending_migrations(MIGRATIONS).map(|_| ()).map_err(|e| e.to_string());
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .map_err(|e| e.to_string())?;
    result
}

/// Creates `database` on the server behind `server_url` (any database on it) if it is missing.
pub fn ensure_database(server_url: &str, database: &str) -> Result<(), String> {
    use diesel::sql_types::Text;
    use diesel::{OptionalExtension, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        #[allow(dead_code)]
        datname: String,
    }
    let mut conn = PgConnection::establish(server_url).map_err(|e| e.to_string())?;
    let exists = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(database)
        .get_result::<Found>(&mut conn)
        .optional()
        .map_err(|e| e.to_string())?
        .is_some();
    if !exists {
        // Identifiers cannot be bound; the name is validated to be a plain identifier.
        if !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid database name {database:?}"));
        }
        if let Err(e) = diesel::sql_query(format!("CREATE DATABASE \"{database}\"")).execute(&mut conn) {
            // Another process may have created it in the meantime.
            if !e.to_string().contains("already exists") {
                return Err(e.to_string());
            }
        }
    }
    Ok(())
}

/// Drops a database, closing its connections (best effort: used for throw-away databases).
pub fn drop_database(server_url: &str, database: &str) {
    use diesel::RunQueryDsl;
    if database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        if let Ok(mut conn) = PgConnection::establish(server_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).execute(&mut conn);
        }
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern built from user text.
pub fn like_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// One round trip to the database (the readiness probe).
pub fn ping(conn: &mut PgConnection) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}
