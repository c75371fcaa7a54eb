//! The generic JSON connector against a local "billing API": invoices under `data.items`,
//! `updated_since` filtering, paging by `meta.next_cursor` (and by links), header-key auth.

use crate::connector_fixtures::{
    connector, create_connector, failures_then_recovery, fixture, intercept, next_sync, serve, spawn_connector_app,
    wait_syncs, Faults, SharedFaults,
};
use crate::helpers::TestApp;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub(crate) const KEY: &str = "billing-key-93ab71";
const PAGE: usize = 2;

#[derive(Default)]
pub(crate) struct Billing {
    invoices: Vec<Value>,
    /// (updated_since, cursor, rows answered) of each request.
    log: Vec<(String, Option<String>, usize)>,
}

pub(crate) type Shared = Arc<Mutex<Billing>>;

async fn invoices(req: HttpRequest, state: web::Data<Shared>, faults: web::Data<SharedFaults>) -> HttpResponse {
    if let Some(answer) = intercept(&faults).await {
        return answer;
    }
    if req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return HttpResponse::Unauthorized().json(json!({ "error": "invalid api key" }));
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let since = get("updated_since").unwrap_or_default();
    let cursor = get("cursor");
    // Three ways to page: an opaque cursor (here "o<offset>"), offset/limit, page numbers.
    let size: usize = get("limit").map(|l| l.parse().unwrap()).unwrap_or(PAGE);
    let offset: usize = match (cursor.as_deref(), get("offset"), get("page")) {
        (Some(c), _, _) => c.trim_start_matches('o').parse().unwrap(),
        (None, Some(o), _) => o.parse().unwrap(),
        (None, None, Some(p)) => (p.parse::<usize>().unwrap() - 1) * size,
        _ => 0,
    };
    let cursor = cursor
        .or_else(|| get("offset").map(|o| format!("offset={o}")))
        .or_else(|| get("page").map(|p| format!("page={p}")));
    let mut s = state.lock().unwrap();
    let mut rows: Vec<Value> =
        s.invoices.iter().filter(|r| r["updated_at"].as_str().unwrap() >= since.as_str()).cloned().collect();
    rows.sort_by_key(|r| r["updated_at"].as_str().unwrap().to_string());
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset).take(size).collect();
    s.log.push((since.clone(), cursor, page.len()));
    let next = (offset + size < total).then(|| format!("o{}", offset + size));
    let link = next.as_ref().map(|_| format!("/api/v2/invoices?updated_since={since}&cursor=o{}", offset + size));
    HttpResponse::Ok().json(json!({
        "data": { "items": page },
        "meta": { "next_cursor": next, "total": total },
        "links": { "next": link },
    }))
}

pub(crate) fn start() -> (Shared, SharedFaults, String) {
    let rows = fixture("generic_json", "invoices.json").as_array().unwrap().clone();
    let state: Shared = Arc::new(Mutex::new(Billing { invoices: rows, ..Billing::default() }));
    let faults: SharedFaults = Arc::new(Mutex::new(Faults::default()));
    let (s, f) = (state.clone(), faults.clone());
    let base = serve(move |cfg| {
        cfg.app_data(web::Data::new(s.clone()))
            .app_data(web::Data::new(f.clone()))
            .route("/api/v2/invoices", web::get().to(invoices));
    });
    (state, faults, base)
}

pub(crate) fn config(base: &str) -> Value {
    json!({
        "url": "{base}/api/v2/invoices?updated_since={cursor}",
        "base_url": base,
        "records_path": "data.items",
        "mapping": {
            "doc_no": "number", "customer_code": "customer.code", "issue_date": "issued_on",
            "due_date": "due_on", "currency": "currency", "amount": "totals[0].amount",
            "doc_type": "type", "external_reference": "id",
        },
        "doc_type_values": { "invoice": "invoice", "credit": "credit_note" },
        "cursor_field": "updated_at",
        "paging": { "style": "cursor", "next_path": "meta.next_cursor", "param": "cursor" },
        "source_system": "billing",
    })
}

