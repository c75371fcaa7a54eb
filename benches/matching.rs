//! Throughput of the matching core on a generated folder.
//!
//! ```text
//! cargo run --release -- demo-data --lines 1000000 --seed 5 --out /tmp/big
//! cargo bench --bench matching -- /tmp/big
//! BENCH_RULES=50 cargo bench --bench matching -- /tmp/big
//! ```
//! `BENCH_RULES=N` gives the engine N generated matching rules (benches/support/rules.rs) to measure
//! what rule evaluation costs.
//! Prints load time (CSV parsing, not part of the engine), index build time and lines/s of `match_line`, plus
//! precision/recall against the truth files so a speed change that breaks quality is visible at once.

#[path = "support/dataset.rs"]
mod dataset;
#[path = "support/rules.rs"]
mod rules;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts heap allocations, to keep the per-line allocation count visible.
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

use duizhang::domain::cash_application::{Decision, Engine, MatchSettings};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: speed <generated folder>");
    let t = Instant::now();
    let mut ds = dataset::load(std::path::Path::new(&dir));
    // Every line on one account with one bank code, as a camt import gives them (rules read both).
    for l in &mut ds.lines {
        l.bank_account = Some(rules::ACCOUNT.into());
        l.bank_transaction_code = Some(rules::CODE.into());
    }
    println!(
        "loaded {} customers, {} documents, {} lines in {:.2?}",
        ds.customers.len(),
        ds.items.len(),
        ds.lines.len(),
        t.elapsed()
    );
    // Clone outside the timed region: the engine takes ownership of its inputs.
    let (customers, items) = (ds.customers.clone(), ds.items.clone());
    let t = Instant::now();
    let mut engine = Engine::new(customers, items, dataset::generator_fx(), MatchSettings::default());
    let n_rules: usize = std::env::var("BENCH_RULES").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if n_rules > 0 {
        engine.set_rules(rules::generated(n_rules));
    }
    println!("index build: {:.2?} ({n_rules} matching rules)", t.elapsed());
    if n_rules > 0 {
        // The rules' own cost, apart from the engine (less noisy than the difference of two runs).
        let alone = rules::generated(n_rules);
        let t = Instant::now();
        let fired: usize = ds.lines.iter().map(|l| alone.evaluate(l).fired.len()).sum();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "rule evaluation alone: {secs:.2}s, {:.0} ns/line ({fired} rules fired)",
            secs * 1e9 / ds.lines.len() as f64
        );
    }
    if std::env::var("SPEED_DROP").is_ok() {
        // Outcomes dropped at once: isolates the engine from the cost of keeping a million outcomes alive.
        let t = Instant::now();
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let mut n = 0usize;
        for l in &ds.lines {
            n += engine.match_line(l).allocations.len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "matched {} lines ({n} allocations) in {secs:.2}s: {:.0} lines/s",
            ds.lines.len(),
            ds.lines.len() as f64 / secs
        );
        let heap = ALLOCS.load(Ordering::Relaxed) - a0;
        println!("heap allocations per line: {:.1}", heap as f64 / ds.lines.len() as f64);
        // Skip freeing millions of objects: not part of the measurement and slow.
        std::process::exit(0);
    }
    let mut outcomes = Vec::with_capacity(ds.lines.len());
    let t = Instant::now();
    outcomes.extend(ds.lines.iter().map(|l| engine.match_line(l)));
    let secs = t.elapsed().as_secs_f64();
    println!("matched {} lines in {:.2}s: {:.0} lines/s", ds.lines.len(), secs, ds.lines.len() as f64 / secs);
    let (mut auto, mut proposed, mut ok, mut wrong) = (0, 0, 0, 0);
    for o in &outcomes {
        match o.decision {
            Decision::AutoApplied => {
                auto += 1;
                let name = &ds.line_names[&o.line_id];
                for a in &o.allocations {
                    if ds.truth.contains(&(name.clone(), a.doc_no.clone(), a.amount)) {
                        ok += 1;
                    } else {
                        wrong += 1;
                        if std::env::var("SPEED_VERBOSE").is_ok() {
                            eprintln!("WRONG {name} {} {}: {}", a.doc_no, a.amount, o.explanation);
                        }
                    }
                }
            }
            Decision::Proposed => proposed += 1,
            Decision::Unmatched | Decision::Ignored => {}
        }
    }
    println!(
        "auto {auto}, proposed {proposed}, unmatched {}; precision {:.4}%, recall {:.2}%",
        outcomes.len() - auto - proposed,
        ok as f64 * 100.0 / (ok + wrong).max(1) as f64,
        ok as f64 * 100.0 / ds.truth.len().max(1) as f64
    );
}
