//! Cash application: runs, allocations, write-offs, FX rates and settings, plus the bulk reads
//! and writes a run needs (never a query per line).

use super::schema::{
    allocations, bank_accounts, bank_lines, customers, documents, fx_rates, matching_settings, write_offs,
};
use crate::domain::cash_application::WriteOffReason;
use crate::domain::run_status::AllocationState;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

mod runs;
pub use runs::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = matching_settings)]
pub struct Settings {
    pub tenant_id: Uuid,
    pub auto_apply_threshold: Decimal,
    pub tolerance_percent: Decimal,
    pub tolerance_absolute: Decimal,
    pub fx_tolerance_percent: Decimal,
    pub auto_apply_oldest_first: bool,
    pub updated_at: DateTime<Utc>,
    pub learning_enabled: bool,
    pub learned_iban_min_confirmations: i32,
    pub learned_name_min_confirmations: i32,
    pub learned_combined_min_confirmations: i32,
}

pub fn settings(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<Settings>> {
    matching_settings::table.find(tenant_id).select(Settings::as_select()).first(conn).optional()
}

pub fn save_settings(conn: &mut PgConnection, s: &Settings) -> QueryResult<()> {
    diesel::insert_into(matching_settings::table)
        .values(s)
        .on_conflict(matching_settings::tenant_id)
        .do_update()
        .set(s)
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fx_rates)]
pub struct FxRate {
    pub tenant_id: Uuid,
    pub from_currency: String,
    pub to_currency: String,
    pub valid_on: NaiveDate,
    pub rate: Decimal,
}

pub fn upsert_rates(conn: &mut PgConnection, rates: &[FxRate]) -> QueryResult<()> {
    for r in rates {
        diesel::insert_into(fx_rates::table)
            .values(r)
            .on_conflict((fx_rates::tenant_id, fx_rates::from_currency, fx_rates::to_currency, fx_rates::valid_on))
            .do_update()
            .set(fx_rates::rate.eq(r.rate))
            .execute(conn)?;
    }
    Ok(())
}

