//! No request of one tenant can read or change another tenant's rows, on every endpoint family.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn another_tenants_key_cannot_reach_our_rows() {
    let app = spawn_app().await;
    let (_, other) = app.create_tenant("Other Co");
    app.create_customer("C1").await;
    let invoice = app.create_invoice("C1", "INV-1", "100.00").await;
    let doc_id = invoice["id"].as_str().unwrap();
    let r = app.post("/api/v1/api-keys", &json!({"name": "ours", "role": "viewer"})).await;
    let our_key_id = r.body["id"].as_str().unwrap().to_string();

    // Reads: 404 for single resources, empty lists.
    for path in [
        "/api/v1/customers/C1".to_string(),
        "/api/v1/customers/C1/balance".to_string(),
        format!("/api/v1/documents/{doc_id}"),
    ] {
        let r = app.get_as(&other, &path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    for path in ["/api/v1/customers", "/api/v1/documents", "/api/v1/documents?customer=C1", "/api/v1/customers?code=C1"]
    {
        let r = app.get_as(&other, path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "{path} leaked: {}", r.text);
    }
    let r = app.get_as(&other, "/api/v1/audit?entity_type=customer").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "audit leaked: {}", r.text);
    let r = app.get_as(&other, "/api/v1/api-keys").await;
    assert!(!r.text.contains(&our_key_id));

    // Writes: nothing of ours changes.
    let r = app.patch_as(&other, "/api/v1/customers/C1", &json!({"name": "Hijacked"})).await;
    assert_eq!(r.status, 404);
    let r = app.patch_as(&other, &format!("/api/v1/documents/{doc_id}"), &json!({"amount": "1.00"})).await;
    assert_eq!(r.status, 404);
    let r = app.send("DELETE", &format!("/api/v1/documents/{doc_id}"), Some(&other), None, &[]).await;
    assert_eq!(r.status, 404);
    let r = app.send("DELETE", &format!("/api/v1/api-keys/{our_key_id}"), Some(&other), None, &[]).await;
    assert_eq!(r.status, 404);
    // A document for our customer code lands in their tenant only if they have such a customer.
    let r = app
        .post_as(
            &other,
            "/api/v1/documents",
            &json!({"doc_type": "invoice", "doc_no": "INV-1", "customer_code": "C1", "issue_date": "2026-01-01", "currency": "EUR", "amount": "1.00"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Their import of the same code creates their own customer and leaves ours alone.
    let r = app
        .send(
            "POST",
            "/api/v1/customers/import",
            Some(&other),
            Some(("text/csv", b"code,name\nC1,Theirs\n".to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 1);

    let ours = app.get(&format!("/api/v1/documents/{doc_id}")).await;
    assert_eq!(ours.body["amount"], "100.00");
    assert_eq!(ours.body["status"], "open");
    let ours = app.get("/api/v1/customers/C1").await;
    assert_eq!(ours.body["name"], "Customer C1");
    let keys = app.get("/api/v1/api-keys").await;
    assert!(keys.body.as_array().unwrap().iter().all(|k| k["revoked_at"].is_null()));

    // GraphQL follows the same rules.
    let r =
        app.graphql_as(Some(&other), "query($id: UUID!) { document(id: $id) { docNo } }", json!({"id": doc_id})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "not_found", "{}", r.text);
    let r = app.graphql_as(Some(&other), "{ customers { items { code name } } }", json!({})).await;
    assert_eq!(r.body["data"]["customers"]["items"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["data"]["customers"]["items"][0]["name"], "Theirs");
}
