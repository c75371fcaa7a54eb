//! Who is calling: the principal resolved from `Authorization: Bearer ...` (API key, JWT or portal token).

use crate::domain::auth::{PortalPrincipal, Principal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// Who is calling, resolved once per request (by the guard middleware, which stores it in the
/// request's extensions for the extractors below): the tenant principal, and, when the
/// credential is a customer portal token, the portal principal.
#[derive(Clone)]
pub struct ResolvedCaller {
    pub tenant: AppResult<Principal>,
    /// `Some` only for portal tokens (which the tenant API refuses as `forbidden`).
    pub portal: Option<AppResult<PortalPrincipal>>,
}

type HeaderValue = Option<Result<String, actix_web::http::header::ToStrError>>;

impl ResolvedCaller {
    pub fn authorization_header(req: &HttpRequest) -> HeaderValue {
        req.headers().get(actix_web::http::header::AUTHORIZATION).map(|h| h.to_str().map(str::to_owned))
    }

    pub async fn resolve(state: &AppState, header: HeaderValue) -> ResolvedCaller {
        let token = match bearer_token(header) {
            Ok(token) => token,
            Err(e) => return ResolvedCaller { tenant: Err(e), portal: None },
        };
        let tenant = crate::services::auth::authenticate(state.auth(), &token).await;
        let portal = match &tenant {
            Err(e) if e.code == ErrorCode::Forbidden => {
                Some(crate::services::portal::authenticate(state.auth(), &token).await)
            }
            _ => None,
        };
        ResolvedCaller { tenant, portal }
    }

    /// The stored resolution, else resolves now (a route outside the guard middleware).
    async fn of_request(state: &AppState, stored: Option<ResolvedCaller>, header: HeaderValue) -> ResolvedCaller {
        match stored {
            Some(caller) => caller,
            None => Self::resolve(state, header).await,
        }
    }

    pub fn portal_principal(&self) -> AppResult<PortalPrincipal> {
        match (&self.portal, &self.tenant) {
            (Some(portal), _) => portal.clone(),
            (None, Err(e)) if e.code == ErrorCode::ServiceUnavailable => Err(e.clone()),
            (None, Err(e)) if e.code == ErrorCode::Unauthenticated => Err(e.clone()),
            (None, _) => Err(AppError::unauthenticated("a customer portal token is required here")),
        }
    }
}

/// The caller, resolved from `Authorization: Bearer <API key or JWT>`.
pub struct Auth(pub Principal);

impl FromRequest for Auth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Auth, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let stored = req.extensions().get::<ResolvedCaller>().cloned();
        let header = ResolvedCaller::authorization_header(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
            ResolvedCaller::of_request(&state, stored, header).await.tenant.map(Auth)
        })
    }
}

/// A customer's portal, resolved from `Authorization: Bearer <portal token>`. Only the
/// `/portal/...` routes take it; every other route refuses portal tokens.
pub struct PortalAuth(pub PortalPrincipal);

impl FromRequest for PortalAuth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<PortalAuth, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let stored = req.extensions().get::<ResolvedCaller>().cloned();
        let header = ResolvedCaller::authorization_header(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
            ResolvedCaller::of_request(&state, stored, header).await.portal_principal().map(PortalAuth)
        })
    }
}

pub fn bearer_token(header: Option<Result<String, actix_web::http::header::ToStrError>>) -> AppResult<String> {
    let value = header
        .ok_or_else(|| AppError::unauthenticated("missing Authorization header (Bearer API key or token)"))?
        .map_err(|_| AppError::unauthenticated("malformed Authorization header"))?;
    let (scheme, token) =
        value.split_once(' ').ok_or_else(|| AppError::unauthenticated("expected 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::unauthenticated("expected 'Bearer <token>'"));
    }
    Ok(token.trim().to_string())
}
