//! The schema is ready for distribution by tenant (docs/scaling.md, "Towards Citus"): read from
//! the catalog, every table outside a short list of reference tables has a NOT NULL tenant_id in
//! its primary key, its unique constraints and indexes, and its foreign keys (paired with the
//! referenced table's tenant_id). The same check is run over planted breaks so that it can fail,
//! and migration 000030 is run down and up again over rows written under the old keys.

use crate::helpers::TestDatabase;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_migrations::MigrationHarness;
use duizhang::db::MIGRATIONS;

/// The tables without tenant_id, each with the reason it is global. A new one needs a reason as
/// good as these: a reference table is copied to every node and written on all of them.
const REFERENCE_TABLES: &[(&str, &str)] = &[
    ("tenants", "the tenants themselves: read by slug at login, referenced by every tenant table"),
    ("key_rotations", "the progress of a rotation of the deployment's master key, one row per rotation"),
    ("__diesel_schema_migrations", "the applied migrations, kept by the node that runs them"),
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Break {
    kind: &'static str,
    table: String,
    constraint: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    flag: bool,
}

fn rows(conn: &mut PgConnection, sql: &str, schema: &str) -> Vec<Row> {
    diesel::sql_query(sql).bind::<Text, _>(schema).load(conn).unwrap()
}

/// Tables (flag: has a primary key) without a NOT NULL tenant_id.
const WITHOUT_TENANT: &str = "SELECT c.relname::text AS table_name, ''::text AS name, \
        EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary) AS flag \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM pg_attribute a \
        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnotnull AND NOT a.attisdropped)";

/// Tables without a primary key (shard moves replicate by it).
const WITHOUT_PRIMARY_KEY: &str = "SELECT c.relname::text AS table_name, ''::text AS name, false AS flag \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') \
      AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)";

/// Unique indexes (those of primary keys and unique constraints too) without tenant_id among
/// their columns (flag: primary key).
const UNIQUE_WITHOUT_TENANT: &str = "SELECT t.relname::text AS table_name, i.relname::text AS name, \
        x.indisprimary AS flag \
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
        JOIN pg_namespace n ON n.oid = t.relnamespace \
    WHERE n.nspname = $1 AND x.indisunique AND NOT EXISTS (SELECT 1 FROM pg_attribute a \
        WHERE a.attrelid = t.oid AND a.attname = 'tenant_id' AND a.attnum = ANY (x.indkey::int2[]))";

/// Foreign keys (name: constraint and referenced table) and whether they pair tenant_id with
/// the referenced table's tenant_id.
const FOREIGN_KEYS: &str = "SELECT t.relname::text AS table_name, c.conname || ' ' || r.relname AS name, \
        EXISTS (SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(a, b) \
            JOIN pg_attribute x ON x.attrelid = c.conrelid AND x.attnum = k.a \
            JOIN pg_attribute y ON y.attrelid = c.confrelid AND y.attnum = k.b \
            WHERE x.attname = 'tenant_id' AND y.attname = 'tenant_id') AS flag \
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
        JOIN pg_namespace n ON n.oid = t.relnamespace \
    WHERE c.contype = 'f' AND n.nspname = $1";

/// Every table or constraint in `schema` that keeps it from being distributed by tenant_id,
/// the tables in `reference` (global by design) aside.
fn breaks(conn: &mut PgConnection, schema: &str, reference: &[&str]) -> Vec<Break> {
    let global = |t: &str| reference.contains(&t);
    let found = |kind, table: String, constraint: String| Break { kind, table, constraint };
    let mut out = Vec::new();
    for r in rows(conn, WITHOUT_TENANT, schema).into_iter().filter(|r| !global(&r.table_name)) {
        out.push(found("no NOT NULL tenant_id", r.table_name, r.name));
    }
    for r in rows(conn, WITHOUT_PRIMARY_KEY, schema).into_iter().filter(|r| !global(&r.table_name)) {
        out.push(found("no primary key", r.table_name, r.name));
    }
    for r in rows(conn, UNIQUE_WITHOUT_TENANT, schema).into_iter().filter(|r| !global(&r.table_name)) {
        let kind = if r.flag { "primary key without tenant_id" } else { "unique without tenant_id" };
        out.push(found(kind, r.table_name, r.name));
    }
    for r in rows(conn, FOREIGN_KEYS, schema).into_iter().filter(|r| !r.flag && !global(&r.table_name)) {
        let (constraint, referenced) = r.name.split_once(' ').unwrap();
        if !global(referenced) {
            out.push(found("foreign key without tenant_id on both sides", r.table_name, constraint.to_string()));
        }
    }
    out.sort();
    out
}

fn reference_names() -> Vec<&'static str> {
    REFERENCE_TABLES.iter().map(|(t, _)| *t).collect()
}

fn table_exists(conn: &mut PgConnection, table: &str) -> bool {
    let found = rows(
        conn,
        "SELECT c.relname::text AS table_name, ''::text AS name, true AS flag FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relname = $1",
        table,
    );
    !found.is_empty()
}

