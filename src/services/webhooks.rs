//! Webhook endpoints (admin), their deliveries (read) and the tenant's webhook policy. Sending
//! happens in `webhook_worker`; this module only changes and shows rows.

use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::customers as customers_db;
use crate::db::webhooks::{self as w_db, Attempt, Delivery, Endpoint};
use crate::domain::auth::{Permission, Principal};
use crate::domain::webhook_delivery::DeliveryStatus;
use crate::domain::{ssrf, webhook_signature};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::data_safety::{sealing, Keyring};
use crate::services::events::EventType;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WebhookEndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Subscribed event types; empty: all.
    pub event_types: Vec<String>,
    /// Set: only this customer's events are sent.
    pub customer_code: Option<String>,
    pub enabled: bool,
    /// Why the endpoint is disabled (e.g. it answered 410 Gone).
    pub disabled_reason: Option<String>,
    /// During a rotation: until when the previous secret still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_...`): only in the answers of create and rotate-secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn endpoint_view((e, customer_code): w_db::EndpointRow) -> WebhookEndpointView {
    let now = Utc::now();
    WebhookEndpointView {
        id: e.id,
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        customer_code,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        previous_secret_expires_at: e.previous_secret_expires_at.filter(|t| *t > now),
        created_at: e.created_at,
        updated_at: e.updated_at,
        secret: None,
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointInput {
    /// http(s) URL; private and loopback targets only when the tenant allows them.
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event types to send (e.g. `difference.created`); absent or empty: all.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Only this customer's events.
    #[serde(default)]
    pub customer_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// null: all customers' events.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub customer_code: Option<Option<String>>,
    /// false disables (pending deliveries are cancelled); true re-enables.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettingsView {
    /// Allow endpoints on private, loopback and link-local addresses (off by default: SSRF guard).
    pub allow_private_targets: bool,
}

fn validate_event_types(types: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(types.len());
    for (i, t) in types.into_iter().enumerate() {
        let t = t.trim().to_string();
        if EventType::parse(&t).is_none() {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            return Err(AppError::invalid(
                &format!("event_types[{i}]"),
                format!("unknown event type {t:?}; known: {}", known.join(", ")),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn validate_description(d: Option<String>) -> AppResult<String> {
    let d = d.unwrap_or_default().trim().to_string();
    if d.chars().count() > 500 {
        return Err(AppError::invalid("description", "at most 500 characters"));
    }
    Ok(d)
}

fn customer_id(conn: &mut PgConnection, tenant_id: Uuid, code: Option<&str>) -> AppResult<Option<Uuid>> {
    match code {
        None => Ok(None),
        Some(code) => customers_db::find_by_code(conn, tenant_id, code)
            .map(|c| Some(c.id))
            .map_err(|_| AppError::invalid("customer_code", format!("unknown customer {code:?}"))),
    }
}

fn check_url(conn: &mut PgConnection, tenant_id: Uuid, url: &str) -> AppResult<String> {
    let allow = w_db::allow_private_targets(conn, tenant_id)?;
    ssrf::validate_url(url, allow).map(|u| u.to_string()).map_err(|e| AppError::invalid("url", e))
}

fn audit_snapshot(v: &WebhookEndpointView) -> Option<serde_json::Value> {
    // Never the secret.
    let mut v = v.clone();
    v.secret = None;
    serde_json::to_value(v).ok()
}

fn load(conn: &mut PgConnection, principal: &Principal, id: Uuid, for_update: bool) -> AppResult<w_db::EndpointRow> {
    w_db::find_endpoint(conn, principal.tenant_id, id, for_update).map_err(|_| AppError::not_found("webhook endpoint"))
}

pub fn create_endpoint(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    input: WebhookEndpointInput,
) -> AppResult<WebhookEndpointView> {
    require(principal, Permission::Admin)?;
    let url = check_url(conn, principal.tenant_id, &input.url)?;
    let event_types = validate_event_types(input.event_types.unwrap_or_default())?;
    let description = validate_description(input.description)?;
    let customer_id = customer_id(conn, principal.tenant_id, input.customer_code.as_deref())?;
    let now = Utc::now();
    let secret = webhook_signature::generate_secret();
    let e = Endpoint {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        customer_id,
        url,
        description,
        event_types,
        secret: sealing::seal_text(keys, conn, principal.tenant_id, &secret)?,
        previous_secret: None,
        previous_secret_expires_at: None,
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    w_db::insert_endpoint(conn, &e)?;
    let mut view = endpoint_view((e, input.customer_code));
    let mut a = entry(principal, "webhook_endpoint.created", "webhook_endpoint", &view.id.to_string());
    a.after = audit_snapshot(&view);
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    view.secret = Some(secret);
    Ok(view)
}

pub fn get_endpoint(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<WebhookEndpointView> {
    require(principal, Permission::Read)?;
    load(conn, principal, id, false).map(endpoint_view)
}

pub fn list_endpoints(
    conn: &mut PgConnection,
    principal: &Principal,
    limit: Option<i64>,
    cursor: Option<&str>,
    max: i64,
) -> AppResult<Page<WebhookEndpointView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(limit, max)?;
    let rows = w_db::list_endpoints(conn, principal.tenant_id, parse_cursor(cursor)?, limit + 1)?;
    Ok(page(rows, limit, |r| r.0.id, endpoint_view))
}

pub fn update_endpoint(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    patch: WebhookEndpointPatch,
) -> AppResult<WebhookEndpointView> {
    require(principal, Permission::Admin)?;
    let (mut e, mut code) = load(conn, principal, id, true)?;
    let before = endpoint_view((e.clone(), code.clone()));
    if let Some(url) = patch.url {
        e.url = check_url(conn, principal.tenant_id, &url)?;
    }
    if let Some(d) = patch.description {
        e.description = validate_description(Some(d))?;
    }
    if let Some(t) = patch.event_types {
        e.event_types = validate_event_types(t)?;
    }
    if let Some(c) = patch.customer_code {
        e.customer_id = customer_id(conn, principal.tenant_id, c.as_deref())?;
        code = c;
    }
    let now = Utc::now();
    match patch.enabled {
        Some(true) if !e.enabled => {
            e.enabled = true;
            e.disabled_reason = None;
        }
        Some(false) if e.enabled => {
            e.enabled = false;
            let reason = format!("disabled by {}:{} at {}", principal.actor.kind(), principal.actor.id(), now);
            w_db::cancel_pending(conn, e.tenant_id, e.id, "cancelled: the endpoint was disabled")?;
            e.disabled_reason = Some(reason);
        }
        _ => {}
    }
    e.updated_at = now;
    w_db::update_endpoint(conn, &e)?;
    let view = endpoint_view((e, code));
    let mut a = entry(principal, "webhook_endpoint.updated", "webhook_endpoint", &id.to_string());
    a.before = audit_snapshot(&before);
    a.after = audit_snapshot(&view);
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    Ok(view)
}

/// Deletes an endpoint with its deliveries and attempts (the audit trail keeps the record).
pub fn delete_endpoint(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<WebhookEndpointView> {
    require(principal, Permission::Admin)?;
    let row = load(conn, principal, id, true)?;
    let view = endpoint_view(row);
    w_db::delete_endpoint(conn, principal.tenant_id, id)?;
    let mut a = entry(principal, "webhook_endpoint.deleted", "webhook_endpoint", &id.to_string());
    a.before = audit_snapshot(&view);
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    Ok(view)
}

/// A new secret; the previous one keeps signing for `overlap` so receivers can switch.
pub fn rotate_secret(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    id: Uuid,
    overlap: Duration,
) -> AppResult<WebhookEndpointView> {
    require(principal, Permission::Admin)?;
    let (mut e, code) = load(conn, principal, id, true)?;
    let now = Utc::now();
    let secret = webhook_signature::generate_secret();
    let sealed = sealing::seal_text(keys, conn, principal.tenant_id, &secret)?;
    e.previous_secret = Some(std::mem::replace(&mut e.secret, sealed));
    e.previous_secret_expires_at = Some(now + chrono::Duration::from_std(overlap).unwrap_or_default());
    e.updated_at = now;
    w_db::update_endpoint(conn, &e)?;
    let mut view = endpoint_view((e, code));
    let mut a = entry(principal, "webhook_endpoint.secret_rotated", "webhook_endpoint", &id.to_string());
    a.after = Some(serde_json::json!({ "previous_secret_expires_at": view.previous_secret_expires_at }));
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    view.secret = Some(secret);
    Ok(view)
}

pub fn get_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<WebhookSettingsView> {
    require(principal, Permission::Read)?;
    Ok(WebhookSettingsView { allow_private_targets: w_db::allow_private_targets(conn, principal.tenant_id)? })
}

pub fn put_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: WebhookSettingsView,
) -> AppResult<WebhookSettingsView> {
    require(principal, Permission::Admin)?;
    let before = w_db::allow_private_targets(conn, principal.tenant_id)?;
    w_db::save_settings(conn, principal.tenant_id, input.allow_private_targets)?;
    let mut a = entry(principal, "webhook_settings.updated", "webhook_settings", &principal.tenant_id.to_string());
    a.before = Some(serde_json::json!({ "allow_private_targets": before }));
    a.after = serde_json::to_value(&input).ok();
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    Ok(input)
}

// ----- deliveries ----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WebhookDeliveryView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id, sent as `webhook-id` (the same on every attempt: deduplicate on it).
    pub webhook_id: Uuid,
    pub event_type: String,
    /// pending, succeeded, failed or cancelled.
    pub status: String,
    /// HTTP tries so far (manual redeliveries included).
    pub attempts: i32,
    /// When pending: when the next try is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for WebhookDeliveryView {
    fn from(d: Delivery) -> Self {
        WebhookDeliveryView {
            id: d.id,
            endpoint_id: d.endpoint_id,
            webhook_id: d.event_id,
            event_type: d.event_type,
            next_attempt_at: d.next_attempt_at.filter(|_| d.status == DeliveryStatus::Pending),
            status: d.status.as_str().to_string(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WebhookAttemptView {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    /// Unset: in flight, or the worker stopped before it could record the outcome (the delivery
    /// is then sent again after its lease).
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub status_code: Option<i32>,
    /// The first 2 KiB of the answer.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

impl From<Attempt> for WebhookAttemptView {
    fn from(a: Attempt) -> Self {
        WebhookAttemptView {
            id: a.id,
            started_at: a.started_at,
            finished_at: a.finished_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WebhookDeliveryDetail {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub delivery: WebhookDeliveryView,
    /// The body that is sent: `{"type","timestamp","data"}`.
    #[schema(value_type = Object)]
    pub payload: async_graphql::Json<serde_json::Value>,
    /// Every HTTP try, oldest first.
    pub attempt_log: Vec<WebhookAttemptView>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// pending, succeeded, failed or cancelled.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub fn list_deliveries(
    conn: &mut PgConnection,
    principal: &Principal,
    endpoint_id: Uuid,
    q: DeliveryQuery,
    max: i64,
) -> AppResult<Page<WebhookDeliveryView>> {
    require(principal, Permission::Read)?;
    load(conn, principal, endpoint_id, false)?;
    let status = match &q.status {
        Some(s) => {
            Some(DeliveryStatus::parse(s).ok_or_else(|| AppError::invalid("status", format!("unknown status {s:?}")))?)
        }
        None => None,
    };
    let limit = effective_limit(q.limit, max)?;
    let after = parse_cursor(q.cursor.as_deref())?;
    let rows = w_db::list_deliveries(conn, principal.tenant_id, endpoint_id, status, after, limit + 1)?;
    Ok(page(rows, limit, |d| d.id, WebhookDeliveryView::from))
}

pub fn get_delivery(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<WebhookDeliveryDetail> {
    require(principal, Permission::Read)?;
    let d = w_db::find_delivery(conn, principal.tenant_id, id, false)
        .map_err(|_| AppError::not_found("webhook delivery"))?;
    detail(conn, d)
}

fn detail(conn: &mut PgConnection, d: Delivery) -> AppResult<WebhookDeliveryDetail> {
    let payload = w_db::event_payload(conn, d.tenant_id, d.event_id)?;
    let attempts = w_db::attempts_of(conn, d.tenant_id, d.id)?;
    Ok(WebhookDeliveryDetail {
        delivery: d.into(),
        payload: async_graphql::Json(payload),
        attempt_log: attempts.into_iter().map(WebhookAttemptView::from).collect(),
    })
}

/// Sends a delivery again from the start of the retry schedule, with the same `webhook-id`.
pub fn redeliver(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<WebhookDeliveryDetail> {
    require(principal, Permission::Admin)?;
    let d = w_db::find_delivery(conn, principal.tenant_id, id, true)
        .map_err(|_| AppError::not_found("webhook delivery"))?;
    let (endpoint, _) = load(conn, principal, d.endpoint_id, false)?;
    if !endpoint.enabled {
        return Err(AppError::conflict("the endpoint is disabled; enable it (PATCH enabled: true) first"));
    }
    let d = w_db::restart(conn, d.tenant_id, d.id, Utc::now())?;
    let mut a = entry(principal, "webhook_delivery.redelivered", "webhook_delivery", &id.to_string());
    a.after = Some(serde_json::json!({ "webhook_id": d.event_id, "endpoint_id": d.endpoint_id }));
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    detail(conn, d)
}
