//! GraphQL at `/graphql`: the same reads and main writes as REST, through the same use cases
//! and permission checks, with depth, complexity and alias limits. Errors carry the REST error
//! code in `extensions.code`.

pub mod explorer;
mod inputs;
mod limits;
mod mutation;
mod query;

pub use limits::Limits;

use crate::api::extract::{read_body, ResolvedCaller};
use crate::domain::auth::{PortalPrincipal, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{EmptySubscription, ErrorExtensions, Schema};
use async_graphql_actix_web::GraphQLResponse;
use diesel::PgConnection;

pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, EmptySubscription>;

pub fn build_schema(state: Option<AppState>, limits: Limits) -> AppSchema {
    let mut builder = Schema::build(query::QueryRoot, mutation::MutationRoot, EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(limits);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, Limits::from_settings(&crate::config::Settings::default())).sdl()
}

/// The caller as the handler resolved it; resolvers turn a failure into their error.
struct Caller(AppResult<Principal>);

/// A customer portal caller (portal token); `None` when the request carried another credential.
struct PortalCaller(Option<AppResult<PortalPrincipal>>);

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message.clone()).extend_with(|_, e| {
            e.set("code", self.code.as_str());
            if let Some(details) = &self.details {
                if let Ok(value) = async_graphql::Value::from_json(details.clone()) {
                    e.set("details", value);
                }
            }
        })
    }
}

/// `run` for a read answered by a single SELECT: no BEGIN/COMMIT (see `db::read`).
async fn run_read<T, F>(ctx: &async_graphql::Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut PgConnection, &Principal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (state, principal) = caller(ctx)?;
    crate::db::read(&state.pool, move |conn| work(conn, &principal)).await.map_err(|e| e.extend())
}

/// The app state and the authenticated tenant caller of a resolver (its error when the request
/// did not authenticate as one).
fn caller<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<(&'a AppState, Principal)> {
    let state = ctx.data::<AppState>()?;
    match &ctx.data::<Caller>()?.0 {
        Ok(p) => Ok((state, p.clone())),
        Err(e) => Err(e.extend()),
    }
}

/// Runs one use case for a resolver: authenticated caller, one transaction, coded errors.
async fn run<T, F>(ctx: &async_graphql::Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut PgConnection, &Principal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (state, principal) = caller(ctx)?;
    crate::db::transaction(&state.pool, move |conn| work(conn, &principal)).await.map_err(|e| e.extend())
}

/// Runs one use case for a portal resolver: only a customer portal token gets here.
async fn run_portal<T, F>(ctx: &async_graphql::Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut PgConnection, &PortalPrincipal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let state = ctx.data::<AppState>()?;
    let portal = match &ctx.data::<PortalCaller>()?.0 {
        Some(Ok(p)) => p.clone(),
        Some(Err(e)) => return Err(e.extend()),
        None => return Err(AppError::forbidden("portal fields need a customer portal token").extend()),
    };
    crate::db::transaction(&state.pool, move |conn| work(conn, &portal)).await.map_err(|e| e.extend())
}

fn max_limit(ctx: &async_graphql::Context<'_>) -> i64 {
    ctx.data::<AppState>().map(|s| s.settings.list_max_limit).unwrap_or(500)
}

/// One operation per request, its JSON body read up to `DUIZHANG_MAX_JSON_BYTES` (413 beyond:
/// the stock extractor reads JSON bodies without a limit). A JSON array (a batch) is refused:
/// it would run many operations for one request and one step of the rate limit.
pub async fn graphql(
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Either<GraphQLResponse, HttpResponse> {
    use actix_web::Either;
    let body = match read_body(&req, payload, state.settings.max_json_bytes).await {
        Ok(body) => body,
        Err(e) => return Either::Right(error_response(&e)),
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = format!("expected one GraphQL request as a JSON object (no batches): {e}");
            return Either::Right(error_response(&AppError::bad_request(message)));
        }
    };
    let stored = {
        use actix_web::HttpMessage;
        req.extensions().get::<ResolvedCaller>().cloned()
    };
    // Without credentials the guard stores nothing: every field answers `unauthenticated`.
    let caller = match stored {
        Some(caller) => caller,
        None => ResolvedCaller::resolve(&state, ResolvedCaller::authorization_header(&req)).await,
    };
    let ResolvedCaller { tenant, portal } = caller;
    Either::Left(schema.execute(request.data(Caller(tenant)).data(PortalCaller(portal))).await.into())
}

/// A refusal before execution (body too large, not a request, rate limited) in GraphQL's shape,
/// with the REST status and `Retry-After` where there is one.
pub fn error_response(error: &AppError) -> HttpResponse {
    let mut response = HttpResponse::build(error.code.status());
    if let Some(seconds) = error.retry_after_seconds() {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    response.json(serde_json::json!({
        "data": null,
        "errors": [{
            "message": error.message,
            "extensions": { "code": error.code.as_str(), "details": error.details },
        }],
    }))
}

/// The GraphiQL explorer page; its scripts and styles come from this server (see `explorer`).
pub async fn graphiql() -> HttpResponse {
    explorer::page()
}
