//! `duizhang eval-matching --months 2 DIR`: two consecutive months (`duizhang demo-data --months
//! 2`, folders `month1/` and `month2/`) through the real import paths. Month 1 is run, then a
//! person scripted from the ground truth reviews it through the same service functions the API
//! calls: confirms every proposal whose first candidate set is right, unapplies what was applied
//! wrongly, allocates the rest by hand and rejects proposals on lines that pay nothing of ours.
//! Then month 2 is imported and run. The same is done for a second tenant with learning switched
//! off, to show what learning adds.

use super::cash_application::{amount_key, import_bank, import_books, read_csv, run_matching, setup_accounts};
use crate::domain::auth::{Actor, Principal, Role};
use crate::services::cash_application as matching;
use crate::services::data_safety::Keyring;
use crate::services::tenants;
use diesel::sql_types::{Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::{Connection, PgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;
use uuid::Uuid;

/// An allocation as compared: (line id, document number, amount).
type Key = (String, String, String);

/// Scenarios whose lines must never be applied automatically.
const FORBIDDEN: [&str; 2] = ["no_owner", "duplicate_payment"];

/// One true allocation of a line.
#[derive(Debug, Clone)]
struct TrueAllocation {
    doc_no: String,
    amount: Decimal,
}

/// The ground truth of one month's folder.
#[derive(Debug, Default)]
struct MonthTruth {
    keys: HashSet<Key>,
    by_line: BTreeMap<String, Vec<TrueAllocation>>,
    /// Line id -> (scenario, difference, difference reason).
    lines: BTreeMap<String, (String, Decimal, String)>,
}

impl MonthTruth {
    fn read(dir: &Path) -> Result<MonthTruth, String> {
        let mut t = MonthTruth::default();
        for l in read_csv(&dir.join("truth_lines.csv"))? {
            let difference = l["difference"].parse().map_err(|e| format!("truth_lines.csv: {e}"))?;
            t.lines.insert(l["line_id"].clone(), (l["scenario"].clone(), difference, l["difference_reason"].clone()));
        }
        for a in read_csv(&dir.join("truth_allocations.csv"))? {
            let amount: Decimal = a["amount"].parse().map_err(|e| format!("truth_allocations.csv: {e}"))?;
            t.keys.insert((a["line_id"].clone(), a["doc_no"].clone(), amount_key(&a["amount"])));
            t.by_line
                .entry(a["line_id"].clone())
                .or_default()
                .push(TrueAllocation { doc_no: a["doc_no"].clone(), amount });
        }
        Ok(t)
    }

    fn keys_of(&self, line: &str) -> HashSet<Key> {
        self.by_line
            .get(line)
            .map(|v| {
                v.iter().map(|a| (line.to_string(), a.doc_no.clone(), amount_key(&a.amount.to_string()))).collect()
            })
            .unwrap_or_default()
    }
}

/// How one run did against the truth.
#[derive(Debug, Clone, Default)]
pub struct RunFigures {
    /// True allocations of the month's lines.
    pub truth: usize,
    pub auto_applied: usize,
    /// Auto-applied allocations that are true (of either month).
    pub correct: usize,
    /// True allocations of the month that were auto-applied.
    pub recalled: usize,
    /// Auto-applied on no_owner / duplicate_payment lines (of either month).
    pub forbidden: usize,
    /// True allocations not auto-applied but proposed in the first candidate set.
    pub proposed_first: usize,
    pub seconds: f64,
    /// Per scenario: (true, auto-applied).
    pub per_scenario: BTreeMap<String, (usize, usize)>,
    /// The first wrong automatic allocations: line, its scenario, document, amount, engine rule.
    pub wrong: Vec<String>,
    /// The first true allocations not applied: line, scenario, document, what the engine did.
    pub missed: Vec<String>,
}

/// How many wrong automatic allocations the report lists.
const WRONG_LISTED: usize = 20;
/// How many missed true allocations the report lists per scenario.
const MISSED_PER_SCENARIO: usize = 3;

impl RunFigures {
    pub fn precision(&self) -> f64 {
        if self.auto_applied == 0 {
            1.0
        } else {
            self.correct as f64 / self.auto_applied as f64
        }
    }

    pub fn recall(&self) -> f64 {
        self.recalled as f64 / self.truth.max(1) as f64
    }
}

/// What the scripted person did after month 1.
#[derive(Debug, Clone, Default)]
pub struct Review {
    pub confirmed: usize,
    pub manual: usize,
    pub unapplied: usize,
    pub rejected: usize,
    /// Actions the service refused (should be none), with the message.
    pub refused: Vec<String>,
}

/// One tenant's two months.
#[derive(Debug, Clone, Default)]
pub struct TenantOutcome {
    pub month1: RunFigures,
    pub review: Review,
    pub month2: RunFigures,
}

#[derive(Debug, Clone)]
pub struct TwoMonthScores {
    pub with_learning: TenantOutcome,
    pub without_learning: TenantOutcome,
    pub report: String,
}

/// Runs the two-month evaluation against the database at `url` (created empty by the caller).
pub fn evaluate(url: &str, dir: &Path, pool: crate::db::DbPool) -> Result<TwoMonthScores, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    crate::db::run_migrations(&mut conn)?;
    let truth = [MonthTruth::read(&dir.join("month1"))?, MonthTruth::read(&dir.join("month2"))?];
    let keys = Keyring::from_keys(vec![crate::domain::envelope::Key::generate()]);
    let ctx = Ctx { pool: &pool, keys: &keys, dir, truth: &truth };
    let with_learning = two_months(&mut conn, &ctx, true)?;
    let without_learning = two_months(&mut conn, &ctx, false)?;
    let report = report(dir, &with_learning, &without_learning);
    Ok(TwoMonthScores { with_learning, without_learning, report })
}

struct Ctx<'a> {
    pool: &'a crate::db::DbPool,
    keys: &'a Keyring,
    dir: &'a Path,
    truth: &'a [MonthTruth; 2],
}

