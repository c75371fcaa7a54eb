//! GraphQL subscriptions over a real WebSocket (graphql-transport-ws): a portal token receives
//! its customer's difference events and the work orders visible to it, a tenant its runs and
//! work orders; nothing of another customer or tenant arrives (checked by order: a marker event
//! written after everything else must be the first thing such a subscriber gets); a revoked
//! token ends its subscription; bounds per connection; bad credentials get no connection.

use crate::helpers::{spawn_app, TestApp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const PORTAL: &str = "subscription { portalEvents { id type data } }";
const TENANT: &str = "subscription { events { id type data } }";

/// A connection that authenticated with `token` in `connection_init` and started `subs`
/// (id, query); its server messages (and a `{"type":"close"}` at the end) arrive on the channel.
async fn open(app: &TestApp, token: &str, subs: &[(&str, &str)]) -> UnboundedReceiver<Value> {
    open_with(app, token, subs, false, false).await
}

/// [`open`], the token in the upgrade request's `Authorization` header instead when `header`,
/// and the older graphql-ws protocol (Apollo's subscriptions-transport-ws) when `legacy`.
async fn open_with(
    app: &TestApp,
    token: &str,
    subs: &[(&str, &str)],
    header: bool,
    legacy: bool,
) -> UnboundedReceiver<Value> {
    let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    let protocol = if legacy { "graphql-ws" } else { "graphql-transport-ws" };
    req.headers_mut().insert("sec-websocket-protocol", protocol.parse().unwrap());
    if header {
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("WebSocket upgrade");
    let payload = if header { json!({}) } else { json!({"Authorization": format!("Bearer {token}")}) };
    let init = json!({"type": "connection_init", "payload": payload});
    ws.send(Message::text(init.to_string())).await.unwrap();
    for (id, query) in subs {
        let kind = if legacy { "start" } else { "subscribe" };
        let msg = json!({"id": id, "type": kind, "payload": {"query": query}});
        ws.send(Message::text(msg.to_string())).await.unwrap();
    }
    let (tx, rx) = unbounded_channel();
    // Read all the time, so the server's heartbeats are answered while the test does other things.
    tokio::spawn(async move {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let _ = tx.send(serde_json::from_str::<Value>(&t).unwrap());
                }
                Ok(Message::Close(frame)) => {
                    let code = frame.map(|f| u16::from(f.code));
                    let _ = tx.send(json!({"type": "close", "code": code}));
                    break;
                }
                Err(_) => break,
                _ => {}
            }
        }
    });
    rx
}

/// The messages up to and including the first that `stop` accepts (30 s at most).
async fn until(rx: &mut UnboundedReceiver<Value>, what: &str, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s; got {seen:?}"))
            .unwrap_or_else(|| panic!("connection ended before {what}; got {seen:?}"));
        let done = stop(&msg);
        seen.push(msg);
        if done {
            return seen;
        }
    }
}

/// The events of `next` messages.
fn events(messages: &[Value], field: &str) -> Vec<Value> {
    messages.iter().filter(|m| m["type"] == "next").map(|m| m["payload"]["data"][field].clone()).collect()
}

fn event_is(field: &'static str, t: &'static str) -> impl Fn(&Value) -> bool {
    move |m| m["type"] == "next" && m["payload"]["data"][field]["type"] == t
}

/// An outbox row as the work-order helper writes it.
fn work_order(app: &TestApp, tenant: Uuid, customer: Option<Uuid>, t: &str, visible: bool) -> Uuid {
    use diesel::RunQueryDsl;
    let id = Uuid::now_v7();
    let payload = json!({"type": t, "timestamp": "2026-12-06T00:00:00.000Z",
        "data": {"work_order": {"id": Uuid::new_v4(), "status": "open", "customer_code": "C1", "visible_to_customer": visible}}});
    let customer = customer.map(|c| format!("'{c}'")).unwrap_or_else(|| "NULL".into());
    let sql = format!(
        "INSERT INTO outbox_events (id, tenant_id, customer_id, event_type, payload) VALUES ('{id}', '{tenant}', {customer}, '{t}', '{payload}')"
    );
    diesel::sql_query(sql).execute(&mut app.db.connect()).unwrap();
    id
}

struct World {
    difference: String,
    c1: (Uuid, String, String),
    c2: (Uuid, String),
    b: (Uuid, String),
}

