//! GraphQL at `/graphql`: the same reads and main writes as REST, through the same use cases
//! and permission checks, with depth and complexity limits. Errors carry the REST error code in
//! `extensions.code`.

mod inputs;
mod mutation;
mod query;

use crate::api::extract::bearer_token;
use crate::domain::auth::{PortalPrincipal, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql::{EmptySubscription, ErrorExtensions, Schema};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use diesel::PgConnection;

pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, EmptySubscription>;

pub fn build_schema(state: Option<AppState>, max_depth: usize, max_complexity: usize) -> AppSchema {
    let mut builder = Schema::build(query::QueryRoot, mutation::MutationRoot, EmptySubscription)
        .limit_depth(max_depth)
        .limit_complexity(max_complexity);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, 12, 2000).sdl()
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

/// Runs one use case for a resolver: authenticated caller, one transaction, coded errors.
async fn run<T, F>(ctx: &async_graphql::Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut PgConnection, &Principal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let state = ctx.data::<AppState>()?;
    let principal = match &ctx.data::<Caller>()?.0 {
        Ok(p) => p.clone(),
        Err(e) => return Err(e.extend()),
    };
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

pub async fn graphql(
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
    req: HttpRequest,
    body: GraphQLRequest,
) -> GraphQLResponse {
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION).map(|h| h.to_str().map(str::to_owned));
    let token = bearer_token(header);
    let caller = match &token {
        Ok(token) => crate::services::auth::authenticate(&state, token).await,
        Err(e) => Err(e.clone()),
    };
    // A portal token is refused as a tenant caller (forbidden); it may use the portal fields.
    let portal = match (&token, &caller) {
        (Ok(token), Err(e)) if e.code == crate::error::ErrorCode::Forbidden => {
            Some(crate::services::portal::authenticate(&state, token).await)
        }
        _ => None,
    };
    schema.execute(body.into_inner().data(Caller(caller)).data(PortalCaller(portal))).await.into()
}

pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}
