//! Lines in a JSON document import. Rows without lines (every CSV row) take the bulk path alone;
//! a row with lines is staged like any other, its lines are prepared once staging is done (a row
//! whose lines are refused is taken out of the staging table, rejected with the reason), and
//! after the documents are written its lines replace the stored ones.

use super::document_lines::{self as lines, DocumentLineInput, PreparedLines};
use super::documents::DocumentView;
use super::import::{ImportReport, RejectedRow};
use crate::db::document_import as import_db;
use crate::db::documents as documents_db;
use crate::db::{audit as audit_db, customers as customers_db};
use crate::domain::auth::Principal;
use crate::domain::document::DocType;
use crate::domain::money::Currency;
use crate::error::AppResult;
use crate::services::audit::{entry, snapshot};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use std::collections::HashSet;
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
            .and_then(|cur| lines::prepare_with(&ctx, r.doc_type, &cur, r.amount, &r.lines));
        match prepared {
            Ok(p) => ready.push((r, p)),
            Err(e) => {
                refused.push(r.row as i64);
                rejected.push(RejectedRow { row: r.row, error: e.message });
            }
        }
    }
    import_db::unstage(conn, &refused)?;
    Ok(ready)
}

/// After the documents are written: the lines of every row that was not rejected replace the
/// document's stored ones. A document whose header was unchanged but whose lines change counts as
/// updated.
pub fn store_all(
    conn: &mut PgConnection,
    principal: &Principal,
    ready: Vec<(LinedRow, PreparedLines)>,
    started: DateTime<Utc>,
    report: &mut ImportReport,
) -> AppResult<()> {
    let rejected: HashSet<u64> = report.rejected.iter().map(|r| r.row).collect();
    let mut audit = Vec::new();
    for (row, prepared) in ready.into_iter().filter(|(r, _)| !rejected.contains(&r.row)) {
        let Some(mut doc) = documents_db::find_by_keys_for_update(
            conn,
            principal.tenant_id,
            row.doc_type.as_str(),
            std::slice::from_ref(&row.doc_no),
        )?
        .pop() else {
            continue;
        };
        let code = customers_db::find_by_id(conn, principal.tenant_id, doc.customer_id)?.code;
        let before = DocumentView::new(doc.clone(), code.clone()).with_stored_lines(conn, principal.tenant_id)?;
        let prepared = prepared.for_document(doc.id);
        if lines::same_as(&prepared.views, &before) {
            continue;
        }
        lines::store(conn, principal.tenant_id, doc.id, &prepared)?;
        if doc.id != row.staged_id && doc.updated_at < started {
            // The header was unchanged: counted so, but the lines changed.
            report.unchanged = report.unchanged.saturating_sub(1);
            report.updated += 1;
            doc.updated_at = Utc::now();
            documents_db::update(conn, &doc)?;
        }
        let after = DocumentView::new(doc.clone(), code).with_lines(prepared.views, prepared.flags);
        let mut e = entry(principal, "document.lines_replaced", "document", &doc.id.to_string());
        e.before = snapshot(&before.lines);
        e.after = snapshot(&serde_json::json!({"lines": after.lines, "tax_flags": after.tax_flags}));
        audit.push(e);
    }
    audit_db::append(conn, principal.tenant_id, audit)?;
    Ok(())
}
