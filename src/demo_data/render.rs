//! A data set as file contents: the CSV files, camt.053.001.08 and MT940 statements. Pure: bytes
//! in memory, written to disk by `write_folder` or handed to the imports by the demo.

use super::{BankLine, Currency, Dataset};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail; the csv crate only reports IO errors.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

fn opt_amount(a: Option<Decimal>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

pub fn customers_csv(data: &Dataset) -> Vec<u8> {
    let rows = data.customers.iter().map(|c| {
        vec![c.code.clone(), c.name.clone(), c.country.into(), c.iban.clone().unwrap_or_default(), c.email.clone()]
    });
    csv_bytes(&["code", "name", "country", "iban", "email"], rows)
}

pub fn ledger_csv(data: &Dataset) -> Vec<u8> {
    let header = ["doc_no", "doc_type", "customer_code", "issue_date", "due_date", "currency", "amount", "reference"];
    let rows = data.ledger.iter().map(|d| {
        vec![
            d.doc_no.clone(),
            d.doc_type.as_str().into(),
            d.customer_code.clone(),
            d.issue_date.to_string(),
            d.due_date.to_string(),
            d.currency.code().into(),
            d.amount.to_string(),
            d.reference.clone(),
        ]
    });
    csv_bytes(&header, rows)
}

pub fn bank_csv(lines: &[BankLine]) -> Vec<u8> {
    let header = [
        "line_id",
        "account_iban",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "counterparty_name",
        "counterparty_iban",
        "remittance",
        "end_to_end_id",
    ];
    let rows = lines.iter().map(|l| {
        vec![
            l.line_id.clone(),
            l.account_iban.into(),
            l.booking_date.to_string(),
            l.value_date.to_string(),
            l.amount.to_string(),
            l.currency.code().into(),
            l.counterparty_name.clone(),
            l.counterparty_iban.clone(),
            l.remittance.clone(),
            l.end_to_end_id.clone(),
        ]
    });
    csv_bytes(&header, rows)
}

/// All customers' statement rows in one file (split per customer to post them).
pub fn statements_csv(data: &Dataset) -> Vec<u8> {
    let header = ["customer_code", "their_ref", "our_ref", "date", "kind", "amount", "currency"];
    let rows = data.statements.iter().map(|s| {
        vec![
            s.customer_code.clone(),
            s.their_ref.clone(),
            s.our_ref.clone(),
            s.date.to_string(),
            s.kind.as_str().into(),
            s.amount.to_string(),
            s.currency.code().into(),
        ]
    });
    csv_bytes(&header, rows)
}

pub fn truth_allocations_csv(data: &Dataset) -> Vec<u8> {
    let rows = data
        .truth_allocations
        .iter()
        .map(|a| vec![a.line_id.clone(), a.doc_no.clone(), a.amount.to_string(), a.scenario.as_str().into()]);
    csv_bytes(&["line_id", "doc_no", "amount", "scenario"], rows)
}

pub fn truth_lines_csv(data: &Dataset) -> Vec<u8> {
    let rows = data.truth_lines.iter().map(|l| {
        vec![
            l.line_id.clone(),
            l.scenario.as_str().into(),
            if l.applied { "applied" } else { "unapplied" }.into(),
            l.difference.to_string(),
            l.difference_reason.map(|r| r.as_str()).unwrap_or("").into(),
        ]
    });
    csv_bytes(&["line_id", "scenario", "outcome", "difference", "difference_reason"], rows)
}

pub fn truth_differences_csv(data: &Dataset) -> Vec<u8> {
    let header = ["customer_code", "kind", "our_ref", "their_ref", "our_amount", "their_amount"];
    let rows = data.truth_differences.iter().map(|d| {
        vec![
            d.customer_code.clone(),
            d.kind.as_str().into(),
            d.our_ref.clone(),
            d.their_ref.clone(),
            opt_amount(d.our_amount),
            opt_amount(d.their_amount),
        ]
    });
    csv_bytes(&header, rows)
}

/// `payment_habits.csv`: the customers that pay their own way, and who pays for them.
pub fn payment_habits_csv(data: &Dataset) -> Vec<u8> {
    let rows = data.payment_habits.iter().map(|h| {
        let (name, iban) = match &h.habit {
            super::PaymentHabit::ThirdParty { name, iban, .. } => (name.clone(), iban.clone()),
            _ => (String::new(), String::new()),
        };
        vec![h.customer_code.clone(), h.habit.as_str().into(), name, iban]
    });
    csv_bytes(&["customer_code", "habit", "payer_name", "payer_iban"], rows)
}

/// Every CSV file of a data set folder, by file name.
pub fn csv_files(data: &Dataset) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("customers.csv", customers_csv(data)),
        ("ledger.csv", ledger_csv(data)),
        ("bank.csv", bank_csv(&data.bank)),
        ("statements.csv", statements_csv(data)),
        ("truth_allocations.csv", truth_allocations_csv(data)),
        ("truth_lines.csv", truth_lines_csv(data)),
        ("truth_differences.csv", truth_differences_csv(data)),
    ]
}

