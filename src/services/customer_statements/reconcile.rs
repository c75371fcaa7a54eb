//! Reconciling one customer statement with our books: read their lines (both sides when the
//! sign convention is unknown), pair them with our items, store the statement with its lines and
//! differences, cancel differences that earlier statements showed and this one no longer does,
//! and announce the outcome.

use super::*;
use crate::domain::difference_cause::{self, CauseSource, Evidence as CauseEvidence};
use crate::domain::money::Currency;

/// Fingerprint of a difference: the same gap seen in two statements is one difference.
pub(super) fn fingerprint(
    kind: DifferenceKind,
    our_ref: &Option<String>,
    their_ref: &Option<String>,
    ours: Option<Decimal>,
    theirs: Option<Decimal>,
) -> String {
    let amount = |a: Option<Decimal>| a.map(|a| a.normalize().to_string()).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}",
        kind.as_str(),
        our_ref.as_deref().unwrap_or(""),
        their_ref.as_deref().unwrap_or(""),
        amount(ours),
        amount(theirs)
    )
}

pub(super) fn our_items(
    rows: &[st_db::OurItemRow],
    mut tax_groups: HashMap<Uuid, Vec<crate::domain::document_lines::RateGroup>>,
) -> Vec<OurItem> {
    rows.iter()
        .map(|r| OurItem {
            tax_groups: r.document_id.and_then(|id| tax_groups.remove(&id)).unwrap_or_default(),
            kind: r.kind,
            doc_no: r.doc_no.clone(),
            date: r.item_date,
            amount: r.amount,
            currency: r.currency.clone(),
            reference: r.reference.clone(),
            settles: r.settles.clone(),
        })
        .collect()
}

/// One reading of their lines, compared with our items.
pub(super) struct Reading {
    lines: Vec<ValidLine>,
    theirs: Vec<TheirItem>,
    comparison: Comparison,
}

pub(super) fn compare_reading(
    input: &StatementInput,
    source_lines: Option<&[i32]>,
    ours: &[OurItem],
) -> AppResult<(Reading, i32, i32)> {
    let (lines, ignored, tolerance) = files::validate(input, source_lines)?;
    let theirs: Vec<TheirItem> = lines.iter().map(|l| l.their.clone()).collect();
    let comparison = compare(ours, &theirs, i64::from(tolerance));
    Ok((Reading { lines, theirs, comparison }, ignored, tolerance))
}

pub(crate) fn reconcile_for(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    parsed: ParsedStatement,
    source: Source,
    actor: (&str, String),
) -> AppResult<StatementView> {
    let input = &parsed.input;
    let rows = st_db::our_items(conn, tenant_id, customer.id, input.period_from, input.period_to)?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.document_id).collect();
    let ours = our_items(&rows, crate::services::document_lines::rate_groups_of(conn, tenant_id, &ids)?);
    let (reading, ignored, tolerance, notes) = best_reading(&parsed, &ours)?;
    let statement_id = Uuid::now_v7();
    let line_rows = line_rows(tenant_id, statement_id, &reading, &ours);
    // The statement's end: its period, else the latest date it shows.
    let cut_off = input.period_to.or_else(|| reading.theirs.iter().map(|t| t.date).max());
    let (new_rows, carried, seen) =
        difference_rows(conn, (tenant_id, customer, statement_id), &reading, (&ours, &rows), cut_off)?;

    cancel_fixed(conn, tenant_id, customer.id, input, statement_id, &seen)?;

    let now = Utc::now();
    let balances = balance_views(&reading.comparison);
    let statement = CustomerStatement {
        id: statement_id,
        tenant_id,
        customer_id: customer.id,
        period_from: input.period_from,
        period_to: input.period_to,
        source: source.as_str().to_string(),
        lines_count: reading.lines.len() as i32 + ignored,
        matched_count: reading.comparison.paired_lines() as i32,
        differences_count: (new_rows.len() + carried.len()) as i32,
        date_tolerance_days: tolerance,
        balances: serde_json::to_value(&balances).map_err(AppError::internal)?,
        received_at: now,
        actor_type: actor.0.to_string(),
        actor_id: actor.1.clone(),
        notes: json!(notes),
    };
    st_db::insert(conn, &statement, &line_rows)?;
    diff_db::insert_many(conn, &new_rows)?;

    let differences = difference_views(conn, tenant_id, &customer.code, new_rows, carried)?;
    let view = StatementView {
        id: statement_id,
        customer_code: customer.code.clone(),
        period_from: statement.period_from,
        period_to: statement.period_to,
        source: statement.source.clone(),
        lines_count: statement.lines_count,
        lines_ignored: ignored,
        matched_count: statement.matched_count,
        differences_count: statement.differences_count,
        date_tolerance_days: tolerance,
        balances,
        differences,
        notes,
        received_at: now,
    };
    announce(conn, tenant_id, customer, &statement, &view, actor)?;
    Ok(view)
}

