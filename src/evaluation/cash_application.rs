//! `duizhang eval-matching DIR`: loads a generated folder (`duizhang demo-data`)
//! through the real import paths into a fresh database, runs matching, and scores the
//! auto-applied allocations against the generator's ground truth.

use crate::domain::auth::{Actor, Principal, Role};
use crate::services::cash_application as matching;
use crate::services::import::ImportFormat;
use crate::services::{bank, customers, documents, tenants};
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

/// The generator's rates to EUR: the tenant's rate table for the evaluation.
const RATES_TO_EUR: [(&str, &str); 4] = [("USD", "0.92"), ("CNY", "0.128"), ("JPY", "0.0061"), ("GBP", "1.17")];
const OUR_ACCOUNTS: [(&str, &str); 5] = [
    ("DE89370400440532013000", "EUR"),
    ("GB29NWBK60161331926819", "GBP"),
    ("DE44500105175407324931", "USD"),
    ("CN5810000000000123456789", "CNY"),
    ("GB33BUKB20201555555555", "JPY"),
];

pub(super) fn read_csv(path: &Path) -> Result<Vec<HashMap<String, String>>, String> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    r.records()
        .map(|rec| {
            let rec = rec.map_err(|e| e.to_string())?;
            Ok(headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        })
        .collect()
}

pub(super) fn amount_key(v: &str) -> String {
    v.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or_else(|_| v.to_string())
}

/// The headline figures of an evaluation.
#[derive(Debug, Clone)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub auto_applied: usize,
    /// Auto-applied allocations on lines that must stay unapplied (no_owner, duplicate_payment).
    pub forbidden: usize,
    pub report: String,
}

/// Ledger rows per import request.
const LEDGER_BATCH_ROWS: usize = 100_000;

/// Splits a CSV file into files of at most `rows` records, each starting with the header line.
/// Cuts at record boundaries the csv reader reports (quoted fields may hold line breaks).
fn csv_batches(csv_bytes: &[u8], rows: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_bytes);
    let mut record = csv::ByteRecord::new();
    let header_end = {
        reader.byte_headers().map_err(|e| e.to_string())?;
        reader.position().byte() as usize
    };
    let header = &csv_bytes[..header_end];
    let (mut batches, mut start, mut n) = (Vec::new(), header_end, 0usize);
    loop {
        let at = reader.position().byte() as usize;
        let more = reader.read_byte_record(&mut record).map_err(|e| e.to_string())?;
        if n == rows || (!more && at > start) {
            let mut batch = header.to_vec();
            batch.extend_from_slice(&csv_bytes[start..at]);
            batches.push(batch);
            (start, n) = (at, 0);
        }
        if !more {
            return Ok(batches);
        }
        n += 1;
    }
}

/// A line of /proc/self/status in KiB (0 where unavailable).
fn memory_kib(field: &str) -> f64 {
    crate::services::metrics::process_status_kib(field) as f64
}

