//! Spreadsheet formulas never pass through a CSV the service writes: a customer's name, document
//! numbers, bank line ids and the references a customer types into the portal come out with a
//! leading `'` when they start with `=`, `+`, `-`, `@`, a tab or a carriage return, while the
//! amount columns stay plain (negative) numbers. Every CSV export is checked.

use crate::helpers::{spawn_app, TestApp};
use serde_json::json;
use std::time::{Duration, Instant};

const NAME: &str = "=HYPERLINK(\"http://x\",\"click\")";
const DOC_CALC: &str = "=cmd|' /C calc'!A0";
const DOC_SUM: &str = "+SUM(1,2)";
const DOC_AT: &str = "@SUM(A1)";
const THEIR_REF: &str = "=HYPERLINK(\"http://evil.example\",\"pay here\")";
const THEIR_REF_MINUS: &str = "-1+1";
const LINE_ID: &str = "@1+1";

/// Reads a CSV answer: every cell must be safe to open in a spreadsheet. Returns the rows.
fn safe_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    assert!(rows.len() > 1, "no data rows: {text}");
    for cell in rows.iter().flatten() {
        let first = cell.trim_start_matches(' ').chars().next();
        let formula = matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r'));
        let number = cell.parse::<rust_decimal::Decimal>().is_ok() && !cell.starts_with('+');
        assert!(!formula || number, "a formula cell {cell:?} in:\n{text}");
    }
    rows
}

fn column(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let index = rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}: {:?}", rows[0]));
    rows[1..].iter().map(|r| r[index].clone()).collect()
}

async fn csv_of(app: &TestApp, key: &str, path: &str, accept: Option<&str>) -> String {
    let mut req = app.client.get(format!("{}{path}", app.address)).bearer_auth(key);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    assert!(content_type.starts_with("text/csv"), "{path}: {content_type}");
    text
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let r = app.post("/api/v1/customers", &json!({"code": "C1", "name": NAME, "default_currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    for (doc_type, doc_no, amount) in
        [("invoice", DOC_CALC, "100.00"), ("invoice", DOC_SUM, "50.00"), ("credit_note", DOC_AT, "400.00")]
    {
        let r = app
            .post(
                "/api/v1/documents",
                &json!({"doc_type": doc_type, "doc_no": doc_no, "customer_code": "C1", "issue_date": "2026-03-01",
                        "due_date": "2026-03-31", "currency": "EUR", "amount": amount}),
            )
            .await;
        assert_eq!(r.status, 201, "{doc_no}: {}", r.text);
    }
    let r = app.post("/api/v1/customers/C1/portal-tokens", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (app, r.body["token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn statements_of_account_and_aging_neutralise_formulas_and_keep_numbers() {
    let (app, portal) = setup().await;
    let tenant = csv_of(&app, &app.api_key, "/api/v1/customers/C1/statement-of-account?format=csv", None).await;
    let through_portal = csv_of(&app, &portal, "/api/v1/portal/statement-of-account?format=csv", None).await;
    for text in [&tenant, &through_portal] {
        let rows = safe_rows(text);
        let references = column(&rows, "reference");
        for planted in [DOC_CALC, DOC_SUM, DOC_AT] {
            assert!(references.contains(&format!("'{planted}")), "{planted} neutralised in:\n{text}");
        }
        // 100 + 50 - 400: the running balance ends negative and stays a number.
        let balances = column(&rows, "balance");
        assert_eq!(balances.last().unwrap(), "-250.00", "{text}");
    }
    let aging = csv_of(&app, &app.api_key, "/api/v1/reports/aging?as_of=2026-04-30&format=csv", None).await;
    let rows = safe_rows(&aging);
    assert!(column(&rows, "customer_name").contains(&format!("'{NAME}")), "{aging}");
    assert!(column(&rows, "total").iter().any(|t| t == "-250.00"), "{aging}");
}

#[tokio::test]
async fn references_typed_into_the_portal_come_out_neutralised_in_the_differences_csv() {
    let (app, portal) = setup().await;
    let statement = format!(
        "their_ref,our_ref,date,kind,amount,currency\n\"{}\",,2026-03-01,invoice,75.00,EUR\n{THEIR_REF_MINUS},,2026-03-02,adjustment,-5.00,EUR\n",
        THEIR_REF.replace('"', "\"\"")
    );
    let r = app
        .send("POST", "/api/v1/portal/statements", Some(&portal), Some(("text/csv", statement.into_bytes())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let text = csv_of(&app, &app.api_key, "/api/v1/differences", Some("text/csv")).await;
    let rows = safe_rows(&text);
    let their_refs = column(&rows, "their_ref");
    assert!(their_refs.contains(&format!("'{THEIR_REF}")), "{text}");
    assert!(their_refs.contains(&format!("'{THEIR_REF_MINUS}")), "{text}");
    let our_refs = column(&rows, "our_ref");
    assert!(our_refs.contains(&format!("'{DOC_CALC}")), "{text}");
    assert!(column(&rows, "their_amount").iter().any(|a| a == "-5.00"), "negative amounts stay numbers: {text}");
}

#[tokio::test]
async fn bank_line_ids_and_document_numbers_come_out_neutralised_in_the_allocations_csv() {
    let (app, _) = setup().await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = format!(
        "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
         \"{LINE_ID}\",DE89370400440532013000,2026-04-01,,100.00,EUR,\"{}\",,\"{}\",\n",
        NAME.replace('"', "\"\""),
        DOC_CALC
    );
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.into_bytes())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let run = app.post("/api/v1/reconciliations", &json!({})).await;
    assert_eq!(run.status, 202, "{}", run.text);
    let run_id = run.body["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get(&format!("/api/v1/reconciliations/{run_id}")).await.body["status"] != "completed" {
        assert!(Instant::now() < deadline, "the reconciliation did not complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text =
        csv_of(&app, &app.api_key, &format!("/api/v1/allocations?reconciliation_id={run_id}"), Some("text/csv")).await;
    let rows = safe_rows(&text);
    assert_eq!(column(&rows, "line_id"), [format!("'{LINE_ID}")], "{text}");
    assert_eq!(column(&rows, "doc_no"), [format!("'{DOC_CALC}")], "{text}");
    assert_eq!(column(&rows, "amount"), ["100.00"], "{text}");
}
