//! The open banking connector against a local server shaped like a Berlin Group NextGenPSD2
//! account information API: `GET /v1/accounts`, `GET /v1/accounts/{id}/transactions` with
//! `bookingStatus=booked&dateFrom=`, paged by `_links.next.href`, Bearer token and Consent-ID.

use crate::connector_fixtures::{
    connector, create_connector, failures_then_recovery, fixture, intercept, next_sync, serve, spawn_connector_app,
    wait_syncs, Faults, SharedFaults,
};
use crate::helpers::TestApp;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "psd2-access-token-8d1f";
const CONSENT: &str = "consent-7f2e";
const ACCOUNT: &str = "3dc3d5b3-7023-4848-9853-f5400a64e80f";
const IBAN: &str = "DE89370400440532013000";
const PAGE: usize = 2;

#[derive(Default)]
struct Bank {
    booked: Vec<Value>,
    /// (dateFrom, page, rows answered) of each transactions request.
    log: Vec<(String, usize, usize)>,
}

type Shared = Arc<Mutex<Bank>>;

fn authorized(req: &HttpRequest) -> bool {
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    h("authorization") == format!("Bearer {TOKEN}") && h("consent-id") == CONSENT && !h("x-request-id").is_empty()
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .json(json!({ "tppMessages": [{ "category": "ERROR", "code": "TOKEN_INVALID", "text": "token invalid" }] }))
}

async fn accounts(req: HttpRequest, faults: web::Data<SharedFaults>) -> HttpResponse {
    if let Some(answer) = intercept(&faults).await {
        return answer;
    }
    if !authorized(&req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(fixture("open_banking", "accounts.json"))
}

async fn transactions(
    req: HttpRequest,
    account: web::Path<String>,
    state: web::Data<Shared>,
    faults: web::Data<SharedFaults>,
) -> HttpResponse {
    if let Some(answer) = intercept(&faults).await {
        return answer;
    }
    if !authorized(&req) {
        return unauthorized();
    }
    assert_eq!(account.as_str(), ACCOUNT, "only the configured account is read");
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("bookingStatus").as_deref(), Some("booked"));
    let date_from = get("dateFrom").expect("dateFrom");
    let page: usize = get("page").map(|p| p.parse().unwrap()).unwrap_or(1);
    let mut s = state.lock().unwrap();
    let mut rows: Vec<Value> =
        s.booked.iter().filter(|t| t["bookingDate"].as_str().unwrap() >= date_from.as_str()).cloned().collect();
    rows.sort_by_key(|t| t["bookingDate"].as_str().unwrap().to_string());
    let total = rows.len();
    let chunk: Vec<Value> = rows.into_iter().skip((page - 1) * PAGE).take(PAGE).collect();
    s.log.push((date_from.clone(), page, chunk.len()));
    let mut body = fixture("open_banking", "transactions.json");
    body["transactions"]["booked"] = Value::Array(chunk);
    if page * PAGE < total {
        body["transactions"]["_links"]["next"] = json!({
            "href": format!("/v1/accounts/{ACCOUNT}/transactions?bookingStatus=booked&dateFrom={date_from}&page={}", page + 1)
        });
    }
    HttpResponse::Ok().json(body)
}

fn start() -> (Shared, SharedFaults, String) {
    let booked = fixture("open_banking", "transactions.json")["transactions"]["booked"].as_array().unwrap().clone();
    let state: Shared = Arc::new(Mutex::new(Bank { booked, ..Bank::default() }));
    let faults: SharedFaults = Arc::new(Mutex::new(Faults::default()));
    let (s, f) = (state.clone(), faults.clone());
    let base = serve(move |cfg| {
        cfg.app_data(web::Data::new(s.clone()))
            .app_data(web::Data::new(f.clone()))
            .route("/v1/accounts", web::get().to(accounts))
            .route("/v1/accounts/{id}/transactions", web::get().to(transactions));
    });
    (state, faults, base)
}

