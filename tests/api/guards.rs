//! Abuse protection over real HTTP: rate limits per API key, user and client IP (REST and
//! GraphQL), login throttling, and the GraphQL depth, complexity and alias limits.

use crate::helpers::{spawn_app_with, Response, TestApp};
use duizhang::config::{LoginThrottleConfig, RateLimitConfig};
use serde_json::json;
use std::time::Duration;

async fn limited_app(per_second: u32, burst: u32) -> TestApp {
    spawn_app_with(|s| s.rate_limit = RateLimitConfig { per_second, burst }).await
}

fn retry_after(r: &Response) -> u64 {
    let header = r.headers.get("retry-after").map(|v| v.to_str().unwrap().to_string());
    header.unwrap_or_else(|| panic!("no Retry-After on {}: {}", r.status, r.text)).parse().unwrap()
}

#[tokio::test]
async fn a_key_over_its_burst_gets_429_and_another_key_is_unaffected() {
    // One request per second sustained, three at once: the fourth within the second is refused.
    let app = limited_app(1, 3).await;
    let (_, other_tenant_key) = app.create_tenant("Other Co");
    for n in 0..3 {
        let r = app.get("/api/v1/customers").await;
        assert_eq!(r.status, 200, "request {n} is within the burst: {}", r.text);
    }
    let r = app.get("/api/v1/customers").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error_code(), "rate_limited");
    let wait = retry_after(&r);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(r.body["error"]["details"]["retry_after_seconds"], wait);
    // GraphQL spends the same budget and says so in its own error shape.
    let r = app.graphql_as(Some(&app.api_key), "{ customers { items { code } } }", json!({})).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "rate_limited", "{}", r.text);
    assert!(retry_after(&r) >= 1);
    // Another key (of another tenant, from the same IP) has its own budget.
    let r = app.get_as(&other_tenant_key, "/api/v1/customers").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Health probes are never limited.
    let r = app.send("GET", "/readyz", None, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The budget refills: after the advertised wait the key works again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = app.get("/api/v1/customers").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn unauthenticated_requests_share_a_budget_per_client_ip() {
    let app = limited_app(1, 2).await;
    let bogus = ["dz_000000000000_guess1", "dz_000000000001_guess2", "not-even-a-token"];
    // Guessed keys count against the IP, whatever the key: no fresh budget per guess.
    let mut statuses = Vec::new();
    for key in bogus {
        statuses.push(app.get_as(key, "/api/v1/customers").await.status);
    }
    assert_eq!(statuses, [401, 401, 429]);
    let r = app.send("GET", "/api/v1/customers", None, None, &[]).await;
    assert_eq!(r.status, 429, "no credentials at all: the same IP budget: {}", r.text);
    assert_eq!(r.error_code(), "rate_limited");
    // A valid key from the same IP is counted on its own.
    let r = app.get("/api/v1/customers").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_users_token_has_its_own_budget() {
    let app = limited_app(1, 2).await;
    let r = app
        .post(
            "/api/v1/users",
            &json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.login("ana@acme.example", "correct horse battery").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let jwt = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get_as(&jwt, "/api/v1/customers").await.status, 200);
    assert_eq!(app.get_as(&jwt, "/api/v1/customers").await.status, 200);
    let r = app.get_as(&jwt, "/api/v1/customers").await;
    assert_eq!(r.status, 429, "{}", r.text);
    // The tenant's API key spent two requests (user creation, above) and has its own budget.
    let r = app.get("/api/v1/customers").await;
    assert_ne!(r.status, 429, "{}", r.text);
}

async fn login(app: &TestApp, email: &str, password: &str) -> Response {
    app.login(email, password).await
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_for_a_while_and_a_success_resets_the_count() {
    let app = spawn_app_with(|s| {
        s.login_throttle =
            LoginThrottleConfig { max_failures_per_user: 3, max_failures_per_ip: 100, window: Duration::from_secs(2) }
    })
    .await;
    for email in ["ana@acme.example", "bob@acme.example"] {
        let r = app
            .post("/api/v1/users", &json!({"email": email, "password": "correct horse battery", "role": "viewer"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Two failures, then a success: the count starts over.
    for _ in 0..2 {
        assert_eq!(login(&app, "ana@acme.example", "wrong password!").await.status, 401);
    }
    assert_eq!(login(&app, "ana@acme.example", "correct horse battery").await.status, 200);
    for _ in 0..2 {
        assert_eq!(login(&app, "ana@acme.example", "wrong password!").await.status, 401);
    }
    // Three failures in the window: refused, even with the right password.
    assert_eq!(login(&app, "ANA@acme.example", "wrong password!").await.status, 401);
    let r = login(&app, "ana@acme.example", "correct horse battery").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error_code(), "too_many_attempts");
    let wait = retry_after(&r);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // Another user is not locked out by ana's attacker.
    assert_eq!(login(&app, "bob@acme.example", "correct horse battery").await.status, 200);
    // When the window ends, the right password works again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = login(&app, "ana@acme.example", "correct horse battery").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_ip_spraying_passwords_over_many_addresses_is_refused() {
    let app = spawn_app_with(|s| {
        s.login_throttle =
            LoginThrottleConfig { max_failures_per_user: 100, max_failures_per_ip: 4, window: Duration::from_secs(60) }
    })
    .await;
    let r = app
        .post(
            "/api/v1/users",
            &json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for n in 0..4 {
        assert_eq!(login(&app, &format!("user{n}@acme.example"), "Winter2026!").await.status, 401);
    }
    let r = login(&app, "ana@acme.example", "correct horse battery").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error_code(), "too_many_attempts");
    assert!(retry_after(&r) > 50);
}

async fn graphql_limited() -> TestApp {
    spawn_app_with(|s| {
        s.graphql_max_depth = 5;
        s.graphql_max_complexity = 25;
        s.graphql_max_aliases = 3;
    })
    .await
}

fn error_of(r: &Response) -> (&str, &str) {
    (
        r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or(""),
        r.body["errors"][0]["message"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn graphql_depth_complexity_and_alias_limits_answer_coded_errors() {
    let app = graphql_limited().await;
    app.create_customer("C1").await;
    let ok = app.graphql_as(Some(&app.api_key), "{ a: customer(code: \"C1\") { code } }", json!({})).await;
    assert_eq!(ok.body["data"]["a"]["code"], "C1", "{}", ok.text);

    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }";
    let r = app.graphql_as(Some(&app.api_key), deep, json!({})).await;
    let (code, message) = error_of(&r);
    assert_eq!(code, "bad_request", "{}", r.text);
    assert!(message.to_lowercase().contains("nested too deep"), "{}", r.text);
    assert!(r.body["data"].is_null(), "{}", r.text);

    let wide: String = (0..30).map(|n| format!("f{n}: __typename ")).collect();
    let r = app
        .graphql_as(
            Some(&app.api_key),
            &format!("{{ customers {{ items {{ code name status }} }} {wide} }}"),
            json!({}),
        )
        .await;
    let (code, _) = error_of(&r);
    assert_eq!(code, "bad_request", "{}", r.text);

    let complex = "{ customers { items { code name status defaultCurrency } } \
        documents { items { id docNo amount openAmount status currency } } \
        differences { items { id status kind } } customerBalance(code: \"C1\") { balances { currency balance } } \
        bankLines { items { id amount currency status } } }";
    let r = app.graphql_as(Some(&app.api_key), complex, json!({})).await;
    let (code, message) = error_of(&r);
    assert_eq!(code, "bad_request", "{}", r.text);
    assert!(message.to_lowercase().contains("too complex"), "{}", r.text);

    // Four aliased lookups of one id: each would be a transaction; refused before any runs.
    let aliased = "{ a: customer(code: \"C1\") { code } b: customer(code: \"C1\") { code } \
        c: customer(code: \"C1\") { code } d: customer(code: \"C1\") { code } }";
    let r = app.graphql_as(Some(&app.api_key), aliased, json!({})).await;
    let (code, message) = error_of(&r);
    assert_eq!(code, "bad_request", "{}", r.text);
    assert!(message.contains("aliased"), "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["limit"], "aliases", "{}", r.text);
    // Fragments do not hide aliases: a fragment with two aliases spread twice is four.
    let spread = "query { ...F ...F } fragment F on QueryRoot { x: customer(code: \"C1\") { code } y: customer(code: \"C1\") { code } }";
    let r = app.graphql_as(Some(&app.api_key), spread, json!({})).await;
    assert_eq!(error_of(&r).0, "bad_request", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["limit"], "aliases", "{}", r.text);
    // Syntax errors carry a code too.
    let r = app.graphql_as(Some(&app.api_key), "{ customers { ", json!({})).await;
    assert_eq!(error_of(&r).0, "bad_request", "{}", r.text);
}

#[tokio::test]
async fn graphql_batches_are_not_accepted() {
    // A JSON array of operations would run many operations for one request (and one rate step).
    let app = graphql_limited().await;
    let batch: Vec<_> = (0..10).map(|_| json!({"query": "{ customers { items { code } } }"})).collect();
    let r = app
        .send(
            "POST",
            "/graphql",
            Some(&app.api_key),
            Some(("application/json", serde_json::to_vec(&batch).unwrap())),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["data"].is_null() && !r.text.contains("\"customers\""), "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "bad_request", "{}", r.text);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget_and_others_cannot_spoof_one() {
    let behind_proxy = spawn_app_with(|s| {
        s.rate_limit = RateLimitConfig { per_second: 1, burst: 1 };
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let anonymous = |app: &TestApp, forwarded: &'static str| {
        let app_address = app.address.clone();
        let client = app.client.clone();
        async move {
            let r = client
                .get(format!("{app_address}/api/v1/customers"))
                .header("x-forwarded-for", forwarded)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    // The proxy (127.0.0.1, trusted) forwards two clients: each has its own budget of one.
    assert_eq!(anonymous(&behind_proxy, "203.0.113.7").await, 401);
    assert_eq!(anonymous(&behind_proxy, "203.0.113.7").await, 429);
    assert_eq!(anonymous(&behind_proxy, "198.51.100.1, 203.0.113.8").await, 401, "the nearest hop counts");
    // A client that is not a trusted proxy cannot pick its address with the header.
    let direct = limited_app(1, 1).await;
    assert_eq!(anonymous(&direct, "203.0.113.9").await, 401);
    assert_eq!(anonymous(&direct, "203.0.113.10").await, 429, "X-Forwarded-For from an untrusted peer is ignored");
}

#[tokio::test]
async fn an_oversized_graphql_body_gets_413_before_it_is_parsed() {
    let app = spawn_app_with(|s| s.max_json_bytes = 1024).await;
    let padding = " ".repeat(5000);
    let query = format!("{{ customers {{ items {{ code }} }} {padding} }}");
    let r = app.graphql_as(Some(&app.api_key), &query, json!({})).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "payload_too_large", "{}", r.text);
    // A request within the limit still works, so the refusal is about the size.
    let r = app.graphql_as(Some(&app.api_key), "{ customers { items { code } } }", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["data"]["customers"]["items"].is_array(), "{}", r.text);
}
