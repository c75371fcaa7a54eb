//! The layer rules of docs/architecture.md, checked on the source text (no database, no build of
//! the crate's code paths): every file under `src/` is read, comments are dropped, and each
//! forbidden reference fails the test with its file and line. The size rules (functions of at
//! most 80 lines, files of at most 600 lines unless they say why) are checked the same way.
//! There is no list of exceptions: a violation is fixed in the code.

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

/// Longest function outside test code, in lines from `fn` to its closing brace.
const MAX_FUNCTION_LINES: usize = 80;
/// A file longer than this states why in its first lines, with this marker.
const MAX_FILE_LINES: usize = 600;
const LONG_FILE_MARKER: &str = "//! Long file:";
/// The marker must appear within this many lines of the top.
const MARKER_WITHIN: usize = 30;

/// `(line, name, length)` of every function with a body longer than `max` lines, outside items
/// marked `#[cfg(test)]`. A function ends at the first `}` at its own indentation (rustfmt's
/// layout); a declaration without a body (`fn f();`) has no length.
fn long_functions(lines: &[String], max: usize) -> Vec<(usize, String, usize)> {
    let mut out = Vec::new();
    let mut skip_until: Option<String> = None;
    let mut test_item_next = false;
    for (i, line) in lines.iter().enumerate() {
        if let Some(end) = &skip_until {
            if line == end {
                skip_until = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("#[cfg(test)]") {
            test_item_next = true;
            continue;
        }
        if test_item_next && !trimmed.starts_with("#[") && !trimmed.is_empty() {
            test_item_next = false;
            if !trimmed.ends_with(';') && !trimmed.ends_with('}') {
                skip_until = Some(format!("{indent}}}"));
            }
            continue;
        }
        let Some(name) = fn_name(trimmed) else { continue };
        let Some(open) = (i..lines.len()).find(|&j| {
            let t = lines[j].trim_end();
            t.ends_with('{') || t.ends_with(';') || t.ends_with('}')
        }) else {
            continue;
        };
        let opener = lines[open].trim_end();
        if !opener.ends_with('{') {
            continue; // a declaration, or a body on one line
        }
        let end = format!("{indent}}}");
        if let Some(close) = (open + 1..lines.len()).find(|&j| lines[j] == end) {
            let length = close - i + 1;
            if length > max {
                out.push((i + 1, name, length));
            }
        }
    }
    out
}

/// The name of the function a (trimmed) line declares, if it declares one.
fn fn_name(trimmed: &str) -> Option<String> {
    let mut rest = trimmed;
    if let Some(r) = rest.strip_prefix("pub") {
        rest = match r.strip_prefix('(') {
            Some(r) => r.split_once(") ")?.1,
            None => r.strip_prefix(' ')?,
        };
    }
    for qualifier in ["const ", "async ", "unsafe ", "extern \"C\" "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest);
    }
    let name: String = rest.strip_prefix("fn ")?.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn functions_are_at_most_80_lines() {
    let mut violations = Vec::new();
    for src in sources() {
        for (line, name, length) in long_functions(&src.lines, MAX_FUNCTION_LINES) {
            violations.push(format!("src/{}:{line}: fn {name} is {length} lines", src.rel));
        }
    }
    assert!(
        violations.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them into helpers by concept):\n{}",
        violations.join("\n")
    );
}

#[test]
fn long_files_say_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for src in sources() {
        let text = std::fs::read_to_string(root.join(&src.rel)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        if !long_file_explained(&lines) {
            violations.push(format!("src/{}: {} lines", src.rel, lines.len()));
        }
    }
    assert!(
        violations.is_empty(),
        "files over {MAX_FILE_LINES} lines without a `{LONG_FILE_MARKER} <reason>` line in their first \
         {MARKER_WITHIN} lines (split them by concept, or say why they stay whole):\n{}",
        violations.join("\n")
    );
}

/// A file is short, or names the reason it is long near its top (with a reason after the marker).
fn long_file_explained(lines: &[&str]) -> bool {
    lines.len() <= MAX_FILE_LINES
        || lines
            .iter()
            .take(MARKER_WITHIN)
            .any(|l| l.trim_start().strip_prefix(LONG_FILE_MARKER).is_some_and(|reason| !reason.trim().is_empty()))
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

    // The size rules: a long function is found with its name and length; a function in a test
    // module, a declaration and a one-line body are not; a long file needs its marker.
    let mut code: Vec<String> =
        vec!["impl X {".into(), "    pub(crate) async fn long(".into(), "        a: u8,".into()];
    code.push("    ) -> u8 {".into());
    code.extend((0..80).map(|_| "        a;".to_string()));
    code.extend(["    }".into(), "    fn short() -> u8 { 1 }".into(), "    fn declared(&self);".into(), "}".into()]);
    code.extend(["#[cfg(test)]".into(), "mod tests {".into(), "    fn in_test() {".into()]);
    code.extend((0..90).map(|_| "        x;".to_string()));
    code.extend(["    }".into(), "}".into()]);
    assert_eq!(long_functions(&code, MAX_FUNCTION_LINES), vec![(2, "long".to_string(), 84)]);
    assert_eq!(fn_name("pub(super) const fn f<T>()"), Some("f".into()));
    assert_eq!(fn_name("let fnord = 1;"), None);
    let long: Vec<&str> = vec!["x"; MAX_FILE_LINES + 1];
    assert!(!long_file_explained(&long));
    let mut marked = long.clone();
    marked[1] = "//! Long file: one state machine.";
    assert!(long_file_explained(&marked));
    marked[1] = "//! Long file:";
    assert!(!long_file_explained(&marked), "the marker needs a reason");
    assert!(long_file_explained(&long[..MAX_FILE_LINES]));
}
