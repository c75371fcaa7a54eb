//! Customer groups over HTTP: the group and its members (one group per customer), the customer
//! showing its group, audit, GraphQL; a parent paying a subsidiary's invoice in a matching run;
//! the aging, collections and statement of account of a whole group.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

async fn customer(app: &TestApp, code: &str, name: &str, iban: Option<&str>) {
    let body = json!({"code": code, "name": name, "bank_accounts": iban.into_iter().collect::<Vec<_>>()});
    let r = app.post("/api/v1/customers", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn codes(group: &Value) -> Vec<&str> {
    group["members"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect()
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!(
        "audit_trail WHERE tenant_id = '{}' AND entity_type = 'customer_group' AND action = '{action}'",
        app.tenant_id
    ))
}

#[tokio::test]
async fn a_group_has_a_parent_and_members_each_in_one_group_only() {
    let app = spawn_app().await;
    for (code, name) in
        [("P1", "Huadong Holding"), ("S1", "Huadong Logistics"), ("S2", "Huadong Cold Chain"), ("X1", "Acme")]
    {
        customer(&app, code, name, None).await;
    }
    let r = app
        .post(
            "/api/v1/customer-groups",
            &json!({"code": "HD", "name": "华东集团", "parent_customer": "P1", "members": ["S1", "S1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(codes(&r.body), ["P1", "S1"], "the parent is a member, repeats count once");
    assert_eq!(r.body["parent_customer"]["code"], "P1");
    let id = r.body["id"].as_str().unwrap().to_string();

    // Conflicts and precise refusals.
    let dup = app.post("/api/v1/customer-groups", &json!({"code": "HD", "name": "Again"})).await;
    assert_eq!((dup.status, dup.body["error"]["details"]["field"].as_str()), (409, Some("code")), "{}", dup.text);
    let taken =
        app.post("/api/v1/customer-groups", &json!({"code": "G2", "name": "Two", "members": ["X1", "S1"]})).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(
        (taken.body["error"]["details"]["customer"].as_str(), taken.body["error"]["details"]["group"].as_str()),
        (Some("S1"), Some("HD"))
    );
    let unknown =
        app.post("/api/v1/customer-groups", &json!({"code": "G2", "name": "Two", "members": ["X1", "NOPE"]})).await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["details"]["field"].as_str()),
        (422, Some("members[1]")),
        "{}",
        unknown.text
    );
    let parent =
        app.post("/api/v1/customer-groups", &json!({"code": "G2", "name": "Two", "parent_customer": "NOPE"})).await;
    assert_eq!((parent.status, parent.body["error"]["details"]["field"].as_str()), (422, Some("parent_customer")));
    let bad = app.post("/api/v1/customer-groups", &json!({"code": "", "name": "Two"})).await;
    assert_eq!((bad.status, bad.body["error"]["details"]["field"].as_str()), (422, Some("code")));
    assert_eq!(app.get("/api/v1/customer-groups?limit=10").await.body["items"].as_array().unwrap().len(), 1);

    // The customer shows its group.
    assert_eq!(app.get("/api/v1/customers/S1").await.body["group"], json!({"code": "HD", "name": "华东集团"}));
    let list = app.get("/api/v1/customers?limit=10").await.body;
    let group_of =
        |code: &str| list["items"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["group"].clone();
    assert_eq!((group_of("P1")["code"].as_str(), group_of("X1")), (Some("HD"), Value::Null));

    // Members replaced: S1 released, S2 joins; the parent must stay.
    let r = app.put("/api/v1/customer-groups/HD/members", &json!({"customers": ["S2", "P1"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(codes(&r.body), ["P1", "S2"]);
    assert_eq!(app.get("/api/v1/customers/S1").await.body["group"], Value::Null);
    let r = app.put("/api/v1/customer-groups/HD/members", &json!({"customers": ["S2"]})).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("customers")), "{}", r.text);
    // By id too; the parent cleared stays a member; a new parent joins.
    let r =
        app.patch_as(&app.api_key, &format!("/api/v1/customer-groups/{id}"), &json!({"parent_customer": null})).await;
    assert_eq!((r.status, &r.body["parent_customer"]), (200, &Value::Null), "{}", r.text);
    assert_eq!(codes(&r.body), ["P1", "S2"]);
    let r = app
        .patch_as(&app.api_key, "/api/v1/customer-groups/HD", &json!({"parent_customer": "X1", "name": "Huadong"}))
        .await;
    assert_eq!((r.status, r.body["name"].as_str()), (200, Some("Huadong")), "{}", r.text);
    assert_eq!(codes(&r.body), ["P1", "S2", "X1"]);

    // GraphQL mirrors REST.
    let q = "{ customerGroup(code: \"HD\") { code parentCustomer { code } members { code } } customer(code: \"S2\") { group { code } } }";
    let r = app.graphql_as(Some(&app.api_key), q, json!({})).await;
    assert_eq!(r.body["data"]["customerGroup"]["parentCustomer"]["code"], "X1", "{}", r.text);
    assert_eq!(r.body["data"]["customer"]["group"]["code"], "HD");
    let m = "mutation { createCustomerGroup(input: {code: \"G3\", name: \"Three\", members: [\"S1\"]}) { members { code } } }";
    let r = app.graphql_as(Some(&app.api_key), m, json!({})).await;
    assert_eq!(r.body["data"]["createCustomerGroup"]["members"][0]["code"], "S1", "{}", r.text);

    // Deleting releases the members.
    let r = app.send("DELETE", "/api/v1/customer-groups/HD", Some(&app.api_key), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/api/v1/customer-groups/HD").await.status, 404);
    assert_eq!(app.get("/api/v1/customers/P1").await.body["group"], Value::Null);
    assert_eq!(app.count(&format!("customer_group_members WHERE tenant_id = '{}'", app.tenant_id)), 1);

    for (action, n) in [
        ("customer_group.created", 2),
        ("customer_group.members_changed", 1),
        ("customer_group.updated", 2),
        ("customer_group.deleted", 1),
    ] {
        assert_eq!(audited(&app, action), n, "{action}");
    }
}

#[tokio::test]
async fn a_parent_paying_a_subsidiarys_invoice_is_applied_to_it() {
    let app = spawn_app().await;
    customer(&app, "P1", "Huadong Holding Co Ltd", Some("DE11111111111111111111")).await;
    customer(&app, "S1", "Huadong Logistics Co Ltd", Some("FR2222222222222222222222")).await;
    app.create_invoice("S1", "INV-2026-0000201", "5000.00").await;
    app.create_invoice("S1", "INV-2026-0000202", "730.00").await;
    let r = app
        .post(
            "/api/v1/customer-groups",
            &json!({"code": "HD", "name": "华东集团", "parent_customer": "P1", "members": ["S1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-03-10,,5000.00,EUR,HUADONG HOLDING CO LTD,DE11111111111111111111,INV-2026-0000201,\n\
        BL2,DE89370400440532013000,2026-03-11,,730.00,EUR,HUADONG HOLDING CO LTD,DE11111111111111111111,,\n";
    let r = app
        .send("POST", "/api/v1/bank-statements", Some(&app.api_key), Some(("text/csv", bank.as_bytes().to_vec())), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let run = app.run_matching().await;
    let id = run["id"].as_str().unwrap();
    let allocs = app.get(&format!("/api/v1/allocations?reconciliation_id={id}&limit=100")).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let of = |line: &str| allocs.iter().filter(|a| a["line_id"] == line).collect::<Vec<_>>();
    let bl1 = of("BL1");
    assert_eq!(
        (bl1.len(), bl1[0]["state"].as_str(), bl1[0]["doc_no"].as_str()),
        (1, Some("auto_applied"), Some("INV-2026-0000201")),
        "{allocs:?}"
    );
    let evidence = bl1[0]["explanation"]["evidence"].to_string();
    assert!(evidence.contains("of group HD (华东集团), like Huadong Logistics Co Ltd"), "{evidence}");
    // Without a reference, the subsidiary's equal invoice is only proposed.
    let bl2 = of("BL2");
    assert_eq!(
        (bl2[0]["state"].as_str(), bl2[0]["doc_no"].as_str()),
        (Some("proposed"), Some("INV-2026-0000202")),
        "{allocs:?}"
    );
    assert_eq!(bl2[0]["rule"], "group_member_amount");
}

#[tokio::test]
async fn reports_cover_a_whole_group() {
    let app = spawn_app().await;
    for code in ["P1", "S1", "X1"] {
        customer(&app, code, &format!("Customer {code}"), None).await;
    }
    app.create_invoice("P1", "INV-P1", "100.00").await;
    app.create_invoice("S1", "INV-S1", "250.00").await;
    app.create_invoice("X1", "INV-X1", "999.00").await;
    let r = app
        .post(
            "/api/v1/customer-groups",
            &json!({"code": "HD", "name": "华东集团", "parent_customer": "P1", "members": ["S1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let aging = app.get("/api/v1/reports/aging?as_of=2026-04-15&group=HD").await;
    assert_eq!(aging.status, 200, "{}", aging.text);
    let rows: Vec<&str> =
        aging.body["rows"].as_array().unwrap().iter().map(|r| r["customer_code"].as_str().unwrap()).collect();
    assert_eq!(rows, ["P1", "S1"]);
    assert_eq!(aging.body["totals"][0]["total"], "350.00", "{}", aging.text);
    let csv = app.get("/api/v1/reports/aging?as_of=2026-04-15&group=HD&format=csv").await;
    assert!(csv.text.contains("S1,") && !csv.text.contains("X1,"), "{}", csv.text);
    for (q, field) in [("group=NOPE", "group"), ("group=HD&customer=P1", "group")] {
        let r = app.get(&format!("/api/v1/reports/aging?{q}")).await;
        assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some(field)), "{q}: {}", r.text);
    }
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "{ agingReport(asOf: \"2026-04-15\", group: \"HD\") { totals { total } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.body["data"]["agingReport"]["totals"][0]["total"], "350.00", "{}", r.text);

    let col = app.get("/api/v1/reports/collections?as_of=2026-04-15&days=90&group=HD").await;
    assert_eq!(col.status, 200, "{}", col.text);
    assert_eq!(col.body["customers"].as_array().unwrap().len(), 2);
    assert_eq!(
        (col.body["totals"][0]["receivables"].as_str(), col.body["totals"][0]["sales"].as_str()),
        (Some("350.00"), Some("350.00"))
    );
    assert!(col.body["totals"][0]["dso_days"].is_string(), "{}", col.text);
    let rank = app.get("/api/v1/reports/overdue-ranking?as_of=2026-04-15&group=HD").await;
    let ranked: Vec<&str> =
        rank.body["customers"].as_array().unwrap().iter().map(|c| c["customer_code"].as_str().unwrap()).collect();
    assert_eq!(ranked, ["S1", "P1"], "{}", rank.text);

    let st = app.get("/api/v1/customer-groups/HD/statement-of-account?to=2026-04-15").await;
    assert_eq!(st.status, 200, "{}", st.text);
    assert_eq!((st.body["customer_code"].as_str(), &st.body["members"]), (Some("HD"), &json!(["P1", "S1"])));
    let lines = st.body["currencies"][0]["lines"].as_array().unwrap();
    let who: Vec<(&str, &str)> =
        lines.iter().map(|l| (l["customer_code"].as_str().unwrap(), l["reference"].as_str().unwrap())).collect();
    assert_eq!(who, [("P1", "INV-P1"), ("S1", "INV-S1")]);
    assert_eq!(st.body["currencies"][0]["closing_balance"], "350.00");
    assert_eq!(st.body["open_items"].as_array().unwrap().len(), 2);
    assert_eq!(st.body["aging"][0]["total"], "350.00");
    let csv = app.get("/api/v1/customer-groups/HD/statement-of-account?to=2026-04-15&format=csv").await;
    assert!(csv.text.starts_with("customer,currency,"), "{}", csv.text);
    assert!(csv.text.contains("S1,EUR,2026-03-01,invoice,INV-S1"), "{}", csv.text);
    // One customer's statement stays as it was: no member column.
    let one = app.get("/api/v1/customers/S1/statement-of-account?to=2026-04-15").await;
    assert!(
        one.body.get("members").is_none() && one.body["currencies"][0]["lines"][0].get("customer_code").is_none(),
        "{}",
        one.text
    );
    assert_eq!(app.get("/api/v1/customer-groups/NOPE/statement-of-account").await.status, 404);
}
