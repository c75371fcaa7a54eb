//! The ledger import as a stream, like a bank file's: one thread reads and validates the rows
//! (pure, row by row) and hands them over in batches; the transaction's connection COPYs them into
//! a staging table meanwhile. Then a few set-based statements decide and write everything (see
//! `db::document_import`): memory does not grow with the request (only rejected rows are kept,
//! for the answer), and the answer and the rules are those of a row-by-row upsert.

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use chrono::Utc;
use diesel::PgConnection;
use uuid::Uuid;

use super::document_import_lines::{self as import_lines, LinedRow};
use super::documents::{apply_fields, audit_entry, input_from_csv, validate_input, DocumentFields, DocumentInput};
use super::documents::{DocumentView, CSV_COLUMNS, REQUIRED_COLUMNS};
use super::import::{read_json_array, CsvRecords, ImportFormat, ImportReport, RejectedRow};
use super::import_sheet::{prepare, Places};
use super::instalments;
use super::require;
use crate::db::audit as audit_db;
use crate::db::document_import::{self as import_db, AuditActor, PlannedChange, StagedDocument};
use crate::db::document_lines as lines_db;
use crate::db::documents as documents_db;
use crate::db::instalments as instalments_db;
use crate::db::statistics::{self, Grown};
use crate::domain::audit_chain::truncate_to_micros;
use crate::domain::auth::{Permission, Principal};
use crate::domain::import_mapping::ImportMapping;
use crate::domain::instalments::Instalment;
use crate::domain::money::format_amount;
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::spreadsheet;
use std::collections::HashMap;

/// Rows are staged in batches of this size while the body is still being read.
const BATCH: usize = 5000;

/// Batches read but not yet staged: the reader runs this far ahead of the database.
const BATCHES_IN_FLIGHT: usize = 4;

/// Planned changes are read, checked and written this many at a time.
const CHANGES_CHUNK: u32 = 5000;

/// Imports a body (CSV, an .xlsx workbook sent as CSV, or a JSON array) in the caller's
/// transaction: all of it or, on an error, nothing.
pub fn import(
    conn: &mut PgConnection,
    principal: &Principal,
    format: ImportFormat,
    body: &mut (dyn BufRead + Send),
    mapping: Option<&str>,
) -> AppResult<ImportReport> {
    require(principal, Permission::WriteLedger)?;
    let mapping = super::import_mappings::for_import(conn, principal, ImportKind::Documents, mapping)?;
    let started = std::time::Instant::now();
    import_db::begin(conn)?;
    let (batches, to_stage) = sync_channel(BATCHES_IN_FLIGHT);
    let (read, staged) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_rows(format, body, mapping.as_ref(), batches));
        let staged = stage_all(conn, to_stage);
        (reader.join(), staged)
    });
    let read = read.map_err(|_| AppError::internal("document import reader panicked"))?;
    // A database error stops the reader too: report the cause, not the reader's "stopped".
    let staged = staged?;
    let mut read = read?;
    tracing::debug!(rows = staged, secs = started.elapsed().as_secs_f64(), "document import: read and staged");
    let mut moved = HashSet::new();
    let lined = std::mem::take(&mut read.lined);
    let mut report = if lined.is_empty() {
        write(conn, principal, staged, &mut read.rejected, &read.plans, &HashSet::new(), &mut moved)?
    } else {
        let at = Utc::now();
        let with_lines: HashSet<i64> = lined.iter().map(|r| r.row as i64).collect();
        let ready = import_lines::prepare_all(conn, principal.tenant_id, lined, &mut read.rejected)?;
        let mut report = write(conn, principal, staged, &mut read.rejected, &read.plans, &with_lines, &mut moved)?;
        import_lines::store_all(conn, principal, ready, (at, &moved), &mut report)?;
        report
    };
    read.places.place_all(&mut report.rejected);
    report.notes = read.notes;
    statistics::refresh_if_grown(conn, Grown::Documents, report.created)?;
    Ok(report)
}

/// Instalment plans that import rows give, by row number (an empty plan removes a stored one).
/// Rows without `instalments` keep what is stored.
type RowPlans = HashMap<i64, Vec<Instalment>>;

/// Stages batches until the reader is done; on a database error it returns at once, which stops
/// the reader at its next batch.
fn stage_all(conn: &mut PgConnection, batches: Receiver<Vec<StagedDocument>>) -> AppResult<u64> {
    let mut staged = 0u64;
    for batch in batches {
        staged += import_db::stage(conn, &batch)? as u64;
    }
    Ok(staged)
}

