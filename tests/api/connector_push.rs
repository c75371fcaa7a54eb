//! Pushes on behalf of a connector: push keys bound to it, and requests signed with its push
//! secret (checked here with an independent HMAC implementation).

use crate::helpers::{sign, spawn_app_with, Response, TestApp};
use serde_json::json;
use std::path::Path;

async fn app() -> TestApp {
    // No scheduler: these connectors point nowhere and are only pushed to.
    spawn_app_with(|s| s.connectors.run_worker = false).await
}

/// The two accounts of tests/fixtures/camt053_v02.xml.
async fn register_fixture_accounts(app: &TestApp) {
    for account in ["DE89370400440532013000", "0532013001"] {
        let r = app.post("/api/v1/bank-accounts", &json!({"account_id": account, "currency": "EUR"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

async fn connector(app: &TestApp, key: &str, connector_type: &str) -> String {
    let config = match connector_type {
        "erpnext" => json!({"base_url": "https://erp.example.com"}),
        _ => json!({"url": "https://bank.example.com/latest.xml"}),
    };
    let credentials = match connector_type {
        "erpnext" => json!({"api_key": "k", "api_secret": "s"}),
        _ => json!({"bearer_token": "t"}),
    };
    let r = app
        .post_as(
            key,
            "/api/v1/connectors",
            &json!({"connector_type": connector_type, "name": format!("{connector_type} feed"),
                    "config": config, "credentials": credentials}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

const CUSTOMERS_CSV: &str = "code,name\nP1,Push One\nP2,Push Two\n";
const DOCUMENTS_CSV: &str = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
    INV-P1,invoice,P1,2026-10-01,2026-10-31,EUR,100.00,\nINV-P2,invoice,P2,2026-10-02,2026-11-01,EUR,250.50,\n";

async fn csv_as(app: &TestApp, key: &str, path: &str, csv: &str) -> Response {
    app.send("POST", path, Some(key), Some(("text/csv", csv.as_bytes().to_vec())), &[]).await
}

#[tokio::test]
async fn a_push_key_is_bound_to_its_connector_and_its_scope() {
    let app = app().await;
    let erp = connector(&app, &app.api_key, "erpnext").await;

    let created = app.post(&format!("/api/v1/connectors/{erp}/push-keys"), &json!({})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["scopes"], json!(["ledger:write"]));
    assert_eq!(created.body["connector_id"], json!(erp));
    assert_eq!(created.body["name"], "push: erpnext feed");
    let key = created.body["api_key"].as_str().unwrap().to_string();

    // It pushes the ledger through the ordinary import endpoints...
    let r = csv_as(&app, &key, "/api/v1/customers/import", CUSTOMERS_CSV).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = csv_as(&app, &key, "/api/v1/documents/import", DOCUMENTS_CSV).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.count("documents WHERE doc_no IN ('INV-P1','INV-P2')"), 2);
    // ...and nothing else: no reading, no bank statements, no administration.
    assert_eq!(app.get_as(&key, "/api/v1/customers").await.status, 403);
    let bank = app.send("POST", "/api/v1/bank-statements", Some(&key), Some(("text/plain", b"x".to_vec())), &[]).await;
    assert_eq!(bank.status, 403, "{}", bank.text);
    assert_eq!(app.get_as(&key, "/api/v1/connectors").await.status, 403);

    // Listed under its connector (admin only); another tenant sees no such connector.
    let listed = app.get(&format!("/api/v1/connectors/{erp}/push-keys")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.post_as(&other, &format!("/api/v1/connectors/{erp}/push-keys"), &json!({})).await.status, 404);
    assert_eq!(app.get_as(&other, &format!("/api/v1/connectors/{erp}/push-keys")).await.status, 404);

    // A disabled connector's key stops working, and works again when it is enabled.
    assert_eq!(
        app.patch_as(&app.api_key, &format!("/api/v1/connectors/{erp}"), &json!({"enabled": false})).await.status,
        200
    );
    let refused = csv_as(&app, &key, "/api/v1/customers/import", CUSTOMERS_CSV).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(
        app.patch_as(&app.api_key, &format!("/api/v1/connectors/{erp}"), &json!({"enabled": true})).await.status,
        200
    );
    assert_eq!(csv_as(&app, &key, "/api/v1/customers/import", CUSTOMERS_CSV).await.status, 200);

    // Revoked like any key.
    let key_id = created.body["id"].as_str().unwrap();
    let revoked = app.send("DELETE", &format!("/api/v1/api-keys/{key_id}"), Some(&app.api_key), None, &[]).await;
    assert!(revoked.status == 200 || revoked.status == 204, "{}", revoked.text);
    assert_eq!(csv_as(&app, &key, "/api/v1/customers/import", CUSTOMERS_CSV).await.status, 401);

    // Deleting the connector deletes its keys.
    let second = app.post(&format!("/api/v1/connectors/{erp}/push-keys"), &json!({"name": "second"})).await;
    let second_key = second.body["api_key"].as_str().unwrap().to_string();
    let deleted = app.send("DELETE", &format!("/api/v1/connectors/{erp}"), Some(&app.api_key), None, &[]).await;
    assert!(deleted.status == 200 || deleted.status == 204, "{}", deleted.text);
    assert_eq!(csv_as(&app, &second_key, "/api/v1/customers/import", CUSTOMERS_CSV).await.status, 401);
    assert_eq!(app.count(&format!("api_keys WHERE connector_id = '{erp}'")), 0);

    // A bank connector's key imports bank statements only.
    let bank_connector = connector(&app, &app.api_key, "bank_file").await;
    let r = app.post(&format!("/api/v1/connectors/{bank_connector}/push-keys"), &json!({})).await;
    assert_eq!(r.body["scopes"], json!(["bank:write"]), "{}", r.text);
    let bank_key = r.body["api_key"].as_str().unwrap().to_string();
    register_fixture_accounts(&app).await;
    let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camt053_v02.xml")).unwrap();
    let imported =
        app.send("POST", "/api/v1/bank-statements", Some(&bank_key), Some(("application/xml", file)), &[]).await;
    assert_eq!(imported.status, 201, "{}", imported.text);
    assert_eq!(csv_as(&app, &bank_key, "/api/v1/documents/import", DOCUMENTS_CSV).await.status, 403);
}

struct Signed<'a> {
    app: &'a TestApp,
    path: String,
}

impl Signed<'_> {
    async fn push(&self, secret: &str, id: &str, ts: i64, content_type: &str, body: &[u8]) -> Response {
        let signature = sign(secret, id, ts, body);
        self.app
            .send(
                "POST",
                &self.path,
                None,
                Some((content_type, body.to_vec())),
                &[("webhook-id", id), ("webhook-timestamp", &ts.to_string()), ("webhook-signature", &signature)],
            )
            .await
    }
}

#[tokio::test]
async fn an_erp_pushes_signed_requests_without_holding_a_key() {
    let app = app().await;
    let erp = connector(&app, &app.api_key, "erpnext").await;
    let customers = Signed { app: &app, path: format!("/api/v1/inbound/{}/connectors/{erp}/customers", app.tenant_id) };
    let now = chrono::Utc::now().timestamp();
    let body = CUSTOMERS_CSV.as_bytes();

    // No secret yet: refused.
    let fake = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_eq!(customers.push(fake, "m1", now, "text/csv", body).await.status, 401);

    let issued = app.post(&format!("/api/v1/connectors/{erp}/push-secret"), &json!({})).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let secret = issued.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        app.count(&format!("connector_push_secrets WHERE sealed_secret::text LIKE '%{}%'", &secret[6..14])),
        0,
        "sealed, not stored as text"
    );

    // Wrong secret, stale timestamp, missing headers: 401, nothing imported.
    assert_eq!(customers.push(fake, "m1", now, "text/csv", body).await.status, 401);
    assert_eq!(customers.push(&secret, "m1", now - 3600, "text/csv", body).await.status, 401);
    let unsigned = app.send("POST", &customers.path, None, Some(("text/csv", body.to_vec())), &[]).await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.text);
    assert_eq!(app.count("customers WHERE code IN ('P1','P2')"), 0);

    // Signed: imported, written by the connector in the audit trail.
    let ok = customers.push(&secret, "m1", now, "text/csv", body).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(app.count("customers WHERE code IN ('P1','P2')"), 2);
    assert!(app.count(&format!("audit_trail WHERE actor_type = 'connector' AND actor_id = '{erp}'")) > 0);

    // The sender retries the same message (new timestamp, new signature): the first answer, no second import.
    let retry = customers.push(&secret, "m1", now + 1, "text/csv", body).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(retry.body, ok.body);
    // The same id with another body is refused.
    let reused = customers.push(&secret, "m1", now, "text/csv", b"code,name\nP3,Three\n").await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(app.count("customers WHERE code = 'P3'"), 0);

    // Documents the same way; an ERP connector cannot push bank statements.
    let documents = Signed { app: &app, path: format!("/api/v1/inbound/{}/connectors/{erp}/documents", app.tenant_id) };
    let r = documents.push(&secret, "m2", now, "text/csv", DOCUMENTS_CSV.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.count("documents WHERE doc_no IN ('INV-P1','INV-P2')"), 2);
    let bank =
        Signed { app: &app, path: format!("/api/v1/inbound/{}/connectors/{erp}/bank-statements", app.tenant_id) };
    assert_eq!(bank.push(&secret, "m3", now, "application/xml", b"<x/>").await.status, 403);

    // Another tenant's id in the path: the connector is not found there.
    let (other_tenant, _) = app.create_tenant("Other");
    let elsewhere = Signed { app: &app, path: format!("/api/v1/inbound/{other_tenant}/connectors/{erp}/customers") };
    assert_eq!(elsewhere.push(&secret, "m4", now, "text/csv", body).await.status, 401);

    // Rotation: the old secret keeps working for the overlap, the new one at once.
    let rotated = app.post(&format!("/api/v1/connectors/{erp}/push-secret"), &json!({})).await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(customers.push(&secret, "m5", now, "text/csv", body).await.status, 200);
    assert_eq!(customers.push(&new_secret, "m6", now, "text/csv", body).await.status, 200);

    // A disabled connector accepts no pushes.
    app.patch_as(&app.api_key, &format!("/api/v1/connectors/{erp}"), &json!({"enabled": false})).await;
    assert_eq!(customers.push(&new_secret, "m7", now, "text/csv", body).await.status, 401);
}

#[tokio::test]
async fn a_bank_pushes_a_signed_statement_file() {
    let app = app().await;
    register_fixture_accounts(&app).await;
    let bank = connector(&app, &app.api_key, "bank_file").await;
    let secret = app.post(&format!("/api/v1/connectors/{bank}/push-secret"), &json!({})).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let push =
        Signed { app: &app, path: format!("/api/v1/inbound/{}/connectors/{bank}/bank-statements", app.tenant_id) };
    let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camt053_v02.xml")).unwrap();
    let now = chrono::Utc::now().timestamp();

    // A tampered file fails the signature check (the file is verified as streamed from disk).
    let mut tampered = file.clone();
    let signature = sign(&secret, "b1", now, &file);
    *tampered.last_mut().unwrap() = b' ';
    let r = app
        .send(
            "POST",
            &push.path,
            None,
            Some(("application/xml", tampered)),
            &[("webhook-id", "b1"), ("webhook-timestamp", &now.to_string()), ("webhook-signature", &signature)],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(app.count("bank_lines"), 0);

    let first = push.push(&secret, "b1", now, "application/xml", &file).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let lines = app.count("bank_lines");
    assert!(lines > 0);
    // A retry of the message replays the answer; the same file under a new message id is
    // deduplicated line by line like any import.
    let retry = push.push(&secret, "b1", now, "application/xml", &file).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    let again = push.push(&secret, "b2", now, "application/xml", &file).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(app.count("bank_lines"), lines);
    // A bank connector cannot push ledger documents.
    let docs = Signed { app: &app, path: format!("/api/v1/inbound/{}/connectors/{bank}/documents", app.tenant_id) };
    assert_eq!(docs.push(&secret, "b3", now, "text/csv", DOCUMENTS_CSV.as_bytes()).await.status, 403);
}