/// Their lines compared with our items; when neither the mapping nor their document types said
/// which side invoices are on, both readings are compared and the one that pairs more lines wins.
/// Returns the reading, the lines ignored, the date tolerance and the notes.
fn best_reading(parsed: &ParsedStatement, ours: &[OurItem]) -> AppResult<(Reading, i32, i32, Vec<String>)> {
    let source_lines = parsed.source_lines.as_deref();
    let (mut reading, ignored, tolerance) = compare_reading(&parsed.input, source_lines, ours)?;
    let mut notes = parsed.notes.clone();
    if let Some(other) = &parsed.other_reading {
        let (alternative, _, _) = compare_reading(other, source_lines, ours)?;
        let (credit, debit) = (reading.comparison.paired_lines(), alternative.comparison.paired_lines());
        if debit > credit {
            reading = alternative;
        }
        notes.push(format!(
            "invoices read on the {} side: {} of {} lines pair that way, {} the other way",
            if debit > credit { "debit" } else { "credit" },
            credit.max(debit),
            reading.lines.len(),
            credit.min(debit)
        ));
    }
    Ok((reading, ignored, tolerance, notes))
}

/// Open differences of an earlier statement of the same period that this one no longer shows
/// were fixed in the meantime (on either side): cancelled, with the reason.
fn cancel_fixed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    input: &StatementInput,
    statement_id: Uuid,
    seen: &HashSet<String>,
) -> AppResult<()> {
    let stale: Vec<Uuid> = diff_db::open_of_period(conn, tenant_id, customer_id, input.period_from, input.period_to)?
        .into_iter()
        .filter(|(_, fp)| !seen.contains(fp))
        .map(|(id, _)| id)
        .collect();
    if !stale.is_empty() {
        diff_db::cancel_many(conn, tenant_id, &stale, &format!("no longer found by statement {statement_id}"))?;
    }
    Ok(())
}

/// The new differences and the ones carried over from earlier statements, as answered.
fn difference_views(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_code: &str,
    new_rows: Vec<Difference>,
    carried: Vec<Uuid>,
) -> AppResult<Vec<DifferenceView>> {
    let mut differences: Vec<DifferenceView> =
        new_rows.into_iter().map(|d| DifferenceView::new(d, customer_code.to_string())).collect();
    for id in carried {
        let (d, code) = diff_db::find(conn, tenant_id, id)?;
        differences.push(DifferenceView::new(d, code));
    }
    Ok(differences)
}

/// Their lines as stored, each with what it was paired with and why.
pub(super) fn line_rows(
    tenant_id: Uuid,
    statement_id: Uuid,
    reading: &Reading,
    ours: &[OurItem],
) -> Vec<CustomerStatementLine> {
    let mut paired: HashMap<usize, &Pairing> = HashMap::new();
    for p in &reading.comparison.pairs {
        for &t in &p.theirs {
            paired.insert(t, p);
        }
    }
    reading
        .lines
        .iter()
        .enumerate()
        .map(|(t, l)| {
            let pair = paired.get(&t);
            CustomerStatementLine {
                id: Uuid::now_v7(),
                tenant_id,
                statement_id,
                line_no: l.line_no,
                their_ref: l.their.their_ref.clone(),
                our_ref: l.their.our_ref.clone(),
                entry_date: l.their.date,
                kind: l.their.kind,
                amount: l.their.amount,
                currency: l.their.currency.clone(),
                matched_ref: pair
                    .map(|p| p.ours.iter().map(|&o| ours[o].doc_no.as_str()).collect::<Vec<_>>().join(" + ")),
                match_rule: pair.map(|p| p.rule.as_str().to_string()),
                text: l.their.text.clone(),
                kind_inferred: l.their.kind_inferred,
                match_explanation: pair.map(|p| p.explanation.clone()),
            }
        })
        .collect()
}