/// Restarts the process's peak resident size at its current size (Linux >= 4.0).
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs the evaluation against the database at `url` (created empty by the caller).
pub fn evaluate(url: &str, dir: &Path, pool: crate::db::DbPool) -> Result<Scores, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    crate::db::run_migrations(&mut conn)?;
    let err = |e: crate::error::AppError| e.message;
    let created = conn.transaction(|c| tenants::create(c, "Evaluation", "EUR")).map_err(err)?;
    let p = Principal { tenant_id: created.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
    let t0 = Instant::now();
    // A scratch database: its keys live as long as the evaluation.
    let keys = crate::services::data_safety::Keyring::from_keys(vec![crate::domain::envelope::Key::generate()]);
    load(&mut conn, &p, &keys, dir)?;
    let load_secs = t0.elapsed().as_secs_f64();
    let peak_imports_mib = memory_kib("VmHWM:") / 1024.0;
    // The run's own peak: the kernel's high-water mark restarts at the current resident size.
    let reset = reset_peak_memory();
    let rss_before_run_mib = memory_kib("VmRSS:") / 1024.0;
    let t1 = Instant::now();
    let run = run_matching(&mut conn, &pool, &keys, &p)?;
    let run_secs = t1.elapsed().as_secs_f64();
    let peak_run_mib = if reset { memory_kib("VmHWM:") / 1024.0 } else { f64::NAN };

    let rows = allocations(&mut conn)?;

    let truth_lines = read_csv(&dir.join("truth_lines.csv"))?;
    let scenario_of: HashMap<String, String> =
        truth_lines.iter().map(|l| (l["line_id"].clone(), l["scenario"].clone())).collect();
    let truth = true_allocations(dir)?;
    let key = |r: &Row| (r.line_id.clone().unwrap_or_default(), r.doc_no.clone(), amount_key(&r.amount));
    let auto: Vec<&Row> = rows.iter().filter(|r| r.state == "auto_applied").collect();
    let auto_keys: HashSet<Key> = auto.iter().map(|r| key(r)).collect();
    let proposed_first: HashSet<Key> =
        rows.iter().filter(|r| r.state == "proposed" && r.candidate_set == 0).map(key).collect();
    let correct = auto_keys.intersection(&truth).count();
    let precision = if auto_keys.is_empty() { 1.0 } else { correct as f64 / auto_keys.len() as f64 };
    let recall = correct as f64 / truth.len().max(1) as f64;
    let proposed_right = truth.difference(&auto_keys).filter(|k| proposed_first.contains(*k)).count();

    let per = per_scenario(&truth, &auto_keys, &proposed_first, &scenario_of);
    let forbidden = auto_on_forbidden_lines(&auto, &scenario_of);
    let (fully, lines_with_truth) = fully_applied_lines(&truth, &auto_keys);

    let mut out = format!(
        "# Matching quality: {}\n\nbank lines {} | true allocations {} | auto-applied allocations {}\n\n\
         | measure | value |\n|---|---|\n\
         | precision of auto-applied allocations | {:.3}% ({correct}/{}) |\n\
         | recall (true allocations auto-applied) | {:.2}% |\n\
         | true allocations not auto-applied but proposed first | {proposed_right} |\n\
         | lines with a true allocation fully auto-applied | {:.2}% ({fully}/{}) |\n\
         | auto-applied on no_owner / duplicate_payment lines | {forbidden} |\n\
         | run: proposed / unmatched lines | {} / {} |\n\
         | load (imports) / matching run (request to persisted allocations) | {load_secs:.1} s / {run_secs:.1} s |\n\
         | peak memory of this process: imports / matching run (resident at its start) | {peak_imports_mib:.0} MiB / {peak_run_mib:.0} MiB ({rss_before_run_mib:.0} MiB) |\n\n\
         | scenario | true | auto correct | proposed first | auto wrong |\n|---|---|---|---|---|\n",
        dir.display(),
        truth_lines.len(),
        truth.len(),
        auto_keys.len(),
        precision * 100.0,
        auto_keys.len(),
        recall * 100.0,
        fully as f64 * 100.0 / lines_with_truth.max(1) as f64,
        lines_with_truth,
        run.proposed,
        run.unmatched,
    );
    for (s, (t, a, w, pr)) in per {
        out.push_str(&format!("| {s} | {t} | {a} | {pr} | {w} |\n"));
    }
    Ok(Scores { precision, recall, auto_applied: auto_keys.len(), forbidden, report: out })
}

/// Runs matching over the tenant's unapplied lines to completion.
pub(super) fn run_matching(
    conn: &mut PgConnection,
    pool: &crate::db::DbPool,
    keys: &crate::services::data_safety::Keyring,
    p: &Principal,
) -> Result<matching::RunView, String> {
    let err = |e: crate::error::AppError| e.message;
    let run = conn.transaction(|c| matching::start_run(c, p, matching::RunRequest::default())).map_err(err)?;
    while matching::process_next_run(pool, keys).map_err(err)? {}
    let run = conn.transaction(|c| matching::get_run(c, p, run.id)).map_err(err)?;
    if run.status != "completed" {
        return Err(format!("run {}: {:?}", run.status, run.error));
    }
    Ok(run)
}

