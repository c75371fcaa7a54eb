//! Customers' statements written with their habits: one file per customer in its own layout
//! (`statements/<code>.csv`), and the statement mapping its tenant would save for it
//! (`statement_mappings.json`). Pure: bytes in memory.

use super::model::{Language, SignHabit, StatementHabits};
use super::{Dataset, DocType, StatementRow};
use crate::bank_formats::{Column, CsvEncoding};
use crate::domain::document::DocType as LedgerType;
use crate::statement_formats::{AmountConvention, InvoiceSide, StatementMapping};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Column headers in the customer's language.
struct Headers {
    date: &'static str,
    their_ref: &'static str,
    text: &'static str,
    our_ref: &'static str,
    doc_type: &'static str,
    amount: &'static str,
    debit: &'static str,
    credit: &'static str,
    currency: &'static str,
    total: &'static str,
    title: &'static str,
}

fn headers(language: Language) -> Headers {
    match language {
        Language::Chinese => Headers {
            date: "日期",
            their_ref: "凭证号",
            text: "摘要",
            our_ref: "发票号",
            doc_type: "单据类型",
            amount: "金额",
            debit: "借方金额",
            credit: "贷方金额",
            currency: "币种",
            total: "合计",
            title: "应付账款明细账",
        },
        Language::German => Headers {
            date: "Belegdatum",
            their_ref: "Belegnr.",
            text: "Buchungstext",
            our_ref: "Rechnungsnr.",
            doc_type: "Belegart",
            amount: "Betrag",
            debit: "Soll",
            credit: "Haben",
            currency: "Währung",
            total: "Summe",
            title: "Kreditorenkonto Einzelposten",
        },
        Language::English => Headers {
            date: "Posting Date",
            their_ref: "Document No",
            text: "Description",
            our_ref: "Vendor Invoice No",
            doc_type: "Type",
            amount: "Amount",
            debit: "Debit",
            credit: "Credit",
            currency: "Currency",
            total: "Total",
            title: "Vendor ledger entries",
        },
        Language::French => Headers {
            date: "Date",
            their_ref: "Pièce",
            text: "Libellé",
            our_ref: "N° facture",
            doc_type: "Type",
            amount: "Montant",
            debit: "Débit",
            credit: "Crédit",
            currency: "Devise",
            total: "Total",
            title: "Grand livre fournisseur",
        },
    }
}

/// Their word for a kind; the second spelling on every other line.
fn type_word(h: &StatementHabits, kind: DocType, alternate: bool) -> &'static str {
    if h.sap_codes {
        return match kind {
            DocType::Invoice => "KR",
            DocType::Payment => "KZ",
            DocType::CreditNote => "KG",
        };
    }
    let words: [&'static str; 2] = match (h.language, kind) {
        (Language::Chinese, DocType::Invoice) => ["发票", "增值税专用发票"],
        (Language::Chinese, DocType::Payment) => ["付款", "银行付款"],
        (Language::Chinese, DocType::CreditNote) => ["红字发票", "红字发票"],
        (Language::German, DocType::Invoice) => ["Rechnung", "Eingangsrechnung"],
        (Language::German, DocType::Payment) => ["Zahlung", "Zahlungsausgang"],
        (Language::German, DocType::CreditNote) => ["Gutschrift", "Gutschrift"],
        (Language::English, DocType::Invoice) => ["Invoice", "AP Invoice"],
        (Language::English, DocType::Payment) => ["Payment", "Payment"],
        (Language::English, DocType::CreditNote) => ["Credit Memo", "Credit Memo"],
        (Language::French, DocType::Invoice) => ["Facture", "Facture fournisseur"],
        (Language::French, DocType::Payment) => ["Règlement", "Virement"],
        (Language::French, DocType::CreditNote) => ["Avoir", "Avoir"],
    };
    words[usize::from(alternate)]
}

fn delimiter(h: &StatementHabits) -> u8 {
    match h.language {
        Language::German | Language::French => b';',
        Language::Chinese | Language::English => b',',
    }
}

fn decimal_comma(h: &StatementHabits) -> bool {
    matches!(h.language, Language::German | Language::French)
}

/// An amount as their system prints it: their decimal mark, grouping when they group.
fn amount_text(h: &StatementHabits, amount: Decimal) -> String {
    let plain = amount.abs().to_string();
    let (int, frac) = plain.split_once('.').map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
    let (dec, group) = if decimal_comma(h) { (',', '.') } else { ('.', ',') };
    let mut out = String::new();
    if amount < Decimal::ZERO {
        out.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if h.thousands && i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push(dec);
        out.push_str(f);
    }
    out
}

/// Our invoices raise what they owe us: a credit in their books.
fn raises(kind: DocType) -> bool {
    kind == DocType::Invoice
}

/// The cells of the amount columns for a line (or a total).
fn amount_cells(h: &StatementHabits, kind_raises: bool, amount: Decimal) -> Vec<String> {
    match h.sign {
        SignHabit::DebitCredit if kind_raises => vec![String::new(), amount_text(h, amount)],
        SignHabit::DebitCredit => vec![amount_text(h, amount), String::new()],
        SignHabit::SignedInvoicesNegative => vec![amount_text(h, if kind_raises { -amount } else { amount })],
        SignHabit::SignedInvoicesPositive => vec![amount_text(h, if kind_raises { amount } else { -amount })],
    }
}

