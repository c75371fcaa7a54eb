//! `duizhang check-integrity` on a real database: clean after real imports and a matching run,
//! and each kind of corruption (made with SQL, as a bug or a crash could leave it) is reported
//! by its own check, by the service function and by the command's exit code.

use crate::helpers::TestDatabase;
use diesel::prelude::*;
use duizhang::services::integrity;
use std::time::Duration;

fn corrupt(conn: &mut PgConnection, sql: &str) {
    let n = diesel::sql_query(sql).execute(conn).unwrap();
    assert!(n > 0, "the corruption changed nothing: {sql}");
}

fn failed(conn: &mut PgConnection) -> Vec<&'static str> {
    integrity::check(conn).unwrap().failed_checks()
}

fn command_succeeds(url: &str) -> (bool, serde_json::Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_duizhang"))
        .arg("check-integrity")
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON report: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.success(), report)
}

#[tokio::test]
async fn check_integrity_passes_on_real_data_and_names_each_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/gen/recon_dataset.py"))
        .args(["--lines", "600", "--statements", "2", "--seed", "77", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let url = db.url.clone();
    let path = dir.path().to_path_buf();
    // Customers, ledger and bank lines through the real imports, then a whole matching run:
    // allocations, write-offs, FX, open amounts and line statuses as the service writes them.
    tokio::task::spawn_blocking(move || {
        let pool = duizhang::db::build_pool(&url, 2, Duration::from_secs(30)).unwrap();
        duizhang::eval::evaluate(&url, &path, pool)
    })
    .await
    .unwrap()
    .unwrap();
    let mut conn = db.connect();
    // No server ran, so no sealer: the entries are pending (recent, so that is no violation).
    let report = integrity::check(&mut conn).unwrap();
    assert!(report.ok, "{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(duizhang::services::audit_sealer::seal_everything(&mut conn).unwrap() > 0);
    let report = integrity::check(&mut conn).unwrap();
    assert!(report.ok, "{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.checks.len() >= 13);
    let url = db.url.clone();
    let (ok, json) = tokio::task::spawn_blocking(move || command_succeeds(&url)).await.unwrap();
    assert!(ok, "{json}");
    assert_eq!(json["ok"], true);

    // An open amount that no longer matches the allocations (a half-applied allocation).
    corrupt(
        &mut conn,
        "UPDATE documents SET open_amount = open_amount - 0.01 \
         WHERE id = (SELECT id FROM documents WHERE status = 'partially_paid' AND open_amount > 1 LIMIT 1)",
    );
    assert!(failed(&mut conn).contains(&"document_open_amount"));

    // A bank line whose allocations were written but whose applied amount was not.
    corrupt(
        &mut conn,
        "UPDATE bank_lines SET applied_amount = 0, status = 'unapplied' \
         WHERE id = (SELECT id FROM bank_lines WHERE status = 'applied' LIMIT 1)",
    );
    assert!(failed(&mut conn).contains(&"bank_line_applied_amount"));

    // A write-off left behind by an allocation that was rejected.
    corrupt(
        &mut conn,
        "UPDATE allocations SET state = 'rejected' \
         WHERE id = (SELECT allocation_id FROM write_offs WHERE reversed_at IS NULL LIMIT 1)",
    );
    assert!(failed(&mut conn).contains(&"write_off_allocation"));

    // An import whose lines are only partly there.
    corrupt(&mut conn, "UPDATE bank_statements SET lines_imported = lines_imported + 1");
    assert!(failed(&mut conn).contains(&"bank_statement_lines"));

    // A run whose worker died long ago and that nobody took over.
    corrupt(&mut conn, "UPDATE reconciliation_runs SET status = 'running', heartbeat_at = now() - interval '1 hour'");
    assert!(failed(&mut conn).contains(&"matching_run_alive"));

    // A dispatched event that never got its delivery.
    corrupt(
        &mut conn,
        "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, created_at, updated_at) \
         SELECT gen_random_uuid(), id, 'https://example.com/hook', 'whsec_x', now() - interval '1 day', \
                now() - interval '1 day' FROM tenants",
    );
    assert!(!failed(&mut conn).contains(&"outbox_delivered"), "events before the corruption had no endpoint");
    corrupt(
        &mut conn,
        "INSERT INTO outbox_events (id, tenant_id, event_type, payload, dispatched_at) \
         SELECT gen_random_uuid(), id, 'reconciliation.completed', '{}', now() FROM tenants",
    );
    assert!(failed(&mut conn).contains(&"outbox_delivered"));

    // An audit entry that no sealer has picked up for longer than the bound.
    corrupt(
        &mut conn,
        "INSERT INTO audit_pending (tenant_id, occurred_at, actor_type, actor_id, action, entity_type, entity_id) \
         SELECT id, now() - interval '1 hour', 'api_key', 'k', 'customer.updated', 'customer', 'C1' FROM tenants",
    );
    assert!(failed(&mut conn).contains(&"audit_sealed"));

    // The audit trail's head no longer matches its entries.
    corrupt(&mut conn, "UPDATE audit_chain_heads SET last_hash = repeat('0', 64)");
    let report = integrity::check(&mut conn).unwrap();
    assert!(report.failed_checks().contains(&"audit_chain"));
    assert!(!report.ok);

    let url = db.url.clone();
    let (ok, json) = tokio::task::spawn_blocking(move || command_succeeds(&url)).await.unwrap();
    assert!(!ok, "the command exits non-zero on a violation");
    assert_eq!(json["ok"], false);
    let failed_names: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(failed_names.contains(&"document_open_amount") && failed_names.contains(&"audit_chain"), "{json}");
}