/// The allocations the data set says are right.
fn true_allocations(dir: &Path) -> Result<HashSet<Key>, String> {
    let truth_allocs = read_csv(&dir.join("truth_allocations.csv"))?;
    Ok(truth_allocs.iter().map(|a| (a["line_id"].clone(), a["doc_no"].clone(), amount_key(&a["amount"]))).collect())
}

/// Every allocation the run made, with its line's reference and its document's number.
fn allocations(conn: &mut PgConnection) -> Result<Vec<Row>, String> {
    diesel::sql_query(
        "SELECT l.bank_reference AS line_id, d.doc_no, a.amount::text AS amount, a.state, a.candidate_set \
         FROM allocations a JOIN bank_lines l ON l.id = a.bank_line_id JOIN documents d ON d.id = a.document_id",
    )
    .load(conn)
    .map_err(|e| e.to_string())
}

/// An allocation as compared: (line id, document number, amount).
type Key = (String, String, String);

/// Per scenario: (true allocations, auto-applied correctly, wrong auto allocations, true ones
/// not auto-applied but proposed first).
fn per_scenario(
    truth: &HashSet<Key>,
    auto_keys: &HashSet<Key>,
    proposed_first: &HashSet<Key>,
    scenario_of: &HashMap<String, String>,
) -> BTreeMap<String, (usize, usize, usize, usize)> {
    let mut per: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    for k in truth {
        let s = scenario_of.get(&k.0).cloned().unwrap_or_default();
        let e = per.entry(s).or_default();
        e.0 += 1;
        if auto_keys.contains(k) {
            e.1 += 1;
        } else if proposed_first.contains(k) {
            e.3 += 1;
        }
    }
    for k in auto_keys.difference(truth) {
        let s = scenario_of.get(&k.0).cloned().unwrap_or_default();
        per.entry(s).or_default().2 += 1;
    }
    per
}

/// Auto-applied allocations on lines that must never be auto-applied (no owner, a payment made
/// twice).
fn auto_on_forbidden_lines(auto: &[&Row], scenario_of: &HashMap<String, String>) -> usize {
    auto.iter()
        .filter(|r| {
            matches!(
                scenario_of.get(r.line_id.as_deref().unwrap_or("")).map(String::as_str),
                Some("no_owner" | "duplicate_payment")
            )
        })
        .count()
}

/// Lines whose every true allocation was auto-applied and nothing wrong was, and the lines with
/// a true allocation.
fn fully_applied_lines(truth: &HashSet<Key>, auto_keys: &HashSet<Key>) -> (usize, usize) {
    let mut by_line: HashMap<&str, (usize, usize)> = HashMap::new();
    for k in truth {
        by_line.entry(k.0.as_str()).or_default().0 += 1;
    }
    let wrong_lines: HashSet<&str> = auto_keys.difference(truth).map(|k| k.0.as_str()).collect();
    for k in auto_keys.intersection(truth) {
        by_line.entry(k.0.as_str()).or_default().1 += 1;
    }
    let fully = by_line.iter().filter(|(l, (t, a))| t == a && !wrong_lines.contains(*l)).count();
    (fully, by_line.len())
}

#[cfg(test)]
mod tests {
    use super::csv_batches;

