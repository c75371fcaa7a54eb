//! The Odoo connector against a local JSON-RPC server shaped like Odoo's `/jsonrpc`: `common.login`
//! and `object.execute_kw(... "search_read" ...)` with domains in prefix notation, errors as
//! HTTP 200 with `{"error":...}`.

use crate::connector_fixtures::{
    connector, create_connector, failures_then_recovery, fixture, intercept, next_sync, serve, spawn_connector_app,
    wait_syncs, Faults, SharedFaults,
};
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const DB: &str = "acme";
const LOGIN: &str = "api@acme.example";
const KEY: &str = "odoo-api-key-5f3c9e";

#[derive(Default)]
struct Odoo {
    partners: Vec<Value>,
    moves: Vec<Value>,
    payments: Vec<Value>,
    /// execute_kw answers AccessDenied (a revoked key).
    access_denied: bool,
    /// (model, domain, rows answered) of each search_read.
    log: Vec<(String, Value, usize)>,
}

type Shared = Arc<Mutex<Odoo>>;

fn rpc_result(id: &Value, result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "jsonrpc": "2.0", "id": id, "result": result }))
}

fn access_denied(id: &Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "jsonrpc": "2.0", "id": id,
        "error": { "code": 200, "message": "Odoo Server Error",
                   "data": { "name": "odoo.exceptions.AccessDenied", "message": "Access Denied",
                             "debug": "Traceback (most recent call last): ...", "arguments": ["Access Denied"], "context": {} } },
    }))
}

/// Odoo's domain: prefix notation, `|` / `&` / `!` take the following terms, the rest is ANDed.
fn matches(domain: &[Value], record: &Value) -> bool {
    fn term(d: &[Value], pos: &mut usize, r: &Value) -> bool {
        let t = &d[*pos];
        *pos += 1;
        match t.as_str() {
            Some("|") => {
                let (a, b) = (term(d, pos, r), term(d, pos, r));
                a || b
            }
            Some("&") => {
                let (a, b) = (term(d, pos, r), term(d, pos, r));
                a && b
            }
            Some("!") => !term(d, pos, r),
            _ => {
                let (field, op, v) = (t[0].as_str().unwrap(), t[1].as_str().unwrap(), &t[2]);
                let x = &r[field];
                match op {
                    "=" => x == v,
                    "in" => v.as_array().unwrap().contains(x),
                    ">" => match (x.as_f64(), v.as_f64()) {
                        (Some(a), Some(b)) => a > b,
                        _ => x.as_str().unwrap() > v.as_str().unwrap(),
                    },
                    other => panic!("operator {other}"),
                }
            }
        }
    }
    let mut pos = 0;
    let mut all = true;
    while pos < domain.len() {
        all &= term(domain, &mut pos, record);
    }
    all
}

async fn jsonrpc(body: web::Json<Value>, state: web::Data<Shared>, faults: web::Data<SharedFaults>) -> HttpResponse {
    if let Some(answer) = intercept(&faults).await {
        return answer;
    }
    let id = body["id"].clone();
    let params = &body["params"];
    let args = params["args"].as_array().unwrap();
    let mut s = state.lock().unwrap();
    match (params["service"].as_str().unwrap(), params["method"].as_str().unwrap()) {
        ("common", "login") => {
            let ok = args[0] == DB && args[1] == LOGIN && args[2] == KEY;
            rpc_result(&id, if ok { json!(2) } else { json!(false) })
        }
        ("object", "execute_kw") => {
            if s.access_denied || args[2] != KEY || args[1] != 2 {
                return access_denied(&id);
            }
            assert_eq!(args[4], "search_read");
            let model = args[3].as_str().unwrap().to_string();
            let domain = args[5][0].as_array().unwrap().clone();
            let kwargs = &args[6];
            let fields: Vec<String> =
                kwargs["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
            let limit = kwargs["limit"].as_u64().unwrap() as usize;
            let offset = kwargs.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
            let source = match model.as_str() {
                "res.partner" => &s.partners,
                "account.move" => &s.moves,
                "account.payment" => &s.payments,
                other => panic!("model {other}"),
            };
            let mut rows: Vec<Value> = source.iter().filter(|r| matches(&domain, r)).cloned().collect();
            if let Some(order) = kwargs.get("order") {
                assert_eq!(order, "write_date asc, id asc");
                rows.sort_by_key(|r| (r["write_date"].as_str().unwrap().to_string(), r["id"].as_i64().unwrap()));
            }
            let page: Vec<Value> = rows
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|r| {
                    let mut out = serde_json::Map::new();
                    out.insert("id".into(), r["id"].clone());
                    for f in &fields {
                        out.insert(f.clone(), r.get(f).cloned().unwrap_or(Value::Bool(false)));
                    }
                    Value::Object(out)
                })
                .collect();
            s.log.push((model, Value::Array(domain), page.len()));
            rpc_result(&id, Value::Array(page))
        }
        other => panic!("unexpected call {other:?}"),
    }
}

