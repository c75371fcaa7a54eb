//! `Idempotency-Key`: the first request with a key runs and its answer is stored in the same
//! transaction; a repeat with the same body gets the stored answer; a repeat with another body is
//! refused. Errors are not stored (their transaction rolls back), so a failed request can be retried.

use crate::db::idempotency as idem_db;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, ErrorCode};
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: String,
    pub replayed: bool,
}

pub fn validate_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(())
}

pub fn run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    key: Option<&str>,
    request_hash: &str,
    work: impl FnOnce(&mut PgConnection) -> AppResult<StoredResponse>,
) -> AppResult<StoredResponse> {
    let Some(key) = key else {
        return work(conn);
    };
    if !idem_db::try_claim(conn, tenant_id, key, request_hash)? {
        let saved = idem_db::find(conn, tenant_id, key)?;
        if saved.request_hash != request_hash {
            return Err(AppError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            ));
        }
        return match (saved.response_status, saved.response_body) {
            (Some(status), Some(body)) => Ok(StoredResponse {
                status: status as u16,
                body,
                content_type: saved.content_type.unwrap_or_else(|| "application/json".into()),
                replayed: true,
            }),
            _ => Err(AppError::conflict("a request with this Idempotency-Key is still in progress")),
        };
    }
    let response = work(conn)?;
    idem_db::save_response(conn, tenant_id, key, response.status, &response.body, &response.content_type)?;
    Ok(response)
}

/// A write use case as one transaction that honours an idempotency key: `work` runs once and its
/// JSON answer is kept with `status`; a repeat of the same request gets the kept answer.
pub async fn execute_json<T, F>(
    pool: &DbPool,
    tenant_id: Uuid,
    key: Option<String>,
    request_hash: String,
    status: u16,
    work: F,
) -> AppResult<StoredResponse>
where
    T: Serialize,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    crate::db::transaction(pool, move |conn| {
        run(conn, tenant_id, key.as_deref(), &request_hash, |conn| json_response(status, &work(conn)?))
    })
    .await
}

/// A use case's answer as it is kept for idempotent replays.
pub fn json_response<T: Serialize>(status: u16, out: &T) -> AppResult<StoredResponse> {
    Ok(StoredResponse {
        status,
        body: serde_json::to_vec(out).map_err(AppError::internal)?,
        content_type: "application/json".into(),
        replayed: false,
    })
}
