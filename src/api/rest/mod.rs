//! REST under `/api/v1`, its OpenAPI document and the offline Swagger UI viewer.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod bank;
pub mod collection_work;
pub mod collections;
pub mod connector_push;
pub mod connectors;
pub mod credit;
pub mod customer_contacts;
pub mod customer_groups;
pub mod customers;
pub mod data_safety;
pub mod difference_causes;
pub mod documents;
pub mod exports;
pub mod health;
pub mod import_mappings;
pub mod learned_facts;
pub mod matching;
pub mod matching_rules;
mod openapi_errors;
mod openapi_examples;
mod openapi_pages;
pub mod portal;
pub mod products;
pub mod reports;
pub mod statement_mappings;
pub mod statements;
pub mod templates;
pub mod users;
pub mod webhooks;
pub mod work_orders;

use crate::error::{AppError, ErrorCode};
use actix_web::{web, HttpRequest, HttpResponse};
use openapi_errors::DocumentedErrors;
use openapi_examples::RequestExamples;
use openapi_pages::NamedPageItems;
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

/// Every REST handler, listed once: `configure` registers them with actix and `ApiDoc` documents
/// them, so no route is served without being in the OpenAPI document. The order is actix's
/// matching order (`/customers/import` before `/customers/{code}`).
macro_rules! rest_api {
    ($($module:ident :: $handler:ident),* $(,)?) => {
        #[derive(OpenApi)]
        #[openapi(
            info(title = "duizhang", description = "Accounts-receivable reconciliation API. Money is always a decimal string."),
            servers((url = "/api/v1")),
            paths($($module::$handler),*),
            components(schemas(ErrorBody, ErrorDetail)),
            modifiers(&BearerAuth, &DocumentedErrors, &RequestExamples, &NamedPageItems),
            tags(
                (name = "auth", description = "Tokens for people: log in to a tenant, change your password, log out everywhere, redeem a reset"),
                (name = "customers", description = "Customer master data and balances"),
                (name = "products", description = "Products and services the tenant sells (master data for document lines)"),
                (name = "documents", description = "The company's ledger: invoices, credit notes, payments, adjustments"),
                (name = "bank", description = "Our bank accounts, statement imports (camt.053/054, MT940, CSV, BAI2) and bank lines"),
                (name = "matching", description = "Cash application: runs, allocations, review, settings, FX rates"),
                (name = "audit", description = "Append-only, hash-chained trail of every change"),
                (name = "admin", description = "Users (and their lifecycle) and API keys"),
                (name = "statements", description = "Customer statements (对账) and the statement of account"),
                (name = "differences", description = "Differences found between our books and a customer's statement, and their lifecycle"),
                (name = "reports", description = "AR aging, collections and DSO, overdue ranking, charts"),
                (name = "collections", description = "Dunning levels, runs, recovery; collection tasks, contact log, promises to pay; credit policy, rules and the credit check; statement runs"),
                (name = "portal", description = "The customer's portal (customer-scoped tokens) and signed statement pushes"),
                (name = "webhooks", description = "Webhook endpoints, deliveries and attempts (Standard Webhooks signatures)"),
                (name = "imports", description = "Spreadsheet templates to download and fill in, and saved column mappings for imports in the tenant's own layout"),
                (name = "work_orders", description = "Dispute work orders (争议处理工单): owner, priority, due date by the service level per cause, status, comments shared with the customer, SLA breaches"),
                (name = "connectors", description = "Scheduled pulls (ERPNext, Odoo, JSON invoice APIs, bank file URLs, open banking) with sync history, and signed pushes from ERPs and banks"),
            )
        )]
        pub struct ApiDoc;

        fn register_handlers(cfg: &mut web::ServiceConfig) {
            $(cfg.service($module::$handler);)*
        }

        /// (path under `/api/v1`, methods) of every registered handler, as actix matches them.
        pub fn routes() -> Vec<(String, Vec<utoipa::openapi::path::HttpMethod>)> {
            vec![$((<$module::$handler as utoipa::Path>::path(), <$module::$handler as utoipa::Path>::methods())),*]
        }
    };
}

