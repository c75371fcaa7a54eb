use crate::helpers::spawn_app;
use serde_json::{json, Value};

fn doc(doc_type: &str, doc_no: &str, currency: &str, amount: &str) -> Value {
    json!({"doc_type": doc_type, "doc_no": doc_no, "customer_code": "C1", "issue_date": "2026-03-01",
           "due_date": "2026-03-31", "currency": currency, "amount": amount})
}

#[tokio::test]
async fn money_is_validated_per_currency() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let ok = [("EUR", "10.5", "10.50"), ("JPY", "1500", "1500"), ("KWD", "1.234", "1.234"), ("EUR", "7", "7.00")];
    for (i, (cur, amount, shown)) in ok.iter().enumerate() {
        let r = app.post("/api/v1/documents", &doc("invoice", &format!("OK-{i}"), cur, amount)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["amount"], *shown);
    }
    let bad = [
        (doc("invoice", "B1", "EUR", "10.555"), "amount"),
        (doc("invoice", "B2", "JPY", "10.5"), "amount"),
        (doc("invoice", "B3", "XXY", "10"), "currency"),
        (doc("invoice", "B4", "EUR", "-10"), "amount"),
        (doc("invoice", "B5", "EUR", "0"), "amount"),
        (doc("invoice", "B6", "EUR", "1e3"), "amount"),
        (
            json!({"doc_type": "invoice", "doc_no": "B7", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": 10.5}),
            "amount",
        ),
        (
            json!({"doc_type": "invoice", "doc_no": "B8", "customer_code": "C1", "issue_date": "2026-02-30", "currency": "EUR", "amount": "1"}),
            "issue_date",
        ),
        (
            json!({"doc_type": "receipt", "doc_no": "B9", "customer_code": "C1", "issue_date": "2026-02-01", "currency": "EUR", "amount": "1"}),
            "doc_type",
        ),
        (
            json!({"doc_type": "invoice", "doc_no": "B10", "customer_code": "C1", "issue_date": "2026-03-01", "due_date": "2026-02-01", "currency": "EUR", "amount": "1"}),
            "due_date",
        ),
        (
            json!({"doc_type": "invoice", "doc_no": "B11", "customer_code": "NOPE", "issue_date": "2026-03-01", "currency": "EUR", "amount": "1"}),
            "customer_code",
        ),
    ];
    for (body, field) in bad {
        let r = app.post("/api/v1/documents", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], field, "{body}: {}", r.text);
    }
    let adjustment = app.post("/api/v1/documents", &doc("adjustment", "ADJ-1", "EUR", "-3.10")).await;
    assert_eq!(adjustment.status, 201, "adjustments may be negative: {}", adjustment.text);
    assert_eq!(app.count("documents"), 5);
}

