//! Customers' statements as customers send them, over HTTP: their own layout saved per customer
//! (GBK, debit/credit columns of their books, their document type words, their dates), a layout
//! detected without a mapping, our numbers found in their own references and texts, groups, one
//! difference per cause, and the same reading on the portal and signed-push paths.

use crate::helpers::{sign, spawn_app, TestApp};
use serde_json::{json, Value};

async fn doc(app: &TestApp, customer: &str, doc_type: &str, doc_no: &str, date: &str, amount: &str, reference: &str) {
    let mut body = json!({"doc_type": doc_type, "doc_no": doc_no, "customer_code": customer, "issue_date": date,
                          "currency": "CNY", "amount": amount});
    if !reference.is_empty() {
        body["external_reference"] = json!(reference);
    }
    let r = app.post("/api/v1/documents", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Our books for a Chinese customer: five invoices (one with their purchase order recorded) and
/// the receipt of their payment, split per invoice as our ERP books it.
async fn books(app: &TestApp, code: &str) {
    let r = app
        .post("/api/v1/customers", &json!({"code": code, "name": "上海宏达贸易有限公司", "default_currency": "CNY"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    doc(app, code, "invoice", "INV-2026-0000155", "2026-03-01", "1234.50", "").await;
    doc(app, code, "invoice", "INV-2026-0000156", "2026-03-02", "2000.00", "").await;
    doc(app, code, "invoice", "INV-2026-0000157", "2026-03-03", "300.00", "PO-4500012345").await;
    doc(app, code, "invoice", "INV-2026-0000158", "2026-03-04", "800.00", "").await;
    doc(app, code, "invoice", "INV-2026-0000159", "2026-03-05", "450.00", "").await;
    doc(app, code, "payment", "PAY-2026-0000001", "2026-03-28", "2000.00", "PMT7654321").await;
    doc(app, code, "payment", "PAY-2026-0000002", "2026-03-28", "300.00", "PMT7654321").await;
}

/// Their payables ledger in GBK: a title row, debit/credit columns (our invoices are credits),
/// their words, our numbers their way, one payment for two invoices, a total row.
/// Planted: INV-155 booked with two digits transposed, INV-156 booked twice, INV-159 not booked.
fn their_ledger() -> Vec<u8> {
    let text = "应付账款明细账 2026年3月\n\
                日期,凭证号,摘要,发票号,单据类型,借方金额,贷方金额,币种\n\
                2026年03月02日,记-0012,采购 发票 155,,发票,,\"1,243.50\",CNY\n\
                2026年03月03日,记-0013,货款,INV-2026-0000156,增值税专用发票,,\"2,000.00\",CNY\n\
                2026年03月04日,记-0014,订单 4500012345,,发票,,300.00,CNY\n\
                2026年03月05日,记-0015,材料 INV2026158,,专票,,800.00,CNY\n\
                2026年03月05日,记-0013,货款,INV-2026-0000156,增值税专用发票,,\"2,000.00\",CNY\n\
                2026年03月27日,PMT-7654321,付款 INV-2026-0000156 INV-2026-0000157,,付款,\"2,300.00\",,CNY\n\
                ,,合计,,,\"2,300.00\",\"6,343.50\",\n";
    encoding_rs::GBK.encode(text).0.into_owned()
}

fn mapping() -> Value {
    json!({
        "encoding": "gbk", "date": "日期", "their_ref": "凭证号", "our_ref": "发票号", "text": ["摘要"],
        "doc_type": "单据类型", "currency": "币种", "date_formats": ["%Y年%m月%d日"],
        "amount": {"convention": "debit_credit", "debit": "借方金额", "credit": "贷方金额", "invoices": "credit"},
        "doc_types": {"专票": "invoice"}
    })
}

fn kinds(statement: &Value) -> Vec<String> {
    let mut k: Vec<String> =
        statement["differences"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap().to_string()).collect();
    k.sort();
    k
}

fn check_ledger_statement(r: &Value) {
    assert_eq!(kinds(r), ["amount_mismatch", "duplicate_on_customer_side", "missing_on_customer_side"], "{r}");
    let find = |kind: &str| r["differences"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap().clone();
    let mismatch = find("amount_mismatch");
    assert_eq!(
        (mismatch["our_ref"].as_str(), mismatch["their_ref"].as_str()),
        (Some("INV-2026-0000155"), Some("记-0012"))
    );
    let why = mismatch["explanation"].as_str().unwrap();
    assert!(why.contains("digits transposed") && why.contains("running number only"), "{why}");
    assert_eq!(find("duplicate_on_customer_side")["our_ref"], "INV-2026-0000156");
    assert_eq!(find("missing_on_customer_side")["our_ref"], "INV-2026-0000159");
    let cny = &r["balances"][0];
    // Ours 4,784.50 - 2,300 = 2,484.50; theirs 6,343.50 - 2,300 = 4,043.50.
    assert_eq!((cny["ours"].as_str(), cny["theirs"].as_str()), (Some("2484.50"), Some("4043.50")), "{r}");
    assert_eq!(cny["unexplained"], "0.00");
    assert_eq!(r["matched_count"], 5);
}

#[tokio::test]
async fn a_gbk_ledger_is_read_with_the_customers_saved_mapping() {
    let app = spawn_app().await;
    books(&app, "L1").await;
    let none = app.get("/api/v1/customers/L1/statement-mapping").await;
    assert_eq!((none.status, &none.body["mapping"]), (200, &Value::Null), "{}", none.text);
    let saved = app
        .send(
            "PUT",
            "/api/v1/customers/L1/statement-mapping",
            Some(&app.api_key),
            Some(("application/json", mapping().to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["mapping"]["amount"]["convention"], "debit_credit");
    assert_eq!(app.count("audit_trail WHERE action = 'statement_mapping.saved'"), 1);

    let r = app
        .send("POST", "/api/v1/customers/L1/statements", Some(&app.api_key), Some(("text/csv", their_ledger())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    check_ledger_statement(&r.body);
    let notes = r.body["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("total or balance row")), "{notes:?}");

    // Line by line: what each was paired with and why; the fuzzy ones say so.
    let lines = app.get(&format!("/api/v1/statements/{}/lines", r.body["id"].as_str().unwrap())).await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    let items = lines.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!((items[0]["line_no"].as_i64(), items[0]["text"].as_str()), (Some(3), Some("采购 发票 155")));
    assert_eq!(items[0]["match_rule"], "fuzzy_reference");
    assert!(items[0]["match_explanation"].as_str().unwrap().contains("running number only"), "{}", lines.text);
    assert_eq!(items[2]["match_rule"], "their_reference");
    assert_eq!(items[3]["match_rule"], "quoted_reference");
    assert_eq!(items[4]["matched_ref"], Value::Null);
    assert_eq!(items[5]["match_rule"], "group_by_reference");
    assert_eq!(items[5]["matched_ref"], "PAY-2026-0000001 + PAY-2026-0000002");
    let page = app.get(&format!("/api/v1/statements/{}/lines?limit=4", r.body["id"].as_str().unwrap())).await;
    let next = page.body["next_cursor"].as_str().unwrap().to_string();
    let rest = app.get(&format!("/api/v1/statements/{}/lines?cursor={next}", r.body["id"].as_str().unwrap())).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2, "{}", rest.text);
}

#[tokio::test]
async fn the_portal_and_signed_pushes_read_the_same_layout() {
    let app = spawn_app().await;
    books(&app, "L2").await;
    let body = mapping().to_string().into_bytes();
    let r = app
        .send(
            "PUT",
            "/api/v1/customers/L2/statement-mapping",
            Some(&app.api_key),
            Some(("application/json", body)),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token =
        app.post("/api/v1/customers/L2/portal-tokens", &json!({})).await.body["token"].as_str().unwrap().to_string();
    let r = app.send("POST", "/api/v1/portal/statements", Some(&token), Some(("text/csv", their_ledger())), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["source"], "portal");
    check_ledger_statement(&r.body);
    // A portal token does not reach the tenant's side of the mapping.
    let own = app.get_as(&token, "/api/v1/customers/L2/statement-mapping").await;
    assert_eq!(own.status, 403, "the tenant API stays closed to a portal token: {}", own.text);

    let secret =
        app.post("/api/v1/customers/L2/inbound-secret", &json!({})).await.body["secret"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();
    let body = their_ledger();
    let pushed = app
        .send(
            "POST",
            &format!("/api/v1/inbound/{}/customers/L2/statements", app.tenant_id),
            None,
            Some(("text/csv", body.clone())),
            &[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", &now.to_string()),
                ("webhook-signature", &sign(&secret, "msg_1", now, &body)),
            ],
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    assert_eq!(pushed.body["source"], "inbound");
    // The same differences, still being worked on: carried over, not opened twice.
    check_ledger_statement(&pushed.body);
    assert_eq!(app.count("differences"), 3);
}

#[tokio::test]
async fn without_a_mapping_the_layout_is_detected_from_the_header() {
    let app = spawn_app().await;
    books(&app, "L4").await;
    // A German export: semicolons, decimal commas, Soll/Haben of their books, their words; the
    // currency comes from the customer.
    let csv = "Belegdatum;Belegnr.;Buchungstext;Belegart;Soll;Haben\n\
               02.03.2026;ER-1;Rechnung INV-2026-0000155;Eingangsrechnung;;1.234,50\n\
               03.03.2026;ER-2;RE 2026/0000156;Rechnung;;2.000,00\n\
               04.03.2026;ER-3;Bestellung 4500012345;Rechnung;;300,00\n\
               05.03.2026;ER-4;INV-2026-0000158;Rechnung;;800,00\n\
               06.03.2026;ER-5;INV-2026-0000159;Rechnung;;450,00\n\
               28.03.2026;ZA-1;PMT7654321;Zahlung;2.300,00;\n";
    let r = app
        .send(
            "POST",
            "/api/v1/customers/L4/statements",
            Some(&app.api_key),
            Some(("text/csv", csv.as_bytes().to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(kinds(&r.body), Vec::<String>::new(), "{}", r.text);
    assert_eq!(r.body["balances"][0]["unexplained"], "0.00");
    let notes: Vec<&str> = r.body["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("layout detected")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("credit side")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("decimal comma")), "{notes:?}");

    // Signed amounts without document types: the reading that pairs with our books is kept.
    let signed = "Posting Date,Document No,Description,Amount,Currency\n\
                  2026-03-02,V-1,INV-2026-0000155,-1234.50,CNY\n\
                  2026-03-03,V-2,INV-2026-0000156,-2000.00,CNY\n\
                  2026-03-28,P-1,PMT7654321,2300.00,CNY\n";
    let r = app
        .send(
            "POST",
            "/api/v1/customers/L4/statements",
            Some(&app.api_key),
            Some(("text/csv", signed.as_bytes().to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        kinds(&r.body),
        ["missing_on_customer_side", "missing_on_customer_side", "missing_on_customer_side"],
        "{}",
        r.text
    );
    let notes = r.body["notes"].to_string();
    assert!(notes.contains("invoices read on the credit side: 3 of 3 lines"), "{notes}");
}

/// The German statement of the test above as its accountant keeps it in Excel: a merged title,
/// dates as date cells, amounts as numbers (one typed in as text), a notes sheet in front. Read
/// as the CSV its rows make: the same comparison, and the answer names the sheet.
#[tokio::test]
async fn a_statement_saved_as_xlsx_is_compared_like_its_csv() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let app = spawn_app().await;
    books(&app, "L6").await;
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Hinweise").unwrap().write_string(0, 0, "Kontoauszug Debitor 4711").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Konto").unwrap();
    sheet.merge_range(0, 0, 0, 5, "Kreditorenkonto Shanghai Hongda, März 2026", &Format::new()).unwrap();
    for (col, name) in ["Belegdatum", "Belegnr.", "Buchungstext", "Belegart", "Soll", "Haben"].iter().enumerate() {
        sheet.write_string(1, col as u16, *name).unwrap();
    }
    let date = Format::new().set_num_format("dd.mm.yyyy");
    // Day of March, document no, text, type, debit (Soll), credit (Haben).
    type Row<'a> = (u8, &'a str, &'a str, &'a str, Option<f64>, Option<f64>);
    let rows: [Row; 6] = [
        (2, "ER-1", "Rechnung INV-2026-0000155", "Eingangsrechnung", None, Some(1234.5)),
        (3, "ER-2", "RE 2026/0000156", "Rechnung", None, Some(2000.0)),
        (4, "ER-3", "Bestellung 4500012345", "Rechnung", None, Some(300.0)),
        (5, "ER-4", "INV-2026-0000158", "Rechnung", None, None),
        (6, "ER-5", "INV-2026-0000159", "Rechnung", None, Some(450.0)),
        (28, "ZA-1", "PMT7654321", "Zahlung", Some(2300.0), None),
    ];
    for (i, (day, no, text, kind, debit, credit)) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        sheet.write_datetime_with_format(row, 0, ExcelDateTime::from_ymd(2026, 3, *day).unwrap(), &date).unwrap();
        sheet.write_string(row, 1, *no).unwrap();
        sheet.write_string(row, 2, *text).unwrap();
        sheet.write_string(row, 3, *kind).unwrap();
        if let Some(d) = debit {
            sheet.write_number(row, 4, *d).unwrap();
        }
        if let Some(c) = credit {
            sheet.write_number(row, 5, *c).unwrap();
        }
    }
    // A number stored as text, as pasted from another program.
    sheet.write_string(5, 5, "800.00").unwrap();
    let xlsx = book.save_to_buffer().unwrap();
    let r = app
        .send(
            "POST",
            "/api/v1/customers/L6/statements",
            Some(&app.api_key),
            Some(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx)),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(kinds(&r.body), Vec::<String>::new(), "{}", r.text);
    assert_eq!(r.body["balances"][0]["unexplained"], "0.00", "{}", r.text);
    let notes = r.body["notes"].to_string();
    assert!(notes.contains("read from the spreadsheet's sheet \\\"Konto\\\""), "{notes}");
    assert!(notes.contains("not read: \\\"Hinweise\\\" (1 cells)"), "{notes}");

    let xls = app
        .send(
            "POST",
            "/api/v1/customers/L6/statements",
            Some(&app.api_key),
            Some(("text/csv", vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0])),
            &[],
        )
        .await;
    assert_eq!(xls.status, 422, "{}", xls.text);
    assert!(xls.text.contains("save it as .xlsx"), "{}", xls.text);
}

#[tokio::test]
async fn bad_mappings_and_unreadable_files_are_refused_precisely_and_write_nothing() {
    let app = spawn_app().await;
    books(&app, "L5").await;
    let put = |body: Value| {
        let app = &app;
        async move {
            app.send(
                "PUT",
                "/api/v1/customers/L5/statement-mapping",
                Some(&app.api_key),
                Some(("application/json", body.to_string().into_bytes())),
                &[],
            )
            .await
        }
    };
    let unknown = put(json!({"colums": {}})).await;
    assert_eq!((unknown.status, unknown.error_code()), (422, "validation_failed"), "{}", unknown.text);
    let separator = put(json!({"decimal_separator": ";"})).await;
    assert_eq!(separator.status, 422, "{}", separator.text);
    assert!(separator.text.contains("decimal_separator"), "{}", separator.text);
    let half = put(json!({"date": "日期"})).await;
    assert!(half.status == 422 && half.text.contains("date and amount"), "{}", half.text);
    let word = put(json!({"doc_types": {"KR": "bill"}})).await;
    assert_eq!(word.status, 422, "{}", word.text);
    let nobody = app
        .send(
            "PUT",
            "/api/v1/customers/NOPE/statement-mapping",
            Some(&app.api_key),
            Some(("application/json", b"{}".to_vec())),
            &[],
        )
        .await;
    assert_eq!(nobody.status, 404, "{}", nobody.text);
    assert_eq!(app.count("customer_statement_mappings"), 0);

    // A line that cannot be read refuses the file, naming the file's line.
    let csv =
        "Datum;Belegnr.;Belegart;Betrag;Währung\n01.03.2026;X1;Rechnung;-10,00;EUR\n02.03.2026;X2;Rechnung;zehn;EUR\n";
    let r = app
        .send(
            "POST",
            "/api/v1/customers/L5/statements",
            Some(&app.api_key),
            Some(("text/csv", csv.as_bytes().to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["lines"][0]["line"], 3, "{}", r.text);
    let garbage = app
        .send(
            "POST",
            "/api/v1/customers/L5/statements",
            Some(&app.api_key),
            Some(("text/csv", vec![0xff, 0xfe, 0x00, 0x81])),
            &[],
        )
        .await;
    assert_eq!(garbage.status, 422, "{}", garbage.text);
    assert_eq!(app.count("customer_statements"), 0);

    // Saved, then removed: files are detected again.
    assert_eq!(put(mapping()).await.status, 200);
    let gone = app.send("DELETE", "/api/v1/customers/L5/statement-mapping", Some(&app.api_key), None, &[]).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let again = app.send("DELETE", "/api/v1/customers/L5/statement-mapping", Some(&app.api_key), None, &[]).await;
    assert_eq!(again.status, 404, "{}", again.text);
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "viewer", "role": "viewer"})).await;
    let key = viewer.body["api_key"].as_str().unwrap();
    let denied = app
        .send(
            "PUT",
            "/api/v1/customers/L5/statement-mapping",
            Some(key),
            Some(("application/json", b"{}".to_vec())),
            &[],
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
}

/// JSON in our own shape may leave the kind to the amount's sign and carry their text.
#[tokio::test]
async fn json_lines_may_carry_text_and_signed_amounts_without_a_kind() {
    let app = spawn_app().await;
    books(&app, "L6").await;
    let r = app
        .post(
            "/api/v1/customers/L6/statements",
            &json!({"lines": [
                {"their_ref": "A1", "text": "Rechnung INV2026155", "date": "2026-03-02", "amount": "1234.50", "currency": "CNY"},
                {"their_ref": "A2", "text": "Rechnung INV2026156", "date": "2026-03-02", "amount": "2000.00", "currency": "CNY"},
                {"their_ref": "A3", "text": "Bestellung 4500012345", "date": "2026-03-02", "amount": "300.00", "currency": "CNY"},
                {"their_ref": "A4", "our_ref": "INV-2026-0000158", "date": "2026-03-02", "kind": "invoice", "amount": "800.00", "currency": "CNY"},
                {"their_ref": "A5", "text": "INV-2026-0000159", "date": "2026-03-02", "amount": "450.00", "currency": "CNY"},
                {"their_ref": "pmt 7654321", "date": "2026-03-28", "amount": "-2300.00", "currency": "CNY"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(kinds(&r.body), Vec::<String>::new(), "{}", r.text);
    assert_eq!(r.body["matched_count"], 6);
    let zero = app
        .post(
            "/api/v1/customers/L6/statements",
            &json!({"lines": [{"their_ref": "Z", "date": "2026-03-02", "amount": "0.00", "currency": "CNY"}]}),
        )
        .await;
    assert_eq!(zero.status, 422, "{}", zero.text);
}

/// PostgreSQL text cannot hold U+0000: such a line or mapping is refused, not a 500.
#[tokio::test]
async fn control_characters_are_refused_not_stored() {
    let app = spawn_app().await;
    books(&app, "L7").await;
    let csv = "date,their_ref,text,kind,amount,currency\n2026-03-02,A\u{0}1,x,invoice,1234.50,CNY\n";
    let r = app.post_csv("/api/v1/customers/L7/statements", csv).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let body = json!({"date": "日\u{0}期", "amount": {"convention": "signed", "amount": "x"}}).to_string().into_bytes();
    let r = app
        .send(
            "PUT",
            "/api/v1/customers/L7/statement-mapping",
            Some(&app.api_key),
            Some(("application/json", body)),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.count("customer_statements") + app.count("customer_statement_mappings"), 0);
}
