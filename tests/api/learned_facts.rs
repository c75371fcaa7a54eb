//! Learning from people over HTTP: a confirmation or a manual allocation teaches the payer's IBAN
//! and name (with provenance), the next run applies a similar line by them (IBAN after one
//! confirmation, name after two), undoing a confirmation takes back what it taught, rejections
//! count against a fact, revoking stops it, the tenant's switch and thresholds, isolation.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

const ACCOUNT: &str = "DE89370400440532013000";
/// The account of a payment office that pays for C1; master data does not know it.
const OFFICE_IBAN: &str = "NL91ABNA0417164300";
const OFFICE: &str = "ZENTRALE ZAHLSTELLE";

async fn setup(app: &TestApp) {
    for (code, name, iban) in
        [("C1", "Kalomer GmbH", "DE11111111111111111111"), ("C2", "Renbentor Ltd", "FR2222222222222222222222")]
    {
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": name, "bank_accounts": [iban]})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-2026-0000201,invoice,C1,2026-01-05,2026-02-04,EUR,100.00,\n\
        INV-2026-0000202,invoice,C1,2026-01-06,2026-02-05,EUR,230.00,\n\
        INV-2026-0000203,invoice,C1,2026-01-07,2026-02-06,EUR,315.00,\n\
        INV-2026-0000204,invoice,C1,2026-01-08,2026-02-07,EUR,420.00,\n\
        INV-2026-0000205,invoice,C1,2026-01-09,2026-02-08,EUR,510.00,\n\
        INV-2026-0000301,invoice,C2,2026-01-05,2026-02-04,EUR,777.00,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/bank-accounts", &json!({"account_id": ACCOUNT, "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Imports lines `(line_id, date, amount, payer name, payer IBAN, remittance)`.
async fn import(app: &TestApp, key: &str, lines: &[(&str, &str, &str, &str, &str, &str)]) {
    let mut csv = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n".to_string();
    for (id, date, amount, name, iban, remittance) in lines {
        csv.push_str(&format!("{id},{ACCOUNT},{date},,{amount},EUR,{name},{iban},{remittance},\n"));
    }
    let r = app.send("POST", "/api/v1/bank-statements", Some(key), Some(("text/csv", csv.into_bytes())), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

async fn run(app: &TestApp, key: &str) -> Vec<Value> {
    let id = app.run_matching_as(key).await["id"].as_str().unwrap().to_string();
    let r = app.get_as(key, &format!("/api/v1/allocations?reconciliation_id={id}&limit=100")).await;
    r.body["items"].as_array().unwrap().clone()
}

fn of_line<'a>(allocs: &'a [Value], line_id: &str) -> Vec<&'a Value> {
    allocs.iter().filter(|a| a["line_id"] == line_id).collect()
}

async fn act(app: &TestApp, allocation: &Value, action: &str) -> Value {
    let id = allocation["id"].as_str().unwrap();
    let r = app.send("POST", &format!("/api/v1/allocations/{id}/{action}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
    r.body
}

/// The body of a manual allocation of the whole `amount` of line `line_id` to `doc_no`.
async fn by_hand(app: &TestApp, line_id: &str, doc_no: &str, amount: &str) -> Value {
    let line = app.get(&format!("/api/v1/bank-lines?q={line_id}")).await.body["items"][0].clone();
    let doc = app.get(&format!("/api/v1/documents?q={doc_no}")).await.body["items"][0].clone();
    json!({"bank_line_id": line["id"], "allocations": [{"document_id": doc["id"], "amount": amount}]})
}

/// Makes a manual allocation; answers its applied (confirmed) allocation.
async fn allocate(app: &TestApp, body: &Value) -> Value {
    let r = app.post("/api/v1/allocations", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body.as_array().unwrap().iter().find(|a| a["state"] == "confirmed").unwrap().clone()
}

async fn facts(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/learned-facts{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn fact<'a>(facts: &'a [Value], kind: &str) -> Option<&'a Value> {
    facts.iter().find(|f| f["kind"] == kind)
}

async fn put_settings(app: &TestApp, change: Value) -> crate::helpers::Response {
    let mut s = app.get("/api/v1/matching-settings").await.body;
    for (k, v) in change.as_object().unwrap() {
        s[k] = v.clone();
    }
    app.put("/api/v1/matching-settings", &s).await
}

#[tokio::test]
async fn a_confirmation_teaches_the_payer_and_the_next_run_applies_by_it() {
    let app = spawn_app().await;
    setup(&app).await;
    // A running number alone from an unknown payer: a proposal.
    import(&app, &app.api_key, &[("L1", "2026-02-01", "100.00", OFFICE, OFFICE_IBAN, "Rechnung 201")]).await;
    let allocs = run(&app, &app.api_key).await;
    let l1 = of_line(&allocs, "L1");
    assert_eq!((l1[0]["state"].as_str(), l1[0]["doc_no"].as_str()), (Some("proposed"), Some("INV-2026-0000201")));
    assert!(facts(&app, "").await.is_empty());
    act(&app, l1[0], "confirm").await;

    let learned = facts(&app, "").await;
    assert_eq!(learned.len(), 2, "IBAN and name: {learned:?}");
    let iban = fact(&learned, "payer_iban").unwrap();
    assert_eq!((iban["key"].as_str(), iban["customer_code"].as_str()), (Some(OFFICE_IBAN), Some("C1")));
    assert_eq!((iban["confirmations"].as_i64(), iban["meets_threshold"].as_bool()), (Some(1), Some(true)));
    let name = fact(&learned, "payer_name").unwrap();
    assert_eq!((name["key"].as_str(), name["meets_threshold"].as_bool()), (Some(OFFICE), Some(false)));
    let detail = app.get(&format!("/api/v1/learned-facts/{}", iban["id"].as_str().unwrap())).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let source = &detail.body["sources"][0];
    assert_eq!((source["how"].as_str(), source["line_id"].as_str()), (Some("confirmed_proposal"), Some("L1")));
    assert_eq!(source["allocation_id"], l1[0]["id"]);
    assert!(source["actor"].as_str().unwrap().starts_with("api_key:"), "{source}");

    // The IBAN after one confirmation: applied, and the explanation shows the learned evidence apart.
    // The name (no IBAN) after one: proposed, C1's item first.
    import(
        &app,
        &app.api_key,
        &[("L2", "2026-02-02", "230.00", "", OFFICE_IBAN, ""), ("L3", "2026-02-03", "315.00", OFFICE, "", "")],
    )
    .await;
    let allocs = run(&app, &app.api_key).await;
    let l2 = of_line(&allocs, "L2");
    assert_eq!((l2[0]["state"].as_str(), l2[0]["doc_no"].as_str()), (Some("auto_applied"), Some("INV-2026-0000202")));
    let learned_evidence = l2[0]["explanation"]["learned_evidence"][0].as_str().unwrap();
    assert!(
        learned_evidence
            .starts_with(&format!("learned: payer IBAN {OFFICE_IBAN} pays for customer C1 (confirmed 1 time")),
        "{learned_evidence}"
    );
    let l3 = of_line(&allocs, "L3");
    let best = l3.iter().find(|a| a["candidate_set"] == 0).unwrap();
    assert_eq!((best["state"].as_str(), best["doc_no"].as_str()), (Some("proposed"), Some("INV-2026-0000203")));
    act(&app, best, "confirm").await;
    let name = fact(&facts(&app, "?kind=payer_name").await, "payer_name").unwrap().clone();
    assert_eq!((name["confirmations"].as_i64(), name["meets_threshold"].as_bool()), (Some(2), Some(true)));

    // The name after two confirmations: applied.
    import(&app, &app.api_key, &[("L4", "2026-02-04", "420.00", "Zentrale Zahlstelle", "", "")]).await;
    let allocs = run(&app, &app.api_key).await;
    assert_eq!(of_line(&allocs, "L4")[0]["state"], "auto_applied", "{allocs:?}");
    assert_eq!(of_line(&allocs, "L4")[0]["doc_no"], "INV-2026-0000204");

    // GraphQL lists and reads the same facts.
    let gql = app
        .graphql_as(
            Some(&app.api_key),
            "query($id: UUID!) { learnedFacts(kind: \"payer_iban\", customer: \"C1\") { items { key confirmations } } \
             learnedFact(id: $id) { fact { kind } sources { how lineId } } }",
            json!({"id": iban["id"]}),
        )
        .await;
    assert_eq!(gql.body["data"]["learnedFacts"]["items"][0]["key"], OFFICE_IBAN, "{}", gql.text);
    assert_eq!(gql.body["data"]["learnedFact"]["sources"][0]["lineId"], "L1", "{}", gql.text);
}

#[tokio::test]
async fn unapplying_a_confirmation_takes_back_what_it_taught_and_revoked_facts_stay_revoked() {
    let app = spawn_app().await;
    setup(&app).await;
    import(&app, &app.api_key, &[("L1", "2026-02-01", "510.00", OFFICE, OFFICE_IBAN, "")]).await;
    run(&app, &app.api_key).await;
    let manual = by_hand(&app, "L1", "INV-2026-0000205", "510.00").await;
    let applied = allocate(&app, &manual).await;
    let learned = facts(&app, "?customer=C1").await;
    assert_eq!(learned.len(), 2, "{learned:?}");
    let detail = app.get(&format!("/api/v1/learned-facts/{}", learned[0]["id"].as_str().unwrap())).await;
    assert_eq!(detail.body["sources"][0]["how"], "manual_allocation", "{}", detail.text);

    // A wrong allocation undone: what it taught goes with it.
    act(&app, &applied, "reject").await;
    assert!(facts(&app, "?include_revoked=true").await.is_empty(), "nothing left that supports the facts");
    let gone = app.get(&format!("/api/v1/learned-facts/{}", learned[0]["id"].as_str().unwrap())).await;
    assert_eq!(gone.status, 404);

    // Taught again, then revoked: no longer used, listed only on request, revoking twice is a 409.
    let applied = allocate(&app, &manual).await;
    let iban = fact(&facts(&app, "").await, "payer_iban").unwrap().clone();
    let path = format!("/api/v1/learned-facts/{}", iban["id"].as_str().unwrap());
    let r = app.send("DELETE", &path, Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["fact"]["revoked_at"].is_string() && !r.body["fact"]["meets_threshold"].as_bool().unwrap());
    assert_eq!(app.send("DELETE", &path, Some(&app.api_key), None, &[]).await.status, 409);
    assert!(fact(&facts(&app, "").await, "payer_iban").is_none());
    assert!(fact(&facts(&app, "?include_revoked=true").await, "payer_iban").is_some());
    assert_eq!(app.count("audit_trail WHERE action = 'learned_fact.revoked'"), 1);
    // Undone and made again on the same line: the revoked fact is not learned back from it.
    act(&app, &applied, "reject").await;
    allocate(&app, &manual).await;
    assert!(fact(&facts(&app, "").await, "payer_iban").is_none(), "{:?}", facts(&app, "").await);
    import(&app, &app.api_key, &[("L2", "2026-02-02", "230.00", "", OFFICE_IBAN, "")]).await;
    let allocs = run(&app, &app.api_key).await;
    assert!(of_line(&allocs, "L2").iter().all(|a| a["state"] != "auto_applied"), "{allocs:?}");
}

#[tokio::test]
async fn rejections_count_against_a_fact_and_the_tenant_sets_the_thresholds() {
    let app = spawn_app().await;
    setup(&app).await;
    let s = app.get("/api/v1/matching-settings").await.body;
    assert_eq!(
        (&s["learning_enabled"], &s["learned_iban_min_confirmations"], &s["learned_name_min_confirmations"]),
        (&json!(true), &json!(1), &json!(2)),
        "{s}"
    );
    assert_eq!(put_settings(&app, json!({"learned_iban_min_confirmations": 0})).await.status, 422);

    // Rejected: a negative fact, never enough to apply.
    import(&app, &app.api_key, &[("L1", "2026-02-01", "100.00", OFFICE, OFFICE_IBAN, "Rechnung 201")]).await;
    let allocs = run(&app, &app.api_key).await;
    act(&app, of_line(&allocs, "L1")[0], "reject").await;
    let iban = fact(&facts(&app, "").await, "payer_iban").unwrap().clone();
    assert_eq!((iban["confirmations"].as_i64(), iban["rejections"].as_i64()), (Some(0), Some(1)), "{iban}");
    let detail = app.get(&format!("/api/v1/learned-facts/{}", iban["id"].as_str().unwrap())).await;
    assert_eq!(detail.body["sources"][0]["how"], "rejected_proposal");
    // Confirmed afterwards (on another line): still not applied automatically.
    import(&app, &app.api_key, &[("L2", "2026-02-02", "230.00", OFFICE, OFFICE_IBAN, "Rechnung 202")]).await;
    let allocs = run(&app, &app.api_key).await;
    act(&app, of_line(&allocs, "L2")[0], "confirm").await;
    let iban = fact(&facts(&app, "").await, "payer_iban").unwrap().clone();
    assert_eq!((iban["confirmations"].as_i64(), iban["meets_threshold"].as_bool()), (Some(1), Some(false)));
    import(&app, &app.api_key, &[("L3", "2026-02-03", "315.00", "", OFFICE_IBAN, "")]).await;
    let allocs = run(&app, &app.api_key).await;
    let l3 = of_line(&allocs, "L3");
    assert!(!l3.is_empty() && l3.iter().all(|a| a["state"] == "proposed"), "{allocs:?}");
    assert_eq!(l3.iter().find(|a| a["candidate_set"] == 0).unwrap()["doc_no"], "INV-2026-0000203");

    // Learning off: confirmations teach nothing, and runs use nothing learned.
    assert_eq!(put_settings(&app, json!({"learning_enabled": false})).await.status, 200);
    let before = facts(&app, "").await;
    act(&app, l3.iter().find(|a| a["candidate_set"] == 0).unwrap(), "confirm").await;
    assert_eq!(facts(&app, "").await, before);
}

#[tokio::test]
async fn another_tenant_sees_and_revokes_nothing() {
    let app = spawn_app().await;
    setup(&app).await;
    import(&app, &app.api_key, &[("L1", "2026-02-01", "100.00", OFFICE, OFFICE_IBAN, "Rechnung 201")]).await;
    let allocs = run(&app, &app.api_key).await;
    act(&app, of_line(&allocs, "L1")[0], "confirm").await;
    let id = facts(&app, "").await[0]["id"].as_str().unwrap().to_string();
    let (_, other) = app.create_tenant("Other");
    let r = app.get_as(&other, "/api/v1/learned-facts?include_revoked=true").await;
    assert_eq!((r.status, r.body["items"].as_array().map(Vec::len)), (200, Some(0)), "{}", r.text);
    assert_eq!(app.get_as(&other, &format!("/api/v1/learned-facts/{id}")).await.status, 404);
    let r = app.send("DELETE", &format!("/api/v1/learned-facts/{id}"), Some(&other), None, &[]).await;
    assert_eq!(r.status, 404);
    let gql = app
        .graphql_as(
            Some(&other),
            "mutation($id: UUID!) { revokeLearnedFact(id: $id) { fact { id } } }",
            json!({"id": id}),
        )
        .await;
    assert!(gql.body["errors"].is_array(), "{}", gql.text);
    assert!(facts(&app, "").await.iter().all(|f| f["revoked_at"].is_null()));
    // A viewer reads but does not revoke.
    let k = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await;
    let viewer = k.body["api_key"].as_str().unwrap().to_string();
    assert_eq!(app.get_as(&viewer, "/api/v1/learned-facts").await.status, 200);
    let r = app.send("DELETE", &format!("/api/v1/learned-facts/{id}"), Some(&viewer), None, &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(app.get("/api/v1/learned-facts?kind=nonsense").await.status, 422);
}

#[tokio::test]
async fn choosing_among_equal_invoices_teaches_the_oldest_first_habit_or_argues_against_it() {
    let app = spawn_app().await;
    setup(&app).await;
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-2026-0000206,invoice,C1,2026-01-10,2026-02-09,EUR,640.00,\n\
        INV-2026-0000207,invoice,C1,2026-01-20,2026-02-19,EUR,640.00,\n\
        INV-2026-0000208,invoice,C1,2026-01-11,2026-02-10,EUR,999.00,\n\
        INV-2026-0000209,invoice,C1,2026-01-21,2026-02-20,EUR,999.00,\n";
    assert_eq!(app.post_csv("/api/v1/documents/import", ledger).await.status, 200);
    let c1_iban = "DE11111111111111111111";
    // The oldest of two equal invoices proposed and confirmed: a confirmation of the habit.
    import(&app, &app.api_key, &[("L1", "2026-02-20", "640.00", "Kalomer GmbH", c1_iban, "")]).await;
    let allocs = run(&app, &app.api_key).await;
    let first = of_line(&allocs, "L1").into_iter().find(|a| a["candidate_set"] == 0).unwrap().clone();
    assert_eq!((first["doc_no"].as_str(), first["state"].as_str()), (Some("INV-2026-0000206"), Some("proposed")));
    act(&app, &first, "confirm").await;
    let habit = fact(&facts(&app, "?kind=oldest_first").await, "oldest_first").unwrap().clone();
    assert_eq!((habit["confirmations"].as_i64(), habit["rejections"].as_i64()), (Some(1), Some(0)), "{habit}");
    assert_eq!((habit["key"].as_str(), habit["customer_code"].as_str()), (Some(""), Some("C1")));

    // A later one chosen by hand: evidence against it, taken back when that allocation is undone.
    import(&app, &app.api_key, &[("L2", "2026-02-21", "999.00", "Kalomer GmbH", c1_iban, "")]).await;
    run(&app, &app.api_key).await;
    let applied = allocate(&app, &by_hand(&app, "L2", "INV-2026-0000209", "999.00").await).await;
    let habit = fact(&facts(&app, "?kind=oldest_first").await, "oldest_first").unwrap().clone();
    assert_eq!((habit["confirmations"].as_i64(), habit["rejections"].as_i64()), (Some(1), Some(1)), "{habit}");
    let detail = app.get(&format!("/api/v1/learned-facts/{}", habit["id"].as_str().unwrap())).await;
    let hows: Vec<&str> = detail.body["sources"].as_array().unwrap().iter().filter_map(|s| s["how"].as_str()).collect();
    assert!(hows.contains(&"chose_later_item") && hows.contains(&"confirmed_proposal"), "{}", detail.text);
    act(&app, &applied, "reject").await;
    let habit = fact(&facts(&app, "?kind=oldest_first").await, "oldest_first").unwrap().clone();
    assert_eq!((habit["confirmations"].as_i64(), habit["rejections"].as_i64()), (Some(1), Some(0)), "{habit}");
    assert_eq!(app.get("/api/v1/learned-facts?kind=oldest_firsts").await.status, 422);
}

/// C1 quotes our numbers as "R<running number>/<year>": two manual allocations teach the shape,
/// and the next line quoting it is applied to C1's document with that running number.
#[tokio::test]
async fn the_way_a_customer_quotes_our_numbers_is_learned_and_read() {
    let app = spawn_app().await;
    setup(&app).await;
    import(
        &app,
        &app.api_key,
        &[
            ("F1", "2026-02-01", "100.00", "ZAHLER EINS", "", "Zahlung R201/26"),
            ("F2", "2026-02-02", "230.00", "ZAHLER ZWEI", "", "R0202/26 danke"),
        ],
    )
    .await;
    for (line, doc, amount) in [("F1", "INV-2026-0000201", "100.00"), ("F2", "INV-2026-0000202", "230.00")] {
        allocate(&app, &by_hand(&app, line, doc, amount).await).await;
    }
    let learned = facts(&app, "?kind=reference_format").await;
    assert_eq!(learned.len(), 1, "{learned:?}");
    let f = &learned[0];
    assert_eq!(
        (f["key"].as_str(), f["customer_code"].as_str(), f["confirmations"].as_i64(), f["meets_threshold"].as_bool()),
        (Some("R{n}/99"), Some("C1"), Some(2), Some(true)),
        "{f}"
    );

    import(&app, &app.api_key, &[("F3", "2026-02-03", "315.00", "KALOMER GMBH", "", "Zahlung R203/26")]).await;
    let allocs = run(&app, &app.api_key).await;
    let f3 = of_line(&allocs, "F3");
    assert_eq!((f3[0]["state"].as_str(), f3[0]["doc_no"].as_str()), (Some("auto_applied"), Some("INV-2026-0000203")));
    let learned_evidence = f3[0]["explanation"]["learned_evidence"].to_string();
    assert!(learned_evidence.contains("customer C1 quotes our numbers as 'R{n}/99'"), "{learned_evidence}");
}