#[tokio::test]
async fn crud_filters_and_balance() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    app.create_customer("C2").await;
    let inv = app.create_invoice("C1", "INV-2026-0000001", "1000.00").await;
    app.create_invoice("C1", "INV-2026-0000002", "250.00").await;
    app.create_invoice("C2", "INV-2026-0000003", "99.99").await;
    let r = app.post("/api/v1/documents", &doc("credit_note", "CN-1", "EUR", "100.00")).await;
    assert_eq!(r.status, 201);
    let r = app.post("/api/v1/documents", &doc("payment", "PAY-1", "EUR", "300.00")).await;
    assert_eq!(r.status, 201);
    let r = app.post("/api/v1/documents", &doc("invoice", "INV-USD-1", "USD", "40.00")).await;
    assert_eq!(r.status, 201);
    let dup = app.post("/api/v1/documents", &doc("invoice", "INV-2026-0000001", "EUR", "5.00")).await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    // The same number is allowed for another document type.
    let r = app.post("/api/v1/documents", &doc("payment", "INV-2026-0000001", "EUR", "5.00")).await;
    assert_eq!(r.status, 201);

    let balance = app.get("/api/v1/customers/C1/balance").await;
    assert_eq!(balance.status, 200, "{}", balance.text);
    let eur = balance.body["balances"].as_array().unwrap().iter().find(|b| b["currency"] == "EUR").unwrap().clone();
    // 1000 + 250 - 100 - 300 - 5
    assert_eq!(eur["balance"], "845.00", "{}", balance.text);
    assert_eq!(eur["open_invoices"], "1250.00");
    assert_eq!(eur["open_credit_notes"], "100.00");
    assert_eq!(eur["unapplied_payments"], "305.00");
    let usd = balance.body["balances"].as_array().unwrap().iter().find(|b| b["currency"] == "USD").unwrap().clone();
    assert_eq!(usd["balance"], "40.00");
    assert_eq!(balance.body["open_items"].as_array().unwrap().len(), 6);

    let list = app.get("/api/v1/documents?customer=C1&doc_type=invoice").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    let text = app.get("/api/v1/documents?q=0000003").await;
    assert_eq!(text.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(text.body["items"][0]["customer_code"], "C2");
    let wildcard = app.get("/api/v1/documents?q=%25").await;
    assert_eq!(wildcard.body["items"].as_array().unwrap().len(), 0, "LIKE wildcards are literal");
    let due = app.get("/api/v1/documents?due_before=2026-03-31").await;
    assert_eq!(due.body["items"].as_array().unwrap().len(), 0);
    let due = app.get("/api/v1/documents?due_before=2026-04-01&issued_from=2026-03-01&issued_to=2026-03-01").await;
    assert_eq!(due.body["items"].as_array().unwrap().len(), 7);

    let id = inv["id"].as_str().unwrap();
    let r = app
        .patch_as(
            &app.api_key,
            &format!("/api/v1/documents/{id}"),
            &json!({"amount": "1200.00", "external_reference": "PO-77"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["open_amount"], "1200.00");
    assert_eq!(r.body["external_reference"], "PO-77");
    let r = app.patch_as(&app.api_key, &format!("/api/v1/documents/{id}"), &json!({"doc_no": "X"})).await;
    assert_eq!(r.status, 422, "doc_no is not changeable: {}", r.text);

    let r = app.send("DELETE", &format!("/api/v1/documents/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["open_amount"], "0.00");
    let r = app.patch_as(&app.api_key, &format!("/api/v1/documents/{id}"), &json!({"amount": "1.00"})).await;
    assert_eq!(r.status, 409);
    let open = app.get("/api/v1/documents?customer=C1&open_only=true").await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn ledger_csv_import_upserts_and_rejects_bad_rows() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let csv = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-1,invoice,C1,2026-01-05,2026-02-04,EUR,100.00,\n\
        INV-2,invoice,C1,2026-01-06,2026-02-05,JPY,15000,\n\
        INV-3,invoice,C9,2026-01-06,2026-02-05,EUR,1.00,\n\
        INV-4,invoice,C1,2026-01-06,2026-02-05,EUR,1.001,\n\
        INV-5,invoice,C1,06/01/2026,2026-02-05,EUR,1.00,\n\
        PAY-1,payment,C1,2026-01-20,,EUR,50.00,PMT123\n\
        INV-1,invoice,C1,2026-01-05,2026-02-04,EUR,101.00,\n";
    let r = app.post_csv("/api/v1/documents/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 3, "{}", r.text);
    let rows: Vec<u64> = r.body["rejected"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, vec![3, 4, 5, 7], "{}", r.text);
    assert_eq!(app.count("documents"), 3);
    let update = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-1,invoice,C1,2026-01-05,2026-03-04,EUR,120.00,PO-1\n\
        PAY-1,payment,C1,2026-01-20,,EUR,50.00,PMT123\n";
    let r = app.post_csv("/api/v1/documents/import", update).await;
    assert_eq!(
        (r.body["created"].as_u64(), r.body["updated"].as_u64(), r.body["unchanged"].as_u64()),
        (Some(0), Some(1), Some(1)),
        "{}",
        r.text
    );
    let list = app.get("/api/v1/documents?q=INV-1").await;
    assert_eq!(list.body["items"][0]["amount"], "120.00");
    assert_eq!(list.body["items"][0]["due_date"], "2026-03-04");
}

/// The same invoice created and imported at the same moment: one request stores it, the other is
/// told (409, or counted by the import), never a 500. The import locks its customers only as
/// strongly as the create's foreign key check does, so the two cannot deadlock.
#[tokio::test]
async fn creating_and_importing_the_same_document_at_once_never_fails_with_500() {
    let app = spawn_app().await;
    app.create_customer("C-RACE").await;
    const ROUNDS: usize = 40;
    for i in 0..ROUNDS {
        let invoice = json!({"doc_type": "invoice", "doc_no": format!("INV-RACE-{i}"), "customer_code": "C-RACE",
            "issue_date": "2026-11-01", "currency": "EUR", "amount": "10.00"});
        let credit = json!({"doc_type": "credit_note", "doc_no": format!("CN-RACE-{i}"), "customer_code": "C-RACE",
            "issue_date": "2026-11-15", "currency": "EUR", "amount": "1.00"});
        let batch = json!([invoice, credit]).to_string().into_bytes();
        let (created, imported) = tokio::join!(
            app.post("/api/v1/documents", &invoice),
            app.send("POST", "/api/v1/documents/import", Some(&app.api_key), Some(("application/json", batch)), &[]),
        );
        assert!(created.status == 201 || created.status == 409, "create: {} {}", created.status, created.text);
        assert!(imported.status == 200 || imported.status == 409, "import: {} {}", imported.status, imported.text);
    }
    assert_eq!(app.count("documents WHERE doc_no LIKE 'INV-RACE-%'"), ROUNDS as i64);
}
