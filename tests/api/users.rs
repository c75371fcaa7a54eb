//! Logins name their tenant, and a tenant's users have a lifecycle: disable and enable, role
//! change, password change and admin reset, log out everywhere, delete. Every step ends the
//! user's existing tokens and is audited.

use crate::helpers::{spawn_app, spawn_app_with, Response, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

async fn create_user(app: &TestApp, key: &str, email: &str, role: &str) -> String {
    let r = app.post_as(key, "/api/v1/users", &json!({"email": email, "password": PASSWORD, "role": role})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

fn token_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_string()
}

async fn works(app: &TestApp, token: &str) -> bool {
    let r = app.get_as(token, "/api/v1/customers").await;
    assert!(r.status == 200 || r.status == 401, "{}", r.text);
    r.status == 200
}

async fn audit_actions(app: &TestApp, user_id: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/audit?entity_type=user&entity_id={user_id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn logins_are_scoped_to_their_tenant_and_one_tenant_cannot_affect_anothers() {
    let app = spawn_app_with(|s| {
        s.login_throttle.max_failures_per_user = 3;
    })
    .await;
    create_user(&app, &app.api_key, "ana@acme.example", "accountant").await;
    // Tenant B gives the same address to a user of its own, with another password.
    let (b_id, b_slug, b_key) = app.create_tenant_with_slug("Tenant B");
    let r = app
        .post_as(
            &b_key,
            "/api/v1/users",
            &json!({"email": "ANA@acme.example", "password": "tenant b's password", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "no conflict across tenants: {}", r.text);
    let a = app.login("ana@acme.example", PASSWORD).await;
    assert_eq!(a.body["tenant_id"], json!(app.tenant_id), "{}", a.text);
    assert_eq!(a.body["role"], "accountant");
    let b = app.login_to(&b_slug, "ana@acme.example", "tenant b's password").await;
    assert_eq!(b.body["tenant_id"], json!(b_id), "{}", b.text);
    // By id as well as by slug; the slug is not case-sensitive.
    token_of(&app.login_to(&app.tenant_id.to_string(), "ana@acme.example", PASSWORD).await);
    token_of(&app.login_to(&app.tenant_slug.to_uppercase(), "ana@acme.example", PASSWORD).await);
    let body = json!({"tenant_id": app.tenant_id, "email": "ana@acme.example", "password": PASSWORD});
    token_of(&app.post_as("", "/api/v1/auth/token", &body).await);

    // Without a tenant: the same refusal whether the address exists anywhere or not.
    let mut refusals = Vec::new();
    for email in ["ana@acme.example", "nobody@nowhere.example"] {
        let r = app.post_as("", "/api/v1/auth/token", &json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], "tenant", "{}", r.text);
        refusals.push(r.body);
    }
    assert_eq!(refusals[0], refusals[1]);
    let both = json!({"tenant": "x", "tenant_id": app.tenant_id, "email": "a@b.example", "password": PASSWORD});
    assert_eq!(app.post_as("", "/api/v1/auth/token", &both).await.status, 422);

    // Failed logins in tenant B do not lock A's user out (the count is per tenant and address).
    for _ in 0..3 {
        assert_eq!(app.login_to(&b_slug, "ana@acme.example", "wrong password!!").await.status, 401);
    }
    assert_eq!(app.login_to(&b_slug, "ana@acme.example", "tenant b's password").await.status, 429);
    token_of(&app.login("ana@acme.example", PASSWORD).await);
    // B disabling its user changes nothing for A's.
    let b_user = app.get_as(&b_key, "/api/v1/users").await.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.post_as(&b_key, &format!("/api/v1/users/{b_user}/disable"), &json!({})).await.status, 200);
    token_of(&app.login("ana@acme.example", PASSWORD).await);
}

#[tokio::test]
async fn an_admin_disables_enables_changes_the_role_of_and_deletes_a_user_and_old_tokens_stop() {
    let app = spawn_app().await;
    let id = create_user(&app, &app.api_key, "ana@acme.example", "accountant").await;
    let first = token_of(&app.login("ana@acme.example", PASSWORD).await);
    assert!(works(&app, &first).await);

    let r = app.post(&format!("/api/v1/users/{id}/disable"), &json!({})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("disabled")), "{}", r.text);
    assert!(!works(&app, &first).await, "a disabled user's token stops at once");
    assert_eq!(app.login("ana@acme.example", PASSWORD).await.status, 401);
    let r = app.post(&format!("/api/v1/users/{id}/enable"), &json!({})).await;
    assert_eq!(r.body["status"], "active", "{}", r.text);
    assert!(!works(&app, &first).await, "enabling again does not bring old tokens back");
    let second = token_of(&app.login("ana@acme.example", PASSWORD).await);
    assert!(works(&app, &second).await);

    let r = app.patch_as(&app.api_key, &format!("/api/v1/users/{id}"), &json!({"role": "viewer"})).await;
    assert_eq!(r.body["role"], "viewer", "{}", r.text);
    assert!(!works(&app, &second).await, "a role change ends the tokens of the old role");
    let viewer = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let r = app.post_as(&viewer, "/api/v1/customers", &json!({"code": "C1", "name": "x"})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app.patch_as(&app.api_key, &format!("/api/v1/users/{id}"), &json!({"role": "owner"})).await;
    assert_eq!(r.status, 422, "{}", r.text);

    let r = app.send("DELETE", &format!("/api/v1/users/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("deleted")), "{}", r.text);
    assert!(!works(&app, &viewer).await);
    assert_eq!(app.login("ana@acme.example", PASSWORD).await.status, 401);
    assert_eq!(app.get(&format!("/api/v1/users/{id}")).await.status, 404);
    assert!(!app.get("/api/v1/users").await.text.contains(&id), "deleted users are not listed");
    assert_eq!(app.post(&format!("/api/v1/users/{id}/enable"), &json!({})).await.status, 404);
    // The address is free again; the deleted row and its history stay.
    let again = create_user(&app, &app.api_key, "ana@acme.example", "viewer").await;
    assert_ne!(again, id);
    assert_eq!(app.count(&format!("users WHERE id = '{id}' AND deleted_at IS NOT NULL")), 1);
    assert_eq!(
        audit_actions(&app, &id).await,
        ["user.created", "user.disabled", "user.enabled", "user.role_changed", "user.deleted"]
    );
}

#[tokio::test]
async fn only_admins_manage_users_and_an_admin_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let admin = create_user(&app, &app.api_key, "boss@acme.example", "admin").await;
    let other = create_user(&app, &app.api_key, "ana@acme.example", "accountant").await;
    let boss = token_of(&app.login("boss@acme.example", PASSWORD).await);
    let ana = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let r = app.post_as(&ana, &format!("/api/v1/users/{admin}/disable"), &json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(app.get_as(&ana, &format!("/api/v1/users/{other}")).await.status, 403);
    for (method, path, body) in [
        ("POST", format!("/api/v1/users/{admin}/disable"), None),
        ("PATCH", format!("/api/v1/users/{admin}"), Some(json!({"role": "viewer"}))),
        ("DELETE", format!("/api/v1/users/{admin}"), None),
    ] {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let r = app.send(method, &path, Some(&boss), body, &[]).await;
        assert_eq!((r.status, r.error_code()), (409, "conflict"), "{method} {path}: {}", r.text);
    }
    assert!(works(&app, &boss).await, "the refusals changed nothing");
    // Another admin may; so may the tenant's admin API key (above) and the command line.
    let r = app.post_as(&boss, &format!("/api/v1/users/{other}/disable"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_user_changes_their_password_and_logs_out_everywhere() {
    let app = spawn_app().await;
    let id = create_user(&app, &app.api_key, "ana@acme.example", "accountant").await;
    let laptop = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let phone = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let r = app.post_as(&laptop, "/api/v1/auth/password", &change("not my password", "a new long password")).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("current_password")), "{}", r.text);
    let r = app.post_as(&laptop, "/api/v1/auth/password", &change(PASSWORD, "too short")).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(works(&app, &phone).await, "refused changes change nothing");
    let r = app.post_as(&laptop, "/api/v1/auth/password", &change(PASSWORD, "a new long password")).await;
    let fresh = token_of(&r);
    assert!(works(&app, &fresh).await, "the answer is a working token");
    assert!(!works(&app, &laptop).await && !works(&app, &phone).await, "every other session ended");
    assert_eq!(app.login("ana@acme.example", PASSWORD).await.status, 401);
    token_of(&app.login("ana@acme.example", "a new long password").await);
    // An API key has no password of its own, nor sessions to end.
    let r = app.post("/api/v1/auth/password", &change(PASSWORD, "a new long password")).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(app.post("/api/v1/auth/logout-everywhere", &json!({})).await.status, 403);

    let r = app.post_as(&fresh, "/api/v1/auth/logout-everywhere", &json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!works(&app, &fresh).await);
    assert_eq!(audit_actions(&app, &id).await, ["user.created", "user.password_changed", "user.logged_out_everywhere"]);
    // Without credentials: refused before anything is read.
    let r = app.send("POST", "/api/v1/auth/logout-everywhere", None, None, &[]).await;
    assert_eq!(r.status, 401);
}

async fn reset(app: &TestApp, id: &str) -> Response {
    app.post(&format!("/api/v1/users/{id}/password-reset"), &json!({})).await
}

async fn redeem(app: &TestApp, token: Value, password: &str) -> Response {
    let body = json!({"reset_token": token, "new_password": password}).to_string().into_bytes();
    app.send("POST", "/api/v1/auth/password-reset", None, Some(("application/json", body)), &[]).await
}

#[tokio::test]
async fn an_admins_password_reset_is_one_time_and_cuts_the_account_off_until_used() {
    let app = spawn_app_with(|s| s.password_reset_ttl = Duration::from_secs(2)).await;
    let id = create_user(&app, &app.api_key, "ana@acme.example", "accountant").await;
    let session = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let issue = || reset(&app, &id);
    let first = issue().await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(!works(&app, &session).await, "sessions end at once");
    assert_eq!(app.login("ana@acme.example", PASSWORD).await.status, 401, "so does the old password");
    let second = issue().await;
    let redeem = |token: &Value, password: &'static str| redeem(&app, token.clone(), password);
    let r = redeem(&first.body["reset_token"], "a brand new password").await;
    assert_eq!(r.status, 401, "a newer token retires the older one: {}", r.text);
    let r = redeem(&second.body["reset_token"], "short").await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = redeem(&second.body["reset_token"], "a brand new password").await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = redeem(&second.body["reset_token"], "yet another password").await;
    assert_eq!((r.status, r.error_code()), (401, "unauthenticated"), "used once only: {}", r.text);
    token_of(&app.login("ana@acme.example", "a brand new password").await);
    let r = redeem(&json!("dzr_made-up"), "a brand new password").await;
    assert_eq!(r.status, 401);
    // Expired tokens are refused.
    let third = issue().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(redeem(&third.body["reset_token"], "a brand new password").await.status, 401);
    // A disabled user cannot be reset, and disabling retires their unused tokens.
    let fourth = issue().await;
    assert_eq!(app.post(&format!("/api/v1/users/{id}/disable"), &json!({})).await.status, 200);
    assert_eq!(issue().await.status, 409);
    assert_eq!(app.post(&format!("/api/v1/users/{id}/enable"), &json!({})).await.status, 200);
    assert_eq!(redeem(&fourth.body["reset_token"], "a brand new password").await.status, 401);
    let actions = audit_actions(&app, &id).await;
    assert_eq!(actions.iter().filter(|a| *a == "user.password_reset_issued").count(), 4, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "user.password_reset_completed").count(), 1, "{actions:?}");
    assert!(!app.get("/api/v1/audit?entity_type=user").await.text.contains("dzr_"), "tokens never in the audit");
}

#[tokio::test]
async fn the_same_lifecycle_through_graphql() {
    let app = spawn_app().await;
    let gql = |key: String, query: &'static str, variables: Value| {
        let app = &app;
        async move { app.graphql_as(Some(&key), query, variables).await }
    };
    let key = app.api_key.clone();
    let r = gql(
        key.clone(),
        "mutation($i: NewUserInput!) { createUser(input: $i) { id role status } }",
        json!({"i": {"email": "ana@acme.example", "password": PASSWORD, "role": "ACCOUNTANT"}}),
    )
    .await;
    let id = r.body["data"]["createUser"]["id"].as_str().unwrap_or_else(|| panic!("{}", r.text)).to_string();
    let session = token_of(&app.login("ana@acme.example", PASSWORD).await);
    let r = gql(session.clone(), "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken role } }",
        json!({"c": PASSWORD, "n": "a new long password"})).await;
    let fresh =
        r.body["data"]["changePassword"]["accessToken"].as_str().unwrap_or_else(|| panic!("{}", r.text)).to_string();
    assert!(!works(&app, &session).await && works(&app, &fresh).await);
    let r = gql(key.clone(), "mutation($id: UUID!) { setUserRole(id: $id, role: VIEWER) { role } }", json!({"id": id}))
        .await;
    assert_eq!(r.body["data"]["setUserRole"]["role"], "VIEWER", "{}", r.text);
    let r = gql(key.clone(), "mutation($id: UUID!) { disableUser(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(r.body["data"]["disableUser"]["status"], "disabled", "{}", r.text);
    let r = gql(key.clone(), "mutation($id: UUID!) { enableUser(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(r.body["data"]["enableUser"]["status"], "active", "{}", r.text);
    let r = gql(
        key.clone(),
        "mutation($id: UUID!) { resetUserPassword(id: $id) { resetToken expiresAt } }",
        json!({"id": id}),
    )
    .await;
    assert!(r.body["data"]["resetUserPassword"]["resetToken"].as_str().unwrap_or("").starts_with("dzr_"), "{}", r.text);
    let r = gql(
        key.clone(),
        "{ users { email status } user(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(r.body["data"]["users"][0]["email"], "ana@acme.example", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "not_found", "{}", r.text);
    let r = gql(key.clone(), "mutation($id: UUID!) { deleteUser(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(r.body["data"]["deleteUser"]["status"], "deleted", "{}", r.text);
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = gql(viewer, "{ users { id } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "forbidden", "{}", r.text);
}

/// The migration gives existing tenants slugs from their names (unique, valid), and its down
/// migration restores the previous schema.
#[test]
fn existing_tenants_get_valid_unique_slugs() {
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;
    let db = crate::helpers::TestDatabase::create();
    let mut conn = db.connect();
    // Back to the schema before migration 000018 (later migrations are reverted first).
    loop {
        let reverted = conn.revert_last_migration(duizhang::db::MIGRATIONS).unwrap().to_string();
        if reverted.ends_with("000018") {
            break;
        }
    }
    for name in ["Acme GmbH", "ACME gmbh", "杭州对账科技有限公司", "上海华东贸易", "-- Ü --", &"Long name ".repeat(10)]
    {
        diesel::sql_query("INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), $1)")
            .bind::<diesel::sql_types::Text, _>(name)
            .execute(&mut conn)
            .unwrap();
    }
    conn.run_pending_migrations(duizhang::db::MIGRATIONS).unwrap();
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT name, slug FROM tenants ORDER BY created_at, id").load(&mut conn).unwrap();
    let slugs: std::collections::HashSet<&str> = rows.iter().map(|r| r.slug.as_str()).collect();
    assert_eq!(slugs.len(), rows.len(), "unique");
    for r in &rows {
        assert_eq!(duizhang::domain::tenant::check_slug(&r.slug), Ok(()), "{} -> {}", r.name, r.slug);
        let made = duizhang::domain::tenant::slug_from_name(&r.name);
        assert!(r.slug == made || r.slug.starts_with(&format!("{made}-")), "{} -> {} (Rust: {made})", r.name, r.slug);
    }
    assert_eq!(rows.iter().filter(|r| r.slug == "acme-gmbh").count(), 1);
    assert_eq!(rows.iter().filter(|r| r.slug.starts_with("tenant")).count(), 3);
}
