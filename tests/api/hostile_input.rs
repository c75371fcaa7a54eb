//! Regressions found by schemathesis (scripts/schemathesis.sh): inputs that are valid JSON and
//! valid for the schema but were a 500 or were wrongly accepted.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_nul_character_in_text_is_a_422_not_a_500() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    // PostgreSQL text cannot hold U+0000: this was an internal error.
    let r = app
        .post(
            "/api/v1/statement-runs",
            &json!({"period_from": "2026-02-04", "period_to": "2026-02-04", "customers": ["", "F\u{e7}\u{0}"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.error_code(), "validation_failed");
    let r = app.post("/api/v1/customers", &json!({"code": "C2", "name": "Nul\u{0}GmbH"})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.count("customers"), 1, "nothing written");
}

#[tokio::test]
async fn an_object_body_sent_as_an_array_is_refused() {
    let app = spawn_app().await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    // serde reads a struct from a sequence of its fields: this PATCH was a 200.
    let r = app.patch_as(&app.api_key, &format!("/api/v1/bank-accounts/{id}"), &json!([null, null])).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["message"], "body: expected a JSON object");
    // Endpoints that take a list still take one.
    let r = app
        .post(
            "/api/v1/fx-rates",
            &json!([{"from_currency": "USD", "to_currency": "EUR", "rate": "0.92", "valid_on": "2026-01-01"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_graphql_argument_out_of_its_type_range_is_a_coded_error() {
    // Found by schemathesis' GraphQL mode: async-graphql's own argument errors had no code.
    let app = spawn_app().await;
    let r = app.graphql_as(Some(&app.api_key), "{ collectionReport(days: 146848888063) { asOf } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "bad_request", "{}", r.text);
    let r = app.graphql_as(Some(&app.api_key), "{ agingReport(buckets: [1, 99999999999]) { asOf } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "bad_request", "{}", r.text);
}
