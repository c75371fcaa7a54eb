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

/// The value of attribute `name` in one tag's text.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next()
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_with_integrity_pins_and_no_inline_code() {
    use base64::Engine;
    use sha2::Digest;
    let app = spawn_app().await;
    let page = app.send("GET", "/graphql", None, None, &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text.as_str();
    // Nothing inline (a strict CSP allows scripts and styles from 'self' only) and no other host.
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains("unpkg"), "{html}");
    let tags: Vec<&str> = html.split('<').filter(|t| t.starts_with("script") || t.starts_with("link")).collect();
    assert_eq!(tags.len(), 6, "{html}");
    assert_eq!(html.matches("<script").count(), 4, "{html}");
    assert_eq!(html.matches("></script>").count(), 4, "no script has a body: {html}");
    for tag in tags {
        let url = attribute(tag, "src").or_else(|| attribute(tag, "href")).unwrap();
        let pin = attribute(tag, "integrity").unwrap_or_else(|| panic!("not pinned: {tag}"));
        assert!(url.starts_with("/graphql/assets/") && url.contains("?v="), "{url}");
        let r = app.send("GET", url, None, None, &[]).await;
        assert_eq!(r.status, 200, "{url}");
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(r.text.as_bytes()));
        assert_eq!(pin, format!("sha384-{digest}"), "{url}");
        let expected_type = if url.contains(".css?") { "text/css" } else { "text/javascript" };
        assert!(r.headers["content-type"].to_str().unwrap().starts_with(expected_type), "{url}");
        assert_eq!(r.headers["cache-control"], "public, max-age=31536000, immutable", "{url}");
        // Without the current version the file is revalidated, so an old cached copy is never used.
        let bare = url.split('?').next().unwrap();
        let r = app.send("GET", bare, None, None, &[]).await;
        assert_eq!((r.status, r.headers["cache-control"].to_str().unwrap()), (200, "no-cache"), "{bare}");
    }
    let bundle = app.send("GET", "/graphql/assets/graphiql.min.js", None, None, &[]).await;
    assert!(bundle.text.len() > 500_000, "the GraphiQL bundle itself is served");
    for missing in ["/graphql/assets/nothing.js", "/graphql/assets/..%2FCargo.toml", "/graphql/assets/"] {
        let r = app.send("GET", missing, None, None, &[]).await;
        assert_eq!((r.status, r.error_code()), (404, "not_found"), "{missing}: {}", r.text);
    }
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
