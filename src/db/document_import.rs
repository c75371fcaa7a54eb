//! The ledger import's set-based half. Validated rows are COPYed (binary) into a transaction-local
//! staging table without indexes; one statement then decides each row's fate against customers
//! and documents (`documents_import_plan`), and the creations, their audit entries and the counts
//! are written and read with a statement each, however many rows the import has. Changed
//! documents are read back in chunks through a cursor (their rules live in the service).

use super::documents::Document;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

diesel::table! {
    documents_import (row_no) {
        row_no -> BigInt,
        id -> Uuid,
        doc_type -> Text,
        doc_no -> Text,
        customer_code -> Text,
        issue_date -> Date,
        due_date -> Nullable<Date>,
        currency -> Text,
        amount -> Numeric,
        amount_text -> Text,
        external_reference -> Nullable<Text>,
        source_system -> Nullable<Text>,
    }
}

/// A validated import row as staged: the id it gets if it is created, and its amount as the
/// document's answer writes it (for the audit entry of a creation).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = documents_import, treat_none_as_default_value = false)]
pub struct StagedDocument {
    pub row_no: i64,
    pub id: Uuid,
    pub doc_type: &'static str,
    pub doc_no: String,
    pub customer_code: String,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub amount: Decimal,
    pub amount_text: String,
    pub external_reference: Option<String>,
    pub source_system: Option<String>,
}

/// Creates the (empty) staging table for this transaction. Sorting and hashing a large import's
/// rows in memory instead of on disk is what `work_mem` is raised for, for this transaction only.
pub fn begin(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute(
        "DROP TABLE IF EXISTS documents_import_plan, documents_import; \
         CREATE TEMP TABLE documents_import ( \
             row_no BIGINT NOT NULL, id UUID NOT NULL, doc_type TEXT NOT NULL, doc_no TEXT NOT NULL, \
             customer_code TEXT NOT NULL, issue_date DATE NOT NULL, due_date DATE, currency TEXT NOT NULL, \
             amount NUMERIC NOT NULL, amount_text TEXT NOT NULL, external_reference TEXT, source_system TEXT \
         ) ON COMMIT DROP; \
         SET LOCAL work_mem = '64MB';",
    )
}

pub fn stage(conn: &mut PgConnection, rows: &[StagedDocument]) -> QueryResult<usize> {
    diesel::copy_from(documents_import::table).from_insertable(rows).execute(conn)
}

/// What becomes of each staged row, in this order: a repeat of an earlier row of the import, an
/// unknown customer, a new document, a document of another customer, unchanged, or a change
/// (decided in the service, which knows the rules of settled and cancelled documents).
///
/// Each row's stored document is looked up through the unique key (the `LIMIT 1` keeps the
/// subquery from being turned into a join): as a join the planner hashed the batch and read the
/// tenant's whole ledger for every request, so a request of 100,000 rows cost more the more
/// documents were stored (0.5 s of it at 1.4M documents); probes cost what the request holds.
pub fn plan(conn: &mut PgConnection, tenant_id: Uuid, rows: u64) -> QueryResult<()> {
    if rows > 10_000 {
        // A temporary table has no statistics until analysed: estimated from its size, a large
        // import may be joined by nested loops. The joins need only row counts and rough
        // distinct counts: a sample of 3,000 rows (statistics target 10) gives them in 20 ms,
        // where the default 30,000-row sample took 150 ms of a 100,000-row request.
        conn.batch_execute(
            "SET LOCAL default_statistics_target = 10; ANALYZE documents_import; RESET default_statistics_target",
        )?;
    }
    diesel::sql_query(
        "CREATE TEMP TABLE documents_import_plan ON COMMIT DROP AS \
         SELECT s.*, c.id AS customer_id, d.id AS existing_id, r.first_row, \
           CASE WHEN r.first_row IS NOT NULL AND r.first_row <> s.row_no THEN 'duplicate' \
                WHEN c.id IS NULL THEN 'unknown_customer' \
                WHEN d.id IS NULL THEN 'create' \
                WHEN d.customer_id <> c.id THEN 'other_customer' \
                WHEN d.issue_date = s.issue_date AND d.due_date IS NOT DISTINCT FROM s.due_date \
                 AND d.currency = s.currency AND d.amount = s.amount \
                 AND d.external_reference IS NOT DISTINCT FROM s.external_reference \
                 AND d.source_system IS NOT DISTINCT FROM s.source_system THEN 'unchanged' \
                ELSE 'change' END AS outcome \
         FROM documents_import s \
         LEFT JOIN (SELECT doc_type, doc_no, min(row_no) AS first_row FROM documents_import \
                    GROUP BY doc_type, doc_no HAVING count(*) > 1) r \
                ON r.doc_type = s.doc_type AND r.doc_no = s.doc_no \
         LEFT JOIN customers c ON c.tenant_id = $1 AND c.code = s.customer_code \
         LEFT JOIN LATERAL (SELECT d.id, d.customer_id, d.issue_date, d.due_date, d.currency, d.amount, \
                                   d.external_reference, d.source_system FROM documents d \
                            WHERE d.tenant_id = $1 AND d.doc_type = s.doc_type AND d.doc_no = s.doc_no LIMIT 1) d \
                ON true",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)?;
    Ok(())
}

