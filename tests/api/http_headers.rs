//! Security headers on every answer, page CSPs that name the pages' own inline scripts, HSTS by
//! setting, and CORS by allow-list (preflight and actual requests).

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use base64::Engine;
use reqwest::header::HeaderMap;
use sha2::Digest;

const APP_ORIGIN: &str = "https://app.example.com";

async fn raw(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut req =
        app.client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.address));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let key = format!("Bearer {}", app.api_key);
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16, bool);
    let cases: Vec<Case> = vec![
        ("GET", "/api/v1/customers", vec![("authorization", &key)], 200, true),
        ("GET", "/api/v1/customers", vec![], 401, false),
        ("GET", "/api/v1/nothing-here", vec![("authorization", &key)], 404, true),
        ("POST", "/api/v1/auth/token", vec![("content-type", "application/json")], 422, true),
        ("POST", "/graphql", vec![("authorization", &key), ("content-type", "application/json")], 400, true),
        ("GET", "/healthz", vec![], 200, false),
        ("GET", "/api/v1/docs/swagger-ui-bundle.js", vec![], 200, false),
    ];
    for (method, path, headers, status, no_store) in cases {
        let (got, h, text) = raw(&app, method, path, &headers).await;
        assert_eq!(got, status, "{method} {path}: {text:.300}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{method} {path}");
        assert_eq!(header(&h, "referrer-policy"), "no-referrer", "{method} {path}");
        assert!(header(&h, "content-security-policy").starts_with("default-src 'none'"), "{method} {path}: {h:?}");
        assert_eq!(header(&h, "cache-control") == "no-store", no_store, "{method} {path}: {h:?}");
        assert_eq!(header(&h, "strict-transport-security"), "", "no HSTS unless TLS is in front");
        assert_eq!(header(&h, "access-control-allow-origin"), "", "no CORS by default");
    }
    // JSON answers run nothing: the data policy.
    let (_, h, _) = raw(&app, "GET", "/api/v1/customers", &[("authorization", &key)]).await;
    assert!(header(&h, "content-security-policy").contains("frame-ancestors 'none'"));
}

/// The viewer pages may run their own scripts (from this origin, an inline bootstrap by hash)
/// and nothing else. GraphiQL has no inline script at all; the Swagger UI page has one.
#[tokio::test]
async fn the_viewer_pages_get_a_policy_naming_their_own_inline_scripts() {
    let app = spawn_app().await;
    for (path, inline_scripts) in [("/api/v1/docs/", 1..=usize::MAX), ("/graphql", 0..=0)] {
        let (status, h, html) = raw(&app, "GET", path, &[]).await;
        assert_eq!(status, 200, "{path}");
        let policy = header(&h, "content-security-policy");
        let scripts = policy.split(';').find(|d| d.trim().starts_with("script-src")).unwrap().trim();
        if *inline_scripts.end() == 0 {
            assert_eq!(scripts, "script-src 'self'", "{path}: {policy}");
        } else {
            assert!(scripts.starts_with("script-src 'self' 'sha256-"), "{path}: {policy}");
        }
        assert!(!policy.split(';').any(|d| d.contains("script-src") && d.contains("unsafe-inline")), "{policy}");
        // Every inline script of the page is named by its hash (computed here independently).
        let mut rest = html.as_str();
        let mut inline = 0;
        while let Some(start) = rest.find("<script") {
            let tag_end = start + rest[start..].find('>').unwrap();
            let close = tag_end + rest[tag_end..].find("</script>").unwrap();
            if !rest[start..tag_end].contains("src=") {
                let digest = sha2::Sha256::digest(&rest.as_bytes()[tag_end + 1..close]);
                let source = format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest));
                assert!(policy.contains(&source), "{path}: {source} missing from {policy}");
                inline += 1;
            }
            rest = &rest[close..];
        }
        assert!(inline_scripts.contains(&inline), "{path}: {inline} inline scripts");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn hsts_when_tls_terminates_in_front() {
    let app = spawn_app_with(|s| s.behind_tls = true).await;
    for path in ["/healthz", "/api/v1/customers"] {
        let (_, h, _) = raw(&app, "GET", path, &[]).await;
        assert_eq!(header(&h, "strict-transport-security"), "max-age=31536000", "{path}");
    }
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let app = spawn_app_with(|s| s.cors_allowed_origins = vec![APP_ORIGIN.into()]).await;
    let key = format!("Bearer {}", app.api_key);
    let preflight = |origin: &'static str, path: &'static str| {
        let app = &app;
        async move {
            raw(
                app,
                "OPTIONS",
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization, content-type"),
                ],
            )
            .await
        }
    };
    for path in ["/api/v1/customers", "/graphql"] {
        let (status, h, text) = preflight(APP_ORIGIN, path).await;
        assert_eq!(status, 204, "{path}: {text}");
        assert_eq!(header(&h, "access-control-allow-origin"), APP_ORIGIN);
        assert_eq!(header(&h, "access-control-allow-credentials"), "true");
        assert!(header(&h, "access-control-allow-methods").contains("POST"));
        let allowed = header(&h, "access-control-allow-headers");
        assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
        assert!(header(&h, "vary").contains("Origin"), "{h:?}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    }
    let (status, h, text) = preflight("https://evil.example", "/api/v1/customers").await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("\"forbidden\""), "{text}");
    assert_eq!(header(&h, "access-control-allow-origin"), "");
    assert_eq!(header(&h, "access-control-allow-credentials"), "");
    // A lookalike is not the listed origin.
    let (status, _, _) = preflight("https://app.example.com.evil.example", "/api/v1/customers").await;
    assert_eq!(status, 403);

    // The actual request from the listed origin: readable by its page, with credentials.
    let (status, h, _) =
        raw(&app, "GET", "/api/v1/customers", &[("origin", APP_ORIGIN), ("authorization", &key)]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), APP_ORIGIN);
    assert_eq!(header(&h, "access-control-allow-credentials"), "true");
    assert!(header(&h, "access-control-expose-headers").contains("retry-after"));
    // Refusals too, so the page can read why.
    let (status, h, _) = raw(&app, "GET", "/api/v1/customers", &[("origin", APP_ORIGIN)]).await;
    assert_eq!((status, header(&h, "access-control-allow-origin")), (401, APP_ORIGIN));
    // Another origin's page gets no CORS headers (its browser hides the answer); servers that
    // send no Origin are not affected at all.
    let (status, h, _) =
        raw(&app, "GET", "/api/v1/customers", &[("origin", "https://evil.example"), ("authorization", &key)]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), "");
    assert_eq!(header(&h, "access-control-allow-credentials"), "");
    let (status, h, _) = raw(&app, "GET", "/api/v1/customers", &[("authorization", &key)]).await;
    assert_eq!((status, header(&h, "access-control-allow-origin")), (200, ""));
}

#[tokio::test]
async fn without_an_allow_list_preflights_are_refused() {
    let app = spawn_app().await;
    let (status, h, _) =
        raw(&app, "OPTIONS", "/api/v1/customers", &[("origin", APP_ORIGIN), ("access-control-request-method", "GET")])
            .await;
    assert_eq!(status, 403);
    assert_eq!(header(&h, "access-control-allow-origin"), "");
}