/// Differences: new rows, or the one already being worked on with the same fingerprint
/// (carried), and every fingerprint this statement shows.
pub(super) fn difference_rows(
    conn: &mut PgConnection,
    (tenant_id, customer, statement_id): (Uuid, &Customer, Uuid),
    reading: &Reading,
    (ours, rows): (&[OurItem], &[st_db::OurItemRow]),
    cut_off: Option<NaiveDate>,
) -> AppResult<(Vec<Difference>, Vec<Uuid>, HashSet<String>)> {
    let now = Utc::now();
    let active: HashMap<String, Uuid> =
        diff_db::active_fingerprints(conn, tenant_id, customer.id)?.into_iter().map(|(id, fp, _)| (fp, id)).collect();
    let mut new_rows: Vec<Difference> = Vec::new();
    let mut carried: Vec<Uuid> = Vec::new();
    let mut seen = HashSet::new();
    for d in &reading.comparison.differences {
        let our = d.ours.map(|o| (&ours[o], &rows[o]));
        let their = d.theirs.map(|t| &reading.theirs[t]);
        let mut our_ref = our.map(|(o, _)| o.doc_no.clone());
        let mut their_ref = their.map(|t| t.their_ref.clone()).filter(|r| !r.is_empty());
        // For a line they repeated, "ours" is the item it duplicates.
        let (mut our_amount, mut their_amount) = (our.map(|(o, _)| o.amount), their.map(|t| t.amount));
        let group = d.pairing.map(|p| &reading.comparison.pairs[p]).filter(|p| p.ours.len() + p.theirs.len() > 2);
        if let Some(g) = group {
            // A group's gap: both sides named whole, with their sums.
            our_ref = Some(g.ours.iter().map(|&o| ours[o].doc_no.as_str()).collect::<Vec<_>>().join(" + "));
            let mut refs: Vec<&str> = g.theirs.iter().map(|&t| reading.theirs[t].their_ref.as_str()).collect();
            refs.dedup();
            their_ref = Some(refs.join(" + ")).filter(|r| !r.is_empty());
            our_amount = Some(g.ours.iter().map(|&o| ours[o].amount).sum());
            their_amount = Some(g.theirs.iter().map(|&t| reading.theirs[t].amount).sum());
        }
        let single_document = group.is_none_or(|g| g.ours.len() == 1);
        let currency = our.map(|(o, _)| o.currency.clone()).or(their.map(|t| t.currency.clone())).unwrap_or_default();
        let effect: Decimal = d.effects.iter().filter(|(c, _)| *c == currency).map(|(_, e)| *e).sum();
        let mut fp = fingerprint(d.kind, &our_ref, &their_ref, our_amount, their_amount);
        // Two identical differences in one statement (e.g. a line repeated three times) stay two.
        let mut n = 1;
        while !seen.insert(fp.clone()) {
            n += 1;
            fp = format!("{}#{n}", fp.split('#').next().unwrap_or_default());
        }
        if let Some(&existing) = active.get(&fp) {
            carried.push(existing);
            continue;
        }
        let suggestion =
            suggested_cause(d.kind, (our.map(|(o, _)| o), their), (our_amount, their_amount), &currency, cut_off);
        new_rows.push(Difference {
            cause: suggestion.as_ref().map(|s| s.cause()),
            sub_cause: suggestion.as_ref().map(|s| s.sub_cause),
            cause_source: suggestion.as_ref().map(|_| CauseSource::Suggested),
            cause_explanation: suggestion.map(|s| s.explanation),
            id: Uuid::now_v7(),
            tenant_id,
            customer_id: customer.id,
            statement_id,
            kind: d.kind,
            status: DifferenceStatus::Open,
            our_document_id: our.and_then(|(_, r)| r.document_id).filter(|_| single_document),
            our_ref,
            their_ref,
            our_amount,
            their_amount,
            currency,
            our_date: our.map(|(o, _)| o.date),
            their_date: their.map(|t| t.date),
            explanation: d.explanation.clone(),
            balance_effect: effect,
            fingerprint: fp,
            resolution_note: None,
            adjustment_document_id: None,
            created_at: now,
            updated_at: now,
        });
    }
    Ok((new_rows, carried, seen))
}

