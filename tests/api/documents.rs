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

/// A ledger of `n` invoices over customers L0..L9, as an ERP exports it.
fn ledger_csv(n: usize, amount: impl Fn(usize) -> String) -> String {
    let mut csv = String::from("doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n");
    for i in 0..n {
        csv.push_str(&format!("INV-{i:06},invoice,L{},2026-01-05,2026-02-04,EUR,{},REF-{i}\n", i % 10, amount(i)));
    }
    csv
}

/// 20,000 rows in one request: all created, each named by exactly one of the import's audit
/// entries (500 documents each, `after.documents` the documents as the API answers them), which
/// the document's own trail lists; the same request again changes nothing and writes no entry.
#[tokio::test]
async fn a_large_ledger_import_is_counted_and_audited_per_document() {
    let app = spawn_app().await;
    for c in 0..10 {
        app.create_customer(&format!("L{c}")).await;
    }
    const N: usize = 20_000;
    let csv = ledger_csv(N, |i| format!("{}.{:02}", 100 + i, i % 100));
    let r = app.post_csv("/api/v1/documents/import", &csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["created"].as_u64(), r.body["updated"].as_u64()), (Some(N as u64), Some(0)), "{}", r.text);
    assert_eq!(r.body["rejected"], json!([]));
    assert_eq!(app.count("documents"), N as i64);
    let entries = "audit_trail WHERE action = 'documents.imported' AND entity_type = 'document_import'";
    assert_eq!(app.count(entries), (N / 500) as i64);
    // The import grew the table from nothing: its statistics were taken with it.
    assert_eq!(app.count("pg_class WHERE oid = 'documents'::regclass AND reltuples >= 20000"), 1);
    let named = "audit_trail a CROSS JOIN jsonb_array_elements(a.after->'documents') n \
                 JOIN documents d ON d.id::text = n->>0 WHERE a.action = 'documents.imported'";
    assert_eq!(app.count(named), N as i64, "every document named once");
    assert_eq!(app.count(&format!("(SELECT DISTINCT d.id FROM {named}) distinct_named")), N as i64);
    for i in [0, 7, 12_345, N - 1] {
        let list = app.get(&format!("/api/v1/documents?q=INV-{i:06}")).await;
        let doc = &list.body["items"][0];
        assert_eq!(doc["amount"], format!("{}.{:02}", 100 + i, i % 100), "{}", list.text);
        assert_eq!(doc["customer_code"], format!("L{}", i % 10));
        assert_eq!(doc["external_reference"], format!("REF-{i}"));
        let id = doc["id"].as_str().unwrap();
        let audit = app.get(&format!("/api/v1/audit?entity_type=document&entity_id={id}")).await;
        let items = audit.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", audit.text);
        assert_eq!(items[0]["action"], "documents.imported");
        assert_eq!(items[0]["actor_type"], "api_key");
        assert_eq!(items[0]["before"], Value::Null);
        let after = &items[0]["after"];
        assert_eq!(after["parts"], N / 500);
        assert_eq!((&after["status"], &after["created_at"]), (&doc["status"], &doc["created_at"]));
        let columns: Vec<&str> = after["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let named = after["documents"].as_array().unwrap();
        assert_eq!(named.len(), 500);
        let (first, last) = items[0]["entity_id"].as_str().unwrap().split_once("..").unwrap();
        assert_eq!((named[0][0].as_str().unwrap(), named[499][0].as_str().unwrap()), (first, last));
        let row = named.iter().find(|d| d[0] == doc["id"]).expect("the entry names the document");
        assert_eq!(columns.len(), 10);
        for (k, column) in columns.iter().enumerate() {
            assert_eq!(row[k], doc[column], "{column}: the entry shows the document as it was created");
        }
        assert_eq!(doc["open_amount"], doc["amount"]);
    }
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], true, "{}", v.text);

    let again = app.post_csv("/api/v1/documents/import", &csv).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        (again.body["created"].as_u64(), again.body["updated"].as_u64(), again.body["unchanged"].as_u64()),
        (Some(0), Some(0), Some(N as u64)),
        "{}",
        again.text
    );
    assert_eq!(
        app.count("audit_trail WHERE entity_type IN ('document', 'document_import')"),
        (N / 500) as i64,
        "nothing changed, nothing audited"
    );

    // Every 1,000th amount changes: those are updated, with before and after.
    let changed = ledger_csv(N, |i| if i % 1000 == 0 { "1.00".into() } else { format!("{}.{:02}", 100 + i, i % 100) });
    let r = app.post_csv("/api/v1/documents/import", &changed).await;
    assert_eq!(
        (r.body["created"].as_u64(), r.body["updated"].as_u64(), r.body["unchanged"].as_u64()),
        (Some(0), Some(20), Some(N as u64 - 20)),
        "{}",
        r.text
    );
    let updated = app.get("/api/v1/audit?action=document.updated&limit=100").await;
    let items = updated.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "{}", updated.text);
    assert_eq!(items[1]["before"]["amount"], "1100.00", "{}", updated.text);
    assert_eq!(items[1]["after"]["amount"], "1.00");
    assert_eq!(items[1]["after"]["open_amount"], "1.00");
    assert_eq!(items[1]["after"]["doc_no"], "INV-001000");
}

