//! Tenant export and import: every row of one tenant, table by table, as JSON (PostgreSQL's own
//! `to_jsonb` and `jsonb_populate_recordset`, so numbers, dates, arrays and bytes keep their
//! exact values); the tables that hold tenant data; sealed values page by page.
//!
//! Table and column names passed in here are the caller's constants (the list of tenant tables
//! in `services::data_safety::tenant_export`), never input.

use crate::db::customers::Customer;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Base tables of the public schema with a `tenant_id` column.
pub fn tenant_scoped_tables(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT c.table_name AS name FROM information_schema.columns c JOIN information_schema.tables t \
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' \
         WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' ORDER BY 1",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The migrations applied, oldest first.
pub fn migrations(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<Name> =
        diesel::sql_query("SELECT version AS name FROM __diesel_schema_migrations ORDER BY version").load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The table's columns in order (generated columns, which cannot be inserted, left out).
pub fn columns(conn: &mut PgConnection, table: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position",
    )
    .bind::<Text, _>(table)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The table's primary key columns, in key order.
fn primary_key(conn: &mut PgConnection, table: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a \
         ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = ('public.' || quote_ident($1))::regclass AND i.indisprimary \
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind::<Text, _>(table)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// One exported row: the row as JSON without `omitted` columns (`rest`), and the `sealed`
/// columns as a JSON object (opened by the caller, then joined into `rest`).
#[derive(QueryableByName)]
pub struct ExportRow {
    #[diesel(sql_type = Text)]
    pub rest: String,
    #[diesel(sql_type = Text)]
    pub sealed: String,
}

const CURSOR: &str = "duizhang_tenant_export";

/// Opens a cursor over the tenant's rows of `table` in primary key order (the tenant row itself
/// for `tenants`). Needs a transaction; read it with [`fetch`], then [`close`].
pub fn open_cursor(
    conn: &mut PgConnection,
    table: &str,
    tenant_id: Uuid,
    sealed: &[&str],
    omitted: &[&str],
) -> QueryResult<()> {
    let mut key = primary_key(conn, table)?.iter().map(|c| format!("t.\"{c}\"")).collect::<Vec<_>>().join(", ");
    if key.is_empty() {
        // Without a primary key the whole row orders it: still the same file for the same rows.
        key = "to_jsonb(t)::text".into();
    }
    let mut dropped: Vec<String> = sealed.iter().chain(omitted).map(|c| format!("'{c}'")).collect();
    dropped.push("'__none__'".into());
    let sealed_obj = if sealed.is_empty() {
        "'{}'::text".to_string()
    } else {
        let pairs: Vec<String> = sealed.iter().map(|c| format!("'{c}', t.\"{c}\"")).collect();
        format!("jsonb_build_object({})::text", pairs.join(", "))
    };
    let owner = if table == "tenants" { "id" } else { "tenant_id" };
    diesel::sql_query(format!(
        "DECLARE {CURSOR} NO SCROLL CURSOR FOR SELECT (to_jsonb(t) - ARRAY[{}]::text[])::text AS rest, \
         {sealed_obj} AS sealed FROM \"{table}\" t WHERE t.{owner} = '{tenant_id}' ORDER BY {key}",
        dropped.join(", ")
    ))
    .execute(conn)?;
    Ok(())
}

/// The next `n` rows of the cursor (empty at the end).
pub fn fetch(conn: &mut PgConnection, n: i64) -> QueryResult<Vec<ExportRow>> {
    diesel::sql_query(format!("FETCH {n} FROM {CURSOR}")).load(conn)
}

pub fn close(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("CLOSE {CURSOR}")).execute(conn)?;
    Ok(())
}

/// Inserts rows given as a JSON array of objects into `columns` of `table`, each with the
/// members of the JSON object `overrides` replacing its own; returns how many.
pub fn insert_json_rows(
    conn: &mut PgConnection,
    table: &str,
    columns: &[String],
    rows: &str,
    overrides: &str,
) -> QueryResult<usize> {
    let cols = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    diesel::sql_query(format!(
        "INSERT INTO \"{table}\" ({cols}) SELECT {cols} FROM jsonb_populate_recordset(NULL::\"{table}\", \
         (SELECT coalesce(jsonb_agg(r || $2::jsonb), '[]') FROM jsonb_array_elements($1::jsonb) r))"
    ))
    .bind::<Text, _>(rows)
    .bind::<Text, _>(overrides)
    .execute(conn)
}

/// The tenant's rows in `table` (the tenant itself for `tenants`).
pub fn count_rows(conn: &mut PgConnection, table: &str, tenant_id: Uuid) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let owner = if table == "tenants" { "id" } else { "tenant_id" };
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM \"{table}\" WHERE {owner} = $1"))
        .bind::<SqlUuid, _>(tenant_id)
        .get_result(conn)?;
    Ok(n.n)
}

/// Whether a tenant with this id, or (another) with this slug, exists: (by id, by slug).
pub fn tenant_exists(conn: &mut PgConnection, id: Uuid, slug: &str) -> QueryResult<(bool, bool)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        by_id: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        by_slug: bool,
    }
    let r: Row = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1) AS by_id, \
         EXISTS (SELECT 1 FROM tenants WHERE lower(slug) = lower($2)) AS by_slug",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(slug)
    .get_result(conn)?;
    Ok((r.by_id, r.by_slug))
}

/// A row's text value of a sealed column.
#[derive(QueryableByName)]
pub struct TextValue {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub value: String,
}

/// The tenant's non-null values of a text `column` of `table` after `after` in id order.
pub fn text_values(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    tenant_id: Uuid,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<TextValue>> {
    diesel::sql_query(format!(
        "SELECT id, \"{column}\" AS value FROM \"{table}\" WHERE tenant_id = $1 AND id > $2 \
         AND \"{column}\" IS NOT NULL ORDER BY id LIMIT {limit}"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(after)
    .load(conn)
}

pub fn set_text(conn: &mut PgConnection, table: &str, column: &str, id: Uuid, value: &str) -> QueryResult<()> {
    diesel::sql_query(format!("UPDATE \"{table}\" SET \"{column}\" = $2 WHERE id = $1"))
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(value)
        .execute(conn)?;
    Ok(())
}

/// A row's binary value of a sealed column.
#[derive(QueryableByName)]
pub struct BytesValue {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub value: Option<Vec<u8>>,
}

/// The tenant's non-null values of a binary `column` of `table` after `after` in id order.
pub fn bytes_values(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    tenant_id: Uuid,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<BytesValue>> {
    diesel::sql_query(format!(
        "SELECT id, \"{column}\" AS value FROM \"{table}\" WHERE tenant_id = $1 AND id > $2 \
         AND \"{column}\" IS NOT NULL ORDER BY id LIMIT {limit}"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(after)
    .load(conn)
}

/// The tenant's customers after `after` in id order.
pub fn customers_page(conn: &mut PgConnection, tenant_id: Uuid, after: Uuid, limit: i64) -> QueryResult<Vec<Customer>> {
    diesel::sql_query(format!("SELECT * FROM customers WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {limit}"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(after)
        .load(conn)
}
