//! `duizhang demo`: a demo tenant with a month of receivables, built through the same use cases
//! the API calls, so every capability has something to show: customers with Chinese and European
//! names, invoices, credit notes and payments, a camt.053 and MT940 statements, a cash-application
//! run with proposals left for review, customers' statements with differences, a dunning run and
//! a webhook endpoint with the deliveries those differences queued.
//!
//! The data comes from the project's generator ([`crate::demo_data`]) with a fixed seed, dated so
//! that the month's invoices were issued about four months ago and are paid (or overdue) by today.

use crate::bank_formats::{Format, Input};
use crate::demo_data::{self, BankLine, Currency, Dataset, Options, Period, Scenario};
use crate::domain::auth::{Actor, Principal, Role};
use crate::error::AppError;
use crate::services::cash_application as matching;
use crate::services::customer_statements::{self as statements, StatementOptions};
use crate::services::data_safety::Keyring;
use crate::services::import::ImportFormat;
use crate::services::{bank, customers, documents, dunning, tenants, webhooks};
use chrono::{Days, NaiveDate};
use diesel::{Connection, PgConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const TENANT_NAME: &str = "Demo 杭州对账演示有限公司";
/// Never resolves (RFC 2606): deliveries are attempted, fail and are retried, visibly.
pub const WEBHOOK_URL: &str = "https://erp.demo.example/duizhang/webhooks";

/// What the demo created, for the printout and the test.
#[derive(Debug, Clone)]
pub struct DemoTenant {
    pub tenant_id: Uuid,
    pub api_key: String,
    pub customers: usize,
    pub documents: usize,
    pub bank_lines: u64,
    /// (format, file name) of each bank statement imported.
    pub bank_statements: Vec<(String, String)>,
    pub run_id: Uuid,
    pub auto_applied: i32,
    pub proposed: i32,
    pub unmatched: i32,
    /// Customer statements reconciled and the differences they raised.
    pub customer_statements: usize,
    pub differences: usize,
    pub dunning_actions: usize,
    pub webhook_endpoint: Uuid,
    /// A customer with a Chinese name and a statement of its own: the statement of account to open.
    pub showcase_customer: String,
}

/// The generator's settings for the demo month: invoices issued over 30 days starting 120 days
/// before `today`, so payments (due date +/- 3 weeks) are all booked by today and what is not
/// paid is overdue.
pub fn month_options(today: NaiveDate) -> Options {
    Options {
        lines: 120,
        statements: 3,
        seed: 19,
        period: Period { start: today - Days::new(120), days: 30 },
        chinese_names: 0.35,
        mix: DEMO_MIX.to_vec(),
        habits: false,
        cause_cases: false,
        months: 1,
    }
}

/// The generator's mix with more of the cases a person decides: payments without a reference
/// between two equal invoices, mangled references, duplicates.
const DEMO_MIX: [(Scenario, u32); 13] = [
    (Scenario::Exact, 40),
    (Scenario::NoisyReference, 10),
    (Scenario::AmountAndPayer, 8),
    (Scenario::Combined, 8),
    (Scenario::Partial, 4),
    (Scenario::Split, 2),
    (Scenario::ShortBankFee, 4),
    (Scenario::EarlyPaymentDiscount, 2),
    (Scenario::Overpayment, 2),
    (Scenario::ForeignCurrency, 2),
    (Scenario::DuplicatePayment, 2),
    (Scenario::OldestFirst, 10),
    (Scenario::NoOwner, 6),
];

/// Creates the demo tenant in the database at `database_url` (migrated) as of `today`, sealing
/// with the server's `keys`.
pub fn seed(database_url: &str, keys: &Keyring, today: NaiveDate) -> Result<DemoTenant, String> {
    let data = demo_data::generate(&month_options(today));
    let pool = crate::db::build_pool(database_url, 2, Duration::from_secs(30))?;
    let mut conn = PgConnection::establish(database_url).map_err(|e| e.to_string())?;
    let created = tx(&mut conn, |c| tenants::create(c, TENANT_NAME, "EUR"))?;
    let p = Principal { tenant_id: created.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };

    load_books(&mut conn, &p, keys, &data)?;
    // Before anything raises an event, so the differences' events are queued for it.
    let endpoint = tx(&mut conn, |c| {
        let input = webhooks::WebhookEndpointInput {
            url: WEBHOOK_URL.into(),
            description: Some("Demo receiver: point it at your own endpoint (PATCH url)".into()),
            event_types: None,
            customer_code: None,
        };
        webhooks::create_endpoint(c, &p, keys, input)
    })?;
    let (bank_statements, bank_lines) = import_bank_statements(&mut conn, &p, &data.bank)?;
    let run = run_matching(&mut conn, &pool, keys, &p)?;
    let (customer_statements, differences) = reconcile_statements(&mut conn, &p, &data)?;
    let dunning_actions = run_dunning(&mut conn, &p, today)?;
    Ok(DemoTenant {
        tenant_id: created.tenant_id,
        api_key: created.api_key,
        customers: data.customers.len(),
        documents: data.ledger.len(),
        bank_lines,
        bank_statements,
        run_id: run.id,
        auto_applied: run.auto_applied,
        proposed: run.proposed,
        unmatched: run.unmatched,
        customer_statements,
        differences,
        dunning_actions,
        webhook_endpoint: endpoint.id,
        showcase_customer: showcase_customer(&data),
    })
}

fn tx<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> Result<T, AppError>) -> Result<T, String> {
    conn.transaction(f).map_err(|e| format!("{}: {}", e.code.as_str(), e.message))
}