/// A fresh tenant: month 1 imported and run, reviewed by the scripted person, month 2 imported
/// and run.
fn two_months(conn: &mut PgConnection, ctx: &Ctx, learning: bool) -> Result<TenantOutcome, String> {
    let name = if learning { "Evaluation, learning on" } else { "Evaluation, learning off" };
    let created = conn.transaction(|c| tenants::create(c, name, "EUR")).map_err(|e| e.message)?;
    let p = Principal { tenant_id: created.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
    switch_learning(conn, &p, learning)?;
    let month1 = ctx.dir.join("month1");
    import_books(conn, &p, ctx.keys, &month1)?;
    setup_accounts(conn, &p)?;
    import_bank(conn, &p, &month1)?;
    let t = Instant::now();
    let run1 = run_matching(conn, ctx.pool, ctx.keys, &p)?;
    let mut first = score(conn, p.tenant_id, run1.id, &ctx.truth[0], ctx.truth)?;
    first.seconds = t.elapsed().as_secs_f64();
    let person = Principal { actor: Actor::User { id: Uuid::now_v7() }, role: Role::Accountant, ..p.clone() };
    let review = review_month(conn, &person, &ctx.truth[0])?;
    let month2 = ctx.dir.join("month2");
    import_books(conn, &p, ctx.keys, &month2)?;
    import_bank(conn, &p, &month2)?;
    let t = Instant::now();
    let run2 = run_matching(conn, ctx.pool, ctx.keys, &p)?;
    let mut second = score(conn, p.tenant_id, run2.id, &ctx.truth[1], ctx.truth)?;
    second.seconds = t.elapsed().as_secs_f64();
    Ok(TenantOutcome { month1: first, review, month2: second })
}

/// Switches the tenant's learning on or off (matching settings).
fn switch_learning(conn: &mut PgConnection, p: &Principal, on: bool) -> Result<(), String> {
    let mut settings = conn.transaction(|c| matching::get_settings(c, p)).map_err(|e| e.message)?;
    settings.learning_enabled = on;
    conn.transaction(|c| matching::put_settings(c, p, settings)).map_err(|e| e.message)?;
    Ok(())
}

/// Scores one run: its auto-applied allocations against the truth of both months, its recall
/// against the month's own truth.
fn score(
    conn: &mut PgConnection,
    tenant: Uuid,
    run: Uuid,
    month: &MonthTruth,
    all: &[MonthTruth; 2],
) -> Result<RunFigures, String> {
    let rows = allocations(conn, tenant, Some(run))?;
    let is_true = |k: &Key| all.iter().any(|m| m.keys.contains(k));
    let scenario = |line: &str| all.iter().find_map(|m| m.lines.get(line)).map(|l| l.0.as_str()).unwrap_or("");
    let auto: HashSet<Key> = rows.iter().filter(|r| r.state == "auto_applied").map(Row::key).collect();
    let first: HashSet<Key> =
        rows.iter().filter(|r| r.state == "proposed" && r.candidate_set == 0).map(Row::key).collect();
    let mut f = RunFigures {
        truth: month.keys.len(),
        auto_applied: auto.len(),
        correct: auto.iter().filter(|k| is_true(k)).count(),
        recalled: month.keys.intersection(&auto).count(),
        forbidden: auto.iter().filter(|k| FORBIDDEN.contains(&scenario(&k.0))).count(),
        proposed_first: month.keys.iter().filter(|k| !auto.contains(*k) && first.contains(*k)).count(),
        ..RunFigures::default()
    };
    for r in rows.iter().filter(|r| r.state == "auto_applied" && !is_true(&r.key())).take(WRONG_LISTED) {
        let line = r.line_id.as_deref().unwrap_or("");
        f.wrong.push(format!("{line} ({}): {} {} by {}", scenario(line), r.doc_no, r.amount, r.rule));
    }
    let mut missed: Vec<&Key> = month.keys.iter().filter(|k| !auto.contains(*k)).collect();
    missed.sort();
    let mut listed: HashMap<&str, usize> = HashMap::new();
    for k in missed {
        let n = listed.entry(scenario(&k.0)).or_default();
        *n += 1;
        if *n > MISSED_PER_SCENARIO {
            continue;
        }
        let of_line: Vec<&Row> = rows.iter().filter(|r| r.line_id.as_deref() == Some(&k.0)).collect();
        let did = match of_line.iter().find(|r| r.key() == *k) {
            Some(r) => format!("{} in set {} by {}", r.state, r.candidate_set, r.rule),
            None => match of_line.first() {
                Some(r) => format!("not among its {} allocations (first: {} by {})", of_line.len(), r.doc_no, r.rule),
                None => "no allocation".to_string(),
            },
        };
        f.missed.push(format!("{} ({}): {} {}: {did}", k.0, scenario(&k.0), k.1, k.2));
    }
    for k in &month.keys {
        let e = f.per_scenario.entry(scenario(&k.0).to_string()).or_default();
        e.0 += 1;
        e.1 += usize::from(auto.contains(k));
    }
    Ok(f)
}

/// The scripted person's review of a month: first every wrongly applied group is unapplied,
/// then each line with a true allocation gets it (its first proposal confirmed when that is
/// exactly right, else by hand), and proposals on lines that pay nothing of ours are rejected.
fn review_month(conn: &mut PgConnection, person: &Principal, month: &MonthTruth) -> Result<Review, String> {
    let mut review = Review::default();
    let rows = allocations(conn, person.tenant_id, None)?;
    let mut of_line: HashMap<String, Vec<Row>> = HashMap::new();
    for r in rows {
        of_line.entry(r.line_id.clone().unwrap_or_default()).or_default().push(r);
    }
    let mut applied_right: HashMap<String, HashSet<Key>> = HashMap::new();
    for (line, rows) in &of_line {
        let truth = month.keys_of(line);
        let applied: Vec<&Row> = rows.iter().filter(|r| is_applied(&r.state)).collect();
        match applied.iter().find(|r| !truth.contains(&r.key())) {
            Some(wrong) => {
                act(conn, &mut review, |c| matching::reject(c, person, wrong.id), |r| r.unapplied += 1);
            }
            None => {
                applied_right.insert(line.clone(), applied.iter().map(|r| r.key()).collect());
            }
        }
    }
    let ids = Ids::load(conn, person.tenant_id)?;
    for (line, allocations) in &month.by_line {
        let truth = month.keys_of(line);
        let done = applied_right.remove(line).unwrap_or_default();
        if truth.is_subset(&done) {
            continue;
        }
        let rows = of_line.get(line).map(Vec::as_slice).unwrap_or(&[]);
        let first: Vec<&Row> = rows.iter().filter(|r| r.state == "proposed" && r.candidate_set == 0).collect();
        let first_keys: HashSet<Key> = first.iter().map(|r| r.key()).collect();
        if done.is_empty() && first_keys == truth {
            let id = first[0].id;
            if act(conn, &mut review, |c| matching::confirm(c, person, id), |r| r.confirmed += 1) {
                continue;
            }
        }
        let missing: Vec<&TrueAllocation> = allocations
            .iter()
            .filter(|a| !done.contains(&(line.clone(), a.doc_no.clone(), amount_key(&a.amount.to_string()))))
            .collect();
        let input = ids.manual(line, &missing, month.lines.get(line))?;
        act(conn, &mut review, |c| matching::allocate_manually(c, person, input.clone()), |r| r.manual += 1);
    }
    reject_on_lines_without_truth(conn, person, month, &of_line, &mut review);
    Ok(review)
}

/// Rejects every proposed candidate set on lines that pay nothing of ours (a person tells the
/// tool so).
fn reject_on_lines_without_truth(
    conn: &mut PgConnection,
    person: &Principal,
    month: &MonthTruth,
    of_line: &HashMap<String, Vec<Row>>,
    review: &mut Review,
) {
    for (line, rows) in of_line {
        if month.by_line.contains_key(line) || !month.lines.contains_key(line) {
            continue;
        }
        let mut sets: BTreeMap<i32, Uuid> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.state == "proposed") {
            sets.entry(r.candidate_set).or_insert(r.id);
        }
        for id in sets.into_values() {
            act(conn, review, |c| matching::reject(c, person, id), |r| r.rejected += 1);
        }
    }
}

