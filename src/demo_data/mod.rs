//! The project's data generator (`duizhang demo-data`): synthetic but realistic receivables data
//! with ground truth, for tests, benchmarks, the evaluation commands and the demo tenant.
//!
//! [`generate`] is pure: a seed and [`Options`] give a [`Dataset`] in memory, the same on every
//! machine. [`render`] turns it into the files' bytes (CSV, camt.053, MT940); [`write_folder`] is
//! the one function that touches the disk. docs/demo-data.md describes the files and the
//! conventions the ground truth follows.
//!
//! Generation runs in two parts, each a set of scenarios with one function per scenario:
//! cash application ([`cash_application`]: bank lines and the invoices they pay) and customers'
//! statements ([`customer_statements`]: what customers' own books say, with planted differences).

pub mod cash_application;
pub mod customer_statements;
pub mod difference_causes;
pub mod model;
mod names;
pub mod payment_habits;
pub mod render;
pub mod render_habits;
mod rng;
pub mod statement_habits;

use chrono::{Days, NaiveDate};
pub use model::*;
use rng::DemoRng;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

/// The dates documents are issued on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub days: u32,
}

impl Default for Period {
    fn default() -> Period {
        Period { start: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"), days: 270 }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Bank lines of the cash-application part (at least; a scenario may add two).
    pub lines: usize,
    /// Customers that send a statement of their own books.
    pub statements: usize,
    pub seed: u64,
    pub period: Period,
    /// Scenarios of the cash-application part and their weights.
    pub mix: Vec<(Scenario, u32)>,
    /// Share of customers with a Chinese name.
    pub chinese_names: f64,
    /// Customers' statements as customers send them: each in its own layout, language, sign
    /// convention, date format and encoding, our number quoted their way or not at all, grouped
    /// payments (see `statement_habits`). Off: our own columns, as before.
    pub habits: bool,
    /// Plant differences with a known cause (technical, process, dispute; `difference_causes`)
    /// in the customers' statements, and their causes in `Dataset::truth_causes`. Without habits
    /// only.
    pub cause_cases: bool,
    /// Consecutive months of the same customers (`generate_months`): each month `lines` more bank
    /// lines and new invoices over a period of the same length, and a share of the customers with
    /// a payment habit they keep (`payment_habits`). 1: one data set, as without this option.
    pub months: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lines: 10_000,
            statements: 40,
            seed: 7,
            period: Period::default(),
            mix: cash_application::DEFAULT_MIX.to_vec(),
            chinese_names: 0.08,
            habits: false,
            cause_cases: false,
            months: 1,
        }
    }
}

/// Generates a whole data set (with `Options::months` >= 2: the first month). Deterministic: the
/// same options give the same data set.
pub fn generate(options: &Options) -> Dataset {
    if options.months > 1 {
        return generate_months(options).swap_remove(0);
    }
    let mut g = Generator::new(options);
    g.cash_application();
    if options.habits {
        g.customer_statements_with_habits();
    } else {
        g.customer_statements();
    }
    g.finish()
}

/// Generates `Options::months` consecutive months (at least one): the first is the data set
/// [`generate`] describes plus the customers' payment habits; each later month adds `lines` bank
/// lines and new invoices of the same customers (customers' statements only in the first), and
/// its ground truth may name documents of an earlier month (invoices left open, paid late).
pub fn generate_months(options: &Options) -> Vec<Dataset> {
    let mut g = Generator::new(options);
    g.cash_application();
    if options.habits {
        g.customer_statements_with_habits();
    } else {
        g.customer_statements();
    }
    for _ in 1..options.months {
        g.next_month();
    }
    g.finish_months()
}

/// Writes each month into `out/month1`, `out/month2`, ...: every folder can be imported on its
/// own, after the ones before it.
pub fn write_months(months: &[Dataset], out: &Path, files: &FileOptions) -> std::io::Result<()> {
    for (i, data) in months.iter().enumerate() {
        write_folder(data, &out.join(format!("month{}", i + 1)), files)?;
    }
    Ok(())
}

/// Which files [`write_folder`] writes besides the CSV files.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// camt.053.001.08 statements with at most this many entries each, under `camt053/`.
    pub camt_entries: Option<usize>,
    /// MT940 statements with at most this many entries each, under `mt940/`.
    pub mt940_entries: Option<usize>,
}

