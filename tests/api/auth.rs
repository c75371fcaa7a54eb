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
    let r = app.login(email, password).await;
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
    let wrong = app.login(email, "not the password").await;
    let unknown = app.login("nobody@x.example", "whatever12345").await;
    let no_tenant = app.login_to("no-such-tenant", email, "whatever12345").await;
    let (_, other_slug, _) = app.create_tenant_with_slug("Other Co");
    let other_tenant = app.login_to(&other_slug, email, "correct horse battery").await;
    for r in [&wrong, &unknown, &no_tenant, &other_tenant] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.body, wrong.body, "every failure reads the same");
    }
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
    // The valid token (of a real user) works, so the refusals above are about the defects.
    let r = app
        .post(
            "/api/v1/users",
            &json!({"email": "ana@acme.example", "password": "correct horse battery", "role": "admin"}),
        )
        .await;
    let mut claims = good_claims(now + 600, "duizhang-api");
    claims["sub"] = r.body["id"].clone();
    let ok = format!("Bearer {}", token(claims, TEST_JWT_SECRET));
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

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A token with any header and claims, signed HS256 with `secret` (whatever the header says).
fn forged(header: serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

async fn login_token(app: &crate::helpers::TestApp, email: &str, password: &str) -> String {
    let r = app.login(email, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let (app, email, password) = app_with_user().await;
    let jwt = login_token(&app, email, password).await;
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims: serde_json::Value = serde_json::from_slice(&b64_decode(parts[1])).unwrap();
    assert_eq!(claims["role"], "accountant");
    let (other_tenant, other_key) = app.create_tenant("Other Co");
    app.create_customer("C1").await;

    let with_payload =
        |payload: &serde_json::Value| format!("{}.{}.{}", parts[0], b64(payload.to_string().as_bytes()), parts[2]);
    let mut as_admin = claims.clone();
    as_admin["role"] = json!("admin");
    let mut other_tid = claims.clone();
    other_tid["tid"] = json!(other_tenant);
    let mut longer = claims.clone();
    longer["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400 * 365);
    let secret = TEST_JWT_SECRET.as_bytes();
    let cases: Vec<(&str, String)> = vec![
        // Claims changed, signature kept.
        ("role raised to admin", with_payload(&as_admin)),
        ("tenant id swapped", with_payload(&other_tid)),
        ("expiry extended", with_payload(&longer)),
        ("signature stripped", format!("{}.{}.", parts[0], parts[1])),
        // Other algorithms: asymmetric ones (with a made-up signature: we hold no such key) and
        // the HMAC variants; only HS256 is accepted.
        ("RS256", format!("{}.{}.{}", b64(br#"{"alg":"RS256","typ":"JWT"}"#), parts[1], b64(&[7u8; 256]))),
        ("ES256", format!("{}.{}.{}", b64(br#"{"alg":"ES256","typ":"JWT"}"#), parts[1], b64(&[7u8; 64]))),
        ("HS512 header", forged(json!({"alg": "HS512", "typ": "JWT"}), &claims, secret)),
        ("alg None (capitalised)", format!("{}.{}.", b64(br#"{"alg":"None","typ":"JWT"}"#), parts[1])),
        // Key confusion: HS256 signed with another secret, pointing at the attacker's keys.
        (
            "jku injection",
            forged(
                json!({"alg": "HS256", "jku": "http://127.0.0.1:1/jwks.json", "kid": "attacker"}),
                &as_admin,
                b"attacker-secret-attacker-secret-00",
            ),
        ),
        ("kid path injection", forged(json!({"alg": "HS256", "kid": "../../../../dev/null"}), &as_admin, b"")),
        (
            "embedded jwk",
            forged(json!({"alg": "HS256", "jwk": {"kty": "oct", "k": b64(b"attacker")}}), &as_admin, b"attacker"),
        ),
    ];
    for (name, token) in cases {
        let r = app.get_as(&token, "/api/v1/customers/C1").await;
        assert_eq!(r.status, 401, "{name}: {}", r.text);
        assert_eq!(r.error_code(), "unauthenticated", "{name}");
        let q = app.graphql_as(Some(&token), "{ customers { items { code } } }", json!({})).await;
        assert_eq!(q.body["errors"][0]["extensions"]["code"], "unauthenticated", "{name}: {}", q.text);
    }
    // Extra header fields do not matter when the signature is ours: kid/jku are never followed.
    let ours = forged(json!({"alg": "HS256", "typ": "JWT", "kid": "whatever"}), &claims, secret);
    assert_eq!(app.get_as(&ours, "/api/v1/customers/C1").await.status, 200);
    // Even correctly signed (a leaked secret), a token cannot move its user into another
    // tenant nor raise its role: the user row decides.
    let cross = forged(json!({"alg": "HS256", "typ": "JWT"}), &other_tid, secret);
    let r = app.get_as(&cross, "/api/v1/customers").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let raised = forged(json!({"alg": "HS256", "typ": "JWT"}), &as_admin, secret);
    let r = app.post_as(&raised, "/api/v1/api-keys", &json!({"name": "k", "role": "admin"})).await;
    assert_eq!(r.status, 403, "the stored role (accountant) applies: {}", r.text);
    // The other tenant's key still sees nothing of ours.
    assert_eq!(app.get_as(&other_key, "/api/v1/customers/C1").await.status, 404);
}

#[tokio::test]
async fn a_disabled_or_deleted_users_tokens_stop_working_at_once() {
    let (app, email, password) = app_with_user().await;
    let jwt = login_token(&app, email, password).await;
    assert_eq!(app.get_as(&jwt, "/api/v1/customers").await.status, 200);
    {
        let mut conn = app.db.connect();
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE users SET disabled_at = now() WHERE email = 'ana@acme.example'")
            .execute(&mut conn)
            .unwrap();
    }
    let r = app.get_as(&jwt, "/api/v1/customers").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.error_code(), "unauthenticated");
    let r = app.login(email, password).await;
    assert_eq!(r.status, 401, "a disabled user cannot log in: {}", r.text);
    {
        let mut conn = app.db.connect();
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE users SET disabled_at = NULL WHERE email = 'ana@acme.example'")
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(app.get_as(&jwt, "/api/v1/customers").await.status, 200, "enabled again");
    {
        let mut conn = app.db.connect();
        use diesel::RunQueryDsl;
        diesel::sql_query("DELETE FROM users WHERE email = 'ana@acme.example'").execute(&mut conn).unwrap();
    }
    let r = app.get_as(&jwt, "/api/v1/customers").await;
    assert_eq!(r.status, 401, "{}", r.text);
}