/// A statement's worth of one account's lines, with its opening and closing balance.
struct StatementChunk<'a> {
    account: &'a str,
    currency: Currency,
    lines: Vec<&'a BankLine>,
    opening: Decimal,
    closing: Decimal,
}

/// The lines per (account, currency), in the order given, cut into statements of at most
/// `per_file` lines; each account's first statement opens at zero.
fn chunks(lines: &[BankLine], per_file: usize) -> Vec<StatementChunk<'_>> {
    let mut by_account: BTreeMap<(&str, &str), Vec<&BankLine>> = BTreeMap::new();
    for l in lines {
        by_account.entry((l.account_iban, l.currency.code())).or_default().push(l);
    }
    let mut out = Vec::new();
    for ((account, _), rows) in by_account {
        let mut balance = Decimal::ZERO;
        for part in rows.chunks(per_file.max(1)) {
            let opening = balance;
            balance += part.iter().map(|l| l.amount).sum::<Decimal>();
            let currency = part[0].currency;
            out.push(StatementChunk { account, currency, lines: part.to_vec(), opening, closing: balance });
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn camt_balance(out: &mut String, code: &str, amount: Decimal, currency: &str, on: NaiveDate) {
    let cd = if amount >= Decimal::ZERO { "CRDT" } else { "DBIT" };
    let _ = write!(
        out,
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{}</Amt>\
         <CdtDbtInd>{cd}</CdtDbtInd><Dt><Dt>{on}</Dt></Dt></Bal>",
        amount.abs()
    );
}

/// A creditor reference (ISO 11649) goes into the structured remittance, other text unstructured.
fn is_rf(text: &str) -> bool {
    text.starts_with("RF") && text.get(2..4).is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

fn camt_entry(out: &mut String, l: &BankLine) {
    let cur = l.currency.code();
    let amount = l.amount.abs();
    let (cd, party) = if l.amount >= Decimal::ZERO { ("CRDT", "Dbtr") } else { ("DBIT", "Cdtr") };
    let party_account = if l.counterparty_iban.is_empty() {
        String::new()
    } else {
        format!("<{party}Acct><Id><IBAN>{}</IBAN></Id></{party}Acct>", l.counterparty_iban)
    };
    let remittance = if is_rf(&l.remittance) {
        format!(
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{}</Ref></CdtrRefInf></Strd></RmtInf>",
            xml_escape(&l.remittance)
        )
    } else if !l.remittance.is_empty() {
        format!("<RmtInf><Ustrd>{}</Ustrd></RmtInf>", xml_escape(&l.remittance))
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<Ntry><NtryRef>{id}</NtryRef><Amt Ccy=\"{cur}\">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>\
         <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booking}</Dt></BookgDt><ValDt><Dt>{value}</Dt></ValDt>\
         <AcctSvcrRef>{id}</AcctSvcrRef>\
         <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
         <NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>\
         <AmtDtls><TxAmt><Amt Ccy=\"{cur}\">{amount}</Amt></TxAmt></AmtDtls>\
         <RltdPties><{party}><Pty><Nm>{name}</Nm></Pty></{party}>{party_account}</RltdPties>{remittance}\
         </TxDtls></NtryDtls></Ntry>",
        id = l.line_id,
        booking = l.booking_date,
        value = l.value_date,
        e2e = xml_escape(&l.end_to_end_id),
        name = xml_escape(&l.counterparty_name),
    );
}

/// One camt.053.001.08 document per account and run of at most `per_file` entries, numbered
/// across accounts; balances run from zero.
pub fn camt053(lines: &[BankLine], per_file: usize) -> Vec<String> {
    let mut files = Vec::new();
    for (i, c) in chunks(lines, per_file).into_iter().enumerate() {
        let n = i + 1;
        let cur = c.currency.code();
        let mut out = String::with_capacity(600 * c.lines.len() + 1000);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
             <GrpHdr><MsgId>MSG{n:06}</MsgId><CreDtTm>2026-11-01T08:00:00</CreDtTm></GrpHdr>\
             <Stmt><Id>STMT-{tail}-{n:06}</Id><ElctrncSeqNb>{n}</ElctrncSeqNb><CreDtTm>2026-11-01T08:00:00</CreDtTm>\
             <Acct><Id><IBAN>{acct}</IBAN></Id><Ccy>{cur}</Ccy></Acct>",
            tail = &c.account[c.account.len().saturating_sub(6)..],
            acct = c.account,
        );
        camt_balance(&mut out, "OPBD", c.opening, cur, c.lines[0].booking_date);
        camt_balance(&mut out, "CLBD", c.closing, cur, c.lines[c.lines.len() - 1].booking_date);
        for l in &c.lines {
            camt_entry(&mut out, l);
        }
        out.push_str("</Stmt></BkToCstmrStmt></Document>\n");
        files.push(out);
    }
    files
}

/// An MT amount: comma as the decimal mark, always present ("1234,50", "5000,").
fn mt_amount(amount: Decimal) -> String {
    let text = amount.abs().to_string();
    match text.split_once('.') {
        Some((int, frac)) => format!("{int},{frac}"),
        None => format!("{text},"),
    }
}

fn mt_balance(tag: &str, amount: Decimal, currency: &str, on: NaiveDate) -> String {
    let cd = if amount >= Decimal::ZERO { 'C' } else { 'D' };
    format!(":{tag}:{cd}{}{currency}{}\n", on.format("%y%m%d"), mt_amount(amount))
}

/// The :86: text in lines of at most 65 characters (the field's line width).
fn mt_wrapped(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(65).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("\n")
}

fn mt_entry(out: &mut String, l: &BankLine) {
    let cd = if l.amount >= Decimal::ZERO { 'C' } else { 'D' };
    let customer_ref = if l.end_to_end_id == "NOTPROVIDED" { "NONREF" } else { &l.end_to_end_id };
    let _ = writeln!(
        out,
        ":61:{}{}{cd}{}NTRF{}//{}",
        l.value_date.format("%y%m%d"),
        l.booking_date.format("%m%d"),
        mt_amount(l.amount),
        customer_ref.chars().take(16).collect::<String>(),
        l.line_id
    );
    let mut info = format!("/EREF/{}", l.end_to_end_id);
    if !l.counterparty_name.is_empty() {
        let _ = write!(info, "/NAME/{}", l.counterparty_name);
    }
    if !l.counterparty_iban.is_empty() {
        let _ = write!(info, "/IBAN/{}", l.counterparty_iban);
    }
    if is_rf(&l.remittance) {
        let _ = write!(info, "/REMI/STRD/CUR/{}/", l.remittance);
    } else if !l.remittance.is_empty() {
        let _ = write!(info, "/REMI/USTD//{}/", l.remittance);
    }
    let _ = writeln!(out, ":86:{}", mt_wrapped(&info));
}

/// One MT940 message per account and run of at most `per_file` entries, balances from zero.
pub fn mt940(lines: &[BankLine], per_file: usize) -> Vec<String> {
    let mut files = Vec::new();
    for (i, c) in chunks(lines, per_file).into_iter().enumerate() {
        let n = i + 1;
        let cur = c.currency.code();
        let mut out = String::with_capacity(300 * c.lines.len() + 300);
        let _ = write!(out, "{{1:F01DZDEMO22AXXX0000000000}}{{2:O940}}{{4:\n:20:DZ{n:06}\n:25:{}\n", c.account);
        let _ = writeln!(out, ":28C:{n:05}/1");
        out.push_str(&mt_balance("60F", c.opening, cur, c.lines[0].booking_date));
        for l in &c.lines {
            mt_entry(&mut out, l);
        }
        out.push_str(&mt_balance("62F", c.closing, cur, c.lines[c.lines.len() - 1].booking_date));
        out.push_str("-}\n");
        files.push(out);
    }
    files
}