rest_api! {
    auth::token, auth::change_password, auth::logout_everywhere, auth::complete_password_reset,
    customers::import, customers::create, customers::list, customers::balance, customers::payment_behaviour, customers::get, customers::update, data_safety::erase_customer, data_safety::export_tenant,
    customer_contacts::import, customer_contacts::list, customer_contacts::create, customer_contacts::update, customer_contacts::remove,
    customer_groups::create, customer_groups::list, customer_groups::get, customer_groups::update, customer_groups::put_members, customer_groups::remove, customer_groups::statement_of_account,
    products::import, products::create, products::list, products::get, products::update,
    templates::list, templates::download, import_mappings::list, import_mappings::create, import_mappings::get, import_mappings::replace, import_mappings::remove,
    documents::import, documents::create, documents::list, documents::get, documents::update, documents::cancel, documents::get_settings, documents::put_settings,
    bank::create_account, bank::list_accounts, bank::update_account, bank::import, bank::get_statement, bank::list_lines, bank::formats, bank::get_import_settings, bank::put_import_settings,
    matching::start, matching::get, matching::list, matching::confirm, matching::allocate, matching::reject, matching::get_settings, matching::put_settings, matching::list_rates, matching::put_rates, matching::dry_run_rules,
    matching_rules::list, matching_rules::create, matching_rules::from_template, matching_rules::reorder, matching_rules::get, matching_rules::update, matching_rules::retire, matching_rules::versions, matching_rules::version, matching_rules::templates,
    learned_facts::list, learned_facts::get, learned_facts::revoke,
    audit::verify, audit::list,
    admin::create_user, admin::list_users, admin::create_api_key, admin::list_api_keys, admin::revoke_api_key,
    users::get_user, users::update_user, users::disable_user, users::enable_user, users::logout_user_everywhere, users::issue_password_reset, users::delete_user,
    statements::submit, statements::list, statement_mappings::lines, statements::get, statements::list_differences, statements::get_difference, statements::comment, statements::act, statements::send_all, statements::statement_of_account, statements::issue_portal_token, statements::list_portal_tokens, statements::revoke_portal_token, statements::rotate_inbound_secret, statements::confirmations,
    statement_mappings::get_mapping, statement_mappings::put_mapping, statement_mappings::delete_mapping,
    portal::account, templates::portal_statement, portal::statement_of_account, portal::list_differences, portal::get_difference, portal::comment, portal::act, portal::confirm_balance, portal::submit_statement, portal::inbound_statement,
    reports::aging, reports::collections, reports::overdue_ranking, reports::chart, difference_causes::report, difference_causes::set_cause,
    work_orders::create, work_orders::list, work_orders::sweep, work_orders::get, work_orders::update, work_orders::comment, work_orders::get_settings, work_orders::put_settings,
    collections::get_levels, collections::put_levels, collections::run_dunning, collections::customer_dunning, collections::recovery, collections::start_statement_run, collections::get_statement_run,
    collection_work::list_tasks, collection_work::get_task, collection_work::update_task, collection_work::log_task_contact, collection_work::log_contact, collection_work::contact_log_of, collection_work::promises_of, collection_work::check_promises, collection_work::get_settings, collection_work::put_settings,
    credit::get_policy, credit::put_policy, credit::check, credit::get_rules, credit::put_rules,
    webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::remove, webhooks::rotate_secret, webhooks::deliveries, webhooks::delivery, webhooks::redeliver, webhooks::get_settings, webhooks::put_settings,
    connectors::create, connectors::list, connectors::get, connectors::update, connectors::remove, connectors::sync, connectors::syncs,
    connector_push::create_push_key, connector_push::list_push_keys, connector_push::rotate_push_secret, connector_push::push_customers, connector_push::push_documents, connector_push::push_bank_statement,
}

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
    .route("/openapi.json", web::get().to(serve_openapi))
    .configure(register_handlers);
}

async fn serve_openapi(spec: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(spec.0.clone())
}

/// The document is rendered once at start-up.
pub struct OpenApiJson(pub String);

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorCode::NotFound, format!("no route for {} {}", req.method(), req.path())))
}
