//! Credit policy: set by hand with an explanation, changed by the tenant's rules when dunning
//! runs and promise checks find their conditions (and lifted when those end), every change
//! explained and audited; the credit check ERPs call, allowed or refused with reasons.

use crate::collection_work::{customers_with_invoices, dunning_run, put};
use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

async fn policy(app: &TestApp, code: &str) -> Value {
    let r = app.get(&format!("/api/v1/customers/{code}/credit-policy")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn check(app: &TestApp, code: &str, query: &str) -> crate::helpers::Response {
    app.get(&format!("/api/v1/customers/{code}/credit-check?{query}")).await
}

/// L3 (severity 3) from 90 days overdue, L1 (severity 1) from one day.
async fn legal_and_reminder_levels(app: &TestApp) {
    let levels = json!([
        {"code": "L3", "name": "Legal", "severity": 3, "min_days_overdue": 90, "action": "legal_letter"},
        {"code": "L1", "name": "Remind", "severity": 1, "min_days_overdue": 1, "action": "reminder"}
    ]);
    put(app, "/api/v1/dunning-levels", &levels).await;
}

fn reasons(v: &Value) -> Vec<&str> {
    v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_credit_check_allows_or_refuses_with_reasons_and_figures() {
    let app = spawn_app().await;
    customers_with_invoices(&app, &[("E1", "2026-09-30", "600.00")]).await;
    let p = json!({"credit_limit": "1000.00", "payment_terms_days": 30, "explanation": "annual review"});
    let set = put(&app, "/api/v1/customers/E1/credit-policy", &p).await;
    assert_eq!((set["credit_limit"].as_str(), set["currency"].as_str()), (Some("1000.00"), Some("EUR")), "{set}");
    assert_eq!(
        app.get("/api/v1/customers/E1").await.body["credit_limit"],
        "1000.00",
        "the limit lives on the customer"
    );

    let ok = check(&app, "E1", "amount=400.00&currency=EUR").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        (&ok.body["allowed"], &ok.body["exposure"], &ok.body["available"], &ok.body["credit_limit"]),
        (&json!(true), &json!("600.00"), &json!("400.00"), &json!("1000.00")),
        "{}",
        ok.text
    );
    let over = check(&app, "E1", "amount=400.01").await.body;
    assert_eq!((over["allowed"].clone(), reasons(&over)), (json!(false), vec!["limit_exceeded"]), "{over}");
    assert!(over["reasons"][0]["message"].as_str().unwrap().contains("1000.01"), "{over}");
    for (query, field) in [
        ("amount=abc", "amount"),
        ("amount=-5", "amount"),
        ("amount=0", "amount"),
        ("amount=1.001", "amount"),
        ("", "amount"),
        ("amount=5&currency=USD", "currency"),
        ("amount=5&colour=red", "query string"),
    ] {
        let r = check(&app, "E1", query).await;
        assert_eq!(r.status, 422, "{query}: {}", r.text);
        assert!(r.text.contains(field), "{query}: {}", r.text);
    }

    // On hold (a reason is required) and prepayment: every reason is listed.
    let r = app.put("/api/v1/customers/E1/credit-policy", &json!({"hold": true, "explanation": "x"})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let held = json!({"credit_limit": "1000.00", "payment_terms_days": 30, "hold": true, "hold_reason": "cheque bounced",
                      "prepayment_required": true, "explanation": "bounced cheque 2026-07-01"});
    let after = put(&app, "/api/v1/customers/E1/credit-policy", &held).await;
    assert_eq!(
        (after["hold_set_by"].as_str(), after["prepayment_set_by"].as_str()),
        (Some("user"), Some("user")),
        "{after}"
    );
    let refused = check(&app, "E1", "amount=2000").await.body;
    assert_eq!(reasons(&refused), ["on_hold", "prepayment_required", "limit_exceeded"], "{refused}");
    assert!(refused["reasons"][0]["message"].as_str().unwrap().contains("cheque bounced"));

    // History, newest first, explained; audited.
    let history = policy(&app, "E1").await["history"].clone();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[0]["explanation"], "bounced cheque 2026-07-01");
    assert_eq!(history[0]["changes"]["hold"], json!({"before": false, "after": true}));
    assert_eq!(
        (history[1]["source_type"].as_str(), history[1]["changes"]["credit_limit"]["after"].as_str()),
        (Some("api_key"), Some("1000.00"))
    );
    assert_eq!(app.count("audit_trail WHERE action = 'credit_policy.changed' AND entity_id = 'E1'"), 2);
    // The same policy again changes nothing.
    put(&app, "/api/v1/customers/E1/credit-policy", &held).await;
    assert_eq!(policy(&app, "E1").await["history"].as_array().unwrap().len(), 2);
    // The dunning view shows the same hold.
    assert_eq!(app.get("/api/v1/customers/E1/dunning").await.body["credit_hold"], true);

    // GraphQL answers the same.
    let q = "{ creditCheck(code: \"E1\", amount: \"10.00\") { allowed reasons { code } exposure } }";
    let r = app.graphql_as(Some(&app.api_key), q, json!({})).await;
    assert_eq!(r.body["data"]["creditCheck"]["allowed"], false, "{}", r.text);
    assert_eq!(r.body["data"]["creditCheck"]["exposure"], "600.00");

    // A viewer checks but cannot change; another tenant reaches nothing.
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "erp", "role": "viewer"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get_as(&viewer, "/api/v1/customers/E1/credit-check?amount=1").await.status, 200);
    assert_eq!(app.put_as(&viewer, "/api/v1/customers/E1/credit-policy", &held).await.status, 403);
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, "/api/v1/customers/E1/credit-check?amount=1").await.status, 404);
    assert_eq!(app.get_as(&other, "/api/v1/customers/E1/credit-policy").await.status, 404);
    assert_eq!(app.put_as(&other, "/api/v1/customers/E1/credit-policy", &held).await.status, 404);
}