/// How many rows the plan gives each outcome.
pub fn outcome_counts(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        outcome: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Count> =
        diesel::sql_query("SELECT outcome, count(*) AS n FROM documents_import_plan GROUP BY outcome").load(conn)?;
    Ok(rows.into_iter().map(|c| (c.outcome, c.n)).collect())
}

/// A row the plan refuses, with what its message needs.
#[derive(Debug, QueryableByName)]
pub struct PlannedRejection {
    #[diesel(sql_type = BigInt)]
    pub row_no: i64,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = Text)]
    pub doc_type: String,
    #[diesel(sql_type = Text)]
    pub doc_no: String,
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub first_row: Option<i64>,
}

pub fn rejections(conn: &mut PgConnection) -> QueryResult<Vec<PlannedRejection>> {
    diesel::sql_query(
        "SELECT row_no, outcome, doc_type, doc_no, customer_code, first_row FROM documents_import_plan \
         WHERE outcome IN ('duplicate', 'unknown_customer', 'other_customer') ORDER BY row_no",
    )
    .load(conn)
}

/// Who writes the audit entries of an import, and when.
pub struct AuditActor<'a> {
    pub actor_type: &'a str,
    pub actor_id: &'a str,
    /// Also the documents' created_at and updated_at.
    pub at: DateTime<Utc>,
    /// `at` as the documents' answer writes it.
    pub at_text: &'a str,
}

/// Inserts the planned new documents; returns how many.
pub fn create_planned(conn: &mut PgConnection, tenant_id: Uuid, actor: &AuditActor<'_>) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO documents (id, tenant_id, customer_id, doc_type, doc_no, issue_date, due_date, currency, \
                                amount, open_amount, external_reference, source_system, status, created_at, updated_at) \
         SELECT id, $1, customer_id, doc_type, doc_no, issue_date, due_date, currency, amount, amount, \
                external_reference, source_system, 'open', $2, $2 \
         FROM documents_import_plan WHERE outcome = 'create'",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Timestamptz, _>(actor.at)
    .execute(conn)
}

/// Documents named by one creation entry of an import. An entry per document cost more than the
/// document itself (two more rows and their indexes, written and then moved into the chain); an
/// entry per 500 keeps each entry small enough to read, list and hash comfortably.
pub const CREATED_PER_ENTRY: i64 = 500;

/// What each document of a creation entry's `after.documents` gives, in this order.
pub const CREATED_COLUMNS: [&str; 10] = [
    "id",
    "doc_type",
    "doc_no",
    "customer_code",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "external_reference",
    "source_system",
];

/// The unsealed audit entries of the planned new documents: `document_import` entries of up to
/// [`CREATED_PER_ENTRY`] documents each, in id order, whose `entity_id` is the first and last id
/// they name (`{first}..{last}`). `after.documents` gives each document as a row of the values of
/// `after.columns` ([`CREATED_COLUMNS`], the fields of `GET /documents/{id}` an import sets; each
/// was created open for its whole amount at `after.created_at`): as one object per document, the
/// field names took more time to write than the rest of the import's audit. Except the rows
/// `with_plans` (documents created with an instalment plan), whose entries the service writes
/// with the plan.
pub fn audit_planned_creations(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &AuditActor<'_>,
    with_plans: &[i64],
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO audit_pending (tenant_id, occurred_at, actor_type, actor_id, action, entity_type, entity_id, \
                                    before, after) \
         SELECT $1, $2, $3, $4, 'documents.imported', 'document_import', \
                min(id::text COLLATE \"C\") || '..' || max(id::text COLLATE \"C\"), NULL, \
                jsonb_build_object('part', part + 1, 'parts', max(parts), 'status', 'open', 'created_at', $5::text, \
                                   'columns', to_jsonb($8::text[]), 'documents', jsonb_agg(doc ORDER BY id)) \
         FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / $7 AS part, \
                      (count(*) OVER () + $7 - 1) / $7 AS parts, \
                      jsonb_build_array(id, doc_type, doc_no, customer_code, issue_date, due_date, currency, \
                                        amount_text, external_reference, source_system) AS doc \
                 FROM documents_import_plan WHERE outcome = 'create' AND row_no <> ALL($6)) created \
         GROUP BY part ORDER BY part",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Timestamptz, _>(actor.at)
    .bind::<Text, _>(actor.actor_type)
    .bind::<Text, _>(actor.actor_id)
    .bind::<Text, _>(actor.at_text)
    .bind::<Array<BigInt>, _>(with_plans)
    .bind::<BigInt, _>(CREATED_PER_ENTRY)
    .bind::<Array<Text>, _>(&CREATED_COLUMNS[..])
    .execute(conn)?;
    Ok(())
}

/// The fate of a staged row: its outcome and the document it created or names.
#[derive(Debug, QueryableByName)]
pub struct PlannedRow {
    #[diesel(sql_type = BigInt)]
    pub row_no: i64,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = SqlUuid)]
    pub document_id: Uuid,
}