/// One review action in its own transaction; counts it, or records why it was refused.
fn act<T>(
    conn: &mut PgConnection,
    review: &mut Review,
    action: impl FnOnce(&mut PgConnection) -> crate::error::AppResult<T>,
    count: impl FnOnce(&mut Review),
) -> bool {
    match conn.transaction(action) {
        Ok(_) => {
            count(review);
            true
        }
        Err(e) => {
            review.refused.push(e.message);
            false
        }
    }
}

fn is_applied(state: &str) -> bool {
    matches!(state, "auto_applied" | "confirmed")
}

/// Database ids of the tenant's lines and documents, by the files' ids.
struct Ids {
    /// Line reference -> (id, amount, currency).
    lines: HashMap<String, (Uuid, String, String)>,
    /// Document number -> (id, currency).
    docs: HashMap<String, (Uuid, String)>,
}

impl Ids {
    fn load(conn: &mut PgConnection, tenant: Uuid) -> Result<Ids, String> {
        let lines: Vec<IdRow> = diesel::sql_query(
            "SELECT id, bank_reference AS key, amount::text AS amount, currency FROM bank_lines WHERE tenant_id = $1",
        )
        .bind::<SqlUuid, _>(tenant)
        .load(conn)
        .map_err(|e| e.to_string())?;
        let docs: Vec<IdRow> = diesel::sql_query(
            "SELECT id, doc_no AS key, amount::text AS amount, currency FROM documents WHERE tenant_id = $1",
        )
        .bind::<SqlUuid, _>(tenant)
        .load(conn)
        .map_err(|e| e.to_string())?;
        Ok(Ids {
            lines: lines.into_iter().map(|r| (r.key.unwrap_or_default(), (r.id, r.amount, r.currency))).collect(),
            docs: docs.into_iter().map(|r| (r.key.unwrap_or_default(), (r.id, r.currency))).collect(),
        })
    }