#[tokio::test]
async fn rules_change_the_policy_from_dunning_and_broken_promises_with_explanations() {
    let app = spawn_app().await;
    // As of 2026-06-30: K1 100 days overdue, K2 10, K3 100 (held by hand).
    customers_with_invoices(
        &app,
        &[("K1", "2026-03-22", "100.00"), ("K2", "2026-06-20", "200.00"), ("K3", "2026-03-22", "50.00")],
    )
    .await;
    legal_and_reminder_levels(&app).await;
    let bad = json!([{"code": "x", "condition": "dunning_severity_at_least", "effect": "hold"}]);
    let r = app.put("/api/v1/credit-rules", &bad).await;
    assert_eq!(r.status, 422, "severity is required: {}", r.text);
    let rules = json!([
        {"code": "hold-l3", "condition": "dunning_severity_at_least", "severity": 3, "effect": "hold"},
        {"code": "prepay", "condition": "broken_promises", "count": 1, "days": 90, "effect": "prepayment_required"},
        // K1 pays very late below (a score in the twenties): a threshold of 10 keeps this rule out
        // of the way here; the score rule is exercised in payment_behaviour.rs.
        {"code": "score", "condition": "payment_score_below", "score": "10", "effect": "hold"}
    ]);
    put(&app, "/api/v1/credit-rules", &rules).await;
    assert_eq!(app.get("/api/v1/credit-rules").await.body.as_array().unwrap().len(), 3);
    let manual = json!({"hold": true, "hold_reason": "insolvency filed", "explanation": "court notice"});
    put(&app, "/api/v1/customers/K3/credit-policy", &manual).await;

    let run = dunning_run(&app, "2026-06-30").await;
    let run_id = run["id"].as_str().unwrap();
    let k1 = policy(&app, "K1").await;
    assert_eq!((k1["hold"].as_bool(), k1["hold_set_by"].as_str()), (Some(true), Some("rule:hold-l3")), "{k1}");
    let change = &k1["history"][0];
    assert_eq!((change["source_type"].as_str(), change["source_id"].as_str()), (Some("rule"), Some("hold-l3")), "{k1}");
    assert_eq!(change["dunning_run_id"].as_str(), Some(run_id));
    assert_eq!(
        change["explanation"].as_str().unwrap(),
        format!("hold: reached level L3 (severity 3 >= 3) (dunning run {run_id} as of 2026-06-30)")
    );
    assert_eq!(k1["hold_reason"].as_str().unwrap(), "hold: reached level L3 (severity 3 >= 3)");
    assert_eq!(app.get("/api/v1/customers/K1/dunning").await.body["credit_hold"], true);
    assert_eq!(policy(&app, "K2").await["hold"], false, "L1 is below the rule's severity");
    assert_eq!(app.count("audit_trail WHERE action = 'credit_policy.changed' AND entity_id = 'K1'"), 1);

    // K1 and K3 pay everything: the rule lifts what it set, not the hold a person set.
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-07-02,,100.00,EUR,DEBTOR K1,,INV-K1,\n\
        BL2,DE89370400440532013000,2026-07-02,,50.00,EUR,DEBTOR K3,,INV-K3,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for (line, doc, amount) in [("BL1", "INV-K1", "100.00"), ("BL2", "INV-K3", "50.00")] {
        let line_id = app.get("/api/v1/bank-lines").await.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| {
                l["line_id"] == line || l["external_id"] == line || l["reference"] == doc || l["remittance"] == doc
            })
            .map(|l| l["id"].as_str().unwrap().to_string())
            .expect("line");
        let doc_id =
            app.get(&format!("/api/v1/documents?q={doc}")).await.body["items"][0]["id"].as_str().unwrap().to_string();
        let r = app
            .post(
                "/api/v1/allocations",
                &json!({"bank_line_id": line_id, "allocations": [{"document_id": doc_id, "amount": amount}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    dunning_run(&app, "2026-07-05").await;
    let k1 = policy(&app, "K1").await;
    assert_eq!((k1["hold"].as_bool(), k1["hold_set_by"].clone()), (Some(false), Value::Null), "{k1}");
    assert!(
        k1["history"][0]["explanation"]
            .as_str()
            .unwrap()
            .starts_with("hold lifted: left all dunning levels (dunning run"),
        "{k1}"
    );
    let k3 = policy(&app, "K3").await;
    assert_eq!((k3["hold"].as_bool(), k3["hold_set_by"].as_str()), (Some(true), Some("user")), "{k3}");

    // K2 breaks a promise: prepayment required by the rule, found by the promise check.
    let r = app
        .post(
            "/api/v1/customers/K2/contact-log",
            &json!({"channel": "phone", "outcome": "promise_to_pay", "contacted_on": "2026-07-01",
                    "promise": {"date": "2026-07-03", "amount": "200.00", "currency": "EUR"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let swept = app.post("/api/v1/promises/check", &json!({"as_of": "2026-07-08"})).await;
    assert_eq!(swept.body["broken"], 1, "{}", swept.text);
    let k2 = policy(&app, "K2").await;
    assert_eq!(
        (k2["prepayment_required"].as_bool(), k2["prepayment_set_by"].as_str()),
        (Some(true), Some("rule:prepay")),
        "{k2}"
    );
    assert!(
        k2["history"][0]["explanation"]
            .as_str()
            .unwrap()
            .starts_with("prepayment_required: 1 broken promise(s) in the 90 days"),
        "{k2}"
    );
    assert_eq!(reasons(&check(&app, "K2", "amount=1").await.body), ["prepayment_required"]);
}

#[tokio::test]
async fn rules_lower_the_limit_and_shorten_terms_then_restore_only_what_they_changed() {
    let app = spawn_app().await;
    // As of 2026-06-30: C1 100 days overdue, C2 10.
    customers_with_invoices(&app, &[("C1", "2026-03-22", "100.00"), ("C2", "2026-06-20", "200.00")]).await;
    legal_and_reminder_levels(&app).await;
    for (bad, field) in [
        (json!({"effect": "lower_credit_limit"}), "limit"),
        (json!({"effect": "lower_credit_limit", "limit": "-1"}), "limit"),
        (json!({"effect": "lower_credit_limit", "limit": "1.00001"}), "limit"),
        (json!({"effect": "shorten_payment_terms", "terms_days": 4000}), "terms_days"),
        (json!({"effect": "raise_limit"}), "effect"),
    ] {
        let mut rule = json!({"code": "x", "condition": "dunning_severity_at_least", "severity": 1});
        rule.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
        let r = app.put("/api/v1/credit-rules", &json!([rule])).await;
        assert_eq!(r.status, 422, "{rule}: {}", r.text);
        assert!(r.text.contains(&format!("[0].{field}")), "{rule}: {}", r.text);
    }
    let rules = json!([
        {"code": "no-credit-l3", "condition": "dunning_severity_at_least", "severity": 3,
         "effect": "lower_credit_limit", "limit": "0"},
        {"code": "short-terms", "condition": "dunning_severity_at_least", "severity": 1,
         "effect": "shorten_payment_terms", "terms_days": 7}
    ]);
    put(&app, "/api/v1/credit-rules", &rules).await;
    let p = json!({"credit_limit": "5000.00", "payment_terms_days": 60, "explanation": "annual review"});
    put(&app, "/api/v1/customers/C1/credit-policy", &p).await;
    assert!(check(&app, "C1", "amount=1000").await.body["allowed"].as_bool().unwrap());

    let run = dunning_run(&app, "2026-06-30").await;
    let c1 = policy(&app, "C1").await;
    assert_eq!(
        (&c1["credit_limit"], &c1["credit_limit_set_by"], &c1["payment_terms_days"], &c1["payment_terms_set_by"]),
        (&json!("0.00"), &json!("rule:no-credit-l3"), &json!(7), &json!("rule:short-terms")),
        "{c1}"
    );
    let lowered = c1["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["changes"].get("credit_limit").is_some())
        .expect("the limit change is in the history")
        .clone();
    assert_eq!(lowered["changes"]["credit_limit"], json!({"before": "5000.00", "after": "0.00"}), "{c1}");
    assert_eq!((lowered["source_type"].as_str(), lowered["source_id"].as_str()), (Some("rule"), Some("no-credit-l3")));
    assert_eq!(
        lowered["explanation"].as_str().unwrap(),
        format!(
            "credit_limit 5000.00 -> 0.00: reached level L3 (severity 3 >= 3) (dunning run {} as of 2026-06-30)",
            run["id"].as_str().unwrap()
        )
    );
    assert_eq!(app.get("/api/v1/customers/C1").await.body["payment_terms_days"], 7, "terms live on the customer");
    let refused = check(&app, "C1", "amount=1").await.body;
    assert_eq!(reasons(&refused), ["limit_exceeded"], "{refused}");
    // C2 had no terms: the rule gives it 7 days; its limit (none) is left alone by the L3 rule.
    let c2 = policy(&app, "C2").await;
    assert_eq!((&c2["payment_terms_days"], &c2["credit_limit"]), (&json!(7), &Value::Null), "{c2}");
    // A person then sets C2's terms: theirs from now on.
    put(&app, "/api/v1/customers/C2/credit-policy", &json!({"payment_terms_days": 14, "explanation": "agreed"})).await;
    assert_eq!(policy(&app, "C2").await["payment_terms_set_by"], "user");

    // As of 2026-04-01 C1 is only at L1: its limit comes back, its terms stay short; C2 is not
    // overdue and keeps the 14 days a person set.
    dunning_run(&app, "2026-04-01").await;
    let c1 = policy(&app, "C1").await;
    assert_eq!(
        (&c1["credit_limit"], &c1["credit_limit_set_by"], &c1["payment_terms_days"]),
        (&json!("5000.00"), &Value::Null, &json!(7)),
        "{c1}"
    );
    assert!(
        c1["history"][0]["explanation"]
            .as_str()
            .unwrap()
            .starts_with("credit_limit restored to 5000.00: level L1 (severity 1) is below severity 3"),
        "{c1}"
    );
    assert_eq!(policy(&app, "C2").await["payment_terms_days"], 14);
    // Nobody overdue: the terms come back too, every change audited.
    dunning_run(&app, "2026-01-01").await;
    let c1 = policy(&app, "C1").await;
    assert_eq!((&c1["payment_terms_days"], &c1["payment_terms_set_by"]), (&json!(60), &Value::Null), "{c1}");
    assert_eq!(app.count("audit_trail WHERE action = 'credit_policy.changed' AND entity_id = 'C1'"), 5);
}