/// The created and unchanged rows among `row_nos`, with their documents.
pub fn created_or_unchanged(conn: &mut PgConnection, row_nos: &[i64]) -> QueryResult<Vec<PlannedRow>> {
    diesel::sql_query(
        "SELECT row_no, outcome, coalesce(existing_id, id) AS document_id FROM documents_import_plan \
         WHERE row_no = ANY($1) AND outcome IN ('create', 'unchanged') ORDER BY row_no",
    )
    .bind::<Array<BigInt>, _>(row_nos)
    .load(conn)
}

/// A planned change: the import's row and content, and the stored document (locked).
#[derive(Debug, QueryableByName)]
pub struct PlannedChange {
    #[diesel(sql_type = BigInt)]
    pub row_no: i64,
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = Date)]
    pub new_issue_date: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub new_due_date: Option<NaiveDate>,
    #[diesel(sql_type = Text)]
    pub new_currency: String,
    #[diesel(sql_type = Numeric)]
    pub new_amount: Decimal,
    #[diesel(sql_type = Nullable<Text>)]
    pub new_external_reference: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub new_source_system: Option<String>,
    #[diesel(embed)]
    pub current: Document,
}

/// Opens a cursor over the planned changes in row order, their documents locked for update.
pub fn open_changes(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<()> {
    // A cursor is declared by a simple query, without parameters; a UUID is safe to write in.
    conn.batch_execute(&format!(
        "DECLARE documents_import_changes NO SCROLL CURSOR FOR \
         SELECT p.row_no, p.customer_code, p.issue_date AS new_issue_date, p.due_date AS new_due_date, \
                p.currency AS new_currency, p.amount AS new_amount, \
                p.external_reference AS new_external_reference, p.source_system AS new_source_system, d.* \
         FROM documents_import_plan p JOIN documents d ON d.tenant_id = '{tenant_id}' AND d.id = p.existing_id \
         WHERE p.outcome = 'change' ORDER BY p.row_no FOR UPDATE OF d",
    ))
}

/// The next `n` planned changes (none: all were read).
pub fn next_changes(conn: &mut PgConnection, n: u32) -> QueryResult<Vec<PlannedChange>> {
    diesel::sql_query(format!("FETCH {n} FROM documents_import_changes")).load(conn)
}

/// Closes the cursor and drops the staging tables, so the transaction can import again.
pub fn finish(conn: &mut PgConnection, cursor_open: bool) -> QueryResult<()> {
    if cursor_open {
        conn.batch_execute("CLOSE documents_import_changes")?;
    }
    conn.batch_execute("DROP TABLE documents_import_plan, documents_import")
}

/// Writes the new content of changed documents, with one statement for all of `docs`.
pub fn update_documents(conn: &mut PgConnection, tenant_id: Uuid, docs: &[Document]) -> QueryResult<usize> {
    if docs.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&Document) -> Option<String>| docs.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = docs.iter().map(|d| d.id).collect();
    let issue: Vec<NaiveDate> = docs.iter().map(|d| d.issue_date).collect();
    let due: Vec<Option<NaiveDate>> = docs.iter().map(|d| d.due_date).collect();
    let amount: Vec<Decimal> = docs.iter().map(|d| d.amount).collect();
    let open: Vec<Decimal> = docs.iter().map(|d| d.open_amount).collect();
    let updated_at: Vec<DateTime<Utc>> = docs.iter().map(|d| d.updated_at).collect();
    diesel::sql_query(
        "UPDATE documents d SET issue_date = u.issue_date, due_date = u.due_date, currency = u.currency, \
             amount = u.amount, open_amount = u.open_amount, external_reference = u.external_reference, \
             source_system = u.source_system, status = u.status, updated_at = u.updated_at \
         FROM unnest($2::uuid[], $3::date[], $4::date[], $5::text[], $6::numeric[], $7::numeric[], $8::text[], \
                     $9::text[], $10::text[], $11::timestamptz[]) \
              AS u(id, issue_date, due_date, currency, amount, open_amount, external_reference, source_system, \
                   status, updated_at) \
         WHERE d.tenant_id = $1 AND d.id = u.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Date>, _>(issue)
    .bind::<Array<Nullable<Date>>, _>(due)
    .bind::<Array<Text>, _>(docs.iter().map(|d| d.currency.clone()).collect::<Vec<_>>())
    .bind::<Array<Numeric>, _>(amount)
    .bind::<Array<Numeric>, _>(open)
    .bind::<Array<Nullable<Text>>, _>(col(|d| d.external_reference.clone()))
    .bind::<Array<Nullable<Text>>, _>(col(|d| d.source_system.clone()))
    .bind::<Array<Text>, _>(docs.iter().map(|d| d.status).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(updated_at)
    .execute(conn)
}

/// Takes rows out of the staging table before the plan (their lines were refused).
pub fn unstage(conn: &mut PgConnection, row_nos: &[i64]) -> QueryResult<usize> {
    if row_nos.is_empty() {
        return Ok(0);
    }
    diesel::sql_query("DELETE FROM documents_import WHERE row_no = ANY($1)")
        .bind::<Array<BigInt>, _>(row_nos)
        .execute(conn)
}
