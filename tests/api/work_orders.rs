//! Dispute work orders: opened by a customer's dispute (one per dispute) or by hand; lifecycle,
//! filters and pages; comments shared with the portal through the difference thread; the SLA
//! breach announced exactly once by the sweep of an app whose clock runs ahead; every event with
//! its customer and the order's view; other tenants see nothing.

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// (customer_id, payload) of the tenant's events of one type, oldest first.
fn events(app: &TestApp, event_type: &str) -> Vec<(Option<uuid::Uuid>, Value)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
        customer_id: Option<uuid::Uuid>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        payload: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT customer_id, payload::text AS payload FROM outbox_events WHERE event_type = $1 ORDER BY created_at, id",
    )
    .bind::<diesel::sql_types::Text, _>(event_type)
    .load(&mut app.db.connect())
    .unwrap();
    rows.into_iter().map(|r| (r.customer_id, serde_json::from_str(&r.payload).unwrap())).collect()
}

fn customer_id(app: &TestApp, code: &str) -> uuid::Uuid {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let r: Row = diesel::sql_query("SELECT id FROM customers WHERE code = $1")
        .bind::<diesel::sql_types::Text, _>(code)
        .get_result(&mut app.db.connect())
        .unwrap();
    r.id
}

/// A customer whose statement lacks one of our invoices: that difference, sent to them, and a
/// portal token of theirs.
async fn sent_difference(app: &TestApp, code: &str) -> (String, String, String) {
    let (id, doc) = app.sent_difference(code).await;
    let t = app.post(&format!("/api/v1/customers/{code}/portal-tokens"), &json!({})).await;
    (id, t.body["token"].as_str().unwrap().to_string(), doc["id"].as_str().unwrap().to_string())
}