pub fn rates(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<FxRate>> {
    fx_rates::table
        .filter(fx_rates::tenant_id.eq(tenant_id))
        .order((fx_rates::from_currency, fx_rates::to_currency, fx_rates::valid_on.desc()))
        .select(FxRate::as_select())
        .load(conn)
}

/// A customer as the engine needs it.
#[derive(Debug, Queryable)]
pub struct MatchingCustomer {
    pub id: Uuid,
    pub name: String,
    pub aliases: Vec<String>,
    pub bank_accounts: Vec<String>,
}

pub fn customers_for_matching(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<MatchingCustomer>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .select((customers::id, customers::name, customers::aliases, customers::bank_accounts))
        .load(conn)
}

/// A ledger document as the engine needs it.
#[derive(Debug, QueryableByName)]
#[diesel(table_name = documents)]
pub struct MatchingDocument {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub doc_type: String,
    pub doc_no: String,
    pub currency: String,
    pub amount: Decimal,
    pub open_amount: Decimal,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// The customer's own reference (purchase order, contract), read as a reference too.
    pub external_reference: Option<String>,
}

/// Opens the cursor `run_documents` over the tenant's invoices and credit notes that are not
/// cancelled: open ones are candidates, settled ones let the engine recognise a duplicate
/// payment. Read with [`next_documents`], in pages, so that the raw rows of a ledger of millions
/// are never in memory beside the engine's own copy. One scan in the table's order, whatever
/// the planner knows of the table: pages in id order (`id > last ORDER BY id LIMIT n`) were
/// planned as a scan and sort of the whole ledger per page when a large import had just left
/// the table without statistics. The caller sorts.
pub fn open_documents_for_matching(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<()> {
    // A cursor is declared by a simple query, without parameters: a UUID is safe to write in.
    conn.batch_execute(&format!(
        "DECLARE run_documents NO SCROLL CURSOR FOR \
         SELECT id, customer_id, doc_type, doc_no, currency, amount, open_amount, issue_date, due_date, \
                external_reference \
         FROM documents WHERE tenant_id = '{tenant_id}' AND doc_type IN ('invoice', 'credit_note') \
          AND status <> 'cancelled'"
    ))
}

/// The next `n` documents of the cursor opened by [`open_documents_for_matching`]; closes it
/// when none are left.
pub fn next_documents(conn: &mut PgConnection, n: u32) -> QueryResult<Vec<MatchingDocument>> {
    fetch_page(conn, "run_documents", n)
}

/// The next `n` rows of the cursor `name`; closes it when none are left.
fn fetch_page<T: QueryableByName<diesel::pg::Pg> + 'static>(
    conn: &mut PgConnection,
    name: &str,
    n: u32,
) -> QueryResult<Vec<T>> {
    let page: Vec<T> = diesel::sql_query(format!("FETCH {n} FROM {name}")).load(conn)?;
    if page.is_empty() {
        conn.batch_execute(&format!("CLOSE {name}"))?;
    }
    Ok(page)
}

/// What the engine reads of a bank line. Only these columns: a run holds a million lines in
/// memory.
#[derive(Debug, Queryable, QueryableByName)]
#[diesel(table_name = bank_lines)]
pub struct MatchingLine {
    pub id: Uuid,
    pub bank_reference: Option<String>,
    pub booking_date: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance: Option<String>,
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_account_id: Uuid,
    pub bank_transaction_code: Option<String>,
}

/// The columns of [`MatchingLine`], in order.
macro_rules! matching_line_columns {
    () => {
        (
            bank_lines::id,
            bank_lines::bank_reference,
            bank_lines::booking_date,
            bank_lines::amount,
            bank_lines::currency,
            bank_lines::counterparty_name,
            bank_lines::counterparty_iban,
            bank_lines::remittance,
            bank_lines::creditor_reference,
            bank_lines::end_to_end_id,
            bank_lines::bank_account_id,
            bank_lines::bank_transaction_code,
        )
    };
}

/// Opens a cursor over the unapplied incoming lines in scope, in no particular order (a run sorts
/// them itself), read with [`next_lines`]: one scan handed over in pages, so a million lines are
/// never held twice (as the driver's result and as rows), and no sort on disk.
pub fn open_lines_for_matching(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<()> {
    // A cursor is declared by a simple query, without parameters: UUIDs and dates are safe to
    // write in.
    let mut scope = String::new();
    if let Some(a) = account {
        scope.push_str(&format!(" AND bank_account_id = '{a}'"));
    }
    if let Some(d) = from {
        scope.push_str(&format!(" AND booking_date >= '{d}'"));
    }
    if let Some(d) = to {
        scope.push_str(&format!(" AND booking_date <= '{d}'"));
    }
    conn.batch_execute(&format!(
        "DECLARE run_lines NO SCROLL CURSOR FOR \
         SELECT id, bank_reference, booking_date, amount, currency, counterparty_name, counterparty_iban, \
                remittance, creditor_reference, end_to_end_id, bank_account_id, bank_transaction_code \
         FROM bank_lines WHERE tenant_id = '{tenant_id}' AND status = 'unapplied' AND amount > 0{scope}"
    ))
}

/// The next `n` lines of the cursor (none: all were read, and the cursor is closed).
pub fn next_lines(conn: &mut PgConnection, n: u32) -> QueryResult<Vec<MatchingLine>> {
    fetch_page(conn, "run_lines", n)
}

/// Lines chosen for a dry run (these ids, or this imported statement's lines, in a booking
/// window), whatever their status and sign, oldest first, at most `limit`.
pub fn lines_for_dry_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: Option<&[Uuid]>,
    statement: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: i64,
) -> QueryResult<Vec<(MatchingLine, crate::domain::bank_line::BankLineStatus)>> {
    let mut q = bank_lines::table
        .filter(bank_lines::tenant_id.eq(tenant_id))
        .select((matching_line_columns!(), bank_lines::status))
        .into_boxed();
    if let Some(ids) = ids {
        q = q.filter(bank_lines::id.eq_any(ids));
    }
    if let Some(s) = statement {
        q = q.filter(bank_lines::statement_id.eq(s));
    }
    if let Some(d) = from {
        q = q.filter(bank_lines::booking_date.ge(d));
    }
    if let Some(d) = to {
        q = q.filter(bank_lines::booking_date.le(d));
    }
    q.order((bank_lines::booking_date.asc(), bank_lines::id.asc())).limit(limit).load(conn)
}

/// Whether the tenant has this imported statement.
pub fn statement_exists(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    use super::schema::bank_statements;
    diesel::select(diesel::dsl::exists(
        bank_statements::table.filter(bank_statements::tenant_id.eq(tenant_id)).filter(bank_statements::id.eq(id)),
    ))
    .get_result(conn)
}

/// Customer codes of a tenant (matching rules name customers by code).
pub fn customer_codes(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<(String, Uuid)>> {
    customers::table.filter(customers::tenant_id.eq(tenant_id)).select((customers::code, customers::id)).load(conn)
}

/// Bank account id -> its account id (IBAN or the bank's account number).
pub fn bank_accounts(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<(Uuid, String)>> {
    bank_accounts::table
        .filter(bank_accounts::tenant_id.eq(tenant_id))
        .select((bank_accounts::id, bank_accounts::account_id))
        .load(conn)
}

/// Marks unapplied lines ignored (a matching rule says they are no customer receipts).
pub fn ignore_lines(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<usize> {
    diesel::update(
        bank_lines::table
            .filter(bank_lines::tenant_id.eq(tenant_id))
            .filter(bank_lines::id.eq_any(ids))
            .filter(bank_lines::status.eq(crate::domain::bank_line::BankLineStatus::Unapplied)),
    )
    .set(bank_lines::status.eq(crate::domain::bank_line::BankLineStatus::Ignored))
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocations, treat_none_as_default_value = false)]
pub struct Allocation {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub run_id: Option<Uuid>,
    pub bank_line_id: Uuid,
    pub document_id: Uuid,
    pub amount: Decimal,
    pub line_amount: Decimal,
    pub state: AllocationState,
    pub candidate_set: i32,
    pub confidence: Decimal,
    pub rule: String,
    pub explanation: Value,
    pub fx_rate: Option<Decimal>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// The tenant's matching rule (and its version) that shaped the allocation, if one did.
    pub rule_id: Option<Uuid>,
    pub rule_version: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = write_offs, treat_none_as_default_value = false)]
pub struct WriteOffRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub allocation_id: Uuid,
    pub document_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub reason: WriteOffReason,
    pub created_at: DateTime<Utc>,
    pub reversed_at: Option<DateTime<Utc>>,
}

/// Tells the database that this transaction writes the allocations of run `run_id` of `tenant`
/// and their write-offs, whose documents, lines and allocations it read or wrote itself: those
/// rows skip the per-row reference checks (migration 000047); any other row is checked.
pub fn writes_of_run(conn: &mut PgConnection, tenant: Uuid, run_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT set_config('duizhang.writes_of_run', $1, true)")
        .bind::<Text, _>(format!("{tenant}/{run_id}"))
        .execute(conn)
        .map(|_| ())
}

/// Binary COPY: a run writes up to millions of allocations.
pub fn insert_allocations(conn: &mut PgConnection, rows: &[Allocation]) -> QueryResult<()> {
    if !rows.is_empty() {
        diesel::copy_from(allocations::table).from_insertable(rows).execute(conn)?;
    }
    Ok(())
}

pub fn insert_write_offs(conn: &mut PgConnection, rows: &[WriteOffRow]) -> QueryResult<()> {
    if !rows.is_empty() {
        diesel::copy_from(write_offs::table).from_insertable(rows).execute(conn)?;
    }
    Ok(())
}

/// Reduces open amounts (amount applied + written off, per document) and recomputes statuses.
/// The table's CHECK refuses anything that would take an open amount below zero.
/// One statement for all rows: chunks would each join against (scan) the whole table.
pub fn apply_to_documents(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
    reductions: &[Decimal],
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE documents d SET open_amount = d.open_amount - u.reduction, \
               status = CASE WHEN d.open_amount - u.reduction = 0 THEN 'paid' \
                             WHEN d.open_amount - u.reduction = d.amount THEN 'open' ELSE 'partially_paid' END, \
               updated_at = now() \
             FROM (SELECT unnest($1) AS id, unnest($2) AS reduction) u \
             WHERE d.id = u.id AND d.tenant_id = $3",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Numeric>, _>(reductions)
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)?;
    Ok(())
}

