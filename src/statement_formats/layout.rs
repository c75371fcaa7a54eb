//! Where things are in a file: the header row, the column of each role, and how amounts are
//! written. Taken from the customer's mapping where it says, detected from the header otherwise.

use super::mapping::{AmountConvention, InvoiceSide, StatementMapping};
use super::vocabulary::{header_role, normalise_word, Role};
use super::Rows;
use crate::bank_formats::Column;

/// How many rows may precede the header (titles, the period, addresses) when detecting it.
const HEADER_SEARCH_ROWS: usize = 30;

/// Amount columns, resolved to positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amounts {
    Unsigned(usize),
    Signed(usize),
    DebitCredit(usize, usize),
    Indicator { amount: usize, indicator: usize, debit_values: Vec<String>, credit_values: Vec<String> },
}

/// Column positions of one file.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Index in the file's rows of the header row, if there is one; data follows it.
    pub header: Option<usize>,
    /// First data row (index in the file's rows).
    pub first_data: usize,
    pub date: usize,
    pub their_ref: Option<usize>,
    pub our_ref: Option<usize>,
    pub text: Vec<usize>,
    pub doc_type: Option<usize>,
    pub currency: Option<usize>,
    pub customer_code: Option<usize>,
    pub amounts: Amounts,
    pub invoices: InvoiceSide,
    /// Whether the layout was detected (no mapping named the columns).
    pub detected: bool,
    pub notes: Vec<String>,
}

fn matches_header(cell: &str, name: &str) -> bool {
    cell.trim().eq_ignore_ascii_case(name.trim()) || normalise_word(cell) == normalise_word(name)
}

fn position(c: &Column, header: Option<&[String]>) -> Result<usize, String> {
    match (c, header) {
        (Column::Index(i), _) => Ok(*i),
        (Column::Name(n), Some(h)) => h.iter().position(|x| matches_header(x, n)).ok_or_else(|| {
            let names: Vec<&str> = h.iter().map(|s| s.as_str()).filter(|s| !s.is_empty()).collect();
            format!(
                "column '{n}' of the customer's statement mapping is not in the header (columns: {})",
                crate::bank_formats::truncate(&names.join(", "), 300)
            )
        }),
        (Column::Name(n), None) => Err(format!("column '{n}' needs a header row")),
    }
}

/// The layout a mapping names, its header found by the column names it uses.
fn from_mapping(m: &StatementMapping, rows: &Rows) -> Result<Layout, String> {
    let names: Vec<&str> = m
        .columns()
        .into_iter()
        .filter_map(|c| match c {
            Column::Name(n) => Some(n.as_str()),
            Column::Index(_) => None,
        })
        .collect();
    let start = m.skip_rows.unwrap_or(0);
    let header = if names.is_empty() {
        None
    } else {
        let found = rows
            .iter()
            .enumerate()
            .skip(start)
            .take(HEADER_SEARCH_ROWS)
            .find(|(_, (_, cells))| names.iter().all(|n| cells.iter().any(|c| matches_header(c, n))));
        match found {
            Some((i, _)) => Some(i),
            None => {
                let first = rows.get(start).map(|(_, cells)| cells.join(", ")).unwrap_or_default();
                return Err(format!(
                    "no header row with the mapping's columns ({}) in the first {HEADER_SEARCH_ROWS} rows (row {}: {})",
                    names.join(", "),
                    start + 1,
                    crate::bank_formats::truncate(&first, 200)
                ));
            }
        }
    };
    let cells = header.map(|h| rows[h].1.as_slice());
    let pos = |c: &Column| position(c, cells);
    let opt = |c: &Option<Column>| c.as_ref().map(pos).transpose();
    let date = m.date.as_ref().ok_or("the mapping names no date column")?;
    let amounts = match m.amount.as_ref().ok_or("the mapping names no amount column")? {
        AmountConvention::Unsigned { amount } => Amounts::Unsigned(pos(amount)?),
        AmountConvention::Signed { amount, .. } => Amounts::Signed(pos(amount)?),
        AmountConvention::DebitCredit { debit, credit, .. } => Amounts::DebitCredit(pos(debit)?, pos(credit)?),
        AmountConvention::Indicator { amount, indicator, debit_values, credit_values, .. } => Amounts::Indicator {
            amount: pos(amount)?,
            indicator: pos(indicator)?,
            debit_values: debit_values.clone(),
            credit_values: credit_values.clone(),
        },
    };
    Ok(Layout {
        header,
        first_data: header.map_or(start, |h| h + 1),
        date: pos(date)?,
        their_ref: opt(&m.their_ref)?,
        our_ref: opt(&m.our_ref)?,
        text: m.text.iter().map(pos).collect::<Result<_, _>>()?,
        doc_type: opt(&m.doc_type)?,
        currency: opt(&m.currency)?,
        customer_code: opt(&m.customer_code)?,
        amounts,
        invoices: m.amount.as_ref().map(AmountConvention::invoices).unwrap_or_default(),
        detected: false,
        notes: Vec::new(),
    })
}

