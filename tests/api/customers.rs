use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn create_read_update_list() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/customers",
            &json!({"code": "C000001", "name": "Kalomer GmbH", "aliases": ["KALOMER"], "country": "de",
                    "bank_accounts": ["de44 5001 0517 5407 3249 31"], "email": "ap@c1.example",
                    "default_currency": "EUR", "payment_terms_days": 30, "credit_limit": "50000"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["country"], "DE");
    assert_eq!(r.body["bank_accounts"][0], "DE44500105175407324931");
    assert_eq!(r.body["credit_limit"], "50000.00");
    let again = app.post("/api/v1/customers", &json!({"code": "C000001", "name": "Dup"})).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "conflict");

    let r = app
        .patch_as(
            &app.api_key,
            "/api/v1/customers/C000001",
            &json!({"name": "Kalomer AG", "email": null, "status": "blocked"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Kalomer AG");
    assert!(r.body["email"].is_null());
    assert_eq!(r.body["country"], "DE", "absent fields stay");

    for i in 2..=7 {
        app.create_customer(&format!("C00000{i}")).await;
    }
    let page1 = app.get("/api/v1/customers?limit=4").await;
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 4);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = app.get(&format!("/api/v1/customers?limit=4&cursor={cursor}")).await;
    assert_eq!(page2.body["items"].as_array().unwrap().len(), 3);
    assert!(page2.body["next_cursor"].is_null());
    let blocked = app.get("/api/v1/customers?status=blocked").await;
    assert_eq!(blocked.body["items"].as_array().unwrap().len(), 1);
    let by_name = app.get("/api/v1/customers?name=kalomer").await;
    assert_eq!(by_name.body["items"][0]["code"], "C000001");
    let capped = app.get("/api/v1/customers?limit=100000").await;
    assert_eq!(capped.status, 200, "limits are capped, not refused");
    let bad = app.get("/api/v1/customers?limit=0").await;
    assert_eq!(bad.status, 422);
    let unknown_filter = app.get("/api/v1/customers?colour=red").await;
    assert_eq!(unknown_filter.status, 422);
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = spawn_app().await;
    let cases = [
        (json!({"code": "C1", "name": "x", "default_currency": "EURO"}), "default_currency"),
        (json!({"code": "C1", "name": "x", "credit_limit": 100.5}), "credit_limit"),
        (json!({"code": "C1", "name": "x", "credit_limit": "12.345", "default_currency": "EUR"}), "credit_limit"),
        (json!({"code": "C1", "name": "x", "colour": "red"}), "colour"),
        (json!({"code": "", "name": "x"}), "code"),
        (json!({"code": "C1", "name": "x", "bank_accounts": ["DE-1"]}), "bank_accounts[0]"),
        (json!({"code": "C1", "name": "x", "email": "nope"}), "email"),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/customers", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.error_code(), "validation_failed");
        let named = r.body["error"]["details"]["field"].as_str().unwrap_or("");
        assert!(named == field || r.body["error"]["message"].as_str().unwrap().contains(field), "{body}: {}", r.text);
    }
    assert_eq!(app.count("customers"), 0);
    let r = app
        .send("POST", "/api/v1/customers", Some(&app.api_key), Some(("application/json", b"{not json".to_vec())), &[])
        .await;
    assert_eq!(r.status, 422);
    let r = app.send("POST", "/api/v1/customers", Some(&app.api_key), Some(("text/plain", b"{}".to_vec())), &[]).await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn csv_import_with_good_and_bad_rows() {
    let app = spawn_app().await;
    app.create_customer("C000002").await;
    let csv = "code,name,country,iban,email\n\
        C000001,Kalomer GmbH,DE,DE44500105175407324931,ap@c000001.example\n\
        C000002,Renamed Ltd,GB,,ap@c000002.example\n\
        C000003,,FR,,ap@c000003.example\n\
        C000004,Bad Mail SARL,FR,,not-an-email\n\
        C000001,Duplicate GmbH,DE,,\n\
        C000005,Short Row\n\
        C000006,上海宏达贸易有限公司,CN,,\n";
    let r = app.post_csv("/api/v1/customers/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 2, "{}", r.text);
    assert_eq!(r.body["updated"], 1, "{}", r.text);
    let rejected: Vec<u64> =
        r.body["rejected"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert_eq!(rejected, vec![3, 4, 5, 6], "{}", r.text);
    assert!(r.body["rejected"][0]["error"].as_str().unwrap().contains("name"));
    assert_eq!(app.count("customers"), 3);
    assert_eq!(app.get("/api/v1/customers/C000002").await.body["name"], "Renamed Ltd");
    assert_eq!(app.get("/api/v1/customers/C000006").await.body["name"], "上海宏达贸易有限公司");
    // Audit entries exist for exactly the rows written.
    assert_eq!(app.count("audit_trail WHERE action = 'customer.created'"), 3);
    assert_eq!(app.count("audit_trail WHERE action = 'customer.updated'"), 1);

    // Re-importing the same file changes nothing.
    let r = app.post_csv("/api/v1/customers/import", csv).await;
    assert_eq!(r.body["created"], 0);
    assert_eq!(r.body["updated"], 0);
    assert_eq!(r.body["unchanged"], 3);

    let r = app.post_csv("/api/v1/customers/import", "code,name,colour\nC9,x,red\n").await;
    assert_eq!(r.status, 422, "unknown columns are a mapping error");
    let r = app
        .send("POST", "/api/v1/customers/import", Some(&app.api_key), Some(("application/xml", b"<x/>".to_vec())), &[])
        .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn json_import_refuses_rows_off_the_schema_and_reports_rule_breaks() {
    let app = spawn_app().await;
    let body = json!([
        {"code": "C1", "name": "One"},
        {"code": "C2", "name": "Two", "credit_limit": 5},
        {"code": "C3", "name": "Three", "unknown": true},
        {"code": "C4", "name": "Four", "default_currency": "JPY", "credit_limit": "1000"}
    ]);
    // A number where the schema has a string and an unknown field: the body is refused whole,
    // every such row named, nothing written.
    let r = app.post("/api/v1/customers/import", &body).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["mismatched_rows"], 2, "{}", r.text);
    let rows = &r.body["error"]["details"]["rows"];
    assert_eq!((rows[0]["row"].as_u64(), rows[1]["row"].as_u64()), (Some(2), Some(3)), "{}", r.text);
    assert!(rows[0]["error"].as_str().unwrap().contains("credit_limit"), "{}", r.text);
    assert_eq!(app.get("/api/v1/customers/C1").await.status, 404, "nothing of a refused body is written");

    // Rows that fit the schema but break a rule are rejected one by one; the rest go in.
    let body = json!([
        {"code": "C1", "name": "One"},
        {"code": "C2", "name": "Two", "default_currency": "EURO"},
        {"code": "C4", "name": "Four", "default_currency": "JPY", "credit_limit": "1000"}
    ]);
    let r = app.post("/api/v1/customers/import", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 2, "{}", r.text);
    assert_eq!(r.body["rejected"][0]["row"], 2, "{}", r.text);
    assert_eq!(app.get("/api/v1/customers/C4").await.body["credit_limit"], "1000");
}

#[tokio::test]
async fn generator_customers_and_ledger_import() {
    let dir = crate::helpers::generated_folder(300, 5, 11, None);
    let app = spawn_app().await;
    let customers = std::fs::read_to_string(dir.path().join("customers.csv")).unwrap();
    let ledger = std::fs::read_to_string(dir.path().join("ledger.csv")).unwrap();
    let n_customers = customers.lines().count() as i64 - 1;
    let n_docs = ledger.lines().count() as i64 - 1;
    let r = app.post_csv("/api/v1/customers/import", &customers).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rejected"].as_array().unwrap().len(), 0, "{}", r.text);
    assert_eq!(r.body["created"].as_i64().unwrap(), n_customers);
    let r = app.post_csv("/api/v1/documents/import", &ledger).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rejected"].as_array().unwrap().len(), 0, "{}", r.text);
    assert_eq!(r.body["created"].as_i64().unwrap(), n_docs);
    assert_eq!(app.count("documents"), n_docs);
    // JPY documents keep no decimals.
    let jpy = app.get("/api/v1/documents?currency=JPY&limit=1").await;
    if let Some(doc) = jpy.body["items"].as_array().unwrap().first() {
        assert!(!doc["amount"].as_str().unwrap().contains('.'), "{doc}");
    }
    let verify = app.get("/api/v1/audit/verify").await;
    assert_eq!(verify.body["valid"], true, "{}", verify.text);
}