/// Decides and writes the staged rows, and answers with the counts and every rejected row.
fn write(
    conn: &mut PgConnection,
    principal: &Principal,
    staged: u64,
    rejected: &mut Vec<RejectedRow>,
    plans: &RowPlans,
    with_lines: &HashSet<i64>,
    moved: &mut HashSet<i64>,
) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    let started = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(step, secs = started.elapsed().as_secs_f64(), "document import");
    import_db::plan(conn, principal.tenant_id, staged)?;
    lap("planned");
    let mut changes = 0;
    for (outcome, n) in import_db::outcome_counts(conn)? {
        match outcome.as_str() {
            "unchanged" => report.unchanged += n as u64,
            "change" => changes = n,
            _ => {}
        }
    }
    rejected.extend(import_db::rejections(conn)?.into_iter().map(|r| {
        let error = match r.outcome.as_str() {
            "duplicate" => format!(
                "{} {:?} appears again (first in row {})",
                r.doc_type,
                r.doc_no,
                r.first_row.unwrap_or_default()
            ),
            "unknown_customer" => format!("customer_code: unknown customer {:?}", r.customer_code),
            _ => format!("{} {:?} belongs to another customer", r.doc_type, r.doc_no),
        };
        RejectedRow::new(r.row_no as u64, error)
    }));
    let at = truncate_to_micros(Utc::now());
    let at_text = serde_json::to_value(at).map_err(AppError::internal)?;
    let actor = AuditActor {
        actor_type: principal.actor.kind(),
        actor_id: &principal.actor.id(),
        at,
        at_text: at_text.as_str().unwrap_or_default(),
    };
    lap("counted");
    report.created = import_db::create_planned(conn, principal.tenant_id, &actor)? as u64;
    lap("created");
    let with_plans: Vec<i64> = plans.iter().filter(|(_, p)| !p.is_empty()).map(|(row, _)| *row).collect();
    if report.created > 0 {
        import_db::audit_planned_creations(conn, principal.tenant_id, &actor, &with_plans)?;
        lap("audited");
    }
    if changes > 0 {
        import_db::open_changes(conn, principal.tenant_id)?;
        apply_changes(conn, principal, &mut report, rejected, plans, with_lines)?;
        lap("changed");
    }
    if !plans.is_empty() {
        write_plans(conn, principal, plans, &mut report, moved)?;
    }
    import_db::finish(conn, changes > 0)?;
    rejected.sort_by_key(|r| r.row);
    report.rejected = std::mem::take(rejected);
    Ok(report)
}

/// Reads the planned changes chunk by chunk: applies each under the rules of settled and cancelled
/// documents (a refusal rejects its row), writes the changed documents and their audit entries.
fn apply_changes(
    conn: &mut PgConnection,
    principal: &Principal,
    report: &mut ImportReport,
    rejected: &mut Vec<RejectedRow>,
    plans: &RowPlans,
    with_lines: &HashSet<i64>,
) -> AppResult<()> {
    loop {
        let chunk = import_db::next_changes(conn, CHANGES_CHUNK)?;
        if chunk.is_empty() {
            return Ok(());
        }
        // A row without lines may not change the amount or currency of a document with lines.
        let resized: Vec<Uuid> = chunk
            .iter()
            .filter(|c| !with_lines.contains(&c.row_no))
            .filter(|c| c.new_amount != c.current.amount || c.new_currency != c.current.currency)
            .map(|c| c.current.id)
            .collect();
        let has_lines = lines_db::documents_with_lines(conn, principal.tenant_id, &resized)?;
        let mut updated = Vec::with_capacity(chunk.len());
        let mut audit = Vec::with_capacity(chunk.len());
        let mut plan_writes = Vec::new();
        let stored_plans =
            instalments::plans_of(conn, principal.tenant_id, &chunk.iter().map(|c| &c.current).collect::<Vec<_>>())?;
        for change in chunk {
            let PlannedChange { row_no, customer_code, current, .. } = &change;
            let mut fields = planned_fields(&change);
            let stored = stored_plans.get(&current.id).map(Vec::as_slice).unwrap_or_default();
            let plan = plans.get(row_no).map(Vec::as_slice).unwrap_or(stored);
            fields.due_date = instalments::header_due_date(plan, fields.due_date);
            // A row without a plan keeps the stored one, which must still fit.
            if let Err(e) = instalments::check_fits(plan, fields.amount, fields.issue_date, fields.due_date) {
                rejected.push(RejectedRow::new(*row_no as u64, e.message));
                continue;
            }
            // Locked now: it may have changed since the plan was made.
            if DocumentFields::of(current) == fields && plan == stored {
                report.unchanged += 1;
                continue;
            }
            if has_lines.contains(&current.id) {
                let error = "amount: the document has lines: change its amount or currency together with its lines";
                rejected.push(RejectedRow::new(*row_no as u64, error));
                continue;
            }
            let mut doc = current.clone();
            if let Err(e) = apply_fields(&mut doc, fields) {
                rejected.push(RejectedRow::new(*row_no as u64, e.message));
                continue;
            }
            let before = DocumentView::with_plan(current.clone(), customer_code.clone(), stored);
            audit.push(audit_entry(
                principal,
                "document.updated",
                Some(&before),
                &DocumentView::with_plan(doc.clone(), customer_code.clone(), plan),
            ));
            if plan != stored {
                plan_writes.push((doc.id, plan.to_vec()));
            }
            updated.push(doc);
        }
        report.updated += import_db::update_documents(conn, principal.tenant_id, &updated)? as u64;
        instalments_db::replace_many(conn, principal.tenant_id, &plan_writes)?;
        audit_db::append(conn, principal.tenant_id, audit)?;
    }
}