/// Rejections in a mixed request keep their row numbers and reasons; the other rows are written.
#[tokio::test]
async fn a_mixed_ledger_import_rejects_rows_by_number_and_writes_the_rest() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    app.create_customer("C2").await;
    app.create_invoice("C2", "INV-X", "10.00").await;
    let cancelled = app.create_invoice("C1", "INV-C", "10.00").await;
    let id = cancelled["id"].as_str().unwrap();
    let r = app.send("DELETE", &format!("/api/v1/documents/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.create_invoice("C1", "INV-U", "10.00").await;
    app.create_invoice("C1", "INV-V", "10.00").await;
    let csv = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-A,invoice,C1,2026-03-01,2026-03-31,EUR,5.00,\n\
        INV-B,invoice,C9,2026-03-01,2026-03-31,EUR,5.00,\n\
        INV-X,invoice,C1,2026-03-01,2026-03-31,EUR,10.00,\n\
        INV-A,invoice,C1,2026-03-01,2026-03-31,EUR,6.00,\n\
        INV-D,invoice,C1,2026-03-01,2026-03-31,EUR,1.001,\n\
        INV-C,invoice,C1,2026-03-01,2026-03-31,EUR,11.00,\n\
        INV-U,invoice,C1,2026-03-01,2026-04-30,EUR,10.00,PO-9\n\
        INV-V,invoice,C1,2026-03-01,2026-03-31,EUR,10.00,\n\
        INV-W,invoice,C1,2026-03-01\n\
        CN-A,credit_note,C2,2026-03-02,,EUR,2.50,\n";
    let r = app.post_csv("/api/v1/documents/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["created"].as_u64(), r.body["updated"].as_u64(), r.body["unchanged"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{}",
        r.text
    );
    let rejected: Vec<(u64, String)> = r.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["row"].as_u64().unwrap(), x["error"].as_str().unwrap().to_string()))
        .collect();
    let rows: Vec<u64> = rejected.iter().map(|(row, _)| *row).collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 6, 9], "{}", r.text);
    assert_eq!(rejected[0].1, "customer_code: unknown customer \"C9\"");
    assert_eq!(rejected[1].1, "invoice \"INV-X\" belongs to another customer");
    assert_eq!(rejected[2].1, "invoice \"INV-A\" appears again (first in row 1)");
    assert!(rejected[3].1.contains("EUR allows 2 decimal places"), "{}", rejected[3].1);
    assert_eq!(rejected[4].1, "document INV-C is cancelled");
    assert_eq!(rejected[5].1, "expected 8 columns, found 4");
    assert_eq!(app.count("documents WHERE doc_no IN ('INV-A', 'CN-A')"), 2);
    assert_eq!(
        app.count("documents WHERE doc_no = 'INV-A' AND amount = 5"),
        1,
        "the first row of a repeated key counts"
    );
    let updated = app.get("/api/v1/audit?action=document.updated").await;
    let items = updated.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", updated.text);
    assert_eq!(items[0]["before"]["due_date"], "2026-03-31");
    assert_eq!(items[0]["after"]["due_date"], "2026-04-30");
    assert_eq!(items[0]["after"]["external_reference"], "PO-9");

    // The same rows as a JSON array give the same answer, row for row, once every row fits the
    // schema; an amount sent as a JSON number refuses the whole body (money is a string).
    let mut json_rows = json!([
        {"doc_type": "invoice", "doc_no": "INV-A", "customer_code": "C1", "issue_date": "2026-03-01", "due_date": "2026-03-31", "currency": "EUR", "amount": "5.00"},
        {"doc_type": "invoice", "doc_no": "INV-B", "customer_code": "C9", "issue_date": "2026-03-01", "currency": "EUR", "amount": "5.00"},
        {"doc_type": "invoice", "doc_no": "INV-E", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": 5},
        {"doc_type": "invoice", "doc_no": "INV-F", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": "7"}
    ]);
    let r = app.post("/api/v1/documents/import", &json_rows).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["rows"][0]["row"], 3, "{}", r.text);
    assert!(!app.get("/api/v1/documents?customer=C1&limit=500").await.text.contains("INV-F"), "nothing written");
    json_rows[2]["amount"] = json!("5.001");
    let r = app.post("/api/v1/documents/import", &json_rows).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["created"].as_u64(), r.body["unchanged"].as_u64()), (Some(1), Some(1)), "{}", r.text);
    let rows: Vec<u64> = r.body["rejected"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, vec![2, 3], "{}", r.text);
}