async fn world(app: &TestApp) -> World {
    let mut ids = Vec::new();
    for code in ["C1", "C2"] {
        ids.push(app.create_customer(code).await["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    app.create_invoice("C1", "INV-1", "100.00").await;
    app.create_invoice("C1", "INV-2", "250.00").await;
    let lines = json!({"lines": [{"their_ref": "AP1", "our_ref": "INV-1", "date": "2026-03-01", "kind": "invoice",
                                  "amount": "100.00", "currency": "EUR"}]});
    let stmt = app.post("/api/v1/customers/C1/statements", &lines).await;
    assert_eq!(stmt.status, 201, "{}", stmt.text);
    let difference = stmt.body["differences"][0]["id"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/differences/{difference}/send"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t1 = app.post("/api/v1/customers/C1/portal-tokens", &json!({})).await.body;
    let t2 = app.post("/api/v1/customers/C2/portal-tokens", &json!({})).await.body;
    let (b_tenant, b_key) = app.create_tenant("Tenant B");
    World {
        difference,
        c1: (ids[0], t1["token"].as_str().unwrap().into(), t1["token_id"].as_str().unwrap().into()),
        c2: (ids[1], t2["token"].as_str().unwrap().into()),
        b: (b_tenant, b_key),
    }
}

#[tokio::test]
async fn portals_and_tenants_receive_their_own_events_and_nothing_else() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut c1 = open(&app, &w.c1.1, &[("1", PORTAL)]).await;
    let mut c2 = open(&app, &w.c2.1, &[("1", PORTAL)]).await;
    let mut a = open(&app, &app.api_key, &[("1", TENANT)]).await;
    let mut b = open(&app, &w.b.1, &[("1", TENANT)]).await;
    for rx in [&mut c1, &mut c2, &mut a, &mut b] {
        until(rx, "connection_ack", |m| m["type"] == "connection_ack").await;
    }

    let hidden = work_order(&app, app.tenant_id, Some(w.c1.0), "work_order.created", false);
    let shown = work_order(&app, app.tenant_id, Some(w.c1.0), "work_order.updated", true);
    let body = json!({"body": "we never received these goods"});
    let r = app.post_as(&w.c1.1, &format!("/api/v1/portal/differences/{}/dispute", w.difference), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/reconciliations", &json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);

    let got = events(
        &until(&mut c1, "difference.disputed", event_is("portalEvents", "difference.disputed")).await,
        "portalEvents",
    );
    let ids: Vec<&str> = got.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&shown.to_string().as_str()), "the visible work order: {got:?}");
    assert!(!ids.contains(&hidden.to_string().as_str()), "never a work order hidden from the customer: {got:?}");
    assert_eq!(got.last().unwrap()["data"]["status"], "disputed", "{got:?}");

    // The dispute opened a real work order, visible to the customer: it reaches the portal too.
    let list = app.get("/api/v1/work-orders?customer=C1").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let opened = list.body["items"][0]["id"].as_str().expect("the dispute's work order").to_string();
    let is_opened = |m: &Value| {
        m["type"] == "next" && m["payload"]["data"]["portalEvents"]["data"]["work_order"]["id"] == opened.as_str()
    };
    if !got.iter().any(|e| e["data"]["work_order"]["id"] == opened.as_str()) {
        until(&mut c1, "the dispute's work order", is_opened).await;
    }

    let got = events(
        &until(&mut a, "reconciliation.completed", event_is("events", "reconciliation.completed")).await,
        "events",
    );
    let types: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"work_order.created") && types.contains(&"work_order.updated"), "{types:?}");
    assert!(got.iter().any(|e| e["data"]["work_order"]["id"] == opened.as_str()), "the dispute's work order: {got:?}");
    assert!(types.iter().all(|t| !t.starts_with("difference.")), "runs and work orders only: {types:?}");

    // Markers written after everything above: the first thing C2 and tenant B receive.
    let c2_marker = work_order(&app, app.tenant_id, Some(w.c2.0), "work_order.updated", true);
    let b_marker = work_order(&app, w.b.0, None, "work_order.created", true);
    let got = events(&until(&mut c2, "C2's marker", |m| m["type"] == "next").await, "portalEvents");
    assert_eq!(got[0]["id"], c2_marker.to_string(), "another customer's events reached C2: {got:?}");
    let got = events(&until(&mut b, "B's marker", |m| m["type"] == "next").await, "events");
    assert_eq!(got[0]["id"], b_marker.to_string(), "another tenant's events reached B: {got:?}");

    // Revoking C1's token ends its subscription.
    let r = app
        .send("DELETE", &format!("/api/v1/customers/C1/portal-tokens/{}", w.c1.2), Some(&app.api_key), None, &[])
        .await;
    assert!(r.status < 300, "{}", r.text);
    until(&mut c1, "complete after revocation", |m| m["type"] == "complete" && m["id"] == "1").await;
}

#[tokio::test]
async fn a_statement_run_announces_its_completion() {
    let app = spawn_app().await;
    app.create_customer("S1").await;
    let mut a =
        open(&app, &app.api_key, &[("1", "subscription { events(types: [\"statement_run.\"]) { type data } }")]).await;
    until(&mut a, "connection_ack", |m| m["type"] == "connection_ack").await;
    let run =
        app.post("/api/v1/statement-runs", &json!({"period_from": "2026-01-01", "period_to": "2026-12-31"})).await;
    assert_eq!(run.status, 202, "{}", run.text);
    let got = events(&until(&mut a, "statement_run.completed", |m| m["type"] == "next").await, "events");
    assert_eq!(got[0]["type"], "statement_run.completed");
    assert_eq!(
        (got[0]["data"]["statement_run_id"].clone(), got[0]["data"]["customers"].clone()),
        (run.body["id"].clone(), json!(1))
    );
}

