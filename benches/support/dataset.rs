//! Loader for folders written by `duizhang demo-data` (shared by the evaluation test and the speed example).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use duizhang::domain::cash_application::{CustomerInfo, DocKind, FxRates, LineInput, OpenItem};
use rust_decimal::Decimal;
use uuid::Uuid;

/// One generated folder, converted to engine inputs plus the ground truth.
pub struct Dataset {
    pub customers: Vec<CustomerInfo>,
    pub items: Vec<OpenItem>,
    pub lines: Vec<LineInput>,
    /// Engine line id -> generator line id.
    pub line_names: HashMap<Uuid, String>,
    /// (line_id, doc_no, amount) of every true allocation.
    pub truth: HashSet<(String, String, Decimal)>,
    /// line_id -> scenario.
    pub scenario: HashMap<String, String>,
    /// line_id -> true allocations (doc_no, amount).
    pub truth_by_line: HashMap<String, Vec<(String, Decimal)>>,
}

fn date(s: &str) -> NaiveDate {
    let p: Vec<u32> = s.split('-').map(|x| x.parse().expect("date part")).collect();
    NaiveDate::from_ymd_opt(p[0] as i32, p[1], p[2]).expect("valid date")
}

fn opt(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

fn reader(dir: &Path, name: &str) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Rates to EUR from the generator's table; cross rates are derived by [`FxRates::rate`].
pub fn generator_fx() -> FxRates {
    let mut fx = FxRates::new();
    for (c, r) in [("EUR", "1"), ("USD", "0.92"), ("CNY", "0.128"), ("JPY", "0.0061"), ("GBP", "1.17")] {
        if c != "EUR" {
            fx.insert(c, "EUR", Decimal::from_str(r).unwrap());
        }
    }
    fx
}

/// Loads customers, ledger (invoices and credit notes, all open; ledger payments excluded: bank lines never pay
/// them), bank lines in file order (the generator sorts by booking date; we sort stably to be sure), and truth.
pub fn load(dir: &Path) -> Dataset {
    let mut customers = Vec::new();
    let mut cust_id: HashMap<String, Uuid> = HashMap::new();
    for (i, r) in reader(dir, "customers.csv").records().enumerate() {
        let r = r.unwrap();
        let id = Uuid::from_u128((2u128 << 64) | i as u128);
        cust_id.insert(r[0].to_string(), id);
        customers.push(CustomerInfo {
            id,
            name: r[1].to_string(),
            aliases: Vec::new(),
            bank_accounts: opt(&r[3]).into_iter().collect(),
        });
    }
    let mut items = Vec::new();
    for (i, r) in reader(dir, "ledger.csv").records().enumerate() {
        let r = r.unwrap();
        let kind = match &r[1] {
            "invoice" => DocKind::Invoice,
            "credit_note" => DocKind::CreditNote,
            _ => continue,
        };
        let amount = Decimal::from_str(&r[6]).unwrap();
        items.push(OpenItem {
            id: Uuid::from_u128((1u128 << 64) | i as u128),
            customer_id: cust_id[&r[2]],
            kind,
            doc_no: r[0].into(),
            currency: r[5].into(),
            amount,
            open_amount: amount,
            issue_date: date(&r[3]),
            due_date: opt(&r[4]).map(|d| date(&d)),
            instalments: Box::default(),
        });
    }
    let mut lines = Vec::new();
    let mut line_names = HashMap::new();
    for r in reader(dir, "bank.csv").records() {
        let r = r.unwrap();
        let n: u128 = r[0].trim_start_matches("BL").parse().unwrap();
        let id = Uuid::from_u128(n);
        line_names.insert(id, r[0].to_string());
        lines.push(LineInput {
            id,
            bank_reference: None,
            booking_date: date(&r[2]),
            amount: Decimal::from_str(&r[4]).unwrap(),
            currency: r[5].into(),
            counterparty_name: opt(&r[6]).map(String::into_boxed_str),
            counterparty_iban: opt(&r[7]).map(String::into_boxed_str),
            remittance: opt(&r[8]).map(String::into_boxed_str),
            creditor_reference: None,
            end_to_end_id: opt(&r[9]).map(String::into_boxed_str),
            bank_account: None,
            bank_transaction_code: None,
        });
    }
    lines.sort_by_key(|l| l.booking_date);
    let mut truth = HashSet::new();
    let mut truth_by_line: HashMap<String, Vec<(String, Decimal)>> = HashMap::new();
    for r in reader(dir, "truth_allocations.csv").records() {
        let r = r.unwrap();
        let amount = Decimal::from_str(&r[2]).unwrap();
        truth.insert((r[0].to_string(), r[1].to_string(), amount));
        truth_by_line.entry(r[0].to_string()).or_default().push((r[1].to_string(), amount));
    }
    let mut scenario = HashMap::new();
    for r in reader(dir, "truth_lines.csv").records() {
        let r = r.unwrap();
        scenario.insert(r[0].to_string(), r[1].to_string());
    }
    Dataset { customers, items, lines, line_names, truth, scenario, truth_by_line }
}