async fn register_account(app: &TestApp) {
    let r = app.post("/api/v1/bank-accounts", &json!({ "account_id": IBAN, "currency": "EUR" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn ob_connector(base: &str, token: &str) -> Value {
    json!({
        "connector_type": "open_banking", "name": "Hausbank PSD2",
        // Spaces as people write IBANs; the USD account of the consent is not synced.
        "config": { "base_url": base, "accounts": ["DE89 3704 0044 0532 0130 00"], "date_from": "2026-09-01" },
        "credentials": { "access_token": token, "consent_id": CONSENT },
    })
}

fn log(state: &Shared) -> Vec<(String, usize, usize)> {
    state.lock().unwrap().log.clone()
}

#[tokio::test]
async fn open_banking_pages_by_link_and_rereads_only_the_last_day() {
    let app = spawn_connector_app().await;
    register_account(&app).await;
    let (state, _, base) = start();
    let id = create_connector(&app, ob_connector(&base, TOKEN)).await;
    let s = wait_syncs(&app, &id, 1).await.remove(0);
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 5, "{s}");
    assert_eq!(s["pages"], 3, "{s}");
    assert_eq!(
        log(&state),
        [("2026-09-01".to_string(), 1, 2), ("2026-09-01".to_string(), 2, 2), ("2026-09-01".to_string(), 3, 1)]
    );
    assert_eq!(app.count("bank_lines"), 5, "booked only, not pending");
    assert_eq!(
        app.count(
            "bank_lines WHERE bank_reference = '1234567' AND amount = 1190 AND counterparty_name = 'Acme GmbH' \
             AND counterparty_iban = 'DE44500105175407324931' AND remittance = 'INV/2026/00001' \
             AND end_to_end_id = 'E2E-ACME-0001'"
        ),
        1
    );
    assert_eq!(
        app.count(
            "bank_lines WHERE bank_reference = '2026100200002' AND amount = -12.50 AND counterparty_name = 'Bank fees'"
        ),
        1,
        "entryReference when there is no transactionId; a debit's counterparty is the creditor"
    );
    assert_eq!(app.count("bank_lines WHERE remittance = 'INV/2026/00004 thank you'"), 1);
    assert_eq!(app.count("bank_lines WHERE bank_reference = '1234569' AND end_to_end_id IS NULL"), 1);
    let c = connector(&app, &id).await;
    let cursor = &c["cursor"][format!("account:{ACCOUNT}")];
    assert_eq!(cursor["date_from"], "2026-10-05", "{c}");
    assert_eq!(cursor["next"], Value::Null, "{c}");

    // Incremental: a late booking on the last day and a newer one. The next sync starts at the
    // last day; what it reads again is skipped by the import's deduplication.
    let newer = fixture("open_banking", "transactions_newer.json");
    state.lock().unwrap().booked.extend(newer.as_array().unwrap().iter().cloned());
    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 2, "{s}");
    assert_eq!(s["skipped"], 1, "the last day's known line: {s}");
    assert_eq!(log(&state), [("2026-10-05".to_string(), 1, 2), ("2026-10-05".to_string(), 2, 1)]);
    assert_eq!(app.count("bank_lines"), 7);
    assert_eq!(app.count("bank_lines WHERE amount = -300 AND counterparty_iban = 'GB29NWBK60161331926819'"), 1);

    for path in
        [format!("/api/v1/connectors/{id}"), format!("/api/v1/connectors/{id}/syncs"), "/api/v1/audit?limit=500".into()]
    {
        let r = app.get(&path).await;
        assert!(!r.text.contains(TOKEN), "{path} leaks the token");
    }
}

#[tokio::test]
async fn open_banking_auth_failures_server_errors_timeouts_and_recovery() {
    let app = spawn_connector_app().await;
    register_account(&app).await;
    let (_, faults, base) = start();
    let id = create_connector(&app, ob_connector(&base, "expired-token")).await;
    failures_then_recovery(&app, &id, &faults, json!({ "access_token": TOKEN, "consent_id": CONSENT })).await;
    assert_eq!(app.count("bank_lines"), 5);
}

#[tokio::test]
async fn open_banking_interrupted_sync_resumes_at_the_next_link_without_duplicates() {
    let app = spawn_connector_app().await;
    register_account(&app).await;
    let (state, faults, base) = start();
    // Requests: accounts, transactions page 1, page 2 (broken).
    faults.lock().unwrap().malformed_request = Some(3);
    let id = create_connector(&app, ob_connector(&base, TOKEN)).await;
    let s = wait_syncs(&app, &id, 1).await.remove(0);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("malformed JSON"), "{s}");
    assert_eq!(s["pages"], 1, "{s}");
    assert_eq!(app.count("bank_lines"), 2);
    let c = connector(&app, &id).await;
    let cursor = &c["cursor"][format!("account:{ACCOUNT}")];
    assert!(cursor["next"].as_str().unwrap().contains("page=2"), "{c}");

    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 3, "{s}");
    assert_eq!(s["skipped"], 0, "{s}");
    assert_eq!(log(&state), [("2026-09-01".to_string(), 2, 2), ("2026-09-01".to_string(), 3, 1)], "resumed at page 2");
    assert_eq!(app.count("bank_lines"), 5);
}