pub(crate) fn generic(config: Value, key: &str) -> Value {
    json!({
        "connector_type": "generic_json", "name": "Billing API", "config": config,
        "credentials": { "header_name": "X-Api-Key", "header_value": key },
    })
}

pub(crate) async fn customers(app: &TestApp) {
    app.create_customer("C001").await;
    app.create_customer("C002").await;
}

pub(crate) fn log(state: &Shared) -> Vec<(String, Option<String>, usize)> {
    state.lock().unwrap().log.clone()
}

#[tokio::test]
async fn generic_json_pages_by_cursor_maps_paths_and_syncs_incrementally() {
    let app = spawn_connector_app().await;
    customers(&app).await;
    let (state, _, base) = start();
    let id = create_connector(&app, generic(config(&base), KEY)).await;
    let s = wait_syncs(&app, &id, 1).await.remove(0);
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 4, "{s}");
    assert_eq!(s["skipped"], 1, "{s}");
    let rejected = s["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{s}");
    assert_eq!(rejected[0]["record"], "F-2026-0003", "unknown customer: {s}");
    assert_eq!(
        log(&state),
        [("".to_string(), None, 2), ("".to_string(), Some("o2".into()), 2), ("".to_string(), Some("o4".into()), 1)]
    );
    assert_eq!(
        app.count(
            "documents WHERE source_system = 'billing' AND doc_no = 'F-2026-0001' AND amount = 1190 \
             AND external_reference = 'inv_01J9A1' AND due_date = '2026-10-31' AND issue_date = '2026-10-01'"
        ),
        1
    );
    assert_eq!(app.count("documents WHERE doc_type = 'credit_note' AND doc_no = 'CR-2026-0001' AND amount = 190"), 1);
    let c = connector(&app, &id).await;
    assert_eq!(c["cursor"]["since"], "2026-10-05T12:30:00Z", "{c}");
    assert_eq!(c["cursor"]["resume"], Value::Null, "{c}");

    // Incremental: the next pass asks from the largest updated_at on; the boundary record comes
    // again and is unchanged, the new one is created.
    state.lock().unwrap().invoices.extend(fixture("generic_json", "invoices_newer.json").as_array().unwrap().clone());
    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 1, "{s}");
    assert_eq!(s["updated"], 0, "{s}");
    assert_eq!(log(&state), [("2026-10-05T12:30:00Z".to_string(), None, 2)]);
    assert_eq!(app.count("documents WHERE source_system = 'billing'"), 5);

    for path in
        [format!("/api/v1/connectors/{id}"), format!("/api/v1/connectors/{id}/syncs"), "/api/v1/audit?limit=500".into()]
    {
        let r = app.get(&path).await;
        assert!(!r.text.contains(KEY), "{path} leaks the key");
    }
}

#[tokio::test]
async fn generic_json_auth_failures_server_errors_timeouts_and_recovery() {
    let app = spawn_connector_app().await;
    customers(&app).await;
    let (_, faults, base) = start();
    let id = create_connector(&app, generic(config(&base), "wrong-key")).await;
    failures_then_recovery(&app, &id, &faults, json!({ "header_name": "X-Api-Key", "header_value": KEY })).await;
    assert_eq!(app.count("documents WHERE source_system = 'billing'"), 4);
}