    #[test]
    fn csv_batches_keep_the_header_and_every_record_once_even_with_quoted_line_breaks() {
        let csv = b"a,b\n1,x\n2,\"two\nlines\"\n3,z\n4,w\n5,v";
        let batches = csv_batches(csv, 2).unwrap();
        let texts: Vec<&str> = batches.iter().map(|b| std::str::from_utf8(b).unwrap()).collect();
        assert_eq!(texts, vec!["a,b\n1,x\n2,\"two\nlines\"\n", "a,b\n3,z\n4,w\n", "a,b\n5,v"]);
        assert_eq!(csv_batches(b"a,b\n", 2).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(csv_batches(b"a,b\n1,x\n2,y\n", 2).unwrap(), vec![b"a,b\n1,x\n2,y\n".to_vec()]);
    }
}

/// Loads the data set through the real import paths: customers, the ledger in batches, our bank
/// accounts, the generator's FX rates and the bank statement.
fn load(
    conn: &mut PgConnection,
    p: &Principal,
    keys: &crate::services::data_safety::Keyring,
    dir: &Path,
) -> Result<(), String> {
    import_books(conn, p, keys, dir)?;
    setup_accounts(conn, p)?;
    import_bank(conn, p, dir)
}

/// Imports a folder's customers and its ledger (in batches).
pub(super) fn import_books(
    conn: &mut PgConnection,
    p: &Principal,
    keys: &crate::services::data_safety::Keyring,
    dir: &Path,
) -> Result<(), String> {
    let err = |e: crate::error::AppError| e.message;
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let (cust, ledger) = (read("customers.csv")?, read("ledger.csv")?);
    let r = conn.transaction(|c| customers::import(c, p, keys, ImportFormat::Csv, &cust, None)).map_err(err)?;
    if !r.rejected.is_empty() {
        return Err(format!("customers rejected: {:?}", &r.rejected[..r.rejected.len().min(3)]));
    }
    // In batches, as an ERP pushes a big ledger: one 1.46M-document request would hold the whole
    // parsed ledger at once and leave the process's heap gigabytes large before the run starts.
    for batch in csv_batches(&ledger, LEDGER_BATCH_ROWS)? {
        let r = conn.transaction(|c| documents::import(c, p, ImportFormat::Csv, &batch)).map_err(err)?;
        if !r.rejected.is_empty() {
            return Err(format!("documents rejected: {:?}", &r.rejected[..r.rejected.len().min(3)]));
        }
    }
    Ok(())
}

/// Our bank accounts and the generator's FX rates.
pub(super) fn setup_accounts(conn: &mut PgConnection, p: &Principal) -> Result<(), String> {
    let err = |e: crate::error::AppError| e.message;
    for (iban, cur) in OUR_ACCOUNTS {
        let input = bank::BankAccountInput {
            account_id: iban.into(),
            currency: cur.into(),
            bank_name: None,
            bic: None,
            name: None,
            csv_mapping: None,
        };
        conn.transaction(|c| bank::create_account(c, p, input)).map_err(err)?;
    }
    let rates = RATES_TO_EUR
        .iter()
        .map(|(cur, rate)| matching::FxRateInput {
            from_currency: cur.to_string(),
            to_currency: "EUR".into(),
            rate: rate.to_string(),
            valid_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        })
        .collect();
    conn.transaction(|c| matching::put_rates(c, p, rates)).map_err(err)?;
    Ok(())
}

/// Imports a folder's bank lines as one CSV statement.
pub(super) fn import_bank(conn: &mut PgConnection, p: &Principal, dir: &Path) -> Result<(), String> {
    let err = |e: crate::error::AppError| e.message;
    let bank_csv = std::fs::read(dir.join("bank.csv")).map_err(|e| format!("bank.csv: {e}"))?;
    let upload = bank::StatementUpload {
        format: Some(crate::bank_formats::Format::Csv),
        head: Vec::new(),
        sha256: String::new(),
        bytes: bank_csv.len() as u64,
        ..Default::default()
    };
    conn.transaction(|c| bank::import_statement(c, p, upload, crate::bank_formats::Input::Bytes(&bank_csv)))
        .map_err(err)?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    line_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    doc_no: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    amount: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    candidate_set: i32,
}
