//! `duizhang eval-statements DIR`: loads a generated folder's customers and ledger through the
//! real import paths into a fresh database, reconciles every customer statement of
//! `statements.csv` through the real use case, and scores the differences found against
//! `truth_differences.csv` (precision and recall per kind).

use crate::domain::auth::{Actor, Principal, Role};
use crate::services::import::ImportFormat;
use crate::services::statements::{self, StatementOptions};
use crate::services::{customers, documents, tenants};
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

type Key = (String, String, String, String); // customer, kind, our_ref, their_ref

pub fn evaluate(url: &str, dir: &Path) -> Result<StatementScores, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    crate::db::run_migrations(&mut conn)?;
    let err = |e: crate::error::AppError| format!("{}: {}", e.code.as_str(), e.message);
    let created = conn.transaction(|c| tenants::create(c, "Evaluation", "EUR")).map_err(err)?;
    let p = Principal { tenant_id: created.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let t0 = Instant::now();
    let (cust, ledger) = (read("customers.csv")?, read("ledger.csv")?);
    conn.transaction(|c| customers::import(c, &p, ImportFormat::Csv, &cust)).map_err(err)?;
    conn.transaction(|c| documents::import(c, &p, ImportFormat::Csv, &ledger)).map_err(err)?;
    let load_secs = t0.elapsed().as_secs_f64();

    // One statement per customer, in the file's own CSV shape.
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
    let t1 = Instant::now();
    let mut found: HashSet<Key> = HashSet::new();
    let mut unexplained_statements = 0;
    let statements_count = per_customer.len();
    for (code, w) in per_customer {
        let body = w.into_inner().map_err(|e| e.to_string())?;
        let view = conn
            .transaction(|c| statements::submit(c, &p, &code, ImportFormat::Csv, &body, StatementOptions::default()))
            .map_err(err)?;
        if view.balances.iter().any(|b| b.unexplained.parse::<f64>().unwrap_or(1.0) != 0.0) {
            unexplained_statements += 1;
        }
        for d in view.differences {
            found.insert((
                code.clone(),
                d.kind.as_str().to_string(),
                d.our_ref.unwrap_or_default(),
                d.their_ref.unwrap_or_default(),
            ));
        }
    }
    let reconcile_secs = t1.elapsed().as_secs_f64();

    let mut truth: HashSet<Key> = HashSet::new();
    let mut r = csv::Reader::from_path(dir.join("truth_differences.csv")).map_err(|e| e.to_string())?;
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        truth.insert((rec[0].to_string(), rec[1].to_string(), rec[2].to_string(), rec[3].to_string()));
    }
    let mut per_kind: BTreeMap<String, KindScore> = BTreeMap::new();
    for k in crate::domain::difference::DifferenceKind::ALL {
        per_kind.insert(k.as_str().to_string(), KindScore { truth: 0, found: 0, correct: 0 });
    }
    for t in &truth {
        per_kind.entry(t.1.clone()).or_insert(KindScore { truth: 0, found: 0, correct: 0 }).truth += 1;
    }
    for f in &found {
        let s = per_kind.entry(f.1.clone()).or_insert(KindScore { truth: 0, found: 0, correct: 0 });
        s.found += 1;
        if truth.contains(f) {
            s.correct += 1;
        }
    }
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
    Ok(StatementScores { per_kind, unexplained_statements, report })
}
