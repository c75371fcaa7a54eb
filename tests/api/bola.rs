//! Broken object-level authorisation, checked systematically: every REST route of the OpenAPI
//! document that takes an id or code in its path, and every GraphQL field that takes one, is
//! called with another tenant's credentials (and, for the portal, another customer's token)
//! on objects that exist: the answer must be 404 (or 403) and nothing of the owner may change.
//! The owner's own call of the same route must then succeed, so the refusal is about the caller.
//! A new route with a path id makes the test fail until it is covered here.

use crate::helpers::{spawn_app_with, TestApp};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The ids of one of everything, in tenant A.
pub(crate) struct World {
    pub(crate) ids: HashMap<&'static str, String>,
    /// Portal tokens: of A's customer C1 (owner of the difference), of A's customer C2, of B's customer.
    portal_c1: String,
    portal_c2: String,
    portal_b: String,
    pub(crate) b_key: String,
}

async fn ok(r: crate::helpers::Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    r.body
}

async fn wait_for<F, Fut>(what: &str, mut probe: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "no {what} within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn build_world(app: &TestApp) -> World {
    let mut ids = HashMap::new();
    for (code, iban) in [("C1", "DE11111111111111111111"), ("C2", "FR2222222222222222222222")] {
        ok(
            app.post(
                "/api/v1/customers",
                &json!({"code": code, "name": format!("Customer {code}"), "bank_accounts": [iban]}),
            )
            .await,
            201,
        )
        .await;
    }
    // Webhooks first, so the events below reach the endpoint (deliveries exist).
    let r = app
        .send(
            "PUT",
            "/api/v1/webhook-settings",
            Some(&app.api_key),
            Some(("application/json", br#"{"allow_private_targets":true}"#.to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let endpoint =
        ok(app.post("/api/v1/webhook-endpoints", &json!({"url": "http://127.0.0.1:9/hook"})).await, 201).await;
    ids.insert("webhook-endpoints", endpoint["id"].as_str().unwrap().to_string());

    ok(app.post("/api/v1/products", &json!({"code": "C1", "name": "A product coded like a customer"})).await, 201)
        .await;
    let group = json!({"code": "C1", "name": "A group coded like a customer", "members": ["C2"]});
    ok(app.post("/api/v1/customer-groups", &group).await, 201).await;
    let contact =
        ok(app.post("/api/v1/customers/C1/contacts", &json!({"name": "Li Na", "for_statements": true})).await, 201)
            .await;
    ids.insert("contacts", contact["id"].as_str().unwrap().to_string());
    let mapping = json!({"kind": "customers", "name": "erp", "mapping": {"columns": {"客户编号": "code"}}});
    let mapping = ok(app.post("/api/v1/import-mappings", &mapping).await, 201).await;
    ids.insert("import-mappings", mapping["id"].as_str().unwrap().to_string());
    let doc = app.create_invoice("C1", "INV-2026-0000101", "100.00").await;
    ids.insert("documents", doc["id"].as_str().unwrap().to_string());
    // With lines (and a rounding setting), so the tenant archive carries both.
    let lines = json!([{"product_code": "C1", "quantity": "2", "unit_price": "100", "tax_rate": "25"}]);
    ok(
        app.post(
            "/api/v1/documents",
            &json!({"doc_type": "invoice", "doc_no": "INV-2026-0000102", "customer_code": "C1",
                    "issue_date": "2026-03-01", "due_date": "2026-03-31", "currency": "EUR", "amount": "250.00",
                    "lines": lines}),
        )
        .await,
        201,
    )
    .await;
    let settings = br#"{"tax_rounding":"per_document"}"#.to_vec();
    let r = app
        .send("PUT", "/api/v1/document-settings", Some(&app.api_key), Some(("application/json", settings)), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let account = ok(
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await,
        201,
    )
    .await;
    ids.insert("bank-accounts", account["id"].as_str().unwrap().to_string());
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-04-01,,100.00,EUR,CUSTOMER C1,DE11111111111111111111,INV-2026-0000101,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    let statement = ok(r, 201).await;
    ids.insert("bank-statements", statement["statement_id"].as_str().unwrap().to_string());
    let run = ok(app.post("/api/v1/reconciliations", &json!({})).await, 202).await;
    let run_id = run["id"].as_str().unwrap().to_string();
    ids.insert("reconciliations", run_id.clone());
    let allocation = wait_for("allocation", || async {
        let r = app.get(&format!("/api/v1/allocations?reconciliation_id={run_id}")).await;
        r.body["items"].as_array().and_then(|items| items.first().cloned())
    })
    .await;
    ids.insert("allocations", allocation["id"].as_str().unwrap().to_string());

    // Their statement lacks INV-2026-0000102: one difference, sent to them.
    let stmt = ok(
        app.post(
            "/api/v1/customers/C1/statements",
            &json!({"lines": [{"their_ref": "AP1", "our_ref": "INV-2026-0000101", "date": "2026-03-01", "kind": "invoice", "amount": "100.00", "currency": "EUR"}]}),
        )
        .await,
        201,
    )
    .await;
    ids.insert("statements", stmt["id"].as_str().unwrap().to_string());
    let difference = stmt["differences"][0]["id"].as_str().unwrap().to_string();
    ok(app.post(&format!("/api/v1/differences/{difference}/send"), &json!({})).await, 200).await;
    ids.insert("differences", difference);

    let token = ok(app.post("/api/v1/customers/C1/portal-tokens", &json!({})).await, 201).await;
    ids.insert("portal-tokens", token["token_id"].as_str().unwrap().to_string());
    let portal_c1 = token["token"].as_str().unwrap().to_string();
    let portal_c2 = ok(app.post("/api/v1/customers/C2/portal-tokens", &json!({})).await, 201).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let key = ok(app.post("/api/v1/api-keys", &json!({"name": "erp", "role": "viewer"})).await, 201).await;
    ids.insert("api-keys", key["id"].as_str().unwrap().to_string());
    let user = ok(
        app.post(
            "/api/v1/users",
            &json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "accountant"}),
        )
        .await,
        201,
    )
    .await;
    ids.insert("users", user["id"].as_str().unwrap().to_string());
    let work_order = ok(
        app.post(
            "/api/v1/work-orders",
            &json!({"title": "Check the missing invoice", "assignee_id": user["id"], "visible_to_customer": true,
                    "difference_ids": [ids["differences"]], "document_ids": [ids["documents"]]}),
        )
        .await,
        201,
    )
    .await;
    ids.insert("work-orders", work_order["id"].as_str().unwrap().to_string());
    let connector = ok(
        app.post(
            "/api/v1/connectors",
            &json!({"connector_type": "erpnext", "name": "ERP", "config": {"base_url": "https://erp.example.com"},
                    "credentials": {"api_key": "k", "api_secret": "s"}}),
        )
        .await,
        201,
    )
    .await;
    ids.insert("connectors", connector["id"].as_str().unwrap().to_string());
    let run = ok(
        app.post("/api/v1/statement-runs", &json!({"period_from": "2026-01-01", "period_to": "2026-12-31"})).await,
        202,
    )
    .await;
    let run_id = run["id"].as_str().unwrap().to_string();
    ids.insert("statement-runs", run_id.clone());
    // Background work done (its events written), so the counts below only move with requests.
    wait_for("completed statement run", || async {
        let r = app.get(&format!("/api/v1/statement-runs/{run_id}")).await;
        (r.body["status"] == "completed").then_some(r.body)
    })
    .await;
    // A dunning run gives C1 (INV-2026-0000102 overdue) a collection task.
    let levels = json!([{"code": "L1", "name": "Call", "severity": 1, "min_days_overdue": 1, "action": "call"}]);
    let r = app.put("/api/v1/dunning-levels", &levels).await;
    assert_eq!(r.status, 200, "{}", r.text);
    ok(app.post("/api/v1/dunning-runs", &json!({"as_of": "2026-06-30"})).await, 201).await;
    let task = ok(app.get("/api/v1/collection-tasks?customer=C1").await, 200).await;
    ids.insert("collection-tasks", task["items"][0]["id"].as_str().expect("a task for C1").to_string());
    let reconciliation = ids["reconciliations"].clone();
    wait_for("completed reconciliation", || async {
        let r = app.get(&format!("/api/v1/reconciliations/{reconciliation}")).await;
        (r.body["status"] == "completed").then_some(r.body)
    })
    .await;
    let endpoint_id = ids["webhook-endpoints"].clone();
    let delivery = wait_for("webhook delivery", || async {
        let r = app.get(&format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries")).await;
        r.body["items"].as_array().and_then(|items| items.first().cloned())
    })
    .await;
    ids.insert("webhook-deliveries", delivery["id"].as_str().unwrap().to_string());
    ids.insert("learned-facts", learned_fact(app).await);

    // A matching rule (disabled: the run above is none of its business).
    let rule = json!({"name": "PayPal", "enabled": false,
                      "definition": {"when": {"counterparty_name": "PAYPAL"}, "then": [{"type": "propose_only"}]}});
    let rule = ok(app.post("/api/v1/matching-rules", &rule).await, 201).await;
    ids.insert("matching-rules", rule["id"].as_str().unwrap().to_string());

    // Tenant B: its own key, and a customer with a portal token of its own.
    let (_, b_key) = app.create_tenant("Tenant B");
    ok(app.post_as(&b_key, "/api/v1/customers", &json!({"code": "B1", "name": "B's customer"})).await, 201).await;
    let portal_b = ok(app.post_as(&b_key, "/api/v1/customers/B1/portal-tokens", &json!({})).await, 201).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    World { ids, portal_c1, portal_c2, portal_b, b_key }
}

/// A learned fact: C2's invoice paid by hand from a line that names C2 as the payer.
async fn learned_fact(app: &TestApp) -> String {
    let invoice = app.create_invoice("C2", "INV-2026-0000201", "60.00").await;
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL2,DE89370400440532013000,2026-04-02,,60.00,EUR,CUSTOMER C2,,,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    ok(r, 201).await;
    let line = ok(app.get("/api/v1/bank-lines?q=BL2").await, 200).await["items"][0]["id"].clone();
    let manual = json!({"bank_line_id": line, "allocations": [{"document_id": invoice["id"], "amount": "60.00"}]});
    ok(app.post("/api/v1/allocations", &manual).await, 201).await;
    let facts = ok(app.get("/api/v1/learned-facts?customer=C2").await, 200).await;
    facts["items"][0]["id"].as_str().expect("a learned fact").to_string()
}

/// A body the route accepts, so the call reaches the ownership check instead of failing
/// validation first.
fn body_for(method: &str, template: &str) -> Option<Value> {
    let body = match (method, template) {
        ("patch", "/customers/{code}") => json!({"name": "Hijacked"}),
        ("patch", "/products/{code}") => json!({"name": "Hijacked"}),
        ("patch", "/customer-groups/{code}") => json!({"name": "Hijacked"}),
        ("put", "/customer-groups/{code}/members") => json!({"customers": ["C1"]}),
        ("post", "/customers/{code}/contacts") => json!({"name": "Hijacked"}),
        ("patch", "/customers/{code}/contacts/{id}") => json!({"name": "Hijacked"}),
        ("patch", "/documents/{id}") => json!({"amount": "1.00"}),
        ("patch", "/bank-accounts/{id}") => json!({"name": "Hijacked"}),
        ("patch", "/connectors/{id}") => json!({"name": "Hijacked"}),
        ("patch", "/webhook-endpoints/{id}") => json!({"description": "Hijacked"}),
        ("patch", "/users/{id}") => json!({"role": "viewer"}),
        ("patch", "/differences/{id}") => json!({"sub_cause": "rounding"}),
        ("patch", "/work-orders/{id}") => json!({"title": "Hijacked"}),
        ("patch", "/matching-rules/{id}") => json!({"name": "Hijacked"}),
        ("post", "/work-orders/{id}/comments") => json!({"body": "hijacked", "visible_to_customer": true}),
        ("post", "/differences/{id}/comments") | ("post", "/portal/differences/{id}/comments") => {
            json!({"body": "hijacked"})
        }
        ("post", "/customers/{code}/statements") => json!({"lines": [{"their_ref": "X", "our_ref": "INV-2026-0000101",
            "date": "2026-03-01", "kind": "invoice", "amount": "100.00", "currency": "EUR"}]}),
        ("put", "/customers/{code}/statement-mapping") => json!({"encoding": "gbk"}),
        ("put", "/import-mappings/{id}") => json!({"name": "hijacked", "mapping": {}}),
        ("post", "/customers/{code}/contact-log") | ("post", "/collection-tasks/{id}/contacts") => {
            json!({"channel": "phone", "outcome": "reached", "note": "hijacked"})
        }
        ("patch", "/collection-tasks/{id}") => json!({"note": "hijacked"}),
        ("put", "/customers/{code}/credit-policy") => json!({"hold": false, "explanation": "hijacked"}),
        ("post", _) => json!({}),
        _ => return None,
    };
    Some(body)
}

fn concrete(template: &str, world: &World) -> String {
    let family = template.trim_start_matches('/').split('/').next().unwrap();
    let id_of = |family: &str| {
        world
            .ids
            .get(family)
            .unwrap_or_else(|| panic!("{template}: a new route with a path id: add its object to the BOLA test"))
            .clone()
    };
    // A chart names no object; the payment-behaviour chart's customer is one.
    let mut path = template
        .replace("{code}", "C1")
        .replace("{action}", "confirm")
        .replace("{name}", "payment-behaviour?customer=C1&format=json")
        .replace("{version}", "1");
    if template.starts_with("/customers/{code}/contacts/{id}") {
        path = path.replace("{id}", &id_of("contacts"));
    } else if template.starts_with("/customers/{code}/portal-tokens/{id}") {
        path = path.replace("{id}", &id_of("portal-tokens"));
    } else if template.starts_with("/portal/differences/") {
        path = path.replace("{id}", &id_of("differences"));
    } else if template.starts_with("/differences/{id}/{action}") {
        path = template.replace("{id}", &id_of("differences")).replace("{action}", "send");
    } else if template.contains("{id}") {
        path = path.replace("{id}", &id_of(family));
    }
    path
}

/// Rows that only change when tenant A's data changes.
fn tenant_fingerprint(app: &TestApp) -> Vec<i64> {
    let t = app.tenant_id;
    [
        format!("audit_trail WHERE tenant_id = '{t}'"),
        format!("outbox_events WHERE tenant_id = '{t}'"),
        format!("difference_comments c JOIN differences d ON d.id = c.difference_id WHERE d.tenant_id = '{t}'"),
        format!("customers WHERE tenant_id = '{t}' AND name = 'Hijacked'"),
        format!("products WHERE tenant_id = '{t}' AND name = 'Hijacked'"),
        format!("customer_groups WHERE tenant_id = '{t}' AND name = 'Hijacked'"),
        format!("customer_group_members WHERE tenant_id = '{t}' AND customer_id IN (SELECT id FROM customers WHERE code = 'C1')"),
        format!("customer_contacts WHERE tenant_id = '{t}'"),
        format!("api_keys WHERE tenant_id = '{t}' AND revoked_at IS NOT NULL"),
        format!("portal_tokens WHERE tenant_id = '{t}' AND revoked_at IS NOT NULL"),
        format!(
            "users WHERE tenant_id = '{t}' AND (token_version > 0 OR role <> 'accountant' OR deleted_at IS NOT NULL)"
        ),
        format!("password_reset_tokens WHERE tenant_id = '{t}'"),
        format!("work_orders WHERE tenant_id = '{t}' AND title = 'Hijacked'"),
        format!("work_order_comments WHERE tenant_id = '{t}'"),
        format!("differences WHERE tenant_id = '{t}' AND cause_source = 'manual'"),
        format!("contact_log WHERE tenant_id = '{t}'"),
        format!("collection_tasks WHERE tenant_id = '{t}' AND note IS NOT NULL"),
        format!("credit_policy_changes WHERE tenant_id = '{t}'"),
        format!("matching_rules WHERE tenant_id = '{t}' AND (name = 'Hijacked' OR retired_at IS NOT NULL)"),
        format!("matching_rule_versions WHERE tenant_id = '{t}'"),
    ]
    .iter()
    .map(|q| app.count(q))
    .collect()
}

#[tokio::test]
async fn every_rest_route_with_a_path_id_refuses_other_tenants_and_other_customers() {
    let app = spawn_app_with(|s| {
        s.connectors.run_worker = false;
        s.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let world = build_world(&app).await;
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    let mut routes: Vec<(String, String)> = Vec::new();
    for (template, ops) in spec["paths"].as_object().unwrap() {
        if !template.contains('{') || template.starts_with("/inbound/") {
            continue; // the signed inbound push is checked below
        }
        if template.starts_with("/templates/") {
            continue; // a template is the same for every tenant: its kind names no tenant's object
        }
        for method in ops.as_object().unwrap().keys() {
            routes.push((method.clone(), template.clone()));
        }
    }
    // Deletions last, so the owner's own calls do not remove what later routes use.
    // Erasure very last: it deletes the customer's contacts, which the routes before reach.
    routes.sort_by_key(|(method, template)| {
        (template.ends_with("/erasure"), method == "delete", template.contains("portal-tokens"), template.clone())
    });
    assert!(routes.len() >= 40, "the OpenAPI document lists {} routes with path ids", routes.len());

    let before = tenant_fingerprint(&app);
    for (method, template) in &routes {
        let path = format!("/api/v1{}", concrete(template, &world));
        let body = body_for(method, template).map(|b| ("application/json", b.to_string().into_bytes()));
        let intruders: Vec<(&str, &str)> = if template.starts_with("/portal/") {
            vec![
                ("another tenant's portal token", &world.portal_b),
                ("another customer's portal token", &world.portal_c2),
            ]
        } else {
            vec![("another tenant's key", &world.b_key)]
        };
        for (who, credential) in intruders {
            let r = app.send(&method.to_uppercase(), &path, Some(credential), body.clone(), &[]).await;
            assert!(
                r.status == 404 || r.status == 403,
                "{} {path} with {who}: {} {}",
                method.to_uppercase(),
                r.status,
                r.text
            );
        }
    }
    assert_eq!(tenant_fingerprint(&app), before, "another tenant's calls changed tenant A's data");

    // The owner reaches every one of them (the refusals above were about the caller).
    for (method, template) in &routes {
        let path = format!("/api/v1{}", concrete(template, &world));
        let body = body_for(method, template).map(|b| ("application/json", b.to_string().into_bytes()));
        let owner = if template.starts_with("/portal/") { &world.portal_c1 } else { &app.api_key };
        let r = app.send(&method.to_uppercase(), &path, Some(owner), body, &[]).await;
        assert!(
            r.status != 404 && r.status != 403 && r.status != 401,
            "the owner's {} {path}: {} {}",
            method.to_uppercase(),
            r.status,
            r.text
        );
    }
}

fn sign(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_signed_push_with_another_tenants_secret_is_refused() {
    let app = crate::helpers::spawn_app().await;
    app.create_customer("C1").await;
    ok(app.post("/api/v1/customers/C1/inbound-secret", &json!({})).await, 201).await;
    let (_, b_key) = app.create_tenant("Tenant B");
    ok(app.post_as(&b_key, "/api/v1/customers", &json!({"code": "C1", "name": "B's own C1"})).await, 201).await;
    let b_secret = ok(app.post_as(&b_key, "/api/v1/customers/C1/inbound-secret", &json!({})).await, 201).await
        ["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"lines": [{"their_ref": "X1", "date": "2026-03-01", "kind": "invoice", "amount": "1.00", "currency": "EUR"}]})
        .to_string()
        .into_bytes();
    let ts = chrono::Utc::now().timestamp();
    let path = format!("/api/v1/inbound/{}/customers/C1/statements", app.tenant_id);
    let headers = |sig: &str| {
        vec![
            ("webhook-id", "msg_1".to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig.to_string()),
        ]
    };
    let h = headers(&sign(&b_secret, "msg_1", ts, &body));
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.send("POST", &path, None, Some(("application/json", body.clone())), &h).await;
    assert_eq!(r.status, 401, "B's secret must not push into A's customer C1: {}", r.text);
    assert_eq!(app.count(&format!("customer_statements WHERE tenant_id = '{}'", app.tenant_id)), 0);
}

/// Every GraphQL field that takes an id or a customer code, called by another tenant (and the
/// portal fields by another tenant's and another customer's portal token).
#[tokio::test]
async fn every_graphql_field_taking_an_id_refuses_other_tenants_and_other_customers() {
    let app = spawn_app_with(|s| {
        s.connectors.run_worker = false;
        s.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let world = build_world(&app).await;
    let id = |family: &str| world.ids[family].clone();
    let comment = json!({"body": "hijacked", "attachments": []});
    // (field, operation, variables). Lists filtered by an id must come back empty instead.
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "difference",
            "query($id: UUID!) { difference(id: $id) { __typename } }".into(),
            json!({"id": id("differences")}),
        ),
        (
            "customerStatement",
            "query($id: UUID!) { customerStatement(id: $id) { __typename } }".into(),
            json!({"id": id("statements")}),
        ),
        ("statementOfAccount", "{ statementOfAccount(customerCode: \"C1\") { __typename } }".into(), json!({})),
        ("customerDunning", "{ customerDunning(code: \"C1\") { __typename } }".into(), json!({})),
        (
            "statementRun",
            "query($id: UUID!) { statementRun(id: $id) { __typename } }".into(),
            json!({"id": id("statement-runs")}),
        ),
        ("customer", "{ customer(code: \"C1\") { __typename } }".into(), json!({})),
        ("customerGroup", "{ customerGroup(code: \"C1\") { __typename } }".into(), json!({})),
        ("groupStatementOfAccount", "{ groupStatementOfAccount(code: \"C1\") { __typename } }".into(), json!({})),
        (
            "updateCustomerGroup",
            "mutation { updateCustomerGroup(code: \"C1\", patch: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({}),
        ),
        (
            "replaceCustomerGroupMembers",
            "mutation { replaceCustomerGroupMembers(code: \"C1\", input: {customers: [\"C1\"]}) { __typename } }".into(),
            json!({}),
        ),
        ("customerBalance", "{ customerBalance(code: \"C1\") { __typename } }".into(), json!({})),
        ("document", "query($id: UUID!) { document(id: $id) { __typename } }".into(), json!({"id": id("documents")})),
        (
            "bankStatement",
            "query($id: UUID!) { bankStatement(id: $id) { __typename } }".into(),
            json!({"id": id("bank-statements")}),
        ),
        (
            "reconciliation",
            "query($id: UUID!) { reconciliation(id: $id) { __typename } }".into(),
            json!({"id": id("reconciliations")}),
        ),
        (
            "webhookDelivery",
            "query($id: UUID!) { webhookDelivery(id: $id) { __typename } }".into(),
            json!({"id": id("webhook-deliveries")}),
        ),
        (
            "webhookDeliveries",
            "query($id: UUID!) { webhookDeliveries(endpointId: $id) { items { id } } }".into(),
            json!({"id": id("webhook-endpoints")}),
        ),
        (
            "submitStatement",
            "mutation($i: StatementInput!) { submitStatement(customerCode: \"C1\", input: $i) { __typename } }".into(),
            json!({"i": {"lines": [{"theirRef": "X", "date": "2026-03-01", "kind": "INVOICE", "amount": "1.00", "currency": "EUR"}]}}),
        ),
        (
            "actOnDifference",
            "mutation($id: UUID!) { actOnDifference(id: $id, action: CANCEL) { __typename } }".into(),
            json!({"id": id("differences")}),
        ),
        (
            "commentOnDifference",
            "mutation($id: UUID!, $c: CommentInput!) { commentOnDifference(id: $id, input: $c) { __typename } }".into(),
            json!({"id": id("differences"), "c": comment}),
        ),
        (
            "setDifferenceCause",
            "mutation($id: UUID!) { setDifferenceCause(id: $id, input: {subCause: ROUNDING}) { __typename } }".into(),
            json!({"id": id("differences")}),
        ),
        (
            "workOrder",
            "query($id: UUID!) { workOrder(id: $id) { __typename } }".into(),
            json!({"id": id("work-orders")}),
        ),
        (
            "updateWorkOrder",
            "mutation($id: UUID!, $u: UUID) { updateWorkOrder(id: $id, input: {title: \"Hijacked\"}, assigneeId: $u) { __typename } }".into(),
            json!({"id": id("work-orders"), "u": id("users")}),
        ),
        (
            "commentOnWorkOrder",
            "mutation($id: UUID!) { commentOnWorkOrder(id: $id, input: {body: \"hijacked\"}) { __typename } }".into(),
            json!({"id": id("work-orders")}),
        ),
        (
            "updateCustomer",
            "mutation { updateCustomer(code: \"C1\", patch: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({}),
        ),
        (
            "updateDocument",
            "mutation($id: UUID!) { updateDocument(id: $id, patch: {amount: \"1.00\"}) { __typename } }".into(),
            json!({"id": id("documents")}),
        ),
        (
            "confirmAllocation",
            "mutation($id: UUID!) { confirmAllocation(id: $id) { __typename } }".into(),
            json!({"id": id("allocations")}),
        ),
        (
            "rejectAllocation",
            "mutation($id: UUID!) { rejectAllocation(id: $id) { __typename } }".into(),
            json!({"id": id("allocations")}),
        ),
        (
            "learnedFact",
            "query($id: UUID!) { learnedFact(id: $id) { __typename } }".into(),
            json!({"id": id("learned-facts")}),
        ),
        (
            "revokeLearnedFact",
            "mutation($id: UUID!) { revokeLearnedFact(id: $id) { __typename } }".into(),
            json!({"id": id("learned-facts")}),
        ),
        (
            "rotateWebhookSecret",
            "mutation($id: UUID!) { rotateWebhookSecret(id: $id) { __typename } }".into(),
            json!({"id": id("webhook-endpoints")}),
        ),
        (
            "redeliverWebhook",
            "mutation($id: UUID!) { redeliverWebhook(id: $id) { __typename } }".into(),
            json!({"id": id("webhook-deliveries")}),
        ),
        (
            "cancelDocument",
            "mutation($id: UUID!) { cancelDocument(id: $id) { __typename } }".into(),
            json!({"id": id("documents")}),
        ),
        (
            "connector",
            "query($id: UUID!) { connector(id: $id) { __typename } }".into(),
            json!({"id": id("connectors")}),
        ),
        (
            "connectorSyncs",
            "query($id: UUID!) { connectorSyncs(id: $id) { __typename } }".into(),
            json!({"id": id("connectors")}),
        ),
        (
            "updateConnector",
            "mutation($id: UUID!) { updateConnector(id: $id, patch: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({"id": id("connectors")}),
        ),
        (
            "syncConnector",
            "mutation($id: UUID!) { syncConnector(id: $id) { __typename } }".into(),
            json!({"id": id("connectors")}),
        ),
        ("user", "query($id: UUID!) { user(id: $id) { __typename } }".into(), json!({"id": id("users")})),
        (
            "setUserRole",
            "mutation($id: UUID!) { setUserRole(id: $id, role: VIEWER) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        (
            "disableUser",
            "mutation($id: UUID!) { disableUser(id: $id) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        (
            "enableUser",
            "mutation($id: UUID!) { enableUser(id: $id) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        (
            "logoutUserEverywhere",
            "mutation($id: UUID!) { logoutUserEverywhere(id: $id) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        (
            "resetUserPassword",
            "mutation($id: UUID!) { resetUserPassword(id: $id) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        (
            "deleteUser",
            "mutation($id: UUID!) { deleteUser(id: $id) { __typename } }".into(),
            json!({"id": id("users")}),
        ),
        ("product", "{ product(code: \"C1\") { __typename } }".into(), json!({})),
        (
            "updateProduct",
            "mutation { updateProduct(code: \"C1\", patch: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({}),
        ),
        ("customerContacts", "{ customerContacts(code: \"C1\") { __typename } }".into(), json!({})),
        (
            "createCustomerContact",
            "mutation { createCustomerContact(code: \"C1\", input: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({}),
        ),
        (
            "updateCustomerContact",
            "mutation($id: UUID!) { updateCustomerContact(code: \"C1\", id: $id, patch: {name: \"Hijacked\"}) { __typename } }"
                .into(),
            json!({"id": id("contacts")}),
        ),
        (
            "collectionTask",
            "query($id: UUID!) { collectionTask(id: $id) { __typename } }".into(),
            json!({"id": id("collection-tasks")}),
        ),
        (
            "updateCollectionTask",
            "mutation($id: UUID!) { updateCollectionTask(id: $id, patch: {note: \"hijacked\"}) { __typename } }".into(),
            json!({"id": id("collection-tasks")}),
        ),
        (
            "logContact",
            "mutation($id: UUID) { logContact(taskId: $id, input: {channel: \"phone\", outcome: \"reached\"}) { __typename } }"
                .into(),
            json!({"id": id("collection-tasks")}),
        ),
        ("contactLog", "{ contactLog(code: \"C1\") { __typename } }".into(), json!({})),
        ("promises", "{ promises(code: \"C1\") { __typename } }".into(), json!({})),
        ("creditPolicy", "{ creditPolicy(code: \"C1\") { __typename } }".into(), json!({})),
        ("creditCheck", "{ creditCheck(code: \"C1\", amount: \"1.00\") { __typename } }".into(), json!({})),
        (
            "putCreditPolicy",
            "mutation { putCreditPolicy(code: \"C1\", input: {hold: false, explanation: \"hijacked\"}) { __typename } }"
                .into(),
            json!({}),
        ),
        (
            "matchingRule",
            "query($id: UUID!) { matchingRule(id: $id) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        (
            "matchingRuleVersions",
            "query($id: UUID!) { matchingRuleVersions(id: $id) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        (
            "matchingRuleVersion",
            "query($id: UUID!) { matchingRuleVersion(id: $id, version: 1) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        (
            "updateMatchingRule",
            "mutation($id: UUID!) { updateMatchingRule(id: $id, input: {name: \"Hijacked\"}) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        (
            "reorderMatchingRules",
            "mutation($id: UUID!) { reorderMatchingRules(ids: [$id]) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        // Last: the owner's own call deletes it.
        (
            "deleteCustomerContact",
            "mutation($id: UUID!) { deleteCustomerContact(code: \"C1\", id: $id) { __typename } }".into(),
            json!({"id": id("contacts")}),
        ),
        (
            "deleteConnector",
            "mutation($id: UUID!) { deleteConnector(id: $id) { __typename } }".into(),
            json!({"id": id("connectors")}),
        ),
        (
            "retireMatchingRule",
            "mutation($id: UUID!) { retireMatchingRule(id: $id) { __typename } }".into(),
            json!({"id": id("matching-rules")}),
        ),
        ("deleteCustomerGroup", "mutation { deleteCustomerGroup(code: \"C1\") { __typename } }".into(), json!({})),
    ];
    let portal_cases: Vec<(&str, String, Value)> = vec![
        (
            "portalDifference",
            "query($id: UUID!) { portalDifference(id: $id) { __typename } }".into(),
            json!({"id": id("differences")}),
        ),
        (
            "portalConfirmDifference",
            "mutation($id: UUID!) { portalConfirmDifference(id: $id) { __typename } }".into(),
            json!({"id": id("differences")}),
        ),
        (
            "portalDisputeDifference",
            "mutation($id: UUID!, $c: CommentInput!) { portalDisputeDifference(id: $id, input: $c) { __typename } }"
                .into(),
            json!({"id": id("differences"), "c": comment}),
        ),
        (
            "portalCommentOnDifference",
            "mutation($id: UUID!, $c: CommentInput!) { portalCommentOnDifference(id: $id, input: $c) { __typename } }"
                .into(),
            json!({"id": id("differences"), "c": comment}),
        ),
    ];
    // Lists filtered by one of A's ids: empty for B.
    let lists: Vec<(&str, String, Value)> = vec![
        (
            "differences",
            "query($id: UUID) { differences(statementId: $id) { items { id } } }".into(),
            json!({"id": id("statements")}),
        ),
        (
            "bankLines",
            "query($id: UUID) { bankLines(statement: $id) { items { id } } }".into(),
            json!({"id": id("bank-statements")}),
        ),
        (
            "allocations",
            "query($id: UUID) { allocations(reconciliationId: $id) { items { id } } }".into(),
            json!({"id": id("reconciliations")}),
        ),
        ("customers", "{ customers(code: \"C1\") { items { code } } }".into(), json!({})),
        ("products", "{ products(code: \"C1\") { items { code } } }".into(), json!({})),
        ("customerGroups", "{ customerGroups(code: \"C1\") { items { code } } }".into(), json!({})),
        (
            "workOrders",
            "query($id: UUID) { workOrders(assignee: $id) { items { id } } }".into(),
            json!({"id": id("users")}),
        ),
        ("collectionTasks", "{ collectionTasks(filter: {customer: \"C1\"}) { items { id } } }".into(), json!({})),
    ];

    // Coverage: every field of the schema with an id or customer-code argument is listed.
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql")).unwrap();
    let listed: Vec<&str> = cases.iter().chain(&portal_cases).chain(&lists).map(|(f, _, _)| *f).collect();
    let mut in_root = false;
    for line in sdl.lines() {
        let line = line.trim();
        if line.starts_with("type QueryRoot") || line.starts_with("type MutationRoot") {
            in_root = true;
        } else if line == "}" {
            in_root = false;
        } else if in_root && line.contains("):") {
            let field = line.split('(').next().unwrap();
            if !field.chars().all(|c| c.is_ascii_alphanumeric()) {
                continue; // a description mentioning a call
            }
            let args = line.split('(').nth(1).unwrap().split(')').next().unwrap();
            let takes_id = args.split(',').any(|a| {
                let (name, ty) = a.split_once(':').unwrap_or(("", ""));
                ty.contains("UUID") || ["code", "customerCode"].contains(&name.trim())
            });
            assert!(!takes_id || listed.contains(&field), "GraphQL field {field} takes an id: add it to the BOLA test");
        }
    }

    let before = tenant_fingerprint(&app);
    for (field, query, variables) in &cases {
        let r = app.graphql_as(Some(&world.b_key), query, variables.clone()).await;
        let code = r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
        assert!(code == "not_found" || code == "forbidden", "{field} with another tenant's key: {}", r.text);
    }
    for (field, query, variables) in &portal_cases {
        for (who, token) in
            [("another tenant's portal token", &world.portal_b), ("another customer's", &world.portal_c2)]
        {
            let r = app.graphql_as(Some(token), query, variables.clone()).await;
            let code = r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
            assert!(code == "not_found" || code == "forbidden", "{field} with {who}: {}", r.text);
        }
    }
    for (field, query, variables) in &lists {
        let r = app.graphql_as(Some(&world.b_key), query, variables.clone()).await;
        assert_eq!(r.body["data"][field]["items"].as_array().map(Vec::len), Some(0), "{field}: {}", r.text);
        let mine = app.graphql_as(Some(&app.api_key), query, variables.clone()).await;
        assert!(!mine.body["data"][field]["items"].as_array().unwrap().is_empty(), "{field} (owner): {}", mine.text);
    }
    assert_eq!(tenant_fingerprint(&app), before, "another tenant's GraphQL calls changed tenant A's data");

    // The owner's own calls get through (no not_found/forbidden), so the refusals were real;
    // the portal first (the tenant's calls below cancel the difference).
    for (field, query, variables) in &portal_cases {
        let r = app.graphql_as(Some(&world.portal_c1), query, variables.clone()).await;
        let code = r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
        assert!(code != "not_found" && code != "forbidden", "{field} (its customer): {}", r.text);
    }
    for (field, query, variables) in &cases {
        let r = app.graphql_as(Some(&app.api_key), query, variables.clone()).await;
        let code = r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
        assert!(code != "not_found" && code != "forbidden", "{field} (owner): {}", r.text);
    }
}

/// `GET /export` has no path id: the archive itself must hold the caller's tenant only.
#[tokio::test]
async fn only_an_admin_exports_and_only_its_own_tenant() {
    let app = crate::helpers::spawn_app().await;
    app.create_customer("A1").await;
    for role in ["viewer", "accountant"] {
        let r = app.post("/api/v1/api-keys", &json!({"name": role, "role": role})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (status, body) = crate::tenant_export::export(&app, r.body["api_key"].as_str().unwrap()).await;
        assert_eq!(status, 403, "{role}: {}", String::from_utf8_lossy(&body));
    }
    let r = app.client.get(format!("{}/api/v1/export", app.address)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (b, b_key) = app.create_tenant("Tenant B");
    let r = app.post_as(&b_key, "/api/v1/customers", &json!({"code": "B1", "name": "B's customer"})).await;
    assert_eq!(r.status, 201);
    let (status, archive) = crate::tenant_export::export(&app, &b_key).await;
    assert_eq!(status, 200);
    let m = crate::tenant_export::manifest(&archive);
    assert_eq!(m["tenant_id"], b.to_string());
    assert_eq!(crate::tenant_export::rows(&m, "customers"), 1);
    let everything: String = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| crate::tenant_export::entry(&archive, f["file"].as_str().unwrap()))
        .collect();
    assert!(!everything.contains(&app.tenant_id.to_string()), "tenant A's rows in B's export");
    assert!(everything.contains("B's customer"));
}