/// Customers, ledger, the receiving accounts and the rate table.
fn load_books(conn: &mut PgConnection, p: &Principal, keys: &Keyring, data: &Dataset) -> Result<(), String> {
    let r =
        tx(conn, |c| customers::import(c, p, keys, ImportFormat::Csv, &demo_data::render::customers_csv(data), None))?;
    let r2 = tx(conn, |c| documents::import(c, p, ImportFormat::Csv, &demo_data::render::ledger_csv(data)))?;
    if !r.rejected.is_empty() || !r2.rejected.is_empty() {
        return Err(format!("demo data rejected: {:?} {:?}", r.rejected, r2.rejected));
    }
    for currency in Currency::ALL {
        let input = bank::BankAccountInput {
            account_id: currency.our_account().into(),
            currency: currency.code().into(),
            bank_name: Some("Demo Bank".into()),
            bic: None,
            name: Some(format!("Receivables {}", currency.code())),
            csv_mapping: None,
        };
        tx(conn, |c| bank::create_account(c, p, input))?;
    }
    let rates = Currency::ALL
        .iter()
        .filter(|c| **c != Currency::Eur)
        .map(|c| matching::FxRateInput {
            from_currency: c.code().into(),
            to_currency: "EUR".into(),
            rate: c.rate_to_eur().to_string(),
            valid_on: data.ledger.first().map_or(NaiveDate::MIN, |d| d.issue_date),
        })
        .collect();
    tx(conn, |c| matching::put_rates(c, p, rates))?;
    Ok(())
}

/// The EUR account's lines as one camt.053 statement, the other accounts' as MT940 statements.
fn import_bank_statements(
    conn: &mut PgConnection,
    p: &Principal,
    lines: &[BankLine],
) -> Result<(Vec<(String, String)>, u64), String> {
    let (eur, other): (Vec<BankLine>, Vec<BankLine>) = lines.iter().cloned().partition(|l| l.currency == Currency::Eur);
    let mut files: Vec<(Format, String, String)> = Vec::new();
    for (i, text) in demo_data::render::camt053(&eur, usize::MAX).into_iter().enumerate() {
        files.push((Format::Camt053, format!("camt053-eur-{}.xml", i + 1), text));
    }
    for (i, text) in demo_data::render::mt940(&other, usize::MAX).into_iter().enumerate() {
        files.push((Format::Mt940, format!("mt940-{}.sta", i + 1), text));
    }
    let (mut imported, mut total) = (Vec::new(), 0);
    for (format, name, text) in files {
        use sha2::Digest;
        let upload = bank::StatementUpload {
            format: Some(format),
            head: Vec::new(),
            sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            bytes: text.len() as u64,
            bank_account: None,
            preset: None,
            register_accounts: None,
        };
        let r = tx(conn, |c| bank::import_statement(c, p, upload, Input::Bytes(text.as_bytes())))?;
        total += r.lines_imported;
        imported.push((r.format, name));
    }
    Ok((imported, total))
}

