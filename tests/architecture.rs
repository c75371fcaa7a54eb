//! The layer rules of docs/architecture.md, checked on the source text (no database, no build of
//! the crate's code paths): every file under `src/` is read, comments are dropped, and each
//! forbidden reference fails the test with its file and line. There is no list of exceptions:
//! a violation is fixed in the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (layer directory, forbidden text, why). A layer is a top-level module of `src/`.
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "domain",
        &[
            "diesel",
            "actix",
            "reqwest",
            "std::fs",
            "tokio::fs",
            "crate::db",
            "crate::services",
            "crate::api",
            "crate::connectors",
        ],
        "domain/ is pure logic: no IO, no framework, no other layer",
    ),
    (
        "services",
        &[
            "crate::api",
            "diesel::prelude",
            "diesel::insert_into",
            "diesel::update",
            "diesel::delete",
            "sql_query",
            "QueryDsl",
            "ExpressionMethods",
            "QueryableByName",
            "#[diesel(",
            "db::schema",
            "::table",
            ".load::<",
        ],
        "services/ call db/ for data access and never reach up into api/",
    ),
    ("db", &["crate::services", "crate::api", "crate::connectors"], "db/ is data access only"),
    ("connectors", &["crate::api", "crate::services", "crate::db"], "connectors/ are outbound HTTP clients"),
    (
        "api",
        &["diesel::prelude", "sql_query", "RunQueryDsl", "QueryDsl", "db::schema", "::table"],
        "api/ calls services/, never the database",
    ),
    ("reports", &["crate::services", "crate::db", "crate::api"], "reports/ renders data it is given into bytes"),
];

struct Source {
    /// Path relative to `src/`.
    rel: String,
    /// Top-level module: `src/<module>/...` or `src/<module>.rs`.
    module: String,
    /// The lines without comments.
    lines: Vec<String>,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            Source { rel, module, lines: text.lines().map(without_comment).collect() }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The line up to its `//` comment (a `//` right after `:` is a URL in a string, not a comment).
fn without_comment(line: &str) -> String {
    let bytes = line.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] == b'/' && bytes[i + 1] == b'/' && (i == 0 || bytes[i - 1] != b':') {
            return line[..i].to_string();
        }
    }
    line.to_string()
}

#[test]
fn layers_only_use_what_they_may() {
    let mut violations = Vec::new();
    for src in sources() {
        for (layer, forbidden, why) in RULES {
            if src.module != *layer {
                continue;
            }
            for (n, line) in src.lines.iter().enumerate() {
                for f in forbidden.iter().filter(|f| line.contains(*f)) {
                    violations.push(format!("src/{}:{}: uses `{f}` ({why})", src.rel, n + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "layer rules broken:\n{}", violations.join("\n"));
}

/// The top-level modules a file names with `crate::x` or `crate::{x, y}`, with the line.
fn references(src: &Source) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in src.lines.iter().enumerate() {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split([',', '}']).map(|s| s.trim()).collect(),
                None => vec![rest],
            };
            for name in names {
                let ident: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !ident.is_empty() && ident != "self" {
                    out.push((ident, n + 1));
                }
            }
        }
    }
    out
}

#[test]
fn top_level_modules_have_no_cycles() {
    // module -> (used module -> first file:line that uses it)
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for src in sources() {
        if ["lib", "main", "build"].contains(&src.module.as_str()) {
            continue;
        }
        for (used, line) in references(&src) {
            if used != src.module {
                graph
                    .entry(src.module.clone())
                    .or_default()
                    .entry(used)
                    .or_insert_with(|| format!("src/{}:{line}", src.rel));
            }
        }
    }
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = find_cycle(&graph, start, &mut path, &mut done) {
            let steps: Vec<String> =
                cycle.windows(2).map(|w| format!("{} -> {} ({})", w[0], w[1], graph[&w[0]][&w[1]])).collect();
            panic!("module cycle:\n{}", steps.join("\n"));
        }
    }
}

/// Depth-first search; returns the modules of a cycle, first one repeated at the end.
fn find_cycle(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut cycle = path[at..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
        if let Some(cycle) = find_cycle(graph, next, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn the_checks_see_a_violation() {
    // A rule that cannot fail is a defect: the comment stripper and the reference parser must
    // still see what they look for.
    assert_eq!(without_comment("use diesel::prelude::*; // query"), "use diesel::prelude::*; ");
    assert_eq!(without_comment("let u = \"https://x\";"), "let u = \"https://x\";");
    let src = Source {
        rel: "x.rs".into(),
        module: "x".into(),
        lines: vec!["use crate::{db, domain::money};".into(), "crate::api::f()".into()],
    };
    let names: Vec<String> = references(&src).into_iter().map(|(m, _)| m).collect();
    assert_eq!(names, ["db", "domain", "api"]);
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeMap::from([("b".to_string(), String::new())]));
    graph.insert("b".to_string(), BTreeMap::from([("a".to_string(), String::new())]));
    let cycle = find_cycle(&graph, "a", &mut Vec::new(), &mut BTreeSet::new());
    assert_eq!(cycle, Some(vec!["a".into(), "b".into(), "a".into()]));
}
