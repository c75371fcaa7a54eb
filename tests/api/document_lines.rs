//! Document lines over HTTP: the arithmetic under both rounding rules, documents that do not add
//! up refused with the difference and nothing written, tax flags, PATCH and JSON import of
//! lines, statements of account with lines (JSON and PDF), GraphQL, and the differences a
//! customer's statement shows when they booked our net or our net at another rate.

use crate::exports::pdf_text;
use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

fn invoice(doc_no: &str, amount: &str, lines: Value) -> Value {
    json!({"doc_type": "invoice", "doc_no": doc_no, "customer_code": "C1", "issue_date": "2026-03-01",
           "due_date": "2026-03-31", "currency": "EUR", "amount": amount, "lines": lines})
}

async fn setup() -> TestApp {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let r = app
        .post(
            "/api/v1/products",
            &json!({"code": "P-1", "name": "Steel bracket", "unit": "pcs", "default_price": "500",
                    "currency": "EUR", "tax_rate": "13"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app
}

fn writes(app: &TestApp) -> (i64, i64, i64) {
    (app.count("documents"), app.count("document_lines"), app.count("audit_trail"))
}

#[tokio::test]
async fn lines_add_up_or_the_document_is_refused_with_the_difference() {
    let app = setup().await;
    let lines = json!([{"product_code": "P-1", "quantity": "2"}, {"description": "Freight", "unit_price": "30", "tax_rate": "0"}]);
    let r = app.post("/api/v1/documents", &invoice("INV-1", "1160.00", lines.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let l = &r.body["lines"];
    assert_eq!(l[0]["description"], "Steel bracket", "taken from the product");
    assert_eq!(
        (l[0]["unit"].as_str(), l[0]["unit_price"].as_str(), l[0]["tax_rate"].as_str()),
        (Some("pcs"), Some("500"), Some("13"))
    );
    assert_eq!(
        (l[0]["net"].as_str(), l[0]["tax"].as_str(), l[0]["gross"].as_str()),
        (Some("1000.00"), Some("130.00"), Some("1130.00"))
    );
    assert_eq!(
        (l[1]["quantity"].as_str(), l[1]["tax"].as_str(), l[1]["gross"].as_str()),
        (Some("1"), Some("0.00"), Some("30.00"))
    );
    assert_eq!(r.body["tax_flags"], json!([]));
    let id = r.body["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(got.body["lines"], r.body["lines"], "{}", got.text);
    let listed = app.get("/api/v1/documents").await;
    assert!(listed.body["items"][0].get("lines").is_none(), "lists do not carry lines");

    let before = writes(&app);
    let r = app.post("/api/v1/documents", &invoice("INV-2", "1160.01", lines.clone())).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let details = &r.body["error"]["details"];
    assert_eq!(
        (details["expected"].as_str(), details["actual"].as_str(), details["difference"].as_str()),
        (Some("1160.00"), Some("1160.01"), Some("0.01"))
    );
    assert!(r.body["error"]["message"].as_str().unwrap().contains("difference 0.01 EUR"), "{}", r.text);
    for (lines, field) in [
        (json!([{"product_code": "P-1", "quantity": "2", "net": "999.00"}]), "lines[0].net"),
        (
            json!([{"description": "x", "unit_price": "1", "tax_rate": "13"}, {"product_code": "P-9"}]),
            "lines[1].product_code",
        ),
        (json!([{"description": "x", "unit_price": "1"}]), "lines[0].tax_rate"),
        (json!([{"unit_price": "1", "tax_rate": "13"}]), "lines[0].description"),
        (json!([{"product_code": "P-1", "gross": "1.00"}]), "lines[0].gross"),
        (json!([{"product_code": "P-1", "discount": "1", "discount_percent": "5"}]), "lines[0].discount"),
        (json!([{"product_code": "P-1", "quantity": "1.0000001"}]), "lines[0].quantity"),
    ] {
        let r = app.post("/api/v1/documents", &invoice("INV-2", "1130.00", lines.clone())).await;
        assert_eq!(r.status, 422, "{lines}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], field, "{lines}: {}", r.text);
    }
    let mut payment = invoice("PAY-1", "1130.00", json!([{"product_code": "P-1"}]));
    payment["doc_type"] = json!("payment");
    let r = app.post("/api/v1/documents", &payment).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("lines")), "{}", r.text);
    assert_eq!(writes(&app), before, "nothing written for a refused document");
}

#[tokio::test]
async fn the_tenants_rounding_rule_decides_per_line_or_per_document() {
    let app = setup().await;
    let settings = app.get("/api/v1/document-settings").await;
    assert_eq!(settings.body, json!({"tax_rounding": "per_line"}), "{}", settings.text);
    // Three lines of 0.10 at 5%: 0.005 tax each, 0.01 per line, but 0.015 -> 0.02 per document.
    let lines = json!([
        {"description": "a", "unit_price": "0.10", "tax_rate": "5"},
        {"description": "b", "unit_price": "0.10", "tax_rate": "5"},
        {"description": "c", "unit_price": "0.10", "tax_rate": "5"}
    ]);
    assert_eq!(app.post("/api/v1/documents", &invoice("R-1", "0.33", lines.clone())).await.status, 201);
    let r = app
        .send(
            "PUT",
            "/api/v1/document-settings",
            Some(&app.api_key),
            Some(("application/json", br#"{"tax_rounding":"per_document"}"#.to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refused = app.post("/api/v1/documents", &invoice("R-2", "0.33", lines.clone())).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["error"]["details"]["expected"], "0.32");
    let r = app.post("/api/v1/documents", &invoice("R-2", "0.32", lines)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let taxes: Vec<&str> = r.body["lines"].as_array().unwrap().iter().map(|l| l["tax"].as_str().unwrap()).collect();
    assert_eq!(taxes, ["0.01", "0.01", "0.00"], "0.02 spread over the lines");
    assert_eq!(app.count("audit_trail WHERE action = 'document_settings.updated'"), 1);
    let bad = app
        .send(
            "PUT",
            "/api/v1/document-settings",
            Some(&app.api_key),
            Some(("application/json", br#"{"tax_rounding":"per_invoice"}"#.to_vec())),
            &[],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
}

#[tokio::test]
async fn credit_notes_with_negated_lines_zero_rates_and_discounts() {
    let app = setup().await;
    let lines = json!([
        {"description": "Returned kettle", "quantity": "-2", "unit_price": "49.95", "discount": "1.00", "tax_rate": "19"},
        {"description": "Deposit", "quantity": "-1", "unit_price": "10", "tax_rate": "0"},
        {"product_code": "P-1", "quantity": "-0.5", "discount_percent": "10"}
    ]);
    // -98.90 + 18.79 tax; -10.00; -225.00 + 29.25 tax: gross -117.69 - 10.00 - 254.25 = -381.94.
    let mut cn = invoice("CN-1", "381.94", lines);
    cn["doc_type"] = json!("credit_note");
    let r = app.post("/api/v1/documents", &cn).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let gross: Vec<&str> = r.body["lines"].as_array().unwrap().iter().map(|l| l["gross"].as_str().unwrap()).collect();
    assert_eq!(gross, ["-117.69", "-10.00", "-254.25"]);
    assert_eq!(r.body["lines"][2]["discount_percent"], "10");
    // An invoice's lines add up as written: negated lines cannot make a positive invoice.
    let mut inv = cn.clone();
    (inv["doc_type"], inv["doc_no"]) = (json!("invoice"), json!("INV-NEG"));
    let r = app.post("/api/v1/documents", &inv).await;
    assert_eq!((r.status, r.body["error"]["details"]["expected"].as_str()), (422, Some("-381.94")), "{}", r.text);
}

#[tokio::test]
async fn tax_anomalies_are_flagged_not_refused_and_audited() {
    let app = setup().await;
    let lines = json!([
        {"product_code": "P-1", "tax_rate": "9"},
        {"description": "Service", "unit_price": "100", "tax_rate": "13", "tax": "13.50", "gross": "113.50"},
        {"description": "Rounding", "unit_price": "0.05", "tax_rate": "10", "tax": "0.00"}
    ]);
    let r = app.post("/api/v1/documents", &invoice("INV-F", "658.55", lines)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let flags = r.body["tax_flags"].as_array().unwrap();
    let kinds: Vec<(i64, &str)> =
        flags.iter().map(|f| (f["line_no"].as_i64().unwrap(), f["kind"].as_str().unwrap())).collect();
    assert_eq!(kinds, [(1, "rate_differs_from_product"), (2, "tax_amount_off")], "{}", r.text);
    assert!(flags[1]["message"].as_str().unwrap().contains("13.00 expected"), "{}", r.text);
    assert_eq!(r.body["lines"][1]["tax"], "13.50", "what was invoiced is kept");
    let id = r.body["id"].as_str().unwrap();
    let got = app.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(got.body["tax_flags"], r.body["tax_flags"]);
    let audit = app.get(&format!("/api/v1/audit?entity_type=document&entity_id={id}")).await;
    let created =
        audit.body["items"].as_array().unwrap().iter().find(|e| e["action"] == "document.created").unwrap().clone();
    assert_eq!(created["after"]["tax_flags"], r.body["tax_flags"], "{created}");
}

#[tokio::test]
async fn patch_replaces_lines_and_keeps_the_amount_honest() {
    let app = setup().await;
    let r = app
        .post("/api/v1/documents", &invoice("INV-P", "1130.00", json!([{"product_code": "P-1", "quantity": "2"}])))
        .await;
    let path = format!("/api/v1/documents/{}", r.body["id"].as_str().unwrap());
    let before = writes(&app);
    let r = app.patch_as(&app.api_key, &path, &json!({"amount": "1200.00"})).await;
    assert_eq!((r.status, r.body["error"]["details"]["expected"].as_str()), (422, Some("1130.00")), "{}", r.text);
    let r = app.patch_as(&app.api_key, &path, &json!({"currency": "USD", "amount": "1130.00"})).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("currency")), "{}", r.text);
    assert_eq!(writes(&app), before, "refused patches write nothing");
    let r = app
        .patch_as(
            &app.api_key,
            &path,
            &json!({"amount": "1695.00", "lines": [{"product_code": "P-1", "quantity": "3"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["lines"].as_array().unwrap().len(), r.body["lines"][0]["gross"].as_str()), (1, Some("1695.00")));
    let same = app.patch_as(&app.api_key, &path, &json!({"lines": [{"product_code": "P-1", "quantity": "3"}]})).await;
    assert_eq!(same.status, 200);
    assert_eq!(app.count("audit_trail WHERE action = 'document.updated'"), 1, "the same lines change nothing");
    let r = app.patch_as(&app.api_key, &path, &json!({"lines": []})).await;
    assert_eq!((r.status, r.body["lines"].clone()), (200, json!([])), "{}", r.text);
    let r = app.patch_as(&app.api_key, &path, &json!({"amount": "1.00"})).await;
    assert_eq!(r.status, 200, "without lines any amount goes: {}", r.text);
}

#[tokio::test]
async fn a_json_import_carries_lines_and_refuses_rows_whose_lines_do_not_add_up() {
    let app = setup().await;
    let rows = json!([
        invoice("IMP-1", "1130.00", json!([{"product_code": "P-1", "quantity": "2"}])),
        invoice("IMP-2", "99.00", json!([{"product_code": "P-1"}])),
        {"doc_type": "invoice", "doc_no": "IMP-3", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": "5.00"}
    ]);
    let r = app.post("/api/v1/documents/import", &rows).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["created"].as_u64(), r.body["rejected"][0]["row"].as_u64()), (Some(2), Some(2)), "{}", r.text);
    assert!(r.body["rejected"][0]["error"].as_str().unwrap().contains("lines' gross total 565.00"), "{}", r.text);
    assert_eq!(app.count("documents WHERE doc_no = 'IMP-2'"), 0);
    assert_eq!(app.count("document_lines"), 1);
    let again = app.post("/api/v1/documents/import", &json!([rows[0].clone()])).await;
    assert_eq!(
        (again.body["unchanged"].as_u64(), again.body["updated"].as_u64()),
        (Some(1), Some(0)),
        "{}",
        again.text
    );
    // The same header with other lines: the lines change, and the row counts as updated.
    let other = invoice(
        "IMP-1",
        "1130.00",
        json!([{"product_code": "P-1"}, {"product_code": "P-1", "description": "Second bracket"}]),
    );
    let r = app.post("/api/v1/documents/import", &json!([other])).await;
    assert_eq!((r.body["unchanged"].as_u64(), r.body["updated"].as_u64()), (Some(0), Some(1)), "{}", r.text);
    assert_eq!(app.count("document_lines"), 2);
    assert_eq!(app.count("audit_trail WHERE action = 'document.lines_replaced'"), 2);
    // A row without lines may change a document's dates, not the amount its lines add up to.
    let mut header_only = invoice("IMP-1", "1200.00", Value::Null);
    header_only.as_object_mut().unwrap().remove("lines");
    let r = app.post("/api/v1/documents/import", &json!([header_only])).await;
    assert!(r.body["rejected"][0]["error"].as_str().unwrap().contains("has lines"), "{}", r.text);
    assert_eq!(app.count("documents WHERE doc_no = 'IMP-1' AND amount = 1130"), 1);
    header_only["amount"] = json!("1130.00");
    header_only["due_date"] = json!("2026-04-30");
    let r = app.post("/api/v1/documents/import", &json!([header_only])).await;
    assert_eq!(r.body["updated"], 1, "{}", r.text);
    assert_eq!(app.count("document_lines"), 2, "the lines stay");
}

#[tokio::test]
async fn statements_of_account_show_lines_on_request() {
    let app = setup().await;
    let lines = json!([{"product_code": "P-1", "quantity": "2"}, {"description": "运费 freight", "unit": "trip", "unit_price": "30", "tax_rate": "9"}]);
    assert_eq!(app.post("/api/v1/documents", &invoice("INV-L", "1162.70", lines)).await.status, 201);
    app.create_invoice("C1", "INV-PLAIN", "50.00").await;
    let plain = app.get("/api/v1/customers/C1/statement-of-account").await;
    assert!(plain.body["currencies"][0]["lines"][0].get("lines").is_none(), "{}", plain.text);
    let with = app.get("/api/v1/customers/C1/statement-of-account?lines=true").await;
    let items = with.body["currencies"][0]["lines"].as_array().unwrap();
    let doc = items.iter().find(|l| l["reference"] == "INV-L").unwrap();
    assert_eq!(doc["lines"][1]["gross"], "32.70", "{}", with.text);
    assert!(items.iter().find(|l| l["reference"] == "INV-PLAIN").unwrap().get("lines").is_none());

    let pdf = app
        .client
        .get(format!("{}/api/v1/customers/C1/statement-of-account?format=pdf&lines=true", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = pdf_text(&pdf, None);
    assert!(text.contains("Steel bracket") && text.contains("net 1,000.00") && text.contains("运费 freight"), "{text}");
    if let Ok(dir) = std::env::var("DOCUMENT_LINES_PDF_DIR") {
        std::fs::write(format!("{dir}/statement-with-lines.pdf"), &pdf).unwrap();
    }
}

#[tokio::test]
async fn graphql_creates_and_reads_lines() {
    let app = setup().await;
    let q = r#"mutation($input: DocumentInput!) { createDocument(input: $input) { id amount lines { lineNo net tax gross } taxFlags { kind } } }"#;
    let input = json!({"docType": "INVOICE", "docNo": "GQ-1", "customerCode": "C1", "issueDate": "2026-03-01",
                       "currency": "EUR", "amount": "565.00", "lines": [{"productCode": "P-1"}]});
    let r = app.graphql_as(Some(&app.api_key), q, json!({"input": input})).await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
    let doc = &r.body["data"]["createDocument"];
    assert_eq!(doc["lines"][0], json!({"lineNo": 1, "net": "500.00", "tax": "65.00", "gross": "565.00"}));
    let q = r#"query($id: UUID!) { document(id: $id) { lines { description } } }"#;
    let r = app.graphql_as(Some(&app.api_key), q, json!({"id": doc["id"]})).await;
    assert_eq!(r.body["data"]["document"]["lines"][0]["description"], "Steel bracket", "{}", r.text);
}

/// Our invoices with lines at 13%, one without lines; their statement books our net on one,
/// our net at 9% on another, and our net on the one without lines (nothing guessed there).
#[tokio::test]
async fn their_net_or_another_rate_becomes_the_differences_explanation() {
    let app = setup().await;
    let line = json!([{"product_code": "P-1", "quantity": "2"}]);
    for no in ["T-1", "T-2"] {
        assert_eq!(app.post("/api/v1/documents", &invoice(no, "1130.00", line.clone())).await.status, 201);
    }
    app.create_invoice("C1", "T-3", "1130.00").await;
    let statement = json!({"lines": [
        {"their_ref": "AP1", "our_ref": "T-1", "date": "2026-03-02", "kind": "invoice", "amount": "1000.00", "currency": "EUR"},
        {"their_ref": "AP2", "our_ref": "T-2", "date": "2026-03-02", "kind": "invoice", "amount": "1090.00", "currency": "EUR"},
        {"their_ref": "AP3", "our_ref": "T-3", "date": "2026-03-02", "kind": "invoice", "amount": "1000.00", "currency": "EUR"}
    ]});
    let r = app.post("/api/v1/customers/C1/statements", &statement).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let explanation = |our: &str| -> String {
        let d = r.body["differences"].as_array().unwrap().iter().find(|d| d["our_ref"] == our).unwrap();
        assert_eq!(d["kind"], "amount_mismatch");
        d["explanation"].as_str().unwrap().to_string()
    };
    let t1 = explanation("T-1");
    assert!(
        t1.starts_with("they booked net 1,000.00 EUR for invoice T-1; we invoiced gross 1,130.00 EUR at 13% VAT"),
        "{t1}"
    );
    let t2 = explanation("T-2");
    assert!(
        t2.starts_with("they booked 1,090.00 EUR for invoice T-2, our net 1,000.00 EUR at 9% instead of our 13%"),
        "{t2}"
    );
    let t3 = explanation("T-3");
    assert!(!t3.contains("net") && t3.ends_with("130.00 EUR less"), "{t3}");
    assert_eq!(r.body["balances"][0]["unexplained"], "0.00");
}

#[tokio::test]
async fn an_invoice_carries_lines_and_an_instalment_plan_together() {
    let app = setup().await;
    let mut body = invoice("INV-BOTH", "1130.00", json!([{"product_code": "P-1", "quantity": "2"}]));
    body["instalments"] =
        json!([{"due_date": "2026-03-15", "percent": "50"}, {"due_date": "2026-03-31", "percent": "50"}]);
    let r = app.post("/api/v1/documents", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["lines"][0]["gross"].as_str(), r.body["instalments"].as_array().map(Vec::len)),
        (Some("1130.00"), Some(2))
    );
    let got = app.get(&format!("/api/v1/documents/{}", r.body["id"].as_str().unwrap())).await;
    assert_eq!(
        (got.body["lines"].clone(), got.body["instalments"].clone()),
        (r.body["lines"].clone(), r.body["instalments"].clone())
    );
}

/// A flat file writes a document with lines as consecutive rows repeating its header columns,
/// one line each: as CSV with the column names, and as a workbook with Chinese headers.
#[tokio::test]
async fn csv_and_workbook_rows_of_one_document_become_its_lines() {
    let app = setup().await;
    let csv = "doc_no,doc_type,customer_code,issue_date,currency,amount,line_product,line_description,line_quantity,line_unit_price,line_tax_rate\n\
        CSV-1,invoice,C1,2026-03-01,EUR,1200.00,P-1,,2,,13\n\
        CSV-1,invoice,C1,2026-03-01,EUR,1200.00,,Freight,1,70.00,0\n\
        CSV-2,invoice,C1,2026-03-01,EUR,50.00,,,,,\n\
        CSV-3,invoice,C1,2026-03-01,EUR,999.00,,Lamp,2,10.00,0\n";
    let r = app.post_csv("/api/v1/documents/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 2, "{}", r.text);
    assert_eq!(r.body["rejected"][0]["row"], 4, "the lamp invoice does not add up: {}", r.text);
    assert!(r.body["rejected"][0]["error"].as_str().unwrap().contains("20.00"), "{}", r.text);
    assert_eq!(app.count("document_lines"), 2, "two lines of CSV-1, none of CSV-2 or CSV-3");
    assert_eq!(app.count("documents WHERE doc_no = 'CSV-3'"), 0);

    let xlsx = {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let rows = [
            ["单据编号", "单据类型", "客户编号", "开票日期", "币种", "金额", "商品名称", "数量", "单价", "税率"],
            ["X-1", "invoice", "C1", "2026-03-02", "EUR", "1,130.00", "Chair", "10", "100", "13"],
            ["X-1", "invoice", "C1", "2026-03-02", "EUR", "1,130.00", "Desk", "1", "0", "13"],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    };
    let r = app
        .send("POST", "/api/v1/documents/import", Some(&app.api_key), Some((crate::templates::XLSX, xlsx)), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 1, "{}", r.text);
    assert_eq!(app.count("document_lines"), 4);
    let id: Value = app.get("/api/v1/documents?customer=C1&limit=50").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["doc_no"] == "X-1")
        .map(|d| d["id"].clone())
        .unwrap();
    let doc = app.get(&format!("/api/v1/documents/{}", id.as_str().unwrap())).await;
    let lines = doc.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{}", doc.text);
    assert_eq!((lines[0]["gross"].as_str(), lines[1]["description"].as_str()), (Some("1130.00"), Some("Desk")));
}

/// A product whose rate changed by law keeps its dated rates: a line is checked against the rate
/// valid on its document's issue date.
#[tokio::test]
async fn a_rate_not_valid_on_the_documents_date_is_flagged() {
    let app = setup().await;
    let history = json!([{"valid_from": "2019-04-01", "rate": "13"}, {"valid_from": "2018-05-01", "rate": "16%"}]);
    let r = app.patch_as(&app.api_key, "/api/v1/products/P-1", &json!({"tax_rate_history": history})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["tax_rate_history"],
        json!([{"valid_from": "2018-05-01", "rate": "16"}, {"valid_from": "2019-04-01", "rate": "13"}])
    );
    let bad = json!({"tax_rate_history": [{"valid_from": "2020-01-01", "rate": "130"}]});
    let r = app.patch_as(&app.api_key, "/api/v1/products/P-1", &bad).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("tax_rate_history")), "{}", r.text);

    let dated = |doc_no: &str, date: &str, rate: &str, amount: &str| {
        let mut doc = invoice(doc_no, amount, json!([{"product_code": "P-1", "tax_rate": rate}]));
        doc["issue_date"] = json!(date);
        doc["due_date"] = json!(date);
        doc
    };
    // 2018-06-01: 16% was the rate; the product's current 13% was not.
    let r = app.post("/api/v1/documents", &dated("OLD-13", "2018-06-01", "13", "565.00")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["tax_flags"][0]["kind"], "rate_not_valid_on_date", "{}", r.text);
    assert!(r.body["tax_flags"][0]["message"].as_str().unwrap().contains("16% from 2018-05-01"), "{}", r.text);
    let r = app.post("/api/v1/documents", &dated("OLD-16", "2018-06-01", "16", "580.00")).await;
    assert_eq!(r.body["tax_flags"], json!([]), "{}", r.text);
    let r = app.post("/api/v1/documents", &dated("NEW-13", "2026-03-01", "13", "565.00")).await;
    assert_eq!(r.body["tax_flags"], json!([]), "{}", r.text);
    // Before the first dated rate nothing is known, so nothing is flagged.
    let r = app.post("/api/v1/documents", &dated("ANCIENT", "2015-01-05", "17", "585.00")).await;
    assert_eq!(r.body["tax_flags"], json!([]), "{}", r.text);
}
