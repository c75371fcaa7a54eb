//! Lines in a JSON document import. Rows without lines (every CSV row) take the bulk path alone;
//! a row with lines is staged like any other, its lines are prepared once staging is done (a row
//! whose lines are refused is taken out of the staging table, rejected with the reason), and
//! after the documents are written its lines replace the stored ones.

use super::document_lines::{self as lines, DocumentLineInput, PreparedLines};
use super::documents::DocumentView;
use super::import::{ImportReport, RejectedRow};
use crate::db::document_import as import_db;
use crate::db::document_lines as lines_db;
use crate::db::documents::{self as documents_db, Document};
use crate::db::{audit as audit_db, customers as customers_db};
use crate::domain::auth::Principal;
use crate::domain::document::DocType;
use crate::domain::money::Currency;
use crate::error::AppResult;
use crate::services::audit::{entry, snapshot};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A staged row that carries lines.
#[derive(Debug, Clone)]
pub struct LinedRow {
    pub row: u64,
    /// The id the document gets if the row creates it.
    pub staged_id: Uuid,
    pub doc_type: DocType,
    pub doc_no: String,
    pub currency: String,
    pub amount: Decimal,
    pub issue_date: chrono::NaiveDate,
    pub lines: Vec<DocumentLineInput>,
}

/// Prepares every row's lines; refused rows leave the staging table and are rejected.
pub fn prepare_all(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: Vec<LinedRow>,
    rejected: &mut Vec<RejectedRow>,
) -> AppResult<Vec<(LinedRow, PreparedLines)>> {
    let ctx = lines::LineContext::load(conn, tenant_id, rows.iter().flat_map(|r| r.lines.iter()))?;
    let mut ready = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for r in rows {
        let prepared = Currency::parse(&r.currency)
            .map_err(|e| crate::error::AppError::invalid("currency", e.to_string()))
            .and_then(|cur| {
                let header = lines::LinedDocument {
                    doc_type: r.doc_type,
                    currency: &cur,
                    amount: r.amount,
                    issue_date: r.issue_date,
                };
                lines::prepare_with(&ctx, header, &r.lines)
            });
        match prepared {
            Ok(p) => ready.push((r, p)),
            Err(e) => {
                refused.push(r.row as i64);
                rejected.push(RejectedRow::new(r.row, e.message));
            }
        }
    }
    import_db::unstage(conn, &refused)?;
    Ok(ready)
}

/// After the documents are written: the lines of every row that was not rejected replace the
/// document's stored ones. A document whose header was unchanged but whose lines change counts as
/// updated. Documents, stored lines and customers are read once for all rows.
pub fn store_all(
    conn: &mut PgConnection,
    principal: &Principal,
    ready: Vec<(LinedRow, PreparedLines)>,
    (started, moved): (DateTime<Utc>, &HashSet<i64>),
    report: &mut ImportReport,
) -> AppResult<()> {
    let rejected: HashSet<u64> = report.rejected.iter().map(|r| r.row).collect();
    let ready: Vec<_> = ready.into_iter().filter(|(r, _)| !rejected.contains(&r.row)).collect();
    let tenant_id = principal.tenant_id;
    let mut docs: HashMap<(DocType, String), Document> = HashMap::new();
    for doc_type in [DocType::Invoice, DocType::CreditNote] {
        let nos: Vec<String> =
            ready.iter().filter(|(r, _)| r.doc_type == doc_type).map(|(r, _)| r.doc_no.clone()).collect();
        if !nos.is_empty() {
            for d in documents_db::find_by_keys_for_update(conn, tenant_id, doc_type.as_str(), &nos)? {
                docs.insert((d.doc_type, d.doc_no.clone()), d);
            }
        }
    }
    let keys: Vec<(Uuid, &str)> = docs.values().map(|d| (d.id, d.currency.as_str())).collect();
    let mut stored = lines::views_of(conn, tenant_id, &keys)?;
    let mut codes: HashMap<Uuid, String> = HashMap::new();
    let (mut replaced, mut rows, mut touched, mut audit) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (row, prepared) in ready {
        let Some(doc) = docs.get(&(row.doc_type, row.doc_no.clone())) else { continue };
        let code = match codes.entry(doc.customer_id) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => e.insert(customers_db::find_by_id(conn, tenant_id, doc.customer_id)?.code).clone(),
        };
        let (old_lines, old_flags) = stored.remove(&doc.id).unwrap_or_default();
        let before = DocumentView::new(doc.clone(), code.clone()).with_lines(old_lines, old_flags);
        let prepared = prepared.for_document(doc.id);
        if lines::same_as(&prepared.views, &before) {
            continue;
        }
        let mut doc = doc.clone();
        if doc.id != row.staged_id && doc.updated_at < started && !moved.contains(&(row.row as i64)) {
            // The header (and any plan) was unchanged: counted so, but the lines changed.
            report.unchanged = report.unchanged.saturating_sub(1);
            report.updated += 1;
            doc.updated_at = Utc::now();
            touched.push(doc.clone());
        }
        let mut e = entry(principal, "document.lines_replaced", "document", &doc.id.to_string());
        e.before = snapshot(&serde_json::json!({"lines": before.lines, "tax_flags": before.tax_flags}));
        e.after = snapshot(&serde_json::json!({"lines": prepared.views, "tax_flags": prepared.flags}));
        audit.push(e);
        replaced.push(doc.id);
        rows.extend(prepared.rows);
    }
    lines_db::replace_many(conn, tenant_id, &replaced, &rows)?;
    import_db::update_documents(conn, tenant_id, &touched)?;
    audit_db::append(conn, tenant_id, audit)?;
    Ok(())
}
