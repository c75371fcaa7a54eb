use crate::helpers::{spawn_app, TEST_JWT_SECRET};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

async fn app_with_user() -> (crate::helpers::TestApp, &'static str, &'static str) {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/users",
            &json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "accountant"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (app, "ana@acme.example", "correct horse battery")
}

fn token(claims: serde_json::Value, secret: &str) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn password_login_gives_a_working_short_lived_token() {
    let (app, email, password) = app_with_user().await;
    let r = app.post_as("", "/api/v1/auth/token", &json!({"email": email, "password": password})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().unwrap() <= 3600);
    let jwt = r.body["access_token"].as_str().unwrap().to_string();
    app.create_customer("C1").await;
    let r = app.get_as(&jwt, "/api/v1/customers/C1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An accountant may not manage keys.
    let r = app.post_as(&jwt, "/api/v1/api-keys", &json!({"name": "k", "role": "admin"})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "forbidden");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let (app, email, _) = app_with_user().await;
    let wrong = app.post_as("", "/api/v1/auth/token", &json!({"email": email, "password": "not the password"})).await;
    let unknown =
        app.post_as("", "/api/v1/auth/token", &json!({"email": "nobody@x.example", "password": "whatever12345"})).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn requests_without_valid_credentials_are_refused() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let good_claims = |exp: i64, aud: &str| json!({"sub": uuid::Uuid::nil(), "tid": app.tenant_id, "role": "admin", "iss": "duizhang", "aud": aud, "iat": now, "exp": exp});
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("not bearer", Some("Basic abc".into())),
        ("unknown api key", Some("Bearer dz_000000000000_nope".into())),
        ("expired", Some(format!("Bearer {}", token(good_claims(now - 600, "duizhang-api"), TEST_JWT_SECRET)))),
        (
            "wrong audience",
            Some(format!("Bearer {}", token(good_claims(now + 600, "duizhang-portal"), TEST_JWT_SECRET))),
        ),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                token(good_claims(now + 600, "duizhang-api"), "another-secret-another-secret-0000")
            )),
        ),
        ("garbage", Some("Bearer a.b.c".into())),
    ];
    // alg "none": header {"alg":"none"} and no signature.
    use base64::Engine;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none_token =
        format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(good_claims(now + 600, "duizhang-api")));
    let mut cases = cases;
    cases.push(("alg none", Some(format!("Bearer {none_token}"))));
    for (name, header) in cases {
        let headers: Vec<(&str, &str)> = header.as_deref().map(|h| vec![("authorization", h)]).unwrap_or_default();
        let r = app.send("GET", "/api/v1/customers", None, None, &headers).await;
        assert_eq!(r.status, 401, "{name}: {}", r.text);
        assert_eq!(r.error_code(), "unauthenticated", "{name}");
    }
    // The valid token works, so the refusals above are about the defects.
    let ok = format!("Bearer {}", token(good_claims(now + 600, "duizhang-api"), TEST_JWT_SECRET));
    let r = app.send("GET", "/api/v1/customers", None, None, &[("authorization", ok.as_str())]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn scoped_and_revoked_api_keys() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/api-keys", &json!({"name": "bank feed", "role": "accountant", "scopes": ["bank:write"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank_key = r.body["api_key"].as_str().unwrap().to_string();
    let bank_key_id = r.body["id"].as_str().unwrap().to_string();
    let r = app.post_as(&bank_key, "/api/v1/customers", &json!({"code": "C1", "name": "x"})).await;
    assert_eq!(r.status, 403, "a bank feed key must not write the ledger");
    let r = app.get_as(&bank_key, "/api/v1/customers").await;
    assert_eq!(r.status, 403, "nor read it");
    let r = app.post("/api/v1/api-keys", &json!({"name": "bad", "role": "viewer", "scopes": ["everything"]})).await;
    assert_eq!(r.status, 422);

    let r = app.post("/api/v1/api-keys", &json!({"name": "erp", "role": "viewer"})).await;
    let viewer = r.body["api_key"].as_str().unwrap().to_string();
    let r = app.get_as(&viewer, "/api/v1/customers").await;
    assert_eq!(r.status, 200);
    let r = app.post_as(&viewer, "/api/v1/customers", &json!({"code": "C1", "name": "x"})).await;
    assert_eq!(r.status, 403);

    let r = app.send("DELETE", &format!("/api/v1/api-keys/{bank_key_id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["revoked_at"].is_string());
    let r = app.get_as(&bank_key, "/api/v1/customers").await;
    assert_eq!(r.status, 401);
    let keys = app.get("/api/v1/api-keys").await;
    assert!(keys.text.find(&bank_key[10..]).is_none(), "secrets are never listed");
}
