//! Reports on known data with hand-computed figures: aging buckets (edges, partial payments,
//! credit notes, foreign currency, as of an earlier date), DSO, overdue ranking, isolation.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

async fn setup(app: &TestApp) {
    for code in ["R1", "R2"] {
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": format!("Customer {code}")})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // As of 2026-06-30, by due date: A due today (current), B 30 days (1-30), C 31 days (31-60),
    // D 121 days (90+, 50 of 200 paid on 2026-06-10), credit note aged by issue date (15 days),
    // E issued after the date (absent), U in USD 61 days (61-90).
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-A,invoice,R1,2026-06-01,2026-06-30,EUR,1000.00,\n\
        INV-B,invoice,R1,2026-05-01,2026-05-31,EUR,500.00,\n\
        INV-C,invoice,R1,2026-04-30,2026-05-30,EUR,300.00,\n\
        INV-D,invoice,R1,2026-02-01,2026-03-01,EUR,200.00,\n\
        CN-1,credit_note,R1,2026-06-15,,EUR,100.00,\n\
        INV-E,invoice,R1,2026-07-05,2026-08-04,EUR,400.00,\n\
        INV-U,invoice,R2,2026-04-01,2026-04-30,USD,1000.00,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 7, "{}", r.text);
    let r = app
        .post(
            "/api/v1/fx-rates",
            &json!([{"from_currency": "USD", "to_currency": "EUR", "rate": "0.9", "valid_on": "2026-01-01"}]),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-06-10,,50.00,EUR,CUSTOMER R1,,part of INV-D,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = app.get("/api/v1/bank-lines").await.body["items"][0]["id"].as_str().unwrap().to_string();
    let doc = app.get("/api/v1/documents?q=INV-D").await.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/allocations",
            &json!({"bank_line_id": line, "allocations": [{"document_id": doc, "amount": "50.00"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn row<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer_code"] == code)
        .unwrap_or_else(|| panic!("{code} in {report}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect()
}

#[tokio::test]
async fn aging_buckets_as_of_any_date() {
    let app = spawn_app().await;
    setup(&app).await;
    let r = app.get("/api/v1/reports/aging?as_of=2026-06-30").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let labels: Vec<&str> =
        r.body["buckets"].as_array().unwrap().iter().map(|b| b["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["current", "1-30", "31-60", "61-90", "90+"]);
    let r1 = row(&r.body, "R1");
    assert_eq!(strings(&r1["buckets"]), ["1000.00", "400.00", "300.00", "0.00", "150.00"], "{}", r.text);
    assert_eq!((r1["total"].as_str(), r1["overdue"].as_str()), (Some("1850.00"), Some("850.00")));
    assert_eq!(strings(&row(&r.body, "R2")["buckets"]), ["0.00", "0.00", "0.00", "1000.00", "0.00"]);
    assert_eq!(r.body["base_currency"], "EUR");
    assert_eq!(strings(&r.body["base_total"]["buckets"]), ["1000.00", "400.00", "300.00", "900.00", "150.00"]);
    assert_eq!(r.body["base_total"]["total"], "2750.00");

    // Reproducible from history: before the payment and the credit note.
    let earlier = app.get("/api/v1/reports/aging?as_of=2026-06-01").await;
    assert_eq!(
        strings(&row(&earlier.body, "R1")["buckets"]),
        ["1000.00", "800.00", "0.00", "0.00", "200.00"],
        "{}",
        earlier.text
    );

    // Other buckets, the issue-date basis, one customer, CSV.
    let custom = app.get("/api/v1/reports/aging?as_of=2026-06-30&buckets=30&customer=R1").await;
    assert_eq!(custom.body["rows"].as_array().unwrap().len(), 1);
    assert_eq!(strings(&row(&custom.body, "R1")["buckets"]), ["1000.00", "400.00", "450.00"], "{}", custom.text);
    let by_issue = app.get("/api/v1/reports/aging?as_of=2026-06-30&basis=issue_date&customer=R1").await;
    // A 29 days, B 60, C 61, D 149, CN 15.
    assert_eq!(
        strings(&row(&by_issue.body, "R1")["buckets"]),
        ["0.00", "900.00", "500.00", "300.00", "150.00"],
        "{}",
        by_issue.text
    );
    let csv = app
        .send("GET", "/api/v1/reports/aging?as_of=2026-06-30", Some(&app.api_key), None, &[("accept", "text/csv")])
        .await;
    assert!(
        csv.text.starts_with("customer_code,customer_name,currency,current,1-30,31-60,61-90,90+,total,overdue\n"),
        "{}",
        csv.text
    );
    assert!(csv.text.contains("R1,Customer R1,EUR,1000.00,400.00,300.00,0.00,150.00,1850.00,850.00\n"), "{}", csv.text);
    assert!(csv.text.contains("TOTAL,,USD,0.00,0.00,0.00,1000.00,0.00,1000.00,1000.00"), "{}", csv.text);

    for bad in ["buckets=60,30", "buckets=x", "basis=sideways", "format=pdf", "customer=NOPE", "as_of=2026-13-01"] {
        let r = app.get(&format!("/api/v1/reports/aging?{bad}")).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
    }
    // Another tenant sees none of it; GraphQL answers the same figures.
    let (_, other) = app.create_tenant("Other");
    let r = app.get_as(&other, "/api/v1/reports/aging?as_of=2026-06-30").await;
    assert_eq!(r.body["rows"].as_array().unwrap().len(), 0, "{}", r.text);
    let g = app
        .graphql_as(
            Some(&app.api_key),
            "{ agingReport(asOf: \"2026-06-30\", customer: \"R1\") { rows { buckets total } baseTotal { total } } }",
            json!({}),
        )
        .await;
    assert_eq!(g.body["data"]["agingReport"]["rows"][0]["total"], "1850.00", "{}", g.text);
}

#[tokio::test]
async fn collections_dso_and_overdue_ranking() {
    let app = spawn_app().await;
    setup(&app).await;
    let r = app.get("/api/v1/reports/collections?as_of=2026-06-30&days=90").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r1 = r.body["customers"].as_array().unwrap().iter().find(|c| c["customer_code"] == "R1").unwrap();
    // Receivables 1,850; sales in the window (A, B, C) 1,800; DSO 1,850 / 1,800 x 90 = 92.5.
    assert_eq!(
        (
            r1["receivables"].as_str(),
            r1["overdue"].as_str(),
            r1["sales"].as_str(),
            r1["collected"].as_str(),
            r1["dso_days"].as_str()
        ),
        (Some("1850.00"), Some("850.00"), Some("1800.00"), Some("50.00"), Some("92.5")),
        "{}",
        r.text
    );
    // INV-U (2026-04-01) falls just outside the 90 days ending 2026-06-30: no sales, no DSO.
    let usd = r.body["totals"].as_array().unwrap().iter().find(|t| t["currency"] == "USD").unwrap();
    assert_eq!(usd["dso_days"], Value::Null, "{}", r.text);
    let wider = app.get("/api/v1/reports/collections?as_of=2026-06-30&days=120").await;
    let usd = wider.body["totals"].as_array().unwrap().iter().find(|t| t["currency"] == "USD").unwrap();
    assert_eq!(usd["dso_days"], "120.0", "{}", wider.text);

    let rank = app.get("/api/v1/reports/overdue-ranking?as_of=2026-06-30").await;
    assert_eq!(rank.status, 200, "{}", rank.text);
    let order: Vec<(&str, &str)> = rank.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["customer_code"].as_str().unwrap(), c["overdue_base"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [("R2", "900.00"), ("R1", "850.00")]);
    let bad = app.get("/api/v1/reports/collections?days=0").await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn a_document_cancelled_later_was_open_before() {
    let app = spawn_app().await;
    app.create_customer("X1").await;
    let doc = app.create_invoice("X1", "INV-X1", "500.00").await;
    let id = doc["id"].as_str().unwrap();
    let before = app.get("/api/v1/reports/aging?as_of=2026-04-15").await;
    assert_eq!(row(&before.body, "X1")["total"], "500.00", "{}", before.text);

    let cancelled = app.send("DELETE", &format!("/api/v1/documents/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(app.count(&format!("documents WHERE id = '{id}' AND cancelled_at IS NOT NULL")), 1);

    // As of a date before the cancellation (today) it was open, for its whole amount...
    let earlier = app.get("/api/v1/reports/aging?as_of=2026-04-15").await;
    let x1 = row(&earlier.body, "X1");
    assert_eq!(strings(&x1["buckets"]), ["0.00", "500.00", "0.00", "0.00", "0.00"], "{}", earlier.text);
    assert_eq!(x1["total"], "500.00", "{}", earlier.text);
    // ...and from the day it was cancelled it is gone.
    let today = app.get("/api/v1/reports/aging").await;
    assert!(today.body["rows"].as_array().unwrap().iter().all(|r| r["customer_code"] != "X1"), "{}", today.text);
}

/// The service's connections plan without JIT (compiling a report's or an import's large plan
/// took longer than running it); a connection opened otherwise has the server's default.
#[tokio::test]
async fn the_service_connections_run_without_jit() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        jit: String,
    }
    let jit = |conn: &mut PgConnection| {
        diesel::sql_query("SELECT current_setting('jit') AS jit").get_result::<Setting>(conn).unwrap().jit
    };
    let app = spawn_app().await;
    let url = app.db.url.clone();
    let (service, plain) = tokio::task::spawn_blocking(move || {
        let pool = duizhang::db::build_pool(&url, 1, std::time::Duration::from_secs(30)).unwrap();
        let mut pooled = pool.get().unwrap();
        (jit(&mut pooled), jit(&mut PgConnection::establish(&url).unwrap()))
    })
    .await
    .unwrap();
    assert_eq!(service, "off");
    assert_eq!(plain, "on", "the server's default: the check above would pass without the setting");
}
