use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn reads_and_mutations_with_the_same_rules() {
    let app = spawn_app().await;
    let create =
        r#"mutation($input: CustomerInput!) { createCustomer(input: $input) { code name bankAccounts status } }"#;
    let r = app
        .graphql_as(
            Some(&app.api_key),
            create,
            json!({"input": {"code": "C1", "name": "Kalomer GmbH", "bankAccounts": ["DE44 5001"]}}),
        )
        .await;
    assert_eq!(r.body["data"]["createCustomer"]["bankAccounts"][0], "DE445001", "{}", r.text);
    let doc = r#"mutation($input: DocumentInput!) { createDocument(input: $input) { id amount openAmount status } }"#;
    let r = app
        .graphql_as(
            Some(&app.api_key),
            doc,
            json!({"input": {"docType": "INVOICE", "docNo": "INV-1", "customerCode": "C1", "issueDate": "2026-03-01", "currency": "EUR", "amount": "12.3"}}),
        )
        .await;
    assert_eq!(r.body["data"]["createDocument"]["amount"], "12.30", "{}", r.text);
    let r = app
        .graphql_as(
            Some(&app.api_key),
            doc,
            json!({"input": {"docType": "INVOICE", "docNo": "INV-2", "customerCode": "C1", "issueDate": "2026-03-01", "currency": "EUR", "amount": "1.234"}}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "validation_failed", "{}", r.text);
    let r = app
        .graphql_as(Some(&app.api_key), r#"{ customerBalance(code: "C1") { balances { currency balance } } documents(customer: "C1") { items { docNo } } }"#, json!({}))
        .await;
    assert_eq!(r.body["data"]["customerBalance"]["balances"][0]["balance"], "12.30", "{}", r.text);
    assert_eq!(r.body["data"]["documents"]["items"][0]["docNo"], "INV-1");
    let r = app.graphql_as(None, "{ customers { items { code } } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "unauthenticated", "{}", r.text);
    let k = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await;
    let viewer = k.body["api_key"].as_str().unwrap();
    let r = app
        .graphql_as(Some(viewer), r#"mutation { updateCustomer(code: "C1", patch: {name: "X"}) { name } }"#, json!({}))
        .await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "forbidden", "{}", r.text);
}

#[tokio::test]
async fn depth_and_complexity_are_limited() {
    let app = spawn_app_limited().await;
    let deep =
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }";
    let r = app.graphql_as(Some(&app.api_key), deep, json!({})).await;
    assert!(
        r.body["errors"][0]["message"].as_str().unwrap_or("").to_lowercase().contains("nested too deep"),
        "{}",
        r.text
    );
}

async fn spawn_app_limited() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|s| {
        s.graphql_max_depth = 5;
    })
    .await
}