/// Adds applied amounts to bank lines and recomputes their status.
pub fn apply_to_lines(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid], applied: &[Decimal]) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE bank_lines l SET applied_amount = l.applied_amount + u.applied, \
               status = CASE WHEN l.applied_amount + u.applied = 0 THEN 'unapplied' \
                             WHEN l.applied_amount + u.applied = l.amount THEN 'applied' ELSE 'partly_applied' END \
             FROM (SELECT unnest($1) AS id, unnest($2) AS applied) u \
             WHERE l.id = u.id AND l.tenant_id = $3",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Numeric>, _>(applied)
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AllocationFilter {
    pub run_id: Option<Uuid>,
    pub bank_line_id: Option<Uuid>,
    pub state: Option<AllocationState>,
    pub after: Option<Uuid>,
    pub limit: Option<i64>,
}

/// An allocation with the bank line's reference and currency and the document's number and
/// currency.
#[derive(Debug)]
pub struct AllocationRow {
    pub allocation: Allocation,
    pub line_reference: Option<String>,
    pub line_currency: String,
    pub doc_no: String,
    pub doc_currency: String,
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &AllocationFilter) -> QueryResult<Vec<AllocationRow>> {
    let mut q = allocations::table
        .inner_join(bank_lines::table)
        .inner_join(documents::table)
        .filter(allocations::tenant_id.eq(tenant_id))
        .filter(bank_lines::tenant_id.eq(tenant_id))
        .filter(documents::tenant_id.eq(tenant_id))
        .select((
            Allocation::as_select(),
            bank_lines::bank_reference,
            bank_lines::currency,
            documents::doc_no,
            documents::currency,
        ))
        .into_boxed();
    if let Some(r) = f.run_id {
        q = q.filter(allocations::run_id.eq(r));
    }
    if let Some(l) = f.bank_line_id {
        q = q.filter(allocations::bank_line_id.eq(l));
    }
    if let Some(s) = &f.state {
        q = q.filter(allocations::state.eq(s.as_str()));
    }
    if let Some(a) = f.after {
        q = q.filter(allocations::id.gt(a));
    }
    if let Some(limit) = f.limit {
        q = q.limit(limit);
    }
    let rows: Vec<(Allocation, Option<String>, String, String, String)> = q.order(allocations::id.asc()).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(allocation, line_reference, line_currency, doc_no, doc_currency)| AllocationRow {
            allocation,
            line_reference,
            line_currency,
            doc_no,
            doc_currency,
        })
        .collect())
}

