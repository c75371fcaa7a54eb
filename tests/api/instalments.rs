//! Instalment plans: plans by amounts and by percentages, refusals that write nothing, aging,
//! overdue and dunning per instalment, and cash application (a run and by hand) per instalment.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};

fn plan(parts: &[(&str, &str)]) -> Value {
    parts.iter().map(|(due, amount)| json!({"due_date": due, "amount": amount})).collect()
}

async fn invoice(app: &TestApp, customer: &str, doc_no: &str, issue: &str, amount: &str, instalments: Value) -> Value {
    let r = app
        .post(
            "/api/v1/documents",
            &json!({
                "doc_type": "invoice", "doc_no": doc_no, "customer_code": customer, "issue_date": issue,
                "currency": "EUR", "amount": amount, "instalments": instalments
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn parts(doc: &Value) -> Vec<(String, String, String)> {
    doc["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap().to_string();
            (s("due_date"), s("amount"), s("open_amount"))
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

#[tokio::test]
async fn plans_by_amounts_and_percentages_and_refusals_that_write_nothing() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let three = plan(&[("2026-03-31", "300.00"), ("2026-04-30", "300.00"), ("2026-05-31", "400.00")]);
    let doc = invoice(&app, "C1", "INV-1", "2026-03-01", "1000.00", three).await;
    assert_eq!(doc["due_date"], "2026-05-31", "the due date is the last instalment's");
    let want =
        [("2026-03-31", "300.00", "300.00"), ("2026-04-30", "300.00", "300.00"), ("2026-05-31", "400.00", "400.00")];
    assert_eq!(parts(&doc), owned(&want));
    assert_eq!(
        (doc["instalments"][1]["seq"].as_i64(), doc["instalments"][1]["status"].as_str()),
        (Some(2), Some("open"))
    );
    let got = app.get(&format!("/api/v1/documents/{}", doc["id"].as_str().unwrap())).await;
    assert_eq!(parts(&got.body), owned(&want), "{}", got.text);
    let listed = app.get("/api/v1/documents?q=INV-1").await;
    assert_eq!(parts(&listed.body["items"][0]), owned(&want));

    // Percentages: rounded to cents, the last instalment takes the rest.
    let thirds = json!([
        {"due_date": "2026-04-01", "percent": "33.33"},
        {"due_date": "2026-05-01", "percent": "33.33"},
        {"due_date": "2026-06-01", "percent": "33.34"}
    ]);
    let doc = invoice(&app, "C1", "INV-2", "2026-03-01", "100.01", thirds).await;
    let amounts: Vec<String> = parts(&doc).into_iter().map(|p| p.1).collect();
    assert_eq!(amounts, ["33.33", "33.33", "33.35"]);

    // Refused, with nothing written.
    let instalments_before = app.count("document_instalments");
    let bad = |instalments: Value, extra: Value| {
        let mut body = json!({
            "doc_type": "invoice", "doc_no": "INV-BAD", "customer_code": "C1", "issue_date": "2026-03-01",
            "currency": "EUR", "amount": "1000.00", "instalments": instalments
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let app = &app;
        async move { app.post("/api/v1/documents", &body).await }
    };
    let short = bad(plan(&[("2026-04-01", "300.00"), ("2026-05-01", "600.00")]), json!({})).await;
    assert_eq!(short.status, 422, "{}", short.text);
    assert!(
        short.text.contains("instalments add up to 900.00, 100.00 short of the document amount 1000.00"),
        "{}",
        short.text
    );
    let unordered = bad(plan(&[("2026-05-01", "500.00"), ("2026-04-01", "500.00")]), json!({})).await;
    assert_eq!(
        (unordered.status, unordered.body["error"]["details"]["field"].as_str()),
        (422, Some("instalments[1]")),
        "{}",
        unordered.text
    );
    let before_issue = bad(plan(&[("2026-02-01", "500.00"), ("2026-04-01", "500.00")]), json!({})).await;
    assert_eq!(before_issue.status, 422, "{}", before_issue.text);
    let other_due =
        bad(plan(&[("2026-04-01", "500.00"), ("2026-05-01", "500.00")]), json!({"due_date": "2026-06-01"})).await;
    assert_eq!((other_due.status, other_due.body["error"]["details"]["field"].as_str()), (422, Some("due_date")));
    let credit = bad(plan(&[("2026-04-01", "1000.00")]), json!({"doc_type": "credit_note"})).await;
    assert_eq!(credit.status, 422, "{}", credit.text);
    assert_eq!(app.count("documents WHERE doc_no = 'INV-BAD'"), 0);
    assert_eq!(app.count("document_instalments"), instalments_before);

    // PATCH: the amount only changes together with the plan; a plan can be replaced and removed.
    let id = got.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/documents/{id}");
    let r = app.patch_as(&app.api_key, &path, &json!({"amount": "1200.00"})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app
        .patch_as(
            &app.api_key,
            &path,
            &json!({"amount": "1200.00", "instalments": plan(&[("2026-04-15", "600.00"), ("2026-06-15", "600.00")])}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["due_date"].as_str(), r.body["instalments"].as_array().unwrap().len()), (Some("2026-06-15"), 2));
    let r = app.patch_as(&app.api_key, &path, &json!({"instalments": null})).await;
    assert_eq!((r.status, &r.body["instalments"]), (200, &Value::Null), "absent without a plan: {}", r.text);
    assert_eq!(r.body["due_date"], "2026-06-15");
    assert_eq!(app.count(&format!("document_instalments WHERE document_id = '{id}'")), 0);

    // GraphQL shows the plan too.
    let g = app
        .graphql_as(
            Some(&app.api_key),
            "query($id: UUID!) { document(id: $id) { instalments { seq dueDate amount openAmount status } } }",
            json!({"id": doc["id"]}),
        )
        .await;
    assert_eq!(g.body["data"]["document"]["instalments"][2]["amount"], "33.35", "{}", g.text);
    let g = app
        .graphql_as(
            Some(&app.api_key),
            "mutation { createDocument(input: { docType: INVOICE, docNo: \"INV-GQL\", customerCode: \"C1\", \
             issueDate: \"2026-03-01\", currency: \"JPY\", amount: \"1001\", instalments: [ \
             { dueDate: \"2026-04-01\", percent: \"50\" }, { dueDate: \"2026-05-01\", percent: \"50\" } ] }) \
             { dueDate instalments { amount } } }",
            json!({}),
        )
        .await;
    let created = &g.body["data"]["createDocument"];
    assert_eq!(created["dueDate"], "2026-05-01", "{}", g.text);
    assert_eq!(created["instalments"], json!([{"amount": "501"}, {"amount": "500"}]), "{}", g.text);

    // JSON imports set, replace and keep plans.
    let import = |amount: &str, instalments: Option<Value>| {
        let mut row = json!({
            "doc_type": "invoice", "doc_no": "INV-IMP", "customer_code": "C1", "issue_date": "2026-03-01",
            "currency": "EUR", "amount": amount
        });
        if let Some(i) = instalments {
            row["instalments"] = i;
        }
        let app = &app;
        async move { app.post("/api/v1/documents/import", &json!([row])).await }
    };
    let counts = |r: &crate::helpers::Response| {
        let n = |k: &str| r.body[k].as_u64().unwrap_or(u64::MAX);
        (n("created"), n("updated"), n("unchanged"), r.body["rejected"].as_array().map_or(usize::MAX, Vec::len))
    };
    let r = import("100.00", Some(plan(&[("2026-04-01", "40.00"), ("2026-05-01", "60.00")]))).await;
    assert_eq!(counts(&r), (1, 0, 0, 0), "{}", r.text);
    let imported = app.get("/api/v1/documents?q=INV-IMP").await.body["items"][0].clone();
    assert_eq!(
        (imported["due_date"].as_str(), imported["instalments"][1]["amount"].as_str()),
        (Some("2026-05-01"), Some("60.00"))
    );
    let audit =
        app.get(&format!("/api/v1/audit?entity_type=document&entity_id={}", imported["id"].as_str().unwrap())).await;
    assert_eq!(audit.body["items"][0]["after"], imported, "the creation's entry shows the plan");
    let r = import("100.00", Some(plan(&[("2026-04-01", "50.00"), ("2026-05-01", "50.00")]))).await;
    assert_eq!(counts(&r), (0, 1, 0, 0), "a new plan is an update: {}", r.text);
    let r = import("100.00", None).await;
    assert_eq!(counts(&r), (0, 0, 1, 0), "a row without a plan keeps it: {}", r.text);
    let r = import("120.00", None).await;
    assert_eq!(counts(&r), (0, 0, 0, 1), "the kept plan no longer fits: {}", r.text);
    let imported = app.get("/api/v1/documents?q=INV-IMP").await.body["items"][0].clone();
    assert_eq!(
        (imported["amount"].as_str(), imported["instalments"][0]["amount"].as_str()),
        (Some("100.00"), Some("50.00"))
    );
    let r = import("100.00", Some(plan(&[("2026-04-01", "50.00")]))).await;
    assert!(r.text.contains("50.00 short"), "a bad plan rejects its row: {}", r.text);
}

fn row<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["rows"].as_array().unwrap().iter().find(|r| r["customer_code"] == code).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect()
}

#[tokio::test]
async fn aging_overdue_and_dunning_count_each_instalment_by_its_own_due_date() {
    let app = spawn_app().await;
    for code in ["D1", "D2"] {
        app.create_customer(code).await;
    }
    // As of 2026-06-30: D1's first instalment is 36 days overdue, the others not yet due;
    // D2's first instalment is due in 10 days.
    let d1 = plan(&[("2026-05-25", "300.00"), ("2026-07-15", "300.00"), ("2026-08-15", "400.00")]);
    invoice(&app, "D1", "I1", "2026-04-25", "1000.00", d1).await;
    invoice(&app, "D2", "I2", "2026-04-25", "500.00", plan(&[("2026-07-10", "250.00"), ("2026-08-10", "250.00")]))
        .await;

    let r = app.get("/api/v1/reports/aging?as_of=2026-06-30").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r1 = row(&r.body, "D1");
    assert_eq!(strings(&r1["buckets"]), ["700.00", "0.00", "300.00", "0.00", "0.00"], "{}", r.text);
    assert_eq!((r1["total"].as_str(), r1["overdue"].as_str()), (Some("1000.00"), Some("300.00")));
    assert_eq!(row(&r.body, "D2")["overdue"], "0.00");
    let one = app.get("/api/v1/reports/aging?as_of=2026-06-30&customer=D1").await;
    assert_eq!(strings(&row(&one.body, "D1")["buckets"]), ["700.00", "0.00", "300.00", "0.00", "0.00"], "{}", one.text);

    let rank = app.get("/api/v1/reports/overdue-ranking?as_of=2026-06-30").await;
    let order: Vec<(&str, &str)> = rank.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["customer_code"].as_str().unwrap(), c["overdue_base"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [("D1", "300.00")], "{}", rank.text);
    let c = app.get("/api/v1/reports/collections?as_of=2026-06-30&days=90").await;
    let c1 = c.body["customers"].as_array().unwrap().iter().find(|c| c["customer_code"] == "D1").unwrap();
    assert_eq!(
        (c1["receivables"].as_str(), c1["overdue"].as_str(), c1["sales"].as_str()),
        (Some("1000.00"), Some("300.00"), Some("1000.00")),
        "the sale counts once: {}",
        c.text
    );

    let levels = json!([
        {"code": "B", "name": "Reminder", "severity": 2, "min_days_overdue": 30, "action": "reminder"},
        {"code": "C", "name": "Due", "severity": 1, "min_days_overdue": 1, "action": "reminder"}
    ]);
    let body = Some(("application/json", levels.to_string().into_bytes()));
    let r = app.send("PUT", "/api/v1/dunning-levels", Some(&app.api_key), body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let run = app.post("/api/v1/dunning-runs", &json!({"as_of": "2026-06-30"})).await;
    assert_eq!(run.status, 201, "{}", run.text);
    assert_eq!(app.get("/api/v1/customers/D1/dunning").await.body["level"], "B");
    assert_eq!(app.get("/api/v1/customers/D2/dunning").await.body["level"], Value::Null, "nothing due yet");

    let soa = app.get("/api/v1/customers/D1/statement-of-account?to=2026-06-30").await;
    assert_eq!(soa.status, 200, "{}", soa.text);
    let item = &soa.body["open_items"][0];
    assert_eq!((item["days_overdue"].as_i64(), item["instalments"].as_array().map(Vec::len)), (Some(36), Some(3)));
    assert_eq!(item["instalments"][1]["days_overdue"], -15);
}

#[tokio::test]
async fn a_payment_of_the_second_instalment_settles_it_in_a_run_and_by_hand() {
    let app = spawn_app().await;
    let iban = "DE11111111111111111111";
    let r =
        app.post("/api/v1/customers", &json!({"code": "K1", "name": "Kalomer GmbH", "bank_accounts": [iban]})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let three = plan(&[("2026-02-28", "300.00"), ("2026-03-31", "300.00"), ("2026-04-30", "400.00")]);
    let doc = invoice(&app, "K1", "INV-2026-0000201", "2026-02-01", "1000.00", three).await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201);
    let bank = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
        BL1,DE89370400440532013000,2026-03-01,,300.00,EUR,KALOMER GMBH,DE11111111111111111111,INV-2026-0000201 1/3,\n\
        BL2,DE89370400440532013000,2026-04-01,,300.00,EUR,KALOMER GMBH,DE11111111111111111111,INV-2026-0000201,\n\
        BL3,DE89370400440532013000,2026-05-02,,400.00,EUR,SOMEONE ELSE,,,\n";
    let body = Some(("text/csv", bank.as_bytes().to_vec()));
    let r = app.send("POST", "/api/v1/bank-statements", Some(&app.api_key), body, &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let run = app.run_matching().await;
    let id = run["id"].as_str().unwrap();
    let allocs = app.get(&format!("/api/v1/allocations?reconciliation_id={id}&limit=100")).await.body["items"].clone();
    let of =
        |line: &str| allocs.as_array().unwrap().iter().filter(|a| a["line_id"] == line).cloned().collect::<Vec<_>>();
    let bl2 = of("BL2");
    assert_eq!(bl2.len(), 1, "{allocs}");
    assert_eq!(
        (bl2[0]["state"].as_str(), bl2[0]["rule"].as_str()),
        (Some("auto_applied"), Some("instalment_exact_amount"))
    );
    let evidence = bl2[0]["explanation"]["evidence"].to_string();
    assert!(evidence.contains("instalment 2 of 3 due 2026-03-31"), "{evidence}");
    assert!(of("BL3").iter().all(|a| a["state"] != "auto_applied"), "{allocs}");

    let path = format!("/api/v1/documents/{}", doc["id"].as_str().unwrap());
    let got = app.get(&path).await.body;
    assert_eq!(got["open_amount"], "400.00");
    let statuses: Vec<&str> =
        got["instalments"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["paid", "paid", "open"], "{got}");

    // Aging from history: on 2026-03-15 only the first instalment was paid; the second is current.
    let r = app.get("/api/v1/reports/aging?as_of=2026-03-15").await;
    assert_eq!(strings(&row(&r.body, "K1")["buckets"]), ["700.00", "0.00", "0.00", "0.00", "0.00"], "{}", r.text);
    let r = app.get("/api/v1/reports/aging?as_of=2026-05-15").await;
    assert_eq!(strings(&row(&r.body, "K1")["buckets"]), ["0.00", "400.00", "0.00", "0.00", "0.00"], "{}", r.text);

    // By hand: the unknown payer's line pays the third instalment.
    let lines = app.get("/api/v1/bank-lines?status=unapplied&limit=10").await;
    let bl3 = lines.body["items"].as_array().unwrap().iter().find(|l| l["amount"] == "400.00").unwrap()["id"].clone();
    let r = app
        .post(
            "/api/v1/allocations",
            &json!({"bank_line_id": bl3, "allocations": [{"document_id": doc["id"], "amount": "400.00"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let got = app.get(&path).await.body;
    assert_eq!(got["status"], "paid");
    assert!(got["instalments"].as_array().unwrap().iter().all(|i| i["open_amount"] == "0.00" && i["status"] == "paid"));
    let mut conn = app.db.connect();
    let report = duizhang::services::integrity::check(&mut conn).unwrap();
    let plan_check = report.checks.iter().find(|c| c.name == "instalment_plan").expect("the plan check runs");
    assert_eq!(plan_check.violations, 0, "{}", serde_json::to_string(&report).unwrap());
}