#[tokio::test]
async fn a_dunning_run_announces_levels_and_the_tasks_it_creates() {
    let app = spawn_app().await;
    crate::collection_work::customers_with_invoices(&app, &[("D1", "2026-03-02", "100.00")]).await;
    let levels = json!([{"code": "L1", "name": "Call", "severity": 1, "min_days_overdue": 1, "action": "reminder",
                         "actions": ["call", "stop_supply"]}]);
    let r = app.put("/api/v1/dunning-levels", &levels).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let q = "subscription { events(types: [\"dunning.\", \"collection_task.\"]) { type data } }";
    let mut a = open(&app, &app.api_key, &[("1", q)]).await;
    until(&mut a, "connection_ack", |m| m["type"] == "connection_ack").await;
    crate::collection_work::dunning_run(&app, "2026-06-30").await;
    // The level change and both tasks (call, stop supply), in whatever order they come.
    let mut types: Vec<String> = Vec::new();
    let tasks = |types: &[String]| types.iter().filter(|t| *t == "collection_task.created").count();
    while tasks(&types) < 2 || !types.iter().any(|t| t == "dunning.level_changed") {
        let got = events(&until(&mut a, "the next event", |m| m["type"] == "next").await, "events");
        types.extend(got.iter().map(|e| e["type"].as_str().unwrap().to_string()));
    }
    assert_eq!(tasks(&types), 2, "{types:?}");
}

#[tokio::test]
async fn bounds_credentials_and_audiences_are_enforced() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Nine on one connection: one of them (whichever the server starts last) is refused.
    let subs: Vec<(String, &str)> = (1..=9).map(|i| (i.to_string(), TENANT)).collect();
    let subs: Vec<(&str, &str)> = subs.iter().map(|(i, q)| (i.as_str(), *q)).collect();
    let mut rx = open(&app, &app.api_key, &subs).await;
    let got = until(&mut rx, "the refusal", |m| m["type"] == "next" && m["payload"]["errors"].is_array()).await;
    let refused = got.last().unwrap();
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "rate_limited", "{refused}");
    assert!(refused["payload"]["errors"][0]["message"].as_str().unwrap().contains("per connection"), "{refused}");

    // A portal token may not follow the tenant's events, nor a key the portal's; a narrower
    // type outside the audience's is refused.
    for (token, query) in [
        (w.c1.1.as_str(), TENANT),
        (app.api_key.as_str(), PORTAL),
        (w.c1.1.as_str(), "subscription { portalEvents(types: [\"reconciliation.\"]) { id } }"),
    ] {
        let mut rx = open(&app, token, &[("1", query)]).await;
        let got = until(&mut rx, "an error", |m| m["type"] == "next").await;
        let code = got.last().unwrap()["payload"]["errors"][0]["extensions"]["code"].clone();
        assert!(code == "forbidden" || code == "validation_failed", "{query}: {got:?}");
    }

    // The upgrade request's Authorization header authenticates too.
    let query = "subscription { events(types: [\"statement_run.completed\"]) { type } }";
    let mut rx = open_with(&app, &app.api_key, &[("1", query)], true, false).await;
    until(&mut rx, "connection_ack", |m| m["type"] == "connection_ack").await;
    let run =
        app.post("/api/v1/statement-runs", &json!({"period_from": "2026-01-01", "period_to": "2026-12-31"})).await;
    assert_eq!(run.status, 202, "{}", run.text);
    let got = until(&mut rx, "statement_run.completed", |m| m["type"] == "next").await;
    assert_eq!(got.last().unwrap()["payload"]["data"]["events"]["type"], "statement_run.completed");

    // Bad credentials: no connection_ack, the socket is closed.
    let mut rx = open(&app, "dz_nope_nope", &[]).await;
    let got = until(&mut rx, "close", |m| m["type"] == "close").await;
    assert!(got.iter().all(|m| m["type"] != "connection_ack"), "{got:?}");
}

#[tokio::test]
async fn the_older_graphql_ws_protocol_works_too() {
    let app = spawn_app().await;
    app.create_customer("S1").await;
    let query = "subscription { events(types: [\"statement_run.\"]) { type } }";
    let mut rx = open_with(&app, &app.api_key, &[("1", query)], false, true).await;
    until(&mut rx, "connection_ack", |m| m["type"] == "connection_ack").await;
    let run =
        app.post("/api/v1/statement-runs", &json!({"period_from": "2026-01-01", "period_to": "2026-12-31"})).await;
    assert_eq!(run.status, 202, "{}", run.text);
    // That protocol calls an event "data" (graphql-transport-ws calls it "next").
    let got = until(&mut rx, "statement_run.completed", |m| m["type"] == "data").await;
    let last = got.last().unwrap();
    assert_eq!(
        (last["id"].as_str(), last["payload"]["data"]["events"]["type"].as_str()),
        (Some("1"), Some("statement_run.completed")),
        "{got:?}"
    );
}
