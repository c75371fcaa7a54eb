//! Erasure: the customer's IBAN lookup hashes, the payer details of the bank lines applied
//! to its items, and the free-text notes collectors wrote about it.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use uuid::Uuid;

/// Clears the customer's bank account hashes and the payer name and account of the bank lines
/// applied to its items; returns how many lines were redacted.
pub fn redact_payers(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<i64> {
    diesel::sql_query("UPDATE customers SET bank_account_hashes = '{}' WHERE id = $1")
        .bind::<SqlUuid, _>(customer_id)
        .execute(conn)?;
    // The payer's name and account on the bank lines applied to this customer's items.
    let lines = diesel::sql_query(
        "UPDATE bank_lines l SET counterparty_name = NULL, counterparty_iban = NULL, counterparty_account = NULL \
         WHERE l.tenant_id = $1 AND (l.counterparty_name IS NOT NULL OR l.counterparty_iban IS NOT NULL \
                                     OR l.counterparty_account IS NOT NULL) \
           AND EXISTS (SELECT 1 FROM allocations a JOIN documents d ON d.id = a.document_id \
                       WHERE a.bank_line_id = l.id AND d.customer_id = $2 AND a.tenant_id = $1)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .execute(conn)? as i64;
    Ok(lines)
}

/// Clears the notes of the customer's contact log and collection tasks (free text about people:
/// who was called, what they said); the outcomes, dates and promises stay, they are the
/// collection history. Returns how many rows had a note.
pub fn redact_collection_notes(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<i64> {
    let mut n = 0;
    for table in ["contact_log", "collection_tasks"] {
        n += diesel::sql_query(format!(
            "UPDATE {table} SET note = NULL WHERE tenant_id = $1 AND customer_id = $2 AND note IS NOT NULL"
        ))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(customer_id)
        .execute(conn)? as i64;
    }
    Ok(n)
}