fn start(partners: Vec<Value>, moves: Vec<Value>) -> (Shared, SharedFaults, String) {
    let payments = rows("account_payment.json");
    let state: Shared = Arc::new(Mutex::new(Odoo { partners, moves, payments, ..Odoo::default() }));
    let faults: SharedFaults = Arc::new(Mutex::new(Faults::default()));
    let (s, f) = (state.clone(), faults.clone());
    let base = serve(move |cfg| {
        cfg.app_data(web::Data::new(s.clone()))
            .app_data(web::Data::new(f.clone()))
            .route("/jsonrpc", web::post().to(jsonrpc));
    });
    (state, faults, base)
}

fn rows(name: &str) -> Vec<Value> {
    fixture("odoo", name).as_array().unwrap().clone()
}

fn odoo_connector(base: &str, key: &str, page_size: u32) -> Value {
    json!({
        "connector_type": "odoo", "name": "Odoo",
        "config": { "base_url": base, "database": DB, "username": LOGIN, "page_size": page_size },
        "credentials": { "api_key": key },
    })
}

fn move_pages(state: &Shared) -> Vec<usize> {
    state.lock().unwrap().log.iter().filter(|(m, _, _)| m == "account.move").map(|(_, _, n)| *n).collect()
}

#[tokio::test]
async fn odoo_pages_by_write_date_and_maps_partners_consistently() {
    let app = spawn_connector_app().await;
    let (state, _, base) = start(rows("res_partner.json"), rows("account_move.json"));
    let id = create_connector(&app, odoo_connector(&base, KEY, 2)).await;
    let syncs = wait_syncs(&app, &id, 1).await;
    let s = &syncs[0];
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 9, "2 customers, 5 invoices and credit notes, 2 payments: {s}");
    // The partner's ref is its code, else odoo-<id>; invoices of a contact go to its company.
    assert_eq!(app.count("customers WHERE code = 'ACME' AND name = 'Acme GmbH'"), 1);
    assert_eq!(app.count("customers WHERE code = 'odoo-9' AND name = 'Beta SARL'"), 1);
    assert_eq!(app.count("customers WHERE code IN ('SUP-1', 'odoo-8', 'odoo-11')"), 0, "not customers");
    assert_eq!(
        app.count("documents WHERE source_system = 'odoo' AND doc_type <> 'payment'"),
        5,
        "posted customer moves only"
    );
    assert_eq!(
        app.count(
            "documents d JOIN customers c ON c.id = d.customer_id WHERE d.doc_type = 'payment' \
             AND d.doc_no = 'PBNK1/2026/00001' AND c.code = 'ACME' AND d.amount = 1000 AND d.issue_date = '2026-10-10'"
        ),
        1
    );
    assert_eq!(app.count("documents WHERE doc_type = 'payment'"), 2, "inbound, posted, from customers only");
    assert_eq!(
        app.count(
            "documents d JOIN customers c ON c.id = d.customer_id WHERE d.doc_no = 'INV/2026/00001' \
             AND c.code = 'ACME' AND d.amount = 1190 AND d.due_date = '2026-11-01'"
        ),
        1
    );
    assert_eq!(
        app.count("documents WHERE doc_type = 'credit_note' AND doc_no = 'RINV/2026/00001' AND amount = 190"),
        1
    );
    assert_eq!(app.count("documents WHERE doc_no = 'INV/2026/00004' AND amount = 99.99"), 1);
    // Pages of 2; the two moves sharing a write_date across the page boundary are both in.
    assert_eq!(move_pages(&state), [2, 2, 1]);
    let c = connector(&app, &id).await;
    assert_eq!(c["cursor"]["invoices"], json!({ "write_date": "2026-10-06 15:45:00", "id": 105 }), "{c}");

    // Incremental: the next sync asks only for moves after the cursor and imports the new one.
    state.lock().unwrap().moves.extend(rows("account_move_newer.json"));
    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 1, "{s}");
    assert_eq!(s["updated"], 0, "{s}");
    let log = state.lock().unwrap().log.clone();
    let moves: Vec<_> = log.iter().filter(|(m, _, _)| m == "account.move").collect();
    assert_eq!(moves.len(), 1, "{log:?}");
    assert_eq!(moves[0].2, 1);
    assert!(moves[0].1.to_string().contains(r#"["id",">",105]"#), "{}", moves[0].1);
    assert_eq!(app.count("documents WHERE source_system = 'odoo'"), 8);

    // The key is in no answer.
    for path in
        [format!("/api/v1/connectors/{id}"), format!("/api/v1/connectors/{id}/syncs"), "/api/v1/audit?limit=500".into()]
    {
        let r = app.get(&path).await;
        assert!(!r.text.contains(KEY), "{path} leaks the key");
    }
}

#[tokio::test]
async fn odoo_auth_failures_server_errors_timeouts_and_recovery() {
    let app = spawn_connector_app().await;
    let (state, faults, base) = start(rows("res_partner.json"), rows("account_move.json"));
    // A wrong key: login answers false.
    let id = create_connector(&app, odoo_connector(&base, "wrong-key", 100)).await;
    let done = failures_then_recovery(&app, &id, &faults, json!({ "api_key": KEY })).await;
    assert_eq!(app.count("documents WHERE source_system = 'odoo'"), 7);

    // A key revoked after login: Odoo's AccessDenied error (HTTP 200) is an authentication failure.
    state.lock().unwrap().access_denied = true;
    let s = next_sync(&app, &id, done).await;
    assert_eq!(s["status"], "failed", "{s}");
    let error = s["error"].as_str().unwrap();
    assert!(error.contains("authentication failed") && error.contains("AccessDenied"), "{error}");
    assert!(!error.contains("Traceback"), "{error}");
}

#[tokio::test]
async fn odoo_malformed_page_is_not_written_and_the_sync_resumes_without_duplicates() {
    let app = spawn_connector_app().await;
    let (state, faults, base) = start(rows("res_partner.json"), rows("account_move.json"));
    // Requests: login, partners (a full page of 2, then an empty one), moves page 1, the codes
    // of its partners, moves page 2 (broken).
    faults.lock().unwrap().malformed_request = Some(6);
    let id = create_connector(&app, odoo_connector(&base, KEY, 2)).await;
    let s = wait_syncs(&app, &id, 1).await.remove(0);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("malformed JSON"), "{s}");
    assert_eq!(s["pages"], 2, "customers and the first moves page: {s}");
    assert_eq!(app.count("documents WHERE source_system = 'odoo'"), 2);
    let c = connector(&app, &id).await;
    assert_eq!(c["cursor"]["invoices"], json!({ "write_date": "2026-10-03 09:00:00", "id": 102 }), "{c}");

    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 5, "3 moves and 2 payments: {s}");
    assert_eq!(move_pages(&state), [2, 1], "resumed after the committed page");
    assert_eq!(app.count("documents WHERE source_system = 'odoo'"), 7);
}

#[tokio::test]
async fn a_hanging_odoo_does_not_hold_up_another_connector() {
    use crate::connectors_generic_json as billing;
    let app = spawn_connector_app().await;
    billing::customers(&app).await;
    let (_, faults, base) = start(rows("res_partner.json"), rows("account_move.json"));
    faults.lock().unwrap().delay = Some(crate::connector_fixtures::SLOW);
    let odoo = create_connector(&app, odoo_connector(&base, KEY, 100)).await;
    let (_, _, billing_base) = billing::start();
    let other = create_connector(&app, billing::generic(billing::config(&billing_base), billing::KEY)).await;

    let fast = wait_syncs(&app, &other, 1).await.remove(0);
    assert_eq!(fast["status"], "succeeded", "{fast}");
    let slow = wait_syncs(&app, &odoo, 1).await.remove(0);
    assert_eq!(slow["status"], "failed", "{slow}");
    assert!(slow["error"].as_str().unwrap().contains("timed out"), "{slow}");
    let finished = |s: &Value| s["finished_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert!(finished(&fast) < finished(&slow), "the other connector finished while Odoo hung: {fast} {slow}");
}