    /// The manual allocation of the missing true allocations of a line: a document in another
    /// currency takes the whole line, a short payment's shortfall is written off with its
    /// reason.
    fn manual(
        &self,
        line: &str,
        missing: &[&TrueAllocation],
        truth: Option<&(String, Decimal, String)>,
    ) -> Result<matching::ManualAllocation, String> {
        let (line_id, line_amount, line_currency) = self.lines.get(line).ok_or_else(|| format!("no line {line}"))?;
        let short = truth.filter(|t| t.1 < Decimal::ZERO && matches!(t.2.as_str(), "bank_fee" | "discount"));
        let mut parts = Vec::new();
        for a in missing {
            let (document_id, currency) =
                self.docs.get(&a.doc_no).ok_or_else(|| format!("no document {}", a.doc_no))?;
            parts.push(matching::ManualAllocationPart {
                document_id: *document_id,
                amount: a.amount.abs().to_string(),
                line_amount: (currency != line_currency).then(|| line_amount.clone()),
                write_off: short.map(|t| t.1.abs().to_string()),
                write_off_reason: short.map(|t| t.2.clone()),
            });
        }
        Ok(matching::ManualAllocation { bank_line_id: *line_id, allocations: parts })
    }
}

/// The tenant's allocations (of one run, or all), with their line's and document's numbers.
fn allocations(conn: &mut PgConnection, tenant: Uuid, run: Option<Uuid>) -> Result<Vec<Row>, String> {
    diesel::sql_query(
        "SELECT a.id, l.bank_reference AS line_id, d.doc_no, a.amount::text AS amount, a.state, a.candidate_set, a.rule \
         FROM allocations a JOIN bank_lines l ON l.id = a.bank_line_id JOIN documents d ON d.id = a.document_id \
         WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.run_id = $2) ORDER BY a.id",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Nullable<SqlUuid>, _>(run)
    .load(conn)
    .map_err(|e| e.to_string())
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    line_id: Option<String>,
    #[diesel(sql_type = Text)]
    doc_no: String,
    #[diesel(sql_type = Text)]
    amount: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    candidate_set: i32,
    #[diesel(sql_type = Text)]
    rule: String,
}

impl Row {
    fn key(&self) -> Key {
        (self.line_id.clone().unwrap_or_default(), self.doc_no.clone(), amount_key(&self.amount))
    }
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = Text)]
    amount: String,
    #[diesel(sql_type = Text)]
    currency: String,
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The report: the headline figures side by side, then month 2 per scenario.
fn report(dir: &Path, with: &TenantOutcome, without: &TenantOutcome) -> String {
    let (m1, m2, n2) = (&with.month1, &with.month2, &without.month2);
    let row =
        |name: &str, f: &dyn Fn(&RunFigures) -> String| format!("| {name} | {} | {} | {} |\n", f(m1), f(m2), f(n2));
    let mut out = format!(
        "# Matching over two months: {}\n\n| measure | month 1 | month 2 with learning | month 2 without learning |\n|---|---|---|---|\n",
        dir.display(),
    );
    out.push_str(&row("true allocations of the month", &|f| f.truth.to_string()));
    out.push_str(&row("auto-applied allocations", &|f| f.auto_applied.to_string()));
    out.push_str(&row("precision of auto-applied allocations", &|f| {
        format!("{:.3}% ({}/{})", f.precision() * 100.0, f.correct, f.auto_applied)
    }));
    out.push_str(&row("recall (true allocations auto-applied)", &|f| pct(f.recall())));
    out.push_str(&row("true allocations proposed first, not applied", &|f| f.proposed_first.to_string()));
    out.push_str(&row("auto-applied on no_owner / duplicate_payment lines", &|f| f.forbidden.to_string()));
    out.push_str(&row("run (request to persisted allocations)", &|f| format!("{:.1} s", f.seconds)));
    let r = &with.review;
    out.push_str(&format!(
        "\nReview of month 1 (scripted person): {} proposals confirmed, {} lines allocated by hand, {} wrong \
         applications unapplied, {} proposals rejected on lines that pay nothing of ours, {} actions refused{}\n\n\
         | month 2 scenario | true | auto with learning | auto without learning |\n|---|---|---|---|\n",
        r.confirmed,
        r.manual,
        r.unapplied,
        r.rejected,
        r.refused.len(),
        r.refused.first().map(|m| format!(" (first: {m})")).unwrap_or_default(),
    ));
    for (s, (t, a)) in &m2.per_scenario {
        let b = n2.per_scenario.get(s).map_or(0, |x| x.1);
        out.push_str(&format!("| {s} | {t} | {a} | {b} |\n"));
    }
    for (name, f) in [("month 1", m1), ("month 2 with learning", m2), ("month 2 without learning", n2)] {
        if !f.wrong.is_empty() {
            out.push_str(&format!("\nWrong automatic allocations, {name} (first {WRONG_LISTED}):\n\n"));
            for w in &f.wrong {
                out.push_str(&format!("- {w}\n"));
            }
        }
    }
    if !m2.missed.is_empty() {
        out.push_str(&format!(
            "\nTrue allocations of month 2 not applied, with learning (first {MISSED_PER_SCENARIO} per scenario):\n\n"
        ));
        for m in &m2.missed {
            out.push_str(&format!("- {m}\n"));
        }
    }
    out
}