/// Starts a run and works it off here (or waits for a running server's worker that took it).
fn run_matching(
    conn: &mut PgConnection,
    pool: &crate::db::DbPool,
    keys: &Keyring,
    p: &Principal,
) -> Result<matching::RunView, String> {
    let run = tx(conn, |c| matching::start_run(c, p, matching::RunRequest::default()))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        while matching::process_next_run(pool, keys).map_err(|e| e.message)? {}
        let now = tx(conn, |c| matching::get_run(c, p, run.id))?;
        match now.status.as_str() {
            "completed" => return Ok(now),
            "failed" => return Err(format!("matching run failed: {:?}", now.error)),
            _ if Instant::now() > deadline => return Err("matching run did not finish in 2 minutes".into()),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Posts each statement customer's own statement, as its accounts-payable team would send it.
fn reconcile_statements(conn: &mut PgConnection, p: &Principal, data: &Dataset) -> Result<(usize, usize), String> {
    let mut codes: Vec<&str> = data.statements.iter().map(|s| s.customer_code.as_str()).collect();
    codes.dedup();
    let mut differences = 0;
    for code in &codes {
        let rows = Dataset {
            statements: data.statements.iter().filter(|s| s.customer_code == *code).cloned().collect(),
            ..Dataset::default()
        };
        let body = demo_data::render::statements_csv(&rows);
        let view = tx(conn, |c| statements::submit(c, p, code, ImportFormat::Csv, &body, StatementOptions::default()))?;
        differences += view.differences.len();
    }
    Ok((codes.len(), differences))
}

fn level(code: &str, name: &str, severity: i32, days: i32, action: &str, hold: bool) -> dunning::DunningLevel {
    dunning::DunningLevel {
        code: code.into(),
        name: name.into(),
        severity,
        min_days_overdue: days,
        min_amount: None,
        action: action.into(),
        actions: None,
        repeat_every_days: (action == "reminder").then_some(14),
        credit_hold: hold,
    }
}

fn run_dunning(conn: &mut PgConnection, p: &Principal, today: NaiveDate) -> Result<usize, String> {
    let levels = vec![
        level("R1", "Friendly reminder", 1, 1, "reminder", false),
        level("L2", "Second notice", 2, 30, "letter", false),
        level("L3", "Final notice", 3, 60, "legal_letter", true),
    ];
    tx(conn, |c| dunning::put_levels(c, p, levels))?;
    let run = tx(conn, |c| dunning::run(c, p, dunning::DunningRunRequest { as_of: Some(today) }))?;
    Ok(run.actions.len())
}

/// The statement customer with the most statement rows, preferring a Chinese name (the PDF then
/// shows CJK text).
fn showcase_customer(data: &Dataset) -> String {
    let rows = |code: &str| data.statements.iter().filter(|s| s.customer_code == code).count();
    data.customers
        .iter()
        .filter(|c| rows(&c.code) > 0)
        .max_by_key(|c| (c.name.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), rows(&c.code)))
        .or(data.customers.first())
        .map(|c| c.code.clone())
        .unwrap_or_default()
}

/// What `duizhang demo` prints: the key and where to look.
pub fn instructions(demo: &DemoTenant, base_url: &str) -> String {
    let key = &demo.api_key;
    let statements: Vec<String> = demo.bank_statements.iter().map(|(f, n)| format!("{n} ({f})")).collect();
    format!(
        "Demo tenant \"{TENANT_NAME}\" ({id})\n\
         \n  API key: {key}\n\n\
         {customers} customers, {documents} ledger documents, {lines} bank lines from {statements}\n\
         cash application: {auto} lines applied, {proposed} proposed for review, {unmatched} unmatched\n\
         {cs} customer statements reconciled: {diffs} differences; dunning: {dunning} actions; \
         webhook endpoint {WEBHOOK_URL}\n\
         \nOpen:\n\
         \x20 Swagger UI    {base_url}/api/v1/docs/   (Authorize with the key)\n\
         \x20 GraphiQL      {base_url}/graphql   (header {{\"Authorization\": \"Bearer {key}\"}})\n\
         \x20 Statement of account (PDF):\n\
         \x20   curl -H 'Authorization: Bearer {key}' -o statement.pdf \\\n\
         \x20     '{base_url}/api/v1/customers/{showcase}/statement-of-account?format=pdf'\n\
         \x20 Proposals to review  {base_url}/api/v1/allocations?state=proposed\n\
         \x20 Differences          {base_url}/api/v1/differences\n\
         \x20 Webhook deliveries   {base_url}/api/v1/webhook-endpoints/{endpoint}/deliveries\n",
        id = demo.tenant_id,
        customers = demo.customers,
        documents = demo.documents,
        lines = demo.bank_lines,
        statements = statements.join(", "),
        auto = demo.auto_applied,
        proposed = demo.proposed,
        unmatched = demo.unmatched,
        cs = demo.customer_statements,
        diffs = demo.differences,
        dunning = demo.dunning_actions,
        showcase = demo.showcase_customer,
        endpoint = demo.webhook_endpoint,
    )
}
