//! REST under `/api/v1`, its OpenAPI document and the offline Swagger UI viewer.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod bank;
pub mod collections;
pub mod connector_push;
pub mod connectors;
pub mod customers;
pub mod documents;
pub mod exports;
pub mod health;
pub mod matching;
mod openapi_errors;
pub mod portal;
pub mod reports;
pub mod statements;
pub mod webhooks;

use crate::error::{AppError, ErrorCode};
use actix_web::{web, HttpRequest, HttpResponse};
use openapi_errors::DocumentedErrors;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `idempotency_key_reused`.
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (dz_...) or a token from POST /api/v1/auth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "portal",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A customer portal token from POST /api/v1/customers/{code}/portal-tokens"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "duizhang", description = "Accounts-receivable reconciliation API. Money is always a decimal string."),
    servers((url = "/api/v1")),
    paths(
        auth::token,
        customers::create, customers::list, customers::get, customers::update, customers::import, customers::balance,
        documents::create, documents::list, documents::get, documents::update, documents::cancel, documents::import,
        matching::start, matching::get, matching::list, matching::confirm, matching::reject, matching::allocate,
        matching::get_settings, matching::put_settings, matching::list_rates, matching::put_rates,
        audit::list, audit::verify,
        bank::create_account, bank::list_accounts, bank::update_account, bank::import, bank::get_statement, bank::list_lines,
        bank::formats, bank::get_import_settings, bank::put_import_settings,
        admin::create_user, admin::list_users, admin::create_api_key, admin::list_api_keys, admin::revoke_api_key,
        statements::submit, statements::list, statements::get, statements::list_differences, statements::get_difference,
        statements::comment, statements::act, statements::send_all, statements::statement_of_account,
        statements::issue_portal_token, statements::list_portal_tokens, statements::revoke_portal_token,
        statements::rotate_inbound_secret, statements::confirmations,
        portal::account, portal::statement_of_account, portal::list_differences, portal::get_difference,
        portal::comment, portal::act, portal::confirm_balance, portal::submit_statement, portal::inbound_statement,
        reports::aging, reports::collections, reports::overdue_ranking,
        collections::get_levels, collections::put_levels, collections::run_dunning, collections::customer_dunning,
        collections::recovery, collections::start_statement_run, collections::get_statement_run,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::remove, webhooks::rotate_secret,
        webhooks::deliveries, webhooks::delivery, webhooks::redeliver, webhooks::get_settings, webhooks::put_settings,
        connectors::create, connectors::list, connectors::get, connectors::update, connectors::remove,
        connectors::sync, connectors::syncs,
        connector_push::create_push_key, connector_push::list_push_keys, connector_push::rotate_push_secret,
        connector_push::push_customers, connector_push::push_documents, connector_push::push_bank_statement,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth, &DocumentedErrors),
    tags(
        (name = "auth", description = "Tokens for people"),
        (name = "customers", description = "Customer master data and balances"),
        (name = "documents", description = "The company's ledger: invoices, credit notes, payments, adjustments"),
        (name = "bank", description = "Our bank accounts, statement imports (camt.053/054, MT940, CSV, BAI2) and bank lines"),
        (name = "matching", description = "Cash application: runs, allocations, review, settings, FX rates"),
        (name = "audit", description = "Append-only, hash-chained trail of every change"),
        (name = "admin", description = "Users and API keys"),
        (name = "statements", description = "Customer statements (对账), differences and their lifecycle"),
        (name = "reports", description = "AR aging, collections and DSO, overdue ranking"),
        (name = "collections", description = "Dunning levels, runs, credit holds, recovery; statement runs"),
        (name = "portal", description = "The customer's portal (customer-scoped tokens) and signed statement pushes"),
        (name = "webhooks", description = "Webhook endpoints, deliveries and attempts (Standard Webhooks signatures)"),
        (name = "connectors", description = "Scheduled pulls from ERPNext/Frappe and bank file URLs, with sync history"),
    )
)]
pub struct ApiDoc;

pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| AppError::new(ErrorCode::ValidationFailed, format!("query string: {err}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| AppError::new(ErrorCode::NotFound, format!("no such resource: {err}")).into()),
    )
    .service(auth::token)
    .service(customers::import)
    .service(customers::create)
    .service(customers::list)
    .service(customers::balance)
    .service(customers::get)
    .service(customers::update)
    .service(documents::import)
    .service(documents::create)
    .service(documents::list)
    .service(documents::get)
    .service(documents::update)
    .service(documents::cancel)
    .service(bank::create_account)
    .service(bank::list_accounts)
    .service(bank::update_account)
    .service(bank::import)
    .service(bank::get_statement)
    .service(bank::list_lines)
    .service(bank::formats)
    .service(bank::get_import_settings)
    .service(bank::put_import_settings)
    .service(matching::start)
    .service(matching::get)
    .service(matching::list)
    .service(matching::confirm)
    .service(matching::allocate)
    .service(matching::reject)
    .service(matching::get_settings)
    .service(matching::put_settings)
    .service(matching::list_rates)
    .service(matching::put_rates)
    .service(audit::verify)
    .service(audit::list)
    .service(admin::create_user)
    .service(admin::list_users)
    .service(admin::create_api_key)
    .service(admin::list_api_keys)
    .service(admin::revoke_api_key)
    .service(statements::submit)
    .service(statements::list)
    .service(statements::get)
    .service(statements::list_differences)
    .service(statements::get_difference)
    .service(statements::comment)
    .service(statements::act)
    .service(statements::send_all)
    .service(statements::statement_of_account)
    .service(statements::issue_portal_token)
    .service(statements::list_portal_tokens)
    .service(statements::revoke_portal_token)
    .service(statements::rotate_inbound_secret)
    .service(statements::confirmations)
    .service(portal::account)
    .service(portal::statement_of_account)
    .service(portal::list_differences)
    .service(portal::get_difference)
    .service(portal::comment)
    .service(portal::act)
    .service(portal::confirm_balance)
    .service(portal::submit_statement)
    .service(portal::inbound_statement)
    .service(reports::aging)
    .service(reports::collections)
    .service(reports::overdue_ranking)
    .service(collections::get_levels)
    .service(collections::put_levels)
    .service(collections::run_dunning)
    .service(collections::customer_dunning)
    .service(collections::recovery)
    .service(collections::start_statement_run)
    .service(collections::get_statement_run)
    .service(webhooks::create)
    .service(webhooks::list)
    .service(webhooks::get)
    .service(webhooks::update)
    .service(webhooks::remove)
    .service(webhooks::rotate_secret)
    .service(webhooks::deliveries)
    .service(webhooks::delivery)
    .service(webhooks::redeliver)
    .service(webhooks::get_settings)
    .service(webhooks::put_settings)
    .service(connectors::create)
    .service(connectors::list)
    .service(connectors::get)
    .service(connectors::update)
    .service(connectors::remove)
    .service(connectors::sync)
    .service(connectors::syncs)
    .service(connector_push::create_push_key)
    .service(connector_push::list_push_keys)
    .service(connector_push::rotate_push_secret)
    .service(connector_push::push_customers)
    .service(connector_push::push_documents)
    .service(connector_push::push_bank_statement)
    .route("/openapi.json", web::get().to(serve_openapi));
}

async fn serve_openapi(spec: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(spec.0.clone())
}

/// The document is rendered once at start-up.
pub struct OpenApiJson(pub String);

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorCode::NotFound, format!("no route for {} {}", req.method(), req.path())))
}
