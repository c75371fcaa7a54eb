//! The customer portal: a customer-scoped token sees its own customer only, over REST and
//! GraphQL; confirms or disputes what was sent; comments; confirms its balance.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

async fn customer_with_difference(app: &TestApp, code: &str) -> String {
    app.sent_difference(code).await.0
}

async fn portal_token(app: &TestApp, code: &str) -> (String, String) {
    let r = app.post(&format!("/api/v1/customers/{code}/portal-tokens"), &json!({"ttl_hours": 2})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["token"].as_str().unwrap().to_string(), r.body["token_id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_portal_token_reaches_its_own_customer_only() {
    let app = spawn_app().await;
    let mine = customer_with_difference(&app, "PA").await;
    let theirs = customer_with_difference(&app, "PB").await;
    // A difference not yet sent is not visible to the customer either.
    app.create_invoice("PA", "PA-INV-3", "10.00").await;
    let again = app
        .post(
            "/api/v1/customers/PA/statements",
            &json!({"lines": [{"their_ref": "AP1", "our_ref": "PA-INV-1", "date": "2026-03-01", "kind": "invoice", "amount": "500.00", "currency": "EUR"}]}),
        )
        .await;
    assert_eq!(again.body["differences"].as_array().unwrap().len(), 2, "{}", again.text);
    let (token, _) = portal_token(&app, "PA").await;

    let list = app.get_as(&token, "/api/v1/portal/differences").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine.as_str()]);
    let account = app.get_as(&token, "/api/v1/portal/account").await;
    assert_eq!(account.body["customer_code"], "PA", "{}", account.text);
    assert_eq!(account.body["balance"]["balances"][0]["balance"], "760.00", "{}", account.text);
    let soa = app.get_as(&token, "/api/v1/portal/statement-of-account?from=2026-01-01&to=2026-12-31").await;
    assert_eq!(soa.status, 200, "{}", soa.text);
    assert_eq!(soa.body["currencies"][0]["closing_balance"], "760.00");
    assert_eq!(soa.body["currencies"][0]["lines"].as_array().unwrap().len(), 3);
    // Open items, their aging, and only the differences sent to the customer.
    assert_eq!(soa.body["open_items"].as_array().unwrap().len(), 3, "{}", soa.text);
    assert_eq!(soa.body["aging"][0]["total"], "760.00", "{}", soa.text);
    assert_eq!(soa.body["open_differences"].as_array().unwrap().len(), 1, "{}", soa.text);
    assert_eq!(soa.body["open_differences"][0]["status"], "sent");
    let pdf = app.get_as(&token, "/api/v1/portal/statement-of-account?from=2026-01-01&to=2026-12-31&format=pdf").await;
    assert_eq!(pdf.status, 200);

    // Another customer's difference: not found, whatever the verb.
    for (method, path) in [
        ("GET", format!("/api/v1/portal/differences/{theirs}")),
        ("POST", format!("/api/v1/portal/differences/{theirs}/confirm")),
        ("POST", format!("/api/v1/portal/differences/{theirs}/comments")),
    ] {
        let r =
            app.send(method, &path, Some(&token), Some(("application/json", br#"{"body":"x"}"#.to_vec())), &[]).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
    }
    // The tenant's API with a portal token: refused.
    for path in
        ["/api/v1/customers", "/api/v1/customers/PB", "/api/v1/differences", &format!("/api/v1/differences/{theirs}")]
    {
        let r = app.get_as(&token, path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
    }
    let r = app.post_as(&token, "/api/v1/customers/PB/portal-tokens", &json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // And the portal with a tenant API key: not a portal token.
    let r = app.get("/api/v1/portal/differences").await;
    assert_eq!(r.status, 401, "{}", r.text);

    // GraphQL: portal fields answer for PA; tenant fields and PB's data do not.
    let q = app.graphql_as(Some(&token), "{ portalDifferences { items { id customerCode status } } }", json!({})).await;
    assert_eq!(q.body["data"]["portalDifferences"]["items"][0]["id"], mine.as_str(), "{}", q.text);
    let q = app
        .graphql_as(
            Some(&token),
            "query($id: UUID!) { portalDifference(id: $id) { difference { id } } }",
            json!({"id": theirs}),
        )
        .await;
    assert_eq!(q.body["errors"][0]["extensions"]["code"], "not_found", "{}", q.text);
    let q = app.graphql_as(Some(&token), "{ differences { items { id } } }", json!({})).await;
    assert_eq!(q.body["errors"][0]["extensions"]["code"], "forbidden", "{}", q.text);
    let q = app
        .graphql_as(
            Some(&token),
            "mutation($id: UUID!) { portalConfirmDifference(id: $id) { difference { status } } }",
            json!({"id": theirs}),
        )
        .await;
    assert_eq!(q.body["errors"][0]["extensions"]["code"], "not_found", "{}", q.text);
    let q = app.graphql_as(Some(&app.api_key), "{ portalDifferences { items { id } } }", json!({})).await;
    assert_eq!(q.body["errors"][0]["extensions"]["code"], "forbidden", "{}", q.text);
    assert_eq!(app.count(&format!("differences WHERE id = '{theirs}' AND status = 'sent'")), 1);
}

#[tokio::test]
async fn the_customer_disputes_comments_and_confirms_its_balance() {
    let app = spawn_app().await;
    let id = customer_with_difference(&app, "PC").await;
    let (token, token_id) = portal_token(&app, "PC").await;

    let bare = app.post_as(&token, &format!("/api/v1/portal/differences/{id}/dispute"), &json!({})).await;
    assert_eq!(bare.status, 422, "{}", bare.text);
    let disputed = app
        .post_as(
            &token,
            &format!("/api/v1/portal/differences/{id}/dispute"),
            &json!({"body": "we never received PC-INV-2", "attachments": [{"name": "ledger.xlsx", "sha256": "a".repeat(64)}]}),
        )
        .await;
    assert_eq!(disputed.status, 200, "{}", disputed.text);
    assert_eq!(disputed.body["difference"]["status"], "disputed");
    // The customer may not resolve.
    let r = app.post_as(&token, &format!("/api/v1/portal/differences/{id}/resolve"), &json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // The tenant answers in the same thread; both sides see it.
    let c =
        app.post(&format!("/api/v1/differences/{id}/comments"), &json!({"body": "resent the invoice by e-mail"})).await;
    assert_eq!(c.status, 201, "{}", c.text);
    let thread = app.get_as(&token, &format!("/api/v1/portal/differences/{id}")).await;
    let authors: Vec<&str> =
        thread.body["comments"].as_array().unwrap().iter().map(|c| c["author_type"].as_str().unwrap()).collect();
    assert_eq!(authors, ["api_key", "customer", "api_key"], "{}", thread.text);
    let confirmed =
        app.post_as(&token, &format!("/api/v1/portal/differences/{id}/confirm"), &json!({"body": "found it"})).await;
    assert_eq!(confirmed.body["difference"]["status"], "confirmed", "{}", confirmed.text);
    // The dispute, the confirmation, and its text added to the dispute's work order.
    assert_eq!(app.count("audit_trail WHERE actor_type = 'customer'"), 3);
    assert_eq!(app.count("audit_trail WHERE actor_type = 'customer' AND action = 'work_order.commented'"), 1);
    assert_eq!(
        app.count(
            "outbox_events WHERE event_type IN ('difference.disputed', 'difference.confirmed', 'difference.commented')"
        ),
        3
    );

    // Balance confirmation (对账确认): agreeing and not.
    let agree = app
        .post_as(
            &token,
            "/api/v1/portal/balance-confirmations",
            &json!({"as_of": "2026-12-31", "balances": [{"currency": "EUR", "balance": "750.00"}]}),
        )
        .await;
    assert_eq!(agree.status, 201, "{}", agree.text);
    assert_eq!(agree.body["agrees"], true, "{}", agree.text);
    let disagree = app
        .post_as(&token, "/api/v1/portal/balance-confirmations", &json!({"as_of": "2026-12-31", "balances": [{"currency": "EUR", "balance": "500.00"}], "comment": "INV-2 unknown"}))
        .await;
    assert_eq!(disagree.body["agrees"], false, "{}", disagree.text);
    assert_eq!(disagree.body["balances"][0]["ours"], "750.00");
    let bad: Value = app
        .post_as(
            &token,
            "/api/v1/portal/balance-confirmations",
            &json!({"as_of": "2026-12-31", "balances": [{"currency": "EUR", "balance": "1.234"}]}),
        )
        .await
        .body;
    assert_eq!(bad["error"]["code"], "validation_failed");
    let seen = app.get("/api/v1/customers/PC/balance-confirmations").await;
    assert_eq!(seen.body.as_array().unwrap().len(), 2, "{}", seen.text);

    // Revoked: the token stops working at once.
    let r = app
        .send("DELETE", &format!("/api/v1/customers/PC/portal-tokens/{token_id}"), Some(&app.api_key), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.get_as(&token, "/api/v1/portal/account").await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn the_customer_uploads_its_statement_through_the_portal() {
    let app = spawn_app().await;
    app.create_customer("PD").await;
    app.create_invoice("PD", "PD-INV-1", "80.00").await;
    let (token, _) = portal_token(&app, "PD").await;
    let csv = "their_ref,our_ref,date,kind,amount,currency\nAP1,PD-INV-1,2026-03-01,invoice,8.00,EUR\n";
    let r = app
        .send("POST", "/api/v1/portal/statements", Some(&token), Some(("text/csv", csv.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["source"], "portal");
    assert_eq!(r.body["differences"][0]["kind"], "amount_mismatch");
    assert!(r.body["differences"][0]["explanation"].as_str().unwrap().contains("decimal point shifted"), "{}", r.text);
    // A file naming another customer is refused.
    let other = "customer_code,their_ref,our_ref,date,kind,amount,currency\nPX,AP1,,2026-03-01,invoice,8.00,EUR\n";
    let r = app
        .send("POST", "/api/v1/portal/statements", Some(&token), Some(("text/csv", other.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
}