/// Writes the data set's files into `out` (created if missing).
pub fn write_folder(data: &Dataset, out: &Path, files: &FileOptions) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let habits = !data.statement_habits.is_empty();
    for (name, bytes) in render::csv_files(data) {
        // With habits every customer's statement is a file of its own layout instead.
        if !(habits && name == "statements.csv") {
            std::fs::write(out.join(name), bytes)?;
        }
    }
    if !data.payment_habits.is_empty() {
        std::fs::write(out.join("payment_habits.csv"), render::payment_habits_csv(data))?;
    }
    if habits {
        std::fs::create_dir_all(out.join("statements"))?;
        for (name, bytes) in render_habits::statement_files(data) {
            std::fs::write(out.join(name), bytes)?;
        }
        std::fs::write(out.join("statement_mappings.json"), render_habits::statement_mappings_json(data))?;
    }
    let statements = [
        (files.camt_entries, "camt053", "xml", render::camt053 as fn(&[BankLine], usize) -> Vec<String>),
        (files.mt940_entries, "mt940", "sta", render::mt940),
    ];
    for (entries, folder, ext, render) in statements {
        if let Some(per_file) = entries {
            std::fs::create_dir_all(out.join(folder))?;
            for (i, text) in render(&data.bank, per_file.max(1)).into_iter().enumerate() {
                std::fs::write(out.join(folder).join(format!("stmt_{:05}.{ext}", i + 1)), text)?;
            }
        }
    }
    Ok(())
}

/// The generator's working state: the data set so far and the invoices still open per customer.
pub struct Generator<'o> {
    pub(crate) options: &'o Options,
    pub(crate) rng: DemoRng,
    pub(crate) data: Dataset,
    /// Positions in `data.ledger` of each customer's open invoices.
    pub(crate) open: HashMap<String, Vec<usize>>,
    seq: HashMap<DocType, u32>,
    line_seq: u32,
    /// The current month's period (`Options::period`, then each following one).
    pub(crate) period: Period,
    /// Customers of the cash-application part (the first ones; statement customers follow).
    pub(crate) cash_customers: usize,
    /// Per customer its payment habit (empty for one month).
    pub(crate) habits: Vec<Option<PaymentHabit>>,
    /// The last purchase-order number handed out (purchase-order habit).
    pub(crate) po_seq: u64,
    /// Where each month after the first starts in the lists (ledger, bank, truth allocations,
    /// truth lines).
    pub(crate) month_starts: Vec<[usize; 4]>,
    /// Invoices of earlier months paid in full by one line, and their customer (the second
    /// month's duplicates pay them again).
    pub(crate) settled_earlier: Vec<(usize, usize)>,
}

