use super::ErrorBody;
use crate::api::extract::{execute_write, Auth};
use crate::error::AppResult;
use crate::services::data_safety::erasure::{self, ErasureView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};

/// Erase a customer's personal data (admin): name, aliases, country, e-mail and bank accounts,
/// and the payer's name and account on bank lines applied to its items. The ledger stays; the
/// erasure is an audit entry with hashes of what was erased.
#[utoipa::path(
    operation_id = "eraseCustomer",
    tag = "customers",
    params(("code" = String, Path)),
    responses((status = 200, body = ErasureView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customers/{code}/erasure")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let code = code.into_inner();
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| erasure::erase_customer(conn, &principal, &code))
        .await
}