/// The cause the evidence suggests (docs/disputes.md); amounts as the difference shows them
/// (a group's sums).
fn suggested_cause(
    kind: DifferenceKind,
    (our, their): (Option<&OurItem>, Option<&TheirItem>),
    (our_amount, their_amount): (Option<Decimal>, Option<Decimal>),
    currency: &str,
    cut_off: Option<NaiveDate>,
) -> Option<difference_cause::Suggestion> {
    difference_cause::suggest(&CauseEvidence {
        kind,
        our_amount,
        their_amount,
        minor_units: Currency::parse_including_withdrawn(currency).map(|c| c.minor_units()).unwrap_or(2),
        our_kind: our.map(|o| o.kind),
        their_kind: their.map(|t| t.kind),
        our_date: our.map(|o| o.date),
        their_date: their.map(|t| t.date),
        cut_off,
    })
}

/// Audit entries and outbox events of a reconciliation, in its transaction.
pub(super) fn announce(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer: &Customer,
    statement: &CustomerStatement,
    view: &StatementView,
    actor: (&str, String),
) -> AppResult<()> {
    let statement_id = statement.id;
    let mut e = crate::db::audit::NewAuditEntry {
        actor_type: actor.0.to_string(),
        actor_id: actor.1,
        action: "statement.reconciled".into(),
        entity_type: "customer_statement".into(),
        entity_id: statement_id.to_string(),
        before: None,
        after: None,
    };
    e.after = Some(json!({
        "customer_code": customer.code,
        "source": statement.source,
        "lines": statement.lines_count,
        "matched": statement.matched_count,
        "differences": statement.differences_count,
        "balances": statement.balances,
    }));
    let mut audit = vec![e];
    for d in view.differences.iter().filter(|d| d.statement_id == statement_id) {
        let mut de = entry_for_system(&audit[0], "difference.created", &d.id.to_string());
        de.after = snapshot(d);
        audit.push(de);
    }
    audit_db::append(conn, tenant_id, audit)?;

    events::emit(
        conn,
        tenant_id,
        Some(customer.id),
        EventType::StatementReconciled,
        json!({
            "statement_id": statement_id,
            "customer_code": customer.code,
            "matched": view.matched_count,
            "differences": view.differences_count,
            "balances": view.balances,
        }),
    )?;
    for d in view.differences.iter().filter(|d| d.statement_id == statement_id) {
        events::emit(conn, tenant_id, Some(customer.id), EventType::DifferenceCreated, json!(d))?;
    }
    Ok(())
}

pub(super) fn entry_for_system(
    like: &crate::db::audit::NewAuditEntry,
    action: &str,
    id: &str,
) -> crate::db::audit::NewAuditEntry {
    crate::db::audit::NewAuditEntry {
        actor_type: like.actor_type.clone(),
        actor_id: like.actor_id.clone(),
        action: action.into(),
        entity_type: "difference".into(),
        entity_id: id.into(),
        before: None,
        after: None,
    }
}

pub(super) fn balance_views(c: &Comparison) -> Vec<BalanceView> {
    c.balances
        .iter()
        .map(|b| BalanceView {
            currency: b.currency.clone(),
            ours: format_amount(&b.currency, b.ours),
            theirs: format_amount(&b.currency, b.theirs),
            differences: format_amount(&b.currency, b.differences),
            unexplained: format_amount(&b.currency, b.unexplained),
        })
        .collect()
}