/// The first row (within the search window) naming a date and an amount (or debit and credit)
/// column, read with the header vocabulary.
fn detect(m: &StatementMapping, rows: &Rows) -> Result<Layout, String> {
    let start = m.skip_rows.unwrap_or(0);
    for (i, (_, cells)) in rows.iter().enumerate().skip(start).take(HEADER_SEARCH_ROWS) {
        let roles: Vec<Option<Role>> = cells.iter().map(|c| header_role(c)).collect();
        let first = |r: Role| roles.iter().position(|x| *x == Some(r));
        let has_amount =
            first(Role::Amount).is_some() || (first(Role::Debit).is_some() && first(Role::Credit).is_some());
        let Some(date) = first(Role::Date).filter(|_| has_amount) else { continue };
        let amounts = match (first(Role::Debit), first(Role::Credit), first(Role::Amount), first(Role::Indicator)) {
            (Some(d), Some(c), _, _) => Amounts::DebitCredit(d, c),
            (_, _, Some(amount), Some(indicator)) => Amounts::Indicator {
                amount,
                indicator,
                debit_values: super::mapping::default_debit_values(),
                credit_values: super::mapping::default_credit_values(),
            },
            // Signed or unsigned: the amounts themselves tell (see `read`).
            (_, _, Some(a), None) => Amounts::Signed(a),
            _ => continue,
        };
        let mut used = vec![date];
        let mut take = |r: Role| -> Option<usize> {
            let p = first(r)?;
            used.push(p);
            Some(p)
        };
        let mut layout = Layout {
            header: Some(i),
            first_data: i + 1,
            date,
            their_ref: take(Role::TheirRef),
            our_ref: take(Role::OurRef),
            text: Vec::new(),
            doc_type: take(Role::DocType),
            currency: take(Role::Currency),
            customer_code: take(Role::CustomerCode),
            amounts,
            invoices: InvoiceSide::Auto,
            detected: true,
            notes: Vec::new(),
        };
        match &layout.amounts {
            Amounts::DebitCredit(d, c) => used.extend([*d, *c]),
            Amounts::Indicator { amount, indicator, .. } => used.extend([*amount, *indicator]),
            Amounts::Signed(a) | Amounts::Unsigned(a) => used.push(*a),
        }
        layout.text = roles.iter().enumerate().filter(|(_, r)| **r == Some(Role::Text)).map(|(p, _)| p).collect();
        used.extend(layout.text.iter().copied());
        let named = |p: usize| format!("'{}'", cells[p]);
        let mut described = vec![format!("date {}", named(layout.date))];
        for (what, p) in [
            ("their reference", layout.their_ref),
            ("our number", layout.our_ref),
            ("document type", layout.doc_type),
            ("currency", layout.currency),
        ] {
            if let Some(p) = p {
                described.push(format!("{what} {}", named(p)));
            }
        }
        if !layout.text.is_empty() {
            described.push(format!("text {}", layout.text.iter().map(|&p| named(p)).collect::<Vec<_>>().join(" ")));
        }
        layout.notes.push(format!("layout detected from the header on row {}: {}", i + 1, described.join(", ")));
        let ignored: Vec<String> =
            (0..cells.len()).filter(|p| !used.contains(p) && !cells[*p].trim().is_empty()).map(named).collect();
        if !ignored.is_empty() {
            layout.notes.push(format!("columns not read: {}", ignored.join(", ")));
        }
        return Ok(layout);
    }
    Err(format!(
        "could not find a header row naming a date and an amount (or debit and credit) column in the first \
         {HEADER_SEARCH_ROWS} rows; save a statement mapping for this customer (PUT /customers/{{code}}/statement-mapping)"
    ))
}

/// The layout of a file: the mapping's columns, or detected when the mapping names none.
pub fn layout(m: &StatementMapping, rows: &Rows) -> Result<Layout, String> {
    if m.date.is_some() {
        from_mapping(m, rows)
    } else {
        detect(m, rows)
    }
}
