//! GraphQL at `/graphql`: the same reads and main writes as REST, through the same use cases
//! and permission checks, with depth, complexity and alias limits. Errors carry the REST error
//! code in `extensions.code`.

pub mod explorer;
mod inputs;
mod limits;
mod matching_rules;
mod mutation;
mod page;
mod query;
mod query_master_data;
mod routing;
mod subscription;

pub use subscription::websocket;

pub use limits::Limits;

use crate::api::extract::{read_body, ResolvedCaller};
use crate::domain::auth::{PortalPrincipal, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{ErrorExtensions, Schema};
use async_graphql_actix_web::GraphQLResponse;
use diesel::PgConnection;
use subscription::SubscriptionRoot;

/// The query root: the resolvers of `query.rs` and those kept with their concept, merged.
#[derive(async_graphql::MergedObject)]
#[graphql(name = "QueryRoot")]
pub struct QueryRoot(query::QueryRoot, matching_rules::MatchingRulesQuery);

/// The mutation root, merged like [`QueryRoot`].
#[derive(async_graphql::MergedObject)]
#[graphql(name = "MutationRoot")]
pub struct MutationRoot(mutation::MutationRoot, matching_rules::MatchingRulesMutation);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema callers with credentials use, and the introspection-only one for callers without
/// (only when `DUIZHANG_GRAPHQL_INTROSPECTION=public`).
pub struct Schemas {
    pub authenticated: AppSchema,
    pub anonymous: Option<AppSchema>,
    pub limits: Limits,
}

impl Schemas {
    pub fn build(state: &AppState) -> Schemas {
        use crate::config::Introspection;
        let settings = &state.settings;
        let limits = Limits::from_settings(settings);
        let mut authenticated = builder(Some(state.clone()), limits);
        if settings.graphql_introspection == Introspection::Off {
            authenticated = authenticated.disable_introspection();
        }
        let anonymous = (settings.graphql_introspection == Introspection::Public).then(|| {
            // Field suggestions ("did you mean ...") would describe the schema beyond introspection.
            builder(Some(state.clone()), limits).introspection_only().disable_suggestions().finish()
        });
        Schemas { authenticated: authenticated.finish(), anonymous, limits }
    }
}

fn builder(
    state: Option<AppState>,
    limits: Limits,
) -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let query = QueryRoot(query::QueryRoot::default(), matching_rules::MatchingRulesQuery);
    let mutation = MutationRoot(mutation::MutationRoot, matching_rules::MatchingRulesMutation);
    let mut builder = Schema::build(query, mutation, SubscriptionRoot)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        // Off or unbounded by default in async-graphql: bound them too.
        .limit_recursive_depth(limits.max_nesting)
        .limit_directives(limits.max_directives)
        .extension(limits)
        .data(std::sync::Arc::new(crate::services::subscriptions::Registry::default()));
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder
}

pub fn build_schema(state: Option<AppState>, limits: Limits) -> AppSchema {
    builder(state, limits).finish()
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
    crate::db::read(routing::pool(ctx, state), move |conn| work(conn, &principal)).await.map_err(|e| e.extend())
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
    crate::db::transaction(routing::pool(ctx, state), move |conn| work(conn, &principal)).await.map_err(|e| e.extend())
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
    crate::db::transaction(routing::pool(ctx, state), move |conn| work(conn, &portal)).await.map_err(|e| e.extend())
}

fn max_limit(ctx: &async_graphql::Context<'_>) -> i64 {
    ctx.data::<AppState>().map(|s| s.settings.list_max_limit).unwrap_or(500)
}

