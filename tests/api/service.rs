use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let r = app.send("GET", "/healthz", None, None, &[]).await;
    assert_eq!(r.status, 200);
    let r = app.send("GET", "/readyz", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ready");
}

#[tokio::test]
async fn openapi_document_and_viewer_are_served_offline() {
    let app = spawn_app().await;
    let r = app.send("GET", "/api/v1/openapi.json", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    assert!(r.body["paths"]["/customers/import"]["post"].is_object());
    let r = app.send("GET", "/api/v1/docs/", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("swagger-ui-bundle.js"), "{}", r.text);
    // The viewer's script comes from this server, not a CDN.
    let r = app.send("GET", "/api/v1/docs/swagger-ui-bundle.js", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.len() > 100_000);
    let r = app.send("GET", "/graphql", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn unknown_routes_answer_with_the_error_shape() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    let r = app.get("/api/v1/documents/not-a-uuid").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
}

/// The committed specs must be what the code generates: run `cargo run -- export-specs` after
/// changing the API.
#[test]
fn committed_specs_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (path, generated) in duizhang::specs::generated() {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(committed == generated, "{path} is stale: run `cargo run -- export-specs` and commit the result");
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = crate::helpers::spawn_app_with(|s| s.max_json_bytes = 1024).await;
    let big = serde_json::json!({ "code": "C1", "name": "x".repeat(5000) });
    let r = app.post("/api/v1/customers", &big).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.error_code(), "payload_too_large");
    assert_eq!(app.count("customers"), 0);
}
