//! `duizhang check-integrity` on a real database: clean after real imports and a matching run,
//! and each kind of corruption (made with SQL, as a bug or a crash could leave it) is reported
//! by its own check, by the service function and by the command's exit code.

use crate::helpers::TestDatabase;
use diesel::connection::SimpleConnection;
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

/// Points `column` of the first row of `table` at a row that does not exist: refused by
/// `trigger`; with the trigger off it goes through, and the check named `check` finds it.
fn corrupt_reference(conn: &mut PgConnection, table: &str, trigger: &str, column: &str, check: &str) {
    let update = format!(
        "UPDATE {table} SET {column} = gen_random_uuid() WHERE id = (SELECT id FROM {table} ORDER BY id LIMIT 1)"
    );
    let refused = diesel::sql_query(&update).execute(conn).expect_err(&update).to_string();
    assert!(refused.contains("never change"), "{refused}");
    assert!(!failed(conn).contains(&check));
    conn.batch_execute(&format!(
        "ALTER TABLE {table} DISABLE TRIGGER {trigger}; {update}; ALTER TABLE {table} ENABLE TRIGGER {trigger}"
    ))
    .unwrap();
    assert!(failed(conn).contains(&check), "{check}");
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

/// The database keeps allocations' references valid without row-level foreign keys (see migration
/// 000015): a reference to a missing or another tenant's row is refused when written, and the rows
/// allocations point to are never deleted, truncated or re-keyed.
/// Tenants A and B; A has a customer, an invoice, a bank account, a statement and a line.
const TWO_TENANTS_ONE_LINE: &str = "INSERT INTO tenants (id, name, base_currency) VALUES \
             ('00000000-0000-0000-0000-0000000000a1', 'A', 'EUR'), ('00000000-0000-0000-0000-0000000000b2', 'B', 'EUR'); \
         INSERT INTO customers (id, tenant_id, code, name) VALUES \
             ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000a1', 'C1', 'Customer'); \
         INSERT INTO documents (id, tenant_id, customer_id, doc_type, doc_no, issue_date, due_date, currency, amount, \
                                open_amount, status) \
             VALUES ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-0000000000a1', \
                     '00000000-0000-0000-0000-0000000000c1', 'invoice', 'INV-1', '2026-01-01', '2026-02-01', 'EUR', 100, \
                     100, 'open'); \
         INSERT INTO bank_accounts (id, tenant_id, account_id, currency) VALUES \
             ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000a1', 'DE89370400440532013000', 'EUR'); \
         INSERT INTO bank_statements (id, tenant_id, format, file_sha256, file_bytes, lines_imported, \
                                      duplicates_skipped, actor_type, actor_id) VALUES \
             ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000a1', 'csv', 'x', 1, 1, 0, \
              'system', 'test'); \
         INSERT INTO bank_lines (id, tenant_id, bank_account_id, statement_id, booking_date, amount, currency, \
                                 dedupe_key) VALUES \
             ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000a1', \
              '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000e2', '2026-01-10', 100, \
              'EUR', 'k1');";

const TENANT_A: &str = "00000000-0000-0000-0000-0000000000a1";

/// An allocation of `amount` from bank line `line` to document `doc`.
fn allocation_sql(tenant: &str, line: &str, doc: &str, amount: u32) -> String {
    format!(
        "INSERT INTO allocations (id, tenant_id, bank_line_id, document_id, amount, line_amount, state, confidence, \
                                  rule, explanation) \
         VALUES (gen_random_uuid(), '{tenant}', '{line}', '{doc}', {amount}, {amount}, 'confirmed', 1, 'manual', '{{}}')"
    )
}

/// A bank line of tenant A on the account and statement of [`TWO_TENANTS_ONE_LINE`].
fn bank_line_sql(id: &str, amount: u32, dedupe_key: &str) -> String {
    bank_line_on_sql(
        id,
        "00000000-0000-0000-0000-0000000000e1",
        "00000000-0000-0000-0000-0000000000e2",
        amount,
        dedupe_key,
    )
}

/// A bank line of tenant A on the given account and statement.
fn bank_line_on_sql(id: &str, account: &str, statement: &str, amount: u32, dedupe_key: &str) -> String {
    format!(
        "INSERT INTO bank_lines (id, tenant_id, bank_account_id, statement_id, booking_date, amount, currency, \
                                 dedupe_key) \
         VALUES ('{id}', '{TENANT_A}', '{account}', '{statement}', '2026-01-11', {amount}, 'EUR', '{dedupe_key}')"
    )
}

#[tokio::test]
async fn allocation_references_are_checked_and_their_targets_are_permanent() {
    let db = TestDatabase::create();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    conn.batch_execute(TWO_TENANTS_ONE_LINE).unwrap();
    let allocate = |tenant: &str, line: &str, doc: &str| allocation_sql(tenant, line, doc, 100);
    let (a, line, doc) = (
        "00000000-0000-0000-0000-0000000000a1",
        "00000000-0000-0000-0000-0000000000f1",
        "00000000-0000-0000-0000-0000000000d1",
    );
    let missing = "00000000-0000-0000-0000-000000000999";
    for (sql, what) in [
        (allocate(a, line, missing), "a missing document"),
        (allocate(a, missing, doc), "a missing bank line"),
        (allocate("00000000-0000-0000-0000-0000000000b2", line, doc), "rows of another tenant"),
    ] {
        let err = conn.batch_execute(&sql).expect_err(what).to_string();
        assert!(err.contains("does not exist for its tenant"), "{what}: {err}");
    }
    for (account, statement, what) in [
        ("00000000-0000-0000-0000-000000000999", "00000000-0000-0000-0000-0000000000e2", "a missing account"),
        ("00000000-0000-0000-0000-0000000000e1", "00000000-0000-0000-0000-000000000999", "a missing statement"),
    ] {
        let sql = format!(
            "INSERT INTO bank_lines (id, tenant_id, bank_account_id, statement_id, booking_date, amount, currency, \
                                     dedupe_key) \
             VALUES (gen_random_uuid(), '{a}', '{account}', '{statement}', '2026-01-11', 5, 'EUR', 'k2')"
        );
        let err = conn.batch_execute(&sql).expect_err(what).to_string();
        assert!(err.contains("does not exist for its tenant"), "{what}: {err}");
    }
    // A matching run's rows skip the checks (migration 000047): the run read the documents and
    // lines it names in its own transaction. Only the rows of the run and tenant the transaction
    // names do; the setting ends with the transaction.
    let run = "00000000-0000-0000-0000-0000000000aa";
    conn.batch_execute(&format!(
        "INSERT INTO reconciliation_runs (id, tenant_id, status, actor_type, actor_id) \
         VALUES ('{run}', '{a}', 'running', 'system', 'test')"
    ))
    .unwrap();
    let from_run = |writes_of: &str, tenant: &str, run: &str, doc: &str| {
        format!(
            "SELECT set_config('duizhang.writes_of_run', '{writes_of}', true); \
             INSERT INTO allocations (id, tenant_id, run_id, bank_line_id, document_id, amount, line_amount, state, \
                                      confidence, rule, explanation) \
             VALUES (gen_random_uuid(), '{tenant}', '{run}', '{line}', '{doc}', 1, 1, 'proposed', 1, 'manual', '{{}}')"
        )
    };
    let of_run = format!("{a}/{run}");
    for (sql, what, names) in [
        (from_run(&of_run, a, missing, doc), "another run's row", "reconciliation run"),
        (
            from_run(&format!("00000000-0000-0000-0000-0000000000b2/{run}"), a, run, missing),
            "a row of another tenant's run",
            "document",
        ),
        (from_run(&format!("{a}/{missing}"), a, run, missing), "a row of a run the transaction is not", "document"),
    ] {
        let err = conn.transaction(|c| c.batch_execute(&sql)).expect_err(what).to_string();
        assert!(err.contains(&format!("references {names}")), "{what}: {err}");
    }
    // As the run says it (`writes_of_run`): its row naming a missing document goes through.
    let skipped = conn.transaction::<(), diesel::result::Error, _>(|c| {
        duizhang::db::cash_application::writes_of_run(c, a.parse().unwrap(), run.parse().unwrap())?;
        let own_row = from_run(&of_run, a, run, missing);
        c.batch_execute(own_row.split_once("; ").unwrap().1)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(
        matches!(skipped, Err(diesel::result::Error::RollbackTransaction)),
        "the run's own rows are not looked up again: {skipped:?}"
    );
    let err = conn.batch_execute(&allocate(a, line, missing)).expect_err("checked again after the run").to_string();
    assert!(err.contains("does not exist for its tenant"), "{err}");
    // A document's customer is checked the same way (migration 000044).
    let document = |customer: &str, tenant: &str| {
        format!(
            "INSERT INTO documents (id, tenant_id, customer_id, doc_type, doc_no, issue_date, currency, amount, \
                                    open_amount, status) \
             VALUES (gen_random_uuid(), '{tenant}', '{customer}', 'invoice', 'INV-2', '2026-01-01', 'EUR', 5, 5, 'open')"
        )
    };
    let customer = "00000000-0000-0000-0000-0000000000c1";
    for (sql, what) in [
        (document(missing, a), "a missing customer"),
        (document(customer, "00000000-0000-0000-0000-0000000000b2"), "another tenant's customer"),
    ] {
        let err = conn.batch_execute(&sql).expect_err(what).to_string();
        assert!(err.contains("does not exist for its tenant"), "{what}: {err}");
    }
    conn.batch_execute(&document(customer, a)).expect("a document of its tenant's customer is accepted");
    conn.batch_execute(&allocate(a, line, doc)).expect("a valid allocation is accepted");
    // Write-offs name an allocation and a document of their tenant, checked the same way.
    let write_off = |tenant: &str, allocation: &str, doc: &str| {
        format!(
            "INSERT INTO write_offs (id, tenant_id, allocation_id, document_id, amount, currency, reason) \
             VALUES (gen_random_uuid(), '{tenant}', {allocation}, '{doc}', 1, 'EUR', 'manual')"
        )
    };
    let valid = "(SELECT id FROM allocations LIMIT 1)";
    for (sql, what, names) in [
        (write_off(a, &format!("'{missing}'"), doc), "a missing allocation", "allocation"),
        (write_off(a, valid, missing), "a missing document", "document"),
        (write_off("00000000-0000-0000-0000-0000000000b2", valid, doc), "another tenant's rows", "document"),
    ] {
        let err = conn.batch_execute(&sql).expect_err(what).to_string();
        assert!(err.contains(&format!("write-off references {names}")), "{what}: {err}");
    }
    // In a run's transaction its tenant's write-offs are not looked up again.
    let skipped = conn.transaction::<(), diesel::result::Error, _>(|c| {
        duizhang::db::cash_application::writes_of_run(c, a.parse().unwrap(), run.parse().unwrap())?;
        c.batch_execute(&write_off(a, valid, missing))?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(matches!(skipped, Err(diesel::result::Error::RollbackTransaction)), "a run's write-off: {skipped:?}");
    conn.batch_execute(&write_off(a, valid, doc)).expect("a valid write-off is accepted");
    for sql in [
        "DELETE FROM documents",
        "DELETE FROM bank_lines",
        "DELETE FROM bank_statements",
        "DELETE FROM bank_accounts",
        "TRUNCATE documents CASCADE",
        "TRUNCATE bank_lines CASCADE",
        "UPDATE documents SET tenant_id = '00000000-0000-0000-0000-0000000000b2'",
        "UPDATE bank_lines SET id = gen_random_uuid()",
        "UPDATE allocations SET bank_line_id = gen_random_uuid()",
        "DELETE FROM allocations",
        "TRUNCATE allocations CASCADE",
        "UPDATE allocations SET id = gen_random_uuid()",
        "UPDATE write_offs SET allocation_id = gen_random_uuid()",
        "UPDATE bank_lines SET statement_id = gen_random_uuid()",
        "DELETE FROM customers",
        "TRUNCATE customers CASCADE",
        "UPDATE customers SET id = gen_random_uuid()",
        "UPDATE documents SET customer_id = gen_random_uuid()",
    ] {
        let err = conn.batch_execute(sql).expect_err(sql).to_string();
        assert!(err.contains("never"), "{sql}: {err}");
    }
    // Updates that keep the keys (as every use case's updates do) pass.
    conn.batch_execute("UPDATE documents SET tenant_id = tenant_id, open_amount = 0, status = 'paid'").unwrap();
    let n: i64 =
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM allocations)"))
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn check_integrity_passes_on_real_data_and_names_each_corruption() {
    let dir = crate::helpers::generated_folder(600, 2, 77, None);
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let url = db.url.clone();
    let path = dir.path().to_path_buf();
    // Customers, ledger and bank lines through the real imports, then a whole matching run:
    // allocations, write-offs, FX, open amounts and line statuses as the service writes them.
    tokio::task::spawn_blocking(move || {
        let pool = duizhang::db::build_pool(&url, 2, Duration::from_secs(30)).unwrap();
        duizhang::evaluation::cash_application::evaluate(&url, &path, pool)
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

    // An allocation whose document vanished, and a document whose customer did: the database
    // refuses both, so only someone who switches its triggers off (as a superuser can) gets there.
    corrupt_reference(&mut conn, "allocations", "allocations_references_fixed", "document_id", "allocation_targets");
    corrupt_reference(&mut conn, "documents", "documents_customer_fixed", "customer_id", "document_customer");

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

/// The per-statement reference checks must probe the referenced tables by their keys however
/// large the tables have grown since a connection first ran them (PL/pgSQL keeps the plan). A
/// plan made on small tables used to read bank_statements whole on every statement import: by a
/// sequential scan until migration 000016 switched those off, then by a scan of a whole index
/// (34M index entries over 8,000 five-line imports) until 000017 planned the checks afresh.
#[tokio::test]
async fn reference_checks_read_only_the_referenced_rows() {
    let db = TestDatabase::create();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    conn.batch_execute(TWO_TENANTS_ONE_LINE).unwrap();
    // Statistics say the tables hold one row each (as after a VACUUM ANALYZE of a young
    // database: with ANALYZE alone, other plans were chosen); then both checks run, and are
    // planned, on this connection.
    conn.batch_execute("VACUUM ANALYZE").unwrap();
    let (line, doc) = ("00000000-0000-0000-0000-0000000000f1", "00000000-0000-0000-0000-0000000000d1");
    conn.batch_execute(&bank_line_sql("00000000-0000-0000-0000-0000000000f3", 1, "k2")).unwrap();
    conn.batch_execute(&allocation_sql(TENANT_A, line, doc, 1)).unwrap();
    // Every referenced table grows, with rows of the same tenant (no ANALYZE: the cached plans
    // stay).
    conn.batch_execute(&format!(
        "INSERT INTO bank_statements (id, tenant_id, format, file_sha256, file_bytes, lines_imported, \
                                      duplicates_skipped, actor_type, actor_id) \
         SELECT gen_random_uuid(), '{TENANT_A}', 'csv', 'x' || g, 1, 0, 0, 'system', 'test' \
         FROM generate_series(1, {GROWN}) g; \
         INSERT INTO bank_accounts (id, tenant_id, account_id, currency) \
         SELECT gen_random_uuid(), '{TENANT_A}', 'ACC' || g, 'EUR' FROM generate_series(1, {GROWN}) g; \
         INSERT INTO documents (id, tenant_id, customer_id, doc_type, doc_no, issue_date, due_date, currency, \
                                amount, open_amount, status) \
         SELECT gen_random_uuid(), '{TENANT_A}', '00000000-0000-0000-0000-0000000000c1', 'invoice', 'G-' || g, \
                '2026-01-01', '2026-02-01', 'EUR', 1, 1, 'open' FROM generate_series(1, {GROWN}) g; \
         INSERT INTO bank_lines (id, tenant_id, bank_account_id, statement_id, booking_date, amount, currency, \
                                 dedupe_key) \
         SELECT gen_random_uuid(), '{TENANT_A}', '00000000-0000-0000-0000-0000000000e1', \
                '00000000-0000-0000-0000-0000000000e2', '2026-01-10', 1, 'EUR', 'g' || g \
         FROM generate_series(1, {GROWN}) g;"
    ))
    .unwrap();
    // What the two inserts read of the referenced tables, in blocks of the table and its
    // indexes (a scan of a whole index returns only the matching entry: counts of rows or
    // entries would not tell), from the cumulative statistics, flushed after each step.
    let blocks_read = |conn: &mut PgConnection| -> std::collections::BTreeMap<String, i64> {
        conn.batch_execute("SELECT pg_stat_force_next_flush()").unwrap();
        conn.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        diesel::sql_query(
            "SELECT relname::text AS relname, \
                    (coalesce(heap_blks_read, 0) + coalesce(heap_blks_hit, 0) \
                     + coalesce(idx_blks_read, 0) + coalesce(idx_blks_hit, 0))::bigint AS n \
             FROM pg_statio_user_tables \
             WHERE relname IN ('bank_statements', 'bank_accounts', 'bank_lines', 'documents', 'reconciliation_runs')",
        )
        .load::<BlocksRead>(conn)
        .unwrap()
        .into_iter()
        .map(|r| (r.relname, r.n))
        .collect()
    };
    // New rows to reference, with ids that sort after every other (ids are UUIDv7, so the
    // newest statement or document is the last entry of an index on id): a scan that stops at
    // the first match still reads the whole index to get there.
    let (account, statement, document) = (
        "ffffffff-0000-7000-8000-0000000000e1",
        "ffffffff-0000-7000-8000-0000000000e2",
        "ffffffff-0000-7000-8000-0000000000d1",
    );
    conn.batch_execute(&format!(
        "INSERT INTO bank_accounts (id, tenant_id, account_id, currency) VALUES ('{account}', '{TENANT_A}', 'NEW', 'EUR'); \
         INSERT INTO bank_statements (id, tenant_id, format, file_sha256, file_bytes, lines_imported, \
                                      duplicates_skipped, actor_type, actor_id) \
         VALUES ('{statement}', '{TENANT_A}', 'csv', 'new', 1, 0, 0, 'system', 'test'); \
         INSERT INTO documents (id, tenant_id, customer_id, doc_type, doc_no, issue_date, due_date, currency, \
                                amount, open_amount, status) \
         VALUES ('{document}', '{TENANT_A}', '00000000-0000-0000-0000-0000000000c1', 'invoice', 'NEW', '2026-01-01', \
                 '2026-02-01', 'EUR', 100, 100, 'open');"
    ))
    .unwrap();
    let before = blocks_read(&mut conn);
    let new_line = "ffffffff-0000-7000-8000-0000000000f2";
    conn.batch_execute(&bank_line_on_sql(new_line, account, statement, 7, "new")).unwrap();
    conn.batch_execute(&allocation_sql(TENANT_A, new_line, document, 7)).unwrap();
    let read: Vec<(String, i64)> = blocks_read(&mut conn)
        .into_iter()
        .map(|(table, n)| (table.clone(), n - before.get(&table).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    // One line and one allocation reference one row of each table: a lookup by key reads a
    // few blocks (bank_lines: also the line's own insert, about ten), a scan of a whole index
    // of 20,000 entries over a hundred.
    assert!(
        read.iter().all(|(_, blocks)| *blocks <= 16),
        "a reference check read more than the referenced rows of tables of {GROWN} rows (blocks): {read:?}"
    );
}

/// How many rows each referenced table gets in [`reference_checks_read_only_the_referenced_rows`].
const GROWN: usize = 20_000;

#[derive(diesel::QueryableByName)]
struct BlocksRead {
    #[diesel(sql_type = diesel::sql_types::Text)]
    relname: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
