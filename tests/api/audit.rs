use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use diesel::prelude::*;
use duizhang::db::audit::{self as audit_db, HeadLock};
use duizhang::services::{audit, audit_sealer, integrity};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn every_change_is_audited_with_before_and_after() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let inv = app.create_invoice("C1", "INV-1", "10.00").await;
    let id = inv["id"].as_str().unwrap();
    app.patch_as(&app.api_key, &format!("/api/v1/documents/{id}"), &json!({"amount": "12.00"})).await;
    let r = app.get(&format!("/api/v1/audit?entity_type=document&entity_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "document.created");
    assert_eq!(items[1]["action"], "document.updated");
    assert_eq!(items[1]["before"]["amount"], "10.00");
    assert_eq!(items[1]["after"]["amount"], "12.00");
    assert_eq!(items[1]["actor_type"], "api_key");
    assert_eq!(items[1]["prev_hash"], items[0]["hash"]);
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], true, "{}", v.text);
    // A viewer may not read the trail.
    let k = app.post("/api/v1/api-keys", &json!({"name": "v", "role": "viewer"})).await;
    let viewer = k.body["api_key"].as_str().unwrap();
    assert_eq!(app.get_as(viewer, "/api/v1/audit").await.status, 403);
}

#[tokio::test]
async fn a_failed_write_leaves_neither_row_nor_audit_entry() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let before = app.count("audit_trail");
    // Valid JSON, but the second half of the use case fails: duplicate doc_no in the same tenant.
    app.create_invoice("C1", "INV-1", "10.00").await;
    let r = app
        .post("/api/v1/documents", &json!({"doc_type": "invoice", "doc_no": "INV-1", "customer_code": "C1", "issue_date": "2026-03-01", "currency": "EUR", "amount": "11.00"}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(app.count("audit_trail"), before + 1);
    assert_eq!(app.count("documents"), 1);
}

#[tokio::test]
async fn the_trail_is_append_only_and_tampering_is_detected() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    app.create_customer("C2").await;
    app.seal_audit();
    let mut conn = app.db.connect();
    let update = diesel::sql_query("UPDATE audit_log SET action = 'x' WHERE seq = 2").execute(&mut conn);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = diesel::sql_query("DELETE FROM audit_log").execute(&mut conn);
    assert!(delete.is_err());
    assert!(diesel::sql_query("TRUNCATE audit_log").execute(&mut conn).is_err());
    // Someone with the power to disable triggers edits history: verification finds the entry.
    diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete").execute(&mut conn).unwrap();
    diesel::sql_query("UPDATE audit_log SET after = jsonb_set(after, '{name}', '\"Forged\"') WHERE action = 'customer.created' AND entity_id = 'C1'")
        .execute(&mut conn)
        .unwrap();
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
    assert_eq!(v.body["first_broken_seq"], 3, "tenant + key entries come first: {}", v.text);
    // Removing the last entry is caught by the chain head.
    let app2 = spawn_app().await;
    app2.create_customer("C1").await;
    app2.seal_audit();
    let mut conn2 = app2.db.connect();
    diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete").execute(&mut conn2).unwrap();
    diesel::sql_query("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
        .execute(&mut conn2)
        .unwrap();
    let v = app2.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
}

/// Sequence numbers of the tenant's sealed entries, in order.
fn sealed_seqs(app: &TestApp) -> Vec<i64> {
    use duizhang::db::schema::audit_log;
    let mut conn = app.db.connect();
    audit_log::table
        .filter(audit_log::tenant_id.eq(app.tenant_id))
        .order(audit_log::seq.asc())
        .select(audit_log::seq)
        .load(&mut conn)
        .unwrap()
}

fn pending(app: &TestApp) -> i64 {
    app.count(&format!("audit_pending WHERE tenant_id = '{}'", app.tenant_id))
}

async fn create_invoices(app: &TestApp, prefix: &str, n: usize) {
    let numbers: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    futures_util::future::join_all(numbers.iter().map(|no| app.create_invoice("C1", no, "10.00"))).await;
}

#[tokio::test]
async fn the_background_sealer_chains_every_committed_entry() {
    let app = spawn_app_with(|s| s.audit_seal_interval = Duration::from_millis(20)).await;
    app.create_customer("C1").await;
    create_invoices(&app, "INV", 30).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pending(&app) > 0 {
        assert!(std::time::Instant::now() < deadline, "the sealer left {} entries unsealed", pending(&app));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Tenant and key creation, the customer and 30 invoices: consecutive, from 1.
    let total = app.count(&format!("audit_trail WHERE tenant_id = '{}'", app.tenant_id));
    assert_eq!(total, 2 + 1 + 30);
    assert_eq!(sealed_seqs(&app), (1..=total).collect::<Vec<_>>());
    // Verified without the API (which would seal by itself): the background sealer did it all.
    let mut conn = app.db.connect();
    let v = audit::verify_chain(&mut conn, app.tenant_id).unwrap();
    assert!(v.valid && v.entries_checked == total, "{v:?}");
}

#[tokio::test]
async fn a_crash_between_the_change_and_the_seal_loses_no_entry() {
    // No background sealer: entries stay pending until someone seals them.
    let app = spawn_app_with(|s| s.audit_sealer = false).await;
    app.create_customer("C1").await;
    let inv = app.create_invoice("C1", "INV-1", "10.00").await;
    // Committed with the change, not yet in the chain.
    assert_eq!(pending(&app), 4);
    assert!(sealed_seqs(&app).is_empty());
    // Pending entries are not edited or deleted by anyone but a sealer.
    let mut conn = app.db.connect();
    let update = diesel::sql_query("UPDATE audit_pending SET action = 'x'").execute(&mut conn);
    assert!(update.unwrap_err().to_string().contains("only allowed to the sealer"));
    assert!(diesel::sql_query("DELETE FROM audit_pending").execute(&mut conn).is_err());
    assert!(diesel::sql_query("TRUNCATE audit_pending").execute(&mut conn).is_err());

    // A sealer dies in the middle of its transaction (its connection goes away uncommitted).
    let mut dying = app.db.connect();
    diesel::sql_query("BEGIN").execute(&mut dying).unwrap();
    let sealed = audit_db::seal(&mut dying, app.tenant_id, 100, HeadLock::Wait).unwrap();
    assert_eq!(sealed, Some(4));
    drop(dying);
    assert_eq!(pending(&app), 4, "the dead sealer's work rolled back whole");
    assert!(sealed_seqs(&app).is_empty());
    // Recent pending entries are normal: the integrity check passes.
    assert!(integrity::check(&mut conn).unwrap().ok);

    // An entry that no sealer picked up for longer than the bound is reported.
    diesel::sql_query(format!(
        "INSERT INTO audit_pending (tenant_id, occurred_at, actor_type, actor_id, action, entity_type, entity_id) \
         VALUES ('{}', now() - interval '10 minutes', 'api_key', 'k', 'customer.updated', 'customer', 'C1')",
        app.tenant_id
    ))
    .execute(&mut conn)
    .unwrap();
    let report = integrity::check(&mut conn).unwrap();
    assert_eq!(report.failed_checks(), vec!["audit_sealed"], "{}", serde_json::to_string(&report).unwrap());

    // The next sealer (here: a restarted process's) seals everything; the chain verifies.
    assert_eq!(app.seal_audit(), 5);
    assert_eq!(sealed_seqs(&app), (1..=5).collect::<Vec<_>>());
    assert!(integrity::check(&mut conn).unwrap().ok);
    let v = app.get("/api/v1/audit/verify").await;
    assert_eq!(v.body["valid"], true, "{}", v.text);
    assert_eq!(v.body["entries_checked"], 5);
    let r = app.get(&format!("/api/v1/audit?entity_type=document&entity_id={}", inv["id"].as_str().unwrap())).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["items"][0]["seq"], 4);
}

/// Large entries (an import's creation entries name hundreds of documents) are sealed and
/// verified a few at a time: a batch stops at `BATCH_BYTES` of stored values, however many
/// entries the batch size allows; nothing is skipped and the chain verifies.
#[tokio::test]
async fn large_entries_are_sealed_and_verified_in_batches_bounded_by_size() {
    let app = spawn_app_with(|s| s.audit_sealer = false).await;
    let mut conn = app.db.connect();
    app.seal_audit();
    // Twelve entries of about 1.3 MB each as text (random hex digits, which compress little).
    diesel::sql_query(format!(
        "INSERT INTO audit_pending (tenant_id, occurred_at, actor_type, actor_id, action, entity_type, entity_id, after) \
         SELECT '{}', now(), 'api_key', 'k', 'documents.imported', 'document_import', g::text, \
                jsonb_build_object('documents', (SELECT jsonb_agg(md5(random()::text || g || x)) \
                                                 FROM generate_series(1, 30000) x)) \
           FROM generate_series(1, 12) g",
        app.tenant_id
    ))
    .execute(&mut conn)
    .unwrap();
    let first = conn.transaction(|c| audit_db::seal(c, app.tenant_id, 2000, HeadLock::Wait)).unwrap();
    assert!(matches!(first, Some(n) if (1..6).contains(&n)), "{first:?}");
    let rest = app.seal_audit();
    assert_eq!(first.unwrap() + rest, 12);
    assert_eq!(pending(&app), 0);
    let total = sealed_seqs(&app).len() as i64;
    let page = audit_db::chain_page(&mut conn, app.tenant_id, 0, 5000).unwrap();
    assert!(!page.is_empty() && (page.len() as i64) < total, "{} of {total}", page.len());
    let v = audit::verify_chain(&mut conn, app.tenant_id).unwrap();
    assert!(v.valid && v.entries_checked == total, "{v:?}");
}

#[tokio::test]
async fn reading_the_trail_seals_it_first() {
    let app = spawn_app_with(|s| s.audit_sealer = false).await;
    app.create_customer("C1").await;
    create_invoices(&app, "INV", 3).await;
    assert_eq!(pending(&app), 6);
    let r = app.get("/api/v1/audit?limit=2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(pending(&app), 0);
    let mut seqs: Vec<i64> = r.body["items"].as_array().unwrap().iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    let mut cursor = r.body["next_cursor"].as_str().map(str::to_string);
    // Paging goes on by sequence number; entries committed meanwhile come after, never skipped.
    app.create_invoice("C1", "LATE", "1.00").await;
    while let Some(c) = cursor {
        let r = app.get(&format!("/api/v1/audit?limit=2&cursor={c}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seqs.extend(r.body["items"].as_array().unwrap().iter().map(|i| i["seq"].as_i64().unwrap()));
        cursor = r.body["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn concurrent_sealers_and_writers_keep_one_chain() {
    let app = spawn_app_with(|s| s.audit_seal_interval = Duration::from_millis(10)).await;
    app.create_customer("C1").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Three more sealers, as other server processes would run them.
    let sealers: Vec<_> = (0..3)
        .map(|_| {
            let url = app.db.url.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    audit_sealer::seal_all(&mut conn).unwrap();
                }
            })
        })
        .collect();
    create_invoices(&app, "A", 40).await;
    create_invoices(&app, "B", 40).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in sealers {
        s.join().unwrap();
    }
    app.seal_audit();
    assert_eq!(pending(&app), 0);
    let total = app.count(&format!("audit_trail WHERE tenant_id = '{}'", app.tenant_id));
    assert_eq!(total, 2 + 1 + 80);
    assert_eq!(sealed_seqs(&app), (1..=total).collect::<Vec<_>>());
    let mut conn = app.db.connect();
    let v = audit::verify_chain(&mut conn, app.tenant_id).unwrap();
    assert!(v.valid && v.entries_checked == total, "{v:?}");
}