pub fn find_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Allocation> {
    allocations::table
        .filter(allocations::tenant_id.eq(tenant_id))
        .filter(allocations::id.eq(id))
        .select(Allocation::as_select())
        .for_update()
        .first(conn)
}

pub fn of_line_for_update(conn: &mut PgConnection, tenant_id: Uuid, line: Uuid) -> QueryResult<Vec<Allocation>> {
    allocations::table
        .filter(allocations::tenant_id.eq(tenant_id))
        .filter(allocations::bank_line_id.eq(line))
        .select(Allocation::as_select())
        .for_update()
        .load(conn)
}

pub fn set_state(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
    state: AllocationState,
    by: &str,
) -> QueryResult<()> {
    diesel::update(allocations::table.filter(allocations::tenant_id.eq(tenant_id)).filter(allocations::id.eq_any(ids)))
        .set((
            allocations::state.eq(state.as_str()),
            allocations::decided_at.eq(Some(Utc::now())),
            allocations::decided_by.eq(Some(by)),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn write_offs_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    allocation_ids: &[Uuid],
) -> QueryResult<Vec<WriteOffRow>> {
    write_offs::table
        .filter(write_offs::tenant_id.eq(tenant_id))
        .filter(write_offs::allocation_id.eq_any(allocation_ids))
        .filter(write_offs::reversed_at.is_null())
        .select(WriteOffRow::as_select())
        .load(conn)
}

pub fn reverse_write_offs(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<()> {
    diesel::update(write_offs::table.filter(write_offs::tenant_id.eq(tenant_id)).filter(write_offs::id.eq_any(ids)))
        .set(write_offs::reversed_at.eq(Some(Utc::now())))
        .execute(conn)
        .map(|_| ())
}

/// What an `allocation.applied` event says of a document.
#[derive(Debug, Queryable)]
pub struct AllocatedDocument {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub doc_no: String,
    pub currency: String,
}

pub fn allocated_documents(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<AllocatedDocument>> {
    documents::table
        .filter(documents::tenant_id.eq(tenant_id))
        .filter(documents::id.eq_any(ids))
        .select((documents::id, documents::customer_id, documents::doc_no, documents::currency))
        .load(conn)
}

/// A document's age as matching orders open items (issue date, due date, number).
pub type DocumentAge = (NaiveDate, Option<NaiveDate>, String);

/// The age of the invoice `chosen` and of the customer's other open invoices whose open amount is
/// `amount` in `currency`: what a choice among equal open items is compared with.
pub fn equal_open_invoices(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    chosen: Uuid,
    currency: &str,
    amount: Decimal,
) -> QueryResult<(Option<DocumentAge>, Vec<DocumentAge>)> {
    let rows: Vec<(Uuid, NaiveDate, Option<NaiveDate>, String)> = documents::table
        .filter(documents::tenant_id.eq(tenant_id))
        .filter(documents::customer_id.eq(customer_id))
        .filter(documents::doc_type.eq("invoice"))
        .filter(documents::status.ne("cancelled"))
        .filter(documents::currency.eq(currency))
        .filter(documents::id.eq(chosen).or(documents::open_amount.eq(amount)))
        .select((documents::id, documents::issue_date, documents::due_date, documents::doc_no))
        .limit(1000)
        .load(conn)?;
    let mut mine = None;
    let mut others = Vec::new();
    for (id, issued, due, no) in rows {
        if id == chosen {
            mine = Some((issued, due, no));
        } else {
            others.push((issued, due, no));
        }
    }
    Ok((mine, others))
}

/// What a manual allocation checks of a document.
#[derive(Debug, Queryable)]
pub struct DocumentToAllocate {
    pub id: Uuid,
    pub currency: String,
    pub doc_type: String,
    pub open_amount: Decimal,
}

pub fn document_to_allocate(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<DocumentToAllocate> {
    documents::table
        .filter(documents::tenant_id.eq(tenant_id))
        .filter(documents::id.eq(id))
        .select((documents::id, documents::currency, documents::doc_type, documents::open_amount))
        .first(conn)
}

pub fn bank_line(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<super::bank::BankLine> {
    bank_lines::table
        .filter(bank_lines::tenant_id.eq(tenant_id))
        .filter(bank_lines::id.eq(id))
        .select(super::bank::BankLine::as_select())
        .first(conn)
}

/// Makes the current transaction read-only (its first statement): the database refuses any write.
pub fn read_only(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SET TRANSACTION READ ONLY").execute(conn).map(|_| ())
}
