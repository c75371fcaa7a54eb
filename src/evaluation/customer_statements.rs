//! `duizhang eval-statements DIR`: loads a generated folder's customers and ledger through the
//! real import paths into a fresh database, reconciles every customer statement through the real
//! use case (`statements.csv` cut per customer, or with habits each customer's own file after
//! saving its mapping), and scores the differences found against `truth_differences.csv`
//! (precision and recall per kind).

use crate::domain::auth::{Actor, Principal, Role};
use crate::services::customer_statements::mappings as statement_mappings;
use crate::services::customer_statements::{self as statements, StatementOptions};
use crate::services::import::ImportFormat;
use crate::services::{customers, documents, tenants};
use crate::statement_formats::StatementMapping;
use diesel::{Connection, PgConnection};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct KindScore {
    pub truth: usize,
    pub found: usize,
    pub correct: usize,
}

impl KindScore {
    pub fn precision(&self) -> f64 {
        if self.found == 0 {
            1.0
        } else {
            self.correct as f64 / self.found as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.correct as f64 / self.truth as f64
        }
    }
}

#[derive(Debug, Clone)]
pub struct StatementScores {
    pub per_kind: BTreeMap<String, KindScore>,
    /// Statements whose balances were not fully explained by their differences.
    pub unexplained_statements: usize,
    pub report: String,
}

/// (customer, kind, our_ref, their_ref)
pub type Key = (String, String, String, String);

/// What is posted for one customer: its statement file, and the mapping saved for it first.
struct Submission {
    code: String,
    body: Vec<u8>,
    mapping: Option<StatementMapping>,
}

/// The statements of a folder: with habits (`statement_mappings.json` and `statements/`), each
/// customer's own file with its mapping (or none, to measure layout detection); otherwise one
/// statement per customer cut from `statements.csv` in its own CSV shape.
fn submissions(dir: &Path, use_mappings: bool) -> Result<Vec<Submission>, String> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    if dir.join("statement_mappings.json").exists() {
        let mappings: BTreeMap<String, StatementMapping> = serde_json::from_slice(&read("statement_mappings.json")?)
            .map_err(|e| format!("statement_mappings.json: {e}"))?;
        return mappings
            .into_iter()
            .map(|(code, mapping)| {
                let body = read(&format!("statements/{code}.csv"))?;
                Ok(Submission { code, body, mapping: use_mappings.then_some(mapping) })
            })
            .collect();
    }
    let statement_rows = read("statements.csv")?;
    let mut reader = csv::Reader::from_reader(&statement_rows[..]);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let mut per_customer: BTreeMap<String, csv::Writer<Vec<u8>>> = BTreeMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        let w = per_customer.entry(rec[0].to_string()).or_insert_with(|| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(&headers);
            w
        });
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    per_customer
        .into_iter()
        .map(|(code, w)| Ok(Submission { code, body: w.into_inner().map_err(|e| e.to_string())?, mapping: None }))
        .collect()
}

/// Precision and recall per kind of the differences found against the planted ones.
pub fn score(truth: &HashSet<Key>, found: &HashSet<Key>) -> BTreeMap<String, KindScore> {
    let mut per_kind: BTreeMap<String, KindScore> = BTreeMap::new();
    for k in crate::domain::difference::DifferenceKind::ALL {
        per_kind.insert(k.as_str().to_string(), KindScore { truth: 0, found: 0, correct: 0 });
    }
    for t in truth {
        per_kind.entry(t.1.clone()).or_insert(KindScore { truth: 0, found: 0, correct: 0 }).truth += 1;
    }
    for f in found {
        let s = per_kind.entry(f.1.clone()).or_insert(KindScore { truth: 0, found: 0, correct: 0 });
        s.found += 1;
        if truth.contains(f) {
            s.correct += 1;
        }
    }
    per_kind
}

/// The planted differences of a folder (`truth_differences.csv`).
pub fn truth(dir: &Path) -> Result<HashSet<Key>, String> {
    let mut truth: HashSet<Key> = HashSet::new();
    let mut r = csv::Reader::from_path(dir.join("truth_differences.csv")).map_err(|e| e.to_string())?;
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        truth.insert((rec[0].to_string(), rec[1].to_string(), rec[2].to_string(), rec[3].to_string()));
    }
    Ok(truth)
}

/// What the statements' reconciliation found.
struct Outcome {
    found: HashSet<Key>,
    explanations: BTreeMap<Key, String>,
    /// Their lines by the rule that paired them.
    rules: BTreeMap<String, usize>,
    unexplained_statements: usize,
}

