//! Which requests may read from the replica, and the headers that carry read-your-writes.
//!
//! A handler opts in by taking [`Reads`] and running its use case through it: only read-only
//! routes do (the list is in docs/scaling.md). Everything else, and any route that writes while
//! it reads (the audit trail seals pending entries first, the tenant export too), keeps using
//! the primary pool. The [`middleware`] answers with `Duizhang-Read-Source` (which server
//! answered a routed read) and, after a write by an authenticated caller, `Duizhang-Lsn`: the
//! primary's WAL position once the write committed. This process remembers it for the caller;
//! a client that spreads its requests over several processes sends it back as a
//! `Duizhang-Lsn` request header, and its reads wait for the replica to replay that far.

use crate::api::extract::ResolvedCaller;
use crate::domain::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::services::read_routing::{self, CallerKey, Lsn, ReadContext, ReadMode, ReadSource};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use diesel::PgConnection;
use std::future::{ready, Ready};

/// The primary's WAL position after a write (answer), or the one a read must see (request).
pub const LSN_HEADER: &str = "duizhang-lsn";
/// `replica` or `primary`: which server answered a read the route allows on the replica.
pub const SOURCE_HEADER: &str = "duizhang-read-source";

/// Which server answered this request's read (set by [`Reads`] and the GraphQL handler).
#[derive(Debug, Clone, Copy)]
pub struct ServedBy(pub ReadSource);

/// A request sent with a writing method that writes nothing (a GraphQL query over POST).
#[derive(Debug, Clone, Copy)]
pub struct ReadOnlyRequest;

/// Whose writes a read must see: the tenant and its API key or user, or a portal token.
pub fn caller_key(caller: &ResolvedCaller) -> Option<CallerKey> {
    if let Some(Ok(portal)) = &caller.portal {
        return Some(CallerKey { tenant: portal.tenant_id, principal: portal.token_id });
    }
    let principal = caller.tenant.as_ref().ok()?;
    let id = match principal.actor {
        Actor::ApiKey { id } | Actor::User { id } => id,
        Actor::System | Actor::Connector { .. } => return None,
    };
    Some(CallerKey { tenant: principal.tenant_id, principal: id })
}

/// The caller (as the guard resolved it) and the position it sent back, if any.
pub fn read_context(req: &HttpRequest) -> ReadContext {
    let caller = req.extensions().get::<ResolvedCaller>().and_then(caller_key);
    let client_lsn = req.headers().get(LSN_HEADER).and_then(|v| v.to_str().ok()).and_then(Lsn::parse);
    ReadContext { caller, client_lsn }
}

/// Notes which server answered, for the answer's header and the metrics.
pub fn served_by(req: &HttpRequest, state: &AppState, source: Option<ReadSource>) {
    if let Some(source) = source {
        req.extensions_mut().insert(ServedBy(source));
        state.metrics.observe_read(source);
    }
}

/// A read-only route's access to the database: the replica when it may answer, else the primary.
pub struct Reads {
    state: web::Data<AppState>,
    req: HttpRequest,
}

impl FromRequest for Reads {
    type Error = AppError;
    type Future = Ready<Result<Reads, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        ready(
            state.map(|state| Reads { state, req: req.clone() }).ok_or_else(|| AppError::internal("app state missing")),
        )
    }
}

impl Reads {
    /// A read in one transaction (several queries that must agree). `work` must not write: it
    /// may run on a standby, and again on the primary when the standby fails it.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        self.run_as(ReadMode::Transaction, work).await
    }

    /// A read answered by one SELECT, without BEGIN/COMMIT (see `db::read`).
    pub async fn run_statement<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        self.run_as(ReadMode::Statement, work).await
    }

    async fn run_as<T, F>(&self, mode: ReadMode, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let context = read_context(&self.req);
        let state = &self.state;
        let (answer, source) =
            read_routing::run_read_only(&state.pool, state.replica.as_deref(), context, mode, work).await;
        served_by(&self.req, state, source);
        answer
    }
}

/// With a replica configured: names the server that answered a routed read, and after a write
/// by an authenticated caller remembers and returns the primary's WAL position.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned().filter(|s| s.replica.is_some());
    let Some(state) = state else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let writing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut res = next.call(req).await?.map_into_boxed_body();
    let (served, read_only, caller) = {
        let ext = res.request().extensions();
        (
            ext.get::<ServedBy>().copied(),
            ext.contains::<ReadOnlyRequest>(),
            ext.get::<ResolvedCaller>().and_then(caller_key),
        )
    };
    if let Some(ServedBy(source)) = served {
        res.headers_mut().insert(HeaderName::from_static(SOURCE_HEADER), HeaderValue::from_static(source.as_str()));
    }
    // Failed writes too: some refusals still commit (a login failure, an idempotency record).
    if writing && !read_only && caller.is_some() {
        let replica = state.replica.as_deref().expect("filtered above");
        if let Some(lsn) = replica.record_write(&state.pool, caller).await {
            if let Ok(value) = HeaderValue::from_str(&lsn.to_string()) {
                res.headers_mut().insert(HeaderName::from_static(LSN_HEADER), value);
            }
        }
    }
    Ok(res)
}