/// One operation per request, its JSON body read up to `DUIZHANG_MAX_JSON_BYTES` (413 beyond:
/// the stock extractor reads JSON bodies without a limit). A JSON array (a batch) is refused:
/// it would run many operations for one request and one step of the rate limit. A caller
/// without valid credentials is refused before its body is read (unless introspection is
/// public), and every document is checked for nesting before async-graphql parses it.
pub async fn graphql(
    state: web::Data<AppState>,
    schemas: web::Data<Schemas>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Either<GraphQLResponse, HttpResponse> {
    use actix_web::Either;
    let stored = {
        use actix_web::HttpMessage;
        req.extensions().get::<ResolvedCaller>().cloned()
    };
    let header = ResolvedCaller::authorization_header(&req);
    let without_credentials = header.is_none();
    let caller = match stored {
        Some(caller) => caller,
        None => ResolvedCaller::resolve(&state, header).await,
    };
    let (schema, anonymous) = match (refusal(&caller), &schemas.anonymous) {
        (None, _) => (&schemas.authenticated, false),
        (Some(_), Some(schema)) if without_credentials => (schema, true),
        (Some(e), _) => return Either::Right(error_response(&e)),
    };
    let body = match read_body(&req, payload, state.settings.max_json_bytes).await {
        Ok(body) => body,
        Err(e) => return Either::Right(error_response(&e)),
    };
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = format!("expected one GraphQL request as a JSON object (no batches): {e}");
            return Either::Right(error_response(&AppError::bad_request(message)));
        }
    };
    let checked = schemas.limits.check_document(&request.query);
    let introspection_off = state.settings.graphql_introspection == crate::config::Introspection::Off;
    if let Err(e) = checked.and_then(|()| check_root_fields(&mut request, anonymous, introspection_off)) {
        return Either::Right(error_response(&e));
    }
    Either::Left(routing::execute(&state, schema, request, caller, &req, &body).await.into())
}

/// What the root fields of a request allow: an anonymous caller (public introspection) may ask
/// for `__schema`, `__type` and `__typename` only, and with introspection off nobody may ask for
/// the first two. Refused as a whole, instead of answered with nulls.
fn check_root_fields(request: &mut async_graphql::Request, anonymous: bool, introspection_off: bool) -> AppResult<()> {
    if !anonymous && !introspection_off {
        return Ok(());
    }
    let Ok(document) = request.parsed_query() else {
        return Ok(()); // syntax errors are answered by execution, with their position
    };
    let names = root_field_names(document);
    if anonymous && !names.iter().all(|name| name.starts_with("__")) {
        return Err(AppError::unauthenticated(
            "missing Authorization header: without credentials only introspection is answered",
        ));
    }
    if introspection_off && names.iter().any(|name| name == "__schema" || name == "__type") {
        return Err(AppError::forbidden("introspection is switched off on this server"));
    }
    Ok(())
}

/// The names of the fields selected at the root of every operation, through fragments.
fn root_field_names(document: &async_graphql::parser::types::ExecutableDocument) -> Vec<String> {
    use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
    fn collect(doc: &ExecutableDocument, set: &SelectionSet, seen: &mut Vec<String>, names: &mut Vec<String>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => names.push(f.node.name.node.to_string()),
                Selection::InlineFragment(f) => collect(doc, &f.node.selection_set.node, seen, names),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    // Each fragment once: cycles are refused by validation later.
                    if seen.iter().any(|s| s == name.as_str()) {
                        continue;
                    }
                    seen.push(name.to_string());
                    if let Some(fragment) = doc.fragments.get(name) {
                        collect(doc, &fragment.node.selection_set.node, seen, names);
                    }
                }
            }
        }
    }
    let mut names = Vec::new();
    for (_, operation) in document.operations.iter() {
        collect(document, &operation.node.selection_set.node, &mut Vec::new(), &mut names);
    }
    names
}

/// Why a caller gets nothing from GraphQL: `None` for a tenant principal or a portal token.
fn refusal(caller: &ResolvedCaller) -> Option<AppError> {
    match (&caller.tenant, &caller.portal) {
        (Ok(_), _) | (_, Some(Ok(_))) => None,
        (_, Some(Err(e))) | (Err(e), None) => Some(e.clone()),
    }
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
pub async fn graphiql(state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.graphiql {
        return actix_web::ResponseError::error_response(&AppError::new(
            crate::error::ErrorCode::NotFound,
            "no route for GET /graphql (the GraphiQL page is switched off)",
        ));
    }
    explorer::page()
}
