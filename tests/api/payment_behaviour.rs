//! Payment behaviour on hand-computed data: the measures and score of a customer's payments
//! (bank lines allocated to invoices), in REST, GraphQL, the statement of account (JSON and
//! PDF) and the overdue ranking; a customer without payments has no score; isolation.

use crate::collection_work::put;
use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

/// P1's payments as of 2026-12-31 (issue, due, paid, days late):
/// INV-P1 07-01 / 07-31 / 08-10: 10; INV-P2 08-01 / 08-31 / 08-31: 0;
/// INV-P3 10-01 / 10-31 / 11-20: 20; INV-P4 10-15 / 11-14 / 11-14 (half): 0 and 12-14 (half): 30.
/// INV-P5 (300.00, due 10-01) is unpaid; P2 owes INV-Q1 and never paid.
pub(crate) async fn setup(app: &TestApp) {
    for code in ["P1", "P2"] {
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": format!("Payer {code}")})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-P1,invoice,P1,2026-07-01,2026-07-31,EUR,100.00,\n\
        INV-P2,invoice,P1,2026-08-01,2026-08-31,EUR,100.00,\n\
        INV-P3,invoice,P1,2026-10-01,2026-10-31,EUR,100.00,\n\
        INV-P4,invoice,P1,2026-10-15,2026-11-14,EUR,100.00,\n\
        INV-P5,invoice,P1,2026-09-01,2026-10-01,EUR,300.00,\n\
        INV-Q1,invoice,P2,2026-09-01,2026-10-01,EUR,200.00,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.body["created"], 6, "{}", r.text);
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let payments = [
        ("BL1", "2026-08-10", "100.00", "INV-P1"),
        ("BL2", "2026-08-31", "100.00", "INV-P2"),
        ("BL3", "2026-11-20", "100.00", "INV-P3"),
        ("BL4", "2026-11-14", "50.00", "INV-P4"),
        ("BL5", "2026-12-14", "50.00", "INV-P4"),
    ];
    let mut bank = String::from(
        "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n",
    );
    for (id, date, amount, _) in payments {
        bank.push_str(&format!("{id},DE89370400440532013000,{date},,{amount},EUR,PAYER P1,,payment,\n"));
    }
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.into_bytes())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let lines = app.get("/api/v1/bank-lines?limit=100").await.body["items"].clone();
    for (id, _, amount, doc_no) in payments {
        let line = lines.as_array().unwrap().iter().find(|l| l["line_id"] == id).expect("the line");
        let doc = app.get(&format!("/api/v1/documents?q={doc_no}")).await.body["items"][0]["id"].clone();
        let r = app
            .post(
                "/api/v1/allocations",
                &json!({"bank_line_id": line["id"], "allocations": [{"document_id": doc, "amount": amount}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

fn strs<'a>(v: &'a Value, field: &str) -> Vec<&'a str> {
    v.as_array().unwrap().iter().map(|x| x[field].as_str().unwrap()).collect()
}

#[tokio::test]
async fn payment_behaviour_measures_scores_and_explains() {
    let app = spawn_app().await;
    setup(&app).await;
    let r = app.get("/api/v1/customers/P1/payment-behaviour?as_of=2026-12-31").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(
        (b["payments"].as_i64(), b["invoices_paid"].as_i64(), b["days"].as_i64()),
        (Some(5), Some(4), Some(365))
    );
    let figures = |f: &str| b[f].as_str().unwrap_or("null").to_string();
    let got: Vec<String> = [
        "avg_days_to_pay",
        "avg_days_late",
        "recent_avg_days_late",
        "previous_avg_days_late",
        "days_late_change",
        "on_time_share",
        "partial_payment_share",
        "score",
    ]
    .iter()
    .map(|f| figures(f))
    .collect();
    // to pay: (40+30+50+30+60)/5; late: (10+0+20+0+30)/5; recent (after 10-02): 50/3; before: 10/2;
    // 2 of 5 on time; 1 of 4 invoices in two payments. Score: 40% x 40 + 30% x 80 (12 days late)
    // + 15% x 30.5 (11.7 days later) + 15% x 75 = 55.825.
    assert_eq!(got, ["42.0", "12.0", "16.7", "5.0", "11.7", "40.0", "25.0", "56"], "{b}");
    assert_eq!(b["trend"], "worsening");
    assert_eq!(strs(&b["components"], "name"), ["on_time", "lateness", "trend", "single_payments"]);
    assert_eq!(strs(&b["components"], "points"), ["40.0", "80.0", "30.5", "75.0"]);
    assert!(b["summary"].as_str().unwrap().starts_with("Score 56 of 100 from 5 payments of 4 invoices"), "{b}");
    let late: Vec<i64> = b["history"].as_array().unwrap().iter().map(|p| p["days_late"].as_i64().unwrap()).collect();
    assert_eq!(late, [10, 0, 0, 20, 30], "oldest first");

    // A shorter window drops the summer payments; no payments, no score.
    let r = app.get("/api/v1/customers/P1/payment-behaviour?as_of=2026-12-31&days=60").await;
    assert_eq!((r.body["payments"].as_i64(), r.body["trend"].as_str()), (Some(3), Some("unknown")), "{}", r.text);
    let r = app.get("/api/v1/customers/P2/payment-behaviour?as_of=2026-12-31").await;
    assert_eq!((r.status, r.body["score"].clone(), r.body["payments"].as_i64()), (200, Value::Null, Some(0)));
    assert_eq!(app.get("/api/v1/customers/P1/payment-behaviour?days=7").await.status, 422);
    assert_eq!(app.get("/api/v1/customers/NOPE/payment-behaviour").await.status, 404);
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, "/api/v1/customers/P1/payment-behaviour").await.status, 404);
}

#[tokio::test]
async fn the_score_reaches_graphql_the_statement_of_account_and_the_ranking() {
    let app = spawn_app().await;
    setup(&app).await;
    let q = r#"{ customers(code: "P1") { items { code paymentBehaviour(asOf: "2026-12-31") { score trend components { name weight } } } } }"#;
    let r = app.graphql_as(Some(&app.api_key), q, json!({})).await;
    let b = &r.body["data"]["customers"]["items"][0]["paymentBehaviour"];
    assert_eq!((b["score"].as_str(), b["trend"].as_str()), (Some("56"), Some("worsening")), "{}", r.text);
    assert_eq!(b["components"][0]["weight"], 40);

    let r = app.get("/api/v1/customers/P1/statement-of-account?to=2026-12-31").await;
    assert_eq!(r.body["payment_behaviour"]["score"], "56", "{}", r.text);
    let res = app
        .client
        .get(format!("{}/api/v1/customers/P1/statement-of-account?to=2026-12-31&format=pdf", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    let pdf = res.bytes().await.unwrap();
    if let Ok(dir) = std::env::var("CHART_SAMPLES_DIR") {
        std::fs::write(format!("{dir}/statement-P1.pdf"), &pdf).unwrap();
    }
    let text = crate::exports::pdf_text(&pdf, None);
    assert!(text.contains("Payment behaviour") && text.contains("Score 56 of 100"), "{text}");
    // The aging chart: a legend square per bucket and the one segment of the bar (all 90+),
    // besides the table's header row (krilla draws each as a filled path).
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let page = *doc.get_pages().values().next().unwrap();
    let content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
    let filled = content.operations.iter().filter(|op| op.operator == "f").count();
    assert_eq!(filled, 1 + 5 + 1, "filled shapes");

    let r = app.get("/api/v1/reports/overdue-ranking?as_of=2026-12-31").await;
    let ranks = r.body["customers"].as_array().unwrap();
    let score = |code: &str| ranks.iter().find(|c| c["customer_code"] == code).unwrap()["payment_score"].clone();
    assert_eq!((score("P1"), score("P2")), (json!("56"), Value::Null), "{}", r.text);
    // By overdue amount P1 (300.00) comes first; weighted by behaviour (score 56: 300.00 x 0.44)
    // P2, who never paid (no score: all of its 200.00), does.
    let codes = |r: &crate::helpers::Response| -> Vec<String> {
        r.body["customers"].as_array().unwrap().iter().map(|c| c["customer_code"].as_str().unwrap().into()).collect()
    };
    assert_eq!(codes(&r), ["P1", "P2"]);
    let risk = app.get("/api/v1/reports/overdue-ranking?as_of=2026-12-31&rank_by=risk").await;
    assert_eq!(codes(&risk), ["P2", "P1"], "{}", risk.text);
    let weighted: Vec<&str> = risk.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["risk_weighted_overdue"].as_str().unwrap())
        .collect();
    assert_eq!(weighted, ["200.00", "132.00"]);
    let g = app
        .graphql_as(
            Some(&app.api_key),
            r#"{ overdueRanking(asOf: "2026-12-31", rankBy: "risk") { customers { customerCode } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(g.body["data"]["overdueRanking"]["customers"][0]["customerCode"], "P2", "{}", g.text);
    assert_eq!(app.get("/api/v1/reports/overdue-ranking?rank_by=size").await.status, 422);
}

#[tokio::test]
async fn a_credit_rule_on_the_score_holds_a_late_payer() {
    let app = spawn_app().await;
    setup(&app).await;
    put(
        &app,
        "/api/v1/dunning-levels",
        &json!([{"code": "L1", "name": "Reminder", "severity": 1, "min_days_overdue": 1, "action": "reminder"}]),
    )
    .await;
    put(
        &app,
        "/api/v1/credit-rules",
        &json!([{"code": "score", "condition": "payment_score_below", "score": "60", "effect": "hold"}]),
    )
    .await;
    let r = app.post("/api/v1/dunning-runs", &json!({"as_of": "2026-12-31"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let p1 = app.get("/api/v1/customers/P1/credit-policy").await.body;
    assert_eq!((p1["hold"].as_bool(), p1["hold_set_by"].as_str()), (Some(true), Some("rule:score")), "56 < 60: {p1}");
    let p2 = app.get("/api/v1/customers/P2/credit-policy").await.body;
    assert_eq!(p2["hold"].as_bool(), Some(false), "no payments, no score, no hold: {p2}");
}