#[tokio::test]
async fn generic_json_offset_and_page_numbers() {
    let app = spawn_connector_app().await;
    customers(&app).await;
    let (state, _, base) = start();
    let styles = [
        (
            json!({ "style": "offset", "param": "offset", "limit_param": "limit", "limit": 2 }),
            ["offset=0", "offset=2", "offset=4"],
        ),
        // Without a page size the pass ends at the first empty page.
        (json!({ "style": "page", "param": "page", "start": 1 }), ["page=1", "page=2", "page=3"]),
    ];
    for (n, (paging, expected)) in styles.into_iter().enumerate() {
        let mut cfg = config(&base);
        cfg["paging"] = paging;
        state.lock().unwrap().log.clear();
        let id = create_connector(&app, generic(cfg, KEY)).await;
        let s = wait_syncs(&app, &id, 1).await.remove(0);
        assert_eq!(s["status"], "succeeded", "{s}");
        let requests: Vec<String> = log(&state).into_iter().map(|(_, c, _)| c.unwrap()).collect();
        let mut want: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
        if n == 1 {
            want.push("page=4".into());
        }
        assert_eq!(requests, want);
        assert_eq!(s["skipped"], 1 + n as i64 * 4, "the unknown customer, then also the unchanged: {s}");
        let r = app.send("DELETE", &format!("/api/v1/connectors/{id}"), Some(&app.api_key), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(app.count("documents"), 4, "the second connector updated nothing twice");
}

#[tokio::test]
async fn generic_json_link_paging_interrupted_then_resumed_without_duplicates() {
    let app = spawn_connector_app().await;
    customers(&app).await;
    let (state, faults, base) = start();
    let mut cfg = config(&base);
    cfg["paging"] = json!({ "style": "link", "next_path": "links.next" });
    faults.lock().unwrap().malformed_request = Some(2);
    let id = create_connector(&app, generic(cfg, KEY)).await;
    let s = wait_syncs(&app, &id, 1).await.remove(0);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("malformed JSON"), "{s}");
    assert_eq!(s["pages"], 1, "{s}");
    assert_eq!(app.count("documents WHERE source_system = 'billing'"), 2);
    let c = connector(&app, &id).await;
    assert!(c["cursor"]["resume"]["url"].as_str().unwrap().contains("cursor=o2"), "{c}");

    state.lock().unwrap().log.clear();
    let s = next_sync(&app, &id, 1).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["created"], 2, "{s}");
    assert_eq!(log(&state), [("".to_string(), Some("o2".into()), 2), ("".to_string(), Some("o4".into()), 1)]);
    assert_eq!(app.count("documents WHERE source_system = 'billing'"), 4);
}

