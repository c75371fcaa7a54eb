//! Dunning levels after runs (changes, repeats, credit hold, lifting it), recovery per level,
//! and statement runs in the background.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

async fn setup(app: &TestApp) {
    for code in ["D1", "D2", "D3", "D4", "D5"] {
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": format!("Debtor {code}")})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // As of 2026-06-30: D1 121 days overdue, D2 36, D3 due in 2 days, D4 due in 61, D5 10 overdue.
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        I1,invoice,D1,2026-02-01,2026-03-01,EUR,200.00,\n\
        I2,invoice,D2,2026-04-25,2026-05-25,EUR,500.00,\n\
        I3,invoice,D3,2026-06-02,2026-07-02,EUR,300.00,\n\
        I4,invoice,D4,2026-06-30,2026-08-30,EUR,400.00,\n\
        I5,invoice,D5,2026-05-21,2026-06-20,EUR,100.00,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.body["created"], 5, "{}", r.text);
    let levels = json!([
        {"code": "A", "name": "Legal", "severity": 3, "min_days_overdue": 90, "action": "legal_letter", "credit_hold": true},
        {"code": "B", "name": "Reminder", "severity": 2, "min_days_overdue": 30, "action": "reminder", "repeat_every_days": 7},
        {"code": "C", "name": "Before due", "severity": 1, "min_days_overdue": -3, "action": "reminder"}
    ]);
    let r = app
        .send(
            "PUT",
            "/api/v1/dunning-levels",
            Some(&app.api_key),
            Some(("application/json", levels.to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn run(app: &TestApp, as_of: &str) -> Value {
    let r = app.post("/api/v1/dunning-runs", &json!({"as_of": as_of})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn level(app: &TestApp, code: &str) -> Value {
    app.get(&format!("/api/v1/customers/{code}/dunning")).await.body
}

#[tokio::test]
async fn dunning_assigns_levels_repeats_reminders_and_lifts_holds() {
    let app = spawn_app().await;
    let before = app.post("/api/v1/dunning-runs", &json!({})).await;
    assert_eq!(before.status, 409, "no levels yet: {}", before.text);
    setup(&app).await;

    let first = run(&app, "2026-06-30").await;
    assert_eq!((first["customers_at_level"].as_i64(), first["level_changes"].as_i64()), (Some(4), Some(4)), "{first}");
    for (code, lvl) in
        [("D1", Value::from("A")), ("D2", "B".into()), ("D3", "C".into()), ("D4", Value::Null), ("D5", "C".into())]
    {
        assert_eq!(level(&app, code).await["level"], lvl, "{code}");
    }
    assert_eq!(level(&app, "D1").await["credit_hold"], true);
    assert_eq!(level(&app, "D2").await["credit_hold"], false);
    assert_eq!(app.count("outbox_events WHERE event_type = 'dunning.level_changed'"), 4);

    // The same day again: nothing new.
    let again = run(&app, "2026-06-30").await;
    assert_eq!((again["level_changes"].as_i64(), again["reminders_due"].as_i64()), (Some(0), Some(0)), "{again}");

    // A week later B's reminder is due again; nobody changes level.
    let week = run(&app, "2026-07-07").await;
    assert_eq!((week["level_changes"].as_i64(), week["reminders_due"].as_i64()), (Some(0), Some(1)), "{week}");
    assert_eq!(week["actions"][0]["customer_code"], "D2");
    assert_eq!(app.count("outbox_events WHERE event_type = 'dunning.reminder_due'"), 1);

    // D1 pays on 2026-07-10: the next run lifts its level and its credit hold.
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-07-10,,200.00,EUR,DEBTOR D1,,I1,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = app.get("/api/v1/bank-lines").await.body["items"][0]["id"].as_str().unwrap().to_string();
    let doc = app.get("/api/v1/documents?q=I1").await.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/allocations",
            &json!({"bank_line_id": line, "allocations": [{"document_id": doc, "amount": "200.00"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let later = run(&app, "2026-07-14").await;
    let d1 = later["actions"].as_array().unwrap().iter().find(|a| a["customer_code"] == "D1").expect("D1 changed");
    assert_eq!((d1["previous_level"].as_str(), d1["level"].as_str()), (Some("A"), None), "{later}");
    let state = level(&app, "D1").await;
    assert_eq!((state["level"].clone(), state["credit_hold"].clone()), (Value::Null, Value::from(false)), "{state}");
    assert_eq!(state["history"].as_array().unwrap().len(), 2, "{state}");

    // Recovery: of A's 200.00 overdue at the 2026-07-07 run, 200.00 came in the week after.
    let rec = app.get("/api/v1/dunning/recovery?until=2026-07-14&weeks=4").await;
    assert_eq!(rec.status, 200, "{}", rec.text);
    let a = rec
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["as_of"] == "2026-07-07" && r["level"] == "A")
        .expect("A on 07-07");
    assert_eq!(
        (a["overdue"].as_str(), a["collected"].as_str(), a["recovery_rate"].as_str()),
        (Some("200.00"), Some("200.00"), Some("100.0")),
        "{}",
        rec.text
    );

    // One point per week and level: the 2026-06-30 run made twice counts its customers once.
    let rows = rec.body.as_array().unwrap();
    let june = rows.iter().find(|r| r["as_of"] == "2026-06-30" && r["level"] == "A").expect("A on 06-30");
    assert_eq!((june["customers"].as_i64(), june["week"].as_str()), (Some(1), Some("2026-06-29")), "{}", rec.text);
    let mut weeks: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r["week"].as_str().unwrap(), r["level"].as_str().unwrap(), r["currency"].as_str().unwrap()))
        .collect();
    weeks.dedup();
    assert_eq!(weeks.len(), rows.len(), "{}", rec.text);

    // Levels are validated; a viewer cannot run dunning; another tenant sees nothing.
    let bad = json!([{"code": "X", "name": "x", "severity": 1, "min_days_overdue": 10, "action": "shout"}]);
    let r = app
        .send(
            "PUT",
            "/api/v1/dunning-levels",
            Some(&app.api_key),
            Some(("application/json", bad.to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, "/api/v1/customers/D1/dunning").await.status, 404);
    assert_eq!(app.get_as(&other, "/api/v1/dunning/recovery").await.body.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_statement_run_produces_every_statement_in_the_background() {
    let app = spawn_app().await;
    setup(&app).await;
    let bad = app
        .post(
            "/api/v1/statement-runs",
            &json!({"period_from": "2026-01-01", "period_to": "2026-06-30", "customers": ["D1", "NOPE"]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let r = app.post("/api/v1/statement-runs", &json!({"period_from": "2026-01-01", "period_to": "2026-06-30"})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["customers_total"], 5);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get(&format!("/api/v1/statement-runs/{id}")).await.body;
        if status["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["customers_done"], 5);
    assert_eq!(app.count("outbox_events WHERE event_type = 'statement.issued'"), 5);
    // D4's invoice is dated 2026-06-30 (inside), so every customer has a closing balance of its invoice.
    assert_eq!(app.count("statement_run_items WHERE done AND closing_balances::text LIKE '%400.00%'"), 1);
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, &format!("/api/v1/statement-runs/{id}")).await.status, 404);
}
