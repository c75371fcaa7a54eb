//! Statement reconciliation over HTTP: differences found with their kinds, balance agreement,
//! lifecycle and its rules, idempotent re-posting, validation without partial writes, and
//! signed statement pushes verified against an independent signature implementation.

use crate::helpers::{sign, spawn_app, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;

async fn invoice(app: &TestApp, customer: &str, doc_no: &str, date: &str, amount: &str) {
    let r = app
        .post(
            "/api/v1/documents",
            &json!({"doc_type": "invoice", "doc_no": doc_no, "customer_code": customer, "issue_date": date,
                    "currency": "EUR", "amount": amount}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Our books: INV-1 100 (agreed), INV-2 1,234.50 (they typed 1,243.50), INV-3 300 (they lack it).
async fn books(app: &TestApp, customer: &str) {
    app.create_customer(customer).await;
    invoice(app, customer, &format!("{customer}-INV-1"), "2026-03-01", "100.00").await;
    invoice(app, customer, &format!("{customer}-INV-2"), "2026-03-02", "1234.50").await;
    invoice(app, customer, &format!("{customer}-INV-3"), "2026-03-03", "300.00").await;
}

fn their_statement(customer: &str) -> Value {
    json!({"lines": [
        {"their_ref": "AP1", "our_ref": format!("{customer}-INV-1"), "date": "2026-03-02", "kind": "invoice", "amount": "100.00", "currency": "EUR"},
        {"their_ref": "AP2", "our_ref": format!("{customer}-INV-2"), "date": "2026-03-02", "kind": "invoice", "amount": "1243.50", "currency": "EUR"},
        {"their_ref": "PMT9", "our_ref": format!("{customer}-INV-1"), "date": "2026-03-20", "kind": "payment", "amount": "100.00", "currency": "EUR"}
    ]})
}

fn kinds(statement: &Value) -> Vec<String> {
    let mut k: Vec<String> =
        statement["differences"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap().to_string()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_statement_is_compared_and_every_gap_explained() {
    let app = spawn_app().await;
    books(&app, "K1").await;
    let r = app.post("/api/v1/customers/K1/statements", &their_statement("K1")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(kinds(&r.body), ["amount_mismatch", "missing_on_customer_side", "missing_on_our_side"]);
    let mismatch = r.body["differences"].as_array().unwrap().iter().find(|d| d["kind"] == "amount_mismatch").unwrap();
    assert_eq!(mismatch["our_amount"], "1234.50");
    assert_eq!(mismatch["their_amount"], "1243.50");
    assert!(mismatch["explanation"].as_str().unwrap().contains("digits transposed"), "{mismatch}");
    // Ours 1,634.50; theirs 100 + 1,243.50 - 100 = 1,243.50; differences explain all of it.
    let eur = &r.body["balances"][0];
    assert_eq!((eur["ours"].as_str(), eur["theirs"].as_str()), (Some("1634.50"), Some("1243.50")));
    assert_eq!(eur["differences"], "391.00");
    assert_eq!(eur["unexplained"], "0.00");
    assert_eq!(r.body["matched_count"], 2);

    // The same statement again opens nothing new: the differences are still being worked on.
    let again = app.post("/api/v1/customers/K1/statements", &their_statement("K1")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    let first: HashSet<&str> =
        r.body["differences"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    let second: HashSet<&str> =
        again.body["differences"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(first, second);
    assert_eq!(app.count("differences"), 3);
    // They corrected the amount: the open mismatch is cancelled, the rest carried over.
    let mut corrected = their_statement("K1");
    corrected["lines"][1]["amount"] = json!("1234.50");
    let third = app.post("/api/v1/customers/K1/statements", &corrected).await;
    assert_eq!(kinds(&third.body), ["missing_on_customer_side", "missing_on_our_side"], "{}", third.text);
    assert_eq!(app.count("differences WHERE status = 'cancelled' AND kind = 'amount_mismatch'"), 1);

    // Listing: JSON with filters, and CSV with the documented columns.
    let open = app.get("/api/v1/differences?customer=K1&status=open").await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 2, "{}", open.text);
    let csv =
        app.send("GET", "/api/v1/differences?customer=K1", Some(&app.api_key), None, &[("accept", "text/csv")]).await;
    let mut lines = csv.text.lines();
    assert_eq!(lines.next(), Some("customer_code,kind,our_ref,their_ref,our_amount,their_amount,status"));
    assert!(csv.text.contains("K1,amount_mismatch,K1-INV-2,AP2,1234.50,1243.50,cancelled"), "{}", csv.text);
    assert!(csv.text.contains("K1,missing_on_our_side,,PMT9,,100.00,open"), "{}", csv.text);
    let bad = app.get("/api/v1/differences?status=nope").await;
    assert_eq!(bad.status, 422);

    // Reconciliation is audited and announced through the outbox.
    assert_eq!(app.count("audit_trail WHERE action = 'statement.reconciled'"), 3);
    assert_eq!(app.count("outbox_events WHERE event_type = 'difference.created'"), 3);
    assert_eq!(app.count("outbox_events WHERE event_type = 'statement.reconciled'"), 3);
}

#[tokio::test]
async fn bad_statements_are_refused_whole() {
    let app = spawn_app().await;
    books(&app, "K2").await;
    let mut body = their_statement("K2");
    body["lines"][1]["amount"] = json!("12.345");
    body["lines"][2]["currency"] = json!("XXY");
    let r = app.post("/api/v1/customers/K2/statements", &body).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.error_code(), "validation_failed");
    let lines: Vec<i64> =
        r.body["error"]["details"]["lines"].as_array().unwrap().iter().map(|l| l["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [2, 3], "{}", r.text);
    let inverted = app
        .post(
            "/api/v1/customers/K2/statements",
            &json!({"period_from": "2026-04-01", "period_to": "2026-03-01", "lines": []}),
        )
        .await;
    assert_eq!(inverted.status, 422, "{}", inverted.text);
    let other = app
        .post_csv(
            "/api/v1/customers/K2/statements",
            "customer_code,their_ref,our_ref,date,kind,amount,currency\nK9,AP1,,2026-03-01,invoice,1.00,EUR\n",
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.text);
    let unknown = app.post("/api/v1/customers/NOPE/statements", &their_statement("K2")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(app.count("customer_statements"), 0);
    assert_eq!(app.count("differences"), 0);

    // CSV in the generator's shape, with a period: lines outside it are ignored.
    let csv = "customer_code,their_ref,our_ref,date,kind,amount,currency\n\
               K2,AP1,K2-INV-1,2026-03-01,invoice,100.00,EUR\n\
               K2,AP2,K2-INV-2,2026-03-02,invoice,1234.50,EUR\n\
               K2,AP3,K2-INV-3,2026-03-03,invoice,300.00,EUR\n\
               K2,AP4,,2026-05-01,invoice,999.00,EUR\n";
    let ok = app.post_csv("/api/v1/customers/K2/statements?period_from=2026-03-01&period_to=2026-03-31", csv).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["differences"].as_array().unwrap().len(), 0, "{}", ok.text);
    assert_eq!(ok.body["lines_ignored"], 1);
    assert_eq!(ok.body["balances"][0]["unexplained"], "0.00");
}

#[tokio::test]
async fn differences_follow_their_lifecycle_and_resolution_can_adjust_the_books() {
    let app = spawn_app().await;
    books(&app, "K3").await;
    let r = app.post("/api/v1/customers/K3/statements", &their_statement("K3")).await;
    let find = |kind: &str| {
        r.body["differences"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (mismatch, missing_ours, missing_theirs) =
        (find("amount_mismatch"), find("missing_on_our_side"), find("missing_on_customer_side"));

    // Not yet sent: the customer's answers are not allowed.
    let early = app.post(&format!("/api/v1/differences/{mismatch}/confirm"), &json!({})).await;
    assert_eq!(early.status, 409, "{}", early.text);
    assert_eq!(early.error_code(), "conflict");

    let sent = app.post("/api/v1/customers/K3/differences/send", &json!({})).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.body.as_array().unwrap().len(), 3);
    assert!(sent.body.as_array().unwrap().iter().all(|d| d["status"] == "sent"));

    // A dispute needs a reason.
    let bare = app.post(&format!("/api/v1/differences/{mismatch}/dispute"), &json!({})).await;
    assert_eq!(bare.status, 422, "{}", bare.text);
    let disputed = app
        .post(
            &format!("/api/v1/differences/{mismatch}/dispute"),
            &json!({"body": "customer says the invoice PDF shows 1,243.50",
                    "attachments": [{"name": "inv2.pdf", "content_type": "application/pdf", "size_bytes": 1234}]}),
        )
        .await;
    assert_eq!(disputed.status, 200, "{}", disputed.text);
    assert_eq!(disputed.body["difference"]["status"], "disputed");
    assert_eq!(disputed.body["comments"][1]["attachments"][0]["name"], "inv2.pdf", "{}", disputed.text);
    assert_eq!(disputed.body["comments"][1]["status_change"], "disputed");

    // Resolve the missing payment by booking it: an adjustment document of -100.00.
    let resolved = app
        .post(
            &format!("/api/v1/differences/{missing_ours}/resolve"),
            &json!({"body": "payment booked late", "adjustment": {"doc_no": "ADJ-K3-1"}}),
        )
        .await;
    assert_eq!(resolved.status, 409, "a sent difference must be answered first: {}", resolved.text);
    let confirmed = app.post(&format!("/api/v1/differences/{missing_ours}/confirm"), &json!({})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let resolved = app
        .post(
            &format!("/api/v1/differences/{missing_ours}/resolve"),
            &json!({"body": "payment booked late", "adjustment": {"doc_no": "ADJ-K3-1"}}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let adj_id = resolved.body["difference"]["adjustment_document_id"].as_str().unwrap().to_string();
    let adj = app.get(&format!("/api/v1/documents/{adj_id}")).await;
    assert_eq!(
        (adj.body["doc_type"].as_str(), adj.body["amount"].as_str()),
        (Some("adjustment"), Some("-100.00")),
        "{}",
        adj.text
    );

    // Terminal states stay terminal; unknown actions are 404.
    let reopen = app.post(&format!("/api/v1/differences/{missing_ours}/send"), &json!({})).await;
    assert_eq!(reopen.status, 409);
    let cancel =
        app.post(&format!("/api/v1/differences/{missing_theirs}/cancel"), &json!({"body": "sent in error"})).await;
    assert_eq!(cancel.body["difference"]["status"], "cancelled", "{}", cancel.text);
    let nope = app.post(&format!("/api/v1/differences/{missing_theirs}/explode"), &json!({})).await;
    assert_eq!(nope.status, 404);

    // Every step is audited and announced.
    assert_eq!(
        app.count("audit_trail WHERE action LIKE 'difference.%' AND entity_type = 'difference'"),
        3 + 3 + 1 + 1 + 1 + 1
    );
    assert_eq!(app.count("outbox_events WHERE event_type = 'difference.resolved'"), 1);
    assert_eq!(app.count("outbox_events WHERE event_type = 'difference.disputed'"), 1);

    // A viewer may read but not act.
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "viewer", "role": "viewer"})).await;
    assert_eq!(viewer.status, 201, "{}", viewer.text);
    let key = viewer.body["api_key"].as_str().unwrap();
    let denied = app.post_as(key, &format!("/api/v1/differences/{mismatch}/resolve"), &json!({})).await;
    assert_eq!(denied.status, 403);
    let read = app.get_as(key, &format!("/api/v1/differences/{mismatch}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["comments"].as_array().unwrap().len(), 2, "{}", read.text);
}

#[tokio::test]
async fn a_customer_system_pushes_a_signed_statement() {
    let app = spawn_app().await;
    books(&app, "K4").await;
    let path = format!("/api/v1/inbound/{}/customers/K4/statements", app.tenant_id);
    let body = their_statement("K4").to_string().into_bytes();
    let now = chrono::Utc::now().timestamp();

    // No secret configured yet: refused.
    let ts = now.to_string();
    let none = app
        .send(
            "POST",
            &path,
            None,
            Some(("application/json", body.clone())),
            &[("webhook-id", "msg_0"), ("webhook-timestamp", &ts), ("webhook-signature", "v1,AAAA")],
        )
        .await;
    assert_eq!(none.status, 401, "{}", none.text);

    let issued = app.post("/api/v1/customers/K4/inbound-secret", &json!({})).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let secret = issued.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));

    let push = |id: &'static str, ts: i64, sig: String| {
        let (path, body) = (path.clone(), body.clone());
        let app = &app;
        async move {
            let ts = ts.to_string();
            app.send(
                "POST",
                &path,
                None,
                Some(("application/json", body)),
                &[("webhook-id", id), ("webhook-timestamp", &ts), ("webhook-signature", &sig)],
            )
            .await
        }
    };
    let wrong = push("msg_1", now, sign(&secret, "msg_1", now, b"something else")).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let stale = push("msg_1", now - 3600, sign(&secret, "msg_1", now - 3600, &body)).await;
    assert_eq!(stale.status, 401, "{}", stale.text);
    let ok = push("msg_1", now, sign(&secret, "msg_1", now, &body)).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["source"], "inbound");
    assert_eq!(ok.body["differences"].as_array().unwrap().len(), 3);
    // A retry of the same message answers the same statement and imports nothing twice.
    let retry = push("msg_1", now, sign(&secret, "msg_1", now, &body)).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.body["id"], ok.body["id"]);
    assert_eq!(app.count("customer_statements"), 1);

    // Rotation: the old secret keeps working for a while, the new one works at once.
    let rotated = app.post("/api/v1/customers/K4/inbound-secret", &json!({})).await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    let with_new = push("msg_2", now, sign(&new_secret, "msg_2", now, &body)).await;
    assert_eq!(with_new.status, 201, "{}", with_new.text);
    let with_old = push("msg_3", now, sign(&secret, "msg_3", now, &body)).await;
    assert_eq!(with_old.status, 201, "{}", with_old.text);
    // Another tenant's id in the path does not reach this customer.
    let (other_tenant, _) = app.create_tenant("Other");
    let elsewhere = app
        .send(
            "POST",
            &format!("/api/v1/inbound/{other_tenant}/customers/K4/statements"),
            None,
            Some(("application/json", body.clone())),
            &[
                ("webhook-id", "msg_4"),
                ("webhook-timestamp", &now.to_string()),
                ("webhook-signature", &sign(&new_secret, "msg_4", now, &body)),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);
}

/// The generator's planted differences, found over HTTP with their kinds.
#[tokio::test]
async fn planted_differences_from_the_generator_are_found() {
    let dir = crate::helpers::generated_folder(20, 12, 977, None);
    let app = spawn_app().await;
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let r = app.post_csv("/api/v1/customers/import", &read("customers.csv")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post_csv("/api/v1/documents/import", &read("ledger.csv")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rejected"].as_array().unwrap().len(), 0, "{}", r.text);

    let statements = read("statements.csv");
    let mut lines = statements.lines();
    let header = lines.next().unwrap();
    let mut per_customer: std::collections::BTreeMap<&str, String> = Default::default();
    for l in lines {
        let code = l.split(',').next().unwrap();
        per_customer.entry(code).or_insert_with(|| format!("{header}\n")).push_str(&format!("{l}\n"));
    }
    assert_eq!(per_customer.len(), 12);
    for (code, csv) in &per_customer {
        let r = app.post_csv(&format!("/api/v1/customers/{code}/statements"), csv).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(
            r.body["balances"].as_array().unwrap().iter().all(|b| b["unexplained"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap()
                == 0.0),
            "{}",
            r.text
        );
    }
    let csv =
        app.send("GET", "/api/v1/differences?limit=500", Some(&app.api_key), None, &[("accept", "text/csv")]).await;
    let found: HashSet<(String, String, String, String)> = csv
        .text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    let truth: HashSet<(String, String, String, String)> = read("truth_differences.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    assert!(truth.len() >= 20, "too few planted differences to mean anything: {}", truth.len());
    let missed: Vec<_> = truth.difference(&found).collect();
    let extra: Vec<_> = found.difference(&truth).collect();
    assert!(missed.is_empty() && extra.is_empty(), "missed {missed:?}\nextra {extra:?}");
}