#[test]
fn every_tenant_table_has_tenant_id_in_its_keys_and_the_reference_tables_are_few() {
    let db = TestDatabase::create();
    let mut conn = db.connect();
    let found = breaks(&mut conn, "public", &reference_names());
    assert!(found.is_empty(), "tables or constraints not ready for distribution by tenant:\n{found:#?}");
    assert!(REFERENCE_TABLES.len() <= 3, "reference tables are copied to every node: keep them few");
    for (table, reason) in REFERENCE_TABLES {
        assert!(table_exists(&mut conn, table), "reference table {table} ({reason}) is gone: drop it from the list");
    }
}

const PLANTED: &str = "CREATE SCHEMA planted;
    CREATE TABLE planted.tenants (id uuid PRIMARY KEY);
    CREATE TABLE planted.good_parent (id uuid, tenant_id uuid NOT NULL REFERENCES planted.tenants (id), code text,
        PRIMARY KEY (id, tenant_id), UNIQUE (tenant_id, code));
    CREATE TABLE planted.good_child (id uuid, tenant_id uuid NOT NULL, parent_id uuid, PRIMARY KEY (id, tenant_id),
        FOREIGN KEY (tenant_id, parent_id) REFERENCES planted.good_parent (tenant_id, id));
    CREATE UNIQUE INDEX good_child_parent ON planted.good_child (parent_id, tenant_id);
    CREATE TABLE planted.no_tenant (id uuid PRIMARY KEY);
    CREATE TABLE planted.nullable_tenant (tenant_id uuid, note text);
    CREATE TABLE planted.bad_parent (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, code text UNIQUE, name text);
    CREATE UNIQUE INDEX bad_parent_name ON planted.bad_parent (lower(name));
    CREATE TABLE planted.bad_child (id uuid, tenant_id uuid NOT NULL, parent_id uuid REFERENCES planted.bad_parent (id),
        good_id uuid, PRIMARY KEY (id, tenant_id),
        CONSTRAINT bad_child_crossed FOREIGN KEY (tenant_id, good_id) REFERENCES planted.good_parent (id, tenant_id));";

#[test]
fn the_key_check_reports_each_kind_of_break_by_table_and_constraint() {
    let db = TestDatabase::create();
    let mut conn = db.connect();
    conn.batch_execute(PLANTED).unwrap();
    let found = breaks(&mut conn, "planted", &["tenants"]);
    let expected = |kind, table: &str, constraint: &str| Break {
        kind,
        table: table.to_string(),
        constraint: constraint.to_string(),
    };
    let mut want = vec![
        expected("no NOT NULL tenant_id", "no_tenant", ""),
        expected("primary key without tenant_id", "no_tenant", "no_tenant_pkey"),
        expected("no NOT NULL tenant_id", "nullable_tenant", ""),
        expected("no primary key", "nullable_tenant", ""),
        expected("primary key without tenant_id", "bad_parent", "bad_parent_pkey"),
        expected("unique without tenant_id", "bad_parent", "bad_parent_code_key"),
        expected("unique without tenant_id", "bad_parent", "bad_parent_name"),
        expected("foreign key without tenant_id on both sides", "bad_child", "bad_child_parent_id_fkey"),
        expected("foreign key without tenant_id on both sides", "bad_child", "bad_child_crossed"),
    ];
    want.sort();
    assert_eq!(found, want);
}

const POPULATE_UNDER_OLD_KEYS: &str = include_str!("../fixtures/citus_ready_rows.sql");

fn revert_through_000030(conn: &mut PgConnection) {
    loop {
        let version = conn.revert_last_migration(MIGRATIONS).unwrap().to_string();
        if version.replace('-', "").starts_with("20261206000030") {
            return;
        }
    }
}

use crate::helpers::count_rows as count;

/// Down on the migrated schema, rows written under the old keys, then up again: the rows stay,
/// the check passes, and a child row naming another tenant's parent is refused by the new keys
/// (the old ones accepted it).
#[test]
fn the_key_migration_runs_down_and_up_over_existing_rows() {
    let db = TestDatabase::create();
    let mut conn = db.connect();
    revert_through_000030(&mut conn);
    let old = breaks(&mut conn, "public", &reference_names());
    assert!(old.iter().any(|b| b.constraint == "documents_pkey"), "{old:#?}");
    conn.batch_execute(POPULATE_UNDER_OLD_KEYS).unwrap();
    let tables = ["customers", "dunning_assignments", "statement_run_items", "differences", "webhook_attempts"];
    let before: Vec<i64> = tables.iter().map(|t| count(&mut conn, t)).collect();
    let cross_tenant = "INSERT INTO customer_dunning (customer_id, tenant_id) \
        VALUES ('00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000a1')";
    conn.transaction(|c| {
        diesel::sql_query(cross_tenant).execute(c).expect("the old key lets a row name another tenant's customer");
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    })
    .unwrap_err();

    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(breaks(&mut conn, "public", &reference_names()), vec![]);
    assert_eq!(tables.iter().map(|t| count(&mut conn, t)).collect::<Vec<_>>(), before);
    let refused = diesel::sql_query(cross_tenant).execute(&mut conn).unwrap_err().to_string();
    assert!(refused.contains("customer_dunning_tenant_id_customer_id_fkey"), "{refused}");
}