async fn user(app: &TestApp, email: &str) -> String {
    let r = app
        .post("/api/v1/users", &json!({"email": email, "password": "correct horse battery", "role": "accountant"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_dispute_opens_one_work_order_whose_visible_comments_reach_the_portal() {
    let app = spawn_app().await;
    let (id, token, doc) = sent_difference(&app, "D1").await;
    let r = app
        .post_as(&token, &format!("/api/v1/portal/differences/{id}/dispute"), &json!({"body": "数量不符，少发了20件"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The portal sees the cause, not the internal explanation.
    assert_eq!(
        (r.body["difference"]["cause"].as_str(), r.body["difference"]["sub_cause"].as_str()),
        (Some("dispute"), Some("quantity"))
    );
    assert_eq!(r.body["difference"]["cause_explanation"], Value::Null);
    let mine = app.get(&format!("/api/v1/differences/{id}")).await;
    assert!(mine.body["difference"]["cause_explanation"].as_str().unwrap().contains("数量"), "{}", mine.text);

    let list = app.get("/api/v1/work-orders?customer=D1").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    let wo = &items[0];
    assert_eq!(
        (wo["status"].as_str(), wo["cause"].as_str(), wo["priority"].as_str()),
        (Some("open"), Some("dispute"), Some("normal"))
    );
    assert_eq!(wo["dispute_difference_id"], id.as_str());
    assert_eq!(wo["difference_ids"], json!([id]));
    assert_eq!(wo["documents"][0]["id"], doc.as_str(), "the difference's document is linked");
    assert_eq!(wo["visible_to_customer"], true);
    assert_eq!(wo["comments"][0]["body"], "数量不符，少发了20件");
    let created = chrono::DateTime::parse_from_rfc3339(wo["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(wo["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_hours(), 240, "the default dispute service level");
    let wo_id = wo["id"].as_str().unwrap().to_string();
    let created_events = events(&app, "work_order.created");
    assert_eq!(created_events.len(), 1);
    assert_eq!(created_events[0].0, Some(customer_id(&app, "D1")));
    let view = &created_events[0].1["data"]["work_order"];
    assert_eq!((view["id"].as_str(), view["customer_code"].as_str()), (Some(wo_id.as_str()), Some("D1")));
    assert_eq!((view["status"].as_str(), view["visible_to_customer"].as_bool()), (Some("open"), Some(true)));

    // A comment for the customer lands in the difference thread; an internal one does not.
    let path = format!("/api/v1/work-orders/{wo_id}/comments");
    let shared =
        app.post(&path, &json!({"body": "We are checking the delivery note", "visible_to_customer": true})).await;
    assert_eq!(shared.status, 201, "{}", shared.text);
    let internal = app.post(&path, &json!({"body": "Warehouse says 20 are missing"})).await;
    assert_eq!(internal.status, 201, "{}", internal.text);
    let thread = app.get_as(&token, &format!("/api/v1/portal/differences/{id}")).await;
    let bodies: Vec<&str> =
        thread.body["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert!(bodies.contains(&"We are checking the delivery note"), "{bodies:?}");
    assert!(!bodies.iter().any(|b| b.contains("Warehouse")), "{bodies:?}");
    assert_eq!(events(&app, "work_order.commented").len(), 2);
    let detail = app.get(&format!("/api/v1/work-orders/{wo_id}")).await;
    assert_eq!(detail.body["comments"].as_array().unwrap().len(), 3, "{}", detail.text);
    app.seal_audit();
    assert_eq!(app.count("audit_trail WHERE action = 'work_order.created'"), 1);
    assert_eq!(app.count("audit_trail WHERE action = 'work_order.commented'"), 2);

    // The customer's reply in the portal reaches the work order; one waiting for it is back in
    // progress.
    let r = app
        .patch_as(&app.api_key, &format!("/api/v1/work-orders/{wo_id}"), &json!({"status": "waiting_for_customer"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post_as(&token, &format!("/api/v1/portal/differences/{id}/comments"), &json!({"body": "送货单附上，请核对"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let detail = app.get(&format!("/api/v1/work-orders/{wo_id}")).await.body;
    let last = detail["comments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["author_type"].as_str(), last["author_id"].as_str(), last["body"].as_str()),
        (Some("customer"), Some("D1"), Some("送货单附上，请核对")),
        "{detail}"
    );
    assert_eq!(detail["status"], "in_progress", "{detail}");
    assert_eq!(events(&app, "work_order.commented").len(), 3);
    app.seal_audit();
    assert_eq!(app.count("audit_trail WHERE action = 'work_order.commented' AND actor_type = 'customer'"), 1);

    // A hidden work order cannot share comments.
    let hidden = app.post("/api/v1/work-orders", &json!({"title": "Internal check", "document_ids": [doc]})).await;
    assert_eq!(hidden.status, 201, "{}", hidden.text);
    let hidden_id = hidden.body["id"].as_str().unwrap();
    let refused = app
        .post(&format!("/api/v1/work-orders/{hidden_id}/comments"), &json!({"body": "hi", "visible_to_customer": true}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
}

#[tokio::test]
async fn work_orders_move_along_their_lifecycle_and_lists_filter_them() {
    let app = spawn_app().await;
    let (diff, _, doc) = sent_difference(&app, "L1").await;
    let (_, _, other_doc) = sent_difference(&app, "L2").await;
    let ana = user(&app, "ana@acme.example").await;
    let bo = user(&app, "bo@acme.example").await;
    let r = app
        .put("/api/v1/work-order-settings", &json!({"technical":4,"process":24,"dispute":72,"unclassified":12}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bad = app
        .put("/api/v1/work-order-settings", &json!({"technical":0,"process":24,"dispute":72,"unclassified":12}))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    // GraphQL sets the same settings, with the same checks.
    let q = "mutation($i: SlaHoursInput!) { replaceWorkOrderSettings(input: $i) { technical dispute } }";
    let i = json!({"technical": 4, "process": 24, "dispute": 72, "unclassified": 12});
    let g = app.graphql_as(Some(&app.api_key), q, json!({"i": i})).await;
    assert_eq!(g.body["data"]["replaceWorkOrderSettings"], json!({"technical": 4, "dispute": 72}), "{}", g.text);
    let i = json!({"technical": 4, "process": 24, "dispute": 0, "unclassified": 12});
    let g = app.graphql_as(Some(&app.api_key), q, json!({"i": i})).await;
    assert_eq!(g.body["errors"][0]["extensions"]["code"], "validation_failed", "{}", g.text);

    let a = app
        .post(
            "/api/v1/work-orders",
            &json!({"title": "Missing invoice", "assignee_id": ana, "priority": "high",
                                             "difference_ids": [diff], "document_ids": [doc]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["cause"], "process", "the difference's cause: {}", a.text);
    let hours = |v: &Value| {
        let c = chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str().unwrap()).unwrap();
        (chrono::DateTime::parse_from_rfc3339(v["due_at"].as_str().unwrap()).unwrap() - c).num_hours()
    };
    assert_eq!(hours(&a.body), 24, "the tenant's process service level");
    let b = app
        .post(
            "/api/v1/work-orders",
            &json!({"title": "Price check", "assignee_id": bo, "cause": "dispute", "document_ids": [other_doc]}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    assert_eq!(hours(&b.body), 72);
    let (a_id, b_id) = (a.body["id"].as_str().unwrap().to_string(), b.body["id"].as_str().unwrap().to_string());

    // Bad input: 422, nothing written.
    for body in [
        json!({"title": "x"}),
        json!({"title": "", "document_ids": [doc]}),
        json!({"title": "x", "assignee_id": uuid::Uuid::new_v4(), "document_ids": [doc]}),
        json!({"title": "x", "document_ids": [doc, other_doc]}),
        json!({"title": "x", "priority": "whenever", "document_ids": [doc]}),
    ] {
        let r = app.post("/api/v1/work-orders", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
    }
    assert_eq!(app.count("work_orders"), 2);

    let app = &app;
    let patch = |id: &str, body: Value| {
        let path = format!("/api/v1/work-orders/{id}");
        async move { app.patch_as(&app.api_key, &path, &body).await }
    };
    for status in ["in_progress", "waiting_for_customer", "in_progress", "resolved"] {
        let r = patch(&a_id, json!({"status": status})).await;
        assert_eq!((r.status, r.body["status"].as_str()), (200, Some(status)), "{}", r.text);
    }
    let r = patch(&a_id, json!({"status": "cancelled"})).await;
    assert_eq!((r.status, r.error_code()), (409, "conflict"), "{}", r.text);
    let r = patch(&b_id, json!({"assignee_id": null, "priority": "urgent"})).await;
    assert_eq!(
        (r.status, r.body["assignee_id"].clone(), r.body["priority"].as_str()),
        (200, Value::Null, Some("urgent"))
    );
    let r = patch(&b_id, json!({"assignee_id": ana})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(events(app, "work_order.updated").len(), 6);
    assert!(events(app, "work_order.updated")
        .iter()
        .all(|(c, e)| c.is_some() && e["data"]["work_order"]["customer_code"].is_string()));

    let ids = |r: &crate::helpers::Response| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&app.get(&format!("/api/v1/work-orders?assignee={ana}")).await), [a_id.clone(), b_id.clone()]);
    assert_eq!(ids(&app.get(&format!("/api/v1/work-orders?assignee={bo}")).await), Vec::<String>::new());
    assert_eq!(ids(&app.get("/api/v1/work-orders?status=open,in_progress").await), [b_id.as_str()]);
    assert_eq!(ids(&app.get("/api/v1/work-orders?cause=process").await), [a_id.as_str()]);
    assert_eq!(ids(&app.get("/api/v1/work-orders?customer=L2").await), [b_id.as_str()]);
    let cut = (chrono::Utc::now() + chrono::Duration::hours(48)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(ids(&app.get(&format!("/api/v1/work-orders?due_before={cut}")).await), [a_id.as_str()]);
    assert_eq!(ids(&app.get(&format!("/api/v1/work-orders?due_after={cut}")).await), [b_id.as_str()]);
    let first = app.get("/api/v1/work-orders?limit=1").await;
    assert_eq!(ids(&first), [a_id.as_str()]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    assert_eq!(ids(&app.get(&format!("/api/v1/work-orders?limit=1&cursor={cursor}")).await), [b_id.as_str()]);
    let bad = app.get("/api/v1/work-orders?status=sleeping").await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    // Soonest due first: an order opened last but due in an hour comes first; pages continue
    // in due order.
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let c =
        app.post("/api/v1/work-orders", &json!({"title": "Call back", "due_at": soon, "document_ids": [doc]})).await;
    assert_eq!(c.status, 201, "{}", c.text);
    let c_id = c.body["id"].as_str().unwrap().to_string();
    assert_eq!(ids(&app.get("/api/v1/work-orders").await), [a_id.as_str(), b_id.as_str(), c_id.as_str()]);
    let by_due = app.get("/api/v1/work-orders?sort=due_at&limit=2").await;
    assert_eq!(ids(&by_due), [c_id.as_str(), a_id.as_str()], "{}", by_due.text);
    let cursor = by_due.body["next_cursor"].as_str().unwrap();
    assert_eq!(
        ids(&app.get(&format!("/api/v1/work-orders?sort=due_at&limit=2&cursor={cursor}")).await),
        [b_id.as_str()]
    );
    let g = app
        .graphql_as(Some(&app.api_key), "{ workOrders(sort: \"due_at\", limit: 1) { items { id } } }", json!({}))
        .await;
    assert_eq!(g.body["data"]["workOrders"]["items"][0]["id"], c_id.as_str(), "{}", g.text);
    assert_eq!(app.get("/api/v1/work-orders?sort=priority").await.status, 422);
    let stale = uuid::Uuid::now_v7();
    assert_eq!(app.get(&format!("/api/v1/work-orders?sort=due_at&cursor={stale}")).await.status, 422);

    // GraphQL: the same orders and the same checks.
    let g = app
        .graphql_as(Some(&app.api_key), "{ workOrders(status: [RESOLVED]) { items { id priority } } }", json!({}))
        .await;
    assert_eq!(g.body["data"]["workOrders"]["items"][0]["id"], a_id.as_str(), "{}", g.text);
    let g = app
        .graphql_as(
            Some(&app.api_key),
            "mutation($id: UUID!) { updateWorkOrder(id: $id, input: {status: WAITING_FOR_CUSTOMER}) { status } }",
            json!({"id": b_id}),
        )
        .await;
    assert_eq!(g.body["data"]["updateWorkOrder"]["status"], "WAITING_FOR_CUSTOMER", "{}", g.text);

    // Another tenant: nothing to see, nothing to link, nothing to change.
    let (_, b_key) = app.create_tenant("Tenant B");
    assert_eq!(app.get_as(&b_key, &format!("/api/v1/work-orders/{a_id}")).await.status, 404);
    assert_eq!(app.get_as(&b_key, "/api/v1/work-orders").await.body["items"], json!([]));
    let r = app.patch_as(&b_key, &format!("/api/v1/work-orders/{a_id}"), &json!({"title": "mine"})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app.post_as(&b_key, "/api/v1/work-orders", &json!({"title": "steal", "difference_ids": [diff]})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    // A viewer reads but does not write.
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get_as(&viewer, &format!("/api/v1/work-orders/{a_id}")).await.status, 200);
    assert_eq!(
        app.post_as(&viewer, &format!("/api/v1/work-orders/{a_id}/comments"), &json!({"body": "x"})).await.status,
        403
    );
}

/// An app whose clock runs 100 hours ahead sweeps: the order due in 4 hours is announced
/// overdue once (by the background sweep), the one due in 240 hours is not; another sweep
/// announces nothing more; a new due date re-arms the announcement.
#[tokio::test]
async fn an_sla_breach_is_announced_once_by_an_app_whose_clock_runs_ahead() {
    let app = spawn_app_with(|s| {
        s.clock_offset_seconds = 100 * 3600;
        s.sla_sweep_interval = Duration::from_millis(100);
    })
    .await;
    let (_, _, doc) = sent_difference(&app, "S1").await;
    let r = app
        .put("/api/v1/work-order-settings", &json!({"technical":4,"process":120,"dispute":240,"unclassified":120}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let late =
        app.post("/api/v1/work-orders", &json!({"title": "Typo", "cause": "technical", "document_ids": [doc]})).await;
    let calm =
        app.post("/api/v1/work-orders", &json!({"title": "Dispute", "cause": "dispute", "document_ids": [doc]})).await;
    assert_eq!((late.status, calm.status), (201, 201));
    let (late_id, calm_id) =
        (late.body["id"].as_str().unwrap().to_string(), calm.body["id"].as_str().unwrap().to_string());

    let overdue_of = |id: &str| {
        events(&app, "work_order.overdue").into_iter().filter(|(_, e)| e["data"]["work_order"]["id"] == id).count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while overdue_of(&late_id) == 0 {
        assert!(Instant::now() < deadline, "no work_order.overdue within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sweep = app.post("/api/v1/work-orders/overdue-sweep", &json!({})).await;
    assert_eq!((sweep.status, sweep.body["announced"].as_i64()), (200, Some(0)), "{}", sweep.text);
    let as_of = chrono::DateTime::parse_from_rfc3339(sweep.body["as_of"].as_str().unwrap()).unwrap();
    assert!((as_of.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() >= 99, "the app's clock: {as_of}");
    assert_eq!((overdue_of(&late_id), overdue_of(&calm_id)), (1, 0));
    let (customer, event) = events(&app, "work_order.overdue").remove(0);
    assert_eq!(customer, Some(customer_id(&app, "S1")));
    assert_eq!(event["data"]["work_order"]["customer_code"], "S1");
    assert!(event["data"]["work_order"]["overdue_notified_at"].is_string());
    let viewer = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "accountant"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.post_as(&viewer, "/api/v1/work-orders/overdue-sweep", &json!({})).await.status, 403);

    // A new due date (in the app's past) re-arms it: one more announcement, for the calm one.
    let due = (chrono::Utc::now() + chrono::Duration::hours(50)).to_rfc3339();
    let r = app.patch_as(&app.api_key, &format!("/api/v1/work-orders/{calm_id}"), &json!({"due_at": due})).await;
    assert_eq!((r.status, r.body["overdue_notified_at"].clone()), (200, Value::Null), "{}", r.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    while overdue_of(&calm_id) == 0 {
        assert!(Instant::now() < deadline, "no second work_order.overdue within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sweep = app.post("/api/v1/work-orders/overdue-sweep", &json!({})).await;
    assert_eq!(sweep.body["announced"], 0, "{}", sweep.text);
    assert_eq!((overdue_of(&late_id), overdue_of(&calm_id)), (1, 1));
    // A resolved order is never announced.
    assert_eq!(events(&app, "work_order.overdue").len(), 2);
}
