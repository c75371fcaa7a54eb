use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn same_key_same_body_replays_and_different_body_is_refused() {
    let app = spawn_app().await;
    let body = json!({"code": "C1", "name": "One"});
    let send = |b: serde_json::Value, key: &'static str| {
        let app = &app;
        async move {
            app.send(
                "POST",
                "/api/v1/customers",
                Some(&app.api_key),
                Some(("application/json", b.to_string().into_bytes())),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send(body.clone(), "key-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = send(body.clone(), "key-1").await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let other = send(json!({"code": "C2", "name": "Two"}), "key-1").await;
    assert_eq!(other.status, 422, "{}", other.text);
    assert_eq!(other.error_code(), "idempotency_key_reused");
    assert_eq!(app.count("customers"), 1);
    // Without the key the same request is a conflict, as it should be.
    let again = app.post("/api/v1/customers", &body).await;
    assert_eq!(again.status, 409);
    // A failed request does not burn its key: fix the body and retry.
    let bad = send(json!({"code": "C3", "name": ""}), "key-2").await;
    assert_eq!(bad.status, 422);
    let retry = send(json!({"code": "C3", "name": ""}), "key-2").await;
    assert_eq!(retry.status, 422);
    assert_eq!(app.count("idempotency_keys"), 1);
}

#[tokio::test]
async fn concurrent_duplicates_create_one_row() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let body = json!({"doc_type": "invoice", "doc_no": "INV-9", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": "10.00"}).to_string();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/documents", app.address);
        let key = app.api_key.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .header("idempotency-key", "same-key")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 201, "{text}");
        bodies.push(text);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every duplicate sees the same answer");
    assert_eq!(app.count("documents WHERE doc_no = 'INV-9'"), 1);
    assert_eq!(app.count("audit_trail WHERE action = 'document.created'"), 1);
}
