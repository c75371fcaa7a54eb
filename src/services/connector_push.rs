//! Pushes on behalf of a connector: an ERP or bank system that sends its data instead of being
//! polled. Two ways in, both landing in the ordinary import use cases (so upserts, bank-line
//! deduplication and the audit trail behave exactly as for any import):
//!
//! * a **push key**: an API key bound to the connector, with only the scope its data needs
//!   (`ledger:write` for ERP connectors, `bank:write` for bank connectors); it stops working when
//!   the connector is disabled or deleted, and is revoked like any key (`DELETE /api-keys/{id}`);
//! * a **signed push** for systems that cannot hold a bearer key: the request is signed with the
//!   connector's push secret (Standard Webhooks headers) and its `webhook-id` makes retries safe.

use super::admin::{issue_api_key, ApiKeyView, CreatedApiKey};
use super::require;
use crate::db::audit as audit_db;
use crate::db::connector_push::{self as push_db, PushSecret};
use crate::db::connectors as c_db;
use crate::db::DbPool;
use crate::domain::auth::{Actor, Permission, Principal, Role};
use crate::domain::webhook_signature::{self, Verifier};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::data_safety::{sealing, Keyring};
use crate::services::idempotency::{self, StoredResponse};
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// Where a push goes; each target is one of the ordinary import endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushTarget {
    Customers,
    Documents,
    BankStatements,
}

impl PushTarget {
    pub fn parse(s: &str) -> Option<PushTarget> {
        match s {
            "customers" => Some(PushTarget::Customers),
            "documents" => Some(PushTarget::Documents),
            "bank-statements" => Some(PushTarget::BankStatements),
            _ => None,
        }
    }

    fn permission(self) -> Permission {
        match self {
            PushTarget::Customers | PushTarget::Documents => Permission::WriteLedger,
            PushTarget::BankStatements => Permission::WriteBank,
        }
    }
}

/// What a connector of this type feeds: bank connectors bank statements, the others the ledger.
fn push_permission(connector_type: &str) -> Permission {
    match connector_type {
        "bank_file" | "open_banking" => Permission::WriteBank,
        _ => Permission::WriteLedger,
    }
}

