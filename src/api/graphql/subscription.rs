//! GraphQL subscriptions over WebSocket at `/graphql/ws` (graphql-transport-ws and the older
//! graphql-ws protocol). The connection authenticates once, with `{"Authorization": "Bearer ..."}`
//! (or `{"token": "..."}`) in `connection_init`, or with the upgrade request's `Authorization`
//! header; each subscription then follows the outbox (`services::subscriptions`).

use super::Schemas;
use crate::api::extract::{bearer_token, ResolvedCaller};
use crate::error::AppError;
use crate::services::subscriptions::{self, Connection, LiveEvent, Registry};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{Context, ErrorExtensions, Subscription};
use async_graphql_actix_web::GraphQLSubscription;
use futures_util::stream::Stream;
use std::sync::Arc;

pub struct SubscriptionRoot;

fn open(
    ctx: &Context<'_>,
    portal: bool,
    types: Option<Vec<String>>,
) -> async_graphql::Result<impl Stream<Item = LiveEvent>> {
    let state = ctx.data::<AppState>()?;
    let registry = ctx.data::<Arc<Registry>>()?;
    let conn = ctx
        .data::<Connection>()
        .map_err(|_| AppError::unauthenticated("subscriptions need credentials in connection_init").extend())?;
    let is_portal = matches!(conn.audience, subscriptions::Audience::Portal(_));
    if portal != is_portal {
        let msg =
            if portal { "portalEvents needs a customer portal token" } else { "events needs an API key or user token" };
        return Err(AppError::forbidden(msg).extend());
    }
    subscriptions::subscribe(state, registry, conn, types).map_err(|e| e.extend())
}

#[Subscription]
impl SubscriptionRoot {
    /// A tenant caller (API key or user token with `read`): its runs (`reconciliation.*`,
    /// `statement.*`, `statement_run.*`) and work orders (`work_order.*`) from now on. `types`
    /// narrows to event types or prefixes within those.
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = LiveEvent>> {
        open(ctx, false, types)
    }

    /// A customer portal token: its customer's differences (once sent to it: `difference.sent`,
    /// `.confirmed`, `.disputed`, `.resolved`, `.commented`) and the work orders visible to it
    /// (`work_order.*`) from now on.
    async fn portal_events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = LiveEvent>> {
        open(ctx, true, types)
    }
}

/// The bearer token of a `connection_init` payload: `Authorization` (any case, "Bearer x") or `token`.
fn init_token(payload: &serde_json::Value) -> Option<String> {
    let obj = payload.as_object()?;
    if let Some(t) = obj.get("token").and_then(|v| v.as_str()) {
        return Some(t.trim().to_string()).filter(|t| !t.is_empty());
    }
    let header = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?.1.as_str()?;
    bearer_token(Some(Ok(header.to_string()))).ok()
}

/// `GET /graphql/ws`: the WebSocket upgrade.
pub async fn websocket(
    state: web::Data<AppState>,
    schemas: web::Data<Schemas>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let header_token = bearer_token(ResolvedCaller::authorization_header(&req)).ok();
    let state = state.get_ref().clone();
    GraphQLSubscription::new(schemas.authenticated.clone())
        .on_connection_init(move |value| async move {
            let token = init_token(&value)
                .or(header_token)
                .ok_or_else(|| AppError::unauthenticated("connection_init needs {\"Authorization\": \"Bearer ...\"}"))
                .map_err(|e| e.extend())?;
            let conn = subscriptions::connect(&state, &token).await.map_err(|e| e.extend())?;
            let mut data = async_graphql::Data::default();
            data.insert(conn);
            Ok(data)
        })
        .start(&req, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_comes_from_authorization_or_token() {
        assert_eq!(init_token(&json!({"Authorization": "Bearer abc"})).as_deref(), Some("abc"));
        assert_eq!(init_token(&json!({"authorization": "bearer abc"})).as_deref(), Some("abc"));
        assert_eq!(init_token(&json!({"token": "abc"})).as_deref(), Some("abc"));
        assert_eq!(init_token(&json!({"Authorization": "abc"})), None);
        assert_eq!(init_token(&json!(null)), None);
    }
}