fn header_row(h: &StatementHabits) -> Vec<String> {
    let n = headers(h.language);
    let mut row = vec![n.date, n.their_ref, n.text];
    if h.our_ref_column {
        row.push(n.our_ref);
    }
    if h.type_column {
        row.push(n.doc_type);
    }
    match h.sign {
        SignHabit::DebitCredit => row.extend([n.debit, n.credit]),
        _ => row.push(n.amount),
    }
    row.push(n.currency);
    row.into_iter().map(String::from).collect()
}

fn line(h: &StatementHabits, r: &StatementRow, alternate: bool) -> Vec<String> {
    let mut row = vec![r.date.format(h.date_format).to_string(), r.their_ref.clone(), r.text.clone()];
    if h.our_ref_column {
        row.push(r.our_ref.clone());
    }
    if h.type_column {
        row.push(type_word(h, r.kind, alternate).to_string());
    }
    row.extend(amount_cells(h, raises(r.kind), r.amount));
    row.push(r.currency.code().to_string());
    row
}

/// The customer's statement file as its system exports it.
fn statement_file(h: &StatementHabits, company: &str, rows: &[&StatementRow]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().delimiter(delimiter(h)).flexible(true).from_writer(Vec::new());
    let n = headers(h.language);
    // Writing into a Vec cannot fail; the csv crate only reports IO errors.
    if h.title_rows {
        let _ = w.write_record([n.title]);
        let _ = w.write_record([company]);
    }
    let header = header_row(h);
    let _ = w.write_record(&header);
    for (i, r) in rows.iter().enumerate() {
        let _ = w.write_record(line(h, r, i % 2 == 1));
    }
    if h.total_row {
        let sum = |raise: bool| rows.iter().filter(|r| raises(r.kind) == raise).map(|r| r.amount).sum::<Decimal>();
        let mut total = vec![String::new(), String::new(), n.total.to_string()];
        total.resize(header.len() - if h.sign == SignHabit::DebitCredit { 3 } else { 2 }, String::new());
        match h.sign {
            SignHabit::DebitCredit => total.extend([amount_text(h, sum(false)), amount_text(h, sum(true))]),
            _ => total.extend(amount_cells(h, true, sum(true) - sum(false))),
        }
        total.push(String::new());
        let _ = w.write_record(&total);
    }
    let text = w.into_inner().unwrap_or_default();
    if h.gbk {
        encoding_rs::GBK.encode(&String::from_utf8_lossy(&text)).0.into_owned()
    } else {
        text
    }
}

/// Every habit customer's statement file, as `statements/<code>.csv`.
pub fn statement_files(data: &Dataset) -> Vec<(String, Vec<u8>)> {
    data.statement_habits
        .iter()
        .map(|h| {
            let rows: Vec<&StatementRow> =
                data.statements.iter().filter(|r| r.customer_code == h.customer_code).collect();
            let company = data.customers.iter().find(|c| c.code == h.customer_code).map_or("", |c| c.name.as_str());
            (format!("statements/{}.csv", h.customer_code), statement_file(h, company, &rows))
        })
        .collect()
}

/// The statement mapping a tenant saves for a customer with these habits.
pub fn mapping(h: &StatementHabits) -> StatementMapping {
    let n = headers(h.language);
    let col = |s: &str| Some(Column::Name(s.to_string()));
    let invoices = if h.mapping_side {
        match h.sign {
            SignHabit::SignedInvoicesPositive => InvoiceSide::Debit,
            _ => InvoiceSide::Credit,
        }
    } else {
        InvoiceSide::Auto
    };
    let amount = match h.sign {
        SignHabit::DebitCredit => AmountConvention::DebitCredit {
            debit: Column::Name(n.debit.into()),
            credit: Column::Name(n.credit.into()),
            invoices,
        },
        _ => AmountConvention::Signed { amount: Column::Name(n.amount.into()), invoices },
    };
    let doc_types = if h.sap_codes {
        BTreeMap::from([
            ("KR".to_string(), LedgerType::Invoice),
            ("KZ".to_string(), LedgerType::Payment),
            ("KG".to_string(), LedgerType::CreditNote),
        ])
    } else {
        BTreeMap::new()
    };
    StatementMapping {
        delimiter: Some(char::from(delimiter(h))),
        encoding: h.gbk.then_some(CsvEncoding::Gbk),
        date: col(n.date),
        their_ref: col(n.their_ref),
        our_ref: if h.our_ref_column { col(n.our_ref) } else { None },
        text: vec![Column::Name(n.text.into())],
        doc_type: if h.type_column { col(n.doc_type) } else { None },
        amount: Some(amount),
        currency: col(n.currency),
        decimal_separator: Some(if decimal_comma(h) { ',' } else { '.' }),
        date_formats: if h.mapping_dates { vec![h.date_format.to_string()] } else { vec![] },
        doc_types,
        ..StatementMapping::default()
    }
}

/// `statement_mappings.json`: customer code -> the mapping its tenant saves.
pub fn statement_mappings_json(data: &Dataset) -> Vec<u8> {
    let all: BTreeMap<&str, StatementMapping> =
        data.statement_habits.iter().map(|h| (h.customer_code.as_str(), mapping(h))).collect();
    serde_json::to_vec_pretty(&all).unwrap_or_default()
}
