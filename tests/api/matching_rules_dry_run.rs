//! Matching rules in runs and in dry runs, over HTTP: a run applies the tenant's enabled rules
//! (an ignored line, an allocation naming its rule and version, rule evidence apart), a broken
//! stored rule is skipped, and `POST /matching-rules/dry-run` compares the live rules with a draft
//! without writing anything.

use crate::helpers::{spawn_app, TestApp};
use diesel::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// Three customers (C3 pays without IBAN), five invoices (one carries a purchase order number),
/// and one statement: a payment quoting an invoice, one quoting only a customer number, bank
/// interest, a large payment, a purchase-order payment and a debit. Returns the statement id.
async fn setup(app: &TestApp) -> String {
    for (code, name, iban) in [
        ("C1", "Kalomer GmbH", Some("DE11111111111111111111")),
        ("C2", "Renbentor Ltd", Some("FR2222222222222222222222")),
        ("C3", "Selvo Oy", None),
    ] {
        let accounts: Vec<&str> = iban.into_iter().collect();
        let r = app.post("/api/v1/customers", &json!({"code": code, "name": name, "bank_accounts": accounts})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-2026-0000101,invoice,C1,2026-01-05,2026-02-04,EUR,100.00,\n\
        INV-2026-0000103,invoice,C3,2026-01-07,2026-02-06,EUR,500.00,\n\
        INV-2026-0000104,invoice,C2,2026-01-08,2026-02-07,EUR,1200.00,\n\
        INV-2026-0000105,invoice,C2,2026-01-08,2026-02-07,EUR,800.00,PO-7781\n\
        INV-2026-0000106,invoice,C2,2026-01-09,2026-02-08,EUR,800.00,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-02-01,,100.00,EUR,KALOMER GMBH,DE11111111111111111111,INV-2026-0000101,\n\
        BL2,DE89370400440532013000,2026-02-02,,500.00,EUR,,,KD-NR C3 MAERZ,\n\
        BL3,DE89370400440532013000,2026-02-03,,42.00,EUR,BANK,,INTEREST CREDIT,\n\
        BL4,DE89370400440532013000,2026-02-04,,1200.00,EUR,RENBENTOR LTD,FR2222222222222222222222,INV-2026-0000104,\n\
        BL5,DE89370400440532013000,2026-02-05,,800.00,EUR,,,ORDER PO 7781,\n\
        BL6,DE89370400440532013000,2026-02-06,,-15.00,EUR,BANK,,ACCOUNT FEE,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["statement_id"].as_str().unwrap().to_string()
}

fn customer_number_rule() -> Value {
    json!({"when": {"remittance": "KD-NR\\s*(\\w+)"}, "then": [{"type": "customer_reference", "from": "remittance"}]})
}

fn interest_rule() -> Value {
    json!({"when": {"remittance": "^INTEREST CREDIT$"}, "then": [{"type": "ignore", "reason": "bank interest"}]})
}

/// A live rule, stored as `/matching-rules` stores it (that API is another module's).
fn store_rule(app: &TestApp, position: i32, name: &str, definition: &Value) -> Uuid {
    let id = Uuid::now_v7();
    let mut conn = app.db.connect();
    diesel::sql_query(
        "INSERT INTO matching_rules (id, tenant_id, name, position, enabled, version, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, true, 3, $5, now(), now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
    .bind::<diesel::sql_types::Text, _>(name)
    .bind::<diesel::sql_types::Integer, _>(position)
    .bind::<diesel::sql_types::Jsonb, _>(definition)
    .execute(&mut conn)
    .unwrap();
    id
}

fn by_line<'a>(report: &'a Value, line: &str) -> &'a Value {
    report["lines"].as_array().unwrap().iter().find(|l| l["line_id"] == line).unwrap_or_else(|| panic!("{line}"))
}

/// Rows of every table a run writes, and the audit entries.
fn fingerprint(app: &TestApp) -> Vec<i64> {
    [
        "allocations",
        "write_offs",
        "bank_lines WHERE status = 'unapplied'",
        "documents WHERE open_amount = amount",
        "(SELECT 1 FROM audit_pending UNION ALL SELECT 1 FROM audit_log) AS audit",
        "outbox_events",
        "reconciliation_runs",
    ]
    .iter()
    .map(|t| app.count(t))
    .collect()
}

#[tokio::test]
async fn a_run_applies_the_enabled_rules_and_names_them() {
    let app = spawn_app().await;
    setup(&app).await;
    let rule = store_rule(&app, 1, "Customer number", &customer_number_rule());
    store_rule(&app, 2, "Bank interest", &interest_rule());
    // A stored definition that no longer parses is skipped, never a failed run.
    store_rule(&app, 3, "Broken", &json!({"when": {"no_such_condition": 1}, "then": [{"type": "propose_only"}]}));
    let run = app.run_matching().await;
    assert_eq!(run["lines_total"], 5, "{run}");
    let id = run["id"].as_str().unwrap();
    let r = app.get(&format!("/api/v1/allocations?reconciliation_id={id}&limit=100")).await;
    let allocs = r.body["items"].as_array().unwrap().clone();
    let bl2: Vec<&Value> = allocs.iter().filter(|a| a["line_id"] == "BL2").collect();
    assert_eq!(bl2.len(), 1, "{allocs:?}");
    assert_eq!((bl2[0]["state"].as_str(), bl2[0]["doc_no"].as_str()), (Some("auto_applied"), Some("INV-2026-0000103")));
    assert_eq!(bl2[0]["matching_rule"], json!({"id": rule, "version": 3, "name": "Customer number"}));
    let rule_evidence = bl2[0]["rule_evidence"].as_array().unwrap();
    assert!(
        rule_evidence.iter().any(|e| e.as_str().unwrap().contains("read 'C3' from the remittance")),
        "{rule_evidence:?}"
    );
    assert!(bl2[0]["evidence"].as_array().unwrap().iter().all(|e| !e.as_str().unwrap().contains("Customer number")));
    assert_eq!(bl2[0]["learned_evidence"], json!([]));
    assert_eq!(app.count(&format!("allocations WHERE rule_id = '{rule}' AND rule_version = 3")), 1);
    // A line no rule shaped names none.
    let bl1 = allocs.iter().find(|a| a["line_id"] == "BL1").unwrap();
    assert_eq!(bl1["matching_rule"], Value::Null);
    assert_eq!(bl1["rule_evidence"], json!([]));
    // The ignored line: marked, nothing allocated, the reason in the audit trail.
    assert!(allocs.iter().all(|a| a["line_id"] != "BL3"));
    let ignored = app.get("/api/v1/bank-lines?status=ignored&limit=10").await;
    let ignored = ignored.body["items"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    assert_eq!(ignored[0]["line_id"], "BL3");
    app.seal_audit();
    let audit = app.get("/api/v1/audit?action=bank_line.ignored&limit=10").await;
    let entries = audit.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    assert!(entries[0]["after"]["reason"].as_str().unwrap().contains("bank interest"), "{entries:?}");
    assert_eq!(entries[0]["after"]["matching_rule"]["name"], "Bank interest");
    // GraphQL shows the same, evidence lists apart.
    let q = "query($id: UUID) { allocations(reconciliationId: $id) { items { lineId matchingRule { id version name } evidence ruleEvidence learnedEvidence } } }";
    let r = app.graphql_as(Some(&app.api_key), q, json!({"id": id})).await;
    let items = r.body["data"]["allocations"]["items"].as_array().unwrap_or_else(|| panic!("{}", r.text));
    let g2 = items.iter().find(|a| a["lineId"] == "BL2").unwrap();
    assert_eq!(g2["matchingRule"]["version"], 3);
    assert!(!g2["ruleEvidence"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_dry_run_compares_the_draft_with_the_live_rules_and_writes_nothing() {
    let app = spawn_app().await;
    let statement = setup(&app).await;
    let live = store_rule(
        &app,
        1,
        "Large payments by hand",
        &json!({"when": {"amount_min": "5000"}, "then": [{"type": "propose_only"}]}),
    );
    let draft = json!({"statement_id": statement, "rules": [
        {"name": "Customer number", "definition": customer_number_rule()},
        {"name": "Bank interest", "definition": interest_rule()},
        {"name": "Large payments by hand", "definition": {"when": {"amount_min": "1000"}, "then": [{"type": "propose_only"}]}},
        {"name": "PO numbers", "definition": {"when": {"remittance": "\\bPO[ -]?(\\d{4,})"},
                                              "then": [{"type": "document_reference", "from": "remittance", "prefix": "PO-"}]}},
    ]});
    let before = fingerprint(&app);
    let r = app.post("/api/v1/matching-rules/dry-run", &draft).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fingerprint(&app), before, "a dry run writes nothing");
    let report = r.body;
    let s = &report["summary"];
    assert_eq!(
        (s["lines"].as_i64(), s["matched"].as_i64(), s["not_matched"].as_i64()),
        (Some(6), Some(5), Some(1)),
        "{s}"
    );
    assert_eq!(
        (s["gained"].as_i64(), s["lost"].as_i64(), s["changed"].as_i64(), s["same"].as_i64()),
        (Some(1), Some(1), Some(1), Some(2)),
        "{s}"
    );
    assert_eq!(s["current"]["auto_applied"], 3);
    assert_eq!(s["draft"]["ignored"], 1);

    let bl1 = by_line(&report, "BL1");
    assert_eq!(bl1["change"], "same");
    assert_eq!(bl1["draft"]["decision"], "auto_applied");
    let bl2 = by_line(&report, "BL2");
    assert_eq!(
        (bl2["change"].as_str(), bl2["current"]["decision"].as_str()),
        (Some("gained"), Some("unmatched")),
        "{bl2}"
    );
    let a = &bl2["draft"]["allocations"][0];
    assert_eq!((a["doc_no"].as_str(), a["amount"].as_str()), (Some("INV-2026-0000103"), Some("500.00")), "{bl2}");
    assert_eq!(a["matching_rule"], json!({"name": "Customer number", "id": null, "version": null, "draft_rule": 1}));
    assert_eq!(bl2["draft"]["matching_rule"]["draft_rule"], 1);
    assert!(a["rule_evidence"][0].as_str().unwrap().contains("draft rule 'Customer number'"), "{a}");
    let bl3 = by_line(&report, "BL3");
    assert_eq!((bl3["change"].as_str(), bl3["draft"]["decision"].as_str()), (Some("changed"), Some("ignored")));
    assert!(bl3["draft"]["explanation"].as_str().unwrap().contains("bank interest"));
    let bl4 = by_line(&report, "BL4");
    assert_eq!((bl4["change"].as_str(), bl4["draft"]["decision"].as_str()), (Some("lost"), Some("proposed")), "{bl4}");
    assert_eq!(bl4["current"]["matching_rule"], Value::Null, "the live rule did not fire on 1200");
    // The purchase-order number the document carries is read without any rule too: the draft's
    // rule changes nothing there.
    let bl5 = by_line(&report, "BL5");
    assert_eq!(bl5["change"], "same", "{bl5}");
    let current = &bl5["current"]["allocations"][0];
    assert_eq!(current["doc_no"], "INV-2026-0000105", "{bl5}");
    assert!(current["evidence"][0].as_str().unwrap().contains("the customer's own reference"), "{bl5}");
    let bl6 = by_line(&report, "BL6");
    assert_eq!(bl6["change"], Value::Null);
    assert!(bl6["not_matched"].as_str().unwrap().contains("debit"), "{bl6}");
    let _ = live;

    // The same through GraphQL, by line ids.
    let ids: Vec<String> =
        ["BL2", "BL4"].iter().map(|l| by_line(&report, l)["bank_line_id"].as_str().unwrap().to_string()).collect();
    let q = "query($input: DryRunRequest!) { matchingRulesDryRun(input: $input) { summary { gained lost } lines { lineId change } } }";
    let input = json!({"lineIds": ids, "rules": draft["rules"]});
    let r = app.graphql_as(Some(&app.api_key), q, json!({"input": input})).await;
    let g = &r.body["data"]["matchingRulesDryRun"];
    assert_eq!((g["summary"]["gained"].as_i64(), g["summary"]["lost"].as_i64()), (Some(1), Some(1)), "{}", r.text);
    assert_eq!(fingerprint(&app), before);
}

#[tokio::test]
async fn a_dry_run_refuses_bad_drafts_and_other_tenants_lines_precisely() {
    let app = spawn_app().await;
    let statement = setup(&app).await;
    let draft = json!({"statement_id": statement, "rules": [
        {"name": "Customer number", "definition": customer_number_rule()},
        {"name": "Broken", "definition": {"when": {"remittance": "INV-(["}, "then": [{"type": "propose_only"}]}},
    ]});
    let r = app.post("/api/v1/matching-rules/dry-run", &draft).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "rules[1].definition.when.remittance", "{}", r.text);
    let unknown =
        json!({"statement_id": statement, "rules": [{"name": "X", "definition": {"then": [{"type": "fly"}]}}]});
    let r = app.post("/api/v1/matching-rules/dry-run", &unknown).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "rules[0].definition", "{}", r.text);
    // At most 10,000 lines.
    let many: Vec<String> = (0..10_001).map(|_| Uuid::now_v7().to_string()).collect();
    let r = app.post("/api/v1/matching-rules/dry-run", &json!({"line_ids": many, "rules": []})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("at most 10000 lines; 10001 were given"), "{}", r.text);
    let r = app.post("/api/v1/matching-rules/dry-run", &json!({"rules": []})).await;
    assert_eq!(r.status, 422, "{}", r.text);

    // Another tenant: A's statement is not found, A's lines are no lines of B's.
    let (_, b_key) = app.create_tenant("Other");
    let before = fingerprint(&app);
    let r =
        app.post_as(&b_key, "/api/v1/matching-rules/dry-run", &json!({"statement_id": statement, "rules": []})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let mine = app.post("/api/v1/matching-rules/dry-run", &json!({"statement_id": statement, "rules": []})).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let line = mine.body["lines"][0]["bank_line_id"].as_str().unwrap().to_string();
    let r = app.post_as(&b_key, "/api/v1/matching-rules/dry-run", &json!({"line_ids": [line], "rules": []})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("no such bank line"), "{}", r.text);
    assert!(!r.text.contains("INV-2026"), "nothing of A's leaks: {}", r.text);
    assert_eq!(fingerprint(&app), before);
}