/// The plans of created rows (with their audit entries, left out of the set-based ones) and of
/// rows whose document is otherwise unchanged (an update when the plan differs).
fn write_plans(
    conn: &mut PgConnection,
    principal: &Principal,
    plans: &RowPlans,
    report: &mut ImportReport,
    moved: &mut HashSet<i64>,
) -> AppResult<()> {
    let rows: Vec<i64> = plans.keys().copied().collect();
    let mut writes = Vec::new();
    let mut audit = Vec::new();
    for r in import_db::created_or_unchanged(conn, &rows)? {
        let plan = &plans[&r.row_no];
        let (doc, code) = documents_db::find(conn, principal.tenant_id, r.document_id)?;
        if r.outcome == "create" {
            if !plan.is_empty() {
                writes.push((doc.id, plan.clone()));
                let view = DocumentView::with_plan(doc, code, plan);
                audit.push(audit_entry(principal, "document.created", None, &view));
            }
            continue;
        }
        let stored = instalments_db::of_document(conn, principal.tenant_id, doc.id)?;
        if stored == *plan {
            continue;
        }
        let before = DocumentView::with_plan(doc.clone(), code.clone(), &stored);
        let after = DocumentView::with_plan(doc.clone(), code, plan);
        audit.push(audit_entry(principal, "document.updated", Some(&before), &after));
        writes.push((doc.id, plan.clone()));
        report.unchanged -= 1;
        report.updated += 1;
        moved.insert(r.row_no);
    }
    instalments_db::replace_many(conn, principal.tenant_id, &writes)?;
    audit_db::append(conn, principal.tenant_id, audit)?;
    Ok(())
}

fn planned_fields(c: &PlannedChange) -> DocumentFields {
    DocumentFields {
        issue_date: c.new_issue_date,
        due_date: c.new_due_date,
        currency: c.new_currency.clone(),
        amount: c.new_amount,
        external_reference: c.new_external_reference.clone(),
        source_system: c.new_source_system.clone(),
    }
}

/// Hands validated rows over in batches as they are read.
struct Batches {
    out: SyncSender<Vec<StagedDocument>>,
    batch: Vec<StagedDocument>,
    rejected: Vec<RejectedRow>,
    plans: RowPlans,
    /// Rows with lines (JSON only), prepared once staging is done.
    lined: Vec<LinedRow>,
}

impl Batches {
    fn row(&mut self, row: u64, input: Result<DocumentInput, String>) -> AppResult<()> {
        let staged =
            input.and_then(|input| stage_row(row, &input).map(|(doc, plan)| (doc, plan, input)).map_err(|e| e.message));
        match staged {
            Ok((doc, plan, input)) => {
                if let Some(plan) = plan {
                    self.plans.insert(doc.row_no, plan);
                }
                if let Some(lines) = input.lines.filter(|l| !l.is_empty()) {
                    self.lined.push(LinedRow {
                        row,
                        staged_id: doc.id,
                        doc_type: input.doc_type,
                        doc_no: doc.doc_no.clone(),
                        currency: doc.currency.clone(),
                        amount: doc.amount,
                        issue_date: input.issue_date,
                        lines,
                    });
                }
                self.batch.push(doc)
            }
            Err(error) => self.rejected.push(RejectedRow::new(row, error)),
        }
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> AppResult<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // The writer hung up: it failed and reports why.
        self.out.send(batch).map_err(|_| AppError::internal("document import stopped"))
    }
}