impl<'o> Generator<'o> {
    pub fn new(options: &'o Options) -> Generator<'o> {
        Generator {
            options,
            rng: DemoRng::new(options.seed),
            data: Dataset::default(),
            open: HashMap::new(),
            seq: HashMap::new(),
            line_seq: 0,
            period: options.period,
            cash_customers: 0,
            habits: Vec::new(),
            po_seq: 0,
            month_starts: Vec::new(),
            settled_earlier: Vec::new(),
        }
    }

    /// Orders the lists as the files list them.
    pub fn finish(mut self) -> Dataset {
        // Shuffled first, so lines of one day are not in the order the scenarios made them.
        self.rng.shuffle(&mut self.data.bank);
        self.data.bank.sort_by_key(|l| l.booking_date);
        self.data.ledger.sort_by(|a, b| (a.issue_date, &a.doc_no).cmp(&(b.issue_date, &b.doc_no)));
        self.data
    }

    pub fn add_customer(&mut self, prefix: &str) -> usize {
        let r = &mut self.rng;
        let code = format!("{prefix}{:06}", self.data.customers.len() + 1);
        let name = names::company(r, self.options.chinese_names);
        let country = *r.pick(&["DE", "FR", "GB", "CN", "NL", "IT"]);
        let iban = if r.chance(0.85) {
            let c = *r.pick(&["DE", "FR", "NL", "GB"]);
            Some(iban(r, c))
        } else {
            None
        };
        let currency = Currency::ALL[r.weighted(&[70, 12, 8, 3, 7])];
        let email = format!("ap@{}.example", code.to_lowercase());
        self.data.customers.push(Customer { code, name, country, iban, email, currency });
        self.data.customers.len() - 1
    }

    pub fn date(&mut self) -> NaiveDate {
        let span = self.period.days as i64;
        self.date_within(span)
    }

    /// A date in the first `span` days of the period (or the whole period when shorter).
    pub fn date_within(&mut self, span: i64) -> NaiveDate {
        let span = span.min(self.period.days as i64);
        self.period.start + Days::new(self.rng.range(0, span) as u64)
    }

    /// A random invoice amount in `currency` (50.00 to 25,000.00 EUR worth).
    pub fn invoice_amount(&mut self, currency: Currency) -> Decimal {
        let base = Decimal::new(self.rng.range(5000, 2_500_000), 2);
        if currency == Currency::Eur {
            return currency.round(base);
        }
        let amount = currency.round(base / currency.rate_to_eur() * Decimal::new(9, 1));
        if amount > Decimal::ZERO {
            amount
        } else {
            currency.round(Decimal::ONE_HUNDRED)
        }
    }

    /// Adds a document to the ledger (an invoice also to the customer's open items) and returns
    /// its position. Amount and issue date are drawn when not given.
    pub fn add_doc(&mut self, customer: usize, doc: NewDoc) -> usize {
        let (code, default_currency) = {
            let c = &self.data.customers[customer];
            (c.code.clone(), c.currency)
        };
        let currency = doc.currency.unwrap_or(default_currency);
        let n = self.seq.entry(doc.doc_type).or_insert(0);
        *n += 1;
        let doc_no = format!("{}-2026-{:07}", doc.doc_type.prefix(), n);
        let amount = match doc.amount {
            Some(a) => a,
            None => self.invoice_amount(currency),
        };
        let issue_date = match doc.issue {
            Some(d) => d,
            None => self.date(),
        };
        let due_date = issue_date + Days::new(*self.rng.pick(&[14, 30, 30, 45, 60]));
        let reference = if doc.doc_type == DocType::Invoice && doc.reference.is_empty() {
            self.purchase_order_number(customer)
        } else {
            doc.reference
        };
        self.data.ledger.push(Document {
            doc_no,
            doc_type: doc.doc_type,
            customer_code: code.clone(),
            issue_date,
            due_date,
            currency,
            amount,
            reference,
        });
        let at = self.data.ledger.len() - 1;
        if doc.doc_type == DocType::Invoice {
            self.open.entry(code).or_default().push(at);
        }
        at
    }

    /// Takes `n` of the customer's open invoices (issuing new ones when it has too few); they
    /// are no longer open.
    pub fn take_open(&mut self, customer: usize, n: usize) -> Vec<usize> {
        let code = self.data.customers[customer].code.clone();
        while self.open.get(&code).map_or(0, Vec::len) < n {
            self.add_doc(customer, NewDoc::invoice());
        }
        let items = self.open.get_mut(&code).expect("filled above");
        let picked: Vec<usize> = self.rng.sample_indices(items.len(), n).into_iter().map(|i| items[i]).collect();
        items.retain(|d| !picked.contains(d));
        picked
    }

    /// Removes a document from its customer's open items (it is settled, or belongs elsewhere).
    pub fn close(&mut self, doc: usize) {
        let code = &self.data.ledger[doc].customer_code;
        if let Some(items) = self.open.get_mut(code) {
            items.retain(|d| *d != doc);
        }
    }

    /// A payment date around the due date, never before the invoice was issued nor before the
    /// current month.
    pub fn pay_date(&mut self, doc: usize) -> NaiveDate {
        let d = &self.data.ledger[doc];
        let (issue, due) = (d.issue_date, d.due_date);
        let k = self.rng.range(-20, 25);
        let on = if k < 0 { due - Days::new(k.unsigned_abs()) } else { due + Days::new(k as u64) };
        on.max(issue).max(self.period.start)
    }

    pub fn next_line_id(&mut self) -> String {
        self.line_seq += 1;
        format!("BL{:09}", self.line_seq)
    }
}

/// What [`Generator::add_doc`] is told; the rest is drawn.
#[derive(Debug, Clone)]
pub struct NewDoc {
    pub doc_type: DocType,
    pub amount: Option<Decimal>,
    pub currency: Option<Currency>,
    pub issue: Option<NaiveDate>,
    pub reference: String,
}

impl NewDoc {
    pub fn invoice() -> NewDoc {
        NewDoc { doc_type: DocType::Invoice, amount: None, currency: None, issue: None, reference: String::new() }
    }

    pub fn of(doc_type: DocType, amount: Decimal) -> NewDoc {
        NewDoc { doc_type, amount: Some(amount), ..NewDoc::invoice() }
    }
}

/// A random IBAN of a country: 18 digits after the check digits.
fn iban(rng: &mut DemoRng, country: &str) -> String {
    let digits: String = (0..18).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
    names::iban(country, &digits)
}

#[cfg(test)]
mod tests;