#[tokio::test]
async fn generic_json_config_mistakes_are_422_naming_the_field() {
    let app = crate::helpers::spawn_app_with(|s| s.connectors.run_worker = false).await;
    let base = "https://billing.example.com";
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "records_path": "data..items" }), "config.records_path"),
        (
            json!({ "mapping": { "doc_no": "number", "customer_code": "customer.code", "issue_date": "issued_on",
                              "amount": "totals[x].amount", "currency": "currency" } }),
            "config.mapping.amount",
        ),
        (
            json!({ "mapping": { "customer_code": "customer.code", "issue_date": "issued_on",
                              "amount": "total", "currency": "currency" } }),
            "doc_no",
        ),
        (
            json!({ "mapping": { "doc_no": "number", "customer_code": "customer.code", "issue_date": "issued_on",
                              "amount": "total", "currency": "currency", "colour": "x" } }),
            "colour",
        ),
        (json!({ "paging": { "style": "scroll" } }), "scroll"),
        (json!({ "url": "{base}/invoices?since={since}" }), "config.url"),
        (json!({ "url": "http://127.0.0.1:9/invoices" }), "config.url"),
    ];
    for (patch, expected) in cases {
        let mut cfg = config(base);
        for (k, v) in patch.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let r = app.post("/api/v1/connectors", &generic(cfg, KEY)).await;
        assert_eq!(r.status, 422, "{patch}: {}", r.text);
        assert!(r.text.contains(expected), "{patch}: {expected} not in {}", r.text);
    }
    let r = app
        .post(
            "/api/v1/connectors",
            &json!({ "connector_type": "generic_json", "name": "x", "config": config(base),
                     "credentials": { "bearer_token": "t", "username": "u" } }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.post("/api/v1/connectors", &generic(config(base), KEY)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["config"]["negative_amount_is_credit_note"], true, "defaults are shown");
}

#[tokio::test]
async fn connectors_in_graphql_with_the_rest_permissions() {
    let app = spawn_connector_app().await;
    customers(&app).await;
    let (_, _, base) = start();
    let create = r#"mutation($input: ConnectorInput!) {
        createConnector(input: $input) { id connectorType name hasCredentials config enabled } }"#;
    let input = json!({ "input": {
        "connectorType": "GENERIC_JSON", "name": "Billing API", "config": config(&base),
        "credentials": { "header_name": "X-Api-Key", "header_value": KEY }, "scheduleSeconds": 3600 } });
    let r = app.graphql_as(Some(&app.api_key), create, input).await;
    let created = &r.body["data"]["createConnector"];
    assert_eq!(created["connectorType"], "GENERIC_JSON", "{}", r.text);
    assert_eq!(created["hasCredentials"], true, "{}", r.text);
    assert_eq!(created["config"]["records_path"], "data.items", "{}", r.text);
    let id = created["id"].as_str().unwrap().to_string();
    wait_syncs(&app, &id, 1).await;

    let read = r#"query($id: UUID!) {
        connectors { items { id name lastStatus cursor } nextCursor }
        connector(id: $id) { id lastStatus consecutiveFailures }
        connectorSyncs(id: $id) { items { status pages created skipped rejected error } } }"#;
    let r = app.graphql_as(Some(&app.api_key), read, json!({ "id": id })).await;
    let data = &r.body["data"];
    assert_eq!(data["connectors"]["items"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(data["connectors"]["items"][0]["cursor"]["since"], "2026-10-05T12:30:00Z", "{}", r.text);
    assert_eq!(data["connector"]["lastStatus"], "succeeded", "{}", r.text);
    assert_eq!(data["connectorSyncs"]["items"][0]["created"], 4, "{}", r.text);
    assert!(!r.text.contains(KEY), "no credentials in GraphQL answers");

    // Same permissions as REST: a viewer reads, but cannot sync, change or delete.
    let k = app.post("/api/v1/api-keys", &json!({ "name": "viewer", "role": "viewer" })).await;
    assert_eq!(k.status, 201, "{}", k.text);
    let viewer = k.body["api_key"].as_str().unwrap().to_string();
    let r = app.graphql_as(Some(&viewer), read, json!({ "id": id })).await;
    assert_eq!(r.body["data"]["connector"]["id"], id.as_str(), "{}", r.text);
    let sync = r#"mutation($id: UUID!) { syncConnector(id: $id) { id nextRunAt } }"#;
    let r = app.graphql_as(Some(&viewer), sync, json!({ "id": id })).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "forbidden", "{}", r.text);
    let update =
        r#"mutation($id: UUID!, $patch: ConnectorPatch!) { updateConnector(id: $id, patch: $patch) { name enabled } }"#;
    let r = app.graphql_as(Some(&viewer), update, json!({ "id": id, "patch": { "enabled": false } })).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "forbidden", "{}", r.text);

    // The admin syncs again, renames, and a bad config is a coded validation error.
    let r = app.graphql_as(Some(&app.api_key), sync, json!({ "id": id })).await;
    assert!(r.body["data"]["syncConnector"]["nextRunAt"].is_string(), "{}", r.text);
    wait_syncs(&app, &id, 2).await;
    let r = app.graphql_as(Some(&app.api_key), update, json!({ "id": id, "patch": { "name": "Billing v2" } })).await;
    assert_eq!(r.body["data"]["updateConnector"]["name"], "Billing v2", "{}", r.text);
    let mut bad = config(&base);
    bad["records_path"] = json!("data..items");
    let r = app.graphql_as(Some(&app.api_key), update, json!({ "id": id, "patch": { "config": bad } })).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "validation_failed", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["field"], "config.records_path", "{}", r.text);
    let delete = r#"mutation($id: UUID!) { deleteConnector(id: $id) { id } }"#;
    let r = app.graphql_as(Some(&app.api_key), delete, json!({ "id": id })).await;
    assert_eq!(r.body["data"]["deleteConnector"]["id"], id.as_str(), "{}", r.text);
    assert_eq!(app.count("documents WHERE source_system = 'billing'"), 4, "imported data stays");
}
