//! Collection work: dunning runs create tasks for people (assigned to the customer's owner or
//! in turn over a team), tasks are worked and reassigned, contacts are logged with promises to
//! pay, and promises are kept by a real cash-application run or broken by the promise check
//! (a follow-up task, or a level higher at the next dunning run).

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) async fn put(app: &TestApp, path: &str, body: &Value) -> Value {
    let r = app.put(path, body).await;
    assert_eq!(r.status, 200, "PUT {path}: {}", r.text);
    r.body
}

pub(crate) async fn user(app: &TestApp, email: &str) -> String {
    let r = app
        .post("/api/v1/users", &json!({"email": email, "password": "correct horse battery", "role": "accountant"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

pub(crate) async fn customers_with_invoices(app: &TestApp, rows: &[(&str, &str, &str)]) {
    let mut ledger = String::from("doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n");
    for (code, due, amount) in rows {
        let r = app
            .post(
                "/api/v1/customers",
                &json!({"code": code, "name": format!("Debtor {code}"), "default_currency": "EUR"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ledger += &format!("INV-{code},invoice,{code},2026-01-01,{due},EUR,{amount},\n");
    }
    let r = app.post_csv("/api/v1/documents/import", &ledger).await;
    assert_eq!(r.body["created"], rows.len(), "{}", r.text);
}

pub(crate) async fn dunning_run(app: &TestApp, as_of: &str) -> Value {
    let r = app.post("/api/v1/dunning-runs", &json!({"as_of": as_of})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn tasks(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/collection-tasks?{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn assignees(list: &[Value]) -> Vec<String> {
    list.iter().map(|t| t["assignee_user_id"].as_str().unwrap_or("-").to_string()).collect()
}

#[tokio::test]
async fn dunning_runs_create_tasks_for_owners_and_in_turn_over_the_team() {
    let app = spawn_app().await;
    let (u1, u2, owner) =
        (user(&app, "u1@acme.example").await, user(&app, "u2@acme.example").await, user(&app, "o@acme.example").await);
    // As of 2026-06-30: D1 120 days overdue, D2 40, D3 10.
    customers_with_invoices(
        &app,
        &[("D1", "2026-03-02", "100.00"), ("D2", "2026-05-21", "200.00"), ("D3", "2026-06-20", "300.00")],
    )
    .await;
    let r = app.patch_as(&app.api_key, "/api/v1/customers/D1", &json!({"owner_user_id": owner})).await;
    assert_eq!((r.status, r.body["owner_user_id"].as_str()), (200, Some(owner.as_str())), "{}", r.text);
    let r = app.patch_as(&app.api_key, "/api/v1/customers/D2", &json!({"owner_user_id": uuid::Uuid::nil()})).await;
    assert_eq!(r.status, 422, "an owner must be a user of the tenant: {}", r.text);
    put(
        &app,
        "/api/v1/dunning-levels",
        &json!([
            {"code": "A", "name": "Call and write", "severity": 2, "min_days_overdue": 30, "action": "letter",
             "actions": ["call", "letter"], "repeat_every_days": 7},
            {"code": "B", "name": "Remind", "severity": 1, "min_days_overdue": 1, "action": "reminder"}
        ]),
    )
    .await;
    let levels = app.get("/api/v1/dunning-levels").await.body;
    assert_eq!(levels[1]["actions"], json!(["email"]), "a reminder without actions is an email task: {levels}");
    let settings = json!({"assignment": "customer_owner", "team": [u1, u2], "broken_promise_action": "follow_up_task"});
    let s = put(&app, "/api/v1/collection-settings", &settings).await;
    assert_eq!(s["task_due_days"], 3, "{s}");

    let first = dunning_run(&app, "2026-06-30").await;
    assert_eq!(first["tasks_created"], 5, "{first}");
    // D1's go to its owner; D2's and D3's to the team in turn (customers in a fixed order).
    assert_eq!(assignees(&tasks(&app, "customer=D1").await), [owner.clone(), owner.clone()]);
    let d2 = tasks(&app, "customer=D2").await;
    assert_eq!(assignees(&d2), [u1.clone(), u2.clone()]);
    assert_eq!((d2[0]["kind"].as_str(), d2[1]["kind"].as_str()), (Some("call"), Some("letter")));
    assert_eq!((d2[0]["source"].as_str(), d2[0]["due_on"].as_str()), (Some("level_reached"), Some("2026-07-03")));
    assert!(d2[0]["reason"].as_str().unwrap().contains("reached level A"), "{}", d2[0]);
    assert_eq!(d2[0]["dunning_run_id"], first["id"]);
    let d3 = tasks(&app, "customer=D3").await;
    assert_eq!((assignees(&d3), d3[0]["kind"].as_str()), (vec![u1.clone()], Some("email")));
    assert_eq!(app.count("outbox_events WHERE event_type = 'collection_task.created'"), 5);
    assert_eq!(app.count("audit_trail WHERE action = 'collection_task.created'"), 5);

    // The same day again creates nothing; a week later A's actions are due again, and the turn
    // goes on where it stopped.
    assert_eq!(dunning_run(&app, "2026-06-30").await["tasks_created"], 0);
    let week = dunning_run(&app, "2026-07-07").await;
    assert_eq!(week["tasks_created"], 4, "{week}");
    let repeats = tasks(&app, "customer=D2&due_after=2026-07-10").await;
    assert_eq!(assignees(&repeats), [u2.clone(), u1.clone()], "{repeats:?}");
    assert_eq!(repeats[0]["source"], "level_repeat");
    // round_robin ignores owners.
    put(
        &app,
        "/api/v1/collection-settings",
        &json!({"assignment": "round_robin", "team": [u1, u2], "broken_promise_action": "follow_up_task"}),
    )
    .await;
    dunning_run(&app, "2026-07-14").await;
    let d1 = tasks(&app, "customer=D1&due_after=2026-07-17").await;
    assert_eq!(assignees(&d1), [u2.clone(), u1.clone()]);

    // Filters and pages.
    assert_eq!(tasks(&app, &format!("assignee={owner}")).await.len(), 4);
    assert_eq!(tasks(&app, "due_before=2026-07-03").await.len(), 5);
    let page = app.get("/api/v1/collection-tasks?limit=4").await.body;
    let next = page["next_cursor"].as_str().expect("more than 4 tasks");
    let rest = app.get(&format!("/api/v1/collection-tasks?limit=100&cursor={next}")).await.body;
    assert_eq!(page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(), 13);
    assert_eq!(app.get("/api/v1/collection-tasks?status=maybe").await.status, 422);
    assert_eq!(tasks(&app, "customer=NOPE").await.len(), 0);

    // Working a task: done and reassigned, audited; bad input refused.
    let id = d3[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/collection-tasks/{id}");
    let r = app
        .patch_as(&app.api_key, &path, &json!({"status": "done", "assignee_user_id": u2, "note": "called, will pay"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["status"].as_str(), r.body["assignee_user_id"].as_str()), (Some("done"), Some(u2.as_str())));
    assert!(r.body["closed_at"].is_string(), "{}", r.text);
    assert_eq!(app.get(&path).await.body["note"], "called, will pay");
    assert_eq!(tasks(&app, "status=done").await.len(), 1);
    assert_eq!(app.count(&format!("audit_trail WHERE action = 'collection_task.updated' AND entity_id = '{id}'")), 1);
    assert_eq!(app.patch_as(&app.api_key, &path, &json!({"status": "finished"})).await.status, 422);
    let stranger = json!({"assignee_user_id": uuid::Uuid::now_v7()});
    assert_eq!(app.patch_as(&app.api_key, &path, &stranger).await.status, 422);
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.patch_as(&viewer, &path, &json!({"status": "open"})).await.status, 403);
    assert_eq!(app.get_as(&viewer, &path).await.status, 200);

    // GraphQL: the same tasks and the same update.
    let q = "query { collectionTasks(filter: {customer: \"D1\"}) { items { id assigneeUserId } } }";
    let r = app.graphql_as(Some(&app.api_key), q, json!({})).await;
    assert_eq!(r.body["data"]["collectionTasks"]["items"].as_array().unwrap().len(), 6, "{}", r.text);
    let m = "mutation($id: UUID!) { updateCollectionTask(id: $id, patch: {status: \"cancelled\", assigneeUserId: null}) { status assigneeUserId } }";
    let r = app.graphql_as(Some(&app.api_key), m, json!({"id": id})).await;
    assert_eq!(
        r.body["data"]["updateCollectionTask"],
        json!({"status": "cancelled", "assigneeUserId": null}),
        "{}",
        r.text
    );

    // Another tenant sees none of it.
    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, &path).await.status, 404);
    assert_eq!(app.get_as(&other, "/api/v1/collection-tasks").await.body["items"], json!([]));
    assert_eq!(app.patch_as(&other, &path, &json!({"status": "open"})).await.status, 404);
}

async fn log(app: &TestApp, path: &str, body: Value) -> crate::helpers::Response {
    app.post(path, &body).await
}

#[tokio::test]
async fn contacts_are_logged_and_a_promise_to_pay_needs_its_terms() {
    let app = spawn_app().await;
    customers_with_invoices(&app, &[("C1", "2026-05-01", "800.00"), ("C2", "2026-05-01", "100.00")]).await;
    let person = app.post("/api/v1/customers/C1/contacts", &json!({"name": "Li Na", "for_dunning": true})).await;
    assert_eq!(person.status, 201, "{}", person.text);
    let other_person = app.post("/api/v1/customers/C2/contacts", &json!({"name": "Wang Wei"})).await.body["id"].clone();
    let path = "/api/v1/customers/C1/contact-log";
    let promise = json!({"date": "2026-07-10", "amount": "800.00", "currency": "EUR"});
    for (body, field) in [
        (json!({"channel": "phone", "outcome": "promise_to_pay"}), "promise"),
        (json!({"channel": "phone", "outcome": "reached", "promise": promise}), "promise"),
        (json!({"channel": "fax", "outcome": "reached"}), "channel"),
        (json!({"channel": "phone", "outcome": "maybe"}), "outcome"),
        (
            json!({"channel": "phone", "outcome": "promise_to_pay", "promise": {"date": "2026-07-10", "amount": "-1", "currency": "EUR"}}),
            "promise.amount",
        ),
        (
            json!({"channel": "phone", "outcome": "promise_to_pay", "promise": {"date": "2026-07-10", "amount": "1.001", "currency": "EUR"}}),
            "promise.amount",
        ),
        (
            json!({"channel": "phone", "outcome": "promise_to_pay", "contacted_on": "2026-07-11", "promise": promise}),
            "promise.date",
        ),
        (json!({"channel": "phone", "outcome": "reached", "contact_id": other_person}), "contact_id"),
    ] {
        let r = log(&app, path, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    assert_eq!(app.count("contact_log"), 0, "refused entries write nothing");

    let r = log(&app, path, json!({"channel": "phone", "outcome": "no_answer", "contacted_on": "2026-06-30"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = log(
        &app,
        path,
        json!({"channel": "phone", "outcome": "promise_to_pay", "note": "pays after the audit", "contacted_on": "2026-07-01",
               "contact_id": person.body["id"], "promise": promise}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["promise"]["status"], "pending");
    assert_eq!(
        (r.body["promise"]["amount"].as_str(), r.body["promise"]["made_on"].as_str()),
        (Some("800.00"), Some("2026-07-01"))
    );
    assert_eq!(r.body["actor_type"], "api_key");
    let list = app.get(path).await.body;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(
        (items[0]["outcome"].as_str(), items[1]["outcome"].as_str()),
        (Some("promise_to_pay"), Some("no_answer"))
    );
    assert_eq!(items[0]["promise"]["promised_date"], "2026-07-10");
    let promises = app.get("/api/v1/customers/C1/promises").await.body;
    assert_eq!(promises.as_array().unwrap().len(), 1, "{promises}");
    assert_eq!(app.count("audit_trail WHERE action = 'contact.logged'"), 2);

    // A contact for a task belongs to the task's customer; GraphQL logs the same way.
    put(
        &app,
        "/api/v1/dunning-levels",
        &json!([{"code": "B", "name": "Remind", "severity": 1, "min_days_overdue": 1, "action": "call"}]),
    )
    .await;
    dunning_run(&app, "2026-06-30").await;
    let task = tasks(&app, "customer=C2").await[0]["id"].as_str().unwrap().to_string();
    let r = log(
        &app,
        &format!("/api/v1/collection-tasks/{task}/contacts"),
        json!({"channel": "email", "outcome": "refused"}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["customer_code"].as_str(), r.body["task_id"].as_str()),
        (201, Some("C2"), Some(task.as_str())),
        "{}",
        r.text
    );
    let m = "mutation { logContact(customerCode: \"C2\", input: {channel: \"visit\", outcome: \"wrong_contact\"}) { outcome customerCode } }";
    let r = app.graphql_as(Some(&app.api_key), m, json!({})).await;
    assert_eq!(r.body["data"]["logContact"]["outcome"], "wrong_contact", "{}", r.text);
    let q = "{ contactLog(code: \"C2\") { items { outcome } } promises(code: \"C1\") { status } }";
    let r = app.graphql_as(Some(&app.api_key), q, json!({})).await;
    assert_eq!(r.body["data"]["contactLog"]["items"].as_array().unwrap().len(), 2, "{}", r.text);

    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, path).await.status, 404);
    assert_eq!(app.post_as(&other, path, &json!({"channel": "phone", "outcome": "reached"})).await.status, 404);
    assert_eq!(app.get_as(&other, "/api/v1/customers/C1/promises").await.status, 404);
}

async fn wait_completed(app: &TestApp, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.get(&format!("/api/v1/reconciliations/{id}")).await;
        if r.body["status"] == "completed" {
            return r.body;
        }
        assert!(r.body["status"] != "failed" && Instant::now() < deadline, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn promises_are_kept_by_a_cash_application_run_and_broken_by_the_check() {
    let app = spawn_app().await;
    for (code, iban) in [("P1", "DE11111111111111111111"), ("P2", "FR2222222222222222222222")] {
        let r = app
            .post(
                "/api/v1/customers",
                &json!({"code": code, "name": format!("Payer {code}"), "default_currency": "EUR", "bank_accounts": [iban]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app.post("/api/v1/customers", &json!({"code": "P3", "name": "Payer P3", "default_currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-2026-0000701,invoice,P1,2026-04-01,2026-05-01,EUR,1000.00,\n\
        INV-2026-0000702,invoice,P2,2026-04-01,2026-05-01,EUR,500.00,\n\
        INV-2026-0000703,invoice,P3,2026-04-01,2026-05-01,EUR,500.00,\n";
    assert_eq!(app.post_csv("/api/v1/documents/import", ledger).await.body["created"], 3);
    let promised = [("P1", "2026-07-10", "1000.00"), ("P2", "2026-07-05", "500.00"), ("P3", "2026-07-10", "500.00")];
    for (code, date, amount) in promised {
        let r = app
            .post(
                &format!("/api/v1/customers/{code}/contact-log"),
                &json!({"channel": "phone", "outcome": "promise_to_pay", "contacted_on": "2026-07-01",
                        "promise": {"date": date, "amount": amount, "currency": "EUR"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // P1 pays in full on 2026-07-08, quoting its invoice; P2 pays nothing; 200.00 come from an
    // unknown payer (allocated to P3 by hand below).
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-07-08,,1000.00,EUR,PAYER P1,DE11111111111111111111,INV-2026-0000701,\n\
        BL2,DE89370400440532013000,2026-07-09,,200.00,EUR,SOMEONE,,advance,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get("/api/v1/customers/P1/promises").await.body[0]["status"], "pending");
    let run = app.post("/api/v1/reconciliations", &json!({})).await;
    assert_eq!(run.status, 202, "{}", run.text);
    let done = wait_completed(&app, run.body["id"].as_str().unwrap()).await;
    assert_eq!(done["auto_applied"], 1, "{done}");

    let p1 = app.get("/api/v1/customers/P1/promises").await.body[0].clone();
    assert_eq!((p1["status"].as_str(), p1["paid_amount"].as_str()), (Some("kept"), Some("1000.00")), "{p1}");
    assert_eq!(app.count("outbox_events WHERE event_type = 'promise.kept'"), 1);
    assert_eq!(app.count("audit_trail WHERE action = 'promise.kept' AND actor_type = 'system'"), 1);
    // P2's date passed, but only the check (or a dunning run) judges it.
    assert_eq!(app.get("/api/v1/customers/P2/promises").await.body[0]["status"], "pending");
    // A manual allocation counts toward P3's promise at once (not enough to keep it).
    let lines = app.get("/api/v1/bank-lines").await.body;
    let line = lines["items"].as_array().unwrap().iter().find(|l| l["amount"] == "200.00").expect("BL2")["id"].clone();
    let doc = app.get("/api/v1/documents?q=INV-2026-0000703").await.body["items"][0]["id"].clone();
    let r = app
        .post(
            "/api/v1/allocations",
            &json!({"bank_line_id": line, "allocations": [{"document_id": doc, "amount": "200.00"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let p3 = app.get("/api/v1/customers/P3/promises").await.body[0].clone();
    assert_eq!((p3["status"].as_str(), p3["paid_amount"].as_str()), (Some("pending"), Some("200.00")), "{p3}");

    let check = app.post("/api/v1/promises/check", &json!({"as_of": "2026-07-05"})).await;
    assert_eq!(
        (check.status, check.body["broken"].as_i64()),
        (200, Some(0)),
        "not before the day after: {}",
        check.text
    );
    let check = app.post("/api/v1/promises/check", &json!({"as_of": "2026-07-06"})).await;
    assert_eq!(
        check.body,
        json!({"as_of": "2026-07-06", "kept": 0, "partially_kept": 0, "broken": 1, "tasks_created": 1, "levels_raised": 0})
    );
    let p2 = app.get("/api/v1/customers/P2/promises").await.body[0].clone();
    assert_eq!((p2["status"].as_str(), p2["paid_amount"].as_str()), (Some("broken"), Some("0.00")), "{p2}");
    let follow_up = tasks(&app, "customer=P2").await;
    assert_eq!(follow_up.len(), 1);
    assert_eq!(
        (follow_up[0]["kind"].as_str(), follow_up[0]["source"].as_str()),
        (Some("call"), Some("broken_promise"))
    );
    assert_eq!(follow_up[0]["promise_id"], p2["id"]);
    assert!(follow_up[0]["reason"].as_str().unwrap().contains("broken"), "{}", follow_up[0]);
    assert_eq!(app.count("outbox_events WHERE event_type = 'promise.broken'"), 1);
    assert_eq!(app.count("audit_trail WHERE action = 'promise.broken'"), 1);
    // P3 paid part by its date: partially kept, announced as broken, followed up. P2 is judged once.
    let later = app.post("/api/v1/promises/check", &json!({"as_of": "2026-07-20"})).await.body;
    assert_eq!(
        later,
        json!({"as_of": "2026-07-20", "kept": 0, "partially_kept": 1, "broken": 0, "tasks_created": 1, "levels_raised": 0})
    );
    assert_eq!(app.get("/api/v1/customers/P3/promises").await.body[0]["status"], "partially_kept");
    assert_eq!(app.count("outbox_events WHERE event_type = 'promise.broken'"), 2);
    assert_eq!(tasks(&app, "customer=P3").await.len(), 1);

    // P1's payment turns out to be someone else's: unapplying it reopens the kept promise, and
    // the next check judges it as if it had never been kept.
    let allocations = app.get("/api/v1/allocations").await.body;
    let p1_alloc =
        allocations["items"].as_array().unwrap().iter().find(|a| a["state"] == "auto_applied").expect("P1's")["id"]
            .clone();
    let r = app.post(&format!("/api/v1/allocations/{}/reject", p1_alloc.as_str().unwrap()), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p1 = app.get("/api/v1/customers/P1/promises").await.body[0].clone();
    assert_eq!((p1["status"].as_str(), p1["paid_amount"].as_str()), (Some("pending"), Some("0.00")), "{p1}");
    assert_eq!(app.count("audit_trail WHERE action = 'promise.reopened'"), 1);
    let again = app.post("/api/v1/promises/check", &json!({"as_of": "2026-07-20"})).await.body;
    assert_eq!((again["broken"].as_i64(), again["kept"].as_i64()), (Some(1), Some(0)), "{again}");
    assert_eq!(app.get("/api/v1/customers/P1/promises").await.body[0]["status"], "broken");
}

#[tokio::test]
async fn a_broken_promise_raises_the_level_when_the_tenant_says_so() {
    let app = spawn_app().await;
    customers_with_invoices(&app, &[("R1", "2026-06-10", "400.00")]).await;
    put(
        &app,
        "/api/v1/dunning-levels",
        &json!([
            {"code": "A", "name": "Legal", "severity": 2, "min_days_overdue": 60, "action": "legal_letter"},
            {"code": "B", "name": "Remind", "severity": 1, "min_days_overdue": 1, "action": "reminder"}
        ]),
    )
    .await;
    put(
        &app,
        "/api/v1/collection-settings",
        &json!({"assignment": "customer_owner", "broken_promise_action": "raise_level"}),
    )
    .await;
    let first = dunning_run(&app, "2026-06-30").await;
    assert_eq!(first["actions"][0]["level"], "B", "{first}");
    let r = app
        .post(
            "/api/v1/customers/R1/contact-log",
            &json!({"channel": "phone", "outcome": "promise_to_pay", "contacted_on": "2026-06-30",
                    "promise": {"date": "2026-07-03", "amount": "400.00", "currency": "EUR"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // 25 days overdue gives B; the broken promise adds a step: A, with A's legal letter.
    let run = dunning_run(&app, "2026-07-05").await;
    assert_eq!(
        (run["promises"]["broken"].as_i64(), run["promises"]["levels_raised"].as_i64()),
        (Some(1), Some(1)),
        "{run}"
    );
    let change = &run["actions"][0];
    assert_eq!((change["previous_level"].as_str(), change["level"].as_str()), (Some("B"), Some("A")), "{run}");
    assert_eq!(app.get("/api/v1/customers/R1/dunning").await.body["level"], "A");
    let raised = tasks(&app, "customer=R1&due_after=2026-07-06").await;
    assert_eq!((raised.len(), raised[0]["kind"].as_str()), (1, Some("legal_letter")), "{raised:?}");
    assert_eq!(tasks(&app, "customer=R1").await.iter().filter(|t| t["source"] == "broken_promise").count(), 0);
    assert_eq!(app.count("audit_trail WHERE action = 'dunning.escalated'"), 1);
    // It stays raised while overdue; paying everything ends it.
    assert_eq!(dunning_run(&app, "2026-07-06").await["level_changes"], 0);
}