fn load_connector(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<c_db::Connector> {
    c_db::find(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("connector"))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPushKey {
    /// Defaults to "push: <connector name>".
    pub name: Option<String>,
}

/// A new API key bound to the connector (admin). The secret is in this answer only.
pub fn create_push_key(
    conn: &mut PgConnection,
    principal: &Principal,
    connector_id: Uuid,
    input: NewPushKey,
) -> AppResult<CreatedApiKey> {
    require(principal, Permission::Admin)?;
    let connector = load_connector(conn, principal, connector_id)?;
    let name = input.name.unwrap_or_else(|| format!("push: {}", connector.name));
    // The scope does the narrowing; the role only has to grant it.
    let scopes = vec![push_permission(&connector.connector_type).scope().to_string()];
    issue_api_key(conn, principal, &name, Role::Accountant, scopes, Some(connector.id))
}

/// The connector's push keys, revoked ones included (admin).
pub fn list_push_keys(
    conn: &mut PgConnection,
    principal: &Principal,
    connector_id: Uuid,
) -> AppResult<Vec<ApiKeyView>> {
    require(principal, Permission::Admin)?;
    let connector = load_connector(conn, principal, connector_id)?;
    Ok(push_db::keys(conn, principal.tenant_id, connector.id)?.into_iter().map(ApiKeyView::from).collect())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushSecretIssued {
    pub connector_id: Uuid,
    /// `whsec_...`: the pushing system signs with it (Standard Webhooks). Shown only in this answer.
    pub secret: String,
    /// Until then the previous secret is accepted too, so the sender can switch without a gap.
    pub previous_valid_until: DateTime<Utc>,
}

/// Creates or rotates the connector's push-signing secret (admin).
pub fn rotate_push_secret(
    conn: &mut PgConnection,
    principal: &Principal,
    secrets: &Keyring,
    connector_id: Uuid,
) -> AppResult<PushSecretIssued> {
    require(principal, Permission::Admin)?;
    let connector = load_connector(conn, principal, connector_id)?;
    let now = Utc::now();
    let secret = webhook_signature::generate_secret();
    let previous_valid_until = now + Duration::hours(24);
    let sealed_secret = sealing::seal_bytes(secrets, conn, principal.tenant_id, secret.as_bytes())?;
    push_db::rotate_secret(
        conn,
        &PushSecret {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            connector_id: connector.id,
            sealed_secret,
            expires_at: None,
            created_at: now,
        },
        previous_valid_until,
    )?;
    let e = entry(principal, "connector.push_secret_rotated", "connector", &connector.id.to_string());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(PushSecretIssued { connector_id: connector.id, secret, previous_valid_until })
}

/// The Standard Webhooks headers of a signed push.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    pub message_id: String,
    pub timestamp: String,
    pub signature: String,
}

impl SignedHeaders {
    /// The idempotency key under which the push's answer is kept: a retry of the same
    /// `webhook-id` gets the first answer, never a second import.
    pub fn idempotency_key(&self, connector_id: Uuid) -> AppResult<String> {
        if self.message_id.is_empty() || self.message_id.len() > 200 {
            return Err(AppError::invalid("webhook-id", "must be 1 to 200 characters"));
        }
        Ok(format!("push:{connector_id}:{}", self.message_id))
    }
}

/// Checks a signed push and returns the principal the import runs as: the connector itself,
/// with only the scope of `target`. `feed_body` hands the body to the verifier (in chunks for
/// spooled files). Every refusal is the same 401, so the answer does not tell which part was wrong
/// except for the signature check itself.
pub fn authenticate_signed(
    conn: &mut PgConnection,
    secrets: &Keyring,
    tenant_id: Uuid,
    connector_id: Uuid,
    target: PushTarget,
    headers: &SignedHeaders,
    feed_body: impl FnOnce(&mut Verifier) -> AppResult<()>,
) -> AppResult<Principal> {
    let denied = || AppError::unauthenticated("unknown or disabled connector, or no push secret configured");
    let connector = c_db::find(conn, tenant_id, connector_id)?.filter(|c| c.enabled).ok_or_else(denied)?;
    let stored = push_db::valid_secrets(conn, tenant_id, connector.id, Utc::now())?;
    let keys: Vec<Vec<u8>> = stored
        .iter()
        .filter_map(|s| sealing::open_bytes(secrets, conn, tenant_id, &s.sealed_secret).ok())
        .filter_map(|plain| String::from_utf8(plain).ok())
        .filter_map(|secret| webhook_signature::secret_key(&secret))
        .collect();
    if keys.is_empty() {
        return Err(denied());
    }
    let mut verifier =
        Verifier::new(&keys, &headers.message_id, &headers.timestamp, &headers.signature, Utc::now().timestamp())
            .map_err(|e| AppError::unauthenticated(e.message()))?;
    feed_body(&mut verifier)?;
    verifier.finish().map_err(|e| AppError::unauthenticated(e.message()))?;
    let permission = target.permission();
    if push_permission(&connector.connector_type) != permission {
        return Err(AppError::forbidden(format!(
            "a {} connector cannot push to this endpoint",
            connector.connector_type
        )));
    }
    Ok(Principal {
        tenant_id,
        actor: Actor::Connector { id: connector.id },
        role: Role::Accountant,
        scopes: vec![permission.scope().to_string()],
    })
}

/// Who pushes what: the push's path, its signed headers and the fingerprint of the request.
pub struct SignedPush {
    pub tenant_id: Uuid,
    pub connector_id: Uuid,
    pub target: PushTarget,
    pub headers: SignedHeaders,
    pub request_hash: String,
}

/// A signed push as one transaction: the signature over the body (`feed_body` hands it to the
/// verifier), then `work` as the connector, once per `webhook-id` (a retry gets the first
/// answer, kept with `status`).
pub async fn execute_signed<T, V, F>(
    pool: &DbPool,
    secrets: Arc<Keyring>,
    push: SignedPush,
    status: u16,
    feed_body: V,
    work: F,
) -> AppResult<StoredResponse>
where
    T: Serialize,
    V: FnOnce(&mut Verifier) -> AppResult<()> + Send + 'static,
    F: FnOnce(&mut PgConnection, &Principal) -> AppResult<T> + Send + 'static,
{
    crate::db::transaction(pool, move |conn| {
        let SignedPush { tenant_id, connector_id, target, headers, request_hash } = push;
        let principal = authenticate_signed(conn, &secrets, tenant_id, connector_id, target, &headers, feed_body)?;
        let key = headers.idempotency_key(connector_id)?;
        idempotency::run(conn, tenant_id, Some(&key), &request_hash, |conn| {
            idempotency::json_response(status, &work(conn, &principal)?)
        })
    })
    .await
}
