use crate::helpers::spawn_app;
use diesel::RunQueryDsl;
use serde_json::json;

#[tokio::test]
async fn every_change_is_audited_with_before_and_after() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let inv = app.create_invoice("C1", "INV-1", "10.00").await;
    let id = inv["id"].as_str().unwrap();
    app.patch_as(&app.api_key, &format!("/api/v1/documents/{id}"), &json!({"amount": "12.00"})).await;
    let r = app.get(&format!("/api/v1/audit?entity_type=document&entity_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "document.created");
    assert_eq!(items[1]["action"], "document.updated");
    assert_eq!(items[1]["before"]["amount"], "10.00");
    assert_eq!(items[1]["after"]["amount"], "12.00");
    assert_eq!(items[1]["actor_type"], "api_key");
    assert_eq!(items[1]["prev_hash"], items[0]["hash"]);
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], true, "{}", v.text);
    // A viewer may not read the trail.
    let k = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await;
    let viewer = k.body["api_key"].as_str().unwrap();
    assert_eq!(app.get_as(viewer, "/api/v1/audit").await.status, 403);
}

#[tokio::test]
async fn a_failed_write_leaves_neither_row_nor_audit_entry() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let before = app.count("audit_log");
    // Valid JSON, but the second half of the use case fails: duplicate doc_no in the same tenant.
    app.create_invoice("C1", "INV-1", "10.00").await;
    let r = app
        .post("/api/v1/documents", &json!({"doc_type": "invoice", "doc_no": "INV-1", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": "11.00"}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(app.count("audit_log"), before + 1);
    assert_eq!(app.count("documents"), 1);
}

#[tokio::test]
async fn the_trail_is_append_only_and_tampering_is_detected() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    app.create_customer("C2").await;
    let mut conn = app.db.connect();
    let update = diesel::sql_query("UPDATE audit_log SET action = 'x' WHERE seq = 2").execute(&mut conn);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = diesel::sql_query("DELETE FROM audit_log").execute(&mut conn);
    assert!(delete.is_err());
    assert!(diesel::sql_query("TRUNCATE audit_log").execute(&mut conn).is_err());
    // Someone with the power to disable triggers edits history: verification finds the entry.
    diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete").execute(&mut conn).unwrap();
    diesel::sql_query("UPDATE audit_log SET after = jsonb_set(after, '{name}', '\"Forged\"') WHERE action = 'customer.created' AND entity_id = 'C1'")
        .execute(&mut conn)
        .unwrap();
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
    assert_eq!(v.body["first_broken_seq"], 3, "tenant + key entries come first: {}", v.text);
    // Removing the last entry is caught by the chain head.
    let app2 = spawn_app().await;
    app2.create_customer("C1").await;
    let mut conn2 = app2.db.connect();
    diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete").execute(&mut conn2).unwrap();
    diesel::sql_query("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
        .execute(&mut conn2)
        .unwrap();
    let v = app2.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
}