/// Posts every statement (with its customer's mapping first, if given) and collects the
/// differences found.
fn reconcile_all(conn: &mut PgConnection, p: &Principal, submissions: Vec<Submission>) -> Result<Outcome, String> {
    let err = |e: crate::error::AppError| format!("{}: {}", e.code.as_str(), e.message);
    let mut found: HashSet<Key> = HashSet::new();
    let mut explanations: BTreeMap<Key, String> = BTreeMap::new();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexplained_statements = 0;
    for s in submissions {
        let view = conn
            .transaction(|c| {
                if let Some(m) = s.mapping {
                    statement_mappings::put(c, p, &s.code, m)?;
                }
                statements::submit(c, p, &s.code, ImportFormat::Csv, &s.body, StatementOptions::default())
            })
            .map_err(|e| format!("{}: {}", s.code, err(e)))?;
        let lines = conn
            .transaction(|c| {
                crate::services::customer_statements::lines::list(c, p, view.id, None, Some(1_000_000), 1_000_000)
            })
            .map_err(err)?;
        for l in lines.items {
            *rules.entry(l.match_rule.unwrap_or_else(|| "(not paired)".into())).or_default() += 1;
        }
        if view.balances.iter().any(|b| b.unexplained.parse::<f64>().unwrap_or(1.0) != 0.0) {
            unexplained_statements += 1;
        }
        for d in view.differences {
            let key = (
                s.code.clone(),
                d.kind.as_str().to_string(),
                d.our_ref.unwrap_or_default(),
                d.their_ref.unwrap_or_default(),
            );
            explanations.insert(key.clone(), d.explanation);
            found.insert(key);
        }
    }
    Ok(Outcome { found, explanations, rules, unexplained_statements })
}

/// The differences found but not planted (with their explanations), and those planted but not
/// found.
fn details(truth: &HashSet<Key>, found: &HashSet<Key>, explanations: &BTreeMap<Key, String>) -> String {
    let mut out = String::new();
    let mut extra: Vec<&Key> = found.difference(truth).collect();
    let mut missed: Vec<&Key> = truth.difference(found).collect();
    extra.sort();
    missed.sort();
    out.push_str("\n## Found, not planted\n\n");
    for k in extra {
        out.push_str(&format!("- {k:?}: {}\n", explanations.get(k).map_or("", |e| e.as_str())));
    }
    out.push_str("\n## Planted, not found\n\n");
    for k in missed {
        out.push_str(&format!("- {k:?}\n"));
    }
    out
}

/// `use_mappings`: save each habit customer's mapping before posting its file (off: every
/// layout is detected from the file alone).
pub fn evaluate(url: &str, dir: &Path, use_mappings: bool) -> Result<StatementScores, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    crate::db::run_migrations(&mut conn)?;
    let err = |e: crate::error::AppError| format!("{}: {}", e.code.as_str(), e.message);
    let created = conn.transaction(|c| tenants::create(c, "Evaluation", "EUR")).map_err(err)?;
    let p = Principal { tenant_id: created.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let t0 = Instant::now();
    let (cust, ledger) = (read("customers.csv")?, read("ledger.csv")?);
    // A scratch database: its keys live as long as the evaluation.
    let keys = crate::services::data_safety::Keyring::from_keys(vec![crate::domain::envelope::Key::generate()]);
    conn.transaction(|c| customers::import(c, &p, &keys, ImportFormat::Csv, &cust, None)).map_err(err)?;
    conn.transaction(|c| documents::import(c, &p, ImportFormat::Csv, &ledger)).map_err(err)?;
    let load_secs = t0.elapsed().as_secs_f64();

    let submissions = submissions(dir, use_mappings)?;
    let statements_count = submissions.len();
    let t1 = Instant::now();
    let Outcome { found, explanations, rules, unexplained_statements } = reconcile_all(&mut conn, &p, submissions)?;
    let reconcile_secs = t1.elapsed().as_secs_f64();

    let truth = truth(dir)?;
    let per_kind = score(&truth, &found);
    let mut report = format!(
        "# Statement reconciliation quality: {}\n\nstatements {statements_count} | planted differences {} | \
         differences found {} | statements with an unexplained balance gap {unexplained_statements}\n\
         load (customers, ledger) {load_secs:.1} s | reconciliation of all statements {reconcile_secs:.2} s\n\n\
         | kind | planted | found | correct | precision | recall |\n|---|---|---|---|---|---|\n",
        dir.display(),
        truth.len(),
        found.len()
    );
    for (kind, s) in &per_kind {
        report.push_str(&format!(
            "| {kind} | {} | {} | {} | {:.2}% | {:.2}% |\n",
            s.truth,
            s.found,
            s.correct,
            s.precision() * 100.0,
            s.recall() * 100.0
        ));
    }
    report.push_str("\nTheir lines by how they were paired: ");
    let by_rule: Vec<String> = rules.iter().map(|(r, n)| format!("{r} {n}")).collect();
    report.push_str(&by_rule.join(", "));
    report.push('\n');
    if std::env::var_os("DUIZHANG_EVAL_DETAILS").is_some() {
        report.push_str(&details(&truth, &found, &explanations));
    }
    Ok(StatementScores { per_kind, unexplained_statements, report })
}
