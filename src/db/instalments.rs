//! Instalment plans of documents (see `domain::instalments`): only the plan is stored; what is
//! open of each instalment follows from the document's open amount.

use super::schema::document_instalments as di;
use crate::domain::instalments::Instalment;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = di)]
struct Row {
    tenant_id: Uuid,
    document_id: Uuid,
    seq: i32,
    due_date: NaiveDate,
    amount: Decimal,
}

/// Replaces a document's plan (an empty plan removes it).
pub fn replace(conn: &mut PgConnection, tenant_id: Uuid, document_id: Uuid, plan: &[Instalment]) -> QueryResult<()> {
    replace_many(conn, tenant_id, &[(document_id, plan.to_vec())])
}

/// Replaces the plans of several documents at once (imports).
pub fn replace_many(conn: &mut PgConnection, tenant_id: Uuid, plans: &[(Uuid, Vec<Instalment>)]) -> QueryResult<()> {
    if plans.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = plans.iter().map(|(id, _)| *id).collect();
    for chunk in ids.chunks(10_000) {
        diesel::delete(di::table.filter(di::tenant_id.eq(tenant_id)).filter(di::document_id.eq_any(chunk)))
            .execute(conn)?;
    }
    let rows: Vec<Row> = plans
        .iter()
        .flat_map(|(document_id, plan)| {
            plan.iter().map(move |i| Row {
                tenant_id,
                document_id: *document_id,
                seq: i.seq,
                due_date: i.due_date,
                amount: i.amount,
            })
        })
        .collect();
    // Five bind parameters per row: stay well under PostgreSQL's 65535.
    for chunk in rows.chunks(10_000) {
        diesel::insert_into(di::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

/// The plan of one document, in order (empty: no plan).
pub fn of_document(conn: &mut PgConnection, tenant_id: Uuid, document_id: Uuid) -> QueryResult<Vec<Instalment>> {
    Ok(of_documents(conn, tenant_id, &[document_id])?.remove(&document_id).unwrap_or_default())
}

/// The plans of the given documents that have one, each in order.
pub fn of_documents(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    document_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Instalment>>> {
    let mut plans: HashMap<Uuid, Vec<Instalment>> = HashMap::new();
    for chunk in document_ids.chunks(10_000) {
        let rows: Vec<Row> = di::table
            .filter(di::tenant_id.eq(tenant_id))
            .filter(di::document_id.eq_any(chunk))
            .order((di::document_id, di::seq))
            .select(Row::as_select())
            .load(conn)?;
        for r in rows {
            plans.entry(r.document_id).or_default().push(Instalment {
                seq: r.seq,
                due_date: r.due_date,
                amount: r.amount,
            });
        }
    }
    Ok(plans)
}

/// Every plan of the tenant (a matching run loads them with the open book; few documents have one).
pub fn of_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<HashMap<Uuid, Vec<Instalment>>> {
    let rows: Vec<Row> = di::table
        .filter(di::tenant_id.eq(tenant_id))
        .order((di::document_id, di::seq))
        .select(Row::as_select())
        .load(conn)?;
    let mut plans: HashMap<Uuid, Vec<Instalment>> = HashMap::new();
    for r in rows {
        plans.entry(r.document_id).or_default().push(Instalment { seq: r.seq, due_date: r.due_date, amount: r.amount });
    }
    Ok(plans)
}
