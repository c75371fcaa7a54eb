//! Which GraphQL requests may run on the read replica: documents whose operations are all
//! queries, none of them selecting a root field that writes while it reads. The choice is made
//! before execution, from the parsed document; the resolvers then take the pool it put in the
//! request's data ([`ReadPool`]), and a query the replica failed runs again on the primary.

use super::{AppSchema, Caller, PortalCaller};
use crate::api::extract::ResolvedCaller;
use crate::api::read_routing::{read_context, served_by, ReadOnlyRequest};
use crate::db::DbPool;
use crate::error::{AppError, ErrorCode};
use crate::services::read_routing::{self, ReadSource};
use crate::state::AppState;
use actix_web::{HttpMessage, HttpRequest};
use async_graphql::parser::types::OperationType;

/// The pool a query's resolvers read from, when it is not the primary.
pub(super) struct ReadPool(pub DbPool);

/// Query fields that write: the audit trail seals pending entries before it answers.
const PRIMARY_ONLY_FIELDS: [&str; 2] = ["auditLog", "verifyAuditChain"];

/// The pool of a resolver's request: the replica's when the request was routed there.
pub(super) fn pool<'a>(ctx: &async_graphql::Context<'a>, state: &'a AppState) -> &'a DbPool {
    ctx.data_opt::<ReadPool>().map(|r| &r.0).unwrap_or(&state.pool)
}

/// True when every operation of the document is a query and none selects a field that writes.
/// A document that does not parse is not (execution answers it, on the primary).
fn replica_may_answer(request: &mut async_graphql::Request) -> bool {
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    if document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Query) {
        return false;
    }
    let names = super::root_field_names(document);
    !names.iter().any(|name| PRIMARY_ONLY_FIELDS.contains(&name.as_str()))
}

fn with_caller(request: async_graphql::Request, caller: ResolvedCaller) -> async_graphql::Request {
    let ResolvedCaller { tenant, portal } = caller;
    request.data(Caller(tenant)).data(PortalCaller(portal))
}

/// The first error of a response that the replica caused rather than the request (see
/// `read_routing::is_replica_failure`), as the `AppError` it was.
fn replica_error(response: &async_graphql::Response) -> Option<AppError> {
    const CODES: [ErrorCode; 3] = [ErrorCode::Internal, ErrorCode::ServiceUnavailable, ErrorCode::Conflict];
    response.errors.iter().find_map(|error| {
        let code = match error.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(code)) => CODES.into_iter().find(|c| c.as_str() == code)?,
            _ => return None,
        };
        Some(AppError::new(code, error.message.clone())).filter(read_routing::is_replica_failure)
    })
}

/// Executes one request: a mutation (or anything the replica may not answer) on the primary; a
/// query on the replica when `ReadReplica::choose` allows it, else, or when the replica failed
/// it, on the primary. `body` is the request as sent, parsed again for a second run.
pub(super) async fn execute(
    state: &AppState,
    schema: &AppSchema,
    mut request: async_graphql::Request,
    caller: ResolvedCaller,
    req: &HttpRequest,
    body: &[u8],
) -> async_graphql::Response {
    if !replica_may_answer(&mut request) {
        return schema.execute(with_caller(request, caller)).await;
    }
    req.extensions_mut().insert(ReadOnlyRequest);
    let Some(replica) = state.replica.as_deref() else {
        return schema.execute(with_caller(request, caller)).await;
    };
    let context = read_context(req);
    if replica.choose(context.caller, context.client_lsn).await == ReadSource::Replica {
        let routed = with_caller(request, caller.clone()).data(ReadPool(replica.pool().clone()));
        let response = schema.execute(routed).await;
        let Some(error) = replica_error(&response) else {
            served_by(req, state, Some(ReadSource::Replica));
            return response;
        };
        let Ok(again) = serde_json::from_slice::<async_graphql::Request>(body) else {
            return response; // cannot happen: the same body parsed a moment ago
        };
        replica.failed(&error);
        request = again;
    }
    served_by(req, state, Some(ReadSource::Primary));
    schema.execute(with_caller(request, caller)).await
}