/// A validated row as staged, with the id it gets if it is new, and the instalment plan it
/// gives (its due date then the last instalment's).
fn stage_row(row: u64, input: &DocumentInput) -> AppResult<(StagedDocument, Option<Vec<Instalment>>)> {
    let (doc_no, customer_code, mut f) = validate_input(input)?;
    let plan = match &input.instalments {
        None => None,
        Some(asked) => {
            Some(instalments::validate(input.doc_type, &f.currency, f.amount, f.issue_date, f.due_date, asked)?)
        }
    };
    if let Some(plan) = &plan {
        f.due_date = instalments::header_due_date(plan, f.due_date);
    }
    let staged = StagedDocument {
        row_no: row as i64,
        id: Uuid::now_v7(),
        doc_type: input.doc_type.as_str(),
        doc_no,
        customer_code,
        issue_date: f.issue_date,
        due_date: f.due_date,
        amount_text: format_amount(&f.currency, f.amount),
        currency: f.currency,
        amount: f.amount,
        external_reference: f.external_reference,
        source_system: f.source_system,
    };
    Ok((staged, plan))
}

/// What the reader's thread hands back: the rejected rows, the rows' instalment plans, the rows
/// with lines, where the rows came from and the notes on how the body was read.
struct ReadBody {
    rejected: Vec<RejectedRow>,
    plans: RowPlans,
    lined: Vec<LinedRow>,
    places: Places,
    notes: Vec<String>,
}

/// The reader's thread: every row of the body, validated, staged or rejected.
fn read_rows(
    format: ImportFormat,
    body: &mut (dyn BufRead + Send),
    mapping: Option<&ImportMapping>,
    out: SyncSender<Vec<StagedDocument>>,
) -> AppResult<ReadBody> {
    let mut batches = Batches {
        out,
        batch: Vec::with_capacity(BATCH),
        rejected: Vec::new(),
        plans: HashMap::new(),
        lined: Vec::new(),
    };
    let mut places = Places::as_sent(ImportKind::Documents);
    let mut notes = Vec::new();
    match format {
        ImportFormat::Json => {
            if mapping.is_some() {
                return Err(AppError::invalid("mapping", "a column mapping is for CSV and .xlsx bodies, not JSON"));
            }
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes).map_err(AppError::internal)?;
            let (rows, rejected) = read_json_array::<DocumentInput>(&bytes)?;
            drop(bytes);
            batches.rejected = rejected;
            for (row, input) in rows {
                batches.row(row, Ok(input))?;
            }
        }
        ImportFormat::Csv => {
            let head = body.fill_buf().map_err(AppError::internal)?;
            if spreadsheet::is_xlsx(head) || spreadsheet::is_legacy_xls(head) || mapping.is_some() {
                let mut bytes = Vec::new();
                body.read_to_end(&mut bytes).map_err(AppError::internal)?;
                let prepared = prepare(&bytes, ImportKind::Documents, mapping)?;
                (places, notes) = (prepared.places, prepared.notes);
                read_csv_rows(&mut prepared.csv.as_ref(), &mut batches, &places)?;
            } else {
                read_csv_rows(body, &mut batches, &places)?;
            }
        }
    }
    batches.flush()?;
    Ok(ReadBody { rejected: batches.rejected, plans: batches.plans, lined: batches.lined, places, notes })
}

fn read_csv_rows(body: &mut (dyn BufRead + Send), batches: &mut Batches, places: &Places) -> AppResult<()> {
    let mut records = CsvRecords::new(body, &CSV_COLUMNS, &REQUIRED_COLUMNS)?;
    let columns: Vec<(&str, Option<usize>)> = CSV_COLUMNS.iter().map(|c| (*c, records.column(c))).collect();
    // Consecutive rows of one document with a line each become one document with its lines.
    let mut grouper = super::document_line_rows::LineGrouper::default();
    while let Some(next) = records.next_row() {
        match next {
            Err(mut r) => {
                r.row = places.row(r.row);
                batches.rejected.push(r)
            }
            Ok((row, record)) => {
                let cell = |name: &str| {
                    let at = columns.iter().find(|(c, _)| *c == name).and_then(|(_, at)| *at)?;
                    record.get(at).filter(|v| !v.is_empty())
                };
                match input_from_csv(cell) {
                    Ok(input) => {
                        if let Some((row, document)) = grouper.push(places.row(row), input) {
                            batches.row(row, Ok(document))?;
                        }
                    }
                    Err(e) => batches.row(places.row(row), Err(e))?,
                }
            }
        }
    }
    if let Some((row, document)) = grouper.finish() {
        batches.row(row, Ok(document))?;
    }
    Ok(())
}
